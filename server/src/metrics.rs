//! Prometheus metrics: counters and histograms kept in atomics, written out in the text
//! exposition format (version 0.0.4) by [`render`].
//!
//! Hand-written rather than a metrics crate: a few dozen series, none with labels chosen at
//! run time except the client `source` (read from the hub when scraped), so atomics and one
//! writer are about 250 lines with no dependency, no registry and no allocation on the hot
//! path (an increment is one relaxed atomic add). The counters are per process (one server
//! per process in production; tests that read them compare before and after).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub const fn new() -> Self {
        Counter(AtomicU64::new(0))
    }
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds (seconds) of the latency histograms' buckets.
pub const LATENCY_BOUNDS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Upper bounds of the batch-size histogram's buckets.
pub const SIZE_BOUNDS: [f64; 12] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0,
];

/// A histogram over fixed bucket bounds (`+Inf` added when written).
#[derive(Debug)]
pub struct Histogram<const N: usize> {
    bounds: &'static [f64; N],
    buckets: [AtomicU64; N],
    count: AtomicU64,
    /// The sum, in millionths of the unit (micro-seconds for latencies).
    sum_micros: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    pub const fn new(bounds: &'static [f64; N]) -> Self {
        Histogram {
            bounds,
            buckets: [const { AtomicU64::new(0) }; N],
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Records one value.
    pub fn observe(&self, v: f64) {
        if let Some(i) = self.bounds.iter().position(|b| v <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = (v * 1e6).clamp(0.0, u64::MAX as f64) as u64;
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Records a duration, in seconds.
    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// Every metric of the process.
#[derive(Debug)]
pub struct Metrics {
    pub joins: Counter,
    pub publishes_persisted: Counter,
    pub publishes_ephemeral: Counter,
    pub publishes_http: Counter,
    pub appends: Counter,
    pub acks: Counter,
    /// From a persisted publish or append read off a WebSocket to its ack queued.
    pub ack_latency: Histogram<14>,
    pub store_commit: Histogram<14>,
    pub store_batch: Histogram<12>,
    pub replayed: Counter,
    pub history_pages_ws: Counter,
    pub history_pages_http: Counter,
    pub slow_consumer_cuts: Counter,
    pub pauses_rate: Counter,
    pub pauses_outbound: Counter,
    pub refused_http_rate: Counter,
    pub refused_conns_per_ip: Counter,
    pub redis_round_trips: Counter,
    pub redis_errors: Counter,
    pub kicks: Counter,
}

/// The process's metrics.
pub static METRICS: Metrics = Metrics {
    joins: Counter::new(),
    publishes_persisted: Counter::new(),
    publishes_ephemeral: Counter::new(),
    publishes_http: Counter::new(),
    appends: Counter::new(),
    acks: Counter::new(),
    ack_latency: Histogram::new(&LATENCY_BOUNDS),
    store_commit: Histogram::new(&LATENCY_BOUNDS),
    store_batch: Histogram::new(&SIZE_BOUNDS),
    replayed: Counter::new(),
    history_pages_ws: Counter::new(),
    history_pages_http: Counter::new(),
    slow_consumer_cuts: Counter::new(),
    pauses_rate: Counter::new(),
    pauses_outbound: Counter::new(),
    refused_http_rate: Counter::new(),
    refused_conns_per_ip: Counter::new(),
    redis_round_trips: Counter::new(),
    redis_errors: Counter::new(),
    kicks: Counter::new(),
};

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// Counts a Redis round trip that succeeded; hands its value back (`.map(redis_ok)`).
pub fn redis_ok<T>(v: T) -> T {
    METRICS.redis_round_trips.inc();
    v
}

/// Counts a Redis round trip that failed; hands the error back (`.map_err(redis_error)`).
pub fn redis_error<E>(e: E) -> E {
    METRICS.redis_round_trips.inc();
    METRICS.redis_errors.inc();
    e
}

/// What a scrape reads besides the counters: gauges of the running server.
#[derive(Debug, Default)]
pub struct Gauges {
    pub connections_by_source: Vec<(String, usize)>,
    pub rooms: usize,
    pub retention_items: u64,
    pub retention_steps: u64,
    pub uptime_s: u64,
    pub draining: bool,
}

fn counter(out: &mut String, name: &str, help: &str, series: &[(&str, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (labels, v) in series {
        let _ = writeln!(out, "{name}{labels} {v}");
    }
}

fn gauge(out: &mut String, name: &str, help: &str, v: f64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
}

/// A label value, escaped as the text format says.
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Resident memory (bytes) and open file descriptors of this process, where the OS tells
/// (Linux `/proc`).
pub fn process_stats() -> (Option<u64>, Option<u64>) {
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * 4096);
    let fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as u64);
    (rss, fds)
}

/// The text exposition of every metric.
pub fn render(g: &Gauges) -> String {
    let m = &METRICS;
    let mut out = String::with_capacity(8192);
    let _ = writeln!(
        out,
        "# HELP roomcast_connections WebSocket connections past hello, by client source.\n\
         # TYPE roomcast_connections gauge"
    );
    for (source, n) in &g.connections_by_source {
        let _ = writeln!(
            out,
            "roomcast_connections{{source=\"{}\"}} {n}",
            label_value(source)
        );
    }
    gauge(
        &mut out,
        "roomcast_rooms",
        "Rooms with members on this node.",
        g.rooms as f64,
    );
    counter(
        &mut out,
        "roomcast_joins_total",
        "Joins answered.",
        &[("", m.joins.get())],
    );
    counter(
        &mut out,
        "roomcast_publishes_total",
        "Publishes received, by kind and transport.",
        &[
            (
                r#"{kind="persisted",via="ws"}"#,
                m.publishes_persisted.get(),
            ),
            (
                r#"{kind="ephemeral",via="ws"}"#,
                m.publishes_ephemeral.get(),
            ),
            (r#"{kind="persisted",via="http"}"#, m.publishes_http.get()),
        ],
    );
    counter(
        &mut out,
        "roomcast_appends_total",
        "Stream appends and cancels received.",
        &[("", m.appends.get())],
    );
    counter(
        &mut out,
        "roomcast_acks_total",
        "Acks of persisted publishes and appends sent over WebSocket.",
        &[("", m.acks.get())],
    );
    m.ack_latency.write(
        &mut out,
        "roomcast_ack_latency_seconds",
        "From a persisted publish or append read to its ack queued.",
    );
    m.store_commit.write(
        &mut out,
        "roomcast_store_commit_seconds",
        "SQLite group commits: time to write and commit one batch.",
    );
    m.store_batch.write(
        &mut out,
        "roomcast_store_batch_size",
        "SQLite group commits: writes per batch.",
    );
    counter(
        &mut out,
        "roomcast_replayed_items_total",
        "Messages and appends replayed to joins with since.",
        &[("", m.replayed.get())],
    );
    counter(
        &mut out,
        "roomcast_history_pages_total",
        "History pages served.",
        &[
            (r#"{via="ws"}"#, m.history_pages_ws.get()),
            (r#"{via="http"}"#, m.history_pages_http.get()),
        ],
    );
    counter(
        &mut out,
        "roomcast_slow_consumer_cuts_total",
        "Connections closed with 4008 because their outbound queue was full.",
        &[("", m.slow_consumer_cuts.get())],
    );
    counter(
        &mut out,
        "roomcast_backpressure_pauses_total",
        "Times a connection's reader paused, by reason.",
        &[
            (r#"{reason="rate"}"#, m.pauses_rate.get()),
            (r#"{reason="outbound"}"#, m.pauses_outbound.get()),
        ],
    );
    counter(
        &mut out,
        "roomcast_rate_limited_total",
        "Requests refused with 429, by what was refused.",
        &[
            (r#"{what="http_publish"}"#, m.refused_http_rate.get()),
            (r#"{what="ws_upgrade"}"#, m.refused_conns_per_ip.get()),
        ],
    );
    counter(
        &mut out,
        "roomcast_redis_round_trips_total",
        "Redis commands and scripts sent (publishes, history reads, retention, health).",
        &[("", m.redis_round_trips.get())],
    );
    counter(
        &mut out,
        "roomcast_redis_errors_total",
        "Redis commands and scripts that failed.",
        &[("", m.redis_errors.get())],
    );
    counter(
        &mut out,
        "roomcast_retention_trimmed_total",
        "Messages and appends removed by retention.",
        &[("", g.retention_items)],
    );
    counter(
        &mut out,
        "roomcast_retention_steps_total",
        "Retention steps run.",
        &[("", g.retention_steps)],
    );
    counter(
        &mut out,
        "roomcast_admin_disconnects_total",
        "Connections closed through the admin API.",
        &[("", m.kicks.get())],
    );
    gauge(
        &mut out,
        "roomcast_uptime_seconds",
        "Seconds since the server started.",
        g.uptime_s as f64,
    );
    gauge(
        &mut out,
        "roomcast_draining",
        "1 while the server shuts down.",
        if g.draining { 1.0 } else { 0.0 },
    );
    let (rss, fds) = process_stats();
    if let Some(rss) = rss {
        gauge(
            &mut out,
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            rss as f64,
        );
    }
    if let Some(fds) = fds {
        gauge(
            &mut out,
            "process_open_fds",
            "Number of open file descriptors.",
            fds as f64,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative() {
        static H: Histogram<3> = Histogram::new(&[1.0, 2.0, 4.0]);
        for v in [0.5, 1.0, 1.5, 3.0, 10.0] {
            H.observe(v);
        }
        let mut out = String::new();
        H.write(&mut out, "h", "a test");
        assert!(out.contains("h_bucket{le=\"1\"} 2\n"), "{out}");
        assert!(out.contains("h_bucket{le=\"2\"} 3\n"), "{out}");
        assert!(out.contains("h_bucket{le=\"4\"} 4\n"), "{out}");
        assert!(out.contains("h_bucket{le=\"+Inf\"} 5\n"), "{out}");
        assert!(out.contains("h_sum 16\n"), "{out}");
        assert!(out.contains("h_count 5\n"), "{out}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
