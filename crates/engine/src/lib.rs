//! The research engine: what a processor is, the budgets each processor name stands for, and
//! the pipeline that really researches.
//!
//! The scheduler hands a [`Task`] to a [`Processor`] and records what it reports through a
//! [`ProgressSink`]; the processor answers an [`Output`] or a [`RunFailure`]. The shipped
//! processor is [`pipeline::ResearchProcessor`], built from the providers in this crate:
//! [`search`] (the local index, SearXNG, Wikipedia), [`fetch`] (HTTP with cache and SSRF
//! guard), [`extract`] (HTML and PDF to clean text), [`rank`] (BM25 passages), [`typed`]
//! (values of a schema's types read from text) and [`llm`] (any OpenAI-compatible API).
//! Chat completions run the same processor on a task made from a conversation ([`chat`]).
//! Monitors' executions use the same providers through [`monitor`]: what is new since the
//! last execution (event streams), and what changed in a re-run task's output (snapshots).
//! Tests may build the crate with the `scripted` feature to get
//! [`scripted::ScriptedProcessor`], a deterministic stand-in that researches nothing.
//!
//! The readers of untrusted text (page and PDF metadata, whole pages, markdown, passages,
//! typed values) are fuzzed by property tests in a `fuzz` test module beside each parser
//! (`extract::{meta, html, pdf, markdown, passage}`, `typed`, `monitor`), sharing the strategies of
//! `src/fuzz.rs`: `cargo test -p parallax-engine fuzz` runs them briefly, `bench/fuzz/run`
//! runs 100,000 cases of each (see `bench/README.md`, "Fuzzing").

use async_trait::async_trait;
use serde_json::Value;

pub mod budget;
pub mod chat;
mod dates;
pub mod extract;
pub mod facts;
pub mod fetch;
pub mod findall;
#[cfg(test)]
mod fuzz;
pub mod llm;
pub mod mcp;
pub mod monitor;
pub mod pipeline;
pub mod policy;
pub mod rank;
#[cfg(feature = "scripted")]
pub mod scripted;
pub mod search;
pub mod typed;
pub mod web;

pub use budget::{Budget, PROCESSORS};

/// One run as a processor sees it.
#[derive(Debug, Clone)]
pub struct Task {
    pub run_id: String,
    /// The tenant the run belongs to: what it reads is visible to that tenant only.
    pub tenant: String,
    pub budget: Budget,
    /// What the client sent (`processor`, `input`, `task_spec`, …), as JSON.
    pub request: Value,
    pub previous_interaction_id: Option<String>,
    /// The run named by `previous_interaction_id`: what it was asked and, if it completed,
    /// its output, for context.
    pub previous: Option<PreviousInteraction>,
    /// How the client asked the answer to be written, beyond the input (a chat's system
    /// messages). A writer that follows instructions (the LLM) reads them; search and the
    /// extractive reader do not.
    pub instructions: Option<String>,
    /// Pages that the run's memory scope cited for the most related earlier runs (a few, best
    /// first): read as candidates beside the search results, under the run's source policy
    /// and through the same fetcher and SSRF guard.
    pub memory_sources: Vec<String>,
    /// The MCP servers whose tools the run may call (its `mcp_servers`, when it was created
    /// with the `mcp-server-2025-07-17` beta; else none): see [`mcp`].
    pub mcp_servers: Vec<mcp::McpServer>,
}

/// An earlier run given as context (`previous_interaction_id`).
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousInteraction {
    /// Its request, as sent.
    pub request: Value,
    /// Its output object, if it completed.
    pub output: Option<Value>,
}

// The progress events' vocabulary is part of the wire contract, so `parallax_api` owns it.
pub use parallax_api::events::{MessageKind, SourceStats};

/// Where a processor reports progress. Reporting never fails the run: a sink that cannot
/// record an event logs it and goes on.
#[async_trait]
pub trait ProgressSink: Send + Sync {
    async fn message(&self, kind: MessageKind, text: &str);
    /// `progress_meter` is 0 to 100.
    async fn stats(&self, stats: &SourceStats, progress_meter: f64);
    /// Whether this sink takes the answer's text as it is written ([`ProgressSink::content`]):
    /// a writer that can stream (an LLM, for a text answer) then streams. Off by default, so a
    /// run's writer streams only for someone who reads it as it comes (a chat stream).
    fn wants_content(&self) -> bool {
        false
    }
    /// A piece of the answer's text, as the writer produces it, in order. The pieces are the
    /// answer's text only if synthesis does not fall back afterwards (an LLM that breaks mid-
    /// answer): the output's content is the answer.
    fn content(&self, _delta: &str) {}
}

/// A sink for research whose progress nobody records: FindAll's enrichment runs, monitor
/// executions and whole chat answers report through their own channels, not a task run's log.
pub struct Quiet;

#[async_trait]
impl ProgressSink for Quiet {
    async fn message(&self, _: MessageKind, _: &str) {}
    async fn stats(&self, _: &SourceStats, _: f64) {}
}

/// A finished run's output.
#[derive(Debug, Clone)]
pub struct Output {
    /// `TaskRunTextOutput` or `TaskRunJsonOutput`, as a JSON object.
    pub output: Value,
    /// `Warning` objects to show on the run.
    pub warnings: Vec<Value>,
}

/// Why a run failed, in words for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct RunFailure {
    pub message: String,
    pub detail: Option<Value>,
}

impl RunFailure {
    pub fn new(message: impl Into<String>) -> Self {
        RunFailure {
            message: message.into(),
            detail: None,
        }
    }
}

/// Executes runs.
#[async_trait]
pub trait Processor: Send + Sync + 'static {
    /// Runs `task` to the end. The scheduler enforces the budget's time limit by dropping
    /// the future, so implementations must be cancellation-safe at every await.
    async fn run(&self, task: Task, progress: &dyn ProgressSink) -> Result<Output, RunFailure>;
}
