// The signed-in user's session, kept in localStorage so that GraphiQL (/)
// and the chat page (/chat) share one sign-in, and a reload stays signed in.
//
// The server's access tokens are short-lived (15 minutes by default); each
// sign-in also answers a refresh token, which `refreshSession` exchanges for
// a new pair and uses up. `auth` below keeps the pair current: it refreshes
// a little before the access token expires, hands every request and every
// WebSocket (re)connection the current token, and signs out cleanly when
// the session can no longer be renewed (it ended, or its refresh token was
// refused).
//
// A used refresh token presented again ends the whole session, so there is
// never more than one refresh in flight: within a page, every caller awaits
// the same promise; across tabs sharing the stored pair, refreshes take a
// Web Lock and first look whether another tab has refreshed already.
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { GraphQLRequestError, request } from "./api";
import {
  RefreshSessionDocument,
  SignInDocument,
  SignOutDocument,
  SignOutEverywhereDocument,
  SignUpDocument,
} from "./generated/graphql";

/** Who is signed in, and the token pair that proves it. */
export type Session = {
  token: string;
  /** The access token's expiry, as the server gave it. */
  expiresAt: string;
  refreshToken: string;
  /**
   * When to renew, in this browser's clock (ms since the epoch): taken from
   * how long the token had left when it arrived, so a skewed clock does not
   * matter.
   */
  refreshAt: number;
  /** When the access token runs out, in this browser's clock. */
  staleAt: number;
  userId: string;
  username: string;
};

type Pair = { token: string; expiresAt: string; refreshToken: string };

const KEY = "chat-playground.session";
const LOCK = "chat-playground.refresh";

/** Renew this long before expiry, at most (a third of the lifetime for short ones). */
const MARGIN_MS = 60_000;
/** After a refresh that failed for a passing reason, try again this soon. */
const RETRY_MS = 3_000;

/** Thrown by `auth.request` once the session is over. */
export class SignedOutError extends Error {
  constructor() {
    super("signed out");
  }
}

/** A pair as just received, with its local renewal times. */
function withTimes(pair: Pair, user: { userId: string; username: string }): Session {
  const now = Date.now();
  let left = Date.parse(pair.expiresAt) - now;
  // A clock far off either way: trust the token's own lifetime instead.
  const lifetime = tokenLifetime(pair.token);
  if (!Number.isFinite(left) || left <= 0 || (lifetime !== null && left > lifetime)) left = lifetime ?? 0;
  return {
    userId: user.userId,
    username: user.username,
    token: pair.token,
    expiresAt: pair.expiresAt,
    refreshToken: pair.refreshToken,
    refreshAt: now + left - Math.min(MARGIN_MS, left / 3),
    staleAt: now + left,
  };
}

/** `exp - iat` of a JWT in milliseconds, if it says. */
function tokenLifetime(token: string): number | null {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const { exp, iat } = JSON.parse(atob(payload)) as { exp?: unknown; iat?: unknown };
    return typeof exp === "number" && typeof iat === "number" && exp > iat ? (exp - iat) * 1000 : null;
  } catch {
    return null;
  }
}

/** The stored session, if any (a malformed or pre-refresh entry counts as none). */
export function loadSession(): Session | null {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? "null") as Session | null;
    return stored?.token && stored.refreshToken && typeof stored.refreshAt === "number" ? stored : null;
  } catch {
    return null;
  }
}

function store(session: Session | null): void {
  if (session) localStorage.setItem(KEY, JSON.stringify(session));
  else localStorage.removeItem(KEY);
}

// The newest pair, for tabs taking the refresh lock. localStorage cannot
// say: each renderer reads its own copy, updated after the writer's lock
// is released, so a tab could still see a refresh token another tab has
// just used up. IndexedDB reads are served by the browser process, in
// order with the writes before them.
const DB = "chat-playground";
const PAIRS = "pairs";

function database(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(DB, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(PAIRS);
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
}

/** Reads (no `value`) or writes the newest session in IndexedDB; localStorage where there is none. */
async function newest(value?: Session | null): Promise<Session | null> {
  let db: IDBDatabase;
  try {
    db = await database();
  } catch {
    if (value !== undefined) return value;
    return loadSession();
  }
  try {
    return await new Promise<Session | null>((resolve, reject) => {
      const transaction = db.transaction(PAIRS, value === undefined ? "readonly" : "readwrite");
      const pairs = transaction.objectStore(PAIRS);
      let read: IDBRequest | null = null;
      if (value === undefined) read = pairs.get(KEY);
      else if (value) pairs.put(value, KEY);
      else pairs.delete(KEY);
      transaction.oncomplete = () => resolve(read ? ((read.result as Session | undefined) ?? null) : (value ?? null));
      transaction.onerror = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}

/** Runs `work` holding the cross-tab refresh lock (where the browser has Web Locks). */
function exclusively(work: () => Promise<void>): Promise<void> {
  // (The lock's promise settles as `work`'s does.)
  return navigator.locks ? navigator.locks.request(LOCK, work).then(() => undefined) : work();
}

class Auth {
  private session: Session | null = loadSession();
  private refreshing: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private listeners = new Set<() => void>();

  constructor() {
    // Another tab refreshed, signed out, or signed in as someone else.
    addEventListener("storage", (event) => {
      if (event.key !== KEY && event.key !== null) return;
      this.adopt(loadSession());
    });
    this.schedule();
  }

  /** The current session (a new object after every change). */
  current = (): Session | null => this.session;

  /** Calls `listener` after every change of the session; returns the unsubscribe. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Signs up (`create`) or in, and keeps the resulting session. */
  async authenticate(username: string, password: string, create: boolean): Promise<Session> {
    const payload = create
      ? (await request(SignUpDocument, { username, password })).signUp
      : (await request(SignInDocument, { username, password })).signIn;
    const session = withTimes(payload, { userId: payload.user.id, username: payload.user.username });
    await exclusively(async () => {
      await newest(session);
      store(session);
    });
    this.adopt(session);
    return session;
  }

  /** A token to send now: refreshed first if it is due (or gone stale). */
  async token(): Promise<string> {
    const session = this.session;
    if (!session) throw new SignedOutError();
    if (Date.now() < session.refreshAt) return session.token;
    try {
      await this.refresh();
    } catch (error) {
      // Renewal failed for a passing reason: the old token may still do.
      if (error instanceof SignedOutError || Date.now() >= session.staleAt) throw error;
    }
    if (!this.session) throw new SignedOutError();
    return this.session.token;
  }

  /**
   * The server refused `used` (a WebSocket closed with 4403, or HTTP said
   * UNAUTHENTICATED): renew unless that has happened since. Ends the
   * session when the server refuses to renew it.
   */
  async renewAfterRefusal(used: string): Promise<void> {
    if (!this.session) throw new SignedOutError();
    if (this.session.token === used) await this.refresh();
  }

  /** Runs an operation over HTTP with the current token, renewing once if it was refused. */
  async request<TData, TVariables>(
    document: TypedDocumentNode<TData, TVariables>,
    variables: TVariables,
  ): Promise<TData> {
    const used = await this.token();
    try {
      return await request(document, variables, used);
    } catch (error) {
      if (!(error instanceof GraphQLRequestError && error.code === "UNAUTHENTICATED")) throw error;
      await this.renewAfterRefusal(used);
      return request(document, variables, await this.token());
    }
  }

  /** Ends this session on the server (`signOut`), then here. */
  signOut(): Promise<void> {
    return this.endWith(() => this.request(SignOutDocument, {}));
  }

  /** Ends every session of the user (`signOutEverywhere`), then this one here. */
  signOutEverywhere(): Promise<void> {
    return this.endWith(() => this.request(SignOutEverywhereDocument, {}));
  }

  private async endWith(mutation: () => Promise<unknown>): Promise<void> {
    try {
      await mutation();
    } catch (error) {
      // Already over (that is what was asked), or the server is away: the
      // local state goes either way, but say so when it may live on.
      if (!(error instanceof SignedOutError)) console.warn("sign-out failed on the server:", error);
    } finally {
      this.end();
    }
  }

  /** One refresh at a time, however many callers want one. */
  private refresh(): Promise<void> {
    const replacing = this.session?.refreshToken;
    this.refreshing ??= exclusively(() => this.exchange(replacing)).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Exchanges the refresh token `replacing`, unless another tab has already. */
  private async exchange(replacing: string | undefined): Promise<void> {
    const mine = this.session;
    if (!mine) throw new SignedOutError();
    // Another tab may have refreshed (or signed out) while this one waited
    // for the lock; its storage event may have been adopted already.
    const stored = (await newest()) ?? loadSession();
    if (stored?.userId !== mine.userId) {
      this.adopt(stored);
      if (!stored) throw new SignedOutError();
      return;
    }
    if (stored.refreshToken !== replacing) {
      this.adopt(stored);
      if (Date.now() < stored.refreshAt) return;
    }
    const current = this.session!;
    try {
      const { refreshSession } = await request(RefreshSessionDocument, { refreshToken: current.refreshToken });
      const next = withTimes(refreshSession, current);
      await newest(next);
      store(next);
      this.adopt(next);
    } catch (error) {
      if (error instanceof GraphQLRequestError && error.code === "UNAUTHENTICATED") {
        // The session ended (signed out elsewhere, or its refresh token
        // was refused): nothing can renew it.
        this.end();
        throw new SignedOutError();
      }
      // Rate limited, or the server is away: try again soon.
      this.schedule(RETRY_MS);
      throw error;
    }
  }

  /** Forgets the session here (and in storage, if it is still this one). */
  private end(): void {
    const stored = loadSession();
    if (stored && stored.userId === this.session?.userId) {
      store(null);
      // In turn with other tabs' refreshes and sign-ins (a lock taken now
      // is granted after them).
      void exclusively(() => newest(null).then(() => undefined)).catch(() => {});
    }
    this.adopt(null);
  }

  private adopt(session: Session | null): void {
    if (session?.token === this.session?.token && session?.refreshToken === this.session?.refreshToken) return;
    this.session = session;
    this.schedule();
    for (const listener of this.listeners) listener();
  }

  private schedule(delay?: number): void {
    clearTimeout(this.timer);
    if (!this.session) return;
    const wait = delay ?? Math.max(0, this.session.refreshAt - Date.now());
    this.timer = setTimeout(() => void this.refresh().catch(() => {}), wait);
  }
}

/** The page's one session keeper. */
export const auth = new Auth();
