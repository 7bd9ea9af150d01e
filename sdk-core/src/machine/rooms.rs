//! The rooms the app has joined and where each one's history stands.

use litemap::LiteMap;

use super::OpId;

/// Where a room stands on the current connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Not asked for on this connection yet (offline, or waiting for the handshake).
    Pending,
    /// `join` sent with this ref.
    Joining(u64),
    /// `joined` received: publishes for it may flow.
    Joined,
}

#[derive(Debug)]
pub(crate) struct Room {
    pub(crate) status: Status,
    /// Highest persisted seq delivered to the app, in `epoch`.
    pub(crate) last_seq: Option<u64>,
    pub(crate) epoch: Option<String>,
    /// App `join` calls waiting for the first `joined`.
    pub(crate) waiters: Vec<OpId>,
    /// Whether a `joined` was ever received (a later one is a rejoin).
    pub(crate) ever_joined: bool,
    /// Seqs above `last_seq` of this client's own acknowledged publishes. The server does not
    /// echo a publish to its connection, but a resume replays everything after `since`; these
    /// are skipped there so the app never sees its own message come back as new. Sorted; a
    /// handful at most, so a vector beats a tree (and keeps the wasm client small).
    own: Vec<u64>,
}

impl Room {
    pub(crate) fn new(since: Option<u64>, epoch: Option<String>) -> Self {
        Self {
            status: Status::Pending,
            last_seq: since,
            epoch,
            waiters: Vec::new(),
            ever_joined: false,
            own: Vec::new(),
        }
    }

    /// Records a persisted message's seq; false when the app already has it (delivered
    /// before, or its own acknowledged publish).
    pub(crate) fn accept(&mut self, seq: u64) -> bool {
        if self.last_seq.is_some_and(|last| seq <= last) || self.take_own(seq) {
            return false;
        }
        self.last_seq = Some(seq);
        self.absorb_own();
        true
    }

    /// Records the seq of this client's own acknowledged publish.
    pub(crate) fn record_own(&mut self, seq: u64) {
        if self.last_seq.is_some_and(|last| seq <= last) {
            return;
        }
        if let Err(at) = self.own.binary_search(&seq) {
            self.own.insert(at, seq);
        }
        self.absorb_own();
    }

    /// A new epoch: seqs restart, so positions from the old one mean nothing.
    pub(crate) fn reset_epoch(&mut self, epoch: String) {
        self.epoch = Some(epoch);
        self.last_seq = None;
        self.own.clear();
    }

    /// Advances `last_seq` over own seqs that directly follow it: nothing from anyone else
    /// can sit between them.
    fn absorb_own(&mut self) {
        while let Some(next) = self.last_seq.map(|last| last + 1) {
            if !self.take_own(next) {
                break;
            }
            self.last_seq = Some(next);
        }
        if let Some(last) = self.last_seq {
            let stale = self.own.partition_point(|&seq| seq <= last);
            self.own.drain(..stale);
        }
    }

    /// Removes `seq` from the own seqs; whether it was there.
    fn take_own(&mut self, seq: u64) -> bool {
        match self.own.binary_search(&seq) {
            Ok(at) => {
                self.own.remove(at);
                true
            }
            Err(_) => false,
        }
    }
}

/// Joined rooms by name, in name order. A sorted vector: apps join a few rooms, and it keeps
/// the wasm client far smaller than a B-tree.
pub(crate) type Rooms = LiteMap<String, Room>;
