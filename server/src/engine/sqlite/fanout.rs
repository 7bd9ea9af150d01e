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
use roomcast_core::protocol::{ErrorCode, Left, Message, ServerFrame, StreamInfo, StreamState};
use tokio::sync::oneshot;

use crate::engine::{AppendCmd, JoinCmd, PublishCmd, Stored};
use crate::hub::Hub;
use crate::outbound::{ConnId, Gathered, Outbound};

/// Steps the fan-out thread may lag behind the store thread before the store thread waits:
/// the pipeline's memory stays bounded however fast publishers are (at most this many
/// batches of [`MAX_BATCH`](super::MAX_BATCH) messages, 32 768 in all).
const QUEUE: usize = 16;

/// A write of a group commit: a publish, or an append (cancel, idle end) to a stream.
#[derive(Debug)]
pub(super) enum Write {
    Publish(PublishCmd),
    Append(AppendCmd),
}

/// What became of one write.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Stored now, or earlier (`duplicate`).
    Stored(Stored),
    /// Refused by the stream rules: answered with this error, nothing stored.
    Refused(ErrorCode, String),
    /// Not stored (a database error): answered `internal`, retried by the client.
    Failed,
}

/// Work for the fan-out thread, in the store thread's order.
#[derive(Debug)]
pub(super) enum Step {
    /// A committed run of writes, each with its outcome.
    Published(Vec<(Write, Outcome)>),
    /// A join whose room was read: answer it (replay, `joined`) and add the member.
    Join {
        cmd: JoinCmd,
        head: u64,
        epoch: String,
        /// Stored messages and appends after the joiner's `since`, up to `head`, in seq
        /// order, streams folded into the opening messages the replay holds.
        replay: Vec<ServerFrame>,
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
    /// The room's history was reset: close its members here with 1001 (they rejoin and get
    /// the new epoch).
    CloseRoom(String),
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
            Step::CloseRoom(room) => {
                hub.lock().close_room(
                    &room,
                    roomcast_core::protocol::close::GOING_AWAY,
                    "room history reset",
                );
            }
        }
    }
}

/// Broadcasts each newly stored message to its room and answers each publisher, in order.
/// Each connection's frames from the batch are queued as one item, under the hub's lock, so
/// that ephemeral broadcasts still reach every member in one order.
fn published(hub: &Hub, batch: Vec<(Write, Outcome)>) {
    let hub = hub.lock();
    let mut gathered = Gathered::default();
    for (write, outcome) in batch {
        let p = match (write, outcome) {
            (Write::Publish(p), Outcome::Stored(stored)) => (p, stored),
            (Write::Append(a), Outcome::Stored(stored)) => {
                if !stored.duplicate {
                    let text = Utf8Bytes::from(a.event(&stored).encode());
                    hub.broadcast_into(&a.room, a.origin.conn(), &text, &mut gathered);
                }
                a.origin.ack(a.id, stored, Some(&mut gathered));
                continue;
            }
            (Write::Publish(p), Outcome::Refused(code, message)) => {
                p.origin.refuse(code, message, Some(&mut gathered));
                continue;
            }
            (Write::Append(a), Outcome::Refused(code, message)) => {
                a.origin.refuse(code, message, Some(&mut gathered));
                continue;
            }
            (Write::Publish(p), Outcome::Failed) => {
                p.origin.fail(&p.id, Some(&mut gathered));
                continue;
            }
            (Write::Append(a), Outcome::Failed) => {
                a.origin.fail(&a.id, Some(&mut gathered));
                continue;
            }
        };
        let (p, stored) = p;
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
                    // A new stream has no appends yet.
                    stream: p.stream.then(|| StreamInfo {
                        state: StreamState::Open,
                        text: String::new(),
                        n: 0,
                    }),
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
fn join(
    hub: &Hub,
    j: JoinCmd,
    head: u64,
    epoch: String,
    replay: Vec<ServerFrame>,
    recovered: bool,
) {
    let mut frames: Vec<Utf8Bytes> = replay
        .into_iter()
        .map(|f| Utf8Bytes::from(f.encode()))
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
