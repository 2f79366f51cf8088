//! One behaviour suite for every backend: SQLite on a temporary file, PostgreSQL on a fresh
//! schema of the test database (`PARALLAX_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`). An unreachable PostgreSQL fails the PostgreSQL
//! half; `cargo test -- --skip needs_postgres` skips it (see `backends::test_database`).

use parallax_api::error::ErrorObject;
use parallax_api::{ids, time::now_micros, RunStatus};
use parallax_store::{
    CreateOutcome, DeliveryAttempt, DeliveryOutcome, GroupRunsQuery, GroupToCreate, Idempotency,
    Lease, Notice, Page, RunOutcome, RunToCreate, RunsToAdd, Store,
};
use std::sync::Arc;
use std::time::Duration;

mod backends;

fn new_run(processor: &str) -> RunToCreate {
    let run_id = ids::new_run_id();
    RunToCreate {
        idempotency: None,
        betas: None,
        input_doc: format!(r#"{{"processor":"{processor}","input":"{run_id}"}}"#),
        run_id,
        processor: processor.into(),
        metadata: Some(r#"{"k":1.0}"#.into()),
        enable_events: true,
        previous_interaction_id: None,
        created_at: now_micros(),
        webhook_url: None,
        warnings: None,
    }
}

async fn tenant(store: &dyn Store) -> String {
    let mut hash = [0u8; 32];
    hash[..16].copy_from_slice(&uuid::Uuid::new_v4().into_bytes());
    store.create_tenant_with_key(hash, "test").await.unwrap()
}

fn created(outcome: CreateOutcome) -> parallax_api::TaskRun {
    match outcome {
        CreateOutcome::Created(run) => run,
        other => panic!("expected a created run, got {other:?}"),
    }
}

/// Claims until `run_id` is among the claimed runs (other suites' runs may share the queue).
async fn claim_until(store: &dyn Store, worker: &str, run_id: &str) -> parallax_store::ClaimedRun {
    for _ in 0..200 {
        let claimed = store
            .claim_runs(Lease::new(worker, Duration::from_secs(30)), 64)
            .await
            .unwrap();
        if let Some(run) = claimed.into_iter().find(|c| c.run_id == run_id) {
            return run;
        }
    }
    panic!("run {run_id} was never claimed");
}

pub async fn keys_and_tenants(store: Arc<dyn Store>) {
    let hash = [7u8; 32];
    let mut unique = hash;
    unique[..16].copy_from_slice(&uuid::Uuid::new_v4().into_bytes());
    let a = store.ensure_key(unique, "a").await.unwrap();
    let again = store.ensure_key(unique, "a").await.unwrap();
    assert_eq!(a, again, "ensure_key is idempotent");
    let keys = store.api_keys().await.unwrap();
    assert!(keys.contains(&(unique, a.clone())));
}

pub async fn one_key_is_looked_up_alone(store: Arc<dyn Store>) {
    let mut hash = [9u8; 32];
    hash[..16].copy_from_slice(&uuid::Uuid::new_v4().into_bytes());
    assert_eq!(store.api_key_tenant(hash).await.unwrap(), None);
    let tenant = store.create_tenant_with_key(hash, "lookup").await.unwrap();
    assert_eq!(store.api_key_tenant(hash).await.unwrap(), Some(tenant));
    let mut other = hash;
    other[31] ^= 1;
    assert_eq!(store.api_key_tenant(other).await.unwrap(), None);
    assert!(store.health().is_ok(), "{:?}", store.health());
}

pub async fn create_read_and_isolate(store: Arc<dyn Store>) {
    let (t1, t2) = (tenant(&*store).await, tenant(&*store).await);
    let run = new_run("core");
    let doc = run.input_doc.clone();
    let task_run = created(store.create_run(&t1, run).await.unwrap());
    assert_eq!(task_run.status, RunStatus::Queued);

    let got = store.get_run(&t1, &task_run.run_id).await.unwrap().unwrap();
    assert_eq!(got.metadata.as_ref().unwrap().get(), r#"{"k":1.0}"#);
    assert_eq!(got.created_at, task_run.created_at);
    assert_eq!(
        store.get_input(&t1, &task_run.run_id).await.unwrap(),
        Some(doc)
    );
    let (run, output) = store
        .get_result(&t1, &task_run.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((run.status, output), (RunStatus::Queued, None));

    // Another tenant sees nothing of it.
    assert!(store
        .get_run(&t2, &task_run.run_id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .get_input(&t2, &task_run.run_id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .get_result(&t2, &task_run.run_id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .events_after(
            &t2,
            Page {
                of: &task_run.run_id,
                after: 0,
                limit: 100
            }
        )
        .await
        .unwrap()
        .is_empty());

    let events = store
        .events_after(
            &t1,
            Page {
                of: &task_run.run_id,
                after: 0,
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert!(events[0].data.contains(r#""type":"task_run.state""#));
    assert!(events[0].data.contains(r#""status":"queued""#));
}

pub async fn idempotency(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let idem = |hash: u8| Idempotency {
        key: "retry-1".into(),
        body_hash: [hash; 32],
    };
    let first = created(
        store
            .create_run(
                &t,
                RunToCreate {
                    idempotency: Some(idem(1)),
                    ..new_run("core")
                },
            )
            .await
            .unwrap(),
    );
    match store
        .create_run(
            &t,
            RunToCreate {
                idempotency: Some(idem(1)),
                ..new_run("core")
            },
        )
        .await
        .unwrap()
    {
        CreateOutcome::Replayed(response) => {
            assert!(response.contains(&first.run_id), "{response}");
        }
        other => panic!("expected a replay, got {other:?}"),
    }
    assert!(matches!(
        store
            .create_run(
                &t,
                RunToCreate {
                    idempotency: Some(idem(2)),
                    ..new_run("core")
                }
            )
            .await
            .unwrap(),
        CreateOutcome::KeyConflict
    ));
    // The same key in another tenant is another key.
    let other = tenant(&*store).await;
    created(
        store
            .create_run(
                &other,
                RunToCreate {
                    idempotency: Some(idem(2)),
                    ..new_run("core")
                },
            )
            .await
            .unwrap(),
    );
}

/// The metrics scrape's count of queued and running runs, by processor: it follows claims and
/// endings, and leaves out what has ended.
pub async fn active_runs_are_counted_by_processor_and_state(store: Arc<dyn Store>) {
    let count = |all: &[parallax_store::ActiveRuns], processor: &str, status: RunStatus| {
        let found: Vec<i64> = all
            .iter()
            .filter(|a| a.processor == processor && a.status == status)
            .map(|a| a.count)
            .collect();
        assert!(found.len() <= 1, "one row per processor and state: {all:?}");
        found.first().copied().unwrap_or(0)
    };
    assert_eq!(store.active_runs().await.unwrap(), vec![]);
    let t = tenant(&*store).await;
    for processor in ["lite", "lite", "core"] {
        created(store.create_run(&t, new_run(processor)).await.unwrap());
    }
    let all = store.active_runs().await.unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(count(&all, "lite", RunStatus::Queued), 2);
    assert_eq!(count(&all, "core", RunStatus::Queued), 1);

    let worker = format!("w-{}", ids::new_id(""));
    let claimed = store
        .claim_runs(Lease::new(&worker, Duration::from_secs(30)), 1)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let processor = claimed[0].processor.as_str();
    let all = store.active_runs().await.unwrap();
    assert_eq!(count(&all, processor, RunStatus::Running), 1, "{all:?}");
    let queued = count(&all, "lite", RunStatus::Queued) + count(&all, "core", RunStatus::Queued);
    assert_eq!(queued, 2, "{all:?}");

    assert!(store
        .finish_run(&worker, &claimed[0].run_id, RunOutcome::Cancelled)
        .await
        .unwrap());
    let all = store.active_runs().await.unwrap();
    assert_eq!(count(&all, processor, RunStatus::Running), 0, "{all:?}");
    assert!(all.iter().all(|a| a.status == RunStatus::Queued), "{all:?}");
    assert_eq!(all.iter().map(|a| a.count).sum::<i64>(), 2);
}

pub async fn lifecycle(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let mut notices = store.subscribe();
    // The create request's `parallel-beta` values reach the worker that claims the run.
    let betas = "mcp-server-2025-07-17,field-basis-2025-11-25";
    let with_betas = RunToCreate {
        betas: Some(betas.into()),
        ..new_run("lite")
    };
    let run = created(store.create_run(&t, with_betas).await.unwrap());
    let worker = format!("w-{}", ids::new_id(""));
    let claimed = claim_until(&*store, &worker, &run.run_id).await;
    assert_eq!(claimed.tenant, t);
    assert_eq!(claimed.attempt, 1);
    assert!(claimed.enable_events);
    assert_eq!(claimed.betas.as_deref(), Some(betas));
    assert_eq!(claimed.created_at, run.created_at);
    assert_eq!(
        store
            .get_run(&t, &run.run_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        RunStatus::Running
    );

    // Only the holder may write.
    assert_eq!(
        store
            .append_event("intruder", &run.run_id, r#"{"type":"x"}"#)
            .await
            .unwrap(),
        None
    );
    let seq = store
        .append_event(
            &worker,
            &run.run_id,
            r#"{"type":"task_run.progress_msg.plan","message":"p"}"#,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seq, 3, "queued, running, then this");
    assert_eq!(
        store
            .heartbeat(
                Lease::new(&worker, Duration::from_secs(30)),
                std::slice::from_ref(&run.run_id)
            )
            .await
            .unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        store
            .heartbeat(
                Lease::new("intruder", Duration::from_secs(30)),
                std::slice::from_ref(&run.run_id)
            )
            .await
            .unwrap(),
        vec![run.run_id.clone()]
    );
    assert!(!store
        .finish_run("intruder", &run.run_id, RunOutcome::Cancelled)
        .await
        .unwrap());
    let output = r#"{"type":"text","content":"done","basis":[]}"#.to_string();
    assert!(store
        .finish_run(
            &worker,
            &run.run_id,
            RunOutcome::Completed {
                output: output.clone(),
                warnings: None
            }
        )
        .await
        .unwrap());
    assert!(
        !store
            .finish_run(&worker, &run.run_id, RunOutcome::Cancelled)
            .await
            .unwrap(),
        "ends once"
    );
    let (done, stored) = store.get_result(&t, &run.run_id).await.unwrap().unwrap();
    assert_eq!(done.status, RunStatus::Completed);
    assert!(done.modified_at >= done.created_at);
    assert_eq!(stored, Some(output));

    let events = store
        .events_after(
            &t,
            Page {
                of: &run.run_id,
                after: 0,
                limit: 100,
            },
        )
        .await
        .unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert!(events[1].data.contains(r#""status":"running""#));
    assert!(events[3].data.contains(r#""status":"completed""#));
    assert_eq!(
        store
            .events_after(
                &t,
                Page {
                    of: &run.run_id,
                    after: 2,
                    limit: 100
                }
            )
            .await
            .unwrap(),
        events[2..].to_vec()
    );
    assert_eq!(
        store
            .events_after(
                &t,
                Page {
                    of: &run.run_id,
                    after: 0,
                    limit: 2
                }
            )
            .await
            .unwrap(),
        events[..2].to_vec()
    );

    // Every change was announced.
    let mut seen_run = 0;
    while let Ok(notice) = notices.try_recv() {
        if notice == Notice::Run(run.run_id.as_str().into()) {
            seen_run += 1;
        }
    }
    assert!(seen_run >= 4, "saw {seen_run} notices for the run");
}

pub async fn failure_and_release(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let worker = format!("w-{}", ids::new_id(""));
    let failing = created(store.create_run(&t, new_run("base")).await.unwrap());
    claim_until(&*store, &worker, &failing.run_id).await;
    let error = ErrorObject {
        ref_id: "r".into(),
        message: "the source was gone".into(),
        detail: None,
    };
    assert!(store
        .finish_run(
            &worker,
            &failing.run_id,
            RunOutcome::Failed {
                error: error.clone()
            }
        )
        .await
        .unwrap());
    let failed = store.get_run(&t, &failing.run_id).await.unwrap().unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(failed.error, Some(error));

    let released = created(store.create_run(&t, new_run("base")).await.unwrap());
    claim_until(&*store, &worker, &released.run_id).await;
    assert_eq!(
        store
            .release_runs(&worker, std::slice::from_ref(&released.run_id))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .get_run(&t, &released.run_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        RunStatus::Queued
    );
    let again = claim_until(&*store, &worker, &released.run_id).await;
    assert_eq!(again.attempt, 2);
}

pub async fn expired_leases_are_requeued(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let run = created(store.create_run(&t, new_run("base")).await.unwrap());
    let dead = format!("dead-{}", ids::new_id(""));
    let mut found = false;
    for _ in 0..200 {
        let claimed = store
            .claim_runs(Lease::new(&dead, Duration::from_millis(1)), 64)
            .await
            .unwrap();
        // Leave runs of other suites alone: give them back.
        let others: Vec<String> = claimed
            .iter()
            .filter(|c| c.run_id != run.run_id)
            .map(|c| c.run_id.clone())
            .collect();
        store.release_runs(&dead, &others).await.unwrap();
        if claimed.iter().any(|c| c.run_id == run.run_id) {
            found = true;
            break;
        }
    }
    assert!(found);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(store.requeue_expired().await.unwrap() >= 1);
    assert_eq!(
        store
            .get_run(&t, &run.run_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        RunStatus::Queued
    );
    // The dead worker can no longer touch it.
    assert!(!store
        .finish_run(&dead, &run.run_id, RunOutcome::Cancelled)
        .await
        .unwrap());
}

pub async fn concurrent_creates_all_commit(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (store, t) = (store.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            created(store.create_run(&t, new_run("core")).await.unwrap()).run_id
        }));
    }
    for task in tasks {
        let id = task.await.unwrap();
        assert!(store.get_run(&t, &id).await.unwrap().is_some());
    }
}

pub async fn claims_are_shared_fairly_among_tenants(store: Arc<dyn Store>) {
    let big = tenant(&*store).await;
    let small = tenant(&*store).await;
    let mut batch = Vec::new();
    for _ in 0..40 {
        batch.push(created(store.create_run(&big, new_run("base")).await.unwrap()).run_id);
    }
    let single = created(store.create_run(&small, new_run("base")).await.unwrap()).run_id;
    let lease = Duration::from_secs(30);

    // Two free slots: one for each tenant, though the big tenant's 40 runs are all older.
    let first = store.claim_runs(Lease::new("w1", lease), 2).await.unwrap();
    let ids: Vec<&str> = first.iter().map(|c| c.run_id.as_str()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&single.as_str()), "{ids:?}");
    assert!(
        ids.contains(&batch[0].as_str()),
        "oldest first within a tenant: {ids:?}"
    );
    let mine: Vec<&str> = first
        .iter()
        .filter(|c| c.tenant == small)
        .map(|c| c.run_id.as_str())
        .collect();
    assert_eq!(mine, vec![single.as_str()]);

    // The big tenant holds 1 slot and the small one 1; a new small run is queued while the
    // big tenant has 39 waiting: the next free slot goes to whoever has fewer in progress.
    let second = created(store.create_run(&small, new_run("base")).await.unwrap()).run_id;
    let next = store.claim_runs(Lease::new("w2", lease), 1).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(
        next[0].run_id, batch[1],
        "a tie goes to the oldest queued run"
    );
    let next = store.claim_runs(Lease::new("w2", lease), 1).await.unwrap();
    assert_eq!(
        next[0].run_id, second,
        "the small tenant now has fewer runs in progress"
    );

    // Alone in the queue, a tenant gets every slot, oldest first.
    let rest = store.claim_runs(Lease::new("w3", lease), 64).await.unwrap();
    let rest: Vec<String> = rest.into_iter().map(|c| c.run_id).collect();
    assert_eq!(rest, batch[2..].to_vec());
}

pub async fn webhook_deliveries_are_an_outbox(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let other = tenant(&*store).await;
    let secret = store.webhook_secret(&t).await.unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(store.webhook_secret(&t).await.unwrap(), secret, "stable");
    assert_ne!(store.webhook_secret(&other).await.unwrap(), secret);

    let lease = Duration::from_secs(30);
    let plain = created(store.create_run(&t, new_run("base")).await.unwrap());
    let hooked = RunToCreate {
        idempotency: None,
        webhook_url: Some("https://hooks.example.com/p".into()),
        ..new_run("base")
    };
    let hooked = created(store.create_run(&t, hooked).await.unwrap());
    let claimed = store.claim_runs(Lease::new("w", lease), 64).await.unwrap();
    assert_eq!(claimed.len(), 2);
    for run in [&plain, &hooked] {
        assert!(store
            .finish_run("w", &run.run_id, RunOutcome::Cancelled)
            .await
            .unwrap());
    }

    // One delivery, for the run with a webhook, written with its terminal state.
    let claimed = store
        .claim_deliveries(Lease::new("d1", lease), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    let d = &claimed[0];
    assert!(d.delivery_id.starts_with("whmsg_"));
    assert_eq!(
        (d.tenant.as_str(), d.url.as_str(), d.attempt),
        (t.as_str(), "https://hooks.example.com/p", 1)
    );
    assert_eq!(d.secret, secret);
    let body: serde_json::Value = serde_json::from_str(&d.body).unwrap();
    assert_eq!(body["type"], "task_run.status");
    assert_eq!(body["data"]["run_id"], hooked.run_id.as_str());
    assert_eq!(body["data"]["status"], "cancelled");
    assert_eq!(body["data"]["is_active"], false);

    // Leased: nobody else gets it meanwhile; another worker cannot record an outcome.
    assert!(store
        .claim_deliveries(Lease::new("d2", lease), 10)
        .await
        .unwrap()
        .is_empty());
    store
        .delivery_attempted(
            "d2",
            DeliveryAttempt {
                delivery_id: d.delivery_id.to_string(),
                outcome: DeliveryOutcome::Delivered,
            },
        )
        .await
        .unwrap();
    // A failed attempt comes back when due, same id, same body, the attempt counted.
    store
        .delivery_attempted(
            "d1",
            DeliveryAttempt {
                delivery_id: d.delivery_id.to_string(),
                outcome: DeliveryOutcome::Retry {
                    at: now_micros() - 1,
                    error: "HTTP 500".into(),
                },
            },
        )
        .await
        .unwrap();
    let again = store
        .claim_deliveries(Lease::new("d2", lease), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].delivery_id.as_str(), again[0].attempt),
        (d.delivery_id.as_str(), 2)
    );
    assert_eq!(again[0].body, d.body);
    // Not due yet: not claimed.
    store
        .delivery_attempted(
            "d2",
            DeliveryAttempt {
                delivery_id: d.delivery_id.to_string(),
                outcome: DeliveryOutcome::Retry {
                    at: now_micros() + 60_000_000,
                    error: "timeout".into(),
                },
            },
        )
        .await
        .unwrap();
    assert!(store
        .claim_deliveries(Lease::new("d3", lease), 10)
        .await
        .unwrap()
        .is_empty());

    // An expired lease (a dead worker) gives the delivery to another worker.
    let t2 = tenant(&*store).await;
    let run = created(
        store
            .create_run(
                &t2,
                RunToCreate {
                    idempotency: None,
                    webhook_url: Some("https://hooks.example.com/q".into()),
                    ..new_run("base")
                },
            )
            .await
            .unwrap(),
    );
    claim_until(&*store, "w", &run.run_id).await;
    store
        .finish_run("w", &run.run_id, RunOutcome::Cancelled)
        .await
        .unwrap();
    let dead = store
        .claim_deliveries(Lease::new("dead", Duration::from_millis(1)), 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let revived = store
        .claim_deliveries(Lease::new("alive", lease), 10)
        .await
        .unwrap();
    assert_eq!(revived.len(), 1);
    assert_eq!(revived[0].delivery_id, dead[0].delivery_id);
    assert_eq!(revived[0].attempt, 2);
    store
        .delivery_attempted(
            "alive",
            DeliveryAttempt {
                delivery_id: revived[0].delivery_id.to_string(),
                outcome: DeliveryOutcome::Delivered,
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(store
        .claim_deliveries(Lease::new("late", lease), 10)
        .await
        .unwrap()
        .is_empty());
}

async fn new_group(store: &dyn Store, tenant: &str) -> String {
    let id = ids::new_id(parallax_api::group::GROUP_PREFIX);
    let group = store
        .create_group(
            tenant,
            GroupToCreate {
                taskgroup_id: id.clone(),
                metadata: Some(r#"{"sheet":"q3"}"#.into()),
                created_at: now_micros(),
            },
        )
        .await
        .unwrap();
    assert_eq!(group.taskgroup_id, id);
    assert_eq!(group.status.num_task_runs(), 0);
    id
}

/// The group's counts, checked against its runs as the runs stream lists them.
async fn counts_add_up(store: &dyn Store, tenant: &str, group: &str) -> [i64; 7] {
    let status = store
        .get_group(tenant, group)
        .await
        .unwrap()
        .unwrap()
        .status;
    let listed = store
        .group_runs_after(
            tenant,
            GroupRunsQuery {
                taskgroup_id: group.to_string(),
                after: 0,
                status: None,
                include_input: false,
                include_output: false,
                limit: 10_000,
            },
        )
        .await
        .unwrap()
        .unwrap();
    let mut actual = [0i64; 7];
    for record in &listed {
        let status = record.run.status;
        actual[RunStatus::ALL.iter().position(|s| *s == status).unwrap()] += 1;
    }
    assert_eq!(
        status.counts.0, actual,
        "stored counts vs the runs themselves"
    );
    assert_eq!(status.num_task_runs(), listed.len() as i64);
    status.counts.0
}

/// A group's events as its stream sends them.
fn group_events(records: &[parallax_store::GroupEventRecord]) -> Vec<serde_json::Value> {
    records
        .iter()
        .map(|r| {
            let json = parallax_api::events::group_event_json(r.seq, r.kind, &r.document);
            let event: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(event["event_id"], r.seq.to_string());
            event
        })
        .collect()
}

pub async fn groups_count_and_log_every_change(store: Arc<dyn Store>) {
    let (t, other) = (tenant(&*store).await, tenant(&*store).await);
    let lease = Duration::from_secs(30);
    let group = new_group(&*store, &t).await;
    let got = store.get_group(&t, &group).await.unwrap().unwrap();
    assert_eq!(got.metadata.unwrap().get(), r#"{"sheet":"q3"}"#);
    // Another tenant sees nothing and can add nothing.
    assert!(store.get_group(&other, &group).await.unwrap().is_none());
    assert!(store
        .add_group_runs(
            &other,
            RunsToAdd {
                taskgroup_id: group.to_string(),
                runs: vec![new_run("base")]
            }
        )
        .await
        .unwrap()
        .is_none());
    assert!(store
        .group_events_after(
            &other,
            Page {
                of: &group,
                after: 0,
                limit: 10
            }
        )
        .await
        .unwrap()
        .is_none());

    let first = store
        .add_group_runs(
            &t,
            RunsToAdd {
                taskgroup_id: group.to_string(),
                runs: (0..3).map(|_| new_run("base")).collect(),
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.event_cursor, first.run_cursor), (None, None));
    assert_eq!(first.status.num_task_runs(), 3);
    assert!(first.status.is_active());
    let second = store
        .add_group_runs(
            &t,
            RunsToAdd {
                taskgroup_id: group.to_string(),
                runs: (0..2).map(|_| new_run("base")).collect(),
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((second.event_cursor, second.run_cursor), (Some(1), Some(3)));
    let run = store
        .get_run(&t, &second.runs[0].run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.taskgroup_id.as_deref(), Some(group.as_str()));
    assert_eq!(
        counts_add_up(&*store, &t, &group).await,
        [5, 0, 0, 0, 0, 0, 0]
    );

    let mut claimed = Vec::new();
    for _ in 0..20 {
        claimed.extend(store.claim_runs(Lease::new("w", lease), 64).await.unwrap());
        if claimed.len() == 5 {
            break;
        }
    }
    assert_eq!(claimed.len(), 5);
    assert_eq!(
        counts_add_up(&*store, &t, &group).await,
        [0, 0, 5, 0, 0, 0, 0]
    );
    // A released run is queued again and counted so.
    assert_eq!(
        store
            .release_runs("w", &[claimed[4].run_id.clone()])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        counts_add_up(&*store, &t, &group).await,
        [1, 0, 4, 0, 0, 0, 0]
    );
    let again = claim_until(&*store, "w", &claimed[4].run_id).await;
    assert_eq!(again.attempt, 2);

    let outcomes = [
        RunOutcome::Completed {
            output: r#"{"type":"text","content":"a"}"#.into(),
            warnings: None,
        },
        RunOutcome::Failed {
            error: ErrorObject {
                ref_id: "r".into(),
                message: "boom".into(),
                detail: None,
            },
        },
        RunOutcome::Cancelled,
        RunOutcome::Completed {
            output: r#"{"type":"text","content":"d"}"#.into(),
            warnings: None,
        },
    ];
    for (run, outcome) in claimed.iter().zip(outcomes) {
        assert!(store.finish_run("w", &run.run_id, outcome).await.unwrap());
    }
    assert_eq!(
        counts_add_up(&*store, &t, &group).await,
        [0, 0, 1, 2, 1, 0, 1]
    );
    let page = store
        .group_events_after(
            &t,
            Page {
                of: &group,
                after: 0,
                limit: 100,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(page.status.is_active());
    // Two add events, then one event per run that ended; nothing for claims or releases.
    let events = group_events(&page.events);
    assert_eq!(events.len(), 6);
    assert_eq!(page.last_event_id, 6);
    assert_eq!(events[0]["type"], "task_group_status");
    assert_eq!(events[0]["status"]["num_task_runs"], 3);
    assert_eq!(events[1]["status"]["num_task_runs"], 5);
    let ended: Vec<&str> = events[2..]
        .iter()
        .map(|e| {
            assert_eq!(e["type"], "task_run.state");
            assert_eq!(e["run"]["taskgroup_id"], group.as_str());
            e["run"]["status"].as_str().unwrap()
        })
        .collect();
    assert_eq!(ended, ["completed", "failed", "cancelled", "completed"]);

    // The last run ends: its event, then the group's idle status.
    assert!(store
        .finish_run("w", &claimed[4].run_id, RunOutcome::Cancelled)
        .await
        .unwrap());
    let page = store
        .group_events_after(
            &t,
            Page {
                of: &group,
                after: 6,
                limit: 100,
            },
        )
        .await
        .unwrap()
        .unwrap();
    let events = group_events(&page.events);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["run"]["run_id"], claimed[4].run_id.as_str());
    assert_eq!(events[1]["type"], "task_group_status");
    assert_eq!(events[1]["status"]["is_active"], false);
    assert_eq!(
        events[1]["status"]["task_run_status_counts"]["cancelled"],
        2
    );
    assert!(!page.status.is_active());
    assert_eq!(page.last_event_id, 8);
    // Replays are identical; pages respect the limit.
    let replay = store
        .group_events_after(
            &t,
            Page {
                of: &group,
                after: 6,
                limit: 100,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replay.events, page.events);
    let short = store
        .group_events_after(
            &t,
            Page {
                of: &group,
                after: 2,
                limit: 3,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        short.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );

    // The runs listing: positions in add order, filtered, with input and output on request.
    let completed = store
        .group_runs_after(
            &t,
            GroupRunsQuery {
                taskgroup_id: group.to_string(),
                after: 0,
                status: Some(RunStatus::Completed),
                include_input: true,
                include_output: true,
                limit: 100,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(completed.len(), 2);
    for record in &completed {
        assert_eq!(record.run.status, RunStatus::Completed);
        let output: serde_json::Value =
            serde_json::from_str(record.output.as_deref().unwrap()).unwrap();
        assert_eq!(output["type"], "text");
        let input: serde_json::Value =
            serde_json::from_str(record.input.as_deref().unwrap()).unwrap();
        assert_eq!(input["processor"], "base");
    }
    let tail = store
        .group_runs_after(
            &t,
            GroupRunsQuery {
                taskgroup_id: group.to_string(),
                after: second.run_cursor.unwrap(),
                status: None,
                include_input: false,
                include_output: true,
                limit: 100,
            },
        )
        .await
        .unwrap()
        .unwrap();
    let tail_ids: Vec<String> = tail
        .iter()
        .map(|r| {
            assert!(r.input.is_none());
            r.run.run_id.clone()
        })
        .collect();
    let second_ids: Vec<String> = second.runs.iter().map(|r| r.run_id.clone()).collect();
    assert_eq!(tail_ids, second_ids);
    assert_eq!(
        tail.iter().map(|r| r.position).collect::<Vec<_>>(),
        vec![4, 5]
    );
}

pub async fn group_adds_are_all_or_nothing(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let group = new_group(&*store, &t).await;
    store
        .add_group_runs(
            &t,
            RunsToAdd {
                taskgroup_id: group.to_string(),
                runs: vec![new_run("base")],
            },
        )
        .await
        .unwrap()
        .unwrap();
    // The third run repeats the first's id: the database refuses it, and the two before it
    // must not stay.
    let mut runs: Vec<RunToCreate> = (0..3).map(|_| new_run("base")).collect();
    runs[2].run_id = runs[0].run_id.clone();
    assert!(store
        .add_group_runs(
            &t,
            RunsToAdd {
                taskgroup_id: group.to_string(),
                runs: runs.clone()
            }
        )
        .await
        .is_err());
    assert_eq!(
        counts_add_up(&*store, &t, &group).await,
        [1, 0, 0, 0, 0, 0, 0]
    );
    assert!(store.get_run(&t, &runs[1].run_id).await.unwrap().is_none());
    let page = store
        .group_events_after(
            &t,
            Page {
                of: &group,
                after: 0,
                limit: 100,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.last_event_id, 1);
    // The group still works, its cursors unchanged by the failed add.
    let next = store
        .add_group_runs(
            &t,
            RunsToAdd {
                taskgroup_id: group.to_string(),
                runs: vec![new_run("base")],
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((next.event_cursor, next.run_cursor), (Some(1), Some(1)));
    // An empty add changes nothing.
    let empty = store
        .add_group_runs(
            &t,
            RunsToAdd {
                taskgroup_id: group.to_string(),
                runs: vec![],
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(empty.runs.is_empty());
    assert_eq!(empty.status.num_task_runs(), 2);
    assert_eq!((empty.event_cursor, empty.run_cursor), (Some(2), Some(2)));
}

pub async fn claims_are_shared_among_groups(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let lease = Duration::from_secs(30);
    let big = new_group(&*store, &t).await;
    store
        .add_group_runs(
            &t,
            RunsToAdd {
                taskgroup_id: big.to_string(),
                runs: (0..40).map(|_| new_run("base")).collect(),
            },
        )
        .await
        .unwrap()
        .unwrap();
    // The big group holds two workers.
    let first = store.claim_runs(Lease::new("w", lease), 2).await.unwrap();
    assert_eq!(first.len(), 2);
    // Then a small group and a lone run arrive, behind 38 queued runs of the big group.
    let small = new_group(&*store, &t).await;
    let small_run = store
        .add_group_runs(
            &t,
            RunsToAdd {
                taskgroup_id: small.to_string(),
                runs: vec![new_run("base")],
            },
        )
        .await
        .unwrap()
        .unwrap()
        .runs
        .remove(0);
    let solo = created(store.create_run(&t, new_run("base")).await.unwrap());
    // The next two slots go to them, not to the big group.
    let next: Vec<String> = store
        .claim_runs(Lease::new("w", lease), 2)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.run_id)
        .collect();
    assert_eq!(next.len(), 2);
    assert!(next.contains(&small_run.run_id), "{next:?}");
    assert!(next.contains(&solo.run_id), "{next:?}");
    // Another tenant's group still gets the next slot before the big group's third run.
    let t2 = tenant(&*store).await;
    let theirs = new_group(&*store, &t2).await;
    let their_run = store
        .add_group_runs(
            &t2,
            RunsToAdd {
                taskgroup_id: theirs.to_string(),
                runs: vec![new_run("base"), new_run("base")],
            },
        )
        .await
        .unwrap()
        .unwrap()
        .runs;
    let next = store.claim_runs(Lease::new("w", lease), 1).await.unwrap();
    assert_eq!(next[0].run_id, their_run[0].run_id);
    // Runs within a group are taken in the order they were added.
    let mut rest = Vec::new();
    for _ in 0..10 {
        rest.extend(store.claim_runs(Lease::new("w", lease), 64).await.unwrap());
    }
    let big_order: Vec<&String> = rest
        .iter()
        .filter(|c| c.run_id != their_run[1].run_id)
        .map(|c| &c.run_id)
        .collect();
    assert_eq!(big_order.len(), 38);
    assert_eq!(
        counts_add_up(&*store, &t, &big).await,
        [0, 0, 40, 0, 0, 0, 0]
    );
}

pub async fn concurrent_endings_of_a_group_are_all_logged(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let group = new_group(&*store, &t).await;
    let added = store
        .add_group_runs(
            &t,
            RunsToAdd {
                taskgroup_id: group.to_string(),
                runs: (0..60).map(|_| new_run("base")).collect(),
            },
        )
        .await
        .unwrap()
        .unwrap();
    let mut claimed = Vec::new();
    for _ in 0..20 {
        claimed.extend(
            store
                .claim_runs(Lease::new("w", Duration::from_secs(30)), 64)
                .await
                .unwrap(),
        );
    }
    assert_eq!(claimed.len(), 60);
    // Every run ends at once, from its own task, as a worker's runs do; one is asked by a
    // worker that does not hold it and must change nothing.
    let mut tasks = Vec::new();
    for (i, run) in claimed.iter().enumerate() {
        let store = store.clone();
        let run_id = run.run_id.clone();
        tasks.push(tokio::spawn(async move {
            let outcome = if i % 3 == 0 {
                RunOutcome::Cancelled
            } else {
                RunOutcome::Completed {
                    output: r#"{"type":"text","content":"x"}"#.into(),
                    warnings: None,
                }
            };
            store.finish_run("w", &run_id, outcome).await.unwrap()
        }));
    }
    let stranger = store
        .finish_run("other", &claimed[0].run_id, RunOutcome::Cancelled)
        .await
        .unwrap();
    let mut finished = 0;
    for task in tasks {
        finished += usize::from(task.await.unwrap());
    }
    assert!(!stranger);
    assert_eq!(finished, 60);
    assert_eq!(
        counts_add_up(&*store, &t, &group).await,
        [0, 0, 0, 40, 0, 0, 20]
    );
    let page = store
        .group_events_after(
            &t,
            Page {
                of: &group,
                after: 0,
                limit: 1000,
            },
        )
        .await
        .unwrap()
        .unwrap();
    let events = group_events(&page.events);
    // The add, one event per run, then idle: numbered 1..=62 without a gap.
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=62).collect::<Vec<_>>()
    );
    let mut seen: Vec<&str> = events[1..61]
        .iter()
        .map(|e| e["run"]["run_id"].as_str().unwrap())
        .collect();
    seen.sort_unstable();
    let mut expected: Vec<&str> = added.runs.iter().map(|r| r.run_id.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(seen, expected);
    assert_eq!(events[61]["type"], "task_group_status");
    assert_eq!(events[61]["status"]["is_active"], false);
    // The idle event is the only status event after the add's.
    assert_eq!(
        events
            .iter()
            .filter(|e| e["type"] == "task_group_status")
            .count(),
        2
    );
}

/// A run's warnings as the API shows them.
fn warnings_of(run: &parallax_api::TaskRun) -> serde_json::Value {
    serde_json::to_value(&run.warnings).unwrap()
}

/// The run object of a run's last recorded event.
async fn last_event_run(store: &dyn Store, tenant: &str, run_id: &str) -> serde_json::Value {
    let events = store
        .events_after(
            tenant,
            Page {
                of: run_id,
                after: 0,
                limit: 100,
            },
        )
        .await
        .unwrap();
    let last: serde_json::Value = serde_json::from_str(&events.last().unwrap().data).unwrap();
    last["run"].clone()
}

pub async fn creation_warnings_last_past_the_end(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let spec = serde_json::json!([
        {"type": "spec_validation_warning", "message": "Output field \"naïve\" is not required", "detail": {"pointer": "/task_spec/output_schema/json_schema/properties/naïve", "field": "naïve"}},
        {"type": "spec_validation_warning", "message": "open object", "detail": {"pointer": "", "field": ""}}
    ]);
    let engine = serde_json::json!([{"type": "warning", "message": "No source states \"ceo\"", "detail": {"field": "ceo"}}]);
    let warned = |run: RunToCreate| RunToCreate {
        idempotency: None,
        warnings: Some(spec.to_string()),
        ..run
    };

    // From the create answer on: the run, its replay, its queued event.
    let key = Idempotency {
        key: ids::new_run_id(),
        body_hash: [3; 32],
    };
    let completed = created(
        store
            .create_run(
                &t,
                RunToCreate {
                    idempotency: Some(key.clone()),
                    ..warned(new_run("base"))
                },
            )
            .await
            .unwrap(),
    );
    assert_eq!(warnings_of(&completed), spec);
    match store
        .create_run(
            &t,
            RunToCreate {
                idempotency: Some(key),
                ..warned(new_run("base"))
            },
        )
        .await
        .unwrap()
    {
        CreateOutcome::Replayed(answer) => {
            let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
            assert_eq!(answer["warnings"], spec);
        }
        other => panic!("expected a replay, got {other:?}"),
    }
    let got = store.get_run(&t, &completed.run_id).await.unwrap().unwrap();
    assert_eq!(warnings_of(&got), spec);
    assert_eq!(
        last_event_run(&*store, &t, &completed.run_id).await["warnings"],
        spec
    );

    // Ended with the engine's warnings: both, creation's first.
    claim_until(&*store, "w", &completed.run_id).await;
    assert!(store
        .finish_run(
            "w",
            &completed.run_id,
            RunOutcome::Completed {
                output: r#"{"type":"text","content":"x","basis":[]}"#.into(),
                warnings: Some(engine.to_string()),
            },
        )
        .await
        .unwrap());
    let mut both = spec.as_array().unwrap().clone();
    both.extend(engine.as_array().unwrap().iter().cloned());
    let both = serde_json::Value::from(both);
    let (run, _) = store
        .get_result(&t, &completed.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(warnings_of(&run), both);
    assert_eq!(
        last_event_run(&*store, &t, &completed.run_id).await["warnings"],
        both
    );

    // Ended without the engine's: the creation's stay, whatever the ending.
    let failed = created(store.create_run(&t, warned(new_run("base"))).await.unwrap());
    let quiet = created(store.create_run(&t, warned(new_run("base"))).await.unwrap());
    let plain = created(store.create_run(&t, new_run("base")).await.unwrap());
    assert_eq!(plain.warnings, None);
    let mut waiting = vec![&failed.run_id, &quiet.run_id, &plain.run_id];
    for _ in 0..200 {
        let claimed = store
            .claim_runs(Lease::new("w", Duration::from_secs(30)), 64)
            .await
            .unwrap();
        waiting.retain(|id| !claimed.iter().any(|c| &c.run_id == *id));
        if waiting.is_empty() {
            break;
        }
    }
    assert!(waiting.is_empty(), "never claimed: {waiting:?}");
    let error = ErrorObject {
        ref_id: "r".into(),
        message: "boom".into(),
        detail: None,
    };
    assert!(store
        .finish_run("w", &failed.run_id, RunOutcome::Failed { error })
        .await
        .unwrap());
    for (run, engine_warnings) in [(&quiet, None), (&plain, Some(engine.to_string()))] {
        assert!(store
            .finish_run(
                "w",
                &run.run_id,
                RunOutcome::Completed {
                    output: r#"{"type":"text","content":"x","basis":[]}"#.into(),
                    warnings: engine_warnings,
                },
            )
            .await
            .unwrap());
    }
    for (run, want) in [(&failed, &spec), (&quiet, &spec), (&plain, &engine)] {
        let got = store.get_run(&t, &run.run_id).await.unwrap().unwrap();
        assert_eq!(&warnings_of(&got), want, "{:?}", got.status);
    }

    // Runs added to a group carry theirs in the add's answer and in the runs stream.
    let group = new_group(&*store, &t).await;
    let added = store
        .add_group_runs(
            &t,
            RunsToAdd {
                taskgroup_id: group.to_string(),
                runs: vec![warned(new_run("base")), new_run("base")],
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(warnings_of(&added.runs[0]), spec);
    assert_eq!(added.runs[1].warnings, None);
    let listed = store
        .group_runs_after(
            &t,
            GroupRunsQuery {
                taskgroup_id: group.to_string(),
                after: 0,
                status: None,
                include_input: false,
                include_output: false,
                limit: 10,
            },
        )
        .await
        .unwrap()
        .unwrap();
    let first: serde_json::Value = serde_json::from_str(&listed[0].run.to_json()).unwrap();
    assert_eq!(first["warnings"], spec);
}

/// Limits are per tenant and survive a reopen of the store's view; active runs count queued
/// and running runs of that tenant only, and a finished run stops counting.
async fn tenant_limits_and_active_runs(store: Arc<dyn Store>) {
    use parallax_store::limits::TenantLimits;
    let a = tenant(&*store).await;
    let b = tenant(&*store).await;
    let limits = TenantLimits {
        requests_per_minute: Some(120),
        max_active_runs: Some(3),
    };
    assert!(store.set_tenant_limits(&a, limits).await.unwrap());
    assert!(!store
        .set_tenant_limits("tenant_nobody", limits)
        .await
        .unwrap());
    let all = store.tenant_limits().await.unwrap();
    assert!(all.contains(&(a.clone(), limits)), "{all:?}");
    assert!(
        all.contains(&(b.clone(), TenantLimits::default())),
        "{all:?}"
    );
    // Clearing both limits leaves the tenant unlimited.
    assert!(store
        .set_tenant_limits(&a, TenantLimits::default())
        .await
        .unwrap());
    assert!(store
        .tenant_limits()
        .await
        .unwrap()
        .contains(&(a.clone(), TenantLimits::default())));

    assert_eq!(store.tenant_active_runs(&a).await.unwrap(), 0);
    let first = created(store.create_run(&a, new_run("lite")).await.unwrap());
    created(store.create_run(&a, new_run("lite")).await.unwrap());
    created(store.create_run(&b, new_run("lite")).await.unwrap());
    assert_eq!(store.tenant_active_runs(&a).await.unwrap(), 2);
    assert_eq!(store.tenant_active_runs(&b).await.unwrap(), 1);
    let worker = format!("w-{}", uuid::Uuid::new_v4());
    claim_until(&*store, &worker, &first.run_id).await;
    // Running still counts.
    assert_eq!(store.tenant_active_runs(&a).await.unwrap(), 2);
    assert!(store
        .finish_run(&worker, &first.run_id, RunOutcome::Cancelled)
        .await
        .unwrap());
    assert_eq!(store.tenant_active_runs(&a).await.unwrap(), 1);
}

/// The suite on one backend, in module `$module`: the PostgreSQL one's name carries the
/// `needs_postgres` marker that skipping PostgreSQL filters on (see `backends::test_database`).
/// `list_runs`: a tenant's runs newest first (ties in creation time by run id), paged by the
/// last run of the previous page, never another tenant's; a cursor that is not one of the
/// tenant's runs gives nothing.
pub async fn runs_are_listed_newest_first_per_tenant(store: Arc<dyn Store>) {
    let (t1, t2) = (tenant(&*store).await, tenant(&*store).await);
    let base = now_micros();
    let mut mine = Vec::new();
    // Five runs of t1, two of them created in the same microsecond, and t2's runs between.
    for (i, at) in [0, 10, 10, 20, 30].into_iter().enumerate() {
        let run = RunToCreate {
            created_at: base + at,
            ..new_run(if i % 2 == 0 { "core" } else { "lite" })
        };
        mine.push(created(store.create_run(&t1, run).await.unwrap()));
        let theirs = RunToCreate {
            created_at: base + at + 1,
            ..new_run("base")
        };
        created(store.create_run(&t2, theirs).await.unwrap());
    }
    mine.sort_by(|a, b| (b.created_at, &b.run_id).cmp(&(a.created_at, &a.run_id)));
    let expected: Vec<&str> = mine.iter().map(|r| r.run_id.as_str()).collect();

    let all = store.list_runs(&t1, None, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(all[0].processor, mine[0].processor);
    assert_eq!(all[0].status, RunStatus::Queued);
    assert_eq!(all[0].created_at, mine[0].created_at);

    // Pages of two: each starts after the last run of the one before, until one is short.
    let mut paged = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = store.list_runs(&t1, before.as_deref(), 2).await.unwrap();
        assert!(page.len() <= 2);
        paged.extend(page.iter().map(|r| r.run_id.clone()));
        if page.len() < 2 {
            break;
        }
        before = page.last().map(|r| r.run_id.clone());
    }
    assert_eq!(paged, expected);

    // The other tenant sees only its own five, and neither tenant's cursor works for the other.
    let theirs = store.list_runs(&t2, None, 100).await.unwrap();
    assert_eq!(theirs.len(), 5);
    assert!(theirs
        .iter()
        .all(|r| !expected.contains(&r.run_id.as_str())));
    assert!(store
        .list_runs(&t2, Some(expected[0]), 100)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .list_runs(&t1, Some(&ids::new_run_id()), 100)
        .await
        .unwrap()
        .is_empty());
    let fresh = tenant(&*store).await;
    assert!(store.list_runs(&fresh, None, 100).await.unwrap().is_empty());
}

macro_rules! suite {
    ($module:ident, $backend:ident) => {
        mod $module {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn keys_and_tenants() {
                super::keys_and_tenants(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn one_key_is_looked_up_alone() {
                super::one_key_is_looked_up_alone(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn create_read_and_isolate() {
                super::create_read_and_isolate(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn idempotency() {
                super::idempotency(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn active_runs_are_counted_by_processor_and_state() {
                super::active_runs_are_counted_by_processor_and_state(backends::$backend().await)
                    .await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn lifecycle() {
                super::lifecycle(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn failure_and_release() {
                super::failure_and_release(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn expired_leases_are_requeued() {
                super::expired_leases_are_requeued(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn claims_are_shared_fairly_among_tenants() {
                super::claims_are_shared_fairly_among_tenants(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn webhook_deliveries_are_an_outbox() {
                super::webhook_deliveries_are_an_outbox(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn groups_count_and_log_every_change() {
                super::groups_count_and_log_every_change(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn group_adds_are_all_or_nothing() {
                super::group_adds_are_all_or_nothing(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn claims_are_shared_among_groups() {
                super::claims_are_shared_among_groups(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_endings_of_a_group_are_all_logged() {
                super::concurrent_endings_of_a_group_are_all_logged(backends::$backend().await)
                    .await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn creation_warnings_last_past_the_end() {
                super::creation_warnings_last_past_the_end(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn tenant_limits_and_active_runs() {
                super::tenant_limits_and_active_runs(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn runs_are_listed_newest_first_per_tenant() {
                super::runs_are_listed_newest_first_per_tenant(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_creates_all_commit() {
                super::concurrent_creates_all_commit(backends::$backend().await).await
            }
        }
    };
}

suite!(sqlite, sqlite);
suite!(needs_postgres, postgres);
