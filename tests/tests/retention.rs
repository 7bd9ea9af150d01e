//! Retention seen by the SDK: a client resuming from a position the server has trimmed gets
//! every message still kept, once, in order, and a gap for exactly the trimmed range.

mod support;

use std::time::Duration;

use roomcast_core::{Gap, Message, RoomEvent};
use support::{client, Server};

const LIMIT: Duration = Duration::from_secs(20);

async fn watch(
    events: &mut roomcast_core::RoomEvents,
    messages: &mut Vec<Message>,
    gaps: &mut Vec<Gap>,
    mut done: impl FnMut(&[Message], &[Gap]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !done(messages, gaps) {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(RoomEvent::Message(m))) if m.seq.is_some() => messages.push(m),
            Ok(Some(RoomEvent::Gap(g))) => gaps.push(g),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
}

/// The oldest seq the server still has in `room` (through `history`).
async fn oldest(url: &str, room: &str) -> Option<u64> {
    let c = client(url, "probe");
    let page = c
        .room(room)
        .history(Some(1_000_000), 500)
        .await
        .expect("history");
    c.close().await.expect("close");
    page.messages.first().and_then(|m| m.seq)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_resuming_from_a_trimmed_position_gets_a_gap_for_exactly_what_went() {
    let server = Server::start_with(&["--history-max", "10"]);
    let url = server.ws_url();
    let reader = client(&url, "reader");
    let room = reader.room("r");
    let mut events = room.events();
    room.join().await.expect("join");

    let writer = client(&url, "writer");
    let w = writer.join("r").await.expect("writer joins");
    for i in 1..=5 {
        w.publish("chat.message", &format!("m{i}"))
            .await
            .expect("acked");
    }
    let (mut messages, mut gaps) = (Vec::new(), Vec::new());
    watch(&mut events, &mut messages, &mut gaps, |m, _| m.len() >= 5).await;
    assert_eq!(messages.len(), 5);

    // The reader goes away; 30 more arrive and the server keeps only the newest 10 (26..=35).
    reader.pause();
    for i in 6..=35 {
        w.publish("chat.message", &format!("m{i}"))
            .await
            .expect("acked");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while oldest(&url, "r").await != Some(26) {
        assert!(tokio::time::Instant::now() < deadline, "trimmed in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    reader.resume();
    watch(&mut events, &mut messages, &mut gaps, |m, g| {
        m.len() >= 15 && !g.is_empty()
    })
    .await;
    let seqs: Vec<u64> = messages.iter().filter_map(|m| m.seq).collect();
    let want: Vec<u64> = (1..=5).chain(26..=35).collect();
    assert_eq!(seqs, want, "everything kept, once, in order");
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(
        (gaps[0].since, gaps[0].head),
        (Some(5), 25),
        "{:?}",
        gaps[0]
    );
    assert_eq!(
        gaps[0].previous_epoch.as_deref(),
        Some(gaps[0].epoch.as_str())
    );
    // Nothing more arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut more = Vec::new();
    watch(&mut events, &mut more, &mut gaps, |_, _| true).await;
    assert!(more.is_empty() && gaps.len() == 1);
    reader.close().await.expect("close");
    writer.close().await.expect("close");
}
