//! The SDK against two `roomcast-server --redis` nodes behind a fail-over TCP balancer: the
//! node a client is on dies, the client reconnects (to the other node), rejoins with its
//! since/epoch and re-sends its offline queue; every message reaches everyone exactly once, in
//! order. And a streamed reply written on one node and read on the other, whole. Needs
//! `redis-server` (Debian package; `scripts/setup.sh`); fails without it.

mod support;

// The server crate's throwaway redis-server; this test uses only part of it.
#[allow(dead_code)]
#[path = "../../server/tests/redis_server/mod.rs"]
mod redis_server;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use redis_server::Redis;
use roomcast_core::StreamState;
use serde_json::{json, Value};
use support::{client, collect, messages, Server, StreamView};
use tokio::net::{TcpListener, TcpStream};

/// A fail-over balancer: each new connection goes to the first upstream that accepts it.
async fn balancer(upstreams: Vec<SocketAddr>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let upstreams = upstreams.clone();
            tokio::spawn(async move {
                for up in upstreams {
                    if let Ok(mut outbound) = TcpStream::connect(up).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_fails_over_to_another_node_without_loss_or_duplicates() {
    let redis = Redis::start();
    let flags = ["--redis", redis.url.as_str()];
    let mut a = Server::start_with(&flags);
    let b = Server::start_with(&flags);
    let lb = balancer(vec![a.addr, b.addr]).await;

    let alice = client(&format!("ws://{lb}/ws"), "alice");
    alice.connect().await.expect("alice connects");
    let alice_room = alice.join("conv").await.expect("alice joins");
    let mut alice_events = alice_room.events();
    let bob = client(&b.ws_url(), "bob");
    bob.connect().await.expect("bob connects");
    let bob_room = bob.join("conv").await.expect("bob joins");
    let mut bob_events = bob_room.events();

    let limit = Duration::from_secs(20);
    let mut acks = Vec::new();
    for i in 0..5 {
        let a_ack = alice_room.publish("chat", &json!({"from":"alice","i":i}));
        let b_ack = bob_room.publish("chat", &json!({"from":"bob","i":i}));
        acks.push(a_ack.await.expect("alice ack"));
        acks.push(b_ack.await.expect("bob ack"));
    }
    // Alice's node dies. What she publishes now is queued and re-sent on the other node.
    a.kill();
    let mut offline = Vec::new();
    for i in 5..10 {
        offline.push(tokio::spawn(
            alice_room.publish("chat", &json!({"from":"alice","i":i})),
        ));
        acks.push(
            bob_room
                .publish("chat", &json!({"from":"bob","i":i}))
                .await
                .expect("bob ack"),
        );
    }
    for p in offline {
        let ack = tokio::time::timeout(limit, p)
            .await
            .expect("offline publish acked in time")
            .expect("task")
            .expect("alice ack after fail-over");
        acks.push(ack);
    }
    let all: BTreeSet<u64> = acks.iter().filter_map(|a| a.seq).collect();
    assert_eq!(
        all,
        (1..=20).collect::<BTreeSet<u64>>(),
        "every publish stored once"
    );

    // Each side sees the other's 10 messages once, in seq order, and none of its own.
    for (events, other) in [(&mut alice_events, "bob"), (&mut bob_events, "alice")] {
        let got = collect(events, 10, limit, messages).await;
        let seqs: Vec<u64> = got.iter().filter_map(|m| m.seq).collect();
        assert_eq!(seqs.len(), 10, "{other}'s messages: {seqs:?}");
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        let data: Vec<Value> = got.iter().filter_map(|m| m.data.decode().ok()).collect();
        assert!(data.iter().all(|d| d["from"] == other), "{got:?}");
        let is: Vec<u64> = data.iter().filter_map(|d| d["i"].as_u64()).collect();
        assert_eq!(is, (0..10).collect::<Vec<u64>>());
    }
    // Nothing more trickles in later (no duplicates).
    let late = collect(&mut alice_events, 1, Duration::from_millis(500), messages).await;
    assert!(late.is_empty(), "{late:?}");
    drop(b);
}

/// The Rust SDK's stream writer on node A, readers on node B (one there from the start, one
/// joining mid-reply): each reader's text equals what was written, byte for byte, and history
/// on B holds the reply whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_written_on_one_node_is_read_whole_on_another() {
    let redis = Redis::start();
    let flags = ["--redis", redis.url.as_str()];
    let a = Server::start_with(&flags);
    let b = Server::start_with(&flags);

    let reader = client(&b.ws_url(), "reader");
    let room = reader.room("conv");
    let mut events = room.events();
    room.join().await.expect("reader joins");

    let writer = client(&a.ws_url(), "bot");
    let wroom = writer.join("conv").await.expect("writer joins");
    let mut stream = wroom
        .stream("assistant.reply", &json!({"role": "assistant"}))
        .expect("stream");
    stream.opened().expect("opened").await.expect("opened ack");
    let pieces: Vec<String> = (0..400).map(|i| format!("w{i}·é ")).collect();
    let mut acks = Vec::new();
    for piece in &pieces[..200] {
        acks.push(stream.append(piece.clone()));
    }
    for ack in acks.drain(..) {
        ack.await.expect("ack");
    }
    // A late joiner on B, mid-reply.
    let late = client(&b.ws_url(), "late");
    let late_room = late.room("conv");
    let mut late_events = late_room.events();
    late_room.join().await.expect("late joins");
    for piece in &pieces[200..] {
        acks.push(stream.append(piece.clone()));
    }
    for ack in acks {
        ack.await.expect("ack");
    }
    stream.finish().await.expect("finish");

    let input = pieces.concat();
    let limit = Duration::from_secs(30);
    for (who, events) in [("reader", &mut events), ("late", &mut late_events)] {
        let view = StreamView::default().until_end(events, limit).await;
        assert_eq!(view.end, Some(StreamState::Done), "{who}");
        assert!(
            view.text.as_deref() == Some(input.as_str()),
            "{who}'s text differs from the input"
        );
    }
    // The room's first item (seq 1) is the opening message: a page of it alone.
    let page = late_room.history(Some(2), 1).await.expect("history");
    let reply = page
        .messages
        .iter()
        .find_map(|m| m.stream.clone())
        .expect("the reply in history");
    assert_eq!((reply.state, reply.n), (StreamState::Done, 401));
    assert!(reply.text == input, "history's text differs from the input");
    assert!(page.appends.is_empty(), "folded: no pieces of its own");
    for c in [reader, writer, late] {
        c.close().await.expect("close");
    }
    drop((a, b));
}
