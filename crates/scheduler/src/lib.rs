//! Running work: claims queued runs from the store, executes them with bounded concurrency
//! through the engine's [`Processor`], records progress, and stores how each run ended.
//!
//! One loop per process owns the claimed runs. It wakes when
//! - a [`Notice::Queued`] arrives (a run was created or released, here or on another node),
//!   or the notice channel lagged;
//! - one of its runs finishes and a slot frees (while work is waiting, it claims once a
//!   quarter of its slots are free, or [`CLAIM_COALESCE`] after the first frees, so that
//!   short runs are claimed several per transaction);
//! - the poll tick fires (`Config::poll_interval`): it then queues again runs whose lease
//!   expired (a dead node's) and looks for work it was not told about;
//! - the heartbeat tick fires (a third of the lease): it extends the leases of its runs and
//!   abandons any run it no longer holds;
//! - shutdown is asked: it stops claiming, cancels its runs and puts them back in the queue.
//!
//! A run that outlives its processor's time limit (or the operator's `max_run_time`) fails
//! with an error saying so; it never hangs.

pub mod findall;
pub mod monitor;
pub mod webhooks;

use async_trait::async_trait;
use futures::FutureExt;
use parallax_api::beta::{self, Betas};
use parallax_api::error::ErrorObject;
use parallax_api::events;
use parallax_api::time::now_micros;
use parallax_engine::mcp::McpServer;
use parallax_engine::{
    budget, MessageKind, PreviousInteraction, Processor, ProgressSink, SourceStats, Task,
};
use parallax_store::memory::MemoryQuery;
use parallax_store::{ClaimedRun, Lease, Notice, RunOutcome, Store};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio::task::{AbortHandle, JoinSet};

/// How the scheduler runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Unique name of this worker in the store's leases.
    pub worker_id: String,
    /// Most runs executed at once by this process.
    pub concurrency: usize,
    /// How long a claim holds without a heartbeat; a dead node's runs are queued again after.
    pub lease: Duration,
    /// How often to look for work and expired leases without being told.
    pub poll_interval: Duration,
    /// An operator's cap on any run's time, applied when below the processor's own limit.
    pub max_run_time: Option<Duration>,
}

impl Config {
    /// This worker's lease on what it claims.
    fn lease(&self) -> Lease<'_> {
        Lease::new(&self.worker_id, self.lease)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            worker_id: format!("worker-{}", uuid::Uuid::new_v4()),
            concurrency: 16,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            max_run_time: None,
        }
    }
}

/// A running scheduler. Dropping it without [`Scheduler::shutdown`] aborts nothing: call
/// shutdown to give claimed runs back.
pub struct Scheduler {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Scheduler {
    /// Starts the loop on the current runtime.
    pub fn start(
        store: Arc<dyn Store>,
        processor: Arc<dyn Processor>,
        config: Config,
    ) -> Scheduler {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run_loop(store, processor, config, stopped));
        Scheduler { stop, task }
    }

    /// Stops claiming, cancels the runs in progress and queues them again; returns when done.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Longest a claim waits for more slots to free after a run finished, while work is waiting.
const CLAIM_COALESCE: Duration = Duration::from_millis(3);

/// Free slots worth one claim while work is waiting. Each claim is one store transaction
/// (one fsync); with runs of a few milliseconds, claiming one run per finished run would make
/// the claims, not the runs, the limit. A quarter of the slots keeps them nearly full at a
/// quarter of the claims; [`CLAIM_COALESCE`] bounds the wait when runs are slow.
fn claim_batch(concurrency: usize) -> usize {
    (concurrency / 4).max(1)
}

async fn run_loop(
    store: Arc<dyn Store>,
    processor: Arc<dyn Processor>,
    config: Config,
    mut stopped: watch::Receiver<bool>,
) {
    let mut notices = store.subscribe();
    let mut running: JoinSet<String> = JoinSet::new();
    let mut active: HashMap<String, AbortHandle> = HashMap::new();
    let mut poll = tokio::time::interval(config.poll_interval);
    let mut heartbeat = tokio::time::interval(config.lease / 3);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut look_for_work = true;
    // After a run finishes with work still waiting, the claim may wait this long for more
    // slots to free (see `claim_batch`); new work and the poll tick claim at once.
    let mut deferred_until: Option<tokio::time::Instant> = None;
    let batch = claim_batch(config.concurrency);
    loop {
        let free = config.concurrency.saturating_sub(active.len());
        let due = free >= batch || deferred_until.is_none_or(|t| tokio::time::Instant::now() >= t);
        if look_for_work && free > 0 && due {
            deferred_until = None;
            match store.claim_runs(config.lease(), free).await {
                Ok(claimed) => {
                    // A full claim means more may be waiting.
                    look_for_work = claimed.len() == free;
                    let now = now_micros();
                    for run in claimed {
                        // The claim latency of a run's first claim: a run queued again after
                        // a crash or a shutdown waited for more than the queue.
                        if run.attempt == 1 {
                            let waited =
                                u64::try_from(now.saturating_sub(run.created_at)).unwrap_or(0);
                            parallax_metrics::run_claimed(Duration::from_micros(waited));
                        }
                        let id = run.run_id.clone();
                        let job = execute(store.clone(), processor.clone(), config.clone(), run);
                        let finished_id = id.clone();
                        let handle = running.spawn(async move {
                            job.await;
                            finished_id
                        });
                        active.insert(id, handle);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "claiming runs failed; retrying at the next poll");
                    look_for_work = false;
                }
            }
        }
        tokio::select! {
            _ = stopped.changed() => break,
            Some(done) = running.join_next(), if !running.is_empty() => {
                let mut done = Some(done);
                while let Some(result) = done {
                    match result {
                        Ok(run_id) => { active.remove(&run_id); }
                        // An aborted run was already removed when its lease was lost.
                        Err(_) => active.retain(|_, h| !h.is_finished()),
                    }
                    // Every run that has finished meanwhile frees its slot for the same claim.
                    done = running.try_join_next();
                }
                if look_for_work {
                    deferred_until.get_or_insert(tokio::time::Instant::now() + CLAIM_COALESCE);
                }
                look_for_work = true;
            }
            _ = async { tokio::time::sleep_until(deferred_until.unwrap_or_else(tokio::time::Instant::now)).await }, if deferred_until.is_some() => {
                deferred_until = None;
            }
            notice = notices.recv() => match notice {
                Ok(Notice::Queued) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    look_for_work = true;
                    deferred_until = None;
                }
                Ok(Notice::Run(_) | Notice::Group(_) | Notice::FindAll(_) | Notice::Schedule) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = poll.tick() => {
                if let Err(e) = store.requeue_expired().await {
                    tracing::error!(error = %e, "queueing expired runs again failed");
                }
                look_for_work = true;
                deferred_until = None;
            }
            _ = heartbeat.tick(), if !active.is_empty() => {
                let ids: Vec<String> = active.keys().cloned().collect();
                match store.heartbeat(config.lease(), &ids).await {
                    Ok(lost) => for id in lost {
                        tracing::warn!(run_id = %id, "lease lost; abandoning the run");
                        if let Some(handle) = active.remove(&id) {
                            handle.abort();
                        }
                    },
                    Err(e) => tracing::error!(error = %e, "heartbeat failed"),
                }
            }
        }
    }
    running.abort_all();
    while running.join_next().await.is_some() {}
    let ids: Vec<String> = active.into_keys().collect();
    if !ids.is_empty() {
        match store.release_runs(&config.worker_id, &ids).await {
            Ok(n) => tracing::info!(runs = n, "queued claimed runs again for shutdown"),
            Err(e) => {
                tracing::error!(error = %e, "releasing runs at shutdown failed; they return to the queue when their lease expires")
            }
        }
    }
}

/// Records progress of one run as events, if the run records events.
struct StoreSink {
    store: Arc<dyn Store>,
    worker: String,
    run_id: String,
    enabled: bool,
}

impl StoreSink {
    async fn record(&self, data: String) {
        if !self.enabled {
            return;
        }
        if let Err(e) = self
            .store
            .append_event(&self.worker, &self.run_id, &data)
            .await
        {
            tracing::warn!(run_id = %self.run_id, error = %e, "could not record a progress event");
        }
    }
}

#[async_trait]
impl ProgressSink for StoreSink {
    async fn message(&self, kind: MessageKind, text: &str) {
        self.record(events::progress_message_json(kind, text, now_micros()))
            .await;
    }

    async fn stats(&self, stats: &SourceStats, progress_meter: f64) {
        self.record(events::progress_stats_json(stats, progress_meter))
            .await;
    }
}

fn failure(message: String, detail: Option<serde_json::Value>, run_id: &str) -> RunOutcome {
    let ref_id = uuid::Uuid::new_v4().to_string();
    tracing::info!(%run_id, %ref_id, reason = %message, "run failed");
    RunOutcome::Failed {
        error: ErrorObject {
            ref_id,
            message,
            detail,
        },
    }
}

/// The earlier run a task continues, read within the same tenant. A read failure only
/// loses context, so it is logged and the run goes on without it.
async fn previous_interaction(
    store: &dyn Store,
    tenant: &str,
    run_id: &str,
) -> Option<PreviousInteraction> {
    let input = store.get_input(tenant, run_id).await;
    let result = store.get_result(tenant, run_id).await;
    match (input, result) {
        (Ok(Some(input)), Ok(result)) => Some(PreviousInteraction {
            request: serde_json::from_str(&input).ok()?,
            output: result
                .and_then(|(_, output)| output)
                .and_then(|o| serde_json::from_str(&o).ok()),
        }),
        (Ok(None), _) => None,
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(%run_id, error = %e, "could not read the previous interaction");
            None
        }
    }
}

/// Most earlier runs of a memory scope whose cited pages a run reads.
pub const MEMORY_ENTRIES: usize = 3;
/// Most remembered pages a run reads (the best-ranked entries' first).
pub const MEMORY_SOURCES: usize = 6;
/// Most recent entries of a scope ranked against a run's input.
const MEMORY_CANDIDATES: i64 = 500;

/// The pages a run's memory scope offers it: the sources cited by the (at most
/// [`MEMORY_ENTRIES`]) remembered task runs that share most with its input (BM25 over their
/// input and output), best first, once each, at most [`MEMORY_SOURCES`]. Entries sharing no
/// word with the input give nothing. A read failure only loses this context: it is logged
/// and the run goes on.
///
/// Only a run that names its `memory_scope_key` reads memory. A run without one is still
/// remembered in personal memory (for `retrieve`), but does not read it: remembered pages go
/// first among a run's candidates, and every run of a tenant steering every later one, unasked,
/// would make answers depend on the tenant's history.
async fn remembered_sources(store: &dyn Store, tenant: &str, request: &Value) -> Vec<String> {
    let Some(scope) = request.get("memory_scope_key").and_then(Value::as_str) else {
        return Vec::new();
    };
    let objective = parallax_engine::pipeline::request::objective_text(
        request.get("input").unwrap_or(&Value::Null),
    );
    let query = MemoryQuery {
        kind: Some(parallax_api::memory::MemoryKind::Task),
        since: None,
        limit: MEMORY_CANDIDATES,
    };
    let entries = match store.retrieve_memory(tenant, scope, query).await {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the run's memory");
            return Vec::new();
        }
    };
    let texts: Vec<String> = entries
        .iter()
        .map(|e| format!("{}\n{}", e.input, e.output))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut urls: Vec<String> = Vec::new();
    for (i, _) in parallax_engine::rank::rank(&objective, &refs)
        .into_iter()
        .take(MEMORY_ENTRIES)
    {
        for url in &entries[i].sources {
            if !urls.contains(url) {
                urls.push(url.clone());
            }
        }
    }
    urls.truncate(MEMORY_SOURCES);
    urls
}

async fn execute(
    store: Arc<dyn Store>,
    processor: Arc<dyn Processor>,
    config: Config,
    run: ClaimedRun,
) {
    let outcome = match (
        budget::lookup(&run.processor),
        serde_json::from_str(&run.input_doc),
    ) {
        (None, _) => failure(
            format!("processor {:?} no longer exists", run.processor),
            None,
            &run.run_id,
        ),
        (_, Err(e)) => failure(
            format!("the stored input is unreadable: {e}"),
            None,
            &run.run_id,
        ),
        (Some(budget), Ok(request)) => {
            let limit = match config.max_run_time {
                Some(cap) if cap < budget.time_limit => cap,
                _ => budget.time_limit,
            };
            let sink = StoreSink {
                store: store.clone(),
                worker: config.worker_id.clone(),
                run_id: run.run_id.clone(),
                enabled: run.enable_events,
            };
            let previous = match &run.previous_interaction_id {
                Some(id) => previous_interaction(&*store, &run.tenant, id).await,
                None => None,
            };
            let memory_sources = remembered_sources(&*store, &run.tenant, &request).await;
            // `mcp_servers` are used only by runs created with their beta (else the run was
            // warned at creation that they would not be).
            let mcp_servers = if Betas::from_stored(run.betas.as_deref()).has(beta::MCP_SERVER) {
                McpServer::from_request(&request)
            } else {
                Vec::new()
            };
            let task = Task {
                run_id: run.run_id.clone(),
                tenant: run.tenant.clone(),
                budget,
                request,
                previous_interaction_id: run.previous_interaction_id.clone(),
                instructions: None,
                previous,
                memory_sources,
                mcp_servers,
            };
            // A panic in a processor is a bug: it fails this run, saying so, instead of
            // unwinding the task and leaving the run to be claimed and crash again forever.
            let guarded = std::panic::AssertUnwindSafe(processor.run(task, &sink)).catch_unwind();
            match tokio::time::timeout(limit, guarded).await {
                Ok(Err(panic)) => {
                    let cause = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    tracing::error!(run_id = %run.run_id, %cause, "the processor panicked");
                    failure(
                        "Internal error: the research pipeline crashed on this run; the server log has the cause under this ref_id".into(),
                        None,
                        &run.run_id,
                    )
                }
                Ok(Ok(result)) => match result {
                    Ok(output) => RunOutcome::Completed {
                        output: output.output.to_string(),
                        warnings: (!output.warnings.is_empty())
                            .then(|| serde_json::Value::from(output.warnings).to_string()),
                    },
                    Err(f) => failure(f.message, f.detail, &run.run_id),
                },
                Err(_) => failure(
                    format!(
                        "the run exceeded its time limit of {} s (processor {})",
                        limit.as_secs_f64(),
                        run.processor
                    ),
                    None,
                    &run.run_id,
                ),
            }
        }
    };
    let mut delay = Duration::from_millis(50);

    for attempt in 1..=5 {
        match store
            .finish_run(&config.worker_id, &run.run_id, outcome.clone())
            .await
        {
            Ok(true) => {
                let end = match outcome {
                    RunOutcome::Completed { .. } => parallax_metrics::RunEnd::Completed,
                    RunOutcome::Failed { .. } => parallax_metrics::RunEnd::Failed,
                    RunOutcome::Cancelled => parallax_metrics::RunEnd::Cancelled,
                };
                parallax_metrics::run_finished(&run.processor, end);
                return;
            }
            Ok(false) => {
                tracing::warn!(run_id = %run.run_id, "the run was no longer ours when it ended; its result is dropped");
                return;
            }
            Err(e) => {
                tracing::error!(run_id = %run.run_id, attempt, error = %e, "storing the run's end failed");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
}
