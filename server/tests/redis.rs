//! The Redis engine (`--redis`) against a real `redis-server` on loopback, with two server
//! nodes (the binary, so a node can be killed with SIGKILL like a crash).
//!
//! These tests need the `redis-server` executable (Debian package `redis-server`;
//! `scripts/setup.sh` installs it). Without it they fail, saying so: they never skip.

mod common;
mod redis_server;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{of_type, seqs, token, Client, Got, SECRET};
use redis_server::Redis;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_roomcast-server");
/// Presence TTL given to the nodes: short, so expiry is observable quickly.
const PRESENCE_TTL_MS: u64 = 1500;

/// One `roomcast-server --redis` node, killed (SIGKILL) on drop.
struct Node {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Node {
    fn start(redis: &Redis) -> Node {
        Node::start_with(redis, &[])
    }

    /// A node with more command-line flags.
    fn start_with(redis: &Redis, flags: &[&str]) -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--redis", &redis.url])
            .args(["--presence-ttl-ms", &PRESENCE_TTL_MS.to_string()])
            .args(flags)
            .arg("--data")
            .arg(dir.path())
            .env("ROOMCAST_JWT_SECRET", SECRET)
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("RUST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("spawn roomcast-server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("roomcast-server listening on http://") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("node starts")
            .parse()
            .expect("address");
        Node {
            child,
            addr,
            _dir: dir,
        }
    }

    async fn client(&self, user: &str) -> Client {
        Client::hello(self.addr, user, &token(user, Some(3600), None)).await
    }

    /// SIGKILL: no cleanup at all, like a crash.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn publish(r: u64, room: &str, id: &str) -> Value {
    json!({"type":"publish","ref":r,"room":room,"id":id,"event":"chat.message","data":{"n":id}})
}

/// Reads frames until `done` says so; returns them all.
async fn read_until(c: &mut Client, mut done: impl FnMut(&[Value]) -> bool) -> Vec<Value> {
    let mut frames = Vec::new();
    while !done(&frames) {
        match c.next_within(Duration::from_secs(10)).await {
            Got::Frame(v) => frames.push(v),
            other => panic!("connection ended: {other:?}; so far: {frames:?}"),
        }
    }
    frames
}

/// The next frame of type `kind`, skipping presence events.
async fn next_of(c: &mut Client, kind: &str) -> Value {
    loop {
        let f = c.recv().await;
        if f["type"] == kind {
            return f;
        }
        assert_eq!(f["type"], "presence", "expected {kind}, got {f}");
    }
}

/// Publishes and waits for the ack, skipping presence events.
async fn publish_acked(c: &mut Client, r: u64, room: &str, id: &str) -> Value {
    c.send(publish(r, room, id)).await;
    let ack = next_of(c, "ack").await;
    assert_eq!(ack["ref"], r);
    ack
}

fn assert_ascending_once(seqs: &[u64]) {
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "not strictly ascending: {seqs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_converse_in_order_exactly_once() {
    let redis = Redis::start();
    let a = Node::start(&redis);
    let b = Node::start(&redis);
    let room = "conv-1";

    let mut alice = a.client("alice").await;
    alice.join(1, room).await;
    let mut bob = b.client("bob").await;
    let joined = bob.join(1, room).await;
    // Presence crosses nodes: bob sees alice (node A) in joined, alice hears bob arrive.
    let names: Vec<&str> = joined["presence"]
        .as_array()
        .expect("presence")
        .iter()
        .filter_map(|m| m["user"].as_str())
        .collect();
    assert!(
        names.contains(&"alice") && names.contains(&"bob"),
        "{joined}"
    );
    let p = alice.expect("presence").await;
    assert_eq!(p["event"], "join");
    assert_eq!(p["member"]["user"], "bob");

    // Listeners on both nodes, one of them joined from 0 while publishes are in flight.
    let mut watch_a = a.client("wa").await;
    watch_a.join(1, room).await;
    let mut watch_b = b.client("wb").await;

    // Both publish 30 messages, pipelined, at the same time.
    const N: u64 = 30;
    for i in 1..=N {
        alice.send(publish(100 + i, room, &format!("a-{i}"))).await;
        bob.send(publish(100 + i, room, &format!("b-{i}"))).await;
        if i == N / 2 {
            watch_b
                .send(json!({"type":"join","ref":2,"room":room,"since":0}))
                .await;
        }
    }
    let total = 2 * N;
    let is_done = |n_acks: u64, n_msgs: u64| {
        move |f: &[Value]| {
            of_type(f, "ack").count() as u64 == n_acks && seqs(f).len() as u64 == n_msgs
        }
    };
    let fa = read_until(&mut alice, is_done(N, N)).await;
    let fb = read_until(&mut bob, is_done(N, N)).await;
    for (frames, own) in [(&fa, "a-"), (&fb, "b-")] {
        let got = seqs(frames);
        assert_ascending_once(&got);
        // Nothing of one's own comes back; acks and messages together are 1..=2N.
        assert!(
            of_type(frames, "message").all(|m| !m["id"].as_str().unwrap_or("").starts_with(own))
        );
        let mut all: BTreeSet<u64> = got.into_iter().collect();
        all.extend(of_type(frames, "ack").filter_map(|a| a["seq"].as_u64()));
        assert_eq!(all, (1..=total).collect::<BTreeSet<u64>>());
    }
    // A node's own publisher's messages and the other node's reach a listener in seq order.
    let fw = read_until(&mut watch_a, |f| seqs(f).len() as u64 == total).await;
    assert_eq!(seqs(&fw), (1..=total).collect::<Vec<_>>());
    // The one who joined mid-stream: replay up to the head, then live; every seq once.
    let fj = read_until(&mut watch_b, |f| {
        of_type(f, "joined").count() == 1 && seqs(f).len() as u64 == total
    })
    .await;
    assert_eq!(seqs(&fj), (1..=total).collect::<Vec<_>>());
    let pos = fj
        .iter()
        .position(|f| f["type"] == "joined")
        .expect("joined");
    let head = fj[pos]["seq"].as_u64().expect("seq");
    assert_eq!(seqs(&fj[..pos]), (1..=head).collect::<Vec<_>>());
    assert_eq!(fj[pos]["recovered"], true);

    // Ephemeral messages cross nodes too, without seq.
    alice
        .send(json!({"type":"publish","ref":500,"room":room,"id":"typing-1","event":"typing","data":null,"ephemeral":true}))
        .await;
    let fe = read_until(&mut bob, |f| f.iter().any(|m| m["id"] == "typing-1")).await;
    let eph = fe
        .iter()
        .find(|m| m["id"] == "typing-1")
        .expect("ephemeral");
    assert!(eph.get("seq").is_none(), "{eph}");

    // History through either node is the same.
    bob.send(json!({"type":"history","ref":600,"room":room,"limit":500}))
        .await;
    let h = read_until(&mut bob, |f| f.iter().any(|m| m["type"] == "history")).await;
    let page = h.iter().find(|m| m["type"] == "history").expect("history");
    let hs: Vec<u64> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["seq"].as_u64())
        .collect();
    assert_eq!(hs, (1..=total).collect::<Vec<_>>());
    assert_eq!(page["more"], false);
    let (status, body) = common::http(
        a.addr,
        "GET",
        &format!("/rooms/{room}/messages?before=11&limit=5"),
        Some(&token("x", Some(60), None)),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let hs: Vec<u64> = body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["seq"].as_u64())
        .collect();
    assert_eq!(hs, vec![6, 7, 8, 9, 10]);
    assert_eq!(body["more"], true);
    let op = common::operator_token("ops");
    let (status, stats) = common::http(b.addr, "GET", "/stats", Some(&op), None).await;
    assert_eq!(status, 200);
    assert_eq!(stats["messages_per_room"][room], total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn republishing_on_another_node_returns_the_original() {
    let redis = Redis::start();
    let a = Node::start(&redis);
    let b = Node::start(&redis);
    let room = "conv-2";
    let mut alice_a = a.client("alice").await;
    alice_a.join(1, room).await;
    let mut watcher = a.client("w").await;
    watcher.join(1, room).await;
    let first = publish_acked(&mut alice_a, 2, room, "m-1").await;
    assert_eq!(first["seq"], 1);
    assert_eq!(next_of(&mut watcher, "message").await["id"], "m-1");

    // The same user, reconnected on node B, re-sends it (its ack was lost, say).
    let mut alice_b = b.client("alice").await;
    alice_b.join(1, room).await;
    let again = publish_acked(&mut alice_b, 2, room, "m-1").await;
    assert_eq!(again["seq"], first["seq"]);
    assert_eq!(again["ts"], first["ts"]);
    // Over HTTP on node B too: 200 with the original.
    let (status, body) = common::http(
        b.addr,
        "POST",
        &format!("/rooms/{room}/messages"),
        Some(&token("alice", Some(60), None)),
        Some(r#"{"id":"m-1","event":"chat.message","data":{}}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["seq"], 1);
    // Nothing was broadcast again: the next thing the watcher gets is the next message.
    let next = publish_acked(&mut alice_b, 3, room, "m-2").await;
    assert_eq!(next["seq"], 2);
    let m = next_of(&mut watcher, "message").await;
    assert_eq!(
        (m["id"].clone(), m["seq"].clone()),
        (json!("m-2"), json!(2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_node_clients_resume_elsewhere_and_its_presence_expires() {
    let redis = Redis::start();
    let a = Node::start(&redis);
    let b = Node::start(&redis);
    let room = "conv-3";

    let mut bob = b.client("bob").await;
    bob.join(1, room).await;
    let mut alice = a.client("alice").await;
    let joined = alice.join(1, room).await;
    let epoch = joined["epoch"].as_str().expect("epoch").to_string();
    let mut dave = a.client("dave").await;
    dave.join(1, room).await;
    for i in 1..=5u64 {
        publish_acked(&mut alice, 10 + i, room, &format!("a-{i}")).await;
    }
    for i in 1..=3u64 {
        bob.send(publish(20 + i, room, &format!("b-{i}"))).await;
    }
    // Bob got alice's 5 (and his 3 acks).
    let fb = read_until(&mut bob, |f| {
        of_type(f, "ack").count() == 3 && seqs(f).len() == 5
    })
    .await;
    assert_eq!(seqs(&fb), vec![1, 2, 3, 4, 5]);
    let seen = read_until(&mut alice, |f| seqs(f).len() == 3).await;
    let last = seqs(&seen).last().copied().expect("seq");
    assert_eq!(last, 8);

    // Node A dies without a word; alice had sent a-6 and never heard back (maybe stored).
    alice.send(publish(16, room, "a-6")).await;
    a.kill();
    for i in 4..=6u64 {
        bob.send(publish(20 + i, room, &format!("b-{i}"))).await;
    }
    let mut bob_frames = read_until(&mut bob, |f| of_type(f, "ack").count() == 3).await;

    // Alice resumes on node B from where she was, and re-sends a-6 with the same id.
    let mut alice = b.client("alice").await;
    alice
        .send(json!({"type":"join","ref":1,"room":room,"since":last,"epoch":epoch}))
        .await;
    let fr = read_until(&mut alice, |f| of_type(f, "joined").count() == 1).await;
    let joined = fr.last().expect("joined");
    assert_eq!(joined["recovered"], true, "{joined}");
    assert_eq!(joined["epoch"], epoch.as_str());
    let head = joined["seq"].as_u64().expect("seq");
    let replayed = seqs(&fr);
    assert_eq!(replayed, ((last + 1)..=head).collect::<Vec<_>>());
    let a6_stored = fr.iter().any(|m| m["id"] == "a-6");
    let ack = publish_acked(&mut alice, 2, room, "a-6").await;
    let a6 = ack["seq"].as_u64().expect("seq");
    if a6_stored {
        assert!(
            a6 <= head,
            "a-6 was already stored: same seq {a6} <= {head}"
        );
    } else {
        assert_eq!(a6, head + 1);
    }
    // Bob sees a-6 exactly once whatever happened, and every seq once, in order.
    // (It comes through Redis, so it may trail alice's ack: wait for it, then a round trip.)
    if !bob_frames.iter().any(|m| m["id"] == "a-6") {
        bob_frames.extend(read_until(&mut bob, |f| f.iter().any(|m| m["id"] == "a-6")).await);
    }
    bob.send(json!({"type":"ping","ref":99})).await;
    bob_frames.extend(read_until(&mut bob, |f| f.iter().any(|m| m["type"] == "pong")).await);
    assert_eq!(bob_frames.iter().filter(|m| m["id"] == "a-6").count(), 1);
    let got = seqs(&bob_frames);
    assert_ascending_once(&got);

    // Dave (node A) never came back: his presence expires and bob hears he left.
    let started = Instant::now();
    let mut left = false;
    while !left {
        assert!(
            started.elapsed() < Duration::from_millis(PRESENCE_TTL_MS * 4),
            "dave's presence did not expire"
        );
        match bob.next_within(Duration::from_secs(10)).await {
            Got::Frame(f) => {
                left = f["type"] == "presence"
                    && f["event"] == "leave"
                    && f["member"]["user"] == "dave";
            }
            other => panic!("bob's connection ended: {other:?}"),
        }
    }
    // A new joiner no longer sees dave.
    let mut carol = b.client("carol").await;
    let joined = carol.join(1, room).await;
    let users: Vec<&str> = joined["presence"]
        .as_array()
        .expect("presence")
        .iter()
        .filter_map(|m| m["user"].as_str())
        .collect();
    assert!(!users.contains(&"dave"), "{joined}");
    assert!(
        users.contains(&"bob") && users.contains(&"alice"),
        "{joined}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_node_serves_and_stops_gracefully() {
    // `serve` with a Redis URL (what embedders and the other tests of this crate use).
    let redis = Redis::start();
    let url = redis.url.clone();
    let s = common::Server::start(move |c| c.redis_url = Some(url)).await;
    let mut c = s.client("u1").await;
    c.join(1, "r").await;
    let ack = c.publish(2, "r", "id-1", json!({})).await;
    assert_eq!(ack["seq"], 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_subscription_is_caught_up_from_the_stream() {
    let redis = Redis::start();
    let a = Node::start(&redis);
    let b = Node::start(&redis);
    let room = "conv-4";
    let mut alice = a.client("alice").await;
    alice.join(1, room).await;
    let mut bob = b.client("bob").await;
    bob.join(1, room).await;
    let _ = next_of(&mut alice, "presence").await;

    // Every node loses its Pub/Sub connection; what is published meanwhile never reaches
    // them through the channel.
    let killed = redis.command(&["CLIENT", "KILL", "TYPE", "pubsub"]);
    assert!(killed.starts_with(':'), "{killed}");
    for i in 1..=10u64 {
        bob.send(publish(10 + i, room, &format!("b-{i}"))).await;
    }
    read_until(&mut bob, |f| of_type(f, "ack").count() == 10).await;
    let got = read_until(&mut alice, |f| seqs(f).len() == 10).await;
    assert_eq!(seqs(&got), (1..=10).collect::<Vec<_>>());
    // And live again afterwards, without repeats.
    publish_acked(&mut bob, 30, room, "b-11").await;
    let m = next_of(&mut alice, "message").await;
    assert_eq!(m["seq"], 11);
    alice.roundtrip(31).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joiners_during_a_burst_see_every_seq_once() {
    let redis = Redis::start();
    let a = Node::start(&redis);
    let b = Node::start(&redis);
    let room = "burst";
    let mut publisher = a.client("pub").await;
    publisher.join(1, room).await;
    const N: u64 = 150;
    // Joiners on both nodes at different points of the burst; the first one on node B sets
    // its feed up while messages are flowing. Odd ones resume from 0, even ones join live.
    let mut joiners = Vec::new();
    for i in 0..6u64 {
        let node = if i % 2 == 0 { &b } else { &a };
        joiners.push((i, node.client(&format!("j{i}")).await));
    }
    // Publish in chunks of 25; each joiner joins once about half of a chunk is acked, so
    // its join (feed setup, replay read) overlaps the rest of that chunk's publishes.
    let mut acks = 0u64;
    for (chunk, (i, c)) in joiners.iter_mut().enumerate() {
        let first = chunk as u64 * 25 + 1;
        for n in first..first + 25 {
            publisher
                .send(publish(n + 10, room, &format!("p-{n}")))
                .await;
        }
        let want = first + 12;
        while acks < want {
            if publisher.recv().await["type"] == "ack" {
                acks += 1;
            }
        }
        let join = if *i % 2 == 1 {
            json!({"type":"join","ref":2,"room":room,"since":0})
        } else {
            json!({"type":"join","ref":2,"room":room})
        };
        c.send(join).await;
    }
    while acks < N {
        if publisher.recv().await["type"] == "ack" {
            acks += 1;
        }
    }

    for (i, c) in &mut joiners {
        let frames = read_until(c, |f| {
            f.iter().any(|m| m["type"] == "joined") && seqs(f).last() == Some(&N)
        })
        .await;
        let pos = frames
            .iter()
            .position(|f| f["type"] == "joined")
            .expect("joined");
        let head = frames[pos]["seq"].as_u64().expect("seq");
        let got = seqs(&frames);
        if *i % 2 == 1 {
            assert_eq!(got, (1..=N).collect::<Vec<_>>(), "joiner {i}");
            assert_eq!(seqs(&frames[..pos]), (1..=head).collect::<Vec<_>>());
        } else {
            assert!(seqs(&frames[..pos]).is_empty(), "joiner {i}");
            assert_eq!(got, ((head + 1)..=N).collect::<Vec<_>>(), "joiner {i}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_lost_its_data_gives_new_epochs() {
    let redis = Redis::start();
    let a = Node::start(&redis);
    let room = "conv-5";
    let mut alice = a.client("alice").await;
    let joined = alice.join(1, room).await;
    let epoch = joined["epoch"].as_str().expect("epoch").to_string();
    publish_acked(&mut alice, 2, room, "m-1").await;
    publish_acked(&mut alice, 3, room, "m-2").await;

    // A position above the head in the same epoch (Redis went back to an older snapshot):
    // nothing replayed, not recovered.
    let mut bob = a.client("bob").await;
    bob.send(json!({"type":"join","ref":1,"room":room,"since":9,"epoch":epoch}))
        .await;
    let j = next_of(&mut bob, "joined").await;
    assert_eq!(j["epoch"], epoch.as_str());
    assert_eq!(j["seq"], 2);
    assert_eq!(j["recovered"], false);
    drop(bob);

    // Redis comes back empty: the node notices on resubscribing and cuts the room's members.
    let _redis = redis.restart();
    let code = tokio::time::timeout(Duration::from_secs(15), alice.closed())
        .await
        .expect("closed in time");
    assert_eq!(code, Some(1001));
    // Rejoining with the old position: new epoch, nothing replayed, recovered false.
    let mut alice = a.client("alice").await;
    alice
        .send(json!({"type":"join","ref":1,"room":room,"since":2,"epoch":epoch}))
        .await;
    let joined = next_of(&mut alice, "joined").await;
    assert_ne!(joined["epoch"], epoch.as_str());
    assert_eq!(joined["recovered"], false);
    assert_eq!(joined["seq"], 0);
    let ack = publish_acked(&mut alice, 2, room, "m-1").await;
    assert_eq!(ack["seq"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_redis() {
    let redis = Redis::start();
    let port = redis.port;
    let node = Node::start(&redis);
    let (status, health) = common::http(node.addr, "GET", "/health", None, None).await;
    assert_eq!(status, 200, "{health}");
    drop(redis);
    // Redis gone: the node says so (each check waits at most 2 s for PING).
    let mut last = (0, Value::Null);
    for _ in 0..40 {
        last = common::http(node.addr, "GET", "/health", None, None).await;
        if last.0 == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last.0, 503, "{}", last.1);
    assert_eq!(last.1["status"], "unavailable");
    assert!(
        last.1["reason"]
            .as_str()
            .is_some_and(|r| r.contains("redis")),
        "{}",
        last.1
    );
    // Back: healthy again once the client has reconnected.
    let _redis = Redis::start_on(port);
    let mut healthy = false;
    for _ in 0..100 {
        if common::http(node.addr, "GET", "/health", None, None)
            .await
            .0
            == 200
        {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(healthy, "still unhealthy after Redis came back");
}

fn append(r: u64, room: &str, id: &str, n: u64, text: &str, end: Option<&str>) -> Value {
    let mut f = json!({"type":"append","ref":r,"room":room,"id":id,"n":n,"text":text});
    if let Some(end) = end {
        f["end"] = json!(end);
    }
    f
}

fn open_stream(r: u64, room: &str, id: &str) -> Value {
    json!({"type":"publish","ref":r,"room":room,"id":id,"event":"assistant.reply","data":{"role":"assistant"},"stream":true})
}

/// The items of `room`'s HTTP history (500 newest) on `node`.
async fn http_items(node: &Node, room: &str) -> Vec<Value> {
    let (status, page) = common::http(
        node.addr,
        "GET",
        &format!("/rooms/{room}/messages?limit=500"),
        Some(&token("x", Some(60), None)),
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["messages"].as_array().cloned().unwrap_or_default()
}

/// A stream written on node A is read on node B as it grows, every piece once and in `seq`
/// order; a re-send on B answers A's ack; a late joiner on B gets it folded, as does history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_written_on_one_node_is_read_on_another() {
    let redis = Redis::start();
    let a = Node::start(&redis);
    let b = Node::start(&redis);
    let room = "conv-s";
    let sid = "s-1";
    let mut alice = a.client("alice").await;
    alice.join(1, room).await;
    let mut bob = b.client("bob").await;
    bob.join(1, room).await;
    let mut watch_a = a.client("wa").await;
    watch_a.join(1, room).await;

    alice.send(open_stream(2, room, sid)).await;
    let of = next_of(&mut alice, "ack").await["seq"]
        .as_u64()
        .expect("seq");
    // 300 pieces, pipelined; plain messages from bob on B in between.
    const N: u64 = 300;
    let pieces: Vec<String> = (0..N).map(|n| format!("{n}·é,")).collect();
    for (n, piece) in pieces.iter().enumerate() {
        let n = n as u64;
        let end = (n + 1 == N).then_some("done");
        alice.send(append(100 + n, room, sid, n, piece, end)).await;
        if n.is_multiple_of(50) {
            bob.send(publish(1000 + n, room, &format!("b-{n}"))).await;
        }
    }
    let fa = read_until(&mut alice, |f| of_type(f, "ack").count() as u64 == N).await;
    let acks: Vec<(u64, u64)> = of_type(&fa, "ack")
        .map(|a| (a["n"].as_u64().expect("n"), a["seq"].as_u64().expect("seq")))
        .collect();
    assert_eq!(
        acks.iter().map(|a| a.0).collect::<Vec<_>>(),
        (0..N).collect::<Vec<_>>()
    );
    assert_ascending_once(&acks.iter().map(|a| a.1).collect::<Vec<_>>());
    // Readers on both nodes: the opening message (open, no text), then every piece in turn.
    for (who, c) in [("bob", &mut bob), ("wa", &mut watch_a)] {
        let frames = read_until(c, |f| of_type(f, "append").count() as u64 == N).await;
        let opener = of_type(&frames, "message")
            .find(|m| m["id"] == sid)
            .unwrap_or_else(|| panic!("{who}: no opening message"));
        assert_eq!(opener["stream"], json!({"state":"open","text":"","n":0}));
        let sequenced: Vec<u64> = frames
            .iter()
            .filter(|f| f["type"] == "append" || f["type"] == "message")
            .filter_map(|f| f["seq"].as_u64())
            .collect();
        assert_ascending_once(&sequenced);
        let ns: Vec<u64> = of_type(&frames, "append")
            .map(|e| e["n"].as_u64().expect("n"))
            .collect();
        assert_eq!(ns, (0..N).collect::<Vec<_>>(), "{who}");
        assert!(of_type(&frames, "append").all(|e| e["of"] == of));
        let text: String = of_type(&frames, "append")
            .filter_map(|e| e["text"].as_str())
            .collect();
        assert_eq!(text, pieces.concat(), "{who}");
    }
    // alice again, on node B: each re-sent piece answers its original ack from A.
    let mut alice_b = b.client("alice").await;
    alice_b.join(1, room).await;
    for n in [0, 7, N - 1] {
        let end = (n + 1 == N).then_some("done");
        alice_b
            .send(append(10 + n, room, sid, n, &pieces[n as usize], end))
            .await;
        let ack = next_of(&mut alice_b, "ack").await;
        assert_eq!(ack["seq"], acks[n as usize].1, "{ack}");
    }
    alice_b.send(append(9, room, sid, N, "more", None)).await;
    assert_eq!(next_of(&mut alice_b, "error").await["code"], "stream_ended");
    // bob cancels the ended stream on B: the ack of its final append.
    bob.send(json!({"type":"cancel","ref":5,"room":room,"id":sid}))
        .await;
    let c = next_of(&mut bob, "ack").await;
    assert_eq!(
        (c["n"].as_u64(), c["seq"].as_u64()),
        (Some(N - 1), Some(acks[N as usize - 1].1))
    );
    // A late joiner on B from 0: the whole reply in its opening message, no pieces.
    let mut carol = b.client("carol").await;
    carol
        .send(json!({"type":"join","ref":2,"room":room,"since":0}))
        .await;
    let frames = read_until(&mut carol, |f| of_type(f, "joined").count() == 1).await;
    assert_eq!(of_type(&frames, "append").count(), 0);
    let opener = of_type(&frames, "message")
        .find(|m| m["id"] == sid)
        .expect("opener");
    assert_eq!(
        opener["stream"],
        json!({"state":"done","text":pieces.concat(),"n":N})
    );
    assert_eq!(
        seqs(&frames).len(),
        1 + 6,
        "the opener and bob's 6 messages"
    );
    // History on either node: folded alike.
    for node in [&a, &b] {
        let items = http_items(node, room).await;
        assert_eq!(items.len(), 7);
        assert!(items.iter().all(|i| i["type"] != "append"));
        let opener = items.iter().find(|i| i["id"] == sid).expect("opener");
        assert_eq!(opener["stream"]["text"], pieces.concat());
    }
}

/// A cancel on node B racing the producer's appends on node A cuts the stream at one point:
/// the producer's acks stop there, the readers on both nodes see the pieces before it and the
/// end, and history holds exactly that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_on_one_node_races_appends_on_another() {
    let redis = Redis::start();
    let a = Node::start(&redis);
    let b = Node::start(&redis);
    let room = "conv-c";
    let sid = "s-1";
    let mut alice = a.client("alice").await;
    alice.join(1, room).await;
    let mut bob = b.client("bob").await;
    bob.join(1, room).await;
    alice.send(open_stream(2, room, sid)).await;
    next_of(&mut alice, "ack").await;
    next_of(&mut bob, "message").await;
    const N: u64 = 120;
    for n in 0..N {
        alice
            .send(append(100 + n, room, sid, n, &format!("{n},"), None))
            .await;
        if n == 30 {
            bob.send(json!({"type":"cancel","ref":9,"room":room,"id":sid}))
                .await;
        }
    }
    let fa = read_until(&mut alice, |f| {
        (of_type(f, "ack").count() + of_type(f, "error").count()) as u64 == N
            && of_type(f, "append").count() == 1
    })
    .await;
    let stored: Vec<u64> = of_type(&fa, "ack")
        .map(|a| a["n"].as_u64().expect("n"))
        .collect();
    let k = stored.len() as u64;
    assert_eq!(stored, (0..k).collect::<Vec<_>>());
    assert!(of_type(&fa, "error").all(|e| e["code"] == "stream_ended"));
    let end = of_type(&fa, "append").next().expect("the cancel");
    assert_eq!(
        (end["end"].as_str(), end["n"].as_u64()),
        (Some("cancelled"), Some(k))
    );
    assert_eq!(end["from"]["user"], "bob");
    let fb = read_until(&mut bob, |f| {
        of_type(f, "ack").count() == 1 && of_type(f, "append").count() as u64 == k
    })
    .await;
    let cancel = of_type(&fb, "ack").next().expect("ack");
    assert_eq!(cancel["n"], k);
    let text: String = (0..k).map(|n| format!("{n},")).collect();
    let got: String = of_type(&fb, "append")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert_eq!(got, text);
    let items = http_items(&b, room).await;
    assert_eq!(
        items[0]["stream"],
        json!({"state":"cancelled","text":text,"n":k + 1})
    );
}

/// With two nodes checking for idle streams, exactly one ends each (`failed`, once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stream_is_ended_once_among_nodes() {
    let redis = Redis::start();
    let flags = ["--stream-idle-ms", "200"];
    let a = Node::start_with(&redis, &flags);
    let b = Node::start_with(&redis, &flags);
    let room = "conv-i";
    let mut alice = a.client("alice").await;
    alice.join(1, room).await;
    let mut bob = b.client("bob").await;
    bob.join(1, room).await;
    // Several streams, so both nodes find some due in the same round.
    const STREAMS: u64 = 8;
    for i in 0..STREAMS {
        alice
            .send(open_stream(10 + i, room, &format!("s-{i}")))
            .await;
        next_of(&mut alice, "ack").await;
        alice
            .send(append(20 + i, room, &format!("s-{i}"), 0, "x", None))
            .await;
        next_of(&mut alice, "ack").await;
    }
    for c in [&mut alice, &mut bob] {
        let frames = read_until(c, |f| {
            of_type(f, "append")
                .filter(|e| e["end"] == "failed")
                .count() as u64
                == STREAMS
        })
        .await;
        for e in of_type(&frames, "append").filter(|e| e["end"] == "failed") {
            assert_eq!(
                (e["n"].as_u64(), e["from"]["client"].as_str()),
                (Some(1), Some("server"))
            );
        }
    }
    // Nothing more: a second end would have been another append.
    tokio::time::sleep(Duration::from_millis(600)).await;
    bob.send(json!({"type":"ping","ref":99})).await;
    let rest = read_until(&mut bob, |f| f.iter().any(|x| x["type"] == "pong")).await;
    assert_eq!(of_type(&rest, "append").count(), 0, "{rest:?}");
    let items = http_items(&a, room).await;
    assert_eq!(items.len() as u64, STREAMS);
    for i in items {
        assert_eq!(
            i["stream"],
            json!({"state":"failed","text":"x","n":2}),
            "{i}"
        );
    }
    let op = common::operator_token("ops");
    let (_, stats) = common::http(b.addr, "GET", "/stats", Some(&op), None).await;
    assert_eq!(stats["messages_per_room"][room], STREAMS * 3);
}
