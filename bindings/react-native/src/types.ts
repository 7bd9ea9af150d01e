/**
 * The package's plain data types: the web package's (`bindings/js`, from sdk-wasm's `.d.ts`)
 * where React Native has the same thing, so code written against one compiles against the
 * other. Numbers are JavaScript numbers (the bindings' 64-bit integers are converted).
 */

/** Where the connection stands; `reconnecting` carries the wait before the next attempt. */
export type ConnectionStateName =
  | "idle"
  | "connecting"
  | "connected"
  | "reconnecting"
  | "paused"
  | "unauthorized"
  | "closed";

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
  /** Badge shown to other members (default `react-native`; `Platform.OS` is a good choice). */
  source?: string;
  name?: string;
  backoff?: BackoffOptions;
  /** Persisted publishes that may wait for their ack (default 1000). */
  queueCapacity?: number;
  /**
   * React Native only: a directory (e.g. the app's document directory) where the client keeps
   * its offline queue and room positions, so a client opened on it after the app was killed
   * sends every unacknowledged publish once and rooms resume where they were. One client per
   * directory (`store_locked` otherwise).
   */
  storePath?: string;
  /** React Native only: root certificates (DER) trusted for `wss://` besides the OS's. */
  extraRootsDer?: (ArrayBuffer | Uint8Array)[];
}

export interface Member {
  user: string;
  client: string;
  source: string;
  name?: string;
}

/** Everything about a message but its payload. `seq` is absent for ephemeral messages. */
export interface MessageMeta {
  room: string;
  seq?: number;
  id: string;
  event: string;
  from: Member;
  ts: number;
}

export interface StoredMessage<T = unknown> extends MessageMeta {
  data: T;
}

export interface Presence {
  room: string;
  event: "join" | "leave";
  member: Member;
}

export interface JoinInfo {
  room: string;
  seq: number;
  epoch: string;
  /** False when missed messages could not all be replayed: see `onGap`. */
  recovered: boolean;
  presence: Member[];
  /** True for the automatic rejoin after a reconnect. */
  rejoin: boolean;
}

export interface Gap {
  room: string;
  since: number | null;
  previousEpoch: string | null;
  head: number;
  epoch: string;
}

export interface PublishAck {
  id: string;
  seq: number | null;
  ts: number;
}

export interface HistoryPage {
  messages: StoredMessage[];
  more: boolean;
}

export interface JoinOptions {
  /** On a resume the server's replay limit cut short: page the rest in ("full", the default)
   * or take only the newest and get a gap event ("latest"). */
  resume?: "full" | "latest";
}

export interface HistoryOptions {
  before?: number;
  limit?: number;
}

/** A persisted publish not yet acknowledged (`client.pending()`). */
export interface PendingPublish<T = unknown> {
  room: string;
  id: string;
  event: string;
  data: T;
}
