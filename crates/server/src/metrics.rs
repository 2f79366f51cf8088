//! `GET /metrics` and the middleware that counts every request. What is measured and how it
//! is named lives in `parallax-metrics`; this module only hands it the request's matched
//! route template (never the raw path: a run id in a label would make a series per run) and,
//! at each scrape, the store's count of active runs.

use crate::AppState;
use axum::extract::{MatchedPath, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use parallax_api::RunStatus;
use parallax_metrics::{Format, RunCount, RunState};
use std::sync::Arc;
use std::time::Duration;

/// Counts a request under its route template (`unmatched` when no route matched), method and
/// status, with the time to its response's head (a stream's body is not waited for). Called
/// by [`crate::envelope`] for every request.
pub(crate) fn record(route: Option<&MatchedPath>, method: &Method, status: u16, took: Duration) {
    parallax_metrics::http_request(
        route.map(MatchedPath::as_str),
        method.as_str(),
        status,
        took,
    );
}

/// The exposition, in the format the `Accept` header asks for. Needs no API key: it holds
/// aggregate numbers only, labelled by route, processor and outcome, never by tenant.
pub(crate) async fn scrape(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let runs = match state.store.active_runs().await {
        Ok(active) => Some(run_counts(active)),
        Err(error) => {
            tracing::warn!(%error, "could not count active runs for /metrics; the run gauges keep their last values");
            None
        }
    };
    let format = Format::from_accept(headers.get(ACCEPT).and_then(|v| v.to_str().ok()));
    let body = parallax_metrics::render(format, runs.as_deref());
    ([(CONTENT_TYPE, format.content_type())], body).into_response()
}

/// Every processor's queued and running counts, zero where the store has none, so that each
/// series exists from the first scrape and drops to zero instead of vanishing.
fn run_counts(active: Vec<parallax_store::ActiveRuns>) -> Vec<RunCount> {
    let mut counts: Vec<RunCount> = parallax_engine::budget::PROCESSORS
        .iter()
        .flat_map(|budget| {
            [RunState::Queued, RunState::Running].map(|state| RunCount {
                processor: budget.name.to_owned(),
                state,
                count: 0,
            })
        })
        .collect();
    for runs in active {
        let state = match runs.status {
            RunStatus::Queued => RunState::Queued,
            RunStatus::Running => RunState::Running,
            _ => continue,
        };
        match counts
            .iter_mut()
            .find(|c| c.processor == runs.processor && c.state == state)
        {
            Some(known) => known.count = runs.count,
            // A processor this binary no longer has, still in the queue of an older one.
            None => counts.push(RunCount {
                processor: runs.processor,
                state,
                count: runs.count,
            }),
        }
    }
    counts
}
