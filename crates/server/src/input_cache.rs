//! A bounded in-memory cache of run inputs.
//!
//! A run's input never changes once committed, so a cached copy can never be stale, on
//! this node or any other. The cache is filled when a run is created here and when an input
//! is read, holds at most a fixed number of bytes, and forgets the oldest entries first.
//! It is what lets `GET …/input` answer without a store round trip.

use axum::body::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

const SHARDS: usize = 16;

/// See the module documentation.
pub struct InputCache {
    shards: Vec<Mutex<Shard>>,
    shard_capacity: usize,
}

#[derive(Default)]
struct Shard {
    entries: HashMap<Arc<str>, (Arc<str>, Bytes)>,
    order: VecDeque<Arc<str>>,
    bytes: usize,
}

impl InputCache {
    /// A cache holding about `capacity_bytes` of inputs (0 disables it).
    pub fn new(capacity_bytes: usize) -> Self {
        InputCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            shard_capacity: capacity_bytes / SHARDS,
        }
    }

    fn shard(&self, run_id: &str) -> &Mutex<Shard> {
        // Run ids end in random hex: their last byte spreads evenly.
        let last = run_id.as_bytes().last().copied().unwrap_or(0) as usize;
        &self.shards[last % SHARDS]
    }

    /// The input of `run_id` if cached and owned by `tenant`.
    pub fn get(&self, tenant: &str, run_id: &str) -> Option<Bytes> {
        let shard = self.shard(run_id).lock().unwrap_or_else(|p| p.into_inner());
        match shard.entries.get(run_id) {
            Some((owner, doc)) if &**owner == tenant => Some(doc.clone()),
            _ => None,
        }
    }

    /// Remembers the input of `run_id`.
    pub fn insert(&self, tenant: &str, run_id: &str, doc: Bytes) {
        let size = doc.len() + run_id.len() + tenant.len();
        if size > self.shard_capacity {
            return;
        }
        let mut shard = self.shard(run_id).lock().unwrap_or_else(|p| p.into_inner());
        if shard.entries.contains_key(run_id) {
            return;
        }
        while shard.bytes + size > self.shard_capacity {
            let Some(oldest) = shard.order.pop_front() else {
                break;
            };
            if let Some((owner, old)) = shard.entries.remove(&oldest) {
                shard.bytes -= old.len() + oldest.len() + owner.len();
            }
        }
        let key: Arc<str> = Arc::from(run_id);
        shard.order.push_back(key.clone());
        shard.entries.insert(key, (Arc::from(tenant), doc));
        shard.bytes += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_by_tenant_and_bounded() {
        let cache = InputCache::new(SHARDS * 100);
        cache.insert("t1", "trun_a0", Bytes::from_static(b"{\"a\":1}"));
        assert_eq!(
            cache.get("t1", "trun_a0").unwrap(),
            Bytes::from_static(b"{\"a\":1}")
        );
        assert!(cache.get("t2", "trun_a0").is_none());
        // Same shard (same last byte), each ~60 bytes: the older is evicted.
        cache.insert("t1", "trun_b0", Bytes::from(vec![b'x'; 50]));
        cache.insert("t1", "trun_c0", Bytes::from(vec![b'y'; 50]));
        assert!(cache.get("t1", "trun_b0").is_none());
        assert!(cache.get("t1", "trun_c0").is_some());
        let shard = cache.shard("trun_c0").lock().unwrap();
        assert!(shard.bytes <= 100);
    }
}
