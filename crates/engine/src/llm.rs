//! A client for any OpenAI-compatible chat-completions endpoint: Ollama, vLLM, the llama.cpp
//! server, LM Studio, or a cloud API.
//!
//! Synthesis uses it to turn ranked passages into output that fits the run's schema. The
//! client speaks only the common subset of the OpenAI wire format: `POST
//! {base_url}/chat/completions` with `model`, `messages`, `temperature`, `stream: false` and,
//! for structured output, `response_format`; it reads `choices[0].message.content` and
//! `usage`.
//!
//! # Structured output and capability fallback
//!
//! [`LlmClient::chat_json`] asks for output constrained by a JSON Schema, in the best form the
//! server accepts:
//!
//! 1. `response_format: {"type": "json_schema", "json_schema": {"name", "schema", "strict": true}}`
//!    (OpenAI, vLLM, recent Ollama and llama.cpp);
//! 2. if the server refuses that — a 400 (or 422) whose body mentions `response_format`,
//!    `json_schema` or "not supported" — `response_format: {"type": "json_object"}` with the
//!    schema written into the prompt;
//! 3. if that is refused too, no `response_format` at all, the schema in the prompt.
//!
//! The client remembers how far it had to fall back (an [`AtomicU8`] shared by its clones),
//! so later requests go straight to the form that works, without a refused request each
//! time. A refusal that blames the schema itself ("invalid schema", as OpenAI's strict mode
//! answers for schemas outside its subset) falls back for that request only, since another
//! schema may well be accepted. Whatever the form, the answer is extracted (tolerating
//! ```` ```json ```` fences, leading prose and `<think>` blocks, see [`extract_json`]) and
//! validated against the schema with `jsonschema`; an invalid answer is sent back with the
//! validation errors (JSON pointer and message) and the model is asked again, up to a number
//! of repairs chosen by the caller, so servers without constrained decoding still give valid
//! output or a clear [`LlmError::InvalidOutput`].
//!
//! # Retries
//!
//! Answers 429, 500, 502, 503 and 504, connection failures and timeouts (each request has
//! [`LlmConfig::timeout`]) are retried up to [`LlmConfig::max_retries`] times, waiting
//! `backoff_base × 2^n` with jitter (between half and all of it, capped at
//! [`MAX_BACKOFF`]), or what a `Retry-After: <seconds>` header asks (capped at
//! [`MAX_RETRY_AFTER`]). Other 4xx answers are not retried: they will not get better. Errors
//! say which server answered what and what to check ("the LLM at http://… answered 401: …;
//! check --llm-api-key").
//!
//! # Token use
//!
//! Every answer's `usage` is counted: [`Completion::usage`] sums the answers one call got,
//! [`LlmClient::chat_json`] sums its turns, and [`LlmClient::total_usage`] sums everything
//! the client (and its clones) ever got.
//!
//! The API key is sent as `Authorization: Bearer …`, marked sensitive, never logged, and
//! redacted from [`LlmConfig`]'s `Debug`.

use crate::extract::markdown::collapse_whitespace;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::ops::{Add, AddAssign};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Longest wait between two attempts when no `Retry-After` says otherwise.
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Longest wait a `Retry-After` header can impose; longer requests are shortened to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// How much of an error body is quoted in error messages, in characters.
const BODY_EXCERPT_CHARS: usize = 300;
/// How many validation errors are named in one repair request or error.
const MAX_VALIDATION_ERRORS: usize = 10;

/// Capability levels, in the order the client falls back through them.
const LEVEL_JSON_SCHEMA: u8 = 0;
const LEVEL_JSON_OBJECT: u8 = 1;
const LEVEL_TEXT: u8 = 2;

/// Where the LLM is and how to talk to it.
#[derive(Clone)]
pub struct LlmConfig {
    /// The API root, e.g. `http://localhost:11434/v1`; requests go to
    /// `{base_url}/chat/completions` (a trailing `/` is ignored).
    pub base_url: String,
    /// The model name the server knows, e.g. `qwen2.5:7b-instruct`.
    pub model: String,
    /// Sent as `Authorization: Bearer <key>` when set; never logged, redacted from `Debug`.
    pub api_key: Option<String>,
    /// Limit for one request, from connecting to the last byte of the answer (default 120 s).
    pub timeout: Duration,
    /// How many times a request is repeated after a 429, 5xx, timeout or connection failure
    /// (default 4, so at most 5 attempts).
    pub max_retries: u32,
    /// Sampling temperature sent with every request (default 0, the most repeatable).
    pub temperature: f32,
    /// First wait of the exponential backoff between retries (default 250 ms).
    pub backoff_base: Duration,
}

impl LlmConfig {
    /// A configuration with the defaults: no key, 120 s timeout, 4 retries, temperature 0,
    /// 250 ms backoff base.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        LlmConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            timeout: Duration::from_secs(120),
            max_retries: 4,
            temperature: 0.0,
            backoff_base: Duration::from_millis(250),
        }
    }
}

impl fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("temperature", &self.temperature)
            .field("backoff_base", &self.backoff_base)
            .finish()
    }
}

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The question, or a request to repair an answer.
    User,
    /// A previous answer of the model.
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Message {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// The form of answer asked for (OpenAI's `response_format`).
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    /// Free text: no `response_format` is sent.
    Text,
    /// Any JSON object: `{"type": "json_object"}`.
    JsonObject,
    /// JSON conforming to `schema`: `{"type": "json_schema", "json_schema": {"name", "schema",
    /// "strict": true}}`, with the fallbacks described in the module documentation.
    JsonSchema {
        /// The schema's name (characters outside `[A-Za-z0-9_-]` are replaced by `_`).
        name: String,
        /// The JSON Schema.
        schema: Value,
    },
}

/// Tokens used, as the server reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens read (the prompt).
    pub prompt_tokens: u64,
    /// Tokens written (the answer).
    pub completion_tokens: u64,
}

impl Usage {
    /// Prompt and completion tokens together.
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

impl Add for Usage {
    type Output = Usage;
    fn add(self, other: Usage) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens + other.prompt_tokens,
            completion_tokens: self.completion_tokens + other.completion_tokens,
        }
    }
}

impl AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        *self = *self + other;
    }
}

/// One answer of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The text of `choices[0].message.content`.
    pub content: String,
    /// Tokens used by every answer this call got (retried answers included).
    pub usage: Usage,
}

/// Why a call to the LLM failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The configuration cannot work (bad URL, empty model, unusable key).
    #[error("invalid LLM configuration: {0}")]
    Config(String),
    /// Every attempt ran out of time.
    #[error(
        "the LLM at {base_url} did not answer within {timeout:?} ({attempts} attempt(s)); \
         raise the LLM timeout or use a smaller model"
    )]
    Timeout {
        /// The server.
        base_url: String,
        /// The limit of each attempt.
        timeout: Duration,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The server could not be reached (connection refused or reset, DNS, TLS).
    #[error(
        "could not reach the LLM at {base_url} ({attempts} attempt(s)): {message}; \
         check --llm-base-url and that the server is running"
    )]
    Unreachable {
        /// The server.
        base_url: String,
        /// How many attempts were made.
        attempts: u32,
        /// What went wrong, as the HTTP client says it.
        message: String,
    },
    /// The server answered with an error status (after retries, for retried statuses).
    #[error("{}", status_message(.base_url, *.status, .body, *.attempts))]
    Status {
        /// The server.
        base_url: String,
        /// The HTTP status.
        status: u16,
        /// An excerpt of the body (the `error.message` when there is one).
        body: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The server answered 2xx with something that is not a chat completion.
    #[error("the LLM at {base_url} sent an answer that is not a chat completion: {message}")]
    BadResponse {
        /// The server.
        base_url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The schema given to [`LlmClient::chat_json`] is not a valid JSON Schema.
    #[error("the output schema is not a valid JSON Schema: {0}")]
    InvalidSchema(String),
    /// The model's answers never matched the schema, repairs included.
    #[error(
        "the LLM's answer did not match the output schema after {attempts} attempt(s): {}",
        .errors.join("; ")
    )]
    InvalidOutput {
        /// The validation errors of the last answer, each `<JSON pointer>: <message>`.
        errors: Vec<String>,
        /// How many answers were asked for (1 + repairs).
        attempts: u32,
        /// The last answer, as the model wrote it.
        last_answer: String,
        /// Tokens used by all the turns.
        usage: Usage,
    },
}

fn status_message(base_url: &str, status: u16, body: &str, attempts: u32) -> String {
    let hint = match status {
        401 | 403 => "; check --llm-api-key".to_string(),
        404 => "; check --llm-base-url (most servers expect it to end in /v1) and --llm-model"
            .to_string(),
        429 => format!("; the server is limiting the request rate ({attempts} attempt(s))"),
        500..=599 => format!(" ({attempts} attempt(s))"),
        _ => String::new(),
    };
    let body = if body.is_empty() {
        "(empty body)"
    } else {
        body
    };
    format!("the LLM at {base_url} answered {status}: {body}{hint}")
}

struct Inner {
    config: LlmConfig,
    endpoint: String,
    http: reqwest::Client,
    /// How far the server made the client fall back (`LEVEL_*`).
    capability: AtomicU8,
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
    jitter: RandomState,
}

/// A client of one OpenAI-compatible chat-completions endpoint. Cheap to clone; clones share
/// the connection pool, the learned capabilities and the token counters.
#[derive(Clone)]
pub struct LlmClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmClient")
            .field("config", &self.inner.config)
            .field("capability", &self.inner.capability.load(Ordering::Relaxed))
            .finish()
    }
}

/// What one attempt got.
enum Attempt {
    Answer {
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },
    TimedOut,
    Failed(String),
}

impl LlmClient {
    /// Checks `config` and builds the HTTP client.
    pub fn new(mut config: LlmConfig) -> Result<Self, LlmError> {
        let trimmed = config.base_url.trim().trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&trimmed).map_err(|e| {
            LlmError::Config(format!(
                "--llm-base-url {trimmed:?} is not a URL ({e}); expected e.g. http://localhost:11434/v1"
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(LlmError::Config(format!(
                "--llm-base-url {trimmed:?} must start with http:// or https://"
            )));
        }
        config.base_url = trimmed;
        if config.model.trim().is_empty() {
            return Err(LlmError::Config(
                "no model given; set --llm-model to a model the server serves".to_string(),
            ));
        }
        if config.timeout.is_zero() {
            return Err(LlmError::Config(
                "the LLM timeout must be above zero".to_string(),
            ));
        }
        if !config.temperature.is_finite() || config.temperature < 0.0 {
            return Err(LlmError::Config(format!(
                "the LLM temperature must be a number of at least 0, not {}",
                config.temperature
            )));
        }
        let mut headers = HeaderMap::new();
        if let Some(key) = config.api_key.as_deref().filter(|k| !k.is_empty()) {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                LlmError::Config(
                    "--llm-api-key contains characters that cannot be sent in a header".to_string(),
                )
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .default_headers(headers)
            .user_agent(concat!("parallax/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LlmError::Config(format!("cannot build the HTTP client: {e}")))?;
        let endpoint = format!("{}/chat/completions", config.base_url);
        Ok(LlmClient {
            inner: Arc::new(Inner {
                config,
                endpoint,
                http,
                capability: AtomicU8::new(LEVEL_JSON_SCHEMA),
                prompt_tokens: AtomicU64::new(0),
                completion_tokens: AtomicU64::new(0),
                jitter: RandomState::new(),
            }),
        })
    }

    /// The configuration in use (with `base_url` normalised).
    pub fn config(&self) -> &LlmConfig {
        &self.inner.config
    }

    /// Tokens used by every answer this client and its clones received.
    pub fn total_usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.inner.prompt_tokens.load(Ordering::Relaxed),
            completion_tokens: self.inner.completion_tokens.load(Ordering::Relaxed),
        }
    }

    /// Whether the server was found to refuse `json_schema` response formats.
    pub fn json_schema_refused(&self) -> bool {
        self.inner.capability.load(Ordering::Relaxed) >= LEVEL_JSON_OBJECT
    }

    /// Sends `messages` and returns the model's answer, retrying as the module documentation
    /// describes. `format` is downgraded when the server has refused it (the schema then goes
    /// into the prompt), so a caller asking for JSON must still check what comes back, as
    /// [`LlmClient::chat_json`] does.
    pub async fn chat(
        &self,
        messages: &[Message],
        format: ResponseFormat,
    ) -> Result<Completion, LlmError> {
        let config = &self.inner.config;
        let mut usage = Usage::default();
        let mut retries: u32 = 0;
        // Fallback level for this call only (a refused schema need not mean a refused feature).
        let mut local_level = LEVEL_JSON_SCHEMA;
        loop {
            let level = local_level.max(self.inner.capability.load(Ordering::Relaxed));
            let (body, wire_level) = self.request_body(messages, &format, level);
            let backoff = match self.attempt(&body).await {
                Attempt::Answer {
                    status,
                    retry_after,
                    body: text,
                } => {
                    let parsed: Option<Value> = serde_json::from_str(&text).ok();
                    if let Some(answer_usage) = parsed.as_ref().and_then(read_usage) {
                        usage += answer_usage;
                        self.count(answer_usage);
                    }
                    if (200..300).contains(&status) {
                        let content = parsed
                            .as_ref()
                            .ok_or_else(|| format!("the body is not JSON: {}", excerpt(&text)))
                            .and_then(read_content)
                            .map_err(|message| LlmError::BadResponse {
                                base_url: config.base_url.clone(),
                                message,
                            })?;
                        return Ok(Completion { content, usage });
                    }
                    if matches!(status, 400 | 422)
                        && wire_level < LEVEL_TEXT
                        && refuses_response_format(&text)
                    {
                        let next = wire_level + 1;
                        local_level = next;
                        if !blames_schema(&text) {
                            self.inner.capability.fetch_max(next, Ordering::Relaxed);
                        }
                        tracing::warn!(
                            base_url = %config.base_url,
                            status,
                            refused = level_name(wire_level),
                            next = level_name(next),
                            "the LLM refused the response format; falling back"
                        );
                        continue;
                    }
                    self.retry_after_error(
                        status,
                        retry_after,
                        error_excerpt(parsed.as_ref(), &text),
                        retries,
                    )?
                }
                Attempt::TimedOut => self.retry_after_timeout(retries)?,
                Attempt::Failed(message) => self.retry_after_failure(message, retries)?,
            };
            retries += 1;
            tokio::time::sleep(backoff).await;
        }
    }

    /// How long to wait before retrying an attempt answered with error `status`, or the
    /// error to give up with (not retryable, or retries spent).
    fn retry_after_error(
        &self,
        status: u16,
        retry_after: Option<Duration>,
        body: String,
        retries: u32,
    ) -> Result<Duration, LlmError> {
        let config = &self.inner.config;
        let retryable = matches!(status, 429 | 500 | 502 | 503 | 504);
        if !retryable || retries >= config.max_retries {
            return Err(LlmError::Status {
                base_url: config.base_url.clone(),
                status,
                body,
                attempts: retries + 1,
            });
        }
        tracing::warn!(
            base_url = %config.base_url,
            status,
            attempt = retries + 1,
            "the LLM answered an error; retrying"
        );
        Ok(retry_after.map_or_else(|| self.backoff(retries), |d| d.min(MAX_RETRY_AFTER)))
    }

    /// How long to wait before retrying an attempt that ran out of time, or the error.
    fn retry_after_timeout(&self, retries: u32) -> Result<Duration, LlmError> {
        let config = &self.inner.config;
        if retries >= config.max_retries {
            return Err(LlmError::Timeout {
                base_url: config.base_url.clone(),
                timeout: config.timeout,
                attempts: retries + 1,
            });
        }
        tracing::warn!(
            base_url = %config.base_url,
            attempt = retries + 1,
            timeout = ?config.timeout,
            "the LLM did not answer in time; retrying"
        );
        Ok(self.backoff(retries))
    }

    /// How long to wait before retrying an attempt that could not reach the server, or the
    /// error.
    fn retry_after_failure(&self, message: String, retries: u32) -> Result<Duration, LlmError> {
        let config = &self.inner.config;
        if retries >= config.max_retries {
            return Err(LlmError::Unreachable {
                base_url: config.base_url.clone(),
                attempts: retries + 1,
                message,
            });
        }
        tracing::warn!(
            base_url = %config.base_url,
            attempt = retries + 1,
            error = %message,
            "could not reach the LLM; retrying"
        );
        Ok(self.backoff(retries))
    }

    /// Asks for a text answer with `stream: true`, handing each piece of content to
    /// `on_delta` as it arrives, and returns the whole completion. A server that answers with
    /// a whole completion instead of a stream is read as one (its content is one delta).
    /// Failures are retried as [`LlmClient::chat`] retries them, but only until the first
    /// delta went out: what was handed on cannot be taken back, so a stream that breaks after
    /// it is an error ([`LlmError::BadResponse`]).
    pub async fn chat_streamed(
        &self,
        messages: &[Message],
        on_delta: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<Completion, LlmError> {
        let (mut body, _) = self.request_body(messages, &ResponseFormat::Text, LEVEL_TEXT);
        body["stream"] = json!(true);
        let mut retries: u32 = 0;
        loop {
            let backoff = match self.stream_attempt(&body, on_delta).await {
                Streamed::Done(completion) => {
                    self.count(completion.usage);
                    return Ok(completion);
                }
                Streamed::Broken(message) => {
                    return Err(LlmError::BadResponse {
                        base_url: self.inner.config.base_url.clone(),
                        message,
                    })
                }
                Streamed::NotStarted(Attempt::Answer {
                    status,
                    retry_after,
                    body: text,
                }) => {
                    let parsed: Option<Value> = serde_json::from_str(&text).ok();
                    self.retry_after_error(
                        status,
                        retry_after,
                        error_excerpt(parsed.as_ref(), &text),
                        retries,
                    )?
                }
                Streamed::NotStarted(Attempt::TimedOut) => self.retry_after_timeout(retries)?,
                Streamed::NotStarted(Attempt::Failed(message)) => {
                    self.retry_after_failure(message, retries)?
                }
            };
            retries += 1;
            tokio::time::sleep(backoff).await;
        }
    }

    /// One streamed request: the completion, or why it failed before or after content went out.
    async fn stream_attempt(
        &self,
        body: &Value,
        on_delta: &(dyn Fn(&str) + Send + Sync),
    ) -> Streamed {
        let sent = self
            .inner
            .http
            .post(&self.inner.endpoint)
            .json(body)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => return Streamed::NotStarted(transport_failure(&e)),
        };
        let status = response.status().as_u16();
        let is_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !(200..300).contains(&status) || !is_stream {
            let whole = match self.attempt_from(response).await {
                Attempt::Answer {
                    status: 200..=299,
                    body: text,
                    ..
                } => text,
                other => return Streamed::NotStarted(other),
            };
            let parsed: Option<Value> = serde_json::from_str(&whole).ok();
            let usage = parsed.as_ref().and_then(read_usage).unwrap_or_default();
            return match parsed
                .as_ref()
                .ok_or_else(|| format!("the body is not JSON: {}", excerpt(&whole)))
                .and_then(read_content)
            {
                Ok(content) => {
                    on_delta(&content);
                    Streamed::Done(Completion { content, usage })
                }
                Err(message) => Streamed::Broken(message),
            };
        }
        let mut reader = StreamReader::default();
        loop {
            match response.chunk().await {
                Ok(Some(bytes)) => {
                    if let Err(message) = reader.feed(&bytes, on_delta) {
                        return Streamed::Broken(message);
                    }
                    if reader.done {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) if reader.content.is_empty() => {
                    return Streamed::NotStarted(transport_failure(&e))
                }
                Err(e) => {
                    return Streamed::Broken(format!(
                        "the stream broke after part of the answer: {e}"
                    ))
                }
            }
        }
        if reader.content.is_empty() {
            return Streamed::Broken("the stream carried no content".to_string());
        }
        Streamed::Done(Completion {
            content: reader.content,
            usage: reader.usage,
        })
    }

    /// Asks for JSON matching `schema` and returns it with the tokens used. The answer is
    /// extracted with [`extract_json`] and validated; an invalid one is sent back with the
    /// validation errors and a request to correct it, up to `max_repairs` times, after which
    /// the call fails with [`LlmError::InvalidOutput`] naming the last errors. Usage
    /// accumulates over all turns.
    pub async fn chat_json(
        &self,
        messages: &[Message],
        schema: &Value,
        max_repairs: u32,
    ) -> Result<(Value, Usage), LlmError> {
        let validator = jsonschema::validator_for(schema)
            .map_err(|e| LlmError::InvalidSchema(e.to_string()))?;
        let name = schema
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("output")
            .to_string();
        let mut conversation = messages.to_vec();
        let mut usage = Usage::default();
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let completion = self
                .chat(
                    &conversation,
                    ResponseFormat::JsonSchema {
                        name: name.clone(),
                        schema: schema.clone(),
                    },
                )
                .await?;
            usage += completion.usage;
            let errors = match extract_json(&completion.content) {
                None => vec![
                    "/: the answer contains no JSON value; answer with the JSON object only"
                        .to_string(),
                ],
                Some(value) => {
                    let errors: Vec<String> = validator
                        .iter_errors(&value)
                        .take(MAX_VALIDATION_ERRORS)
                        .map(|e| {
                            let pointer = e.instance_path.as_str();
                            let pointer = if pointer.is_empty() { "/" } else { pointer };
                            format!("{pointer}: {e}")
                        })
                        .collect();
                    if errors.is_empty() {
                        return Ok((value, usage));
                    }
                    errors
                }
            };
            if attempts > max_repairs {
                return Err(LlmError::InvalidOutput {
                    errors,
                    attempts,
                    last_answer: completion.content,
                    usage,
                });
            }
            tracing::debug!(
                attempt = attempts,
                errors = errors.len(),
                "the LLM's answer does not match the schema; asking for a repair"
            );
            let mut repair = String::from(
                "Your answer does not match the required JSON Schema. Validation errors \
                 (JSON pointer: message):\n",
            );
            for error in &errors {
                repair.push_str("- ");
                repair.push_str(error);
                repair.push('\n');
            }
            repair.push_str(
                "Answer again with only the corrected JSON, conforming to the schema, and \
                 nothing else.",
            );
            conversation.push(Message::assistant(completion.content));
            conversation.push(Message::user(repair));
        }
    }

    fn count(&self, usage: Usage) {
        self.inner
            .prompt_tokens
            .fetch_add(usage.prompt_tokens, Ordering::Relaxed);
        self.inner
            .completion_tokens
            .fetch_add(usage.completion_tokens, Ordering::Relaxed);
    }

    /// `backoff_base × 2^retries`, capped, with jitter: between half and all of it.
    fn backoff(&self, retries: u32) -> Duration {
        let base = self.inner.config.backoff_base;
        let full = base
            .checked_mul(1u32 << retries.min(20))
            .unwrap_or(MAX_BACKOFF)
            .min(MAX_BACKOFF);
        let mut hasher = self.inner.jitter.build_hasher();
        hasher.write_u32(retries);
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        let fraction = (hasher.finish() % 1_000) as f64 / 1_000.0;
        full.mul_f64(0.5 + fraction / 2.0)
    }

    /// The request body for `format` at capability `level`, and the level actually used
    /// (`LEVEL_TEXT` when no `response_format` is sent).
    fn request_body(
        &self,
        messages: &[Message],
        format: &ResponseFormat,
        level: u8,
    ) -> (Value, u8) {
        let config = &self.inner.config;
        let mut messages = messages.to_vec();
        let (response_format, wire_level) = match format {
            ResponseFormat::Text => (None, LEVEL_TEXT),
            ResponseFormat::JsonObject => {
                if level >= LEVEL_TEXT {
                    add_instruction(
                        &mut messages,
                        "Answer with only a JSON object, nothing else.",
                    );
                    (None, LEVEL_TEXT)
                } else {
                    // OpenAI refuses json_object unless the conversation mentions JSON.
                    if !messages
                        .iter()
                        .any(|m| m.content.to_lowercase().contains("json"))
                    {
                        add_instruction(&mut messages, "Answer with a JSON object.");
                    }
                    (Some(json!({"type": "json_object"})), LEVEL_JSON_OBJECT)
                }
            }
            ResponseFormat::JsonSchema { name, schema } => match level {
                LEVEL_JSON_SCHEMA => (
                    Some(json!({
                        "type": "json_schema",
                        "json_schema": {
                            "name": schema_name(name),
                            "schema": schema,
                            "strict": true,
                        }
                    })),
                    LEVEL_JSON_SCHEMA,
                ),
                LEVEL_JSON_OBJECT => {
                    add_instruction(&mut messages, &schema_instruction(schema));
                    (Some(json!({"type": "json_object"})), LEVEL_JSON_OBJECT)
                }
                _ => {
                    add_instruction(&mut messages, &schema_instruction(schema));
                    (None, LEVEL_TEXT)
                }
            },
        };
        let mut body = json!({
            "model": config.model,
            "messages": messages,
            "temperature": config.temperature,
            "stream": false,
        });
        if let (Some(format), Some(object)) = (response_format, body.as_object_mut()) {
            object.insert("response_format".to_string(), format);
        }
        (body, wire_level)
    }

    async fn attempt(&self, body: &Value) -> Attempt {
        let sent = self
            .inner
            .http
            .post(&self.inner.endpoint)
            .json(body)
            .send()
            .await;
        match sent {
            Ok(response) => self.attempt_from(response).await,
            Err(e) => transport_failure(&e),
        }
    }

    /// What an answer carried: its status, `Retry-After` and body.
    async fn attempt_from(&self, response: reqwest::Response) -> Attempt {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(MAX_RETRY_AFTER.as_secs_f64())));
        match response.text().await {
            Ok(body) => Attempt::Answer {
                status,
                retry_after,
                body,
            },
            Err(e) => transport_failure(&e),
        }
    }
}

/// What a streamed attempt got.
enum Streamed {
    /// The whole answer.
    Done(Completion),
    /// It failed before any content went out: retried like any attempt.
    NotStarted(Attempt),
    /// It failed after content went out, or the server answered something unreadable.
    Broken(String),
}

/// Reads the `data:` lines of a chat-completions stream as they arrive.
#[derive(Default)]
struct StreamReader {
    /// Bytes of a line not yet ended.
    pending: Vec<u8>,
    content: String,
    usage: Usage,
    /// `data: [DONE]` was read.
    done: bool,
}

impl StreamReader {
    /// Takes `bytes`, handing each content delta of a whole line to `on_delta`.
    fn feed(
        &mut self,
        bytes: &[u8],
        on_delta: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<(), String> {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let Some(data) = line.trim_end_matches(['\r', '\n']).strip_prefix("data:") else {
                continue;
            };
            let data = data.trim();
            if data == "[DONE]" {
                self.done = true;
                return Ok(());
            }
            let Ok(chunk) = serde_json::from_str::<Value>(data) else {
                return Err(format!("a stream event is not JSON: {}", excerpt(data)));
            };
            if let Some(error) = chunk.get("error") {
                return Err(format!(
                    "the stream ended with an error: {}",
                    excerpt(&error.to_string())
                ));
            }
            if let Some(usage) = read_usage(&chunk) {
                self.usage = usage;
            }
            let delta = chunk
                .pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !delta.is_empty() {
                self.content.push_str(delta);
                on_delta(delta);
            }
        }
        Ok(())
    }
}

fn transport_failure(error: &reqwest::Error) -> Attempt {
    if error.is_timeout() {
        return Attempt::TimedOut;
    }
    // The chain names the cause ("Connection refused"), which the top error often does not.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    Attempt::Failed(message)
}

fn level_name(level: u8) -> &'static str {
    match level {
        LEVEL_JSON_SCHEMA => "json_schema",
        LEVEL_JSON_OBJECT => "json_object",
        _ => "text",
    }
}

/// Whether an error body says the `response_format` asked for is not supported.
fn refuses_response_format(body: &str) -> bool {
    let body = body.to_lowercase();
    [
        "response_format",
        "response format",
        "json_schema",
        "json_object",
        "not supported",
        "unsupported",
    ]
    .iter()
    .any(|needle| body.contains(needle))
}

/// Whether a refusal blames this schema rather than the feature.
fn blames_schema(body: &str) -> bool {
    body.to_lowercase().contains("invalid schema")
}

/// Adds an instruction to the last user message (or a new user message when there is none):
/// some chat templates accept a system message only in first place.
fn add_instruction(messages: &mut Vec<Message>, instruction: &str) {
    match messages.iter_mut().rev().find(|m| m.role == Role::User) {
        Some(message) => {
            message.content.push_str("\n\n");
            message.content.push_str(instruction);
        }
        None => messages.push(Message::user(instruction)),
    }
}

fn schema_instruction(schema: &Value) -> String {
    let schema = serde_json::to_string_pretty(schema).unwrap_or_else(|_| schema.to_string());
    format!(
        "Answer with only a JSON value that conforms to this JSON Schema, with no other \
         text:\n```json\n{schema}\n```"
    )
}

/// OpenAI accepts `^[a-zA-Z0-9_-]{1,64}$` as a schema name.
fn schema_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "output".to_string()
    } else {
        cleaned
    }
}

fn read_usage(body: &Value) -> Option<Usage> {
    let usage = body.get("usage")?;
    let field = |name: &str| usage.get(name).and_then(Value::as_u64).unwrap_or(0);
    Some(Usage {
        prompt_tokens: field("prompt_tokens"),
        completion_tokens: field("completion_tokens"),
    })
}

fn read_content(body: &Value) -> Result<String, String> {
    let message = body
        .get("choices")
        .and_then(|c| c.get(0))
        .and_then(|c| c.get("message"))
        .ok_or_else(|| format!("no choices[0].message in {}", excerpt(&body.to_string())))?;
    match message.get("content") {
        Some(Value::String(content)) => Ok(content.clone()),
        _ => match message.get("refusal").and_then(Value::as_str) {
            Some(refusal) => Err(format!("the model refused: {}", excerpt(refusal))),
            None => Err("choices[0].message.content is missing or not text".to_string()),
        },
    }
}

/// The most useful part of an error body: OpenAI-style `error.message`, else the body.
fn error_excerpt(parsed: Option<&Value>, text: &str) -> String {
    let message = parsed.and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("error"))
            .or_else(|| v.get("message"))
            .or_else(|| v.get("detail"))
            .and_then(Value::as_str)
    });
    excerpt(message.unwrap_or(text))
}

/// `text` with whitespace collapsed, cut to [`BODY_EXCERPT_CHARS`] characters.
fn excerpt(text: &str) -> String {
    let collapsed = collapse_whitespace(text);
    if collapsed.chars().count() <= BODY_EXCERPT_CHARS {
        collapsed
    } else {
        let cut: String = collapsed.chars().take(BODY_EXCERPT_CHARS).collect();
        format!("{cut}…")
    }
}

/// Finds the JSON value in a model's answer: the whole answer when it is JSON, else the
/// content of the first ```` ``` ```` fence that parses, else the longest `{…}` or `[…]`
/// that parses, with prose before and after ignored. `<think>…</think>` blocks (reasoning
/// models) are skipped. `None` when there is no JSON value in the text.
pub fn extract_json(text: &str) -> Option<Value> {
    let text = strip_think(text);
    let trimmed = text.trim();
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        return Some(value);
    }
    // Fenced blocks: ```json\n…\n``` or ```\n…\n```.
    let mut rest = trimmed;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let Some(end) = after.find("```") else { break };
        let block = &after[..end];
        // Drop a language tag on the fence's line.
        let inner = match block.find('\n') {
            Some(newline) if !block[..newline].trim_start().starts_with(['{', '[']) => {
                &block[newline + 1..]
            }
            _ => block,
        };
        if let Ok(value) = serde_json::from_str::<Value>(inner.trim()) {
            return Some(value);
        }
        rest = &after[end + 3..];
    }
    // The longest object or array that parses, so that a citation marker like `[1]` in the
    // prose before the answer is not taken for it. Values inside a parsed one are skipped.
    let mut best: Option<(usize, Value)> = None;
    let mut covered_until = 0;
    for (index, _) in trimmed.match_indices(['{', '[']).take(256) {
        if index < covered_until {
            continue;
        }
        let mut values = serde_json::Deserializer::from_str(&trimmed[index..]).into_iter::<Value>();
        if let Some(Ok(value)) = values.next() {
            let length = values.byte_offset();
            covered_until = index + length;
            if best.as_ref().is_none_or(|(longest, _)| length > *longest) {
                best = Some((length, value));
            }
        }
    }
    best.map(|(_, value)| value)
}

/// `text` without `<think>…</think>` blocks (an unclosed one runs to the end).
fn strip_think(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<think>") {
        out.push_str(&rest[..start]);
        match rest[start..].find("</think>") {
            Some(end) => rest = &rest[start + end + "</think>".len()..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}
