//! Fair claiming: which queued runs a worker takes when several tenants, or several task
//! groups, are waiting.
//!
//! Oldest-first alone lets a tenant that queued 10,000 runs hold every worker until they
//! are done, while another tenant's single run waits behind them. Instead, capacity is
//! shared at two levels:
//! 1. among tenants: each run a claim takes goes to the tenant with the fewest runs in
//!    progress — running anywhere (every node of a PostgreSQL deployment counts) plus taken
//!    by this claim so far — and, among those, to the one whose oldest waiting run is oldest;
//! 2. within that tenant, among its **lanes**: each task group is a lane, and the runs
//!    created on their own (`POST /v1/tasks/runs`) are one more. The lane with the fewest
//!    runs in progress goes first, then the one whose next run is oldest.
//!
//! Within a lane, runs are taken in order (a group's in the order they were added). So a
//! tenant alone gets every worker, two tenants get half each whatever their queue lengths,
//! and a single run (or a small group) queued behind a 10,000-run group starts at the next
//! free slot.
//!
//! Both backends read, per lane, its running count ([`RUNNING_BY_LANE`]) and its next queued
//! runs (at most the claim's limit each, through partial indexes on queued runs), build the
//! queues with [`tenant_queues`], call [`pick`], and claim exactly the runs it returns.

use std::collections::{BTreeMap, HashMap};

/// The running count of every lane, in SQL both backends run: rows of
/// `tenant_id, taskgroup_id, count`.
pub(crate) const RUNNING_BY_LANE: &str = "SELECT tenant_id, taskgroup_id, COUNT(*) FROM runs
    WHERE status = 'running' GROUP BY tenant_id, taskgroup_id";

/// A lane: a tenant, and its task group (`None` for its runs outside any group).
pub(crate) type LaneKey = (String, Option<String>);

/// A queued run a claim may take, as read from its lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueuedRun {
    pub lane: LaneKey,
    pub run_id: String,
    pub created_at: i64,
}

/// Every tenant's queue from the running count of each lane and the queued runs read, each
/// lane's in the order they are to run. Lanes are ordered by tenant, then the runs outside
/// groups, then groups by id, so both backends break ties the same way.
pub(crate) fn tenant_queues(
    running: HashMap<LaneKey, usize>,
    queued: impl IntoIterator<Item = QueuedRun>,
) -> Vec<TenantQueue> {
    let mut lanes: BTreeMap<LaneKey, Lane> = BTreeMap::new();
    for run in queued {
        let lane = lanes.entry(run.lane.clone()).or_insert_with(|| Lane {
            running: running.get(&run.lane).copied().unwrap_or(0),
            queued: Vec::new(),
        });
        lane.queued.push((run.run_id, run.created_at));
    }
    let mut tenants: BTreeMap<String, TenantQueue> = BTreeMap::new();
    for ((tenant, _), n) in &running {
        tenants.entry(tenant.clone()).or_default().running += n;
    }
    for ((tenant, _), lane) in lanes {
        tenants.entry(tenant).or_default().lanes.push(lane);
    }
    tenants
        .into_values()
        .filter(|t| !t.lanes.is_empty())
        .collect()
}

/// One lane: a task group of a tenant, or the tenant's runs outside any group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lane {
    /// Runs of this lane running now.
    pub running: usize,
    /// Its next queued runs, in the order they are to run: (run id, created_at).
    pub queued: Vec<(String, i64)>,
}

/// One tenant's part of the queue, as a claim sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct TenantQueue {
    /// Runs of this tenant running now, in every lane.
    pub running: usize,
    pub lanes: Vec<Lane>,
}

/// The run ids to claim, at most `limit`, in the order they were chosen.
pub(crate) fn pick(mut tenants: Vec<TenantQueue>, limit: usize) -> Vec<String> {
    let mut next: Vec<Vec<usize>> = tenants.iter().map(|t| vec![0; t.lanes.len()]).collect();
    let mut taken = Vec::with_capacity(limit);
    while taken.len() < limit {
        // Each tenant's best lane: fewest running, then oldest next run.
        let best_lane = |t: usize| {
            (0..tenants[t].lanes.len())
                .filter(|&l| next[t][l] < tenants[t].lanes[l].queued.len())
                .min_by_key(|&l| {
                    let lane = &tenants[t].lanes[l];
                    (lane.running, lane.queued[next[t][l]].1)
                })
        };
        let oldest = |t: usize| {
            (0..tenants[t].lanes.len())
                .filter(|&l| next[t][l] < tenants[t].lanes[l].queued.len())
                .map(|l| tenants[t].lanes[l].queued[next[t][l]].1)
                .min()
        };
        let best_tenant = (0..tenants.len())
            .filter_map(|t| oldest(t).map(|created| (t, created)))
            .min_by_key(|&(t, created)| (tenants[t].running, created))
            .map(|(t, _)| t);
        let Some(t) = best_tenant else { break };
        let Some(l) = best_lane(t) else { break };
        let lane = &mut tenants[t].lanes[l];
        let (run_id, _) = std::mem::take(&mut lane.queued[next[t][l]]);
        taken.push(run_id);
        next[t][l] += 1;
        lane.running += 1;
        tenants[t].running += 1;
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane(running: usize, prefix: &str, created: &[i64]) -> Lane {
        Lane {
            running,
            queued: created
                .iter()
                .map(|c| (format!("{prefix}{c}"), *c))
                .collect(),
        }
    }

    /// A tenant with one lane.
    fn queue(running: usize, prefix: &str, created: &[i64]) -> TenantQueue {
        TenantQueue {
            running,
            lanes: vec![lane(running, prefix, created)],
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

    #[test]
    fn a_tenants_groups_share_its_capacity() {
        // One tenant: a big group holding 3 workers, a small group and a lone run waiting.
        let tenant = TenantQueue {
            running: 3,
            lanes: vec![
                lane(3, "big", &(1..=50).collect::<Vec<_>>()),
                lane(0, "small", &[60, 61]),
                lane(0, "solo", &[70]),
            ],
        };
        assert_eq!(
            pick(vec![tenant], 5),
            vec!["small60", "solo70", "small61", "big1", "big2"]
        );
    }

    #[test]
    fn tenants_come_before_lanes() {
        // Tenant a has two groups; tenant b one run. b gets a slot before a's second group
        // gets its second.
        let a = TenantQueue {
            running: 0,
            lanes: vec![lane(0, "g", &[1, 2, 3]), lane(0, "h", &[4, 5])],
        };
        let b = queue(0, "b", &[10]);
        assert_eq!(pick(vec![a, b], 4), vec!["g1", "b10", "h4", "g2"]);
    }

    #[test]
    fn queues_are_built_by_tenant_then_lane() {
        let key = |t: &str, g: Option<&str>| (t.to_owned(), g.map(str::to_owned));
        let run = |t: &str, g: Option<&str>, id: &str, at: i64| QueuedRun {
            lane: key(t, g),
            run_id: id.into(),
            created_at: at,
        };
        let running = HashMap::from([(key("a", Some("g2")), 2), (key("b", None), 1)]);
        let queues = tenant_queues(
            running,
            [
                run("a", Some("g2"), "r1", 5),
                run("a", None, "r2", 7),
                run("a", Some("g1"), "r3", 6),
                run("a", Some("g2"), "r4", 8),
            ],
        );
        // b runs one but has nothing queued: it has no queue to pick from.
        assert_eq!(
            queues,
            vec![TenantQueue {
                running: 2,
                lanes: vec![
                    lane(0, "r", &[]).with(&[("r2", 7)]),
                    lane(0, "r", &[]).with(&[("r3", 6)]),
                    lane(2, "r", &[]).with(&[("r1", 5), ("r4", 8)]),
                ],
            }]
        );
    }

    impl Lane {
        fn with(mut self, runs: &[(&str, i64)]) -> Lane {
            self.queued = runs.iter().map(|(id, at)| (id.to_string(), *at)).collect();
            self
        }
    }

    #[test]
    fn empty_lanes_and_tenants_are_skipped() {
        let a = TenantQueue {
            running: 0,
            lanes: vec![lane(0, "x", &[]), lane(2, "y", &[3])],
        };
        assert_eq!(pick(vec![TenantQueue::default(), a], 3), vec!["y3"]);
    }
}
