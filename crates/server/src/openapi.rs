//! `GET /openapi.json`: serves the document [`parallax_api::openapi`] builds from the
//! operations the router registered (the router sets it once every route is registered).

use crate::HttpError;
use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use parallax_api::ApiError;
use std::sync::{Arc, OnceLock};

/// `GET /openapi.json`.
pub async fn serve(document: Arc<OnceLock<Bytes>>) -> Response {
    match document.get() {
        Some(json) => ([(header::CONTENT_TYPE, "application/json")], json.clone()).into_response(),
        // The router sets it before it serves anything; kept as an answer, not a panic.
        None => HttpError::server_fault(
            ApiError::new(
                503,
                "Service unavailable: the OpenAPI document is not built yet",
            ),
            "the router served /openapi.json before setting its document",
        )
        .into_response(),
    }
}
