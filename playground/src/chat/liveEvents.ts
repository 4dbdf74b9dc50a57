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
//
// The page's other live data (who is typing, who is online) rides on the
// same socket: `LiveChannel` keeps those subscriptions and starts each one
// again on every connection the feed makes. They have no cursor; each
// starts with the current state, so starting over is all a restart needs.
import { print, type GraphQLFormattedError } from "graphql";
import { createClient, type Client } from "graphql-ws";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
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

/** What a subscription on the live channel is told. */
export type LiveHandlers<TData> = {
  next: (data: TData) => void;
  /** The server ended it with errors (say RATE_LIMITED); it starts again on the next connection. */
  error?: (errors: readonly GraphQLFormattedError[]) => void;
  /** The connection went; it starts again (from the current state) on the next one. */
  paused?: () => void;
};

/** Subscribes on the page's live socket; returns the unsubscribe. */
export type LiveSubscribe = <TData, TVariables extends Record<string, unknown>>(
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
  handlers: LiveHandlers<TData>,
) => () => void;

type Entry = {
  payload: { query: string; variables: Record<string, unknown> };
  handlers: LiveHandlers<never>;
  cancel: (() => void) | null;
};

/**
 * Subscriptions that share the feed's socket. Components may subscribe at
 * any time; each runs on the feed's current connection, and is started
 * again on the next one after a drop.
 */
export class LiveChannel {
  private client: Client | null = null;
  private entries = new Set<Entry>();

  subscribe: LiveSubscribe = (document, variables, handlers) => {
    const entry: Entry = {
      payload: { query: print(document), variables },
      handlers: handlers as LiveHandlers<never>,
      cancel: null,
    };
    this.entries.add(entry);
    if (this.client) this.start(entry, this.client);
    return () => {
      this.entries.delete(entry);
      entry.cancel?.();
      entry.cancel = null;
    };
  };

  /** The feed's new connection (`null` while it has none). */
  attach(client: Client | null): void {
    const had = this.client !== null;
    this.client = client;
    for (const entry of this.entries) {
      entry.cancel?.();
      entry.cancel = null;
      if (had) entry.handlers.paused?.();
      if (client) this.start(entry, client);
    }
  }

  private start(entry: Entry, client: Client): void {
    // Whatever a replaced connection still says is stale.
    const current = () => this.client === client && this.entries.has(entry);
    entry.cancel = client.subscribe(entry.payload, {
      next: (result) => {
        if (!current()) return;
        if (result.errors?.length) entry.handlers.error?.(result.errors);
        else if (result.data) entry.handlers.next(result.data as never);
      },
      error: (error) => {
        // A closed socket is the feed's to handle: it reconnects, and
        // `attach` starts this again. Only the server's own refusal counts.
        if (current() && Array.isArray(error)) entry.handlers.error?.(error as GraphQLFormattedError[]);
      },
      complete: () => {},
    });
  }
}

export function startFeed(tokens: TokenSource, handlers: Handlers, channel?: LiveChannel): Feed {
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
        channel?.attach(client);
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
        channel?.attach(null);
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
      channel?.attach(null);
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
