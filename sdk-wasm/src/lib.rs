//! Roomcast for JavaScript and TypeScript.
//!
//! wasm-bindgen exports over `roomcast_core::machine::Machine`, the same sans-IO client the
//! native and Swift SDKs run, so a browser tab gets the same backoff, offline queue, resume and
//! deduplication. This crate is a driver and nothing more: [`driver`] feeds the machine from a
//! `WebSocket` ([`socket`]), one `setTimeout` ([`timer`]) and the page's `online` and
//! `visibilitychange` events ([`browser`]), and carries out what the machine asks. Every
//! decision is the machine's.
//!
//! The npm package (`bindings/js`) wraps these exports in a small TypeScript layer with typed
//! handlers; `scripts/build-wasm.sh` builds both.

mod browser;
mod client;
mod convert;
mod driver;
mod error;
mod ids;
mod options;
mod registry;
mod room;
mod socket;
mod store;
mod timer;

pub use client::Client;
pub use room::{Room, StreamWriter};

#[cfg(all(test, target_arch = "wasm32"))]
mod web_tests;

use wasm_bindgen::prelude::wasm_bindgen;

/// talc instead of the standard library's dlmalloc: the same job in a fraction of the module
/// bytes. A page runs the module on one thread, which is what this talc flavour assumes.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Types of the values the exports take and give, so the generated `.d.ts` is complete.
#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Where the connection stands; `reconnecting` carries the wait before the next attempt. */
export type ConnectionStateName =
  | "idle" | "connecting" | "connected" | "reconnecting" | "paused" | "unauthorized" | "closed";
export interface ConnectionStateInfo {
  state: ConnectionStateName;
  /** Reconnect attempt (connecting, reconnecting). */
  attempt?: number;
  /** Wait before that attempt, in ms (reconnecting). */
  delayMs?: number;
}
export interface BackoffOptions {
  /** First delay, ms (default 1000). */
  minDelayMs?: number;
  /** Cap, ms (default 30000). */
  maxDelayMs?: number;
  /** Attempts before giving up (default: unlimited). */
  maxAttempts?: number | null;
}
/** Returns a token, `null` when the user has none any more; throwing or rejecting is retried. */
export type TokenProvider = () => string | null | undefined | Promise<string | null | undefined>;
export interface ClientOptions {
  /** `ws[s]://HOST:PORT/ws` */
  url: string;
  token?: string;
  tokenProvider?: TokenProvider;
  /** Stable device or installation id (default: a random one per client). */
  clientId?: string;
  /** Badge shown to other members (default `web`). */
  source?: string;
  name?: string;
  backoff?: BackoffOptions;
  /** Persisted publishes that may wait for their ack (default 1000). */
  queueCapacity?: number;
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
/** What a store keeps: unacknowledged publishes in order and each room's position. */
export interface StoreSnapshot {
  /** `stream` 1 when the publish opens a streamed message (absent in rows kept before). */
  publishes: [room: string, id: string, event: string, dataJson: string, stream?: 0 | 1][];
  positions: [room: string, epoch: string, seq: number][];
  /** Stream pieces (`index` null for a cancel), in the order they were made. */
  appends?: [room: string, id: string, index: number | null, text: string, end: string][];
}
/** One change for a store, in the order the client made it. */
export type StoreRecord =
  | ["queued", string, string, string, string, 0 | 1]
  | ["done", string, string]
  | ["position", string, string, number]
  | ["forget", string]
  | ["append", string, string, number | null, string, string]
  | ["append-done", string, string, number | null];
/** A persisted publish not yet acknowledged; `ack` settles with its outcome. */
export interface PendingPublish<T = unknown> {
  room: string; id: string; event: string; data: T; ack: Promise<PublishAck>;
}
export interface Member { user: string; client: string; source: string; name?: string }
/** Everything about a message but its payload. `seq` is absent for ephemeral messages. */
export interface MessageMeta {
  room: string; seq?: number; id: string; event: string; from: Member; ts: number;
  /** On a streamed message's opening message: its text so far (pieces follow, see `onAppend`). */
  stream?: StreamInfo;
}
export type StreamState = "open" | "done" | "cancelled" | "failed";
export interface StreamInfo { state: StreamState; text: string; n: number }
/** The next piece of a streamed message: `text` goes after what its stream showed so far. */
export interface StreamPiece {
  room: string; seq: number;
  /** The seq of the stream's opening message. */
  of: number;
  /** The id of the stream's opening message. */
  id: string;
  /** The index of the stream's first append this piece holds. */
  n: number;
  text: string;
  /** Set on the last piece: how the stream ended. */
  end?: Exclude<StreamState, "open">;
  from: Member; ts: number;
}
export interface StoredMessage<T = unknown> extends MessageMeta { data: T }
export interface Presence { room: string; event: "join" | "leave"; member: Member }
export interface JoinInfo {
  room: string; seq: number; epoch: string;
  /** False when missed messages could not all be replayed: see `onGap`. */
  recovered: boolean;
  presence: Member[];
  /** True for the automatic rejoin after a reconnect. */
  rejoin: boolean;
}
export interface Gap {
  room: string; since: number | null; previousEpoch: string | null; head: number; epoch: string;
}
export interface PublishAck { id: string; seq: number | null; ts: number }
export interface HistoryPage { messages: StoredMessage[]; more: boolean }
export interface JoinOptions {
  since?: number;
  epoch?: string;
  /** On a resume the server's replay limit cut short: page the rest in ("full", the default)
   * or take only the newest and get a gap event ("latest"). */
  resume?: "full" | "latest";
}
export interface PublishOptions { id?: string }
export interface HistoryOptions { before?: number; limit?: number }
export type ErrorCode =
  | "invalid_config" | "invalid_room" | "unauthorized" | "forbidden" | "not_joined" | "too_large"
  | "too_many_rooms" | "queue_full" | "not_connected" | "connection_lost" | "timeout" | "closed"
  | "gave_up" | "invalid_payload" | "token_provider" | "protocol" | "bad_request"
  | "rate_limited" | "unsupported_protocol" | "internal"
  | "not_found" | "stream_ended"
  /** The store could not keep a publish, which was not sent. */
  | "storage"
  /** Another tab or window has the store open. */
  | "store_locked"
  /** Not sent, not failed: the client stopped while the publish was queued, and the store
   * keeps it for the next client opened on it, which sends it once. */
  | "kept"
  /** A typed handler's decoder rejected a payload. */
  | "decode"
  /** An app handler threw. */
  | "handler"
  /** The server refused to rejoin a room after a reconnect. */
  | "room_lost";
/** Every rejection and error event is an `Error` with a `code`. */
export interface RoomcastError extends Error {
  name: "RoomcastError";
  code: ErrorCode;
  room?: string;
  /** decode and handler errors: the message concerned. */
  meta?: MessageMeta;
  data?: unknown;
  cause?: unknown;
}
"#;
