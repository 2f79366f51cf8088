//! Monitor endpoints, in both contracts: the SDK's `/v1/monitors` (also served under
//! `/v1beta/`) and the spec's `/v1alpha/monitors`. Both read and write the same monitors;
//! each handler parses with `parallax_api::monitor`, goes through the store once or twice,
//! and answers in its contract's shape.
//!
//! Creation time and every schedule decision use the server's monitor clock
//! ([`AppState::clock`]), the one the monitor scheduler plans with.

use crate::runs::{json_body, json_response, query_pairs};
use crate::{AppState, HttpError, Tenant};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parallax_api::monitor::{
    parse_alpha_create, parse_alpha_update, parse_create, parse_cursor, parse_limit,
    parse_lookback, parse_update, snapshot_settings, MonitorKind, MonitorPatch, MonitorStatus,
    NewMonitor, EVENTS_LIMIT_DEFAULT, EVENTS_LIMIT_MAX, LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX,
    MONITOR_PREFIX, WEBHOOK_EVENT_TYPES,
};
use parallax_api::{ids, ApiError, FieldError, RunStatus};
use parallax_store::monitor::{
    EventQuery, MonitorListQuery, MonitorOp, MonitorReply, MonitorToCreate, Requested,
    SnapshotBaseline, UpdateOutcome,
};
use serde_json::{json, Value};
use std::sync::Arc;

fn not_found() -> ApiError {
    ApiError::new(404, "Monitor not found")
}

/// Refuses ids that cannot be monitor ids without a store lookup.
fn check_id(id: &str) -> Result<(), HttpError> {
    if ids::looks_like(id, MONITOR_PREFIX) {
        Ok(())
    } else {
        Err(not_found().into())
    }
}

fn answer(status: StatusCode, body: &Value) -> Response {
    json_response(status, body.to_string())
}

fn unexpected(reply: MonitorReply) -> HttpError {
    parallax_store::StoreError::Corrupt(format!("a monitor op answered {reply:?}")).into()
}

/// The query parameter's values: repeated (`status=a&status=b`) or comma-separated.
fn many(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name || k == &format!("{name}[]"))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

fn one<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Commits a validated monitor; a snapshot monitor's task run is looked up first.
async fn commit(
    state: &AppState,
    tenant: &str,
    new: NewMonitor,
) -> Result<parallax_api::monitor::MonitorView, HttpError> {
    let NewMonitor {
        mut config,
        snapshot_of,
    } = new;
    let snapshot = match snapshot_of {
        None => None,
        Some(run_id) => {
            let refuse = |reason: String| -> HttpError {
                ApiError::validation(vec![FieldError::new("/settings/task_run_id", reason)]).into()
            };
            let found = if ids::looks_like(&run_id, ids::RUN_PREFIX) {
                state.store.get_result(tenant, &run_id).await?
            } else {
                None
            };
            let Some((run, output)) = found else {
                return Err(refuse(format!("{run_id:?} names no task run of yours")));
            };
            let (RunStatus::Completed, Some(output)) = (run.status, output) else {
                return Err(refuse(format!(
                    "the task run is {}: a snapshot monitor needs a completed run, whose output is its baseline",
                    run.status.as_str()
                )));
            };
            let request = state
                .store
                .get_input(tenant, &run_id)
                .await?
                .ok_or_else(|| refuse(format!("{run_id:?} names no task run of yours")))?;
            let request: Value = serde_json::from_str(&request).map_err(|e| {
                HttpError::from(parallax_store::StoreError::Corrupt(format!(
                    "stored run request: {e}"
                )))
            })?;
            let output: Value = serde_json::from_str(&output).map_err(|e| {
                HttpError::from(parallax_store::StoreError::Corrupt(format!(
                    "stored run output: {e}"
                )))
            })?;
            config.settings = snapshot_settings(&run_id, &request);
            Some(SnapshotBaseline { request, output })
        }
    };
    Ok(state
        .store
        .create_monitor(
            tenant,
            MonitorToCreate {
                monitor_id: ids::new_id(MONITOR_PREFIX),
                config,
                created_at: state.clock.now(),
                snapshot,
            },
        )
        .await?)
}

/// `POST /v1/monitors`: 201 with the monitor, which runs at once and then on its schedule.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let new = parse_create(&body)?;
    let monitor = commit(&state, &tenant, new).await?;
    Ok(answer(StatusCode::CREATED, &monitor.to_json()))
}

/// `POST /v1alpha/monitors`: 201 with the spec's `MonitorResponse`.
pub async fn alpha_create(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let new = parse_alpha_create(&body)?;
    let monitor = commit(&state, &tenant, new).await?;
    Ok(answer(StatusCode::CREATED, &monitor.to_alpha_json()))
}

/// The tenant's monitor, or the 404 every monitor route answers.
async fn view(
    state: &AppState,
    tenant: &str,
    id: &str,
) -> Result<parallax_api::monitor::MonitorView, HttpError> {
    check_id(id)?;
    state
        .store
        .get_monitor(tenant, id)
        .await?
        .ok_or_else(|| not_found().into())
}

/// `GET /v1/monitors/{monitor_id}`.
pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    Ok(answer(
        StatusCode::OK,
        &view(&state, &tenant, &id).await?.to_json(),
    ))
}

/// `GET /v1alpha/monitors/{monitor_id}`.
pub async fn alpha_retrieve(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    Ok(answer(
        StatusCode::OK,
        &view(&state, &tenant, &id).await?.to_alpha_json(),
    ))
}

/// `settings_pointer`: where the contract's body holds the settings (`/type` for the SDK,
/// whose `type` says the update is for an event_stream monitor; `/query` for the spec).
async fn update_with(
    state: &AppState,
    tenant: &str,
    id: &str,
    patch: MonitorPatch,
    settings_pointer: &str,
) -> Result<parallax_api::monitor::MonitorView, HttpError> {
    check_id(id)?;
    let op = MonitorOp::Update {
        tenant: tenant.into(),
        monitor_id: id.into(),
        patch,
        clock: state.clock.now(),
    };
    match state.store.monitor(op).await? {
        MonitorReply::Updated(UpdateOutcome::Updated(view)) => Ok(*view),
        MonitorReply::Updated(UpdateOutcome::NotFound) => Err(not_found().into()),
        MonitorReply::Updated(UpdateOutcome::NoSettings) => Err(ApiError::validation(vec![
            FieldError::new(
                settings_pointer,
                "this is a snapshot monitor: it has no query or settings to update (it re-runs its task run); only frequency, processor, metadata and webhook change",
            ),
        ])
        .into()),
        MonitorReply::Updated(UpdateOutcome::Cancelled) => Err(ApiError::new(
            409,
            "The monitor is cancelled: only its metadata can be updated. Create a new monitor to monitor again.",
        )
        .never_retry()
        .into()),
        other => Err(unexpected(other)),
    }
}

/// `POST /v1/monitors/{monitor_id}/update`.
pub async fn update(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let patch = parse_update(&body)?;
    let view = update_with(&state, &tenant, &id, patch, "/type").await?;
    Ok(answer(StatusCode::OK, &view.to_json()))
}

/// `POST /v1alpha/monitors/{monitor_id}`.
pub async fn alpha_update(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let patch = parse_alpha_update(&body)?;
    let view = update_with(&state, &tenant, &id, patch, "/query").await?;
    Ok(answer(StatusCode::OK, &view.to_alpha_json()))
}

async fn cancel_view(
    state: &AppState,
    tenant: &str,
    id: &str,
) -> Result<parallax_api::monitor::MonitorView, HttpError> {
    check_id(id)?;
    state
        .store
        .cancel_monitor(tenant, id)
        .await?
        .ok_or_else(|| not_found().into())
}

/// `POST /v1/monitors/{monitor_id}/cancel`: final, and cancelling twice is no error.
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let view = cancel_view(&state, &tenant, &id).await?;
    Ok(answer(StatusCode::OK, &view.to_json()))
}

/// `DELETE /v1alpha/monitors/{monitor_id}`: the spec's cancel.
pub async fn alpha_delete(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let view = cancel_view(&state, &tenant, &id).await?;
    Ok(answer(StatusCode::OK, &view.to_alpha_json()))
}

/// `POST /v1/monitors/{monitor_id}/trigger`: 204; one execution now, the schedule unchanged.
pub async fn trigger(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    check_id(&id)?;
    let op = MonitorOp::Trigger {
        tenant,
        monitor_id: id,
    };
    match state.store.monitor(op).await? {
        MonitorReply::Requested(Requested::Done) => Ok(json_response(StatusCode::NO_CONTENT, "")),
        MonitorReply::Requested(Requested::Cancelled) => Err(ApiError::new(
            409,
            "The monitor is cancelled and cannot be triggered. Create a new monitor to monitor again.",
        )
        .never_retry()
        .into()),
        MonitorReply::Requested(_) => Err(not_found().into()),
        other => Err(unexpected(other)),
    }
}

/// `GET /v1/monitors`: newest first, active ones unless `status` says otherwise.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let pairs = query_pairs(query.as_deref());
    let mut errors = Vec::new();
    let mut statuses = Vec::new();
    for s in many(&pairs, "status") {
        match MonitorStatus::parse(&s) {
            Some(status) if !statuses.contains(&status) => statuses.push(status),
            Some(_) => {}
            None => errors.push(FieldError::new(
                "/status",
                format!("{s:?} is not a status; use active or cancelled"),
            )),
        }
    }
    if statuses.is_empty() {
        statuses.push(MonitorStatus::Active);
    }
    let mut kinds = Vec::new();
    for t in many(&pairs, "type") {
        match MonitorKind::parse(&t) {
            Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
            Some(_) => {}
            None => errors.push(FieldError::new(
                "/type",
                format!("{t:?} is not a monitor type; use event_stream or snapshot"),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors).into());
    }
    let limit = parse_limit(one(&pairs, "limit"), LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX)?;
    let after = match one(&pairs, "cursor").filter(|c| !c.is_empty()) {
        Some(c) if ids::looks_like(c, MONITOR_PREFIX) => Some(c.to_owned()),
        Some(_) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "/cursor",
                "is not a cursor this server gave: pass next_cursor from a previous page",
            )])
            .into())
        }
        None => None,
    };
    let op = MonitorOp::List {
        tenant,
        query: MonitorListQuery {
            statuses,
            kinds,
            after,
            limit: limit + 1,
        },
    };
    let mut monitors = match state.store.monitor(op).await? {
        MonitorReply::List(monitors) => monitors,
        other => return Err(unexpected(other)),
    };
    let more = monitors.len() as i64 > limit;
    monitors.truncate(limit as usize);
    let next_cursor = more
        .then(|| monitors.last().map(|m| m.monitor_id.clone()))
        .flatten();
    Ok(answer(
        StatusCode::OK,
        &json!({
            "monitors": monitors.iter().map(|m| m.to_json()).collect::<Vec<_>>(),
            "next_cursor": next_cursor,
        }),
    ))
}

/// `GET /v1alpha/monitors`: every monitor of the tenant in id order, after `monitor_id`.
pub async fn alpha_list(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let pairs = query_pairs(query.as_deref());
    let limit = match one(&pairs, "limit") {
        None | Some("") => None,
        Some(l) => Some(parse_limit(Some(l), LIST_LIMIT_MAX, LIST_LIMIT_MAX)?),
    };
    let op = MonitorOp::ListById {
        tenant,
        after: one(&pairs, "monitor_id")
            .filter(|m| !m.is_empty())
            .map(str::to_owned),
        limit,
    };
    match state.store.monitor(op).await? {
        MonitorReply::List(monitors) => Ok(answer(
            StatusCode::OK,
            &Value::Array(monitors.iter().map(|m| m.to_alpha_json()).collect()),
        )),
        other => Err(unexpected(other)),
    }
}

async fn events_of(
    state: &AppState,
    tenant: &str,
    id: &str,
    query: EventQuery,
) -> Result<Vec<parallax_api::monitor::MonitorEvent>, HttpError> {
    check_id(id)?;
    state
        .store
        .monitor_events(tenant, id, query)
        .await?
        .ok_or_else(|| not_found().into())
}

/// `GET /v1/monitors/{monitor_id}/events`: newest first, in pages.
pub async fn events(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let pairs = query_pairs(query.as_deref());
    let limit = parse_limit(one(&pairs, "limit"), EVENTS_LIMIT_DEFAULT, EVENTS_LIMIT_MAX)?;
    let before = parse_cursor(one(&pairs, "cursor"), "/cursor")?;
    let include_completions = match one(&pairs, "include_completions") {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "/include_completions",
                "must be true or false",
            )])
            .into())
        }
    };
    let group = one(&pairs, "event_group_id")
        .filter(|g| !g.is_empty())
        .map(str::to_owned);
    let by_group = group.is_some();
    let mut events = events_of(
        &state,
        &tenant,
        &id,
        EventQuery {
            before,
            limit: Some(limit + 1),
            group,
            include_completions,
            since: None,
        },
    )
    .await?;
    let more = !by_group && events.len() as i64 > limit;
    if !by_group {
        events.truncate(limit as usize);
    }
    let next_cursor = more
        .then(|| events.last().map(|e| e.seq.to_string()))
        .flatten();
    Ok(answer(
        StatusCode::OK,
        &json!({
            "events": events.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
            "next_cursor": next_cursor,
        }),
    ))
}

/// `GET /v1alpha/monitors/{monitor_id}/events`: every event of the lookback period, newest
/// first, completions included.
pub async fn alpha_events(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let pairs = query_pairs(query.as_deref());
    let lookback = parse_lookback(one(&pairs, "lookback_period"))?;
    let events = events_of(
        &state,
        &tenant,
        &id,
        EventQuery {
            include_completions: true,
            since: Some(state.clock.now().saturating_sub(lookback)),
            ..EventQuery::default()
        },
    )
    .await?;
    Ok(answer(
        StatusCode::OK,
        &json!({"events": events.iter().map(|e| e.to_alpha_json()).collect::<Vec<_>>()}),
    ))
}

/// `GET /v1alpha/monitors/{monitor_id}/event_groups/{event_group_id}`.
pub async fn alpha_event_group(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path((id, group)): Path<(String, String)>,
) -> Result<Response, HttpError> {
    let group_missing = || HttpError::from(ApiError::new(404, "Event group not found"));
    let events = events_of(
        &state,
        &tenant,
        &id,
        EventQuery {
            group: Some(group),
            ..EventQuery::default()
        },
    )
    .await?;
    if events.is_empty() {
        return Err(group_missing());
    }
    Ok(answer(
        StatusCode::OK,
        &json!({"events": events.iter().map(|e| e.to_alpha_json()).collect::<Vec<_>>()}),
    ))
}

/// `POST /v1alpha/monitors/{monitor_id}/simulate_event`: 204 once a test delivery is queued
/// for the monitor's webhook; 400 without one.
pub async fn alpha_simulate(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let pairs = query_pairs(query.as_deref());
    let event_type = one(&pairs, "event_type")
        .unwrap_or(parallax_api::monitor::EVENT_DETECTED)
        .to_owned();
    if !WEBHOOK_EVENT_TYPES.contains(&event_type.as_str()) {
        return Err(ApiError::validation(vec![FieldError::new(
            "/event_type",
            format!("must be one of {}", WEBHOOK_EVENT_TYPES.join(", ")),
        )])
        .into());
    }
    check_id(&id)?;
    let op = MonitorOp::Simulate {
        tenant,
        monitor_id: id,
        event_type,
        clock: state.clock.now(),
    };
    match state.store.monitor(op).await? {
        MonitorReply::Requested(Requested::Done) => Ok(json_response(StatusCode::NO_CONTENT, "")),
        MonitorReply::Requested(Requested::NoWebhook) => Err(ApiError::new(
            400,
            "Webhook not configured: set a webhook on the monitor first",
        )
        .never_retry()
        .into()),
        MonitorReply::Requested(_) => Err(not_found().into()),
        other => Err(unexpected(other)),
    }
}
