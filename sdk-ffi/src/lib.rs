//! Roomcast's uniffi surface (namespace `roomcast`): the foundation of the Swift package and
//! of the React Native package (through uniffi-bindgen-react-native), also exercised from
//! Python by the FFI test suite.
//!
//! Thin by design: every object wraps a `roomcast_core` handle and every method forwards to
//! it. Connection logic, the offline queue, resume and backoff all live in the core's
//! sans-IO machine, so Swift behaves exactly like the Rust and JS clients.
//!
//! - [`Client`] and [`Room`]: objects over `roomcast_core::Client` and `roomcast_core::Room`.
//! - [`RoomListener`], [`StateListener`], [`TokenProvider`]: traits the app implements.
//! - [`RoomcastError`]: the one public error, mapped from the core's internal errors.
//! - [`Subscription`]: a handle that stops a listener when dropped.
//! - [`set_log_sink`]: the SDK's `tracing` events, to a [`LogSink`] the app implements.

uniffi::setup_scaffolding!("roomcast");

mod client;
mod connectivity;
mod error;
mod listeners;
mod log;
mod room;
mod runtime;
mod subscription;
mod types;

pub use client::Client;
pub use error::RoomcastError;
pub use listeners::{RoomListener, StateListener, TokenProvider};
pub use log::{clear_log_sink, set_log_sink, LogLevel, LogRecord, LogSink};
pub use room::Room;
pub use subscription::Subscription;
pub use types::{
    ClientConfig, ConnectionState, Gap, HistoryPage, JoinInfo, Member, Message, PresenceEvent,
    PresenceKind, PublishAck, ResumeMode,
};

/// Locks `m`. A foreign callback that panicked under the lock poisons nothing these slots
/// rely on (each holds an `Option` taken whole), so a poisoned lock is used as it is.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
