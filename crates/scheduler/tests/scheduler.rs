//! The scheduler against a real SQLite store and the scripted processor.

use async_trait::async_trait;
use parallax_api::{ids, time::now_micros, RunStatus};
use parallax_engine::scripted::ScriptedProcessor;
use parallax_engine::{Output, Processor, ProgressSink, RunFailure, Task};
use parallax_scheduler::{Config, Scheduler};
use parallax_store::sqlite::SqliteStore;
use parallax_store::{CreateOutcome, Page, RunToCreate, Store};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn store() -> (Arc<dyn Store>, String, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("parallax-sched-{}", uuid::Uuid::new_v4()));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir).unwrap());
    let tenant = store.create_tenant_with_key([9; 32], "t").await.unwrap();
    (store, tenant, dir)
}

async fn create(store: &dyn Store, tenant: &str, processor: &str, body_extra: &str) -> String {
    let run_id = ids::new_run_id();
    let run = RunToCreate {
        idempotency: None,
        betas: None,
        input_doc: format!(r#"{{"processor":"{processor}","input":"hello"{body_extra}}}"#),
        run_id: run_id.clone(),
        processor: processor.into(),
        metadata: None,
        enable_events: true,
        previous_interaction_id: None,
        created_at: now_micros(),
        webhook_url: None,
        warnings: None,
    };
    assert!(matches!(
        store.create_run(tenant, run).await.unwrap(),
        CreateOutcome::Created(_)
    ));
    run_id
}

async fn wait_status(store: &dyn Store, tenant: &str, run_id: &str, want: RunStatus) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = store.get_run(tenant, run_id).await.unwrap().unwrap().status;
        if status == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{run_id} stuck in {status:?}, wanted {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn config() -> Config {
    Config {
        concurrency: 4,
        lease: Duration::from_secs(3),
        poll_interval: Duration::from_millis(200),
        ..Config::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_complete_with_events_and_output() {
    let (store, tenant, _dir) = store().await;
    let scheduler = Scheduler::start(store.clone(), Arc::new(ScriptedProcessor), config());
    let id = create(&*store, &tenant, "core", "").await;
    wait_status(&*store, &tenant, &id, RunStatus::Completed).await;
    let (_, output) = store.get_result(&tenant, &id).await.unwrap().unwrap();
    let output: serde_json::Value = serde_json::from_str(&output.unwrap()).unwrap();
    assert_eq!(output["content"], "echo: hello");
    let types: Vec<String> = store
        .events_after(
            &tenant,
            Page {
                of: &id,
                after: 0,
                limit: 100,
            },
        )
        .await
        .unwrap()
        .iter()
        .map(|e| {
            serde_json::from_str::<serde_json::Value>(&e.data).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(types.first().unwrap(), "task_run.state");
    assert_eq!(types.last().unwrap(), "task_run.state");
    assert!(
        types.contains(&"task_run.progress_msg.plan".to_string()),
        "{types:?}"
    );
    assert!(
        types.contains(&"task_run.progress_stats".to_string()),
        "{types:?}"
    );
    scheduler.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_and_time_limits_end_failed() {
    let (store, tenant, _dir) = store().await;
    let mut cfg = config();
    cfg.max_run_time = Some(Duration::from_millis(300));
    let scheduler = Scheduler::start(store.clone(), Arc::new(ScriptedProcessor), cfg);
    let failing = create(
        &*store,
        &tenant,
        "core",
        r#","metadata":{"scripted_fail":"no sources"}"#,
    )
    .await;
    let slow = create(
        &*store,
        &tenant,
        "core",
        r#","metadata":{"scripted_sleep":60000}"#,
    )
    .await;
    wait_status(&*store, &tenant, &failing, RunStatus::Failed).await;
    wait_status(&*store, &tenant, &slow, RunStatus::Failed).await;
    let run = store.get_run(&tenant, &failing).await.unwrap().unwrap();
    assert_eq!(run.error.unwrap().message, "no sources");
    let run = store.get_run(&tenant, &slow).await.unwrap().unwrap();
    assert!(run.error.unwrap().message.contains("time limit"));
    scheduler.shutdown().await;
}

/// Counts how many runs execute at once.
struct Gauge {
    now: AtomicUsize,
    peak: AtomicUsize,
}

#[async_trait]
impl Processor for Gauge {
    async fn run(&self, _task: Task, _progress: &dyn ProgressSink) -> Result<Output, RunFailure> {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(n, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        Ok(Output {
            output: serde_json::json!({"type":"text","content":"x","basis":[]}),
            warnings: vec![],
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_is_bounded() {
    let (store, tenant, _dir) = store().await;
    let gauge = Arc::new(Gauge {
        now: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    });
    let scheduler = Scheduler::start(store.clone(), gauge.clone(), config());
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(create(&*store, &tenant, "lite", "").await);
    }
    for id in &ids {
        wait_status(&*store, &tenant, id, RunStatus::Completed).await;
    }
    let peak = gauge.peak.load(Ordering::SeqCst);
    assert!((2..=4).contains(&peak), "peak concurrency {peak}");
    scheduler.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_queues_claimed_runs_again() {
    let (store, tenant, dir) = store().await;
    let scheduler = Scheduler::start(store.clone(), Arc::new(ScriptedProcessor), config());
    let id = create(
        &*store,
        &tenant,
        "core",
        r#","metadata":{"scripted_sleep":60000}"#,
    )
    .await;
    wait_status(&*store, &tenant, &id, RunStatus::Running).await;
    scheduler.shutdown().await;
    assert_eq!(
        store.get_run(&tenant, &id).await.unwrap().unwrap().status,
        RunStatus::Queued
    );
    drop(dir);
}

/// A processor with a bug.
struct Panics;

#[async_trait]
impl Processor for Panics {
    async fn run(&self, _task: Task, _progress: &dyn ProgressSink) -> Result<Output, RunFailure> {
        panic!("index out of bounds in a processor");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_processor_fails_the_run_once() {
    let (store, tenant, _dir) = store().await;
    let scheduler = Scheduler::start(store.clone(), Arc::new(Panics), config());
    let id = create(&*store, &tenant, "core", "").await;
    wait_status(&*store, &tenant, &id, RunStatus::Failed).await;
    let run = store.get_run(&tenant, &id).await.unwrap().unwrap();
    assert!(run.error.unwrap().message.contains("crashed"));
    scheduler.shutdown().await;
}
