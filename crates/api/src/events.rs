//! The events of every stream, as they go on the wire and as they are recorded:
//! `task_run.state` (`TaskRunEvent` of the spec), `task_run.progress_msg.*`,
//! `task_run.progress_stats`, `task_group_status`, the `error` event that ends a failed
//! stream, and the type name each event is framed with.
//!
//! Every event's JSON is written here and nowhere else. The store records a run's events in
//! the form this module gives it ([`task_run_state_record`], [`progress_message_json`],
//! [`progress_stats_json`]) and a group's log as [`GroupEventKind`] plus a document; the
//! server renders what the store returns through this module. A run's stream and a group's
//! streams render `task_run.state` through one function, so they cannot drift: `event_id` is
//! always present (`null` on a run's own stream, which has no cursor in the spec; a decimal
//! string on a group's), and `input`/`output` appear only when given.

use crate::error::ApiError;
use crate::run::{RunStatus, TaskRun};
use crate::time::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The kinds of progress message of the spec (`task_run.progress_msg.*`): exactly the five
/// its `TaskRunProgressMessageEvent` allows, since a client validating events refuses others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Plan,
    Search,
    Result,
    ToolCall,
    ExecStatus,
}

impl MessageKind {
    /// The event type as the spec spells it.
    pub fn event_type(self) -> &'static str {
        match self {
            MessageKind::Plan => "task_run.progress_msg.plan",
            MessageKind::Search => "task_run.progress_msg.search",
            MessageKind::Result => "task_run.progress_msg.result",
            MessageKind::ToolCall => "task_run.progress_msg.tool_call",
            MessageKind::ExecStatus => "task_run.progress_msg.exec_status",
        }
    }
}

/// Source counts for `task_run.progress_stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SourceStats {
    pub num_sources_considered: u64,
    pub num_sources_read: u64,
    pub sources_read_sample: Vec<String>,
}

/// A `task_run.progress_msg.*` event, as recorded and sent; `at` in microseconds.
pub fn progress_message_json(kind: MessageKind, message: &str, at: i64) -> String {
    #[derive(Serialize)]
    struct ProgressMessage<'a> {
        r#type: &'static str,
        message: &'a str,
        timestamp: String,
    }
    serde_json::to_string(&ProgressMessage {
        r#type: kind.event_type(),
        message,
        timestamp: rfc3339(at),
    })
    .expect("a progress message always serialises")
}

/// A `task_run.progress_stats` event, as recorded and sent; `progress_meter` is clamped to
/// 0–100.
pub fn progress_stats_json(stats: &SourceStats, progress_meter: f64) -> String {
    #[derive(Serialize)]
    struct ProgressStats<'a> {
        r#type: &'static str,
        progress_meter: f64,
        source_stats: &'a SourceStats,
    }
    serde_json::to_string(&ProgressStats {
        r#type: "task_run.progress_stats",
        progress_meter: progress_meter.clamp(0.0, 100.0),
        source_stats: stats,
    })
    .expect("progress stats always serialise")
}

/// The `task_run.state` event a run's log records with each status change: a snapshot of
/// the run, without the stream's `event_id` (see [`task_run_state_json`], which sends it).
pub fn task_run_state_record(run: &TaskRun) -> String {
    #[derive(Serialize)]
    struct StateRecord<'a> {
        r#type: &'static str,
        run: &'a TaskRun,
    }
    serde_json::to_string(&StateRecord {
        r#type: "task_run.state",
        run,
    })
    .expect("a TaskRun always serialises")
}

/// What a task group's log records, with the document each kind carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupEventKind {
    /// The group's status (`TaskGroupStatus`), on each add and when the group goes idle.
    Status,
    /// A run of the group ended: the run (`TaskRun`) as it ended.
    RunEnded,
}

impl GroupEventKind {
    /// The kind as the log stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupEventKind::Status => "status",
            GroupEventKind::RunEnded => "run",
        }
    }

    /// The `type` (and SSE event name) of this kind's event on the group's stream.
    pub fn event_type(self) -> &'static str {
        match self {
            GroupEventKind::Status => "task_group_status",
            GroupEventKind::RunEnded => "task_run.state",
        }
    }

    /// The kind the log stored as `text`.
    pub fn parse(text: &str) -> Option<GroupEventKind> {
        match text {
            "status" => Some(GroupEventKind::Status),
            "run" => Some(GroupEventKind::RunEnded),
            _ => None,
        }
    }
}

/// A recorded group event as the group's stream sends it, at cursor `seq`.
pub fn group_event_json(seq: i64, kind: GroupEventKind, document: &str) -> String {
    match kind {
        GroupEventKind::Status => task_group_status_json(seq, document),
        GroupEventKind::RunEnded => task_run_state_json(Some(seq), document, None, None),
    }
}

/// The data of the `error` event that ends a stream whose store read failed (`ErrorEvent` of
/// the spec), under `ref_id`. The cause is the server's to log, never sent.
pub fn stream_failed_json(ref_id: &str) -> String {
    let body = ApiError::new(
        500,
        "Internal error: the event stream failed; reconnect to resume from the last event id",
    )
    .body(ref_id);
    serde_json::to_string(&body).expect("an error body always serialises")
}

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
    fn recorded_events_are_spelled_like_the_spec() {
        assert_eq!(
            progress_message_json(MessageKind::Plan, "Planning", 1_745_439_708_037_943),
            r#"{"type":"task_run.progress_msg.plan","message":"Planning","timestamp":"2025-04-23T20:21:48.037943Z"}"#
        );
        let stats = SourceStats {
            num_sources_considered: 3,
            num_sources_read: 2,
            sources_read_sample: vec!["https://a.example/".into()],
        };
        assert_eq!(
            progress_stats_json(&stats, 140.0),
            r#"{"type":"task_run.progress_stats","progress_meter":100.0,"source_stats":{"num_sources_considered":3,"num_sources_read":2,"sources_read_sample":["https://a.example/"]}}"#
        );
        let body: serde_json::Value = serde_json::from_str(&stream_failed_json("r1")).unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["ref_id"], "r1");
    }

    #[test]
    fn group_events_render_by_kind() {
        for kind in [GroupEventKind::Status, GroupEventKind::RunEnded] {
            assert_eq!(GroupEventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(GroupEventKind::parse("other"), None);
        for (seq, kind) in [(1, GroupEventKind::Status), (2, GroupEventKind::RunEnded)] {
            let json = group_event_json(seq, kind, "{}");
            assert_eq!(event_type(&json).as_deref(), Some(kind.event_type()));
        }
        assert_eq!(
            group_event_json(2, GroupEventKind::RunEnded, r#"{"run_id":"r"}"#),
            r#"{"type":"task_run.state","event_id":"2","run":{"run_id":"r"}}"#
        );
        assert_eq!(
            group_event_json(3, GroupEventKind::Status, "{}"),
            r#"{"type":"task_group_status","event_id":"3","status":{}}"#
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
