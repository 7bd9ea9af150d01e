//! One server's run: start it, connect every client, warm up, measure, then either drain or
//! (Roomcast persisted) storm: SIGKILL the server mid-load, restart it on the same port and
//! data, and time the clients' recovery.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::Args;
use crate::error::BenchError;
use crate::fleet::{wait_until, Fleet, Peers};
use crate::procfs;
use crate::shared::{Latency, Phase};
use crate::target::Target;

/// How long publishing may take to drain after the measurement (no storm).
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// What one server did under the workload.
#[derive(Debug, Clone)]
pub struct RowResult {
    pub name: &'static str,
    pub connections: usize,
    /// Messages delivered per second during the measurement (all subscribers).
    pub delivered_per_s: f64,
    /// Length of the measurement, seconds.
    pub measured_s: f64,
    /// Messages published (generated) in the whole run.
    pub published: u64,
    pub latency: Latency,
    /// Server RSS with no client, after every client joined, and at the end of the load.
    pub rss_idle: u64,
    pub rss_connected: u64,
    pub rss_loaded: u64,
    /// Server and generator CPU seconds during the measurement.
    pub server_cpu_s: f64,
    pub generator_cpu_s: f64,
    /// Deliveries never made, or made twice, over the whole run (storm included).
    pub lost: u64,
    pub dups: u64,
    pub seq_errors: u64,
    pub refused: u64,
    /// The machine's 1-minute load average when the row started and ended.
    pub load_start: f64,
    pub load_end: f64,
    /// Connections lost outside the storm.
    pub unexpected_disconnects: u64,
    pub first_error: Option<String>,
    pub storm: Option<Storm>,
}

impl RowResult {
    /// Server RSS added per connection, bytes.
    pub fn rss_per_conn(&self) -> f64 {
        (self.rss_connected as f64 - self.rss_idle as f64) / self.connections as f64
    }
}

/// The reconnect storm's timings, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Storm {
    /// SIGKILL until the new server printed its address.
    pub restart_ms: f64,
    /// From then until half the clients had rejoined.
    pub half_ms: f64,
    /// From then until every client had rejoined.
    pub rejoined_ms: f64,
    /// From then until every publish was acked and every subscriber had every message.
    pub caught_up_ms: f64,
    /// Whether everyone caught up in time.
    pub complete: bool,
    /// Publishes in flight at the kill, re-sent after the reconnect.
    pub resent: u64,
    pub disconnects: u64,
    /// Connections the kernel dropped from a full listen queue meanwhile (machine-wide).
    pub listen_drops: Option<u64>,
}

/// Runs the workload against one server at the fixed `--rate`.
pub async fn run(
    args: &Args,
    target: Target,
    storm: bool,
    base: Instant,
    peers: &Peers,
) -> Result<RowResult, BenchError> {
    let name = target.name();
    eprintln!(
        "== {name}: {} connections, {} rooms, {} msg/s",
        args.connections,
        args.rooms(),
        args.rate
    );
    let per_room_rate = args.rate as f64 / args.rooms() as f64;
    let mut fleet = Fleet::start(args, target, base, per_room_rate, None, peers).await?;
    let pid = fleet.pid;
    let shared = Arc::clone(&fleet.shared);
    let n = args.connections;
    let limit = Duration::from_secs(args.timeout);

    shared.set_phase(Phase::Warmup);
    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    let self_pid = std::process::id();
    let (cpu0, gen0) = (procfs::cpu_seconds(pid)?, procfs::cpu_seconds(self_pid)?);
    let started = Instant::now();
    shared.set_phase(Phase::Measure);
    tokio::time::sleep(Duration::from_secs_f64(args.duration())).await;
    let measured = started.elapsed().as_secs_f64();
    let (cpu1, gen1) = (procfs::cpu_seconds(pid)?, procfs::cpu_seconds(self_pid)?);
    let rss_loaded = procfs::rss_bytes(pid)?;

    let mut storm_timing = None;
    let mut listen_drops = None;
    if storm {
        shared.set_phase(Phase::Storm);
        eprintln!("   storm: SIGKILL and restart on {}", fleet.server.addr);
        let drops_before = procfs::listen_drops();
        let killed = Instant::now();
        fleet.server.restart().await?;
        let ready = Instant::now();
        let half = wait_until(limit, || shared.joined(2) * 2 >= n)
            .await
            .then(|| ready.elapsed());
        let rejoined = wait_until(limit, || shared.joined(2) == n)
            .await
            .then(|| ready.elapsed());
        let complete = wait_until(limit, || fleet.caught_up()).await;
        let caught = ready.elapsed();
        listen_drops = drops_before
            .zip(procfs::listen_drops())
            .map(|(a, b)| b.saturating_sub(a));
        let ms = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3);
        storm_timing = Some((
            (ready - killed).as_secs_f64() * 1e3,
            ms(half),
            ms(rejoined),
            caught.as_secs_f64() * 1e3,
            complete && rejoined.is_some(),
        ));
    } else {
        shared.set_phase(Phase::Drain);
        fleet.drain(DRAIN_LIMIT).await;
    }
    shared.set_phase(Phase::Done);
    let published = fleet.published();
    let lost = fleet.backlog();
    let (rss_idle, rss_connected) = (fleet.rss_idle, fleet.rss_connected);
    let load_start = fleet.load_start;
    let total = fleet.finish().await;
    let latency = shared.latency();
    let storm = storm_timing.map(
        |(restart_ms, half_ms, rejoined_ms, caught_up_ms, complete)| Storm {
            restart_ms,
            half_ms,
            rejoined_ms,
            caught_up_ms,
            complete,
            resent: total.resent,
            disconnects: total.disconnects,
            listen_drops,
        },
    );
    let unexpected_disconnects = if storm.is_some() {
        // Every connection is lost once to the kill; more than that is unexpected.
        total.disconnects.saturating_sub(n as u64)
    } else {
        total.disconnects
    };
    Ok(RowResult {
        name,
        connections: n,
        delivered_per_s: total.delivered as f64 / measured,
        measured_s: measured,
        published,
        latency,
        rss_idle,
        rss_connected,
        rss_loaded,
        server_cpu_s: cpu1 - cpu0,
        generator_cpu_s: gen1 - gen0,
        lost,
        dups: total.dups,
        seq_errors: total.seq_errors,
        refused: total.refused,
        unexpected_disconnects,
        load_start,
        load_end: procfs::load_average(),
        first_error: total.first_error,
        storm,
    })
}
