//! Chat completions (`POST /v1beta/chat/completions`, also under `/v1`) and the models list
//! (`GET /v1beta/models`, `GET /v1beta/models/{model}`): OpenAI's API, answered by research.
//!
//! A completion is researched in the request, on the processor task runs use, and is not
//! stored: it ends with its connection (a client that goes away cancels the research, which
//! is cancellation-safe at every await). At most [`ChatService::permits`] researches run at
//! once; later requests wait for a permit (a streamed one already has its first chunk).
//!
//! **Streams.** The first chunk (the `assistant` role) is sent at once; keep-alive comments
//! (see [`crate::sse`]) hold the connection while the research runs; then the answer's content
//! in deltas (as an LLM writes a text answer; otherwise cut from the answer once it is ready), a last chunk with `finish_reason` and the basis, a usage chunk when
//! `stream_options.include_usage` asked for one, and `data: [DONE]`. A research that fails,
//! times out or is cut short by shutdown ends the stream with `data: {"type":"error","error":
//! {…}}`, which OpenAI's clients raise as an error, and no `[DONE]`.

use crate::runs::{client_read_timeout, json_body, json_response};
use crate::sse::{self, SseEvent};
use crate::{AppState, HttpError, Tenant};
use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures::{Stream, StreamExt};
use parallax_api::chat::{
    content_deltas, model_json, models_json, parse_request, ChatModel, ChatRequest,
    CompletionHeader, Usage, COMPLETION_PREFIX,
};
use parallax_api::time::now_micros;
use parallax_api::{ids, ApiError};
use parallax_engine::chat::{answer, task, ChatAnswer};
use parallax_engine::{
    MessageKind, Output, Processor, ProgressSink, Quiet, RunFailure, SourceStats,
};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Semaphore};

/// What chat completions run on.
pub struct ChatService {
    /// The processor of task runs: a chat answer is researched exactly as a run is.
    pub processor: Arc<dyn Processor>,
    /// Researches running at once for chat; further requests wait for a permit.
    pub permits: Arc<Semaphore>,
    /// When the server started, in Unix seconds: the `created` of every model.
    pub started: i64,
    /// The operator's cap on any run's time, below each model's own limit.
    pub max_run_time: Option<Duration>,
}

impl ChatService {
    /// A service running at most `concurrency` researches at once (at least one), none for
    /// longer than `max_run_time` when it is set.
    pub fn new(
        processor: Arc<dyn Processor>,
        concurrency: usize,
        max_run_time: Option<Duration>,
    ) -> ChatService {
        ChatService {
            processor,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            started: now_micros() / 1_000_000,
            max_run_time,
        }
    }
}

/// Characters after which a streamed answer's content is cut into the next delta (at the
/// next space or line break).
const DELTA_CHARS: usize = 24;

fn service(state: &AppState) -> Result<&ChatService, ApiError> {
    state.chat.as_ref().ok_or_else(|| {
        ApiError::new(
            501,
            "Not implemented: this server was started without a research processor for chat completions",
        )
    })
}

/// `GET /v1beta/models`.
pub async fn models(
    State(state): State<Arc<AppState>>,
    Tenant(_): Tenant,
) -> Result<Response, HttpError> {
    let chat = service(&state)?;
    Ok(json_response(
        StatusCode::OK,
        models_json(chat.started).to_string(),
    ))
}

/// `GET /v1beta/models/{model}`.
pub async fn model(
    State(state): State<Arc<AppState>>,
    Tenant(_): Tenant,
    Path(name): Path<String>,
) -> Result<Response, HttpError> {
    let chat = service(&state)?;
    let model = ChatModel::from_name(&name).ok_or_else(|| {
        ApiError::new(
            404,
            format!(
                "Model not found: {name:?}; the models are {}",
                ChatModel::ALL.map(ChatModel::name).join(", ")
            ),
        )
    })?;
    Ok(json_response(
        StatusCode::OK,
        model_json(model, chat.started).to_string(),
    ))
}

/// `POST /v1beta/chat/completions`.
pub async fn completions(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body = json_body(&state, &headers, body)?;
    let request = parse_request(&body)?;
    let chat = service(&state)?;
    let header = CompletionHeader {
        id: ids::new_id(COMPLETION_PREFIX),
        created: now_micros() / 1_000_000,
        model: request.model,
    };
    let task = task(&header.id, &tenant, &request);
    let limit = match chat.max_run_time {
        Some(cap) => cap.min(task.budget.time_limit),
        None => task.budget.time_limit,
    };
    let research = Research {
        processor: chat.processor.clone(),
        permits: chat.permits.clone(),
        task,
        limit,
        shutdown: state.shutdown.clone(),
    };
    if request.stream {
        let keep_alive = sse::keep_alive_interval(client_read_timeout(&headers));
        return Ok(sse::response(stream(header, request, research), keep_alive));
    }
    let output = research.run(&Quiet).await.map_err(Ended::into_http)?;
    let answer = answer(output, &request.format);
    let usage = Usage::estimate(&request.prompt_text(), &answer.content);
    let mut body = header.completion(&answer.content, &answer.basis, usage);
    add_warnings(&mut body, &answer);
    Ok(json_response(StatusCode::OK, body.to_string()))
}

/// The task's warnings beside the answer (the spec's `ChatCompletion` admits more fields).
fn add_warnings(body: &mut Value, answer: &ChatAnswer) {
    if !answer.warnings.is_empty() {
        body["warnings"] = Value::Array(answer.warnings.clone());
    }
}

/// One chat research: its task, on the shared processor, under a permit, within its time
/// limit, cut short by shutdown.
struct Research {
    processor: Arc<dyn Processor>,
    permits: Arc<Semaphore>,
    task: parallax_engine::Task,
    /// The model's time limit, or the operator's cap when lower.
    limit: Duration,
    shutdown: watch::Receiver<bool>,
}

/// Why a research gave no output.
#[derive(Debug)]
enum Ended {
    Failed(RunFailure),
    TimedOut(Duration),
    ShuttingDown,
}

impl Ended {
    fn to_api(&self) -> ApiError {
        match self {
            Ended::Failed(failure) => {
                let error =
                    ApiError::new(500, format!("The research failed: {}", failure.message));
                match &failure.detail {
                    Some(detail) => error.with_detail(detail.clone()),
                    None => error,
                }
            }
            Ended::TimedOut(limit) => ApiError::new(
                504,
                format!(
                    "The research did not finish within its time limit ({:.1} s); ask again, or use a faster model",
                    limit.as_secs_f64()
                ),
            ),
            Ended::ShuttingDown => {
                ApiError::new(503, "Service unavailable: the server is shutting down")
            }
        }
    }

    fn into_http(self) -> HttpError {
        let error = self.to_api();
        match self {
            Ended::ShuttingDown => error.into(),
            other => HttpError::server_fault(error, &format!("{other:?}")),
        }
    }
}

impl Research {
    async fn run(self, progress: &dyn ProgressSink) -> Result<Output, Ended> {
        let Research {
            processor,
            permits,
            task,
            limit,
            mut shutdown,
        } = self;
        let work = async {
            let Ok(_permit) = permits.acquire().await else {
                return Err(Ended::ShuttingDown);
            };
            match tokio::time::timeout(limit, processor.run(task, progress)).await {
                Ok(Ok(output)) => Ok(output),
                Ok(Err(failure)) => Err(Ended::Failed(failure)),
                Err(_) => Err(Ended::TimedOut(limit)),
            }
        };
        tokio::select! {
            outcome = work => outcome,
            _ = shutdown.wait_for(|stopping| *stopping) => Err(Ended::ShuttingDown),
        }
    }
}

/// The event carrying `value` as its data, with no id or type (OpenAI's streams have none).
fn data(value: &Value) -> SseEvent {
    SseEvent {
        id: None,
        event: None,
        data: value.to_string(),
    }
}

/// What the research task of a streamed completion tells its stream.
enum Step {
    /// A piece of the answer's text as the writer produced it (an LLM streaming a text answer).
    Delta(String),
    /// The research ended.
    Done(Result<Output, Ended>),
}

/// The sink of a streamed completion: the writer's text goes to the stream as it comes.
struct Deltas(mpsc::UnboundedSender<Step>);

#[async_trait]
impl ProgressSink for Deltas {
    async fn message(&self, _: MessageKind, _: &str) {}
    async fn stats(&self, _: &SourceStats, _: f64) {}
    fn wants_content(&self) -> bool {
        true
    }
    fn content(&self, delta: &str) {
        let _ = self.0.send(Step::Delta(delta.to_owned()));
    }
}

/// The events of a streamed completion. The research runs in a task of its own so that the
/// first chunk goes out at once, and the writer's text as it comes; dropping the stream (the
/// client left) aborts the research.
fn stream(
    header: CompletionHeader,
    request: ChatRequest,
    research: Research,
) -> impl Stream<Item = SseEvent> + Send + 'static {
    let (steps_tx, steps) = mpsc::unbounded_channel::<Step>();
    let handle = tokio::spawn(async move {
        let sink = Deltas(steps_tx.clone());
        let outcome = research.run(&sink).await;
        let _ = steps_tx.send(Step::Done(outcome));
    });
    let first = data(&header.chunk(json!({"role": "assistant", "content": ""}), None, &[]));
    let streaming = Streaming {
        header,
        request,
        steps,
        sent: String::new(),
        _guard: AbortOnDrop(handle),
    };
    let rest = futures::stream::unfold(Some(streaming), |state| async move {
        let mut streaming = state?;
        match streaming.steps.recv().await {
            Some(Step::Delta(piece)) => {
                streaming.sent.push_str(&piece);
                let event = data(&streaming.header.chunk(json!({"content": piece}), None, &[]));
                Some((vec![event], Some(streaming)))
            }
            Some(Step::Done(Ok(output))) => Some((
                answer_events(
                    &streaming.header,
                    &streaming.request,
                    output,
                    &streaming.sent,
                ),
                None,
            )),
            Some(Step::Done(Err(ended))) => Some((vec![error_data(ended)], None)),
            None => Some((vec![error_data(Ended::ShuttingDown)], None)),
        }
    })
    .flat_map(futures::stream::iter);
    futures::stream::once(async move { first }).chain(rest)
}

/// A streamed completion while its research runs.
struct Streaming {
    header: CompletionHeader,
    request: ChatRequest,
    steps: mpsc::UnboundedReceiver<Step>,
    /// The answer's text sent so far, as the writer produced it.
    sent: String,
    /// Held until the research is over; dropped with the stream if the client leaves first.
    _guard: AbortOnDrop,
}

/// Aborts the research when the stream is dropped before it ended.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The events after the research: the content not yet streamed in deltas, the last chunk
/// with the basis, the usage chunk when asked for, and `[DONE]`. When the writer streamed part
/// of an answer and synthesis then fell back (an LLM that broke mid-answer), what was sent is
/// not the answer's beginning and cannot be taken back: the stream ends with an error instead.
fn answer_events(
    header: &CompletionHeader,
    request: &ChatRequest,
    output: Output,
    sent: &str,
) -> Vec<SseEvent> {
    let answer = answer(output, &request.format);
    let Some(rest) = answer.content.strip_prefix(sent) else {
        return vec![error_data(Ended::Failed(RunFailure::new(
            "the writer failed after part of the answer was sent; ask again",
        )))];
    };
    let mut events: Vec<SseEvent> = content_deltas(rest, DELTA_CHARS)
        .into_iter()
        .map(|piece| data(&header.chunk(json!({"content": piece}), None, &[])))
        .collect();
    let mut last = header.chunk(json!({}), Some("stop"), &answer.basis);
    add_warnings(&mut last, &answer);
    events.push(data(&last));
    if request.include_usage {
        let usage = Usage::estimate(&request.prompt_text(), &answer.content);
        events.push(data(&header.usage_chunk(usage)));
    }
    events.push(SseEvent {
        id: None,
        event: None,
        data: "[DONE]".into(),
    });
    events
}

/// The event that ends a stream whose research gave no answer: the API's error shape, which
/// OpenAI's stream decoder raises (it looks for an `error` field). The cause of a fault is
/// logged under the `ref_id` sent.
fn error_data(ended: Ended) -> SseEvent {
    let error = ended.to_api();
    let ref_id = uuid::Uuid::new_v4().to_string();
    match ended {
        Ended::ShuttingDown => tracing::info!(%ref_id, "chat stream cut short by shutdown"),
        other => tracing::error!(%ref_id, cause = ?other, "chat research failed"),
    }
    let body = serde_json::to_value(error.body(&ref_id)).unwrap_or(Value::Null);
    data(&body)
}
