//! The web dashboard at `/ui`: three static files (one HTML page, its script and its style
//! sheet, under `crates/server/assets/ui/`) built into the binary, and the one endpoint the
//! dashboard needs that the Parallel API lacks, `GET /ui/api/runs` (the tenant's runs, newest
//! first, a page at a time).
//!
//! The page holds no data and needs no key: it asks for the API key in a form, keeps it in the
//! browser's `sessionStorage` only, and calls the API from script with it, like any client.
//! Its headers forbid what the page never does: inline or foreign script, framing, and
//! content-type guessing (`Content-Security-Policy`, `X-Content-Type-Options`); the page is
//! never cached (`Cache-Control: no-store`), and sends no `Referer` to the sites it links to.

use crate::runs::{json_response, query_pairs};
use crate::{AppState, HttpError, Tenant};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use parallax_api::{ids, ApiError, FieldError};
use std::sync::Arc;

const INDEX_HTML: &str = include_str!("../assets/ui/index.html");
const APP_JS: &str = include_str!("../assets/ui/app.js");
const APP_CSS: &str = include_str!("../assets/ui/app.css");

/// What the page may load and do: its own script, style and API only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// Runs per page of `GET /ui/api/runs` when `limit` is not given, and the most it allows.
const LIST_LIMIT_DEFAULT: usize = 50;
const LIST_LIMIT_MAX: usize = 100;

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    response
}

/// `GET /ui` and `GET /ui/`: the page.
pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// `GET /ui/app.js`.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

/// `GET /ui/app.css`.
pub async fn style() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

/// `GET /ui/api/runs?limit=N&before=CURSOR`: the tenant's task runs, newest first, as
/// `{"runs": [TaskRun…], "next_cursor": string|null}`. `next_cursor`, passed back as `before`,
/// gives the next (older) page; it is null on the last page.
pub async fn list_runs(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let pairs = query_pairs(query.as_deref());
    let mut limit = LIST_LIMIT_DEFAULT;
    let mut before = None;
    let mut errors = Vec::new();
    for (name, value) in &pairs {
        match name.as_str() {
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=LIST_LIMIT_MAX).contains(&n) => limit = n,
                _ => errors.push(FieldError::new(
                    "/query/limit",
                    format!("must be a whole number from 1 to {LIST_LIMIT_MAX}"),
                )),
            },
            "before" if value.is_empty() => before = None,
            "before" if ids::looks_like(value, ids::RUN_PREFIX) => before = Some(value.clone()),
            "before" => errors.push(FieldError::new(
                "/query/before",
                "is not a cursor this server gave: pass next_cursor from a previous page",
            )),
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors).into());
    }
    let mut runs = state
        .store
        .list_runs(&tenant, before.as_deref(), limit + 1)
        .await?;
    let more = runs.len() > limit;
    runs.truncate(limit);
    let next_cursor = more
        .then(|| runs.last().map(|r| r.run_id.clone()))
        .flatten();
    let body = serde_json::json!({
        "runs": runs,
        "next_cursor": next_cursor,
    });
    Ok(json_response(StatusCode::OK, body.to_string()))
}
