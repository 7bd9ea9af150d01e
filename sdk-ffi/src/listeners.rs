//! Traits the app implements, and the adapters that plug them into the core.
//!
//! Listener methods are called on the SDK's background threads, one event at a time per room
//! and in order, never on the thread that runs the connection: a listener may do real work
//! (decoding, a database write, a blocking call) without delaying pings, acks or other rooms.
//! A room whose listener falls far behind stops taking messages until it catches up, then gets
//! what it skipped paged in from the server (nothing stored is lost; ephemeral messages from
//! meanwhile are dropped). For UI updates, hop to the main actor. A listener must not hold a strong
//! reference to the [`Room`](crate::Room) or [`Client`](crate::Client) it listens to: Rust
//! keeps the listener alive while it is registered, so that would be a retain cycle.
//!
//! `export(with_foreign)`: uniffi 0.31's spelling of a trait the app implements, held as an
//! `Arc<dyn _>` (0.32 calls it `export(foreign)`); the workspace stays on 0.31 for React
//! Native's bindgen (see the root Cargo.toml).

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;

use roomcast_core::RoomEvent;

use crate::error::RoomcastError;
use crate::types::{ConnectionState, Gap, JoinInfo, Message, PresenceEvent, StreamPiece};

/// Supplies tokens on demand: before the first connection when the config has none, before
/// the current one expires, and after the server rejects one (close 4001).
///
/// Return `None` when the user is signed out: the client stops in `Unauthorized`. Throwing
/// is a passing failure, retried with backoff.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait TokenProvider: Send + Sync {
    async fn fetch_token(&self) -> Result<Option<String>, RoomcastError>;
}

/// Everything that happens in a joined room.
#[uniffi::export(with_foreign)]
pub trait RoomListener: Send + Sync {
    /// A message from another connection (the publisher's own connection gets the ack
    /// instead). Persisted messages arrive exactly once, in `seq` order, across reconnects.
    fn on_message(&self, message: Message);
    fn on_presence(&self, presence: PresenceEvent);
    /// The room was joined: first, and again after every reconnect.
    fn on_joined(&self, info: JoinInfo);
    /// Messages the server no longer has (a reset history, retention). A resume cut short by
    /// the server's replay limit is completed from history instead and reports no gap.
    fn on_gap(&self, gap: Gap);
    /// The room is no longer joined: the server refused the automatic rejoin (for example
    /// the refreshed token no longer allows it).
    fn on_error(&self, error: RoomcastError);
    /// The room's events ended: it was left or lost, or the client closed. Called once per
    /// end, after every event before it; a later `join` starts them again.
    fn on_end(&self);
}

/// The pieces of a room's streamed messages (an assistant's reply growing word by word).
#[uniffi::export(with_foreign)]
pub trait StreamListener: Send + Sync {
    /// The next piece of a stream, after its opening message (`Message.stream`) and earlier
    /// pieces.
    fn on_append(&self, piece: StreamPiece);
}

/// Connection state changes.
#[uniffi::export(with_foreign)]
pub trait StateListener: Send + Sync {
    fn on_state(&self, state: ConnectionState);
}

/// Runs a foreign callback, containing a failure to that one call. A foreign method without
/// a `throws` that fails anyway makes uniffi panic; unguarded, that panic would end the task
/// that called it (the state listener's). Room listeners need no guard here: the core runs
/// every room handler guarded on the room's own task.
pub(crate) fn guarded(what: &str, call: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(call)).is_err() {
        tracing::warn!("roomcast: a foreign {what} callback failed; the event was dropped");
    }
}

/// Hands a core room event to the foreign listener.
pub(crate) fn deliver(listener: &dyn RoomListener, event: &RoomEvent) {
    match event {
        RoomEvent::Message(m) => listener.on_message(m.clone().into()),
        RoomEvent::Presence(p) => listener.on_presence(p.clone().into()),
        RoomEvent::Joined(j) => listener.on_joined(j.clone().into()),
        RoomEvent::Gap(g) => listener.on_gap(g.clone().into()),
        RoomEvent::Lost(e) => listener.on_error(e.clone().into()),
        // Only typed Rust handlers produce decode errors; this listener takes raw JSON.
        RoomEvent::DecodeError(_) => {}
        // Streamed replies' pieces reach foreign listeners with the stream reader API (not
        // built yet); a stream's opening message arrives through `on_message` meanwhile.
        RoomEvent::Append(_) => {}
    }
}

/// The foreign provider seen through the core's `TokenProvider` trait.
pub(crate) struct ProviderAdapter(pub(crate) Arc<dyn TokenProvider>);

impl roomcast_core::TokenProvider for ProviderAdapter {
    fn fetch_token(&self) -> Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send>> {
        let provider = self.0.clone();
        Box::pin(async move {
            provider.fetch_token().await.map_err(|e| match e {
                RoomcastError::TokenProvider { reason } => reason,
                other => other.to_string(),
            })
        })
    }
}
