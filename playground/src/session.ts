// The signed-in user, kept in localStorage so that GraphiQL (/) and the chat
// page (/chat) share one sign-in, and a reload stays signed in.
import { request } from "./api";
import { SignInDocument, SignUpDocument } from "./generated/graphql";

/** Who is signed in, and the token that proves it. */
export type Session = { token: string; userId: string; username: string };

const KEY = "chat-playground.session";

/** The stored session, if any (a malformed entry counts as none). */
export function loadSession(): Session | null {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? "null") as Session | null;
    return stored?.token ? stored : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) localStorage.setItem(KEY, JSON.stringify(session));
  else localStorage.removeItem(KEY);
}

/** Signs up (`create`) or in, and stores the resulting session. */
export async function authenticate(
  username: string,
  password: string,
  create: boolean,
): Promise<Session> {
  const payload = create
    ? (await request(SignUpDocument, { username, password })).signUp
    : (await request(SignInDocument, { username, password })).signIn;
  const session = {
    token: payload.token,
    userId: payload.user.id,
    username: payload.user.username,
  };
  saveSession(session);
  return session;
}
