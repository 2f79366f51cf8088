//! API keys: the `Tenant` extractor and the ring of known key hashes.
//!
//! A key arrives in `x-api-key` or `Authorization: Bearer`. Only its SHA-256 is kept, in
//! the store and in memory, and no key is ever logged. Lookup compares the presented hash with
//! every known hash in constant time and never stops early, so timing reveals nothing about
//! which bytes matched.
//!
//! A key this process does not know yet (made by `parallax keys create`, or on another node)
//! costs one indexed lookup of its hash in the store ([`Store::api_key_tenant`]), not a reload
//! of every key; a key found that way is known from then on. A hash the store does not know
//! goes into a negative cache ([`MissCache`]) for [`MISS_TTL`]: trying it again within that
//! time costs no lookup. The cache holds at most [`MISS_CAPACITY`] hashes, and at most
//! [`LOOKUPS_IN_FLIGHT`] lookups run at once, so a flood of random keys costs bounded memory
//! and leaves the store's connections to real work.
//!
//! One consequence: a key that was presented, wrongly, *before* it was created is refused
//! until its miss expires ([`MISS_TTL`]). A freshly created key has never been presented, so
//! it works on its very first request.
//!
//! An authenticated request then takes a token from its tenant's request-rate bucket
//! ([`crate::quotas`]); without one it is answered 429.

use crate::miss_cache::MissCache;
use crate::{AppState, HttpError};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use parallax_api::ApiError;
use parallax_store::{KeyHash, Store, TenantId};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// How long a key the store did not know is refused without asking the store again.
pub const MISS_TTL: Duration = Duration::from_secs(10);
/// Most unknown key hashes remembered at once.
pub const MISS_CAPACITY: usize = 10_000;
/// Most store lookups of unknown keys running at once.
pub const LOOKUPS_IN_FLIGHT: usize = 4;

/// SHA-256 of an API key.
pub fn hash_key(key: &str) -> KeyHash {
    Sha256::digest(key.as_bytes()).into()
}

/// Known key hashes and their tenants, and recent misses.
pub struct KeyRing {
    keys: RwLock<Vec<(KeyHash, TenantId)>>,
    misses: Mutex<MissCache>,
    lookups: Semaphore,
}

impl KeyRing {
    /// Loads every key from the store.
    pub async fn load(store: &dyn Store) -> Result<KeyRing, parallax_store::StoreError> {
        Ok(KeyRing {
            keys: RwLock::new(store.api_keys().await?),
            misses: Mutex::new(MissCache::new(MISS_TTL, MISS_CAPACITY)),
            lookups: Semaphore::new(LOOKUPS_IN_FLIGHT),
        })
    }

    fn find(&self, hash: &KeyHash) -> Option<TenantId> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        let mut found = None;
        for (known, tenant) in keys.iter() {
            if bool::from(known.ct_eq(hash)) {
                found = Some(tenant.clone());
            }
        }
        found
    }

    fn missed_recently(&self, hash: &KeyHash) -> bool {
        self.misses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(hash, Instant::now())
    }

    /// The tenant of `key`, if it is a known key.
    pub async fn authenticate(
        &self,
        key: &str,
        store: &dyn Store,
    ) -> Result<Option<TenantId>, HttpError> {
        let hash = hash_key(key);
        if let Some(tenant) = self.find(&hash) {
            return Ok(Some(tenant));
        }
        if self.missed_recently(&hash) {
            return Ok(None);
        }
        // Closed only if the ring is dropped, which cannot happen while `self` is borrowed.
        let _permit = self.lookups.acquire().await;
        // A request for the same key may have looked it up while this one waited.
        if let Some(tenant) = self.find(&hash) {
            return Ok(Some(tenant));
        }
        if self.missed_recently(&hash) {
            return Ok(None);
        }
        match store.api_key_tenant(hash).await? {
            Some(tenant) => {
                let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
                if !keys.iter().any(|(known, _)| known == &hash) {
                    keys.push((hash, tenant.clone()));
                }
                drop(keys);
                self.misses
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&hash);
                Ok(Some(tenant))
            }
            None => {
                self.misses
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(hash, Instant::now());
                Ok(None)
            }
        }
    }
}

/// The authenticated tenant of a request.
#[derive(Debug, Clone)]
pub struct Tenant(pub TenantId);

impl FromRequestParts<Arc<AppState>> for Tenant {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let presented = parts
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .or_else(|| {
                parts
                    .headers
                    .get(axum::http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| {
                        v.strip_prefix("Bearer ")
                            .or_else(|| v.strip_prefix("bearer "))
                    })
            })
            .map(str::trim)
            .filter(|k| !k.is_empty());
        let Some(key) = presented else {
            return Err(ApiError::unauthorized().into());
        };
        match state.keys.authenticate(key, &*state.store).await? {
            Some(tenant) => {
                state.quotas.admit_request(&tenant, &*state.store).await?;
                Ok(Tenant(tenant))
            }
            None => Err(ApiError::unauthorized().into()),
        }
    }
}
