//! One benchmark connection: a raw tokio-tungstenite task rather than a `roomcast_core::Client`,
//! so the same lightweight code drives both servers (the SDK speaks only Roomcast) and costs
//! the generator as little as possible on a machine it shares with the server. It does what
//! the SDK does on a reconnect: rejoin with `since`/`epoch` and re-send unacked publishes
//! with their ids.
//!
//! Connection i joins room i mod R; the first member of each room publishes message numbers
//! `k` = 0, 1, 2, ... in order, so every subscriber must see each `k` (and Roomcast `seq`)
//! exactly once, in order: anything else is counted as a loss or a duplicate.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering::{self, Relaxed};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::BenchError;
use crate::shared::{Phase, Progress, Shared, LATENCY_BATCH};
use crate::wire::{Ident, Inbound, Proto, PING_REF_BASE};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long one connection attempt may take.
const CONNECT_LIMIT: Duration = Duration::from_secs(5);
/// Roomcast keep-alive interval, inside the server's default 25 s heartbeat.
const HEARTBEAT: Duration = Duration::from_secs(20);

/// The workload, the same for every client of a run.
#[derive(Debug)]
pub struct Plan {
    pub proto: Proto,
    pub url: String,
    /// Messages per second each room's publisher sends.
    pub per_room_rate: f64,
    /// Padding carried in every message.
    pub pad: String,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
}

/// What one client saw, summed up by the controller.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Messages received during the measurement.
    pub delivered: u64,
    /// `k` received again, at or below one already seen.
    pub dups: u64,
    /// `k` skipped over.
    pub gaps: u64,
    /// Roomcast `seq` out of order, repeated or skipped (including unrecovered rejoins).
    pub seq_errors: u64,
    /// Publishes re-sent after a reconnect.
    pub resent: u64,
    /// Connections lost.
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

/// A client's whole state, kept across reconnects.
struct Client {
    shared: Arc<Shared>,
    plan: Arc<Plan>,
    ident: Ident,
    index: usize,
    phase: Phase,
    out: Outcome,
    /// Subscriber: the next `k` expected.
    next_k: u64,
    /// Highest `seq` seen (subscriber) or acked (publisher).
    last_seq: u64,
    epoch: Option<String>,
    /// Publisher: messages generated so far, and those not yet acked.
    generated: u64,
    pending: BTreeSet<u64>,
    /// Publisher: when message 0 is due.
    schedule: Option<Instant>,
    latencies: Vec<u64>,
    pings: u64,
}

/// Why a session ended.
enum End {
    Done,
    Lost(BenchError),
}

/// Runs client `index` until the phase is `Done`.
pub async fn run(shared: Arc<Shared>, plan: Arc<Plan>, index: usize, ident: Ident) -> Outcome {
    let phase = shared.phase();
    let mut c = Client {
        shared,
        plan,
        ident,
        index,
        phase,
        out: Outcome::default(),
        next_k: 0,
        last_seq: 0,
        epoch: None,
        generated: 0,
        pending: BTreeSet::new(),
        schedule: None,
        latencies: Vec::with_capacity(LATENCY_BATCH),
        pings: 0,
    };
    c.drive().await;
    c.shared.record(&mut c.latencies);
    c.out
}

impl Client {
    /// Takes the phase the controller set, and tells it so.
    fn observe(&mut self, phase_rx: &mut tokio::sync::watch::Receiver<Phase>) {
        self.phase = *phase_rx.borrow_and_update();
        self.progress()
            .observed
            .store(self.phase.rank(), Ordering::Release);
    }

    fn progress(&self) -> &Progress {
        // The controller sizes `progress` to the number of clients.
        &self.shared.progress[self.index]
    }

    async fn drive(&mut self) {
        let mut phase_rx = self.shared.watch_phase();
        let mut attempt = 0u32;
        loop {
            self.observe(&mut phase_rx);
            if self.phase == Phase::Done {
                return;
            }
            let first = self.progress().joins.load(Relaxed) == 0;
            let socket = if first {
                // Initial connects go through the gate; a storm's reconnects do not, as in life.
                let _permit = self.shared.connect_gate.acquire().await;
                connect(&self.plan.url).await
            } else {
                connect(&self.plan.url).await
            };
            let end = match socket {
                Ok(ws) => self.session(ws, &mut phase_rx, &mut attempt).await,
                Err(e) => End::Lost(e),
            };
            match end {
                End::Done => return,
                End::Lost(e) => {
                    // The controller's phase, not ours: the kill may be seen before the news.
                    if self.shared.phase() != Phase::Storm {
                        self.out.error(&e);
                    }
                    // Socket.IO has no resume: a lost connection is the end of that client.
                    if matches!(self.plan.proto, Proto::SocketIo) {
                        return;
                    }
                }
            }
            let delay = backoff(&self.plan, attempt);
            attempt = attempt.saturating_add(1);
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                changed = phase_rx.changed() => if changed.is_err() { return },
            }
        }
    }

    /// One connection, from the opening frames until it is lost or the run is done.
    async fn session(
        &mut self,
        mut ws: Socket,
        phase_rx: &mut tokio::sync::watch::Receiver<Phase>,
        attempt: &mut u32,
    ) -> End {
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
        let mut ticker: Option<Interval> = None;
        let mut heartbeat = tokio::time::interval_at(Instant::now() + HEARTBEAT, HEARTBEAT);
        loop {
            if self.ident.publisher && joined && self.phase.publishing() && ticker.is_none() {
                ticker = Some(self.start_schedule());
            }
            tokio::select! {
                changed = phase_rx.changed() => {
                    if changed.is_err() {
                        return End::Done;
                    }
                    self.observe(phase_rx);
                    if self.phase == Phase::Done {
                        return End::Done;
                    }
                    if !self.phase.publishing() {
                        ticker = None;
                    }
                }
                frame = ws.next() => {
                    let text = match frame {
                        Some(Ok(Ws::Text(t))) => t,
                        Some(Ok(Ws::Close(_))) | None => return self.lost(BenchError::Closed),
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return self.lost(e.into()),
                    };
                    let inbound = match self.plan.proto.parse(&self.ident, &text) {
                        Ok(i) => i,
                        Err(e) => {
                            self.out.refused += 1;
                            self.out.error(e);
                            continue;
                        }
                    };
                    let replies = self.handle(inbound, &mut joined, attempt);
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
            }
        }
    }

    fn lost(&mut self, e: BenchError) -> End {
        self.out.disconnects += 1;
        End::Lost(e)
    }

    /// Applies one inbound event; the frames to send back.
    fn handle(&mut self, inbound: Inbound, joined: &mut bool, attempt: &mut u32) -> Vec<String> {
        match inbound {
            Inbound::Message { k, t, seq } => {
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
                let rejoin = self.progress().joins.fetch_add(1, Relaxed) > 0;
                if rejoin && self.ident.publisher {
                    // Re-send what was never acked, in order, with the same ids: the server's
                    // idempotency drops what it already stored.
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
        if self.phase == Phase::Measure {
            self.out.delivered += 1;
            self.latencies.push(self.shared.now_us().saturating_sub(t));
            if self.latencies.len() >= LATENCY_BATCH {
                self.shared.record(&mut self.latencies);
            }
        }
        if k < self.next_k {
            self.out.dups += 1;
        } else {
            if k > self.next_k {
                let joins = self.progress().joins.load(Relaxed);
                self.out.error(format!(
                    "{}: k {k} after {}, seq {seq:?} after {}, phase {:?}, join {joins}",
                    self.ident.room, self.next_k, self.last_seq, self.phase
                ));
            }
            self.out.gaps += k - self.next_k;
            self.next_k = k + 1;
            self.progress().received.store(self.next_k, Relaxed);
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

    /// Starts (or resumes) the publishing schedule: message 0 at a random offset within one
    /// period, so the rooms' publishers do not fire in lockstep.
    fn start_schedule(&mut self) -> Interval {
        let period = Duration::from_secs_f64(1.0 / self.plan.per_room_rate);
        let start = *self
            .schedule
            .get_or_insert_with(|| Instant::now() + period.mul_f64(fastrand::f64()));
        // Sends are batched per tick at high rates; the schedule itself stays exact.
        let every = period.clamp(Duration::from_millis(1), Duration::from_millis(50));
        let mut ticker = tokio::time::interval_at(start.max(Instant::now()), every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticker
    }

    /// Sends every message the schedule has made due by now.
    async fn publish_due(&mut self, ws: &mut Socket) -> Result<(), BenchError> {
        let Some(start) = self.schedule.filter(|_| self.phase.publishing()) else {
            return Ok(());
        };
        let elapsed = Instant::now().saturating_duration_since(start);
        let due = (elapsed.as_secs_f64() * self.plan.per_room_rate) as u64 + 1;
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
    delay.mul_f64(0.5 + 0.5 * fastrand::f64())
}
