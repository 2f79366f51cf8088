//! Task run endpoints: create, retrieve, input, result (long-poll) and events (SSE).

use crate::betas::ParallelBeta;
use crate::sse::{self, SseEvent};
use crate::wake::{wait_for_notice, Woken};
use crate::{AppState, HttpError, Tenant};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use parallax_api::beta::{self, render_output, Betas};
use parallax_api::create::{parse_create_run, NewRun};
use parallax_api::events::{
    read_recorded_run_event, stream_failed_json, task_run_state_json, RecordedRunEvent,
};
use parallax_api::run::task_run_result_json;
use parallax_api::{ids, time::now_micros, ApiError, FieldError, RunStatus, TaskRun};
use parallax_engine::budget;
use parallax_store::{CreateOutcome, EventRecord, Idempotency, Notice, Page, RunToCreate, Store};
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

/// `POST /v1/tasks/runs`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    ParallelBeta(betas): ParallelBeta,
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
    let run = RunToCreate {
        idempotency,
        ..run_to_create(new, now_micros(), &betas)
    };
    let input_doc = Bytes::from(run.input_doc.clone());
    let _admitted = state.quotas.admit_runs(&tenant, 1, &*state.store).await?;
    match state.store.create_run(&tenant, run).await? {
        CreateOutcome::Created(task_run) => {
            state.inputs.insert(&tenant, &task_run.run_id, input_doc);
            Ok(json_response(StatusCode::ACCEPTED, task_run.to_json()))
        }
        CreateOutcome::Replayed(response) => Ok(json_response(StatusCode::ACCEPTED, response)),
        CreateOutcome::KeyConflict => Err(ApiError::new(
            409,
            "Conflict: this Idempotency-Key was already used with a different request body",
        )
        .never_retry()
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

/// A validated run, ready for the store, with a fresh id, created under `betas` (the
/// request's `parallel-beta`). `mcp_servers` without the MCP beta are kept in the input but
/// never contacted, and the run says so in a warning.
pub(crate) fn run_to_create(mut new: NewRun, created_at: i64, betas: &Betas) -> RunToCreate {
    let budget = budget::lookup(&new.processor).expect("parsing checked the processor");
    if new.has_mcp_servers && !betas.has(beta::MCP_SERVER) {
        new.warnings.push(serde_json::json!({
            "type": "warning",
            "message": format!(
                "mcp_servers was not used: MCP servers are a beta feature; send the \
                 parallel-beta header {} (betas=[\"{}\"] in the SDKs) to use them",
                beta::MCP_SERVER,
                beta::MCP_SERVER
            ),
            "detail": {"pointer": "/mcp_servers"},
        }));
    }
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
        idempotency: None,
        betas: betas.to_stored(),
    }
}

/// The body of a JSON request: 413 when it is over the limit, 422 when it is not declared
/// as JSON (as the hosted API, a FastAPI service, answers; not 415).
pub(crate) fn json_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, ApiError> {
    let body = body.map_err(|rejection| {
        if let Some(after) = crate::body_deadline::timed_out(&rejection) {
            ApiError::new(
                408,
                format!(
                    "Request timeout: the request body must arrive within {} s of its headers; send it at once",
                    after.as_secs_f64()
                ),
            )
        } else if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
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
        Err(ApiError::validation(vec![FieldError::new(
            "",
            format!(
                "the body must be sent as JSON, with Content-Type: application/json (got {})",
                if content_type.is_empty() {
                    "no Content-Type".to_string()
                } else {
                    format!("{content_type:?}")
                }
            ),
        )]))
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
        Some(run) => Ok(json_response(StatusCode::OK, run.to_json())),
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

/// The read timeout the official SDKs announce in `x-stainless-read-timeout` (seconds): they
/// give up on an answer that takes longer, then retry. `None` when absent or unreadable (the
/// header is advice; a bad one is ignored, not refused).
pub(crate) fn client_read_timeout(headers: &HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get("x-stainless-read-timeout")?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()?;
    (seconds.is_finite() && seconds > 0.0).then(|| Duration::from_secs_f64(seconds.min(1e9)))
}

/// How long a long-poll may wait so that its answer reaches a client that reads for at most
/// `read_timeout`: a little less, so the 408 arrives before the client gives up (5 %,
/// between 250 ms and 5 s, for the time the answer takes to travel and be read).
fn answer_before(wait: Duration, read_timeout: Option<Duration>) -> Duration {
    match read_timeout {
        None => wait,
        Some(read) => {
            let margin = (read / 20).clamp(Duration::from_millis(250), Duration::from_secs(5));
            wait.min(read.saturating_sub(margin))
        }
    }
}

/// The 404 that `GET …/result` answers for a run that ended without output, as the hosted API
/// does. It carries the run's own error, and is answered under that error's `ref_id`, under
/// which the failure was logged when it happened.
fn ended_without_output(run: &TaskRun) -> HttpError {
    let error = ApiError::run_ended_without_output(run);
    match &run.error {
        Some(cause) => HttpError::logged(error, cause.ref_id.clone()),
        None => error.into(),
    }
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
    let wanted = |n: &Notice| matches!(n, Notice::Run(id) if &**id == run_id);
    match wait_for_notice(notices, wanted, deadline, shutdown).await {
        Woken::Notice => Ok(true),
        Woken::Timer => Ok(false),
        Woken::Closed => {
            Err(ApiError::new(503, "Service unavailable: the server is shutting down").into())
        }
        Woken::Shutdown => Err(ApiError::new(
            503,
            "Service unavailable: the server is shutting down; retry the request",
        )
        .into()),
    }
}

/// `GET /v1/tasks/runs/{run_id}/result?timeout=S`: waits for the run to end, woken by its
/// completion notice, and answers its output; 408 at the timeout, or just before the client's
/// announced read timeout if that comes first.
pub async fn result(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(run_id): Path<String>,
    RawQuery(query): RawQuery,
    ParallelBeta(betas): ParallelBeta,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let timeout = answer_before(
        result_timeout(query.as_deref())?,
        client_read_timeout(&headers),
    );
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
                // MCP tool calls are `mcp_tool_calls` when read with their beta, else
                // `beta_fields` (as stored).
                let body = task_run_result_json(&run, &render_output(&output, &betas));
                return Ok(json_response(StatusCode::OK, body));
            }
            (status, _) if status.is_terminal() => return Err(ended_without_output(&run)),
            _ => {}
        }
        if !wait_for_run(&mut notices, &run_id, deadline, &mut shutdown).await? {
            return Err(ApiError::run_still_active(&run_id, run.status).into());
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
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(record) = self.buffered.pop_front() {
                self.after = record.seq;
                return Some(self.render(record).await);
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

    /// A recorded event as the stream sends it. A state change is a `TaskRunEvent` with
    /// `event_id: null` (a run's own stream has no cursor in the spec), and the one that
    /// completes the run carries its output, so a client needs no second request for it.
    async fn render(&self, record: EventRecord) -> SseEvent {
        let id = Some(record.seq.to_string());
        match read_recorded_run_event(&record.data) {
            Ok(RecordedRunEvent::State { run, status }) => {
                let output = if status == RunStatus::Completed {
                    match self.store.get_result(&self.tenant, &self.run_id).await {
                        Ok(found) => found.and_then(|(_, output)| output),
                        Err(e) => return error_event(&e.to_string()),
                    }
                } else {
                    None
                };
                SseEvent {
                    id,
                    event: Some("task_run.state".into()),
                    data: task_run_state_json(None, run.get(), None, output.as_deref()),
                }
            }
            Ok(RecordedRunEvent::Other { event_type }) => SseEvent {
                id,
                event: event_type,
                data: record.data,
            },
            Err(e) => {
                tracing::warn!(run_id = %self.run_id, seq = record.seq, error = %e, "a recorded event is unreadable; sending it as recorded");
                SseEvent {
                    id,
                    event: None,
                    data: record.data,
                }
            }
        }
    }

    /// Reads the next page of events into the buffer; true if it found any.
    async fn fill(&mut self) -> Result<bool, SseEvent> {
        match self
            .store
            .events_after(
                &self.tenant,
                Page {
                    of: &self.run_id,
                    after: self.after,
                    limit: EVENT_PAGE,
                },
            )
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

/// The `error` event that ends a stream whose store read failed (`ErrorEvent` of the spec);
/// the cause is logged under its `ref_id`, never sent.
pub(crate) fn error_event(cause: &str) -> SseEvent {
    let ref_id = uuid::Uuid::new_v4().to_string();
    tracing::error!(%ref_id, error = %cause, "event stream failed");
    SseEvent {
        id: None,
        event: Some("error".into()),
        data: stream_failed_json(&ref_id),
    }
}

/// `GET /v1/tasks/runs/{run_id}/events`: Server-Sent Events, from `Last-Event-ID` on,
/// ending when the run has ended.
pub async fn events(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(run_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
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
    Ok(sse::response(
        futures::stream::unfold(cursor, |mut cursor| async move {
            cursor.next().await.map(|event| (event, cursor))
        }),
        sse::keep_alive_interval(client_read_timeout(&headers)),
    ))
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
    fn long_polls_answer_before_the_client_gives_up() {
        let mut headers = HeaderMap::new();
        assert_eq!(client_read_timeout(&headers), None);
        for bad in ["abc", "-3", "0", "NaN", "inf", ""] {
            headers.insert("x-stainless-read-timeout", bad.parse().unwrap());
            assert_eq!(client_read_timeout(&headers), None, "{bad}");
        }
        headers.insert("x-stainless-read-timeout", "60.0".parse().unwrap());
        let read = client_read_timeout(&headers);
        assert_eq!(read, Some(Duration::from_secs(60)));
        let default = Duration::from_secs(600);
        // 5 % of 60 s is 3 s.
        assert_eq!(answer_before(default, read), Duration::from_secs(57));
        // A shorter explicit wait is kept; no header changes nothing.
        assert_eq!(
            answer_before(Duration::from_secs(5), read),
            Duration::from_secs(5)
        );
        assert_eq!(answer_before(default, None), default);
        // The margin is 250 ms to 5 s.
        assert_eq!(
            answer_before(default, Some(Duration::from_secs(2))),
            Duration::from_millis(1750)
        );
        assert_eq!(
            answer_before(default, Some(Duration::from_secs(1000))),
            Duration::from_secs(600)
        );
        assert_eq!(
            answer_before(default, Some(Duration::from_millis(100))),
            Duration::ZERO
        );
    }

    #[test]
    fn a_failed_run_answers_with_its_own_error() {
        let run = TaskRun {
            run_id: "trun_0".into(),
            status: RunStatus::Failed,
            processor: "lite".into(),
            metadata: None,
            error: Some(parallax_api::error::ErrorObject {
                ref_id: "4a3f".into(),
                message: "the source was unreachable".into(),
                detail: None,
            }),
            warnings: None,
            taskgroup_id: None,
            created_at: 0,
            modified_at: 0,
        };
        let response = ended_without_output(&run).into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = futures::executor::block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["ref_id"], "4a3f");
        assert_eq!(
            body["error"]["message"],
            "Run failed: the source was unreachable (ref_id 4a3f)"
        );
        assert_eq!(
            body["error"]["detail"]["error"]["message"],
            "the source was unreachable"
        );
    }

    #[test]
    fn content_types() {
        let mut headers = HeaderMap::new();
        assert_eq!(check_json_content_type(&headers).unwrap_err().status, 422);
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(check_json_content_type(&headers).is_ok());
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert_eq!(check_json_content_type(&headers).unwrap_err().status, 422);
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
