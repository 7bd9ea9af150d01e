//! Retention under `--redis`: each room's stream and the dedup entries of what it removes, in
//! one Lua script per room and batch, so idempotency holds exactly as long as a message is
//! kept (a re-sent id is a duplicate while its entry is in the stream, and new once the
//! entry is gone, never in between).
//!
//! Every node trims the rooms it published to since its last step (so a busy room's count
//! bound holds within a step or two wherever it is written), and one node at a time (the
//! holder of a short lease, `rc:retention:lease`) also sweeps every room (`rc:rooms`) a slice
//! per step, for the age bound of rooms nobody writes to any more. Two nodes trimming the
//! same room is harmless: each script removes only what is still there. A step removes at
//! most [`STEP_BUDGET`] entries, [`ROOM_BATCH`] per script, so Redis never runs one long
//! script; steps come every second, every 100 ms while rooms are being trimmed, every 10 ms
//! while full batches are left (`next_tick`).
//!
//! The room's `meta` hash gets a `trimmed` field: the highest seq removed.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

use redis::Script;
use tokio::sync::watch;

use super::keys::{ids_key, log_key, meta_key, ROOMS_KEY};
use super::{RedisEngine, Result};
use crate::retention::{
    next_tick, Retention, RetentionCounters, IDLE_TICK, ROOM_BATCH, STEP_BUDGET, SWEEP_ROOMS,
};
use crate::validate::now_ms;

/// Removes the oldest run of a room's entries its rule removes, with their dedup entries.
/// KEYS: meta, ids, log. ARGV: max (0: no count bound), expired-before ts (0: no age bound),
/// batch size. Returns `{removed, trimmed, full}`.
///
/// An entry's id and ts are read from its message (`m`); an entry without one (another kind
/// of entry) goes by the count bound only, and the run stops at it otherwise.
pub(super) const TRIM_LUA: &str = r"
local head = tonumber(redis.call('HGET', KEYS[1], 'head') or '0')
local trimmed = tonumber(redis.call('HGET', KEYS[1], 'trimmed') or '0')
local max = tonumber(ARGV[1])
local before = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local count_cut = 0
if max > 0 and head > max then count_cut = head - max end
if before == 0 and count_cut <= trimmed then return {0, trimmed, 0} end
local entries = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', limit)
local cut = trimmed
local n = 0
for _, e in ipairs(entries) do
  local seq = tonumber(string.match(e[1], '^(%d+)'))
  local body = nil
  local f = e[2]
  for i = 1, #f, 2 do
    if f[i] == 'm' then body = f[i + 1] end
  end
  local id = nil
  local ts = nil
  if body then
    local ok, msg = pcall(cjson.decode, body)
    if ok and type(msg) == 'table' then
      id = msg['id']
      ts = tonumber(msg['ts'])
    end
  end
  local goes = seq <= count_cut or (before > 0 and ts ~= nil and ts < before)
  if not goes then break end
  if type(id) == 'string' then
    local kept = redis.call('HGET', KEYS[2], id)
    if kept and string.match(kept, '^(%d+)') == tostring(seq) then
      redis.call('HDEL', KEYS[2], id)
    end
  end
  cut = seq
  n = n + 1
end
if n > 0 then
  redis.call('XTRIM', KEYS[3], 'MINID', '=', (cut + 1) .. '-0')
  redis.call('HSET', KEYS[1], 'trimmed', cut)
end
local full = 0
if n == limit then full = 1 end
return {n, cut, full}
";

/// The lease that makes one node the sweeper.
const LEASE_KEY: &str = "rc:retention:lease";

/// A node's retention state.
pub(super) struct Trim {
    retention: Retention,
    /// Rooms this node published to since their last visit (only those whose rule trims).
    dirty: Mutex<HashSet<String>>,
    script: Script,
    counters: Arc<RetentionCounters>,
}

impl Trim {
    pub(super) fn new(retention: Retention, counters: Arc<RetentionCounters>) -> Self {
        Trim {
            retention,
            dirty: Mutex::new(HashSet::new()),
            script: Script::new(TRIM_LUA),
            counters,
        }
    }

    /// Whether anything is ever trimmed.
    pub(super) fn active(&self) -> bool {
        self.retention.active()
    }

    fn dirty(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.dirty.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl RedisEngine {
    /// `room` got a new entry from this node: trim it in the next step.
    pub(super) fn trim_later(&self, room: &str) {
        if !self.trim.active() {
            return;
        }
        let mut dirty = self.trim.dirty();
        if !dirty.contains(room) && self.trim.retention.rule_for(room).trims() {
            dirty.insert(room.to_string());
        }
    }

    /// Runs one room's batch: `(removed, full)`.
    async fn trim_room(&self, room: &str, limit: usize, now: u64) -> Result<(u64, bool)> {
        let rule = self.trim.retention.rule_for(room);
        if !rule.trims() {
            return Ok((0, false));
        }
        let (removed, _trimmed, full): (u64, u64, u8) = self
            .trim
            .script
            .key(meta_key(room))
            .key(ids_key(room))
            .key(log_key(room))
            .arg(rule.max.unwrap_or(0))
            .arg(rule.expired_before(now))
            .arg(limit)
            .invoke_async(&mut self.conn.clone())
            .await
            .map(crate::metrics::redis_ok)
            .map_err(crate::metrics::redis_error)?;
        Ok((removed, full != 0))
    }

    /// Whether this node holds (or just took) the sweeper's lease.
    async fn sweeper(&self) -> Result<bool> {
        let ttl_ms = u64::try_from(IDLE_TICK.as_millis()).unwrap_or(1000) * 5;
        let mut conn = self.conn.clone();
        let took: Option<String> = redis::cmd("SET")
            .arg(LEASE_KEY)
            .arg(&self.node)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms)
            .query_async(&mut conn)
            .await
            .map(crate::metrics::redis_ok)
            .map_err(crate::metrics::redis_error)?;
        if took.is_some() {
            return Ok(true);
        }
        let holder: Option<String> = redis::cmd("GET")
            .arg(LEASE_KEY)
            .query_async(&mut conn)
            .await
            .map(crate::metrics::redis_ok)
            .map_err(crate::metrics::redis_error)?;
        if holder.as_deref() == Some(self.node.as_str()) {
            let _: i64 = redis::cmd("PEXPIRE")
                .arg(LEASE_KEY)
                .arg(ttl_ms)
                .query_async(&mut conn)
                .await
                .map(crate::metrics::redis_ok)
                .map_err(crate::metrics::redis_error)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// One step: this node's dirty rooms, then (as the sweeper) a slice of every room.
    /// Returns the pause before the next step.
    async fn trim_step(&self, cursor: &mut u64) -> Result<std::time::Duration> {
        let now = now_ms();
        let mut rooms: Vec<String> = {
            let mut dirty = self.trim.dirty();
            let take: Vec<String> = dirty.iter().take(SWEEP_ROOMS).cloned().collect();
            for r in &take {
                dirty.remove(r);
            }
            take
        };
        let written = !rooms.is_empty();
        if self.sweeper().await? {
            let (next, swept): (u64, Vec<String>) = redis::cmd("SSCAN")
                .arg(ROOMS_KEY)
                .arg(*cursor)
                .arg("COUNT")
                .arg(SWEEP_ROOMS)
                .query_async(&mut self.conn.clone())
                .await
                .map(crate::metrics::redis_ok)
                .map_err(crate::metrics::redis_error)?;
            *cursor = next;
            for r in swept {
                if !rooms.contains(&r) {
                    rooms.push(r);
                }
            }
        }
        let mut budget = STEP_BUDGET;
        let mut more = !self.trim.dirty().is_empty();
        let mut removed_total = 0;
        for room in rooms {
            if budget == 0 {
                self.trim_later(&room);
                more = true;
                continue;
            }
            match self.trim_room(&room, budget.min(ROOM_BATCH), now).await {
                Ok((removed, full)) => {
                    budget = budget.saturating_sub(usize::try_from(removed).unwrap_or(budget));
                    removed_total += removed;
                    if full {
                        self.trim_later(&room);
                        more = true;
                    }
                }
                Err(e) => {
                    self.trim_later(&room);
                    return Err(e);
                }
            }
        }
        self.trim.counters.steps.fetch_add(1, Ordering::Relaxed);
        self.trim
            .counters
            .items
            .fetch_add(removed_total, Ordering::Relaxed);
        if removed_total > 0 {
            tracing::debug!(removed = removed_total, "retention step");
        }
        Ok(next_tick(more, removed_total > 0 || written))
    }
}

/// The node's retention task: a step after the pause the last one set (`next_tick`).
pub(super) async fn run(engine: Weak<RedisEngine>, mut stop: watch::Receiver<bool>) {
    let mut cursor = 0u64;
    let mut tick = std::time::Duration::ZERO;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(tick) => {}
        }
        let Some(e) = engine.upgrade() else {
            return;
        };
        tick = match e.trim_step(&mut cursor).await {
            Ok(tick) => tick,
            Err(err) => {
                tracing::warn!(error = %err, "retention step failed");
                IDLE_TICK
            }
        };
    }
}
