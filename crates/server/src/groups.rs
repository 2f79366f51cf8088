//! Task group endpoints: create, retrieve, add runs, the event stream, the runs stream, and
//! one run of a group.
//!
//! Both streams are read from the store page by page with a cursor, so a client that
//! reconnects with the last `event_id` it saw gets exactly what follows: nothing lost,
//! nothing twice. The event stream follows the group live (woken by the store's group
//! notices) until the group is idle and everything was sent, or the client's `timeout`; the
//! runs stream is a listing of the group's runs as they are now, and ends after the last.

use crate::betas::ParallelBeta;
use crate::runs::{
    check_previous_interaction, check_run_id, client_read_timeout, error_event, is_known_processor,
    json_body, json_response, query_pairs, run_to_create, timeout_param,
};
use crate::sse::{self, SseEvent};
use crate::wake::{wait_for_notice, Woken};
use crate::{AppState, HttpError, Tenant};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parallax_api::events;
use parallax_api::group::{parse_add_runs, parse_create_group, parse_cursor, GROUP_PREFIX};
use parallax_api::{ids, time::now_micros, ApiError, FieldError, RunStatus};
use parallax_store::{
    GroupEventRecord, GroupRunRecord, GroupRunsQuery, GroupToCreate, Notice, Page, RunsToAdd, Store,
};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Longest an event stream stays open, and its default (the spec's "up to an hour").
const EVENTS_TIMEOUT_DEFAULT: f64 = 3600.0;
/// Events or runs read from the store per page while streaming.
const PAGE: usize = 500;
/// A live stream re-reads at least this often even without a notice: notices only make it
/// faster (a PostgreSQL listener that reconnected may have missed some).
const RECHECK: Duration = Duration::from_secs(2);

/// Refuses ids that cannot be group ids without a store lookup.
fn check_group_id(id: &str) -> Result<(), HttpError> {
    if ids::looks_like(id, GROUP_PREFIX) {
        Ok(())
    } else {
        Err(ApiError::group_not_found().into())
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("wire types always serialise")
}

/// `POST /v1/tasks/groups`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let metadata = parse_create_group(&body)?;
    let group = state
        .store
        .create_group(
            &tenant,
            GroupToCreate {
                taskgroup_id: ids::new_id(GROUP_PREFIX),
                metadata,
                created_at: now_micros(),
            },
        )
        .await?;
    Ok(json_response(StatusCode::OK, to_json(&group)))
}

/// `GET /v1/tasks/groups/{taskgroup_id}`.
pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(group_id): Path<String>,
) -> Result<Response, HttpError> {
    check_group_id(&group_id)?;
    match state.store.get_group(&tenant, &group_id).await? {
        Some(group) => Ok(json_response(StatusCode::OK, to_json(&group))),
        None => Err(ApiError::group_not_found().into()),
    }
}

#[derive(Serialize)]
struct AddRunsResponse<'a> {
    status: &'a parallax_api::group::GroupStatus,
    run_ids: Vec<&'a str>,
    run_cursor: Option<String>,
    event_cursor: Option<String>,
}

/// `POST /v1/tasks/groups/{taskgroup_id}/runs?refresh_status=`: up to 1,000 runs, committed
/// together.
pub async fn add_runs(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(group_id): Path<String>,
    RawQuery(query): RawQuery,
    ParallelBeta(betas): ParallelBeta,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    // `refresh_status` is a query parameter, as the SDK sends it. The status in the answer is
    // always read fresh, so it only needs to be a boolean.
    bool_param(&query_pairs(query.as_deref()), "refresh_status")?;
    check_group_id(&group_id)?;
    let body = json_body(&state, &headers, body)?;
    let inputs = parse_add_runs(&body, is_known_processor)?;
    for (i, new) in inputs.iter().enumerate() {
        check_previous_interaction(&state, &tenant, new, &format!("/inputs/{i}")).await?;
    }
    let now = now_micros();
    let runs: Vec<_> = inputs
        .into_iter()
        .map(|new| run_to_create(new, now, &betas))
        .collect();
    let docs: Vec<(String, Bytes)> = runs
        .iter()
        .map(|r| (r.run_id.clone(), Bytes::from(r.input_doc.clone())))
        .collect();
    let _admitted = state
        .quotas
        .admit_runs(&tenant, runs.len(), &*state.store)
        .await?;
    let add = RunsToAdd {
        taskgroup_id: group_id,
        runs,
    };
    let Some(added) = state.store.add_group_runs(&tenant, add).await? else {
        return Err(ApiError::group_not_found().into());
    };
    for (run_id, doc) in docs {
        state.inputs.insert(&tenant, &run_id, doc);
    }
    let response = AddRunsResponse {
        status: &added.status,
        run_ids: added.runs.iter().map(|r| r.run_id.as_str()).collect(),
        run_cursor: added.run_cursor.map(|c| c.to_string()),
        event_cursor: added.event_cursor.map(|c| c.to_string()),
    };
    Ok(json_response(StatusCode::OK, to_json(&response)))
}

/// `GET /v1/tasks/groups/{taskgroup_id}/runs/{run_id}`: the run, if it is in that group.
pub async fn retrieve_run(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path((group_id, run_id)): Path<(String, String)>,
) -> Result<Response, HttpError> {
    check_group_id(&group_id)?;
    check_run_id(&run_id)?;
    match state.store.get_run(&tenant, &run_id).await? {
        Some(run) if run.taskgroup_id.as_deref() == Some(group_id.as_str()) => {
            Ok(json_response(StatusCode::OK, run.to_json()))
        }
        _ => Err(ApiError::run_not_found().into()),
    }
}

/// Reads `last_event_id` from query pairs.
fn cursor_param(pairs: &[(String, String)]) -> Result<i64, ApiError> {
    let value = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "last_event_id")
        .map(|(_, v)| v.as_str());
    parse_cursor(value)
}

/// Reads a boolean query parameter (`true`/`false`, as the SDK sends them; `1`/`0` too).
fn bool_param(pairs: &[(String, String)], name: &str) -> Result<bool, ApiError> {
    match pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
    {
        None | Some("false") | Some("False") | Some("0") => Ok(false),
        Some("true") | Some("True") | Some("1") => Ok(true),
        Some(_) => Err(ApiError::validation(vec![FieldError::new(
            format!("/query/{name}"),
            "must be true or false",
        )])),
    }
}

fn status_param(pairs: &[(String, String)]) -> Result<Option<RunStatus>, ApiError> {
    match pairs.iter().rev().find(|(k, _)| k == "status").map(|(_, v)| v.as_str()) {
        None | Some("") => Ok(None),
        Some(text) => RunStatus::parse(text).map(Some).ok_or_else(|| {
            ApiError::validation(vec![FieldError::new(
                "/query/status",
                "must be one of queued, action_required, running, completed, failed, cancelling, cancelled",
            )])
        }),
    }
}

/// An event of the group's log as its stream sends it: its cursor is the id.
fn log_event(record: GroupEventRecord) -> SseEvent {
    SseEvent {
        id: Some(record.seq.to_string()),
        event: Some(record.kind.event_type().into()),
        data: events::group_event_json(record.seq, record.kind, &record.document),
    }
}

/// A run as the runs stream lists it: a `task_run.state` event whose id is its position.
fn run_listing(record: GroupRunRecord) -> SseEvent {
    SseEvent {
        id: Some(record.position.to_string()),
        event: Some("task_run.state".into()),
        data: events::task_run_state_json(
            Some(record.position),
            &record.run.to_json(),
            record.input.as_deref(),
            record.output.as_deref(),
        ),
    }
}

/// The event stream's position and what it waits on.
struct GroupEventCursor {
    store: Arc<dyn Store>,
    tenant: String,
    group: String,
    after: i64,
    buffered: VecDeque<GroupEventRecord>,
    notices: broadcast::Receiver<Notice>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    deadline: tokio::time::Instant,
    finished: bool,
}

impl GroupEventCursor {
    /// The next event, waiting for one if needed; `None` once the group is idle and every
    /// event was sent, at the deadline, or at shutdown.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(record) = self.buffered.pop_front() {
                self.after = record.seq;
                return Some(log_event(record));
            }
            if self.finished {
                return None;
            }
            match self
                .store
                .group_events_after(
                    &self.tenant,
                    Page {
                        of: &self.group,
                        after: self.after,
                        limit: PAGE,
                    },
                )
                .await
            {
                Ok(Some(page)) if !page.events.is_empty() => {
                    self.buffered.extend(page.events);
                    continue;
                }
                // Nothing after our cursor in a snapshot where no run is active: done.
                Ok(Some(page)) if !page.status.is_active() => return None,
                Ok(Some(_)) => {}
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

    /// Waits for a notice about this group, the recheck interval, the deadline or shutdown;
    /// false when the stream should end.
    async fn wait(&mut self) -> bool {
        let until = (tokio::time::Instant::now() + RECHECK).min(self.deadline);
        let group = self.group.as_str();
        let wanted = |n: &Notice| matches!(n, Notice::Group(id) if **id == *group);
        match wait_for_notice(&mut self.notices, wanted, until, &mut self.shutdown).await {
            Woken::Notice => true,
            Woken::Timer => tokio::time::Instant::now() < self.deadline,
            Woken::Closed | Woken::Shutdown => false,
        }
    }
}

/// `GET /v1/tasks/groups/{taskgroup_id}/events?last_event_id=&timeout=`: Server-Sent Events
/// of the group's log — `task_group_status` on each add and when the group goes idle,
/// `task_run.state` for each run that ends — from the cursor on, live.
pub async fn events(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(group_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let pairs = query_pairs(query.as_deref());
    let after = cursor_param(&pairs)?;
    let timeout = timeout_param(&pairs, EVENTS_TIMEOUT_DEFAULT)?;
    check_group_id(&group_id)?;
    // Subscribe before the first read, so nothing committed after it goes unnoticed.
    let notices = state.store.subscribe();
    if state.store.get_group(&tenant, &group_id).await?.is_none() {
        return Err(ApiError::group_not_found().into());
    }
    let cursor = GroupEventCursor {
        store: state.store.clone(),
        tenant,
        group: group_id,
        after,
        buffered: VecDeque::new(),
        notices,
        shutdown: state.shutdown.clone(),
        deadline: tokio::time::Instant::now() + timeout,
        finished: false,
    };
    Ok(sse::response(
        futures::stream::unfold(cursor, |mut cursor| async move {
            cursor.next().await.map(|event| (event, cursor))
        }),
        sse::keep_alive_interval(client_read_timeout(&headers)),
    ))
}

/// The runs stream's position.
struct GroupRunsCursor {
    store: Arc<dyn Store>,
    tenant: String,
    query: GroupRunsQuery,
    buffered: VecDeque<GroupRunRecord>,
    exhausted: bool,
}

impl GroupRunsCursor {
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(record) = self.buffered.pop_front() {
                self.query.after = record.position;
                return Some(run_listing(record));
            }
            if self.exhausted {
                return None;
            }
            match self
                .store
                .group_runs_after(&self.tenant, self.query.clone())
                .await
            {
                Ok(Some(page)) => {
                    self.exhausted = page.len() < self.query.limit;
                    self.buffered.extend(page);
                }
                Ok(None) => return None,
                Err(e) => {
                    self.exhausted = true;
                    return Some(error_event(&e.to_string()));
                }
            }
        }
    }
}

/// `GET /v1/tasks/groups/{taskgroup_id}/runs?last_event_id=&status=&include_input=&include_output=`:
/// Server-Sent Events listing the group's runs in the order added, each as it is now.
pub async fn runs(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(group_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let pairs = query_pairs(query.as_deref());
    let query = GroupRunsQuery {
        taskgroup_id: group_id.clone(),
        after: cursor_param(&pairs)?,
        status: status_param(&pairs)?,
        include_input: bool_param(&pairs, "include_input")?,
        include_output: bool_param(&pairs, "include_output")?,
        limit: PAGE,
    };
    check_group_id(&group_id)?;
    if state.store.get_group(&tenant, &group_id).await?.is_none() {
        return Err(ApiError::group_not_found().into());
    }
    let cursor = GroupRunsCursor {
        store: state.store.clone(),
        tenant,
        query,
        buffered: VecDeque::new(),
        exhausted: false,
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

    fn pairs(query: &str) -> Vec<(String, String)> {
        query_pairs(Some(query))
    }

    #[test]
    fn query_parameters() {
        assert_eq!(cursor_param(&pairs("last_event_id=17")).unwrap(), 17);
        assert_eq!(cursor_param(&pairs("")).unwrap(), 0);
        assert_eq!(
            cursor_param(&pairs("last_event_id=x")).unwrap_err().status,
            422
        );
        assert!(bool_param(&pairs("include_input=true"), "include_input").unwrap());
        assert!(!bool_param(&pairs("include_input=false"), "include_input").unwrap());
        assert!(!bool_param(&pairs(""), "include_input").unwrap());
        assert_eq!(
            bool_param(&pairs("include_input=maybe"), "include_input")
                .unwrap_err()
                .status,
            422
        );
        assert_eq!(
            status_param(&pairs("status=completed")).unwrap(),
            Some(RunStatus::Completed)
        );
        assert_eq!(status_param(&pairs("status=done")).unwrap_err().status, 422);
    }
}
