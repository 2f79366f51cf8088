//! Search and Extract endpoints: `POST /v1/search`, `POST /v1/extract` (and their
//! `/v1beta/` spellings). Parsing is `parallax-api`'s, the work is the engine's [`WebApi`].

use crate::runs::{json_body, json_response};
use crate::{AppState, HttpError, Tenant};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parallax_api::web::{parse_extract, parse_search, ApiVersion};
use parallax_api::ApiError;
use parallax_engine::web::{timing, WebApi};
use std::sync::Arc;

fn web_api(state: &AppState) -> Result<&WebApi, ApiError> {
    state.web.as_ref().ok_or_else(|| {
        ApiError::new(
            501,
            "Not implemented: this server was started without search and extract providers",
        )
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Response {
    let stage = timing::Stage::start("serialise");
    let body = serde_json::to_string(value).expect("responses always serialise");
    stage.end(body.len());
    json_response(StatusCode::OK, body)
}

/// `POST /v1/extract`.
pub async fn extract(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let request = parse_extract(&body)?;
    let response = web_api(&state)?.extract(&tenant, &request).await;
    Ok(to_json(&response))
}

async fn search(
    state: Arc<AppState>,
    tenant: String,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    version: ApiVersion,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let request = parse_search(&body, version)?;
    let response = web_api(&state)?.search(&tenant, &request).await;
    Ok(to_json(&response))
}

/// `POST /v1/search`: `search_queries` is required, as the SDK has it.
pub async fn search_v1(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    search(state, tenant, headers, body, ApiVersion::V1).await
}

/// `POST /v1beta/search`: an objective alone is enough, as the spec has it.
pub async fn search_v1beta(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    search(state, tenant, headers, body, ApiVersion::V1Beta).await
}
