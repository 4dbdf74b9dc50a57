// The bar above GraphiQL: who is signed in, and the form to sign in.
import { useState } from "react";
import { SignInForm } from "../SignInForm";
import { auth, type Session } from "../session";

export function AuthPanel({ session }: { session: Session | null }) {
  const [signingOut, setSigningOut] = useState(false);
  const signOut = async () => {
    setSigningOut(true);
    await auth.signOut();
    setSigningOut(false);
  };
  return (
    <header className="auth-panel">
      <strong>chat-server playground</strong>
      {session ? (
        <span className="signed-in">
          Signed in as <b data-testid="username">{session.username}</b>; requests carry{" "}
          <code>Authorization: Bearer …</code> (renewed before it expires)
          <button type="button" data-testid="sign-out" disabled={signingOut} onClick={() => void signOut()}>
            Sign out
          </button>
        </span>
      ) : (
        <SignInForm />
      )}
      <a href="/chat">Chat page →</a>
    </header>
  );
}
