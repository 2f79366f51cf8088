//! Per-tenant quotas, as an operator sets them with `parallax keys limit`
//! ([`parallax_store::limits`]):
//!
//! - **request rate**: a token bucket per tenant holding up to one minute's allowance and
//!   refilled continuously at `requests_per_minute / 60` a second. Every authenticated request
//!   takes one token; a request that finds none is answered 429 with `Retry-After` (whole
//!   seconds until a token is back). Buckets live in this process: with several nodes behind
//!   a balancer, each node allows the rate on its own.
//! - **active task runs**: a create (`POST …/tasks/runs`, or runs added to a group) that
//!   would take the tenant's queued plus running runs past `max_active_runs` is answered 429
//!   with `Retry-After`, and nothing is created. The count is read from the store, so it
//!   covers every node; creates of one tenant on one node are admitted one at a time, so they
//!   cannot overshoot together (creates racing on two nodes can, by the runs they create).
//!
//! Limits are read from the store at start, again when they are older than [`LIMITS_TTL`]
//! (so a change reaches a running server within that time), and at once when a tenant they do
//! not know makes a request (a key created since with limits is limited from its first
//! request). A failed re-read keeps the limits known before (logged), rather than failing
//! requests.

use crate::HttpError;
use parallax_api::ApiError;
use parallax_store::limits::TenantLimits;
use parallax_store::{Store, TenantId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long limits read from the store are used before they are read again.
pub const LIMITS_TTL: Duration = Duration::from_secs(10);

/// What `Retry-After` says when a tenant is at its active-run quota: runs end when they end,
/// so this is a polling interval, not a promise.
pub const RUN_QUOTA_RETRY_AFTER: u64 = 5;

/// The quotas of every tenant, as this node enforces them.
pub struct Quotas {
    limits: RwLock<Known>,
    /// Held by the one request that re-reads the limits; the others use the old ones.
    refreshing: tokio::sync::Mutex<()>,
    buckets: Mutex<HashMap<TenantId, Bucket>>,
    /// One lock per tenant with a run quota: its creates are admitted one at a time.
    admissions: Mutex<HashMap<TenantId, Arc<tokio::sync::Mutex<()>>>>,
}

struct Known {
    read_at: Instant,
    by_tenant: HashMap<TenantId, TenantLimits>,
}

/// Tokens left and when they were last counted.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Held while a tenant's runs are created, so that the next create of that tenant counts
/// them; drop it once the create is committed (or refused).
pub struct RunAdmission {
    _held: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Quotas {
    /// Reads every tenant's limits from the store.
    pub async fn load(store: &dyn Store) -> Result<Quotas, parallax_store::StoreError> {
        let by_tenant = store.tenant_limits().await?.into_iter().collect();
        Ok(Quotas {
            limits: RwLock::new(Known {
                read_at: Instant::now(),
                by_tenant,
            }),
            refreshing: tokio::sync::Mutex::new(()),
            buckets: Mutex::new(HashMap::new()),
            admissions: Mutex::new(HashMap::new()),
        })
    }

    /// The tenant's limits: from the limits read last, read again when they are older than
    /// [`LIMITS_TTL`] or do not know the tenant (a key created since, on this node or
    /// another, must not go unlimited until the next read).
    async fn limits_of(&self, tenant: &str, store: &dyn Store) -> TenantLimits {
        let (stale, known) = self.known(tenant);
        if !stale {
            if let Some(limits) = known {
                return limits;
            }
        }
        // Of requests that find the limits stale, one reads them and the others go on with the
        // old ones; a tenant not known yet waits for the read.
        let _reading = if known.is_some() {
            match self.refreshing.try_lock() {
                Ok(guard) => guard,
                Err(_) => return known.unwrap_or_default(),
            }
        } else {
            self.refreshing.lock().await
        };
        let (stale, known) = self.known(tenant);
        if !stale && known.is_some() {
            // Another request read them while this one waited.
            return known.unwrap_or_default();
        }
        match store.tenant_limits().await {
            Ok(rows) => {
                let mut limits = self.limits.write().unwrap_or_else(|p| p.into_inner());
                limits.by_tenant = rows.into_iter().collect();
                limits.read_at = Instant::now();
                limits.by_tenant.get(tenant).copied().unwrap_or_default()
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not re-read tenant limits; keeping the ones known");
                known.unwrap_or_default()
            }
        }
    }

    /// Whether the limits are stale, and the tenant's limits if they know it.
    fn known(&self, tenant: &str) -> (bool, Option<TenantLimits>) {
        let limits = self.limits.read().unwrap_or_else(|p| p.into_inner());
        (
            limits.read_at.elapsed() >= LIMITS_TTL,
            limits.by_tenant.get(tenant).copied(),
        )
    }

    /// Takes one request's token from the tenant's bucket, or refuses with 429.
    pub async fn admit_request(&self, tenant: &str, store: &dyn Store) -> Result<(), HttpError> {
        let Some(per_minute) = self.limits_of(tenant, store).await.requests_per_minute else {
            return Ok(());
        };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let wait = take_token(buckets.entry(tenant.to_owned()), per_minute, now);
        drop(buckets);
        match wait {
            None => Ok(()),
            Some(wait) => Err(too_many(
                format!(
                    "Too many requests: this API key's tenant may make {per_minute} requests a minute; retry after {} s",
                    retry_seconds(wait)
                ),
                retry_seconds(wait),
            )),
        }
    }

    /// Admits `count` new task runs of `tenant`, or refuses with 429 when they would take
    /// its queued and running runs past its quota. Hold the answer until the runs are
    /// committed.
    pub async fn admit_runs(
        &self,
        tenant: &str,
        count: usize,
        store: &dyn Store,
    ) -> Result<RunAdmission, HttpError> {
        let Some(max) = self.limits_of(tenant, store).await.max_active_runs else {
            return Ok(RunAdmission { _held: None });
        };
        let lock = {
            let mut admissions = self.admissions.lock().unwrap_or_else(|p| p.into_inner());
            admissions.entry(tenant.to_owned()).or_default().clone()
        };
        let held = lock.lock_owned().await;
        let active = store.tenant_active_runs(tenant).await?;
        let wanted = active.saturating_add(count as u64);
        if wanted > u64::from(max) {
            let message = if count as u64 > u64::from(max) {
                format!(
                    "Too many requests: this API key's tenant may have at most {max} task runs queued or running, and this request adds {count}; send fewer at a time"
                )
            } else {
                format!(
                    "Too many requests: this API key's tenant may have at most {max} task runs queued or running and has {active}; retry when some have finished"
                )
            };
            return Err(too_many(message, RUN_QUOTA_RETRY_AFTER));
        }
        Ok(RunAdmission { _held: Some(held) })
    }
}

/// Refills the bucket for the time since it was last counted and takes a token; `None` when
/// one was there, else how long until one is.
fn take_token(
    entry: std::collections::hash_map::Entry<'_, TenantId, Bucket>,
    per_minute: u32,
    now: Instant,
) -> Option<Duration> {
    let capacity = f64::from(per_minute);
    let per_second = f64::from(per_minute) / 60.0;
    let bucket = entry.or_insert(Bucket {
        tokens: capacity,
        at: now,
    });
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
    bucket.at = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        return None;
    }
    if per_second <= 0.0 {
        // A limit of zero requests a minute: refused until the operator changes it.
        return Some(Duration::from_secs(60));
    }
    Some(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
}

/// `Retry-After` in whole seconds, never 0 (which a client would take as "now").
fn retry_seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

fn too_many(message: String, retry_after: u64) -> HttpError {
    HttpError::from(ApiError::new(429, message)).with_retry_after(retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> (HashMap<TenantId, Bucket>, Instant) {
        (HashMap::new(), Instant::now())
    }

    #[test]
    fn a_bucket_allows_a_minutes_worth_then_refills_at_the_rate() {
        let (mut buckets, t0) = fresh();
        for _ in 0..6 {
            assert_eq!(take_token(buckets.entry("t".into()), 6, t0), None);
        }
        // Six a minute: one token every ten seconds.
        let wait = take_token(buckets.entry("t".into()), 6, t0).unwrap();
        assert_eq!(retry_seconds(wait), 10);
        let later = t0 + Duration::from_secs(5);
        assert_eq!(
            retry_seconds(take_token(buckets.entry("t".into()), 6, later).unwrap()),
            5
        );
        let refilled = t0 + Duration::from_secs(10);
        assert_eq!(take_token(buckets.entry("t".into()), 6, refilled), None);
        assert!(take_token(buckets.entry("t".into()), 6, refilled).is_some());
        // Tenants have buckets of their own.
        assert_eq!(take_token(buckets.entry("u".into()), 6, refilled), None);
    }

    #[test]
    fn a_long_quiet_never_saves_more_than_a_minute() {
        let (mut buckets, t0) = fresh();
        assert_eq!(take_token(buckets.entry("t".into()), 3, t0), None);
        let hour = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(take_token(buckets.entry("t".into()), 3, hour), None);
        }
        assert!(take_token(buckets.entry("t".into()), 3, hour).is_some());
    }

    #[test]
    fn zero_a_minute_refuses_everything() {
        let (mut buckets, t0) = fresh();
        // A suspended tenant: no token now, none later.
        assert!(take_token(buckets.entry("t".into()), 0, t0).is_some());
        let later = t0 + Duration::from_secs(86_400);
        assert_eq!(
            take_token(buckets.entry("t".into()), 0, later),
            Some(Duration::from_secs(60))
        );
    }
}
