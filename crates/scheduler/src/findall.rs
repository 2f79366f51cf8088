//! Running FindAll runs: claims queued runs from the store and works each to its end through
//! the engine's [`Finder`] (and the task-run [`Processor`] for enrichments).
//!
//! FindAll runs have their own loop and their own slots (`FindAllConfig::concurrency`), so a
//! few long FindAll runs never hold the slots task runs need, nor the reverse; among tenants
//! the store claims fairly (the tenant with the fewest FindAll runs in progress first).
//! The loop wakes when
//! - a [`Notice::Queued`] arrives (a run was created, extended, enriched or released), or the
//!   notice channel lagged;
//! - one of its runs finishes and a slot frees;
//! - the poll tick fires: it then queues again runs whose lease expired (a dead node's);
//! - the heartbeat tick fires (a third of the lease): it renews its leases and stops any run
//!   it no longer holds (cancelled by a client, or lost);
//! - shutdown is asked: it stops its runs and puts them back in the queue.
//!
//! A run's work is re-entrant: every candidate and decision is recorded as it is made, and a
//! run claimed again resumes from what is recorded (generation is not redone once done, a
//! decided candidate is never evaluated again).

use futures::StreamExt;
use parallax_api::findall::{Candidate, FindAllSchema, Generator, MatchStatus, TerminationReason};
use parallax_engine::findall::Finder;
use parallax_engine::Quiet;
use parallax_engine::{budget, Processor, Task};
use parallax_store::findall::{ClaimedFindAll, FindAllWork, NewCandidate, WorkAck};
use parallax_store::{Lease, Notice, Store};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio::task::{AbortHandle, JoinSet};

/// How the FindAll loop runs.
#[derive(Debug, Clone)]
pub struct FindAllConfig {
    /// Unique name of this worker in the store's leases.
    pub worker_id: String,
    /// Most FindAll runs worked on at once by this process.
    pub concurrency: usize,
    /// Candidates of one run evaluated at once.
    pub evaluations: usize,
    /// How long a claim holds without a heartbeat.
    pub lease: Duration,
    /// How often to look for work and expired leases without being told.
    pub poll_interval: Duration,
}

impl Default for FindAllConfig {
    fn default() -> Self {
        FindAllConfig {
            worker_id: format!("findall-{}", uuid::Uuid::new_v4()),
            concurrency: 4,
            evaluations: 4,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// A run's evaluations stop for a low match rate once at least this many were made and fewer
/// than one in [`LOW_RATE_ONE_IN`] matched.
const LOW_RATE_AFTER: usize = 40;
const LOW_RATE_ONE_IN: usize = 25;

/// Longest a FindAll run works before it ends with `timeout`, by generator.
fn time_limit(generator: Generator) -> Duration {
    Duration::from_secs(match generator {
        Generator::Preview => 300,
        Generator::Base => 900,
        Generator::Core => 1800,
        Generator::Pro => 3600,
    })
}

/// The running FindAll loop; [`FindAllScheduler::shutdown`] gives claimed runs back.
pub struct FindAllScheduler {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl FindAllScheduler {
    pub fn start(
        store: Arc<dyn Store>,
        finder: Arc<dyn Finder>,
        processor: Arc<dyn Processor>,
        config: FindAllConfig,
    ) -> FindAllScheduler {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run_loop(store, finder, processor, config, stopped));
        FindAllScheduler { stop, task }
    }

    /// Stops claiming, stops the runs in progress and queues them again; returns when done.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn run_loop(
    store: Arc<dyn Store>,
    finder: Arc<dyn Finder>,
    processor: Arc<dyn Processor>,
    config: FindAllConfig,
    mut stopped: watch::Receiver<bool>,
) {
    let mut notices = store.subscribe();
    let mut running: JoinSet<String> = JoinSet::new();
    let mut active: HashMap<String, AbortHandle> = HashMap::new();
    let mut poll = tokio::time::interval(config.poll_interval);
    let mut heartbeat = tokio::time::interval(config.lease / 3);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut look_for_work = true;
    loop {
        let free = config.concurrency.saturating_sub(active.len());
        if look_for_work && free > 0 {
            look_for_work = false;
            match store
                .claim_findall(Lease::new(&config.worker_id, config.lease), free)
                .await
            {
                Ok(claimed) => {
                    look_for_work = claimed.len() == free;
                    for run in claimed {
                        let id = run.findall_id.clone();
                        let job = work(
                            store.clone(),
                            finder.clone(),
                            processor.clone(),
                            config.clone(),
                            run,
                        );
                        let done_id = id.clone();
                        let handle = running.spawn(async move {
                            job.await;
                            done_id
                        });
                        active.insert(id, handle);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "claiming FindAll runs failed; retrying at the next poll")
                }
            }
        }
        tokio::select! {
            _ = stopped.changed() => break,
            Some(done) = running.join_next(), if !running.is_empty() => {
                match done {
                    Ok(id) => { active.remove(&id); }
                    Err(_) => active.retain(|_, h| !h.is_finished()),
                }
                look_for_work = true;
            }
            notice = notices.recv() => match notice {
                Ok(Notice::Queued) | Err(broadcast::error::RecvError::Lagged(_)) => look_for_work = true,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = poll.tick() => {
                if let Err(e) = store.requeue_expired_findall().await {
                    tracing::error!(error = %e, "queueing expired FindAll runs again failed");
                }
                look_for_work = true;
            }
            _ = heartbeat.tick(), if !active.is_empty() => {
                let ids: Vec<String> = active.keys().cloned().collect();
                match store.heartbeat_findall(Lease::new(&config.worker_id, config.lease), &ids).await {
                    Ok(lost) => for id in lost {
                        tracing::info!(findall_id = %id, "FindAll run no longer held (cancelled or lease lost); stopping it");
                        if let Some(handle) = active.remove(&id) {
                            handle.abort();
                        }
                    },
                    Err(e) => tracing::error!(error = %e, "FindAll heartbeat failed"),
                }
            }
        }
    }
    running.abort_all();
    while running.join_next().await.is_some() {}
    let ids: Vec<String> = active.into_keys().collect();
    if !ids.is_empty() {
        match store.release_findall(&config.worker_id, &ids).await {
            Ok(n) => tracing::info!(runs = n, "queued FindAll runs again for shutdown"),
            Err(e) => {
                tracing::error!(error = %e, "releasing FindAll runs failed; they return to the queue when their lease expires")
            }
        }
    }
}

/// Why a run's work stopped early.
enum Stop {
    /// The worker no longer holds the run (cancelled, lease lost): nothing more to write.
    Lost,
    /// The store failed; the lease will expire and another claim resumes the run.
    Store(parallax_store::StoreError),
}

/// The worker's view of one run while it works on it.
struct RunState {
    store: Arc<dyn Store>,
    worker: String,
    findall_id: String,
    schema: FindAllSchema,
    match_limit: i64,
    matched: i64,
}

impl RunState {
    async fn write(&mut self, work: FindAllWork) -> Result<WorkAck, Stop> {
        match self
            .store
            .findall_work(&self.worker, &self.findall_id, work)
            .await
        {
            Ok(Some(ack)) => {
                self.schema = ack.schema.clone();
                self.match_limit = ack.match_limit;
                self.matched = ack.matched;
                Ok(ack)
            }
            Ok(None) => Err(Stop::Lost),
            Err(e) => Err(Stop::Store(e)),
        }
    }

    fn enrichments(&self) -> usize {
        self.schema.enrichments.as_ref().map_or(0, Vec::len)
    }
}

async fn work(
    store: Arc<dyn Store>,
    finder: Arc<dyn Finder>,
    processor: Arc<dyn Processor>,
    config: FindAllConfig,
    run: ClaimedFindAll,
) {
    let id = run.findall_id.clone();
    let generator = run.generator;
    let mut state = RunState {
        store: store.clone(),
        worker: config.worker_id.clone(),
        findall_id: id.clone(),
        schema: run.schema.clone(),
        match_limit: run.match_limit,
        matched: run
            .candidates
            .iter()
            .filter(|c| c.candidate.match_status == MatchStatus::Matched)
            .count() as i64,
    };
    let outcome = tokio::time::timeout(
        time_limit(generator),
        work_to_end(&mut state, &*finder, &*processor, &config, run),
    )
    .await;
    let ending = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(Stop::Lost)) => return,
        Ok(Err(Stop::Store(e))) => {
            tracing::error!(findall_id = %id, error = %e, "a FindAll write failed; the run resumes when its lease expires");
            return;
        }
        Err(_) => FindAllWork::Finish {
            reason: TerminationReason::Timeout,
            enrichments: state.enrichments(),
        },
    };
    if let Err(Stop::Store(e)) = state.write(ending).await {
        tracing::error!(findall_id = %id, error = %e, "ending a FindAll run failed");
    }
}

/// Works the run until it ends (generation, evaluation, enrichment), re-reading what changed
/// under it (a higher limit, a new enrichment) before it ends.
async fn work_to_end(
    state: &mut RunState,
    finder: &dyn Finder,
    processor: &dyn Processor,
    config: &FindAllConfig,
    run: ClaimedFindAll,
) -> Result<(), Stop> {
    let ClaimedFindAll {
        tenant,
        schema,
        exclude,
        generator,
        generation_done,
        previous_reason,
        candidates,
        ..
    } = run;
    let mut candidates: Vec<(Candidate, i64)> = candidates
        .into_iter()
        .map(|c| (c.candidate, c.enriched))
        .collect();
    let mut low_rate = false;

    if !generation_done && state.matched < state.match_limit {
        let found = match finder.generate(&tenant, &schema, generator, &exclude).await {
            Ok(found) => found,
            Err(message) => {
                state.write(FindAllWork::Fail { message }).await?;
                return Ok(());
            }
        };
        tracing::info!(findall_id = %state.findall_id, candidates = found.len(), "FindAll candidates generated");
        // In batches, so a stream shows candidates as they are recorded and no one
        // transaction grows large.
        for batch in found.chunks(50) {
            let ack = state
                .write(FindAllWork::AddCandidates(
                    batch
                        .iter()
                        .map(|f| NewCandidate {
                            key: f.key.clone(),
                            name: f.name.clone(),
                            url: f.url.clone(),
                            description: f.description.clone(),
                        })
                        .collect(),
                ))
                .await?;
            candidates.extend(ack.added.into_iter().map(|c| (c.candidate, c.enriched)));
        }
        state.write(FindAllWork::GenerationDone).await?;
    }

    loop {
        // Evaluate candidates not yet decided, in order, until the limit is met.
        let pending: Vec<Candidate> = candidates
            .iter()
            .filter(|(c, _)| c.match_status == MatchStatus::Generated)
            .map(|(c, _)| c.clone())
            .collect();
        let evaluated_before = candidates
            .iter()
            .filter(|(c, _)| c.match_status != MatchStatus::Generated)
            .count();
        if state.matched < state.match_limit && !pending.is_empty() {
            let schema_now = state.schema.clone();
            let mut verdicts = futures::stream::iter(pending.into_iter().map(|c| {
                let (tenant, schema) = (&tenant, &schema_now);
                async move {
                    let verdict = finder.evaluate(tenant, schema, generator, &c).await;
                    (c, verdict)
                }
            }))
            .buffered(config.evaluations.max(1));
            let mut evaluated = evaluated_before;
            while let Some((candidate, verdict)) = verdicts.next().await {
                // Matches past the limit are not recorded: the candidate stays `generated`
                // for an extension to decide.
                if verdict.status == MatchStatus::Matched && state.matched >= state.match_limit {
                    continue;
                }
                let ack = state
                    .write(FindAllWork::Decide {
                        candidate_id: candidate.candidate_id.clone(),
                        status: verdict.status,
                        output: Value::Object(verdict.output.clone()).to_string(),
                        basis: Value::Array(verdict.basis.clone()).to_string(),
                    })
                    .await?;
                // Not applied means it was decided already: either way it is decided now.
                if let Some(slot) = candidates
                    .iter_mut()
                    .find(|(c, _)| c.candidate_id == candidate.candidate_id)
                {
                    slot.0.match_status = verdict.status;
                    if ack.applied {
                        slot.0.output = Some(Value::Object(verdict.output).to_string());
                        slot.0.basis = Some(Value::Array(verdict.basis).to_string());
                    }
                }
                evaluated += 1;
                if state.matched >= state.match_limit {
                    break;
                }
                if evaluated >= LOW_RATE_AFTER
                    && (state.matched as usize) * LOW_RATE_ONE_IN < evaluated
                {
                    low_rate = true;
                    break;
                }
            }
        }

        // Enrich matched candidates with every enrichment they have not had.
        enrich(state, processor, &tenant, &mut candidates).await?;

        let reason = if state.matched >= state.match_limit {
            TerminationReason::MatchLimitMet
        } else if low_rate {
            TerminationReason::LowMatchRate
        } else if candidates
            .iter()
            .any(|(c, _)| c.match_status == MatchStatus::Generated)
        {
            // Left undecided only when matches past an earlier limit were dropped: decide
            // them now.
            continue;
        } else {
            match previous_reason {
                Some(TerminationReason::LowMatchRate) => TerminationReason::LowMatchRate,
                _ => TerminationReason::CandidatesExhausted,
            }
        };
        let ack = state
            .write(FindAllWork::Finish {
                reason,
                enrichments: state.enrichments(),
            })
            .await?;
        if ack.applied {
            tracing::info!(findall_id = %state.findall_id, matched = state.matched, reason = reason.as_str(), "FindAll run ended");
            return Ok(());
        }
        // The run changed under us (a higher limit, a new enrichment): go on.
        low_rate = false;
    }
}

async fn enrich(
    state: &mut RunState,
    processor: &dyn Processor,
    tenant: &str,
    candidates: &mut [(Candidate, i64)],
) -> Result<(), Stop> {
    let enrichments: Vec<Value> = state.schema.enrichments.clone().unwrap_or_default();
    for (candidate, done) in candidates.iter_mut() {
        if candidate.match_status != MatchStatus::Matched || *done as usize >= enrichments.len() {
            continue;
        }
        let mut output: Map<String, Value> = candidate
            .output
            .as_deref()
            .and_then(|o| serde_json::from_str(o).ok())
            .unwrap_or_default();
        let mut basis: Vec<Value> = candidate
            .basis
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or_default();
        for enrichment in &enrichments[*done as usize..] {
            let (fields, field_basis) =
                run_enrichment(processor, tenant, candidate, enrichment).await;
            for (field, value) in fields {
                output.insert(field, json!({"value": value, "type": "enrichment"}));
            }
            basis.extend(field_basis);
        }
        let total = enrichments.len() as i64;
        let output_text = Value::Object(output).to_string();
        let basis_text = Value::Array(basis).to_string();
        state
            .write(FindAllWork::Enriched {
                candidate_id: candidate.candidate_id.clone(),
                output: output_text.clone(),
                basis: basis_text.clone(),
                enriched: total,
            })
            .await?;
        candidate.output = Some(output_text);
        candidate.basis = Some(basis_text);
        *done = total;
    }
    Ok(())
}

/// One enrichment of one candidate: a task run of the enrichment's processor with the
/// candidate as input. Its output fields, and its basis; a failed run gives each field of the
/// schema `null` with a basis saying why.
async fn run_enrichment(
    processor: &dyn Processor,
    tenant: &str,
    candidate: &Candidate,
    enrichment: &Value,
) -> (Vec<(String, Value)>, Vec<Value>) {
    let processor_name = enrichment["processor"].as_str().unwrap_or("core");
    let fields: Vec<String> = enrichment["output_schema"]["json_schema"]["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let failed = |why: String| {
        (
            fields.iter().map(|f| (f.clone(), Value::Null)).collect(),
            fields
                .iter()
                .map(
                    |f| json!({"field": f, "citations": [], "reasoning": why, "confidence": "low"}),
                )
                .collect(),
        )
    };
    let Some(budget) = budget::lookup(processor_name) else {
        return failed(format!("processor {processor_name:?} does not exist"));
    };
    let task = Task {
        run_id: candidate.candidate_id.clone(),
        tenant: tenant.to_string(),
        budget,
        request: json!({
            "processor": processor_name,
            "input": {
                "name": candidate.name,
                "url": candidate.url,
                "description": candidate.description,
            },
            "task_spec": {"output_schema": enrichment["output_schema"]},
        }),
        previous_interaction_id: None,
        instructions: None,
        previous: None,
        memory_sources: Vec::new(),
        mcp_servers: Vec::new(),
    };
    match tokio::time::timeout(budget.time_limit, processor.run(task, &Quiet)).await {
        Ok(Ok(out)) => {
            let content = out.output["content"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let basis = out.output["basis"].as_array().cloned().unwrap_or_default();
            (content.into_iter().collect(), basis)
        }
        Ok(Err(failure)) => failed(format!("The enrichment run failed: {}", failure.message)),
        Err(_) => failed("The enrichment run exceeded its time limit".into()),
    }
}
