//! Search providers: where the research pipeline finds candidate sources.
//!
//! Every provider implements [`SearchProvider`]: it takes a [`SearchQuery`] (free text and a
//! result count) and answers [`SearchHit`]s (url, title, snippet, publish date, score, and the
//! provider's name). Three providers are real implementations:
//!
//! - [`LocalIndex`] (`local`): a tantivy full-text index in the data directory (the server
//!   passes `<data-dir>/index`). It holds every page the server has fetched and whatever an
//!   operator added with `parallax index add`, is searched with BM25 over the title (boosted)
//!   and the body, and keeps each page's text so the pipeline can reuse it without fetching
//!   ([`LocalIndex::get`]). It needs no network, which is what makes a fresh server useful
//!   offline. See [`LocalIndex`] for durability and concurrency. It is one [`PageIndex`]:
//!   with `--database-url` the CLI puts PostgreSQL's (`parallax_store::pages`) in its place,
//!   under the same name, so that every node sees the same pages.
//! - [`SearxngProvider`] (`searxng`): a SearXNG instance's JSON API
//!   (`GET {base}/search?q=…&format=json`; the instance must list `json` under
//!   `search.formats` in its `settings.yml`).
//! - [`WikipediaProvider`] (`wikipedia`): the MediaWiki search API of any wiki
//!   (`action=query&list=search`), English Wikipedia by default in the server's configuration.
//!
//! [`MultiSearch`] queries several providers concurrently and merges their answers by URL,
//! tolerating the failure of some of them (it fails only when all of them do).
//!
//! Ingest helpers for `parallax index add`: [`pages_from_path`] turns a file or a folder
//! (recursively: `.html`/`.htm`, read by the one main-content extractor as the Extract API
//! reads them; `.txt`, `.md` as they are) into [`IndexedPage`]s, and
//! [`urls_from_sitemap`] / [`parse_sitemap`] read the `<loc>` entries of a sitemap or a
//! sitemap index, so that the caller can fetch them with the fetcher and add the pages.
//!
//! Free text is never parsed as query syntax anywhere in this module: quotes, colons,
//! parentheses, `AND`/`OR`/`NOT` and leading `-` are ordinary words or separators, so no user
//! input can produce a query-syntax error.
//!
//! The HTTP providers call URLs the operator configured (`--searxng-url`, the wiki's API
//! address), never URLs that come from a request, so they do not go through the fetcher's
//! SSRF guard; they do have timeouts ([`DEFAULT_TIMEOUT`] unless set) and a cap on the size
//! of the answer they read.
//!
//! Scores are "higher is better" and comparable only within one provider's answer (BM25 for
//! `local`, SearXNG's own score, a rank-based score for `wikipedia`); [`MultiSearch`]
//! normalises each provider's scores before merging.

use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;

mod http;
mod indexer;
mod ingest;
mod local;
mod multi;
mod page_index;
mod searxng;
mod text;
mod wikipedia;

pub use indexer::Indexer;
pub use ingest::{pages_from_path, parse_sitemap, urls_from_sitemap, Sitemap};
pub use local::{IndexedPage, LocalIndex, COMMIT_EVERY_PAGES, COMMIT_INTERVAL};
pub use multi::{MergedHit, MultiSearch, MultiSearchResult, ProviderFailure};
pub use page_index::PageIndex;
pub use searxng::SearxngProvider;
pub use wikipedia::WikipediaProvider;

/// How long an HTTP provider waits for a whole answer unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A search as the pipeline asks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Free text, as typed by a user or planned by the pipeline; never parsed as syntax.
    pub text: String,
    /// The most hits wanted; providers may answer fewer. Zero answers no hits.
    pub max_results: usize,
    /// The tenant searching: the local index answers its pages and the shared ones; `None`
    /// sees shared pages only. Web providers ignore it.
    pub tenant: Option<String>,
    /// Whether hits need snippets. The local index builds each by re-reading and stemming the
    /// page's text; a caller that reads the pages themselves (the research pipeline) skips
    /// that. Web providers send snippets anyway.
    pub snippets: bool,
}

impl SearchQuery {
    /// A query for `text` wanting at most `max_results` hits, with snippets, over shared pages.
    pub fn new(text: impl Into<String>, max_results: usize) -> Self {
        SearchQuery {
            text: text.into(),
            max_results,
            tenant: None,
            snippets: true,
        }
    }

    /// The same query made by `tenant`.
    pub fn for_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// The same query, without snippets from the local index.
    pub fn without_snippets(mut self) -> Self {
        self.snippets = false;
        self
    }
}

/// One result of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The page's address (for local files, a `file://` URL).
    pub url: String,
    /// The page's title, when the provider knows it.
    pub title: Option<String>,
    /// A short plain-text passage of the page around the query's words (no markup).
    pub snippet: Option<String>,
    /// When the page was published, when the provider knows it.
    pub published: Option<NaiveDate>,
    /// Relevance, higher is better; comparable only within one provider's answer (see the
    /// module documentation).
    pub score: f32,
    /// The name of the provider that found it ([`SearchProvider::name`]); for a
    /// [`MultiSearch`], every provider that found it, joined by commas.
    pub provider: String,
}

/// Why a search (or an index operation) failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SearchError {
    /// The local index could not be opened, read or written.
    #[error("local index: {message}")]
    Index {
        /// What tantivy reported.
        message: String,
    },
    /// Another writer (in this process or another one, such as a running server) holds the
    /// local index's write lock.
    #[error(
        "the local index at {dir} is being written by another process (is a Parallax server \
         running on this data directory?); try again when it is stopped"
    )]
    IndexLocked {
        /// The index directory.
        dir: String,
    },
    /// A file or folder could not be read.
    #[error("{path}: {message}")]
    Io {
        /// The path concerned.
        path: String,
        /// What the system reported.
        message: String,
    },
    /// A path given to [`pages_from_path`] is not a kind of file that can be indexed.
    #[error("{path}: cannot index this kind of file (supported: .html, .htm, .txt, .md)")]
    Unsupported {
        /// The path concerned.
        path: String,
    },
    /// A provider is misconfigured (a bad base URL, for instance).
    #[error("{provider}: invalid configuration: {message}")]
    Config {
        /// The provider's name.
        provider: String,
        /// What is wrong.
        message: String,
    },
    /// The provider could not be reached, or the connection broke.
    #[error("{provider}: request failed: {message}")]
    Request {
        /// The provider's name.
        provider: String,
        /// The underlying error, with its causes.
        message: String,
    },
    /// The provider did not answer in time.
    #[error("{provider}: no answer within {}s", after.as_secs_f32())]
    Timeout {
        /// The provider's name.
        provider: String,
        /// The timeout that elapsed.
        after: Duration,
    },
    /// The provider answered with an HTTP error status.
    #[error("{provider}: HTTP {status}{}", if hint.is_empty() { String::new() } else { format!(" ({hint})") })]
    Status {
        /// The provider's name.
        provider: String,
        /// The HTTP status code.
        status: u16,
        /// An explanation, when one is known, else the start of the answer's body.
        hint: String,
    },
    /// The provider's answer could not be understood.
    #[error("{provider}: unexpected answer: {message}")]
    Decode {
        /// The provider's name.
        provider: String,
        /// What was wrong with it.
        message: String,
    },
    /// The provider understood the request and refused it (MediaWiki's `error` object).
    #[error("{provider}: {message}")]
    Refused {
        /// The provider's name.
        provider: String,
        /// The provider's own message.
        message: String,
    },
    /// Every provider of a [`MultiSearch`] failed.
    #[error("every search provider failed: {}", failures.iter().map(|f| f.error.to_string()).collect::<Vec<_>>().join("; "))]
    AllFailed {
        /// Each provider's failure.
        failures: Vec<ProviderFailure>,
    },
}

/// A source of search hits.
#[async_trait]
pub trait SearchProvider: Send + Sync {
    /// The provider's name, as it appears in [`SearchHit::provider`] (`local`, `searxng`,
    /// `wikipedia`, …).
    fn name(&self) -> &str;

    /// Searches for `query`, best hits first, at most `query.max_results` of them. Free text
    /// never fails as syntax; an empty query answers no hits.
    async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>, SearchError>;
}
