//! The embedded backend: one SQLite file in the data directory.
//!
//! Writes go through one writer thread that owns the only write connection. It takes every
//! write waiting in its queue (up to [`MAX_BATCH`]), runs each inside its own savepoint of one
//! `BEGIN IMMEDIATE` transaction, commits once, and only then answers each caller: a burst of
//! concurrent creates costs one fsync, not one each (group commit), and a failing write rolls
//! back alone. A write that panics (a bug) is caught on the writer thread: its savepoint is
//! rolled back like any failed write, its caller gets [`StoreError::Panicked`], and the
//! writer goes on with the next. Should the writer thread still end, every later write is
//! answered [`StoreError::Stopped`] at once and [`Store::health`] reports it. Reads use a small pool of read connections on the blocking thread pool; WAL
//! lets them run beside the writer.
//!
//! SQLite serves one process: opening takes an exclusive lock on `parallax.lock` in the data
//! directory, so any run still marked `running` at open belongs to a dead process and is
//! queued again at once.

#[cfg(any(test, feature = "failpoints"))]
use crate::failpoints::{Failpoint, Failpoints};
use crate::fair::{self, QueuedRun, TenantQueue};
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
use crate::sql::adapters::SqliteTx;
use crate::{
    delivery_update, ended_column, merged_warnings_sql, panic_message, ActiveRuns, AddedRuns,
    ClaimedRun, CreateOutcome, Delivery, DeliveryAttempt, EventRecord, GroupEvents, GroupRunRecord,
    GroupRunsQuery, GroupToCreate, Health, KeyHash, Lease, Notice, OutcomeColumns, Page, Result,
    RunOutcome, RunToCreate, RunsToAdd, Store, StoreError, TenantId, ACTIVE_RUNS_SQL,
    GROUP_STATUS_COLUMNS, NOTICE_CAPACITY,
};
use async_trait::async_trait;
use parallax_api::events::{task_run_state_record, GroupEventKind};
use parallax_api::group::{GroupStatus, TaskGroup};
use parallax_api::{ids, time::now_micros, webhook, RunStatus, TaskRun};
use rusqlite::{params, CachedStatement, Connection, OptionalExtension, Row};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};

/// Most writes committed in one transaction.
pub const MAX_BATCH: usize = 512;
/// Read connections kept open.
const READERS: usize = 8;
/// Writes waiting for the writer before callers wait to enqueue.
const QUEUE: usize = 16_384;
/// What [`StoreError::Stopped`] and [`Store::health`] call the writer thread.
const WRITER: &str = "SQLite writer thread";

/// The SQLite store. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    writer: mpsc::SyncSender<Box<dyn Job>>,
    /// The writer thread, to tell whether it is still running.
    writer_thread: std::thread::JoinHandle<()>,
    readers: Arc<Readers>,
    notices: broadcast::Sender<Notice>,
    /// The process lock on the data directory, when this store runs the server.
    _lock: Option<File>,
    #[cfg(any(test, feature = "failpoints"))]
    failpoints: Arc<Failpoints>,
}

struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) `parallax.db` in `data_dir`, migrates it, takes the process
    /// lock, and queues again every run left `running` by a previous process.
    pub fn open(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let lock = File::create(data_dir.join("parallax.lock"))?;
        if lock.try_lock().is_err() {
            return Err(StoreError::Migration(format!(
                "another parallax process is using {}; stop it or choose another --data-dir",
                data_dir.display()
            )));
        }
        Self::open_with(data_dir, Some(lock))
    }

    /// Opens the database beside a server that may be running on it, for operator commands
    /// (`parallax keys`, `parallax migrate`): no process lock is taken and no run is touched.
    /// SQLite itself serialises the two processes' writes. Do not run a scheduler on it.
    pub fn open_beside_server(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        Self::open_with(data_dir, None)
    }

    fn open_with(data_dir: &Path, lock: Option<File>) -> Result<Self> {
        let path = data_dir.join("parallax.db");
        let mut conn = open_connection(&path)?;
        conn.execute_batch("PRAGMA journal_mode = WAL;")?;
        migrate(&mut conn)?;
        // Only the lock holder may assume that runs marked running have no live owner.
        if lock.is_some() {
            requeue_orphans(&mut conn)?;
        }
        let (writer, queue) = mpsc::sync_channel::<Box<dyn Job>>(QUEUE);
        #[cfg(any(test, feature = "failpoints"))]
        let failpoints = Arc::new(Failpoints::default());
        let writer_thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn({
                #[cfg(any(test, feature = "failpoints"))]
                let failpoints = failpoints.clone();
                move || {
                    write_loop(
                        conn,
                        queue,
                        #[cfg(any(test, feature = "failpoints"))]
                        &failpoints,
                    )
                }
            })?;
        let (notices, _) = broadcast::channel(NOTICE_CAPACITY);
        Ok(SqliteStore {
            writer,
            writer_thread,
            readers: Arc::new(Readers {
                path,
                idle: Mutex::new(Vec::new()),
            }),
            notices,
            _lock: lock,
            #[cfg(any(test, feature = "failpoints"))]
            failpoints,
        })
    }

    /// The failures planned on this store (tests only).
    #[cfg(any(test, feature = "failpoints"))]
    pub fn failpoints(&self) -> &Failpoints {
        &self.failpoints
    }

    /// Runs `f` on the writer inside the next group transaction; answers after the commit.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        #[cfg(any(test, feature = "failpoints"))]
        let f = {
            let panics = self.failpoints.take(Failpoint::WritePanics);
            move |conn: &Connection| {
                let result = f(conn);
                assert!(!panics, "failpoint: the write panics after its work");
                result
            }
        };
        let (reply, answer) = oneshot::channel();
        let job = Box::new(TypedJob {
            work: Some(f),
            result: None,
            reply,
        });
        let writer = self.writer.clone();
        // A full queue blocks; do that off the async threads.
        match writer.try_send(job) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(job)) => {
                tokio::task::spawn_blocking(move || writer.send(job))
                    .await
                    .map_err(|_| StoreError::Closed)?
                    .map_err(|_| StoreError::Stopped(WRITER))?;
            }
            Err(mpsc::TrySendError::Disconnected(_)) => return Err(StoreError::Stopped(WRITER)),
        }
        // Every job is answered, panicking or not; an answer never sent means the thread
        // itself ended with this job in hand.
        answer.await.map_err(|_| StoreError::Stopped(WRITER))?
    }

    /// Runs an op of the logic written once for both backends (FindAll, monitors): on a
    /// reader if it only reads, else in the writer's transaction; sends its notices after
    /// the commit.
    async fn written_once<R, F>(&self, is_read: bool, execute: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<(R, Vec<Notice>)> + Send + 'static,
    {
        let (reply, notices) = if is_read {
            self.read(execute).await?
        } else {
            self.write(execute).await?
        };
        announce(&self.notices, notices);
        Ok(reply)
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.idle.lock().expect("reader pool lock").pop();
            let conn = match conn {
                Some(conn) => conn,
                None => open_connection(&readers.path)?,
            };
            let result = f(&conn);
            let mut idle = readers.idle.lock().expect("reader pool lock");
            if idle.len() < READERS {
                idle.push(conn);
            }
            result
        })
        .await
        .map_err(|e| match e.try_into_panic() {
            Ok(payload) => {
                let message = panic_message(&*payload);
                tracing::error!(panic = %message, "a sqlite read panicked");
                StoreError::Panicked(message)
            }
            Err(_) => StoreError::Closed,
        })?
    }
}

/// Queues again every run left `running` by a process that is gone.
fn requeue_orphans(conn: &mut Connection) -> Result<()> {
    let now = now_micros();
    let tx = conn.transaction()?;
    let orphans = requeue_where(&tx, "status = 'running'", params![], now)?;
    futures::executor::block_on(findall::ops::execute(
        &mut SqliteTx(&tx),
        FindAllOp::Requeue { all: true },
        now,
    ))?;
    tx.commit()?;
    if !orphans.is_empty() {
        tracing::info!(
            runs = orphans.len(),
            "queued again runs left running by a previous process"
        );
    }
    Ok(())
}

fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    // FULL: a commit is on disk before the writer answers, so an acknowledged run survives
    // even a power cut, not only a killed process.
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
    )?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    let tx = conn.transaction()?;
    let current: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    for (version, sql) in migrations::pending(&migrations::SQLITE, current)? {
        tx.execute_batch(&sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, now_micros()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// One write for the writer thread: run it, then learn whether it committed.
trait Job: Send {
    /// Runs the write; false means it failed and its savepoint is rolled back.
    fn execute(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the transaction's fate is known.
    fn deliver(self: Box<Self>, commit: std::result::Result<(), String>);
}

struct TypedJob<T, F> {
    work: Option<F>,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T: Send, F: FnOnce(&Connection) -> Result<T> + Send> Job for TypedJob<T, F> {
    fn execute(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        // A panic is a bug in this write, not in the others of the batch: it fails this one
        // (its savepoint is rolled back) and the thread goes on. Statements the write left
        // open were dropped while unwinding, so the connection is fit for the next write.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|payload| {
                let message = panic_message(&*payload);
                tracing::error!(panic = %message, "a sqlite write panicked; rolled back alone");
                Err(StoreError::Panicked(message))
            });
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn deliver(self: Box<Self>, commit: std::result::Result<(), String>) {
        let answer = match (commit, self.result) {
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError::CommitFailed("the write never ran".into())),
            (Err(e), _) => Err(StoreError::CommitFailed(e)),
        };
        let _ = self.reply.send(answer);
    }
}

fn write_loop(
    conn: Connection,
    queue: mpsc::Receiver<Box<dyn Job>>,
    #[cfg(any(test, feature = "failpoints"))] failpoints: &Failpoints,
) {
    while let Ok(first) = queue.recv() {
        #[cfg(any(test, feature = "failpoints"))]
        if failpoints.take(Failpoint::WriterStops) {
            panic!("failpoint: the sqlite writer thread stops");
        }
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = commit_batch(&conn, &mut batch);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, writes = batch.len(), "sqlite group commit failed");
            let _ = conn.execute_batch("ROLLBACK");
        }
        let outcome = outcome.map_err(|e| e.to_string());
        for job in batch {
            job.deliver(outcome.clone());
        }
    }
}

fn commit_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        conn.execute_batch("SAVEPOINT job")?;
        if job.execute(conn) {
            conn.execute_batch("RELEASE job")?;
        } else {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
        }
    }
    // Every write of this backend commits here: the one place its commits are timed.
    let started = std::time::Instant::now();
    let committed = conn.execute_batch("COMMIT");
    parallax_metrics::store_commit(parallax_metrics::Backend::Sqlite, started.elapsed());
    committed
}

fn load_run(conn: &Connection, tenant: Option<&str>, run_id: &str) -> Result<Option<TaskRun>> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?1 AND (?2 IS NULL OR tenant_id = ?2)"
    );
    first_row(conn.prepare_cached(&sql)?, params![run_id, tenant], |r| {
        rows::task_run(r, 0)
    })
}

fn insert_event(conn: &Connection, run_id: &str, data: &str, now: i64) -> Result<i64> {
    let seq: i64 = conn
        .prepare_cached(
            "INSERT INTO run_events (run_id, seq, data, created_at)
             SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3 FROM run_events WHERE run_id = ?1
             RETURNING seq",
        )?
        .query_row(params![run_id, data, now], |r| r.get(0))?;
    Ok(seq)
}

/// Inserts a new queued run (in a group, at a position, if given) with its `queued` state
/// event; returns it as the API shows it.
fn insert_queued_run(
    conn: &Connection,
    tenant: &str,
    run: &RunToCreate,
    group: Option<(&str, i64)>,
) -> Result<TaskRun> {
    conn.prepare_cached(
        "INSERT INTO runs (run_id, tenant_id, processor, status, metadata, input_doc,
            enable_events, previous_interaction_id, created_at, modified_at, webhook_url,
            taskgroup_id, group_pos, warnings, betas)
         VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        run.run_id,
        tenant,
        run.processor,
        run.metadata,
        run.input_doc,
        run.enable_events,
        run.previous_interaction_id,
        run.created_at,
        run.webhook_url,
        group.map(|(id, _)| id),
        group.map(|(_, position)| position),
        run.warnings,
        run.betas
    ])?;
    let task_run = run.queued_run(group.map(|(id, _)| id))?;
    insert_event(
        conn,
        &run.run_id,
        &task_run_state_record(&task_run),
        run.created_at,
    )?;
    Ok(task_run)
}

/// Queues again the running runs matching `condition`, with their state events.
fn requeue_where(
    conn: &Connection,
    condition: &str,
    args: impl rusqlite::Params,
    now: i64,
) -> Result<Vec<String>> {
    let sql = format!(
        "UPDATE runs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, modified_at = {now}
         WHERE status = 'running' AND {condition} RETURNING {RUN_COLUMNS}"
    );
    let runs: Vec<TaskRun> = conn
        .prepare(&sql)?
        .query_and_then(args, |r| rows::task_run(r, 0))?
        .collect::<Result<_>>()?;
    for run in &runs {
        insert_event(conn, &run.run_id, &task_run_state_record(run), now)?;
    }
    Ok(runs.into_iter().map(|r| r.run_id).collect())
}

/// Records that a run of a group ended: moves the counts, appends its `task_run.state`
/// event to the group's log, and, if no run of the group is active any more, a
/// `task_group_status` event.
fn record_group_run_ended(conn: &Connection, group: &str, run: &TaskRun, now: i64) -> Result<()> {
    let sql = format!(
        "UPDATE task_groups SET n_pending = n_pending - 1, {ended} = {ended} + 1,
            modified_at = ?1, event_seq = event_seq + 1
         WHERE taskgroup_id = ?2 RETURNING event_seq, {GROUP_STATUS_COLUMNS}",
        ended = ended_column(run.status)?
    );
    let (seq, status) = first_row(conn.prepare_cached(&sql)?, params![now, group], |r| {
        Ok::<_, StoreError>((r.int(0)?, rows::status(r, 1)?))
    })?
    .ok_or(StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows))?;
    insert_group_event(
        conn,
        group,
        seq,
        GroupEventKind::RunEnded,
        &run.to_json(),
        now,
    )?;
    if !status.is_active() {
        append_status_event(conn, group, &status, now)?;
    }
    Ok(())
}

/// Appends a `task_group_status` event carrying `status`; returns its cursor.
fn append_status_event(
    conn: &Connection,
    group: &str,
    status: &GroupStatus,
    now: i64,
) -> Result<i64> {
    let seq: i64 = conn
        .prepare_cached(
            "UPDATE task_groups SET event_seq = event_seq + 1 WHERE taskgroup_id = ?1 RETURNING event_seq",
        )?
        .query_row(params![group], |r| r.get(0))?;
    insert_group_event(
        conn,
        group,
        seq,
        GroupEventKind::Status,
        &status.to_json(),
        now,
    )?;
    Ok(seq)
}

fn insert_group_event(
    conn: &Connection,
    group: &str,
    seq: i64,
    kind: GroupEventKind,
    data: &str,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO group_events (taskgroup_id, seq, kind, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![group, seq, kind.as_str(), data, now])?;
    Ok(())
}

fn load_group(conn: &Connection, tenant: &str, group: &str) -> Result<Option<TaskGroup>> {
    let sql = format!(
        "SELECT taskgroup_id, metadata, created_at, {GROUP_STATUS_COLUMNS} FROM task_groups
         WHERE taskgroup_id = ?1 AND tenant_id = ?2"
    );
    first_row(conn.prepare_cached(&sql)?, params![group, tenant], |r| {
        rows::task_group(r)
    })
}

/// The first row `stmt` finds, read with `read`; `None` if it finds none.
fn first_row<T>(
    mut stmt: CachedStatement<'_>,
    params: impl rusqlite::Params,
    read: impl FnOnce(&Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    stmt.query(params)?.next()?.map(read).transpose()
}

/// Creates a tenant owning one API key (by its hash); returns the tenant id.
fn insert_tenant_with_key(conn: &Connection, key_hash: &KeyHash, label: &str) -> Result<TenantId> {
    let tenant = ids::new_id("tenant_");
    let now = now_micros();
    conn.execute(
        "INSERT INTO tenants (tenant_id, created_at) VALUES (?1, ?2)",
        params![tenant, now],
    )?;
    conn.execute(
        "INSERT INTO api_keys (key_hash, tenant_id, label, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![&key_hash[..], tenant, label, now],
    )?;
    Ok(tenant)
}

fn lease_end(lease: Duration, now: i64) -> i64 {
    now + i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2)
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_tenant_with_key(&self, key_hash: KeyHash, label: &str) -> Result<TenantId> {
        let label = label.to_owned();
        self.write(move |conn| insert_tenant_with_key(conn, &key_hash, &label))
            .await
    }

    async fn ensure_key(&self, key_hash: KeyHash, label: &str) -> Result<TenantId> {
        let label = label.to_owned();
        self.write(move |conn| {
            let existing: Option<String> = conn
                .query_row(
                    "SELECT tenant_id FROM api_keys WHERE key_hash = ?1",
                    params![&key_hash[..]],
                    |r| r.get(0),
                )
                .optional()?;
            match existing {
                Some(tenant) => Ok(tenant),
                None => insert_tenant_with_key(conn, &key_hash, &label),
            }
        })
        .await
    }

    async fn api_keys(&self) -> Result<Vec<(KeyHash, TenantId)>> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT key_hash, tenant_id FROM api_keys")?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut keys = Vec::new();
            for row in rows {
                let (hash, tenant) = row?;
                let hash: KeyHash = hash
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("an api key hash is not 32 bytes".into()))?;
                keys.push((hash, tenant));
            }
            Ok(keys)
        })
        .await
    }

    async fn api_key_tenant(&self, key_hash: KeyHash) -> Result<Option<TenantId>> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT tenant_id FROM api_keys WHERE key_hash = ?1")?
                .query_row(params![&key_hash[..]], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    async fn tenant_limits(&self) -> Result<Vec<(TenantId, TenantLimits)>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(&crate::sql::sqlite_placeholders(limits::SELECT_LIMITS))?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    TenantLimits::from_columns(r.get(1)?, r.get(2)?),
                ))
            })?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn set_tenant_limits(&self, tenant: &str, set: TenantLimits) -> Result<bool> {
        let tenant = tenant.to_owned();
        let (per_minute, active) = set.columns();
        self.write(move |conn| {
            let changed = conn.execute(
                &crate::sql::sqlite_placeholders(limits::SET_LIMITS),
                params![tenant, per_minute, active],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    async fn tenant_active_runs(&self, tenant: &str) -> Result<u64> {
        let tenant = tenant.to_owned();
        self.read(move |conn| {
            let n: i64 = conn
                .prepare_cached(&crate::sql::sqlite_placeholders(limits::COUNT_ACTIVE_RUNS))?
                .query_row(params![tenant], |r| r.get(0))?;
            Ok(n.max(0) as u64)
        })
        .await
    }

    async fn create_run(&self, tenant: &str, run: RunToCreate) -> Result<CreateOutcome> {
        let tenant = tenant.to_owned();
        let outcome = self
            .write(move |conn| {
                if let Some(idem) = &run.idempotency {
                    let previous: Option<(Vec<u8>, String)> = conn
                        .prepare_cached(
                            "SELECT body_hash, response FROM idempotency_keys WHERE tenant_id = ?1 AND key = ?2",
                        )?
                        .query_row(params![tenant, idem.key], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()?;
                    if let Some((hash, response)) = previous {
                        return Ok(if hash == idem.body_hash {
                            CreateOutcome::Replayed(response)
                        } else {
                            CreateOutcome::KeyConflict
                        });
                    }
                }
                let task_run = insert_queued_run(conn, &tenant, &run, None)?;
                if let Some(idem) = &run.idempotency {
                    let response = task_run.to_json();
                    conn.prepare_cached(
                        "INSERT INTO idempotency_keys (tenant_id, key, body_hash, run_id, response, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![
                        tenant,
                        idem.key,
                        &idem.body_hash[..],
                        run.run_id,
                        response,
                        run.created_at
                    ])?;
                }
                Ok(CreateOutcome::Created(task_run))
            })
            .await?;
        announce(&self.notices, notices::created(&outcome));
        Ok(outcome)
    }

    async fn get_run(&self, tenant: &str, run_id: &str) -> Result<Option<TaskRun>> {
        let (tenant, run_id) = (tenant.to_owned(), run_id.to_owned());
        self.read(move |conn| load_run(conn, Some(&tenant), &run_id))
            .await
    }

    async fn list_runs(
        &self,
        tenant: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TaskRun>> {
        let (tenant, before) = (tenant.to_owned(), before.map(str::to_owned));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let sql = format!(
                "SELECT {RUN_COLUMNS} FROM runs
                 WHERE tenant_id = ?1
                   AND (?2 IS NULL OR (created_at, run_id) <
                        (SELECT created_at, run_id FROM runs WHERE run_id = ?2 AND tenant_id = ?1))
                 ORDER BY created_at DESC, run_id DESC LIMIT ?3"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let runs = stmt
                .query_and_then(params![tenant, before, limit], |r| rows::task_run(r, 0))?
                .collect::<Result<Vec<_>>>()?;
            Ok(runs)
        })
        .await
    }

    async fn get_input(&self, tenant: &str, run_id: &str) -> Result<Option<String>> {
        let (tenant, run_id) = (tenant.to_owned(), run_id.to_owned());
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT input_doc FROM runs WHERE run_id = ?1 AND tenant_id = ?2")?
                .query_row(params![run_id, tenant], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    async fn get_result(
        &self,
        tenant: &str,
        run_id: &str,
    ) -> Result<Option<(TaskRun, Option<String>)>> {
        let (tenant, run_id) = (tenant.to_owned(), run_id.to_owned());
        self.read(move |conn| {
            let sql = format!(
                "SELECT {RUN_COLUMNS}, output FROM runs WHERE run_id = ?1 AND tenant_id = ?2"
            );
            first_row(conn.prepare_cached(&sql)?, params![run_id, tenant], |r| {
                Ok((rows::task_run(r, 0)?, r.opt_text(9)?))
            })
        })
        .await
    }

    async fn events_after(&self, tenant: &str, page: Page<'_>) -> Result<Vec<EventRecord>> {
        let (tenant, run_id) = (tenant.to_owned(), page.of.to_owned());
        let (after, limit) = (page.after, page.limit);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT e.seq, e.data FROM run_events e JOIN runs r ON r.run_id = e.run_id
                 WHERE e.run_id = ?1 AND r.tenant_id = ?2 AND e.seq > ?3 ORDER BY e.seq LIMIT ?4",
            )?;
            let records = stmt
                .query_and_then(params![run_id, tenant, after, limit as i64], |r| {
                    rows::event_record(r)
                })?;
            records.collect()
        })
        .await
    }

    async fn claim_runs(&self, lease: Lease<'_>, limit: usize) -> Result<Vec<ClaimedRun>> {
        let (worker, ttl) = (lease.worker.to_owned(), lease.ttl);
        let claimed = self
            .write(move |conn| {
                let now = now_micros();
                let picked = fair::pick(tenant_queues(conn, limit)?, limit);
                let sql = format!(
                    "UPDATE runs SET status = 'running', lease_owner = ?1, lease_expires_at = ?2,
                        attempts = attempts + 1, modified_at = ?3
                     WHERE run_id = ?4 AND status = 'queued'
                     RETURNING {RUN_COLUMNS}, {CLAIM_COLUMNS}"
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut claimed: Vec<(ClaimedRun, TaskRun)> = Vec::with_capacity(picked.len());
                for run_id in &picked {
                    for row in stmt
                        .query_and_then(params![worker, lease_end(ttl, now), now, run_id], |r| {
                            rows::claimed_run(r)
                        })?
                    {
                        claimed.push(row?);
                    }
                }
                rows::sort_claimed(&mut claimed);
                for (_, run) in &claimed {
                    insert_event(conn, &run.run_id, &task_run_state_record(run), now)?;
                }
                Ok(claimed.into_iter().map(|(c, _)| c).collect::<Vec<_>>())
            })
            .await?;
        announce(&self.notices, notices::claimed(&claimed));
        Ok(claimed)
    }

    async fn heartbeat(&self, lease: Lease<'_>, run_ids: &[String]) -> Result<Vec<String>> {
        let (worker, ttl, run_ids) = (lease.worker.to_owned(), lease.ttl, run_ids.to_vec());
        self.write(move |conn| {
            let now = now_micros();
            let mut stmt = conn.prepare_cached(
                "UPDATE runs SET lease_expires_at = ?1 WHERE run_id = ?2 AND lease_owner = ?3 AND status = 'running'",
            )?;
            let mut lost = Vec::new();
            for run_id in run_ids {
                if stmt.execute(params![lease_end(ttl, now), run_id, worker])? == 0 {
                    lost.push(run_id);
                }
            }
            Ok(lost)
        })
        .await
    }

    async fn append_event(&self, worker: &str, run_id: &str, data: &str) -> Result<Option<i64>> {
        let (worker, id, data) = (worker.to_owned(), run_id.to_owned(), data.to_owned());
        let seq = self
            .write(move |conn| {
                let held: Option<i64> = conn
                    .prepare_cached(
                        "SELECT 1 FROM runs WHERE run_id = ?1 AND lease_owner = ?2 AND status = 'running'",
                    )?
                    .query_row(params![id, worker], |r| r.get(0))
                    .optional()?;
                match held {
                    Some(_) => Ok(Some(insert_event(conn, &id, &data, now_micros())?)),
                    None => Ok(None),
                }
            })
            .await?;
        announce(&self.notices, notices::appended(run_id, seq.is_some()));
        Ok(seq)
    }

    async fn finish_run(&self, worker: &str, run_id: &str, outcome: RunOutcome) -> Result<bool> {
        let (worker, id) = (worker.to_owned(), run_id.to_owned());
        let finished = self
            .write(move |conn| {
                let now = now_micros();
                let OutcomeColumns {
                    status,
                    output,
                    error,
                    warnings,
                } = outcome.into_columns()?;
                let sql = format!(
                    "UPDATE runs SET status = ?1, output = ?2, error = ?3, warnings = {},
                        lease_owner = NULL, lease_expires_at = NULL, modified_at = ?5
                     WHERE run_id = ?6 AND lease_owner = ?7 AND status = 'running'
                     RETURNING {RUN_COLUMNS}, tenant_id, webhook_url, input_doc",
                    merged_warnings_sql("?4")
                );
                let run = first_row(
                    conn.prepare_cached(&sql)?,
                    params![status, output, error, warnings, now, id, worker],
                    |r| {
                        Ok((
                            rows::task_run(r, 0)?,
                            r.text(9)?,
                            r.opt_text(10)?,
                            r.text(11)?,
                        ))
                    },
                )?;
                match run {
                    Some((run, tenant, webhook_url, input_doc)) => {
                        insert_event(conn, &id, &task_run_state_record(&run), now)?;
                        if let Some(output) = &output {
                            futures::executor::block_on(memory::ops::record_task(
                                &mut SqliteTx(conn),
                                &tenant,
                                &id,
                                &input_doc,
                                output,
                                now,
                            ))?;
                        }
                        if let Some(group) = &run.taskgroup_id {
                            record_group_run_ended(conn, group, &run, now)?;
                        }
                        if let Some(url) = webhook_url {
                            conn.prepare_cached(
                                "INSERT INTO webhook_deliveries (delivery_id, tenant_id, run_id, url,
                                    body, state, next_attempt_at, created_at)
                                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
                            )?
                            .execute(params![
                                ids::new_id(webhook::DELIVERY_PREFIX),
                                tenant,
                                id,
                                url,
                                webhook::task_run_status_body(&run, now),
                                now
                            ])?;
                        }
                        Ok(Some(run.taskgroup_id))
                    }
                    None => Ok(None),
                }
            })
            .await?;
        let ended = finished.as_ref().map(Option::as_deref);
        announce(&self.notices, notices::finished(run_id, ended));
        Ok(finished.is_some())
    }

    async fn release_runs(&self, worker: &str, run_ids: &[String]) -> Result<usize> {
        let (worker, ids) = (worker.to_owned(), run_ids.to_vec());
        let released = self
            .write(move |conn| {
                let now = now_micros();
                let mut count = 0;
                for id in &ids {
                    count += requeue_where(
                        conn,
                        "run_id = ?1 AND lease_owner = ?2",
                        params![id, worker],
                        now,
                    )?
                    .len();
                }
                Ok(count)
            })
            .await?;
        announce(&self.notices, notices::requeued(run_ids, released));
        Ok(released)
    }

    async fn requeue_expired(&self) -> Result<usize> {
        let requeued = self
            .write(|conn| {
                let now = now_micros();
                requeue_where(conn, "lease_expires_at < ?1", params![now], now)
            })
            .await?;
        announce(&self.notices, notices::requeued(&requeued, requeued.len()));
        Ok(requeued.len())
    }

    async fn active_runs(&self) -> Result<Vec<ActiveRuns>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(ACTIVE_RUNS_SQL)?;
            let rows = stmt.query_and_then([], |r| crate::active_runs_row(r))?;
            rows.collect()
        })
        .await
    }

    async fn webhook_secret(&self, tenant: &str) -> Result<String> {
        let tenant = tenant.to_owned();
        self.write(move |conn| {
            ensure_secret(conn, &tenant)?
                .ok_or_else(|| StoreError::Corrupt(format!("no tenant {tenant}")))
        })
        .await
    }

    async fn claim_deliveries(&self, lease: Lease<'_>, limit: usize) -> Result<Vec<Delivery>> {
        let (worker, ttl) = (lease.worker.to_owned(), lease.ttl);
        self.write(move |conn| {
            let now = now_micros();
            let sql = format!(
                "UPDATE webhook_deliveries SET lease_owner = ?1, lease_expires_at = ?2,
                    attempts = attempts + 1
                 WHERE delivery_id IN (
                    SELECT delivery_id FROM webhook_deliveries
                    WHERE state = 'pending' AND next_attempt_at <= ?3
                      AND (lease_expires_at IS NULL OR lease_expires_at < ?3)
                    ORDER BY next_attempt_at LIMIT ?4)
                 RETURNING {DELIVERY_COLUMNS}"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut claimed: Vec<Delivery> = stmt
                .query_and_then(
                    params![worker, lease_end(ttl, now), now, limit as i64],
                    |r| rows::delivery(r),
                )?
                .collect::<Result<_>>()?;
            drop(stmt);
            for delivery in &mut claimed {
                delivery.secret = ensure_secret(conn, &delivery.tenant)?
                    .ok_or_else(|| StoreError::Corrupt(format!("no tenant {}", delivery.tenant)))?;
            }
            claimed.sort_by_key(|d| d.created_at);
            Ok(claimed)
        })
        .await
    }

    async fn delivery_attempted(&self, worker: &str, attempt: DeliveryAttempt) -> Result<()> {
        let (worker, id) = (worker.to_owned(), attempt.delivery_id);
        self.write(move |conn| {
            let (state, next, error) = delivery_update(&attempt.outcome);
            conn.prepare_cached(
                "UPDATE webhook_deliveries SET state = ?1,
                    next_attempt_at = COALESCE(?2, next_attempt_at), last_error = ?3,
                    lease_owner = NULL, lease_expires_at = NULL
                 WHERE delivery_id = ?4 AND lease_owner = ?5",
            )?
            .execute(params![state, next, error, id, worker])?;
            Ok(())
        })
        .await
    }

    async fn create_group(&self, tenant: &str, group: GroupToCreate) -> Result<TaskGroup> {
        let tenant = tenant.to_owned();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO task_groups (taskgroup_id, tenant_id, metadata, created_at, modified_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
            )?
            .execute(params![
                group.taskgroup_id,
                tenant,
                group.metadata,
                group.created_at
            ])?;
            load_group(conn, &tenant, &group.taskgroup_id)?
                .ok_or_else(|| StoreError::Corrupt("a group just created is missing".into()))
        })
        .await
    }

    async fn get_group(&self, tenant: &str, taskgroup_id: &str) -> Result<Option<TaskGroup>> {
        let (tenant, group) = (tenant.to_owned(), taskgroup_id.to_owned());
        self.read(move |conn| load_group(conn, &tenant, &group))
            .await
    }

    async fn add_group_runs(&self, tenant: &str, add: RunsToAdd) -> Result<Option<AddedRuns>> {
        let RunsToAdd { taskgroup_id, runs } = add;
        let (tenant, group) = (tenant.to_owned(), taskgroup_id.clone());
        let added = self
            .write(move |conn| {
                let now = now_micros();
                let n = runs.len() as i64;
                // Locks nothing SQLite does not already serialise, but reads the positions
                // and cursor this add starts from in the same statement that advances them.
                let sql = format!(
                    "UPDATE task_groups SET run_seq = run_seq + ?1, n_pending = n_pending + ?1,
                        event_seq = event_seq + (?1 > 0), modified_at = ?2
                     WHERE taskgroup_id = ?3 AND tenant_id = ?4
                     RETURNING run_seq - ?1, event_seq - (?1 > 0), {GROUP_STATUS_COLUMNS}"
                );
                let Some((first_pos, event_cursor, status)) = first_row(
                    conn.prepare_cached(&sql)?,
                    params![n, now, group, tenant],
                    |r| Ok((r.int(0)?, r.int(1)?, rows::status(r, 2)?)),
                )?
                else {
                    return Ok(None);
                };
                let mut created = Vec::with_capacity(runs.len());
                for (i, run) in runs.iter().enumerate() {
                    let position = first_pos + 1 + i as i64;
                    created.push(insert_queued_run(
                        conn,
                        &tenant,
                        run,
                        Some((&group, position)),
                    )?);
                }
                if n > 0 {
                    insert_group_event(
                        conn,
                        &group,
                        event_cursor + 1,
                        GroupEventKind::Status,
                        &status.to_json(),
                        now,
                    )?;
                }
                Ok(Some(AddedRuns {
                    runs: created,
                    status,
                    event_cursor: (event_cursor > 0).then_some(event_cursor),
                    run_cursor: (first_pos > 0).then_some(first_pos),
                }))
            })
            .await?;
        announce(
            &self.notices,
            notices::group_added(&taskgroup_id, added.as_ref()),
        );
        Ok(added)
    }

    async fn group_events_after(
        &self,
        tenant: &str,
        page: Page<'_>,
    ) -> Result<Option<GroupEvents>> {
        let (tenant, group) = (tenant.to_owned(), page.of.to_owned());
        let (after, limit) = (page.after, page.limit);
        self.read(move |conn| {
            // One snapshot: the status and last cursor agree with the events read.
            let tx = conn.unchecked_transaction()?;
            let sql = format!(
                "SELECT event_seq, {GROUP_STATUS_COLUMNS} FROM task_groups
                 WHERE taskgroup_id = ?1 AND tenant_id = ?2"
            );
            let Some((last_event_id, status)) =
                first_row(tx.prepare_cached(&sql)?, params![group, tenant], |r| {
                    Ok((r.int(0)?, rows::status(r, 1)?))
                })?
            else {
                return Ok(None);
            };
            let sql = format!(
                "SELECT {GROUP_EVENT_COLUMNS} FROM group_events WHERE taskgroup_id = ?1 AND seq > ?2
                 ORDER BY seq LIMIT ?3"
            );
            let mut stmt = tx.prepare_cached(&sql)?;
            let events = stmt
                .query_and_then(params![group, after, limit as i64], |r| {
                    rows::group_event(r)
                })?
                .collect::<Result<Vec<_>>>()?;
            drop(stmt);
            tx.finish()?;
            Ok(Some(GroupEvents {
                events,
                status,
                last_event_id,
            }))
        })
        .await
    }

    async fn group_runs_after(
        &self,
        tenant: &str,
        query: GroupRunsQuery,
    ) -> Result<Option<Vec<GroupRunRecord>>> {
        let (tenant, group) = (tenant.to_owned(), query.taskgroup_id.clone());
        self.read(move |conn| {
            let exists = conn
                .prepare_cached(
                    "SELECT 1 FROM task_groups WHERE taskgroup_id = ?1 AND tenant_id = ?2",
                )?
                .query_row(params![group, tenant], |_| Ok(()))
                .optional()?;
            if exists.is_none() {
                return Ok(None);
            }
            let sql = format!(
                "SELECT {RUN_COLUMNS}, {GROUP_RUN_COLUMNS} FROM runs
                 WHERE taskgroup_id = ?1 AND taskgroup_id IS NOT NULL AND group_pos > ?2
                   AND (?3 IS NULL OR status = ?3)
                 ORDER BY group_pos LIMIT ?4"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let records = stmt
                .query_and_then(
                    params![
                        group,
                        query.after,
                        query.status.map(RunStatus::as_str),
                        query.limit as i64
                    ],
                    |r| rows::group_run(r, query.include_input, query.include_output),
                )?
                .collect::<Result<Vec<_>>>()?;
            Ok(Some(records))
        })
        .await
    }

    async fn findall(&self, op: FindAllOp) -> Result<FindAllReply> {
        let is_read = op.is_read();
        self.written_once(is_read, move |conn| {
            futures::executor::block_on(findall::ops::execute(
                &mut SqliteTx(conn),
                op,
                now_micros(),
            ))
        })
        .await
    }

    async fn memory(&self, op: MemoryOp) -> Result<MemoryReply> {
        let is_read = op.is_read();
        self.written_once(is_read, move |conn| {
            futures::executor::block_on(memory::ops::execute(&mut SqliteTx(conn), op, now_micros()))
        })
        .await
    }

    async fn monitor(&self, op: MonitorOp) -> Result<MonitorReply> {
        let is_read = op.is_read();
        self.written_once(is_read, move |conn| {
            futures::executor::block_on(monitor::ops::execute(
                &mut SqliteTx(conn),
                op,
                now_micros(),
            ))
        })
        .await
    }

    fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    fn health(&self) -> Health {
        let mut health = Health::default();
        if self.writer_thread.is_finished() {
            health.down.push(format!(
                "the {WRITER} stopped: nothing can be written until the server restarts"
            ));
        }
        health
    }
}

/// Every tenant with queued runs, by lane (see the `fair` module): each lane's running count
/// and its next `limit` queued runs.
fn tenant_queues(conn: &Connection, limit: usize) -> Result<Vec<TenantQueue>> {
    let running = conn
        .prepare_cached(fair::RUNNING_BY_LANE)?
        .query_and_then([], |r| rows::lane_running(r))?
        .collect::<Result<_>>()?;
    let mut queued: Vec<QueuedRun> = Vec::new();
    let tenants: Vec<String> = conn
        .prepare_cached("SELECT tenant_id FROM tenants")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut solo = conn.prepare_cached(
        "SELECT tenant_id, NULL, run_id, created_at FROM runs
         WHERE status = 'queued' AND taskgroup_id IS NULL AND tenant_id = ?1
         ORDER BY created_at LIMIT ?2",
    )?;
    for tenant in tenants {
        for run in solo.query_and_then(params![tenant, limit as i64], |r| rows::queued_run(r))? {
            queued.push(run?);
        }
    }
    let groups: Vec<String> = conn
        .prepare_cached("SELECT taskgroup_id FROM task_groups WHERE n_pending > 0")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut in_group = conn.prepare_cached(
        "SELECT tenant_id, taskgroup_id, run_id, created_at FROM runs
         WHERE status = 'queued' AND taskgroup_id = ?1 AND taskgroup_id IS NOT NULL
         ORDER BY group_pos LIMIT ?2",
    )?;
    for group in groups {
        for run in in_group.query_and_then(params![group, limit as i64], |r| rows::queued_run(r))? {
            queued.push(run?);
        }
    }
    Ok(fair::tenant_queues(running, queued))
}

/// The tenant's webhook secret, created on first use; `None` if there is no such tenant.
fn ensure_secret(conn: &Connection, tenant: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "UPDATE tenants SET webhook_secret = ?1 WHERE tenant_id = ?2 AND webhook_secret IS NULL",
    )?
    .execute(params![webhook::new_secret(), tenant])?;
    Ok(conn
        .prepare_cached("SELECT webhook_secret FROM tenants WHERE tenant_id = ?1")?
        .query_row(params![tenant], |r| r.get(0))
        .optional()?
        .flatten())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failpoints::Failpoint;

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("parallax-sqlite-unit-{}", uuid::Uuid::new_v4()))
    }

    fn new_run() -> RunToCreate {
        let run_id = ids::new_run_id();
        RunToCreate {
            idempotency: None,
            betas: None,
            input_doc: format!(r#"{{"processor":"lite","input":"{run_id}"}}"#),
            run_id,
            processor: "lite".into(),
            metadata: None,
            enable_events: true,
            previous_interaction_id: None,
            created_at: now_micros(),
            webhook_url: None,
            warnings: None,
        }
    }

    /// Rows of `run_id` in the file, read on a connection of its own.
    fn rows_of(dir: &Path, run_id: &str) -> (i64, i64) {
        let conn = open_connection(&dir.join("parallax.db")).unwrap();
        let count =
            |sql: &str| -> i64 { conn.query_row(sql, params![run_id], |r| r.get(0)).unwrap() };
        (
            count("SELECT COUNT(*) FROM runs WHERE run_id = ?1"),
            count("SELECT COUNT(*) FROM run_events WHERE run_id = ?1"),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_write_fails_alone_and_keeps_nothing() {
        let dir = temp_dir();
        let store = SqliteStore::open(&dir).unwrap();
        let tenant = store.create_tenant_with_key([1; 32], "t").await.unwrap();

        // The first create takes the planned panic (after inserting its run and its event);
        // the others are queued at the same time and share its group commit.
        store.failpoints().plan(Failpoint::WritePanics);
        let runs: Vec<RunToCreate> = (0..8).map(|_| new_run()).collect();
        let ids: Vec<String> = runs.iter().map(|r| r.run_id.clone()).collect();
        let outcomes =
            futures::future::join_all(runs.into_iter().map(|r| store.create_run(&tenant, r))).await;
        let mut outcomes = outcomes.into_iter();
        match outcomes.next().unwrap() {
            Err(StoreError::Panicked(message)) => {
                assert!(message.contains("failpoint"), "{message}")
            }
            other => panic!("the panicking write must fail with Panicked, got {other:?}"),
        }
        for (outcome, id) in outcomes.zip(&ids[1..]) {
            assert!(
                matches!(outcome, Ok(CreateOutcome::Created(_))),
                "{outcome:?}"
            );
            assert_eq!(
                rows_of(&dir, id),
                (1, 1),
                "run {id} and its queued event committed"
            );
        }
        assert_eq!(
            rows_of(&dir, &ids[0]),
            (0, 0),
            "nothing of the panicked write stays"
        );
        assert!(store.get_run(&tenant, &ids[0]).await.unwrap().is_none());

        // The writer goes on.
        let later = new_run();
        let later_id = later.run_id.clone();
        assert!(matches!(
            store.create_run(&tenant, later).await,
            Ok(CreateOutcome::Created(_))
        ));
        assert_eq!(rows_of(&dir, &later_id), (1, 1));
        assert!(store.health().is_ok(), "{:?}", store.health());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopped_writer_is_reported_and_answers_at_once() {
        let store = SqliteStore::open(&temp_dir()).unwrap();
        let tenant = store.create_tenant_with_key([2; 32], "t").await.unwrap();
        assert!(store.health().is_ok());

        store.failpoints().plan(Failpoint::WriterStops);
        let first = store.create_run(&tenant, new_run()).await;
        assert!(matches!(first, Err(StoreError::Stopped(_))), "{first:?}");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while store.health().is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "health never saw the writer stop"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let health = store.health();
        assert!(
            health.down[0].contains("SQLite writer thread"),
            "{health:?}"
        );

        // Later writes fail at once instead of waiting for a writer that will never answer.
        let later =
            tokio::time::timeout(Duration::from_secs(5), store.create_run(&tenant, new_run()))
                .await
                .expect("a write to a stopped writer must not hang");
        assert!(matches!(later, Err(StoreError::Stopped(_))), "{later:?}");
        // Reads still work.
        assert!(store.api_key_tenant([2; 32]).await.unwrap().is_some());
    }
}
