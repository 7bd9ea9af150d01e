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
    pub log: Vec<Message>,
    ids: HashMap<String, (u64, u64)>,
    members: BTreeSet<u64>,
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
    /// Every frame received, for assertions.
    pub received: Vec<ClientFrame>,
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
            received: Vec::new(),
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
                let head = room.log.len() as u64;
                let mut recovered = true;
                if !session.rooms.contains(&j.room) {
                    if let Some(since) = j.since {
                        let same_epoch = j.epoch.as_deref().is_none_or(|e| e == self.epoch);
                        if same_epoch && since > head {
                            // The history went back: nothing to replay, not recovered.
                            recovered = false;
                        } else if same_epoch {
                            let from = since.saturating_sub(self.replay_overlap);
                            let kept = Some(self.retained_from);
                            let missing: Vec<&Message> = room
                                .log
                                .iter()
                                .filter(|m| m.seq > Some(from) && m.seq >= kept)
                                .collect();
                            let lost = self.retained_from > since + 1 && head >= self.retained_from;
                            let skip = missing.len().saturating_sub(self.replay_limit);
                            recovered = skip == 0 && !lost;
                            for m in &missing[skip..] {
                                out.push((sid, ServerFrame::Message((*m).clone()).encode()));
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
                let seq = room.log.len() as u64 + 1;
                let message = Message {
                    room: p.room,
                    seq: Some(seq),
                    id: p.id.clone(),
                    event: p.event,
                    data: p.data,
                    from,
                    ts,
                    stream: None,
                };
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
                let older: Vec<Message> = room
                    .log
                    .iter()
                    .filter(|m| m.seq < Some(before) && m.seq >= Some(self.retained_from))
                    .cloned()
                    .collect();
                let skip = older.len().saturating_sub(limit);
                let page = ServerFrame::History(HistoryPage {
                    ref_id: h.ref_id,
                    room: h.room,
                    messages: older[skip..].to_vec(),
                    more: skip > 0,
                    appends: Vec::new(),
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
            // The fake server has no streams yet (the machine's stream support is separate).
            ClientFrame::Append(AppendRequest { ref_id, .. })
            | ClientFrame::Cancel(Cancel { ref_id, .. }) => {
                out.push((
                    sid,
                    error(Some(ref_id), ErrorCode::BadRequest, "no streams"),
                ));
            }
        }
        out
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
            let mut progressed = false;
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
