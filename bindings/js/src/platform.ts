/**
 * What the web package adds to the shared types (bindings/shared/types.ts): the options only
 * a browser or Node client has, and what an ephemeral publish resolves with.
 */
import type { PublishAck, StoreRecord, StoreSnapshot } from "../wasm/roomcast_wasm.js";

export interface PlatformClientOptions {
  /** No reply to a request within this many ms fails it with `timeout` (default 10 000). */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Disconnect while the page is hidden, reconnect when shown (default false). */
  pauseWhenHidden?: boolean;
  /** Skip the backoff wait when the browser reports the network back (default true). */
  reconnectOnOnline?: boolean;
  /** A store's kept state, restored before anything else (`Client.open` passes it). */
  restore?: StoreSnapshot;
  /** Receives the records a store must keep, in order; answer each call with
   * `persisted(records.length, error?)` once written (`Client.open` does). */
  onPersist?: (records: StoreRecord[]) => void;
}

export interface PlatformJoinOptions {
  /** Resume after a position the app stored (`room.position`). */
  since?: number;
  epoch?: string;
}

export interface PlatformPublishOptions {
  /** The publish's id (default: a random one); the server stores one message per id. */
  id?: string;
}

/** An ephemeral publish resolves with its ack (`seq` null). */
export type EphemeralAck = PublishAck;
