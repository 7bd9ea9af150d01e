//! One server's run: start it, connect every client, warm up, measure, then either drain or
//! (Roomcast persisted) storm: SIGKILL the server mid-load, restart it on the same port and
//! data, and time the clients' recovery.

use std::sync::atomic::Ordering::{self, Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use roomcast_server::auth::{mint, Claims};

use crate::args::Args;
use crate::client::{self, Outcome, Plan};
use crate::error::BenchError;
use crate::process::{Server, SECRET};
use crate::procfs;
use crate::shared::{Latency, Phase, Shared};
use crate::wire::{Ident, Proto};

/// How often the controller looks at the clients' progress.
const POLL: Duration = Duration::from_millis(10);
/// How long publishing may take to drain after the measurement (no storm).
const DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// How long client tasks get to finish once the run is done.
const STOP_LIMIT: Duration = Duration::from_secs(10);

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

/// Runs the workload against one server.
pub async fn run(
    args: &Args,
    proto: Proto,
    storm: bool,
    base: Instant,
) -> Result<RowResult, BenchError> {
    let name = match proto {
        Proto::Roomcast { ephemeral: false } => "Roomcast (persisted)",
        Proto::Roomcast { ephemeral: true } => "Roomcast (ephemeral)",
        Proto::SocketIo => "Socket.IO 4",
    };
    eprintln!(
        "== {name}: {} connections, {} rooms, {} msg/s",
        args.connections,
        args.rooms(),
        args.rate
    );
    let mut server = match proto {
        Proto::Roomcast { .. } => Server::roomcast(args.server_bin.as_ref()).await?,
        Proto::SocketIo => Server::socketio(&args.node, &args.socketio_dir).await?,
    };
    let pid = server.pid().ok_or(BenchError::Closed)?;
    let url = match proto {
        Proto::Roomcast { .. } => format!("ws://{}/ws", server.addr),
        Proto::SocketIo => format!("ws://{}/socket.io/?EIO=4&transport=websocket", server.addr),
    };
    let load_start = procfs::load_average();
    // Let the runtime (V8 especially) settle before the baseline.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = procfs::rss_bytes(pid)?;

    let n = args.connections;
    let shared = Arc::new(Shared::new(n, base, args.connect_concurrency)?);
    let plan = Arc::new(Plan {
        proto,
        url,
        per_room_rate: args.rate as f64 / args.rooms() as f64,
        pad: "x".repeat(args.payload),
        reconnect_min: Duration::from_millis(args.reconnect_min_ms),
        reconnect_max: Duration::from_millis(args.reconnect_max_ms),
    });
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let ident = ident(i, args.rooms(), proto)?;
        tasks.push(tokio::spawn(client::run(
            Arc::clone(&shared),
            Arc::clone(&plan),
            i,
            ident,
        )));
    }
    let limit = Duration::from_secs(args.timeout);
    let connecting = Instant::now();
    let all_joined = wait_until(limit, || shared.joined(1) == n).await;
    if !all_joined {
        shared.set_phase(Phase::Done);
        return Err(BenchError::Timeout {
            what: "every client joined",
            limit,
        });
    }
    eprintln!(
        "   {n} joined in {:.1} s",
        connecting.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = procfs::rss_bytes(pid)?;

    shared.set_phase(Phase::Warmup);
    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    let self_pid = std::process::id();
    let (cpu0, gen0) = (procfs::cpu_seconds(pid)?, procfs::cpu_seconds(self_pid)?);
    let started = Instant::now();
    shared.set_phase(Phase::Measure);
    tokio::time::sleep(Duration::from_secs_f64(args.duration)).await;
    let measured = started.elapsed().as_secs_f64();
    let (cpu1, gen1) = (procfs::cpu_seconds(pid)?, procfs::cpu_seconds(self_pid)?);
    let rss_loaded = procfs::rss_bytes(pid)?;

    let mut storm_timing = None;
    let mut listen_drops = None;
    if storm {
        shared.set_phase(Phase::Storm);
        eprintln!("   storm: SIGKILL and restart on {}", server.addr);
        let drops_before = procfs::listen_drops();
        let killed = Instant::now();
        server.restart().await?;
        let ready = Instant::now();
        let half = wait_until(limit, || shared.joined(2) * 2 >= n)
            .await
            .then(|| ready.elapsed());
        let rejoined = wait_until(limit, || shared.joined(2) == n)
            .await
            .then(|| ready.elapsed());
        let complete = wait_until(limit, || caught_up(&shared, args.rooms(), true)).await;
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
        let persisted = proto == (Proto::Roomcast { ephemeral: false });
        wait_until(DRAIN_LIMIT, || caught_up(&shared, args.rooms(), persisted)).await;
    }
    shared.set_phase(Phase::Done);

    let outcomes = collect(tasks).await;
    let latency = shared.latency();
    let mut total = Outcome::default();
    for o in &outcomes {
        total.delivered += o.delivered;
        total.dups += o.dups;
        total.gaps += o.gaps;
        total.seq_errors += o.seq_errors;
        total.resent += o.resent;
        total.disconnects += o.disconnects;
        total.refused += o.refused;
        if total.first_error.is_none() {
            total.first_error.clone_from(&o.first_error);
        }
    }
    let published: u64 = (0..args.rooms())
        .map(|r| shared.progress[r].sent.load(Relaxed))
        .sum();
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
    server.kill();
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
        lost: total.gaps + missing(&shared, args.rooms()),
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

/// Client `i`: room i mod R, publisher when it is the room's first member.
fn ident(i: usize, rooms: usize, proto: Proto) -> Result<Ident, BenchError> {
    let room_idx = i % rooms;
    let user = format!("bench-u{i}");
    let token = match proto {
        Proto::Roomcast { .. } => {
            let exp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                + 3600;
            let claims = Claims {
                sub: user.clone(),
                exp: Some(exp),
                rooms: None,
            };
            mint(SECRET, &claims).map_err(|e| BenchError::Token(e.to_string()))?
        }
        Proto::SocketIo => String::new(),
    };
    Ok(Ident {
        room: format!("r-{room_idx}"),
        room_idx,
        publisher: i < rooms,
        token,
        client_id: user,
    })
}

/// Every publish acked, and every subscriber has every message (and, persisted, the head).
fn caught_up(shared: &Shared, rooms: usize, persisted: bool) -> bool {
    let n = shared.progress.len();
    (0..rooms).all(|r| {
        let publisher = &shared.progress[r];
        // Only once the publisher has stopped is `sent` final.
        let stopped = publisher.observed.load(Ordering::Acquire) >= shared.phase().rank();
        let sent = publisher.sent.load(Relaxed);
        let head = publisher.seq.load(Relaxed);
        stopped
            && publisher.pending.load(Relaxed) == 0
            && (r + rooms..n).step_by(rooms).all(|s| {
                let sub = &shared.progress[s];
                sub.received.load(Relaxed) >= sent && (!persisted || sub.seq.load(Relaxed) >= head)
            })
    })
}

/// Messages some subscriber never received (beyond gaps already counted).
fn missing(shared: &Shared, rooms: usize) -> u64 {
    let n = shared.progress.len();
    (0..rooms)
        .map(|r| {
            let sent = shared.progress[r].sent.load(Relaxed);
            (r + rooms..n)
                .step_by(rooms)
                .map(|s| sent.saturating_sub(shared.progress[s].received.load(Relaxed)))
                .sum::<u64>()
        })
        .sum()
}

/// Polls `done` until it holds or `limit` passes; whether it held.
async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits for every client task, aborting those that do not stop in time.
async fn collect(tasks: Vec<tokio::task::JoinHandle<Outcome>>) -> Vec<Outcome> {
    let deadline = tokio::time::Instant::now() + STOP_LIMIT;
    let mut out = Vec::with_capacity(tasks.len());
    for mut task in tasks {
        match tokio::time::timeout_at(deadline, &mut task).await {
            Ok(Ok(o)) => out.push(o),
            Ok(Err(e)) => out.push(Outcome {
                first_error: Some(format!("client task: {e}")),
                ..Outcome::default()
            }),
            Err(_) => {
                task.abort();
                out.push(Outcome {
                    first_error: Some("client task did not stop".into()),
                    ..Outcome::default()
                });
            }
        }
    }
    out
}
