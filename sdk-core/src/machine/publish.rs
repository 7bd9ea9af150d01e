//! A publish's life: checked, queued (persisted ones, also while offline), sent once its room
//! is joined, re-sent with the same id after every reconnect, and completed by its ack, by its
//! own message replayed on resume, or by a final refusal.

use std::time::Duration;

use web_time::Instant;

use super::persist::{Record, StoredAppend, StoredPublish};
use super::queue::{Entry, What};
use super::requests::{passing, Request};
use super::timers::Timer;
use super::{Error, Machine, OpId, PublishAck, Reply};
use crate::protocol::{
    self, AppendRequest, Cancel, ClientFrame, ErrorCode, ErrorFrame, Payload, Publish, PublishText,
    StreamState,
};

/// Delay before re-sending a publish the server refused for a passing reason
/// (`rate_limited`, `internal`).
pub(crate) const RETRY_AFTER: Duration = Duration::from_secs(1);

/// How a queued publish ends; see [`Machine::end_entry`].
#[derive(Debug)]
pub(crate) enum End {
    /// The server stored it: its ack came, or its own message came back on a resume.
    Stored(PublishAck),
    /// Refused for good, or its room was left or refused: failed, and never sent again.
    Failed(Error),
    /// The client stopped with it unsent (closed, token refused, gave up reconnecting).
    Stopped(Error),
    /// The store could not write its record (the reason): failed, never sent.
    NotKept(String),
}

/// A publish request from the app.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishRequest {
    pub room: String,
    /// Unique per room; a UUID v7 is recommended. Re-sent unchanged after reconnects.
    pub id: String,
    pub event: String,
    pub data: Payload,
    /// Not stored, no seq, never queued: fails at once when not connected.
    pub ephemeral: bool,
    /// Opens a streamed message: its text then grows with [`Machine::append`].
    pub stream: bool,
}

impl Machine {
    /// Publishes to a joined room. Persisted publishes are queued (also while offline) and
    /// complete at the server's ack; ephemeral ones are sent only on a live connection.
    pub fn publish(&mut self, now: Instant, req: PublishRequest) -> OpId {
        let op = self.new_op();
        if let Err(e) = self.check_publish(&req) {
            self.complete(op, Err(e));
            return op;
        }
        if req.ephemeral {
            let id = req.id.clone();
            self.send_request(now, Request::Ephemeral { op, id }, |ref_id| {
                ClientFrame::Publish(Publish {
                    ref_id,
                    room: req.room,
                    id: req.id,
                    event: req.event,
                    data: req.data,
                    ephemeral: true,
                    stream: false,
                })
            });
        } else {
            let record = if self.config.persist {
                self.keep(Record::Queued(StoredPublish {
                    room: req.room.clone(),
                    id: req.id.clone(),
                    event: req.event.clone(),
                    data: req.data.clone(),
                    stream: req.stream,
                }))
            } else {
                0
            };
            if req.stream {
                self.writers.open(&req.room, &req.id);
            }
            let what = What::Publish {
                event: req.event,
                data: req.data,
                stream: req.stream,
            };
            self.enqueue(now, op, req.room, req.id, what, record);
        }
        op
    }

    fn enqueue(
        &mut self,
        now: Instant,
        op: OpId,
        room: String,
        id: String,
        what: What,
        record: u64,
    ) {
        self.queue.push(Entry {
            op,
            room,
            id,
            what,
            sent: None,
            record,
        });
        self.connect_on_demand(now);
        self.flush(now);
    }

    /// Adds `text` to the stream `id` this client opened in `room` (with a
    /// [`publish`](Self::publish) whose `stream` is set); `end` ends it (`done`, `cancelled`
    /// or `failed`). Queued like a persisted publish, also while offline, and sent in order
    /// after the stream's opening publish; each piece is applied once, across reconnects and
    /// (with a store) restarts. Completes at the server's ack with the piece's seq.
    pub fn append(
        &mut self,
        now: Instant,
        room: &str,
        id: &str,
        text: String,
        end: Option<StreamState>,
    ) -> OpId {
        let op = self.new_op();
        let check = self.check_stream_call(room).or_else(|| {
            (end == Some(StreamState::Open))
                .then(|| Error::InvalidPayload("a stream ends done, cancelled or failed".into()))
        });
        if let Some(e) = check {
            self.complete(op, Err(e));
            return op;
        }
        let size = ClientFrame::Append(AppendRequest {
            ref_id: u64::MAX,
            room: room.to_owned(),
            id: id.to_owned(),
            n: u64::MAX,
            text: text.clone(),
            end,
        })
        .encode()
        .len();
        if size > self.max_frame {
            self.complete(
                op,
                Err(Error::TooLarge {
                    size,
                    max: self.max_frame,
                }),
            );
            return op;
        }
        let n = match self.writers.next(room, id, end.is_some()) {
            Ok(n) => n,
            Err(e) => {
                self.complete(op, Err(e));
                return op;
            }
        };
        let record = if self.config.persist {
            self.keep(Record::QueuedAppend(StoredAppend {
                room: room.to_owned(),
                id: id.to_owned(),
                n: Some(n),
                text: text.clone(),
                end,
            }))
        } else {
            0
        };
        let what = What::Append { n, text, end };
        self.enqueue(now, op, room.to_owned(), id.to_owned(), what, record);
        op
    }

    /// Ends the stream `id` in `room` as `cancelled` (any member may; the server stores the
    /// end in the canceller's name). Queued like an append; completes with the seq of the
    /// stream's final piece, also when it had ended already.
    pub fn cancel(&mut self, now: Instant, room: &str, id: &str) -> OpId {
        let op = self.new_op();
        if let Some(e) = self.check_stream_call(room) {
            self.complete(op, Err(e));
            return op;
        }
        self.writers.close(room, id);
        let record = if self.config.persist {
            self.keep(Record::QueuedAppend(StoredAppend {
                room: room.to_owned(),
                id: id.to_owned(),
                n: None,
                text: String::new(),
                end: Some(StreamState::Cancelled),
            }))
        } else {
            0
        };
        self.enqueue(
            now,
            op,
            room.to_owned(),
            id.to_owned(),
            What::Cancel,
            record,
        );
        op
    }

    /// Why a stream's piece or cancel for `room` cannot even be queued: the client is closed
    /// or refused, the room is not the app's, or it will not connect.
    fn check_stream_call(&self, room: &str) -> Option<Error> {
        self.refusal()
            .or_else(|| (!self.has_room(room)).then(|| Error::NotJoined(room.to_owned())))
            .or_else(|| (!self.connects_on_demand()).then_some(Error::NotConnected))
    }

    fn check_publish(&self, req: &PublishRequest) -> Result<(), Error> {
        if let Some(refusal) = self.refusal() {
            return Err(refusal);
        }
        if !self.has_room(&req.room) {
            return Err(Error::NotJoined(req.room.clone()));
        }
        if req.ephemeral && !(self.is_connected() && self.is_joined(&req.room)) {
            return Err(Error::NotConnected);
        }
        if !req.ephemeral && !self.connects_on_demand() {
            return Err(Error::NotConnected);
        }
        if !req.ephemeral && self.queue.len() >= self.config.queue_capacity {
            return Err(Error::QueueFull {
                capacity: self.config.queue_capacity,
            });
        }
        let size = publish_frame_len(req);
        if size > self.max_frame {
            return Err(Error::TooLarge {
                size,
                max: self.max_frame,
            });
        }
        Ok(())
    }

    /// Sends every unsent queued publish whose room is joined (and, with a store, whose record
    /// is durable), oldest first.
    pub(crate) fn flush(&mut self, now: Instant) {
        if !self.is_connected() || self.timers.get(Timer::Retry).is_some() {
            return;
        }
        let deadline = now + self.config.request_timeout;
        let settled = self.settled_records();
        for entry in self.queue.iter_mut() {
            if entry.sent.is_some()
                || entry.record > settled
                || !self.rooms.get(&entry.room).is_some_and(|r| r.joined())
            {
                continue;
            }
            let ref_id = self.next_ref;
            self.next_ref += 1;
            entry.sent = Some(ref_id);
            let frame = match &entry.what {
                What::Publish {
                    event,
                    data,
                    stream: false,
                } => PublishText {
                    ref_id,
                    room: &entry.room,
                    id: &entry.id,
                    event,
                    data: data.json(),
                    ephemeral: false,
                }
                .encode(),
                What::Publish {
                    event,
                    data,
                    stream: true,
                } => ClientFrame::Publish(Publish {
                    ref_id,
                    room: entry.room.clone(),
                    id: entry.id.clone(),
                    event: event.clone(),
                    data: data.clone(),
                    ephemeral: false,
                    stream: true,
                })
                .encode(),
                What::Append { n, text, end } => ClientFrame::Append(AppendRequest {
                    ref_id,
                    room: entry.room.clone(),
                    id: entry.id.clone(),
                    n: *n,
                    text: text.clone(),
                    end: *end,
                })
                .encode(),
                What::Cancel => ClientFrame::Cancel(Cancel {
                    ref_id,
                    room: entry.room.clone(),
                    id: entry.id.clone(),
                })
                .encode(),
            };
            self.transmits.push_back(frame);
            self.requests.insert(ref_id, Request::Publish, deadline);
        }
        self.sync_request_timer();
    }

    /// The wait after a passing refusal is over: refused joins and publishes go out again.
    pub(crate) fn on_retry_timeout(&mut self, now: Instant) {
        self.timers.clear(Timer::Retry);
        self.rejoin_pending(now);
        self.flush(now);
    }

    pub(crate) fn on_ack(&mut self, ref_id: u64, a: protocol::Ack) {
        let Some(entry) = self.queue.take_sent(ref_id) else {
            return;
        };
        if let Some(seq) = a.seq {
            self.record_own(&entry.room, seq);
            self.own_stream_progress(&entry, seq);
            if let (What::Cancel, Some(n)) = (&entry.what, a.n) {
                self.own_cancel_stored(&entry, n, seq, a.ts);
            }
        }
        let ack = PublishAck {
            id: entry.id.clone(),
            seq: a.seq,
            ts: a.ts,
        };
        self.end_entry(entry, End::Stored(ack));
    }

    pub(crate) fn on_publish_refused(&mut self, now: Instant, ref_id: u64, e: ErrorFrame) {
        if passing(e.code) || self.came_too_early(ref_id, e.code) {
            // Keep the publish and send it again shortly.
            self.queue.unsend(ref_id);
            self.timers.set(Timer::Retry, now + RETRY_AFTER);
            return;
        }
        let Some(entry) = self.queue.take_sent(ref_id) else {
            return;
        };
        let err = match e.code {
            ErrorCode::TooLarge => {
                let max = self.max_frame;
                Error::TooLarge { size: max + 1, max }
            }
            code => Error::from_server(code, e.message, Some(&entry.room)),
        };
        self.end_entry(entry, End::Failed(err));
    }

    /// The one place a queue entry ends: it decides what the app is told and what the store
    /// keeps, so that a publish the app is told failed is never sent later, and one that will
    /// be sent later is reported as [`Error::Kept`]. The queue's table:
    ///
    /// | end | the app is told | with a store |
    /// |---|---|---|
    /// | [`End::Stored`] (ack, or its own message came back) | `Ok(ack)` | `Done` |
    /// | [`End::Failed`] (final refusal, room left or refused) | the error | `Done` |
    /// | [`End::Stopped`] (close, token refused, gave up) | `Kept(error)`; without a store, the error | stays for the next client |
    /// | [`End::NotKept`] (its record failed to write) | `Storage` | `Done`, should part of it have landed |
    pub(crate) fn end_entry(&mut self, entry: Entry, end: End) {
        let result = match end {
            End::Stored(ack) => Ok(Reply::Published(ack)),
            End::Failed(error) => Err(error),
            End::NotKept(reason) => Err(Error::Storage(reason)),
            End::Stopped(error) if self.config.persist => {
                return self.complete(entry.op, Err(Error::Kept(Box::new(error))));
            }
            End::Stopped(error) => Err(error),
        };
        if self.config.persist {
            let record = match entry.append_index() {
                None => Record::Done {
                    room: entry.room,
                    id: entry.id,
                },
                Some(n) => Record::DoneAppend {
                    room: entry.room,
                    id: entry.id,
                    n,
                },
            };
            self.keep(record);
        }
        self.complete(entry.op, result);
    }

    /// A stream's piece refused because its stream is not there yet (`not_found`) or its
    /// index is ahead of the server's count (`bad_request`), while its opening publish or an
    /// earlier piece is still queued (refused for a passing reason meanwhile): it is sent
    /// again after them, not failed.
    fn came_too_early(&self, ref_id: u64, code: ErrorCode) -> bool {
        if !matches!(code, ErrorCode::NotFound | ErrorCode::BadRequest) {
            return false;
        }
        let Some(entry) = self.queue.find_sent(ref_id) else {
            return false;
        };
        match entry.what {
            What::Append { n, .. } => self.queue.earlier_of_stream(&entry.room, &entry.id, n),
            What::Cancel => self
                .queue
                .earlier_of_stream(&entry.room, &entry.id, u64::MAX),
            What::Publish { .. } => false,
        }
    }

    /// A stored piece matching a queued piece of this client's came back (replayed on
    /// resume, or paged in): it was stored before its ack was lost, and this is its ack.
    /// Returns false when no queued piece matches.
    pub(crate) fn complete_own_append(&mut self, a: &protocol::Append) -> bool {
        let Some(entry) = self.queue.take_append(&a.room, &a.id, Some(a.n)) else {
            return false;
        };
        if let Some(ref_id) = entry.sent {
            self.requests.remove(ref_id);
            self.sync_request_timer();
        }
        self.record_own(&a.room, a.seq);
        self.own_stream_progress(&entry, a.seq);
        let ack = PublishAck {
            id: entry.id.clone(),
            seq: Some(a.seq),
            ts: a.ts,
        };
        self.end_entry(entry, End::Stored(ack));
        true
    }

    /// A stored message with a queued publish's id came back (replayed on resume, or paged
    /// in): that publish was stored before its ack was lost, and this message is its ack.
    /// Returns false when no queued publish has the id.
    pub(crate) fn complete_own(&mut self, m: &protocol::Message) -> bool {
        let Some(seq) = m.seq else {
            return false;
        };
        let Some(entry) = self.queue.take_id(&m.room, &m.id) else {
            return false;
        };
        if let Some(ref_id) = entry.sent {
            self.requests.remove(ref_id);
            self.sync_request_timer();
        }
        self.record_own(&m.room, seq);
        self.own_stream_progress(&entry, seq);
        let ack = PublishAck {
            id: entry.id.clone(),
            seq: Some(seq),
            ts: m.ts,
        };
        self.end_entry(entry, End::Stored(ack));
        true
    }
}

/// The encoded size of a publish frame; the ref, the only part that varies between sends, is
/// counted at its widest.
fn publish_frame_len(req: &PublishRequest) -> usize {
    let stream = if req.stream {
        r#","stream":true"#.len()
    } else {
        0
    };
    PublishText {
        ref_id: u64::MAX,
        room: &req.room,
        id: &req.id,
        event: &req.event,
        data: req.data.json(),
        ephemeral: req.ephemeral,
    }
    .len()
        + stream
}
