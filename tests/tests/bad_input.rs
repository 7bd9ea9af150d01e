//! Bad input against the real server: every case gets a clear error, nothing is lost and the
//! connection (where the protocol says so) and the server stay up.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use roomcast_core::{ConnectionState, Error};
use roomcast_server::auth::{mint, Claims};
use serde_json::{json, Value};
use support::{token, Server, SECRET};
use tokio_tungstenite::tungstenite::Message as Ws;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const LIMIT: Duration = Duration::from_secs(10);

async fn raw(server: &Server) -> Socket {
    let (ws, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .expect("upgrade");
    ws
}

async fn send(ws: &mut Socket, v: Value) {
    ws.send(Ws::text(v.to_string())).await.expect("send");
}

/// The next text frame as JSON, or the close code.
async fn next(ws: &mut Socket) -> Result<Value, Option<u16>> {
    loop {
        match tokio::time::timeout(LIMIT, ws.next())
            .await
            .expect("answer in time")
        {
            Some(Ok(Ws::Text(t))) => {
                return Ok(serde_json::from_str(&t).expect("server sends JSON"))
            }
            Some(Ok(Ws::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(None),
        }
    }
}

async fn hello(ws: &mut Socket, token: &str) -> Value {
    send(ws, json!({"type":"hello","ref":1,"protocol":1,"token":token,"client":{"id":"raw","source":"test"}})).await;
    next(ws).await.expect("reply to hello")
}

async fn welcomed(server: &Server, user: &str) -> Socket {
    let mut ws = raw(server).await;
    let reply = hello(&mut ws, &token(user, Duration::from_secs(600), &[])).await;
    assert_eq!(reply["type"], "welcome", "{reply}");
    ws
}

async fn still_alive(ws: &mut Socket) {
    send(ws, json!({"type":"ping","ref":999})).await;
    let pong = next(ws).await.expect("pong");
    assert_eq!(pong, json!({"type":"pong","ref":999}));
}

fn expired_token(user: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let claims = Claims {
        sub: user.into(),
        exp: Some(now - 60),
        rooms: None,
    };
    mint(SECRET, &claims).expect("mint")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_binary_unknown_and_oversized_frames_get_errors_and_keep_the_connection() {
    let server = Server::start();
    let mut ws = welcomed(&server, "u1").await;

    ws.send(Ws::text("{not json")).await.expect("send");
    let e = next(&mut ws).await.expect("error frame");
    assert_eq!(
        (e["type"].as_str(), e["code"].as_str()),
        (Some("error"), Some("bad_request")),
        "{e}"
    );

    ws.send(Ws::binary(vec![1u8, 2, 3])).await.expect("send");
    let e = next(&mut ws).await.expect("error frame");
    assert_eq!(e["code"], "bad_request", "{e}");

    send(&mut ws, json!({"type":"teleport","ref":5})).await;
    let e = next(&mut ws).await.expect("error frame");
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_u64()),
        (Some("bad_request"), Some(5)),
        "{e}"
    );

    send(&mut ws, json!({"type":"join","ref":6})).await;
    let e = next(&mut ws).await.expect("error frame");
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_u64()),
        (Some("bad_request"), Some(6)),
        "{e}"
    );

    send(&mut ws, json!({"type":"join","ref":7,"room":"bad room!"})).await;
    let e = next(&mut ws).await.expect("error frame");
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_u64()),
        (Some("bad_request"), Some(7)),
        "{e}"
    );

    send(
        &mut ws,
        json!({"type":"publish","ref":8,"room":"r","id":"a","event":"e","data":1}),
    )
    .await;
    let e = next(&mut ws).await.expect("error frame");
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_u64()),
        (Some("not_joined"), Some(8)),
        "{e}"
    );

    send(&mut ws, json!({"type":"join","ref":9,"room":"r"})).await;
    assert_eq!(next(&mut ws).await.expect("joined")["type"], "joined");
    let big = "x".repeat(70 * 1024);
    send(
        &mut ws,
        json!({"type":"publish","ref":10,"room":"r","id":"big","event":"e","data":big}),
    )
    .await;
    let e = next(&mut ws).await.expect("error frame");
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_u64()),
        (Some("too_large"), Some(10)),
        "{e}"
    );

    still_alive(&mut ws).await;
    // Nothing of the above was stored.
    send(&mut ws, json!({"type":"history","ref":11,"room":"r"})).await;
    let page = next(&mut ws).await.expect("history");
    assert_eq!(page["messages"], json!([]), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_and_handshakes_are_refused_with_4001() {
    let server = Server::start();
    for bad in ["not-a-jwt".to_string(), expired_token("u1"), {
        let claims = Claims {
            sub: "u1".into(),
            exp: Some(u64::MAX / 2000),
            rooms: None,
        };
        mint("some-other-secret", &claims).expect("mint")
    }] {
        let mut ws = raw(&server).await;
        let reply = hello(&mut ws, &bad).await;
        assert_eq!(
            (reply["code"].as_str(), reply["ref"].as_u64()),
            (Some("unauthorized"), Some(1)),
            "{reply}"
        );
        assert_eq!(next(&mut ws).await, Err(Some(4001)));
    }

    let mut ws = raw(&server).await;
    send(&mut ws, json!({"type":"join","ref":1,"room":"r"})).await;
    let reply = next(&mut ws).await;
    match reply {
        Ok(e) => {
            assert_eq!(e["type"], "error", "{e}");
            assert_eq!(next(&mut ws).await, Err(Some(4001)));
        }
        Err(code) => assert_eq!(code, Some(4001)),
    }

    let mut ws = raw(&server).await;
    send(&mut ws, json!({"type":"hello","ref":1,"protocol":2,"token":token("u", Duration::from_secs(60), &[]),"client":{"id":"x","source":"t"}})).await;
    let e = next(&mut ws).await.expect("error");
    assert_eq!(e["code"], "unsupported_protocol", "{e}");
    assert_eq!(next(&mut ws).await, Err(Some(4000)));

    // The server is fine after all that.
    let mut ws = welcomed(&server, "u2").await;
    still_alive(&mut ws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_claim_limits_what_a_token_may_join() {
    let server = Server::start();
    let mut ws = raw(&server).await;
    let reply = hello(&mut ws, &token("u1", Duration::from_secs(600), &["conv-*"])).await;
    assert_eq!(reply["type"], "welcome");
    send(&mut ws, json!({"type":"join","ref":2,"room":"secret"})).await;
    let e = next(&mut ws).await.expect("error");
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_u64()),
        (Some("forbidden"), Some(2)),
        "{e}"
    );
    send(&mut ws, json!({"type":"join","ref":3,"room":"conv-7"})).await;
    assert_eq!(next(&mut ws).await.expect("joined")["type"], "joined");

    // The SDK reports the same as a typed error and stays connected.
    let c = roomcast_core::Client::builder(server.ws_url())
        .token(token("u3", Duration::from_secs(600), &["conv-*"]))
        .build()
        .expect("client");
    c.connect().await.expect("connect");
    match c.join("secret").await {
        Err(Error::Forbidden(_)) => {}
        Err(e) => panic!("expected Forbidden, got {e:?}"),
        Ok(_) => panic!("expected Forbidden, got a room"),
    }
    match c.join("bad name").await {
        Err(Error::InvalidRoom(_)) => {}
        Err(e) => panic!("expected InvalidRoom, got {e:?}"),
        Ok(_) => panic!("expected InvalidRoom, got a room"),
    }
    let room = c.join("conv-1").await.expect("allowed room");
    match room.publish("e", &"x".repeat(70 * 1024)).await {
        Err(Error::TooLarge { max: 65536, .. }) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(c.state(), ConnectionState::Connected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_without_provider_stops_unauthorized() {
    let server = Server::start();
    let c = roomcast_core::Client::builder(server.ws_url())
        .token(expired_token("u1"))
        .build()
        .expect("client");
    match c.connect().await {
        Err(Error::Unauthorized(_)) => {}
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert_eq!(c.state(), ConnectionState::Unauthorized);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_provider_replaces_a_rejected_token_and_refreshes_before_expiry() {
    let server = Server::start();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let counter = calls.clone();
    let c = roomcast_core::Client::builder(server.ws_url())
        .token(expired_token("u1"))
        .token_provider(move || {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = tx.send(n);
            // 6 s tokens: the SDK refreshes halfway through a short token's life, about 3 s
            // after connecting.
            let fresh = token("u1", Duration::from_secs(6), &[]);
            async move { Ok(Some(fresh)) }
        })
        .backoff(roomcast_core::BackoffConfig {
            min_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(200),
            max_attempts: None,
        })
        .build()
        .expect("client");
    c.connect()
        .await
        .expect("connects with the provider's token");
    assert_eq!(rx.recv().await, Some(0), "asked after the 4001");
    let mut states = c.state_changes();
    states.borrow_and_update();
    let second = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("refresh in time");
    assert_eq!(second, Some(1));
    let room = c.join("r").await.expect("join after refresh");
    room.publish("e", &1).await.expect("still authorized");
    assert!(
        !states.has_changed().unwrap_or(true),
        "the refresh did not reconnect"
    );
    assert_eq!(c.state(), ConnectionState::Connected);
}
