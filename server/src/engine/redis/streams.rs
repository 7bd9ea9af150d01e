//! Streamed messages under `--redis`: appends, cancels and the idle end, each one run of the
//! append script (the stream rules checked, the next seq, the entry in the room's stream, the
//! text `APPEND`ed to the stream's text key, the channel told, atomically), and the folding of
//! a stream into its opening message for replays and history (its text read in one `GET`).
//!
//! The idle end runs on every node ([`idle_keeper`]): each reads the open streams whose last
//! append is older than the limit and runs the script for them, which checks again that the
//! stream is open and idle, so exactly one node stores the end however many try.

use std::collections::{HashMap, HashSet};
use std::sync::Weak;
use std::time::Duration;

use redis::Value;
use roomcast_core::protocol::{ErrorCode, Member, StreamInfo, StreamState};
use tokio::sync::watch;

use super::keys::{
    append_parts, channel, log_key, meta_key, open_member, stream_key, text_key, Entry, NO_ORIGIN,
    OPEN_STREAMS_KEY,
};
use super::{RedisEngine, RedisEngineError, Result};
use crate::engine::sqlite::SERVER_CLIENT;
use crate::engine::{new_epoch, AppendCmd, AppendOp, Origin, Stored};
use crate::validate::now_ms;

/// Most idle streams one node ends per round of [`idle_keeper`].
const IDLE_BATCH: isize = 256;

/// What the append script made of a request: stored (now or before), or refused.
type Outcome = std::result::Result<Stored, (ErrorCode, String)>;

impl RedisEngine {
    /// Stores an append, a cancel or an idle end (one script run), then answers its origin;
    /// the broadcast goes out from the script itself, through the channel, to every node.
    pub async fn append(&self, a: AppendCmd) {
        match self.store_append(&a).await {
            Ok(Ok(stored)) => {
                if matches!(a.origin, Origin::Server) && !stored.duplicate {
                    tracing::info!(room = %a.room, id = %a.id, "idle stream ended (failed)");
                }
                a.origin.ack(a.id, stored, None);
            }
            Ok(Err((code, message))) => a.origin.refuse(code, message, None),
            Err(e) => {
                tracing::error!(room = %a.room, id = %a.id, error = %e, "append failed");
                a.origin.fail(&a.id, None);
            }
        }
    }

    /// Runs the append script for `a`.
    async fn store_append(&self, a: &AppendCmd) -> Result<Outcome> {
        let ts = now_ms();
        let origin = a
            .origin
            .conn()
            .map_or_else(|| NO_ORIGIN.to_string(), |conn| self.origin(conn));
        let (op, n) = match &a.op {
            AppendOp::Append { n, .. } => ("a", *n),
            AppendOp::Cancel => ("c", 0),
            AppendOp::Idle => ("i", 0),
        };
        let text = a.op.text();
        let end = a.op.end();
        let [before_of, before_n, rest] = append_parts(&a.room, &a.id, text, end, &a.from, ts);
        let (kind, seq, ts, n, of, state): (String, u64, u64, u64, u64, String) = self
            .append
            .key(meta_key(&a.room))
            .key(log_key(&a.room))
            .key(stream_key(&a.room, &a.id))
            .key(text_key(&a.room, &a.id))
            .key(OPEN_STREAMS_KEY)
            .arg(op)
            .arg(n)
            .arg(text)
            .arg(end.map_or("", StreamState::as_str))
            .arg(&a.from.user)
            .arg(ts)
            .arg(before_of)
            .arg(before_n)
            .arg(rest)
            .arg(origin)
            .arg(channel(&a.room))
            .arg(self.limits.max_bytes)
            .arg(self.limits.idle_ms)
            .arg(open_member(&a.room, &a.id))
            .arg(new_epoch())
            .invoke_async(&mut self.conn.clone())
            .await?;
        let stored = |duplicate| Stored {
            seq,
            ts,
            duplicate,
            n: Some(n),
            of,
        };
        // The refusals say what the SQLite engine says.
        let refused = |code, message: String| Ok(Err((code, message)));
        match kind.as_str() {
            "ok" => Ok(Ok(stored(false))),
            "dup" => Ok(Ok(stored(true))),
            "not_found" => refused(
                ErrorCode::NotFound,
                format!("no stream {} in room {}", a.id, a.room),
            ),
            "forbidden" => refused(
                ErrorCode::Forbidden,
                format!("stream {} belongs to another user", a.id),
            ),
            "ended" => refused(
                ErrorCode::StreamEnded,
                format!("stream {} has ended ({state})", a.id),
            ),
            "gap" => refused(
                ErrorCode::BadRequest,
                format!(
                    "append {} of stream {} is beyond its count {n}",
                    match &a.op {
                        AppendOp::Append { n, .. } => *n,
                        _ => 0,
                    },
                    a.id
                ),
            ),
            "too_large" => refused(
                ErrorCode::TooLarge,
                format!(
                    "stream {} would exceed {} bytes",
                    a.id, self.limits.max_bytes
                ),
            ),
            "skip" => refused(ErrorCode::Internal, "not idle".into()),
            other => Err(RedisEngineError::Reply(format!(
                "append script answered {other} for stream {} in room {}",
                a.id, a.room
            ))),
        }
    }

    /// Folds each stream whose opening message is among `entries` into it (`stream`: its text
    /// so far, count and state, read together in one transaction) and leaves out the appends
    /// of those streams; the appends of other streams stay. O(text) per opening message
    /// sent, never per append stored.
    pub(super) async fn fold(&self, room: &str, entries: Vec<Entry>) -> Result<Vec<Entry>> {
        let openers: Vec<&str> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Message(m) if m.stream.is_some() => Some(m.id.as_str()),
                _ => None,
            })
            .collect();
        if openers.is_empty() {
            return Ok(entries);
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for id in &openers {
            pipe.cmd("HMGET")
                .arg(stream_key(room, id))
                .arg("n")
                .arg("state");
            pipe.cmd("GET").arg(text_key(room, id));
        }
        let replies: Vec<Value> = pipe.query_async(&mut self.conn.clone()).await?;
        let mut folded: HashMap<String, StreamInfo> = HashMap::new();
        for (id, pair) in openers.iter().zip(replies.chunks(2)) {
            let [state, text] = pair else {
                return Err(RedisEngineError::Reply("short fold reply".into()));
            };
            let (n, state): (Option<u64>, Option<String>) = redis::from_redis_value(state)?;
            let text: Option<String> = redis::from_redis_value(text)?;
            let (Some(n), Some(state)) = (n, state) else {
                // No state (lost from Redis): the message stays as stored.
                continue;
            };
            folded.insert(
                (*id).to_string(),
                StreamInfo {
                    state: StreamState::from_wire(&state).unwrap_or(StreamState::Failed),
                    text: text.unwrap_or_default(),
                    n,
                },
            );
        }
        let ids: HashSet<String> = folded.keys().cloned().collect();
        Ok(entries
            .into_iter()
            .filter_map(|e| match e {
                Entry::Message(mut m) => {
                    if let Some(info) = folded.remove(&m.id) {
                        m.stream = Some(info);
                    }
                    Some(Entry::Message(m))
                }
                Entry::Append(a) if ids.contains(&a.id) => None,
                Entry::Append(a) => Some(Entry::Append(a)),
            })
            .collect())
    }

    /// One round of [`idle_keeper`]: the idle end of each open stream without an append for
    /// the idle limit (the script checks again, so a stream appended to meanwhile, or ended
    /// by another node, is left alone).
    async fn end_idle(&self) -> Result<()> {
        let due = now_ms().saturating_sub(self.limits.idle_ms);
        let mut conn = self.conn.clone();
        let members: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(OPEN_STREAMS_KEY)
            .arg("-inf")
            .arg(due)
            .arg("LIMIT")
            .arg(0)
            .arg(IDLE_BATCH)
            .query_async(&mut conn)
            .await?;
        for member in members {
            let Some((room, id)) = member.split_once('|') else {
                let _: i64 = redis::cmd("ZREM")
                    .arg(OPEN_STREAMS_KEY)
                    .arg(&member)
                    .query_async(&mut conn)
                    .await?;
                continue;
            };
            // The end is written as the opener's, by the server (no user: the script finds
            // no stream and drops the entry).
            let user: Option<String> = redis::cmd("HGET")
                .arg(stream_key(room, id))
                .arg("user")
                .query_async(&mut conn)
                .await?;
            self.append(AppendCmd {
                room: room.to_string(),
                id: id.to_string(),
                op: AppendOp::Idle,
                from: Member {
                    user: user.unwrap_or_default(),
                    client: SERVER_CLIENT.into(),
                    source: SERVER_CLIENT.into(),
                    name: None,
                },
                origin: Origin::Server,
            })
            .await;
        }
        Ok(())
    }
}

/// Ends idle streams a few times per idle limit (at most every second, at least every
/// 10 ms), like the SQLite engine's ticker; every node runs one.
pub(super) async fn idle_keeper(engine: Weak<RedisEngine>, mut stop: watch::Receiver<bool>) {
    loop {
        let every = match engine.upgrade() {
            Some(e) => Duration::from_millis((e.limits.idle_ms / 4).clamp(10, 1000)),
            None => return,
        };
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let Some(e) = engine.upgrade() else {
            return;
        };
        if let Err(err) = e.end_idle().await {
            tracing::warn!(error = %err, "idle stream check failed");
        }
    }
}
