//! The driver task: feeds the machine from the socket, the app, the store, the rooms' pumps
//! and the clock, and carries out what it asks. Routing only; every decision is the
//! machine's. Its state (sockets, waiting requests, the rooms' hubs) is its own: handles
//! reach it only through [`Command`]s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use web_time::Instant;

use crate::machine::{Action, ConnectionState, Error, Event, Machine, OpId, Output, Record, Reply};

use super::handlers::{Backlog, RoomEvent, RoomHub, RoomSignal};
use super::socket::{Socket, SocketEvent};
use super::store::FileStore;
use super::token::TokenProvider;

pub(crate) type Responder = oneshot::Sender<Result<Reply, Error>>;
/// A machine call whose outcome arrives as its operation's `Completed` event.
pub(crate) type Call = Box<dyn FnOnce(&mut Machine, Instant) -> OpId + Send>;
/// A machine input or query without an operation.
pub(crate) type Tell = Box<dyn FnOnce(&mut Machine, Instant) + Send>;

/// What [`Client`](super::Client) and [`Room`](super::Room) handles send the driver. The
/// machine's API is reached through closures rather than mirrored here, so a new operation
/// adds no variant.
pub(crate) enum Command {
    /// An operation; `reply` gets its outcome.
    Request(Call, Responder),
    Tell(Tell),
    /// The room's subscribers, before its join: the room's events go to `hub` from then on.
    Attach(String, Arc<RoomHub>),
    /// The room was left: its streams end after the events already handed to it.
    Detach(String),
}

pub(crate) struct Driver {
    pub(crate) machine: Machine,
    pub(crate) runtime: tokio::runtime::Handle,
    /// For `wss://` URLs only.
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) provider: Option<Arc<dyn TokenProvider>>,
    pub(crate) state: watch::Sender<ConnectionState>,
    pub(crate) errors: broadcast::Sender<Error>,
    /// The store, when the app gave one; written off the driver task.
    pub(crate) store: Option<Arc<Mutex<FileStore>>>,
}

/// Records for the store: what the machine produced and what is being written now.
#[derive(Default)]
struct Writes {
    batch: Vec<Record>,
    /// Number of the last record in `batch`.
    last: u64,
    writing: bool,
}

/// A write's outcome: the number of its last record, and the result.
type Written = (u64, Result<(), String>);

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The driver task's own state: nothing here is shared with the handles.
struct Run {
    socket: Option<Socket>,
    socket_tx: mpsc::UnboundedSender<SocketEvent>,
    token_tx: mpsc::UnboundedSender<Result<Option<String>, String>>,
    pending: HashMap<OpId, Responder>,
    /// Joined rooms' subscribers.
    hubs: HashMap<String, Arc<RoomHub>>,
    /// Given (weakly) to every hub at its attach.
    signals_tx: mpsc::UnboundedSender<RoomSignal>,
    writes: Writes,
    written_tx: mpsc::UnboundedSender<Written>,
}

impl Driver {
    pub(crate) async fn run(mut self) {
        let (socket_tx, mut socket_rx) = mpsc::unbounded_channel();
        let (token_tx, mut token_rx) = mpsc::unbounded_channel();
        let (written_tx, mut written_rx) = mpsc::unbounded_channel();
        let (signals_tx, mut signals_rx) = mpsc::unbounded_channel();
        let mut run = Run {
            socket: None,
            socket_tx,
            token_tx,
            pending: HashMap::new(),
            hubs: HashMap::new(),
            signals_tx,
            writes: Writes::default(),
            written_tx,
        };
        loop {
            let deadline = self.drain(&mut run);
            self.write(&mut run);
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => {
                        // What the rooms' handlers reported before this command was sent
                        // (a stream dropped, then `close`) comes first: the two channels are
                        // not ordered between themselves.
                        while let Ok(signal) = signals_rx.try_recv() {
                            self.signal(signal);
                        }
                        self.command(&mut run, command);
                    }
                    None => {
                        // Every handle is gone: close the connection, keep what the store
                        // must keep, and stop.
                        while let Ok(signal) = signals_rx.try_recv() {
                            self.signal(signal);
                        }
                        let _ = self.machine.close(Instant::now());
                        self.drain(&mut run);
                        while run.writes.writing || !run.writes.batch.is_empty() {
                            if !run.writes.writing {
                                self.write(&mut run);
                            }
                            let Some((upto, result)) = written_rx.recv().await else {
                                return;
                            };
                            run.writes.writing = false;
                            self.machine.persisted(Instant::now(), upto, result);
                            self.drain(&mut run);
                        }
                        return;
                    }
                },
                Some((upto, result)) = written_rx.recv() => {
                    run.writes.writing = false;
                    self.machine.persisted(Instant::now(), upto, result);
                }
                Some(event) = socket_rx.recv() => {
                    let now = Instant::now();
                    match event {
                        SocketEvent::Open(conn) => self.machine.handle_open(now, conn, unix_ms()),
                        SocketEvent::Frame(conn, text) => self.machine.handle_frame(now, conn, &text),
                        SocketEvent::Closed(conn, code) => {
                            if run.socket.as_ref().is_some_and(|s| s.conn == conn) {
                                run.socket = None;
                            }
                            self.machine.handle_close(now, conn, code);
                        }
                    }
                }
                Some(answer) = token_rx.recv() => self.machine.provide_token(Instant::now(), answer),
                Some(signal) = signals_rx.recv() => self.signal(signal),
                () = sleep => self.machine.handle_timeout(Instant::now()),
            }
        }
    }

    fn signal(&mut self, signal: RoomSignal) {
        match signal {
            RoomSignal::Handled { room, seq } => self.machine.handled(Instant::now(), &room, seq),
            RoomSignal::Drained(room) => self.machine.resume_delivery(Instant::now(), &room),
        }
    }

    fn command(&mut self, run: &mut Run, command: Command) {
        let now = Instant::now();
        match command {
            Command::Request(call, reply) => {
                let op = call(&mut self.machine, now);
                run.pending.insert(op, reply);
            }
            Command::Tell(tell) => tell(&mut self.machine, now),
            Command::Attach(room, hub) => {
                hub.attach(&room, run.signals_tx.downgrade(), self.store.is_some());
                run.hubs.insert(room, hub);
            }
            Command::Detach(room) => {
                if let Some(hub) = run.hubs.remove(&room) {
                    hub.end_streams(&self.runtime);
                }
            }
        }
    }

    /// Carries out every output of the machine; returns when `handle_timeout` is due.
    fn drain(&mut self, run: &mut Run) -> Option<Instant> {
        loop {
            match self.machine.poll_output() {
                Output::Action(action) => self.act(run, action),
                Output::Persist { n, record } => {
                    run.writes.batch.push(record);
                    run.writes.last = n;
                }
                Output::Transmit(text) => {
                    if let Some(socket) = &run.socket {
                        socket.send(text);
                    }
                }
                Output::Event(event) => self.route(run, event),
                Output::Timeout(deadline) => return deadline,
            }
        }
    }

    /// Starts writing the records gathered so far, unless a write is under way (those
    /// gathered meanwhile go in the next one: one disk flush per group). Once the client is
    /// closed and everything is written, releases the store, so the app can open another
    /// client on it while this one's handles still exist.
    fn write(&mut self, run: &mut Run) {
        let w = &mut run.writes;
        if w.writing {
            return;
        }
        if w.batch.is_empty() {
            if self.machine.state() == ConnectionState::Closed && self.machine.unwritten() == 0 {
                self.store = None;
            }
            return;
        }
        let Some(store) = self.store.clone() else {
            w.batch.clear();
            return;
        };
        let batch = std::mem::take(&mut w.batch);
        let upto = w.last;
        w.writing = true;
        let tx = run.written_tx.clone();
        self.runtime.spawn_blocking(move || {
            let result = match store.lock() {
                Ok(mut store) => store.append(&batch).map_err(|e| e.to_string()),
                Err(_) => Err("the store is unusable after a panic".to_owned()),
            };
            if let Err(error) = &result {
                tracing::warn!(%error, "roomcast store write failed");
            }
            let _ = tx.send((upto, result));
        });
    }

    fn act(&mut self, run: &mut Run, action: Action) {
        match action {
            Action::Connect { conn, url } => {
                tracing::debug!(?conn, "roomcast: opening a connection");
                run.socket = Some(Socket::spawn(
                    &self.runtime,
                    conn,
                    url,
                    self.tls.clone(),
                    run.socket_tx.clone(),
                ));
            }
            Action::Close { conn, code, reason } => {
                if let Some(socket) = run.socket.take_if(|s| s.conn == conn) {
                    socket.close(code, reason);
                }
            }
            Action::FetchToken => match &self.provider {
                Some(provider) => {
                    let fetch = provider.fetch_token();
                    let tx = run.token_tx.clone();
                    self.runtime.spawn(async move {
                        let _ = tx.send(fetch.await);
                    });
                }
                None => self.machine.provide_token(Instant::now(), Ok(None)),
            },
        }
    }

    /// Hands an event to whoever waits for it: a request's responder, the state and error
    /// channels, or the room's hub.
    fn route(&mut self, run: &mut Run, event: Event) {
        let (room, room_event) = match event {
            Event::State(state) => {
                log_state(&state);
                if state == ConnectionState::Closed {
                    // Every room's events end with the client.
                    for hub in run.hubs.values() {
                        hub.end_streams(&self.runtime);
                    }
                }
                self.state.send_replace(state);
                return;
            }
            Event::Completed { op, result } => {
                if let Some(reply) = run.pending.remove(&op) {
                    let _ = reply.send(result);
                }
                return;
            }
            Event::Error(error) => {
                tracing::debug!(%error, "client error");
                let _ = self.errors.send(error);
                return;
            }
            Event::Message(m) => {
                if self.store.is_some() && !run.hubs.contains_key(&m.room) {
                    // Nobody to hand it to: handled as it arrives.
                    if let Some(seq) = m.seq {
                        self.machine.handled(Instant::now(), &m.room, seq);
                    }
                }
                (m.room.clone(), RoomEvent::Message(m))
            }
            Event::Append(a) => {
                if self.store.is_some() && !run.hubs.contains_key(&a.room) {
                    self.machine.handled(Instant::now(), &a.room, a.seq);
                }
                (a.room.clone(), RoomEvent::Append(a))
            }
            Event::Presence(p) => (p.room.clone(), RoomEvent::Presence(p)),
            Event::Joined(j) => (j.room.clone(), RoomEvent::Joined(j)),
            Event::Gap(g) => (g.room.clone(), RoomEvent::Gap(g)),
            Event::RoomLost { room, error } => {
                if let Some(hub) = run.hubs.remove(&room) {
                    let _ = hub.dispatch(&self.runtime, RoomEvent::Lost(error));
                    hub.end_streams(&self.runtime);
                }
                return;
            }
        };
        if let Some(hub) = run.hubs.get(&room) {
            // The room's handlers run on its own task; when they fall behind, the machine
            // stops delivering the room and pages the rest in once they caught up.
            if hub.dispatch(&self.runtime, room_event) == Backlog::Full {
                self.machine.suspend_delivery(&room);
            }
        }
    }
}

/// Connection changes an app's log should show (info), and the steps between them (debug).
fn log_state(state: &ConnectionState) {
    match state {
        ConnectionState::Idle | ConnectionState::Connecting { .. } => {
            tracing::debug!(?state, "roomcast: connection state");
        }
        ConnectionState::Reconnecting { attempt, delay } => {
            tracing::info!(attempt, ?delay, "roomcast: reconnecting");
        }
        ConnectionState::Unauthorized => tracing::warn!("roomcast: the token was refused"),
        _ => tracing::info!(?state, "roomcast: connection state"),
    }
}
