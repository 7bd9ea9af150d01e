// The React Native package's typed layer on the generated bindings' N-API flavour (@ubjs/node:
// the same generated code as the app's JSI flavour, over the same cdylib), against a real
// roomcast-server. Bundled with the bindings swapped by test/build.mjs; run by
// scripts/test-react-native.sh.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, guard, isRoomcastError, type ClientOptions, type MessageMeta, type Presence } from "../src/index";
import { Server, token, until, sleep } from "../../js/test/support.mjs";

type ChatMessage = { role: "user" | "assistant"; content: string };
const isChat = (d: unknown): d is ChatMessage =>
  typeof d === "object" && d !== null && typeof (d as ChatMessage).content === "string";

const fast = { minDelayMs: 50, maxDelayMs: 300 };
const servers: Server[] = [];
async function server(options?: { args?: string[] }): Promise<Server> {
  const s = new Server(options);
  servers.push(s);
  await s.start();
  return s;
}
const clients: Client[] = [];
after(async () => {
  for (const c of clients) await c.close();
  for (const s of servers) await s.dispose();
});

function client(s: Server, user: string, extra: Partial<ClientOptions> = {}): Client {
  const c = new Client({
    url: s.url,
    token: token(user),
    clientId: `${user}-rn`,
    name: `${user}'s phone`,
    source: "react-native",
    backoff: fast,
    ...extra,
  });
  clients.push(c);
  return c;
}

test("connect, join, typed publish and receive between two clients", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const bob = client(s, "bob");
  const states: string[] = [];
  const off = alice.onState((st) => states.push(st.state));
  assert.deepEqual(alice.state, { state: "idle" });
  await alice.connect();
  assert.deepEqual(alice.state, { state: "connected" });
  const ra = await alice.join("conv-1");
  const presence: Presence[] = [];
  ra.onPresence((p) => presence.push(p));
  const rb = bob.room("conv-1");
  const got: { msg: ChatMessage; meta: MessageMeta }[] = [];
  rb.on<ChatMessage>("chat.message", (msg, meta) => got.push({ msg, meta }), { decode: guard(isChat) });
  const joined = await rb.join();
  assert.equal(joined.room, "conv-1");
  assert.equal(joined.rejoin, false);
  assert.deepEqual(joined.presence.map((m) => m.user).sort(), ["alice", "bob"]);

  const ack = await ra.publish<ChatMessage>("chat.message", { role: "user", content: "Hello" });
  assert.equal(ack.seq, 1);
  assert.equal(typeof ack.ts, "number");
  await until(() => got.length === 1, "bob's message");
  assert.deepEqual(got[0].msg, { role: "user", content: "Hello" });
  assert.equal(got[0].meta.seq, 1);
  assert.equal(got[0].meta.id, ack.id);
  assert.equal(got[0].meta.from.user, "alice");
  assert.equal(got[0].meta.from.source, "react-native");
  assert.equal(got[0].meta.from.name, "alice's phone");
  assert.equal("data" in got[0].meta, false);
  await until(() => presence.some((p) => p.event === "join" && p.member.user === "bob"), "presence");

  // Ephemeral: delivered to members present, not stored.
  const typing: unknown[] = [];
  rb.on("typing", (t) => typing.push(t));
  await ra.publishEphemeral("typing", { user: "alice" });
  await until(() => typing.length === 1, "typing");

  const page = await rb.history({ limit: 10 });
  assert.equal(page.more, false);
  assert.deepEqual(
    page.messages.map((m) => (m.data as ChatMessage).content),
    ["Hello"],
  );
  // The core coalesces states that change faster than the handler runs (a UI wants the
  // latest), so `connecting` may be folded into `connected`.
  assert.equal(states.at(-1), "connected");
  assert.ok(states.every((st) => st === "connecting" || st === "connected"), `${states}`);
  off();

  const bobStates: string[] = [];
  bob.onState((st) => bobStates.push(st.state));
  await bob.close();
  assert.equal(bobStates.at(-1), "closed", "handlers hear the close");
  await until(() => presence.some((p) => p.event === "leave" && p.member.user === "bob"), "bob leaves");
  // Ephemeral publishes are never queued: on a closed client they fail at once, typed.
  await alice.close();
  await assert.rejects(ra.publishEphemeral("typing", {}), (e) => isRoomcastError(e) && e.code === "closed");
  assert.equal(alice.state.state, "closed");
});

test("offline queue flushes after a server restart: every message once, in order", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const bob = client(s, "bob");
  const ra = await alice.join("conv-q");
  const rb = bob.room("conv-q");
  const seen: number[] = [];
  rb.on<number>("n", (n) => seen.push(n));
  await rb.join();
  const reconnecting: number[] = [];
  alice.onState((st) => {
    if (st.state === "reconnecting") reconnecting.push(st.delayMs ?? -1);
  });

  // Acks lost to a crash: the server may have stored some of these before dying.
  const burst = [0, 1, 2, 3, 4].map((n) => ra.publish("n", n));
  await s.stop("SIGKILL");
  await until(() => alice.state.state !== "connected", "alice notices");
  // Offline: queued, not failed.
  const offline = [5, 6, 7].map((n) => ra.publish("n", n));
  await until(async () => (await alice.queued()) >= 3, "queued offline");
  await assert.rejects(ra.publishEphemeral("typing", {}), (e) => isRoomcastError(e) && e.code === "not_connected");
  await sleep(300);
  await s.start();

  const acks = await Promise.all([...burst, ...offline]);
  assert.equal(await alice.queued(), 0);
  const seqs = acks.map((a) => a.seq ?? -1);
  assert.deepEqual([...seqs].sort((a, b) => a - b), seqs, "acked in publish order");
  assert.equal(new Set(seqs).size, 8);
  await until(() => seen.length >= 8, "bob catches up");
  await sleep(200);
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7], "each message once, in order");
  assert.ok(reconnecting.length > 0 && reconnecting.every((d) => d >= 0 && d <= 300), `${reconnecting}`);
  const page = await rb.history({ limit: 100 });
  assert.deepEqual(
    page.messages.map((m) => m.data),
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  await alice.close();
  await bob.close();
});

test("publishes made without waiting keep call order (200 at once)", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const ra = await alice.join("conv-order");
  const acks = await Promise.all(Array.from({ length: 200 }, (_, n) => ra.publish("n", n)));
  const seqs = acks.map((a) => a.seq ?? -1);
  assert.deepEqual([...seqs].sort((a, b) => a - b), seqs, "acked in call order");
  const page = await ra.history({ limit: 500 });
  assert.deepEqual(
    page.messages.map((m) => m.data),
    Array.from({ length: 200 }, (_, n) => n),
  );
  await alice.close();
});

test("a resume past the server's replay limit delivers every message once, in order; leave ends it", async () => {
  const s = await server({ args: ["--replay-limit", "5"] });
  const alice = client(s, "alice");
  const bob = client(s, "bob");
  const ra = await alice.join("conv-r");
  const rb = bob.room("conv-r");
  const seen: [number, number | undefined][] = [];
  const gaps: unknown[] = [];
  rb.on<number>("n", (n, meta) => seen.push([n, meta.seq]));
  rb.onGap((g) => gaps.push(g));
  await rb.join();
  await ra.publish("n", 0);
  await until(() => seen.length === 1, "first message");
  bob.pause();
  await Promise.all(Array.from({ length: 59 }, (_, i) => ra.publish("n", i + 1)));
  bob.resume();
  await until(() => seen.length >= 60, "bob catches up past the replay limit");
  await sleep(200);
  assert.deepEqual(
    seen,
    Array.from({ length: 60 }, (_, i) => [i, i + 1]),
  );
  assert.deepEqual(gaps, []);

  // Leave: the room's publishes fail typed; handlers stay for the next join.
  assert.equal(bob.room("conv-r"), rb, "one room per name");
  await rb.leave();
  await assert.rejects(rb.publish("n", -1), (e) => isRoomcastError(e) && e.code === "not_joined");
  await assert.rejects(
    rb.join({ resume: "sideways" } as unknown as { resume: "full" }),
    (e) => isRoomcastError(e) && e.code === "invalid_config",
  );
  const info = await rb.join({ resume: "latest" });
  assert.equal(info.rejoin, false);
  await ra.publish("n", 60);
  await until(() => seen.length === 61, "live again after the new join");
  assert.deepEqual(seen.at(-1), [60, 61]);
  await alice.close();
  await bob.close();
});

test("with a store, publishes made offline survive the client and are sent once by the next", async () => {
  const s = await server();
  const dir = mkdtempSync(join(tmpdir(), "roomcast-rn-store-"));
  try {
    const bob = client(s, "bob");
    const rb = bob.room("conv-s");
    const seen: number[] = [];
    rb.on<number>("n", (n) => seen.push(n));
    await rb.join();
    const first = client(s, "alice", { storePath: dir, clientId: "alice-phone" });
    const ra = await first.join("conv-s");
    await s.stop("SIGKILL");
    await until(() => first.state.state !== "connected", "offline");
    // The app is closed before the server is back: the publishes stay in the store, and each
    // is reported kept (not failed: the next client sends it).
    const unsent = [1, 2, 3].map((n) => ra.publish("n", n).catch((e: unknown) => e));
    await until(async () => (await first.pending()).length === 3, "stored");
    await first.close();
    for (const r of await Promise.all(unsent)) assert.ok(isRoomcastError(r) && r.code === "kept", `${r}`);

    await s.start();
    const next = client(s, "alice", { storePath: dir, clientId: "alice-phone" });
    assert.deepEqual(
      (await next.pending()).map((p) => p.data),
      [1, 2, 3],
      "restored from the store",
    );
    await next.join("conv-s");
    await until(() => seen.length >= 3, "bob gets what was stored");
    await until(async () => (await next.queued()) === 0, "acknowledged");
    await sleep(200);
    assert.deepEqual(seen, [1, 2, 3], "each once, in order");
    await next.close();
    await bob.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("pause and resume keep rooms; reconnectNow skips the wait", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const bob = client(s, "bob", { backoff: { minDelayMs: 20_000, maxDelayMs: 30_000 } });
  const ra = await alice.join("conv-p");
  const rb = bob.room("conv-p");
  const seen: number[] = [];
  rb.on<number>("n", (n) => seen.push(n));
  const rejoins: boolean[] = [];
  rb.onJoined((j) => rejoins.push(j.rejoin));
  await rb.join();

  bob.pause();
  await until(() => bob.state.state === "paused", "paused");
  await ra.publish("n", 1);
  bob.resume();
  await until(() => seen.length === 1, "resumed with what it missed");
  assert.deepEqual(rejoins, [false, true]);

  // A 20 s backoff after the server restarts; reconnectNow ends the wait.
  await s.stop("SIGKILL");
  await until(() => bob.state.state === "reconnecting", "bob waits to reconnect");
  await s.start();
  await ra.publish("n", 2);
  bob.reconnectNow();
  await until(() => seen.length === 2, "reconnected at once", 8000);
  assert.deepEqual(seen, [1, 2]);
  await alice.close();
  await bob.close();
});

test("a rejected token settles join at once with the web package's error code", async () => {
  const s = await server();
  const c = new Client({ url: s.url, token: "not-a-token", source: "react-native", backoff: fast });
  clients.push(c);
  const started = Date.now();
  await assert.rejects(c.join("r"), (e) => isRoomcastError(e) && e.code === "unauthorized" && e.name === "RoomcastError");
  assert.ok(Date.now() - started < 5000);
  assert.equal(c.state.state, "unauthorized");
  await assert.rejects(c.room("r").publish("e", 1), (e) => isRoomcastError(e) && e.code === "unauthorized");
  await c.close();
});

test("a client used before connect() connects by itself, once; closed before anything stays closed", async () => {
  const s = await server();
  const writer = client(s, "alice");
  const room = await writer.join("auto-1");
  await room.publish("n", 1);
  await room.publish("n", 2);
  // history on a client never connected: it connects and gets its page.
  const reader = client(s, "bob");
  const page = await reader.room("auto-1").history({ limit: 10 });
  assert.deepEqual(
    page.messages.map((m) => m.data),
    [1, 2],
  );
  assert.equal(reader.state.state, "connected");
  // connect() after that automatic connection is the same connection.
  await reader.connect();
  const stats = (await (await fetch(s.url.replace(/^ws/, "http").replace(/\/ws$/, "/stats"))).json()) as {
    connections: number;
  };
  assert.equal(stats.connections, 2, "one connection per client");
  const closed = client(s, "carol");
  await closed.close();
  await assert.rejects(closed.join("auto-1"), (e) => isRoomcastError(e) && e.code === "closed");
  await writer.close();
  await reader.close();
});

test("a token provider is asked for the token", async () => {
  const s = await server();
  let asked = 0;
  const c = new Client({
    url: s.url,
    source: "react-native",
    backoff: fast,
    tokenProvider: async () => {
      asked++;
      return token("carol");
    },
  });
  clients.push(c);
  const room = await c.join("conv-tp");
  assert.equal((await room.publish("e", { ok: true })).seq, 1);
  assert.ok(asked >= 1);
  await c.close();
});

test("a typed handler's decode failure and a throwing handler reach onError", async () => {
  const s = await server();
  const alice = client(s, "alice");
  const bob = client(s, "bob");
  const ra = await alice.join("conv-t");
  const rb = bob.room("conv-t");
  const good: string[] = [];
  const errors: unknown[] = [];
  rb.on<ChatMessage>("chat.message", (msg) => good.push(msg.content), { decode: guard(isChat, "chat message") });
  rb.onError((e) => errors.push(e));
  const off = rb.on("chat.message", () => {
    throw new Error("app bug");
  });
  await rb.join();

  await ra.publish("chat.message", { content: 42 });
  await ra.publish("chat.message", { content: "fine" });
  await until(() => good.length === 1 && errors.length >= 3, "handlers");
  const decode = errors.find((e) => isRoomcastError(e) && e.code === "decode");
  assert.ok(isRoomcastError(decode));
  assert.equal(decode.meta?.seq, 1);
  assert.deepEqual(decode.data, { content: 42 });
  assert.match(decode.message, /chat message has an unexpected shape/);
  assert.equal(errors.filter((e) => isRoomcastError(e) && e.code === "handler").length, 2);
  assert.deepEqual(good, ["fine"]);

  off();
  await ra.publish("chat.message", { content: "after" });
  await until(() => good.length === 2, "still delivering");
  assert.equal(errors.filter((e) => isRoomcastError(e) && e.code === "handler").length, 2, "unsubscribed");
  assert.equal(bob.state.state, "connected");
  await alice.close();
  await bob.close();
});

test("bad options and bad calls are typed errors", async () => {
  assert.throws(
    () => new Client({ url: "http://x", token: "t" }),
    (e) => isRoomcastError(e) && e.code === "invalid_config",
  );
  assert.throws(
    () => new Client({ url: "ws://x/ws" }),
    (e) => isRoomcastError(e) && e.code === "invalid_config",
  );
  const s = await server();
  const alice = client(s, "alice");
  await assert.rejects(alice.join("bad room!"), (e) => isRoomcastError(e) && e.code === "invalid_room");
  const room = await alice.join("conv-e");
  await assert.rejects(room.publish("x", undefined), (e) => isRoomcastError(e) && e.code === "invalid_payload");
  const limited = new Client({ url: s.url, token: token("eve", "conv-*"), backoff: fast });
  clients.push(limited);
  await assert.rejects(limited.join("secret"), (e) => isRoomcastError(e) && e.code === "forbidden");
  await limited.close();
  await alice.close();
});
