//! The research pipeline behind every processor.
//!
//! plan queries ([`plan`]) → search every configured provider concurrently → source policy
//! filter → read the best pages (from the local index when it holds them, else fetched
//! through the shared cache, extracted, and added to the index) → split into passages →
//! rank them against the objective and each output field → synthesise (an LLM when one is
//! configured, else [`extractive`]) → fields no source states get the fallback their
//! description asks for, or null ([`unknown`]) → validate against the output schema → basis.
//!
//! From `core` up, a JSON answer's fields that ask about an entity related to the one asked
//! about (its maker, architect, owner, …) then follow a second hop ([`hop`]): the related
//! entity named on the pages read is searched for, and the fields are read about it, before
//! the fallbacks are settled.
//!
//! Processors differ in that capability and in their budgets ([`crate::budget`]): queries
//! planned, sources read and synthesis rounds. The scheduler enforces the time limit by
//! dropping the run's future; every await here is cancellation-safe (nothing is half-written:
//! the index commits atomically and the cache only holds whole pages).

pub mod extractive;
pub mod fallback;
pub mod ground;
pub mod hop;
pub mod llm_synth;
pub mod plan;
pub mod read;
pub mod request;
pub mod unknown;

use crate::fetch::FetchCache;
use crate::llm::LlmClient;
use crate::mcp;
use crate::search::{Indexer, SearchProvider};
use crate::web::page::ExtractedCache;
use crate::{MessageKind, Output, Processor, ProgressSink, RunFailure, SourceStats, Task};
use async_trait::async_trait;
use chrono::NaiveDate;
use request::{OutputSpec, Request};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// A page read in this run, split into passages.
#[derive(Debug, Clone)]
pub struct Source {
    pub url: String,
    pub title: Option<String>,
    pub published: Option<NaiveDate>,
    pub passages: Vec<SourcePassage>,
}

#[cfg(test)]
impl Source {
    /// A source for tests: a titled page of passages without headings or a date.
    pub(crate) fn of_passages(url: &str, title: &str, passages: &[&str]) -> Source {
        Source {
            url: url.into(),
            title: Some(title.into()),
            published: None,
            passages: passages
                .iter()
                .map(|p| SourcePassage {
                    text: (*p).into(),
                    heading: None,
                })
                .collect(),
        }
    }
}

/// A passage of a source, with the heading it stands under.
#[derive(Debug, Clone)]
pub struct SourcePassage {
    pub text: String,
    pub heading: Option<String>,
}

/// What synthesis produced: the content, its basis entries and warnings for the run.
#[derive(Debug, Clone)]
pub struct Synthesis {
    /// A JSON object (json output) or a markdown string (text output).
    pub content: Value,
    pub basis: Vec<Value>,
    pub warnings: Vec<Value>,
}

/// What the pipeline uses, shared by all runs.
#[derive(Clone)]
pub struct Providers {
    /// Search providers, queried concurrently.
    pub search: Vec<Arc<dyn SearchProvider>>,
    /// The local index (through its background indexer): pages read from it need no fetch,
    /// and fetched pages are added to it.
    pub index: Option<Indexer>,
    /// Fetching with its cache (and SSRF guard).
    pub fetch: FetchCache,
    /// How old a cached page may be and still be used, unless a request says otherwise.
    pub cache_max_age: Duration,
    /// Pages already extracted, by fetched copy.
    pub extracted: ExtractedCache,
    /// The LLM, when one is configured.
    pub llm: Option<Arc<LlmClient>>,
}

/// The processor that researches: see the module documentation.
pub struct ResearchProcessor {
    providers: Providers,
    freshness: read::Freshness,
}

impl ResearchProcessor {
    /// The processor of task runs: pages held in the index or the fetch cache are used.
    pub fn new(providers: Providers) -> Self {
        ResearchProcessor {
            providers,
            freshness: read::Freshness::Cached,
        }
    }

    /// The same pipeline reading every page as `freshness` says (snapshot monitors read
    /// fresh: see [`crate::monitor::fresh_processor`]).
    pub fn with_freshness(providers: Providers, freshness: read::Freshness) -> Self {
        ResearchProcessor {
            providers,
            freshness,
        }
    }
}

#[async_trait]
impl Processor for ResearchProcessor {
    async fn run(&self, task: Task, progress: &dyn ProgressSink) -> Result<Output, RunFailure> {
        let request = Request::from_stored(&task.request)
            .with_context(task.previous.as_ref(), task.instructions.as_deref());
        let budget = task.budget;
        let queries = plan::queries(&request, task.previous.as_ref(), budget.queries as usize);
        progress
            .message(
                MessageKind::Plan,
                &format!(
                    "Planned {} search queries: {}",
                    queries.len(),
                    queries.join(" | ")
                ),
            )
            .await;

        let mut candidates = read::search(
            &self.providers,
            &task.tenant,
            &queries,
            &request.policy,
            (budget.sources as usize * 2).max(10),
            false,
        )
        .await;
        read::add_remembered(&mut candidates, &task.memory_sources, &request.policy);
        progress
            .message(
                MessageKind::Search,
                &format!(
                    "{} candidate pages after the source policy",
                    candidates.considered
                ),
            )
            .await;
        progress
            .stats(
                &SourceStats {
                    num_sources_considered: candidates.considered as u64,
                    num_sources_read: 0,
                    sources_read_sample: Vec::new(),
                },
                25.0,
            )
            .await;

        let read = read::read_sources_with(
            &self.providers,
            &task.tenant,
            candidates.urls,
            &request,
            budget.sources as usize,
            self.freshness,
        )
        .await;
        let stats = SourceStats {
            num_sources_considered: candidates.considered as u64,
            num_sources_read: read.sources.len() as u64,
            sources_read_sample: read.sources.iter().take(5).map(|s| s.url.clone()).collect(),
        };
        progress
            .message(
                // Reading pages is execution status: the spec has no message kind of its own
                // for it.
                MessageKind::ExecStatus,
                &format!(
                    "Read {} pages ({} could not be read)",
                    read.sources.len(),
                    read.failures
                ),
            )
            .await;
        progress.stats(&stats, 60.0).await;

        let mut warnings: Vec<Value> = candidates.warnings;
        // The run's MCP tools, when it has servers: their answers are read first, beside the
        // pages, and every call is recorded for the output.
        let mut sources = read.sources;
        let mut tool_calls = None;
        if !task.mcp_servers.is_empty() {
            let outcome = mcp::use_tools(
                &task.run_id,
                &task.mcp_servers,
                &request,
                self.providers.fetch.fetcher(),
                self.providers.llm.as_deref(),
                mcp::Limits::default().within(budget.time_limit),
            )
            .await;
            progress
                .message(
                    MessageKind::ExecStatus,
                    &format!(
                        "Called {} MCP tools ({} answered)",
                        outcome.calls.len(),
                        outcome.sources.len()
                    ),
                )
                .await;
            warnings.extend(outcome.warnings);
            sources.splice(0..0, outcome.sources);
            tool_calls = Some(outcome.calls);
        }
        let hop_run = hop::HopRun {
            providers: &self.providers,
            tenant: &task.tenant,
            budget,
            progress,
            freshness: self.freshness,
        };
        let (mut output, hop_read) = self
            .synthesise(&request, &sources, &hop_run, &mut warnings)
            .await?;
        if let Some(calls) = tool_calls {
            parallax_api::beta::with_mcp_tool_calls(&mut output, &calls);
        }
        let mut stats = stats;
        if !hop_read.is_empty() {
            stats.num_sources_read += hop_read.len() as u64;
            for url in hop_read {
                if stats.sources_read_sample.len() < 5 {
                    stats.sources_read_sample.push(url);
                }
            }
        }
        progress.stats(&stats, 100.0).await;
        progress.message(MessageKind::Result, "Answer ready").await;
        Ok(Output { output, warnings })
    }
}

/// Warnings for every way `content` breaks `schema`, except fields left null for want of a
/// source ([`unknown::settle`] has already warned about those).
fn schema_violations(schema: &Value, content: &Value) -> Vec<Value> {
    let Ok(validator) = jsonschema::validator_for(schema) else {
        return Vec::new();
    };
    validator
        .iter_errors(content)
        .filter(|e| !content.pointer(&e.instance_path.to_string()).is_some_and(Value::is_null))
        .map(|e| {
            json!({
                "type": "warning",
                "message": format!("The output does not match the schema at {}: {e}", e.instance_path),
                "detail": {"pointer": e.instance_path.to_string()},
            })
        })
        .collect()
}

impl ResearchProcessor {
    /// The run's output, and the pages the second hop read (if it ran).
    async fn synthesise(
        &self,
        request: &Request,
        sources: &[Source],
        hop_run: &hop::HopRun<'_>,
        warnings: &mut Vec<Value>,
    ) -> Result<(Value, Vec<String>), RunFailure> {
        let rounds = hop_run.budget.synthesis_rounds;
        let (mut synthesis, output_schema) = match (&request.output, &self.providers.llm) {
            (OutputSpec::Json(schema), Some(llm)) => {
                match llm_synth::json_output(llm, request, schema, sources, rounds).await {
                    Ok(s) => (s, None),
                    Err(e) => {
                        warnings.push(json!({
                            "type": "warning",
                            "message": format!("The LLM could not produce a valid answer ({e}); the answer was extracted from the sources instead."),
                        }));
                        (
                            extractive::json_output(request, schema, sources, rounds),
                            None,
                        )
                    }
                }
            }
            (OutputSpec::Json(schema), None) => (
                extractive::json_output(request, schema, sources, rounds),
                None,
            ),
            (OutputSpec::Auto, Some(llm)) => {
                match llm_synth::auto_output(llm, request, sources, rounds).await {
                    Ok((s, schema)) => (s, Some(schema)),
                    Err(e) => {
                        warnings.push(json!({
                            "type": "warning",
                            "message": format!("The LLM could not produce an answer with an inferred schema ({e}); answered as text."),
                        }));
                        (
                            extractive::text_output(request, None, sources, rounds),
                            None,
                        )
                    }
                }
            }
            (OutputSpec::Text(description), Some(llm)) => {
                match llm_synth::text_output(
                    llm,
                    request,
                    description.as_deref(),
                    sources,
                    hop_run.progress,
                )
                .await
                {
                    Ok(s) => (s, None),
                    Err(e) => {
                        warnings.push(json!({
                            "type": "warning",
                            "message": format!("The LLM failed ({e}); the answer was extracted from the sources instead."),
                        }));
                        (
                            extractive::text_output(
                                request,
                                description.as_deref(),
                                sources,
                                rounds,
                            ),
                            None,
                        )
                    }
                }
            }
            (OutputSpec::Text(description), None) => (
                extractive::text_output(request, description.as_deref(), sources, rounds),
                None,
            ),
            (OutputSpec::Auto, None) => (
                extractive::text_output(request, None, sources, rounds),
                None,
            ),
        };
        // The second hop, before fallbacks fill the fields it may answer; after either
        // synthesis (with an LLM too, the hop reads with the extractive reader).
        let mut hop_read = Vec::new();
        if let (OutputSpec::Json(schema), Value::Object(_), None) =
            (&request.output, &synthesis.content, &output_schema)
        {
            hop_read = hop::follow(hop_run, request, schema, &mut synthesis, sources).await;
        }
        warnings.extend(std::mem::take(&mut synthesis.warnings));
        if let (OutputSpec::Json(schema), Value::Object(_)) = (&request.output, &synthesis.content)
        {
            // Fields no source states: the fallback their description asks for, or null
            // and a warning; whichever synthesis answered.
            unknown::settle(
                schema,
                &mut synthesis.content,
                &mut synthesis.basis,
                warnings,
            );
            warnings.extend(schema_violations(schema, &synthesis.content));
        }
        let output = match synthesis.content {
            Value::String(text) => {
                json!({"type": "text", "content": text, "basis": synthesis.basis})
            }
            content => {
                let mut output =
                    json!({"type": "json", "content": content, "basis": synthesis.basis});
                if let Some(schema) = output_schema {
                    output["output_schema"] = schema;
                }
                output
            }
        };
        Ok((output, hop_read))
    }
}
