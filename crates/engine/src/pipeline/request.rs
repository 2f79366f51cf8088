//! What a run asks, read from its stored request: the objective, the output wanted and the
//! source policy.

use crate::policy::SourcePolicy;
use parallax_api::create::{schema_form, SchemaForm};
use serde_json::Value;

/// The output a run asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputSpec {
    /// A JSON object matching this JSON Schema.
    Json(Value),
    /// Markdown text, with an optional description of what it should say.
    Text(Option<String>),
    /// Whatever fits: with an LLM a JSON object and its inferred schema, else text.
    Auto,
}

/// A run's request, ready for the pipeline.
#[derive(Debug, Clone)]
pub struct Request {
    /// The input as the client sent it (string or object).
    pub input: Value,
    /// The input as one line of text, for searching and ranking.
    pub objective: String,
    pub output: OutputSpec,
    pub policy: SourcePolicy,
    /// What came before and how to answer, for a writer that reads prose (the LLM): an
    /// earlier interaction or the earlier turns of a chat, and the client's instructions.
    /// Search and the extractive reader do not use it.
    pub context: Option<String>,
}

impl Request {
    /// Reads a stored request (validated when it was accepted).
    pub fn from_stored(request: &Value) -> Request {
        let input = request.get("input").cloned().unwrap_or(Value::Null);
        let output = match request.pointer("/task_spec/output_schema") {
            None | Some(Value::Null) => OutputSpec::Auto,
            Some(schema) => match schema_form(schema, true) {
                Ok(SchemaForm::Json) => {
                    OutputSpec::Json(schema.get("json_schema").cloned().unwrap_or(Value::Null))
                }
                Ok(SchemaForm::BareText) => OutputSpec::Text(schema.as_str().map(str::to_owned)),
                Ok(SchemaForm::Text) => OutputSpec::Text(
                    schema
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                ),
                Ok(SchemaForm::Auto) | Err(_) => OutputSpec::Auto,
            },
        };
        let policy = request
            .get("source_policy")
            .map(SourcePolicy::from_json)
            .unwrap_or_default();
        Request {
            objective: objective_text(&input),
            input,
            output,
            policy,
            context: None,
        }
    }

    /// The [`Request::context`] of a task: its earlier interaction (what was asked, and the
    /// answer's text or content, cut to [`CONTEXT_ANSWER_MAX`] characters) and its
    /// instructions.
    pub fn with_context(
        mut self,
        previous: Option<&crate::PreviousInteraction>,
        instructions: Option<&str>,
    ) -> Request {
        let mut parts = Vec::new();
        if let Some(previous) = previous {
            let asked = previous
                .request
                .get("input")
                .map(objective_text)
                .unwrap_or_default();
            if !asked.trim().is_empty() {
                parts.push(format!("Earlier the user asked: {}", asked.trim()));
            }
            let answer = previous.output.as_ref().and_then(|o| o.get("content"));
            let answer = match answer {
                Some(Value::String(text)) => Some(text.clone()),
                Some(other) => Some(other.to_string()),
                None => None,
            };
            if let Some(answer) = answer.filter(|a| !a.trim().is_empty()) {
                let cut: String = answer.chars().take(CONTEXT_ANSWER_MAX).collect();
                parts.push(format!("The answer given then: {}", cut.trim()));
            }
        }
        if let Some(instructions) = instructions.filter(|i| !i.trim().is_empty()) {
            parts.push(format!("Instructions: {}", instructions.trim()));
        }
        self.context = (!parts.is_empty()).then(|| parts.join("\n\n"));
        self
    }
}

/// Characters of an earlier answer given to the writer as context.
pub const CONTEXT_ANSWER_MAX: usize = 4000;

/// An input as one line: a string as is; an object as its values (the entity a question is
/// about), each scalar once, in order.
pub fn objective_text(input: &Value) -> String {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => out.push(s.clone()),
            Value::Number(n) => out.push(n.to_string()),
            Value::Bool(b) => out.push(b.to_string()),
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Object(map) => map.values().for_each(|v| walk(v, out)),
            Value::Null => {}
        }
    }
    let mut parts = Vec::new();
    walk(input, &mut parts);
    parts.join(" ")
}

/// Words of a field name: `key_executives` → `key executives`, `numEmployees` → `num Employees`.
pub fn field_words(name: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if c == '_' || c == '-' || c == '.' {
            out.push(' ');
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower {
            out.push(' ');
        }
        previous_lower = c.is_lowercase();
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_output_form() {
        let r = Request::from_stored(&json!({"input": {"company": "Zorblax", "year": 2023}}));
        assert_eq!(r.output, OutputSpec::Auto);
        assert_eq!(r.objective, "Zorblax 2023");
        let r =
            Request::from_stored(&json!({"input": "q", "task_spec": {"output_schema": "a city"}}));
        assert_eq!(r.output, OutputSpec::Text(Some("a city".into())));
        let r = Request::from_stored(
            &json!({"input": "q", "task_spec": {"output_schema": {"type": "text"}}}),
        );
        assert_eq!(r.output, OutputSpec::Text(None));
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        let r = Request::from_stored(
            &json!({"input": "q", "task_spec": {"output_schema": {"json_schema": schema}}}),
        );
        assert_eq!(r.output, OutputSpec::Json(schema));
    }

    #[test]
    fn context_holds_the_earlier_turn_and_the_instructions() {
        let r = Request::from_stored(&json!({"input": "When?"}));
        assert_eq!(r.clone().with_context(None, None).context, None);
        let previous = crate::PreviousInteraction {
            request: json!({"input": "Who founded Zorblax?"}),
            output: Some(json!({"type": "text", "content": "Three engineers."})),
        };
        assert_eq!(
            r.with_context(Some(&previous), Some(" Be brief. ")).context.as_deref(),
            Some("Earlier the user asked: Who founded Zorblax?\n\nThe answer given then: Three engineers.\n\nInstructions: Be brief.")
        );
    }

    #[test]
    fn field_names_become_words() {
        assert_eq!(field_words("key_executives"), "key executives");
        assert_eq!(field_words("numEmployees"), "num Employees");
        assert_eq!(field_words("gdp"), "gdp");
    }
}
