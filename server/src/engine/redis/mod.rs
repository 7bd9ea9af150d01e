//! The Redis engine (`--redis`): history, seq, epoch, fan-out and presence in Redis, so several
//! nodes serve the same rooms.
//!
//! Keys of room R (the `{R}` hash tag keeps a room's keys in one cluster slot):
//! - `rc:{R}:meta` hash: `epoch`, `head` (last seq);
//! - `rc:{R}:ids` hash: message id → `seq:ts` (idempotency across nodes);
//! - `rc:{R}:log` stream: entry id `<seq>-1`, fields `m` (the message as JSON, without seq)
//!   and `o` (the publishing `node:conn`, so that node does not echo it back);
//! - `rc:{R}:presence` sorted set: `node:conn|member JSON`, scored by expiry (Unix ms);
//! - `rc:{R}:ch` Pub/Sub channel; `rc:rooms` set of room names (for `/stats`).
//!
//! A publish is one Lua script: dedup by id, `HINCRBY head`, `XADD`, and `PUBLISH`, atomic, so
//! seqs are gapless, idempotency holds across nodes, and the channel carries each room's
//! messages in seq order. The ack is sent only once the script returned. Each node delivers a
//! room to its local members through [`feed`]: in seq order, exactly once, gaps filled from
//! the stream.

pub mod feed;

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, PubSub, PubSubSink};
use redis::streams::StreamRangeReply;
use redis::{RedisError, Script, Value};
use roomcast_core::protocol::json::{self, push_str, push_u64, Object};
use roomcast_core::protocol::{
    write_message, ErrorCode, Left, Member, Message, Presence, PresenceKind, ServerFrame,
};
use thiserror::Error;
use tokio::sync::watch;

use crate::engine::{
    internal_error, new_epoch, AppendCmd, JoinCmd, PublishCmd, StoreStats, Stored,
};

/// The answer to a stream request under `--redis`, where streams are not built yet.
const STREAMS_UNSUPPORTED: &str = "streamed messages are not available with --redis yet";
use crate::outbound::{ConnId, Outbound};
use crate::validate::now_ms;
use feed::{Added, Feeds, Gap};

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

/// How long a join waits for a lost subscription to come back before failing.
const SUBSCRIPTION_WAIT: Duration = Duration::from_secs(3);
/// How long startup waits for Redis before giving up (the client would retry for ever).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type Result<T, E = RedisEngineError> = std::result::Result<T, E>;

/// Dedup by id, next seq, append, publish: one atomic step.
/// KEYS: meta, ids, log, rooms. ARGV: id, ts, message JSON, origin, new epoch, channel, room.
const PUBLISH_LUA: &str = r"
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  local sep = string.find(old, ':', 1, true)
  return {tonumber(string.sub(old, 1, sep - 1)), tonumber(string.sub(old, sep + 1)), 1}
end
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[5])
local seq = redis.call('HINCRBY', KEYS[1], 'head', 1)
redis.call('XADD', KEYS[3], seq .. '-1', 'm', ARGV[3], 'o', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], seq .. ':' .. ARGV[2])
redis.call('SADD', KEYS[4], ARGV[7])
local epoch = redis.call('HGET', KEYS[1], 'epoch')
redis.call('PUBLISH', ARGV[6], 'm|' .. seq .. '|' .. ARGV[4] .. '|' .. epoch .. '|' .. ARGV[3])
return {seq, tonumber(ARGV[2]), 0}
";

/// The room's epoch (made on first use) and head. KEYS: meta. ARGV: new epoch.
const HEAD_LUA: &str = r"
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local v = redis.call('HMGET', KEYS[1], 'epoch', 'head')
return {v[1], tonumber(v[2] or '0')}
";

const ROOMS_KEY: &str = "rc:rooms";
/// `origin` of a message no local connection should be spared (HTTP, expiry).
const NO_ORIGIN: &str = "-";

fn meta_key(room: &str) -> String {
    format!("rc:{{{room}}}:meta")
}
fn ids_key(room: &str) -> String {
    format!("rc:{{{room}}}:ids")
}
fn log_key(room: &str) -> String {
    format!("rc:{{{room}}}:log")
}
fn presence_key(room: &str) -> String {
    format!("rc:{{{room}}}:presence")
}
fn channel(room: &str) -> String {
    format!("rc:{{{room}}}:ch")
}
/// The room of a channel name.
fn channel_room(ch: &str) -> Option<&str> {
    ch.strip_prefix("rc:{")?.strip_suffix("}:ch")
}

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
    head: Script,
    replay_limit: u64,
    presence_ttl_ms: u64,
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

fn presence_frame(room: &str, event: PresenceKind, member: &Member) -> String {
    ServerFrame::Presence(Presence {
        room: room.to_string(),
        event,
        member: member.clone(),
    })
    .encode()
}

/// A stream entry as `(seq, message, origin)`.
fn parse_entry(
    room: &str,
    id: &str,
    map: &std::collections::HashMap<String, Value>,
) -> Option<(u64, Message, String)> {
    let seq: u64 = id.split('-').next()?.parse().ok()?;
    let json: String = redis::from_redis_value(map.get("m")?).ok()?;
    let origin: String = map
        .get("o")
        .and_then(|v| redis::from_redis_value(v).ok())
        .unwrap_or_else(|| NO_ORIGIN.to_string());
    let mut message: Message = serde_json::from_str(&json).ok()?;
    message.seq = Some(seq);
    message.room = room.to_string();
    Some((seq, message, origin))
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
            node: new_epoch(),
            client,
            conn,
            feeds: Mutex::new(Feeds::new(settings.held_cap)),
            sink: tokio::sync::Mutex::new(None),
            publish: Script::new(PUBLISH_LUA),
            head: Script::new(HEAD_LUA),
            replay_limit: u64::from(settings.replay_limit),
            presence_ttl_ms: settings.presence_ttl_ms,
            stop,
        });
        tracing::info!(node = %engine.node, "redis engine connected");
        tokio::spawn(subscriber(
            Arc::downgrade(&engine),
            Some(pubsub),
            stop_rx.clone(),
        ));
        tokio::spawn(presence_keeper(Arc::downgrade(&engine), stop_rx));
        Ok(engine)
    }

    /// Stops the background tasks (members were removed by their connections' cleanup).
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }

    fn feeds(&self) -> MutexGuard<'_, Feeds> {
        self.feeds.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn origin(&self, conn: ConnId) -> String {
        format!("{}:{conn}", self.node)
    }

    /// The local connection to spare, when `origin` is one of ours.
    fn local_origin(&self, origin: &str) -> Option<ConnId> {
        let (node, conn) = origin.split_once(':')?;
        (node == self.node).then(|| conn.parse().ok()).flatten()
    }

    /// Rooms with members on this node.
    pub fn local_rooms(&self) -> usize {
        self.feeds().room_count()
    }

    // ----- publishing -----

    /// Stores a persisted publish (atomic script), then acks. The broadcast goes out from the
    /// script itself, through the channel, to every node.
    pub async fn publish(&self, p: PublishCmd) {
        if p.stream {
            p.origin
                .refuse(ErrorCode::BadRequest, STREAMS_UNSUPPORTED.into(), None);
            return;
        }
        match self.store(&p).await {
            Ok(stored) => p.origin.ack(p.id, stored, None),
            Err(e) => {
                tracing::error!(room = %p.room, id = %p.id, error = %e, "publish failed");
                p.origin.fail(&p.id, None);
            }
        }
    }

    /// Streams are not built for Redis yet: every append and cancel is refused.
    pub async fn append(&self, a: AppendCmd) {
        a.origin
            .refuse(ErrorCode::BadRequest, STREAMS_UNSUPPORTED.into(), None);
    }

    async fn store(&self, p: &PublishCmd) -> Result<Stored> {
        let ts = now_ms();
        let origin = p
            .origin
            .conn()
            .map_or_else(|| NO_ORIGIN.to_string(), |conn| self.origin(conn));
        let message = Message {
            room: p.room.clone(),
            seq: None,
            id: p.id.clone(),
            event: p.event.clone(),
            data: p.data.clone(),
            from: p.from.clone(),
            ts,
            stream: None,
        };
        let json = message_json(&message);
        let (seq, ts, dup): (u64, u64, u8) = self
            .publish
            .key(meta_key(&p.room))
            .key(ids_key(&p.room))
            .key(log_key(&p.room))
            .key(ROOMS_KEY)
            .arg(&p.id)
            .arg(ts)
            .arg(json)
            .arg(origin)
            .arg(new_epoch())
            .arg(channel(&p.room))
            .arg(&p.room)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(Stored::published(seq, ts, dup != 0))
    }

    /// An ephemeral message: through the channel to every node's members but the sender.
    pub async fn ephemeral(&self, room: &str, conn: ConnId, text: &str) {
        let payload = format!("e|0|{}|{text}", self.origin(conn));
        self.announce(room, &payload).await;
    }

    // ----- joining and leaving -----

    /// Answers a join: replay up to the local head, `joined`, then live (see [`feed`]).
    pub async fn join(&self, j: JoinCmd) {
        let (head, epoch, fresh) = match self.enter(&j.room, &j.member, &j.out).await {
            Ok(entered) => entered,
            Err(e) => {
                tracing::error!(room = %j.room, error = %e, "join failed");
                j.out.send(&internal_error(j.ref_id, "store error"));
                return;
            }
        };
        if let Err(e) = self.finish_join(&j, head, epoch, fresh).await {
            tracing::error!(room = %j.room, error = %e, "join failed");
            if fresh {
                // Undo the membership this join added (a repeated join leaves it alone).
                let conn = j.out.conn();
                let removed = self.feeds().remove(&j.room, conn);
                if let Some((member, empty)) = removed {
                    self.drop_presence(&j.room, conn, &member).await;
                    if empty {
                        self.unsubscribe_later(j.room.clone());
                    }
                }
            }
            j.out.send(&internal_error(j.ref_id, "store error"));
        }
    }

    /// Presence, replay and `joined` for a member [`enter`](Self::enter) found or added.
    async fn finish_join(&self, j: &JoinCmd, head: u64, epoch: String, fresh: bool) -> Result<()> {
        let conn = j.out.conn();
        let entry = format!(
            "{}|{}",
            self.origin(conn),
            serde_json::to_string(&j.member).map_err(|e| RedisEngineError::Reply(e.to_string()))?
        );
        if fresh {
            let _: i64 = redis::cmd("ZADD")
                .arg(presence_key(&j.room))
                .arg(now_ms().saturating_add(self.presence_ttl_ms))
                .arg(&entry)
                .query_async(&mut self.conn.clone())
                .await?;
        }
        let presence = self.presence(&j.room).await?;
        let (replay, recovered) = if fresh {
            self.replay(&j.room, j.since, j.epoch.as_deref(), head, &epoch)
                .await?
        } else {
            (Vec::new(), true)
        };
        let joined = j.joined(head, epoch, recovered, presence).encode();
        if !fresh {
            j.out.send_text(Utf8Bytes::from(joined));
            return Ok(());
        }
        let mut frames: Vec<Utf8Bytes> = replay
            .into_iter()
            .map(|m| Utf8Bytes::from(ServerFrame::Message(m).encode()))
            .collect();
        frames.push(Utf8Bytes::from(joined));
        self.feeds().release(&j.room, conn, frames);
        let text = presence_frame(&j.room, PresenceKind::Join, &j.member);
        self.announce(&j.room, &format!("p|0|{}|{text}", self.origin(conn)))
            .await;
        Ok(())
    }

    /// Adds the joiner to the room's feed, setting the feed up first when it is new:
    /// subscribe, and only then read the head, so every message after the head reaches this
    /// node through the channel. Returns `(head, epoch, newly added)`.
    async fn enter(
        &self,
        room: &str,
        member: &Member,
        out: &Outbound,
    ) -> Result<(u64, String, bool)> {
        let add = |this: &Self| this.feeds().add_held(room, member.clone(), out.clone());
        match add(self) {
            Added::Held { head, epoch } => return Ok((head, epoch, true)),
            Added::Already { head, epoch } => return Ok((head, epoch, false)),
            Added::NoFeed => {}
        }
        let mut sink = self.subscription().await?;
        match add(self) {
            Added::Held { head, epoch } => return Ok((head, epoch, true)),
            Added::Already { head, epoch } => return Ok((head, epoch, false)),
            Added::NoFeed => {}
        }
        self.feeds().create(room);
        let setup = async {
            let s = sink.as_mut().ok_or(RedisEngineError::NoSubscription)?;
            s.subscribe(channel(room)).await?;
            let (epoch, head): (String, u64) = self
                .head
                .key(meta_key(room))
                .arg(new_epoch())
                .invoke_async(&mut self.conn.clone())
                .await?;
            Ok::<_, RedisEngineError>((epoch, head))
        };
        match setup.await {
            Ok((epoch, head)) => {
                let gap = self.feeds().init(room, head, epoch);
                if let Some(gap) = gap {
                    self.spawn_fill(gap);
                }
            }
            Err(e) => {
                self.feeds().abandon(room);
                return Err(e);
            }
        }
        drop(sink);
        match add(self) {
            Added::Held { head, epoch } => Ok((head, epoch, true)),
            Added::Already { head, epoch } => Ok((head, epoch, false)),
            Added::NoFeed => Err(RedisEngineError::Reply("room feed vanished".into())),
        }
    }

    /// The subscription sink, locked; waits a little while it is being re-established.
    async fn subscription(&self) -> Result<tokio::sync::MutexGuard<'_, Option<PubSubSink>>> {
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

    /// Messages `since < seq <= head` (newest `replay_limit`), and whether that is all of them.
    async fn replay(
        &self,
        room: &str,
        since: Option<u64>,
        their_epoch: Option<&str>,
        head: u64,
        epoch: &str,
    ) -> Result<(Vec<Message>, bool)> {
        let since = match (since, their_epoch) {
            (None, _) => return Ok((Vec::new(), true)),
            (Some(_), Some(e)) if e != epoch => return Ok((Vec::new(), false)),
            (Some(s), _) if s == head => return Ok((Vec::new(), true)),
            // Above the head in the same epoch: Redis went back (an older snapshot) and lost
            // messages the client had. Nothing to replay; not recovered.
            (Some(s), _) if s > head => return Ok((Vec::new(), false)),
            (Some(s), _) => s,
        };
        let start = since.max(head.saturating_sub(self.replay_limit));
        let rows = self.range(room, start, head).await?;
        let complete = start == since && u64::try_from(rows.len()).is_ok_and(|n| n == head - since);
        Ok((rows.into_iter().map(|(_, m, _)| m).collect(), complete))
    }

    /// Stream entries `after < seq <= upto`, ascending.
    async fn range(
        &self,
        room: &str,
        after: u64,
        upto: u64,
    ) -> Result<Vec<(u64, Message, String)>> {
        if upto <= after {
            return Ok(Vec::new());
        }
        let reply: StreamRangeReply = redis::cmd("XRANGE")
            .arg(log_key(room))
            .arg(format!("{}-0", after + 1))
            .arg(format!("{upto}-1"))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(reply
            .ids
            .iter()
            .filter_map(|e| parse_entry(room, &e.id, &e.map))
            .collect())
    }

    /// Members present in the room on any node (entries not expired).
    async fn presence(&self, room: &str) -> Result<Vec<Member>> {
        let entries: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(presence_key(room))
            .arg(now_ms())
            .arg("+inf")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(entries
            .iter()
            .filter_map(|e| e.split_once('|'))
            .filter_map(|(_, json)| serde_json::from_str(json).ok())
            .collect())
    }

    /// Publishes an unsequenced payload (ephemeral message, presence) on the room's channel.
    /// Best effort, like the delivery it stands for: a failure is logged.
    async fn announce(&self, room: &str, payload: &str) {
        let r: Result<i64, _> = redis::cmd("PUBLISH")
            .arg(channel(room))
            .arg(payload)
            .query_async(&mut self.conn.clone())
            .await;
        if let Err(e) = r {
            tracing::warn!(room, kind = payload.get(..1), error = %e, "channel publish failed");
        }
    }

    /// A member left (leave, disconnect): drop its presence entry and tell every node.
    async fn gone(&self, room: &str, conn: ConnId, member: &Member, empty: bool) {
        self.drop_presence(room, conn, member).await;
        let text = presence_frame(room, PresenceKind::Leave, member);
        self.announce(room, &format!("p|0|{NO_ORIGIN}|{text}"))
            .await;
        if empty {
            self.unsubscribe_later(room.to_string());
        }
    }

    /// Removes a member's presence entry (best effort: it expires anyway).
    async fn drop_presence(&self, room: &str, conn: ConnId, member: &Member) {
        let Ok(json) = serde_json::to_string(member) else {
            return;
        };
        let entry = format!("{}|{json}", self.origin(conn));
        let r: Result<i64, _> = redis::cmd("ZREM")
            .arg(presence_key(room))
            .arg(entry)
            .query_async(&mut self.conn.clone())
            .await;
        if let Err(e) = r {
            tracing::warn!(room, error = %e, "presence removal failed");
        }
    }

    /// Answers a leave.
    pub async fn leave(&self, ref_id: u64, room: String, out: Outbound) {
        let removed = self.feeds().remove(&room, out.conn());
        if let Some((member, empty)) = removed {
            self.gone(&room, out.conn(), &member, empty).await;
        }
        out.send(&ServerFrame::Left(Left { ref_id, room }));
    }

    /// The connection is gone: leave every room.
    pub async fn disconnect(&self, conn: ConnId) {
        let removed = self.feeds().remove_conn(conn);
        for (room, member, empty) in removed {
            self.gone(&room, conn, &member, empty).await;
        }
    }

    /// Unsubscribes from a room nobody here is in any more, unless a join set it up again.
    fn unsubscribe_later(&self, room: String) {
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

    fn weak_self(&self) -> Option<Weak<Self>> {
        Some(self.me.clone())
    }

    // ----- delivery -----

    /// One Pub/Sub payload: `kind|seq|origin|body`.
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
            "m" => {
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
                let text = match message_frame(room, seq, body) {
                    Some(frame) => frame,
                    None => {
                        let Ok(mut message) = serde_json::from_str::<Message>(body) else {
                            tracing::warn!(room, seq, "undecodable message on the channel");
                            return;
                        };
                        message.seq = Some(seq);
                        ServerFrame::Message(message).encode()
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

    /// Reads a gap from the stream and feeds it through the ordering rule.
    fn spawn_fill(&self, gap: Gap) {
        let Some(this) = self.weak_self() else {
            return;
        };
        tokio::spawn(async move {
            let Some(engine) = this.upgrade() else {
                return;
            };
            engine.fill(gap).await;
        });
    }

    async fn fill(&self, gap: Gap) {
        let mut gap = Some(gap);
        while let Some(g) = gap.take() {
            match self.range(&g.room, g.after, g.upto).await {
                Ok(rows) => {
                    let mut feeds = self.feeds();
                    for (seq, message, origin) in rows {
                        let except = self.local_origin(&origin);
                        let text = Utf8Bytes::from(ServerFrame::Message(message).encode());
                        let _ = feeds.message(&g.room, seq, text, except);
                    }
                    gap = feeds.skip_to(&g.room, g.upto);
                }
                Err(e) => {
                    tracing::warn!(room = %g.room, error = %e, "gap fill failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    gap = Some(g);
                }
            }
        }
    }

    /// After the subscription was lost: read what each room missed.
    async fn catch_up(&self) {
        let heads = self.feeds().heads();
        for (room, local) in heads {
            let head: Result<(String, u64), _> = self
                .head
                .key(meta_key(&room))
                .arg(new_epoch())
                .invoke_async(&mut self.conn.clone())
                .await;
            match head {
                Ok((epoch, _)) if self.feeds().reset_on_new_epoch(&room, &epoch) => {
                    tracing::warn!(
                        room,
                        epoch,
                        "the room's history was reset: its members reconnect"
                    );
                    self.unsubscribe_later(room);
                }
                Ok((_, head)) if head > local => {
                    self.fill(Gap {
                        room,
                        after: local,
                        upto: head,
                    })
                    .await
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(room, error = %e, "catch-up failed"),
            }
        }
    }

    // ----- reads -----

    /// Up to `limit` messages with `seq < before`, ascending, and whether older ones exist.
    pub async fn history(
        &self,
        room: &str,
        before: Option<u64>,
        limit: u32,
    ) -> Result<(Vec<Message>, bool)> {
        let end = match before {
            Some(b) if b <= 1 => return Ok((Vec::new(), false)),
            Some(b) => format!("{}-1", b - 1),
            None => "+".to_string(),
        };
        let reply: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(log_key(room))
            .arg(end)
            .arg("-")
            .arg("COUNT")
            .arg(u64::from(limit) + 1)
            .query_async(&mut self.conn.clone())
            .await?;
        let mut rows: Vec<Message> = reply
            .ids
            .iter()
            .filter_map(|e| parse_entry(room, &e.id, &e.map))
            .map(|(_, m, _)| m)
            .collect();
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        rows.reverse();
        Ok((rows, more))
    }

    /// One `PING` round trip on the shared connection, for `/health`.
    pub async fn ping(&self) -> Result<()> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// Stored message counts per room.
    pub async fn stats(&self) -> Result<StoreStats> {
        let mut conn = self.conn.clone();
        let mut rooms: Vec<String> = redis::cmd("SMEMBERS")
            .arg(ROOMS_KEY)
            .query_async(&mut conn)
            .await?;
        rooms.sort();
        let mut pipe = redis::pipe();
        for room in &rooms {
            pipe.cmd("HGET").arg(meta_key(room)).arg("head");
        }
        let heads: Vec<Option<u64>> = if rooms.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut conn).await?
        };
        let mut stats = StoreStats::default();
        for (room, head) in rooms.into_iter().zip(heads) {
            let n = head.unwrap_or(0);
            if n > 0 {
                stats.messages_stored = stats.messages_stored.saturating_add(n);
                stats.messages_per_room.push((room, n));
            }
        }
        Ok(stats)
    }
}

/// Delay between attempts to get the subscription back.
const RESUBSCRIBE_DELAY: Duration = Duration::from_millis(500);

/// Reads the subscription connection and hands each payload to the feeds; when the connection
/// drops, reconnects, subscribes again to every room with a feed (holding the sink lock, so no
/// feed is set up in between) and catches up from the streams.
async fn subscriber(
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

/// Every third of the presence TTL: pushes this node's members' expiry forward, and removes
/// expired entries of the rooms it serves (a crashed node's members), telling every node.
async fn presence_keeper(engine: Weak<RedisEngine>, mut stop: watch::Receiver<bool>) {
    loop {
        let every = match engine.upgrade() {
            Some(e) => Duration::from_millis((e.presence_ttl_ms / 3).max(100)),
            None => return,
        };
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let Some(e) = engine.upgrade() else {
            return;
        };
        if let Err(err) = e.keep_presence().await {
            tracing::warn!(error = %err, "presence refresh failed");
        }
    }
}

impl RedisEngine {
    async fn keep_presence(&self) -> Result<()> {
        let members = self.feeds().members();
        if members.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let expiry = now.saturating_add(self.presence_ttl_ms);
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        let mut rooms = std::collections::BTreeSet::new();
        for (room, conn_id, member) in &members {
            if let Ok(json) = serde_json::to_string(member) {
                // XX: only entries still there; a member that just left is not brought back.
                pipe.cmd("ZADD")
                    .arg(presence_key(room))
                    .arg("XX")
                    .arg(expiry)
                    .arg(format!("{}|{json}", self.origin(*conn_id)))
                    .ignore();
            }
            rooms.insert(room.clone());
        }
        let () = pipe.query_async(&mut conn).await?;
        for room in rooms {
            let expired: Vec<String> = redis::cmd("ZRANGEBYSCORE")
                .arg(presence_key(&room))
                .arg("-inf")
                .arg(format!("({now}"))
                .query_async(&mut conn)
                .await?;
            for entry in expired {
                let removed: i64 = redis::cmd("ZREM")
                    .arg(presence_key(&room))
                    .arg(&entry)
                    .query_async(&mut conn)
                    .await?;
                // Only the node whose ZREM removed it announces the leave.
                let member = entry
                    .split_once('|')
                    .and_then(|(_, json)| serde_json::from_str::<Member>(json).ok());
                if let (1, Some(member)) = (removed, member) {
                    tracing::info!(room, user = %member.user, "presence expired");
                    let text = presence_frame(&room, PresenceKind::Leave, &member);
                    self.announce(&room, &format!("p|0|{NO_ORIGIN}|{text}"))
                        .await;
                }
            }
        }
        Ok(())
    }
}

/// A message as the stream and the channel carry it: its JSON without `seq`, which the publish
/// script assigns (the same bytes serde_json writes for [`Message`]).
fn message_json(message: &Message) -> String {
    let mut json = String::with_capacity(192 + message.data.json().len());
    let mut o = Object::open(&mut json);
    write_message(&mut o, message, true);
    o.end();
    json
}

/// The `message` frame for `body` (a message's JSON as [`message_json`] writes it) at `seq`,
/// spliced rather than decoded and encoded again: the body begins with its room, and the frame
/// only adds `type` before it and `seq` after it. Every node does this for every message of
/// its rooms. `None` when the body is not of that shape or not JSON; the caller then decodes
/// it.
fn message_frame(room: &str, seq: u64, body: &str) -> Option<String> {
    let mut head = String::from(r#"{"room":"#);
    push_str(&mut head, room);
    let rest = body.strip_prefix(head.as_str())?;
    if !rest.starts_with(',') || json::validate(body).is_err() {
        return None;
    }
    let mut frame = String::with_capacity(body.len() + 40);
    frame.push_str(r#"{"type":"message","#);
    frame.push_str(&head[1..]);
    frame.push_str(r#","seq":"#);
    push_u64(&mut frame, seq);
    frame.push_str(rest);
    Some(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_messages_become_frames_without_decoding() {
        for room in ["conv-1", "with \"quotes\" and \\", "naïve\u{1}"] {
            let message = Message {
                room: room.into(),
                seq: None,
                id: "0193a0c4-0000-7000-8000-000000000001".into(),
                event: "chat.message".into(),
                data: roomcast_core::protocol::Payload::from_json(
                    r#"{"text":"hé \"x\""}"#.to_string(),
                )
                .expect("json"),
                from: Member {
                    user: "u".into(),
                    client: "c".into(),
                    source: "ios".into(),
                    name: Some("Ann".into()),
                },
                ts: 1_732_240_000_000,
                stream: None,
            };
            let body = message_json(&message);
            assert_eq!(body, serde_json::to_string(&message).expect("serde"));
            let frame = message_frame(room, 42, &body).expect("spliced");
            let mut with_seq = message.clone();
            with_seq.seq = Some(42);
            assert_eq!(frame, ServerFrame::Message(with_seq).encode());
        }
        // Another room's body, or a damaged one, is decoded instead.
        let body = r#"{"room":"a","id":"x"}"#;
        assert_eq!(message_frame("b", 1, body), None);
        assert_eq!(message_frame("a", 1, r#"{"room":"a","id":}"#), None);
    }

    #[test]
    fn names_and_redaction() {
        assert_eq!(channel_room(&channel("conv-1")), Some("conv-1"));
        assert_eq!(channel_room("other"), None);
        assert_eq!(redacted("redis://u:pw@h:1/0"), "redis://***@h:1/0");
        assert_eq!(redacted("redis://h:1"), "redis://h:1");
    }
}
