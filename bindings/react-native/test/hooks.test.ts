// The React hooks (bindings/shared/react.ts, `roomcast-react-native/react`) in Node with
// react-test-renderer, over the N-API flavour of the bindings, against a real
// roomcast-server: StrictMode's double mount joins once, two components share one join,
// unmount leaves and closes, a server killed and restarted keeps every message once in
// useMessages, and publishes restored from a store show as pending, then as sent.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StrictMode, createElement, type ReactElement } from "react";
import { create, type ReactTestRenderer } from "react-test-renderer";
import { Client, Room, isRoomcastError, type ClientOptions, type Member, type Reply } from "../src/index";
import {
  RoomcastProvider,
  useConnectionState,
  useMessages,
  usePresence,
  usePublish,
  useRoom,
  useStream,
  type MessagesView,
} from "../src/react";
import { Server, token, until, sleep } from "../../js/test/support.mjs";

type Events = { n: number };
type Seen = { view?: MessagesView<number>; members?: readonly Member[]; state?: string; publish?: (e: "n", d: number) => Promise<unknown> };

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

/** Counts `Room.join` and `Room.leave` calls while `work` runs. */
async function counting<T>(work: (calls: { join: number; leave: number }) => Promise<T>): Promise<T> {
  const calls = { join: 0, leave: 0 };
  const { join: realJoin, leave: realLeave } = Room.prototype;
  Room.prototype.join = function (this: Room, ...a: Parameters<Room["join"]>) {
    calls.join++;
    return realJoin.apply(this, a);
  };
  Room.prototype.leave = function (this: Room) {
    calls.leave++;
    return realLeave.apply(this);
  };
  try {
    return await work(calls);
  } finally {
    Room.prototype.join = realJoin;
    Room.prototype.leave = realLeave;
  }
}

function Probe(props: { room: string; seen: Seen }): null {
  const room = useRoom<Events>(props.room);
  props.seen.view = useMessages(room, "n");
  props.seen.members = usePresence(room);
  props.seen.state = useConnectionState().state;
  props.seen.publish = usePublish(room);
  return null;
}

/** Renders without React's `act`: its task queue is a MessageChannel in an ES module bundle,
 * whose ports keep Node alive. The hooks' updates come from the server anyway; the tests wait
 * for what they expect to see. */
async function inAct(work: () => void): Promise<void> {
  work();
  await sleep(20);
}

async function render(element: ReactElement): Promise<ReactTestRenderer> {
  const root = create(element);
  await sleep(20);
  return root;
}

test("StrictMode joins once, two components share the join, unmount leaves and closes", async () => {
  const s = await server();
  const bob = client(s, "bob");
  const rb = await bob.join("hooks-1");
  await counting(async (calls) => {
    let made = 0;
    let alice: Client | undefined;
    const factory = () => {
      made++;
      alice = client(s, "alice");
      return alice;
    };
    const one: Seen = {};
    const two: Seen = {};
    const tree = (probes: number) =>
      createElement(
        StrictMode,
        null,
        createElement(
          RoomcastProvider,
          { client: factory },
          probes > 0 ? createElement(Probe, { room: "hooks-1", seen: one }) : null,
          probes > 1 ? createElement(Probe, { room: "hooks-1", seen: two }) : null,
        ),
      );
    const root = await render(tree(2));
    await until(() => one.members?.length === 2 && two.members?.length === 2, "both see alice and bob");
    assert.equal(made, 1, "one client for the provider");
    assert.equal(calls.join, 1, "one join for StrictMode's double mount and two components");
    assert.equal(one.state, "connected");
    assert.deepEqual(rb.members.map((m) => m.user).sort(), ["alice", "bob"]);

    // One of two unmounts: still joined. Bob's message reaches the other.
    await inAct(() => root.update(tree(1)));
    await rb.publish("n", 1);
    await until(() => one.view?.messages.length === 1, "the message");
    assert.equal(calls.leave, 0);
    // Own publishes are listed as sent once acknowledged.
    assert.ok(one.publish, "usePublish gave a function");
    await one.publish("n", 2);
    await until(() => one.view?.messages.length === 2 && one.view.messages.every((m) => !m.pending), "own message listed as sent");
    assert.deepEqual(one.view?.messages.map((m) => [m.data, m.seq, m.own, m.pending]), [[1, 1, false, false], [2, 2, true, false]]);

    // The last component on the room unmounts: the room is left, the client stays.
    await inAct(() => root.update(tree(0)));
    await until(() => rb.members.length === 1, "alice left");
    assert.equal(calls.leave, 1);
    assert.equal(alice?.state.state, "connected");
    // The provider unmounts: its client is closed.
    await inAct(() => root.unmount());
    await until(() => alice?.state.state === "closed", "the provider's client closed");
  });
});

test("kill -9 and restart: every message once in useMessages; loadEarlier pages in the rest", async () => {
  const s = await server();
  const bob = client(s, "bob");
  const rb = await bob.join("hooks-2");
  for (const n of [1, 2, 3]) await rb.publish("n", n);
  const seen: Seen = {};
  const root = await render(
    createElement(RoomcastProvider, { client: () => client(s, "alice") }, createElement(Probe, { room: "hooks-2", seen })),
  );
  await until(() => seen.members?.length === 2, "joined");
  await rb.publish("n", 4);
  await until(() => seen.view?.messages.length === 1, "live message");
  // A crash with a burst in flight, more while it is down (through the HTTP-less way:
  // bob's queue), then the restart.
  const burst = [5, 6, 7].map((n) => rb.publish("n", n));
  await s.stop("SIGKILL");
  await until(() => seen.state !== "connected", "offline");
  // The state and the member list are two stores a render may see one after the other.
  await until(() => seen.members?.length === 0, "members unknown while offline");
  const queued = [8, 9].map((n) => rb.publish("n", n));
  await sleep(200);
  await s.start();
  await Promise.all([...burst, ...queued]);
  await until(() => seen.view?.messages.at(-1)?.data === 9, "caught up");
  await sleep(300);
  const live = seen.view?.messages.map((m) => m.data) ?? [];
  assert.deepEqual(live, [4, 5, 6, 7, 8, 9], "each once, in order");
  // The three from before the mount, from history, not twice.
  const more = await seen.view?.loadEarlier(10);
  assert.equal(more, false);
  await until(() => seen.view?.messages.length === 9, "history in");
  assert.deepEqual(seen.view?.messages.map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await inAct(() => root.unmount());
});

test("publishes restored from a store show as pending, then as sent, once", async () => {
  const s = await server();
  const dir = mkdtempSync(join(tmpdir(), "roomcast-rn-hooks-"));
  try {
    const first = client(s, "alice", { storePath: dir });
    const ra = await first.join("hooks-3");
    await s.stop("SIGKILL");
    await until(() => first.state.state !== "connected", "offline");
    const unsent = [1, 2].map((n) => ra.publish("n", n).catch((e: unknown) => e));
    await until(async () => (await first.pending()).length === 2, "stored");
    await first.close();
    for (const r of await Promise.all(unsent)) assert.ok(isRoomcastError(r) && r.code === "kept");

    const seen: Seen = {};
    const history: boolean[][] = [];
    const root = await render(
      createElement(RoomcastProvider, { client: () => client(s, "alice", { storePath: dir }) }, createElement(Probe, { room: "hooks-3", seen })),
    );
    await until(() => seen.view?.messages.length === 2, "restored, shown");
    history.push(seen.view?.messages.map((m) => m.pending) ?? []);
    assert.deepEqual(seen.view?.messages.map((m) => [m.data, m.pending, m.own]), [[1, true, true], [2, true, true]]);
    await s.start();
    await until(() => seen.view?.messages.every((m) => !m.pending) === true, "sent", 15_000);
    assert.deepEqual(seen.view?.messages.map((m) => m.data), [1, 2], "once each");
    const bob = client(s, "bob");
    const page = await bob.room("hooks-3").history({ limit: 10 });
    assert.deepEqual(page.messages.map((m) => m.data), [1, 2], "stored once each");
    await inAct(() => root.unmount());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

type Conversation = { "chat.message": { content: string }; "assistant.reply": { role: string } };
const CONVERSATION = ["chat.message", "assistant.reply"] as const;

function ReplyProbe(props: { room: string; seen: { view?: MessagesView<unknown>; reply?: Reply; renders: number } }): null {
  const room = useRoom<Conversation>(props.room);
  // A new array on every render: the list must stay the same one.
  const view = useMessages(room, [...CONVERSATION]);
  props.seen.view = view;
  props.seen.reply = useStream(room, view.messages.find((m) => m.stream)?.id);
  props.seen.renders++;
  return null;
}

test("useMessages lists chat messages and streamed replies in one list, the reply growing in place; useStream follows it", async () => {
  const s = await server();
  const writerRoom = await client(s, "assistant").join("hooks-stream");
  const seen: { view?: MessagesView<unknown>; reply?: Reply; renders: number } = { renders: 0 };
  const reader = client(s, "ann");
  const root = await render(
    createElement(RoomcastProvider, { client: reader }, createElement(ReplyProbe, { room: "hooks-stream", seen })),
  );
  await until(() => reader.room("hooks-stream").members.length === 2, "joined");
  await writerRoom.publish("chat.message", { content: "question" });
  const writer = writerRoom.stream("assistant.reply", { role: "assistant" });
  await writer.append("The ");
  await until(() => seen.view?.messages.length === 2 && seen.reply?.text === "The ", "the reply's first piece");
  const words = Array.from({ length: 30 }, (_, i) => `w${i} `);
  for (const w of words) void writer.append(w);
  await writer.finish();
  const full = "The " + words.join("");
  await until(() => seen.reply?.state === "done", "the reply's end");
  const messages = seen.view?.messages ?? [];
  // One entry per message, in seq order; the reply's entry carries the whole text.
  assert.deepEqual(messages.map((m) => m.data), [{ content: "question" }, { role: "assistant" }]);
  assert.equal(messages[1].id, writer.id);
  assert.deepEqual(messages[1].stream, { id: writer.id, text: full, state: "done" });
  assert.deepEqual(seen.reply, { id: writer.id, text: full, state: "done" });
  assert.equal(messages[0].stream, undefined);
  await inAct(() => root.unmount());
});
