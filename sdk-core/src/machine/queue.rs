//! The offline queue: persisted publishes not yet acknowledged, in the order the app made them.
//!
//! An entry stays until the server acks it (or refuses it for good). It is sent when its room
//! is joined on a live connection, and sent again, with the same id, after every reconnect
//! until acked; the server's idempotency by `(room, id)` makes that exactly-once.

use std::collections::VecDeque;

use super::OpId;
use crate::protocol::Payload;

#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) op: OpId,
    pub(crate) room: String,
    pub(crate) id: String,
    pub(crate) event: String,
    pub(crate) data: Payload,
    /// The ref of the `publish` frame in flight on the current connection.
    pub(crate) sent: Option<u64>,
    /// Number of its `Queued` record with a store (sent only once durable); 0 without.
    pub(crate) record: u64,
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

    pub(crate) fn snapshot(&self) -> Vec<super::StoredPublish> {
        self.entries
            .iter()
            .map(|e| super::StoredPublish {
                room: e.room.clone(),
                id: e.id.clone(),
                event: e.event.clone(),
                data: e.data.clone(),
            })
            .collect()
    }

    /// Removes the entries whose record is in `(after, upto]`: the store could not keep them.
    pub(crate) fn take_records(&mut self, after: u64, upto: u64) -> Vec<Entry> {
        let (gone, kept): (VecDeque<Entry>, VecDeque<Entry>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| e.record > after && e.record <= upto);
        self.entries = kept;
        gone.into()
    }

    /// Removes the entry of `room` with message id `id`.
    pub(crate) fn take_id(&mut self, room: &str, id: &str) -> Option<Entry> {
        let at = self
            .entries
            .iter()
            .position(|e| e.room == room && e.id == id)?;
        self.entries.remove(at)
    }
}
