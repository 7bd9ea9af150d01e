//! Every frame of the protocol, in both directions.
//!
//! Frames are internally tagged by `"type"`. Unknown fields are ignored, so newer peers can add
//! fields without breaking older ones.
//!
//! Every platform encodes frames and decodes server frames through the protocol's own JSON
//! code (`encode.rs`, `decode.rs`). With the `serde` feature the types also derive serde's
//! traits, for the server's storage and HTTP bodies and for decoding client frames.

use std::fmt;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use super::{ErrorCode, Payload};

#[cfg(feature = "serde")]
fn is_false(b: &bool) -> bool {
    !*b
}

/// Who a client is, sent once in `hello`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ClientInfo {
    /// Stable device or installation id.
    pub id: String,
    /// Kind of client (`ios`, `macos`, `web`, `cli`, `server`, ...), shown as a badge by apps.
    pub source: String,
    /// Human readable device name.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub name: Option<String>,
}

/// A connection present in a room, and the author of a message (`from`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Member {
    pub user: String,
    pub client: String,
    pub source: String,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub name: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Client to server

/// A frame sent by a client: [`encode`](Self::encode)d by clients, decoded by the server
/// (`ClientFrame::decode`, feature `serde`). With `serde`, the enum derives only `Serialize`
/// (what `encode` writes): serde's decoding of a tagged enum cannot carry a [`Payload`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
pub enum ClientFrame {
    Hello(Hello),
    Join(Join),
    Leave(Leave),
    Publish(Publish),
    History(HistoryRequest),
    Refresh(Refresh),
    Ping(Ping),
    Pong(Pong),
    Append(AppendRequest),
    Cancel(Cancel),
}

/// The first frame of a connection: protocol version, token and client identity.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Hello {
    #[cfg_attr(feature = "serde", serde(rename = "ref"))]
    pub ref_id: u64,
    pub protocol: u32,
    pub token: String,
    pub client: ClientInfo,
}

/// Join a room, optionally resuming after `since` in `epoch`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Join {
    #[cfg_attr(feature = "serde", serde(rename = "ref"))]
    pub ref_id: u64,
    pub room: String,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub since: Option<u64>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub epoch: Option<String>,
}

/// Leave a room.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Leave {
    #[cfg_attr(feature = "serde", serde(rename = "ref"))]
    pub ref_id: u64,
    pub room: String,
}

/// Publish a message to a joined room.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Publish {
    #[cfg_attr(feature = "serde", serde(rename = "ref"))]
    pub ref_id: u64,
    pub room: String,
    /// Chosen by the publisher (UUID v7 recommended); the server deduplicates by `(room, id)`.
    pub id: String,
    pub event: String,
    #[cfg_attr(feature = "serde", serde(default))]
    pub data: Payload,
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "is_false"))]
    pub ephemeral: bool,
    /// Opens a stream: the message grows by appends (persisted publishes only).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "is_false"))]
    pub stream: bool,
}

/// Where a stream is: open, or ended one of three ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum StreamState {
    Open,
    Done,
    Cancelled,
    Failed,
}

impl StreamState {
    /// Every state, `open` first.
    pub const ALL: [StreamState; 4] = [
        StreamState::Open,
        StreamState::Done,
        StreamState::Cancelled,
        StreamState::Failed,
    ];

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamState::Open => "open",
            StreamState::Done => "done",
            StreamState::Cancelled => "cancelled",
            StreamState::Failed => "failed",
        }
    }

    /// The state a wire name stands for.
    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// Append text to a stream this user opened (`n`: the append's index in the stream, from 0);
/// `end` (`done`, `cancelled`, `failed`) ends it. `end: open` is refused by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct AppendRequest {
    #[cfg_attr(feature = "serde", serde(rename = "ref"))]
    pub ref_id: u64,
    pub room: String,
    /// The id of the stream's opening message.
    pub id: String,
    pub n: u64,
    pub text: String,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub end: Option<StreamState>,
}

/// End a stream of the room (any member may): the server stores the end append itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Cancel {
    #[cfg_attr(feature = "serde", serde(rename = "ref"))]
    pub ref_id: u64,
    pub room: String,
    pub id: String,
}

/// Ask for stored messages with `seq < before` (the newest without `before`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct HistoryRequest {
    #[cfg_attr(feature = "serde", serde(rename = "ref"))]
    pub ref_id: u64,
    pub room: String,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub before: Option<u64>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub limit: Option<u32>,
}

/// Replace the connection's token before it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Refresh {
    #[cfg_attr(feature = "serde", serde(rename = "ref"))]
    pub ref_id: u64,
    pub token: String,
}

/// Heartbeat request. Clients always send a `ref`; the server's pings carry none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Ping {
    #[cfg_attr(
        feature = "serde",
        serde(rename = "ref", default, skip_serializing_if = "Option::is_none")
    )]
    pub ref_id: Option<u64>,
}

/// Heartbeat answer, echoing the ping's `ref` when it had one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Pong {
    #[cfg_attr(
        feature = "serde",
        serde(rename = "ref", default, skip_serializing_if = "Option::is_none")
    )]
    pub ref_id: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Server to client

/// A frame sent by the server: [`encode`](Self::encode)d by the server,
/// [`decode`](Self::decode)d by clients.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
pub enum ServerFrame {
    Welcome(Welcome),
    Joined(Joined),
    Left(Left),
    Ack(Ack),
    Message(Message),
    Presence(Presence),
    History(HistoryPage),
    Refreshed(Refreshed),
    Ping(Ping),
    Pong(Pong),
    Error(ErrorFrame),
    Append(Append),
}

/// Successful handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Welcome {
    #[cfg_attr(feature = "serde", serde(rename = "ref"))]
    pub ref_id: u64,
    pub session: String,
    pub user: String,
    pub heartbeat_ms: u64,
    pub max_frame: usize,
    /// When the token expires, Unix ms; `None` when it never does.
    pub token_exp: Option<u64>,
}

/// A room was joined; `seq` is its head at join time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Joined {
    #[cfg_attr(feature = "serde", serde(rename = "ref"))]
    pub ref_id: u64,
    pub room: String,
    pub seq: u64,
    pub epoch: String,
    pub recovered: bool,
    #[cfg_attr(feature = "serde", serde(default))]
    pub presence: Vec<Member>,
}

/// A room was left.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Left {
    #[cfg_attr(feature = "serde", serde(rename = "ref"))]
    pub ref_id: u64,
    pub room: String,
}

/// A publish was accepted; persisted ones carry their `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Ack {
    #[cfg_attr(feature = "serde", serde(rename = "ref"))]
    pub ref_id: u64,
    pub id: String,
    /// For an append (or cancel): the append's index in its stream.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub n: Option<u64>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub seq: Option<u64>,
    pub ts: u64,
}

/// A message in a room: live, replayed on join, or in a history page.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Message {
    pub room: String,
    /// Position in the room's history; `None` for ephemeral messages.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub seq: Option<u64>,
    pub id: String,
    pub event: String,
    #[cfg_attr(feature = "serde", serde(default))]
    pub data: Payload,
    pub from: Member,
    pub ts: u64,
    /// On a stream's opening message: its text so far, folded from its appends.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub stream: Option<StreamInfo>,
}

/// A stream as its opening message carries it: `text` holds the first `n` appends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct StreamInfo {
    pub state: StreamState,
    pub text: String,
    pub n: u64,
}

/// A piece of a stream, as a room event with its own `seq` (`of`: the opening message's seq).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Append {
    pub room: String,
    pub seq: u64,
    pub of: u64,
    pub id: String,
    pub n: u64,
    pub text: String,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub end: Option<StreamState>,
    pub from: Member,
    pub ts: u64,
}

/// Whether a member arrived or went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PresenceKind {
    Join,
    Leave,
}

impl PresenceKind {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            PresenceKind::Join => "join",
            PresenceKind::Leave => "leave",
        }
    }
}

/// A member joined or left a room.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Presence {
    pub room: String,
    pub event: PresenceKind,
    pub member: Member,
}

/// Answer to a `history` request: ascending by `seq`.
///
/// On the wire `messages` is one list in `seq` order whose items are messages or, with
/// `"type":"append"`, appends whose opening message the page does not hold. Here they are two
/// lists, each ascending: [`encode`](ServerFrame::encode) merges them by `seq`. serde's
/// derive knows `messages` only (`appends` is skipped): pages with appends go through the
/// protocol's own codec.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct HistoryPage {
    #[cfg_attr(feature = "serde", serde(rename = "ref"))]
    pub ref_id: u64,
    pub room: String,
    pub messages: Vec<Message>,
    pub more: bool,
    /// The page's append items.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub appends: Vec<Append>,
}

/// The token was replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Refreshed {
    #[cfg_attr(feature = "serde", serde(rename = "ref"))]
    pub ref_id: u64,
    pub token_exp: Option<u64>,
}

/// A request failed, or (without `ref`) the connection has a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ErrorFrame {
    #[cfg_attr(
        feature = "serde",
        serde(rename = "ref", default, skip_serializing_if = "Option::is_none")
    )]
    pub ref_id: Option<u64>,
    pub code: ErrorCode,
    pub message: String,
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Not one JSON object, or its `type` is not a string.
    NotJson(String),
    MissingType,
    UnknownType(String),
    /// The body does not fit the frame type: a field missing, repeated or of the wrong type.
    Invalid {
        kind: String,
        reason: String,
    },
}

impl FrameError {
    /// The error in words, built without `core::fmt`.
    pub fn message(&self) -> String {
        let (head, detail, tail) = match self {
            FrameError::NotJson(reason) => ("frame is not a JSON object: ", reason.as_str(), ""),
            FrameError::MissingType => ("frame has no \"type\"", "", ""),
            FrameError::UnknownType(kind) => ("unknown frame type \"", kind.as_str(), "\""),
            FrameError::Invalid { kind, reason } => {
                let mut s = String::from("invalid ");
                s.push_str(kind);
                s.push_str(" frame: ");
                s.push_str(reason);
                return s;
            }
        };
        let mut s = String::from(head);
        s.push_str(detail);
        s.push_str(tail);
        s
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for FrameError {}

/// A decode failure together with the request's `ref` when it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeFailure {
    pub ref_id: Option<u64>,
    pub error: FrameError,
}

impl fmt::Display for DecodeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for DecodeFailure {}

impl ClientFrame {
    /// Every `type` a client may send.
    pub const TYPES: &'static [&'static str] = &[
        "hello", "join", "leave", "publish", "history", "refresh", "ping", "pong", "append",
        "cancel",
    ];
}

impl ServerFrame {
    /// Every `type` a server may send.
    pub const TYPES: &'static [&'static str] = &[
        "welcome",
        "joined",
        "left",
        "ack",
        "message",
        "presence",
        "history",
        "refreshed",
        "ping",
        "pong",
        "error",
        "append",
    ];
}

/// Client frames are decoded by the server only, with serde.
#[cfg(feature = "serde")]
mod client_decode {
    use std::borrow::Cow;

    use serde::de::DeserializeOwned;
    use serde::Deserialize;

    use super::{ClientFrame, DecodeFailure, FrameError};

    /// The frame's `type`, read before anything else so that exactly one struct decodes the
    /// rest (serde's internally tagged enums would buffer every frame into a tree first).
    fn frame_type(text: &str) -> Result<Cow<'_, str>, FrameError> {
        #[derive(Deserialize)]
        struct Tag<'a> {
            #[serde(rename = "type", borrow, default)]
            kind: Option<Cow<'a, str>>,
        }
        let tag: Tag<'_> =
            serde_json::from_str(text).map_err(|e| FrameError::NotJson(e.to_string()))?;
        tag.kind.ok_or(FrameError::MissingType)
    }

    /// Decodes the frame body as `T` and wraps it in its enum variant.
    fn body<T: DeserializeOwned, F>(
        text: &str,
        kind: &str,
        frame: fn(T) -> F,
    ) -> Result<F, FrameError> {
        serde_json::from_str(text)
            .map(frame)
            .map_err(|e| FrameError::Invalid {
                kind: kind.to_owned(),
                reason: e.to_string(),
            })
    }

    impl ClientFrame {
        /// Decodes a client frame; on failure, returns the `ref` (when readable) for the reply.
        pub fn decode(text: &str) -> Result<Self, DecodeFailure> {
            Self::decode_body(text).map_err(|error| {
                // Only the error path pays for a second, partial parse.
                #[derive(Deserialize)]
                struct Ref {
                    #[serde(rename = "ref")]
                    ref_id: Option<u64>,
                }
                let ref_id = match error {
                    FrameError::NotJson(_) => None,
                    _ => serde_json::from_str::<Ref>(text)
                        .ok()
                        .and_then(|r| r.ref_id),
                };
                DecodeFailure { ref_id, error }
            })
        }

        fn decode_body(text: &str) -> Result<Self, FrameError> {
            let kind = frame_type(text)?;
            match kind.as_ref() {
                "hello" => body(text, &kind, ClientFrame::Hello),
                "join" => body(text, &kind, ClientFrame::Join),
                "leave" => body(text, &kind, ClientFrame::Leave),
                "publish" => body(text, &kind, ClientFrame::Publish),
                "history" => body(text, &kind, ClientFrame::History),
                "refresh" => body(text, &kind, ClientFrame::Refresh),
                "ping" => body(text, &kind, ClientFrame::Ping),
                "pong" => body(text, &kind, ClientFrame::Pong),
                "append" => body(text, &kind, ClientFrame::Append),
                "cancel" => body(text, &kind, ClientFrame::Cancel),
                other => Err(FrameError::UnknownType(other.to_owned())),
            }
        }
    }
}
