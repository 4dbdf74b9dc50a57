// The GraphQL clients people use, against the real server binary: each one
// subscribes over /ws and must receive a message sent over HTTP.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { createClient } from "graphql-ws";
import { SubscriptionClient } from "subscriptions-transport-ws";
import { ApolloClient, HttpLink, InMemoryCache, gql, split } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createChat, keepFresh, sendUntilReceived, signUp, startServer } from "./server.mjs";

const MESSAGES = "subscription($chat: ID) { messageCreated(chatId: $chat) { body sender { username } } }";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

test("graphql-ws client: subscribes with connectionParams and receives a message", async () => {
  const ada = await signUp(server.base, "gws");
  const chat = await createChat(server.base, ada);
  const client = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${ada.token}` },
  });
  try {
    const received = new Promise((resolve, reject) => {
      client.subscribe(
        { query: MESSAGES, variables: { chat } },
        { next: resolve, error: reject, complete: () => reject(new Error("completed early")) },
      );
    });

    const result = await sendUntilReceived(server.base, ada, chat, "via graphql-ws", received);

    assert.equal(result.errors, undefined);
    assert.deepEqual(result.data.messageCreated, {
      body: "via graphql-ws",
      sender: { username: ada.username },
    });
  } finally {
    await client.dispose();
  }
});

test("graphql-ws client: a bad token is refused with 4403", async () => {
  const client = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: "Bearer not-a-token" },
    retryAttempts: 0,
  });
  try {
    const failure = await new Promise((resolve) => {
      client.subscribe({ query: MESSAGES }, { next: () => {}, error: resolve, complete: () => {} });
    });
    assert.equal(failure.code, 4403);
  } finally {
    await client.dispose();
  }
});

test("subscriptions-transport-ws (legacy graphql-ws protocol) receives a message", async () => {
  const ada = await signUp(server.base, "legacy");
  const chat = await createChat(server.base, ada);
  const client = new SubscriptionClient(
    server.wsUrl,
    { connectionParams: { authorization: `Bearer ${ada.token}` }, reconnect: false },
    WebSocket,
  );
  try {
    const received = new Promise((resolve, reject) => {
      client.request({ query: MESSAGES, variables: { chat } }).subscribe({ next: resolve, error: reject });
    });

    const result = await sendUntilReceived(server.base, ada, chat, "via the legacy protocol", received);

    assert.equal(result.errors, undefined);
    assert.equal(result.data.messageCreated.body, "via the legacy protocol");
    assert.equal(result.data.messageCreated.sender.username, ada.username);
  } finally {
    client.close();
  }
});

test("Apollo Client with GraphQLWsLink: a query over HTTP and a subscription over /ws", async () => {
  const ada = await signUp(server.base, "apollo");
  const chat = await createChat(server.base, ada);
  const socket = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${ada.token}` },
  });
  const link = split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    new GraphQLWsLink(socket),
    new HttpLink({ uri: `${server.base}/graphql`, headers: { authorization: `Bearer ${ada.token}` } }),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  try {
    const me = await client.query({ query: gql`{ me { id username } }` });
    assert.equal(me.data.me.username, ada.username);
    assert.equal(me.data.me.id, ada.id);

    let subscription;
    const received = new Promise((resolve, reject) => {
      subscription = client
        .subscribe({ query: gql(MESSAGES), variables: { chat } })
        .subscribe({ next: resolve, error: reject });
    });
    const result = await sendUntilReceived(server.base, ada, chat, "via Apollo", received);
    subscription.unsubscribe();

    assert.equal(result.data.messageCreated.body, "via Apollo");
    assert.equal(result.data.messageCreated.sender.username, ada.username);
  } finally {
    client.stop();
    await socket.dispose();
  }
});

test("graphql-ws client: connectionParams as a function keeps a subscription going across token expiries", async () => {
  // Access tokens of 2 s (each lives 2–3 s: `exp` is rounded up to the
  // second): the server closes the socket with 4403 as each expires, and
  // the client reconnects with the token renewed meanwhile.
  const shortLived = await startServer({ TOKEN_TTL_SECS: "2", RATE_REFRESH_SESSION: "off" });
  const ada = await signUp(shortLived.base, "gws_refresh");
  const fresh = keepFresh(shortLived.base, ada);
  const chat = await createChat(shortLived.base, ada);
  let connections = 0;
  const client = createClient({
    url: shortLived.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: async () => ({ authorization: `Bearer ${(await fresh()).token}` }),
    shouldRetry: () => true, // 4403 for the expired token: reconnect
    retryWait: () => new Promise((r) => setTimeout(r, 50)),
    on: { connected: () => (connections += 1) },
  });
  try {
    const bodies = [];
    let arrived = () => {};
    client.subscribe(
      { query: MESSAGES, variables: { chat } },
      {
        next: (result) => {
          bodies.push(result.data.messageCreated.body);
          arrived();
        },
        error: (error) => assert.fail(`subscription failed: ${error.code ?? error}`),
        complete: () => {},
      },
    );
    const received = (body) =>
      new Promise((resolve) => {
        arrived = () => bodies.includes(body) && resolve();
        arrived();
      });
    await sendUntilReceived(shortLived.base, await fresh(), chat, "first", received("first"));
    await new Promise((r) => setTimeout(r, 8_000));
    await sendUntilReceived(shortLived.base, await fresh(), chat, "after two expiries", received("after two expiries"));
    assert.ok(connections >= 3, `reconnected after each expiry (${connections} connections)`);
  } finally {
    await client.dispose();
    await shortLived.stop();
  }
});
