//! Building a [`Client`]: configuration and the optional token provider.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::machine::{BackoffConfig, Config, Error};

use super::client::Client;
use super::store::FileStore;
use super::token::TokenProvider;

/// Builder returned by [`Client::builder`].
pub struct ClientBuilder {
    config: Config,
    provider: Option<Arc<dyn TokenProvider>>,
    seed: Option<u64>,
    roots: Vec<Vec<u8>>,
    store: Option<PathBuf>,
}

impl ClientBuilder {
    pub(crate) fn new(url: impl Into<String>) -> Self {
        let id = uuid::Uuid::new_v4().to_string();
        Self {
            config: Config::new(url, id, "rust"),
            provider: None,
            seed: None,
            roots: Vec::new(),
            store: None,
        }
    }

    /// The token to connect with.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.config.token = Some(token.into());
        self
    }

    /// Where fresh tokens come from; see [`TokenProvider`]. A closure
    /// `|| async { Ok(Some(token)) }` works.
    pub fn token_provider(mut self, provider: impl TokenProvider) -> Self {
        self.provider = Some(Arc::new(provider));
        self.config.token_provider = true;
        self
    }

    /// A stable device or installation id (default: a random one per client).
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.config.client.id = id.into();
        self
    }

    /// Kind of client shown to others: `cli`, `ios`, `web`, `server`, ... (default `rust`).
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.config.client.source = source.into();
        self
    }

    /// Human readable device name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.client.name = Some(name.into());
        self
    }

    pub fn backoff(mut self, backoff: BackoffConfig) -> Self {
        self.config.backoff = backoff;
        self
    }

    /// Most persisted publishes waiting for their ack (default 1000).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.config.queue_capacity = capacity;
        self
    }

    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Trusts this root certificate (DER) for `wss://` besides the operating system's trust
    /// store: a private CA, or a development server's self-signed certificate. A certificate
    /// that does not parse fails [`build`](Self::build) with `InvalidConfig`.
    pub fn add_root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.roots.push(der.into());
        self
    }

    /// Keeps the offline queue and each room's position in `dir` (created if needed), so a
    /// client opened later on the same directory, after a crash or a kill too, sends every
    /// publish not yet acknowledged, once and in order, and a room joined without `since`
    /// resumes where the app was. One client at a time: a second one gets
    /// [`Error::StoreLocked`]. Give each app installation (and each user) its own directory,
    /// with a stable [`client_id`](Self::client_id). Without a store, both live in memory only.
    pub fn store(mut self, dir: impl Into<PathBuf>) -> Self {
        self.store = Some(dir.into());
        self
    }

    /// How often a moved room position is written (default 1 s): after a kill, at most this
    /// much of a room's messages is delivered again, with the same seqs.
    pub fn position_interval(mut self, interval: Duration) -> Self {
        self.config.position_interval = interval;
        self
    }

    /// Whether the first `join`, persisted `publish` or `history` on a client never connected
    /// connects by itself (default true). Off, such calls fail at once with
    /// [`Error::NotConnected`] until [`Client::connect`](super::Client::connect) is called.
    pub fn auto_connect(mut self, on: bool) -> Self {
        self.config.auto_connect = on;
        self
    }

    /// Fixes the reconnect jitter's seed (tests); random by default.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Validates the configuration and starts the client's driver task on the current tokio
    /// runtime. Nothing connects until [`Client::connect`].
    pub fn build(self) -> Result<Client, Error> {
        let url = &self.config.url;
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(Error::InvalidConfig(format!(
                "url must start with ws:// or wss://: {url}"
            )));
        }
        if self.config.token.is_none() && self.provider.is_none() {
            return Err(Error::InvalidConfig(
                "a token or a token provider is required".into(),
            ));
        }
        if self.config.queue_capacity == 0 {
            return Err(Error::InvalidConfig(
                "queue capacity must be at least 1".into(),
            ));
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::InvalidConfig("build() must run inside a tokio runtime".into()))?;
        let tls = if url.starts_with("wss://") {
            Some(super::tls::client_config(&self.roots)?)
        } else {
            None
        };
        let seed = self
            .seed
            .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0);
        let mut config = self.config;
        let store = match &self.store {
            Some(dir) => {
                config.persist = true;
                Some(FileStore::open(dir)?)
            }
            None => None,
        };
        Ok(Client::start(
            &runtime,
            config,
            self.provider,
            seed,
            tls,
            store,
        ))
    }
}
