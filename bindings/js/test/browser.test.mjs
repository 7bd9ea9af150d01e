// The web dashboard in headless Chromium (Debian's, driven by playwright-core) against a real
// server started with --web: two pages exchange messages, one stays away across a server
// restart and catches up without duplicates; a screenshot is kept in target/js-artifacts.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join } from "node:path";
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

test("a dashboard reloaded while offline sends its queued messages once", { timeout: 90_000 }, async () => {
  // The page comes from a static server of its own, so it reloads while the roomcast server
  // is down.
  const files = createServer((req, res) => {
    const path = join(repo, "examples", "dashboard", new URL(req.url, "http://x").pathname.replace(/\/$/, "/index.html"));
    const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json" };
    readFile(path).then(
      (body) => res.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream" }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise((r) => files.listen(0, "127.0.0.1", r));
  const pageBase = `http://127.0.0.1:${files.address().port}`;
  const reloadRoom = "conv-reload";
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${pageBase}/?token=${token("carol")}&name=Carol&room=${reloadRoom}&url=${server.url}&maxDelayMs=500`);
  await page.waitForSelector("#conn[data-state=connected]");

  await server.stop();
  await page.waitForFunction(() => document.querySelector("#conn").dataset.state !== "connected");
  const sent = ["typed offline 1", "typed offline 2", "typed offline 3"];
  for (const t of sent) {
    await page.fill("#composer input", t);
    await page.press("#composer input", "Enter");
  }
  await page.waitForFunction(() => document.querySelector("#conn").dataset.queued === "3");
  // Each is in IndexedDB before anything else happens to it.
  const storeName = await page.evaluate(() => `roomcast:dashboard:${window.roomcastDashboard.client.clientId}`);
  await page.waitForFunction(
    (name) =>
      new Promise((resolve) => {
        const open = indexedDB.open(name);
        open.onsuccess = () => {
          const count = open.result.transaction("queue").objectStore("queue").count();
          count.onsuccess = () => {
            open.result.close();
            resolve(count.result === 3);
          };
        };
        open.onerror = () => resolve(false);
      }),
    storeName,
  );

  await page.reload();
  // Restored after the reload, shown as sending until acknowledged.
  await page.waitForFunction(() => document.querySelectorAll("#messages .msg.pending").length === 3);
  assert.deepEqual(await texts(page), sent);
  await page.screenshot({ path: join(mkdirSync(artifacts, { recursive: true }) ?? artifacts, "dashboard-restored.png") });

  await server.start();
  await page.waitForSelector("#conn[data-state=connected][data-queued='0']", { timeout: 15_000 });
  await page.waitForFunction(() => document.querySelectorAll("#messages .msg.pending").length === 0);
  assertOnce(await texts(page), sent, "carol");

  // Stored once each, in order.
  const res = await fetch(`${base}/rooms/${reloadRoom}/messages?limit=100`, {
    headers: { authorization: `Bearer ${token("carol")}` },
  });
  const stored = (await res.json()).messages.map((m) => m.data.content);
  assert.deepEqual(stored, sent);
  assert.deepEqual(errors, []);
  await context.close();
  files.close();
});
