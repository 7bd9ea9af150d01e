/**
 * React hooks over the client (`roomcast/react`, `roomcast-react-native/react`), the same
 * code on the web and in React Native. Built on `useSyncExternalStore`; React is a peer
 * dependency, and nothing here is in the package's main entry, so an app that does not import
 * it does not bundle it.
 *
 *   <RoomcastProvider client={() => new Client({ url, token })}>   // one client per provider
 *     const room = useRoom<Events>("conv-1");                        // joined while mounted
 *     const { messages, loadEarlier } = useMessages(room, "chat.message");
 *     const members = usePresence(room);
 *     const publish = usePublish(room);
 *     const reply = useStream(room, id);                             // a streamed reply as it grows
 */
import { type ReactElement, type ReactNode } from "react";
import type { BaseClient, EventMap, EventName, Room } from "./client";
import { type Decoder } from "./decode";
import type { ConnectionStateInfo, JoinOptions, Member, MessageMeta, Reply, RoomcastError } from "./types";
type AnyClient = BaseClient<object>;
export interface RoomcastProviderProps<C extends AnyClient> {
    /**
     * A function making the provider's client: called once when the provider mounts, and the
     * client is closed when it unmounts (React's StrictMode remount in development keeps the
     * same client). Or a client the app made and closes itself.
     */
    client: (() => C) | C;
    children?: ReactNode;
    /** Rendered until the client exists (the first render, with a factory). */
    fallback?: ReactNode;
}
/** Provides a client to the hooks below it. */
export declare function RoomcastProvider<C extends AnyClient>(props: RoomcastProviderProps<C>): ReactElement;
/** The provider's client. */
export declare function useRoomcast<C extends AnyClient = AnyClient>(): C;
/** The connection state, re-rendering on each change. */
export declare function useConnectionState(): ConnectionStateInfo;
/**
 * The room `name` of the provider's client, joined while the component is mounted. Every
 * component using one room shares one join; the room is left after the last unmounts. A
 * refused join goes to the room's `onError` handlers (else the client's).
 */
export declare function useRoom<E extends EventMap = EventMap>(name: string, options?: Omit<JoinOptions, "signal" | "timeoutMs">): Room<E>;
/** The room's members, re-rendering on each change (empty while offline). */
export declare function usePresence<E extends EventMap>(room: Room<E>): readonly Member[];
/** `room.publish`, stable across renders. */
export declare function usePublish<E extends EventMap>(room: Room<E>): Room<E>["publish"];
/** A message as `useMessages` lists it. */
export interface ListedMessage<T> {
    /** Stable key for lists: the message's id, or a local one while a publish has none yet. */
    key: string;
    id?: string;
    seq?: number;
    data: T;
    /** Everything about the message, for messages from others (the server does not send a
     * publisher its own messages: those have only `id`, `seq` and `ts`). */
    meta?: MessageMeta;
    ts?: number;
    /** Not acknowledged yet: a publish in flight or queued offline, or one restored from the
     * store that the client sends once the room is joined. */
    pending: boolean;
    /** Published by this client. */
    own: boolean;
    /** A streamed message (an assistant's reply): its text so far and state, growing in place
     * as pieces arrive (`state` stays `"open"` until it ends). */
    stream?: Reply;
}
export interface MessagesView<T> {
    /** Sent messages in `seq` order (ephemeral ones, without `seq`, after them as they came),
     * then this client's pending ones. Each message once, whatever replays and pages bring. */
    messages: readonly ListedMessage<T>[];
    /** Pages in older messages from the server's history; resolves with whether more remain. */
    loadEarlier(limit?: number): Promise<boolean>;
    /** False once the history has nothing older. */
    more: boolean;
    loading: boolean;
    /** The last `loadEarlier` failure. */
    error?: RoomcastError;
}
export interface MessagesOptions<T> {
    /** Checks payloads (live and from history); one that fails is left out and reported. */
    decode?: Decoder<T>;
    /** Messages kept; the oldest go first (default 500). */
    limit?: number;
}
/**
 * The room's `event` messages (or those of several events, in one list) as a list that
 * re-renders on change: live ones from mount, older ones through `loadEarlier()`, this
 * client's own publishes (pending until the server acknowledges them, restored ones from a
 * store included). Each message once, by `seq`. Streamed messages (an assistant's reply)
 * grow in place: `stream` holds the text so far and the state.
 * The list lives as long as `room`, the events, `decode` and `limit` stay the same: give a
 * `decode` made once (module level, or `useMemo`), not a new function on each render.
 */
export declare function useMessages<E extends EventMap, K extends EventName<E>>(room: Room<E>, event: K | readonly K[], options?: MessagesOptions<E[K]>): MessagesView<E[K]>;
/**
 * The stream `id` of `room` (a streamed reply) as it grows: its text so far and state,
 * re-rendering at each piece; `undefined` until its opening message arrived. `useMessages`
 * lists streamed messages with the same value in `stream`.
 */
export declare function useStream<E extends EventMap>(room: Room<E>, id: string | undefined): Reply | undefined;
export {};
