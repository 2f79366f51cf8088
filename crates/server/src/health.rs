//! `GET /healthz`: whether this server can still do its work.
//!
//! It answers `200 ok` while every background piece of the store runs (see
//! [`parallax_store::Store::health`]), and `503` in the API's error shape when one is gone:
//! the SQLite writer thread, or PostgreSQL's batch writers or listener. Such a server cannot
//! recover by itself; a load balancer should take it out, and an operator restart it. The
//! check reads flags only, so probing it often costs nothing.

use crate::{AppState, HttpError};
use axum::extract::State;
use parallax_api::ApiError;
use serde_json::json;
use std::sync::Arc;

pub async fn healthz(State(state): State<Arc<AppState>>) -> Result<&'static str, HttpError> {
    let health = state.store.health();
    if health.is_ok() {
        return Ok("ok");
    }
    let error = ApiError::new(
        503,
        format!(
            "Service unavailable: {}. Restart the server; its log has the cause",
            health.down.join("; ")
        ),
    )
    .with_detail(json!({ "down": health.down }));
    Err(HttpError::server_fault(error, "the store is not healthy"))
}
