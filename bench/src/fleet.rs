//! One server under test and its N client tasks: started, connected and measured at rest
//! once, then driven through the stages of whichever scenario runs (the fixed-rate row, the
//! saturation steps, the churn). What every scenario reads from the clients' progress lives
//! here: messages published, the backlog, and whether everything has been delivered.

use std::path::PathBuf;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use roomcast_server::auth::{mint, Claims};

use crate::args::Args;
use crate::client::{self, Churn, Outcome, Plan};
use crate::error::BenchError;
use crate::process::{Server, SECRET};
use crate::procfs;
use crate::shared::{Phase, Shared};
use crate::target::Target;
use crate::wire::{Ident, Proto};

/// How often the controller looks at the clients' progress.
const POLL: Duration = Duration::from_millis(10);
/// How long client tasks get to finish once the run is done.
const STOP_LIMIT: Duration = Duration::from_secs(10);
/// A drain also ends once nothing has moved for this long with every client online: what
/// has not arrived by then is not on its way (a server without replay lost it).
const QUIET: Duration = Duration::from_secs(2);

/// Where the peers' servers are, resolved once before any measurement.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    pub socketioxide: Option<PathBuf>,
}

/// A server with every client connected and joined.
pub struct Fleet {
    pub target: Target,
    pub server: Server,
    pub pid: u32,
    pub shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<Outcome>>,
    pub rooms: usize,
    /// Server RSS before any client, and once all had joined.
    pub rss_idle: u64,
    pub rss_connected: u64,
    pub load_start: f64,
}

/// How a drain ended.
#[derive(Debug, Clone, Copy)]
pub struct Drained {
    /// Every publish acked and every subscriber holding every message.
    pub complete: bool,
    pub took: Duration,
    /// When it ended: clients not joined on a live connection, publishes not acked.
    pub offline: usize,
    pub unacked: u64,
}

impl Fleet {
    /// Starts the server, connects every client and waits until all have joined.
    pub async fn start(
        args: &Args,
        target: Target,
        base: Instant,
        per_room_rate: f64,
        churn: Option<Churn>,
        peers: &Peers,
    ) -> Result<Self, BenchError> {
        let server = match target {
            Target::Persisted | Target::Ephemeral => {
                Server::roomcast(args.server_bin.as_ref()).await?
            }
            Target::SocketIo => Server::socketio(&args.node, &args.socketio_dir, false).await?,
            Target::SocketIoRecovery => {
                Server::socketio(&args.node, &args.socketio_dir, true).await?
            }
            Target::Socketioxide => {
                let bin = peers
                    .socketioxide
                    .as_ref()
                    .ok_or_else(|| BenchError::Options("no socketioxide binary".into()))?;
                Server::socketioxide(bin).await?
            }
        };
        let pid = server.pid().ok_or(BenchError::Closed)?;
        let proto = target.proto();
        let url = match proto {
            Proto::Roomcast { .. } => format!("ws://{}/ws", server.addr),
            Proto::SocketIo => format!("ws://{}/socket.io/?EIO=4&transport=websocket", server.addr),
        };
        let load_start = procfs::load_average();
        // Let the runtime (V8 especially) settle before the baseline.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss_idle = procfs::rss_bytes(pid)?;

        let n = args.connections;
        let rooms = args.rooms();
        let shared = Arc::new(Shared::new(
            n,
            base,
            args.connect_concurrency,
            per_room_rate,
        )?);
        let plan = Arc::new(Plan {
            proto,
            url,
            pad: "x".repeat(args.payload),
            reconnect_min: Duration::from_millis(args.reconnect_min_ms),
            reconnect_max: Duration::from_millis(args.reconnect_max_ms),
            churn,
        });
        let mut tasks = Vec::with_capacity(n);
        for i in 0..n {
            let ident = ident(i, rooms, proto)?;
            tasks.push(tokio::spawn(client::run(
                Arc::clone(&shared),
                Arc::clone(&plan),
                i,
                ident,
            )));
        }
        let mut fleet = Self {
            target,
            server,
            pid,
            shared,
            tasks,
            rooms,
            rss_idle,
            rss_connected: rss_idle,
            load_start,
        };
        let limit = Duration::from_secs(args.timeout);
        let connecting = Instant::now();
        let shared = Arc::clone(&fleet.shared);
        if !wait_until(limit, || shared.joined(1) == n).await {
            let joined = shared.joined(1);
            let total = fleet.finish().await;
            return Err(BenchError::NotJoined {
                joined,
                n,
                limit,
                first_error: total.first_error.unwrap_or_else(|| "-".into()),
            });
        }
        eprintln!(
            "   {n} joined in {:.1} s",
            connecting.elapsed().as_secs_f64()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        fleet.rss_connected = procfs::rss_bytes(pid)?;
        Ok(fleet)
    }

    /// Server RSS added per connection, bytes.
    pub fn rss_per_conn(&self) -> f64 {
        (self.rss_connected as f64 - self.rss_idle as f64) / self.shared.progress.len() as f64
    }

    /// Subscribers: all connections but the rooms' publishers.
    pub fn subscribers(&self) -> usize {
        self.shared.progress.len() - self.rooms
    }

    /// The subscribers of room `r`.
    fn subs(&self, r: usize) -> impl Iterator<Item = usize> {
        (r + self.rooms..self.shared.progress.len()).step_by(self.rooms)
    }

    /// Messages generated so far, all publishers.
    pub fn published(&self) -> u64 {
        (0..self.rooms)
            .map(|r| self.shared.progress[r].sent.load(Relaxed))
            .sum()
    }

    /// Deliveries owed so far: each generated message once to each subscriber of its room.
    pub fn expected(&self) -> u64 {
        (0..self.rooms)
            .map(|r| self.shared.progress[r].sent.load(Relaxed) * self.subs(r).count() as u64)
            .sum()
    }

    /// Distinct messages received so far, all subscribers.
    pub fn distinct(&self) -> u64 {
        self.shared
            .progress
            .iter()
            .map(|p| p.distinct.load(Relaxed))
            .sum()
    }

    /// Deliveries owed and not (yet) made: in flight or queued while running, lost once
    /// drained.
    pub fn backlog(&self) -> u64 {
        self.expected().saturating_sub(self.distinct())
    }

    /// Every client has acted on the latest stage, which publishes nothing; every publish is
    /// acked and every subscriber has every message (and, persisted, the room's head `seq`).
    pub fn caught_up(&self) -> bool {
        let stage = self.shared.stage();
        let progress = &self.shared.progress;
        let persisted = self.target.persisted();
        !stage.phase.publishing()
            && (0..self.rooms).all(|r| {
                let publisher = &progress[r];
                // Only once the publisher has acted on a non-publishing stage is `sent` final.
                let stopped = publisher.observed.load(Acquire) >= stage.generation;
                let sent = publisher.sent.load(Relaxed);
                let head = publisher.seq.load(Relaxed);
                stopped
                    && publisher.pending.load(Relaxed) == 0
                    && self.subs(r).all(|s| {
                        let sub = &progress[s];
                        sub.received.load(Relaxed) >= sent
                            && (!persisted || sub.seq.load(Relaxed) >= head)
                    })
            })
    }

    /// After publishing stopped: waits until everything is delivered, or until nothing has
    /// moved for [`QUIET`] with every client online, or `limit`. What is missing after that
    /// is lost; what arrives during it was backlog.
    pub async fn drain(&self, limit: Duration) -> Drained {
        let started = Instant::now();
        let mut last = (u64::MAX, u64::MAX);
        let mut still_since = Instant::now();
        loop {
            let pending: u64 = (0..self.rooms)
                .map(|r| self.shared.progress[r].pending.load(Relaxed))
                .sum();
            let offline = self
                .shared
                .progress
                .iter()
                .filter(|p| !p.online.load(Relaxed))
                .count();
            if self.caught_up() {
                return Drained {
                    complete: true,
                    took: started.elapsed(),
                    offline,
                    unacked: pending,
                };
            }
            let now = (self.distinct(), pending);
            if now != last || offline > 0 {
                last = now;
                still_since = Instant::now();
            }
            if still_since.elapsed() >= QUIET || started.elapsed() >= limit {
                return Drained {
                    complete: false,
                    took: started.elapsed(),
                    offline,
                    unacked: pending,
                };
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Ends the run: every client stops, and their outcomes are summed; the server is killed.
    pub async fn finish(mut self) -> Outcome {
        self.shared.set_phase(Phase::Done);
        let outcomes = collect(std::mem::take(&mut self.tasks)).await;
        self.server.kill();
        let mut total = Outcome::default();
        for o in &outcomes {
            total.delivered += o.delivered;
            total.distinct += o.distinct;
            total.dups += o.dups;
            total.seq_errors += o.seq_errors;
            total.resent += o.resent;
            total.disconnects += o.disconnects;
            total.refused += o.refused;
            if total.first_error.is_none() {
                total.first_error.clone_from(&o.first_error);
            }
        }
        total
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // An early return (an error) must not leave client tasks reconnecting forever.
        self.shared.set_phase(Phase::Done);
    }
}

/// Client `i`: room i mod R, publisher when it is the room's first member.
fn ident(i: usize, rooms: usize, proto: Proto) -> Result<Ident, BenchError> {
    let room_idx = i % rooms;
    let user = format!("bench-u{i}");
    let token = match proto {
        Proto::Roomcast { .. } => {
            let exp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                + 3600;
            let claims = Claims {
                sub: user.clone(),
                exp: Some(exp),
                rooms: None,
            };
            mint(SECRET, &claims).map_err(|e| BenchError::Token(e.to_string()))?
        }
        Proto::SocketIo => String::new(),
    };
    Ok(Ident {
        room: format!("r-{room_idx}"),
        room_idx,
        publisher: i < rooms,
        token,
        client_id: user,
    })
}

/// Polls `done` until it holds or `limit` passes; whether it held.
pub async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits for every client task, aborting those that do not stop in time.
async fn collect(tasks: Vec<tokio::task::JoinHandle<Outcome>>) -> Vec<Outcome> {
    let deadline = tokio::time::Instant::now() + STOP_LIMIT;
    let mut out = Vec::with_capacity(tasks.len());
    for mut task in tasks {
        match tokio::time::timeout_at(deadline, &mut task).await {
            Ok(Ok(o)) => out.push(o),
            Ok(Err(e)) => out.push(Outcome {
                first_error: Some(format!("client task: {e}")),
                ..Outcome::default()
            }),
            Err(_) => {
                task.abort();
                out.push(Outcome {
                    first_error: Some("client task did not stop".into()),
                    ..Outcome::default()
                });
            }
        }
    }
    out
}
