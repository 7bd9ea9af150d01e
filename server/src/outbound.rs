//! Each connection's bounded outbound queue: what the connection's writer task sends, in
//! order, and the out-of-band signals that stop it. Fan-out (`crate::hub`) and the engines put
//! frames here; nothing here knows about rooms.
//!
//! [`queue`] makes both ends. The queue counts the frames it holds so that a full one marks a
//! slow consumer; every frame taken out must be subtracted again, so the receiving end is only
//! ever read through [`QueueReader`], which does that, whoever reads it (the socket writer, the
//! fuzzing harness, a bench).

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use roomcast_core::protocol::{close, ServerFrame};
use rustc_hash::FxHashMap;
use tokio::sync::{mpsc, Notify};

/// Identifies one WebSocket connection for the life of the process.
pub type ConnId = u64;

/// What a connection's writer task sends, in order.
#[derive(Debug)]
pub enum Outgoing {
    /// One text frame.
    Frame(Utf8Bytes),
    /// Several frames counted as one against the queue's limit (a join's replay and its
    /// `joined`: a replay is bounded by the replay limit, not by the queue).
    Frames(Vec<Utf8Bytes>),
    /// Several frames gathered from one stored batch, each counted against the limit.
    Batch(Vec<Utf8Bytes>),
    /// Send a close frame and stop.
    Close(u16, &'static str),
}

impl Outgoing {
    /// What this item counts against the queue's limit.
    pub fn weight(&self) -> usize {
        match self {
            Outgoing::Frame(_) | Outgoing::Frames(_) => 1,
            Outgoing::Batch(frames) => frames.len(),
            Outgoing::Close(..) => 0,
        }
    }
}

/// Out-of-band signals to a connection's writer, used when the queue itself cannot be.
#[derive(Debug, Default)]
pub struct ConnControl {
    /// 0: none; `STOP_SILENTLY`: stop without a close frame; else the close code to send.
    code: AtomicU16,
    notify: Notify,
    /// Signalled by the writer each time it has sent a queued item.
    drained: Notify,
    /// Frames queued and not yet taken by the writer, as counted by [`Outgoing::weight`].
    queued: AtomicUsize,
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

    /// Frees what a reader took from the queue (the sum of the items' weights).
    fn taken(&self, weight: usize) {
        self.queued.fetch_sub(weight, Ordering::AcqRel);
    }

    /// Wakes a session waiting for room in its own queue.
    fn drained(&self) {
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

/// A new outbound queue for connection `conn`, holding at most `limit` frames (as counted by
/// [`Outgoing::weight`]): its sending side, to clone for whoever sends to the connection, and
/// its one reader.
pub fn queue(conn: ConnId, limit: usize) -> (Outbound, QueueReader) {
    let (tx, rx) = mpsc::channel(limit);
    let ctl = Arc::new(ConnControl::default());
    let out = Outbound {
        conn,
        tx,
        ctl: Arc::clone(&ctl),
    };
    (out, QueueReader { rx, ctl })
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
    /// The connection this queue belongs to.
    pub fn conn(&self) -> ConnId {
        self.conn
    }

    /// The most frames the queue holds (as counted by [`Outgoing::weight`]).
    fn limit(&self) -> usize {
        self.tx.max_capacity()
    }

    /// Queues `item` unless the queue already holds `limit` frames. An item is taken whole
    /// while there is room for one more frame, so a stored batch of more frames than the limit
    /// still reaches a connection that keeps up: the queue holds at most the limit, less one,
    /// plus one item's frames (a batch is at most [`MAX_BATCH`](crate::engine::sqlite::MAX_BATCH)
    /// messages).
    fn push(&self, item: Outgoing) -> bool {
        let weight = item.weight();
        let before = self.ctl.queued.fetch_add(weight, Ordering::AcqRel);
        // `None`: over the limit before the channel was tried.
        let sent = if before >= self.limit() {
            Err(None)
        } else {
            self.tx.try_send(item).map_err(Some)
        };
        match sent {
            Ok(()) => true,
            Err(None | Some(mpsc::error::TrySendError::Full(_))) => {
                if self.ctl.killed().is_none() {
                    crate::metrics::metrics().slow_consumer_cuts.inc();
                    tracing::warn!(
                        conn = self.conn,
                        "slow consumer: outbound queue full, closing"
                    );
                }
                self.ctl.kill(close::RATE_LIMITED);
                false
            }
            Err(Some(mpsc::error::TrySendError::Closed(_))) => {
                self.ctl.taken(weight);
                false
            }
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
            if self.ctl.queued.load(Ordering::Acquire).saturating_mul(2) <= self.limit()
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

    /// Queues several frames as one unit (counted as one frame against the limit).
    pub fn send_all(&self, frames: Vec<Utf8Bytes>) -> bool {
        self.push(Outgoing::Frames(frames))
    }

    /// Queues several frames at once, each counted against the limit.
    pub fn send_batch(&self, mut frames: Vec<Utf8Bytes>) -> bool {
        match frames.len() {
            0 => true,
            1 => self.push(Outgoing::Frame(frames.swap_remove(0))),
            _ => self.push(Outgoing::Batch(frames)),
        }
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

/// The receiving end of a connection's queue: taking an item frees its frames against the
/// limit, so the sending side's slow-consumer rule sees what is really still queued.
#[derive(Debug)]
pub struct QueueReader {
    rx: mpsc::Receiver<Outgoing>,
    ctl: Arc<ConnControl>,
}

/// What [`QueueReader::take`] took: what the writer does next.
#[derive(Debug)]
pub enum Taken {
    /// Frames to write, in order (at least one), then the close queued right after them, if
    /// one was.
    Frames(Vec<Utf8Bytes>, Option<(u16, &'static str)>),
    /// A queued close, with nothing queued before it.
    Close(u16, &'static str),
    /// The connection was killed with this code: close now, skipping whatever is queued.
    Killed(u16),
    /// Every sending side is gone and the queue is empty.
    Ended,
}

impl QueueReader {
    /// The next queued item, if there is one now.
    pub fn try_recv(&mut self) -> Result<Outgoing, mpsc::error::TryRecvError> {
        let item = self.rx.try_recv()?;
        self.ctl.taken(item.weight());
        Ok(item)
    }

    /// The next queued item, waiting for one; `None` once every sending side is gone.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        let item = self.rx.recv().await?;
        self.ctl.taken(item.weight());
        Some(item)
    }

    /// For the socket writer: waits for an item (a kill wins over anything queued), then
    /// takes whatever else is queued right now, until the frames reach `max_frames` or a
    /// close, so that many frames go out in one write when a busy room fans out.
    pub async fn take(&mut self, max_frames: usize) -> Taken {
        let item = tokio::select! {
            biased;
            code = self.ctl.wait_killed() => return Taken::Killed(code),
            item = self.rx.recv() => item,
        };
        let Some(item) = item else {
            return Taken::Ended;
        };
        let mut taken = item.weight();
        let mut frames = match item {
            Outgoing::Close(code, reason) => return Taken::Close(code, reason),
            Outgoing::Frame(text) => vec![text],
            Outgoing::Frames(frames) | Outgoing::Batch(frames) => frames,
        };
        let mut then_close = None;
        while frames.len() < max_frames {
            let Ok(item) = self.rx.try_recv() else { break };
            taken += item.weight();
            match item {
                Outgoing::Frame(text) => frames.push(text),
                Outgoing::Frames(more) | Outgoing::Batch(more) => frames.extend(more),
                Outgoing::Close(code, reason) => {
                    then_close = Some((code, reason));
                    break;
                }
            }
        }
        // One update for the whole take: the writer's hot path.
        self.ctl.taken(taken);
        Taken::Frames(frames, then_close)
    }

    /// Waits until the connection is killed (returns at once if it was), to stop a write in
    /// progress.
    pub async fn killed(&self) -> u16 {
        self.ctl.wait_killed().await
    }

    /// Tells a session waiting in [`Outbound::wait_for_room`] that what was taken is written:
    /// its reader resumes only once its own replies have gone out.
    pub fn written(&self) {
        self.ctl.drained();
    }

    /// The connection's stop signals, for whoever ends it after the reader has moved to the
    /// writer task.
    pub fn control(&self) -> Arc<ConnControl> {
        Arc::clone(&self.ctl)
    }
}

/// Frames for many connections, gathered while a stored batch is fanned out and then queued
/// as one item per connection: one writer wake-up and one socket write per connection per
/// batch instead of one per frame. Each connection's frames keep the order they were pushed in.
#[derive(Default)]
pub struct Gathered {
    /// Connection → its place in `queues`. Connection ids are the server's own, so a fast
    /// hasher without flood protection is safe here.
    index: FxHashMap<ConnId, usize>,
    queues: Vec<(Outbound, Vec<Utf8Bytes>)>,
}

impl Gathered {
    /// Adds `text` to what `out`'s connection gets.
    pub fn push(&mut self, out: &Outbound, text: Utf8Bytes) {
        let at = *self.index.entry(out.conn()).or_insert_with(|| {
            self.queues.push((out.clone(), Vec::new()));
            self.queues.len() - 1
        });
        if let Some((_, frames)) = self.queues.get_mut(at) {
            frames.push(text);
        }
    }

    /// Queues each connection's frames.
    pub fn send(self) {
        for (out, frames) in self.queues {
            out.send_batch(frames);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(conn: ConnId, limit: usize) -> (Outbound, QueueReader, Arc<ConnControl>) {
        let (out, rx) = super::queue(conn, limit);
        let ctl = rx.control();
        (out, rx, ctl)
    }

    fn text(s: &str) -> Utf8Bytes {
        Utf8Bytes::from(s.to_string())
    }

    /// Every frame queued so far, one inner list per queue item.
    fn items(rx: &mut QueueReader) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        while let Ok(item) = rx.try_recv() {
            out.push(match item {
                Outgoing::Frame(t) => vec![t.to_string()],
                Outgoing::Frames(ts) | Outgoing::Batch(ts) => {
                    ts.iter().map(|t| t.to_string()).collect()
                }
                Outgoing::Close(..) => vec!["close".into()],
            });
        }
        out
    }

    #[test]
    fn gathered_frames_reach_each_connection_as_one_item_in_order() {
        let (a, mut rx_a, ctl_a) = queue(1, 16);
        let (b, mut rx_b, ctl_b) = queue(2, 16);
        let (c, mut rx_c, ctl_c) = queue(3, 16);
        let mut g = Gathered::default();
        g.push(&a, text("m1"));
        g.push(&b, text("m1"));
        g.push(&a, text("m2"));
        g.push(&c, text("ack"));
        g.push(&b, text("m2"));
        g.push(&a, text("m3"));
        g.send();
        assert_eq!(items(&mut rx_a), vec![vec!["m1", "m2", "m3"]]);
        assert_eq!(items(&mut rx_b), vec![vec!["m1", "m2"]]);
        assert_eq!(items(&mut rx_c), vec![vec!["ack"]]);
        for ctl in [&ctl_a, &ctl_b, &ctl_c] {
            assert_eq!(ctl.queued.load(Ordering::Acquire), 0);
            assert_eq!(ctl.killed(), None);
        }
    }

    #[test]
    fn a_batch_counts_each_frame_against_the_limit() {
        let (out, mut rx, ctl) = queue(1, 4);
        assert!(out.send_batch(vec![text("1"), text("2"), text("3")]));
        assert!(out.send_text(text("4")));
        // Four frames queued in two items: a fifth frame is over the limit.
        assert!(!out.send_text(text("5")));
        assert_eq!(ctl.killed(), Some(close::RATE_LIMITED));
        assert_eq!(items(&mut rx), vec![vec!["1", "2", "3"], vec!["4"]]);
    }

    #[test]
    fn a_batch_larger_than_the_limit_reaches_a_connection_that_keeps_up() {
        let (out, mut rx, ctl) = queue(1, 2);
        assert!(out.send_batch(vec![text("1"), text("2"), text("3")]));
        assert_eq!(ctl.killed(), None);
        // Nothing taken yet: the queue is over its limit, and the next frame cuts.
        assert!(!out.send_text(text("4")));
        assert_eq!(ctl.killed(), Some(close::RATE_LIMITED));
        assert_eq!(items(&mut rx), vec![vec!["1", "2", "3"]]);
    }

    #[test]
    fn a_batch_is_refused_when_the_queue_is_full() {
        let (out, _rx, ctl) = queue(1, 2);
        assert!(out.send_text(text("1")));
        assert!(out.send_text(text("2")));
        assert!(!out.send_batch(vec![text("3"), text("4")]));
        assert_eq!(ctl.killed(), Some(close::RATE_LIMITED));
    }

    #[test]
    fn batches_larger_than_the_limit_pass_as_long_as_the_writer_takes_them() {
        let (out, mut rx, ctl) = queue(1, 4);
        for round in 0..10 {
            let batch: Vec<Utf8Bytes> = (0..9).map(|i| text(&format!("{round}.{i}"))).collect();
            assert!(out.send_batch(batch));
            assert_eq!(items(&mut rx).concat().len(), 9);
        }
        assert_eq!(ctl.killed(), None);
    }

    #[test]
    fn taken_frames_make_room_again() {
        let (out, mut rx, ctl) = queue(1, 3);
        assert!(out.send_batch(vec![text("1"), text("2"), text("3")]));
        assert_eq!(items(&mut rx), vec![vec!["1", "2", "3"]]);
        assert!(out.send_batch(vec![text("4"), text("5"), text("6")]));
        assert_eq!(ctl.killed(), None);
        assert_eq!(items(&mut rx), vec![vec!["4", "5", "6"]]);
    }

    #[test]
    fn a_replay_counts_as_one_frame() {
        let (out, mut rx, ctl) = queue(1, 2);
        let replay: Vec<Utf8Bytes> = (0..100).map(|i| text(&i.to_string())).collect();
        assert!(out.send_all(replay));
        assert!(out.send_text(text("live")));
        assert_eq!(ctl.killed(), None);
        let got = items(&mut rx);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), 100);
        assert_eq!(got[1], vec!["live"]);
    }

    #[tokio::test]
    async fn wait_for_room_waits_until_half_the_frames_are_taken() {
        let (out, mut rx, _) = queue(1, 4);
        assert!(out.send_batch(vec![text("1"), text("2"), text("3")]));
        let waiter = {
            let out = out.clone();
            tokio::spawn(async move { out.wait_for_room(std::time::Duration::from_secs(5)).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        assert_eq!(items(&mut rx).len(), 1);
        rx.written();
        assert!(waiter.await.expect("the waiter runs"));
    }

    #[tokio::test]
    async fn the_writer_takes_what_is_queued_up_to_its_batch_and_frees_it() {
        let (out, mut rx, ctl) = queue(1, 16);
        assert!(out.send_text(text("1")));
        assert!(out.send_batch(vec![text("2"), text("3")]));
        assert!(out.send_text(text("4")));
        let Taken::Frames(frames, None) = rx.take(3).await else {
            panic!("frames expected");
        };
        assert_eq!(frames, vec![text("1"), text("2"), text("3")]);
        assert_eq!(ctl.queued.load(Ordering::Acquire), 1);
        out.close(close::GOING_AWAY, "bye");
        let Taken::Frames(frames, Some((code, _))) = rx.take(3).await else {
            panic!("frames and a close expected");
        };
        assert_eq!((frames, code), (vec![text("4")], close::GOING_AWAY));
        assert_eq!(ctl.queued.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn a_kill_wins_over_what_is_queued_and_a_queue_without_senders_ends() {
        let (out, mut rx, _) = queue(1, 16);
        assert!(out.send_text(text("1")));
        out.kill(STOP_SILENTLY);
        assert!(matches!(rx.take(64).await, Taken::Killed(STOP_SILENTLY)));

        let (out, mut rx, _) = queue(2, 16);
        out.close(close::GOING_AWAY, "bye");
        assert!(matches!(
            rx.take(64).await,
            Taken::Close(close::GOING_AWAY, "bye")
        ));
        drop(out);
        assert!(matches!(rx.take(64).await, Taken::Ended));
    }
}
