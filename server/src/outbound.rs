//! Each connection's bounded outbound queue: what the connection's writer task sends, in
//! order, and the out-of-band signals that stop it. Fan-out (`crate::hub`) and the engines put
//! frames here; nothing here knows about rooms.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use roomcast_core::protocol::{close, ServerFrame};
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
