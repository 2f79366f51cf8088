//! The PostgreSQL backend: many Parallax nodes sharing one database.
//!
//! # What it owns
//!
//! [`PgStore`] owns, per process:
//! - a pool of [`POOL_SIZE`] connections (deadpool-postgres, no TLS) for reads and for every
//!   write other than `create_run`;
//! - two **batch writers**, tasks that commit `create_run` and `finish_run` calls in groups
//!   (below);
//! - the **listener**, one dedicated connection that `LISTEN`s on [`CHANNEL`] and republishes
//!   what other nodes commit into the same [`broadcast`] channel as local notices.
//!
//! The schema is the SQLite backend's, written once (`crate::migrations`): the same tables and
//! columns, with `BYTEA` for hashes, `BIGINT` microseconds for times, and `TEXT` — not `JSONB` —
//! for JSON documents, so that input documents, metadata and outputs come back byte for byte as
//! stored (`JSONB` would reorder keys and reformat numbers). Migrations are versioned in
//! `schema_migrations` and applied under `pg_advisory_xact_lock` (`migrate`), so nodes that
//! start together migrate exactly once. A database newer than this binary is refused.
//!
//! The mechanisms below each have a file: `connect` (URLs, options, schemas), `migrate`,
//! `batch` (the batch writers' loop), `creates` and `finishes` (the two writers), `listener`.
//!
//! # Choosing a schema
//!
//! The URL may carry libpq `options`, for example
//! `postgres://user@host:5432/db?options=-csearch_path%3Dtenant_a` (URL-encoded
//! `-csearch_path=tenant_a`). When `options` sets `search_path`, [`PgStore::connect`] first
//! runs `CREATE SCHEMA IF NOT EXISTS` for the first schema of that path, so a test harness can
//! hand each server a fresh schema through `--database-url` alone. [`PgStore::connect_with_schema`]
//! does the same from a URL and a schema name. Note that `LISTEN/NOTIFY` channels belong to
//! the database, not to a schema: servers on different schemas of one database hear each
//! other's notices. That only causes spurious wake-ups (waiters re-read and find nothing new).
//!
//! # Group commit of creates
//!
//! PostgreSQL flushes its WAL at every commit, so one transaction per `create_run` caps a node
//! at a few hundred creates per second. Instead, `create_run` prepares everything it can
//! (the [`TaskRun`], its `queued` state event, the idempotent replay document) on the caller's
//! task and sends it to the create writer through a channel. The writer takes every waiting
//! create (up to [`MAX_BATCH`]) and commits them in **one** transaction of a few statements:
//!
//! 1. idempotency keys of the batch, first occurrence of each `(tenant, key)` only, sorted,
//!    as one `INSERT … ON CONFLICT DO NOTHING RETURNING`; keys that were not inserted already
//!    exist (possibly committed a moment ago by another node: `ON CONFLICT` waits for it) and
//!    are read back;
//! 2. one multi-row `INSERT` (`unnest` of arrays) of the runs that really are new, and one of
//!    their `queued` state events (cursor 1);
//! 3. `pg_notify` of `run:<run_id>` for each and of `queued`;
//! 4. `COMMIT`; only then is each caller answered.
//!
//! A create whose key was inserted in step 1 is created; any other create carrying a key is
//! answered from the key's stored body hash: the same hash replays the stored answer, another
//! is a [`CreateOutcome::KeyConflict`]. This also covers repeats of one key inside a single
//! batch: the first occurrence creates, the later ones replay or conflict. Up to [`WRITERS`]
//! batches are in flight at once, so one batch's WAL flush overlaps the next batch's inserts.
//!
//! If PostgreSQL rejects a batch (say, one run's tenant does not exist), the transaction is
//! rolled back and its creates are retried one per transaction, so a bad create fails alone.
//! If the batch failed without a server answer (the connection dropped), its fate is unknown
//! and every caller gets [`StoreError::CommitFailed`]. A batch that panics (a bug; all of a
//! batch's work but building the answers happens before its `COMMIT`) is caught, its
//! transaction rolled back with its connection thrown away, and its writes are retried one
//! per transaction like a rejected batch: the write that panics again gets
//! [`StoreError::Panicked`], the others commit, and the writer goes on.
//!
//! Should a writer still be gone, every later write it carries is answered
//! [`StoreError::Stopped`] at once (its queue is closed) and [`Store::health`] reports it. Pool
//! connections send TCP keepalives, so a write on a connection whose peer vanished fails
//! within about a minute rather than waiting for the kernel's two hours.
//!
//! # Claims and leases
//!
//! [`Store::claim_runs`] picks the oldest queued runs with `FOR UPDATE SKIP LOCKED`: concurrent
//! claimers — in this process or on other nodes — skip rows another claimer holds, so no run
//! is handed out twice and nobody waits. The same transaction marks them running with a lease
//! and records their `running` state events. Lease deadlines are computed and compared on the
//! **database's clock**, so nodes with skewed clocks agree on when a lease expires;
//! [`Store::requeue_expired`] (safe to run on every node at once, it also skips locked rows)
//! puts expired runs back in the queue. Every write to a run after the claim checks
//! `lease_owner` and `status = 'running'` exactly as the SQLite backend does. Unlike SQLite,
//! opening the store does not requeue runs left `running`: other nodes may be working on them,
//! and their leases decide.
//!
//! # Group commit of run endings
//!
//! `finish_run` goes through a second writer of the same shape: endings waiting together are
//! committed in one transaction — one `UPDATE … FROM unnest(…)` of the runs still held by their
//! workers, their state events, their webhook deliveries, and per task group one update of
//! its counts and one append to its event log. An ending takes its group's row lock until its
//! commit (that lock is what numbers the group's events in commit order), so one transaction
//! per ending would serialise a group's endings one WAL flush apart; a batch pays one flush.
//! One batch is in flight at a time (two would only queue on the same group row), and the
//! next batch gathers while it commits. Claims and releases do not touch group rows at all
//! (see `GROUP_STATUS_COLUMNS`), so they never wait on these locks.
//!
//! Event cursors are `MAX(seq) + 1` per run, computed inside the writing transaction after the
//! run's row is locked (by the `UPDATE` of a state change, or `FOR NO KEY UPDATE` in
//! `append_event`), so cursors never collide.
//!
//! # Notices
//!
//! Every committed change is announced twice: locally, on the broadcast channel, right after
//! `COMMIT` (as the SQLite backend does), and to every node by `NOTIFY parallax_events` inside
//! the transaction, with payload `run:<run_id>` or `queued`. PostgreSQL delivers notifications
//! only when the transaction commits. The listener connection republishes each notification
//! as a [`Notice`], so waiters here wake for changes made anywhere, and get duplicates of their
//! own node's changes: harmless, as waiters re-read. If the listener connection drops it
//! reconnects with backoff (0.1 s doubling to 5 s) and, once listening again, publishes
//! [`Notice::Queued`], because notifications sent while it was away are lost. Waiters that
//! must not miss a change still re-read on a timer; notices only make them faster. A panic
//! while listening is caught and treated like a dropped connection.
//!
//! PostgreSQL serialises the commits of notifying transactions database-wide (a lock held
//! through the WAL flush), which is one more reason creates are committed in groups.

#[cfg(any(test, feature = "failpoints"))]
use crate::failpoints::{Failpoint, Failpoints};
use crate::fair;
use crate::findall::{self, FindAllOp, FindAllReply};
use crate::limits::{self, TenantLimits};
use crate::memory::{self, MemoryOp, MemoryReply};
use crate::migrations;
use crate::monitor::{self, MonitorOp, MonitorReply};
use crate::notices::{self, announce};
use crate::rows::{
    self, Columns as _, CLAIM_COLUMNS, DELIVERY_COLUMNS, GROUP_EVENT_COLUMNS, GROUP_RUN_COLUMNS,
    RUN_COLUMNS,
};
use crate::sql::adapters::PgTx;
use crate::{
    delivery_update, merged_warnings_sql, panic_message, ActiveRuns, AddedRuns, ClaimedRun,
    CreateOutcome, Delivery, DeliveryAttempt, EventRecord, GroupEvents, GroupRunRecord,
    GroupRunsQuery, GroupToCreate, Health, Idempotency, KeyHash, Lease, Notice, OutcomeColumns,
    Page, Result, RunOutcome, RunToCreate, RunsToAdd, Store, StoreError, TenantId, ACTIVE_RUNS_SQL,
    GROUP_STATUS_COLUMNS, NOTICE_CAPACITY,
};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use futures::{FutureExt, StreamExt};
use parallax_api::events::{task_run_state_record, GroupEventKind};
use parallax_api::group::TaskGroup;
use parallax_api::{ids, time::now_micros, webhook, RunStatus, TaskRun};
use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, Semaphore};
use tokio_postgres::config::Host;
use tokio_postgres::{AsyncMessage, Config, NoTls, Row};

/// Connections in the pool of each [`PgStore`] (the listener has one more of its own).
pub const POOL_SIZE: usize = 16;
/// Most creates committed in one transaction.
pub const MAX_BATCH: usize = 256;
/// Create batches in flight at once.
pub const WRITERS: usize = 2;
/// The `LISTEN/NOTIFY` channel.
pub const CHANNEL: &str = "parallax_events";
/// Creates waiting for the writer before callers wait to enqueue.
const QUEUE: usize = 16_384;
/// Key of the advisory lock taken while migrating ("parallax" in ASCII).
const MIGRATION_LOCK: i64 = 0x7061_7261_6c6c_6178;
/// How long `connect` waits for the listener to be listening before going on without it.
const LISTENER_READY: Duration = Duration::from_secs(5);
const LISTENER_MIN_BACKOFF: Duration = Duration::from_millis(100);
const LISTENER_MAX_BACKOFF: Duration = Duration::from_secs(5);
/// What [`StoreError::Stopped`] and [`Store::health`] call the batch writers.
const CREATE_WRITER: &str = "PostgreSQL create writer";
const FINISH_WRITER: &str = "PostgreSQL run-ending writer";

/// The database's clock in microseconds since the epoch, as used for leases.
const DB_NOW: &str = "(EXTRACT(EPOCH FROM statement_timestamp()) * 1000000)::BIGINT";

/// The PostgreSQL store. Cheap to share behind an `Arc`; dropping it stops its listener.
pub struct PgStore {
    pool: Pool,
    /// The create writer's queue; closed once the writer is gone.
    creates: mpsc::Sender<CreateJob>,
    /// The run-ending writer's queue; closed once the writer is gone.
    finishes: mpsc::Sender<FinishJob>,
    notices: broadcast::Sender<Notice>,
    listener: tokio::task::JoinHandle<()>,
    #[cfg(any(test, feature = "failpoints"))]
    failpoints: Arc<Failpoints>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/dbname`, or the
    /// `key=value` form), creates the schema named first in a `search_path` given through the
    /// URL's `options` (see the module documentation), migrates, and starts the batch writers
    /// and the listener.
    pub async fn connect(url: &str) -> Result<PgStore> {
        Self::connect_config(parse_url(url)?).await
    }

    /// Like [`PgStore::connect`], with `schema` as the search path (created if missing).
    /// Several stores connected with one schema share their data, as nodes would.
    pub async fn connect_with_schema(url: &str, schema: &str) -> Result<PgStore> {
        let mut config = parse_url(url)?;
        let setting = escape_option(&format!("search_path={}", quote_ident(schema)));
        let options = match config.get_options() {
            Some(existing) if !existing.trim().is_empty() => format!("{existing} -c {setting}"),
            _ => format!("-c {setting}"),
        };
        config.options(options);
        Self::connect_config(config).await
    }

    async fn connect_config(mut config: Config) -> Result<PgStore> {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        // Notice a vanished peer within about a minute: a write waiting on such a connection
        // then fails instead of hanging its caller for the kernel's two hours.
        keep_alive(&mut config);
        if config.get_application_name().is_none() {
            config.application_name("parallax");
        }
        let place = describe(&config);
        let schema = config.get_options().and_then(schema_from_options);

        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(15)))
            .build()
            .map_err(|e| StoreError::Pool(format!("cannot build the connection pool: {e}")))?;
        let mut client = pool.get().await.map_err(|e| {
            let why = match e {
                PoolError::Backend(e) => error_text(&e),
                other => error_text(&other),
            };
            StoreError::Pool(format!(
                "cannot connect to PostgreSQL at {place}: {why}. Is PostgreSQL running at {place}? \
                 Pass --database-url postgres://USER[:PASSWORD]@HOST:PORT/DBNAME to use another server"
            ))
        })?;
        migrate(&mut client, schema.as_deref()).await?;
        drop(client);

        let (notices, _) = broadcast::channel(NOTICE_CAPACITY);
        #[cfg(any(test, feature = "failpoints"))]
        let failpoints = Arc::new(Failpoints::default());
        let (creates, queue) = mpsc::channel(QUEUE);
        tokio::spawn(batch_loop::<CreateJob>(
            pool.clone(),
            queue,
            WRITERS,
            #[cfg(any(test, feature = "failpoints"))]
            Some(failpoints.clone()),
        ));
        // One batch of endings at a time: two would only queue on the same group rows, and
        // while one commits the next grows.
        let (finishes, finish_queue) = mpsc::channel(QUEUE);
        tokio::spawn(batch_loop::<FinishJob>(
            pool.clone(),
            finish_queue,
            1,
            #[cfg(any(test, feature = "failpoints"))]
            None,
        ));

        let (ready, listening) = oneshot::channel();
        let listener = tokio::spawn(listen_loop(config, notices.clone(), ready));
        if tokio::time::timeout(LISTENER_READY, listening)
            .await
            .map_or(true, |r| r.is_err())
        {
            tracing::warn!(
                at = %place,
                "the PostgreSQL listener is not listening yet; changes from other nodes will be noticed late until it is"
            );
        }
        Ok(PgStore {
            pool,
            creates,
            finishes,
            notices,
            listener,
            #[cfg(any(test, feature = "failpoints"))]
            failpoints,
        })
    }

    /// The index of pages read on this database (`crate::pages`), sharing this store's pool.
    pub fn pages(&self) -> crate::pages::PgPages {
        crate::pages::PgPages::new(self.pool.clone())
    }

    /// The failures planned on this store (tests only).
    #[cfg(any(test, feature = "failpoints"))]
    pub fn failpoints(&self) -> &Failpoints {
        &self.failpoints
    }

    /// Every row of one read on a pool connection (statement cached), each read by `read`.
    async fn read_rows<T>(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        read: impl Fn(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await?;
        client
            .query(&stmt, params)
            .await?
            .iter()
            .map(read)
            .collect()
    }

    /// The row one read finds, if any (reads here are by key: at most one), read by `read`.
    async fn read_row<T>(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        read: impl Fn(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        Ok(self.read_rows(sql, params, read).await?.into_iter().next())
    }

    async fn client(&self) -> Result<deadpool_postgres::Client> {
        self.pool.get().await.map_err(pool_error)
    }
}

mod batch;
mod connect;
mod creates;
mod finishes;
mod listener;
mod migrate;

use batch::*;
use connect::*;
use creates::*;
use finishes::*;
use listener::*;
use migrate::*;

pub use connect::error_text;

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX / 2)
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Records state events (or any events) for distinct runs whose rows this transaction holds
/// locked, each at its run's next cursor.
async fn insert_events(
    tx: &deadpool_postgres::Transaction<'_>,
    events: &[(&str, String)],
    now: i64,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO run_events (run_id, seq, data, created_at)
             SELECT u.run_id,
                    COALESCE((SELECT MAX(e.seq) FROM run_events e WHERE e.run_id = u.run_id), 0) + 1,
                    u.data, $3
             FROM unnest($1::TEXT[], $2::TEXT[]) AS u(run_id, data)",
        )
        .await?;
    let ids: Vec<&str> = events.iter().map(|(id, _)| *id).collect();
    let data: Vec<&str> = events.iter().map(|(_, d)| d.as_str()).collect();
    tx.execute(&stmt, &[&ids, &data, &now]).await?;
    Ok(())
}

/// Queues `NOTIFY parallax_events` payloads; PostgreSQL sends them at commit.
async fn notify(tx: &deadpool_postgres::Transaction<'_>, payloads: &[String]) -> Result<()> {
    if payloads.is_empty() {
        return Ok(());
    }
    let stmt = tx
        .prepare_cached("SELECT pg_notify('parallax_events', p) FROM unnest($1::TEXT[]) AS p")
        .await?;
    tx.execute(&stmt, &[&payloads]).await?;
    Ok(())
}

fn run_payload(run_id: &str) -> String {
    format!("run:{run_id}")
}

fn group_payload(group: &str) -> String {
    format!("group:{group}")
}

/// The `NOTIFY` payload that other nodes' listeners turn back into `notice`.
fn notice_payload(notice: &Notice) -> String {
    match notice {
        Notice::Run(id) => run_payload(id),
        Notice::Group(id) => group_payload(id),
        Notice::FindAll(id) => format!("findall:{id}"),
        Notice::Queued => "queued".into(),
        Notice::Schedule => "schedule".into(),
    }
}

async fn load_group(
    client: &deadpool_postgres::Client,
    tenant: &str,
    group: &str,
) -> Result<Option<TaskGroup>> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT taskgroup_id, metadata, created_at, {GROUP_STATUS_COLUMNS} FROM task_groups
             WHERE taskgroup_id = $1 AND tenant_id = $2"
        ))
        .await?;
    client
        .query_opt(&stmt, &[&group, &tenant])
        .await?
        .map(|row| rows::task_group(&row))
        .transpose()
}

/// Inserts a tenant with one key, or returns `None` (committing nothing) if the key exists.
async fn insert_tenant_with_key(
    client: &mut deadpool_postgres::Client,
    key_hash: &KeyHash,
    label: &str,
    if_new: bool,
) -> Result<Option<TenantId>> {
    let tx = client.transaction().await?;
    let tenant = ids::new_id("tenant_");
    let now = now_micros();
    tx.execute(
        "INSERT INTO tenants (tenant_id, created_at) VALUES ($1, $2)",
        &[&tenant, &now],
    )
    .await?;
    let sql = if if_new {
        "INSERT INTO api_keys (key_hash, tenant_id, label, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key_hash) DO NOTHING"
    } else {
        "INSERT INTO api_keys (key_hash, tenant_id, label, created_at) VALUES ($1, $2, $3, $4)"
    };
    let inserted = tx
        .execute(sql, &[&&key_hash[..], &tenant, &label, &now])
        .await?;
    if inserted == 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    commit(tx).await?;
    Ok(Some(tenant))
}

/// Queues again the running runs the `UPDATE … RETURNING` rows describe: records their state
/// events and notices inside `tx`. Returns their ids.
async fn record_requeued(
    tx: &deadpool_postgres::Transaction<'_>,
    rows: &[Row],
    now: i64,
) -> Result<Vec<String>> {
    let runs = rows
        .iter()
        .map(|r| rows::task_run(r, 0))
        .collect::<Result<Vec<_>>>()?;
    let events: Vec<(&str, String)> = runs
        .iter()
        .map(|run| (run.run_id.as_str(), task_run_state_record(run)))
        .collect();
    insert_events(tx, &events, now).await?;
    let mut payloads: Vec<String> = runs.iter().map(|r| run_payload(&r.run_id)).collect();
    if !payloads.is_empty() {
        payloads.push("queued".into());
    }
    notify(tx, &payloads).await?;
    Ok(runs.into_iter().map(|r| r.run_id).collect())
}

/// Runs an op of the logic written once for both backends (FindAll, monitors): a read on a
/// pooled connection; a write in a transaction whose `now` is the database's clock (leases
/// are set and compared there, as for task runs, so nodes with skewed clocks agree on when
/// one expires; monitor schedules are on the monitor clock each op carries), with its
/// notices sent as `NOTIFY` inside the transaction and to this process after the commit. A
/// macro, not a function: each module's `execute` borrows the transaction it is given.
macro_rules! written_once {
    ($store:expr, $op:expr, $execute:path) => {{
        let op = $op;
        let mut client = $store.client().await?;
        if op.is_read() {
            let (reply, _) = $execute(&mut PgTx(&**client), op, now_micros()).await?;
            return Ok(reply);
        }
        let tx = client.transaction().await?;
        let now: i64 = tx.query_one(&format!("SELECT {DB_NOW}"), &[]).await?.get(0);
        let (reply, notices) = $execute(&mut PgTx(&*tx), op, now).await?;
        let payloads: Vec<String> = notices.iter().map(notice_payload).collect();
        notify(&tx, &payloads).await?;
        commit(tx).await.map_err(commit_error)?;
        announce(&$store.notices, notices);
        Ok(reply)
    }};
}

#[async_trait]
impl Store for PgStore {
    async fn create_tenant_with_key(&self, key_hash: KeyHash, label: &str) -> Result<TenantId> {
        let mut client = self.client().await?;
        insert_tenant_with_key(&mut client, &key_hash, label, false)
            .await?
            .ok_or_else(|| StoreError::CommitFailed("the api key was not inserted".into()))
    }

    async fn ensure_key(&self, key_hash: KeyHash, label: &str) -> Result<TenantId> {
        let mut client = self.client().await?;
        let find = "SELECT tenant_id FROM api_keys WHERE key_hash = $1";
        if let Some(row) = client.query_opt(find, &[&&key_hash[..]]).await? {
            return Ok(row.try_get(0)?);
        }
        if let Some(tenant) = insert_tenant_with_key(&mut client, &key_hash, label, true).await? {
            return Ok(tenant);
        }
        // Another node added the same key meanwhile.
        let row = client.query_one(find, &[&&key_hash[..]]).await?;
        Ok(row.try_get(0)?)
    }

    async fn api_keys(&self) -> Result<Vec<(KeyHash, TenantId)>> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT key_hash, tenant_id FROM api_keys", &[])
            .await?;
        rows.iter()
            .map(|row| {
                let hash: Vec<u8> = row.try_get(0)?;
                let hash: KeyHash = hash
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("an api key hash is not 32 bytes".into()))?;
                Ok((hash, row.try_get(1)?))
            })
            .collect()
    }

    async fn api_key_tenant(&self, key_hash: KeyHash) -> Result<Option<TenantId>> {
        let sql = "SELECT tenant_id FROM api_keys WHERE key_hash = $1";
        self.read_row(sql, &[&&key_hash[..]], |row| row.text(0))
            .await
    }

    async fn tenant_limits(&self) -> Result<Vec<(TenantId, TenantLimits)>> {
        self.read_rows(limits::SELECT_LIMITS, &[], |row| {
            Ok((
                row.try_get(0)?,
                TenantLimits::from_columns(row.try_get(1)?, row.try_get(2)?),
            ))
        })
        .await
    }

    async fn set_tenant_limits(&self, tenant: &str, set: TenantLimits) -> Result<bool> {
        let (per_minute, active) = set.columns();
        let client = self.client().await?;
        let changed = client
            .execute(limits::SET_LIMITS, &[&tenant, &per_minute, &active])
            .await?;
        Ok(changed == 1)
    }

    async fn tenant_active_runs(&self, tenant: &str) -> Result<u64> {
        let n = self
            .read_row(limits::COUNT_ACTIVE_RUNS, &[&tenant], |row| row.int(0))
            .await?
            .unwrap_or(0);
        Ok(n.max(0) as u64)
    }

    async fn create_run(&self, tenant: &str, run: RunToCreate) -> Result<CreateOutcome> {
        let task_run = run.queued_run(None)?;
        let idempotency = run.idempotency.clone();
        let response = idempotency.as_ref().map(|_| task_run.to_json());
        let (reply, answer) = oneshot::channel();
        let job = CreateJob {
            tenant: tenant.to_owned(),
            event: task_run_state_record(&task_run),
            run,
            idempotency,
            task_run,
            response,
            reply,
            #[cfg(any(test, feature = "failpoints"))]
            panics: self.failpoints.take(Failpoint::WritePanics),
        };
        let outcome = through_writer(&self.creates, job, answer, CREATE_WRITER).await?;
        announce(&self.notices, notices::created(&outcome));
        Ok(outcome)
    }

    async fn get_run(&self, tenant: &str, run_id: &str) -> Result<Option<TaskRun>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE run_id = $1 AND tenant_id = $2");
        self.read_row(&sql, &[&run_id, &tenant], |row| rows::task_run(row, 0))
            .await
    }

    async fn list_runs(
        &self,
        tenant: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TaskRun>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs
             WHERE tenant_id = $1
               AND ($2::TEXT IS NULL OR (created_at, run_id) <
                    (SELECT created_at, run_id FROM runs WHERE run_id = $2 AND tenant_id = $1))
             ORDER BY created_at DESC, run_id DESC LIMIT $3"
        );
        self.read_rows(&sql, &[&tenant, &before, &to_i64(limit)], |row| {
            rows::task_run(row, 0)
        })
        .await
    }

    async fn get_input(&self, tenant: &str, run_id: &str) -> Result<Option<String>> {
        let sql = "SELECT input_doc FROM runs WHERE run_id = $1 AND tenant_id = $2";
        self.read_row(sql, &[&run_id, &tenant], |row| row.text(0))
            .await
    }

    async fn get_result(
        &self,
        tenant: &str,
        run_id: &str,
    ) -> Result<Option<(TaskRun, Option<String>)>> {
        let sql =
            format!("SELECT {RUN_COLUMNS}, output FROM runs WHERE run_id = $1 AND tenant_id = $2");
        self.read_row(&sql, &[&run_id, &tenant], |row| {
            Ok((rows::task_run(row, 0)?, row.opt_text(9)?))
        })
        .await
    }

    async fn events_after(&self, tenant: &str, page: Page<'_>) -> Result<Vec<EventRecord>> {
        let (run_id, after, limit) = (page.of, page.after, page.limit);
        self.read_rows(
            "SELECT e.seq, e.data FROM run_events e JOIN runs r ON r.run_id = e.run_id
             WHERE e.run_id = $1 AND r.tenant_id = $2 AND e.seq > $3 ORDER BY e.seq LIMIT $4",
            &[&run_id, &tenant, &after, &to_i64(limit)],
            rows::event_record,
        )
        .await
    }

    async fn claim_runs(&self, lease: Lease<'_>, limit: usize) -> Result<Vec<ClaimedRun>> {
        let worker = lease.worker;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let now = now_micros();
        // Running counts are read from every node's runs; the queued candidates are locked
        // (skipping those another node is claiming), so the runs picked are this claim's.
        let running = tx
            .query(fair::RUNNING_BY_LANE, &[])
            .await?
            .iter()
            .map(rows::lane_running)
            .collect::<Result<_>>()?;
        // Each lane's next runs: a tenant's runs outside groups, then each group with queued
        // runs (its counter says so without touching the runs).
        let candidates = tx
            .query(
                "SELECT q.tenant_id, NULL::TEXT AS taskgroup_id, q.run_id, q.created_at
                 FROM tenants t CROSS JOIN LATERAL (
                    SELECT tenant_id, run_id, created_at FROM runs
                    WHERE status = 'queued' AND taskgroup_id IS NULL AND runs.tenant_id = t.tenant_id
                    ORDER BY created_at LIMIT $1
                    FOR UPDATE SKIP LOCKED
                 ) q
                 UNION ALL
                 SELECT q.tenant_id, g.taskgroup_id, q.run_id, q.created_at
                 FROM task_groups g CROSS JOIN LATERAL (
                    SELECT tenant_id, run_id, created_at FROM runs
                    WHERE status = 'queued' AND taskgroup_id IS NOT NULL
                      AND runs.taskgroup_id = g.taskgroup_id
                    ORDER BY group_pos LIMIT $1
                    FOR UPDATE SKIP LOCKED
                 ) q
                 WHERE g.n_pending > 0",
                &[&to_i64(limit)],
            )
            .await?;
        let queued = candidates
            .iter()
            .map(rows::queued_run)
            .collect::<Result<Vec<_>>>()?;
        let picked = fair::pick(fair::tenant_queues(running, queued), limit);
        if picked.is_empty() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let stmt = tx
            .prepare_cached(&format!(
                "UPDATE runs SET status = 'running', lease_owner = $1,
                    lease_expires_at = {DB_NOW} + $2, attempts = attempts + 1, modified_at = $4
                 WHERE run_id = ANY($3) AND status = 'queued'
                 RETURNING {RUN_COLUMNS}, {CLAIM_COLUMNS}"
            ))
            .await?;
        let rows = tx
            .query(&stmt, &[&worker, &micros(lease.ttl), &picked, &now])
            .await?;
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let mut claimed = rows
            .iter()
            .map(rows::claimed_run)
            .collect::<Result<Vec<_>>>()?;
        rows::sort_claimed(&mut claimed);
        let events: Vec<(&str, String)> = claimed
            .iter()
            .map(|(_, run)| (run.run_id.as_str(), task_run_state_record(run)))
            .collect();
        insert_events(&tx, &events, now).await?;
        let payloads: Vec<String> = claimed
            .iter()
            .map(|(c, _)| run_payload(&c.run_id))
            .collect();
        notify(&tx, &payloads).await?;
        commit(tx).await?;
        let claimed: Vec<ClaimedRun> = claimed.into_iter().map(|(c, _)| c).collect();
        announce(&self.notices, notices::claimed(&claimed));
        Ok(claimed)
    }

    async fn heartbeat(&self, lease: Lease<'_>, run_ids: &[String]) -> Result<Vec<String>> {
        let worker = lease.worker;
        if run_ids.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "UPDATE runs SET lease_expires_at = {DB_NOW} + $1
                 WHERE run_id = ANY($2) AND lease_owner = $3 AND status = 'running'
                 RETURNING run_id"
            ))
            .await?;
        let held: HashSet<String> = client
            .query(&stmt, &[&micros(lease.ttl), &run_ids, &worker])
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<std::result::Result<_, _>>()?;
        Ok(run_ids
            .iter()
            .filter(|id| !held.contains(id.as_str()))
            .cloned()
            .collect())
    }

    async fn append_event(&self, worker: &str, run_id: &str, data: &str) -> Result<Option<i64>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Locking the run row orders this append after any state change of the run.
        let held = tx
            .prepare_cached(
                "SELECT 1 FROM runs WHERE run_id = $1 AND lease_owner = $2 AND status = 'running'
                 FOR NO KEY UPDATE",
            )
            .await?;
        if tx.query_opt(&held, &[&run_id, &worker]).await?.is_none() {
            tx.rollback().await?;
            return Ok(None);
        }
        let insert = tx
            .prepare_cached(
                "INSERT INTO run_events (run_id, seq, data, created_at)
                 SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3 FROM run_events WHERE run_id = $1
                 RETURNING seq",
            )
            .await?;
        let seq: i64 = tx
            .query_one(&insert, &[&run_id, &data, &now_micros()])
            .await?
            .try_get(0)?;
        notify(&tx, &[run_payload(run_id)]).await?;
        commit(tx).await?;
        announce(&self.notices, notices::appended(run_id, true));
        Ok(Some(seq))
    }

    async fn finish_run(&self, worker: &str, run_id: &str, outcome: RunOutcome) -> Result<bool> {
        let (reply, answer) = oneshot::channel();
        let job = FinishJob {
            worker: worker.to_owned(),
            run_id: run_id.to_owned(),
            columns: outcome.into_columns()?,
            reply,
        };
        let finished = through_writer(&self.finishes, job, answer, FINISH_WRITER).await?;
        let ended = finished.as_ref().map(Option::as_deref);
        announce(&self.notices, notices::finished(run_id, ended));
        Ok(finished.is_some())
    }

    async fn release_runs(&self, worker: &str, run_ids: &[String]) -> Result<usize> {
        if run_ids.is_empty() {
            return Ok(0);
        }
        let now = now_micros();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let stmt = tx
            .prepare_cached(&format!(
                "UPDATE runs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL,
                    modified_at = $3
                 WHERE run_id = ANY($1) AND lease_owner = $2 AND status = 'running'
                 RETURNING {RUN_COLUMNS}"
            ))
            .await?;
        let rows = tx.query(&stmt, &[&run_ids, &worker, &now]).await?;
        let released = record_requeued(&tx, &rows, now).await?;
        commit(tx).await?;
        announce(&self.notices, notices::requeued(run_ids, released.len()));
        Ok(released.len())
    }

    async fn requeue_expired(&self) -> Result<usize> {
        let now = now_micros();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // SKIP LOCKED: a run another node is requeueing, or whose holder is writing to it right
        // now, is left for the next pass. Every node may run this at once.
        let stmt = tx
            .prepare_cached(&format!(
                "WITH expired AS (
                    SELECT run_id AS expired_id FROM runs
                    WHERE status = 'running' AND lease_expires_at < {DB_NOW}
                    ORDER BY run_id
                    FOR UPDATE SKIP LOCKED
                 )
                 UPDATE runs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL,
                    modified_at = $1
                 FROM expired
                 WHERE runs.run_id = expired.expired_id AND runs.status = 'running'
                 RETURNING {RUN_COLUMNS}"
            ))
            .await?;
        let rows = tx.query(&stmt, &[&now]).await?;
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }
        let requeued = record_requeued(&tx, &rows, now).await?;
        commit(tx).await?;
        announce(&self.notices, notices::requeued(&requeued, requeued.len()));
        Ok(requeued.len())
    }

    async fn active_runs(&self) -> Result<Vec<ActiveRuns>> {
        self.read_rows(ACTIVE_RUNS_SQL, &[], crate::active_runs_row)
            .await
    }

    async fn webhook_secret(&self, tenant: &str) -> Result<String> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE tenants SET webhook_secret = $1 WHERE tenant_id = $2 AND webhook_secret IS NULL",
                &[&webhook::new_secret(), &tenant],
            )
            .await?;
        let row = client
            .query_opt(
                "SELECT webhook_secret FROM tenants WHERE tenant_id = $1",
                &[&tenant],
            )
            .await?;
        row.and_then(|r| r.get::<_, Option<String>>(0))
            .ok_or_else(|| StoreError::Corrupt(format!("no tenant {tenant}")))
    }

    async fn claim_deliveries(&self, lease: Lease<'_>, limit: usize) -> Result<Vec<Delivery>> {
        let worker = lease.worker;
        let now = now_micros();
        let rows = {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let rows = tx
                .query(
                    &format!(
                        "WITH due AS (
                            SELECT delivery_id AS due_id FROM webhook_deliveries
                            WHERE state = 'pending' AND next_attempt_at <= $3
                              AND (lease_expires_at IS NULL OR lease_expires_at < $3)
                            ORDER BY next_attempt_at LIMIT $4
                            FOR UPDATE SKIP LOCKED
                         )
                         UPDATE webhook_deliveries SET lease_owner = $1,
                            lease_expires_at = $3 + $2, attempts = attempts + 1
                         FROM due WHERE delivery_id = due.due_id
                         RETURNING {DELIVERY_COLUMNS}"
                    ),
                    &[&worker, &micros(lease.ttl), &now, &to_i64(limit)],
                )
                .await?;
            commit(tx).await?;
            rows
        };
        let mut claimed = Vec::with_capacity(rows.len());
        // One secret lookup per tenant, not per delivery.
        let mut secrets: HashMap<String, String> = HashMap::new();
        for row in rows {
            let tenant: String = row.try_get(1)?;
            let secret = match secrets.get(&tenant) {
                Some(secret) => secret.clone(),
                None => {
                    let secret = self.webhook_secret(&tenant).await?;
                    secrets.insert(tenant.clone(), secret.clone());
                    secret
                }
            };
            claimed.push(Delivery {
                delivery_id: row.try_get(0)?,
                tenant,
                url: row.try_get(2)?,
                body: row.try_get(3)?,
                attempt: row.try_get(4)?,
                created_at: row.try_get(5)?,
                secret,
            });
        }
        claimed.sort_by_key(|d| d.created_at);
        Ok(claimed)
    }

    async fn delivery_attempted(&self, worker: &str, attempt: DeliveryAttempt) -> Result<()> {
        let (state, next, error) = delivery_update(&attempt.outcome);
        let delivery_id = attempt.delivery_id.as_str();
        self.client()
            .await?
            .execute(
                "UPDATE webhook_deliveries SET state = $1,
                    next_attempt_at = COALESCE($2, next_attempt_at), last_error = $3,
                    lease_owner = NULL, lease_expires_at = NULL
                 WHERE delivery_id = $4 AND lease_owner = $5",
                &[&state, &next, &error, &delivery_id, &worker],
            )
            .await?;
        Ok(())
    }

    async fn create_group(&self, tenant: &str, group: GroupToCreate) -> Result<TaskGroup> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO task_groups (taskgroup_id, tenant_id, metadata, created_at, modified_at)
                 VALUES ($1, $2, $3, $4, $4)",
                &[&group.taskgroup_id, &tenant, &group.metadata, &group.created_at],
            )
            .await?;
        load_group(&client, tenant, &group.taskgroup_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a group just created is missing".into()))
    }

    async fn get_group(&self, tenant: &str, taskgroup_id: &str) -> Result<Option<TaskGroup>> {
        let client = self.client().await?;
        load_group(&client, tenant, taskgroup_id).await
    }

    async fn add_group_runs(&self, tenant: &str, add: RunsToAdd) -> Result<Option<AddedRuns>> {
        let (taskgroup_id, runs) = (add.taskgroup_id.as_str(), &add.runs);
        let now = now_micros();
        let n = to_i64(runs.len());
        let some = i64::from(n > 0);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Locks the group row: adds and run endings of one group take their cursors in turn.
        let stmt = tx
            .prepare_cached(&format!(
                "UPDATE task_groups SET run_seq = run_seq + $1, n_pending = n_pending + $1,
                    event_seq = event_seq + $2, modified_at = $3
                 WHERE taskgroup_id = $4 AND tenant_id = $5
                 RETURNING run_seq - $1, event_seq - $2, {GROUP_STATUS_COLUMNS}"
            ))
            .await?;
        let Some(row) = tx
            .query_opt(&stmt, &[&n, &some, &now, &taskgroup_id, &tenant])
            .await?
        else {
            tx.rollback().await?;
            return Ok(None);
        };
        let first_pos: i64 = row.try_get(0)?;
        let event_cursor: i64 = row.try_get(1)?;
        let status = rows::status(&row, 2)?;
        let created = runs
            .iter()
            .map(|run| run.queued_run(Some(taskgroup_id)))
            .collect::<Result<Vec<_>>>()?;
        if n > 0 {
            let events: Vec<String> = created.iter().map(task_run_state_record).collect();
            let rows: Vec<QueuedRunRow> = runs
                .iter()
                .zip(&events)
                .zip(1..)
                .map(|((run, event), i)| QueuedRunRow {
                    tenant,
                    run,
                    event,
                    group: Some((taskgroup_id, first_pos + i)),
                })
                .collect();
            insert_queued_runs(&tx, &rows).await?;
            insert_group_events(
                &tx,
                taskgroup_id,
                &[(event_cursor + 1, GroupEventKind::Status, status.to_json())],
                now,
            )
            .await?;
            // One notice per add, not per run: run waiters of a new run have nothing to wait
            // on yet, and workers need only `queued`.
            notify(&tx, &[group_payload(taskgroup_id), "queued".into()]).await?;
        }
        commit(tx).await?;
        let added = AddedRuns {
            runs: created,
            status,
            event_cursor: (event_cursor > 0).then_some(event_cursor),
            run_cursor: (first_pos > 0).then_some(first_pos),
        };
        announce(
            &self.notices,
            notices::group_added(taskgroup_id, Some(&added)),
        );
        Ok(Some(added))
    }

    async fn group_events_after(
        &self,
        tenant: &str,
        page: Page<'_>,
    ) -> Result<Option<GroupEvents>> {
        let (taskgroup_id, after, limit) = (page.of, page.after, page.limit);
        let mut client = self.client().await?;
        // One snapshot: the status and last cursor agree with the events read.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let stmt = tx
            .prepare_cached(&format!(
                "SELECT event_seq, {GROUP_STATUS_COLUMNS} FROM task_groups
                 WHERE taskgroup_id = $1 AND tenant_id = $2"
            ))
            .await?;
        let Some(row) = tx.query_opt(&stmt, &[&taskgroup_id, &tenant]).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        let last_event_id: i64 = row.try_get(0)?;
        let status = rows::status(&row, 1)?;
        let stmt = tx
            .prepare_cached(&format!(
                "SELECT {GROUP_EVENT_COLUMNS} FROM group_events WHERE taskgroup_id = $1 AND seq > $2
                 ORDER BY seq LIMIT $3"
            ))
            .await?;
        let events = tx
            .query(&stmt, &[&taskgroup_id, &after, &to_i64(limit)])
            .await?
            .iter()
            .map(rows::group_event)
            .collect::<Result<Vec<_>>>()?;
        // A read-only snapshot: not a commit the metrics time.
        tx.commit().await?;
        Ok(Some(GroupEvents {
            events,
            status,
            last_event_id,
        }))
    }

    async fn group_runs_after(
        &self,
        tenant: &str,
        query: GroupRunsQuery,
    ) -> Result<Option<Vec<GroupRunRecord>>> {
        let taskgroup_id = query.taskgroup_id.as_str();
        let client = self.client().await?;
        let exists = client
            .query_opt(
                "SELECT 1 FROM task_groups WHERE taskgroup_id = $1 AND tenant_id = $2",
                &[&taskgroup_id, &tenant],
            )
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {RUN_COLUMNS}, {GROUP_RUN_COLUMNS} FROM runs
                 WHERE taskgroup_id = $1 AND group_pos > $2 AND ($3::TEXT IS NULL OR status = $3)
                 ORDER BY group_pos LIMIT $4"
            ))
            .await?;
        let status = query.status.map(RunStatus::as_str);
        let rows = client
            .query(
                &stmt,
                &[&taskgroup_id, &query.after, &status, &to_i64(query.limit)],
            )
            .await?;
        let records = rows
            .iter()
            .map(|row| rows::group_run(row, query.include_input, query.include_output))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(records))
    }

    async fn findall(&self, op: FindAllOp) -> Result<FindAllReply> {
        written_once!(self, op, findall::ops::execute)
    }

    async fn memory(&self, op: MemoryOp) -> Result<MemoryReply> {
        written_once!(self, op, memory::ops::execute)
    }

    async fn monitor(&self, op: MonitorOp) -> Result<MonitorReply> {
        written_once!(self, op, monitor::ops::execute)
    }

    fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    fn health(&self) -> Health {
        let mut health = Health::default();
        if self.creates.is_closed() {
            health.down.push(format!(
                "the {CREATE_WRITER} stopped: no run can be created until the server restarts"
            ));
        }
        if self.finishes.is_closed() {
            health.down.push(format!(
                "the {FINISH_WRITER} stopped: no run can end until the server restarts"
            ));
        }
        // The listener reconnects on its own for as long as the store lives; its task ends
        // only if something killed it.
        if self.listener.is_finished() {
            health.down.push(
                "the PostgreSQL listener stopped: changes made by other nodes are noticed only by polling"
                    .into(),
            );
        }
        health
    }
}

#[cfg(test)]
#[path = "../../tests/backends/test_database.rs"]
mod test_database;

#[cfg(test)]
mod tests;
