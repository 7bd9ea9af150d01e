/**
 * The browser store: the client's offline queue and room positions in IndexedDB, so that a
 * page reloaded (or a tab reopened) with unsent messages sends them once, and rooms resume
 * where the page was. The Rust core decides what to keep and when (records, in order); this
 * file only writes them, one IndexedDB transaction per group, and reads them back.
 *
 * One page per store: a Web Lock named after the store is held while the client lives, so a
 * second tab opening the same store gets `store_locked` instead of sending the same queue.
 */
import type { StoreRecord, StoreSnapshot } from "../wasm/roomcast_wasm.js";

const VERSION = 1;
const QUEUE = "queue";
const POSITIONS = "positions";

interface QueuedRow {
  room: string;
  /** The message id; a stream piece's row: its stream's id, NUL, and its index (`c` for a
   * cancel), so that each piece has a key of its own. */
  id: string;
  event: string;
  data: string;
  /** Order of publishing. */
  n: number;
  /** The publish opens a streamed message. */
  stream?: 1;
  /** A stream's piece or cancel (its row keeps `event` and `data` empty). */
  piece?: { id: string; index: number | null; text: string; end: string };
}

/** The key of a stream piece's row. */
function pieceKey(id: string, index: number | null): string {
  return `${id}\u0000${index === null ? "c" : index}`;
}

interface PositionRow {
  room: string;
  epoch: string;
  seq: number;
}

function storeError(code: "storage" | "store_locked", message: string): Error {
  const e = new Error(message) as Error & { code: string };
  e.name = "RoomcastError";
  e.code = code;
  return e;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error("transaction failed"));
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });
}

export class IdbStore {
  private next = 0;
  private release: (() => void) | undefined;

  private constructor(
    private readonly db: IDBDatabase,
    release: () => void,
  ) {
    this.release = release;
  }

  /** Opens (creating) the store `name`; rejects with `store_locked` when another page has it. */
  static async open(name: string): Promise<IdbStore> {
    if (typeof indexedDB === "undefined") {
      throw storeError("storage", "this environment has no IndexedDB; open the client without `store`");
    }
    const release = await lock(`roomcast:${name}`);
    try {
      const open = indexedDB.open(`roomcast:${name}`, VERSION);
      open.onupgradeneeded = () => {
        const db = open.result;
        if (!db.objectStoreNames.contains(QUEUE)) db.createObjectStore(QUEUE, { keyPath: ["room", "id"] });
        if (!db.objectStoreNames.contains(POSITIONS)) db.createObjectStore(POSITIONS, { keyPath: "room" });
      };
      return new IdbStore(await request(open), release);
    } catch (e) {
      release();
      throw storeError("storage", `cannot open the store ${name}: ${String(e)}`);
    }
  }

  /** What the store holds: queued publishes in publishing order, and room positions. */
  async load(): Promise<StoreSnapshot> {
    const tx = this.db.transaction([QUEUE, POSITIONS], "readonly");
    const queued = (await request(tx.objectStore(QUEUE).getAll())) as QueuedRow[];
    const positions = (await request(tx.objectStore(POSITIONS).getAll())) as PositionRow[];
    queued.sort((a, b) => a.n - b.n);
    this.next = queued.length ? queued[queued.length - 1].n + 1 : 0;
    return {
      publishes: queued
        .filter((q) => q.piece === undefined)
        .map((q) => [q.room, q.id, q.event, q.data, q.stream ?? 0]),
      positions: positions.map((p) => [p.room, p.epoch, p.seq]),
      appends: queued
        .filter((q) => q.piece !== undefined)
        .map((q) => [q.room, q.piece!.id, q.piece!.index, q.piece!.text, q.piece!.end]),
    };
  }

  /**
   * Writes one group of records in one transaction. Transactions on the same stores commit
   * in the order they were created, so groups written back to back keep their order.
   */
  write(records: StoreRecord[]): Promise<void> {
    const tx = this.db.transaction([QUEUE, POSITIONS], "readwrite", { durability: "strict" });
    const queue = tx.objectStore(QUEUE);
    const positions = tx.objectStore(POSITIONS);
    for (const r of records) {
      switch (r[0]) {
        case "queued": {
          const row: QueuedRow = { room: r[1], id: r[2], event: r[3], data: r[4], n: this.next++ };
          if (r[5] === 1) row.stream = 1;
          queue.put(row);
          break;
        }
        case "append":
          queue.put({
            room: r[1],
            id: pieceKey(r[2], r[3]),
            event: "",
            data: "",
            n: this.next++,
            piece: { id: r[2], index: r[3], text: r[4], end: r[5] },
          } satisfies QueuedRow);
          break;
        case "append-done":
          queue.delete([r[1], pieceKey(r[2], r[3])]);
          break;
        case "done":
          queue.delete([r[1], r[2]]);
          break;
        case "position":
          positions.put({ room: r[1], epoch: r[2], seq: r[3] } satisfies PositionRow);
          break;
        case "forget":
          positions.delete(r[1]);
          break;
      }
    }
    return done(tx);
  }

  /** Lets another page open the store. */
  close(): void {
    this.db.close();
    this.release?.();
    this.release = undefined;
  }
}

/** Holds the Web Lock `name` until the returned function is called; `store_locked` if taken. */
function lock(name: string): Promise<() => void> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return Promise.resolve(() => {});
  return new Promise((resolve, reject) => {
    locks
      .request(name, { ifAvailable: true }, (held) => {
        if (!held) {
          reject(storeError("store_locked", `the store ${name} is open in another tab or window`));
          return undefined;
        }
        // Held until released.
        return new Promise<void>((release) => resolve(() => release()));
      })
      .catch(reject);
  });
}
