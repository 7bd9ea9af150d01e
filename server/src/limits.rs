//! Limits shared between connections: one token bucket per user (all of a user's connections
//! on this node draw from it) and a count of WebSocket connections per client IP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use crate::ratelimit::TokenBucket;

/// A user's bucket, shared by that user's connections.
pub type SharedBucket = Arc<Mutex<TokenBucket>>;

/// Per-user buckets. Connections hold the `Arc`; the map only keeps `Weak`s, so a user's
/// bucket is freed when their last connection ends.
#[derive(Debug, Default)]
pub struct UserBuckets {
    rate: u32,
    map: Mutex<HashMap<String, Weak<Mutex<TokenBucket>>>>,
}

impl UserBuckets {
    /// Buckets of `rate` frames/s (burst 2×); 0 means unlimited.
    pub fn new(rate: u32) -> Self {
        UserBuckets {
            rate,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The bucket of `user`, created on first use; `None` when unlimited.
    pub fn get(&self, user: &str) -> Option<SharedBucket> {
        if self.rate == 0 {
            return None;
        }
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = map.get(user).and_then(Weak::upgrade) {
            return Some(bucket);
        }
        // Forget the users whose connections are all gone before adding one.
        map.retain(|_, w| w.strong_count() > 0);
        let bucket = Arc::new(Mutex::new(TokenBucket::new(self.rate, Instant::now())));
        map.insert(user.to_string(), Arc::downgrade(&bucket));
        Some(bucket)
    }
}

/// Live WebSocket connections per client IP.
#[derive(Debug)]
pub struct IpLimit {
    max: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// Holds one connection slot of an IP until dropped.
#[derive(Debug)]
pub struct IpSlot {
    owner: Arc<IpLimit>,
    ip: IpAddr,
}

impl IpLimit {
    /// At most `max` connections per IP; 0 means unlimited.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(IpLimit {
            max,
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a slot for `ip`, or `None` when it already has `max` connections.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(ip).or_insert(0);
        if self.max > 0 && *n >= self.max {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            owner: Arc::clone(self),
            ip,
        })
    }

    /// The limit (0: none).
    pub fn max(&self) -> usize {
        self.max
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.owner.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_slots_are_counted_and_released() {
        let limit = IpLimit::new(2);
        let ip = IpAddr::from([10, 0, 0, 1]);
        let a = limit.acquire(ip);
        let b = limit.acquire(ip);
        assert!(a.is_some() && b.is_some());
        assert!(limit.acquire(ip).is_none());
        assert!(limit.acquire(IpAddr::from([10, 0, 0, 2])).is_some());
        drop(a);
        assert!(limit.acquire(ip).is_some());
    }

    #[test]
    fn user_buckets_are_shared_and_freed() {
        let users = UserBuckets::new(10);
        let a = users.get("u1");
        let b = users.get("u1");
        assert!(matches!((&a, &b), (Some(x), Some(y)) if Arc::ptr_eq(x, y)));
        drop((a, b));
        assert!(users.get("u2").is_some());
        assert_eq!(users.map.lock().map(|m| m.len()).unwrap_or(0), 1);
        assert!(UserBuckets::new(0).get("u1").is_none());
    }
}
