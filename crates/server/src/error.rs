//! Turning failures into the API's error answer.
//!
//! Every error gets a fresh `ref_id` (a UUID), logged beside its cause, so a user who quotes
//! it can be helped. Client mistakes are logged at `info`, server faults at `error`; neither
//! ever includes credentials.

use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use parallax_api::ApiError;
use parallax_store::StoreError;

/// An [`ApiError`] on its way out as a response.
#[derive(Debug)]
pub struct HttpError {
    // Boxed: handlers return `Result<_, HttpError>` everywhere, and the Ok path stays small.
    error: Box<ApiError>,
    /// Set when the cause was already logged under this id.
    logged_as: Option<String>,
    /// Seconds for `Retry-After` (429 answers).
    retry_after: Option<u64>,
}

impl From<ApiError> for HttpError {
    fn from(error: ApiError) -> Self {
        HttpError {
            error: Box::new(error),
            logged_as: None,
            retry_after: None,
        }
    }
}

impl HttpError {
    /// An answer whose cause was already logged under `ref_id`: the body carries that id, so a
    /// user who quotes it finds the cause (a failed run's own error, say).
    pub fn logged(error: ApiError, ref_id: String) -> Self {
        HttpError {
            error: Box::new(error),
            logged_as: Some(ref_id),
            retry_after: None,
        }
    }

    /// The same answer, telling the client to wait `seconds` before trying again.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// A fault of the server (not of the client), logged at `error` with `cause` under the
    /// answer's `ref_id`.
    pub fn server_fault(error: ApiError, cause: &str) -> Self {
        let ref_id = uuid::Uuid::new_v4().to_string();
        tracing::error!(%ref_id, status = error.status, reason = %error.message, %cause, "server fault");
        HttpError {
            error: Box::new(error),
            logged_as: Some(ref_id),
            retry_after: None,
        }
    }
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        let ref_id = uuid::Uuid::new_v4().to_string();
        tracing::error!(%ref_id, error = %e, "storage failed");
        let error = match e {
            StoreError::Closed => {
                ApiError::new(503, "Service unavailable: the server is shutting down")
            }
            StoreError::Stopped(what) => ApiError::new(
                503,
                format!(
                    "Service unavailable: the server's {what} stopped; an operator must restart \
                     the server (GET /healthz reports it)"
                ),
            ),
            _ => ApiError::new(
                500,
                "Internal error: storage failed; the server log has the cause under this ref_id",
            ),
        };
        HttpError {
            error: Box::new(error),
            logged_as: Some(ref_id),
            retry_after: None,
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let ref_id = self.logged_as.unwrap_or_else(|| {
            let ref_id = uuid::Uuid::new_v4().to_string();
            tracing::info!(%ref_id, status = self.error.status, reason = %self.error.message, detail = ?self.error.detail, "request refused");
            ref_id
        });
        let status =
            StatusCode::from_u16(self.error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.error.body(&ref_id)).unwrap_or_default();
        let mut response =
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(retry) = self.error.retry {
            response
                .headers_mut()
                .insert(SHOULD_RETRY, HeaderValue::from_static(retry_value(retry)));
        }
        response
    }
}

/// The header the official SDKs obey before their own retry rules.
const SHOULD_RETRY: header::HeaderName = header::HeaderName::from_static("x-should-retry");

fn retry_value(retry: bool) -> &'static str {
    if retry {
        "true"
    } else {
        "false"
    }
}

/// Adds `x-should-retry` to every answer whose status calls for it
/// ([`ApiError::retry_advice`]), unless the handler already said. The SDKs retry 409 and
/// every status they do not know to be final; without the header a client would resend a
/// refused request twice more (its default) before reporting the refusal.
pub(crate) fn advise_retry(response: &mut Response) {
    if !response.headers().contains_key(SHOULD_RETRY) {
        if let Some(retry) = ApiError::retry_advice(response.status().as_u16()) {
            response
                .headers_mut()
                .insert(SHOULD_RETRY, HeaderValue::from_static(retry_value(retry)));
        }
    }
}

/// Whether a request announces a body (chunked, or a non-zero `Content-Length`).
pub(crate) fn has_body(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// Adds `Connection: close` to an error answer to a request that carried a body.
///
/// A request refused before its body was read (a 401 from the key check, a 404 for an unknown
/// path, a 413) leaves that body unread on the connection, and the server then closes it.
/// Without the header a keep-alive client may send its next request on that connection and
/// lose it ("server disconnected without sending a response"). With it, the client knows to
/// open a new one. Successful answers read their bodies and keep the connection.
pub(crate) fn close_after_refused_body(response: &mut Response, had_body: bool) {
    if had_body && (response.status().is_client_error() || response.status().is_server_error()) {
        response.headers_mut().insert(
            header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
}

pub async fn no_route(method: Method, uri: Uri) -> HttpError {
    ApiError::new(
        404,
        format!("Not found: no route for {method} {}", uri.path()),
    )
    .into()
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> HttpError {
    ApiError::new(
        405,
        format!(
            "Method not allowed: {method} is not served on {}",
            uri.path()
        ),
    )
    .into()
}
