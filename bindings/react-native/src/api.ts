/**
 * The Roomcast client for React Native: the shared façade (bindings/shared, copied into
 * ./shared; the web package's API) over the uniffi bindings of the FFI crate (the same Rust
 * core the Swift package links). This file is the transport link (JSON payloads, 64-bit
 * integers as numbers, the bindings' errors as `RoomcastError`s, native objects released at
 * `close()`) and React Native's own hooks (`pending()`, `queued()`, the store path); it holds
 * no client logic.
 *
 * `./ffi` is the generated bindings: the JSI flavour in an app (src/ffi.ts), the N-API
 * flavour under Node for the tests (src/node/ffi.ts, swapped in when bundling them).
 */
import * as ffi from "./ffi";
import { toRoomcastError } from "./errors";
import { BaseClient, type ClientLink, type RoomLink, type RoomSink } from "./shared/client";
import { roomcastError } from "./shared/errors";
import { STREAM_STATES } from "./shared/types";
import type {
  ClientOptions,
  ConnectionStateInfo,
  Gap,
  JoinInfo,
  Member,
  MessageMeta,
  PublishAck,
  StoredMessage,
  StreamPiece,
  StreamState,
  StreamWriter,
} from "./shared/types";

export * from "./shared/index";

/** A persisted publish not yet acknowledged (`client.pending()`). */
export interface PendingPublish<T = unknown> {
  room: string;
  id: string;
  event: string;
  data: T;
}

const num = (n: bigint | number): number => Number(n);
const optNum = (n: bigint | number | undefined | null): number | undefined =>
  n === undefined || n === null ? undefined : Number(n);

function member(m: ffi.Member): Member {
  const out: Member = { user: m.user, client: m.client, source: m.source };
  if (m.name !== undefined && m.name !== null) out.name = m.name;
  return out;
}

function meta(m: ffi.Message): MessageMeta {
  const out: MessageMeta = { room: m.room, id: m.id, event: m.event, from: member(m.from), ts: num(m.ts) };
  const seq = optNum(m.seq);
  if (seq !== undefined) out.seq = seq;
  if (m.stream !== undefined && m.stream !== null) {
    out.stream = { state: streamState(m.stream.state), text: m.stream.text, n: num(m.stream.n) };
  }
  return out;
}

/** The bindings' `StreamState` (cases in the façade's order, open first) as its name. */
function streamState(s: ffi.StreamState): StreamState {
  return STREAM_STATES[s] ?? "failed";
}

function piece(p: ffi.StreamPiece): StreamPiece {
  const out: StreamPiece = {
    room: p.room,
    seq: num(p.seq),
    of: num(p.of),
    id: p.id,
    n: num(p.n),
    text: p.text,
    from: member(p.from),
    ts: num(p.ts),
  };
  if (p.end !== undefined && p.end !== null) out.end = streamState(p.end) as StreamPiece["end"];
  return out;
}

/**
 * The façade's writer over the bindings' `StreamWriter`, keeping call order. The bindings'
 * async calls reach the core in no guaranteed order when several are in flight, so one call
 * at a time goes to the writer: texts appended while one is in flight are sent together as
 * the next append (readers get the same text in fewer pieces; each call's promise resolves
 * with the ack of the append that carried its text), and an end goes after every text before
 * it. The cost: text appended while offline beyond the first append in flight waits here,
 * in memory, not in the store. `opened` is asked for once, and the native object is released
 * once the end and the opening ack have settled.
 */
function streamWriter(w: ffi.StreamWriterInterface): StreamWriter {
  const id = w.id();
  const opened = call(() => w.opened()).then(ack);
  type End = "done" | "failed" | "cancelled";
  type Call = { text: string; end?: End; resolve: (a: PublishAck) => void; reject: (e: unknown) => void };
  const queue: Call[] = [];
  let busy = false;
  let ended = false;
  const next = (): void => {
    if (busy || queue.length === 0) return;
    busy = true;
    let batch: Call[];
    let work: () => Promise<ffi.PublishAck>;
    const end = queue[0].end;
    if (end) {
      batch = queue.splice(0, 1);
      work = end === "done" ? () => w.finish() : end === "failed" ? () => w.fail() : () => w.cancel();
    } else {
      let n = 0;
      while (n < queue.length && !queue[n].end) n++;
      batch = queue.splice(0, n);
      const text = batch.map((c) => c.text).join("");
      work = () => w.append(text);
    }
    call(work)
      .then(ack)
      .then(
        (a) => batch.forEach((c) => c.resolve(a)),
        (e: unknown) => batch.forEach((c) => c.reject(e)),
      )
      .finally(() => {
        busy = false;
        if (end) void Promise.allSettled([opened]).then(() => destroy(w));
        next();
      });
  };
  const send = (text: string, end?: End): Promise<PublishAck> => {
    if (ended) return Promise.reject(roomcastError("stream_ended", `stream ${id} was ended by this writer`));
    if (end) ended = true;
    return new Promise<PublishAck>((resolve, reject) => {
      queue.push({ text, end, resolve, reject });
      next();
    });
  };
  return {
    id,
    opened,
    append: (text) => send(text),
    finish: () => send("", "done"),
    fail: () => send("", "failed"),
    cancel: () => send("", "cancelled"),
  };
}

function joinInfo(j: ffi.JoinInfo): JoinInfo {
  return {
    room: j.room,
    seq: num(j.seq),
    epoch: j.epoch,
    recovered: j.recovered,
    presence: j.presence.map(member),
    rejoin: j.rejoin,
  };
}

function ack(a: ffi.PublishAck): PublishAck {
  return { id: a.id, seq: optNum(a.seq) ?? null, ts: num(a.ts) };
}

/** Runs a call into the bindings; anything they throw becomes a `RoomcastError`. */
async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw toRoomcastError(e);
  }
}

function callSync<T>(work: () => T): T {
  try {
    return work();
  } catch (e) {
    throw toRoomcastError(e);
  }
}

function encode(data: unknown): string {
  const json = JSON.stringify(data);
  if (json === undefined) throw roomcastError("invalid_payload", "the payload has no JSON form");
  return json;
}

function roomLink(raw: ffi.RoomInterface, name: string, sink: RoomSink): RoomLink {
  const listener: ffi.RoomListener = {
    onMessage: (m) => {
      const info = meta(m);
      let data: unknown;
      try {
        data = JSON.parse(m.dataJson);
      } catch (e) {
        sink.error(roomcastError("decode", `message ${m.id} is not JSON`, { room: m.room, meta: info, cause: e }));
        return;
      }
      sink.message(info, data);
    },
    onPresence: (p) =>
      sink.presence({ room: p.room, event: p.kind === ffi.PresenceKind.Join ? "join" : "leave", member: member(p.member) }),
    onJoined: (j) => sink.joined(joinInfo(j)),
    onGap: (g) => {
      const gap: Gap = {
        room: g.room,
        since: optNum(g.since) ?? null,
        previousEpoch: g.previousEpoch ?? null,
        head: num(g.head),
        epoch: g.epoch,
      };
      sink.gap(gap);
    },
    onError: (e) => {
      // The server refused the automatic rejoin: the web package's `room_lost`, with the
      // refusal (`forbidden`, ...) as its cause.
      const cause = toRoomcastError(e);
      sink.error(roomcastError("room_lost", `room ${name} lost on rejoin: ${cause.message}`, { room: name, cause }));
    },
    onEnd: () => {},
  };
  let subscription: ffi.SubscriptionInterface | undefined = raw.subscribe(listener);
  let appends: ffi.SubscriptionInterface | undefined = raw.onAppend({ onAppend: (p) => sink.append(piece(p)) });
  return {
    join: async (options) => {
      const mode = options.resume;
      if (mode !== undefined && mode !== "full" && mode !== "latest") {
        throw roomcastError("invalid_config", `resume must be "full" or "latest", not ${JSON.stringify(mode)}`);
      }
      const resume = mode === "latest" ? ffi.ResumeMode.Latest : undefined;
      return joinInfo(await call(() => raw.join(resume)));
    },
    publish: async (event, data) => {
      const json = encode(data);
      return ack(await call(() => raw.publish(event, json)));
    },
    publishEphemeral: async (event, data) => {
      const json = encode(data);
      await call(() => raw.publishEphemeral(event, json));
    },
    history: async (before, limit) => {
      const page = await call(() => raw.history(before === undefined ? undefined : BigInt(before), limit ?? 50));
      return {
        messages: page.messages.map((m): StoredMessage => ({ ...meta(m), data: JSON.parse(m.dataJson) as unknown })),
        more: page.more,
      };
    },
    stream: (event, data) => {
      const json = encode(data);
      return streamWriter(callSync(() => raw.stream(event, json)));
    },
    cancelStream: async (id) => ack(await call(() => raw.cancelStream(id))),
    leave: () => call(() => raw.leave()),
    release: () => {
      subscription?.cancel();
      destroy(subscription);
      subscription = undefined;
      appends?.cancel();
      destroy(appends);
      appends = undefined;
      destroy(raw);
    },
  };
}

function clientLink(raw: ffi.ClientInterface): ClientLink {
  return {
    connect: () => call(() => raw.connect()),
    room: (name, sink) => roomLink(callSync(() => raw.room(name)), name, sink),
    state: () => stateInfo(raw.state()),
    watchState: (h) => {
      let subscription: ffi.SubscriptionInterface | undefined = raw.addStateListener({ onState: (s) => h(stateInfo(s)) });
      return () => {
        subscription?.cancel();
        destroy(subscription);
        subscription = undefined;
      };
    },
    // The bindings report nothing outside requests and rooms.
    watchErrors: () => () => {},
    setToken: (t) => raw.setToken(t),
    reconnectNow: () => raw.reconnectNow(),
    pause: () => raw.pause(),
    resume: () => raw.resume(),
    close: () => call(() => raw.close()),
  };
}

/**
 * A Roomcast client. Reconnects, rejoins and re-sends queued publishes on its own until
 * `close()`. Hermes has no `FinalizationRegistry`: call `close()` when done (a screen's
 * cleanup, or the hooks' `RoomcastProvider`), which also releases the native objects the
 * client made.
 */
export class Client extends BaseClient<ffi.ClientInterface> {
  /** Throws a `RoomcastError` (`invalid_config`) for unusable options. */
  constructor(options: ClientOptions) {
    const config = ffi.ClientConfig.create({
      url: options.url,
      token: options.token,
      clientId: options.clientId ?? randomId(),
      source: options.source ?? "react-native",
      name: options.name,
      minDelayMs: BigInt(options.backoff?.minDelayMs ?? 1000),
      maxDelayMs: BigInt(options.backoff?.maxDelayMs ?? 30000),
      maxAttempts: options.backoff?.maxAttempts ?? undefined,
      queueCapacity: options.queueCapacity ?? 1000,
      storePath: options.storePath,
      extraRootsDer: (options.extraRootsDer ?? []).map(toArrayBuffer),
    });
    const provider = options.tokenProvider;
    const tokenProvider: ffi.TokenProvider | undefined = provider && {
      fetchToken: async () => {
        try {
          return (await provider()) ?? undefined;
        } catch (e) {
          throw new ffi.RoomcastError.TokenProvider({ reason: e instanceof Error ? e.message : String(e) });
        }
      },
    };
    // A provider goes through the constructor that takes it as such: the bindings cannot
    // lower a JavaScript implementation inside an optional argument.
    const raw = callSync(() =>
      tokenProvider ? ffi.Client.withTokenProvider(config, tokenProvider) : new ffi.Client(config),
    );
    super(raw, clientLink(raw));
    if (options.storePath !== undefined) void this.showRestored();
  }

  /** Persisted publishes waiting for their ack (the "N queued" badge). */
  async queued(): Promise<number> {
    if (this.isClosed) throw roomcastError("closed", "the client is closed");
    return num(await call(() => this.raw.queued()));
  }

  /** Persisted publishes not yet acknowledged, oldest first (restored ones included). */
  async pending(): Promise<PendingPublish[]> {
    if (this.isClosed) throw roomcastError("closed", "the client is closed");
    const list = await call(() => this.raw.pending());
    return list.map((p) => ({ room: p.room, id: p.id, event: p.event, data: JSON.parse(p.dataJson) as unknown }));
  }

  /** Publishes restored from the store go to their rooms' `pending` until sent. The bindings
   * give no ack for them: each settles when `pending()` no longer lists it (checked every
   * 500 ms while any is left). */
  private async showRestored(): Promise<void> {
    let restored: PendingPublish[];
    try {
      restored = await this.pending();
    } catch {
      return;
    }
    const waiting = new Map<string, () => void>();
    for (const name of new Set(restored.map((p) => p.room))) {
      const entries = restored
        .filter((p) => p.room === name)
        .map((p) => ({ ...p, ack: new Promise<void>((resolve) => waiting.set(p.id, () => resolve())) }));
      this.room(name).restore(entries);
    }
    while (waiting.size > 0 && !this.isClosed) {
      await new Promise<void>((r) => setTimeout(() => r(), 500));
      let now: PendingPublish[];
      try {
        now = await this.pending();
      } catch {
        return;
      }
      const still = new Set(now.map((p) => p.id));
      for (const [id, resolve] of waiting) {
        if (!still.has(id)) {
          waiting.delete(id);
          resolve();
        }
      }
    }
  }
}

function stateInfo(s: ffi.ConnectionState): ConnectionStateInfo {
  switch (s.tag) {
    case ffi.ConnectionState_Tags.Idle:
      return { state: "idle" };
    case ffi.ConnectionState_Tags.Connecting:
      return { state: "connecting", attempt: s.inner.attempt };
    case ffi.ConnectionState_Tags.Connected:
      return { state: "connected" };
    case ffi.ConnectionState_Tags.Reconnecting:
      return { state: "reconnecting", attempt: s.inner.attempt, delayMs: num(s.inner.delayMs) };
    case ffi.ConnectionState_Tags.Paused:
      return { state: "paused" };
    case ffi.ConnectionState_Tags.Unauthorized:
      return { state: "unauthorized" };
    case ffi.ConnectionState_Tags.Closed:
      return { state: "closed" };
  }
}

function toArrayBuffer(der: ArrayBuffer | Uint8Array): ArrayBuffer {
  if (der instanceof ArrayBuffer) return der;
  return der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer;
}

/** A random client id (Hermes has no `crypto.randomUUID`); pass a stable one to keep the
 * server's deduplication and presence per device. */
function randomId(): string {
  let id = "rn-";
  for (let i = 0; i < 16; i++) id += Math.floor(Math.random() * 16).toString(16);
  return id;
}

/** Releases a native object now (`uniffiDestroy`), rather than whenever Hermes collects it. */
function destroy(object: unknown): void {
  const release = (object as { uniffiDestroy?: () => void } | undefined)?.uniffiDestroy;
  if (typeof release !== "function") return;
  try {
    release.call(object);
  } catch {
    // Already released.
  }
}
