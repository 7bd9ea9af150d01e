//! Retention soak: constant publishing for many retention windows, on SQLite and on Redis;
//! what is stored (rows and file size, Redis entries and memory) must reach a plateau.
//!
//! Short by default (5 s at 2000 msg/s, a 1 s age bound: five windows). Longer:
//! `ROOMCAST_SOAK_SECS=600 cargo test --release -p roomcast-server --test retention_soak -- --nocapture`
//! (figures are printed with `--nocapture`).

mod common;
#[allow(dead_code)]
mod redis_server;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Client, Server};
use redis_server::Redis;
use roomcast_server::retention::{parse_rule, Retention};
use roomcast_server::Config;
use serde_json::json;

/// Messages per second.
const RATE: u64 = 2000;
/// Messages per burst (one burst every 1/20 s).
const BURST: u64 = RATE / 20;

fn soak_secs() -> u64 {
    std::env::var("ROOMCAST_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .max(4)
}

fn tweak(c: &mut Config) {
    c.retention = Retention {
        default: parse_rule("ttl:1s").expect("rule"),
        rules: Vec::new(),
    };
    c.publish_rate = 0;
    c.user_rate = 0;
}

/// Publishes `BURST` messages (pipelined) and reads their acks.
async fn burst(c: &mut Client, room: &str, next: &mut u64) {
    for _ in 0..BURST {
        *next += 1;
        let payload = "x".repeat(200);
        c.send(json!({"type":"publish","ref":*next,"room":room,"id":format!("id-{next}"),"event":"e","data":payload}))
            .await;
    }
    for _ in 0..BURST {
        c.expect("ack").await;
    }
}

/// Publishes at `RATE` for the soak's length, calling `sample` every 250 ms; returns the
/// samples `(elapsed s, value)`.
async fn soak(c: &mut Client, room: &str, mut sample: impl AsyncFnMut() -> u64) -> Vec<(f64, u64)> {
    let secs = soak_secs();
    let start = Instant::now();
    let mut next = 0;
    let mut samples = Vec::new();
    let mut last_sample = start;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    while start.elapsed() < Duration::from_secs(secs) {
        tick.tick().await;
        burst(c, room, &mut next).await;
        if last_sample.elapsed() >= Duration::from_millis(250) {
            last_sample = Instant::now();
            samples.push((start.elapsed().as_secs_f64(), sample().await));
        }
    }
    eprintln!(
        "published {next} messages in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    samples
}

/// The plateau: past the first two windows, no sample exceeds `bound`, and the late samples
/// do not exceed the middle ones by more than a quarter (no growth with time).
fn assert_plateau(what: &str, samples: &[(f64, u64)], bound: u64) {
    let settled: Vec<u64> = samples
        .iter()
        .filter(|(t, _)| *t >= 2.0)
        .map(|s| s.1)
        .collect();
    assert!(settled.len() >= 4, "{what}: too few samples {samples:?}");
    let half = settled.len() / 2;
    let mid = settled[..half].iter().copied().max().unwrap_or(0);
    let late = settled[half..].iter().copied().max().unwrap_or(0);
    eprintln!("{what}: middle max {mid}, late max {late}, bound {bound}; samples {samples:?}");
    assert!(
        settled.iter().all(|&v| v <= bound),
        "{what}: over {bound}: {samples:?}"
    );
    assert!(
        late <= mid + mid / 4 + 1,
        "{what}: still growing ({mid} then {late}): {samples:?}"
    );
}

fn db_rows(dir: &Path) -> u64 {
    let conn = rusqlite::Connection::open_with_flags(
        dir.join("roomcast.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open");
    conn.query_row("SELECT count(*) FROM messages", [], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .expect("count")
}

fn db_bytes(dir: &Path) -> u64 {
    ["roomcast.db", "roomcast.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_plateaus_under_constant_load() {
    let server = Server::start(tweak).await;
    let mut c = server.client("writer").await;
    c.join(1, "soak").await;
    let dir = server.dir.clone();
    let mut sizes = Vec::new();
    let rows = soak(&mut c, "soak", async || {
        sizes.push((0.0, db_bytes(&dir)));
        db_rows(&dir)
    })
    .await;
    // One window holds RATE messages; allow two and a step's lag.
    assert_plateau("sqlite rows", &rows, 2 * RATE + 1000);
    // The file reuses the pages freed by trimming.
    let sizes: Vec<(f64, u64)> = rows
        .iter()
        .map(|r| r.0)
        .zip(sizes.iter().map(|s| s.1))
        .collect();
    assert_plateau("sqlite bytes (db + wal)", &sizes, 64 << 20);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_memory_plateaus_under_constant_load() {
    let redis = Redis::start();
    let url = redis.url.clone();
    let server = Server::start(move |c| {
        tweak(c);
        c.redis_url = Some(url);
    })
    .await;
    let mut conn = redis::Client::open(redis.url.as_str())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let mut c = server.client("writer").await;
    c.join(1, "soak").await;
    let mut memory = Vec::new();
    let mut ids = Vec::new();
    let entries = soak(&mut c, "soak", async || {
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut conn)
            .await
            .expect("info");
        let used = info
            .lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0u64);
        memory.push(used);
        let hlen: u64 = redis::cmd("HLEN")
            .arg("rc:{soak}:ids")
            .query_async(&mut conn)
            .await
            .expect("hlen");
        ids.push(hlen);
        redis::cmd("XLEN")
            .arg("rc:{soak}:log")
            .query_async(&mut conn)
            .await
            .expect("xlen")
    })
    .await;
    let times: Vec<f64> = entries.iter().map(|e| e.0).collect();
    assert_plateau("redis stream entries", &entries, 2 * RATE + 1000);
    let ids: Vec<(f64, u64)> = times.iter().copied().zip(ids).collect();
    assert_plateau("redis dedup entries", &ids, 2 * RATE + 1000);
    let memory: Vec<(f64, u64)> = times.iter().copied().zip(memory).collect();
    assert_plateau("redis used_memory", &memory, 256 << 20);
    server.stop().await;
}
