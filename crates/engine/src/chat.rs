//! Chat completions on the research pipeline: a conversation becomes a [`Task`] for its
//! model's budget, and the task's output becomes the answer's text and basis.
//!
//! The models: `speed` is one search and the two best pages read once (no second hop; with
//! an LLM, one writing turn), for a first token in about a second on a local index; `lite`,
//! `base` and `core` are the Task API's processors of those names, budgets and all. The
//! question researched is the last user turn; the earlier turns are the task's previous
//! interaction (searched with the question, and shown to an LLM writer), and the system turns
//! its instructions (for an LLM writer only: the extractive reader cannot follow prose).

use crate::budget::{self, Budget};
use crate::{Output, PreviousInteraction, Task};
use parallax_api::chat::{ChatFormat, ChatModel, ChatRequest};
use serde_json::{json, Value};
use std::time::Duration;

/// The `speed` model's budget: one query, two pages, one reading.
pub const SPEED: Budget = Budget {
    name: "speed",
    queries: 1,
    sources: 2,
    synthesis_rounds: 1,
    time_limit: Duration::from_secs(30),
    events_by_default: false,
    second_hop: false,
};

/// The budget a model researches with.
pub fn budget(model: ChatModel) -> Budget {
    match model {
        ChatModel::Speed => SPEED,
        // The other models name processors; the test below holds them to it.
        other => budget::lookup(other.name()).unwrap_or(SPEED),
    }
}

/// The task that answers `request` for `tenant`; `id` names it in logs.
pub fn task(id: &str, tenant: &str, request: &ChatRequest) -> Task {
    let budget = budget(request.model);
    let output_schema = match &request.format {
        ChatFormat::Text => json!({"type": "text"}),
        ChatFormat::JsonObject => json!({"type": "auto"}),
        ChatFormat::JsonSchema { schema, .. } => json!({"type": "json", "json_schema": schema}),
    };
    let previous = request
        .earlier()
        .map(|(asked, answered)| PreviousInteraction {
            request: json!({"input": asked}),
            output: answered.map(|text| json!({"type": "text", "content": text})),
        });
    Task {
        run_id: id.to_owned(),
        tenant: tenant.to_owned(),
        budget,
        request: json!({
            "processor": budget.name,
            "input": request.question(),
            "task_spec": {"output_schema": output_schema},
        }),
        previous_interaction_id: None,
        previous,
        instructions: request.instructions(),
        // A chat request names no memory scope.
        memory_sources: Vec::new(),
        mcp_servers: Vec::new(),
    }
}

/// A researched answer, ready for the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatAnswer {
    /// The message content: markdown citing sources as `[n]`, or a JSON object's text.
    pub content: String,
    /// The task's basis: per field (or `output`), citations with excerpts, reasoning and
    /// confidence.
    pub basis: Vec<Value>,
    /// The task's warnings (a field no source states, an LLM that fell back, …).
    pub warnings: Vec<Value>,
}

/// The answer in `format` from a task's output. A `json_object` answer researched as text
/// (no LLM to infer a schema) is `{"answer": text}`, so it is always a JSON object.
pub fn answer(output: Output, format: &ChatFormat) -> ChatAnswer {
    let basis = output
        .output
        .get("basis")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let content = output.output.get("content").cloned().unwrap_or(Value::Null);
    let content = match (format, content) {
        (ChatFormat::Text, Value::String(text)) => text,
        (ChatFormat::Text, other) => other.to_string(),
        (_, Value::String(text)) => json!({"answer": text}).to_string(),
        (_, other) => other.to_string(),
    };
    ChatAnswer {
        content,
        basis,
        warnings: output.warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parallax_api::chat::parse_request;

    fn request(body: Value) -> ChatRequest {
        parse_request(body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn models_research_with_their_processors_budgets() {
        assert_eq!(budget(ChatModel::Speed), SPEED);
        for model in [ChatModel::Lite, ChatModel::Base, ChatModel::Core] {
            assert_eq!(budget(model).name, model.name());
        }
        assert!(SPEED.sources < budget(ChatModel::Lite).sources);
        assert!(budget(ChatModel::Core).second_hop);
    }

    #[test]
    fn a_conversation_becomes_a_task_with_context() {
        let schema = json!({"type": "object", "properties": {"year": {"type": "string"}}});
        let r = request(json!({
            "model": "base",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Who founded Zorblax?"},
                {"role": "assistant", "content": "Three engineers."},
                {"role": "user", "content": "In which year?"},
            ],
            "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
        }));
        let task = task("chatcmpl-1", "tenant", &r);
        assert_eq!(task.budget.name, "base");
        assert_eq!(task.request["input"], "In which year?");
        assert_eq!(
            task.request["task_spec"]["output_schema"]["json_schema"],
            schema
        );
        assert_eq!(task.instructions.as_deref(), Some("Be brief."));
        let previous = task.previous.unwrap();
        assert_eq!(previous.request["input"], "Who founded Zorblax?");
        assert_eq!(previous.output.unwrap()["content"], "Three engineers.");

        let single = task_of("speed", json!([{"role": "user", "content": "q"}]));
        assert!(single.previous.is_none() && single.instructions.is_none());
    }

    fn task_of(model: &str, messages: Value) -> Task {
        task(
            "id",
            "t",
            &request(json!({"model": model, "messages": messages})),
        )
    }

    #[test]
    fn answers_take_the_requested_form() {
        let text = Output {
            output: json!({"type": "text", "content": "Founded in 2011 [1].", "basis": [{"field": "output"}]}),
            warnings: vec![json!({"type": "warning"})],
        };
        let a = answer(text.clone(), &ChatFormat::Text);
        assert_eq!(a.content, "Founded in 2011 [1].");
        assert_eq!(a.basis.len(), 1);
        assert_eq!(a.warnings.len(), 1);
        let wrapped = answer(text, &ChatFormat::JsonObject);
        assert_eq!(
            serde_json::from_str::<Value>(&wrapped.content).unwrap(),
            json!({"answer": "Founded in 2011 [1]."})
        );
        let object = Output {
            output: json!({"type": "json", "content": {"year": "2011"}, "basis": []}),
            warnings: Vec::new(),
        };
        let a = answer(object, &ChatFormat::JsonObject);
        assert_eq!(
            serde_json::from_str::<Value>(&a.content).unwrap(),
            json!({"year": "2011"})
        );
    }
}
