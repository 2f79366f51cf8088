//! The process's metrics: the one Prometheus registry, every family in it, and the typed
//! functions the other crates record through. No other crate names a metric or a label: the
//! server's middleware calls [`http_request`], the scheduler [`run_claimed`] and
//! [`run_finished`], the engine [`fetched`], [`fetch_cache_hit`] and [`extracted`], the
//! webhook loop [`webhook_delivered`], [`webhook_gave_up`] and [`webhook_retry`], each store
//! backend [`store_commit`] at its one commit path, and `GET /metrics` [`render`].
//!
//! The families (all prefixed `parallax_`, in seconds, counters ending `_total`):
//!
//! | family | type | labels |
//! | --- | --- | --- |
//! | `http_requests_total` | counter | `route` (the matched route template, or `unmatched`), `method`, `status` |
//! | `http_request_duration_seconds` | histogram | `route`, `method` (until the response's head) |
//! | `runs_active` | gauge | `processor`, `state` (`queued`, `running`), read from the store at each scrape |
//! | `queue_depth` | gauge | none: queued task runs, read from the store at each scrape |
//! | `runs_finished_total` | counter | `processor`, `status` (`completed`, `failed`, `cancelled`), runs this node ended |
//! | `run_claim_latency_seconds` | histogram | none: from a run's creation to its first claim, by this node |
//! | `fetches_total` | counter | `outcome` (`ok`, `http_error`, `timeout`, `refused_private`, `too_large`, `other`) |
//! | `fetch_cache_hits_total` | counter | none: pages answered from the fetch cache |
//! | `extraction_duration_seconds` | histogram | `content` (`html`, `pdf`, `text`) |
//! | `webhook_deliveries_total` | counter | `outcome` (`delivered`, `gave_up`) |
//! | `webhook_retries_total` | counter | none: failed attempts that will be retried |
//! | `store_commit_duration_seconds` | histogram | `backend` (`sqlite`, `postgres`): the `COMMIT` itself |
//!
//! Every label value is from a closed set (route templates, methods, status codes, processor
//! names, outcomes): never a tenant, key, URL or run id, so the number of series stays
//! bounded and a scrape gives nothing away. Recording takes a family's read lock (a write
//! lock only the first time a label set is seen); nothing on a request's path waits on a
//! scrape for longer than it takes to copy the counters.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, RwLock};
use std::time::Duration;

/// Buckets of request latency: half a millisecond to two minutes (long-polls end by then).
const HTTP_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 120.0,
];
/// Buckets of claim latency: a millisecond (an idle node) to an hour (a deep queue).
const CLAIM_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];
/// Buckets of one page's extraction: half a millisecond to ten seconds (a large PDF).
const EXTRACTION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Buckets of one commit: a tenth of a millisecond (no fsync) to five seconds (a stalled disk).
const COMMIT_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
];

mod histogram;
pub use histogram::DurationHistogram;

type HistogramFamily<L> = Family<L, DurationHistogram, fn() -> DurationHistogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
    method: &'static str,
}

/// Most distinct route templates kept as labels; past it (which a router's fixed set of
/// templates never reaches) requests are labelled `other`, so a bug that passed raw paths
/// could not grow memory without bound.
const ROUTES_KEPT: usize = 1024;

/// `route` as a `&'static str`: each distinct template is kept once, so labelling a request
/// allocates nothing (a label of `String` cost two allocations a request).
fn interned(route: &str) -> &'static str {
    static ROUTES: LazyLock<RwLock<HashSet<&'static str>>> = LazyLock::new(Default::default);
    if let Some(known) = ROUTES.read().unwrap_or_else(|p| p.into_inner()).get(route) {
        return known;
    }
    let mut routes = ROUTES.write().unwrap_or_else(|p| p.into_inner());
    if let Some(known) = routes.get(route) {
        return known;
    }
    if routes.len() >= ROUTES_KEPT {
        return "other";
    }
    let kept: &'static str = Box::leak(route.to_owned().into_boxed_str());
    routes.insert(kept);
    kept
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActiveLabels {
    processor: String,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FinishedLabels {
    processor: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ContentLabels {
    content: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabels {
    backend: &'static str,
}

/// A run state the store counts at each scrape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Queued,
    Running,
}

impl RunState {
    fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
        }
    }
}

/// How a run this node executed ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    Completed,
    Failed,
    Cancelled,
}

impl RunEnd {
    fn as_str(self) -> &'static str {
        match self {
            RunEnd::Completed => "completed",
            RunEnd::Failed => "failed",
            RunEnd::Cancelled => "cancelled",
        }
    }
}

/// How one page fetch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchOutcome {
    /// A 2xx answer whose body was read.
    Ok,
    /// A non-2xx answer.
    HttpError,
    Timeout,
    /// Refused by the SSRF guard: a private, loopback or link-local address.
    RefusedPrivate,
    /// A body over the size limit.
    TooLarge,
    /// Anything else: a malformed URL or unsupported scheme, DNS, connection, redirects.
    Other,
}

impl FetchOutcome {
    fn as_str(self) -> &'static str {
        match self {
            FetchOutcome::Ok => "ok",
            FetchOutcome::HttpError => "http_error",
            FetchOutcome::Timeout => "timeout",
            FetchOutcome::RefusedPrivate => "refused_private",
            FetchOutcome::TooLarge => "too_large",
            FetchOutcome::Other => "other",
        }
    }
}

/// What kind of page an extraction read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    Html,
    Pdf,
    Text,
}

impl Content {
    fn as_str(self) -> &'static str {
        match self {
            Content::Html => "html",
            Content::Pdf => "pdf",
            Content::Text => "text",
        }
    }
}

/// A store backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How many runs of one processor are in one state, as the store counts them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunCount {
    pub processor: String,
    pub state: RunState,
    pub count: i64,
}

/// The exposition format of a scrape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format, version 0.0.4 (the default).
    Prometheus,
    /// OpenMetrics 1.0 text, for scrapers that ask for it.
    OpenMetrics,
}

impl Format {
    /// The format a request's `Accept` header asks for: OpenMetrics when it names
    /// `application/openmetrics-text`, else the Prometheus text format.
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    /// The `Content-Type` of a scrape in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The registry and its families. The process has one ([`global`]); tests make their own.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<RequestLabels, Counter>,
    http_duration: HistogramFamily<RouteLabels>,
    runs_active: Family<ActiveLabels, Gauge>,
    queue_depth: Gauge,
    runs_finished: Family<FinishedLabels, Counter>,
    claim_latency: DurationHistogram,
    fetches: Family<OutcomeLabels, Counter>,
    fetch_cache_hits: Counter,
    extraction: HistogramFamily<ContentLabels>,
    webhook_deliveries: Family<OutcomeLabels, Counter>,
    webhook_retries: Counter,
    store_commit: HistogramFamily<BackendLabels>,
    /// Held while the store's counts replace the run gauges and the registry is encoded, so
    /// that one scrape never sees another's half-replaced gauges.
    scrape: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with every family, all empty.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("parallax");
        let http_requests = Family::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by matched route template, method and status code",
            http_requests.clone(),
        );
        let http_duration: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(|| DurationHistogram::new(HTTP_BUCKETS));
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its response's head, by route template and method",
            http_duration.clone(),
        );
        let runs_active = Family::default();
        registry.register(
            "runs_active",
            "Task runs queued or running in the store (every node's), by processor and state, read at scrape time",
            runs_active.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Task runs queued in the store (every node's), read at scrape time",
            queue_depth.clone(),
        );
        let runs_finished = Family::default();
        registry.register(
            "runs_finished",
            "Task runs this node executed to their end, by processor and final status",
            runs_finished.clone(),
        );
        let claim_latency = DurationHistogram::new(CLAIM_BUCKETS);
        registry.register(
            "run_claim_latency_seconds",
            "Time from a task run's creation to its first claim, for the runs this node claimed",
            claim_latency.clone(),
        );
        let fetches = Family::default();
        registry.register("fetches", "Page fetches, by outcome", fetches.clone());
        let fetch_cache_hits = Counter::default();
        registry.register(
            "fetch_cache_hits",
            "Pages answered from the fetch cache without fetching",
            fetch_cache_hits.clone(),
        );
        let extraction: HistogramFamily<ContentLabels> =
            Family::new_with_constructor(|| DurationHistogram::new(EXTRACTION_BUCKETS));
        registry.register(
            "extraction_duration_seconds",
            "Time to extract one fetched page's title, date and text, by content type",
            extraction.clone(),
        );
        let webhook_deliveries = Family::default();
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries ended, by outcome (delivered, or given up)",
            webhook_deliveries.clone(),
        );
        let webhook_retries = Counter::default();
        registry.register(
            "webhook_retries",
            "Webhook attempts that failed and will be retried",
            webhook_retries.clone(),
        );
        let store_commit: HistogramFamily<BackendLabels> =
            Family::new_with_constructor(|| DurationHistogram::new(COMMIT_BUCKETS));
        registry.register(
            "store_commit_duration_seconds",
            "Time of the store's COMMIT (the durable flush), by backend",
            store_commit.clone(),
        );
        // Outcomes from a closed set start at zero, so a rate is defined from the first scrape.
        for outcome in [
            FetchOutcome::Ok,
            FetchOutcome::HttpError,
            FetchOutcome::Timeout,
            FetchOutcome::RefusedPrivate,
            FetchOutcome::TooLarge,
            FetchOutcome::Other,
        ] {
            let _ = fetches.get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            });
        }
        for outcome in ["delivered", "gave_up"] {
            let _ = webhook_deliveries.get_or_create(&OutcomeLabels { outcome });
        }
        Metrics {
            registry,
            http_requests,
            http_duration,
            runs_active,
            queue_depth,
            runs_finished,
            claim_latency,
            fetches,
            fetch_cache_hits,
            extraction,
            webhook_deliveries,
            webhook_retries,
            store_commit,
            scrape: Mutex::new(()),
        }
    }

    /// Records one answered request. `route` is the matched route template (`None` when no
    /// route matched); `method` outside the standard ones is counted as `other`.
    pub fn http_request(&self, route: Option<&str>, method: &str, status: u16, took: Duration) {
        let route = interned(route.unwrap_or("unmatched"));
        let method = method_label(method);
        self.http_requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabels { route, method })
            .observe(took);
    }

    /// Records a task run claimed by this node `waited` after it was created.
    pub fn run_claimed(&self, waited: Duration) {
        self.claim_latency.observe(waited);
    }

    /// Records a task run of `processor` this node ended with `end`.
    pub fn run_finished(&self, processor: &str, end: RunEnd) {
        self.runs_finished
            .get_or_create(&FinishedLabels {
                processor: processor.to_owned(),
                status: end.as_str(),
            })
            .inc();
    }

    /// Records one page fetch.
    pub fn fetched(&self, outcome: FetchOutcome) {
        self.fetches
            .get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// Records a page answered from the fetch cache.
    pub fn fetch_cache_hit(&self) {
        self.fetch_cache_hits.inc();
    }

    /// Records one page's extraction.
    pub fn extracted(&self, content: Content, took: Duration) {
        self.extraction
            .get_or_create(&ContentLabels {
                content: content.as_str(),
            })
            .observe(took);
    }

    /// Records a webhook delivery the receiver accepted.
    pub fn webhook_delivered(&self) {
        self.webhook_deliveries
            .get_or_create(&OutcomeLabels {
                outcome: "delivered",
            })
            .inc();
    }

    /// Records a webhook delivery given up.
    pub fn webhook_gave_up(&self) {
        self.webhook_deliveries
            .get_or_create(&OutcomeLabels { outcome: "gave_up" })
            .inc();
    }

    /// Records a failed webhook attempt that will be retried.
    pub fn webhook_retry(&self) {
        self.webhook_retries.inc();
    }

    /// Records one commit of `backend` that took `took`.
    pub fn store_commit(&self, backend: Backend, took: Duration) {
        self.store_commit
            .get_or_create(&BackendLabels {
                backend: backend.as_str(),
            })
            .observe(took);
    }

    /// The exposition of every family in `format`. With `runs`, the store's counts replace
    /// the run gauges first (`None`, when the store could not be read, keeps the last ones).
    pub fn render(&self, format: Format, runs: Option<&[RunCount]>) -> String {
        let _scrape = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(runs) = runs {
            self.runs_active.clear();
            let mut queued = 0;
            for run in runs {
                self.runs_active
                    .get_or_create(&ActiveLabels {
                        processor: run.processor.clone(),
                        state: run.state.as_str(),
                    })
                    .set(run.count);
                if run.state == RunState::Queued {
                    queued += run.count;
                }
            }
            self.queue_depth.set(queued);
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        match format {
            Format::OpenMetrics => text,
            Format::Prometheus => openmetrics_to_prometheus(&text),
        }
    }
}

/// The label of an HTTP method: the standard ones as they are, any other `other` (a client
/// may send any token as a method; each would be a series).
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "other",
    }
}

/// Turns the OpenMetrics text `prometheus-client` writes into the Prometheus text format
/// 0.0.4, for the families registered here (counters, gauges, histograms, no units or
/// exemplars). The two differ in three ways: a counter's family is named with its `_total`
/// suffix in `# HELP` and `# TYPE` (in OpenMetrics without it), there is no `# EOF`, and
/// there are no `# UNIT` lines. Samples and label escaping are the same.
fn openmetrics_to_prometheus(text: &str) -> String {
    let counters: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(line) => out.push_str(&line),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

static GLOBAL: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's registry.
pub fn global() -> &'static Metrics {
    &GLOBAL
}

/// [`Metrics::http_request`] on the process's registry.
pub fn http_request(route: Option<&str>, method: &str, status: u16, took: Duration) {
    global().http_request(route, method, status, took)
}

/// [`Metrics::run_claimed`] on the process's registry.
pub fn run_claimed(waited: Duration) {
    global().run_claimed(waited)
}

/// [`Metrics::run_finished`] on the process's registry.
pub fn run_finished(processor: &str, end: RunEnd) {
    global().run_finished(processor, end)
}

/// [`Metrics::fetched`] on the process's registry.
pub fn fetched(outcome: FetchOutcome) {
    global().fetched(outcome)
}

/// [`Metrics::fetch_cache_hit`] on the process's registry.
pub fn fetch_cache_hit() {
    global().fetch_cache_hit()
}

/// [`Metrics::extracted`] on the process's registry.
pub fn extracted(content: Content, took: Duration) {
    global().extracted(content, took)
}

/// [`Metrics::webhook_delivered`] on the process's registry.
pub fn webhook_delivered() {
    global().webhook_delivered()
}

/// [`Metrics::webhook_gave_up`] on the process's registry.
pub fn webhook_gave_up() {
    global().webhook_gave_up()
}

/// [`Metrics::webhook_retry`] on the process's registry.
pub fn webhook_retry() {
    global().webhook_retry()
}

/// [`Metrics::store_commit`] on the process's registry.
pub fn store_commit(backend: Backend, took: Duration) {
    global().store_commit(backend, took)
}

/// [`Metrics::render`] of the process's registry.
pub fn render(format: Format, runs: Option<&[RunCount]>) -> String {
    global().render(format, runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The value of the sample line that starts with `prefix` (name and labels).
    fn sample(text: &str, prefix: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn every_family_is_exposed_with_help_and_type() {
        let m = Metrics::new();
        // Families with labels appear once they have a series.
        m.http_request(Some("/healthz"), "GET", 200, ms(1));
        m.run_finished("lite", RunEnd::Completed);
        m.extracted(Content::Pdf, ms(1));
        m.store_commit(Backend::Postgres, ms(1));
        let text = m.render(
            Format::Prometheus,
            Some(&[RunCount {
                processor: "lite".into(),
                state: RunState::Queued,
                count: 0,
            }]),
        );
        for (family, kind) in [
            ("parallax_http_requests_total", "counter"),
            ("parallax_http_request_duration_seconds", "histogram"),
            ("parallax_runs_active", "gauge"),
            ("parallax_queue_depth", "gauge"),
            ("parallax_runs_finished_total", "counter"),
            ("parallax_run_claim_latency_seconds", "histogram"),
            ("parallax_fetches_total", "counter"),
            ("parallax_fetch_cache_hits_total", "counter"),
            ("parallax_extraction_duration_seconds", "histogram"),
            ("parallax_webhook_deliveries_total", "counter"),
            ("parallax_webhook_retries_total", "counter"),
            ("parallax_store_commit_duration_seconds", "histogram"),
        ] {
            assert!(
                text.contains(&format!("\n# TYPE {family} {kind}\n"))
                    || text.starts_with(&format!("# TYPE {family} {kind}\n")),
                "{family} {kind} missing:\n{text}"
            );
            assert!(text.contains(&format!("# HELP {family} ")), "{family}");
        }
        assert!(!text.contains("# EOF"), "{text}");
        // Closed sets of outcomes are there from the start, at zero.
        let fresh = Metrics::new().render(Format::Prometheus, None);
        for outcome in [
            "ok",
            "http_error",
            "timeout",
            "refused_private",
            "too_large",
            "other",
        ] {
            let series = format!("parallax_fetches_total{{outcome=\"{outcome}\"}}");
            assert_eq!(sample(&fresh, &series), Some(0.0), "{series}:\n{fresh}");
        }
        assert_eq!(
            sample(
                &fresh,
                r#"parallax_webhook_deliveries_total{outcome="gave_up"}"#
            ),
            Some(0.0)
        );
        let open = m.render(Format::OpenMetrics, None);
        assert!(open.ends_with("# EOF\n"), "{open}");
        assert!(open.contains("# TYPE parallax_fetches counter\n"), "{open}");
    }

    #[test]
    fn recordings_show_in_their_series() {
        let m = Metrics::new();
        m.http_request(Some("/v1/tasks/runs/{run_id}"), "GET", 404, ms(3));
        m.http_request(Some("/v1/tasks/runs/{run_id}"), "GET", 404, ms(30));
        m.http_request(None, "BREW", 404, ms(1));
        m.run_finished("lite", RunEnd::Completed);
        m.run_claimed(ms(2));
        m.fetched(FetchOutcome::RefusedPrivate);
        m.fetch_cache_hit();
        m.extracted(Content::Html, ms(4));
        m.webhook_delivered();
        m.webhook_retry();
        m.store_commit(Backend::Sqlite, ms(1));
        let text = m.render(Format::Prometheus, None);
        let runs = r#"route="/v1/tasks/runs/{run_id}",method="GET""#;
        assert_eq!(
            sample(
                &text,
                &format!("parallax_http_requests_total{{{runs},status=\"404\"}}")
            ),
            Some(2.0),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                &format!("parallax_http_request_duration_seconds_count{{{runs}}}")
            ),
            Some(2.0)
        );
        let sum = sample(
            &text,
            &format!("parallax_http_request_duration_seconds_sum{{{runs}}}"),
        )
        .unwrap();
        assert!((sum - 0.033).abs() < 1e-9, "{sum}");
        // 3 ms is under the 5 ms bucket, 30 ms not.
        assert_eq!(
            sample(
                &text,
                &format!("parallax_http_request_duration_seconds_bucket{{le=\"0.005\",{runs}}}")
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"parallax_http_requests_total{route="unmatched",method="other",status="404"}"#
            ),
            Some(1.0),
            "{text}"
        );
        for (prefix, value) in [
            (
                r#"parallax_runs_finished_total{processor="lite",status="completed"}"#,
                1.0,
            ),
            ("parallax_run_claim_latency_seconds_count", 1.0),
            (r#"parallax_fetches_total{outcome="refused_private"}"#, 1.0),
            ("parallax_fetch_cache_hits_total", 1.0),
            (
                r#"parallax_extraction_duration_seconds_count{content="html"}"#,
                1.0,
            ),
            (
                r#"parallax_webhook_deliveries_total{outcome="delivered"}"#,
                1.0,
            ),
            ("parallax_webhook_retries_total", 1.0),
            (
                r#"parallax_store_commit_duration_seconds_count{backend="sqlite"}"#,
                1.0,
            ),
        ] {
            assert_eq!(sample(&text, prefix), Some(value), "{prefix}:\n{text}");
        }
    }

    #[test]
    fn the_store_counts_replace_the_run_gauges() {
        let m = Metrics::new();
        let count = |processor: &str, state, count| RunCount {
            processor: processor.into(),
            state,
            count,
        };
        let text = m.render(
            Format::Prometheus,
            Some(&[
                count("lite", RunState::Queued, 3),
                count("core", RunState::Queued, 2),
                count("core", RunState::Running, 1),
            ]),
        );
        assert_eq!(sample(&text, "parallax_queue_depth"), Some(5.0), "{text}");
        assert_eq!(
            sample(
                &text,
                r#"parallax_runs_active{processor="core",state="running"}"#
            ),
            Some(1.0)
        );
        // A later scrape with fewer runs drops what is gone, instead of keeping it.
        let text = m.render(
            Format::Prometheus,
            Some(&[count("lite", RunState::Running, 1)]),
        );
        assert_eq!(sample(&text, "parallax_queue_depth"), Some(0.0));
        assert_eq!(
            sample(
                &text,
                r#"parallax_runs_active{processor="core",state="running"}"#
            ),
            None,
            "{text}"
        );
        // An unreadable store keeps the last counts.
        let text = m.render(Format::Prometheus, None);
        assert_eq!(
            sample(
                &text,
                r#"parallax_runs_active{processor="lite",state="running"}"#
            ),
            Some(1.0)
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::new();
        m.http_request(Some("/a\"b\\c\nd"), "GET", 200, ms(1));
        m.run_finished("x\"y", RunEnd::Failed);
        let text = m.render(Format::Prometheus, None);
        assert!(
            text.contains(
                r#"parallax_http_requests_total{route="/a\"b\\c\nd",method="GET",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"parallax_runs_finished_total{processor="x\"y",status="failed"} 1"#),
            "{text}"
        );
        // No raw newline made it into a sample line: every line is a comment or a sample.
        for line in text.lines() {
            assert!(
                line.starts_with("# ") || line.starts_with("parallax_"),
                "{line:?}"
            );
        }
    }

    #[test]
    fn prometheus_text_names_counter_families_with_total() {
        let text = "# HELP parallax_fetches Page fetches.\n# TYPE parallax_fetches counter\n\
                    parallax_fetches_total{outcome=\"ok\"} 2\n\
                    # HELP parallax_queue_depth Queued.\n# TYPE parallax_queue_depth gauge\n\
                    parallax_queue_depth 0\n# EOF\n";
        assert_eq!(
            openmetrics_to_prometheus(text),
            "# HELP parallax_fetches_total Page fetches.\n# TYPE parallax_fetches_total counter\n\
             parallax_fetches_total{outcome=\"ok\"} 2\n\
             # HELP parallax_queue_depth Queued.\n# TYPE parallax_queue_depth gauge\n\
             parallax_queue_depth 0\n"
        );
    }

    #[test]
    fn accept_picks_the_format() {
        assert_eq!(Format::from_accept(None), Format::Prometheus);
        assert_eq!(
            Format::from_accept(Some("text/plain;version=0.0.4;q=0.5,*/*;q=0.1")),
            Format::Prometheus
        );
        assert_eq!(
            Format::from_accept(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
            )),
            Format::OpenMetrics
        );
    }
}

#[cfg(test)]
mod interning {
    #[test]
    fn a_route_is_kept_once() {
        let first = super::interned("/v1/tasks/runs/{run_id}");
        let again = super::interned(&String::from("/v1/tasks/runs/{run_id}"));
        assert!(std::ptr::eq(first, again));
        assert_eq!(first, "/v1/tasks/runs/{run_id}");
    }
}
