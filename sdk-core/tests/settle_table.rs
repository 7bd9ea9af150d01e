//! The settle table (`Machine::end_entry`): every way a queued publish can end, with and
//! without a store, each followed by a restart on the same store. What must hold after the
//! restart: a publish the app was told succeeded is stored once; one it was told failed is
//! never stored (nor, when it was never sent, sent); one reported kept is sent by the next
//! client and stored once.

mod support;

use std::path::Path;
use std::time::Duration;

use roomcast_core::machine::{Error, JoinOptions, OpId, Reply};
use roomcast_core::protocol::ClientFrame;
use roomcast_core::FileStore;
use support::{config, Client, Net};

const ROOM: &str = "r";

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A client of user `a`, on the store in `dir` when there is one, restored from it.
fn client(dir: Option<&Path>) -> (Client, Vec<OpId>) {
    let mut cfg = config("a", "a-device");
    cfg.backoff.max_attempts = Some(2);
    let Some(dir) = dir else {
        return (Client::new(cfg, 7), Vec::new());
    };
    cfg.persist = true;
    let opened = FileStore::open(dir).expect("open store");
    assert!(opened.damage.is_none(), "{:?}", opened.damage);
    let mut c = Client::new(cfg, 7);
    let ops = c.m.restore(opened.snapshot);
    c.store = Some(opened.store);
    (c, ops)
}

fn join(net: &mut Net) -> OpId {
    let now = net.now;
    let op = net.c(0).m.join(now, ROOM, JoinOptions::default());
    net.settle();
    op
}

/// How often the server stored a message with `id`.
fn stored(net: &Net, id: &str) -> usize {
    net.server
        .rooms
        .get(ROOM)
        .map_or(0, |r| r.log.iter().filter(|m| m.id == id).count())
}

fn sent(net: &Net, id: &str) -> usize {
    net.server
        .received
        .iter()
        .filter(|f| matches!(f, ClientFrame::Publish(p) if p.id == id))
        .count()
}

/// What the app is told about the publish.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Told {
    Sent,
    /// Failed, with this error code.
    Failed(&'static str),
    /// Kept for the next client, stopped for this reason (the code inside `kept`).
    Kept(&'static str),
}

fn told(result: Option<&Result<Reply, Error>>) -> Option<Told> {
    Some(match result? {
        Ok(Reply::Published(_)) => Told::Sent,
        Ok(other) => panic!("a publish completed with {other:?}"),
        Err(Error::Kept(why)) => Told::Kept(why.code()),
        Err(e) => Told::Failed(e.code()),
    })
}

/// Queues publish `id` while the server is down.
fn queue_offline(net: &mut Net, id: &str) -> OpId {
    net.stop_server();
    let op = net.publish(0, ROOM, id);
    net.settle();
    op
}

/// One way for a publish to end: the scenario, run on a joined client, returns the publish.
struct Case {
    name: &'static str,
    run: fn(&mut Net, &str) -> OpId,
    /// What the app is told with a store, and without one.
    with_store: Told,
    without_store: Told,
}

const CASES: &[Case] = &[
    Case {
        name: "acknowledged",
        run: |net, id| {
            let op = net.publish(0, ROOM, id);
            net.settle();
            op
        },
        with_store: Told::Sent,
        without_store: Told::Sent,
    },
    Case {
        name: "its own message came back on the resume (the ack was lost)",
        run: |net, id| {
            let op = net.publish(0, ROOM, id);
            // The publish reaches the server; the connection dies before the ack comes back.
            net.service(0);
            while net.deliver_up(0) {}
            net.cut(0);
            net.settle();
            net.advance(secs(5));
            op
        },
        with_store: Told::Sent,
        without_store: Told::Sent,
    },
    Case {
        name: "refused for good",
        run: |net, id| {
            net.server.refuse_ids.insert(id.to_owned());
            let op = net.publish(0, ROOM, id);
            net.settle();
            op
        },
        with_store: Told::Failed("bad_request"),
        without_store: Told::Failed("bad_request"),
    },
    Case {
        name: "its room was left",
        run: |net, id| {
            let op = queue_offline(net, id);
            let now = net.now;
            net.c(0).m.leave(now, ROOM);
            net.settle();
            op
        },
        with_store: Told::Failed("not_joined"),
        without_store: Told::Failed("not_joined"),
    },
    Case {
        name: "its room was refused at the rejoin",
        run: |net, id| {
            let op = queue_offline(net, id);
            net.server.forbidden.insert(ROOM.into());
            net.start_server();
            net.advance(secs(5));
            op
        },
        with_store: Told::Failed("forbidden"),
        without_store: Told::Failed("forbidden"),
    },
    Case {
        name: "the client closed",
        run: |net, id| {
            let op = queue_offline(net, id);
            let now = net.now;
            net.c(0).m.close(now);
            net.settle();
            op
        },
        with_store: Told::Kept("closed"),
        without_store: Told::Failed("closed"),
    },
    Case {
        name: "the client gave up reconnecting",
        run: |net, id| {
            let op = queue_offline(net, id);
            net.advance(secs(120));
            op
        },
        with_store: Told::Kept("gave_up"),
        without_store: Told::Failed("gave_up"),
    },
    Case {
        name: "the token was refused",
        run: |net, id| {
            let op = queue_offline(net, id);
            let now = net.now;
            net.c(0).m.set_token(now, "revoked".into());
            net.start_server();
            net.c(0).m.reconnect_now(now);
            net.settle();
            // The server answers the refused `hello` by closing with 4001.
            if let Some((conn, _)) = net.c(0).conn.take() {
                let now = net.now;
                net.c(0).m.handle_close(now, conn, Some(4001));
                net.service(0);
            }
            op
        },
        with_store: Told::Kept("unauthorized"),
        without_store: Told::Failed("unauthorized"),
    },
];

/// Runs `case` on a fresh client, then restarts: a new client (on the same store, if any)
/// joins, and the server, up again, is given time for any resend.
fn run(case: &Case, dir: Option<&Path>) {
    let name = case.name;
    let id = format!("p-{}", name.replace(' ', "-"));
    let (c, _) = client(dir);
    let mut net = Net::new(vec![c]);
    join(&mut net);
    let op = (case.run)(&mut net, &id);
    let expected = if dir.is_some() {
        case.with_store
    } else {
        case.without_store
    };
    assert_eq!(
        told(net.c(0).result(op)),
        Some(expected),
        "{name} (store: {})",
        dir.is_some()
    );

    // The process ends (its store released), and a new one starts on the same store.
    net.cut(0);
    net.clients[0] = client(None).0;
    let (c, restored) = client(dir);
    net.clients[0] = c;
    net.server.forbidden.clear();
    net.start_server();
    join(&mut net);
    net.advance(secs(5));

    let kept = matches!(expected, Told::Kept(_));
    assert_eq!(restored.len(), usize::from(kept), "{name}: restored");
    if kept {
        assert_eq!(
            told(net.c(0).result(restored[0])),
            Some(Told::Sent),
            "{name}: the kept publish is sent by the next client"
        );
    }
    let once = matches!(expected, Told::Sent | Told::Kept(_));
    assert_eq!(stored(&net, &id), usize::from(once), "{name}: stored");
}

#[test]
fn every_end_with_a_store_then_a_restart() {
    for case in CASES {
        let dir = tempfile::tempdir().expect("tempdir");
        run(case, Some(dir.path()));
    }
}

#[test]
fn every_end_without_a_store_then_a_restart() {
    for case in CASES {
        run(case, None);
    }
}

/// A store that reports a write failed: the publish fails with `storage` and is never sent,
/// by this client or the next, also when the record did land before the failure was reported
/// (an fsync error after the write): the machine writes it off.
#[test]
fn a_failed_write_fails_the_publish_and_the_next_client_never_sends_it() {
    for landed in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (c, _) = client(Some(dir.path()));
        let mut net = Net::new(vec![c]);
        join(&mut net);
        net.c(0).hold_writes = true;
        let op = net.publish(0, ROOM, "unkept");
        let records = std::mem::take(&mut net.c(0).unwritten);
        if landed {
            if let Some(store) = net.c(0).store.as_mut() {
                store.append(&records).expect("append");
            }
        }
        let (now, upto) = (net.now, net.c(0).last_record);
        net.c(0).m.persisted(now, upto, Err("I/O error".into()));
        net.c(0).hold_writes = false;
        net.service(0);
        net.settle();
        assert_eq!(
            told(net.c(0).result(op)),
            Some(Told::Failed("storage")),
            "landed: {landed}"
        );
        assert_eq!(sent(&net, "unkept"), 0, "landed: {landed}");

        net.cut(0);
        net.clients[0] = client(None).0;
        let (c, restored) = client(Some(dir.path()));
        assert!(
            restored.is_empty(),
            "landed: {landed}: told failed, never sent later"
        );
        net.clients[0] = c;
        join(&mut net);
        net.advance(secs(5));
        assert_eq!(sent(&net, "unkept"), 0, "landed: {landed}");
    }
}

/// Records are numbered; a report at or below one already made changes nothing, and a close
/// with a store completes only once what it leaves behind is reported written.
#[test]
fn close_completes_once_its_records_are_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (c, _) = client(Some(dir.path()));
    let mut net = Net::new(vec![c]);
    join(&mut net);
    net.c(0).hold_writes = true;
    net.publish(0, ROOM, "before-close");
    let now = net.now;
    let close = net.c(0).m.close(now);
    net.service(0);
    assert!(net.c(0).result(close).is_none(), "waits for the store");
    assert!(net.c(0).m.unwritten() > 0);

    // A stale report (record 0) changes nothing.
    net.c(0).m.persisted(now, 0, Ok(()));
    net.service(0);
    assert!(net.c(0).result(close).is_none());

    net.c(0).hold_writes = false;
    net.c(0).write_records(now);
    net.service(0);
    assert!(matches!(net.c(0).result(close), Some(Ok(Reply::Closed))));
    assert_eq!(net.c(0).m.unwritten(), 0);
}
