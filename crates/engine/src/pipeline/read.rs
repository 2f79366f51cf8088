//! Searching and reading: from queries to the pages a run reads.
//!
//! Every query goes to every provider at once. Lists from different queries are fused by
//! reciprocal rank (a page found by several queries rises; providers' raw scores are not
//! comparable), then the source policy filters them. Pages are then read in that order,
//! several at a time, until the processor's source budget is met: from the local index when
//! it holds the page (no network), otherwise fetched through the shared cache, extracted,
//! and added to the index so later runs and searches find it. A page that cannot be read is
//! skipped, and the next candidate takes its place. Monitors read the same way but fresh
//! ([`Freshness::Fresh`]): fetched live, a held copy only when the fetch fails.

use super::request::Request;
use super::{Providers, Source, SourcePassage};
use crate::extract::{self, Extracted};
use crate::fetch::CacheOptions;
use crate::policy::SourcePolicy;
use crate::search::{MultiSearch, SearchQuery};
use crate::web::page::{read_page, IndexUse, ReadOptions};
use chrono::NaiveDate;
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Pages read at once.
const READ_CONCURRENCY: usize = 8;
/// Longest passage, in characters.
pub const PASSAGE_CHARS: usize = 600;
/// Reciprocal-rank fusion constant.
const RRF_K: f32 = 60.0;

/// A page worth reading, best first.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub url: String,
    pub title: Option<String>,
    pub published: Option<NaiveDate>,
    /// The first provider snippet for the page, if any.
    pub snippet: Option<String>,
}

/// What the searches found.
#[derive(Debug, Default)]
pub struct Candidates {
    pub urls: Vec<Candidate>,
    /// Pages found that the source policy allows.
    pub considered: usize,
    /// Warnings for the run (providers that failed).
    pub warnings: Vec<Value>,
}

/// Puts the pages a run's memory cited first among `candidates`: once each, only those the
/// source policy allows, each counted as considered. They are read like the others.
pub fn add_remembered(candidates: &mut Candidates, urls: &[String], policy: &SourcePolicy) {
    let mut remembered: Vec<Candidate> = Vec::new();
    for url in urls {
        let known = candidates
            .urls
            .iter()
            .chain(&remembered)
            .any(|c| &c.url == url);
        if !known && policy.allows_url(url) {
            remembered.push(Candidate {
                url: url.clone(),
                title: None,
                published: None,
                snippet: None,
            });
        }
    }
    candidates.considered += remembered.len();
    candidates.urls.splice(0..0, remembered);
}

/// Runs every query on every provider (asking each for `per_query` results) and fuses the
/// results; candidates outside `policy` are left out. `snippets`: whether the candidates
/// need the providers' snippets (the Search API shows them; a run reads the pages instead,
/// and the local index then skips building them).
pub async fn search(
    providers: &Providers,
    tenant: &str,
    queries: &[String],
    policy: &SourcePolicy,
    per_query: usize,
    snippets: bool,
) -> Candidates {
    let multi = MultiSearch::new(providers.search.clone());
    let answers = futures::future::join_all(queries.iter().map(|q| {
        let mut query = SearchQuery::new(q.clone(), per_query).for_tenant(tenant);
        if !snippets {
            query = query.without_snippets();
        }
        let multi = multi.clone();
        async move { multi.search_all(&query).await }
    }))
    .await;
    let mut fused: HashMap<String, (f32, Candidate, usize)> = HashMap::new();
    let mut failed: Vec<String> = Vec::new();
    for answer in answers {
        match answer {
            Ok(result) => {
                for failure in result.failures {
                    failed.push(format!("{}: {}", failure.provider, failure.error));
                }
                for (rank, merged) in result.hits.into_iter().enumerate() {
                    let hit = merged.hit;
                    let order = fused.len();
                    let entry = fused.entry(hit.url.clone()).or_insert_with(|| {
                        (
                            0.0,
                            Candidate {
                                url: hit.url.clone(),
                                title: hit.title.clone(),
                                published: hit.published,
                                snippet: hit.snippet.clone(),
                            },
                            order,
                        )
                    });
                    entry.0 += 1.0 / (RRF_K + rank as f32 + 1.0);
                }
            }
            Err(e) => failed.push(e.to_string()),
        }
    }
    let mut ranked: Vec<(f32, Candidate, usize)> = fused
        .into_values()
        .filter(|(_, c, _)| policy.allows_url(&c.url) && policy.allows_date(c.published))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
    failed.sort();
    failed.dedup();
    Candidates {
        considered: ranked.len(),
        urls: ranked.into_iter().map(|(_, c, _)| c).collect(),
        warnings: failed
            .into_iter()
            .map(
                |f| json!({"type": "warning", "message": format!("A search provider failed: {f}")}),
            )
            .collect(),
    }
}

/// The pages read for a run.
#[derive(Debug, Default)]
pub struct Read {
    pub sources: Vec<Source>,
    /// Candidates that could not be read (fetch or extraction failed, or the policy refused
    /// the page once its final address or date was known).
    pub failures: usize,
}

/// How a run takes the pages it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Freshness {
    /// A task run: the local index's copy of a page when it holds one, else the fetch cache's
    /// copy up to the operator's maximum age, else a live fetch.
    #[default]
    Cached,
    /// A monitor's execution: every page fetched live (a page that changed since the last
    /// execution is read as it is now); a held copy (the fetch cache's, then the index's)
    /// answers only when the live fetch fails, since an unreachable page has, as far as
    /// anyone can tell, not changed.
    Fresh,
}

impl Freshness {
    fn options(self, providers: &Providers) -> ReadOptions {
        match self {
            Freshness::Cached => ReadOptions {
                cache: CacheOptions::max_age(providers.cache_max_age),
                index: IndexUse::Prefer { max_age: None },
                fetch: true,
            },
            Freshness::Fresh => ReadOptions {
                cache: CacheOptions {
                    max_age: std::time::Duration::ZERO,
                    timeout: None,
                    stale_fallback: true,
                },
                index: IndexUse::Fallback,
                fetch: true,
            },
        }
    }
}

/// Reads candidates in order until `budget` pages are read, as task runs read them
/// ([`Freshness::Cached`]).
pub async fn read_sources(
    providers: &Providers,
    tenant: &str,
    candidates: Vec<Candidate>,
    request: &Request,
    budget: usize,
) -> Read {
    read_sources_with(
        providers,
        tenant,
        candidates,
        request,
        budget,
        Freshness::Cached,
    )
    .await
}

/// Reads candidates in order until `budget` pages are read, taking each page as
/// `freshness` says.
pub async fn read_sources_with(
    providers: &Providers,
    tenant: &str,
    candidates: Vec<Candidate>,
    request: &Request,
    budget: usize,
    freshness: Freshness,
) -> Read {
    let mut read = Read::default();
    let options = freshness.options(providers);
    let options = &options;
    let mut pages = futures::stream::iter(
        candidates
            .into_iter()
            .map(|c| read_one(providers, tenant, c, options)),
    )
    .buffered(READ_CONCURRENCY);
    while let Some(page) = pages.next().await {
        match page {
            Some(source)
                if request.policy.allows_url(&source.url)
                    && request.policy.allows_date(source.published) =>
            {
                read.sources.push(source);
                if read.sources.len() >= budget {
                    break;
                }
            }
            _ => read.failures += 1,
        }
    }
    read
}

async fn read_one(
    providers: &Providers,
    tenant: &str,
    candidate: Candidate,
    options: &ReadOptions,
) -> Option<Source> {
    match read_page(providers, tenant, &candidate.url, options).await {
        Ok(page) => Some(source_from(
            &page.url,
            page.title.or(candidate.title),
            page.published.or(candidate.published),
            &page.extracted,
        )),
        Err(error) => {
            tracing::info!(url = %candidate.url, %error, "could not read a candidate page");
            None
        }
    }
}

fn source_from(
    url: &str,
    title: Option<String>,
    published: Option<NaiveDate>,
    extracted: &Extracted,
) -> Source {
    Source {
        url: url.to_owned(),
        title,
        published,
        passages: extract::passages(extracted, PASSAGE_CHARS)
            .into_iter()
            .map(|p| SourcePassage {
                text: p.text,
                heading: p.heading,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(url: &str) -> Candidate {
        Candidate {
            url: url.into(),
            title: None,
            published: None,
            snippet: None,
        }
    }

    #[test]
    fn remembered_pages_come_first_once_and_within_the_policy() {
        let mut found = Candidates {
            urls: vec![
                candidate("https://a.example/1"),
                candidate("https://c.example/"),
            ],
            considered: 2,
            warnings: Vec::new(),
        };
        let policy =
            SourcePolicy::from_json(&serde_json::json!({"exclude_domains": ["b.example"]}));
        let remembered = [
            "https://m.example/x",
            "https://b.example/refused",
            "https://a.example/1",
            "https://m.example/x",
            "https://n.example/y",
        ]
        .map(String::from);
        add_remembered(&mut found, &remembered, &policy);
        let urls: Vec<&str> = found.urls.iter().map(|c| c.url.as_str()).collect();
        assert_eq!(
            urls,
            vec![
                "https://m.example/x",
                "https://n.example/y",
                "https://a.example/1",
                "https://c.example/"
            ]
        );
        assert_eq!(found.considered, 4);
    }
}
