//! MCP tools on task runs (`mcp_servers`, beta `mcp-server-2025-07-17`).
//!
//! This module owns everything between a run and the MCP servers its request names: the
//! client (the `rmcp` crate, streamable HTTP, sending each server's `headers`), listing each
//! server's tools (only those in `allowed_tools` when given), choosing which to call, calling
//! them, and turning what they answer into sources the run reads and [`McpToolCall`]
//! records for its output.
//!
//! Choosing calls: with an LLM, the model picks them from the tools' names, descriptions and
//! input schemas and the task ([`choose_with_llm`]); without one, a tool is called when its
//! name and description match what the task asks (BM25 over the tools, above
//! [`MIN_TOOL_SCORE`]: [`choose_by_match`]) and its arguments can be filled from the input
//! ([`fill_arguments`]).
//!
//! Tool servers are untrusted. Each URL passes the fetcher's SSRF guard (the URL itself,
//! then every address its host resolves to; no redirects), connecting and listing have
//! [`Limits::connect`], each call [`Limits::call`], responses are capped, a tool's text is
//! cut to [`Limits::max_result_bytes`] with a note, a run makes at most
//! [`Limits::per_server`] calls per server and [`Limits::total`] in all, and all of it fits in
//! a third of the run's time limit ([`Limits::within`]). A server that cannot
//! be reached, times out, breaks the protocol or reports a tool error is a warning on the
//! run (and an `error` in the call's record when a call was made), never a failed run.

use crate::fetch::Fetcher;
use crate::llm::{LlmClient, Message};
use crate::pipeline::request::{objective_text, OutputSpec, Request};
use crate::pipeline::{Source, SourcePassage};
use crate::rank;
use parallax_api::beta::McpToolCall;
use rmcp::model::{CallToolRequestParams, Tool};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::Duration;

/// One server of a run's `mcp_servers`, as validated at creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpServer {
    /// The name the request gave it (`server_name` in the call records).
    pub name: String,
    /// Its streamable-HTTP endpoint.
    pub url: String,
    /// Sent with every request to the server.
    pub headers: Vec<(String, String)>,
    /// Only these tools may be called, when given.
    pub allowed_tools: Option<Vec<String>>,
}

impl McpServer {
    /// The servers of a stored request's `mcp_servers` (entries without a name or URL,
    /// which validation refuses, are skipped).
    pub fn from_request(request: &Value) -> Vec<McpServer> {
        let Some(servers) = request.get("mcp_servers").and_then(Value::as_array) else {
            return Vec::new();
        };
        servers
            .iter()
            .filter_map(|s| {
                Some(McpServer {
                    name: s.get("name")?.as_str()?.to_owned(),
                    url: s.get("url")?.as_str()?.to_owned(),
                    headers: s
                        .get("headers")
                        .and_then(Value::as_object)
                        .map(|h| {
                            h.iter()
                                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                                .collect()
                        })
                        .unwrap_or_default(),
                    allowed_tools: s.get("allowed_tools").and_then(Value::as_array).map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    }),
                })
            })
            .collect()
    }
}

/// What an untrusted tool server is allowed to cost a run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connecting, the protocol handshake and listing the tools, per server.
    pub connect: Duration,
    /// One tool call.
    pub call: Duration,
    /// A tool's text kept for the run (longer text is cut, with a note).
    pub max_result_bytes: usize,
    /// Largest response body or SSE event read from a server.
    pub max_response_bytes: usize,
    /// Calls per server.
    pub per_server: usize,
    /// Calls per run.
    pub total: usize,
    /// All the time the run's tools may take, connecting included: a slow server must not
    /// make the run overrun its own time limit ([`Limits::within`]).
    pub time_budget: Duration,
}

impl Limits {
    /// These limits in a run of `time_limit`: its tools get a third of it at most.
    pub fn within(self, time_limit: Duration) -> Limits {
        Limits {
            time_budget: self.time_budget.min(time_limit / 3),
            ..self
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect: Duration::from_secs(10),
            call: Duration::from_secs(30),
            max_result_bytes: 64 * 1024,
            max_response_bytes: 1024 * 1024,
            per_server: 3,
            total: 8,
            time_budget: Duration::from_secs(120),
        }
    }
}

/// A tool as offered to the run: its server (an index into the run's servers), name,
/// description and input schema.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferedTool {
    /// Index of its server in the run's servers.
    pub server: usize,
    /// The tool's name as the server lists it.
    pub name: String,
    /// Its description (or title), empty when it has none.
    pub description: String,
    /// The JSON Schema of its arguments.
    pub input_schema: Value,
}

/// A call the run decided to make.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCall {
    /// Index of the server in the run's servers.
    pub server: usize,
    /// The tool to call.
    pub tool: String,
    /// The arguments to send.
    pub arguments: Map<String, Value>,
}

/// What the run's MCP servers gave it.
#[derive(Debug, Default)]
pub struct McpOutcome {
    /// Every call made, in order, for `mcp_tool_calls`.
    pub calls: Vec<McpToolCall>,
    /// One source per successful call (`mcp://<server>/<tool>`), for synthesis to read and
    /// cite.
    pub sources: Vec<Source>,
    /// `Warning` objects for the run: servers that failed, calls that failed.
    pub warnings: Vec<Value>,
}

/// Lowest BM25 score of a tool's name and description against what the task asks for the
/// tool to be called without an LLM. Scores are relative to the tools offered (a word every
/// tool shares counts for little), so one shared content word with one tool passes, a word
/// common to all of three tools does not.
pub const MIN_TOOL_SCORE: f32 = 0.25;

/// Uses the run's MCP servers: connects to each, lists its tools, chooses calls (with `llm`
/// when given), makes them, and returns the records, sources and warnings. `run_id` seeds
/// the calls' ids.
pub async fn use_tools(
    run_id: &str,
    servers: &[McpServer],
    request: &Request,
    fetcher: &Fetcher,
    llm: Option<&LlmClient>,
    limits: Limits,
) -> McpOutcome {
    let mut outcome = McpOutcome::default();
    if servers.is_empty() {
        return outcome;
    }
    let deadline = tokio::time::Instant::now() + limits.time_budget;
    let connect_within = limits.connect.min(limits.time_budget);
    let connected = futures::future::join_all(servers.iter().map(|server| async move {
        match tokio::time::timeout(connect_within, connect(server, fetcher, limits)).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no answer within {} s",
                connect_within.as_secs_f64()
            )),
        }
    }))
    .await;
    let mut sessions: Vec<Option<RunningService<RoleClient, ()>>> = Vec::new();
    let mut offered = Vec::new();
    for (i, (server, result)) in servers.iter().zip(connected).enumerate() {
        match result {
            Ok((session, tools)) => {
                for tool in tools {
                    let allowed = server
                        .allowed_tools
                        .as_ref()
                        .is_none_or(|names| names.iter().any(|n| *n == *tool.name));
                    if allowed {
                        offered.push(OfferedTool {
                            server: i,
                            name: tool.name.to_string(),
                            description: tool
                                .description
                                .as_deref()
                                .or(tool.title.as_deref())
                                .unwrap_or("")
                                .to_owned(),
                            input_schema: Value::Object((*tool.input_schema).clone()),
                        });
                    }
                }
                sessions.push(Some(session));
            }
            Err(reason) => {
                tracing::info!(server = %server.name, %reason, "MCP server unusable");
                outcome.warnings.push(warning(format!(
                    "MCP server {:?} could not be used: {reason}",
                    server.name
                )));
                sessions.push(None);
            }
        }
    }

    let planned = match llm {
        Some(llm) if !offered.is_empty() => {
            match choose_with_llm(llm, request, servers, &offered, limits).await {
                Ok((planned, notes)) => {
                    outcome.warnings.extend(notes.into_iter().map(warning));
                    planned
                }
                Err(e) => {
                    outcome.warnings.push(warning(format!(
                        "The LLM could not choose MCP tool calls ({e}); tools were chosen by matching their descriptions to the task instead."
                    )));
                    choose_by_match(request, &offered, limits)
                }
            }
        }
        _ => choose_by_match(request, &offered, limits),
    };

    for (n, call) in planned.into_iter().enumerate() {
        let server = &servers[call.server];
        let Some(session) = sessions[call.server].as_ref() else {
            continue;
        };
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            outcome.warnings.push(warning(format!(
                "MCP tool {:?} on server {:?} was not called: the run's {} s for tools were used up",
                call.tool,
                server.name,
                limits.time_budget.as_secs_f64()
            )));
            continue;
        }
        let within = limits.call.min(left);
        let arguments = Value::Object(call.arguments.clone()).to_string();
        let params = CallToolRequestParams::new(call.tool.clone()).with_arguments(call.arguments);
        let answer = tokio::time::timeout(within, session.call_tool(params)).await;
        let (content, error) = match answer {
            Err(_) => (
                None,
                Some(format!(
                    "the tool did not answer within {} s",
                    within.as_secs_f64()
                )),
            ),
            Ok(Err(e)) => (None, Some(e.to_string())),
            Ok(Ok(result)) => {
                let text = result_text(&result.content, result.structured_content.as_ref());
                if result.is_error == Some(true) {
                    let reason = if text.trim().is_empty() {
                        "the tool reported an error".to_owned()
                    } else {
                        cut(&text, 2000)
                    };
                    (None, Some(reason))
                } else {
                    (Some(cut(&text, limits.max_result_bytes)), None)
                }
            }
        };
        if let Some(reason) = &error {
            outcome.warnings.push(warning(format!(
                "MCP tool {:?} on server {:?} failed: {reason}",
                call.tool, server.name
            )));
        }
        if let Some(text) = content.as_deref().filter(|t| !t.trim().is_empty()) {
            outcome
                .sources
                .push(tool_source(&server.name, &call.tool, text));
        }
        outcome.calls.push(McpToolCall {
            tool_call_id: call_id(run_id, n),
            server_name: server.name.clone(),
            tool_name: call.tool,
            arguments,
            content,
            error,
        });
    }
    // Ends each session (a DELETE to the server) and its transport's task, all at once and
    // briefly: a server that does not answer is simply dropped.
    futures::future::join_all(
        sessions
            .into_iter()
            .flatten()
            .map(|session| tokio::time::timeout(Duration::from_secs(2), session.cancel())),
    )
    .await;
    outcome
}

/// Connects to one server and lists its tools.
async fn connect(
    server: &McpServer,
    fetcher: &Fetcher,
    limits: Limits,
) -> Result<(RunningService<RoleClient, ()>, Vec<Tool>), String> {
    let url = fetcher.check_url(&server.url).map_err(|e| e.to_string())?;
    let client = fetcher.guarded_client_013(limits.call)?;
    let mut headers = HashMap::new();
    for (name, value) in &server.headers {
        let name = reqwest013::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("{name:?} is not a valid header name"))?;
        let value = reqwest013::header::HeaderValue::from_str(value)
            .map_err(|_| format!("the value of header {name:?} is not valid"))?;
        headers.insert(name, value);
    }
    let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
        .custom_headers(headers)
        .max_json_response_size(limits.max_response_bytes)
        .max_sse_event_size(limits.max_response_bytes);
    let transport = StreamableHttpClientTransport::with_client(client, config);
    let session = ().serve(transport).await.map_err(|e| error_chain(&e))?;
    let tools = session
        .list_all_tools()
        .await
        .map_err(|e| error_chain(&e))?;
    Ok((session, tools))
}

/// An error with its causes, which carry the useful part (a refused connection, the SSRF
/// guard's refusal).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// The text of a tool's answer: its text blocks, else its structured content as JSON.
fn result_text(blocks: &[rmcp::model::ContentBlock], structured: Option<&Value>) -> String {
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|b| b.as_text().map(|t| t.text.as_str()))
        .collect();
    if texts.is_empty() {
        structured.map(Value::to_string).unwrap_or_default()
    } else {
        texts.join("\n\n")
    }
}

/// `text` cut to at most `max` bytes (at a character boundary), with a note when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[truncated: the tool's output was {} bytes; the first {end} are kept]",
        &text[..end],
        text.len()
    )
}

fn warning(message: String) -> Value {
    json!({"type": "warning", "message": message})
}

/// A stable id for the `n`-th call of a run.
fn call_id(run_id: &str, n: usize) -> String {
    let digest = Sha256::digest(format!("{run_id}/mcp/{n}").as_bytes());
    format!("call_{}", &hex::encode(digest)[..24])
}

/// A tool's answer as a source: `mcp://<server>/<tool>`, its paragraphs as passages.
fn tool_source(server: &str, tool: &str, text: &str) -> Source {
    let passages = text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| SourcePassage {
            text: p.to_owned(),
            heading: None,
        })
        .collect();
    Source {
        url: format!("mcp://{server}/{tool}"),
        title: Some(format!("{tool} (MCP server {server})")),
        published: None,
        passages,
    }
}

/// What the task asks, as words to match tools against: the output's fields and their
/// descriptions (or the text output's description), and a question given as the input.
pub fn task_terms(request: &Request) -> String {
    let mut parts = Vec::new();
    match &request.output {
        OutputSpec::Json(schema) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    parts.push(name.replace(['_', '-'], " "));
                    if let Some(d) = prop.get("description").and_then(Value::as_str) {
                        parts.push(d.to_owned());
                    }
                }
            }
            if request.input.is_string() {
                parts.push(request.objective.clone());
            }
        }
        OutputSpec::Text(description) => {
            parts.extend(description.clone());
            parts.push(request.objective.clone());
        }
        OutputSpec::Auto => parts.push(request.objective.clone()),
    }
    parts.join(" ")
}

/// Calls chosen without an LLM: tools whose name and description score at least
/// [`MIN_TOOL_SCORE`] against [`task_terms`], best first, whose arguments
/// [`fill_arguments`] can fill, within the limits.
pub fn choose_by_match(
    request: &Request,
    offered: &[OfferedTool],
    limits: Limits,
) -> Vec<PlannedCall> {
    let docs: Vec<String> = offered
        .iter()
        .map(|t| format!("{} {}", t.name.replace(['_', '-'], " "), t.description))
        .collect();
    let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
    let mut planned: Vec<PlannedCall> = Vec::new();
    for (i, score) in rank::rank(&task_terms(request), &refs) {
        if score < MIN_TOOL_SCORE || planned.len() >= limits.total {
            break;
        }
        let tool = &offered[i];
        if planned.iter().filter(|c| c.server == tool.server).count() >= limits.per_server {
            continue;
        }
        if let Some(arguments) = fill_arguments(&tool.input_schema, &request.input) {
            planned.push(PlannedCall {
                server: tool.server,
                tool: tool.name.clone(),
                arguments,
            });
        }
    }
    planned
}

/// Arguments for a tool with `schema` (its JSON Schema input), filled from the run's
/// `input`: a property gets the input field of the same name (case and `-`/`_` aside); a
/// required string property without one gets the input text (a string input itself, an
/// object's only string field, else the object's values); `None` when a required property
/// cannot be filled, so the tool is not called.
pub fn fill_arguments(schema: &Value, input: &Value) -> Option<Map<String, Value>> {
    let empty = Map::new();
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if required.iter().any(|r| !props.contains_key(*r)) {
        return None;
    }
    let norm = |s: &str| s.to_lowercase().replace('-', "_");
    let mut arguments = Map::new();
    for (name, prop) in props {
        let takes_string = accepts_type(prop, "string");
        let same_name = input.as_object().and_then(|fields| {
            fields
                .iter()
                .find(|(k, _)| norm(k) == norm(name))
                .map(|(_, v)| v.clone())
        });
        let value = match same_name {
            Some(Value::String(s)) => Some(Value::String(s)),
            Some(Value::Null) | None => None,
            Some(other) if takes_string && !accepts_type(prop, other_type(&other)) => {
                Some(Value::String(objective_text(&other)))
            }
            Some(other) => Some(other),
        };
        let value = match value {
            Some(v) => Some(v),
            None if required.contains(&name.as_str()) && takes_string => {
                let text = input_text(input);
                (!text.is_empty()).then_some(Value::String(text))
            }
            None => None,
        };
        match value {
            Some(v) => {
                arguments.insert(name.clone(), v);
            }
            None if required.contains(&name.as_str()) => return None,
            None => {}
        }
    }
    Some(arguments)
}

/// Whether a property schema accepts values of JSON type `ty` (no `type` accepts any).
fn accepts_type(prop: &Value, ty: &str) -> bool {
    match prop.get("type") {
        None => prop
            .get("anyOf")
            .and_then(Value::as_array)
            .is_none_or(|alts| alts.iter().any(|alt| accepts_type(alt, ty))),
        Some(Value::String(t)) => t == ty || (ty == "integer" && t == "number"),
        Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str() == Some(ty)),
        Some(_) => false,
    }
}

fn other_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The input as the text a tool's free-text argument gets.
fn input_text(input: &Value) -> String {
    match input {
        Value::String(s) => s.trim().to_owned(),
        Value::Object(fields) => {
            let strings: Vec<&str> = fields.values().filter_map(Value::as_str).collect();
            match strings.as_slice() {
                [only] => only.trim().to_owned(),
                _ => objective_text(input),
            }
        }
        other => objective_text(other),
    }
}

/// The JSON the model answers with when choosing calls.
fn choice_schema() -> Value {
    json!({
        "title": "mcp_tool_calls",
        "type": "object",
        "properties": {
            "calls": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "server": {"type": "string"},
                        "tool": {"type": "string"},
                        "arguments": {"type": "object"}
                    },
                    "required": ["server", "tool", "arguments"]
                }
            }
        },
        "required": ["calls"]
    })
}

/// The prompt that asks the model which tools to call.
pub fn choice_messages(
    request: &Request,
    servers: &[McpServer],
    offered: &[OfferedTool],
    limits: Limits,
) -> Vec<Message> {
    let system = format!(
        "You decide which tools to call before a research task is answered. Tools answer \
         from their own data; call one only where it can answer part of the task better than \
         web pages. Give each call's arguments as an object matching the tool's input \
         schema, filled from the task's input. Call at most {} tools in all and at most {} \
         per server; answer {{\"calls\": []}} when no tool helps. Answer with JSON only: \
         {{\"calls\": [{{\"server\": \"…\", \"tool\": \"…\", \"arguments\": {{…}}}}]}}.",
        limits.total, limits.per_server
    );
    let wanted = match &request.output {
        OutputSpec::Json(schema) => format!(
            "a JSON object matching this schema: {}",
            schema.get("properties").unwrap_or(schema)
        ),
        OutputSpec::Text(Some(d)) => format!("a text answer: {d}"),
        OutputSpec::Text(None) | OutputSpec::Auto => "an answer to the input".to_owned(),
    };
    let tools: Vec<String> = offered
        .iter()
        .map(|t| {
            format!(
                "- server {:?}, tool {:?}: {}\n  input schema: {}",
                servers[t.server].name, t.name, t.description, t.input_schema
            )
        })
        .collect();
    let user = format!(
        "Task input: {}\nThe task wants {wanted}\n\nTools:\n{}",
        request.input,
        tools.join("\n")
    );
    vec![Message::system(system), Message::user(user)]
}

/// Calls chosen by the model, and notes about choices that were dropped (a tool not
/// offered, over the limits).
pub async fn choose_with_llm(
    llm: &LlmClient,
    request: &Request,
    servers: &[McpServer],
    offered: &[OfferedTool],
    limits: Limits,
) -> Result<(Vec<PlannedCall>, Vec<String>), crate::llm::LlmError> {
    let messages = choice_messages(request, servers, offered, limits);
    let (answer, _usage) = llm.chat_json(&messages, &choice_schema(), 1).await?;
    Ok(read_choice(&answer, servers, offered, limits))
}

/// The model's answer as calls: only tools offered, arguments as objects, each call once,
/// within the limits.
pub fn read_choice(
    answer: &Value,
    servers: &[McpServer],
    offered: &[OfferedTool],
    limits: Limits,
) -> (Vec<PlannedCall>, Vec<String>) {
    let mut planned: Vec<PlannedCall> = Vec::new();
    let mut notes = Vec::new();
    let calls = answer
        .get("calls")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for call in calls {
        let server_name = call.get("server").and_then(Value::as_str).unwrap_or("");
        let tool_name = call.get("tool").and_then(Value::as_str).unwrap_or("");
        let Some(tool) = offered
            .iter()
            .find(|t| servers[t.server].name == server_name && t.name == tool_name)
        else {
            notes.push(format!(
                "The LLM chose MCP tool {tool_name:?} on server {server_name:?}, which the run was not offered; it was not called."
            ));
            continue;
        };
        let arguments = call
            .get("arguments")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let candidate = PlannedCall {
            server: tool.server,
            tool: tool.name.clone(),
            arguments,
        };
        if planned.contains(&candidate) {
            continue;
        }
        if planned.len() >= limits.total
            || planned.iter().filter(|c| c.server == tool.server).count() >= limits.per_server
        {
            notes.push(format!(
                "The LLM chose more MCP tool calls than a run may make; {tool_name:?} on server {server_name:?} was not called."
            ));
            continue;
        }
        planned.push(candidate);
    }
    (planned, notes)
}

#[cfg(test)]
mod tests;
