//! Reading a room's stream: a joiner's replay, gap fills and the catch-up after a lost
//! subscription (all through the feed's ordering rule), `history` pages and `/stats`. Replays
//! and pages fold streams into their opening messages ([`RedisEngine::fold`]); gap fills
//! stand for live delivery, so they send messages and appends as they were broadcast.

use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use redis::streams::StreamRangeReply;
use roomcast_core::protocol::ServerFrame;

use super::feed::Gap;
use super::keys::{log_key, meta_key, parse_entry, Entry, ROOMS_KEY};
use super::{RedisEngine, Result};
use crate::engine::{new_epoch, History, StoreStats};

impl RedisEngine {
    /// Items `since < seq <= head` (newest `replay_limit`), streams folded, as frames in seq
    /// order, and whether that is all of them.
    pub(super) async fn replay(
        &self,
        room: &str,
        since: Option<u64>,
        their_epoch: Option<&str>,
        head: u64,
        epoch: &str,
    ) -> Result<(Vec<ServerFrame>, bool)> {
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
        crate::metrics::metrics().replayed.add(rows.len() as u64);
        let entries = rows.into_iter().map(|(_, e, _)| e).collect();
        let entries = self.fold(room, entries).await?;
        Ok((
            entries.into_iter().map(Entry::into_frame).collect(),
            complete,
        ))
    }

    /// Stream entries `after < seq <= upto`, ascending.
    async fn range(&self, room: &str, after: u64, upto: u64) -> Result<Vec<(u64, Entry, String)>> {
        if upto <= after {
            return Ok(Vec::new());
        }
        let reply: StreamRangeReply = redis::cmd("XRANGE")
            .arg(log_key(room))
            .arg(format!("{}-0", after + 1))
            .arg(format!("{upto}-1"))
            .query_async(&mut self.conn.clone())
            .await
            .map(crate::metrics::redis_ok)
            .map_err(crate::metrics::redis_error)?;
        Ok(reply
            .ids
            .iter()
            .filter_map(|e| parse_entry(room, &e.id, &e.map))
            .collect())
    }

    /// Reads a gap from the stream and feeds it through the ordering rule.
    pub(super) fn spawn_fill(&self, gap: Gap) {
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

    /// Reads `gap` (and any gap the ordering rule finds behind it), retrying every 200 ms
    /// until Redis answers.
    async fn fill(&self, gap: Gap) {
        let mut gap = Some(gap);
        while let Some(g) = gap.take() {
            match self.range(&g.room, g.after, g.upto).await {
                Ok(rows) => {
                    let mut feeds = self.feeds();
                    for (seq, entry, origin) in rows {
                        let except = self.local_origin(&origin);
                        let text = Utf8Bytes::from(entry.into_frame().encode());
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
    pub(super) async fn catch_up(&self) {
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

    /// The newest `limit` items (messages and appends) with `seq < before`, ascending, then
    /// streams folded into the opening messages among them (so a page may hold fewer than
    /// `limit` items while older ones exist), and whether older ones exist.
    pub async fn history(&self, room: &str, before: Option<u64>, limit: u32) -> Result<History> {
        let end = match before {
            Some(b) if b <= 1 => return Ok(History::default()),
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
            .await
            .map(crate::metrics::redis_ok)
            .map_err(crate::metrics::redis_error)?;
        let mut rows: Vec<Entry> = reply
            .ids
            .iter()
            .filter_map(|e| parse_entry(room, &e.id, &e.map))
            .map(|(_, e, _)| e)
            .collect();
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        rows.reverse();
        let mut page = History {
            more,
            ..History::default()
        };
        for entry in self.fold(room, rows).await? {
            match entry {
                Entry::Message(m) => page.messages.push(m),
                Entry::Append(a) => page.appends.push(a),
            }
        }
        Ok(page)
    }

    /// Stored message counts per room.
    pub async fn stats(&self) -> Result<StoreStats> {
        let mut conn = self.conn.clone();
        let mut rooms: Vec<String> = redis::cmd("SMEMBERS")
            .arg(ROOMS_KEY)
            .query_async(&mut conn)
            .await
            .map(crate::metrics::redis_ok)
            .map_err(crate::metrics::redis_error)?;
        rooms.sort();
        let mut pipe = redis::pipe();
        for room in &rooms {
            pipe.cmd("HMGET")
                .arg(meta_key(room))
                .arg("head")
                .arg("trimmed");
        }
        let heads: Vec<(Option<u64>, Option<u64>)> = if rooms.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut conn).await?
        };
        let mut stats = StoreStats::default();
        for (room, (head, trimmed)) in rooms.into_iter().zip(heads) {
            // What retention removed (`retention`) is not stored any more.
            let n = head.unwrap_or(0).saturating_sub(trimmed.unwrap_or(0));
            if n > 0 {
                stats.messages_stored = stats.messages_stored.saturating_add(n);
                stats.messages_per_room.push((room, n));
            }
        }
        Ok(stats)
    }
}
