//! Cost per append on the SQLite store thread along one long streamed reply: one stream of
//! 20 000 appends (40 bytes each, 800 KB of text), sent in windows of 1000 pipelined appends
//! (so they group-commit as a busy producer's would), each answered before the next window.
//! Folding is done when reading, so an append's cost must not grow with the text before it:
//! the first and the last windows should cost the same. Prints wall and process CPU time per
//! window, then the cost of one read that folds the whole reply (HTTP/WS history).
//!
//! Then the same reply through the Redis engine (`--redis`, a throwaway `redis-server`; the
//! part is skipped when none is installed): appends one after another (each is one script
//! run), with Redis's own time per script call (`INFO commandstats`) per window, which must
//! stay flat too (the text grows by `APPEND`, never reread), and one folding history read.
//!
//! ```sh
//! cargo bench -p roomcast-server --bench stream_appends
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use roomcast_core::protocol::{Member, Payload};
use roomcast_server::engine::redis::{RedisEngine, RedisSettings};
use roomcast_server::engine::sqlite::{self as store, Command, ReadPool};
use roomcast_server::engine::{AppendCmd, AppendOp, Origin, PublishCmd, StreamLimits};
use roomcast_server::hub::Hub;
use tokio::sync::oneshot;

#[allow(dead_code)]
#[path = "../tests/redis_server/mod.rs"]
mod redis_server;

const APPENDS: u64 = 20_000;
const WINDOW: u64 = 1000;
const ROOM: &str = "bench-room";
const ID: &str = "0194a0c4-0000-7000-8000-000000000001";

fn member() -> Member {
    Member {
        user: "assistant".into(),
        client: "assistant-c".into(),
        source: "bench".into(),
        name: None,
    }
}

/// Nanoseconds the store thread (`roomcast-store`) has run on a CPU, from its
/// `/proc/self/task/<tid>/schedstat` (Linux); `None` elsewhere.
fn store_cpu_ns() -> Option<u64> {
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == "roomcast-store" {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            return stat.split_whitespace().next()?.parse().ok();
        }
    }
    None
}

async fn run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("roomcast.db");
    let hub = Arc::new(Hub::default());
    let limits = StreamLimits {
        max_bytes: 1 << 20,
        idle_ms: 300_000,
    };
    let (store, thread) =
        store::start(&path, Arc::clone(&hub), 1000, Duration::ZERO, limits).expect("store");
    let (tx, rx) = oneshot::channel();
    store
        .send(Command::Publish(PublishCmd {
            room: ROOM.into(),
            id: ID.into(),
            event: "assistant.reply".into(),
            data: Payload::from_json("{\"role\":\"assistant\"}".to_string()).expect("json"),
            from: member(),
            stream: true,
            origin: Origin::Http(tx),
        }))
        .await
        .expect("send");
    rx.await.expect("answer").expect("stored");
    let piece = "0123456789 abcdefghij klmnopqrst uvwxyz ";
    assert_eq!(piece.len(), 40);
    let mut windows = Vec::new();
    for w in 0..APPENDS / WINDOW {
        let started = Instant::now();
        let cpu = store_cpu_ns();
        let mut answers = Vec::with_capacity(WINDOW as usize);
        for i in 0..WINDOW {
            let (tx, rx) = oneshot::channel();
            store
                .send(Command::Append(AppendCmd {
                    room: ROOM.into(),
                    id: ID.into(),
                    op: AppendOp::Append {
                        n: w * WINDOW + i,
                        text: piece.into(),
                        end: None,
                    },
                    from: member(),
                    origin: Origin::Http(tx),
                }))
                .await
                .expect("send");
            answers.push(rx);
        }
        for rx in answers {
            let stored = rx.await.expect("answer").expect("stored");
            assert!(!stored.duplicate);
        }
        let wall = started.elapsed();
        // Store thread CPU per append, in µs.
        let cpu_us = cpu
            .zip(store_cpu_ns())
            .map(|(a, b)| (b - a) as f64 / 1e3 / WINDOW as f64);
        windows.push((wall, cpu_us));
        println!(
            "appends {:>6}..{:>6}: {:>7.1} µs/append wall, {:>6} µs/append store-thread CPU",
            w * WINDOW,
            (w + 1) * WINDOW,
            wall.as_secs_f64() * 1e6 / WINDOW as f64,
            cpu_us.map_or("?".to_string(), |c| format!("{c:.1}")),
        );
    }
    let show = |w: Option<&(Duration, Option<f64>)>| {
        w.map_or(String::from("?"), |(wall, cpu)| {
            format!(
                "{:.1} µs wall, {} µs store-thread CPU",
                wall.as_secs_f64() * 1000.0,
                cpu.map_or("?".to_string(), |c| format!("{c:.1}"))
            )
        })
    };
    println!(
        "per append: first 1000: {}; last 1000: {}",
        show(windows.first()),
        show(windows.last())
    );
    let reads = ReadPool::new(path);
    let started = Instant::now();
    let page = tokio::task::spawn_blocking(move || reads.history(ROOM, Some(2), 1))
        .await
        .expect("task")
        .expect("history");
    let text = page.messages[0].stream.as_ref().map_or(0, |s| s.text.len());
    println!(
        "one history read folding the reply ({} appends, {text} bytes): {:.1} ms",
        APPENDS,
        started.elapsed().as_secs_f64() * 1000.0
    );
    let _ = store.send(Command::Shutdown).await;
    drop(store);
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
}

/// Redis's total time in script calls and their count so far (`INFO commandstats`).
fn script_stats(redis: &redis::Client) -> (u64, u64) {
    let mut conn = redis.get_connection().expect("redis connection");
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut conn)
        .expect("INFO");
    let (mut calls, mut usec) = (0, 0);
    for line in info.lines() {
        let Some(rest) = line
            .strip_prefix("cmdstat_evalsha:")
            .or_else(|| line.strip_prefix("cmdstat_eval:"))
        else {
            continue;
        };
        for field in rest.split(',') {
            match field.split_once('=') {
                Some(("calls", v)) => calls += v.parse::<u64>().unwrap_or(0),
                Some(("usec", v)) => usec += v.parse::<u64>().unwrap_or(0),
                _ => {}
            }
        }
    }
    (calls, usec)
}

async fn run_redis() {
    if std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
        && std::env::var_os("ROOMCAST_REDIS_SERVER").is_none()
    {
        println!("redis: no redis-server installed, skipped");
        return;
    }
    let server = redis_server::Redis::start();
    let engine = RedisEngine::start(RedisSettings {
        url: server.url.clone(),
        replay_limit: 1000,
        presence_ttl_ms: 30_000,
        held_cap: 1 << 16,
        limits: StreamLimits {
            max_bytes: 1 << 20,
            idle_ms: 300_000,
        },
        retention: Default::default(),
        trims: Default::default(),
    })
    .await
    .expect("redis engine");
    let stats = redis::Client::open(server.url.as_str()).expect("client");
    let (tx, rx) = oneshot::channel();
    engine
        .publish(PublishCmd {
            room: ROOM.into(),
            id: ID.into(),
            event: "assistant.reply".into(),
            data: Payload::from_json("{\"role\":\"assistant\"}".to_string()).expect("json"),
            from: member(),
            stream: true,
            origin: Origin::Http(tx),
        })
        .await;
    rx.await.expect("answer").expect("stored");
    let piece = "0123456789 abcdefghij klmnopqrst uvwxyz ";
    let mut windows = Vec::new();
    for w in 0..APPENDS / WINDOW {
        let started = Instant::now();
        let before = script_stats(&stats);
        for i in 0..WINDOW {
            let (tx, rx) = oneshot::channel();
            engine
                .append(AppendCmd {
                    room: ROOM.into(),
                    id: ID.into(),
                    op: AppendOp::Append {
                        n: w * WINDOW + i,
                        text: piece.into(),
                        end: None,
                    },
                    from: member(),
                    origin: Origin::Http(tx),
                })
                .await;
            let stored = rx.await.expect("answer").expect("stored");
            assert!(!stored.duplicate);
        }
        let wall = started.elapsed();
        let after = script_stats(&stats);
        let calls = after.0.saturating_sub(before.0).max(1);
        let script_us = after.1.saturating_sub(before.1) as f64 / calls as f64;
        windows.push((wall, script_us));
        println!(
            "redis appends {:>6}..{:>6}: {:>7.1} µs/append wall, {:>5.1} µs/append in the script",
            w * WINDOW,
            (w + 1) * WINDOW,
            wall.as_secs_f64() * 1e6 / WINDOW as f64,
            script_us,
        );
    }
    let show = |w: Option<&(Duration, f64)>| {
        w.map_or(String::from("?"), |(wall, script)| {
            format!(
                "{:.1} µs wall, {script:.1} µs in the script",
                wall.as_secs_f64() * 1e6 / WINDOW as f64
            )
        })
    };
    println!(
        "redis per append: first 1000: {}; last 1000: {}",
        show(windows.first()),
        show(windows.last())
    );
    let started = Instant::now();
    let page = engine.history(ROOM, Some(2), 1).await.expect("history");
    let text = page.messages[0].stream.as_ref().map_or(0, |s| s.text.len());
    println!(
        "redis: one history read folding the reply ({} appends, {text} bytes): {:.1} ms",
        APPENDS,
        started.elapsed().as_secs_f64() * 1000.0
    );
    engine.shutdown();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
    runtime.block_on(run_redis());
}
