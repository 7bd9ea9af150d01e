//! Server publish and fan-out throughput over loopback.
//!
//! One publisher pipelines messages into a room with S subscribers (raw WebSocket clients, so
//! the figure is the server's, not the SDK's); the clock stops when every subscriber has every
//! message. Each shape runs twice in the same process: ephemeral publishes (no store: the
//! WebSocket and fan-out path alone, the baseline) and persisted ones (SQLite, group commit,
//! acked only once durable). The ratio is the cost of durability and ordering.
//!
//! `cargo bench -p roomcast-e2e --bench fanout` (bounded: a few seconds per shape).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use roomcast_server::auth::{mint, Claims};
use roomcast_server::{serve, Config};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as Ws;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const SECRET: &str = "bench-secret";
/// Publishes in flight before the publisher waits for acks.
const WINDOW: usize = 256;
const LIMIT: Duration = Duration::from_secs(120);

async fn connect(url: &str, user: &str, room: &str) -> Socket {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let token = mint(
        SECRET,
        &Claims {
            sub: user.into(),
            exp: Some(4_000_000_000),
            rooms: None,
        },
    )
    .expect("token");
    let hello = json!({"type":"hello","ref":1,"protocol":1,"token":token,"client":{"id":user,"source":"bench"}});
    ws.send(Ws::text(hello.to_string())).await.expect("hello");
    ws.send(Ws::text(
        json!({"type":"join","ref":2,"room":room}).to_string(),
    ))
    .await
    .expect("join");
    loop {
        match ws.next().await {
            Some(Ok(Ws::Text(t))) if t.contains("\"joined\"") => return ws,
            Some(Ok(_)) => continue,
            other => panic!("join failed: {other:?}"),
        }
    }
}

/// Counts message frames until `n` have arrived.
async fn receive(mut ws: Socket, n: usize) {
    let mut got = 0;
    while got < n {
        match ws.next().await {
            Some(Ok(Ws::Text(t))) if t.contains("\"type\":\"message\"") => got += 1,
            Some(Ok(_)) => {}
            other => panic!("subscriber lost after {got}: {other:?}"),
        }
    }
}

async fn run(
    url: &str,
    room: &str,
    subscribers: usize,
    messages: usize,
    ephemeral: bool,
) -> Duration {
    let mut subs = Vec::new();
    for i in 0..subscribers {
        subs.push(connect(url, &format!("sub{i}"), room).await);
    }
    let mut publisher = connect(url, "pub", room).await;
    let receivers: Vec<_> = subs
        .into_iter()
        .map(|ws| tokio::spawn(receive(ws, messages)))
        .collect();
    let payload =
        json!({"content": "a typical chat line of about sixty bytes of text, give or take"});
    let start = Instant::now();
    let (mut sent, mut acked) = (0usize, 0usize);
    while acked < messages {
        while sent < messages && sent - acked < WINDOW {
            let frame = json!({"type":"publish","ref":sent + 10,"room":room,"id":format!("{room}-{sent}"),
                "event":"chat.message","data":payload,"ephemeral":ephemeral});
            publisher
                .feed(Ws::text(frame.to_string()))
                .await
                .expect("publish");
            sent += 1;
        }
        publisher.flush().await.expect("flush");
        match publisher.next().await {
            Some(Ok(Ws::Text(t))) if t.contains("\"type\":\"ack\"") => acked += 1,
            Some(Ok(Ws::Text(t))) if t.contains("\"type\":\"error\"") => {
                panic!("publish refused: {t}")
            }
            Some(Ok(_)) => {}
            other => panic!("publisher lost: {other:?}"),
        }
    }
    for r in receivers {
        r.await.expect("subscriber");
    }
    start.elapsed()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::new(dir.path()).with_secret(SECRET);
        // The protective limits off: this measures throughput, from one user on one address.
        config.publish_rate = 0;
        config.user_rate = 0;
        config.max_conns_per_ip = 0;
        config.outbound_queue = 1 << 16;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("ws://{}/ws", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(config, listener, async move {
            let _ = stopped.await;
        }));

        println!("| subscribers | messages | ephemeral msg/s | persisted msg/s | persisted deliveries/s | persisted / ephemeral |");
        println!("|---:|---:|---:|---:|---:|---:|");
        for (subscribers, messages) in [(1usize, 20_000usize), (10, 10_000), (100, 2_000)] {
            let e = tokio::time::timeout(LIMIT, run(&url, &format!("e{subscribers}"), subscribers, messages, true))
                .await
                .expect("bounded");
            let p = tokio::time::timeout(LIMIT, run(&url, &format!("p{subscribers}"), subscribers, messages, false))
                .await
                .expect("bounded");
            let rate = |d: Duration| messages as f64 / d.as_secs_f64();
            println!(
                "| {subscribers} | {messages} | {:.0} | {:.0} | {:.0} | {:.2} |",
                rate(e),
                rate(p),
                rate(p) * subscribers as f64,
                rate(p) / rate(e),
            );
        }
        let _ = stop.send(());
        let _ = server.await;
    });
}
