//! The driver task: feeds the machine from the socket, the app and the clock, and carries out
//! what it asks. Routing only; every decision is the machine's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use web_time::Instant;

use crate::machine::{
    Action, ConnectionState, Error, Event, JoinOptions, Machine, OpId, Output, PublishRequest,
    Reply,
};

use super::handlers::{Backlog, RoomEvent, RoomHub};
use super::socket::{Socket, SocketEvent};
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
}

pub(crate) struct Driver {
    pub(crate) machine: Machine,
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) tls: Arc<rustls::ClientConfig>,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) provider: Option<Arc<dyn TokenProvider>>,
    pub(crate) hubs: Hubs,
    pub(crate) state: watch::Sender<ConnectionState>,
    pub(crate) errors: broadcast::Sender<Error>,
    /// Rooms whose handlers caught up after falling behind (see [`Backlog`]).
    pub(crate) drained: mpsc::UnboundedReceiver<String>,
    pub(crate) drained_tx: mpsc::UnboundedSender<String>,
}

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
}

impl Driver {
    pub(crate) async fn run(mut self) {
        let (socket_tx, mut socket_rx) = mpsc::unbounded_channel();
        let (token_tx, mut token_rx) = mpsc::unbounded_channel();
        let mut run = Run {
            socket: None,
            socket_tx,
            token_tx,
            pending: HashMap::new(),
        };
        loop {
            let deadline = self.drain(&mut run);
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
                        // Every handle is gone: close the connection and stop.
                        let _ = self.machine.close(Instant::now());
                        self.drain(&mut run);
                        return;
                    }
                },
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
            Command::Close(reply) => (m.close(now), reply),
            Command::SetToken(token) => return m.set_token(now, token),
            Command::ReconnectNow => return m.reconnect_now(now),
            Command::Pause => return m.pause(now),
            Command::Resume => return m.resume(now),
            Command::Queued(reply) => {
                let _ = reply.send(m.queued());
                return;
            }
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

    fn act(&mut self, run: &mut Run, action: Action) {
        match action {
            Action::Connect { conn, url } => {
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
            Event::Message(m) => (m.room.clone(), RoomEvent::Message(m)),
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
