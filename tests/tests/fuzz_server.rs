//! Hostile frames against the real server process: arbitrary text and binary, and frame-shaped
//! JSON with wrong, missing or extreme fields, on an authenticated connection joined to a room.
//! The server must answer every request it can read, keep the connection where the protocol
//! says so, and never go down. A longer run: `PROPTEST_CASES=5000 cargo test -p roomcast-e2e
//! --test fuzz_server`.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use support::{token, Server};
use tokio_tungstenite::tungstenite::Message as Ws;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const TYPES: &[&str] = &[
    "hello", "join", "leave", "publish", "history", "refresh", "ping", "pong", "bogus",
];
const FIELDS: &[&str] = &[
    "ref",
    "room",
    "since",
    "epoch",
    "id",
    "event",
    "data",
    "ephemeral",
    "before",
    "limit",
    "token",
    "protocol",
    "client",
];

fn value() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        "[a-z0-9:._-]{0,10}".prop_map(Value::String),
        ".{0,10}".prop_map(Value::String),
    ];
    scalar.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

fn frame() -> impl Strategy<Value = Frame> {
    let shaped = (
        prop::sample::select(TYPES),
        prop::collection::vec((prop::sample::select(FIELDS), value()), 0..8),
    )
        .prop_map(|(kind, fields)| {
            let mut o = Map::new();
            o.insert("type".into(), json!(kind));
            for (k, v) in fields {
                o.insert(k.into(), v);
            }
            Frame::Text(Value::Object(o).to_string())
        });
    prop_oneof![
        6 => shaped,
        2 => any::<String>().prop_map(Frame::Text),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Frame::Binary),
    ]
}

async fn connect(url: &str, token: &str) -> Socket {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("upgrade");
    let hello = json!({"type":"hello","ref":1,"protocol":1,"token":token,"client":{"id":"fuzz","source":"test"}});
    ws.send(Ws::text(hello.to_string())).await.expect("hello");
    ws.send(Ws::text(
        json!({"type":"join","ref":2,"room":"fuzz"}).to_string(),
    ))
    .await
    .expect("join");
    ws
}

/// Sends a ping with a ref no fuzz frame uses and waits for its pong; false if the server
/// closed the connection (allowed: e.g. a second hello is a protocol violation).
async fn answers_ping(ws: &mut Socket) -> bool {
    if ws
        .send(Ws::text(r#"{"type":"ping","ref":18446744073709551615}"#))
        .await
        .is_err()
    {
        return false;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Ws::Text(t))))
                if t.contains("18446744073709551615") && t.contains("pong") =>
            {
                return true
            }
            Ok(Some(Ok(Ws::Close(frame)))) => {
                let code = frame.map(|f| u16::from(f.code));
                assert!(
                    matches!(code, Some(4000 | 4001 | 1009)),
                    "closed with {code:?}"
                );
                return false;
            }
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_))) | Ok(None) => return false,
            Err(_) => panic!("no pong within 10 s: the server stopped answering"),
        }
    }
}

#[test]
fn server_survives_hostile_frames() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = Server::start();
    let url = server.ws_url();
    let token = token("fuzzer", Duration::from_secs(3600), &[]);
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let kept = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&prop::collection::vec(frame(), 1..30), |frames| {
            runtime.block_on(async {
                let mut ws = connect(&url, &token).await;
                for f in frames {
                    let msg = match f {
                        Frame::Text(t) => Ws::text(t),
                        Frame::Binary(b) => Ws::binary(b),
                    };
                    if ws.send(msg).await.is_err() {
                        break;
                    }
                }
                if answers_ping(&mut ws).await {
                    kept.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                // Whatever happened to that connection, a fresh one is served.
                let mut fresh = connect(&url, &token).await;
                assert!(
                    answers_ping(&mut fresh).await,
                    "a fresh connection is served"
                );
            });
            Ok(())
        })
        .expect("no failing case");
    let kept = kept.into_inner();
    assert!(
        kept > cases as usize / 2,
        "most hostile sequences keep the connection ({kept} of {cases})"
    );
}
