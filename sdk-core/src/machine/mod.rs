//! The sans-IO Roomcast client.
//!
//! [`Machine`] owns every client behaviour: handshake and token refresh, connection states,
//! heartbeat, reconnect backoff, rooms and their resume positions, the offline queue, and
//! deduplication of incoming messages. It performs no I/O and never reads a clock, in the
//! manner of quinn-proto's `Connection`: the driver feeds it inputs and carries out its outputs.
//!
//! Inputs (each takes the current time):
//! - socket: [`handle_open`](Machine::handle_open), [`handle_frame`](Machine::handle_frame),
//!   [`handle_close`](Machine::handle_close);
//! - time: [`handle_timeout`](Machine::handle_timeout) once [`poll_timeout`](Machine::poll_timeout)
//!   has passed;
//! - app commands: [`connect`](Machine::connect), [`join`](Machine::join),
//!   [`leave`](Machine::leave), [`publish`](Machine::publish), [`history`](Machine::history),
//!   [`set_token`](Machine::set_token), [`provide_token`](Machine::provide_token),
//!   [`reconnect_now`](Machine::reconnect_now), [`pause`](Machine::pause),
//!   [`resume`](Machine::resume), [`close`](Machine::close).
//!
//! Outputs, polled after every input until they return `None`:
//! [`poll_transmit`](Machine::poll_transmit) (text frames for the current socket),
//! [`poll_action`](Machine::poll_action) (open/close a socket, fetch a token),
//! [`poll_event`](Machine::poll_event) (state changes, messages, request outcomes) and
//! [`poll_timeout`](Machine::poll_timeout) (when to call `handle_timeout` next).
//!
//! Because time only enters as an argument, tests run the machine on a virtual clock.

mod backoff;
mod config;
mod error;
mod event;
mod queue;
mod rooms;
mod state;

use std::collections::VecDeque;
use std::time::Duration;

use litemap::LiteMap;
use web_time::Instant;

use crate::protocol::{
    self, close, ClientFrame, ErrorCode, ErrorFrame, Hello, HistoryRequest, Join, Leave, Payload,
    Ping, Pong, Publish, Refresh, ServerFrame, DEAD_AFTER_EXTRA_MS, DEFAULT_MAX_FRAME,
    MAX_HISTORY_LIMIT, PROTOCOL_VERSION,
};

use backoff::Backoff;
pub use config::{BackoffConfig, Config};
pub use error::Error;
pub use event::{Action, ConnId, Event, Gap, JoinInfo, OpId, PublishAck, Reply};
use queue::{Entry, Queue};
use rooms::{Room, Rooms, Status};
pub use state::ConnectionState;

/// Delay before re-sending a publish the server refused for a passing reason
/// (`rate_limited`, `internal`).
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Smallest margin before `token_exp` at which a refresh is started.
const MIN_REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// A publish request from the app.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishRequest {
    pub room: String,
    /// Unique per room; a UUID v7 is recommended. Re-sent unchanged after reconnects.
    pub id: String,
    pub event: String,
    pub data: Payload,
    /// Not stored, no seq, never queued: fails at once when not connected.
    pub ephemeral: bool,
}

/// The live connection, once `welcome` arrived.
#[derive(Debug)]
struct Link {
    conn: ConnId,
    heartbeat: Duration,
    next_ping: Instant,
    last_rx: Instant,
}

#[derive(Debug)]
enum Phase {
    Idle,
    /// Waiting for the token provider before opening a socket.
    AwaitingToken {
        attempt: u32,
        deadline: Instant,
    },
    /// Socket requested, `handle_open` not seen yet.
    Opening {
        conn: ConnId,
        attempt: u32,
        deadline: Instant,
    },
    /// `hello` sent.
    Handshaking {
        conn: ConnId,
        attempt: u32,
        hello: u64,
        deadline: Instant,
    },
    Connected(Link),
    /// Waiting to reconnect.
    Backoff {
        attempt: u32,
        until: Instant,
    },
    Paused,
    Unauthorized,
    Closed,
}

/// A request in flight on the current connection, by ref.
#[derive(Debug)]
enum Request {
    /// `since` as sent, for the gap report.
    Join {
        room: String,
        since: Option<u64>,
    },
    Leave {
        op: OpId,
    },
    /// A persisted publish; its entry stays in the queue.
    Publish,
    Ephemeral {
        op: OpId,
        id: String,
    },
    History {
        op: OpId,
    },
    Refresh,
}

/// Where the periodic token refresh stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefreshState {
    Idle,
    Scheduled(Instant),
    Fetching,
}

/// The sans-IO Roomcast client. See the [module documentation](self).
pub struct Machine {
    config: Config,
    phase: Phase,
    /// Last state reported to the app, so that only changes are emitted.
    reported: ConnectionState,
    backoff: Backoff,
    token: Option<String>,
    /// The server rejected `token`: get a fresh one before the next attempt.
    token_stale: bool,
    auth_failures: u32,
    refresh: RefreshState,
    /// Wall clock at the last `handle_open`, to turn `token_exp` into an `Instant`.
    wall_at_open: Option<(Instant, u64)>,
    max_frame: usize,
    rooms: Rooms,
    queue: Queue,
    /// Requests in flight, by ref; refs rise and every request has the same timeout, so the
    /// first entry has the earliest deadline. A sorted vector: acks mostly take the oldest
    /// entries, new requests append, and it is much smaller in the wasm client than a B-tree.
    inflight: LiteMap<u64, (Request, Instant)>,
    /// Re-send publishes refused for a passing reason no earlier than this.
    retry_at: Option<Instant>,
    connect_waiters: Vec<OpId>,
    next_ref: u64,
    next_op: u64,
    next_conn: u64,
    transmits: VecDeque<String>,
    actions: VecDeque<Action>,
    events: VecDeque<Event>,
}

impl Machine {
    /// A machine in the `Idle` state. `seed` drives the reconnect jitter; give each client a
    /// different one (drivers use a random seed, tests a fixed one).
    pub fn new(config: Config, seed: u64) -> Self {
        Self {
            backoff: Backoff::new(config.backoff.clone(), seed),
            token: config.token.clone(),
            config,
            phase: Phase::Idle,
            reported: ConnectionState::Idle,
            token_stale: false,
            auth_failures: 0,
            refresh: RefreshState::Idle,
            wall_at_open: None,
            max_frame: DEFAULT_MAX_FRAME,
            rooms: Rooms::new(),
            queue: Queue::default(),
            inflight: LiteMap::new(),
            retry_at: None,
            connect_waiters: Vec::new(),
            next_ref: 1,
            next_op: 1,
            next_conn: 1,
            transmits: VecDeque::new(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Queries

    /// The connection state as last reported.
    pub fn state(&self) -> ConnectionState {
        self.reported
    }

    /// Persisted publishes not yet acknowledged (offline or in flight).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Highest seq delivered for `room` and the epoch it belongs to.
    pub fn position(&self, room: &str) -> Option<(u64, Option<&str>)> {
        let r = self.rooms.get(room)?;
        Some((r.last_seq?, r.epoch.as_deref()))
    }

    /// Whether `room` is joined on the current connection.
    pub fn is_joined(&self, room: &str) -> bool {
        self.rooms
            .get(room)
            .is_some_and(|r| r.status == Status::Joined)
    }

    /// The largest frame the server accepts (from `welcome`; the protocol default before).
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    // -----------------------------------------------------------------------------------------
    // Outputs

    /// The next text frame to send on the current socket.
    pub fn poll_transmit(&mut self) -> Option<String> {
        self.transmits.pop_front()
    }

    /// The next I/O action for the driver.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next event for the app.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When `handle_timeout` must be called next, if anything is scheduled.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let phase = match &self.phase {
            Phase::AwaitingToken { deadline, .. }
            | Phase::Opening { deadline, .. }
            | Phase::Handshaking { deadline, .. } => Some(*deadline),
            Phase::Backoff { until, .. } => Some(*until),
            Phase::Connected(link) => Some(link.next_ping.min(self.dead_at(link))),
            Phase::Idle | Phase::Paused | Phase::Unauthorized | Phase::Closed => None,
        };
        let connected = matches!(self.phase, Phase::Connected(_));
        let refresh = match self.refresh {
            RefreshState::Scheduled(at) if connected => Some(at),
            _ => None,
        };
        let retry = self.retry_at.filter(|_| connected);
        let request = self.inflight.first().map(|(_, (_, deadline))| *deadline);
        [phase, refresh, retry, request].into_iter().flatten().min()
    }

    fn dead_at(&self, link: &Link) -> Instant {
        link.last_rx + link.heartbeat + Duration::from_millis(DEAD_AFTER_EXTRA_MS)
    }

    // -----------------------------------------------------------------------------------------
    // App commands

    fn new_op(&mut self) -> OpId {
        let op = OpId(self.next_op);
        self.next_op += 1;
        op
    }

    fn complete(&mut self, op: OpId, result: Result<Reply, Error>) {
        self.events.push_back(Event::Completed { op, result });
    }

    /// Starts connecting. Completes with [`Reply::Connected`] at the first `welcome`, or fails
    /// when the client ends up `Unauthorized` or `Closed`. Reconnects are automatic after that.
    pub fn connect(&mut self, now: Instant) -> OpId {
        let op = self.new_op();
        match self.phase {
            Phase::Closed => self.complete(op, Err(Error::Closed)),
            Phase::Connected(_) => self.complete(op, Ok(Reply::Connected)),
            Phase::Idle | Phase::Unauthorized => {
                self.connect_waiters.push(op);
                self.auth_failures = 0;
                self.start_attempt(now, 0);
            }
            _ => self.connect_waiters.push(op),
        }
        op
    }

    /// Joins `room`; completes at the server's `joined`. Joined rooms are rejoined after every
    /// reconnect with the last seen `seq` and `epoch`, so nothing is missed. `since`/`epoch`
    /// resume from a position the app stored (first join only).
    pub fn join(
        &mut self,
        now: Instant,
        room: &str,
        since: Option<u64>,
        epoch: Option<String>,
    ) -> OpId {
        let op = self.new_op();
        if matches!(self.phase, Phase::Closed) {
            self.complete(op, Err(Error::Closed));
            return op;
        }
        if let Err(e) = protocol::validate_room(room) {
            self.complete(op, Err(e.into()));
            return op;
        }
        match self.rooms.get_mut(room) {
            Some(r) if r.status == Status::Joined => {
                let info = JoinInfo {
                    room: room.to_owned(),
                    seq: r.last_seq.unwrap_or(0),
                    epoch: r.epoch.clone().unwrap_or_default(),
                    recovered: true,
                    presence: Vec::new(),
                    rejoin: false,
                };
                self.complete(op, Ok(Reply::Joined(info)));
            }
            Some(r) => r.waiters.push(op),
            None => {
                let mut r = Room::new(since, epoch);
                r.waiters.push(op);
                self.rooms.insert(room.to_owned(), r);
                self.send_join(now, room);
            }
        }
        op
    }

    /// Leaves `room`. Its messages stop at once; its queued publishes fail with `NotJoined`.
    pub fn leave(&mut self, now: Instant, room: &str) -> OpId {
        let op = self.new_op();
        let Some(r) = self.rooms.remove(room) else {
            self.complete(op, Err(Error::NotJoined(room.to_owned())));
            return op;
        };
        for waiter in r.waiters {
            self.complete(waiter, Err(Error::NotJoined(room.to_owned())));
        }
        for entry in self.queue.drain_room(room) {
            self.complete(entry.op, Err(Error::NotJoined(room.to_owned())));
        }
        if r.status != Status::Pending && self.is_connected() {
            self.send_request(now, Request::Leave { op }, |ref_id| {
                ClientFrame::Leave(Leave {
                    ref_id,
                    room: room.to_owned(),
                })
            });
        } else {
            self.complete(op, Ok(Reply::Left));
        }
        op
    }

    /// Publishes to a joined room. Persisted publishes are queued (also while offline) and
    /// complete at the server's ack; ephemeral ones are sent only on a live connection.
    pub fn publish(&mut self, now: Instant, req: PublishRequest) -> OpId {
        let op = self.new_op();
        if let Err(e) = self.check_publish(&req) {
            self.complete(op, Err(e));
            return op;
        }
        if req.ephemeral {
            let id = req.id.clone();
            self.send_request(now, Request::Ephemeral { op, id }, |ref_id| {
                ClientFrame::Publish(Publish {
                    ref_id,
                    room: req.room,
                    id: req.id,
                    event: req.event,
                    data: req.data,
                    ephemeral: true,
                })
            });
        } else {
            self.queue.push(Entry {
                op,
                room: req.room,
                id: req.id,
                event: req.event,
                data: req.data,
                sent: None,
            });
            self.flush(now);
        }
        op
    }

    fn check_publish(&self, req: &PublishRequest) -> Result<(), Error> {
        if matches!(self.phase, Phase::Closed) {
            return Err(Error::Closed);
        }
        if !self.rooms.contains_key(&req.room) {
            return Err(Error::NotJoined(req.room.clone()));
        }
        if req.ephemeral && !(self.is_connected() && self.is_joined(&req.room)) {
            return Err(Error::NotConnected);
        }
        if !req.ephemeral && self.queue.len() >= self.config.queue_capacity {
            return Err(Error::QueueFull {
                capacity: self.config.queue_capacity,
            });
        }
        // The ref is the only part that varies between sends; count it at its widest.
        let size = ClientFrame::Publish(Publish {
            ref_id: u64::MAX,
            room: req.room.clone(),
            id: req.id.clone(),
            event: req.event.clone(),
            data: req.data.clone(),
            ephemeral: req.ephemeral,
        })
        .encode()
        .len();
        if size > self.max_frame {
            return Err(Error::TooLarge {
                size,
                max: self.max_frame,
            });
        }
        Ok(())
    }

    /// Asks for stored messages of `room` with `seq < before` (the newest without `before`).
    /// Needs a live connection; any room the token allows, joined or not.
    pub fn history(&mut self, now: Instant, room: &str, before: Option<u64>, limit: u32) -> OpId {
        let op = self.new_op();
        if let Err(e) = protocol::validate_room(room) {
            self.complete(op, Err(e.into()));
        } else if matches!(self.phase, Phase::Closed) {
            self.complete(op, Err(Error::Closed));
        } else if !self.is_connected() {
            self.complete(op, Err(Error::NotConnected));
        } else {
            let room = room.to_owned();
            let limit = limit.clamp(1, MAX_HISTORY_LIMIT);
            self.send_request(now, Request::History { op }, |ref_id| {
                ClientFrame::History(HistoryRequest {
                    ref_id,
                    room,
                    before,
                    limit: Some(limit),
                })
            });
        }
        op
    }

    /// Replaces the token. On a live connection it is sent at once with `refresh`; otherwise
    /// it is used for the next connection attempt.
    pub fn set_token(&mut self, now: Instant, token: String) {
        self.token = Some(token);
        self.token_stale = false;
        if self.is_connected() {
            self.send_refresh(now);
        }
    }

    /// The token provider's answer to [`Action::FetchToken`]: `Ok(Some(token))`, `Ok(None)`
    /// when the user has no token any more (the client stops in `Unauthorized`), or `Err` for
    /// a passing failure (retried with backoff).
    pub fn provide_token(&mut self, now: Instant, answer: Result<Option<String>, String>) {
        let awaiting = matches!(self.phase, Phase::AwaitingToken { .. });
        let attempt = match self.phase {
            Phase::AwaitingToken { attempt, .. } => attempt,
            _ => 0,
        };
        let refreshing = self.refresh == RefreshState::Fetching;
        if refreshing {
            self.refresh = RefreshState::Idle;
        }
        match answer {
            Ok(Some(token)) => {
                self.token = Some(token);
                self.token_stale = false;
                if awaiting {
                    self.open_socket(now, attempt);
                } else if refreshing && self.is_connected() {
                    self.send_refresh(now);
                }
            }
            Ok(None) => {
                self.token = None;
                if awaiting {
                    self.become_unauthorized("the token provider has no token".into());
                }
            }
            Err(message) => {
                self.events
                    .push_back(Event::Error(Error::TokenProvider(message)));
                if awaiting {
                    self.schedule_reconnect(now, attempt);
                } else if refreshing {
                    // Try again shortly; the server closes with 4001 at expiry regardless.
                    self.refresh = RefreshState::Scheduled(now + RETRY_AFTER * 5);
                }
            }
        }
    }

    /// Skips the backoff wait (e.g. the OS reports the network back), or retries after
    /// `Unauthorized`.
    pub fn reconnect_now(&mut self, now: Instant) {
        match self.phase {
            Phase::Backoff { attempt, .. } => self.start_attempt(now, attempt),
            Phase::Unauthorized => {
                self.auth_failures = 0;
                self.start_attempt(now, 0);
            }
            _ => {}
        }
    }

    /// Disconnects and stays disconnected until [`resume`](Self::resume) (app backgrounded).
    /// Rooms and the offline queue are kept.
    pub fn pause(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Closed | Phase::Paused) {
            return;
        }
        self.drop_connection(now, close::NORMAL, "paused");
        self.phase = Phase::Paused;
        self.report_state();
    }

    /// Reconnects after [`pause`](Self::pause).
    pub fn resume(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Paused) {
            self.backoff.reset();
            self.start_attempt(now, 0);
        }
    }

    /// Closes for good: the socket closes with 1000 and every pending request, queued
    /// publishes included, fails with [`Error::Closed`].
    pub fn close(&mut self, now: Instant) -> OpId {
        let op = self.new_op();
        if !matches!(self.phase, Phase::Closed) {
            self.drop_connection(now, close::NORMAL, "closed by the client");
            self.shut(Error::Closed);
        }
        self.complete(op, Ok(Reply::Closed));
        op
    }

    // -----------------------------------------------------------------------------------------
    // Socket and time inputs

    /// The socket `conn` is open. `unix_ms` is the wall clock now, used only to schedule the
    /// token refresh from the server's `token_exp`.
    pub fn handle_open(&mut self, now: Instant, conn: ConnId, unix_ms: u64) {
        let Phase::Opening {
            conn: c, attempt, ..
        } = self.phase
        else {
            return;
        };
        if c != conn {
            return;
        }
        self.wall_at_open = Some((now, unix_ms));
        let hello = self.take_ref();
        let token = self.token.clone().unwrap_or_default();
        self.transmit(&ClientFrame::Hello(Hello {
            ref_id: hello,
            protocol: PROTOCOL_VERSION,
            token,
            client: self.config.client.clone(),
        }));
        self.phase = Phase::Handshaking {
            conn,
            attempt,
            hello,
            deadline: now + self.config.connect_timeout,
        };
    }

    /// The socket `conn` closed or failed (`code` is the close code when there was one).
    pub fn handle_close(&mut self, now: Instant, conn: ConnId, code: Option<u16>) {
        if self.current_conn() != Some(conn) {
            return;
        }
        let attempt = self.attempt();
        self.connection_lost();
        if code == Some(close::UNAUTHORIZED) {
            self.auth_failures += 1;
            if !self.config.token_provider {
                self.become_unauthorized("the server rejected the token".into());
                return;
            }
            if self.auth_failures > self.config.max_auth_failures {
                self.become_unauthorized(format!(
                    "the server rejected {} fresh tokens in a row",
                    self.auth_failures
                ));
                return;
            }
            self.token_stale = true;
        }
        self.schedule_reconnect(now, attempt);
    }

    /// A text frame arrived on `conn`.
    pub fn handle_frame(&mut self, now: Instant, conn: ConnId, text: &str) {
        if self.current_conn() != Some(conn) {
            return;
        }
        if let Phase::Connected(link) = &mut self.phase {
            link.last_rx = now;
        }
        let frame = match ServerFrame::decode(text) {
            Ok(frame) => frame,
            // A newer server's frame type: ignored, per the protocol's forward compatibility.
            Err(protocol::FrameError::UnknownType(_)) => return,
            Err(e) => {
                self.events
                    .push_back(Event::Error(Error::Protocol(e.to_string())));
                return;
            }
        };
        match frame {
            ServerFrame::Welcome(w) => self.on_welcome(now, conn, w),
            ServerFrame::Joined(j) => self.on_joined(now, j),
            ServerFrame::Left(l) => {
                if let Some((Request::Leave { op }, _)) = self.inflight.remove(&l.ref_id) {
                    self.complete(op, Ok(Reply::Left));
                }
            }
            ServerFrame::Ack(a) => self.on_ack(now, a),
            ServerFrame::Message(m) => self.on_message(m),
            ServerFrame::Presence(p) => {
                if self.rooms.contains_key(&p.room) {
                    self.events.push_back(Event::Presence(p));
                }
            }
            ServerFrame::History(page) => {
                if let Some((Request::History { op, .. }, _)) = self.inflight.remove(&page.ref_id) {
                    self.complete(op, Ok(Reply::History(page)));
                }
            }
            ServerFrame::Refreshed(r) => {
                self.inflight.remove(&r.ref_id);
                self.schedule_refresh(now, r.token_exp);
            }
            ServerFrame::Ping(p) => self.transmit(&ClientFrame::Pong(Pong { ref_id: p.ref_id })),
            ServerFrame::Pong(_) => {}
            ServerFrame::Error(e) => self.on_error(now, e),
        }
    }

    /// Time has reached (or passed) [`poll_timeout`](Self::poll_timeout).
    pub fn handle_timeout(&mut self, now: Instant) {
        // Requests past their deadline.
        while let Some((&ref_id, (_, deadline))) = self.inflight.first() {
            if *deadline > now {
                break;
            }
            let Some((request, _)) = self.inflight.remove(&ref_id) else {
                break;
            };
            match request {
                Request::History { op, .. } | Request::Ephemeral { op, .. } => {
                    self.complete(op, Err(Error::Timeout));
                }
                Request::Leave { op } => self.complete(op, Ok(Reply::Left)),
                // A join, publish or refresh that gets no answer means the connection is not
                // healthy; a new one resends what matters.
                Request::Join { .. } | Request::Publish | Request::Refresh => {
                    self.queue.unsend(ref_id);
                    self.fail_connection(now, "request timed out");
                    return;
                }
            }
        }
        match self.phase {
            Phase::AwaitingToken { deadline, attempt } if deadline <= now => {
                self.events.push_back(Event::Error(Error::TokenProvider(
                    "no answer within the connect timeout".into(),
                )));
                self.schedule_reconnect(now, attempt);
            }
            Phase::Opening { deadline, .. } | Phase::Handshaking { deadline, .. }
                if deadline <= now =>
            {
                self.fail_connection(now, "connect timed out");
            }
            Phase::Backoff { until, attempt } if until <= now => self.start_attempt(now, attempt),
            Phase::Connected(ref link) => {
                if self.dead_at(link) <= now {
                    self.fail_connection(now, "no frame from the server within the heartbeat");
                    return;
                }
                if link.next_ping <= now {
                    let ref_id = self.take_ref();
                    self.transmit(&ClientFrame::Ping(Ping {
                        ref_id: Some(ref_id),
                    }));
                    if let Phase::Connected(link) = &mut self.phase {
                        while link.next_ping <= now {
                            link.next_ping += link.heartbeat;
                        }
                    }
                }
                if matches!(self.refresh, RefreshState::Scheduled(at) if at <= now) {
                    self.start_refresh();
                }
                if self.retry_at.is_some_and(|at| at <= now) {
                    self.retry_at = None;
                    self.flush(now);
                }
            }
            _ => {}
        }
    }

    // -----------------------------------------------------------------------------------------
    // Frame handlers

    fn on_welcome(&mut self, now: Instant, conn: ConnId, w: protocol::Welcome) {
        let Phase::Handshaking { hello, .. } = self.phase else {
            return;
        };
        if w.ref_id != hello {
            return;
        }
        let heartbeat = Duration::from_millis(w.heartbeat_ms.max(1));
        self.phase = Phase::Connected(Link {
            conn,
            heartbeat,
            next_ping: now + heartbeat,
            last_rx: now,
        });
        self.max_frame = w.max_frame;
        self.backoff.reset();
        self.auth_failures = 0;
        self.schedule_refresh(now, w.token_exp);
        self.report_state();
        for op in std::mem::take(&mut self.connect_waiters) {
            self.complete(op, Ok(Reply::Connected));
        }
        let rooms: Vec<String> = self.rooms.keys().cloned().collect();
        for room in rooms {
            self.send_join(now, &room);
        }
    }

    fn on_joined(&mut self, now: Instant, j: protocol::Joined) {
        let since = match self.inflight.remove(&j.ref_id) {
            Some((Request::Join { since, .. }, _)) => since,
            Some(other) => {
                self.inflight.insert(j.ref_id, other);
                return;
            }
            None => return,
        };
        let Some(room) = self.rooms.get_mut(&j.room) else {
            return;
        };
        let previous_epoch = room.epoch.clone();
        if room.epoch.as_deref() != Some(j.epoch.as_str()) {
            room.reset_epoch(j.epoch.clone());
        }
        room.last_seq = Some(room.last_seq.map_or(j.seq, |last| last.max(j.seq)));
        room.status = Status::Joined;
        let rejoin = room.ever_joined;
        room.ever_joined = true;
        let waiters = std::mem::take(&mut room.waiters);
        let info = JoinInfo {
            room: j.room.clone(),
            seq: j.seq,
            epoch: j.epoch.clone(),
            recovered: j.recovered,
            presence: j.presence,
            rejoin,
        };
        if !j.recovered {
            self.events.push_back(Event::Gap(Gap {
                room: j.room.clone(),
                since,
                previous_epoch,
                head: j.seq,
                epoch: j.epoch,
            }));
        }
        self.events.push_back(Event::Joined(info.clone()));
        for op in waiters {
            self.complete(op, Ok(Reply::Joined(info.clone())));
        }
        self.flush(now);
    }

    fn on_message(&mut self, m: protocol::Message) {
        let Some(room) = self.rooms.get_mut(&m.room) else {
            return;
        };
        if room.status == Status::Pending {
            return;
        }
        let Some(seq) = m.seq else {
            self.events.push_back(Event::Message(m));
            return;
        };
        if let Some(entry) = self.queue.take_id(&m.room, &m.id) {
            // Our own publish, stored before its ack was lost, replayed on resume: it is
            // acknowledged by this very message rather than shown as someone else's.
            room.record_own(seq);
            if let Some(ref_id) = entry.sent {
                self.inflight.remove(&ref_id);
            }
            let ack = PublishAck {
                id: entry.id,
                seq: Some(seq),
                ts: m.ts,
            };
            self.complete(entry.op, Ok(Reply::Published(ack)));
            return;
        }
        if room.accept(seq) {
            self.events.push_back(Event::Message(m));
        }
    }

    fn on_ack(&mut self, _now: Instant, a: protocol::Ack) {
        match self.inflight.remove(&a.ref_id) {
            Some((Request::Publish, _)) => {
                if let Some(entry) = self.queue.take_sent(a.ref_id) {
                    if let (Some(seq), Some(room)) = (a.seq, self.rooms.get_mut(&entry.room)) {
                        room.record_own(seq);
                    }
                    let ack = PublishAck {
                        id: entry.id,
                        seq: a.seq,
                        ts: a.ts,
                    };
                    self.complete(entry.op, Ok(Reply::Published(ack)));
                }
            }
            Some((Request::Ephemeral { op, id }, _)) => {
                let ack = PublishAck {
                    id,
                    seq: None,
                    ts: a.ts,
                };
                self.complete(op, Ok(Reply::Published(ack)));
            }
            Some((other, deadline)) => {
                self.inflight.insert(a.ref_id, (other, deadline));
            }
            None => {}
        }
    }

    fn on_error(&mut self, now: Instant, e: ErrorFrame) {
        let Some(ref_id) = e.ref_id else {
            let err = Error::from_server(e.code, e.message, None);
            self.events.push_back(Event::Error(err));
            return;
        };
        if let Phase::Handshaking { hello, .. } = self.phase {
            if hello == ref_id {
                // The server closes the socket next (4001/4000); `handle_close` decides.
                if e.code == ErrorCode::UnsupportedProtocol {
                    self.events.push_back(Event::Error(Error::Server {
                        code: e.code,
                        message: e.message,
                    }));
                    self.drop_connection(now, close::NORMAL, "unsupported protocol");
                    self.shut(Error::Protocol(
                        "the server does not speak protocol 1".into(),
                    ));
                } else {
                    self.events
                        .push_back(Event::Error(Error::from_server(e.code, e.message, None)));
                }
                return;
            }
        }
        let Some((request, _)) = self.inflight.remove(&ref_id) else {
            return;
        };
        match request {
            Request::Join { room, .. } => {
                let err = Error::from_server(e.code, e.message, Some(&room));
                self.drop_room(&room, err);
            }
            Request::Leave { op } => self.complete(op, Ok(Reply::Left)),
            Request::Publish => {
                if matches!(e.code, ErrorCode::RateLimited | ErrorCode::Internal) {
                    // A passing condition: keep the publish and send it again shortly.
                    self.queue.unsend(ref_id);
                    self.retry_at = Some(now + RETRY_AFTER);
                    return;
                }
                let Some(entry) = self.queue.take_sent(ref_id) else {
                    return;
                };
                match e.code {
                    ErrorCode::TooLarge => {
                        let max = self.max_frame;
                        self.complete(entry.op, Err(Error::TooLarge { size: max + 1, max }));
                    }
                    code => {
                        let err = Error::from_server(code, e.message, Some(&entry.room));
                        self.complete(entry.op, Err(err));
                    }
                }
            }
            Request::Ephemeral { op, .. } | Request::History { op, .. } => {
                let err = Error::from_server(e.code, e.message, None);
                self.complete(op, Err(err));
            }
            Request::Refresh => {
                let err = Error::from_server(e.code, e.message, None);
                self.events.push_back(Event::Error(err));
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Internals

    fn is_connected(&self) -> bool {
        matches!(self.phase, Phase::Connected(_))
    }

    fn current_conn(&self) -> Option<ConnId> {
        match &self.phase {
            Phase::Opening { conn, .. } | Phase::Handshaking { conn, .. } => Some(*conn),
            Phase::Connected(link) => Some(link.conn),
            _ => None,
        }
    }

    /// The reconnect attempt the current connection belongs to (0 once connected).
    fn attempt(&self) -> u32 {
        match self.phase {
            Phase::AwaitingToken { attempt, .. }
            | Phase::Opening { attempt, .. }
            | Phase::Handshaking { attempt, .. }
            | Phase::Backoff { attempt, .. } => attempt,
            _ => 0,
        }
    }

    fn take_ref(&mut self) -> u64 {
        let r = self.next_ref;
        self.next_ref += 1;
        r
    }

    fn transmit(&mut self, frame: &ClientFrame) {
        self.transmits.push_back(frame.encode());
    }

    /// Sends a request on the live connection, or fails its op with `NotConnected`.
    fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        frame: impl FnOnce(u64) -> ClientFrame,
    ) -> u64 {
        if !self.is_connected() {
            match request {
                Request::Leave { op } => self.complete(op, Ok(Reply::Left)),
                Request::Ephemeral { op, .. } | Request::History { op, .. } => {
                    self.complete(op, Err(Error::NotConnected));
                }
                Request::Join { .. } | Request::Publish | Request::Refresh => {}
            }
            return 0;
        }
        let ref_id = self.take_ref();
        self.transmit(&frame(ref_id));
        self.inflight
            .insert(ref_id, (request, now + self.config.request_timeout));
        ref_id
    }

    fn send_join(&mut self, now: Instant, room: &str) {
        if !self.is_connected() {
            return;
        }
        let Some(r) = self.rooms.get(room) else {
            return;
        };
        let (since, epoch) = match (r.last_seq, &r.epoch) {
            (Some(seq), epoch) => (Some(seq), epoch.clone()),
            (None, _) => (None, None),
        };
        let name = room.to_owned();
        let request = Request::Join {
            room: name.clone(),
            since,
        };
        let ref_id = self.send_request(now, request, |ref_id| {
            ClientFrame::Join(Join {
                ref_id,
                room: name,
                since,
                epoch,
            })
        });
        if let Some(r) = self.rooms.get_mut(room) {
            r.status = Status::Joining(ref_id);
        }
    }

    /// Sends every unsent queued publish whose room is joined, oldest first.
    fn flush(&mut self, now: Instant) {
        if !self.is_connected() || self.retry_at.is_some() {
            return;
        }
        let deadline = now + self.config.request_timeout;
        let mut frames = Vec::new();
        for entry in self.queue.iter_mut() {
            if entry.sent.is_some()
                || !self
                    .rooms
                    .get(&entry.room)
                    .is_some_and(|r| r.status == Status::Joined)
            {
                continue;
            }
            let ref_id = self.next_ref;
            self.next_ref += 1;
            entry.sent = Some(ref_id);
            frames.push(ClientFrame::Publish(Publish {
                ref_id,
                room: entry.room.clone(),
                id: entry.id.clone(),
                event: entry.event.clone(),
                data: entry.data.clone(),
                ephemeral: false,
            }));
            self.inflight.insert(ref_id, (Request::Publish, deadline));
        }
        for frame in &frames {
            self.transmit(frame);
        }
    }

    fn send_refresh(&mut self, now: Instant) {
        let Some(token) = self.token.clone() else {
            return;
        };
        self.send_request(now, Request::Refresh, |ref_id| {
            ClientFrame::Refresh(Refresh { ref_id, token })
        });
    }

    fn start_refresh(&mut self) {
        if self.config.token_provider {
            self.refresh = RefreshState::Fetching;
            self.actions.push_back(Action::FetchToken);
        } else {
            // Nothing to refresh with: the app may call `set_token`; otherwise the server
            // closes with 4001 at expiry.
            self.refresh = RefreshState::Idle;
        }
    }

    /// Schedules the refresh ahead of `token_exp` (Unix ms): 10% of the remaining lifetime
    /// before it, and at least 30 s before it.
    fn schedule_refresh(&mut self, now: Instant, token_exp: Option<u64>) {
        self.refresh = RefreshState::Idle;
        let (Some(exp), Some((at, wall))) = (token_exp, self.wall_at_open) else {
            return;
        };
        let wall_now = wall + now.saturating_duration_since(at).as_millis() as u64;
        let remaining = Duration::from_millis(exp.saturating_sub(wall_now));
        let margin = (remaining / 10).max(MIN_REFRESH_MARGIN);
        self.refresh = RefreshState::Scheduled(now + remaining.saturating_sub(margin));
    }

    /// Begins a connection attempt: token first when needed, then the socket.
    fn start_attempt(&mut self, now: Instant, attempt: u32) {
        let need_token = self.token.is_none() || self.token_stale;
        if need_token && self.config.token_provider {
            self.phase = Phase::AwaitingToken {
                attempt,
                deadline: now + self.config.connect_timeout,
            };
            self.actions.push_back(Action::FetchToken);
            self.report_state();
        } else if self.token.is_none() {
            self.become_unauthorized("no token and no token provider".into());
        } else {
            self.open_socket(now, attempt);
        }
    }

    fn open_socket(&mut self, now: Instant, attempt: u32) {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.phase = Phase::Opening {
            conn,
            attempt,
            deadline: now + self.config.connect_timeout,
        };
        self.actions.push_back(Action::Connect {
            conn,
            url: self.config.url.clone(),
        });
        self.report_state();
    }

    /// Closes the current socket (if any) on our side and forgets the connection.
    fn drop_connection(&mut self, _now: Instant, code: u16, reason: &str) {
        if let Some(conn) = self.current_conn() {
            self.actions.push_back(Action::Close {
                conn,
                code,
                reason: reason.to_owned(),
            });
        }
        self.connection_lost();
    }

    /// Gives up on the current connection and reconnects with backoff.
    fn fail_connection(&mut self, now: Instant, reason: &str) {
        let attempt = self.attempt();
        self.drop_connection(now, close::NORMAL, reason);
        self.schedule_reconnect(now, attempt);
    }

    /// Forgets everything that belonged to the connection that just went away: requests in
    /// flight fail or go back to the queue, rooms wait to be rejoined.
    fn connection_lost(&mut self) {
        self.transmits.clear();
        self.retry_at = None;
        if self.refresh != RefreshState::Fetching {
            self.refresh = RefreshState::Idle;
        }
        for (_, (request, _)) in std::mem::take(&mut self.inflight) {
            match request {
                Request::Leave { op } => self.complete(op, Ok(Reply::Left)),
                Request::Ephemeral { op, .. } | Request::History { op, .. } => {
                    self.complete(op, Err(Error::ConnectionLost));
                }
                Request::Join { .. } | Request::Publish | Request::Refresh => {}
            }
        }
        self.queue.unsend_all();
        for (_, room) in self.rooms.iter_mut() {
            room.status = Status::Pending;
        }
        if !matches!(
            self.phase,
            Phase::Closed | Phase::Unauthorized | Phase::Paused
        ) {
            self.phase = Phase::Idle;
        }
    }

    fn schedule_reconnect(&mut self, now: Instant, attempt: u32) {
        let attempt = attempt + 1;
        match self.backoff.next_delay() {
            Some(delay) => {
                self.phase = Phase::Backoff {
                    attempt,
                    until: now + delay,
                };
                self.set_state(ConnectionState::Reconnecting { attempt, delay });
            }
            None => self.shut(Error::GaveUp {
                attempts: attempt - 1,
            }),
        }
    }

    fn become_unauthorized(&mut self, message: String) {
        self.phase = Phase::Unauthorized;
        self.report_state();
        for op in std::mem::take(&mut self.connect_waiters) {
            self.complete(op, Err(Error::Unauthorized(message.clone())));
        }
        self.events
            .push_back(Event::Error(Error::Unauthorized(message)));
    }

    /// Ends the client: `Closed`, and every pending request fails with `error`.
    fn shut(&mut self, error: Error) {
        self.connection_lost();
        self.phase = Phase::Closed;
        self.refresh = RefreshState::Idle;
        for op in std::mem::take(&mut self.connect_waiters) {
            self.complete(op, Err(error.clone()));
        }
        let rooms = std::mem::take(&mut self.rooms);
        for (_, room) in rooms {
            for op in room.waiters {
                self.complete(op, Err(error.clone()));
            }
        }
        let entries: Vec<Entry> = self.queue.drain_all().collect();
        for entry in entries {
            self.complete(entry.op, Err(error.clone()));
        }
        if !matches!(error, Error::Closed) {
            self.events.push_back(Event::Error(error));
        }
        self.report_state();
    }

    /// The server refused a room: forget it and fail everything waiting on it.
    fn drop_room(&mut self, room: &str, error: Error) {
        let Some(r) = self.rooms.remove(room) else {
            return;
        };
        let rejoin = r.ever_joined;
        for op in r.waiters {
            self.complete(op, Err(error.clone()));
        }
        for entry in self.queue.drain_room(room) {
            self.complete(entry.op, Err(error.clone()));
        }
        if rejoin {
            self.events.push_back(Event::RoomLost {
                room: room.to_owned(),
                error,
            });
        }
    }

    fn report_state(&mut self) {
        let state = match &self.phase {
            Phase::Idle => ConnectionState::Idle,
            Phase::AwaitingToken { attempt, .. }
            | Phase::Opening { attempt, .. }
            | Phase::Handshaking { attempt, .. } => {
                ConnectionState::Connecting { attempt: *attempt }
            }
            Phase::Connected(_) => ConnectionState::Connected,
            // Backoff reports its delay through `set_state` when it is scheduled.
            Phase::Backoff { .. } => return,
            Phase::Paused => ConnectionState::Paused,
            Phase::Unauthorized => ConnectionState::Unauthorized,
            Phase::Closed => ConnectionState::Closed,
        };
        self.set_state(state);
    }

    fn set_state(&mut self, state: ConnectionState) {
        if state != self.reported {
            self.reported = state;
            self.events.push_back(Event::State(state));
        }
    }
}
