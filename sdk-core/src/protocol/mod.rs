//! The Roomcast wire protocol, version 1: one JSON object per WebSocket text frame.
//!
//! These types are the single definition of the contract in `docs/protocol.md`. The server and
//! every client (native, Swift through uniffi, JS through wasm) encode and decode frames through
//! them, so a change here is a change to the protocol and must be made to the document too.

mod codes;
mod decode;
mod encode;
mod frames;
pub mod json;
mod payload;
mod room;

pub use codes::{close, ErrorCode};
pub(crate) use encode::PublishText;
pub use encode::{write_append, write_history_items, write_member, write_members, write_message};
pub use frames::{
    Ack, Append, AppendRequest, Cancel, ClientFrame, ClientInfo, DecodeFailure, ErrorFrame,
    FrameError, Hello, HistoryPage, HistoryRequest, Join, Joined, Leave, Left, Member, Message,
    Ping, Pong, Presence, PresenceKind, Publish, Refresh, Refreshed, ServerFrame, StreamInfo,
    StreamState, Welcome,
};
pub use payload::Payload;
pub use room::{room_matches, validate_room, RoomNameError, MAX_ROOM_LEN};

/// The protocol version this crate speaks, sent in `hello`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Default interval between client pings, announced by the server in `welcome`.
pub const DEFAULT_HEARTBEAT_MS: u64 = 25_000;

/// Default largest frame, in bytes, that the server accepts.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;

/// Silence, beyond `heartbeat_ms`, after which a client declares the connection dead.
pub const DEAD_AFTER_EXTRA_MS: u64 = 10_000;

/// Most messages a `history` request may ask for.
pub const MAX_HISTORY_LIMIT: u32 = 500;
