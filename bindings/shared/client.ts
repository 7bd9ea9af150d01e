/**
 * The Roomcast client as both TypeScript packages expose it: rooms with handler lists,
 * typed event maps, member lists, async iteration, per-call cancellation and timeouts. Written
 * once; each package gives it a link to its transport (`ClientLink`: sdk-wasm's exports on the
 * web, the uniffi bindings in React Native) and adds its platform's hooks in a subclass
 * (`Client.open` and `restored` on the web, `pending()` and the store path in React Native).
 * It holds no client logic (backoff, queue, resume, dedup: the Rust core's).
 */
import type { EphemeralAck, PlatformJoinOptions, PlatformPublishOptions } from "../platform.js";
import { runDecoder, type Decoder, type OnOptions } from "./decode.js";
import { abortError, roomcastError } from "./errors.js";
import type {
  CallOptions,
  ConnectionStateInfo,
  Gap,
  HistoryOptions,
  HistoryPage,
  JoinInfo,
  JoinOptions,
  Member,
  MessageMeta,
  Presence,
  PublishAck,
  PublishOptions,
  Reply,
  RoomcastError,
  StreamPiece,
  StreamWriter,
  Unsubscribe,
} from "./types.js";

// ---------------------------------------------------------------------------------------
// What a package's transport provides.

/** @internal Where a transport delivers one room's events. */
export interface RoomSink {
  message(meta: MessageMeta, data: unknown): void;
  presence(presence: Presence): void;
  joined(info: JoinInfo): void;
  gap(gap: Gap): void;
  /** A piece of a streamed message, after its opening message (`message` with `stream`). */
  append(piece: StreamPiece): void;
  /** Errors of the room the transport reports (the rejoin refused: `room_lost`). */
  error(error: RoomcastError): void;
}

/** @internal One room in the transport. Rejections are `RoomcastError`s. */
export interface RoomLink {
  join(options: PlatformJoinOptions & { resume?: "full" | "latest" }): Promise<JoinInfo>;
  publish(event: string, data: unknown, options: PlatformPublishOptions): Promise<PublishAck>;
  publishEphemeral(event: string, data: unknown): Promise<EphemeralAck>;
  history(before: number | undefined, limit: number | undefined): Promise<HistoryPage>;
  /** Opens a streamed message; everything the writer does is queued at once, in call order. */
  stream(event: string, data: unknown): StreamWriter;
  cancelStream(id: string): Promise<PublishAck>;
  leave(): Promise<void>;
  position?(): { seq: number; epoch: string | null } | undefined;
  /** Stops delivering to the sink and releases what the transport holds for the room. */
  release(): void;
}

/** @internal A client in the transport. Rejections are `RoomcastError`s. */
export interface ClientLink {
  connect(): Promise<void>;
  room(name: string, sink: RoomSink): RoomLink;
  state(): ConnectionStateInfo;
  /** Calls `handler` with state changes (repeats are dropped by the façade). */
  watchState(handler: (state: ConnectionStateInfo) => void): Unsubscribe;
  /** Errors of the client not tied to a request. */
  watchErrors(handler: (error: RoomcastError) => void): Unsubscribe;
  setToken(token: string): void;
  reconnectNow(): void;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Helpers.

/** Handlers of one kind, in registration order; adding or removing one during a dispatch is
 * safe (the dispatch goes over the list as it was). */
export class Handlers<H> {
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

const why = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Runs `start` under `options`: rejects at once with an `AbortError` if the signal is already
 * aborted (nothing started), and stops waiting when it aborts or `timeoutMs` passes. What was
 * started is not undone: `abandoned` is told, and the result is swallowed. Listeners and
 * timers are removed when the call settles either way.
 */
function withCall<T>(
  what: string,
  options: CallOptions | undefined,
  start: () => Promise<T>,
  abandoned?: (work: Promise<T>) => void,
): Promise<T> {
  const signal = options?.signal;
  const timeoutMs = options?.timeoutMs;
  if (signal?.aborted) return Promise.reject(abortError(signal, what));
  if (timeoutMs !== undefined && !(typeof timeoutMs === "number" && timeoutMs >= 0 && timeoutMs <= 2 ** 31 - 1)) {
    return Promise.reject(roomcastError("invalid_config", `timeoutMs must be a number of ms, not ${String(timeoutMs)}`));
  }
  let work: Promise<T>;
  try {
    work = start();
  } catch (e) {
    return Promise.reject(e);
  }
  if (!signal && timeoutMs === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      if (timer !== undefined) clearTimeout(timer);
      return true;
    };
    const giveUp = (error: Error) => {
      if (!finish()) return;
      work.catch(() => {});
      abandoned?.(work);
      reject(error);
    };
    const onAbort = () => giveUp(abortError(signal as AbortSignal, what));
    signal?.addEventListener("abort", onAbort);
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => giveUp(roomcastError("timeout", `${what}: no result within ${timeoutMs} ms`)), timeoutMs);
    }
    work.then(
      (v) => finish() && resolve(v),
      (e: unknown) => finish() && reject(e),
    );
  });
}

// `Symbol.asyncDispose` where the runtime lacks it (Hermes, Node 20 before 20.4), as
// TypeScript's `await using` expects it.
const symbols = Symbol as unknown as { asyncDispose?: symbol };
if (typeof symbols.asyncDispose !== "symbol") {
  Object.defineProperty(Symbol, "asyncDispose", { value: Symbol.for("Symbol.asyncDispose") });
}

// ---------------------------------------------------------------------------------------
// Rooms.

/** Event names and their payload types, for `client.room<Events>(name)`:
 * `{ "chat.message": ChatMessage; typing: { user: string } }`. */
export type EventMap = { [event: string]: unknown };
/** The event names of a map. */
export type EventName<E> = keyof E & string;
/** True for the default, untyped map (any event name, payloads given per call). */
export type IsUntyped<E> = string extends keyof E ? true : false;

/** A message and its metadata (`room.messages(event)`). */
export interface Received<T> {
  data: T;
  meta: MessageMeta;
}

/** A publish of this client not yet acknowledged: made through this room, or restored from
 * the store (sent by the client once the room is joined). `id` is known once the publish is
 * acknowledged where the platform assigns it (React Native). */
export interface PendingMessage<T = unknown> {
  key: string;
  id?: string;
  event: string;
  data: T;
  restored: boolean;
}

/** A publish of this client acknowledged by the server (`room.onSent`). */
export interface SentMessage<T = unknown> {
  key: string;
  id: string;
  event: string;
  data: T;
  seq: number | null;
  ts: number;
}

type MessageHandler = {
  event: string;
  handler: (msg: unknown, meta: MessageMeta) => void;
  decode?: Decoder<unknown>;
};

let localKeys = 0;

/** Ended streams a room remembers (`room.reply(id)`) besides its open ones. */
const ENDED_REPLIES_KEPT = 100;

/**
 * A room of a client (`client.room(name)`; the same object for the same name). Handlers stay
 * registered across reconnects and rejoins, and run one event at a time, in order.
 *
 * `E` types the room's events: `client.room<{ "chat.message": Chat }>("conv-1")` makes
 * `publish`, `on`, `messages` and the React hooks check event names and payloads. Without it,
 * any event name goes and payload types are given per call (`on<T>`, `publish<T>`).
 */
export class Room<E extends EventMap = EventMap> {
  private readonly handlers = new Handlers<MessageHandler>();
  private readonly presenceHandlers = new Handlers<(p: Presence) => void>();
  private readonly gapHandlers = new Handlers<(g: Gap) => void>();
  private readonly joinHandlers = new Handlers<(j: JoinInfo) => void>();
  private readonly errorHandlers = new Handlers<(e: RoomcastError) => void>();
  private readonly memberHandlers = new Handlers<(m: readonly Member[]) => void>();
  private readonly pendingHandlers = new Handlers<(p: readonly PendingMessage[]) => void>();
  private readonly sentHandlers = new Handlers<(s: SentMessage) => void>();
  private readonly endHandlers = new Handlers<() => void>();
  private readonly appendHandlers = new Handlers<(p: StreamPiece) => void>();
  private readonly replyHandlers = new Handlers<(r: Reply) => void>();
  /** Streams seen in this room: every open one, and the last ended ones. */
  private readonly replies = new Map<string, Reply>();
  private endedReplies: string[] = [];
  private memberList: readonly Member[] = [];
  private pendingList: readonly PendingMessage[] = [];
  /** Counts joins and leaves: an aborted join that completes later is left only if nothing
   * joined or left since. */
  private joinGeneration = 0;
  private link: RoomLink | undefined;

  /** @internal */
  constructor(
    readonly name: string,
    private readonly client: BaseClient<object>,
    connect: (sink: RoomSink) => RoomLink,
  ) {
    // A closed client's rooms have no transport: every call rejects with `closed`.
    if (client.isClosed) return;
    this.link = connect({
      message: (meta, data) => {
        // The text so far first, so a message handler's `room.reply(meta.id)` has it (a
        // stream's opening message shown again after a gap replaces what was shown).
        if (meta.stream) this.setReply({ id: meta.id, text: meta.stream.text, state: meta.stream.state });
        this.dispatchMessage(meta, data);
      },
      append: (piece) => {
        const known = this.replies.get(piece.id);
        if (known) this.setReply({ id: piece.id, text: known.text + piece.text, state: piece.end ?? "open" });
        this.appendHandlers.each((h) => h(piece), (e) => this.handlerFailed(e));
      },
      presence: (p) => {
        const others = this.memberList.filter((m) => !(m.user === p.member.user && m.client === p.member.client));
        this.setMembers(p.event === "join" ? [...others, p.member] : others);
        this.presenceHandlers.each((h) => h(p), (e) => this.handlerFailed(e));
      },
      joined: (info) => {
        this.setMembers(info.presence);
        this.joinHandlers.each((h) => h(info), (e) => this.handlerFailed(e));
      },
      gap: (gap) => this.gapHandlers.each((h) => h(gap), (e) => this.handlerFailed(e)),
      error: (error) => {
        if (error.code === "room_lost") {
          this.setMembers([]);
          this.ended();
        }
        this.report(error);
      },
    });
  }

  /** Highest `seq` delivered and its epoch: store it to resume with `join({since, epoch})`
   * (web; React Native keeps positions in its store, and answers `undefined`). */
  get position(): { seq: number; epoch: string | null } | undefined {
    return this.link?.position?.();
  }

  /** Members present, as of the last join and the presence events since (empty while not
   * joined or not connected: the server is the only one who knows). A new array on every
   * change, kept up to date by the room whether or not anything listens. */
  get members(): readonly Member[] {
    return this.memberList;
  }

  /** Calls `handler` with the member list each time it changes. */
  onMembers(handler: (members: readonly Member[]) => void): Unsubscribe {
    return this.memberHandlers.add(handler);
  }

  /** This client's publishes to the room not yet acknowledged (see `PendingMessage`). */
  get pending(): readonly PendingMessage<E[EventName<E>]>[] {
    return this.pendingList as readonly PendingMessage<E[EventName<E>]>[];
  }

  /** Calls `handler` with the pending list each time it changes. */
  onPending(handler: (pending: readonly PendingMessage<E[EventName<E>]>[]) => void): Unsubscribe {
    return this.pendingHandlers.add(handler as (p: readonly PendingMessage[]) => void);
  }

  /** Calls `handler` with each of this client's publishes the server acknowledged (the
   * server does not send a publisher its own messages: this is how a view shows them). */
  onSent(handler: (sent: SentMessage<E[EventName<E>]>) => void): Unsubscribe {
    return this.sentHandlers.add(handler as (s: SentMessage) => void);
  }

  /**
   * Joins (a client never connected connects first); resolves at the server's `joined`.
   * `signal`/`timeoutMs` stop waiting; a join they abandon that completes later is left
   * again, unless the room was joined or left meanwhile.
   */
  join(options?: JoinOptions): Promise<JoinInfo> {
    const { signal, timeoutMs, ...rest } = options ?? {};
    const generation = ++this.joinGeneration;
    return withCall(
      `join ${this.name}`,
      { signal, timeoutMs },
      () => this.live().join(rest),
      (work) =>
        void work.then(
          () => {
            if (this.joinGeneration === generation && this.link) this.link.leave().catch(() => {});
          },
          () => {},
        ),
    );
  }

  /**
   * Publishes a persisted message: queued while offline and re-sent with the same id after
   * reconnects until acknowledged; resolves with its `seq`.
   *
   * `signal`/`timeoutMs` only stop waiting for the ack. Aborted before the call, nothing is
   * published. Aborted later, the publish is not withdrawn: the client has queued it (and
   * with a store, written it there, so a later client on that store sends it too); it is sent
   * once and stored by the server as usual, and it stays in `pending` until acknowledged.
   */
  publish<T>(event: IsUntyped<E> extends true ? string : never, data: T, options?: PublishOptions): Promise<PublishAck>;
  publish<K extends EventName<E>>(event: K, data: E[K], options?: PublishOptions): Promise<PublishAck>;
  publish(event: string, data: unknown, options?: PublishOptions): Promise<PublishAck> {
    const { signal, timeoutMs, ...rest } = options ?? {};
    return withCall(`publish ${event}`, { signal, timeoutMs }, () => {
      const link = this.live();
      const entry: PendingMessage = { key: `local-${++localKeys}`, event, data, restored: false };
      const id = (rest as { id?: unknown }).id;
      if (typeof id === "string") entry.id = id;
      const ack = link.publish(event, data, rest);
      this.track(entry, ack);
      return ack;
    });
  }

  /** Publishes to members present now; never queued, rejects with `not_connected` offline. */
  publishEphemeral<T>(event: IsUntyped<E> extends true ? string : never, data: T): Promise<EphemeralAck>;
  publishEphemeral<K extends EventName<E>>(event: K, data: E[K]): Promise<EphemeralAck>;
  publishEphemeral(event: string, data: unknown): Promise<EphemeralAck> {
    try {
      return this.live().publishEphemeral(event, data);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Calls `handler(msg, meta)` for each `event` message (`"*"`: every event), each stored
   * message exactly once and in `seq` order, replays after a reconnect included. `decode`
   * (a function, a `guard`, or a Standard Schema validator) checks the payload first.
   */
  on<T = unknown>(
    event: IsUntyped<E> extends true ? string : never,
    handler: (msg: T, meta: MessageMeta) => void,
    options?: OnOptions<T>,
  ): Unsubscribe;
  on<K extends EventName<E>>(event: K, handler: (msg: E[K], meta: MessageMeta) => void, options?: OnOptions<E[K]>): Unsubscribe;
  on(event: "*", handler: (msg: E[EventName<E>], meta: MessageMeta) => void): Unsubscribe;
  on(event: string, handler: (msg: never, meta: MessageMeta) => void, options?: OnOptions<unknown>): Unsubscribe {
    return this.handlers.add({
      event,
      handler: handler as (msg: unknown, meta: MessageMeta) => void,
      decode: options?.decode,
    });
  }

  /**
   * The room's `event` messages as an async iterable, from now on:
   * `for await (const { data, meta } of room.messages("chat.message")) ...`. Ends when the
   * room is left, lost or the client closed, when `signal` aborts, or when the loop breaks.
   * Messages wait in memory until the loop takes them.
   */
  messages<K extends EventName<E>>(
    event: K,
    options?: OnOptions<E[K]> & { signal?: AbortSignal },
  ): AsyncIterableIterator<Received<E[K]>> {
    type Item = Received<E[K]>;
    const buffer: Item[] = [];
    let wake: ((r: IteratorResult<Item>) => void) | undefined;
    let done = false;
    const signal = options?.signal;
    const stop = () => {
      if (done) return;
      done = true;
      offMessage();
      offEnd();
      signal?.removeEventListener("abort", stop);
      buffer.length = 0;
      wake?.({ value: undefined, done: true });
      wake = undefined;
    };
    const offMessage = this.handlers.add({
      event,
      handler: (data, meta) => {
        const item = { data: data as E[K], meta };
        if (wake) {
          const w = wake;
          wake = undefined;
          w({ value: item, done: false });
        } else buffer.push(item);
      },
      decode: options?.decode as Decoder<unknown> | undefined,
    });
    const offEnd = this.endHandlers.add(() => {
      // What already arrived is still read; then the loop ends.
      if (buffer.length === 0) stop();
      else done = true;
    });
    signal?.addEventListener("abort", stop);
    if (signal?.aborted) stop();
    const iterator: AsyncIterableIterator<Item> = {
      next: () => {
        const item = buffer.shift();
        if (item) return Promise.resolve({ value: item, done: false });
        if (done) {
          stop();
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve) => (wake = resolve));
      },
      return: () => {
        stop();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /**
   * Opens a streamed message (an assistant's reply): `data` is published as its opening
   * message, and its text grows with the writer's `append(text)` until `finish()` (or
   * `fail()`, `cancel()`). Readers see the opening message with the text so far (`meta.stream`),
   * then each piece once, in order, then the end, across reconnects, reloads and late joins.
   * Like `publish`, everything is queued at once (also offline). The stream shows in this
   * client's own `room.reply(writer.id)`, `pending` and `useMessages` as its pieces are acked
   * (the server does not send a writer its own messages). Throws a `RoomcastError` at once,
   * queuing nothing, when the client is closed (`closed`) or `data` has no JSON form
   * (`invalid_payload`).
   */
  stream<T>(event: IsUntyped<E> extends true ? string : never, data: T): StreamWriter;
  stream<K extends EventName<E>>(event: K, data: E[K]): StreamWriter;
  stream(event: string, data: unknown): StreamWriter {
    const link = this.live();
    // Refused at once on both platforms, before anything is queued.
    let json: string | undefined;
    try {
      json = JSON.stringify(data);
    } catch (e) {
      throw roomcastError("invalid_payload", `the payload is not representable as JSON: ${why(e)}`, { cause: e });
    }
    if (json === undefined) throw roomcastError("invalid_payload", "the payload has no JSON form");
    const raw = link.stream(event, data);
    const id = raw.id;
    const opened = raw.opened;
    // Awaiting it is optional: a failure also fails every later call of the writer.
    opened.catch(() => {});
    this.track({ key: `local-${++localKeys}`, id, event, data, restored: false }, opened);
    this.setReply({ id, text: "", state: "open" });
    let ended = false;
    // Acks come in call order: the writer's own view grows as the server stores each piece.
    // After its own end, the writer refuses more as the server would (`stream_ended`).
    const own = (send: () => Promise<PublishAck>, text: string, end?: Reply["state"]): Promise<PublishAck> => {
      if (ended) return Promise.reject(roomcastError("stream_ended", `stream ${id} was ended by this writer`));
      if (end) ended = true;
      let ack: Promise<PublishAck>;
      try {
        ack = send();
      } catch (e) {
        return Promise.reject(e);
      }
      ack.then(
        () => {
          const known = this.replies.get(id);
          if (known && known.state === "open") this.setReply({ id, text: known.text + text, state: end ?? "open" });
        },
        () => {},
      );
      return ack;
    };
    return {
      id,
      opened,
      append: (text) => own(() => raw.append(text), text),
      finish: () => own(() => raw.finish(), "", "done"),
      fail: () => own(() => raw.fail(), "", "failed"),
      cancel: () => own(() => raw.cancel(), "", "cancelled"),
    };
  }

  /** Ends another member's stream `id` as cancelled (the server stores the end in this
   * member's name; the writer's next append fails with `stream_ended`). Resolves with the
   * ack of the stream's final piece, also when it had ended already. */
  cancelStream(id: string, options?: CallOptions): Promise<PublishAck> {
    return withCall(`cancel stream ${id}`, options, () => this.live().cancelStream(id));
  }

  /** Calls `handler` with each piece of the room's streamed messages, once and in order per
   * stream, after the stream's opening message (whose `meta.stream.text` is the text so far). */
  onAppend(handler: (piece: StreamPiece) => void): Unsubscribe {
    return this.appendHandlers.add(handler);
  }

  /** The stream `id` as this room has seen it: its text so far and state (the same object
   * until it changes); `undefined` before its opening message arrived. The room remembers
   * every open stream and the last 100 ended ones. */
  reply(id: string): Reply | undefined {
    return this.replies.get(id);
  }

  /** Calls `handler` each time a stream's text or state changes. */
  onReply(handler: (reply: Reply) => void): Unsubscribe {
    return this.replyHandlers.add(handler);
  }

  /**
   * The text of stream `id` as an async iterable of deltas: first the text so far (once the
   * opening message is there), then each later piece's text, each once and in order:
   * `for await (const delta of room.pieces(id)) out += delta`. Ends when the stream ends
   * (`room.reply(id).state` says how), when the room is left or the client closed, when
   * `signal` aborts, or when the loop breaks.
   */
  pieces(id: string, options?: { signal?: AbortSignal }): AsyncIterableIterator<string> {
    const buffer: string[] = [];
    let wake: ((r: IteratorResult<string>) => void) | undefined;
    let finished = false;
    let attached = true;
    let shown = 0;
    const signal = options?.signal;
    const detach = () => {
      if (!attached) return;
      attached = false;
      offReply();
      offEnd();
      signal?.removeEventListener("abort", abort);
    };
    // Nothing more comes; what is buffered is still read.
    const end = () => {
      finished = true;
      detach();
      if (buffer.length === 0 && wake) {
        const w = wake;
        wake = undefined;
        w({ value: undefined, done: true });
      }
    };
    const abort = () => {
      buffer.length = 0;
      end();
    };
    const seen = (reply: Reply) => {
      if (reply.id !== id || finished) return;
      // A stream shown again (its opening message after a gap) carries all its text: only
      // what this loop has not yielded yet goes on.
      if (reply.text.length > shown) {
        const delta = reply.text.slice(shown);
        shown = reply.text.length;
        if (wake) {
          const w = wake;
          wake = undefined;
          w({ value: delta, done: false });
        } else buffer.push(delta);
      }
      if (reply.state !== "open") end();
    };
    const offReply = this.replyHandlers.add(seen);
    const offEnd = this.endHandlers.add(end);
    signal?.addEventListener("abort", abort);
    if (signal?.aborted) abort();
    else {
      const now = this.replies.get(id);
      if (now) seen(now);
    }
    const iterator: AsyncIterableIterator<string> = {
      next: () => {
        const item = buffer.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (finished) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (wake = resolve));
      },
      return: () => {
        abort();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  onPresence(handler: (presence: Presence) => void): Unsubscribe {
    return this.presenceHandlers.add(handler);
  }

  /** Missed messages that could not be replayed: page them in with `history`. */
  onGap(handler: (gap: Gap) => void): Unsubscribe {
    return this.gapHandlers.add(handler);
  }

  /** Every join and automatic rejoin, with the members present. */
  onJoined(handler: (info: JoinInfo) => void): Unsubscribe {
    return this.joinHandlers.add(handler);
  }

  /** Decode failures, handlers that threw, and the room lost on rejoin. */
  onError(handler: (error: RoomcastError) => void): Unsubscribe {
    return this.errorHandlers.add(handler);
  }

  /** Stored messages with `seq < before` (the newest without), ascending. `signal` and
   * `timeoutMs` stop waiting. */
  history(options?: HistoryOptions): Promise<HistoryPage<E[EventName<E>]>> {
    const { signal, timeoutMs, before, limit } = options ?? {};
    return withCall(`history of ${this.name}`, { signal, timeoutMs }, () =>
      this.live().history(before, limit),
    ) as Promise<HistoryPage<E[EventName<E>]>>;
  }

  /** Stops messages; queued publishes to the room reject with `not_joined`. Ends the room's
   * `messages()` loops. */
  async leave(): Promise<void> {
    this.joinGeneration++;
    const link = this.live();
    try {
      await link.leave();
    } finally {
      this.setMembers([]);
      this.ended();
    }
  }

  /** @internal The connection is down: who is present is unknown until the rejoin. */
  disconnected(): void {
    this.setMembers([]);
  }

  /** @internal Publishes restored from a store, each with its ack (or a promise settled once
   * it is no longer pending, without one). */
  restore(entries: { id: string; event: string; data: unknown; ack: Promise<unknown> }[]): void {
    for (const p of entries) {
      if (this.pendingList.some((e) => e.id === p.id)) continue;
      this.track({ key: `restored-${p.id}`, id: p.id, event: p.event, data: p.data, restored: true }, p.ack);
    }
  }

  /** @internal The client closed: handlers go, the transport's room is released. */
  release(): void {
    this.ended();
    this.link?.release();
    this.link = undefined;
    this.setMembers([]);
    for (const list of [
      this.handlers,
      this.presenceHandlers,
      this.gapHandlers,
      this.joinHandlers,
      this.errorHandlers,
      this.memberHandlers,
      this.pendingHandlers,
      this.sentHandlers,
      this.endHandlers,
      this.appendHandlers,
      this.replyHandlers,
    ] as Handlers<unknown>[]) {
      list.clear();
    }
    this.pendingList = [];
    this.replies.clear();
    this.endedReplies = [];
  }

  private live(): RoomLink {
    if (!this.link || this.client.isClosed) throw roomcastError("closed", "the client is closed");
    return this.link;
  }

  private track(entry: PendingMessage, ack: Promise<unknown>): void {
    this.setPending([...this.pendingList, entry]);
    ack.then(
      (value) => {
        this.setPending(this.pendingList.filter((e) => e !== entry));
        // A restored publish whose platform gives no ack (React Native) is known sent, its
        // `seq` is not.
        const a = value as PublishAck | undefined;
        const id = a && typeof a.id === "string" ? a.id : entry.id;
        if (id !== undefined) {
          const sent: SentMessage = { key: entry.key, id, event: entry.event, data: entry.data, seq: a?.seq ?? null, ts: a?.ts ?? Date.now() };
          this.sentHandlers.each((h) => h(sent), (e) => this.handlerFailed(e));
        }
      },
      () => {
        // Failed (or kept in the store for the next client): not pending in this one.
        this.setPending(this.pendingList.filter((e) => e !== entry));
      },
    );
  }

  private setPending(list: readonly PendingMessage[]): void {
    this.pendingList = list;
    this.pendingHandlers.each((h) => h(list), (e) => this.handlerFailed(e));
  }

  private setReply(reply: Reply): void {
    const before = this.replies.get(reply.id);
    if (before && before.text === reply.text && before.state === reply.state) return;
    this.replies.set(reply.id, reply);
    if (reply.state !== "open" && before?.state !== reply.state) {
      this.endedReplies.push(reply.id);
      if (this.endedReplies.length > ENDED_REPLIES_KEPT) {
        const old = this.endedReplies.shift() as string;
        if (this.replies.get(old)?.state !== "open") this.replies.delete(old);
      }
    }
    this.replyHandlers.each((h) => h(reply), (e) => this.handlerFailed(e));
  }

  private setMembers(list: readonly Member[]): void {
    if (list.length === 0 && this.memberList.length === 0) return;
    this.memberList = list;
    this.memberHandlers.each((h) => h(list), (e) => this.handlerFailed(e));
  }

  private ended(): void {
    this.endHandlers.each((h) => h(), () => {});
  }

  private dispatchMessage(meta: MessageMeta, data: unknown): void {
    this.handlers.each(
      (h) => {
        if (h.event !== "*" && h.event !== meta.event) return;
        let value = data;
        if (h.decode) {
          try {
            value = runDecoder(h.decode, data);
          } catch (e) {
            const at = meta.seq === undefined ? "ephemeral" : `seq ${meta.seq}`;
            this.report(
              roomcastError("decode", `payload of ${JSON.stringify(meta.event)} (${at}) did not decode: ${why(e)}`, {
                room: meta.room,
                meta,
                data,
                cause: e,
              }),
            );
            return;
          }
        }
        h.handler(value, meta);
      },
      (e) => this.handlerFailed(e, meta, data),
    );
  }

  private handlerFailed(e: unknown, meta?: MessageMeta, data?: unknown): void {
    this.report(roomcastError("handler", `a handler threw: ${why(e)}`, { room: this.name, meta, data, cause: e }));
  }

  /** To the room's error handlers, else the client's. */
  private report(error: RoomcastError): void {
    if (this.errorHandlers.size > 0) this.errorHandlers.each((h) => h(error), (e) => console.error("roomcast error handler threw:", e));
    else this.client.report(error);
  }
}

// ---------------------------------------------------------------------------------------
// The client.

/**
 * A Roomcast client. Reconnects, rejoins and re-sends queued publishes on its own until
 * `close()` (or `await using client = ...`, through `Symbol.asyncDispose`).
 */
export abstract class BaseClient<Raw extends object> {
  private readonly rooms = new Map<string, Room<EventMap>>();
  private readonly stateHandlers = new Handlers<(s: ConnectionStateInfo) => void>();
  private readonly errorHandlers = new Handlers<(e: RoomcastError) => void>();
  private readonly link: ClientLink;
  private unwatchState: Unsubscribe | undefined;
  private lastState: ConnectionStateInfo | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  /** @internal */
  protected constructor(
    /** The transport's own client object (sdk-wasm's `Client`, the bindings' `Client`). */
    readonly raw: Raw,
    link: ClientLink,
  ) {
    this.link = link;
    link.watchErrors((e) => this.report(e));
  }

  /** @internal */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves at the first handshake; retries with backoff while the server is unreachable.
   * `signal`/`timeoutMs` stop waiting; the client goes on connecting. */
  connect(options?: CallOptions): Promise<void> {
    return withCall("connect", options, () => {
      if (this.closed) throw roomcastError("closed", "the client is closed");
      return this.link.connect();
    });
  }

  /** A room handle without joining: register handlers first, then `room.join()`. Every
   * call for the same name returns the same room; `Events` types it (see `Room`). */
  room<Events extends EventMap = EventMap>(name: string): Room<Events> {
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room<EventMap>(name, this, (sink) => this.link.room(name, sink));
      if (this.closed) return room as unknown as Room<Events>;
      this.rooms.set(name, room);
      this.watchStates();
    }
    return room as unknown as Room<Events>;
  }

  /** Connects if needed and joins. */
  async join<Events extends EventMap = EventMap>(name: string, options?: JoinOptions): Promise<Room<Events>> {
    const room = this.room<Events>(name);
    await room.join(options);
    return room;
  }

  /** Calls `handler` with every connection state change. */
  onState(handler: (state: ConnectionStateInfo) => void): Unsubscribe {
    this.watchStates();
    return this.stateHandlers.add(handler);
  }

  /** Errors not tied to a request, and room errors no room handler took (else the console). */
  onError(handler: (error: RoomcastError) => void): Unsubscribe {
    return this.errorHandlers.add(handler);
  }

  /** The connection state now: the same object until it changes (for `useSyncExternalStore`). */
  get state(): ConnectionStateInfo {
    const now = this.closed ? { state: "closed" as const } : this.link.state();
    const last = this.lastState;
    if (last && last.state === now.state && last.attempt === now.attempt && last.delayMs === now.delayMs) return last;
    this.lastState = now;
    return now;
  }

  setToken(token: string): void {
    this.link.setToken(token);
  }

  /** Skips the reconnect wait (the network is back); while connected, probes the connection. */
  reconnectNow(): void {
    this.link.reconnectNow();
  }

  /** Disconnects until `resume()`, keeping rooms and queued publishes (app backgrounded). */
  pause(): void {
    this.link.pause();
  }

  resume(): void {
    this.link.resume();
  }

  /** Closes for good; queued publishes reject with `closed` (with a store, `kept`: they stay
   * in it for the next client). Ends every room's `messages()` loops and releases every
   * handler. Calling it again waits for the same close. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.closeOnce();
    return this.closing;
  }

  /** `await using client = new Client(...)`: closes the client at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal */
  report(error: RoomcastError): void {
    if (this.errorHandlers.size === 0) {
      console.error("roomcast:", error);
      return;
    }
    this.errorHandlers.each((h) => h(error), (e) => console.error("roomcast error handler threw:", e));
  }

  private async closeOnce(): Promise<void> {
    this.closed = true;
    try {
      await this.link.close();
    } finally {
      // The handlers' last word is `closed`, even if the transport had not said it yet.
      this.deliverState({ state: "closed" });
      this.unwatchState?.();
      this.unwatchState = undefined;
      for (const room of this.rooms.values()) room.release();
      this.rooms.clear();
      this.stateHandlers.clear();
      this.errorHandlers.clear();
    }
  }

  /** One state listener in the transport for the handlers and the rooms, from the first of
   * either on. */
  private watchStates(): void {
    if (this.unwatchState || this.closed) return;
    this.lastDelivered = this.state;
    this.unwatchState = this.link.watchState((s) => this.deliverState(s));
  }

  private lastDelivered: ConnectionStateInfo | undefined;

  private deliverState(info: ConnectionStateInfo): void {
    const last = this.lastDelivered;
    if (last && last.state === info.state && last.attempt === info.attempt && last.delayMs === info.delayMs) return;
    this.lastDelivered = info;
    if (info.state !== "connected") for (const room of this.rooms.values()) room.disconnected();
    this.stateHandlers.each(
      (h) => h(info),
      (e) => this.report(roomcastError("handler", `a state handler threw: ${why(e)}`, { cause: e })),
    );
  }
}
