//! `GET /openapi.json`: serves the document [`parallax_api::openapi`] builds from the
//! operations the router registered.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use parallax_api::openapi::Document;
use std::sync::Arc;

/// `GET /openapi.json`.
pub async fn serve(Extension(document): Extension<Arc<Document>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document.json().to_owned(),
    )
        .into_response()
}
