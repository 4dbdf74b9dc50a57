// The sign-up / sign-in form both pages show when nobody is signed in.
import { useState, type FormEvent } from "react";
import { auth } from "./session";

/** Signs in (or up) through `auth`; the page follows `auth` to what comes next. */
export function SignInForm() {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(create: boolean) {
    setBusy(true);
    setError(null);
    try {
      await auth.authenticate(username.trim(), password, create);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    void submit(false);
  }

  return (
    <form className="sign-in" onSubmit={onSubmit}>
      <input
        name="username"
        placeholder="username"
        autoComplete="username"
        value={username}
        onChange={(e) => setUsername(e.target.value)}
      />
      <input
        name="password"
        type="password"
        placeholder="password (8+ characters)"
        autoComplete="current-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <button type="submit" name="sign-in" disabled={busy}>
        Sign in
      </button>
      <button type="button" name="sign-up" disabled={busy} onClick={() => void submit(true)}>
        Sign up
      </button>
      {error && (
        <span className="error" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}
