//! The Search and Extract APIs: from a validated request to its response, on the same
//! providers, fetch cache, extractor and index as task runs.
//!
//! - **Extract** reads every URL concurrently ([`page::read_page`] under the request's fetch
//!   policy: the fetch cache answers when its copy is younger than `max_age_seconds`,
//!   otherwise the page is fetched live; when that fails, an older copy answers unless
//!   `disable_cache_fallback` is set). A URL that cannot be read becomes an entry in
//!   `errors`, never a failed request. Results keep the request's order; excerpts come from
//!   [`excerpts::select`], full content is the page's markdown from its start.
//! - **Search** sends every query to every configured provider, fuses the lists by
//!   reciprocal rank and applies the source policy, then reads the best candidates, preferring
//!   the local index's copy (no network) and fetching the rest under the fetch policy. The
//!   mode sets how much is read:
//!
//!   | mode | pages read | live fetch | order | excerpt chars per result (default) |
//!   | --- | --- | --- | --- | --- |
//!   | `turbo` | `max_results` | never: index copies, else the provider's snippet | search order | 1,000 |
//!   | `fast` | `max_results` | at most 2 s per page, else the snippet | search order | 1,500 |
//!   | `basic` | `max_results` | under the fetch policy | search order | 3,000 |
//!   | `advanced` | 2 × `max_results` (at most 40) | under the fetch policy | re-ranked by their best passage | 5,000 |
//!
//! Every page fetched live, by either endpoint, is queued for the local index, so a later
//! search finds it.

pub mod excerpts;
pub mod page;
pub mod timing;

use crate::extract::Extracted;
use crate::fetch::CacheOptions;
use crate::pipeline::read::{self, Candidate};
use crate::pipeline::Providers;
use crate::policy::SourcePolicy;
use futures::StreamExt;
use page::{read_page, IndexUse, PageOrigin, PageRead, ReadOptions};
use parallax_api::ids;
use parallax_api::web::{
    usage, ExtractErrorEntry, ExtractRequest, ExtractResponse, ExtractResult, FetchPolicy,
    FullContent, SearchMode, SearchRequest, SearchResponse, WebSearchResult,
    DEFAULT_EXTRACT_EXCERPT_CHARS, EXTRACT_PREFIX, SEARCH_PREFIX, SESSION_PREFIX,
};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Pages read at once by one search.
const SEARCH_READ_CONCURRENCY: usize = 8;
/// Longest live fetch in `fast` mode.
const FAST_FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// How much search order weighs against the best passage's score when `advanced` re-ranks.
const SEARCH_ORDER_WEIGHT: f32 = 2.0;
/// Most pages an `advanced` search reads.
const ADVANCED_MAX_READ: usize = 40;

/// Serves Search and Extract; cheap to share (`Providers` is a set of handles).
#[derive(Clone)]
pub struct WebApi {
    providers: Providers,
}

impl WebApi {
    pub fn new(providers: Providers) -> WebApi {
        WebApi { providers }
    }

    fn read_options(&self, policy: &FetchPolicy, index: IndexUse) -> ReadOptions {
        ReadOptions {
            cache: CacheOptions {
                max_age: policy.max_age.unwrap_or(self.providers.cache_max_age),
                timeout: policy.timeout,
                stale_fallback: !policy.disable_cache_fallback,
            },
            index,
            fetch: true,
        }
    }

    /// Answers `tenant`'s extract request.
    pub async fn extract(&self, tenant: &str, request: &ExtractRequest) -> ExtractResponse {
        let started = std::time::Instant::now();
        let options = self.read_options(&request.fetch_policy, IndexUse::Fallback);
        // Each URL is read by its own task, so that the fetches and the hand-over of each page
        // to its extraction progress on every async worker at once rather than inside this
        // one task; the set aborts them all if the request is dropped.
        let mut tasks = tokio::task::JoinSet::new();
        for (i, url) in request.urls.iter().enumerate() {
            let (providers, tenant, url, options) = (
                self.providers.clone(),
                tenant.to_owned(),
                url.clone(),
                options.clone(),
            );
            tasks.spawn(async move { (i, read_page(&providers, &tenant, &url, &options).await) });
        }
        let mut reads: Vec<Option<Result<PageRead, page::ReadError>>> =
            (0..request.urls.len()).map(|_| None).collect();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((i, read)) => reads[i] = Some(read),
                // A read that panicked fails the request as it would have inline.
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => {}
            }
        }
        let reads = reads.into_iter().map(|r| {
            r.unwrap_or_else(|| Err(page::ReadError::Unreadable("the read was cancelled".into())))
        });
        let mut pages: Vec<(String, PageRead)> = Vec::new();
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        for (url, read) in request.urls.iter().zip(reads) {
            match read {
                Ok(page) => {
                    if let PageOrigin::StaleFallback(error) = &page.origin {
                        warnings.push(stale_warning(url, error));
                    }
                    pages.push((url.clone(), page));
                }
                Err(error) => {
                    let (status, content) = match &error {
                        page::ReadError::Fetch(e) => {
                            (e.http_status(), e.content().map(str::to_owned))
                        }
                        _ => (None, None),
                    };
                    errors.push(ExtractErrorEntry {
                        url: url.clone(),
                        error_type: error.error_type().to_owned(),
                        http_status_code: status,
                        content: content.or_else(|| Some(error.to_string())),
                    });
                }
            }
        }
        let query = query_text(request.objective.as_deref(), &request.search_queries);
        let chosen = if request.excerpts.enabled {
            select_excerpts(
                pages.iter().map(|(_, p)| p.extracted.clone()).collect(),
                query,
                request
                    .excerpts
                    .per_result
                    .unwrap_or(DEFAULT_EXTRACT_EXCERPT_CHARS),
                request.excerpts.total,
            )
            .await
        } else {
            vec![excerpts::PageExcerpts::default(); pages.len()]
        };
        let results: Vec<ExtractResult> = pages
            .into_iter()
            .zip(chosen)
            .map(|((url, page), chosen)| ExtractResult {
                url,
                title: page.title.clone(),
                publish_date: page.published.map(|d| d.format("%Y-%m-%d").to_string()),
                excerpts: chosen.excerpts,
                full_content: match request.full_content {
                    FullContent::Off => None,
                    FullContent::On { max_chars: None } => Some(page.extracted.markdown.clone()),
                    FullContent::On {
                        max_chars: Some(max),
                    } => Some(excerpts::cut_at_word(&page.extracted.markdown, max).to_owned()),
                },
            })
            .collect();
        let with_excerpts = results.iter().filter(|r| !r.excerpts.is_empty()).count();
        let with_full = results.iter().filter(|r| r.full_content.is_some()).count();
        timing::report(
            "request",
            started.elapsed(),
            std::time::Duration::ZERO,
            request.urls.len(),
        );
        ExtractResponse {
            extract_id: ids::new_id(EXTRACT_PREFIX),
            session_id: session(&request.session_id),
            results,
            errors,
            warnings: (!warnings.is_empty()).then_some(warnings),
            usage: usage(&[
                ("sku_extract_excerpts", with_excerpts as u64),
                ("sku_extract_full_content", with_full as u64),
            ]),
        }
    }

    /// Answers `tenant`'s search request.
    pub async fn search(&self, tenant: &str, request: &SearchRequest) -> SearchResponse {
        let mut queries = request.search_queries.clone();
        if let Some(objective) = &request.objective {
            if queries.is_empty() || request.mode == SearchMode::Advanced {
                queries.push(objective.clone());
            }
        }
        let policy = request
            .source_policy
            .as_ref()
            .map(SourcePolicy::from_json)
            .unwrap_or_default();
        let max_results = request.max_results;
        let to_read = match request.mode {
            SearchMode::Advanced => (max_results * 2).min(ADVANCED_MAX_READ).max(max_results),
            _ => max_results,
        };
        let candidates = read::search(
            &self.providers,
            tenant,
            &queries,
            &policy,
            (to_read * 2).max(10),
            true,
        )
        .await;
        let mut warnings = candidates.warnings;
        if request.location.is_some() {
            warnings.push(json!({
                "type": "warning",
                "message": "location was accepted but the configured search providers do not geo-target results",
            }));
        }

        let mut options = self.read_options(
            &request.fetch_policy,
            IndexUse::Prefer {
                max_age: request.fetch_policy.max_age,
            },
        );
        match request.mode {
            SearchMode::Turbo => options.fetch = false,
            SearchMode::Fast => {
                options.cache.timeout = Some(
                    options
                        .cache
                        .timeout
                        .map_or(FAST_FETCH_TIMEOUT, |t| t.min(FAST_FETCH_TIMEOUT)),
                )
            }
            SearchMode::Basic | SearchMode::Advanced => {}
        }

        // Read candidates in search order until `to_read` pages are in hand; a page that
        // cannot be read falls back to its snippet, or gives way to the next candidate.
        let providers = &self.providers;
        let options = &options;
        let mut reads =
            futures::stream::iter(candidates.urls.into_iter().map(|candidate| async move {
                let read = read_page(providers, tenant, &candidate.url, options).await;
                (candidate, read)
            }))
            .buffered(SEARCH_READ_CONCURRENCY);
        let mut found: Vec<Found> = Vec::new();
        // Final addresses already in the results: candidates that redirect to one page
        // are one result.
        let mut seen_urls: HashSet<String> = HashSet::new();
        while let Some((candidate, read)) = reads.next().await {
            let found_one = match read {
                Ok(page) if !seen_urls.insert(page.url.clone()) => None,
                Ok(page)
                    if policy.allows_url(&page.url)
                        && policy.allows_date(page.published.or(candidate.published)) =>
                {
                    Some(Found::Page(candidate, page))
                }
                Ok(_) => None,
                Err(_)
                    if candidate
                        .snippet
                        .as_deref()
                        .is_some_and(|s| !s.trim().is_empty()) =>
                {
                    Some(Found::Snippet(candidate))
                }
                Err(_) => None,
            };
            if let Some(found_one) = found_one {
                found.push(found_one);
                if found.len() >= to_read {
                    break;
                }
            }
        }
        drop(reads);

        let per_result = request.excerpts.per_result.unwrap_or(match request.mode {
            SearchMode::Turbo => 1000,
            SearchMode::Fast => 1500,
            SearchMode::Basic => 3000,
            SearchMode::Advanced => 5000,
        });
        let query = query_text(request.objective.as_deref(), &request.search_queries);
        let pages: Vec<Arc<Extracted>> = found
            .iter()
            .filter_map(|f| match f {
                Found::Page(_, page) => Some(page.extracted.clone()),
                Found::Snippet(_) => None,
            })
            .collect();
        let mut chosen = if request.excerpts.enabled {
            select_excerpts(pages, query, per_result, request.excerpts.total)
                .await
                .into_iter()
        } else {
            vec![excerpts::PageExcerpts::default(); pages.len()].into_iter()
        };
        let mut results: Vec<(f32, usize, WebSearchResult)> = Vec::new();
        for (position, f) in found.into_iter().enumerate() {
            let (result, score) = match f {
                Found::Page(candidate, page) => {
                    let chosen = chosen.next().unwrap_or_default();
                    if chosen.excerpts.is_empty() && request.excerpts.enabled {
                        continue;
                    }
                    (
                        WebSearchResult {
                            url: page.url,
                            title: page.title.or(candidate.title),
                            publish_date: page
                                .published
                                .or(candidate.published)
                                .map(|d| d.format("%Y-%m-%d").to_string()),
                            excerpts: chosen.excerpts,
                        },
                        chosen.best_score,
                    )
                }
                Found::Snippet(candidate) => (
                    WebSearchResult {
                        url: candidate.url,
                        title: candidate.title,
                        publish_date: candidate
                            .published
                            .map(|d| d.format("%Y-%m-%d").to_string()),
                        excerpts: if request.excerpts.enabled {
                            candidate
                                .snippet
                                .map(|s| vec![excerpts::cut_at_word(&s, per_result).to_owned()])
                                .unwrap_or_default()
                        } else {
                            Vec::new()
                        },
                    },
                    0.0,
                ),
            };
            results.push((score, position, result));
        }
        if request.mode == SearchMode::Advanced {
            // A page whose best passage answers the query better rises, but search order
            // still weighs twice as much as the passage score (both scaled to 0..1): on
            // bench/search's 76 questions, hit@1 is 78.9 % in search order, 75.0 % with
            // order weighted 0.5, 81.6 % at 1, 86.8 % at 2 and at 4.
            let top = results.iter().map(|r| r.0).fold(0.0f32, f32::max).max(1e-6);
            let n = results.len().max(1) as f32;
            results.sort_by(|a, b| {
                let rank_a = a.0 / top + SEARCH_ORDER_WEIGHT * (1.0 - a.1 as f32 / n);
                let rank_b = b.0 / top + SEARCH_ORDER_WEIGHT * (1.0 - b.1 as f32 / n);
                rank_b.total_cmp(&rank_a).then(a.1.cmp(&b.1))
            });
        }
        let results: Vec<WebSearchResult> = results
            .into_iter()
            .take(max_results)
            .map(|(_, _, r)| r)
            .collect();
        let additional = results
            .len()
            .saturating_sub(parallax_api::web::DEFAULT_SEARCH_RESULTS);
        SearchResponse {
            search_id: ids::new_id(SEARCH_PREFIX),
            session_id: session(&request.session_id),
            results,
            warnings: (!warnings.is_empty()).then_some(warnings),
            usage: usage(&[
                ("sku_search", 1),
                ("sku_search_additional_results", additional as u64),
            ]),
        }
    }
}

/// A search candidate, read or known only by its snippet.
enum Found {
    Page(Candidate, PageRead),
    Snippet(Candidate),
}

/// [`excerpts::select`] on a blocking thread: ranking every passage of every page is CPU
/// work (milliseconds for a batch), which would stall the other requests on this async
/// worker and keep the batch on one core.
async fn select_excerpts(
    pages: Vec<Arc<Extracted>>,
    query: String,
    per_page: usize,
    total: Option<usize>,
) -> Vec<excerpts::PageExcerpts> {
    let joined = tokio::task::spawn_blocking(move || {
        let stage = timing::Stage::start("excerpts");
        let pages: Vec<&Extracted> = pages.iter().map(|p| &**p).collect();
        let chosen = excerpts::select(&pages, &query, per_page, total);
        stage.end(pages.len());
        chosen
    })
    .await;
    match joined {
        Ok(chosen) => chosen,
        // As if it had run here: a panic is the request's, not swallowed.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

fn query_text(objective: Option<&str>, queries: &[String]) -> String {
    let mut text = objective.unwrap_or_default().to_owned();
    for q in queries {
        text.push(' ');
        text.push_str(q);
    }
    text
}

fn session(given: &Option<String>) -> String {
    given.clone().unwrap_or_else(|| ids::new_id(SESSION_PREFIX))
}

fn stale_warning(url: &str, error: &crate::fetch::FetchError) -> Value {
    json!({
        "type": "warning",
        "message": format!("{url}: the live fetch failed ({error}); a cached copy older than the requested max age was used"),
        "detail": {"url": url, "error_type": error.error_type()},
    })
}
