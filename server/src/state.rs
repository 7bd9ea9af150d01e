//! State shared by every request and connection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::auth::Auth;
use crate::config::Config;
use crate::engine::Engine;
use crate::hub::Hub;
use crate::limits::{IpLimit, UserBuckets};
use crate::ratelimit::TokenBucket;
use crate::retention::RetentionCounters;

/// What handlers and connections share.
#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    pub auth: Auth,
    pub hub: Arc<Hub>,
    pub engine: Engine,
    pub started: Instant,
    /// Becomes true when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
    next_conn: AtomicU64,
    live_sockets: AtomicUsize,
    /// HTTP POST rate limit, per user (`sub`).
    http_buckets: Mutex<HashMap<String, TokenBucket>>,
    /// WebSocket frame rate shared by each user's connections.
    pub user_buckets: UserBuckets,
    /// WebSocket connections per client IP.
    pub ip_limit: Arc<IpLimit>,
    /// What retention removed.
    pub trims: Arc<RetentionCounters>,
    /// Users an operator blocked, until when (admin API; this node only).
    blocked: Mutex<HashMap<String, Instant>>,
}

/// Users tracked by the HTTP rate limit before idle ones are forgotten.
const HTTP_BUCKETS_PRUNE_AT: usize = 10_000;

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hub")
    }
}

impl AppState {
    pub fn new(
        config: Config,
        auth: Auth,
        hub: Arc<Hub>,
        engine: Engine,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let user_buckets = UserBuckets::new(config.user_rate);
        let ip_limit = IpLimit::new(config.max_conns_per_ip);
        AppState {
            config,
            auth,
            hub,
            engine,
            started: Instant::now(),
            shutdown,
            next_conn: AtomicU64::new(1),
            live_sockets: AtomicUsize::new(0),
            http_buckets: Mutex::new(HashMap::new()),
            user_buckets,
            ip_limit,
            trims: Arc::default(),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one HTTP publish token for `user` (same rate as a connection's frames); `Err`
    /// says how long until one is available.
    pub fn http_rate(&self, user: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let rate = self.config.publish_rate;
        let mut buckets = self.http_buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= HTTP_BUCKETS_PRUNE_AT && !buckets.contains_key(user) {
            buckets.retain(|_, b| !b.is_full(now));
        }
        buckets
            .entry(user.to_string())
            .or_insert_with(|| TokenBucket::new(rate, now))
            .try_take(now)
    }

    /// Refuses `user`'s tokens on this node for `for_` (admin API).
    pub fn block(&self, user: &str, for_: Duration) {
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        blocked.retain(|_, until| *until > now);
        blocked.insert(user.to_string(), now + for_);
    }

    /// Whether `user` is blocked right now.
    pub fn blocked(&self, user: &str) -> bool {
        let blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        blocked
            .get(user)
            .is_some_and(|until| *until > Instant::now())
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts a WebSocket task until the guard drops.
    pub fn track_socket(self: &Arc<Self>) -> SocketGuard {
        self.live_sockets.fetch_add(1, Ordering::AcqRel);
        SocketGuard(Arc::clone(self))
    }

    /// Waits (at most `limit`) until every WebSocket task has ended.
    pub async fn wait_sockets(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.live_sockets.load(Ordering::Acquire) > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

/// Held by a WebSocket task while it runs.
pub struct SocketGuard(Arc<AppState>);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.0.live_sockets.fetch_sub(1, Ordering::AcqRel);
    }
}
