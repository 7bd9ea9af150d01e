//! The server in process, without a listener: the real state, engine and router, for the
//! fuzz targets (`fuzz/`) and tests that need no socket. Not a stable API.
//!
//! - [`Harness::router`]: every HTTP route, to call with `tower::ServiceExt::oneshot`.
//! - [`Harness::session`]: a WebSocket session fed one frame at a time ([`DetachedSession`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::connect_info::MockConnectInfo;
use axum::Router;

pub use crate::connection::DetachedSession;
use crate::outbound::QueueReader;
use crate::state::AppState;
use crate::{http, Config, Running, ServerError};

/// The address requests and sessions appear to come from.
const PEER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 1);

/// A started server backend with no listener.
pub struct Harness {
    running: Running,
}

impl Harness {
    /// Opens the store (or Redis) of `config` as [`crate::serve`] does.
    pub async fn start(config: Config) -> Result<Self, ServerError> {
        Ok(Harness {
            running: Running::start(config).await?,
        })
    }

    /// The state every request and session shares (config, auth, engine, hub).
    pub fn state(&self) -> &Arc<AppState> {
        &self.running.state
    }

    /// The server's router; requests appear to come from 127.0.0.1 (the accept loop's
    /// `ConnectInfo`).
    pub fn router(&self) -> Router {
        http::router(Arc::clone(&self.running.state)).layer(MockConnectInfo(PEER))
    }

    /// A new WebSocket session and its outbound queue.
    pub fn session(&self) -> (DetachedSession, QueueReader) {
        DetachedSession::new(&self.running.state)
    }

    /// Shuts down as [`crate::serve`] does after its listener: the store commits what it has
    /// and its thread ends.
    pub async fn stop(self) {
        self.running.stop().await;
    }
}
