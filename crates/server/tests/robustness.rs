//! What must not take the server down, over real HTTP on loopback and on both backends
//! (SQLite in a temporary directory, PostgreSQL on a fresh schema of the test database under
//! the store tests' rules, `test_database`):
//!
//! - a write that panics is answered 500 with a `ref_id`, and the next writes commit;
//! - a writer that is gone makes `/healthz` answer 503 in the API's error shape;
//! - unknown API keys cost one indexed lookup each and no reload of the key table, repeated
//!   misses cost nothing, and a key created beside the running server works at once.
//!
//! Failures are planned through the store's `failpoints` feature, enabled for tests only.

use async_trait::async_trait;
use parallax_api::group::TaskGroup;
use parallax_api::TaskRun;
use parallax_server::{hash_key, AppState, InputCache, KeyRing, Limits, Quotas, LOOKUPS_IN_FLIGHT};
use parallax_store::failpoints::Failpoint;
use parallax_store::limits::TenantLimits;
use parallax_store::postgres::PgStore;
use parallax_store::sqlite::SqliteStore;
use parallax_store::{
    AddedRuns, ClaimedRun, CreateOutcome, Delivery, DeliveryAttempt, EventRecord, GroupEvents,
    GroupRunRecord, GroupRunsQuery, GroupToCreate, Health, KeyHash, Lease, Notice, Page, Result,
    RunOutcome, RunToCreate, RunsToAdd, Store, TenantId,
};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

const KEY: &str = "px_robustness_test_key";

/// A backend under test, with a way to plan its failures.
struct Backend {
    store: Arc<dyn Store>,
    plan: Box<dyn Fn(Failpoint) + Send + Sync>,
}

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

async fn sqlite() -> Backend {
    let dir = std::env::temp_dir().join(format!("parallax-server-test-{}", unique()));
    let store = Arc::new(SqliteStore::open(&dir).unwrap());
    let planner = store.clone();
    Backend {
        store,
        plan: Box::new(move |point| planner.failpoints().plan(point)),
    }
}

/// The store tests' rules for the PostgreSQL test database: a fresh, dated schema; an
/// unreachable database fails the test; skipping filters out the tests named `needs_postgres`.
#[path = "../../store/tests/backends/test_database.rs"]
#[allow(dead_code)]
mod test_database;

async fn postgres() -> Backend {
    let (url, _client) = test_database::connect().await;
    let schema = test_database::fresh_schema();
    let store = Arc::new(
        PgStore::connect_with_schema(&url, &schema)
            .await
            .unwrap_or_else(|e| panic!("connect the PostgreSQL store on schema {schema}: {e}")),
    );
    let planner = store.clone();
    Backend {
        store,
        plan: Box::new(move |point| planner.failpoints().plan(point)),
    }
}

/// The state of a server on `store`, which accepts [`KEY`].
async fn app_state(store: Arc<dyn Store>) -> Arc<AppState> {
    store.ensure_key(hash_key(KEY), "test").await.unwrap();
    let keys = KeyRing::load(&*store).await.unwrap();
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    // The sender lives as long as the test process: the server never shuts down.
    std::mem::forget(_stop);
    let quotas = Quotas::load(&*store).await.unwrap();
    Arc::new(AppState {
        store,
        keys,
        quotas,
        inputs: InputCache::new(1 << 20),
        limits: Limits::default(),
        web: None,
        chat: None,
        finder: None,
        clock: Arc::new(parallax_store::clock::SystemClock::new()),
        metrics: true,
        shutdown,
    })
}

/// A server on a free loopback port; returns its base URL.
async fn serve(store: Arc<dyn Store>) -> String {
    serve_state(app_state(store).await).await
}

async fn serve_state(state: Arc<AppState>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, parallax_server::router(state))
            .await
            .unwrap()
    });
    base
}

async fn create_run(http: &reqwest::Client, base: &str) -> (u16, Value) {
    let response = http
        .post(format!("{base}/v1/tasks/runs"))
        .header("x-api-key", KEY)
        .json(&serde_json::json!({"processor": "lite", "input": "What is the tallest tower?"}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn healthz(http: &reqwest::Client, base: &str) -> (u16, String) {
    let response = http.get(format!("{base}/healthz")).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The error shape every non-2xx answer has; returns the message.
fn error_message(body: &Value) -> String {
    assert_eq!(body["type"], "error", "{body}");
    let ref_id = body["error"]["ref_id"].as_str().unwrap_or_default();
    assert_eq!(ref_id.len(), 36, "a UUID ref_id: {body}");
    body["error"]["message"].as_str().unwrap().to_owned()
}

async fn a_panicking_write_is_a_500_and_the_next_commits(backend: Backend) {
    let base = serve(backend.store.clone()).await;
    let http = reqwest::Client::new();
    assert_eq!(healthz(&http, &base).await, (200, "ok".to_string()));

    (backend.plan)(Failpoint::WritePanics);
    let (status, body) = create_run(&http, &base).await;
    assert_eq!(status, 500, "{body}");
    assert!(error_message(&body).contains("ref_id"), "{body}");

    let (status, body) = create_run(&http, &base).await;
    assert!(
        status == 200 || status == 201 || status == 202,
        "{status} {body}"
    );
    let run_id = body["run_id"].as_str().unwrap();
    let got = http
        .get(format!("{base}/v1/tasks/runs/{run_id}"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status().as_u16(), 200);
    assert_eq!(healthz(&http, &base).await, (200, "ok".to_string()));
}

async fn a_stopped_writer_makes_healthz_503(backend: Backend) {
    let base = serve(backend.store.clone()).await;
    let http = reqwest::Client::new();
    (backend.plan)(Failpoint::WriterStops);
    let (status, body) = create_run(&http, &base).await;
    assert_eq!(status, 503, "{body}");
    assert!(error_message(&body).contains("restart"), "{body}");

    // The writer's end is seen a moment after the write it held was answered.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let (status, text) = loop {
        let (status, text) = healthz(&http, &base).await;
        if status != 200 || tokio::time::Instant::now() > deadline {
            break (status, text);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status, 503, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let message = error_message(&body);
    assert!(message.contains("writer"), "{message}");
    assert!(body["error"]["detail"]["down"][0].is_string(), "{body}");

    // Later writes are refused at once, not left hanging.
    let (status, _) = tokio::time::timeout(Duration::from_secs(5), create_run(&http, &base))
        .await
        .expect("no hang");
    assert_eq!(status, 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_panicking_write_is_a_500_and_the_next_commits() {
    a_panicking_write_is_a_500_and_the_next_commits(sqlite().await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_a_panicking_write_is_a_500_and_the_next_commits() {
    a_panicking_write_is_a_500_and_the_next_commits(postgres().await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_stopped_writer_makes_healthz_503() {
    a_stopped_writer_makes_healthz_503(sqlite().await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_a_stopped_writer_makes_healthz_503() {
    a_stopped_writer_makes_healthz_503(postgres().await).await
}

async fn unknown_keys_cost_a_lookup_each_and_no_reload(backend: Backend) {
    let store = Arc::new(Counting::new(backend.store));
    let ring = KeyRing::load(&*store).await.unwrap();
    assert_eq!(
        store.reloads(),
        1,
        "the ring loads every key once, at start"
    );

    // A stream of wrong keys, one after the other: each is looked up alone.
    let random = |n: usize| format!("px_wrong_{n}_{}", unique());
    let wrong: Vec<String> = (0..200).map(random).collect();
    for key in &wrong {
        assert_eq!(ring.authenticate(key, &*store).await.unwrap(), None);
    }
    assert_eq!(store.reloads(), 1, "no miss reloads the key table");
    assert_eq!(store.lookups(), 200, "one indexed lookup per unknown key");

    // The same keys again, within the negative cache's lifetime: no lookup at all.
    for key in &wrong {
        assert_eq!(ring.authenticate(key, &*store).await.unwrap(), None);
    }
    assert_eq!(
        store.lookups(),
        200,
        "repeated misses are answered from the cache"
    );

    // One wrong key hammered concurrently: at most one lookup per lookup slot.
    let hammered = random(999);
    let attempts = (0..500).map(|_| ring.authenticate(&hammered, &*store));
    for outcome in futures::future::join_all(attempts).await {
        assert_eq!(outcome.unwrap(), None);
    }
    let hammer_lookups = store.lookups() - 200;
    assert!(
        (1..=LOOKUPS_IN_FLIGHT).contains(&hammer_lookups),
        "500 concurrent tries of one key cost {hammer_lookups} lookups"
    );

    // A key created beside the running server (as `parallax keys create` does) works on its
    // first request, and is known from then on.
    let new_key = format!("px_new_{}", unique());
    let tenant = store
        .create_tenant_with_key(hash_key(&new_key), "cli")
        .await
        .unwrap();
    let before = store.lookups();
    assert_eq!(
        ring.authenticate(&new_key, &*store).await.unwrap(),
        Some(tenant.clone())
    );
    assert_eq!(
        ring.authenticate(&new_key, &*store).await.unwrap(),
        Some(tenant)
    );
    assert_eq!(store.lookups() - before, 1, "a found key is remembered");
    assert_eq!(store.reloads(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_unknown_keys_cost_a_lookup_each_and_no_reload() {
    unknown_keys_cost_a_lookup_each_and_no_reload(sqlite().await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_unknown_keys_cost_a_lookup_each_and_no_reload() {
    unknown_keys_cost_a_lookup_each_and_no_reload(postgres().await).await
}

/// A store that counts full key reloads (`api_keys`) and single-key lookups.
struct Counting {
    inner: Arc<dyn Store>,
    reloads: AtomicUsize,
    lookups: AtomicUsize,
}

impl Counting {
    fn new(inner: Arc<dyn Store>) -> Self {
        Counting {
            inner,
            reloads: AtomicUsize::new(0),
            lookups: AtomicUsize::new(0),
        }
    }
    fn reloads(&self) -> usize {
        self.reloads.load(Ordering::SeqCst)
    }
    fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }
}

/// Counts key reloads and lookups; hands every call to the wrapped store.
#[async_trait]
impl Store for Counting {
    async fn api_keys(&self) -> Result<Vec<(KeyHash, TenantId)>> {
        self.reloads.fetch_add(1, Ordering::SeqCst);
        self.inner.api_keys().await
    }
    async fn api_key_tenant(&self, key_hash: KeyHash) -> Result<Option<TenantId>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.api_key_tenant(key_hash).await
    }
    async fn create_tenant_with_key(&self, key_hash: KeyHash, label: &str) -> Result<TenantId> {
        self.inner.create_tenant_with_key(key_hash, label).await
    }
    async fn ensure_key(&self, key_hash: KeyHash, label: &str) -> Result<TenantId> {
        self.inner.ensure_key(key_hash, label).await
    }
    async fn tenant_limits(&self) -> Result<Vec<(TenantId, TenantLimits)>> {
        self.inner.tenant_limits().await
    }
    async fn set_tenant_limits(&self, tenant: &str, limits: TenantLimits) -> Result<bool> {
        self.inner.set_tenant_limits(tenant, limits).await
    }
    async fn tenant_active_runs(&self, tenant: &str) -> Result<u64> {
        self.inner.tenant_active_runs(tenant).await
    }
    async fn create_run(&self, tenant: &str, run: RunToCreate) -> Result<CreateOutcome> {
        self.inner.create_run(tenant, run).await
    }
    async fn active_runs(&self) -> Result<Vec<parallax_store::ActiveRuns>> {
        self.inner.active_runs().await
    }
    async fn get_run(&self, tenant: &str, run_id: &str) -> Result<Option<TaskRun>> {
        self.inner.get_run(tenant, run_id).await
    }
    async fn list_runs(
        &self,
        tenant: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TaskRun>> {
        self.inner.list_runs(tenant, before, limit).await
    }
    async fn get_input(&self, tenant: &str, run_id: &str) -> Result<Option<String>> {
        self.inner.get_input(tenant, run_id).await
    }
    async fn get_result(
        &self,
        tenant: &str,
        run_id: &str,
    ) -> Result<Option<(TaskRun, Option<String>)>> {
        self.inner.get_result(tenant, run_id).await
    }
    async fn events_after(&self, tenant: &str, page: Page<'_>) -> Result<Vec<EventRecord>> {
        self.inner.events_after(tenant, page).await
    }
    async fn claim_runs(&self, lease: Lease<'_>, limit: usize) -> Result<Vec<ClaimedRun>> {
        self.inner.claim_runs(lease, limit).await
    }
    async fn heartbeat(&self, lease: Lease<'_>, run_ids: &[String]) -> Result<Vec<String>> {
        self.inner.heartbeat(lease, run_ids).await
    }
    async fn append_event(&self, worker: &str, run_id: &str, data: &str) -> Result<Option<i64>> {
        self.inner.append_event(worker, run_id, data).await
    }
    async fn finish_run(&self, worker: &str, run_id: &str, outcome: RunOutcome) -> Result<bool> {
        self.inner.finish_run(worker, run_id, outcome).await
    }
    async fn release_runs(&self, worker: &str, run_ids: &[String]) -> Result<usize> {
        self.inner.release_runs(worker, run_ids).await
    }
    async fn requeue_expired(&self) -> Result<usize> {
        self.inner.requeue_expired().await
    }
    async fn webhook_secret(&self, tenant: &str) -> Result<String> {
        self.inner.webhook_secret(tenant).await
    }
    async fn claim_deliveries(&self, lease: Lease<'_>, limit: usize) -> Result<Vec<Delivery>> {
        self.inner.claim_deliveries(lease, limit).await
    }
    async fn delivery_attempted(&self, worker: &str, attempt: DeliveryAttempt) -> Result<()> {
        self.inner.delivery_attempted(worker, attempt).await
    }
    async fn create_group(&self, tenant: &str, group: GroupToCreate) -> Result<TaskGroup> {
        self.inner.create_group(tenant, group).await
    }
    async fn get_group(&self, tenant: &str, taskgroup_id: &str) -> Result<Option<TaskGroup>> {
        self.inner.get_group(tenant, taskgroup_id).await
    }
    async fn add_group_runs(&self, tenant: &str, add: RunsToAdd) -> Result<Option<AddedRuns>> {
        self.inner.add_group_runs(tenant, add).await
    }
    async fn group_events_after(
        &self,
        tenant: &str,
        page: Page<'_>,
    ) -> Result<Option<GroupEvents>> {
        self.inner.group_events_after(tenant, page).await
    }
    async fn group_runs_after(
        &self,
        tenant: &str,
        query: GroupRunsQuery,
    ) -> Result<Option<Vec<GroupRunRecord>>> {
        self.inner.group_runs_after(tenant, query).await
    }
    async fn findall(
        &self,
        op: parallax_store::findall::FindAllOp,
    ) -> Result<parallax_store::findall::FindAllReply> {
        self.inner.findall(op).await
    }

    async fn memory(
        &self,
        op: parallax_store::memory::MemoryOp,
    ) -> Result<parallax_store::memory::MemoryReply> {
        self.inner.memory(op).await
    }

    async fn monitor(
        &self,
        op: parallax_store::monitor::MonitorOp,
    ) -> Result<parallax_store::monitor::MonitorReply> {
        self.inner.monitor(op).await
    }
    fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.inner.subscribe()
    }
    fn health(&self) -> Health {
        self.inner.health()
    }
}

/// `/openapi.json` describes exactly the operations the router serves: every registered
/// operation has a description, the document lists no other, and each one listed answers
/// (with some status, never the router's "no route" 404 or a 405).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_json_describes_exactly_the_served_operations() {
    let state = app_state(sqlite().await.store).await;
    let served = parallax_server::served_operations(&state);
    let document = parallax_api::openapi::Document::for_operations(&served);
    assert!(
        document.undocumented().is_empty(),
        "served but described nowhere: {:?}",
        document.undocumented()
    );
    let base = serve_state(state).await;
    let http = reqwest::Client::new();
    let answer = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "no key is needed");
    let doc: Value = answer.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut listed = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "delete", "put", "patch"] {
            if item.get(method).is_some() {
                listed.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    let mut expected = served.clone();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);
    for (method, path) in &listed {
        let concrete = path
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let request = http
            .request(method.parse().unwrap(), format!("{base}{concrete}"))
            .header("x-api-key", KEY)
            .timeout(std::time::Duration::from_secs(10));
        let request = if method == "POST" {
            request.json(&serde_json::json!({}))
        } else {
            request
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        assert_ne!(status, 405, "{method} {path}: {body}");
        assert!(
            !body.contains("no route for"),
            "{method} {path} is listed but not routed: {body}"
        );
    }
}
