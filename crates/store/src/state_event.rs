//! The `task_run.state` event recorded with every status change, in the same transaction.

use parallax_api::TaskRun;
use serde::Serialize;

#[derive(Serialize)]
struct StateEvent<'a> {
    r#type: &'static str,
    run: &'a TaskRun,
}

/// JSON of a `task_run.state` event carrying a snapshot of `run`.
pub fn state_event_json(run: &TaskRun) -> String {
    serde_json::to_string(&StateEvent {
        r#type: "task_run.state",
        run,
    })
    .expect("a TaskRun always serialises")
}
