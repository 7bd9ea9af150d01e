//! What an app's situation asks of its connection: in the foreground or not, a network path
//! or not. Sans-IO like the machine: no timers and no platform types, time passed in (any
//! unit, the caller's clock: Swift gives seconds, React Native milliseconds; the grace period
//! in the same unit). Swift and React Native run these rules through the FFI, so the two
//! platforms cannot drift; each only feeds it its lifecycle and network events and applies
//! the commands to its client.
//!
//! The rules:
//! - Background: stay connected for `grace`, then pause (rooms and queue are kept). A quick
//!   trip to another app comes back to a live connection with nothing to resume.
//! - Foreground: resume if paused (a fresh connection), otherwise check at once that the
//!   connection is still alive (`reconnect_now`: a probe when connected, the end of a backoff
//!   wait otherwise) rather than waiting for the heartbeat to notice a socket that died while
//!   the app was suspended.
//! - No network path (no route at all): pause, since every reconnect attempt would fail. A
//!   path again, or a different set of interfaces (Wi-Fi to cellular): resume, or
//!   `reconnect_now` at once, whatever the backoff was waiting for. A path coming back while
//!   the app is paused in the background does not reconnect it.
//! - The policy only resumes what it paused.

/// What to do to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyCommand {
    Pause,
    Resume,
    ReconnectNow,
}

/// The policy's state; every transition is a method returning the commands to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionPolicy {
    /// How long the background keeps the connection, in the caller's time unit.
    pub grace: f64,
    pub foreground: bool,
    pub path_satisfied: bool,
    /// The interfaces of the last satisfied path (`wifi`, `cellular`, ...), sorted.
    pub interfaces: Vec<String>,
    /// When the background grace period ends; `None` unless in it.
    pub pause_at: Option<f64>,
    /// Whether this policy paused the client.
    pub paused: bool,
}

impl ConnectionPolicy {
    pub fn new(grace: f64) -> Self {
        Self {
            grace,
            foreground: true,
            path_satisfied: true,
            interfaces: Vec::new(),
            pause_at: None,
            paused: false,
        }
    }

    /// The app went to the background: the grace period starts (wait until `pause_at`, then
    /// call [`grace_period_ended`](Self::grace_period_ended)).
    pub fn entered_background(&mut self, now: f64) -> Vec<PolicyCommand> {
        if !self.foreground {
            return Vec::new();
        }
        self.foreground = false;
        self.pause_at = (!self.paused).then_some(now + self.grace);
        Vec::new()
    }

    /// The grace period's timer fired.
    pub fn grace_period_ended(&mut self, now: f64) -> Vec<PolicyCommand> {
        match self.pause_at {
            Some(deadline) if !self.foreground && now >= deadline => {
                self.pause_at = None;
                self.pause()
            }
            _ => Vec::new(),
        }
    }

    /// The app is in the foreground again.
    pub fn entered_foreground(&mut self) -> Vec<PolicyCommand> {
        if self.foreground {
            return Vec::new();
        }
        self.foreground = true;
        self.pause_at = None;
        if self.paused {
            return if self.path_satisfied {
                self.resume()
            } else {
                Vec::new()
            };
        }
        vec![PolicyCommand::ReconnectNow]
    }

    /// The network path changed: `satisfied` when there is a route, over `interfaces`.
    pub fn path_changed(
        &mut self,
        satisfied: bool,
        mut interfaces: Vec<String>,
    ) -> Vec<PolicyCommand> {
        if !satisfied {
            self.path_satisfied = false;
            return self.pause();
        }
        interfaces.sort_unstable();
        interfaces.dedup();
        let changed = !self.path_satisfied || interfaces != self.interfaces;
        self.path_satisfied = true;
        self.interfaces = interfaces;
        if self.paused {
            // Back in the background grace period counts as foreground enough to reconnect.
            return if self.foreground || self.pause_at.is_some() {
                self.resume()
            } else {
                Vec::new()
            };
        }
        if changed {
            vec![PolicyCommand::ReconnectNow]
        } else {
            Vec::new()
        }
    }

    fn pause(&mut self) -> Vec<PolicyCommand> {
        if self.paused {
            return Vec::new();
        }
        self.paused = true;
        vec![PolicyCommand::Pause]
    }

    fn resume(&mut self) -> Vec<PolicyCommand> {
        self.paused = false;
        vec![PolicyCommand::Resume]
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectionPolicy;
    use super::PolicyCommand::{Pause, ReconnectNow, Resume};

    const T0: f64 = 1_000_000.0;

    fn ifs(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn background_pauses_after_the_grace_period_and_foreground_resumes() {
        let mut p = ConnectionPolicy::new(25.0);
        assert_eq!(p.entered_background(T0), []);
        assert_eq!(p.pause_at, Some(T0 + 25.0));
        assert_eq!(p.grace_period_ended(T0 + 24.0), [], "too early");
        assert_eq!(p.grace_period_ended(T0 + 25.0), [Pause]);
        assert!(p.paused);
        assert_eq!(p.grace_period_ended(T0 + 26.0), [], "once");
        assert_eq!(p.entered_foreground(), [Resume]);
        assert!(!p.paused);
    }

    #[test]
    fn a_quick_trip_to_another_app_keeps_the_connection_and_checks_it() {
        let mut p = ConnectionPolicy::new(25.0);
        p.entered_background(T0);
        assert_eq!(p.entered_foreground(), [ReconnectNow]);
        assert_eq!(p.pause_at, None);
        assert_eq!(p.grace_period_ended(T0 + 30.0), [], "the timer is void");
        assert_eq!(p.entered_foreground(), [], "already in the foreground");
    }

    #[test]
    fn no_path_pauses_and_a_path_back_reconnects_at_once() {
        let mut p = ConnectionPolicy::new(25.0);
        assert_eq!(p.path_changed(true, ifs(&["wifi"])), [ReconnectNow]);
        assert_eq!(p.path_changed(true, ifs(&["wifi"])), [], "nothing changed");
        assert_eq!(p.path_changed(false, ifs(&[])), [Pause]);
        assert_eq!(p.path_changed(false, ifs(&[])), []);
        assert_eq!(p.path_changed(true, ifs(&["cellular"])), [Resume]);
        assert_eq!(
            p.path_changed(true, ifs(&["wifi", "cellular"])),
            [ReconnectNow]
        );
        assert_eq!(
            p.path_changed(true, ifs(&["cellular", "wifi"])),
            [],
            "a set"
        );
    }

    #[test]
    fn the_path_and_the_lifecycle_combine() {
        let mut p = ConnectionPolicy::new(25.0);
        p.entered_background(T0);
        assert_eq!(p.grace_period_ended(T0 + 25.0), [Pause]);
        // A path coming back in the background does not reconnect a paused app.
        assert_eq!(p.path_changed(false, ifs(&[])), []);
        assert_eq!(p.path_changed(true, ifs(&["wifi"])), []);
        assert_eq!(p.entered_foreground(), [Resume]);
        // In the foreground without a path: stay paused until there is one.
        assert_eq!(p.path_changed(false, ifs(&[])), [Pause]);
        p.entered_background(T0);
        assert_eq!(p.pause_at, None, "already paused: no grace period");
        assert_eq!(p.entered_foreground(), [], "no path yet");
        assert_eq!(p.path_changed(true, ifs(&["wifi"])), [Resume]);
    }

    #[test]
    fn a_path_back_during_the_grace_period_resumes() {
        let mut p = ConnectionPolicy::new(25.0);
        assert_eq!(p.path_changed(false, ifs(&[])), [Pause]);
        p.entered_background(T0);
        assert_eq!(p.pause_at, None);
        let mut q = ConnectionPolicy::new(25.0);
        q.entered_background(T0);
        assert_eq!(q.path_changed(false, ifs(&[])), [Pause]);
        assert_eq!(
            q.path_changed(true, ifs(&["wifi"])),
            [Resume],
            "still in the grace period"
        );
    }
}
