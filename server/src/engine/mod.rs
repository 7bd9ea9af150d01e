//! Where history lives and how messages reach members: the embedded SQLite store (one node,
//! [`sqlite`]) or Redis (several nodes, [`redis`]). Connections and HTTP handlers talk to
//! [`Engine`] with the commands below, never to a backend; both backends answer a publish
//! through [`Origin`], and their failures reach callers as [`EngineError`].

pub mod redis;
pub mod sqlite;

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use roomcast_core::protocol::{
    Ack, Append, ErrorCode, ErrorFrame, Joined, Member, Message, Payload, ServerFrame, StreamState,
};
use thiserror::Error;
use tokio::sync::oneshot;

use self::redis::{RedisEngine, RedisEngineError};
use self::sqlite::{Command, ReadPool, StoreError, StoreHandle};
use crate::hub::Hub;
use crate::outbound::{ConnId, Gathered, Outbound};

/// Where a publish came from, and so where its answer goes.
#[derive(Debug)]
pub enum Origin {
    /// A WebSocket `publish`: ack to that connection's queue, no echo to it. `since`: when
    /// it was read (for the ack latency metric).
    Ws {
        ref_id: u64,
        out: Outbound,
        since: std::time::Instant,
    },
    /// An HTTP POST: answer through the channel, broadcast to every member.
    Http(oneshot::Sender<Result<Stored, EngineError>>),
    /// The server itself (a stream's idle end): nobody to answer.
    Server,
}

impl Origin {
    /// The connection to leave out of the broadcast: a publisher does not hear its own.
    pub fn conn(&self) -> Option<ConnId> {
        match self {
            Origin::Ws { out, .. } => Some(out.conn()),
            Origin::Http(_) | Origin::Server => None,
        }
    }

    /// Answers a stored publish (message `id`): an `ack`, or the HTTP reply. With `gathered`,
    /// the ack joins the frames gathered for its connection instead of being queued now.
    pub fn ack(self, id: String, stored: Stored, gathered: Option<&mut Gathered>) {
        match self {
            Origin::Ws { ref_id, out, since } => {
                let m = crate::metrics::metrics();
                m.acks.inc();
                m.ack_latency.observe_duration(since.elapsed());
                let ack = ServerFrame::Ack(Ack {
                    ref_id,
                    id,
                    n: stored.n,
                    seq: Some(stored.seq),
                    ts: stored.ts,
                });
                deliver(&out, &ack, gathered);
            }
            Origin::Http(reply) => {
                let _ = reply.send(Ok(stored));
            }
            Origin::Server => {}
        }
    }

    /// Refuses a request with `code` (an append to an ended stream, another user's stream, a
    /// gap, ...): an `error` frame, or the HTTP reply. `gathered` as for [`ack`](Self::ack).
    pub fn refuse(self, code: ErrorCode, message: String, gathered: Option<&mut Gathered>) {
        match self {
            Origin::Ws { ref_id, out, .. } => {
                let frame = ServerFrame::Error(ErrorFrame {
                    ref_id: Some(ref_id),
                    code,
                    message,
                });
                deliver(&out, &frame, gathered);
            }
            Origin::Http(reply) => {
                let _ = reply.send(Err(EngineError::Refused { code, message }));
            }
            Origin::Server => {}
        }
    }

    /// Answers a publish (message `id`) that could not be stored: an `internal` error, which
    /// the client retries with the same id. `gathered` as for [`ack`](Self::ack).
    pub fn fail(self, id: &str, gathered: Option<&mut Gathered>) {
        match self {
            Origin::Ws { ref_id, out, .. } => {
                let mut message = String::from("could not store message ");
                message.push_str(id);
                deliver(&out, &internal_error(ref_id, message), gathered);
            }
            Origin::Http(reply) => {
                let _ = reply.send(Err(EngineError::NotStored));
            }
            Origin::Server => {}
        }
    }
}

/// Queues `frame` for `out`, or adds it to `gathered`.
fn deliver(out: &Outbound, frame: &ServerFrame, gathered: Option<&mut Gathered>) {
    match gathered {
        Some(g) => g.push(out, Utf8Bytes::from(frame.encode())),
        None => {
            out.send(frame);
        }
    }
}

/// A new random epoch: 8 hex digits, made when a room is first stored (and again when its
/// history is lost, so clients can tell). The Redis engine names its node with one too.
pub(crate) fn new_epoch() -> String {
    let mut s = uuid::Uuid::new_v4().simple().to_string();
    s.truncate(8);
    s
}

/// An `internal` error frame answering request `ref_id`.
pub(crate) fn internal_error(ref_id: u64, message: impl Into<String>) -> ServerFrame {
    ServerFrame::Error(ErrorFrame {
        ref_id: Some(ref_id),
        code: ErrorCode::Internal,
        message: message.into(),
    })
}

/// A persisted publish's or append's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub seq: u64,
    pub ts: u64,
    /// The id (for an append: the `(id, n)`) was already stored: this is the original seq/ts
    /// and nothing was broadcast.
    pub duplicate: bool,
    /// An append's index in its stream (`None` for a publish).
    pub n: Option<u64>,
    /// An append's stream: the seq of its opening message.
    pub of: u64,
}

impl Stored {
    /// A publish's outcome.
    pub fn published(seq: u64, ts: u64, duplicate: bool) -> Self {
        Stored {
            seq,
            ts,
            duplicate,
            n: None,
            of: 0,
        }
    }
}

/// A message to persist.
#[derive(Debug)]
pub struct PublishCmd {
    pub room: String,
    pub id: String,
    pub event: String,
    pub data: Payload,
    pub from: Member,
    /// Opens a stream.
    pub stream: bool,
    pub origin: Origin,
}

/// What an append command does to its stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOp {
    /// The producer's append number `n` (`end`: done, cancelled or failed; never open).
    Append {
        n: u64,
        text: String,
        end: Option<StreamState>,
    },
    /// A member's `cancel`: the end append `cancelled`, stored by the server.
    Cancel,
    /// The idle end: the end append `failed`, if the stream is still idle when stored.
    Idle,
}

impl AppendOp {
    /// The stream end this op stores, if any.
    pub fn end(&self) -> Option<StreamState> {
        match self {
            AppendOp::Append { end, .. } => *end,
            AppendOp::Cancel => Some(StreamState::Cancelled),
            AppendOp::Idle => Some(StreamState::Failed),
        }
    }

    /// The text this op appends.
    pub fn text(&self) -> &str {
        match self {
            AppendOp::Append { text, .. } => text,
            AppendOp::Cancel | AppendOp::Idle => "",
        }
    }
}

/// An append (or cancel, or idle end) to persist.
#[derive(Debug)]
pub struct AppendCmd {
    pub room: String,
    /// The stream's id: its opening message's.
    pub id: String,
    pub op: AppendOp,
    pub from: Member,
    pub origin: Origin,
}

impl AppendCmd {
    /// The `append` event for this command once stored as `stored`.
    pub fn event(&self, stored: &Stored) -> ServerFrame {
        ServerFrame::Append(Append {
            room: self.room.clone(),
            seq: stored.seq,
            of: stored.of,
            id: self.id.clone(),
            n: stored.n.unwrap_or(0),
            text: self.op.text().to_owned(),
            end: self.op.end(),
            from: self.from.clone(),
            ts: stored.ts,
        })
    }
}

/// The stream rules' limits (`--max-stream-bytes`, `--stream-idle-ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Most bytes of text one stream may hold.
    pub max_bytes: u64,
    /// A stream without an append for this long is ended `failed` by the server.
    pub idle_ms: u64,
}

/// A page of history: messages (openers folded) and the appends whose opener it lacks.
#[derive(Debug, Default)]
pub struct History {
    pub messages: Vec<Message>,
    pub appends: Vec<Append>,
    pub more: bool,
}

/// A join to answer (replay, `joined`, membership, presence).
#[derive(Debug)]
pub struct JoinCmd {
    pub ref_id: u64,
    pub room: String,
    pub since: Option<u64>,
    pub epoch: Option<String>,
    pub member: Member,
    pub out: Outbound,
}

impl JoinCmd {
    /// The `joined` answering this join: the room's head `seq` and epoch, whether the replay
    /// before it was complete, and who is in the room.
    pub fn joined(
        &self,
        seq: u64,
        epoch: String,
        recovered: bool,
        presence: Vec<Member>,
    ) -> ServerFrame {
        ServerFrame::Joined(Joined {
            ref_id: self.ref_id,
            room: self.room.clone(),
            seq,
            epoch,
            recovered,
            presence,
        })
    }
}

/// Longest wait for Redis to answer a health check.
const HEALTH_PING: std::time::Duration = std::time::Duration::from_secs(2);

/// Why the engine did not do what it was asked, whichever backend runs. Connections and HTTP
/// handlers see only this: each backend's own error maps into it.
#[derive(Debug, Error)]
pub enum EngineError {
    /// A request the stream rules refuse (answered with `code`; nothing stored).
    #[error("{message}")]
    Refused { code: ErrorCode, message: String },
    /// The backend takes no more requests: the server is shutting down.
    #[error("the store is shut down")]
    Closed,
    /// A write was not stored (a failed commit, a Redis error); its client may retry it.
    #[error("the write could not be stored")]
    NotStored,
    /// The backend failed (SQLite, Redis); its own error is the source.
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync>),
    #[error("background task failed: {0}")]
    Task(String),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Closed => EngineError::Closed,
            StoreError::Refused { code, message } => EngineError::Refused { code, message },
            e => EngineError::Backend(Box::new(e)),
        }
    }
}

impl From<RedisEngineError> for EngineError {
    fn from(e: RedisEngineError) -> Self {
        EngineError::Backend(Box::new(e))
    }
}

/// Stored message counts, for `/stats`.
#[derive(Debug, Clone, Default)]
pub struct StoreStats {
    pub messages_stored: u64,
    pub messages_per_room: Vec<(String, u64)>,
}

/// The backend of a running server.
#[derive(Debug)]
pub enum Engine {
    /// A store thread (writes, group commit) and a fan-out thread, plus read-only connections.
    Sqlite {
        store: StoreHandle,
        reads: Arc<ReadPool>,
    },
    /// Shared Redis: any number of nodes.
    Redis(Arc<RedisEngine>),
}

impl Engine {
    /// Answers a join (replay, `joined`, then live messages).
    pub async fn join(&self, cmd: JoinCmd) -> Result<(), EngineError> {
        crate::metrics::metrics().joins.inc();
        match self {
            Engine::Sqlite { store, .. } => Ok(store.send(Command::Join(cmd)).await?),
            Engine::Redis(r) => {
                r.join(cmd).await;
                Ok(())
            }
        }
    }

    /// Answers a leave of a joined room.
    pub async fn leave(&self, ref_id: u64, room: String, out: Outbound) -> Result<(), EngineError> {
        match self {
            Engine::Sqlite { store, .. } => {
                Ok(store.send(Command::Leave { ref_id, room, out }).await?)
            }
            Engine::Redis(r) => {
                r.leave(ref_id, room, out).await;
                Ok(())
            }
        }
    }

    /// The connection is gone: leave its rooms.
    pub async fn disconnect(&self, conn: ConnId) -> Result<(), EngineError> {
        match self {
            Engine::Sqlite { store, .. } => Ok(store.send(Command::Disconnect(conn)).await?),
            Engine::Redis(r) => {
                r.disconnect(conn).await;
                Ok(())
            }
        }
    }

    /// Stores a persisted publish; the ack or answer goes to its origin.
    pub async fn publish(&self, cmd: PublishCmd) -> Result<(), EngineError> {
        match self {
            Engine::Sqlite { store, .. } => Ok(store.send(Command::Publish(cmd)).await?),
            Engine::Redis(r) => {
                r.publish(cmd).await;
                Ok(())
            }
        }
    }

    /// Delivers an ephemeral message (encoded frame) to the room's members but `conn`.
    pub async fn ephemeral(&self, hub: &Hub, room: &str, conn: ConnId, text: Utf8Bytes) {
        match self {
            Engine::Sqlite { .. } => hub.lock().broadcast(room, Some(conn), &text),
            Engine::Redis(r) => r.ephemeral(room, conn, text.as_str()).await,
        }
    }

    /// Stores an append, cancel or idle end; the ack or answer goes to its origin.
    pub async fn append(&self, cmd: AppendCmd) -> Result<(), EngineError> {
        if !matches!(cmd.origin, Origin::Server) {
            crate::metrics::metrics().appends.inc();
        }
        match self {
            Engine::Sqlite { store, .. } => Ok(store.send(Command::Append(cmd)).await?),
            Engine::Redis(r) => {
                r.append(cmd).await;
                Ok(())
            }
        }
    }

    /// Up to `limit` stored items with `seq < before`, ascending, streams folded into their
    /// opening messages, and whether there are more.
    pub async fn history(
        &self,
        room: String,
        before: Option<u64>,
        limit: u32,
    ) -> Result<History, EngineError> {
        match self {
            Engine::Sqlite { reads, .. } => {
                let reads = Arc::clone(reads);
                tokio::task::spawn_blocking(move || reads.history(&room, before, limit))
                    .await
                    .map_err(|e| EngineError::Task(e.to_string()))?
                    .map_err(EngineError::from)
            }
            Engine::Redis(r) => Ok(r.history(&room, before, limit).await?),
        }
    }

    /// Stored message counts.
    pub async fn stats(&self) -> Result<StoreStats, EngineError> {
        match self {
            Engine::Sqlite { reads, .. } => {
                let reads = Arc::clone(reads);
                tokio::task::spawn_blocking(move || reads.stats())
                    .await
                    .map_err(|e| EngineError::Task(e.to_string()))?
                    .map_err(EngineError::from)
            }
            Engine::Redis(r) => Ok(r.stats().await?),
        }
    }

    /// `Err` with a reason when the backend cannot serve: for SQLite, the store thread
    /// stopped, its last write failed, or a fresh connection cannot read the database; for
    /// Redis, a `PING` that fails or takes over `HEALTH_PING` (2 s).
    pub async fn health(&self) -> Result<(), String> {
        match self {
            Engine::Sqlite { store, reads } => {
                if let Some(problem) = store.write_problem() {
                    return Err(problem);
                }
                let reads = Arc::clone(reads);
                tokio::task::spawn_blocking(move || reads.probe())
                    .await
                    .map_err(|e| format!("the read check failed: {e}"))?
                    .map_err(|e| format!("the database cannot be read: {e}"))
            }
            Engine::Redis(r) => match tokio::time::timeout(HEALTH_PING, r.ping()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(format!("redis does not answer: {e}")),
                Err(_) => Err(format!("redis did not answer PING within {HEALTH_PING:?}")),
            },
        }
    }

    /// Admin API: the members of `room` (on every node, with Redis).
    pub async fn presence(&self, hub: &Hub, room: &str) -> Result<Vec<Member>, EngineError> {
        match self {
            Engine::Sqlite { .. } => Ok(hub.lock().members(room)),
            Engine::Redis(r) => Ok(r.room_presence(room).await?),
        }
    }

    /// Admin API: deletes `room`'s history and gives it a new epoch (members are closed
    /// with 1001 and get the new epoch when they rejoin). Answers the new epoch.
    pub async fn reset_room(&self, room: String) -> Result<String, EngineError> {
        match self {
            Engine::Sqlite { store, .. } => {
                let (reply, answer) = oneshot::channel();
                store.send(Command::ResetRoom { room, reply }).await?;
                Ok(answer.await.map_err(|_| EngineError::Closed)??)
            }
            Engine::Redis(r) => Ok(r.reset_room(&room).await?),
        }
    }

    /// Admin API: erases `user`'s messages in `room`, or in every room (SQLite: tombstones;
    /// Redis: the stream entries are deleted). Answers how many.
    pub async fn erase_user(&self, user: String, room: Option<String>) -> Result<u64, EngineError> {
        match self {
            Engine::Sqlite { store, .. } => {
                let (reply, answer) = oneshot::channel();
                store.send(Command::EraseUser { user, room, reply }).await?;
                Ok(answer.await.map_err(|_| EngineError::Closed)??)
            }
            Engine::Redis(r) => {
                let rooms = match room {
                    Some(room) => vec![room],
                    None => r.rooms().await?,
                };
                let mut n = 0;
                for room in rooms {
                    n += r.erase_user_in(&room, &user).await?;
                }
                Ok(n)
            }
        }
    }

    /// Rooms with members on this node that the hub does not count (Redis keeps its own).
    pub fn extra_local_rooms(&self) -> usize {
        match self {
            Engine::Sqlite { .. } => 0,
            Engine::Redis(r) => r.local_rooms(),
        }
    }

    /// Waits until everything sent before is answered. Redis requests are answered before
    /// the connection reads its next frame, so there is nothing to wait for.
    pub async fn barrier(&self) -> Result<(), EngineError> {
        match self {
            Engine::Sqlite { store, .. } => Ok(store.barrier().await?),
            Engine::Redis(_) => Ok(()),
        }
    }
}
