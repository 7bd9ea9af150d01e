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

use std::sync::Arc;
use std::time::{Duration, Instant};

use roomcast_core::protocol::{Member, Payload};
use roomcast_server::engine::sqlite::{self as store, Command};
use roomcast_server::engine::{JoinCmd, Origin, PublishCmd};
use roomcast_server::hub::Hub;
use roomcast_server::outbound::{ConnControl, Outbound, Outgoing};
use tokio::sync::mpsc;

const MESSAGES: u64 = 20_000;
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

/// A connection's outbound queue and the task that drains it; the task returns how many
/// frames it took.
fn connection(conn: u64) -> (Outbound, tokio::task::JoinHandle<u64>) {
    let (tx, mut rx) = mpsc::channel(1 << 16);
    let out = Outbound::new(conn, tx, Arc::new(ConnControl::default()));
    let drain = tokio::spawn(async move {
        let mut frames = 0;
        while let Some(item) = rx.recv().await {
            frames += match item {
                Outgoing::Frame(_) => 1,
                Outgoing::Frames(v) => v.len() as u64,
                Outgoing::Close(..) => break,
            };
        }
        frames
    });
    (out, drain)
}

async fn run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Arc::new(Hub::default());
    let (store, thread) = store::start(
        &dir.path().join("roomcast.db"),
        Arc::clone(&hub),
        1000,
        Duration::ZERO,
    )
    .expect("store");
    let mut publishers = Vec::new();
    let mut drains = Vec::new();
    let mut conn = 0;
    for room in 0..ROOMS {
        for n in 0..=LISTENERS {
            conn += 1;
            let (out, drain) = connection(conn);
            store
                .send(Command::Join(JoinCmd {
                    ref_id: 1,
                    room: format!("room-{room}"),
                    since: None,
                    epoch: None,
                    member: member(&format!("u{conn}")),
                    out: out.clone(),
                }))
                .await
                .expect("join");
            if n == 0 {
                publishers.push(out);
            }
            drains.push(drain);
        }
    }
    store.barrier().await.expect("joined");
    let data = Payload::from_json(
        r#"{"role":"user","content":"Hello, this is a typical short chat line."}"#.to_string(),
    )
    .expect("json");
    let started = Instant::now();
    for i in 0..MESSAGES {
        let room = i % ROOMS;
        let out = publishers[room as usize].clone();
        store
            .send(Command::Publish(PublishCmd {
                room: format!("room-{room}"),
                id: format!("0193a0c4-0000-7000-8000-{i:012}"),
                event: "chat.message".into(),
                data: data.clone(),
                from: member(&format!("u{}", room * (LISTENERS + 1) + 1)),
                origin: Origin::Ws { ref_id: i + 2, out },
            }))
            .await
            .expect("publish");
        if i % WINDOW == WINDOW - 1 {
            store.barrier().await.expect("window");
        }
    }
    store.barrier().await.expect("stored");
    let elapsed = started.elapsed();
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

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}
