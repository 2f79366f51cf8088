//! [`MultiSearch`]: several providers at once, merged by URL.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::join_all;
use url::Url;

use super::{SearchError, SearchHit, SearchProvider, SearchQuery};

/// Queries several providers concurrently and merges their hits by URL.
///
/// Each provider's scores are first normalised to [0, 1] by dividing by its best score
/// (providers' raw scores are not comparable; a provider without positive scores gets
/// rank-based ones). Hits for the same page (URLs equal once
/// parsed, ignoring the `#fragment`) become one [`MergedHit`] that keeps the best normalised
/// score, the title/snippet/date of the best-scoring hit (completed from the others when it
/// lacks one), and the names of every provider that found it. The merged list is sorted by
/// score, then by how many providers found the page, then by rank within its provider, then
/// by provider order, and cut to `max_results`.
///
/// A failing provider is logged (`warn`) and reported in [`MultiSearchResult::failures`];
/// the search fails only when every provider failed. With no provider, it answers no hits.
#[derive(Clone, Default)]
pub struct MultiSearch {
    providers: Vec<Arc<dyn SearchProvider>>,
}

/// A page found by one or more providers.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedHit {
    /// The best hit for the page, with its normalised score; `hit.provider` is the provider
    /// of that best hit.
    pub hit: SearchHit,
    /// Every provider that found the page, in provider order.
    pub providers: Vec<String>,
}

/// A provider that failed during a [`MultiSearch`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderFailure {
    /// The provider's name.
    pub provider: String,
    /// Why it failed.
    pub error: SearchError,
}

/// What [`MultiSearch::search_all`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiSearchResult {
    /// Merged hits, best first.
    pub hits: Vec<MergedHit>,
    /// The providers that failed (the others' hits are still in `hits`).
    pub failures: Vec<ProviderFailure>,
}

impl std::fmt::Debug for MultiSearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiSearch")
            .field("providers", &self.provider_names())
            .finish()
    }
}

impl MultiSearch {
    /// Combines `providers`; their order breaks ties between equally scored hits.
    pub fn new(providers: Vec<Arc<dyn SearchProvider>>) -> Self {
        MultiSearch { providers }
    }

    /// The providers' names, in order.
    pub fn provider_names(&self) -> Vec<&str> {
        self.providers.iter().map(|p| p.name()).collect()
    }

    /// Searches every provider concurrently and merges the hits, reporting the providers
    /// that failed. Errs with [`SearchError::AllFailed`] only when every provider failed.
    pub async fn search_all(&self, query: &SearchQuery) -> Result<MultiSearchResult, SearchError> {
        let answers = join_all(self.providers.iter().map(|p| p.search(query))).await;
        let mut failures = Vec::new();
        let mut lists = Vec::new();
        for (provider, answer) in self.providers.iter().zip(answers) {
            match answer {
                Ok(hits) => lists.push(hits),
                Err(error) => {
                    tracing::warn!(
                        provider = provider.name(),
                        %error,
                        "search provider failed; continuing with the others"
                    );
                    failures.push(ProviderFailure {
                        provider: provider.name().to_string(),
                        error,
                    });
                }
            }
        }
        if !self.providers.is_empty() && lists.is_empty() {
            return Err(SearchError::AllFailed { failures });
        }
        Ok(MultiSearchResult {
            hits: merge(lists, query.max_results),
            failures,
        })
    }
}

/// The key under which two URLs are the same page: parsed (so scheme and host case, default
/// ports and an empty path are normalised) without the fragment.
fn page_key(url: &str) -> String {
    match Url::parse(url.trim()) {
        Ok(mut parsed) => {
            parsed.set_fragment(None);
            parsed.to_string()
        }
        Err(_) => url.trim().to_string(),
    }
}

struct Slot {
    merged: MergedHit,
    /// Index of the provider list that first found the page, for stable tie-breaking.
    first_list: usize,
    first_rank: usize,
}

fn merge(lists: Vec<Vec<SearchHit>>, max_results: usize) -> Vec<MergedHit> {
    let mut slots: Vec<Slot> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (list_index, hits) in lists.into_iter().enumerate() {
        let best = hits
            .iter()
            .map(|h| h.score)
            .filter(|s| s.is_finite())
            .fold(0.0_f32, f32::max);
        let count = hits.len();
        for (rank, mut hit) in hits.into_iter().enumerate() {
            hit.score = if best > 0.0 {
                if hit.score.is_finite() && hit.score > 0.0 {
                    hit.score / best
                } else {
                    0.0
                }
            } else {
                // No usable scores at all: fall back on the order, within (0, 1].
                (count - rank) as f32 / count as f32
            };
            match by_key.get(&page_key(&hit.url)) {
                None => {
                    by_key.insert(page_key(&hit.url), slots.len());
                    slots.push(Slot {
                        merged: MergedHit {
                            providers: vec![hit.provider.clone()],
                            hit,
                        },
                        first_list: list_index,
                        first_rank: rank,
                    });
                }
                Some(&slot) => {
                    let merged = &mut slots[slot].merged;
                    if !merged.providers.contains(&hit.provider) {
                        merged.providers.push(hit.provider.clone());
                    }
                    let (mut better, worse) = if hit.score > merged.hit.score {
                        (hit, merged.hit.clone())
                    } else {
                        (merged.hit.clone(), hit)
                    };
                    better.title = better.title.or(worse.title);
                    better.snippet = better.snippet.or(worse.snippet);
                    better.published = better.published.or(worse.published);
                    merged.hit = better;
                }
            }
        }
    }
    slots.sort_by(|a, b| {
        b.merged
            .hit
            .score
            .total_cmp(&a.merged.hit.score)
            .then(b.merged.providers.len().cmp(&a.merged.providers.len()))
            .then(a.first_rank.cmp(&b.first_rank))
            .then(a.first_list.cmp(&b.first_list))
    });
    slots
        .into_iter()
        .take(max_results)
        .map(|s| s.merged)
        .collect()
}

#[async_trait]
impl SearchProvider for MultiSearch {
    /// `multi`.
    fn name(&self) -> &str {
        "multi"
    }

    /// The merged hits of [`MultiSearch::search_all`], each hit's `provider` listing every
    /// provider that found the page, joined by commas.
    async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>, SearchError> {
        let result = self.search_all(query).await?;
        Ok(result
            .hits
            .into_iter()
            .map(|m| SearchHit {
                provider: m.providers.join(","),
                ..m.hit
            })
            .collect())
    }
}
