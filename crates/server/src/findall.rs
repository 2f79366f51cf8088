//! FindAll endpoints (`/v1beta/findall/…`): create, retrieve, result, schema, cancel, extend,
//! enrich, the event stream, ingest and the entity search.
//!
//! The event stream is read from the store page by page after the client's cursor, so a
//! client that resumes from any event id gets exactly what follows. While nothing happens on
//! a live run it sends `findall.status` heartbeats (not in the log; see
//! `parallax_api::findall`), and it ends once the run has ended and every event was sent, or
//! at the client's `timeout`.

use crate::runs::{
    client_read_timeout, error_event, is_known_processor, json_body, json_response, query_pairs,
    timeout_param,
};
use crate::sse::{self, SseEvent};
use crate::wake::{wait_for_notice, Woken};
use crate::{AppState, HttpError, Tenant};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parallax_api::findall::{
    entity_search_json, findall_event_json, findall_result_json, heartbeat_event_id,
    parse_create_findall, parse_enrich, parse_entity_search, parse_event_cursor, parse_extend,
    parse_ingest, FindAllEventKind, FindAllRun, FindAllSchema, Generator, ENTITY_SET_PREFIX,
    FINDALL_PREFIX,
};
use parallax_api::{ids, time::now_micros, ApiError, FieldError};
use parallax_engine::findall::suggest_schema;
use parallax_store::findall::{
    ChangeOutcome, ChangeRefusal, FindAllChange, FindAllEventRecord, FindAllToCreate,
};
use parallax_store::{Notice, Page, Store};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Longest an event stream stays open by default (the spec: as long as the run goes on).
const EVENTS_TIMEOUT_DEFAULT: f64 = 3600.0;
/// Events read from the store per page while streaming.
const PAGE: usize = 500;
/// A live stream re-reads at least this often even without a notice.
const RECHECK: Duration = Duration::from_secs(2);
/// Quiet time on a live run's stream before a `findall.status` heartbeat.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);

/// Refuses ids that cannot be FindAll ids without a store lookup.
fn check_id(id: &str) -> Result<(), HttpError> {
    if ids::looks_like(id, FINDALL_PREFIX) {
        Ok(())
    } else {
        Err(ApiError::findall_not_found().into())
    }
}

fn ok(body: String) -> Response {
    json_response(StatusCode::OK, body)
}

/// `POST /v1beta/findall/runs`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let new = parse_create_findall(&body)?;
    let run = state
        .store
        .create_findall(
            &tenant,
            FindAllToCreate {
                findall_id: ids::new_id(FINDALL_PREFIX),
                new,
                created_at: now_micros(),
            },
        )
        .await?;
    Ok(ok(run.to_json()))
}

/// The tenant's run, or the 404 every FindAll route answers.
async fn view(
    state: &AppState,
    tenant: &str,
    id: &str,
) -> Result<parallax_store::findall::FindAllView, HttpError> {
    check_id(id)?;
    state
        .store
        .get_findall(tenant, id)
        .await?
        .ok_or_else(|| ApiError::findall_not_found().into())
}

/// `GET /v1beta/findall/runs/{findall_id}`.
pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    Ok(ok(view(&state, &tenant, &id).await?.run.to_json()))
}

/// `GET /v1beta/findall/runs/{findall_id}/schema`.
pub async fn schema(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    Ok(ok(view(&state, &tenant, &id).await?.schema.to_json()))
}

/// `GET /v1beta/findall/runs/{findall_id}/result`: a snapshot, at once, in any state. The
/// run is read after the candidates, so its counts never fall behind the list.
pub async fn result(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    check_id(&id)?;
    let Some(candidates) = state.store.findall_candidates(&tenant, &id).await? else {
        return Err(ApiError::findall_not_found().into());
    };
    let view = view(&state, &tenant, &id).await?;
    Ok(ok(findall_result_json(
        &view.run,
        &candidates,
        view.last_event_id,
    )))
}

/// A change's answer, or the error a refusal gets.
async fn change(
    state: &AppState,
    tenant: &str,
    id: &str,
    change: FindAllChange,
) -> Result<parallax_store::findall::FindAllView, HttpError> {
    let cancelling = matches!(change, FindAllChange::Cancel);
    let enriching = matches!(change, FindAllChange::Enrich(_));
    match state.store.change_findall(tenant, id, change).await? {
        ChangeOutcome::Changed(view) => Ok(view),
        ChangeOutcome::NotFound => Err(ApiError::findall_not_found().into()),
        ChangeOutcome::Refused(ChangeRefusal::Ended { status, reason }) => Err(if cancelling {
            ApiError::findall_already_ended()
        } else if enriching {
            ApiError::new(
                409,
                format!("Cannot enrich a {status} FindAll run: only an active or completed run takes enrichments"),
            )
            .never_retry()
        } else {
            ApiError::findall_not_extendable(&status, reason.as_deref())
        }
        .into()),
        ChangeOutcome::Refused(ChangeRefusal::LimitTooHigh { limit }) => {
            Err(ApiError::validation(vec![FieldError::new(
                "/additional_match_limit",
                format!(
                    "would make the match limit {limit}, over the largest allowed ({})",
                    parallax_api::findall::MATCH_LIMIT_MAX
                ),
            )])
            .into())
        }
    }
}

/// `POST /v1beta/findall/runs/{findall_id}/cancel`: the run, now cancelled; 409 when it had
/// already ended.
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    check_id(&id)?;
    let view = change(&state, &tenant, &id, FindAllChange::Cancel).await?;
    Ok(ok(view.run.to_json()))
}

/// `POST /v1beta/findall/runs/{findall_id}/extend`: the schema with its new match limit.
pub async fn extend(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let more = parse_extend(&body)?;
    check_id(&id)?;
    let view = change(&state, &tenant, &id, FindAllChange::Extend(more)).await?;
    Ok(ok(view.schema.to_json()))
}

/// `POST /v1beta/findall/runs/{findall_id}/enrich`: the schema with the enrichment added.
pub async fn enrich(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let enrichment = parse_enrich(&body, is_known_processor)?;
    check_id(&id)?;
    let view = change(&state, &tenant, &id, FindAllChange::Enrich(enrichment)).await?;
    Ok(ok(view.schema.to_json()))
}

/// `POST /v1beta/findall/ingest`: a schema suggested from an objective.
pub async fn ingest(
    State(state): State<Arc<AppState>>,
    Tenant(_tenant): Tenant,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let objective = parse_ingest(&body)?;
    Ok(ok(suggest_schema(&objective).to_json()))
}

/// `POST /v1beta/findall/entity-search`: entities of a type for an objective, found by the
/// generation step alone (no evaluation), at once.
pub async fn entity_search(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let search = parse_entity_search(&body)?;
    let Some(finder) = &state.finder else {
        return Err(ApiError::new(
            501,
            "Not implemented: this server was started without search providers",
        )
        .into());
    };
    let schema = FindAllSchema {
        objective: search.objective.clone(),
        entity_type: search.entity_type.as_str().into(),
        match_conditions: Vec::new(),
        enrichments: None,
        generator: Some(Generator::Core),
        match_limit: Some(search.match_limit),
    };
    let found = finder
        .generate(&tenant, &schema, Generator::Core, &[])
        .await
        .map_err(|why| ApiError::new(503, format!("Service unavailable: {why}")))?;
    let entities: Vec<(String, String, String)> = found
        .into_iter()
        .take(search.match_limit as usize)
        .map(|f| (f.name, f.url, f.description.unwrap_or_default()))
        .collect();
    Ok(ok(entity_search_json(
        &ids::new_id(ENTITY_SET_PREFIX),
        &entities,
    )))
}

fn log_event(record: &FindAllEventRecord) -> SseEvent {
    let id = record.seq.to_string();
    SseEvent {
        data: findall_event_json(&id, record.kind, record.created_at, &record.document),
        id: Some(id),
        event: Some(record.kind.as_str().into()),
    }
}

fn heartbeat(run: &FindAllRun, after: i64, beat: u64) -> SseEvent {
    SseEvent {
        id: None,
        event: Some(FindAllEventKind::Status.as_str().into()),
        data: findall_event_json(
            &heartbeat_event_id(after, beat),
            FindAllEventKind::Status,
            now_micros(),
            &run.to_json(),
        ),
    }
}

/// The event stream's position and what it waits on.
struct Cursor {
    store: Arc<dyn Store>,
    tenant: String,
    id: String,
    after: i64,
    buffered: VecDeque<FindAllEventRecord>,
    notices: broadcast::Receiver<Notice>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    deadline: tokio::time::Instant,
    last_sent: tokio::time::Instant,
    heartbeat_every: Duration,
    beats: u64,
    finished: bool,
}

impl Cursor {
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(record) = self.buffered.pop_front() {
                self.after = record.seq;
                self.last_sent = tokio::time::Instant::now();
                return Some(log_event(&record));
            }
            if self.finished {
                return None;
            }
            let page = Page {
                of: &self.id,
                after: self.after,
                limit: PAGE,
            };
            match self.store.findall_events_after(&self.tenant, page).await {
                Ok(Some(page)) if !page.events.is_empty() => {
                    self.buffered.extend(page.events);
                    continue;
                }
                Ok(Some(page)) if !page.run.status.is_active() => return None,
                Ok(Some(page)) => {
                    if self.last_sent.elapsed() >= self.heartbeat_every {
                        self.beats += 1;
                        self.last_sent = tokio::time::Instant::now();
                        return Some(heartbeat(&page.run, self.after, self.beats));
                    }
                }
                Ok(None) => return None,
                Err(e) => {
                    self.finished = true;
                    return Some(error_event(&e.to_string()));
                }
            }
            if !self.wait().await {
                return None;
            }
        }
    }

    /// Waits for a notice about this run, a recheck, the next heartbeat, the deadline or
    /// shutdown; false when the stream should end.
    async fn wait(&mut self) -> bool {
        let until = (tokio::time::Instant::now() + RECHECK)
            .min(self.last_sent + self.heartbeat_every)
            .min(self.deadline);
        let run = self.id.as_str();
        let wanted = |n: &Notice| matches!(n, Notice::FindAll(id) if **id == *run);
        match wait_for_notice(&mut self.notices, wanted, until, &mut self.shutdown).await {
            Woken::Notice => true,
            Woken::Timer => tokio::time::Instant::now() < self.deadline,
            Woken::Closed | Woken::Shutdown => false,
        }
    }
}

/// `GET /v1beta/findall/runs/{findall_id}/events?last_event_id=&timeout=`.
pub async fn events(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let pairs = query_pairs(query.as_deref());
    // The query's `last_event_id` (as the SDK sends it), else a reconnecting EventSource's
    // `Last-Event-ID` header.
    let cursor_text = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "last_event_id")
        .map(|(_, v)| v.clone())
        .or_else(|| {
            headers
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
    let after = parse_event_cursor(cursor_text.as_deref())?;
    let timeout = timeout_param(&pairs, EVENTS_TIMEOUT_DEFAULT)?;
    // Subscribe before the first read, so nothing committed after it goes unnoticed.
    let notices = state.store.subscribe();
    view(&state, &tenant, &id).await?;
    let read_timeout = client_read_timeout(&headers);
    let now = tokio::time::Instant::now();
    let cursor = Cursor {
        store: state.store.clone(),
        tenant,
        id,
        after,
        buffered: VecDeque::new(),
        notices,
        shutdown: state.shutdown.clone(),
        deadline: now + timeout,
        last_sent: now,
        heartbeat_every: sse::keep_alive_interval(read_timeout).min(HEARTBEAT_EVERY),
        beats: 0,
        finished: false,
    };
    Ok(sse::response(
        futures::stream::unfold(cursor, |mut cursor| async move {
            cursor.next().await.map(|event| (event, cursor))
        }),
        sse::keep_alive_interval(read_timeout),
    ))
}
