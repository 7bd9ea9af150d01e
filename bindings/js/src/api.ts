/**
 * The Roomcast client for TypeScript: a thin typed layer over the wasm exports, which run
 * the same Rust core as the native and Swift SDKs (backoff, offline queue, resume, dedup).
 * This file adds generics and unsubscribe functions; it holds no client logic.
 */
import * as wasm from "../wasm/roomcast_wasm.js";
import { IdbStore } from "./store.js";
import type {
  ClientOptions,
  PendingPublish,
  StoreRecord,
  StoreSnapshot,
  ConnectionStateInfo,
  Gap,
  HistoryOptions,
  HistoryPage,
  JoinInfo,
  JoinOptions,
  MessageMeta,
  Presence,
  PublishAck,
  PublishOptions,
  RoomcastError,
} from "../wasm/roomcast_wasm.js";

export type {
  BackoffOptions,
  ClientOptions,
  ConnectionStateInfo,
  ConnectionStateName,
  ErrorCode,
  Gap,
  HistoryOptions,
  HistoryPage,
  JoinInfo,
  JoinOptions,
  Member,
  MessageMeta,
  Presence,
  PublishAck,
  PendingPublish,
  PublishOptions,
  RoomcastError,
  StoredMessage,
  StoreRecord,
  StoreSnapshot,
  TokenProvider,
} from "../wasm/roomcast_wasm.js";

/** `Client.open` options: `store` names the IndexedDB store that keeps unsent publishes and
 * room positions across page reloads. */
export interface OpenOptions extends Omit<ClientOptions, "restore" | "onPersist"> {
  store?: string;
}

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

/** Narrows a caught value to a `RoomcastError`. */
export function isRoomcastError(e: unknown): e is RoomcastError {
  return e instanceof Error && e.name === "RoomcastError" && typeof (e as RoomcastError).code === "string";
}

function subscription(off: (id: number) => boolean, id: number): Unsubscribe {
  return () => {
    off(id);
  };
}

/** A room of a client. Handlers stay registered across reconnects and rejoins. */
export class Room {
  /** @internal */
  constructor(readonly raw: wasm.Room) {}

  get name(): string {
    return this.raw.name;
  }

  /** Highest `seq` delivered and its epoch: store it to resume with `join({since, epoch})`. */
  get position(): { seq: number; epoch: string | null } | undefined {
    return this.raw.position;
  }

  /** Joins (connecting first if needed); resolves at the server's `joined`. */
  join(options?: JoinOptions): Promise<JoinInfo> {
    return this.raw.join(options);
  }

  /**
   * Publishes a persisted message: queued while offline and re-sent with the same id after
   * reconnects until acknowledged; resolves with its `seq`.
   */
  publish<T>(event: string, data: T, options?: PublishOptions): Promise<PublishAck> {
    return this.raw.publish(event, data, options);
  }

  /** Publishes to members present now; never queued, rejects with `not_connected` offline. */
  publishEphemeral<T>(event: string, data: T): Promise<PublishAck> {
    return this.raw.publishEphemeral(event, data);
  }

  /**
   * Calls `handler(msg, meta)` for each `event` message (`"*"`: every event), each stored
   * message exactly once and in `seq` order, replays after a reconnect included.
   */
  on<T = unknown>(
    event: string,
    handler: (msg: T, meta: MessageMeta) => void,
    options?: OnOptions<T>,
  ): Unsubscribe {
    return subscription((id) => this.raw.off(id), this.raw.on(event, handler, options?.decode));
  }

  onPresence(handler: (presence: Presence) => void): Unsubscribe {
    return subscription((id) => this.raw.off(id), this.raw.onPresence(handler));
  }

  /** Missed messages that could not be replayed: page them in with `history`. */
  onGap(handler: (gap: Gap) => void): Unsubscribe {
    return subscription((id) => this.raw.off(id), this.raw.onGap(handler));
  }

  /** Every join and automatic rejoin, with the members present. */
  onJoined(handler: (info: JoinInfo) => void): Unsubscribe {
    return subscription((id) => this.raw.off(id), this.raw.onJoined(handler));
  }

  /** Decode failures, handlers that threw, and the room lost on rejoin. */
  onError(handler: (error: RoomcastError) => void): Unsubscribe {
    return subscription((id) => this.raw.off(id), this.raw.onError(handler));
  }

  /** Stored messages with `seq < before` (the newest without), ascending. */
  history(options?: HistoryOptions): Promise<HistoryPage> {
    return this.raw.history(options);
  }

  /** Stops messages; queued publishes to the room reject with `not_joined`. */
  leave(): Promise<void> {
    return this.raw.leave();
  }
}

/**
 * A Roomcast client. Reconnects, rejoins and re-sends queued publishes on its own until
 * `close()`. An open client stays alive without references (like a `WebSocket`); after
 * `close()` its handlers are released and its memory is reclaimed by the garbage collector.
 */
export class Client {
  readonly raw: wasm.Client;
  private store: IdbStore | undefined;
  private writes: Promise<void> = Promise.resolve();

  /** Throws a `RoomcastError` (`invalid_config`) for unusable options. Keeps nothing across
   * reloads: see `Client.open` for that. */
  constructor(options: ClientOptions) {
    this.raw = new wasm.Client(options);
  }

  /**
   * A client whose offline queue and room positions live in the IndexedDB store
   * `options.store` (one per user, say `"chat:" + userId`), so after a reload or a closed tab
   * the next client opened on it sends every unacknowledged publish once, in order (see
   * `restored`), and rooms joined again resume where the page was. A publish is written
   * before it is sent; if the write fails it rejects with `storage`. One page per store:
   * another one rejects with `store_locked`. Without `store`, the same as `new Client`.
   */
  static async open(options: OpenOptions): Promise<Client> {
    const { store: name, ...rest } = options;
    if (name === undefined) return new Client(rest);
    const store = await IdbStore.open(name);
    let restore: StoreSnapshot;
    try {
      restore = await store.load();
    } catch (e) {
      store.close();
      throw e;
    }
    let client: Client | undefined = undefined;
    const onPersist = (records: StoreRecord[]) => {
      const n = records.length;
      const write = store.write(records).then(
        () => client?.raw.persisted(n),
        (e: unknown) => client?.raw.persisted(n, String(e)),
      );
      if (client) client.writes = client.writes.then(() => write);
    };
    client = new Client({ ...rest, restore, onPersist });
    client.store = store;
    return client;
  }

  /** Publishes restored from the store at `open`, with their ack promises: show them as
   * unsent until `ack` settles. Empty without a store. */
  get restored(): PendingPublish[] {
    return this.raw.restored;
  }

  /** Resolves at the first handshake; retries with backoff while the server is unreachable. */
  connect(): Promise<void> {
    return this.raw.connect();
  }

  /** A room handle without joining: register handlers first, then `room.join()`. */
  room(name: string): Room {
    return new Room(this.raw.room(name));
  }

  /** Connects if needed and joins. */
  async join(name: string): Promise<Room> {
    return new Room(await this.raw.join(name));
  }

  onState(handler: (state: ConnectionStateInfo) => void): Unsubscribe {
    return subscription((id) => this.raw.off(id), this.raw.onState(handler));
  }

  /** Errors not tied to a request, and room errors no room handler took. */
  onError(handler: (error: RoomcastError) => void): Unsubscribe {
    return subscription((id) => this.raw.off(id), this.raw.onError(handler));
  }

  get state(): ConnectionStateInfo {
    return this.raw.state;
  }

  /** Persisted publishes waiting for their ack. */
  get queued(): number {
    return this.raw.queued;
  }

  setToken(token: string): void {
    this.raw.setToken(token);
  }

  /** Skips the reconnect wait (done automatically on the browser's `online` event). */
  reconnectNow(): void {
    this.raw.reconnectNow();
  }

  /** Disconnects until `resume()`, keeping rooms and queued publishes. */
  pause(): void {
    this.raw.pause();
  }

  resume(): void {
    this.raw.resume();
  }

  /** Closes for good; queued publishes reject with `closed` (with a store they stay in it for
   * the next client). Resolves once the store has what it keeps, and releases it. */
  async close(): Promise<void> {
    await this.raw.close();
    await this.writes;
    this.store?.close();
    this.store = undefined;
  }
}
