//! Every JSON example of the protocol document decodes to the expected frame and encodes back
//! to the same JSON value.

use roomcast_core::protocol::*;
use serde_json::{json, Value};

fn client(v: Value) -> ClientFrame {
    let text = v.to_string();
    let frame = ClientFrame::decode(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let back: Value = serde_json::from_str(&frame.encode()).expect("encoded JSON");
    assert_eq!(back, v, "round trip of {text}");
    frame
}

fn server(v: Value) -> ServerFrame {
    let text = v.to_string();
    let frame = ServerFrame::decode(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let back: Value = serde_json::from_str(&frame.encode()).expect("encoded JSON");
    assert_eq!(back, v, "round trip of {text}");
    frame
}

#[test]
fn hello() {
    let f = client(
        json!({"type":"hello","ref":1,"protocol":1,"token":"<JWT>","client":{"id":"dev-1","source":"ios","name":"Ben's iPhone"}}),
    );
    let ClientFrame::Hello(h) = f else {
        panic!("{f:?}")
    };
    assert_eq!(h.ref_id, 1);
    assert_eq!(h.protocol, PROTOCOL_VERSION);
    assert_eq!(h.client.source, "ios");
    assert_eq!(h.client.name.as_deref(), Some("Ben's iPhone"));
}

#[test]
fn welcome() {
    let f = server(
        json!({"type":"welcome","ref":1,"session":"0193a0c4-0000-7000-8000-000000000000","user":"u1","heartbeat_ms":25000,"max_frame":65536,"token_exp":1732243600000u64}),
    );
    let ServerFrame::Welcome(w) = f else {
        panic!("{f:?}")
    };
    assert_eq!(w.token_exp, Some(1_732_243_600_000));
    assert_eq!(w.max_frame, 65536);
    let f = server(
        json!({"type":"welcome","ref":1,"session":"s","user":"u1","heartbeat_ms":25000,"max_frame":65536,"token_exp":null}),
    );
    let ServerFrame::Welcome(w) = f else {
        panic!("{f:?}")
    };
    assert_eq!(w.token_exp, None);
}

#[test]
fn errors() {
    let f = server(json!({"type":"error","ref":1,"code":"unauthorized","message":"bad token"}));
    let ServerFrame::Error(e) = f else {
        panic!("{f:?}")
    };
    assert_eq!((e.ref_id, e.code), (Some(1), ErrorCode::Unauthorized));
    for code in [
        "bad_request",
        "unauthorized",
        "forbidden",
        "not_joined",
        "too_large",
        "too_many_rooms",
        "rate_limited",
        "unsupported_protocol",
        "internal",
    ] {
        let f = server(json!({"type":"error","code":code,"message":"m"}));
        let ServerFrame::Error(e) = f else {
            panic!("{f:?}")
        };
        assert_eq!(e.code.as_str(), code);
        assert_eq!(e.ref_id, None);
    }
    // A code from a newer server still decodes.
    let f = ServerFrame::decode(r#"{"type":"error","code":"brand_new","message":"m"}"#)
        .expect("decodes");
    let ServerFrame::Error(e) = f else {
        panic!("{f:?}")
    };
    assert_eq!(e.code, ErrorCode::Unknown);
}

#[test]
fn join_and_joined() {
    let f = client(json!({"type":"join","ref":2,"room":"conv-123","since":41,"epoch":"b1f0"}));
    let ClientFrame::Join(j) = f else {
        panic!("{f:?}")
    };
    assert_eq!((j.since, j.epoch.as_deref()), (Some(41), Some("b1f0")));
    client(json!({"type":"join","ref":2,"room":"conv-123"}));
    let f = server(
        json!({"type":"joined","ref":2,"room":"conv-123","seq":57,"epoch":"b1f0","recovered":true,"presence":[{"user":"u1","client":"c-1","source":"ios","name":"Ben"}]}),
    );
    let ServerFrame::Joined(j) = f else {
        panic!("{f:?}")
    };
    assert_eq!(j.seq, 57);
    assert!(j.recovered);
    assert_eq!(j.presence[0].client, "c-1");
}

#[test]
fn leave_and_left() {
    client(json!({"type":"leave","ref":3,"room":"conv-123"}));
    server(json!({"type":"left","ref":3,"room":"conv-123"}));
}

#[test]
fn presence() {
    for event in ["join", "leave"] {
        let f = server(
            json!({"type":"presence","room":"conv-123","event":event,"member":{"user":"u2","client":"c-9","source":"web","name":"Ann"}}),
        );
        let ServerFrame::Presence(p) = f else {
            panic!("{f:?}")
        };
        assert_eq!(p.member.user, "u2");
    }
}

#[test]
fn publish_ack_message() {
    let f = client(
        json!({"type":"publish","ref":4,"room":"conv-123","id":"0193a0c4-0000-7000-8000-000000000001","event":"chat.message","data":{"role":"user","content":"Hello"},"ephemeral":true}),
    );
    let ClientFrame::Publish(p) = f else {
        panic!("{f:?}")
    };
    assert!(p.ephemeral);
    assert_eq!(p.data.decode::<Value>().unwrap()["content"], "Hello");
    // `ephemeral: false` is the default and is left out when encoding.
    let f = ClientFrame::decode(
        r#"{"type":"publish","ref":4,"room":"r","id":"i","event":"e","data":1,"ephemeral":false}"#,
    )
    .expect("decodes");
    let ClientFrame::Publish(p) = f else {
        panic!("{f:?}")
    };
    assert!(!p.ephemeral);
    client(json!({"type":"publish","ref":4,"room":"r","id":"i","event":"e","data":[1,2]}));

    let f = server(json!({"type":"ack","ref":4,"id":"0193","seq":58,"ts":1732240000000u64}));
    let ServerFrame::Ack(a) = f else {
        panic!("{f:?}")
    };
    assert_eq!(a.seq, Some(58));
    server(json!({"type":"ack","ref":5,"id":"0194","ts":1732240000000u64}));

    let f = server(
        json!({"type":"message","room":"conv-123","seq":58,"id":"0193","event":"chat.message","data":{"role":"user","content":"Hello"},"from":{"user":"u1","client":"c-1","source":"ios"},"ts":1732240000000u64}),
    );
    let ServerFrame::Message(m) = f else {
        panic!("{f:?}")
    };
    assert_eq!((m.seq, m.from.source.as_str()), (Some(58), "ios"));
    server(
        json!({"type":"message","room":"conv-123","id":"e1","event":"typing","data":null,"from":{"user":"u1","client":"c-1","source":"ios"},"ts":1u64}),
    );
}

#[test]
fn history() {
    client(json!({"type":"history","ref":6,"room":"conv-123","before":58,"limit":50}));
    client(json!({"type":"history","ref":6,"room":"conv-123"}));
    let f = server(json!({"type":"history","ref":6,"room":"conv-123","messages":[{"type":"message","room":"conv-123","seq":1,"id":"a","event":"e","data":{},"from":{"user":"u1","client":"c","source":"cli"},"ts":5}],"more":true}).as_object().map(|o| {
        // Messages inside a page carry no "type".
        let mut o = o.clone();
        o["messages"][0].as_object_mut().expect("object").remove("type");
        Value::Object(o)
    }).expect("object"));
    let ServerFrame::History(h) = f else {
        panic!("{f:?}")
    };
    assert!(h.more);
    assert_eq!(h.messages[0].seq, Some(1));
}

#[test]
fn refresh_and_heartbeat() {
    client(json!({"type":"refresh","ref":7,"token":"<JWT>"}));
    server(json!({"type":"refreshed","ref":7,"token_exp":1732243600000u64}));
    let f = client(json!({"type":"ping","ref":8}));
    assert_eq!(f, ClientFrame::Ping(Ping { ref_id: Some(8) }));
    server(json!({"type":"pong","ref":8}));
    let f = server(json!({"type":"ping"}));
    assert_eq!(f, ServerFrame::Ping(Ping { ref_id: None }));
    client(json!({"type":"pong"}));
}

#[test]
fn unknown_fields_are_ignored() {
    let f = ClientFrame::decode(r#"{"type":"leave","ref":3,"room":"r","future":{"x":1}}"#)
        .expect("decodes");
    assert_eq!(
        f,
        ClientFrame::Leave(Leave {
            ref_id: 3,
            room: "r".into()
        })
    );
}

#[test]
fn decode_failures_say_why_and_keep_the_ref() {
    let e = ClientFrame::decode("not json").expect_err("fails");
    assert!(matches!(e.error, FrameError::NotJson(_)));
    assert_eq!(e.ref_id, None);

    let e = ClientFrame::decode(r#"{"ref":3}"#).expect_err("fails");
    assert_eq!((e.ref_id, e.error), (Some(3), FrameError::MissingType));

    let e = ClientFrame::decode(r#"{"type":"teleport","ref":9}"#).expect_err("fails");
    assert_eq!(
        (e.ref_id, e.error),
        (Some(9), FrameError::UnknownType("teleport".into()))
    );

    let e = ClientFrame::decode(r#"{"type":"join","ref":4}"#).expect_err("fails");
    assert_eq!(e.ref_id, Some(4));
    assert!(
        matches!(e.error, FrameError::Invalid { ref kind, .. } if kind == "join"),
        "{e:?}"
    );

    // A server frame type is not a client frame.
    let e = ClientFrame::decode(r#"{"type":"welcome","ref":1}"#).expect_err("fails");
    assert!(matches!(e.error, FrameError::UnknownType(_)));

    assert!(matches!(
        ServerFrame::decode("[1,2]"),
        Err(FrameError::NotJson(_))
    ));
}

#[test]
fn streamed_messages() {
    let f = client(
        json!({"type":"publish","ref":8,"room":"conv-123","id":"0194","event":"assistant.reply","data":{"role":"assistant"},"stream":true}),
    );
    let ClientFrame::Publish(p) = f else {
        panic!("{f:?}")
    };
    assert!(p.stream && !p.ephemeral);
    let f = client(
        json!({"type":"append","ref":9,"room":"conv-123","id":"0194","n":1,"text":"lo, wor"}),
    );
    assert!(matches!(
        f,
        ClientFrame::Append(AppendRequest {
            n: 1,
            end: None,
            ..
        })
    ));
    let f = client(
        json!({"type":"append","ref":11,"room":"conv-123","id":"0194","n":3,"text":"","end":"done"}),
    );
    assert!(matches!(
        f,
        ClientFrame::Append(AppendRequest {
            end: Some(StreamState::Done),
            ..
        })
    ));
    let f = client(json!({"type":"cancel","ref":12,"room":"conv-123","id":"0194"}));
    assert!(matches!(f, ClientFrame::Cancel(Cancel { ref_id: 12, .. })));
    assert!(ClientFrame::decode(
        r#"{"type":"append","ref":1,"room":"r","id":"i","n":0,"text":"x","end":"later"}"#
    )
    .is_err());

    let f = server(json!({"type":"ack","ref":9,"id":"0194","n":1,"seq":60,"ts":5}));
    assert!(matches!(
        f,
        ServerFrame::Ack(Ack {
            n: Some(1),
            seq: Some(60),
            ..
        })
    ));
    let f = server(
        json!({"type":"append","room":"conv-123","seq":60,"of":58,"id":"0194","n":1,"text":"lo, wor","from":{"user":"u1","client":"c-1","source":"cli"},"ts":5}),
    );
    let ServerFrame::Append(a) = f else {
        panic!("{f:?}")
    };
    assert_eq!(
        (a.seq, a.of, a.n, a.text.as_str(), a.end),
        (60, 58, 1, "lo, wor", None)
    );
    server(
        json!({"type":"append","room":"r","seq":61,"of":58,"id":"0194","n":2,"text":"","end":"cancelled","from":{"user":"u2","client":"c-2","source":"web"},"ts":5}),
    );
    let f = server(
        json!({"type":"message","room":"conv-123","seq":58,"id":"0194","event":"assistant.reply","data":{"role":"assistant"},"from":{"user":"u1","client":"c-1","source":"cli"},"ts":5,"stream":{"state":"open","text":"Hel","n":1}}),
    );
    let ServerFrame::Message(m) = f else {
        panic!("{f:?}")
    };
    assert_eq!(
        m.stream,
        Some(StreamInfo {
            state: StreamState::Open,
            text: "Hel".into(),
            n: 1
        })
    );
    assert_eq!(ErrorCode::from_wire("not_found"), ErrorCode::NotFound);
    assert_eq!(ErrorCode::from_wire("stream_ended"), ErrorCode::StreamEnded);
}

#[test]
fn history_with_append_items() {
    // Items in seq order, appends marked with "type":"append"; the page keeps them apart and
    // encodes them back in the same order.
    let page = json!({"type":"history","ref":6,"room":"r","messages":[
        {"type":"append","room":"r","seq":3,"of":1,"id":"s","n":1,"text":"b","from":{"user":"u","client":"c","source":"s"},"ts":1},
        {"room":"r","seq":4,"id":"m","event":"e","data":1,"from":{"user":"u","client":"c","source":"s"},"ts":1},
        {"room":"r","seq":5,"id":"t","event":"e","data":1,"from":{"user":"u","client":"c","source":"s"},"ts":1,"stream":{"state":"done","text":"xy","n":3}},
        {"type":"append","room":"r","seq":9,"of":1,"id":"s","n":2,"text":"c","end":"failed","from":{"user":"u","client":"c","source":"s"},"ts":1}
    ],"more":false});
    let f = server(page);
    let ServerFrame::History(h) = f else {
        panic!("{f:?}")
    };
    assert_eq!(h.messages.len(), 2);
    assert_eq!(h.appends.iter().map(|a| a.seq).collect::<Vec<_>>(), [3, 9]);
    assert_eq!(h.appends[1].end, Some(StreamState::Failed));
    // An item whose type is not "append" is a message.
    let f = ServerFrame::decode(
        r#"{"type":"history","ref":6,"room":"r","messages":[{"type":"message","room":"r","seq":4,"id":"m","event":"e","from":{"user":"u","client":"c","source":"s"},"ts":1}],"more":false}"#,
    );
    assert!(
        matches!(f, Ok(ServerFrame::History(h)) if h.messages.len() == 1 && h.appends.is_empty())
    );
}
