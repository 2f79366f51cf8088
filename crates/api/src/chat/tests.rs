use super::*;

fn parse(body: Value) -> Result<ChatRequest, ApiError> {
    parse_request(body.to_string().as_bytes())
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

fn pointers(error: &ApiError) -> Vec<String> {
    error.detail.as_ref().unwrap()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn reads_a_plain_question() {
    let request =
        parse(json!({"model": "speed", "messages": [user("Who founded Zorblax?")]})).unwrap();
    assert_eq!(request.model, ChatModel::Speed);
    assert_eq!(request.question(), "Who founded Zorblax?");
    assert!(!request.stream && !request.include_usage);
    assert_eq!(request.format, ChatFormat::Text);
    assert_eq!(request.instructions(), None);
    assert_eq!(request.earlier(), None);
}

#[test]
fn reads_a_conversation() {
    let request = parse(json!({
        "model": "core",
        "stream": true,
        "stream_options": {"include_usage": true},
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "developer", "content": [{"type": "text", "text": "Cite sources."}]},
            user("Who founded Zorblax?"),
            {"role": "assistant", "content": "Three engineers [1].", "name": "bot"},
            {"role": "user", "content": [{"type": "text", "text": "When"}, {"type": "text", "text": "was that?"}]},
        ],
        "temperature": 0.2, "max_tokens": 100, "n": 1, "user": "u-1", "top_p": null,
    }))
    .unwrap();
    assert!(request.stream && request.include_usage);
    assert_eq!(request.question(), "When\nwas that?");
    assert_eq!(
        request.instructions().as_deref(),
        Some("Answer briefly.\n\nCite sources.")
    );
    assert_eq!(
        request.earlier(),
        Some((
            "Who founded Zorblax?".into(),
            Some("Three engineers [1].".into())
        ))
    );
}

#[test]
fn refuses_what_it_does_not_support_with_a_400_naming_it() {
    let base = |extra: (&str, Value)| {
        let mut body = json!({"model": "lite", "messages": [user("q")]});
        body[extra.0] = extra.1;
        parse(body).unwrap_err()
    };
    for (key, value) in [
        (
            "tools",
            json!([{"type": "function", "function": {"name": "f"}}]),
        ),
        ("tool_choice", json!("auto")),
        ("logprobs", json!(true)),
        ("seed", json!(7)),
        ("audio", json!({})),
    ] {
        let error = base((key, value));
        assert_eq!(error.status, 400, "{key}");
        assert_eq!(pointers(&error), [format!("/{key}")]);
        assert!(error.message.contains(key), "{}", error.message);
    }
    let error = base(("n", json!(2)));
    assert_eq!(
        (error.status, pointers(&error)),
        (400, vec!["/n".to_owned()])
    );
    // A field sent as null is as good as absent (the openai SDK never sends one, others do).
    assert!(parse(json!({"model": "lite", "messages": [user("q")], "tools": null})).is_ok());
    let tool_turn = parse(json!({"model": "lite", "messages": [
        user("q"), {"role": "tool", "content": "x", "tool_call_id": "1"}, user("q2")
    ]}))
    .unwrap_err();
    assert_eq!(tool_turn.status, 400);
    let image = parse(
        json!({"model": "lite", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
        ]}]}),
    )
    .unwrap_err();
    assert_eq!(
        (image.status, pointers(&image)),
        (400, vec!["/messages/0/content/0/type".to_owned()])
    );
}

#[test]
fn refuses_malformed_requests_with_a_422_naming_every_field() {
    let error =
        parse(json!({"model": "gpt-4o", "messages": "hi", "stream": "yes", "temperature": "hot"}))
            .unwrap_err();
    assert_eq!(error.status, 422);
    let mut got = pointers(&error);
    got.sort();
    assert_eq!(got, ["/messages", "/model", "/stream", "/temperature"]);
    assert!(error.detail.as_ref().unwrap()["errors"][1]["reason"]
        .as_str()
        .unwrap()
        .contains("speed, lite, base, core"));

    for (messages, pointer) in [
        (json!([]), "/messages"),
        (json!([{"role": "user"}]), "/messages/0/content"),
        (json!([{"content": "q"}]), "/messages/0/role"),
        (
            json!([{"role": "critic", "content": "q"}]),
            "/messages/0/role",
        ),
        (
            json!([user("q"), {"role": "assistant", "content": "a"}]),
            "/messages/1",
        ),
        (json!([user("   ")]), "/messages/0/content"),
        (
            json!([{"role": "user", "content": 5}]),
            "/messages/0/content",
        ),
        (json!(["q"]), "/messages/0"),
    ] {
        let error = parse(json!({"model": "lite", "messages": messages})).unwrap_err();
        assert_eq!(
            (error.status, pointers(&error)),
            (422, vec![pointer.to_owned()]),
            "{messages}"
        );
    }
    let error = parse(json!({"messages": [user("q")], "stream_options": {"include_usage": true}}))
        .unwrap_err();
    let mut got = pointers(&error);
    got.sort();
    assert_eq!(
        got,
        ["/model", "/stream_options"],
        "stream_options needs stream"
    );
    for body in [
        &b"not json"[..],
        b"[1]",
        b"{\"model\": \"lite\", \"messages\": [}",
    ] {
        assert_eq!(parse_request(body).unwrap_err().status, 422);
    }
}

#[test]
fn reads_response_formats_and_checks_schemas_by_the_task_api_rules() {
    let with = |format: Value| {
        parse(json!({"model": "base", "messages": [user("q")], "response_format": format}))
    };
    assert_eq!(
        with(json!({"type": "text"})).unwrap().format,
        ChatFormat::Text
    );
    assert_eq!(
        with(json!({"type": "json_object"})).unwrap().format,
        ChatFormat::JsonObject
    );
    let schema = json!({"type": "object", "properties": {"founded": {"type": "string"}}, "required": ["founded"], "additionalProperties": false});
    assert_eq!(
        with(json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": true}})).unwrap().format,
        ChatFormat::JsonSchema { name: "answer".into(), schema: schema.clone() }
    );
    for (format, pointer) in [
        (json!({"type": "xml"}), "/response_format/type"),
        (json!({}), "/response_format/type"),
        (json!("json"), "/response_format"),
        (
            json!({"type": "json_schema"}),
            "/response_format/json_schema",
        ),
        (
            json!({"type": "json_schema", "json_schema": {"schema": schema}}),
            "/response_format/json_schema/name",
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "a b", "schema": schema}}),
            "/response_format/json_schema/name",
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "a"}}),
            "/response_format/json_schema/schema",
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "a", "schema": schema, "strict": "yes"}}),
            "/response_format/json_schema/strict",
        ),
    ] {
        let error = with(format.clone()).unwrap_err();
        assert_eq!(
            (error.status, pointers(&error)),
            (422, vec![pointer.to_owned()]),
            "{format}"
        );
    }
    // The Task API's output-schema rules apply, pointed at the schema's place here.
    let error = with(
        json!({"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "string"}}}),
    )
    .unwrap_err();
    assert_eq!(error.status, 422);
    assert!(
        pointers(&error)
            .iter()
            .all(|p| p.starts_with("/response_format/json_schema/schema")),
        "{error:?}"
    );
}

#[test]
fn answers_carry_the_message_the_delta_and_the_basis() {
    let header = CompletionHeader {
        id: "chatcmpl-1".into(),
        created: 7,
        model: ChatModel::Lite,
    };
    let basis = [json!({"field": "output", "citations": []})];
    let usage = Usage::estimate("abcdefgh", "abcde");
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (2, 2));
    let whole = header.completion("Hi [1].", &basis, usage);
    assert_eq!(whole["object"], "chat.completion");
    assert_eq!(whole["choices"][0]["message"]["content"], "Hi [1].");
    assert_eq!(whole["choices"][0]["delta"]["content"], "Hi [1].");
    assert_eq!(whole["choices"][0]["finish_reason"], "stop");
    assert_eq!(whole["usage"]["total_tokens"], 4);
    assert_eq!(whole["basis"], json!(basis));
    let chunk = header.chunk(json!({"content": "Hi"}), None, &[]);
    assert_eq!(
        (chunk["object"].as_str(), chunk["type"].as_str()),
        (Some("chat.completion.chunk"), Some("chat.completion.chunk"))
    );
    assert_eq!(chunk["choices"][0]["finish_reason"], Value::Null);
    assert_eq!(header.usage_chunk(usage)["choices"], json!([]));
    assert_eq!(models_json(7)["data"].as_array().unwrap().len(), 4);
}

#[test]
fn deltas_join_back_to_the_content() {
    for content in [
        "",
        "one",
        "A sentence of words, then more.\n\nÉté 日本 😀 words",
        "{\"a\": [1, 2]}",
    ] {
        for min in [1, 5, 40] {
            let deltas = content_deltas(content, min);
            assert_eq!(deltas.concat(), content);
            assert!(deltas.iter().all(|d| !d.is_empty()));
        }
    }
    assert_eq!(content_deltas("a b c d", 2), ["a ", "b ", "c ", "d"]);
    assert_eq!(content_deltas("ab cd ef", 4), ["ab cd ", "ef"]);
}
