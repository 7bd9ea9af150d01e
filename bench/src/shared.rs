//! What the controller and the client tasks share: the stage of the run (phase, offered rate,
//! and a generation the clients echo back), each client's progress (atomics the controller
//! polls to decide "all joined", "all caught up" and the backlog), and the latency histograms.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Instant;

use hdrhistogram::Histogram;
use tokio::sync::{watch, Semaphore};

use crate::error::BenchError;

/// Where a run is. Clients publish only in `Warmup` and `Measure`, and count deliveries and
/// latencies only in `Measure`. A saturation run goes through Warmup, Measure and Drain once
/// per offered rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Connect,
    Warmup,
    Measure,
    /// Publishing stopped; waiting for the last deliveries.
    Drain,
    /// Publishing stopped; the server is being killed and restarted; clients reconnect.
    Storm,
    Done,
}

impl Phase {
    pub fn publishing(self) -> bool {
        matches!(self, Phase::Warmup | Phase::Measure)
    }
}

/// What the controller asks of every client: a phase, the aggregate publish rate, and a
/// generation number that grows with every change, so the controller knows which clients
/// have acted on the latest one (phases repeat from step to step, so they cannot tell).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    pub phase: Phase,
    /// Messages per second each room's publisher sends.
    pub per_room_rate: f64,
    pub generation: u32,
}

/// One client's progress, written by its task and read by the controller.
#[derive(Debug, Default)]
pub struct Progress {
    /// Completed joins: 1 after the first, one more after each reconnect.
    pub joins: AtomicU32,
    /// Whether the client is joined on a live connection right now.
    pub online: AtomicBool,
    /// Subscriber: every `k` below this one has arrived (the next missing `k`).
    pub received: AtomicU64,
    /// Subscriber: distinct messages received so far, in any order.
    pub distinct: AtomicU64,
    /// Subscriber: messages received again, so far.
    pub dups: AtomicU64,
    /// Subscriber: deliveries counted in `Measure` phases so far (duplicates included).
    pub delivered: AtomicU64,
    /// Subscriber: highest `seq` seen. Publisher: highest `seq` acked (the room's head).
    pub seq: AtomicU64,
    /// Publisher: messages generated.
    pub sent: AtomicU64,
    /// Publisher: messages not yet acked.
    pub pending: AtomicU64,
    /// The latest stage generation the client's task has acted on. Written after `sent`, so
    /// once it shows a non-publishing stage, `sent` is final.
    pub observed: AtomicU32,
}

/// Latencies are batched per client before they take the shared lock.
pub const LATENCY_BATCH: usize = 256;
/// Histogram bounds: 1 µs to 60 s at three significant digits.
const LATENCY_MAX_US: u64 = 60_000_000;

/// State shared by one server's run.
pub struct Shared {
    stage: watch::Sender<Stage>,
    pub progress: Vec<Progress>,
    /// Send to receive, for every delivery in a `Measure` phase.
    latency: Mutex<Histogram<u64>>,
    /// Reconnect to receive, for messages a client missed while offline and received after
    /// it came back (the churn scenario's replay latency).
    replay: Mutex<Histogram<u64>>,
    base: Instant,
    /// Limits connection attempts in flight (the server's accept backlog is finite).
    pub connect_gate: Semaphore,
    /// Connections the churn closed on purpose.
    pub forced_closes: AtomicU64,
}

impl Shared {
    pub fn new(
        clients: usize,
        base: Instant,
        connect_concurrency: usize,
        per_room_rate: f64,
    ) -> Result<Self, BenchError> {
        let hist = || {
            Histogram::new_with_bounds(1, LATENCY_MAX_US, 3)
                .map_err(|e| BenchError::Options(format!("latency histogram: {e}")))
        };
        Ok(Self {
            stage: watch::Sender::new(Stage {
                phase: Phase::Connect,
                per_room_rate,
                generation: 0,
            }),
            progress: (0..clients).map(|_| Progress::default()).collect(),
            latency: Mutex::new(hist()?),
            replay: Mutex::new(hist()?),
            base,
            connect_gate: Semaphore::new(connect_concurrency),
            forced_closes: AtomicU64::new(0),
        })
    }

    /// Microseconds since the generator started: the clock of every message's `t`.
    pub fn now_us(&self) -> u64 {
        self.base
            .elapsed()
            .as_micros()
            .try_into()
            .unwrap_or(u64::MAX)
    }

    /// Moves every client to `phase`, at the current rate.
    pub fn set_phase(&self, phase: Phase) {
        self.stage.send_modify(|s| {
            s.phase = phase;
            s.generation += 1;
        });
    }

    /// Moves every client to `phase` at a new aggregate rate.
    pub fn set_stage(&self, phase: Phase, per_room_rate: f64) {
        self.stage.send_modify(|s| {
            s.phase = phase;
            s.per_room_rate = per_room_rate;
            s.generation += 1;
        });
    }

    pub fn phase(&self) -> Phase {
        self.stage.borrow().phase
    }

    pub fn stage(&self) -> Stage {
        *self.stage.borrow()
    }

    pub fn watch_stage(&self) -> watch::Receiver<Stage> {
        self.stage.subscribe()
    }

    /// Adds a batch of latencies (µs).
    pub fn record(&self, batch: &mut Vec<u64>) {
        record_into(&self.latency, batch);
    }

    /// Adds a batch of replay latencies (µs).
    pub fn record_replay(&self, batch: &mut Vec<u64>) {
        record_into(&self.replay, batch);
    }

    /// Latency percentiles in ms and the sample count.
    pub fn latency(&self) -> Latency {
        summary(&self.latency)
    }

    /// Replay latency percentiles in ms and the sample count.
    pub fn replay_latency(&self) -> Latency {
        summary(&self.replay)
    }

    /// Forgets the latencies recorded so far (a new saturation step starts).
    pub fn reset_latency(&self) {
        if let Ok(mut h) = self.latency.lock() {
            h.reset();
        }
    }

    /// How many clients have joined at least `n` times.
    pub fn joined(&self, n: u32) -> usize {
        self.progress
            .iter()
            .filter(|p| p.joins.load(Relaxed) >= n)
            .count()
    }

    /// Deliveries counted in `Measure` phases so far, all subscribers.
    pub fn delivered(&self) -> u64 {
        self.progress
            .iter()
            .map(|p| p.delivered.load(Relaxed))
            .sum()
    }
}

fn record_into(hist: &Mutex<Histogram<u64>>, batch: &mut Vec<u64>) {
    if batch.is_empty() {
        return;
    }
    if let Ok(mut h) = hist.lock() {
        for &us in batch.iter() {
            h.saturating_record(us.clamp(1, LATENCY_MAX_US));
        }
    }
    batch.clear();
}

fn summary(hist: &Mutex<Histogram<u64>>) -> Latency {
    let Ok(h) = hist.lock() else {
        return Latency::default();
    };
    if h.is_empty() {
        return Latency::default();
    }
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    Latency {
        samples: h.len(),
        p50: ms(0.5),
        p99: ms(0.99),
        p999: ms(0.999),
        max: h.max() as f64 / 1000.0,
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Latency {
    pub samples: u64,
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}
