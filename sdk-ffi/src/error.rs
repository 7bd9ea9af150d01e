//! The public error: one enum with cases an app can act on.
//!
//! `roomcast_core::Error` is the internal error; it may grow or reshape with the machine.
//! This enum is the stable contract of the Swift API, and [`From`] below is the single place
//! where one maps to the other (the application-services split).

use roomcast_core::protocol::ErrorCode;

/// Why a Roomcast call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum RoomcastError {
    /// The configuration cannot work (bad URL, no token and no provider, zero queue).
    #[error("invalid configuration: {reason}")]
    InvalidConfig { reason: String },
    /// Room names are 1 to 128 characters of `A-Z a-z 0-9 . _ : -`.
    #[error("invalid room name: {reason}")]
    InvalidRoom { reason: String },
    /// `data_json` is not JSON.
    #[error("invalid payload: {reason}")]
    InvalidPayload { reason: String },
    /// The server refused the token and no fresh one could be had.
    #[error("unauthorized: {reason}")]
    Unauthorized { reason: String },
    /// The token does not allow this room.
    #[error("forbidden: {reason}")]
    Forbidden { reason: String },
    /// Publish to a room that is not joined (or was left meanwhile).
    #[error("room {room:?} is not joined")]
    NotJoined { room: String },
    /// The publish frame is over the server's limit.
    #[error("message of {size} bytes is over the limit of {max} bytes")]
    TooLarge { size: u64, max: u64 },
    /// The server's limit of rooms per connection.
    #[error("too many rooms: {reason}")]
    TooManyRooms { reason: String },
    /// The server is throttling this client.
    #[error("rate limited: {reason}")]
    RateLimited { reason: String },
    /// The offline queue holds `capacity` unacknowledged publishes already.
    #[error("the offline queue is full ({capacity} publishes waiting)")]
    QueueFull { capacity: u64 },
    /// Ephemeral publishes and history need a live connection.
    #[error("not connected")]
    NotConnected,
    /// The connection dropped before the reply came.
    #[error("the connection was lost before the reply arrived")]
    ConnectionLost,
    /// No reply within the request timeout.
    #[error("no reply within the request timeout")]
    Timeout,
    /// The client was closed.
    #[error("the client is closed")]
    Closed,
    /// Reconnecting stopped after the configured maximum of attempts.
    #[error("gave up reconnecting after {attempts} attempts")]
    GaveUp { attempts: u32 },
    /// The app's token provider failed (also what a provider throws).
    #[error("token provider failed: {reason}")]
    TokenProvider { reason: String },
    /// Any other server error; `code` is the wire code (`bad_request`, `internal`, ...).
    #[error("server error {code}: {reason}")]
    Server { code: String, reason: String },
    /// The server said something this client does not understand.
    #[error("protocol error: {reason}")]
    Protocol { reason: String },
    /// The store could not keep a publish (a full disk, an I/O error); it was not sent.
    #[error("storage error: {reason}")]
    Storage { reason: String },
    /// Another running client holds the store at `path` (one client per store).
    #[error("the store at {path} is in use by another process")]
    StoreLocked { path: String },
    /// A failure inside the SDK itself (runtime start-up, a crashed task).
    #[error("internal error: {reason}")]
    Internal { reason: String },
    /// Not sent and not failed: the client stopped (closed, gave up, token refused) while this
    /// persisted publish was queued, and the store keeps it; the next client opened on the same
    /// store sends it once. `reason` says why the client stopped.
    #[error("not sent: kept in the store, to be sent once when it is opened again ({reason})")]
    Kept { reason: String },
}

impl From<roomcast_core::Error> for RoomcastError {
    /// Each case is the core's error of the same [`code`](roomcast_core::Error::code) (the
    /// vocabulary every binding shares; a test below holds the case names to it), and any
    /// server code without a case of its own is passed on as `Server { code }`.
    fn from(e: roomcast_core::Error) -> Self {
        use roomcast_core::Error as E;
        let code = e.code();
        match e {
            E::InvalidConfig(reason) => Self::InvalidConfig { reason },
            E::InvalidRoom(e) => Self::InvalidRoom {
                reason: e.message(),
            },
            E::InvalidPayload(reason) => Self::InvalidPayload { reason },
            E::Unauthorized(reason) => Self::Unauthorized { reason },
            E::Forbidden(reason) => Self::Forbidden { reason },
            E::NotJoined(room) => Self::NotJoined { room },
            E::TooLarge { size, max } => Self::TooLarge {
                size: size as u64,
                max: max as u64,
            },
            E::TooManyRooms(reason) => Self::TooManyRooms { reason },
            E::QueueFull { capacity } => Self::QueueFull {
                capacity: capacity as u64,
            },
            E::NotConnected => Self::NotConnected,
            E::ConnectionLost => Self::ConnectionLost,
            E::Timeout => Self::Timeout,
            E::Closed => Self::Closed,
            E::GaveUp { attempts } => Self::GaveUp { attempts },
            E::TokenProvider(reason) => Self::TokenProvider { reason },
            E::Server {
                code: ErrorCode::RateLimited,
                message,
            } => Self::RateLimited { reason: message },
            E::Server {
                code: ErrorCode::TooLarge,
                ..
            } => Self::TooLarge { size: 0, max: 0 },
            E::Server { message, .. } => Self::Server {
                code: code.to_owned(),
                reason: message,
            },
            E::Protocol(reason) => Self::Protocol { reason },
            E::Storage(reason) => Self::Storage { reason },
            E::StoreLocked(path) => Self::StoreLocked { path },
            E::Kept(why) => Self::Kept {
                reason: why.message(),
            },
        }
    }
}

/// A foreign `TokenProvider` that throws something other than a `RoomcastError` lands here,
/// so a Swift `URLError` becomes a passing token provider failure rather than a crash.
impl From<uniffi::UnexpectedUniFFICallbackError> for RoomcastError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::TokenProvider { reason: e.reason }
    }
}

#[cfg(test)]
mod tests {
    use roomcast_core::protocol::{ErrorCode, RoomNameError};
    use roomcast_core::Error as E;

    use super::RoomcastError as P;

    fn map(e: E) -> P {
        P::from(e)
    }

    #[test]
    fn request_errors_keep_their_details() {
        assert_eq!(
            map(E::Forbidden("room conv-9".into())),
            P::Forbidden {
                reason: "room conv-9".into()
            }
        );
        assert_eq!(
            map(E::Unauthorized("expired".into())),
            P::Unauthorized {
                reason: "expired".into()
            }
        );
        assert_eq!(
            map(E::NotJoined("r".into())),
            P::NotJoined { room: "r".into() }
        );
        assert_eq!(
            map(E::TooLarge {
                size: 70_000,
                max: 65_536
            }),
            P::TooLarge {
                size: 70_000,
                max: 65_536
            }
        );
        assert_eq!(
            map(E::QueueFull { capacity: 3 }),
            P::QueueFull { capacity: 3 }
        );
        assert_eq!(map(E::GaveUp { attempts: 5 }), P::GaveUp { attempts: 5 });
        assert_eq!(
            map(E::Storage("disk full".into())),
            P::Storage {
                reason: "disk full".into()
            }
        );
        assert_eq!(
            map(E::StoreLocked("/data/s".into())),
            P::StoreLocked {
                path: "/data/s".into()
            }
        );
        assert_eq!(
            map(E::Kept(Box::new(E::Closed))),
            P::Kept {
                reason: "the client is closed".into()
            }
        );
        assert_eq!(
            map(E::TooManyRooms("50".into())),
            P::TooManyRooms {
                reason: "50".into()
            }
        );
    }

    #[test]
    fn unit_cases_map_one_to_one() {
        assert_eq!(map(E::NotConnected), P::NotConnected);
        assert_eq!(map(E::ConnectionLost), P::ConnectionLost);
        assert_eq!(map(E::Timeout), P::Timeout);
        assert_eq!(map(E::Closed), P::Closed);
    }

    #[test]
    fn input_errors_carry_a_readable_reason() {
        assert_eq!(
            map(E::InvalidRoom(RoomNameError::BadChar(' '))),
            P::InvalidRoom {
                reason: RoomNameError::BadChar(' ').to_string()
            }
        );
        assert_eq!(
            map(E::InvalidConfig("no token".into())),
            P::InvalidConfig {
                reason: "no token".into()
            }
        );
        assert_eq!(
            map(E::InvalidPayload("eof".into())),
            P::InvalidPayload {
                reason: "eof".into()
            }
        );
        assert_eq!(
            map(E::TokenProvider("offline".into())),
            P::TokenProvider {
                reason: "offline".into()
            }
        );
        assert_eq!(
            map(E::Protocol("bad frame".into())),
            P::Protocol {
                reason: "bad frame".into()
            }
        );
    }

    #[test]
    fn server_codes_get_their_own_case_where_the_app_can_act() {
        assert_eq!(
            map(E::Server {
                code: ErrorCode::RateLimited,
                message: "slow down".into()
            }),
            P::RateLimited {
                reason: "slow down".into()
            }
        );
        assert_eq!(
            map(E::Server {
                code: ErrorCode::TooLarge,
                message: "big".into()
            }),
            P::TooLarge { size: 0, max: 0 }
        );
        assert_eq!(
            map(E::Server {
                code: ErrorCode::BadRequest,
                message: "nope".into()
            }),
            P::Server {
                code: "bad_request".into(),
                reason: "nope".into()
            }
        );
        assert_eq!(
            map(E::Server {
                code: ErrorCode::Unknown,
                message: "new".into()
            }),
            P::Server {
                code: "unknown".into(),
                reason: "new".into()
            }
        );
    }

    /// The case's name in snake_case: `QueueFull { .. }` is `queue_full`.
    fn case_name(p: &P) -> String {
        let debug = format!("{p:?}");
        let ident: String = debug
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let mut name = String::new();
        for c in ident.chars() {
            if c.is_ascii_uppercase() && !name.is_empty() {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        }
        name
    }

    /// Swift sees the same vocabulary as JS: each case is named for the core's code of the
    /// error it comes from, and `Server` carries that code.
    #[test]
    fn cases_are_named_for_the_core_codes() {
        let mut errors = vec![
            E::InvalidConfig(String::new()),
            E::InvalidRoom(RoomNameError::Empty),
            E::Unauthorized(String::new()),
            E::Forbidden(String::new()),
            E::NotJoined(String::new()),
            E::TooLarge { size: 1, max: 1 },
            E::TooManyRooms(String::new()),
            E::QueueFull { capacity: 1 },
            E::NotConnected,
            E::ConnectionLost,
            E::Timeout,
            E::Closed,
            E::GaveUp { attempts: 1 },
            E::InvalidPayload(String::new()),
            E::TokenProvider(String::new()),
            E::Protocol(String::new()),
        ];
        for code in ErrorCode::ALL.into_iter().chain([ErrorCode::Unknown]) {
            errors.push(E::Server {
                code,
                message: String::new(),
            });
        }
        for e in errors {
            let code = e.code();
            match P::from(e) {
                P::Server { code: carried, .. } => assert_eq!(carried, code),
                p => assert_eq!(case_name(&p), code, "{p:?}"),
            }
        }
    }

    /// A name list of the TypeScript façade both npm packages compile
    /// (`export const NAME = [ "a", "b", ... ] as const;` in bindings/shared/types.ts).
    fn facade_list(name: &str) -> Vec<&'static str> {
        include_str!("../../bindings/shared/types.ts")
            .split(&format!("export const {name} = ["))
            .nth(1)
            .and_then(|rest| rest.split("] as const").next())
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !(l.starts_with("/*") || l.starts_with('*') || l.starts_with("//")))
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .filter(|item| item.len() >= 2 && item.starts_with('"') && item.ends_with('"'))
            .map(|item| item.trim_matches('"'))
            .collect()
    }

    fn same_names(what: &str, listed: &[&str], expected: &[&str]) {
        assert!(
            !listed.is_empty(),
            "{what}: no list found in bindings/shared/types.ts"
        );
        for name in expected {
            assert!(listed.contains(name), "{name} missing from {what}");
        }
        for name in listed {
            assert!(expected.contains(name), "{name} in {what} is no Rust name");
        }
        let mut once = listed.to_vec();
        once.sort_unstable();
        once.dedup();
        assert_eq!(once.len(), listed.len(), "{what} lists a name twice");
    }

    /// The façade's `ERROR_CODES` (the `ErrorCode` type of both packages' `.d.ts`) names
    /// exactly the codes their errors can carry: every core code, every protocol code, and
    /// the three the typed layers add. React Native's TypeScript maps this enum's case names
    /// to codes, so the test above covers that mapping.
    #[test]
    fn the_typescript_facade_lists_every_code() {
        let expected: Vec<&str> = E::CLIENT_CODES
            .iter()
            .copied()
            .chain(ErrorCode::ALL.iter().map(|c| c.as_str()))
            .chain(["decode", "handler", "room_lost"])
            .collect();
        same_names("ERROR_CODES", &facade_list("ERROR_CODES"), &expected);
    }

    /// `CONNECTION_STATES` (`ConnectionStateName`) are the core's state names, and
    /// `PRESENCE_EVENTS` (`Presence["event"]`) the protocol's presence kinds.
    #[test]
    fn the_typescript_facade_names_the_core_states_and_presence_events() {
        use roomcast_core::machine::ConnectionState as S;
        use roomcast_core::protocol::PresenceKind;
        use std::time::Duration;
        let states = [
            S::Idle,
            S::Connecting { attempt: 0 },
            S::Connected,
            S::Reconnecting {
                attempt: 1,
                delay: Duration::ZERO,
            },
            S::Paused,
            S::Unauthorized,
            S::Closed,
        ];
        let names: Vec<&str> = states.iter().map(S::name).collect();
        same_names(
            "CONNECTION_STATES",
            &facade_list("CONNECTION_STATES"),
            &names,
        );
        // The FFI's own enum has the same cases, in the same order (its TypeScript maps one to
        // the other case by case, in bindings/react-native/src/api.ts).
        let ffi_names = [
            crate::types::ConnectionState::Idle,
            crate::types::ConnectionState::Connecting { attempt: 0 },
            crate::types::ConnectionState::Connected,
            crate::types::ConnectionState::Reconnecting {
                attempt: 1,
                delay_ms: 0,
            },
            crate::types::ConnectionState::Paused,
            crate::types::ConnectionState::Unauthorized,
            crate::types::ConnectionState::Closed,
        ]
        .map(|s| match s {
            crate::types::ConnectionState::Idle => "idle",
            crate::types::ConnectionState::Connecting { .. } => "connecting",
            crate::types::ConnectionState::Connected => "connected",
            crate::types::ConnectionState::Reconnecting { .. } => "reconnecting",
            crate::types::ConnectionState::Paused => "paused",
            crate::types::ConnectionState::Unauthorized => "unauthorized",
            crate::types::ConnectionState::Closed => "closed",
        });
        assert_eq!(ffi_names.as_slice(), names.as_slice());
        let kinds = [PresenceKind::Join.as_str(), PresenceKind::Leave.as_str()];
        same_names("PRESENCE_EVENTS", &facade_list("PRESENCE_EVENTS"), &kinds);
    }

    /// `STREAM_STATES` (`StreamState`) are the protocol's stream states in the core's order,
    /// which is the FFI enum's too: React Native's TypeScript maps the enum's cases to names by
    /// index into this list (bindings/react-native/src/api.ts).
    #[test]
    fn the_typescript_facade_lists_the_stream_states_in_order() {
        use roomcast_core::protocol::StreamState;
        let names: Vec<&str> = StreamState::ALL.iter().map(|s| s.as_str()).collect();
        let listed = facade_list("STREAM_STATES");
        same_names("STREAM_STATES", &listed, &names);
        assert_eq!(listed, names, "STREAM_STATES is not in the core's order");
        let ffi = [
            crate::types::StreamState::Open,
            crate::types::StreamState::Done,
            crate::types::StreamState::Cancelled,
            crate::types::StreamState::Failed,
        ];
        for (i, s) in ffi.iter().enumerate() {
            assert_eq!(*s as usize, i, "the FFI's StreamState cases moved");
        }
    }

    #[test]
    fn unexpected_foreign_errors_become_token_provider_failures() {
        let e = uniffi::UnexpectedUniFFICallbackError::new("URLError(-1009)");
        assert_eq!(
            P::from(e),
            P::TokenProvider {
                reason: "URLError(-1009)".into()
            }
        );
    }

    #[test]
    fn display_is_human_readable() {
        assert_eq!(
            P::QueueFull { capacity: 2 }.to_string(),
            "the offline queue is full (2 publishes waiting)"
        );
    }
}
