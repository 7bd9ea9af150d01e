//! A server restored from an older copy of its data directory (same epochs, lower heads) or
//! started on a fresh one (new epochs), with clients resuming from positions past what it
//! has: every message stored after the restore reaches them once, and the gap names only
//! what is really gone.

mod support;

use std::path::Path;
use std::time::Duration;

use roomcast_core::{Gap, Message, RoomEvent};
use support::{client, Server};

const LIMIT: Duration = Duration::from_secs(30);

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let path = entry.path();
        if path.is_file() {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy");
        }
    }
}

fn replace_dir(dir: &Path, with: &Path) {
    std::fs::remove_dir_all(dir).expect("remove");
    copy_dir(with, dir);
}

/// Messages and gaps until `done` says so (or the limit passes).
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

async fn publish_n(url: &str, room: &str, prefix: &str, n: usize) {
    let writer = client(url, "writer");
    let r = writer.join(room).await.expect("writer joins");
    for i in 1..=n {
        r.publish("chat.message", &format!("{prefix}{i}"))
            .await
            .expect("acked");
    }
    writer.close().await.expect("close");
}

fn texts(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| serde_json::from_str::<String>(m.data.json()).unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restored_from_an_older_copy_loses_the_reader_nothing_it_stores() {
    let mut server = Server::start();
    let url = server.ws_url();
    publish_n(&url, "r", "a", 3).await;
    // The backup: a copy of the data directory at head 3, taken while stopped.
    server.terminate();
    let backup = tempfile::tempdir().expect("tempdir");
    copy_dir(server.data_dir(), backup.path());
    server.restart();

    let reader = client(&url, "reader");
    let room = reader.room("r");
    let mut events = room.events();
    room.join_with(roomcast_core::JoinOptions {
        since: Some(0),
        ..Default::default()
    })
    .await
    .expect("join");
    publish_n(&url, "r", "b", 3).await;
    let (mut messages, mut gaps) = (Vec::new(), Vec::new());
    watch(&mut events, &mut messages, &mut gaps, |m, _| m.len() >= 6).await;
    assert_eq!(texts(&messages), ["a1", "a2", "a3", "b1", "b2", "b3"]);

    // The server is restored from the backup: same epoch, head 3 while the reader has 6.
    server.terminate();
    replace_dir(server.data_dir(), backup.path());
    server.restart();
    watch(&mut events, &mut messages, &mut gaps, |_, g| !g.is_empty()).await;
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!((gaps[0].since, gaps[0].head), (Some(3), 6));
    assert_eq!(
        gaps[0].previous_epoch.as_deref(),
        Some(gaps[0].epoch.as_str())
    );

    // New messages reuse seqs 4..: each reaches the reader once.
    publish_n(&url, "r", "c", 4).await;
    watch(&mut events, &mut messages, &mut gaps, |m, _| m.len() >= 10).await;
    let after: Vec<(u64, String)> = messages[6..]
        .iter()
        .map(|m| m.seq.unwrap_or(0))
        .zip(texts(&messages[6..]))
        .collect();
    assert_eq!(
        after,
        [
            (4, "c1".to_string()),
            (5, "c2".to_string()),
            (6, "c3".to_string()),
            (7, "c4".to_string())
        ]
    );
    assert_eq!(gaps.len(), 1);
    reader.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_a_fresh_data_directory_delivers_its_new_epoch_from_the_start() {
    let mut server = Server::start();
    let url = server.ws_url();
    let reader = client(&url, "reader");
    let room = reader.room("r");
    let mut events = room.events();
    let old_epoch = Some(room.join().await.expect("join").epoch);
    publish_n(&url, "r", "a", 3).await;
    let (mut messages, mut gaps) = (Vec::new(), Vec::new());
    watch(&mut events, &mut messages, &mut gaps, |m, _| m.len() >= 3).await;

    // A fresh data directory: new epochs. Messages are stored there before the reader is back.
    server.terminate();
    let empty = tempfile::tempdir().expect("tempdir");
    replace_dir(server.data_dir(), empty.path());
    server.restart();
    publish_n(&url, "r", "n", 2).await;
    watch(&mut events, &mut messages, &mut gaps, |m, _| m.len() >= 5).await;
    assert_eq!(texts(&messages), ["a1", "a2", "a3", "n1", "n2"]);
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].previous_epoch, old_epoch);
    assert_ne!(Some(gaps[0].epoch.clone()), old_epoch);
    assert_eq!(
        (gaps[0].since, gaps[0].head),
        (Some(3), 3),
        "the old epoch's part only"
    );
    reader.close().await.expect("close");
}
