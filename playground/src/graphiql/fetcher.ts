// GraphiQL's fetcher: queries and mutations over HTTP at /graphql,
// subscriptions over graphql-ws at /ws, both carrying the signed-in user's
// current token (the Authorization header, and the connection_init
// payload), renewed by `auth` as it nears expiry.
import { createGraphiQLFetcher, type Fetcher } from "@graphiql/toolkit";
import { createClient, type Client } from "graphql-ws";
import { bearer, wsUrl } from "../api";
import { auth } from "../session";

/** A fetcher and the WebSocket client behind it, to close when replaced. */
export type Connection = { fetcher: Fetcher; socket: Client };

/** The current token, or none when nobody is signed in. */
async function currentToken(): Promise<string | null> {
  return auth.current() ? auth.token() : null;
}

export function connect(): Connection {
  // The token the open socket was authenticated with, and the renewal a
  // 4403 for it started: the reconnect waits for that and sends the new one.
  let used: string | null = null;
  let renewal: Promise<void> = Promise.resolve();
  let refused = false;

  // Lazy: the socket opens with the first subscription, not on page load.
  const socket = createClient({
    url: wsUrl(),
    lazy: true,
    connectionParams: async () => {
      await renewal;
      used = await currentToken();
      return used ? { authorization: bearer(used) } : {};
    },
    on: {
      closed: (event) => {
        refused = (event as CloseEvent).code === 4403;
        if (refused && used) renewal = auth.renewAfterRefusal(used).catch(() => {});
      },
    },
    // Closed for an expired token: reconnect (and resubscribe) at once with
    // the renewed one. Events in between are not replayed: GraphiQL
    // resubscribes with the variables it started with.
    retryWait: async (retries) => {
      if (refused) return renewal;
      await new Promise((resolve) => setTimeout(resolve, 2 ** retries * 1000 + Math.random() * 2000));
    },
  });
  const fetcher = createGraphiQLFetcher({
    url: "/graphql",
    wsClient: socket,
    // A header typed into GraphiQL's headers tab wins over the panel's.
    fetch: async (input, init) => {
      const headers = new Headers(init?.headers);
      const token = headers.has("authorization") ? null : await currentToken();
      if (token) headers.set("authorization", bearer(token));
      return fetch(input, { ...init, headers });
    },
  });
  return { fetcher, socket };
}
