//! The store hook on a virtual clock, with the real file store: publishes and room positions
//! kept across a process kill (including one in the middle of a write), restored into a new
//! machine, sent once, resumed without a gap.

mod support;

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use roomcast_core::machine::{Error, JoinOptions, OpId, Record, Reply};
use roomcast_core::protocol::{ClientFrame, Message};
use roomcast_core::FileStore;
use support::{config, Client, Net};

const ROOM: &str = "r";

/// A client of `user` whose machine keeps its state in `dir`, restored from what is there.
fn stored_client(user: &str, dir: &Path, capacity: usize) -> (Client, Vec<OpId>) {
    let mut cfg = config(user, &format!("{user}-device"));
    cfg.persist = true;
    cfg.queue_capacity = capacity;
    let opened = FileStore::open(dir).expect("open store");
    assert!(opened.damage.is_none(), "{:?}", opened.damage);
    let mut c = Client::new(cfg, 7);
    let ops = c.m.restore(opened.snapshot);
    c.store = Some(opened.store);
    (c, ops)
}

fn plain_client(user: &str) -> Client {
    Client::new(config(user, &format!("{user}-device")), 9)
}

fn connect_and_join(net: &mut Net, i: usize) {
    let now = net.now;
    net.c(i).m.connect(now);
    net.c(i).m.join(now, ROOM, JoinOptions::default());
    net.settle();
    assert!(net.c(i).m.is_joined(ROOM), "client {i} joined");
}

/// The process behind client `i` dies: its machine and store handle are gone, what reached
/// the disk stays.
fn kill(net: &mut Net, i: usize) {
    net.cut(i);
    let c = net.c(i);
    c.store = None;
    c.unwritten.clear();
}

/// Client 0 publishes `m<n>` for each `n`.
fn publish_numbered(net: &mut Net, ns: std::ops::RangeInclusive<u32>) {
    for n in ns {
        net.publish(0, ROOM, &format!("m{n}"));
    }
}

/// A new process for client `i` on the store in `dir`, connected and joined.
fn reopen(net: &mut Net, i: usize, user: &str, dir: &Path) {
    let (c, _) = stored_client(user, dir, 1000);
    net.clients[i] = c;
    connect_and_join(net, i);
}

fn seqs(c: &Client) -> Vec<u64> {
    c.messages.iter().filter_map(|m| m.seq).collect()
}

fn ids(messages: &[Message]) -> Vec<String> {
    messages.iter().map(|m| m.id.clone()).collect()
}

fn server_ids(net: &Net) -> Vec<String> {
    net.server
        .rooms
        .get(ROOM)
        .map(|r| ids(&r.log))
        .unwrap_or_default()
}

fn publish_frames(net: &Net) -> usize {
    net.server
        .received
        .iter()
        .filter(|f| matches!(f, ClientFrame::Publish(_)))
        .count()
}

#[test]
fn offline_publishes_survive_a_kill_and_are_sent_once_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _) = stored_client("a", dir.path(), 1000);
    let mut net = Net::new(vec![a, plain_client("b")]);
    connect_and_join(&mut net, 0);
    connect_and_join(&mut net, 1);
    net.stop_server();
    let sent: Vec<String> = (0..30).map(|n| format!("p{n}")).collect();
    for id in &sent {
        net.publish(0, ROOM, id);
    }
    assert_eq!(net.c(0).m.queued(), 30);
    kill(&mut net, 0);

    let (a2, restored) = stored_client("a", dir.path(), 1000);
    assert_eq!(restored.len(), 30);
    assert_eq!(
        a2.m.pending()
            .iter()
            .map(|p| p.id.clone())
            .collect::<Vec<_>>(),
        sent
    );
    net.clients[0] = a2;
    net.start_server();
    net.advance(Duration::from_secs(60));
    connect_and_join(&mut net, 0);
    net.advance(Duration::from_secs(5));

    assert_eq!(server_ids(&net), sent, "stored once each, in order");
    assert_eq!(ids(&net.c(1).messages), sent, "the listener got each once");
    for op in restored {
        assert!(
            matches!(net.c(0).result(op), Some(Ok(Reply::Published(_)))),
            "{:?}",
            net.c(0).result(op)
        );
    }
    assert_eq!(net.c(0).m.queued(), 0);
    // Acknowledged publishes left the store: a third client has nothing to send.
    kill(&mut net, 0);
    let (a3, restored) = stored_client("a", dir.path(), 1000);
    assert!(restored.is_empty() && a3.m.pending().is_empty());
}

#[test]
fn a_publish_is_sent_only_once_durable_and_a_failed_write_sends_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _) = stored_client("a", dir.path(), 1000);
    let mut net = Net::new(vec![a]);
    connect_and_join(&mut net, 0);
    net.c(0).hold_writes = true;
    let first = net.publish(0, ROOM, "kept");
    net.settle();
    assert_eq!(
        publish_frames(&net),
        0,
        "not sent before its record is durable"
    );
    net.c(0).hold_writes = false;
    let now = net.now;
    net.c(0).write_records(now);
    net.settle();
    assert_eq!(publish_frames(&net), 1);
    assert!(matches!(
        net.c(0).result(first),
        Some(Ok(Reply::Published(_)))
    ));

    // The disk is full: the write fails, the publish fails with a storage error, unsent.
    net.c(0).hold_writes = true;
    let second = net.publish(0, ROOM, "lost");
    let records = std::mem::take(&mut net.c(0).unwritten);
    assert!(matches!(records.as_slice(), [Record::Queued(p)] if p.id == "lost"));
    let now = net.now;
    let upto = net.c(0).last_record;
    net.c(0)
        .m
        .persisted(now, upto, Err("No space left on device".into()));
    net.c(0).hold_writes = false;
    net.service(0);
    net.settle();
    assert_eq!(
        net.c(0).result(second),
        Some(&Err(Error::Storage("No space left on device".into())))
    );
    assert_eq!(publish_frames(&net), 1);
    assert_eq!(server_ids(&net), vec!["kept".to_owned()]);
    assert_eq!(net.c(0).m.queued(), 0);
}

#[test]
fn a_kill_mid_write_keeps_every_whole_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _) = stored_client("a", dir.path(), 1000);
    let mut net = Net::new(vec![a]);
    connect_and_join(&mut net, 0);
    net.stop_server();
    for n in 0..3 {
        net.publish(0, ROOM, &format!("d{n}"));
    }
    // Three more go out in one write that the kill cuts short, inside the second record.
    net.c(0).hold_writes = true;
    for n in 3..6 {
        net.publish(0, ROOM, &format!("d{n}"));
    }
    let records = std::mem::take(&mut net.c(0).unwritten);
    let store = net.c(0).store.as_mut().expect("store");
    let before = store.len();
    store.append(&records[..1]).expect("append");
    let one = store.len() - before;
    store.append(&records[1..]).expect("append");
    kill(&mut net, 0);
    let journal = OpenOptions::new()
        .write(true)
        .open(dir.path().join("journal"))
        .expect("journal");
    journal.set_len(before + one + one / 2).expect("cut");
    drop(journal);

    let (a2, restored) = stored_client("a", dir.path(), 1000);
    assert_eq!(
        restored.len(),
        4,
        "three written, one whole from the cut write"
    );
    net.clients[0] = a2;
    net.start_server();
    connect_and_join(&mut net, 0);
    net.advance(Duration::from_secs(5));
    assert_eq!(server_ids(&net), vec!["d0", "d1", "d2", "d3"]);
}

#[test]
fn a_failing_compaction_fails_no_publish_and_repeats_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _) = stored_client("a", dir.path(), 1000);
    let mut net = Net::new(vec![a]);
    connect_and_join(&mut net, 0);
    // A directory where compaction writes its temporary file: every compaction fails.
    std::fs::create_dir(dir.path().join("journal.tmp")).expect("mkdir");
    // About 6 KB of records per publish (its id twice, then its done): past the compaction
    // threshold (1 MiB) after about 170, retried every 64 KiB after that.
    let sent: Vec<String> = (0..300)
        .map(|n| format!("{n:04}-{}", "x".repeat(2000)))
        .collect();
    let ops: Vec<OpId> = sent.iter().map(|id| net.publish(0, ROOM, id)).collect();
    net.settle();
    net.advance(Duration::from_secs(2));
    for op in ops {
        assert!(
            matches!(net.c(0).result(op), Some(Ok(Reply::Published(_)))),
            "{:?}",
            net.c(0).result(op)
        );
    }
    let store = net.c(0).store.as_ref().expect("store");
    assert!(store.compaction_error().is_some());
    assert!(store.len() > 1024 * 1024, "{}", store.len());
    assert_eq!(server_ids(&net), sent);
    // A new process sends nothing again.
    kill(&mut net, 0);
    let (a2, restored) = stored_client("a", dir.path(), 1000);
    assert!(restored.is_empty());
    net.clients[0] = a2;
    connect_and_join(&mut net, 0);
    net.advance(Duration::from_secs(5));
    assert_eq!(publish_frames(&net), 300);
}

#[test]
fn a_restored_position_resumes_without_a_gap_and_repeats_at_most_one_interval() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (listener, _) = stored_client("l", dir.path(), 1000);
    let mut net = Net::new(vec![plain_client("p"), listener]);
    connect_and_join(&mut net, 0);
    connect_and_join(&mut net, 1);
    publish_numbered(&mut net, 1..=10);
    net.settle();
    // The position is written within the interval.
    net.advance(Duration::from_secs(2));
    publish_numbered(&mut net, 11..=13);
    net.settle();
    assert_eq!(net.c(1).messages.len(), 13);
    // Killed before the interval passed: 11..13 were handled but their position not written.
    kill(&mut net, 1);
    publish_numbered(&mut net, 14..=20);
    reopen(&mut net, 1, "l", dir.path());
    net.advance(Duration::from_secs(5));
    assert_eq!(
        seqs(net.c(1)),
        (11..=20).collect::<Vec<_>>(),
        "from the kept position on"
    );

    // A clean close writes the position at once: nothing is repeated after it.
    let now = net.now;
    net.c(1).m.close(now);
    net.service(1);
    net.c(1).store = None;
    publish_numbered(&mut net, 21..=25);
    reopen(&mut net, 1, "l", dir.path());
    net.advance(Duration::from_secs(5));
    assert_eq!(seqs(net.c(1)), (21..=25).collect::<Vec<_>>());
}

#[test]
fn the_position_never_passes_a_message_the_app_has_not_handled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut listener, _) = stored_client("l", dir.path(), 1000);
    listener.auto_handled = false;
    let mut net = Net::new(vec![plain_client("p"), listener]);
    connect_and_join(&mut net, 0);
    connect_and_join(&mut net, 1);
    publish_numbered(&mut net, 1..=10);
    net.settle();
    // The app's handlers got through 4 of the 10 delivered.
    let now = net.now;
    net.c(1).m.handled(now, ROOM, 4);
    net.service(1);
    net.advance(Duration::from_secs(2));
    kill(&mut net, 1);
    reopen(&mut net, 1, "l", dir.path());
    net.advance(Duration::from_secs(2));
    assert_eq!(seqs(net.c(1)), (5..=10).collect::<Vec<_>>());
}

#[test]
fn leaving_forgets_the_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (listener, _) = stored_client("l", dir.path(), 1000);
    let mut net = Net::new(vec![plain_client("p"), listener]);
    connect_and_join(&mut net, 0);
    connect_and_join(&mut net, 1);
    net.publish(0, ROOM, "m1");
    net.advance(Duration::from_secs(2));
    let now = net.now;
    net.c(1).m.leave(now, ROOM);
    net.settle();
    kill(&mut net, 1);
    let opened = FileStore::open(dir.path()).expect("open");
    assert!(
        opened.snapshot.positions.is_empty(),
        "{:?}",
        opened.snapshot
    );
}

#[test]
fn a_full_queue_stays_full_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _) = stored_client("a", dir.path(), 5);
    let mut net = Net::new(vec![a]);
    connect_and_join(&mut net, 0);
    net.stop_server();
    for n in 0..5 {
        net.publish(0, ROOM, &format!("q{n}"));
    }
    kill(&mut net, 0);
    // Restored with a smaller capacity: all five are kept, none trimmed.
    let (a2, restored) = stored_client("a", dir.path(), 3);
    assert_eq!(restored.len(), 5);
    net.clients[0] = a2;
    let now = net.now;
    net.c(0).m.connect(now);
    net.c(0).m.join(now, ROOM, JoinOptions::default());
    let op = net.publish(0, ROOM, "over");
    assert_eq!(
        net.c(0).result(op),
        Some(&Err(Error::QueueFull { capacity: 3 }))
    );
    net.start_server();
    net.advance(Duration::from_secs(60));
    assert_eq!(server_ids(&net), vec!["q0", "q1", "q2", "q3", "q4"]);
}

#[derive(Debug, Clone)]
enum Step {
    Publish,
    Settle,
    Advance(u64),
    Cut(usize),
    ServerDown,
    ServerUp,
    /// Kill client `.0`; with `Some(f)`, in the middle of a write of its unwritten records,
    /// cut at fraction `f`/256 of it.
    Kill(usize, Option<u8>),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => Just(Step::Publish),
        3 => Just(Step::Settle),
        3 => (100u64..3_000).prop_map(Step::Advance),
        1 => (0usize..2).prop_map(Step::Cut),
        1 => Just(Step::ServerDown),
        1 => Just(Step::ServerUp),
        1 => ((0usize..2), proptest::option::of(any::<u8>())).prop_map(|(i, f)| Step::Kill(i, f)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random publishes, cuts, outages and kills (some mid-write) of a publisher and a
    /// listener that both keep a store: every publish whose record was durable is stored
    /// once, in publish order, and the listener's messages across its lives cover every seq,
    /// repeating only after a kill.
    #[test]
    fn random_kills_lose_nothing(steps in proptest::collection::vec(step(), 1..60)) {
        let pdir = tempfile::tempdir().expect("tempdir");
        let ldir = tempfile::tempdir().expect("tempdir");
        let dirs = [pdir.path().to_path_buf(), ldir.path().to_path_buf()];
        let (p, _) = stored_client("p", &dirs[0], 10_000);
        let (l, _) = stored_client("l", &dirs[1], 10_000);
        let mut net = Net::new(vec![p, l]);
        connect_and_join(&mut net, 0);
        connect_and_join(&mut net, 1);
        let mut next = 0u32;
        let mut published: Vec<String> = Vec::new();
        // The listener's messages from earlier lives.
        let mut seen: Vec<Message> = Vec::new();
        let mut killed = [false, false];
        // Publishes whose record never reached the disk whole: a kill may lose them.
        let mut may_lose: BTreeSet<String> = BTreeSet::new();
        let strictly_rising = |ms: &[Message]| ms.windows(2).all(|w| w[0].seq < w[1].seq);
        for s in steps {
            match s {
                Step::Publish if !killed[0] => {
                    let id = format!("x{next}");
                    next += 1;
                    net.publish(0, ROOM, &id);
                    published.push(id);
                }
                Step::Publish => {}
                Step::Settle => net.settle(),
                Step::Advance(ms) => net.advance(Duration::from_millis(ms)),
                Step::Cut(i) => net.cut(i),
                Step::ServerDown => net.stop_server(),
                Step::ServerUp => net.start_server(),
                Step::Kill(i, torn) => {
                    for r in &net.c(i).unwritten {
                        if let Record::Queued(p) = r {
                            may_lose.insert(p.id.clone());
                        }
                    }
                    if let Some(f) = torn {
                        // Records drained and being written when the process dies.
                        let records = std::mem::take(&mut net.c(i).unwritten);
                        if let Some(store) = net.c(i).store.as_mut() {
                            let before = store.len();
                            if store.append(&records).is_ok() {
                                let cut = before + (store.len() - before) * u64::from(f) / 256;
                                let journal = OpenOptions::new()
                                    .write(true)
                                    .open(dirs[i].join("journal"))
                                    .expect("journal");
                                journal.set_len(cut).expect("cut");
                            }
                        }
                    }
                    if i == 1 {
                        prop_assert!(strictly_rising(&net.c(1).messages));
                        seen.append(&mut net.c(1).messages);
                    }
                    kill(&mut net, i);
                    killed[i] = true;
                    // A new process on the same store.
                    let user = if i == 0 { "p" } else { "l" };
                    let (c, _) = stored_client(user, &dirs[i], 10_000);
                    net.clients[i] = c;
                    let now = net.now;
                    net.c(i).m.connect(now);
                    net.c(i).m.join(now, ROOM, JoinOptions::default());
                    net.service(i);
                    killed[i] = false;
                }
            }
        }
        net.start_server();
        net.advance(Duration::from_secs(120));
        net.settle();
        net.advance(Duration::from_secs(5));

        // What the publisher's store held durably is on the server once, in publish order.
        let stored = server_ids(&net);
        let unique: BTreeSet<&String> = stored.iter().collect();
        prop_assert_eq!(unique.len(), stored.len(), "an id stored twice");
        let order: Vec<&String> = published.iter().filter(|id| unique.contains(id)).collect();
        prop_assert_eq!(order, stored.iter().collect::<Vec<_>>());
        prop_assert_eq!(net.c(0).m.queued(), 0);
        for id in &published {
            prop_assert!(
                unique.contains(id) || may_lose.contains(id),
                "{} was kept by the store but never stored", id
            );
        }

        // The listener, over all its lives, saw every seq; in each life once, in order.
        prop_assert!(strictly_rising(&net.c(1).messages));
        seen.append(&mut net.c(1).messages);
        let got: BTreeSet<u64> = seen.iter().filter_map(|m| m.seq).collect();
        let head = stored.len() as u64;
        prop_assert_eq!(got, (1..=head).collect::<BTreeSet<u64>>());
    }
}
