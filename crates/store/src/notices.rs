//! What each kind of committed write announces, the same on both backends.
//!
//! A write's notices are sent only after its transaction committed, so a waiter that wakes
//! finds the change when it re-reads. Each function here says which notices one kind of
//! write sends; a backend calls [`announce`] with them right after its commit (PostgreSQL
//! also queues the same changes as `NOTIFY` payloads inside the transaction, for other
//! nodes).

use crate::{AddedRuns, ClaimedRun, CreateOutcome, Notice};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Sends `notices` to this process's waiters. Nobody listening is fine: waiters subscribe
/// before they read.
pub(crate) fn announce(sender: &broadcast::Sender<Notice>, notices: Vec<Notice>) {
    for notice in notices {
        let _ = sender.send(notice);
    }
}

fn run(run_id: &str) -> Notice {
    Notice::Run(Arc::from(run_id))
}

/// A create: the new run changed, and there is work to claim.
pub(crate) fn created(outcome: &CreateOutcome) -> Vec<Notice> {
    match outcome {
        CreateOutcome::Created(task_run) => vec![run(&task_run.run_id), Notice::Queued],
        CreateOutcome::Replayed(_) | CreateOutcome::KeyConflict => Vec::new(),
    }
}

/// A claim: each claimed run is running now.
pub(crate) fn claimed(runs: &[ClaimedRun]) -> Vec<Notice> {
    runs.iter().map(|c| run(&c.run_id)).collect()
}

/// A progress event appended to a run, if it was (`appended`).
pub(crate) fn appended(run_id: &str, appended: bool) -> Vec<Notice> {
    if appended {
        vec![run(run_id)]
    } else {
        Vec::new()
    }
}

/// A run that ended (in `group`, if any); nothing if the worker no longer held it.
pub(crate) fn finished(run_id: &str, ended: Option<Option<&str>>) -> Vec<Notice> {
    match ended {
        None => Vec::new(),
        Some(group) => {
            let mut notices = vec![run(run_id)];
            notices.extend(group.map(|g| Notice::Group(Arc::from(g))));
            notices
        }
    }
}

/// Runs put back in the queue: each of `run_ids` may have changed, and if any was requeued
/// (`requeued` > 0) there is work to claim.
pub(crate) fn requeued<S: AsRef<str>>(run_ids: &[S], requeued: usize) -> Vec<Notice> {
    let mut notices: Vec<Notice> = run_ids.iter().map(|id| run(id.as_ref())).collect();
    if requeued > 0 {
        notices.push(Notice::Queued);
    }
    notices
}

/// Runs added to a group: one notice for the group's log and one for the queue, not one per
/// run (nobody waits on a run just created). Nothing for an empty add or no such group.
pub(crate) fn group_added(group: &str, added: Option<&AddedRuns>) -> Vec<Notice> {
    match added {
        Some(added) if !added.runs.is_empty() => {
            vec![Notice::Group(Arc::from(group)), Notice::Queued]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_that_changed_nothing_announces_nothing() {
        assert!(appended("r", false).is_empty());
        assert!(finished("r", None).is_empty());
        assert!(group_added("g", None).is_empty());
        assert!(created(&CreateOutcome::KeyConflict).is_empty());
        // A release wakes the runs' waiters, but workers only if a run went back.
        assert_eq!(requeued(&["r"], 0), vec![run("r")]);
    }

    #[test]
    fn each_write_wakes_who_waits_on_it() {
        assert_eq!(appended("r", true), vec![run("r")]);
        assert_eq!(
            finished("r", Some(Some("g"))),
            vec![run("r"), Notice::Group(Arc::from("g"))]
        );
        assert_eq!(finished("r", Some(None)), vec![run("r")]);
        assert_eq!(
            requeued(&["a", "b"], 1),
            vec![run("a"), run("b"), Notice::Queued]
        );
    }
}
