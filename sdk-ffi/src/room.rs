//! [`Room`]: the exported handle over `roomcast_core::Room`: the core's room handle, its
//! subscriptions and its join, one for one.

use std::sync::{Arc, Mutex};

use roomcast_core::{Payload, PublishOptions};

use crate::error::RoomcastError;
use crate::listeners::{deliver, RoomListener, StreamListener};
use crate::runtime::run;
use crate::subscription::Subscription;
use crate::types::{HistoryPage, JoinInfo, PublishAck, ResumeMode, StreamPiece};

/// A room of a client, from `Client::room` (or joined at once by `Client::join`). Register
/// listeners with [`subscribe`](Self::subscribe), then [`join`](Self::join): listeners
/// registered before the join also see what a resume replays. Listeners stay registered until
/// their [`Subscription`] is cancelled or released, across leaves and later joins.
#[derive(uniffi::Object)]
pub struct Room {
    inner: roomcast_core::Room,
    /// The listener `Client::join` registered; released at `leave`.
    listener: Mutex<Option<roomcast_core::Subscription>>,
}

impl Room {
    pub(crate) fn new(inner: roomcast_core::Room) -> Self {
        Self {
            inner,
            listener: Mutex::new(None),
        }
    }

    /// Wraps a core room handle and registers `listener` on it for the room's life (before
    /// any join, so that a resume's replay reaches it).
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
        let subscription = crate::lock(&self.listener).take();
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

    /// Registers `listener` for the room's events until the returned subscription is
    /// cancelled or released. Listeners run on the SDK's background threads, one event at a
    /// time per room, in order; `on_end` tells when the events end (left, lost, closed).
    pub fn subscribe(&self, listener: Arc<dyn RoomListener>) -> Arc<Subscription> {
        let events = listener.clone();
        let on_event = self
            .inner
            .on_event(move |event| deliver(events.as_ref(), event));
        let on_end = self.inner.on_end(move || listener.on_end());
        Arc::new(Subscription::room(vec![on_event, on_end]))
    }

    /// Registers `listener` for the pieces of the room's streamed messages, until the
    /// returned subscription is cancelled or released.
    pub fn on_append(&self, listener: Arc<dyn StreamListener>) -> Arc<Subscription> {
        let on_append = self
            .inner
            .on_append(move |a| listener.on_append(StreamPiece::from(a.clone())));
        Arc::new(Subscription::room(vec![on_append]))
    }

    /// Opens a streamed message (an assistant's reply): `data_json` is published as its
    /// opening message, and its text grows with the writer's `append`. Readers see the opening
    /// message with the text so far, then each piece once, in order, then the end, across
    /// reconnects and restarts. Queued at once, like `publish`.
    pub fn stream(
        &self,
        event: String,
        data_json: String,
    ) -> Result<Arc<StreamWriter>, RoomcastError> {
        let data = Self::parse(data_json)?;
        let mut writer = self.inner.stream(&event, &data)?;
        let opened = writer.opened();
        Ok(Arc::new(StreamWriter {
            id: writer.id().to_owned(),
            opened: Mutex::new(opened.map(|f| Box::pin(f) as Ack)),
            writer: Mutex::new(Some(writer)),
        }))
    }

    /// Ends another member's stream `id` as cancelled (the server stores the end in this
    /// member's name); returns the ack of the stream's final piece, also when it had ended.
    pub async fn cancel_stream(&self, id: String) -> Result<PublishAck, RoomcastError> {
        let cancel = self.inner.cancel_stream(&id);
        run(cancel).await.map(PublishAck::from)
    }

    /// Joins the room, returning at the server's `joined`. After a reconnect it is rejoined
    /// and resumed on its own, as `resume` says (default: every missed message, paged in past
    /// the server's replay limit). Publishes made before the answer are queued for the room.
    #[uniffi::method(default(resume = None))]
    pub async fn join(&self, resume: Option<ResumeMode>) -> Result<JoinInfo, RoomcastError> {
        let options = roomcast_core::JoinOptions {
            resume: resume.unwrap_or_default().into(),
            ..roomcast_core::JoinOptions::default()
        };
        let joining = self.inner.join_with(options);
        run(joining).await.map(JoinInfo::from)
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
    /// `limit` (the server caps it at 500). On a client never connected it connects first;
    /// offline it fails with `NotConnected`.
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

    /// Leaves the room: messages stop, queued publishes to it fail with `NotJoined`,
    /// subscribed listeners get `on_end` (and stay registered for a later `join`), and the
    /// listener given to `Client::join` is released.
    pub async fn leave(&self) -> Result<(), RoomcastError> {
        self.detach_listener();
        let room = self.inner.clone();
        run(async move { room.leave().await }).await
    }
}

type Ack = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<roomcast_core::PublishAck, roomcast_core::Error>>
            + Send,
    >,
>;

/// Writes a streamed message opened with `Room::stream`. Each call queues its piece at once,
/// in call order (also offline); the returned result comes with the server's ack. After
/// `finish`, `fail` or `cancel`, further calls fail with `StreamEnded`.
#[derive(uniffi::Object)]
pub struct StreamWriter {
    id: String,
    opened: Mutex<Option<Ack>>,
    writer: Mutex<Option<roomcast_core::StreamWriter>>,
}

impl StreamWriter {
    fn ended(&self) -> RoomcastError {
        RoomcastError::from(roomcast_core::Error::Server {
            code: roomcast_core::protocol::ErrorCode::StreamEnded,
            message: format!("stream {} was ended by this writer", self.id),
        })
    }

    async fn end(&self, how: roomcast_core::StreamState) -> Result<PublishAck, RoomcastError> {
        let writer = crate::lock(&self.writer)
            .take()
            .ok_or_else(|| self.ended())?;
        let ack: Ack = match how {
            roomcast_core::StreamState::Failed => Box::pin(writer.fail()),
            roomcast_core::StreamState::Cancelled => Box::pin(writer.cancel()),
            _ => Box::pin(writer.finish()),
        };
        run(ack).await.map(PublishAck::from)
    }
}

#[uniffi::export]
impl StreamWriter {
    /// The stream's id (its opening message's), for readers' `Room::cancel_stream`.
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// The opening message's ack (its `seq`); the first call waits for it, later ones fail.
    pub async fn opened(&self) -> Result<PublishAck, RoomcastError> {
        let opened =
            crate::lock(&self.opened)
                .take()
                .ok_or_else(|| RoomcastError::InvalidPayload {
                    reason: "the opening ack was taken already".into(),
                })?;
        run(opened).await.map(PublishAck::from)
    }

    /// Adds `text` to the stream.
    pub async fn append(&self, text: String) -> Result<PublishAck, RoomcastError> {
        let ack = {
            let guard = crate::lock(&self.writer);
            let writer = guard.as_ref().ok_or_else(|| self.ended())?;
            writer.append(text)
        };
        run(ack).await.map(PublishAck::from)
    }

    /// Ends the stream as complete (`done`).
    pub async fn finish(&self) -> Result<PublishAck, RoomcastError> {
        self.end(roomcast_core::StreamState::Done).await
    }

    /// Ends the stream as `failed` (the generator broke off).
    pub async fn fail(&self) -> Result<PublishAck, RoomcastError> {
        self.end(roomcast_core::StreamState::Failed).await
    }

    /// Ends the stream as `cancelled` (the user stopped it).
    pub async fn cancel(&self) -> Result<PublishAck, RoomcastError> {
        self.end(roomcast_core::StreamState::Cancelled).await
    }
}
