//! Durable storage for Parallax: tenants and their API keys, runs, what each run was asked,
//! its events and its output.
//!
//! One trait, [`Store`], two backends:
//! - [`sqlite::SqliteStore`], the embedded default: one file in the data directory, WAL, a
//!   single writer thread that commits concurrent writes together (group commit);
//! - [`postgres::PgStore`], for many nodes on one database: runs are claimed with
//!   `FOR UPDATE SKIP LOCKED`, and changes reach other nodes through `LISTEN/NOTIFY`.
//!
//! Every method a client's request reaches takes the tenant, so such a query can never cross
//! tenants. The worker methods (claiming, heartbeats, progress events, ending and releasing
//! runs, webhook deliveries) take the worker's id instead: they act only on runs the worker
//! holds a lease on, whoever's they are, and the runs they hand out carry their tenant.
//!
//! The two backends share everything that is not SQL: the schema (`migrations`), the
//! decoding of rows (`rows`), fair claiming (`fair`), and what each write announces
//! (`notices`). Wire JSON is not the store's: it records and returns typed values and the
//! documents `parallax_api` renders.
//!
//! A write returns only after its transaction committed; [`Notice`]s announce committed
//! changes to waiters in this process (and, on PostgreSQL, in every process).
//! `tests/conformance.rs` runs one suite against both backends.
//!
//! A bug in a write must not take the store down: a write that panics fails alone (its
//! caller gets [`StoreError::Panicked`], nothing it wrote stays), and the background pieces
//! that carry writes report through [`Store::health`] when they are gone. The `failpoints`
//! feature (tests only, never in a release build) injects those failures; see [`failpoints`].

use async_trait::async_trait;
use findall::{
    ChangeOutcome, ClaimedFindAll, FindAllChange, FindAllEvents, FindAllOp, FindAllReply,
    FindAllToCreate, FindAllView, FindAllWork, WorkAck,
};
use memory::{MemoryEntry, MemoryOp, MemoryQuery, MemoryReply};
use monitor::{ClaimedMonitor, EventQuery, Execution, MonitorOp, MonitorReply, MonitorToCreate};
use parallax_api::error::ErrorObject;
use parallax_api::events::GroupEventKind;
use parallax_api::findall::{Candidate, FindAllRun};
use parallax_api::group::{GroupStatus, StatusCounts, TaskGroup};
use parallax_api::monitor::{MonitorEvent, MonitorView};
use parallax_api::{RunStatus, TaskRun};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

pub mod clock;
#[cfg(any(test, feature = "failpoints"))]
pub mod failpoints;
mod fair;
pub mod findall;
pub mod limits;
pub mod memory;
mod migrations;
pub mod monitor;
mod notices;
pub mod pages;
pub mod postgres;
mod rows;
pub(crate) mod sql;
pub mod sqlite;

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why a store operation failed. None of these is the client's fault: the HTTP layer answers
/// them with 500 or 503 and logs the cause.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    // tokio-postgres puts the server's own message in the error's source: show the chain.
    #[error("postgres: {}", postgres::error_text(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("postgres pool: {0}")]
    Pool(String),
    #[error("the store is shut down")]
    Closed,
    /// A background piece that carries writes is gone (see [`Store::health`]): nothing
    /// more can be written until the process restarts.
    #[error("the {0} stopped; restart the server")]
    Stopped(&'static str),
    /// The write hit a bug and panicked. Only this write failed, and nothing of it was kept.
    #[error("the write panicked (a bug): {0}")]
    Panicked(String),
    #[error("the transaction did not commit: {0}")]
    CommitFailed(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("migration: {0}")]
    Migration(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// A tenant: the owner of runs. Each API key belongs to exactly one.
pub type TenantId = String;

/// SHA-256 of an API key. Keys themselves are never stored.
pub type KeyHash = [u8; 32];

/// A run to commit, as validated by the API layer.
#[derive(Debug, Clone)]
pub struct RunToCreate {
    pub run_id: String,
    pub processor: String,
    /// What `GET …/input` returns, as sent.
    pub input_doc: String,
    /// The metadata object as sent, or `None`.
    pub metadata: Option<String>,
    /// Whether progress events are recorded (the client's choice or the processor default).
    pub enable_events: bool,
    pub previous_interaction_id: Option<String>,
    pub created_at: i64,
    /// `webhook.url`: a `task_run.status` delivery is queued there, in the same transaction,
    /// when the run ends.
    pub webhook_url: Option<String>,
    /// The run's `Warning` objects from its creation on, as a JSON array (`None` for none,
    /// never an empty array: see `merged_warnings_sql`).
    pub warnings: Option<String>,
    /// The request's `Idempotency-Key`, if it had one (runs added to a group have none).
    pub idempotency: Option<Idempotency>,
    /// The `parallel-beta` values of the create request, comma-separated, or `None` when it
    /// had none.
    pub betas: Option<String>,
}

impl RunToCreate {
    /// The run as it is once committed: queued, in `group` if given.
    pub(crate) fn queued_run(&self, group: Option<&str>) -> Result<TaskRun> {
        Ok(TaskRun {
            run_id: self.run_id.clone(),
            status: RunStatus::Queued,
            processor: self.processor.clone(),
            metadata: self
                .metadata
                .clone()
                .map(serde_json::value::RawValue::from_string)
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("metadata: {e}")))?,
            error: None,
            warnings: self
                .warnings
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("warnings: {e}")))?,
            taskgroup_id: group.map(str::to_owned),
            created_at: self.created_at,
            modified_at: self.created_at,
        })
    }
}

/// Runs to add to a task group, in order.
#[derive(Debug, Clone)]
pub struct RunsToAdd {
    pub taskgroup_id: String,
    pub runs: Vec<RunToCreate>,
}

/// A worker's hold on what it claims (runs, webhook deliveries): it alone works on them
/// until `ttl` passes without a renewal, after which they may be claimed again.
#[derive(Debug, Clone, Copy)]
pub struct Lease<'a> {
    pub worker: &'a str,
    pub ttl: Duration,
}

impl<'a> Lease<'a> {
    /// `worker`'s lease, held for `ttl` without a renewal.
    pub fn new(worker: &'a str, ttl: Duration) -> Self {
        Lease { worker, ttl }
    }
}

/// A page of a log (a run's events, a group's events) after a cursor.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    /// The run or the group whose log it is.
    pub of: &'a str,
    /// The cursor of the last event the reader has (0: from the first).
    pub after: i64,
    pub limit: usize,
}

/// A task group to commit.
#[derive(Debug, Clone)]
pub struct GroupToCreate {
    pub taskgroup_id: String,
    /// The metadata object as sent, or `None`.
    pub metadata: Option<String>,
    pub created_at: i64,
}

/// What [`Store::add_group_runs`] committed.
#[derive(Debug, Clone)]
pub struct AddedRuns {
    /// The new runs, in input order.
    pub runs: Vec<TaskRun>,
    /// The group's status right after the add.
    pub status: GroupStatus,
    /// The group's last event before this add (`None` when it had none): a stream resumed
    /// from it starts with this add's status event.
    pub event_cursor: Option<i64>,
    /// The position of the group's last run before this add (`None` for the first runs).
    pub run_cursor: Option<i64>,
}

/// One event of a group's log, as recorded: what kind, and the document it carries (see
/// [`GroupEventKind`]). `parallax_api::events::group_event_json` renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEventRecord {
    /// The event's cursor in the group's log.
    pub seq: i64,
    pub kind: GroupEventKind,
    pub document: String,
}

/// A page of a group's event log, read in one snapshot with the group's status.
#[derive(Debug, Clone)]
pub struct GroupEvents {
    /// Events after the cursor, oldest first.
    pub events: Vec<GroupEventRecord>,
    pub status: GroupStatus,
    /// The id of the group's last event (0 when it has none).
    pub last_event_id: i64,
}

/// Which of a group's runs the runs stream lists.
#[derive(Debug, Clone)]
pub struct GroupRunsQuery {
    pub taskgroup_id: String,
    /// Position of the last run the client has (0: from the first).
    pub after: i64,
    /// Only runs in this status now.
    pub status: Option<RunStatus>,
    pub include_input: bool,
    pub include_output: bool,
    pub limit: usize,
}

/// One run of a group as the runs stream lists it.
#[derive(Debug, Clone)]
pub struct GroupRunRecord {
    /// The run's position in its group: the runs stream's cursor.
    pub position: i64,
    pub run: TaskRun,
    /// The input document, when the query asked for inputs.
    pub input: Option<String>,
    /// The output object, when the query asked for outputs and the run completed.
    pub output: Option<String>,
}

/// The [`GroupEventKind`] a group event row stored as `kind`.
pub(crate) fn group_event_kind(kind: &str) -> Result<GroupEventKind> {
    GroupEventKind::parse(kind)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown group event kind {kind:?}")))
}

/// What makes a [`GroupStatus`], in the order both backends read it, in any statement on
/// `task_groups` (the subquery is the group's running runs, through a small partial index).
///
/// The group row counts runs not yet ended (`n_pending`: queued or running) and runs ended by
/// status. A claim or a release moves a run between queued and running without touching the
/// group row, so claims never wait on a group's lock; the split is counted when a status is
/// read, in the same statement. Parallax never puts a run in `action_required` or
/// `cancelling`, so those counts are always 0.
pub(crate) const GROUP_STATUS_COLUMNS: &str = "n_pending, n_completed, n_failed, n_cancelled, modified_at,
    (SELECT COUNT(*) FROM runs WHERE runs.taskgroup_id = task_groups.taskgroup_id AND runs.status = 'running')";

/// The `task_groups` column counting runs that ended in `status`.
pub(crate) fn ended_column(status: RunStatus) -> Result<&'static str> {
    match status {
        RunStatus::Completed => Ok("n_completed"),
        RunStatus::Failed => Ok("n_failed"),
        RunStatus::Cancelled => Ok("n_cancelled"),
        other => Err(StoreError::Corrupt(format!(
            "a run cannot end in status {}",
            other.as_str()
        ))),
    }
}

/// A [`GroupStatus`] from the six [`GROUP_STATUS_COLUMNS`] values.
pub(crate) fn group_status(values: [i64; 6]) -> GroupStatus {
    let [pending, completed, failed, cancelled, modified_at, running] = values;
    let mut counts = StatusCounts::default();
    counts.add(RunStatus::Queued, pending - running);
    counts.add(RunStatus::Running, running);
    counts.add(RunStatus::Completed, completed);
    counts.add(RunStatus::Failed, failed);
    counts.add(RunStatus::Cancelled, cancelled);
    GroupStatus {
        counts,
        modified_at,
    }
}

/// A webhook delivery claimed for an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// `webhook-id`: the same on every attempt.
    pub delivery_id: String,
    pub tenant: TenantId,
    pub url: String,
    /// The body, exactly as it is signed and sent.
    pub body: String,
    /// Attempts so far, this one included.
    pub attempt: i64,
    /// When the delivery was queued (microseconds): retries stop a while after it.
    pub created_at: i64,
    /// The tenant's signing secret.
    pub secret: String,
}

/// How an attempt of a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub delivery_id: String,
    pub outcome: DeliveryOutcome,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx: never sent again.
    Delivered,
    /// Try again at `at` (microseconds since the epoch).
    Retry { at: i64, error: String },
    /// No more attempts.
    GaveUp { error: String },
}

/// How an outcome updates a delivery: (state, next_attempt_at, last_error).
pub(crate) fn delivery_update(
    outcome: &DeliveryOutcome,
) -> (&'static str, Option<i64>, Option<&str>) {
    match outcome {
        DeliveryOutcome::Delivered => ("delivered", None, None),
        DeliveryOutcome::Retry { at, error } => ("pending", Some(*at), Some(error)),
        DeliveryOutcome::GaveUp { error } => ("failed", None, Some(error)),
    }
}

/// An `Idempotency-Key` with the hash of the body it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub body_hash: [u8; 32],
}

/// What [`Store::create_run`] did.
// One outcome per request, moved once: boxing the run would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum CreateOutcome {
    /// A new run was committed.
    Created(TaskRun),
    /// The key was used before with the same body: the first answer, nothing created.
    Replayed(String),
    /// The key was used before with another body: nothing created.
    KeyConflict,
}

/// A run handed to a worker.
#[derive(Debug, Clone)]
pub struct ClaimedRun {
    pub tenant: TenantId,
    pub run_id: String,
    pub processor: String,
    pub input_doc: String,
    pub enable_events: bool,
    pub previous_interaction_id: Option<String>,
    /// How many times it was claimed, this claim included.
    pub attempt: i64,
    /// The `parallel-beta` values it was created with, comma-separated ([`RunToCreate::betas`]).
    pub betas: Option<String>,
    /// When it was created, in microseconds since the epoch (the claim latency's start).
    pub created_at: i64,
}

/// How many task runs of one processor are in one active state ([`Store::active_runs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveRuns {
    pub processor: String,
    /// [`RunStatus::Queued`] or [`RunStatus::Running`].
    pub status: RunStatus,
    pub count: i64,
}

/// The count of [`Store::active_runs`], written once for both backends: one walk of the
/// `runs_active` partial index (migration 9), whatever the number of ended runs.
pub(crate) const ACTIVE_RUNS_SQL: &str = "SELECT processor, status, COUNT(*) FROM runs
     WHERE status IN ('queued', 'running') GROUP BY processor, status";

/// One row of [`ACTIVE_RUNS_SQL`].
pub(crate) fn active_runs_row(row: &impl rows::Columns) -> Result<ActiveRuns> {
    let status = row.text(1)?;
    Ok(ActiveRuns {
        processor: row.text(0)?,
        status: RunStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown run status {status:?}")))?,
        count: row.int(2)?,
    })
}

/// How a run ended.
#[derive(Debug, Clone)]
pub enum RunOutcome {
    /// The output object (`TaskRunTextOutput` or `TaskRunJsonOutput`) as JSON text.
    Completed {
        output: String,
        warnings: Option<String>,
    },
    Failed {
        error: ErrorObject,
    },
    Cancelled,
}

/// The `warnings` column of a run that ends, in SQL both backends run: the warnings it had
/// since its creation, then `{new}` (the parameter holding the engine's), so neither
/// overwrites the other. Both are JSON arrays written by Parallax, never empty (an empty
/// list is stored as `NULL`), so joining the texts is joining the arrays, keeping the
/// order and the spelling of each warning.
pub(crate) fn merged_warnings_sql(new: &str) -> String {
    format!(
        "CASE WHEN {new} IS NULL THEN warnings WHEN warnings IS NULL THEN {new}
            ELSE substr(warnings, 1, length(warnings) - 1) || ',' || substr({new}, 2) END"
    )
}

/// The columns that record how a run ended, as both backends store them.
pub(crate) struct OutcomeColumns {
    pub status: &'static str,
    pub output: Option<String>,
    pub error: Option<String>,
    pub warnings: Option<String>,
}

impl RunOutcome {
    pub(crate) fn into_columns(self) -> Result<OutcomeColumns> {
        Ok(match self {
            RunOutcome::Completed { output, warnings } => OutcomeColumns {
                status: "completed",
                output: Some(output),
                error: None,
                warnings,
            },
            RunOutcome::Failed { error } => OutcomeColumns {
                status: "failed",
                output: None,
                error: Some(
                    serde_json::to_string(&error)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                ),
                warnings: None,
            },
            RunOutcome::Cancelled => OutcomeColumns {
                status: "cancelled",
                output: None,
                error: None,
                warnings: None,
            },
        })
    }
}

/// One recorded event of a run: its cursor and its JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub seq: i64,
    pub data: String,
}

/// A committed change that waiters may care about. Carries no data: a waiter re-reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// New events (and maybe a new status) for this run.
    Run(Arc<str>),
    /// Work was queued: idle workers should look.
    Queued,
    /// New events in this task group's log.
    Group(Arc<str>),
    /// New events (and maybe a new status) for this FindAll run.
    FindAll(Arc<str>),
    /// A monitor's schedule changed (created, re-planned, triggered, given back, or an
    /// execution ended): the monitor scheduler should look at what is due.
    Schedule,
}

/// Whether the pieces of a store that work in the background are running.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// One sentence per piece that is gone, saying what no longer works.
    pub down: Vec<String>,
}

impl Health {
    /// Whether every piece is running.
    pub fn is_ok(&self) -> bool {
        self.down.is_empty()
    }
}

/// The text of a panic's payload, for errors and logs.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// A reply of the wrong kind for its op: a bug in `findall::ops`.
fn unexpected(reply: FindAllReply) -> StoreError {
    StoreError::Corrupt(format!("a FindAll op answered {reply:?}"))
}

/// A reply of the wrong kind for its op: a bug in `memory::ops`.
fn unexpected_memory(reply: MemoryReply) -> StoreError {
    StoreError::Corrupt(format!("a memory op answered {reply:?}"))
}

/// A reply of the wrong kind for its op: a bug in `monitor::ops`.
fn unexpected_monitor(reply: MonitorReply) -> StoreError {
    StoreError::Corrupt(format!("a monitor op answered {reply:?}"))
}

/// Reads the reply an op must give, or says which bug gave another.
macro_rules! monitor_reply {
    ($store:expr, $op:expr, $variant:ident) => {
        match $store.monitor($op).await? {
            MonitorReply::$variant(value) => Ok(value),
            other => Err(unexpected_monitor(other)),
        }
    };
}

/// Capacity of the notice channel. A receiver that falls this far behind is told it lagged
/// and re-reads state from the store, so nothing is lost.
pub const NOTICE_CAPACITY: usize = 4096;

/// The storage interface. See the crate documentation.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates a tenant with one API key (given by its hash); returns the tenant id.
    async fn create_tenant_with_key(&self, key_hash: KeyHash, label: &str) -> Result<TenantId>;
    /// Adds a key to an existing tenant, or does nothing if the hash is already known.
    async fn ensure_key(&self, key_hash: KeyHash, label: &str) -> Result<TenantId>;
    /// Every stored key hash with its tenant.
    async fn api_keys(&self) -> Result<Vec<(KeyHash, TenantId)>>;
    /// The tenant of one key hash, if it is stored: one indexed lookup (the primary key of
    /// `api_keys`), for a key the server has not seen yet.
    async fn api_key_tenant(&self, key_hash: KeyHash) -> Result<Option<TenantId>>;
    /// Every tenant and its limits ([`limits`]; unlimited ones too, so a reader can tell a
    /// tenant without limits from one it has not read yet).
    async fn tenant_limits(&self) -> Result<Vec<(TenantId, limits::TenantLimits)>>;
    /// Sets a tenant's limits (replacing both); `false` when there is no such tenant.
    async fn set_tenant_limits(&self, tenant: &str, limits: limits::TenantLimits) -> Result<bool>;
    /// How many of the tenant's task runs are queued or running, over every node.
    async fn tenant_active_runs(&self, tenant: &str) -> Result<u64>;

    /// Commits a new run with its `queued` state event, or replays/refuses an idempotent
    /// repeat. With a key, the created run's JSON is stored as the answer to replay.
    async fn create_run(&self, tenant: &str, run: RunToCreate) -> Result<CreateOutcome>;
    /// The run, if it exists and belongs to `tenant`.
    async fn get_run(&self, tenant: &str, run_id: &str) -> Result<Option<TaskRun>>;
    /// The tenant's runs, newest first (by creation time, then run id), at most `limit`,
    /// starting after the run `before` (the last run of the previous page) when given. A
    /// `before` that is not one of the tenant's runs gives an empty page.
    async fn list_runs(
        &self,
        tenant: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TaskRun>>;
    /// The input document, as sent.
    async fn get_input(&self, tenant: &str, run_id: &str) -> Result<Option<String>>;
    /// The run with its output JSON (present once completed).
    async fn get_result(
        &self,
        tenant: &str,
        run_id: &str,
    ) -> Result<Option<(TaskRun, Option<String>)>>;
    /// Events of the run `page.of` after cursor `page.after`, oldest first, at most
    /// `page.limit`.
    async fn events_after(&self, tenant: &str, page: Page<'_>) -> Result<Vec<EventRecord>>;

    /// Claims up to `limit` queued runs for `lease.worker`, shared fairly among tenants (see
    /// the `fair` module: the tenant with the fewest runs in progress first, oldest first
    /// within a tenant), marks them running under the lease, and records their `running`
    /// state events.
    async fn claim_runs(&self, lease: Lease<'_>, limit: usize) -> Result<Vec<ClaimedRun>>;
    /// Renews the lease on runs `lease.worker` still holds; returns those it no longer holds.
    async fn heartbeat(&self, lease: Lease<'_>, run_ids: &[String]) -> Result<Vec<String>>;
    /// Appends a progress event to a run held by `worker`. Returns its cursor, or `None` if
    /// the worker lost the run.
    async fn append_event(&self, worker: &str, run_id: &str, data: &str) -> Result<Option<i64>>;
    /// Ends a run held by `worker` with its terminal state event. Returns false (and changes
    /// nothing) if the worker no longer holds it.
    async fn finish_run(&self, worker: &str, run_id: &str, outcome: RunOutcome) -> Result<bool>;
    /// Puts runs held by `worker` back in the queue (graceful shutdown).
    async fn release_runs(&self, worker: &str, run_ids: &[String]) -> Result<usize>;
    /// Puts back in the queue every running run whose lease has expired.
    async fn requeue_expired(&self) -> Result<usize>;
    /// How many task runs are queued and how many running, by processor, on every node that
    /// shares this store (for the metrics scrape); states and processors without runs are
    /// left out.
    async fn active_runs(&self) -> Result<Vec<ActiveRuns>>;

    /// The tenant's webhook signing secret, created on first use.
    async fn webhook_secret(&self, tenant: &str) -> Result<String>;
    /// Claims up to `limit` webhook deliveries that are due (and not held by a live lease),
    /// counting the attempt. A worker that dies mid-attempt loses the lease and the delivery
    /// is attempted again: delivery is at least once.
    async fn claim_deliveries(&self, lease: Lease<'_>, limit: usize) -> Result<Vec<Delivery>>;
    /// Records how an attempt of a delivery held by `worker` ended.
    async fn delivery_attempted(&self, worker: &str, attempt: DeliveryAttempt) -> Result<()>;

    /// Creates an empty task group.
    async fn create_group(&self, tenant: &str, group: GroupToCreate) -> Result<TaskGroup>;
    /// The group, if it exists and belongs to `tenant`.
    async fn get_group(&self, tenant: &str, taskgroup_id: &str) -> Result<Option<TaskGroup>>;
    /// Adds runs to a group in one transaction — all of them or none — with their `queued`
    /// state events and one `task_group_status` event. `None` if there is no such group of
    /// `tenant` (nothing is written).
    async fn add_group_runs(&self, tenant: &str, add: RunsToAdd) -> Result<Option<AddedRuns>>;
    /// Events of the log of group `page.of` after cursor `page.after`, at most `page.limit`,
    /// with the group's status from the same snapshot. `None` if there is no such group of
    /// `tenant`.
    async fn group_events_after(&self, tenant: &str, page: Page<'_>)
        -> Result<Option<GroupEvents>>;
    /// The runs of group `query.taskgroup_id` after position `query.after`, in the order
    /// added, at most `query.limit`. `None` if there is no such group of `tenant`.
    async fn group_runs_after(
        &self,
        tenant: &str,
        query: GroupRunsQuery,
    ) -> Result<Option<Vec<GroupRunRecord>>>;

    /// Carries out one FindAll operation in one transaction (see [`findall`]): the one
    /// FindAll method each backend implements; the `*_findall` methods below wrap it.
    async fn findall(&self, op: FindAllOp) -> Result<FindAllReply>;

    /// Carries out one monitor operation in one transaction (see [`monitor`]): the one
    /// monitor method each backend implements; the `*_monitor*` methods below wrap it.
    async fn monitor(&self, op: MonitorOp) -> Result<MonitorReply>;

    /// Carries out one memory operation in one transaction (see [`memory`]): the one memory
    /// method each backend implements; the `*_memory` methods below wrap it.
    async fn memory(&self, op: MemoryOp) -> Result<MemoryReply>;

    /// The live entries of a memory scope of `tenant`, most recently updated first.
    async fn retrieve_memory(
        &self,
        tenant: &str,
        scope: &str,
        query: MemoryQuery,
    ) -> Result<Vec<MemoryEntry>> {
        let op = MemoryOp::Retrieve {
            tenant: tenant.into(),
            scope: scope.into(),
            query,
        };
        match self.memory(op).await? {
            MemoryReply::Entries(entries) => Ok(entries),
            other => Err(unexpected_memory(other)),
        }
    }

    /// Evicts one entry from a memory scope of `tenant`; false if the scope does not hold it.
    async fn evict_memory(
        &self,
        tenant: &str,
        scope: &str,
        kind: parallax_api::memory::MemoryKind,
        id: &str,
    ) -> Result<bool> {
        let op = MemoryOp::Evict {
            tenant: tenant.into(),
            scope: scope.into(),
            kind,
            id: id.into(),
        };
        match self.memory(op).await? {
            MemoryReply::Evicted(found) => Ok(found),
            other => Err(unexpected_memory(other)),
        }
    }

    /// Evicts every entry of a memory scope of `tenant`; returns how many.
    async fn clear_memory(&self, tenant: &str, scope: &str) -> Result<u64> {
        let op = MemoryOp::Clear {
            tenant: tenant.into(),
            scope: scope.into(),
        };
        match self.memory(op).await? {
            MemoryReply::Cleared(n) => Ok(n),
            other => Err(unexpected_memory(other)),
        }
    }

    /// Commits a new monitor, due at once.
    async fn create_monitor(&self, tenant: &str, monitor: MonitorToCreate) -> Result<MonitorView> {
        let op = MonitorOp::Create {
            tenant: tenant.into(),
            monitor: Box::new(monitor),
        };
        monitor_reply!(self, op, Created)
    }

    /// The monitor, if it exists and belongs to `tenant`.
    async fn get_monitor(&self, tenant: &str, monitor_id: &str) -> Result<Option<MonitorView>> {
        let op = MonitorOp::Get {
            tenant: tenant.into(),
            monitor_id: monitor_id.into(),
        };
        monitor_reply!(self, op, View)
    }

    /// Cancels a monitor of `tenant` (a cancelled one stays so); `None` if there is none.
    async fn cancel_monitor(&self, tenant: &str, monitor_id: &str) -> Result<Option<MonitorView>> {
        let op = MonitorOp::Cancel {
            tenant: tenant.into(),
            monitor_id: monitor_id.into(),
        };
        monitor_reply!(self, op, View)
    }

    /// The events of a monitor of `tenant`, newest first; `None` if there is no such monitor.
    async fn monitor_events(
        &self,
        tenant: &str,
        monitor_id: &str,
        query: EventQuery,
    ) -> Result<Option<Vec<MonitorEvent>>> {
        let op = MonitorOp::Events {
            tenant: tenant.into(),
            monitor_id: monitor_id.into(),
            query,
        };
        monitor_reply!(self, op, Events)
    }

    /// When the next monitor falls due on the monitor clock (`i64::MIN`: a trigger waits).
    async fn next_monitor_due(&self) -> Result<Option<i64>> {
        monitor_reply!(self, MonitorOp::NextDue, NextDue)
    }

    /// Claims up to `limit` monitors whose execution is due at `clock` (or triggered, or
    /// orphaned by an expired lease) for `lease.worker`.
    async fn claim_monitors(
        &self,
        lease: Lease<'_>,
        clock: i64,
        limit: usize,
    ) -> Result<Vec<ClaimedMonitor>> {
        let op = MonitorOp::Claim {
            worker: lease.worker.into(),
            ttl: lease.ttl,
            clock,
            limit,
        };
        monitor_reply!(self, op, Claimed)
    }

    /// Renews the leases `lease.worker` holds on `ids`; returns those it no longer holds
    /// (lost, or the monitor was cancelled).
    async fn heartbeat_monitors(&self, lease: Lease<'_>, ids: &[String]) -> Result<Vec<String>> {
        let op = MonitorOp::Heartbeat {
            worker: lease.worker.into(),
            ttl: lease.ttl,
            ids: ids.to_vec(),
        };
        monitor_reply!(self, op, Ids)
    }

    /// Records how an execution ended; false (nothing written) if the worker no longer held
    /// the monitor or it was cancelled.
    async fn finish_monitor(
        &self,
        worker: &str,
        monitor_id: &str,
        execution: Execution,
        clock: i64,
    ) -> Result<bool> {
        let op = MonitorOp::Finish {
            worker: worker.into(),
            monitor_id: monitor_id.into(),
            execution: Box::new(execution),
            clock,
        };
        monitor_reply!(self, op, Finished)
    }

    /// Gives unfinished executions back (shutdown): each is run again at once.
    async fn release_monitors(&self, worker: &str, ids: &[String]) -> Result<Vec<String>> {
        let op = MonitorOp::Release {
            worker: worker.into(),
            ids: ids.to_vec(),
        };
        monitor_reply!(self, op, Ids)
    }

    /// Commits a new FindAll run, queued, with its schema and status events.
    async fn create_findall(&self, tenant: &str, run: FindAllToCreate) -> Result<FindAllRun> {
        let op = FindAllOp::Create {
            tenant: tenant.into(),
            run: Box::new(run),
        };
        match self.findall(op).await? {
            FindAllReply::Created(run) => Ok(run),
            other => Err(unexpected(other)),
        }
    }

    /// The FindAll run with its schema, if it exists and belongs to `tenant`.
    async fn get_findall(&self, tenant: &str, findall_id: &str) -> Result<Option<FindAllView>> {
        let op = FindAllOp::Get {
            tenant: tenant.into(),
            findall_id: findall_id.into(),
        };
        match self.findall(op).await? {
            FindAllReply::View(view) => Ok(view),
            other => Err(unexpected(other)),
        }
    }

    /// The run's candidates in the order generated; `None` if there is no such run of
    /// `tenant`.
    async fn findall_candidates(
        &self,
        tenant: &str,
        findall_id: &str,
    ) -> Result<Option<Vec<Candidate>>> {
        let op = FindAllOp::Candidates {
            tenant: tenant.into(),
            findall_id: findall_id.into(),
        };
        match self.findall(op).await? {
            FindAllReply::Candidates(c) => Ok(c),
            other => Err(unexpected(other)),
        }
    }

    /// Events of the log of FindAll run `page.of` after `page.after`, with the run from the
    /// same snapshot; `None` if there is no such run of `tenant`.
    async fn findall_events_after(
        &self,
        tenant: &str,
        page: Page<'_>,
    ) -> Result<Option<FindAllEvents>> {
        let op = FindAllOp::EventsAfter {
            tenant: tenant.into(),
            findall_id: page.of.into(),
            after: page.after,
            limit: page.limit,
        };
        match self.findall(op).await? {
            FindAllReply::Events(e) => Ok(e),
            other => Err(unexpected(other)),
        }
    }

    /// Cancels, extends or enriches a FindAll run of `tenant`.
    async fn change_findall(
        &self,
        tenant: &str,
        findall_id: &str,
        change: FindAllChange,
    ) -> Result<ChangeOutcome> {
        let op = FindAllOp::Change {
            tenant: tenant.into(),
            findall_id: findall_id.into(),
            change,
        };
        match self.findall(op).await? {
            FindAllReply::Changed(outcome) => Ok(outcome),
            other => Err(unexpected(other)),
        }
    }

    /// Claims up to `limit` queued FindAll runs for `lease.worker` (the tenant with the
    /// fewest in progress first, then the oldest), with their candidates as recorded.
    async fn claim_findall(&self, lease: Lease<'_>, limit: usize) -> Result<Vec<ClaimedFindAll>> {
        let op = FindAllOp::Claim {
            worker: lease.worker.into(),
            ttl: lease.ttl,
            limit,
        };
        match self.findall(op).await? {
            FindAllReply::Claimed(runs) => Ok(runs),
            other => Err(unexpected(other)),
        }
    }

    /// Renews the lease on FindAll runs still held; returns those no longer held.
    async fn heartbeat_findall(&self, lease: Lease<'_>, ids: &[String]) -> Result<Vec<String>> {
        let op = FindAllOp::Heartbeat {
            worker: lease.worker.into(),
            ttl: lease.ttl,
            ids: ids.to_vec(),
        };
        match self.findall(op).await? {
            FindAllReply::Ids(lost) => Ok(lost),
            other => Err(unexpected(other)),
        }
    }

    /// A worker's write to a FindAll run it holds; `None` when it no longer holds it
    /// (cancelled, or the lease lost): the worker stops.
    async fn findall_work(
        &self,
        worker: &str,
        findall_id: &str,
        work: FindAllWork,
    ) -> Result<Option<WorkAck>> {
        let op = FindAllOp::Work {
            worker: worker.into(),
            findall_id: findall_id.into(),
            work,
        };
        match self.findall(op).await? {
            FindAllReply::Work(ack) => Ok(ack),
            other => Err(unexpected(other)),
        }
    }

    /// Puts FindAll runs held by `worker` back in the queue (graceful shutdown).
    async fn release_findall(&self, worker: &str, ids: &[String]) -> Result<usize> {
        let op = FindAllOp::Release {
            worker: worker.into(),
            ids: ids.to_vec(),
        };
        match self.findall(op).await? {
            FindAllReply::Ids(ids) => Ok(ids.len()),
            other => Err(unexpected(other)),
        }
    }

    /// Puts back in the queue every running FindAll run whose lease expired.
    async fn requeue_expired_findall(&self) -> Result<usize> {
        match self.findall(FindAllOp::Requeue { all: false }).await? {
            FindAllReply::Ids(ids) => Ok(ids.len()),
            other => Err(unexpected(other)),
        }
    }

    /// Committed changes, as they happen.
    fn subscribe(&self) -> broadcast::Receiver<Notice>;

    /// Whether the background pieces that carry writes and notices are running. Cheap: it
    /// reads flags and touches no database, so a health check may call it as often as it
    /// likes.
    fn health(&self) -> Health;
}
