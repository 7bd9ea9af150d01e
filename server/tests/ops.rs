//! Operating the server: `/metrics` (parsed by a strict Prometheus text-format parser, the
//! counters moving as the traffic says), `/livez` and `/readyz`, the internal listener, and
//! the admin API with every credential case.

mod common;
#[allow(dead_code)]
mod redis_server;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use common::{http, http_text, operator_token, Client, Server};
use roomcast_server::Config;
use serde_json::{json, Value};

/// The metrics are per process: the tests of this binary run one at a time so that the
/// counters move only with the traffic of the test reading them.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One parsed sample: name, labels, value.
type Samples = BTreeMap<String, f64>;

/// Parses the Prometheus text exposition format (0.0.4) strictly: every sample's family
/// has `# HELP` and `# TYPE` before it, names and labels are well formed, values are
/// numbers, histogram buckets are cumulative and end with `+Inf` equal to `_count`. Returns
/// the samples keyed `name{labels}` (labels as written).
fn parse_exposition(text: &str) -> Samples {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helped: Vec<String> = Vec::new();
    let mut samples = Samples::new();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    };
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().expect("help name");
            assert!(name_ok(name), "bad name in {line:?}");
            helped.push(name.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (name, kind) = (parts.next().expect("name"), parts.next().expect("type"));
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line:?}"
            );
            assert!(
                types.insert(name.into(), kind.into()).is_none(),
                "TYPE twice: {line:?}"
            );
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment {line:?}");
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("value in {line:?}"));
        let name = series.split('{').next().expect("name");
        assert!(name_ok(name), "bad name {line:?}");
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                let inner = labels
                    .strip_prefix('{')
                    .and_then(|l| l.strip_suffix('}'))
                    .unwrap_or_else(|| panic!("labels in {line:?}"));
                for pair in inner.split("\",").filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line:?}"));
                    assert!(name_ok(k), "label name in {line:?}");
                    assert!(!v.trim_end_matches('"').contains('\n'));
                }
            }
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "sample before its TYPE: {line:?}"
        );
        assert!(helped.iter().any(|h| h == family), "no HELP for {family}");
        samples.insert(series.to_string(), value);
    }
    // Histograms: cumulative buckets, +Inf = count.
    for (family, kind) in &types {
        if kind != "histogram" {
            continue;
        }
        let prefix = format!("{family}_bucket{{le=\"");
        let mut last = 0.0;
        let mut inf = None;
        for line in text.lines().filter(|l| l.starts_with(&prefix)) {
            let (series, v) = line.rsplit_once(' ').expect("value");
            let v: f64 = v.parse().expect("number");
            assert!(v >= last, "{family} buckets not cumulative at {line:?}");
            last = v;
            if series.ends_with("le=\"+Inf\"}") {
                inf = Some(v);
            }
        }
        assert_eq!(
            inf,
            samples.get(&format!("{family}_count")).copied(),
            "{family}"
        );
    }
    samples
}

async fn scrape(addr: SocketAddr) -> Samples {
    let (status, text) = http_text(addr, "GET", "/metrics", None, None).await;
    assert_eq!(status, 200, "{text}");
    parse_exposition(&text)
}

fn get(s: &Samples, key: &str) -> f64 {
    *s.get(key).unwrap_or_else(|| panic!("no sample {key}"))
}

fn delta(before: &Samples, after: &Samples, key: &str) -> f64 {
    get(after, key) - before.get(key).copied().unwrap_or(0.0)
}

fn internal(c: &mut Config) {
    c.internal_listen = Some("127.0.0.1:0".parse().expect("addr"));
    c.publish_rate = 0;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_health_and_the_internal_listener() {
    let _serial = SERIAL.lock().await;
    let server = Server::start(internal).await;
    let inner = server.internal.expect("internal listener");

    for addr in [server.addr, inner] {
        let (status, body) = http(addr, "GET", "/livez", None, None).await;
        assert_eq!((status, body), (200, json!({"status": "ok"})));
        let (status, body) = http(addr, "GET", "/readyz", None, None).await;
        assert_eq!((status, body), (200, json!({"status": "ready"})));
    }
    // With an internal listener, /metrics and /admin are not on the public one at all.
    let (status, _) = server
        .http("GET", "/metrics", Some(&operator_token("ops")), None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = server.http("GET", "/admin/rooms", None, None).await;
    assert_eq!(status, 404);
    // The internal listener needs no credential.
    let (status, _) = http(inner, "GET", "/admin/rooms", None, None).await;
    assert_eq!(status, 200);

    let before = scrape(inner).await;
    let mut a = server.client("alice").await;
    let mut b = server.client("bob").await;
    a.join(1, "m").await;
    b.join(1, "m").await;
    a.expect("presence").await;
    for i in 0..3 {
        a.publish(10 + i, "m", &format!("id-{i}"), json!(i)).await;
    }
    a.send(json!({"type":"publish","ref":20,"room":"m","id":"e1","event":"typing","data":1,"ephemeral":true}))
        .await;
    a.expect("ack").await;
    a.send(json!({"type":"history","ref":21,"room":"m","limit":10}))
        .await;
    a.expect("history").await;
    let token = server.token("carol");
    let (status, _) = server
        .http(
            "POST",
            "/rooms/m/messages",
            Some(&token),
            Some(r#"{"id":"h1","event":"e","data":1}"#),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = server
        .http("GET", "/rooms/m/messages", Some(&token), None)
        .await;
    assert_eq!(status, 200);
    // A join with since replays 4 items.
    let mut c = server.client("carol").await;
    c.send(json!({"type":"join","ref":1,"room":"m","since":0}))
        .await;
    while c.recv().await["type"] != "joined" {}

    let after = scrape(inner).await;
    assert_eq!(delta(&before, &after, "roomcast_joins_total"), 3.0);
    let persisted = r#"roomcast_publishes_total{kind="persisted",via="ws"}"#;
    assert_eq!(delta(&before, &after, persisted), 3.0);
    let ephemeral = r#"roomcast_publishes_total{kind="ephemeral",via="ws"}"#;
    assert_eq!(delta(&before, &after, ephemeral), 1.0);
    let via_http = r#"roomcast_publishes_total{kind="persisted",via="http"}"#;
    assert_eq!(delta(&before, &after, via_http), 1.0);
    assert_eq!(delta(&before, &after, "roomcast_acks_total"), 3.0);
    assert_eq!(
        delta(&before, &after, "roomcast_ack_latency_seconds_count"),
        3.0
    );
    assert!(delta(&before, &after, "roomcast_store_commit_seconds_count") >= 1.0);
    assert_eq!(delta(&before, &after, "roomcast_store_batch_size_sum"), 4.0);
    assert_eq!(delta(&before, &after, "roomcast_replayed_items_total"), 4.0);
    assert_eq!(
        delta(&before, &after, r#"roomcast_history_pages_total{via="ws"}"#),
        1.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            r#"roomcast_history_pages_total{via="http"}"#
        ),
        1.0
    );
    assert_eq!(get(&after, r#"roomcast_connections{source="test"}"#), 3.0);
    assert_eq!(get(&after, "roomcast_rooms"), 1.0);
    assert!(get(&after, "process_resident_memory_bytes") > 1e6);
    assert!(get(&after, "process_open_fds") >= 3.0);
    assert_eq!(get(&after, "roomcast_draining"), 0.0);
    server.stop().await;
}

fn with_key(c: &mut Config) {
    c.admin_key = Some("admin-key-0123456789".into());
    c.publish_rate = 0;
}

const KEY: &str = "admin-key-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_on_the_public_listener_with_a_key() {
    let _serial = SERIAL.lock().await;
    let server = Server::start(with_key).await;
    // Credentials: none, wrong, a user token, an operator token: all refused; the key works.
    for (token, want) in [
        (None, 401),
        (Some("wrong-key-0123456789".to_string()), 401),
        (Some(server.token("alice")), 401),
        (Some(operator_token("ops")), 401),
        (Some(KEY.to_string()), 200),
    ] {
        let (status, body) = server
            .http("GET", "/admin/rooms", token.as_deref(), None)
            .await;
        assert_eq!(status, want, "{token:?}: {body}");
    }
    // /metrics takes the key or an operator token, not a user token.
    for (token, want) in [
        (None, 401),
        (Some(server.token("alice")), 401),
        (Some(operator_token("ops")), 200),
        (Some(KEY.to_string()), 200),
    ] {
        let (status, _) = http_text(server.addr, "GET", "/metrics", token.as_deref(), None).await;
        assert_eq!(status, want, "{token:?}");
    }

    // Presence and rooms.
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    alice.join(1, "r").await;
    bob.join(1, "r").await;
    alice.expect("presence").await;
    let (status, body) = server
        .http("GET", "/admin/rooms/r/presence", Some(KEY), None)
        .await;
    assert_eq!(status, 200);
    let users: Vec<&str> = body["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["user"].as_str())
        .collect();
    assert_eq!(users, ["alice", "bob"]);

    // Erase alice's messages in r: tombstones keep their seq and id; bob's stay.
    let a1 = alice
        .publish(2, "r", "a1", json!({"text":"my address"}))
        .await;
    bob.expect("message").await;
    bob.publish(2, "r", "b1", json!({"text":"hi"})).await;
    alice.expect("message").await;
    alice
        .publish(3, "r", "a2", json!({"text":"my phone"}))
        .await;
    bob.expect("message").await;
    let (status, body) = server.http("GET", "/admin/rooms", Some(KEY), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["rooms"],
        json!([{"room":"r","stored":3,"members_here":2}])
    );
    let (status, body) = server
        .http(
            "DELETE",
            "/admin/users/alice/messages?room=r",
            Some(KEY),
            None,
        )
        .await;
    assert_eq!((status, body["erased"].clone()), (200, json!(2)), "{body}");
    let (_, page) = server
        .http("GET", "/rooms/r/messages", Some(&server.token("bob")), None)
        .await;
    let page = page["messages"].as_array().expect("messages").clone();
    assert_eq!(page.len(), 3);
    assert_eq!(page[0]["seq"], 1);
    assert_eq!(page[0]["id"], "a1");
    assert_eq!(page[0]["event"], "roomcast.erased");
    assert_eq!(page[0]["data"], Value::Null);
    assert_eq!(page[0]["from"]["user"], "");
    assert_eq!(page[1]["data"], json!({"text":"hi"}));
    assert_eq!(page[2]["event"], "roomcast.erased");
    // The erased id is still known: a re-send (an offline queue) is not stored again.
    let again = alice
        .publish(4, "r", "a1", json!({"text":"my address"}))
        .await;
    assert_eq!(again["seq"], a1["seq"]);

    // Disconnect alice (two devices) and block her for a minute; bob stays.
    let mut alice2 = server.client("alice").await;
    let (status, body) = server
        .http(
            "POST",
            "/admin/users/alice/disconnect",
            Some(KEY),
            Some(r#"{"block_s":60}"#),
        )
        .await;
    assert_eq!(
        (status, body["disconnected"].clone()),
        (200, json!(2)),
        "{body}"
    );
    assert_eq!(alice.closed().await, Some(4001));
    assert_eq!(alice2.closed().await, Some(4001));
    let mut again = Client::connect(server.addr).await;
    again
        .send(json!({"type":"hello","ref":1,"protocol":1,"token":server.token("alice"),"client":{"id":"x","source":"test"}}))
        .await;
    let refused = again.expect("error").await;
    assert_eq!(refused["code"], "unauthorized");
    let (status, _) = server
        .http(
            "GET",
            "/rooms/r/messages",
            Some(&server.token("alice")),
            None,
        )
        .await;
    assert_eq!(status, 401);
    bob.send(json!({"type":"ping","ref":50})).await;
    while bob.recv().await["type"] != "pong" {}
    let (status, _) = server
        .http(
            "POST",
            "/admin/users/alice/disconnect",
            Some(KEY),
            Some(r#"{"code":1234}"#),
        )
        .await;
    assert_eq!(status, 400);

    // Reset r: a new epoch, empty history, bob closed with 1001; a rejoin gets the new epoch.
    let old_epoch = {
        let mut c = server.client("carol").await;
        c.join(1, "r").await["epoch"].clone()
    };
    let (status, body) = server
        .http("DELETE", "/admin/rooms/r/messages", Some(KEY), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let epoch = body["epoch"].clone();
    assert_ne!(epoch, old_epoch);
    assert_eq!(
        bob.closed().await,
        Some(1001),
        "members are closed with 1001"
    );
    let mut carol = server.client("carol").await;
    carol
        .send(json!({"type":"join","ref":1,"room":"r","since":3,"epoch":old_epoch}))
        .await;
    let joined = carol.expect("joined").await;
    assert_eq!(
        (
            joined["epoch"].clone(),
            joined["seq"].clone(),
            joined["recovered"].clone()
        ),
        (epoch, json!(0), json!(false))
    );
    let (_, page) = server
        .http(
            "GET",
            "/rooms/r/messages",
            Some(&server.token("carol")),
            None,
        )
        .await;
    assert_eq!(page["messages"], json!([]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_admin_api_without_a_key_or_internal_listener() {
    let _serial = SERIAL.lock().await;
    let server = Server::start(|_| {}).await;
    let (status, _) = server
        .http("GET", "/admin/rooms", Some("anything"), None)
        .await;
    assert_eq!(status, 404);
    // /metrics with an operator token still works.
    let (status, _) = http_text(
        server.addr,
        "GET",
        "/metrics",
        Some(&operator_token("o")),
        None,
    )
    .await;
    assert_eq!(status, 200);
    server.stop().await;
}

/// The next frame of type `kind`, skipping presence (Redis announces it asynchronously).
async fn expect_skipping(c: &mut Client, kind: &str) -> Value {
    loop {
        let f = c.recv().await;
        if f["type"] == kind {
            return f;
        }
        assert_eq!(f["type"], "presence", "{f}");
    }
}

async fn publish_skipping(c: &mut Client, r: u64, room: &str, id: &str) -> Value {
    c.send(json!({"type":"publish","ref":r,"room":room,"id":id,"event":"e","data":1}))
        .await;
    expect_skipping(c, "ack").await
}

/// Under `--redis`: presence, erasure (the entries go, their ids stay), reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_on_redis() {
    let _serial = SERIAL.lock().await;
    let redis = redis_server::Redis::start();
    let url = redis.url.clone();
    let server = Server::start(move |c| {
        with_key(c);
        c.redis_url = Some(url);
    })
    .await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    alice.join(1, "r").await;
    bob.join(1, "r").await;
    let (_, body) = server
        .http("GET", "/admin/rooms/r/presence", Some(KEY), None)
        .await;
    let mut users: Vec<&str> = body["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["user"].as_str())
        .collect();
    users.sort_unstable();
    assert_eq!(users, ["alice", "bob"]);
    let a1 = publish_skipping(&mut alice, 2, "r", "a1").await;
    expect_skipping(&mut bob, "message").await;
    publish_skipping(&mut bob, 2, "r", "b1").await;
    expect_skipping(&mut alice, "message").await;
    let (status, body) = server
        .http("DELETE", "/admin/users/alice/messages", Some(KEY), None)
        .await;
    assert_eq!((status, body["erased"].clone()), (200, json!(1)), "{body}");
    let (_, page) = server
        .http("GET", "/rooms/r/messages", Some(&server.token("bob")), None)
        .await;
    let ids: Vec<&str> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["b1"]);
    let again = publish_skipping(&mut alice, 3, "r", "a1").await;
    assert_eq!(
        again["seq"], a1["seq"],
        "the erased id is still a duplicate"
    );
    let (status, body) = server
        .http("DELETE", "/admin/rooms/r/messages", Some(KEY), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(alice.closed().await, Some(1001));
    assert_eq!(bob.closed().await, Some(1001));
    let mut carol = server.client("carol").await;
    let joined = carol.join(1, "r").await;
    assert_eq!(
        (joined["epoch"].clone(), joined["seq"].clone()),
        (body["epoch"].clone(), json!(0))
    );
    server.stop().await;
}
