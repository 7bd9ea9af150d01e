// The web dashboard in headless Chromium (Debian's, driven by playwright-core) against a real
// server started with --web: two pages exchange messages, one stays away across a server
// restart and catches up without duplicates; a screenshot is kept in target/js-artifacts.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { Server, token, repo, sleep } from "./support.mjs";

const artifacts = join(repo, "target", "js-artifacts");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const room = "conv-web";
let server;
let browser;
let base;

before(async () => {
  server = new Server({ web: join(repo, "examples", "dashboard") });
  base = await server.start();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
});
after(async () => {
  await browser?.close();
  await server?.dispose();
});

async function post(user, content, id) {
  const res = await fetch(`${base}/rooms/${room}/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${token(user)}`, "content-type": "application/json" },
    body: JSON.stringify({ id: id ?? crypto.randomUUID(), event: "chat.message", data: { role: "assistant", content } }),
  });
  assert.ok(res.ok, `POST ${res.status}`);
}

async function open(context, user, name) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.errors = errors;
  await page.goto(`${base}/?token=${token(user)}&name=${name}&room=${room}&maxDelayMs=1000`);
  await page.waitForSelector("#conn[data-state=connected]");
  return page;
}

const texts = (page) => page.$$eval("#messages .msg .text", (els) => els.map((e) => e.textContent));

async function waitText(page, text) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll("#messages .msg:not(.pending) .text")].some((e) => e.textContent === t),
    text,
  );
}

function assertOnce(list, wanted, who) {
  for (const t of wanted) assert.equal(list.filter((x) => x === t).length, 1, `${who}: ${JSON.stringify(t)} in ${JSON.stringify(list)}`);
}

test("two dashboards chat through the server, and catch up after a restart", { timeout: 90_000 }, async () => {
  // History paging: 40 older messages, a page of 30 at first, the rest on demand.
  for (let i = 1; i <= 40; i++) await post("assistant", `old ${i}`);
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const alice = await open(context, "alice", "Alice");
  const bob = await open(context, "bob", "Bob");

  await bob.waitForFunction(() => document.querySelectorAll("#messages .msg").length === 30);
  assert.equal((await texts(bob))[0], "old 11");
  await bob.click("#older");
  await bob.waitForFunction(() => document.querySelectorAll("#messages .msg").length === 40);
  assert.equal((await texts(bob))[0], "old 1");
  assert.equal(await bob.isHidden("#older"), true);

  // Presence and a live exchange, with source badges.
  await alice.waitForSelector("#presence li:has-text('Bob')");
  await alice.fill("#composer input", "hello from Alice");
  await bob.waitForFunction(() => /Alice is typing/.test(document.querySelector("#typing").textContent));
  await alice.press("#composer input", "Enter");
  await waitText(bob, "hello from Alice");
  await bob.fill("#composer input", "hi Alice");
  await bob.press("#composer input", "Enter");
  await waitText(alice, "hi Alice");
  const badge = await bob.$eval("#messages .msg:last-child .badge", (e) => e.textContent);
  assert.equal(badge, "web");

  // Bob steps away (paused, as a hidden tab with pauseWhenHidden would); the server restarts.
  await bob.evaluate(() => window.roomcastDashboard.client.pause());
  await server.stop();
  await alice.waitForFunction(() => document.querySelector("#conn").dataset.state !== "connected");
  for (const t of ["sent while down 1", "sent while down 2"]) {
    await alice.fill("#composer input", t);
    await alice.press("#composer input", "Enter");
  }
  await alice.waitForFunction(() => document.querySelector("#conn").dataset.queued === "2");
  assert.match(await alice.textContent("#conn"), /2 queued/);
  await alice.screenshot({ path: join(mkdirSync(artifacts, { recursive: true }) ?? artifacts, "dashboard-offline.png") });

  await server.start();
  await alice.waitForSelector("#conn[data-state=connected][data-queued='0']", { timeout: 15_000 });
  await waitText(alice, "sent while down 2");
  await post("assistant", "reply from the backend");
  await waitText(alice, "reply from the backend");

  // Bob comes back: everything he missed is replayed once, in order.
  await bob.evaluate(() => window.roomcastDashboard.client.resume());
  await bob.waitForSelector("#conn[data-state=connected]");
  await waitText(bob, "reply from the backend");
  await sleep(300);
  const missed = ["sent while down 1", "sent while down 2", "reply from the backend"];
  const bobTexts = await texts(bob);
  assertOnce(bobTexts, ["hello from Alice", "hi Alice", ...missed], "bob");
  assert.deepEqual(bobTexts.slice(-3), missed);
  assertOnce(await texts(alice), ["hello from Alice", "hi Alice", ...missed], "alice");
  const source = await bob.$eval("#messages .msg:last-child .badge", (e) => e.textContent);
  assert.equal(source, "server");

  await bob.screenshot({ path: join(artifacts, "dashboard.png") });
  assert.deepEqual(alice.errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), []);
  assert.deepEqual(bob.errors, []);
  await context.close();
});
