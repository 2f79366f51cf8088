//! The monitor loop over a real store and a manual clock: a monitor runs once at creation and
//! then once per due time, never twice at once; missed slots merge into one execution; two
//! schedulers on one PostgreSQL database run each due execution exactly once; a restarted
//! scheduler runs what fell due while it was down, once.

use async_trait::async_trait;
use parallax_api::monitor::parse_create;
use parallax_api::{ids, monitor::MONITOR_PREFIX};
use parallax_scheduler::monitor::{MonitorExecutor, MonitorLoopConfig, MonitorScheduler};
use parallax_store::clock::{Clock, ManualClock};
use parallax_store::monitor::{ClaimedMonitor, EventQuery, Execution, MonitorToCreate};
use parallax_store::postgres::PgStore;
use parallax_store::sqlite::SqliteStore;
use parallax_store::Store;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[path = "../../store/tests/backends/test_database.rs"]
#[allow(dead_code)]
mod test_database;

const HOUR: Duration = Duration::from_secs(3600);
const T0: i64 = 1_800_000_000_000_000;

async fn sqlite() -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join(format!("parallax-monitor-loop-{}", uuid::Uuid::new_v4()));
    Arc::new(SqliteStore::open(&dir).unwrap())
}

async fn postgres() -> (Arc<dyn Store>, Arc<dyn Store>) {
    let (url, _client) = test_database::connect().await;
    let schema = test_database::fresh_schema();
    let a = PgStore::connect_with_schema(&url, &schema).await.unwrap();
    let b = PgStore::connect_with_schema(&url, &schema).await.unwrap();
    (Arc::new(a), Arc::new(b))
}

/// Every execution: which monitor, on which worker, at what clock time.
type Log = Arc<Mutex<Vec<(String, &'static str, i64)>>>;

/// Records every execution (which monitor, on which worker, at what clock time) and how many
/// run at once; each execution takes `work` of real time.
struct Recorder {
    name: &'static str,
    clock: ManualClock,
    work: Duration,
    log: Log,
    running: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl MonitorExecutor for Recorder {
    async fn execute(&self, monitor: &ClaimedMonitor) -> Execution {
        {
            let mut running = self.running.lock().unwrap();
            assert!(
                !running.contains(&monitor.monitor_id),
                "{} runs twice at once",
                monitor.monitor_id
            );
            running.push(monitor.monitor_id.clone());
        }
        self.log
            .lock()
            .unwrap()
            .push((monitor.monitor_id.clone(), self.name, self.clock.now()));
        tokio::time::sleep(self.work).await;
        self.running
            .lock()
            .unwrap()
            .retain(|id| *id != monitor.monitor_id);
        Execution::Ran {
            events: Vec::new(),
            observed: Vec::new(),
            snapshot: None,
        }
    }
}

fn config() -> MonitorLoopConfig {
    MonitorLoopConfig {
        concurrency: 2,
        lease: Duration::from_secs(5),
        poll: Duration::from_secs(30),
        contended_backoff: Duration::from_millis(20),
        ..MonitorLoopConfig::default()
    }
}

async fn tenant(store: &dyn Store) -> String {
    let mut hash = [0u8; 32];
    hash[..16].copy_from_slice(&uuid::Uuid::new_v4().into_bytes());
    store.create_tenant_with_key(hash, "test").await.unwrap()
}

async fn create(store: &dyn Store, tenant: &str, frequency: &str, at: i64) -> String {
    let body = json!({"type": "event_stream", "frequency": frequency, "settings": {"query": "q"}});
    let new = parse_create(body.to_string().as_bytes()).unwrap();
    let monitor_id = ids::new_id(MONITOR_PREFIX);
    store
        .create_monitor(
            tenant,
            MonitorToCreate {
                monitor_id: monitor_id.clone(),
                config: new.config,
                created_at: at,
                snapshot: None,
            },
        )
        .await
        .unwrap();
    monitor_id
}

/// Waits (real time) until `log` holds `n` entries, then a little longer to catch extras.
async fn settle(log: &Log, n: usize) {
    for _ in 0..500 {
        if log.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
}

/// The monitor clock time the store planned for the next execution, once the last one has
/// released its lease (a leased monitor is not due).
async fn planned_due(store: &dyn Store) -> i64 {
    for _ in 0..500 {
        if let Some(due) = store.next_monitor_due().await.unwrap() {
            return due;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no monitor execution was planned within 5 s");
}

fn executions(log: &Log, id: &str) -> Vec<i64> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|(m, _, _)| m == id)
        .map(|(_, _, at)| *at)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_runs_at_creation_then_once_per_due_time_without_drift() {
    let store = sqlite().await;
    let clock = ManualClock::new(T0);
    let log = Arc::new(Mutex::new(Vec::new()));
    let recorder = Recorder {
        name: "a",
        clock: clock.clone(),
        work: Duration::from_millis(5),
        log: log.clone(),
        running: Arc::default(),
    };
    let scheduler = MonitorScheduler::start(
        store.clone(),
        Arc::new(recorder),
        Arc::new(clock.clone()),
        config(),
    );
    let tenant = tenant(&*store).await;
    let id = create(&*store, &tenant, "1h", T0).await;
    settle(&log, 1).await;
    assert_eq!(executions(&log, &id), vec![T0], "runs once at creation");

    // Five hours, stepping the clock to each due time the store planned (never past it, so
    // the test does not race the loop): each due time lies within the jitter (a minute) after
    // its slot, every slot measured from creation; nothing runs a second before it; the
    // execution starts at the due time itself.
    for k in 1..=5usize {
        let due = planned_due(&*store).await;
        let slot = T0 + k as i64 * HOUR.as_micros() as i64;
        assert!(
            (slot..slot + 60_000_000).contains(&due),
            "slot {k} planned {} s after its slot",
            (due - slot) / 1_000_000
        );
        clock.set(due - 1_000_000);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            executions(&log, &id).len(),
            k,
            "nothing runs before its due time"
        );
        clock.set(due);
        settle(&log, k + 1).await;
        let runs = executions(&log, &id);
        assert_eq!(runs.len(), k + 1, "{runs:?}");
        assert_eq!(runs[k], due, "execution {k} starts at its due time");
    }
    let events = store
        .monitor_events(
            &tenant,
            &id,
            EventQuery {
                include_completions: true,
                ..EventQuery::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(events.len(), 6, "one completion per execution");
    scheduler.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_scheduler_runs_what_fell_due_while_it_was_down_once() {
    let store = sqlite().await;
    let clock = ManualClock::new(T0);
    let log = Arc::new(Mutex::new(Vec::new()));
    let start = |name| {
        MonitorScheduler::start(
            store.clone(),
            Arc::new(Recorder {
                name,
                clock: clock.clone(),
                work: Duration::from_millis(5),
                log: log.clone(),
                running: Arc::default(),
            }),
            Arc::new(clock.clone()),
            config(),
        )
    };
    let first = start("a");
    let tenant = tenant(&*store).await;
    let hourly = create(&*store, &tenant, "1h", T0).await;
    let daily = create(&*store, &tenant, "1d", T0).await;
    settle(&log, 2).await;
    first.shutdown().await;

    // Down for ten and a half hours: the hourly monitor missed ten slots, the daily none.
    clock.advance(HOUR * 21 / 2);
    let second = start("b");
    settle(&log, 3).await;
    assert_eq!(
        executions(&log, &hourly).len(),
        2,
        "missed slots merge into one"
    );
    assert_eq!(executions(&log, &daily).len(), 1);
    // The next hourly slot is the eleventh hour, not an hour after the restart.
    clock.advance(HOUR / 2 + Duration::from_secs(61));
    settle(&log, 4).await;
    assert_eq!(executions(&log, &hourly).len(), 3);
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_two_schedulers_run_each_due_execution_exactly_once() {
    let (a, b) = postgres().await;
    let clock = ManualClock::new(T0);
    let log = Arc::new(Mutex::new(Vec::new()));
    let running: Arc<Mutex<Vec<String>>> = Arc::default();
    let start = |store: &Arc<dyn Store>, name| {
        MonitorScheduler::start(
            store.clone(),
            Arc::new(Recorder {
                name,
                clock: clock.clone(),
                work: Duration::from_millis(30),
                log: log.clone(),
                running: running.clone(),
            }),
            Arc::new(clock.clone()),
            config(),
        )
    };
    let node_a = start(&a, "a");
    let node_b = start(&b, "b");
    let tenant = tenant(&*a).await;
    let mut monitors = Vec::new();
    for _ in 0..12 {
        monitors.push(create(&*a, &tenant, "1h", T0).await);
    }
    settle(&log, 12).await;
    // Hour by hour, each step past the last slot's jitter, so all twelve fall due together
    // and both nodes contend for them; the loop is caught up before the next hour.
    for hour in 1..=3 {
        clock.set(T0 + hour * HOUR.as_micros() as i64 + 61_000_000);
        settle(&log, 12 * (hour as usize + 1)).await;
    }
    for id in &monitors {
        assert_eq!(executions(&log, id).len(), 4, "{id}: creation + 3 hours");
    }
    let nodes: std::collections::HashSet<&str> =
        log.lock().unwrap().iter().map(|(_, n, _)| *n).collect();
    assert_eq!(nodes.len(), 2, "both nodes took executions");
    node_a.shutdown().await;
    node_b.shutdown().await;
}
