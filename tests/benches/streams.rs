//! Streamed replies under load, against the same pieces sent as plain messages: `ROOMS` rooms
//! (default 100), each with one writer sending `RATE` pieces a second (default 50) for
//! `SECONDS` (default 10) and `READERS` readers (default 10). For each mode: server CPU per
//! piece (the server process's user + system time, from /proc), writer-to-reader latency p50
//! and p99 (each piece carries its send time), and bytes the server's data directory grew
//! per piece. Then one reply of 20 000 pieces from one writer, timed in thousands, to show
//! that an append costs the same at the end of a long reply as at its start (the server folds
//! nothing per append).
//!
//! `cargo bench -p roomcast-e2e --bench streams` (about a minute at the defaults; the
//! variables above scale it). Linux only (reads /proc). The server is the release
//! `roomcast-server` binary on loopback with its rate limits off; the clients run in this
//! process, so on a small machine they compete with the server for CPU: compare the modes
//! with each other, measured in the same run.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use roomcast_core::{Client, RoomEvent};
use serde_json::json;

const SECRET: &str = "bench-secret";

fn var(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(data: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_e2e-server"))
            .args(["--listen", "127.0.0.1:0", "--jwt-secret", SECRET, "--data"])
            .arg(data)
            .args(["--publish-rate", "0", "--user-rate", "0"])
            .args(["--max-conns-per-ip", "0", "--max-sockets-per-ip", "0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start roomcast-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let addr = loop {
            let line = lines.next().expect("address").expect("stdout");
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            url: format!("ws://{addr}/ws"),
        }
    }

    /// The server process's CPU time so far (user + system).
    fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).expect("/proc stat");
        // Fields after the command name (which is in parentheses): utime is the 14th field.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: u64 =
            fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
        // Linux reports CPU times in clock ticks of 100 Hz (USER_HZ).
        Duration::from_millis(ticks * 10)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn token(user: &str) -> String {
    roomcast_server::auth::mint(
        SECRET,
        &roomcast_server::auth::Claims {
            sub: user.into(),
            exp: Some(4_000_000_000),
            rooms: None,
        },
    )
    .expect("token")
}

fn client(url: &str, user: &str) -> Client {
    Client::builder(url)
        .token(token(user))
        .client_id(user.to_owned())
        .source("bench")
        .build()
        .expect("client")
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Stream,
    Plain,
}

/// One mode's run: pieces delivered, latencies, server CPU and bytes stored.
async fn run(
    server: &Server,
    data: &Path,
    mode: Mode,
    rooms: u64,
    readers: u64,
    rate: u64,
    secs: u64,
) {
    let tag = if mode == Mode::Stream { "s" } else { "p" };
    let epoch = Instant::now();
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let mut clients = Vec::new();
    for r in 0..rooms {
        for k in 0..readers {
            let c = client(&server.url, &format!("{tag}-reader-{r}-{k}"));
            let room = c.room(&format!("{tag}-room-{r}"));
            let lat = latencies.clone();
            room.on_event(move |event| {
                let text = match event {
                    RoomEvent::Append(a) => a.text.clone(),
                    RoomEvent::Message(m) if m.event == "piece" => {
                        m.data.decode::<String>().unwrap_or_default()
                    }
                    _ => return,
                };
                if let Some(micros) = text.strip_suffix(' ').and_then(|t| t.parse::<u64>().ok()) {
                    let sent = Duration::from_micros(micros);
                    if let Ok(mut l) = lat.lock() {
                        l.push(epoch.elapsed().saturating_sub(sent));
                    }
                }
            })
            .detach();
            room.join().await.expect("reader join");
            clients.push(c);
        }
    }
    let data_before = dir_bytes(data);
    let cpu_before = server.cpu();
    let started = Instant::now();
    let mut writers = Vec::new();
    for r in 0..rooms {
        let url = server.url.clone();
        writers.push(tokio::spawn(async move {
            let c = client(&url, &format!("{tag}-writer-{r}"));
            let room = c
                .join(&format!("{tag}-room-{r}"))
                .await
                .expect("writer join");
            let writer = (mode == Mode::Stream).then(|| {
                room.stream("assistant.reply", &json!({"role": "assistant"}))
                    .expect("stream")
            });
            let mut acks = FuturesUnordered::new();
            let interval = Duration::from_secs_f64(1.0 / rate as f64);
            let start = tokio::time::Instant::now() + Duration::from_millis(r % 20);
            for i in 0..rate * secs {
                tokio::time::sleep_until(start + interval * i as u32).await;
                let text = format!("{} ", epoch.elapsed().as_micros());
                match &writer {
                    Some(w) => acks.push(Box::pin(w.append(text))
                        as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>),
                    None => acks.push(Box::pin(room.publish("piece", &text))),
                }
                while let Some(Some(_)) = futures_util::FutureExt::now_or_never(acks.next()) {}
            }
            while acks.next().await.is_some() {}
            if let Some(w) = writer {
                let _ = w.finish().await;
            }
            c.close().await.expect("close");
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    // Let the last pieces reach the readers.
    let expected = (rooms * readers * rate * secs) as usize;
    let deadline = Instant::now() + Duration::from_secs(30);
    while latencies.lock().map(|l| l.len()).unwrap_or(0) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    let cpu = server.cpu().saturating_sub(cpu_before);
    let pieces = rooms * rate * secs;
    let stored = dir_bytes(data).saturating_sub(data_before);
    let mut lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort_unstable();
    println!(
        "| {} | {pieces} | {}/{} | {:.1} | {} | {} | {:.0} | {:.1} |",
        if mode == Mode::Stream {
            "stream appends"
        } else {
            "plain messages"
        },
        lat.len(),
        expected,
        cpu.as_secs_f64() * 1e6 / pieces as f64,
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99)),
        stored as f64 / pieces as f64,
        elapsed.as_secs_f64(),
    );
    for c in clients {
        let _ = c.close().await;
    }
}

/// One long reply: the time of each thousand appends (pipelined, 200 in flight).
async fn long_reply(server: &Server, pieces: u64) {
    let c = client(&server.url, "long-writer");
    let room = c.join("long-room").await.expect("join");
    let w = room.stream("assistant.reply", &json!({})).expect("stream");
    let mut in_flight = FuturesUnordered::new();
    let mut marks = Vec::new();
    let mut last = Instant::now();
    for i in 0..pieces {
        while in_flight.len() >= 200 {
            let ack: Result<roomcast_core::PublishAck, roomcast_core::Error> =
                in_flight.next().await.expect("ack");
            ack.expect("acked");
        }
        in_flight.push(w.append(format!("word{i} ")));
        if (i + 1) % 1000 == 0 {
            marks.push(last.elapsed());
            last = Instant::now();
        }
    }
    while let Some(ack) = in_flight.next().await {
        ack.expect("acked");
    }
    let _ = w.finish().await;
    let first = marks.first().copied().unwrap_or_default();
    let end = marks.last().copied().unwrap_or_default();
    println!(
        "one reply of {pieces} pieces: first thousand {} ms, last thousand {} ms (ratio {:.2})",
        ms(first),
        ms(end),
        end.as_secs_f64() / first.as_secs_f64().max(1e-9)
    );
    c.close().await.expect("close");
}

fn main() {
    let (rooms, readers, rate, secs) = (
        var("ROOMS", 100),
        var("READERS", 10),
        var("RATE", 50),
        var("SECONDS", 10),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Server::start(&data);
    println!("{rooms} rooms × ({readers} readers + 1 writer), {rate} pieces/s each for {secs} s\n");
    println!("| mode | pieces | deliveries | server CPU µs/piece | p50 ms | p99 ms | bytes stored/piece | wall s |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    runtime.block_on(async {
        run(&server, &data, Mode::Stream, rooms, readers, rate, secs).await;
        run(&server, &data, Mode::Plain, rooms, readers, rate, secs).await;
        println!();
        long_reply(&server, var("LONG", 20_000)).await;
    });
}
