//! Complete resume: what the server's replay limit cut short is paged in with `history` and
//! delivered before anything newer, so the app sees one contiguous run of seqs per room.
//!
//! While a room catches up, the persisted messages that arrive (the replay, then live ones)
//! are held, in seq order, in a buffer bounded in bytes ([`Config::hold_bytes`]). Pages are
//! asked for one at a time, each at most [`MAX_HISTORY_LIMIT`] messages, from the room's
//! position up to the first held message; once the pages reach the held ones, those are
//! delivered and the room is live again. When the buffer is full, later arrivals are dropped
//! rather than kept: the server stores them, so they are paged in after the held ones. Memory
//! therefore stays bounded however long the outage and however fast the publishers, and
//! nothing is lost. A [`Gap`] is reported only for seqs the server no longer has.
//!
//! The same mechanism lets a driver push back when the app's handlers fall behind:
//! [`Machine::suspend_delivery`] stops a room's persisted messages (they are dropped, to be
//! paged in later) and [`Machine::resume_delivery`] catches up from the last one delivered.
//!
//! [`Config::hold_bytes`]: super::Config::hold_bytes

use std::collections::VecDeque;

use web_time::Instant;

use super::requests::{passing, Request};
use super::{Error, Event, Gap, Machine};
use crate::protocol::{
    Append, ClientFrame, ErrorFrame, HistoryRequest, Message, MAX_HISTORY_LIMIT,
};

/// A stored room event: a message, or a piece of a streamed one. Both have a seq of the room.
#[derive(Debug)]
pub(crate) enum Item {
    Message(Message),
    Append(Append),
}

impl Item {
    fn seq(&self) -> Option<u64> {
        match self {
            Item::Message(m) => m.seq,
            Item::Append(a) => Some(a.seq),
        }
    }

    /// Its memory footprint, near enough for a bound.
    fn size(&self) -> usize {
        match self {
            Item::Message(m) => approx_size(m),
            Item::Append(a) => 160 + a.room.len() + a.id.len() + a.text.len() + a.from.user.len(),
        }
    }
}

/// A room's held messages and where its catch-up stands.
#[derive(Debug, Default)]
pub(crate) struct Catchup {
    /// Arrivals are held (or dropped) instead of delivered.
    active: bool,
    /// Stored events kept back, ascending by seq.
    held: VecDeque<Item>,
    held_bytes: usize,
    /// An arrival was dropped (buffer full, or delivery suspended): the pages must go past
    /// the held messages.
    dropped: bool,
    /// The app cannot keep up: arrivals are dropped and no page is asked for.
    suspended: bool,
}

impl Catchup {
    /// A join is being sent: hold what it replays when `hold` (a resume of a full room).
    pub(crate) fn begin_join(&mut self, hold: bool) {
        self.clear();
        self.active = hold;
    }

    /// Forgets what is held (the connection is gone, or a new epoch began).
    pub(crate) fn clear(&mut self) {
        self.active = false;
        self.held.clear();
        self.held_bytes = 0;
        self.dropped = false;
    }

    pub(crate) fn dropped(&self) -> bool {
        self.dropped
    }

    pub(crate) fn suspended(&self) -> bool {
        self.suspended
    }

    /// Holds `m`, or drops it when the buffer is full (or already dropped one: the held run
    /// stays contiguous and everything after it is paged in).
    fn hold(&mut self, m: Item, cap: usize) {
        let size = m.size();
        if self.suspended || self.dropped || self.held_bytes + size > cap {
            self.dropped = true;
            return;
        }
        self.held_bytes += size;
        self.held.push_back(m);
    }

    fn first_held(&self) -> Option<u64> {
        self.held.front().and_then(Item::seq)
    }

    /// Takes the oldest held event.
    fn pop_held(&mut self) -> Option<Item> {
        let m = self.held.pop_front()?;
        self.held_bytes = self.held_bytes.saturating_sub(m.size());
        Some(m)
    }

    /// Takes every held event.
    fn take_held(&mut self) -> VecDeque<Item> {
        self.held_bytes = 0;
        std::mem::take(&mut self.held)
    }
}

/// A message's memory footprint, near enough for a bound.
fn approx_size(m: &Message) -> usize {
    const OVERHEAD: usize = 160;
    OVERHEAD
        + m.room.len()
        + m.id.len()
        + m.event.len()
        + m.data.json().len()
        + m.from.user.len()
        + m.from.client.len()
        + m.from.source.len()
        + m.from.name.as_ref().map_or(0, String::len)
}

impl Machine {
    /// Bytes of messages held back across rooms while they catch up; at most
    /// [`Config::hold_bytes`](super::Config::hold_bytes) per room.
    pub fn held_bytes(&self) -> usize {
        self.rooms.iter().map(|(_, r)| r.catchup.held_bytes).sum()
    }

    /// A stored event that is not a duplicate of an own publish: handed over, or held while
    /// the room catches up.
    pub(crate) fn receive(&mut self, now: Instant, item: Item) {
        let cap = self.config.hold_bytes;
        let room_name = match &item {
            Item::Message(m) => &m.room,
            Item::Append(a) => &a.room,
        };
        let Some(room) = self.rooms.get_mut(room_name) else {
            return;
        };
        if room
            .last_seq
            .is_some_and(|last| item.seq().is_some_and(|s| s <= last))
        {
            return;
        }
        if room.catchup.active || room.catchup.suspended {
            room.catchup.hold(item, cap);
        } else {
            // `on_message` already matched a message against the queue.
            self.hand_over_item(now, item);
        }
    }

    /// Hands a stored event over: a message once, an append through its stream's count rule.
    fn hand_over_item(&mut self, now: Instant, item: Item) {
        match item {
            Item::Message(m) => self.hand_over(m),
            Item::Append(a) => self.accept_append(now, a),
        }
    }

    /// Like [`hand_over_item`](Self::hand_over_item), for an event not yet matched against
    /// the queue (held, or paged in).
    fn hand_over_stored_item(&mut self, now: Instant, item: Item) {
        match item {
            Item::Message(m) => self.hand_over_stored(m),
            Item::Append(a) => {
                if !self.complete_own_append(&a) {
                    self.accept_append(now, a);
                }
            }
        }
    }

    /// An append's seq is the room's next one (the app has not had it): through the count
    /// rule. Its seq moves the room's position like a message's.
    fn accept_append(&mut self, now: Instant, a: Append) {
        let Some(room) = self.rooms.get_mut(&a.room) else {
            return;
        };
        if room.take_for_app(a.seq) {
            self.hand_over_append(now, a);
        }
    }

    /// Delivers what `room` holds and goes live, unless something was dropped: then it keeps
    /// catching up.
    pub(crate) fn hand_over_held(&mut self, now: Instant, room: &str) {
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let held = r.catchup.take_held();
        r.catchup.active = false;
        for m in held {
            self.hand_over_stored_item(now, m);
        }
        if self.rooms.get(room).is_some_and(|r| r.catchup.dropped) {
            self.start_catchup(now, room);
        }
    }

    /// Starts (or goes on) paging `room`'s missed messages in.
    pub(crate) fn start_catchup(&mut self, now: Instant, room: &str) {
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        r.catchup.active = true;
        if r.catchup.suspended || !r.joined() || self.requests.paging(room) {
            return;
        }
        let Some(last) = r.last_seq else {
            // No position to page from: what is held is all there is.
            self.hand_over_held(now, room);
            return;
        };
        let page = u64::from(MAX_HISTORY_LIMIT);
        let (before, bounded) = match r.catchup.first_held() {
            Some(first) if first <= last + 1 + page => (first, true),
            _ => (last + 1 + page, false),
        };
        if before <= last + 1 {
            // The held messages follow on directly.
            self.after_page(now, room, before, bounded, false);
            return;
        }
        if !bounded {
            // The pages now reach past every held message: arrivals may be kept again.
            r.catchup.dropped = r.catchup.dropped && !r.catchup.held.is_empty();
        }
        let limit = (before - last - 1) as u32;
        let name = room.to_owned();
        let request = Request::Catchup {
            room: name.clone(),
            before,
            bounded,
        };
        self.send_request(now, request, |ref_id| {
            ClientFrame::History(HistoryRequest {
                ref_id,
                room: name,
                before: Some(before),
                limit: Some(limit),
            })
        });
    }

    /// A page of `room`'s missed events: every stored message and stream append with
    /// `seq < before` newer than the room's position, handed over in seq order.
    pub(crate) fn on_page(
        &mut self,
        now: Instant,
        room: &str,
        before: u64,
        bounded: bool,
        messages: Vec<Message>,
        appends: Vec<Append>,
    ) {
        let Some(r) = self.rooms.get(room) else {
            return;
        };
        if r.catchup.suspended || !r.catchup.active {
            // Asked again once delivery resumes.
            return;
        }
        let mut covered = r.last_seq.unwrap_or(0);
        let mut full = false;
        // Only this room's stored events inside the window asked for count, in seq order.
        let inside = |seq: Option<u64>| seq.filter(|&s| s < before && s > covered);
        let mut items: Vec<(u64, Item)> = messages
            .into_iter()
            .filter(|m| m.room == room)
            .filter_map(|m| Some((inside(m.seq)?, Item::Message(m))))
            .chain(
                appends
                    .into_iter()
                    .filter(|a| a.room == room)
                    .filter_map(|a| Some((inside(Some(a.seq))?, Item::Append(a)))),
            )
            .collect();
        items.sort_by_key(|(seq, _)| *seq);
        // Appends folded into a streamed message of this page are not sent on their own: up
        // to that many missing seqs after it are theirs, not a gap. (Retention trims from the
        // oldest seq up, so a real gap is never after a message the page holds.)
        let mut folded = 0u64;
        for (seq, item) in items {
            if seq <= covered {
                continue;
            }
            let absorbed = (seq - covered - 1).min(folded);
            folded -= absorbed;
            covered += absorbed;
            if seq > covered + 1 {
                // Seqs the server no longer has (retention): the one gap that stays.
                self.report_gap(room, covered, seq - 1);
            }
            covered = seq;
            full = seq + 1 == before;
            if let Item::Message(m) = &item {
                folded += m.stream.as_ref().map_or(0, |s| s.n);
            }
            self.hand_over_stored_item(now, item);
        }
        if folded > 0 && covered + 1 < before {
            covered += (before - 1 - covered).min(folded);
            full = covered + 1 == before;
        }
        if let Some(r) = self.rooms.get_mut(room) {
            r.advance_to(covered);
        }
        self.after_page(now, room, before, bounded, full);
    }

    /// After a page (or when the held messages follow on directly): close a hole the server
    /// cannot fill, deliver the held run, and ask for the next page or go live.
    fn after_page(&mut self, now: Instant, room: &str, before: u64, bounded: bool, full: bool) {
        let Some(last) = self.rooms.get(room).and_then(|r| r.last_seq) else {
            return;
        };
        if bounded && last + 1 < before {
            // Everything below the first held message is accounted for; what is missing
            // there is gone from the server.
            self.report_gap(room, last, before - 1);
            if let Some(r) = self.rooms.get_mut(room) {
                r.advance_to(before - 1);
            }
        }
        // Deliver the held messages that now follow on.
        loop {
            let Some(r) = self.rooms.get_mut(room) else {
                return;
            };
            let last = r.last_seq.unwrap_or(0);
            match r.catchup.first_held() {
                Some(seq) if seq <= last + 1 => {
                    if let Some(m) = r.catchup.pop_held() {
                        self.hand_over_stored_item(now, m);
                    }
                }
                _ => break,
            }
        }
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let reached_head = !bounded && !full;
        if r.catchup.held.is_empty() && !r.catchup.dropped && (bounded || reached_head) {
            r.catchup.active = false;
            return;
        }
        self.start_catchup(now, room);
    }

    /// A page was refused. A passing condition is retried on a new connection; anything else
    /// ends the catch-up with a gap for what could not be paged in.
    pub(crate) fn on_page_refused(&mut self, now: Instant, room: &str, e: ErrorFrame) {
        if passing(e.code) {
            self.fail_connection(now, "history refused for a passing reason");
            return;
        }
        self.events.push_back(Event::Error(Error::from_server(
            e.code,
            e.message,
            Some(room),
        )));
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let last = r.last_seq.unwrap_or(0);
        let first = r.catchup.first_held();
        r.catchup.dropped = false;
        if let Some(first) = first.filter(|&f| f > last + 1) {
            self.report_gap(room, last, first - 1);
        }
        self.hand_over_held(now, room);
    }

    fn report_gap(&mut self, room: &str, since: u64, head: u64) {
        let Some(r) = self.rooms.get(room) else {
            return;
        };
        let epoch = r.epoch.clone().unwrap_or_default();
        self.events.push_back(Event::Gap(Gap {
            room: room.to_owned(),
            since: Some(since),
            previous_epoch: Some(epoch.clone()),
            head,
            epoch,
        }));
    }

    /// Stops delivering `room`'s persisted and ephemeral messages: the app's handlers cannot
    /// keep up. Persisted ones are paged in after [`resume_delivery`](Self::resume_delivery);
    /// ephemeral ones are dropped. Presence and room events still flow.
    pub fn suspend_delivery(&mut self, room: &str) {
        if let Some(r) = self.rooms.get_mut(room) {
            r.catchup.suspended = true;
        }
    }

    /// Resumes delivery after [`suspend_delivery`](Self::suspend_delivery), first paging in
    /// what was dropped meanwhile.
    pub fn resume_delivery(&mut self, now: Instant, room: &str) {
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        if !r.catchup.suspended {
            return;
        }
        r.catchup.suspended = false;
        if r.status != super::rooms::Status::Joined {
            // The join's reply decides; what arrived meanwhile was dropped and is paged in.
            return;
        }
        if r.catchup.active || r.catchup.dropped || !r.catchup.held.is_empty() {
            self.start_catchup(now, room);
        }
    }
}
