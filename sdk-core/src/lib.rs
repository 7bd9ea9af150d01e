//! Roomcast's client core.
//!
//! - [`protocol`]: the wire types, shared with `roomcast-server`.
//! - [`machine`]: the sans-IO client state machine that owns every client behaviour
//!   (handshake, token refresh, rooms, heartbeat, backoff, offline queue, resume). It does no
//!   I/O and reads no clock, so the native driver, the wasm driver and the tests all run the
//!   same logic.
//! - `native` (feature `native`): the tokio + tokio-tungstenite driver and the async Rust API,
//!   re-exported at the crate root.

pub mod machine;
pub mod protocol;

#[cfg(feature = "native")]
mod native;
#[cfg(feature = "native")]
pub use native::*;
