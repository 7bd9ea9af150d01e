//! Retention (`--history-max`, `--history-ttl`, `--history-rule`) on SQLite and Redis: the
//! oldest run goes, with its idempotency; rules per room pattern; a join from a trimmed
//! position replays what is kept and answers `recovered:false`; streams are kept whole.

mod common;
#[allow(dead_code)]
mod redis_server;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Client, Server};
use redis_server::Redis;
use roomcast_server::retention::{parse_rule, Retention};
use roomcast_server::Config;
use serde_json::{json, Value};

fn retention(default: &str, rules: &[(&str, &str)]) -> Retention {
    Retention {
        default: parse_rule(default).expect("rule"),
        rules: rules
            .iter()
            .map(|(p, r)| ((*p).to_string(), parse_rule(r).expect("rule")))
            .collect(),
    }
}

fn tweak(c: &mut Config, r: Retention) {
    c.retention = r;
    c.publish_rate = 0;
    c.user_rate = 0;
}

/// The seqs `GET /rooms/{room}/messages` serves (up to 500).
async fn kept(server: &Server, room: &str) -> Vec<u64> {
    let token = server.token("reader");
    let (status, body) = server
        .http(
            "GET",
            &format!("/rooms/{room}/messages?limit=500"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["seq"].as_u64())
        .collect()
}

/// Polls `kept` until `want` holds (5 s at most).
async fn wait_kept(server: &Server, room: &str, want: impl Fn(&[u64]) -> bool) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let seqs = kept(server, room).await;
        if want(&seqs) || Instant::now() > deadline {
            return seqs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Rows of a room in the SQLite store (messages, appends, streams).
fn rows(dir: &Path, room: &str) -> (i64, i64, i64) {
    let conn = rusqlite::Connection::open_with_flags(
        dir.join("roomcast.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open");
    let count = |table: &str| -> i64 {
        conn.query_row(
            &format!("SELECT count(*) FROM {table} WHERE room = ?1"),
            [room],
            |r| r.get(0),
        )
        .expect("count")
    };
    (count("messages"), count("appends"), count("streams"))
}

/// Publishes and returns the ack, skipping presence events (with Redis a leave may be
/// announced late).
async fn publish(c: &mut Client, r: u64, room: &str, id: &str, data: Value) -> Value {
    c.send(
        json!({"type":"publish","ref":r,"room":room,"id":id,"event":"chat.message","data":data}),
    )
    .await;
    loop {
        let f = c.recv().await;
        if f["type"] == "ack" {
            assert_eq!(f["ref"], r);
            return f;
        }
        assert_eq!(f["type"], "presence", "{f}");
    }
}

async fn publish_run(c: &mut Client, room: &str, prefix: &str, n: u64, first_ref: u64) {
    for i in 1..=n {
        let ack = publish(c, first_ref + i, room, &format!("{prefix}{i}"), json!(i)).await;
        assert!(ack["seq"].as_u64().is_some(), "{ack}");
    }
}

/// The frames a join with `since` gets: (replayed seqs, the `joined`).
async fn join_since(c: &mut Client, r: u64, room: &str, since: u64) -> (Vec<u64>, Value) {
    c.send(json!({"type":"join","ref":r,"room":room,"since":since}))
        .await;
    let mut seqs = Vec::new();
    loop {
        let f = c.recv().await;
        match f["type"].as_str() {
            Some("message") => seqs.push(f["seq"].as_u64().expect("seq")),
            Some("joined") => return (seqs, f),
            _ => {}
        }
    }
}

/// Count bound, a keep rule, a join from a trimmed position and idempotency after the trim:
/// the same on both engines.
async fn count_bound(server: &Server) {
    let mut a = server.client("alice").await;
    a.join(1, "r").await;
    a.join(2, "keep:1").await;
    publish_run(&mut a, "r", "m", 50, 100).await;
    publish_run(&mut a, "keep:1", "k", 30, 200).await;
    let r = wait_kept(server, "r", |s| s.first() == Some(&41)).await;
    assert_eq!(r, (41..=50).collect::<Vec<_>>(), "the newest 10 are kept");
    assert_eq!(kept(server, "keep:1").await.len(), 30, "keep:* keeps all");

    // A join from a trimmed position: what is kept, and not recovered.
    let mut b = server.client("bob").await;
    let (replayed, joined) = join_since(&mut b, 1, "r", 5).await;
    assert_eq!(replayed, (41..=50).collect::<Vec<_>>());
    assert_eq!(joined["recovered"], false);
    assert_eq!(joined["seq"], 50);
    // From a kept position it is complete.
    let mut c = server.client("carol").await;
    let (replayed, joined) = join_since(&mut c, 1, "r", 45).await;
    assert_eq!(replayed, (46..=50).collect::<Vec<_>>());
    assert_eq!(joined["recovered"], true);

    // Idempotency holds while a message is kept, and ends with it.
    drop(a);
    let mut d = server.client("dave").await;
    d.join(1, "r").await;
    let again = publish(&mut d, 300, "r", "m45", json!(45)).await;
    assert_eq!(again["seq"], 45, "a kept id is a duplicate: {again}");
    let again = publish(&mut d, 301, "r", "m1", json!(1)).await;
    assert_eq!(again["seq"], 51, "a trimmed id is new: {again}");
    let r = wait_kept(server, "r", |s| s.first() == Some(&42)).await;
    assert_eq!(r, (42..=51).collect::<Vec<_>>());

    // /stats counts what is kept.
    let (status, stats) = server
        .http("GET", "/stats", Some(&common::operator_token("ops")), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(stats["messages_per_room"]["r"], 10, "{stats}");
    assert_eq!(stats["messages_per_room"]["keep:1"], 30, "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_count_bound_rules_joins_and_idempotency() {
    let server = Server::start(|c| tweak(c, retention("max:10", &[("keep:*", "keep")]))).await;
    count_bound(&server).await;
    let (messages, _, _) = rows(&server.dir, "r");
    assert_eq!(messages, 10, "rows are deleted, not hidden");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_count_bound_rules_joins_and_idempotency() {
    let redis = Redis::start();
    let url = redis.url.clone();
    let server = Server::start(move |c| {
        tweak(c, retention("max:10", &[("keep:*", "keep")]));
        c.redis_url = Some(url);
    })
    .await;
    count_bound(&server).await;
    // The stream and the dedup hash shrank together.
    let mut conn = redis::Client::open(redis.url.as_str())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let len: u64 = redis::cmd("XLEN")
        .arg("rc:{r}:log")
        .query_async(&mut conn)
        .await
        .expect("xlen");
    let ids: u64 = redis::cmd("HLEN")
        .arg("rc:{r}:ids")
        .query_async(&mut conn)
        .await
        .expect("hlen");
    assert_eq!((len, ids), (10, 10));
    server.stop().await;
}

/// The age bound, and a pattern rule overriding the default.
async fn age_bound(server: &Server) {
    let mut a = server.client("alice").await;
    a.join(1, "old").await;
    a.join(2, "support:1").await;
    publish_run(&mut a, "old", "o", 5, 10).await;
    publish_run(&mut a, "support:1", "s", 5, 20).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    publish_run(&mut a, "old", "p", 2, 30).await;
    let old = wait_kept(server, "old", |s| s.len() == 2).await;
    assert_eq!(old, vec![6, 7], "items older than 1 s are gone");
    // support:* keeps 90 days.
    assert_eq!(kept(server, "support:1").await, vec![1, 2, 3, 4, 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_age_bound_and_pattern_rules() {
    let server =
        Server::start(|c| tweak(c, retention("ttl:1s", &[("support:*", "ttl:90d")]))).await;
    age_bound(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_age_bound_and_pattern_rules() {
    let redis = Redis::start();
    let url = redis.url.clone();
    let server = Server::start(move |c| {
        tweak(c, retention("ttl:1s", &[("support:*", "ttl:90d")]));
        c.redis_url = Some(url);
    })
    .await;
    age_bound(&server).await;
    server.stop().await;
}

/// A stream is kept whole: its opening message stays while it is open (the run stops before
/// it), and goes with its appends once they are past the bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_a_stream_whole() {
    let server = Server::start(|c| tweak(c, retention("max:5", &[]))).await;
    let mut a = server.client("alice").await;
    a.join(1, "r").await;
    publish_run(&mut a, "r", "m", 3, 10).await;
    a.send(json!({"type":"publish","ref":20,"room":"r","id":"s1","event":"reply","data":{},"stream":true}))
        .await;
    let ack = a.expect("ack").await;
    assert_eq!(ack["seq"], 4);
    a.send(json!({"type":"append","ref":21,"room":"r","id":"s1","n":0,"text":"Hel"}))
        .await;
    assert_eq!(a.expect("ack").await["seq"], 5);
    publish_run(&mut a, "r", "x", 10, 30).await;
    // Head 15: the bound would remove 1..=10, but the open stream opened at 4 holds the run.
    let seqs = wait_kept(&server, "r", |s| s.first() == Some(&4)).await;
    assert_eq!(seqs.first(), Some(&4), "{seqs:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(kept(&server, "r").await.first(), Some(&4), "still held");
    // The stream ends; it goes once its last append is past the bound too (head 21).
    a.send(json!({"type":"append","ref":40,"room":"r","id":"s1","n":1,"text":"lo","end":"done"}))
        .await;
    assert_eq!(a.expect("ack").await["seq"], 16);
    publish_run(&mut a, "r", "y", 4, 50).await;
    assert_eq!(
        kept(&server, "r").await.first(),
        Some(&4),
        "held up to head 20"
    );
    publish_run(&mut a, "r", "z", 1, 60).await;
    let seqs = wait_kept(&server, "r", |s| s.first() == Some(&17)).await;
    assert_eq!(seqs, vec![17, 18, 19, 20, 21]);
    assert_eq!(rows(&server.dir, "r"), (5, 0, 0), "the stream went whole");
    server.stop().await;
}
