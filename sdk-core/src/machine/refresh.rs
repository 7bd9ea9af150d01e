//! Token refresh: when to ask the token provider, and how never to ask it in a loop.
//!
//! The refresh is scheduled ahead of `token_exp` by a margin of 10% of the remaining lifetime,
//! at least 30 s, but never more than half of it (so a 3 s token is refreshed after 1.5 s).
//! Between two provider calls there is always a minimum interval (1 s), doubled for every
//! consecutive failure or token that arrives about to expire (under 2 s left), up to 60 s:
//! whatever the provider returns, refreshing cannot become a loop.

use std::time::Duration;

use web_time::Instant;

use super::requests::Request;
use super::timers::{whole_millis, Timer};
use super::{Action, Error, Event, Machine};
use crate::protocol::{ClientFrame, ErrorFrame, Refresh};

/// Smallest margin before `token_exp` at which a refresh starts, for tokens that live long
/// enough to afford it.
const MIN_REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// Smallest interval between two calls to the token provider for a refresh.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(1);
/// Cap on the interval between provider calls while they keep failing.
const MAX_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// A token with less left than this when it arrives counts as a failed refresh.
const SHORT_TOKEN: Duration = Duration::from_secs(2);

/// Where the periodic refresh stands; its deadline is [`Timer::Refresh`].
#[derive(Debug, Default)]
pub(crate) struct RefreshState {
    /// The provider was asked and has not answered.
    fetching: bool,
    /// When the provider was last asked for a refresh.
    last_fetch: Option<Instant>,
    /// Consecutive refreshes that failed or brought a token about to expire.
    strikes: u32,
}

impl RefreshState {
    fn interval(&self) -> Duration {
        let factor = 1u32 << self.strikes.min(6);
        (MIN_REFRESH_INTERVAL * factor).min(MAX_REFRESH_INTERVAL)
    }

    /// The earliest time the provider may be asked again.
    fn earliest(&self) -> Option<Instant> {
        self.last_fetch.map(|at| at + self.interval())
    }
}

impl Machine {
    /// Replaces the token. On a live connection it is sent at once with `refresh`; otherwise
    /// it is used for the next connection attempt.
    pub fn set_token(&mut self, now: Instant, token: String) {
        self.token = Some(token);
        self.token_stale = false;
        if self.is_connected() {
            self.send_refresh(now);
        }
    }

    /// The token provider's answer to [`Action::FetchToken`]: `Ok(Some(token))`, `Ok(None)`
    /// when the user has no token any more (the client stops in `Unauthorized`), or `Err` for
    /// a passing failure (retried with backoff).
    pub fn provide_token(&mut self, now: Instant, answer: Result<Option<String>, String>) {
        let awaiting = self.awaiting_token();
        let refreshing = std::mem::take(&mut self.refresh.fetching);
        match answer {
            Ok(Some(token)) => {
                self.token = Some(token);
                self.token_stale = false;
                if let Some(attempt) = awaiting {
                    self.open_socket(now, attempt);
                } else if refreshing && self.is_connected() {
                    self.send_refresh(now);
                }
            }
            Ok(None) => {
                self.token = None;
                if awaiting.is_some() {
                    self.become_unauthorized(now, "the token provider has no token".into());
                }
            }
            Err(message) => {
                self.events
                    .push_back(Event::Error(Error::TokenProvider(message)));
                if let Some(attempt) = awaiting {
                    self.schedule_reconnect(now, attempt);
                } else if refreshing {
                    // Try again after the (growing) interval; the server closes with 4001 at
                    // expiry regardless, and the reconnect fetches a token then.
                    self.refresh.strikes += 1;
                    self.retry_refresh(now);
                }
            }
        }
    }

    fn send_refresh(&mut self, now: Instant) {
        let Some(token) = self.token.clone() else {
            return;
        };
        self.send_request(now, Request::Refresh, |ref_id| {
            ClientFrame::Refresh(Refresh { ref_id, token })
        });
    }

    /// The refresh deadline passed: ask the provider, if there is one.
    pub(crate) fn on_refresh_timeout(&mut self, now: Instant) {
        if !self.config.token_provider || self.refresh.fetching || !self.is_connected() {
            // Without a provider the app may call `set_token`; otherwise the server closes
            // with 4001 at expiry.
            return;
        }
        if let Some(earliest) = self.refresh.earliest().filter(|&at| at > now) {
            self.timers.set(Timer::Refresh, earliest);
            return;
        }
        self.refresh.fetching = true;
        self.refresh.last_fetch = Some(now);
        self.actions.push_back(Action::FetchToken);
    }

    pub(crate) fn on_refresh_refused(&mut self, now: Instant, e: ErrorFrame) {
        let err = Error::from_server(e.code, e.message, None);
        self.events.push_back(Event::Error(err));
        self.refresh.strikes += 1;
        self.retry_refresh(now);
    }

    fn retry_refresh(&mut self, now: Instant) {
        let at = self.refresh.earliest().unwrap_or(now).max(now);
        self.timers.set(Timer::Refresh, at);
    }

    /// Schedules the refresh ahead of `token_exp` (Unix ms); see the module documentation.
    pub(crate) fn schedule_refresh(&mut self, now: Instant, token_exp: Option<u64>) {
        self.timers.clear(Timer::Refresh);
        let (Some(exp), Some((at, wall))) = (token_exp, self.wall_at_open) else {
            return;
        };
        let wall_now = wall + whole_millis(now.saturating_duration_since(at));
        let remaining = Duration::from_millis(exp.saturating_sub(wall_now));
        if remaining < SHORT_TOKEN {
            self.refresh.strikes += 1;
        } else {
            self.refresh.strikes = 0;
        }
        let margin = (remaining / 10).max(MIN_REFRESH_MARGIN).min(remaining / 2);
        let mut due = now + remaining.saturating_sub(margin);
        if let Some(earliest) = self.refresh.earliest() {
            due = due.max(earliest);
        }
        self.timers.set(Timer::Refresh, due);
    }

    /// The connection is gone: a scheduled refresh waits for the next `welcome`. A fetch in
    /// flight still lands in `token` for the next attempt.
    pub(crate) fn refresh_connection_lost(&mut self) {
        self.timers.clear(Timer::Refresh);
    }

    pub(crate) fn refresh_reset(&mut self) {
        self.refresh = RefreshState::default();
    }
}
