//! Error codes carried in `error` frames and WebSocket close codes.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

/// The `code` of an `error` frame.
///
/// Unknown codes from a newer server decode as [`ErrorCode::Unknown`] instead of failing the
/// whole frame, so an old client keeps working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotJoined,
    TooLarge,
    TooManyRooms,
    RateLimited,
    UnsupportedProtocol,
    Internal,
    NotFound,
    StreamEnded,
    #[cfg_attr(feature = "serde", serde(other))]
    Unknown,
}

impl ErrorCode {
    /// Every code but `Unknown`.
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::BadRequest,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotJoined,
        ErrorCode::TooLarge,
        ErrorCode::TooManyRooms,
        ErrorCode::RateLimited,
        ErrorCode::UnsupportedProtocol,
        ErrorCode::Internal,
        ErrorCode::NotFound,
        ErrorCode::StreamEnded,
    ];

    /// The code a wire name stands for; [`ErrorCode::Unknown`] for a name this version does
    /// not know.
    pub fn from_wire(name: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .unwrap_or(ErrorCode::Unknown)
    }

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotJoined => "not_joined",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::TooManyRooms => "too_many_rooms",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UnsupportedProtocol => "unsupported_protocol",
            ErrorCode::Internal => "internal",
            ErrorCode::NotFound => "not_found",
            ErrorCode::StreamEnded => "stream_ended",
            ErrorCode::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// WebSocket close codes with a meaning in Roomcast.
pub mod close {
    /// Normal closure: the side that asked for it stays closed.
    pub const NORMAL: u16 = 1000;
    /// Server going away (shutdown, deploy): clients reconnect with backoff.
    pub const GOING_AWAY: u16 = 1001;
    /// A frame over the transport limit.
    pub const TOO_BIG: u16 = 1009;
    /// Protocol violation.
    pub const PROTOCOL: u16 = 4000;
    /// Missing, invalid or expired token.
    pub const UNAUTHORIZED: u16 = 4001;
    /// Rate limit or slow consumer.
    pub const RATE_LIMITED: u16 = 4008;
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn wire_names_round_trip() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_wire(code.as_str()), code);
        }
        assert_eq!(ErrorCode::from_wire("unknown"), ErrorCode::Unknown);
        assert_eq!(ErrorCode::from_wire("shiny_new"), ErrorCode::Unknown);
    }
}
