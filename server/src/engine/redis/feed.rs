//! This node's view of each room it has members in, and the ordering rule of the Redis engine.
//!
//! Pub/Sub hands every node a room's messages in `seq` order (the Lua script publishes inside
//! the same atomic step that assigns the seq), but it is at-most-once: a dropped subscriber
//! connection loses messages. So each room keeps `head`, the highest seq delivered to its
//! local members, and a small reorder buffer:
//! - a message with `seq <= head` is a duplicate and is dropped;
//! - `seq == head + 1` is delivered and the buffer drains behind it;
//! - a higher seq waits in the buffer and asks for a gap fill from the stream
//!   ([`Gap`]), which the engine reads and feeds back here through the same rule.
//!
//! A joiner is added *held*: it has a start position (the head when it was added), the
//! messages delivered after that are kept for it while its replay (up to that position) is
//! read from Redis, and then replay, `joined` and the held messages go out as one unit. So the
//! joiner sees everything up to the position once (replay) and everything after once (live).

use std::collections::{BTreeMap, HashMap};

use axum::extract::ws::Utf8Bytes;
use roomcast_core::protocol::{close, Member};

use crate::outbound::{ConnId, Outbound};

/// A range of seqs (`after < seq <= upto`) the engine must read from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub room: String,
    pub after: u64,
    pub upto: u64,
}

#[derive(Debug)]
struct Item {
    text: Utf8Bytes,
    except: Option<ConnId>,
}

#[derive(Debug)]
struct Local {
    member: Member,
    out: Outbound,
    /// `Some` while the joiner's replay is being read: what to send after `joined`.
    held: Option<Vec<Utf8Bytes>>,
}

#[derive(Debug)]
struct Feed {
    /// Highest seq delivered to the local members; `None` until the subscription is in place
    /// and the head was read.
    head: Option<u64>,
    epoch: String,
    pending: BTreeMap<u64, Item>,
    members: BTreeMap<ConnId, Local>,
    /// A gap fill is in flight: do not ask for another.
    filling: bool,
    /// Most frames held for one joiner.
    cap: usize,
}

/// What adding a joiner found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// Added, held at `head`.
    Held { head: u64, epoch: String },
    /// Already a member on this connection.
    Already { head: u64, epoch: String },
    /// No ready feed for the room (the caller creates it first).
    NoFeed,
}

/// Every room this node has members in.
#[derive(Debug)]
pub struct Feeds {
    rooms: HashMap<String, Feed>,
    /// Most frames held for one joiner before it is cut as a slow consumer.
    held_cap: usize,
}

impl Feeds {
    /// No rooms; a joiner may have `held_cap` frames held for it.
    pub fn new(held_cap: usize) -> Self {
        Feeds {
            rooms: HashMap::new(),
            held_cap,
        }
    }

    /// Whether the room has a feed (ready or being set up).
    pub fn has(&self, room: &str) -> bool {
        self.rooms.contains_key(room)
    }

    /// Starts a feed that buffers everything until [`init`](Self::init).
    pub fn create(&mut self, room: &str) {
        let cap = self.held_cap;
        self.rooms.entry(room.to_string()).or_insert_with(|| Feed {
            cap,
            head: None,
            epoch: String::new(),
            pending: BTreeMap::new(),
            members: BTreeMap::new(),
            filling: false,
        });
    }

    /// Removes a feed whose setup failed.
    pub fn abandon(&mut self, room: &str) {
        if self.rooms.get(room).is_some_and(|f| f.members.is_empty()) {
            self.rooms.remove(room);
        }
    }

    /// The subscription is in place and the room's head was read after it: what was buffered
    /// up to `head` is dropped, the rest delivered in order.
    pub fn init(&mut self, room: &str, head: u64, epoch: String) -> Option<Gap> {
        let feed = self.rooms.get_mut(room)?;
        feed.head = Some(head);
        feed.epoch = epoch;
        drain(room, feed)
    }

    /// Adds a joiner, held at the current head.
    pub fn add_held(&mut self, room: &str, member: Member, out: Outbound) -> Added {
        let Some(feed) = self.rooms.get_mut(room) else {
            return Added::NoFeed;
        };
        let Some(head) = feed.head else {
            return Added::NoFeed;
        };
        let epoch = feed.epoch.clone();
        let conn = out.conn();
        if feed.members.contains_key(&conn) {
            return Added::Already { head, epoch };
        }
        feed.members.insert(
            conn,
            Local {
                member,
                out,
                held: Some(Vec::new()),
            },
        );
        Added::Held { head, epoch }
    }

    /// Sends `first` (replay and `joined`) then what was held, as one unit, and makes the
    /// member live.
    pub fn release(&mut self, room: &str, conn: ConnId, mut first: Vec<Utf8Bytes>) {
        let Some(local) = self
            .rooms
            .get_mut(room)
            .and_then(|f| f.members.get_mut(&conn))
        else {
            return;
        };
        first.extend(local.held.take().unwrap_or_default());
        local.out.send_all(first);
    }

    /// Removes a member. Returns it and whether the room has no feed left (unsubscribe).
    pub fn remove(&mut self, room: &str, conn: ConnId) -> Option<(Member, bool)> {
        let feed = self.rooms.get_mut(room)?;
        let gone = feed.members.remove(&conn)?;
        let empty = feed.members.is_empty() && feed.head.is_some();
        if empty {
            self.rooms.remove(room);
        }
        Some((gone.member, empty))
    }

    /// Removes a connection from every room: `(room, member, room now empty)`.
    pub fn remove_conn(&mut self, conn: ConnId) -> Vec<(String, Member, bool)> {
        let rooms: Vec<String> = self
            .rooms
            .iter()
            .filter(|(_, f)| f.members.contains_key(&conn))
            .map(|(r, _)| r.clone())
            .collect();
        rooms
            .into_iter()
            .filter_map(|room| {
                self.remove(&room, conn)
                    .map(|(member, empty)| (room, member, empty))
            })
            .collect()
    }

    /// A persisted message (see the module doc). Returns a gap to fill, if any.
    pub fn message(
        &mut self,
        room: &str,
        seq: u64,
        text: Utf8Bytes,
        except: Option<ConnId>,
    ) -> Option<Gap> {
        let feed = self.rooms.get_mut(room)?;
        if feed.head.is_some_and(|h| seq <= h) {
            return None;
        }
        feed.pending.insert(seq, Item { text, except });
        let gap = drain(room, feed);
        if gap.is_some() {
            let cut = self.held_cap;
            if let Some(feed) = self.rooms.get_mut(room) {
                if feed.pending.len() > cut.saturating_mul(4) {
                    // A gap that never fills must not grow memory: give up on it.
                    tracing::warn!(room, "reorder buffer overflow: skipping the gap");
                    let upto = feed.pending.keys().next().map_or(0, |s| s - 1);
                    return self.skip_to(room, upto);
                }
            }
        }
        gap
    }

    /// A gap fill finished (everything found was fed through [`message`](Self::message)):
    /// whatever is still missing up to `upto` is gone from the stream, so move past it.
    pub fn skip_to(&mut self, room: &str, upto: u64) -> Option<Gap> {
        let feed = self.rooms.get_mut(room)?;
        feed.filling = false;
        if let Some(head) = feed.head {
            if upto > head {
                tracing::warn!(
                    room,
                    from = head + 1,
                    upto,
                    "messages missing from the stream"
                );
                feed.head = Some(upto);
            }
        }
        drain(room, feed)
    }

    /// An unsequenced frame (presence, ephemeral) to every member but `except`.
    pub fn broadcast(&mut self, room: &str, except: Option<ConnId>, text: &Utf8Bytes) {
        if let Some(feed) = self.rooms.get_mut(room) {
            deliver(feed, except, text);
        }
    }

    /// A message of another epoch: Redis lost or reset the room's history, so seqs restarted
    /// and nothing this node delivered can be compared with them any more. Cuts the room's
    /// local members with 1001 (they reconnect and rejoin, getting the new epoch and
    /// `recovered: false`) and drops the feed. Returns whether it did.
    pub fn reset_on_new_epoch(&mut self, room: &str, epoch: &str) -> bool {
        let changed = self
            .rooms
            .get(room)
            .is_some_and(|f| f.head.is_some() && f.epoch != epoch);
        if !changed {
            return false;
        }
        if let Some(feed) = self.rooms.remove(room) {
            for local in feed.members.values() {
                local.out.kill(close::GOING_AWAY);
            }
        }
        true
    }

    /// The local head of each room (for catching up after a lost subscription).
    pub fn heads(&self) -> Vec<(String, u64)> {
        self.rooms
            .iter()
            .filter_map(|(r, f)| f.head.map(|h| (r.clone(), h)))
            .collect()
    }

    /// Every room with a feed.
    pub fn rooms(&self) -> Vec<String> {
        self.rooms.keys().cloned().collect()
    }

    /// Rooms with local members.
    pub fn room_count(&self) -> usize {
        self.rooms
            .values()
            .filter(|f| !f.members.is_empty())
            .count()
    }

    /// Every local member: `(room, conn, member)` (to refresh their presence).
    pub fn members(&self) -> Vec<(String, ConnId, Member)> {
        self.rooms
            .iter()
            .flat_map(|(room, f)| {
                f.members
                    .iter()
                    .map(move |(c, l)| (room.clone(), *c, l.member.clone()))
            })
            .collect()
    }
}

/// Delivers the buffered messages that follow `head`; returns the gap before the next one.
fn drain(room: &str, feed: &mut Feed) -> Option<Gap> {
    let mut head = feed.head?;
    // Anything at or below the head was delivered already.
    while let Some(entry) = feed.pending.first_entry() {
        if *entry.key() > head {
            break;
        }
        entry.remove();
    }
    while let Some(item) = feed.pending.remove(&(head + 1)) {
        head += 1;
        deliver(feed, item.except, &item.text);
    }
    feed.head = Some(head);
    let next = *feed.pending.keys().next()?;
    if feed.filling {
        return None;
    }
    feed.filling = true;
    Some(Gap {
        room: room.to_string(),
        after: head,
        upto: next - 1,
    })
}

/// Sends to the live members and holds for the joining ones; a joiner whose held frames
/// exceed the outbound queue's size is a slow consumer, like a live member with a full queue.
fn deliver(feed: &mut Feed, except: Option<ConnId>, text: &Utf8Bytes) {
    let held_cap = feed.cap;
    let mut cut = Vec::new();
    for (conn, local) in feed.members.iter_mut() {
        if Some(*conn) == except {
            continue;
        }
        match &mut local.held {
            Some(held) => {
                held.push(text.clone());
                if held.len() > held_cap {
                    cut.push(*conn);
                }
            }
            None => {
                local.out.send_text(text.clone());
            }
        }
    }
    for conn in cut {
        if let Some(local) = feed.members.get_mut(&conn) {
            tracing::warn!(
                conn,
                "slow consumer: too much held during its join, closing"
            );
            local.held = Some(Vec::new());
            local.out.kill(close::RATE_LIMITED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::{self, Outgoing, QueueReader};

    fn member(name: &str) -> Member {
        Member {
            user: name.into(),
            client: format!("c-{name}"),
            source: "test".into(),
            name: None,
        }
    }

    fn conn(id: ConnId) -> (Outbound, QueueReader) {
        outbound::queue(id, 64)
    }

    fn text(seq: u64) -> Utf8Bytes {
        Utf8Bytes::from(format!("m{seq}"))
    }

    /// Everything queued so far, flattened.
    fn drained(rx: &mut QueueReader) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(item) = rx.try_recv() {
            match item {
                Outgoing::Frame(t) => out.push(t.to_string()),
                Outgoing::Frames(ts) | Outgoing::Batch(ts) => {
                    out.extend(ts.iter().map(|t| t.to_string()))
                }
                Outgoing::Close(..) => out.push("close".into()),
            }
        }
        out
    }

    fn ready(feeds: &mut Feeds, room: &str, head: u64) {
        feeds.create(room);
        assert_eq!(feeds.init(room, head, "e1".into()), None);
    }

    #[test]
    fn buffered_before_init_is_cut_at_the_head() {
        let mut feeds = Feeds::new(16);
        feeds.create("r");
        // Arrived between subscribing and reading the head (5).
        assert_eq!(feeds.message("r", 5, text(5), None), None);
        assert_eq!(feeds.message("r", 6, text(6), None), None);
        assert_eq!(feeds.init("r", 5, "e1".into()), None);
        let (out, mut rx) = conn(1);
        assert_eq!(
            feeds.add_held("r", member("a"), out),
            Added::Held {
                head: 6,
                epoch: "e1".into()
            }
        );
        feeds.release("r", 1, vec![Utf8Bytes::from("joined")]);
        feeds.message("r", 7, text(7), None);
        assert_eq!(drained(&mut rx), vec!["joined", "m7"]);
    }

    #[test]
    fn duplicates_dropped_gaps_filled_in_order() {
        let mut feeds = Feeds::new(16);
        ready(&mut feeds, "r", 0);
        let (out, mut rx) = conn(1);
        feeds.add_held("r", member("a"), out);
        feeds.release("r", 1, Vec::new());
        feeds.message("r", 1, text(1), None);
        feeds.message("r", 1, text(1), None);
        // 2 and 3 lost: 4 waits and asks for them, once.
        let gap = feeds.message("r", 4, text(4), None);
        assert_eq!(
            gap,
            Some(Gap {
                room: "r".into(),
                after: 1,
                upto: 3
            })
        );
        assert_eq!(feeds.message("r", 5, text(5), None), None);
        assert_eq!(drained(&mut rx), vec!["m1"]);
        // The fill brings 2 and 3 (and a repeat of 4).
        feeds.message("r", 2, text(2), None);
        feeds.message("r", 3, text(3), None);
        feeds.message("r", 4, text(4), None);
        assert_eq!(feeds.skip_to("r", 3), None);
        assert_eq!(drained(&mut rx), vec!["m2", "m3", "m4", "m5"]);
    }

    #[test]
    fn a_gap_missing_from_the_stream_is_skipped() {
        let mut feeds = Feeds::new(16);
        ready(&mut feeds, "r", 0);
        let (out, mut rx) = conn(1);
        feeds.add_held("r", member("a"), out);
        feeds.release("r", 1, Vec::new());
        assert!(feeds.message("r", 3, text(3), None).is_some());
        assert_eq!(feeds.skip_to("r", 2), None);
        assert_eq!(drained(&mut rx), vec!["m3"]);
    }

    #[test]
    fn joiner_gets_what_arrives_during_its_replay_after_joined_once() {
        let mut feeds = Feeds::new(16);
        ready(&mut feeds, "r", 10);
        let (a, mut rx_a) = conn(1);
        feeds.add_held("r", member("a"), a);
        feeds.release("r", 1, Vec::new());
        let (b, mut rx_b) = conn(2);
        let Added::Held { head, .. } = feeds.add_held("r", member("b"), b.clone()) else {
            panic!("not added");
        };
        assert_eq!(head, 10);
        // While b's replay (..=10) is read, 11 and 12 (published by a) arrive.
        feeds.message("r", 11, text(11), None);
        feeds.message("r", 12, text(12), Some(1));
        feeds.release(
            "r",
            2,
            vec![Utf8Bytes::from("m10"), Utf8Bytes::from("joined")],
        );
        feeds.message("r", 13, text(13), None);
        assert_eq!(
            drained(&mut rx_b),
            vec!["m10", "joined", "m11", "m12", "m13"]
        );
        // The publisher of 12 is spared its own message.
        assert_eq!(drained(&mut rx_a), vec!["m11", "m13"]);
        // A second join on the same connection changes nothing.
        assert_eq!(
            feeds.add_held("r", member("b"), b),
            Added::Already {
                head: 13,
                epoch: "e1".into()
            }
        );
    }

    #[test]
    fn last_member_out_drops_the_feed_and_a_new_epoch_cuts_members() {
        let mut feeds = Feeds::new(16);
        ready(&mut feeds, "r", 0);
        let (a, _rx) = conn(1);
        feeds.add_held("r", member("a"), a);
        assert!(!feeds.reset_on_new_epoch("r", "e1"));
        let left = feeds.remove_conn(1);
        assert_eq!(left.len(), 1);
        assert!(left[0].2, "room now empty");
        assert!(!feeds.has("r"));

        ready(&mut feeds, "r", 0);
        let (out, rx) = conn(1);
        let ctl = rx.control();
        feeds.add_held("r", member("a"), out);
        assert!(feeds.reset_on_new_epoch("r", "e2"));
        assert!(!feeds.has("r"));
        assert_eq!(ctl.killed(), Some(close::GOING_AWAY));
    }

    #[test]
    fn a_joiner_holding_too_much_is_cut() {
        let mut feeds = Feeds::new(2);
        ready(&mut feeds, "r", 0);
        let (out, rx) = conn(1);
        let ctl = rx.control();
        feeds.add_held("r", member("a"), out);
        for seq in 1..=3 {
            feeds.message("r", seq, text(seq), None);
        }
        assert_eq!(ctl.killed(), Some(close::RATE_LIMITED));
    }
}
