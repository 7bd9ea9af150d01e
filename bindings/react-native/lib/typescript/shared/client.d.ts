/**
 * The Roomcast client as both TypeScript packages expose it: rooms with handler lists,
 * typed event maps, member lists, async iteration, per-call cancellation and timeouts. Written
 * once; each package gives it a link to its transport (`ClientLink`: sdk-wasm's exports on the
 * web, the uniffi bindings in React Native) and adds its platform's hooks in a subclass
 * (`Client.open` and `restored` on the web, `pending()` and the store path in React Native).
 * It holds no client logic (backoff, queue, resume, dedup: the Rust core's).
 */
import type { EphemeralAck, PlatformJoinOptions, PlatformPublishOptions } from "../platform";
import { type OnOptions } from "./decode";
import type { CallOptions, ConnectionStateInfo, Gap, HistoryOptions, HistoryPage, JoinInfo, JoinOptions, Member, MessageMeta, Presence, PublishAck, PublishOptions, Reply, RoomcastError, StreamPiece, StreamWriter, Unsubscribe } from "./types";
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
    join(options: PlatformJoinOptions & {
        resume?: "full" | "latest";
    }): Promise<JoinInfo>;
    publish(event: string, data: unknown, options: PlatformPublishOptions): Promise<PublishAck>;
    publishEphemeral(event: string, data: unknown): Promise<EphemeralAck>;
    history(before: number | undefined, limit: number | undefined): Promise<HistoryPage>;
    /** Opens a streamed message; everything the writer does is queued at once, in call order. */
    stream(event: string, data: unknown): StreamWriter;
    cancelStream(id: string): Promise<PublishAck>;
    leave(): Promise<void>;
    position?(): {
        seq: number;
        epoch: string | null;
    } | undefined;
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
/** Handlers of one kind, in registration order; adding or removing one during a dispatch is
 * safe (the dispatch goes over the list as it was). */
export declare class Handlers<H> {
    private list;
    add(h: H): Unsubscribe;
    get size(): number;
    /** Calls each handler; one that throws is reported to `failed` and the others still run. */
    each(call: (h: H) => void, failed: (e: unknown) => void): void;
    clear(): void;
}
/** Event names and their payload types, for `client.room<Events>(name)`:
 * `{ "chat.message": ChatMessage; typing: { user: string } }`. */
export type EventMap = {
    [event: string]: unknown;
};
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
/**
 * A room of a client (`client.room(name)`; the same object for the same name). Handlers stay
 * registered across reconnects and rejoins, and run one event at a time, in order.
 *
 * `E` types the room's events: `client.room<{ "chat.message": Chat }>("conv-1")` makes
 * `publish`, `on`, `messages` and the React hooks check event names and payloads. Without it,
 * any event name goes and payload types are given per call (`on<T>`, `publish<T>`).
 */
export declare class Room<E extends EventMap = EventMap> {
    readonly name: string;
    private readonly client;
    private readonly handlers;
    private readonly presenceHandlers;
    private readonly gapHandlers;
    private readonly joinHandlers;
    private readonly errorHandlers;
    private readonly memberHandlers;
    private readonly pendingHandlers;
    private readonly sentHandlers;
    private readonly endHandlers;
    private readonly appendHandlers;
    private readonly replyHandlers;
    /** Streams seen in this room: every open one, and the last ended ones. */
    private readonly replies;
    private endedReplies;
    private memberList;
    private pendingList;
    /** Counts joins and leaves: an aborted join that completes later is left only if nothing
     * joined or left since. */
    private joinGeneration;
    private link;
    /** @internal */
    constructor(name: string, client: BaseClient<object>, connect: (sink: RoomSink) => RoomLink);
    /** Highest `seq` delivered and its epoch: store it to resume with `join({since, epoch})`
     * (web; React Native keeps positions in its store, and answers `undefined`). */
    get position(): {
        seq: number;
        epoch: string | null;
    } | undefined;
    /** Members present, as of the last join and the presence events since (empty while not
     * joined or not connected: the server is the only one who knows). A new array on every
     * change, kept up to date by the room whether or not anything listens. */
    get members(): readonly Member[];
    /** Calls `handler` with the member list each time it changes. */
    onMembers(handler: (members: readonly Member[]) => void): Unsubscribe;
    /** This client's publishes to the room not yet acknowledged (see `PendingMessage`). */
    get pending(): readonly PendingMessage<E[EventName<E>]>[];
    /** Calls `handler` with the pending list each time it changes. */
    onPending(handler: (pending: readonly PendingMessage<E[EventName<E>]>[]) => void): Unsubscribe;
    /** Calls `handler` with each of this client's publishes the server acknowledged (the
     * server does not send a publisher its own messages: this is how a view shows them). */
    onSent(handler: (sent: SentMessage<E[EventName<E>]>) => void): Unsubscribe;
    /**
     * Joins (a client never connected connects first); resolves at the server's `joined`.
     * `signal`/`timeoutMs` stop waiting; a join they abandon that completes later is left
     * again, unless the room was joined or left meanwhile.
     */
    join(options?: JoinOptions): Promise<JoinInfo>;
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
    /** Publishes to members present now; never queued, rejects with `not_connected` offline. */
    publishEphemeral<T>(event: IsUntyped<E> extends true ? string : never, data: T): Promise<EphemeralAck>;
    publishEphemeral<K extends EventName<E>>(event: K, data: E[K]): Promise<EphemeralAck>;
    /**
     * Calls `handler(msg, meta)` for each `event` message (`"*"`: every event), each stored
     * message exactly once and in `seq` order, replays after a reconnect included. `decode`
     * (a function, a `guard`, or a Standard Schema validator) checks the payload first.
     */
    on<T = unknown>(event: IsUntyped<E> extends true ? string : never, handler: (msg: T, meta: MessageMeta) => void, options?: OnOptions<T>): Unsubscribe;
    on<K extends EventName<E>>(event: K, handler: (msg: E[K], meta: MessageMeta) => void, options?: OnOptions<E[K]>): Unsubscribe;
    on(event: "*", handler: (msg: E[EventName<E>], meta: MessageMeta) => void): Unsubscribe;
    /**
     * The room's `event` messages as an async iterable, from now on:
     * `for await (const { data, meta } of room.messages("chat.message")) ...`. Ends when the
     * room is left, lost or the client closed, when `signal` aborts, or when the loop breaks.
     * Messages wait in memory until the loop takes them.
     */
    messages<K extends EventName<E>>(event: K, options?: OnOptions<E[K]> & {
        signal?: AbortSignal;
    }): AsyncIterableIterator<Received<E[K]>>;
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
    /** Ends another member's stream `id` as cancelled (the server stores the end in this
     * member's name; the writer's next append fails with `stream_ended`). Resolves with the
     * ack of the stream's final piece, also when it had ended already. */
    cancelStream(id: string, options?: CallOptions): Promise<PublishAck>;
    /** Calls `handler` with each piece of the room's streamed messages, once and in order per
     * stream, after the stream's opening message (whose `meta.stream.text` is the text so far). */
    onAppend(handler: (piece: StreamPiece) => void): Unsubscribe;
    /** The stream `id` as this room has seen it: its text so far and state (the same object
     * until it changes); `undefined` before its opening message arrived. The room remembers
     * every open stream and the last 100 ended ones. */
    reply(id: string): Reply | undefined;
    /** Calls `handler` each time a stream's text or state changes. */
    onReply(handler: (reply: Reply) => void): Unsubscribe;
    /**
     * The text of stream `id` as an async iterable of deltas: first the text so far (once the
     * opening message is there), then each later piece's text, each once and in order:
     * `for await (const delta of room.pieces(id)) out += delta`. Ends when the stream ends
     * (`room.reply(id).state` says how), when the room is left or the client closed, when
     * `signal` aborts, or when the loop breaks.
     */
    pieces(id: string, options?: {
        signal?: AbortSignal;
    }): AsyncIterableIterator<string>;
    onPresence(handler: (presence: Presence) => void): Unsubscribe;
    /** Missed messages that could not be replayed: page them in with `history`. */
    onGap(handler: (gap: Gap) => void): Unsubscribe;
    /** Every join and automatic rejoin, with the members present. */
    onJoined(handler: (info: JoinInfo) => void): Unsubscribe;
    /** Decode failures, handlers that threw, and the room lost on rejoin. */
    onError(handler: (error: RoomcastError) => void): Unsubscribe;
    /** Stored messages with `seq < before` (the newest without), ascending. `signal` and
     * `timeoutMs` stop waiting. */
    history(options?: HistoryOptions): Promise<HistoryPage<E[EventName<E>]>>;
    /** Stops messages; queued publishes to the room reject with `not_joined`. Ends the room's
     * `messages()` loops. */
    leave(): Promise<void>;
    /** @internal The connection is down: who is present is unknown until the rejoin. */
    disconnected(): void;
    /** @internal Publishes restored from a store, each with its ack (or a promise settled once
     * it is no longer pending, without one). */
    restore(entries: {
        id: string;
        event: string;
        data: unknown;
        ack: Promise<unknown>;
    }[]): void;
    /** @internal The client closed: handlers go, the transport's room is released. */
    release(): void;
    private live;
    private track;
    private setPending;
    private setReply;
    private setMembers;
    private ended;
    private dispatchMessage;
    private handlerFailed;
    /** To the room's error handlers, else the client's. */
    private report;
}
/**
 * A Roomcast client. Reconnects, rejoins and re-sends queued publishes on its own until
 * `close()` (or `await using client = ...`, through `Symbol.asyncDispose`).
 */
export declare abstract class BaseClient<Raw extends object> {
    /** The transport's own client object (sdk-wasm's `Client`, the bindings' `Client`). */
    readonly raw: Raw;
    private readonly rooms;
    private readonly stateHandlers;
    private readonly errorHandlers;
    private readonly link;
    private unwatchState;
    private lastState;
    private closed;
    private closing;
    /** @internal */
    protected constructor(
    /** The transport's own client object (sdk-wasm's `Client`, the bindings' `Client`). */
    raw: Raw, link: ClientLink);
    /** @internal */
    get isClosed(): boolean;
    /** Resolves at the first handshake; retries with backoff while the server is unreachable.
     * `signal`/`timeoutMs` stop waiting; the client goes on connecting. */
    connect(options?: CallOptions): Promise<void>;
    /** A room handle without joining: register handlers first, then `room.join()`. Every
     * call for the same name returns the same room; `Events` types it (see `Room`). */
    room<Events extends EventMap = EventMap>(name: string): Room<Events>;
    /** Connects if needed and joins. */
    join<Events extends EventMap = EventMap>(name: string, options?: JoinOptions): Promise<Room<Events>>;
    /** Calls `handler` with every connection state change. */
    onState(handler: (state: ConnectionStateInfo) => void): Unsubscribe;
    /** Errors not tied to a request, and room errors no room handler took (else the console). */
    onError(handler: (error: RoomcastError) => void): Unsubscribe;
    /** The connection state now: the same object until it changes (for `useSyncExternalStore`). */
    get state(): ConnectionStateInfo;
    setToken(token: string): void;
    /** Skips the reconnect wait (the network is back); while connected, probes the connection. */
    reconnectNow(): void;
    /** Disconnects until `resume()`, keeping rooms and queued publishes (app backgrounded). */
    pause(): void;
    resume(): void;
    /** Closes for good; queued publishes reject with `closed` (with a store, `kept`: they stay
     * in it for the next client). Ends every room's `messages()` loops and releases every
     * handler. Calling it again waits for the same close. */
    close(): Promise<void>;
    /** `await using client = new Client(...)`: closes the client at the end of the scope. */
    [Symbol.asyncDispose](): Promise<void>;
    /** @internal */
    report(error: RoomcastError): void;
    private closeOnce;
    /** One state listener in the transport for the handlers and the rooms, from the first of
     * either on. */
    private watchStates;
    private lastDelivered;
    private deliverState;
}
