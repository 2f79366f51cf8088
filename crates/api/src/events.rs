//! The events of every stream, as they go on the wire: `task_run.state` (`TaskRunEvent` of
//! the spec), `task_group_status`, and the type name each event is framed with.
//!
//! The store records events in its own form; this module renders them. A run's stream and a
//! group's streams render `task_run.state` through one function, so they cannot drift:
//! `event_id` is always present (`null` on a run's own stream, which has no cursor in the
//! spec; a decimal string on a group's), and `input`/`output` appear only when given.

use crate::run::RunStatus;
use serde::Deserialize;
use serde_json::value::RawValue;

/// A `task_run.state` event. `run` is the run's JSON; `event_id` is the group stream's
/// cursor (`None` renders `null`); `input` and `output` are included when given.
pub fn task_run_state_json(
    event_id: Option<i64>,
    run: &str,
    input: Option<&str>,
    output: Option<&str>,
) -> String {
    let mut json = String::with_capacity(run.len() + output.map_or(0, str::len) + 64);
    json.push_str(r#"{"type":"task_run.state","event_id":"#);
    match event_id {
        Some(id) => {
            json.push('"');
            json.push_str(&id.to_string());
            json.push('"');
        }
        None => json.push_str("null"),
    }
    json.push_str(r#","run":"#);
    json.push_str(run);
    if let Some(input) = input {
        json.push_str(r#","input":"#);
        json.push_str(input);
    }
    if let Some(output) = output {
        json.push_str(r#","output":"#);
        json.push_str(output);
    }
    json.push('}');
    json
}

/// A `task_group_status` event: `status` is the status's JSON as recorded.
pub fn task_group_status_json(event_id: i64, status: &str) -> String {
    format!(r#"{{"type":"task_group_status","event_id":"{event_id}","status":{status}}}"#)
}

/// The `type` of an event's JSON, which is also its SSE `event:` name; `None` if the JSON has
/// no string `type`.
pub fn event_type(json: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Typed {
        r#type: Option<String>,
    }
    serde_json::from_str::<Typed>(json).ok()?.r#type
}

/// An event of a run's log as the store recorded it: a progress event, already in its wire
/// form, or a state change carrying a snapshot of the run.
#[derive(Debug)]
pub enum RecordedRunEvent {
    /// `task_run.state`: the run as it was then, and its status.
    State {
        run: Box<RawValue>,
        status: RunStatus,
    },
    /// Anything else (`task_run.progress_msg.*`, `task_run.progress_stats`), sent as recorded.
    Other { event_type: Option<String> },
}

/// Reads a recorded run event (see [`RecordedRunEvent`]).
pub fn read_recorded_run_event(json: &str) -> Result<RecordedRunEvent, serde_json::Error> {
    #[derive(Deserialize)]
    struct Recorded {
        r#type: Option<String>,
        run: Option<Box<RawValue>>,
    }
    #[derive(Deserialize)]
    struct Status<'a> {
        status: &'a str,
    }
    let recorded: Recorded = serde_json::from_str(json)?;
    match (recorded.r#type.as_deref(), recorded.run) {
        (Some("task_run.state"), Some(run)) => {
            let status: Status = serde_json::from_str(run.get())?;
            let status = RunStatus::parse(status.status).ok_or_else(|| {
                serde_json::Error::io(std::io::Error::other(format!(
                    "unknown run status {:?}",
                    status.status
                )))
            })?;
            Ok(RecordedRunEvent::State { run, status })
        }
        (event_type, _) => Ok(RecordedRunEvent::Other {
            event_type: event_type.map(str::to_owned),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_spelled_like_the_spec() {
        assert_eq!(
            task_group_status_json(3, r#"{"num_task_runs":0}"#),
            r#"{"type":"task_group_status","event_id":"3","status":{"num_task_runs":0}}"#
        );
        assert_eq!(
            task_run_state_json(Some(4), r#"{"run_id":"r"}"#, Some(r#"{"input":"x"}"#), None),
            r#"{"type":"task_run.state","event_id":"4","run":{"run_id":"r"},"input":{"input":"x"}}"#
        );
        // A run's own stream: `event_id` is required by the spec, and null there.
        assert_eq!(
            task_run_state_json(None, r#"{"run_id":"r"}"#, None, Some(r#"{"type":"text"}"#)),
            r#"{"type":"task_run.state","event_id":null,"run":{"run_id":"r"},"output":{"type":"text"}}"#
        );
    }

    #[test]
    fn event_types() {
        assert_eq!(
            event_type(r#"{"message":"m","type":"task_run.progress_msg.plan"}"#).as_deref(),
            Some("task_run.progress_msg.plan")
        );
        assert_eq!(event_type(r#"{"a":1}"#), None);
        assert_eq!(event_type("not json"), None);
    }

    #[test]
    fn recorded_run_events() {
        let state = r#"{"type":"task_run.state","run":{"run_id":"r","status":"completed"}}"#;
        match read_recorded_run_event(state).unwrap() {
            RecordedRunEvent::State { run, status } => {
                assert_eq!(status, RunStatus::Completed);
                assert_eq!(run.get(), r#"{"run_id":"r","status":"completed"}"#);
            }
            other => panic!("{other:?}"),
        }
        let progress = r#"{"message":"m","timestamp":"t","type":"task_run.progress_msg.plan"}"#;
        assert!(matches!(
            read_recorded_run_event(progress).unwrap(),
            RecordedRunEvent::Other { event_type: Some(t) } if t == "task_run.progress_msg.plan"
        ));
        assert!(
            read_recorded_run_event(r#"{"type":"task_run.state","run":{"status":"odd"}}"#).is_err()
        );
    }
}
