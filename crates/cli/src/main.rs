//! `parallax`: the server and its operator commands.
//!
//! - `parallax serve`: the API on its embedded defaults (SQLite in `./parallax-data`), or on
//!   PostgreSQL with `--database-url`;
//! - `parallax run "question"`: ask a server (`--server`) or an embedded one, watch the run's
//!   progress and print its answer with citations ([`run`]);
//! - `parallax keys create|list`: API keys, each its own tenant;
//! - `parallax migrate`: bring the database schema up to date and exit;
//! - `parallax index add`: add files, folders, sitemaps or URLs to the local search index
//!   (under the data directory; stop the server first).
//!
//! Every flag can also be set in the environment (`PARALLAX_*`) or in `parallax.toml`
//! ([`config_file`]); a flag wins over the environment, which wins over the file.

use anyhow::Context;
use clap::{Args, CommandFactory, Parser, Subcommand};
use parallax_engine::pipeline::Providers;
use parallax_engine::web::WebApi;
use parallax_engine::Processor;
use parallax_scheduler::monitor::{MonitorLoopConfig, MonitorScheduler, ResearchExecutor};
use parallax_scheduler::webhooks::{Deliverer, WebhookConfig};
use parallax_scheduler::Scheduler;
use parallax_server::{hash_key, AppState, ChatService, InputCache, KeyRing, Limits, Quotas};
use parallax_store::limits::TenantLimits;
use parallax_store::{sqlite::SqliteStore, Store};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

mod bounds;
mod config_file;
mod pg_pages;
mod research;
mod run;

#[derive(Parser)]
#[command(
    name = "parallax",
    version,
    about = "A self-hosted server for the Parallel web-research API"
)]
struct Cli {
    /// How log lines are written to stderr: `text` to be read by people, or `json` for a log
    /// collector, one JSON object a line (timestamp, level, target and fields).
    #[arg(long, global = true, env = "PARALLAX_LOG_FORMAT", value_enum,
          default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The values of `--role`: what a `serve` node does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum NodeRole {
    /// Serves the API and executes runs (one node, or every node alike).
    All,
    /// Serves the API; executes nothing (task runs, FindAll, monitors and webhook
    /// deliveries are left to worker nodes on the same database).
    Api,
    /// Executes runs, FindAll, monitors and webhook deliveries; serves only `/healthz` and
    /// `/metrics`.
    Worker,
}

impl NodeRole {
    fn serves_api(self) -> bool {
        self != NodeRole::Worker
    }

    fn executes(self) -> bool {
        self != NodeRole::Api
    }
}

/// The values of `--log-format`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve(Box<ServeArgs>),
    /// Ask a question: run it on a server (or an embedded one), show its progress, print the
    /// answer with its citations.
    Run(Box<run::RunArgs>),
    /// Apply database migrations and exit.
    Migrate(StoreArgs),
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage the local search index.
    Index {
        #[command(subcommand)]
        command: IndexCommand,
    },
}

#[derive(Subcommand)]
enum IndexCommand {
    /// Add files, folders, sitemaps or URLs to the local index (stop the server first), or,
    /// with --database-url, to PostgreSQL's shared index (servers may keep running).
    Add {
        /// Directory whose `index` folder holds the local index (ignored with
        /// --database-url).
        #[arg(long, env = "PARALLAX_DATA_DIR", default_value = "./parallax-data")]
        data_dir: PathBuf,
        /// PostgreSQL URL: add the pages to the index every node on that database shares.
        #[arg(long, env = "PARALLAX_DATABASE_URL")]
        database_url: Option<String>,
        #[command(flatten)]
        args: research::IndexAddArgs,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key for a new tenant and print it (only its hash is stored).
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// A name to remember the key by.
        #[arg(long, default_value = "cli")]
        label: String,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// List each key's tenant, the first bytes of the key's hash, the tenant's webhook
    /// signing secret (`whsec_…`) and its limits.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set a tenant's limits (a flag left out keeps its limit). Running servers apply them
    /// within 10 seconds.
    Limit {
        #[command(flatten)]
        store: StoreArgs,
        /// The tenant, as `parallax keys list` prints it.
        tenant: String,
        #[command(flatten)]
        limits: LimitArgs,
    },
}

/// A tenant's limits, as `keys create` and `keys limit` take them.
#[derive(Args, Clone, Copy)]
struct LimitArgs {
    /// Requests a minute the tenant's keys may make, on each server (`none`, or 0 to
    /// 1000000; 0 suspends the tenant); more are answered 429 with Retry-After.
    #[arg(long, value_parser = bounds::limit(1_000_000, "requests"), allow_hyphen_values = true)]
    requests_per_minute: Option<bounds::Limit>,
    /// Task runs the tenant may have queued or running at once, over all servers (`none`,
    /// or 0 to 1000000); creates past it are answered 429 with Retry-After.
    #[arg(long, value_parser = bounds::limit(1_000_000, "runs"), allow_hyphen_values = true)]
    max_active_runs: Option<bounds::Limit>,
}

impl LimitArgs {
    /// `current` with the limits given here.
    fn applied_to(self, current: TenantLimits) -> TenantLimits {
        TenantLimits {
            requests_per_minute: self
                .requests_per_minute
                .map_or(current.requests_per_minute, bounds::Limit::value),
            max_active_runs: self
                .max_active_runs
                .map_or(current.max_active_runs, bounds::Limit::value),
        }
    }
}

/// How `keys` prints a tenant's limits.
fn describe_limits(limits: &TenantLimits) -> String {
    let show = |n: Option<u32>| n.map_or("none".to_string(), |n| n.to_string());
    format!(
        "requests_per_minute={} max_active_runs={}",
        show(limits.requests_per_minute),
        show(limits.max_active_runs)
    )
}

#[derive(Args, Clone)]
struct StoreArgs {
    /// Directory of the embedded SQLite database (ignored with --database-url).
    #[arg(long, env = "PARALLAX_DATA_DIR", default_value = "./parallax-data")]
    data_dir: PathBuf,
    /// PostgreSQL URL (postgres://user@host:port/db) to share runs between several nodes.
    #[arg(long, env = "PARALLAX_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// What this node does: `all` (serve the API and execute runs), `api` (serve the API,
    /// execute nothing) or `worker` (execute task runs, FindAll, monitors and webhooks;
    /// serve only /healthz and /metrics). `api` and `worker` need --database-url: they are
    /// halves of one deployment sharing a PostgreSQL database.
    #[arg(long, env = "PARALLAX_ROLE", value_enum, default_value_t = NodeRole::All)]
    role: NodeRole,
    /// Address to listen on; port 0 picks a free port (the chosen one is printed).
    #[arg(long, env = "PARALLAX_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// An API key to accept, each its own tenant; repeat the flag, or comma-separate in
    /// PARALLAX_API_KEYS. With none configured, the first start creates and prints one.
    #[arg(
        long = "api-key",
        env = "PARALLAX_API_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    api_keys: Vec<String>,
    /// Largest request body accepted, in bytes (1 to 1 GiB); larger ones are answered 413.
    #[arg(long, env = "PARALLAX_MAX_BODY_BYTES", default_value_t = 10 * 1024 * 1024,
          value_parser = bounds::whole::<usize>(1, 1 << 30, "bytes"), allow_hyphen_values = true)]
    max_body_bytes: usize,
    /// Seconds a request's body may take to arrive after its headers (0.1 to 3600); slower
    /// clients are answered 408 and disconnected, so they cannot hold connections open.
    #[arg(long, env = "PARALLAX_BODY_TIMEOUT_SECONDS", default_value_t = 30.0,
          value_parser = bounds::seconds(0.1, 3600.0), allow_hyphen_values = true)]
    body_timeout_seconds: f64,
    /// Most runs this process executes at once (1 to 4096).
    #[arg(long, env = "PARALLAX_CONCURRENCY", default_value_t = 16,
          value_parser = bounds::whole::<usize>(1, 4096, "runs"), allow_hyphen_values = true)]
    concurrency: usize,
    /// Most FindAll runs this process works on at once (1 to 256), in slots of their own:
    /// long FindAll runs never take the slots of task runs.
    #[arg(long, env = "PARALLAX_FINDALL_CONCURRENCY", default_value_t = 4,
          value_parser = bounds::whole::<usize>(1, 256, "runs"), allow_hyphen_values = true)]
    findall_concurrency: usize,
    /// Most monitor executions this process runs at once (1 to 256), in slots of their own.
    #[arg(long, env = "PARALLAX_MONITOR_CONCURRENCY", default_value_t = 4,
          value_parser = bounds::whole::<usize>(1, 256, "executions"), allow_hyphen_values = true)]
    monitor_concurrency: usize,
    /// Most chat completions researched at once (1 to 256); further requests wait their turn.
    #[arg(long, env = "PARALLAX_CHAT_CONCURRENCY", default_value_t = 4,
          value_parser = bounds::whole::<usize>(1, 256, "completions"), allow_hyphen_values = true)]
    chat_concurrency: usize,
    /// Moves the monitor clock this many seconds ahead (0 to 31536000): monitors are
    /// created and fall due as if it were that much later. For drills and tests (a restart
    /// "a day later"); leave it at 0 in production.
    #[arg(long, env = "PARALLAX_MONITOR_CLOCK_OFFSET_SECONDS", default_value_t = 0,
          value_parser = bounds::whole::<u64>(0, 31_536_000, "seconds"), allow_hyphen_values = true)]
    monitor_clock_offset_seconds: u64,
    /// Seconds a claimed run stays ours without a heartbeat (1 to 86400); after a crash,
    /// other nodes queue our runs again after this long.
    #[arg(long, env = "PARALLAX_LEASE_SECONDS", default_value_t = 30,
          value_parser = bounds::whole::<u64>(1, 86_400, "seconds"), allow_hyphen_values = true)]
    lease_seconds: u64,
    /// Cap on any run's time in seconds (0.1 to 604800, a week), below each processor's own
    /// limit.
    #[arg(long, env = "PARALLAX_MAX_RUN_SECONDS",
          value_parser = bounds::seconds(0.1, 604_800.0), allow_hyphen_values = true)]
    max_run_seconds: Option<f64>,
    /// Memory for cached run inputs, in MiB (0, no cache, to 65536; inputs never change, so
    /// the cache is never stale).
    #[arg(long, env = "PARALLAX_INPUT_CACHE_MIB", default_value_t = 64,
          value_parser = bounds::whole::<usize>(0, 65_536, "MiB"), allow_hyphen_values = true)]
    input_cache_mib: usize,
    /// Seconds before a failed webhook delivery is first retried (0.01 to 3600); each retry
    /// waits twice as long as the one before (at most an hour), for 24 hours.
    #[arg(long, env = "PARALLAX_WEBHOOK_RETRY_SECONDS", default_value_t = 5.0,
          value_parser = bounds::seconds(0.01, 3600.0), allow_hyphen_values = true)]
    webhook_retry_seconds: f64,
    /// Serve Prometheus metrics at GET /metrics, without an API key (aggregate numbers, no
    /// tenant, key, URL or run id); `--metrics=false` turns the route off (404).
    #[arg(long, env = "PARALLAX_METRICS", default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    metrics: bool,
    #[command(flatten)]
    research: research::ResearchArgs,
    /// Execute runs with the scripted test processor (test builds only).
    #[cfg(feature = "scripted")]
    #[arg(long)]
    scripted_processor: bool,
}

/// Caps glibc's malloc arenas at two, unless the operator set `MALLOC_ARENA_MAX`. glibc
/// gives each thread that allocates under contention an arena of its own (up to eight per
/// core) and returns little of them: a FindAll run of 1,000 candidates, reading pages on many
/// threads at once, peaked at 175 MB this way against 70 MB with two arenas, and ran faster
/// with two (bench/findall/scale.py, README "Benchmarks").
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn cap_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; called before any other thread.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn cap_malloc_arenas() {}

fn main() -> anyhow::Result<()> {
    cap_malloc_arenas();
    // Before any thread exists: it may set environment variables.
    let from_file = config_file::apply()?;
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        // A bad value may come from the environment or the file, while clap names the flag.
        let source = config_file::source_of_bad_value(&e, &Cli::command(), &from_file);
        let _ = e.print();
        if let Some(source) = source {
            eprintln!("parallax: that value came from {source}");
        }
        std::process::exit(e.exit_code())
    });
    let code = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?
        .block_on(run(cli))?;
    // After the runtime is gone, so everything it ran has been dropped.
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}

/// Sends log lines to stderr in `format`, at the level `RUST_LOG` asks (`default_level`
/// when it is unset).
fn init_logging(format: LogFormat, default_level: &str) {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs.json().with_ansi(false).init(),
    }
}

/// Runs the command; returns the process's exit status.
async fn run(cli: Cli) -> anyhow::Result<i32> {
    // `run` talks to its user on stderr: its embedded server logs only what goes wrong.
    let default_level = match cli.command {
        Command::Run(_) => "warn",
        _ => "info",
    };
    init_logging(cli.log_format, default_level);
    match cli.command {
        Command::Serve(args) => serve(*args).await?,
        Command::Run(args) => return Ok(run::run(*args).await),
        Command::Migrate(args) => {
            open_store(&args, Role::Admin).await?;
            println!("parallax: the database schema is up to date");
        }
        Command::Keys { command } => keys(command).await?,
        Command::Index {
            command:
                IndexCommand::Add {
                    data_dir,
                    database_url,
                    args,
                },
        } => {
            let pages = match &database_url {
                Some(url) => Some(connect_postgres(url).await?.pages()),
                None => None,
            };
            research::index_add(args, &data_dir, pages).await?
        }
    }
    Ok(0)
}

/// Whether the store is opened to serve (and run the scheduler) or for an operator command
/// that may run beside a live server.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Serve,
    Admin,
}

async fn connect_postgres(url: &str) -> anyhow::Result<parallax_store::postgres::PgStore> {
    parallax_store::postgres::PgStore::connect(url)
        .await
        .context("could not open the PostgreSQL database given by --database-url")
}

async fn open_store(args: &StoreArgs, role: Role) -> anyhow::Result<Arc<dyn Store>> {
    Ok(open_store_and_pages(args, role).await?.0)
}

/// The store, and with PostgreSQL its index of pages (sharing its pool).
async fn open_store_and_pages(
    args: &StoreArgs,
    role: Role,
) -> anyhow::Result<(Arc<dyn Store>, Option<parallax_store::pages::PgPages>)> {
    match &args.database_url {
        Some(url) => {
            let store = connect_postgres(url).await?;
            let pages = store.pages();
            Ok((Arc::new(store), Some(pages)))
        }
        None => {
            let opened = match role {
                Role::Serve => SqliteStore::open(&args.data_dir),
                Role::Admin => SqliteStore::open_beside_server(&args.data_dir),
            };
            let store = opened.with_context(|| {
                format!(
                    "could not open the SQLite database in {}",
                    args.data_dir.display()
                )
            })?;
            Ok((Arc::new(store), None))
        }
    }
}

fn new_api_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("px_{}", hex::encode(bytes))
}

async fn keys(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create {
            store,
            label,
            limits,
        } => {
            let store = open_store(&store, Role::Admin).await?;
            let key = new_api_key();
            let tenant = store.create_tenant_with_key(hash_key(&key), &label).await?;
            let secret = store.webhook_secret(&tenant).await?;
            let limits = limits.applied_to(TenantLimits::default());
            if limits.is_limited() {
                store.set_tenant_limits(&tenant, limits).await?;
            }
            println!("{key}");
            eprintln!("parallax: created a key for new tenant {tenant}; it is shown only now");
            eprintln!("parallax: the tenant's webhook signing secret is {secret}");
            eprintln!("parallax: its limits: {}", describe_limits(&limits));
        }
        KeysCommand::List { store } => {
            let store = open_store(&store, Role::Admin).await?;
            let limits: std::collections::HashMap<_, _> =
                store.tenant_limits().await?.into_iter().collect();
            for (hash, tenant) in store.api_keys().await? {
                let secret = store.webhook_secret(&tenant).await?;
                let limited = limits.get(&tenant).copied().unwrap_or_default();
                println!(
                    "{tenant}\tsha256:{}…\t{secret}\t{}",
                    hex::encode(&hash[..6]),
                    describe_limits(&limited)
                );
            }
        }
        KeysCommand::Limit {
            store,
            tenant,
            limits,
        } => {
            let store = open_store(&store, Role::Admin).await?;
            let current = store
                .tenant_limits()
                .await?
                .into_iter()
                .find(|(t, _)| *t == tenant)
                .map(|(_, l)| l)
                .unwrap_or_default();
            let limits = limits.applied_to(current);
            if !store.set_tenant_limits(&tenant, limits).await? {
                anyhow::bail!(
                    "there is no tenant {tenant:?}; `parallax keys list` prints each key's tenant"
                );
            }
            println!(
                "parallax: tenant {tenant}: {} (running servers apply this within {} s)",
                describe_limits(&limits),
                parallax_server::LIMITS_TTL.as_secs()
            );
        }
    }
    Ok(())
}

fn processor(args: &ServeArgs, providers: &Providers) -> Arc<dyn Processor> {
    #[cfg(feature = "scripted")]
    if args.scripted_processor {
        tracing::warn!(
            "running the scripted test processor: runs echo their input, nothing is researched"
        );
        return Arc::new(parallax_engine::scripted::ScriptedProcessor);
    }
    tracing::info!(
        search = ?args.research.search,
        llm = providers.llm.is_some(),
        allow_private_fetch = args.research.fetch.allow_private_fetch,
        "research pipeline ready"
    );
    Arc::new(parallax_engine::pipeline::ResearchProcessor::new(
        providers.clone(),
    ))
}

/// What re-executes snapshot monitors' task runs: the research pipeline reading every page
/// fresh (a monitor exists to see changes), or the scripted processor when runs use it.
fn snapshot_processor(
    args: &ServeArgs,
    providers: &Providers,
    processor: &Arc<dyn Processor>,
) -> Arc<dyn Processor> {
    #[cfg(feature = "scripted")]
    if args.scripted_processor {
        return processor.clone();
    }
    let _ = (args, processor);
    Arc::new(parallax_engine::monitor::fresh_processor(providers.clone()))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut server = start(&args).await?;
    println!("parallax listening on http://{}", server.addr);
    tokio::select! {
        _ = shutdown_signal() => server.shutdown().await,
        // The server stopped by itself (it failed): report why.
        stopped = &mut server.stopped => stopped.context("the server task failed")?,
    }
}

/// A server that [`start`] started: where it listens, and how to stop it.
struct Running {
    /// The address it listens on (the chosen port when the configured one was 0).
    addr: SocketAddr,
    /// Sending (or dropping) this starts the graceful shutdown.
    stop: tokio::sync::oneshot::Sender<()>,
    /// Ends when requests in flight are answered and every scheduler has stopped.
    stopped: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops taking requests, finishes those in flight, stops the schedulers (runs in
    /// progress are queued again), and returns once everything has stopped.
    async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.stopped.await.context("the server task failed")?
    }
}

/// Opens the store, builds the schedulers and the API on `args`, and serves on
/// `args.listen`: everything `serve` runs, for `serve` and for `run`'s embedded server.
/// `--role` chooses the half a node runs: `api` starts no scheduler, `worker` serves only
/// `/healthz` and `/metrics`.
async fn start(args: &ServeArgs) -> anyhow::Result<Running> {
    let role = args.role;
    if role != NodeRole::All && args.store.database_url.is_none() {
        anyhow::bail!(
            "--role {} needs --database-url: with SQLite one process serves the API and runs              the work (--role all); api and worker nodes share a PostgreSQL database",
            if role == NodeRole::Api { "api" } else { "worker" }
        );
    }
    let (store, pages) = open_store_and_pages(&args.store, Role::Serve).await?;
    for key in args
        .api_keys
        .iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
    {
        store.ensure_key(hash_key(key), "configured").await?;
    }
    // A worker takes no requests: it needs no key of its own.
    if role.serves_api() && args.api_keys.is_empty() && store.api_keys().await?.is_empty() {
        let key = new_api_key();
        store
            .create_tenant_with_key(hash_key(&key), "first start")
            .await?;
        println!("parallax: created API key {key}");
        // A log line (not a bare stderr line), so JSON logs stay JSON.
        tracing::warn!("keep this key; only its hash is stored and it will not be shown again");
    }
    let keys = KeyRing::load(&*store).await?;
    let quotas = Quotas::load(&*store).await?;

    let providers = research::providers(&args.research, &args.store.data_dir, pages)?;
    // Probes the web providers in the background; the server does not wait for it.
    let _probe = research::announce_providers(&providers).await;
    // One processor for task runs and FindAll's enrichments alike.
    let processor = processor(args, &providers);
    let finder: Arc<dyn parallax_engine::findall::Finder> = Arc::new(
        parallax_engine::findall::FindAllPipeline::new(providers.clone()),
    );
    let monitor_clock: Arc<dyn parallax_store::clock::Clock> = Arc::new(
        parallax_store::clock::SystemClock::shifted(args.monitor_clock_offset_seconds as i64),
    );
    let workers = if role.executes() {
        Some(start_workers(
            args,
            &store,
            &providers,
            &processor,
            &finder,
            &monitor_clock,
        )?)
    } else {
        tracing::info!("role api: runs, FindAll, monitors and webhooks are left to worker nodes");
        None
    };

    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let state = Arc::new(AppState {
        store,
        keys,
        quotas,
        inputs: InputCache::new(args.input_cache_mib.saturating_mul(1024 * 1024)),
        limits: Limits {
            max_body_bytes: args.max_body_bytes,
            body_timeout: Duration::from_secs_f64(args.body_timeout_seconds),
        },
        web: Some(WebApi::new(providers)),
        chat: Some(ChatService::new(
            processor.clone(),
            args.chat_concurrency,
            args.max_run_seconds.map(Duration::from_secs_f64),
        )),
        finder: Some(finder),
        clock: monitor_clock,
        metrics: args.metrics,
        shutdown,
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| {
            format!(
                "could not listen on {}; is another server using it?",
                args.listen
            )
        })?;
    let addr = listener.local_addr()?;
    let router = if role.serves_api() {
        parallax_server::router(state)
    } else {
        tracing::info!("role worker: serving only /healthz and /metrics");
        parallax_server::worker_router(state)
    };

    let (stop_serving, stop_requested) = tokio::sync::oneshot::channel::<()>();
    let stopped = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop_requested.await;
                tracing::info!("shutting down: finishing requests in flight");
                let _ = stop.send(true);
            })
            .await?;
        if let Some(workers) = workers {
            workers.shutdown().await;
        }
        tracing::info!("stopped");
        Ok(())
    });
    Ok(Running {
        addr,
        stop: stop_serving,
        stopped,
    })
}

/// What executes work on a node: the task-run, FindAll and monitor schedulers and the
/// webhook deliverer.
struct Workers {
    scheduler: Scheduler,
    findall: parallax_scheduler::findall::FindAllScheduler,
    monitors: MonitorScheduler,
    deliverer: Deliverer,
}

impl Workers {
    /// Stops them all (runs in progress are queued again).
    async fn shutdown(self) {
        self.scheduler.shutdown().await;
        self.findall.shutdown().await;
        self.monitors.shutdown().await;
        self.deliverer.shutdown().await;
    }
}

fn start_workers(
    args: &ServeArgs,
    store: &Arc<dyn Store>,
    providers: &Providers,
    processor: &Arc<dyn Processor>,
    finder: &Arc<dyn parallax_engine::findall::Finder>,
    monitor_clock: &Arc<dyn parallax_store::clock::Clock>,
) -> anyhow::Result<Workers> {
    let scheduler = Scheduler::start(
        store.clone(),
        processor.clone(),
        parallax_scheduler::Config {
            concurrency: args.concurrency,
            lease: Duration::from_secs(args.lease_seconds),
            max_run_time: args.max_run_seconds.map(Duration::from_secs_f64),
            ..parallax_scheduler::Config::default()
        },
    );
    let findall = parallax_scheduler::findall::FindAllScheduler::start(
        store.clone(),
        finder.clone(),
        processor.clone(),
        parallax_scheduler::findall::FindAllConfig {
            concurrency: args.findall_concurrency,
            lease: Duration::from_secs(args.lease_seconds),
            ..Default::default()
        },
    );
    let monitors = MonitorScheduler::start(
        store.clone(),
        Arc::new(ResearchExecutor::new(
            parallax_engine::monitor::Watcher::new(providers.clone()),
            snapshot_processor(args, providers, processor),
            monitor_clock.clone(),
        )),
        monitor_clock.clone(),
        MonitorLoopConfig {
            concurrency: args.monitor_concurrency,
            lease: Duration::from_secs(args.lease_seconds),
            ..MonitorLoopConfig::default()
        },
    );
    let deliverer = Deliverer::start(
        store.clone(),
        args.research.fetch.fetcher()?,
        WebhookConfig {
            retry_base: Duration::from_secs_f64(args.webhook_retry_seconds),
            ..WebhookConfig::default()
        },
    );
    Ok(Workers {
        scheduler,
        findall,
        monitors,
        deliverer,
    })
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `serve` setting read from the environment can be set in `parallax.toml` too:
    /// a flag added without its file key would be silently ignored there.
    #[test]
    fn every_serve_variable_has_a_file_key() {
        let cli = Cli::command();
        let serve = cli.find_subcommand("serve").expect("serve exists");
        let missing: Vec<String> = serve
            .get_arguments()
            .filter_map(|arg| arg.get_env())
            .map(|env| env.to_string_lossy().into_owned())
            .filter(|env| !config_file::KEYS.iter().any(|(_, var)| var == env))
            .collect();
        assert!(missing.is_empty(), "not in config_file::KEYS: {missing:?}");
    }
}
