//! Errors as JavaScript sees them: `Error` objects named `RoomcastError` with a stable `code`,
//! so apps branch on `err.code` rather than on message text.

use js_sys::Reflect;
use roomcast_core::machine::Error;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen]
extern "C" {
    /// JavaScript's `String(value)`; throws for the few values that refuse it.
    #[wasm_bindgen(js_name = String, catch)]
    fn js_string(value: &JsValue) -> Result<String, JsValue>;
}

/// A `RoomcastError` for a machine error.
pub(crate) fn to_js(e: &Error) -> JsValue {
    let err = new_error(e.code(), &e.message());
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
    thrown
        .as_string()
        .or_else(|| js_string(thrown).ok())
        .unwrap_or_else(|| String::from("(a value that cannot be shown)"))
}

#[cfg(test)]
mod tests {
    use roomcast_core::machine::Error;
    use roomcast_core::protocol::ErrorCode;

    #[test]
    fn server_errors_keep_the_protocol_code() {
        let e = Error::Server {
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
        };
        assert_eq!(e.code(), "rate_limited");
        assert_eq!(Error::QueueFull { capacity: 1 }.code(), "queue_full");
        assert_eq!(Error::NotConnected.code(), "not_connected");
    }

    /// The `.d.ts` names every code the core can give (and the driver's own three).
    #[test]
    fn the_typescript_union_lists_every_code() {
        let union = include_str!("lib.rs")
            .split("export type ErrorCode =")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .unwrap_or_default();
        let codes = Error::CLIENT_CODES
            .iter()
            .copied()
            .chain(ErrorCode::ALL.iter().map(|c| c.as_str()))
            .chain(["decode", "handler", "room_lost"]);
        for code in codes {
            let quoted = String::from("\"") + code + "\"";
            assert!(
                union.contains(&quoted),
                "{code} missing from the ErrorCode union"
            );
        }
    }
}
