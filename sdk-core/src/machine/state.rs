//! The connection state the app sees.

use std::time::Duration;

/// Where the client's connection stands. Emitted as [`Event::State`] on every change.
///
/// [`Event::State`]: super::Event::State
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Created, `connect` not called yet.
    Idle,
    /// Fetching a token, opening the socket or handshaking. `attempt` is 0 for the first
    /// connection and counts reconnect attempts after that.
    Connecting { attempt: u32 },
    /// Handshake done; requests flow.
    Connected,
    /// Waiting `delay` before reconnect attempt `attempt`.
    Reconnecting { attempt: u32, delay: Duration },
    /// Disconnected on the app's request (e.g. app in background); `resume` reconnects.
    Paused,
    /// The server rejected the token and no fresh one could be had. `set_token` followed by
    /// `reconnect_now` tries again.
    Unauthorized,
    /// Closed by the app, or gave up reconnecting. Final.
    Closed,
}

impl ConnectionState {
    /// Short lowercase name, for logs and UIs.
    pub fn name(&self) -> &'static str {
        match self {
            ConnectionState::Idle => "idle",
            ConnectionState::Connecting { .. } => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Reconnecting { .. } => "reconnecting",
            ConnectionState::Paused => "paused",
            ConnectionState::Unauthorized => "unauthorized",
            ConnectionState::Closed => "closed",
        }
    }
}
