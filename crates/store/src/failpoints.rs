//! Planned failures, for tests only: this module exists in this crate's own tests and with the
//! `failpoints` feature, which no release build enables (only test builds of the workspace
//! turn it on, through dev-dependencies).
//!
//! A test plans a failure on a store ([`Failpoints::plan`]); the next time the store passes
//! that point it fails as planned, once. This is how the tests prove that a bug in one write
//! fails that write alone, and that a writer that is gone shows in [`crate::Store::health`]
//! instead of hanging requests.

use std::sync::Mutex;

/// A place where a store can be made to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failpoint {
    /// The next write does its work and then panics before it is committed (inside its
    /// savepoint on SQLite, inside the batch's transaction on PostgreSQL, which covers
    /// `create_run` there).
    WritePanics,
    /// The writer itself panics outside any write and is gone: the SQLite writer thread, or
    /// PostgreSQL's create writer.
    WriterStops,
}

/// Failures planned on one store, each taken once.
#[derive(Debug, Default)]
pub struct Failpoints {
    planned: Mutex<Vec<Failpoint>>,
}

impl Failpoints {
    /// Makes the store fail at `point` the next time it gets there.
    pub fn plan(&self, point: Failpoint) {
        self.planned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(point);
    }

    /// Whether a failure is planned at `point`; takes it if so.
    pub(crate) fn take(&self, point: Failpoint) -> bool {
        let mut planned = self.planned.lock().unwrap_or_else(|p| p.into_inner());
        match planned.iter().position(|p| *p == point) {
            Some(at) => {
                planned.remove(at);
                true
            }
            None => false,
        }
    }
}
