//! A simulated Roomcast server and network for driving [`Machine`]s on a virtual clock.
//!
//! The server keeps the protocol's promises (seq per room, idempotent publishes, resume with
//! `since`/`epoch`, no echo to the publisher) in memory; the network holds frames in flight
//! per connection so tests can cut a connection while frames are still on the wire.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use roomcast_core::machine::{Action, Config, ConnId, Event, Machine, OpId, Output, Record, Reply};
use roomcast_core::protocol::*;
use roomcast_core::FileStore;
use web_time::Instant;

pub const URL: &str = "ws://sim/ws";

#[derive(Default)]
pub struct SimRoom {
    /// Stored messages, ascending by seq (a stream's opening message holds its state when it
    /// was opened; responses fold the current one in).
    pub log: Vec<Message>,
    /// Stream appends by seq: their seqs interleave with the messages'.
    pub appends: BTreeMap<u64, Append>,
    /// Streams by opening message id.
    pub streams: HashMap<String, SimStream>,
    ids: HashMap<String, (u64, u64)>,
    members: BTreeSet<u64>,
}

/// A stream as the server keeps it.
#[derive(Debug, Clone)]
pub struct SimStream {
    pub of: u64,
    pub text: String,
    pub state: StreamState,
    /// The seq and ts of each append, by `n`.
    pub acks: Vec<(u64, u64)>,
}

/// A stored room event in a response.
enum Item {
    Message(Message),
    Append(Append),
}

impl SimRoom {
    /// The room's last seq (0 when empty).
    pub fn head(&self) -> u64 {
        let last_message = self.log.last().and_then(|m| m.seq).unwrap_or(0);
        let last_append = self.appends.keys().next_back().copied().unwrap_or(0);
        last_message.max(last_append)
    }

    /// `m` with its stream's state now (the fold), as responses send it.
    fn folded(&self, m: &Message) -> Message {
        let mut m = m.clone();
        if let Some(s) = self.streams.get(&m.id).filter(|_| m.stream.is_some()) {
            m.stream = Some(StreamInfo {
                state: s.state,
                text: s.text.clone(),
                n: s.acks.len() as u64,
            });
        }
        m
    }

    /// The stored events with a seq in `range`, the newest `limit` of them: messages folded,
    /// and the appends whose opening message is not among them. Also whether older ones were
    /// left out.
    fn window(&self, range: std::ops::Range<u64>, limit: usize) -> (Vec<Item>, bool) {
        let mut seqs: Vec<(u64, bool)> = self
            .log
            .iter()
            .filter_map(|m| m.seq)
            .filter(|s| range.contains(s))
            .map(|s| (s, true))
            .chain(self.appends.range(range.clone()).map(|(&s, _)| (s, false)))
            .collect();
        seqs.sort_unstable();
        let skip = seqs.len().saturating_sub(limit);
        let kept = &seqs[skip..];
        let messages: BTreeSet<u64> = kept.iter().filter(|(_, m)| *m).map(|(s, _)| *s).collect();
        let items = kept
            .iter()
            .filter_map(|&(seq, is_message)| {
                if is_message {
                    let m = self.log.iter().find(|m| m.seq == Some(seq))?;
                    Some(Item::Message(self.folded(m)))
                } else {
                    let a = self.appends.get(&seq)?;
                    (!messages.contains(&a.of)).then(|| Item::Append(a.clone()))
                }
            })
            .collect();
        (items, skip > 0)
    }

    /// Stores the next append of stream `id`; the frame to broadcast.
    fn store_append(
        &mut self,
        id: &str,
        text: String,
        end: Option<StreamState>,
        from: Member,
        ts: u64,
    ) -> Option<Append> {
        let seq = self.head() + 1;
        let room_name = self.log.first().map(|m| m.room.clone()).unwrap_or_default();
        let s = self.streams.get_mut(id)?;
        let n = s.acks.len() as u64;
        s.acks.push((seq, ts));
        s.text.push_str(&text);
        if let Some(end) = end {
            s.state = end;
        }
        let a = Append {
            room: room_name,
            seq,
            of: s.of,
            id: id.to_owned(),
            n,
            text,
            end,
            from,
            ts,
        };
        self.appends.insert(seq, a.clone());
        Some(a)
    }
}

struct Session {
    member: Option<Member>,
    rooms: BTreeSet<String>,
}

/// The simulated server. Tokens: `ok:<user>` is accepted, anything else is refused;
/// `token_exp_ms` (relative to `now_ms`) is announced in `welcome`.
pub struct SimServer {
    pub epoch: String,
    pub rooms: BTreeMap<String, SimRoom>,
    sessions: BTreeMap<u64, Session>,
    pub now_ms: u64,
    pub heartbeat_ms: u64,
    pub max_frame: usize,
    pub token_ttl_ms: Option<u64>,
    pub replay_limit: usize,
    /// Replays this many already-seen messages before `since` too, as an at-least-once
    /// server would: the client must drop them.
    pub replay_overlap: u64,
    /// Messages with a seq below this are gone (retention): neither replayed nor paged.
    pub retained_from: u64,
    /// Rooms whose join is refused with `forbidden`.
    pub forbidden: BTreeSet<String>,
    /// Joins refused with `internal` (a passing condition) before any is accepted.
    pub refuse_joins: u32,
    /// Message ids whose publish is refused for good (`bad_request`).
    pub refuse_ids: BTreeSet<String>,
    /// Message ids whose next publish is refused for a passing reason (`rate_limited`), once.
    pub rate_limit_once: BTreeSet<String>,
    /// Every frame received, for assertions.
    pub received: Vec<ClientFrame>,
    /// Frames the server sent on its own (a backend's stream), routed at the next settle.
    pub pending_out: Out,
}

impl Default for SimServer {
    fn default() -> Self {
        Self {
            epoch: "e1".into(),
            rooms: BTreeMap::new(),
            sessions: BTreeMap::new(),
            now_ms: 1_700_000_000_000,
            heartbeat_ms: 25_000,
            max_frame: DEFAULT_MAX_FRAME,
            token_ttl_ms: None,
            replay_limit: 1000,
            replay_overlap: 0,
            retained_from: 0,
            forbidden: BTreeSet::new(),
            refuse_joins: 0,
            refuse_ids: BTreeSet::new(),
            rate_limit_once: BTreeSet::new(),
            received: Vec::new(),
            pending_out: Out::new(),
        }
    }
}

pub type Out = Vec<(u64, String)>;

impl SimServer {
    pub fn open(&mut self, sid: u64) {
        self.sessions.insert(
            sid,
            Session {
                member: None,
                rooms: BTreeSet::new(),
            },
        );
    }

    /// The connection went away: it leaves its rooms.
    pub fn disconnect(&mut self, sid: u64) -> Out {
        let mut out = Out::new();
        if let Some(session) = self.sessions.remove(&sid) {
            for room in session.rooms {
                if let (Some(r), Some(member)) = (self.rooms.get_mut(&room), &session.member) {
                    r.members.remove(&sid);
                    let frame = ServerFrame::Presence(Presence {
                        room: room.clone(),
                        event: PresenceKind::Leave,
                        member: member.clone(),
                    })
                    .encode();
                    out.extend(r.members.iter().map(|&m| (m, frame.clone())));
                }
            }
        }
        out
    }

    pub fn handle(&mut self, sid: u64, text: &str) -> Out {
        let mut out = Out::new();
        let frame = match ClientFrame::decode(text) {
            Ok(f) => f,
            Err(e) => {
                out.push((sid, error(e.ref_id, ErrorCode::BadRequest, "bad frame")));
                return out;
            }
        };
        self.received.push(frame.clone());
        let Some(session) = self.sessions.get_mut(&sid) else {
            return out;
        };
        match frame {
            ClientFrame::Hello(h) => {
                let Some(user) = h.token.strip_prefix("ok:") else {
                    out.push((
                        sid,
                        error(Some(h.ref_id), ErrorCode::Unauthorized, "bad token"),
                    ));
                    return out;
                };
                session.member = Some(Member {
                    user: user.into(),
                    client: h.client.id.clone(),
                    source: h.client.source.clone(),
                    name: None,
                });
                let welcome = ServerFrame::Welcome(Welcome {
                    ref_id: h.ref_id,
                    session: format!("s{sid}"),
                    user: user.into(),
                    heartbeat_ms: self.heartbeat_ms,
                    max_frame: self.max_frame,
                    token_exp: self.token_ttl_ms.map(|ttl| self.now_ms + ttl),
                });
                out.push((sid, welcome.encode()));
            }
            ClientFrame::Join(j) => {
                if self.forbidden.contains(&j.room) {
                    out.push((sid, error(Some(j.ref_id), ErrorCode::Forbidden, "no")));
                    return out;
                }
                if self.refuse_joins > 0 {
                    self.refuse_joins -= 1;
                    out.push((sid, error(Some(j.ref_id), ErrorCode::Internal, "busy")));
                    return out;
                }
                let room = self.rooms.entry(j.room.clone()).or_default();
                let head = room.head();
                let mut recovered = true;
                if !session.rooms.contains(&j.room) {
                    if let Some(since) = j.since {
                        let same_epoch = j.epoch.as_deref().is_none_or(|e| e == self.epoch);
                        if same_epoch && since > head {
                            // The history went back: nothing to replay, not recovered.
                            recovered = false;
                        } else if same_epoch {
                            let from = since.saturating_sub(self.replay_overlap);
                            let first = (from + 1).max(self.retained_from);
                            let (missing, cut) =
                                room.window(first..head.max(first - 1) + 1, self.replay_limit);
                            let lost = self.retained_from > since + 1 && head >= self.retained_from;
                            recovered = !cut && !lost;
                            for item in missing {
                                let frame = match item {
                                    Item::Message(m) => ServerFrame::Message(m),
                                    Item::Append(a) => ServerFrame::Append(a),
                                };
                                out.push((sid, frame.encode()));
                            }
                        } else {
                            recovered = false;
                        }
                    }
                    session.rooms.insert(j.room.clone());
                }
                let member = session.member.clone();
                let mut presence = Vec::new();
                for m in &room.members {
                    if let Some(Some(mm)) = self.sessions.get(m).map(|s| s.member.clone()) {
                        presence.push(mm);
                    }
                }
                let joined = ServerFrame::Joined(Joined {
                    ref_id: j.ref_id,
                    room: j.room.clone(),
                    seq: head,
                    epoch: self.epoch.clone(),
                    recovered,
                    presence,
                });
                out.push((sid, joined.encode()));
                if room.members.insert(sid) {
                    if let Some(member) = member {
                        let p = ServerFrame::Presence(Presence {
                            room: j.room,
                            event: PresenceKind::Join,
                            member,
                        })
                        .encode();
                        out.extend(
                            room.members
                                .iter()
                                .filter(|&&m| m != sid)
                                .map(|&m| (m, p.clone())),
                        );
                    }
                }
            }
            ClientFrame::Leave(l) => {
                session.rooms.remove(&l.room);
                if let Some(r) = self.rooms.get_mut(&l.room) {
                    r.members.remove(&sid);
                }
                out.push((
                    sid,
                    ServerFrame::Left(Left {
                        ref_id: l.ref_id,
                        room: l.room,
                    })
                    .encode(),
                ));
            }
            ClientFrame::Publish(p) => {
                if !session.rooms.contains(&p.room) {
                    out.push((
                        sid,
                        error(Some(p.ref_id), ErrorCode::NotJoined, "join first"),
                    ));
                    return out;
                }
                if text.len() > self.max_frame {
                    out.push((sid, error(Some(p.ref_id), ErrorCode::TooLarge, "too large")));
                    return out;
                }
                if self.refuse_ids.contains(&p.id) {
                    out.push((sid, error(Some(p.ref_id), ErrorCode::BadRequest, "refused")));
                    return out;
                }
                if self.rate_limit_once.remove(&p.id) {
                    out.push((
                        sid,
                        error(Some(p.ref_id), ErrorCode::RateLimited, "slow down"),
                    ));
                    return out;
                }
                let from = session.member.clone().unwrap_or_else(|| Member {
                    user: "?".into(),
                    client: "?".into(),
                    source: "?".into(),
                    name: None,
                });
                let room = self.rooms.entry(p.room.clone()).or_default();
                let ts = self.now_ms;
                if p.ephemeral {
                    let m = ServerFrame::Message(Message {
                        room: p.room,
                        seq: None,
                        id: p.id.clone(),
                        event: p.event,
                        data: p.data,
                        from,
                        ts,
                        stream: None,
                    })
                    .encode();
                    out.extend(
                        room.members
                            .iter()
                            .filter(|&&x| x != sid)
                            .map(|&x| (x, m.clone())),
                    );
                    out.push((
                        sid,
                        ServerFrame::Ack(Ack {
                            ref_id: p.ref_id,
                            id: p.id,
                            n: None,
                            seq: None,
                            ts,
                        })
                        .encode(),
                    ));
                    return out;
                }
                if let Some(&(seq, ts)) = room.ids.get(&p.id) {
                    out.push((
                        sid,
                        ServerFrame::Ack(Ack {
                            ref_id: p.ref_id,
                            id: p.id,
                            n: None,
                            seq: Some(seq),
                            ts,
                        })
                        .encode(),
                    ));
                    return out;
                }
                let seq = room.head() + 1;
                let message = Message {
                    room: p.room,
                    seq: Some(seq),
                    id: p.id.clone(),
                    event: p.event,
                    data: p.data,
                    from,
                    ts,
                    stream: p.stream.then(|| StreamInfo {
                        state: StreamState::Open,
                        text: String::new(),
                        n: 0,
                    }),
                };
                if p.stream {
                    room.streams.insert(
                        p.id.clone(),
                        SimStream {
                            of: seq,
                            text: String::new(),
                            state: StreamState::Open,
                            acks: Vec::new(),
                        },
                    );
                }
                room.ids.insert(p.id.clone(), (seq, ts));
                let text = ServerFrame::Message(message.clone()).encode();
                room.log.push(message);
                out.extend(
                    room.members
                        .iter()
                        .filter(|&&m| m != sid)
                        .map(|&m| (m, text.clone())),
                );
                out.push((
                    sid,
                    ServerFrame::Ack(Ack {
                        ref_id: p.ref_id,
                        id: p.id,
                        n: None,
                        seq: Some(seq),
                        ts,
                    })
                    .encode(),
                ));
            }
            ClientFrame::History(h) => {
                let room = self.rooms.entry(h.room.clone()).or_default();
                let before = h.before.unwrap_or(u64::MAX);
                let limit = h.limit.unwrap_or(50) as usize;
                let (items, more) = room.window(self.retained_from.max(1)..before, limit);
                let mut messages = Vec::new();
                let mut appends = Vec::new();
                for item in items {
                    match item {
                        Item::Message(m) => messages.push(m),
                        Item::Append(a) => appends.push(a),
                    }
                }
                let page = ServerFrame::History(HistoryPage {
                    ref_id: h.ref_id,
                    room: h.room,
                    messages,
                    more,
                    appends,
                });
                out.push((sid, page.encode()));
            }
            ClientFrame::Refresh(r) => {
                let frame = if r.token.starts_with("ok:") {
                    ServerFrame::Refreshed(Refreshed {
                        ref_id: r.ref_id,
                        token_exp: self.token_ttl_ms.map(|ttl| self.now_ms + ttl),
                    })
                    .encode()
                } else {
                    error(Some(r.ref_id), ErrorCode::Unauthorized, "bad token")
                };
                out.push((sid, frame));
            }
            ClientFrame::Ping(p) => {
                out.push((sid, ServerFrame::Pong(Pong { ref_id: p.ref_id }).encode()))
            }
            ClientFrame::Pong(_) => {}
            ClientFrame::Append(r) => {
                let from = session.member.clone().unwrap_or_else(unknown_member);
                let now = self.now_ms;
                let Some(room) = self.rooms.get_mut(&r.room) else {
                    out.push((sid, error(Some(r.ref_id), ErrorCode::NotFound, "no stream")));
                    return out;
                };
                let Some(s) = room.streams.get(&r.id) else {
                    out.push((sid, error(Some(r.ref_id), ErrorCode::NotFound, "no stream")));
                    return out;
                };
                let count = s.acks.len() as u64;
                let same = |n: u64| {
                    let stored = room.appends.get(&s.acks[n as usize].0);
                    stored.is_some_and(|a| a.text == r.text && a.end == r.end)
                };
                if s.state != StreamState::Open && r.n + 1 == count && !same(r.n) {
                    // The end a cancel stored, not this writer's piece.
                    out.push((sid, error(Some(r.ref_id), ErrorCode::StreamEnded, "ended")));
                    return out;
                }
                if r.n < count {
                    let (seq, ts) = s.acks[r.n as usize];
                    out.push((sid, ack(r.ref_id, &r.id, r.n, seq, ts)));
                    return out;
                }
                if s.state != StreamState::Open {
                    out.push((sid, error(Some(r.ref_id), ErrorCode::StreamEnded, "ended")));
                    return out;
                }
                if r.n > count {
                    out.push((sid, error(Some(r.ref_id), ErrorCode::BadRequest, "n skips")));
                    return out;
                }
                if let Some(a) = room.store_append(&r.id, r.text, r.end, from, now) {
                    out.push((sid, ack(r.ref_id, &a.id, a.n, a.seq, a.ts)));
                    let frame = ServerFrame::Append(a).encode();
                    out.extend(
                        room.members
                            .iter()
                            .filter(|&&m| m != sid)
                            .map(|&m| (m, frame.clone())),
                    );
                }
            }
            ClientFrame::Cancel(c) => {
                let from = session.member.clone().unwrap_or_else(unknown_member);
                let now = self.now_ms;
                let Some(room) = self.rooms.get_mut(&c.room) else {
                    out.push((sid, error(Some(c.ref_id), ErrorCode::NotFound, "no stream")));
                    return out;
                };
                let Some(s) = room.streams.get(&c.id) else {
                    out.push((sid, error(Some(c.ref_id), ErrorCode::NotFound, "no stream")));
                    return out;
                };
                if s.state != StreamState::Open {
                    let n = s.acks.len().saturating_sub(1);
                    let (seq, ts) = s.acks.get(n).copied().unwrap_or((s.of, now));
                    out.push((sid, ack(c.ref_id, &c.id, n as u64, seq, ts)));
                    return out;
                }
                if let Some(a) = room.store_append(
                    &c.id,
                    String::new(),
                    Some(StreamState::Cancelled),
                    from,
                    now,
                ) {
                    out.push((sid, ack(c.ref_id, &a.id, a.n, a.seq, a.ts)));
                    let frame = ServerFrame::Append(a).encode();
                    out.extend(room.members.iter().map(|&m| (m, frame.clone())));
                }
            }
        }
        out
    }
}

fn unknown_member() -> Member {
    Member {
        user: "?".into(),
        client: "?".into(),
        source: "?".into(),
        name: None,
    }
}

fn ack(ref_id: u64, id: &str, n: u64, seq: u64, ts: u64) -> String {
    ServerFrame::Ack(Ack {
        ref_id,
        id: id.to_owned(),
        n: Some(n),
        seq: Some(seq),
        ts,
    })
    .encode()
}

impl SimServer {
    /// A backend opens stream `id` in `room` (as its HTTP publish would): stored and sent to
    /// every member.
    pub fn open_stream(&mut self, room: &str, id: &str) -> u64 {
        let ts = self.now_ms;
        let r = self.rooms.entry(room.to_owned()).or_default();
        let seq = r.head() + 1;
        let m = Message {
            room: room.to_owned(),
            seq: Some(seq),
            id: id.to_owned(),
            event: "assistant.reply".into(),
            data: serde_json::json!({ "role": "assistant" }).into(),
            from: backend(),
            ts,
            stream: Some(StreamInfo {
                state: StreamState::Open,
                text: String::new(),
                n: 0,
            }),
        };
        r.ids.insert(id.to_owned(), (seq, ts));
        r.streams.insert(
            id.to_owned(),
            SimStream {
                of: seq,
                text: String::new(),
                state: StreamState::Open,
                acks: Vec::new(),
            },
        );
        r.log.push(m.clone());
        let frame = ServerFrame::Message(m).encode();
        self.pending_out
            .extend(r.members.iter().map(|&sid| (sid, frame.clone())));
        seq
    }

    /// A backend appends to stream `id` (as its HTTP append would): sent to every member.
    pub fn append(&mut self, room: &str, id: &str, text: &str, end: Option<StreamState>) {
        let ts = self.now_ms;
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        if let Some(a) = r.store_append(id, text.to_owned(), end, backend(), ts) {
            let frame = ServerFrame::Append(a).encode();
            self.pending_out
                .extend(r.members.iter().map(|&sid| (sid, frame.clone())));
        }
    }

    /// A stream's text as the server has it.
    pub fn stream_text(&self, room: &str, id: &str) -> String {
        self.rooms
            .get(room)
            .and_then(|r| r.streams.get(id))
            .map(|s| s.text.clone())
            .unwrap_or_default()
    }
}

fn backend() -> Member {
    Member {
        user: "backend".into(),
        client: "backend".into(),
        source: "http".into(),
        name: None,
    }
}

pub fn error(ref_id: Option<u64>, code: ErrorCode, message: &str) -> String {
    ServerFrame::Error(ErrorFrame {
        ref_id,
        code,
        message: message.into(),
    })
    .encode()
}

/// One client: its machine, its socket (if any) and what it has seen.
pub struct Client {
    pub m: Machine,
    /// Current socket and the server session behind it.
    pub conn: Option<(ConnId, u64)>,
    /// Socket requested, open not yet delivered.
    pub opening: Option<(ConnId, u64)>,
    pub c2s: VecDeque<String>,
    pub s2c: VecDeque<String>,
    pub events: Vec<Event>,
    pub messages: Vec<Message>,
    pub completed: HashMap<OpId, Result<Reply, roomcast_core::machine::Error>>,
    pub actions: Vec<Action>,
    /// Answer for `FetchToken`; `None` leaves the fetch unanswered.
    pub token_answer: Option<Result<Option<String>, String>>,
    pub token_fetches: u32,
    /// The deadline of the machine's last drain.
    pub timeout: Option<Instant>,
    /// With `Config::persist`: the store records are written to at the end of each drain.
    pub store: Option<FileStore>,
    /// Records drained and not yet written.
    pub unwritten: Vec<Record>,
    /// Number of the last record in `unwritten`.
    pub last_record: u64,
    /// Leave records unwritten (a write still under way) until this is false again.
    pub hold_writes: bool,
    /// The app's handlers are done with each message as it arrives (reported to the machine).
    pub auto_handled: bool,
}

impl Client {
    pub fn new(config: Config, seed: u64) -> Self {
        Self {
            m: Machine::new(config, seed),
            conn: None,
            opening: None,
            c2s: VecDeque::new(),
            s2c: VecDeque::new(),
            events: Vec::new(),
            messages: Vec::new(),
            completed: HashMap::new(),
            actions: Vec::new(),
            token_answer: None,
            token_fetches: 0,
            timeout: None,
            store: None,
            unwritten: Vec::new(),
            last_record: 0,
            hold_writes: false,
            auto_handled: true,
        }
    }

    /// Writes the unwritten records in one append and reports it to the machine.
    pub fn write_records(&mut self, now: Instant) {
        if self.unwritten.is_empty() || self.hold_writes {
            return;
        }
        let records = std::mem::take(&mut self.unwritten);
        let n = self.last_record;
        let result = match &mut self.store {
            Some(store) => store.append(&records).map_err(|e| e.to_string()),
            None => Ok(()),
        };
        self.m.persisted(now, n, result);
    }

    pub fn result(&self, op: OpId) -> Option<&Result<Reply, roomcast_core::machine::Error>> {
        self.completed.get(&op)
    }
}

pub fn config(user: &str, id: &str) -> Config {
    let mut c = Config::new(URL, id, "test");
    c.token = Some(format!("ok:{user}"));
    c
}

/// A server, its clients and the virtual clock.
pub struct Net {
    pub server: SimServer,
    pub up: bool,
    pub clients: Vec<Client>,
    pub now: Instant,
    next_sid: u64,
}

impl Net {
    pub fn new(clients: Vec<Client>) -> Self {
        Self {
            server: SimServer::default(),
            up: true,
            clients,
            now: Instant::now(),
            next_sid: 1,
        }
    }

    pub fn c(&mut self, i: usize) -> &mut Client {
        &mut self.clients[i]
    }

    /// Client `i` opens stream `id` in `room` (a persisted publish with `stream` set).
    pub fn open_stream(&mut self, i: usize, room: &str, id: &str) -> OpId {
        let now = self.now;
        let op = self.clients[i].m.publish(
            now,
            roomcast_core::machine::PublishRequest {
                room: room.into(),
                id: id.into(),
                event: "assistant.reply".into(),
                data: serde_json::json!({ "role": "assistant" }).into(),
                ephemeral: false,
                stream: true,
            },
        );
        self.service(i);
        op
    }

    /// Client `i` adds `text` to its stream `id`.
    pub fn append(
        &mut self,
        i: usize,
        room: &str,
        id: &str,
        text: &str,
        end: Option<StreamState>,
    ) -> OpId {
        let now = self.now;
        let op = self.clients[i].m.append(now, room, id, text.into(), end);
        self.service(i);
        op
    }

    /// Client `i` publishes a persisted `chat.message` with message id `id` to `room`.
    pub fn publish(&mut self, i: usize, room: &str, id: &str) -> OpId {
        let now = self.now;
        let op = self.clients[i].m.publish(
            now,
            roomcast_core::machine::PublishRequest {
                room: room.into(),
                id: id.into(),
                event: "chat.message".into(),
                data: serde_json::json!({ "content": id }).into(),
                ephemeral: false,
                stream: false,
            },
        );
        self.service(i);
        op
    }

    fn route(&mut self, out: Out) {
        for (sid, text) in out {
            if let Some(c) = self
                .clients
                .iter_mut()
                .find(|c| c.conn.is_some_and(|(_, s)| s == sid))
            {
                c.s2c.push_back(text);
            }
        }
    }

    /// Carries out what client `i`'s machine asked for, and collects its events.
    pub fn service(&mut self, i: usize) {
        loop {
            match self.clients[i].m.poll_output() {
                Output::Action(action) => self.act(i, action),
                Output::Persist { n, record } => {
                    self.clients[i].unwritten.push(record);
                    self.clients[i].last_record = n;
                }
                Output::Transmit(text) => self.clients[i].c2s.push_back(text),
                Output::Event(event) => {
                    let now = self.now;
                    let c = &mut self.clients[i];
                    match &event {
                        Event::Message(m) => {
                            c.messages.push(m.clone());
                            if let (true, Some(seq)) = (c.auto_handled, m.seq) {
                                c.m.handled(now, &m.room, seq);
                            }
                        }
                        Event::Append(a) if c.auto_handled => c.m.handled(now, &a.room, a.seq),
                        Event::Completed { op, result } => {
                            assert!(
                                c.completed.insert(*op, result.clone()).is_none(),
                                "op {op:?} completed twice"
                            );
                        }
                        _ => {}
                    }
                    c.events.push(event);
                }
                Output::Timeout(at) => {
                    let c = &mut self.clients[i];
                    if !c.unwritten.is_empty() && !c.hold_writes {
                        let now = self.now;
                        c.write_records(now);
                        continue;
                    }
                    c.timeout = at;
                    return;
                }
            }
        }
    }

    fn act(&mut self, i: usize, action: Action) {
        self.clients[i].actions.push(action.clone());
        match action {
            Action::Connect { conn, .. } => {
                if self.up {
                    let sid = self.next_sid;
                    self.next_sid += 1;
                    self.server.open(sid);
                    self.clients[i].opening = Some((conn, sid));
                } else {
                    let now = self.now;
                    self.clients[i].m.handle_close(now, conn, None);
                }
            }
            Action::Close { conn, .. } => {
                let c = &mut self.clients[i];
                let sid = match (c.conn, c.opening) {
                    (Some((cc, sid)), _) if cc == conn => Some(sid),
                    (_, Some((cc, sid))) if cc == conn => Some(sid),
                    _ => None,
                };
                if let Some(sid) = sid {
                    c.conn = None;
                    c.opening = None;
                    c.c2s.clear();
                    c.s2c.clear();
                    let out = self.server.disconnect(sid);
                    self.route(out);
                }
            }
            Action::FetchToken => {
                let c = &mut self.clients[i];
                c.token_fetches += 1;
                if let Some(answer) = c.token_answer.clone() {
                    let now = self.now;
                    c.m.provide_token(now, answer);
                }
            }
        }
    }

    pub fn service_all(&mut self) {
        for i in 0..self.clients.len() {
            self.service(i);
        }
    }

    /// Delivers the pending socket open of client `i`. False when there was none.
    pub fn deliver_open(&mut self, i: usize) -> bool {
        let Some((conn, sid)) = self.clients[i].opening.take() else {
            return false;
        };
        self.clients[i].conn = Some((conn, sid));
        let (now, wall) = (self.now, self.server.now_ms);
        self.clients[i].m.handle_open(now, conn, wall);
        self.service(i);
        true
    }

    /// Delivers one frame from client `i` to the server.
    pub fn deliver_up(&mut self, i: usize) -> bool {
        let Some((_, sid)) = self.clients[i].conn else {
            return false;
        };
        let Some(text) = self.clients[i].c2s.pop_front() else {
            return false;
        };
        let out = self.server.handle(sid, &text);
        self.route(out);
        true
    }

    /// Delivers one frame from the server to client `i`.
    pub fn deliver_down(&mut self, i: usize) -> bool {
        let Some((conn, _)) = self.clients[i].conn else {
            return false;
        };
        let Some(text) = self.clients[i].s2c.pop_front() else {
            return false;
        };
        let now = self.now;
        self.clients[i].m.handle_frame(now, conn, &text);
        self.service(i);
        true
    }

    /// Delivers everything in flight until the network is quiet.
    pub fn settle(&mut self) {
        loop {
            self.service_all();
            let sent = std::mem::take(&mut self.server.pending_out);
            let mut progressed = !sent.is_empty();
            self.route(sent);
            for i in 0..self.clients.len() {
                progressed |= self.deliver_open(i);
                while self.deliver_up(i) {
                    progressed = true;
                }
                while self.deliver_down(i) {
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
    }

    /// Cuts client `i`'s connection: frames in flight are lost both ways.
    pub fn cut(&mut self, i: usize) {
        let c = &mut self.clients[i];
        let Some((conn, sid)) = c.conn.take().or(c.opening.take()) else {
            return;
        };
        c.c2s.clear();
        c.s2c.clear();
        let out = self.server.disconnect(sid);
        self.route(out);
        let now = self.now;
        self.clients[i].m.handle_close(now, conn, None);
        self.service(i);
    }

    /// Stops the server: every connection is cut and new ones are refused until `start`.
    pub fn stop_server(&mut self) {
        self.up = false;
        for i in 0..self.clients.len() {
            self.cut(i);
        }
    }

    pub fn start_server(&mut self) {
        self.up = true;
    }

    /// Moves the clock forward by `d`, firing every machine timeout on the way.
    pub fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            let next = self.clients.iter().filter_map(|c| c.timeout).min();
            match next {
                Some(t) if t <= end => {
                    self.set_now(t.max(self.now));
                    for i in 0..self.clients.len() {
                        if self.clients[i].timeout.is_some_and(|t| t <= self.now) {
                            let now = self.now;
                            self.clients[i].m.handle_timeout(now);
                            self.service(i);
                        }
                    }
                    self.settle();
                }
                _ => break,
            }
        }
        self.set_now(end);
    }

    fn set_now(&mut self, t: Instant) {
        let delta = t.saturating_duration_since(self.now);
        self.server.now_ms += delta.as_millis() as u64;
        self.now = t;
    }
}
