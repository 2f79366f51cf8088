//! The task run as the API shows it (`TaskRun` of the spec) and its status.

use crate::error::ErrorObject;
use crate::time::rfc3339;
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// Status of a run, as the spec spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Queued,
    ActionRequired,
    Running,
    Completed,
    Failed,
    Cancelling,
    Cancelled,
}

impl RunStatus {
    pub const ALL: [RunStatus; 7] = [
        RunStatus::Queued,
        RunStatus::ActionRequired,
        RunStatus::Running,
        RunStatus::Completed,
        RunStatus::Failed,
        RunStatus::Cancelling,
        RunStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::ActionRequired => "action_required",
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelling => "cancelling",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// `is_active` of the spec: queued, running or cancelling (and waiting on an action).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            RunStatus::Queued
                | RunStatus::Running
                | RunStatus::Cancelling
                | RunStatus::ActionRequired
        )
    }

    /// Whether the run has ended and will not change again.
    pub fn is_terminal(self) -> bool {
        !self.is_active()
    }
}

/// A run's public state. Serialises to the spec's `TaskRun`, with `interaction_id` equal to
/// `run_id` and timestamps in RFC 3339.
#[derive(Debug, Clone)]
pub struct TaskRun {
    pub run_id: String,
    pub status: RunStatus,
    pub processor: String,
    /// The metadata object exactly as the client sent it, or `None`.
    pub metadata: Option<Box<RawValue>>,
    pub error: Option<ErrorObject>,
    /// `Warning` objects, if any.
    pub warnings: Option<Vec<Value>>,
    pub taskgroup_id: Option<String>,
    pub created_at: i64,
    pub modified_at: i64,
}

impl TaskRun {
    /// The run as every response and event shows it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a TaskRun always serialises")
    }
}

/// The body of `GET …/result` (`TaskRunResult` of the spec): the run and its output object,
/// which is stored as the JSON text the engine wrote and sent as it is.
pub fn task_run_result_json(run: &TaskRun, output: &str) -> String {
    format!(r#"{{"run":{},"output":{}}}"#, run.to_json(), output)
}

impl Serialize for TaskRun {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("TaskRun", 11)?;
        s.serialize_field("run_id", &self.run_id)?;
        s.serialize_field("interaction_id", &self.run_id)?;
        s.serialize_field("status", self.status.as_str())?;
        s.serialize_field("is_active", &self.status.is_active())?;
        if let Some(warnings) = &self.warnings {
            s.serialize_field("warnings", warnings)?;
        }
        if let Some(error) = &self.error {
            s.serialize_field("error", error)?;
        }
        s.serialize_field("processor", &self.processor)?;
        if let Some(metadata) = &self.metadata {
            s.serialize_field("metadata", metadata)?;
        }
        if let Some(group) = &self.taskgroup_id {
            s.serialize_field("taskgroup_id", group)?;
        }
        s.serialize_field("created_at", &rfc3339(self.created_at))?;
        s.serialize_field("modified_at", &rfc3339(self.modified_at))?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_like_the_spec_example() {
        let run = TaskRun {
            run_id: "trun_9907962f83aa4d9d98fd7f4bf745d654".into(),
            status: RunStatus::Queued,
            processor: "core".into(),
            metadata: Some(RawValue::from_string(r#"{"my_key":"my_value"}"#.into()).unwrap()),
            error: None,
            warnings: None,
            taskgroup_id: None,
            created_at: 1_745_439_708_037_943,
            modified_at: 1_745_439_708_037_943,
        };
        assert_eq!(
            serde_json::to_string(&run).unwrap(),
            r#"{"run_id":"trun_9907962f83aa4d9d98fd7f4bf745d654","interaction_id":"trun_9907962f83aa4d9d98fd7f4bf745d654","status":"queued","is_active":true,"processor":"core","metadata":{"my_key":"my_value"},"created_at":"2025-04-23T20:21:48.037943Z","modified_at":"2025-04-23T20:21:48.037943Z"}"#
        );
    }

    #[test]
    fn status_round_trips() {
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::parse(s.as_str()), Some(s));
        }
        assert!(RunStatus::Cancelling.is_active());
        assert!(RunStatus::Failed.is_terminal());
    }
}
