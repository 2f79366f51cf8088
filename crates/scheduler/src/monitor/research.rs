//! The shipped [`MonitorExecutor`]: monitors researched by the engine.
//!
//! - `event_stream`: the engine's [`Watcher`] reads what the query finds now and returns
//!   the findings no earlier execution saw (by normalised URL, content hash and meaning,
//!   against the keys this monitor's executions stored); each finding becomes one event of
//!   the execution's group. A first execution without backfill only records what exists.
//! - `snapshot`: the task run the monitor was made from is run again (its input and task
//!   spec, on the monitor's processor, reading pages fresh), and an event carries the fields
//!   that changed against the last output, with that output in full.

use super::MonitorExecutor;
use async_trait::async_trait;
use parallax_api::monitor::MonitorKind;
use parallax_engine::monitor::{snapshot_change, Seen, SeenKey, Watch, Watcher};
use parallax_engine::Quiet;
use parallax_engine::{budget, Processor, Task};
use parallax_store::clock::Clock;
use parallax_store::monitor::{ClaimedMonitor, Execution, SeenEntry};
use serde_json::{json, Value};
use std::sync::Arc;

/// Executions through the research engine.
pub struct ResearchExecutor {
    watcher: Watcher,
    /// Re-executes snapshot monitors' task runs (reading pages fresh).
    snapshots: Arc<dyn Processor>,
    clock: Arc<dyn Clock>,
}

impl ResearchExecutor {
    pub fn new(
        watcher: Watcher,
        snapshots: Arc<dyn Processor>,
        clock: Arc<dyn Clock>,
    ) -> ResearchExecutor {
        ResearchExecutor {
            watcher,
            snapshots,
            clock,
        }
    }

    async fn event_stream(&self, monitor: &ClaimedMonitor) -> Execution {
        let config = &monitor.config;
        let Some(budget) = budget::lookup(&config.processor) else {
            return failed(format!("processor {:?} no longer exists", config.processor));
        };
        let watch = Watch {
            tenant: monitor.tenant.clone(),
            monitor_id: monitor.monitor_id.clone(),
            query: config.query().to_owned(),
            output_schema: config.output_schema().cloned(),
            source_policy: config.advanced("source_policy").cloned(),
            location: config
                .advanced("location")
                .and_then(Value::as_str)
                .map(str::to_owned),
            budget,
        };
        // A key this build cannot read (written by another version) is dropped, not fatal:
        // at worst a finding is reported again.
        let seen = Seen {
            keys: monitor
                .seen
                .iter()
                .filter_map(|data| serde_json::from_str::<SeenKey>(data).ok())
                .collect(),
        };
        let report = !monitor.first || config.include_backfill();
        match self.watcher.detect(&watch, &seen, report).await {
            Ok(detection) => Execution::Ran {
                events: detection
                    .findings
                    .into_iter()
                    .map(|f| {
                        json!({
                            "event_date": f.event_date,
                            "output": f.output,
                            "source_urls": f.source_urls,
                            "summary": f.summary,
                        })
                    })
                    .collect(),
                observed: detection
                    .observed
                    .into_iter()
                    .map(|key| SeenEntry {
                        key: key.content_hash.clone(),
                        data: serde_json::to_string(&key).expect("a key always serialises"),
                    })
                    .collect(),
                snapshot: None,
            },
            Err(failure) => failed(failure.message),
        }
    }

    async fn snapshot(&self, monitor: &ClaimedMonitor) -> Execution {
        let config = &monitor.config;
        let Some(baseline) = &monitor.snapshot else {
            return failed("the monitor lost its baseline task run; create it again".into());
        };
        let Some(budget) = budget::lookup(&config.processor) else {
            return failed(format!("processor {:?} no longer exists", config.processor));
        };
        let mut request = baseline.request.clone();
        request["processor"] = Value::String(config.processor.clone());
        let task = Task {
            run_id: format!("{}-execution", monitor.monitor_id),
            tenant: monitor.tenant.clone(),
            budget,
            request,
            previous_interaction_id: None,
            instructions: None,
            previous: None,
            memory_sources: Vec::new(),
            mcp_servers: Vec::new(),
        };
        let output = match self.snapshots.run(task, &Quiet).await {
            Ok(output) => output.output,
            Err(failure) => return failed(failure.message),
        };
        let events = match snapshot_change(&baseline.output, &output) {
            None => Vec::new(),
            Some(changed) => {
                let today = parallax_api::time::rfc3339(self.clock.now())[..10].to_owned();
                vec![json!({
                    "event_date": today,
                    "source_urls": cited_urls(&changed),
                    "summary": changed_summary(&changed),
                    "changed_output": changed,
                    "previous_output": baseline.output,
                })]
            }
        };
        Execution::Ran {
            events,
            observed: Vec::new(),
            snapshot: Some(output),
        }
    }
}

#[async_trait]
impl MonitorExecutor for ResearchExecutor {
    async fn execute(&self, monitor: &ClaimedMonitor) -> Execution {
        match monitor.config.kind {
            MonitorKind::EventStream => self.event_stream(monitor).await,
            MonitorKind::Snapshot => self.snapshot(monitor).await,
        }
    }
}

fn failed(message: String) -> Execution {
    Execution::Failed { message }
}

/// Every URL the output's basis cites, once, in order.
fn cited_urls(output: &Value) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    for entry in output["basis"].as_array().into_iter().flatten() {
        for citation in entry["citations"].as_array().into_iter().flatten() {
            if let Some(url) = citation["url"].as_str() {
                if !urls.iter().any(|u| u == url) {
                    urls.push(url.to_owned());
                }
            }
        }
    }
    urls
}

/// One line naming what changed, for the spec's `output` string.
fn changed_summary(changed: &Value) -> String {
    match &changed["content"] {
        Value::Object(fields) => format!(
            "Changed: {}",
            fields.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        Value::String(text) => text.chars().take(300).collect(),
        _ => "The output changed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_and_citations_come_from_the_changed_output() {
        let changed = json!({
            "type": "json",
            "content": {"price": "$12", "plan": "Pro"},
            "basis": [
                {"field": "price", "citations": [{"url": "https://a.example/p"}, {"url": "https://b.example/q"}]},
                {"field": "plan", "citations": [{"url": "https://a.example/p"}]},
            ],
        });
        assert_eq!(
            cited_urls(&changed),
            vec!["https://a.example/p", "https://b.example/q"]
        );
        assert_eq!(changed_summary(&changed), "Changed: price, plan");
    }
}
