use super::*;
use crate::policy::SourcePolicy;

fn request(input: Value, output: OutputSpec) -> Request {
    Request {
        objective: objective_text(&input),
        input,
        output,
        policy: SourcePolicy::default(),
        context: None,
    }
}

fn tool(server: usize, name: &str, description: &str, schema: Value) -> OfferedTool {
    OfferedTool {
        server,
        name: name.into(),
        description: description.into(),
        input_schema: schema,
    }
}

fn company_schema() -> Value {
    json!({"type": "object", "properties": {"company": {"type": "string"}}, "required": ["company"]})
}

fn founding_task() -> Request {
    request(
        json!({"company": "Zorblax Robotics"}),
        OutputSpec::Json(json!({
            "type": "object",
            "properties": {"founding_date": {"type": "string", "description": "The date the company was founded"}}
        })),
    )
}

#[test]
fn arguments_come_from_the_input_field_of_the_same_name_or_the_input_text() {
    let input = json!({"Company": "Zorblax Robotics", "year": 2011});
    assert_eq!(
        fill_arguments(&company_schema(), &input),
        Some(
            json!({"company": "Zorblax Robotics"})
                .as_object()
                .unwrap()
                .clone()
        )
    );
    // A string input fills a required string argument of any name.
    let query = json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]});
    assert_eq!(
        fill_arguments(&query, &json!("Zorblax Robotics")).unwrap()["query"],
        json!("Zorblax Robotics")
    );
    // An object's only string field, else its values.
    assert_eq!(
        fill_arguments(&query, &json!({"name": "Zorblax", "n": 3})).unwrap()["query"],
        json!("Zorblax")
    );
    assert_eq!(
        fill_arguments(&query, &json!({"name": "Zorblax", "city": "Oslo"})).unwrap()["query"],
        json!("Zorblax Oslo")
    );
    // Same-name numbers are kept as numbers, and given as text to a string argument.
    let typed = json!({"type": "object", "properties": {"year": {"type": "integer"}, "company": {"type": "string"}}, "required": ["year"]});
    let filled = fill_arguments(&typed, &input).unwrap();
    assert_eq!(filled["year"], json!(2011));
    assert_eq!(filled["company"], json!("Zorblax Robotics"));
    let as_text =
        json!({"type": "object", "properties": {"year": {"type": "string"}}, "required": ["year"]});
    assert_eq!(
        fill_arguments(&as_text, &input).unwrap()["year"],
        json!("2011")
    );
    // Optional arguments without a same-name field are left out.
    let optional = json!({"type": "object", "properties": {"company": {"type": "string"}, "limit": {"type": "integer"}}, "required": ["company"]});
    assert_eq!(fill_arguments(&optional, &input).unwrap().len(), 1);
    // No arguments at all: called with none.
    assert_eq!(
        fill_arguments(&json!({"type": "object"}), &input),
        Some(Map::new())
    );
}

#[test]
fn a_required_argument_that_cannot_be_filled_means_no_call() {
    let input = json!({"company": "Zorblax Robotics"});
    let needs_int = json!({"type": "object", "properties": {"year": {"type": "integer"}}, "required": ["year"]});
    assert_eq!(fill_arguments(&needs_int, &input), None);
    let undeclared = json!({"type": "object", "properties": {}, "required": ["x"]});
    assert_eq!(fill_arguments(&undeclared, &input), None);
    let query =
        json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]});
    assert_eq!(fill_arguments(&query, &json!("  ")), None);
}

#[test]
fn only_tools_that_match_the_task_are_called() {
    let offered = vec![
        tool(
            0,
            "current_weather",
            "Current weather for a city",
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        ),
        tool(
            0,
            "founding_date",
            "The date a company was founded",
            company_schema(),
        ),
        tool(
            1,
            "stock_quote",
            "Latest share price and ticker",
            company_schema(),
        ),
    ];
    let planned = choose_by_match(&founding_task(), &offered, Limits::default());
    assert_eq!(
        planned,
        vec![PlannedCall {
            server: 0,
            tool: "founding_date".into(),
            arguments: json!({"company": "Zorblax Robotics"})
                .as_object()
                .unwrap()
                .clone(),
        }]
    );
    // A question as the input matches too.
    let asked = request(
        json!("When was Zorblax Robotics founded?"),
        OutputSpec::Auto,
    );
    let planned = choose_by_match(&asked, &offered, Limits::default());
    assert_eq!(planned.len(), 1);
    assert_eq!(
        planned[0].arguments["company"],
        json!("When was Zorblax Robotics founded?")
    );
    // Nothing in common: nothing called.
    let unrelated = request(json!("the tallest mountain"), OutputSpec::Auto);
    assert!(choose_by_match(&unrelated, &offered, Limits::default()).is_empty());
}

#[test]
fn matching_respects_the_call_limits() {
    let offered: Vec<OfferedTool> = (0..6)
        .map(|i| {
            tool(
                i % 2,
                &format!("founding_date_{i}"),
                "When a company was founded",
                company_schema(),
            )
        })
        .collect();
    let limits = Limits {
        per_server: 2,
        total: 3,
        ..Limits::default()
    };
    let planned = choose_by_match(&founding_task(), &offered, limits);
    assert_eq!(planned.len(), 3);
    for server in 0..2 {
        assert!(planned.iter().filter(|c| c.server == server).count() <= 2);
    }
}

fn servers() -> Vec<McpServer> {
    McpServer::from_request(&json!({"mcp_servers": [
        {"name": "facts", "url": "https://a.example.com/mcp", "headers": {"x-key": "k"}},
        {"name": "other", "url": "https://b.example.com/mcp", "allowed_tools": ["t"]},
        {"url": "https://nameless.example.com"}
    ]}))
}

#[test]
fn servers_are_read_from_the_request() {
    let servers = servers();
    assert_eq!(servers.len(), 2);
    assert_eq!(
        servers[0].headers,
        vec![("x-key".to_owned(), "k".to_owned())]
    );
    assert_eq!(servers[0].allowed_tools, None);
    assert_eq!(servers[1].allowed_tools, Some(vec!["t".to_owned()]));
    assert!(McpServer::from_request(&json!({"input": "x"})).is_empty());
}

#[test]
fn the_models_choice_is_kept_to_offered_tools_and_the_limits() {
    let servers = servers();
    let offered = vec![
        tool(0, "founding_date", "", company_schema()),
        tool(1, "t", "", json!({"type": "object"})),
    ];
    let answer = json!({"calls": [
        {"server": "facts", "tool": "founding_date", "arguments": {"company": "Zorblax"}},
        {"server": "facts", "tool": "founding_date", "arguments": {"company": "Zorblax"}},
        {"server": "facts", "tool": "delete_everything", "arguments": {}},
        {"server": "other", "tool": "founding_date", "arguments": {}},
        {"server": "other", "tool": "t", "arguments": {}},
        {"server": "facts", "tool": "founding_date", "arguments": {"company": "Other"}}
    ]});
    let limits = Limits {
        total: 2,
        ..Limits::default()
    };
    let (planned, notes) = read_choice(&answer, &servers, &offered, limits);
    assert_eq!(planned.len(), 2);
    assert_eq!(
        (planned[0].server, planned[0].tool.as_str()),
        (0, "founding_date")
    );
    assert_eq!((planned[1].server, planned[1].tool.as_str()), (1, "t"));
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes[0].contains("delete_everything"));
}

#[test]
fn the_prompt_lists_the_tools_and_the_task() {
    let servers = servers();
    let offered = vec![tool(
        0,
        "founding_date",
        "The date a company was founded",
        company_schema(),
    )];
    let messages = choice_messages(&founding_task(), &servers, &offered, Limits::default());
    let user = serde_json::to_string(&messages[1]).unwrap();
    for needle in [
        "founding_date",
        "Zorblax Robotics",
        "The date a company was founded",
        "facts",
        "company",
    ] {
        assert!(user.contains(needle), "{needle} missing from {user}");
    }
}

#[test]
fn long_results_are_cut_with_a_note() {
    assert_eq!(cut("short", 10), "short");
    let long = "é".repeat(100); // 200 bytes
    let kept = cut(&long, 51);
    assert!(kept.starts_with(&"é".repeat(25)));
    assert!(kept.contains("[truncated: the tool's output was 200 bytes; the first 50 are kept]"));
}

#[test]
fn a_tool_answer_is_a_source_of_passages() {
    let source = tool_source(
        "facts",
        "founding_date",
        "Zorblax was founded in 2011.\n\nMore.",
    );
    assert_eq!(source.url, "mcp://facts/founding_date");
    assert_eq!(source.passages.len(), 2);
    assert_ne!(call_id("trun_1", 0), call_id("trun_1", 1));
    assert!(call_id("trun_1", 0).starts_with("call_"));
}

#[test]
fn tools_get_a_third_of_the_runs_time() {
    let limits = Limits::default().within(Duration::from_secs(30));
    assert_eq!(limits.time_budget, Duration::from_secs(10));
    let long = Limits::default().within(Duration::from_secs(7200));
    assert_eq!(long.time_budget, Limits::default().time_budget);
}

fn fetcher(allow_private: bool) -> Fetcher {
    Fetcher::new(crate::fetch::FetcherConfig {
        allow_private,
        ..Default::default()
    })
}

fn server_at(name: &str, url: &str) -> McpServer {
    McpServer {
        name: name.into(),
        url: url.into(),
        headers: Vec::new(),
        allowed_tools: None,
    }
}

#[tokio::test]
async fn private_servers_are_refused_by_the_ssrf_guard() {
    let servers = [
        server_at("loop", "http://127.0.0.1:9/mcp"),
        server_at("meta", "http://169.254.169.254/mcp"),
        server_at("ftp", "ftp://example.com/mcp"),
    ];
    let outcome = use_tools(
        "trun_x",
        &servers,
        &founding_task(),
        &fetcher(false),
        None,
        Limits::default(),
    )
    .await;
    assert!(outcome.calls.is_empty() && outcome.sources.is_empty());
    let text = serde_json::to_string(&outcome.warnings).unwrap();
    assert_eq!(outcome.warnings.len(), 3, "{text}");
    for needle in [
        "\\\"loop\\\"",
        "loopback",
        "\\\"meta\\\"",
        "link-local",
        "\\\"ftp\\\"",
    ] {
        assert!(text.contains(needle), "{needle} not in {text}");
    }
}

#[tokio::test]
async fn a_closed_port_is_a_warning() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let servers = [server_at("down", &format!("http://127.0.0.1:{port}/mcp"))];
    let outcome = use_tools(
        "trun_x",
        &servers,
        &founding_task(),
        &fetcher(true),
        None,
        Limits::default(),
    )
    .await;
    assert!(outcome.calls.is_empty());
    assert_eq!(outcome.warnings.len(), 1);
    assert!(outcome.warnings[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("MCP server \"down\" could not be used"));
}
