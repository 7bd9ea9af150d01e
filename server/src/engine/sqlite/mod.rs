//! Durable history in SQLite, written by ONE thread with group commit.
//!
//! The store thread owns the write connection and takes [`Command`]s from a bounded channel.
//! It blocks for one command, drains up to [`MAX_BATCH`] more without blocking, and writes every
//! run of consecutive publishes in one transaction (`synchronous=FULL`: durable at commit).
//! Only after the commit does it advance the room heads and hand the batch to the
//! `fanout` thread, which broadcasts each message to its room (under the hub lock) and
//! queues each ack, in order, while the store thread writes the next batch. Joins, leaves and
//! disconnects go through both threads in order with publishes, so a joiner gets the replay up
//! to the head and then every later message exactly once.
//!
//! History reads (`history` frames, HTTP GET) use separate read-only connections on blocking
//! tasks (WAL lets them read while the writer writes).

mod admin;
mod fanout;
mod retention;

pub use admin::ERASED_EVENT;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use roomcast_core::protocol::{
    Append, ErrorCode, Member, Message, Payload, ServerFrame, StreamInfo, StreamState,
};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use self::fanout::{Outcome, Step, Write};
use self::retention::Trimmer;
use crate::engine::{
    internal_error, new_epoch, AppendCmd, AppendOp, History, JoinCmd, PublishCmd, StoreStats,
    Stored, StreamLimits,
};
use crate::hub::Hub;
use crate::outbound::{ConnId, Outbound};
use crate::retention::{Retention, RetentionCounters};
use crate::validate::now_ms;

/// Most commands handled in one group commit round. Each commit costs about the same
/// whatever its size (an fsync, and a page of each index per room it touches), so when the
/// store thread falls behind, bigger batches are how it catches up: at 512 the persisted path
/// fell behind at about 36 000 msg/s on the 2-core benchmark machine, at 2048 it keeps up at
/// 40 000 with a quarter of the latency.
pub const MAX_BATCH: usize = 2048;
/// Capacity of the command channel; senders wait when it is full.
const CHANNEL: usize = 4096;

/// Store failures.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("cannot create the data directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the store thread: {0}")]
    Thread(std::io::Error),
    #[error("the store is shut down")]
    Closed,
    #[error("stored value out of range")]
    Range,
    /// A request the stream rules refuse (answered with `code`; nothing stored).
    #[error("{message}")]
    Refused { code: ErrorCode, message: String },
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the database {path} is damaged ({detail}); restore it from a backup, or move it away \
         to start with an empty store"
    )]
    Damaged { path: PathBuf, detail: String },
}

/// Work for the store thread.
#[derive(Debug)]
pub enum Command {
    Publish(PublishCmd),
    /// An append, cancel or idle end, in order with the publishes.
    Append(AppendCmd),
    /// Ends the streams idle for the idle limit (sent by the idle ticker).
    IdleCheck,
    /// Runs a retention step once this round's publishes are committed (sent by the
    /// retention ticker).
    Trim,
    Join(JoinCmd),
    Leave {
        ref_id: u64,
        room: String,
        out: Outbound,
    },
    /// The connection is gone: leave every room.
    Disconnect(ConnId),
    /// Answered once every command sent before it is done (commit + ack).
    Barrier(oneshot::Sender<()>),
    /// Admin API: deletes a room's history and gives it a new epoch; its members here are
    /// closed with 1001. Answers the new epoch.
    ResetRoom {
        room: String,
        reply: oneshot::Sender<Result<String, StoreError>>,
    },
    /// Admin API: replaces a user's messages (in one room or all) with tombstones. Answers
    /// how many.
    EraseUser {
        user: String,
        room: Option<String>,
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    /// Finish what was received and stop.
    Shutdown,
}

/// The last write failure of the store thread, cleared by the next successful commit.
type WriteFault = Arc<Mutex<Option<String>>>;

fn set_fault(fault: &WriteFault, value: Option<String>) {
    *fault.lock().unwrap_or_else(|p| p.into_inner()) = value;
}

/// Cloneable sender of commands to the store thread.
#[derive(Debug, Clone)]
pub struct StoreHandle {
    tx: mpsc::Sender<Command>,
    fault: WriteFault,
}

impl StoreHandle {
    /// Why the store cannot write right now, if it cannot: its thread stopped, or its last
    /// write failed (and none succeeded since).
    pub fn write_problem(&self) -> Option<String> {
        if self.tx.is_closed() {
            return Some("the store thread has stopped".into());
        }
        self.fault
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|e| format!("the last write failed: {e}"))
    }

    /// Sends a command, waiting while the channel is full.
    pub async fn send(&self, cmd: Command) -> Result<(), StoreError> {
        self.tx.send(cmd).await.map_err(|_| StoreError::Closed)
    }

    /// Waits until everything sent before is done.
    pub async fn barrier(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Barrier(tx)).await?;
        rx.await.map_err(|_| StoreError::Closed)
    }
}

#[derive(Debug, Clone)]
struct RoomState {
    epoch: String,
    head: u64,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Range)
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS rooms (
    name  TEXT PRIMARY KEY,
    epoch TEXT NOT NULL,
    head  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS messages (
    room        TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    id          TEXT NOT NULL,
    event       TEXT NOT NULL,
    data        TEXT NOT NULL,
    from_user   TEXT NOT NULL,
    from_client TEXT NOT NULL,
    from_source TEXT NOT NULL,
    from_name   TEXT,
    ts          INTEGER NOT NULL,
    PRIMARY KEY (room, seq),
    UNIQUE (room, id)
);
CREATE TABLE IF NOT EXISTS streams (
    room    TEXT NOT NULL,
    id      TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    user    TEXT NOT NULL,
    n       INTEGER NOT NULL,
    state   TEXT NOT NULL,
    bytes   INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    PRIMARY KEY (room, id)
);
CREATE INDEX IF NOT EXISTS streams_open ON streams (room) WHERE state = 'open';
CREATE TABLE IF NOT EXISTS appends (
    room        TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    of_seq      INTEGER NOT NULL,
    id          TEXT NOT NULL,
    n           INTEGER NOT NULL,
    text        TEXT NOT NULL,
    end_state   TEXT,
    from_user   TEXT NOT NULL,
    from_client TEXT NOT NULL,
    from_source TEXT NOT NULL,
    from_name   TEXT,
    ts          INTEGER NOT NULL,
    PRIMARY KEY (room, seq),
    UNIQUE (room, id, n)
);
";

/// A stream's state, kept by the store thread for every open stream (and read back from the
/// `streams` table for an ended one): what an append is checked against, in O(1), whatever
/// the length of the text so far.
#[derive(Debug, Clone)]
struct StreamMeta {
    /// The seq of the opening message.
    of: u64,
    /// The opener's user: the only one that may append.
    user: String,
    /// Appends stored so far.
    n: u64,
    state: StreamState,
    /// Bytes of text so far.
    bytes: u64,
    /// When the last append (or the opening) was stored, Unix ms.
    last_ms: u64,
}

type StreamKey = (String, String);

fn state_from_db(s: &str) -> StreamState {
    StreamState::from_wire(s).unwrap_or(StreamState::Failed)
}

fn read_stream(conn: &Connection, room: &str, id: &str) -> Result<Option<StreamMeta>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT seq, user, n, state, bytes, last_ms FROM streams WHERE room = ?1 AND id = ?2",
        )?
        .query_row(params![room, id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .optional()?;
    row.map(|(of, user, n, state, bytes, last_ms)| {
        Ok(StreamMeta {
            of: to_u64(of)?,
            user,
            n: to_u64(n)?,
            state: state_from_db(&state),
            bytes: to_u64(bytes)?,
            last_ms: to_u64(last_ms)?,
        })
    })
    .transpose()
}

/// Every open stream, for the idle ends after a restart.
fn read_open_streams(conn: &Connection) -> Result<HashMap<StreamKey, StreamMeta>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT room, id, seq, user, n, bytes, last_ms FROM streams WHERE state = 'open'",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut open = HashMap::new();
    for (room, id, of, user, n, bytes, last_ms) in rows {
        let meta = StreamMeta {
            of: to_u64(of)?,
            user,
            n: to_u64(n)?,
            state: StreamState::Open,
            bytes: to_u64(bytes)?,
            last_ms: to_u64(last_ms)?,
        };
        open.insert((room, id), meta);
    }
    Ok(open)
}

/// An error met while opening the store: corruption is told apart from other failures.
fn open_error(path: &Path, source: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
    match source.sqlite_error_code() {
        Some(DatabaseCorrupt | NotADatabase) => StoreError::Damaged {
            path: path.to_path_buf(),
            detail: source.to_string(),
        },
        _ => StoreError::Open {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// `PRAGMA quick_check(1)`: every page and record is read once and checked (indexes are not
/// cross-checked), and it stops at the first problem. Its cost grows with the file (one
/// sequential read), not with anything a client does; it runs once, at open. `limit` bounds
/// it: a check still running then is interrupted and the start goes on (logged), so a large
/// store is never kept offline by its own check. A zero `limit` skips the check.
fn check_integrity(conn: &Connection, path: &Path, limit: Duration) -> Result<(), StoreError> {
    if limit.is_zero() {
        return Ok(());
    }
    let interrupt = conn.get_interrupt_handle();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::Builder::new()
        .name("roomcast-check".into())
        .spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(limit) {
                interrupt.interrupt();
            }
        })
        .map_err(StoreError::Thread)?;
    let result = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get::<_, String>(0));
    drop(done);
    let _ = watchdog.join();
    let first = match result {
        Ok(first) => first,
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) => {
            tracing::warn!(
                path = %path.display(),
                ?limit,
                "integrity check stopped unfinished (store too large to check in time)"
            );
            return Ok(());
        }
        Err(e) => return Err(open_error(path, e)),
    };
    if first == "ok" {
        Ok(())
    } else {
        Err(StoreError::Damaged {
            path: path.to_path_buf(),
            detail: format!("quick_check: {first}"),
        })
    }
}

/// Opens (creating if needed) the write connection: WAL, `synchronous=FULL`, after an
/// integrity check, so a damaged file stops the start instead of failing every request.
fn open_writer(path: &Path, check_limit: Duration) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let failed = |e| open_error(path, e);
    let conn = Connection::open(path).map_err(failed)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(failed)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(failed)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(failed)?;
    check_integrity(&conn, path, check_limit)?;
    conn.execute_batch(SCHEMA).map_err(failed)?;
    retention::migrate(&conn).map_err(failed)?;
    Ok(conn)
}

/// Starts the store thread on the database at `path`, after an integrity check of at most
/// `check_limit` (zero: none).
pub fn start(
    path: &Path,
    hub: Arc<Hub>,
    replay_limit: u32,
    check_limit: Duration,
    limits: StreamLimits,
) -> Result<(StoreHandle, JoinHandle<()>), StoreError> {
    start_with_retention(
        path,
        hub,
        replay_limit,
        check_limit,
        limits,
        Retention::default(),
        Arc::default(),
    )
}

/// [`start`], trimming history as `retention` says (in the background, see `retention`),
/// counting what it removes in `counters`.
pub fn start_with_retention(
    path: &Path,
    hub: Arc<Hub>,
    replay_limit: u32,
    check_limit: Duration,
    limits: StreamLimits,
    retention: Retention,
    counters: Arc<RetentionCounters>,
) -> Result<(StoreHandle, JoinHandle<()>), StoreError> {
    let conn = open_writer(path, check_limit)?;
    let streams = read_open_streams(&conn)?;
    let (tx, rx) = mpsc::channel(CHANNEL);
    start_idle_ticker(&tx, limits.idle_ms).map_err(StoreError::Thread)?;
    let trimmer = Trimmer::start(retention, &tx, counters).map_err(StoreError::Thread)?;
    let fault = WriteFault::default();
    let (fanout, fanout_thread) = fanout::start(hub).map_err(StoreError::Thread)?;
    let worker = Worker {
        conn,
        fanout,
        fanout_thread,
        rx,
        replay_limit: u64::from(replay_limit),
        rooms: HashMap::new(),
        fault: Arc::clone(&fault),
        streams,
        limits,
        trimmer,
    };
    let thread = std::thread::Builder::new()
        .name("roomcast-store".into())
        .spawn(move || worker.run())
        .map_err(StoreError::Thread)?;
    Ok((StoreHandle { tx, fault }, thread))
}

struct Worker {
    conn: Connection,
    /// Where committed batches and membership changes go, in order.
    fanout: SyncSender<Step>,
    fanout_thread: JoinHandle<()>,
    rx: mpsc::Receiver<Command>,
    replay_limit: u64,
    /// Committed state of every room seen so far.
    rooms: HashMap<String, RoomState>,
    /// Shared with the handles, for `/health`.
    fault: WriteFault,
    /// Committed state of every open stream (ended ones are read from the table on demand).
    streams: HashMap<StreamKey, StreamMeta>,
    limits: StreamLimits,
    /// Retention, when any rule trims.
    trimmer: Option<Trimmer>,
}

/// A thread that asks the store thread to end idle streams, a few times per idle limit (at
/// most every second, at least every 10 ms). It holds no strong sender: it stops once the
/// store is gone.
fn start_idle_ticker(tx: &mpsc::Sender<Command>, idle_ms: u64) -> std::io::Result<()> {
    let weak = tx.downgrade();
    let tick = Duration::from_millis((idle_ms / 4).clamp(10, 1000));
    std::thread::Builder::new()
        .name("roomcast-idle".into())
        .spawn(move || loop {
            std::thread::sleep(tick);
            let Some(tx) = weak.upgrade() else {
                break;
            };
            if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(Command::IdleCheck) {
                break;
            }
        })?;
    Ok(())
}

fn read_room(tx: &Connection, room: &str) -> Result<Option<RoomState>, StoreError> {
    let row = tx
        .query_row(
            "SELECT epoch, head FROM rooms WHERE name = ?1",
            params![room],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
        )
        .optional()?;
    match row {
        Some((epoch, head)) => Ok(Some(RoomState {
            epoch,
            head: to_u64(head)?,
        })),
        None => Ok(None),
    }
}

/// The room's stored state, creating it (a fresh epoch, head 0) when new; on a transaction,
/// the row is there once it commits.
fn read_or_create_room(conn: &Connection, room: &str) -> Result<RoomState, StoreError> {
    if let Some(state) = read_room(conn, room)? {
        return Ok(state);
    }
    let state = RoomState {
        epoch: new_epoch(),
        head: 0,
    };
    conn.execute(
        "INSERT INTO rooms (name, epoch, head) VALUES (?1, ?2, 0)",
        params![room, state.epoch],
    )?;
    Ok(state)
}

impl Worker {
    fn run(mut self) {
        tracing::debug!("store thread started");
        'outer: while let Some(first) = self.rx.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(cmd) => batch.push(cmd),
                    Err(_) => break,
                }
            }
            self.create_joined_rooms(&batch);
            let mut publishes = Vec::new();
            let mut stop = false;
            let mut trim = false;
            for cmd in batch {
                let other = match cmd {
                    Command::Publish(p) => {
                        publishes.push(Write::Publish(p));
                        continue;
                    }
                    Command::Append(a) => {
                        publishes.push(Write::Append(a));
                        continue;
                    }
                    Command::IdleCheck => {
                        publishes.extend(self.idle_ends());
                        continue;
                    }
                    Command::Trim => {
                        trim = true;
                        continue;
                    }
                    other => other,
                };
                // The publishes before it are committed (and handed on) first.
                if !self.publish_batch(std::mem::take(&mut publishes)) {
                    break 'outer;
                }
                let step = match other {
                    Command::Join(j) => self.join(j),
                    Command::Leave { ref_id, room, out } => Step::Leave { ref_id, room, out },
                    Command::Disconnect(conn) => Step::Disconnect(conn),
                    Command::Barrier(done) => Step::Barrier(done),
                    Command::ResetRoom { room, reply } => {
                        let result = admin::reset_room(&mut self.conn, &room);
                        if let Ok(epoch) = &result {
                            self.rooms.insert(
                                room.clone(),
                                RoomState {
                                    epoch: epoch.clone(),
                                    head: 0,
                                },
                            );
                            self.streams.retain(|(r, _), _| *r != room);
                        }
                        let _ = reply.send(result);
                        Step::CloseRoom(room)
                    }
                    Command::EraseUser { user, room, reply } => {
                        let result = admin::erase_user(&mut self.conn, &user, room.as_deref());
                        if result.is_ok() {
                            for ((r, _), meta) in self.streams.iter_mut() {
                                if meta.user == user && room.as_ref().is_none_or(|x| x == r) {
                                    meta.user = String::new();
                                }
                            }
                        }
                        let _ = reply.send(result);
                        continue;
                    }
                    Command::Shutdown => {
                        stop = true;
                        continue;
                    }
                    Command::Publish(_)
                    | Command::Append(_)
                    | Command::IdleCheck
                    | Command::Trim => continue,
                };
                if self.fanout.send(step).is_err() {
                    break 'outer;
                }
            }
            if !self.publish_batch(publishes) || stop {
                break 'outer;
            }
            if trim {
                self.trim();
            }
        }
        // The fan-out thread finishes what it was handed, then this thread ends: once it
        // has, every ack is queued.
        let Worker {
            fanout,
            fanout_thread,
            ..
        } = self;
        drop(fanout);
        if fanout_thread.join().is_err() {
            tracing::error!("the fan-out thread panicked");
        }
        tracing::debug!("store thread stopped");
    }

    /// One retention step, after this round's publishes are committed. A failure is logged
    /// and the next step tries again.
    fn trim(&mut self) {
        let Some(trimmer) = &mut self.trimmer else {
            return;
        };
        if let Err(e) = trimmer.step(&mut self.conn) {
            tracing::warn!(error = %e, "retention step failed");
        }
    }

    /// The idle end of every open stream without an append for the idle limit (re-checked
    /// when stored, since an append may come first).
    fn idle_ends(&self) -> Vec<Write> {
        let now = now_ms();
        self.streams
            .iter()
            .filter(|(_, m)| {
                m.state == StreamState::Open && now.saturating_sub(m.last_ms) >= self.limits.idle_ms
            })
            .map(|((room, id), m)| {
                Write::Append(AppendCmd {
                    room: room.clone(),
                    id: id.clone(),
                    op: AppendOp::Idle,
                    from: Member {
                        user: m.user.clone(),
                        client: SERVER_CLIENT.into(),
                        source: SERVER_CLIENT.into(),
                        name: None,
                    },
                    origin: crate::engine::Origin::Server,
                })
            })
            .collect()
    }

    /// Reads or creates, in one transaction, every room this batch joins that is not known
    /// yet: a burst of joins to new rooms costs one commit (one fsync), not one each, so it
    /// does not hold up everyone else's publishes. On failure nothing is cached and each join
    /// tries on its own (and answers its error).
    fn create_joined_rooms(&mut self, batch: &[Command]) {
        let mut new: Vec<&str> = batch
            .iter()
            .filter_map(|cmd| match cmd {
                Command::Join(j) if !self.rooms.contains_key(&j.room) => Some(j.room.as_str()),
                _ => None,
            })
            .collect();
        new.sort_unstable();
        new.dedup();
        if new.len() < 2 {
            return;
        }
        let created = (|| -> Result<Vec<(String, RoomState)>, StoreError> {
            let tx = self.conn.transaction()?;
            let mut states = Vec::with_capacity(new.len());
            for room in &new {
                let state = read_or_create_room(&tx, room)?;
                states.push(((*room).to_string(), state));
            }
            tx.commit()?;
            Ok(states)
        })();
        match created {
            Ok(states) => {
                tracing::debug!(n = states.len(), "joined rooms created in one commit");
                self.rooms.extend(states);
            }
            Err(e) => tracing::warn!(error = %e, n = new.len(), "creating joined rooms failed"),
        }
    }

    /// The room's committed state, creating the room (own transaction) when new.
    fn room_or_create(&mut self, room: &str) -> Result<RoomState, StoreError> {
        if let Some(state) = self.rooms.get(room) {
            return Ok(state.clone());
        }
        let state = read_or_create_room(&self.conn, room)?;
        self.rooms.insert(room.to_string(), state.clone());
        Ok(state)
    }

    /// Reads what a join needs (its room's head and epoch, the replay it asked for); the
    /// fan-out thread answers it in order with the broadcasts.
    fn join(&mut self, j: JoinCmd) -> Step {
        let state = match self.room_or_create(&j.room) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(room = %j.room, error = %e, "join failed");
                set_fault(&self.fault, Some(e.to_string()));
                return Step::Send(j.out, internal_error(j.ref_id, "store error"));
            }
        };
        // Only this thread writes, so the head cannot move between this read and the step.
        let (replay, recovered) = match (j.since, j.epoch.as_deref()) {
            (None, _) => (Vec::new(), true),
            (Some(_), Some(epoch)) if epoch != state.epoch => (Vec::new(), false),
            (Some(since), _) if since == state.head => (Vec::new(), true),
            // Above the head in the same epoch: the store went back (restored from an older
            // copy) and lost messages the client had. Nothing to replay; not recovered.
            (Some(since), _) if since > state.head => (Vec::new(), false),
            (Some(since), _) => {
                let start = since.max(state.head.saturating_sub(self.replay_limit));
                match read_replay(&self.conn, &j.room, start, state.head) {
                    Ok((rows, count)) => {
                        let complete = start == since
                            && u64::try_from(count).is_ok_and(|n| n == state.head - since);
                        (rows, complete)
                    }
                    Err(e) => {
                        tracing::error!(room = %j.room, error = %e, "replay read failed");
                        (Vec::new(), false)
                    }
                }
            }
        };
        crate::metrics::metrics().replayed.add(replay.len() as u64);
        Step::Join {
            cmd: j,
            head: state.head,
            epoch: state.epoch,
            replay,
            recovered,
        }
    }

    /// Stores a run of publishes in one transaction, then hands them to the fan-out thread
    /// (broadcasts and acks, in order). False when that thread is gone.
    fn publish_batch(&mut self, batch: Vec<Write>) -> bool {
        if batch.is_empty() {
            return true;
        }
        let ts = now_ms();
        let started = std::time::Instant::now();
        let outcome = match self.conn.transaction() {
            Ok(tx) => write_batch(tx, &self.rooms, &self.streams, &self.limits, &batch, ts),
            Err(e) => Err(StoreError::from(e)),
        };
        let m = crate::metrics::metrics();
        m.store_commit.observe_duration(started.elapsed());
        m.store_batch.observe(batch.len() as f64);
        let step = match outcome {
            Ok((results, new_rooms, streams)) => {
                // Committed: now the heads move and everyone hears about it.
                set_fault(&self.fault, None);
                if let Some(trimmer) = &mut self.trimmer {
                    for room in new_rooms.keys() {
                        trimmer.written(room);
                    }
                }
                for (room, state) in new_rooms {
                    self.rooms.insert(room, state);
                }
                // Open streams stay in memory; ended ones are read back when asked for.
                for (key, meta) in streams {
                    if meta.state == StreamState::Open {
                        self.streams.insert(key, meta);
                    } else {
                        self.streams.remove(&key);
                    }
                }
                batch
                    .into_iter()
                    .zip(results)
                    .map(|(w, result)| match result {
                        Ok(stored) => (w, Outcome::Stored(stored)),
                        Err(StoreError::Refused { code, message }) => {
                            (w, Outcome::Refused(code, message))
                        }
                        Err(e) => {
                            let (room, id) = match &w {
                                Write::Publish(p) => (&p.room, &p.id),
                                Write::Append(a) => (&a.room, &a.id),
                            };
                            tracing::error!(%room, %id, error = %e, "write failed");
                            (w, Outcome::Failed)
                        }
                    })
                    .collect()
            }
            Err(e) => {
                tracing::error!(error = %e, n = batch.len(), "commit failed");
                set_fault(&self.fault, Some(e.to_string()));
                batch.into_iter().map(|w| (w, Outcome::Failed)).collect()
            }
        };
        self.fanout.send(Step::Published(step)).is_ok()
    }
}

type BatchOutcome = (
    Vec<Result<Stored, StoreError>>,
    HashMap<String, RoomState>,
    HashMap<StreamKey, StreamMeta>,
);

/// `client` and `source` of the `from` the server writes on an idle end (its `user` is the
/// stream's own).
pub const SERVER_CLIENT: &str = "server";

fn refused(code: ErrorCode, message: String) -> StoreError {
    StoreError::Refused { code, message }
}

/// The batch's state while it is written: rooms and streams it touched, on top of the
/// committed ones, applied by the caller only once the commit succeeded.
struct Pending<'a> {
    rooms: &'a HashMap<String, RoomState>,
    streams: &'a HashMap<StreamKey, StreamMeta>,
    touched: HashMap<String, RoomState>,
    touched_streams: HashMap<StreamKey, StreamMeta>,
}

impl Pending<'_> {
    fn room(&mut self, tx: &Connection, room: &str) -> Result<&mut RoomState, StoreError> {
        if !self.touched.contains_key(room) {
            let state = match self.rooms.get(room) {
                Some(s) => s.clone(),
                None => read_or_create_room(tx, room)?,
            };
            self.touched.insert(room.to_string(), state);
        }
        self.touched.get_mut(room).ok_or(StoreError::Range)
    }

    fn stream(
        &mut self,
        tx: &Connection,
        room: &str,
        id: &str,
    ) -> Result<Option<StreamMeta>, StoreError> {
        let key = (room.to_string(), id.to_string());
        if let Some(m) = self.touched_streams.get(&key) {
            return Ok(Some(m.clone()));
        }
        if let Some(m) = self.streams.get(&key) {
            return Ok(Some(m.clone()));
        }
        read_stream(tx, room, id)
    }
}

/// Writes a batch in `tx` and commits. Returns each write's outcome and the resulting state
/// of every room and stream touched, applied by the caller only after the commit succeeded.
fn write_batch(
    tx: Transaction<'_>,
    committed: &HashMap<String, RoomState>,
    streams: &HashMap<StreamKey, StreamMeta>,
    limits: &StreamLimits,
    batch: &[Write],
    ts: u64,
) -> Result<BatchOutcome, StoreError> {
    let mut pending = Pending {
        rooms: committed,
        streams,
        touched: HashMap::new(),
        touched_streams: HashMap::new(),
    };
    let mut seen: HashMap<(&str, &str), Stored> = HashMap::new();
    let mut results = Vec::with_capacity(batch.len());
    for w in batch {
        let result = match w {
            Write::Publish(p) => {
                if let Some(s) = seen.get(&(p.room.as_str(), p.id.as_str())) {
                    results.push(Ok(Stored {
                        duplicate: true,
                        ..*s
                    }));
                    continue;
                }
                let result = write_publish(&tx, &mut pending, p, ts);
                if let Ok(s) = &result {
                    if !s.duplicate {
                        seen.insert((p.room.as_str(), p.id.as_str()), *s);
                    }
                }
                result
            }
            Write::Append(a) => write_append(&tx, &mut pending, limits, a, ts),
        };
        results.push(result);
    }
    for (room, state) in &pending.touched {
        tx.prepare_cached("UPDATE rooms SET head = ?1 WHERE name = ?2")?
            .execute(params![to_i64(state.head), room])?;
    }
    for ((room, id), m) in &pending.touched_streams {
        tx.prepare_cached(
            "UPDATE streams SET n = ?1, state = ?2, bytes = ?3, last_ms = ?4 \
             WHERE room = ?5 AND id = ?6",
        )?
        .execute(params![
            to_i64(m.n),
            m.state.as_str(),
            to_i64(m.bytes),
            to_i64(m.last_ms),
            room,
            id
        ])?;
    }
    tx.commit()?;
    Ok((results, pending.touched, pending.touched_streams))
}

fn write_publish(
    tx: &Connection,
    pending: &mut Pending<'_>,
    p: &PublishCmd,
    ts: u64,
) -> Result<Stored, StoreError> {
    // One statement for the whole batch: the cache's lookup hashes the SQL text.
    let mut insert = tx.prepare_cached(
        "INSERT INTO messages (room, seq, id, event, data, from_user, from_client, from_source, \
         from_name, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
         ON CONFLICT (room, id) DO NOTHING",
    )?;
    let state = pending.room(tx, &p.room)?;
    let seq = state.head + 1;
    // The (room, id) index decides idempotency within the insert itself: a second
    // lookup is needed only for a retry, which inserts nothing.
    let inserted = insert.execute(params![
        p.room,
        to_i64(seq),
        p.id,
        p.event,
        p.data.json(),
        p.from.user,
        p.from.client,
        p.from.source,
        p.from.name,
        to_i64(ts)
    ])?;
    if inserted == 0 {
        let (seq, old_ts) = tx
            .prepare_cached("SELECT seq, ts FROM messages WHERE room = ?1 AND id = ?2")?
            .query_row(params![p.room, p.id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })?;
        return Ok(Stored::published(to_u64(seq)?, to_u64(old_ts)?, true));
    }
    state.head = seq;
    if p.stream {
        tx.prepare_cached(
            "INSERT INTO streams (room, id, seq, user, n, state, bytes, last_ms) \
             VALUES (?1, ?2, ?3, ?4, 0, 'open', 0, ?5)",
        )?
        .execute(params![p.room, p.id, to_i64(seq), p.from.user, to_i64(ts)])?;
        pending.touched_streams.insert(
            (p.room.clone(), p.id.clone()),
            StreamMeta {
                of: seq,
                user: p.from.user.clone(),
                n: 0,
                state: StreamState::Open,
                bytes: 0,
                last_ms: ts,
            },
        );
    }
    Ok(Stored::published(seq, ts, false))
}

/// Whether the stored append `n` of `a`'s stream has this text and end: a re-sent append,
/// not a different one under the same `n` (the end a cancel stored, say).
fn same_append(
    tx: &Connection,
    a: &AppendCmd,
    n: u64,
    text: &str,
    end: Option<StreamState>,
) -> Result<bool, StoreError> {
    let (stored_text, stored_end): (String, Option<String>) = tx
        .prepare_cached(
            "SELECT text, end_state FROM appends WHERE room = ?1 AND id = ?2 AND n = ?3",
        )?
        .query_row(params![a.room, a.id, to_i64(n)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok(stored_text == text && stored_end.as_deref() == end.map(StreamState::as_str))
}

/// The stored append `n` of a stream, as its original ack.
fn stored_append(tx: &Connection, a: &AppendCmd, of: u64, n: u64) -> Result<Stored, StoreError> {
    let (seq, ts) = tx
        .prepare_cached("SELECT seq, ts FROM appends WHERE room = ?1 AND id = ?2 AND n = ?3")?
        .query_row(params![a.room, a.id, to_i64(n)], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?;
    Ok(Stored {
        seq: to_u64(seq)?,
        ts: to_u64(ts)?,
        duplicate: true,
        n: Some(n),
        of,
    })
}

/// Checks an append (cancel, idle end) against its stream's state and stores it: O(1) in the
/// length of the stream's text (one row inserted, one updated).
fn write_append(
    tx: &Connection,
    pending: &mut Pending<'_>,
    limits: &StreamLimits,
    a: &AppendCmd,
    ts: u64,
) -> Result<Stored, StoreError> {
    let Some(mut meta) = pending.stream(tx, &a.room, &a.id)? else {
        return Err(refused(
            ErrorCode::NotFound,
            format!("no stream {} in room {}", a.id, a.room),
        ));
    };
    match &a.op {
        AppendOp::Append { n, text, end } => {
            if a.from.user != meta.user {
                return Err(refused(
                    ErrorCode::Forbidden,
                    format!("stream {} belongs to another user", a.id),
                ));
            }
            let ended = meta.state != StreamState::Open;
            if n.checked_add(1) == Some(meta.n) && ended && !same_append(tx, a, *n, text, *end)? {
                // The end a cancel or the idle limit stored, not this producer's append.
                return Err(refused(
                    ErrorCode::StreamEnded,
                    format!("stream {} has ended ({})", a.id, meta.state.as_str()),
                ));
            }
            if *n < meta.n {
                return stored_append(tx, a, meta.of, *n);
            }
            if ended {
                return Err(refused(
                    ErrorCode::StreamEnded,
                    format!("stream {} has ended ({})", a.id, meta.state.as_str()),
                ));
            }
            if *n > meta.n {
                return Err(refused(
                    ErrorCode::BadRequest,
                    format!(
                        "append {n} of stream {} is beyond its count {}",
                        a.id, meta.n
                    ),
                ));
            }
            if meta.state != StreamState::Open {
                return Err(refused(
                    ErrorCode::StreamEnded,
                    format!("stream {} has ended ({})", a.id, meta.state.as_str()),
                ));
            }
            if *end == Some(StreamState::Open) {
                return Err(refused(
                    ErrorCode::BadRequest,
                    "end must be done, cancelled or failed".into(),
                ));
            }
            let bytes = meta.bytes.saturating_add(text.len() as u64);
            if bytes > limits.max_bytes {
                return Err(refused(
                    ErrorCode::TooLarge,
                    format!("stream {} would exceed {} bytes", a.id, limits.max_bytes),
                ));
            }
        }
        AppendOp::Cancel => {
            if meta.state != StreamState::Open {
                // A cancel of an ended stream answers the ack of its final append.
                return match meta.n.checked_sub(1) {
                    Some(last) => stored_append(tx, a, meta.of, last),
                    None => Err(StoreError::Range),
                };
            }
        }
        AppendOp::Idle => {
            if meta.state != StreamState::Open || ts.saturating_sub(meta.last_ms) < limits.idle_ms {
                return Err(refused(ErrorCode::Internal, "not idle".into()));
            }
        }
    }
    let text = a.op.text();
    let end = a.op.end();
    let state = pending.room(tx, &a.room)?;
    let seq = state.head + 1;
    tx.prepare_cached(
        "INSERT INTO appends (room, seq, of_seq, id, n, text, end_state, from_user, \
         from_client, from_source, from_name, ts) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        a.room,
        to_i64(seq),
        to_i64(meta.of),
        a.id,
        to_i64(meta.n),
        text,
        end.map(StreamState::as_str),
        a.from.user,
        a.from.client,
        a.from.source,
        a.from.name,
        to_i64(ts)
    ])?;
    state.head = seq;
    let n = meta.n;
    meta.n = meta.n.saturating_add(1);
    meta.bytes = meta.bytes.saturating_add(text.len() as u64);
    meta.last_ms = ts;
    if let Some(end) = end {
        meta.state = end;
    }
    let of = meta.of;
    pending
        .touched_streams
        .insert((a.room.clone(), a.id.clone()), meta);
    Ok(Stored {
        seq,
        ts,
        duplicate: false,
        n: Some(n),
        of,
    })
}

const MESSAGE_COLUMNS: &str =
    "room, seq, id, event, data, from_user, from_client, from_source, from_name, ts";

fn row_to_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Message, i64, i64)> {
    let data: String = r.get(4)?;
    let seq: i64 = r.get(1)?;
    let ts: i64 = r.get(9)?;
    Ok((
        Message {
            room: r.get(0)?,
            seq: None,
            id: r.get(2)?,
            event: r.get(3)?,
            data: Payload::from_json(data).unwrap_or_default(),
            from: Member {
                user: r.get(5)?,
                client: r.get(6)?,
                source: r.get(7)?,
                name: r.get(8)?,
            },
            ts: 0,
            stream: None,
        },
        seq,
        ts,
    ))
}

fn finish(rows: Vec<(Message, i64, i64)>) -> Result<Vec<Message>, StoreError> {
    rows.into_iter()
        .map(|(mut m, seq, ts)| {
            m.seq = Some(to_u64(seq)?);
            m.ts = to_u64(ts)?;
            Ok(m)
        })
        .collect()
}

/// Messages with `after < seq <= upto`, ascending.
fn read_range(
    conn: &Connection,
    room: &str,
    after: u64,
    upto: u64,
) -> Result<Vec<Message>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map(params![room, to_i64(after), to_i64(upto)], row_to_message)?
        .collect::<Result<Vec<_>, _>>()?;
    finish(rows)
}

const APPEND_COLUMNS: &str = "room, seq, of_seq, id, n, text, end_state, from_user, from_client, \
                              from_source, from_name, ts";

fn row_to_append(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Append, [i64; 4])> {
    let end: Option<String> = r.get(6)?;
    Ok((
        Append {
            room: r.get(0)?,
            seq: 0,
            of: 0,
            id: r.get(3)?,
            n: 0,
            text: r.get(5)?,
            end: end.as_deref().map(state_from_db),
            from: Member {
                user: r.get(7)?,
                client: r.get(8)?,
                source: r.get(9)?,
                name: r.get(10)?,
            },
            ts: 0,
        },
        [r.get(1)?, r.get(2)?, r.get(4)?, r.get(11)?],
    ))
}

fn finish_appends(rows: Vec<(Append, [i64; 4])>) -> Result<Vec<Append>, StoreError> {
    rows.into_iter()
        .map(|(mut a, [seq, of, n, ts])| {
            a.seq = to_u64(seq)?;
            a.of = to_u64(of)?;
            a.n = to_u64(n)?;
            a.ts = to_u64(ts)?;
            Ok(a)
        })
        .collect()
}

/// Appends with `after < seq <= upto`, ascending.
fn read_append_range(
    conn: &Connection,
    room: &str,
    after: u64,
    upto: u64,
) -> Result<Vec<Append>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {APPEND_COLUMNS} FROM appends WHERE room = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map(params![room, to_i64(after), to_i64(upto)], row_to_append)?
        .collect::<Result<Vec<_>, _>>()?;
    finish_appends(rows)
}

/// Folds each stream whose opening message is among `messages` into it (`stream`: its
/// text so far, count and state, from its stored appends) and returns the `appends` whose
/// opening message is not there; those of a folded stream are left out. O(text) per opening
/// message sent, never per append stored.
fn fold(
    conn: &Connection,
    room: &str,
    messages: &mut [Message],
    appends: Vec<Append>,
) -> Result<Vec<Append>, StoreError> {
    let mut folded: HashSet<String> = HashSet::new();
    for m in messages.iter_mut() {
        let is_stream = conn
            .prepare_cached("SELECT 1 FROM streams WHERE room = ?1 AND id = ?2")?
            .query_row(params![room, m.id], |_| Ok(()))
            .optional()?
            .is_some();
        if !is_stream {
            continue;
        }
        let mut stmt = conn.prepare_cached(
            "SELECT text, end_state FROM appends WHERE room = ?1 AND id = ?2 ORDER BY n",
        )?;
        let mut rows = stmt.query(params![room, m.id])?;
        let mut info = StreamInfo {
            state: StreamState::Open,
            text: String::new(),
            n: 0,
        };
        while let Some(row) = rows.next()? {
            let text: String = row.get(0)?;
            let end: Option<String> = row.get(1)?;
            info.text.push_str(&text);
            info.n += 1;
            if let Some(end) = end {
                info.state = state_from_db(&end);
            }
        }
        m.stream = Some(info);
        folded.insert(m.id.clone());
    }
    Ok(appends
        .into_iter()
        .filter(|a| !folded.contains(&a.id))
        .collect())
}

/// Messages and appends in seq order, as frames.
fn merge(messages: Vec<Message>, appends: Vec<Append>) -> Vec<ServerFrame> {
    let mut frames = Vec::with_capacity(messages.len() + appends.len());
    let mut appends = appends.into_iter().peekable();
    for m in messages {
        let seq = m.seq.unwrap_or(0);
        while let Some(a) = appends.next_if(|a| a.seq < seq) {
            frames.push(ServerFrame::Append(a));
        }
        frames.push(ServerFrame::Message(m));
    }
    frames.extend(appends.map(ServerFrame::Append));
    frames
}

/// A join's replay: every item with `after < seq <= upto`, folded, as frames in seq order,
/// and how many stored items the range held (folded appends included).
fn read_replay(
    conn: &Connection,
    room: &str,
    after: u64,
    upto: u64,
) -> Result<(Vec<ServerFrame>, usize), StoreError> {
    let mut messages = read_range(conn, room, after, upto)?;
    let appends = read_append_range(conn, room, after, upto)?;
    let count = messages.len() + appends.len();
    let appends = fold(conn, room, &mut messages, appends)?;
    Ok((merge(messages, appends), count))
}

/// Read-only connections for history and stats, reused between requests.
#[derive(Debug)]
pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// Kept idle read connections.
const IDLE_READERS: usize = 4;

impl ReadPool {
    /// A pool over the database at `path` (which the store thread has created).
    pub fn new(path: PathBuf) -> Self {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let taken = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match taken {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                c
            }
        };
        let result = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        result
    }

    /// Up to `limit` items with `seq < before` (the newest without `before`), ascending,
    /// streams folded, and whether older ones exist; read in one transaction, so the folded
    /// text and the page agree. Blocking: call from a blocking task.
    pub fn history(
        &self,
        room: &str,
        before: Option<u64>,
        limit: u32,
    ) -> Result<History, StoreError> {
        let before = before.map(to_i64).unwrap_or(i64::MAX);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
        self.with_conn(|conn| {
            let tx = conn.unchecked_transaction()?;
            let rows = tx
                .prepare_cached(&format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room = ?1 AND seq < ?2 \
                     ORDER BY seq DESC LIMIT ?3"
                ))?
                .query_map(params![room, before, fetch], row_to_message)?
                .collect::<Result<Vec<_>, _>>()?;
            let mut messages = finish(rows)?;
            let rows = tx
                .prepare_cached(&format!(
                    "SELECT {APPEND_COLUMNS} FROM appends WHERE room = ?1 AND seq < ?2 \
                     ORDER BY seq DESC LIMIT ?3"
                ))?
                .query_map(params![room, before, fetch], row_to_append)?
                .collect::<Result<Vec<_>, _>>()?;
            let mut appends = finish_appends(rows)?;
            // The newest `limit` of both, by seq.
            let more = messages.len() + appends.len() > limit;
            let (mut keep_m, mut keep_a) = (0, 0);
            while keep_m + keep_a < limit {
                let m = messages.get(keep_m).and_then(|m| m.seq);
                let a = appends.get(keep_a).map(|a| a.seq);
                match (m, a) {
                    (Some(m), Some(a)) if m > a => keep_m += 1,
                    (_, Some(_)) => keep_a += 1,
                    (Some(_), None) => keep_m += 1,
                    (None, None) => break,
                }
            }
            messages.truncate(keep_m);
            appends.truncate(keep_a);
            messages.reverse();
            appends.reverse();
            let appends = fold(&tx, room, &mut messages, appends)?;
            drop(tx);
            Ok(History {
                messages,
                appends,
                more,
            })
        })
    }

    /// Reads the first row of each table on a new connection (a pooled one may answer from
    /// its page cache): `Err` says why the database cannot be read. Blocking.
    pub fn probe(&self) -> Result<(), StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(1))?;
        conn.query_row(
            "SELECT count(*) FROM (SELECT name FROM rooms LIMIT 1)",
            [],
            |_| Ok(()),
        )?;
        conn.query_row(
            "SELECT count(*) FROM (SELECT seq FROM messages LIMIT 1)",
            [],
            |_| Ok(()),
        )?;
        Ok(())
    }

    /// Stored item counts: each room's head less what retention removed.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT name, head - trimmed FROM rooms WHERE head > trimmed ORDER BY name",
            )?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            let mut stats = StoreStats::default();
            for (room, head) in rows {
                let n = to_u64(head)?;
                stats.messages_stored = stats.messages_stored.saturating_add(n);
                stats.messages_per_room.push((room, n));
            }
            Ok(stats)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store of about 32 MiB of messages.
    fn big_store(dir: &Path) -> PathBuf {
        let path = dir.join("roomcast.db");
        let conn = open_writer(&path, Duration::ZERO).unwrap();
        conn.execute_batch("BEGIN").unwrap();
        let data = format!("\"{}\"", "x".repeat(1000));
        for seq in 1..=32_000i64 {
            conn.execute(
                "INSERT INTO messages (room, seq, id, event, data, from_user, from_client, \
                 from_source, ts) VALUES ('r', ?1, ?2, 'e', ?3, 'u', 'c', 's', 0)",
                params![seq, format!("id-{seq}"), data],
            )
            .unwrap();
        }
        conn.execute_batch("COMMIT; PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        path
    }

    #[test]
    fn the_integrity_check_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = big_store(dir.path());
        let conn = Connection::open(&path).unwrap();
        let started = std::time::Instant::now();
        check_integrity(&conn, &path, Duration::from_secs(60)).unwrap();
        let full = started.elapsed();
        // Cut at a tenth of what the whole check takes, it is abandoned, and the start goes on.
        let started = std::time::Instant::now();
        let cut = check_integrity(&conn, &path, full / 10);
        assert!(cut.is_ok(), "{cut:?}");
        assert!(
            started.elapsed() < full / 2,
            "{:?} of {full:?}",
            started.elapsed()
        );
        // Zero: no check at all.
        assert!(check_integrity(&conn, &path, Duration::ZERO).is_ok());
        // The connection still works after an interrupted check.
        let n: i64 = conn
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 32_000);
    }
}
