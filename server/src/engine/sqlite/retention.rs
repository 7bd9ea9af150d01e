//! Retention on the SQLite store: the store thread trims, in small steps between its group
//! commits, so a publish waits at most one short step.
//!
//! A ticker thread asks for a step ([`Command::Trim`](super::Command::Trim)) every second, every
//! 100 ms while rooms are being trimmed, every 10 ms while the last step left full batches
//! behind; it never queues a second one
//! before the first is done, so trimming can never crowd out publishes. The store thread runs
//! the step after the publishes of its round are committed: at most
//! [`STEP_BUDGET`](crate::retention::STEP_BUDGET) items over all rooms, at most
//! [`ROOM_BATCH`](crate::retention::ROOM_BATCH) per room, in one transaction. Rooms written
//! since their last visit come first (so a busy room's count bound holds within a step or
//! two), then a slice of a round-robin sweep over every room (the age bound of rooms nobody
//! writes to any more, and rooms written before a restart).
//!
//! Per room it removes the oldest run of items (messages and appends, by seq) that its rule
//! removes, never from the middle: the messages' rows are their dedup entries (`UNIQUE (room,
//! id)`), so a message and its idempotency go in the same transaction. A stream is kept whole:
//! the run stops before the opening message of a stream that is still open or has appends
//! past the cut, so no kept append lacks its opening message. `rooms.trimmed` records the
//! highest seq removed; `/stats` counts `head - trimmed`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::mpsc;

use super::{to_i64, to_u64, Command, StoreError};
use crate::retention::{
    next_tick, Retention, RetentionCounters, Rule, ROOM_BATCH, STEP_BUDGET, SWEEP_ROOMS,
};
use crate::validate::now_ms;

/// The store thread's side of retention.
pub(super) struct Trimmer {
    retention: Retention,
    /// Rooms written since they were last visited (only those whose rule trims).
    dirty: HashSet<String>,
    /// The last room of the round-robin sweep.
    cursor: String,
    /// The pause before the next step, in ms, set by each step (see `next_tick`).
    tick_ms: Arc<AtomicU64>,
    /// A step is queued and not run yet.
    pending: Arc<AtomicBool>,
    counters: Arc<RetentionCounters>,
}

impl Trimmer {
    /// A trimmer and its ticker thread, when `retention` can remove anything; `None` otherwise
    /// (nothing runs).
    pub(super) fn start(
        retention: Retention,
        tx: &mpsc::Sender<Command>,
        counters: Arc<RetentionCounters>,
    ) -> std::io::Result<Option<Self>> {
        if !retention.active() {
            return Ok(None);
        }
        let tick_ms = Arc::new(AtomicU64::new(1000));
        let pending = Arc::new(AtomicBool::new(false));
        start_ticker(tx, Arc::clone(&tick_ms), Arc::clone(&pending))?;
        Ok(Some(Trimmer {
            retention,
            dirty: HashSet::new(),
            cursor: String::new(),
            tick_ms,
            pending,
            counters,
        }))
    }

    /// `room` got new items: visit it in the next step (if its rule trims).
    pub(super) fn written(&mut self, room: &str) {
        if !self.dirty.contains(room) && self.retention.rule_for(room).trims() {
            self.dirty.insert(room.to_string());
        }
    }

    /// One step: removes what the rules say, within the budget, in one transaction. Returns
    /// the rooms trimmed and the highest seq removed in each.
    pub(super) fn step(&mut self, conn: &mut Connection) -> Result<Vec<(String, u64)>, StoreError> {
        self.pending.store(false, Ordering::Release);
        let now = now_ms();
        let mut rooms: Vec<String> = self.dirty.iter().take(SWEEP_ROOMS).cloned().collect();
        let written = !rooms.is_empty();
        for r in &rooms {
            self.dirty.remove(r);
        }
        let swept: Vec<String> = conn
            .prepare_cached("SELECT name FROM rooms WHERE name > ?1 ORDER BY name LIMIT ?2")?
            .query_map(params![self.cursor, to_i64(SWEEP_ROOMS as u64)], |r| {
                r.get(0)
            })?
            .collect::<Result<_, _>>()?;
        self.cursor = if swept.len() < SWEEP_ROOMS {
            String::new()
        } else {
            swept.last().cloned().unwrap_or_default()
        };
        for r in swept {
            if !rooms.contains(&r) {
                rooms.push(r);
            }
        }
        let tx = conn.transaction()?;
        let mut budget = STEP_BUDGET;
        let mut more = !self.dirty.is_empty();
        let mut trimmed = Vec::new();
        let mut removed_total = 0u64;
        for room in rooms {
            let rule = self.retention.rule_for(&room);
            if !rule.trims() {
                continue;
            }
            if budget == 0 {
                // Out of budget: come back to it in the next step.
                self.dirty.insert(room);
                more = true;
                continue;
            }
            let limit = budget.min(ROOM_BATCH);
            let done = trim_room(&tx, &room, rule, now, limit)?;
            budget = budget.saturating_sub(done.removed as usize);
            removed_total += done.removed;
            if done.full {
                self.dirty.insert(room.clone());
                more = true;
            }
            if let Some(cut) = done.cut {
                trimmed.push((room, cut));
            }
        }
        tx.commit()?;
        let tick = next_tick(more, removed_total > 0 || written);
        self.tick_ms.store(
            u64::try_from(tick.as_millis()).unwrap_or(1000),
            Ordering::Release,
        );
        self.counters.steps.fetch_add(1, Ordering::Relaxed);
        self.counters
            .items
            .fetch_add(removed_total, Ordering::Relaxed);
        if removed_total > 0 {
            tracing::debug!(
                removed = removed_total,
                rooms = trimmed.len(),
                "retention step"
            );
        }
        Ok(trimmed)
    }
}

/// What one room's batch did.
#[derive(Debug, Default)]
struct RoomTrim {
    removed: u64,
    /// The room's new `trimmed` (highest seq removed), if it moved.
    cut: Option<u64>,
    /// The batch was full: there may be more to remove.
    full: bool,
}

/// Removes the oldest run of `room`'s items that `rule` removes, at most `limit` of them.
fn trim_room(
    tx: &Connection,
    room: &str,
    rule: Rule,
    now: u64,
    limit: usize,
) -> Result<RoomTrim, StoreError> {
    let Some((head, trimmed)) = tx
        .prepare_cached("SELECT head, trimmed FROM rooms WHERE name = ?1")?
        .query_row(params![room], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .optional()?
    else {
        return Ok(RoomTrim::default());
    };
    let (head, trimmed) = (to_u64(head)?, to_u64(trimmed)?);
    if rule.ttl.is_none() && rule.count_cut(head) <= trimmed {
        return Ok(RoomTrim::default());
    }
    let limit_u64 = limit as u64;
    let (mut cut, mut full) = if rule.ttl.is_none() {
        // By count alone the cut is known without reading a row.
        let count_cut = rule.count_cut(head);
        let cut = count_cut.min(trimmed.saturating_add(limit_u64));
        (cut, count_cut > cut)
    } else {
        oldest_run(tx, room, rule, head, trimmed, now, limit)?
    };
    if cut <= trimmed {
        return Ok(RoomTrim::default());
    }
    // Keep a stream whole: stop before the opening message of one still open or with appends
    // past the cut.
    let hold: Option<i64> = tx
        .prepare_cached(
            "SELECT min(s.seq) FROM streams s WHERE s.room = ?1 AND s.seq > ?2 AND s.seq <= ?3 \
             AND (s.state = 'open' OR EXISTS (SELECT 1 FROM appends a \
                  WHERE a.room = ?1 AND a.id = s.id AND a.seq > ?3))",
        )?
        .query_row(params![room, to_i64(trimmed), to_i64(cut)], |r| r.get(0))?;
    if let Some(hold) = hold {
        cut = to_u64(hold)?.saturating_sub(1);
        full = false;
        if cut <= trimmed {
            return Ok(RoomTrim::default());
        }
    }
    let range = params![room, to_i64(trimmed), to_i64(cut)];
    let mut removed = tx
        .prepare_cached("DELETE FROM messages WHERE room = ?1 AND seq > ?2 AND seq <= ?3")?
        .execute(range)?;
    removed += tx
        .prepare_cached("DELETE FROM appends WHERE room = ?1 AND seq > ?2 AND seq <= ?3")?
        .execute(range)?;
    tx.prepare_cached("DELETE FROM streams WHERE room = ?1 AND seq > ?2 AND seq <= ?3")?
        .execute(range)?;
    tx.prepare_cached("UPDATE rooms SET trimmed = ?2 WHERE name = ?1")?
        .execute(params![room, to_i64(cut)])?;
    Ok(RoomTrim {
        removed: removed as u64,
        cut: Some(cut),
        full,
    })
}

/// With an age bound: reads the oldest `limit` items after `trimmed` (messages and appends,
/// by seq) and returns the last seq of the run the rule removes, and whether the batch was
/// full.
fn oldest_run(
    tx: &Connection,
    room: &str,
    rule: Rule,
    head: u64,
    trimmed: u64,
    now: u64,
    limit: usize,
) -> Result<(u64, bool), StoreError> {
    // The oldest `limit` items after the last cut, messages and appends merged by seq.
    let fetch = to_i64(limit as u64);
    let mut items: Vec<(u64, u64)> = Vec::with_capacity(limit * 2);
    for sql in [
        "SELECT seq, ts FROM messages WHERE room = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        "SELECT seq, ts FROM appends WHERE room = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    ] {
        let rows = tx
            .prepare_cached(sql)?
            .query_map(params![room, to_i64(trimmed), fetch], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (seq, ts) in rows {
            items.push((to_u64(seq)?, to_u64(ts)?));
        }
    }
    items.sort_unstable();
    items.truncate(limit);
    let mut cut = trimmed;
    let mut taken = 0usize;
    for &(seq, ts) in &items {
        if !rule.removes(seq, ts, head, now) {
            break;
        }
        cut = seq;
        taken += 1;
    }
    Ok((cut, taken == limit))
}

/// The ticker: asks the store thread for a step after the pause the last step set (1 s when
/// idle, 100 ms while a room is being trimmed, 10 ms while full batches are left), never with
/// a step still queued. It holds no strong sender, so it stops once the store is gone.
fn start_ticker(
    tx: &mpsc::Sender<Command>,
    tick_ms: Arc<AtomicU64>,
    pending: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let weak = tx.downgrade();
    std::thread::Builder::new()
        .name("roomcast-retention".into())
        .spawn(move || loop {
            // The last step ran (so its pause is the one read next), or the store is gone.
            while pending.load(Ordering::Acquire) {
                if weak.upgrade().is_none() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            std::thread::sleep(std::time::Duration::from_millis(
                tick_ms.load(Ordering::Acquire),
            ));
            let Some(tx) = weak.upgrade() else {
                break;
            };
            pending.store(true, Ordering::Release);
            if tx.blocking_send(Command::Trim).is_err() {
                break;
            }
        })?;
    Ok(())
}

/// Adds what retention needs to a store written before it existed: `rooms.trimmed`, and an
/// index of streams by opening seq.
pub(super) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let has_trimmed = conn
        .prepare("SELECT 1 FROM pragma_table_info('rooms') WHERE name = 'trimmed'")?
        .exists([])?;
    if !has_trimmed {
        conn.execute_batch("ALTER TABLE rooms ADD COLUMN trimmed INTEGER NOT NULL DEFAULT 0")?;
    }
    conn.execute_batch("CREATE INDEX IF NOT EXISTS streams_seq ON streams (room, seq)")?;
    Ok(())
}
