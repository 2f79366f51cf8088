//! The `parallel-beta` header on the routes whose spec accepts it: [`ParallelBeta`] for
//! handlers that use the values, [`check`] for routes that only need them valid. Both read
//! the header with [`parallax_api::beta::Betas::parse`], so an unknown value is the same 422
//! everywhere.

use crate::HttpError;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use parallax_api::beta::Betas;

/// Header name, as the SDK sends it.
const HEADER: &str = "parallel-beta";

/// The betas a request named in `parallel-beta` (none when the header is absent).
pub struct ParallelBeta(pub Betas);

impl<S: Send + Sync> FromRequestParts<S> for ParallelBeta {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        read(parts).map(ParallelBeta)
    }
}

fn read(parts: &Parts) -> Result<Betas, HttpError> {
    Betas::parse(parts.headers.get_all(HEADER).iter().map(|v| v.as_bytes())).map_err(Into::into)
}

/// Middleware for routes that accept `parallel-beta` without acting on it: an unknown value
/// is refused before the handler runs.
pub async fn check(request: Request, next: Next) -> Result<Response, HttpError> {
    let (parts, body) = request.into_parts();
    read(&parts)?;
    Ok(next.run(Request::from_parts(parts, body)).await)
}
