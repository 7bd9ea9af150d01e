//! Every frame of the protocol, in both directions.
//!
//! Frames are internally tagged by `"type"`. Unknown fields are ignored (serde's default), so
//! newer peers can add fields without breaking older ones.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{ErrorCode, Payload};

fn is_false(b: &bool) -> bool {
    !*b
}

/// Who a client is, sent once in `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// Stable device or installation id.
    pub id: String,
    /// Kind of client (`ios`, `macos`, `web`, `cli`, `server`, ...), shown as a badge by apps.
    pub source: String,
    /// Human readable device name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A connection present in a room, and the author of a message (`from`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Member {
    pub user: String,
    pub client: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Client to server

/// A frame sent by a client. Decode with [`ClientFrame::decode`]: serde's own decoding of a
/// tagged enum cannot carry a [`Payload`], so the enum only derives `Serialize`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Hello(Hello),
    Join(Join),
    Leave(Leave),
    Publish(Publish),
    History(HistoryRequest),
    Refresh(Refresh),
    Ping(Ping),
    Pong(Pong),
}

/// The first frame of a connection: protocol version, token and client identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    #[serde(rename = "ref")]
    pub ref_id: u64,
    pub protocol: u32,
    pub token: String,
    pub client: ClientInfo,
}

/// Join a room, optionally resuming after `since` in `epoch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Join {
    #[serde(rename = "ref")]
    pub ref_id: u64,
    pub room: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
}

/// Leave a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leave {
    #[serde(rename = "ref")]
    pub ref_id: u64,
    pub room: String,
}

/// Publish a message to a joined room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publish {
    #[serde(rename = "ref")]
    pub ref_id: u64,
    pub room: String,
    /// Chosen by the publisher (UUID v7 recommended); the server deduplicates by `(room, id)`.
    pub id: String,
    pub event: String,
    #[serde(default)]
    pub data: Payload,
    #[serde(default, skip_serializing_if = "is_false")]
    pub ephemeral: bool,
}

/// Ask for stored messages with `seq < before` (the newest without `before`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRequest {
    #[serde(rename = "ref")]
    pub ref_id: u64,
    pub room: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Replace the connection's token before it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refresh {
    #[serde(rename = "ref")]
    pub ref_id: u64,
    pub token: String,
}

/// Heartbeat request. Clients always send a `ref`; the server's pings carry none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ping {
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub ref_id: Option<u64>,
}

/// Heartbeat answer, echoing the ping's `ref` when it had one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pong {
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub ref_id: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Server to client

/// A frame sent by the server. Decode with [`ServerFrame::decode`] (see [`ClientFrame`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
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
}

/// Successful handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    #[serde(rename = "ref")]
    pub ref_id: u64,
    pub session: String,
    pub user: String,
    pub heartbeat_ms: u64,
    pub max_frame: usize,
    /// When the token expires, Unix ms; `None` when it never does.
    pub token_exp: Option<u64>,
}

/// A room was joined; `seq` is its head at join time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joined {
    #[serde(rename = "ref")]
    pub ref_id: u64,
    pub room: String,
    pub seq: u64,
    pub epoch: String,
    pub recovered: bool,
    #[serde(default)]
    pub presence: Vec<Member>,
}

/// A room was left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Left {
    #[serde(rename = "ref")]
    pub ref_id: u64,
    pub room: String,
}

/// A publish was accepted; persisted ones carry their `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    #[serde(rename = "ref")]
    pub ref_id: u64,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub ts: u64,
}

/// A message in a room: live, replayed on join, or in a history page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub room: String,
    /// Position in the room's history; `None` for ephemeral messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub id: String,
    pub event: String,
    #[serde(default)]
    pub data: Payload,
    pub from: Member,
    pub ts: u64,
}

/// Whether a member arrived or went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceKind {
    Join,
    Leave,
}

/// A member joined or left a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub room: String,
    pub event: PresenceKind,
    pub member: Member,
}

/// Answer to a `history` request: ascending by `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPage {
    #[serde(rename = "ref")]
    pub ref_id: u64,
    pub room: String,
    pub messages: Vec<Message>,
    pub more: bool,
}

/// The token was replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refreshed {
    #[serde(rename = "ref")]
    pub ref_id: u64,
    pub token_exp: Option<u64>,
}

/// A request failed, or (without `ref`) the connection has a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFrame {
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub ref_id: Option<u64>,
    pub code: ErrorCode,
    pub message: String,
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("frame is not a JSON object: {0}")]
    NotJson(String),
    #[error("frame has no \"type\"")]
    MissingType,
    #[error("unknown frame type {0:?}")]
    UnknownType(String),
    #[error("invalid {kind} frame: {reason}")]
    Invalid { kind: String, reason: String },
}

/// The frame's `type`, read before anything else so that exactly one struct decodes the rest.
///
/// serde's internally tagged enums would buffer every frame into an intermediate tree first:
/// slower, a tenth of the wasm client's size, and unable to keep a [`Payload`] as raw JSON.
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

/// A decode failure together with the request's `ref` when it could be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{error}")]
pub struct DecodeFailure {
    pub ref_id: Option<u64>,
    pub error: FrameError,
}

impl ClientFrame {
    /// Every `type` a client may send.
    pub const TYPES: &'static [&'static str] = &[
        "hello", "join", "leave", "publish", "history", "refresh", "ping", "pong",
    ];

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
            other => Err(FrameError::UnknownType(other.to_owned())),
        }
    }

    /// Encodes the frame as JSON text.
    pub fn encode(&self) -> String {
        encode(self)
    }
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
    ];

    /// Decodes a server frame.
    pub fn decode(text: &str) -> Result<Self, FrameError> {
        let kind = frame_type(text)?;
        match kind.as_ref() {
            "welcome" => body(text, &kind, ServerFrame::Welcome),
            "joined" => body(text, &kind, ServerFrame::Joined),
            "left" => body(text, &kind, ServerFrame::Left),
            "ack" => body(text, &kind, ServerFrame::Ack),
            "message" => body(text, &kind, ServerFrame::Message),
            "presence" => body(text, &kind, ServerFrame::Presence),
            "history" => body(text, &kind, ServerFrame::History),
            "refreshed" => body(text, &kind, ServerFrame::Refreshed),
            "ping" => body(text, &kind, ServerFrame::Ping),
            "pong" => body(text, &kind, ServerFrame::Pong),
            "error" => body(text, &kind, ServerFrame::Error),
            other => Err(FrameError::UnknownType(other.to_owned())),
        }
    }

    /// Encodes the frame as JSON text.
    pub fn encode(&self) -> String {
        encode(self)
    }
}

fn encode<T: Serialize>(frame: &T) -> String {
    // Serializing these types cannot fail: every map key is a string and `Value` is always
    // representable. Fall back to an empty object rather than panic regardless.
    serde_json::to_string(frame).unwrap_or_else(|_| String::from("{}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_type_is_decoded_by_its_own_struct() {
        for kind in ServerFrame::TYPES {
            let e = ServerFrame::decode(&format!(r#"{{"type":"{kind}","unexpected":1}}"#));
            // Missing required fields, except for the frames that have none.
            match e {
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
}
