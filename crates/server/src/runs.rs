//! Task run endpoints: create, retrieve, input, result (long-poll) and events (SSE).

use crate::{AppState, HttpError, Tenant};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use parallax_api::create::{parse_create_run, NewRun};
use parallax_api::{ids, time::now_micros, ApiError, FieldError, RunStatus, TaskRun};
use parallax_engine::budget;
use parallax_store::{CreateOutcome, EventRecord, Idempotency, Notice, RunToCreate, Store};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Default and largest wait of `GET …/result`, in seconds (the spec's default).
const RESULT_TIMEOUT_DEFAULT: f64 = 600.0;
const RESULT_TIMEOUT_MAX: f64 = 3600.0;
/// Longest `Idempotency-Key` accepted.
const IDEMPOTENCY_KEY_MAX: usize = 255;
/// Events read from the store per page while streaming.
const EVENT_PAGE: usize = 256;

pub(crate) fn json_response(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.into(),
    )
        .into_response()
}

pub(crate) fn run_json(run: &TaskRun) -> String {
    serde_json::to_string(run).expect("a TaskRun always serialises")
}

/// `POST /v1/tasks/runs`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let new = parse_create_run(&body, is_known_processor)?;
    check_previous_interaction(&state, &tenant, &new, "").await?;
    let idempotency = match headers.get("idempotency-key") {
        None => None,
        Some(value) => {
            let key = value
                .to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_MAX);
            let Some(key) = key else {
                return Err(ApiError::new(
                    422,
                    format!("Unprocessable content: Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters"),
                )
                .into());
            };
            Some(Idempotency {
                key: key.to_owned(),
                body_hash: Sha256::digest(&body).into(),
            })
        }
    };
    let run = run_to_create(new, now_micros());
    let input_doc = Bytes::from(run.input_doc.clone());
    match state.store.create_run(&tenant, run, idempotency).await? {
        CreateOutcome::Created(task_run) => {
            state.inputs.insert(&tenant, &task_run.run_id, input_doc);
            Ok(json_response(StatusCode::ACCEPTED, run_json(&task_run)))
        }
        CreateOutcome::Replayed(response) => Ok(json_response(StatusCode::ACCEPTED, response)),
        CreateOutcome::KeyConflict => Err(ApiError::new(
            409,
            "Conflict: this Idempotency-Key was already used with a different request body",
        )
        .into()),
    }
}

/// Whether a processor of that name exists (the engine's table).
pub(crate) fn is_known_processor(name: &str) -> bool {
    budget::lookup(name).is_some()
}

/// Refuses a `previous_interaction_id` that is not one of the tenant's runs; `at` is the
/// run object's pointer in the body.
pub(crate) async fn check_previous_interaction(
    state: &AppState,
    tenant: &str,
    new: &NewRun,
    at: &str,
) -> Result<(), HttpError> {
    if let Some(previous) = &new.previous_interaction_id {
        if !ids::looks_like(previous, ids::RUN_PREFIX)
            || state.store.get_run(tenant, previous).await?.is_none()
        {
            return Err(ApiError::validation(vec![FieldError::new(
                format!("{at}/previous_interaction_id"),
                "is not the interaction id of one of your runs",
            )])
            .into());
        }
    }
    Ok(())
}

/// A validated run, ready for the store, with a fresh id.
pub(crate) fn run_to_create(new: NewRun, created_at: i64) -> RunToCreate {
    let budget = budget::lookup(&new.processor).expect("parsing checked the processor");
    RunToCreate {
        run_id: ids::new_run_id(),
        processor: new.processor,
        input_doc: new.input_doc,
        metadata: new.metadata.map(|m| m.get().to_owned()),
        enable_events: new.enable_events.unwrap_or(budget.events_by_default),
        previous_interaction_id: new.previous_interaction_id,
        created_at,
        webhook_url: new.webhook_url,
        warnings: (!new.warnings.is_empty())
            .then(|| serde_json::Value::from(new.warnings).to_string()),
    }
}

/// The body of a JSON request: 413 when it is over the limit, 415 when it is not declared
/// as JSON.
pub(crate) fn json_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                413,
                format!(
                    "Payload too large: request bodies are limited to {} bytes",
                    state.limits.max_body_bytes
                ),
            )
        } else {
            ApiError::new(
                400,
                format!("Bad request: the body could not be read: {rejection}"),
            )
        }
    })?;
    check_json_content_type(headers)?;
    Ok(body)
}

fn check_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(ApiError::new(
            415,
            format!(
                "Unsupported media type: send the body as JSON with Content-Type: application/json (got {:?})",
                content_type
            ),
        ))
    }
}

/// Refuses ids that cannot be run ids without a store lookup.
pub(crate) fn check_run_id(run_id: &str) -> Result<(), HttpError> {
    if ids::looks_like(run_id, ids::RUN_PREFIX) {
        Ok(())
    } else {
        Err(ApiError::run_not_found().into())
    }
}

/// `GET /v1/tasks/runs/{run_id}`.
pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(run_id): Path<String>,
) -> Result<Response, HttpError> {
    check_run_id(&run_id)?;
    match state.store.get_run(&tenant, &run_id).await? {
        Some(run) => Ok(json_response(StatusCode::OK, run_json(&run))),
        None => Err(ApiError::run_not_found().into()),
    }
}

/// `GET /v1/tasks/runs/{run_id}/input`: the request as the client sent it.
pub async fn input(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(run_id): Path<String>,
) -> Result<Response, HttpError> {
    check_run_id(&run_id)?;
    if let Some(doc) = state.inputs.get(&tenant, &run_id) {
        return Ok(json_response(StatusCode::OK, doc));
    }
    match state.store.get_input(&tenant, &run_id).await? {
        Some(doc) => {
            let doc = Bytes::from(doc);
            state.inputs.insert(&tenant, &run_id, doc.clone());
            Ok(json_response(StatusCode::OK, doc))
        }
        None => Err(ApiError::run_not_found().into()),
    }
}

/// Reads `timeout` from the query: seconds to wait, default 600.
fn result_timeout(query: Option<&str>) -> Result<Duration, ApiError> {
    timeout_param(&query_pairs(query), RESULT_TIMEOUT_DEFAULT)
}

/// The query string's `name=value` pairs, percent-decoded, in order.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Reads `timeout` (seconds, 0 to an hour) from query pairs; `default` when absent.
pub(crate) fn timeout_param(
    pairs: &[(String, String)],
    default: f64,
) -> Result<Duration, ApiError> {
    let mut timeout = default;
    for (name, value) in pairs {
        if name == "timeout" {
            timeout = value
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite() && (0.0..=RESULT_TIMEOUT_MAX).contains(t))
                .ok_or_else(|| {
                    ApiError::validation(vec![FieldError::new(
                        "/query/timeout",
                        format!("must be a number of seconds from 0 to {RESULT_TIMEOUT_MAX}"),
                    )])
                })?;
        }
    }
    Ok(Duration::from_secs_f64(timeout))
}

/// Waits for a notice about `run_id`, or returns false at `deadline` or shutdown.
pub(crate) async fn wait_for_run(
    notices: &mut broadcast::Receiver<Notice>,
    run_id: &str,
    deadline: tokio::time::Instant,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<bool, HttpError> {
    loop {
        tokio::select! {
            notice = notices.recv() => match notice {
                Ok(Notice::Run(id)) if &*id == run_id => return Ok(true),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return Ok(true),
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(ApiError::new(503, "Service unavailable: the server is shutting down").into())
                }
            },
            _ = tokio::time::sleep_until(deadline) => return Ok(false),
            _ = shutdown.wait_for(|stop| *stop) => {
                return Err(ApiError::new(503, "Service unavailable: the server is shutting down; retry the request").into())
            }
        }
    }
}

/// `GET /v1/tasks/runs/{run_id}/result?timeout=S`: waits for the run to end, woken by its
/// completion notice, and answers its output.
pub async fn result(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(run_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let timeout = result_timeout(query.as_deref())?;
    check_run_id(&run_id)?;
    let deadline = tokio::time::Instant::now() + timeout;
    // Subscribe before reading, so a completion between the read and the wait still wakes us.
    let mut notices = state.store.subscribe();
    let mut shutdown = state.shutdown.clone();
    loop {
        let Some((run, output)) = state.store.get_result(&tenant, &run_id).await? else {
            return Err(ApiError::run_not_found().into());
        };
        match (run.status, output) {
            (RunStatus::Completed, Some(output)) => {
                let body = format!(r#"{{"run":{},"output":{}}}"#, run_json(&run), output);
                return Ok(json_response(StatusCode::OK, body));
            }
            (status, _) if status.is_terminal() => {
                return Err(ApiError::new(404, "Run failed or run id not found")
                    .with_detail(json!({
                        "run_id": run.run_id,
                        "status": status.as_str(),
                        "error": run.error.map(|e| e.message),
                    }))
                    .into());
            }
            _ => {}
        }
        if !wait_for_run(&mut notices, &run_id, deadline, &mut shutdown).await? {
            return Err(ApiError::new(408, "Request timed out; run still active")
                .with_detail(json!({ "run_id": run_id, "status": run.status.as_str() }))
                .into());
        }
    }
}

/// Reads `Last-Event-ID`: the cursor of the last event the client has.
fn last_event_id(headers: &HeaderMap) -> Result<i64, ApiError> {
    match headers.get("last-event-id") {
        None => Ok(0),
        Some(value) => value
            .to_str()
            .ok()
            .map(str::trim)
            .and_then(|v| {
                if v.is_empty() {
                    Some(0)
                } else {
                    v.parse::<i64>().ok()
                }
            })
            .filter(|v| *v >= 0)
            .ok_or_else(|| {
                ApiError::validation(vec![FieldError::new(
                    "/headers/last-event-id",
                    "must be the id of an event this stream sent",
                )])
            }),
    }
}

struct EventCursor {
    store: Arc<dyn Store>,
    tenant: String,
    run_id: String,
    after: i64,
    buffered: VecDeque<EventRecord>,
    notices: broadcast::Receiver<Notice>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    finished: bool,
}

impl EventCursor {
    /// The next event, waiting for one if needed; `None` once the run has ended and every
    /// event was sent, or at shutdown.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(record) = self.buffered.pop_front() {
                self.after = record.seq;
                return Some(
                    Event::default()
                        .id(record.seq.to_string())
                        .data(record.data),
                );
            }
            if self.finished {
                return None;
            }
            match self.fill().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(event) => {
                    self.finished = true;
                    return Some(event);
                }
            }
            // Nothing new. If the run has ended, its last event is committed with its status:
            // read once more, then stop.
            match self.store.get_run(&self.tenant, &self.run_id).await {
                Ok(Some(run)) if run.status.is_terminal() => {
                    self.finished = true;
                    if let Err(event) = self.fill().await {
                        return Some(event);
                    }
                    continue;
                }
                Ok(Some(_)) => {}
                Ok(None) => return None,
                Err(e) => {
                    self.finished = true;
                    return Some(error_event(&e.to_string()));
                }
            }
            let far = tokio::time::Instant::now() + Duration::from_secs(3600);
            match wait_for_run(&mut self.notices, &self.run_id, far, &mut self.shutdown).await {
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Reads the next page of events into the buffer; true if it found any.
    async fn fill(&mut self) -> Result<bool, Event> {
        match self
            .store
            .events_after(&self.tenant, &self.run_id, self.after, EVENT_PAGE)
            .await
        {
            Ok(page) => {
                let found = !page.is_empty();
                self.buffered.extend(page);
                Ok(found)
            }
            Err(e) => Err(error_event(&e.to_string())),
        }
    }
}

pub(crate) fn error_event(cause: &str) -> Event {
    let ref_id = uuid::Uuid::new_v4().to_string();
    tracing::error!(%ref_id, error = %cause, "event stream failed");
    let body = json!({
        "type": "error",
        "error": { "ref_id": ref_id, "message": "Internal error: the event stream failed; reconnect with Last-Event-ID" },
    });
    Event::default().data(body.to_string())
}

/// `GET /v1/tasks/runs/{run_id}/events`: Server-Sent Events, from `Last-Event-ID` on,
/// ending when the run has ended.
pub async fn events(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(run_id): Path<String>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>, HttpError> {
    check_run_id(&run_id)?;
    let after = last_event_id(&headers)?;
    let notices = state.store.subscribe();
    if state.store.get_run(&tenant, &run_id).await?.is_none() {
        return Err(ApiError::run_not_found().into());
    }
    let cursor = EventCursor {
        store: state.store.clone(),
        tenant,
        run_id,
        after,
        buffered: VecDeque::new(),
        notices,
        shutdown: state.shutdown.clone(),
        finished: false,
    };
    let stream = futures::stream::unfold(cursor, |mut cursor| async move {
        cursor.next().await.map(|event| (Ok(event), cursor))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_parsing() {
        assert_eq!(result_timeout(None).unwrap(), Duration::from_secs(600));
        assert_eq!(
            result_timeout(Some("timeout=5")).unwrap(),
            Duration::from_secs(5)
        );
        assert_eq!(
            result_timeout(Some("x=1&timeout=0.5")).unwrap(),
            Duration::from_millis(500)
        );
        for bad in [
            "timeout=-1",
            "timeout=abc",
            "timeout=",
            "timeout=1e9",
            "timeout=NaN",
        ] {
            assert_eq!(result_timeout(Some(bad)).unwrap_err().status, 422, "{bad}");
        }
    }

    #[test]
    fn content_types() {
        let mut headers = HeaderMap::new();
        assert_eq!(check_json_content_type(&headers).unwrap_err().status, 415);
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(check_json_content_type(&headers).is_ok());
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert_eq!(check_json_content_type(&headers).unwrap_err().status, 415);
    }

    #[test]
    fn last_event_ids() {
        let mut headers = HeaderMap::new();
        assert_eq!(last_event_id(&headers).unwrap(), 0);
        headers.insert("last-event-id", "7".parse().unwrap());
        assert_eq!(last_event_id(&headers).unwrap(), 7);
        headers.insert("last-event-id", "x".parse().unwrap());
        assert_eq!(last_event_id(&headers).unwrap_err().status, 422);
    }
}
