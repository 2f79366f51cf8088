//! Memory in the store: what each task run, monitor and FindAll run of a tenant asked and
//! found, remembered in the memory scope its `memory_scope_key` named (the empty key is the
//! tenant's personal memory), written once for both backends over [`Tx`](crate::sql::Tx).
//!
//! This module owns the `memory_entries` table. Entries are written by the events that make
//! them, in the same transaction: a task run completing with output (`finish_run`, both
//! backends), a FindAll run created and each candidate it matches (`findall::ops`), a monitor
//! created, executed, updated and cancelled (`monitor::ops`). The client's operations are
//! [`MemoryOp`]s, which [`ops::execute`] carries out in one transaction; the
//! [`Store`](crate::Store) methods for memory are thin wrappers that build one.
//!
//! **Scopes are per tenant**: every read and write names the tenant, so one tenant's key `k`
//! and another's `k` are two scopes.
//!
//! **Tombstones.** Evicting an entry, or clearing its scope, does not delete its row: the row
//! stays, its texts emptied and `evicted_at` set, so that the writes of later events (a
//! monitor running again, a FindAll run matching more) find it evicted and leave it out.
//! A tombstone holds only keys and a time.
//!
//! **Ranking is not the store's.** [`MemoryOp::Retrieve`] returns candidates, most recently
//! updated first; the server ranks them against a query (BM25, `parallax_engine::rank`).

pub(crate) mod ops;

use parallax_api::memory::MemoryKind;
use parallax_api::monitor::MonitorEvent;

/// Events read per monitor entry: the candidates its `matched_events` are chosen from.
pub const EVENTS_PER_MONITOR: i64 = 50;

/// One remembered task run, monitor or FindAll run.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryEntry {
    pub kind: MemoryKind,
    /// The run, monitor or FindAll run id.
    pub id: String,
    /// A task run's input as text, a monitor's query, a FindAll run's objective.
    pub input: String,
    /// A task run's output as text (its content; JSON content as JSON text); empty for
    /// monitors and FindAll runs.
    pub output: String,
    /// The URLs a task run's basis cites, in order, once each.
    pub sources: Vec<String>,
    /// A monitor's status (`active` or `cancelled`).
    pub status: Option<String>,
    /// A FindAll run's matched candidates so far.
    pub matched_count: Option<i64>,
    /// When the run completed, the monitor last ran (or was created or changed), the
    /// FindAll run last changed: microseconds since the epoch.
    pub updated_at: i64,
    /// A monitor's latest events (at most [`EVENTS_PER_MONITOR`], newest first; completions,
    /// errors and simulated events left out). Empty for other kinds.
    pub events: Vec<MonitorEvent>,
}

/// Which entries of a scope [`MemoryOp::Retrieve`] reads, newest first.
#[derive(Debug, Clone)]
pub struct MemoryQuery {
    pub kind: Option<MemoryKind>,
    /// Only entries updated at or after this time.
    pub since: Option<i64>,
    pub limit: i64,
}

/// Every memory operation a client can ask for.
#[derive(Debug, Clone)]
pub enum MemoryOp {
    /// The live (not evicted) entries of `scope`.
    Retrieve {
        tenant: String,
        scope: String,
        query: MemoryQuery,
    },
    /// Evicts one entry of `scope`, leaving a tombstone.
    Evict {
        tenant: String,
        scope: String,
        kind: MemoryKind,
        id: String,
    },
    /// Evicts every entry of `scope`.
    Clear { tenant: String, scope: String },
}

impl MemoryOp {
    /// Whether the op only reads.
    pub(crate) fn is_read(&self) -> bool {
        matches!(self, MemoryOp::Retrieve { .. })
    }
}

/// What a memory op answered.
#[derive(Debug, Clone)]
pub enum MemoryReply {
    Entries(Vec<MemoryEntry>),
    /// Whether the entry was there to evict (false: the scope does not hold it).
    Evicted(bool),
    /// How many entries a clear evicted.
    Cleared(u64),
}

/// The result of an op with the notices its commit sends (memory sends none).
pub(crate) type Executed = crate::Result<(MemoryReply, Vec<crate::Notice>)>;
