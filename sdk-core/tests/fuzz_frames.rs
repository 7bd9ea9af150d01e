//! Hostile input never panics the decoders or the machine: arbitrary text, and JSON objects
//! shaped like frames with fields of the wrong type, missing, or out of range.

mod support;

use proptest::prelude::*;
use roomcast_core::machine::{ConnectionState, JoinOptions};
use roomcast_core::protocol::{ClientFrame, ServerFrame};
use serde_json::{json, Map, Value};
use support::{config, Client, Net};

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const TYPES: &[&str] = &[
    "hello",
    "join",
    "leave",
    "publish",
    "history",
    "refresh",
    "ping",
    "pong",
    "welcome",
    "joined",
    "left",
    "ack",
    "message",
    "presence",
    "refreshed",
    "error",
    "append",
    "cancel",
    "bogus",
];
const FIELDS: &[&str] = &[
    "ref",
    "room",
    "seq",
    "epoch",
    "recovered",
    "presence",
    "id",
    "event",
    "data",
    "from",
    "ts",
    "messages",
    "more",
    "code",
    "message",
    "token",
    "token_exp",
    "heartbeat_ms",
    "max_frame",
    "session",
    "user",
    "member",
    "since",
    "before",
    "limit",
    "ephemeral",
    "protocol",
    "client",
    "stream",
    "of",
    "n",
    "text",
    "end",
    "state",
];

/// A frame-shaped object: a known (or bogus) type and a random selection of known fields.
fn frame_like() -> impl Strategy<Value = String> {
    (
        prop::sample::select(TYPES),
        prop::collection::vec((prop::sample::select(FIELDS), value()), 0..10),
    )
        .prop_map(|(kind, fields)| {
            let mut o = Map::new();
            o.insert("type".into(), json!(kind));
            for (k, v) in fields {
                o.insert(k.to_string(), v);
            }
            Value::Object(o).to_string()
        })
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![frame_like(), any::<String>(), "[\\[\\]{}\":,0-9a-z ]{0,40}"]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic(t in text()) {
        let _ = ClientFrame::decode(&t);
        let _ = ServerFrame::decode(&t);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn machine_survives_hostile_server_frames(frames in prop::collection::vec(text(), 1..40)) {
        let mut net = Net::new(vec![Client::new(config("a", "ca"), 1)]);
        let now = net.now;
        net.c(0).m.connect(now);
        net.c(0).m.join(now, "r", JoinOptions::default());
        net.settle();
        let (conn, _) = net.c(0).conn.expect("connected");
        for f in &frames {
            let now = net.now;
            net.c(0).m.handle_frame(now, conn, f);
            net.service(0);
        }
        // Whatever it was fed, it still talks to a real server.
        net.c(0).s2c.clear();
        net.settle();
        let state = net.c(0).m.state();
        prop_assert!(matches!(state, ConnectionState::Connected | ConnectionState::Reconnecting { .. }), "{:?}", state);
    }
}
