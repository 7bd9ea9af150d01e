// The shared façade's own behaviour in Node against a real roomcast-server: per-call abort and
// timeouts, async iteration, member lists, Standard Schema decoding, `Symbol.asyncDispose`
// (run: node --experimental-websocket --test). React Native runs the same code
// (bindings/shared) over its own transport.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { Client, isAbortError, isRoomcastError } from "roomcast";
import { Server, token, until, sleep } from "./support.mjs";

const fast = { minDelayMs: 50, maxDelayMs: 300 };
const servers = [];
const clients = [];
async function server() {
  const s = new Server();
  servers.push(s);
  await s.start();
  return s;
}
function client(s, user) {
  const c = new Client({ url: s.url, token: token(user), source: "node", backoff: fast });
  clients.push(c);
  return c;
}
after(async () => {
  for (const c of clients) await c.close();
  for (const s of servers) await s.dispose();
});

const stored = async (room) => (await room.history({ limit: 100 })).messages.map((m) => m.data);

test("abort before send: nothing published, nothing joined", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const room = await alice.join("abort-1");
  const aborted = AbortSignal.abort("not wanted");
  await assert.rejects(room.publish("n", 1, { signal: aborted }), (e) => isAbortError(e) && e.cause === "not wanted");
  assert.equal(alice.queued, 0);
  assert.deepEqual(room.pending, []);
  const other = alice.room("abort-2");
  await assert.rejects(other.join({ signal: aborted }), isAbortError);
  await assert.rejects(alice.connect({ signal: aborted }), isAbortError);
  await assert.rejects(room.history({ signal: aborted }), isAbortError);
  // Not joined: a publish there is refused.
  await assert.rejects(other.publish("n", 1), (e) => isRoomcastError(e) && e.code === "not_joined");
  assert.deepEqual(await stored(room), []);
});

test("abort while queued offline: the promise settles at once, the publish is sent once later", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const bob = client(s, "bob");
  const room = await alice.join("abort-q");
  const seen = [];
  (await bob.join("abort-q")).on("n", (n) => seen.push(n));
  await s.stop("SIGKILL");
  await until(() => alice.state.state !== "connected", "alice offline");
  const controller = new AbortController();
  const publish = room.publish("n", 1, { signal: controller.signal });
  assert.equal(getEventListeners(controller.signal, "abort").length, 1);
  await until(() => alice.queued === 1, "queued");
  assert.equal(room.pending.length, 1, "shown as pending");
  controller.abort();
  await assert.rejects(publish, isAbortError);
  assert.equal(getEventListeners(controller.signal, "abort").length, 0, "the listener is removed");
  // Not withdrawn: still queued, sent once the server is back.
  assert.equal(alice.queued, 1);
  await s.start();
  await until(() => seen.length === 1, "bob gets it");
  await until(() => alice.queued === 0 && room.pending.length === 0, "acknowledged");
  await sleep(200);
  assert.deepEqual(seen, [1]);
  assert.deepEqual(await stored(room), [1]);
});

test("abort while awaiting the ack, and timeouts: stored once, listeners and timers gone", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const room = await alice.join("abort-a");
  const controller = new AbortController();
  const publish = room.publish("n", 2, { signal: controller.signal });
  controller.abort();
  await assert.rejects(publish, isAbortError);
  await until(async () => (await stored(room)).length === 1, "stored");
  assert.deepEqual(await stored(room), [2]);
  // A signal that never aborts: the listener goes when the call settles.
  const idle = new AbortController();
  await room.publish("n", 3, { signal: idle.signal, timeoutMs: 5000 });
  assert.equal(getEventListeners(idle.signal, "abort").length, 0);
  // A join that cannot complete while the server is down times out with `timeout`.
  await s.stop("SIGKILL");
  await until(() => alice.state.state !== "connected", "alice offline");
  const late = alice.room("abort-late");
  const started = Date.now();
  await assert.rejects(late.join({ timeoutMs: 100 }), (e) => isRoomcastError(e) && e.code === "timeout");
  assert.ok(Date.now() - started < 2000);
  await assert.rejects(room.publish("n", 4, { timeoutMs: -1 }), (e) => isRoomcastError(e) && e.code === "invalid_config");
  await s.start();
});

test("for await over room.messages ends at leave and at close", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const bob = client(s, "bob");
  const ra = await alice.join("iter");
  const rb = await bob.join("iter");
  const got = [];
  const loop = (async () => {
    for await (const { data, meta } of rb.messages("n")) got.push([data, meta.seq]);
    return "ended";
  })();
  for (const n of [1, 2, 3]) await ra.publish("n", n);
  await until(() => got.length === 3, "three messages");
  await rb.leave();
  assert.equal(await loop, "ended");
  assert.deepEqual(got, [[1, 1], [2, 2], [3, 3]]);

  await rb.join();
  const second = (async () => {
    const seen = [];
    for await (const m of rb.messages("n")) seen.push(m.data);
    return seen;
  })();
  await ra.publish("n", 4);
  await sleep(300);
  await bob.close();
  assert.deepEqual(await second, [4]);
  // Breaking out of the loop unsubscribes.
  const r2 = await alice.join("iter-2");
  const it = r2.messages("n");
  await it.return();
  assert.deepEqual(await it.next(), { value: undefined, done: true });
});

test("room.members follows joins, presence, leave and the connection", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const bob = client(s, "bob");
  const ra = alice.room("members");
  const changes = [];
  ra.onMembers((m) => changes.push(m.map((x) => x.user).sort().join(",")));
  await ra.join();
  assert.deepEqual(ra.members.map((m) => m.user), ["alice"]);
  const rb = await bob.join("members");
  await until(() => ra.members.length === 2, "bob present");
  assert.deepEqual(rb.members.map((m) => m.user).sort(), ["alice", "bob"]);
  await rb.leave();
  assert.deepEqual(rb.members, []);
  await until(() => ra.members.length === 1, "bob gone");
  await s.stop("SIGKILL");
  await until(() => ra.members.length === 0, "unknown while offline");
  await s.start();
  await until(() => ra.members.length === 1, "back after the rejoin");
  assert.deepEqual(changes.slice(0, 3), ["alice", "alice,bob", "alice"]);
});

test("Standard Schema validators decode; issues become decode errors", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const bob = client(s, "bob");
  const ra = await alice.join("schema");
  const rb = await bob.join("schema");
  const schema = {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (v) =>
        typeof v?.content === "string" ? { value: { content: v.content.toUpperCase() } } : { issues: [{ message: "content must be text", path: ["content"] }] },
    },
  };
  const got = [];
  const errors = [];
  rb.on("chat", (m) => got.push(m.content), { decode: schema });
  rb.onError((e) => errors.push(e));
  await ra.publish("chat", { content: "hi" });
  await ra.publish("chat", { content: 7 });
  await until(() => got.length === 1 && errors.length === 1, "one decoded, one refused");
  assert.deepEqual(got, ["HI"]);
  assert.equal(errors[0].code, "decode");
  assert.match(errors[0].message, /content: content must be text/);
});

test("Symbol.asyncDispose closes the client", async () => {
  const s = await server();
  const c = client(s, "alice");
  await c.join("dispose");
  assert.equal(typeof Symbol.asyncDispose, "symbol");
  await c[Symbol.asyncDispose]();
  assert.equal(c.state.state, "closed");
  await assert.rejects(c.join("dispose"), (e) => isRoomcastError(e) && e.code === "closed");
});
