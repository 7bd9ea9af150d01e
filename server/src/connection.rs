//! One WebSocket session: handshake, requests, timers and the writer task.
//!
//! Each connection has a reader (this task) and a writer task draining a bounded outbound
//! queue through its [`QueueReader`] (see [`crate::outbound`]). The reader
//! - pauses while its own outbound queue is over half full (at most 1 s at a time), so a
//!   pipelining client cannot make the reader outrun the writer of its own replies;
//! - reads at most `publish_rate` frames per second (token bucket, burst 2×), and its user's
//!   connections on this node together at most `user_rate`: when a bucket is empty it stops
//!   reading until a token is back, so a fast client is slowed by TCP backpressure, loses
//!   nothing and keeps its order;
//! - closes with 4001 when `hello` does not come within `hello_timeout_ms` or the token expires
//!   unrefreshed, and with 4000 when the client sent nothing at all for 2 × `heartbeat_ms`;
//! - on server shutdown waits until the engine has stored and acked everything this
//!   connection sent, then closes with 1001.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use roomcast_core::protocol::{
    close, Ack, AppendRequest, Cancel, ClientFrame, DecodeFailure, ErrorCode, ErrorFrame, Hello,
    HistoryPage, HistoryRequest, Join, Leave, Member, Message, Pong, Publish, Refresh, Refreshed,
    ServerFrame, StreamState, Welcome, MAX_HISTORY_LIMIT, PROTOCOL_VERSION,
};
use serde::Deserialize;
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, timeout, Instant};

use crate::auth::Claims;
use crate::engine::EngineError;
use crate::engine::{AppendCmd, AppendOp, JoinCmd, Origin, PublishCmd};
use crate::limits::SharedBucket;
use crate::outbound::{self, ConnId, Outbound, QueueReader, Taken, STOP_SILENTLY};
use crate::ratelimit::TokenBucket;
use crate::state::AppState;
use crate::validate::{self, now_ms};

mod detached;
#[doc(hidden)]
pub use detached::DetachedSession;

/// Default `history` page size.
pub const DEFAULT_HISTORY_LIMIT: u32 = 50;
/// How long a close handshake or a final flush may take.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Most frames the writer sends before one flush.
const WRITE_BATCH: usize = 64;
/// How long a closing server waits for the client's close reply.
const SHUTDOWN_CLOSE_REPLY: Duration = Duration::from_millis(300);
/// Longest pause of the reader while its own outbound queue is over half full.
const OWN_BACKLOG_WAIT: Duration = Duration::from_secs(1);
/// How long shutdown waits for the store to finish this connection's requests.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(5);

/// Serves one upgraded WebSocket until it closes.
pub async fn run(socket: WebSocket, state: Arc<AppState>) {
    use tracing::Instrument;
    let conn = state.next_conn_id();
    // Every log line of the session carries its connection id (`--log-format json`: in
    // `spans`).
    let span = tracing::info_span!("ws", conn);
    session(socket, state, conn).instrument(span).await;
}

async fn session(socket: WebSocket, state: Arc<AppState>, conn: u64) {
    let _guard = state.track_socket();
    let (sink, mut stream) = socket.split();
    let (out, queue) = outbound::queue(conn, state.config.outbound_queue);
    let ctl = queue.control();
    let mut writer = tokio::spawn(write_loop(sink, queue));
    tracing::debug!(conn, "websocket open");

    let mut session = Session::new(conn, Arc::clone(&state), out);
    let end = session.read_loop(&mut stream, &mut writer).await;
    session.cleanup().await;
    drop(session);

    match end {
        End::WriterDone => {}
        End::Closing => {
            // The close frame is queued after the last replies: let the writer send it, then
            // wait briefly for the client's close reply.
            // On shutdown the client's close reply is a nicety not worth holding the exit for.
            let reply_grace = if *state.shutdown.borrow() {
                SHUTDOWN_CLOSE_REPLY
            } else {
                CLOSE_GRACE
            };
            if timeout(CLOSE_GRACE, &mut writer).await.is_err() {
                ctl.kill(STOP_SILENTLY);
            } else {
                let _ = timeout(reply_grace, async {
                    while let Some(Ok(msg)) = stream.next().await {
                        if matches!(msg, WsMessage::Close(_)) {
                            break;
                        }
                    }
                })
                .await;
            }
        }
        End::PeerGone => ctl.kill(STOP_SILENTLY),
    }
    if !writer.is_finished() && timeout(CLOSE_GRACE, &mut writer).await.is_err() {
        writer.abort();
    }
    tracing::debug!(conn, code = ?ctl.killed(), "websocket closed");
}

async fn close_now(sink: &mut SplitSink<WebSocket, WsMessage>, code: u16, reason: &'static str) {
    if code == STOP_SILENTLY {
        return;
    }
    let frame = WsMessage::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }));
    let _ = timeout(Duration::from_secs(1), sink.send(frame)).await;
}

fn kill_reason(code: u16) -> &'static str {
    match code {
        close::RATE_LIMITED => "slow consumer: outbound queue full",
        close::GOING_AWAY => "server shutting down",
        _ => "closing",
    }
}

/// Drains the outbound queue into the socket, several frames per flush; a kill closes at
/// once, skipping the queue.
async fn write_loop(mut sink: SplitSink<WebSocket, WsMessage>, mut queue: QueueReader) {
    loop {
        let (frames, then_close) = match queue.take(WRITE_BATCH).await {
            Taken::Frames(frames, then_close) => (frames, then_close),
            Taken::Close(code, reason) => {
                close_now(&mut sink, code, reason).await;
                return;
            }
            Taken::Killed(code) => {
                close_now(&mut sink, code, kill_reason(code)).await;
                return;
            }
            Taken::Ended => return,
        };
        let sent = tokio::select! {
            biased;
            code = queue.killed() => Err(Some(code)),
            r = async {
                for text in frames {
                    sink.feed(WsMessage::Text(text)).await?;
                }
                sink.flush().await
            } => r.map_err(|_| None),
        };
        match sent {
            Ok(()) => {}
            Err(Some(code)) => {
                close_now(&mut sink, code, kill_reason(code)).await;
                return;
            }
            Err(None) => return,
        }
        queue.written();
        if let Some((code, reason)) = then_close {
            close_now(&mut sink, code, reason).await;
            return;
        }
    }
}

/// How the read loop ended.
enum End {
    /// The client closed or vanished.
    PeerGone,
    /// The writer stopped (slow consumer cut, or the socket failed).
    WriterDone,
    /// A close frame is queued.
    Closing,
}

enum Flow {
    Continue,
    Close,
}

enum Event {
    Shutdown,
    WriterDone,
    HelloTimeout,
    Idle,
    TokenExpired,
    Frame(Option<Result<WsMessage, axum::Error>>),
}

struct Authed {
    claims: Claims,
    member: Member,
    token_deadline: Option<Instant>,
}

struct Session {
    conn: ConnId,
    state: Arc<AppState>,
    out: Outbound,
    auth: Option<Authed>,
    rooms: HashSet<String>,
    bucket: TokenBucket,
    /// The user's bucket shared by all their connections on this node (after `hello`).
    user_bucket: Option<SharedBucket>,
}

/// The parts of a frame readable even when the rest is not.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "ref")]
    ref_id: Option<u64>,
    protocol: Option<serde_json::Value>,
}

fn probe(text: &str) -> Option<Probe> {
    serde_json::from_str(text).ok()
}

/// The `ref` of a frame, read on its own: whatever else the frame holds (a `type` that is
/// not a string, a `protocol` of any shape) cannot hide it.
fn probe_ref(text: &str) -> Option<u64> {
    #[derive(Deserialize)]
    struct Ref {
        #[serde(rename = "ref")]
        ref_id: Option<u64>,
    }
    serde_json::from_str::<Ref>(text).ok()?.ref_id
}

fn frame_ref(frame: &ClientFrame) -> Option<u64> {
    match frame {
        ClientFrame::Hello(f) => Some(f.ref_id),
        ClientFrame::Join(f) => Some(f.ref_id),
        ClientFrame::Leave(f) => Some(f.ref_id),
        ClientFrame::Publish(f) => Some(f.ref_id),
        ClientFrame::History(f) => Some(f.ref_id),
        ClientFrame::Refresh(f) => Some(f.ref_id),
        ClientFrame::Ping(f) => f.ref_id,
        ClientFrame::Pong(f) => f.ref_id,
        ClientFrame::Append(f) => Some(f.ref_id),
        ClientFrame::Cancel(f) => Some(f.ref_id),
    }
}

/// RFC 6455 close code: the peer broke the framing rules.
const WS_PROTOCOL_ERROR: u16 = 1002;
/// RFC 6455 close code: a text frame that is not UTF-8.
const WS_INVALID_DATA: u16 = 1007;

/// The close code and reason a read error calls for, or `None` when the peer is gone (or the
/// socket failed) and there is nobody to tell. A client that gets a close code can tell a bug
/// on its side from a network drop (1006).
fn close_for(err: &axum::Error) -> Option<(u16, &'static str)> {
    use std::error::Error as _;
    use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
    match err.source()?.downcast_ref::<WsError>()? {
        WsError::Capacity(_) => Some((close::TOO_BIG, "frame over the transport limit")),
        WsError::Utf8(_) => Some((WS_INVALID_DATA, "text frame is not valid UTF-8")),
        WsError::Protocol(
            ProtocolError::ResetWithoutClosingHandshake
            | ProtocolError::ReceivedAfterClosing
            | ProtocolError::SendAfterClosing,
        ) => None,
        WsError::Protocol(_) => Some((WS_PROTOCOL_ERROR, "websocket protocol violation")),
        _ => None,
    }
}

/// `now + d`, saturating at about 30 years rather than overflowing.
fn after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(30 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

fn deadline_for(claims: &Claims) -> Option<Instant> {
    claims
        .exp_ms()
        .map(|exp| after(Duration::from_millis(exp.saturating_sub(now_ms()))))
}

impl Session {
    fn new(conn: ConnId, state: Arc<AppState>, out: Outbound) -> Self {
        let bucket = TokenBucket::new(state.config.publish_rate, std::time::Instant::now());
        Session {
            conn,
            state,
            out,
            auth: None,
            rooms: HashSet::new(),
            bucket,
            user_bucket: None,
        }
    }

    /// How long until both this connection's and its user's bucket have a token.
    fn rate_delay(&mut self) -> Option<Duration> {
        let now = std::time::Instant::now();
        let own = self.bucket.delay(now);
        let user = self
            .user_bucket
            .as_ref()
            .and_then(|b| b.lock().unwrap_or_else(|p| p.into_inner()).delay(now));
        own.max(user)
    }

    /// Spends one token of each bucket for a received frame.
    fn take_token(&mut self) {
        let now = std::time::Instant::now();
        self.bucket.take(now);
        if let Some(b) = &self.user_bucket {
            b.lock().unwrap_or_else(|p| p.into_inner()).take(now);
        }
    }

    fn error(&self, ref_id: Option<u64>, code: ErrorCode, message: impl Into<String>) {
        self.out.send(&ServerFrame::Error(ErrorFrame {
            ref_id,
            code,
            message: message.into(),
        }));
    }

    /// Replies with an error and closes.
    fn fail(
        &self,
        ref_id: Option<u64>,
        code: ErrorCode,
        message: impl Into<String>,
        close_code: u16,
        reason: &'static str,
    ) -> Flow {
        self.error(ref_id, code, message);
        self.out.close(close_code, reason);
        Flow::Close
    }

    async fn read_loop(
        &mut self,
        stream: &mut SplitStream<WebSocket>,
        writer: &mut JoinHandle<()>,
    ) -> End {
        let config = &self.state.config;
        let idle_after = Duration::from_millis(config.heartbeat_ms.saturating_mul(2));
        let hello_deadline = after(Duration::from_millis(config.hello_timeout_ms));
        let mut idle_deadline = after(idle_after);
        let mut shutdown = self.state.shutdown.clone();
        loop {
            if self.out.wait_for_room(OWN_BACKLOG_WAIT).await {
                crate::metrics::metrics().pauses_outbound.inc();
                // We were not reading: that silence is ours, not the client's.
                idle_deadline = idle_deadline.max(after(idle_after));
            }
            if let Some(wait) = self.rate_delay() {
                // Backpressure: stop reading until a token is back.
                crate::metrics::metrics().pauses_rate.inc();
                let event = tokio::select! {
                    biased;
                    _ = shutdown.wait_for(|v| *v) => Some(Event::Shutdown),
                    _ = &mut *writer => Some(Event::WriterDone),
                    _ = sleep(wait) => None,
                };
                match event {
                    Some(Event::Shutdown) => return self.graceful().await,
                    Some(_) => return End::WriterDone,
                    None => {}
                }
                idle_deadline = idle_deadline.max(after(idle_after));
                continue;
            }
            let authed = self.auth.is_some();
            let token_deadline = self.auth.as_ref().and_then(|a| a.token_deadline);
            let event = tokio::select! {
                biased;
                _ = shutdown.wait_for(|v| *v) => Event::Shutdown,
                _ = &mut *writer => Event::WriterDone,
                _ = sleep_until(hello_deadline), if !authed => Event::HelloTimeout,
                _ = sleep_until(token_deadline.unwrap_or(hello_deadline)), if token_deadline.is_some() => Event::TokenExpired,
                _ = sleep_until(idle_deadline), if authed => Event::Idle,
                frame = stream.next() => Event::Frame(frame),
            };
            let frame = match event {
                Event::Shutdown => return self.graceful().await,
                Event::WriterDone => return End::WriterDone,
                Event::HelloTimeout => {
                    tracing::debug!(conn = self.conn, "no hello in time");
                    self.out.close(close::UNAUTHORIZED, "no hello in time");
                    return End::Closing;
                }
                Event::TokenExpired => {
                    tracing::debug!(conn = self.conn, "token expired");
                    self.fail(
                        None,
                        ErrorCode::Unauthorized,
                        "token expired",
                        close::UNAUTHORIZED,
                        "token expired",
                    );
                    return End::Closing;
                }
                Event::Idle => {
                    tracing::debug!(conn = self.conn, "idle: closing");
                    self.out
                        .close(close::PROTOCOL, "nothing received for 2 x heartbeat_ms");
                    return End::Closing;
                }
                Event::Frame(frame) => frame,
            };
            let msg = match frame {
                None => return End::PeerGone,
                Some(Err(e)) => {
                    tracing::debug!(conn = self.conn, error = %e, "websocket read error");
                    return match close_for(&e) {
                        Some((code, reason)) => {
                            self.out.close(code, reason);
                            End::Closing
                        }
                        None => End::PeerGone,
                    };
                }
                Some(Ok(msg)) => msg,
            };
            idle_deadline = after(idle_after);
            let flow = match msg {
                WsMessage::Text(text) => {
                    self.take_token();
                    self.on_text(text.as_str()).await
                }
                WsMessage::Binary(_) => {
                    self.take_token();
                    self.on_binary()
                }
                WsMessage::Ping(_) | WsMessage::Pong(_) => Flow::Continue,
                WsMessage::Close(_) => return End::PeerGone,
            };
            if let Flow::Close = flow {
                return End::Closing;
            }
        }
    }

    async fn graceful(&mut self) -> End {
        // Everything this connection sent before is committed and acked once the barrier
        // answers; the close frame then follows the acks in the queue.
        let _ = timeout(SHUTDOWN_FLUSH, self.state.engine.barrier()).await;
        self.out.close(close::GOING_AWAY, "server shutting down");
        End::Closing
    }

    async fn cleanup(&mut self) {
        if let Some(auth) = &self.auth {
            self.state.hub.remove_session(self.conn);
            tracing::info!(conn = self.conn, user = %auth.member.user, client = %auth.member.client, "session ended");
        }
        if !self.rooms.is_empty() {
            let _ = timeout(SHUTDOWN_FLUSH, self.state.engine.disconnect(self.conn)).await;
        }
    }

    /// The protocol is JSON text: a binary frame is refused (before `hello`, with a close).
    fn on_binary(&self) -> Flow {
        if self.auth.is_none() {
            return self.fail(
                None,
                ErrorCode::Unauthorized,
                "the first frame must be hello",
                close::UNAUTHORIZED,
                "expected hello",
            );
        }
        self.error(
            None,
            ErrorCode::BadRequest,
            "binary frames are not supported",
        );
        Flow::Continue
    }

    async fn on_text(&mut self, text: &str) -> Flow {
        let max = self.state.config.max_frame;
        if text.len() > max {
            let ref_id = probe(text).and_then(|p| p.ref_id);
            let message = format!("frame of {} bytes is over max_frame {max}", text.len());
            if self.auth.is_none() {
                return self.fail(
                    ref_id,
                    ErrorCode::TooLarge,
                    message,
                    close::UNAUTHORIZED,
                    "expected hello",
                );
            }
            self.error(ref_id, ErrorCode::TooLarge, message);
            return Flow::Continue;
        }
        let frame = match ClientFrame::decode(text) {
            Ok(frame) => frame,
            Err(mut failure) => {
                // A frame that is JSON but whose `type` is not a string still has a `ref`.
                failure.ref_id = failure.ref_id.or_else(|| probe_ref(text));
                if self.auth.is_none() {
                    return self.bad_hello(text, failure);
                }
                self.error(
                    failure.ref_id,
                    ErrorCode::BadRequest,
                    failure.error.to_string(),
                );
                return Flow::Continue;
            }
        };
        if self.auth.is_none() {
            return match frame {
                ClientFrame::Hello(hello) => self.hello(hello).await,
                other => self.fail(
                    frame_ref(&other),
                    ErrorCode::Unauthorized,
                    "the first frame must be hello",
                    close::UNAUTHORIZED,
                    "expected hello",
                ),
            };
        }
        match frame {
            ClientFrame::Hello(h) => {
                self.error(
                    Some(h.ref_id),
                    ErrorCode::BadRequest,
                    "hello was already sent",
                );
            }
            ClientFrame::Join(j) => self.join(j).await,
            ClientFrame::Leave(l) => self.leave(l).await,
            ClientFrame::Publish(p) => self.publish(p).await,
            ClientFrame::History(h) => self.history(h).await,
            ClientFrame::Append(a) => self.append(a).await,
            ClientFrame::Cancel(c) => self.cancel(c).await,
            ClientFrame::Refresh(r) => self.refresh(r).await,
            ClientFrame::Ping(p) => {
                self.out.send(&ServerFrame::Pong(Pong { ref_id: p.ref_id }));
            }
            ClientFrame::Pong(_) => {}
        }
        Flow::Continue
    }

    /// A first frame that did not decode: a hello for another protocol version gets
    /// `unsupported_protocol` (4000), anything else `unauthorized` (4001).
    fn bad_hello(&self, text: &str, failure: DecodeFailure) -> Flow {
        if let Some(p) = probe(text) {
            let other_version = p.kind.as_deref() == Some("hello")
                && p.protocol
                    .as_ref()
                    .is_some_and(|v| v.as_u64() != Some(u64::from(PROTOCOL_VERSION)));
            if other_version {
                return self.fail(
                    failure.ref_id,
                    ErrorCode::UnsupportedProtocol,
                    format!("this server speaks protocol {PROTOCOL_VERSION}"),
                    close::PROTOCOL,
                    "unsupported protocol",
                );
            }
        }
        self.fail(
            failure.ref_id,
            ErrorCode::Unauthorized,
            format!("the first frame must be a valid hello: {}", failure.error),
            close::UNAUTHORIZED,
            "expected hello",
        )
    }

    async fn hello(&mut self, hello: Hello) -> Flow {
        let ref_id = Some(hello.ref_id);
        if hello.protocol != PROTOCOL_VERSION {
            return self.fail(
                ref_id,
                ErrorCode::UnsupportedProtocol,
                format!("this server speaks protocol {PROTOCOL_VERSION}"),
                close::PROTOCOL,
                "unsupported protocol",
            );
        }
        let client = &hello.client;
        let checks = validate::client_field("id", &client.id)
            .and_then(|()| validate::client_field("source", &client.source))
            .and_then(|()| validate::client_field("name", client.name.as_deref().unwrap_or("")));
        if let Err(message) = checks {
            return self.fail(
                ref_id,
                ErrorCode::BadRequest,
                message,
                close::PROTOCOL,
                "bad hello",
            );
        }
        let claims = match self.state.auth.verify_any(&hello.token).await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(conn = self.conn, error = %e, "hello refused");
                return self.fail(
                    ref_id,
                    ErrorCode::Unauthorized,
                    e.to_string(),
                    close::UNAUTHORIZED,
                    "unauthorized",
                );
            }
        };
        let member = Member {
            user: claims.sub.clone(),
            client: hello.client.id,
            source: hello.client.source,
            name: hello.client.name,
        };
        let token_exp = claims.exp_ms();
        if self.state.blocked(&member.user) {
            return self.fail(
                ref_id,
                ErrorCode::Unauthorized,
                "this user is blocked by an operator",
                close::UNAUTHORIZED,
                "blocked",
            );
        }
        self.state.hub.add_session(self.conn, &member, &self.out);
        tracing::info!(conn = self.conn, user = %member.user, client = %member.client, source = %member.source, "session started");
        self.out.send(&ServerFrame::Welcome(Welcome {
            ref_id: hello.ref_id,
            session: uuid::Uuid::new_v4().to_string(),
            user: claims.sub.clone(),
            heartbeat_ms: self.state.config.heartbeat_ms,
            max_frame: self.state.config.max_frame,
            token_exp,
        }));
        self.user_bucket = self.state.user_buckets.get(&claims.sub);
        self.auth = Some(Authed {
            token_deadline: deadline_for(&claims),
            claims,
            member,
        });
        Flow::Continue
    }

    /// Checks a room name; on failure answers `bad_request` and returns false.
    fn check_room(&self, ref_id: u64, room: &str) -> bool {
        match validate::room(room) {
            Ok(()) => true,
            Err(e) => {
                self.error(Some(ref_id), ErrorCode::BadRequest, e);
                false
            }
        }
    }

    fn permits(&self, room: &str) -> bool {
        self.auth.as_ref().is_some_and(|a| a.claims.permits(room))
    }

    /// Answers `internal` when the engine could not take a request (shutting down).
    fn check_sent(&self, ref_id: u64, sent: Result<(), EngineError>) {
        if sent.is_err() {
            self.error(Some(ref_id), ErrorCode::Internal, "server shutting down");
        }
    }

    async fn join(&mut self, j: Join) {
        if !self.check_room(j.ref_id, &j.room) {
            return;
        }
        let Some(auth) = self.auth.as_ref() else {
            return;
        };
        if !auth.claims.permits(&j.room) {
            self.error(
                Some(j.ref_id),
                ErrorCode::Forbidden,
                format!("the token does not allow room {}", j.room),
            );
            return;
        }
        let max = self.state.config.max_rooms_per_conn;
        if !self.rooms.contains(&j.room) && self.rooms.len() >= max {
            self.error(
                Some(j.ref_id),
                ErrorCode::TooManyRooms,
                format!("at most {max} rooms per connection"),
            );
            return;
        }
        let member = auth.member.clone();
        self.rooms.insert(j.room.clone());
        let cmd = JoinCmd {
            ref_id: j.ref_id,
            room: j.room,
            since: j.since,
            epoch: j.epoch,
            member,
            out: self.out.clone(),
        };
        let sent = self.state.engine.join(cmd).await;
        self.check_sent(j.ref_id, sent);
    }

    async fn leave(&mut self, l: Leave) {
        if !self.check_room(l.ref_id, &l.room) {
            return;
        }
        if self.rooms.remove(&l.room) {
            let sent = self
                .state
                .engine
                .leave(l.ref_id, l.room, self.out.clone())
                .await;
            self.check_sent(l.ref_id, sent);
        } else {
            self.out
                .send(&ServerFrame::Left(roomcast_core::protocol::Left {
                    ref_id: l.ref_id,
                    room: l.room,
                }));
        }
    }

    async fn publish(&mut self, p: Publish) {
        if !self.check_room(p.ref_id, &p.room) {
            return;
        }
        if !self.rooms.contains(&p.room) {
            self.error(
                Some(p.ref_id),
                ErrorCode::NotJoined,
                format!("join {} before publishing to it", p.room),
            );
            return;
        }
        let checks = validate::message_id(&p.id)
            .and_then(|()| validate::event(&p.event))
            .and_then(|()| validate::data_depth(p.data.json()));
        if let Err(message) = checks {
            self.error(Some(p.ref_id), ErrorCode::BadRequest, message);
            return;
        }
        let Some(from) = self.auth.as_ref().map(|a| a.member.clone()) else {
            return;
        };
        if p.ephemeral && p.stream {
            self.error(
                Some(p.ref_id),
                ErrorCode::BadRequest,
                "a stream cannot be ephemeral",
            );
            return;
        }
        if p.ephemeral {
            crate::metrics::metrics().publishes_ephemeral.inc();
            let ts = now_ms();
            let text = Utf8Bytes::from(
                ServerFrame::Message(Message {
                    room: p.room.clone(),
                    seq: None,
                    id: p.id.clone(),
                    event: p.event,
                    data: p.data,
                    from,
                    ts,
                    stream: None,
                })
                .encode(),
            );
            self.state
                .engine
                .ephemeral(&self.state.hub, &p.room, self.conn, text)
                .await;
            self.out.send(&ServerFrame::Ack(Ack {
                ref_id: p.ref_id,
                id: p.id,
                n: None,
                seq: None,
                ts,
            }));
            return;
        }
        crate::metrics::metrics().publishes_persisted.inc();
        let ref_id = p.ref_id;
        let cmd = PublishCmd {
            room: p.room,
            id: p.id,
            event: p.event,
            data: p.data,
            from,
            stream: p.stream,
            origin: Origin::Ws {
                since: std::time::Instant::now(),
                ref_id,
                out: self.out.clone(),
            },
        };
        let sent = self.state.engine.publish(cmd).await;
        self.check_sent(ref_id, sent);
    }

    /// Checks what an append or cancel has in common with a publish: a valid room, joined
    /// on this connection, a valid id. On failure answers the error and returns `None`;
    /// otherwise the member it comes from.
    fn stream_request(&self, ref_id: u64, room: &str, id: &str) -> Option<Member> {
        if !self.check_room(ref_id, room) {
            return None;
        }
        if !self.rooms.contains(room) {
            self.error(
                Some(ref_id),
                ErrorCode::NotJoined,
                format!("join {room} before appending to its streams"),
            );
            return None;
        }
        if let Err(message) = validate::message_id(id) {
            self.error(Some(ref_id), ErrorCode::BadRequest, message);
            return None;
        }
        self.auth.as_ref().map(|a| a.member.clone())
    }

    async fn append(&mut self, a: AppendRequest) {
        let Some(from) = self.stream_request(a.ref_id, &a.room, &a.id) else {
            return;
        };
        if a.end == Some(StreamState::Open) {
            self.error(
                Some(a.ref_id),
                ErrorCode::BadRequest,
                "end must be done, cancelled or failed",
            );
            return;
        }
        let ref_id = a.ref_id;
        let cmd = AppendCmd {
            room: a.room,
            id: a.id,
            op: AppendOp::Append {
                n: a.n,
                text: a.text,
                end: a.end,
            },
            from,
            origin: Origin::Ws {
                since: std::time::Instant::now(),
                ref_id,
                out: self.out.clone(),
            },
        };
        let sent = self.state.engine.append(cmd).await;
        self.check_sent(ref_id, sent);
    }

    async fn cancel(&mut self, c: Cancel) {
        let Some(from) = self.stream_request(c.ref_id, &c.room, &c.id) else {
            return;
        };
        let ref_id = c.ref_id;
        let cmd = AppendCmd {
            room: c.room,
            id: c.id,
            op: AppendOp::Cancel,
            from,
            origin: Origin::Ws {
                since: std::time::Instant::now(),
                ref_id,
                out: self.out.clone(),
            },
        };
        let sent = self.state.engine.append(cmd).await;
        self.check_sent(ref_id, sent);
    }

    async fn history(&mut self, h: HistoryRequest) {
        crate::metrics::metrics().history_pages_ws.inc();
        if !self.check_room(h.ref_id, &h.room) {
            return;
        }
        if !self.permits(&h.room) {
            self.error(
                Some(h.ref_id),
                ErrorCode::Forbidden,
                format!("the token does not allow room {}", h.room),
            );
            return;
        }
        let limit = h
            .limit
            .unwrap_or(DEFAULT_HISTORY_LIMIT)
            .clamp(1, MAX_HISTORY_LIMIT);
        let result = self
            .state
            .engine
            .history(h.room.clone(), h.before, limit)
            .await;
        match result {
            Ok(page) => {
                self.out.send(&ServerFrame::History(HistoryPage {
                    ref_id: h.ref_id,
                    room: h.room,
                    messages: page.messages,
                    more: page.more,
                    appends: page.appends,
                }));
            }
            Err(e) => {
                tracing::error!(room = %h.room, error = %e, "history read failed");
                self.error(Some(h.ref_id), ErrorCode::Internal, "history read failed");
            }
        }
    }

    async fn refresh(&mut self, r: Refresh) {
        let claims = match self.state.auth.verify_any(&r.token).await {
            Ok(c) => c,
            Err(e) => {
                self.error(Some(r.ref_id), ErrorCode::Unauthorized, e.to_string());
                return;
            }
        };
        let Some(auth) = self.auth.as_mut() else {
            return;
        };
        if claims.sub != auth.claims.sub {
            self.error(
                Some(r.ref_id),
                ErrorCode::Unauthorized,
                "the new token is for another user",
            );
            return;
        }
        let token_exp = claims.exp_ms();
        auth.token_deadline = deadline_for(&claims);
        auth.claims = claims;
        self.out.send(&ServerFrame::Refreshed(Refreshed {
            ref_id: r.ref_id,
            token_exp,
        }));
    }
}
