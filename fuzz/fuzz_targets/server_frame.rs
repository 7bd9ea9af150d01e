//! The server's per-frame handling: one WebSocket session (the real session code, engine and
//! store, no socket) fed the input's lines as frames: valid UTF-8 as text frames, anything
//! else as a binary frame; `@TOKEN@` and the other placeholders of `roomcast_fuzz::Tokens`
//! stand for valid tokens. Checks: no panic (on any thread: libFuzzer aborts on every panic),
//! the store keeps working (no `internal` error), every frame the server queues is a valid
//! server frame, and every persisted publish acked with a `seq` is in history at that `seq`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roomcast_core::protocol::{ClientFrame, ErrorCode, Publish, ServerFrame};
use roomcast_fuzz::{with_server, Tokens};
use roomcast_server::harness::Harness;
use roomcast_server::outbound::{Outgoing, QueueReader};

/// Frames read from one input; more only make an input slower.
const MAX_FRAMES: usize = 64;

fuzz_target!(|data: &[u8]| {
    with_server(|rt, harness, tokens| rt.block_on(session(harness, tokens, data)));
});

async fn session(harness: &Harness, tokens: &Tokens, data: &[u8]) {
    let (mut session, mut rx) = harness.session();
    let mut publishes = Vec::new();
    let mut sent = Vec::new();
    for line in data.split(|&b| b == b'\n').take(MAX_FRAMES) {
        let open = match std::str::from_utf8(line) {
            Ok(text) => {
                let text = tokens.fill(text);
                if let Ok(ClientFrame::Publish(p)) = ClientFrame::decode(&text) {
                    publishes.push(p);
                }
                session.text(&text).await
            }
            Err(_) => session.binary(),
        };
        drain(&mut rx, &mut sent);
        if !open {
            break;
        }
    }
    settle(harness).await;
    session.end().await;
    settle(harness).await;
    drain(&mut rx, &mut sent);
    for text in &sent {
        let frame = ServerFrame::decode(text)
            .unwrap_or_else(|e| panic!("the server sent an invalid frame ({e}): {text}"));
        match frame {
            ServerFrame::Ack(ack) => {
                if let Some(seq) = ack.seq {
                    check_stored(harness, &publishes, ack.ref_id, &ack.id, seq).await;
                }
            }
            ServerFrame::Error(e) => {
                assert_ne!(e.code, ErrorCode::Internal, "the store failed: {text}");
            }
            _ => {}
        }
    }
}

/// Waits until the store has answered everything sent so far.
async fn settle(harness: &Harness) {
    if let Err(e) = harness.state().engine.barrier().await {
        panic!("the store stopped: {e}");
    }
}

/// Everything queued for the client so far, as text.
fn drain(rx: &mut QueueReader, sent: &mut Vec<String>) {
    while let Ok(item) = rx.try_recv() {
        match item {
            Outgoing::Frame(text) => sent.push(text.as_str().to_owned()),
            Outgoing::Frames(frames) | Outgoing::Batch(frames) => {
                sent.extend(frames.iter().map(|t| t.as_str().to_owned()))
            }
            Outgoing::Close(..) => {}
        }
    }
}

/// An acked publish (`ref`, `id`) is in history at `seq`, in one of the rooms it may have
/// gone to (an input can reuse a `ref` and `id`).
async fn check_stored(harness: &Harness, publishes: &[Publish], ref_id: u64, id: &str, seq: u64) {
    let engine = &harness.state().engine;
    let mut rooms: Vec<&str> = publishes
        .iter()
        .filter(|p| p.ref_id == ref_id && p.id == id)
        .map(|p| p.room.as_str())
        .collect();
    rooms.dedup();
    assert!(!rooms.is_empty(), "ack {ref_id}/{id} for nothing published");
    for room in &rooms {
        let page = engine
            .history(room.to_string(), seq.checked_add(1), 1)
            .await
            .unwrap_or_else(|e| panic!("history of {room} failed: {e}"));
        if page
            .messages
            .last()
            .is_some_and(|m| m.seq == Some(seq) && m.id == id)
        {
            return;
        }
    }
    panic!("ack {ref_id}/{id} at seq {seq} is not in the history of {rooms:?}");
}
