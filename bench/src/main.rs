//! `parallax-bench`: the benchmark tools for Parallax.
//!
//! * `ceiling` — a bare axum server that answers every GET with the same fixed bytes. It is
//!   the ceiling the real input endpoint is compared against: same framework, same runtime,
//!   no routing, auth, storage or serialisation.
//! * `load` — an HTTP/1.1 keep-alive load generator on hyper: N connections, each driven by
//!   its own task issuing requests back to back, exact latency percentiles, one JSON line out.
//!
//! * `extract` — runs the main-content extractor on HTML files, timing it; one JSON line per
//!   file. `bench/extract/run.py` drives it (see `bench/extract/README.md`).
//! * `site` — a static site for the Extract benchmarks: given pages by path, it answers each
//!   path with its file's bytes and content type, from memory, on one thread (so that the
//!   site, not the server under test, is never what a benchmark waits for).
//! * `md-text` — turns markdown into plain text with the extractor's own
//!   `markdown_to_text`, so that `bench/extract/devset.py --api` scores the Extract API's
//!   `full_content` exactly as it scores `Extracted::text` in process.
//!
//! * `monitor-scale` — the monitor scheduler's idle cost (store calls and CPU per simulated
//!   hour with nothing due) and how late due executions start, for growing monitor counts;
//!   see `bench/monitors/README.md`.
//!
//! `bench/run` drives the first two against the `parallax` server; see `bench/README.md`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use hyper::{HeaderMap, Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

mod extract;
mod monitor_scale;

#[derive(Parser)]
#[command(
    name = "parallax-bench",
    about = "Benchmark tools for Parallax (see bench/README.md)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the bytes of a file on every GET path: the ceiling for a fixed-body endpoint.
    Ceiling(CeilingArgs),
    /// Drive an HTTP/1.1 endpoint over keep-alive connections; print one JSON line of results.
    Load(LoadArgs),
    /// Run the main-content extractor on HTML files; print one JSON line per file.
    Extract(extract::ExtractArgs),
    /// Serve files at given paths (a manifest of JSON lines `{"path", "file", "content_type"}`);
    /// prints `site listening on http://ADDR` once ready.
    Site(SiteArgs),
    /// Read JSON lines `{"key", "markdown"}` on stdin; print `{"key", "text"}` for each, the
    /// markdown's plain text as the extractor makes it.
    MdText,
    /// The monitor scheduler's idle cost and due-time lateness for growing monitor counts.
    MonitorScale(monitor_scale::MonitorScaleArgs),
}

#[derive(Parser)]
struct CeilingArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// File whose bytes every GET returns, with content-type application/json.
    #[arg(long)]
    body_file: PathBuf,
    /// Tokio worker threads (default: one per core, as `#[tokio::main]` would use).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Parser)]
struct SiteArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// JSON lines `{"path": "/a/b?c", "file": PATH, "content_type": "text/html; …"}`.
    #[arg(long)]
    manifest: PathBuf,
}

#[derive(Parser)]
struct LoadArgs {
    /// Target URL (http only). Required unless --url-list is given.
    #[arg(long)]
    url: Option<String>,
    /// File of URLs, one a line, requested round-robin (all must share one host:port).
    #[arg(long)]
    url_list: Option<PathBuf>,
    /// Extra request header, `Name: value`; repeatable.
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// Concurrent keep-alive connections, each with one request in flight.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Measured duration in seconds.
    #[arg(long, default_value_t = 5.0)]
    duration_secs: f64,
    /// Unmeasured warm-up before the measured window, in seconds.
    #[arg(long, default_value_t = 0.0)]
    warmup_secs: f64,
    /// HTTP method.
    #[arg(long, default_value = "GET")]
    method: String,
    /// Request body, sent with every request.
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// Content-Type of the request body.
    #[arg(long)]
    content_type: Option<String>,
    /// Tokio worker threads for the generator (1 = a current-thread runtime, which steals
    /// the least CPU from a server on the same machine).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Per-request timeout in seconds (0 = none); a timed-out request counts as an error.
    #[arg(long, default_value_t = 30.0)]
    timeout_secs: f64,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Ceiling(a) => ceiling(a),
        Cmd::Load(a) => load(a),
        Cmd::Extract(a) => extract::run(a),
        Cmd::Site(a) => site(a),
        Cmd::MdText => extract::md_text(),
        Cmd::MonitorScale(a) => monitor_scale::run(a),
    }
}

fn runtime(threads: Option<usize>) -> Result<tokio::runtime::Runtime> {
    let rt = match threads {
        Some(1) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n.max(1))
            .enable_all()
            .build()?,
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?,
    };
    Ok(rt)
}

// ---------------------------------------------------------------------------------------------
// ceiling

fn ceiling(a: CeilingArgs) -> Result<()> {
    let body = Bytes::from(
        std::fs::read(&a.body_file)
            .with_context(|| format!("reading {}", a.body_file.display()))?,
    );
    runtime(a.threads)?.block_on(async move {
        let app = axum::Router::new().fallback(axum::routing::get(move || {
            let body = body.clone();
            async move {
                (
                    [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                    body,
                )
            }
        }));
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("binding {}", a.listen))?;
        let addr = listener.local_addr()?;
        // Rust's stdout is line-buffered: the line is visible to a reader as soon as printed.
        println!("ceiling listening on http://{addr}");
        axum::serve(listener, app).await?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// site

fn site(a: SiteArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.manifest)
        .with_context(|| format!("reading {}", a.manifest.display()))?;
    let mut pages: std::collections::HashMap<String, (HeaderValue, Bytes)> =
        std::collections::HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let page: serde_json::Value = serde_json::from_str(line)?;
        let (Some(path), Some(file), Some(ctype)) = (
            page["path"].as_str(),
            page["file"].as_str(),
            page["content_type"].as_str(),
        ) else {
            bail!("a manifest line is not {{\"path\", \"file\", \"content_type\"}}: {line}");
        };
        let body = std::fs::read(file).with_context(|| format!("reading {file}"))?;
        pages.insert(
            path.to_owned(),
            (HeaderValue::from_str(ctype)?, Bytes::from(body)),
        );
    }
    let pages = Arc::new(pages);
    runtime(Some(1))?.block_on(async move {
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let pages = pages.clone();
            async move {
                let key = uri.path_and_query().map_or("/", |p| p.as_str());
                match pages.get(key) {
                    Some((ctype, body)) => (
                        hyper::StatusCode::OK,
                        [(CONTENT_TYPE, ctype.clone())],
                        body.clone(),
                    ),
                    None => (
                        hyper::StatusCode::NOT_FOUND,
                        [(CONTENT_TYPE, HeaderValue::from_static("text/plain"))],
                        Bytes::new(),
                    ),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("binding {}", a.listen))?;
        println!("site listening on http://{}", listener.local_addr()?);
        axum::serve(listener, app).await?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// load

struct Target {
    /// `host:port` to connect to.
    connect: String,
    /// Value of the Host header.
    host: HeaderValue,
    /// Paths (with query), requested round-robin.
    paths: Vec<Uri>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
    next: AtomicUsize,
    timeout: Option<Duration>,
}

impl Target {
    fn request(&self) -> Request<Full<Bytes>> {
        let path = if self.paths.len() == 1 {
            self.paths[0].clone()
        } else {
            let i = self.next.fetch_add(1, Ordering::Relaxed) % self.paths.len();
            self.paths[i].clone()
        };
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = path;
        let h = req.headers_mut();
        h.insert(HOST, self.host.clone());
        for (k, v) in &self.headers {
            h.append(k.clone(), v.clone());
        }
        req
    }
}

#[derive(Default)]
struct Stats {
    /// Latency of every response received in the measured window, in microseconds.
    lat_us: Vec<u32>,
    /// Requests completed in the measured window (responses of any status, and failures).
    requests: u64,
    /// Non-2xx responses, transport failures and timeouts in the measured window.
    errors: u64,
    /// The first error seen, for the operator (printed on stderr).
    first_error: Option<String>,
}

impl Stats {
    fn error(&mut self, counted: bool, msg: impl FnOnce() -> String) {
        if counted {
            self.requests += 1;
            self.errors += 1;
        }
        if self.first_error.is_none() {
            self.first_error = Some(msg());
        }
    }
}

fn parse_target(a: &LoadArgs) -> Result<Target> {
    let mut urls: Vec<String> = Vec::new();
    if let Some(u) = &a.url {
        urls.push(u.clone());
    }
    if let Some(f) = &a.url_list {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        urls.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from),
        );
    }
    if urls.is_empty() {
        bail!("give --url or a non-empty --url-list");
    }
    let mut authority: Option<String> = None;
    let mut paths = Vec::with_capacity(urls.len());
    for u in &urls {
        let uri: Uri = u.parse().with_context(|| format!("bad URL {u:?}"))?;
        if uri.scheme_str() != Some("http") {
            bail!("only http:// URLs are supported: {u}");
        }
        let auth = uri
            .authority()
            .ok_or_else(|| anyhow!("URL without host: {u}"))?;
        let hostport = format!("{}:{}", auth.host(), auth.port_u16().unwrap_or(80));
        match &authority {
            None => authority = Some(hostport),
            Some(prev) if *prev != hostport => {
                bail!("all URLs must share one host:port ({prev} vs {hostport})")
            }
            _ => {}
        }
        let pq = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        paths.push(pq.parse::<Uri>()?);
    }
    let first: Uri = urls[0].parse()?;
    let host = HeaderValue::from_str(first.authority().unwrap().as_str())?;

    let mut headers = HeaderMap::new();
    for h in &a.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| anyhow!("header must be `Name: value`: {h:?}"))?;
        headers.append(
            HeaderName::from_bytes(k.trim().as_bytes())?,
            HeaderValue::from_str(v.trim())?,
        );
    }
    if let Some(ct) = &a.content_type {
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(ct)?);
    }
    let body = match &a.body_file {
        Some(f) => {
            Bytes::from(std::fs::read(f).with_context(|| format!("reading {}", f.display()))?)
        }
        None => Bytes::new(),
    };
    let method = Method::from_bytes(a.method.to_ascii_uppercase().as_bytes())?;
    Ok(Target {
        connect: authority.unwrap(),
        host,
        paths,
        method,
        headers,
        body,
        next: AtomicUsize::new(0),
        timeout: (a.timeout_secs > 0.0).then(|| Duration::from_secs_f64(a.timeout_secs)),
    })
}

/// One connection: (re)connect, then issue requests back to back until `end`.
async fn worker(t: Arc<Target>, measure_from: Instant, end: Instant) -> Stats {
    let mut st = Stats::default();
    'conn: while Instant::now() < end {
        let stream = match TcpStream::connect(&t.connect).await {
            Ok(s) => s,
            Err(e) => {
                st.error(Instant::now() >= measure_from, || {
                    format!("connect {}: {e}", t.connect)
                });
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (mut send, conn) =
            match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
                Ok(x) => x,
                Err(e) => {
                    st.error(Instant::now() >= measure_from, || format!("handshake: {e}"));
                    continue;
                }
            };
        let driver = tokio::spawn(conn);
        loop {
            let now = Instant::now();
            if now >= end {
                break 'conn;
            }
            if send.ready().await.is_err() {
                // The server closed the connection (e.g. it does not keep alive): reconnect.
                break;
            }
            let req = t.request();
            let t0 = Instant::now();
            let counted = t0 >= measure_from;
            let exchange = async {
                let resp = send.send_request(req).await?;
                let status = resp.status();
                let body = resp.into_body().collect().await?;
                Ok::<_, hyper::Error>((status, body))
            };
            let res = match t.timeout {
                Some(d) => tokio::time::timeout(d, exchange).await,
                None => Ok(exchange.await),
            };
            let lat = t0.elapsed();
            match res {
                Ok(Ok((status, body))) => {
                    if counted {
                        st.requests += 1;
                        st.lat_us.push(lat.as_micros().min(u32::MAX as u128) as u32);
                    }
                    if !status.is_success() {
                        st.error(false, || {
                            let b = body.to_bytes();
                            let n = b.len().min(300);
                            format!("HTTP {status}: {}", String::from_utf8_lossy(&b[..n]))
                        });
                        if counted {
                            st.errors += 1;
                        }
                    }
                }
                Ok(Err(e)) => {
                    st.error(counted, || format!("request: {e}"));
                    break;
                }
                Err(_) => {
                    st.error(counted, || {
                        format!(
                            "request timed out after {:?}",
                            t.timeout.unwrap_or_default()
                        )
                    });
                    break;
                }
            }
        }
        driver.abort();
    }
    st
}

fn load(a: LoadArgs) -> Result<()> {
    if a.connections == 0 {
        bail!("--connections must be at least 1");
    }
    let target = Arc::new(parse_target(&a)?);
    let rt = runtime(Some(a.threads.max(1)))?;
    let (stats, elapsed) = rt.block_on(async {
        let start = Instant::now();
        let measure_from = start + Duration::from_secs_f64(a.warmup_secs);
        let end = measure_from + Duration::from_secs_f64(a.duration_secs);
        let tasks: Vec<_> = (0..a.connections)
            .map(|_| tokio::spawn(worker(target.clone(), measure_from, end)))
            .collect();
        let mut all = Vec::with_capacity(tasks.len());
        for t in tasks {
            all.push(t.await?);
        }
        // Requests in flight at `end` complete and are counted: the window runs to the last one.
        let elapsed = measure_from.elapsed();
        Ok::<_, anyhow::Error>((all, elapsed))
    })?;

    let mut lat: Vec<u32> = Vec::with_capacity(stats.iter().map(|s| s.lat_us.len()).sum());
    let (mut requests, mut errors) = (0u64, 0u64);
    let mut first_error = None;
    for s in stats {
        lat.extend_from_slice(&s.lat_us);
        requests += s.requests;
        errors += s.errors;
        if first_error.is_none() {
            first_error = s.first_error;
        }
    }
    lat.sort_unstable();
    let pct = |q: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        // Nearest-rank percentile: the smallest sample with at least q of the samples at or below.
        let rank = ((q * lat.len() as f64).ceil() as usize).clamp(1, lat.len());
        lat[rank - 1] as f64 / 1000.0
    };
    let mean = if lat.is_empty() {
        0.0
    } else {
        lat.iter().map(|&x| x as f64).sum::<f64>() / lat.len() as f64 / 1000.0
    };
    let secs = elapsed.as_secs_f64();
    let out = serde_json::json!({
        "requests": requests,
        "errors": errors,
        // Throughput counts successful (2xx) responses only: an error is not work done.
        "rps": round((requests - errors) as f64 / secs, 1),
        "p50_ms": round(pct(0.50), 3),
        "p90_ms": round(pct(0.90), 3),
        "p99_ms": round(pct(0.99), 3),
        "max_ms": round(lat.last().map_or(0.0, |&x| x as f64 / 1000.0), 3),
        "mean_ms": round(mean, 3),
        "connections": a.connections,
        "elapsed_s": round(secs, 3),
    });
    println!("{out}");
    if let Some(e) = first_error {
        eprintln!("parallax-bench load: first error: {e}");
    }
    Ok(())
}

fn round(x: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (x * m).round() / m
}
