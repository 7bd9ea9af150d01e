//! The offline queue: persisted publishes not yet acknowledged, in the order the app made them.
//!
//! An entry stays until the server acks it (or refuses it for good). It is sent when its room
//! is joined on a live connection, and sent again, with the same id, after every reconnect
//! until acked; the server's idempotency by `(room, id)` makes that exactly-once.

use std::collections::VecDeque;

use super::OpId;
use crate::protocol::{Payload, StreamState};

#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) op: OpId,
    pub(crate) room: String,
    /// The message's id (a stream's pieces: their stream's).
    pub(crate) id: String,
    pub(crate) what: What,
    /// The ref of the `publish` frame in flight on the current connection.
    pub(crate) sent: Option<u64>,
    /// Number of its `Queued` record with a store (sent only once durable); 0 without.
    pub(crate) record: u64,
}

/// What a queue entry sends.
#[derive(Debug)]
pub(crate) enum What {
    /// A persisted publish (`stream`: it opens a stream).
    Publish {
        event: String,
        data: Payload,
        stream: bool,
    },
    /// Piece `n` of a stream this client writes.
    Append {
        n: u64,
        text: String,
        end: Option<StreamState>,
    },
    /// The end of a stream, by any member.
    Cancel,
}

impl Entry {
    /// Its piece's index when it is a stream's piece; `Some(None)` for a cancel.
    pub(crate) fn append_index(&self) -> Option<Option<u64>> {
        match self.what {
            What::Publish { .. } => None,
            What::Append { n, .. } => Some(Some(n)),
            What::Cancel => Some(None),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Queue {
    entries: VecDeque<Entry>,
}

impl Queue {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn push(&mut self, entry: Entry) {
        self.entries.push_back(entry);
    }

    /// Removes and returns the entry in flight under `ref_id`.
    pub(crate) fn take_sent(&mut self, ref_id: u64) -> Option<Entry> {
        let at = self.entries.iter().position(|e| e.sent == Some(ref_id))?;
        self.entries.remove(at)
    }

    /// The entry in flight under `ref_id`.
    pub(crate) fn find_sent(&self, ref_id: u64) -> Option<&Entry> {
        self.entries.iter().find(|e| e.sent == Some(ref_id))
    }

    /// Marks the entry in flight under `ref_id` as unsent again, to go out on the next flush.
    pub(crate) fn unsend(&mut self, ref_id: u64) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.sent == Some(ref_id)) {
            e.sent = None;
        }
    }

    /// Every entry is unsent again (the connection is gone).
    pub(crate) fn unsend_all(&mut self) {
        for e in &mut self.entries {
            e.sent = None;
        }
    }

    /// Removes every entry of `room`, oldest first.
    pub(crate) fn drain_room(&mut self, room: &str) -> Vec<Entry> {
        let (gone, kept): (VecDeque<Entry>, VecDeque<Entry>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| e.room == room);
        self.entries = kept;
        gone.into()
    }

    pub(crate) fn drain_all(&mut self) -> impl Iterator<Item = Entry> + '_ {
        self.entries.drain(..)
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Entry> {
        self.entries.iter_mut()
    }

    /// The queued publishes (not streams' pieces), oldest first.
    pub(crate) fn snapshot(&self) -> Vec<super::StoredPublish> {
        self.entries
            .iter()
            .filter_map(|e| match &e.what {
                What::Publish {
                    event,
                    data,
                    stream,
                } => Some(super::StoredPublish {
                    room: e.room.clone(),
                    id: e.id.clone(),
                    event: event.clone(),
                    data: data.clone(),
                    stream: *stream,
                }),
                _ => None,
            })
            .collect()
    }

    /// Whether an entry of stream `id` in `room` before index `n` (its opening publish or an
    /// earlier piece) is still queued: a piece the server refused for coming too early is
    /// sent again after it.
    pub(crate) fn earlier_of_stream(&self, room: &str, id: &str, n: u64) -> bool {
        self.entries.iter().any(|e| {
            e.room == room
                && e.id == id
                && match e.what {
                    What::Publish { stream, .. } => stream,
                    What::Append { n: m, .. } => m < n,
                    What::Cancel => false,
                }
        })
    }

    /// Removes the queued piece `n` (or the cancel, `None`) of stream `id` in `room`.
    pub(crate) fn take_append(&mut self, room: &str, id: &str, n: Option<u64>) -> Option<Entry> {
        let at = self
            .entries
            .iter()
            .position(|e| e.room == room && e.id == id && e.append_index() == Some(n))?;
        self.entries.remove(at)
    }

    /// Removes the entries whose record is in `(after, upto]`: the store could not keep them.
    pub(crate) fn take_records(&mut self, after: u64, upto: u64) -> Vec<Entry> {
        let (gone, kept): (VecDeque<Entry>, VecDeque<Entry>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| e.record > after && e.record <= upto);
        self.entries = kept;
        gone.into()
    }

    /// Removes the publish of `room` with message id `id`.
    pub(crate) fn take_id(&mut self, room: &str, id: &str) -> Option<Entry> {
        let at = self
            .entries
            .iter()
            .position(|e| e.room == room && e.id == id && matches!(e.what, What::Publish { .. }))?;
        self.entries.remove(at)
    }
}
