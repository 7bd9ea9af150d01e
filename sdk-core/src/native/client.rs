//! The public handles: [`Client`] and [`Room`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::machine::{
    Config, ConnectionState, Error, FromReply, JoinInfo, JoinOptions, Machine, OpId, PublishAck,
    PublishRequest, StoredPublish,
};
use crate::protocol::{Append, HistoryPage, Payload, StreamState};

use super::builder::ClientBuilder;
use super::driver::{Command, Driver};
use super::handlers::{DecodeError, MessageMeta, RoomEvent, RoomEvents, RoomHub, Subscription};
use super::store::Opened;
use super::token::TokenProvider;

/// A Roomcast client. Cheap to clone; every clone drives the same connection. The connection
/// closes when the last clone (and every [`Room`]) is dropped, or at [`close`](Self::close).
#[derive(Clone)]
pub struct Client {
    commands: mpsc::UnboundedSender<Command>,
    state: watch::Receiver<ConnectionState>,
    errors: broadcast::Sender<Error>,
    /// The rooms' subscribers by name, so that every handle on a room shares them. Only the
    /// handles use it; the driver keeps its own map of the joined rooms.
    hubs: Arc<Mutex<HashMap<String, Weak<RoomHub>>>>,
    /// What opening the store found damaged (whole records were kept; the damaged journal was
    /// kept aside as `journal.corrupt`).
    store_damage: Option<Error>,
}

/// Options for [`Room::publish_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishOptions {
    /// Message id; a new UUID v7 when `None`. Re-using an id makes the publish idempotent
    /// across app restarts too.
    pub id: Option<String>,
    /// Not stored, no seq, never queued (typing indicators, cursors).
    pub ephemeral: bool,
}

impl Client {
    /// Starts building a client for the server's WebSocket URL (`ws[s]://HOST:PORT/ws`).
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    pub(crate) fn start(
        runtime: &tokio::runtime::Handle,
        config: Config,
        provider: Option<Arc<dyn TokenProvider>>,
        seed: u64,
        tls: Option<Arc<rustls::ClientConfig>>,
        store: Option<Opened>,
    ) -> Self {
        let (commands, rx) = mpsc::unbounded_channel();
        let mut machine = Machine::new(config, seed);
        let (store, store_damage) = match store {
            Some(opened) => {
                let _ = machine.restore(opened.snapshot);
                (Some(Arc::new(Mutex::new(opened.store))), opened.damage)
            }
            None => (None, None),
        };
        let (state_tx, state) = watch::channel(ConnectionState::Idle);
        let (errors, _) = broadcast::channel(64);
        let driver = Driver {
            machine,
            runtime: runtime.clone(),
            tls,
            commands: rx,
            provider,
            state: state_tx,
            errors: errors.clone(),
            store,
        };
        runtime.spawn(driver.run());
        Self {
            commands,
            state,
            errors,
            hubs: Arc::default(),
            store_damage,
        }
    }

    /// Gives the machine the operation `call` now, so requests reach it in call order, and
    /// returns a future for its outcome as a `T`.
    fn request<T: FromReply>(
        &self,
        call: impl FnOnce(&mut Machine, web_time::Instant) -> OpId + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T, Error>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let sent = self
            .commands
            .send(Command::Request(Box::new(call), tx))
            .is_ok();
        async move {
            if !sent {
                return Err(Error::Closed);
            }
            rx.await.map_err(|_| Error::Closed)??.into_value()
        }
    }

    /// Gives the machine an input without an outcome.
    fn tell(&self, call: impl FnOnce(&mut Machine, web_time::Instant) + Send + 'static) {
        let _ = self.commands.send(Command::Tell(Box::new(call)));
    }

    /// Reads the machine on the driver.
    async fn query<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Machine) -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.tell(move |m, _| {
            let _ = tx.send(read(m));
        });
        rx.await.ok()
    }

    /// Connects, resolving at the first successful handshake. While the server is unreachable
    /// it keeps retrying with backoff; it fails only when the token is refused for good or the
    /// client is closed. After this, reconnects happen on their own.
    ///
    /// The request reaches the client when this is called, not when the future is first
    /// polled, so a `join` and publishes made right after it (offline too) keep their order.
    ///
    /// Optional: the first [`join`](Self::join), persisted publish or
    /// [`history`](Room::history) on a client never connected connects by itself (see
    /// [`ClientBuilder::auto_connect`](super::ClientBuilder::auto_connect)), and a `connect`
    /// made meanwhile resolves at that same handshake.
    pub fn connect(&self) -> impl std::future::Future<Output = Result<(), Error>> + Send + 'static {
        self.request::<()>(|m, now| m.connect(now))
    }

    /// A handle on `room` without joining it yet. Register handlers on it, then
    /// [`Room::join`]: handlers registered before the join also see the messages a resume
    /// replays.
    pub fn room(&self, room: &str) -> Room {
        let mut hubs = self.hubs.lock().unwrap_or_else(|p| p.into_inner());
        hubs.retain(|_, hub| hub.strong_count() > 0);
        let hub = match hubs.get(room).and_then(Weak::upgrade) {
            Some(hub) => hub,
            None => {
                let hub = Arc::new(RoomHub::default());
                hubs.insert(room.to_owned(), Arc::downgrade(&hub));
                hub
            }
        };
        drop(hubs);
        Room {
            name: room.to_owned(),
            client: self.clone(),
            hub,
        }
    }

    /// Joins `room`, resolving at the server's `joined`. The room is rejoined after every
    /// reconnect, resuming from the last message seen.
    pub async fn join(&self, room: &str) -> Result<Room, Error> {
        let room = self.room(room);
        room.join().await?;
        Ok(room)
    }

    /// The current connection state.
    pub fn state(&self) -> ConnectionState {
        *self.state.borrow()
    }

    /// A receiver of connection state changes (`changed().await`, then `borrow()`).
    pub fn state_changes(&self) -> watch::Receiver<ConnectionState> {
        self.state.clone()
    }

    /// Problems not tied to one request: token provider failures, server errors without a
    /// `ref`, undecodable frames.
    pub fn errors(&self) -> broadcast::Receiver<Error> {
        self.errors.subscribe()
    }

    /// Persisted publishes waiting for their ack.
    pub async fn queued(&self) -> usize {
        self.query(Machine::queued).await.unwrap_or(0)
    }

    /// Persisted publishes not yet acknowledged, oldest first, those restored from the store
    /// included: what an app shows as "sending".
    pub async fn pending(&self) -> Vec<StoredPublish> {
        self.query(Machine::pending).await.unwrap_or_default()
    }

    /// The damage found when the store was opened (not a torn last write, which is cut off
    /// silently): every whole record before and after it was kept, and the damaged journal
    /// was kept aside as `journal.corrupt` in the store's directory for inspection.
    pub fn store_damage(&self) -> Option<&Error> {
        self.store_damage.as_ref()
    }

    /// Replaces the token (sent at once when connected).
    pub fn set_token(&self, token: impl Into<String>) {
        let token = token.into();
        self.tell(move |m, now| m.set_token(now, token));
    }

    /// Skips the reconnect wait, e.g. when the OS reports the network back. While connected
    /// it probes the connection instead: a ping, and a new connection unless some frame
    /// arrives within 5 s (the app is back from the background, or the network changed).
    pub fn reconnect_now(&self) {
        self.tell(|m, now| m.reconnect_now(now));
    }

    /// Disconnects until [`resume`](Self::resume), keeping rooms and queued publishes.
    pub fn pause(&self) {
        self.tell(|m, now| m.pause(now));
    }

    pub fn resume(&self) {
        self.tell(|m, now| m.resume(now));
    }

    /// Closes for good. Queued publishes fail with [`Error::Closed`]; with a
    /// [store](super::ClientBuilder::store) they stay in it, their publishes fail with
    /// [`Error::Kept`], and the next client opened on it sends them. Resolves once the store
    /// has everything it must keep, and releases it.
    pub async fn close(&self) -> Result<(), Error> {
        match self.request::<()>(|m, now| m.close(now)).await {
            Ok(_) | Err(Error::Closed) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

type Ack = std::pin::Pin<Box<dyn std::future::Future<Output = Result<PublishAck, Error>> + Send>>;

/// Writes a streamed message opened with [`Room::stream`]. Each call queues its piece at once
/// (in call order, also offline); the returned futures resolve at the server's ack. Dropped
/// without an end, the stream stays open until the server's idle limit ends it `failed`.
pub struct StreamWriter {
    room: Room,
    id: String,
    /// The opening publish's ack, until [`opened`](Self::opened) takes it.
    opened: Option<Ack>,
}

impl StreamWriter {
    /// The stream's id (its opening message's), for readers' [`Room::cancel_stream`].
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The opening message's ack (its seq); resolves once, `None` after the first call.
    pub fn opened(
        &mut self,
    ) -> Option<impl std::future::Future<Output = Result<PublishAck, Error>>> {
        self.opened.take()
    }

    fn piece(
        &self,
        text: String,
        end: Option<StreamState>,
    ) -> impl std::future::Future<Output = Result<PublishAck, Error>> + Send + 'static {
        let (room, id) = (self.room.name.clone(), self.id.clone());
        self.room
            .client
            .request(move |m, now| m.append(now, &room, &id, text, end))
    }

    /// Adds `text` to the stream.
    pub fn append(
        &self,
        text: impl Into<String>,
    ) -> impl std::future::Future<Output = Result<PublishAck, Error>> + Send + 'static {
        self.piece(text.into(), None)
    }

    /// Ends the stream as complete (`done`).
    pub fn finish(
        self,
    ) -> impl std::future::Future<Output = Result<PublishAck, Error>> + Send + 'static {
        self.piece(String::new(), Some(StreamState::Done))
    }

    /// Ends the stream as `failed` (the generator broke off).
    pub fn fail(
        self,
    ) -> impl std::future::Future<Output = Result<PublishAck, Error>> + Send + 'static {
        self.piece(String::new(), Some(StreamState::Failed))
    }

    /// Ends the stream as `cancelled` (the user stopped it).
    pub fn cancel(
        self,
    ) -> impl std::future::Future<Output = Result<PublishAck, Error>> + Send + 'static {
        self.piece(String::new(), Some(StreamState::Cancelled))
    }
}

/// A joined room. Cheap to clone. Handlers registered here survive reconnects.
#[derive(Clone)]
pub struct Room {
    name: String,
    client: Client,
    hub: Arc<RoomHub>,
}

impl Room {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The client this room belongs to.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Publishes a persisted message with a fresh UUID v7 id. Queued while offline and
    /// re-sent after reconnects until the server acknowledges it; resolves with its seq.
    ///
    /// The message is queued when this is called, not when the future is first polled, so
    /// publishes keep the order of the calls even when their futures are awaited elsewhere.
    pub fn publish<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> impl std::future::Future<Output = Result<PublishAck, Error>> + Send + 'static {
        self.publish_with(event, data, PublishOptions::default())
    }

    /// Publishes an ephemeral message: delivered to members present now, not stored, and
    /// failing at once with [`Error::NotConnected`] when offline.
    pub fn publish_ephemeral<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> impl std::future::Future<Output = Result<PublishAck, Error>> + Send + 'static {
        let options = PublishOptions {
            ephemeral: true,
            ..PublishOptions::default()
        };
        self.publish_with(event, data, options)
    }

    pub fn publish_with<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
        options: PublishOptions,
    ) -> impl std::future::Future<Output = Result<PublishAck, Error>> + Send + 'static {
        let encoded = Payload::encode(data).map_err(|e| Error::InvalidPayload(e.to_string()));
        let reply = encoded.map(|data| self.publish_payload(event, data, options));
        async move { reply?.await }
    }

    /// Publishes an already encoded payload (bindings pass the app's JSON text this way).
    pub fn publish_payload(
        &self,
        event: &str,
        data: Payload,
        options: PublishOptions,
    ) -> impl std::future::Future<Output = Result<PublishAck, Error>> + Send + 'static {
        let req = PublishRequest {
            room: self.name.clone(),
            id: options
                .id
                .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            event: event.to_owned(),
            data,
            ephemeral: options.ephemeral,
            stream: false,
        };
        self.client.request(move |m, now| m.publish(now, req))
    }

    /// Opens a streamed message (an assistant's reply, a job's log): `data` is published as
    /// its opening message, and its text then grows with [`StreamWriter::append`]. Readers see
    /// the opening message with the text so far, then each piece once, in order, then the end;
    /// a reader that joins late, reconnects or restarts gets the text it misses in one piece.
    /// Like [`publish`](Self::publish), everything is queued when called (also offline) and,
    /// with a store, kept until acknowledged.
    pub fn stream<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<StreamWriter, Error> {
        let data = Payload::encode(data).map_err(|e| Error::InvalidPayload(e.to_string()))?;
        let id = uuid::Uuid::now_v7().to_string();
        let req = PublishRequest {
            room: self.name.clone(),
            id: id.clone(),
            event: event.to_owned(),
            data,
            ephemeral: false,
            stream: true,
        };
        let opened = self.client.request(move |m, now| m.publish(now, req));
        Ok(StreamWriter {
            room: self.clone(),
            id,
            opened: Some(Box::pin(opened)),
        })
    }

    /// Ends another member's stream `id` (its opening message's id) as cancelled: the server
    /// stores the end in this member's name. Resolves with the stream's final piece's ack,
    /// also when it had already ended.
    pub fn cancel_stream(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<PublishAck, Error>> + Send + 'static {
        let (room, id) = (self.name.clone(), id.to_owned());
        self.client.request(move |m, now| m.cancel(now, &room, &id))
    }

    /// Calls `handler` with each piece of the room's streamed messages: its text goes after
    /// what the stream's opening message (`stream.text`) and earlier pieces had. Pieces of a
    /// stream come once and in order, the last with `end` set.
    pub fn on_append<F>(&self, handler: F) -> Subscription
    where
        F: Fn(&Append) + Send + Sync + 'static,
    {
        self.hub.on_any(move |ev| {
            if let RoomEvent::Append(a) = ev {
                handler(a);
            }
        })
    }

    /// Calls `handler` with each `event` message decoded as `T`. A payload that does not
    /// decode goes to [`on_error`](Self::on_error) handlers instead; it never stops anything.
    ///
    /// Handlers run off the client's connection task, on tokio's blocking pool: one event at
    /// a time per room, in order, and a handler may block without delaying pings, acks or
    /// other rooms. A room whose handlers fall far behind stops taking messages until they
    /// catch up, then gets what it skipped paged in from the server: nothing stored is lost.
    pub fn on<T, F>(&self, event: &str, handler: F) -> Subscription
    where
        T: DeserializeOwned,
        F: Fn(T, MessageMeta) + Send + Sync + 'static,
    {
        self.hub.on(event, handler)
    }

    /// Calls `handler` when a member joins or leaves.
    pub fn on_presence<F>(&self, handler: F) -> Subscription
    where
        F: Fn(&crate::protocol::Presence) + Send + Sync + 'static,
    {
        self.hub.on_any(move |ev| {
            if let RoomEvent::Presence(p) = ev {
                handler(p);
            }
        })
    }

    /// Calls `handler` with payloads a typed handler could not decode.
    pub fn on_error<F>(&self, handler: F) -> Subscription
    where
        F: Fn(&DecodeError) + Send + Sync + 'static,
    {
        self.hub.on_any(move |ev| {
            if let RoomEvent::DecodeError(e) = ev {
                handler(e);
            }
        })
    }

    /// Calls `handler` with every room event.
    pub fn on_event<F>(&self, handler: F) -> Subscription
    where
        F: Fn(&RoomEvent) + Send + Sync + 'static,
    {
        self.hub.on_any(handler)
    }

    /// Calls `handler` once the room's events end: the room was left or lost, or the client
    /// closed. Handlers registered with `on*` stay registered for a later join; streams end.
    pub fn on_end<F>(&self, handler: F) -> Subscription
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.hub.on_end(handler)
    }

    /// A stream of every room event from now on; it ends when the room is left or lost, or
    /// the client closes.
    pub fn events(&self) -> RoomEvents {
        self.hub.stream()
    }

    /// Stored messages with `seq < before` (the newest without `before`), ascending. On a
    /// client never connected it connects first; offline it fails with `NotConnected`.
    pub async fn history(&self, before: Option<u64>, limit: u32) -> Result<HistoryPage, Error> {
        let room = self.name.clone();
        self.client
            .request(move |m, now| m.history(now, &room, before, limit))
            .await
    }

    /// Joins the room (see [`Client::room`]); resolves at the server's `joined` with the head
    /// seq, epoch and presence.
    ///
    /// Like [`publish`](Self::publish), the join is requested when this is called: publishes
    /// made right after it are queued for the room even before the future resolves.
    pub fn join(
        &self,
    ) -> impl std::future::Future<Output = Result<JoinInfo, Error>> + Send + 'static {
        self.join_with(JoinOptions::default())
    }

    /// Joins with options: resume after a position the app stored (`since` in `epoch`; the
    /// server first replays what came after it), and the [`ResumeMode`](crate::ResumeMode).
    pub fn join_with(
        &self,
        options: JoinOptions,
    ) -> impl std::future::Future<Output = Result<JoinInfo, Error>> + Send + 'static {
        let attach = Command::Attach(self.name.clone(), self.hub.clone());
        let _ = self.client.commands.send(attach);
        let room = self.name.clone();
        self.client
            .request(move |m, now| m.join(now, &room, options))
    }

    /// Leaves the room; its streams end. Handlers stay on this handle for a later `join`.
    pub async fn leave(&self) -> Result<(), Error> {
        let room = self.name.clone();
        let left = self.client.request::<()>(move |m, now| m.leave(now, &room));
        // The machine stops the room's messages at once; its streams end after those already
        // handed over.
        let _ = self
            .client
            .commands
            .send(Command::Detach(self.name.clone()));
        left.await
    }
}
