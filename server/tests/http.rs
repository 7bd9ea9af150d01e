//! The HTTP endpoints against a real server.

mod common;

use common::{token, Client, Server};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_stats() {
    let s = Server::start(|_| {}).await;
    let (status, h) = s.http("GET", "/health", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(h["status"], "ok");
    assert_eq!(h["version"], env!("CARGO_PKG_VERSION"));
    assert!(h["uptime_s"].is_u64());
    assert_eq!(h["connections"], 0);

    let mut a = s.client("alice").await;
    a.join(1, "r1").await;
    a.publish(2, "r1", "a", json!(1)).await;
    a.publish(3, "r1", "b", json!(2)).await;
    let mut b = s.client("bob").await;
    b.join(1, "r2").await;
    b.publish(2, "r2", "c", json!(3)).await;
    b.send(json!({"type":"leave","ref":3,"room":"r2"})).await;
    b.expect("left").await;

    let (_, h) = s.http("GET", "/health", None, None).await;
    assert_eq!(h["connections"], 2);
    // Anyone sees aggregates only: no room names, no client sources.
    let (status, st) = s.http("GET", "/stats", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        st,
        json!({"connections": 2, "rooms": 1, "messages_stored": 3}),
        "{st}"
    );
    // A user token is not enough; a bad one is refused.
    let (status, e) = s.http("GET", "/stats", Some(&s.token("alice")), None).await;
    assert_eq!((status, e["code"].clone()), (403, json!("forbidden")));
    let (status, e) = s.http("GET", "/stats", Some("junk"), None).await;
    assert_eq!((status, e["code"].clone()), (401, json!("unauthorized")));
    // An operator token sees the detail.
    let op = common::operator_token("ops");
    let (status, st) = s.http("GET", "/stats", Some(&op), None).await;
    assert_eq!(status, 200);
    assert_eq!(st["connections"], 2);
    assert_eq!(st["rooms"], 1, "{st}");
    assert_eq!(st["connections_by_source"], json!({"test": 2}));
    assert_eq!(st["messages_stored"], 3);
    assert_eq!(st["messages_per_room"], json!({"r1": 2, "r2": 1}));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_is_idempotent_and_reaches_members() {
    let s = Server::start(|c| c.max_frame = 4096).await;
    let mut member = s.client("alice").await;
    member.join(1, "conv-1").await;
    let tok = token("assistant", Some(600), Some(&["conv-*"]));
    let body =
        json!({"id":"reply-1","event":"chat.message","data":{"role":"assistant","content":"Hi"}})
            .to_string();
    let (status, r) = s
        .http("POST", "/rooms/conv-1/messages", Some(&tok), Some(&body))
        .await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["seq"], 1);
    let ts = r["ts"].clone();
    let m = member.expect("message").await;
    assert_eq!(m["id"], "reply-1");
    assert_eq!(m["seq"], 1);
    assert_eq!(m["from"]["user"], "assistant");
    assert_eq!(m["from"]["source"], "server");
    assert_eq!(m["data"]["content"], "Hi");

    let (status, r) = s
        .http("POST", "/rooms/conv-1/messages", Some(&tok), Some(&body))
        .await;
    assert_eq!(status, 200);
    assert_eq!((r["seq"].clone(), r["ts"].clone()), (json!(1), ts));
    // No second broadcast: the member's next frame is its pong.
    member.roundtrip(5).await;

    // GET pages like history.
    for i in 2..=4 {
        let body = json!({"id":format!("reply-{i}"),"event":"e","data":i}).to_string();
        let (status, _) = s
            .http("POST", "/rooms/conv-1/messages", Some(&tok), Some(&body))
            .await;
        assert_eq!(status, 201);
    }
    let (status, page) = s
        .http("GET", "/rooms/conv-1/messages?limit=2", Some(&tok), None)
        .await;
    assert_eq!(status, 200);
    let seqs: Vec<_> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["seq"].clone())
        .collect();
    assert_eq!(seqs, vec![json!(3), json!(4)]);
    assert_eq!(page["more"], true);
    let (_, page) = s
        .http(
            "GET",
            "/rooms/conv-1/messages?before=3&limit=10",
            Some(&tok),
            None,
        )
        .await;
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["more"], false);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_errors_are_json() {
    let s = Server::start(|c| c.max_frame = 1024).await;
    let tok = token("u1", Some(600), Some(&["conv-*"]));
    let body = json!({"id":"x","event":"e","data":1}).to_string();

    let (status, e) = s
        .http("POST", "/rooms/conv-1/messages", None, Some(&body))
        .await;
    assert_eq!((status, e["code"].clone()), (401, json!("unauthorized")));
    assert!(e["message"].is_string());
    let (status, e) = s
        .http("GET", "/rooms/conv-1/messages", Some("junk"), None)
        .await;
    assert_eq!((status, e["code"].clone()), (401, json!("unauthorized")));
    let expired = token("u1", Some(-100), None);
    let (status, _) = s
        .http("GET", "/rooms/conv-1/messages", Some(&expired), None)
        .await;
    assert_eq!(status, 401);
    let (status, e) = s
        .http("POST", "/rooms/job-1/messages", Some(&tok), Some(&body))
        .await;
    assert_eq!((status, e["code"].clone()), (403, json!("forbidden")));
    let (status, e) = s
        .http("GET", "/rooms/job-1/messages", Some(&tok), None)
        .await;
    assert_eq!((status, e["code"].clone()), (403, json!("forbidden")));
    let (status, e) = s
        .http(
            "POST",
            "/rooms/conv-1/messages",
            Some(&tok),
            Some("{\"id\":1}"),
        )
        .await;
    assert_eq!((status, e["code"].clone()), (400, json!("bad_request")));
    let (status, e) = s
        .http(
            "POST",
            "/rooms/conv-1/messages",
            Some(&tok),
            Some("{\"id\":\"\",\"event\":\"e\"}"),
        )
        .await;
    assert_eq!((status, e["code"].clone()), (400, json!("bad_request")));
    let (status, e) = s
        .http("GET", "/rooms/bad%20room/messages", Some(&tok), None)
        .await;
    assert_eq!((status, e["code"].clone()), (400, json!("bad_request")));
    let (status, e) = s
        .http("GET", "/rooms/conv-1/messages?limit=abc", Some(&tok), None)
        .await;
    assert_eq!((status, e["code"].clone()), (400, json!("bad_request")));
    let big = json!({"id":"big","event":"e","data":"x".repeat(2000)}).to_string();
    let (status, e) = s
        .http("POST", "/rooms/conv-1/messages", Some(&tok), Some(&big))
        .await;
    assert_eq!((status, e["code"].clone()), (413, json!("too_large")));
    let (status, e) = s.http("GET", "/nope", None, None).await;
    assert_eq!((status, e["code"].clone()), (404, json!("not_found")));
    // Nothing was stored by all that.
    let (_, st) = s.http("GET", "/stats", None, None).await;
    assert_eq!(st["messages_stored"], 0);
    // And a WebSocket client still works.
    let mut c = Client::hello(s.addr, "u1", &tok).await;
    c.roundtrip(2).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_is_rate_limited_per_user() {
    // 1 message/s with a burst of 2.
    let s = Server::start(|c| c.publish_rate = 1).await;
    let tok = token("bot", Some(600), None);
    let mut statuses = Vec::new();
    for i in 0..3 {
        let body = json!({"id":format!("m{i}"),"event":"e","data":i}).to_string();
        let (status, r) = s
            .http("POST", "/rooms/r/messages", Some(&tok), Some(&body))
            .await;
        if status == 429 {
            assert_eq!(r["code"], "rate_limited");
        }
        statuses.push(status);
    }
    assert_eq!(statuses, vec![201, 201, 429]);
    // Another user has its own budget.
    let other = token("bot2", Some(600), None);
    let body = json!({"id":"o","event":"e","data":0}).to_string();
    let (status, _) = s
        .http("POST", "/rooms/r/messages", Some(&other), Some(&body))
        .await;
    assert_eq!(status, 201);
    s.stop().await;
}
