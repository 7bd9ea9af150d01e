//! Client configuration: everything the machine needs that is not an input.

use std::time::Duration;

use crate::protocol::ClientInfo;

/// Reconnect policy: exponential backoff with jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackoffConfig {
    /// First delay before jitter (protocol default 1 s).
    pub min_delay: Duration,
    /// Cap on the delay before jitter (protocol default 30 s).
    pub max_delay: Duration,
    /// Reconnect attempts before giving up; `None` retries forever.
    pub max_attempts: Option<u32>,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_attempts: None,
        }
    }
}

/// How the client behaves. Build one with [`Config::new`] and adjust the public fields.
#[derive(Debug, Clone)]
pub struct Config {
    /// `ws://` or `wss://` URL of the server's `/ws` endpoint.
    pub url: String,
    /// Identity sent in `hello`.
    pub client: ClientInfo,
    /// A token to start with. Without one, `token_provider` must be true.
    pub token: Option<String>,
    /// The app supplies tokens on demand: the machine emits [`Action::FetchToken`] before the
    /// first connect without a token, before the token expires, and after the server rejects
    /// it (close 4001).
    ///
    /// [`Action::FetchToken`]: super::Action::FetchToken
    pub token_provider: bool,
    pub backoff: BackoffConfig,
    /// Most persisted publishes waiting for their ack (queued offline or in flight).
    pub queue_capacity: usize,
    /// How long a request may wait for its reply on a live connection.
    pub request_timeout: Duration,
    /// How long opening the socket and the handshake may take before the attempt is abandoned.
    pub connect_timeout: Duration,
    /// Consecutive token rejections (close 4001) tolerated, each followed by a fresh token
    /// from the provider, before the client stops in the `Unauthorized` state.
    pub max_auth_failures: u32,
    /// Bytes of messages a room may hold back while its resume pages older ones in (see
    /// [`ResumeMode::Full`](super::ResumeMode::Full)). Beyond it, later messages are not kept
    /// but paged in afterwards: this bounds memory, never what is delivered.
    pub hold_bytes: usize,
    /// A host store keeps the offline queue and the rooms' positions: the machine emits
    /// [`Output::Persist`](super::Output::Persist) records and sends a publish only once its
    /// record is durable (see [`Machine::persisted`](super::Machine::persisted)).
    pub persist: bool,
    /// With a store, how often a room's moved position is written. A process killed between
    /// two writes sees at most this much of its messages again after a restart.
    pub position_interval: Duration,
    /// The first operation that needs the server (`join`, a persisted `publish`, `history`)
    /// on a client never connected starts connecting exactly as `connect` would. Off, such an
    /// operation fails at once with `NotConnected` until the app connects.
    pub auto_connect: bool,
}

impl Config {
    /// A configuration with the protocol's defaults.
    pub fn new(
        url: impl Into<String>,
        client_id: impl Into<String>,
        source: impl Into<String>,
    ) -> Self {
        Self {
            url: url.into(),
            client: ClientInfo {
                id: client_id.into(),
                source: source.into(),
                name: None,
            },
            token: None,
            token_provider: false,
            backoff: BackoffConfig::default(),
            queue_capacity: 1000,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            max_auth_failures: 3,
            hold_bytes: 4 * 1024 * 1024,
            persist: false,
            position_interval: Duration::from_secs(1),
            auto_connect: true,
        }
    }
}
