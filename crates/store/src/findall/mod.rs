//! FindAll runs in the store: the run, its candidates and its event log, written once for
//! both backends.
//!
//! Every FindAll operation is a [`FindAllOp`]; [`ops::execute`] carries it out inside one
//! transaction of either backend through the small [`Tx`](crate::sql::Tx) adapter each provides, and
//! says which [`Notice`]s to send once it committed. The [`Store`](crate::Store) methods
//! for FindAll are thin wrappers that build an op and read its [`FindAllReply`].
//!
//! A run is claimed by one worker at a time under a lease, like a task run. Every write a
//! worker makes ([`FindAllWork`]) first checks, with the run's row locked, that the worker
//! still holds it and that it is still running; a cancelled run or a lost lease makes the
//! write change nothing, and the worker stops. Candidates are inserted once (a unique key per
//! run: the engine's normalised name), and each is decided once: a decision applies only to a
//! candidate still `generated`. So a worker that dies loses at most the evaluations it had not
//! recorded; the next claim resumes with every candidate as recorded.

pub(crate) mod ops;

use crate::{Notice, Result};
use parallax_api::findall::{
    Candidate, Excluded, FindAllEventKind, FindAllRun, FindAllSchema, Generator, MatchStatus,
    NewFindAll, TerminationReason,
};
use serde_json::Value;
use std::time::Duration;

/// A FindAll run to commit.
#[derive(Debug, Clone)]
pub struct FindAllToCreate {
    pub findall_id: String,
    pub new: NewFindAll,
    pub created_at: i64,
}

/// A run with what it looks for.
#[derive(Debug, Clone)]
pub struct FindAllView {
    pub run: FindAllRun,
    pub schema: FindAllSchema,
    /// The id of the run's last event.
    pub last_event_id: i64,
}

/// One event of a run's log, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindAllEventRecord {
    pub seq: i64,
    pub kind: FindAllEventKind,
    /// The schema, run or candidate as it was at the event.
    pub document: String,
    pub created_at: i64,
}

/// A page of a run's log, read in one snapshot with the run.
#[derive(Debug, Clone)]
pub struct FindAllEvents {
    pub events: Vec<FindAllEventRecord>,
    pub run: FindAllRun,
    pub last_event_id: i64,
}

/// A client's change to a run.
#[derive(Debug, Clone)]
pub enum FindAllChange {
    /// Stop now, keeping what was found.
    Cancel,
    /// Raise the match limit by this much.
    Extend(i64),
    /// Add an enrichment (the validated `FindAllEnrichInput`).
    Enrich(Value),
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeRefusal {
    /// The run already ended (and the change needs an active run, or one that ended at its
    /// limit).
    Ended {
        status: String,
        reason: Option<String>,
    },
    /// The new match limit would pass the largest allowed.
    LimitTooHigh { limit: i64 },
}

/// What a change did.
#[derive(Debug, Clone)]
pub enum ChangeOutcome {
    NotFound,
    Refused(ChangeRefusal),
    Changed(FindAllView),
}

/// A run handed to a worker, with its candidates as recorded.
#[derive(Debug, Clone)]
pub struct ClaimedFindAll {
    pub tenant: String,
    pub findall_id: String,
    pub schema: FindAllSchema,
    pub exclude: Vec<Excluded>,
    pub generator: Generator,
    pub match_limit: i64,
    /// How many times it was claimed, this claim included.
    pub attempt: i64,
    /// Whether candidate generation already ran to its end.
    pub generation_done: bool,
    /// Why it ended before it was queued again (extend or enrich), if it had ended.
    pub previous_reason: Option<TerminationReason>,
    pub candidates: Vec<CandidateRecord>,
}

/// A candidate as the worker sees it.
#[derive(Debug, Clone)]
pub struct CandidateRecord {
    pub candidate: Candidate,
    /// The run-unique key the engine gave it (its normalised name).
    pub key: String,
    /// How many of the run's enrichments it has had.
    pub enriched: i64,
}

/// A candidate to add.
#[derive(Debug, Clone)]
pub struct NewCandidate {
    pub key: String,
    pub name: String,
    pub url: String,
    pub description: Option<String>,
}

/// A worker's write to a run it holds.
#[derive(Debug, Clone)]
pub enum FindAllWork {
    /// New candidates, each with a `findall.candidate.generated` event; a key the run already
    /// has is skipped.
    AddCandidates(Vec<NewCandidate>),
    /// Generation ran to its end: a later claim does not generate again.
    GenerationDone,
    /// A candidate's evaluation. Applies only to a candidate still `generated`.
    Decide {
        candidate_id: String,
        status: MatchStatus,
        output: String,
        basis: String,
    },
    /// A candidate's enrichment: its output and basis now, and how many enrichments it has had.
    Enriched {
        candidate_id: String,
        output: String,
        basis: String,
        enriched: i64,
    },
    /// The run ends. Refused (nothing changes) when the run changed under the worker: a limit
    /// raised past the matches, or an enrichment it did not know of (`enrichments`).
    Finish {
        reason: TerminationReason,
        enrichments: usize,
    },
    /// The run fails.
    Fail { message: String },
}

/// What a worker's write found.
#[derive(Debug, Clone)]
pub struct WorkAck {
    /// The run's schema now (extensions and enrichments change it while it runs).
    pub schema: FindAllSchema,
    pub match_limit: i64,
    pub matched: i64,
    /// Candidates this write added (for `AddCandidates`).
    pub added: Vec<CandidateRecord>,
    /// Whether the write applied (a decision on a candidate already decided, or a refused
    /// finish, did not).
    pub applied: bool,
}

/// Every FindAll operation, as the backends carry it out.
#[derive(Debug, Clone)]
pub enum FindAllOp {
    Create {
        tenant: String,
        run: Box<FindAllToCreate>,
    },
    Get {
        tenant: String,
        findall_id: String,
    },
    Candidates {
        tenant: String,
        findall_id: String,
    },
    EventsAfter {
        tenant: String,
        findall_id: String,
        after: i64,
        limit: usize,
    },
    Change {
        tenant: String,
        findall_id: String,
        change: FindAllChange,
    },
    Claim {
        worker: String,
        ttl: Duration,
        limit: usize,
    },
    Heartbeat {
        worker: String,
        ttl: Duration,
        ids: Vec<String>,
    },
    Work {
        worker: String,
        findall_id: String,
        work: FindAllWork,
    },
    Release {
        worker: String,
        ids: Vec<String>,
    },
    /// Queue again runs whose lease expired (or, `all`, every running run: SQLite at open).
    Requeue {
        all: bool,
    },
}

impl FindAllOp {
    /// Whether the op only reads.
    pub(crate) fn is_read(&self) -> bool {
        matches!(
            self,
            FindAllOp::Get { .. } | FindAllOp::Candidates { .. } | FindAllOp::EventsAfter { .. }
        )
    }
}

/// What an op answered.
#[derive(Debug, Clone)]
pub enum FindAllReply {
    Created(FindAllRun),
    View(Option<FindAllView>),
    Candidates(Option<Vec<Candidate>>),
    Events(Option<FindAllEvents>),
    Changed(ChangeOutcome),
    Claimed(Vec<ClaimedFindAll>),
    /// Ids no longer held (heartbeat), or requeued (release, requeue).
    Ids(Vec<String>),
    /// `None`: the worker no longer holds the run (cancelled, or its lease lost).
    Work(Option<WorkAck>),
}

/// The result of an op with the notices its commit sends.
pub(crate) type Executed = Result<(FindAllReply, Vec<Notice>)>;
