//! Server settings, filled from the command line (see `cli.rs`) or built directly by tests.

use std::net::SocketAddr;
use std::path::PathBuf;

use roomcast_core::protocol::{DEFAULT_HEARTBEAT_MS, DEFAULT_MAX_FRAME};

use crate::retention::Retention;

/// Everything a running server needs to know.
///
/// Out-of-range values are clamped when the server starts: intervals to 1 ms ..= 1 day,
/// `max_frame` to 64 B ..= 1 GiB, `outbound_queue` to 1 ..= 2^20 frames.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (used by the binary; `serve` is handed a bound listener).
    pub listen: SocketAddr,
    /// Directory of the SQLite store (`roomcast.db`) and, in dev mode, `dev-jwt-secret`.
    pub data_dir: PathBuf,
    /// HS256 secret. `None`: dev mode (a generated secret kept in the data directory, and
    /// tokens without `exp` are accepted).
    pub jwt_secret: Option<String>,
    /// Client ping interval announced in `welcome`; a connection silent for twice this long is
    /// closed.
    pub heartbeat_ms: u64,
    /// Largest accepted frame (and HTTP body), in bytes.
    pub max_frame: usize,
    /// Most rooms one connection may be joined to at once.
    pub max_rooms_per_conn: usize,
    /// Most messages replayed on a `join` with `since`.
    pub replay_limit: u32,
    /// Frames per second a connection may send (token bucket, burst of twice that). 0: no limit.
    pub publish_rate: u32,
    /// Frames that may wait in one connection's outbound queue before it is cut as a slow
    /// consumer (close 4008).
    pub outbound_queue: usize,
    /// How long a new connection has to send `hello`.
    pub hello_timeout_ms: u64,
    /// Static files served at `/` (e.g. the web dashboard); `None`: no static files.
    pub web_dir: Option<PathBuf>,
    /// Frames per second all of one user's connections on this node may send together
    /// (token bucket, burst of twice that). 0: no limit.
    pub user_rate: u32,
    /// Most simultaneous WebSocket connections from one IP address; over it the upgrade is
    /// refused with HTTP 429. 0: no limit.
    pub max_conns_per_ip: usize,
    /// Most simultaneous TCP connections of any kind (HTTP, WebSocket) from one IP address;
    /// one more is closed as soon as it is accepted. 0: no limit.
    pub max_sockets_per_ip: usize,
    /// Time a client has to send a request head (from connecting, or from the previous
    /// response on a kept-alive connection) and a request body; then the connection closes.
    pub request_timeout_ms: u64,
    /// Longest integrity check of the SQLite store at startup; a check still running then is
    /// abandoned and the server starts. 0: no check.
    pub integrity_check_ms: u64,
    /// `redis://...`: history, seq, epoch, fan-out and presence live in Redis so several
    /// nodes serve the same rooms. `None`: the embedded SQLite store.
    pub redis_url: Option<String>,
    /// Redis engine: how long a node's members stay in the shared presence without being
    /// refreshed (so a crashed node's members disappear after this).
    pub presence_ttl_ms: u64,
    /// Most bytes of text one streamed message may hold (`too_large` beyond).
    pub max_stream_bytes: u64,
    /// A stream without an append for this long is ended `failed` by the server.
    pub stream_idle_ms: u64,
    /// How much history each room keeps (default: everything, for ever).
    pub retention: Retention,
    /// The operator's listener (`/metrics`, `/livez`, `/readyz`, the admin API), trusted:
    /// bind it to a private address. `None`: those endpoints are on the public listener,
    /// `/metrics` and the admin API behind an operator credential.
    pub internal_listen: Option<SocketAddr>,
    /// The admin API key (`Authorization: Bearer <key>` on the public listener; compared in
    /// constant time). `None`: no admin API on the public listener.
    pub admin_key: Option<String>,
    /// Tokens from an identity provider (RS256, ES256, EdDSA with a JWKS), besides the HS256
    /// tokens of `jwt_secret`.
    pub idp: Option<crate::jwks::IdpSettings>,
}

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4000";
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./roomcast-data";

impl Config {
    /// Defaults everywhere, storing under `data_dir`, in dev mode unless a secret is set.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 4000)),
            data_dir: data_dir.into(),
            jwt_secret: None,
            heartbeat_ms: DEFAULT_HEARTBEAT_MS,
            max_frame: DEFAULT_MAX_FRAME,
            max_rooms_per_conn: 100,
            replay_limit: 1000,
            publish_rate: 1000,
            outbound_queue: 1024,
            hello_timeout_ms: 10_000,
            web_dir: None,
            user_rate: 2000,
            max_conns_per_ip: 256,
            max_sockets_per_ip: 512,
            request_timeout_ms: 10_000,
            integrity_check_ms: 30_000,
            redis_url: None,
            presence_ttl_ms: 15_000,
            max_stream_bytes: 1 << 20,
            stream_idle_ms: 300_000,
            retention: Retention::default(),
            internal_listen: None,
            admin_key: None,
            idp: None,
        }
    }

    /// Sets the JWT secret (leaving dev mode).
    pub fn with_secret(mut self, secret: impl Into<String>) -> Self {
        self.jwt_secret = Some(secret.into());
        self
    }

    /// Replaces values that cannot work (zero sizes and intervals) with the smallest that do,
    /// so no setting can make the server panic.
    pub(crate) fn sanitized(mut self) -> Self {
        const DAY_MS: u64 = 24 * 3600 * 1000;
        self.heartbeat_ms = self.heartbeat_ms.clamp(1, DAY_MS);
        self.hello_timeout_ms = self.hello_timeout_ms.clamp(1, DAY_MS);
        self.request_timeout_ms = self.request_timeout_ms.clamp(1, DAY_MS);
        self.max_frame = self.max_frame.clamp(64, 1 << 30);
        self.outbound_queue = self.outbound_queue.clamp(1, 1 << 20);
        self.presence_ttl_ms = self.presence_ttl_ms.clamp(300, DAY_MS);
        self.stream_idle_ms = self.stream_idle_ms.clamp(1, 30 * DAY_MS);
        self
    }

    /// The stream limits the engines apply.
    pub fn stream_limits(&self) -> crate::engine::StreamLimits {
        crate::engine::StreamLimits {
            max_bytes: self.max_stream_bytes,
            idle_ms: self.stream_idle_ms,
        }
    }

    /// Path of the SQLite database.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("roomcast.db")
    }

    /// The WebSocket transport limit: beyond `max_frame` a frame gets a `too_large` error,
    /// beyond this the transport itself gives up and the connection closes with 1009.
    pub fn transport_limit(&self) -> usize {
        self.max_frame.saturating_mul(4).max(1 << 20)
    }
}
