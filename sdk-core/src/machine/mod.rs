//! The sans-IO Roomcast client.
//!
//! [`Machine`] owns every client behaviour: handshake and token refresh, connection states,
//! heartbeat, reconnect backoff, rooms and their complete resume, the offline queue, and
//! deduplication of incoming messages. It performs no I/O and never reads a clock, in the
//! manner of quinn-proto's `Connection` and str0m's `Rtc`: the driver feeds it inputs and
//! carries out its outputs. Its state is split by concern, each part owning its transitions:
//! `connection` (token, socket, handshake, heartbeat, backoff), `requests` (everything in
//! flight and the one policy that settles it), `publish` and `queue` (the offline queue),
//! `rooms` and `resume` (joins, delivery, paging in what a resume missed), `refresh` (token
//! refresh), and `timers` (every deadline in one table).
//!
//! # Methods, by group
//! - Queries: [`state`](Machine::state), [`queued`](Machine::queued),
//!   [`pending`](Machine::pending),
//!   [`position`](Machine::position), [`is_joined`](Machine::is_joined),
//!   [`max_frame`](Machine::max_frame).
//! - Socket and time inputs: [`handle_open`](Machine::handle_open),
//!   [`handle_frame`](Machine::handle_frame), [`handle_close`](Machine::handle_close),
//!   [`handle_timeout`](Machine::handle_timeout), [`provide_token`](Machine::provide_token).
//! - App commands: [`connect`](Machine::connect), [`join`](Machine::join),
//!   [`leave`](Machine::leave), [`publish`](Machine::publish), [`history`](Machine::history),
//!   [`set_token`](Machine::set_token), [`reconnect_now`](Machine::reconnect_now),
//!   [`pause`](Machine::pause), [`resume`](Machine::resume), [`close`](Machine::close),
//!   [`suspend_delivery`](Machine::suspend_delivery) and
//!   [`resume_delivery`](Machine::resume_delivery) (a room's handlers fell behind).
//! - Store hook (with [`Config::persist`]): [`restore`](Machine::restore),
//!   [`persisted`](Machine::persisted), [`handled`](Machine::handled).
//! - Output: [`poll_output`](Machine::poll_output), the one drain.
//!
//! # The driver loop
//! After every input, call [`poll_output`](Machine::poll_output) until it returns
//! [`Output::Timeout`]: first the [`Action`]s (open or close a socket, fetch a token), then
//! the records for a store (only with [`Config::persist`]), then the text frames to send on the current socket, then the app's [`Event`]s, and last the time
//! at which [`handle_timeout`](Machine::handle_timeout) is due. `Timeout` ends the drain, so
//! nothing can be left behind. Time only moves forward: every `now` passed in must be at or
//! after the previous one (a monotonic clock; tests use a virtual one).
//!
//! ```
//! use roomcast_core::machine::{Action, Config, Event, Machine, Output, Reply};
//! use web_time::Instant;
//!
//! let mut config = Config::new("ws://127.0.0.1:4000/ws", "device-1", "cli");
//! config.token = Some("<JWT>".into());
//! let mut machine = Machine::new(config, 7);
//! let connect = machine.connect(Instant::now());
//!
//! // A stand-in for the network: the server accepts the socket and answers `hello`.
//! let mut inbox: Vec<String> = Vec::new();
//! let mut connected = false;
//! for _ in 0..3 {
//!     loop {
//!         match machine.poll_output() {
//!             Output::Action(Action::Connect { conn, .. }) => {
//!                 machine.handle_open(Instant::now(), conn, 1_700_000_000_000);
//!             }
//!             Output::Action(_) => {}
//!             // Only with `Config::persist`: write it, then report `machine.persisted(n, ..)`.
//!             Output::Persist { .. } => {}
//!             Output::Transmit(text) if text.contains("\"hello\"") => inbox.push(
//!                 r#"{"type":"welcome","ref":1,"session":"s","user":"u1","heartbeat_ms":25000,"max_frame":65536,"token_exp":null}"#.into(),
//!             ),
//!             Output::Transmit(_) => {}
//!             Output::Event(Event::Completed { op, result: Ok(Reply::Connected) }) => {
//!                 connected = op == connect;
//!             }
//!             Output::Event(_) => {}
//!             // The drain is over: sleep until `deadline` or the next input.
//!             Output::Timeout(_deadline) => break,
//!         }
//!     }
//!     let conn = roomcast_core::machine::ConnId(1);
//!     for text in inbox.drain(..) {
//!         machine.handle_frame(Instant::now(), conn, &text);
//!     }
//! }
//! assert!(connected);
//! ```

mod backoff;
mod config;
mod connection;
mod error;
mod event;
mod persist;
mod publish;
mod queue;
mod refresh;
mod requests;
mod resume;
mod rooms;
mod state;
mod streams;
mod timers;

use std::collections::VecDeque;

use web_time::Instant;

use crate::protocol::{
    self, ClientFrame, HistoryRequest, ServerFrame, DEFAULT_MAX_FRAME, MAX_HISTORY_LIMIT,
};

use backoff::Backoff;
pub use config::{BackoffConfig, Config};
use connection::Phase;
pub use connection::PROBE_TIMEOUT;
pub use error::Error;
pub use event::{Action, ConnId, Event, FromReply, Gap, JoinInfo, OpId, PublishAck, Reply};
use persist::Persistence;
pub use persist::{
    Applied, KeptState, Record, Snapshot, StoredAppend, StoredPosition, StoredPublish,
};
pub use publish::PublishRequest;
use queue::Queue;
use refresh::RefreshState;
use requests::{Outcome, Request, Requests};
use rooms::Rooms;
pub use rooms::{JoinOptions, ResumeMode};
pub use state::ConnectionState;
use timers::{Timer, Timers};

/// What the driver must do next; see [the driver loop](self#the-driver-loop).
#[derive(Debug, Clone, PartialEq)]
#[must_use = "drain poll_output until it returns Output::Timeout"]
pub enum Output {
    /// I/O to carry out.
    Action(Action),
    /// A record for the host's store ([`Config::persist`]), numbered from 1 in the order the
    /// machine made them; report with [`Machine::persisted`] once written, giving the number
    /// of the last record of the run written.
    Persist { n: u64, record: Record },
    /// A text frame for the current socket.
    Transmit(String),
    /// Something for the app.
    Event(Event),
    /// Nothing more for now: call [`Machine::handle_timeout`] at this time (if any), or
    /// earlier when another input arrives. Ends the drain.
    Timeout(Option<Instant>),
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
    requests: Requests,
    timers: Timers,
    persist: Persistence,
    /// Streams this client writes.
    writers: streams::Writers,
    /// The user the server knows this client as (from `welcome`).
    user: Option<String>,
    connect_waiters: Vec<OpId>,
    /// `history` calls made while a connection attempt was under way.
    waiting_history: Vec<(OpId, HistoryRequest)>,
    next_ref: u64,
    next_op: u64,
    next_conn: u64,
    transmits: VecDeque<String>,
    records: VecDeque<(u64, Record)>,
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
            refresh: RefreshState::default(),
            wall_at_open: None,
            max_frame: DEFAULT_MAX_FRAME,
            rooms: Rooms::new(),
            queue: Queue::default(),
            requests: Requests::default(),
            timers: Timers::default(),
            persist: Persistence::default(),
            writers: streams::Writers::default(),
            user: None,
            connect_waiters: Vec::new(),
            waiting_history: Vec::new(),
            next_ref: 1,
            next_op: 1,
            next_conn: 1,
            transmits: VecDeque::new(),
            records: VecDeque::new(),
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

    /// The persisted publishes not yet acknowledged, oldest first (restored ones included): what
    /// an app shows as "sending".
    pub fn pending(&self) -> Vec<StoredPublish> {
        self.queue.snapshot()
    }

    /// The largest frame the server accepts (from `welcome`; the protocol default before).
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    // -----------------------------------------------------------------------------------------
    // Output

    /// The next thing for the driver to do; [`Output::Timeout`] ends the drain. See
    /// [the driver loop](self#the-driver-loop).
    pub fn poll_output(&mut self) -> Output {
        if let Some(action) = self.actions.pop_front() {
            return Output::Action(action);
        }
        if let Some((n, record)) = self.records.pop_front() {
            return Output::Persist { n, record };
        }
        if let Some(text) = self.transmits.pop_front() {
            return Output::Transmit(text);
        }
        if let Some(event) = self.events.pop_front() {
            return Output::Event(event);
        }
        Output::Timeout(self.timers.next())
    }

    // -----------------------------------------------------------------------------------------
    // Inputs

    /// A text frame arrived on `conn`.
    pub fn handle_frame(&mut self, now: Instant, conn: ConnId, text: &str) {
        if self.current_conn() != Some(conn) {
            return;
        }
        self.heard(now);
        let frame = match ServerFrame::decode(text) {
            Ok(frame) => frame,
            // A newer server's frame type: ignored, per the protocol's forward compatibility.
            Err(protocol::FrameError::UnknownType(_)) => return,
            Err(e) => {
                self.events
                    .push_back(Event::Error(Error::Protocol(e.message())));
                return;
            }
        };
        match frame {
            ServerFrame::Welcome(w) => self.on_welcome(now, conn, w),
            ServerFrame::Message(m) => self.on_message(now, m),
            ServerFrame::Presence(p) => self.on_presence(p),
            ServerFrame::Ping(p) => self.on_server_ping(p.ref_id),
            ServerFrame::Pong(_) => {}
            ServerFrame::Append(a) => self.on_append(now, a),
            ServerFrame::Error(e) => match e.ref_id {
                None => {
                    let err = Error::from_server(e.code, e.message, None);
                    self.events.push_back(Event::Error(err));
                }
                Some(r) if Some(r) == self.hello_ref() => self.on_hello_refused(now, e),
                Some(r) => self.answer(now, r, Outcome::Refused(e)),
            },
            reply @ (ServerFrame::Joined(_)
            | ServerFrame::Left(_)
            | ServerFrame::Ack(_)
            | ServerFrame::History(_)
            | ServerFrame::Refreshed(_)) => {
                let r = reply_ref(&reply);
                self.answer(now, r, Outcome::Answered(reply));
            }
        }
    }

    /// Time has reached (or passed) the deadline of the last [`Output::Timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in Timer::ALL {
            if !self.timers.expired(timer, now) {
                continue;
            }
            match timer {
                Timer::Request => {
                    while let Some((ref_id, request)) = self.requests.pop_expired(now) {
                        self.sync_request_timer();
                        self.settle(now, ref_id, request, Outcome::TimedOut);
                    }
                    self.sync_request_timer();
                }
                Timer::Phase => {
                    self.timers.clear(Timer::Phase);
                    self.on_phase_timeout(now);
                }
                Timer::Dead => {
                    self.timers.clear(Timer::Dead);
                    self.on_dead_timeout(now);
                }
                Timer::Ping => self.on_ping_timeout(now),
                Timer::Refresh => {
                    self.timers.clear(Timer::Refresh);
                    self.on_refresh_timeout(now);
                }
                Timer::Retry => self.on_retry_timeout(now),
                Timer::Persist => self.on_persist_timeout(),
            }
        }
    }

    /// Asks for stored messages of `room` with `seq < before` (the newest without `before`).
    /// Any room the token allows, joined or not. On a client never connected it connects (see
    /// [`Config::auto_connect`]); while a connection attempt is under way the request waits for
    /// it, and fails with `NotConnected` if that attempt fails. Offline (waiting to reconnect,
    /// paused) it fails at once with `NotConnected`.
    pub fn history(&mut self, now: Instant, room: &str, before: Option<u64>, limit: u32) -> OpId {
        let op = self.new_op();
        let request = HistoryRequest {
            ref_id: 0,
            room: room.to_owned(),
            before,
            limit: Some(limit.clamp(1, MAX_HISTORY_LIMIT)),
        };
        if let Err(e) = protocol::validate_room(room) {
            self.complete(op, Err(e.into()));
        } else if self.is_closed() {
            self.complete(op, Err(Error::Closed));
        } else if !self.connect_on_demand(now) {
            self.complete(op, Err(Error::NotConnected));
        } else if self.is_connecting() {
            self.waiting_history.push((op, request));
        } else {
            self.send_history(now, op, request);
        }
        op
    }

    fn send_history(&mut self, now: Instant, op: OpId, request: HistoryRequest) {
        self.send_request(now, Request::History { op }, |ref_id| {
            ClientFrame::History(HistoryRequest { ref_id, ..request })
        });
    }

    /// The connection is up: the `history` calls that waited for it go out.
    fn send_waiting_history(&mut self, now: Instant) {
        for (op, request) in std::mem::take(&mut self.waiting_history) {
            self.send_history(now, op, request);
        }
    }

    /// The attempt the waiting `history` calls counted on failed.
    fn fail_waiting_history(&mut self, error: &Error) {
        for (op, _) in std::mem::take(&mut self.waiting_history) {
            self.complete(op, Err(error.clone()));
        }
    }

    // -----------------------------------------------------------------------------------------
    // Shared internals

    fn new_op(&mut self) -> OpId {
        let op = OpId(self.next_op);
        self.next_op += 1;
        op
    }

    fn complete(&mut self, op: OpId, result: Result<Reply, Error>) {
        self.events.push_back(Event::Completed { op, result });
    }

    fn take_ref(&mut self) -> u64 {
        let r = self.next_ref;
        self.next_ref += 1;
        r
    }

    fn transmit(&mut self, frame: &ClientFrame) {
        self.transmits.push_back(frame.encode());
    }
}

fn reply_ref(frame: &ServerFrame) -> u64 {
    match frame {
        ServerFrame::Joined(f) => f.ref_id,
        ServerFrame::Left(f) => f.ref_id,
        ServerFrame::Ack(f) => f.ref_id,
        ServerFrame::History(f) => f.ref_id,
        ServerFrame::Refreshed(f) => f.ref_id,
        _ => 0,
    }
}
