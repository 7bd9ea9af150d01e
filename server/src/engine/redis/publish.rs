//! What goes out on a room: persisted publishes (one Lua script stores and broadcasts each,
//! and opens a stream for one with `"stream":true`), ephemeral messages and the other
//! unsequenced payloads of its channel.

use roomcast_core::protocol::{Message, StreamInfo, StreamState};

use super::keys::{
    channel, ids_key, log_key, message_json, meta_key, open_member, stream_key, NO_ORIGIN,
    OPEN_STREAMS_KEY, ROOMS_KEY,
};
use super::{RedisEngine, Result};
use crate::engine::{new_epoch, PublishCmd, Stored};
use crate::outbound::ConnId;
use crate::validate::now_ms;

impl RedisEngine {
    /// Stores a persisted publish (atomic script), then acks. The broadcast goes out from the
    /// script itself, through the channel, to every node.
    pub async fn publish(&self, p: PublishCmd) {
        match self.store(&p).await {
            Ok(stored) => {
                if !stored.duplicate {
                    self.trim_later(&p.room);
                }
                p.origin.ack(p.id, stored, None);
            }
            Err(e) => {
                tracing::error!(room = %p.room, id = %p.id, error = %e, "publish failed");
                p.origin.fail(&p.id, None);
            }
        }
    }

    /// Runs the publish script for `p`: stored and broadcast, or the original if its id was.
    /// An opening message is stored (and broadcast) with its stream's state when new (open,
    /// no text), which replays and history replace with the state they fold.
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
            // A new stream has no appends yet.
            stream: p.stream.then(|| StreamInfo {
                state: StreamState::Open,
                text: String::new(),
                n: 0,
            }),
        };
        let json = message_json(&message);
        let (seq, ts, dup): (u64, u64, u8) = self
            .publish
            .key(meta_key(&p.room))
            .key(ids_key(&p.room))
            .key(log_key(&p.room))
            .key(ROOMS_KEY)
            .key(stream_key(&p.room, &p.id))
            .key(OPEN_STREAMS_KEY)
            .arg(&p.id)
            .arg(ts)
            .arg(json)
            .arg(origin)
            .arg(new_epoch())
            .arg(channel(&p.room))
            .arg(&p.room)
            .arg(if p.stream { "1" } else { "" })
            .arg(&p.from.user)
            .arg(open_member(&p.room, &p.id))
            .invoke_async(&mut self.conn.clone())
            .await
            .map(crate::metrics::redis_ok)
            .map_err(crate::metrics::redis_error)?;
        Ok(Stored::published(seq, ts, dup != 0))
    }

    /// An ephemeral message: through the channel to every node's members but the sender.
    pub async fn ephemeral(&self, room: &str, conn: ConnId, text: &str) {
        let payload = format!("e|0|{}|{text}", self.origin(conn));
        self.announce(room, &payload).await;
    }

    /// Publishes an unsequenced payload (ephemeral message, presence) on the room's channel.
    /// Best effort, like the delivery it stands for: a failure is logged.
    pub(super) async fn announce(&self, room: &str, payload: &str) {
        let r: Result<i64, _> = redis::cmd("PUBLISH")
            .arg(channel(room))
            .arg(payload)
            .query_async(&mut self.conn.clone())
            .await;
        if let Err(e) = r {
            tracing::warn!(room, kind = payload.get(..1), error = %e, "channel publish failed");
        }
    }
}
