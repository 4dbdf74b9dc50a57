// The bar above GraphiQL: who is signed in, and the form to sign in.
import { SignInForm } from "../SignInForm";
import type { Session } from "../session";

type Props = { session: Session | null; onChange: (session: Session | null) => void };

export function AuthPanel({ session, onChange }: Props) {
  return (
    <header className="auth-panel">
      <strong>chat-server playground</strong>
      {session ? (
        <span className="signed-in">
          Signed in as <b data-testid="username">{session.username}</b>; requests carry{" "}
          <code>Authorization: Bearer …</code>
          <button type="button" onClick={() => onChange(null)}>
            Sign out
          </button>
        </span>
      ) : (
        <SignInForm onSignedIn={onChange} />
      )}
      <a href="/chat">Chat page →</a>
    </header>
  );
}
