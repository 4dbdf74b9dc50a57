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
  graphql,
  keepFresh,
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
 * origin but the server's (`target`, the main test server unless given).
 */
async function newContext(target = server) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(TIMEOUT);
  const problems = [];
  const allowed = new URL(target.base).host;
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
    await page.waitForSelector("form.sign-in");
    await screenshot(page, "chat-sign-in");
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

// ---------------------------------------------------------------------------
// Contract v2 on the chat page: edits, tombstones, replies, reactions,
// unread badges and "seen by". Each test is two users in two contexts; the
// users and their chats are made over HTTP, the rest happens in the pages.

/**
 * Runs `body` with two fresh users (Ada and Bob, signed up over HTTP), each
 * in a browser context of their own; then saves a screenshot of each page
 * as `<name>-ada.png` / `<name>-bob.png` and fails on any problem either
 * page had.
 */
async function withTwoUsers(name, body) {
  const a = await newContext();
  const b = await newContext();
  try {
    const pageA = await a.context.newPage();
    const pageB = await b.context.newPage();
    const ada = await signUp(server.base, "ada");
    const bob = await signUp(server.base, "bob");
    await body({ pageA, pageB, ada, bob });
    // (A test may have closed a page on purpose.)
    if (!pageA.isClosed()) await screenshot(pageA, `${name}-ada`);
    if (!pageB.isClosed()) await screenshot(pageB, `${name}-bob`);
    assert.deepEqual(a.problems, []);
    assert.deepEqual(b.problems, []);
  } finally {
    await a.context.close();
    await b.context.close();
  }
}

/** Opens /chat, signs in with the form, and waits for the live feed. */
async function signInPage(page, user) {
  await page.goto(`${server.base}/chat`);
  await page.fill('form.sign-in input[name="username"]', user.username);
  await page.fill('form.sign-in input[name="password"]', PASSWORD);
  await page.click('form.sign-in button[name="sign-in"]');
  await page.waitForSelector(`[data-testid="username"]:text-is("${user.username}")`);
  await page.waitForSelector('[data-testid="feed-status"][data-state="live"]');
}

/** A chat of `owner` with `others` in it from the start; its id. */
async function chatOf(owner, others, title) {
  const data = await graphql(
    server.base,
    "mutation($t: String!, $m: [ID!]) { createChat(input: { title: $t, memberIds: $m }) { id } }",
    { t: title, m: others.map((user) => user.id) },
    owner.token,
  );
  return data.createChat.id;
}

/** Clicks a chat in the list and waits for it to show. */
async function openChat(page, chatId) {
  await page.click(`[data-testid="chat-item"][data-chat-id="${chatId}"]`);
  await page.waitForSelector(`[data-testid="chat-view"][data-chat-id="${chatId}"]`);
}

/** The message whose body is exactly `body`. */
function message(page, body) {
  return page.locator('[data-testid="message"]').filter({ has: page.locator(`.body:text-is("${body}")`) });
}

/** Sends in the page, and waits until `other` shows it: both feeds work. */
async function exchange(page, other, body) {
  await send(page, body);
  await message(other, body).waitFor();
}

/** Hovers a message and clicks one of its actions (reply, react, edit, delete). */
async function act(page, body, action) {
  const item = message(page, body);
  await item.hover();
  await item.locator(`[data-testid="${action}-action"]`).click();
}

/** Polls `read` until it gives `expected` (compared as JSON), for `timeout` ms at most. */
async function until(read, expected, what, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout;
  let seen;
  for (;;) {
    seen = await read();
    if (JSON.stringify(seen) === JSON.stringify(expected)) return;
    if (Date.now() > deadline) {
      throw new Error(`${what}: expected ${JSON.stringify(expected)}, still ${JSON.stringify(seen)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A message's reaction chips as the page shows them: `{ emoji: [count, mine] }`. */
async function chips(page, body) {
  return message(page, body)
    .locator('[data-testid="reaction"]')
    .evaluateAll((nodes) =>
      Object.fromEntries(
        nodes.map((n) => [
          n.dataset.emoji,
          [Number(n.querySelector('[data-testid="reaction-count"]').textContent), n.dataset.mine === "true"],
        ]),
      ),
    );
}

/** The unread badge of a chat in the list ("" when there is none). */
async function badge(page, chatId) {
  const item = page.locator(`[data-testid="chat-item"][data-chat-id="${chatId}"]`);
  await item.waitFor();
  const shown = item.locator('[data-testid="unread-badge"]');
  return (await shown.count()) ? shown.innerText() : "";
}

test("chat page v2: an edit reaches the other user live, with its edited mark", async () => {
  await withTwoUsers("chat-edit", async ({ pageA, pageB, ada, bob }) => {
    const chat = await chatOf(ada, [bob], uniqueName("edits"));
    await signInPage(pageA, ada);
    await signInPage(pageB, bob);
    await openChat(pageA, chat);
    await openChat(pageB, chat);
    await exchange(pageB, pageA, "morning ada");
    await exchange(pageA, pageB, "helo bob, typo here");

    // Only the sender is offered edit and delete.
    await message(pageB, "helo bob, typo here").hover();
    assert.equal(await message(pageB, "helo bob, typo here").locator('[data-testid="edit-action"]').count(), 0);
    assert.equal(await message(pageB, "helo bob, typo here").locator('[data-testid="delete-action"]').count(), 0);
    assert.equal(await message(pageA, "morning ada").locator('[data-testid="edit-action"]').count(), 0);

    // Ada edits inline; Enter saves.
    await act(pageA, "helo bob, typo here", "edit");
    await pageA.fill('[data-testid="edit-input"]', "hello bob, fixed");
    await screenshot(pageA, "chat-edit-ada-editing");
    await pageA.press('[data-testid="edit-input"]', "Enter");
    await message(pageA, "hello bob, fixed").locator('[data-testid="edited"]').waitFor();

    // Bob sees the new body and the mark without reloading.
    await message(pageB, "hello bob, fixed").locator('[data-testid="edited"]').waitFor();
    assert.equal(await message(pageB, "helo bob, typo here").count(), 0);
    assert.equal(await message(pageB, "morning ada").locator('[data-testid="edited"]').count(), 0);
    // The list's last message follows the edit too.
    await pageB.waitForSelector(`[data-testid="chat-item"][data-chat-id="${chat}"]:has-text("hello bob, fixed")`);
  });
});

test("chat page v2: a deleted message stays in place as a tombstone for both", async () => {
  await withTwoUsers("chat-delete", async ({ pageA, pageB, ada, bob }) => {
    const chat = await chatOf(ada, [bob], uniqueName("deletes"));
    await signInPage(pageA, ada);
    await signInPage(pageB, bob);
    await openChat(pageA, chat);
    await openChat(pageB, chat);
    await exchange(pageA, pageB, "first");
    await exchange(pageA, pageB, "oops, wrong chat");
    await exchange(pageB, pageA, "third");

    await act(pageA, "oops, wrong chat", "delete");
    await pageA.waitForSelector('[data-testid="confirm-delete"]');
    await screenshot(pageA, "chat-delete-ada-confirming");
    await pageA.click('[data-testid="confirm-delete"]');

    const tombstones = (page) =>
      page.locator('[data-testid="message"][data-deleted="true"] .body').allInnerTexts();
    await until(() => tombstones(pageB), ["message deleted"], "Bob's tombstones");
    await until(() => tombstones(pageA), ["message deleted"], "Ada's tombstones");
    // It keeps its place between the other two, with its sender.
    const bodies = await pageB.locator('[data-testid="message"] .body').allInnerTexts();
    assert.deepEqual(bodies, ["first", "message deleted", "third"]);
    const senders = await pageB.locator('[data-testid="message"] [data-testid="sender"]').allInnerTexts();
    assert.deepEqual(senders, [ada.username, ada.username, "You"]);
    assert.equal(await pageB.locator('[data-testid="message"]:has-text("oops, wrong chat")').count(), 0);

    // A reload shows the same tombstone from history.
    await pageB.reload();
    await pageB.waitForSelector(`[data-testid="chat-view"][data-chat-id="${chat}"]`);
    await until(() => tombstones(pageB), ["message deleted"], "Bob's tombstones after a reload");
  });
});

test("chat page v2: a reply quotes its message for both users, and the quote follows a delete", async () => {
  await withTwoUsers("chat-reply", async ({ pageA, pageB, ada, bob }) => {
    const chat = await chatOf(ada, [bob], uniqueName("replies"));
    await signInPage(pageA, ada);
    await signInPage(pageB, bob);
    await openChat(pageA, chat);
    await openChat(pageB, chat);
    await exchange(pageA, pageB, "lunch at noon?");
    await exchange(pageB, pageA, "where shall we meet?");

    // Choosing reply shows the bar; cancelling it drops the reply.
    await act(pageA, "where shall we meet?", "reply");
    const bar = pageA.locator('[data-testid="replying-to"]');
    assert.match(await bar.innerText(), new RegExp(`Replying to ${bob.username}`));
    await pageA.click('[data-testid="cancel-reply"]');
    assert.equal(await bar.count(), 0);

    await act(pageA, "where shall we meet?", "reply");
    await pageA.fill('[data-testid="message-input"]', "at the fountain");
    await screenshot(pageA, "chat-reply-ada-composing");
    await exchange(pageA, pageB, "at the fountain");
    assert.equal(await bar.count(), 0, "the bar goes once the reply is sent");

    for (const page of [pageA, pageB]) {
      const quote = message(page, "at the fountain").locator('[data-testid="reply-quote"]');
      await quote.waitFor();
      assert.equal(await quote.locator(".quote-sender").innerText(), bob.username);
      assert.equal(await quote.locator(".quote-text").innerText(), "where shall we meet?");
    }
    assert.equal(await message(pageB, "lunch at noon?").locator('[data-testid="reply-quote"]').count(), 0);

    // Bob deletes the question: the quote now says it was deleted, live.
    await act(pageB, "where shall we meet?", "delete");
    await pageB.click('[data-testid="confirm-delete"]');
    for (const page of [pageA, pageB]) {
      const quoteText = message(page, "at the fountain").locator('[data-testid="reply-quote"] .quote-text');
      await until(() => quoteText.innerText(), "message deleted", "the quote of a deleted message");
    }
  });
});

test("chat page v2: reactions count live, and each user sees their own highlighted", async () => {
  await withTwoUsers("chat-react", async ({ pageA, pageB, ada, bob }) => {
    const chat = await chatOf(ada, [bob], uniqueName("reactions"));
    await signInPage(pageA, ada);
    await signInPage(pageB, bob);
    await openChat(pageA, chat);
    await openChat(pageB, chat);
    await exchange(pageB, pageA, "ready when you are");
    await exchange(pageA, pageB, "shipped the release 🚀");
    const body = "shipped the release 🚀";

    // Bob reacts with the picker.
    await act(pageB, body, "react");
    await pageB.waitForSelector('[data-testid="emoji-picker"]');
    await screenshot(pageB, "chat-react-bob-picking");
    await pageB.click('[data-testid="emoji-picker"] [data-testid="emoji-option"][data-emoji="👍"]');
    await until(() => chips(pageB, body), { "👍": [1, true] }, "Bob's chips after his 👍");
    await until(() => chips(pageA, body), { "👍": [1, false] }, "Ada's chips after Bob's 👍");

    // Ada clicks the chip to join in; then adds another emoji.
    await message(pageA, body).locator('[data-testid="reaction"][data-emoji="👍"]').click();
    await until(() => chips(pageA, body), { "👍": [2, true] }, "Ada's chips after her 👍");
    await until(() => chips(pageB, body), { "👍": [2, true] }, "Bob's chips after Ada's 👍");
    await act(pageA, body, "react");
    await pageA.click('[data-testid="emoji-picker"] [data-testid="emoji-option"][data-emoji="🎉"]');
    await until(() => chips(pageB, body), { "👍": [2, true], "🎉": [1, false] }, "Bob's chips after Ada's 🎉");

    // Bob takes his 👍 back with a click on the chip.
    await message(pageB, body).locator('[data-testid="reaction"][data-emoji="👍"]').click();
    await until(() => chips(pageB, body), { "👍": [1, false], "🎉": [1, false] }, "Bob's chips after taking his back");
    await until(() => chips(pageA, body), { "👍": [1, true], "🎉": [1, true] }, "Ada's chips after Bob took his back");
    // Bob's highlighted chips differ from Ada's: give his a 🎉 for the screenshots.
    await message(pageB, body).locator('[data-testid="reaction"][data-emoji="🎉"]').click();
    await until(() => chips(pageA, body), { "👍": [1, true], "🎉": [2, true] }, "Ada's chips at the end");
    await until(() => chips(pageB, body), { "👍": [1, false], "🎉": [2, true] }, "Bob's chips at the end");
  });
});

test("chat page v2: an unread badge appears for a chat not open, and clears when it is opened", async () => {
  await withTwoUsers("chat-unread", async ({ pageA, pageB, ada, bob }) => {
    const here = await chatOf(ada, [bob], uniqueName("here"));
    const elsewhere = await chatOf(ada, [bob], uniqueName("elsewhere"));
    await signInPage(pageA, ada);
    await signInPage(pageB, bob);
    await openChat(pageA, here);
    await openChat(pageB, here);
    await exchange(pageA, pageB, "in the open chat");
    assert.equal(await badge(pageB, here), "", "the open chat has no badge");

    // Two messages in the chat Bob does not have open.
    await sendMessage(server.base, ada, elsewhere, "psst");
    await sendMessage(server.base, ada, elsewhere, "over here");
    await until(() => badge(pageB, elsewhere), "2", "Bob's badge for the other chat");
    await screenshot(pageB, "chat-unread-bob-badge");
    assert.equal(await badge(pageB, here), "");
    assert.equal(await badge(pageA, elsewhere), "", "no badge for one's own messages");

    // The count is the server's: a reload shows it again.
    await pageB.reload();
    await pageB.waitForSelector(`[data-testid="chat-view"][data-chat-id="${here}"]`);
    await until(() => badge(pageB, elsewhere), "2", "Bob's badge after a reload");

    // Opening the chat reads it: the badge goes, and stays gone.
    await openChat(pageB, elsewhere);
    await message(pageB, "over here").waitFor();
    await until(() => badge(pageB, elsewhere), "", "Bob's badge once the chat is open");
    await openChat(pageB, here);
    await pageB.waitForTimeout(300);
    assert.equal(await badge(pageB, elsewhere), "", "no badge after leaving the chat read");
    await pageB.reload();
    await pageB.waitForSelector(`[data-testid="chat-view"][data-chat-id="${here}"]`);
    assert.equal(await badge(pageB, elsewhere), "", "no badge after a reload");
    await pageB.hover(`[data-testid="chat-item"][data-chat-id="${elsewhere}"]`);
  });
});

test("chat page v2: 'Seen by' shows under your last message once the other opens the chat", async () => {
  await withTwoUsers("chat-seen", async ({ pageA, pageB, ada, bob }) => {
    const chat = await chatOf(ada, [bob], uniqueName("receipts"));
    const other = await chatOf(bob, [], uniqueName("bob alone"));
    await signInPage(pageA, ada);
    await signInPage(pageB, bob);
    await openChat(pageA, chat);
    await openChat(pageB, other);

    // Bob writes first (sending puts his read position at his message),
    // then goes elsewhere; Ada answers.
    await openChat(pageB, chat);
    await exchange(pageB, pageA, "are you around?");
    await openChat(pageB, other);
    await send(pageA, "yes, here now");
    await message(pageA, "yes, here now").waitFor();
    await until(() => badge(pageB, chat), "1", "Bob's badge for Ada's answer");
    const seen = (page) => page.locator('[data-testid="seen-by"]').allInnerTexts();
    assert.deepEqual(await seen(pageA), [], "Bob has not seen Ada's answer yet");

    // Bob opens the chat: Ada sees him under her last message, live.
    await openChat(pageB, chat);
    await message(pageB, "yes, here now").waitFor();
    await until(() => seen(pageA), [`Seen by ${bob.username}`], "Ada's seen-by");
    const under = message(pageA, "yes, here now").locator('[data-testid="seen-by"]');
    assert.equal(await under.count(), 1, "the mark is under Ada's last message");
    // And Bob sees that Ada has read his.
    await until(() => seen(pageB), [`Seen by ${ada.username}`], "Bob's seen-by");

    // A new message from Ada is not seen until Bob's page reads it (at once:
    // he has the chat open).
    await send(pageA, "see you at 3");
    await message(pageB, "see you at 3").waitFor();
    await until(
      async () => message(pageA, "see you at 3").locator('[data-testid="seen-by"]').allInnerTexts(),
      [`Seen by ${bob.username}`],
      "seen-by moves to Ada's newest message",
    );
  });
});

test("chat page v2: leaving a chat takes it off the list; the others see the member go", async () => {
  await withTwoUsers("chat-leave", async ({ pageA, pageB, ada, bob }) => {
    const chat = await chatOf(ada, [bob], uniqueName("leaving"));
    await signInPage(pageA, ada);
    await signInPage(pageB, bob);
    await openChat(pageA, chat);
    await openChat(pageB, chat);
    await exchange(pageB, pageA, "bye all");
    await pageB.click('[data-testid="leave-chat"]');
    await pageB.waitForSelector(`[data-testid="chat-item"][data-chat-id="${chat}"]`, { state: "detached" });
    await until(
      () => pageA.locator('[data-testid="members"]').innerText(),
      `${ada.username} (you)`,
      "Ada's member list",
    );
  });
});

// ---------------------------------------------------------------------------
// Typing and presence on the chat page: "… is typing" above the composer,
// and an online dot next to each member's name.

/** Every `setTyping` the page sends, as its `typing` argument, in order. */
function recordSetTyping(page) {
  const calls = [];
  page.on("request", (request) => {
    if (!request.url().endsWith("/graphql")) return;
    const sent = request.postData() ?? "";
    if (sent.includes("setTyping")) calls.push(JSON.parse(sent).variables.typing);
  });
  return calls;
}

/** A member's online dot in the open chat's header: `{ state, title, label }`. */
async function dot(page, userId) {
  const shown = page.locator(`[data-testid="member"][data-user-id="${userId}"] [data-testid="presence-dot"]`);
  await shown.waitFor();
  const [state, title, label] = await Promise.all(
    ["data-state", "title", "aria-label"].map((name) => shown.getAttribute(name)),
  );
  return { state, title, label };
}

test("chat page: '… is typing' shows for the other user while they type, lapses when they stop, and goes at once when they send or clear", async (t) => {
  await withTwoUsers("chat-typing", async ({ pageA, pageB, ada, bob }) => {
    const chat = await chatOf(ada, [bob], uniqueName("typing"));
    await signInPage(pageA, ada);
    await signInPage(pageB, bob);
    await openChat(pageA, chat);
    await openChat(pageB, chat);
    await exchange(pageA, pageB, "hello bob");
    const calls = recordSetTyping(pageA);
    const line = pageB.locator('[data-testid="typing-indicator"]');
    const shown = () => line.innerText();
    const typing = `${ada.username} is typing…`;
    assert.equal(await line.getAttribute("role"), "status");
    assert.equal(await line.getAttribute("aria-live"), "polite");
    assert.equal(await shown(), "", "no one is typing yet");

    // Ada types for eight seconds, longer than one `true` lasts (6 s): her
    // page renews it, at most once every 2.5 s, and Bob sees her typing
    // all along. Ada never sees herself.
    const input = pageA.locator('[data-testid="message-input"]');
    await input.click();
    const started = Date.now();
    let seenAt = null;
    const typingDone = input.pressSequentially("x".repeat(80), { delay: 100 });
    await until(shown, typing, "Bob's typing line once Ada types", 5_000);
    seenAt = Date.now() - started;
    await screenshot(pageB, "chat-typing-bob-sees-ada");
    while (Date.now() - started < 7_500) {
      assert.equal(await shown(), typing, `Bob's line ${Date.now() - started} ms into Ada's typing`);
      await pageB.waitForTimeout(250);
    }
    await typingDone;
    const stopped = Date.now();
    assert.equal(await pageA.locator('[data-testid="typing-indicator"]').innerText(), "");
    assert.ok(calls.length >= 3 && calls.length <= 5, `setTyping calls while typing 8 s: ${JSON.stringify(calls)}`);
    assert.ok(calls.every((typing) => typing === true), JSON.stringify(calls));

    // She stops, the text still in the box and the box still focused: no
    // `false` is sent, and the server lets her `true` lapse (2.5-6 s after
    // her last keystroke).
    await pageB.waitForTimeout(2_000 - (Date.now() - stopped));
    assert.equal(await shown(), typing, "Bob's line 2 s after Ada's last keystroke");
    await until(shown, "", "Bob's line after Ada stopped typing", 10_000 - (Date.now() - stopped));
    const lapsedAfter = Date.now() - stopped;
    assert.equal(await line.getAttribute("data-count"), "0");
    assert.ok(!calls.includes(false), `no false was sent: ${JSON.stringify(calls)}`);

    // She types again and sends with Enter: sending ends it on the server,
    // at once, and the page sends no `false` of its own.
    await input.pressSequentially(" and now I send", { delay: 60 });
    await until(shown, typing, "Bob's line as Ada types again", 5_000);
    const sentAt = Date.now();
    await input.press("Enter");
    await until(shown, "", "Bob's line once Ada sent", 1_500);
    const goneAfterSend = Date.now() - sentAt;
    await message(pageB, `${"x".repeat(80)} and now I send`).waitFor();
    assert.ok(!calls.includes(false), `sending sent no false: ${JSON.stringify(calls)}`);

    // Clearing the box ends it at once too (with a `false`), and so does
    // leaving the box.
    await input.pressSequentially("hmm", { delay: 60 });
    await until(shown, typing, "Bob's line as Ada types a third time", 5_000);
    await input.fill("");
    await until(shown, "", "Bob's line once Ada cleared the box", 1_500);
    assert.equal(calls.at(-1), false, `clearing sent false: ${JSON.stringify(calls)}`);
    await input.pressSequentially("one more", { delay: 60 });
    await until(shown, typing, "Bob's line as Ada types a fourth time", 5_000);
    await pageA.locator('[data-testid="messages"]').click();
    await until(shown, "", "Bob's line once Ada left the box", 1_500);
    assert.equal(calls.at(-1), false, `leaving the box sent false: ${JSON.stringify(calls)}`);
    assert.equal(await pageA.locator(".error-banner").count(), 0);
    t.diagnostic(
      `typing seen after ${seenAt} ms; lapsed ${lapsedAfter} ms after the last keystroke; ` +
        `gone ${goneAfterSend} ms after sending; setTyping calls: ${JSON.stringify(calls)}`,
    );
  });
});

test("chat page: two others typing read 'A and B are typing…', in the order they started", async () => {
  await withTwoUsers("chat-typing-two", async ({ pageA, pageB, ada, bob }) => {
    const cy = await signUp(server.base, "cy");
    const chat = await chatOf(ada, [bob, cy], uniqueName("typing two"));
    await signInPage(pageA, ada);
    await signInPage(pageB, bob);
    await openChat(pageA, chat);
    await openChat(pageB, chat);
    const shown = () => pageB.locator('[data-testid="typing-indicator"]').innerText();
    // Cy types over HTTP first, then Ada in her page.
    const typingAsCy = (typing) =>
      graphql(server.base, "mutation($c: ID!, $t: Boolean!) { setTyping(chatId: $c, typing: $t) }", { c: chat, t: typing }, cy.token);
    await typingAsCy(true);
    await until(shown, `${cy.username} is typing…`, "Bob's line with Cy typing", 5_000);
    await pageA.locator('[data-testid="message-input"]').pressSequentially("hi all", { delay: 60 });
    await until(shown, `${cy.username} and ${ada.username} are typing…`, "Bob's line with both typing", 5_000);
    await screenshot(pageB, "chat-typing-two-bob");
    await typingAsCy(false);
    await until(shown, `${ada.username} is typing…`, "Bob's line once Cy stopped", 1_500);
  });
});

test("chat page: members' online dots follow their connections", async (t) => {
  await withTwoUsers("chat-presence", async ({ pageA, pageB, ada, bob }) => {
    // Cy is a member who never connects; Ada shares no chat with Bob yet.
    const cy = await signUp(server.base, "cy");
    const chat = await chatOf(bob, [cy], uniqueName("presence"));
    await signInPage(pageA, ada);
    await signInPage(pageB, bob);
    await openChat(pageB, chat);
    await until(() => dot(pageB, bob.id), { state: "online", title: "online", label: "online" }, "Bob's own dot");
    await until(() => dot(pageB, cy.id), { state: "offline", title: "offline", label: "offline" }, "Cy's dot");

    // Bob adds Ada: the member list changes, the page asks again for the
    // new set, and Ada (connected) is online.
    await pageB.fill('[data-testid="add-member-username"]', ada.username);
    await pageB.click('.chat-view header button[type="submit"]');
    await until(() => dot(pageB, ada.id), { state: "online", title: "online", label: "online" }, "Ada's dot once added");
    await screenshot(pageB, "chat-presence-bob-ada-online");

    // Ada closes her page, and with it her only socket: offline, with
    // when she was last seen.
    await pageA.close();
    const closedAt = Date.now();
    await until(async () => (await dot(pageB, ada.id)).state, "offline", "Ada's dot after she left", 6_000);
    const offlineAfter = Date.now() - closedAt;
    const { title, label } = await dot(pageB, ada.id);
    assert.match(label, /^last seen \S/);
    assert.match(title, /^last seen \S/);
    assert.equal((await dot(pageB, cy.id)).state, "offline");
    assert.equal((await dot(pageB, bob.id)).state, "online");
    t.diagnostic(`Ada offline on Bob's page ${offlineAfter} ms after her page closed (${title})`);
  });
});

// ---------------------------------------------------------------------------
// Sessions: short-lived access tokens renewed by the page, and sign-out.

/** The session the page keeps in its storage: `{ token, expiresAt, refreshToken, ... }`. */
async function storedSession(page) {
  return JSON.parse(await page.evaluate(() => localStorage.getItem("chat-playground.session")));
}

/** The GraphQL error code an operation is answered with (`null` when it succeeds). */
async function errorCode(base, query, variables, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${base}/graphql`, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  return body.errors?.[0]?.extensions?.code ?? null;
}

const ME = "{ me { id } }";
const REFRESH = "mutation($r: String!) { refreshSession(refreshToken: $r) { token } }";

/** Records, from now on, whether the page ever shows the sign-in form, and each feed state it shows. */
async function watchPage(page) {
  await page.evaluate(() => {
    window.__seen = { signIn: false, states: [] };
    const look = () => {
      if (document.querySelector("form.sign-in")) window.__seen.signIn = true;
      const state = document.querySelector('[data-testid="feed-status"]')?.dataset.state;
      if (state && window.__seen.states.at(-1) !== state) window.__seen.states.push(state);
    };
    new MutationObserver(look).observe(document.body, { childList: true, subtree: true, attributes: true });
    look();
  });
  return () => page.evaluate(() => window.__seen);
}

// Access tokens live 3 s here (the server floors their issue time to the
// second, so 2–3 s in practice); the per-session refresh limit is off, as a
// page renews every couple of seconds at that lifetime.
const TTL_SECS = 3;
let shortLived;

before(async () => {
  shortLived = await startServer({ TOKEN_TTL_SECS: String(TTL_SECS), RATE_REFRESH_SESSION: "off" });
});

after(async () => {
  await shortLived?.stop();
});

test("sessions: the chat page renews its token across expiries; the feed misses nothing and doubles nothing", async (t) => {
  const { context, problems } = await newContext(shortLived);
  const page = await context.newPage();
  const base = shortLived.base;
  // Everything the page asks the server, and any refusal it gets back.
  const refreshes = [];
  const refused = [];
  // Per socket: the `after` it subscribed with, and the cursor of the last
  // event any socket had received by then.
  const sockets = [];
  let latest = null;
  let onSocketClosed = () => {};
  page.on("websocket", (socket) => {
    const seen = { after: undefined, latest: undefined };
    sockets.push(seen);
    // (The socket carries the open chat's typing and presence subscriptions
    // too; only the feed's frames count here.)
    socket.on("framesent", ({ payload }) => {
      const frame = JSON.parse(String(payload));
      if (frame.type === "subscribe" && frame.payload.query.includes("chatEvents")) {
        Object.assign(seen, { after: frame.payload.variables.after, latest });
      }
    });
    socket.on("framereceived", ({ payload }) => {
      const frame = JSON.parse(String(payload));
      if (frame.type === "next" && frame.payload.data?.chatEvents) latest = frame.payload.data.chatEvents.cursor;
    });
    socket.on("close", () => onSocketClosed());
  });
  page.on("response", async (response) => {
    if (!response.url().endsWith("/graphql")) return;
    const sent = response.request().postData() ?? "";
    const answer = await response.text().catch(() => "");
    if (sent.includes("refreshSession")) refreshes.push(Date.now());
    if (answer.includes(`"code":"UNAUTHENTICATED"`)) refused.push(`${sent.slice(0, 60)} → ${answer.slice(0, 120)}`);
  });
  try {
    const ada = await signUp(base, "ada");
    const bob = await signUp(base, "bob");
    const chat = (
      await graphql(
        base,
        "mutation($t: String!, $m: [ID!]) { createChat(input: { title: $t, memberIds: $m }) { id } }",
        { t: uniqueName("expiring"), m: [ada.id] },
        bob.token,
      )
    ).createChat.id;
    // Bob talks over HTTP, renewing his own pair the same way.
    const bobFresh = keepFresh(base, bob);
    const sent = [];
    const say = async (body) => {
      await sendMessage(base, await bobFresh(), chat, body);
      sent.push(body);
    };
    const shown = () => page.locator('[data-testid="message"] .body').allInnerTexts();

    await page.goto(`${base}/chat`);
    await page.fill('form.sign-in input[name="username"]', ada.username);
    await page.fill('form.sign-in input[name="password"]', PASSWORD);
    await page.click('form.sign-in button[name="sign-in"]');
    await page.waitForSelector(`[data-testid="username"]:text-is("${ada.username}")`);
    await page.waitForSelector('[data-testid="feed-status"][data-state="live"]');
    const seen = await watchPage(page);
    const first = await storedSession(page);
    assert.ok(first.token && first.refreshToken && first.expiresAt, "the page keeps the whole pair");
    await openChat(page, chat);

    // Before any expiry.
    for (let n = 1; n <= 3; n += 1) await say(`before ${n}`);
    await until(shown, sent, "the messages sent before any expiry");

    // Through five lifetimes: a message every 300 ms, so some land while
    // the page refreshes, and one each time the server closes its socket
    // (the token it was opened with expired), to land while it reconnects.
    // Ada writes too.
    const gaps = [];
    onSocketClosed = () => gaps.push(say(`gap ${gaps.length + 1}`));
    const start = Date.now();
    let n = 0;
    while (Date.now() - start < 5 * TTL_SECS * 1000) {
      n += 1;
      await say(`during ${n}`);
      if (n === 20) {
        await send(page, "ada, mid-way");
        await message(page, "ada, mid-way").waitFor();
        sent.push("ada, mid-way");
      }
      await new Promise((r) => setTimeout(r, 300));
    }

    onSocketClosed = () => {};
    await Promise.all(gaps);

    // After: the page still shows each message once, in order.
    for (let k = 1; k <= 3; k += 1) await say(`after ${k}`);
    const history = async () =>
      (
        await graphql(
          base,
          "query($c: ID!) { chat(id: $c) { messages(last: 100) { edges { node { body } } } } }",
          { c: chat },
          (await bobFresh()).token,
        )
      ).chat.messages.edges.map((edge) => edge.node.body);
    const expected = await history();
    assert.equal(expected.length, sent.length, "the server has every message once");
    assert.deepEqual([...expected].sort(), [...sent].sort());
    await until(shown, expected, "the page's messages after five expiries");
    // Nothing arrives twice later either (say, a replay after a reconnect).
    await page.waitForTimeout(TTL_SECS * 1000);
    assert.deepEqual(await shown(), expected);

    const last = await storedSession(page);
    const watched = await seen();
    assert.notEqual(last.refreshToken, first.refreshToken, "the stored pair was renewed");
    t.diagnostic(
      `${refreshes.length} refreshes, ${sockets.length} sockets, ${gaps.length} messages sent on a close; ` +
        `feed states: ${watched.states.join(" → ")}`,
    );
    assert.ok(refreshes.length >= 5, `refreshed ${refreshes.length} times`);
    assert.ok(sockets.length >= 5, `the feed reconnected after each expiry (${sockets.length} sockets)`);
    // Each new socket resumed after the last event the page had received.
    sockets.forEach(({ after, latest }, k) => assert.equal(after, latest, `socket ${k + 1} resumes after the last event`));
    assert.deepEqual(refused, [], "no request went out with a refused token");
    assert.equal(watched.signIn, false, "the sign-in screen never came back");
    assert.ok(!watched.states.includes("reconnecting"), `feed states: ${watched.states.join(" → ")}`);
    assert.equal(await page.locator(".error-banner").count(), 0);
    assert.equal(await errorCode(base, ME, {}, last.token), null, "the page's current token works");
    await page.locator('[data-testid="feed-status"][data-state="live"]').waitFor();
    await screenshot(page, "session-renewed-chat");
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test("sessions: 'Sign out' ends that browser's session only; 'Sign out everywhere' ends them all", async () => {
  const a = await newContext();
  const b = await newContext();
  const pageA = await a.context.newPage();
  const pageB = await b.context.newPage();
  try {
    const ada = await signUp(server.base, "ada");
    const chat = await chatOf(ada, [], uniqueName("two devices"));
    await signInPage(pageA, ada);
    await signInPage(pageB, ada);
    await openChat(pageB, chat);
    const sessionA = await storedSession(pageA);
    const sessionB = await storedSession(pageB);
    assert.notEqual(sessionA.refreshToken, sessionB.refreshToken, "two sign-ins, two sessions");

    await pageA.click('[data-testid="sign-out"]');
    await pageA.waitForSelector("form.sign-in");
    assert.equal(await pageA.evaluate(() => localStorage.getItem("chat-playground.session")), null);
    assert.equal(await errorCode(server.base, ME, {}, sessionA.token), "UNAUTHENTICATED", "A's token is refused");
    assert.equal(
      await errorCode(server.base, REFRESH, { r: sessionA.refreshToken }),
      "UNAUTHENTICATED",
      "A's refresh token is refused",
    );
    await screenshot(pageA, "session-signed-out");

    // B's session lives on: its token works, and its feed still delivers.
    assert.equal(await errorCode(server.base, ME, {}, sessionB.token), null, "B's token still works");
    await sendMessage(server.base, ada, chat, "still here on B");
    await message(pageB, "still here on B").waitFor();
    assert.equal(await pageB.locator('[data-testid="feed-status"]').getAttribute("data-state"), "live");

    // "Sign out everywhere" on B ends B's session and the one made over HTTP.
    await pageB.click('[data-testid="sign-out-everywhere"]');
    await pageB.waitForSelector("form.sign-in");
    assert.equal(await errorCode(server.base, ME, {}, sessionB.token), "UNAUTHENTICATED", "B's token is refused");
    assert.equal(await errorCode(server.base, ME, {}, ada.token), "UNAUTHENTICATED", "the HTTP session's too");
    await screenshot(pageB, "session-signed-out-everywhere");
    assert.deepEqual(a.problems, []);
    assert.deepEqual(b.problems, []);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test("sessions: a session ended elsewhere takes the page to the sign-in screen", async () => {
  const { context, problems } = await newContext();
  const page = await context.newPage();
  try {
    const ada = await signUp(server.base, "ada");
    await signInPage(page, ada);
    const stored = await storedSession(page);
    // Elsewhere (another session of Ada's), every session is ended: the
    // page's socket is closed with 4403, its refresh is refused, and it
    // signs out cleanly.
    await graphql(server.base, "mutation { signOutEverywhere }", {}, ada.token);
    await page.waitForSelector("form.sign-in");
    assert.equal(await page.evaluate(() => localStorage.getItem("chat-playground.session")), null);
    assert.equal(await errorCode(server.base, REFRESH, { r: stored.refreshToken }), "UNAUTHENTICATED");
    await screenshot(page, "session-ended-elsewhere");
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test("sessions: GraphiQL's panel renews its token too", async () => {
  const { context, problems } = await newContext(shortLived);
  const page = await context.newPage();
  try {
    await page.goto(`${shortLived.base}/`);
    await page.waitForSelector(".graphiql-query-editor .CodeMirror");
    const username = uniqueName("graphiql");
    await signUpInForm(page, username);
    const first = await storedSession(page);
    // Past two lifetimes, a query still runs as the panel's user.
    await page.waitForTimeout(2 * TTL_SECS * 1000 + 500);
    await runInGraphiQL(page, "{ me { username } }");
    await page.waitForFunction(
      (name) => document.querySelector(".graphiql-response")?.innerText.includes(name),
      username,
    );
    assert.deepEqual(JSON.parse(await responseText(page)), { data: { me: { username } } });
    assert.notEqual((await storedSession(page)).refreshToken, first.refreshToken);
    await screenshot(page, "session-graphiql-renewed");
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test("sessions: a page opened after the stored token expired renews it before anything else", async () => {
  const { context, problems } = await newContext(shortLived);
  const refused = [];
  context.on("response", async (response) => {
    if (!response.url().endsWith("/graphql")) return;
    if ((await response.text().catch(() => "")).includes(`"code":"UNAUTHENTICATED"`)) refused.push(response.request().postData());
  });
  try {
    const ada = await signUp(shortLived.base, "ada");
    let page = await context.newPage();
    await page.goto(`${shortLived.base}/chat`);
    await page.fill('form.sign-in input[name="username"]', ada.username);
    await page.fill('form.sign-in input[name="password"]', PASSWORD);
    await page.click('form.sign-in button[name="sign-in"]');
    await page.waitForSelector('[data-testid="feed-status"][data-state="live"]');
    const stored = await storedSession(page);
    await page.close();

    // Nobody renews the pair while no page is open: its access token expires.
    await new Promise((r) => setTimeout(r, 2 * TTL_SECS * 1000));
    assert.equal(await errorCode(shortLived.base, ME, {}, stored.token), "UNAUTHENTICATED");

    page = await context.newPage();
    await page.goto(`${shortLived.base}/chat`);
    await page.waitForSelector(`[data-testid="username"]:text-is("${ada.username}")`);
    await page.waitForSelector('[data-testid="feed-status"][data-state="live"]');
    assert.equal(await page.locator("form.sign-in").count(), 0);
    assert.notEqual((await storedSession(page)).refreshToken, stored.refreshToken);
    assert.deepEqual(refused, [], "the expired token was never sent");
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test("sessions: two tabs sharing one stored pair renew it without ever presenting a used refresh token", async (t) => {
  const { context, problems } = await newContext(shortLived);
  const refused = [];
  // The refresh tokens the tabs present, in order.
  const presented = [];
  context.on("response", async (response) => {
    if (!response.url().endsWith("/graphql")) return;
    const sent = response.request().postData() ?? "";
    if (sent.includes("refreshSession")) presented.push(JSON.parse(sent).variables.refreshToken);
    if ((await response.text().catch(() => "")).includes(`"code":"UNAUTHENTICATED"`)) refused.push(response.request().postData());
  });
  try {
    const ada = await signUp(shortLived.base, "ada");
    const chatPage = await context.newPage();
    await chatPage.goto(`${shortLived.base}/chat`);
    await chatPage.fill('form.sign-in input[name="username"]', ada.username);
    await chatPage.fill('form.sign-in input[name="password"]', PASSWORD);
    await chatPage.click('form.sign-in button[name="sign-in"]');
    await chatPage.waitForSelector('[data-testid="feed-status"][data-state="live"]');
    const graphiqlPage = await context.newPage();
    await graphiqlPage.goto(`${shortLived.base}/`);
    await graphiqlPage.waitForSelector(`[data-testid="username"]:text-is("${ada.username}")`);
    const watchChat = await watchPage(chatPage);

    // Both tabs schedule the same renewal; a second refresh with the same
    // token would end the session and show the sign-in form.
    await new Promise((r) => setTimeout(r, 4 * TTL_SECS * 1000));
    // (Read one after the other, the two may straddle a refresh: ask again.)
    await until(
      async () => (await storedSession(chatPage)).refreshToken === (await storedSession(graphiqlPage)).refreshToken,
      true,
      "both tabs hold the same pair",
    );
    const one = await storedSession(chatPage);
    assert.equal(await errorCode(shortLived.base, ME, {}, one.token), null, "the shared session is alive");
    assert.equal((await watchChat()).signIn, false);
    assert.equal(await graphiqlPage.locator("form.sign-in").count(), 0);
    t.diagnostic(`${presented.length} refreshes by the two tabs in ${4 * TTL_SECS} s`);
    assert.ok(presented.length >= 4, "the pair was renewed through four lifetimes");
    assert.equal(new Set(presented).size, presented.length, "no refresh token was presented twice");
    assert.deepEqual(refused, []);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

// ---------------------------------------------------------------------------
// GraphQL over SSE in the browser: a plain EventSource on GET
// /graphql/stream with a stream token, through a TCP proxy that can cut
// its connections. (Its import is here, with its tests.)
import { createServer as createTcpServer, connect as tcpConnect } from "node:net";

const STREAM_MESSAGES = "subscription($c: ID) { messageCreated(chatId: $c) { id body cursor } }";

test("EventSource: cut mid-stream, the browser reconnects by itself with Last-Event-ID; every message arrives once, in order", async () => {
  const run = await eventSourceAcrossACut();
  try {
    const { sent, received, requests } = run;
    // Every message, each once, in order, each with its cursor as the event id.
    assert.deepEqual(
      received.map((event) => event.data.data.messageCreated.body),
      sent.map((message) => message.body),
    );
    assert.deepEqual(
      received.map((event) => event.lastEventId),
      sent.map((message) => message.cursor),
    );
    assert.deepEqual(
      received.map((event) => event.data.data.messageCreated.id),
      sent.map((message) => message.id),
    );
    // The proxy saw the first request without Last-Event-ID, and the
    // browser's own reconnect with the cursor of the last event before the cut.
    assert.equal(requests.length, 2, `stream requests: ${JSON.stringify(requests)}`);
    assert.equal(requests[0].headers["last-event-id"], undefined);
    assert.equal(requests[1].headers["last-event-id"], sent[run.beforeCut - 1].cursor);
    assert.equal(requests[1].target, requests[0].target, "the same URL, stream token and all");
    assert.equal(requests[1].headers.accept, "text/event-stream");
    assert.equal(run.opens, 2);
    assert.deepEqual(run.problems, [], "nothing but the cut stream's own error");
  } finally {
    await run.close();
  }
});

test("EventSource control: a reconnect whose Last-Event-ID the proxy strips misses what was sent during the cut", async () => {
  // The same run, but the proxy drops the header from the reconnect: the
  // server then starts live, so the messages sent while the stream was
  // down are lost. This is what the test above would see if the server
  // ignored Last-Event-ID.
  const run = await eventSourceAcrossACut({ stripLastEventId: true });
  try {
    const { sent, received, requests } = run;
    const live = [...sent.slice(0, run.beforeCut), ...sent.slice(run.beforeCut + run.duringCut)];
    assert.deepEqual(
      received.map((event) => event.data.data.messageCreated.body),
      live.map((message) => message.body),
    );
    assert.equal(requests.length, 2);
    assert.equal(requests[1].headers["last-event-id"], sent[run.beforeCut - 1].cursor, "the browser sent it");
    assert.equal(requests[1].forwardedLastEventId, false, "the proxy stripped it");
    assert.deepEqual(run.problems, []);
  } finally {
    await run.close();
  }
});

test("EventSource: a query's stream completes and the page closes it, so the browser does not reconnect; the stream token opens GET streams only", async () => {
  const ada = await signUp(server.base, "es_query");
  const streamToken = await createStreamToken(server.base, ada);
  const proxy = await startCuttingProxy(server.base);
  const { context, problems } = await newContext(proxy);
  const page = await context.newPage();
  try {
    await openBlankPage(page, proxy);
    const url = streamUrl(proxy.base, "{ me { id username } }", {}, streamToken);
    await openEventSource(page, url);
    await page.waitForFunction(() => window.completed, null, { timeout: TIMEOUT });
    const received = await page.evaluate(() => window.received);
    assert.deepEqual(
      received.map((event) => event.data),
      [{ data: { me: { id: ada.id, username: ada.username } } }],
    );
    assert.equal(received[0].lastEventId, "", "a query's result has no id");
    // Past the 1 s retry the stream asked for, no second request came.
    await page.waitForTimeout(2_500);
    assert.equal(await page.evaluate(() => window.source.readyState), 2 /* CLOSED */);
    assert.equal(proxy.requests.filter((r) => r.target.startsWith("/graphql/stream")).length, 1);
    assert.deepEqual(problems, []);

    // The stream token is no access token: as a Bearer token it is refused
    // on POST /graphql and on POST /graphql/stream.
    assert.equal(await errorCode(server.base, ME, {}, streamToken), "UNAUTHENTICATED");
    assert.equal(await errorCode(server.base, ME, {}, ada.token), null);
    const posted = await fetch(`${server.base}/graphql/stream`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${streamToken}` },
      body: JSON.stringify({ query: ME }),
    });
    assert.equal(posted.status, 401);
    assert.equal((await posted.json()).errors[0].extensions.code, "UNAUTHENTICATED");
    // ... and an access token does not open a stream as `token=`.
    const wrongKind = await fetch(streamUrl(server.base, ME, {}, ada.token), { headers: { accept: "text/event-stream" } });
    assert.equal(wrongKind.status, 401);
    await wrongKind.body?.cancel();
  } finally {
    await context.close();
    await proxy.close();
  }
});

/**
 * One user's EventSource on `messageCreated` of a chat, opened by a page
 * through a proxy: `beforeCut` messages arrive, the proxy cuts every
 * connection and holds the browser's reconnect while `duringCut` more are
 * sent over HTTP, then lets it through; `afterCut` more are sent once the
 * stream is open again. Resolves once all arrived (or a quiet second
 * passed after the last one did) with what the page got and the stream
 * requests the proxy saw; `close()` ends it all.
 */
async function eventSourceAcrossACut({ stripLastEventId = false } = {}) {
  const beforeCut = 3;
  const duringCut = 3;
  const afterCut = 3;
  const ada = await signUp(server.base, "es");
  const chat = await createChat(server.base, ada, "eventsource");
  const streamToken = await createStreamToken(server.base, ada);
  const proxy = await startCuttingProxy(server.base);
  const { context, problems: all } = await newContext(proxy);
  // Chromium logs the stream the proxy cut as a failed load, once.
  const cutError = "console error: Failed to load resource: net::ERR_INCOMPLETE_CHUNKED_ENCODING";
  const close = async () => {
    await context.close();
    await proxy.close();
  };
  try {
    const page = await context.newPage();
    await openBlankPage(page, proxy);
    await openEventSource(page, streamUrl(proxy.base, STREAM_MESSAGES, { c: chat }, streamToken));
    const count = () => page.evaluate(() => window.received.length);

    const sent = [];
    const sendNext = async () => sent.push(await sendWithCursor(server.base, ada, chat, `es message ${sent.length + 1}`));
    for (let i = 0; i < beforeCut; i += 1) await sendNext();
    await until(count, beforeCut, "the messages before the cut");

    proxy.cutAndHold();
    for (let i = 0; i < duringCut; i += 1) await sendNext();
    // The browser reconnects by itself (after the stream's `retry: 1000`);
    // the proxy holds that request until it is let through.
    await until(() => proxy.held().some((r) => r.target.startsWith("/graphql/stream")), true, "the browser's reconnect");
    proxy.release({ stripLastEventId });

    await until(() => page.evaluate(() => window.opens), 2, "the reopened stream");
    for (let i = 0; i < afterCut; i += 1) await sendNext();
    const expected = stripLastEventId ? beforeCut + afterCut : sent.length;
    await until(count, expected, "the messages after the reconnect");
    // Anything extra (a duplicate) would come within a moment.
    await page.waitForTimeout(1_000);
    const received = await page.evaluate(() => window.received);
    const opens = await page.evaluate(() => window.opens);
    await page.evaluate(() => window.source.close());
    assert.equal(all.filter((problem) => problem === cutError).length, 1, `the cut was seen: ${JSON.stringify(all)}`);
    const problems = all.filter((problem) => problem !== cutError);
    return {
      sent,
      received,
      opens,
      beforeCut,
      duringCut,
      requests: proxy.requests.filter((r) => r.target.startsWith("/graphql/stream")),
      problems,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Opens the server's signed-out chat page through the proxy: a page of the
 * proxy's origin, so its EventSource is same-origin, and it opens no
 * stream or socket of its own.
 */
async function openBlankPage(page, proxy) {
  await page.goto(`${proxy.base}/chat`);
  await page.waitForSelector("form.sign-in");
}

/** The URL of a GET stream for `query` with a stream token. */
function streamUrl(base, query, variables, token) {
  const params = new URLSearchParams({ query, variables: JSON.stringify(variables) });
  // A stream token is a JWT: URL-safe as it is.
  return `${base}/graphql/stream?${params}&token=${token}`;
}

/**
 * Opens `new EventSource(url)` in the page, which records each `next`
 * event's parsed `data` and `lastEventId` in `window.received`, counts
 * `open`s, and closes the source on `complete` (after which the browser
 * would otherwise reconnect). Resolves on the first `open`; rejects when
 * the first connection fails for good.
 */
async function openEventSource(page, url) {
  await page.evaluate(
    (url) =>
      new Promise((resolve, reject) => {
        window.received = [];
        window.opens = 0;
        window.completed = false;
        const source = new EventSource(url);
        window.source = source;
        source.addEventListener("open", () => {
          window.opens += 1;
          resolve();
        });
        source.addEventListener("next", (event) => {
          window.received.push({ data: JSON.parse(event.data), lastEventId: event.lastEventId });
        });
        source.addEventListener("complete", () => {
          window.completed = true;
          source.close();
        });
        source.addEventListener("error", () => {
          if (window.opens === 0 && source.readyState === EventSource.CLOSED) reject(new Error("the stream was refused"));
        });
      }),
    url,
  );
}

/** A stream token for `user`, minted with their access token. */
async function createStreamToken(base, user) {
  const data = await graphql(base, "mutation { createStreamToken { token expiresAt } }", {}, user.token);
  assert.ok(Date.parse(data.createStreamToken.expiresAt) > Date.now());
  return data.createStreamToken.token;
}

/** Sends a message over HTTP; returns its `id`, `body` and `cursor`. */
async function sendWithCursor(base, sender, chatId, body) {
  const data = await graphql(
    base,
    "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id body cursor } }",
    { i: { chatId, body } },
    sender.token,
  );
  return data.sendMessage;
}

/**
 * A TCP proxy to `target` (a base URL) on a free local port. It reads the
 * head of every HTTP request passing through (`requests`: target and
 * lower-cased headers). `cutAndHold()` destroys every open connection and
 * holds new ones (their bytes kept, nothing forwarded) until `release()`,
 * which lets them through, optionally without their Last-Event-ID header.
 */
async function startCuttingProxy(target) {
  const upstream = new URL(target);
  const open = new Set();
  let holding = null;
  const requests = [];

  const forward = (client, pending) => {
    const server = tcpConnect(Number(upstream.port), upstream.hostname);
    const pair = { client, server };
    open.add(pair);
    const drop = () => {
      open.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on("close", drop);
    server.on("close", drop);
    client.on("error", drop);
    server.on("error", drop);
    for (const chunk of pending) server.write(chunk);
    client.pipe(server);
    server.pipe(client);
  };

  const proxy = createTcpServer((client) => {
    const heads = requestHeads((head) => requests.push(head));
    client.on("data", heads);
    if (holding) {
      const held = { client, chunks: [] };
      held.keep = (chunk) => held.chunks.push(chunk);
      client.on("data", held.keep);
      client.on("error", () => client.destroy());
      holding.push(held);
    } else {
      forward(client, []);
    }
  });
  await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));

  return {
    base: `http://127.0.0.1:${proxy.address().port}`,
    requests,
    /** The requests of the held connections (read so far). */
    held() {
      return requests.filter((r) => r.held);
    },
    cutAndHold() {
      holding = [];
      for (const { client, server } of open) {
        client.destroy();
        server.destroy();
      }
      open.clear();
    },
    release({ stripLastEventId = false } = {}) {
      const held = holding ?? [];
      holding = null;
      for (const { client, chunks, keep } of held) {
        client.off("data", keep);
        client.pause();
        let bytes = Buffer.concat(chunks);
        if (stripLastEventId) {
          const text = bytes.toString("latin1");
          const stripped = text.replace(/\r\nlast-event-id:[^\r\n]*/i, "");
          for (const r of requests) if (r.held && text !== stripped) r.forwardedLastEventId = false;
          bytes = Buffer.from(stripped, "latin1");
        }
        if (!client.destroyed) forward(client, [bytes]);
        client.resume();
      }
      for (const r of requests) if (r.held) r.held = false;
    },
    async close() {
      for (const { client } of holding ?? []) client.destroy();
      for (const { client, server } of open) {
        client.destroy();
        server.destroy();
      }
      await new Promise((resolve) => proxy.close(resolve));
    },
  };

  /** Calls `found` with each request head in a client's byte stream. */
  function requestHeads(found) {
    let buffer = Buffer.alloc(0);
    let skip = 0; // body bytes of the last request still to pass
    return (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (skip > 0) {
          const n = Math.min(skip, buffer.length);
          buffer = buffer.subarray(n);
          skip -= n;
          if (skip > 0) return;
        }
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        const [line, ...fields] = buffer.subarray(0, end).toString("latin1").split("\r\n");
        buffer = buffer.subarray(end + 4);
        const headers = {};
        for (const field of fields) {
          const colon = field.indexOf(":");
          headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim();
        }
        const [method, requestTarget] = line.split(" ");
        found({ method, target: requestTarget, headers, held: holding !== null, forwardedLastEventId: "last-event-id" in headers });
        skip = Number(headers["content-length"] ?? 0);
      }
    };
  }
}
