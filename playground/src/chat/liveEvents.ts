// The chat page's live feed: one chatEvents subscription over graphql-ws,
// restarted after every drop *with the last cursor it saw* as `after`, so
// the server replays exactly what was missed before going live again.
//
// graphql-ws can retry on its own, but it would resubscribe with the
// variables of the first attempt; the cursor must move with the feed, so
// the retry loop is here and the client's own retries are off.
//
// Access tokens are short-lived, and the server closes a socket with 4403
// when the token it was opened with expires (or its session ends). Each
// connection asks for the current token as it opens (`connectionParams` is
// a function), so after such a close the feed reconnects at once with the
// token renewed meanwhile, and resumes from its cursor like after any drop.
import { print } from "graphql";
import { createClient, type Client } from "graphql-ws";
import { bearer, wsUrl } from "../api";
import { SignedOutError } from "../session";
import { LiveEventsDocument, type LiveEventsSubscription } from "../generated/graphql";

export type LiveEvent = LiveEventsSubscription["chatEvents"];

/** What the feed is doing, for the status line. */
export type FeedStatus =
  | { state: "connecting" }
  | { state: "live"; resumedFrom: string | null; caughtUp: number }
  | { state: "reconnecting"; reason: string };

type Handlers = {
  onEvent: (event: LiveEvent) => void;
  onStatus: (status: FeedStatus) => void;
  /** The cursor was older than the server's log: reload what is shown. */
  onExpired: () => void;
};

const RETRY_MS = 1000;

/** Where the feed gets its token (the page's session keeper). */
export type TokenSource = {
  /** The token to open a connection with. */
  token: () => Promise<string>;
  /** The server refused `used`: renew it (throws SignedOutError when it cannot be). */
  renewAfterRefusal: (used: string) => Promise<void>;
};

/** A running feed; `stop` ends it, `drop` cuts the socket (it resumes). */
export type Feed = { stop: () => void; drop: () => void };

export function startFeed(tokens: TokenSource, handlers: Handlers): Feed {
  let stopped = false;
  let current: Client | null = null;
  let cursor: string | null = null;

  async function run() {
    let reconnectedAt: number | null = null;
    while (!stopped) {
      handlers.onStatus({ state: "connecting" });
      const resumedFrom = cursor;
      let caughtUp = 0;
      let used: string | null = null;
      let retryIn = RETRY_MS;
      const client = createClient({
        url: wsUrl(),
        connectionParams: async () => {
          used = await tokens.token();
          return { authorization: bearer(used) };
        },
        retryAttempts: 0,
        on: { connected: () => handlers.onStatus({ state: "live", resumedFrom, caughtUp }) },
      });
      current = client;
      try {
        const results = client.iterate({
          query: print(LiveEventsDocument),
          variables: { after: cursor },
        });
        for await (const result of results) {
          if (isExpired(result.errors)) throw result.errors;
          const event = (result.data as LiveEventsSubscription | undefined)?.chatEvents;
          if (!event) throw new Error(result.errors?.[0]?.message ?? "empty event");
          cursor = event.cursor;
          // Replayed events happened before this connection was made.
          if (reconnectedAt !== null && Date.parse(event.at) < reconnectedAt) {
            caughtUp += 1;
            handlers.onStatus({ state: "live", resumedFrom, caughtUp });
          }
          handlers.onEvent(event);
        }
        if (stopped) break;
        throw new Error("the server ended the feed");
      } catch (error) {
        if (stopped) break;
        // The cursor is older than the server keeps (it may arrive as an
        // `error` message, thrown here as its list of errors): whatever was
        // missed cannot be replayed, so start live and reload what is shown.
        if (isExpired(error)) {
          cursor = null;
          handlers.onExpired();
        }
        if (isRefused(error) && used !== null) {
          // The token expired (or the session ended): renew it unless that
          // happened already, and reconnect without waiting. When the
          // session cannot be renewed, the page signs out and stops this.
          try {
            await tokens.renewAfterRefusal(used);
            retryIn = 0;
          } catch (renewal) {
            if (renewal instanceof SignedOutError) break;
          }
        }
        if (stopped) break;
        handlers.onStatus(
          retryIn === 0 ? { state: "connecting" } : { state: "reconnecting", reason: describe(error) },
        );
      } finally {
        await client.dispose();
      }
      if (retryIn > 0) await new Promise((resolve) => setTimeout(resolve, retryIn));
      reconnectedAt = Date.now();
    }
  }

  void run();
  return {
    stop() {
      stopped = true;
      void current?.dispose();
    },
    drop() {
      current?.terminate();
    },
  };
}

/** Whether a list of GraphQL errors says the resume cursor expired. */
function isExpired(errors: unknown): boolean {
  return (
    Array.isArray(errors) &&
    errors.some((e) => (e as { extensions?: { code?: unknown } })?.extensions?.code === "CURSOR_EXPIRED")
  );
}

/** Whether the socket was closed because its token was refused. */
function isRefused(error: unknown): boolean {
  return typeof CloseEvent !== "undefined" && error instanceof CloseEvent && error.code === 4403;
}

/** A short reason for a failed socket, whatever graphql-ws threw. */
function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof CloseEvent !== "undefined" && error instanceof CloseEvent) {
    return `connection closed (${error.code})`;
  }
  if (Array.isArray(error)) return error.map((e) => (e as Error).message).join("; ");
  return "connection lost";
}
