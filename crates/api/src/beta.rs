//! The `parallel-beta` header, and where a run's beta attributes appear in its output.
//!
//! Clients name the betas they use in `parallel-beta`, comma-separated (the SDK joins its
//! `betas=[…]` with `,`). [`Betas::parse`] is the one reader of that header: values are
//! trimmed, empty ones skipped, and any value that is not one of the six the spec's
//! `ParallelBeta` lists is refused with a 422 pointing at `/headers/parallel-beta`.
//!
//! MCP tool calls are the only beta attribute a run's output has. They are stored in the
//! form a reader without the beta sees ([`with_mcp_tool_calls`]: `beta_fields`, keyed by the
//! beta), and [`render_output`] moves them to `mcp_tool_calls` for a result fetched with
//! `mcp-server-2025-07-17`, as `TaskRunJsonOutput.beta_fields` describes.

use crate::error::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// MCP servers on task runs (`mcp_servers`, `output.mcp_tool_calls`).
pub const MCP_SERVER: &str = "mcp-server-2025-07-17";

/// Every value `parallel-beta` may carry: the spec's `ParallelBeta` enum, in its order.
pub const KNOWN: [&str; 6] = [
    MCP_SERVER,
    "events-sse-2025-07-24",
    "webhook-2025-08-12",
    "findall-2025-09-15",
    "search-extract-2025-10-10",
    "field-basis-2025-11-25",
];

/// Where a refused header is reported in an error's detail.
pub const POINTER: &str = "/headers/parallel-beta";

/// The betas a request named, each once, in the order first named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Betas(Vec<String>);

impl Betas {
    /// Reads every `parallel-beta` header line of a request (none is no betas).
    ///
    /// # Errors
    ///
    /// A 422 naming the first value that is not UTF-8 text or not a known beta.
    pub fn parse<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Result<Betas, ApiError> {
        let mut betas = Vec::new();
        for line in lines {
            let Ok(line) = std::str::from_utf8(line) else {
                return Err(refused("must be text"));
            };
            for value in line.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                if !KNOWN.contains(&value) {
                    return Err(refused(&format!(
                        "{value:?} is not a beta; known betas are {}",
                        KNOWN.join(", ")
                    )));
                }
                if !betas.iter().any(|b| b == value) {
                    betas.push(value.to_owned());
                }
            }
        }
        Ok(Betas(betas))
    }

    /// Reads what [`Betas::to_stored`] wrote (unknown values, which it never writes, are
    /// kept: the store is trusted).
    pub fn from_stored(stored: Option<&str>) -> Betas {
        Betas(
            stored
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    /// The betas comma-separated, for the store; `None` for none.
    pub fn to_stored(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.0.join(","))
    }

    /// Whether `beta` was named.
    pub fn has(&self, beta: &str) -> bool {
        self.0.iter().any(|b| b == beta)
    }

    /// The betas named, in order.
    pub fn values(&self) -> &[String] {
        &self.0
    }
}

fn refused(reason: &str) -> ApiError {
    ApiError::validation(vec![FieldError::new(POINTER, reason)])
}

/// One call of an MCP tool made by a run: the spec's `McpToolCall`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpToolCall {
    /// Parallax's id for the call (`call_…`).
    pub tool_call_id: String,
    /// The `name` the request gave the server.
    pub server_name: String,
    /// The tool's name as the server lists it.
    pub tool_name: String,
    /// The arguments sent, as a JSON object in text.
    pub arguments: String,
    /// The tool's text output, when the call succeeded.
    pub content: Option<String>,
    /// Why the call failed, when it did.
    pub error: Option<String>,
}

/// Records `calls` in an output object (`TaskRunJsonOutput` or `TaskRunTextOutput`) in the
/// form stored and shown to readers without the MCP beta:
/// `beta_fields: {"mcp-server-2025-07-17": [calls]}`.
pub fn with_mcp_tool_calls(output: &mut Value, calls: &[McpToolCall]) {
    let Some(object) = output.as_object_mut() else {
        return;
    };
    let calls = serde_json::to_value(calls).expect("tool calls serialise");
    let mut fields = Map::new();
    fields.insert(MCP_SERVER.to_owned(), calls);
    object.insert("beta_fields".to_owned(), Value::Object(fields));
}

/// A stored output as a result read with `read_betas` shows it: with the MCP beta, the tool
/// calls are `mcp_tool_calls` (a `BetaTaskRun…Output`) and `beta_fields` no longer holds
/// them; without it, the output as stored. Anything unreadable is returned as stored.
pub fn render_output<'a>(stored: &'a str, read_betas: &Betas) -> Cow<'a, str> {
    if !read_betas.has(MCP_SERVER) || !stored.contains(MCP_SERVER) {
        return Cow::Borrowed(stored);
    }
    let Ok(Value::Object(mut output)) = serde_json::from_str::<Value>(stored) else {
        return Cow::Borrowed(stored);
    };
    let Some(Value::Object(fields)) = output.get_mut("beta_fields") else {
        return Cow::Borrowed(stored);
    };
    let Some(calls) = fields.shift_remove(MCP_SERVER) else {
        return Cow::Borrowed(stored);
    };
    if fields.is_empty() {
        output.shift_remove("beta_fields");
    }
    output.insert("mcp_tool_calls".to_owned(), calls);
    Cow::Owned(Value::Object(output).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(lines: &[&str]) -> Result<Betas, ApiError> {
        Betas::parse(lines.iter().map(|l| l.as_bytes()))
    }

    #[test]
    fn comma_separated_trimmed_known_values() {
        let betas = parse(&[" mcp-server-2025-07-17 , field-basis-2025-11-25,"]).unwrap();
        assert_eq!(
            betas.values(),
            ["mcp-server-2025-07-17", "field-basis-2025-11-25"]
        );
        assert!(betas.has(MCP_SERVER));
        assert_eq!(
            betas.to_stored().as_deref(),
            Some("mcp-server-2025-07-17,field-basis-2025-11-25")
        );
        assert_eq!(Betas::from_stored(betas.to_stored().as_deref()), betas);
        // Two header lines, a repeat, and an empty line.
        let betas = parse(&["findall-2025-09-15", "", "findall-2025-09-15"]).unwrap();
        assert_eq!(betas.values(), ["findall-2025-09-15"]);
        assert_eq!(parse(&[]).unwrap().to_stored(), None);
        assert!(Betas::from_stored(None).values().is_empty());
    }

    #[test]
    fn an_unknown_value_is_a_422_at_the_header() {
        for bad in [
            "mcp-server",
            "mcp-server-2025-07-17,nope",
            "MCP-SERVER-2025-07-17",
        ] {
            let e = parse(&[bad]).unwrap_err();
            assert_eq!(e.status, 422, "{bad}");
            let detail = serde_json::to_string(&e.detail).unwrap();
            assert!(detail.contains(POINTER), "{detail}");
        }
        let e = Betas::parse([&b"\xff"[..]]).unwrap_err();
        assert_eq!(e.status, 422);
    }

    fn call() -> McpToolCall {
        McpToolCall {
            tool_call_id: "call_1".into(),
            server_name: "s".into(),
            tool_name: "t".into(),
            arguments: r#"{"a":"b"}"#.into(),
            content: Some("out".into()),
            error: None,
        }
    }

    #[test]
    fn calls_are_beta_fields_unless_read_with_the_beta() {
        let mut output = json!({"type": "json", "content": {"z": 1, "a": 2}, "basis": []});
        with_mcp_tool_calls(&mut output, &[call()]);
        let stored = output.to_string();
        assert_eq!(
            output["beta_fields"][MCP_SERVER][0]["tool_name"],
            json!("t")
        );
        // Without the beta: as stored.
        assert_eq!(render_output(&stored, &Betas::default()), stored);
        let field_basis = parse(&["field-basis-2025-11-25"]).unwrap();
        assert_eq!(render_output(&stored, &field_basis), stored);
        // With it: mcp_tool_calls, no beta_fields, content in its order.
        let read = parse(&[MCP_SERVER]).unwrap();
        let shown: Value = serde_json::from_str(&render_output(&stored, &read)).unwrap();
        assert!(shown.get("beta_fields").is_none());
        assert_eq!(
            shown["mcp_tool_calls"][0]["arguments"],
            json!(r#"{"a":"b"}"#)
        );
        assert_eq!(shown["mcp_tool_calls"][0]["error"], Value::Null);
        assert_eq!(shown["content"].to_string(), r#"{"z":1,"a":2}"#);
        // An output without calls is untouched either way.
        let plain = r#"{"type":"text","content":"x","basis":[]}"#;
        assert_eq!(render_output(plain, &read), plain);
    }
}
