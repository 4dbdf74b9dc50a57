// The GraphQL clients people use, against the real server binary: each one
// subscribes over /ws and must receive a message sent over HTTP; Apollo
// Client's persisted-query link registers a query and then sends its hash
// alone over GET.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import WebSocket from "ws";
import { createClient } from "graphql-ws";
import { SubscriptionClient } from "subscriptions-transport-ws";
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql, split } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
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

test("Apollo Client's PersistedQueryLink: a miss registers the text, then the hash alone runs over GET", async () => {
  const ada = await signUp(server.base, "apq");
  const exchanges = [];
  /** fetch, recording what each request sent and what its answer said. */
  const recording = async (url, init) => {
    const response = await fetch(url, init);
    const params = new URL(url).searchParams;
    exchanges.push({
      method: init.method,
      queryParam: params.get("query"),
      extensionsParam: params.get("extensions"),
      body: init.body === undefined ? undefined : JSON.parse(init.body),
      status: response.status,
      cacheControl: response.headers.get("cache-control"),
    });
    return response;
  };
  const sha256 = (text) => createHash("sha256").update(text).digest("hex");
  const newClient = () =>
    new ApolloClient({
      cache: new InMemoryCache(),
      link: ApolloLink.from([
        new PersistedQueryLink({ sha256, useGETForHashedQueries: true }),
        new HttpLink({
          uri: `${server.base}/graphql`,
          headers: { authorization: `Bearer ${ada.token}` },
          fetch: recording,
        }),
      ]),
    });
  const query = gql`
    query Whoami($name: String!) {
      me { id username }
      user(username: $name) { id }
    }
  `;
  const variables = { name: ada.username };
  const ask = async (client) => {
    exchanges.length = 0;
    const { data } = await client.query({ query, variables, fetchPolicy: "network-only" });
    assert.equal(data.me.username, ada.username);
    assert.equal(data.me.id, ada.id);
    assert.equal(data.user.id, ada.id);
    return exchanges.map(({ method, status }) => `${method} ${status}`);
  };
  const first = newClient();
  const second = newClient();
  try {
    // The hash alone over GET misses; the link sends the text with it by POST.
    assert.deepEqual(await ask(first), ["GET 400", "POST 200"]);
    const [miss, registration] = exchanges;
    assert.equal(miss.queryParam, null);
    const { sha256Hash } = JSON.parse(miss.extensionsParam).persistedQuery;
    assert.equal(registration.body.extensions.persistedQuery.sha256Hash, sha256Hash);
    assert.equal(sha256(registration.body.query), sha256Hash);
    assert.equal(miss.cacheControl, "no-store");
    assert.equal(registration.cacheControl, null);

    // Then one GET, without the text, answered from the registered query.
    for (const client of [first, second]) {
      assert.deepEqual(await ask(client), ["GET 200"]);
      const [hit] = exchanges;
      assert.equal(hit.queryParam, null);
      assert.equal(JSON.parse(hit.extensionsParam).persistedQuery.sha256Hash, sha256Hash);
      assert.equal(hit.cacheControl, "private, max-age=60");
    }
  } finally {
    first.stop();
    second.stop();
  }
});

// ---------------------------------------------------------------------------
// graphql-sse's client (distinct connections mode: one POST per operation)
// against /graphql/stream. (Its imports are here, with its tests; imports
// are hoisted wherever they stand.)
import { createClient as createSseClient } from "graphql-sse";
import { graphql, sendMessage } from "./server.mjs";

test("graphql-sse client: a query and a mutation each give one result, then complete", async () => {
  const ada = await signUp(server.base, "sse_query");
  const { fetchFn, requests } = recordingFetch();
  const client = createSseClient({
    url: `${server.base}/graphql/stream`,
    headers: { authorization: `Bearer ${ada.token}` },
    fetchFn,
    retryAttempts: 0,
  });
  try {
    const me = await runSse(client, { query: "{ me { id username } }" });
    assert.equal(me.error, undefined);
    assert.equal(me.completed, true);
    assert.deepEqual(me.results, [{ data: { me: { id: ada.id, username: ada.username } } }]);
    // The client read `event: next` and `event: complete`, and skipped the
    // stream's leading `retry:` field (it parses only event and data).
    assert.deepEqual(
      me.messages.map((m) => m.event),
      ["next", "complete"],
    );

    const created = await runSse(client, {
      query: "mutation($i: CreateChatInput!) { createChat(input: $i) { id title } }",
      variables: { i: { title: "over sse", memberIds: [] } },
    });
    assert.equal(created.error, undefined);
    assert.equal(created.completed, true);
    assert.equal(created.results.length, 1);
    assert.equal(created.results[0].data.createChat.title, "over sse");
    // The chat really exists: it can be read back over plain HTTP.
    const read = await graphql(
      server.base,
      "query($id: ID!) { chat(id: $id) { title } }",
      { id: created.results[0].data.createChat.id },
      ada.token,
    );
    assert.equal(read.chat.title, "over sse");

    // What graphql-sse sent, and what the server answered on the wire.
    assert.equal(requests.length, 2);
    for (const request of requests) {
      assert.equal(request.method, "POST");
      assert.equal(request.headers.accept, "text/event-stream");
      assert.equal(request.headers["content-type"], "application/json; charset=utf-8");
      assert.equal(request.status, 200);
      assert.equal(request.contentType, "text/event-stream");
      const raw = await request.text;
      assert.ok(raw.startsWith("retry: 1000\n\n"), `the stream begins with retry: ${JSON.stringify(raw.slice(0, 40))}`);
      assert.ok(raw.endsWith("event: complete\ndata:\n\n"), `the stream ends with complete: ${JSON.stringify(raw.slice(-40))}`);
      assert.equal(raw.match(/^event: next$/gm).length, 1);
    }
  } finally {
    client.dispose();
  }
});

test("graphql-sse client: a messageCreated subscription receives messages sent over HTTP, in order", async () => {
  const ada = await signUp(server.base, "sse_sub");
  const chat = await createChat(server.base, ada);
  const client = createSseClient({
    url: `${server.base}/graphql/stream`,
    headers: { authorization: `Bearer ${ada.token}` },
    retryAttempts: 0,
  });
  const results = [];
  let failure;
  let completed = false;
  let arrived = () => {};
  let connected;
  const open = new Promise((resolve) => (connected = resolve));
  const unsubscribe = client.subscribe(
    {
      query: "subscription($c: ID) { messageCreated(chatId: $c) { id body cursor } }",
      variables: { c: chat },
    },
    {
      next: (result) => {
        results.push(result);
        arrived();
      },
      error: (error) => {
        failure = error;
        arrived();
      },
      complete: () => (completed = true),
    },
    // The server answers (200 and headers) only once the subscription's
    // feed is open, so nothing sent after `connected` can be missed.
    { connected },
  );
  try {
    await withTimeout(open, "the subscription did not open");
    const sent = [];
    for (let i = 1; i <= 5; i += 1) sent.push(await sendMessage(server.base, ada, chat, `sse message ${i}`));
    await withTimeout(
      new Promise((resolve) => {
        arrived = () => (results.length >= sent.length || failure) && resolve();
        arrived();
      }),
      "not every message arrived",
    );
    assert.equal(failure, undefined);
    assert.equal(completed, false, "a subscription does not complete by itself");
    assert.deepEqual(
      results.map((r) => r.data.messageCreated.body),
      sent.map((m) => m.body),
    );
    assert.deepEqual(
      results.map((r) => r.data.messageCreated.id),
      sent.map((m) => m.id),
    );
    assert.ok(results.every((r) => r.errors === undefined));
    // Nothing more comes (no duplicates) in a short while.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(results.length, sent.length);
  } finally {
    unsubscribe();
    client.dispose();
  }
});

test("graphql-sse client: a refused subscription (NOT_FOUND chat) reaches the sink's error as a NetworkError with the 404", async () => {
  const ada = await signUp(server.base, "sse_refused");
  const bob = await signUp(server.base, "sse_other");
  const bobsChat = await createChat(server.base, bob, "not ada's");
  const subscription = {
    query: "subscription($c: ID) { messageCreated(chatId: $c) { id body } }",
    variables: { c: bobsChat },
  };

  // Without retries, the first refusal is the sink's error at once.
  const once = recordingFetch();
  const client = createSseClient({
    url: `${server.base}/graphql/stream`,
    headers: { authorization: `Bearer ${ada.token}` },
    fetchFn: once.fetchFn,
    retryAttempts: 0,
  });
  try {
    const refused = await runSse(client, subscription);
    assert.deepEqual(refused.results, []);
    assert.equal(refused.completed, false);
    assert.equal(refused.error?.name, "NetworkError");
    assert.equal(refused.error.message, "Server responded with 404: Not Found");
    // graphql-sse leaves the body unread: the refusal's GraphQL error is there.
    assert.equal(refused.error.response.status, 404);
    assert.match(refused.error.response.headers.get("content-type"), /^application\/json/);
    const body = await refused.error.response.json();
    assert.equal(body.errors[0].extensions.code, "NOT_FOUND");
    assert.equal(once.requests.length, 1);
  } finally {
    client.dispose();
  }

  // graphql-sse treats any non-2xx answer as a network error, and retries
  // it (by default 5 times, backing off from 1 s): a client that should
  // give up on a refusal must set retryAttempts: 0.
  const retried = recordingFetch();
  const retrying = createSseClient({
    url: `${server.base}/graphql/stream`,
    headers: { authorization: `Bearer ${ada.token}` },
    fetchFn: retried.fetchFn,
    retryAttempts: 2,
    retry: async () => {},
  });
  try {
    const refused = await runSse(retrying, subscription);
    assert.equal(refused.error?.response?.status, 404);
    assert.deepEqual(
      retried.requests.map((r) => r.status),
      [404, 404, 404],
    );
  } finally {
    retrying.dispose();
  }

  // A bad token is refused the same way, with 401 and UNAUTHENTICATED.
  const anonymous = createSseClient({
    url: `${server.base}/graphql/stream`,
    headers: { authorization: "Bearer not-a-token" },
    retryAttempts: 0,
  });
  try {
    const refused = await runSse(anonymous, subscription);
    assert.equal(refused.error?.response?.status, 401);
    assert.equal((await refused.error.response.json()).errors[0].extensions.code, "UNAUTHENTICATED");
  } finally {
    anonymous.dispose();
  }
});

/**
 * Runs one operation on a graphql-sse client until it completes or fails:
 * `{ results, completed, error, messages }` (`messages`: the stream's
 * events as the client parsed them).
 */
function runSse(client, request) {
  return new Promise((resolve) => {
    const outcome = { results: [], completed: false, error: undefined, messages: [] };
    client.subscribe(
      request,
      {
        next: (result) => outcome.results.push(result),
        error: (error) => {
          outcome.error = error;
          resolve(outcome);
        },
        complete: () => {
          outcome.completed = true;
          resolve(outcome);
        },
      },
      { message: (message) => outcome.messages.push(message) },
    );
  });
}

/**
 * A `fetch` that records each request graphql-sse makes (method, headers)
 * and its answer: status, content type, and for a 2xx the raw body as
 * `text`, a promise of all the bytes that arrived until the stream ended
 * or was aborted (graphql-sse aborts its request on `complete`).
 */
function recordingFetch() {
  const requests = [];
  const fetchFn = async (url, init) => {
    const response = await fetch(url, init);
    const record = {
      method: init.method,
      headers: Object.fromEntries(Object.entries(init.headers).map(([k, v]) => [k.toLowerCase(), v])),
      status: response.status,
      contentType: response.headers.get("content-type"),
      text: Promise.resolve(null),
    };
    requests.push(record);
    if (!response.ok) return response;
    const [forClient, forRecord] = response.body.tee();
    record.text = (async () => {
      const decoder = new TextDecoder();
      let text = "";
      try {
        for await (const chunk of forRecord) text += decoder.decode(chunk, { stream: true });
      } catch {
        // aborted by the client: keep what had arrived
      }
      return text;
    })();
    return new Response(forClient, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  return { fetchFn, requests };
}

function withTimeout(promise, what, ms = 10_000) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, fail) => {
      timer = setTimeout(() => fail(new Error(`${what} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
