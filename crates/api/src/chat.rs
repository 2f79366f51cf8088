//! The chat-completions contract: OpenAI's `POST /chat/completions` and `GET /models`, as
//! Parallel's spec serves them under `/v1beta` (`ChatCompletionRequest`, `ChatCompletion`,
//! `ChatCompletionResponseChunk`). This module reads requests and writes answers; the research
//! behind an answer is the engine's (`parallax_engine::chat`), the streaming the server's.
//!
//! **What is accepted.** `model` (one of [`ChatModel::ALL`]), `messages` (`system`,
//! `developer` (read as `system`), `user` and `assistant` turns, the last one the user's; a
//! content is a string or a list of `text` parts), `stream`, `stream_options.include_usage`
//! and `response_format` (`text`, `json_object`, `json_schema`). The spec lists `max_tokens`,
//! `temperature`, `top_p`, `n`, `presence_penalty` and `frequency_penalty` as accepted and
//! ignored, so they are, when well typed (`n` only as 1: one answer is all there is); `user`
//! (OpenAI's end-user tag) is accepted and ignored too. Every other field (`tools`,
//! `tool_choice`, `functions`, `logprobs`, `seed`, `audio`, …) is refused with a 400 that names
//! it, rather than dropped: a client that sends tools expects them to be called.

use crate::create::{body_fields, check_task_spec};
use crate::error::{ApiError, FieldError};
use serde_json::{json, Map, Value};

/// The models a chat completion may name, fastest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatModel {
    /// A short search and a single reading of the few best pages: the first token fast.
    Speed,
    /// The Task API's `lite` processor.
    Lite,
    /// The Task API's `base` processor.
    Base,
    /// The Task API's `core` processor (with its second hop).
    Core,
}

impl ChatModel {
    /// Every model, as `GET /models` lists them.
    pub const ALL: [ChatModel; 4] = [
        ChatModel::Speed,
        ChatModel::Lite,
        ChatModel::Base,
        ChatModel::Core,
    ];

    /// The name clients send.
    pub fn name(self) -> &'static str {
        match self {
            ChatModel::Speed => "speed",
            ChatModel::Lite => "lite",
            ChatModel::Base => "base",
            ChatModel::Core => "core",
        }
    }

    /// The model named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<ChatModel> {
        ChatModel::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One turn of the conversation, its content as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

/// The form the answer takes.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatFormat {
    /// Markdown text citing its sources as `[n]`.
    Text,
    /// A JSON object of whatever shape fits the question.
    JsonObject,
    /// A JSON object matching this JSON Schema (checked by the Task API's output-schema
    /// rules when the request is accepted).
    JsonSchema { name: String, schema: Value },
}

/// A chat completion request, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub model: ChatModel,
    /// At least one; the last is the user's.
    pub messages: Vec<ChatMessage>,
    pub stream: bool,
    /// `stream_options.include_usage`: a last chunk with the usage and no choices.
    pub include_usage: bool,
    pub format: ChatFormat,
}

impl ChatRequest {
    /// What to research: the last user turn.
    pub fn question(&self) -> &str {
        self.messages
            .last()
            .map(|m| m.content.as_str())
            .unwrap_or_default()
    }

    /// The system turns, joined: how to answer, for a writer that can follow instructions.
    pub fn instructions(&self) -> Option<String> {
        let parts: Vec<&str> = self
            .messages
            .iter()
            .filter(|m| m.role == Role::System && !m.content.trim().is_empty())
            .map(|m| m.content.trim())
            .collect();
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }

    /// The conversation before the question: the earlier user turns joined, and the last
    /// answer given, when there were earlier turns.
    pub fn earlier(&self) -> Option<(String, Option<String>)> {
        let before = &self.messages[..self.messages.len().saturating_sub(1)];
        let asked: Vec<&str> = before
            .iter()
            .filter(|m| m.role == Role::User)
            .map(|m| m.content.trim())
            .filter(|c| !c.is_empty())
            .collect();
        let answered = before
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant)
            .map(|m| m.content.clone());
        if asked.is_empty() && answered.is_none() {
            return None;
        }
        Some((asked.join(" "), answered))
    }

    /// The whole prompt as text, for the usage estimate.
    pub fn prompt_text(&self) -> String {
        self.messages
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Fields the spec accepts and ignores, with the JSON type each must have.
const IGNORED: [(&str, &str); 7] = [
    ("max_tokens", "integer"),
    ("temperature", "number"),
    ("top_p", "number"),
    ("n", "integer"),
    ("presence_penalty", "number"),
    ("frequency_penalty", "number"),
    ("user", "string"),
];

/// Reads and validates a `ChatCompletionRequest`. Malformed values answer 422 naming each;
/// fields this server does not support answer 400 naming each (see the module documentation).
pub fn parse_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let mut errors = Vec::new();
    let fields = body_fields(body, &mut errors)?;
    let unsupported: Vec<FieldError> = fields
        .iter()
        .filter(|(key, value)| !is_known(key) && !value.is_null())
        .map(|(key, _)| {
            FieldError::new(
                format!("/{}", crate::create::escape_pointer(key)),
                unsupported_reason(key),
            )
        })
        .collect();
    if !unsupported.is_empty() {
        return Err(unsupported_error(unsupported));
    }
    for (name, kind) in IGNORED {
        match fields.get(name) {
            None | Some(Value::Null) => {}
            Some(Value::Number(_)) if kind == "number" => {}
            Some(Value::Number(n)) if kind == "integer" && (n.is_i64() || n.is_u64()) => {
                if name == "n" && n.as_i64() != Some(1) {
                    return Err(unsupported_error(vec![FieldError::new(
                        "/n",
                        "only 1 is supported: one researched answer is given per request",
                    )]));
                }
            }
            Some(Value::String(_)) if kind == "string" => {}
            Some(_) => errors.push(FieldError::new(
                format!("/{name}"),
                format!("must be {} {kind} or null", article(kind)),
            )),
        }
    }
    let model = match fields.get("model") {
        None => {
            errors.push(FieldError::new("/model", "is required"));
            None
        }
        Some(Value::String(name)) => match ChatModel::from_name(name) {
            Some(model) => Some(model),
            None => {
                errors.push(FieldError::new(
                    "/model",
                    format!(
                        "unknown model {name:?}; the models are {}",
                        ChatModel::ALL.map(ChatModel::name).join(", ")
                    ),
                ));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new("/model", "must be a string"));
            None
        }
    };
    let messages = messages_field(fields.get("messages"), &mut errors)?;
    let stream = match fields.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(FieldError::new("/stream", "must be a boolean or null"));
            false
        }
    };
    let include_usage = match fields.get("stream_options") {
        None | Some(Value::Null) => false,
        Some(Value::Object(options)) => {
            let mut include = false;
            for (key, value) in options {
                match (key.as_str(), value) {
                    ("include_usage", Value::Bool(b)) => include = *b,
                    ("include_usage", Value::Null) => {}
                    ("include_usage", _) => errors.push(FieldError::new(
                        "/stream_options/include_usage",
                        "must be a boolean or null",
                    )),
                    (other, _) => {
                        return Err(unsupported_error(vec![FieldError::new(
                            format!("/stream_options/{}", crate::create::escape_pointer(other)),
                            "is not supported; include_usage is",
                        )]))
                    }
                }
            }
            include
        }
        Some(_) => {
            errors.push(FieldError::new(
                "/stream_options",
                "must be an object or null",
            ));
            false
        }
    };
    if !stream && fields.get("stream_options").is_some_and(|v| !v.is_null()) {
        errors.push(FieldError::new(
            "/stream_options",
            "is only allowed when stream is true",
        ));
    }
    let format = format_field(fields.get("response_format"), &mut errors);
    match (model, messages, format) {
        (Some(model), Some(messages), Some(format)) if errors.is_empty() => Ok(ChatRequest {
            model,
            messages,
            stream,
            include_usage,
            format,
        }),
        _ => Err(ApiError::validation(errors)),
    }
}

fn is_known(key: &str) -> bool {
    matches!(
        key,
        "model" | "messages" | "stream" | "stream_options" | "response_format"
    ) || IGNORED.iter().any(|(name, _)| *name == key)
}

fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// Why a field OpenAI's API knows is refused here, in words that say what to do.
fn unsupported_reason(key: &str) -> String {
    match key {
        "tools" | "tool_choice" | "functions" | "function_call" | "parallel_tool_calls" => {
            "is not supported: answers come from web research, and no client tools are called; send the request without it".into()
        }
        "logprobs" | "top_logprobs" | "logit_bias" => {
            "is not supported: answers are researched, not sampled token by token".into()
        }
        _ => format!(
            "is not supported by this server; the fields it reads are model, messages, stream, stream_options and response_format (and it ignores {})",
            IGNORED.map(|(name, _)| name).join(", ")
        ),
    }
}

/// A 400 naming every unsupported field.
fn unsupported_error(errors: Vec<FieldError>) -> ApiError {
    let first = errors[0].clone();
    ApiError::new(
        400,
        format!(
            "Unsupported parameter: {} {}",
            first.pointer.trim_start_matches('/'),
            first.reason
        ),
    )
    .with_detail(json!({
        "pointer": first.pointer,
        "reason": first.reason,
        "errors": errors,
    }))
}

/// The messages, each with a known role and text content, the last one the user's.
fn messages_field(
    value: Option<&Value>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<Vec<ChatMessage>>, ApiError> {
    let items = match value {
        None => {
            errors.push(FieldError::new("/messages", "is required"));
            return Ok(None);
        }
        Some(Value::Array(items)) if items.is_empty() => {
            errors.push(FieldError::new(
                "/messages",
                "must hold at least one message",
            ));
            return Ok(None);
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            errors.push(FieldError::new("/messages", "must be an array of messages"));
            return Ok(None);
        }
    };
    let before = errors.len();
    let mut messages = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("/messages/{i}");
        let Some(map) = item.as_object() else {
            errors.push(FieldError::new(
                &at,
                "must be an object with role and content",
            ));
            continue;
        };
        let role = match map.get("role").and_then(Value::as_str) {
            Some("system" | "developer") => Some(Role::System),
            Some("user") => Some(Role::User),
            Some("assistant") => Some(Role::Assistant),
            Some(role @ ("tool" | "function")) => {
                return Err(unsupported_error(vec![FieldError::new(
                    format!("{at}/role"),
                    format!("{role:?} messages are not supported: no client tools are called"),
                )]))
            }
            Some(other) => {
                errors.push(FieldError::new(
                    format!("{at}/role"),
                    format!("unknown role {other:?}; use system, user or assistant"),
                ));
                None
            }
            None => {
                errors.push(FieldError::new(
                    format!("{at}/role"),
                    "is required: system, user or assistant",
                ));
                None
            }
        };
        for key in map.keys() {
            if !matches!(key.as_str(), "role" | "content" | "name") {
                let refusal = if matches!(key.as_str(), "tool_calls" | "function_call") {
                    "is not supported: no client tools are called"
                } else {
                    "is not a field of a message (role, content, name)"
                };
                return Err(unsupported_error(vec![FieldError::new(
                    format!("{at}/{}", crate::create::escape_pointer(key)),
                    refusal,
                )]));
            }
        }
        match map.get("name") {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(_) => errors.push(FieldError::new(
                format!("{at}/name"),
                "must be a string or null",
            )),
        }
        let content = content_text(map.get("content"), &format!("{at}/content"), errors)?;
        if let (Some(role), Some(content)) = (role, content) {
            messages.push(ChatMessage { role, content });
        }
    }
    if errors.len() > before {
        return Ok(None);
    }
    match messages.last() {
        Some(last) if last.role == Role::User && !last.content.trim().is_empty() => {
            Ok(Some(messages))
        }
        Some(last) if last.role == Role::User => {
            errors.push(FieldError::new(
                format!("/messages/{}/content", messages.len() - 1),
                "the last message (the question) must not be empty",
            ));
            Ok(None)
        }
        _ => {
            errors.push(FieldError::new(
                format!("/messages/{}", items.len() - 1),
                "the last message must be the user's: it is the question answered",
            ));
            Ok(None)
        }
    }
}

/// A message's content as text: a string, or a list of `text` parts joined. Other parts
/// (images, audio, files) are refused with a 400.
fn content_text(
    value: Option<&Value>,
    at: &str,
    errors: &mut Vec<FieldError>,
) -> Result<Option<String>, ApiError> {
    match value {
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Array(parts)) => {
            let mut texts = Vec::with_capacity(parts.len());
            for (i, part) in parts.iter().enumerate() {
                let part_at = format!("{at}/{i}");
                match (
                    part.get("type").and_then(Value::as_str),
                    part.get("text").and_then(Value::as_str),
                ) {
                    (Some("text"), Some(text)) => texts.push(text.to_owned()),
                    (Some("text"), None) => {
                        errors.push(FieldError::new(
                            format!("{part_at}/text"),
                            "is required and must be a string",
                        ));
                        return Ok(None);
                    }
                    (Some(other), _) => {
                        return Err(unsupported_error(vec![FieldError::new(
                            format!("{part_at}/type"),
                            format!("{other:?} content is not supported; send text parts"),
                        )]))
                    }
                    (None, _) => {
                        errors.push(FieldError::new(
                            format!("{part_at}/type"),
                            "is required: \"text\"",
                        ));
                        return Ok(None);
                    }
                }
            }
            Ok(Some(texts.join("\n")))
        }
        None => {
            errors.push(FieldError::new(at, "is required"));
            Ok(None)
        }
        Some(_) => {
            errors.push(FieldError::new(
                at,
                "must be a string or an array of text parts",
            ));
            Ok(None)
        }
    }
}

/// `response_format`: text (or absent), `json_object`, or `json_schema` whose schema passes
/// the Task API's output-schema rules.
fn format_field(value: Option<&Value>, errors: &mut Vec<FieldError>) -> Option<ChatFormat> {
    let map = match value {
        None | Some(Value::Null) => return Some(ChatFormat::Text),
        Some(Value::Object(map)) => map,
        Some(_) => {
            errors.push(FieldError::new(
                "/response_format",
                "must be an object with a type (text, json_object or json_schema) or null",
            ));
            return None;
        }
    };
    match map.get("type").and_then(Value::as_str) {
        Some("text") => Some(ChatFormat::Text),
        Some("json_object") => Some(ChatFormat::JsonObject),
        Some("json_schema") => json_schema_format(map.get("json_schema"), errors),
        Some(other) => {
            errors.push(FieldError::new(
                "/response_format/type",
                format!("unknown type {other:?}; use text, json_object or json_schema"),
            ));
            None
        }
        None => {
            errors.push(FieldError::new(
                "/response_format/type",
                "is required: text, json_object or json_schema",
            ));
            None
        }
    }
}

fn json_schema_format(value: Option<&Value>, errors: &mut Vec<FieldError>) -> Option<ChatFormat> {
    const AT: &str = "/response_format/json_schema";
    let Some(map) = value.and_then(Value::as_object) else {
        errors.push(FieldError::new(
            AT,
            "is required for type json_schema: an object with name and schema",
        ));
        return None;
    };
    let before = errors.len();
    let name = match map.get("name") {
        Some(Value::String(name))
            if !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
        {
            Some(name.clone())
        }
        Some(Value::String(_)) => {
            errors.push(FieldError::new(
                format!("{AT}/name"),
                "must be 1 to 64 letters, digits, underscores or dashes",
            ));
            None
        }
        _ => {
            errors.push(FieldError::new(
                format!("{AT}/name"),
                "is required and must be a string",
            ));
            None
        }
    };
    for (key, kind) in [("description", "string"), ("strict", "boolean")] {
        let ok = match map.get(key) {
            None | Some(Value::Null) => true,
            Some(Value::String(_)) => kind == "string",
            Some(Value::Bool(_)) => kind == "boolean",
            Some(_) => false,
        };
        if !ok {
            errors.push(FieldError::new(
                format!("{AT}/{key}"),
                format!("must be a {kind} or null"),
            ));
        }
    }
    let schema = match map.get("schema") {
        Some(schema @ Value::Object(_)) => {
            // The Task API's rules for an output schema, with their reasons re-pointed at
            // where the schema sits in this request.
            let spec = json!({"output_schema": {"type": "json", "json_schema": schema}});
            let mut spec_errors = Vec::new();
            check_task_spec(&spec, "", &mut spec_errors);
            for e in spec_errors {
                let pointer = e
                    .pointer
                    .strip_prefix("/output_schema/json_schema")
                    .map(|rest| format!("{AT}/schema{rest}"))
                    .unwrap_or_else(|| format!("{AT}/schema"));
                errors.push(FieldError::new(pointer, e.reason));
            }
            Some(schema.clone())
        }
        None | Some(Value::Null) => {
            errors.push(FieldError::new(
                format!("{AT}/schema"),
                "is required: the JSON Schema of the answer (an object)",
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(
                format!("{AT}/schema"),
                "must be a JSON Schema object",
            ));
            None
        }
    };
    if errors.len() > before {
        return None;
    }
    Some(ChatFormat::JsonSchema {
        name: name?,
        schema: schema?,
    })
}

/// Token counts of an answer. No tokenizer of the client's model is known here, so they are
/// estimated as OpenAI's rule of thumb does: a token per four characters, rounded up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Usage {
    /// The estimate for `prompt` in and `completion` out.
    pub fn estimate(prompt: &str, completion: &str) -> Usage {
        let tokens = |text: &str| (text.chars().count() as u64).div_ceil(4);
        Usage {
            prompt_tokens: tokens(prompt),
            completion_tokens: tokens(completion),
        }
    }

    /// `CompletionUsage`.
    pub fn to_json(self) -> Value {
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        })
    }
}

/// What every answer and chunk of one completion share.
#[derive(Debug, Clone)]
pub struct CompletionHeader {
    /// `chatcmpl-<32 hex>`.
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    pub model: ChatModel,
}

/// The prefix of completion ids.
pub const COMPLETION_PREFIX: &str = "chatcmpl-";

impl CompletionHeader {
    fn object(&self, object: &str) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("id".into(), json!(self.id));
        map.insert("object".into(), json!(object));
        map.insert("created".into(), json!(self.created));
        map.insert("model".into(), json!(self.model.name()));
        map.insert("system_fingerprint".into(), Value::Null);
        map
    }

    /// A whole answer (`ChatCompletion`). Its choice carries the answer as `message`, which
    /// OpenAI's clients read, and again as `delta`, which the spec's `Choice` requires.
    pub fn completion(&self, content: &str, basis: &[Value], usage: Usage) -> Value {
        let message = json!({"role": "assistant", "content": content, "refusal": null});
        let mut map = self.object("chat.completion");
        map.insert(
            "choices".into(),
            json!([{
                "index": 0,
                "message": message,
                "delta": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": null,
            }]),
        );
        map.insert("usage".into(), usage.to_json());
        map.insert("basis".into(), Value::Array(basis.to_vec()));
        Value::Object(map)
    }

    /// A chunk of a streamed answer (`ChatCompletionResponseChunk`) carrying `delta`, and
    /// `finish_reason` when it is the last.
    pub fn chunk(&self, delta: Value, finish_reason: Option<&str>, basis: &[Value]) -> Value {
        let mut map = self.object("chat.completion.chunk");
        map.insert("type".into(), json!("chat.completion.chunk"));
        map.insert(
            "choices".into(),
            json!([{
                "index": 0,
                "delta": delta,
                "finish_reason": finish_reason,
                "logprobs": null,
            }]),
        );
        map.insert("basis".into(), Value::Array(basis.to_vec()));
        Value::Object(map)
    }

    /// The usage chunk that ends a stream asked to include usage: no choices, as OpenAI sends it.
    pub fn usage_chunk(&self, usage: Usage) -> Value {
        let mut map = self.object("chat.completion.chunk");
        map.insert("type".into(), json!("chat.completion.chunk"));
        map.insert("choices".into(), json!([]));
        map.insert("usage".into(), usage.to_json());
        map.insert("basis".into(), json!([]));
        Value::Object(map)
    }
}

/// `content` cut into the deltas of a stream: pieces that end after a space or line break
/// once at least `min_chars` long, so that joined they are exactly `content`.
pub fn content_deltas(content: &str, min_chars: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut count = 0;
    for (i, c) in content.char_indices() {
        count += 1;
        if count >= min_chars && (c == ' ' || c == '\n') {
            let end = i + c.len_utf8();
            out.push(&content[start..end]);
            start = end;
            count = 0;
        }
    }
    if start < content.len() {
        out.push(&content[start..]);
    }
    out
}

/// `GET /models`: OpenAI's list of `model` objects. `created` is when this server started.
pub fn models_json(created: i64) -> Value {
    json!({
        "object": "list",
        "data": ChatModel::ALL.map(|m| model_json(m, created)),
    })
}

/// One `model` object.
pub fn model_json(model: ChatModel, created: i64) -> Value {
    json!({
        "id": model.name(),
        "object": "model",
        "created": created,
        "owned_by": "parallax",
    })
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
