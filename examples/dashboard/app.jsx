// Roomcast web dashboard: rooms, a live conversation with source badges, presence, typing,
// the connection badge and history paging, on the `roomcast` npm package and its React hooks
// (`roomcast/react`). Everything about the connection (reconnects, offline queue, resume,
// dedup, who is present, what is still pending) is the package's; this file only renders what
// the hooks report. The client keeps its queue and room positions in an IndexedDB store per
// tab, so messages sent offline survive a reload: they show as sending (faded) until the
// server acknowledges them.
//
// Streamed replies (`assistant.reply`, e.g. from `roomcast assistant --room R`) are listed with
// the conversation and grow in place as their pieces arrive (`useMessages` keeps each one's
// text so far in `m.stream`); a Stop button cancels one while it is open.
//
// Bundled with React by scripts/build-wasm.sh into vendor/app.js (esbuild; no build step of
// its own). Query parameters: token (else a sign-in form), name, room (first room), url
// (WebSocket URL, default this host's /ws), maxDelayMs (reconnect backoff cap, default 30000).
import { StrictMode, useCallback, useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import { Client, guard } from "roomcast";
import {
  RoomcastProvider,
  useConnectionState,
  useMessages,
  usePresence,
  usePublish,
  useRoom,
  useRoomcast,
} from "roomcast/react";

const params = new URLSearchParams(location.search);
const PAGE = 30;
const TYPING_MS = 3000;

/** Payloads of "chat.message", checked at runtime by the hooks' decoder. */
const isChat = (d) => typeof d === "object" && d !== null && typeof d.content === "string";
/** The conversation: chat messages and streamed replies (`roomcast assistant`) in one list. */
const CONVERSATION = ["chat.message", "assistant.reply"];
const isReply = (d) => typeof d === "object" && d !== null && d.role === "assistant";
const conversationOptions = { decode: guard((d) => isChat(d) || isReply(d), "chat message or reply") };

function clientId() {
  let id = localStorage.getItem("roomcast.clientId");
  if (!id) {
    id = crypto.randomUUID?.() ?? String(Math.random()).slice(2);
    localStorage.setItem("roomcast.clientId", id);
  }
  // One id per tab: two tabs are two devices for presence.
  let tab = sessionStorage.getItem("roomcast.tab");
  if (!tab) {
    tab = Math.random().toString(36).slice(2, 8);
    sessionStorage.setItem("roomcast.tab", tab);
  }
  return `${id}-${tab}`;
}

/** Re-renders every `ms` (countdowns, the queued count, typing expiry). */
function useTick(ms) {
  const [, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), ms);
    return () => clearInterval(t);
  }, [ms]);
}

// ---------------------------------------------------------------------------------------
// Connection badge: connected / reconnecting in N s / offline, with N queued

function ConnectionBadge({ log }) {
  const client = useRoomcast();
  const state = useConnectionState();
  const [until, setUntil] = useState(0);
  useTick(250);
  useEffect(() => {
    if (state.state === "reconnecting") setUntil(Date.now() + (state.delayMs ?? 0));
    // Routine: a line in the log, not an error.
    if (state.state !== "connected") log(`connection: ${state.state}${state.delayMs ? ` (${state.delayMs} ms)` : ""}`, "info");
  }, [state, log]);
  // Publishes made offline wait in the client's queue and go out after the reconnect.
  const queued = client.queued;
  let cls = state.state;
  let text = state.state;
  if (state.state === "reconnecting") text = `reconnecting in ${Math.max(0, Math.ceil((until - Date.now()) / 1000))} s`;
  else if (state.state === "connecting") text = state.attempt ? `reconnecting (attempt ${state.attempt})` : "connecting…";
  if (!navigator.onLine && state.state !== "connected") {
    cls = "offline";
    text = "offline";
  }
  return (
    <span id="conn" className={`badge conn ${cls}`} title="connection" data-state={state.state} data-queued={String(queued)}>
      {text + (queued > 0 ? ` · ${queued} queued` : "")}
    </span>
  );
}

// ---------------------------------------------------------------------------------------
// Rooms: each one opened stays joined (unread counts) while the page is open

/** Joins `name` while mounted and counts messages that arrive while it is not shown. */
function RoomWatcher({ name, active, onUnread }) {
  const room = useRoom(name);
  useEffect(() => (active ? undefined : room.on("chat.message", () => onUnread(name))), [room, active, name, onUnread]);
  return null;
}

function RoomList({ rooms, active, unread, stored, open }) {
  const names = [...new Set([...rooms, ...Object.keys(stored)])].sort((a, b) => a.localeCompare(b));
  return (
    <ul id="rooms">
      {names.map((name) => (
        <li key={name} className={name === active ? "active" : ""} data-room={name} onClick={() => open(name)}>
          <span>{name}</span>
          {unread[name] ? <span className="unread">{unread[name]}</span> : <span className="count">{stored[name] || ""}</span>}
        </li>
      ))}
    </ul>
  );
}

// ---------------------------------------------------------------------------------------
// Conversation

function Message({ m, me, cancel }) {
  const from = m.own ? me : m.meta.from;
  const time = new Date(m.ts ?? Date.now()).toLocaleTimeString();
  const stream = m.stream;
  const open = stream?.state === "open";
  return (
    <li
      className={`msg${m.own ? " mine" : ""}${m.pending ? " pending" : ""}${stream ? " reply" : ""}${open ? " streaming" : ""}`}
      data-id={m.id ?? ""}
      data-seq={m.seq ?? ""}
      data-stream={stream?.state ?? ""}
    >
      <div className="meta">
        <span className="author">{from.name ?? from.user}</span>
        <span className={`badge source-${from.source}`}>{from.source}</span>
        <time>{time}</time>
        {stream && stream.state !== "open" && stream.state !== "done" && <span className="badge ended">{stream.state}</span>}
        {open && m.id && (
          <button className="stop" title="Stop this reply" onClick={() => cancel(m.id)}>
            Stop
          </button>
        )}
      </div>
      <div className="text">{stream ? stream.text : m.data.content}</div>
    </li>
  );
}

function Conversation({ name, me, log }) {
  const room = useRoom(name);
  // Streamed replies are listed once each, their `stream.text` growing as pieces arrive.
  const { messages, loadEarlier, more, loading } = useMessages(room, CONVERSATION, conversationOptions);
  const cancel = useCallback(
    (id) => room.cancelStream(id).catch((e) => log(`stop: ${e.code ?? ""} ${e.message}`, "error")),
    [room, log],
  );
  const publish = usePublish(room);
  const [gap, setGap] = useState(null);
  const [typing, setTyping] = useState({});
  const [lastTypingSent, setLastTypingSent] = useState(0);
  const [loaded, setLoaded] = useState(false);
  useTick(500);

  useEffect(() => {
    setLoaded(false);
    setGap(null);
    setTyping({});
    const offs = [
      // The newest page once joined; live messages and replays come through the hook.
      room.onJoined((info) => {
        if (info.rejoin) return;
        loadEarlier(PAGE)
          .catch((e) => log(`history: ${e.code ?? ""} ${e.message}`))
          .finally(() => setLoaded(true));
      }),
      room.onGap((g) => setGap(`Messages up to #${g.head} could not be replayed; use “Load older messages”.`)),
      room.on("typing", (_data, meta) =>
        setTyping((t) => ({ ...t, [meta.from.client]: { name: meta.from.name ?? meta.from.user, until: Date.now() + TYPING_MS } })),
      ),
      room.on("chat.message", (_data, meta) =>
        setTyping((t) => {
          const { [meta.from.client]: _gone, ...rest } = t;
          return rest;
        }),
      ),
      room.onError((e) => log(`${name}: ${e.code}: ${e.message}`, "error")),
    ];
    // Already joined (a room opened again): its list starts empty, so page it in now.
    if (room.members.length > 0) {
      loadEarlier(PAGE)
        .catch((e) => log(`history: ${e.code ?? ""} ${e.message}`))
        .finally(() => setLoaded(true));
    }
    return () => offs.forEach((off) => off());
  }, [room, name, loadEarlier, log]);

  useEffect(() => {
    const el = document.getElementById("messages");
    if (el) el.scrollTop = el.scrollHeight;
  }, [messages]);

  const now = Date.now();
  const typingNames = Object.values(typing)
    .filter((t) => t.until > now)
    .map((t) => t.name);

  const send = (e) => {
    e.preventDefault();
    const input = e.target.elements.text;
    const text = input.value.trim();
    input.value = "";
    if (!text) return;
    publish("chat.message", { role: "user", content: text }).catch((err) => log(`publish: ${err.code} ${err.message}`, "error"));
  };
  const typed = () => {
    if (Date.now() - lastTypingSent < 2000) return;
    setLastTypingSent(Date.now());
    // Ephemeral: never queued; offline it just fails, which is fine for a typing hint.
    room.publishEphemeral("typing", {}).catch(() => {});
  };

  return (
    <section id="conversation">
      <h2 id="room-title"># {name}</h2>
      {gap && <div id="gap" className="notice">{gap}</div>}
      {more && messages.length > 0 && (
        <button id="older" disabled={loading} onClick={() => loadEarlier(PAGE).catch((e) => log(`history: ${e.code ?? ""} ${e.message}`))}>
          Load older messages
        </button>
      )}
      {loaded && messages.length === 0 && <p className="hint">No messages in this room yet: say hello.</p>}
      <ol id="messages">
        {messages.map((m) => (
          <Message key={m.key} m={m} me={me} cancel={cancel} />
        ))}
      </ol>
      <div id="typing" aria-live="polite">
        {typingNames.length ? `${typingNames.join(", ")} ${typingNames.length > 1 ? "are" : "is"} typing…` : ""}
      </div>
      <form id="composer" onSubmit={send}>
        <input name="text" placeholder="Message" autoComplete="off" required onInput={typed} />
        <button>Send</button>
      </form>
    </section>
  );
}

function Presence({ name }) {
  // Empty while offline: who is present is only known while connected.
  const members = usePresence(useRoom(name));
  return (
    <ul id="presence">
      {members.map((m) => (
        <li key={`${m.user}/${m.client}`} data-client={m.client}>
          <span>{m.name ?? m.user}</span>
          <span className={`badge source-${m.source}`}>{m.source}</span>
        </li>
      ))}
    </ul>
  );
}

// ---------------------------------------------------------------------------------------
// The page

function Dashboard({ first, me, logLines, log }) {
  const client = useRoomcast();
  // Rooms with publishes restored from the store are joined too: that is when they go out.
  const [rooms, setRooms] = useState(() => [...new Set([first, ...client.restored.map((p) => p.room)])]);
  const [active, setActive] = useState(first);
  const [unread, setUnread] = useState({});
  const [stored, setStored] = useState({});

  useEffect(() => {
    const refresh = () =>
      fetch("/stats")
        .then((r) => r.json())
        .then((stats) => setStored(stats.messages_per_room ?? {}))
        // The list from /stats is a convenience; joined rooms are listed regardless.
        .catch(() => {});
    refresh();
    const t = setInterval(refresh, 10_000);
    return () => clearInterval(t);
  }, []);
  useEffect(() => client.onError((e) => log(`${e.code}: ${e.message}`, "error")), [client, log]);

  const open = useCallback((name) => {
    setRooms((rs) => (rs.includes(name) ? rs : [...rs, name]));
    setActive(name);
    setUnread((u) => ({ ...u, [name]: 0 }));
  }, []);
  const onUnread = useCallback((name) => setUnread((u) => ({ ...u, [name]: (u[name] ?? 0) + 1 })), []);

  return (
    <>
      <header>
        <h1>Roomcast</h1>
        <span id="me">{me.name ?? ""}</span>
        <ConnectionBadge log={log} />
      </header>
      <main id="app">
        <nav>
          <h2>Rooms</h2>
          <RoomList rooms={rooms} active={active} unread={unread} stored={stored} open={open} />
          <form
            id="join-form"
            onSubmit={(e) => {
              e.preventDefault();
              const name = e.target.elements.room.value.trim();
              e.target.reset();
              if (name) open(name);
            }}
          >
            <input name="room" placeholder="join room…" required />
            <button>Join</button>
          </form>
        </nav>
        {rooms.map((name) => (
          <RoomWatcher key={name} name={name} active={name === active} onUnread={onUnread} />
        ))}
        <Conversation key={active} name={active} me={me} log={log} />
        <aside>
          <h2>Present</h2>
          <Presence name={active} />
          <h2>Log</h2>
          <ol id="log">
            {logLines.map((l) => (
              <li key={l.key} className={l.level}>
                {l.text}
              </li>
            ))}
          </ol>
        </aside>
      </main>
    </>
  );
}

function Login({ start }) {
  return (
    <form
      id="login"
      onSubmit={(e) => {
        e.preventDefault();
        const f = e.target.elements;
        start(f.token.value.trim(), f.name.value.trim(), f.room.value.trim());
      }}
    >
      <h2>Sign in</h2>
      <p>
        Paste a token (<code>roomcast-server token --user alice</code>).
      </p>
      <label>
        Token <input name="token" required autoComplete="off" />
      </label>
      <label>
        Display name <input name="name" placeholder="optional" />
      </label>
      <label>
        Room <input name="room" defaultValue="lobby" />
      </label>
      <button>Connect</button>
    </form>
  );
}

let logKeys = 0;

function App() {
  const [session, setSession] = useState(null);
  const [logLines, setLogLines] = useState([]);
  const log = useCallback((text, level = "info") => {
    setLogLines((ls) => [{ key: ++logKeys, level, text: `${new Date().toLocaleTimeString()} ${text}` }, ...ls].slice(0, 50));
  }, []);

  const start = useCallback(
    async (token, name, firstRoom) => {
      const url = params.get("url") ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
      const maxDelayMs = Number(params.get("maxDelayMs") ?? 30000);
      const id = clientId();
      const options = { url, token, clientId: id, source: "web", name: name || undefined, backoff: { maxDelayMs } };
      let client;
      try {
        // One store per tab (the tab id survives a reload): unsent messages survive it too.
        client = await Client.open({ ...options, store: `dashboard:${id}` });
      } catch (e) {
        log(`store: ${e.code ?? ""} ${e.message}; messages are kept in memory only`, "error");
        client = new Client(options);
      }
      client.clientId = id;
      window.roomcastDashboard = { client };
      addEventListener("pagehide", () => client.close());
      client.connect().catch((e) => log(`connect: ${e.code} ${e.message}`, "error"));
      setSession({ client, first: firstRoom || "lobby", me: { user: "me", client: id, source: "web", name: name || undefined } });
    },
    [log],
  );

  // Once per page, StrictMode's second mount included: one client per store.
  const started = useRef(false);
  useEffect(() => {
    if (started.current || !params.get("token")) return;
    started.current = true;
    start(params.get("token"), params.get("name"), params.get("room"));
  }, [start]);

  if (!session) return params.get("token") ? null : <Login start={start} />;
  // The page owns the client (opened on its store above) and closes it on pagehide.
  return (
    <RoomcastProvider client={session.client}>
      <Dashboard first={session.first} me={session.me} logLines={logLines} log={log} />
    </RoomcastProvider>
  );
}

document.getElementById("fatal").hidden = true;
createRoot(document.getElementById("root")).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
