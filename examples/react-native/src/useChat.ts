/**
 * All Roomcast use of the example, as one React hook: the client for the screen's life
 * (closed on unmount: Hermes has no FinalizationRegistry, so nothing is released otherwise),
 * the room's messages, members and typing, the connection badge, and the app-state and
 * network helpers. The screen (ChatScreen.tsx) only renders what it returns.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import NetInfo from "@react-native-community/netinfo";
import { Platform } from "react-native";
import {
  Client,
  guard,
  watchConnectivity,
  type ConnectionStateInfo,
  type Member,
  type MessageMeta,
  type Room,
} from "roomcast-react-native";

export type ChatMessage = { role: "user" | "assistant"; content: string };
const isChat = (d: unknown): d is ChatMessage =>
  typeof d === "object" && d !== null && typeof (d as ChatMessage).content === "string";

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
  members: Member[];
  typing: string[];
  status: string;
  send(content: string): void;
  typed(): void;
  retryNow(): void;
}

export function useChat(options: { url: string; token: string; room: string; name: string }): Chat {
  const [lines, setLines] = useState<Line[]>([]);
  const [members, setMembers] = useState<Member[]>([]);
  const [typing, setTyping] = useState<string[]>([]);
  const [state, setState] = useState<ConnectionStateInfo>({ state: "idle" });
  const [queued, setQueued] = useState(0);
  const client = useRef<Client | null>(null);
  const room = useRef<Room | null>(null);
  const lastTyping = useRef(0);

  useEffect(() => {
    const c = new Client({
      url: options.url,
      token: options.token,
      name: options.name,
      source: Platform.OS, // "ios" or "android": the badge others see
    });
    client.current = c;
    const r = c.room(options.room);
    room.current = r;
    const offs = [
      c.onState((s) => {
        setState(s);
        c.queued().then(setQueued, () => {});
      }),
      // Registered before join, so a resume's replay reaches them too.
      r.on<ChatMessage>(
        "chat.message",
        (msg, meta: MessageMeta) =>
          setLines((ls) => [
            ...ls,
            {
              key: meta.id,
              from: meta.from.name ?? meta.from.user,
              source: meta.from.source,
              content: msg.content,
              pending: false,
            },
          ]),
        { decode: guard(isChat, "chat message") },
      ),
      r.on<{ name: string }>("typing", ({ name }) => {
        setTyping((t) => (t.includes(name) ? t : [...t, name]));
        setTimeout(() => setTyping((t) => t.filter((n) => n !== name)), 3000);
      }),
      // `joined` carries everyone present (again after each reconnect); presence the changes.
      r.onJoined((info) => setMembers(info.presence)),
      r.onPresence((p) =>
        setMembers((ms) =>
          p.event === "join"
            ? [...ms.filter((m) => m.client !== p.member.client), p.member]
            : ms.filter((m) => m.client !== p.member.client),
        ),
      ),
      r.onError((e) => console.warn(`roomcast ${e.code}: ${e.message}`)),
      // Background: 25 s of grace, then paused; foreground: resumed or probed at once.
      // Network back: reconnect now; no network: paused.
      watchConnectivity(c, { netInfo: NetInfo }),
    ];
    // Join, then page in the recent history (it needs a live connection) in front of what
    // arrived meanwhile, each message once.
    r.join()
      .then(() => r.history({ limit: 50 }))
      .then((page) =>
        setLines((ls) => {
          const seen = new Set(ls.map((l) => l.key));
          const older = page.messages.filter(isStoredChat).filter((m) => !seen.has(m.id));
          return [
            ...older.map((m) => ({
              key: m.id,
              from: m.from.name ?? m.from.user,
              source: m.from.source,
              content: m.data.content,
              pending: false,
            })),
            ...ls,
          ];
        }),
      )
      .catch((e: unknown) => console.warn("join failed", e));
    return () => {
      for (const off of offs) off();
      room.current = null;
      client.current = null;
      void c.close();
    };
  }, [options.url, options.token, options.room, options.name]);

  const send = useCallback(
    (content: string) => {
      const r = room.current;
      if (!r || content.trim() === "") return;
      const key = `local-${Date.now()}`;
      // Shown at once; the publish is queued while offline and sent once, in order.
      setLines((ls) => [...ls, { key, from: options.name, source: Platform.OS, content, pending: true }]);
      r.publish<ChatMessage>("chat.message", { role: "user", content }).then(
        () => setLines((ls) => ls.map((l) => (l.key === key ? { ...l, pending: false } : l))),
        (e: unknown) => console.warn("publish failed", e),
      );
      client.current?.queued().then(setQueued, () => {});
    },
    [options.name],
  );

  const typed = useCallback(() => {
    const now = Date.now();
    if (now - lastTyping.current < 2000) return;
    lastTyping.current = now;
    // Ephemeral: never queued; offline it just fails, which a typing indicator can ignore.
    room.current?.publishEphemeral("typing", { name: options.name }).catch(() => {});
  }, [options.name]);

  const retryNow = useCallback(() => client.current?.reconnectNow(), []);

  const status = useMemo(() => statusText(state, queued), [state, queued]);
  return { lines, members, typing, status, send, typed, retryNow };
}

function isStoredChat(m: { data: unknown }): m is { data: ChatMessage } & MessageMeta {
  return isChat(m.data);
}

/** "Connected", "Reconnecting in 3 s", "Paused · 2 queued", ... */
export function statusText(s: ConnectionStateInfo, queued: number): string {
  const base =
    s.state === "reconnecting"
      ? `Reconnecting in ${Math.ceil((s.delayMs ?? 0) / 1000)} s`
      : s.state.charAt(0).toUpperCase() + s.state.slice(1);
  return queued > 0 ? `${base} · ${queued} queued` : base;
}
