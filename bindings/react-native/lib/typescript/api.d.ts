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
import { type RoomcastError } from "./errors";
import type { ClientOptions, ConnectionStateInfo, Gap, HistoryOptions, HistoryPage, JoinInfo, JoinOptions, MessageMeta, PendingPublish, Presence, PublishAck } from "./types";
export type { BackoffOptions, ClientOptions, ConnectionStateInfo, ConnectionStateName, Gap, HistoryOptions, HistoryPage, JoinInfo, JoinOptions, Member, MessageMeta, PendingPublish, Presence, PublishAck, StoredMessage, TokenProvider, } from "./types";
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
export declare function guard<T>(is: (data: unknown) => data is T, what?: string): Decoder<T>;
/**
 * A room of a client. Handlers stay registered across reconnects and rejoins. They run on the
 * JS thread, one event at a time per room and in order; the SDK thread delivering the room's
 * events waits for them, the connection (pings, acks, other rooms) does not.
 */
export declare class Room {
    readonly raw: ffi.RoomInterface;
    private readonly client;
    private readonly messages;
    private readonly presence;
    private readonly gaps;
    private readonly joins;
    private readonly errors;
    /** The one listener this room registers in the core, for the room's life. */
    private subscription;
    /** Kept here: the native room is released at the client's `close()`. */
    readonly name: string;
    /** @internal */
    constructor(raw: ffi.RoomInterface, client: Client);
    /** Joins (a client never connected connects first, in the core); resolves at the server's
     * `joined`. */
    join(options?: JoinOptions): Promise<JoinInfo>;
    /**
     * Publishes a persisted message: queued while offline and re-sent with the same id after
     * reconnects until acknowledged; resolves with its `seq`.
     */
    publish<T>(event: string, data: T): Promise<PublishAck>;
    /** Publishes to members present now; never queued, rejects with `not_connected` offline. */
    publishEphemeral<T>(event: string, data: T): Promise<void>;
    /**
     * Calls `handler(msg, meta)` for each `event` message (`"*"`: every event), each stored
     * message exactly once and in `seq` order, replays after a reconnect included.
     */
    on<T = unknown>(event: string, handler: (msg: T, meta: MessageMeta) => void, options?: OnOptions<T>): Unsubscribe;
    onPresence(handler: (presence: Presence) => void): Unsubscribe;
    /** Missed messages that could not be replayed: page them in with `history`. */
    onGap(handler: (gap: Gap) => void): Unsubscribe;
    /** Every join and automatic rejoin, with the members present. */
    onJoined(handler: (info: JoinInfo) => void): Unsubscribe;
    /** Decode failures, handlers that threw, and the room lost on rejoin. */
    onError(handler: (error: RoomcastError) => void): Unsubscribe;
    /** Stored messages with `seq < before` (the newest without), ascending. */
    history(options?: HistoryOptions): Promise<HistoryPage>;
    /** Stops messages; queued publishes to the room reject with `not_joined`. */
    leave(): Promise<void>;
    /** @internal Unregisters the room's listener and releases its native objects. */
    release(): void;
    private dispatchMessage;
    private handlerFailed;
    /** To the room's error handlers, else the client's. */
    private report;
}
/**
 * A Roomcast client. Reconnects, rejoins and re-sends queued publishes on its own until
 * `close()`. Hermes has no `FinalizationRegistry`: call `close()` when done (a screen's
 * cleanup), which also releases the native objects the client made.
 */
export declare class Client {
    readonly raw: ffi.ClientInterface;
    private readonly rooms;
    private readonly states;
    private readonly errors;
    private stateSubscription;
    /** The last state the `onState` handlers saw (JSON), to skip repeats. */
    private lastState;
    private closed;
    /** @internal */
    get isClosed(): boolean;
    /** Throws a `RoomcastError` (`invalid_config`) for unusable options. */
    constructor(options: ClientOptions);
    /** Resolves at the first handshake; retries with backoff while the server is unreachable. */
    connect(): Promise<void>;
    /** A room handle without joining: register handlers first, then `room.join()`. Every
     * call for the same name returns the same room. */
    room(name: string): Room;
    /** Connects if needed and joins. */
    join(name: string, options?: JoinOptions): Promise<Room>;
    /** Calls `handler` with every connection state change. */
    onState(handler: (state: ConnectionStateInfo) => void): Unsubscribe;
    /** Errors not tied to a request, and room errors no room handler took. */
    onError(handler: (error: RoomcastError) => void): Unsubscribe;
    get state(): ConnectionStateInfo;
    /** Persisted publishes waiting for their ack (the "N queued" badge). */
    queued(): Promise<number>;
    /** Persisted publishes not yet acknowledged, oldest first (restored ones included). */
    pending(): Promise<PendingPublish[]>;
    setToken(token: string): void;
    /** Skips the reconnect wait (the network is back); while connected, probes the connection. */
    reconnectNow(): void;
    /** Disconnects until `resume()`, keeping rooms and queued publishes (app backgrounded). */
    pause(): void;
    resume(): void;
    /** Closes for good; queued publishes reject with `closed` (with a store they stay in it
     * for the next client). Releases every handler, and the native rooms and subscriptions. */
    close(): Promise<void>;
    /** @internal */
    report(error: RoomcastError): void;
    /** One state listener in the core for all `onState` handlers, from the first one on. */
    private watchStates;
    private deliverState;
}
