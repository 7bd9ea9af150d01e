//! A token bucket limiting how fast one connection's frames are read.
//!
//! When the bucket is empty the connection simply stops reading its socket until a token is
//! back: TCP pushes back on the client, nothing is dropped and order is kept.

use std::time::{Duration, Instant};

/// Token bucket: `rate` tokens per second, holding at most `2 × rate`.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket. `rate == 0` means unlimited.
    pub fn new(rate: u32, now: Instant) -> Self {
        let rate = f64::from(rate);
        TokenBucket {
            rate,
            capacity: rate * 2.0,
            tokens: rate * 2.0,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
    }

    /// How long to wait before a token is available; `None` when one is available now.
    pub fn delay(&mut self, now: Instant) -> Option<Duration> {
        if self.rate <= 0.0 {
            return None;
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            None
        } else {
            let wait = (1.0 - self.tokens) / self.rate;
            Some(Duration::try_from_secs_f64(wait).unwrap_or(Duration::from_secs(1)))
        }
    }

    /// Takes a token if one is available now; otherwise returns how long until one is.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        match self.delay(now) {
            None => {
                self.take(now);
                Ok(())
            }
            Some(wait) => Err(wait),
        }
    }

    /// Whether the bucket is full again (idle long enough to be forgotten).
    pub fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.capacity
    }

    /// Spends one token (the bucket may go slightly negative; `delay` then waits it back).
    pub fn take(&mut self, now: Instant) {
        if self.rate <= 0.0 {
            return;
        }
        self.refill(now);
        self.tokens -= 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_waits() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, t0);
        for _ in 0..20 {
            assert_eq!(b.delay(t0), None);
            b.take(t0);
        }
        let d = b.delay(t0).unwrap_or_default();
        assert!(d > Duration::from_millis(50) && d <= Duration::from_millis(100));
        assert_eq!(b.delay(t0 + Duration::from_millis(100)), None);
    }

    #[test]
    fn try_take_refuses_when_empty() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1, t0);
        assert!(b.try_take(t0).is_ok());
        assert!(b.try_take(t0).is_ok());
        assert!(b.try_take(t0).is_err());
        assert!(!b.is_full(t0));
        assert!(b.is_full(t0 + Duration::from_secs(2)));
    }

    #[test]
    fn zero_is_unlimited() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(0, t0);
        for _ in 0..10_000 {
            b.take(t0);
        }
        assert_eq!(b.delay(t0), None);
    }
}
