//! Errors as JavaScript sees them: `Error` objects named `RoomcastError` with a stable `code`,
//! so apps branch on `err.code` rather than on message text.

use js_sys::Reflect;
use roomcast_core::machine::Error;
use wasm_bindgen::{JsCast, JsValue};

/// The `code` of a machine error: the protocol's code for server errors, else a name of ours.
pub(crate) fn code_of(e: &Error) -> &'static str {
    match e {
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
    }
}

/// A `RoomcastError` for a machine error.
pub(crate) fn to_js(e: &Error) -> JsValue {
    let err = new_error(code_of(e), &e.to_string());
    if let Error::NotJoined(room) = e {
        set(&err, "room", &JsValue::from_str(room));
    }
    err
}

/// A `RoomcastError` with `code` and `message`.
pub(crate) fn new_error(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name("RoomcastError");
    let err: JsValue = err.unchecked_into();
    set(&err, "code", &JsValue::from_str(code));
    err
}

/// Sets a property on an object this crate created; such sets cannot fail.
pub(crate) fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// Best-effort text of a thrown JS value, for error messages.
pub(crate) fn describe(thrown: &JsValue) -> String {
    if let Some(e) = thrown.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    thrown.as_string().unwrap_or_else(|| format!("{thrown:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use roomcast_core::protocol::ErrorCode;

    #[test]
    fn server_errors_keep_the_protocol_code() {
        let e = Error::Server {
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
        };
        assert_eq!(code_of(&e), "rate_limited");
        assert_eq!(code_of(&Error::QueueFull { capacity: 1 }), "queue_full");
        assert_eq!(code_of(&Error::NotConnected), "not_connected");
    }
}
