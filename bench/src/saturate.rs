//! The saturation scenario: one server, its clients connected once, and the offered rate
//! stepped up geometrically until delivery falls behind. Each step warms up, measures a
//! window, then stops publishing and drains: what arrives during the drain was backlog, what
//! never arrives is lost, so a server that is merely behind is not counted as losing.
//!
//! A step is sustained when, in its window, the deliveries reach 95% of what the offered rate
//! owes, the backlog grows by less than 10% of the window's deliveries, p99 stays under the
//! bound, and the drain loses nothing. The server's maximum is the highest sustained step.

use std::time::{Duration, Instant};

use crate::args::Args;
use crate::error::BenchError;
use crate::fleet::{Fleet, Peers};
use crate::procfs;
use crate::results::{Saturation, Step};
use crate::shared::Phase;
use crate::target::Target;

/// Share of the owed deliveries a sustained step must make in its window.
const DELIVERED_SHARE: f64 = 0.95;
/// Growth of the backlog over the window, as a share of the window's owed deliveries, past
/// which the server is falling behind.
const BACKLOG_SHARE: f64 = 0.10;

/// Steps `target` up to its ceiling.
pub async fn saturate(
    args: &Args,
    target: Target,
    base: Instant,
    peers: &Peers,
) -> Result<Saturation, BenchError> {
    let rooms = args.rooms();
    eprintln!(
        "== saturate {}: {} connections, {rooms} rooms, from {} msg/s ×{} per step",
        target.name(),
        args.connections,
        args.start_rate,
        args.step_factor
    );
    let start_rate = args.start_rate as f64;
    let fleet = Fleet::start(args, target, base, start_rate / rooms as f64, None, peers).await?;
    let shared = std::sync::Arc::clone(&fleet.shared);
    let subscribers = fleet.subscribers();
    let self_pid = std::process::id();
    let mut steps: Vec<Step> = Vec::new();
    let mut rate = start_rate;
    let (mut lost_before, mut dups_before) = (0u64, 0u64);
    for _ in 0..args.max_steps {
        if rate > args.max_rate as f64 {
            break;
        }
        shared.reset_latency();
        shared.set_stage(Phase::Warmup, rate / rooms as f64);
        tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;

        let (d0, b0, p0) = (shared.delivered(), fleet.backlog(), fleet.published());
        let (cpu0, gen0) = (
            procfs::cpu_seconds(fleet.pid)?,
            procfs::cpu_seconds(self_pid)?,
        );
        let started = Instant::now();
        shared.set_phase(Phase::Measure);
        tokio::time::sleep(Duration::from_secs_f64(args.duration())).await;
        let measured = started.elapsed().as_secs_f64();
        let (d1, b1, p1) = (shared.delivered(), fleet.backlog(), fleet.published());
        let (cpu1, gen1) = (
            procfs::cpu_seconds(fleet.pid)?,
            procfs::cpu_seconds(self_pid)?,
        );

        shared.set_phase(Phase::Drain);
        let drained = fleet.drain(Duration::from_secs(args.drain_limit)).await;
        let latency = shared.latency();
        let lost_total = fleet.backlog();
        let dups_total = dups(&fleet);
        let (lost, dup) = (
            lost_total.saturating_sub(lost_before),
            dups_total.saturating_sub(dups_before),
        );
        (lost_before, dups_before) = (lost_total, dups_total);

        let expected_per_s = rate * subscribers as f64 / rooms as f64;
        let delivered = d1.saturating_sub(d0);
        let delivered_per_s = delivered as f64 / measured;
        let growth = b1 as f64 - b0 as f64;
        let mut why = Vec::new();
        if delivered_per_s < DELIVERED_SHARE * expected_per_s {
            why.push(format!(
                "delivered {:.0}% of the offered deliveries",
                100.0 * delivered_per_s / expected_per_s
            ));
        }
        if growth > BACKLOG_SHARE * expected_per_s * measured {
            why.push(format!("backlog grew by {growth:.0}"));
        }
        if latency.p99 > args.p99_bound_ms {
            why.push(format!(
                "p99 {:.0} ms over {} ms",
                latency.p99, args.p99_bound_ms
            ));
        }
        if lost > 0 {
            why.push(format!("{lost} deliveries lost"));
        }
        let sustained = why.is_empty();
        let step = Step {
            offered_per_s: rate,
            published_per_s: p1.saturating_sub(p0) as f64 / measured,
            expected_per_s,
            delivered_per_s,
            p50_ms: latency.p50,
            p99_ms: latency.p99,
            p99_9_ms: latency.p999,
            max_ms: latency.max,
            latency_samples: latency.samples,
            cpu_ms_per_1000: per_1000(cpu1 - cpu0, delivered),
            measured_s: measured,
            server_cpu_s: cpu1 - cpu0,
            generator_cpu_s: gen1 - gen0,
            backlog_start: b0,
            backlog_end: b1,
            drain_ms: drained.took.as_secs_f64() * 1e3,
            drained: drained.complete,
            lost,
            dups: dup,
            sustained,
            verdict: if sustained {
                "sustained".into()
            } else {
                why.join("; ")
            },
            load_avg: procfs::load_average(),
        };
        eprintln!(
            "   {:>7.0} msg/s offered: {:>8.0} deliveries/s ({:.0}% of owed), p99 {:.1} ms, \
             cpu {:.2} ms/1000, drain {:.0} ms, lost {} → {}",
            step.offered_per_s,
            step.delivered_per_s,
            100.0 * step.delivered_per_s / step.expected_per_s,
            step.p99_ms,
            step.cpu_ms_per_1000,
            step.drain_ms,
            step.lost,
            step.verdict
        );
        steps.push(step);
        if !sustained {
            break;
        }
        rate *= args.step_factor;
    }
    let rss_per_conn_kib = fleet.rss_per_conn() / 1024.0;
    let (connections, rooms) = (shared.progress.len(), fleet.rooms);
    let total = fleet.finish().await;
    let best = steps.iter().rev().find(|s| s.sustained);
    Ok(Saturation {
        server: target.key().into(),
        name: target.name().into(),
        connections,
        rooms,
        subscribers,
        max_delivered_per_s: best.map(|s| s.delivered_per_s),
        max_offered_per_s: best.map(|s| s.offered_per_s),
        p50_ms: best.map(|s| s.p50_ms),
        p99_ms: best.map(|s| s.p99_ms),
        p99_9_ms: best.map(|s| s.p99_9_ms),
        cpu_ms_per_1000: best.map(|s| s.cpu_ms_per_1000),
        rss_per_conn_kib,
        disconnects: total.disconnects,
        refused: total.refused,
        first_error: total.first_error,
        steps,
    })
}

/// Duplicate deliveries so far, all subscribers.
fn dups(fleet: &Fleet) -> u64 {
    use std::sync::atomic::Ordering::Relaxed;
    fleet
        .shared
        .progress
        .iter()
        .map(|p| p.dups.load(Relaxed))
        .sum()
}

/// CPU milliseconds per 1000 deliveries: the cost of the work, whatever the rate.
fn per_1000(cpu_s: f64, deliveries: u64) -> f64 {
    if deliveries > 0 {
        cpu_s * 1e6 / deliveries as f64
    } else {
        f64::NAN
    }
}
