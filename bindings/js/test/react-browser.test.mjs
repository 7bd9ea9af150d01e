// roomcast/react with react-dom in headless Chromium (Debian's, driven by playwright-core)
// against a real server: StrictMode's double mount makes one client and one join, two
// components share it, the last unmount leaves, and a server killed (-9) and restarted keeps
// every message once in useMessages.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { Client } from "roomcast";
import { Server, token, repo, until } from "./support.mjs";

const pkg = join(repo, "bindings", "js");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
let server;
let http;
let browser;
let base;
let bundle;

before(async () => {
  server = new Server();
  await server.start();
  const out = await build({
    entryPoints: [join(pkg, "test", "react-page.mjs")],
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    define: { "process.env.NODE_ENV": '"development"' },
    alias: { roomcast: join(pkg, "dist", "browser.js"), "roomcast/react": join(pkg, "dist", "react.js") },
    logLevel: "warning",
  });
  bundle = out.outputFiles[0].text;
  const wasm = await readFile(join(pkg, "wasm", "roomcast_wasm_bg.wasm"));
  http = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/page.js") res.writeHead(200, { "content-type": "text/javascript" }).end(bundle);
    else if (path.endsWith(".wasm")) res.writeHead(200, { "content-type": "application/wasm" }).end(wasm);
    else res.writeHead(200, { "content-type": "text/html" }).end('<div id="root"></div><script type="module" src="/page.js"></script>');
  });
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${http.address().port}`;
  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu"] });
});
after(async () => {
  await browser?.close();
  http?.close();
  await server?.dispose();
});

test("hooks in Chromium: one client and one join under StrictMode, leave on unmount, every message once after kill -9", { timeout: 90_000 }, async () => {
  const room = "react-web";
  const bob = new Client({ url: server.url, token: token("bob"), backoff: { minDelayMs: 50, maxDelayMs: 300 } });
  const rb = await bob.join(room);
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${base}/?url=${encodeURIComponent(server.url)}&token=${token("alice")}&room=${room}`);
  const seen = () => page.evaluate(() => window.seen);
  await until(async () => (await seen()).views.b?.members.length === 2, "both components see alice and bob", 20_000);
  let s = await seen();
  assert.equal(s.clients, 1, "one client");
  assert.equal(s.joins, 1, "one join");
  await rb.publish("n", 1);
  await until(async () => (await seen()).views.a?.messages.length === 1, "a message");

  await server.stop("SIGKILL");
  await until(async () => (await seen()).views.a?.state !== "connected", "the page notices");
  const queued = [2, 3].map((n) => rb.publish("n", n));
  await server.start();
  await Promise.all(queued);
  await rb.publish("n", 4);
  await until(async () => (await seen()).views.a?.messages.length === 4, "caught up", 20_000);
  s = await seen();
  assert.deepEqual(s.views.a.messages, [[1, 1], [2, 2], [3, 3], [4, 4]]);
  assert.deepEqual(s.views.b.messages, s.views.a.messages);

  await page.evaluate(() => window.renderProbes(0));
  await until(() => rb.members.length === 1, "alice left");
  assert.equal((await seen()).leaves, 1);
  await page.evaluate(() => window.unmountAll());
  assert.deepEqual(errors, []);
  await bob.close();
});
