//! The admin API under `--redis`: a room's presence (every node's), resetting a room's
//! history, erasing a user's messages.

use redis::streams::StreamRangeReply;
use redis::Script;
use roomcast_core::protocol::Member;

use super::keys::{ids_key, log_key, meta_key, parse_entry, Entry};
use super::{RedisEngine, Result};
use crate::engine::new_epoch;

/// Deletes the room's stream and ids and gives it a new epoch at head 0.
/// KEYS: meta, ids, log. ARGV: new epoch.
const RESET_LUA: &str = r"
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'head', 0, 'trimmed', 0)
return ARGV[1]
";

/// Entries read per round while erasing.
const ERASE_PAGE: usize = 500;

impl RedisEngine {
    /// Members present in `room` on any node.
    pub async fn room_presence(&self, room: &str) -> Result<Vec<Member>> {
        self.presence(room).await
    }

    /// Deletes `room`'s history and gives it a new epoch. The members on this node are cut
    /// with 1001 at once; on other nodes, when the room's next message (carrying the new
    /// epoch) reaches them.
    pub async fn reset_room(&self, room: &str) -> Result<String> {
        let epoch: String = Script::new(RESET_LUA)
            .key(meta_key(room))
            .key(ids_key(room))
            .key(log_key(room))
            .arg(new_epoch())
            .invoke_async(&mut self.conn.clone())
            .await
            .map(crate::metrics::redis_ok)
            .map_err(crate::metrics::redis_error)?;
        if self.feeds().reset_on_new_epoch(room, &epoch) {
            self.unsubscribe_later(room.to_string());
        }
        Ok(epoch)
    }

    /// Removes the stream entries of `room` whose message `user` sent (`XDEL`); their ids
    /// stay in the room's dedup hash, so a re-send is still answered with its original ack
    /// and not stored again. Returns how many.
    pub async fn erase_user_in(&self, room: &str, user: &str) -> Result<u64> {
        let mut conn = self.conn.clone();
        let mut start = "-".to_string();
        let mut erased = 0;
        loop {
            let reply: StreamRangeReply = redis::cmd("XRANGE")
                .arg(log_key(room))
                .arg(&start)
                .arg("+")
                .arg("COUNT")
                .arg(ERASE_PAGE)
                .query_async(&mut conn)
                .await
                .map(crate::metrics::redis_ok)
                .map_err(crate::metrics::redis_error)?;
            let ids: Vec<&str> = reply
                .ids
                .iter()
                .filter(|e| {
                    parse_entry(room, &e.id, &e.map).is_some_and(|(_, entry, _)| match entry {
                        Entry::Message(m) => m.from.user == user,
                        Entry::Append(a) => a.from.user == user,
                    })
                })
                .map(|e| e.id.as_str())
                .collect();
            if !ids.is_empty() {
                let n: u64 = redis::cmd("XDEL")
                    .arg(log_key(room))
                    .arg(&ids)
                    .query_async(&mut conn)
                    .await
                    .map(crate::metrics::redis_ok)
                    .map_err(crate::metrics::redis_error)?;
                erased += n;
            }
            match reply.ids.last() {
                Some(last) if reply.ids.len() == ERASE_PAGE => start = format!("({}", last.id),
                _ => return Ok(erased),
            }
        }
    }
}
