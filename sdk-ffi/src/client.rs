//! [`Client`]: the exported handle over `roomcast_core::Client`.

use std::sync::Arc;

use crate::error::RoomcastError;
use crate::listeners::{guarded, ProviderAdapter, RoomListener, StateListener, TokenProvider};
use crate::room::Room;
use crate::runtime::{run, runtime};
use crate::subscription::Subscription;
use crate::types::{ClientConfig, ConnectionState, PendingPublish, ResumeMode};

/// A Roomcast connection. Reconnects, resumes rooms and re-sends queued publishes on its own;
/// it closes at [`close`](Self::close) or once this object and every [`Room`] are released.
#[derive(uniffi::Object)]
pub struct Client {
    inner: roomcast_core::Client,
    /// The shared runtime, known to be running once a client exists.
    runtime: &'static tokio::runtime::Runtime,
}

#[uniffi::export]
impl Client {
    /// Validates `config` and starts the client's driver; nothing connects until `connect`.
    #[uniffi::constructor(default(token_provider = None))]
    pub fn new(
        config: ClientConfig,
        token_provider: Option<Arc<dyn TokenProvider>>,
    ) -> Result<Arc<Self>, RoomcastError> {
        let runtime = runtime()?;
        // The core spawns its driver on the current runtime: make ours current.
        let _context = runtime.enter();
        let mut builder = roomcast_core::Client::builder(config.url.as_str())
            .client_id(config.client_id.as_str())
            .source(config.source.as_str())
            .backoff(config.backoff())
            .queue_capacity(usize::try_from(config.queue_capacity).unwrap_or(usize::MAX));
        if let Some(token) = config.token {
            builder = builder.token(token);
        }
        if let Some(name) = config.name {
            builder = builder.name(name);
        }
        if let Some(provider) = token_provider {
            builder = builder.token_provider(ProviderAdapter(provider));
        }
        if let Some(path) = config.store_path {
            builder = builder.store(path);
        }
        for der in config.extra_roots_der {
            builder = builder.add_root_certificate_der(der);
        }
        Ok(Arc::new(Self {
            inner: builder.build()?,
            runtime,
        }))
    }

    /// `new` with a token provider that is not optional. The React Native bindings
    /// (uniffi-bindgen-react-native 0.31) cannot pass a JavaScript implementation of a
    /// foreign trait inside an `Option`, so the React Native package builds its clients
    /// with this constructor whenever it has a provider.
    #[uniffi::constructor]
    pub fn with_token_provider(
        config: ClientConfig,
        token_provider: Arc<dyn TokenProvider>,
    ) -> Result<Arc<Self>, RoomcastError> {
        Self::new(config, Some(token_provider))
    }

    /// Connects, returning at the first successful handshake. While the server is
    /// unreachable it keeps retrying; it fails only when the token is refused for good
    /// (`Unauthorized`) or the client is closed. Optional: the first `join`, persisted
    /// `publish` or `history` connects by itself, and a `connect` made meanwhile returns at
    /// that same handshake.
    pub async fn connect(&self) -> Result<(), RoomcastError> {
        let client = self.inner.clone();
        run(async move { client.connect().await }).await
    }

    /// A room handle without joining it: `subscribe` listeners on it, then `join`. Every call
    /// for the same name shares one room.
    pub fn room(&self, room: String) -> Arc<Room> {
        Arc::new(Room::new(self.inner.room(&room)))
    }

    /// Joins `room`, returning at the server's `joined` (`room(name)`, a listener and `join`
    /// in one call). `listener` is registered before the join, so it also sees what a resume
    /// replays; it stays registered until the room is
    /// left or the returned [`Room`] is released. The room is rejoined after every reconnect,
    /// resuming as `resume` says (default: every missed message, paged in past the server's
    /// replay limit).
    #[uniffi::method(default(resume = None))]
    pub async fn join(
        &self,
        room: String,
        listener: Arc<dyn RoomListener>,
        resume: Option<ResumeMode>,
    ) -> Result<Arc<Room>, RoomcastError> {
        let room = Room::attach(self.inner.room(&room), listener);
        let joining = room.core().clone();
        let options = roomcast_core::JoinOptions {
            resume: resume.unwrap_or_default().into(),
            ..roomcast_core::JoinOptions::default()
        };
        run(async move { joining.join_with(options).await }).await?;
        Ok(Arc::new(room))
    }

    /// The current connection state.
    pub fn state(&self) -> ConnectionState {
        self.inner.state().into()
    }

    /// Calls `listener` with the current state at once, then with each change. States that
    /// change faster than the listener runs are coalesced to the latest, like a UI needs.
    pub fn add_state_listener(&self, listener: Arc<dyn StateListener>) -> Arc<Subscription> {
        let mut states = self.inner.state_changes();
        let task = self.runtime.spawn(async move {
            loop {
                let state = ConnectionState::from(*states.borrow_and_update());
                guarded("on_state", || listener.on_state(state));
                if states.changed().await.is_err() {
                    return; // The client is gone.
                }
            }
        });
        Arc::new(Subscription::task(task.abort_handle()))
    }

    /// Persisted publishes not yet acknowledged, oldest first, those restored from the store
    /// included: what a chat screen shows as "sending".
    pub async fn pending(&self) -> Vec<PendingPublish> {
        let client = self.inner.clone();
        run(async move { Ok(client.pending().await) })
            .await
            .unwrap_or_default()
            .into_iter()
            .map(PendingPublish::from)
            .collect()
    }

    /// The damage found when the store was opened, if any (a `Storage` error saying where the
    /// damaged journal was kept aside): every whole record before and after it was kept.
    pub fn store_damage(&self) -> Option<RoomcastError> {
        self.inner.store_damage().cloned().map(RoomcastError::from)
    }

    /// Persisted publishes not yet acknowledged by the server (the "N queued" badge).
    pub async fn queued(&self) -> u64 {
        let client = self.inner.clone();
        run(async move { Ok(client.queued().await) })
            .await
            .map_or(0, |n| u64::try_from(n).unwrap_or(u64::MAX))
    }

    /// Replaces the token (sent at once when connected); after `Unauthorized`, follow with
    /// `reconnect_now`.
    pub fn set_token(&self, token: String) {
        self.inner.set_token(token);
    }

    /// Skips the reconnect wait, e.g. when the OS reports the network back. While connected
    /// it probes the connection instead: a ping, and a new connection unless some frame
    /// arrives within 5 s (the app is back in the foreground, or the network changed).
    pub fn reconnect_now(&self) {
        self.inner.reconnect_now();
    }

    /// Disconnects until `resume` (app backgrounded), keeping rooms and queued publishes.
    pub fn pause(&self) {
        self.inner.pause();
    }

    /// Reconnects after `pause`; rooms resume where they were.
    pub fn resume(&self) {
        self.inner.resume();
    }

    /// Closes for good; queued publishes fail with `Closed` (with a store they stay in it, and
    /// the next client opened on it sends them). Returns once the store has what it keeps.
    pub async fn close(&self) -> Result<(), RoomcastError> {
        let client = self.inner.clone();
        run(async move { client.close().await }).await
    }
}
