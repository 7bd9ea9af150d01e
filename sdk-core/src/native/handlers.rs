//! A room's subscribers (typed handlers, presence and error callbacks, event streams) and the
//! pump that hands them the room's events.
//!
//! Handlers are registered once on a [`Room`](super::Room) and stay registered across
//! reconnects, because they hang off the room, not off a connection.
//!
//! App code never runs on the driver task. The driver hands each room's events to that room's
//! pump, a task that calls the handlers (on tokio's blocking pool, so a handler may block) and
//! feeds the streams, one event at a time and in order. A slow handler therefore delays only
//! its own room. When a room's backlog reaches [`HIGH_WATER`] events, the driver asks the
//! machine to stop delivering the room; once the handlers are down to [`LOW_WATER`], delivery
//! resumes and the machine pages in what it skipped from the server's history. Memory stays
//! bounded and nothing stored is lost; ephemeral messages that arrive meanwhile are dropped.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::machine::{Error, Gap, JoinInfo};
use crate::protocol::{Append, Member, Message, Presence};

/// Everything about a message except its payload, handed to typed handlers beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMeta {
    pub room: String,
    /// `None` for ephemeral messages.
    pub seq: Option<u64>,
    pub id: String,
    pub event: String,
    pub from: Member,
    pub ts: u64,
}

impl MessageMeta {
    fn of(m: &Message) -> Self {
        Self {
            room: m.room.clone(),
            seq: m.seq,
            id: m.id.clone(),
            event: m.event.clone(),
            from: m.from.clone(),
            ts: m.ts,
        }
    }
}

/// A payload a typed handler could not decode. The message is not lost: raw handlers and
/// [`RoomEvents`] still saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub meta: MessageMeta,
    pub error: String,
}

/// Everything that happens in a room, as delivered to [`RoomEvents`].
#[derive(Debug, Clone, PartialEq)]
pub enum RoomEvent {
    Message(Message),
    /// The next piece of a streamed message (see [`Event::Append`](crate::machine::Event)):
    /// its text goes after what the stream's opening message and earlier pieces had.
    Append(Append),
    Presence(Presence),
    /// Joined or rejoined after a reconnect.
    Joined(JoinInfo),
    /// Messages were missed and could not be replayed; see [`Gap`].
    Gap(Gap),
    DecodeError(DecodeError),
    /// The server refused to rejoin the room; it is no longer joined.
    Lost(Error),
}

type Callback = Arc<dyn Fn(&RoomEvent) -> Option<RoomEvent> + Send + Sync>;
type EndCallback = Arc<dyn Fn() + Send + Sync>;

/// Events a room's handlers may have waiting before the machine stops delivering the room.
pub(crate) const HIGH_WATER: usize = 1024;
/// Backlog at which delivery resumes.
pub(crate) const LOW_WATER: usize = 128;
/// Events handed to the handlers in one go on the blocking pool.
const BATCH: usize = 64;

/// What [`RoomHub::dispatch`] found after queueing an event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Backlog {
    Fine,
    /// The backlog reached [`HIGH_WATER`] just now.
    Full,
}

#[expect(
    clippy::large_enum_variant,
    reason = "almost every item is an event; boxing would add an allocation to each"
)]
enum Item {
    Event(RoomEvent),
    /// The room was left or lost: end the streams once what came before is delivered.
    EndStreams,
}

/// What a room's hub tells the driver, on the channel the driver gave it at
/// [`attach`](RoomHub::attach).
#[derive(Debug)]
pub(crate) enum RoomSignal {
    /// With a store: the app is done with the room's messages up to `seq`.
    Handled { room: String, seq: u64 },
    /// The room's handlers caught up after falling behind: delivery may resume.
    Drained(String),
}

/// A room's handlers and streams, and the pump that feeds them. Two locks, always taken in
/// this order: `tracking`, then `subscribers` (and a stream's mark last).
#[derive(Default)]
pub(crate) struct RoomHub {
    next_id: AtomicU64,
    subscribers: Mutex<Subscribers>,
    tracking: Mutex<Tracking>,
    /// The pump's inbox, created with the pump at the first event.
    pump: OnceLock<mpsc::UnboundedSender<Item>>,
    /// Events queued for the pump and not yet handled.
    backlog: AtomicUsize,
}

#[derive(Default)]
struct Subscribers {
    handlers: Vec<(u64, Callback)>,
    /// Called once the room's events end (left, lost, or the client closed).
    ends: Vec<(u64, EndCallback)>,
    streams: Vec<StreamTx>,
}

/// Where the room's delivery stands, and the driver it reports to.
#[derive(Default)]
struct Tracking {
    /// Highest seq whose message every handler has returned from and every stream has been
    /// given (0: none yet), in the current era of `line`.
    fed: u64,
    /// Where the room's seqs stand as the pump hands events out.
    line: SeqLine,
    /// Set by the driver at the room's join; weak, so a room's handles never keep the client's
    /// driver alive.
    link: Option<Link>,
    /// The driver stopped delivering the room: tell it once the backlog is low again.
    suspended: bool,
}

struct Link {
    room: String,
    signals: mpsc::WeakUnboundedSender<RoomSignal>,
    /// With a store: report the handled position (see [`RoomHub::report`]).
    positions: bool,
    reported: u64,
}

impl Link {
    fn signal(&self, signal: RoomSignal) -> bool {
        self.signals
            .upgrade()
            .is_some_and(|tx| tx.send(signal).is_ok())
    }
}

/// A stream's sender and how far its reader got.
struct StreamTx {
    tx: mpsc::UnboundedSender<RoomEvent>,
    mark: Arc<Mutex<Mark>>,
}

/// How far a stream's reader got: the highest seq it is done with, in the era it read it.
#[derive(Debug, Default, Clone, Copy)]
struct Mark {
    era: u64,
    done: u64,
    /// The reader dropped the stream with messages it never took: the room's position stays
    /// below them for as long as the room lives.
    pinned: bool,
}

/// Where a room's seqs stand in the order events are handed out, to tell a rejoin whose seqs
/// restart (a new epoch, or a server whose history went back below what was delivered) from
/// one that goes on. The pump and every stream's reader each keep one over the same events,
/// so they agree on the era each message belongs to.
#[derive(Debug, Default, Clone)]
struct SeqLine {
    epoch: Option<String>,
    last: u64,
    era: u64,
}

impl RoomEvent {
    /// The room seq of a stored event (a message or a stream's piece).
    pub(crate) fn seq(&self) -> Option<u64> {
        match self {
            RoomEvent::Message(m) => m.seq,
            RoomEvent::Append(a) => Some(a.seq),
            _ => None,
        }
    }
}

impl SeqLine {
    /// Takes `event` into account; true when it starts a new era.
    fn see(&mut self, event: &RoomEvent) -> bool {
        match event {
            RoomEvent::Message(_) | RoomEvent::Append(_) => {
                if let Some(seq) = event.seq() {
                    self.last = self.last.max(seq);
                }
                false
            }
            RoomEvent::Joined(j) => {
                let restarted =
                    self.epoch.as_deref().is_some_and(|e| e != j.epoch) || j.seq < self.last;
                self.epoch = Some(j.epoch.clone());
                if restarted {
                    self.era += 1;
                    self.last = j.seq;
                }
                restarted
            }
            _ => false,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked poisons nothing we rely on: the list itself stays valid.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RoomHub {
    fn add(self: &Arc<Self>, callback: Callback) -> Subscription {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        lock(&self.subscribers).handlers.push((id, callback));
        Subscription {
            hub: Arc::downgrade(self),
            id: Some(id),
        }
    }

    pub(crate) fn on<T, F>(self: &Arc<Self>, event: &str, handler: F) -> Subscription
    where
        T: DeserializeOwned,
        F: Fn(T, MessageMeta) + Send + Sync + 'static,
    {
        let event = event.to_owned();
        self.add(Arc::new(move |ev| {
            let RoomEvent::Message(m) = ev else {
                return None;
            };
            if m.event != event {
                return None;
            }
            match m.data.decode::<T>() {
                Ok(value) => {
                    handler(value, MessageMeta::of(m));
                    None
                }
                Err(e) => Some(RoomEvent::DecodeError(DecodeError {
                    meta: MessageMeta::of(m),
                    error: e.to_string(),
                })),
            }
        }))
    }

    pub(crate) fn on_any<F>(self: &Arc<Self>, handler: F) -> Subscription
    where
        F: Fn(&RoomEvent) + Send + Sync + 'static,
    {
        self.add(Arc::new(move |ev| {
            handler(ev);
            None
        }))
    }

    pub(crate) fn on_end<F>(self: &Arc<Self>, handler: F) -> Subscription
    where
        F: Fn() + Send + Sync + 'static,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        lock(&self.subscribers).ends.push((id, Arc::new(handler)));
        Subscription {
            hub: Arc::downgrade(self),
            id: Some(id),
        }
    }

    pub(crate) fn stream(self: &Arc<Self>) -> RoomEvents {
        let (tx, rx) = mpsc::unbounded_channel();
        let tracking = lock(&self.tracking);
        // Messages before this stream existed are not its concern.
        let line = tracking.line.clone();
        let mark = Arc::new(Mutex::new(Mark {
            era: line.era,
            done: tracking.fed,
            pinned: false,
        }));
        lock(&self.subscribers).streams.push(StreamTx {
            tx,
            mark: mark.clone(),
        });
        RoomEvents {
            rx,
            mark,
            line,
            last: None,
            hub: Arc::downgrade(self),
        }
    }

    /// The driver takes the room's events from its join on: signals go to `signals`, and with
    /// `positions` (a store) the handled position is reported.
    pub(crate) fn attach(
        &self,
        room: &str,
        signals: mpsc::WeakUnboundedSender<RoomSignal>,
        positions: bool,
    ) {
        let mut tracking = lock(&self.tracking);
        let reported = tracking.link.as_ref().map_or(0, |l| l.reported);
        tracking.link = Some(Link {
            room: room.to_owned(),
            signals,
            positions,
            reported,
        });
    }

    /// Tells the driver the highest seq every handler and every stream reader is done with,
    /// when it moved. A stream's reader is done with a message when it asks for the next
    /// event; a stream dropped with messages its reader never took holds the position below
    /// them. A reader still behind the start of the current era counts as done with nothing.
    fn report(&self) {
        let mut tracking = lock(&self.tracking);
        let t = &mut *tracking;
        let Some(link) = t.link.as_mut().filter(|l| l.positions) else {
            return;
        };
        let era = t.line.era;
        let mut seq = t.fed;
        for s in lock(&self.subscribers).streams.iter() {
            let mark = *lock(&s.mark);
            if s.tx.is_closed() && !mark.pinned {
                continue;
            }
            seq = seq.min(if mark.era == era { mark.done } else { 0 });
        }
        if seq > link.reported {
            let room = link.room.clone();
            if link.signal(RoomSignal::Handled { room, seq }) {
                link.reported = seq;
            }
        }
    }

    /// Queues `event` for the room's pump (started on `runtime` at the first event). When the
    /// backlog reaches [`HIGH_WATER`], returns [`Backlog::Full`] once, and signals
    /// [`RoomSignal::Drained`] when the handlers are down to [`LOW_WATER`] again.
    pub(crate) fn dispatch(
        self: &Arc<Self>,
        runtime: &tokio::runtime::Handle,
        event: RoomEvent,
    ) -> Backlog {
        let queued = self.backlog.fetch_add(1, Ordering::AcqRel) + 1;
        self.enqueue(runtime, Item::Event(event));
        if queued < HIGH_WATER {
            return Backlog::Fine;
        }
        // Suspending and draining change together under this lock, so a drain can never be
        // missed: the pump sees either neither or both.
        let mut tracking = lock(&self.tracking);
        if tracking.suspended || self.backlog.load(Ordering::Acquire) <= LOW_WATER {
            return Backlog::Fine;
        }
        tracking.suspended = true;
        Backlog::Full
    }

    /// Ends every stream after the events already queued (the room was left or lost).
    pub(crate) fn end_streams(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
        self.enqueue(runtime, Item::EndStreams);
    }

    fn enqueue(self: &Arc<Self>, runtime: &tokio::runtime::Handle, item: Item) {
        let tx = self.pump.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            runtime.spawn(run_pump(Arc::downgrade(self), rx));
            tx
        });
        let _ = tx.send(item);
    }

    /// Runs every handler on `event`, then on the decode errors they produced, and feeds the
    /// streams. Called on the pump, off the driver.
    fn handle(&self, event: RoomEvent) {
        let handlers: Vec<Callback> = lock(&self.subscribers)
            .handlers
            .iter()
            .map(|(_, h)| h.clone())
            .collect();
        let mut follow_ups = Vec::new();
        for h in &handlers {
            follow_ups.extend(guarded(h, &event));
        }
        let seq = event.seq();
        {
            let mut tracking = lock(&self.tracking);
            if tracking.line.see(&event) {
                // Seqs restart: what was handled before says nothing about the new ones.
                tracking.fed = 0;
                if let Some(link) = tracking.link.as_mut() {
                    link.reported = 0;
                }
            }
        }
        self.send(event);
        if let Some(seq) = seq {
            let mut tracking = lock(&self.tracking);
            tracking.fed = tracking.fed.max(seq);
        }
        for follow_up in follow_ups {
            for h in &handlers {
                guarded(h, &follow_up);
            }
            self.send(follow_up);
        }
    }

    /// `n` events were handled: report a drained backlog to the driver.
    fn handled(&self, n: usize) {
        let left = self
            .backlog
            .fetch_sub(n, Ordering::AcqRel)
            .saturating_sub(n);
        if left <= LOW_WATER {
            let mut tracking = lock(&self.tracking);
            if tracking.suspended {
                tracking.suspended = false;
                if let Some(link) = &tracking.link {
                    link.signal(RoomSignal::Drained(link.room.clone()));
                }
            }
        }
    }

    /// The room's events ended: streams end, and the end handlers run.
    fn end(&self) {
        let ends: Vec<EndCallback> = {
            let mut subscribers = lock(&self.subscribers);
            subscribers.streams.clear();
            subscribers.ends.iter().map(|(_, f)| f.clone()).collect()
        };
        for f in ends {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f())).is_err() {
                tracing::warn!("roomcast: a room end handler panicked");
            }
        }
    }

    fn send(&self, event: RoomEvent) {
        lock(&self.subscribers)
            .streams
            .retain(|s| s.tx.send(event.clone()).is_ok() || lock(&s.mark).pinned);
    }
}

/// Runs one handler; a panic in it is contained to that call, so the room's other handlers
/// and later events are unaffected.
fn guarded(handler: &Callback, event: &RoomEvent) -> Option<RoomEvent> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(event))).unwrap_or_else(|_| {
        tracing::warn!("roomcast: a room handler panicked; the event was dropped for it");
        None
    })
}

/// The room's pump: hands queued events to the handlers in batches on the blocking pool, in
/// order, until the hub is gone.
async fn run_pump(hub: Weak<RoomHub>, mut rx: mpsc::UnboundedReceiver<Item>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let Some(strong) = hub.upgrade() else {
            return;
        };
        let items = std::mem::take(&mut batch);
        let events = items
            .iter()
            .filter(|item| matches!(item, Item::Event(_)))
            .count();
        let worker = strong.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for item in items {
                match item {
                    Item::Event(event) => worker.handle(event),
                    Item::EndStreams => worker.end(),
                }
            }
        })
        .await;
        strong.handled(events);
        strong.report();
    }
}

/// Keeps a handler registered; dropping it unregisters the handler. Call
/// [`detach`](Self::detach) to keep the handler for the life of the room.
#[must_use = "dropping a Subscription unregisters its handler; call .detach() to keep it"]
pub struct Subscription {
    hub: Weak<RoomHub>,
    id: Option<u64>,
}

impl Subscription {
    /// Keeps the handler registered for as long as the room exists.
    pub fn detach(mut self) {
        self.id = None;
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let (Some(id), Some(hub)) = (self.id, self.hub.upgrade()) {
            let mut subscribers = lock(&hub.subscribers);
            subscribers.handlers.retain(|(i, _)| *i != id);
            subscribers.ends.retain(|(i, _)| *i != id);
        }
    }
}

/// A stream of a room's events, from [`Room::events`](super::Room::events).
///
/// With a store, a message counts as handled (and the room's kept position may pass it) when
/// the reader asks for the next event or drops the stream.
pub struct RoomEvents {
    rx: mpsc::UnboundedReceiver<RoomEvent>,
    mark: Arc<Mutex<Mark>>,
    /// The room's seqs as this reader has seen them (see [`SeqLine`]).
    line: SeqLine,
    /// Seq of the last message returned, not yet marked done.
    last: Option<u64>,
    hub: Weak<RoomHub>,
}

impl RoomEvents {
    /// The next event; `None` once the room is left or the client closed.
    pub async fn recv(&mut self) -> Option<RoomEvent> {
        self.mark_done();
        let event = self.rx.recv().await;
        if let Some(event) = &event {
            if self.line.see(event) {
                let mut mark = lock(&self.mark);
                mark.era = self.line.era;
                mark.done = 0;
            }
            if let Some(seq) = event.seq() {
                self.last = Some(seq);
            }
        }
        event
    }

    fn mark_done(&mut self) {
        if let Some(seq) = self.last.take() {
            {
                let mut mark = lock(&self.mark);
                mark.done = mark.done.max(seq);
            }
            if let Some(hub) = self.hub.upgrade() {
                hub.report();
            }
        }
    }
}

impl Drop for RoomEvents {
    fn drop(&mut self) {
        self.mark_done();
        // Messages already in the stream that the app never took: the position stays below
        // them (they are delivered again to the next run on the same store). Pinned while
        // looking, so the pump keeps counting this stream until it is known to hold none.
        lock(&self.mark).pinned = true;
        self.rx.close();
        let mut untaken = false;
        while let Ok(event) = self.rx.try_recv() {
            untaken |= event.seq().is_some();
        }
        lock(&self.mark).pinned = untaken;
    }
}
