//! Driver pieces that need a JS host, run by wasm-bindgen-test-runner under Node
//! (scripts/test-js.sh): conversions, error objects, options, the timer, and a client driven
//! through a stand-in `WebSocket`.

use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::error::{code_of, to_js};
use roomcast_core::machine::Error;

#[wasm_bindgen_test]
fn errors_are_error_objects_with_a_code() {
    let e = to_js(&Error::QueueFull { capacity: 3 });
    assert!(e.is_instance_of::<js_sys::Error>());
    let code = js_sys::Reflect::get(&e, &JsValue::from_str("code")).unwrap_or_default();
    assert_eq!(
        code.as_string().as_deref(),
        Some(code_of(&Error::QueueFull { capacity: 3 }))
    );
}
