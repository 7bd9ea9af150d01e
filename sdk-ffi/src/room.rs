//! [`Room`]: the exported handle over `roomcast_core::Room`, owning its listener.

use std::sync::{Arc, Mutex};

use roomcast_core::{Payload, PublishOptions};

use crate::error::RoomcastError;
use crate::listeners::{deliver, RoomListener};
use crate::runtime::run;
use crate::types::{HistoryPage, PublishAck};

/// A joined room. Its listener stays registered until [`leave`](Self::leave) or until this
/// object is released.
#[derive(uniffi::Object)]
pub struct Room {
    inner: roomcast_core::Room,
    /// The listener's registration; `None` once left.
    listener: Mutex<Option<roomcast_core::Subscription>>,
}

impl Room {
    /// Wraps a core room handle and registers `listener` on it (before any join, so that a
    /// resume's replay reaches it).
    pub(crate) fn attach(inner: roomcast_core::Room, listener: Arc<dyn RoomListener>) -> Self {
        let subscription = inner.on_event(move |event| deliver(listener.as_ref(), event));
        Self {
            inner,
            listener: Mutex::new(Some(subscription)),
        }
    }

    pub(crate) fn core(&self) -> &roomcast_core::Room {
        &self.inner
    }

    /// Unregisters and releases the listener.
    fn detach_listener(&self) {
        let subscription = match self.listener.lock() {
            Ok(mut s) => s.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        drop(subscription);
    }

    fn parse(data_json: String) -> Result<Payload, RoomcastError> {
        Payload::from_json(data_json).map_err(|e| RoomcastError::InvalidPayload {
            reason: e.to_string(),
        })
    }
}

#[uniffi::export]
impl Room {
    pub fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    /// Publishes a persisted message (`data_json`: any JSON text) with a fresh UUID v7 id.
    /// Queued while offline and re-sent after reconnects until acknowledged; returns the ack
    /// with its `seq`. Publishes are queued in call order.
    pub async fn publish(
        &self,
        event: String,
        data_json: String,
    ) -> Result<PublishAck, RoomcastError> {
        let data = Self::parse(data_json)?;
        let ack = self
            .inner
            .publish_payload(&event, data, PublishOptions::default());
        run(ack).await.map(PublishAck::from)
    }

    /// Publishes an ephemeral message (typing indicators, cursors): delivered to members
    /// present now, not stored, never queued; fails with `NotConnected` when offline.
    pub async fn publish_ephemeral(
        &self,
        event: String,
        data_json: String,
    ) -> Result<(), RoomcastError> {
        let data = Self::parse(data_json)?;
        let options = PublishOptions {
            ephemeral: true,
            ..PublishOptions::default()
        };
        let ack = self.inner.publish_payload(&event, data, options);
        run(ack).await.map(|_| ())
    }

    /// Stored messages with `seq < before` (the newest without `before`), ascending; at most
    /// `limit` (the server caps it at 500). Needs a live connection.
    #[uniffi::method(default(before = None, limit = 50))]
    pub async fn history(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> Result<HistoryPage, RoomcastError> {
        let room = self.inner.clone();
        run(async move { room.history(before, limit).await })
            .await
            .map(HistoryPage::from)
    }

    /// Leaves the room: messages stop, queued publishes to it fail with `NotJoined`, and the
    /// listener is released.
    pub async fn leave(&self) -> Result<(), RoomcastError> {
        self.detach_listener();
        let room = self.inner.clone();
        run(async move { room.leave().await }).await
    }
}
