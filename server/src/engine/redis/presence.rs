//! Who is in a room, on any node: entries in the room's presence set that each node keeps
//! alive for its own members, and that expire when a node is gone.

use std::sync::Weak;
use std::time::Duration;

use roomcast_core::protocol::{Member, Presence, PresenceKind, ServerFrame};
use tokio::sync::watch;

use super::keys::{presence_key, NO_ORIGIN};
use super::{RedisEngine, Result};
use crate::outbound::ConnId;
use crate::validate::now_ms;

/// The `presence` frame telling a room that `member` joined or left.
pub(super) fn presence_frame(room: &str, event: PresenceKind, member: &Member) -> String {
    ServerFrame::Presence(Presence {
        room: room.to_string(),
        event,
        member: member.clone(),
    })
    .encode()
}

/// Every third of the presence TTL: pushes this node's members' expiry forward, and removes
/// expired entries of the rooms it serves (a crashed node's members), telling every node.
pub(super) async fn keeper(engine: Weak<RedisEngine>, mut stop: watch::Receiver<bool>) {
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
    /// Members present in the room on any node (entries not expired).
    pub(super) async fn presence(&self, room: &str) -> Result<Vec<Member>> {
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

    /// Removes a member's presence entry (best effort: it expires anyway).
    pub(super) async fn drop_presence(&self, room: &str, conn: ConnId, member: &Member) {
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

    /// One round of [`keeper`].
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
