//! The driver task: feeds the machine from the socket, the app and the clock, and carries out
//! what it asks. Routing only; every decision is the machine's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use web_time::Instant;

use crate::machine::{
    Action, ConnectionState, Error, Event, JoinOptions, Machine, OpId, Output, PublishRequest,
    Record, Reply, StoredPublish,
};

use super::handlers::{Backlog, RoomEvent, RoomHub};
use super::socket::{Socket, SocketEvent};
use super::store::FileStore;
use super::token::TokenProvider;

pub(crate) type Responder = oneshot::Sender<Result<Reply, Error>>;
pub(crate) type Hubs = Arc<Mutex<HashMap<String, Arc<RoomHub>>>>;

/// An app request, sent from [`Client`](super::Client) and [`Room`](super::Room) handles.
pub(crate) enum Command {
    Connect(Responder),
    Join {
        room: String,
        options: JoinOptions,
        reply: Responder,
    },
    Leave {
        room: String,
        reply: Responder,
    },
    Publish {
        req: PublishRequest,
        reply: Responder,
    },
    History {
        room: String,
        before: Option<u64>,
        limit: u32,
        reply: Responder,
    },
    SetToken(String),
    ReconnectNow,
    Pause,
    Resume,
    Close(Responder),
    Queued(oneshot::Sender<usize>),
    Pending(oneshot::Sender<Vec<StoredPublish>>),
    /// The app is done with `room`'s messages up to `seq` (from the room's handlers).
    Handled {
        room: String,
        seq: u64,
    },
}

pub(crate) struct Driver {
    pub(crate) machine: Machine,
    pub(crate) runtime: tokio::runtime::Handle,
    /// For `wss://` URLs only.
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) provider: Option<Arc<dyn TokenProvider>>,
    pub(crate) hubs: Hubs,
    pub(crate) state: watch::Sender<ConnectionState>,
    pub(crate) errors: broadcast::Sender<Error>,
    /// Rooms whose handlers caught up after falling behind (see [`Backlog`]).
    pub(crate) drained: mpsc::UnboundedReceiver<String>,
    pub(crate) drained_tx: mpsc::UnboundedSender<String>,
    /// The store, when the app gave one; written off the driver task.
    pub(crate) store: Option<Arc<Mutex<FileStore>>>,
    /// For the rooms' handlers to report what they handled (weakly held by them).
    pub(crate) commands_tx: mpsc::WeakUnboundedSender<Command>,
}

/// Records for the store: what the machine produced and what is being written now.
#[derive(Default)]
struct Writes {
    batch: Vec<Record>,
    writing: bool,
    /// `close` calls answered once everything is written.
    closing: Vec<Responder>,
}

type Written = (u64, Result<(), String>);

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

struct Run {
    socket: Option<Socket>,
    socket_tx: mpsc::UnboundedSender<SocketEvent>,
    token_tx: mpsc::UnboundedSender<Result<Option<String>, String>>,
    pending: HashMap<OpId, Responder>,
    writes: Writes,
    written_tx: mpsc::UnboundedSender<Written>,
}

impl Driver {
    pub(crate) async fn run(mut self) {
        let (socket_tx, mut socket_rx) = mpsc::unbounded_channel();
        let (token_tx, mut token_rx) = mpsc::unbounded_channel();
        let (written_tx, mut written_rx) = mpsc::unbounded_channel();
        let mut run = Run {
            socket: None,
            socket_tx,
            token_tx,
            pending: HashMap::new(),
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
                    Some(command) => self.command(&mut run, command),
                    None => {
                        // Every handle is gone: close the connection, keep what the store
                        // must keep, and stop.
                        let _ = self.machine.close(Instant::now());
                        self.drain(&mut run);
                        while run.writes.writing || !run.writes.batch.is_empty() {
                            if !run.writes.writing {
                                self.write(&mut run);
                            }
                            let Some((n, result)) = written_rx.recv().await else {
                                return;
                            };
                            run.writes.writing = false;
                            self.machine.persisted(Instant::now(), n, result);
                            self.drain(&mut run);
                        }
                        return;
                    }
                },
                Some((n, result)) = written_rx.recv() => {
                    run.writes.writing = false;
                    self.machine.persisted(Instant::now(), n, result);
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
                Some(room) = self.drained.recv() => self.machine.resume_delivery(Instant::now(), &room),
                () = sleep => self.machine.handle_timeout(Instant::now()),
            }
        }
    }

    fn command(&mut self, run: &mut Run, command: Command) {
        let now = Instant::now();
        let m = &mut self.machine;
        let (op, reply) = match command {
            Command::Connect(reply) => (m.connect(now), reply),
            Command::Join {
                room,
                options,
                reply,
            } => (m.join(now, &room, options), reply),
            Command::Leave { room, reply } => (m.leave(now, &room), reply),
            Command::Publish { req, reply } => (m.publish(now, req), reply),
            Command::History {
                room,
                before,
                limit,
                reply,
            } => (m.history(now, &room, before, limit), reply),
            Command::Close(reply) if self.store.is_some() => {
                // Answered once the positions and queue it leaves behind are on disk.
                let _ = m.close(now);
                run.writes.closing.push(reply);
                return;
            }
            Command::Close(reply) => (m.close(now), reply),
            Command::SetToken(token) => return m.set_token(now, token),
            Command::ReconnectNow => return m.reconnect_now(now),
            Command::Pause => return m.pause(now),
            Command::Resume => return m.resume(now),
            Command::Queued(reply) => {
                let _ = reply.send(m.queued());
                return;
            }
            Command::Pending(reply) => {
                let _ = reply.send(m.pending());
                return;
            }
            Command::Handled { room, seq } => return m.handled(now, &room, seq),
        };
        run.pending.insert(op, reply);
    }

    fn hub(&self, room: &str) -> Option<Arc<RoomHub>> {
        self.hubs.lock().ok()?.get(room).cloned()
    }

    /// Carries out every output of the machine; returns when `handle_timeout` is due.
    fn drain(&mut self, run: &mut Run) -> Option<Instant> {
        loop {
            match self.machine.poll_output() {
                Output::Action(action) => self.act(run, action),
                Output::Persist(record) => run.writes.batch.push(record),
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
    /// gathered meanwhile go in the next one: one disk flush per group). Answers `close`
    /// calls once nothing is left to write.
    fn write(&mut self, run: &mut Run) {
        let w = &mut run.writes;
        if w.writing {
            return;
        }
        if w.batch.is_empty() {
            if !w.closing.is_empty() {
                // Closed and written: release the store, so the app can open another client
                // on it while this one's handles still exist.
                self.store = None;
            }
            for reply in w.closing.drain(..) {
                let _ = reply.send(Ok(Reply::Closed));
            }
            return;
        }
        let Some(store) = self.store.clone() else {
            w.batch.clear();
            return;
        };
        let batch = std::mem::take(&mut w.batch);
        w.writing = true;
        let tx = run.written_tx.clone();
        self.runtime.spawn_blocking(move || {
            let n = batch.len() as u64;
            let result = match store.lock() {
                Ok(mut store) => store.append(&batch).map_err(|e| e.to_string()),
                Err(_) => Err("the store is unusable after a panic".to_owned()),
            };
            if let Err(error) = &result {
                tracing::warn!(%error, "roomcast store write failed");
            }
            let _ = tx.send((n, result));
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

    fn route(&mut self, run: &mut Run, event: Event) {
        let (room, room_event) = match event {
            Event::State(state) => {
                log_state(&state);
                if state == ConnectionState::Closed {
                    // Every room's events end with the client.
                    let hubs: Vec<Arc<RoomHub>> = self
                        .hubs
                        .lock()
                        .map(|h| h.values().cloned().collect())
                        .unwrap_or_default();
                    for hub in hubs {
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
                if self.store.is_some() {
                    match self.hub(&m.room) {
                        Some(hub) => hub.track(&m.room, &self.commands_tx),
                        // Nobody to hand it to: handled as it arrives.
                        None => {
                            if let Some(seq) = m.seq {
                                self.machine.handled(Instant::now(), &m.room, seq);
                            }
                        }
                    }
                }
                (m.room.clone(), RoomEvent::Message(m))
            }
            Event::Presence(p) => (p.room.clone(), RoomEvent::Presence(p)),
            Event::Joined(j) => (j.room.clone(), RoomEvent::Joined(j)),
            Event::Gap(g) => (g.room.clone(), RoomEvent::Gap(g)),
            Event::RoomLost { room, error } => {
                if let Some(hub) = self.hubs.lock().ok().and_then(|mut h| h.remove(&room)) {
                    let _ = hub.dispatch(
                        &self.runtime,
                        RoomEvent::Lost(error),
                        &room,
                        &self.drained_tx,
                    );
                    hub.end_streams(&self.runtime);
                }
                return;
            }
        };
        if let Some(hub) = self.hub(&room) {
            // The room's handlers run on its own task; when they fall behind, the machine
            // stops delivering the room and pages the rest in once they caught up.
            if hub.dispatch(&self.runtime, room_event, &room, &self.drained_tx) == Backlog::Full {
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
