//! Errors the machine reports to the app, per request or as events.

use thiserror::Error;

use crate::protocol::{ErrorCode, RoomNameError};

/// Why a request failed, or what went wrong on the connection.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    #[error("invalid room name: {0}")]
    InvalidRoom(#[from] RoomNameError),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("room {0:?} is not joined")]
    NotJoined(String),
    #[error("frame of {size} bytes is over the server's limit of {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error("too many rooms: {0}")]
    TooManyRooms(String),
    #[error("the offline queue is full ({capacity} publishes waiting)")]
    QueueFull { capacity: usize },
    #[error("not connected")]
    NotConnected,
    #[error("the connection was lost before the reply arrived")]
    ConnectionLost,
    #[error("no reply within the request timeout")]
    Timeout,
    #[error("the client is closed")]
    Closed,
    #[error("gave up reconnecting after {attempts} attempts")]
    GaveUp { attempts: u32 },
    #[error("payload is not valid JSON for this message: {0}")]
    InvalidPayload(String),
    #[error("token provider failed: {0}")]
    TokenProvider(String),
    #[error("server error {code}: {message}")]
    Server { code: ErrorCode, message: String },
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The store could not keep a publish (a full disk, an I/O error); it was not sent.
    #[error("storage error: {0}")]
    Storage(String),
    /// Another running client holds the store.
    #[error("the store at {0} is in use by another process")]
    StoreLocked(String),
}

impl Error {
    /// Maps an `error` frame to the matching case.
    pub(crate) fn from_server(code: ErrorCode, message: String, room: Option<&str>) -> Self {
        match code {
            ErrorCode::Unauthorized => Error::Unauthorized(message),
            ErrorCode::Forbidden => Error::Forbidden(message),
            ErrorCode::NotJoined => Error::NotJoined(room.unwrap_or_default().to_owned()),
            ErrorCode::TooManyRooms => Error::TooManyRooms(message),
            _ => Error::Server { code, message },
        }
    }
}
