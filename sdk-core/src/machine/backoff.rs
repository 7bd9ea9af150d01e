//! Reconnect delays: backon's exponential schedule with "equal jitter".
//!
//! backon produces the base schedule (1 s doubling to the 30 s cap, optional attempt limit).
//! The protocol asks for each delay to be drawn from `[delay/2, delay]`, which backon's own
//! jitter (it adds up to one more delay) does not give, so the draw is done here, from a seeded
//! generator: the machine stays deterministic for a given seed.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use super::config::BackoffConfig;
use super::timers::whole_millis;

pub(crate) struct Backoff {
    config: BackoffConfig,
    schedule: ExponentialBackoff,
    rng: fastrand::Rng,
}

impl Backoff {
    pub(crate) fn new(config: BackoffConfig, seed: u64) -> Self {
        Self {
            schedule: Self::schedule(&config),
            config,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    fn schedule(config: &BackoffConfig) -> ExponentialBackoff {
        let builder = ExponentialBuilder::new()
            .with_factor(2.0)
            .with_min_delay(config.min_delay)
            .with_max_delay(config.max_delay.max(config.min_delay));
        match config.max_attempts {
            Some(n) => builder.with_max_times(n as usize),
            None => builder.without_max_times(),
        }
        .build()
    }

    /// The delay before the next attempt, or `None` once `max_attempts` are used up.
    pub(crate) fn next_delay(&mut self) -> Option<Duration> {
        let base = self.schedule.next()?;
        let half = base / 2;
        let spread = whole_millis(base - half);
        Some(half + Duration::from_millis(self.rng.u64(0..=spread)))
    }

    /// Back to the first delay, after a connection reached `welcome`.
    pub(crate) fn reset(&mut self) {
        self.schedule = Self::schedule(&self.config);
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
