//! PostgreSQL-specific behaviour; the shared behaviour is in `tests/conformance.rs`.
//! Same database rules as there (`tests/backends/test_database.rs`): a test that needs
//! PostgreSQL has `needs_postgres` in its name, and fails if PostgreSQL is unreachable.

use super::test_database::{self, fresh_schema};
use super::*;
use crate::failpoints::Failpoint;
use std::time::Instant;

#[test]
fn search_path_from_options() {
    let first = |o: &str| schema_from_options(o);
    assert_eq!(first("-csearch_path=abc"), Some("abc".into()));
    assert_eq!(first("-c search_path=abc,public"), Some("abc".into()));
    assert_eq!(first("--search_path=Abc"), Some("abc".into()));
    assert_eq!(first("--search-path=x"), Some("x".into()));
    assert_eq!(
        first(r#"-c search_path="My\ ""S""",x"#),
        Some(r#"My "S""#.into())
    );
    assert_eq!(first(r#"-c search_path="unclosed"#), None);
    assert_eq!(
        first("-c statement_timeout=5 -c search_path=a -c search_path=b"),
        Some("b".into())
    );
    assert_eq!(first("-c search_path=$user,public"), None);
    assert_eq!(first("-c search_path=pg_temp"), None);
    assert_eq!(first("-c statement_timeout=5"), None);
    assert_eq!(first(""), None);
    // What connect_with_schema writes reads back as the schema.
    let written = escape_option(&format!("search_path={}", quote_ident("we ird\"x")));
    assert_eq!(first(&format!("-c {written}")), Some("we ird\"x".into()));
}

/// The test database URL; fails the test if PostgreSQL is unreachable.
async fn test_url() -> String {
    test_database::connect().await.0
}

/// A store on a schema of its own, created for this test.
async fn fresh_store() -> PgStore {
    PgStore::connect_with_schema(&test_url().await, &fresh_schema())
        .await
        .unwrap()
}

async fn tenant(store: &PgStore) -> String {
    let mut hash = [0u8; 32];
    hash[..16].copy_from_slice(&uuid::Uuid::new_v4().into_bytes());
    store.create_tenant_with_key(hash, "test").await.unwrap()
}

fn new_run() -> RunToCreate {
    let run_id = ids::new_run_id();
    RunToCreate {
        idempotency: None,
        betas: None,
        input_doc: format!(r#"{{"processor":"base","input":"{run_id}","z":1,"a":2}}"#),
        run_id,
        processor: "base".into(),
        metadata: Some(r#"{"z":1.0,"a":[]}"#.into()),
        enable_events: true,
        previous_interaction_id: None,
        created_at: now_micros(),
        webhook_url: None,
        warnings: None,
    }
}

/// A job as `create_run` would send it, with the receiver of its answer.
fn job(
    tenant: &str,
    idempotency: Option<Idempotency>,
) -> (CreateJob, oneshot::Receiver<Result<CreateOutcome>>) {
    let run = new_run();
    let task_run = TaskRun {
        run_id: run.run_id.clone(),
        status: RunStatus::Queued,
        processor: run.processor.clone(),
        metadata: None,
        error: None,
        warnings: None,
        taskgroup_id: None,
        created_at: run.created_at,
        modified_at: run.created_at,
    };
    let (reply, answer) = oneshot::channel();
    let job = CreateJob {
        tenant: tenant.into(),
        event: task_run_state_record(&task_run),
        response: idempotency
            .as_ref()
            .map(|_| serde_json::to_string(&task_run).unwrap()),
        run,
        idempotency,
        task_run,
        reply,
        panics: false,
    };
    (job, answer)
}

async fn wait_for(rx: &mut broadcast::Receiver<Notice>, wanted: &Notice) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Ok(notice)) if &notice == wanted => return true,
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_url_options_choose_and_create_the_schema() {
    let url = test_url().await;
    let schema = fresh_schema();
    let sep = if url.contains('?') { '&' } else { '?' };
    let store = PgStore::connect(&format!("{url}{sep}options=-csearch_path%3D{schema}"))
        .await
        .unwrap();
    let t = tenant(&store).await;
    let client = store.client().await.unwrap();
    let row = client
        .query_one(
            "SELECT current_schema(), (SELECT count(*) FROM schema_migrations)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), schema);
    assert_eq!(row.get::<_, i64>(1), migrations::MIGRATIONS.len() as i64);
    let tenants: i64 = client
        .query_one(
            &format!(
                "SELECT count(*) FROM {}.tenants WHERE tenant_id = $1",
                quote_ident(&schema)
            ),
            &[&t],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tenants, 1);
    // Connecting again finds it migrated.
    PgStore::connect(&format!("{url}{sep}options=-csearch_path%3D{schema}"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_nodes_starting_together_migrate_once() {
    let url = test_url().await;
    let schema = fresh_schema();
    let mut starting = Vec::new();
    for _ in 0..4 {
        let (url, schema) = (url.clone(), schema.clone());
        starting.push(tokio::spawn(async move {
            PgStore::connect_with_schema(&url, &schema).await
        }));
    }
    let mut stores = Vec::new();
    for start in starting {
        stores.push(start.await.unwrap().unwrap());
    }
    let client = stores[0].client().await.unwrap();
    let versions: i64 = client
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(versions, migrations::MIGRATIONS.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_says_what_to_do() {
    // Port 1 on loopback: nothing listens there.
    let error = match PgStore::connect("postgres://postgres@127.0.0.1:1/test").await {
        Ok(_) => panic!("connected to nothing"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains("127.0.0.1:1/test"), "{error}");
    assert!(error.contains("--database-url"), "{error}");
    // The cause, not only "error connecting to server".
    assert!(error.contains("connecting to server: "), "{error}");
    eprintln!("{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_notices_cross_nodes() {
    let url = test_url().await;
    let schema = fresh_schema();
    let a = PgStore::connect_with_schema(&url, &schema).await.unwrap();
    let b = PgStore::connect_with_schema(&url, &schema).await.unwrap();
    let mut on_a = a.subscribe();
    let mut on_b = b.subscribe();
    let t = tenant(&a).await;

    // A create on A reaches B, which did nothing itself.
    let run = match a.create_run(&t, new_run()).await.unwrap() {
        CreateOutcome::Created(run) => run,
        other => panic!("{other:?}"),
    };
    let run_notice = Notice::Run(run.run_id.as_str().into());
    assert!(wait_for(&mut on_b, &run_notice).await, "B heard of A's run");
    assert!(
        wait_for(&mut on_b, &Notice::Queued).await,
        "B heard work was queued"
    );

    // B claims and writes; A hears.
    let worker = "worker-b";
    let mut claimed = Vec::new();
    for _ in 0..50 {
        claimed = b
            .claim_runs(Lease::new(worker, Duration::from_secs(30)), 10)
            .await
            .unwrap();
        if !claimed.is_empty() {
            break;
        }
    }
    assert_eq!(claimed.len(), 1);
    while on_a.try_recv().is_ok() {}
    b.append_event(worker, &run.run_id, r#"{"type":"x"}"#)
        .await
        .unwrap()
        .unwrap();
    assert!(
        wait_for(&mut on_a, &run_notice).await,
        "A heard of B's event"
    );
    while on_a.try_recv().is_ok() {}
    assert!(b
        .finish_run(worker, &run.run_id, RunOutcome::Cancelled)
        .await
        .unwrap());
    assert!(wait_for(&mut on_a, &run_notice).await, "A heard B finish");
    assert_eq!(
        a.get_run(&t, &run.run_id).await.unwrap().unwrap().status,
        RunStatus::Cancelled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_the_listener_reconnects() {
    let url = test_url().await;
    let schema = fresh_schema();
    let a = PgStore::connect_with_schema(&url, &schema).await.unwrap();
    // B's connections carry a name of their own, so this test can find its listener.
    let name = format!("px_listen_{}", uuid::Uuid::new_v4().simple());
    let sep = if url.contains('?') { '&' } else { '?' };
    let b = PgStore::connect_with_schema(&format!("{url}{sep}application_name={name}"), &schema)
        .await
        .unwrap();
    let mut on_b = b.subscribe();
    let admin = a.client().await.unwrap();
    let pid: i32 = admin
        .query_one(
            "SELECT pid FROM pg_stat_activity
             WHERE application_name = $1 AND query = 'LISTEN parallax_events'",
            &[&name],
        )
        .await
        .unwrap()
        .get(0);
    admin
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    for _ in 0..100 {
        let gone = admin
            .query_opt("SELECT 1 FROM pg_stat_activity WHERE pid = $1", &[&pid])
            .await
            .unwrap()
            .is_none();
        if gone {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The old listener is gone; B hears A again once its new one listens.
    let t = tenant(&a).await;
    let mut heard = false;
    for _ in 0..20 {
        let run = match a.create_run(&t, new_run()).await.unwrap() {
            CreateOutcome::Created(run) => run,
            other => panic!("{other:?}"),
        };
        let wanted = Notice::Run(run.run_id.as_str().into());
        let deadline = Instant::now() + Duration::from_millis(500);
        while let Ok(Ok(notice)) = tokio::time::timeout_at(deadline.into(), on_b.recv()).await {
            if notice == wanted {
                heard = true;
                break;
            }
        }
        if heard {
            break;
        }
    }
    assert!(heard, "B's listener came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_concurrent_claimers_never_share_a_run() {
    let url = test_url().await;
    let schema = fresh_schema();
    let a = Arc::new(PgStore::connect_with_schema(&url, &schema).await.unwrap());
    let b = Arc::new(PgStore::connect_with_schema(&url, &schema).await.unwrap());
    let t = tenant(&a).await;
    const RUNS: usize = 300;
    let mut creating = Vec::new();
    for _ in 0..RUNS {
        let (a, t) = (a.clone(), t.clone());
        creating.push(tokio::spawn(async move {
            a.create_run(&t, new_run()).await.unwrap()
        }));
    }
    for c in creating {
        assert!(matches!(c.await.unwrap(), CreateOutcome::Created(_)));
    }
    // Four claimers, two per node, until the queue is empty.
    let mut claimers = Vec::new();
    for (i, store) in [a.clone(), a.clone(), b.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        claimers.push(tokio::spawn(async move {
            let worker = format!("w{i}");
            let mut mine = Vec::new();
            loop {
                let claimed = store
                    .claim_runs(Lease::new(&worker, Duration::from_secs(30)), 7)
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                for c in claimed {
                    assert_eq!(c.attempt, 1, "claimed once");
                    mine.push(c.run_id);
                }
            }
        }));
    }
    let mut all = Vec::new();
    let mut per_claimer = Vec::new();
    for c in claimers {
        let mine = c.await.unwrap();
        per_claimer.push(mine.len());
        all.extend(mine);
    }
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), all.len(), "a run was claimed twice");
    assert_eq!(all.len(), RUNS, "every run claimed: {per_claimer:?}");
    // Each claimed run has exactly queued + running events, cursors 1 and 2.
    for id in all.iter().take(20) {
        let seqs: Vec<i64> = a
            .events_after(
                &t,
                Page {
                    of: id,
                    after: 0,
                    limit: 10,
                },
            )
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, [1, 2]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_one_batch_with_repeated_keys() {
    let store = fresh_store().await;
    let (t1, t2) = (tenant(&store).await, tenant(&store).await);
    let idem = |key: &str, hash: u8| {
        Some(Idempotency {
            key: key.into(),
            body_hash: [hash; 32],
        })
    };
    // An earlier run holds key "old" in t1.
    let (old, old_answer) = job(&t1, idem("old", 9));
    let mut client = store.client().await.unwrap();
    insert_creates(&mut client, std::slice::from_ref(&old))
        .await
        .unwrap();
    drop(old_answer);

    let jobs_and_answers = vec![
        job(&t1, idem("k", 1)),   // 0: creates
        job(&t1, idem("k", 1)),   // 1: replays 0
        job(&t1, idem("k", 2)),   // 2: conflicts with 0
        job(&t2, idem("k", 2)),   // 3: another tenant's key: creates
        job(&t1, None),           // 4: creates
        job(&t1, idem("old", 9)), // 5: replays the earlier run
        job(&t1, idem("old", 8)), // 6: conflicts with it
        job(&t2, idem("k", 2)),   // 7: replays 3
    ];
    let (jobs, _answers): (Vec<_>, Vec<_>) = jobs_and_answers.into_iter().unzip();
    let outcomes = insert_creates(&mut client, &jobs).await.unwrap();
    let created_id = |i: usize| match &outcomes[i] {
        CreateOutcome::Created(run) => run.run_id.clone(),
        other => panic!("job {i}: expected created, got {other:?}"),
    };
    let replayed = |i: usize| match &outcomes[i] {
        CreateOutcome::Replayed(answer) => answer.clone(),
        other => panic!("job {i}: expected a replay, got {other:?}"),
    };
    let conflict = |i: usize| {
        assert!(
            matches!(outcomes[i], CreateOutcome::KeyConflict),
            "job {i}: {:?}",
            outcomes[i]
        )
    };
    let first = created_id(0);
    assert!(replayed(1).contains(&first));
    conflict(2);
    let other_tenant = created_id(3);
    created_id(4);
    assert!(replayed(5).contains(&old.run.run_id));
    conflict(6);
    assert!(replayed(7).contains(&other_tenant));
    // Only the three created runs exist.
    for (i, job) in jobs.iter().enumerate() {
        let exists = store
            .get_run(&job.tenant, &job.run.run_id)
            .await
            .unwrap()
            .is_some();
        assert_eq!(exists, [0, 3, 4].contains(&i), "job {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_concurrent_repeats_of_one_key() {
    let a = Arc::new(fresh_store().await);
    let t = tenant(&a).await;
    let mut tasks = Vec::new();
    for i in 0..64u8 {
        let (a, t) = (a.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let idem = Idempotency {
                key: "same".into(),
                body_hash: [i % 2; 32],
            };
            (
                i % 2,
                a.create_run(
                    &t,
                    RunToCreate {
                        idempotency: Some(idem),
                        ..new_run()
                    },
                )
                .await
                .unwrap(),
            )
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let winners: Vec<(u8, String)> = results
        .iter()
        .filter_map(|(h, o)| match o {
            CreateOutcome::Created(run) => Some((*h, run.run_id.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(winners.len(), 1, "exactly one create");
    let (hash, run_id) = &winners[0];
    for (h, outcome) in &results {
        match outcome {
            CreateOutcome::Created(_) => {}
            CreateOutcome::Replayed(answer) => {
                assert_eq!(h, hash);
                assert!(answer.contains(run_id.as_str()));
            }
            CreateOutcome::KeyConflict => assert_ne!(h, hash),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_a_rejected_create_fails_alone() {
    let store = fresh_store().await;
    let t = tenant(&store).await;
    let (good1, a1) = job(&t, None);
    let (bad, a2) = job("tenant_that_does_not_exist", None);
    let (good2, a3) = job(&t, None);
    let ids = [good1.run.run_id.clone(), good2.run.run_id.clone()];
    commit_batch(&store.pool, vec![good1, bad, good2]).await;
    assert!(matches!(a1.await.unwrap(), Ok(CreateOutcome::Created(_))));
    assert!(a2.await.unwrap().is_err(), "no such tenant");
    assert!(matches!(a3.await.unwrap(), Ok(CreateOutcome::Created(_))));
    for id in &ids {
        assert!(store.get_run(&t, id).await.unwrap().is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_a_panicking_create_fails_alone() {
    let store = fresh_store().await;
    let t = tenant(&store).await;
    // In one batch: the middle create panics (after the batch's inserts, before COMMIT).
    let (good1, a1) = job(&t, None);
    let (mut bad, a2) = job(&t, None);
    bad.panics = true;
    let (good2, a3) = job(&t, None);
    let ids = [
        good1.run.run_id.clone(),
        bad.run.run_id.clone(),
        good2.run.run_id.clone(),
    ];
    commit_batch(&store.pool, vec![good1, bad, good2]).await;
    assert!(matches!(a1.await.unwrap(), Ok(CreateOutcome::Created(_))));
    let panicked = a2.await.unwrap();
    assert!(
        matches!(panicked, Err(StoreError::Panicked(_))),
        "{panicked:?}"
    );
    assert!(matches!(a3.await.unwrap(), Ok(CreateOutcome::Created(_))));
    assert!(store.get_run(&t, &ids[0]).await.unwrap().is_some());
    assert!(
        store.get_run(&t, &ids[1]).await.unwrap().is_none(),
        "nothing of it stays"
    );
    assert!(store
        .events_after(
            &t,
            Page {
                of: &ids[1],
                after: 0,
                limit: 10
            }
        )
        .await
        .unwrap()
        .is_empty());
    assert!(store.get_run(&t, &ids[2]).await.unwrap().is_some());

    // Through the store: the planned panic fails that create, and the writer goes on.
    store.failpoints().plan(Failpoint::WritePanics);
    let failed = store.create_run(&t, new_run()).await;
    assert!(matches!(failed, Err(StoreError::Panicked(_))), "{failed:?}");
    let later = store.create_run(&t, new_run()).await;
    assert!(matches!(later, Ok(CreateOutcome::Created(_))), "{later:?}");
    assert!(store.health().is_ok(), "{:?}", store.health());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_a_stopped_create_writer_is_reported_and_answers_at_once() {
    let store = fresh_store().await;
    let t = tenant(&store).await;
    assert!(store.health().is_ok(), "{:?}", store.health());
    store.failpoints().plan(Failpoint::WriterStops);
    let first = store.create_run(&t, new_run()).await;
    assert!(matches!(first, Err(StoreError::Stopped(_))), "{first:?}");
    // The job's answer is dropped while the writer unwinds, a moment before its queue.
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.health().is_ok() {
        assert!(
            Instant::now() < deadline,
            "health never saw the writer stop"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let health = store.health();
    assert_eq!(health.down.len(), 1, "{health:?}");
    assert!(health.down[0].contains("create writer"), "{health:?}");
    let later = tokio::time::timeout(Duration::from_secs(5), store.create_run(&t, new_run()))
        .await
        .expect("a create to a stopped writer must not hang");
    assert!(matches!(later, Err(StoreError::Stopped(_))), "{later:?}");
    // What does not go through that writer still works.
    let group = store
        .create_group(
            &t,
            GroupToCreate {
                taskgroup_id: ids::new_id("tgrp_"),
                metadata: None,
                created_at: now_micros(),
            },
        )
        .await;
    assert!(group.is_ok(), "{group:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_a_listener_that_is_gone_shows_in_health() {
    let store = fresh_store().await;
    assert!(store.health().is_ok(), "{:?}", store.health());
    store.listener.abort();
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.health().is_ok() {
        assert!(
            Instant::now() < deadline,
            "health never saw the listener go"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        store.health().down[0].contains("listener"),
        "{:?}",
        store.health()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_json_text_comes_back_as_stored() {
    let store = fresh_store().await;
    let t = tenant(&store).await;
    let run = new_run();
    let (doc, meta) = (run.input_doc.clone(), run.metadata.clone());
    let id = run.run_id.clone();
    store.create_run(&t, run).await.unwrap();
    assert_eq!(store.get_input(&t, &id).await.unwrap(), Some(doc));
    let got = store.get_run(&t, &id).await.unwrap().unwrap();
    assert_eq!(got.metadata.map(|m| m.get().to_string()), meta);
}

/// `cargo test -p parallax-store --release -- --ignored --nocapture create_throughput`
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement: run by hand"]
async fn needs_postgres_create_throughput() {
    let store = Arc::new(fresh_store().await);
    let t = tenant(&store).await;
    const CALLERS: usize = 64;
    const PER_CALLER: usize = 200;
    let started = Instant::now();
    let mut callers = Vec::new();
    for _ in 0..CALLERS {
        let (store, t) = (store.clone(), t.clone());
        callers.push(tokio::spawn(async move {
            for _ in 0..PER_CALLER {
                store.create_run(&t, new_run()).await.unwrap();
            }
        }));
    }
    for c in callers {
        c.await.unwrap();
    }
    let rate = (CALLERS * PER_CALLER) as f64 / started.elapsed().as_secs_f64();
    println!(
        "{} creates over {CALLERS} callers: {rate:.0} creates/s",
        CALLERS * PER_CALLER
    );
    assert!(rate >= 1500.0, "{rate:.0} creates/s");
}
