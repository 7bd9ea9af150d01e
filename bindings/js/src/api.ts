/**
 * The Roomcast client for browsers and Node: the shared façade (bindings/shared, copied into
 * ./shared) over the wasm exports, which run the same Rust core as the native and Swift SDKs
 * (backoff, offline queue, resume, dedup). This file is the transport link and the web's
 * own hooks (`Client.open` with an IndexedDB store, `restored`, `queued`); it holds no client
 * logic.
 */
import * as wasm from "../wasm/roomcast_wasm.js";
import { IdbStore } from "./store.js";
import { BaseClient, type ClientLink, type RoomLink, type RoomSink } from "./shared/client.js";
import type { ClientOptions, RoomcastError, Unsubscribe } from "./shared/types.js";
import type { PendingPublish, StoreRecord, StoreSnapshot } from "../wasm/roomcast_wasm.js";

export * from "./shared/index.js";
export type { PendingPublish, StoreRecord, StoreSnapshot } from "../wasm/roomcast_wasm.js";

/** `Client.open` options: `store` names the IndexedDB store that keeps unsent publishes and
 * room positions across page reloads. */
export interface OpenOptions extends Omit<ClientOptions, "restore" | "onPersist"> {
  store?: string;
}

const off = (raw: { off(id: number): boolean }, id: number): Unsubscribe => () => {
  raw.off(id);
};

function roomLink(raw: wasm.Room, sink: RoomSink): RoomLink {
  const ids = [
    raw.on("*", (data: unknown, meta) => sink.message(meta, data), undefined),
    raw.onPresence((p) => sink.presence(p)),
    raw.onGap((g) => sink.gap(g)),
    raw.onJoined((j) => sink.joined(j)),
    raw.onError((e) => sink.error(e)),
    raw.onAppend((p) => sink.append(p)),
  ];
  return {
    join: (options) => raw.join(options),
    publish: (event, data, options) => raw.publish(event, data, options),
    publishEphemeral: (event, data) => raw.publishEphemeral(event, data),
    history: (before, limit) => raw.history({ before, limit }),
    stream: (event, data) => raw.stream(event, data),
    cancelStream: (id) => raw.cancelStream(id),
    leave: () => raw.leave(),
    position: () => raw.position,
    release: () => {
      for (const id of ids) raw.off(id);
      raw.free();
    },
  };
}

function clientLink(raw: wasm.Client): ClientLink {
  return {
    connect: () => raw.connect(),
    room: (name, sink) => roomLink(raw.room(name), sink),
    state: () => raw.state,
    watchState: (h) => off(raw, raw.onState(h)),
    watchErrors: (h: (e: RoomcastError) => void) => off(raw, raw.onError(h)),
    setToken: (t) => raw.setToken(t),
    reconnectNow: () => raw.reconnectNow(),
    pause: () => raw.pause(),
    resume: () => raw.resume(),
    close: () => raw.close(),
  };
}

/**
 * A Roomcast client. Reconnects, rejoins and re-sends queued publishes on its own until
 * `close()`. An open client stays alive without references (like a `WebSocket`); after
 * `close()` its handlers are released and its memory is reclaimed by the garbage collector.
 */
export class Client extends BaseClient<wasm.Client> {
  private store: IdbStore | undefined;
  private writes: Promise<void> = Promise.resolve();

  /** Throws a `RoomcastError` (`invalid_config`) for unusable options. Keeps nothing across
   * reloads: see `Client.open` for that. */
  constructor(options: ClientOptions) {
    const raw = new wasm.Client(options);
    super(raw, clientLink(raw));
    const restored = raw.restored;
    if (restored.length) {
      // Shown as pending in their rooms (`room.pending`, `useMessages`) until acknowledged.
      for (const name of new Set(restored.map((p) => p.room))) {
        this.room(name).restore(restored.filter((p) => p.room === name));
      }
    }
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
   * unsent until `ack` settles (each room's `pending` does). Empty without a store. */
  get restored(): PendingPublish[] {
    return this.raw.restored;
  }

  /** Persisted publishes waiting for their ack. */
  get queued(): number {
    return this.raw.queued;
  }

  /** Closes for good; queued publishes reject with `closed` (with a store, `kept`: they stay
   * in it for the next client). Resolves once the store has what it keeps, and releases it. */
  override async close(): Promise<void> {
    await super.close();
    await this.writes;
    this.store?.close();
    this.store = undefined;
  }
}
