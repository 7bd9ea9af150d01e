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
    Ack, Append, ErrorCode, ErrorFrame, FrameError, HistoryPage, Joined, Left, Member, Message,
    Payload, Ping, Pong, Presence, PresenceKind, Refreshed, ServerFrame, StreamInfo, StreamState,
    Welcome,
};

/// Why a frame body does not decode as its type.
enum Bad {
    Json(JsonError),
    /// A struct field and what is wrong with it: [`MISSING`], [`REPEATED`], [`WRONG_TYPE`].
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

/// What a field holds. Every struct is read by one loop over a table of these, so the module
/// carries one reader rather than one per frame type.
#[derive(Clone, Copy)]
enum Kind {
    /// An unsigned integer.
    Num,
    /// An unsigned integer or `null`.
    NumOrNull,
    /// A `usize` (`max_frame`).
    Size,
    Text,
    TextOrNull,
    Flag,
    /// A payload, kept as its JSON text.
    Data,
    Member,
    Members,
    /// History items: messages, and appends (`"type":"append"`).
    Messages,
    Code,
    /// `join` or `leave`.
    JoinOrLeave,
    /// A stream state (`open`, `done`, `cancelled`, `failed`).
    State,
    /// A stream state or `null`.
    StateOrNull,
    /// A message's `stream` object or `null`.
    StreamOrNull,
}

/// A field's value as read.
enum Value {
    Null,
    Num(u64),
    Text(String),
    Flag(bool),
    Data(Payload),
    Member(Member),
    Members(Vec<Member>),
    Messages(Vec<Message>, Vec<Append>),
    Code(ErrorCode),
    PresenceKind(PresenceKind),
    State(StreamState),
    Stream(StreamInfo),
}

/// Most fields any frame struct has (`append`).
const MAX_FIELDS: usize = 9;

/// The fields of one object, read against its table.
struct Fields {
    values: [Option<Value>; MAX_FIELDS],
}

impl Fields {
    /// Reads an object: each key of `names` once, of its kind; other keys skipped.
    fn read(r: &mut Reader<'_>, names: &'static [(&'static str, Kind)]) -> Res<Self> {
        let mut fields = Fields {
            values: [const { None }; MAX_FIELDS],
        };
        // A frame body read in one pass continues the object its leading `type` opened.
        let continued = std::mem::take(&mut r.continued);
        if !continued && !r.open_object()? {
            return Err(Bad::NotObject);
        }
        let mut first = !continued;
        while r.next_key(first)? {
            first = false;
            let key = r.key()?;
            if continued && key == "type" {
                return Err(Bad::Field("type", REPEATED));
            }
            let Some(i) = names.iter().position(|(name, _)| *name == key) else {
                r.skip()?;
                continue;
            };
            let (name, kind) = names[i];
            let value = value(r, kind)?.ok_or(Bad::Field(name, WRONG_TYPE))?;
            if fields.values[i].replace(value).is_some() {
                return Err(Bad::Field(name, REPEATED));
            }
        }
        // Checked here, once, so that building the struct cannot fail.
        for ((name, kind), value) in names.iter().zip(&fields.values) {
            let optional = matches!(
                kind,
                Kind::NumOrNull
                    | Kind::TextOrNull
                    | Kind::Data
                    | Kind::Members
                    | Kind::StateOrNull
                    | Kind::StreamOrNull
            );
            if value.is_none() && !optional {
                return Err(Bad::Field(name, MISSING));
            }
        }
        Ok(fields)
    }

    /// The value of field `i`, `None` when absent or `null`.
    fn take(&mut self, i: usize) -> Option<Value> {
        match self.values.get_mut(i).and_then(Option::take) {
            Some(Value::Null) | None => None,
            value => value,
        }
    }

    // The getters below read fields [`read`](Self::read) found present with their kind; the
    // defaults are never used.

    fn num(&mut self, i: usize) -> u64 {
        self.opt_num(i).unwrap_or_default()
    }

    fn opt_num(&mut self, i: usize) -> Option<u64> {
        match self.take(i) {
            Some(Value::Num(n)) => Some(n),
            _ => None,
        }
    }

    fn text(&mut self, i: usize) -> String {
        self.opt_text(i).unwrap_or_default()
    }

    fn opt_text(&mut self, i: usize) -> Option<String> {
        match self.take(i) {
            Some(Value::Text(s)) => Some(s),
            _ => None,
        }
    }

    fn flag(&mut self, i: usize) -> bool {
        matches!(self.take(i), Some(Value::Flag(true)))
    }

    fn state(&mut self, i: usize) -> Option<StreamState> {
        match self.take(i) {
            Some(Value::State(s)) => Some(s),
            _ => None,
        }
    }

    fn member(&mut self, i: usize) -> Member {
        match self.take(i) {
            Some(Value::Member(m)) => m,
            _ => Member {
                user: String::new(),
                client: String::new(),
                source: String::new(),
                name: None,
            },
        }
    }
}

/// Reads one value as `kind`; `None` for a value of another type.
fn value(r: &mut Reader<'_>, kind: Kind) -> Res<Option<Value>> {
    let nullable = matches!(
        kind,
        Kind::NumOrNull | Kind::TextOrNull | Kind::StateOrNull | Kind::StreamOrNull
    );
    if nullable && r.null()? {
        return Ok(Some(Value::Null));
    }
    let is_string = r.peek_value() == Some(b'"');
    Ok(match kind {
        Kind::Num | Kind::NumOrNull => r.u64()?.map(Value::Num),
        Kind::Size => r
            .u64()?
            .filter(|n| usize::try_from(*n).is_ok())
            .map(Value::Num),
        Kind::Text
        | Kind::TextOrNull
        | Kind::Code
        | Kind::JoinOrLeave
        | Kind::State
        | Kind::StateOrNull
            if is_string =>
        {
            let text = r.string()?;
            match kind {
                Kind::State | Kind::StateOrNull => StreamState::from_wire(&text).map(Value::State),
                Kind::Code => Some(Value::Code(ErrorCode::from_wire(&text))),
                Kind::JoinOrLeave => [PresenceKind::Join, PresenceKind::Leave]
                    .into_iter()
                    .find(|k| text == k.as_str())
                    .map(Value::PresenceKind),
                _ => Some(Value::Text(text.into_owned())),
            }
        }
        Kind::Flag => r.bool()?.map(Value::Flag),
        Kind::Data => Some(Value::Data(Payload::from_valid(r.skip()?))),
        Kind::Member => Some(Value::Member(member(r)?)),
        Kind::StreamOrNull => Some(Value::Stream(stream(r)?)),
        Kind::Members | Kind::Messages if r.open_array()? => {
            let (mut members, mut messages, mut appends) = (Vec::new(), Vec::new(), Vec::new());
            let mut first = true;
            while r.next_element(first)? {
                first = false;
                match kind {
                    Kind::Members => members.push(member(r)?),
                    _ if is_append_item(r) => appends.push(append(r)?),
                    _ => messages.push(message(r)?),
                }
            }
            Some(match kind {
                Kind::Members => Value::Members(members),
                _ => Value::Messages(messages, appends),
            })
        }
        _ => {
            r.skip()?;
            None
        }
    })
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
        if let Some(frame) = leading_type(text) {
            return Ok(frame);
        }
        let kind = frame_type(text)?;
        let frame = body(&mut Reader::new(text), &kind)
            .ok_or_else(|| FrameError::UnknownType(kind.clone().into_owned()))?;
        frame.map_err(|bad| FrameError::Invalid {
            kind: kind.into_owned(),
            reason: bad.reason(),
        })
    }
}

/// One pass for a frame that names its type first, as Roomcast's server writes every frame:
/// the body is read on from just after `type`. `None` for anything else, or for any problem
/// (a second `type` included): the two passes then decide, with their outcome.
fn leading_type(text: &str) -> Option<ServerFrame> {
    let r = &mut Reader::new(text);
    if !r.open_object().ok()? || !r.next_key(true).ok()? || r.key().ok()? != "type" {
        return None;
    }
    if r.peek_value() != Some(b'"') {
        return None;
    }
    let kind = r.string().ok()?;
    r.continued = true;
    let frame = body(r, &kind)?.ok()?;
    r.end().ok()?;
    Some(frame)
}

/// The body of a frame of type `kind`; `None` for a type the protocol does not have. Never
/// inlined: both passes share one copy in the web module.
#[inline(never)]
fn body(r: &mut Reader<'_>, kind: &str) -> Option<Res<ServerFrame>> {
    Some(match kind {
        "welcome" => welcome(r),
        "joined" => joined(r),
        "left" => left(r),
        "ack" => ack(r),
        "message" => message(r).map(ServerFrame::Message),
        "presence" => presence(r),
        "history" => history(r),
        "refreshed" => refreshed(r),
        "ping" => only_ref(r).map(|ref_id| ServerFrame::Ping(Ping { ref_id })),
        "pong" => only_ref(r).map(|ref_id| ServerFrame::Pong(Pong { ref_id })),
        "error" => error(r),
        "append" => append(r).map(ServerFrame::Append),
        _ => return None,
    })
}

fn welcome(r: &mut Reader<'_>) -> Res<ServerFrame> {
    let mut f = Fields::read(
        r,
        &[
            ("ref", Kind::Num),
            ("session", Kind::Text),
            ("user", Kind::Text),
            ("heartbeat_ms", Kind::Num),
            ("max_frame", Kind::Size),
            ("token_exp", Kind::NumOrNull),
        ],
    )?;
    Ok(ServerFrame::Welcome(Welcome {
        ref_id: f.num(0),
        session: f.text(1),
        user: f.text(2),
        heartbeat_ms: f.num(3),
        max_frame: usize::try_from(f.num(4)).unwrap_or(usize::MAX),
        token_exp: f.opt_num(5),
    }))
}

fn joined(r: &mut Reader<'_>) -> Res<ServerFrame> {
    let mut f = Fields::read(
        r,
        &[
            ("ref", Kind::Num),
            ("room", Kind::Text),
            ("seq", Kind::Num),
            ("epoch", Kind::Text),
            ("recovered", Kind::Flag),
            ("presence", Kind::Members),
        ],
    )?;
    Ok(ServerFrame::Joined(Joined {
        ref_id: f.num(0),
        room: f.text(1),
        seq: f.num(2),
        epoch: f.text(3),
        recovered: f.flag(4),
        presence: match f.take(5) {
            Some(Value::Members(m)) => m,
            _ => Vec::new(),
        },
    }))
}

fn left(r: &mut Reader<'_>) -> Res<ServerFrame> {
    let mut f = Fields::read(r, &[("ref", Kind::Num), ("room", Kind::Text)])?;
    Ok(ServerFrame::Left(Left {
        ref_id: f.num(0),
        room: f.text(1),
    }))
}

fn ack(r: &mut Reader<'_>) -> Res<ServerFrame> {
    let mut f = Fields::read(
        r,
        &[
            ("ref", Kind::Num),
            ("id", Kind::Text),
            ("n", Kind::NumOrNull),
            ("seq", Kind::NumOrNull),
            ("ts", Kind::Num),
        ],
    )?;
    Ok(ServerFrame::Ack(Ack {
        ref_id: f.num(0),
        id: f.text(1),
        n: f.opt_num(2),
        seq: f.opt_num(3),
        ts: f.num(4),
    }))
}

fn message(r: &mut Reader<'_>) -> Res<Message> {
    let mut f = Fields::read(
        r,
        &[
            ("room", Kind::Text),
            ("seq", Kind::NumOrNull),
            ("id", Kind::Text),
            ("event", Kind::Text),
            ("data", Kind::Data),
            ("from", Kind::Member),
            ("ts", Kind::Num),
            ("stream", Kind::StreamOrNull),
        ],
    )?;
    Ok(Message {
        room: f.text(0),
        seq: f.opt_num(1),
        id: f.text(2),
        event: f.text(3),
        data: match f.take(4) {
            Some(Value::Data(p)) => p,
            _ => Payload::null(),
        },
        from: f.member(5),
        ts: f.num(6),
        stream: match f.take(7) {
            Some(Value::Stream(s)) => Some(s),
            _ => None,
        },
    })
}

/// A message's `stream` object.
fn stream(r: &mut Reader<'_>) -> Res<StreamInfo> {
    let mut f = Fields::read(
        r,
        &[
            ("state", Kind::State),
            ("text", Kind::Text),
            ("n", Kind::Num),
        ],
    )?;
    Ok(StreamInfo {
        state: f.state(0).unwrap_or(StreamState::Open),
        text: f.text(1),
        n: f.num(2),
    })
}

/// An `append` frame's body, or an append item of a history page.
fn append(r: &mut Reader<'_>) -> Res<Append> {
    let mut f = Fields::read(
        r,
        &[
            ("room", Kind::Text),
            ("seq", Kind::Num),
            ("of", Kind::Num),
            ("id", Kind::Text),
            ("n", Kind::Num),
            ("text", Kind::Text),
            ("end", Kind::StateOrNull),
            ("from", Kind::Member),
            ("ts", Kind::Num),
        ],
    )?;
    Ok(Append {
        room: f.text(0),
        seq: f.num(1),
        of: f.num(2),
        id: f.text(3),
        n: f.num(4),
        text: f.text(5),
        end: f.state(6),
        from: f.member(7),
        ts: f.num(8),
    })
}

/// Whether the history item at `r` is an object whose `type` is `"append"`; looked up on a
/// copy of the reader, so the item is then read from its start by the right struct. Any
/// problem: false (reading it as a message reports it).
fn is_append_item(r: &Reader<'_>) -> bool {
    let mut p = r.clone();
    if !p.open_object().unwrap_or(false) {
        return false;
    }
    let mut first = true;
    while let Ok(true) = p.next_key(first) {
        first = false;
        match p.key() {
            Ok(key) if key == "type" => {
                return p.peek_value() == Some(b'"')
                    && p.string().is_ok_and(|kind| kind == "append");
            }
            Ok(_) => {
                if p.skip().is_err() {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

fn member(r: &mut Reader<'_>) -> Res<Member> {
    let mut f = Fields::read(
        r,
        &[
            ("user", Kind::Text),
            ("client", Kind::Text),
            ("source", Kind::Text),
            ("name", Kind::TextOrNull),
        ],
    )?;
    Ok(Member {
        user: f.text(0),
        client: f.text(1),
        source: f.text(2),
        name: f.opt_text(3),
    })
}

fn presence(r: &mut Reader<'_>) -> Res<ServerFrame> {
    let mut f = Fields::read(
        r,
        &[
            ("room", Kind::Text),
            ("event", Kind::JoinOrLeave),
            ("member", Kind::Member),
        ],
    )?;
    Ok(ServerFrame::Presence(Presence {
        room: f.text(0),
        event: match f.take(1) {
            Some(Value::PresenceKind(PresenceKind::Leave)) => PresenceKind::Leave,
            _ => PresenceKind::Join,
        },
        member: f.member(2),
    }))
}

fn history(r: &mut Reader<'_>) -> Res<ServerFrame> {
    let mut f = Fields::read(
        r,
        &[
            ("ref", Kind::Num),
            ("room", Kind::Text),
            ("messages", Kind::Messages),
            ("more", Kind::Flag),
        ],
    )?;
    let (messages, appends) = match f.take(2) {
        Some(Value::Messages(m, a)) => (m, a),
        _ => (Vec::new(), Vec::new()),
    };
    Ok(ServerFrame::History(HistoryPage {
        ref_id: f.num(0),
        room: f.text(1),
        messages,
        more: f.flag(3),
        appends,
    }))
}

fn refreshed(r: &mut Reader<'_>) -> Res<ServerFrame> {
    let mut f = Fields::read(r, &[("ref", Kind::Num), ("token_exp", Kind::NumOrNull)])?;
    Ok(ServerFrame::Refreshed(Refreshed {
        ref_id: f.num(0),
        token_exp: f.opt_num(1),
    }))
}

/// `ping` and `pong`: an optional `ref`.
fn only_ref(r: &mut Reader<'_>) -> Res<Option<u64>> {
    Ok(Fields::read(r, &[("ref", Kind::NumOrNull)])?.opt_num(0))
}

fn error(r: &mut Reader<'_>) -> Res<ServerFrame> {
    let mut f = Fields::read(
        r,
        &[
            ("ref", Kind::NumOrNull),
            ("code", Kind::Code),
            ("message", Kind::Text),
        ],
    )?;
    Ok(ServerFrame::Error(ErrorFrame {
        ref_id: f.opt_num(0),
        code: match f.take(1) {
            Some(Value::Code(code)) => code,
            _ => ErrorCode::Unknown,
        },
        message: f.text(2),
    }))
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
