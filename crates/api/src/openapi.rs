//! The OpenAPI 3.1 document of exactly what a server serves (`GET /openapi.json`).
//!
//! The server builds it from the list of operations its router registered
//! (`parallax_server`'s `Routes::at`), so it cannot describe a route that is not served or
//! miss one that is. Each operation's description comes from the first of three documents
//! embedded in the binary that has it:
//!
//! 1. `openapi/parallax-operations.json`: Parallax's own operations (`/healthz`,
//!    `/metrics`, this document, the chat models), written by hand;
//! 2. `openapi/sdk-operations.json`: what the official SDK calls that Parallel's public spec
//!    does not describe (`/v1/monitors…`, Memory, FindAll's entity search), generated from
//!    the SDK's own types by `scripts/openapi-from-sdk.py` (its schemas prefixed `Sdk`);
//! 3. `openapi/parallel-public-openapi.json`: Parallel's public spec, unchanged.
//!
//! The Parallel API is served under both `/v1/…` and `/v1beta/…` while a document spells
//! each operation once, so an operation is looked up by its path after the version segment
//! when that segment is `v1` or `v1beta` (`v1alpha` and unversioned paths must match
//! exactly). The copy under the spelling its source does not use gets an `operationId`
//! suffixed `_v1_spelling` or `_v1beta_spelling`, as operation ids must be unique.
//!
//! An operation found in none of them is left out of the document and listed by
//! [`Document::undocumented`]; a test keeps that list empty.

use serde_json::{json, Map, Value};

const OWN: &str = include_str!("../openapi/parallax-operations.json");
const SDK: &str = include_str!("../openapi/sdk-operations.json");
const PUBLIC: &str = include_str!("../openapi/parallel-public-openapi.json");

/// An operation: its HTTP method (upper case, `GET`) and path template
/// (`/v1/tasks/runs/{run_id}`).
pub type Operation = (String, String);

/// The document, serialised once.
pub struct Document {
    json: String,
    undocumented: Vec<Operation>,
}

/// The lookup key of a path: `v1` and `v1beta` are one spelling.
fn spelling_free(path: &str) -> String {
    let mut parts = path.splitn(3, '/');
    let (_, version, rest) = (parts.next(), parts.next(), parts.next());
    match (version, rest) {
        (Some("v1" | "v1beta"), Some(rest)) => format!("/v1*/{rest}"),
        _ => path.to_owned(),
    }
}

/// The first path segment of `path` (`v1`, `v1beta`, …).
fn version_of(path: &str) -> &str {
    path.trim_start_matches('/').split('/').next().unwrap_or("")
}

impl Document {
    /// The document of `served` (method and path, in the order registered).
    pub fn for_operations(served: &[Operation]) -> Document {
        let sources: Vec<Value> = [OWN, SDK, PUBLIC]
            .iter()
            .map(|text| serde_json::from_str(text).expect("the embedded OpenAPI documents parse"))
            .collect();
        let mut paths = Map::new();
        let mut undocumented = Vec::new();
        for (method, path) in served {
            let method_name = method.to_ascii_lowercase();
            let found = sources.iter().find_map(|source| {
                let source_paths = source["paths"].as_object()?;
                let key = spelling_free(path);
                source_paths.iter().find_map(|(source_path, item)| {
                    if spelling_free(source_path) != key {
                        return None;
                    }
                    let operation = item.get(&method_name)?.clone();
                    // Path-level parameters apply to every operation of the path.
                    let shared = item.get("parameters").cloned();
                    Some((source_path.clone(), operation, shared))
                })
            });
            let Some((source_path, mut operation, shared)) = found else {
                undocumented.push((method.clone(), path.clone()));
                continue;
            };
            if source_path != *path {
                if let Some(id) = operation.get_mut("operationId") {
                    if let Some(text) = id.as_str() {
                        *id = json!(format!("{text}_{}_spelling", version_of(path)));
                    }
                }
            }
            let item = paths
                .entry(path.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let (Some(shared), Some(item)) = (shared, item.as_object_mut()) {
                item.entry("parameters").or_insert(shared);
            }
            item[method_name] = operation;
        }
        let public = &sources[2];
        let mut schemas = Map::new();
        for source in sources.iter().rev() {
            if let Some(defined) = source["components"]["schemas"].as_object() {
                for (name, schema) in defined {
                    schemas.insert(name.clone(), schema.clone());
                }
            }
        }
        let document = json!({
            "openapi": "3.1.0",
            "info": {
                "title": "Parallax",
                "version": env!("CARGO_PKG_VERSION"),
                "description": format!(
                    "The operations this Parallax server serves: the Parallel API (from its public spec, version {}, under both /v1/ and /v1beta/ spellings), what the official SDK calls beyond it, and Parallax's own.",
                    public["info"]["version"].as_str().unwrap_or("?")
                ),
            },
            "servers": [{"url": "/"}],
            "security": public["security"],
            "tags": public["tags"],
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": public["components"]["securitySchemes"],
            },
        });
        Document {
            json: document.to_string(),
            undocumented,
        }
    }

    /// The served operations no embedded document describes (left out of the document).
    pub fn undocumented(&self) -> &[Operation] {
        &self.undocumented
    }

    /// The document as JSON text.
    pub fn json(&self) -> &str {
        &self.json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_operation_share_a_key_and_others_do_not() {
        assert_eq!(
            spelling_free("/v1/tasks/runs"),
            spelling_free("/v1beta/tasks/runs")
        );
        assert_ne!(
            spelling_free("/v1alpha/monitors"),
            spelling_free("/v1/monitors")
        );
        assert_eq!(spelling_free("/healthz"), "/healthz");
    }

    #[test]
    fn each_spelling_is_described_with_unique_operation_ids() {
        let served = [
            ("GET".to_string(), "/v1/tasks/runs/{run_id}".to_string()),
            ("GET".to_string(), "/v1beta/tasks/runs/{run_id}".to_string()),
            ("GET".to_string(), "/v1/no/such/thing".to_string()),
        ];
        let document = Document::for_operations(&served);
        assert_eq!(
            document.undocumented(),
            &[("GET".to_string(), "/v1/no/such/thing".to_string())]
        );
        let value: Value = serde_json::from_str(document.json()).unwrap();
        let v1 = &value["paths"]["/v1/tasks/runs/{run_id}"]["get"]["operationId"];
        let beta = &value["paths"]["/v1beta/tasks/runs/{run_id}"]["get"]["operationId"];
        assert!(
            v1.is_string() && beta.is_string() && v1 != beta,
            "{v1} {beta}"
        );
        assert!(beta.as_str().unwrap().ends_with("_v1beta_spelling"));
        assert!(value["paths"].get("/v1/no/such/thing").is_none());
    }
}
