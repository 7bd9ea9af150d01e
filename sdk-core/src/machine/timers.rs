//! Every deadline the machine keeps, in one table keyed by [`Timer`] (quinn-proto's
//! `TimerTable`): one place to set, clear and find the next one.

use std::time::Duration;

use web_time::Instant;

/// `d` in whole milliseconds. `Duration::as_millis` returns a `u128`, whose division pulls
/// 128-bit arithmetic into the wasm module; no delay the machine handles needs it.
pub(crate) fn whole_millis(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1000)
        .saturating_add(u64::from(d.subsec_millis()))
}

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The oldest request in flight gets no answer: the connection is unhealthy.
    Request,
    /// The current phase runs out: the token provider, opening the socket or the handshake
    /// took too long, or the backoff wait is over.
    Phase,
    /// Nothing heard from the server for the heartbeat plus grace: the connection is dead.
    Dead,
    /// Time to send the next ping.
    Ping,
    /// Time to ask the token provider for a fresh token.
    Refresh,
    /// Re-send publishes the server refused for a passing reason.
    Retry,
    /// Write the rooms' positions that moved (with a store).
    Persist,
}

impl Timer {
    /// Fired in this order when several are due at once: a request or phase deadline may end
    /// the connection, which clears the rest.
    pub(crate) const ALL: [Timer; 7] = [
        Timer::Request,
        Timer::Phase,
        Timer::Dead,
        Timer::Ping,
        Timer::Refresh,
        Timer::Retry,
        Timer::Persist,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    at: [Option<Instant>; Timer::ALL.len()],
}

impl Timers {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.at[timer.index()] = Some(at);
    }

    pub(crate) fn set_opt(&mut self, timer: Timer, at: Option<Instant>) {
        self.at[timer.index()] = at;
    }

    pub(crate) fn clear(&mut self, timer: Timer) {
        self.at[timer.index()] = None;
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.at[timer.index()]
    }

    /// Whether `timer` is set and due at `now`.
    pub(crate) fn expired(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|at| at <= now)
    }

    /// The earliest deadline, if any.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }
}
