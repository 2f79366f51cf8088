//! The negative cache of API keys: hashes of keys the store did not know, for a short while.
//!
//! A client retrying a wrong key, or a flood of them, would otherwise cost a store lookup per
//! request. Entries expire after a fixed time to live, so a key created meanwhile (by
//! `parallax keys create`, or on another node) is found again once its entry expires. The
//! cache holds at most a fixed number of entries: when full, the oldest goes, so a flood of
//! random keys costs bounded memory. All entries live equally long, so insertion order is
//! expiry order and one queue serves both.

use parallax_store::KeyHash;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Recently missed key hashes, each until its expiry.
pub struct MissCache {
    ttl: Duration,
    capacity: usize,
    /// When each hash's entry expires.
    expires: HashMap<KeyHash, Instant>,
    /// Hashes in insertion (so expiry) order; a hash inserted again appears twice, and the
    /// older appearance is skipped when it reaches the front.
    order: VecDeque<(KeyHash, Instant)>,
}

impl MissCache {
    /// A cache keeping each miss for `ttl`, at most `capacity` of them.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        MissCache {
            ttl,
            capacity: capacity.max(1),
            expires: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Whether `hash` missed less than the time to live ago.
    pub fn contains(&self, hash: &KeyHash, now: Instant) -> bool {
        self.expires.get(hash).is_some_and(|at| *at > now)
    }

    /// Records that `hash` missed at `now`.
    pub fn insert(&mut self, hash: KeyHash, now: Instant) {
        self.expire(now);
        // The queue bounds the map too: every entry has its place in the queue.
        while self.order.len() >= self.capacity && self.pop_oldest() {}
        let at = now + self.ttl;
        self.expires.insert(hash, at);
        self.order.push_back((hash, at));
    }

    /// Forgets `hash` (it became a known key).
    pub fn remove(&mut self, hash: &KeyHash) {
        self.expires.remove(hash);
    }

    /// Entries held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.expires.len()
    }

    fn expire(&mut self, now: Instant) {
        while self.order.front().is_some_and(|(_, at)| *at <= now) {
            self.pop_oldest();
        }
    }

    /// Drops the front of the queue (and its entry, unless inserted again since); false if
    /// the queue is empty.
    fn pop_oldest(&mut self) -> bool {
        let Some((hash, at)) = self.order.pop_front() else {
            return false;
        };
        if self.expires.get(&hash) == Some(&at) {
            self.expires.remove(&hash);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: u32) -> KeyHash {
        let mut h = [0u8; 32];
        h[..4].copy_from_slice(&n.to_le_bytes());
        h
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let t0 = Instant::now();
        let mut cache = MissCache::new(Duration::from_secs(10), 100);
        cache.insert(hash(1), t0);
        assert!(cache.contains(&hash(1), t0 + Duration::from_secs(9)));
        assert!(!cache.contains(&hash(1), t0 + Duration::from_secs(10)));
        assert!(!cache.contains(&hash(2), t0));
        // Expired entries are dropped as new ones come.
        cache.insert(hash(2), t0 + Duration::from_secs(11));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_flood_of_keys_stays_within_capacity() {
        let t0 = Instant::now();
        let mut cache = MissCache::new(Duration::from_secs(10), 1000);
        for n in 0..100_000 {
            cache.insert(hash(n), t0);
            assert!(cache.len() <= 1000);
        }
        assert!(cache.order.len() <= 1000, "the queue is bounded too");
        // The newest are kept, the oldest went.
        assert!(cache.contains(&hash(99_999), t0));
        assert!(!cache.contains(&hash(0), t0));
    }

    #[test]
    fn a_key_missed_again_lives_from_its_last_miss() {
        let t0 = Instant::now();
        let mut cache = MissCache::new(Duration::from_secs(10), 2);
        cache.insert(hash(1), t0);
        cache.insert(hash(1), t0 + Duration::from_secs(5));
        assert!(cache.contains(&hash(1), t0 + Duration::from_secs(12)));
        cache.remove(&hash(1));
        assert!(!cache.contains(&hash(1), t0 + Duration::from_secs(12)));
    }
}
