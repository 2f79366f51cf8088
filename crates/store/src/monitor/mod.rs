//! Monitors in the store: each monitor with its schedule, its event log and what its
//! executions have seen, written once for both backends over [`Tx`](crate::sql::Tx).
//!
//! Every monitor operation is a [`MonitorOp`]; [`ops::execute`] carries it out inside one
//! transaction and says which [`Notice`](crate::Notice)s to send once it committed. The
//! [`Store`](crate::Store) methods for monitors are thin wrappers that build an op.
//!
//! **Time.** Two clocks meet here. Schedules (`created_at`, due times, `last_run_at`, event
//! times) are on the *monitor clock*, which the caller passes in each op (`clock`), so tests
//! and benchmarks can run simulated hours; leases are on the store's own clock (the
//! database's, on PostgreSQL), like task-run leases, so nodes agree on when one expires.
//!
//! **Schedule.** A monitor is due at `next_due_at`; it is planned against its anchor (its
//! creation) as `anchor + k × period + jitter(k)`, never from when the last execution
//! happened to run, so it does not drift, and the jitter (at most a minute, fixed per monitor
//! and slot) spreads monitors created together. The first execution is due at creation. A
//! claim of a due monitor moves `next_due_at` to the first slot after the clock: slots missed
//! while no node ran merge into the one execution now.
//!
//! **Executions.** A claim holds a monitor under a lease: no other worker claims it until the
//! execution finished or the lease expired, so one monitor never runs twice at once. A lease
//! that expires (a dead node) makes the monitor claimable again *without* moving its
//! schedule: the interrupted execution is run again, nothing is lost. An execution's results
//! (its events, or a completion, or an error; what it saw; webhook deliveries) are written in
//! one transaction, and only while the worker still holds the lease and the monitor is
//! active.

pub(crate) mod ops;

/// Seen keys kept per monitor, those seen most recently: each is about 150 bytes, and every
/// execution reads them all.
pub const SEEN_KEPT: i64 = 5_000;

use parallax_api::monitor::{
    MonitorConfig, MonitorEvent, MonitorKind, MonitorPatch, MonitorStatus, MonitorView,
};
use serde_json::Value;
use std::time::Duration;

/// A monitor to commit.
#[derive(Debug, Clone)]
pub struct MonitorToCreate {
    pub monitor_id: String,
    pub config: MonitorConfig,
    /// Monitor clock, microseconds; also the first due time.
    pub created_at: i64,
    /// Snapshot monitors: the task run's request (re-executed each time) and its output (the
    /// baseline the first execution compares with).
    pub snapshot: Option<SnapshotBaseline>,
}

/// What a snapshot monitor re-executes and compares with.
#[derive(Debug, Clone)]
pub struct SnapshotBaseline {
    pub request: Value,
    pub output: Value,
}

/// Which monitors `GET /v1/monitors` lists, newest first.
#[derive(Debug, Clone)]
pub struct MonitorListQuery {
    pub statuses: Vec<MonitorStatus>,
    /// Empty: every type.
    pub kinds: Vec<MonitorKind>,
    /// Start after this monitor (a page's last), if any.
    pub after: Option<String>,
    pub limit: i64,
}

/// Which events a page holds, newest first.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Only events older than this position (a page's `next_cursor`).
    pub before: Option<i64>,
    /// Most events; `None`: all.
    pub limit: Option<i64>,
    /// Only this event group's events (pagination is then ignored).
    pub group: Option<String>,
    pub include_completions: bool,
    /// Only events at or after this monitor-clock time (the spec's lookback).
    pub since: Option<i64>,
}

/// What an update did.
#[derive(Debug, Clone)]
pub enum UpdateOutcome {
    NotFound,
    /// The monitor is cancelled and the update touches more than metadata.
    Cancelled,
    /// The update changes settings (query, advanced settings) of a snapshot monitor, which
    /// has none to change.
    NoSettings,
    Updated(Box<MonitorView>),
}

/// What a trigger or a simulated event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    NotFound,
    /// The monitor is cancelled.
    Cancelled,
    /// `simulate_event` on a monitor without a webhook.
    NoWebhook,
    Done,
}

/// A monitor handed to a worker for one execution.
#[derive(Debug, Clone)]
pub struct ClaimedMonitor {
    pub tenant: String,
    pub monitor_id: String,
    pub config: MonitorConfig,
    /// Whether no execution finished before this one (backfill decides what it reports).
    pub first: bool,
    /// What earlier executions saw, each as its executor stored it.
    pub seen: Vec<String>,
    /// Snapshot monitors: the request to re-execute and the output to compare with.
    pub snapshot: Option<SnapshotBaseline>,
    /// Claims of this execution so far, this one included (more than 1: a lease expired).
    pub attempt: i64,
}

/// Something an execution saw, remembered under a key so that it is stored once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenEntry {
    pub key: String,
    pub data: String,
}

/// How an execution ended.
#[derive(Debug, Clone)]
pub enum Execution {
    /// It ran. `events` are the documents of what it detected (empty: a completion);
    /// `observed` what it saw; `snapshot` a snapshot monitor's output now.
    Ran {
        events: Vec<Value>,
        observed: Vec<SeenEntry>,
        snapshot: Option<Value>,
    },
    /// It failed.
    Failed { message: String },
}

/// Every monitor operation, as the backends carry it out. `clock` is the monitor clock in
/// microseconds (see the module documentation).
#[derive(Debug, Clone)]
pub enum MonitorOp {
    Create {
        tenant: String,
        monitor: Box<MonitorToCreate>,
    },
    Get {
        tenant: String,
        monitor_id: String,
    },
    List {
        tenant: String,
        query: MonitorListQuery,
    },
    /// The spec's list: every monitor of the tenant by id, after `after`.
    ListById {
        tenant: String,
        after: Option<String>,
        limit: Option<i64>,
    },
    Update {
        tenant: String,
        monitor_id: String,
        patch: MonitorPatch,
        clock: i64,
    },
    Cancel {
        tenant: String,
        monitor_id: String,
    },
    Trigger {
        tenant: String,
        monitor_id: String,
    },
    Events {
        tenant: String,
        monitor_id: String,
        query: EventQuery,
    },
    /// Queues a test delivery of `event_type` to the monitor's webhook.
    Simulate {
        tenant: String,
        monitor_id: String,
        event_type: String,
        clock: i64,
    },
    /// When the next monitor falls due (monitor clock), if any is waiting; a pending trigger
    /// is due now.
    NextDue,
    Claim {
        worker: String,
        ttl: Duration,
        clock: i64,
        limit: usize,
    },
    Heartbeat {
        worker: String,
        ttl: Duration,
        ids: Vec<String>,
    },
    Finish {
        worker: String,
        monitor_id: String,
        execution: Box<Execution>,
        clock: i64,
    },
    /// Gives executions back unfinished (shutdown): each runs again at once elsewhere.
    Release {
        worker: String,
        ids: Vec<String>,
    },
}

impl MonitorOp {
    /// Whether the op only reads.
    pub(crate) fn is_read(&self) -> bool {
        matches!(
            self,
            MonitorOp::Get { .. }
                | MonitorOp::List { .. }
                | MonitorOp::ListById { .. }
                | MonitorOp::Events { .. }
                | MonitorOp::NextDue
        )
    }
}

/// What an op answered.
#[derive(Debug, Clone)]
pub enum MonitorReply {
    Created(MonitorView),
    View(Option<MonitorView>),
    List(Vec<MonitorView>),
    Updated(UpdateOutcome),
    Requested(Requested),
    Events(Option<Vec<MonitorEvent>>),
    NextDue(Option<i64>),
    Claimed(Vec<ClaimedMonitor>),
    /// Ids no longer held (heartbeat) or given back (release).
    Ids(Vec<String>),
    /// Whether a finish was recorded (false: the lease was lost or the monitor cancelled).
    Finished(bool),
}

/// The result of an op with the notices its commit sends.
pub(crate) type Executed = crate::Result<(MonitorReply, Vec<crate::Notice>)>;
