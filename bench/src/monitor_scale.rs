//! `monitor-scale`: what the monitor scheduler costs as monitors grow (issue 15, "Scale").
//!
//! For each monitor count (the first is the baseline of every ratio), on a fresh store:
//!
//! 1. **Idle cost.** N hourly monitors are created together on a manual clock and run their
//!    first execution; then the 59 simulated minutes before their next slot pass, in steps of
//!    `--step-secs`, with nothing due. Measured over those minutes and given per hour: the
//!    scheduler's wakes, its store calls (each one transaction) and the process's CPU time
//!    (user + system, `getrusage`), which includes the clock stepping itself, the same for
//!    every N.
//! 2. **Due-time latency.** N hourly monitors are created on the real clock with their first
//!    due times spread over the coming hour (as N hourly monitors fall due in steady state);
//!    a no-op executor records when each execution starts. Over the first `--window-secs`
//!    seconds, every monitor due in them is measured: how late it started (p50, p99, max)
//!    and how many were more than a second late. No execution may start early.
//!
//! The executor does nothing (an execution is a completion), so what is measured is the
//! scheduler and the store, not research.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use async_trait::async_trait;
use parallax_api::monitor::{parse_create, MONITOR_PREFIX};
use parallax_scheduler::monitor::{MonitorExecutor, MonitorLoopConfig, MonitorScheduler};
use parallax_store::clock::{Clock, ManualClock, SystemClock};
use parallax_store::monitor::{ClaimedMonitor, Execution, MonitorToCreate};
use parallax_store::Store;

#[derive(clap::Parser)]
pub struct MonitorScaleArgs {
    /// Monitor counts to measure, comma-separated; the first is the ratios' baseline.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
    counts: Vec<usize>,
    /// Where to make the SQLite stores (a fresh one per count and measure).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Measure on this PostgreSQL database instead of SQLite (a fresh schema each time).
    #[arg(long)]
    database_url: Option<String>,
    /// Simulated seconds per step of the idle hour.
    #[arg(long, default_value_t = 10)]
    step_secs: u64,
    /// Seconds of the hour over which due starts are measured.
    #[arg(long, default_value_t = 60)]
    window_secs: u64,
    /// Idle hours measured per count (the median is reported).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Executions the scheduler runs at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

/// Records when each execution started (real microseconds since the epoch).
#[derive(Default)]
struct Noop {
    starts: Mutex<Vec<(String, i64)>>,
}

#[async_trait]
impl MonitorExecutor for Noop {
    async fn execute(&self, monitor: &ClaimedMonitor) -> Execution {
        self.starts
            .lock()
            .unwrap()
            .push((monitor.monitor_id.clone(), parallax_api::time::now_micros()));
        Execution::Ran {
            events: Vec::new(),
            observed: Vec::new(),
            snapshot: None,
        }
    }
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

async fn open(args: &MonitorScaleArgs, label: &str) -> Result<Arc<dyn Store>> {
    if let Some(url) = &args.database_url {
        let schema = format!(
            "parallax_bench_{}_{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs(),
            uuid::Uuid::new_v4().simple()
        );
        let store = parallax_store::postgres::PgStore::connect_with_schema(url, &schema)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        return Ok(Arc::new(store));
    }
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!(
        "parallax-monitor-scale-{label}-{}",
        uuid::Uuid::new_v4()
    ));
    Ok(Arc::new(parallax_store::sqlite::SqliteStore::open(&dir)?))
}

async fn create_monitors(
    store: &Arc<dyn Store>,
    tenant: &str,
    frequency: &str,
    first_due: impl Fn(usize) -> i64,
    n: usize,
) -> Result<()> {
    let body = serde_json::json!({
        "type": "event_stream", "frequency": frequency, "settings": {"query": "q"},
    });
    let config = parse_create(body.to_string().as_bytes())
        .map_err(|e| anyhow::anyhow!("{}", e.message))?
        .config;
    // 32 creates in flight at a time, each committed on its own, as clients would send them.
    let mut creating = tokio::task::JoinSet::new();
    for i in 0..n {
        if creating.len() >= 32 {
            creating.join_next().await.expect("a create in flight")??;
        }
        let (store, tenant, config) = (store.clone(), tenant.to_owned(), config.clone());
        let created_at = first_due(i);
        creating.spawn(async move {
            store
                .create_monitor(
                    &tenant,
                    MonitorToCreate {
                        monitor_id: parallax_api::ids::new_id(MONITOR_PREFIX),
                        config,
                        created_at,
                        snapshot: None,
                    },
                )
                .await
                .map(|_| ())
        });
    }
    while let Some(done) = creating.join_next().await {
        done??;
    }
    Ok(())
}

async fn tenant(store: &dyn Store) -> Result<String> {
    let mut hash = [0u8; 32];
    hash[..16].copy_from_slice(&uuid::Uuid::new_v4().into_bytes());
    Ok(store.create_tenant_with_key(hash, "bench").await?)
}

fn config(args: &MonitorScaleArgs) -> MonitorLoopConfig {
    MonitorLoopConfig {
        concurrency: args.concurrency,
        ..MonitorLoopConfig::default()
    }
}

struct Idle {
    looks: f64,
    store_calls: f64,
    cpu: f64,
}

async fn idle_hour(args: &MonitorScaleArgs, n: usize) -> Result<Idle> {
    let store = open(args, "idle").await?;
    let tenant = tenant(&*store).await?;
    const T0: i64 = 1_800_000_000_000_000;
    let clock = ManualClock::new(T0);
    create_monitors(&store, &tenant, "1h", |_| T0, n).await?;
    let executor = Arc::new(Noop::default());
    let scheduler = MonitorScheduler::start(
        store.clone(),
        executor.clone(),
        Arc::new(clock.clone()),
        config(args),
    );
    // Every monitor's first execution, recorded.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let due = store.next_monitor_due().await?;
        if executor.starts.lock().unwrap().len() >= n && due.is_some_and(|d| d > T0) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "first executions did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Quiet: no look for half a second (the last executions' notices are behind us).
    let stats = scheduler.stats();
    let mut last = u64::MAX;
    while stats.looks.load(Ordering::Relaxed) != last {
        last = stats.looks.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (looks, calls, cpu) = (
        stats.looks.load(Ordering::Relaxed),
        stats.store_calls.load(Ordering::Relaxed),
        cpu_seconds(),
    );
    // The next slots fall at T0 + 1 h plus at most a minute of jitter: 59 minutes are idle.
    const IDLE_SECS: u64 = 59 * 60;
    let steps = IDLE_SECS / args.step_secs.max(1);
    for _ in 0..steps {
        clock.advance(Duration::from_secs(args.step_secs));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let per_hour = 3600.0 / (steps * args.step_secs.max(1)) as f64;
    let idle = Idle {
        looks: (stats.looks.load(Ordering::Relaxed) - looks) as f64 * per_hour,
        store_calls: (stats.store_calls.load(Ordering::Relaxed) - calls) as f64 * per_hour,
        cpu: (cpu_seconds() - cpu) * per_hour,
    };
    anyhow::ensure!(
        executor.starts.lock().unwrap().len() == n,
        "something ran during the idle hour"
    );
    scheduler.shutdown().await;
    Ok(idle)
}

/// The round with the median CPU time (store calls and wakes do not vary between rounds).
fn median_idle(mut rounds: Vec<Idle>) -> Idle {
    rounds.sort_by(|a, b| a.cpu.total_cmp(&b.cpu));
    let mid = rounds.len() / 2;
    rounds.swap_remove(mid)
}

struct Lateness {
    /// Executions due in the window (all of them measured).
    measured: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    over_1s: usize,
}

async fn due_latency(args: &MonitorScaleArgs, n: usize) -> Result<Lateness> {
    let store = open(args, "latency").await?;
    let tenant = tenant(&*store).await?;
    let clock = SystemClock::new();
    // Hourly monitors whose first due times are spread over the hour, as N hourly monitors
    // fall due in steady state; measured over the first `window` seconds (the monitors due
    // in it), with every other monitor in the table. The lead leaves time to create them all.
    let lead = 5_000_000 + (n as i64) * 4_000;
    let start = clock.now() + lead;
    let hour = 3_600_000_000_i64;
    let due_of = move |i: usize| start + hour * i as i64 / n.max(1) as i64;
    create_monitors(&store, &tenant, "1h", due_of, n).await?;
    anyhow::ensure!(
        clock.now() < start,
        "creating the monitors took past their first due time; raise the lead"
    );
    let window = args.window_secs as i64 * 1_000_000;
    let in_window = (0..n).filter(|&i| due_of(i) < start + window).count();
    let executor = Arc::new(Noop::default());
    let scheduler = MonitorScheduler::start(
        store.clone(),
        executor.clone(),
        Arc::new(clock),
        config(args),
    );
    let end = Instant::now()
        + Duration::from_micros((start + window - SystemClock::new().now()).max(0) as u64)
        + Duration::from_secs(2);
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    scheduler.shutdown().await;
    let due: std::collections::HashMap<String, i64> = {
        // The due time of each monitor's first execution is its creation time.
        let views = match store
            .monitor(parallax_store::monitor::MonitorOp::ListById {
                tenant: tenant.clone(),
                after: None,
                limit: None,
            })
            .await?
        {
            parallax_store::monitor::MonitorReply::List(views) => views,
            other => anyhow::bail!("unexpected reply {other:?}"),
        };
        views
            .into_iter()
            .map(|v| (v.monitor_id, v.created_at))
            .collect()
    };
    let starts = executor.starts.lock().unwrap().clone();
    let mut late: Vec<f64> = starts
        .iter()
        .filter(|(id, _)| due[id] < start + window)
        .map(|(id, at)| (at - due[id]) as f64 / 1000.0)
        .collect();
    anyhow::ensure!(
        late.len() == in_window,
        "{} of the {in_window} monitors due in the window started",
        late.len()
    );
    anyhow::ensure!(
        starts.iter().all(|(_, at)| *at >= start - 1_000),
        "an execution started before its due time"
    );
    late.sort_by(f64::total_cmp);
    let pick = |q: f64| late[((late.len() as f64 - 1.0) * q).round() as usize];
    Ok(Lateness {
        measured: in_window,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        max_ms: *late.last().unwrap_or(&0.0),
        over_1s: late.iter().filter(|ms| **ms > 1000.0).count(),
    })
}

pub fn run(args: MonitorScaleArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let backend = if args.database_url.is_some() {
            "postgresql"
        } else {
            "sqlite"
        };
        println!(
            "monitor scheduler scale ({backend}; {} simulated seconds per step; {} executions at once)",
            args.step_secs, args.concurrency
        );
        println!(
            "{:>7} | {:>12} {:>14} {:>12} | {:>9} {:>9} {:>9} {:>8}",
            "monitors", "idle wakes/h", "store calls/h", "CPU ms/h", "late p50", "late p99", "late max", ">1s late"
        );
        let mut baseline: Option<(f64, f64)> = None;
        let mut rows = Vec::new();
        // The idle hours first, `--rounds` of them per count, counts interleaved so that a
        // change in the machine's load falls on every count alike; the median is kept.
        let mut idles: Vec<Vec<Idle>> = args.counts.iter().map(|_| Vec::new()).collect();
        for _ in 0..args.rounds.max(1) {
            for (i, &n) in args.counts.iter().enumerate() {
                idles[i].push(idle_hour(&args, n).await?);
            }
        }
        for (i, &n) in args.counts.iter().enumerate() {
            let idle = median_idle(std::mem::take(&mut idles[i]));
            let late = due_latency(&args, n).await?;
            println!(
                "{:>7} | {:>12.0} {:>14.0} {:>12.1} | {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>8}",
                n,
                idle.looks,
                idle.store_calls,
                idle.cpu * 1000.0,
                late.p50_ms,
                late.p99_ms,
                late.max_ms,
                format!("{}/{}", late.over_1s, late.measured)
            );
            let (calls, cpu) = (idle.store_calls, idle.cpu);
            let base = *baseline.get_or_insert((calls, cpu));
            rows.push(serde_json::json!({
                "monitors": n,
                "idle_looks_per_hour": idle.looks,
                "idle_store_calls_per_hour": idle.store_calls,
                "idle_cpu_ms_per_hour": idle.cpu * 1000.0,
                "store_calls_ratio": calls / base.0.max(1.0),
                "cpu_ratio": cpu / base.1.max(1e-9),
                "due_in_window": late.measured,
                "late_p50_ms": late.p50_ms,
                "late_p99_ms": late.p99_ms,
                "late_max_ms": late.max_ms,
                "late_over_1s": late.over_1s,
            }));
        }
        println!(
            "ratios against {} monitors (idle hour, median of {} rounds):",
            args.counts[0],
            args.rounds.max(1)
        );
        for row in &rows {
            println!(
                "  {:>7} monitors: store calls ×{:.2}, CPU ×{:.2}",
                row["monitors"], row["store_calls_ratio"].as_f64().unwrap_or(0.0),
                row["cpu_ratio"].as_f64().unwrap_or(0.0)
            );
        }
        println!("{}", serde_json::json!({"backend": backend, "rows": rows}));
        Ok(())
    })
}
