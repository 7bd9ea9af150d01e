//! Per-room handler registry: typed handlers, presence and error callbacks, and event streams.
//!
//! Handlers are registered once on a [`Room`](super::Room) and stay registered across
//! reconnects, because they hang off the room, not off a connection. They run on the client's
//! driver task: keep them quick, or use [`RoomEvents`] to move work elsewhere.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::machine::{Error, Gap, JoinInfo};
use crate::protocol::{Member, Message, Presence};

/// Everything about a message except its payload, handed to typed handlers beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMeta {
    pub room: String,
    /// `None` for ephemeral messages.
    pub seq: Option<u64>,
    pub id: String,
    pub event: String,
    pub from: Member,
    pub ts: u64,
}

impl MessageMeta {
    fn of(m: &Message) -> Self {
        Self {
            room: m.room.clone(),
            seq: m.seq,
            id: m.id.clone(),
            event: m.event.clone(),
            from: m.from.clone(),
            ts: m.ts,
        }
    }
}

/// A payload a typed handler could not decode. The message is not lost: raw handlers and
/// [`RoomEvents`] still saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub meta: MessageMeta,
    pub error: String,
}

/// Everything that happens in a room, as delivered to [`RoomEvents`].
#[derive(Debug, Clone, PartialEq)]
pub enum RoomEvent {
    Message(Message),
    Presence(Presence),
    /// Joined or rejoined after a reconnect.
    Joined(JoinInfo),
    /// Messages were missed and could not be replayed; see [`Gap`].
    Gap(Gap),
    DecodeError(DecodeError),
    /// The server refused to rejoin the room; it is no longer joined.
    Lost(Error),
}

type Callback = Arc<dyn Fn(&RoomEvent) -> Option<RoomEvent> + Send + Sync>;

#[derive(Default)]
pub(crate) struct RoomHub {
    next_id: AtomicU64,
    handlers: Mutex<Vec<(u64, Callback)>>,
    streams: Mutex<Vec<mpsc::UnboundedSender<RoomEvent>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked poisons nothing we rely on: the list itself stays valid.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RoomHub {
    fn add(self: &Arc<Self>, callback: Callback) -> Subscription {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        lock(&self.handlers).push((id, callback));
        Subscription {
            hub: Arc::downgrade(self),
            id: Some(id),
        }
    }

    pub(crate) fn on<T, F>(self: &Arc<Self>, event: &str, handler: F) -> Subscription
    where
        T: DeserializeOwned,
        F: Fn(T, MessageMeta) + Send + Sync + 'static,
    {
        let event = event.to_owned();
        self.add(Arc::new(move |ev| {
            let RoomEvent::Message(m) = ev else {
                return None;
            };
            if m.event != event {
                return None;
            }
            match m.data.decode::<T>() {
                Ok(value) => {
                    handler(value, MessageMeta::of(m));
                    None
                }
                Err(e) => Some(RoomEvent::DecodeError(DecodeError {
                    meta: MessageMeta::of(m),
                    error: e.to_string(),
                })),
            }
        }))
    }

    pub(crate) fn on_any<F>(self: &Arc<Self>, handler: F) -> Subscription
    where
        F: Fn(&RoomEvent) + Send + Sync + 'static,
    {
        self.add(Arc::new(move |ev| {
            handler(ev);
            None
        }))
    }

    pub(crate) fn stream(&self) -> RoomEvents {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.streams).push(tx);
        RoomEvents { rx }
    }

    /// Runs every handler on `event`, then on the decode errors they produced.
    pub(crate) fn dispatch(&self, event: RoomEvent) {
        let handlers: Vec<Callback> = lock(&self.handlers)
            .iter()
            .map(|(_, h)| h.clone())
            .collect();
        let mut follow_ups = Vec::new();
        for h in &handlers {
            follow_ups.extend(h(&event));
        }
        self.send(event);
        for follow_up in follow_ups {
            for h in &handlers {
                h(&follow_up);
            }
            self.send(follow_up);
        }
    }

    /// Ends every stream (the room was left or lost).
    pub(crate) fn end_streams(&self) {
        lock(&self.streams).clear();
    }

    fn send(&self, event: RoomEvent) {
        lock(&self.streams).retain(|tx| tx.send(event.clone()).is_ok());
    }
}

/// Keeps a handler registered; dropping it unregisters the handler. Call
/// [`detach`](Self::detach) to keep the handler for the life of the room.
#[must_use = "dropping a Subscription unregisters its handler; call .detach() to keep it"]
pub struct Subscription {
    hub: Weak<RoomHub>,
    id: Option<u64>,
}

impl Subscription {
    /// Keeps the handler registered for as long as the room exists.
    pub fn detach(mut self) {
        self.id = None;
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let (Some(id), Some(hub)) = (self.id, self.hub.upgrade()) {
            lock(&hub.handlers).retain(|(i, _)| *i != id);
        }
    }
}

/// A stream of a room's events, from [`Room::events`](super::Room::events).
pub struct RoomEvents {
    rx: mpsc::UnboundedReceiver<RoomEvent>,
}

impl RoomEvents {
    /// The next event; `None` once the room is left or the client closed.
    pub async fn recv(&mut self) -> Option<RoomEvent> {
        self.rx.recv().await
    }
}
