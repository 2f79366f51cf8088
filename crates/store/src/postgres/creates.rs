//! The create writer: `create_run` calls committed in batches (see "Group commit of creates"
//! in the module documentation), and the multi-row insert of queued runs that creates and
//! task-group adds share.

use super::*;

/// A new run to insert, queued: its tenant, its `queued` state event, and the group it joins
/// with its position there.
pub(super) struct QueuedRunRow<'a> {
    pub(super) tenant: &'a str,
    pub(super) run: &'a RunToCreate,
    pub(super) event: &'a str,
    pub(super) group: Option<(&'a str, i64)>,
}

/// Inserts new queued runs and their `queued` state events (cursor 1): two statements,
/// whatever the number of runs. Used by creates and by task group adds.
pub(super) async fn insert_queued_runs<'a>(
    tx: &deadpool_postgres::Transaction<'_>,
    rows: &[QueuedRunRow<'a>],
) -> Result<()> {
    let column = |f: fn(&QueuedRunRow<'a>) -> Option<&'a str>| -> Vec<Option<&'a str>> {
        rows.iter().map(f).collect()
    };
    let run_ids = column(|r| Some(r.run.run_id.as_str()));
    let tenants = column(|r| Some(r.tenant));
    let processors = column(|r| Some(r.run.processor.as_str()));
    let metadata = column(|r| r.run.metadata.as_deref());
    let inputs = column(|r| Some(r.run.input_doc.as_str()));
    let previous = column(|r| r.run.previous_interaction_id.as_deref());
    let webhooks = column(|r| r.run.webhook_url.as_deref());
    let warnings = column(|r| r.run.warnings.as_deref());
    let betas = column(|r| r.run.betas.as_deref());
    let groups = column(|r| r.group.map(|(g, _)| g));
    let events = column(|r| Some(r.event));
    let enable_events: Vec<bool> = rows.iter().map(|r| r.run.enable_events).collect();
    let created: Vec<i64> = rows.iter().map(|r| r.run.created_at).collect();
    let positions: Vec<Option<i64>> = rows.iter().map(|r| r.group.map(|(_, p)| p)).collect();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO runs (run_id, tenant_id, processor, status, metadata, input_doc,
                enable_events, previous_interaction_id, created_at, modified_at, webhook_url,
                taskgroup_id, group_pos, warnings, betas)
             SELECT u.run_id, u.tenant_id, u.processor, 'queued', u.metadata, u.input_doc,
                u.enable_events, u.previous, u.created_at, u.created_at, u.webhook_url,
                u.taskgroup_id, u.group_pos, u.warnings, u.betas
             FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
                         $6::BOOLEAN[], $7::TEXT[], $8::BIGINT[], $9::TEXT[], $10::TEXT[],
                         $11::BIGINT[], $12::TEXT[], $13::TEXT[])
               AS u(run_id, tenant_id, processor, metadata, input_doc, enable_events,
                    previous, created_at, webhook_url, taskgroup_id, group_pos, warnings,
                    betas)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &run_ids,
            &tenants,
            &processors,
            &metadata,
            &inputs,
            &enable_events,
            &previous,
            &created,
            &webhooks,
            &groups,
            &positions,
            &warnings,
            &betas,
        ],
    )
    .await?;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO run_events (run_id, seq, data, created_at)
             SELECT u.run_id, 1, u.data, u.created_at
             FROM unnest($1::TEXT[], $2::TEXT[], $3::BIGINT[]) AS u(run_id, data, created_at)",
        )
        .await?;
    tx.execute(&stmt, &[&run_ids, &events, &created]).await?;
    Ok(())
}

/// One `create_run` waiting for the writer, prepared by its caller.
pub(super) struct CreateJob {
    pub(super) tenant: String,
    pub(super) run: RunToCreate,
    pub(super) idempotency: Option<Idempotency>,
    pub(super) task_run: TaskRun,
    /// The `queued` state event.
    pub(super) event: String,
    /// The created run's JSON, stored as the replay answer when there is a key.
    pub(super) response: Option<String>,
    pub(super) reply: oneshot::Sender<Result<CreateOutcome>>,
    /// A planned failure: the batch holding this create panics before its commit.
    #[cfg(any(test, feature = "failpoints"))]
    pub(super) panics: bool,
}

#[async_trait]
impl BatchedWrite for CreateJob {
    type Outcome = CreateOutcome;
    const WHAT: &'static str = "creates";

    async fn commit(
        client: &mut deadpool_postgres::Client,
        jobs: &[Self],
    ) -> Result<Vec<CreateOutcome>> {
        insert_creates(client, jobs).await
    }

    fn reply(self, outcome: Result<CreateOutcome>) {
        let _ = self.reply.send(outcome);
    }
}

/// Commits `jobs` in one transaction; returns each one's outcome, in order.
pub(super) async fn insert_creates(
    client: &mut deadpool_postgres::Client,
    jobs: &[CreateJob],
) -> Result<Vec<CreateOutcome>> {
    let tx = client.transaction().await?;

    // The first job of each (tenant, key) tries to take the key; sorted, so that concurrent
    // batches lock keys in one order.
    let mut leaders: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, job) in jobs.iter().enumerate() {
        if let Some(idem) = &job.idempotency {
            leaders
                .entry((job.tenant.as_str(), idem.key.as_str()))
                .or_insert(i);
        }
    }
    let mut leader_list: Vec<((&str, &str), usize)> = leaders.into_iter().collect();
    leader_list.sort_unstable();
    // What each key holds once this transaction commits: (body hash, answer).
    let mut stored: HashMap<(&str, &str), (Vec<u8>, String)> = HashMap::new();
    let mut took_key: HashSet<usize> = HashSet::new();
    if !leader_list.is_empty() {
        let mut tenants = Vec::with_capacity(leader_list.len());
        let mut keys = Vec::with_capacity(leader_list.len());
        let mut hashes: Vec<&[u8]> = Vec::with_capacity(leader_list.len());
        let mut run_ids = Vec::with_capacity(leader_list.len());
        let mut responses = Vec::with_capacity(leader_list.len());
        let mut created = Vec::with_capacity(leader_list.len());
        for &((tenant, key), i) in &leader_list {
            let job = &jobs[i];
            let hash = job
                .idempotency
                .as_ref()
                .map_or(&[][..], |k| &k.body_hash[..]);
            tenants.push(tenant);
            keys.push(key);
            hashes.push(hash);
            run_ids.push(job.run.run_id.as_str());
            responses.push(job.response.as_deref().unwrap_or(""));
            created.push(job.run.created_at);
        }
        let stmt = tx
            .prepare_cached(
                "INSERT INTO idempotency_keys (tenant_id, key, body_hash, run_id, response, created_at)
                 SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::BYTEA[], $4::TEXT[], $5::TEXT[], $6::BIGINT[])
                 ON CONFLICT (tenant_id, key) DO NOTHING
                 RETURNING tenant_id, key",
            )
            .await?;
        let inserted: HashSet<(String, String)> = tx
            .query(
                &stmt,
                &[&tenants, &keys, &hashes, &run_ids, &responses, &created],
            )
            .await?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_>>()?;
        let mut missing_tenants = Vec::new();
        let mut missing_keys = Vec::new();
        for &((tenant, key), i) in &leader_list {
            if inserted.contains(&(tenant.to_string(), key.to_string())) {
                took_key.insert(i);
                let job = &jobs[i];
                let hash = job
                    .idempotency
                    .as_ref()
                    .map_or_else(Vec::new, |k| k.body_hash.to_vec());
                stored.insert(
                    (tenant, key),
                    (hash, job.response.clone().unwrap_or_default()),
                );
            } else {
                missing_tenants.push(tenant);
                missing_keys.push(key);
            }
        }
        if !missing_keys.is_empty() {
            let stmt = tx
                .prepare_cached(
                    "SELECT k.tenant_id, k.key, k.body_hash, k.response FROM idempotency_keys k
                     JOIN unnest($1::TEXT[], $2::TEXT[]) AS u(tenant_id, key)
                       ON k.tenant_id = u.tenant_id AND k.key = u.key",
                )
                .await?;
            let rows = tx.query(&stmt, &[&missing_tenants, &missing_keys]).await?;
            let mut found: HashMap<(String, String), (Vec<u8>, String)> = HashMap::new();
            for row in rows {
                found.insert(
                    (row.try_get(0)?, row.try_get(1)?),
                    (row.try_get(2)?, row.try_get(3)?),
                );
            }
            for (tenant, key) in missing_tenants.into_iter().zip(missing_keys) {
                let entry = found
                    .remove(&(tenant.to_string(), key.to_string()))
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "idempotency key {key:?} conflicted but then could not be read"
                        ))
                    })?;
                stored.insert((tenant, key), entry);
            }
        }
    }

    // Decide each job; collect the runs really created.
    let mut outcomes: Vec<Option<CreateOutcome>> = Vec::with_capacity(jobs.len());
    let mut new_runs: Vec<&CreateJob> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        match &job.idempotency {
            Some(idem) if !took_key.contains(&i) => {
                let (hash, response) = stored
                    .get(&(job.tenant.as_str(), idem.key.as_str()))
                    .ok_or_else(|| StoreError::Corrupt("idempotency key lost".into()))?;
                outcomes.push(Some(if hash[..] == idem.body_hash[..] {
                    CreateOutcome::Replayed(response.clone())
                } else {
                    CreateOutcome::KeyConflict
                }));
            }
            _ => {
                new_runs.push(job);
                outcomes.push(None);
            }
        }
    }

    if !new_runs.is_empty() {
        let rows: Vec<QueuedRunRow> = new_runs
            .iter()
            .map(|job| QueuedRunRow {
                tenant: &job.tenant,
                run: &job.run,
                event: &job.event,
                group: None,
            })
            .collect();
        insert_queued_runs(&tx, &rows).await?;
        let run_ids: Vec<&str> = new_runs.iter().map(|job| job.run.run_id.as_str()).collect();
        let mut payloads: Vec<String> = run_ids.iter().map(|id| run_payload(id)).collect();
        payloads.push("queued".into());
        notify(&tx, &payloads).await?;
    }
    #[cfg(any(test, feature = "failpoints"))]
    assert!(
        !jobs.iter().any(|j| j.panics),
        "failpoint: a batch of creates panics before its commit"
    );
    // An error without a server answer leaves the commit's outcome unknown.
    commit(tx).await.map_err(commit_error)?;

    let mut created = new_runs.into_iter();
    outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Some(outcome) => Ok(outcome),
            None => created
                .next()
                .map(|job| CreateOutcome::Created(job.task_run.clone()))
                .ok_or_else(|| StoreError::Corrupt("a created run went missing".into())),
        })
        .collect()
}
