//! Slow clients: a request's body must arrive whole within [`Limits::body_timeout`] of the
//! time its headers did. A client that trickles its body (or sends headers and then nothing)
//! would otherwise hold a connection and a handler for as long as it likes; past the deadline
//! the body reads as failed and the request is answered 408 in the API's error shape, with
//! `Connection: close` ([`crate::error::close_after_refused_body`]). Applied to every request
//! with a body by [`crate::envelope`].
//!
//! [`Limits::body_timeout`]: crate::Limits::body_timeout

use axum::body::Body;
use axum::extract::Request;
use futures::StreamExt;
use std::time::Duration;

/// The error a body gives when its deadline passes; the body extractors' rejections carry it
/// as a source, which is how [`timed_out`] recognises it.
#[derive(Debug)]
pub struct BodyTimedOut(pub Duration);

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive within {} s",
            self.0.as_secs_f64()
        )
    }
}

impl std::error::Error for BodyTimedOut {}

/// `request` with a deadline for its body, `timeout` from now (call it only for a request
/// that has a body).
pub(crate) fn limited(request: Request, timeout: Duration) -> Request {
    let deadline = tokio::time::Instant::now() + timeout;
    let (parts, body) = request.into_parts();
    let frames = body.into_data_stream();
    let limited = futures::stream::unfold(Some(frames), move |frames| async move {
        let mut frames = frames?;
        match tokio::time::timeout_at(deadline, frames.next()).await {
            Ok(Some(frame)) => Some((frame, Some(frames))),
            Ok(None) => None,
            // Ends the stream after the error: nothing more is read from this client.
            Err(_) => Some((Err(axum::Error::new(BodyTimedOut(timeout))), None)),
        }
    });
    Request::from_parts(parts, Body::from_stream(limited))
}

/// Whether a body-reading failure was this deadline passing.
pub fn timed_out(error: &(dyn std::error::Error + 'static)) -> Option<Duration> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(BodyTimedOut(after)) = e.downcast_ref::<BodyTimedOut>() {
            return Some(*after);
        }
        cause = e.source();
    }
    None
}
