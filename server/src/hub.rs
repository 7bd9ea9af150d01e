//! Rooms, their members and fan-out, plus each connection's outbound queue.
//!
//! Every change of membership and every broadcast happens with the hub's lock held, so all
//! members of a room see its events in one order. Persisted messages are broadcast only by the
//! store thread (see `store.rs`), which is what makes "after `joined`, every later seq exactly
//! once, in order" hold.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::ws::Utf8Bytes;
use roomcast_core::protocol::{close, Member, Presence, PresenceKind, ServerFrame};
use tokio::sync::{mpsc, Notify};

/// Identifies one WebSocket connection for the life of the process.
pub type ConnId = u64;

/// What a connection's writer task sends, in order.
#[derive(Debug)]
pub enum Outgoing {
    /// One text frame.
    Frame(Utf8Bytes),
    /// Several text frames taking one queue slot (a join's replay and its `joined`).
    Frames(Vec<Utf8Bytes>),
    /// Send a close frame and stop.
    Close(u16, &'static str),
}

/// Out-of-band signals to a connection's writer, used when the queue itself cannot be.
#[derive(Debug, Default)]
pub struct ConnControl {
    /// 0: none; `STOP_SILENTLY`: stop without a close frame; else the close code to send.
    code: AtomicU16,
    notify: Notify,
    /// Signalled by the writer each time it has sent a queued item.
    drained: Notify,
}

/// A `ConnControl` code meaning "stop writing, send no close frame".
pub const STOP_SILENTLY: u16 = 1;

impl ConnControl {
    /// Asks the writer to close now with `code`, skipping whatever is queued. The first code
    /// given wins.
    pub fn kill(&self, code: u16) {
        let _ = self
            .code
            .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire);
        self.notify.notify_one();
    }

    /// The code given to [`kill`](Self::kill), if any.
    pub fn killed(&self) -> Option<u16> {
        match self.code.load(Ordering::Acquire) {
            0 => None,
            c => Some(c),
        }
    }

    /// Called by the writer after sending an item.
    pub fn drained(&self) {
        self.drained.notify_waiters();
    }

    /// Waits until [`kill`](Self::kill) is called (returns at once if it was).
    pub async fn wait_killed(&self) -> u16 {
        loop {
            let notified = self.notify.notified();
            if let Some(code) = self.killed() {
                return code;
            }
            notified.await;
        }
    }
}

/// The sending side of one connection's bounded outbound queue.
///
/// Never blocks: when the queue is full the connection is a slow consumer and is cut with 4008.
#[derive(Debug, Clone)]
pub struct Outbound {
    conn: ConnId,
    tx: mpsc::Sender<Outgoing>,
    ctl: Arc<ConnControl>,
}

impl Outbound {
    /// A queue handle for connection `conn`.
    pub fn new(conn: ConnId, tx: mpsc::Sender<Outgoing>, ctl: Arc<ConnControl>) -> Self {
        Outbound { conn, tx, ctl }
    }

    /// The connection this queue belongs to.
    pub fn conn(&self) -> ConnId {
        self.conn
    }

    fn push(&self, item: Outgoing) -> bool {
        match self.tx.try_send(item) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if self.ctl.killed().is_none() {
                    tracing::warn!(
                        conn = self.conn,
                        "slow consumer: outbound queue full, closing"
                    );
                }
                self.ctl.kill(close::RATE_LIMITED);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Waits (at most `limit`) until the queue is at most half full, so that a connection's
    /// reader does not outrun its own writer with replies. A client that never reads still
    /// fills its queue and is cut.
    /// Returns whether it had to wait.
    pub async fn wait_for_room(&self, limit: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        let mut waited = false;
        loop {
            let notified = self.ctl.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.tx.capacity().saturating_mul(2) >= self.tx.max_capacity()
                || self.ctl.killed().is_some()
                || self.tx.is_closed()
            {
                return waited;
            }
            waited = true;
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return waited;
            }
        }
    }

    /// Closes the connection now with `code`, skipping whatever is queued.
    pub fn kill(&self, code: u16) {
        self.ctl.kill(code);
    }

    /// Queues an encoded frame. False when the connection is gone or was just cut.
    pub fn send_text(&self, text: Utf8Bytes) -> bool {
        self.push(Outgoing::Frame(text))
    }

    /// Queues a frame.
    pub fn send(&self, frame: &ServerFrame) -> bool {
        self.send_text(Utf8Bytes::from(frame.encode()))
    }

    /// Queues several frames as one unit.
    pub fn send_all(&self, frames: Vec<Utf8Bytes>) -> bool {
        self.push(Outgoing::Frames(frames))
    }

    /// Queues a close after whatever is already queued; when the queue is full, closes now.
    pub fn close(&self, code: u16, reason: &'static str) {
        if let Err(e) = self.tx.try_send(Outgoing::Close(code, reason)) {
            if matches!(e, mpsc::error::TrySendError::Full(_)) {
                self.ctl.kill(code);
            }
        }
    }
}

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
    /// authenticated connections → their `source`.
    sessions: HashMap<ConnId, String>,
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
    pub fn add_session(&self, conn: ConnId, source: &str) {
        self.lock().0.sessions.insert(conn, source.to_string());
    }

    /// Forgets a connection (its rooms are left separately, through the store thread).
    pub fn remove_session(&self, conn: ConnId) {
        self.lock().0.sessions.remove(&conn);
    }

    /// Counts for the HTTP endpoints.
    pub fn stats(&self) -> HubStats {
        let g = self.lock();
        let mut by_source = BTreeMap::new();
        for source in g.0.sessions.values() {
            *by_source.entry(source.clone()).or_insert(0) += 1;
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
