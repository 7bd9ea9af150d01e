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
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactElement,
  type ReactNode,
} from "react";
import type { BaseClient, EventMap, EventName, PendingMessage, Room, SentMessage } from "./client.js";
import { runDecoder, type Decoder } from "./decode.js";
import type { ConnectionStateInfo, JoinOptions, Member, MessageMeta, Reply, RoomcastError } from "./types.js";

type AnyClient = BaseClient<object>;

const RoomcastContext = createContext<AnyClient | null>(null);

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
export function RoomcastProvider<C extends AnyClient>(props: RoomcastProviderProps<C>): ReactElement {
  const given = props.client;
  const factory = typeof given === "function" ? (given as () => C) : undefined;
  const [client, setClient] = useState<AnyClient | null>(factory ? null : (given as C));
  const owned = useRef<{ client: AnyClient; closing?: ReturnType<typeof setTimeout> } | null>(null);
  useEffect(() => {
    if (!factory) {
      setClient(given as C);
      return;
    }
    let mine = owned.current;
    if (mine?.closing !== undefined) {
      // StrictMode's simulated unmount and remount: keep the client.
      clearTimeout(mine.closing);
      mine.closing = undefined;
    } else if (!mine || mine.client.isClosed) {
      mine = owned.current = { client: factory() };
    }
    setClient(mine.client);
    return () => {
      const current = owned.current;
      if (!current) return;
      current.closing = setTimeout(() => {
        owned.current = null;
        void current.client.close();
      }, 0);
    };
    // One client per mounted provider: a new factory function on a re-render changes nothing.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [factory ? undefined : given]);
  return createElement(RoomcastContext.Provider, { value: client }, client ? props.children : (props.fallback ?? null));
}

/** The provider's client. */
export function useRoomcast<C extends AnyClient = AnyClient>(): C {
  const client = useContext(RoomcastContext);
  if (!client) throw new Error("roomcast: useRoomcast and the room hooks need a <RoomcastProvider> above them");
  return client as C;
}

/** The connection state, re-rendering on each change. */
export function useConnectionState(): ConnectionStateInfo {
  const client = useRoomcast();
  const subscribe = useCallback((changed: () => void) => client.onState(changed), [client]);
  return useSyncExternalStore(subscribe, () => client.state, () => client.state);
}

/** Joins shared by every `useRoom` on one room: joined at the first, left after the last. */
const joins = new WeakMap<Room<EventMap>, { count: number; leaving?: ReturnType<typeof setTimeout> }>();

function retain(room: Room<EventMap>, client: AnyClient, options: JoinOptions | undefined): () => void {
  let entry = joins.get(room);
  if (entry?.leaving !== undefined) {
    clearTimeout(entry.leaving);
    entry.leaving = undefined;
    entry.count++;
  } else if (entry) {
    entry.count++;
  } else {
    entry = { count: 1 };
    joins.set(room, entry);
    room.join(options).catch((e: unknown) => {
      if (!client.isClosed) client.report(e as RoomcastError);
    });
  }
  const held = entry;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--held.count > 0) return;
    // Deferred: StrictMode's remount (and a component replaced by another on the same room
    // in one commit) takes the join over instead of leaving and joining again.
    held.leaving = setTimeout(() => {
      if (joins.get(room) !== held || held.count > 0) return;
      joins.delete(room);
      if (!client.isClosed) room.leave().catch(() => {});
    }, 0);
  };
}

/**
 * The room `name` of the provider's client, joined while the component is mounted. Every
 * component using one room shares one join; the room is left after the last unmounts. A
 * refused join goes to the room's `onError` handlers (else the client's).
 */
export function useRoom<E extends EventMap = EventMap>(name: string, options?: Omit<JoinOptions, "signal" | "timeoutMs">): Room<E> {
  const client = useRoomcast();
  const room = client.room<E>(name);
  const resume = options?.resume;
  useEffect(
    () => retain(room as unknown as Room<EventMap>, client, resume ? { resume } : undefined),
    [room, client, resume],
  );
  return room;
}

/** The room's members, re-rendering on each change (empty while offline). */
export function usePresence<E extends EventMap>(room: Room<E>): readonly Member[] {
  const r = room as unknown as Room<EventMap>;
  const subscribe = useCallback((changed: () => void) => r.onMembers(changed), [r]);
  return useSyncExternalStore(subscribe, () => r.members, () => r.members);
}

/** `room.publish`, stable across renders. */
export function usePublish<E extends EventMap>(room: Room<E>): Room<E>["publish"] {
  return useMemo(() => room.publish.bind(room) as Room<E>["publish"], [room]);
}

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

interface MessagesState<T> {
  sent: ListedMessage<T>[];
  pending: readonly PendingMessage[];
  more: boolean;
  loading: boolean;
  error?: RoomcastError;
}

/** The external store behind one `useMessages`: subscribed to the room while rendered. */
class MessagesStore<T> {
  private state: MessagesState<T> = { sent: [], pending: [], more: true, loading: false };
  private view: MessagesView<T> | undefined;
  private readonly listeners = new Set<() => void>();
  private off: (() => void)[] = [];

  private readonly events: ReadonlySet<string>;

  constructor(
    private readonly room: Room<EventMap>,
    events: readonly string[],
    private readonly options: MessagesOptions<T>,
  ) {
    this.events = new Set(events);
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.attach();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.detach();
    };
  };

  snapshot = (): MessagesView<T> => {
    if (!this.view) {
      const s = this.state;
      const pending = s.pending
        .filter((p) => this.events.has(p.event) && !s.sent.some((m) => m.id !== undefined && m.id === p.id))
        .map((p): ListedMessage<T> => ({ key: p.key, id: p.id, data: p.data as T, pending: true, own: true }));
      this.view = {
        messages: pending.length ? [...s.sent, ...pending] : s.sent,
        loadEarlier: this.loadEarlier,
        more: s.more,
        loading: s.loading,
        error: s.error,
      };
    }
    return this.view;
  };

  private set(change: Partial<MessagesState<T>>): void {
    this.state = { ...this.state, ...change };
    this.view = undefined;
    for (const l of [...this.listeners]) l();
  }

  private attach(): void {
    const room = this.room;
    this.off = [
      ...[...this.events].map((event) =>
        room.on<T>(event, (data, meta) => this.add([{ key: meta.id, id: meta.id, seq: meta.seq, data, meta, ts: meta.ts, pending: false, own: false }]), {
          decode: this.options.decode,
        }),
      ),
      room.onSent((s: SentMessage) => {
        if (!this.events.has(s.event)) return;
        this.add([{ key: s.id, id: s.id, seq: s.seq ?? undefined, data: s.data as T, ts: s.ts, pending: false, own: true }]);
      }),
      room.onPending((pending) => this.set({ pending })),
      room.onReply((reply) => {
        const sent = this.state.sent;
        const at = sent.findIndex((m) => m.id === reply.id);
        if (at < 0 || sent[at].stream === reply) return;
        const next = sent.slice();
        next[at] = { ...sent[at], stream: reply };
        this.set({ sent: next });
      }),
    ];
    this.set({ pending: room.pending });
  }

  private detach(): void {
    for (const off of this.off) off();
    this.off = [];
  }

  /** Adds messages not listed yet (by `seq`, else by id), keeping `seq` order. */
  private add(items: ListedMessage<T>[]): void {
    const seqs = new Set<number>();
    const ids = new Set<string>();
    for (const m of this.state.sent) {
      if (m.seq !== undefined) seqs.add(m.seq);
      if (m.id !== undefined) ids.add(m.id);
    }
    const fresh = items.filter((m) => {
      if (m.seq !== undefined ? seqs.has(m.seq) : false) return false;
      if (m.id !== undefined && ids.has(m.id)) return false;
      if (m.seq !== undefined) seqs.add(m.seq);
      if (m.id !== undefined) ids.add(m.id);
      return true;
    });
    if (fresh.length === 0) return;
    for (const m of fresh) {
      // A stream's latest text, as the room has it (history brings it folded).
      const reply = m.id !== undefined ? this.room.reply(m.id) : undefined;
      if (reply) m.stream = reply;
      else if (m.meta?.stream && m.id !== undefined) m.stream = { id: m.id, text: m.meta.stream.text, state: m.meta.stream.state };
    }
    const all = [...this.state.sent, ...fresh];
    const stored = all.filter((m) => m.seq !== undefined).sort((a, b) => (a.seq as number) - (b.seq as number));
    const ephemeral = all.filter((m) => m.seq === undefined);
    let sent = [...stored, ...ephemeral];
    const limit = this.options.limit ?? 500;
    if (sent.length > limit) sent = sent.slice(sent.length - limit);
    this.set({ sent });
  }

  loadEarlier = async (limit = 50): Promise<boolean> => {
    const seqs = this.state.sent.map((m) => m.seq).filter((s): s is number => s !== undefined);
    const before = seqs.length ? Math.min(...seqs) : undefined;
    this.set({ loading: true, error: undefined });
    try {
      const page = await this.room.history({ before, limit });
      const items: ListedMessage<T>[] = [];
      for (const m of page.messages) {
        if (!this.events.has(m.event)) continue;
        const { data, ...meta } = m;
        let value = data as T;
        if (this.options.decode) {
          try {
            value = runDecoder(this.options.decode, data);
          } catch {
            continue;
          }
        }
        items.push({ key: meta.id, id: meta.id, seq: meta.seq, data: value, meta, ts: meta.ts, pending: false, own: false });
      }
      this.add(items);
      this.set({ more: page.more, loading: false });
      return page.more;
    } catch (e) {
      this.set({ loading: false, error: e as RoomcastError });
      throw e;
    }
  };
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
export function useMessages<E extends EventMap, K extends EventName<E>>(
  room: Room<E>,
  event: K | readonly K[],
  options?: MessagesOptions<E[K]>,
): MessagesView<E[K]> {
  const r = room as unknown as Room<EventMap>;
  const decode = options?.decode;
  const limit = options?.limit;
  // The events by value: an array literal made on each render keeps the same list.
  const events = typeof event === "string" ? event : event.join("\n");
  const store = useMemo(
    () => new MessagesStore<E[K]>(r, events.split("\n"), { decode, limit }),
    [r, events, decode, limit],
  );
  return useSyncExternalStore(store.subscribe, store.snapshot, store.snapshot);
}

/**
 * The stream `id` of `room` (a streamed reply) as it grows: its text so far and state,
 * re-rendering at each piece; `undefined` until its opening message arrived. `useMessages`
 * lists streamed messages with the same value in `stream`.
 */
export function useStream<E extends EventMap>(room: Room<E>, id: string | undefined): Reply | undefined {
  const subscribe = useCallback(
    (changed: () => void) =>
      room.onReply((reply) => {
        if (reply.id === id) changed();
      }),
    [room, id],
  );
  const snapshot = useCallback(() => (id === undefined ? undefined : room.reply(id)), [room, id]);
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}
