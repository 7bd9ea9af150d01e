//! The churn scenario: at a fixed rate, every connection is closed on purpose about every
//! `--churn-every` seconds and stays offline about `--churn-offline` seconds while the
//! others keep publishing. What it measures is recovery: the share of owed deliveries that
//! arrive (each message to each subscriber exactly once; repeats counted apart), and how
//! long a reconnected client waits for what it missed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::Args;
use crate::client::Churn;
use crate::error::BenchError;
use crate::fleet::{Fleet, Peers};
use crate::results::ChurnResult;
use crate::shared::Phase;
use crate::target::Target;

/// Runs the churn against `target`.
pub async fn churn(
    args: &Args,
    target: Target,
    base: Instant,
    peers: &Peers,
) -> Result<ChurnResult, BenchError> {
    let rooms = args.rooms();
    eprintln!(
        "== churn {}: {} connections, {rooms} rooms, {} msg/s, {} s, closed every ~{} s for ~{} s",
        target.name(),
        args.connections,
        args.rate,
        args.duration(),
        args.churn_every,
        args.churn_offline
    );
    let plan = Churn {
        every: Duration::from_secs_f64(args.churn_every),
        offline: Duration::from_secs_f64(args.churn_offline),
    };
    let per_room_rate = args.rate as f64 / rooms as f64;
    let fleet = Fleet::start(args, target, base, per_room_rate, Some(plan), peers).await?;
    let shared = Arc::clone(&fleet.shared);
    shared.set_phase(Phase::Warmup);
    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    let started = Instant::now();
    shared.set_phase(Phase::Measure);
    tokio::time::sleep(Duration::from_secs_f64(args.duration())).await;
    let measured_s = started.elapsed().as_secs_f64();
    shared.set_phase(Phase::Drain);
    let drained = fleet.drain(Duration::from_secs(args.drain_limit)).await;
    let (published, expected, delivered) = (fleet.published(), fleet.expected(), fleet.distinct());
    let connections = shared.progress.len();
    let total = fleet.finish().await;
    let latency = shared.latency();
    let replay = shared.replay_latency();
    let result = ChurnResult {
        server: target.key().into(),
        name: target.name().into(),
        connections,
        offered_per_s: args.rate as f64,
        measured_s,
        published,
        expected,
        delivered,
        delivery_pct: if expected > 0 {
            100.0 * delivered as f64 / expected as f64
        } else {
            f64::NAN
        },
        lost: expected.saturating_sub(delivered),
        dups: total.dups,
        forced_closes: shared
            .forced_closes
            .load(std::sync::atomic::Ordering::Relaxed),
        disconnects: total.disconnects,
        resent: total.resent,
        replays: target.replays(),
        replay_samples: replay.samples,
        replay_p50_ms: replay.p50,
        replay_p99_ms: replay.p99,
        p50_ms: latency.p50,
        p99_ms: latency.p99,
        drain_ms: drained.took.as_secs_f64() * 1e3,
        seq_errors: total.seq_errors,
        refused: total.refused,
        first_error: total.first_error,
    };
    eprintln!(
        "   delivered {:.3}% ({} lost, {} duplicates), {} forced closes, replay p99 {:.0} ms; \
         drain {:.0} ms, {} clients offline and {} publishes unacked at its end",
        result.delivery_pct,
        result.lost,
        result.dups,
        result.forced_closes,
        result.replay_p99_ms,
        result.drain_ms,
        drained.offline,
        drained.unacked
    );
    Ok(result)
}
