//! Running monitors: executes each monitor when it falls due, once, through a
//! [`MonitorExecutor`], and records how each execution ended.
//!
//! Monitors have their own loop and their own slots (`MonitorLoopConfig::concurrency`), so
//! scheduled research never holds the slots task runs need. The store plans every due time
//! (see `parallax_store::monitor`); this loop only asks it what is due on the monitor
//! [`Clock`] and claims it under a lease. The loop wakes when
//! - the clock reaches the next due time the store gave it (or `poll` of monitor-clock time
//!   passed: then it also claims executions a dead node's expired lease left behind);
//! - a [`Notice::Schedule`] arrives (a monitor was created, re-planned, triggered or given
//!   back, or an execution ended), or the notice channel lagged;
//! - one of its executions finishes and a slot frees;
//! - the heartbeat tick fires (a third of the lease): it renews its leases and stops any
//!   execution it no longer holds (the monitor was cancelled, or the lease lost);
//! - shutdown is asked: it stops its executions and gives them back, to be run again at once.
//!
//! When nothing is due, each wake costs a constant handful of indexed store reads, however
//! many monitors there are: the idle cost grows with time, not with monitors.

use async_trait::async_trait;
use parallax_store::clock::Clock;
use parallax_store::monitor::{ClaimedMonitor, Execution};
use parallax_store::{Lease, Notice, Store};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio::task::{AbortHandle, JoinSet};

/// Carries out one execution of a monitor. Must be cancellation-safe: the loop drops the
/// future when the monitor is cancelled, its lease is lost, or the time limit passes.
#[async_trait]
pub trait MonitorExecutor: Send + Sync + 'static {
    async fn execute(&self, monitor: &ClaimedMonitor) -> Execution;
}

/// How the monitor loop runs.
#[derive(Debug, Clone)]
pub struct MonitorLoopConfig {
    /// Unique name of this worker in the store's leases.
    pub worker_id: String,
    /// Most executions run at once by this process.
    pub concurrency: usize,
    /// How long a claim holds without a heartbeat.
    pub lease: Duration,
    /// Longest any execution may take before it is recorded as failed (each is also held to
    /// its processor's own limit, if shorter).
    pub time_limit: Duration,
    /// Monitor-clock time between looks when nothing is due (expired leases are found then).
    pub poll: Duration,
    /// Real time to wait before looking again when something is due but another worker
    /// holds it (its claim transaction, on another node).
    pub contended_backoff: Duration,
}

impl Default for MonitorLoopConfig {
    fn default() -> Self {
        MonitorLoopConfig {
            worker_id: format!("monitor-{}", uuid::Uuid::new_v4()),
            concurrency: 4,
            lease: Duration::from_secs(60),
            time_limit: Duration::from_secs(600),
            poll: Duration::from_secs(30),
            contended_backoff: Duration::from_millis(200),
        }
    }
}

pub mod research;
pub use research::ResearchExecutor;

/// What the loop has done since it started: the figures behind its idle cost.
#[derive(Debug, Default)]
pub struct MonitorLoopStats {
    /// Times the loop woke and looked for due work.
    pub looks: AtomicU64,
    /// Calls the loop made to the store (each one transaction).
    pub store_calls: AtomicU64,
    /// Executions started.
    pub started: AtomicU64,
}

impl MonitorLoopStats {
    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The running monitor loop; [`MonitorScheduler::shutdown`] gives claimed executions back.
pub struct MonitorScheduler {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    stats: Arc<MonitorLoopStats>,
}

impl MonitorScheduler {
    pub fn start(
        store: Arc<dyn Store>,
        executor: Arc<dyn MonitorExecutor>,
        clock: Arc<dyn Clock>,
        config: MonitorLoopConfig,
    ) -> MonitorScheduler {
        let (stop, stopped) = watch::channel(false);
        let stats = Arc::new(MonitorLoopStats::default());
        let task = tokio::spawn(run_loop(
            store,
            executor,
            clock,
            config,
            stopped,
            stats.clone(),
        ));
        MonitorScheduler { stop, task, stats }
    }

    /// What the loop has done so far.
    pub fn stats(&self) -> &MonitorLoopStats {
        &self.stats
    }

    /// Stops claiming, stops the executions in progress and gives them back; returns when
    /// done.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn run_loop(
    store: Arc<dyn Store>,
    executor: Arc<dyn MonitorExecutor>,
    clock: Arc<dyn Clock>,
    config: MonitorLoopConfig,
    mut stopped: watch::Receiver<bool>,
    stats: Arc<MonitorLoopStats>,
) {
    let mut notices = store.subscribe();
    let mut running: JoinSet<String> = JoinSet::new();
    // Each running execution's abort handle, and whether it has reached its recording (a
    // recording execution is left to end: its lease was cleared by its own commit).
    let mut active: HashMap<String, (AbortHandle, Arc<AtomicBool>)> = HashMap::new();
    let mut heartbeat = tokio::time::interval(config.lease / 3);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let poll = config.poll.as_micros() as i64;
    let mut look = true;
    // When to look again on the monitor clock, and (after a contended look) not before
    // this real instant.
    let mut wake_at = clock.now();
    let mut not_before: Option<tokio::time::Instant> = None;
    loop {
        let free = config.concurrency.saturating_sub(active.len());
        if look && free > 0 {
            look = false;
            MonitorLoopStats::count(&stats.looks);
            MonitorLoopStats::count(&stats.store_calls);
            let now = clock.now();
            let mut claimed_all = false;
            let mut claim_failed = false;
            match store
                .claim_monitors(Lease::new(&config.worker_id, config.lease), now, free)
                .await
            {
                Ok(claimed) => {
                    claimed_all = claimed.len() == free;
                    for monitor in claimed {
                        MonitorLoopStats::count(&stats.started);
                        let id = monitor.monitor_id.clone();
                        let recording = Arc::new(AtomicBool::new(false));
                        let job = execute(
                            stats.clone(),
                            store.clone(),
                            executor.clone(),
                            clock.clone(),
                            config.clone(),
                            monitor,
                            recording.clone(),
                        );
                        let done_id = id.clone();
                        let handle = running.spawn(async move {
                            job.await;
                            done_id
                        });
                        active.insert(id, (handle, recording));
                    }
                }
                Err(e) => {
                    claim_failed = true;
                    tracing::error!(error = %e, "claiming monitors failed; retrying at the next poll")
                }
            }
            wake_at = now.saturating_add(poll);
            if claimed_all {
                // There may be more due: look again once a slot frees.
                look = true;
            } else if !claim_failed {
                MonitorLoopStats::count(&stats.store_calls);
                match store.next_monitor_due().await {
                    Ok(Some(due)) if due <= now => {
                        // Due, yet not claimed: another node is claiming it right now.
                        not_before = Some(tokio::time::Instant::now() + config.contended_backoff);
                        wake_at = now;
                    }
                    Ok(Some(due)) => wake_at = wake_at.min(due),
                    Ok(None) => {}
                    Err(e) => tracing::error!(error = %e, "reading the next due monitor failed"),
                }
            }
        }
        let sleep_until = wake_at;
        let backoff = not_before;
        tokio::select! {
            _ = stopped.changed() => break,
            Some(done) = running.join_next(), if !running.is_empty() => {
                match done {
                    Ok(id) => { active.remove(&id); }
                    Err(_) => active.retain(|_, (h, _)| !h.is_finished()),
                }
                look = true;
            }
            notice = notices.recv() => {
                let mut wake = match notice {
                    Ok(Notice::Schedule) | Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Ok(_) => false,
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                // A burst of notices (a thousand executions ending) is one look, not a
                // thousand.
                loop {
                    match notices.try_recv() {
                        Ok(Notice::Schedule) | Err(broadcast::error::TryRecvError::Lagged(_)) => wake = true,
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                if wake {
                    look = true;
                    not_before = None;
                }
            }
            _ = async {
                if let Some(at) = backoff {
                    tokio::time::sleep_until(at).await;
                }
                clock.sleep_until(sleep_until).await;
            }, if free > 0 || active.is_empty() => {
                not_before = None;
                look = true;
            }
            _ = heartbeat.tick() => {
                if active.is_empty() {
                    continue;
                }
                let ids: Vec<String> = active.keys().cloned().collect();
                MonitorLoopStats::count(&stats.store_calls);
                match store.heartbeat_monitors(Lease::new(&config.worker_id, config.lease), &ids).await {
                    Ok(lost) => {
                        for id in lost {
                            // An execution recording its outcome released the lease itself;
                            // stopping it now would only lose what it is about to say.
                            if active.get(&id).is_some_and(|(_, recording)| recording.load(Ordering::Acquire)) {
                                continue;
                            }
                            if let Some((handle, _)) = active.remove(&id) {
                                tracing::info!(monitor_id = %id, "monitor cancelled or its lease lost; stopping its execution");
                                handle.abort();
                            }
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "renewing monitor leases failed"),
                }
            }
        }
    }
    running.abort_all();
    while running.join_next().await.is_some() {}
    let ids: Vec<String> = active.into_keys().collect();
    if !ids.is_empty() {
        match store.release_monitors(&config.worker_id, &ids).await {
            Ok(given) => tracing::info!(
                monitors = given.len(),
                "gave monitor executions back for shutdown"
            ),
            Err(e) => {
                tracing::error!(error = %e, "giving monitor executions back failed; they run again when their lease expires")
            }
        }
    }
}

async fn execute(
    stats: Arc<MonitorLoopStats>,
    store: Arc<dyn Store>,
    executor: Arc<dyn MonitorExecutor>,
    clock: Arc<dyn Clock>,
    config: MonitorLoopConfig,
    monitor: ClaimedMonitor,
    recording: Arc<AtomicBool>,
) {
    let id = monitor.monitor_id.clone();
    tracing::info!(monitor_id = %id, attempt = monitor.attempt, "monitor execution started");
    // The processor's own limit (lite 60 s, base 120 s), within the loop's.
    let limit = parallax_engine::budget::lookup(&monitor.config.processor)
        .map_or(config.time_limit, |b| b.time_limit.min(config.time_limit));
    let execution = match tokio::time::timeout(limit, executor.execute(&monitor)).await {
        Ok(execution) => execution,
        Err(_) => Execution::Failed {
            message: format!(
                "The execution took longer than its limit of {} s and was stopped; the next one runs on schedule.",
                limit.as_secs()
            ),
        },
    };
    MonitorLoopStats::count(&stats.store_calls);
    recording.store(true, Ordering::Release);
    match store
        .finish_monitor(&config.worker_id, &id, execution, clock.now())
        .await
    {
        Ok(true) => tracing::info!(monitor_id = %id, "monitor execution recorded"),
        Ok(false) => {
            tracing::info!(monitor_id = %id, "monitor cancelled or lease lost; execution not recorded")
        }
        Err(e) => {
            tracing::error!(monitor_id = %id, error = %e, "recording a monitor execution failed; it runs again when its lease expires")
        }
    }
}
