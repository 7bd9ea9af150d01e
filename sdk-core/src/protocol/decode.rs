//! Server frames from JSON text, through the protocol's own JSON reader.
//!
//! Two passes, with the outcomes serde_json gave: the first checks that the text is one JSON
//! object and reads its `"type"` (any syntax error, a `type` that is not a string, or two of
//! them: [`FrameError::NotJson`]); the second reads the body as that type's struct, where
//! unknown fields are skipped and a missing, repeated or mistyped field is
//! [`FrameError::Invalid`].

use std::borrow::Cow;

use super::json::{JsonError, Reader};
use super::{
    Ack, ErrorCode, ErrorFrame, FrameError, HistoryPage, Joined, Left, Member, Message, Payload,
    Ping, Pong, Presence, PresenceKind, Refreshed, ServerFrame, Welcome,
};

/// Why a frame body does not decode as its type.
enum Bad {
    Json(JsonError),
    /// A struct field, `Missing`, `Repeated` or `WrongType`.
    Field(&'static str, &'static str),
    /// The value for a struct (the frame, `from`, `member`, a presence entry, a message) is
    /// not an object.
    NotObject,
}

impl From<JsonError> for Bad {
    fn from(e: JsonError) -> Self {
        Bad::Json(e)
    }
}

impl Bad {
    fn reason(&self) -> String {
        match self {
            Bad::Json(e) => e.message(),
            Bad::Field(field, problem) => {
                let mut s = String::from(*problem);
                s.push_str(" field `");
                s.push_str(field);
                s.push('`');
                s
            }
            Bad::NotObject => String::from("expected an object"),
        }
    }
}

type Res<T> = Result<T, Bad>;

const MISSING: &str = "missing";
const REPEATED: &str = "duplicate";
const WRONG_TYPE: &str = "wrong type for";

/// Fills a field's slot from a value read as its type (`None`: the value had another type).
fn fill<T>(slot: &mut Option<T>, field: &'static str, value: Option<T>) -> Res<()> {
    if slot.is_some() {
        return Err(Bad::Field(field, REPEATED));
    }
    match value {
        Some(v) => {
            *slot = Some(v);
            Ok(())
        }
        None => Err(Bad::Field(field, WRONG_TYPE)),
    }
}

fn required<T>(slot: Option<T>, field: &'static str) -> Res<T> {
    slot.ok_or(Bad::Field(field, MISSING))
}

/// A string field's value; `None` for a value of another type.
fn string(r: &mut Reader<'_>) -> Res<Option<String>> {
    if r.peek_value() == Some(b'"') {
        return Ok(Some(r.string()?.into_owned()));
    }
    r.skip()?;
    Ok(None)
}

fn number(r: &mut Reader<'_>) -> Res<Option<u64>> {
    Ok(r.u64()?)
}

/// An optional field's value: `null` is `Some(None)`.
fn nullable<'a, T>(
    r: &mut Reader<'a>,
    read: impl FnOnce(&mut Reader<'a>) -> Res<Option<T>>,
) -> Res<Option<Option<T>>> {
    if r.null()? {
        return Ok(Some(None));
    }
    Ok(read(r)?.map(Some))
}

/// Reads an object, handing each key to `field` with the reader on its value.
fn object<'a>(
    r: &mut Reader<'a>,
    mut field: impl FnMut(&mut Reader<'a>, &str) -> Res<()>,
) -> Res<()> {
    if !r.open_object()? {
        return Err(Bad::NotObject);
    }
    let mut first = true;
    while r.next_key(first)? {
        first = false;
        let key = r.key()?;
        field(r, &key)?;
    }
    Ok(())
}

/// Reads an array of objects, each through `item`; `None` when the value is not an array.
fn array<'a, T>(r: &mut Reader<'a>, item: fn(&mut Reader<'a>) -> Res<T>) -> Res<Option<Vec<T>>> {
    if !r.open_array()? {
        r.skip()?;
        return Ok(None);
    }
    let mut items = Vec::new();
    let mut first = true;
    while r.next_element(first)? {
        first = false;
        items.push(item(r)?);
    }
    Ok(Some(items))
}

fn skip(r: &mut Reader<'_>) -> Res<()> {
    r.skip()?;
    Ok(())
}

/// The frame's `type`: the text must be one JSON object with at most one `type`, a string
/// or null.
fn frame_type(text: &str) -> Result<Cow<'_, str>, FrameError> {
    let not_json = |e: JsonError| FrameError::NotJson(e.message());
    let mut r = Reader::new(text);
    if !r.open_object().map_err(not_json)? {
        return Err(FrameError::NotJson(String::from("expected an object")));
    }
    let mut kind: Option<Option<Cow<'_, str>>> = None;
    let mut first = true;
    while r.next_key(first).map_err(not_json)? {
        first = false;
        if r.key().map_err(not_json)? != "type" {
            r.skip().map_err(not_json)?;
            continue;
        }
        if kind.is_some() {
            return Err(FrameError::NotJson(String::from("duplicate field `type`")));
        }
        kind = Some(if r.null().map_err(not_json)? {
            None
        } else if r.peek_value() == Some(b'"') {
            Some(r.string().map_err(not_json)?)
        } else {
            return Err(FrameError::NotJson(String::from("`type` is not a string")));
        });
    }
    r.end().map_err(not_json)?;
    kind.flatten().ok_or(FrameError::MissingType)
}

impl ServerFrame {
    /// Decodes a server frame.
    pub fn decode(text: &str) -> Result<Self, FrameError> {
        let kind = frame_type(text)?;
        let r = &mut Reader::new(text);
        let frame = match kind.as_ref() {
            "welcome" => welcome(r).map(ServerFrame::Welcome),
            "joined" => joined(r).map(ServerFrame::Joined),
            "left" => left(r).map(ServerFrame::Left),
            "ack" => ack(r).map(ServerFrame::Ack),
            "message" => message(r).map(ServerFrame::Message),
            "presence" => presence(r).map(ServerFrame::Presence),
            "history" => history(r).map(ServerFrame::History),
            "refreshed" => refreshed(r).map(ServerFrame::Refreshed),
            "ping" => only_ref(r).map(|ref_id| ServerFrame::Ping(Ping { ref_id })),
            "pong" => only_ref(r).map(|ref_id| ServerFrame::Pong(Pong { ref_id })),
            "error" => error(r).map(ServerFrame::Error),
            _ => return Err(FrameError::UnknownType(kind.into_owned())),
        };
        frame.map_err(|bad| FrameError::Invalid {
            kind: kind.into_owned(),
            reason: bad.reason(),
        })
    }
}

fn welcome(r: &mut Reader<'_>) -> Res<Welcome> {
    let (mut ref_id, mut session, mut user) = (None, None, None);
    let (mut heartbeat_ms, mut max_frame, mut token_exp) = (None, None, None);
    object(r, |r, key| match key {
        "ref" => fill(&mut ref_id, "ref", number(r)?),
        "session" => fill(&mut session, "session", string(r)?),
        "user" => fill(&mut user, "user", string(r)?),
        "heartbeat_ms" => fill(&mut heartbeat_ms, "heartbeat_ms", number(r)?),
        "max_frame" => {
            let n = number(r)?.and_then(|n| usize::try_from(n).ok());
            fill(&mut max_frame, "max_frame", n)
        }
        "token_exp" => fill(&mut token_exp, "token_exp", nullable(r, number)?),
        _ => skip(r),
    })?;
    Ok(Welcome {
        ref_id: required(ref_id, "ref")?,
        session: required(session, "session")?,
        user: required(user, "user")?,
        heartbeat_ms: required(heartbeat_ms, "heartbeat_ms")?,
        max_frame: required(max_frame, "max_frame")?,
        token_exp: token_exp.flatten(),
    })
}

fn joined(r: &mut Reader<'_>) -> Res<Joined> {
    let (mut ref_id, mut room, mut seq, mut epoch) = (None, None, None, None);
    let (mut recovered, mut presence) = (None, None);
    object(r, |r, key| match key {
        "ref" => fill(&mut ref_id, "ref", number(r)?),
        "room" => fill(&mut room, "room", string(r)?),
        "seq" => fill(&mut seq, "seq", number(r)?),
        "epoch" => fill(&mut epoch, "epoch", string(r)?),
        "recovered" => fill(&mut recovered, "recovered", r.bool()?),
        "presence" => fill(&mut presence, "presence", array(r, member)?),
        _ => skip(r),
    })?;
    Ok(Joined {
        ref_id: required(ref_id, "ref")?,
        room: required(room, "room")?,
        seq: required(seq, "seq")?,
        epoch: required(epoch, "epoch")?,
        recovered: required(recovered, "recovered")?,
        presence: presence.unwrap_or_default(),
    })
}

fn left(r: &mut Reader<'_>) -> Res<Left> {
    let (mut ref_id, mut room) = (None, None);
    object(r, |r, key| match key {
        "ref" => fill(&mut ref_id, "ref", number(r)?),
        "room" => fill(&mut room, "room", string(r)?),
        _ => skip(r),
    })?;
    Ok(Left {
        ref_id: required(ref_id, "ref")?,
        room: required(room, "room")?,
    })
}

fn ack(r: &mut Reader<'_>) -> Res<Ack> {
    let (mut ref_id, mut id, mut seq, mut ts) = (None, None, None, None);
    object(r, |r, key| match key {
        "ref" => fill(&mut ref_id, "ref", number(r)?),
        "id" => fill(&mut id, "id", string(r)?),
        "seq" => fill(&mut seq, "seq", nullable(r, number)?),
        "ts" => fill(&mut ts, "ts", number(r)?),
        _ => skip(r),
    })?;
    Ok(Ack {
        ref_id: required(ref_id, "ref")?,
        id: required(id, "id")?,
        seq: seq.flatten(),
        ts: required(ts, "ts")?,
    })
}

fn message(r: &mut Reader<'_>) -> Res<Message> {
    let (mut room, mut seq, mut id, mut event) = (None, None, None, None);
    let (mut data, mut from, mut ts) = (None, None, None);
    object(r, |r, key| match key {
        "room" => fill(&mut room, "room", string(r)?),
        "seq" => fill(&mut seq, "seq", nullable(r, number)?),
        "id" => fill(&mut id, "id", string(r)?),
        "event" => fill(&mut event, "event", string(r)?),
        "data" => fill(&mut data, "data", Some(Payload::from_valid(r.skip()?))),
        "from" => fill(&mut from, "from", Some(member(r)?)),
        "ts" => fill(&mut ts, "ts", number(r)?),
        _ => skip(r),
    })?;
    Ok(Message {
        room: required(room, "room")?,
        seq: seq.flatten(),
        id: required(id, "id")?,
        event: required(event, "event")?,
        data: data.unwrap_or_default(),
        from: required(from, "from")?,
        ts: required(ts, "ts")?,
    })
}

fn member(r: &mut Reader<'_>) -> Res<Member> {
    let (mut user, mut client, mut source, mut name) = (None, None, None, None);
    object(r, |r, key| match key {
        "user" => fill(&mut user, "user", string(r)?),
        "client" => fill(&mut client, "client", string(r)?),
        "source" => fill(&mut source, "source", string(r)?),
        "name" => fill(&mut name, "name", nullable(r, string)?),
        _ => skip(r),
    })?;
    Ok(Member {
        user: required(user, "user")?,
        client: required(client, "client")?,
        source: required(source, "source")?,
        name: name.flatten(),
    })
}

fn presence(r: &mut Reader<'_>) -> Res<Presence> {
    let (mut room, mut event, mut member_) = (None, None, None);
    object(r, |r, key| match key {
        "room" => fill(&mut room, "room", string(r)?),
        "event" => {
            let name = string(r)?;
            let kind = [PresenceKind::Join, PresenceKind::Leave]
                .into_iter()
                .find(|k| name.as_deref() == Some(k.as_str()));
            fill(&mut event, "event", kind)
        }
        "member" => fill(&mut member_, "member", Some(member(r)?)),
        _ => skip(r),
    })?;
    Ok(Presence {
        room: required(room, "room")?,
        event: required(event, "event")?,
        member: required(member_, "member")?,
    })
}

fn history(r: &mut Reader<'_>) -> Res<HistoryPage> {
    let (mut ref_id, mut room, mut messages, mut more) = (None, None, None, None);
    object(r, |r, key| match key {
        "ref" => fill(&mut ref_id, "ref", number(r)?),
        "room" => fill(&mut room, "room", string(r)?),
        "messages" => fill(&mut messages, "messages", array(r, message)?),
        "more" => fill(&mut more, "more", r.bool()?),
        _ => skip(r),
    })?;
    Ok(HistoryPage {
        ref_id: required(ref_id, "ref")?,
        room: required(room, "room")?,
        messages: required(messages, "messages")?,
        more: required(more, "more")?,
    })
}

fn refreshed(r: &mut Reader<'_>) -> Res<Refreshed> {
    let (mut ref_id, mut token_exp) = (None, None);
    object(r, |r, key| match key {
        "ref" => fill(&mut ref_id, "ref", number(r)?),
        "token_exp" => fill(&mut token_exp, "token_exp", nullable(r, number)?),
        _ => skip(r),
    })?;
    Ok(Refreshed {
        ref_id: required(ref_id, "ref")?,
        token_exp: token_exp.flatten(),
    })
}

/// `ping` and `pong`: an optional `ref`.
fn only_ref(r: &mut Reader<'_>) -> Res<Option<u64>> {
    let mut ref_id = None;
    object(r, |r, key| match key {
        "ref" => fill(&mut ref_id, "ref", nullable(r, number)?),
        _ => skip(r),
    })?;
    Ok(ref_id.flatten())
}

fn error(r: &mut Reader<'_>) -> Res<ErrorFrame> {
    let (mut ref_id, mut code, mut message_) = (None, None, None);
    object(r, |r, key| match key {
        "ref" => fill(&mut ref_id, "ref", nullable(r, number)?),
        "code" => fill(
            &mut code,
            "code",
            string(r)?.map(|c| ErrorCode::from_wire(&c)),
        ),
        "message" => fill(&mut message_, "message", string(r)?),
        _ => skip(r),
    })?;
    Ok(ErrorFrame {
        ref_id: ref_id.flatten(),
        code: required(code, "code")?,
        message: required(message_, "message")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_type_is_decoded_by_its_own_struct() {
        for kind in ServerFrame::TYPES {
            let mut text = String::from(r#"{"type":""#);
            text.push_str(kind);
            text.push_str(r#"","unexpected":1}"#);
            // Missing required fields, except for the frames that have none.
            match ServerFrame::decode(&text) {
                Ok(f) => assert!(
                    matches!(f, ServerFrame::Ping(_) | ServerFrame::Pong(_)),
                    "{f:?}"
                ),
                Err(FrameError::Invalid { kind: k, .. }) => assert_eq!(k, *kind),
                Err(other) => panic!("{kind}: {other:?}"),
            }
        }
        assert_eq!(
            ServerFrame::decode(r#"{"ref":1}"#),
            Err(FrameError::MissingType)
        );
        assert!(matches!(
            ServerFrame::decode(r#"{"type":"nope"}"#),
            Err(FrameError::UnknownType(t)) if t == "nope"
        ));
        assert!(matches!(
            ServerFrame::decode(r#"{"type":7}"#),
            Err(FrameError::NotJson(_))
        ));
        // Escapes in the tag are read like any JSON string.
        assert!(matches!(
            ServerFrame::decode(r#"{"type":"p\u006fng"}"#),
            Ok(ServerFrame::Pong(_))
        ));
    }

    #[test]
    fn reasons_name_the_field() {
        let e = ServerFrame::decode(r#"{"type":"left","ref":1,"ref":2,"room":"r"}"#);
        assert_eq!(
            e,
            Err(FrameError::Invalid {
                kind: "left".into(),
                reason: "duplicate field `ref`".into()
            })
        );
        let e = ServerFrame::decode(r#"{"type":"left","ref":-1,"room":"r"}"#);
        assert!(
            matches!(e, Err(FrameError::Invalid { reason, .. }) if reason == "wrong type for field `ref`")
        );
        let e = ServerFrame::decode(r#"{"type":"left","ref":1}"#);
        assert!(
            matches!(e, Err(FrameError::Invalid { reason, .. }) if reason == "missing field `room`")
        );
        let e = ServerFrame::decode(r#"{"type":"left","ref":1,"room":"r"} x"#);
        assert!(matches!(e, Err(FrameError::NotJson(_))));
    }
}
