//! The LLM client against a scripted OpenAI-compatible server on loopback: the only fake
//! allowed, since no LLM can run here. The server answers from a queue of canned responses
//! and records every request it receives.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use parallax_engine::llm::{
    extract_json, LlmClient, LlmConfig, LlmError, Message, ResponseFormat, Role, Usage,
};
use serde_json::{json, Value};

/// One canned answer.
struct Canned {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

impl Canned {
    /// A 200 chat completion with `content` and the given token counts.
    fn ok(content: &str, prompt_tokens: u64, completion_tokens: u64) -> Self {
        Canned {
            status: 200,
            headers: Vec::new(),
            body: json!({
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": "test-model",
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop"
                }],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens
                }
            })
            .to_string(),
            delay: Duration::ZERO,
        }
    }

    fn status(status: u16, body: &str) -> Self {
        Canned {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }

    fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Value,
}

#[derive(Clone, Default)]
struct Script {
    queue: Arc<Mutex<VecDeque<Canned>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Script {
    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    fn remaining(&self) -> usize {
        self.queue.lock().expect("lock").len()
    }
}

async fn answer(
    State(script): State<Script>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    script.received.lock().expect("lock").push(Received {
        path: uri.path().to_string(),
        headers,
        body,
    });
    let canned = script.queue.lock().expect("lock").pop_front();
    let Some(canned) = canned else {
        return (StatusCode::IM_A_TEAPOT, "the script has no answer left").into_response();
    };
    if !canned.delay.is_zero() {
        tokio::time::sleep(canned.delay).await;
    }
    let mut response = (
        StatusCode::from_u16(canned.status).expect("status"),
        canned.body,
    )
        .into_response();
    response.headers_mut().insert(
        HeaderName::from_static("content-type"),
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in canned.headers {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).expect("header"),
        );
    }
    response
}

/// Starts the scripted server; returns its `base_url` (ending in `/v1`) and the script.
async fn serve(answers: Vec<Canned>) -> (String, Script) {
    let script = Script::default();
    script.queue.lock().expect("lock").extend(answers);
    let app = Router::new()
        .route("/v1/chat/completions", post(answer))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}/v1"), script)
}

/// A client with fast retries, suited to tests.
fn client(base_url: &str) -> LlmClient {
    let mut config = LlmConfig::new(base_url, "test-model");
    config.backoff_base = Duration::from_millis(5);
    config.timeout = Duration::from_secs(5);
    LlmClient::new(config).expect("client")
}

fn person_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "founded": {"type": "integer"}
        },
        "required": ["name", "founded"],
        "additionalProperties": false
    })
}

fn question() -> Vec<Message> {
    vec![
        Message::system("You extract facts."),
        Message::user("Who founded Zorblax and when?"),
    ]
}

fn messages_of(request: &Received) -> Vec<Value> {
    request.body["messages"]
        .as_array()
        .expect("messages array")
        .clone()
}

#[tokio::test]
async fn request_has_the_openai_shape() {
    let (base_url, script) =
        serve(vec![Canned::ok(r#"{"name":"Ada","founded":1999}"#, 12, 7)]).await;
    let mut config = LlmConfig::new(format!("{base_url}/"), "test-model");
    config.api_key = Some("sk-secret-123".to_string());
    config.temperature = 0.0;
    let client = LlmClient::new(config).expect("client");
    let schema = person_schema();
    let completion = client
        .chat(
            &question(),
            ResponseFormat::JsonSchema {
                name: "person record".to_string(),
                schema: schema.clone(),
            },
        )
        .await
        .expect("chat");
    assert_eq!(completion.content, r#"{"name":"Ada","founded":1999}"#);
    assert_eq!(
        completion.usage,
        Usage {
            prompt_tokens: 12,
            completion_tokens: 7
        }
    );

    let received = script.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(
        request
            .headers
            .get("authorization")
            .map(|v| v.to_str().expect("ascii")),
        Some("Bearer sk-secret-123")
    );
    assert_eq!(request.body["model"], "test-model");
    assert_eq!(request.body["temperature"], json!(0.0));
    assert_eq!(request.body["stream"], json!(false));
    assert_eq!(
        request.body["messages"],
        json!([
            {"role": "system", "content": "You extract facts."},
            {"role": "user", "content": "Who founded Zorblax and when?"}
        ])
    );
    assert_eq!(
        request.body["response_format"],
        json!({
            "type": "json_schema",
            "json_schema": {"name": "person_record", "schema": schema, "strict": true}
        })
    );
}

#[tokio::test]
async fn text_format_sends_no_response_format_nor_key_when_none() {
    let (base_url, script) = serve(vec![Canned::ok("Zorblax was founded in 1999.", 3, 4)]).await;
    let mut config = LlmConfig::new(&base_url, "other-model");
    config.temperature = 0.7;
    let client = LlmClient::new(config).expect("client");
    let completion = client
        .chat(&[Message::user("When?")], ResponseFormat::Text)
        .await
        .expect("chat");
    assert_eq!(completion.content, "Zorblax was founded in 1999.");
    let received = script.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].headers.get("authorization").is_none());
    assert!(received[0].body.get("response_format").is_none());
    assert_eq!(received[0].body["model"], "other-model");
    let temperature = received[0].body["temperature"].as_f64().expect("number");
    assert!((temperature - 0.7).abs() < 1e-6, "{temperature}");
}

#[tokio::test]
async fn structured_output_happy_path() {
    let (base_url, script) = serve(vec![Canned::ok(
        r#"{"name":"Ada Quill","founded":1987}"#,
        20,
        9,
    )])
    .await;
    let client = client(&base_url);
    let (value, usage) = client
        .chat_json(&question(), &person_schema(), 2)
        .await
        .expect("chat_json");
    assert_eq!(value, json!({"name": "Ada Quill", "founded": 1987}));
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: 20,
            completion_tokens: 9
        }
    );
    let received = script.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body["response_format"]["type"], "json_schema");
    assert_eq!(
        received[0].body["response_format"]["json_schema"]["schema"],
        person_schema()
    );
}

#[tokio::test]
async fn invalid_answer_is_repaired_and_usage_is_summed() {
    let (base_url, script) = serve(vec![
        Canned::ok(r#"{"name":"Ada Quill","founded":"nineteen"}"#, 20, 9),
        Canned::ok(r#"{"name":"Ada Quill","founded":1987}"#, 40, 8),
    ])
    .await;
    let client = client(&base_url);
    let (value, usage) = client
        .chat_json(&question(), &person_schema(), 2)
        .await
        .expect("chat_json");
    assert_eq!(value, json!({"name": "Ada Quill", "founded": 1987}));
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: 60,
            completion_tokens: 17
        }
    );
    assert_eq!(client.total_usage(), usage);

    let received = script.received();
    assert_eq!(received.len(), 2);
    let first = messages_of(&received[0]);
    let second = messages_of(&received[1]);
    assert_eq!(first.len(), 2);
    assert_eq!(second.len(), 4);
    assert_eq!(second[..2], first[..]);
    assert_eq!(second[2]["role"], "assistant");
    assert_eq!(
        second[2]["content"],
        r#"{"name":"Ada Quill","founded":"nineteen"}"#
    );
    assert_eq!(second[3]["role"], "user");
    let repair = second[3]["content"].as_str().expect("text");
    assert!(repair.contains("/founded"), "{repair}");
    assert!(
        repair.contains("\"nineteen\" is not of type \"integer\""),
        "{repair}"
    );
    assert!(!repair.contains("/name"), "{repair}");
}

#[tokio::test]
async fn repairs_are_bounded_and_the_error_names_the_violation() {
    let (base_url, script) = serve(vec![
        Canned::ok(r#"{"name":"Ada"}"#, 5, 5),
        Canned::ok(r#"{"name":"Ada"}"#, 6, 6),
        Canned::ok(r#"{"name":"Ada","founded":1}"#, 7, 7),
    ])
    .await;
    let client = client(&base_url);
    let error = client
        .chat_json(&question(), &person_schema(), 1)
        .await
        .expect_err("never valid");
    match &error {
        LlmError::InvalidOutput {
            errors,
            attempts,
            last_answer,
            usage,
        } => {
            assert_eq!(*attempts, 2);
            assert_eq!(last_answer, r#"{"name":"Ada"}"#);
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(errors[0].starts_with("/: "), "{errors:?}");
            assert!(
                errors[0].contains("\"founded\" is a required property"),
                "{errors:?}"
            );
            assert_eq!(
                *usage,
                Usage {
                    prompt_tokens: 11,
                    completion_tokens: 11
                }
            );
        }
        other => panic!("expected InvalidOutput, got {other:?}"),
    }
    assert!(error.to_string().contains("founded"), "{error}");
    assert_eq!(script.received().len(), 2);
    assert_eq!(script.remaining(), 1);
}

#[tokio::test]
async fn answer_without_json_is_repaired() {
    let (base_url, script) = serve(vec![
        Canned::ok("I could not find that.", 1, 1),
        Canned::ok(r#"{"name":"Ada","founded":2001}"#, 1, 1),
    ])
    .await;
    let client = client(&base_url);
    let (value, _) = client
        .chat_json(&question(), &person_schema(), 1)
        .await
        .expect("chat_json");
    assert_eq!(value["founded"], 2001);
    let received = script.received();
    assert_eq!(received.len(), 2);
    let repair = messages_of(&received[1])[3]["content"]
        .as_str()
        .expect("text")
        .to_string();
    assert!(repair.contains("no JSON value"), "{repair}");
}

#[tokio::test]
async fn fenced_json_with_prose_is_accepted() {
    let answer = "Sure! Here is the record:\n```json\n{\"name\": \"Ada\", \"founded\": 1999}\n```\nLet me know if you need more.";
    let (base_url, script) = serve(vec![Canned::ok(answer, 2, 3)]).await;
    let client = client(&base_url);
    let (value, _) = client
        .chat_json(&question(), &person_schema(), 0)
        .await
        .expect("chat_json");
    assert_eq!(value, json!({"name": "Ada", "founded": 1999}));
    assert_eq!(script.received().len(), 1);
}

#[test]
fn extract_json_tolerates_what_models_write() {
    assert_eq!(extract_json(r#" {"a": 1} "#), Some(json!({"a": 1})));
    assert_eq!(
        extract_json("```\n{\"a\": [1, 2]}\n```"),
        Some(json!({"a": [1, 2]}))
    );
    assert_eq!(
        extract_json("```JSON\n{\"a\": true}\n```"),
        Some(json!({"a": true}))
    );
    assert_eq!(
        extract_json("The answer is {\"a\": \"x}\"} as requested. {\"b\": 2}"),
        Some(json!({"a": "x}"}))
    );
    assert_eq!(
        extract_json("<think>maybe {\"a\": 0}?</think>\n{\"a\": 3}"),
        Some(json!({"a": 3}))
    );
    assert_eq!(extract_json("Items: [1, 2, 3]."), Some(json!([1, 2, 3])));
    assert_eq!(
        extract_json("```python\nprint(1)\n```\n```json\n{\"a\": 4}\n```"),
        Some(json!({"a": 4}))
    );
    // Citation markers in the prose are not the answer.
    assert_eq!(
        extract_json("Based on [1] and [2]:\n```json\n{\"a\": 5}\n```"),
        Some(json!({"a": 5}))
    );
    assert_eq!(
        extract_json("According to [1], the record is {\"a\": [6]}."),
        Some(json!({"a": [6]}))
    );
    assert_eq!(
        extract_json("Here: [{\"a\": 7}, {\"a\": 8}] (two items)"),
        Some(json!([{"a": 7}, {"a": 8}]))
    );
    // A fence is the model's deliberate answer, even beside longer JSON in the prose.
    assert_eq!(
        extract_json("Not {\"a\": 1, \"b\": 2, \"c\": 3} but:\n```json\n{\"a\": 9}\n```"),
        Some(json!({"a": 9}))
    );
    assert_eq!(extract_json("no json {here"), None);
    assert_eq!(extract_json(""), None);
}

#[tokio::test]
async fn retry_after_zero_is_honoured_on_429() {
    let (base_url, script) = serve(vec![
        Canned::status(429, r#"{"error":{"message":"slow down"}}"#).header("retry-after", "0"),
        Canned::ok("fine", 1, 2),
    ])
    .await;
    let mut config = LlmConfig::new(&base_url, "test-model");
    // A backoff this long would make the test slow: only Retry-After: 0 keeps it fast.
    config.backoff_base = Duration::from_secs(5);
    let client = LlmClient::new(config).expect("client");
    let started = Instant::now();
    let completion = client
        .chat(&[Message::user("hi")], ResponseFormat::Text)
        .await
        .expect("chat");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(completion.content, "fine");
    assert_eq!(script.received().len(), 2);
}

#[tokio::test]
async fn retry_after_seconds_is_waited_for() {
    let (base_url, script) = serve(vec![
        Canned::status(503, "busy").header("retry-after", "1"),
        Canned::ok("fine", 1, 2),
    ])
    .await;
    let client = client(&base_url);
    let started = Instant::now();
    client
        .chat(&[Message::user("hi")], ResponseFormat::Text)
        .await
        .expect("chat");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(script.received().len(), 2);
}

#[tokio::test]
async fn two_503_then_success() {
    let (base_url, script) = serve(vec![
        Canned::status(503, "overloaded"),
        Canned::status(503, "overloaded"),
        Canned::ok("third time lucky", 4, 5),
    ])
    .await;
    let client = client(&base_url);
    let completion = client
        .chat(&[Message::user("hi")], ResponseFormat::Text)
        .await
        .expect("chat");
    assert_eq!(completion.content, "third time lucky");
    assert_eq!(
        completion.usage,
        Usage {
            prompt_tokens: 4,
            completion_tokens: 5
        }
    );
    let received = script.received();
    assert_eq!(received.len(), 3);
    assert_eq!(received[0].body, received[2].body);
}

#[tokio::test]
async fn retries_are_bounded_and_usage_of_error_answers_counts() {
    let usage_body = json!({
        "error": {"message": "upstream exploded"},
        "usage": {"prompt_tokens": 3, "completion_tokens": 1}
    })
    .to_string();
    let (base_url, script) = serve(vec![
        Canned::status(500, &usage_body),
        Canned::status(502, &usage_body),
        Canned::ok("never reached", 1, 1),
    ])
    .await;
    let mut config = LlmConfig::new(&base_url, "test-model");
    config.backoff_base = Duration::from_millis(5);
    config.max_retries = 1;
    let client = LlmClient::new(config).expect("client");
    let error = client
        .chat(&[Message::user("hi")], ResponseFormat::Text)
        .await
        .expect_err("exhausted");
    match &error {
        LlmError::Status {
            status,
            attempts,
            body,
            ..
        } => {
            assert_eq!(*status, 502);
            assert_eq!(*attempts, 2);
            assert_eq!(body, "upstream exploded");
        }
        other => panic!("expected Status, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "the LLM at {base_url} answered 502: upstream exploded"
        )),
        "{message}"
    );
    assert!(message.contains("2 attempt(s)"), "{message}");
    assert_eq!(script.received().len(), 2);
    assert_eq!(
        client.total_usage(),
        Usage {
            prompt_tokens: 6,
            completion_tokens: 2
        }
    );
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let (base_url, script) = serve(vec![
        Canned::ok("late", 1, 1).delayed(Duration::from_secs(3)),
        Canned::ok("late", 1, 1).delayed(Duration::from_secs(3)),
        Canned::ok("never asked", 1, 1),
    ])
    .await;
    let mut config = LlmConfig::new(&base_url, "test-model");
    config.timeout = Duration::from_millis(200);
    config.max_retries = 1;
    config.backoff_base = Duration::from_millis(5);
    let client = LlmClient::new(config).expect("client");
    let started = Instant::now();
    let error = client
        .chat(&[Message::user("hi")], ResponseFormat::Text)
        .await
        .expect_err("timeout");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    match &error {
        LlmError::Timeout {
            attempts, timeout, ..
        } => {
            assert_eq!(*attempts, 2);
            assert_eq!(*timeout, Duration::from_millis(200));
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(error.to_string().contains(&base_url), "{error}");
    assert_eq!(script.received().len(), 2);
}

#[tokio::test]
async fn timeout_then_success() {
    let (base_url, script) = serve(vec![
        Canned::ok("late", 1, 1).delayed(Duration::from_secs(3)),
        Canned::ok("on time", 1, 1),
    ])
    .await;
    let mut config = LlmConfig::new(&base_url, "test-model");
    config.timeout = Duration::from_millis(200);
    config.max_retries = 1;
    config.backoff_base = Duration::from_millis(5);
    let client = LlmClient::new(config).expect("client");
    let completion = client
        .chat(&[Message::user("hi")], ResponseFormat::Text)
        .await
        .expect("chat");
    assert_eq!(completion.content, "on time");
    assert_eq!(script.received().len(), 2);
}

#[tokio::test]
async fn unauthorized_is_not_retried_and_says_to_check_the_key() {
    let (base_url, script) = serve(vec![
        Canned::status(401, r#"{"error":{"message":"Incorrect API key provided"}}"#),
        Canned::ok("never reached", 1, 1),
    ])
    .await;
    let mut config = LlmConfig::new(&base_url, "test-model");
    config.api_key = Some("sk-wrong-456".to_string());
    config.backoff_base = Duration::from_millis(5);
    let client = LlmClient::new(config).expect("client");
    let error = client
        .chat(&[Message::user("hi")], ResponseFormat::Text)
        .await
        .expect_err("401");
    assert!(
        matches!(
            error,
            LlmError::Status {
                status: 401,
                attempts: 1,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert_eq!(
        message,
        format!(
            "the LLM at {base_url} answered 401: Incorrect API key provided; check --llm-api-key"
        )
    );
    assert!(!format!("{error:?}").contains("sk-wrong-456"));
    assert_eq!(script.received().len(), 1);
}

#[tokio::test]
async fn other_400_is_not_retried_and_does_not_fall_back() {
    let (base_url, script) = serve(vec![
        Canned::status(400, r#"{"error":{"message":"model 'nope' not found"}}"#),
        Canned::ok("never reached", 1, 1),
    ])
    .await;
    let client = client(&base_url);
    let error = client
        .chat_json(&question(), &person_schema(), 2)
        .await
        .expect_err("400");
    assert!(
        matches!(error, LlmError::Status { status: 400, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("model 'nope' not found"),
        "{error}"
    );
    assert_eq!(script.received().len(), 1);
    assert!(!client.json_schema_refused());
}

#[tokio::test]
async fn refused_json_schema_falls_back_to_json_object_and_is_remembered() {
    let (base_url, script) = serve(vec![
        Canned::status(
            400,
            r#"{"error":{"message":"response_format type json_schema is not supported"}}"#,
        ),
        Canned::ok(r#"{"name":"Ada","founded":1999}"#, 10, 5),
        Canned::ok(r#"{"name":"Bob","founded":2000}"#, 10, 5),
    ])
    .await;
    let client = client(&base_url);
    let schema = person_schema();
    let (value, _) = client
        .chat_json(&question(), &schema, 1)
        .await
        .expect("chat_json");
    assert_eq!(value["name"], "Ada");
    assert!(client.json_schema_refused());
    let (value, _) = client
        .chat_json(&question(), &schema, 1)
        .await
        .expect("chat_json");
    assert_eq!(value["name"], "Bob");

    let received = script.received();
    assert_eq!(received.len(), 3);
    assert_eq!(received[0].body["response_format"]["type"], "json_schema");
    for request in &received[1..] {
        assert_eq!(
            request.body["response_format"],
            json!({"type": "json_object"})
        );
        let messages = messages_of(request);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0]["content"], "You extract facts.");
        let prompt = messages[1]["content"].as_str().expect("text");
        assert!(
            prompt.starts_with("Who founded Zorblax and when?"),
            "{prompt}"
        );
        assert!(prompt.contains("JSON Schema"), "{prompt}");
        assert!(prompt.contains("\"founded\""), "{prompt}");
        assert!(
            prompt.contains("\"additionalProperties\": false"),
            "{prompt}"
        );
    }
}

#[tokio::test]
async fn refused_json_object_falls_back_to_the_schema_in_the_prompt() {
    let (base_url, script) = serve(vec![
        Canned::status(
            400,
            r#"{"error":"response_format is not supported by this server"}"#,
        ),
        Canned::status(
            400,
            r#"{"error":"response_format is not supported by this server"}"#,
        ),
        Canned::ok("```json\n{\"name\":\"Ada\",\"founded\":1999}\n```", 1, 1),
    ])
    .await;
    let client = client(&base_url);
    let (value, _) = client
        .chat_json(&question(), &person_schema(), 0)
        .await
        .expect("chat_json");
    assert_eq!(value["founded"], 1999);
    let received = script.received();
    assert_eq!(received.len(), 3);
    assert_eq!(received[0].body["response_format"]["type"], "json_schema");
    assert_eq!(received[1].body["response_format"]["type"], "json_object");
    assert!(received[2].body.get("response_format").is_none());
    let prompt = messages_of(&received[2])[1]["content"]
        .as_str()
        .expect("text")
        .to_string();
    assert!(prompt.contains("\"founded\""), "{prompt}");
}

#[tokio::test]
async fn a_refused_schema_falls_back_for_that_request_only() {
    let refusal = r#"{"error":{"message":"Invalid schema for response_format 'output': 'additionalProperties' is required to be supplied and to be false"}}"#;
    let (base_url, script) = serve(vec![
        Canned::status(400, refusal),
        Canned::ok(r#"{"name":"Ada","founded":1999}"#, 1, 1),
        Canned::ok(r#"{"name":"Bob","founded":2000}"#, 1, 1),
    ])
    .await;
    let client = client(&base_url);
    client
        .chat_json(&question(), &person_schema(), 0)
        .await
        .expect("first");
    assert!(!client.json_schema_refused());
    client
        .chat_json(&question(), &person_schema(), 0)
        .await
        .expect("second");
    let received = script.received();
    assert_eq!(received.len(), 3);
    assert_eq!(received[1].body["response_format"]["type"], "json_object");
    assert_eq!(received[2].body["response_format"]["type"], "json_schema");
}

#[tokio::test]
async fn unreachable_server_is_retried_then_reported() {
    // A port nothing listens on: bind, note it, close.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let base_url = format!("http://{address}/v1");
    let mut config = LlmConfig::new(&base_url, "test-model");
    config.max_retries = 2;
    config.backoff_base = Duration::from_millis(5);
    let client = LlmClient::new(config).expect("client");
    let error = client
        .chat(&[Message::user("hi")], ResponseFormat::Text)
        .await
        .expect_err("unreachable");
    assert!(
        matches!(error, LlmError::Unreachable { attempts: 3, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&base_url), "{message}");
    assert!(message.contains("check --llm-base-url"), "{message}");
}

#[tokio::test]
async fn usage_is_summed_over_calls_on_the_client() {
    let (base_url, _script) =
        serve(vec![Canned::ok("one", 100, 10), Canned::ok("two", 200, 20)]).await;
    let client = client(&base_url);
    let clone = client.clone();
    let first = client
        .chat(&[Message::user("a")], ResponseFormat::Text)
        .await
        .expect("first");
    let second = clone
        .chat(&[Message::user("b")], ResponseFormat::Text)
        .await
        .expect("second");
    assert_eq!(first.usage.total(), 110);
    assert_eq!(second.usage.total(), 220);
    assert_eq!(
        client.total_usage(),
        Usage {
            prompt_tokens: 300,
            completion_tokens: 30
        }
    );
}

#[tokio::test]
async fn malformed_success_is_a_clear_error() {
    let (base_url, _script) = serve(vec![Canned::status(200, r#"{"choices": []}"#)]).await;
    let client = client(&base_url);
    let error = client
        .chat(&[Message::user("a")], ResponseFormat::Text)
        .await
        .expect_err("no choices");
    assert!(matches!(error, LlmError::BadResponse { .. }), "{error:?}");
    assert!(error.to_string().contains("choices[0].message"), "{error}");
}

#[test]
fn config_debug_redacts_the_key_and_new_checks_it() {
    let mut config = LlmConfig::new("http://localhost:11434/v1", "m");
    config.api_key = Some("sk-very-secret".to_string());
    let debug = format!("{config:?}");
    assert!(!debug.contains("sk-very-secret"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
    assert_eq!(config.timeout, Duration::from_secs(120));
    assert_eq!(config.max_retries, 4);
    assert_eq!(config.temperature, 0.0);

    let client = LlmClient::new(config).expect("client");
    assert!(!format!("{client:?}").contains("sk-very-secret"));

    assert!(matches!(
        LlmClient::new(LlmConfig::new("localhost:11434", "m")),
        Err(LlmError::Config(_))
    ));
    assert!(matches!(
        LlmClient::new(LlmConfig::new("http://localhost:11434/v1", " ")),
        Err(LlmError::Config(_))
    ));
}

#[test]
fn message_roles_serialise_lowercase() {
    assert_eq!(
        serde_json::to_value(Message::assistant("x")).expect("json"),
        json!({"role": "assistant", "content": "x"})
    );
    assert_eq!(Message::system("s").role, Role::System);
}

// --------------------------------------------------------------------------------------------
// Fields no source states, through the whole research pipeline: the local index holds one
// page, read without network; synthesis is the scripted LLM, or extractive without one.

mod unknown_fields {
    use super::*;
    use parallax_engine::fetch::{FetchCache, Fetcher, FetcherConfig, DEFAULT_CACHE_BYTES};
    use parallax_engine::pipeline::{Providers, ResearchProcessor};
    use parallax_engine::search::{IndexedPage, Indexer, LocalIndex};
    use parallax_engine::web::page::ExtractedCache;
    use parallax_engine::{
        budget, MessageKind, Output, Processor, ProgressSink, SourceStats, Task,
    };

    const PAGE: &str = "Zorblax Robotics is a maker of warehouse robots. \
        Zorblax Robotics is led by Mirela Okkaday, its chief executive since 2019.";

    /// The output schema: one field a source states, and three it does not, whose
    /// descriptions give a fallback that fits, one that does not fit, and none.
    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "ceo": {"type": "string", "description": "Name of the chief executive officer"},
                "headquarters": {"type": ["string", "null"], "description": "City of the head office. If no data found, return 'Unknown'"},
                "employees": {"type": ["integer", "null"], "description": "Number of employees; if unavailable, return 'Unknown'"},
                "ticker": {"type": ["string", "null"], "description": "Stock ticker symbol"},
            },
            "required": ["ceo", "headquarters", "employees", "ticker"],
            "additionalProperties": false,
        })
    }

    struct Quiet;

    #[async_trait::async_trait]
    impl ProgressSink for Quiet {
        async fn message(&self, _: MessageKind, _: &str) {}
        async fn stats(&self, _: &SourceStats, _: f64) {}
    }

    struct Dir(std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Runs the question through the pipeline, with `llm` (a base URL) or without.
    async fn research(tag: &str, llm: Option<&str>) -> Output {
        let dir = std::env::temp_dir().join(format!("px-unknown-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let _guard = Dir(dir.clone());
        let index = LocalIndex::open(&dir).unwrap();
        index
            .add_page(IndexedPage {
                url: "https://zorblax.example/about".into(),
                owner: None,
                title: Some("About Zorblax Robotics".into()),
                text: PAGE.into(),
                published: None,
                fetched_at: chrono::Utc::now(),
            })
            .unwrap();
        index.commit().unwrap();
        let providers = Providers {
            search: vec![Arc::new(index.clone())],
            index: Some(Indexer::start(index)),
            fetch: FetchCache::new(Fetcher::new(FetcherConfig::default()), DEFAULT_CACHE_BYTES),
            cache_max_age: Duration::from_secs(3600),
            extracted: ExtractedCache::default(),
            llm: llm.map(|url| Arc::new(client(url))),
        };
        let task = Task {
            run_id: "trun_test".into(),
            tenant: "t".into(),
            budget: budget::lookup("lite").unwrap(),
            request: json!({
                "input": "Zorblax Robotics",
                "processor": "lite",
                "task_spec": {"output_schema": {"type": "json", "json_schema": schema()}},
            }),
            previous_interaction_id: None,
            instructions: None,
            previous: None,
            memory_sources: Vec::new(),
            mcp_servers: Vec::new(),
        };
        ResearchProcessor::new(providers)
            .run(task, &Quiet)
            .await
            .expect("the run completes")
    }

    fn warned_fields(output: &Output) -> Vec<String> {
        output
            .warnings
            .iter()
            .filter_map(|w| w["detail"]["field"].as_str().map(str::to_owned))
            .collect()
    }

    fn basis<'a>(output: &'a Output, field: &str) -> &'a Value {
        output.output["basis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["field"] == field)
            .unwrap()
    }

    #[tokio::test]
    async fn extractive_gives_stated_fallbacks_and_warns_of_the_rest() {
        let output = research("extractive", None).await;
        assert_eq!(
            output.output["content"],
            json!({"ceo": "Mirela Okkaday", "headquarters": "Unknown", "employees": null, "ticker": null})
        );
        assert_eq!(warned_fields(&output), ["employees", "ticker"]);
        let headquarters = basis(&output, "headquarters");
        assert_eq!(headquarters["confidence"], "low");
        assert_eq!(headquarters["citations"], json!([]));
        assert!(headquarters["reasoning"]
            .as_str()
            .unwrap()
            .contains("its description asks for \"Unknown\""));
    }

    #[tokio::test]
    async fn the_llm_is_told_the_rule_and_its_answer_is_held_to_it() {
        // The model states the CEO, leaves the rest null: it did not follow the fallback the
        // headquarters description asks for, so the pipeline does.
        let answer = json!({
            "output": {"ceo": "Mirela Okkaday", "headquarters": null, "employees": null, "ticker": null},
            "basis": [
                {"field": "ceo", "sources": [1], "reasoning": "Source 1 names her.", "confidence": "high"},
                {"field": "headquarters", "sources": [], "reasoning": "Not stated.", "confidence": "low"},
                {"field": "employees", "sources": [], "reasoning": "Not stated.", "confidence": "low"},
                {"field": "ticker", "sources": [], "reasoning": "Not stated.", "confidence": "low"}
            ]
        });
        let (base_url, script) = serve(vec![Canned::ok(&answer.to_string(), 100, 50)]).await;
        let output = research("llm", Some(&base_url)).await;
        assert_eq!(script.remaining(), 0, "the model was asked once");
        assert_eq!(
            output.output["content"],
            json!({"ceo": "Mirela Okkaday", "headquarters": "Unknown", "employees": null, "ticker": null})
        );
        assert_eq!(warned_fields(&output), ["employees", "ticker"]);
        assert!(basis(&output, "headquarters")["reasoning"]
            .as_str()
            .unwrap()
            .contains("\"Unknown\""));
        assert_eq!(basis(&output, "ceo")["confidence"], "high");
        // The prompt carried the rule and the descriptions that state the fallbacks.
        let prompt = json!(messages_of(&script.received()[0])).to_string();
        assert!(prompt.contains("do not guess"), "{prompt}");
        assert!(
            prompt.contains("give the fallback its description asks for"),
            "{prompt}"
        );
        assert!(
            prompt.contains("If no data found, return 'Unknown'"),
            "{prompt}"
        );
    }
}

/// The synthesis keeps only what the passages the model cites state: an answer the model
/// made up becomes null, with a warning and a low-confidence basis.
#[tokio::test]
async fn values_no_cited_passage_states_are_dropped() {
    use parallax_engine::pipeline::request::Request;
    use parallax_engine::pipeline::{llm_synth, Source, SourcePassage};
    let answer = json!({
        "output": {"founder": "Edda Harrow", "employees": 15000, "products": ["Copperline", "Silverpan"]},
        "basis": [
            {"field": "founder", "sources": [1], "reasoning": "stated", "confidence": "high"},
            {"field": "employees", "sources": [1], "reasoning": "guessed", "confidence": "high"},
            {"field": "products", "sources": [1], "reasoning": "listed", "confidence": "medium"}
        ]
    });
    let (base_url, _script) = serve(vec![Canned::ok(&answer.to_string(), 10, 10)]).await;
    let llm = client(&base_url);
    let sources = [Source {
        url: "http://a.example/harrow".into(),
        title: Some("Harrow Kettleworks".into()),
        published: None,
        passages: vec![SourcePassage {
            text: "Harrow Kettleworks was founded by Edda Harrow. It employs 640 people and makes the Copperline kettle.".into(),
            heading: None,
        }],
    }];
    let schema = json!({"type": "object", "properties": {
        "founder": {"type": "string", "description": "Founder's name"},
        "employees": {"type": "integer", "description": "Number of employees"},
        "products": {"type": "array", "items": {"type": "string"}, "description": "Products"}
    }, "required": ["founder", "employees", "products"], "additionalProperties": false});
    let request = Request::from_stored(&json!({"input": "Harrow Kettleworks"}));
    let s = llm_synth::json_output(&llm, &request, &schema, &sources, 1)
        .await
        .expect("synthesis");
    assert_eq!(s.content["founder"], "Edda Harrow");
    assert_eq!(
        s.content["employees"],
        Value::Null,
        "no passage states 15,000"
    );
    assert_eq!(s.content["products"], json!(["Copperline"]));
    let employees = s.basis.iter().find(|b| b["field"] == "employees").unwrap();
    assert_eq!(employees["confidence"], "low");
    assert!(employees["citations"].as_array().unwrap().is_empty());
    let fields: Vec<&str> = s
        .basis
        .iter()
        .map(|b| b["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["founder", "employees", "products", "products.0"]);
    assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
}

/// FindAll's LLM judge keeps a judgement only when it cites a statement it was shown: a "met"
/// with no citation (or a made-up one) is undecided, so a candidate is never matched on what
/// no page read says; a model that cannot answer leaves the extractive judge to decide.
#[tokio::test]
async fn findall_judgements_count_only_with_a_citation() {
    use parallax_api::findall::{Candidate, FindAllSchema, MatchCondition, MatchStatus};
    use parallax_engine::findall::llm_judge::{judge, Shown};

    let answer = json!({"conditions": [
        {"name": "in_town", "is_matched": true, "value": "Quillmere", "statements": [1], "reasoning": "stated"},
        {"name": "new_patients", "is_matched": true, "value": "yes", "statements": [], "reasoning": "guess"},
        {"name": "sedation", "is_matched": false, "value": "no", "statements": [2, 9], "reasoning": "contrary"}
    ]})
    .to_string();
    let (base, script) = serve(vec![Canned::ok(&answer, 10, 10)]).await;
    let schema = FindAllSchema {
        objective: "dental clinics".into(),
        entity_type: "dental clinics".into(),
        match_conditions: ["in_town", "new_patients", "sedation"]
            .iter()
            .map(|n| MatchCondition {
                name: n.to_string(),
                description: format!("condition {n}"),
            })
            .collect(),
        enrichments: None,
        generator: None,
        match_limit: None,
    };
    let candidate = Candidate {
        candidate_id: Candidate::new_id(),
        name: "Oak Dental".into(),
        url: "http://oak.example/".into(),
        description: None,
        match_status: MatchStatus::Generated,
        output: None,
        basis: None,
    };
    let shown = [
        Shown {
            url: "http://oak.example/",
            title: Some("Oak Dental"),
            text: "Oak Dental is in Quillmere.",
            excerpt: "Oak Dental is in Quillmere.".into(),
            own: true,
        },
        Shown {
            url: "http://oak.example/",
            title: Some("Oak Dental"),
            text: "We do not offer sedation.",
            excerpt: "We do not offer sedation.".into(),
            own: true,
        },
    ];
    let judged = judge(&client(&base), &schema, &candidate, &shown)
        .await
        .expect("an answer");
    assert_eq!(judged[0].met, Some(true));
    assert_eq!(judged[0].cited, [0]);
    assert_eq!(
        judged[1].met, None,
        "a judgement citing nothing is undecided"
    );
    assert_eq!(judged[2].met, Some(false));
    assert_eq!(
        judged[2].cited,
        [1],
        "a statement it was not shown is dropped"
    );
    let prompt = script.received()[0].body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        prompt.contains(
            "[1] (http://oak.example/, the candidate's own page) Oak Dental is in Quillmere."
        ),
        "{prompt}"
    );

    // A model that refuses outright: no judgement, the caller judges extractively.
    let (base, _) = serve(vec![Canned::status(400, r#"{"error":{"message":"bad"}}"#)]).await;
    assert!(judge(&client(&base), &schema, &candidate, &shown)
        .await
        .is_none());
}

/// A streamed answer: each of `pieces` as a chunk, then the usage and `[DONE]`.
fn streamed(pieces: &[&str]) -> Canned {
    let mut body = String::new();
    for piece in pieces {
        let chunk = json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": piece}}]});
        // CRLF line ends and a comment line: both are valid SSE.
        body.push_str(&format!(": note\r\ndata: {chunk}\r\n\r\n"));
    }
    let usage = json!({"choices": [], "usage": {"prompt_tokens": 30, "completion_tokens": 4, "total_tokens": 34}});
    body.push_str(&format!("data: {usage}\n\ndata: [DONE]\n\n"));
    Canned {
        status: 200,
        headers: vec![("content-type", "text/event-stream".to_string())],
        body,
        delay: Duration::ZERO,
    }
}

fn collect_deltas() -> (Arc<Mutex<Vec<String>>>, impl Fn(&str) + Send + Sync) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    (seen, move |d: &str| {
        sink.lock().expect("lock").push(d.to_owned())
    })
}

#[tokio::test]
async fn a_streamed_answer_arrives_in_deltas_that_join_to_the_completion() {
    let (base, script) = serve(vec![streamed(&[
        "Zorblax was ",
        "founded in ",
        "2011 [1].",
    ])])
    .await;
    let llm = client(&base);
    let (seen, on_delta) = collect_deltas();
    let completion = llm.chat_streamed(&question(), &on_delta).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["Zorblax was ", "founded in ", "2011 [1]."]
    );
    assert_eq!(completion.content, "Zorblax was founded in 2011 [1].");
    assert_eq!(completion.usage.total(), 34);
    assert_eq!(llm.total_usage().total(), 34);
    assert_eq!(script.received()[0].body["stream"], true);
}

#[tokio::test]
async fn a_server_that_answers_whole_is_read_as_one_delta() {
    let (base, _script) = serve(vec![Canned::ok("The whole answer.", 10, 3)]).await;
    let (seen, on_delta) = collect_deltas();
    let completion = client(&base)
        .chat_streamed(&question(), &on_delta)
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), ["The whole answer."]);
    assert_eq!(completion.usage.total(), 13);
}

#[tokio::test]
async fn a_stream_is_retried_only_before_its_first_delta() {
    let (base, script) = serve(vec![Canned::status(503, "busy"), streamed(&["ok"])]).await;
    let (seen, on_delta) = collect_deltas();
    let completion = client(&base)
        .chat_streamed(&question(), &on_delta)
        .await
        .unwrap();
    assert_eq!(completion.content, "ok");
    assert_eq!(script.received().len(), 2, "the 503 was retried");
    assert_eq!(*seen.lock().unwrap(), ["ok"]);

    // An error after content went out is not retried: what was handed on stands.
    let mut broken = streamed(&["half an "]);
    broken.body = broken.body.replace(
        "data: {\"choices\":[]",
        "data: {\"error\":{\"message\":\"overloaded\"}}\n\ndata: {\"choices\":[]",
    );
    let (base, script) = serve(vec![broken, streamed(&["never asked"])]).await;
    let (seen, on_delta) = collect_deltas();
    let error = client(&base)
        .chat_streamed(&question(), &on_delta)
        .await
        .unwrap_err();
    assert!(matches!(error, LlmError::BadResponse { .. }), "{error}");
    assert!(error.to_string().contains("overloaded"), "{error}");
    assert_eq!(*seen.lock().unwrap(), ["half an "]);
    assert_eq!(script.remaining(), 1, "no second attempt");
}
