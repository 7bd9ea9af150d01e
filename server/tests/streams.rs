//! Streamed messages against a real server over loopback, every scenario run against both
//! engines (SQLite, and `--redis` on a throwaway `redis-server`): appends, their idempotency
//! and refusals, folding into the opening message in replays and history (WS and HTTP),
//! cancels racing appends, the idle end, the text limit and the HTTP rate limit, and a
//! restart. The Redis runs need the `redis-server` executable (Debian package
//! `redis-server`); without it they fail, saying so.
//!
//! Under Redis a member's presence reaches the room through the channel, so it may come a
//! little later than under SQLite: the helpers here skip presence events.

mod common;
// The throwaway redis-server; these tests use only part of it.
#[allow(dead_code)]
mod redis_server;

use std::path::Path;
use std::time::Duration;

use common::{of_type, Client, Server};
use redis_server::Redis;
use roomcast_server::Config;
use serde_json::{json, Value};

const ROOM: &str = "conv-1";
const SID: &str = "0194a0c4-0000-7000-8000-000000000001";

/// Which engine a scenario runs against.
#[derive(Debug, Clone, Copy)]
enum Engine {
    Sqlite,
    Redis,
}

/// A server on `engine` (with its `redis-server`, kept for as long as the server runs).
async fn start(engine: Engine, tweak: impl FnOnce(&mut Config)) -> (Server, Option<Redis>) {
    match engine {
        Engine::Sqlite => (Server::start(tweak).await, None),
        Engine::Redis => {
            let redis = Redis::start();
            let url = redis.url.clone();
            let s = Server::start(move |c| {
                c.redis_url = Some(url);
                tweak(c);
            })
            .await;
            (s, Some(redis))
        }
    }
}

/// A server on `engine` with the data directory `dir` (and for Redis, the given one).
async fn start_in(engine: Engine, dir: &Path, redis: Option<&Redis>) -> Server {
    let url = redis.map(|r| r.url.clone());
    Server::start_in(dir, move |c| {
        if let Engine::Redis = engine {
            c.redis_url = url;
        }
    })
    .await
}

/// The next frame that is no presence event.
async fn recv(c: &mut Client) -> Value {
    loop {
        let f = c.recv().await;
        if f["type"] != "presence" {
            return f;
        }
    }
}

/// The next frame that is no presence event, which must have `type`.
async fn expect(c: &mut Client, kind: &str) -> Value {
    let f = recv(c).await;
    assert_eq!(f["type"], kind, "expected {kind}, got {f}");
    f
}

async fn open_stream(c: &mut Client, r: u64, room: &str, id: &str) -> Value {
    c.send(json!({"type":"publish","ref":r,"room":room,"id":id,"event":"assistant.reply","data":{"role":"assistant"},"stream":true}))
        .await;
    let ack = expect(c, "ack").await;
    assert_eq!(ack["ref"], r, "{ack}");
    ack
}

async fn append(c: &mut Client, r: u64, n: u64, text: &str, end: Option<&str>) -> Value {
    let mut f = json!({"type":"append","ref":r,"room":ROOM,"id":SID,"n":n,"text":text});
    if let Some(end) = end {
        f["end"] = json!(end);
    }
    c.send(f).await;
    let reply = recv(c).await;
    assert_eq!(reply["ref"], r, "{reply}");
    reply
}

/// Frames until a pong for `r` (sent now), without it (and without presence events).
async fn drain(c: &mut Client, r: u64) -> Vec<Value> {
    c.send(json!({"type":"ping","ref":r})).await;
    let mut frames = Vec::new();
    loop {
        let f = recv(c).await;
        if f["type"] == "pong" && f["ref"] == r {
            return frames;
        }
        frames.push(f);
    }
}

async fn appends_are_acked_broadcast_and_idempotent(engine: Engine) {
    let (s, _redis) = start(engine, |_| {}).await;
    let (mut a, mut b) = s.joined_pair(2, ROOM).await;
    let ack = open_stream(&mut a, 3, ROOM, SID).await;
    let of = ack["seq"].as_u64().expect("seq");
    let m = expect(&mut b, "message").await;
    assert_eq!(m["stream"], json!({"state":"open","text":"","n":0}), "{m}");
    let pieces = ["Hel", "lo, ", "wor", "ld"];
    let mut acks = Vec::new();
    for (n, text) in pieces.iter().enumerate() {
        let ack = append(&mut a, 10 + n as u64, n as u64, text, None).await;
        assert_eq!(ack["type"], "ack", "{ack}");
        assert_eq!(
            (ack["id"].as_str(), ack["n"].as_u64()),
            (Some(SID), Some(n as u64))
        );
        assert_eq!(ack["seq"].as_u64(), Some(of + 1 + n as u64));
        let e = expect(&mut b, "append").await;
        assert_eq!(
            (
                e["of"].as_u64(),
                e["n"].as_u64(),
                e["text"].as_str(),
                e["from"]["user"].as_str()
            ),
            (Some(of), Some(n as u64), Some(*text), Some("alice")),
            "{e}"
        );
        assert_eq!(e["seq"], ack["seq"]);
        acks.push(ack);
    }
    // Every n again: its original ack, nothing broadcast.
    for (n, text) in pieces.iter().enumerate() {
        let again = append(&mut a, 20 + n as u64, n as u64, text, None).await;
        let mut orig = acks[n].clone();
        orig["ref"] = json!(20 + n as u64);
        assert_eq!(again, orig);
    }
    assert!(drain(&mut b, 30).await.is_empty());
    // A gap is refused; so is another user's append, an unknown stream, an end "open".
    let gap = append(&mut a, 31, 6, "x", None).await;
    assert_eq!(gap["code"], "bad_request", "{gap}");
    b.send(json!({"type":"append","ref":32,"room":ROOM,"id":SID,"n":4,"text":"x"}))
        .await;
    assert_eq!(expect(&mut b, "error").await["code"], "forbidden");
    a.send(json!({"type":"append","ref":33,"room":ROOM,"id":"no-such","n":0,"text":"x"}))
        .await;
    assert_eq!(expect(&mut a, "error").await["code"], "not_found");
    let huge = append(&mut a, 38, u64::MAX, "x", None).await;
    assert_eq!(huge["code"], "bad_request", "{huge}");
    let open = append(&mut a, 34, 4, "x", Some("open")).await;
    assert_eq!(open["code"], "bad_request");
    // An ephemeral stream does not exist; a plain message is no stream.
    a.send(json!({"type":"publish","ref":35,"room":ROOM,"id":"e-1","event":"e","data":1,"ephemeral":true,"stream":true})).await;
    assert_eq!(expect(&mut a, "error").await["code"], "bad_request");
    a.publish(36, ROOM, "plain-1", json!(1)).await;
    a.send(json!({"type":"append","ref":37,"room":ROOM,"id":"plain-1","n":0,"text":"x"}))
        .await;
    assert_eq!(expect(&mut a, "error").await["code"], "not_found");
    // End it; then appends are refused, the end is idempotent, a cancel answers its ack.
    let end = append(&mut a, 40, 4, "!", Some("done")).await;
    assert_eq!(end["n"], 4);
    let e = expect(&mut b, "message").await;
    assert_eq!(e["id"], "plain-1");
    let e = expect(&mut b, "append").await;
    assert_eq!(
        (e["end"].as_str(), e["text"].as_str()),
        (Some("done"), Some("!"))
    );
    let ended = append(&mut a, 41, 5, "more", None).await;
    assert_eq!(ended["code"], "stream_ended", "{ended}");
    let again = append(&mut a, 42, 4, "!", Some("done")).await;
    assert_eq!(
        (again["seq"].clone(), again["ts"].clone()),
        (end["seq"].clone(), end["ts"].clone())
    );
    b.send(json!({"type":"cancel","ref":43,"room":ROOM,"id":SID}))
        .await;
    let c = expect(&mut b, "ack").await;
    assert_eq!(
        (c["n"].as_u64(), c["seq"].clone()),
        (Some(4), end["seq"].clone())
    );
    assert!(drain(&mut a, 44).await.is_empty());
    s.stop().await;
}

/// alice opens a stream with `pieces`, bob watches; returns the opening seq and the head.
async fn written_stream(s: &Server, pieces: &[&str], end: Option<&str>) -> (u64, u64) {
    let (mut a, mut b) = s.joined_pair(2, ROOM).await;
    a.publish(3, ROOM, "before-1", json!(1)).await;
    let of = open_stream(&mut a, 4, ROOM, SID).await["seq"]
        .as_u64()
        .expect("seq");
    let mut head = of;
    for (n, text) in pieces.iter().enumerate() {
        let last = n + 1 == pieces.len();
        let ack = append(&mut a, 10 + n as u64, n as u64, text, end.filter(|_| last)).await;
        head = ack["seq"].as_u64().expect("seq");
        if n == 1 {
            // A message between the appends.
            head = a.publish(100, ROOM, "between-1", json!(2)).await["seq"]
                .as_u64()
                .expect("seq");
        }
    }
    drop(recv(&mut b).await);
    (of, head)
}

async fn replays_and_history_fold_the_stream_into_its_opening_message(engine: Engine) {
    let (s, _redis) = start(engine, |_| {}).await;
    let (of, head) = written_stream(&s, &["a", "b", "c", "d"], None).await;
    assert_eq!(head, of + 5);
    // A late joiner from the start: the opening message with the whole text, no appends.
    let mut c = s.client("carol").await;
    c.send(json!({"type":"join","ref":2,"room":ROOM,"since":0}))
        .await;
    let mut frames = Vec::new();
    loop {
        let f = recv(&mut c).await;
        if f["type"] == "joined" {
            break;
        }
        frames.push(f);
    }
    assert_eq!(of_type(&frames, "append").count(), 0, "{frames:?}");
    let opener = of_type(&frames, "message")
        .find(|m| m["id"] == SID)
        .expect("opener");
    assert_eq!(
        opener["stream"],
        json!({"state":"open","text":"abcd","n":4})
    );
    assert_eq!(opener["data"], json!({"role":"assistant"}));
    assert_eq!(frames.len(), 3, "{frames:?}");
    // Resuming after the opening message: the appends after it, as append events.
    let mut d = s.client("dave").await;
    d.send(json!({"type":"join","ref":2,"room":ROOM,"since":of + 2}))
        .await;
    let mut frames = Vec::new();
    loop {
        let f = recv(&mut d).await;
        if f["type"] == "joined" {
            break;
        }
        frames.push(f);
    }
    let kinds: Vec<(&str, u64)> = frames
        .iter()
        .map(|f| {
            (
                f["type"].as_str().unwrap_or(""),
                f["seq"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("message", of + 3), ("append", of + 4), ("append", of + 5)]
    );
    assert_eq!(frames[2]["n"], 3);
    // WS history: the whole room folds; a page without the opening message has append items.
    d.send(json!({"type":"history","ref":3,"room":ROOM})).await;
    let h = expect(&mut d, "history").await;
    let items = h["messages"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{h}");
    assert_eq!(items[1]["stream"]["text"], "abcd");
    d.send(json!({"type":"history","ref":4,"room":ROOM,"limit":3}))
        .await;
    let h = expect(&mut d, "history").await;
    let items = h["messages"].as_array().expect("items");
    let kinds: Vec<&str> = items
        .iter()
        .map(|i| i["type"].as_str().unwrap_or("message"))
        .collect();
    assert_eq!(kinds, ["message", "append", "append"], "{h}");
    assert_eq!(h["more"], true);
    // The next page back (seqs of..of+2) holds the opening message with all the text so far
    // (the two appends in the page are folded, not sent), and older items remain.
    d.send(json!({"type":"history","ref":5,"room":ROOM,"before":of + 3,"limit":3}))
        .await;
    let h = expect(&mut d, "history").await;
    let items = h["messages"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{h}");
    assert_eq!(
        items[0]["stream"],
        json!({"state":"open","text":"abcd","n":4})
    );
    assert_eq!(h["more"], true);
    // HTTP history alike.
    let tok = s.token("dave");
    let (status, page) = s
        .http("GET", &format!("/rooms/{ROOM}/messages"), Some(&tok), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(3), "{page}");
    assert_eq!(page["messages"][1]["stream"]["text"], "abcd");
    let (_, page) = s
        .http(
            "GET",
            &format!("/rooms/{ROOM}/messages?limit=2"),
            Some(&tok),
            None,
        )
        .await;
    assert_eq!(page["messages"][0]["type"], "append", "{page}");
    assert_eq!(page["messages"][0]["of"], of);
    assert_eq!(page["more"], true);
    s.stop().await;
}

async fn a_cancel_racing_appends_cuts_the_stream_at_one_point(engine: Engine) {
    for round in 0..3 {
        let (s, _redis) = start(engine, |_| {}).await;
        let (mut a, mut b) = s.joined_pair(2, ROOM).await;
        open_stream(&mut a, 3, ROOM, SID).await;
        expect(&mut b, "message").await;
        // alice pipelines 60 appends while bob cancels.
        for n in 0..60u64 {
            a.send(json!({"type":"append","ref":100 + n,"room":ROOM,"id":SID,"n":n,"text":format!("{n},")}))
                .await;
            if n == 10 + round * 15 {
                b.send(json!({"type":"cancel","ref":9,"room":ROOM,"id":SID}))
                    .await;
            }
        }
        // Until every append is answered (bob's cancel, as an append event, comes among
        // them, at any point after the last ack it follows).
        let mut stored = Vec::new();
        let mut answered = 0;
        while answered < 60 {
            let f = recv(&mut a).await;
            match f["type"].as_str() {
                Some("ack") => stored.push(f["n"].as_u64().expect("n")),
                Some("error") => assert_eq!(f["code"], "stream_ended", "{f}"),
                Some("append") => {
                    assert_eq!(f["end"], "cancelled");
                    continue;
                }
                _ => panic!("{f}"),
            }
            answered += 1;
        }
        let k = stored.len() as u64;
        assert_eq!(stored, (0..k).collect::<Vec<_>>());
        // bob's frames: the appends before the cancel, then his cancel's ack with n = k.
        let frames = drain(&mut b, 10).await;
        let cancel = of_type(&frames, "ack").next().expect("cancel ack").clone();
        assert_eq!(cancel["n"], k, "{frames:?}");
        let text: String = (0..k).map(|n| format!("{n},")).collect();
        let (_, page) = s
            .http(
                "GET",
                &format!("/rooms/{ROOM}/messages"),
                Some(&s.token("bob")),
                None,
            )
            .await;
        assert_eq!(
            page["messages"][0]["stream"],
            json!({"state":"cancelled","text":text,"n":k + 1})
        );
        s.stop().await;
    }
}

async fn an_idle_stream_is_ended_failed_by_the_server(engine: Engine) {
    let (s, _redis) = start(engine, |c| c.stream_idle_ms = 300).await;
    let (mut a, mut b) = s.joined_pair(2, ROOM).await;
    open_stream(&mut a, 3, ROOM, SID).await;
    expect(&mut b, "message").await;
    // Appends within the limit keep it open.
    for n in 0..3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(append(&mut a, 10 + n, n, "x", None).await["type"], "ack");
    }
    let end = expect(&mut b, "append").await;
    assert_eq!(end["end"], serde_json::Value::Null);
    expect(&mut b, "append").await;
    expect(&mut b, "append").await;
    let end = expect(&mut b, "append").await;
    assert_eq!(
        (end["end"].as_str(), end["n"].as_u64()),
        (Some("failed"), Some(3)),
        "{end}"
    );
    assert_eq!(end["from"]["user"], "alice");
    assert_eq!(end["from"]["client"], "server");
    let f = expect(&mut a, "append").await;
    assert_eq!(f["end"], "failed");
    assert_eq!(
        append(&mut a, 20, 3, "late", None).await["code"],
        "stream_ended"
    );
    s.stop().await;
}

async fn the_text_limit_and_http_appends(engine: Engine) {
    let (s, _redis) = start(engine, |c| c.max_stream_bytes = 10).await;
    let tok = s.token("alice");
    let post = |path: String, body: Value, tok: String| {
        let addr = s.addr;
        async move { common::http(addr, "POST", &path, Some(&tok), Some(&body.to_string())).await }
    };
    let base = format!("/rooms/{ROOM}/messages");
    let (status, opened) = post(
        base.clone(),
        json!({"id":SID,"event":"assistant.reply","stream":true}),
        tok.clone(),
    )
    .await;
    assert_eq!(status, 201, "{opened}");
    let path = format!("{base}/{SID}/append");
    let (status, first) = post(path.clone(), json!({"n":0,"text":"12345"}), tok.clone()).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["seq"], opened["seq"].as_u64().unwrap_or(0) + 1);
    let (status, again) = post(path.clone(), json!({"n":0,"text":"12345"}), tok.clone()).await;
    assert_eq!((status, &again), (200, &first));
    let (status, e) = post(path.clone(), json!({"n":1,"text":"123456"}), tok.clone()).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (413, Some("too_large")),
        "{e}"
    );
    let (status, e) = post(path.clone(), json!({"n":2,"text":"x"}), tok.clone()).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("bad_request")),
        "{e}"
    );
    let (status, e) = post(path.clone(), json!({"n":1,"text":"x"}), s.token("bob")).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("forbidden")),
        "{e}"
    );
    let (status, e) = post(
        format!("{base}/nope/append"),
        json!({"n":0,"text":"x"}),
        tok.clone(),
    )
    .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("not_found")),
        "{e}"
    );
    let (status, _) = post(
        path.clone(),
        json!({"n":1,"text":"12345","end":"done"}),
        tok.clone(),
    )
    .await;
    assert_eq!(status, 201);
    let (status, e) = post(path.clone(), json!({"n":2,"text":""}), tok.clone()).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("stream_ended")),
        "{e}"
    );
    let (status, _) = common::http(s.addr, "POST", &path, None, Some("{}")).await;
    assert_eq!(status, 401);
    // The WebSocket sees the whole stream folded on a join from the start.
    let mut c = s.client("carol").await;
    c.send(json!({"type":"join","ref":2,"room":ROOM,"since":0}))
        .await;
    let m = expect(&mut c, "message").await;
    assert_eq!(
        m["stream"],
        json!({"state":"done","text":"1234512345","n":2})
    );
    expect(&mut c, "joined").await;
    s.stop().await;
}

async fn streams_survive_a_restart(engine: Engine) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let redis = matches!(engine, Engine::Redis).then(Redis::start);
    let s = start_in(engine, tmp.path(), redis.as_ref()).await;
    let mut a = s.client("alice").await;
    a.join(2, ROOM).await;
    open_stream(&mut a, 3, ROOM, SID).await;
    append(&mut a, 4, 0, "one ", None).await;
    drop(a);
    s.stop().await;
    let s = start_in(engine, tmp.path(), redis.as_ref()).await;
    let mut a = s.client("alice").await;
    a.join(2, ROOM).await;
    assert_eq!(append(&mut a, 3, 0, "one ", None).await["n"], 0);
    assert_eq!(append(&mut a, 4, 1, "two", Some("done")).await["n"], 1);
    let (_, page) = s
        .http(
            "GET",
            &format!("/rooms/{ROOM}/messages"),
            Some(&s.token("alice")),
            None,
        )
        .await;
    assert_eq!(
        page["messages"][0]["stream"],
        json!({"state":"done","text":"one two","n":2})
    );
    s.stop().await;
}

async fn appends_count_against_the_rate_limits(engine: Engine) {
    // 50 frames/s, burst 100: 150 pipelined appends (after the hello, join and opening) take
    // about a second, as the same number of publishes would; none is lost or refused.
    let (s, _redis) = start(engine, |c| c.publish_rate = 50).await;
    let mut a = s.client("alice").await;
    a.join(2, ROOM).await;
    open_stream(&mut a, 3, ROOM, SID).await;
    let started = std::time::Instant::now();
    for n in 0..150u64 {
        a.send(json!({"type":"append","ref":100 + n,"room":ROOM,"id":SID,"n":n,"text":"x"}))
            .await;
    }
    for n in 0..150u64 {
        let ack = expect(&mut a, "ack").await;
        assert_eq!(
            (ack["ref"].as_u64(), ack["n"].as_u64()),
            (Some(100 + n), Some(n))
        );
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(800), "took {took:?}");
    // HTTP appends share the user's HTTP bucket with publishes: 429 once it is empty.
    let tok = s.token("bob");
    let base = format!("/rooms/{ROOM}/messages");
    let (status, _) = s
        .http(
            "POST",
            &base,
            Some(&tok),
            Some(&json!({"id":"s-2","event":"assistant.reply","stream":true}).to_string()),
        )
        .await;
    assert_eq!(status, 201);
    let mut limited = None;
    for n in 0..400u64 {
        let body = json!({"n":n,"text":"y"}).to_string();
        let (status, reply) = s
            .http(
                "POST",
                &format!("{base}/s-2/append"),
                Some(&tok),
                Some(&body),
            )
            .await;
        if status == 429 {
            limited = Some((n, reply));
            break;
        }
        assert_eq!(status, 201, "{reply}");
    }
    let (n, reply) = limited.expect("rate limited");
    assert_eq!(reply["code"], "rate_limited", "{reply}");
    assert!(n < 200, "limited only after {n} appends");
    s.stop().await;
}

/// Each scenario as two tests, `<scenario>::sqlite` and `<scenario>::redis`.
macro_rules! on_both_engines {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                use super::Engine;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$scenario(Engine::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn redis() {
                    super::$scenario(Engine::Redis).await;
                }
            }
        )*
    };
}

on_both_engines!(
    appends_are_acked_broadcast_and_idempotent,
    replays_and_history_fold_the_stream_into_its_opening_message,
    a_cancel_racing_appends_cuts_the_stream_at_one_point,
    an_idle_stream_is_ended_failed_by_the_server,
    the_text_limit_and_http_appends,
    streams_survive_a_restart,
    appends_count_against_the_rate_limits,
);
