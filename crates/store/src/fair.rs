//! Fair claiming: which queued runs a worker takes when several tenants are waiting.
//!
//! Oldest-first alone lets a tenant that queued 10,000 runs hold every worker until they
//! are done, while another tenant's single run waits behind them. Instead, each run a claim
//! takes goes to the tenant with the fewest runs in progress — running anywhere (every node
//! of a PostgreSQL deployment counts) plus taken by this claim so far — and, among those,
//! to the one whose oldest queued run is oldest. Within a tenant, runs are taken oldest
//! first. So capacity is shared evenly among the tenants that have work, a tenant alone
//! gets all of it, and a run queued behind a big batch of another tenant's starts at the
//! next free slot.
//!
//! Both backends read, per tenant, its running count and its oldest queued runs (at most
//! the claim's limit each, through an index on queued runs by tenant), call [`pick`], and
//! claim exactly the runs it returns.

/// One tenant's part of the queue, as a claim sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TenantQueue {
    /// Runs of this tenant running now.
    pub running: usize,
    /// Its oldest queued runs, oldest first: (run id, created_at).
    pub queued: Vec<(String, i64)>,
}

/// The run ids to claim, at most `limit`, in the order they were chosen.
pub(crate) fn pick(mut queues: Vec<TenantQueue>, limit: usize) -> Vec<String> {
    let mut next = vec![0usize; queues.len()];
    let mut taken = Vec::with_capacity(limit);
    while taken.len() < limit {
        let best = (0..queues.len())
            .filter(|&t| next[t] < queues[t].queued.len())
            .min_by_key(|&t| (queues[t].running, queues[t].queued[next[t]].1));
        let Some(t) = best else { break };
        let (run_id, _) = std::mem::take(&mut queues[t].queued[next[t]]);
        taken.push(run_id);
        next[t] += 1;
        queues[t].running += 1;
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(running: usize, prefix: &str, created: &[i64]) -> TenantQueue {
        TenantQueue {
            running,
            queued: created
                .iter()
                .map(|c| (format!("{prefix}{c}"), *c))
                .collect(),
        }
    }

    #[test]
    fn a_single_run_does_not_wait_behind_a_big_batch() {
        let big = queue(0, "a", &(1..=100).collect::<Vec<_>>());
        let single = queue(0, "b", &[500]);
        assert_eq!(pick(vec![big, single], 2), vec!["a1", "b500"]);
    }

    #[test]
    fn the_tenant_with_fewer_runs_in_progress_goes_first() {
        // Tenant a holds every worker; when one frees up, b's run (younger) is next.
        let busy = queue(4, "a", &[1, 2, 3]);
        let waiting = queue(0, "b", &[9]);
        assert_eq!(pick(vec![busy, waiting], 1), vec!["b9"]);
    }

    #[test]
    fn capacity_is_shared_evenly_and_a_lone_tenant_gets_all() {
        let a = queue(0, "a", &[1, 2, 3, 4, 5, 6]);
        let b = queue(1, "b", &[7, 8, 9, 10]);
        assert_eq!(
            pick(vec![a.clone(), b.clone()], 5),
            vec!["a1", "a2", "b7", "a3", "b8"]
        );
        assert_eq!(pick(vec![a], 10).len(), 6);
        assert!(pick(vec![b, queue(0, "c", &[])], 0).is_empty());
    }
}
