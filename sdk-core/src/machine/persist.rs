//! What the machine asks a host's store to keep, so that a client opened after a process kill
//! sends every unacknowledged publish once and resumes every room where the app was.
//!
//! The machine stays sans-IO: with [`Config::persist`](super::Config::persist) on, it emits
//! [`Output::Persist`](super::Output::Persist) records in order and learns from
//! [`Machine::persisted`] when a run of them reached the disk. A publish is sent only once its
//! record is durable, so a publish that fails with [`Error::Storage`](super::Error::Storage)
//! was never sent. A room's position is written at most every
//! [`Config::position_interval`](super::Config::position_interval), and at once on `pause`,
//! `close` and `leave`; it only counts messages the app's handlers were done with (reported
//! through [`Machine::handled`]), so a kill can repeat at most that interval's messages and
//! never skips one. A new client takes the kept state back with [`Machine::restore`].

use std::collections::{hash_map, BTreeMap, HashMap};

use web_time::Instant;

use super::publish::End;
use super::queue::{Entry, What};
use super::timers::Timer;
use super::{Machine, OpId, Reply};
use crate::protocol::{Payload, StreamState};

/// A persisted publish not yet acknowledged by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPublish {
    pub room: String,
    pub id: String,
    pub event: String,
    pub data: Payload,
    /// It opens a streamed message (see [`Machine::append`]).
    pub stream: bool,
}

/// A piece of a stream this client writes, or its cancel, not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAppend {
    pub room: String,
    /// The stream's opening message id.
    pub id: String,
    /// The append's index in its stream; `None` for a cancel.
    pub n: Option<u64>,
    pub text: String,
    /// Set on the append that ends the stream.
    pub end: Option<StreamState>,
}

/// Where a room's delivery stood: every message up to `seq` in `epoch` was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPosition {
    pub room: String,
    pub epoch: String,
    pub seq: u64,
}

/// One change to the kept state, in the order the machine made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A publish entered the offline queue.
    Queued(StoredPublish),
    /// A queued publish is settled for good: acknowledged, refused, or its room left.
    Done { room: String, id: String },
    /// A stream's piece (or cancel) entered the offline queue.
    QueuedAppend(StoredAppend),
    /// A queued piece (`n`) or cancel (`None`) is settled for good.
    DoneAppend {
        room: String,
        id: String,
        n: Option<u64>,
    },
    /// A room's resume position moved.
    Position(StoredPosition),
    /// The app left the room: its position is of no further use.
    Forget { room: String },
}

/// Everything a store holds: the queue in publish order and each room's position, as a store
/// hands it to [`Machine::restore`] (the live state its [`Record`]s add up to).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub publishes: Vec<StoredPublish>,
    pub positions: Vec<StoredPosition>,
    /// Stream pieces and cancels, in the order they were made.
    pub appends: Vec<StoredAppend>,
}

impl Snapshot {
    pub fn is_empty(&self) -> bool {
        self.publishes.is_empty() && self.positions.is_empty() && self.appends.is_empty()
    }
}

/// What a store holds, built by applying its records in order: the one reading of what each
/// [`Record`] does, shared by every store (the file store's journal reader and its compaction
/// alike). `Q` is what the store keeps per queued publish: the publish itself, or its
/// encoded record. Applying a record costs the same however many publishes are queued.
#[derive(Debug)]
pub struct KeptState<Q> {
    next: u64,
    /// Queued publishes and pieces by [`queue_key`], with their place in the queue: one map,
    /// ordered only when the queue is read (a compaction, a restore), not on every record.
    queue: HashMap<String, (u64, Q)>,
    positions: BTreeMap<String, StoredPosition>,
}

impl<Q> Default for KeptState<Q> {
    fn default() -> Self {
        Self {
            next: 0,
            queue: HashMap::new(),
            positions: BTreeMap::new(),
        }
    }
}

/// What applying a record changed, for a store that keeps sizes.
#[derive(Debug, PartialEq)]
pub enum Applied<Q> {
    /// A publish entered the queue.
    Queued,
    /// A queued publish left it.
    Done(Q),
    /// A room's position was set, replacing this one (if any).
    Position(Option<StoredPosition>),
    /// A room's position was removed.
    Forgotten(StoredPosition),
    /// Nothing: a publish already queued, or one or a room not there.
    Unchanged,
}

impl<Q> KeptState<Q> {
    /// Applies `record`; `keep` makes what is kept for a newly queued publish or append (it
    /// is given the `Queued` or `QueuedAppend` record). A queued record for one already
    /// queued keeps the first (its place in the queue).
    pub fn apply(&mut self, record: &Record, keep: impl FnOnce(&Record) -> Q) -> Applied<Q> {
        let key = match record {
            Record::Queued(p) => queue_key(&p.room, &p.id, None),
            Record::QueuedAppend(a) => queue_key(&a.room, &a.id, Some(a.n)),
            Record::Done { room, id } => queue_key(room, id, None),
            Record::DoneAppend { room, id, n } => queue_key(room, id, Some(*n)),
            Record::Position(_) | Record::Forget { .. } => String::new(),
        };
        match record {
            Record::Queued(_) | Record::QueuedAppend(_) => match self.queue.entry(key) {
                hash_map::Entry::Occupied(_) => Applied::Unchanged,
                hash_map::Entry::Vacant(slot) => {
                    self.next += 1;
                    slot.insert((self.next, keep(record)));
                    Applied::Queued
                }
            },
            Record::Done { .. } | Record::DoneAppend { .. } => self
                .queue
                .remove(&key)
                .map_or(Applied::Unchanged, |(_, q)| Applied::Done(q)),
            Record::Position(p) => {
                Applied::Position(self.positions.insert(p.room.clone(), p.clone()))
            }
            Record::Forget { room } => self
                .positions
                .remove(room)
                .map_or(Applied::Unchanged, Applied::Forgotten),
        }
    }

    /// The queued publishes and pieces, oldest first.
    pub fn queue(&self) -> impl Iterator<Item = &Q> {
        let mut queued: Vec<&(u64, Q)> = self.queue.values().collect();
        queued.sort_unstable_by_key(|(n, _)| *n);
        queued.into_iter().map(|(_, q)| q)
    }

    /// The rooms' positions, by room name.
    pub fn positions(&self) -> impl Iterator<Item = &StoredPosition> {
        self.positions.values()
    }
}

/// The key of a queued publish (`append` `None`) or of a stream's piece or cancel, in one
/// allocation: room names cannot hold NUL.
fn queue_key(room: &str, id: &str, append: Option<Option<u64>>) -> String {
    let mut key = String::with_capacity(room.len() + 1 + id.len() + 22);
    key.push_str(room);
    key.push('\0');
    key.push_str(id);
    match append {
        None => {}
        Some(None) => key.push_str("\0cancel"),
        Some(Some(n)) => {
            key.push('\0');
            crate::protocol::json::push_u64(&mut key, n);
        }
    }
    key
}

impl KeptState<Record> {
    /// The state as [`Machine::restore`] takes it.
    pub fn snapshot(&self) -> Snapshot {
        let mut snapshot = Snapshot {
            positions: self.positions().cloned().collect(),
            ..Snapshot::default()
        };
        for record in self.queue() {
            match record {
                Record::Queued(p) => snapshot.publishes.push(p.clone()),
                Record::QueuedAppend(a) => snapshot.appends.push(a.clone()),
                _ => {}
            }
        }
        snapshot
    }
}

/// The machine's side of the store: numbering of records and what is durable.
#[derive(Debug, Default)]
pub(crate) struct Persistence {
    /// Records emitted so far; a queue entry remembers the number of its `Queued` record.
    emitted: u64,
    /// Records the host reported written, successfully or not.
    settled: u64,
    /// Positions restored from the store, used by a room's first join without `since`.
    restored: Positions,
    /// Last position written (or restored) per room.
    kept: Positions,
    /// `close` calls, answered once the records up to the number are reported: the client's
    /// last positions and its queue are on disk when `close` resolves.
    closing: Vec<(OpId, u64)>,
}

/// Positions by room: a few rooms per client, so a list (and no map code in the wasm build).
#[derive(Debug, Default)]
struct Positions(Vec<StoredPosition>);

impl Positions {
    fn get(&self, room: &str) -> Option<(&str, u64)> {
        self.0
            .iter()
            .find(|p| p.room == room)
            .map(|p| (p.epoch.as_str(), p.seq))
    }

    fn insert(&mut self, position: StoredPosition) {
        match self.0.iter_mut().find(|p| p.room == position.room) {
            Some(p) => *p = position,
            None => self.0.push(position),
        }
    }

    fn remove(&mut self, room: &str) -> Option<StoredPosition> {
        let at = self.0.iter().position(|p| p.room == room)?;
        Some(self.0.swap_remove(at))
    }
}

impl Persistence {
    fn next(&mut self) -> u64 {
        self.emitted += 1;
        self.emitted
    }
}

impl Machine {
    /// Takes back what a store kept for this client: the unacknowledged publishes are queued
    /// again in their order (sent once their room is joined, with their original ids, so the
    /// server stores each once), and each room's position is where its first
    /// [`join`](Self::join) without `since` resumes. Call it before [`connect`](Self::connect).
    /// Returns the restored publishes' operations, whose outcomes arrive as usual.
    ///
    /// A restored queue longer than [`Config::queue_capacity`](super::Config::queue_capacity)
    /// is kept whole; new publishes fail with `QueueFull` until it drains.
    pub fn restore(&mut self, snapshot: Snapshot) -> Vec<OpId> {
        let mut ops = Vec::with_capacity(snapshot.publishes.len());
        for p in snapshot.publishes {
            let op = self.new_op();
            ops.push(op);
            if p.stream {
                self.writers.open(&p.room, &p.id);
            }
            self.queue.push(Entry {
                op,
                room: p.room,
                id: p.id,
                what: What::Publish {
                    event: p.event,
                    data: p.data,
                    stream: p.stream,
                },
                sent: None,
                record: 0,
            });
        }
        // A stream's pieces after its opening publish (or after what the server has), each
        // with its index, so the server applies each once.
        for a in snapshot.appends {
            let op = self.new_op();
            if let Some(n) = a.n {
                self.writers.restored(&a.room, &a.id, n, a.end.is_some());
            }
            self.queue.push(Entry {
                op,
                room: a.room,
                id: a.id,
                what: match a.n {
                    Some(n) => What::Append {
                        n,
                        text: a.text,
                        end: a.end,
                    },
                    None => What::Cancel,
                },
                sent: None,
                record: 0,
            });
        }
        for p in snapshot.positions {
            self.persist.kept.insert(p.clone());
            self.persist.restored.insert(p);
        }
        ops
    }

    /// The host's store wrote (`Ok`) or failed to write (`Err`, with the reason) every record
    /// it drained up to number `upto` (see [`Output::Persist`](super::Output::Persist)); the
    /// records before it were reported earlier. A host writes in order, so a number at or
    /// below one already reported changes nothing. Publishes whose record failed fail with
    /// [`Error::Storage`](super::Error::Storage) and are never sent; durable ones go out.
    pub fn persisted(&mut self, now: Instant, upto: u64, result: Result<(), String>) {
        let before = self.persist.settled;
        let upto = upto.min(self.persist.emitted);
        if upto <= before {
            return;
        }
        self.persist.settled = upto;
        if let Err(reason) = result {
            let failed = self.queue.take_records(before, upto);
            for entry in failed {
                self.end_entry(entry, End::NotKept(reason.clone()));
            }
            // Positions in the failed run are written again at the next interval.
            self.persist.kept.0.clear();
            self.schedule_positions(now);
        }
        self.answer_closing();
        self.flush(now);
    }

    /// Records made that the host has not reported on yet.
    pub fn unwritten(&self) -> u64 {
        self.persist.emitted - self.persist.settled
    }

    /// `close` resolves once what the client leaves behind is written; without a store, or
    /// with everything written, at once.
    pub(crate) fn answer_close(&mut self, op: OpId) {
        if self.unwritten() == 0 {
            self.complete(op, Ok(Reply::Closed));
        } else {
            let upto = self.persist.emitted;
            self.persist.closing.push((op, upto));
        }
    }

    fn answer_closing(&mut self) {
        let settled = self.persist.settled;
        let (done, waiting) = std::mem::take(&mut self.persist.closing)
            .into_iter()
            .partition(|(_, upto)| *upto <= settled);
        self.persist.closing = waiting;
        for (op, _) in done {
            self.complete(op, Ok(Reply::Closed));
        }
    }

    /// The app's handlers are done with every message of `room` delivered up to `seq`. With
    /// a store, this is what a room's kept position may advance to.
    pub fn handled(&mut self, now: Instant, room: &str, seq: u64) {
        if !self.config.persist {
            return;
        }
        if let Some(r) = self.rooms.get_mut(room) {
            r.handled(seq);
            self.schedule_positions(now);
        }
    }

    /// Records the host has reported on: queued publishes up to this number may be sent.
    pub(crate) fn settled_records(&self) -> u64 {
        self.persist.settled
    }

    /// Emits a record when a store is configured; its number, 0 otherwise.
    pub(crate) fn keep(&mut self, record: Record) -> u64 {
        if !self.config.persist {
            return 0;
        }
        let n = self.persist.next();
        self.records.push_back((n, record));
        n
    }

    /// A room's position may have moved: write it within the interval.
    pub(crate) fn schedule_positions(&mut self, now: Instant) {
        if self.config.persist && self.timers.get(Timer::Persist).is_none() {
            self.timers
                .set(Timer::Persist, now + self.config.position_interval);
        }
    }

    pub(crate) fn on_persist_timeout(&mut self) {
        self.timers.clear(Timer::Persist);
        self.keep_positions();
    }

    /// Writes every room's position that moved since it was last written.
    pub(crate) fn keep_positions(&mut self) {
        if !self.config.persist {
            return;
        }
        let mut moved = Vec::new();
        for (name, room) in self.rooms.iter() {
            let Some(position) = room.safe_position() else {
                continue;
            };
            let (epoch, seq) = &position;
            if self.persist.kept.get(name) != Some((epoch.as_str(), *seq)) {
                moved.push(StoredPosition {
                    room: name.clone(),
                    epoch: epoch.clone(),
                    seq: *seq,
                });
            }
        }
        for position in moved {
            self.persist.kept.insert(position.clone());
            self.keep(Record::Position(position));
        }
    }

    /// `room` was (re)joined. A room the store has no position for gets one at once: a kill
    /// right after its first join must still resume from there, not from a later head.
    pub(crate) fn position_joined(&mut self, now: Instant, room: &str) {
        if !self.config.persist {
            return;
        }
        if self.persist.kept.get(room).is_some() {
            self.schedule_positions(now);
        } else {
            self.keep_positions();
        }
    }

    /// The app left `room`: its kept position goes.
    pub(crate) fn forget_position(&mut self, room: &str) {
        self.persist.restored.remove(room);
        if self.persist.kept.remove(room).is_some() {
            self.keep(Record::Forget {
                room: room.to_owned(),
            });
        }
    }

    /// The restored position of `room`, taken by its first join.
    pub(crate) fn take_restored(&mut self, room: &str) -> Option<(String, u64)> {
        self.persist.restored.remove(room).map(|p| (p.epoch, p.seq))
    }
}
