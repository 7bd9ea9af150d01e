/**
 * All Roomcast use of the example, on the package's React hooks (`roomcast-react-native/react`):
 * the room joined while the screen is mounted, its messages (our own pending until the server
 * acknowledges them, and those a killed app left in the store), its members, typing, the
 * connection badge, and the app-state and network helpers. The client itself is the
 * provider's (App.tsx), closed when it unmounts. The screen (ChatScreen.tsx) only renders
 * what this returns.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import NetInfo from "@react-native-community/netinfo";
import { Platform } from "react-native";
import { guard, watchConnectivity, type Client, type ConnectionStateInfo, type Member } from "roomcast-react-native";
import {
  useConnectionState,
  useMessages,
  usePresence,
  usePublish,
  useRoom,
  useRoomcast,
} from "roomcast-react-native/react";

export type ChatMessage = { role: "user" | "assistant"; content: string };
/** The room's events, typing `publish`, handlers and the hooks. */
export type ChatEvents = { "chat.message": ChatMessage; typing: { name: string } };

const isChat = (d: unknown): d is ChatMessage =>
  typeof d === "object" && d !== null && typeof (d as ChatMessage).content === "string";
/** Module-level: `useMessages` keeps its list for as long as its options stay the same. */
const chatOptions = { decode: guard(isChat, "chat message") };

/** A message on screen: from the server (with its seq), or ours until the server acks it. */
export interface Line {
  key: string;
  from: string;
  source: string;
  content: string;
  pending: boolean;
}

export interface Chat {
  lines: Line[];
  members: readonly Member[];
  typing: string[];
  status: string;
  send(content: string): void;
  typed(): void;
  retryNow(): void;
}

export function useChat(options: { room: string; name: string }): Chat {
  const client = useRoomcast<Client>();
  const room = useRoom<ChatEvents>(options.room);
  const { messages, loadEarlier } = useMessages(room, "chat.message", chatOptions);
  const members = usePresence(room);
  const state = useConnectionState();
  const publish = usePublish(room);
  const [typing, setTyping] = useState<string[]>([]);
  const [queued, setQueued] = useState(0);
  const lastTyping = useRef(0);

  // Background: 25 s of grace, then paused; foreground: resumed or probed at once.
  // Network back: reconnect now; no network: paused.
  useEffect(() => watchConnectivity(client, { netInfo: NetInfo }), [client]);
  // The recent history after the first join (a rejoin's replay brings what was missed).
  useEffect(
    () =>
      room.onJoined((info) => {
        if (!info.rejoin) loadEarlier(50).catch((e: unknown) => console.warn("history failed", e));
      }),
    [room, loadEarlier],
  );
  useEffect(
    () =>
      room.on("typing", ({ name }) => {
        setTyping((t) => (t.includes(name) ? t : [...t, name]));
        setTimeout(() => setTyping((t) => t.filter((n) => n !== name)), 3000);
      }),
    [room],
  );
  useEffect(() => room.onError((e) => console.warn(`roomcast ${e.code}: ${e.message}`)), [room]);
  // The "N queued" badge: asked again whenever the state or the list changes.
  useEffect(() => {
    client.queued().then(setQueued, () => {});
  }, [client, state, messages]);

  const lines = useMemo(
    () =>
      messages.map(
        (m): Line => ({
          key: m.key,
          from: m.own ? options.name : (m.meta?.from.name ?? m.meta?.from.user ?? ""),
          source: m.own ? Platform.OS : (m.meta?.from.source ?? ""),
          content: m.data.content,
          pending: m.pending,
        }),
      ),
    [messages, options.name],
  );

  const send = useCallback(
    (content: string) => {
      if (content.trim() === "") return;
      // Listed at once as pending; queued while offline and sent once, in order.
      publish("chat.message", { role: "user", content }).catch((e: unknown) => console.warn("publish failed", e));
    },
    [publish],
  );

  const typed = useCallback(() => {
    const now = Date.now();
    if (now - lastTyping.current < 2000) return;
    lastTyping.current = now;
    // Ephemeral: never queued; offline it just fails, which a typing indicator can ignore.
    room.publishEphemeral("typing", { name: options.name }).catch(() => {});
  }, [room, options.name]);

  const retryNow = useCallback(() => client.reconnectNow(), [client]);

  const status = useMemo(() => statusText(state, queued), [state, queued]);
  return { lines, members, typing, status, send, typed, retryNow };
}

/** "Connected", "Reconnecting in 3 s", "Paused · 2 queued", ... */
export function statusText(s: ConnectionStateInfo, queued: number): string {
  const base =
    s.state === "reconnecting"
      ? `Reconnecting in ${Math.ceil((s.delayMs ?? 0) / 1000)} s`
      : s.state.charAt(0).toUpperCase() + s.state.slice(1);
  return queued > 0 ? `${base} · ${queued} queued` : base;
}
