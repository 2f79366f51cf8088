//! A deterministic processor for tests (feature `scripted`, never in a release build).
//!
//! It does no research. Its behaviour is read from the run's metadata:
//! `scripted_sleep` (milliseconds: the run takes that long, reporting progress along the way) and
//! `scripted_fail` (the run fails with that message). Its output echoes the input: a JSON
//! schema gets `{"echo": input}`, anything else `"echo: <input>"`.

use crate::{MessageKind, Output, Processor, ProgressSink, RunFailure, SourceStats, Task};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::time::Duration;

/// See the module documentation.
#[derive(Debug, Default, Clone, Copy)]
pub struct ScriptedProcessor;

#[async_trait]
impl Processor for ScriptedProcessor {
    async fn run(&self, task: Task, progress: &dyn ProgressSink) -> Result<Output, RunFailure> {
        let metadata = task.request.get("metadata").cloned().unwrap_or(Value::Null);
        let sleep_ms = metadata
            .get("scripted_sleep")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        progress
            .message(MessageKind::Plan, "scripted: planning")
            .await;
        let steps = 4u32;
        for step in 1..=steps {
            // Any number a client sends (negative, huge, NaN) is a sleep, never a panic.
            let pause = Duration::try_from_secs_f64(sleep_ms / 1000.0 / f64::from(steps))
                .unwrap_or(if sleep_ms > 0.0 {
                    Duration::MAX
                } else {
                    Duration::ZERO
                });
            tokio::time::sleep(pause).await;
            let stats = SourceStats {
                num_sources_considered: u64::from(step) * 2,
                num_sources_read: u64::from(step),
                sources_read_sample: vec![format!("https://example.com/scripted/{step}")],
            };
            progress
                .stats(&stats, f64::from(step) * 100.0 / f64::from(steps))
                .await;
        }
        if let Some(message) = metadata.get("scripted_fail").and_then(Value::as_str) {
            return Err(RunFailure::new(message));
        }
        progress
            .message(MessageKind::Result, "scripted: done")
            .await;
        let input = task.request.get("input").cloned().unwrap_or(Value::Null);
        let json_output = task
            .request
            .pointer("/task_spec/output_schema")
            .is_some_and(|schema| {
                matches!(
                    parallax_api::create::schema_form(schema, true),
                    Ok(parallax_api::create::SchemaForm::Json)
                )
            });
        let basis = json!([{
            "field": if json_output { "echo" } else { "output" },
            "reasoning": "scripted test processor: echoes the input",
            "citations": [],
            "confidence": "low",
        }]);
        let output = if json_output {
            json!({"type": "json", "content": {"echo": input}, "basis": basis})
        } else {
            let text = match &input {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            json!({"type": "text", "content": format!("echo: {text}"), "basis": basis})
        };
        Ok(Output {
            output,
            warnings: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Quiet;

    #[async_trait]
    impl ProgressSink for Quiet {
        async fn message(&self, _: MessageKind, _: &str) {}
        async fn stats(&self, _: &SourceStats, _: f64) {}
    }

    fn task(metadata: Value) -> Task {
        Task {
            run_id: "trun_0".into(),
            tenant: "t".into(),
            budget: crate::budget::lookup("lite").unwrap(),
            request: json!({"input": "x", "processor": "lite", "metadata": metadata}),
            previous_interaction_id: None,
            instructions: None,
            previous: None,
            memory_sources: Vec::new(),
            mcp_servers: Vec::new(),
        }
    }

    /// Whatever number a test sends as `scripted_sleep`, the run sleeps (or not); it never
    /// panics on a duration out of range.
    #[tokio::test(start_paused = true)]
    async fn any_sleep_value_is_a_sleep() {
        for sleep in [json!(-5), json!(0), json!(1e300), json!(f64::MAX)] {
            let run = ScriptedProcessor.run(task(json!({ "scripted_sleep": sleep })), &Quiet);
            let outcome = tokio::time::timeout(Duration::from_secs(3600), run).await;
            if sleep.as_f64().unwrap() > 0.0 {
                assert!(outcome.is_err(), "{sleep}: still sleeping after an hour");
            } else {
                assert!(outcome.unwrap().is_ok(), "{sleep}");
            }
        }
    }
}
