// Streamed replies in the web dashboard in headless Chromium, against a real server started
// with --web: a backend streams a reply over HTTP, the page shows it growing in place, a reload
// mid-reply shows it continuing from the text so far (not restarting, nothing twice), and the
// Stop button cancels an open reply. A screenshot is kept in target/js-artifacts.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { Server, token, repo } from "./support.mjs";

const artifacts = join(repo, "target", "js-artifacts");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
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

/** A backend's streamed reply over the HTTP endpoints (`POST .../messages` with `stream`,
 * then `POST .../messages/{id}/append`). */
async function openReply(room) {
  const id = crypto.randomUUID();
  const auth = { authorization: `Bearer ${token("assistant")}`, "content-type": "application/json" };
  const res = await fetch(`${base}/rooms/${room}/messages`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ id, event: "assistant.reply", data: { role: "assistant" }, stream: true }),
  });
  assert.equal(res.status, 201);
  let n = 0;
  return {
    id,
    async append(text, end) {
      const r = await fetch(`${base}/rooms/${room}/messages/${id}/append`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify(end ? { n, text, end } : { n, text }),
      });
      if (r.ok) n++;
      return r.status;
    },
  };
}

const words = Array.from({ length: 60 }, (_, i) => `word${i} `);
const textOf = (count) => words.slice(0, count).join("");

/** Every text the reply's bubble showed, from the page's first render on (a MutationObserver
 * installed before any script of the page runs, again after each reload). */
function recordReplyTexts(context, id) {
  return context.addInitScript((replyId) => {
    window.replyTexts = [];
    new MutationObserver(() => {
      const el = document.querySelector(`#messages .msg[data-id="${replyId}"] .text`);
      const last = window.replyTexts[window.replyTexts.length - 1];
      if (el && el.textContent !== last) window.replyTexts.push(el.textContent);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  }, id);
}

async function waitReply(page, id, text, state) {
  await page.waitForFunction(
    ([id, text, state]) => {
      const li = document.querySelector(`#messages .msg[data-id="${id}"]`);
      return li && li.querySelector(".text").textContent === text && li.dataset.stream === state;
    },
    [id, text, state],
  );
}

test("a reply grows in the dashboard, continues after a reload mid-reply, and stops with its button", { timeout: 90_000 }, async () => {
  const room = "conv-stream-web";
  const reply = await openReply(room);
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  await recordReplyTexts(context, reply.id);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // Failed loads by URL (the page's own requests); Chromium's favicon probe is not one of them
  // and only shows as a console line without its URL.
  page.on("console", (m) => m.type() === "error" && !/^Failed to load resource/.test(m.text()) && errors.push(m.text()));
  page.on("response", (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  await page.goto(`${base}/?token=${token("dora")}&name=Dora&room=${room}&maxDelayMs=1000`);
  await page.waitForSelector("#conn[data-state=connected]");

  // Live: the reply's bubble grows piece by piece, with a Stop button while open.
  for (let i = 0; i < 20; i++) assert.equal(await reply.append(words[i]), 201);
  await waitReply(page, reply.id, textOf(20), "open");
  assert.equal(await page.isVisible(`#messages .msg[data-id="${reply.id}"] .stop`), true);
  await page.screenshot({ path: join(mkdirSync(artifacts, { recursive: true }) ?? artifacts, "dashboard-reply-streaming.png") });
  const before = await page.evaluate(() => window.replyTexts);
  assert.ok(before.every((t) => textOf(20).startsWith(t)), `texts before the reload: ${JSON.stringify(before)}`);

  // Reload mid-reply: the page resumes from its store's position; the reply is shown with its
  // text so far and goes on from there.
  await page.reload();
  await page.waitForSelector("#conn[data-state=connected]");
  await waitReply(page, reply.id, textOf(20), "open");
  for (let i = 20; i < 59; i++) assert.equal(await reply.append(words[i]), 201);
  assert.equal(await reply.append(words[59], "done"), 201);
  await waitReply(page, reply.id, textOf(60), "done");
  assert.equal(await page.locator(`#messages .msg[data-id="${reply.id}"]`).count(), 1, "the reply is listed once");
  assert.equal(await page.isVisible(`#messages .msg[data-id="${reply.id}"] .stop`), false);
  const after = await page.evaluate(() => window.replyTexts);
  // Not restarted: the first text after the reload is the text so far, and every text shown is
  // a prefix of the reply (nothing repeated or out of order), growing.
  assert.equal(after[0], textOf(20), `texts after the reload: ${JSON.stringify(after.slice(0, 3))}`);
  assert.ok(after.every((t, i) => textOf(60).startsWith(t) && (i === 0 || t.length > after[i - 1].length)));
  await page.screenshot({ path: join(artifacts, "dashboard-reply.png") });

  // Stop: a second reply cancelled from the page; the backend's next append is refused.
  const second = await openReply(room);
  assert.equal(await second.append("Let me think "), 201);
  await waitReply(page, second.id, "Let me think ", "open");
  await page.click(`#messages .msg[data-id="${second.id}"] .stop`);
  await waitReply(page, second.id, "Let me think ", "cancelled");
  assert.equal(await second.append("about it"), 409);
  assert.equal(await page.textContent(`#messages .msg[data-id="${second.id}"] .badge.ended`), "cancelled");

  assert.deepEqual(errors, []);
  await context.close();
});
