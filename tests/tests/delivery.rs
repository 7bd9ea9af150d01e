//! Native clients against the real server: conversation, typed handlers, presence, history,
//! and delivery through random connection cuts and server kills.

use std::time::Duration;

use futures_util::future::join_all;
use roomcast_core::{ConnectionState, RoomEvent};
mod support;

use serde::{Deserialize, Serialize};
use serde_json::json;
use support::{client, collect, messages, Proxy, Server};
use tokio::sync::mpsc;

const LIMIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Chat {
    content: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversation_with_typed_handlers_presence_and_history() {
    let server = Server::start();
    let alice = client(&server.ws_url(), "alice");
    let bob = client(&server.ws_url(), "bob");
    alice.connect().await.expect("alice connects");
    bob.connect().await.expect("bob connects");

    let room_b = bob.room("conv-1");
    let (chat_tx, mut chat_rx) = mpsc::unbounded_channel();
    room_b
        .on::<Chat, _>("chat.message", move |msg, meta| {
            let _ = chat_tx.send((msg, meta));
        })
        .detach();
    let (err_tx, mut err_rx) = mpsc::unbounded_channel();
    room_b
        .on_error(move |e| {
            let _ = err_tx.send(e.clone());
        })
        .detach();
    let mut events = room_b.events();
    room_b.join().await.expect("bob joins");
    let room_a = alice.join("conv-1").await.expect("alice joins");

    let joined = collect(&mut events, 1, LIMIT, |e| match e {
        RoomEvent::Presence(p) => Some(p),
        _ => None,
    })
    .await;
    assert_eq!(joined[0].member.user, "alice");
    assert_eq!(joined[0].member.source, "test");

    let ack = room_a
        .publish(
            "chat.message",
            &Chat {
                content: "hello".into(),
            },
        )
        .await
        .expect("ack");
    assert_eq!(ack.seq, Some(1));
    let (msg, meta) = tokio::time::timeout(LIMIT, chat_rx.recv())
        .await
        .expect("in time")
        .expect("message");
    assert_eq!(msg.content, "hello");
    assert_eq!(
        (meta.seq, meta.from.user.as_str(), meta.id.as_str()),
        (Some(1), "alice", ack.id.as_str())
    );

    // A payload the typed handler cannot decode goes to the error handler; the next one still
    // arrives.
    room_a
        .publish("chat.message", &json!({ "wrong": true }))
        .await
        .expect("ack");
    room_a
        .publish(
            "chat.message",
            &Chat {
                content: "still here".into(),
            },
        )
        .await
        .expect("ack");
    let bad = tokio::time::timeout(LIMIT, err_rx.recv())
        .await
        .expect("in time")
        .expect("decode error");
    assert_eq!(bad.meta.seq, Some(2));
    let (msg, _) = tokio::time::timeout(LIMIT, chat_rx.recv())
        .await
        .expect("in time")
        .expect("message");
    assert_eq!(msg.content, "still here");

    let page = room_b.history(None, 2).await.expect("history");
    let seqs: Vec<_> = page.messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [Some(2), Some(3)]);
    assert!(page.more);

    // Ephemeral: delivered, not stored.
    let ack = room_a
        .publish_ephemeral("typing", &true)
        .await
        .expect("ephemeral ack");
    assert_eq!(ack.seq, None);
    let typing = collect(&mut events, 1, LIMIT, |e| match e {
        RoomEvent::Message(m) if m.seq.is_none() => Some(m),
        _ => None,
    })
    .await;
    assert_eq!(typing[0].event, "typing");
    let page = room_b.history(None, 10).await.expect("history");
    assert_eq!(page.messages.len(), 3);

    room_a.leave().await.expect("leave");
    let left = collect(&mut events, 1, LIMIT, |e| match e {
        RoomEvent::Presence(p) if p.event == roomcast_core::PresenceKind::Leave => Some(p),
        _ => None,
    })
    .await;
    assert_eq!(left.len(), 1);
    alice.close().await.expect("close");
    assert_eq!(alice.state(), ConnectionState::Closed);
}

/// Publishes `n` messages from `room` in call order and waits for every ack.
async fn publish_all(
    room: &roomcast_core::Room,
    prefix: &str,
    n: usize,
) -> Vec<roomcast_core::PublishAck> {
    let acks = (0..n).map(|i| {
        room.publish(
            "chat.message",
            &Chat {
                content: format!("{prefix}{i}"),
            },
        )
    });
    let acks = tokio::time::timeout(LIMIT, join_all(acks))
        .await
        .expect("every publish completes in time");
    acks.into_iter().map(|a| a.expect("acked")).collect()
}

/// Reads until the `sentinel` message: everything before it, in arrival order.
async fn read_until_sentinel(
    events: &mut roomcast_core::RoomEvents,
    sentinel: &str,
) -> Vec<roomcast_core::Message> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(RoomEvent::Gap(g))) => panic!("the server lost nothing, yet {g:?}"),
            Ok(Some(RoomEvent::Message(m))) if m.seq.is_some() => {
                if m.data
                    .decode::<serde_json::Value>()
                    .is_ok_and(|d| d["content"] == sentinel)
                {
                    return got;
                }
                got.push(m);
            }
            Ok(Some(_)) => {}
            other => panic!(
                "stream ended before the sentinel ({} received): {other:?}",
                got.len()
            ),
        }
    }
}

fn assert_exactly_once_in_order(
    got: &[roomcast_core::Message],
    acks: &[roomcast_core::PublishAck],
) {
    let seqs: Vec<u64> = got.iter().filter_map(|m| m.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "order or duplicates: {seqs:?}"
    );
    let got_ids: Vec<&str> = got.iter().map(|m| m.id.as_str()).collect();
    let sent_ids: Vec<&str> = acks.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(got_ids.len(), sent_ids.len(), "every message exactly once");
    assert_eq!(got_ids, sent_ids, "in publish order");
    let ack_seqs: Vec<u64> = acks.iter().filter_map(|a| a.seq).collect();
    assert_eq!(ack_seqs, seqs, "acks carry the delivered seqs");
}

/// A publisher and a listener connected through `url` and joined to `room`: the publisher's
/// room, the listener's room, and the listener's event stream (opened before the join).
async fn publisher_and_listener(
    url: &str,
    room: &str,
) -> (
    roomcast_core::Room,
    roomcast_core::Room,
    roomcast_core::RoomEvents,
) {
    let publisher = client(url, "pub");
    let listener = client(url, "sub");
    listener.connect().await.expect("listener connects");
    publisher.connect().await.expect("publisher connects");
    let room_l = listener.room(room);
    let events = room_l.events();
    room_l.join().await.expect("listener joins");
    let room_p = publisher.join(room).await.expect("publisher joins");
    (room_p, room_l, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_connection_cuts_lose_and_duplicate_nothing() {
    random_cuts(&[]).await;
}

/// Every outage outlasts a replay limit of 10: each resume is completed with history pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_cuts_past_a_small_replay_limit_lose_nothing() {
    random_cuts(&["--replay-limit", "10"]).await;
}

async fn random_cuts(flags: &[&str]) {
    let server = Server::start_with(flags);
    let mut proxy = Proxy::start(server.addr).await;
    let (room_p, room_l, mut events) = publisher_and_listener(&proxy.ws_url(), "cuts").await;

    proxy.chaos(Duration::from_millis(30), Duration::from_millis(250), 7);
    let mut acks = Vec::new();
    // Keep publishing until the connections have been cut a good number of times.
    for batch in 0..200 {
        acks.extend(publish_all(&room_p, &format!("b{batch}-"), 50).await);
        if proxy.severed() >= 20 && batch >= 5 {
            break;
        }
    }
    proxy.calm();
    assert!(proxy.severed() >= 20, "only {} cuts", proxy.severed());
    room_p
        .publish(
            "chat.message",
            &Chat {
                content: "sentinel".into(),
            },
        )
        .await
        .expect("sentinel");

    let got = read_until_sentinel(&mut events, "sentinel").await;
    assert_exactly_once_in_order(&got, &acks);
    let page = room_l.history(None, 1).await.expect("history");
    assert_eq!(
        page.messages[0].seq,
        Some(acks.len() as u64 + 1),
        "stored once each"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_mid_stream_and_restarted() {
    killed_and_restarted(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_past_a_small_replay_limit_loses_nothing() {
    killed_and_restarted(&["--replay-limit", "7"]).await;
}

async fn killed_and_restarted(flags: &[&str]) {
    let mut server = Server::start_with(flags);
    let (room_p, _room_l, mut events) = publisher_and_listener(&server.ws_url(), "restart").await;

    let mut acks = publish_all(&room_p, "before-", 100).await;
    // Queue more, kill the server while they are in flight, bring it back.
    let in_flight: Vec<_> = (0..200)
        .map(|i| {
            room_p.publish(
                "chat.message",
                &Chat {
                    content: format!("during-{i}"),
                },
            )
        })
        .collect();
    server.kill();
    let mut states = room_p.client().state_changes();
    tokio::time::timeout(
        LIMIT,
        states.wait_for(|s| matches!(s, ConnectionState::Reconnecting { .. })),
    )
    .await
    .expect("in time")
    .expect("publisher notices");
    let offline: Vec<_> = (0..50)
        .map(|i| {
            room_p.publish(
                "chat.message",
                &Chat {
                    content: format!("offline-{i}"),
                },
            )
        })
        .collect();
    server.restart();
    for ack in tokio::time::timeout(LIMIT, join_all(in_flight.into_iter().chain(offline)))
        .await
        .expect("in time")
    {
        acks.push(ack.expect("acked after the restart"));
    }
    room_p
        .publish(
            "chat.message",
            &Chat {
                content: "sentinel".into(),
            },
        )
        .await
        .expect("sentinel");

    let got = read_until_sentinel(&mut events, "sentinel").await;
    assert_exactly_once_in_order(&got, &acks);
    assert_eq!(
        acks.last().and_then(|a| a.seq),
        Some(350),
        "seq survived the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_closes_with_going_away_and_clients_resume() {
    let mut server = Server::start();
    let (room_p, _room_l, mut events) = publisher_and_listener(&server.ws_url(), "term").await;
    let in_flight: Vec<_> = (0..300)
        .map(|i| {
            room_p.publish(
                "chat.message",
                &Chat {
                    content: format!("m{i}"),
                },
            )
        })
        .collect();
    let status = server.terminate().expect("server exited");
    assert!(status.success(), "graceful exit: {status:?}");
    server.restart();
    let acks: Vec<_> = tokio::time::timeout(LIMIT, join_all(in_flight))
        .await
        .expect("in time")
        .into_iter()
        .map(|a| a.expect("acked"))
        .collect();
    room_p
        .publish(
            "chat.message",
            &Chat {
                content: "sentinel".into(),
            },
        )
        .await
        .expect("sentinel");
    let got = read_until_sentinel(&mut events, "sentinel").await;
    assert_exactly_once_in_order(&got, &acks);
    let _ = messages;
}
