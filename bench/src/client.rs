//! One benchmark connection: a raw tokio-tungstenite task rather than a `roomcast_core::Client`,
//! so the same lightweight code drives both servers (the SDK speaks only Roomcast) and costs
//! the generator as little as possible on a machine it shares with the server. It does what
//! the SDK does on a reconnect: rejoin with `since`/`epoch` and re-send unacked publishes
//! with their ids.
//!
//! Connection i joins room i mod R; the first member of each room publishes message numbers
//! `k` = 0, 1, 2, ... in order, so every subscriber must see each `k` (and Roomcast `seq`)
//! exactly once: a subscriber keeps one bit per `k`, so a message that arrives twice is a
//! duplicate and one that never arrives is lost, whatever order they come in (after a
//! reconnect a re-sent publish may overtake a replayed one on a server that does not order).
//!
//! Socket.IO clients reconnect too: with plain Socket.IO whatever was broadcast meanwhile is
//! gone; when the server keeps sessions (`connectionStateRecovery`) the client reconnects with
//! its session id and the offset of the last broadcast it saw, as socket.io-client does.
//! Publishers re-send unacked publishes after any reconnect (socket.io-client's `retries`),
//! so publisher-side loss is the same for every server and what differs is the server's.
//!
//! With a churn plan, every connection is closed on purpose about every `every` during the
//! measurement (the socket dropped without a close frame, as when a phone changes network)
//! and stays offline about `offline` before it reconnects.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering::{Relaxed, Release};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::BenchError;
use crate::shared::{Phase, Progress, Shared, Stage, LATENCY_BATCH};
use crate::wire::{self, Ident, Inbound, Proto, PING_REF_BASE};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long one connection attempt may take.
const CONNECT_LIMIT: Duration = Duration::from_secs(5);
/// Roomcast keep-alive interval, inside the server's default 25 s heartbeat.
const HEARTBEAT: Duration = Duration::from_secs(20);
/// Socket.IO: a join not acked within this long is sent again (socket.io-client's
/// `ackTimeout` with `retries`). socketioxide answers the namespace connect before its
/// connect handler (a spawned task) has registered the event handlers, so a join sent at once
/// can land in between and be dropped without an answer.
const JOIN_RETRY: Duration = Duration::from_secs(1);
/// The highest message number a subscriber accepts: its bitmap of seen messages grows with
/// `k`, so a wild number from a server must not allocate without bound (2^26 bits is 8 MiB,
/// 18 hours of a room at 1000 msg/s).
const MAX_K: u64 = 1 << 26;

/// The workload, the same for every client of a run (the rate is in the [`Stage`]).
#[derive(Debug)]
pub struct Plan {
    pub proto: Proto,
    pub url: String,
    /// Padding carried in every message.
    pub pad: String,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// Closes every connection on purpose during the measurement.
    pub churn: Option<Churn>,
}

/// The churn scenario's timing; both are jittered by ±25% per close.
#[derive(Debug, Clone, Copy)]
pub struct Churn {
    /// Time between two forced closes of one connection.
    pub every: Duration,
    /// Time offline after a forced close.
    pub offline: Duration,
}

/// What one client saw, summed up by the controller.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Messages received during measurements (duplicates included).
    pub delivered: u64,
    /// Subscriber: distinct messages received over the whole run.
    pub distinct: u64,
    /// `k` received again.
    pub dups: u64,
    /// Roomcast `seq` out of order, repeated or skipped (including unrecovered rejoins).
    pub seq_errors: u64,
    /// Publishes re-sent after a reconnect.
    pub resent: u64,
    /// Connections lost (forced closes of the churn not included).
    pub disconnects: u64,
    /// Error answers from the server.
    pub refused: u64,
    /// The first error seen, for the report.
    pub first_error: Option<String>,
}

impl Outcome {
    fn error(&mut self, e: impl std::fmt::Display) {
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }
}

/// A publisher's open-loop schedule at one rate: message `base + i` is due at
/// `start + i / rate`.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    start: Instant,
    base: u64,
    rate: f64,
}

/// A client's whole state, kept across reconnects.
struct Client {
    shared: Arc<Shared>,
    plan: Arc<Plan>,
    ident: Ident,
    index: usize,
    stage: Stage,
    out: Outcome,
    /// Subscriber: one bit per `k` received.
    seen: Vec<u64>,
    /// Subscriber: every `k` below this one has been received.
    next_k: u64,
    /// Highest `seq` seen (subscriber) or acked (publisher).
    last_seq: u64,
    epoch: Option<String>,
    /// Socket.IO session id and the offset of the last broadcast, for a recovering reconnect.
    sio_pid: Option<String>,
    sio_offset: Option<String>,
    /// Publisher: messages generated so far, and those not yet acked.
    generated: u64,
    pending: BTreeSet<u64>,
    schedule: Option<Schedule>,
    /// When the current connection opened, if it is a reconnect: messages sent before it
    /// and received on it were missed while offline.
    reopened_us: Option<u64>,
    /// Churn: when this connection is closed on purpose, and whether it was already once.
    churn_at: Option<Instant>,
    churned: bool,
    latencies: Vec<u64>,
    replays: Vec<u64>,
    pings: u64,
}

/// Why a session ended.
enum End {
    Done,
    /// Closed on purpose by the churn.
    Churned,
    Lost(BenchError),
}

/// Runs client `index` until the phase is `Done`.
pub async fn run(shared: Arc<Shared>, plan: Arc<Plan>, index: usize, ident: Ident) -> Outcome {
    let stage = shared.stage();
    let mut c = Client {
        shared,
        plan,
        ident,
        index,
        stage,
        out: Outcome::default(),
        seen: Vec::new(),
        next_k: 0,
        last_seq: 0,
        epoch: None,
        sio_pid: None,
        sio_offset: None,
        generated: 0,
        pending: BTreeSet::new(),
        schedule: None,
        reopened_us: None,
        churn_at: None,
        churned: false,
        latencies: Vec::with_capacity(LATENCY_BATCH),
        replays: Vec::new(),
        pings: 0,
    };
    c.drive().await;
    c.progress().online.store(false, Relaxed);
    c.flush();
    c.out
}

/// `d` scaled by a factor drawn from [lo, hi].
fn jitter(d: Duration, lo: f64, hi: f64) -> Duration {
    d.mul_f64(lo + (hi - lo) * fastrand::f64())
}

impl Client {
    /// Takes the stage the controller set, and tells it so.
    fn observe(&mut self, stage_rx: &mut watch::Receiver<Stage>) {
        let stage = *stage_rx.borrow_and_update();
        if !stage.phase.publishing() {
            // The next publishing stage starts a fresh schedule at its own rate.
            self.schedule = None;
        }
        if stage.phase != Phase::Measure {
            self.churn_at = None;
        }
        self.stage = stage;
        // Samples of the stage that ended belong to its figures.
        self.flush();
        self.progress().observed.store(stage.generation, Release);
    }

    fn flush(&mut self) {
        self.shared.record(&mut self.latencies);
        self.shared.record_replay(&mut self.replays);
    }

    fn progress(&self) -> &Progress {
        // The controller sizes `progress` to the number of clients.
        &self.shared.progress[self.index]
    }

    async fn drive(&mut self) {
        let mut stage_rx = self.shared.watch_stage();
        let mut attempt = 0u32;
        loop {
            self.observe(&mut stage_rx);
            if self.stage.phase == Phase::Done {
                return;
            }
            let first = self.progress().joins.load(Relaxed) == 0;
            let socket = if first {
                // Initial connects go through the gate; reconnects do not, as in life.
                let _permit = self.shared.connect_gate.acquire().await;
                connect(&self.plan.url).await
            } else {
                connect(&self.plan.url).await
            };
            let end = match socket {
                Ok(ws) => self.session(ws, &mut stage_rx, &mut attempt).await,
                Err(e) => End::Lost(e),
            };
            self.progress().online.store(false, Relaxed);
            let delay = match end {
                End::Done => return,
                End::Churned => {
                    let offline = self.plan.churn.map_or(Duration::ZERO, |c| c.offline);
                    jitter(offline, 0.75, 1.25)
                }
                End::Lost(e) => {
                    // The controller's phase, not ours: the kill may be seen before the news.
                    if self.shared.phase() != Phase::Storm {
                        self.out.error(&e);
                    }
                    let d = backoff(&self.plan, attempt);
                    attempt = attempt.saturating_add(1);
                    d
                }
            };
            let wake = Instant::now() + delay;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(wake) => break,
                    changed = stage_rx.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        self.observe(&mut stage_rx);
                        if self.stage.phase == Phase::Done {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// One connection, from the opening frames until it is lost, closed by the churn, or the
    /// run is done.
    async fn session(
        &mut self,
        mut ws: Socket,
        stage_rx: &mut watch::Receiver<Stage>,
        attempt: &mut u32,
    ) -> End {
        let reconnect = self.progress().joins.load(Relaxed) > 0;
        self.reopened_us = reconnect.then(|| self.shared.now_us());
        let resume = self.epoch.as_deref().map(|e| (self.last_seq, e));
        for frame in self.plan.proto.opening(&self.ident, resume) {
            if let Err(e) = ws.feed(Ws::text(frame)).await {
                return self.lost(e.into());
            }
        }
        if let Err(e) = ws.flush().await {
            return self.lost(e.into());
        }
        let mut joined = false;
        // Socket.IO: when to send the join again if its ack has not come.
        let mut join_retry: Option<Instant> = None;
        let mut ticker: Option<Interval> = None;
        let mut heartbeat = tokio::time::interval_at(Instant::now() + HEARTBEAT, HEARTBEAT);
        loop {
            if self.ident.publisher && joined && self.stage.phase.publishing() && ticker.is_none() {
                ticker = Some(self.start_schedule());
            }
            self.arm_churn();
            tokio::select! {
                changed = stage_rx.changed() => {
                    if changed.is_err() {
                        return End::Done;
                    }
                    self.observe(stage_rx);
                    if self.stage.phase == Phase::Done {
                        return End::Done;
                    }
                    // Restarted at the top with the stage's rate (the same schedule when the
                    // rate did not change, so nothing is skipped or sent twice).
                    ticker = None;
                }
                frame = ws.next() => {
                    let text = match frame {
                        Some(Ok(Ws::Text(t))) => t,
                        Some(Ok(Ws::Close(_))) | None => return self.lost(BenchError::Closed),
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return self.lost(e.into()),
                    };
                    let inbound = match self.plan.proto.parse(&text) {
                        Ok(i) => i,
                        Err(e) => {
                            self.out.refused += 1;
                            self.out.error(e);
                            continue;
                        }
                    };
                    let connected = matches!(inbound, Inbound::SioConnected { .. });
                    let replies = self.handle(inbound, &mut joined, attempt);
                    if connected {
                        join_retry = Some(Instant::now() + JOIN_RETRY);
                    }
                    if joined {
                        join_retry = None;
                    }
                    for r in replies {
                        if let Err(e) = ws.feed(Ws::text(r)).await {
                            return self.lost(e.into());
                        }
                    }
                    if let Err(e) = ws.flush().await {
                        return self.lost(e.into());
                    }
                }
                _ = tick(&mut ticker) => {
                    if let Err(e) = self.publish_due(&mut ws).await {
                        return self.lost(e);
                    }
                }
                _ = heartbeat.tick() => {
                    self.pings += 1;
                    if let Some(ping) = self.plan.proto.ping(PING_REF_BASE + self.pings) {
                        if let Err(e) = ws.send(Ws::text(ping)).await {
                            return self.lost(e.into());
                        }
                    }
                }
                _ = until(join_retry) => {
                    join_retry = Some(Instant::now() + JOIN_RETRY);
                    if let Err(e) = ws.send(Ws::text(wire::sio_join(&self.ident))).await {
                        return self.lost(e.into());
                    }
                }
                _ = until(self.churn_at) => {
                    // Dropped without a close frame: the server sees the transport go away.
                    self.churn_at = None;
                    self.churned = true;
                    self.shared.forced_closes.fetch_add(1, Relaxed);
                    return End::Churned;
                }
            }
        }
    }

    /// Sets the next forced close while the churn runs: the first spread over one period so
    /// connections do not close in step, later ones a period (±25%) after the reconnect.
    fn arm_churn(&mut self) {
        let Some(churn) = self.plan.churn else {
            return;
        };
        if self.stage.phase != Phase::Measure || self.churn_at.is_some() {
            return;
        }
        let wait = if self.churned {
            jitter(churn.every, 0.75, 1.25)
        } else {
            jitter(churn.every, 0.05, 1.0)
        };
        self.churn_at = Some(Instant::now() + wait);
    }

    fn lost(&mut self, e: BenchError) -> End {
        self.out.disconnects += 1;
        End::Lost(e)
    }

    /// Applies one inbound event; the frames to send back.
    fn handle(&mut self, inbound: Inbound, joined: &mut bool, attempt: &mut u32) -> Vec<String> {
        match inbound {
            Inbound::Message { k, t, seq, offset } => {
                if offset.is_some() {
                    self.sio_offset = offset;
                }
                self.on_message(k, t, seq);
                vec![]
            }
            Inbound::Ack { k, seq } => {
                self.pending.remove(&k);
                if let Some(seq) = seq {
                    self.last_seq = self.last_seq.max(seq);
                    self.progress().seq.store(self.last_seq, Relaxed);
                }
                self.progress()
                    .pending
                    .store(self.pending.len() as u64, Relaxed);
                vec![]
            }
            Inbound::Joined { seq, epoch } => {
                *joined = true;
                *attempt = 0;
                if let Some(head) = seq {
                    if !self.ident.publisher {
                        // First join: start at the head. Rejoin: everything up to the head was
                        // replayed before `joined`, else those messages are lost.
                        if self.epoch.is_some() && head > self.last_seq {
                            self.out.seq_errors += head - self.last_seq;
                        }
                        self.last_seq = self.last_seq.max(head);
                        self.progress().seq.store(self.last_seq, Relaxed);
                    }
                }
                if epoch.is_some() {
                    self.epoch = epoch;
                }
                self.progress().online.store(true, Relaxed);
                let rejoin = self.progress().joins.fetch_add(1, Relaxed) > 0;
                if rejoin && self.ident.publisher {
                    // Re-send what was never acked, in order, with the same ids: Roomcast's
                    // idempotency drops what it already stored; Socket.IO delivers it again.
                    self.out.resent += self.pending.len() as u64;
                    let now = self.shared.now_us();
                    return self
                        .pending
                        .iter()
                        .filter_map(|&k| {
                            self.plan
                                .proto
                                .publish(&self.ident, k, now, &self.plan.pad)
                                .ok()
                        })
                        .collect();
                }
                vec![]
            }
            Inbound::SioOpen => {
                let session = self.sio_pid.as_deref().zip(self.sio_offset.as_deref());
                vec![wire::sio_connect(session)]
            }
            Inbound::SioConnected { pid } => {
                if pid.is_some() {
                    self.sio_pid = pid;
                }
                // Also after a recovered session (which has its rooms back): the join is
                // idempotent and its ack is the client's "joined".
                vec![wire::sio_join(&self.ident)]
            }
            Inbound::Reply(frame) => vec![frame],
            Inbound::Ignore => vec![],
            Inbound::Refused(e) => {
                self.out.refused += 1;
                self.out.error(format!("server error: {e}"));
                vec![]
            }
        }
    }

    fn on_message(&mut self, k: u64, t: u64, seq: Option<u64>) {
        if self.ident.publisher {
            // Its own messages, replayed on a rejoin after a publish stored but not acked
            // before the kill: the subscribers are what is measured.
            return;
        }
        if k >= MAX_K {
            self.out.refused += 1;
            self.out.error(format!("message number {k} out of range"));
            return;
        }
        let now = self.shared.now_us();
        if self.stage.phase == Phase::Measure {
            self.out.delivered += 1;
            self.progress().delivered.store(self.out.delivered, Relaxed);
            self.latencies.push(now.saturating_sub(t));
            if self.latencies.len() >= LATENCY_BATCH {
                self.shared.record(&mut self.latencies);
            }
        }
        if self.mark(k) {
            self.out.distinct += 1;
            self.progress().distinct.store(self.out.distinct, Relaxed);
            if let Some(reopened) = self.reopened_us.filter(|&r| t < r) {
                // Sent before this connection opened: missed while offline, replayed now.
                self.replays.push(now.saturating_sub(reopened));
            }
            while self.is_seen(self.next_k) {
                self.next_k += 1;
            }
            self.progress().received.store(self.next_k, Relaxed);
        } else {
            self.out.dups += 1;
            self.progress().dups.store(self.out.dups, Relaxed);
        }
        if let Some(seq) = seq {
            if seq <= self.last_seq {
                self.out.seq_errors += 1;
            } else {
                self.out.seq_errors += seq - self.last_seq - 1;
                self.last_seq = seq;
                self.progress().seq.store(seq, Relaxed);
            }
        }
    }

    /// Marks `k` as received; whether it is new.
    fn mark(&mut self, k: u64) -> bool {
        let (word, bit) = ((k / 64) as usize, k % 64);
        if self.seen.len() <= word {
            self.seen.resize(word + 1, 0);
        }
        let new = self.seen[word] & (1 << bit) == 0;
        self.seen[word] |= 1 << bit;
        new
    }

    fn is_seen(&self, k: u64) -> bool {
        let (word, bit) = ((k / 64) as usize, k % 64);
        self.seen.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    /// Starts (or resumes) the publishing schedule at the stage's rate. A new schedule sends
    /// its first message at a random offset within one period, so the rooms' publishers do
    /// not fire in lockstep; after a reconnect the same schedule resumes and everything due
    /// meanwhile goes out at once, as an offline queue does.
    fn start_schedule(&mut self) -> Interval {
        let rate = self.stage.per_room_rate;
        let period = Duration::from_secs_f64(1.0 / rate);
        let schedule = match self.schedule {
            Some(s) if s.rate == rate => s,
            _ => Schedule {
                start: Instant::now() + period.mul_f64(fastrand::f64()),
                base: self.generated,
                rate,
            },
        };
        self.schedule = Some(schedule);
        // Sends are batched per tick at high rates; the schedule itself stays exact.
        let every = period.clamp(Duration::from_millis(1), Duration::from_millis(50));
        let mut ticker = tokio::time::interval_at(schedule.start.max(Instant::now()), every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticker
    }

    /// Sends every message the schedule has made due by now.
    async fn publish_due(&mut self, ws: &mut Socket) -> Result<(), BenchError> {
        let Some(s) = self.schedule.filter(|_| self.stage.phase.publishing()) else {
            return Ok(());
        };
        let elapsed = Instant::now().saturating_duration_since(s.start);
        let due = s.base + (elapsed.as_secs_f64() * s.rate) as u64 + 1;
        let mut sent = false;
        while self.generated < due {
            let k = self.generated;
            let frame =
                self.plan
                    .proto
                    .publish(&self.ident, k, self.shared.now_us(), &self.plan.pad)?;
            ws.feed(Ws::text(frame)).await?;
            self.pending.insert(k);
            self.generated += 1;
            sent = true;
        }
        if sent {
            ws.flush().await?;
            let p = self.progress();
            p.sent.store(self.generated, Relaxed);
            p.pending.store(self.pending.len() as u64, Relaxed);
        }
        Ok(())
    }
}

async fn tick(ticker: &mut Option<Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Opens a WebSocket with Nagle off (the latency figures are the servers', not TCP's).
async fn connect(url: &str) -> Result<Socket, BenchError> {
    let attempt = tokio_tungstenite::connect_async_with_config(url, None, true);
    match tokio::time::timeout(CONNECT_LIMIT, attempt).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(BenchError::ConnectTimeout(CONNECT_LIMIT)),
    }
}

/// Exponential backoff with jitter, as the SDK does (drawn from [delay/2, delay]), with the
/// benchmark's shorter bounds.
fn backoff(plan: &Plan, attempt: u32) -> Duration {
    let delay = plan
        .reconnect_min
        .saturating_mul(1u32 << attempt.min(16))
        .min(plan.reconnect_max);
    jitter(delay, 0.5, 1.0)
}
