//! What the controller and the client tasks share: the phase of the run, each client's
//! progress (atomics the controller polls to decide "all joined" and "all caught up"), and the
//! latency histogram.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Instant;

use hdrhistogram::Histogram;
use tokio::sync::{watch, Semaphore};

use crate::error::BenchError;

/// Where a run is. Clients publish only in `Warmup` and `Measure`, and count deliveries and
/// latencies only in `Measure`.
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
    /// Position in the run, for [`Progress::observed`].
    pub fn rank(self) -> u8 {
        self as u8
    }

    pub fn publishing(self) -> bool {
        matches!(self, Phase::Warmup | Phase::Measure)
    }
}

/// One client's progress, written by its task and read by the controller.
#[derive(Debug, Default)]
pub struct Progress {
    /// Completed joins: 1 after the first, one more after each reconnect.
    pub joins: AtomicU32,
    /// Subscriber: messages received in order without a gap (the next expected `k`).
    pub received: AtomicU64,
    /// Subscriber: highest `seq` seen. Publisher: highest `seq` acked (the room's head).
    pub seq: AtomicU64,
    /// Publisher: messages generated.
    pub sent: AtomicU64,
    /// Publisher: messages not yet acked.
    pub pending: AtomicU64,
    /// The latest phase the client's task has acted on ([`Phase::rank`]). Written after
    /// `sent`, so once it shows a non-publishing phase, `sent` is final.
    pub observed: AtomicU8,
}

/// Latencies are batched per client before they take the shared lock.
pub const LATENCY_BATCH: usize = 256;
/// Histogram bounds: 1 µs to 60 s at three significant digits.
const LATENCY_MAX_US: u64 = 60_000_000;

/// State shared by one server's run.
pub struct Shared {
    phase: watch::Sender<Phase>,
    pub progress: Vec<Progress>,
    latency: Mutex<Histogram<u64>>,
    base: Instant,
    /// Limits connection attempts in flight (the server's accept backlog is finite).
    pub connect_gate: Semaphore,
}

impl Shared {
    pub fn new(
        clients: usize,
        base: Instant,
        connect_concurrency: usize,
    ) -> Result<Self, BenchError> {
        let hist = Histogram::new_with_bounds(1, LATENCY_MAX_US, 3)
            .map_err(|e| BenchError::Options(format!("latency histogram: {e}")))?;
        Ok(Self {
            phase: watch::Sender::new(Phase::Connect),
            progress: (0..clients).map(|_| Progress::default()).collect(),
            latency: Mutex::new(hist),
            base,
            connect_gate: Semaphore::new(connect_concurrency),
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

    pub fn set_phase(&self, phase: Phase) {
        self.phase.send_replace(phase);
    }

    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    pub fn watch_phase(&self) -> watch::Receiver<Phase> {
        self.phase.subscribe()
    }

    /// Adds a batch of latencies (µs).
    pub fn record(&self, batch: &mut Vec<u64>) {
        if batch.is_empty() {
            return;
        }
        if let Ok(mut h) = self.latency.lock() {
            for &us in batch.iter() {
                h.saturating_record(us.clamp(1, LATENCY_MAX_US));
            }
        }
        batch.clear();
    }

    /// Latency percentiles in ms and the sample count.
    pub fn latency(&self) -> Latency {
        let Ok(h) = self.latency.lock() else {
            return Latency::default();
        };
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Latency {
            samples: h.len(),
            p50: ms(0.5),
            p99: ms(0.99),
            p999: ms(0.999),
            max: h.max() as f64 / 1000.0,
        }
    }

    /// How many clients have joined at least `n` times.
    pub fn joined(&self, n: u32) -> usize {
        self.progress
            .iter()
            .filter(|p| p.joins.load(Relaxed) >= n)
            .count()
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct Latency {
    pub samples: u64,
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}
