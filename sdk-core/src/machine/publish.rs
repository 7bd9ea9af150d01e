//! A publish's life: checked, queued (persisted ones, also while offline), sent once its room
//! is joined, re-sent with the same id after every reconnect, and completed by its ack, by its
//! own message replayed on resume, or by a final refusal.

use std::time::Duration;

use web_time::Instant;

use super::persist::{Record, StoredPublish};
use super::queue::Entry;
use super::requests::{passing, Request};
use super::timers::Timer;
use super::{Error, Machine, OpId, PublishAck, Reply};
use crate::protocol::{self, ClientFrame, ErrorCode, ErrorFrame, Payload, Publish, PublishText};

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
                }))
            } else {
                0
            };
            self.queue.push(Entry {
                op,
                room: req.room,
                id: req.id,
                event: req.event,
                data: req.data,
                sent: None,
                record,
            });
            self.connect_on_demand(now);
            self.flush(now);
        }
        op
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
            self.transmits.push_back(
                PublishText {
                    ref_id,
                    room: &entry.room,
                    id: &entry.id,
                    event: &entry.event,
                    data: entry.data.json(),
                    ephemeral: false,
                }
                .encode(),
            );
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
        }
        let ack = PublishAck {
            id: entry.id.clone(),
            seq: a.seq,
            ts: a.ts,
        };
        self.end_entry(entry, End::Stored(ack));
    }

    pub(crate) fn on_publish_refused(&mut self, now: Instant, ref_id: u64, e: ErrorFrame) {
        if passing(e.code) {
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
            self.keep(Record::Done {
                room: entry.room,
                id: entry.id,
            });
        }
        self.complete(entry.op, result);
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
    PublishText {
        ref_id: u64::MAX,
        room: &req.room,
        id: &req.id,
        event: &req.event,
        data: req.data.json(),
        ephemeral: req.ephemeral,
    }
    .len()
}
