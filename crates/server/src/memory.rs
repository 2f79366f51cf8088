//! The Memory API: `POST /v1beta/memory/retrieve`, `…/evict` and `…/clear` (also under
//! `/v1/`), the SDK's `client.beta.memory.*`. No `parallel-beta` header is required.
//!
//! The store keeps one entry per task run, monitor and FindAll run in the scope it was
//! created in and returns candidates newest first; ranking against a query happens here,
//! with the research engine's BM25 ([`parallax_engine::rank`]), so the store stays free of
//! research code.

use crate::runs::{json_body, json_response};
use crate::{AppState, HttpError, Tenant};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use parallax_api::memory::{
    not_in_memory, parse_clear, parse_evict, parse_retrieve, retrieve_json, MatchedEvent,
    MemoryKind, MemoryResult, EVENTS_SHOWN,
};
use parallax_engine::rank::rank;
use parallax_store::memory::{MemoryEntry, MemoryQuery};
use serde_json::Value;
use std::sync::Arc;

/// Entries read to rank against a query: the most recently updated of the scope.
pub const RANKED_CANDIDATES: i64 = 1_000;

/// `POST /v1beta/memory/retrieve`: the scope's entries, ranked by the query (best first,
/// then the entries that share no word with it, newest first), or newest first without one.
pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let request = parse_retrieve(&body)?;
    let candidates = match request.query {
        Some(_) => RANKED_CANDIDATES,
        None => request.limit as i64,
    };
    let entries = state
        .store
        .retrieve_memory(
            &tenant,
            &request.scope,
            MemoryQuery {
                kind: request.kind,
                since: request.since,
                limit: candidates,
            },
        )
        .await?;
    let query = request.query.as_deref().unwrap_or("");
    let results: Vec<MemoryResult> = ranked(query, entries)
        .into_iter()
        .take(request.limit)
        .map(|entry| result_of(query, entry))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        retrieve_json(&results).to_string(),
    ))
}

/// `POST /v1beta/memory/evict`: 204, or 404 when the scope does not hold that entry. The run,
/// monitor or FindAll run itself is untouched.
pub async fn evict(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let request = parse_evict(&body)?;
    let found = state
        .store
        .evict_memory(&tenant, &request.scope, request.kind, &request.id)
        .await?;
    if !found {
        return Err(not_in_memory(request.kind, &request.id).into());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1beta/memory/clear`: 204; every entry of that scope (only) is evicted.
pub async fn clear(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = match body {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => bytes,
        other => json_body(&state, &headers, other)?,
    };
    let scope = parse_clear(&body)?;
    state.store.clear_memory(&tenant, &scope).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// What an entry is ranked by: what it was asked, what it answered, what a monitor found.
fn entry_text(entry: &MemoryEntry) -> String {
    let mut text = format!("{}\n{}", entry.input, entry.output);
    for event in &entry.events {
        text.push('\n');
        text.push_str(&event_text(&event.document));
    }
    text
}

/// `entries` ordered for `query`: by BM25 score, best first, then those that share no word
/// with it in the order given (newest first). An empty query keeps the order given.
pub fn ranked(query: &str, entries: Vec<MemoryEntry>) -> Vec<MemoryEntry> {
    if query.is_empty() {
        return entries;
    }
    let texts: Vec<String> = entries.iter().map(entry_text).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let scores = rank(query, &refs);
    let mut slots: Vec<Option<MemoryEntry>> = entries.into_iter().map(Some).collect();
    let mut out: Vec<MemoryEntry> = scores
        .iter()
        .filter_map(|(i, _)| slots.get_mut(*i).and_then(Option::take))
        .collect();
    out.extend(slots.into_iter().flatten());
    out
}

/// The text of a monitor event's document: its one-line summary, else its output's content.
fn event_text(document: &Value) -> String {
    if let Some(summary) = document.get("summary").and_then(Value::as_str) {
        if !summary.trim().is_empty() {
            return summary.to_owned();
        }
    }
    match document.get("output").and_then(|o| o.get("content")) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// A monitor's events for `query`: those matching it by relevance with recent ones favoured
/// (a BM25 score weighed by `0.5 + 0.5 / (1 + days old / 30)`), or the most recent without a
/// query; at most [`EVENTS_SHOWN`].
fn matched_events(query: &str, entry: &MemoryEntry) -> Vec<MatchedEvent> {
    let events: Vec<MatchedEvent> = entry
        .events
        .iter()
        .map(|e| MatchedEvent {
            event_id: e.event_id.clone(),
            event_group_id: e.event_group_id.clone().unwrap_or_default(),
            detected_at: e.created_at,
            text: event_text(&e.document),
        })
        .collect();
    if query.is_empty() {
        return events.into_iter().take(EVENTS_SHOWN).collect();
    }
    let newest = events.iter().map(|e| e.detected_at).max().unwrap_or(0);
    let texts: Vec<&str> = events.iter().map(|e| e.text.as_str()).collect();
    let mut scored: Vec<(usize, f32)> = rank(query, &texts)
        .into_iter()
        .map(|(i, score)| {
            let days = (newest - events[i].detected_at) as f32 / 86_400_000_000.0;
            (i, score * (0.5 + 0.5 / (1.0 + days / 30.0)))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored
        .into_iter()
        .take(EVENTS_SHOWN)
        .map(|(i, _)| events[i].clone())
        .collect()
}

fn result_of(query: &str, entry: MemoryEntry) -> MemoryResult {
    match entry.kind {
        MemoryKind::Task => MemoryResult::Task {
            id: entry.id,
            input: entry.input,
            output: entry.output,
            updated_at: entry.updated_at,
        },
        MemoryKind::Monitor => MemoryResult::Monitor {
            events: matched_events(query, &entry),
            status: entry.status.unwrap_or_else(|| "active".into()),
            id: entry.id,
            query: entry.input,
            updated_at: entry.updated_at,
        },
        MemoryKind::FindAll => MemoryResult::FindAll {
            id: entry.id,
            objective: entry.input,
            matched_count: entry.matched_count.unwrap_or(0),
            updated_at: entry.updated_at,
        },
    }
}
