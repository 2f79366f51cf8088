//! The HTTP face of Parallax: routes, the API-key extractor, error answers, long-polled
//! results and Server-Sent Events. Handlers are thin: they parse with `parallax-api`,
//! commit or read through the [`Store`], and answer. No SQL lives here.

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::middleware::from_fn;
use axum::routing::{delete, get, post, MethodRouter};
use axum::Router;
use parallax_store::Store;
use std::sync::{Arc, OnceLock};
use tokio::sync::watch;

mod auth;
mod betas;
mod body_deadline;
mod chat;
mod envelope;
mod error;
mod findall;
mod groups;
mod health;
mod input_cache;
mod memory;
mod metrics;
mod miss_cache;
mod monitors;
mod openapi;
mod quotas;
mod runs;
mod sse;
mod ui;
mod wake;
mod web;

pub use auth::{hash_key, KeyRing, Tenant, LOOKUPS_IN_FLIGHT, MISS_CAPACITY, MISS_TTL};
pub use chat::ChatService;
pub use error::HttpError;
pub use input_cache::InputCache;
pub use quotas::{Quotas, LIMITS_TTL};

/// Limits on what clients may send.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// How long a request's body may take to arrive after its headers; slower ones get 408
    /// ([`body_deadline`]).
    pub body_timeout: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 10 * 1024 * 1024,
            body_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// What every handler shares.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub keys: KeyRing,
    /// Per-tenant request rates and active-run quotas (`parallax keys limit`).
    pub quotas: Quotas,
    pub inputs: InputCache,
    pub limits: Limits,
    /// Search and Extract; `None` answers them with 501.
    pub web: Option<parallax_engine::web::WebApi>,
    /// Chat completions' research; `None` answers them (and the models list) with 501.
    pub chat: Option<ChatService>,
    /// FindAll's generation step, for the synchronous entity search; `None` answers it 501.
    pub finder: Option<Arc<dyn parallax_engine::findall::Finder>>,
    /// The monitor clock: monitors' creation times and schedules (shared with the monitor
    /// scheduler).
    pub clock: Arc<dyn parallax_store::clock::Clock>,
    /// Whether `GET /metrics` is served (else it is an unknown route, answered 404).
    pub metrics: bool,
    /// Becomes true when the server shuts down: long-polls and event streams end then, so
    /// graceful shutdown does not wait on them.
    pub shutdown: watch::Receiver<bool>,
}

/// The router being built, with the method and path of every operation registered on it:
/// `/openapi.json` is made from that list ([`openapi`]), so it describes exactly what is
/// served. Register routes only through [`Routes::at`].
struct Routes {
    router: Router<Arc<AppState>>,
    served: Vec<(Method, String)>,
    /// What `GET /openapi.json` answers, set once every route is registered.
    document: Arc<OnceLock<axum::body::Bytes>>,
}

impl Routes {
    /// Serves `method` on `path` with `endpoint` (whose method must be `method`; a test
    /// requests every listed operation and fails on a 405).
    fn at(mut self, method: Method, path: &str, endpoint: MethodRouter<Arc<AppState>>) -> Self {
        self.served.push((method, path.to_owned()));
        self.router = self.router.route(path, endpoint);
        self
    }
}

/// The method (upper case) and path of every operation `router` serves for `state`, in
/// registration order.
pub fn served_operations(state: &AppState) -> Vec<parallax_api::openapi::Operation> {
    operations(routes(state).served)
}

fn operations(served: Vec<(Method, String)>) -> Vec<parallax_api::openapi::Operation> {
    served
        .into_iter()
        .map(|(method, path)| (method.as_str().to_owned(), path))
        .collect()
}

fn routes(state: &AppState) -> Routes {
    use Method as M;
    let beta = || from_fn(betas::check);
    let document: Arc<OnceLock<axum::body::Bytes>> = Arc::default();
    let served_document = document.clone();
    let mut r = Routes {
        router: Router::new(),
        served: Vec::new(),
        document,
    }
    .at(M::GET, "/healthz", get(health::healthz))
    .at(
        M::GET,
        "/openapi.json",
        get(move || openapi::serve(served_document.clone())),
    )
    .at(M::GET, "/ui", get(ui::index))
    .at(M::GET, "/ui/", get(ui::index))
    .at(M::GET, "/ui/app.js", get(ui::script))
    .at(M::GET, "/ui/app.css", get(ui::style))
    .at(M::GET, "/ui/api/runs", get(ui::list_runs));
    if state.metrics {
        r = r.at(M::GET, "/metrics", get(metrics::scrape));
    }
    r = r
        .at(M::POST, "/v1alpha/monitors", post(monitors::alpha_create))
        .at(M::GET, "/v1alpha/monitors", get(monitors::alpha_list))
        .at(
            M::GET,
            "/v1alpha/monitors/{monitor_id}",
            get(monitors::alpha_retrieve),
        )
        .at(
            M::POST,
            "/v1alpha/monitors/{monitor_id}",
            post(monitors::alpha_update),
        )
        .at(
            M::DELETE,
            "/v1alpha/monitors/{monitor_id}",
            delete(monitors::alpha_delete),
        )
        .at(
            M::GET,
            "/v1alpha/monitors/{monitor_id}/events",
            get(monitors::alpha_events),
        )
        .at(
            M::GET,
            "/v1alpha/monitors/{monitor_id}/event_groups/{event_group_id}",
            get(monitors::alpha_event_group),
        )
        .at(
            M::POST,
            "/v1alpha/monitors/{monitor_id}/simulate_event",
            post(monitors::alpha_simulate),
        );
    for prefix in ["/v1", "/v1beta"] {
        let p = |rest: &str| format!("{prefix}{rest}");
        r = r
            .at(M::POST, &p("/monitors"), post(monitors::create))
            .at(M::GET, &p("/monitors"), get(monitors::list))
            .at(
                M::GET,
                &p("/monitors/{monitor_id}"),
                get(monitors::retrieve),
            )
            .at(
                M::POST,
                &p("/monitors/{monitor_id}/update"),
                post(monitors::update),
            )
            .at(
                M::POST,
                &p("/monitors/{monitor_id}/cancel"),
                post(monitors::cancel),
            )
            .at(
                M::GET,
                &p("/monitors/{monitor_id}/events"),
                get(monitors::events),
            )
            .at(
                M::POST,
                &p("/monitors/{monitor_id}/trigger"),
                post(monitors::trigger),
            )
            .at(M::POST, &p("/tasks/runs"), post(runs::create))
            .at(M::GET, &p("/tasks/runs/{run_id}"), get(runs::retrieve))
            .at(M::GET, &p("/tasks/runs/{run_id}/input"), get(runs::input))
            .at(M::GET, &p("/tasks/runs/{run_id}/result"), get(runs::result))
            .at(M::GET, &p("/tasks/runs/{run_id}/events"), get(runs::events))
            .at(
                M::POST,
                &p("/extract"),
                post(web::extract).route_layer(beta()),
            )
            .at(M::POST, &p("/chat/completions"), post(chat::completions))
            .at(M::GET, &p("/models"), get(chat::models))
            .at(M::GET, &p("/models/{model}"), get(chat::model))
            .at(M::POST, &p("/tasks/groups"), post(groups::create))
            .at(
                M::GET,
                &p("/tasks/groups/{taskgroup_id}"),
                get(groups::retrieve),
            )
            .at(
                M::GET,
                &p("/tasks/groups/{taskgroup_id}/runs"),
                get(groups::runs),
            )
            .at(
                M::POST,
                &p("/tasks/groups/{taskgroup_id}/runs"),
                post(groups::add_runs),
            )
            .at(
                M::GET,
                &p("/tasks/groups/{taskgroup_id}/events"),
                get(groups::events),
            )
            .at(
                M::GET,
                &p("/tasks/groups/{taskgroup_id}/runs/{run_id}"),
                get(groups::retrieve_run),
            )
            .at(
                M::POST,
                &p("/findall/runs"),
                post(findall::create).route_layer(beta()),
            )
            .at(
                M::GET,
                &p("/findall/runs/{findall_id}"),
                get(findall::retrieve).route_layer(beta()),
            )
            .at(
                M::GET,
                &p("/findall/runs/{findall_id}/result"),
                get(findall::result).route_layer(beta()),
            )
            .at(
                M::GET,
                &p("/findall/runs/{findall_id}/schema"),
                get(findall::schema).route_layer(beta()),
            )
            .at(
                M::GET,
                &p("/findall/runs/{findall_id}/events"),
                get(findall::events).route_layer(beta()),
            )
            .at(
                M::POST,
                &p("/findall/runs/{findall_id}/cancel"),
                post(findall::cancel).route_layer(beta()),
            )
            .at(
                M::POST,
                &p("/findall/runs/{findall_id}/extend"),
                post(findall::extend).route_layer(beta()),
            )
            .at(
                M::POST,
                &p("/findall/runs/{findall_id}/enrich"),
                post(findall::enrich).route_layer(beta()),
            )
            .at(
                M::POST,
                &p("/memory/retrieve"),
                post(memory::retrieve).route_layer(beta()),
            )
            .at(
                M::POST,
                &p("/memory/evict"),
                post(memory::evict).route_layer(beta()),
            )
            .at(
                M::POST,
                &p("/memory/clear"),
                post(memory::clear).route_layer(beta()),
            )
            .at(
                M::POST,
                &p("/findall/ingest"),
                post(findall::ingest).route_layer(beta()),
            )
            .at(
                M::POST,
                &p("/findall/entity-search"),
                post(findall::entity_search),
            );
    }
    r.at(M::POST, "/v1/search", post(web::search_v1)).at(
        M::POST,
        "/v1beta/search",
        post(web::search_v1beta),
    )
}

/// The routes of a worker node (`parallax serve --role worker`): `/healthz` and, when on,
/// `/metrics`; any other path is answered 404 in the API's error shape.
pub fn worker_router(state: Arc<AppState>) -> Router {
    let mut router = Router::new().route("/healthz", get(health::healthz));
    if state.metrics {
        router = router.route("/metrics", get(metrics::scrape));
    }
    let body_timeout = state.limits.body_timeout;
    router
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            body_timeout,
            envelope::envelope,
        ))
        .with_state(state)
}

/// The API's routes, under every spelling clients use (`/v1/…` and `/v1beta/…`), and
/// `/openapi.json` describing them. Routes whose spec takes a `parallel-beta` header (and
/// the memory routes, on which the SDK's beta resource may send it) refuse unknown values
/// ([`betas`]).
pub fn router(state: Arc<AppState>) -> Router {
    let max_body = state.limits.max_body_bytes;
    let body_timeout = state.limits.body_timeout;
    let Routes {
        router,
        served,
        document,
    } = routes(&state);
    let built = parallax_api::openapi::Document::for_operations(&operations(served));
    let _ = document.set(axum::body::Bytes::from(built.json().to_owned()));
    router
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            body_timeout,
            envelope::envelope,
        ))
        .with_state(state)
}
