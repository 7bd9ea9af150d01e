//! Errors the machine reports to the app, per request or as events.
//!
//! Each error has a stable [`code`](Error::code), the one vocabulary every binding hands to
//! apps (JS `err.code`, the Swift enum's cases), and a message built from static text and the
//! error's own values without `core::fmt`, so the wasm build carries no formatting machinery.

use std::fmt;

use crate::protocol::json::push_u64;
use crate::protocol::{ErrorCode, RoomNameError};

/// Why a request failed, or what went wrong on the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    InvalidConfig(String),
    InvalidRoom(RoomNameError),
    Unauthorized(String),
    Forbidden(String),
    NotJoined(String),
    TooLarge {
        size: usize,
        max: usize,
    },
    TooManyRooms(String),
    QueueFull {
        capacity: usize,
    },
    NotConnected,
    ConnectionLost,
    Timeout,
    Closed,
    GaveUp {
        attempts: u32,
    },
    InvalidPayload(String),
    TokenProvider(String),
    Server {
        code: ErrorCode,
        message: String,
    },
    Protocol(String),
    /// The store could not keep a publish (a full disk, an I/O error); it was not sent.
    Storage(String),
    /// Another running client holds the store (its directory).
    StoreLocked(String),
    /// Not sent yet, and not failed: the client stopped (closed, gave up, or was refused its
    /// token) while this persisted publish was queued, and the store keeps it. The next client
    /// opened on the same store sends it, once. The inner error says why this one stopped.
    Kept(Box<Error>),
}

impl Error {
    /// Every code [`code`](Self::code) returns for an error that is not a server's: with
    /// [`ErrorCode::ALL`], the whole vocabulary.
    pub const CLIENT_CODES: &'static [&'static str] = &[
        "invalid_config",
        "invalid_room",
        "unauthorized",
        "forbidden",
        "not_joined",
        "too_large",
        "too_many_rooms",
        "queue_full",
        "not_connected",
        "connection_lost",
        "timeout",
        "closed",
        "gave_up",
        "invalid_payload",
        "token_provider",
        "protocol",
        "storage",
        "store_locked",
        "kept",
    ];

    /// The error's stable name: the protocol's code for a server error, else ours.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidConfig(_) => "invalid_config",
            Error::InvalidRoom(_) => "invalid_room",
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotJoined(_) => "not_joined",
            Error::TooLarge { .. } => "too_large",
            Error::TooManyRooms(_) => "too_many_rooms",
            Error::QueueFull { .. } => "queue_full",
            Error::NotConnected => "not_connected",
            Error::ConnectionLost => "connection_lost",
            Error::Timeout => "timeout",
            Error::Closed => "closed",
            Error::GaveUp { .. } => "gave_up",
            Error::InvalidPayload(_) => "invalid_payload",
            Error::TokenProvider(_) => "token_provider",
            Error::Server { code, .. } => code.as_str(),
            Error::Protocol(_) => "protocol",
            Error::Storage(_) => "storage",
            Error::StoreLocked(_) => "store_locked",
            Error::Kept(_) => "kept",
        }
    }

    /// The error in words.
    pub fn message(&self) -> String {
        let mut s = String::new();
        let (head, detail): (&str, &str) = match self {
            Error::InvalidConfig(d) => ("invalid configuration: ", d),
            Error::InvalidRoom(e) => {
                s.push_str("invalid room name: ");
                s.push_str(&e.message());
                return s;
            }
            Error::Unauthorized(d) => ("unauthorized: ", d),
            Error::Forbidden(d) => ("forbidden: ", d),
            Error::NotJoined(room) => {
                s.push_str("room \"");
                s.push_str(room);
                s.push_str("\" is not joined");
                return s;
            }
            Error::TooLarge { size, max } => {
                s.push_str("frame of ");
                push_u64(&mut s, *size as u64);
                s.push_str(" bytes is over the server's limit of ");
                push_u64(&mut s, *max as u64);
                s.push_str(" bytes");
                return s;
            }
            Error::TooManyRooms(d) => ("too many rooms: ", d),
            Error::QueueFull { capacity } => {
                s.push_str("the offline queue is full (");
                push_u64(&mut s, *capacity as u64);
                s.push_str(" publishes waiting)");
                return s;
            }
            Error::NotConnected => ("not connected", ""),
            Error::ConnectionLost => ("the connection was lost before the reply arrived", ""),
            Error::Timeout => ("no reply within the request timeout", ""),
            Error::Closed => ("the client is closed", ""),
            Error::GaveUp { attempts } => {
                s.push_str("gave up reconnecting after ");
                push_u64(&mut s, u64::from(*attempts));
                s.push_str(" attempts");
                return s;
            }
            Error::InvalidPayload(d) => ("payload is not valid JSON for this message: ", d),
            Error::TokenProvider(d) => ("token provider failed: ", d),
            Error::Server { code, message } => {
                s.push_str("server error ");
                s.push_str(code.as_str());
                s.push_str(": ");
                s.push_str(message);
                return s;
            }
            Error::Protocol(d) => ("protocol error: ", d),
            Error::Storage(d) => ("storage error: ", d),
            Error::StoreLocked(dir) => {
                s.push_str("the store at ");
                s.push_str(dir);
                s.push_str(" is in use by another process");
                return s;
            }
            Error::Kept(why) => {
                s.push_str(
                    "not sent: kept in the store, to be sent once when it is opened again (",
                );
                s.push_str(&why.message());
                s.push(')');
                return s;
            }
        };
        s.push_str(head);
        s.push_str(detail);
        s
    }

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

impl From<RoomNameError> for Error {
    fn from(e: RoomNameError) -> Self {
        Error::InvalidRoom(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(
            Error::TooLarge {
                size: 70000,
                max: 65536
            }
            .to_string(),
            "frame of 70000 bytes is over the server's limit of 65536 bytes"
        );
        assert_eq!(
            Error::NotJoined("r".into()).to_string(),
            "room \"r\" is not joined"
        );
        assert_eq!(
            Error::Server {
                code: ErrorCode::RateLimited,
                message: "slow down".into()
            }
            .to_string(),
            "server error rate_limited: slow down"
        );
        assert_eq!(
            Error::InvalidRoom(RoomNameError::Empty).to_string(),
            "invalid room name: room name is empty"
        );
    }

    #[test]
    fn codes_are_listed() {
        let all = Error::CLIENT_CODES;
        for e in [
            Error::InvalidConfig(String::new()),
            Error::InvalidRoom(RoomNameError::Empty),
            Error::QueueFull { capacity: 1 },
            Error::GaveUp { attempts: 1 },
            Error::Protocol(String::new()),
            Error::TokenProvider(String::new()),
            Error::InvalidPayload(String::new()),
        ] {
            assert!(all.contains(&e.code()), "{}", e.code());
        }
        let server = Error::Server {
            code: ErrorCode::RateLimited,
            message: String::new(),
        };
        assert_eq!(server.code(), "rate_limited");
    }
}
