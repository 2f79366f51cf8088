//! Monitors in the store, on both backends: an execution from its claim to its events,
//! schedules planned against the anchor (missed slots merged, never drifting), leases that
//! keep one monitor from running twice at once and hand a dead worker's execution to another,
//! triggers, cancellation and updates, what executions saw, snapshot baselines, listing,
//! tenant isolation and webhook deliveries.
//!
//! Schedules run on a made-up monitor clock ([`T0`] and on) passed in each op; only the
//! lease test sleeps, because leases are on the store's own clock.

use parallax_api::monitor::{
    parse_create, parse_update, snapshot_settings, EventKind, MonitorConfig, MonitorEvent,
    MonitorKind, MonitorStatus, EVENT_DETECTED, EVENT_GROUP_PREFIX, EVENT_PREFIX,
    EXECUTION_COMPLETED, MONITOR_PREFIX,
};
use parallax_api::{ids, time::rfc3339};
use parallax_store::monitor::{
    ClaimedMonitor, EventQuery, Execution, MonitorListQuery, MonitorOp, MonitorReply,
    MonitorToCreate, Requested, SeenEntry, SnapshotBaseline, UpdateOutcome, SEEN_KEPT,
};
use parallax_store::{Lease, Store};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

mod backends;

/// The monitor clock when the tests begin (microseconds).
const T0: i64 = 1_700_000_000_000_000;
const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// The longest jitter a due time gets.
const JITTER: i64 = MINUTE;
/// A lease no test outlives.
const TTL: Duration = Duration::from_secs(30);

async fn tenant(store: &dyn Store) -> String {
    let mut hash = [0u8; 32];
    hash[..16].copy_from_slice(&uuid::Uuid::new_v4().into_bytes());
    store.create_tenant_with_key(hash, "test").await.unwrap()
}

/// An event_stream create request, as a client sends it.
fn stream(frequency: &str) -> Value {
    json!({
        "type": "event_stream",
        "frequency": frequency,
        "settings": {"query": "New dental clinics opening in Quillmere"},
    })
}

fn config_of(body: &Value) -> MonitorConfig {
    let new = parse_create(body.to_string().as_bytes()).unwrap();
    assert!(new.snapshot_of.is_none());
    new.config
}

async fn create_with(
    store: &dyn Store,
    tenant: &str,
    config: MonitorConfig,
    snapshot: Option<SnapshotBaseline>,
    at: i64,
) -> String {
    let monitor_id = ids::new_id(MONITOR_PREFIX);
    let view = store
        .create_monitor(
            tenant,
            MonitorToCreate {
                monitor_id: monitor_id.clone(),
                config: config.clone(),
                created_at: at,
                snapshot,
            },
        )
        .await
        .unwrap();
    assert_eq!(view.monitor_id, monitor_id);
    assert_eq!(view.status, MonitorStatus::Active);
    assert_eq!((view.created_at, view.last_run_at), (at, None));
    assert_eq!(view.config, config);
    let stored = store
        .get_monitor(tenant, &monitor_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.config, config);
    assert_eq!(
        (stored.status, stored.created_at, stored.last_run_at),
        (MonitorStatus::Active, at, None)
    );
    monitor_id
}

async fn create(store: &dyn Store, tenant: &str, body: Value, at: i64) -> String {
    create_with(store, tenant, config_of(&body), None, at).await
}

async fn claim(store: &dyn Store, worker: &str, clock: i64) -> Vec<ClaimedMonitor> {
    store
        .claim_monitors(Lease::new(worker, TTL), clock, 10)
        .await
        .unwrap()
}

async fn claim_one(store: &dyn Store, worker: &str, clock: i64) -> ClaimedMonitor {
    let mut claimed = claim(store, worker, clock).await;
    assert_eq!(
        claimed.len(),
        1,
        "exactly one monitor claimable at {clock}: {claimed:?}"
    );
    claimed.remove(0)
}

fn ran(events: Vec<Value>) -> Execution {
    Execution::Ran {
        events,
        observed: Vec::new(),
        snapshot: None,
    }
}

fn seen(entries: &[(&str, &str)]) -> Vec<SeenEntry> {
    entries
        .iter()
        .map(|(key, data)| SeenEntry {
            key: key.to_string(),
            data: data.to_string(),
        })
        .collect()
}

async fn finish(
    store: &dyn Store,
    worker: &str,
    monitor_id: &str,
    execution: Execution,
    clock: i64,
) -> bool {
    store
        .finish_monitor(worker, monitor_id, execution, clock)
        .await
        .unwrap()
}

async fn events(
    store: &dyn Store,
    tenant: &str,
    monitor_id: &str,
    query: EventQuery,
) -> Vec<MonitorEvent> {
    store
        .monitor_events(tenant, monitor_id, query)
        .await
        .unwrap()
        .expect("the monitor exists")
}

fn with_completions() -> EventQuery {
    EventQuery {
        include_completions: true,
        ..EventQuery::default()
    }
}

fn seqs(events: &[MonitorEvent]) -> Vec<i64> {
    events.iter().map(|e| e.seq).collect()
}

async fn next_due(store: &dyn Store) -> Option<i64> {
    store.next_monitor_due().await.unwrap()
}

/// Asserts that `due` is the slot starting at `slot` (plus its jitter).
fn assert_slot(due: Option<i64>, slot: i64) {
    let due = due.expect("a monitor is due");
    assert!(
        (slot..slot + JITTER).contains(&due),
        "due at T0{:+} s, not in the slot at T0{:+} s",
        (due - T0) as f64 / SECOND as f64,
        (slot - T0) / SECOND
    );
}

async fn update(
    store: &dyn Store,
    tenant: &str,
    monitor_id: &str,
    body: Value,
    clock: i64,
) -> UpdateOutcome {
    let patch = parse_update(body.to_string().as_bytes()).unwrap();
    let op = MonitorOp::Update {
        tenant: tenant.into(),
        monitor_id: monitor_id.into(),
        patch,
        clock,
    };
    match store.monitor(op).await.unwrap() {
        MonitorReply::Updated(outcome) => outcome,
        other => panic!("update answered {other:?}"),
    }
}

async fn trigger(store: &dyn Store, tenant: &str, monitor_id: &str) -> Requested {
    let op = MonitorOp::Trigger {
        tenant: tenant.into(),
        monitor_id: monitor_id.into(),
    };
    match store.monitor(op).await.unwrap() {
        MonitorReply::Requested(r) => r,
        other => panic!("trigger answered {other:?}"),
    }
}

async fn simulate(
    store: &dyn Store,
    tenant: &str,
    monitor_id: &str,
    event_type: &str,
    clock: i64,
) -> Requested {
    let op = MonitorOp::Simulate {
        tenant: tenant.into(),
        monitor_id: monitor_id.into(),
        event_type: event_type.into(),
        clock,
    };
    match store.monitor(op).await.unwrap() {
        MonitorReply::Requested(r) => r,
        other => panic!("simulate answered {other:?}"),
    }
}

async fn list(
    store: &dyn Store,
    tenant: &str,
    statuses: &[MonitorStatus],
    kinds: &[MonitorKind],
    after: Option<&str>,
    limit: i64,
) -> Vec<String> {
    let op = MonitorOp::List {
        tenant: tenant.into(),
        query: MonitorListQuery {
            statuses: statuses.to_vec(),
            kinds: kinds.to_vec(),
            after: after.map(str::to_owned),
            limit,
        },
    };
    match store.monitor(op).await.unwrap() {
        MonitorReply::List(views) => views.into_iter().map(|v| v.monitor_id).collect(),
        other => panic!("list answered {other:?}"),
    }
}

async fn list_by_id(
    store: &dyn Store,
    tenant: &str,
    after: Option<&str>,
    limit: Option<i64>,
) -> Vec<String> {
    let op = MonitorOp::ListById {
        tenant: tenant.into(),
        after: after.map(str::to_owned),
        limit,
    };
    match store.monitor(op).await.unwrap() {
        MonitorReply::List(views) => views.into_iter().map(|v| v.monitor_id).collect(),
        other => panic!("list by id answered {other:?}"),
    }
}

const BOTH: [MonitorStatus; 2] = [MonitorStatus::Active, MonitorStatus::Cancelled];

pub async fn an_execution_from_claim_to_events(store: Arc<dyn Store>) {
    let store = &*store;
    let t = tenant(store).await;
    let id = create(store, &t, stream("1h"), T0).await;

    // The first execution is due at creation.
    assert_eq!(next_due(store).await, Some(T0));
    assert!(claim(store, "w1", T0 - 1).await.is_empty(), "not due yet");
    let first = claim_one(store, "w1", T0).await;
    assert_eq!(
        (first.monitor_id.as_str(), first.tenant.as_str()),
        (id.as_str(), t.as_str())
    );
    assert!(first.first, "no execution finished before");
    assert_eq!(first.attempt, 1);
    assert!(first.seen.is_empty() && first.snapshot.is_none());
    assert_eq!(first.config, config_of(&stream("1h")));
    // Held: no other worker gets it, and nothing waits.
    assert!(claim(store, "w2", T0).await.is_empty());
    assert_eq!(next_due(store).await, None);

    let t1 = T0 + 5 * MINUTE;
    let docs = vec![
        json!({"event_date": "2024-05-01", "output": {"content": "Oak Dental opened"}}),
        json!({"event_date": "2024-05-02", "output": {"content": "Elm Dental opened"}}),
    ];
    assert!(finish(store, "w1", &id, ran(docs.clone()), t1).await);
    let found = events(store, &t, &id, EventQuery::default()).await;
    assert_eq!(seqs(&found), vec![2, 1], "newest first");
    assert_eq!(
        (&found[0].document, &found[1].document),
        (&docs[1], &docs[0])
    );
    let group = found[0]
        .event_group_id
        .clone()
        .expect("a detection has a group");
    assert!(group.starts_with(EVENT_GROUP_PREFIX), "{group}");
    assert_eq!(found[1].event_group_id.as_deref(), Some(group.as_str()));
    assert_ne!(found[0].event_id, found[1].event_id);
    for e in &found {
        assert!(e.event_id.starts_with(EVENT_PREFIX), "{}", e.event_id);
        assert_eq!((e.kind, e.created_at), (EventKind::EventStream, t1));
    }
    let view = store.get_monitor(&t, &id).await.unwrap().unwrap();
    assert_eq!(view.last_run_at, Some(t1));

    // The next slot, planned from the anchor.
    let due = next_due(store).await;
    assert_slot(due, T0 + HOUR);
    let due = due.unwrap();
    assert!(claim(store, "w1", due - 1).await.is_empty());
    let second = claim_one(store, "w2", due).await;
    assert!(!second.first);
    assert_eq!(second.attempt, 1);

    // Nothing found: a completion, listed only when asked for.
    let t2 = due + 10 * SECOND;
    assert!(finish(store, "w2", &id, ran(Vec::new()), t2).await);
    let hidden = events(store, &t, &id, EventQuery::default()).await;
    assert_eq!(hidden, found, "a completion is hidden by default");
    let all = events(store, &t, &id, with_completions()).await;
    assert_eq!(seqs(&all), vec![3, 2, 1]);
    assert_eq!(
        (all[0].kind, all[0].created_at),
        (EventKind::Completion, t2)
    );
    assert_eq!(all[0].event_group_id, None);
    assert!(all[0].event_id.starts_with(EVENT_PREFIX));
    assert_eq!(
        store
            .get_monitor(&t, &id)
            .await
            .unwrap()
            .unwrap()
            .last_run_at,
        Some(t2)
    );

    // A failure: an error event, always listed.
    let due = next_due(store).await;
    assert_slot(due, T0 + 2 * HOUR);
    let t3 = due.unwrap();
    claim_one(store, "w1", t3).await;
    let failed = Execution::Failed {
        message: "search backend unavailable".into(),
    };
    assert!(finish(store, "w1", &id, failed, t3).await);
    let listed = events(store, &t, &id, EventQuery::default()).await;
    assert_eq!(seqs(&listed), vec![4, 2, 1]);
    assert_eq!(
        (listed[0].kind, listed[0].created_at),
        (EventKind::Error, t3)
    );
    assert_eq!(
        listed[0].document,
        json!({"error_message": "search backend unavailable"})
    );
    assert_eq!(listed[0].event_group_id, None);
    assert_eq!(
        seqs(&events(store, &t, &id, with_completions()).await),
        vec![4, 3, 2, 1]
    );

    // Pages, newest first, each after the previous one's last position.
    let page = |before: Option<i64>, include_completions: bool| EventQuery {
        before,
        limit: Some(2),
        include_completions,
        ..EventQuery::default()
    };
    assert_eq!(
        seqs(&events(store, &t, &id, page(None, false)).await),
        vec![4, 2]
    );
    assert_eq!(
        seqs(&events(store, &t, &id, page(Some(2), false)).await),
        vec![1]
    );
    assert!(events(store, &t, &id, page(Some(1), false))
        .await
        .is_empty());
    assert_eq!(
        seqs(&events(store, &t, &id, page(None, true)).await),
        vec![4, 3]
    );
    assert_eq!(
        seqs(&events(store, &t, &id, page(Some(3), true)).await),
        vec![2, 1]
    );
    // One group: exactly its events, whatever the page.
    let of_group = |group: &str| EventQuery {
        group: Some(group.to_owned()),
        before: Some(1),
        limit: Some(1),
        include_completions: true,
        ..EventQuery::default()
    };
    assert_eq!(events(store, &t, &id, of_group(&group)).await, found);
    assert!(events(store, &t, &id, of_group("mevtgrp_none"))
        .await
        .is_empty());
    // The lookback: only events at or after a time.
    let since = EventQuery {
        since: Some(t2),
        include_completions: true,
        ..EventQuery::default()
    };
    assert_eq!(seqs(&events(store, &t, &id, since).await), vec![4, 3]);
}

pub async fn missed_slots_merge_into_one_execution(store: Arc<dyn Store>) {
    let store = &*store;
    let t = tenant(store).await;
    let id = create(store, &t, stream("1h"), T0).await;
    claim_one(store, "w1", T0).await;
    assert!(finish(store, "w1", &id, ran(Vec::new()), T0).await);
    assert_slot(next_due(store).await, T0 + HOUR);

    // No node ran for ten and a half hours: one execution now, not ten.
    let late = T0 + 10 * HOUR + 30 * MINUTE;
    let claimed = claim(store, "w1", late).await;
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    assert!(!claimed[0].first);
    assert!(claim(store, "w2", late).await.is_empty(), "held");
    assert!(finish(store, "w1", &id, ran(Vec::new()), late).await);
    assert_slot(next_due(store).await, T0 + 11 * HOUR);
    assert!(
        claim(store, "w2", late).await.is_empty(),
        "the missed slots are spent"
    );
    assert_eq!(
        seqs(&events(store, &t, &id, with_completions()).await),
        vec![2, 1]
    );
}

pub async fn a_dead_workers_execution_is_run_again(store: Arc<dyn Store>) {
    let store = &*store;
    let t = tenant(store).await;
    let id = create(store, &t, stream("1h"), T0).await;
    let cancelled = create(store, &t, stream("1h"), T0).await;
    let short = Duration::from_secs(1);
    let held = store
        .claim_monitors(Lease::new("a", short), T0, 10)
        .await
        .unwrap();
    let mut ids: Vec<&str> = held.iter().map(|c| c.monitor_id.as_str()).collect();
    ids.sort();
    let mut want = vec![id.as_str(), cancelled.as_str()];
    want.sort();
    assert_eq!(ids, want);
    assert!(held.iter().all(|c| c.first && c.attempt == 1));
    // Cancelled while `a` holds it: never claimed again, even once the lease expired.
    assert!(store
        .cancel_monitor(&t, &cancelled)
        .await
        .unwrap()
        .is_some());

    // Held: never run twice at once.
    assert!(claim(store, "b", T0).await.is_empty());
    assert!(claim(store, "b", T0 + 30 * MINUTE).await.is_empty());

    tokio::time::sleep(Duration::from_millis(1200)).await;
    // `a` died: `b` runs the same execution again, at a clock before the next slot.
    let again = claim_one(store, "b", T0 + 30 * MINUTE).await;
    assert_eq!(again.monitor_id, id);
    assert_eq!(again.attempt, 2, "the second claim of this execution");
    assert!(again.first, "still the first execution");
    assert!(claim(store, "c", T0 + 30 * MINUTE).await.is_empty());

    // `a` comes back: it holds nothing, and what it found is dropped.
    assert_eq!(
        store
            .heartbeat_monitors(Lease::new("a", TTL), std::slice::from_ref(&id))
            .await
            .unwrap(),
        vec![id.clone()]
    );
    let late = ran(vec![json!({"output": {"content": "from a"}})]);
    assert!(!finish(store, "a", &id, late, T0 + 31 * MINUTE).await);
    assert!(events(store, &t, &id, with_completions()).await.is_empty());
    assert_eq!(
        store
            .get_monitor(&t, &id)
            .await
            .unwrap()
            .unwrap()
            .last_run_at,
        None
    );

    let found = ran(vec![json!({"output": {"content": "from b"}})]);
    assert!(finish(store, "b", &id, found, T0 + 32 * MINUTE).await);
    let listed = events(store, &t, &id, with_completions()).await;
    assert_eq!(seqs(&listed), vec![1]);
    assert_eq!(listed[0].document, json!({"output": {"content": "from b"}}));
    // The schedule was moved once, by the first claim: the next slot is still the first.
    assert_slot(next_due(store).await, T0 + HOUR);
    assert!(claim(store, "c", T0 + 59 * MINUTE).await.is_empty());
    let next = claim_one(store, "c", T0 + HOUR + JITTER).await;
    assert_eq!(
        (next.monitor_id.as_str(), next.first, next.attempt),
        (id.as_str(), false, 1)
    );
}

pub async fn triggers_cancellation_and_updates(store: Arc<dyn Store>) {
    let store = &*store;
    let t = tenant(store).await;
    let id = create(store, &t, stream("1d"), T0).await;
    claim_one(store, "w", T0).await;
    assert!(finish(store, "w", &id, ran(Vec::new()), T0).await);
    let due = next_due(store).await;
    assert_slot(due, T0 + DAY);
    let due = due.unwrap();

    // A trigger runs it now and leaves the schedule.
    let clock = T0 + HOUR;
    assert!(claim(store, "w", clock).await.is_empty());
    assert_eq!(trigger(store, &t, &id).await, Requested::Done);
    assert_eq!(next_due(store).await, Some(i64::MIN), "a trigger waits");
    let triggered = claim_one(store, "w", clock).await;
    assert_eq!((triggered.first, triggered.attempt), (false, 1));
    assert_eq!(next_due(store).await, None, "held");
    assert!(finish(store, "w", &id, ran(Vec::new()), clock).await);
    assert_eq!(next_due(store).await, Some(due), "the schedule stayed");
    assert!(
        claim(store, "w", clock).await.is_empty(),
        "the trigger is spent"
    );

    // A new frequency is planned from the anchor: 1d → 1h, next slot after T0 + 90 min.
    let clock = T0 + 90 * MINUTE;
    let UpdateOutcome::Updated(view) =
        update(store, &t, &id, json!({"frequency": "1h"}), clock).await
    else {
        panic!("the update is refused");
    };
    assert_eq!(
        (view.config.frequency.as_str(), view.config.period_secs),
        ("1h", 3600)
    );
    assert_eq!(view.status, MonitorStatus::Active);
    let stored = store.get_monitor(&t, &id).await.unwrap().unwrap();
    assert_eq!(stored.config, view.config);
    assert_eq!(stored.last_run_at, Some(T0 + HOUR));
    let due = next_due(store).await;
    assert_slot(due, T0 + 2 * HOUR);
    let due = due.unwrap();

    // Cancelled while an execution runs: the worker learns it, and its results are dropped.
    claim_one(store, "w", due).await;
    let view = store.cancel_monitor(&t, &id).await.unwrap().unwrap();
    assert_eq!(
        (view.monitor_id.as_str(), view.status),
        (id.as_str(), MonitorStatus::Cancelled)
    );
    let again = store.cancel_monitor(&t, &id).await.unwrap().unwrap();
    assert_eq!(
        again.status,
        MonitorStatus::Cancelled,
        "cancelling twice is fine"
    );
    assert_eq!(
        store
            .heartbeat_monitors(Lease::new("w", TTL), std::slice::from_ref(&id))
            .await
            .unwrap(),
        vec![id.clone()]
    );
    let before = events(store, &t, &id, with_completions()).await;
    assert_eq!(seqs(&before), vec![2, 1]);
    let found = ran(vec![json!({"output": {"content": "too late"}})]);
    assert!(!finish(store, "w", &id, found, due).await);
    assert_eq!(events(store, &t, &id, with_completions()).await, before);
    let stored = store.get_monitor(&t, &id).await.unwrap().unwrap();
    assert_eq!(stored.status, MonitorStatus::Cancelled);
    assert_eq!(stored.last_run_at, Some(T0 + HOUR));

    // A cancelled monitor: no trigger, no change but its metadata, never claimed.
    assert_eq!(trigger(store, &t, &id).await, Requested::Cancelled);
    let refused = update(store, &t, &id, json!({"frequency": "2h"}), due).await;
    assert!(matches!(refused, UpdateOutcome::Cancelled), "{refused:?}");
    let refused = update(store, &t, &id, json!({"webhook": null}), due).await;
    assert!(matches!(refused, UpdateOutcome::Cancelled), "{refused:?}");
    let UpdateOutcome::Updated(view) =
        update(store, &t, &id, json!({"metadata": {"team": "b"}}), due).await
    else {
        panic!("a metadata update of a cancelled monitor is refused");
    };
    assert_eq!(view.status, MonitorStatus::Cancelled);
    assert_eq!(
        view.config.metadata,
        json!({"team": "b"}).as_object().cloned()
    );
    let stored = store.get_monitor(&t, &id).await.unwrap().unwrap();
    assert_eq!(stored.config.metadata, view.config.metadata);
    assert_eq!(stored.config.frequency, "1h");
    assert_eq!(next_due(store).await, None);
    assert!(claim(store, "w", T0 + 100 * DAY).await.is_empty());
    assert_eq!(events(store, &t, &id, with_completions()).await, before);
}

pub async fn a_frequency_update_keeps_a_due_execution(store: Arc<dyn Store>) {
    let store = &*store;
    let t = tenant(store).await;
    // Never run yet: its first execution is due at creation, and stays due.
    let id = create(store, &t, stream("1d"), T0).await;
    let clock = T0 + 10 * MINUTE;
    let outcome = update(store, &t, &id, json!({"frequency": "1h"}), clock).await;
    assert!(matches!(outcome, UpdateOutcome::Updated(_)), "{outcome:?}");
    assert_eq!(next_due(store).await, Some(T0));
    let first = claim_one(store, "w", clock).await;
    assert_eq!(
        (first.monitor_id.as_str(), first.first),
        (id.as_str(), true)
    );
    assert_eq!(first.config.period_secs, 3600);
    assert!(finish(store, "w", &id, ran(Vec::new()), clock).await);
    assert_slot(next_due(store).await, T0 + HOUR);

    // Overdue and not yet claimed (the scheduler is behind): still due after the update.
    let late = T0 + HOUR + 30 * MINUTE;
    let outcome = update(store, &t, &id, json!({"frequency": "2h"}), late).await;
    assert!(matches!(outcome, UpdateOutcome::Updated(_)), "{outcome:?}");
    let due = next_due(store).await.unwrap();
    assert!(due <= late, "the due execution was dropped");
    claim_one(store, "w", late).await;
    assert!(finish(store, "w", &id, ran(Vec::new()), late).await);
    // And the next slot is planned with the new period.
    assert_slot(next_due(store).await, T0 + 2 * HOUR);
}

pub async fn what_executions_saw_is_kept_once(store: Arc<dyn Store>) {
    let store = &*store;
    let t = tenant(store).await;
    let id = create(store, &t, stream("1h"), T0).await;
    assert!(claim_one(store, "w", T0).await.seen.is_empty());
    let first = Execution::Ran {
        events: Vec::new(),
        observed: seen(&[("a", "A1"), ("b", "B1"), ("a", "A again")]),
        snapshot: None,
    };
    assert!(finish(store, "w", &id, first, T0).await);

    let due = next_due(store).await.unwrap();
    let claimed = claim_one(store, "w", due).await;
    assert_eq!(claimed.seen, vec!["A1", "B1"]);
    let second = Execution::Ran {
        events: vec![json!({"output": {"content": "C"}})],
        observed: seen(&[("c", "C1"), ("b", "B2")]),
        snapshot: None,
    };
    assert!(finish(store, "w", &id, second, due).await);

    // A failure forgets nothing.
    let due = next_due(store).await.unwrap();
    assert_eq!(
        claim_one(store, "w", due).await.seen,
        vec!["A1", "B1", "C1"]
    );
    let failed = Execution::Failed {
        message: "x".into(),
    };
    assert!(finish(store, "w", &id, failed, due).await);
    let due = next_due(store).await.unwrap();
    assert_eq!(
        claim_one(store, "w", due).await.seen,
        vec!["A1", "B1", "C1"]
    );
}

/// Only the keys seen most recently are kept: one seen again stays however old, the
/// stalest goes.
pub async fn seen_keys_are_bounded_by_recency(store: Arc<dyn Store>) {
    let store = &*store;
    let t = tenant(store).await;
    let id = create(store, &t, stream("1h"), T0).await;
    let run = |observed: Vec<SeenEntry>| Execution::Ran {
        events: Vec::new(),
        observed,
        snapshot: None,
    };
    // The oldest key first, then enough others to fill the memory.
    claim_one(store, "w", T0).await;
    assert!(finish(store, "w", &id, run(seen(&[("a00000", "A00000")])), T0).await);
    let due = next_due(store).await.unwrap();
    claim_one(store, "w", due).await;
    let others: Vec<SeenEntry> = (1..SEEN_KEPT)
        .map(|i| SeenEntry {
            key: format!("a{i:05}"),
            data: format!("A{i:05}"),
        })
        .collect();
    assert!(finish(store, "w", &id, run(others), due).await);
    let due = next_due(store).await.unwrap();
    assert_eq!(
        claim_one(store, "w", due).await.seen.len() as i64,
        SEEN_KEPT
    );
    // The oldest seen again, and one new: one key too many, and the one to go is the
    // stalest now (of those last seen in the second execution, the last by key), not the
    // oldest.
    let third = run(seen(&[("a00000", "ignored"), ("b", "B")]));
    assert!(finish(store, "w", &id, third, due).await);
    let due = next_due(store).await.unwrap();
    let kept = claim_one(store, "w", due).await.seen;
    assert_eq!(kept.len() as i64, SEEN_KEPT);
    assert!(kept.iter().any(|d| d == "A00000"), "a key seen again stays");
    assert!(kept.iter().any(|d| d == "B"));
    let stalest = format!("A{:05}", SEEN_KEPT - 1);
    assert!(!kept.contains(&stalest), "{stalest} was kept");
}

pub async fn a_snapshot_compares_with_its_latest_output(store: Arc<dyn Store>) {
    let store = &*store;
    let t = tenant(store).await;
    let body = json!({
        "type": "snapshot",
        "frequency": "1d",
        "settings": {"task_run_id": "trun_quillmere"},
    });
    let new = parse_create(body.to_string().as_bytes()).unwrap();
    assert_eq!(new.snapshot_of.as_deref(), Some("trun_quillmere"));
    let request = json!({
        "processor": "base",
        "input": "Who runs Oak Dental in Quillmere?",
        "task_spec": {"output_schema": {"type": "json", "json_schema": {
            "type": "object",
            "properties": {"owner": {"type": "string"}},
            "required": ["owner"],
            "additionalProperties": false,
        }}},
    });
    let mut config = new.config;
    config.settings = snapshot_settings("trun_quillmere", &request);
    let baseline = json!({"content": {"owner": "Ada Oak"}});
    let id = create_with(
        store,
        &t,
        config.clone(),
        Some(SnapshotBaseline {
            request: request.clone(),
            output: baseline.clone(),
        }),
        T0,
    )
    .await;
    assert_eq!(
        store
            .get_monitor(&t, &id)
            .await
            .unwrap()
            .unwrap()
            .latest_snapshot,
        None
    );

    let claimed = claim_one(store, "w", T0).await;
    assert_eq!(claimed.config, config);
    let snapshot = claimed.snapshot.expect("a snapshot monitor has a baseline");
    assert_eq!(
        (snapshot.request, snapshot.output),
        (request.clone(), baseline.clone())
    );

    let now = json!({"content": {"owner": "Bo Elm"}});
    let change = json!({
        "event_date": "2024-05-03",
        "changed_output": now,
        "previous_output": baseline,
    });
    let execution = Execution::Ran {
        events: vec![change.clone()],
        observed: Vec::new(),
        snapshot: Some(now.clone()),
    };
    assert!(finish(store, "w", &id, execution, T0 + MINUTE).await);
    let listed = events(store, &t, &id, EventQuery::default()).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].kind, &listed[0].document),
        (EventKind::Snapshot, &change)
    );
    let view = store.get_monitor(&t, &id).await.unwrap().unwrap();
    assert_eq!(view.latest_snapshot.as_ref(), Some(&now));

    let due = next_due(store).await;
    assert_slot(due, T0 + DAY);
    let claimed = claim_one(store, "w", due.unwrap()).await;
    let snapshot = claimed.snapshot.unwrap();
    assert_eq!(
        (snapshot.request, snapshot.output),
        (request.clone(), now.clone())
    );
    // An execution without an output (it found no change) keeps the baseline.
    assert!(finish(store, "w", &id, ran(Vec::new()), due.unwrap()).await);
    let due = next_due(store).await.unwrap();
    assert_eq!(
        claim_one(store, "w", due).await.snapshot.unwrap().output,
        now
    );
    assert_eq!(
        store
            .get_monitor(&t, &id)
            .await
            .unwrap()
            .unwrap()
            .latest_snapshot,
        Some(now)
    );
}

pub async fn listing_newest_first_and_by_id(store: Arc<dyn Store>) {
    let store = &*store;
    let (t, other) = (tenant(store).await, tenant(store).await);
    let snapshot_body = json!({
        "type": "snapshot",
        "frequency": "1d",
        "settings": {"task_run_id": "trun_x"},
    });
    let mut snapshot_config = parse_create(snapshot_body.to_string().as_bytes())
        .unwrap()
        .config;
    snapshot_config.settings = snapshot_settings("trun_x", &json!({"input": "x"}));
    let m1 = create(store, &t, stream("1h"), T0).await;
    let m2 = create_with(store, &t, snapshot_config, None, T0 + SECOND).await;
    let m3 = create(store, &t, stream("1h"), T0 + 2 * SECOND).await;
    // Two made at the same instant: the larger id first.
    let m4 = create(store, &t, stream("1d"), T0 + 3 * SECOND).await;
    let m5 = create(store, &t, stream("1d"), T0 + 3 * SECOND).await;
    create(store, &other, stream("1h"), T0 + 4 * SECOND).await;
    store.cancel_monitor(&t, &m3).await.unwrap().unwrap();
    let (newer, older) = if m4 > m5 {
        (m4.as_str(), m5.as_str())
    } else {
        (m5.as_str(), m4.as_str())
    };
    let (m1, m2, m3) = (m1.as_str(), m2.as_str(), m3.as_str());

    let everything = vec![newer, older, m3, m2, m1];
    assert_eq!(list(store, &t, &BOTH, &[], None, 100).await, everything);
    // Page by page, each after the previous page's last.
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = list(store, &t, &BOTH, &[], after.as_deref(), 2).await;
        assert!(page.len() <= 2);
        if page.is_empty() {
            break;
        }
        after = page.last().cloned();
        paged.extend(page);
    }
    assert_eq!(paged, everything);
    assert_eq!(
        list(store, &t, &BOTH, &[], Some(older), 2).await,
        vec![m3, m2]
    );
    let active = [MonitorStatus::Active];
    assert_eq!(
        list(store, &t, &active, &[], None, 100).await,
        vec![newer, older, m2, m1]
    );
    assert_eq!(
        list(store, &t, &[MonitorStatus::Cancelled], &[], None, 100).await,
        vec![m3]
    );
    assert_eq!(
        list(store, &t, &BOTH, &[MonitorKind::Snapshot], None, 100).await,
        vec![m2]
    );
    assert_eq!(
        list(store, &t, &active, &[MonitorKind::EventStream], None, 100).await,
        vec![newer, older, m1]
    );
    let both_kinds = [MonitorKind::EventStream, MonitorKind::Snapshot];
    assert_eq!(
        list(store, &t, &BOTH, &both_kinds, None, 100).await,
        everything
    );

    // The spec's list: by id, after an id.
    let mut by_id = vec![m1, m2, m3, newer, older];
    by_id.sort();
    assert_eq!(list_by_id(store, &t, None, None).await, by_id);
    assert_eq!(
        list_by_id(store, &t, Some(by_id[1]), Some(2)).await,
        by_id[2..4]
    );
    assert_eq!(
        list_by_id(store, &t, Some(by_id[3]), None).await,
        by_id[4..]
    );
    assert!(list_by_id(store, &t, Some(by_id[4]), Some(10))
        .await
        .is_empty());
}

pub async fn another_tenant_sees_nothing(store: Arc<dyn Store>) {
    let store = &*store;
    let (t, other) = (tenant(store).await, tenant(store).await);
    let id = create(store, &t, stream("1h"), T0).await;
    claim_one(store, "w", T0).await;
    let doc = json!({"output": {"content": "A"}});
    assert!(finish(store, "w", &id, ran(vec![doc]), T0).await);

    assert!(store.get_monitor(&other, &id).await.unwrap().is_none());
    assert!(store
        .monitor_events(&other, &id, with_completions())
        .await
        .unwrap()
        .is_none());
    assert!(store.cancel_monitor(&other, &id).await.unwrap().is_none());
    let outcome = update(store, &other, &id, json!({"metadata": {"k": "v"}}), T0).await;
    assert!(matches!(outcome, UpdateOutcome::NotFound), "{outcome:?}");
    let outcome = update(store, &other, &id, json!({"frequency": "2h"}), T0).await;
    assert!(matches!(outcome, UpdateOutcome::NotFound), "{outcome:?}");
    assert_eq!(trigger(store, &other, &id).await, Requested::NotFound);
    assert_eq!(
        simulate(store, &other, &id, EVENT_DETECTED, T0).await,
        Requested::NotFound
    );
    assert!(list(store, &other, &BOTH, &[], None, 100).await.is_empty());
    assert!(list_by_id(store, &other, None, None).await.is_empty());

    // And none of it touched the monitor.
    let view = store.get_monitor(&t, &id).await.unwrap().unwrap();
    assert_eq!(view.status, MonitorStatus::Active);
    assert_eq!(view.config, config_of(&stream("1h")));
    assert_slot(next_due(store).await, T0 + HOUR);
    assert!(
        claim(store, "w", T0 + MINUTE).await.is_empty(),
        "not triggered"
    );
    assert_eq!(list(store, &t, &BOTH, &[], None, 100).await, vec![id]);
}

pub async fn webhooks_get_what_they_asked_for(store: Arc<dyn Store>) {
    let store = &*store;
    let t = tenant(store).await;
    let mut body = stream("1h");
    body["metadata"] = json!({"team": "ops"});
    body["webhook"] = json!({
        "url": "https://hooks.example.com/m",
        "event_types": [EVENT_DETECTED],
    });
    let id = create(store, &t, body, T0).await;
    let deliveries = || async move {
        store
            .claim_deliveries(Lease::new("d", TTL), 10)
            .await
            .unwrap()
    };

    // A completion: not asked for.
    claim_one(store, "w", T0).await;
    assert!(finish(store, "w", &id, ran(Vec::new()), T0).await);
    assert!(deliveries().await.is_empty());

    // A detection: one delivery, naming the execution's group.
    let due = next_due(store).await.unwrap();
    claim_one(store, "w", due).await;
    let docs = vec![
        json!({"output": {"content": "A"}}),
        json!({"output": {"content": "B"}}),
    ];
    assert!(finish(store, "w", &id, ran(docs), due).await);
    let group = events(store, &t, &id, EventQuery::default()).await[0]
        .event_group_id
        .clone()
        .unwrap();
    let sent = deliveries().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        (sent[0].url.as_str(), sent[0].tenant.as_str()),
        ("https://hooks.example.com/m", t.as_str())
    );
    let sent_body: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(
        sent_body,
        json!({
            "type": EVENT_DETECTED,
            "timestamp": rfc3339(due),
            "data": {
                "monitor_id": id,
                "event": {"event_group_id": group},
                "metadata": {"team": "ops"},
            },
        })
    );

    // A failure: not asked for either.
    let due = next_due(store).await.unwrap();
    claim_one(store, "w", due).await;
    let failed = Execution::Failed {
        message: "down".into(),
    };
    assert!(finish(store, "w", &id, failed, due).await);
    assert!(deliveries().await.is_empty());

    // A webhook without event types gets completions too.
    let mut body = stream("1h");
    body["webhook"] = json!({"url": "https://hooks.example.com/all"});
    let every = create(store, &t, body, due).await;
    claim_one(store, "w", due).await;
    assert!(finish(store, "w", &every, ran(Vec::new()), due).await);
    let sent = deliveries().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let sent_body: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(sent_body["type"], EXECUTION_COMPLETED);
    assert_eq!(sent_body["data"]["monitor_id"], every.as_str());
    assert_eq!(sent_body["data"]["event"]["event_type"], "completion");
    assert_eq!(sent_body["data"]["metadata"], Value::Null);

    // A simulated event: a test delivery, whatever the webhook's types.
    assert_eq!(
        simulate(store, &t, &id, EVENT_DETECTED, due).await,
        Requested::Done
    );
    let sent = deliveries().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let sent_body: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(sent_body["type"], EVENT_DETECTED);
    assert_eq!(sent_body["data"]["monitor_id"], id.as_str());
    assert_eq!(sent_body["data"]["metadata"], json!({"team": "ops"}));
    let simulated = sent_body["data"]["event"]["event_group_id"]
        .as_str()
        .unwrap();
    assert!(simulated.starts_with(EVENT_GROUP_PREFIX), "{simulated}");
    assert_ne!(simulated, group);
    // Its group holds one made-up event, shown only when that group is asked for.
    let listed = events(store, &t, &id, with_completions()).await;
    assert!(
        listed.iter().all(|e| e.kind != EventKind::Simulated),
        "{listed:?}"
    );
    let in_group = events(
        store,
        &t,
        &id,
        EventQuery {
            group: Some(simulated.to_owned()),
            ..EventQuery::default()
        },
    )
    .await;
    assert_eq!(in_group.len(), 1, "{in_group:?}");
    assert_eq!(in_group[0].kind, EventKind::Simulated);

    let quiet = create(store, &t, stream("1h"), due).await;
    assert_eq!(
        simulate(store, &t, &quiet, EVENT_DETECTED, due).await,
        Requested::NoWebhook
    );
    assert!(deliveries().await.is_empty());
}

pub async fn a_release_gives_the_execution_back_at_once(store: Arc<dyn Store>) {
    let store = &*store;
    let t = tenant(store).await;
    let id = create(store, &t, stream("1h"), T0).await;
    claim_one(store, "w1", T0).await;
    let ids = std::slice::from_ref(&id);
    assert!(
        store.release_monitors("w2", ids).await.unwrap().is_empty(),
        "not w2's"
    );
    assert_eq!(
        store.release_monitors("w1", ids).await.unwrap(),
        vec![id.clone()]
    );
    assert!(
        store.release_monitors("w1", ids).await.unwrap().is_empty(),
        "given back already"
    );
    assert_eq!(next_due(store).await, Some(i64::MIN), "run again at once");
    let again = claim_one(store, "w2", T0).await;
    assert_eq!(
        (again.monitor_id.as_str(), again.first),
        (id.as_str(), true)
    );
    assert!(finish(store, "w2", &id, ran(Vec::new()), T0).await);
    assert_slot(next_due(store).await, T0 + HOUR);
    assert!(claim(store, "w1", T0 + MINUTE).await.is_empty());
}

macro_rules! suite {
    ($module:ident, $backend:ident) => {
        mod $module {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn an_execution_from_claim_to_events() {
                super::an_execution_from_claim_to_events(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn missed_slots_merge_into_one_execution() {
                super::missed_slots_merge_into_one_execution(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_dead_workers_execution_is_run_again() {
                super::a_dead_workers_execution_is_run_again(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn triggers_cancellation_and_updates() {
                super::triggers_cancellation_and_updates(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_frequency_update_keeps_a_due_execution() {
                super::a_frequency_update_keeps_a_due_execution(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn what_executions_saw_is_kept_once() {
                super::what_executions_saw_is_kept_once(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn seen_keys_are_bounded_by_recency() {
                super::seen_keys_are_bounded_by_recency(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_snapshot_compares_with_its_latest_output() {
                super::a_snapshot_compares_with_its_latest_output(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn listing_newest_first_and_by_id() {
                super::listing_newest_first_and_by_id(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn another_tenant_sees_nothing() {
                super::another_tenant_sees_nothing(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn webhooks_get_what_they_asked_for() {
                super::webhooks_get_what_they_asked_for(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_release_gives_the_execution_back_at_once() {
                super::a_release_gives_the_execution_back_at_once(backends::$backend().await).await
            }
        }
    };
}

suite!(sqlite, sqlite);
suite!(needs_postgres, postgres);

/// A monitor whose stored settings cannot be read (written by another version, or damaged)
/// does not stop the claims of the others: its slot passes with an error event saying why.
/// The logic is the same on both backends; SQLite lets the test damage the row directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_unreadable_monitor_does_not_stop_the_others() {
    let dir = std::env::temp_dir().join(format!(
        "parallax-monitor-unreadable-{}",
        uuid::Uuid::new_v4()
    ));
    let store: Arc<dyn Store> = Arc::new(parallax_store::sqlite::SqliteStore::open(&dir).unwrap());
    let store = &*store;
    let t = tenant(store).await;
    let damaged = create(store, &t, stream("1h"), T0).await;
    let sound = create(store, &t, stream("1h"), T0).await;
    let conn = rusqlite::Connection::open(dir.join("parallax.db")).unwrap();
    conn.execute(
        "UPDATE monitors SET config = '{\"type\": 1}' WHERE monitor_id = ?1",
        [&damaged],
    )
    .unwrap();
    drop(conn);

    let claimed = store
        .claim_monitors(Lease::new("w", Duration::from_secs(30)), T0, 4)
        .await
        .unwrap();
    let ids: Vec<&str> = claimed.iter().map(|c| c.monitor_id.as_str()).collect();
    assert_eq!(ids, vec![sound.as_str()]);
    let log = events(store, &t, &damaged, with_completions()).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].kind, EventKind::Error);
    let message = log[0].document["error_message"].as_str().unwrap();
    assert!(message.contains("cannot be read"), "{message}");
    // Its slot passed: not claimed again until the next one.
    let again = store
        .claim_monitors(Lease::new("w2", Duration::from_secs(30)), T0, 4)
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
}
