//! Sessions on this node, and the rooms, members and fan-out of the SQLite engine (each
//! connection's queue is `crate::outbound`; the Redis engine keeps its members in its own
//! per-room feeds, `engine/redis/feed.rs`).
//!
//! Every change of membership and every broadcast happens with the hub's lock held, so all
//! members of a room see its events in one order. Persisted messages are broadcast only by the
//! SQLite engine's fan-out thread (`engine/sqlite/fanout.rs`), in the order the store thread
//! committed them, which is what makes "after `joined`, every later seq exactly once, in
//! order" hold.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use axum::extract::ws::Utf8Bytes;
use roomcast_core::protocol::{Member, Presence, PresenceKind, ServerFrame};

use crate::outbound::{ConnId, Gathered, Outbound};

struct Joined {
    member: Member,
    out: Outbound,
}

#[derive(Default)]
struct Inner {
    /// room → members (ordered by connection id, so presence lists are stable).
    rooms: HashMap<String, BTreeMap<ConnId, Joined>>,
    /// connection → rooms it is in.
    conn_rooms: HashMap<ConnId, HashSet<String>>,
    /// authenticated connections: who they are, and their queue (to cut them).
    sessions: HashMap<ConnId, Session>,
}

/// An authenticated connection.
struct Session {
    member: Member,
    out: Outbound,
}

/// Live state: sessions, rooms and members.
#[derive(Default)]
pub struct Hub {
    inner: Mutex<Inner>,
}

/// A view of the hub under its lock.
pub struct HubGuard<'a>(MutexGuard<'a, Inner>);

/// Counts for `/health` and `/stats`.
#[derive(Debug, Clone, Default)]
pub struct HubStats {
    pub connections: usize,
    pub rooms: usize,
    pub connections_by_source: BTreeMap<String, usize>,
}

impl Hub {
    /// Locks the hub. A poisoned lock (a panic elsewhere) is recovered: the data is still
    /// consistent because no code path panics halfway through a change.
    pub fn lock(&self) -> HubGuard<'_> {
        HubGuard(self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Records an authenticated connection.
    pub fn add_session(&self, conn: ConnId, member: &Member, out: &Outbound) {
        self.lock().0.sessions.insert(
            conn,
            Session {
                member: member.clone(),
                out: out.clone(),
            },
        );
    }

    /// Closes now, with `code`, every connection of `user` on this node (only those of
    /// `client`, when given); how many.
    pub fn disconnect(&self, user: &str, client: Option<&str>, code: u16) -> usize {
        let g = self.lock();
        let mut n = 0;
        for s in g.0.sessions.values() {
            if s.member.user == user && client.is_none_or(|c| c == s.member.client) {
                s.out.kill(code);
                n += 1;
            }
        }
        n
    }

    /// Rooms with members on this node and how many each has.
    pub fn room_members(&self) -> Vec<(String, usize)> {
        let g = self.lock();
        let mut rooms: Vec<(String, usize)> =
            g.0.rooms
                .iter()
                .map(|(r, m)| (r.clone(), m.len()))
                .collect();
        rooms.sort();
        rooms
    }

    /// Forgets a connection (its rooms are left separately, through the engine).
    pub fn remove_session(&self, conn: ConnId) {
        self.lock().0.sessions.remove(&conn);
    }

    /// Counts for the HTTP endpoints.
    pub fn stats(&self) -> HubStats {
        let g = self.lock();
        let mut by_source = BTreeMap::new();
        for s in g.0.sessions.values() {
            *by_source.entry(s.member.source.clone()).or_insert(0) += 1;
        }
        HubStats {
            connections: g.0.sessions.len(),
            rooms: g.0.rooms.len(),
            connections_by_source: by_source,
        }
    }
}

fn presence(room: &str, event: PresenceKind, member: &Member) -> Utf8Bytes {
    Utf8Bytes::from(
        ServerFrame::Presence(Presence {
            room: room.to_string(),
            event,
            member: member.clone(),
        })
        .encode(),
    )
}

impl HubGuard<'_> {
    /// Whether `conn` is a member of `room`.
    pub fn is_member(&self, room: &str, conn: ConnId) -> bool {
        self.0
            .rooms
            .get(room)
            .is_some_and(|members| members.contains_key(&conn))
    }

    /// Closes every member of `room` with `code` (after what is queued for them) and drops
    /// the room's membership, so nothing more is broadcast to them; how many.
    pub fn close_room(&mut self, room: &str, code: u16, reason: &'static str) -> usize {
        let Some(members) = self.0.rooms.remove(room) else {
            return 0;
        };
        for (conn, joined) in &members {
            joined.out.close(code, reason);
            if let Some(rooms) = self.0.conn_rooms.get_mut(conn) {
                rooms.remove(room);
                if rooms.is_empty() {
                    self.0.conn_rooms.remove(conn);
                }
            }
        }
        members.len()
    }

    /// The members of `room`, in a stable order.
    pub fn members(&self, room: &str) -> Vec<Member> {
        self.0
            .rooms
            .get(room)
            .map(|m| m.values().map(|j| j.member.clone()).collect())
            .unwrap_or_default()
    }

    /// Sends `text` to every member of `room` except `except`.
    pub fn broadcast(&self, room: &str, except: Option<ConnId>, text: &Utf8Bytes) {
        if let Some(members) = self.0.rooms.get(room) {
            for (conn, joined) in members {
                if Some(*conn) != except {
                    joined.out.send_text(text.clone());
                }
            }
        }
    }

    /// Adds `text` to what every member of `room` except `except` gets from `gathered`.
    pub fn broadcast_into(
        &self,
        room: &str,
        except: Option<ConnId>,
        text: &Utf8Bytes,
        gathered: &mut Gathered,
    ) {
        if let Some(members) = self.0.rooms.get(room) {
            for (conn, joined) in members {
                if Some(*conn) != except {
                    gathered.push(&joined.out, text.clone());
                }
            }
        }
    }

    /// Adds a member and tells the others (presence `join`).
    pub fn add_member(&mut self, room: &str, member: Member, out: Outbound) {
        let conn = out.conn();
        let text = presence(room, PresenceKind::Join, &member);
        self.broadcast(room, Some(conn), &text);
        self.0
            .rooms
            .entry(room.to_string())
            .or_default()
            .insert(conn, Joined { member, out });
        self.0
            .conn_rooms
            .entry(conn)
            .or_default()
            .insert(room.to_string());
    }

    /// Removes a member and tells the others (presence `leave`). False if it was not one.
    pub fn remove_member(&mut self, room: &str, conn: ConnId) -> bool {
        let Some(members) = self.0.rooms.get_mut(room) else {
            return false;
        };
        let Some(gone) = members.remove(&conn) else {
            return false;
        };
        if members.is_empty() {
            self.0.rooms.remove(room);
        } else {
            let text = presence(room, PresenceKind::Leave, &gone.member);
            self.broadcast(room, None, &text);
        }
        if let Some(rooms) = self.0.conn_rooms.get_mut(&conn) {
            rooms.remove(room);
            if rooms.is_empty() {
                self.0.conn_rooms.remove(&conn);
            }
        }
        true
    }

    /// Removes a connection from every room it is in.
    pub fn remove_conn(&mut self, conn: ConnId) {
        let rooms: Vec<String> = self
            .0
            .conn_rooms
            .remove(&conn)
            .map(|r| r.into_iter().collect())
            .unwrap_or_default();
        for room in rooms {
            self.remove_member(&room, conn);
        }
    }
}
