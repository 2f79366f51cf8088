//! Fetching web pages for the research pipeline (and, later, the Extract API): one shared
//! HTTP client with timeouts, a redirect limit, a body-size cap, transparent
//! gzip/brotli/deflate, content-type classification (HTML, PDF, plain text), charset
//! decoding, an SSRF guard, and an in-memory cache with age ([`FetchCache`]).
//!
//! # What this module owns
//!
//! * [`Fetcher`]: `fetch(url)` → [`FetchedPage`] (final URL after redirects, status, content
//!   kind, body bytes, decoded text for HTML and text, fetch time, `Last-Modified`/`ETag`)
//!   or a [`FetchError`] whose [`FetchError::error_type`] is meant to become the Extract
//!   API's `error_type` and whose [`FetchError::http_status`] its `http_status_code`.
//! * [`FetchCache`]: pages by normalised URL with their fetch time, bounded by bytes,
//!   single-flight for concurrent requests of the same URL. The Extract API's
//!   `fetch_policy` (`max_age_seconds`, `timeout_seconds`, `disable_cache_fallback`) maps
//!   onto [`CacheOptions`].
//! * [`classify_ip`]: the address classes of the SSRF guard.
//!
//! # Limits
//!
//! * Timeout: [`FetcherConfig::timeout`] (default 15 s) covers the whole fetch: DNS,
//!   connecting, TLS, every redirect hop and reading the body.
//! * Redirects: at most [`FetcherConfig::max_redirects`] (default 5); the next one fails
//!   with `too_many_redirects`.
//! * Body size: bodies larger than [`FetcherConfig::max_body_bytes`] (default 10 MiB,
//!   counted after decompression, so a compression bomb is stopped too) are **refused**
//!   with `too_large`, not truncated: a cut-off PDF cannot be parsed and a cut-off page
//!   would be cached and cited as if complete. A declared `Content-Length` over the limit
//!   is refused before any of the body is read.
//!
//! # Content
//!
//! [`ContentKind`] comes from the `Content-Type` header, or from the first bytes when the
//! header is missing or generic; a body starting with `%PDF-` is always a PDF. HTML and text
//! bodies are decoded to [`FetchedPage::text`]: a byte-order mark wins, then the header's
//! `charset`, then (HTML) a `<meta charset>` or `http-equiv` declaration in the first
//! 1024 bytes, then UTF-8 if the bytes are valid UTF-8, else windows-1252.
//!
//! # The SSRF guard
//!
//! Parallax fetches URLs that come from clients and from search results, from inside the
//! operator's network. Without a guard, anyone with an API key could make the server read
//! its own admin endpoints, other services on the host, the LAN, or a cloud metadata
//! service (`http://169.254.169.254/`, which hands out credentials) and return what it
//! finds. So by default the fetcher connects only to public addresses. It refuses
//! (see [`AddressClass`]):
//!
//! * loopback `127.0.0.0/8`, `::1`; unspecified `0.0.0.0`, `::`; "this network" `0.0.0.0/8`;
//! * private `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`; carrier-grade NAT `100.64.0.0/10`;
//! * link-local `169.254.0.0/16`, `fe80::/10`; unique-local `fc00::/7`;
//! * multicast `224.0.0.0/4`, `ff00::/8`; broadcast `255.255.255.255`; reserved `240.0.0.0/4`
//!   and other special-purpose, documentation and benchmarking ranges; IPv6 outside global
//!   unicast `2000::/3`;
//! * the IPv6 forms that carry one of those IPv4 addresses: IPv4-mapped `::ffff:a.b.c.d`,
//!   IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`.
//!
//! It holds at every point where an address is chosen:
//!
//! 1. **Literal IP URLs** are checked before anything is sent. The `url` crate parses hosts
//!    the way browsers do, so `http://2130706433/`, `http://0x7f000001/` and
//!    `http://127.1/` are all `127.0.0.1` and refused as such.
//! 2. **Host names** are resolved by our own `reqwest` resolver (the system resolver via
//!    `tokio::net::lookup_host`), which refuses the name when **any** of its addresses is
//!    forbidden (not just the first, nor only if all are: a name that mixes public and
//!    private answers is refused outright, so no fallback between addresses can reach a
//!    private one). reqwest connects to exactly the addresses the resolver returned, so
//!    there is no second lookup that DNS rebinding could answer differently.
//! 3. **Every redirect hop** goes through our redirect policy, which checks the scheme and a
//!    literal IP host of the next URL; a host name on the next hop is resolved, and so
//!    vetted, by the same resolver.
//! 4. Only `http` and `https` URLs are fetched, on the first request and on every hop.
//! 5. Proxies from the environment (`HTTP_PROXY`, …) are ignored: through a proxy the
//!    guard would vet the proxy's address instead of the target's.
//!
//! A refusal happens before any packet is sent to the refused address, and its error says
//! what was refused, why, and how to allow it. The operator allows every class with
//! `--allow-private-fetch` ([`FetcherConfig::allow_private`]), or exact addresses with
//! [`FetcherConfig::allowed_addresses`] (an intranet wiki, a local SearXNG) without
//! opening the rest. Ports are not restricted: any port of an allowed address may be
//! fetched.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parallax_metrics::FetchOutcome;
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE, ETAG, LAST_MODIFIED, LOCATION,
};
use url::Url;

mod cache;
mod decode;
mod guard;

pub use cache::{
    normalize_url, CacheOptions, CacheOrigin, CachedPage, FetchCache, DEFAULT_CACHE_BYTES,
};
pub use guard::{classify_ip, AddressClass};

use guard::{
    Guard, GuardedResolver, RedirectReason, RedirectRefusal, ResolveFailure, ResolveRefusal,
    UrlRefusal,
};

/// Default whole-fetch timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Default maximum number of redirects followed.
pub const DEFAULT_MAX_REDIRECTS: usize = 5;
/// Default maximum body size, after decompression: 10 MiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;

/// Fetches of one host (and port) running at once, by default: what browsers allow, so that
/// a run reading many pages of one site never weighs on it more than a visitor does.
pub const DEFAULT_MAX_PER_HOST: usize = 6;

/// Hosts whose per-host slots are remembered before idle ones are forgotten.
const HOST_SLOTS_KEPT: usize = 1024;
/// How much of an error response's body is kept in [`FetchError::Http`] (silently cut).
const ERROR_CONTENT_LIMIT: u64 = 64 * 1024;
/// What the fetcher asks for.
const ACCEPT_VALUE: &str =
    "text/html,application/xhtml+xml,application/pdf;q=0.9,text/plain;q=0.8,*/*;q=0.5";

/// The default `User-Agent`: `Parallax/<version> (+self-hosted)`.
pub fn default_user_agent() -> String {
    format!("Parallax/{} (+self-hosted)", env!("CARGO_PKG_VERSION"))
}

/// How the [`Fetcher`] behaves. `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetcherConfig {
    /// Whole-fetch timeout: DNS, connect, TLS, all redirect hops and the body. Default 15 s.
    pub timeout: Duration,
    /// Redirects followed at most; one more fails with `too_many_redirects`. Default 5.
    pub max_redirects: usize,
    /// Largest body accepted, in bytes after decompression; larger bodies are refused with
    /// `too_large` (never truncated). Default 10 MiB.
    pub max_body_bytes: u64,
    /// `User-Agent` header sent with every request. Default [`default_user_agent`].
    pub user_agent: String,
    /// The operator's `--allow-private-fetch`: when true the SSRF guard allows every address
    /// class (schemes are still limited to http and https). Default false.
    pub allow_private: bool,
    /// Fetches of one host and port at once (politeness); more wait their turn, within their
    /// timeout. Redirect hops to other hosts are not counted. Default
    /// [`DEFAULT_MAX_PER_HOST`]; at least 1.
    pub max_per_host: usize,
    /// Exact addresses allowed even though their class is forbidden (IPv4-mapped IPv6 forms
    /// match their IPv4 address). Lets an operator open one intranet host without
    /// `allow_private`. Default empty.
    pub allowed_addresses: Vec<IpAddr>,
}

impl Default for FetcherConfig {
    fn default() -> Self {
        FetcherConfig {
            timeout: DEFAULT_TIMEOUT,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            user_agent: default_user_agent(),
            allow_private: false,
            allowed_addresses: Vec::new(),
            max_per_host: DEFAULT_MAX_PER_HOST,
        }
    }
}

/// What a fetched body is, from its `Content-Type` and (when that is missing or generic)
/// its first bytes. A body starting with `%PDF-` is a PDF whatever the header says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContentKind {
    /// `text/html` or `application/xhtml+xml` (or an untyped body that starts like HTML).
    Html,
    /// `application/pdf` (or a body that starts with `%PDF-`).
    Pdf,
    /// Other text: `text/*`, JSON, XML, JavaScript, or an untyped body that is valid UTF-8.
    Text,
    /// Anything else, with its media type (lowercase, without parameters).
    Other(String),
}

impl ContentKind {
    /// Whether [`FetchedPage::text`] is filled for this kind (HTML and text).
    pub fn is_textual(&self) -> bool {
        matches!(self, ContentKind::Html | ContentKind::Text)
    }
}

/// A successfully fetched page (2xx status, body within the size cap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedPage {
    /// The URL asked for, normalised by the `url` crate.
    pub requested_url: String,
    /// The URL that finally answered, after redirects.
    pub url: String,
    /// HTTP status of the final response (always 2xx).
    pub status: u16,
    /// What the body is.
    pub content_type: ContentKind,
    /// The raw `Content-Type` header, if the server sent one.
    pub mime: Option<String>,
    /// The body, decompressed.
    pub body: Bytes,
    /// The body decoded to text, for [`ContentKind::Html`] and [`ContentKind::Text`].
    pub text: Option<String>,
    /// The encoding used to decode [`FetchedPage::text`] (`"UTF-8"`, `"windows-1252"`, …).
    /// Precedence: byte-order mark, `Content-Type` charset, `<meta charset>` (HTML), then
    /// UTF-8 when the bytes are valid UTF-8, else windows-1252.
    pub charset: Option<String>,
    /// When the body was received, in microseconds since the Unix epoch.
    pub fetched_at: i64,
    /// The `Last-Modified` header, verbatim.
    pub last_modified: Option<String>,
    /// The `ETag` header, verbatim.
    pub etag: Option<String>,
}

impl FetchedPage {
    /// [`FetchedPage::fetched_at`] as a UTC date-time.
    pub fn fetched_at_utc(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::from_timestamp_micros(self.fetched_at)
    }

    /// SHA-256 of the body, in lowercase hex (to recognise identical content).
    pub fn content_hash(&self) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&self.body))
    }

    /// Approximate memory held by the page, as counted by [`FetchCache`].
    pub fn size_bytes(&self) -> usize {
        256 + self.requested_url.len()
            + self.url.len()
            + self.body.len()
            + self.text.as_ref().map_or(0, String::len)
            + self.mime.as_ref().map_or(0, String::len)
            + self.last_modified.as_ref().map_or(0, String::len)
            + self.etag.as_ref().map_or(0, String::len)
    }
}

/// The kind of a [`FetchError`]; [`FetchErrorKind::as_str`] is the Extract API's
/// `error_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FetchErrorKind {
    /// `invalid_url`: the text is not an absolute URL.
    InvalidUrl,
    /// `unsupported_scheme`: not http or https.
    UnsupportedScheme,
    /// `ssrf_refused`: the address is private, loopback, link-local, ….
    SsrfRefused,
    /// `dns`: the host name did not resolve.
    Dns,
    /// `connect`: TCP or TLS connection failed.
    Connect,
    /// `timeout`: the fetch took longer than its timeout.
    Timeout,
    /// `too_many_redirects`: more redirects than allowed.
    TooManyRedirects,
    /// `http_error`: the server answered with a non-2xx status.
    HttpError,
    /// `too_large`: the body exceeds the size cap.
    TooLarge,
    /// `network`: the connection broke or the body could not be decoded.
    Network,
}

impl FetchErrorKind {
    /// The snake_case name, as used for the Extract API's `error_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            FetchErrorKind::InvalidUrl => "invalid_url",
            FetchErrorKind::UnsupportedScheme => "unsupported_scheme",
            FetchErrorKind::SsrfRefused => "ssrf_refused",
            FetchErrorKind::Dns => "dns",
            FetchErrorKind::Connect => "connect",
            FetchErrorKind::Timeout => "timeout",
            FetchErrorKind::TooManyRedirects => "too_many_redirects",
            FetchErrorKind::HttpError => "http_error",
            FetchErrorKind::TooLarge => "too_large",
            FetchErrorKind::Network => "network",
        }
    }
}

impl fmt::Display for FetchErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a fetch failed. The message says what happened and what the operator can do; `url`
/// is the URL the failure is about (the requested one, or the redirect target that was
/// refused).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The text is not an absolute URL with a host.
    #[error("cannot fetch {url:?}: it is not a valid absolute URL ({reason})")]
    InvalidUrl {
        /// The text given.
        url: String,
        /// What the URL parser said.
        reason: String,
    },
    /// The scheme is not http or https.
    #[error("{}", unsupported_scheme_message(url, scheme, redirected_from.as_deref()))]
    UnsupportedScheme {
        /// The refused URL.
        url: String,
        /// Its scheme.
        scheme: String,
        /// The URL that redirected to it, if the refusal was on a redirect.
        redirected_from: Option<String>,
    },
    /// The SSRF guard refused the address.
    #[error("{}", ssrf_message(url, host, *address, *class, *via_dns, redirected_from.as_deref()))]
    SsrfRefused {
        /// The refused URL.
        url: String,
        /// The host that was refused (a name, or the literal address).
        host: String,
        /// The forbidden address.
        address: IpAddr,
        /// Its class.
        class: AddressClass,
        /// True when `host` is a name that resolved to `address`.
        via_dns: bool,
        /// The URL that redirected to `url`, if the refusal was on a redirect to a literal
        /// address.
        redirected_from: Option<String>,
    },
    /// The host name did not resolve.
    #[error("could not fetch {url}: the host name {host} could not be resolved ({message}); check the URL, or the DNS configuration of the machine running Parallax")]
    Dns {
        /// The URL being fetched.
        url: String,
        /// The name that failed.
        host: String,
        /// The resolver's message.
        message: String,
    },
    /// Connecting (TCP or TLS) failed.
    #[error("could not fetch {url}: connecting failed ({message}); the site may be down or unreachable from this server")]
    Connect {
        /// The URL being fetched.
        url: String,
        /// What failed.
        message: String,
    },
    /// The fetch took longer than its timeout.
    #[error("fetching {url} timed out after {timeout:?}; the site is slow or unreachable (the fetch timeout is configurable)")]
    Timeout {
        /// The URL being fetched.
        url: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// More redirects than allowed.
    #[error("fetching {url} was redirected more than {max} times (last to {last}); the site may be in a redirect loop")]
    TooManyRedirects {
        /// The URL requested.
        url: String,
        /// The redirect target that was not followed.
        last: String,
        /// The limit.
        max: usize,
    },
    /// The server answered with a non-2xx status.
    #[error("fetching {url} failed: the server answered HTTP {status}{}", reason_phrase(*status))]
    Http {
        /// The URL requested.
        url: String,
        /// The final response's status.
        status: u16,
        /// The start (at most 64 KiB) of the error response's body, decoded, if any.
        content: Option<String>,
    },
    /// The body is larger than the cap.
    #[error("refused to read {url}: the body is larger than the limit of {limit} bytes{}; the limit is the fetcher's maximum body size", declared.map(|d| format!(" (it declares {d} bytes)")).unwrap_or_default())]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The cap.
        limit: u64,
        /// The `Content-Length` the server declared, if it did.
        declared: Option<u64>,
    },
    /// The connection broke, or the body could not be decoded.
    #[error("fetching {url} failed while receiving the response: {message}")]
    Network {
        /// The URL requested.
        url: String,
        /// What failed.
        message: String,
    },
}

fn unsupported_scheme_message(url: &str, scheme: &str, from: Option<&str>) -> String {
    match from {
        Some(from) => format!("refused to follow the redirect from {from} to {url}: the {scheme} scheme is not supported; only http and https URLs are fetched"),
        None => format!("refused to fetch {url}: the {scheme} scheme is not supported; only http and https URLs are fetched"),
    }
}

fn ssrf_message(
    url: &str,
    host: &str,
    address: IpAddr,
    class: AddressClass,
    via_dns: bool,
    from: Option<&str>,
) -> String {
    let head = match from {
        Some(from) => format!("refused to follow the redirect from {from} to {url}"),
        None => format!("refused to fetch {url}"),
    };
    let what = if !via_dns {
        format!("{address} is {}", class.describe())
    } else if Url::parse(url).ok().as_ref().and_then(Url::host_str) == Some(host) {
        format!("{host} resolves to {address}, {}", class.describe())
    } else {
        format!(
            "it redirects to {host}, which resolves to {address}, {}",
            class.describe()
        )
    };
    format!("{head}: {what}; start the server with --allow-private-fetch to allow it")
}

fn reason_phrase(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default()
}

impl FetchError {
    /// The kind of failure.
    pub fn kind(&self) -> FetchErrorKind {
        match self {
            FetchError::InvalidUrl { .. } => FetchErrorKind::InvalidUrl,
            FetchError::UnsupportedScheme { .. } => FetchErrorKind::UnsupportedScheme,
            FetchError::SsrfRefused { .. } => FetchErrorKind::SsrfRefused,
            FetchError::Dns { .. } => FetchErrorKind::Dns,
            FetchError::Connect { .. } => FetchErrorKind::Connect,
            FetchError::Timeout { .. } => FetchErrorKind::Timeout,
            FetchError::TooManyRedirects { .. } => FetchErrorKind::TooManyRedirects,
            FetchError::Http { .. } => FetchErrorKind::HttpError,
            FetchError::TooLarge { .. } => FetchErrorKind::TooLarge,
            FetchError::Network { .. } => FetchErrorKind::Network,
        }
    }

    /// The Extract API's `error_type` (`"ssrf_refused"`, `"http_error"`, …).
    pub fn error_type(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The HTTP status, for [`FetchError::Http`] (the Extract API's `http_status_code`).
    pub fn http_status(&self) -> Option<u16> {
        match self {
            FetchError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The start of an error response's body, for [`FetchError::Http`] (the Extract API's
    /// `content`).
    pub fn content(&self) -> Option<&str> {
        match self {
            FetchError::Http { content, .. } => content.as_deref(),
            _ => None,
        }
    }

    /// The URL the failure is about.
    pub fn url(&self) -> &str {
        match self {
            FetchError::InvalidUrl { url, .. }
            | FetchError::UnsupportedScheme { url, .. }
            | FetchError::SsrfRefused { url, .. }
            | FetchError::Dns { url, .. }
            | FetchError::Connect { url, .. }
            | FetchError::Timeout { url, .. }
            | FetchError::TooManyRedirects { url, .. }
            | FetchError::Http { url, .. }
            | FetchError::TooLarge { url, .. }
            | FetchError::Network { url, .. } => url,
        }
    }
}

/// The HTTP client could not be built (the TLS backend failed to initialise).
#[derive(Debug, thiserror::Error)]
#[error("could not build the HTTP client for fetching: {0}")]
pub struct FetcherBuildError(String);

/// Fetches pages under a [`FetcherConfig`]. Cheap to clone: clones share one HTTP client
/// (and its connection pool).
#[derive(Debug, Clone)]
pub struct Fetcher {
    inner: Arc<FetcherInner>,
}

#[derive(Debug)]
struct FetcherInner {
    client: reqwest::Client,
    /// The same guard, never following redirects: a webhook answered with a redirect is a
    /// failed attempt, not a signed body sent to an address nobody registered.
    poster: reqwest::Client,
    config: FetcherConfig,
    guard: Guard,
    /// One semaphore of `config.max_per_host` slots per host and port being fetched.
    hosts: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
}

impl Fetcher {
    /// Builds a fetcher.
    ///
    /// # Panics
    ///
    /// If the TLS backend cannot be initialised (as `reqwest::Client::new` does); use
    /// [`Fetcher::try_new`] to handle that.
    pub fn new(config: FetcherConfig) -> Fetcher {
        match Self::try_new(config) {
            Ok(fetcher) => fetcher,
            Err(e) => panic!("{e}"),
        }
    }

    /// Builds a fetcher, or says why the HTTP client could not be built.
    pub fn try_new(config: FetcherConfig) -> Result<Fetcher, FetcherBuildError> {
        let guard = Guard::new(config.allow_private, &config.allowed_addresses);
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_VALUE));
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .default_headers(headers)
            .timeout(config.timeout)
            .redirect(guard::redirect_policy(guard.clone(), config.max_redirects))
            .dns_resolver(Arc::new(GuardedResolver {
                guard: guard.clone(),
            }))
            .no_proxy()
            .build()
            .map_err(|e| FetcherBuildError(error_chain(&e)))?;
        let poster = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver {
                guard: guard.clone(),
            }))
            .no_proxy()
            .build()
            .map_err(|e| FetcherBuildError(error_chain(&e)))?;
        Ok(Fetcher {
            inner: Arc::new(FetcherInner {
                client,
                poster,
                config,
                guard,
                hosts: std::sync::Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Waits, at most `timeout`, for a slot to fetch from `url`'s host and port.
    async fn host_slot(
        &self,
        url: &Url,
        requested: &str,
        timeout: Duration,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, FetchError> {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or(0)
        );
        let slots = {
            let mut hosts = self.inner.hosts.lock().unwrap_or_else(|p| p.into_inner());
            if hosts.len() >= HOST_SLOTS_KEPT && !hosts.contains_key(&key) {
                // Forget hosts nobody is fetching or waiting for.
                hosts.retain(|_, slots| Arc::strong_count(slots) > 1);
            }
            hosts
                .entry(key)
                .or_insert_with(|| {
                    Arc::new(tokio::sync::Semaphore::new(
                        self.inner.config.max_per_host.max(1),
                    ))
                })
                .clone()
        };
        match tokio::time::timeout(timeout, slots.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; a timeout is the only way here.
            _ => Err(FetchError::Timeout {
                url: requested.to_owned(),
                timeout,
            }),
        }
    }

    /// An HTTP client (reqwest 0.13, as the MCP client needs) under this fetcher's SSRF
    /// guard: host names are vetted by the guarded resolver, redirects are not followed
    /// (a redirect could lead anywhere), no proxy. Callers check the URL itself with
    /// [`Fetcher::check_url`] first: a literal IP address never reaches a resolver.
    pub fn guarded_client_013(&self, timeout: Duration) -> Result<reqwest013::Client, String> {
        // reqwest 0.13 is built without a TLS crypto provider of its own; use ring, which the
        // rest of the tree already uses (an error only means one is installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest013::Client::builder()
            .user_agent(self.inner.config.user_agent.clone())
            .timeout(timeout)
            .redirect(reqwest013::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver {
                guard: self.inner.guard.clone(),
            }))
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())
    }

    /// The configuration this fetcher was built with.
    pub fn config(&self) -> &FetcherConfig {
        &self.inner.config
    }

    /// Parses `url` and checks what can be checked without the network: an absolute URL,
    /// an http/https scheme, and a literal IP host the guard allows. Host names are vetted
    /// when they are resolved. Returns the normalised URL.
    pub fn check_url(&self, url: &str) -> Result<Url, FetchError> {
        let parsed = Url::parse(url.trim()).map_err(|e| FetchError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        match self.inner.guard.check_url(&parsed) {
            Ok(()) => Ok(parsed),
            Err(UrlRefusal::Scheme(scheme)) => Err(FetchError::UnsupportedScheme {
                url: parsed.to_string(),
                scheme,
                redirected_from: None,
            }),
            Err(UrlRefusal::NoHost) => Err(FetchError::InvalidUrl {
                url: url.to_owned(),
                reason: "the URL has no host".to_owned(),
            }),
            Err(UrlRefusal::Address { address, class }) => {
                tracing::warn!(url = %parsed, address = %address, class = %class, "fetch refused by the SSRF guard");
                Err(FetchError::SsrfRefused {
                    url: parsed.to_string(),
                    host: address.to_string(),
                    address,
                    class,
                    via_dns: false,
                    redirected_from: None,
                })
            }
        }
    }

    /// Fetches `url` with the configured timeout.
    pub async fn fetch(&self, url: &str) -> Result<FetchedPage, FetchError> {
        self.fetch_inner(url, None).await
    }

    /// Fetches `url` with `timeout` instead of the configured one (the Extract API's
    /// `timeout_seconds`).
    pub async fn fetch_with_timeout(
        &self,
        url: &str,
        timeout: Duration,
    ) -> Result<FetchedPage, FetchError> {
        self.fetch_inner(url, Some(timeout)).await
    }

    /// POSTs a JSON `body` with extra `headers` to `url` (webhook deliveries), under the same
    /// SSRF guard as fetching (literal and resolved addresses). Redirects are not followed.
    /// Returns the response status; a non-2xx status (a 3xx included) is `FetchError::Http`.
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: String,
        timeout: Duration,
    ) -> Result<u16, FetchError> {
        let parsed = self.check_url(url)?;
        let requested = parsed.to_string();
        let mut request = self
            .inner
            .poster
            .post(parsed)
            .timeout(timeout)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| map_reqwest_error(&e, &requested, timeout))?;
        let status = response.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let content = match read_capped(&mut response, ERROR_CONTENT_LIMIT).await {
            Ok((body, _)) if !body.is_empty() => Some(String::from_utf8_lossy(&body).into_owned()),
            _ => None,
        };
        Err(FetchError::Http {
            url: requested,
            status: status.as_u16(),
            content,
        })
    }

    /// Fetches `url` (with `timeout` instead of the configured one, if given), counting the
    /// fetch in the metrics by its outcome: every page fetch goes through here.
    pub(crate) async fn fetch_inner(
        &self,
        url: &str,
        timeout: Option<Duration>,
    ) -> Result<FetchedPage, FetchError> {
        let fetched = self.fetch_uncounted(url, timeout).await;
        parallax_metrics::fetched(match &fetched {
            Ok(_) => FetchOutcome::Ok,
            Err(e) => match e.kind() {
                FetchErrorKind::HttpError => FetchOutcome::HttpError,
                FetchErrorKind::Timeout => FetchOutcome::Timeout,
                FetchErrorKind::SsrfRefused => FetchOutcome::RefusedPrivate,
                FetchErrorKind::TooLarge => FetchOutcome::TooLarge,
                FetchErrorKind::InvalidUrl
                | FetchErrorKind::UnsupportedScheme
                | FetchErrorKind::Dns
                | FetchErrorKind::Connect
                | FetchErrorKind::TooManyRedirects
                | FetchErrorKind::Network => FetchOutcome::Other,
            },
        });
        fetched
    }

    async fn fetch_uncounted(
        &self,
        url: &str,
        timeout: Option<Duration>,
    ) -> Result<FetchedPage, FetchError> {
        let parsed = self.check_url(url)?;
        let requested = parsed.to_string();
        let config = &self.inner.config;
        let effective_timeout = timeout.unwrap_or(config.timeout);
        let fail = |e: reqwest::Error| map_reqwest_error(&e, &requested, effective_timeout);

        let fetch_started = std::time::Instant::now();
        // Held until the body is read: the host's slot is taken for the whole fetch. The wait
        // for it counts toward the fetch's timeout.
        let _slot = self
            .host_slot(&parsed, &requested, effective_timeout)
            .await?;
        let remaining = effective_timeout.saturating_sub(fetch_started.elapsed());
        let request = self.inner.client.get(parsed).timeout(remaining);
        let mut response = request.send().await.map_err(fail)?;

        let final_url = response.url().to_string();
        let status = response.status();
        let headers = response.headers();
        let header = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let mime = header(CONTENT_TYPE);
        let last_modified = header(LAST_MODIFIED);
        let etag = header(ETAG);

        if status.is_redirection() {
            // A redirect reqwest did not follow because its target is not http(s).
            let next = header(LOCATION).and_then(|l| response.url().join(&l).ok());
            if let Some(next) = next.filter(|n| !matches!(n.scheme(), "http" | "https")) {
                return Err(FetchError::UnsupportedScheme {
                    scheme: next.scheme().to_owned(),
                    url: next.into(),
                    redirected_from: Some(final_url),
                });
            }
        }
        if !status.is_success() {
            let limit = ERROR_CONTENT_LIMIT.min(config.max_body_bytes);
            let content = match read_capped(&mut response, limit).await {
                Ok((body, _)) if !body.is_empty() => {
                    let charset = mime.as_deref().and_then(decode::charset_param);
                    Some(decode::decode_text(&body, charset.as_deref(), false).0)
                }
                _ => None,
            };
            return Err(FetchError::Http {
                url: requested,
                status: status.as_u16(),
                content,
            });
        }

        let limit = config.max_body_bytes;
        if let Some(declared) = response.content_length() {
            if declared > limit {
                return Err(FetchError::TooLarge {
                    url: requested,
                    limit,
                    declared: Some(declared),
                });
            }
        }
        let (body, over) = read_capped(&mut response, limit).await.map_err(fail)?;
        if over {
            return Err(FetchError::TooLarge {
                url: requested,
                limit,
                declared: None,
            });
        }
        let fetched_at = chrono::Utc::now().timestamp_micros();
        crate::web::timing::report(
            "fetch",
            fetch_started.elapsed(),
            std::time::Duration::ZERO,
            body.len(),
        );

        let decoding = crate::web::timing::Stage::start("decode");
        let content_type = decode::classify(mime.as_deref(), &body);
        let (text, charset) = if content_type.is_textual() {
            let header_charset = mime.as_deref().and_then(decode::charset_param);
            let (text, used) = decode::decode_text(
                &body,
                header_charset.as_deref(),
                content_type == ContentKind::Html,
            );
            (Some(text), Some(used.to_owned()))
        } else {
            (None, None)
        };
        decoding.end(body.len());
        tracing::debug!(url = %requested, final_url = %final_url, bytes = body.len(), "fetched");
        Ok(FetchedPage {
            requested_url: requested,
            url: final_url,
            status: status.as_u16(),
            content_type,
            mime,
            body,
            text,
            charset,
            fetched_at,
            last_modified,
            etag,
        })
    }
}

/// Reads the body up to `limit` bytes. The flag is true when the body was longer (the
/// bytes returned are then cut at `limit`).
async fn read_capped(
    response: &mut reqwest::Response,
    limit: u64,
) -> Result<(Bytes, bool), reqwest::Error> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let capacity = response
        .content_length()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
        .min(limit)
        .min(1 << 20);
    let mut buf = Vec::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await? {
        let room = limit - buf.len();
        if chunk.len() > room {
            buf.extend_from_slice(&chunk[..room]);
            return Ok((Bytes::from(buf), true));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok((Bytes::from(buf), false))
}

/// The messages of an error's sources, joined with ": ".
fn error_chain(err: &dyn StdError) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}

/// Turns a reqwest error into a [`FetchError`], recognising the guard's own errors raised
/// inside reqwest's resolver and redirect policy.
fn map_reqwest_error(err: &reqwest::Error, requested: &str, timeout: Duration) -> FetchError {
    let mut source: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(r) = e.downcast_ref::<ResolveRefusal>() {
            return FetchError::SsrfRefused {
                url: requested.to_owned(),
                host: r.host.clone(),
                address: r.address,
                class: r.class,
                via_dns: true,
                redirected_from: None,
            };
        }
        if let Some(r) = e.downcast_ref::<ResolveFailure>() {
            return FetchError::Dns {
                url: requested.to_owned(),
                host: r.host.clone(),
                message: r.message.clone(),
            };
        }
        if let Some(r) = e.downcast_ref::<RedirectRefusal>() {
            return match &r.reason {
                RedirectReason::TooMany { max } => FetchError::TooManyRedirects {
                    url: requested.to_owned(),
                    last: r.to.clone(),
                    max: *max,
                },
                RedirectReason::Url(UrlRefusal::Scheme(scheme)) => FetchError::UnsupportedScheme {
                    url: r.to.clone(),
                    scheme: scheme.clone(),
                    redirected_from: Some(r.from.clone()),
                },
                RedirectReason::Url(UrlRefusal::NoHost) => FetchError::InvalidUrl {
                    url: r.to.clone(),
                    reason: format!("{} redirected to a URL without a host", r.from),
                },
                RedirectReason::Url(UrlRefusal::Address { address, class }) => {
                    tracing::warn!(from = %r.from, to = %r.to, address = %address, class = %class, "redirect refused by the SSRF guard");
                    FetchError::SsrfRefused {
                        url: r.to.clone(),
                        host: address.to_string(),
                        address: *address,
                        class: *class,
                        via_dns: false,
                        redirected_from: Some(r.from.clone()),
                    }
                }
            };
        }
        source = e.source();
    }
    if err.is_timeout() {
        FetchError::Timeout {
            url: requested.to_owned(),
            timeout,
        }
    } else if err.is_connect() {
        FetchError::Connect {
            url: requested.to_owned(),
            message: error_chain(err),
        }
    } else {
        FetchError::Network {
            url: requested.to_owned(),
            message: error_chain(err),
        }
    }
}
