// Starts the real chat-server binary (in-memory backend) on a free port for
// the JS tests, and talks GraphQL to it over HTTP.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

/** The binary cargo built: CHAT_SERVER_BIN, or target/debug under CARGO_TARGET_DIR. */
export function serverBinary() {
  const path =
    process.env.CHAT_SERVER_BIN ??
    resolve(process.env.CARGO_TARGET_DIR ?? resolve(import.meta.dirname, "../../target"), "debug/chat-server");
  if (!existsSync(path)) throw new Error(`no server binary at ${path}; run cargo build first`);
  return path;
}

async function freePort() {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

/**
 * A running server: its base URL and a `stop()`. `settings` are extra
 * environment variables for it (say `TOKEN_TTL_SECS`).
 */
export async function startServer(settings = {}) {
  const port = await freePort();
  const env = {
    ...process.env,
    LISTEN_ADDR: `127.0.0.1:${port}`,
    JWT_SECRET: "js-tests-secret-js-tests-secret-0123",
    RUST_LOG: "warn",
    NO_COLOR: "1",
    // The tests resend a message until a fresh subscription sees it (a
    // subscription gives no "listening" signal), faster than a person would.
    RATE_SEND_MESSAGE: "off",
    ...settings,
  };
  delete env.REDIS_URL;
  delete env.ALLOWED_ORIGINS;
  const child = spawn(serverBinary(), [], { env, stdio: ["ignore", "inherit", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("the server did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
    },
  };
}

/** POSTs an operation; throws on GraphQL errors. */
export async function graphql(base, query, variables = {}, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${base}/graphql`, {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
  return body.data;
}

let counter = 0;
/** A username no other test run uses. */
export function uniqueName(prefix) {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}`;
}

export const PASSWORD = "correct horse battery";

/**
 * Signs up a fresh user: `{ token, expiresAt, refreshToken, id, username }`
 * (`token` is the access token, as in `AuthPayload`).
 */
export async function signUp(base, prefix = "user") {
  const username = uniqueName(prefix);
  const data = await graphql(
    base,
    `mutation($u: String!, $p: String!) {
      signUp(username: $u, password: $p) { token expiresAt refreshToken user { id } }
    }`,
    { u: username, p: PASSWORD },
  );
  const { token, expiresAt, refreshToken, user } = data.signUp;
  return { token, expiresAt, refreshToken, id: user.id, username };
}

/**
 * Keeps `user`'s pair current, the way a client should: `fresh()` renews
 * it (one refresh in flight at a time) once less than a third of its
 * lifetime is left, and resolves to `user`, whose `token` is then current.
 */
export function keepFresh(base, user) {
  let refreshing = null;
  let issued = Date.now();
  const due = () => {
    const left = Date.parse(user.expiresAt) - Date.now();
    return left < (Date.parse(user.expiresAt) - issued) / 3;
  };
  return async function fresh() {
    if (due()) {
      refreshing ??= graphql(
        base,
        "mutation($r: String!) { refreshSession(refreshToken: $r) { token expiresAt refreshToken } }",
        { r: user.refreshToken },
      )
        .then(({ refreshSession }) => {
          Object.assign(user, refreshSession);
          issued = Date.now();
        })
        .finally(() => {
          refreshing = null;
        });
      await refreshing;
    }
    return user;
  };
}

/** Creates a chat owned by `owner`; returns its id. */
export async function createChat(base, owner, title = "interop") {
  const data = await graphql(
    base,
    "mutation($t: String!) { createChat(input: { title: $t }) { id } }",
    { t: title },
    owner.token,
  );
  return data.createChat.id;
}

/** Sends a message over HTTP; returns it (`id`, `body`). */
export async function sendMessage(base, sender, chatId, body) {
  const data = await graphql(
    base,
    "mutation($c: ID!, $b: String!) { sendMessage(input: { chatId: $c, body: $b }) { id body } }",
    { c: chatId, b: body },
    sender.token,
  );
  return data.sendMessage;
}

/**
 * Sends a message over HTTP every 250 ms until `received()` resolves (at
 * most 10 s). A subscription has no "I am listening" signal, so a single
 * send could race its start; every send is a real HTTP write, and the test
 * passes only if one of them reaches the subscriber.
 */
export async function sendUntilReceived(base, sender, chatId, body, received) {
  let done = false;
  const arrived = received.then((value) => {
    done = true;
    return value;
  });
  const sending = (async () => {
    const deadline = Date.now() + 10_000;
    while (!done && Date.now() < deadline) {
      await sendMessage(base, sender, chatId, body);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const timeout = new Promise((_, fail) =>
    setTimeout(() => !done && fail(new Error("no message arrived within 10 s")), 10_500).unref(),
  );
  const value = await Promise.race([arrived, timeout]);
  await sending;
  return value;
}
