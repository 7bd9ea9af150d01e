//! The rooms the app has joined: joining and rejoining, leaving, presence, and deduplicated
//! in-order delivery of their messages. What a resume could not replay is paged in by
//! [`resume`](super::resume).

use litemap::LiteMap;
use web_time::Instant;

use super::publish::End;
use super::requests::Request;
use super::resume::{Catchup, Item};
use super::streams::Streams;
use super::timers::Timer;
use super::{Error, Event, Gap, JoinInfo, Machine, OpId, Reply};
use crate::protocol::{self, ClientFrame, Join, Leave, Message, Presence};

/// What a room's resume does when the server's replay limit cut it short.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResumeMode {
    /// Page the missed messages in with `history` and deliver them before newer ones: the app
    /// sees one contiguous run of seqs. The default.
    #[default]
    Full,
    /// Take only what the server replays and report the rest as a [`Gap`] (a dashboard tile
    /// that shows the newest state).
    Latest,
}

/// How to join a room.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinOptions {
    /// Highest seq the app already has (from an earlier run); first join only.
    pub since: Option<u64>,
    /// The epoch that seq belongs to.
    pub epoch: Option<String>,
    pub resume: ResumeMode,
}

/// Where a room stands on the current connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Not asked for on this connection yet (offline, or waiting for the handshake).
    Pending,
    /// `join` sent, `joined` not received yet.
    Joining,
    /// `joined` received: publishes for it may flow.
    Joined,
}

#[derive(Debug)]
pub(crate) struct Room {
    pub(crate) status: Status,
    pub(crate) mode: ResumeMode,
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
    /// Messages held back while older ones are paged in.
    pub(crate) catchup: Catchup,
    /// Its open streams as the app has them.
    pub(crate) streams: Streams,
    /// For a store's position: the highest seq handed to the app as a message, the highest
    /// the app's handlers are done with, and the position before the oldest message they are
    /// not done with.
    delivered: Option<u64>,
    handled: Option<u64>,
    floor: Option<u64>,
}

impl Room {
    pub(crate) fn new(options: JoinOptions) -> Self {
        Self {
            status: Status::Pending,
            mode: options.resume,
            last_seq: options.since,
            epoch: options.epoch,
            waiters: Vec::new(),
            ever_joined: false,
            own: Vec::new(),
            catchup: Catchup::default(),
            streams: Streams::default(),
            delivered: None,
            handled: None,
            floor: None,
        }
    }

    /// A message with `seq` was handed to the app; `before` was the position until then.
    fn note_delivered(&mut self, before: Option<u64>, seq: u64) {
        if self.handled >= self.delivered {
            self.floor = before;
        }
        self.delivered = Some(seq);
    }

    /// The app's handlers are done with every message up to `seq`. A report above what was
    /// delivered (from before a new epoch) is ignored.
    pub(crate) fn handled(&mut self, seq: u64) {
        if Some(seq) <= self.delivered && Some(seq) > self.handled {
            self.handled = Some(seq);
        }
    }

    /// The position a store may keep: everything up to it reached the app and was handled.
    pub(crate) fn safe_position(&self) -> Option<(String, u64)> {
        let seq = if self.handled >= self.delivered {
            self.last_seq
        } else {
            self.floor.max(self.handled)
        };
        Some((self.epoch.clone()?, seq?))
    }

    pub(crate) fn joined(&self) -> bool {
        self.status == Status::Joined
    }

    /// Takes a stored event's seq for the app: false when it has it already. A store's
    /// position counts it as delivered until the app reports it handled.
    pub(crate) fn take_for_app(&mut self, seq: u64) -> bool {
        let before = self.last_seq;
        if !self.accept(seq) {
            return false;
        }
        self.note_delivered(before, seq);
        true
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

    /// Moves the position up to `seq` (everything up to it is accounted for).
    pub(crate) fn advance_to(&mut self, seq: u64) {
        if self.last_seq.is_none_or(|last| last < seq) {
            self.last_seq = Some(seq);
        }
        self.absorb_own();
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
        self.streams.clear();
        self.delivered = None;
        self.handled = None;
        self.floor = None;
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

impl Machine {
    /// Highest seq delivered for `room` and the epoch it belongs to.
    pub fn position(&self, room: &str) -> Option<(u64, Option<&str>)> {
        let r = self.rooms.get(room)?;
        Some((r.last_seq?, r.epoch.as_deref()))
    }

    /// Whether `room` is joined on the current connection.
    pub fn is_joined(&self, room: &str) -> bool {
        self.rooms.get(room).is_some_and(Room::joined)
    }

    pub(crate) fn has_room(&self, room: &str) -> bool {
        self.rooms.contains_key(room)
    }

    /// Joins `room`; completes at the server's `joined`. On a client never connected it
    /// connects first (see [`Config::auto_connect`](super::Config::auto_connect)). Joined
    /// rooms are rejoined after every reconnect with the last seen `seq` and `epoch`, so
    /// nothing is missed; `options.since` and `options.epoch` resume from a position the app
    /// stored (first join only).
    pub fn join(&mut self, now: Instant, room: &str, options: JoinOptions) -> OpId {
        let op = self.new_op();
        if let Some(refusal) = self.refusal() {
            self.complete(op, Err(refusal));
            return op;
        }
        if let Err(e) = protocol::validate_room(room) {
            self.complete(op, Err(e.into()));
            return op;
        }
        match self.rooms.get_mut(room) {
            Some(r) if r.joined() => {
                let info = JoinInfo {
                    room: room.to_owned(),
                    seq: r.last_seq.unwrap_or(0),
                    epoch: r.epoch.clone().unwrap_or_default(),
                    recovered: true,
                    presence: Vec::new(),
                    rejoin: false,
                };
                self.complete(op, Ok(Reply::Joined(info)));
            }
            Some(r) => r.waiters.push(op),
            None => {
                if !self.connect_on_demand(now) {
                    self.complete(op, Err(Error::NotConnected));
                    return op;
                }
                let restored = self.take_restored(room);
                let options = match restored {
                    Some((epoch, seq)) if options.since.is_none() => JoinOptions {
                        since: Some(seq),
                        epoch: Some(epoch),
                        ..options
                    },
                    _ => options,
                };
                let mut r = Room::new(options);
                r.waiters.push(op);
                self.rooms.insert(room.to_owned(), r);
                self.send_join(now, room);
            }
        }
        op
    }

    /// Leaves `room`. Its messages stop at once; its queued publishes fail with `NotJoined`.
    pub fn leave(&mut self, now: Instant, room: &str) -> OpId {
        let op = self.new_op();
        let Some(r) = self.rooms.remove(room) else {
            self.complete(op, Err(Error::NotJoined(room.to_owned())));
            return op;
        };
        for waiter in r.waiters {
            self.complete(waiter, Err(Error::NotJoined(room.to_owned())));
        }
        for entry in self.queue.drain_room(room) {
            self.end_entry(entry, End::Failed(Error::NotJoined(room.to_owned())));
        }
        self.forget_position(room);
        if r.status == Status::Pending {
            self.complete(op, Ok(Reply::Left));
        } else {
            self.send_request(now, Request::Leave { op }, |ref_id| {
                ClientFrame::Leave(Leave {
                    ref_id,
                    room: room.to_owned(),
                })
            });
        }
        op
    }

    /// The server refused `room`'s join for a passing reason: it waits, as on a new
    /// connection, and is asked for again after [`RETRY_AFTER`](super::publish::RETRY_AFTER).
    pub(crate) fn retry_join(&mut self, now: Instant, room: &str) {
        if let Some(r) = self.rooms.get_mut(room) {
            r.status = Status::Pending;
            r.catchup.clear();
            self.timers
                .set(Timer::Retry, now + super::publish::RETRY_AFTER);
        }
    }

    /// Joins again the rooms a passing refusal left waiting (see [`retry_join`](Self::retry_join)).
    pub(crate) fn rejoin_pending(&mut self, now: Instant) {
        let rooms: Vec<String> = self
            .rooms
            .iter()
            .filter(|(_, r)| r.status == Status::Pending)
            .map(|(name, _)| name.clone())
            .collect();
        for room in rooms {
            self.send_join(now, &room);
        }
    }

    /// Rejoins every room on a new connection, each from its last position.
    pub(crate) fn rejoin_all(&mut self, now: Instant) {
        let rooms: Vec<String> = self.rooms.keys().cloned().collect();
        for room in rooms {
            self.send_join(now, &room);
        }
    }

    fn send_join(&mut self, now: Instant, room: &str) {
        if !self.is_connected() {
            return;
        }
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let (since, epoch) = match r.last_seq {
            Some(seq) => (Some(seq), r.epoch.clone()),
            None => (None, None),
        };
        r.status = Status::Joining;
        // What a resume replays is held until `joined` says whether it was complete.
        r.catchup
            .begin_join(since.is_some() && r.mode == ResumeMode::Full);
        let name = room.to_owned();
        let request = Request::Join {
            room: name.clone(),
            since,
        };
        self.send_request(now, request, |ref_id| {
            ClientFrame::Join(Join {
                ref_id,
                room: name,
                since,
                epoch,
            })
        });
    }

    pub(crate) fn on_joined(&mut self, now: Instant, since: Option<u64>, j: protocol::Joined) {
        let Some(room) = self.rooms.get_mut(&j.room) else {
            return;
        };
        let previous_epoch = room.epoch.clone();
        // A `since` sent without an epoch (an app's stored position) means the current one.
        let same_epoch = previous_epoch.as_deref().is_none_or(|e| e == j.epoch);
        // The server's history went back (restored from an older copy): it no longer has
        // what this client had past its head, and new messages reuse those seqs.
        let went_back = same_epoch && since.is_some_and(|s| s > j.seq);
        let full = room.mode == ResumeMode::Full;
        if same_epoch && !went_back {
            room.epoch = Some(j.epoch.clone());
        } else {
            room.reset_epoch(j.epoch.clone());
            room.catchup.clear();
            if went_back {
                room.advance_to(j.seq);
            } else if full {
                // A new epoch: its stored messages are delivered from the oldest one kept.
                room.advance_to(0);
            }
        }
        room.status = Status::Joined;
        let rejoin = room.ever_joined;
        room.ever_joined = true;
        let waiters = std::mem::take(&mut room.waiters);
        // The replay limit cut the resume short, or the replay overflowed the hold buffer, but
        // the server still has every message: page them in (complete resume) unless the room
        // only wants the newest. After a new epoch, everything it holds is paged in.
        let page_in = !went_back && full && (!same_epoch || !j.recovered || room.catchup.dropped());
        // The gap to report, as (since, head): what this client had past the head when the
        // server went back; the previous epoch's part after a new epoch (its size unknown);
        // else what the resume could not replay and will not page in.
        let gap = if went_back {
            Some((Some(j.seq), since.unwrap_or(j.seq)))
        } else if !same_epoch && full {
            Some((since, since.unwrap_or(0)))
        } else if !j.recovered && !page_in {
            room.catchup.clear();
            Some((since, j.seq))
        } else {
            None
        };
        if let Some((since, head)) = gap {
            self.events.push_back(Event::Gap(Gap {
                room: j.room.clone(),
                since,
                previous_epoch,
                head,
                epoch: j.epoch.clone(),
            }));
        }
        if !page_in {
            // Everything up to the head is replayed or reported: the position is the head.
            self.hand_over_held(now, &j.room);
            if let Some(room) = self.rooms.get_mut(&j.room) {
                room.advance_to(j.seq);
            }
        }
        let info = JoinInfo {
            room: j.room.clone(),
            seq: j.seq,
            epoch: j.epoch,
            recovered: j.recovered,
            presence: j.presence,
            rejoin,
        };
        self.events.push_back(Event::Joined(info.clone()));
        for op in waiters {
            self.complete(op, Ok(Reply::Joined(info.clone())));
        }
        if page_in {
            self.start_catchup(now, &j.room);
        }
        self.refetch_openings(now, &j.room);
        self.position_joined(now, &j.room);
        self.flush(now);
    }

    pub(crate) fn on_message(&mut self, now: Instant, m: Message) {
        let Some(room) = self.rooms.get(&m.room) else {
            return;
        };
        if room.status == Status::Pending {
            return;
        }
        if m.seq.is_none() {
            // Ephemeral: not ordered with stored messages, never replayed.
            if !room.catchup.suspended() {
                self.events.push_back(Event::Message(m));
            }
            return;
        }
        if self.complete_own(&m) {
            return;
        }
        self.receive(now, Item::Message(m));
    }

    /// A live piece of a streamed message.
    pub(crate) fn on_append(&mut self, now: Instant, a: protocol::Append) {
        if self
            .rooms
            .get(&a.room)
            .is_none_or(|r| r.status == Status::Pending)
        {
            return;
        }
        if self.complete_own_append(&a) {
            return;
        }
        self.receive(now, Item::Append(a));
    }

    pub(crate) fn on_presence(&mut self, p: Presence) {
        if self.rooms.contains_key(&p.room) {
            self.events.push_back(Event::Presence(p));
        }
    }

    /// Hands a persisted message to the app, unless it is a queued publish coming back (which
    /// it completes) or the app already has it.
    pub(crate) fn hand_over_stored(&mut self, m: Message) {
        if !self.complete_own(&m) {
            self.hand_over(m);
        }
    }

    /// The one place a persisted message is handed over to the app (as [`Event::Message`]),
    /// already matched against the queue; dropped when the app has it already.
    pub(crate) fn hand_over(&mut self, m: Message) {
        let (Some(room), Some(seq)) = (self.rooms.get_mut(&m.room), m.seq) else {
            return;
        };
        if room.take_for_app(seq) {
            if m.stream.is_some() {
                self.track_stream(&m);
            }
            self.events.push_back(Event::Message(m));
        }
    }

    pub(crate) fn record_own(&mut self, room: &str, seq: u64) {
        if let Some(r) = self.rooms.get_mut(room) {
            r.record_own(seq);
        }
    }

    /// The server refused a room: forget it and fail everything waiting on it.
    pub(crate) fn drop_room(&mut self, room: &str, error: Error) {
        let Some(r) = self.rooms.remove(room) else {
            return;
        };
        let rejoin = r.ever_joined;
        for op in r.waiters {
            self.complete(op, Err(error.clone()));
        }
        for entry in self.queue.drain_room(room) {
            self.end_entry(entry, End::Failed(error.clone()));
        }
        self.forget_position(room);
        if rejoin {
            self.events.push_back(Event::RoomLost {
                room: room.to_owned(),
                error,
            });
        }
    }

    /// The connection is gone: every room waits to be rejoined; what was held is dropped (the
    /// rejoin replays it from the last delivered seq).
    pub(crate) fn rooms_connection_lost(&mut self) {
        for (_, room) in self.rooms.iter_mut() {
            room.status = Status::Pending;
            room.catchup.clear();
            room.streams.connection_lost();
        }
    }

    /// Takes the waiters of every room for a state the client cannot leave on its own. Rooms
    /// never joined are forgotten (their `join` failed); joined ones too when `forget_all`.
    pub(crate) fn fail_room_waiters(&mut self, forget_all: bool) -> Vec<OpId> {
        let mut ops = Vec::new();
        for (_, room) in self.rooms.iter_mut() {
            ops.append(&mut room.waiters);
        }
        if forget_all {
            self.rooms.clear();
        } else {
            self.rooms.retain(|_, room| room.ever_joined);
        }
        ops
    }
}
