//! The WebSocket protocol against a real server over loopback.

mod common;

use std::time::Duration;

use common::{seqs, token, token_with, Client, Got, Server, SECRET};
use serde_json::{json, Value};

fn hello(tok: &str) -> Value {
    json!({"type":"hello","ref":1,"protocol":1,"token":tok,"client":{"id":"c-1","source":"test"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_ok() {
    let s = Server::start(|_| {}).await;
    let tok = token("u1", Some(600), None);
    let mut c = Client::connect(s.addr).await;
    c.send(hello(&tok)).await;
    let w = c.expect("welcome").await;
    assert_eq!(w["ref"], 1);
    assert_eq!(w["user"], "u1");
    assert_eq!(w["heartbeat_ms"], 25_000);
    assert_eq!(w["max_frame"], 65_536);
    assert!(w["session"].as_str().is_some_and(|s| s.len() >= 32), "{w}");
    let exp_ms = w["token_exp"].as_u64().expect("token_exp");
    let now_ms = roomcast_server::validate::now_ms();
    assert!(
        exp_ms > now_ms + 590_000 && exp_ms <= now_ms + 600_000,
        "{w}"
    );
    c.roundtrip(2).await;
    // A second hello is a bad request, not fatal.
    c.send(hello(&tok)).await;
    let e = c.expect("error").await;
    assert_eq!(e["code"], "bad_request");
    c.roundtrip(3).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_with_4001() {
    let s = Server::start(|_| {}).await;
    let cases = [
        "not-a-jwt".to_string(),
        token_with("another-secret", "u1", Some(600), None),
        token("u1", Some(-60), None),
        // exp is required outside dev mode
        token("u1", None, None),
    ];
    for tok in cases {
        let mut c = Client::connect(s.addr).await;
        c.send(hello(&tok)).await;
        let e = c.expect("error").await;
        assert_eq!(e["code"], "unauthorized", "{e}");
        assert_eq!(e["ref"], 1);
        assert_eq!(c.closed().await, Some(4001));
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_protocol_is_refused_with_4000() {
    let s = Server::start(|_| {}).await;
    let mut c = Client::connect(s.addr).await;
    let mut h = hello(&s.token("u1"));
    h["protocol"] = json!(2);
    c.send(h).await;
    let e = c.expect("error").await;
    assert_eq!(e["code"], "unsupported_protocol");
    assert_eq!(e["ref"], 1);
    assert_eq!(c.closed().await, Some(4000));

    // A future hello whose shape no longer decodes is still recognised by its version.
    let mut c = Client::connect(s.addr).await;
    c.send(json!({"type":"hello","ref":5,"protocol":7,"credentials":{}}))
        .await;
    let e = c.expect("error").await;
    assert_eq!(e["code"], "unsupported_protocol");
    assert_eq!(e["ref"], 5);
    assert_eq!(c.closed().await, Some(4000));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_client_fields_are_a_protocol_violation() {
    let s = Server::start(|_| {}).await;
    let mut c = Client::connect(s.addr).await;
    let mut h = hello(&s.token("u1"));
    h["client"]["source"] = json!("s".repeat(200));
    c.send(h).await;
    let e = c.expect("error").await;
    assert_eq!(
        (e["ref"].clone(), e["code"].clone()),
        (json!(1), json!("bad_request"))
    );
    assert_eq!(c.closed().await, Some(4000));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_frame_must_be_hello() {
    let s = Server::start(|_| {}).await;
    let mut c = Client::connect(s.addr).await;
    c.send(json!({"type":"join","ref":4,"room":"r"})).await;
    let e = c.expect("error").await;
    assert_eq!(e["code"], "unauthorized");
    assert_eq!(e["ref"], 4);
    assert_eq!(c.closed().await, Some(4001));

    let mut c = Client::connect(s.addr).await;
    c.send_text("{nonsense").await;
    assert_eq!(c.expect("error").await["code"], "unauthorized");
    assert_eq!(c.closed().await, Some(4001));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_timeout_closes_4001() {
    let s = Server::start(|c| c.hello_timeout_ms = 200).await;
    let mut c = Client::connect(s.addr).await;
    let started = std::time::Instant::now();
    assert_eq!(c.closed().await, Some(4001));
    assert!(started.elapsed() >= Duration::from_millis(150));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connection_is_closed_4000() {
    let s = Server::start(|c| c.heartbeat_ms = 100).await;
    let mut c = s.client("u1").await;
    // Talking keeps it open...
    for i in 0..4 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.roundtrip(10 + i).await;
    }
    // ...silence closes it after 2 × heartbeat.
    assert_eq!(c.closed().await, Some(4000));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_reaches_others_not_the_publisher() {
    let s = Server::start(|_| {}).await;
    let mut a = s.client("alice").await;
    let mut b = s.client("bob").await;
    let joined = a.join(2, "conv-1").await;
    assert_eq!(joined["seq"], 0);
    assert_eq!(joined["recovered"], true);
    assert!(joined["epoch"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(
        joined["presence"],
        json!([{"user":"alice","client":"c-alice","source":"test","name":"alice's box"}])
    );
    let jb = b.join(2, "conv-1").await;
    assert_eq!(jb["epoch"], joined["epoch"]);
    assert_eq!(jb["presence"].as_array().map(Vec::len), Some(2));
    let p = a.expect("presence").await;
    assert_eq!(p["event"], "join");
    assert_eq!(p["member"]["user"], "bob");

    // The publisher's next frame is its ack: no echo came before it.
    let ack = a
        .publish(3, "conv-1", "m-1", json!({"role":"user","content":"Hello"}))
        .await;
    assert_eq!(ack["id"], "m-1");
    assert_eq!(ack["seq"], 1);
    let ts = ack["ts"].as_u64().expect("ts");
    let m = b.expect("message").await;
    assert_eq!(
        m,
        json!({"type":"message","room":"conv-1","seq":1,"id":"m-1","event":"chat.message",
            "data":{"role":"user","content":"Hello"},
            "from":{"user":"alice","client":"c-alice","source":"test","name":"alice's box"},"ts":ts})
    );
    // And nothing else is pending for the publisher.
    a.roundtrip(4).await;

    // Idempotent: the same id again gives the original ack and no broadcast.
    let again = a.publish(5, "conv-1", "m-1", json!("different")).await;
    assert_eq!(again["seq"], 1);
    assert_eq!(again["ts"], ts);
    let next = a.publish(6, "conv-1", "m-2", json!(2)).await;
    assert_eq!(next["seq"], 2);
    let m2 = b.expect("message").await;
    assert_eq!(m2["id"], "m-2", "the repeat must not be broadcast");
    assert_eq!(m2["seq"], 2);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_repeats_are_deduplicated_too() {
    let s = Server::start(|_| {}).await;
    let (mut a, mut b) = s.joined_pair(1, "r").await;
    // Sent back to back, so they usually share one group commit.
    for r in 10..20u64 {
        let id = format!("m{}", r % 2);
        a.send(json!({"type":"publish","ref":r,"room":"r","id":id,"event":"e","data":r}))
            .await;
    }
    let mut seqs = Vec::new();
    for r in 10..20u64 {
        let ack = a.expect("ack").await;
        assert_eq!(ack["ref"], r);
        seqs.push(ack["seq"].as_u64().expect("seq"));
    }
    assert_eq!(seqs, [1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
    for seq in 1..=2 {
        let m = b.expect("message").await;
        assert_eq!(
            (m["seq"].clone(), m["data"].clone()),
            (json!(seq), json!(9 + seq))
        );
    }
    b.roundtrip(99).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_other_device_gets_the_message() {
    let s = Server::start(|_| {}).await;
    let tok = s.token("alice");
    let mut phone = Client::hello(s.addr, "alice", &tok).await;
    let mut laptop = Client::hello(s.addr, "alice", &tok).await;
    phone.join(1, "r").await;
    laptop.join(1, "r").await;
    phone.expect("presence").await;
    phone.publish(2, "r", "x", json!(null)).await;
    assert_eq!(laptop.expect("message").await["id"], "x");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_is_not_stored() {
    let s = Server::start(|_| {}).await;
    let (mut a, mut b) = s.joined_pair(2, "r").await;
    a.send(json!({"type":"publish","ref":3,"room":"r","id":"typing-1","event":"typing","data":{"on":true},"ephemeral":true}))
        .await;
    let ack = a.expect("ack").await;
    assert_eq!(ack["id"], "typing-1");
    assert!(ack.get("seq").is_none(), "{ack}");
    let m = b.expect("message").await;
    assert_eq!(m["event"], "typing");
    assert!(m.get("seq").is_none(), "{m}");
    a.send(json!({"type":"history","ref":4,"room":"r"})).await;
    let h = a.expect("history").await;
    assert_eq!(h["messages"], json!([]));
    // The next stored message still gets seq 1.
    assert_eq!(a.publish(5, "r", "m", json!(1)).await["seq"], 1);
    s.stop().await;
}

async fn publish_n(c: &mut Client, room: &str, n: u64) {
    for i in 1..=n {
        c.publish(100 + i, room, &format!("m-{i}"), json!(i)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_with_since_replays_exactly_the_gap() {
    let s = Server::start(|_| {}).await;
    let mut a = s.client("alice").await;
    let epoch = a.join(1, "r").await["epoch"].clone();
    publish_n(&mut a, "r", 5).await;

    let mut b = s.client("bob").await;
    b.send(json!({"type":"join","ref":2,"room":"r","since":2,"epoch":epoch}))
        .await;
    for seq in 3..=5 {
        let m = b.expect("message").await;
        assert_eq!(m["seq"], seq);
        assert_eq!(m["id"], format!("m-{seq}"));
        assert_eq!(m["data"], seq);
    }
    let j = b.expect("joined").await;
    assert_eq!(j["seq"], 5);
    assert_eq!(j["recovered"], true);
    assert_eq!(j["epoch"], epoch);

    // Without epoch the current one is assumed; since 0 means everything.
    let mut c = s.client("carol").await;
    c.send(json!({"type":"join","ref":2,"room":"r","since":0}))
        .await;
    for seq in 1..=5 {
        assert_eq!(c.expect("message").await["seq"], seq);
    }
    assert_eq!(c.expect("joined").await["recovered"], true);

    // Up to date: nothing replayed.
    let mut d = s.client("dave").await;
    d.send(json!({"type":"join","ref":2,"room":"r","since":5,"epoch":epoch}))
        .await;
    let j = d.expect("joined").await;
    assert_eq!(j["recovered"], true);

    // Above the head in the same epoch (the client saw messages a restored store lost):
    // nothing replayed, not recovered, so the client resets to the head.
    let mut e = s.client("erin").await;
    e.send(json!({"type":"join","ref":2,"room":"r","since":9,"epoch":epoch}))
        .await;
    let j = e.expect("joined").await;
    assert_eq!(j["seq"], 5);
    assert_eq!(j["recovered"], false);
    assert_eq!(j["epoch"], epoch);

    // Then every later message exactly once, in order.
    for _ in 0..4 {
        assert_eq!(a.expect("presence").await["event"], "join");
    }
    a.publish(50, "r", "m-6", json!(6)).await;
    for client in [&mut b, &mut c, &mut d, &mut e] {
        let mut m = client.recv().await;
        while m["type"] == "presence" {
            m = client.recv().await;
        }
        assert_eq!(m["seq"], 6, "{m}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_epoch_replays_nothing() {
    let s = Server::start(|_| {}).await;
    let mut a = s.client("alice").await;
    a.join(1, "r").await;
    publish_n(&mut a, "r", 3).await;
    let mut b = s.client("bob").await;
    b.send(json!({"type":"join","ref":2,"room":"r","since":1,"epoch":"not-the-epoch"}))
        .await;
    let j = b.expect("joined").await;
    assert_eq!(j["recovered"], false);
    assert_eq!(j["seq"], 3);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_limit_sends_newest_and_says_not_recovered() {
    let s = Server::start(|c| c.replay_limit = 3).await;
    let mut a = s.client("alice").await;
    a.join(1, "r").await;
    publish_n(&mut a, "r", 5).await;
    let mut b = s.client("bob").await;
    b.send(json!({"type":"join","ref":2,"room":"r","since":0}))
        .await;
    for seq in 3..=5 {
        assert_eq!(b.expect("message").await["seq"], seq);
    }
    let j = b.expect("joined").await;
    assert_eq!(j["recovered"], false);
    assert_eq!(j["seq"], 5);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_twice_is_idempotent() {
    let s = Server::start(|_| {}).await;
    let (mut a, mut b) = s.joined_pair(1, "r").await;
    a.publish(2, "r", "m-1", json!(1)).await;
    b.expect("message").await;
    b.send(json!({"type":"join","ref":3,"room":"r","since":0}))
        .await;
    let j = b.expect("joined").await;
    assert_eq!(j["ref"], 3);
    assert_eq!(j["seq"], 1);
    assert_eq!(j["recovered"], true);
    // No presence for the repeat: alice's next frame is her pong.
    a.roundtrip(4).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_are_delivered_and_stored_verbatim() {
    // Whitespace, key order and number spelling survive: the server never rebuilds `data`.
    // Numbers no f64 or u64 holds are JSON too, and are kept as written.
    const DATA: &str =
        r#"{"z": 1,  "a": [2.50, 1e3, "\u00e9", 1e400, -123456789012345678901234567890]}"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start_in(dir.path(), |_| {}).await;
    let (mut a, mut b) = s.joined_pair(2, "r").await;
    a.send_text(&format!(
        r#"{{"type":"publish","ref":3,"room":"r","id":"m-1","event":"e","data":{DATA}}}"#
    ))
    .await;
    a.expect("ack").await;
    let live = b.recv_text().await;
    assert!(live.contains(&format!(r#""data":{DATA}"#)), "{live}");
    s.stop().await;

    // From SQLite, after a restart.
    let s = Server::start_in(dir.path(), |_| {}).await;
    let mut c = s.client("carol").await;
    c.send(json!({"type":"history","ref":2,"room":"r"})).await;
    let page = c.recv_text().await;
    assert!(page.contains(&format!(r#""data":{DATA}"#)), "{page}");
    // Invalid JSON in `data` is refused, never stored.
    c.send_text(r#"{"type":"publish","ref":3,"room":"r","id":"m-2","event":"e","data":{"a":01}}"#)
        .await;
    let err = c.expect("error").await;
    assert_eq!(err["code"], "bad_request", "{err}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_backwards() {
    let s = Server::start(|_| {}).await;
    let mut a = s.client("alice").await;
    a.join(1, "r").await;
    publish_n(&mut a, "r", 7).await;
    let seqs = |h: &Value| -> Vec<u64> {
        h["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter_map(|m| m["seq"].as_u64())
            .collect()
    };
    // Not joined: history is still allowed.
    let mut b = s.client("bob").await;
    b.send(json!({"type":"history","ref":2,"room":"r","limit":3}))
        .await;
    let h = b.expect("history").await;
    assert_eq!(h["ref"], 2);
    assert_eq!(h["room"], "r");
    assert_eq!(seqs(&h), vec![5, 6, 7]);
    assert_eq!(h["more"], true);
    assert_eq!(h["messages"][0]["from"]["user"], "alice");
    b.send(json!({"type":"history","ref":3,"room":"r","limit":3,"before":5}))
        .await;
    let h = b.expect("history").await;
    assert_eq!(seqs(&h), vec![2, 3, 4]);
    assert_eq!(h["more"], true);
    b.send(json!({"type":"history","ref":4,"room":"r","limit":3,"before":2}))
        .await;
    let h = b.expect("history").await;
    assert_eq!(seqs(&h), vec![1]);
    assert_eq!(h["more"], false);
    b.send(json!({"type":"history","ref":5,"room":"r"})).await;
    let h = b.expect("history").await;
    assert_eq!(seqs(&h), (1..=7).collect::<Vec<_>>());
    assert_eq!(h["more"], false);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_claim_and_room_errors() {
    let s = Server::start(|c| c.max_rooms_per_conn = 2).await;
    let tok = token("u1", Some(600), Some(&["conv-*", "lobby"]));
    let mut c = Client::hello(s.addr, "u1", &tok).await;
    c.send(json!({"type":"join","ref":2,"room":"job-1"})).await;
    let e = c.expect("error").await;
    assert_eq!(
        (e["ref"].clone(), e["code"].clone()),
        (json!(2), json!("forbidden"))
    );
    c.send(json!({"type":"history","ref":3,"room":"job-1"}))
        .await;
    assert_eq!(c.expect("error").await["code"], "forbidden");
    c.send(json!({"type":"join","ref":4,"room":"bad room!"}))
        .await;
    assert_eq!(c.expect("error").await["code"], "bad_request");
    c.send(json!({"type":"publish","ref":5,"room":"conv-1","id":"m","event":"e","data":1}))
        .await;
    let e = c.expect("error").await;
    assert_eq!(
        (e["ref"].clone(), e["code"].clone()),
        (json!(5), json!("not_joined"))
    );
    c.join(6, "conv-1").await;
    c.join(7, "lobby").await;
    c.send(json!({"type":"join","ref":8,"room":"conv-2"})).await;
    assert_eq!(c.expect("error").await["code"], "too_many_rooms");
    // Re-joining one of them is fine.
    c.join(9, "lobby").await;
    // Bad ids and events.
    for (r, id, event) in [(10, "", "e"), (11, "a\u{1}b", "e"), (12, "ok", "")] {
        c.send(json!({"type":"publish","ref":r,"room":"conv-1","id":id,"event":event,"data":1}))
            .await;
        let e = c.expect("error").await;
        assert_eq!(
            (e["ref"].clone(), e["code"].clone()),
            (json!(r), json!("bad_request"))
        );
    }
    let long = "x".repeat(129);
    c.send(json!({"type":"publish","ref":13,"room":"conv-1","id":long,"event":"e","data":1}))
        .await;
    assert_eq!(c.expect("error").await["code"], "bad_request");
    // Leave, then publishing is not allowed any more.
    c.send(json!({"type":"leave","ref":14,"room":"conv-1"}))
        .await;
    assert_eq!(
        c.expect("left").await,
        json!({"type":"left","ref":14,"room":"conv-1"})
    );
    c.send(json!({"type":"publish","ref":15,"room":"conv-1","id":"m","event":"e","data":1}))
        .await;
    assert_eq!(c.expect("error").await["code"], "not_joined");
    c.join(16, "conv-2").await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_keep_the_connection() {
    let s = Server::start(|c| c.max_frame = 1024).await;
    let mut c = s.client("u1").await;
    c.join(2, "r").await;

    c.send_text("{not json").await;
    let e = c.expect("error").await;
    assert_eq!(e["code"], "bad_request");
    assert!(e.get("ref").is_none());

    c.send(json!({"type":"teleport","ref":3})).await;
    let e = c.expect("error").await;
    assert_eq!(
        (e["ref"].clone(), e["code"].clone()),
        (json!(3), json!("bad_request"))
    );

    c.send(json!({"type":"publish","ref":4,"room":"r"})).await;
    let e = c.expect("error").await;
    assert_eq!(
        (e["ref"].clone(), e["code"].clone()),
        (json!(4), json!("bad_request"))
    );

    c.send(json!({"ref":5})).await;
    assert_eq!(c.expect("error").await["code"], "bad_request");

    c.send_binary(vec![1, 2, 3]).await;
    assert_eq!(c.expect("error").await["code"], "bad_request");

    // Over max_frame: too_large with the ref, connection stays.
    let big = "y".repeat(2000);
    c.send(json!({"type":"publish","ref":6,"room":"r","id":"big","event":"e","data":big}))
        .await;
    let e = c.expect("error").await;
    assert_eq!(
        (e["ref"].clone(), e["code"].clone()),
        (json!(6), json!("too_large"))
    );

    // Unknown fields are ignored.
    c.send(json!({"type":"ping","ref":7,"future":"field"}))
        .await;
    assert_eq!(c.recv().await, json!({"type":"pong","ref":7}));
    assert_eq!(c.publish(8, "r", "small", json!("ok")).await["seq"], 1);

    // Over the transport limit (1 MiB here) the connection closes with 1009.
    let huge = "z".repeat(1_200_000);
    let text = format!("{{\"type\":\"ping\",\"ref\":9,\"pad\":\"{huge}\"}}");
    // The server may close (and the kernel reset) the socket while the frame is still being
    // written: a failed send is that same refusal.
    if c.try_send_text(&text).await {
        match c.next().await {
            Got::Closed(code) => assert_eq!(code, Some(1009)),
            Got::Error(_) => {} // the server may drop the socket before we read the close frame
            Got::Frame(f) => panic!("expected close, got {f}"),
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_join_and_leave() {
    let s = Server::start(|_| {}).await;
    let mut a = s.client("alice").await;
    a.join(1, "r").await;
    let mut b = s.client("bob").await;
    b.join(1, "r").await;
    let p = a.expect("presence").await;
    assert_eq!(
        p,
        json!({"type":"presence","room":"r","event":"join",
            "member":{"user":"bob","client":"c-bob","source":"test","name":"bob's box"}})
    );
    b.send(json!({"type":"leave","ref":2,"room":"r"})).await;
    b.expect("left").await;
    let p = a.expect("presence").await;
    assert_eq!(p["event"], "leave");
    assert_eq!(p["member"]["user"], "bob");

    // Disconnecting leaves every room.
    let mut c = s.client("carol").await;
    c.join(1, "r").await;
    assert_eq!(a.expect("presence").await["event"], "join");
    drop(c);
    let p = a.expect("presence").await;
    assert_eq!(
        (p["event"].clone(), p["member"]["user"].clone()),
        (json!("leave"), json!("carol"))
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_keeps_the_user() {
    let s = Server::start(|_| {}).await;
    let mut c = Client::hello(s.addr, "u1", &token("u1", Some(60), None)).await;
    c.send(json!({"type":"refresh","ref":2,"token":token("u1", Some(7200), None)}))
        .await;
    let r = c.expect("refreshed").await;
    assert_eq!(r["ref"], 2);
    let exp = r["token_exp"].as_u64().expect("token_exp");
    assert!(exp > roomcast_server::validate::now_ms() + 7_000_000);
    c.send(json!({"type":"refresh","ref":3,"token":token("mallory", Some(7200), None)}))
        .await;
    let e = c.expect("error").await;
    assert_eq!(
        (e["ref"].clone(), e["code"].clone()),
        (json!(3), json!("unauthorized"))
    );
    c.send(json!({"type":"refresh","ref":4,"token":"junk"}))
        .await;
    assert_eq!(c.expect("error").await["code"], "unauthorized");
    c.roundtrip(5).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_token_closes_unless_refreshed() {
    let s = Server::start(|_| {}).await;
    // exp is in whole seconds: 2 s from now is 1 to 2 s away.
    let short = token("u1", Some(2), None);
    let mut stale = Client::hello(s.addr, "u1", &short).await;
    let mut fresh = Client::hello(s.addr, "u1", &short).await;
    fresh
        .send(json!({"type":"refresh","ref":2,"token":token("u1", Some(600), None)}))
        .await;
    fresh.expect("refreshed").await;
    let e = stale.expect("error").await;
    assert_eq!(e["code"], "unauthorized");
    assert_eq!(stale.closed().await, Some(4001));
    tokio::time::sleep(Duration::from_millis(200)).await;
    fresh.roundtrip(3).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_seq_and_epoch() {
    let s = Server::start(|_| {}).await;
    let mut a = s.client("alice").await;
    let epoch = a.join(1, "r").await["epoch"].clone();
    publish_n(&mut a, "r", 3).await;
    drop(a);
    let tmp = s.stop().await.expect("temp dir");

    let s = Server::start_in(tmp.path(), |_| {}).await;
    let mut a = s.client("alice").await;
    a.send(json!({"type":"join","ref":1,"room":"r","since":1,"epoch":epoch}))
        .await;
    assert_eq!(a.expect("message").await["seq"], 2);
    assert_eq!(a.expect("message").await["seq"], 3);
    let j = a.expect("joined").await;
    assert_eq!(
        (j["seq"].clone(), j["epoch"].clone(), j["recovered"].clone()),
        (json!(3), epoch.clone(), json!(true))
    );
    assert_eq!(a.publish(2, "r", "m-4", json!(4)).await["seq"], 4);
    // Idempotency survives the restart too.
    assert_eq!(a.publish(3, "r", "m-1", json!(1)).await["seq"], 1);
    drop(a);
    s.stop().await;

    // A wiped store gives the room a new epoch.
    let empty = tempfile::tempdir().expect("tempdir");
    let s = Server::start_in(empty.path(), |_| {}).await;
    let mut a = s.client("alice").await;
    a.send(json!({"type":"join","ref":1,"room":"r","since":3,"epoch":epoch}))
        .await;
    let j = a.expect("joined").await;
    assert_ne!(j["epoch"], epoch);
    assert_eq!(j["recovered"], false);
    assert_eq!(j["seq"], 0);
    drop(tmp);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_give_one_gapless_order() {
    let s = Server::start(|_| {}).await;
    let mut watcher = s.client("w").await;
    watcher.join(1, "r").await;
    let mut tasks = Vec::new();
    for p in 0..3 {
        let addr = s.addr;
        let tok = s.token(&format!("p{p}"));
        tasks.push(tokio::spawn(async move {
            let mut c = Client::hello(addr, &format!("p{p}"), &tok).await;
            c.join(1, "r").await;
            // Pipeline all publishes, then collect the acks.
            for i in 0..50u64 {
                c.send(json!({"type":"publish","ref":100+i,"room":"r","id":format!("p{p}-{i}"),"event":"e","data":i}))
                    .await;
            }
            let mut acks = 0;
            while acks < 50 {
                if c.recv().await["type"] == "ack" {
                    acks += 1;
                }
            }
            c
        }));
    }
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.expect("publisher"));
    }
    let mut next = 1;
    while next <= 150 {
        let m = watcher.recv().await;
        if m["type"] == "message" {
            assert_eq!(m["seq"], next, "{m}");
            next += 1;
        }
    }
    s.stop().await;
}

/// Reads until a `joined` has arrived and, after it, everything up to seq `last`.
async fn read_through(c: &mut Client, last: u64) -> Vec<Value> {
    let mut frames: Vec<Value> = Vec::new();
    loop {
        if let Some(pos) = frames.iter().position(|f| f["type"] == "joined") {
            let head = frames[pos]["seq"].as_u64();
            if head == Some(last) || seqs(&frames[pos..]).last() == Some(&last) {
                return frames;
            }
        }
        frames.push(c.recv().await);
    }
}

/// Joins, leaves and rejoins while a publisher keeps a window of publishes in flight: the
/// store commits a batch while the one before is still being broadcast, and each joiner must
/// still get its replay up to the head it was told and then every later message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_and_leaves_during_a_burst_see_every_seq_once() {
    const N: u64 = 2000;
    const JOINERS: u64 = 8;
    // Joiners read only at the end: their queues and the replay hold a whole burst.
    let s = Server::start(|c| {
        c.publish_rate = 0;
        c.user_rate = 0;
        c.outbound_queue = 4 * N as usize;
        c.replay_limit = 4 * N as u32;
    })
    .await;
    let room = "burst";
    let mut publisher = s.client("pub").await;
    publisher.join(1, room).await;
    let mut joiners = Vec::new();
    for i in 0..JOINERS {
        joiners.push(s.client(&format!("j{i}")).await);
    }
    let chunk = N / JOINERS;
    let mut acked = 0u64;
    for (i, c) in (0u64..).zip(joiners.iter_mut()) {
        for n in i * chunk + 1..=(i + 1) * chunk {
            publisher
                .send(json!({"type":"publish","ref":100 + n,"room":room,"id":format!("p-{n}"),"event":"e","data":n}))
                .await;
        }
        // Join once about half of this chunk is acked: the rest is still being committed and
        // fanned out while the join's replay is read.
        while acked < i * chunk + chunk / 2 {
            if publisher.recv().await["type"] == "ack" {
                acked += 1;
            }
        }
        let join = match i % 3 {
            0 => json!({"type":"join","ref":2,"room":room,"since":0}),
            _ => json!({"type":"join","ref":2,"room":room}),
        };
        c.send(join).await;
    }
    while acked < N {
        if publisher.recv().await["type"] == "ack" {
            acked += 1;
        }
    }
    for (i, c) in (0u64..).zip(joiners.iter_mut()) {
        let frames = read_through(c, N).await;
        let pos = frames
            .iter()
            .position(|f| f["type"] == "joined")
            .expect("joined");
        let head = frames[pos]["seq"].as_u64().expect("seq");
        assert!(head >= i * chunk + chunk / 2, "joiner {i}: head {head}");
        let before = seqs(&frames[..pos]);
        let after = seqs(&frames[pos..]);
        if i % 3 == 0 {
            assert_eq!(before, (1..=head).collect::<Vec<_>>(), "joiner {i}");
            assert_eq!(frames[pos]["recovered"], true);
        } else {
            assert!(before.is_empty(), "joiner {i}");
        }
        assert_eq!(after, ((head + 1)..=N).collect::<Vec<_>>(), "joiner {i}");
    }

    // A leave in the middle of another burst, then a rejoin from the last seq seen: the
    // replay picks up exactly where the live messages stopped.
    let c = &mut joiners[1];
    for n in N + 1..=2 * N {
        publisher
            .send(json!({"type":"publish","ref":100 + n,"room":room,"id":format!("p-{n}"),"event":"e","data":n}))
            .await;
    }
    while acked < N + N / 2 {
        if publisher.recv().await["type"] == "ack" {
            acked += 1;
        }
    }
    c.send(json!({"type":"leave","ref":3,"room":room})).await;
    let mut live = Vec::new();
    loop {
        let f = c.recv().await;
        match f["type"].as_str() {
            Some("left") => break,
            Some("message") => live.push(f["seq"].as_u64().expect("seq")),
            _ => {}
        }
    }
    let last = live.last().copied().unwrap_or(N);
    assert_eq!(live, ((N + 1)..=last).collect::<Vec<_>>());
    c.send(json!({"type":"join","ref":4,"room":room,"since":last}))
        .await;
    while acked < 2 * N {
        if publisher.recv().await["type"] == "ack" {
            acked += 1;
        }
    }
    let frames = read_through(c, 2 * N).await;
    assert_eq!(seqs(&frames), ((last + 1)..=2 * N).collect::<Vec<_>>());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_is_cut_and_publisher_unaffected() {
    // Small enough to fill quickly, large enough that a busy but reading client keeps up.
    let s = Server::start(|c| c.outbound_queue = 64).await;
    let mut slow = s.client("slow").await;
    slow.join(1, "r").await;
    let mut publisher = s.client("fast").await;
    publisher.join(1, "r").await;
    // ~24 MB of ephemeral traffic: more than the loopback socket buffers can hold.
    let blob = "b".repeat(60_000);
    let total = 400u64;
    let mut acks = 0;
    let mut saw_leave = false;
    let note = |v: &Value, acks: &mut u64, saw_leave: &mut bool| match v["type"].as_str() {
        Some("ack") => *acks += 1,
        Some("presence") => {
            assert_eq!(
                (v["event"].as_str(), v["member"]["user"].as_str()),
                (Some("leave"), Some("slow"))
            );
            *saw_leave = true;
        }
        _ => panic!("unexpected {v}"),
    };
    for i in 0..total {
        publisher
            .send(json!({"type":"publish","ref":10+i,"room":"r","id":format!("e{i}"),"event":"blob","data":blob,"ephemeral":true}))
            .await;
        // Keep reading our own acks so that we are not a slow consumer ourselves.
        while let Ok(Some(Ok(msg))) = tokio::time::timeout(
            Duration::from_millis(0),
            futures_util::StreamExt::next(&mut publisher.ws),
        )
        .await
        {
            match msg {
                tokio_tungstenite::tungstenite::Message::Text(t) => note(
                    &serde_json::from_str(t.as_str()).expect("json"),
                    &mut acks,
                    &mut saw_leave,
                ),
                tokio_tungstenite::tungstenite::Message::Close(c) => {
                    panic!("publisher closed after {i} publishes, {acks} acks: {c:?}")
                }
                _ => {}
            }
        }
    }
    while acks < total {
        let v = publisher.recv().await;
        note(&v, &mut acks, &mut saw_leave);
    }
    // The slow one is gone (server side) and the publisher still works.
    let mut gone = false;
    for _ in 0..100 {
        let (_, stats) = s.http("GET", "/stats", None, None).await;
        if stats["connections"] == 1 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "the slow consumer was not cut");
    if !saw_leave {
        let v = publisher.expect("presence").await;
        note(&v, &mut acks, &mut saw_leave);
    }
    assert_eq!(
        publisher.publish(1000, "r", "after", json!(1)).await["seq"],
        1
    );
    // What the slow client finally reads ends with 4008 (or a reset).
    loop {
        match slow.next_within(Duration::from_secs(10)).await {
            Got::Frame(_) => continue,
            Got::Closed(code) => {
                assert!(code.is_none() || code == Some(4008), "{code:?}");
                break;
            }
            Got::Error(_) => break,
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_with_1001_after_acks() {
    let s = Server::start(|_| {}).await;
    let mut a = s.client("alice").await;
    a.join(1, "r").await;
    for i in 0..20u64 {
        a.send(json!({"type":"publish","ref":10+i,"room":"r","id":format!("m{i}"),"event":"e","data":i}))
            .await;
    }
    // Wait for the first ack so the server has surely read the frames before it.
    assert_eq!(a.expect("ack").await["ref"], 10);
    let stopping = tokio::spawn(s.stop());
    let mut last_ack = 10;
    let code = loop {
        match a.next().await {
            Got::Frame(f) => {
                assert_eq!(f["type"], "ack", "{f}");
                let r = f["ref"].as_u64().expect("ref");
                assert_eq!(r, last_ack + 1, "acks in order");
                last_ack = r;
            }
            Got::Closed(code) => break code,
            Got::Error(e) => panic!("{e}"),
        }
    };
    assert_eq!(code, Some(1001));
    let tmp = stopping.await.expect("stop").expect("dir");
    // Everything acked is stored.
    let s = Server::start_in(tmp.path(), |_| {}).await;
    let mut b = s.client("bob").await;
    b.send(json!({"type":"history","ref":1,"room":"r","limit":100}))
        .await;
    let h = b.expect("history").await;
    let stored = h["messages"].as_array().map(Vec::len).unwrap_or(0) as u64;
    assert!(
        stored >= last_ack - 9,
        "stored {stored}, acked {}",
        last_ack - 9
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_accepts_tokens_without_exp() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let start = |dir: std::path::PathBuf| async move {
        let mut config = roomcast_server::Config::new(&dir);
        config.jwt_secret = None;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let h = tokio::spawn(roomcast_server::serve(config, listener, async move {
            let _ = rx.await;
        }));
        (addr, tx, h)
    };
    let (addr, stop, handle) = start(tmp.path().to_path_buf()).await;
    // The server writes its secret before it accepts anything.
    let mut c = Client::connect(addr).await;
    let secret = std::fs::read_to_string(tmp.path().join("dev-jwt-secret")).expect("dev secret");
    assert_ne!(secret.trim(), SECRET);
    let tok = token_with(secret.trim(), "dev", None, None);
    c.send(hello(&tok)).await;
    let w = c.expect("welcome").await;
    assert_eq!(w["token_exp"], Value::Null);
    drop(c);
    let _ = stop.send(());
    handle.await.expect("task").expect("serve");
    // The secret is reused on the next start.
    let (_addr, stop, handle) = start(tmp.path().to_path_buf()).await;
    let again = std::fs::read_to_string(tmp.path().join("dev-jwt-secret")).expect("dev secret");
    assert_eq!(secret, again);
    let _ = stop.send(());
    handle.await.expect("task").expect("serve");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_slows_reading_and_loses_nothing() {
    // 200 frames/s with a burst of 400: 600 pings need about 1 s more.
    let s = Server::start(|c| c.publish_rate = 200).await;
    let mut c = s.client("u1").await;
    let started = std::time::Instant::now();
    for r in 0..600u64 {
        c.send(json!({"type":"ping","ref":r})).await;
    }
    for r in 0..600u64 {
        assert_eq!(c.recv().await, json!({"type":"pong","ref":r}));
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(800), "took {took:?}");
    s.stop().await;
}
