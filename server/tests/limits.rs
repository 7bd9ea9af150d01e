//! Limits shared between connections: per-user frame rate and connections per IP.

mod common;

use std::time::{Duration, Instant};

use common::{Client, Server};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_rate_is_shared_by_the_users_connections() {
    // Connections unlimited on their own; the user gets 50 frames/s (burst 100) in total.
    let s = Server::start(|c| {
        c.publish_rate = 0;
        c.user_rate = 50;
    })
    .await;
    let mut a = s.client("u1").await;
    let mut b = s.client("u1").await;
    let mut other = s.client("u2").await;
    let started = Instant::now();
    // 2 × 100 pings = 200 frames (plus the hellos) against a burst of 100 at 50/s: ~2 s.
    for r in 0..100u64 {
        a.send(json!({"type":"ping","ref":r})).await;
        b.send(json!({"type":"ping","ref":r})).await;
    }
    // Another user is not slowed by u1's bucket.
    let t = Instant::now();
    other.roundtrip(1).await;
    assert!(
        t.elapsed() < Duration::from_millis(1000),
        "{:?}",
        t.elapsed()
    );
    for r in 0..100u64 {
        assert_eq!(a.recv().await, json!({"type":"pong","ref":r}));
        assert_eq!(b.recv().await, json!({"type":"pong","ref":r}));
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1500), "took {took:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_ip_over_the_limit_get_429() {
    let s = Server::start(|c| c.max_conns_per_ip = 2).await;
    let a = s.client("u1").await;
    let _b = s.client("u2").await;
    let refused = tokio_tungstenite::connect_async(format!("ws://{}/ws", s.addr)).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 429);
            assert!(response.headers().contains_key("retry-after"));
        }
        other => panic!("expected HTTP 429, got {:?}", other.map(|_| ())),
    }
    // HTTP requests are not counted.
    let (status, _) = s.http("GET", "/health", None, None).await;
    assert_eq!(status, 200);
    // A slot comes back when a connection ends.
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match tokio_tungstenite::connect_async(format!("ws://{}/ws", s.addr)).await {
            Ok(_) => break,
            Err(e) => {
                assert!(Instant::now() < deadline, "slot not released: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_means_no_connection_limit() {
    let s = Server::start(|c| c.max_conns_per_ip = 0).await;
    let mut clients = Vec::new();
    for i in 0..20 {
        clients.push(Client::hello(s.addr, &format!("u{i}"), &s.token(&format!("u{i}"))).await);
    }
    s.stop().await;
}
