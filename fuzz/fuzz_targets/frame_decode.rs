//! Frame decoding in sdk-core, as both ends use it: any text (bytes made UTF-8 lossily)
//! given to `ClientFrame::decode`, `ServerFrame::decode` and `Payload::from_json` never panics,
//! and whatever decodes re-encodes to text that decodes to the same value and encodes to the
//! same text again (the round trip every hop relies on). A payload that parses is also carried
//! verbatim inside a `message` frame.
#![no_main]

use std::fmt::{Debug, Display};

use libfuzzer_sys::fuzz_target;
use roomcast_core::protocol::{ClientFrame, Member, Message, Payload, ServerFrame};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    round_trip(&text, ClientFrame::decode, ClientFrame::encode);
    round_trip(&text, ServerFrame::decode, ServerFrame::encode);
    payload(&text);
});

/// Decodes `text`; when it is a frame, checks decode(encode(frame)) == frame and that
/// encoding it again gives the same text.
fn round_trip<F: PartialEq + Debug, E: Display>(
    text: &str,
    decode: fn(&str) -> Result<F, E>,
    encode: fn(&F) -> String,
) {
    let Ok(frame) = decode(text) else {
        return;
    };
    let encoded = encode(&frame);
    let again = decode(&encoded)
        .unwrap_or_else(|e| panic!("{encoded} (from {text:?}) does not decode: {e}"));
    assert_eq!(again, frame, "{encoded}");
    assert_eq!(encode(&again), encoded);
}

fn payload(text: &str) {
    let Ok(data) = Payload::from_json(text) else {
        return;
    };
    assert_eq!(Payload::from_json(data.json()).ok().as_ref(), Some(&data));
    // Decoding into a tree may refuse (serde_json's nesting limit) but never panics.
    let _ = data.decode::<serde_json::Value>();
    let frame = ServerFrame::Message(Message {
        room: "r".into(),
        seq: Some(1),
        id: "i".into(),
        event: "e".into(),
        data: data.clone(),
        from: Member {
            user: "u".into(),
            client: "c".into(),
            source: "s".into(),
            name: None,
        },
        ts: 0,
        stream: None,
    });
    match ServerFrame::decode(&frame.encode()) {
        Ok(ServerFrame::Message(m)) => assert_eq!(m.data, data),
        other => panic!("a message carrying {data} decodes as {other:?}"),
    }
}
