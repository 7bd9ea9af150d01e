/**
 * The public data types of both TypeScript packages (`roomcast` for browsers and Node,
 * `roomcast-react-native`), written once. Each package adds its platform's options through
 * `../platform` (`PlatformClientOptions`, `PlatformJoinOptions`, `PlatformPublishOptions`),
 * so the names an app imports are the same on both and differ only where the platform does.
 *
 * The name lists (`ERROR_CODES`, `CONNECTION_STATES`, `PRESENCE_EVENTS`) are checked against
 * the Rust side's names by sdk-ffi's tests (`the_typescript_facade_names_the_core_names`);
 * the web package's `.d.ts` from sdk-wasm is checked against these types by `tsc`
 * (bindings/js/test/typing.ts).
 */
import type { PlatformClientOptions, PlatformJoinOptions, PlatformPublishOptions } from "../platform";
/** Every connection state, in the order a client usually goes through them. */
export declare const CONNECTION_STATES: readonly ["idle", "connecting", "connected", "reconnecting", "paused", "unauthorized", "closed"];
/** Where the connection stands; `reconnecting` carries the wait before the next attempt. */
export type ConnectionStateName = (typeof CONNECTION_STATES)[number];
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
/** Options of every platform; `PlatformClientOptions` adds the platform's own. */
export interface ClientOptions extends PlatformClientOptions {
    /** `ws[s]://HOST:PORT/ws` */
    url: string;
    token?: string;
    tokenProvider?: TokenProvider;
    /** Stable device or installation id (default: a random one per client). */
    clientId?: string;
    /** Badge shown to other members (default `web` in browsers and Node, `react-native` in an
     * app; `Platform.OS` is a good choice there). */
    source?: string;
    name?: string;
    backoff?: BackoffOptions;
    /** Persisted publishes that may wait for their ack (default 1000). */
    queueCapacity?: number;
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
    /** On a streamed message's opening message: its text so far (pieces follow: `onAppend`,
     * `room.reply(id)`, `room.pieces(id)`). */
    stream?: StreamInfo;
}
/** Where a streamed message stands, `open` first. */
export declare const STREAM_STATES: readonly ["open", "done", "cancelled", "failed"];
export type StreamState = (typeof STREAM_STATES)[number];
/** A streamed message's text so far, as its opening message carries it. */
export interface StreamInfo {
    state: StreamState;
    text: string;
    /** How many appends `text` holds. */
    n: number;
}
/** The next piece of a streamed message: `text` goes after what its stream showed so far.
 * Each stream's pieces come once and in order, after its opening message. */
export interface StreamPiece {
    room: string;
    seq: number;
    /** The seq of the stream's opening message. */
    of: number;
    /** The id of the stream's opening message. */
    id: string;
    /** The index of the stream's first append this piece holds. */
    n: number;
    text: string;
    /** Set on the last piece: how the stream ended. */
    end?: Exclude<StreamState, "open">;
    from: Member;
    ts: number;
}
/** A streamed message as a room has seen it so far (`room.reply(id)`, `useStream`): the same
 * object until it changes. */
export interface Reply {
    /** The stream's id (its opening message's). */
    id: string;
    /** The text so far. */
    text: string;
    state: StreamState;
}
/** The writer of a streamed message (`room.stream(event, data)`). Every call is queued at once
 * in call order (also offline, and with a store kept until acknowledged), and resolves with
 * the server's ack of that piece. */
export interface StreamWriter {
    /** The stream's id (its opening message's), for readers' `room.cancelStream(id)`. */
    readonly id: string;
    /** The opening message's ack. */
    readonly opened: Promise<PublishAck>;
    /** Adds `text` to the stream. */
    append(text: string): Promise<PublishAck>;
    /** Ends the stream as complete (`done`). */
    finish(): Promise<PublishAck>;
    /** Ends the stream as `failed` (the generator broke off). */
    fail(): Promise<PublishAck>;
    /** Ends the stream as `cancelled` (the user stopped it). */
    cancel(): Promise<PublishAck>;
}
export interface StoredMessage<T = unknown> extends MessageMeta {
    data: T;
}
/** The two presence events. */
export declare const PRESENCE_EVENTS: readonly ["join", "leave"];
export interface Presence {
    room: string;
    event: (typeof PRESENCE_EVENTS)[number];
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
export interface HistoryPage<T = unknown> {
    messages: StoredMessage<T>[];
    more: boolean;
}
/**
 * Per call: `signal` stops waiting (the promise rejects with an `AbortError`), `timeoutMs`
 * rejects with a `timeout` RoomcastError after that long. Neither undoes what the client has
 * already accepted: see each method.
 */
export interface CallOptions {
    signal?: AbortSignal;
    timeoutMs?: number;
}
export interface JoinOptions extends PlatformJoinOptions, CallOptions {
    /** On a resume the server's replay limit cut short: page the rest in ("full", the default)
     * or take only the newest and get a gap event ("latest"). */
    resume?: "full" | "latest";
}
export interface PublishOptions extends PlatformPublishOptions, CallOptions {
}
export interface HistoryOptions extends CallOptions {
    before?: number;
    limit?: number;
}
/** Every code a `RoomcastError` carries: the core's and the protocol's, and the three the
 * TypeScript layer adds (`decode`, `handler`, `room_lost`). */
export declare const ERROR_CODES: readonly ["invalid_config", "invalid_room", "unauthorized", "forbidden", "not_joined", "too_large", "too_many_rooms", "queue_full", "not_connected", "connection_lost", "timeout", "closed", "gave_up", "invalid_payload", "token_provider", "protocol", "bad_request", "rate_limited", "unsupported_protocol", "internal", "not_found", "stream_ended", "storage", "store_locked", "kept", "decode", "handler", "room_lost"];
export type ErrorCode = (typeof ERROR_CODES)[number];
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
/** Removes the handler it was returned for. Calling it twice is harmless. */
export type Unsubscribe = () => void;
