//! Per-tenant limits: how many requests a minute a tenant's keys may make and how many of its
//! task runs may be queued or running at once. An operator sets them with `parallax keys
//! limit`; the server enforces them (`parallax_server::limits`). This module owns the two
//! `tenants` columns that hold them (migration 9) and the one query that counts a tenant's
//! active runs, written once for both backends.

/// A tenant's limits; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantLimits {
    /// Requests a minute over all the tenant's keys, on each node.
    pub requests_per_minute: Option<u32>,
    /// Task runs queued or running at once, over every node.
    pub max_active_runs: Option<u32>,
}

impl TenantLimits {
    /// Whether any limit is set.
    pub fn is_limited(&self) -> bool {
        self.requests_per_minute.is_some() || self.max_active_runs.is_some()
    }

    /// The limits as stored: a column holds a count or NULL.
    pub(crate) fn columns(&self) -> (Option<i64>, Option<i64>) {
        (
            self.requests_per_minute.map(i64::from),
            self.max_active_runs.map(i64::from),
        )
    }

    /// The limits read back; a stored count outside `u32` (written by hand) is taken as
    /// the largest limit rather than refused.
    pub(crate) fn from_columns(
        requests_per_minute: Option<i64>,
        max_active_runs: Option<i64>,
    ) -> Self {
        let count = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        TenantLimits {
            requests_per_minute: requests_per_minute.map(count),
            max_active_runs: max_active_runs.map(count),
        }
    }
}

/// Every tenant with its limits.
pub(crate) const SELECT_LIMITS: &str =
    "SELECT tenant_id, requests_per_minute, max_active_runs FROM tenants";

/// Sets one tenant's limits: `$1` tenant, `$2` requests a minute, `$3` active runs.
pub(crate) const SET_LIMITS: &str =
    "UPDATE tenants SET requests_per_minute = $2, max_active_runs = $3 WHERE tenant_id = $1";

/// A tenant's queued plus running task runs (`$1` tenant), read from the partial index
/// `runs_active` (migration 9), which holds active runs only, not every run the
/// tenant ever made.
pub(crate) const COUNT_ACTIVE_RUNS: &str =
    "SELECT count(*) FROM runs WHERE tenant_id = $1 AND status IN ('queued', 'running')";
