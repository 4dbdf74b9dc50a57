// The chat page's live feed: one chatEvents subscription over graphql-ws,
// restarted after every drop *with the last cursor it saw* as `after`, so
// the server replays exactly what was missed before going live again.
//
// graphql-ws can retry on its own, but it would resubscribe with the
// variables of the first attempt; the cursor must move with the feed, so
// the retry loop is here and the client's own retries are off.
import { print } from "graphql";
import { createClient, type Client } from "graphql-ws";
import { bearer, wsUrl } from "../api";
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

/** A running feed; `stop` ends it, `drop` cuts the socket (it resumes). */
export type Feed = { stop: () => void; drop: () => void };

export function startFeed(token: string, handlers: Handlers): Feed {
  let stopped = false;
  let current: Client | null = null;
  let cursor: string | null = null;

  async function run() {
    let reconnectedAt: number | null = null;
    while (!stopped) {
      handlers.onStatus({ state: "connecting" });
      const resumedFrom = cursor;
      let caughtUp = 0;
      const client = createClient({
        url: wsUrl(),
        connectionParams: { authorization: bearer(token) },
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
        handlers.onStatus({ state: "reconnecting", reason: describe(error) });
      } finally {
        await client.dispose();
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
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

/** A short reason for a failed socket, whatever graphql-ws threw. */
function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof CloseEvent !== "undefined" && error instanceof CloseEvent) {
    return `connection closed (${error.code})`;
  }
  if (Array.isArray(error)) return error.map((e) => (e as Error).message).join("; ");
  return "connection lost";
}
