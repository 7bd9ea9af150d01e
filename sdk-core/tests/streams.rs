//! Streamed messages, reader side, on the virtual clock: whatever happens to the connection,
//! the server or the process, the app sees each stream as its opening message with the text
//! so far, then every later piece once and in order, then its end; the text it puts together
//! equals the server's, byte for byte.

mod support;

use std::path::Path;
use std::time::Duration;

use roomcast_core::machine::{Event, JoinOptions};
use roomcast_core::protocol::StreamState;
use roomcast_core::FileStore;
use support::{config, Client, Net};

const ROOM: &str = "r";

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn reader(seed: u64) -> Client {
    Client::new(config("reader", "reader-device"), seed)
}

fn stored_reader(dir: &Path) -> Client {
    let mut cfg = config("reader", "reader-device");
    cfg.persist = true;
    cfg.position_interval = Duration::from_millis(200);
    let opened = FileStore::open(dir).expect("open store");
    let mut c = Client::new(cfg, 5);
    let _ = c.m.restore(opened.snapshot);
    c.store = Some(opened.store);
    c
}

fn join(net: &mut Net, i: usize) {
    let now = net.now;
    net.c(i).m.join(now, ROOM, JoinOptions::default());
    net.settle();
}

/// What the app of client `i` was shown of stream `id`: the text put together from its
/// opening message and pieces, and how it ended. Panics when a piece repeats or skips (its
/// `n` is not the count shown so far) or the opening message came twice.
fn shown(net: &mut Net, i: usize, id: &str) -> (String, Option<StreamState>) {
    let mut text = None::<String>;
    let mut count = 0u64;
    let mut end = None;
    for e in &net.c(i).events {
        match e {
            Event::Message(m) if m.id == id => {
                assert!(text.is_none(), "the opening message of {id} came twice");
                let s = m
                    .stream
                    .as_ref()
                    .expect("an opening message has its stream");
                text = Some(s.text.clone());
                count = s.n;
                if s.state != StreamState::Open {
                    end = Some(s.state);
                }
            }
            Event::Append(a) if a.id == id => {
                let t = text.as_mut().expect("a piece after its opening message");
                assert_eq!(
                    a.n, count,
                    "piece {} of {id} out of turn (shown {count})",
                    a.n
                );
                assert!(end.is_none(), "a piece after the end of {id}");
                t.push_str(&a.text);
                count += 1;
                end = a.end;
            }
            _ => {}
        }
    }
    (text.unwrap_or_default(), end)
}

/// Words of a reply, each a piece.
fn piece(k: usize) -> String {
    format!("w{k} ")
}

#[test]
fn a_live_reader_sees_the_opening_message_then_every_piece_once() {
    let mut net = Net::new(vec![reader(1)]);
    join(&mut net, 0);
    net.server.open_stream(ROOM, "s1");
    for k in 0..50 {
        net.server.append(ROOM, "s1", &piece(k), None);
    }
    net.server.append(ROOM, "s1", "", Some(StreamState::Done));
    net.settle();
    let (text, end) = shown(&mut net, 0, "s1");
    assert_eq!(text, net.server.stream_text(ROOM, "s1"));
    assert_eq!(end, Some(StreamState::Done));
}

#[test]
fn a_late_joiner_gets_the_text_so_far_in_one_message_then_the_rest() {
    let mut net = Net::new(vec![reader(1)]);
    net.server.open_stream(ROOM, "s1");
    for k in 0..20 {
        net.server.append(ROOM, "s1", &piece(k), None);
    }
    // A fresh join replays nothing; the stream's next piece makes the reader fetch its
    // opening message, which comes with the text so far (that piece included).
    join(&mut net, 0);
    assert!(net.c(0).messages.is_empty());
    net.server.append(ROOM, "s1", &piece(20), None);
    net.settle();
    let opening: Vec<_> = net
        .c(0)
        .messages
        .iter()
        .filter(|m| m.id == "s1")
        .cloned()
        .collect();
    assert_eq!(opening.len(), 1);
    let info = opening[0].stream.clone().expect("stream");
    assert_eq!(
        (info.n, info.text),
        (21, net.server.stream_text(ROOM, "s1"))
    );
    for k in 21..30 {
        net.server.append(ROOM, "s1", &piece(k), None);
    }
    net.server
        .append(ROOM, "s1", "", Some(StreamState::Cancelled));
    net.settle();
    let (text, end) = shown(&mut net, 0, "s1");
    assert_eq!(text, net.server.stream_text(ROOM, "s1"));
    assert_eq!(end, Some(StreamState::Cancelled));
}

#[test]
fn random_cuts_and_restarts_lose_and_repeat_no_piece() {
    for seed in 0..40u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut net = Net::new(vec![reader(seed)]);
        net.server.replay_limit = 1 + rng.usize(..40);
        join(&mut net, 0);
        let streams = ["a", "b", "c"];
        for id in streams {
            net.server.open_stream(ROOM, id);
        }
        let mut ended = [false; 3];
        for _ in 0..300 {
            let s = rng.usize(..3);
            if !ended[s] {
                let end = (rng.u8(..100) == 0).then_some(StreamState::Done);
                net.server
                    .append(ROOM, streams[s], &piece(rng.usize(..1000)), end);
                ended[s] |= end.is_some();
            }
            match rng.u8(..20) {
                0 => net.cut(0),
                1 => {
                    net.stop_server();
                    net.advance(secs(1));
                    net.start_server();
                }
                2 => {
                    // A backlog while offline: the resume pages what the replay limit cut.
                    net.cut(0);
                    for _ in 0..rng.usize(..60) {
                        let s = rng.usize(..3);
                        if !ended[s] {
                            net.server
                                .append(ROOM, streams[s], &piece(rng.usize(..1000)), None);
                        }
                    }
                }
                _ => {}
            }
            if rng.bool() {
                net.settle();
            }
            net.advance(Duration::from_millis(rng.u64(..3000)));
        }
        for (s, id) in streams.iter().enumerate() {
            if !ended[s] {
                net.server.append(ROOM, id, "", Some(StreamState::Failed));
            }
        }
        net.advance(secs(60));
        let mut total = 0;
        for id in streams {
            let (text, end) = shown(&mut net, 0, id);
            assert_eq!(
                text,
                net.server.stream_text(ROOM, id),
                "seed {seed}, stream {id}"
            );
            assert!(end.is_some(), "seed {seed}, stream {id}: its end was shown");
            total += text.len();
        }
        assert!(total > 200, "seed {seed}: only {total} bytes streamed");
    }
}

#[test]
fn a_reader_restarted_on_its_store_mid_stream_continues_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut net = Net::new(vec![stored_reader(dir.path())]);
    join(&mut net, 0);
    net.server.open_stream(ROOM, "s1");
    for k in 0..30 {
        net.server.append(ROOM, "s1", &piece(k), None);
        net.settle();
        net.advance(Duration::from_millis(100));
    }
    net.advance(secs(2));
    // The process dies (its store keeps the position), and more pieces come meanwhile.
    net.cut(0);
    net.clients[0] = reader(9);
    for k in 30..45 {
        net.server.append(ROOM, "s1", &piece(k), None);
    }
    net.clients[0] = stored_reader(dir.path());
    join(&mut net, 0);
    for k in 45..50 {
        net.server.append(ROOM, "s1", &piece(k), None);
    }
    net.server.append(ROOM, "s1", "", Some(StreamState::Done));
    net.settle();
    net.advance(secs(5));
    // The new process never saw the opening message: it gets it with the text so far, then
    // the pieces after it.
    let (text, end) = shown(&mut net, 0, "s1");
    assert_eq!(text, net.server.stream_text(ROOM, "s1"));
    assert_eq!(end, Some(StreamState::Done));
}

#[test]
fn history_pages_past_the_replay_limit_hand_over_pieces_in_order() {
    let mut net = Net::new(vec![reader(3)]);
    net.server.replay_limit = 10;
    join(&mut net, 0);
    net.server.open_stream(ROOM, "s1");
    net.server.append(ROOM, "s1", "first ", None);
    net.settle();
    net.cut(0);
    // 2 000 pieces while the reader is away, with plain messages among them.
    for k in 0..2000 {
        net.server.append(ROOM, "s1", &piece(k), None);
    }
    net.server.append(ROOM, "s1", "", Some(StreamState::Done));
    net.advance(secs(30));
    let (text, end) = shown(&mut net, 0, "s1");
    assert_eq!(text, net.server.stream_text(ROOM, "s1"));
    assert_eq!(end, Some(StreamState::Done));
    // Paged, not fetched piece by piece: a few history requests only.
    let pages = net
        .server
        .received
        .iter()
        .filter(|f| matches!(f, roomcast_core::protocol::ClientFrame::History(_)))
        .count();
    assert!(pages <= 10, "{pages} history requests");
}

// ---------------------------------------------------------------------------------------------
// Writer side: pieces go through the offline queue like publishes.

fn writer(seed: u64) -> Client {
    Client::new(config("writer", "writer-device"), seed)
}

fn stored_writer(dir: &Path) -> (Client, usize) {
    let mut cfg = config("writer", "writer-device");
    cfg.persist = true;
    let opened = FileStore::open(dir).expect("open store");
    assert!(opened.damage.is_none(), "{:?}", opened.damage);
    let pieces = opened.snapshot.appends.len();
    let mut c = Client::new(cfg, 11);
    let _ = c.m.restore(opened.snapshot);
    c.store = Some(opened.store);
    (c, pieces)
}

#[test]
fn a_writer_through_cuts_and_outages_applies_each_piece_once_in_order() {
    for seed in 0..30u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut net = Net::new(vec![writer(seed), reader(seed + 100)]);
        net.server.replay_limit = 1 + rng.usize(..50);
        join(&mut net, 0);
        join(&mut net, 1);
        net.open_stream(0, ROOM, "s");
        let mut written = String::new();
        for k in 0..200 {
            let text = piece(k);
            written.push_str(&text);
            net.append(0, ROOM, "s", &text, None);
            match rng.u8(..25) {
                0 => net.cut(0),
                1 => net.cut(1),
                2 => {
                    net.stop_server();
                    net.advance(secs(1));
                    net.start_server();
                }
                _ => {}
            }
            if rng.bool() {
                net.settle();
            }
            net.advance(Duration::from_millis(rng.u64(..500)));
        }
        net.append(0, ROOM, "s", "", Some(StreamState::Done));
        net.advance(secs(60));
        assert_eq!(
            net.server.stream_text(ROOM, "s"),
            written,
            "seed {seed}: the server"
        );
        let (text, end) = shown(&mut net, 1, "s");
        assert_eq!(text, written, "seed {seed}: the reader");
        assert_eq!(end, Some(StreamState::Done));
        assert_eq!(
            net.c(0).m.queued(),
            0,
            "seed {seed}: every piece acknowledged"
        );
        // The writer's own pieces are never handed back to it.
        assert!(
            !net.c(0)
                .events
                .iter()
                .any(|e| matches!(e, Event::Append(_))),
            "seed {seed}"
        );
    }
}

#[test]
fn a_writer_killed_with_pieces_queued_sends_them_once_from_its_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (w, _) = stored_writer(dir.path());
    let mut net = Net::new(vec![w, reader(2)]);
    join(&mut net, 0);
    join(&mut net, 1);
    net.open_stream(0, ROOM, "s");
    net.settle();
    let mut written = String::new();
    for k in 0..10 {
        written.push_str(&piece(k));
        net.append(0, ROOM, "s", &piece(k), None);
    }
    net.settle();
    // Offline: 20 more pieces are queued (and written to the store), then the process dies
    // with some of them sent and unacknowledged.
    net.stop_server();
    for k in 10..30 {
        written.push_str(&piece(k));
        net.append(0, ROOM, "s", &piece(k), None);
    }
    net.settle();
    net.cut(0);
    net.clients[0] = writer(99);
    let (w, restored) = stored_writer(dir.path());
    assert_eq!(restored, 20, "the unacknowledged pieces are kept");
    net.clients[0] = w;
    net.start_server();
    join(&mut net, 0);
    // The new process goes on writing the same stream: its next piece follows the kept ones.
    net.append(0, ROOM, "s", &piece(30), None);
    written.push_str(&piece(30));
    net.append(0, ROOM, "s", "", Some(StreamState::Done));
    net.advance(secs(30));
    join(&mut net, 1);
    net.advance(secs(30));
    assert_eq!(net.server.stream_text(ROOM, "s"), written);
    let (text, end) = shown(&mut net, 1, "s");
    assert_eq!(text, written);
    assert_eq!(end, Some(StreamState::Done));
}

#[test]
fn pieces_that_outran_a_refused_opening_are_sent_again_after_it() {
    let mut net = Net::new(vec![writer(1), reader(2)]);
    join(&mut net, 0);
    join(&mut net, 1);
    net.server.rate_limit_once.insert("s".into());
    let open = net.open_stream(0, ROOM, "s");
    let first = net.append(0, ROOM, "s", "one ", None);
    let second = net.append(0, ROOM, "s", "two", Some(StreamState::Done));
    net.settle();
    net.advance(secs(10));
    for op in [open, first, second] {
        assert!(
            matches!(net.c(0).result(op), Some(Ok(_))),
            "{:?}",
            net.c(0).result(op)
        );
    }
    assert_eq!(net.server.stream_text(ROOM, "s"), "one two");
    assert_eq!(
        shown(&mut net, 1, "s"),
        ("one two".into(), Some(StreamState::Done))
    );
}

#[test]
fn a_reader_cancels_and_the_writer_learns_it() {
    let mut net = Net::new(vec![writer(1), reader(2)]);
    join(&mut net, 0);
    join(&mut net, 1);
    net.open_stream(0, ROOM, "s");
    net.append(0, ROOM, "s", "partial ", None);
    net.settle();
    let now = net.now;
    let cancel = net.c(1).m.cancel(now, ROOM, "s");
    net.settle();
    assert!(matches!(net.c(1).result(cancel), Some(Ok(_))));
    // The writer is told by the stream's end piece, and its next piece is refused.
    let ended: Vec<_> = net
        .c(0)
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Append(a) if a.id == "s" => a.end,
            _ => None,
        })
        .collect();
    assert_eq!(ended, [StreamState::Cancelled]);
    let late = net.append(0, ROOM, "s", "more", None);
    net.settle();
    assert!(
        matches!(net.c(0).result(late), Some(Err(e)) if e.code() == "stream_ended"),
        "{:?}",
        net.c(0).result(late)
    );
    assert_eq!(net.server.stream_text(ROOM, "s"), "partial ");
    assert_eq!(
        shown(&mut net, 1, "s"),
        ("partial ".into(), Some(StreamState::Cancelled))
    );
}

#[test]
fn appending_to_a_stream_this_client_does_not_write_fails_at_once() {
    let mut net = Net::new(vec![writer(1)]);
    join(&mut net, 0);
    let op = net.append(0, ROOM, "nobody-opened-it", "x", None);
    assert!(
        matches!(net.c(0).result(op), Some(Err(e)) if e.code() == "not_found"),
        "{:?}",
        net.c(0).result(op)
    );
    net.open_stream(0, ROOM, "s");
    net.append(0, ROOM, "s", "", Some(StreamState::Done));
    let after_end = net.append(0, ROOM, "s", "x", None);
    assert!(matches!(net.c(0).result(after_end), Some(Err(_))));
}
