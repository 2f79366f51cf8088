//! The Memory API (`POST /v1beta/memory/retrieve`, `…/evict`, `…/clear`, also under `/v1/`):
//! parsing and validating its three bodies, and rendering what `retrieve` answers.
//!
//! Memory holds one entry per task run, monitor and FindAll run, in the scope its
//! `memory_scope_key` named when it was created; a request without a key (or with `null`)
//! uses the tenant's personal scope, stored as the empty key [`PERSONAL`]. These bodies are
//! small and closed, so a field they do not define is refused (422) rather than ignored:
//! a misspelt `memroy_scope_key` would otherwise read, or clear, the personal scope.

use crate::create::{body_fields, escape_pointer};
use crate::error::{ApiError, FieldError};
use serde_json::{json, Map, Value};

/// The scope key of a tenant's personal memory (requests without `memory_scope_key`).
pub const PERSONAL: &str = "";
/// Results `retrieve` answers when the request gives no `limit`.
pub const LIMIT_DEFAULT: usize = 10;
/// The largest `limit` `retrieve` accepts.
pub const LIMIT_MAX: usize = 100;
/// Longest excerpt, in characters; longer texts are cut at a word and end with `…`.
pub const EXCERPT_MAX: usize = 400;
/// Most `matched_events` shown for one monitor.
pub const EVENTS_SHOWN: usize = 5;

/// What a memory entry remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemoryKind {
    Task,
    Monitor,
    FindAll,
}

impl MemoryKind {
    /// The wire (and stored) name.
    pub fn as_str(self) -> &'static str {
        match self {
            MemoryKind::Task => "task",
            MemoryKind::Monitor => "monitor",
            MemoryKind::FindAll => "findall",
        }
    }

    /// The kind named `text`, if any.
    pub fn parse(text: &str) -> Option<MemoryKind> {
        match text {
            "task" => Some(MemoryKind::Task),
            "monitor" => Some(MemoryKind::Monitor),
            "findall" => Some(MemoryKind::FindAll),
            _ => None,
        }
    }
}

/// A validated `retrieve` body.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrieveRequest {
    pub kind: Option<MemoryKind>,
    /// 1..=[`LIMIT_MAX`], [`LIMIT_DEFAULT`] when not given.
    pub limit: usize,
    /// The scope key ([`PERSONAL`] when none was given).
    pub scope: String,
    /// The query, trimmed; `None` when absent, null or blank (most recent first).
    pub query: Option<String>,
    /// Only entries updated at or after this time (microseconds since the epoch).
    pub since: Option<i64>,
}

/// A validated `evict` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvictRequest {
    pub id: String,
    pub kind: MemoryKind,
    pub scope: String,
}

fn object(body: &[u8], known: &[&str]) -> Result<Map<String, Value>, ApiError> {
    let mut errors = Vec::new();
    let map = body_fields(body, &mut errors)?;
    errors.extend(
        map.keys()
            .filter(|k| !known.contains(&k.as_str()))
            .map(|k| {
                FieldError::new(
                    format!("/{}", escape_pointer(k)),
                    format!(
                        "is not a field of this request (fields: {})",
                        known.join(", ")
                    ),
                )
            }),
    );
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(map)
}

fn scope_field(map: &Map<String, Value>, errors: &mut Vec<FieldError>) -> String {
    match map.get("memory_scope_key") {
        None | Some(Value::Null) => PERSONAL.to_owned(),
        Some(Value::String(key)) => key.clone(),
        Some(_) => {
            errors.push(FieldError::new(
                "/memory_scope_key",
                "must be a string or null",
            ));
            PERSONAL.to_owned()
        }
    }
}

fn kind_field(
    value: Option<&Value>,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> Option<MemoryKind> {
    match value {
        None | Some(Value::Null) => {
            if required {
                errors.push(FieldError::new("/kind", "is required"));
            }
            None
        }
        Some(v) => {
            let kind = v.as_str().and_then(MemoryKind::parse);
            if kind.is_none() {
                errors.push(FieldError::new(
                    "/kind",
                    "must be one of task, monitor, findall",
                ));
            }
            kind
        }
    }
}

/// Parses and validates a `retrieve` body; every mistake is a 422 naming its field.
pub fn parse_retrieve(body: &[u8]) -> Result<RetrieveRequest, ApiError> {
    let map = object(
        body,
        &["kind", "limit", "memory_scope_key", "query", "since"],
    )?;
    let mut errors = Vec::new();
    let kind = kind_field(map.get("kind"), false, &mut errors);
    let scope = scope_field(&map, &mut errors);
    let limit = match map.get("limit") {
        None | Some(Value::Null) => LIMIT_DEFAULT,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=LIMIT_MAX as u64).contains(&n) => n as usize,
            _ => {
                errors.push(FieldError::new(
                    "/limit",
                    format!("must be an integer from 1 to {LIMIT_MAX}"),
                ));
                LIMIT_DEFAULT
            }
        },
    };
    let query = match map.get("query") {
        None | Some(Value::Null) => None,
        Some(Value::String(q)) => Some(q.trim().to_owned()).filter(|q| !q.is_empty()),
        Some(_) => {
            errors.push(FieldError::new("/query", "must be a string or null"));
            None
        }
    };
    let since = match map.get("since") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let parsed = v.as_str().and_then(crate::time::parse_rfc3339);
            if parsed.is_none() {
                errors.push(FieldError::new(
                    "/since",
                    "must be an RFC 3339 timestamp, such as \"2025-04-23T20:21:48Z\"",
                ));
            }
            parsed
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(RetrieveRequest {
        kind,
        limit,
        scope,
        query,
        since,
    })
}

/// Parses and validates an `evict` body (`id` and `kind` required).
pub fn parse_evict(body: &[u8]) -> Result<EvictRequest, ApiError> {
    let map = object(body, &["id", "kind", "memory_scope_key"])?;
    let mut errors = Vec::new();
    let id = match map.get("id") {
        Some(Value::String(id)) if !id.trim().is_empty() => Some(id.clone()),
        None | Some(Value::Null) => {
            errors.push(FieldError::new("/id", "is required"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new("/id", "must be a non-empty string"));
            None
        }
    };
    let kind = kind_field(map.get("kind"), true, &mut errors);
    let scope = scope_field(&map, &mut errors);
    match (id, kind) {
        (Some(id), Some(kind)) if errors.is_empty() => Ok(EvictRequest { id, kind, scope }),
        _ => Err(ApiError::validation(errors)),
    }
}

/// Parses and validates a `clear` body: the scope it empties. An empty body clears the
/// personal scope, as a body of `{}` does.
pub fn parse_clear(body: &[u8]) -> Result<String, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(PERSONAL.to_owned());
    }
    let map = object(body, &["memory_scope_key"])?;
    let mut errors = Vec::new();
    let scope = scope_field(&map, &mut errors);
    if errors.is_empty() {
        Ok(scope)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// The 404 of an `evict` whose id that scope does not hold.
pub fn not_in_memory(kind: MemoryKind, id: &str) -> ApiError {
    ApiError::new(
        404,
        format!("no {} {id:?} in this memory scope", kind.as_str()),
    )
}

/// `text` cut to at most [`EXCERPT_MAX`] characters, at a word boundary where there is one,
/// with `…` when cut; runs of whitespace become one space.
pub fn excerpt(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= EXCERPT_MAX {
        return flat;
    }
    let cut: String = flat.chars().take(EXCERPT_MAX - 1).collect();
    let at_word = match cut.rfind(' ') {
        Some(i) if i > EXCERPT_MAX / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end())
}

/// One event of a monitor, as `matched_events` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchedEvent {
    pub event_id: String,
    pub event_group_id: String,
    /// Microseconds since the epoch.
    pub detected_at: i64,
    /// The event's text (its summary, or its output).
    pub text: String,
}

/// One result of `retrieve`, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub enum MemoryResult {
    Task {
        id: String,
        input: String,
        output: String,
        updated_at: i64,
    },
    Monitor {
        id: String,
        query: String,
        /// `active` or `cancelled`.
        status: String,
        updated_at: i64,
        events: Vec<MatchedEvent>,
    },
    FindAll {
        id: String,
        objective: String,
        matched_count: i64,
        updated_at: i64,
    },
}

impl MemoryResult {
    /// The SDK's `TaskMemoryResult`, `MonitorMemoryResult` or `FindAllMemoryResult`.
    pub fn to_json(&self) -> Value {
        match self {
            MemoryResult::Task {
                id,
                input,
                output,
                updated_at,
            } => json!({
                "kind": "task",
                "id": id,
                "input_excerpt": excerpt(input),
                "output_excerpt": excerpt(output),
                "updated_at": crate::time::rfc3339(*updated_at),
            }),
            MemoryResult::Monitor {
                id,
                query,
                status,
                updated_at,
                events,
            } => json!({
                "kind": "monitor",
                "id": id,
                "input_excerpt": excerpt(query),
                "status": status,
                "updated_at": crate::time::rfc3339(*updated_at),
                "matched_events": events.iter().map(|e| json!({
                    "event_id": e.event_id,
                    "event_group_id": e.event_group_id,
                    "detected_at": crate::time::rfc3339(e.detected_at),
                    "excerpt": excerpt(&e.text),
                })).collect::<Vec<_>>(),
            }),
            MemoryResult::FindAll {
                id,
                objective,
                matched_count,
                updated_at,
            } => json!({
                "kind": "findall",
                "id": id,
                "input_excerpt": excerpt(objective),
                "matched_count": matched_count,
                "updated_at": crate::time::rfc3339(*updated_at),
            }),
        }
    }
}

/// The `retrieve` answer: `{"results": [...]}`.
pub fn retrieve_json(results: &[MemoryResult]) -> Value {
    json!({"results": results.iter().map(MemoryResult::to_json).collect::<Vec<_>>()})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointers(err: ApiError) -> Vec<String> {
        assert_eq!(err.status, 422);
        err.detail.unwrap()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pointer"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn retrieve_defaults_and_bounds() {
        let r = parse_retrieve(b"{}").unwrap();
        assert_eq!(r.limit, LIMIT_DEFAULT);
        assert_eq!(r.scope, PERSONAL);
        assert_eq!((r.kind, r.query, r.since), (None, None, None));
        let r = parse_retrieve(
            br#"{"kind":"monitor","limit":100,"memory_scope_key":"k","query":"  ","since":"2025-01-02T03:04:05+01:00"}"#,
        )
        .unwrap();
        assert_eq!(r.kind, Some(MemoryKind::Monitor));
        assert_eq!((r.limit, r.scope.as_str(), r.query), (100, "k", None));
        assert_eq!(r.since, Some(1_735_783_445_000_000));
        assert_eq!(
            parse_retrieve(br#"{"since":"2025-01-02T02:04:05"}"#)
                .unwrap()
                .since,
            Some(1_735_783_445_000_000)
        );
        for (body, at) in [
            (&br#"{"limit":0}"#[..], "/limit"),
            (br#"{"limit":101}"#, "/limit"),
            (br#"{"limit":"5"}"#, "/limit"),
            (br#"{"limit":2.5}"#, "/limit"),
            (br#"{"kind":"tasks"}"#, "/kind"),
            (br#"{"since":"yesterday"}"#, "/since"),
            (br#"{"query":3}"#, "/query"),
            (br#"{"memory_scope_key":1}"#, "/memory_scope_key"),
            (br#"{"memroy_scope_key":"k"}"#, "/memroy_scope_key"),
        ] {
            assert_eq!(pointers(parse_retrieve(body).unwrap_err()), vec![at]);
        }
        assert_eq!(parse_retrieve(b"[]").unwrap_err().status, 422);
        assert_eq!(parse_retrieve(b"{").unwrap_err().status, 422);
    }

    #[test]
    fn evict_and_clear() {
        let e = parse_evict(br#"{"id":"trun_1","kind":"task"}"#).unwrap();
        assert_eq!(
            (e.id.as_str(), e.kind, e.scope.as_str()),
            ("trun_1", MemoryKind::Task, "")
        );
        assert_eq!(
            pointers(parse_evict(b"{}").unwrap_err()),
            vec!["/id", "/kind"]
        );
        assert_eq!(
            pointers(parse_evict(br#"{"id":"x","kind":"task","extra":1}"#).unwrap_err()),
            vec!["/extra"]
        );
        assert_eq!(parse_clear(b"").unwrap(), PERSONAL);
        assert_eq!(parse_clear(br#"{"memory_scope_key":"k"}"#).unwrap(), "k");
        assert_eq!(
            parse_clear(br#"{"memory_scope_key":null}"#).unwrap(),
            PERSONAL
        );
        assert_eq!(
            pointers(parse_clear(br#"{"x":1}"#).unwrap_err()),
            vec!["/x"]
        );
    }

    #[test]
    fn excerpts_are_cut_at_a_word() {
        assert_eq!(excerpt("  a \n b  "), "a b");
        let long = "word ".repeat(200);
        let cut = excerpt(&long);
        assert!(cut.chars().count() <= EXCERPT_MAX);
        assert!(cut.ends_with("word…"), "{cut}");
        let unbroken = "é".repeat(1000);
        assert_eq!(excerpt(&unbroken).chars().count(), EXCERPT_MAX);
    }
}
