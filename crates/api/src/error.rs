//! The API's error shape: `{"type":"error","error":{"ref_id","message","detail"}}`.
//!
//! Every non-2xx answer carries it. `ref_id` is a fresh UUID that the server also logs beside
//! the cause, so a user can quote it and an operator can find what happened.

use crate::run::{RunStatus, TaskRun};
use serde::Serialize;
use serde_json::{json, Value};

/// One reason a request was refused, located by a JSON pointer into the request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON pointer (RFC 6901) to the offending value, `""` for the whole body.
    pub pointer: String,
    /// What is wrong and what would be accepted.
    pub reason: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldError {
            pointer: pointer.into(),
            reason: reason.into(),
        }
    }
}

/// An error answer: HTTP status, message and optional detail.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
    pub detail: Option<Value>,
    /// Whether the client should send the same request again (`x-should-retry`), when the
    /// status alone does not tell: `None` leaves it to [`ApiError::retry_advice`].
    pub retry: Option<bool>,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            detail: None,
            retry: None,
        }
    }

    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }

    /// Marks an answer that the same request will always get, whatever its status says to
    /// the SDK's retry rules (a 409 is retried by default, for instance).
    pub fn never_retry(mut self) -> Self {
        self.retry = Some(false);
        self
    }

    /// What `x-should-retry` says for an answer of `status`: `false` for every 4xx except
    /// 408, 409 and 429 (the SDK would retry those; the same request gets the same refusal)
    /// and for 501 (the server will not grow the feature between retries); nothing for the
    /// rest, which the SDK's own rules handle (it retries 408, 409, 429 and 5xx).
    pub fn retry_advice(status: u16) -> Option<bool> {
        match status {
            408 | 409 | 429 => None,
            400..=499 | 501 => Some(false),
            _ => None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized: invalid or missing credentials")
    }

    pub fn run_not_found() -> Self {
        Self::new(404, "Run id not found")
    }

    /// `GET …/result` of a run that ended without output (failed or cancelled), as the hosted
    /// API answers it: 404, with the run's own error in the message and the detail.
    pub fn run_ended_without_output(run: &TaskRun) -> Self {
        let detail = json!({
            "run_id": run.run_id,
            "status": run.status.as_str(),
            "error": run.error,
        });
        let message = match &run.error {
            Some(error) => format!("Run failed: {} (ref_id {})", error.message, error.ref_id),
            None => format!("Run {} without output", run.status.as_str()),
        };
        Self::new(404, message).with_detail(detail)
    }

    /// `GET …/result` whose wait ended while the run is still active.
    pub fn run_still_active(run_id: &str, status: RunStatus) -> Self {
        Self::new(408, "Request timed out; run still active")
            .with_detail(json!({ "run_id": run_id, "status": status.as_str() }))
    }

    pub fn invalid_processor(name: &str) -> Self {
        Self::invalid_processor_at("/processor", name)
    }

    /// An unknown processor named at `pointer` (inside a task group's inputs, say).
    pub fn invalid_processor_at(pointer: &str, name: &str) -> Self {
        Self::new(403, "Forbidden: invalid processor in request").with_detail(json!({
            "pointer": pointer,
            "reason": format!("unknown processor {name:?}"),
        }))
    }

    pub fn group_not_found() -> Self {
        Self::new(404, "TaskGroup not found")
    }

    pub fn findall_not_found() -> Self {
        Self::new(404, "FindAll run not found")
    }

    /// Cancelling a FindAll run that already ended.
    pub fn findall_already_ended() -> Self {
        Self::new(409, "Cannot cancel a terminated FindAll run").never_retry()
    }

    /// Extending a FindAll run that ended other than at its match limit.
    pub fn findall_not_extendable(status: &str, reason: Option<&str>) -> Self {
        Self::new(
            409,
            format!(
                "Cannot extend this FindAll run: it is {status}{}; only an active run or one that stopped at its match limit can be extended",
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
            ),
        )
        .never_retry()
    }

    /// A 422 naming every field that failed; `detail.pointer`/`detail.reason` are the first.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let first = errors
            .first()
            .cloned()
            .unwrap_or_else(|| FieldError::new("", "invalid request"));
        let message = format!(
            "Unprocessable content: request validation error: {} {}",
            if first.pointer.is_empty() {
                "body"
            } else {
                &first.pointer
            },
            first.reason
        );
        Self::new(422, message).with_detail(json!({
            "pointer": first.pointer,
            "reason": first.reason,
            "errors": errors,
        }))
    }

    /// The response body, with the `ref_id` the caller logs beside the cause.
    pub fn body(&self, ref_id: &str) -> ErrorBody {
        ErrorBody {
            r#type: "error",
            error: ErrorObject {
                ref_id: ref_id.to_owned(),
                message: self.message.clone(),
                detail: self.detail.clone(),
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

/// `ErrorResponse` of the spec.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody {
    pub r#type: &'static str,
    pub error: ErrorObject,
}

/// `Error` of the spec.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ErrorObject {
    pub ref_id: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_advice_follows_the_status() {
        for status in [400, 401, 403, 404, 405, 413, 415, 422, 501] {
            assert_eq!(ApiError::retry_advice(status), Some(false), "{status}");
        }
        for status in [200, 202, 408, 409, 429, 500, 502, 503, 504] {
            assert_eq!(ApiError::retry_advice(status), None, "{status}");
        }
        assert_eq!(ApiError::new(409, "c").never_retry().retry, Some(false));
    }
}
