//! API keys: the `Tenant` extractor and the ring of known key hashes.
//!
//! A key arrives in `x-api-key` or `Authorization: Bearer`. Only its SHA-256 is kept, in
//! the store and in memory. Lookup compares the presented hash with every known hash in
//! constant time and never stops early, so timing reveals nothing about which bytes matched.
//! A key added by another process (`parallax keys create`, another node) is found by
//! reloading the ring on a miss. Concurrent misses share one reload: a miss that finds a
//! reload completed after it arrived uses that one, so a flood of wrong keys costs one
//! reload at a time, and a new key works on its very first request.

use crate::{AppState, HttpError};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use parallax_api::ApiError;
use parallax_store::{KeyHash, Store, TenantId};
use sha2::{Digest, Sha256};
use std::sync::{Arc, RwLock};
use std::time::Instant;
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

/// SHA-256 of an API key.
pub fn hash_key(key: &str) -> KeyHash {
    Sha256::digest(key.as_bytes()).into()
}

/// Known key hashes and their tenants.
pub struct KeyRing {
    keys: RwLock<Vec<(KeyHash, TenantId)>>,
    /// When the last reload finished; the lock also makes reloads one at a time.
    last_reload: Mutex<Instant>,
}

impl KeyRing {
    /// Loads every key from the store.
    pub async fn load(store: &dyn Store) -> Result<KeyRing, parallax_store::StoreError> {
        Ok(KeyRing {
            keys: RwLock::new(store.api_keys().await?),
            last_reload: Mutex::new(Instant::now()),
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

    /// The tenant of `key`, if it is a known key.
    pub async fn authenticate(
        &self,
        key: &str,
        store: &dyn Store,
    ) -> Result<Option<TenantId>, HttpError> {
        let arrived = Instant::now();
        let hash = hash_key(key);
        if let Some(tenant) = self.find(&hash) {
            return Ok(Some(tenant));
        }
        let mut last = self.last_reload.lock().await;
        if *last > arrived {
            // Another request reloaded after this one arrived: that view is fresh enough.
            return Ok(self.find(&hash));
        }
        let keys = store.api_keys().await?;
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
        *last = Instant::now();
        Ok(self.find(&hash))
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
            Some(tenant) => Ok(Tenant(tenant)),
            None => Err(ApiError::unauthorized().into()),
        }
    }
}
