// GraphiQL's fetcher: queries and mutations over HTTP at /graphql,
// subscriptions over graphql-ws at /ws, both carrying the signed-in user's
// token (the Authorization header, and the connection_init payload).
import { createGraphiQLFetcher, type Fetcher } from "@graphiql/toolkit";
import { createClient, type Client } from "graphql-ws";
import { bearer, wsUrl } from "../api";

/** A fetcher and the WebSocket client behind it, to close when replaced. */
export type Connection = { fetcher: Fetcher; socket: Client };

export function connect(token: string | null): Connection {
  const auth = token ? { authorization: bearer(token) } : {};
  // Lazy: the socket opens with the first subscription, not on page load.
  const socket = createClient({ url: wsUrl(), connectionParams: auth, lazy: true });
  const fetcher = createGraphiQLFetcher({
    url: "/graphql",
    headers: token ? { Authorization: bearer(token) } : {},
    wsClient: socket,
  });
  return { fetcher, socket };
}
