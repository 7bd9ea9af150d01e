/**
 * The Roomcast client for React Native: a thin typed layer over the uniffi bindings of the
 * FFI crate (the same Rust core the Swift package links), with the API of the web package
 * (`bindings/js/src/api.ts`), so dashboard code and React Native code read alike. It adds
 * generics, JSON payloads, handler lists with unsubscribe functions and `RoomcastError`s with
 * the web package's codes; it holds no client logic (backoff, queue, resume: the core's).
 *
 * `./ffi` is the generated bindings: the JSI flavour in an app (src/ffi.ts), the N-API
 * flavour under Node for the tests (src/node/ffi.ts, swapped in when bundling them).
 */
import * as ffi from "./ffi";
import { toRoomcastError, roomcastError, type RoomcastError } from "./errors";
import type {
  ClientOptions,
  ConnectionStateInfo,
  Gap,
  HistoryOptions,
  HistoryPage,
  JoinInfo,
  JoinOptions,
  Member,
  MessageMeta,
  PendingPublish,
  Presence,
  PublishAck,
  StoredMessage,
} from "./types";

export type {
  BackoffOptions,
  ClientOptions,
  ConnectionStateInfo,
  ConnectionStateName,
  Gap,
  HistoryOptions,
  HistoryPage,
  JoinInfo,
  JoinOptions,
  Member,
  MessageMeta,
  PendingPublish,
  Presence,
  PublishAck,
  StoredMessage,
  TokenProvider,
} from "./types";
export { ERROR_CODES, isRoomcastError, type ErrorCode, type RoomcastError } from "./errors";

/** Removes the handler it was returned for. Calling it twice is harmless. */
export type Unsubscribe = () => void;

/** Turns an untrusted payload into `T`, or throws (the error goes to `onError`). */
export type Decoder<T> = (data: unknown) => T;

export interface OnOptions<T> {
  /**
   * Checks the payload at runtime: TypeScript types are erased, so only a decoder can catch
   * a payload of the wrong shape. A decoder that throws sends a `decode` error to the room's
   * `onError` handlers (else the client's) and the handler is skipped.
   */
  decode?: Decoder<T>;
}

/** A decoder from a type guard: `room.on("chat", h, { decode: guard(isChat) })`. */
export function guard<T>(is: (data: unknown) => data is T, what = "payload"): Decoder<T> {
  return (data) => {
    if (!is(data)) throw new TypeError(`${what} has an unexpected shape`);
    return data;
  };
}

/** Handlers of one kind, in registration order; removing one during a dispatch is safe. */
class Handlers<H> {
  private list: { h: H }[] = [];

  add(h: H): Unsubscribe {
    const entry = { h };
    this.list = [...this.list, entry];
    return () => {
      this.list = this.list.filter((e) => e !== entry);
    };
  }

  get size(): number {
    return this.list.length;
  }

  /** Calls each handler; one that throws is reported to `failed` and the others still run. */
  each(call: (h: H) => void, failed: (e: unknown) => void): void {
    for (const { h } of this.list) {
      try {
        call(h);
      } catch (e) {
        failed(e);
      }
    }
  }

  clear(): void {
    this.list = [];
  }
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
  return out;
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
async function call<T>(work: () => Promise<T>, client?: Client): Promise<T> {
  // After `close()` the native objects are released: answer as the core would.
  if (client?.isClosed) throw roomcastError("closed", "the client is closed");
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

type MessageHandler = { event: string; handler: (msg: unknown, meta: MessageMeta) => void; decode?: Decoder<unknown> };

/**
 * A room of a client. Handlers stay registered across reconnects and rejoins. They run on the
 * JS thread, one event at a time per room and in order; the SDK thread delivering the room's
 * events waits for them, the connection (pings, acks, other rooms) does not.
 */
export class Room {
  private readonly messages = new Handlers<MessageHandler>();
  private readonly presence = new Handlers<(p: Presence) => void>();
  private readonly gaps = new Handlers<(g: Gap) => void>();
  private readonly joins = new Handlers<(j: JoinInfo) => void>();
  private readonly errors = new Handlers<(e: RoomcastError) => void>();
  /** The one listener this room registers in the core, for the room's life. */
  private subscription: ffi.SubscriptionInterface | undefined;
  /** Kept here: the native room is released at the client's `close()`. */
  readonly name: string;

  /** @internal */
  constructor(
    readonly raw: ffi.RoomInterface,
    private readonly client: Client,
  ) {
    const listener: ffi.RoomListener = {
      onMessage: (m) => this.dispatchMessage(m),
      onPresence: (p) =>
        this.presence.each(
          (h) => h({ room: p.room, event: p.kind === ffi.PresenceKind.Join ? "join" : "leave", member: member(p.member) }),
          (e) => this.handlerFailed(e),
        ),
      onJoined: (j) => {
        const info = joinInfo(j);
        this.joins.each((h) => h(info), (e) => this.handlerFailed(e));
      },
      onGap: (g) => {
        const gap: Gap = {
          room: g.room,
          since: optNum(g.since) ?? null,
          previousEpoch: g.previousEpoch ?? null,
          head: num(g.head),
          epoch: g.epoch,
        };
        this.gaps.each((h) => h(gap), (e) => this.handlerFailed(e));
      },
      onError: (e) => {
        // The server refused the automatic rejoin: the web package's `room_lost`, with the
        // refusal (`forbidden`, ...) as its cause.
        const cause = toRoomcastError(e);
        this.report(roomcastError("room_lost", `room ${this.name} lost on rejoin: ${cause.message}`, { room: this.name, cause }));
      },
      onEnd: () => {},
    };
    this.name = raw.name();
    this.subscription = raw.subscribe(listener);
  }

  /** Joins (a client never connected connects first, in the core); resolves at the server's
   * `joined`. */
  async join(options?: JoinOptions): Promise<JoinInfo> {
    const mode = options?.resume;
    if (mode !== undefined && mode !== "full" && mode !== "latest") {
      throw roomcastError("invalid_config", `resume must be "full" or "latest", not ${JSON.stringify(mode)}`);
    }
    const resume = mode === "latest" ? ffi.ResumeMode.Latest : undefined;
    return joinInfo(await call(() => this.raw.join(resume), this.client));
  }

  /**
   * Publishes a persisted message: queued while offline and re-sent with the same id after
   * reconnects until acknowledged; resolves with its `seq`.
   */
  async publish<T>(event: string, data: T): Promise<PublishAck> {
    const json = encode(data);
    return ack(await call(() => this.raw.publish(event, json), this.client));
  }

  /** Publishes to members present now; never queued, rejects with `not_connected` offline. */
  async publishEphemeral<T>(event: string, data: T): Promise<void> {
    const json = encode(data);
    await call(() => this.raw.publishEphemeral(event, json), this.client);
  }

  /**
   * Calls `handler(msg, meta)` for each `event` message (`"*"`: every event), each stored
   * message exactly once and in `seq` order, replays after a reconnect included.
   */
  on<T = unknown>(event: string, handler: (msg: T, meta: MessageMeta) => void, options?: OnOptions<T>): Unsubscribe {
    return this.messages.add({
      event,
      handler: handler as (msg: unknown, meta: MessageMeta) => void,
      decode: options?.decode,
    });
  }

  onPresence(handler: (presence: Presence) => void): Unsubscribe {
    return this.presence.add(handler);
  }

  /** Missed messages that could not be replayed: page them in with `history`. */
  onGap(handler: (gap: Gap) => void): Unsubscribe {
    return this.gaps.add(handler);
  }

  /** Every join and automatic rejoin, with the members present. */
  onJoined(handler: (info: JoinInfo) => void): Unsubscribe {
    return this.joins.add(handler);
  }

  /** Decode failures, handlers that threw, and the room lost on rejoin. */
  onError(handler: (error: RoomcastError) => void): Unsubscribe {
    return this.errors.add(handler);
  }

  /** Stored messages with `seq < before` (the newest without), ascending. */
  async history(options?: HistoryOptions): Promise<HistoryPage> {
    const before = options?.before === undefined ? undefined : BigInt(options.before);
    const page = await call(() => this.raw.history(before, options?.limit ?? 50), this.client);
    return {
      messages: page.messages.map((m): StoredMessage => ({ ...meta(m), data: JSON.parse(m.dataJson) as unknown })),
      more: page.more,
    };
  }

  /** Stops messages; queued publishes to the room reject with `not_joined`. */
  async leave(): Promise<void> {
    await call(() => this.raw.leave(), this.client);
  }

  /** @internal Unregisters the room's listener and releases its native objects. */
  release(): void {
    this.subscription?.cancel();
    destroy(this.subscription);
    this.subscription = undefined;
    this.messages.clear();
    this.presence.clear();
    this.gaps.clear();
    this.joins.clear();
    this.errors.clear();
    destroy(this.raw);
  }

  private dispatchMessage(m: ffi.Message): void {
    if (this.messages.size === 0) return;
    const info = meta(m);
    let data: unknown;
    try {
      data = JSON.parse(m.dataJson);
    } catch (e) {
      this.report(roomcastError("decode", `message ${m.id} is not JSON`, { room: m.room, meta: info, cause: e }));
      return;
    }
    this.messages.each(
      (h) => {
        if (h.event !== "*" && h.event !== m.event) return;
        let value = data;
        if (h.decode) {
          try {
            value = h.decode(data);
          } catch (e) {
            const why = e instanceof Error ? e.message : String(e);
            this.report(roomcastError("decode", `${m.event} ${m.id}: ${why}`, { room: m.room, meta: info, data, cause: e }));
            return;
          }
        }
        h.handler(value, info);
      },
      (e) => this.handlerFailed(e, info, data),
    );
  }

  private handlerFailed(e: unknown, info?: MessageMeta, data?: unknown): void {
    const why = e instanceof Error ? e.message : String(e);
    this.report(roomcastError("handler", `a handler threw: ${why}`, { room: this.name, meta: info, data, cause: e }));
  }

  /** To the room's error handlers, else the client's. */
  private report(error: RoomcastError): void {
    if (this.errors.size > 0) this.errors.each((h) => h(error), () => {});
    else this.client.report(error);
  }
}

/**
 * A Roomcast client. Reconnects, rejoins and re-sends queued publishes on its own until
 * `close()`. Hermes has no `FinalizationRegistry`: call `close()` when done (a screen's
 * cleanup), which also releases the native objects the client made.
 */
export class Client {
  readonly raw: ffi.ClientInterface;
  private readonly rooms = new Map<string, Room>();
  private readonly states = new Handlers<(s: ConnectionStateInfo) => void>();
  private readonly errors = new Handlers<(e: RoomcastError) => void>();
  private stateSubscription: ffi.SubscriptionInterface | undefined;
  /** The last state the `onState` handlers saw (JSON), to skip repeats. */
  private lastState: string | undefined;
  private closed = false;

  /** @internal */
  get isClosed(): boolean {
    return this.closed;
  }

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
    this.raw = callSync(() =>
      tokenProvider ? ffi.Client.withTokenProvider(config, tokenProvider) : new ffi.Client(config),
    );
  }

  /** Resolves at the first handshake; retries with backoff while the server is unreachable. */
  async connect(): Promise<void> {
    await call(() => this.raw.connect());
  }

  /** A room handle without joining: register handlers first, then `room.join()`. Every
   * call for the same name returns the same room. */
  room(name: string): Room {
    let room = this.rooms.get(name);
    if (!room) {
      const raw = callSync(() => this.raw.room(name));
      room = new Room(raw, this);
      this.rooms.set(name, room);
    }
    return room;
  }

  /** Connects if needed and joins. */
  async join(name: string, options?: JoinOptions): Promise<Room> {
    const room = this.room(name);
    await room.join(options);
    return room;
  }

  /** Calls `handler` with every connection state change. */
  onState(handler: (state: ConnectionStateInfo) => void): Unsubscribe {
    this.watchStates();
    return this.states.add(handler);
  }

  /** Errors not tied to a request, and room errors no room handler took. */
  onError(handler: (error: RoomcastError) => void): Unsubscribe {
    return this.errors.add(handler);
  }

  get state(): ConnectionStateInfo {
    return stateInfo(this.raw.state());
  }

  /** Persisted publishes waiting for their ack (the "N queued" badge). */
  async queued(): Promise<number> {
    return num(await call(() => this.raw.queued()));
  }

  /** Persisted publishes not yet acknowledged, oldest first (restored ones included). */
  async pending(): Promise<PendingPublish[]> {
    const list = await call(() => this.raw.pending());
    return list.map((p) => ({ room: p.room, id: p.id, event: p.event, data: JSON.parse(p.dataJson) as unknown }));
  }

  setToken(token: string): void {
    this.raw.setToken(token);
  }

  /** Skips the reconnect wait (the network is back); while connected, probes the connection. */
  reconnectNow(): void {
    this.raw.reconnectNow();
  }

  /** Disconnects until `resume()`, keeping rooms and queued publishes (app backgrounded). */
  pause(): void {
    this.raw.pause();
  }

  resume(): void {
    this.raw.resume();
  }

  /** Closes for good; queued publishes reject with `closed` (with a store they stay in it
   * for the next client). Releases every handler, and the native rooms and subscriptions. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await call(() => this.raw.close());
    } finally {
      // The handlers' last word is `closed`, even if the core's listener had not said it yet.
      this.deliverState({ state: "closed" });
      this.stateSubscription?.cancel();
      destroy(this.stateSubscription);
      this.stateSubscription = undefined;
      for (const room of this.rooms.values()) room.release();
      this.rooms.clear();
      this.states.clear();
      this.errors.clear();
      // The client object itself stays (`state` still answers `closed`); what mattered is
      // released: the listeners the core held, which would otherwise keep this JS object
      // graph alive from the native side.
    }
  }

  /** @internal */
  report(error: RoomcastError): void {
    this.errors.each(
      (h) => h(error),
      () => {},
    );
  }

  /** One state listener in the core for all `onState` handlers, from the first one on. */
  private watchStates(): void {
    if (this.stateSubscription || this.closed) return;
    // The core calls the listener at once with the current state; the web package's
    // handlers only see changes, so that first call is skipped when it is no change.
    this.lastState = JSON.stringify(this.state);
    this.stateSubscription = this.raw.addStateListener({
      onState: (s) => this.deliverState(stateInfo(s)),
    });
  }

  private deliverState(info: ConnectionStateInfo): void {
    const key = JSON.stringify(info);
    if (key === this.lastState) return;
    this.lastState = key;
    this.states.each(
      (h) => h(info),
      (e) => this.report(roomcastError("handler", `a state handler threw: ${String(e)}`, { cause: e })),
    );
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

function encode(data: unknown): string {
  const json = JSON.stringify(data);
  if (json === undefined) throw roomcastError("invalid_payload", "the payload has no JSON form");
  return json;
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
