//! The server's CPU per stored message, counted in instructions: 20 000 WebSocket publishes
//! through the SQLite store thread (group commit, `synchronous=FULL`), each acked to its
//! publisher and broadcast to 9 other members of its room, over 10 rooms. No sockets: the
//! connections are their outbound queues, drained by tasks, so what is counted is the store,
//! its statements, the frame encoding and the fan-out. Run it under callgrind, which counts
//! instructions and so stays stable on a busy machine:
//!
//! ```sh
//! cargo bench -p roomcast-server --bench store_cost --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/store_cost-* run
//! ```
//!
//! Divide the instruction count by 20 000. Waiting on the disk is not CPU and is not counted;
//! `cargo bench -p roomcast-e2e --bench fanout` measures throughput over real sockets.
//!
//! `... store_cost-* redis` runs the same workload on the Redis engine: two nodes in this
//! process on one `redis-server` (found as the Redis tests find it, on a free loopback port,
//! no persistence), the publishers and half of each room's listeners on the first node, the
//! other half on the second, so every message crosses Redis to reach them. callgrind counts
//! the two nodes, not `redis-server`.
//!
//! `... store_cost-* trim` and `... store_cost-* redis-trim` run the same with retention on
//! (each room keeps its newest [`KEEP`] messages, so 90% of what is stored is trimmed during
//! the run) and wait until the trimming is done: the difference is retention's cost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use roomcast_core::protocol::{Member, Payload};
use roomcast_server::engine::redis::{RedisEngine, RedisSettings};
use roomcast_server::engine::sqlite::{self as store, Command};
use roomcast_server::engine::{JoinCmd, Origin, PublishCmd, StreamLimits};
use roomcast_server::hub::Hub;
use roomcast_server::outbound::{self, Outbound, Outgoing};
use roomcast_server::retention::{Retention, RetentionCounters, Rule};

// The tests' throwaway redis-server; this bench uses only part of it.
#[allow(dead_code)]
#[path = "../tests/redis_server/mod.rs"]
mod redis_server;
use redis_server::Redis;

const MESSAGES: u64 = 20_000;
/// Messages each room keeps in the `trim` modes.
const KEEP: u64 = 200;

/// The retention of the `trim` modes, and what it has removed.
fn retention(trim: bool) -> (Retention, Arc<RetentionCounters>) {
    let rule = if trim {
        Rule {
            max: Some(KEEP),
            ttl: None,
        }
    } else {
        Rule::KEEP_ALL
    };
    (
        Retention {
            default: rule,
            rules: Vec::new(),
        },
        Arc::default(),
    )
}

/// Waits (10 s at most) until retention removed all it should.
async fn trimmed(counters: &RetentionCounters, trim: bool) {
    if !trim {
        return;
    }
    let want = MESSAGES - KEEP * ROOMS;
    let deadline = Instant::now() + Duration::from_secs(10);
    while counters.items.load(Ordering::Relaxed) < want {
        assert!(Instant::now() < deadline, "retention did not catch up");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "retention removed {} messages in {} steps",
        counters.items.load(Ordering::Relaxed),
        counters.steps.load(Ordering::Relaxed)
    );
}
const ROOMS: u64 = 10;
/// Members per room besides the publisher.
const LISTENERS: u64 = 9;
/// Publishes in flight, as a pipelining client keeps them.
const WINDOW: u64 = 256;

fn member(user: &str) -> Member {
    Member {
        user: user.into(),
        client: format!("{user}-c"),
        source: "bench".into(),
        name: None,
    }
}

/// Message and ack frames taken from every queue so far.
static DELIVERED: AtomicU64 = AtomicU64::new(0);

/// A connection's outbound queue and the task that drains it; the task returns how many
/// frames it took, and counts message and ack frames in [`DELIVERED`].
fn connection(conn: u64) -> (Outbound, tokio::task::JoinHandle<u64>) {
    let (out, mut rx) = outbound::queue(conn, 1 << 16);
    let count = |text: &str| {
        if text.starts_with(r#"{"type":"message""#) || text.starts_with(r#"{"type":"ack""#) {
            DELIVERED.fetch_add(1, Ordering::Relaxed);
        }
    };
    let drain = tokio::spawn(async move {
        let mut frames = 0;
        while let Some(item) = rx.recv().await {
            match item {
                Outgoing::Frame(text) => {
                    count(&text);
                    frames += 1;
                }
                Outgoing::Frames(v) | Outgoing::Batch(v) => {
                    v.iter().for_each(|t| count(t));
                    frames += v.len() as u64;
                }
                Outgoing::Close(..) => break,
            }
        }
        frames
    });
    (out, drain)
}

/// The workload's connections: per room its publisher, then its listeners. Each join comes
/// with the member's place in its room (0: the publisher).
struct Members {
    joins: Vec<(u64, JoinCmd)>,
    /// Each room's publisher, by room.
    publishers: Vec<Outbound>,
    drains: Vec<tokio::task::JoinHandle<u64>>,
}

fn members() -> Members {
    let mut m = Members {
        joins: Vec::new(),
        publishers: Vec::new(),
        drains: Vec::new(),
    };
    let mut conn = 0;
    for room in 0..ROOMS {
        for n in 0..=LISTENERS {
            conn += 1;
            let (out, drain) = connection(conn);
            if n == 0 {
                m.publishers.push(out.clone());
            }
            m.drains.push(drain);
            let join = JoinCmd {
                ref_id: 1,
                room: format!("room-{room}"),
                since: None,
                epoch: None,
                member: member(&format!("u{conn}")),
                out,
            };
            m.joins.push((n, join));
        }
    }
    m
}

/// Publish number `i` of the workload, from its room's publisher `out`.
fn publish(i: u64, data: &Payload, out: Outbound) -> PublishCmd {
    let room = i % ROOMS;
    PublishCmd {
        room: format!("room-{room}"),
        id: format!("0193a0c4-0000-7000-8000-{i:012}"),
        event: "chat.message".into(),
        data: data.clone(),
        from: member(&format!("u{}", room * (LISTENERS + 1) + 1)),
        stream: false,
        origin: Origin::Ws {
            ref_id: i + 2,
            out,
            since: std::time::Instant::now(),
        },
    }
}

async fn run(trim: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Arc::new(Hub::default());
    let (retention, counters) = retention(trim);
    let (store, thread) = store::start_with_retention(
        &dir.path().join("roomcast.db"),
        Arc::clone(&hub),
        1000,
        Duration::ZERO,
        StreamLimits {
            max_bytes: 1 << 20,
            idle_ms: 300_000,
        },
        retention,
        Arc::clone(&counters),
    )
    .expect("store");
    let Members {
        joins,
        publishers,
        drains,
    } = members();
    for (_, join) in joins {
        store.send(Command::Join(join)).await.expect("join");
    }
    store.barrier().await.expect("joined");
    let data = payload();
    let started = Instant::now();
    for i in 0..MESSAGES {
        let out = publishers[(i % ROOMS) as usize].clone();
        store
            .send(Command::Publish(publish(i, &data, out)))
            .await
            .expect("publish");
        if i % WINDOW == WINDOW - 1 {
            store.barrier().await.expect("window");
        }
    }
    store.barrier().await.expect("stored");
    let elapsed = started.elapsed();
    trimmed(&counters, trim).await;
    store.send(Command::Shutdown).await.expect("shutdown");
    drop(publishers);
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    drop(hub);
    let mut frames = 0;
    for drain in drains {
        frames += drain.await.unwrap_or(0);
    }
    // Per room: its joins (a `joined` to each member, presence to earlier ones), then every
    // message acked to the publisher and delivered to each listener.
    let expected = MESSAGES * (LISTENERS + 1);
    assert!(
        frames >= expected,
        "{frames} frames, expected at least {expected}"
    );
    println!(
        "store_cost: {MESSAGES} stored messages ({} deliveries) in {elapsed:?}",
        MESSAGES * LISTENERS
    );
}

fn payload() -> Payload {
    Payload::from_json(
        r#"{"role":"user","content":"Hello, this is a typical short chat line."}"#.to_string(),
    )
    .expect("json")
}

async fn run_redis(trim: bool) {
    let server = Redis::start();
    let (retention, counters) = retention(trim);
    let settings = RedisSettings {
        url: server.url.clone(),
        replay_limit: 1000,
        presence_ttl_ms: 30_000,
        held_cap: 1 << 16,
        limits: StreamLimits {
            max_bytes: 1 << 20,
            idle_ms: 300_000,
        },
        retention,
        trims: Arc::clone(&counters),
    };
    let nodes = [
        RedisEngine::start(settings.clone()).await.expect("node 1"),
        RedisEngine::start(settings).await.expect("node 2"),
    ];
    let Members {
        joins,
        publishers,
        drains,
    } = members();
    for (n, join) in joins {
        // The publisher and the first half of the listeners on node 1, the rest on node 2.
        nodes[usize::from(n > LISTENERS / 2)].join(join).await;
    }
    let data = payload();
    let started = Instant::now();
    // One task per room, each publishing its share in order, as a connection does.
    let mut tasks = Vec::new();
    for (room, out) in publishers.iter().enumerate() {
        let node = Arc::clone(&nodes[0]);
        let out = out.clone();
        let data = data.clone();
        tasks.push(tokio::spawn(async move {
            for i in (room as u64..MESSAGES).step_by(ROOMS as usize) {
                node.publish(publish(i, &data, out.clone())).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("publisher");
    }
    // Each message reaches its 9 listeners and acks its publisher, through Redis.
    let expected = MESSAGES * (LISTENERS + 1);
    let deadline = Instant::now() + Duration::from_secs(120);
    while DELIVERED.load(Ordering::Relaxed) < expected {
        assert!(Instant::now() < deadline, "not every message arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    assert_eq!(
        DELIVERED.load(Ordering::Relaxed),
        expected,
        "a message arrived twice"
    );
    trimmed(&counters, trim).await;
    for node in &nodes {
        node.shutdown();
    }
    drop(drains);
    println!(
        "store_cost (redis, two nodes): {MESSAGES} stored messages ({} deliveries) in {elapsed:?}",
        MESSAGES * LISTENERS
    );
    drop(server);
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    match std::env::args().nth(1).as_deref() {
        Some("redis") => runtime.block_on(run_redis(false)),
        Some("redis-trim") => runtime.block_on(run_redis(true)),
        Some("trim") => runtime.block_on(run(true)),
        _ => runtime.block_on(run(false)),
    }
}
