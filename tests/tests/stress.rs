//! The promise under stress, against the real server: short-lived tokens, app handlers that
//! block, and a token the server rejects.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use roomcast_core::{Client, ConnectionState, Error, RoomEvent};
use serde_json::json;

mod support;
use support::{client, collect, messages, mint_token, Server};

const LIMIT: Duration = Duration::from_secs(60);

/// Records every state change from now on.
fn watch_states(client: &Client) -> Arc<std::sync::Mutex<Vec<ConnectionState>>> {
    let seen: Arc<std::sync::Mutex<Vec<ConnectionState>>> = Arc::default();
    let mut states = client.state_changes();
    states.borrow_and_update();
    let record = seen.clone();
    tokio::spawn(async move {
        while states.changed().await.is_ok() {
            let state = *states.borrow_and_update();
            if let Ok(mut seen) = record.lock() {
                seen.push(state);
            }
        }
    });
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_second_tokens_for_thirty_seconds() {
    let server = Server::start();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let client = Client::builder(server.ws_url())
        .token_provider(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            async move { Ok(Some(mint_token("short", Duration::from_secs(3)))) }
        })
        .source("test")
        .build()
        .expect("client");
    client.connect().await.expect("connects");
    let states = watch_states(&client);
    let room = client.join("tokens").await.expect("joins");

    let started = Instant::now();
    let mut acked = 0;
    while started.elapsed() < Duration::from_secs(30) {
        tokio::time::timeout(Duration::from_secs(5), room.publish("tick", &json!(acked)))
            .await
            .expect("acked in time")
            .expect("acked");
        acked += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let calls = calls.load(Ordering::Relaxed);
    // One token to connect, then one refresh every 1 to 1.5 s (half the remaining life).
    assert!((15..=35).contains(&calls), "{calls} provider calls in 30 s");
    let states = states.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(
        states.is_empty(),
        "the connection never dropped, yet went through {states:?}"
    );
    assert_eq!(client.state(), ConnectionState::Connected);
    assert!(acked >= 80, "{acked} publishes");
    client.close().await.expect("close");
}

/// A handler that blocks for twice the heartbeat interval costs neither the connection nor
/// another room's delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_handler_stalls_only_its_own_room() {
    let server = Server::start_with(&["--heartbeat-ms", "1000"]);
    let publisher = client(&server.ws_url(), "pub");
    let listener = client(&server.ws_url(), "sub");
    publisher.connect().await.expect("publisher connects");
    listener.connect().await.expect("listener connects");
    let states = watch_states(&listener);

    let slow = listener.room("slow");
    let blocked = Arc::new(AtomicUsize::new(0));
    let count = blocked.clone();
    slow.on_event(move |event| {
        if matches!(event, RoomEvent::Message(_)) && count.fetch_add(1, Ordering::SeqCst) == 0 {
            // Real work on the app's side: a blocking call, twice the heartbeat.
            std::thread::sleep(Duration::from_millis(2_000));
        }
    })
    .detach();
    slow.join().await.expect("joins slow");
    let fast = listener.room("fast");
    let mut fast_events = fast.events();
    fast.join().await.expect("joins fast");
    let pub_slow = publisher.join("slow").await.expect("publisher joins slow");
    let pub_fast = publisher.join("fast").await.expect("publisher joins fast");

    pub_slow.publish("work", &json!(1)).await.expect("acked");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        blocked.load(Ordering::SeqCst),
        1,
        "the slow handler is busy"
    );
    // While the slow handler blocks, the other room's messages arrive at once.
    for i in 0..5 {
        let sent = Instant::now();
        pub_fast.publish("ping", &json!(i)).await.expect("acked");
        let got = collect(&mut fast_events, 1, Duration::from_millis(500), messages).await;
        assert_eq!(
            got.len(),
            1,
            "message {i} of the other room arrived in time"
        );
        assert!(sent.elapsed() < Duration::from_millis(500));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And the slow room's later messages all arrive once the handler is back.
    for i in 2..=20 {
        pub_slow.publish("work", &json!(i)).await.expect("acked");
    }
    let deadline = Instant::now() + LIMIT;
    while blocked.load(Ordering::SeqCst) < 20 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(blocked.load(Ordering::SeqCst), 20);
    let states = states.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(
        states.is_empty(),
        "the connection survived the blocked handler, yet went through {states:?}"
    );
}

/// A room whose handler falls far behind stops taking messages and has them paged in once
/// the handler catches up: nothing lost, order kept, memory bounded by the backlog limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_far_behind_gets_every_message_in_order() {
    let server = Server::start_with(&["--publish-rate", "100000", "--user-rate", "100000"]);
    let publisher = client(&server.ws_url(), "pub");
    let listener = client(&server.ws_url(), "sub");
    publisher.connect().await.expect("publisher connects");
    listener.connect().await.expect("listener connects");
    let room = listener.room("flood");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    room.on_event(move |event| {
        if let RoomEvent::Message(m) = event {
            // A slow consumer: 1 ms per message.
            std::thread::sleep(Duration::from_millis(1));
            let _ = tx.send(m.seq);
        }
    })
    .detach();
    room.join().await.expect("joins");
    let pub_room = publisher.join("flood").await.expect("publisher joins");
    let total = 3_000u64;
    for chunk in 0..total / 500 {
        let acks: Vec<_> = (0..500)
            .map(|i| pub_room.publish("n", &json!(chunk * 500 + i)))
            .collect();
        for ack in futures_util::future::join_all(acks).await {
            ack.expect("acked");
        }
    }
    let mut seqs = Vec::new();
    let deadline = tokio::time::Instant::now() + LIMIT;
    while (seqs.len() as u64) < total {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(seq)) => seqs.push(seq.unwrap_or(0)),
            _ => break,
        }
    }
    let expected: Vec<u64> = (1..=total).collect();
    assert_eq!(seqs.len(), expected.len(), "every message once");
    assert!(seqs == expected, "in order, without duplicates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_settles_join_and_publish() {
    let server = Server::start();
    let client = Client::builder(server.ws_url())
        .token("not-a-valid-token")
        .source("test")
        .build()
        .expect("client");
    let room = client.room("r");
    let join = tokio::spawn({
        let room = room.clone();
        async move { room.join().await }
    });
    let connect = tokio::time::timeout(Duration::from_secs(10), client.connect())
        .await
        .expect("connect settles");
    assert!(
        matches!(connect, Err(Error::Unauthorized(_))),
        "{connect:?}"
    );
    let join = tokio::time::timeout(Duration::from_secs(5), join)
        .await
        .expect("join settles")
        .expect("task");
    assert!(matches!(join, Err(Error::Unauthorized(_))), "{join:?}");
    let again = tokio::time::timeout(Duration::from_secs(5), room.join())
        .await
        .expect("a join while unauthorized settles at once");
    assert!(matches!(again, Err(Error::Unauthorized(_))), "{again:?}");
    let publish = tokio::time::timeout(Duration::from_secs(5), room.publish("e", &json!(1)))
        .await
        .expect("a publish while unauthorized settles at once");
    assert!(
        matches!(publish, Err(Error::Unauthorized(_))),
        "{publish:?}"
    );
}
