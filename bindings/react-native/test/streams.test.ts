// Streamed messages through the React Native package's typed layer (over the N-API flavour of
// the generated bindings) against a real roomcast-server: a writer's pieces reach a reader
// once and in order, a late joiner gets the text so far and then the rest, a reader's cancel
// ends the writer's stream. The same cases as the web package's test/streams.test.mjs.
// Bundled by test/build.mjs; run by scripts/test-react-native.sh.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Client, isRoomcastError, type MessageMeta, type Room, type StreamPiece } from "../src/index";
import { Server, token, until } from "../../js/test/support.mjs";

const fast = { minDelayMs: 50, maxDelayMs: 300 };
const servers: Server[] = [];
const clients: Client[] = [];
async function server(): Promise<Server> {
  const s = new Server();
  servers.push(s);
  await s.start();
  return s;
}
after(async () => {
  for (const c of clients) await c.close();
  for (const s of servers) await s.dispose();
});

function client(s: Server, user: string): Client {
  const c = new Client({ url: s.url, token: token(user), clientId: `${user}-rn`, name: user, source: "react-native", backoff: fast });
  clients.push(c);
  return c;
}

/** Pieces of distinct text, so a repeat, a loss or a swap changes the joined text. */
const pieces = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `w${from + i} `);

/** Everything a room shows of its streams: opening messages and pieces, in arrival order. */
function watch(room: Room) {
  const seen = { opened: [] as { data: unknown; meta: MessageMeta }[], pieces: [] as StreamPiece[] };
  room.on("assistant.reply", (data, meta) => seen.opened.push({ data, meta }));
  room.onAppend((p) => seen.pieces.push(p));
  return seen;
}

test("a writer streams 200 pieces; a reader gets each once, in order, as one growing text", async () => {
  const s = await server();
  const writerClient = client(s, "assistant");
  const writerRoom = await writerClient.join("conv-stream");
  const readerRoom = await client(s, "ann").join("conv-stream");
  const seen = watch(readerRoom);

  const writer = writerRoom.stream("assistant.reply", { role: "assistant" });
  assert.equal(typeof writer.id, "string");
  const text = pieces(0, 200);
  // Not awaited one by one: the client queues them in call order.
  const acks = text.map((t) => writer.append(t));
  const end = writer.finish();
  const opened = await writer.opened;
  assert.equal(typeof opened.seq, "number");
  const all = await Promise.all([...acks, end]);
  // Every piece its own seq, after the opening message's, increasing.
  // Every piece after the opening message, in call order. Texts appended while another append
  // is in flight go out together (the bindings' calls are not ordered otherwise), so calls
  // may share an ack: non-decreasing, and fewer appends than calls at most.
  const seqs = all.map((a) => a.seq as number);
  assert.ok(seqs.every((q, i) => q >= (i === 0 ? (opened.seq as number) + 1 : seqs[i - 1])), `seqs ${seqs.slice(0, 5)}...`);
  assert.ok(seqs[seqs.length - 1] > seqs[seqs.length - 2], "the end is an append of its own");

  // The reader's async iterator, started once the opening message is there.
  await until(() => seen.opened.length === 1, "the opening message");
  let iterated = "";
  for await (const delta of readerRoom.pieces(writer.id)) iterated += delta;
  const full = text.join("");
  assert.equal(iterated, full);
  assert.deepEqual(readerRoom.reply(writer.id), { id: writer.id, text: full, state: "done" });

  const [open] = seen.opened;
  assert.deepEqual(open.data, { role: "assistant" });
  assert.equal(open.meta.id, writer.id);
  assert.equal(open.meta.seq, opened.seq);
  assert.equal(open.meta.stream?.state, "open");
  // The opening message's text plus each piece once, in order, the last one ending it.
  assert.equal(open.meta.stream?.text + seen.pieces.map((p) => p.text).join(""), full);
  const ns = seen.pieces.map((p) => p.n);
  assert.deepEqual(ns, [...ns].sort((a, b) => a - b));
  assert.equal(new Set(ns).size, ns.length);
  assert.ok(seen.pieces.every((p) => p.id === writer.id && p.of === opened.seq && p.from.user === "assistant"));
  assert.equal(seen.pieces[seen.pieces.length - 1].end, "done");
  assert.ok(seen.pieces.slice(0, -1).every((p) => p.end === undefined));

  // The writer's own view grew with its acks; history holds the whole reply in one message.
  assert.deepEqual(writerRoom.reply(writer.id), { id: writer.id, text: full, state: "done" });
  // Appends are history items of their own: a page long enough to hold the opening message.
  const page = await readerRoom.history({ limit: 500 });
  assert.equal(page.messages.length, 1);
  const stored = page.messages[0].stream;
  assert.deepEqual({ state: stored?.state, text: stored?.text }, { state: "done", text: full });
  assert.equal(stored?.n, new Set(seqs).size, "one append per distinct ack");
  // An ended stream takes no more pieces.
  await assert.rejects(writer.append("late"), (e) => isRoomcastError(e) && e.code === "stream_ended");
  // A payload with no JSON form is refused at once; so is a stream on a closed client.
  assert.throws(() => writerRoom.stream("assistant.reply", undefined), (e) => isRoomcastError(e) && e.code === "invalid_payload");
  await readerRoom.leave();
  await writerClient.close();
  assert.throws(() => writerRoom.stream("assistant.reply", {}), (e) => isRoomcastError(e) && e.code === "closed");
});

test("a reader joining mid-reply gets the text so far, then the rest", async () => {
  const s = await server();
  const writerRoom = await client(s, "assistant").join("conv-late");
  const writer = writerRoom.stream("assistant.reply", { role: "assistant" });
  const first = pieces(0, 100);
  await Promise.all(first.map((t) => writer.append(t)));
  const soFar = first.join("");

  // A member joining mid-reply (React Native keeps positions in its store: this one has none):
  // history has the text so far, folded into the opening message; the next live piece brings
  // the opening message itself with the text so far, then pieces follow.
  const late = client(s, "cleo").room("conv-late");
  const seen = watch(late);
  const deltas: string[] = [];
  void (async () => {
    // Started before the opening message is there: it waits for it.
    for await (const d of late.pieces(writer.id)) deltas.push(d);
  })();
  await late.join();
  const page = await late.history({ limit: 500 });
  assert.deepEqual(page.messages.map((m) => [m.stream?.state, m.stream?.text]), [["open", soFar]]);
  assert.equal(seen.opened.length, 0);

  const rest = pieces(100, 200);
  for (const t of rest) void writer.append(t);
  await writer.finish();
  const full = [...first, ...rest].join("");
  await until(() => late.reply(writer.id)?.state === "done", "the end");
  assert.equal(late.reply(writer.id)?.text, full);
  // Shown once: the opening message (with the text so far) and then only later pieces.
  assert.equal(seen.opened.length, 1);
  const shown = seen.opened[0].meta.stream?.text ?? "";
  assert.ok(shown.startsWith(soFar), "the opening message carries the text so far");
  assert.equal(shown + seen.pieces.map((p) => p.text).join(""), full);
  await until(() => deltas.join("") === full, "the iterator's text");
  assert.ok(deltas[0].startsWith(soFar));
});

test("a reader's cancel ends the writer's stream", async () => {
  const s = await server();
  const writerRoom = await client(s, "assistant").join("conv-cancel");
  const readerRoom = await client(s, "ann").join("conv-cancel");
  const seen = watch(readerRoom);
  const writer = writerRoom.stream("assistant.reply", { role: "assistant" });
  await writer.append("Once upon ");
  await until(() => readerRoom.reply(writer.id)?.text === "Once upon ", "the first piece");

  const ack = await readerRoom.cancelStream(writer.id);
  assert.equal(typeof ack.seq, "number");
  // The writer learns it from the server's end piece, and its next append is refused.
  await until(() => writerRoom.reply(writer.id)?.state === "cancelled", "the writer's view of the cancel");
  await assert.rejects(writer.append("a time"), (e) => isRoomcastError(e) && e.code === "stream_ended");
  assert.deepEqual(readerRoom.reply(writer.id), { id: writer.id, text: "Once upon ", state: "cancelled" });
  const last = seen.pieces[seen.pieces.length - 1];
  assert.equal(last.end, "cancelled");
  assert.equal(last.from.user, "ann");
  // Cancelling an ended stream answers the same final piece.
  assert.equal((await readerRoom.cancelStream(writer.id)).seq, ack.seq);
  // No such stream: a typed error.
  await assert.rejects(readerRoom.cancelStream("no-such-stream"), (e) => isRoomcastError(e) && e.code === "not_found");
});

test("pieces queued offline and a server killed mid-reply: the reader's text is the writer's, once each", async () => {
  const s = await server();
  const writerRoom = await client(s, "assistant").join("conv-kill");
  const readerRoom = await client(s, "ann").join("conv-kill");
  const seen = watch(readerRoom);
  const writer = writerRoom.stream("assistant.reply", { role: "assistant" });
  const first = pieces(0, 50);
  await Promise.all(first.map((t) => writer.append(t)));
  await s.stop("SIGKILL");
  // Queued while the server is down, sent once after the reconnect, in order.
  const rest = pieces(50, 100);
  const acks = rest.map((t) => writer.append(t));
  const end = writer.finish();
  await s.start();
  await Promise.all([...acks, end]);
  const full = [...first, ...rest].join("");
  await until(() => readerRoom.reply(writer.id)?.state === "done", "the end at the reader");
  assert.equal(readerRoom.reply(writer.id)?.text, full);
  assert.equal(writerRoom.reply(writer.id)?.text, full);
  const stored = (await readerRoom.history({ limit: 500 })).messages;
  assert.equal(stored.length, 1);
  assert.equal(stored[0].stream?.text, full);
  // Whatever the reader was shown (pieces, or the opening message again with the text so
  // far after a resume), no piece index twice.
  const ns = seen.pieces.map((p) => p.n);
  assert.equal(new Set(ns).size, ns.length);
});
