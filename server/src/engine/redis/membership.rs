//! Joining and leaving a room: the member's place in the room's feed (set up, with its
//! subscription, by the first local joiner), its presence, and the replay before `joined`.

use axum::extract::ws::Utf8Bytes;
use roomcast_core::protocol::{Left, Member, PresenceKind, ServerFrame};

use super::feed::Added;
use super::keys::{channel, meta_key, presence_key, NO_ORIGIN};
use super::presence::presence_frame;
use super::{RedisEngine, RedisEngineError, Result};
use crate::engine::{internal_error, new_epoch, JoinCmd};
use crate::outbound::{ConnId, Outbound};
use crate::validate::now_ms;

impl RedisEngine {
    /// Answers a join: replay up to the local head, `joined`, then live (see [`super::feed`]).
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
            .map(|f| Utf8Bytes::from(f.encode()))
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
}
