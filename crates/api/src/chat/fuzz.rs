//! Property tests of the chat-completions parser: whatever bytes or JSON a client sends, it
//! never panics; it refuses with a 400 (unsupported) or 422 (malformed) naming at least one
//! field; and what it accepts is a conversation that ends with a non-empty user question.

use super::*;
use crate::fuzz::{config, object, text, value, Field};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Names and values the chat requests use, at any level.
const WORDS: &[&str] = &[
    "model",
    "messages",
    "role",
    "content",
    "name",
    "stream",
    "stream_options",
    "include_usage",
    "response_format",
    "type",
    "json_schema",
    "json_object",
    "text",
    "schema",
    "strict",
    "max_tokens",
    "temperature",
    "top_p",
    "n",
    "user",
    "tools",
    "tool_choice",
    "system",
    "developer",
    "assistant",
    "tool",
    "speed",
    "lite",
    "base",
    "core",
    "pro",
    "image_url",
    "object",
    "properties",
    "string",
    "",
];

fn any_value() -> BoxedStrategy<Value> {
    value(WORDS).boxed()
}

fn mostly(right: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![20 => right, 1 => Just(Value::Null), 1 => any_value()].boxed()
}

fn word(valid: &'static [&'static str]) -> BoxedStrategy<Value> {
    prop_oneof![8 => proptest::sample::select(valid).prop_map(str::to_owned), 1 => text(WORDS)]
        .prop_map(Value::String)
        .boxed()
}

fn message() -> BoxedStrategy<Value> {
    let content = prop_oneof![
        6 => text(WORDS).prop_map(Value::String),
        1 => proptest::collection::vec(
            object(vec![("type", 0.9, word(&["text", "image_url"])), ("text", 0.9, mostly(text(WORDS).prop_map(Value::String).boxed()))], extra()),
            0..3,
        ).prop_map(Value::Array),
    ];
    object(
        vec![
            (
                "role",
                0.95,
                word(&["user", "user", "system", "assistant", "developer", "tool"]),
            ),
            ("content", 0.95, mostly(content.boxed())),
            ("name", 0.1, any_value()),
        ],
        extra(),
    )
    .boxed()
}

fn extra() -> BoxedStrategy<(String, Value)> {
    (text(WORDS), any_value()).boxed()
}

fn request() -> impl Strategy<Value = Value> {
    let schema = object(
        vec![
            ("type", 0.9, word(&["object", "string"])),
            ("properties", 0.8, any_value()),
        ],
        extra(),
    );
    let format = object(
        vec![
            ("type", 0.95, word(&["text", "json_object", "json_schema"])),
            (
                "json_schema",
                0.7,
                object(
                    vec![
                        ("name", 0.9, word(&["answer", "a b"])),
                        ("schema", 0.9, schema.boxed()),
                        ("strict", 0.3, any_value()),
                    ],
                    extra(),
                )
                .boxed(),
            ),
        ],
        extra(),
    );
    let fields: Vec<Field> = vec![
        ("model", 0.95, word(&["speed", "lite", "base", "core"])),
        (
            "messages",
            0.95,
            mostly(
                proptest::collection::vec(message(), 0..4)
                    .prop_map(Value::Array)
                    .boxed(),
            ),
        ),
        (
            "stream",
            0.5,
            mostly(any::<bool>().prop_map(Value::Bool).boxed()),
        ),
        (
            "stream_options",
            0.2,
            object(vec![("include_usage", 0.9, any_value())], extra()).boxed(),
        ),
        ("response_format", 0.4, format.boxed()),
        ("temperature", 0.1, any_value()),
        ("n", 0.1, any_value()),
        ("tools", 0.05, any_value()),
    ];
    object(fields, extra())
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let damaged = (
        request(),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    )
        .prop_map(|(body, changes)| {
            let mut bytes = body.to_string().into_bytes();
            for (at, byte) in changes {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            bytes
        });
    prop_oneof![4 => damaged, 1 => any::<Vec<u8>>()]
}

fn judged(parsed: Result<ChatRequest, ApiError>) -> Result<(), TestCaseError> {
    match parsed {
        Ok(request) => {
            let last = request.messages.last().expect("at least one message");
            prop_assert_eq!(last.role, Role::User);
            prop_assert!(!request.question().trim().is_empty());
            prop_assert!(!request.include_usage || request.stream);
        }
        Err(error) => {
            prop_assert!(matches!(error.status, 400 | 422), "{:?}", error);
            let errors = error
                .detail
                .as_ref()
                .and_then(|d| d.get("errors"))
                .and_then(Value::as_array);
            prop_assert!(errors.is_some_and(|e| !e.is_empty()), "{:?}", error);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_chat_parser_never_panics_on_bytes(body in bytes()) {
        judged(parse_request(&body))?;
    }

    #[test]
    fn the_chat_parser_accepts_conversations_or_names_what_is_wrong(body in request()) {
        judged(parse_request(body.to_string().as_bytes()))?;
    }
}
