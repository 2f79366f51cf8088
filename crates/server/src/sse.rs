//! Server-Sent Events: how every stream of the API is framed and kept alive. Every SSE
//! endpoint answers through [`response`]; none builds frames of its own.
//!
//! Each event is written as `id:` (when it has a cursor), `event:` (its type, as Parallel's
//! streams name it) and `data:` lines, then a blank line.
//!
//! ## Keep-alives
//!
//! A stream that has sent nothing for [`KEEP_ALIVE_EVERY`] writes the comment line
//! `: keep-alive` **with no blank line after it**. The usual keep-alive, a comment followed by a
//! blank line, breaks the official clients: the SSE decoders of the `parallel-web` and `openai`
//! SDKs (Stainless-generated) keep the last event id across events, as the SSE specification
//! says, and they dispatch an event at every blank line when *any* field is set, the remembered
//! id included. So after one event with an `id:`, a bare `:` plus blank line decodes as an event
//! with empty data, which the SDK parses as JSON and fails (`JSONDecodeError: Expecting value`).
//! A lone comment line dispatches nothing in any conforming decoder (the blank line that ends
//! the next real event dispatches that event, and the comment is ignored), and it still moves
//! bytes, so proxies and clients' read timeouts see a live connection. Keep-alive *events* with
//! JSON data were the other choice; they would add events that no schema of the spec describes.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Longest quiet time on a stream before a keep-alive comment is written: well under the
/// common proxy idle timeouts (60 s) and under any read timeout a client would set for a
/// stream.
pub(crate) const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(15);

/// The keep-alive: a comment line, deliberately not followed by a blank line (see the module
/// documentation).
const KEEP_ALIVE: &[u8] = b": keep-alive\n";

/// One event of a stream, before framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The cursor a client resumes from (`id:`), if the stream has cursors.
    pub id: Option<String>,
    /// The event's type (`event:`), e.g. `task_run.state`.
    pub event: Option<String>,
    /// The JSON body (`data:`).
    pub data: String,
}

impl SseEvent {
    /// The event's bytes on the wire, ending with the blank line that dispatches it.
    fn frame(&self) -> Bytes {
        let mut out = String::with_capacity(self.data.len() + 64);
        // A line break inside a field would end it early and start a bogus one: ids and types
        // never contain one, but drop any rather than trust it.
        let field = |out: &mut String, name: &str, value: &str| {
            out.push_str(name);
            out.push_str(": ");
            out.extend(value.chars().filter(|c| *c != '\n' && *c != '\r'));
            out.push('\n');
        };
        if let Some(id) = &self.id {
            field(&mut out, "id", id);
        }
        if let Some(event) = &self.event {
            field(&mut out, "event", event);
        }
        // Data may span lines (compact JSON never does): each line is its own `data:` field,
        // which decoders join with '\n'.
        for line in self.data.split('\n') {
            out.push_str("data: ");
            out.push_str(line.strip_suffix('\r').unwrap_or(line));
            out.push('\n');
        }
        out.push('\n');
        Bytes::from(out)
    }
}

/// The keep-alive interval for a client that reads for at most `read_timeout` between bytes
/// (the SDKs announce it): [`KEEP_ALIVE_EVERY`], or half the client's read timeout when that
/// is shorter, so a quiet stream never outlasts it (at least 100 ms apart).
pub(crate) fn keep_alive_interval(read_timeout: Option<Duration>) -> Duration {
    match read_timeout {
        Some(read) => (read / 2).clamp(Duration::from_millis(100), KEEP_ALIVE_EVERY),
        None => KEEP_ALIVE_EVERY,
    }
}

/// A `text/event-stream` answer that sends `events` as they come, with a keep-alive after each
/// `keep_alive` of quiet, and ends when `events` ends.
pub(crate) fn response(
    events: impl Stream<Item = SseEvent> + Send + 'static,
    keep_alive: Duration,
) -> Response {
    let body = Body::from_stream(Framed::new(events, keep_alive));
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            // nginx buffers proxied answers unless told not to; a buffered stream is no stream.
            (
                header::HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            ),
        ],
        body,
    )
        .into_response()
}

/// The framed byte stream: events as they arrive, a keep-alive after each quiet interval.
struct Framed<S> {
    events: Pin<Box<S>>,
    quiet: Pin<Box<Sleep>>,
    every: Duration,
    done: bool,
}

impl<S> Framed<S> {
    fn new(events: S, every: Duration) -> Self {
        Framed {
            events: Box::pin(events),
            quiet: Box::pin(tokio::time::sleep(every)),
            every,
            done: false,
        }
    }
}

impl<S: Stream<Item = SseEvent>> Stream for Framed<S> {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let every = self.every;
        match self.events.as_mut().poll_next(cx) {
            Poll::Ready(Some(event)) => {
                self.quiet.as_mut().reset(Instant::now() + every);
                return Poll::Ready(Some(Ok(event.frame())));
            }
            Poll::Ready(None) => {
                self.done = true;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        match self.quiet.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.quiet.as_mut().reset(Instant::now() + every);
                Poll::Ready(Some(Ok(Bytes::from_static(KEEP_ALIVE))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn event(id: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            id: id.map(str::to_owned),
            event: Some("task_run.state".into()),
            data: data.into(),
        }
    }

    #[test]
    fn frames_id_type_and_data() {
        assert_eq!(
            event(Some("7"), r#"{"a":1}"#).frame(),
            "id: 7\nevent: task_run.state\ndata: {\"a\":1}\n\n"
        );
        let bare = SseEvent {
            id: None,
            event: None,
            data: "x\ny".into(),
        };
        assert_eq!(bare.frame(), "data: x\ndata: y\n\n");
        let hostile = event(Some("1\n\ndata: injected"), "{}");
        assert_eq!(
            hostile.frame(),
            "id: 1data: injected\nevent: task_run.state\ndata: {}\n\n"
        );
    }

    /// The bytes a quiet stream writes never contain a blank line that is not the end of a
    /// real event: that is what breaks the SDK decoders.
    #[tokio::test(start_paused = true)]
    async fn quiet_streams_send_comment_lines_without_blank_lines() {
        let events = futures::stream::unfold(0, |n| async move {
            if n == 2 {
                return None;
            }
            // 40 s of silence before each event: two keep-alives each time.
            tokio::time::sleep(Duration::from_secs(40)).await;
            Some((event(Some(&n.to_string()), "{}"), n + 1))
        });
        let chunks: Vec<Bytes> = Framed::new(events, KEEP_ALIVE_EVERY)
            .map(|c| c.unwrap())
            .collect()
            .await;
        let wire: String = chunks
            .iter()
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        assert_eq!(
            wire,
            ": keep-alive\n: keep-alive\nid: 0\nevent: task_run.state\ndata: {}\n\n\
             : keep-alive\n: keep-alive\nid: 1\nevent: task_run.state\ndata: {}\n\n"
        );
    }

    #[test]
    fn keep_alives_come_before_the_client_read_timeout() {
        assert_eq!(keep_alive_interval(None), KEEP_ALIVE_EVERY);
        assert_eq!(
            keep_alive_interval(Some(Duration::from_secs(600))),
            KEEP_ALIVE_EVERY
        );
        assert_eq!(
            keep_alive_interval(Some(Duration::from_secs(10))),
            Duration::from_secs(5)
        );
        assert_eq!(
            keep_alive_interval(Some(Duration::from_millis(10))),
            Duration::from_millis(100)
        );
    }

    /// An event resets the quiet timer: a stream that is never quiet for the whole interval
    /// sends no keep-alive.
    #[tokio::test(start_paused = true)]
    async fn busy_streams_send_no_keep_alives() {
        let events = futures::stream::unfold(0, |n| async move {
            if n == 5 {
                return None;
            }
            tokio::time::sleep(Duration::from_secs(10)).await;
            Some((event(None, "{}"), n + 1))
        });
        let chunks: Vec<Bytes> = Framed::new(events, KEEP_ALIVE_EVERY)
            .map(|c| c.unwrap())
            .collect()
            .await;
        assert_eq!(chunks.len(), 5);
        assert!(chunks.iter().all(|c| c.starts_with(b"event: ")));
    }
}
