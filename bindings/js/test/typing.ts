// Compile-time checks of the public types (tsc --noEmit -p tsconfig.test.json): typed
// handlers, publish<T>, error narrowing. Never run.
import { Client, guard, isRoomcastError, type MessageMeta, type Unsubscribe } from "../src/api.js";

interface ChatMessage {
  role: "user" | "assistant";
  content: string;
}
const isChat = (d: unknown): d is ChatMessage =>
  typeof d === "object" && d !== null && typeof (d as ChatMessage).content === "string";

export async function typing(): Promise<void> {
  const client = new Client({ url: "ws://localhost:8080/ws", token: "t", source: "web" });
  const room = await client.join("conv-1");

  const off: Unsubscribe = room.on<ChatMessage>("chat.message", (msg, meta: MessageMeta) => {
    const text: string = msg.content;
    const seq: number | undefined = meta.seq;
    void text;
    void seq;
  }, { decode: guard(isChat, "chat message") });
  off();

  await room.publish<ChatMessage>("chat.message", { role: "user", content: "hi" });
  // @ts-expect-error: the payload must match the type argument
  await room.publish<ChatMessage>("chat.message", { role: "robot", content: 1 });
  // @ts-expect-error: a decoder must produce the handler's type
  room.on<ChatMessage>("chat.message", () => {}, { decode: (d: unknown) => String(d) });

  client.onState((s) => {
    if (s.state === "reconnecting") console.log(s.delayMs, client.queued);
  });
  try {
    await room.history({ before: 10, limit: 20 });
  } catch (e) {
    if (isRoomcastError(e) && e.code === "not_connected") console.log(e.message);
  }
  await client.close();
}

// ---------------------------------------------------------------------------------------
// The web package's raw `.d.ts` (sdk-wasm/src/lib.rs's TypeScript section) and the shared
// façade's types (bindings/shared/types.ts) are one set of names and shapes: a change on
// either side that the other lacks fails here.
import type * as raw from "../wasm/roomcast_wasm.js";
import type * as shared from "../src/shared/types.js";

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
type WithoutCall<T> = Omit<T, keyof shared.CallOptions>;
export const sameAsTheWasmDeclarations: [
  Equal<raw.ErrorCode, shared.ErrorCode>,
  Equal<raw.ConnectionStateName, shared.ConnectionStateName>,
  Equal<raw.ConnectionStateInfo, shared.ConnectionStateInfo>,
  Equal<raw.BackoffOptions, shared.BackoffOptions>,
  Equal<raw.TokenProvider, shared.TokenProvider>,
  Equal<raw.ClientOptions, shared.ClientOptions>,
  Equal<raw.Member, shared.Member>,
  Equal<raw.MessageMeta, shared.MessageMeta>,
  Equal<raw.StoredMessage, shared.StoredMessage>,
  Equal<raw.Presence, shared.Presence>,
  Equal<raw.JoinInfo, shared.JoinInfo>,
  Equal<raw.Gap, shared.Gap>,
  Equal<raw.PublishAck, shared.PublishAck>,
  Equal<raw.HistoryPage, shared.HistoryPage>,
  Equal<raw.JoinOptions, WithoutCall<shared.JoinOptions>>,
  Equal<raw.PublishOptions, WithoutCall<shared.PublishOptions>>,
  Equal<raw.HistoryOptions, WithoutCall<shared.HistoryOptions>>,
  Equal<raw.RoomcastError["code"], shared.RoomcastError["code"]>,
  Equal<raw.StreamState, shared.StreamState>,
  Equal<raw.StreamInfo, shared.StreamInfo>,
  Equal<raw.StreamPiece, shared.StreamPiece>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];

/** sdk-wasm's writer is what the façade's `RoomLink.stream` hands on as a `StreamWriter`. */
export const wasmWriterIsAStreamWriter = (w: raw.StreamWriter): shared.StreamWriter => w;
