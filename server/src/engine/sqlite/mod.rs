//! Durable history in SQLite, written by ONE thread with group commit.
//!
//! The store thread owns the write connection and takes [`Command`]s from a bounded channel.
//! It blocks for one command, drains up to [`MAX_BATCH`] more without blocking, and writes every
//! run of consecutive publishes in one transaction (`synchronous=FULL`: durable at commit).
//! Only after the commit does it advance the room heads and hand the batch to the
//! [`fanout`] thread, which broadcasts each message to its room (under the hub lock) and
//! queues each ack, in order, while the store thread writes the next batch. Joins, leaves and
//! disconnects go through both threads in order with publishes, so a joiner gets the replay up
//! to the head and then every later message exactly once.
//!
//! History reads (`history` frames, HTTP GET) use separate read-only connections on blocking
//! tasks (WAL lets them read while the writer writes).

mod fanout;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use roomcast_core::protocol::{Member, Message, Payload};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use self::fanout::Step;
use crate::engine::{internal_error, JoinCmd, PublishCmd, Stored};
use crate::hub::Hub;
use crate::outbound::{ConnId, Outbound};
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

fn new_epoch() -> String {
    let mut s = uuid::Uuid::new_v4().simple().to_string();
    s.truncate(8);
    s
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
";

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
    Ok(conn)
}

/// Starts the store thread on the database at `path`, after an integrity check of at most
/// `check_limit` (zero: none).
pub fn start(
    path: &Path,
    hub: Arc<Hub>,
    replay_limit: u32,
    check_limit: Duration,
) -> Result<(StoreHandle, JoinHandle<()>), StoreError> {
    let conn = open_writer(path, check_limit)?;
    let (tx, rx) = mpsc::channel(CHANNEL);
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
            for cmd in batch {
                let other = match cmd {
                    Command::Publish(p) => {
                        publishes.push(p);
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
                    Command::Shutdown => {
                        stop = true;
                        continue;
                    }
                    Command::Publish(_) => continue,
                };
                if self.fanout.send(step).is_err() {
                    break 'outer;
                }
            }
            if !self.publish_batch(publishes) || stop {
                break 'outer;
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
                match read_range(&self.conn, &j.room, start, state.head) {
                    Ok(rows) => {
                        let complete = start == since
                            && u64::try_from(rows.len()).is_ok_and(|n| n == state.head - since);
                        (rows, complete)
                    }
                    Err(e) => {
                        tracing::error!(room = %j.room, error = %e, "replay read failed");
                        (Vec::new(), false)
                    }
                }
            }
        };
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
    fn publish_batch(&mut self, batch: Vec<PublishCmd>) -> bool {
        if batch.is_empty() {
            return true;
        }
        let ts = now_ms();
        let outcome = match self.conn.transaction() {
            Ok(tx) => write_batch(tx, &self.rooms, &batch, ts),
            Err(e) => Err(StoreError::from(e)),
        };
        let step = match outcome {
            Ok((results, new_rooms)) => {
                // Committed: now the heads move and everyone hears about it.
                set_fault(&self.fault, None);
                for (room, state) in new_rooms {
                    self.rooms.insert(room, state);
                }
                batch
                    .into_iter()
                    .zip(results)
                    .map(|(p, result)| match result {
                        Ok(stored) => (p, Some(stored)),
                        Err(e) => {
                            tracing::error!(room = %p.room, id = %p.id, error = %e, "publish failed");
                            (p, None)
                        }
                    })
                    .collect()
            }
            Err(e) => {
                tracing::error!(error = %e, n = batch.len(), "commit failed");
                set_fault(&self.fault, Some(e.to_string()));
                batch.into_iter().map(|p| (p, None)).collect()
            }
        };
        self.fanout.send(Step::Published(step)).is_ok()
    }
}

type BatchOutcome = (Vec<Result<Stored, StoreError>>, HashMap<String, RoomState>);

/// Writes a batch in `tx` and commits. Returns each publish's outcome and the resulting state
/// of every room touched, applied by the caller only after the commit succeeded.
fn write_batch(
    tx: Transaction<'_>,
    committed: &HashMap<String, RoomState>,
    batch: &[PublishCmd],
    ts: u64,
) -> Result<BatchOutcome, StoreError> {
    let mut touched: HashMap<String, RoomState> = HashMap::new();
    let mut seen: HashMap<(&str, &str), Stored> = HashMap::new();
    let mut results = Vec::with_capacity(batch.len());
    // One statement for the whole batch: the cache's lookup hashes the SQL text.
    let mut insert = tx.prepare_cached(
        "INSERT INTO messages (room, seq, id, event, data, from_user, from_client, from_source, \
         from_name, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
         ON CONFLICT (room, id) DO NOTHING",
    )?;
    for p in batch {
        let result = (|| -> Result<Stored, StoreError> {
            if let Some(s) = seen.get(&(p.room.as_str(), p.id.as_str())) {
                return Ok(Stored {
                    duplicate: true,
                    ..*s
                });
            }
            if !touched.contains_key(&p.room) {
                let state = match committed.get(&p.room) {
                    Some(s) => s.clone(),
                    None => read_or_create_room(&tx, &p.room)?,
                };
                touched.insert(p.room.clone(), state);
            }
            let state = touched.get_mut(&p.room).ok_or(StoreError::Range)?;
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
                return Ok(Stored {
                    seq: to_u64(seq)?,
                    ts: to_u64(old_ts)?,
                    duplicate: true,
                });
            }
            state.head = seq;
            Ok(Stored {
                seq,
                ts,
                duplicate: false,
            })
        })();
        if let Ok(s) = &result {
            if !s.duplicate {
                seen.insert((p.room.as_str(), p.id.as_str()), *s);
            }
        }
        results.push(result);
    }
    drop(insert);
    for (room, state) in &touched {
        tx.prepare_cached("UPDATE rooms SET head = ?1 WHERE name = ?2")?
            .execute(params![to_i64(state.head), room])?;
    }
    tx.commit()?;
    Ok((results, touched))
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

/// Read-only connections for history and stats, reused between requests.
#[derive(Debug)]
pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// Kept idle read connections.
const IDLE_READERS: usize = 4;

/// Per-room stored counts.
#[derive(Debug, Clone, Default)]
pub struct StoreStats {
    pub messages_stored: u64,
    pub messages_per_room: Vec<(String, u64)>,
}

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

    /// Up to `limit` messages with `seq < before` (the newest without `before`), ascending,
    /// and whether older ones exist. Blocking: call from a blocking task.
    pub fn history(
        &self,
        room: &str,
        before: Option<u64>,
        limit: u32,
    ) -> Result<(Vec<Message>, bool), StoreError> {
        let before = before.map(to_i64).unwrap_or(i64::MAX);
        let limit = i64::from(limit);
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room = ?1 AND seq < ?2 \
                 ORDER BY seq DESC LIMIT ?3"
            ))?;
            let mut rows = stmt
                .query_map(params![room, before, limit + 1], row_to_message)?
                .collect::<Result<Vec<_>, _>>()?;
            let more = i64::try_from(rows.len()).is_ok_and(|n| n > limit);
            rows.truncate(usize::try_from(limit).unwrap_or(0));
            rows.reverse();
            Ok((finish(rows)?, more))
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

    /// Stored message counts (each room's head: history is never trimmed).
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        self.with_conn(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT name, head FROM rooms WHERE head > 0 ORDER BY name")?;
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
