//! `uniffi-bindgen`, built from the same pinned uniffi as `roomcast-ffi`, so generated
//! bindings always match the library's scaffolding (`cargo run -p roomcast-uniffi-bindgen`).

fn main() {
    uniffi::uniffi_bindgen_main()
}
