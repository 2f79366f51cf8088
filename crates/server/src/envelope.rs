//! The one middleware every request passes through. It does, in one layer, what would
//! otherwise be four: each `from_fn` layer clones the service inside it and boxes a future on
//! every request, and measured with `bench/run` a single such layer cost about an eighth of
//! the input endpoint's throughput on a 2-core machine. In order:
//!
//! 1. a request with a body gets its deadline ([`body_deadline::limited`]);
//! 2. the handler answers;
//! 3. an error answer to a request with a body closes the connection
//!    ([`error::close_after_refused_body`]), and an answer whose status calls for it gets
//!    `x-should-retry` ([`error::advise_retry`]);
//! 4. the request is counted under its route template ([`metrics::record`]).
//!
//! It runs inside routing (`Router::layer`), where the matched route template is known.

use crate::{body_deadline, error, metrics};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::time::{Duration, Instant};

/// The middleware; its state is the body deadline.
pub(crate) async fn envelope(
    State(body_timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let had_body = error::has_body(request.headers());
    let request = if had_body {
        body_deadline::limited(request, body_timeout)
    } else {
        request
    };
    let mut response = next.run(request).await;
    error::close_after_refused_body(&mut response, had_body);
    error::advise_retry(&mut response);
    metrics::record(
        route.as_ref(),
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
