//! roomcast-server: WebSocket rooms with durable, ordered history.
//!
//! - [`config`]: settings; [`cli`]: the command line (`roomcast-server`, `roomcast-server token`).
//! - [`auth`]: HS256 JWT verification, minting and the dev-mode secret.
//! - [`engine`]: the backend a connection or handler talks to, its commands, and how a
//!   publish is answered ([`engine::Origin`]):
//!   - [`engine::sqlite`]: SQLite, one writer thread with group commit; read-only connections
//!     for history;
//!   - [`engine::redis`]: Redis (`--redis`): shared history, seq, fan-out and presence for
//!     several nodes, each delivering in seq order through its per-room feed.
//! - [`data_lock`]: the exclusive lock that keeps a second server off the same store.
//! - [`accept`]: the accept loop: sockets per IP, header-read timeout, accept back-off.
//! - [`hub`]: sessions, and the SQLite engine's rooms, members and fan-out; [`outbound`]: each
//!   connection's bounded queue and the one reader of it.
//! - [`connection`]: one WebSocket session; [`http`]: routes and HTTP endpoints.
//! - `harness`: the same state, router and sessions in process, without a listener (fuzzing).
//! - [`ratelimit`], [`limits`]: token buckets per connection and per user, connections per IP.
//!
//! Embed or test with [`serve`]: it runs on a bound listener until `shutdown` completes.

pub mod accept;
pub mod admin;
pub mod auth;
pub mod cli;
pub mod config;
pub mod config_file;
pub mod connection;
pub mod data_lock;
pub mod engine;
#[doc(hidden)]
pub mod harness;
pub mod http;
pub mod hub;
pub mod internal;
pub mod jwks;
pub mod limits;
pub mod metrics;
pub mod outbound;
pub mod ratelimit;
pub mod retention;
pub mod state;
pub mod validate;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use config::Config;

use crate::accept::AcceptSettings;
use crate::auth::{Auth, SecretError};
use crate::data_lock::{DataLock, LockError};
use crate::engine::redis::{RedisEngine, RedisEngineError, RedisSettings};
use crate::engine::sqlite::{self as store, Command, ReadPool, StoreError};
use crate::engine::Engine;
use crate::hub::Hub;
use crate::retention::RetentionCounters;
use crate::state::AppState;

/// Why the server could not start or run.
#[derive(Debug, Error)]
pub enum ServerError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Redis(#[from] RedisEngineError),
    #[error(transparent)]
    Locked(#[from] LockError),
}

/// How long shutdown waits for WebSocket sessions to close.
const SHUTDOWN_SESSIONS: Duration = Duration::from_secs(15);

/// Runs the server on `listener` until `shutdown` completes, then shuts down gracefully: stops
/// accepting, closes every WebSocket with 1001 once the store has committed and acked what it
/// received from it, stops the store thread and returns.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    serve_with_ready(config, listener, shutdown, || {}).await
}

/// [`serve`], calling `ready` once the store is open and the server is about to accept: the
/// binary prints "listening on" there, so that line is never followed by a failed start.
pub async fn serve_with_ready(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ready: impl FnOnce(),
) -> Result<(), ServerError> {
    let internal = match config.internal_listen {
        Some(addr) => Some(TcpListener::bind(addr).await?),
        None => None,
    };
    serve_full(config, listener, internal, shutdown, ready).await
}

/// [`serve_with_ready`] with the internal listener (`/metrics`, `/livez`, `/readyz`, the
/// admin API) already bound, or none.
pub async fn serve_full(
    config: Config,
    listener: TcpListener,
    internal: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ready: impl FnOnce(),
) -> Result<(), ServerError> {
    let mut config = config;
    if let Some(l) = &internal {
        // The configured address may have port 0: record the bound one.
        config.internal_listen = Some(l.local_addr()?);
    }
    let running = Running::start(config).await?;
    tracing::info!(addr = ?listener.local_addr().ok(), dev_mode = running.state.auth.dev_mode(), "serving");
    ready();

    let state = Arc::clone(&running.state);
    let app = http::router(Arc::clone(&state));
    let settings = AcceptSettings {
        max_sockets_per_ip: state.config.max_sockets_per_ip,
        request_timeout: Duration::from_millis(state.config.request_timeout_ms),
        drain: SHUTDOWN_SESSIONS,
    };
    let stop_tx = running.stop_tx.clone();
    // The internal listener serves until the sessions are closed, so /readyz answers 503
    // `draining` meanwhile.
    let (internal_stop, internal_stopped) = tokio::sync::oneshot::channel::<()>();
    let internal_task = internal.map(|l| {
        tracing::info!(addr = ?l.local_addr().ok(), "internal listener");
        let app = internal::router(Arc::clone(&state));
        let settings = AcceptSettings {
            max_sockets_per_ip: 0,
            request_timeout: settings.request_timeout,
            drain: Duration::from_secs(1),
        };
        tokio::spawn(accept::serve(l, app, settings, async move {
            let _ = internal_stopped.await;
        }))
    });
    accept::serve(listener, app, settings, async move {
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    })
    .await;
    drop(state);
    running.stop().await;
    let _ = internal_stop.send(());
    if let Some(task) = internal_task {
        let _ = task.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// A started backend and the state every request and connection shares: what [`serve`] runs
/// behind its listener, and what the in-process [`harness`] drives without one.
pub(crate) struct Running {
    pub(crate) state: Arc<AppState>,
    stop_tx: watch::Sender<bool>,
    store_thread: Option<std::thread::JoinHandle<()>>,
    /// Held until [`Running::stop`] returns: the store is ours alone while the server runs.
    data_lock: Option<DataLock>,
}

impl Running {
    /// Resolves the secret, locks and opens the store (or connects to Redis) and builds the
    /// shared state.
    pub(crate) async fn start(config: Config) -> Result<Self, ServerError> {
        let config = config.sanitized();
        let (secret, dev_mode) =
            auth::resolve_secret(config.jwt_secret.as_deref(), &config.data_dir)?;
        let mut auth = Auth::new(&secret, dev_mode)?;
        if let Some(idp) = &config.idp {
            auth = auth.with_idp(crate::jwks::Jwks::start(idp.clone()).await);
        }
        let hub = Arc::new(Hub::default());
        let trims = Arc::new(RetentionCounters::default());
        let mut data_lock = None;
        let (engine, store_thread) = match &config.redis_url {
            Some(url) => {
                let engine = RedisEngine::start(RedisSettings {
                    url: url.clone(),
                    replay_limit: config.replay_limit,
                    presence_ttl_ms: config.presence_ttl_ms,
                    held_cap: config.outbound_queue,
                    limits: config.stream_limits(),
                    retention: config.retention.clone(),
                    trims: Arc::clone(&trims),
                })
                .await?;
                (Engine::Redis(engine), None)
            }
            None => {
                data_lock = Some(DataLock::acquire(&config.data_dir)?);
                let db = config.db_path();
                let check = Duration::from_millis(config.integrity_check_ms);
                let (store, thread) = store::start_with_retention(
                    &db,
                    Arc::clone(&hub),
                    config.replay_limit,
                    check,
                    config.stream_limits(),
                    config.retention.clone(),
                    Arc::clone(&trims),
                )?;
                let reads = Arc::new(ReadPool::new(db));
                (Engine::Sqlite { store, reads }, Some(thread))
            }
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut state = AppState::new(config, auth, hub, engine, stop_rx);
        state.trims = trims;
        let state = Arc::new(state);
        Ok(Running {
            state,
            stop_tx,
            store_thread,
            data_lock,
        })
    }

    /// Tells sessions the server is shutting down, waits (bounded) for them to close, then
    /// stops the engine (the SQLite store thread, or the Redis engine's tasks) and releases
    /// the data directory.
    pub(crate) async fn stop(self) {
        let Running {
            state,
            stop_tx,
            store_thread,
            data_lock,
        } = self;
        let _ = stop_tx.send(true);
        // Upgraded WebSockets are not tracked by axum: wait for our own.
        if !state.wait_sockets(SHUTDOWN_SESSIONS).await {
            tracing::warn!("some websocket sessions did not close in time");
        }
        match &state.engine {
            Engine::Sqlite { store, .. } => {
                let _ = store.send(Command::Shutdown).await;
            }
            Engine::Redis(r) => r.shutdown(),
        }
        drop(state);
        if let Some(store_thread) = store_thread {
            let joined = tokio::task::spawn_blocking(move || store_thread.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("the store thread ended abnormally");
            }
        }
        drop(data_lock);
    }
}
