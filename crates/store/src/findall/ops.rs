//! Each FindAll operation, once, over either backend's transaction (see the module above).

use super::*;
use crate::sql::{Row, Tx};
use crate::StoreError;
use parallax_api::findall::{findall_event_json, FindAllStatus, MATCH_LIMIT_MAX};
use parallax_api::{ids, webhook};
use std::sync::Arc;

/// Columns that make a [`FindAllRun`], then its schema and last event, as [`run_of`] reads
/// them.
const RUN_COLUMNS: &str = "findall_id, status, generator, metadata, n_generated, n_matched,
    termination_reason, created_at, modified_at, schema_doc, event_seq";

/// Columns of a candidate, as [`candidate_of`] reads them.
const CANDIDATE_COLUMNS: &str =
    "candidate_id, name, url, description, match_status, output, basis, dedup_key, enriched";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown FindAll {what} {value:?}"))
}

fn run_of(row: &Row) -> Result<FindAllView> {
    let status_text = row.text(1)?;
    let status =
        FindAllStatus::parse(&status_text).ok_or_else(|| corrupt("status", &status_text))?;
    let generator_text = row.text(2)?;
    let generator =
        Generator::parse(&generator_text).ok_or_else(|| corrupt("generator", &generator_text))?;
    // An active run shows no reason, even one kept from before an enrich queued it again.
    let termination_reason = match row.opt_text(6)? {
        Some(r) if !status.is_active() => {
            Some(TerminationReason::parse(&r).ok_or_else(|| corrupt("termination reason", &r))?)
        }
        _ => None,
    };
    let schema = FindAllSchema::from_json(&row.text(9)?).map_err(StoreError::Corrupt)?;
    Ok(FindAllView {
        run: FindAllRun {
            findall_id: row.text(0)?,
            status,
            generator,
            metadata: row.opt_text(3)?,
            generated: row.int(4)?,
            matched: row.int(5)?,
            termination_reason,
            created_at: row.int(7)?,
            modified_at: row.int(8)?,
        },
        schema,
        last_event_id: row.int(10)?,
    })
}

fn candidate_of(row: &Row) -> Result<CandidateRecord> {
    let status_text = row.text(4)?;
    Ok(CandidateRecord {
        candidate: Candidate {
            candidate_id: row.text(0)?,
            name: row.text(1)?,
            url: row.text(2)?,
            description: row.opt_text(3)?,
            match_status: MatchStatus::parse(&status_text)
                .ok_or_else(|| corrupt("match status", &status_text))?,
            output: row.opt_text(5)?,
            basis: row.opt_text(6)?,
        },
        key: row.text(7)?,
        enriched: row.int(8)?,
    })
}

fn notice(findall_id: &str) -> Notice {
    Notice::FindAll(Arc::from(findall_id))
}

/// Carries out `op` in `tx`; see [`FindAllOp`].
pub(crate) async fn execute<T: Tx>(tx: &mut T, op: FindAllOp, now: i64) -> Executed {
    match op {
        FindAllOp::Create { tenant, run } => create(tx, &tenant, *run, now).await,
        FindAllOp::Get { tenant, findall_id } => Ok((
            FindAllReply::View(load(tx, &findall_id, Some(&tenant), false).await?),
            Vec::new(),
        )),
        FindAllOp::Candidates { tenant, findall_id } => {
            let reply = match load(tx, &findall_id, Some(&tenant), false).await? {
                None => None,
                Some(_) => Some(
                    candidates(tx, &findall_id)
                        .await?
                        .into_iter()
                        .map(|c| c.candidate)
                        .collect(),
                ),
            };
            Ok((FindAllReply::Candidates(reply), Vec::new()))
        }
        FindAllOp::EventsAfter {
            tenant,
            findall_id,
            after,
            limit,
        } => {
            let Some(view) = load(tx, &findall_id, Some(&tenant), false).await? else {
                return Ok((FindAllReply::Events(None), Vec::new()));
            };
            let rows = tx
                .rows(
                    "SELECT seq, kind, data, created_at FROM findall_events
                     WHERE findall_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                    &[
                        findall_id.as_str().into(),
                        after.into(),
                        (limit as i64).into(),
                    ],
                )
                .await?;
            let events = rows
                .iter()
                .map(|r| {
                    let kind_text = r.text(1)?;
                    Ok(FindAllEventRecord {
                        seq: r.int(0)?,
                        kind: FindAllEventKind::parse(&kind_text)
                            .ok_or_else(|| corrupt("event kind", &kind_text))?,
                        document: r.text(2)?,
                        created_at: r.int(3)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok((
                FindAllReply::Events(Some(FindAllEvents {
                    events,
                    run: view.run,
                    last_event_id: view.last_event_id,
                })),
                Vec::new(),
            ))
        }
        FindAllOp::Change {
            tenant,
            findall_id,
            change,
        } => change_run(tx, &tenant, &findall_id, change, now).await,
        FindAllOp::Claim { worker, ttl, limit } => claim(tx, &worker, ttl, limit, now).await,
        FindAllOp::Heartbeat { worker, ttl, ids } => {
            let mut lost = Vec::new();
            for id in ids {
                let n = tx
                    .exec(
                        "UPDATE findall_runs SET lease_expires_at = $1
                         WHERE findall_id = $2 AND lease_owner = $3 AND status = 'running'",
                        &[
                            lease_end(ttl, now).into(),
                            id.as_str().into(),
                            worker.as_str().into(),
                        ],
                    )
                    .await?;
                if n == 0 {
                    lost.push(id);
                }
            }
            Ok((FindAllReply::Ids(lost), Vec::new()))
        }
        FindAllOp::Work {
            worker,
            findall_id,
            work,
        } => work_on(tx, &worker, &findall_id, work, now).await,
        FindAllOp::Release { worker, ids } => {
            let mut released = Vec::new();
            for id in ids {
                if requeue_one(tx, &id, Some(&worker), now).await? {
                    released.push(id);
                }
            }
            Ok(requeued(released))
        }
        FindAllOp::Requeue { all } => {
            let lock = tx.lock_rows_skip_locked();
            let sql = format!(
                "SELECT findall_id FROM findall_runs
                 WHERE status = 'running' AND (CAST($1 AS BIGINT) = 1 OR lease_expires_at < $2)
                 ORDER BY findall_id{lock}"
            );
            let rows = tx.rows(&sql, &[i64::from(all).into(), now.into()]).await?;
            let mut ids = Vec::new();
            for row in rows {
                let id = row.text(0)?;
                if requeue_one(tx, &id, None, now).await? {
                    ids.push(id);
                }
            }
            Ok(requeued(ids))
        }
    }
}

fn requeued(ids: Vec<String>) -> (FindAllReply, Vec<Notice>) {
    let mut notices: Vec<Notice> = ids.iter().map(|id| notice(id)).collect();
    if !ids.is_empty() {
        notices.push(Notice::Queued);
    }
    (FindAllReply::Ids(ids), notices)
}

fn lease_end(ttl: Duration, now: i64) -> i64 {
    now.saturating_add(i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX / 2))
}

/// The run, if it exists (and belongs to `tenant`, when given), its row locked when `lock`.
async fn load<T: Tx>(
    tx: &mut T,
    findall_id: &str,
    tenant: Option<&str>,
    lock: bool,
) -> Result<Option<FindAllView>> {
    let lock = if lock { tx.lock_rows() } else { "" };
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM findall_runs
         WHERE findall_id = $1 AND ($2 = '' OR tenant_id = $2){lock}"
    );
    let rows = tx
        .rows(&sql, &[findall_id.into(), tenant.unwrap_or("").into()])
        .await?;
    rows.first().map(run_of).transpose()
}

async fn candidates<T: Tx>(tx: &mut T, findall_id: &str) -> Result<Vec<CandidateRecord>> {
    let sql = format!(
        "SELECT {CANDIDATE_COLUMNS} FROM findall_candidates WHERE findall_id = $1 ORDER BY position"
    );
    tx.rows(&sql, &[findall_id.into()])
        .await?
        .iter()
        .map(candidate_of)
        .collect()
}

/// Whether a webhook subscribed as `events` (empty: the run's end only) gets an event.
fn subscribed(events: &[String], kind: FindAllEventKind, terminal: bool) -> bool {
    match kind {
        FindAllEventKind::Status => {
            terminal && (events.is_empty() || events.iter().any(|e| e == kind.as_str()))
        }
        _ => events.iter().any(|e| e == kind.as_str()),
    }
}

/// Appends an event to the run's log (the run's row is locked by the caller's earlier write
/// or read), and queues its webhook delivery when the run's webhook subscribed to it.
async fn append<T: Tx>(
    tx: &mut T,
    findall_id: &str,
    kind: FindAllEventKind,
    document: &str,
    terminal: bool,
    now: i64,
) -> Result<i64> {
    let rows = tx
        .rows(
            "UPDATE findall_runs SET event_seq = event_seq + 1 WHERE findall_id = $1
             RETURNING event_seq, tenant_id, webhook_url, webhook_events",
            &[findall_id.into()],
        )
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Corrupt(format!("FindAll run {findall_id} vanished")))?;
    let seq = row.int(0)?;
    tx.exec(
        "INSERT INTO findall_events (findall_id, seq, kind, data, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            findall_id.into(),
            seq.into(),
            kind.as_str().into(),
            document.into(),
            now.into(),
        ],
    )
    .await?;
    if let Some(url) = row.opt_text(2)? {
        let events: Vec<String> = match row.opt_text(3)? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("webhook events: {e}")))?,
            None => Vec::new(),
        };
        if subscribed(&events, kind, terminal) {
            tx.exec(
                "INSERT INTO webhook_deliveries (delivery_id, tenant_id, run_id, url, body, state,
                    next_attempt_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)",
                &[
                    ids::new_id(webhook::DELIVERY_PREFIX).into(),
                    row.text(1)?.into(),
                    findall_id.into(),
                    url.into(),
                    findall_event_json(&seq.to_string(), kind, now, document).into(),
                    now.into(),
                ],
            )
            .await?;
        }
    }
    Ok(seq)
}

/// Appends the run's status as it is now.
async fn append_status<T: Tx>(tx: &mut T, findall_id: &str, now: i64) -> Result<FindAllView> {
    let view = load(tx, findall_id, None, false)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("FindAll run {findall_id} vanished")))?;
    let terminal = !view.run.status.is_active();
    append(
        tx,
        findall_id,
        FindAllEventKind::Status,
        &view.run.to_json(),
        terminal,
        now,
    )
    .await?;
    Ok(view)
}

async fn create<T: Tx>(tx: &mut T, tenant: &str, run: FindAllToCreate, now: i64) -> Executed {
    let FindAllToCreate {
        findall_id,
        new,
        created_at,
    } = run;
    let exclude = (!new.exclude.is_empty())
        .then(|| serde_json::to_string(&new.exclude).expect("exclusions always serialise"));
    let webhook_events = (!new.webhook_events.is_empty())
        .then(|| serde_json::to_string(&new.webhook_events).expect("strings always serialise"));
    let schema = new.schema.to_json();
    tx.exec(
        "INSERT INTO findall_runs (findall_id, tenant_id, status, generator, schema_doc,
            exclude_doc, metadata, match_limit, webhook_url, webhook_events, created_at, modified_at)
         VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        &[
            findall_id.as_str().into(),
            tenant.into(),
            new.generator.as_str().into(),
            schema.as_str().into(),
            exclude.into(),
            new.metadata.into(),
            new.match_limit.into(),
            new.webhook_url.into(),
            webhook_events.into(),
            created_at.into(),
        ],
    )
    .await?;
    crate::memory::ops::record(
        tx,
        crate::memory::ops::Record {
            tenant,
            scope: new.memory_scope_key.as_deref(),
            kind: parallax_api::memory::MemoryKind::FindAll,
            id: &findall_id,
            input: &new.schema.objective,
            output: "",
            sources: &[],
            status: None,
            matched_count: Some(0),
            updated_at: created_at,
        },
    )
    .await?;
    append(
        tx,
        &findall_id,
        FindAllEventKind::SchemaUpdated,
        &schema,
        false,
        now,
    )
    .await?;
    let view = append_status(tx, &findall_id, now).await?;
    Ok((
        FindAllReply::Created(view.run),
        vec![notice(&findall_id), Notice::Queued],
    ))
}

async fn change_run<T: Tx>(
    tx: &mut T,
    tenant: &str,
    findall_id: &str,
    change: FindAllChange,
    now: i64,
) -> Executed {
    let Some(view) = load(tx, findall_id, Some(tenant), true).await? else {
        return Ok((FindAllReply::Changed(ChangeOutcome::NotFound), Vec::new()));
    };
    let status = view.run.status;
    let reason = view.run.termination_reason;
    let ended = || {
        Ok((
            FindAllReply::Changed(ChangeOutcome::Refused(ChangeRefusal::Ended {
                status: status.as_str().into(),
                reason: reason.map(|r| r.as_str().into()),
            })),
            Vec::new(),
        ))
    };
    let mut schema = view.schema.clone();
    let mut notices = vec![notice(findall_id)];
    match change {
        FindAllChange::Cancel => {
            if !status.is_active() {
                return ended();
            }
            tx.exec(
                "UPDATE findall_runs SET status = 'cancelled', termination_reason = 'user_cancelled',
                    lease_owner = NULL, lease_expires_at = NULL, modified_at = $1
                 WHERE findall_id = $2",
                &[now.into(), findall_id.into()],
            )
            .await?;
            let view = append_status(tx, findall_id, now).await?;
            return Ok((FindAllReply::Changed(ChangeOutcome::Changed(view)), notices));
        }
        FindAllChange::Extend(more) => {
            let limit = schema.match_limit.unwrap_or(0).saturating_add(more);
            let again = status == FindAllStatus::Completed
                && reason == Some(TerminationReason::MatchLimitMet);
            if !status.is_active() && !again {
                return ended();
            }
            if limit > MATCH_LIMIT_MAX {
                return Ok((
                    FindAllReply::Changed(ChangeOutcome::Refused(ChangeRefusal::LimitTooHigh {
                        limit,
                    })),
                    Vec::new(),
                ));
            }
            schema.match_limit = Some(limit);
            let requeue = i64::from(again);
            tx.exec(
                "UPDATE findall_runs SET match_limit = $1, schema_doc = $2, modified_at = $3,
                    status = CASE WHEN CAST($4 AS BIGINT) = 1 THEN 'queued' ELSE status END,
                    termination_reason = CASE WHEN CAST($4 AS BIGINT) = 1 THEN NULL ELSE termination_reason END
                 WHERE findall_id = $5",
                &[
                    limit.into(),
                    schema.to_json().into(),
                    now.into(),
                    requeue.into(),
                    findall_id.into(),
                ],
            )
            .await?;
            if again {
                notices.push(Notice::Queued);
            }
        }
        FindAllChange::Enrich(enrichment) => {
            if matches!(status, FindAllStatus::Cancelled | FindAllStatus::Failed) {
                return ended();
            }
            schema
                .enrichments
                .get_or_insert_with(Vec::new)
                .push(enrichment);
            // A completed run goes back to the queue for the enrichment; it keeps its reason,
            // which it ends with again.
            let requeue = i64::from(status == FindAllStatus::Completed);
            tx.exec(
                "UPDATE findall_runs SET schema_doc = $1, modified_at = $2,
                    status = CASE WHEN CAST($3 AS BIGINT) = 1 THEN 'queued' ELSE status END
                 WHERE findall_id = $4",
                &[
                    schema.to_json().into(),
                    now.into(),
                    requeue.into(),
                    findall_id.into(),
                ],
            )
            .await?;
            if requeue == 1 {
                notices.push(Notice::Queued);
            }
        }
    }
    append(
        tx,
        findall_id,
        FindAllEventKind::SchemaUpdated,
        &schema.to_json(),
        false,
        now,
    )
    .await?;
    let view = load(tx, findall_id, None, false)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("FindAll run {findall_id} vanished")))?;
    let view = if view.run.status != status {
        append_status(tx, findall_id, now).await?
    } else {
        view
    };
    Ok((FindAllReply::Changed(ChangeOutcome::Changed(view)), notices))
}

async fn claim<T: Tx>(tx: &mut T, worker: &str, ttl: Duration, limit: usize, now: i64) -> Executed {
    // The tenant with the fewest runs in progress first, then the oldest run.
    let lock = tx.lock_rows_skip_locked();
    let sql = format!(
        "SELECT findall_id FROM findall_runs f WHERE status = 'queued'
         ORDER BY (SELECT COUNT(*) FROM findall_runs r
                   WHERE r.tenant_id = f.tenant_id AND r.status = 'running'),
                  created_at, findall_id
         LIMIT $1{lock}"
    );
    let ids = tx.rows(&sql, &[(limit as i64).into()]).await?;
    let mut claimed = Vec::new();
    let mut notices = Vec::new();
    for row in ids {
        let id = row.text(0)?;
        let rows = tx
            .rows(
                "UPDATE findall_runs SET status = 'running', lease_owner = $1,
                    lease_expires_at = $2, attempts = attempts + 1, modified_at = $3
                 WHERE findall_id = $4 AND status = 'queued'
                 RETURNING tenant_id, schema_doc, exclude_doc, generator, match_limit, attempts,
                    generation_done, termination_reason",
                &[
                    worker.into(),
                    lease_end(ttl, now).into(),
                    now.into(),
                    id.as_str().into(),
                ],
            )
            .await?;
        let Some(row) = rows.first() else { continue };
        let generator_text = row.text(3)?;
        let exclude = match row.opt_text(2)? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("exclude list: {e}")))?,
            None => Vec::new(),
        };
        let previous_reason = row
            .opt_text(7)?
            .map(|r| TerminationReason::parse(&r).ok_or_else(|| corrupt("termination reason", &r)))
            .transpose()?;
        let mut run = ClaimedFindAll {
            tenant: row.text(0)?,
            findall_id: id.clone(),
            schema: FindAllSchema::from_json(&row.text(1)?).map_err(StoreError::Corrupt)?,
            exclude,
            generator: Generator::parse(&generator_text)
                .ok_or_else(|| corrupt("generator", &generator_text))?,
            match_limit: row.int(4)?,
            attempt: row.int(5)?,
            generation_done: row.int(6)? != 0,
            previous_reason,
            candidates: Vec::new(),
        };
        append_status(tx, &id, now).await?;
        run.candidates = candidates(tx, &id).await?;
        notices.push(notice(&id));
        claimed.push(run);
    }
    Ok((FindAllReply::Claimed(claimed), notices))
}

/// Puts a running run back in the queue (held by `worker`, when given); whether it was.
async fn requeue_one<T: Tx>(
    tx: &mut T,
    findall_id: &str,
    worker: Option<&str>,
    now: i64,
) -> Result<bool> {
    let n = tx
        .exec(
            "UPDATE findall_runs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL,
                modified_at = $1
             WHERE findall_id = $2 AND status = 'running' AND ($3 = '' OR lease_owner = $3)",
            &[now.into(), findall_id.into(), worker.unwrap_or("").into()],
        )
        .await?;
    if n > 0 {
        append_status(tx, findall_id, now).await?;
    }
    Ok(n > 0)
}

async fn work_on<T: Tx>(
    tx: &mut T,
    worker: &str,
    findall_id: &str,
    work: FindAllWork,
    now: i64,
) -> Executed {
    let lock = tx.lock_rows();
    let held = tx
        .rows(
            &format!(
                "SELECT findall_id FROM findall_runs
                 WHERE findall_id = $1 AND lease_owner = $2 AND status = 'running'{lock}"
            ),
            &[findall_id.into(), worker.into()],
        )
        .await?;
    if held.is_empty() {
        return Ok((FindAllReply::Work(None), Vec::new()));
    }
    let mut added = Vec::new();
    let mut applied = true;
    match work {
        FindAllWork::AddCandidates(new) => {
            for c in new {
                let exists = tx
                    .rows(
                        "SELECT position FROM findall_candidates WHERE findall_id = $1 AND dedup_key = $2",
                        &[findall_id.into(), c.key.as_str().into()],
                    )
                    .await?;
                if !exists.is_empty() {
                    continue;
                }
                let position = tx
                    .rows(
                        "UPDATE findall_runs SET candidate_seq = candidate_seq + 1,
                            n_generated = n_generated + 1, modified_at = $2
                         WHERE findall_id = $1 RETURNING candidate_seq",
                        &[findall_id.into(), now.into()],
                    )
                    .await?
                    .first()
                    .map(|r| r.int(0))
                    .transpose()?
                    .unwrap_or(0);
                let candidate = Candidate {
                    candidate_id: Candidate::new_id(),
                    name: c.name,
                    url: c.url,
                    description: c.description,
                    match_status: MatchStatus::Generated,
                    output: None,
                    basis: None,
                };
                tx.exec(
                    "INSERT INTO findall_candidates (findall_id, position, candidate_id, dedup_key,
                        name, url, description, match_status, created_at, modified_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'generated', $8, $8)",
                    &[
                        findall_id.into(),
                        position.into(),
                        candidate.candidate_id.as_str().into(),
                        c.key.as_str().into(),
                        candidate.name.as_str().into(),
                        candidate.url.as_str().into(),
                        candidate.description.clone().into(),
                        now.into(),
                    ],
                )
                .await?;
                append(
                    tx,
                    findall_id,
                    FindAllEventKind::CandidateGenerated,
                    &candidate.to_json(),
                    false,
                    now,
                )
                .await?;
                added.push(CandidateRecord {
                    candidate,
                    key: c.key,
                    enriched: 0,
                });
            }
        }
        FindAllWork::GenerationDone => {
            tx.exec(
                "UPDATE findall_runs SET generation_done = 1 WHERE findall_id = $1",
                &[findall_id.into()],
            )
            .await?;
        }
        FindAllWork::Decide {
            candidate_id,
            status,
            output,
            basis,
        } => {
            let sql = format!(
                "UPDATE findall_candidates SET match_status = $1, output = $2, basis = $3,
                    modified_at = $4
                 WHERE findall_id = $5 AND candidate_id = $6 AND match_status = 'generated'
                 RETURNING {CANDIDATE_COLUMNS}"
            );
            let rows = tx
                .rows(
                    &sql,
                    &[
                        status.as_str().into(),
                        output.into(),
                        basis.into(),
                        now.into(),
                        findall_id.into(),
                        candidate_id.into(),
                    ],
                )
                .await?;
            match rows.first() {
                None => applied = false,
                Some(row) => {
                    let record = candidate_of(row)?;
                    tx.exec(
                        "UPDATE findall_runs SET modified_at = $1,
                            n_matched = n_matched + $2 WHERE findall_id = $3",
                        &[
                            now.into(),
                            i64::from(status == MatchStatus::Matched).into(),
                            findall_id.into(),
                        ],
                    )
                    .await?;
                    if status == MatchStatus::Matched {
                        crate::memory::ops::findall_matched(tx, findall_id, now).await?;
                    }
                    append(
                        tx,
                        findall_id,
                        status.event_kind(),
                        &record.candidate.to_json(),
                        false,
                        now,
                    )
                    .await?;
                }
            }
        }
        FindAllWork::Enriched {
            candidate_id,
            output,
            basis,
            enriched,
        } => {
            let sql = format!(
                "UPDATE findall_candidates SET output = $1, basis = $2, enriched = $3,
                    modified_at = $4
                 WHERE findall_id = $5 AND candidate_id = $6 AND match_status = 'matched'
                 RETURNING {CANDIDATE_COLUMNS}"
            );
            let rows = tx
                .rows(
                    &sql,
                    &[
                        output.into(),
                        basis.into(),
                        enriched.into(),
                        now.into(),
                        findall_id.into(),
                        candidate_id.into(),
                    ],
                )
                .await?;
            match rows.first() {
                None => applied = false,
                Some(row) => {
                    let record = candidate_of(row)?;
                    append(
                        tx,
                        findall_id,
                        FindAllEventKind::CandidateEnriched,
                        &record.candidate.to_json(),
                        false,
                        now,
                    )
                    .await?;
                }
            }
        }
        FindAllWork::Finish {
            reason,
            enrichments,
        } => {
            let view = load(tx, findall_id, None, false)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("FindAll run {findall_id} vanished")))?;
            let known = view.schema.enrichments.as_ref().map_or(0, Vec::len);
            let limit = view.schema.match_limit.unwrap_or(0);
            // Ending for what the worker found (not a timeout or an error) waits for what
            // changed under it: a higher limit, an enrichment it did not know of.
            let found_end = matches!(
                reason,
                TerminationReason::MatchLimitMet
                    | TerminationReason::CandidatesExhausted
                    | TerminationReason::LowMatchRate
            );
            let stale = found_end
                && (known != enrichments
                    || (reason == TerminationReason::MatchLimitMet && view.run.matched < limit));
            if stale {
                applied = false;
            } else {
                end(tx, findall_id, "completed", reason, now).await?;
            }
        }
        FindAllWork::Fail { message } => {
            tracing::warn!(%findall_id, reason = %message, "FindAll run failed");
            end(
                tx,
                findall_id,
                "failed",
                TerminationReason::ErrorOccurred,
                now,
            )
            .await?;
        }
    }
    let view = load(tx, findall_id, None, false)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("FindAll run {findall_id} vanished")))?;
    let ack = WorkAck {
        match_limit: view.schema.match_limit.unwrap_or(0),
        matched: view.run.matched,
        schema: view.schema,
        added,
        applied,
    };
    Ok((FindAllReply::Work(Some(ack)), vec![notice(findall_id)]))
}

async fn end<T: Tx>(
    tx: &mut T,
    findall_id: &str,
    status: &str,
    reason: TerminationReason,
    now: i64,
) -> Result<()> {
    tx.exec(
        "UPDATE findall_runs SET status = $1, termination_reason = $2, lease_owner = NULL,
            lease_expires_at = NULL, modified_at = $3
         WHERE findall_id = $4",
        &[
            status.into(),
            reason.as_str().into(),
            now.into(),
            findall_id.into(),
        ],
    )
    .await?;
    append_status(tx, findall_id, now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_get_the_run_end_unless_they_ask_for_more() {
        let none: Vec<String> = Vec::new();
        assert!(subscribed(&none, FindAllEventKind::Status, true));
        assert!(!subscribed(&none, FindAllEventKind::Status, false));
        assert!(!subscribed(
            &none,
            FindAllEventKind::CandidateMatched,
            false
        ));
        let matched = vec!["findall.candidate.matched".to_string()];
        assert!(subscribed(
            &matched,
            FindAllEventKind::CandidateMatched,
            false
        ));
        assert!(!subscribed(&matched, FindAllEventKind::Status, true));
    }
}
