//! Roomcast's client core.
//!
//! - [`protocol`]: the wire types, shared with `roomcast-server`.
//! - [`machine`]: the sans-IO client state machine that owns every client behaviour
//!   (handshake, token refresh, rooms, heartbeat, backoff, offline queue, resume). It does no
//!   I/O and reads no clock, so the native driver, the wasm driver and the tests all run the
//!   same logic.
//! - [`connectivity`]: the rules an app's lifecycle and network path apply to its connection
//!   (pause in the background after a grace period, resume or probe on return), run by the
//!   Swift and React Native layers through the FFI.
//! - `native` (feature `native`): the tokio + tokio-tungstenite driver and the async Rust API,
//!   re-exported at the crate root.

pub mod connectivity;
pub mod machine;
pub mod protocol;

#[cfg(feature = "native")]
mod native;
#[cfg(feature = "native")]
pub use native::*;
