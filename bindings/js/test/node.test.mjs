// The package in Node against a real roomcast-server (run: node --experimental-websocket --test).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Client, guard, isRoomcastError } from "roomcast";
import { Server, token, until, sleep } from "./support.mjs";

const fast = { minDelayMs: 50, maxDelayMs: 300 };
const servers = [];
async function server(options) {
  const s = new Server(options);
  servers.push(s);
  await s.start();
  return s;
}
after(async () => {
  for (const s of servers) await s.dispose();
});

function client(s, user, extra = {}) {
  return new Client({ url: s.url, token: token(user), name: `${user}'s node`, source: "node", backoff: fast, ...extra });
}

test("connect, join, publish and receive between two clients", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const bob = client(s, "bob");
  const states = [];
  alice.onState((st) => states.push(st.state));
  await alice.connect();
  assert.deepEqual(alice.state, { state: "connected" });
  const ra = await alice.join("conv-1");
  const presence = [];
  ra.onPresence((p) => presence.push(p));
  const rb = await bob.join("conv-1");
  const got = [];
  rb.on("chat.message", (msg, meta) => got.push({ msg, meta }));

  const ack = await ra.publish("chat.message", { role: "user", content: "Hello" });
  assert.equal(ack.seq, 1);
  await until(() => got.length === 1, "bob's message");
  assert.deepEqual(got[0].msg, { role: "user", content: "Hello" });
  assert.equal(got[0].meta.seq, 1);
  assert.equal(got[0].meta.id, ack.id);
  assert.equal(got[0].meta.from.user, "alice");
  assert.equal(got[0].meta.from.source, "node");
  assert.equal("data" in got[0].meta, false);
  await until(() => presence.some((p) => p.event === "join" && p.member.user === "bob"), "presence");

  const page = await rb.history({ limit: 10 });
  assert.equal(page.more, false);
  assert.deepEqual(page.messages.map((m) => m.data.content), ["Hello"]);
  assert.deepEqual(states, ["connecting", "connected"]);

  // Ephemeral publishes are never queued: offline they fail at once, with a typed error.
  await alice.close();
  await assert.rejects(ra.publishEphemeral("typing", {}), (e) => isRoomcastError(e) && e.code === "closed");
  await bob.close();
  assert.equal(alice.state.state, "closed");
});

test("offline queue flushes after a server restart, nothing duplicated", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const bob = client(s, "bob");
  const ra = await alice.join("conv-q");
  const rb = await bob.join("conv-q");
  const seen = [];
  rb.on("n", (n) => seen.push(n));
  const reconnecting = [];
  alice.onState((st) => st.state === "reconnecting" && reconnecting.push(st.delayMs));

  // Acks lost to a crash: the server may have stored some of these before dying.
  const burst = [0, 1, 2, 3, 4].map((n) => ra.publish("n", n));
  await s.stop("SIGKILL");
  await until(() => alice.state.state !== "connected", "alice notices");
  // Offline: queued, not failed.
  const offline = [5, 6, 7].map((n) => ra.publish("n", n));
  assert.ok(alice.queued >= 3, `queued ${alice.queued}`);
  await assert.rejects(ra.publishEphemeral("typing", {}), (e) => e.code === "not_connected");
  await sleep(300);
  await s.start();

  const acks = await Promise.all([...burst, ...offline]);
  assert.equal(alice.queued, 0);
  const seqs = acks.map((a) => a.seq);
  assert.deepEqual([...seqs].sort((a, b) => a - b), seqs, "acked in publish order");
  assert.equal(new Set(seqs).size, 8);
  await until(() => seen.length >= 8, "bob catches up");
  await sleep(200);
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7], "each message once, in order");
  assert.ok(reconnecting.length > 0 && reconnecting.every((d) => d <= 300));
  const page = await rb.history({ limit: 100 });
  assert.deepEqual(page.messages.map((m) => m.data), [0, 1, 2, 3, 4, 5, 6, 7]);
  await alice.close();
  await bob.close();
});

test("a resume past the server's replay limit delivers every message once, in order", async () => {
  const s = await server({ args: ["--replay-limit", "5"] });
  const alice = client(s, "alice");
  const bob = client(s, "bob");
  const ra = await alice.join("conv-r");
  const rb = bob.room("conv-r");
  const seen = [];
  const gaps = [];
  rb.on("n", (n, meta) => seen.push([n, meta.seq]));
  rb.onGap((g) => gaps.push(g));
  await rb.join();
  await ra.publish("n", 0);
  await until(() => seen.length === 1, "first message");
  bob.pause();
  await Promise.all(Array.from({ length: 59 }, (_, i) => ra.publish("n", i + 1)));
  bob.resume();
  await until(() => seen.length >= 60, "bob catches up past the replay limit");
  await sleep(200);
  assert.deepEqual(seen, Array.from({ length: 60 }, (_, i) => [i, i + 1]));
  assert.deepEqual(gaps, []);
  const latest = bob.room("conv-r2");
  const latestSeen = [];
  latest.on("n", (n) => latestSeen.push(n));
  await assert.rejects(latest.join({ resume: "sideways" }), (e) => e.code === "invalid_config");
  await alice.close();
  await bob.close();
});

test("a rejected token settles join at once with a typed error", async () => {
  const s = await server();
  const c = new Client({ url: s.url, token: "not-a-token", source: "node", backoff: fast });
  const started = Date.now();
  await assert.rejects(c.join("r"), (e) => isRoomcastError(e) && e.code === "unauthorized");
  assert.ok(Date.now() - started < 5000);
  assert.equal(c.state.state, "unauthorized");
  await assert.rejects(c.room("r").publish("e", 1), (e) => e.code === "unauthorized");
  await c.close();
});

test("a client used before connect() connects by itself, once", async () => {
  const s = await server();
  const writer = client(s, "alice");
  const room = await writer.join("auto-1");
  await room.publish("n", 1);
  await room.publish("n", 2);
  // history on a client never connected: it connects and gets its page.
  const reader = client(s, "bob");
  const page = await reader.room("auto-1").history({ limit: 10 });
  assert.deepEqual(page.messages.map((m) => m.data), [1, 2]);
  assert.equal(reader.state.state, "connected");
  // connect() after that automatic connection is the same connection.
  await reader.connect();
  const stats = await (await fetch(s.url.replace(/^ws/, "http").replace(/\/ws$/, "/stats"))).json();
  assert.equal(stats.connections, 2, "one connection per client");
  // close() before anything: nothing connects, later calls fail at once with `closed`.
  const closed = client(s, "carol");
  await closed.close();
  await assert.rejects(closed.join("auto-1"), (e) => isRoomcastError(e) && e.code === "closed");
  await assert.rejects(closed.room("auto-1").history(), (e) => e.code === "closed");
  await writer.close();
  await reader.close();
});

test("a typed handler's decode failure reaches the error handler", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const bob = client(s, "bob");
  const ra = await alice.join("conv-t");
  const rb = bob.room("conv-t");
  const isChat = (d) => typeof d === "object" && d !== null && typeof d.content === "string";
  const good = [];
  const errors = [];
  rb.on("chat.message", (msg) => good.push(msg.content), { decode: guard(isChat, "chat message") });
  rb.onError((e) => errors.push(e));
  const off = rb.on("chat.message", () => {
    throw new Error("app bug");
  });
  await rb.join();

  await ra.publish("chat.message", { content: 42 });
  await ra.publish("chat.message", { content: "fine" });
  await until(() => good.length === 1 && errors.length >= 3, "handlers");
  const decode = errors.find((e) => e.code === "decode");
  assert.ok(isRoomcastError(decode));
  assert.equal(decode.meta.seq, 1);
  assert.deepEqual(decode.data, { content: 42 });
  assert.match(decode.message, /chat message has an unexpected shape/);
  assert.equal(errors.filter((e) => e.code === "handler").length, 2);
  assert.deepEqual(good, ["fine"]);

  off();
  await ra.publish("chat.message", { content: "after" });
  await until(() => good.length === 2, "still delivering");
  assert.equal(errors.filter((e) => e.code === "handler").length, 2, "unsubscribed");
  assert.equal(bob.state.state, "connected");
  await alice.close();
  await bob.close();
});

test("bad options and bad calls are typed errors", async () => {
  assert.throws(() => new Client({ url: "http://x" , token: "t"}), (e) => isRoomcastError(e) && e.code === "invalid_config");
  assert.throws(() => new Client({ url: "ws://x/ws" }), (e) => e.code === "invalid_config");
  const s = await server();
  const alice = client(s, "alice");
  await assert.rejects(alice.join("bad room!"), (e) => e.code === "invalid_room");
  const room = await alice.join("conv-e");
  await assert.rejects(room.publish("x", undefined), (e) => e.code === "invalid_payload");
  const limited = new Client({ url: s.url, token: token("eve", "conv-*"), backoff: fast });
  await assert.rejects(limited.join("secret"), (e) => e.code === "forbidden");
  await limited.close();
  await alice.close();
});
