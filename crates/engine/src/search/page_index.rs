//! [`PageIndex`]: what the pipeline needs from "the index of pages read", whatever holds it.
//!
//! Two implementations exist: [`LocalIndex`] (tantivy in the data directory, the embedded
//! default) here, and the PostgreSQL one the CLI builds over `parallax_store::pages` when a
//! server runs with `--database-url` (so that every node sees every page its tenant may see).
//! The engine does not depend on the store; the adapter lives where both are known.

use std::sync::Arc;

use async_trait::async_trait;

use super::{IndexedPage, LocalIndex, SearchError, SearchProvider};

/// The index of pages read: searched as the `local` provider, read back by URL (a held copy
/// spares a fetch), and filled by the background [`super::Indexer`].
///
/// Visibility is the implementation's duty: a tenant's search and [`PageIndex::get_visible`]
/// answer its own pages and the shared ones (`owner` `None`), never another tenant's.
#[async_trait]
pub trait PageIndex: SearchProvider + 'static {
    /// The page under `url` that `tenant` may see (its own copy first, else the shared one);
    /// `None` also when the index cannot be read (which the implementation logs).
    async fn get_visible(&self, url: &str, tenant: Option<&str>) -> Option<IndexedPage>;

    /// Adds (or replaces, by owner and URL) a batch of pages and makes them searchable before
    /// returning. Blocks the calling thread: the [`super::Indexer`] calls it from its own
    /// thread, never from a request.
    fn add_pages_blocking(&self, pages: Vec<IndexedPage>) -> Result<(), SearchError>;

    /// How many pages the index holds (for the operator's log at start).
    async fn count(&self) -> Result<usize, SearchError>;

    /// This index as a search provider (its name is `local`).
    fn as_provider(self: Arc<Self>) -> Arc<dyn SearchProvider>;
}

#[async_trait]
impl PageIndex for LocalIndex {
    async fn get_visible(&self, url: &str, tenant: Option<&str>) -> Option<IndexedPage> {
        let (index, url, tenant) = (self.clone(), url.to_owned(), tenant.map(str::to_owned));
        // Reading the index is disk I/O: off the async workers.
        tokio::task::spawn_blocking(move || {
            LocalIndex::get_visible(&index, &url, tenant.as_deref())
        })
        .await
        .ok()
        .flatten()
    }

    fn add_pages_blocking(&self, pages: Vec<IndexedPage>) -> Result<(), SearchError> {
        for page in pages {
            let url = page.url.clone();
            if let Err(error) = self.add_page(page) {
                tracing::warn!(%url, %error, "could not add a page to the local index");
            }
        }
        self.commit()
    }

    async fn count(&self) -> Result<usize, SearchError> {
        Ok(self.len())
    }

    fn as_provider(self: Arc<Self>) -> Arc<dyn SearchProvider> {
        self
    }
}
