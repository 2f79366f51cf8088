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
//! The schema mirrors the SQLite backend (`sqlite.rs`): the same tables and columns, with
//! `BYTEA` for hashes, `BIGINT` microseconds for times, and `TEXT` — not `JSONB` — for JSON
//! documents, so that input documents, metadata and outputs come back byte for byte as stored
//! (`JSONB` would reorder keys and reformat numbers). Migrations are versioned in
//! `schema_migrations` and applied under `pg_advisory_xact_lock`, so nodes that start together
//! migrate exactly once. A database newer than this binary is refused.
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
use crate::migrations;
use crate::rows::{
    self, CLAIM_COLUMNS, DELIVERY_COLUMNS, GROUP_EVENT_COLUMNS, GROUP_RUN_COLUMNS, RUN_COLUMNS,
};
use crate::{
    delivery_update, merged_warnings_sql, panic_message, AddedRuns, ClaimedRun, CreateOutcome,
    Delivery, DeliveryOutcome, EventRecord, GroupEvents, GroupRunRecord, GroupRunsQuery,
    GroupToCreate, Health, Idempotency, KeyHash, Notice, OutcomeColumns, Result, RunOutcome,
    RunToCreate, Store, StoreError, TenantId, GROUP_STATUS_COLUMNS, NOTICE_CAPACITY,
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

    /// The failures planned on this store (tests only).
    #[cfg(any(test, feature = "failpoints"))]
    pub fn failpoints(&self) -> &Failpoints {
        &self.failpoints
    }

    async fn client(&self) -> Result<deadpool_postgres::Client> {
        self.pool.get().await.map_err(pool_error)
    }

    fn notify_run(&self, run_id: &str) {
        let _ = self.notices.send(Notice::Run(Arc::from(run_id)));
    }
}

/// TCP keepalives that notice a dead peer within about a minute.
fn keep_alive(config: &mut Config) {
    config
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .keepalives_interval(Duration::from_secs(10))
        .keepalives_retries(3);
}

fn parse_url(url: &str) -> Result<Config> {
    url.parse::<Config>().map_err(|e| {
        StoreError::Pool(format!(
            "invalid --database-url ({}); expected postgres://USER[:PASSWORD]@HOST:PORT/DBNAME",
            error_text(&e)
        ))
    })
}

fn pool_error(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => StoreError::Postgres(e),
        other => StoreError::Pool(error_text(&other)),
    }
}

/// An error with its causes: `tokio_postgres::Error` alone displays as just "db error" or
/// "error connecting to server", the server's message being its source.
pub fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `host:port/dbname` of a config, without credentials, for messages.
fn describe(config: &Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "localhost:5432".to_string()
    } else {
        hosts.join(",")
    };
    format!(
        "{hosts}/{}",
        config.get_dbname().unwrap_or("(default database)")
    )
}

/// Splits libpq `options` into words as the server does: on whitespace, `\` escaping the
/// next character.
fn split_options(options: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = options.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                word.push(next);
            }
        } else if c.is_whitespace() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Escapes a word for libpq `options`.
fn escape_option(word: &str) -> String {
    let mut escaped = String::with_capacity(word.len());
    for c in word.chars() {
        if c == '\\' || c.is_whitespace() {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The first schema of the `search_path` set by libpq `options` (`-c search_path=…`,
/// `-csearch_path=…` or `--search_path=…`; the last setting wins), as PostgreSQL resolves it:
/// unquoted names fold to lower case. `None` without one, or when it is `$user` or a reserved
/// `pg_` name.
fn schema_from_options(options: &str) -> Option<String> {
    let words = split_options(options);
    let mut words = words.iter();
    let mut path = None;
    while let Some(word) = words.next() {
        let setting = if word == "-c" {
            words.next().map(String::as_str)
        } else if let Some(rest) = word.strip_prefix("--") {
            Some(rest)
        } else {
            word.strip_prefix("-c")
        };
        if let Some((name, value)) = setting.and_then(|s| s.split_once('=')) {
            if name
                .trim()
                .replace('-', "_")
                .eq_ignore_ascii_case("search_path")
            {
                path = Some(value.to_string());
            }
        }
    }
    first_schema(&path?)
}

fn first_schema(path: &str) -> Option<String> {
    let path = path.trim_start();
    let name = if let Some(quoted) = path.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = quoted.chars().peekable();
        loop {
            match chars.next()? {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    name.push('"');
                }
                '"' => break,
                c => name.push(c),
            }
        }
        name
    } else {
        let name = path.split(',').next().unwrap_or("").trim();
        if name == "$user" {
            return None;
        }
        name.to_lowercase()
    };
    if name.is_empty() || name.starts_with("pg_") {
        return None;
    }
    Some(name)
}

/// Quotes an SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn migrate(client: &mut deadpool_postgres::Client, schema: Option<&str>) -> Result<()> {
    let tx = client.transaction().await?;
    // Held until this transaction ends: nodes starting together migrate one after another.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    if let Some(schema) = schema {
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            quote_ident(schema)
        ))
        .await?;
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
            &[],
        )
        .await?
        .try_get(0)?;
    for (version, sql) in migrations::pending(&migrations::POSTGRES, current)? {
        tx.batch_execute(&sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[&version, &now_micros()],
        )
        .await?;
        tracing::info!(version, "applied PostgreSQL schema migration");
    }
    tx.commit().await?;
    Ok(())
}

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

/// Records that runs of one group ended (all of them held locked by this transaction, in the
/// order given): moves the counts, appends one `task_run.state` event per run to the group's
/// log, and, if no run of the group is active any more, a `task_group_status` event. The
/// group row's lock, held to the commit, orders these appends after every earlier one.
async fn record_group_runs_ended(
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
struct FinishJob {
    worker: String,
    run_id: String,
    columns: OutcomeColumns,
    /// `None`: the worker no longer held the run. `Some(group)`: finished (in that group).
    reply: oneshot::Sender<Result<Option<Option<String>>>>,
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
async fn finish_runs(
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
             RETURNING {RUN_COLUMNS}, tenant_id, webhook_url",
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
        ended.insert(run.run_id.clone(), (run, row.try_get(9)?, row.try_get(10)?));
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
    tx.commit().await.map_err(|e| match e.as_db_error() {
        Some(_) => StoreError::Postgres(e),
        None => StoreError::CommitFailed(format!(
            "the outcome of the commit is unknown: {}",
            error_text(&e)
        )),
    })?;
    Ok(jobs
        .iter()
        .map(|job| {
            ended
                .get(&job.run_id)
                .map(|(run, _, _)| run.taskgroup_id.clone())
        })
        .collect())
}

async fn insert_group_events(
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

/// A new run to insert, queued: its tenant, its `queued` state event, and the group it joins
/// with its position there.
struct QueuedRunRow<'a> {
    tenant: &'a str,
    run: &'a RunToCreate,
    event: &'a str,
    group: Option<(&'a str, i64)>,
}

/// Inserts new queued runs and their `queued` state events (cursor 1): two statements,
/// whatever the number of runs. Used by creates and by task group adds.
async fn insert_queued_runs<'a>(
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
    let groups = column(|r| r.group.map(|(g, _)| g));
    let events = column(|r| Some(r.event));
    let enable_events: Vec<bool> = rows.iter().map(|r| r.run.enable_events).collect();
    let created: Vec<i64> = rows.iter().map(|r| r.run.created_at).collect();
    let positions: Vec<Option<i64>> = rows.iter().map(|r| r.group.map(|(_, p)| p)).collect();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO runs (run_id, tenant_id, processor, status, metadata, input_doc,
                enable_events, previous_interaction_id, created_at, modified_at, webhook_url,
                taskgroup_id, group_pos, warnings)
             SELECT u.run_id, u.tenant_id, u.processor, 'queued', u.metadata, u.input_doc,
                u.enable_events, u.previous, u.created_at, u.created_at, u.webhook_url,
                u.taskgroup_id, u.group_pos, u.warnings
             FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
                         $6::BOOLEAN[], $7::TEXT[], $8::BIGINT[], $9::TEXT[], $10::TEXT[],
                         $11::BIGINT[], $12::TEXT[])
               AS u(run_id, tenant_id, processor, metadata, input_doc, enable_events,
                    previous, created_at, webhook_url, taskgroup_id, group_pos, warnings)",
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
struct CreateJob {
    tenant: String,
    run: RunToCreate,
    idempotency: Option<Idempotency>,
    task_run: TaskRun,
    /// The `queued` state event.
    event: String,
    /// The created run's JSON, stored as the replay answer when there is a key.
    response: Option<String>,
    reply: oneshot::Sender<Result<CreateOutcome>>,
    /// A planned failure: the batch holding this create panics before its commit.
    #[cfg(any(test, feature = "failpoints"))]
    panics: bool,
}

/// A write the batch writers commit together with others waiting (see the module
/// documentation): creates and run endings.
#[async_trait]
trait BatchedWrite: Send + Sync + Sized + 'static {
    type Outcome: Send;
    /// What the writes are, for logs.
    const WHAT: &'static str;
    /// Commits `jobs` in one transaction; returns each one's outcome, in order. An error
    /// other than [`StoreError::CommitFailed`] means the transaction was rolled back.
    async fn commit(
        client: &mut deadpool_postgres::Client,
        jobs: &[Self],
    ) -> Result<Vec<Self::Outcome>>;
    /// Answers the caller.
    fn reply(self, outcome: Result<Self::Outcome>);
}

/// Takes every write waiting (up to [`MAX_BATCH`]) and commits them as one batch, with at
/// most `in_flight` batches committing at once; the next batch gathers meanwhile.
async fn batch_loop<W: BatchedWrite>(
    pool: Pool,
    mut queue: mpsc::Receiver<W>,
    in_flight: usize,
    #[cfg(any(test, feature = "failpoints"))] failpoints: Option<Arc<Failpoints>>,
) {
    let slots = Arc::new(Semaphore::new(in_flight));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let mut batch = Vec::new();
        if queue.recv_many(&mut batch, MAX_BATCH).await == 0 {
            break;
        }
        #[cfg(any(test, feature = "failpoints"))]
        if failpoints
            .as_ref()
            .is_some_and(|f| f.take(Failpoint::WriterStops))
        {
            panic!("failpoint: the {} writer stops", W::WHAT);
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            commit_batch(&pool, batch).await;
            drop(slot);
        });
    }
}

/// Commits one batch and answers each write. If PostgreSQL rejects the batch, each write is
/// committed alone, so a bad one fails alone; if the commit went unanswered, every write's
/// fate is unknown and each caller is told so.
async fn commit_batch<W: BatchedWrite>(pool: &Pool, batch: Vec<W>) {
    let mut client = match pool.get().await {
        Ok(client) => client,
        Err(e) => {
            let message = error_text(&pool_error(e));
            for job in batch {
                job.reply(Err(StoreError::Pool(message.clone())));
            }
            return;
        }
    };
    let error = match commit_caught(&mut client, &batch).await {
        Ok(outcomes) => {
            for (job, outcome) in batch.into_iter().zip(outcomes) {
                job.reply(Ok(outcome));
            }
            return;
        }
        Err(e) => e,
    };
    if matches!(error, StoreError::CommitFailed(_)) {
        let message = error_text(&error);
        tracing::error!(error = %message, writes = batch.len(), "postgres commit of {} failed", W::WHAT);
        for job in batch {
            job.reply(Err(StoreError::CommitFailed(message.clone())));
        }
        return;
    }
    // A connection that saw a panic is closed, not reused: its state is not known.
    let mut client = Some(client);
    if matches!(error, StoreError::Panicked(_)) {
        if let Some(client) = client.take() {
            discard(client);
        }
    }
    if batch.len() == 1 {
        if let Some(job) = batch.into_iter().next() {
            job.reply(Err(error));
        }
        return;
    }
    tracing::warn!(
        error = %error_text(&error),
        writes = batch.len(),
        "postgres rejected a group of {}; committing each alone",
        W::WHAT
    );
    for job in batch {
        let mut conn = match client.take().filter(|c| !c.is_closed()) {
            Some(conn) => conn,
            None => match pool.get().await {
                Ok(conn) => conn,
                Err(e) => {
                    job.reply(Err(pool_error(e)));
                    continue;
                }
            },
        };
        let result = commit_caught(&mut conn, std::slice::from_ref(&job)).await;
        if matches!(result, Err(StoreError::Panicked(_))) {
            discard(conn);
        } else {
            client = Some(conn);
        }
        let result = result.and_then(|mut outcomes| {
            outcomes.pop().ok_or_else(|| {
                StoreError::Corrupt(format!("one of the {} had no outcome", W::WHAT))
            })
        });
        job.reply(result);
    }
}

/// [`BatchedWrite::commit`], with a panic caught and turned into [`StoreError::Panicked`]. Its
/// transaction was dropped unfinished, which rolls it back; the connection should not be
/// used again (see [`discard`]).
async fn commit_caught<W: BatchedWrite>(
    client: &mut deadpool_postgres::Client,
    jobs: &[W],
) -> Result<Vec<W::Outcome>> {
    match AssertUnwindSafe(W::commit(client, jobs))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(panic) => {
            let message = panic_message(&*panic);
            tracing::error!(panic = %message, writes = jobs.len(), "a postgres commit of {} panicked", W::WHAT);
            Err(StoreError::Panicked(message))
        }
    }
}

/// Closes a connection instead of returning it to the pool: after a panic its state is not
/// known.
fn discard(client: deadpool_postgres::Client) {
    drop(deadpool_postgres::Object::take(client));
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
async fn insert_creates(
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
    tx.commit().await.map_err(|e| match e.as_db_error() {
        Some(_) => StoreError::Postgres(e),
        None => StoreError::CommitFailed(format!(
            "the outcome of the commit is unknown: {}",
            error_text(&e)
        )),
    })?;

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

/// Keeps one connection `LISTEN`ing on [`CHANNEL`] and republishes what arrives; reconnects
/// with backoff. Signals `ready` the first time it listens.
async fn listen_loop(
    config: Config,
    notices: broadcast::Sender<Notice>,
    ready: oneshot::Sender<()>,
) {
    let mut config = config;
    // Notice a dead peer within about a minute even when no notification is due.
    keep_alive(&mut config);
    let mut ready = Some(ready);
    let mut backoff = LISTENER_MIN_BACKOFF;
    loop {
        let mut listened = false;
        let listening = listen_once(&config, &notices, &mut ready, &mut listened);
        match AssertUnwindSafe(listening).catch_unwind().await {
            Ok(Ok(())) => tracing::warn!("the PostgreSQL listener connection closed; reconnecting"),
            Ok(Err(e)) => tracing::warn!(
                error = %error_text(&e),
                "the PostgreSQL listener failed; reconnecting"
            ),
            Err(panic) => tracing::error!(
                panic = %panic_message(&*panic),
                "the PostgreSQL listener panicked (a bug); reconnecting"
            ),
        }
        if listened {
            backoff = LISTENER_MIN_BACKOFF;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(LISTENER_MAX_BACKOFF);
    }
}

async fn listen_once(
    config: &Config,
    notices: &broadcast::Sender<Notice>,
    ready: &mut Option<oneshot::Sender<()>>,
    listened: &mut bool,
) -> std::result::Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    // Driving the connection through `poll_message` is what surfaces notifications.
    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
    {
        let listen = client.batch_execute("LISTEN parallax_events");
        tokio::pin!(listen);
        loop {
            tokio::select! {
                done = &mut listen => {
                    done?;
                    break;
                }
                message = messages.next() => match message {
                    Some(Ok(message)) => republish(notices, message),
                    Some(Err(e)) => return Err(e),
                    None => return Ok(()),
                },
            }
        }
    }
    *listened = true;
    // Whatever was notified while we were not listening is lost: have idle workers look.
    let _ = notices.send(Notice::Queued);
    if let Some(ready) = ready.take() {
        let _ = ready.send(());
    }
    while let Some(message) = messages.next().await {
        republish(notices, message?);
    }
    drop(client);
    Ok(())
}

fn republish(notices: &broadcast::Sender<Notice>, message: AsyncMessage) {
    if let AsyncMessage::Notification(n) = message {
        if n.channel() != CHANNEL {
            return;
        }
        let notice = match n.payload() {
            "queued" => Notice::Queued,
            payload => {
                if let Some(run_id) = payload.strip_prefix("run:").filter(|id| !id.is_empty()) {
                    Notice::Run(Arc::from(run_id))
                } else if let Some(group) =
                    payload.strip_prefix("group:").filter(|id| !id.is_empty())
                {
                    Notice::Group(Arc::from(group))
                } else {
                    return;
                }
            }
        };
        let _ = notices.send(notice);
    }
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
    tx.commit().await?;
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
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT tenant_id FROM api_keys WHERE key_hash = $1")
            .await?;
        Ok(match client.query_opt(&stmt, &[&&key_hash[..]]).await? {
            Some(row) => Some(row.try_get(0)?),
            None => None,
        })
    }

    async fn create_run(
        &self,
        tenant: &str,
        run: RunToCreate,
        idempotency: Option<Idempotency>,
    ) -> Result<CreateOutcome> {
        let task_run = run.queued_run(None)?;
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
        // The writer answers every job, panicking or not: a closed queue or a reply never
        // sent means the writer itself is gone.
        self.creates
            .send(job)
            .await
            .map_err(|_| StoreError::Stopped(CREATE_WRITER))?;
        let outcome = answer
            .await
            .map_err(|_| StoreError::Stopped(CREATE_WRITER))??;
        if let CreateOutcome::Created(run) = &outcome {
            self.notify_run(&run.run_id);
            let _ = self.notices.send(Notice::Queued);
        }
        Ok(outcome)
    }

    async fn get_run(&self, tenant: &str, run_id: &str) -> Result<Option<TaskRun>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE run_id = $1 AND tenant_id = $2"
            ))
            .await?;
        client
            .query_opt(&stmt, &[&run_id, &tenant])
            .await?
            .map(|row| rows::task_run(&row, 0))
            .transpose()
    }

    async fn get_input(&self, tenant: &str, run_id: &str) -> Result<Option<String>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT input_doc FROM runs WHERE run_id = $1 AND tenant_id = $2")
            .await?;
        Ok(client
            .query_opt(&stmt, &[&run_id, &tenant])
            .await?
            .map(|row| row.try_get(0))
            .transpose()?)
    }

    async fn get_result(
        &self,
        tenant: &str,
        run_id: &str,
    ) -> Result<Option<(TaskRun, Option<String>)>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {RUN_COLUMNS}, output FROM runs WHERE run_id = $1 AND tenant_id = $2"
            ))
            .await?;
        client
            .query_opt(&stmt, &[&run_id, &tenant])
            .await?
            .map(|row| Ok((rows::task_run(&row, 0)?, row.try_get(9)?)))
            .transpose()
    }

    async fn events_after(
        &self,
        tenant: &str,
        run_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<EventRecord>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT e.seq, e.data FROM run_events e JOIN runs r ON r.run_id = e.run_id
                 WHERE e.run_id = $1 AND r.tenant_id = $2 AND e.seq > $3 ORDER BY e.seq LIMIT $4",
            )
            .await?;
        client
            .query(&stmt, &[&run_id, &tenant, &after, &to_i64(limit)])
            .await?
            .iter()
            .map(rows::event_record)
            .collect()
    }

    async fn claim_runs(
        &self,
        worker: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedRun>> {
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
            .query(&stmt, &[&worker, &micros(lease), &picked, &now])
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
        tx.commit().await?;
        for (run, _) in &claimed {
            self.notify_run(&run.run_id);
        }
        Ok(claimed.into_iter().map(|(c, _)| c).collect())
    }

    async fn heartbeat(
        &self,
        worker: &str,
        run_ids: &[String],
        lease: Duration,
    ) -> Result<Vec<String>> {
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
            .query(&stmt, &[&micros(lease), &run_ids, &worker])
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
        tx.commit().await?;
        self.notify_run(run_id);
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
        self.finishes
            .send(job)
            .await
            .map_err(|_| StoreError::Stopped(FINISH_WRITER))?;
        let Some(group) = answer
            .await
            .map_err(|_| StoreError::Stopped(FINISH_WRITER))??
        else {
            return Ok(false);
        };
        self.notify_run(run_id);
        if let Some(group) = group {
            let _ = self.notices.send(Notice::Group(Arc::from(group.as_str())));
        }
        Ok(true)
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
        tx.commit().await?;
        for id in run_ids {
            self.notify_run(id);
        }
        if !released.is_empty() {
            let _ = self.notices.send(Notice::Queued);
        }
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
        tx.commit().await?;
        for id in &requeued {
            self.notify_run(id);
        }
        if !requeued.is_empty() {
            let _ = self.notices.send(Notice::Queued);
        }
        Ok(requeued.len())
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

    async fn claim_deliveries(
        &self,
        worker: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<Delivery>> {
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
                    &[&worker, &micros(lease), &now, &to_i64(limit)],
                )
                .await?;
            tx.commit().await?;
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

    async fn delivery_attempted(
        &self,
        worker: &str,
        delivery_id: &str,
        outcome: DeliveryOutcome,
    ) -> Result<()> {
        let (state, next, error) = delivery_update(&outcome);
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

    async fn add_group_runs(
        &self,
        tenant: &str,
        taskgroup_id: &str,
        runs: Vec<RunToCreate>,
    ) -> Result<Option<AddedRuns>> {
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
        tx.commit().await?;
        if n > 0 {
            let _ = self.notices.send(Notice::Group(Arc::from(taskgroup_id)));
            let _ = self.notices.send(Notice::Queued);
        }
        Ok(Some(AddedRuns {
            runs: created,
            status,
            event_cursor: (event_cursor > 0).then_some(event_cursor),
            run_cursor: (first_pos > 0).then_some(first_pos),
        }))
    }

    async fn group_events_after(
        &self,
        tenant: &str,
        taskgroup_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Option<GroupEvents>> {
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
        taskgroup_id: &str,
        query: GroupRunsQuery,
    ) -> Result<Option<Vec<GroupRunRecord>>> {
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
#[path = "../tests/backends/test_database.rs"]
mod test_database;

#[cfg(test)]
mod tests {
    //! PostgreSQL-specific behaviour; the shared behaviour is in `tests/conformance.rs`.
    //! Same database rules as there (`tests/backends/test_database.rs`): a test that needs
    //! PostgreSQL has `needs_postgres` in its name, and fails if PostgreSQL is unreachable.

    use super::test_database::{self, fresh_schema};
    use super::*;
    use crate::failpoints::Failpoint;
    use std::time::Instant;

    #[test]
    fn search_path_from_options() {
        let first = |o: &str| schema_from_options(o);
        assert_eq!(first("-csearch_path=abc"), Some("abc".into()));
        assert_eq!(first("-c search_path=abc,public"), Some("abc".into()));
        assert_eq!(first("--search_path=Abc"), Some("abc".into()));
        assert_eq!(first("--search-path=x"), Some("x".into()));
        assert_eq!(
            first(r#"-c search_path="My\ ""S""",x"#),
            Some(r#"My "S""#.into())
        );
        assert_eq!(first(r#"-c search_path="unclosed"#), None);
        assert_eq!(
            first("-c statement_timeout=5 -c search_path=a -c search_path=b"),
            Some("b".into())
        );
        assert_eq!(first("-c search_path=$user,public"), None);
        assert_eq!(first("-c search_path=pg_temp"), None);
        assert_eq!(first("-c statement_timeout=5"), None);
        assert_eq!(first(""), None);
        // What connect_with_schema writes reads back as the schema.
        let written = escape_option(&format!("search_path={}", quote_ident("we ird\"x")));
        assert_eq!(first(&format!("-c {written}")), Some("we ird\"x".into()));
    }

    /// The test database URL; fails the test if PostgreSQL is unreachable.
    async fn test_url() -> String {
        test_database::connect().await.0
    }

    async fn tenant(store: &PgStore) -> String {
        let mut hash = [0u8; 32];
        hash[..16].copy_from_slice(&uuid::Uuid::new_v4().into_bytes());
        store.create_tenant_with_key(hash, "test").await.unwrap()
    }

    fn new_run() -> RunToCreate {
        let run_id = ids::new_run_id();
        RunToCreate {
            input_doc: format!(r#"{{"processor":"base","input":"{run_id}","z":1,"a":2}}"#),
            run_id,
            processor: "base".into(),
            metadata: Some(r#"{"z":1.0,"a":[]}"#.into()),
            enable_events: true,
            previous_interaction_id: None,
            created_at: now_micros(),
            webhook_url: None,
            warnings: None,
        }
    }

    /// A job as `create_run` would send it, with the receiver of its answer.
    fn job(
        tenant: &str,
        idempotency: Option<Idempotency>,
    ) -> (CreateJob, oneshot::Receiver<Result<CreateOutcome>>) {
        let run = new_run();
        let task_run = TaskRun {
            run_id: run.run_id.clone(),
            status: RunStatus::Queued,
            processor: run.processor.clone(),
            metadata: None,
            error: None,
            warnings: None,
            taskgroup_id: None,
            created_at: run.created_at,
            modified_at: run.created_at,
        };
        let (reply, answer) = oneshot::channel();
        let job = CreateJob {
            tenant: tenant.into(),
            event: task_run_state_record(&task_run),
            response: idempotency
                .as_ref()
                .map(|_| serde_json::to_string(&task_run).unwrap()),
            run,
            idempotency,
            task_run,
            reply,
            panics: false,
        };
        (job, answer)
    }

    async fn wait_for(rx: &mut broadcast::Receiver<Notice>, wanted: &Notice) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, rx.recv()).await {
                Ok(Ok(notice)) if &notice == wanted => return true,
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return false,
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn needs_postgres_url_options_choose_and_create_the_schema() {
        let url = test_url().await;
        let schema = fresh_schema();
        let sep = if url.contains('?') { '&' } else { '?' };
        let store = PgStore::connect(&format!("{url}{sep}options=-csearch_path%3D{schema}"))
            .await
            .unwrap();
        let t = tenant(&store).await;
        let client = store.client().await.unwrap();
        let row = client
            .query_one(
                "SELECT current_schema(), (SELECT count(*) FROM schema_migrations)",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), schema);
        assert_eq!(row.get::<_, i64>(1), migrations::MIGRATIONS.len() as i64);
        let tenants: i64 = client
            .query_one(
                &format!(
                    "SELECT count(*) FROM {}.tenants WHERE tenant_id = $1",
                    quote_ident(&schema)
                ),
                &[&t],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(tenants, 1);
        // Connecting again finds it migrated.
        PgStore::connect(&format!("{url}{sep}options=-csearch_path%3D{schema}"))
            .await
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn needs_postgres_nodes_starting_together_migrate_once() {
        let url = test_url().await;
        let schema = fresh_schema();
        let mut starting = Vec::new();
        for _ in 0..4 {
            let (url, schema) = (url.clone(), schema.clone());
            starting.push(tokio::spawn(async move {
                PgStore::connect_with_schema(&url, &schema).await
            }));
        }
        let mut stores = Vec::new();
        for start in starting {
            stores.push(start.await.unwrap().unwrap());
        }
        let client = stores[0].client().await.unwrap();
        let versions: i64 = client
            .query_one("SELECT count(*) FROM schema_migrations", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(versions, migrations::MIGRATIONS.len() as i64);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unreachable_server_says_what_to_do() {
        // Port 1 on loopback: nothing listens there.
        let error = match PgStore::connect("postgres://postgres@127.0.0.1:1/test").await {
            Ok(_) => panic!("connected to nothing"),
            Err(e) => e.to_string(),
        };
        assert!(error.contains("127.0.0.1:1/test"), "{error}");
        assert!(error.contains("--database-url"), "{error}");
        // The cause, not only "error connecting to server".
        assert!(error.contains("connecting to server: "), "{error}");
        eprintln!("{error}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn needs_postgres_notices_cross_nodes() {
        let url = test_url().await;
        let schema = fresh_schema();
        let a = PgStore::connect_with_schema(&url, &schema).await.unwrap();
        let b = PgStore::connect_with_schema(&url, &schema).await.unwrap();
        let mut on_a = a.subscribe();
        let mut on_b = b.subscribe();
        let t = tenant(&a).await;

        // A create on A reaches B, which did nothing itself.
        let run = match a.create_run(&t, new_run(), None).await.unwrap() {
            CreateOutcome::Created(run) => run,
            other => panic!("{other:?}"),
        };
        let run_notice = Notice::Run(run.run_id.as_str().into());
        assert!(wait_for(&mut on_b, &run_notice).await, "B heard of A's run");
        assert!(
            wait_for(&mut on_b, &Notice::Queued).await,
            "B heard work was queued"
        );

        // B claims and writes; A hears.
        let worker = "worker-b";
        let mut claimed = Vec::new();
        for _ in 0..50 {
            claimed = b
                .claim_runs(worker, 10, Duration::from_secs(30))
                .await
                .unwrap();
            if !claimed.is_empty() {
                break;
            }
        }
        assert_eq!(claimed.len(), 1);
        while on_a.try_recv().is_ok() {}
        b.append_event(worker, &run.run_id, r#"{"type":"x"}"#)
            .await
            .unwrap()
            .unwrap();
        assert!(
            wait_for(&mut on_a, &run_notice).await,
            "A heard of B's event"
        );
        while on_a.try_recv().is_ok() {}
        assert!(b
            .finish_run(worker, &run.run_id, RunOutcome::Cancelled)
            .await
            .unwrap());
        assert!(wait_for(&mut on_a, &run_notice).await, "A heard B finish");
        assert_eq!(
            a.get_run(&t, &run.run_id).await.unwrap().unwrap().status,
            RunStatus::Cancelled
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn needs_postgres_the_listener_reconnects() {
        let url = test_url().await;
        let schema = fresh_schema();
        let a = PgStore::connect_with_schema(&url, &schema).await.unwrap();
        // B's connections carry a name of their own, so this test can find its listener.
        let name = format!("px_listen_{}", uuid::Uuid::new_v4().simple());
        let sep = if url.contains('?') { '&' } else { '?' };
        let b =
            PgStore::connect_with_schema(&format!("{url}{sep}application_name={name}"), &schema)
                .await
                .unwrap();
        let mut on_b = b.subscribe();
        let admin = a.client().await.unwrap();
        let pid: i32 = admin
            .query_one(
                "SELECT pid FROM pg_stat_activity
                 WHERE application_name = $1 AND query = 'LISTEN parallax_events'",
                &[&name],
            )
            .await
            .unwrap()
            .get(0);
        admin
            .execute("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .unwrap();
        for _ in 0..100 {
            let gone = admin
                .query_opt("SELECT 1 FROM pg_stat_activity WHERE pid = $1", &[&pid])
                .await
                .unwrap()
                .is_none();
            if gone {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The old listener is gone; B hears A again once its new one listens.
        let t = tenant(&a).await;
        let mut heard = false;
        for _ in 0..20 {
            let run = match a.create_run(&t, new_run(), None).await.unwrap() {
                CreateOutcome::Created(run) => run,
                other => panic!("{other:?}"),
            };
            let wanted = Notice::Run(run.run_id.as_str().into());
            let deadline = Instant::now() + Duration::from_millis(500);
            while let Ok(Ok(notice)) = tokio::time::timeout_at(deadline.into(), on_b.recv()).await {
                if notice == wanted {
                    heard = true;
                    break;
                }
            }
            if heard {
                break;
            }
        }
        assert!(heard, "B's listener came back");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn needs_postgres_concurrent_claimers_never_share_a_run() {
        let url = test_url().await;
        let schema = fresh_schema();
        let a = Arc::new(PgStore::connect_with_schema(&url, &schema).await.unwrap());
        let b = Arc::new(PgStore::connect_with_schema(&url, &schema).await.unwrap());
        let t = tenant(&a).await;
        const RUNS: usize = 300;
        let mut creating = Vec::new();
        for _ in 0..RUNS {
            let (a, t) = (a.clone(), t.clone());
            creating.push(tokio::spawn(async move {
                a.create_run(&t, new_run(), None).await.unwrap()
            }));
        }
        for c in creating {
            assert!(matches!(c.await.unwrap(), CreateOutcome::Created(_)));
        }
        // Four claimers, two per node, until the queue is empty.
        let mut claimers = Vec::new();
        for (i, store) in [a.clone(), a.clone(), b.clone(), b.clone()]
            .into_iter()
            .enumerate()
        {
            claimers.push(tokio::spawn(async move {
                let worker = format!("w{i}");
                let mut mine = Vec::new();
                loop {
                    let claimed = store
                        .claim_runs(&worker, 7, Duration::from_secs(30))
                        .await
                        .unwrap();
                    if claimed.is_empty() {
                        return mine;
                    }
                    for c in claimed {
                        assert_eq!(c.attempt, 1, "claimed once");
                        mine.push(c.run_id);
                    }
                }
            }));
        }
        let mut all = Vec::new();
        let mut per_claimer = Vec::new();
        for c in claimers {
            let mine = c.await.unwrap();
            per_claimer.push(mine.len());
            all.extend(mine);
        }
        let distinct: HashSet<&String> = all.iter().collect();
        assert_eq!(distinct.len(), all.len(), "a run was claimed twice");
        assert_eq!(all.len(), RUNS, "every run claimed: {per_claimer:?}");
        // Each claimed run has exactly queued + running events, cursors 1 and 2.
        for id in all.iter().take(20) {
            let seqs: Vec<i64> = a
                .events_after(&t, id, 0, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.seq)
                .collect();
            assert_eq!(seqs, [1, 2]);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn needs_postgres_one_batch_with_repeated_keys() {
        let url = test_url().await;
        let store = PgStore::connect_with_schema(&url, &fresh_schema())
            .await
            .unwrap();
        let (t1, t2) = (tenant(&store).await, tenant(&store).await);
        let idem = |key: &str, hash: u8| {
            Some(Idempotency {
                key: key.into(),
                body_hash: [hash; 32],
            })
        };
        // An earlier run holds key "old" in t1.
        let (old, old_answer) = job(&t1, idem("old", 9));
        let mut client = store.client().await.unwrap();
        insert_creates(&mut client, std::slice::from_ref(&old))
            .await
            .unwrap();
        drop(old_answer);

        let jobs_and_answers = vec![
            job(&t1, idem("k", 1)),   // 0: creates
            job(&t1, idem("k", 1)),   // 1: replays 0
            job(&t1, idem("k", 2)),   // 2: conflicts with 0
            job(&t2, idem("k", 2)),   // 3: another tenant's key: creates
            job(&t1, None),           // 4: creates
            job(&t1, idem("old", 9)), // 5: replays the earlier run
            job(&t1, idem("old", 8)), // 6: conflicts with it
            job(&t2, idem("k", 2)),   // 7: replays 3
        ];
        let (jobs, _answers): (Vec<_>, Vec<_>) = jobs_and_answers.into_iter().unzip();
        let outcomes = insert_creates(&mut client, &jobs).await.unwrap();
        let created_id = |i: usize| match &outcomes[i] {
            CreateOutcome::Created(run) => run.run_id.clone(),
            other => panic!("job {i}: expected created, got {other:?}"),
        };
        let replayed = |i: usize| match &outcomes[i] {
            CreateOutcome::Replayed(answer) => answer.clone(),
            other => panic!("job {i}: expected a replay, got {other:?}"),
        };
        let conflict = |i: usize| {
            assert!(
                matches!(outcomes[i], CreateOutcome::KeyConflict),
                "job {i}: {:?}",
                outcomes[i]
            )
        };
        let first = created_id(0);
        assert!(replayed(1).contains(&first));
        conflict(2);
        let other_tenant = created_id(3);
        created_id(4);
        assert!(replayed(5).contains(&old.run.run_id));
        conflict(6);
        assert!(replayed(7).contains(&other_tenant));
        // Only the three created runs exist.
        for (i, job) in jobs.iter().enumerate() {
            let exists = store
                .get_run(&job.tenant, &job.run.run_id)
                .await
                .unwrap()
                .is_some();
            assert_eq!(exists, [0, 3, 4].contains(&i), "job {i}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn needs_postgres_concurrent_repeats_of_one_key() {
        let url = test_url().await;
        let a = Arc::new(
            PgStore::connect_with_schema(&url, &fresh_schema())
                .await
                .unwrap(),
        );
        let t = tenant(&a).await;
        let mut tasks = Vec::new();
        for i in 0..64u8 {
            let (a, t) = (a.clone(), t.clone());
            tasks.push(tokio::spawn(async move {
                let idem = Idempotency {
                    key: "same".into(),
                    body_hash: [i % 2; 32],
                };
                (
                    i % 2,
                    a.create_run(&t, new_run(), Some(idem)).await.unwrap(),
                )
            }));
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        let winners: Vec<(u8, String)> = results
            .iter()
            .filter_map(|(h, o)| match o {
                CreateOutcome::Created(run) => Some((*h, run.run_id.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(winners.len(), 1, "exactly one create");
        let (hash, run_id) = &winners[0];
        for (h, outcome) in &results {
            match outcome {
                CreateOutcome::Created(_) => {}
                CreateOutcome::Replayed(answer) => {
                    assert_eq!(h, hash);
                    assert!(answer.contains(run_id.as_str()));
                }
                CreateOutcome::KeyConflict => assert_ne!(h, hash),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn needs_postgres_a_rejected_create_fails_alone() {
        let url = test_url().await;
        let store = PgStore::connect_with_schema(&url, &fresh_schema())
            .await
            .unwrap();
        let t = tenant(&store).await;
        let (good1, a1) = job(&t, None);
        let (bad, a2) = job("tenant_that_does_not_exist", None);
        let (good2, a3) = job(&t, None);
        let ids = [good1.run.run_id.clone(), good2.run.run_id.clone()];
        commit_batch(&store.pool, vec![good1, bad, good2]).await;
        assert!(matches!(a1.await.unwrap(), Ok(CreateOutcome::Created(_))));
        assert!(a2.await.unwrap().is_err(), "no such tenant");
        assert!(matches!(a3.await.unwrap(), Ok(CreateOutcome::Created(_))));
        for id in &ids {
            assert!(store.get_run(&t, id).await.unwrap().is_some());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn needs_postgres_a_panicking_create_fails_alone() {
        let url = test_url().await;
        let store = PgStore::connect_with_schema(&url, &fresh_schema())
            .await
            .unwrap();
        let t = tenant(&store).await;
        // In one batch: the middle create panics (after the batch's inserts, before COMMIT).
        let (good1, a1) = job(&t, None);
        let (mut bad, a2) = job(&t, None);
        bad.panics = true;
        let (good2, a3) = job(&t, None);
        let ids = [
            good1.run.run_id.clone(),
            bad.run.run_id.clone(),
            good2.run.run_id.clone(),
        ];
        commit_batch(&store.pool, vec![good1, bad, good2]).await;
        assert!(matches!(a1.await.unwrap(), Ok(CreateOutcome::Created(_))));
        let panicked = a2.await.unwrap();
        assert!(
            matches!(panicked, Err(StoreError::Panicked(_))),
            "{panicked:?}"
        );
        assert!(matches!(a3.await.unwrap(), Ok(CreateOutcome::Created(_))));
        assert!(store.get_run(&t, &ids[0]).await.unwrap().is_some());
        assert!(
            store.get_run(&t, &ids[1]).await.unwrap().is_none(),
            "nothing of it stays"
        );
        assert!(store
            .events_after(&t, &ids[1], 0, 10)
            .await
            .unwrap()
            .is_empty());
        assert!(store.get_run(&t, &ids[2]).await.unwrap().is_some());

        // Through the store: the planned panic fails that create, and the writer goes on.
        store.failpoints().plan(Failpoint::WritePanics);
        let failed = store.create_run(&t, new_run(), None).await;
        assert!(matches!(failed, Err(StoreError::Panicked(_))), "{failed:?}");
        let later = store.create_run(&t, new_run(), None).await;
        assert!(matches!(later, Ok(CreateOutcome::Created(_))), "{later:?}");
        assert!(store.health().is_ok(), "{:?}", store.health());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn needs_postgres_a_stopped_create_writer_is_reported_and_answers_at_once() {
        let url = test_url().await;
        let store = PgStore::connect_with_schema(&url, &fresh_schema())
            .await
            .unwrap();
        let t = tenant(&store).await;
        assert!(store.health().is_ok(), "{:?}", store.health());
        store.failpoints().plan(Failpoint::WriterStops);
        let first = store.create_run(&t, new_run(), None).await;
        assert!(matches!(first, Err(StoreError::Stopped(_))), "{first:?}");
        // The job's answer is dropped while the writer unwinds, a moment before its queue.
        let deadline = Instant::now() + Duration::from_secs(5);
        while store.health().is_ok() {
            assert!(
                Instant::now() < deadline,
                "health never saw the writer stop"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let health = store.health();
        assert_eq!(health.down.len(), 1, "{health:?}");
        assert!(health.down[0].contains("create writer"), "{health:?}");
        let later = tokio::time::timeout(
            Duration::from_secs(5),
            store.create_run(&t, new_run(), None),
        )
        .await
        .expect("a create to a stopped writer must not hang");
        assert!(matches!(later, Err(StoreError::Stopped(_))), "{later:?}");
        // What does not go through that writer still works.
        let group = store
            .create_group(
                &t,
                GroupToCreate {
                    taskgroup_id: ids::new_id("tgrp_"),
                    metadata: None,
                    created_at: now_micros(),
                },
            )
            .await;
        assert!(group.is_ok(), "{group:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn needs_postgres_a_listener_that_is_gone_shows_in_health() {
        let url = test_url().await;
        let store = PgStore::connect_with_schema(&url, &fresh_schema())
            .await
            .unwrap();
        assert!(store.health().is_ok(), "{:?}", store.health());
        store.listener.abort();
        let deadline = Instant::now() + Duration::from_secs(5);
        while store.health().is_ok() {
            assert!(
                Instant::now() < deadline,
                "health never saw the listener go"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            store.health().down[0].contains("listener"),
            "{:?}",
            store.health()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn needs_postgres_json_text_comes_back_as_stored() {
        let url = test_url().await;
        let store = PgStore::connect_with_schema(&url, &fresh_schema())
            .await
            .unwrap();
        let t = tenant(&store).await;
        let run = new_run();
        let (doc, meta) = (run.input_doc.clone(), run.metadata.clone());
        let id = run.run_id.clone();
        store.create_run(&t, run, None).await.unwrap();
        assert_eq!(store.get_input(&t, &id).await.unwrap(), Some(doc));
        let got = store.get_run(&t, &id).await.unwrap().unwrap();
        assert_eq!(got.metadata.map(|m| m.get().to_string()), meta);
    }

    /// `cargo test -p parallax-store --release -- --ignored --nocapture create_throughput`
    #[tokio::test(flavor = "multi_thread")]
    #[ignore = "a measurement: run by hand"]
    async fn needs_postgres_create_throughput() {
        let url = test_url().await;
        let store = Arc::new(
            PgStore::connect_with_schema(&url, &fresh_schema())
                .await
                .unwrap(),
        );
        let t = tenant(&store).await;
        const CALLERS: usize = 64;
        const PER_CALLER: usize = 200;
        let started = Instant::now();
        let mut callers = Vec::new();
        for _ in 0..CALLERS {
            let (store, t) = (store.clone(), t.clone());
            callers.push(tokio::spawn(async move {
                for _ in 0..PER_CALLER {
                    store.create_run(&t, new_run(), None).await.unwrap();
                }
            }));
        }
        for c in callers {
            c.await.unwrap();
        }
        let rate = (CALLERS * PER_CALLER) as f64 / started.elapsed().as_secs_f64();
        println!(
            "{} creates over {CALLERS} callers: {rate:.0} creates/s",
            CALLERS * PER_CALLER
        );
        assert!(rate >= 1500.0, "{rate:.0} creates/s");
    }
}
