//! The second half of the store's pipeline: once a batch is committed, its messages go out
//! (each encoded once and broadcast to its room) and its publishers get their acks on a thread
//! of their own, so the store thread goes back to SQLite while the batch before is still being
//! fanned out.
//!
//! Membership changes (join, leave, disconnect) take the same queue as the broadcasts, so they
//! happen in the store thread's order: a joiner's replay ends at the head the store thread
//! read, every message committed before its join is broadcast before it becomes a member, and
//! every message committed after reaches it live. Exactly once, as with one thread.

use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use axum::extract::ws::Utf8Bytes;
use roomcast_core::protocol::{Left, Message, ServerFrame};
use tokio::sync::oneshot;

use crate::engine::{JoinCmd, PublishCmd, Stored};
use crate::hub::Hub;
use crate::outbound::{ConnId, Gathered, Outbound};

/// Steps the fan-out thread may lag behind the store thread before the store thread waits:
/// the pipeline's memory stays bounded however fast publishers are (at most this many
/// batches of [`MAX_BATCH`](super::MAX_BATCH) messages, 32 768 in all).
const QUEUE: usize = 16;

/// Work for the fan-out thread, in the store thread's order.
#[derive(Debug)]
pub(super) enum Step {
    /// A committed run of publishes, each with its outcome (`None`: not stored).
    Published(Vec<(PublishCmd, Option<Stored>)>),
    /// A join whose room was read: answer it (replay, `joined`) and add the member.
    Join {
        cmd: JoinCmd,
        head: u64,
        epoch: String,
        /// Stored messages after the joiner's `since`, up to `head`.
        replay: Vec<Message>,
        /// Whether `replay` is everything the joiner missed.
        recovered: bool,
    },
    Leave {
        ref_id: u64,
        room: String,
        out: Outbound,
    },
    Disconnect(ConnId),
    /// A frame for one connection, in order with the rest.
    Send(Outbound, ServerFrame),
    /// Answered once every step before it is done.
    Barrier(oneshot::Sender<()>),
}

/// Starts the fan-out thread. It ends when every sender is dropped, after the last step.
pub(super) fn start(hub: Arc<Hub>) -> std::io::Result<(SyncSender<Step>, JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
    let thread = std::thread::Builder::new()
        .name("roomcast-fanout".into())
        .spawn(move || run(&hub, &rx))?;
    Ok((tx, thread))
}

fn run(hub: &Hub, rx: &Receiver<Step>) {
    while let Ok(step) = rx.recv() {
        match step {
            Step::Published(batch) => published(hub, batch),
            Step::Join {
                cmd,
                head,
                epoch,
                replay,
                recovered,
            } => join(hub, cmd, head, epoch, replay, recovered),
            Step::Leave { ref_id, room, out } => {
                hub.lock().remove_member(&room, out.conn());
                out.send(&ServerFrame::Left(Left { ref_id, room }));
            }
            Step::Disconnect(conn) => hub.lock().remove_conn(conn),
            Step::Send(out, frame) => {
                out.send(&frame);
            }
            Step::Barrier(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Broadcasts each newly stored message to its room and answers each publisher, in order.
/// Each connection's frames from the batch are queued as one item, under the hub's lock, so
/// that ephemeral broadcasts still reach every member in one order.
fn published(hub: &Hub, batch: Vec<(PublishCmd, Option<Stored>)>) {
    let hub = hub.lock();
    let mut gathered = Gathered::default();
    for (p, outcome) in batch {
        let Some(stored) = outcome else {
            p.origin.fail(&p.id, Some(&mut gathered));
            continue;
        };
        if !stored.duplicate {
            let except = p.origin.conn();
            let text = Utf8Bytes::from(
                ServerFrame::Message(Message {
                    room: p.room.clone(),
                    seq: Some(stored.seq),
                    id: p.id.clone(),
                    event: p.event,
                    data: p.data,
                    from: p.from,
                    ts: stored.ts,
                })
                .encode(),
            );
            hub.broadcast_into(&p.room, except, &text, &mut gathered);
        }
        p.origin.ack(p.id, stored, Some(&mut gathered));
    }
    gathered.send();
}

/// Answers a join: a member already gets its `joined` only; a new one its replay, then
/// `joined`, and from then on every broadcast.
fn join(hub: &Hub, j: JoinCmd, head: u64, epoch: String, replay: Vec<Message>, recovered: bool) {
    let mut frames: Vec<Utf8Bytes> = replay
        .into_iter()
        .map(|m| Utf8Bytes::from(ServerFrame::Message(m).encode()))
        .collect();
    let mut hub = hub.lock();
    let mut presence = hub.members(&j.room);
    if hub.is_member(&j.room, j.out.conn()) {
        j.out.send(&j.joined(head, epoch, true, presence));
        return;
    }
    presence.push(j.member.clone());
    frames.push(Utf8Bytes::from(
        j.joined(head, epoch, recovered, presence).encode(),
    ));
    if j.out.send_all(frames) {
        hub.add_member(&j.room, j.member, j.out);
    }
}
