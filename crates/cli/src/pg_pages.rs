//! The PostgreSQL index of pages as the engine's [`PageIndex`]: with `--database-url`, what
//! every node reads goes to one `pages` table (SQL in `parallax_store::pages`), so a search
//! on any node finds every page its tenant may see.
//!
//! This adapter lives in the CLI because it is the one crate that knows both sides: the
//! engine does not depend on the store (and should not: it runs without any database), and
//! the store does not know the engine's types.

use std::sync::Arc;

use async_trait::async_trait;
use parallax_engine::search::{
    IndexedPage, PageIndex, SearchError, SearchHit, SearchProvider, SearchQuery,
};
use parallax_store::pages::{PgPages, StoredPage};

/// The `local` provider over PostgreSQL.
#[derive(Clone, Debug)]
pub struct PgPageIndex {
    pages: PgPages,
    /// The runtime the indexer thread's batches run on.
    runtime: tokio::runtime::Handle,
}

impl PgPageIndex {
    /// Wraps `pages`; call from within the tokio runtime that will run its queries.
    pub fn new(pages: PgPages) -> Self {
        PgPageIndex {
            pages,
            runtime: tokio::runtime::Handle::current(),
        }
    }
}

fn index_error(e: parallax_store::StoreError) -> SearchError {
    SearchError::Index {
        message: format!("PostgreSQL: {e}"),
    }
}

pub fn stored(page: IndexedPage) -> StoredPage {
    StoredPage {
        url: page.url,
        owner: page.owner,
        title: page.title,
        text: page.text,
        published: page.published,
        fetched_at: page.fetched_at,
    }
}

#[async_trait]
impl SearchProvider for PgPageIndex {
    fn name(&self) -> &str {
        "local"
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>, SearchError> {
        let hits = self
            .pages
            .search(
                &query.text,
                query.tenant.as_deref(),
                query.max_results,
                query.snippets,
            )
            .await
            .map_err(index_error)?;
        Ok(hits
            .into_iter()
            .map(|hit| SearchHit {
                url: hit.url,
                title: hit.title,
                snippet: hit.snippet,
                published: hit.published,
                score: hit.score,
                provider: "local".to_string(),
            })
            .collect())
    }
}

#[async_trait]
impl PageIndex for PgPageIndex {
    async fn get_visible(&self, url: &str, tenant: Option<&str>) -> Option<IndexedPage> {
        match self.pages.get_visible(url, tenant).await {
            Ok(page) => page.map(|p| IndexedPage {
                url: p.url,
                owner: p.owner,
                title: p.title,
                text: p.text,
                published: p.published,
                fetched_at: p.fetched_at,
            }),
            Err(error) => {
                tracing::warn!(%error, url, "cannot read a page from the PostgreSQL index");
                None
            }
        }
    }

    fn add_pages_blocking(&self, pages: Vec<IndexedPage>) -> Result<(), SearchError> {
        let pages: Vec<StoredPage> = pages.into_iter().map(stored).collect();
        self.runtime
            .block_on(self.pages.upsert(&pages))
            .map_err(index_error)
    }

    async fn count(&self) -> Result<usize, SearchError> {
        self.pages.count().await.map_err(index_error)
    }

    fn as_provider(self: Arc<Self>) -> Arc<dyn SearchProvider> {
        self
    }
}
