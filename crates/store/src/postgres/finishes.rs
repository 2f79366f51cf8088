//! The run-ending writer: endings committed in batches, with their state events, webhook
//! deliveries and task-group bookkeeping (see "Group commit of run endings" in the module
//! documentation).

use super::*;

/// Records that runs of one group ended (all of them held locked by this transaction, in the
/// order given): moves the counts, appends one `task_run.state` event per run to the group's
/// log, and, if no run of the group is active any more, a `task_group_status` event. The
/// group row's lock, held to the commit, orders these appends after every earlier one.
pub(super) async fn record_group_runs_ended(
    tx: &deadpool_postgres::Transaction<'_>,
    group: &str,
    runs: &[&TaskRun],
    now: i64,
) -> Result<()> {
    let n = to_i64(runs.len());
    let ended = |status: RunStatus| to_i64(runs.iter().filter(|r| r.status == status).count());
    let stmt = tx
        .prepare_cached(&format!(
            "UPDATE task_groups SET n_pending = n_pending - $1,
                n_completed = n_completed + $2, n_failed = n_failed + $3,
                n_cancelled = n_cancelled + $4, event_seq = event_seq + $1, modified_at = $5
             WHERE taskgroup_id = $6 RETURNING event_seq, {GROUP_STATUS_COLUMNS}"
        ))
        .await?;
    let row = tx
        .query_one(
            &stmt,
            &[
                &n,
                &ended(RunStatus::Completed),
                &ended(RunStatus::Failed),
                &ended(RunStatus::Cancelled),
                &now,
                &group,
            ],
        )
        .await?;
    let last: i64 = row.try_get(0)?;
    let status = rows::status(&row, 1)?;
    let mut events: Vec<(i64, GroupEventKind, String)> = runs
        .iter()
        .zip(last - n + 1..)
        .map(|(run, seq)| {
            let json = run.to_json();
            (seq, GroupEventKind::RunEnded, json)
        })
        .collect();
    if !status.is_active() {
        let seq: i64 = tx
            .query_one(
                "UPDATE task_groups SET event_seq = event_seq + 1 WHERE taskgroup_id = $1
                 RETURNING event_seq",
                &[&group],
            )
            .await?
            .try_get(0)?;
        events.push((seq, GroupEventKind::Status, status.to_json()));
    }
    insert_group_events(tx, group, &events, now).await
}

/// One `finish_run` waiting for the finish writer.
pub(super) struct FinishJob {
    pub(super) worker: String,
    pub(super) run_id: String,
    pub(super) columns: OutcomeColumns,
    /// `None`: the worker no longer held the run. `Some(group)`: finished (in that group).
    pub(super) reply: oneshot::Sender<Result<Option<Option<String>>>>,
}

#[async_trait]
impl BatchedWrite for FinishJob {
    type Outcome = Option<Option<String>>;
    const WHAT: &'static str = "run endings";

    async fn commit(
        client: &mut deadpool_postgres::Client,
        jobs: &[Self],
    ) -> Result<Vec<Self::Outcome>> {
        finish_runs(client, jobs).await
    }

    fn reply(self, outcome: Result<Self::Outcome>) {
        let _ = self.reply.send(outcome);
    }
}

/// Ends the runs of `jobs` that their workers still hold, in one transaction: their state
/// events, webhook deliveries and group bookkeeping. Returns each job's outcome, in order.
pub(super) async fn finish_runs(
    client: &mut deadpool_postgres::Client,
    jobs: &[FinishJob],
) -> Result<Vec<Option<Option<String>>>> {
    let now = now_micros();
    let tx = client.transaction().await?;
    let run_ids: Vec<&str> = jobs.iter().map(|j| j.run_id.as_str()).collect();
    let workers: Vec<&str> = jobs.iter().map(|j| j.worker.as_str()).collect();
    let statuses: Vec<&str> = jobs.iter().map(|j| j.columns.status).collect();
    let outputs: Vec<Option<&str>> = jobs.iter().map(|j| j.columns.output.as_deref()).collect();
    let errors: Vec<Option<&str>> = jobs.iter().map(|j| j.columns.error.as_deref()).collect();
    let warnings: Vec<Option<&str>> = jobs.iter().map(|j| j.columns.warnings.as_deref()).collect();
    let stmt = tx
        .prepare_cached(&format!(
            "UPDATE runs SET status = u.f_status, output = u.f_output, error = u.f_error,
                warnings = {}, lease_owner = NULL, lease_expires_at = NULL,
                modified_at = $7
             FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[])
               AS u(f_run_id, f_worker, f_status, f_output, f_error, f_warnings)
             WHERE runs.run_id = u.f_run_id AND runs.lease_owner = u.f_worker
               AND runs.status = 'running'
             RETURNING {RUN_COLUMNS}, tenant_id, webhook_url, input_doc, output",
            merged_warnings_sql("u.f_warnings")
        ))
        .await?;
    let rows = tx
        .query(
            &stmt,
            &[
                &run_ids, &workers, &statuses, &outputs, &errors, &warnings, &now,
            ],
        )
        .await?;
    let mut ended: HashMap<String, (TaskRun, String, Option<String>)> = HashMap::new();
    for row in &rows {
        let run = rows::task_run(row, 0)?;
        let tenant: String = row.try_get(9)?;
        // A run that completed with output is remembered in its scope, in this transaction.
        if let Some(output) = row.try_get::<_, Option<String>>(12)? {
            let input_doc: String = row.try_get(11)?;
            crate::memory::ops::record_task(
                &mut PgTx(&*tx),
                &tenant,
                &run.run_id,
                &input_doc,
                &output,
                now,
            )
            .await?;
        }
        ended.insert(run.run_id.clone(), (run, tenant, row.try_get(10)?));
    }
    // In the order the workers asked: that is the order their groups' events get.
    let in_order: Vec<&(TaskRun, String, Option<String>)> =
        run_ids.iter().filter_map(|id| ended.get(*id)).collect();
    let events: Vec<(&str, String)> = in_order
        .iter()
        .map(|(run, _, _)| (run.run_id.as_str(), task_run_state_record(run)))
        .collect();
    insert_events(&tx, &events, now).await?;

    let hooked: Vec<&(TaskRun, String, Option<String>)> = in_order
        .iter()
        .copied()
        .filter(|(_, _, url)| url.is_some())
        .collect();
    if !hooked.is_empty() {
        let ids: Vec<String> = hooked
            .iter()
            .map(|_| ids::new_id(webhook::DELIVERY_PREFIX))
            .collect();
        let tenants: Vec<&str> = hooked.iter().map(|(_, t, _)| t.as_str()).collect();
        let runs: Vec<&str> = hooked.iter().map(|(r, _, _)| r.run_id.as_str()).collect();
        let urls: Vec<&str> = hooked
            .iter()
            .map(|(_, _, u)| u.as_deref().unwrap_or_default())
            .collect();
        let bodies: Vec<String> = hooked
            .iter()
            .map(|(r, _, _)| webhook::task_run_status_body(r, now))
            .collect();
        tx.execute(
            "INSERT INTO webhook_deliveries (delivery_id, tenant_id, run_id, url, body, state,
                next_attempt_at, created_at)
             SELECT u.id, u.tenant, u.run, u.url, u.body, 'pending', $6, $6
             FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[])
               AS u(id, tenant, run, url, body)",
            &[&ids, &tenants, &runs, &urls, &bodies, &now],
        )
        .await?;
    }

    let mut groups: std::collections::BTreeMap<&str, Vec<&TaskRun>> = Default::default();
    for (run, _, _) in &in_order {
        if let Some(group) = &run.taskgroup_id {
            groups.entry(group.as_str()).or_default().push(run);
        }
    }
    for (group, runs) in &groups {
        record_group_runs_ended(&tx, group, runs, now).await?;
    }
    let mut payloads: Vec<String> = in_order
        .iter()
        .map(|(run, _, _)| run_payload(&run.run_id))
        .collect();
    payloads.extend(groups.keys().map(|g| group_payload(g)));
    notify(&tx, &payloads).await?;
    commit(tx).await.map_err(commit_error)?;
    Ok(jobs
        .iter()
        .map(|job| {
            ended
                .get(&job.run_id)
                .map(|(run, _, _)| run.taskgroup_id.clone())
        })
        .collect())
}

pub(super) async fn insert_group_events(
    tx: &deadpool_postgres::Transaction<'_>,
    group: &str,
    events: &[(i64, GroupEventKind, String)],
    now: i64,
) -> Result<()> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO group_events (taskgroup_id, seq, kind, data, created_at)
             SELECT $1, u.seq, u.kind, u.data, $5
             FROM unnest($2::BIGINT[], $3::TEXT[], $4::TEXT[]) AS u(seq, kind, data)",
        )
        .await?;
    let seqs: Vec<i64> = events.iter().map(|e| e.0).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.1.as_str()).collect();
    let data: Vec<&str> = events.iter().map(|e| e.2.as_str()).collect();
    tx.execute(&stmt, &[&group, &seqs, &kinds, &data, &now])
        .await?;
    Ok(())
}
