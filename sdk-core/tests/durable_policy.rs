//! The durable promise under adversity, on the virtual clock with the real file store: a
//! passing join refusal keeps the room, its queue and its position; what the app is told
//! failed is never sent later and what is kept is reported as kept; a server whose history
//! went back, or got a new epoch, loses the client nothing it still stores.

mod support;

use std::path::Path;
use std::time::Duration;

use roomcast_core::machine::{Error, Event, Gap, JoinOptions, OpId, Record, Reply};
use roomcast_core::protocol::ClientFrame;
use roomcast_core::FileStore;
use support::{config, Client, Net};

const ROOM: &str = "r";

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A client of `user` on the store in `dir` (persist on), restored from what is there.
fn stored(user: &str, dir: &Path) -> (Client, Vec<OpId>) {
    stored_with(user, dir, None)
}

/// The same, giving up after `max_attempts` reconnect attempts.
fn stored_with(user: &str, dir: &Path, max_attempts: Option<u32>) -> (Client, Vec<OpId>) {
    let mut cfg = config(user, &format!("{user}-device"));
    cfg.persist = true;
    cfg.backoff.max_attempts = max_attempts;
    let opened = FileStore::open(dir).expect("open store");
    assert!(opened.damage.is_none(), "{:?}", opened.damage);
    let mut c = Client::new(cfg, 7);
    let ops = c.m.restore(opened.snapshot);
    c.store = Some(opened.store);
    (c, ops)
}

fn plain(user: &str) -> Client {
    Client::new(config(user, &format!("{user}-device")), 9)
}

fn join(net: &mut Net, i: usize) -> OpId {
    let now = net.now;
    let op = net.c(i).m.join(now, ROOM, JoinOptions::default());
    net.settle();
    op
}

fn seqs(c: &Client) -> Vec<u64> {
    c.messages.iter().filter_map(|m| m.seq).collect()
}

fn gaps(c: &Client) -> Vec<Gap> {
    c.events
        .iter()
        .filter_map(|e| match e {
            Event::Gap(g) => Some(g.clone()),
            _ => None,
        })
        .collect()
}

/// How often the server stored a message with `id` (the promise: once at most).
fn stored_count(net: &Net, id: &str) -> usize {
    net.server
        .rooms
        .get(ROOM)
        .map_or(0, |r| r.log.iter().filter(|m| m.id == id).count())
}

fn publishes_sent(net: &Net, id: &str) -> usize {
    net.server
        .received
        .iter()
        .filter(|f| matches!(f, ClientFrame::Publish(p) if p.id == id))
        .count()
}

#[test]
fn a_passing_join_refusal_keeps_the_room_its_queue_and_its_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _) = stored("a", dir.path());
    let mut net = Net::new(vec![a, plain("b")]);
    join(&mut net, 0);
    join(&mut net, 1);
    for i in 1..=3 {
        net.publish(1, ROOM, &format!("b{i}"));
    }
    net.settle();
    net.advance(secs(2));
    assert_eq!(seqs(net.c(0)), [1, 2, 3]);

    // The server is busy: a's rejoin is refused with `internal` twice, and a publishes
    // meanwhile.
    net.cut(0);
    net.server.refuse_joins = 2;
    let op = net.publish(0, ROOM, "a1");
    for i in 4..=5 {
        net.publish(1, ROOM, &format!("b{i}"));
    }
    net.settle();
    net.advance(secs(10));
    assert!(net.c(0).m.is_joined(ROOM), "joined once the server answers");
    assert!(matches!(net.c(0).result(op), Some(Ok(Reply::Published(_)))));
    assert_eq!(stored_count(&net, "a1"), 1);
    // The position was kept: b4 and b5 arrive once, nothing repeats, no gap.
    assert_eq!(seqs(net.c(0)), [1, 2, 3, 4, 5]);
    assert!(gaps(net.c(0)).is_empty());
    assert!(
        !net.c(0)
            .events
            .iter()
            .any(|e| matches!(e, Event::RoomLost { .. })),
        "a passing refusal does not lose the room"
    );
}

#[test]
fn a_first_join_refused_for_a_passing_reason_is_retried() {
    let mut net = Net::new(vec![plain("a")]);
    net.server.refuse_joins = 3;
    let op = join(&mut net, 0);
    assert!(net.c(0).result(op).is_none(), "still waiting");
    net.advance(secs(5));
    assert!(matches!(net.c(0).result(op), Some(Ok(Reply::Joined(_)))));
}

/// A stored client with one publish queued while the server is down; `stop` ends it (close,
/// unauthorized or gave up). Returns the publish's result.
fn stop_with_a_queued_publish(
    dir: &Path,
    id: &str,
    stop: impl FnOnce(&mut Net),
) -> Option<Result<Reply, Error>> {
    let (a, _) = stored_with("a", dir, Some(2));
    let mut net = Net::new(vec![a]);
    join(&mut net, 0);
    net.stop_server();
    let op = net.publish(0, ROOM, id);
    net.settle();
    stop(&mut net);
    net.settle();
    net.c(0).result(op).cloned()
}

/// How a client comes to a stop.
type Stop = fn(&mut Net);

#[test]
fn close_unauthorized_and_gave_up_report_kept_publishes_the_next_start_sends_once() {
    let cases: [(&str, Stop); 3] = [
        ("closed", |net| {
            let now = net.now;
            net.c(0).m.close(now);
        }),
        ("gave-up", |net| net.advance(secs(120))),
        ("unauthorized", |net| {
            let now = net.now;
            net.c(0).m.set_token(now, "revoked".into());
            net.start_server();
            net.c(0).m.reconnect_now(now);
            net.settle();
            if let Some((conn, _)) = net.c(0).conn.take() {
                let now = net.now;
                net.c(0).m.handle_close(now, conn, Some(4001));
            }
        }),
    ];
    for (name, stop) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = format!("kept-{name}");
        let result = stop_with_a_queued_publish(dir.path(), &id, stop);
        let why = match &result {
            Some(Err(Error::Kept(why))) => why.code(),
            other => panic!("{name}: expected Kept, got {other:?}"),
        };
        assert_eq!(
            why,
            match name {
                "closed" => "closed",
                "gave-up" => "gave_up",
                _ => "unauthorized",
            }
        );

        // The next process on the store sends it, once.
        let (a, restored) = stored("a", dir.path());
        assert_eq!(restored.len(), 1, "{name}: kept in the store");
        let mut net = Net::new(vec![a]);
        join(&mut net, 0);
        net.advance(secs(2));
        assert!(
            matches!(net.c(0).result(restored[0]), Some(Ok(Reply::Published(_)))),
            "{name}: {:?}",
            net.c(0).result(restored[0])
        );
        assert_eq!(stored_count(&net, &id), 1, "{name}");
    }
}

#[test]
fn without_a_store_the_same_stops_fail_and_nothing_is_sent_later() {
    let mut net = Net::new(vec![plain("a")]);
    join(&mut net, 0);
    net.stop_server();
    let op = net.publish(0, ROOM, "x");
    let now = net.now;
    net.c(0).m.close(now);
    net.settle();
    assert!(matches!(net.c(0).result(op), Some(Err(Error::Closed))));
    net.start_server();
    net.advance(secs(60));
    assert_eq!(publishes_sent(&net, "x"), 0);
}

#[test]
fn a_final_refusal_fails_the_publish_and_removes_it_from_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _) = stored("a", dir.path());
    let mut net = Net::new(vec![a]);
    join(&mut net, 0);
    net.stop_server();
    let op = net.publish(0, ROOM, "refused");
    net.server.forbidden.insert(ROOM.into());
    net.start_server();
    net.advance(secs(5));
    assert!(matches!(
        net.c(0).result(op),
        Some(Err(Error::Forbidden(_)))
    ));
    assert!(
        net.c(0)
            .events
            .iter()
            .any(|e| matches!(e, Event::RoomLost { .. })),
        "the room is lost"
    );
    net.advance(secs(2));
    drop(net);
    let (_, restored) = stored("a", dir.path());
    assert!(restored.is_empty(), "told failed, so never sent later");
}

#[test]
fn a_server_whose_history_went_back_delivers_the_messages_that_reuse_its_seqs() {
    let mut net = Net::new(vec![plain("a"), plain("b")]);
    join(&mut net, 0);
    join(&mut net, 1);
    for i in 1..=5 {
        net.publish(0, ROOM, &format!("old{i}"));
    }
    net.settle();
    assert_eq!(seqs(net.c(1)), [1, 2, 3, 4, 5]);

    // The server is restored from a copy holding only seqs 1..=3 (same epoch).
    net.stop_server();
    if let Some(room) = net.server.rooms.get_mut(ROOM) {
        room.log.truncate(3);
    }
    net.start_server();
    net.advance(secs(5));
    assert!(net.c(1).m.is_joined(ROOM));
    let g = gaps(net.c(1));
    assert_eq!(g.len(), 1, "{g:?}");
    assert_eq!((g[0].since, g[0].head), (Some(3), 5));
    assert_eq!(g[0].previous_epoch.as_deref(), Some(g[0].epoch.as_str()));
    assert_eq!(net.c(1).m.position(ROOM).map(|p| p.0), Some(3));

    // New messages reuse seqs 4 and 5: delivered, not dropped as seen.
    for i in 1..=3 {
        net.publish(0, ROOM, &format!("new{i}"));
    }
    net.settle();
    let got: Vec<(u64, String)> = net.c(1).messages[5..]
        .iter()
        .map(|m| (m.seq.unwrap_or(0), m.id.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (4, "new1".to_string()),
            (5, "new2".to_string()),
            (6, "new3".to_string())
        ]
    );
}

#[test]
fn a_new_epoch_delivers_its_stored_messages_from_the_oldest_with_a_gap_for_the_old_one() {
    let mut net = Net::new(vec![plain("a"), plain("b")]);
    join(&mut net, 0);
    join(&mut net, 1);
    for i in 1..=5 {
        net.publish(0, ROOM, &format!("old{i}"));
    }
    net.settle();
    // b is away while the server's store is replaced (new epoch) and three messages arrive.
    net.cut(1);
    net.server.epoch = "e2".into();
    net.server.rooms.remove(ROOM);
    net.cut(0);
    net.settle();
    net.advance(secs(3));
    for i in 1..=3 {
        net.publish(0, ROOM, &format!("new{i}"));
    }
    net.settle();
    net.advance(secs(60));
    let g = gaps(net.c(1));
    assert_eq!(g.len(), 1, "{g:?}");
    assert_eq!(g[0].previous_epoch.as_deref(), Some("e1"));
    assert_eq!(g[0].epoch, "e2");
    assert_eq!(
        (g[0].since, g[0].head),
        (Some(5), 5),
        "only the old epoch's part"
    );
    let ids: Vec<&str> = net.c(1).messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        ["old1", "old2", "old3", "old4", "old5", "new1", "new2", "new3"]
    );
    assert_eq!(net.c(1).m.position(ROOM), Some((3, Some("e2"))));
}

#[test]
fn a_kept_publish_is_not_written_as_done() {
    // The store sees no `Done` for a publish reported as kept.
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _) = stored("a", dir.path());
    let mut net = Net::new(vec![a]);
    join(&mut net, 0);
    net.stop_server();
    net.publish(0, ROOM, "k");
    net.settle();
    let now = net.now;
    net.c(0).m.close(now);
    let mut dones = 0;
    loop {
        match net.c(0).m.poll_output() {
            roomcast_core::machine::Output::Persist {
                record: Record::Done { .. },
                ..
            } => dones += 1,
            roomcast_core::machine::Output::Timeout(_) => break,
            _ => {}
        }
    }
    assert_eq!(dones, 0);
}
