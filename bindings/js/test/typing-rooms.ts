// Compile-time checks of typed rooms, Standard Schema decoding, call options and the React
// hooks (tsc --noEmit -p tsconfig.test.json; never run). Each `@ts-expect-error` must be an
// error: tsc fails on one that is not.
import {
  Client,
  type MessageMeta,
  type StandardSchemaV1,
  type Received,
  type PublishAck,
  type Reply,
  type StreamPiece,
  type StreamState,
  type StreamWriter,
} from "../src/api.js";
import { useMessages, usePublish, useRoom, useStream } from "../src/react.js";

interface Chat {
  role: "user" | "assistant";
  content: string;
}
type Events = { "chat.message": Chat; typing: { user: string } };
type Conversation = Events & { "assistant.reply": { role: "assistant" } };

/** A Standard Schema validator as zod, valibot or arktype make one (no dependency). */
function schema<T>(check: (v: unknown) => v is T): StandardSchemaV1<unknown, T> {
  return {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (value) => (check(value) ? { value } : { issues: [{ message: "wrong shape" }] }),
    },
  };
}
const isChat = (d: unknown): d is Chat => typeof d === "object" && d !== null && typeof (d as Chat).content === "string";
const chatSchema = schema(isChat);

export async function typedRooms(client: Client): Promise<void> {
  const room = client.room<Events>("conv-1");
  // Publish: names and payloads from the map.
  await room.publish("chat.message", { role: "user", content: "hi" });
  await room.publish("typing", { user: "ann" });
  // @ts-expect-error: not an event of the map
  await room.publish("chat.mesage", { role: "user", content: "hi" });
  // @ts-expect-error: the payload of another event
  await room.publish("typing", { role: "user", content: "hi" });
  // @ts-expect-error: a payload of the wrong shape
  await room.publish("chat.message", { role: "robot", content: 1 });
  // @ts-expect-error: per-call payload types are for untyped rooms only
  await room.publish<string>("chat.message", "hi");

  // Handlers: the payload type comes from the map.
  room.on("chat.message", (msg, meta: MessageMeta) => {
    const text: string = msg.content;
    // @ts-expect-error: no such field on Chat
    void msg.text;
    void text, meta;
  });
  room.on("typing", (t) => void (t.user satisfies string));
  // @ts-expect-error: not an event of the map
  room.on("chat.mesage", () => {});
  // The wildcard gets any payload of the map.
  room.on("*", (msg) => {
    const m: Chat | { user: string } = msg;
    void m;
  });
  // Standard Schema decoding of the event's type.
  room.on("chat.message", (msg) => void msg.content, { decode: chatSchema });
  // @ts-expect-error: a schema for another type
  room.on("typing", () => {}, { decode: chatSchema });

  // Async iteration and history typed too.
  for await (const m of room.messages("chat.message")) {
    const r: Received<Chat> = m;
    void r;
    break;
  }
  const page = await room.history({ limit: 10, signal: AbortSignal.timeout(1000) });
  const data: Chat | { user: string } = page.messages[0].data;
  void data;

  // Call options.
  const ack: PublishAck = await room.publish("typing", { user: "a" }, { signal: new AbortController().signal, timeoutMs: 500 });
  void ack;
  await client.connect({ timeoutMs: 1000 });
  // @ts-expect-error: timeoutMs is a number
  await client.connect({ timeoutMs: "1s" });

  // Untyped rooms keep per-call types, and infer them from a schema or a guard.
  const open = client.room("conv-2");
  open.on<Chat>("chat.message", (msg) => void msg.content);
  open.on("chat.message", (msg) => void msg.content, { decode: chatSchema });
  await open.publish<Chat>("chat.message", { role: "user", content: "x" });
  // @ts-expect-error: the payload must match the type argument
  await open.publish<Chat>("chat.message", { content: 1 });
  // @ts-expect-error: a schema must produce the handler's type
  open.on<{ user: string }>("typing", () => {}, { decode: chatSchema });

  // Streams: the opening message's payload typed by the map like a publish.
  const conv = client.room<Conversation>("conv-3");
  const writer: StreamWriter = conv.stream("assistant.reply", { role: "assistant" });
  const opened: PublishAck = await writer.opened;
  await writer.append("Hel");
  await writer.finish();
  // @ts-expect-error: the payload of another event
  conv.stream("assistant.reply", { role: "user", content: "hi" });
  // @ts-expect-error: not an event of the map
  conv.stream("assistant.replies", { role: "assistant" });
  // @ts-expect-error: text only
  void writer.append(42);
  const anyWriter = open.stream<{ n: number }>("job.log", { n: 1 });
  void (anyWriter.id satisfies string), opened;
  await conv.cancelStream(writer.id, { timeoutMs: 1000 });
  conv.onAppend((p: StreamPiece) => void (p.end satisfies Exclude<StreamState, "open"> | undefined));
  conv.on("assistant.reply", (_msg, meta) => void meta.stream?.text);
  const reply: Reply | undefined = conv.reply(writer.id);
  void reply?.state;
  for await (const delta of conv.pieces(writer.id, { signal: AbortSignal.timeout(1000) })) void (delta satisfies string);

  // `await using` closes the client at the end of the scope.
  {
    await using scoped = new Client({ url: "ws://localhost:1/ws" });
    void scoped;
  }
}

export function Hooks(): null {
  const room = useRoom<Conversation>("conv-1");
  const { messages, loadEarlier } = useMessages(room, "chat.message", { decode: chatSchema });
  const first: Chat | undefined = messages[0]?.data;
  void first, loadEarlier;
  // @ts-expect-error: not an event of the map
  useMessages(room, "chat.mesage");
  const publish = usePublish(room);
  void publish("chat.message", { role: "user", content: "hi" });
  // @ts-expect-error: the payload of another event
  void publish("typing", { role: "user", content: "hi" });
  const replies = useMessages(room, ["chat.message", "assistant.reply"]).messages;
  // @ts-expect-error: not an event of the map
  useMessages(room, ["chat.message", "assistant.replies"]);
  const text: string | undefined = replies[0]?.stream?.text;
  const reply: Reply | undefined = useStream(room, replies[0]?.id);
  void text, reply;
  return null;
}
