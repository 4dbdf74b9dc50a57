// Real-browser tests: headless Debian chromium driven by playwright-core
// against the real server binary. Every page fails the test on a console
// error, an uncaught exception, or any request to another host; the end
// state of each page is saved as a screenshot in test-artifacts/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { chromium } from "playwright-core";
import {
  createChat,
  sendMessage,
  sendUntilReceived,
  signUp,
  startServer,
  uniqueName,
  PASSWORD,
} from "./server.mjs";

const ARTIFACTS = process.env.ARTIFACTS_DIR ?? resolve(import.meta.dirname, "../test-artifacts");
const TIMEOUT = 15_000;

let server;
let browser;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startServer();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * A fresh browser context (its own storage: one user) whose problems are
 * collected: console errors, page errors, and requests or sockets to any
 * origin but the server's.
 */
async function newContext() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(TIMEOUT);
  const problems = [];
  const allowed = new URL(server.base).host;
  const check = (url) => {
    const parsed = new URL(url);
    if (parsed.protocol === "data:" || parsed.protocol === "blob:") return;
    if (parsed.host !== allowed) problems.push(`request to another host: ${url}`);
  };
  context.on("request", (request) => check(request.url()));
  context.on("page", (page) => watch(page, problems, check));
  return { context, problems };
}

function watch(page, problems, check) {
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("websocket", (socket) => check(socket.url().replace(/^ws/, "http")));
}

async function screenshot(page, name) {
  await page.screenshot({ path: resolve(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Fills the sign-in form (on either page) and signs up. */
async function signUpInForm(page, username) {
  await page.fill('form.sign-in input[name="username"]', username);
  await page.fill('form.sign-in input[name="password"]', PASSWORD);
  await page.click('form.sign-in button[name="sign-up"]');
  await page.waitForSelector(`[data-testid="username"]:text-is("${username}")`);
}

/** Replaces the text of GraphiQL's query editor (CodeMirror 5) and runs it. */
async function runInGraphiQL(page, query) {
  await page.evaluate((text) => {
    document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue(text);
  }, query);
  // GraphiQL parses the editor's text on a debounce, and picks HTTP or the
  // WebSocket from that parse: give it the pause a typing user would.
  await page.waitForTimeout(500);
  await page.click(".graphiql-execute-button");
}

/** The text of GraphiQL's response pane (its CodeMirror's value). */
async function responseText(page) {
  return page.evaluate(() => document.querySelector(".graphiql-response .CodeMirror").CodeMirror.getValue());
}

test("GraphiQL: sign up in the panel, run a query, watch a subscription", async () => {
  const { context, problems } = await newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${server.base}/`);
    await page.waitForSelector(".graphiql-query-editor .CodeMirror");
    const username = uniqueName("graphiql");

    await signUpInForm(page, username);
    await runInGraphiQL(page, "{ me { username } }");

    await page.waitForFunction(
      (name) => document.querySelector(".graphiql-response")?.innerText.includes(name),
      username,
    );
    const answer = JSON.parse(await responseText(page));
    assert.deepEqual(answer, { data: { me: { username } } });

    // The panel's token reaches the WebSocket too: subscribe, then send
    // a message over HTTP as the same user.
    const session = JSON.parse(await page.evaluate(() => localStorage.getItem("chat-playground.session")));
    const me = { token: session.token };
    const chat = await createChat(server.base, me, "graphiql chat");
    await runInGraphiQL(page, "subscription { messageCreated { body sender { username } } }");
    const shown = page.waitForFunction(
      () =>
        document
          .querySelector(".graphiql-response .CodeMirror")
          ?.CodeMirror.getValue()
          .includes("sent from the test"),
      null,
      { timeout: TIMEOUT },
    );
    await sendUntilReceived(server.base, me, chat, "sent from the test", shown);
    assert.match(await responseText(page), new RegExp(username));

    await screenshot(page, "graphiql-subscription");
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test("chat page: two users chat live, a drop resumes, a reload shows history", async () => {
  const a = await newContext();
  const b = await newContext();
  const pageA = await a.context.newPage();
  const pageB = await b.context.newPage();
  try {
    const ada = uniqueName("ada");
    const bob = uniqueName("bob");
    await pageA.goto(`${server.base}/chat`);
    await pageB.goto(`${server.base}/chat`);
    await signUpInForm(pageA, ada);
    await signUpInForm(pageB, bob);

    // Ada creates a chat and adds Bob by username.
    const title = uniqueName("room");
    await pageA.fill('[data-testid="new-chat-title"]', title);
    await pageA.click('.chat-list button[type="submit"]');
    await pageA.waitForSelector(`[data-testid="chat-title"]:text-is("${title}")`);
    await pageA.fill('[data-testid="add-member-username"]', bob);
    await pageA.click('.chat-view header button[type="submit"]');
    await pageA.waitForSelector(`[data-testid="members"]:has-text("${bob}")`);

    // Bob sees the chat appear live (his MemberJoined) and opens it.
    await pageB.click(`[data-testid="chat-item"]:has-text("${title}")`);
    await pageB.waitForSelector(`[data-testid="chat-title"]:text-is("${title}")`);
    await pageA.waitForSelector('[data-testid="feed-status"][data-state="live"]');
    await pageB.waitForSelector('[data-testid="feed-status"][data-state="live"]');

    // A message from each appears live on the other's page.
    await send(pageA, "hello from ada");
    await pageB.waitForSelector('[data-testid="message"]:has-text("hello from ada")');
    await send(pageB, "hi ada, bob here");
    await pageA.waitForSelector('[data-testid="message"]:has-text("hi ada, bob here")');

    // Bob's socket drops; a message sent meanwhile arrives when his feed
    // resumes from its last cursor, and the page says it caught up.
    await pageB.click('[data-testid="feed-status"] button');
    await pageB.waitForSelector('[data-testid="feed-status"][data-state="reconnecting"]');
    const adaToken = JSON.parse(
      await pageA.evaluate(() => localStorage.getItem("chat-playground.session")),
    ).token;
    const chatId = decodeURIComponent(new URL(pageA.url()).hash.slice(1));
    await sendMessage(server.base, { token: adaToken }, chatId, "sent while bob was away");
    await pageB.waitForSelector('[data-testid="message"]:has-text("sent while bob was away")');
    const status = await pageB.locator('[data-testid="feed-status"]').innerText();
    assert.match(status, /resumed .*1 missed event\(s\) caught up/);

    // A reload shows the history.
    await pageA.reload();
    await pageA.waitForSelector(`[data-testid="chat-title"]:text-is("${title}")`);
    const history = await pageA.locator('[data-testid="message"] .body').allInnerTexts();
    assert.deepEqual(history, ["hello from ada", "hi ada, bob here", "sent while bob was away"]);

    await screenshot(pageA, "chat-ada-after-reload");
    await screenshot(pageB, "chat-bob-resumed");
    assert.deepEqual(a.problems, []);
    assert.deepEqual(b.problems, []);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test("chat page: history pages back with a button", async () => {
  const { context, problems } = await newContext();
  const page = await context.newPage();
  try {
    const ada = await signUp(server.base, "pager");
    const chat = await createChat(server.base, ada, uniqueName("long"));
    for (let n = 1; n <= 25; n += 1) await sendMessage(server.base, ada, chat, `message ${n}`);
    await page.goto(`${server.base}/chat`);
    await page.fill('form.sign-in input[name="username"]', ada.username);
    await page.fill('form.sign-in input[name="password"]', PASSWORD);
    await page.click('form.sign-in button[name="sign-in"]');

    await page.click('[data-testid="chat-item"]');
    await page.waitForSelector('[data-testid="message"]:has-text("message 25")');
    const firstPage = await page.locator('[data-testid="message"] .body').allInnerTexts();
    await page.click('[data-testid="older"]');
    // Wait for the count, not for a text: ":has-text('message 1')" also
    // matches "message 10"–"message 19", already on the first page.
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="message"]').length >= 25,
    );
    const all = await page.locator('[data-testid="message"] .body').allInnerTexts();

    assert.equal(firstPage.length, 20);
    assert.equal(firstPage[0], "message 6");
    assert.deepEqual(all, Array.from({ length: 25 }, (_, i) => `message ${i + 1}`));
    assert.equal(await page.locator('[data-testid="older"]').count(), 0, "no older page is left");
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

async function send(page, body) {
  await page.fill('[data-testid="message-input"]', body);
  await page.click('.composer button[type="submit"]');
}

