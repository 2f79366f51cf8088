//! Task groups on the wire: the group and its status, the two requests that change a group
//! (create, add runs), and the JSON of the events its two streams send.
//!
//! A group's status is its runs counted by status. The store keeps the counts of runs not
//! yet ended and of runs ended by status on the group's row, changed in the same transaction
//! as the runs, and counts the running ones when it reads a status, in the same statement:
//! the counts always add up to `num_task_runs`.

use crate::create::{
    check_metadata, check_task_spec, parse_body, run_from_object, CheckedSpec, NewRun, Refusal,
    SpecSource,
};
use crate::error::{ApiError, FieldError};
use crate::raw::{self, RawObject};
use crate::run::RunStatus;
use crate::time::rfc3339;
use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// Prefix of task group ids.
pub const GROUP_PREFIX: &str = "tgrp_";

/// Most inputs one add-runs request may carry (the spec's limit).
pub const MAX_INPUTS_PER_REQUEST: usize = 1000;

/// A group's runs counted by status, in [`RunStatus::ALL`] order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts(pub [i64; 7]);

impl StatusCounts {
    fn index(status: RunStatus) -> usize {
        RunStatus::ALL
            .iter()
            .position(|s| *s == status)
            .expect("ALL lists every status")
    }

    pub fn get(&self, status: RunStatus) -> i64 {
        self.0[Self::index(status)]
    }

    pub fn add(&mut self, status: RunStatus, n: i64) {
        self.0[Self::index(status)] += n;
    }

    pub fn total(&self) -> i64 {
        self.0.iter().sum()
    }

    /// Runs still queued, running, cancelling or waiting on an action.
    pub fn active(&self) -> i64 {
        RunStatus::ALL
            .iter()
            .filter(|s| s.is_active())
            .map(|s| self.get(*s))
            .sum()
    }
}

/// `TaskGroupStatus` of the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupStatus {
    pub counts: StatusCounts,
    /// When a run of the group last changed status, or runs were added (microseconds).
    pub modified_at: i64,
}

impl GroupStatus {
    pub fn num_task_runs(&self) -> i64 {
        self.counts.total()
    }

    pub fn is_active(&self) -> bool {
        self.counts.active() > 0
    }

    /// The status as responses and events show it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a GroupStatus always serialises")
    }

    /// A sentence a person reads in a dashboard: how far along the group is.
    pub fn message(&self) -> String {
        let total = self.num_task_runs();
        if total == 0 {
            return "no runs yet".into();
        }
        let ended = total - self.counts.active();
        let parts: Vec<String> = RunStatus::ALL
            .iter()
            .filter(|s| self.counts.get(**s) > 0)
            .map(|s| format!("{} {}", self.counts.get(*s), s.as_str()))
            .collect();
        format!("{ended} of {total} runs ended ({})", parts.join(", "))
    }
}

impl Serialize for GroupStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Counts<'a>(&'a StatusCounts);
        impl Serialize for Counts<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                // Every status, zeros included: a client may index any key.
                let mut map = serializer.serialize_map(Some(RunStatus::ALL.len()))?;
                for status in RunStatus::ALL {
                    map.serialize_entry(status.as_str(), &self.0.get(status))?;
                }
                map.end()
            }
        }
        let mut s = serializer.serialize_struct("TaskGroupStatus", 5)?;
        s.serialize_field("num_task_runs", &self.num_task_runs())?;
        s.serialize_field("task_run_status_counts", &Counts(&self.counts))?;
        s.serialize_field("is_active", &self.is_active())?;
        s.serialize_field("status_message", &self.message())?;
        s.serialize_field("modified_at", &rfc3339(self.modified_at))?;
        s.end()
    }
}

/// `TaskGroupResponse` of the spec.
#[derive(Debug, Clone)]
pub struct TaskGroup {
    pub taskgroup_id: String,
    /// The metadata object exactly as the client sent it, or `None`.
    pub metadata: Option<Box<RawValue>>,
    pub created_at: i64,
    pub status: GroupStatus,
}

impl Serialize for TaskGroup {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("TaskGroupResponse", 4)?;
        s.serialize_field("taskgroup_id", &self.taskgroup_id)?;
        if let Some(metadata) = &self.metadata {
            s.serialize_field("metadata", metadata)?;
        }
        s.serialize_field("status", &self.status)?;
        s.serialize_field("created_at", &rfc3339(self.created_at))?;
        s.end()
    }
}

/// Parses `POST /v1/tasks/groups`: returns the metadata object as sent (minified), if any.
pub fn parse_create_group(body: &[u8]) -> Result<Option<String>, ApiError> {
    let object = parse_body(body)?;
    let Some(raw) = object.get("metadata") else {
        return Ok(None);
    };
    let mut errors = Vec::new();
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(value) => check_metadata(&value, &mut errors),
        Err(e) => errors.push(FieldError::new("/metadata", e.to_string())),
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(match raw.get().trim() {
        "null" => None,
        text => Some(raw::minify(text)),
    })
}

/// Parses `POST /v1/tasks/groups/{id}/runs`: each input validated as a run of its own, with
/// `default_task_spec` given to inputs that carry no `task_spec`. The stored input of such a
/// run includes the default spec it ran with, so `GET …/input` shows what was asked.
///
/// Errors name the input (`/inputs/3/processor`); every input's errors are collected. An
/// unknown processor is a 403 only when nothing else is wrong, as for single runs.
pub fn parse_add_runs(
    body: &[u8],
    is_known_processor: impl Fn(&str) -> bool,
) -> Result<Vec<NewRun>, ApiError> {
    let object = parse_body(body)?;
    let mut errors = Vec::new();
    // The default spec is checked once, its errors reported at its own pointer; each input
    // that uses it gets a copy in its stored input.
    let default_spec: Option<(String, Option<CheckedSpec>)> = match object.get("default_task_spec")
    {
        None => None,
        Some(raw) if raw.get().trim() == "null" => None,
        Some(raw) => match serde_json::from_str::<Value>(raw.get()) {
            Ok(value) => {
                let checked = check_task_spec(&value, "/default_task_spec", &mut errors);
                Some((raw::minify(raw.get()), checked))
            }
            Err(e) => {
                errors.push(FieldError::new("/default_task_spec", e.to_string()));
                None
            }
        },
    };
    let inputs: Vec<Box<RawValue>> = match object.get("inputs") {
        None => {
            errors.push(FieldError::new("/inputs", "is required"));
            Vec::new()
        }
        Some(raw) => match serde_json::from_str::<Vec<Box<RawValue>>>(raw.get()) {
            Ok(list) if list.len() > MAX_INPUTS_PER_REQUEST => {
                return Err(ApiError::validation(vec![FieldError::new(
                    "/inputs",
                    format!(
                        "at most {MAX_INPUTS_PER_REQUEST} runs per request, got {}; split them across several requests",
                        list.len()
                    ),
                )]));
            }
            Ok(list) => list,
            Err(_) => {
                errors.push(FieldError::new("/inputs", "must be an array of run inputs"));
                Vec::new()
            }
        },
    };
    let mut runs = Vec::with_capacity(inputs.len());
    let mut unknown_processor: Option<(String, String)> = None;
    for (i, input) in inputs.iter().enumerate() {
        let at = format!("/inputs/{i}");
        let mut run_object = match serde_json::from_str::<RawObject>(input.get()) {
            Ok(object) => object,
            Err(_) => {
                errors.push(FieldError::new(at, "must be a run input object"));
                continue;
            }
        };
        let mut spec_source = SpecSource::Own;
        if let Some((spec, checked)) = &default_spec {
            let has_own = run_object
                .get("task_spec")
                .is_some_and(|raw| raw.get().trim() != "null");
            if !has_own {
                let spec = RawValue::from_string(spec.clone()).expect("minified JSON stays valid");
                match run_object.0.iter_mut().find(|(k, _)| k == "task_spec") {
                    Some(slot) => slot.1 = spec,
                    None => run_object.0.push(("task_spec".into(), spec)),
                }
                spec_source = SpecSource::Default(checked.as_ref());
            }
        }
        match run_from_object(&run_object, spec_source, &is_known_processor) {
            Ok(run) => runs.push(run),
            Err(Refusal::Invalid(list)) => errors.extend(
                list.into_iter()
                    .map(|e| FieldError::new(format!("{at}{}", e.pointer), e.reason)),
            ),
            Err(Refusal::UnknownProcessor(name)) => {
                unknown_processor.get_or_insert((at, name));
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if let Some((at, name)) = unknown_processor {
        return Err(Refusal::UnknownProcessor(name).into_error(&at));
    }
    Ok(runs)
}

/// Reads a stream cursor (`last_event_id`): absent or empty is the start (0).
pub fn parse_cursor(text: Option<&str>) -> Result<i64, ApiError> {
    match text.map(str::trim) {
        None | Some("") => Ok(0),
        Some(text) => text.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::validation(vec![FieldError::new(
                "/query/last_event_id",
                "must be an event_id this stream sent (a decimal number)",
            )])
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(name: &str) -> bool {
        matches!(name, "lite" | "base")
    }

    fn status(counts: [i64; 7]) -> GroupStatus {
        GroupStatus {
            counts: StatusCounts(counts),
            modified_at: 1_745_439_708_037_943,
        }
    }

    #[test]
    fn status_lists_every_count_and_adds_up() {
        let s = status([2, 0, 1, 3, 1, 0, 0]);
        let json: Value = serde_json::to_value(&s).unwrap();
        assert_eq!(json["num_task_runs"], 7);
        assert_eq!(json["is_active"], true);
        let counts = json["task_run_status_counts"].as_object().unwrap();
        assert_eq!(counts.len(), 7);
        assert_eq!(counts.values().map(|v| v.as_i64().unwrap()).sum::<i64>(), 7);
        assert_eq!(
            json["status_message"],
            "4 of 7 runs ended (2 queued, 1 running, 3 completed, 1 failed)"
        );
        assert_eq!(json["modified_at"], "2025-04-23T20:21:48.037943Z");
        let idle = status([0, 0, 0, 3, 0, 0, 1]);
        assert!(!idle.is_active());
        assert_eq!(status([0; 7]).message(), "no runs yet");
    }

    #[test]
    fn create_group_keeps_metadata_as_sent() {
        assert_eq!(parse_create_group(b"{}").unwrap(), None);
        assert_eq!(parse_create_group(br#"{"metadata":null}"#).unwrap(), None);
        assert_eq!(
            parse_create_group(br#"{"metadata": {"a": 1.0, "b": "x"}}"#).unwrap(),
            Some(r#"{"a":1.0,"b":"x"}"#.into())
        );
        let e = parse_create_group(br#"{"metadata":{"a":[1]}}"#).unwrap_err();
        assert_eq!(e.status, 422);
        assert_eq!(e.detail.unwrap()["pointer"], "/metadata/a");
        assert_eq!(parse_create_group(b"[]").unwrap_err().status, 422);
    }

    #[test]
    fn inputs_get_the_default_spec_unless_they_have_their_own() {
        let body = br#"{"default_task_spec":{"output_schema":"the CEO"},
            "inputs":[{"input":"a","processor":"lite"},
                      {"input":"b","processor":"base","task_spec":{"output_schema":"own"}},
                      {"input":"c","processor":"lite","task_spec":null}]}"#;
        let runs = parse_add_runs(body, known).unwrap();
        assert_eq!(runs.len(), 3);
        assert_eq!(
            runs[0].input_doc,
            r#"{"input":"a","processor":"lite","task_spec":{"output_schema":"the CEO"}}"#
        );
        assert_eq!(
            runs[1].input_doc,
            r#"{"input":"b","processor":"base","task_spec":{"output_schema":"own"}}"#
        );
        assert_eq!(
            runs[2].input_doc,
            r#"{"input":"c","processor":"lite","task_spec":{"output_schema":"the CEO"}}"#
        );
    }

    #[test]
    fn errors_name_the_input() {
        let body =
            br#"{"inputs":[{"input":"a","processor":"lite"},{"input":5,"processor":"lite"},7]}"#;
        let e = parse_add_runs(body, known).unwrap_err();
        assert_eq!(e.status, 422);
        let detail = e.detail.unwrap();
        assert_eq!(detail["pointer"], "/inputs/1/input");
        assert_eq!(detail["errors"][1]["pointer"], "/inputs/2");

        let body =
            br#"{"inputs":[{"input":"a","processor":"lite"},{"input":"b","processor":"nope"}]}"#;
        let e = parse_add_runs(body, known).unwrap_err();
        assert_eq!(e.status, 403);
        assert_eq!(e.detail.unwrap()["pointer"], "/inputs/1/processor");

        for (body, pointer) in [
            (&br#"{}"#[..], "/inputs"),
            (br#"{"inputs":{}}"#, "/inputs"),
            (br#"{"inputs":[],"default_task_spec":3}"#, "/default_task_spec"),
            (
                br#"{"inputs":[{"input":"a","processor":"lite"}],"default_task_spec":{"input_schema":"x"}}"#,
                "/default_task_spec/output_schema",
            ),
        ] {
            let e = parse_add_runs(body, known).unwrap_err();
            assert_eq!(e.detail.unwrap()["pointer"], pointer, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn output_schema_rules_apply_to_inputs_and_to_the_default_spec() {
        let bad = r#"{"output_schema":{"type":"json","json_schema":{"type":"object","properties":{"price":{"type":"number","maximum":9}},"required":["price"],"additionalProperties":false}}}"#;
        let good = r#"{"output_schema":{"type":"json","json_schema":{"type":"object","properties":{"price":{"type":"number"}}}}}"#;
        let pointers = |body: String| -> Vec<String> {
            let e = parse_add_runs(body.as_bytes(), known).unwrap_err();
            assert_eq!(e.status, 422);
            e.detail.unwrap()["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["pointer"].as_str().unwrap().to_owned())
                .collect()
        };
        let input = r#"{"input":"a","processor":"lite"}"#;
        let own = |spec: &str| format!(r#"{{"input":"b","processor":"lite","task_spec":{spec}}}"#);
        assert_eq!(
            pointers(format!(
                r#"{{"inputs":[{input},{input},{input},{}]}}"#,
                own(bad)
            )),
            ["/inputs/3/task_spec/output_schema/json_schema/properties/price/maximum"]
        );
        // A refused default spec is reported once, at its own pointer, whatever the number
        // of inputs using it.
        assert_eq!(
            pointers(format!(
                r#"{{"default_task_spec":{bad},"inputs":[{input},{input},{}]}}"#,
                own(good)
            )),
            ["/default_task_spec/output_schema/json_schema/properties/price/maximum"]
        );
        // Runs carry their spec's warnings, pointing into their own request.
        let runs = parse_add_runs(
            format!(
                r#"{{"default_task_spec":{good},"inputs":[{input},{}]}}"#,
                own(good)
            )
            .as_bytes(),
            known,
        )
        .unwrap();
        for run in &runs {
            let pointers: Vec<&str> = run
                .warnings
                .iter()
                .map(|w| w["detail"]["pointer"].as_str().unwrap())
                .collect();
            assert_eq!(
                pointers,
                [
                    "/task_spec/output_schema/json_schema",
                    "/task_spec/output_schema/json_schema/properties/price"
                ]
            );
        }
    }

    #[test]
    fn sizes_count_the_default_spec_with_each_input() {
        let spec = format!(
            r#"{{"output_schema":{{"type":"text","description":"{}"}}}}"#,
            "d".repeat(14_900)
        );
        let input = |n: usize| format!(r#"{{"input":"{}","processor":"lite"}}"#, "x".repeat(n));
        let body = format!(
            r#"{{"default_task_spec":{spec},"inputs":[{},{}]}}"#,
            input(10),
            input(20_000)
        );
        let e = parse_add_runs(body.as_bytes(), known).unwrap_err();
        assert_eq!(e.detail.unwrap()["pointer"], "/inputs/1/input");
        let long = format!(
            r#"{{"output_schema":{{"type":"text","description":"{}"}}}}"#,
            "d".repeat(15_000)
        );
        let body = format!(r#"{{"default_task_spec":{long},"inputs":[{}]}}"#, input(1));
        let e = parse_add_runs(body.as_bytes(), known).unwrap_err();
        assert_eq!(e.detail.unwrap()["pointer"], "/default_task_spec");
    }

    #[test]
    fn at_most_a_thousand_inputs() {
        let input = r#"{"input":"x","processor":"lite"}"#;
        let body = |n: usize| format!(r#"{{"inputs":[{}]}}"#, vec![input; n].join(","));
        assert_eq!(
            parse_add_runs(body(1000).as_bytes(), known).unwrap().len(),
            1000
        );
        let e = parse_add_runs(body(1001).as_bytes(), known).unwrap_err();
        assert_eq!(e.status, 422);
        assert_eq!(e.detail.unwrap()["pointer"], "/inputs");
    }

    #[test]
    fn cursors() {
        assert_eq!(parse_cursor(None).unwrap(), 0);
        assert_eq!(parse_cursor(Some("")).unwrap(), 0);
        assert_eq!(parse_cursor(Some("12")).unwrap(), 12);
        for bad in ["-1", "x", "1.5"] {
            assert_eq!(parse_cursor(Some(bad)).unwrap_err().status, 422);
        }
    }
}
