//! Reading one page: the one code path by which task runs, Extract and Search turn a URL into
//! extracted content.
//!
//! A page comes from the local index (when the caller prefers it and the copy is young
//! enough), else from the fetch cache or a live fetch under the caller's
//! [`CacheOptions`]; when the live fetch fails, an older copy (the fetch cache's, then the
//! index's) may answer if the caller allows it. Extraction runs on a blocking thread and its
//! result is kept in a small cache keyed by the exact fetched copy, so the same page read
//! again (a repeated Extract, a run citing a page Search just read) is not extracted twice;
//! reads of one copy at the same time (two requests for one page, a run and a request)
//! share one extraction, as they share one fetch.
//! Every fetched copy a tenant reads (live, or from the shared fetch cache) is queued once for
//! that tenant's part of the local index.

use super::super::pipeline::Providers;
use crate::extract::{self, Extracted};
use crate::fetch::{CacheOptions, CacheOrigin, ContentKind, FetchError, FetchedPage};
use crate::search::IndexedPage;
use chrono::NaiveDate;
use futures::future::{BoxFuture, FutureExt, Shared, WeakShared};
use parallax_metrics::Content;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where a page read came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageOrigin {
    /// Fetched live for this read.
    Live,
    /// The fetch cache, younger than the maximum age asked for.
    Cache,
    /// The local index (its plain text).
    Index,
    /// An older copy, because the live fetch failed with this error.
    StaleFallback(FetchError),
}

/// A page read and extracted.
#[derive(Debug, Clone)]
pub struct PageRead {
    /// The page's address after redirects.
    pub url: String,
    pub title: Option<String>,
    pub published: Option<NaiveDate>,
    pub extracted: Arc<Extracted>,
    pub origin: PageOrigin,
}

/// Why a page could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// Fetched, but of a type Parallax does not read (an image, an archive, …).
    #[error("cannot read content of type {mime}")]
    Unsupported { mime: String },
    /// Fetched, but the document could not be parsed (a broken or encrypted PDF).
    #[error("could not extract the document: {0}")]
    Unreadable(String),
    /// Only held copies were allowed and there is none.
    #[error("the page is not in the local index")]
    NotHeld,
}

impl ReadError {
    /// The Extract API's `error_type`.
    pub fn error_type(&self) -> &'static str {
        match self {
            ReadError::Fetch(e) => e.error_type(),
            ReadError::Unsupported { .. } => "unsupported_content",
            ReadError::Unreadable(_) => "extraction_failed",
            ReadError::NotHeld => "not_cached",
        }
    }
}

/// How the local index takes part in a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexUse {
    /// Use the index's copy when it exists and (with a maximum age) is young enough.
    Prefer { max_age: Option<Duration> },
    /// Use the index's copy only when the live fetch fails and stale copies are allowed.
    Fallback,
}

/// How to read a page.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Fetch cache age, live-fetch timeout and stale fallback.
    pub cache: CacheOptions,
    pub index: IndexUse,
    /// Whether a live fetch is allowed at all (Search's `turbo` mode reads only held copies).
    pub fetch: bool,
}

/// Recently extracted pages, keyed by the fetched copy they came from, with the extractions
/// in progress (single-flight: concurrent reads of one copy wait for one extraction).
#[derive(Clone, Default)]
pub struct ExtractedCache {
    inner: Arc<Mutex<CacheInner>>,
}

type ExtractResult = Result<Arc<Extracted>, ReadError>;
type SharedExtraction = Shared<BoxFuture<'static, ExtractResult>>;
type ExtractionKey = (String, i64);

#[derive(Default)]
struct CacheInner {
    entries: HashMap<(String, i64), Arc<Extracted>>,
    /// Extractions in progress, with a sequence number so that a finished one removes its
    /// own entry and never a later one's.
    inflight: HashMap<ExtractionKey, (u64, WeakShared<BoxFuture<'static, ExtractResult>>)>,
    next_seq: u64,
    /// Extractions started since the cache was made (for tests and profiling).
    extractions: usize,
    order: VecDeque<(String, i64)>,
    bytes: usize,
    /// Fetched copies already queued for a tenant's index: (tenant, url, fetched_at). A
    /// copy read again from the fetch cache is indexed for a tenant only once.
    indexed: HashSet<(String, String, i64)>,
}

/// Entries of the `indexed` set kept before it is cleared (clearing only costs re-indexing).
const INDEXED_MEMORY: usize = 100_000;

/// Entries of the in-progress map after which dead ones are swept.
const INFLIGHT_PRUNE_AT: usize = 1024;

/// Bytes of extracted text kept.
const EXTRACTED_CACHE_BYTES: usize = 64 * 1024 * 1024;

fn extracted_size(e: &Extracted) -> usize {
    e.markdown.len() + e.text.len() + e.title.as_ref().map_or(0, String::len) + 64
}

impl ExtractedCache {
    fn put(&self, key: (String, i64), value: Arc<Extracted>) {
        let mut inner = self.lock();
        let size = extracted_size(&value);
        if size > EXTRACTED_CACHE_BYTES / 4 {
            return;
        }
        if let Some(old) = inner.entries.insert(key.clone(), value) {
            inner.bytes -= extracted_size(&old);
        } else {
            inner.order.push_back(key);
        }
        inner.bytes += size;
        while inner.bytes > EXTRACTED_CACHE_BYTES {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(old) = inner.entries.remove(&oldest) {
                inner.bytes -= extracted_size(&old);
            }
        }
    }

    /// How many extractions this cache has started (each fetched copy once, unless it was
    /// evicted or its extraction failed).
    pub fn extractions(&self) -> usize {
        self.lock().extractions
    }

    /// The extraction of `page`: from the cache, by joining one in progress, or by starting
    /// one on a blocking thread.
    async fn extract(&self, page: Arc<FetchedPage>) -> ExtractResult {
        let key = (page.url.clone(), page.fetched_at);
        let shared = {
            let mut inner = self.lock();
            if let Some(done) = inner.entries.get(&key) {
                return Ok(done.clone());
            }
            match inner
                .inflight
                .get(&key)
                .and_then(|(_, weak)| weak.upgrade())
            {
                Some(running) => running,
                None => {
                    let seq = inner.next_seq;
                    inner.next_seq += 1;
                    inner.extractions += 1;
                    let cache = self.clone();
                    let own_key = key.clone();
                    let running: SharedExtraction = async move {
                        let result = extract_fetched(page).await.map(Arc::new);
                        if let Ok(extracted) = &result {
                            cache.put(own_key.clone(), extracted.clone());
                        }
                        let mut inner = cache.lock();
                        if inner.inflight.get(&own_key).is_some_and(|(s, _)| *s == seq) {
                            inner.inflight.remove(&own_key);
                        }
                        result
                    }
                    .boxed()
                    .shared();
                    // Extractions whose every reader gave up leave a dead entry behind.
                    if inner.inflight.len() >= INFLIGHT_PRUNE_AT {
                        inner
                            .inflight
                            .retain(|_, (_, weak)| weak.upgrade().is_some());
                    }
                    if let Some(weak) = running.downgrade() {
                        inner.inflight.insert(key, (seq, weak));
                    }
                    running
                }
            }
        };
        shared.await
    }

    /// Whether `tenant` still needs this fetched copy in its index (and notes that it will
    /// have it).
    fn first_for(&self, tenant: &str, url: &str, fetched_at: i64) -> bool {
        let mut inner = self.lock();
        if inner.indexed.len() >= INDEXED_MEMORY {
            inner.indexed.clear();
        }
        inner
            .indexed
            .insert((tenant.to_owned(), url.to_owned(), fetched_at))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        // Every statement leaves the maps consistent: a panic elsewhere cannot corrupt them.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Reads `url` under `options`; see the module documentation.
pub async fn read_page(
    providers: &Providers,
    tenant: &str,
    url: &str,
    options: &ReadOptions,
) -> Result<PageRead, ReadError> {
    if let IndexUse::Prefer { max_age } = options.index {
        if let Some(page) = held_copy(providers, tenant, url, max_age).await {
            return Ok(page);
        }
    }
    if !options.fetch {
        return Err(ReadError::NotHeld);
    }
    let cached = match providers.fetch.fetch_with(url, &options.cache).await {
        Ok(cached) => cached,
        Err(error) => {
            if options.index == IndexUse::Fallback && options.cache.stale_fallback {
                if let Some(mut page) = held_copy(providers, tenant, url, None).await {
                    page.origin = PageOrigin::StaleFallback(error);
                    return Ok(page);
                }
            }
            return Err(error.into());
        }
    };
    let origin = match cached.origin {
        CacheOrigin::Live => PageOrigin::Live,
        CacheOrigin::Cache => PageOrigin::Cache,
        CacheOrigin::StaleFallback(e) => PageOrigin::StaleFallback(e),
    };
    let page = cached.page;
    let extracted = providers.extracted.extract(page.clone()).await?;
    // Every tenant that reads a fetched copy gets it in its index, whether this read fetched
    // it or the shared fetch cache answered (another tenant's copy is not visible to it).
    if let Some(indexer) = &providers.index {
        if providers
            .extracted
            .first_for(tenant, &page.url, page.fetched_at)
        {
            indexer.submit(IndexedPage {
                url: page.url.clone(),
                owner: Some(tenant.to_owned()),
                title: extracted.title.clone(),
                text: extracted.text.clone(),
                published: extracted.published,
                fetched_at: page.fetched_at_utc().unwrap_or_else(chrono::Utc::now),
            });
        }
    }
    Ok(PageRead {
        url: page.url.clone(),
        title: extracted.title.clone(),
        published: extracted.published,
        extracted,
        origin,
    })
}

/// The local index's copy of `url` that `tenant` may see, when it has one no older than
/// `max_age`.
async fn held_copy(
    providers: &Providers,
    tenant: &str,
    url: &str,
    max_age: Option<Duration>,
) -> Option<PageRead> {
    let stored = providers
        .index
        .as_ref()?
        .index()
        .get_visible(url, Some(tenant))
        .await?;
    if let Some(max_age) = max_age {
        let age = chrono::Utc::now() - stored.fetched_at;
        if age.to_std().unwrap_or_default() > max_age {
            return None;
        }
    }
    // Normalising a whole page's text is CPU work: off the async workers.
    let (stored, extracted) = tokio::task::spawn_blocking(move || {
        let extracted = extract::extract_text(&stored.text, &stored.url);
        Some((stored, extracted))
    })
    .await
    .ok()
    .flatten()?;
    Some(PageRead {
        url: stored.url.clone(),
        title: stored.title.or(extracted.title.clone()),
        published: stored.published.or(extracted.published),
        extracted: Arc::new(extracted),
        origin: PageOrigin::Index,
    })
}

/// Extracts a fetched page on a blocking thread (it is CPU work: milliseconds per page).
async fn extract_fetched(page: Arc<FetchedPage>) -> Result<Extracted, ReadError> {
    let joined = tokio::task::spawn_blocking(move || {
        let stage = super::timing::Stage::start("extract");
        let extracted = extract_page(&page);
        stage.end(page.body.len());
        extracted
    })
    .await;
    joined.unwrap_or_else(|e| Err(ReadError::Unreadable(format!("extraction stopped: {e}"))))
}

/// Extracts a fetched page by its content type: HTML with [`extract::extract_html`], a PDF
/// with [`extract::extract_pdf`] (an unreadable one is [`ReadError::Unreadable`]), plain
/// text with [`extract::extract_text`]; other types are [`ReadError::Unsupported`]. The one
/// dispatch of every reader of fetched pages (task runs, Extract, Search, `parallax index
/// add`). CPU-bound work (milliseconds): async callers run it on a blocking thread.
/// Each extraction's time is recorded in the metrics by content type.
pub fn extract_page(page: &FetchedPage) -> Result<Extracted, ReadError> {
    let url = page.url.as_str();
    let started = std::time::Instant::now();
    let (content, extracted) = match &page.content_type {
        ContentKind::Html => (
            Content::Html,
            Ok(extract::extract_html(
                page.text.as_deref().unwrap_or_default(),
                url,
            )),
        ),
        ContentKind::Pdf => (
            Content::Pdf,
            extract::extract_pdf(&page.body, url).map_err(|e| ReadError::Unreadable(e.to_string())),
        ),
        ContentKind::Text => (
            Content::Text,
            Ok(extract::extract_text(
                page.text.as_deref().unwrap_or_default(),
                url,
            )),
        ),
        ContentKind::Other(mime) => return Err(ReadError::Unsupported { mime: mime.clone() }),
    };
    parallax_metrics::extracted(content, started.elapsed());
    extracted
}
