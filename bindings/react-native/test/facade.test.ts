// The shared façade over the React Native transport (N-API flavour), against a real server:
// what bindings/js/test/facade.test.mjs checks on the web, where the transports differ (an
// aborted publish still sent once, members, iteration ending at close, asyncDispose).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Client, isAbortError, isRoomcastError, type ClientOptions } from "../src/index";
import { Server, token, until, sleep } from "../../js/test/support.mjs";

const fast = { minDelayMs: 50, maxDelayMs: 300 };
const servers: Server[] = [];
const clients: Client[] = [];
after(async () => {
  for (const c of clients) await c.close();
  for (const s of servers) await s.dispose();
});
async function server(): Promise<Server> {
  const s = new Server();
  servers.push(s);
  await s.start();
  return s;
}
function client(s: Server, user: string, extra: Partial<ClientOptions> = {}): Client {
  const c = new Client({ url: s.url, token: token(user), clientId: `${user}-rn`, backoff: fast, ...extra });
  clients.push(c);
  return c;
}

test("abort: before the call nothing is sent; while queued offline the publish is still sent once", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const bob = client(s, "bob");
  const ra = await alice.join("rn-abort");
  const seen: number[] = [];
  const rb = bob.room<{ n: number }>("rn-abort");
  rb.on("n", (n) => seen.push(n));
  await rb.join();
  await assert.rejects(ra.publish("n", 0, { signal: AbortSignal.abort("not wanted") }), isAbortError);
  await s.stop("SIGKILL");
  await until(() => alice.state.state !== "connected", "offline");
  const controller = new AbortController();
  const publish = ra.publish("n", 1, { signal: controller.signal });
  await until(async () => (await alice.queued()) === 1, "queued");
  controller.abort();
  await assert.rejects(publish, isAbortError);
  assert.equal(await alice.queued(), 1, "not withdrawn");
  await assert.rejects(alice.room("rn-late").join({ timeoutMs: 50 }), (e) => isRoomcastError(e) && e.code === "timeout");
  await s.start();
  await until(() => seen.length === 1, "bob gets it");
  await sleep(200);
  assert.deepEqual(seen, [1]);
  const page = await rb.history({ limit: 10 });
  assert.deepEqual(page.messages.map((m) => m.data), [1]);
});

test("members, for await ending at close, and asyncDispose", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const bob = client(s, "bob");
  const ra = await alice.join("rn-members");
  await bob.join("rn-members");
  await until(() => ra.members.length === 2, "bob present");
  const got: unknown[] = [];
  const loop = (async () => {
    for await (const m of ra.messages("n")) got.push(m.data);
    return "ended";
  })();
  await bob.room("rn-members").publish("n", 5);
  await until(() => got.length === 1, "iterated");
  await bob[Symbol.asyncDispose]();
  assert.equal(bob.state.state, "closed");
  await until(() => ra.members.length === 1, "bob gone");
  await alice.close();
  assert.equal(await loop, "ended");
  assert.deepEqual(got, [5]);
  assert.deepEqual(ra.members, []);
});
