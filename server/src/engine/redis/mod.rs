//! The Redis engine (`--redis`): history, seq, epoch, fan-out and presence in Redis, so several
//! nodes serve the same rooms.
//!
//! A publish is one Lua script: dedup by id, `HINCRBY head`, `XADD`, and `PUBLISH`, atomic, so
//! seqs are gapless, idempotency holds across nodes, and the channel carries each room's
//! messages in seq order. A stream's append is one script too, in the same seq order. The ack is sent only once the script returned. Each node delivers a
//! room to its local members through [`feed`]: in seq order, exactly once, gaps filled from
//! the stream.
//!
//! - `keys`: the keys, the Lua scripts, a message's form in the stream and on the channel;
//! - `publish`: persisted and ephemeral publishes; `streams`: appends, cancels, the idle end
//!   (one script each, like publish) and folding streams into their opening messages;
//! - `membership`: joins and leaves; `presence`: who is in a room, across nodes;
//! - `subscriber`: the Pub/Sub subscription feeding [`feed`]; `history`: reads of the stream
//!   (replay, gap fills, catch-up, `history`, `/stats`); `retention`: trimming streams and
//!   their dedup entries together.

mod admin;
pub mod feed;
mod history;
mod keys;
mod membership;
mod presence;
mod publish;
mod retention;
mod streams;
mod subscriber;

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, PubSubSink};
use redis::{RedisError, Script};
use thiserror::Error;
use tokio::sync::watch;

use crate::engine::{new_epoch, StreamLimits};
use crate::outbound::ConnId;
use feed::Feeds;
use keys::{APPEND_LUA, HEAD_LUA, PUBLISH_LUA};

/// Redis engine failures.
#[derive(Debug, Error)]
pub enum RedisEngineError {
    #[error("redis: {0}")]
    Redis(#[from] RedisError),
    #[error("redis: no subscription connection right now")]
    NoSubscription,
    #[error("redis: unexpected reply: {0}")]
    Reply(String),
    #[error("redis: no connection to {0} within {CONNECT_TIMEOUT:?}")]
    ConnectTimeout(String),
}

/// How long startup waits for Redis before giving up (the client would retry for ever).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type Result<T, E = RedisEngineError> = std::result::Result<T, E>;

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Settings of the engine.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: String,
    pub replay_limit: u32,
    pub presence_ttl_ms: u64,
    /// Frames held for one joiner before it is cut (the outbound queue's size).
    pub held_cap: usize,
    /// The stream rules' limits (text size, idle end).
    pub limits: StreamLimits,
    /// How much history each room keeps (`retention`).
    pub retention: crate::retention::Retention,
    /// What retention removed.
    pub trims: Arc<crate::retention::RetentionCounters>,
}

/// One node's connection to the shared Redis.
pub struct RedisEngine {
    /// This node's id, part of every origin and presence entry.
    node: String,
    client: redis::Client,
    conn: ConnectionManager,
    feeds: Mutex<Feeds>,
    /// The subscription side; also serializes feed setup against (re)subscription.
    sink: tokio::sync::Mutex<Option<PubSubSink>>,
    publish: Script,
    append: Script,
    head: Script,
    limits: StreamLimits,
    replay_limit: u64,
    presence_ttl_ms: u64,
    /// Retention (`retention`).
    trim: retention::Trim,
    stop: watch::Sender<bool>,
    /// Itself, for the tasks it spawns (which must not keep it alive).
    me: Weak<Self>,
}

impl std::fmt::Debug for RedisEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisEngine")
            .field("node", &self.node)
            .finish()
    }
}

impl RedisEngine {
    /// Connects (commands and subscription) and starts the background tasks.
    pub async fn start(settings: RedisSettings) -> Result<Arc<Self>> {
        let client = redis::Client::open(settings.url.as_str())?;
        let connect = async {
            let mut conn = ConnectionManager::new(client.clone()).await?;
            let _: String = redis::cmd("PING").query_async(&mut conn).await?;
            let pubsub = client.get_async_pubsub().await?;
            Ok::<_, RedisEngineError>((conn, pubsub))
        };
        let (conn, pubsub) = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| RedisEngineError::ConnectTimeout(redacted(&settings.url)))??;
        let (stop, stop_rx) = watch::channel(false);
        let engine = Arc::new_cyclic(|me| RedisEngine {
            me: me.clone(),
            // A random id, unique enough among the nodes of one Redis.
            node: new_epoch(),
            client,
            conn,
            feeds: Mutex::new(Feeds::new(settings.held_cap)),
            sink: tokio::sync::Mutex::new(None),
            publish: Script::new(PUBLISH_LUA),
            append: Script::new(APPEND_LUA),
            head: Script::new(HEAD_LUA),
            limits: settings.limits,
            replay_limit: u64::from(settings.replay_limit),
            presence_ttl_ms: settings.presence_ttl_ms,
            trim: retention::Trim::new(settings.retention, settings.trims),
            stop,
        });
        tracing::info!(node = %engine.node, "redis engine connected");
        tokio::spawn(subscriber::run(
            Arc::downgrade(&engine),
            Some(pubsub),
            stop_rx.clone(),
        ));
        if engine.trim.active() {
            tokio::spawn(retention::run(Arc::downgrade(&engine), stop_rx.clone()));
        }
        tokio::spawn(presence::keeper(Arc::downgrade(&engine), stop_rx.clone()));
        tokio::spawn(streams::idle_keeper(Arc::downgrade(&engine), stop_rx));
        Ok(engine)
    }

    /// Stops the background tasks (members were removed by their connections' cleanup).
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }

    fn feeds(&self) -> MutexGuard<'_, Feeds> {
        self.feeds.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `node:conn`: who published a payload, or whose a presence entry is.
    fn origin(&self, conn: ConnId) -> String {
        format!("{}:{conn}", self.node)
    }

    /// The local connection to spare, when `origin` is one of ours.
    fn local_origin(&self, origin: &str) -> Option<ConnId> {
        let (node, conn) = origin.split_once(':')?;
        (node == self.node).then(|| conn.parse().ok()).flatten()
    }

    /// Every room with stored messages (`rc:rooms`).
    pub async fn rooms(&self) -> Result<Vec<String>> {
        let mut rooms: Vec<String> = redis::cmd("SMEMBERS")
            .arg(keys::ROOMS_KEY)
            .query_async(&mut self.conn.clone())
            .await
            .map(crate::metrics::redis_ok)
            .map_err(crate::metrics::redis_error)?;
        rooms.sort();
        Ok(rooms)
    }

    /// Rooms with members on this node.
    pub fn local_rooms(&self) -> usize {
        self.feeds().room_count()
    }

    fn weak_self(&self) -> Option<Weak<Self>> {
        Some(self.me.clone())
    }

    /// One `PING` round trip on the shared connection, for `/health`.
    pub async fn ping(&self) -> Result<()> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await
            .map(crate::metrics::redis_ok)
            .map_err(crate::metrics::redis_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::keys::{channel, channel_room};
    use super::*;

    #[test]
    fn names_and_redaction() {
        assert_eq!(channel_room(&channel("conv-1")), Some("conv-1"));
        assert_eq!(channel_room("other"), None);
        assert_eq!(redacted("redis://u:pw@h:1/0"), "redis://***@h:1/0");
        assert_eq!(redacted("redis://h:1"), "redis://h:1");
    }
}
