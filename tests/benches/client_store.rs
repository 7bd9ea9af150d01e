//! What the client's store costs: acked publishes per second into one room from one native
//! client, with the store off and on, and the time a group of publishes takes to become
//! durable (the journal's write + `fdatasync`).
//!
//! The server runs in this process on loopback with its rate limits off, so the client is the
//! bottleneck. Each mode runs three times, interleaved, on one server; the store lives on the
//! same disk as `target/` (not a tmpfs), so every flush reaches the device.
//!
//! `cargo bench -p roomcast-e2e --bench client_store` (bounded: about half a minute).

use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use roomcast_core::machine::{Record, StoredPublish};
use roomcast_core::{Client, FileStore, Payload};
use roomcast_server::auth::{mint, Claims};
use roomcast_server::{serve, Config};
use serde_json::json;
use tokio::net::TcpListener;

const SECRET: &str = "bench-secret";
const MESSAGES: usize = 20_000;
/// Publishes in flight: the client's default queue capacity.
const WINDOW: usize = 1000;
const LIMIT: Duration = Duration::from_secs(120);

fn token(user: &str) -> String {
    mint(
        SECRET,
        &Claims {
            sub: user.into(),
            exp: Some(4_000_000_000),
            rooms: None,
        },
    )
    .expect("token")
}

/// Publishes `MESSAGES` with `WINDOW` in flight; acked per second and each publish's
/// call-to-ack latency.
async fn run(url: &str, room: &str, store: Option<&std::path::Path>) -> (f64, Vec<Duration>) {
    let mut builder = Client::builder(url)
        .token(token("bench"))
        .client_id(format!("bench-{room}"));
    if let Some(dir) = store {
        builder = builder.store(dir);
    }
    let client = builder.build().expect("client");
    client.connect().await.expect("connect");
    let room = client.join(room).await.expect("join");
    let mut in_flight = FuturesUnordered::new();
    let mut latencies = Vec::with_capacity(MESSAGES);
    let start = Instant::now();
    for i in 0..MESSAGES {
        while in_flight.len() >= WINDOW {
            let (at, ack): (Instant, Result<_, _>) = in_flight.next().await.expect("in flight");
            ack.expect("acked");
            latencies.push(at.elapsed());
        }
        let at = Instant::now();
        let ack = room.publish("bench.message", &json!({ "i": i, "pad": "x".repeat(64) }));
        in_flight.push(async move { (at, ack.await) });
    }
    while let Some((at, ack)) = in_flight.next().await {
        ack.expect("acked");
        latencies.push(at.elapsed());
    }
    let rate = MESSAGES as f64 / start.elapsed().as_secs_f64();
    client.close().await.expect("close");
    (rate, latencies)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// Time for one group of `n` queued publishes to become durable, p50 and p99 over `rounds`.
fn durable(dir: &std::path::Path, n: usize, rounds: usize) -> (Duration, Duration) {
    let mut opened = FileStore::open(dir).expect("store");
    let data = Payload::from_json(json!({ "pad": "x".repeat(64) }).to_string()).expect("json");
    let mut times = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let group: Vec<Record> = (0..n)
            .map(|i| {
                Record::Queued(StoredPublish {
                    room: "r".into(),
                    id: format!("{round}-{i}"),
                    event: "bench.message".into(),
                    data: data.clone(),
                    stream: false,
                })
            })
            .collect();
        let at = Instant::now();
        opened.store.append(&group).expect("append");
        times.push(at.elapsed());
        let done: Vec<Record> = (0..n)
            .map(|i| Record::Done {
                room: "r".into(),
                id: format!("{round}-{i}"),
            })
            .collect();
        opened.store.append(&done).expect("append");
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

fn main() {
    let disk = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("client-store-bench");
    let _ = std::fs::remove_dir_all(&disk);
    std::fs::create_dir_all(&disk).expect("bench dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir_in(&disk).expect("server dir");
        let mut config = Config::new(dir.path()).with_secret(SECRET);
        config.publish_rate = 0;
        config.user_rate = 0;
        config.max_conns_per_ip = 0;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("ws://{}/ws", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(config, listener, async move {
            let _ = stopped.await;
        }));

        println!("| run | store | acked msg/s | call to ack p50 ms | p99 ms |");
        println!("|---:|---|---:|---:|---:|");
        let mut rates = [Vec::new(), Vec::new()];
        for round in 1..=3 {
            for (mode, on) in [("off", false), ("on", true)] {
                let store = tempfile::tempdir_in(&disk).expect("store dir");
                let room = format!("{mode}-{round}");
                let (rate, mut lat) =
                    tokio::time::timeout(LIMIT, run(&url, &room, on.then(|| store.path())))
                        .await
                        .expect("bounded");
                lat.sort();
                println!(
                    "| {round} | {mode} | {rate:.0} | {} | {} |",
                    ms(percentile(&lat, 0.5)),
                    ms(percentile(&lat, 0.99))
                );
                rates[usize::from(on)].push(rate);
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        println!(
            "\nstore on / off, mean of 3: {:.2}",
            mean(&rates[1]) / mean(&rates[0])
        );
        let _ = stop.send(());
        let _ = server.await;
    });

    println!("\n| publishes per group | durable p50 ms | p99 ms |");
    println!("|---:|---:|---:|");
    for n in [1usize, 10, 100, 1000] {
        let dir = tempfile::tempdir_in(&disk).expect("store dir");
        let (p50, p99) = durable(dir.path(), n, 200);
        println!("| {n} | {} | {} |", ms(p50), ms(p99));
    }
    let _ = std::fs::remove_dir_all(&disk);
}
