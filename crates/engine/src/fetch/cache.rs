//! The fetch cache: pages by normalised URL, with their age, bounded by bytes, with
//! single-flight fetching.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt, Shared, WeakShared};
use url::Url;

use super::{FetchError, FetchedPage, Fetcher};

/// Default byte budget of a [`FetchCache`]: 256 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 256 * 1024 * 1024;

type FetchResult = Result<Arc<FetchedPage>, FetchError>;
type SharedFetch = Shared<BoxFuture<'static, FetchResult>>;

/// The cache key of a URL: parsed and serialised by the `url` crate (lowercase scheme and
/// host, default port dropped, `.`/`..` segments resolved, IP forms canonical), without
/// its `#fragment`, which is never sent to the server. The query is kept as is.
pub fn normalize_url(url: &str) -> Result<String, FetchError> {
    let mut parsed = Url::parse(url.trim()).map_err(|e| FetchError::InvalidUrl {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    parsed.set_fragment(None);
    Ok(parsed.into())
}

/// How [`FetchCache::fetch_with`] may answer; this is the Extract API's `fetch_policy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheOptions {
    /// A cached page younger than this is returned without fetching (`max_age_seconds`).
    /// Zero always fetches (but still joins a fetch of the same URL already in flight).
    pub max_age: Duration,
    /// Timeout of the live fetch instead of the fetcher's (`timeout_seconds`).
    pub timeout: Option<Duration>,
    /// When the live fetch fails, answer an older cached page if there is one
    /// (`!disable_cache_fallback`).
    pub stale_fallback: bool,
}

impl CacheOptions {
    /// Cache hits younger than `max_age`, the fetcher's timeout, no stale fallback.
    pub fn max_age(max_age: Duration) -> CacheOptions {
        CacheOptions {
            max_age,
            timeout: None,
            stale_fallback: false,
        }
    }
}

/// Where a [`CachedPage`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOrigin {
    /// Fetched live for this call (or by a concurrent call it joined).
    Live,
    /// From the cache, younger than the requested maximum age.
    Cache,
    /// From the cache, older than the maximum age, because the live fetch failed with
    /// this error.
    StaleFallback(FetchError),
}

/// A page answered by [`FetchCache::fetch_with`].
#[derive(Debug, Clone)]
pub struct CachedPage {
    /// The page; `page.fetched_at` tells its age.
    pub page: Arc<FetchedPage>,
    /// Where it came from.
    pub origin: CacheOrigin,
}

/// An in-memory cache in front of a [`Fetcher`], shared by the research pipeline and the
/// Extract API (whose `max_age_seconds` is [`CacheOptions::max_age`]).
///
/// * Keyed by [`normalize_url`] of the requested URL; stores the page and when it was
///   fetched.
/// * Bounded by bytes ([`FetchedPage::size_bytes`]): storing a page evicts the oldest
///   stored pages until the total fits; a page larger than the whole budget is not stored.
/// * Only successful fetches are stored; failures are never cached.
/// * Single-flight: concurrent calls for the same key share one fetch. The fetch runs as
///   long as one caller still waits for it; if every caller gives up (their futures are
///   dropped), it is cancelled and the next call starts afresh. A call that joins a fetch
///   already in flight uses that fetch's timeout, bounded by its own.
///
/// Cheap to clone: clones share the cache.
#[derive(Clone)]
pub struct FetchCache {
    inner: Arc<CacheInner>,
}

struct CacheInner {
    fetcher: Fetcher,
    max_bytes: usize,
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    entries: HashMap<String, Entry>,
    /// Insertion sequence → key, oldest first.
    order: BTreeMap<u64, String>,
    bytes: usize,
    next_seq: u64,
    inflight: HashMap<String, (u64, WeakShared<BoxFuture<'static, FetchResult>>)>,
}

struct Entry {
    page: Arc<FetchedPage>,
    stored: Instant,
    seq: u64,
    size: usize,
}

impl CacheState {
    fn remove(&mut self, key: &str) {
        if let Some(old) = self.entries.remove(key) {
            self.order.remove(&old.seq);
            self.bytes -= old.size;
        }
    }

    fn store(&mut self, key: String, page: Arc<FetchedPage>, max_bytes: usize) {
        self.remove(&key);
        let size = page.size_bytes();
        if size > max_bytes {
            return;
        }
        while self.bytes + size > max_bytes {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some(old) = self.entries.remove(&oldest) {
                self.bytes -= old.size;
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, key.clone());
        self.bytes += size;
        self.entries.insert(
            key,
            Entry {
                page,
                stored: Instant::now(),
                seq,
                size,
            },
        );
    }

    fn fresh(&self, key: &str, max_age: Duration) -> Option<Arc<FetchedPage>> {
        self.entries
            .get(key)
            .filter(|e| e.stored.elapsed() < max_age)
            .map(|e| e.page.clone())
    }
}

impl std::fmt::Debug for FetchCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("FetchCache")
            .field("entries", &state.entries.len())
            .field("bytes", &state.bytes)
            .field("max_bytes", &self.inner.max_bytes)
            .finish()
    }
}

impl FetchCache {
    /// A cache of at most `max_bytes` (see [`DEFAULT_CACHE_BYTES`]) in front of `fetcher`.
    pub fn new(fetcher: Fetcher, max_bytes: usize) -> FetchCache {
        FetchCache {
            inner: Arc::new(CacheInner {
                fetcher,
                max_bytes,
                state: Mutex::new(CacheState::default()),
            }),
        }
    }

    /// The fetcher behind the cache.
    pub fn fetcher(&self) -> &Fetcher {
        &self.inner.fetcher
    }

    fn lock(&self) -> MutexGuard<'_, CacheState> {
        lock(&self.inner.state)
    }

    /// The cached page for `url` if it is younger than `max_age`, without fetching.
    pub fn get(&self, url: &str, max_age: Duration) -> Option<Arc<FetchedPage>> {
        let key = normalize_url(url).ok()?;
        let page = self.lock().fresh(&key, max_age);
        if page.is_some() {
            parallax_metrics::fetch_cache_hit();
        }
        page
    }

    /// Number of pages stored.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no page is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes counted against the budget ([`FetchedPage::size_bytes`] of every page).
    pub fn size_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Drops every stored page.
    pub fn clear(&self) {
        let mut state = self.lock();
        state.entries.clear();
        state.order.clear();
        state.bytes = 0;
    }

    /// The page for `url`: from the cache if it was fetched less than `max_age` ago, else
    /// fetched now (and stored if the fetch succeeded).
    pub async fn fetch_cached(
        &self,
        url: &str,
        max_age: Duration,
    ) -> Result<Arc<FetchedPage>, FetchError> {
        self.fetch_with(url, &CacheOptions::max_age(max_age))
            .await
            .map(|c| c.page)
    }

    /// The page for `url` under `options`, saying where it came from.
    pub async fn fetch_with(
        &self,
        url: &str,
        options: &CacheOptions,
    ) -> Result<CachedPage, FetchError> {
        let key = normalize_url(url)?;
        let (shared, joined) = {
            let mut state = self.lock();
            if let Some(page) = state.fresh(&key, options.max_age) {
                parallax_metrics::fetch_cache_hit();
                return Ok(CachedPage {
                    page,
                    origin: CacheOrigin::Cache,
                });
            }
            let running = state
                .inflight
                .get(&key)
                .and_then(|(_, weak)| weak.upgrade());
            match running {
                Some(shared) => (shared, true),
                None => (self.start(&mut state, key.clone(), options.timeout), false),
            }
        };
        let result = match (joined, options.timeout) {
            (true, Some(timeout)) => match tokio::time::timeout(timeout, shared).await {
                Ok(result) => result,
                Err(_) => Err(FetchError::Timeout {
                    url: key.clone(),
                    timeout,
                }),
            },
            _ => shared.await,
        };
        match result {
            Ok(page) => Ok(CachedPage {
                page,
                origin: CacheOrigin::Live,
            }),
            Err(error) => {
                if options.stale_fallback {
                    let stale = self.lock().entries.get(&key).map(|e| e.page.clone());
                    if let Some(page) = stale {
                        tracing::info!(url = %key, error = %error, "live fetch failed; answering the cached page");
                        return Ok(CachedPage {
                            page,
                            origin: CacheOrigin::StaleFallback(error),
                        });
                    }
                }
                Err(error)
            }
        }
    }

    /// Starts the shared fetch of `key` and registers it as in flight.
    fn start(&self, state: &mut CacheState, key: String, timeout: Option<Duration>) -> SharedFetch {
        // Forget fetches every caller gave up on.
        state
            .inflight
            .retain(|_, (_, weak)| weak.upgrade().is_some());
        let id = state.next_seq;
        state.next_seq += 1;
        let inner = self.inner.clone();
        let fetch_key = key.clone();
        let future: BoxFuture<'static, FetchResult> = async move {
            let result = inner
                .fetcher
                .fetch_inner(&fetch_key, timeout)
                .await
                .map(Arc::new);
            let mut state = lock(&inner.state);
            if let Ok(page) = &result {
                state.store(fetch_key.clone(), page.clone(), inner.max_bytes);
            }
            if state
                .inflight
                .get(&fetch_key)
                .is_some_and(|(i, _)| *i == id)
            {
                state.inflight.remove(&fetch_key);
            }
            result
        }
        .boxed();
        let shared = future.shared();
        if let Some(weak) = shared.downgrade() {
            state.inflight.insert(key, (id, weak));
        }
        shared
    }
}

/// Locks, recovering from poisoning: the state is consistent after every statement that
/// could panic, so a panic elsewhere must not disable the cache.
fn lock(mutex: &Mutex<CacheState>) -> MutexGuard<'_, CacheState> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
