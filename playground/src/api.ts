// How both pages talk to the server: GraphQL over HTTP at /graphql and
// graphql-ws at /ws, always on the origin that served the page, so nothing
// ever leaves for another host.
import { print } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";

/** The absolute WebSocket URL of /ws on this page's origin. */
export function wsUrl(): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws`;
}

/** The Authorization header value for a token. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}

/** A GraphQL error as the server reports it, with its extensions.code. */
export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

type GraphQLResponse<T> = {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
};

/**
 * Runs a typed operation over HTTP. Errors become a thrown
 * GraphQLRequestError carrying the first error's code, so callers can show
 * "username taken" instead of a generic failure.
 */
export async function request<TData, TVariables>(
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
  token?: string | null,
): Promise<TData> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = bearer(token);
  const response = await fetch("/graphql", {
    method: "POST",
    headers,
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as GraphQLResponse<TData>;
  if (body.errors?.length) {
    const [first] = body.errors;
    throw new GraphQLRequestError(first.message, first.extensions?.code);
  }
  if (!body.data) throw new GraphQLRequestError("the server sent no data", undefined);
  return body.data;
}
