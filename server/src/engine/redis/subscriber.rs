//! This node's Pub/Sub subscription: one channel per room with local members, read by one
//! task that hands each payload to the room's feed, and set up again (with a catch-up from
//! the streams) when the connection drops.

use std::sync::Weak;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use futures_util::StreamExt;
use redis::aio::{PubSub, PubSubSink};
use roomcast_core::protocol::{Message, ServerFrame};
use tokio::sync::watch;

use super::keys::{append_frame, channel, channel_room, message_frame};
use super::{RedisEngine, RedisEngineError, Result};

/// How long a join waits for a lost subscription to come back before failing.
const SUBSCRIPTION_WAIT: Duration = Duration::from_secs(3);
/// Delay between attempts to get the subscription back.
const RESUBSCRIBE_DELAY: Duration = Duration::from_millis(500);

/// Reads the subscription connection and hands each payload to the feeds; when the connection
/// drops, reconnects, subscribes again to every room with a feed (holding the sink lock, so no
/// feed is set up in between) and catches up from the streams.
pub(super) async fn run(
    engine: Weak<RedisEngine>,
    mut first: Option<PubSub>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let pubsub = match first.take() {
            Some(p) => Ok(p),
            None => match engine.upgrade() {
                Some(e) => e.client.get_async_pubsub().await,
                None => return,
            },
        };
        match pubsub {
            Ok(pubsub) => {
                let (mut sink, mut stream) = pubsub.split();
                let Some(e) = engine.upgrade() else {
                    return;
                };
                let resubscribed = {
                    let mut slot = e.sink.lock().await;
                    let rooms = e.feeds().rooms();
                    let mut ok = true;
                    for room in &rooms {
                        if let Err(err) = sink.subscribe(channel(room)).await {
                            tracing::warn!(room, error = %err, "resubscribe failed");
                            ok = false;
                            break;
                        }
                    }
                    if ok {
                        *slot = Some(sink);
                    }
                    ok && !rooms.is_empty()
                };
                if resubscribed {
                    e.catch_up().await;
                }
                drop(e);
                loop {
                    let msg = tokio::select! {
                        _ = stop.changed() => return,
                        msg = stream.next() => msg,
                    };
                    let Some(msg) = msg else {
                        break;
                    };
                    let Some(e) = engine.upgrade() else {
                        return;
                    };
                    let payload: String = match msg.get_payload() {
                        Ok(p) => p,
                        Err(_) => continue,
                    };
                    if let Some(room) = channel_room(msg.get_channel_name()) {
                        e.on_payload(room, &payload);
                    }
                }
                tracing::warn!("redis subscription lost; reconnecting");
                if let Some(e) = engine.upgrade() {
                    *e.sink.lock().await = None;
                }
            }
            Err(err) => tracing::warn!(error = %err, "redis subscription connect failed"),
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(RESUBSCRIBE_DELAY) => {}
        }
    }
}

impl RedisEngine {
    /// The subscription sink, locked; waits a little while it is being re-established.
    pub(super) async fn subscription(
        &self,
    ) -> Result<tokio::sync::MutexGuard<'_, Option<PubSubSink>>> {
        let deadline = tokio::time::Instant::now() + SUBSCRIPTION_WAIT;
        loop {
            let sink = self.sink.lock().await;
            if sink.is_some() {
                return Ok(sink);
            }
            drop(sink);
            if tokio::time::Instant::now() >= deadline {
                return Err(RedisEngineError::NoSubscription);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Unsubscribes from a room nobody here is in any more, unless a join set it up again.
    pub(super) fn unsubscribe_later(&self, room: String) {
        let Some(this) = self.weak_self() else {
            return;
        };
        tokio::spawn(async move {
            let Some(engine) = this.upgrade() else {
                return;
            };
            let mut sink = engine.sink.lock().await;
            if engine.feeds().has(&room) {
                return;
            }
            if let Some(s) = sink.as_mut() {
                if let Err(e) = s.unsubscribe(channel(&room)).await {
                    tracing::debug!(room, error = %e, "unsubscribe failed");
                }
            }
        });
    }

    /// One Pub/Sub payload: `kind|seq|origin|body`. Messages (`m`) and appends (`a`) are
    /// sequenced: they go through the room's feed in seq order.
    fn on_payload(&self, room: &str, payload: &str) {
        let mut parts = payload.splitn(4, '|');
        let (Some(kind), Some(seq), Some(origin), Some(body)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            tracing::warn!(room, "malformed channel payload");
            return;
        };
        let except = self.local_origin(origin);
        match kind {
            "m" | "a" => {
                let Ok(seq) = seq.parse::<u64>() else {
                    return;
                };
                let Some((epoch, body)) = body.split_once('|') else {
                    return;
                };
                if self.feeds().reset_on_new_epoch(room, epoch) {
                    tracing::warn!(
                        room,
                        epoch,
                        "the room's history was reset: its members reconnect"
                    );
                    self.unsubscribe_later(room.to_string());
                    return;
                }
                let spliced = if kind == "m" {
                    message_frame(room, seq, body)
                } else {
                    append_frame(room, seq, body)
                };
                let text = match spliced {
                    Some(frame) => frame,
                    None if kind == "m" => {
                        let Ok(mut message) = serde_json::from_str::<Message>(body) else {
                            tracing::warn!(room, seq, "undecodable message on the channel");
                            return;
                        };
                        message.seq = Some(seq);
                        ServerFrame::Message(message).encode()
                    }
                    None => {
                        // An append body always splices (the script joins it from parts this
                        // engine made): anything else is damage, left to the gap fill.
                        tracing::warn!(room, seq, "undecodable append on the channel");
                        return;
                    }
                };
                let text = Utf8Bytes::from(text);
                let gap = self.feeds().message(room, seq, text, except);
                if let Some(gap) = gap {
                    self.spawn_fill(gap);
                }
            }
            "p" | "e" => {
                let text = Utf8Bytes::from(body.to_string());
                self.feeds().broadcast(room, except, &text);
            }
            _ => tracing::debug!(room, kind, "unknown channel payload"),
        }
    }
}
