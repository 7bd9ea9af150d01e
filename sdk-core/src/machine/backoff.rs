//! Reconnect delays: an exponential schedule with "equal jitter".
//!
//! The base delay starts at `min_delay` and doubles up to the `max_delay` cap (1 s to 30 s by
//! default), for at most `max_attempts` attempts. The protocol asks for each delay to be drawn
//! from `[delay/2, delay]`; the draw comes from a seeded generator, so the machine stays
//! deterministic for a given seed.

use std::time::Duration;

use super::config::BackoffConfig;
use super::timers::whole_millis;

pub(crate) struct Backoff {
    config: BackoffConfig,
    /// Attempts scheduled since the last reset.
    attempts: u32,
    /// The base delay of the next attempt.
    base: Duration,
    rng: fastrand::Rng,
}

impl Backoff {
    pub(crate) fn new(config: BackoffConfig, seed: u64) -> Self {
        Self {
            base: config.min_delay,
            attempts: 0,
            config,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The base delay of the next attempt, or `None` once `max_attempts` are used up.
    fn next_base(&mut self) -> Option<Duration> {
        if self
            .config
            .max_attempts
            .is_some_and(|max| self.attempts >= max)
        {
            return None;
        }
        self.attempts += 1;
        let cap = self.config.max_delay.max(self.config.min_delay);
        let base = self.base.min(cap);
        self.base = base.saturating_mul(2).min(cap);
        Some(base)
    }

    /// The delay before the next attempt, or `None` once `max_attempts` are used up.
    pub(crate) fn next_delay(&mut self) -> Option<Duration> {
        let base = self.next_base()?;
        let half = base / 2;
        let spread = whole_millis(base - half);
        Some(half + Duration::from_millis(self.rng.u64(0..=spread)))
    }

    /// Back to the first delay, after a connection reached `welcome`.
    pub(crate) fn reset(&mut self) {
        self.attempts = 0;
        self.base = self.config.min_delay;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_within_jitter_bounds() {
        let mut b = Backoff::new(BackoffConfig::default(), 7);
        let bases = [1, 2, 4, 8, 16, 30, 30, 30];
        for base in bases {
            let d = b.next_delay().expect("unlimited");
            let base = Duration::from_secs(base);
            assert!(
                d >= base / 2 && d <= base,
                "{d:?} not in [{:?}, {base:?}]",
                base / 2
            );
        }
        b.reset();
        assert!(b.next_delay().expect("unlimited") <= Duration::from_secs(1));
    }

    #[test]
    fn stops_after_max_attempts() {
        let config = BackoffConfig {
            max_attempts: Some(2),
            ..BackoffConfig::default()
        };
        let mut b = Backoff::new(config, 1);
        assert!(b.next_delay().is_some());
        assert!(b.next_delay().is_some());
        assert_eq!(b.next_delay(), None);
    }

    #[test]
    fn jitter_spreads_delays() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..32 {
            let mut b = Backoff::new(BackoffConfig::default(), seed);
            for _ in 0..3 {
                b.next_delay();
            }
            seen.insert(b.next_delay().expect("unlimited"));
        }
        assert!(seen.len() > 16, "jitter should vary delays: {seen:?}");
    }
}
