// Roomcast web dashboard: rooms, a live conversation with source badges, presence, typing,
// the connection badge and history paging, on the `roomcast` npm package. Everything about
// the connection (reconnects, offline queue, resume, dedup) is the package's; this file only
// renders what it reports. The client keeps its queue and room positions in an IndexedDB
// store per tab, so messages sent offline survive a reload: they show as sending (faded)
// until the server acknowledges them.
//
// Query parameters: token (else a sign-in form), name, room (first room), url (WebSocket URL,
// default this host's /ws), maxDelayMs (reconnect backoff cap, default 30000).

const $ = (sel) => document.querySelector(sel);
const params = new URLSearchParams(location.search);
const PAGE = 30;
const TYPING_MS = 3000;

let roomcast;
try {
  roomcast = await import("roomcast");
} catch (e) {
  fatal(`The roomcast package is not built (run scripts/build-wasm.sh): ${e.message}`);
  throw e;
}
const { Client, guard } = roomcast;

/** Payloads of "chat.message", checked at runtime by the typed handler's decoder. */
const isChat = (d) => typeof d === "object" && d !== null && typeof d.content === "string";
const decodeChat = guard(isChat, "chat message");

const rooms = new Map(); // name -> view state
let active = null;
let client = null;
let badgeTimer = null;
let lastState = { state: "idle" };

function fatal(text) {
  const p = $("#fatal");
  p.textContent = text;
  p.hidden = false;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

function log(text) {
  const list = $("#log");
  list.prepend(el("li", {}, `${new Date().toLocaleTimeString()} ${text}`));
  while (list.children.length > 50) list.lastChild.remove();
}

function clientId() {
  let id = localStorage.getItem("roomcast.clientId");
  if (!id) {
    id = crypto.randomUUID?.() ?? String(Math.random()).slice(2);
    localStorage.setItem("roomcast.clientId", id);
  }
  // One id per tab: two tabs are two devices for presence.
  return `${id}-${sessionStorage.getItem("roomcast.tab") ?? newTab()}`;
}
function newTab() {
  const t = Math.random().toString(36).slice(2, 8);
  sessionStorage.setItem("roomcast.tab", t);
  return t;
}

// ---------------------------------------------------------------------------------------
// Connection badge: connected / reconnecting in N s / offline with N queued

function renderBadge() {
  const badge = $("#conn");
  const queued = client ? client.queued : 0;
  // Publishes made offline wait in the client's queue and go out after the reconnect.
  const q = queued > 0 ? ` · ${queued} queued` : "";
  let cls = lastState.state;
  let text = lastState.state;
  if (lastState.state === "reconnecting") {
    const left = Math.max(0, Math.ceil((lastState.until - Date.now()) / 1000));
    text = `reconnecting in ${left} s`;
  } else if (lastState.state === "connecting") {
    text = lastState.attempt ? `reconnecting (attempt ${lastState.attempt})` : "connecting…";
  }
  if (!navigator.onLine && lastState.state !== "connected") {
    cls = "offline";
    text = "offline";
  }
  badge.className = `badge conn ${cls}`;
  badge.textContent = text + q;
  badge.dataset.state = lastState.state;
  badge.dataset.queued = String(queued);
}

function onState(st) {
  lastState = st.state === "reconnecting" ? { ...st, until: Date.now() + st.delayMs } : st;
  renderBadge();
  if (st.state !== "connected") log(`connection: ${st.state}${st.delayMs ? ` (${st.delayMs} ms)` : ""}`);
}

// ---------------------------------------------------------------------------------------
// Rooms

function roomView(name) {
  let v = rooms.get(name);
  if (!v) {
    v = { name, room: null, items: [], seqs: new Set(), oldest: null, more: false, unread: 0, members: new Map(), typing: new Map(), joined: false, stored: 0 };
    rooms.set(name, v);
  }
  return v;
}

async function refreshRoomList() {
  try {
    const stats = await (await fetch("/stats")).json();
    for (const [name, count] of Object.entries(stats.messages_per_room ?? {})) roomView(name).stored = count;
  } catch {
    // The list from /stats is a convenience; joined rooms are listed regardless.
  }
  renderRooms();
}

function renderRooms() {
  const list = $("#rooms");
  list.replaceChildren(
    ...[...rooms.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((v) =>
        el(
          "li",
          { class: v.name === active ? "active" : "", onclick: () => openRoom(v.name), "data-room": v.name },
          el("span", {}, v.name),
          v.unread ? el("span", { class: "unread" }, String(v.unread)) : el("span", { class: "count" }, v.stored ? String(v.stored) : ""),
        ),
      ),
  );
}

async function openRoom(name) {
  const v = roomView(name);
  active = name;
  v.unread = 0;
  $("#room-title").textContent = `# ${name}`;
  renderRooms();
  renderConversation();
  if (!v.room) await joinRoom(v);
}

async function joinRoom(v) {
  const room = client.room(v.name);
  v.room = room;
  room.on("chat.message", (msg, meta) => addMessage(v, { ...meta, data: msg }), { decode: decodeChat });
  room.on("typing", (_data, meta) => {
    v.typing.set(meta.from.client, { name: meta.from.name ?? meta.from.user, until: Date.now() + TYPING_MS });
    if (v.name === active) renderTyping();
  });
  room.onPresence((p) => {
    if (p.event === "join") v.members.set(p.member.client, p.member);
    else v.members.delete(p.member.client);
    if (v.name === active) renderPresence();
  });
  room.onJoined((info) => {
    v.members = new Map(info.presence.map((m) => [m.client, m]));
    v.joined = true;
    if (v.name === active) renderPresence();
  });
  room.onGap((gap) => {
    const g = $("#gap");
    g.textContent = `Messages up to #${gap.head} could not be replayed; use “Load older messages”.`;
    g.hidden = v.name !== active;
    v.more = true;
  });
  room.onError((e) => log(`${v.name}: ${e.code}: ${e.message}`));
  try {
    const info = await room.join();
    // The page before the join's head: newer messages arrive live, so none is shown twice.
    await loadOlder(v, info.seq + 1);
  } catch (e) {
    log(`join ${v.name}: ${e.code ?? ""} ${e.message}`);
  }
}

async function loadOlder(v, before = v.oldest ?? undefined) {
  if (before !== undefined && before <= 1) return;
  try {
    const page = await v.room.history({ before, limit: PAGE });
    // A resume from the store's position may have delivered some of these live already.
    const older = page.messages.filter((m) => m.event === "chat.message" && isChat(m.data) && !v.seqs.has(m.seq));
    for (const m of older) v.seqs.add(m.seq);
    v.items.unshift(...older.map((m) => ({ ...m, mine: m.from.client === client.clientId })));
    if (page.messages.length) v.oldest = page.messages[0].seq;
    v.more = page.more;
    if (v.name === active) renderConversation();
  } catch (e) {
    log(`history: ${e.code ?? ""} ${e.message}`);
  }
}

function addMessage(v, m) {
  if (m.seq != null) {
    if (v.seqs.has(m.seq)) return;
    v.seqs.add(m.seq);
  }
  v.items.push(m);
  if (v.name === active) appendMessage(m);
  else {
    v.unread++;
    renderRooms();
  }
  v.typing.delete(m.from.client);
}

// ---------------------------------------------------------------------------------------
// Conversation

function messageEl(m) {
  const who = m.from.name ?? m.from.user;
  const time = new Date(m.ts ?? Date.now()).toLocaleTimeString();
  const meta = el("div", { class: "meta" }, el("span", { class: "author" }, who), el("span", { class: `badge source-${m.from.source}` }, m.from.source), el("time", {}, time));
  if (m.failed) meta.append(el("span", { class: "badge" }, `failed: ${m.failed}`));
  return el(
    "li",
    { class: `msg${m.mine ? " mine" : ""}${m.pending && !m.failed ? " pending" : ""}`, "data-id": m.id ?? "", "data-seq": m.seq ?? "" },
    meta,
    el("div", { class: "text" }, m.data.content),
  );
}

function appendMessage(m) {
  const list = $("#messages");
  const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 20;
  list.append(messageEl(m));
  if (stick || m.mine) list.scrollTop = list.scrollHeight;
}

function renderConversation() {
  const v = rooms.get(active);
  if (!v) return;
  $("#messages").replaceChildren(...v.items.map(messageEl));
  $("#messages").scrollTop = $("#messages").scrollHeight;
  $("#older").hidden = !v.more;
  $("#gap").hidden = true;
  renderPresence();
  renderTyping();
}

function renderPresence() {
  const v = rooms.get(active);
  if (!v) return;
  $("#presence").replaceChildren(
    ...[...v.members.values()].map((m) =>
      el("li", { "data-client": m.client }, el("span", {}, m.name ?? m.user), el("span", { class: `badge source-${m.source}` }, m.source)),
    ),
  );
}

function renderTyping() {
  const v = rooms.get(active);
  if (!v) return;
  const now = Date.now();
  const names = [...v.typing.values()].filter((t) => t.until > now).map((t) => t.name);
  $("#typing").textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
}

let lastTypingSent = 0;
function typing() {
  const v = rooms.get(active);
  if (!v?.room || Date.now() - lastTypingSent < 2000) return;
  lastTypingSent = Date.now();
  // Ephemeral: never queued; offline it just fails, which is fine for a typing hint.
  v.room.publishEphemeral("typing", {}).catch(() => {});
}

async function send(text) {
  const v = rooms.get(active);
  if (!v?.room) return;
  const data = { role: "user", content: text };
  await showPending(v, null, data, v.room.publish("chat.message", data));
}

/** Shows a publish as sending until `ack` settles (also one restored after a reload). */
async function showPending(v, id, data, ack) {
  const me = { user: client.user ?? "me", client: client.clientId, source: "web", name: client.name };
  const item = { id, data, from: me, mine: true, pending: true, ts: Date.now() };
  v.items.push(item);
  if (v.name === active) appendMessage(item);
  renderBadge();
  try {
    const a = await ack;
    Object.assign(item, { id: a.id, seq: a.seq, ts: a.ts, pending: false });
    // Already shown from history or a resume (its ack was lost before the reload): once.
    if (v.seqs.has(a.seq)) v.items.splice(v.items.indexOf(item), 1);
    else v.seqs.add(a.seq);
    if (v.name === active) renderConversation();
  } catch (e) {
    item.failed = e.code;
    log(`publish: ${e.code} ${e.message}`);
    if (v.name === active) renderConversation();
  }
  renderBadge();
}

// ---------------------------------------------------------------------------------------
// Start

async function start(token, name, firstRoom) {
  $("#login").hidden = true;
  $("#app").hidden = false;
  const url = params.get("url") ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  const maxDelayMs = Number(params.get("maxDelayMs") ?? 30000);
  const id = clientId();
  const options = { url, token, clientId: id, source: "web", name: name || undefined, backoff: { maxDelayMs } };
  try {
    // One store per tab (the tab id survives a reload): unsent messages survive it too.
    client = await Client.open({ ...options, store: `dashboard:${id}` });
  } catch (e) {
    log(`store: ${e.code ?? ""} ${e.message}; messages are kept in memory only`);
    client = new Client(options);
  }
  client.clientId = id;
  client.name = name || undefined;
  client.onState(onState);
  client.onError((e) => log(`${e.code}: ${e.message}`));
  $("#me").textContent = name || "";
  window.roomcastDashboard = { client, rooms };
  addEventListener("online", renderBadge);
  addEventListener("offline", renderBadge);
  badgeTimer = setInterval(() => {
    renderBadge();
    renderTyping();
  }, 250);
  client.connect().catch((e) => log(`connect: ${e.code} ${e.message}`));
  refreshRoomList();
  setInterval(refreshRoomList, 10_000);
  const first = firstRoom || "lobby";
  // Publishes restored from the store go out once their room is joined: join those rooms
  // and show each as sending until acknowledged.
  for (const p of client.restored) {
    const v = roomView(p.room);
    if (!v.room && p.room !== first) joinRoom(v);
    if (isChat(p.data)) showPending(v, p.id, p.data, p.ack);
  }
  openRoom(first);
}

$("#composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = e.target.elements.text;
  const text = input.value.trim();
  input.value = "";
  if (text) send(text);
});
$("#composer").elements.text.addEventListener("input", typing);
$("#join-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = e.target.elements.room.value.trim();
  e.target.reset();
  if (name) openRoom(name);
});
$("#older").addEventListener("click", () => loadOlder(rooms.get(active)));
$("#login").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target.elements;
  start(f.token.value.trim(), f.name.value.trim(), f.room.value.trim());
});
addEventListener("pagehide", () => {
  clearInterval(badgeTimer);
  client?.close();
});

if (params.get("token")) start(params.get("token"), params.get("name"), params.get("room"));
else $("#login").hidden = false;
