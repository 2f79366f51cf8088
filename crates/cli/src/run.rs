//! `parallax run "question"`: one question from the terminal, as a client of the server's
//! own public API.
//!
//! This module owns that command end to end: it creates the task run (`POST /v1/tasks/runs`
//! with `enable_events`) on the server given by `--server`, or on an embedded server it starts
//! for the occasion (the same [`crate::start`] as `parallax serve`, on a temporary data
//! directory unless `--data-dir` is given); follows the run's event stream
//! (`GET /v1/tasks/runs/{id}/events`, parsed by [`SseParser`]) as a progress bar on stderr, or
//! as one plain line per message when stderr is not a terminal; falls back to long-polling
//! `GET /v1/tasks/runs/{id}/result` when the stream breaks (a restarted server, say); and
//! prints the answer with its citations on stdout, or with `--json` the result exactly as the
//! server answered it.
//!
//! Ctrl-C stops watching: a run on a `--server` goes on there (the command says how to fetch
//! it); an embedded server shuts down gracefully. Exit status: 0 the run completed, 1 it failed
//! or the server refused or failed, 2 bad usage or input, 130 interrupted.

use crate::research::ResearchArgs;
use clap::{Args, FromArgMatches};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const EXIT_FAILED: i32 = 1;
const EXIT_USAGE: i32 = 2;
const EXIT_INTERRUPTED: i32 = 130;

/// Seconds each `GET …/result` long-poll asks the server to wait.
const POLL_SECONDS: u64 = 30;
/// How long the server may stay unreachable (restarting, say) while we wait for a result.
const UNREACHABLE_GRACE: Duration = Duration::from_secs(120);
/// Excerpts shown per citation, and the characters shown of each.
const EXCERPTS_SHOWN: usize = 2;
const EXCERPT_CHARS: usize = 300;

/// Arguments of `parallax run`.
#[derive(Args)]
pub struct RunArgs {
    /// The question to research (the run's input).
    pub question: String,
    /// The processor: lite, base, core, pro, ultra, ultra2x, ultra4x, ultra8x (each also with
    /// a -fast variant). Larger ones read more sources and take longer.
    #[arg(long, default_value = "base")]
    pub processor: String,
    /// A JSON file giving the answer's shape: a JSON Schema (`{"type":"object",...}`), or a
    /// whole output schema (`{"type":"json"|"text"|"auto",...}`).
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// A running Parallax server to ask (http://host:port). Without it, an embedded server
    /// starts for this question and stops after it.
    #[arg(long, env = "PARALLAX_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// The API key for --server (without --server, the embedded server accepts it too).
    #[arg(long, env = "PARALLAX_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Print the result exactly as the server answers it (JSON), and nothing else on stdout.
    #[arg(long)]
    pub json: bool,
    /// The run's metadata, KEY=VALUE (numbers and true/false are sent as such); repeat it.
    #[arg(long, value_name = "KEY=VALUE", value_parser = metadata_pair)]
    pub metadata: Vec<(String, Value)>,
    /// Data directory of the embedded server, e.g. to answer from your local index (default: a
    /// temporary one, removed at exit). Refused while a server runs on it.
    #[arg(long, conflicts_with = "server")]
    pub data_dir: Option<PathBuf>,
    /// Search, fetch and LLM settings of the embedded server (as for `serve`).
    #[command(flatten)]
    pub research: ResearchArgs,
    /// Execute the run with the scripted test processor (test builds only; embedded server).
    #[cfg(feature = "scripted")]
    #[arg(long, conflicts_with = "server")]
    pub scripted_processor: bool,
}

/// `KEY=VALUE`: a number or `true`/`false` is sent as such, anything else as a string.
fn metadata_pair(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    if key.is_empty() {
        return Err(format!("{text:?} has no key before '='"));
    }
    let value = match serde_json::from_str::<Value>(value) {
        Ok(v @ (Value::Number(_) | Value::Bool(_))) => v,
        _ => Value::String(value.to_owned()),
    };
    Ok((key.to_owned(), value))
}

/// Why the command stops without an answer: its exit status and what to tell the user.
#[derive(Debug)]
struct Failure {
    code: i32,
    message: String,
}

fn failed(message: impl Into<String>) -> Failure {
    Failure {
        code: EXIT_FAILED,
        message: message.into(),
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: EXIT_USAGE,
        message: message.into(),
    }
}

fn interrupted(message: impl Into<String>) -> Failure {
    Failure {
        code: EXIT_INTERRUPTED,
        message: message.into(),
    }
}

/// Runs `parallax run`; returns the exit status.
pub async fn run(args: RunArgs) -> i32 {
    let outcome = match Interrupt::new() {
        Ok(mut interrupt) => run_with(args, &mut interrupt).await,
        Err(e) => Err(failed(format!("could not watch for Ctrl-C: {e}"))),
    };
    match outcome {
        Ok(()) => 0,
        Err(failure) => {
            eprintln!("parallax: {}", failure.message);
            failure.code
        }
    }
}

async fn run_with(args: RunArgs, interrupt: &mut Interrupt) -> Result<(), Failure> {
    // Everything the user gave is checked before anything is sent or started.
    let request = create_body(&args)?;
    match &args.server {
        Some(url) => {
            let key = args
                .api_key
                .clone()
                .filter(|k| !k.trim().is_empty())
                .ok_or_else(|| {
                    usage("--server needs an API key: pass --api-key or set PARALLAX_API_KEY")
                })?;
            let api = Api::new(url, key.trim().to_owned())?;
            let base = api.base.clone();
            ask(&api, &request, args.json, interrupt, move |run_id| match run_id {
                Some(id) => format!(
                    "stopped watching; run {id} goes on on the server. Fetch its result with:\n  curl -H \"x-api-key: $PARALLAX_API_KEY\" {base}/v1/tasks/runs/{id}/result"
                ),
                None => "interrupted before the server confirmed the run".to_owned(),
            })
            .await
        }
        None => embedded(&args, &request, interrupt).await,
    }
}

/// The body of `POST /v1/tasks/runs`.
fn create_body(args: &RunArgs) -> Result<Value, Failure> {
    let mut body = json!({
        "input": args.question,
        "processor": args.processor,
        "enable_events": true,
    });
    if let Some(path) = &args.schema {
        body["task_spec"] = json!({ "output_schema": read_schema(path)? });
    }
    if !args.metadata.is_empty() {
        let metadata: serde_json::Map<String, Value> = args.metadata.iter().cloned().collect();
        body["metadata"] = Value::Object(metadata);
    }
    Ok(body)
}

/// The output schema in `path`: an output schema (`type` json, text or auto) as it is, or a
/// JSON Schema wrapped as `{"type":"json","json_schema":…}`.
fn read_schema(path: &Path) -> Result<Value, Failure> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("could not read the schema file {shown}: {e}")))?;
    let schema: Value = serde_json::from_str(&text)
        .map_err(|e| usage(format!("the schema file {shown} is not valid JSON: {e}")))?;
    output_schema(schema).map_err(|why| usage(format!("the schema file {shown} {why}")))
}

fn output_schema(schema: Value) -> Result<Value, String> {
    let Value::Object(object) = &schema else {
        return Err("must hold a JSON object: a JSON Schema, or an output schema".to_owned());
    };
    match object.get("type").and_then(Value::as_str) {
        Some("json" | "text" | "auto") => Ok(schema),
        _ => Ok(json!({ "type": "json", "json_schema": schema })),
    }
}

/// The embedded server's run: start it, ask, stop it, remove its temporary directory.
async fn embedded(
    args: &RunArgs,
    request: &Value,
    interrupt: &mut Interrupt,
) -> Result<(), Failure> {
    let given = args
        .api_key
        .clone()
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty());
    let (data_dir, temporary) = match &args.data_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let dir = TempDir::new()
                .map_err(|e| failed(format!("could not create a temporary data directory: {e}")))?;
            (dir.path.clone(), Some(dir))
        }
    };
    let key = match (given, &temporary) {
        (Some(key), _) => key,
        (None, Some(_)) => crate::new_api_key(),
        (None, None) => stored_run_key(&data_dir)?,
    };
    let serve_args = serve_args(args, &data_dir, &key)?;
    let server = crate::start(&serve_args)
        .await
        .map_err(|e| failed(format!("could not start the embedded server: {e:#}")))?;
    let api = Api::new(&format!("http://{}", server.addr), key)?;
    let shown_dir = data_dir.display().to_string();
    let is_temporary = temporary.is_some();
    let own_key = args
        .api_key
        .as_deref()
        .is_some_and(|k| !k.trim().is_empty());
    let key_file = data_dir.join(RUN_KEY_FILE).display().to_string();
    let outcome = ask(&api, request, args.json, interrupt, move |run_id| {
        let run = run_id.map_or("the run".to_owned(), |id| format!("run {id}"));
        if is_temporary {
            format!(
                "interrupted; {run} stops with this command (its temporary data directory is removed). To leave runs going, ask a server: `parallax serve`, then `parallax run --server URL`"
            )
        } else {
            let access = if own_key {
                String::new()
            } else {
                format!("; it belongs to the key in {key_file}")
            };
            format!(
                "interrupted; {run} stays queued in {shown_dir} and resumes the next time a server starts there (`parallax serve --data-dir {shown_dir}`){access}"
            )
        }
    })
    .await;
    if let Err(e) = server.shutdown().await {
        eprintln!("parallax: the embedded server did not stop cleanly: {e:#}");
    }
    drop(temporary);
    outcome
}

/// Where `parallax run` keeps the key it uses on a data directory it was given no key for.
pub const RUN_KEY_FILE: &str = "run-key";

/// The key `parallax run --data-dir DIR` uses when given none: the one in `DIR/run-key`,
/// made on first use (readable by its owner only), so that every run asked on that directory
/// belongs to one tenant, and an interrupted run can be fetched later with that key, instead
/// of each run making a tenant and a key nobody sees.
fn stored_run_key(data_dir: &Path) -> Result<String, Failure> {
    let path = data_dir.join(RUN_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(failed(format!("could not read {}: {e}", path.display()))),
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| failed(format!("could not create {}: {e}", data_dir.display())))?;
    let key = crate::new_api_key();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => {
            use std::io::Write;
            file.write_all(format!("{key}\n").as_bytes())
                .map_err(|e| failed(format!("could not write {}: {e}", path.display())))?;
            Ok(key)
        }
        // Another `parallax run` made it first: use that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => stored_run_key(data_dir),
        Err(e) => Err(failed(format!("could not create {}: {e}", path.display()))),
    }
}

/// `serve`'s settings for the embedded server: its defaults (and `PARALLAX_*` variables) for
/// everything `run` does not set, on a free loopback port, the embedded store in `data_dir`,
/// accepting `key`.
fn serve_args(args: &RunArgs, data_dir: &Path, key: &str) -> Result<crate::ServeArgs, Failure> {
    let command = <crate::ServeArgs as Args>::augment_args(clap::Command::new("serve"));
    let mut serve = command
        .try_get_matches_from(["serve"])
        .and_then(|matches| crate::ServeArgs::from_arg_matches(&matches))
        .map_err(|e| usage(format!("a server setting is invalid: {e}")))?;
    serve.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    serve.store = crate::StoreArgs {
        data_dir: data_dir.to_owned(),
        database_url: None,
    };
    serve.api_keys = vec![key.to_owned()];
    serve.research = args.research.clone();
    #[cfg(feature = "scripted")]
    {
        serve.scripted_processor = args.scripted_processor;
    }
    Ok(serve)
}

/// A directory under the system's temporary directory, removed with everything in it when
/// dropped.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        use rand::RngCore;
        let mut bytes = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut bytes);
        let path = std::env::temp_dir().join(format!(
            "parallax-run-{}-{}",
            std::process::id(),
            hex::encode(bytes)
        ));
        std::fs::create_dir(&path)?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            eprintln!(
                "parallax: could not remove the temporary data directory {}: {e}",
                self.path.display()
            );
        }
    }
}

/// Ctrl-C (SIGINT), caught from the start so that it never kills the process mid-way.
struct Interrupt {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Interrupt {
    fn new() -> std::io::Result<Interrupt> {
        Ok(Interrupt {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?,
        })
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        self.signal.recv().await;
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Creates the run, watches it and prints its answer. `on_interrupt` says what Ctrl-C leaves
/// behind, given the run's id once it is known.
async fn ask(
    api: &Api,
    request: &Value,
    json_output: bool,
    interrupt: &mut Interrupt,
    on_interrupt: impl Fn(Option<&str>) -> String,
) -> Result<(), Failure> {
    let run_id = tokio::select! {
        created = api.create(request) => created?,
        _ = interrupt.recv() => return Err(interrupted(on_interrupt(None))),
    };
    let progress = Progress::new();
    progress.note(&format!("run {run_id} created; watching it"));
    let result = tokio::select! {
        result = watch(api, &run_id, &progress) => result,
        _ = interrupt.recv() => {
            progress.finish();
            return Err(interrupted(on_interrupt(Some(&run_id))));
        }
    };
    progress.finish();
    let body = result?;
    print_result(&body, json_output)
}

/// The server's API, as this command uses it.
struct Api {
    client: reqwest::Client,
    /// Its base URL, without a trailing slash.
    base: String,
    key: String,
}

impl Api {
    fn new(base: &str, key: String) -> Result<Api, Failure> {
        let base = base.trim().trim_end_matches('/').to_owned();
        match reqwest::Url::parse(&base) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {}
            _ => {
                return Err(usage(format!(
                    "--server must be an http:// or https:// URL, not {base:?}"
                )))
            }
        }
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| failed(format!("could not set up the HTTP client: {e}")))?;
        Ok(Api { client, base, key })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn unreachable(&self, error: &reqwest::Error) -> Failure {
        failed(format!(
            "could not reach the server at {}: {}. Is it running? (Without --server, `parallax run` starts a server of its own.)",
            self.base,
            cause(error)
        ))
    }

    /// Creates the run; returns its id.
    async fn create(&self, body: &Value) -> Result<String, Failure> {
        let response = self
            .client
            .post(self.url("/v1/tasks/runs"))
            .header("x-api-key", &self.key)
            .timeout(Duration::from_secs(60))
            .json(body)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| self.unreachable(&e))?;
        if !(200..300).contains(&status) {
            return Err(refused(status, &text));
        }
        serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|run| run.get("run_id")?.as_str().map(str::to_owned))
            .ok_or_else(|| failed(format!("the server's answer holds no run id: {text}")))
    }

    async fn events(&self, run_id: &str) -> reqwest::Result<reqwest::Response> {
        self.client
            .get(self.url(&format!("/v1/tasks/runs/{run_id}/events")))
            .header("x-api-key", &self.key)
            .header("accept", "text/event-stream")
            .send()
            .await
    }

    async fn result(&self, run_id: &str) -> reqwest::Result<reqwest::Response> {
        self.client
            .get(self.url(&format!(
                "/v1/tasks/runs/{run_id}/result?timeout={POLL_SECONDS}"
            )))
            .header("x-api-key", &self.key)
            .timeout(Duration::from_secs(POLL_SECONDS + 30))
            .send()
            .await
    }
}

/// The innermost cause of an HTTP error ("Connection refused (os error 111)"), after what
/// reqwest says about it.
fn cause(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    let mut innermost = None;
    while let Some(s) = source {
        innermost = Some(s.to_string());
        source = s.source();
    }
    if let Some(inner) = innermost {
        if !text.contains(&inner) {
            text = format!("{text}: {inner}");
        }
    }
    text
}

/// The failure for an error answer of `status` with body `text` (the API's error shape).
fn refused(status: u16, text: &str) -> Failure {
    if status == 401 {
        return failed("the server refused the API key; pass --api-key or set PARALLAX_API_KEY");
    }
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let message = body
        .pointer("/error/message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| text.trim().chars().take(500).collect());
    let detail = match body.pointer("/error/detail") {
        None | Some(Value::Null) => String::new(),
        Some(detail) => format!(" (detail: {detail})"),
    };
    let said = format!("the server answered {status}: {message}{detail}");
    match status {
        // The request itself was refused: what we sent, from what the user gave.
        400 | 403 | 413 | 422 => usage(said),
        _ => failed(said),
    }
}

/// Follows the run until it ends and returns `GET …/result`'s body.
async fn watch(api: &Api, run_id: &str, progress: &Progress) -> Result<String, Failure> {
    if let Err(why) = follow_events(api, run_id, progress).await {
        progress.note(&format!(
            "the event stream broke ({why}); waiting for the result instead"
        ));
    }
    wait_for_result(api, run_id).await
}

/// Shows the run's events until the stream ends; an error when it broke before the run ended.
async fn follow_events(api: &Api, run_id: &str, progress: &Progress) -> Result<(), String> {
    let response = api.events(run_id).await.map_err(|e| cause(&e))?;
    if !response.status().is_success() {
        return Err(format!("the server answered {}", response.status()));
    }
    let mut parser = SseParser::default();
    let mut bytes = response.bytes_stream();
    let mut ended = false;
    while let Some(chunk) = bytes.next().await {
        let chunk = chunk.map_err(|e| cause(&e))?;
        for event in parser.push(&chunk) {
            ended |= show_event(&event, progress)?;
        }
    }
    if ended {
        Ok(())
    } else {
        Err("it closed before the run ended".to_owned())
    }
}

/// Shows one event; true when it says the run has ended, an error for an `error` event.
fn show_event(event: &SseEvent, progress: &Progress) -> Result<bool, String> {
    let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
    let kind = event
        .event
        .clone()
        .or_else(|| data.get("type").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    if let Some(message_kind) = kind.strip_prefix("task_run.progress_msg.") {
        if let Some(message) = data.get("message").and_then(Value::as_str) {
            progress.message(message_kind, message);
        }
    } else if kind == "task_run.progress_stats" {
        let meter = data
            .get("progress_meter")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let count = |name: &str| {
            data.pointer(&format!("/source_stats/{name}"))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        progress.stats(
            meter,
            count("num_sources_read"),
            count("num_sources_considered"),
        );
    } else if kind == "task_run.state" {
        let status = data
            .pointer("/run/status")
            .and_then(Value::as_str)
            .unwrap_or("");
        progress.state(status);
        return Ok(matches!(status, "completed" | "failed" | "cancelled"));
    } else if kind == "error" {
        let message = data
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("the server sent an error event");
        return Err(message.to_owned());
    }
    Ok(false)
}

/// Long-polls `GET …/result` until the run has ended, riding out a server that is briefly
/// unreachable or restarting; the body when it completed, the run's error when it did not.
async fn wait_for_result(api: &Api, run_id: &str) -> Result<String, Failure> {
    let mut unreachable_since: Option<Instant> = None;
    let mut pause = Duration::from_millis(250);
    loop {
        let retry = match api.result(run_id).await {
            Err(e) => api.unreachable(&e),
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.map_err(|e| api.unreachable(&e))?;
                match status {
                    200 => return Ok(text),
                    408 => {
                        unreachable_since = None;
                        continue;
                    }
                    404 => return Err(ended_without_output(run_id, &text)),
                    // Shutting down or restarting (or a proxy in front of it): ask again.
                    502..=504 => refused(status, &text),
                    _ => return Err(refused(status, &text)),
                }
            }
        };
        let since = *unreachable_since.get_or_insert_with(Instant::now);
        if since.elapsed() > UNREACHABLE_GRACE {
            return Err(retry);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// The failure for `GET …/result`'s 404: the run ended without output (its error), or the
/// server does not know it.
fn ended_without_output(run_id: &str, text: &str) -> Failure {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let detail = body.pointer("/error/detail");
    match detail.and_then(|d| d.get("status")).and_then(Value::as_str) {
        Some(status) => {
            let error = detail
                .and_then(|d| d.pointer("/error/message"))
                .and_then(Value::as_str);
            match (status, error) {
                (_, Some(error)) => failed(format!("run {run_id} {status}: {error}")),
                (_, None) => failed(format!("run {run_id} {status} without an answer")),
            }
        }
        None => failed(format!("the server does not know run {run_id}")),
    }
}

/// Prints the result: with `--json`, the body exactly; else the answer and its citations.
fn print_result(body: &str, json_output: bool) -> Result<(), Failure> {
    let result: Value = serde_json::from_str(body)
        .map_err(|e| failed(format!("the server's result is not JSON: {e}")))?;
    for warning in result
        .pointer("/run/warnings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let message = warning
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| warning.to_string(), str::to_owned);
        eprintln!("parallax: warning: {message}");
    }
    let mut out = std::io::stdout().lock();
    let written = if json_output {
        writeln!(out, "{}", body.trim_end())
    } else {
        out.write_all(render_answer(&result).as_bytes())
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| failed(format!("could not write the answer: {e}")))
}

/// The answer as text: the content (or each field as `name: value`), then each field's
/// citations with up to two excerpts and the confidence.
fn render_answer(result: &Value) -> String {
    let output = &result["output"];
    let mut text = String::new();
    match &output["content"] {
        Value::String(s) => {
            text.push_str(s.trim_end());
            text.push('\n');
        }
        Value::Object(fields) => {
            for (name, value) in fields {
                text.push_str(&format!("{name}: {}\n", scalar(value)));
            }
        }
        other => text.push_str(&format!("{other}\n")),
    }
    for entry in output["basis"].as_array().into_iter().flatten() {
        let field = entry["field"].as_str().unwrap_or("output");
        let citations = entry["citations"].as_array().map_or(&[][..], Vec::as_slice);
        let confidence = entry["confidence"]
            .as_str()
            .map(|c| format!(" (confidence: {c})"))
            .unwrap_or_default();
        text.push('\n');
        if citations.is_empty() {
            text.push_str(&format!("{field}: no sources cited{confidence}\n"));
            continue;
        }
        text.push_str(&format!("Sources for {field}{confidence}:\n"));
        for citation in citations {
            let url = citation["url"].as_str().unwrap_or("");
            match citation["title"].as_str().filter(|t| !t.is_empty()) {
                Some(title) => text.push_str(&format!("  - {title}\n    {url}\n")),
                None => text.push_str(&format!("  - {url}\n")),
            }
            for excerpt in citation["excerpts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .take(EXCERPTS_SHOWN)
            {
                text.push_str(&format!("    > {}\n", shorten(excerpt)));
            }
        }
    }
    text
}

/// A field's value on one line: a string as it is, anything else as JSON.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An excerpt on one line, at most [`EXCERPT_CHARS`] characters.
fn shorten(excerpt: &str) -> String {
    let line = excerpt.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= EXCERPT_CHARS {
        line
    } else {
        let cut: String = line.chars().take(EXCERPT_CHARS).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Where progress goes: a bar on a terminal's stderr, else one plain line per message.
enum Progress {
    Bar(ProgressBar),
    Lines(std::sync::Mutex<(u64, u64)>),
}

impl Progress {
    fn new() -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress::Lines(std::sync::Mutex::new((0, 0)));
        }
        let bar = ProgressBar::new(100);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos:>3}% {wide_msg}")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress::Bar(bar)
    }

    /// A line about the command itself (not the run's own progress).
    fn note(&self, text: &str) {
        match self {
            Progress::Bar(bar) => bar.println(format!("parallax: {text}")),
            Progress::Lines(_) => eprintln!("parallax: {text}"),
        }
    }

    /// A `task_run.progress_msg.*` event: `kind` is plan, search, result, tool_call, …
    fn message(&self, kind: &str, message: &str) {
        match self {
            Progress::Bar(bar) => bar.set_message(message.to_owned()),
            Progress::Lines(_) => eprintln!("[{kind}] {message}"),
        }
    }

    fn stats(&self, meter: f64, read: u64, considered: u64) {
        let text = format!("read {read} of {considered} sources");
        match self {
            Progress::Bar(bar) => {
                bar.set_position(meter.clamp(0.0, 100.0) as u64);
                bar.set_message(text);
            }
            Progress::Lines(last) => {
                let mut last = last.lock().expect("progress lock");
                if *last != (read, considered) {
                    *last = (read, considered);
                    eprintln!("[{:>3.0}%] {text}", meter.clamp(0.0, 100.0));
                }
            }
        }
    }

    fn state(&self, status: &str) {
        match self {
            Progress::Bar(bar) => {
                if status == "completed" {
                    bar.set_position(100);
                }
                bar.set_message(status.to_owned());
            }
            Progress::Lines(_) => eprintln!("[state] {status}"),
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

/// A Server-Sent Events decoder: bytes in, as they arrive, whole events out. Comment lines
/// (`: keep-alive`) are skipped; a blank line dispatches the event being read if it has data.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of a line not yet ended.
    pending: Vec<u8>,
    current: SseEvent,
    data_lines: Vec<String>,
}

impl SseParser {
    /// Feeds `chunk`; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches('\n').trim_end_matches('\r');
            if line.is_empty() {
                if !self.data_lines.is_empty() {
                    let mut event = std::mem::take(&mut self.current);
                    event.data = std::mem::take(&mut self.data_lines).join("\n");
                    events.push(event);
                }
                self.current = SseEvent::default();
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "data" => self.data_lines.push(value.to_owned()),
                "event" => self.current.event = Some(value.to_owned()),
                "id" => self.current.id = Some(value.to_owned()),
                _ => {}
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_are_decoded_across_chunks() {
        let mut parser = SseParser::default();
        let stream = b"id: 1\nevent: task_run.progress_msg.plan\ndata: {\"message\":\"m\"}\n\n: keep-alive\nid: 2\r\nevent: task_run.state\r\ndata: a\r\ndata: b\r\n\r\ndata: last\n\n";
        // Every split point gives the same events.
        for split in 0..stream.len() {
            let mut events = parser.push(&stream[..split]);
            events.extend(parser.push(&stream[split..]));
            assert_eq!(
                events,
                vec![
                    SseEvent {
                        id: Some("1".into()),
                        event: Some("task_run.progress_msg.plan".into()),
                        data: "{\"message\":\"m\"}".into(),
                    },
                    SseEvent {
                        id: Some("2".into()),
                        event: Some("task_run.state".into()),
                        data: "a\nb".into(),
                    },
                    SseEvent {
                        id: None,
                        event: None,
                        data: "last".into(),
                    },
                ],
                "split at {split}"
            );
        }
        // A keep-alive alone, and an event without its blank line yet, dispatch nothing.
        assert!(parser.push(b": keep-alive\ndata: x\n").is_empty());
        assert_eq!(parser.push(b"\n").len(), 1);
    }

    #[test]
    fn schemas_are_wrapped_unless_already_output_schemas() {
        let plain = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        assert_eq!(
            output_schema(plain.clone()).unwrap(),
            json!({"type": "json", "json_schema": plain})
        );
        for wrapped in [
            json!({"type": "json", "json_schema": plain}),
            json!({"type": "text", "description": "d"}),
            json!({"type": "auto"}),
        ] {
            assert_eq!(output_schema(wrapped.clone()).unwrap(), wrapped);
        }
        assert!(output_schema(json!([1])).is_err());
        assert!(output_schema(json!("text")).is_err());
    }

    #[test]
    fn metadata_values() {
        assert_eq!(
            metadata_pair("scripted_sleep=500").unwrap(),
            ("scripted_sleep".into(), json!(500))
        );
        assert_eq!(
            metadata_pair("flag=true").unwrap(),
            ("flag".into(), json!(true))
        );
        assert_eq!(
            metadata_pair("note=a=b").unwrap(),
            ("note".into(), json!("a=b"))
        );
        assert!(metadata_pair("novalue").is_err());
        assert!(metadata_pair("=x").is_err());
    }

    #[test]
    fn answers_show_fields_and_citations() {
        let result = json!({
            "run": {"run_id": "trun_1", "status": "completed"},
            "output": {
                "type": "json",
                "content": {"population": 5400, "town": "Quellmoor"},
                "basis": [
                    {"field": "population", "confidence": "high", "citations": [
                        {"url": "https://w.example/q", "title": "Quellmoor", "excerpts": ["one", "two\n  lines", "three"]}
                    ]},
                    {"field": "town", "confidence": "low", "citations": []}
                ]
            }
        });
        let text = render_answer(&result);
        assert_eq!(
            text,
            "population: 5400\ntown: Quellmoor\n\nSources for population (confidence: high):\n  - Quellmoor\n    https://w.example/q\n    > one\n    > two lines\n\ntown: no sources cited (confidence: low)\n"
        );
        let long = "x".repeat(EXCERPT_CHARS + 5);
        assert_eq!(shorten(&long).chars().count(), EXCERPT_CHARS + 1);
    }

    #[test]
    fn refusals_say_what_to_do() {
        let key = refused(401, "{}");
        assert_eq!(key.code, EXIT_FAILED);
        assert!(key.message.contains("refused the API key"));
        let invalid = refused(
            422,
            r#"{"type":"error","error":{"ref_id":"r","message":"Unprocessable content: bad","detail":{"pointer":"/input"}}}"#,
        );
        assert_eq!(invalid.code, EXIT_USAGE);
        assert!(invalid.message.contains("Unprocessable content: bad"));
        assert!(invalid.message.contains("/input"));
        assert_eq!(refused(500, "oops").code, EXIT_FAILED);
        let failure = ended_without_output(
            "trun_1",
            r#"{"error":{"message":"Run failed: boom","detail":{"status":"failed","error":{"message":"boom"}}}}"#,
        );
        assert_eq!(failure.message, "run trun_1 failed: boom");
    }
}
