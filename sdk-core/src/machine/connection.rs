//! The connection's life: token, socket, handshake, heartbeat, backoff, pause and the states
//! the client cannot leave on its own (unauthorized, closed), where every pending operation is
//! settled.

use std::time::Duration;

use web_time::Instant;

use super::publish::End;
use super::timers::Timer;

/// How long a probed connection (`reconnect_now` while connected) has to show it is alive:
/// any frame will do, the probe's pong at the latest. Round trips on a poor cellular link
/// take a second or two; a dead socket is found in 5 s instead of a heartbeat and 10 s.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
use super::{ConnectionState, Error, Event, Machine, OpId, Reply};
use crate::machine::event::{Action, ConnId};
use crate::protocol::json::push_u64;
use crate::protocol::{
    self, close, ClientFrame, Hello, Ping, Pong, Welcome, DEAD_AFTER_EXTRA_MS, PROTOCOL_VERSION,
};

/// Where the connection stands. Deadlines of the phases live in [`Timer::Phase`].
#[derive(Debug)]
pub(crate) enum Phase {
    Idle,
    /// Waiting for the token provider before opening a socket.
    AwaitingToken {
        attempt: u32,
    },
    /// Socket requested, `handle_open` not seen yet.
    Opening {
        conn: ConnId,
        attempt: u32,
    },
    /// `hello` sent with this ref.
    Handshaking {
        conn: ConnId,
        attempt: u32,
        hello: u64,
    },
    /// `welcome` received.
    Connected {
        conn: ConnId,
        heartbeat: Duration,
    },
    /// Waiting to reconnect.
    Backoff {
        attempt: u32,
    },
    Paused,
    Unauthorized,
    Closed,
}

impl Machine {
    pub(crate) fn is_connected(&self) -> bool {
        matches!(self.phase, Phase::Connected { .. })
    }

    pub(crate) fn current_conn(&self) -> Option<ConnId> {
        match self.phase {
            Phase::Opening { conn, .. }
            | Phase::Handshaking { conn, .. }
            | Phase::Connected { conn, .. } => Some(conn),
            _ => None,
        }
    }

    /// The reconnect attempt the current connection belongs to (0 once connected).
    fn attempt(&self) -> u32 {
        match self.phase {
            Phase::AwaitingToken { attempt }
            | Phase::Opening { attempt, .. }
            | Phase::Handshaking { attempt, .. }
            | Phase::Backoff { attempt } => attempt,
            _ => 0,
        }
    }

    /// Starts connecting. Completes with [`Reply::Connected`] at the first `welcome`, or fails
    /// when the client ends up `Unauthorized` or `Closed`. Reconnects are automatic after that.
    pub fn connect(&mut self, now: Instant) -> OpId {
        let op = self.new_op();
        match self.phase {
            Phase::Closed => self.complete(op, Err(Error::Closed)),
            Phase::Connected { .. } => self.complete(op, Ok(Reply::Connected)),
            Phase::Idle | Phase::Unauthorized => {
                self.connect_waiters.push(op);
                self.auth_failures = 0;
                self.start_attempt(now, 0);
            }
            _ => self.connect_waiters.push(op),
        }
        op
    }

    /// An operation that needs the server was asked for: a client never connected starts
    /// connecting as [`connect`](Self::connect) would (with [`Config::auto_connect`]). Returns
    /// false when the client is idle and may not connect by itself: the operation fails with
    /// `NotConnected`.
    ///
    /// [`Config::auto_connect`]: super::Config::auto_connect
    pub(crate) fn connect_on_demand(&mut self, now: Instant) -> bool {
        if !self.connects_on_demand() {
            return false;
        }
        if matches!(self.phase, Phase::Idle) {
            self.auth_failures = 0;
            self.start_attempt(now, 0);
        }
        true
    }

    /// Whether [`connect_on_demand`](Self::connect_on_demand) would let an operation go on.
    pub(crate) fn connects_on_demand(&self) -> bool {
        self.config.auto_connect || !matches!(self.phase, Phase::Idle)
    }

    /// Whether an attempt to connect is under way (token, socket or handshake).
    pub(crate) fn is_connecting(&self) -> bool {
        matches!(
            self.phase,
            Phase::AwaitingToken { .. } | Phase::Opening { .. } | Phase::Handshaking { .. }
        )
    }

    /// Skips the backoff wait (e.g. the OS reports the network back), or retries after
    /// `Unauthorized`. Connected, it probes the connection instead (see [`PROBE_TIMEOUT`]):
    /// the app came back from the background or the network changed, and the socket may have
    /// died without a word.
    pub fn reconnect_now(&mut self, now: Instant) {
        match self.phase {
            Phase::Connected { .. } => self.probe(now),
            Phase::Backoff { attempt } => self.start_attempt(now, attempt),
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
        self.keep_positions();
        self.drop_connection(now, close::NORMAL, "paused");
        self.fail_waiting_history(&Error::NotConnected);
        self.phase = Phase::Paused;
        self.timers.clear(Timer::Phase);
        self.report_state();
    }

    /// Reconnects after [`pause`](Self::pause).
    pub fn resume(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Paused) {
            self.backoff.reset();
            self.start_attempt(now, 0);
        }
    }

    /// Closes for good: the socket closes with 1000 and every pending request fails with
    /// [`Error::Closed`]; queued publishes too, or with a store [`Error::Kept`] (the next
    /// client on it sends them). With a store, the close completes once the records it leaves
    /// behind (positions, the queue) are reported written.
    pub fn close(&mut self, now: Instant) -> OpId {
        let op = self.new_op();
        if !matches!(self.phase, Phase::Closed) {
            self.drop_connection(now, close::NORMAL, "closed by the client");
            self.shut(now, Error::Closed);
        }
        self.answer_close(op);
        op
    }

    /// The socket `conn` is open. `unix_ms` is the wall clock now, used only to schedule the
    /// token refresh from the server's `token_exp`.
    pub fn handle_open(&mut self, now: Instant, conn: ConnId, unix_ms: u64) {
        let Phase::Opening { conn: c, attempt } = self.phase else {
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
        };
        self.timers
            .set(Timer::Phase, now + self.config.connect_timeout);
    }

    /// The socket `conn` closed or failed (`code` is the close code when there was one).
    pub fn handle_close(&mut self, now: Instant, conn: ConnId, code: Option<u16>) {
        if self.current_conn() != Some(conn) {
            return;
        }
        let attempt = self.attempt();
        self.connection_lost(now);
        if code == Some(close::UNAUTHORIZED) {
            self.auth_failures += 1;
            if !self.config.token_provider {
                self.become_unauthorized(now, "the server rejected the token".into());
                return;
            }
            if self.auth_failures > self.config.max_auth_failures {
                let mut message = String::from("the server rejected ");
                push_u64(&mut message, u64::from(self.auth_failures));
                message.push_str(" fresh tokens in a row");
                self.become_unauthorized(now, message);
                return;
            }
            self.token_stale = true;
        }
        self.schedule_reconnect(now, attempt);
    }

    pub(crate) fn on_welcome(&mut self, now: Instant, conn: ConnId, w: Welcome) {
        let Phase::Handshaking { hello, .. } = self.phase else {
            return;
        };
        if w.ref_id != hello {
            return;
        }
        self.user = Some(w.user.clone());
        let heartbeat = Duration::from_millis(w.heartbeat_ms.max(1));
        self.phase = Phase::Connected { conn, heartbeat };
        self.timers.clear(Timer::Phase);
        self.timers.set(Timer::Ping, now + heartbeat);
        self.heard(now);
        self.max_frame = w.max_frame;
        self.backoff.reset();
        self.auth_failures = 0;
        self.schedule_refresh(now, w.token_exp);
        self.report_state();
        for op in std::mem::take(&mut self.connect_waiters) {
            self.complete(op, Ok(Reply::Connected));
        }
        self.send_waiting_history(now);
        self.rejoin_all(now);
    }

    /// A frame arrived on the live connection: it is alive for another heartbeat.
    pub(crate) fn heard(&mut self, now: Instant) {
        if let Phase::Connected { heartbeat, .. } = self.phase {
            let grace = Duration::from_millis(DEAD_AFTER_EXTRA_MS);
            self.timers.set(Timer::Dead, now + heartbeat + grace);
        }
    }

    /// A ping now; the connection counts as dead unless a frame arrives within
    /// [`PROBE_TIMEOUT`], rather than a heartbeat and 10 s later.
    fn probe(&mut self, now: Instant) {
        let ref_id = self.take_ref();
        self.transmit(&ClientFrame::Ping(Ping {
            ref_id: Some(ref_id),
        }));
        let deadline = now + PROBE_TIMEOUT;
        if self
            .timers
            .get(Timer::Dead)
            .is_none_or(|dead| dead > deadline)
        {
            self.timers.set(Timer::Dead, deadline);
        }
    }

    pub(crate) fn on_server_ping(&mut self, ref_id: Option<u64>) {
        self.transmit(&ClientFrame::Pong(Pong { ref_id }));
    }

    /// The phase deadline passed: the token provider, the socket or the handshake took too
    /// long, or the backoff wait is over.
    pub(crate) fn on_phase_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::AwaitingToken { attempt } => {
                self.events.push_back(Event::Error(Error::TokenProvider(
                    "no answer within the connect timeout".into(),
                )));
                self.schedule_reconnect(now, attempt);
            }
            Phase::Opening { .. } | Phase::Handshaking { .. } => {
                self.fail_connection(now, "connect timed out");
            }
            Phase::Backoff { attempt } => self.start_attempt(now, attempt),
            _ => {}
        }
    }

    pub(crate) fn on_dead_timeout(&mut self, now: Instant) {
        self.fail_connection(now, "no frame from the server within the heartbeat");
    }

    pub(crate) fn on_ping_timeout(&mut self, now: Instant) {
        let Phase::Connected { heartbeat, .. } = self.phase else {
            return;
        };
        let ref_id = self.take_ref();
        self.transmit(&ClientFrame::Ping(Ping {
            ref_id: Some(ref_id),
        }));
        let mut next = self.timers.get(Timer::Ping).unwrap_or(now);
        while next <= now {
            next += heartbeat;
        }
        self.timers.set(Timer::Ping, next);
    }

    /// Begins a connection attempt: token first when needed, then the socket.
    pub(crate) fn start_attempt(&mut self, now: Instant, attempt: u32) {
        let need_token = self.token.is_none() || self.token_stale;
        if need_token && self.config.token_provider {
            self.phase = Phase::AwaitingToken { attempt };
            self.timers
                .set(Timer::Phase, now + self.config.connect_timeout);
            self.actions.push_back(Action::FetchToken);
            self.report_state();
        } else if self.token.is_none() {
            self.become_unauthorized(now, "no token and no token provider".into());
        } else {
            self.open_socket(now, attempt);
        }
    }

    pub(crate) fn awaiting_token(&self) -> Option<u32> {
        match self.phase {
            Phase::AwaitingToken { attempt } => Some(attempt),
            _ => None,
        }
    }

    pub(crate) fn open_socket(&mut self, now: Instant, attempt: u32) {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.phase = Phase::Opening { conn, attempt };
        self.timers
            .set(Timer::Phase, now + self.config.connect_timeout);
        self.actions.push_back(Action::Connect {
            conn,
            url: self.config.url.clone(),
        });
        self.report_state();
    }

    /// Closes the current socket (if any) on our side and forgets the connection.
    pub(crate) fn drop_connection(&mut self, now: Instant, code: u16, reason: &str) {
        if let Some(conn) = self.current_conn() {
            self.actions.push_back(Action::Close {
                conn,
                code,
                reason: reason.to_owned(),
            });
        }
        self.connection_lost(now);
    }

    /// Gives up on the current connection and reconnects with backoff.
    pub(crate) fn fail_connection(&mut self, now: Instant, reason: &str) {
        let attempt = self.attempt();
        self.drop_connection(now, close::NORMAL, reason);
        self.schedule_reconnect(now, attempt);
    }

    /// Forgets everything that belonged to the connection that just went away: requests in
    /// flight are settled as lost, rooms wait to be rejoined, publishes to be re-sent.
    pub(crate) fn connection_lost(&mut self, now: Instant) {
        self.transmits.clear();
        for timer in [Timer::Ping, Timer::Dead, Timer::Retry, Timer::Phase] {
            self.timers.clear(timer);
        }
        self.refresh_connection_lost();
        if !matches!(
            self.phase,
            Phase::Closed | Phase::Unauthorized | Phase::Paused
        ) {
            self.phase = Phase::Idle;
        }
        for (ref_id, request) in self.requests.take_all() {
            self.settle(now, ref_id, request, super::requests::Outcome::Lost);
        }
        self.sync_request_timer();
        self.queue.unsend_all();
        self.rooms_connection_lost();
    }

    pub(crate) fn schedule_reconnect(&mut self, now: Instant, attempt: u32) {
        self.fail_waiting_history(&Error::NotConnected);
        let attempt = attempt + 1;
        match self.backoff.next_delay() {
            Some(delay) => {
                self.phase = Phase::Backoff { attempt };
                self.timers.set(Timer::Phase, now + delay);
                self.set_state(ConnectionState::Reconnecting { attempt, delay });
            }
            None => self.shut(
                now,
                Error::GaveUp {
                    attempts: attempt - 1,
                },
            ),
        }
    }

    /// The token is refused for good: the client waits in `Unauthorized` for the app
    /// (`set_token` + `reconnect_now`). Nothing it was asked can complete before that, so every
    /// pending operation fails now: connects, first joins, queued publishes.
    pub(crate) fn become_unauthorized(&mut self, now: Instant, message: String) {
        self.connection_lost(now);
        self.phase = Phase::Unauthorized;
        self.timers.clear(Timer::Phase);
        self.report_state();
        let error = Error::Unauthorized(message);
        self.settle_pending(&error, false);
        self.events.push_back(Event::Error(error));
    }

    /// Ends the client: `Closed`, and every pending operation fails with `error`.
    pub(crate) fn shut(&mut self, now: Instant, error: Error) {
        self.keep_positions();
        self.connection_lost(now);
        self.phase = Phase::Closed;
        self.timers = Default::default();
        self.refresh_reset();
        self.settle_pending(&error, true);
        if !matches!(error, Error::Closed) {
            self.events.push_back(Event::Error(error));
        }
        self.report_state();
    }

    /// Fails every operation still waiting: connect waiters, joins, queued publishes. Rooms
    /// never joined are forgotten; joined ones too when `forget_rooms` (the client is done).
    fn settle_pending(&mut self, error: &Error, forget_rooms: bool) {
        for op in std::mem::take(&mut self.connect_waiters) {
            self.complete(op, Err(error.clone()));
        }
        self.fail_waiting_history(error);
        for op in self.fail_room_waiters(forget_rooms) {
            self.complete(op, Err(error.clone()));
        }
        let entries: Vec<_> = self.queue.drain_all().collect();
        for entry in entries {
            self.end_entry(entry, End::Stopped(error.clone()));
        }
    }

    pub(crate) fn report_state(&mut self) {
        let state = match self.phase {
            Phase::Idle => ConnectionState::Idle,
            Phase::AwaitingToken { attempt }
            | Phase::Opening { attempt, .. }
            | Phase::Handshaking { attempt, .. } => ConnectionState::Connecting { attempt },
            Phase::Connected { .. } => ConnectionState::Connected,
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

    /// An `error` frame answering `hello`: the server closes the socket next (4001/4000) and
    /// `handle_close` decides, except for a protocol version it does not speak.
    pub(crate) fn on_hello_refused(&mut self, now: Instant, e: protocol::ErrorFrame) {
        if e.code == protocol::ErrorCode::UnsupportedProtocol {
            self.events.push_back(Event::Error(Error::Server {
                code: e.code,
                message: e.message,
            }));
            self.drop_connection(now, close::NORMAL, "unsupported protocol");
            self.shut(
                now,
                Error::Protocol("the server does not speak protocol 1".into()),
            );
        } else {
            self.events
                .push_back(Event::Error(Error::from_server(e.code, e.message, None)));
        }
    }

    /// The ref of the `hello` in flight, while handshaking.
    pub(crate) fn hello_ref(&self) -> Option<u64> {
        match self.phase {
            Phase::Handshaking { hello, .. } => Some(hello),
            _ => None,
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// Why a new operation cannot even wait for its outcome: the client is closed, or waits in
    /// `Unauthorized` for the app's next token.
    pub(crate) fn refusal(&self) -> Option<Error> {
        match self.phase {
            Phase::Closed => Some(Error::Closed),
            Phase::Unauthorized => Some(Error::Unauthorized(
                "the token was rejected; call set_token and reconnect_now".into(),
            )),
            _ => None,
        }
    }
}
