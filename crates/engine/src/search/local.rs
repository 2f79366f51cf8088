//! The `local` provider: a tantivy index of web pages in the data directory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use tantivy::collector::TopDocs;
use tantivy::directory::error::LockError;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    DateOptions, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED,
    STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer,
};
use tantivy::{
    DateTime as TantivyDateTime, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument,
    TantivyError, Term,
};

use super::text::{collapse_whitespace, non_empty, truncate_chars};
use super::{SearchError, SearchHit, SearchProvider, SearchQuery};

const NAME: &str = "local";

/// Uncommitted pages after which [`LocalIndex::add_page`] commits by itself.
pub const COMMIT_EVERY_PAGES: usize = 1000;

/// Age of the oldest uncommitted page after which the next [`LocalIndex::add_page`] commits.
pub const COMMIT_INTERVAL: Duration = Duration::from_secs(30);

/// The analyzer of titles and bodies (registered under this name on every open; tantivy does
/// not store analyzers, only their names in the schema).
const TOKENIZER: &str = "parallax_en";
/// How much more a query word found in the title weighs than one found in the body.
const TITLE_BOOST: f32 = 2.0;
/// Words of a query beyond this many are ignored (the pipeline may search with long text).
const MAX_QUERY_TERMS: usize = 64;
/// Most hits one search returns, whatever `max_results` asks.
const MAX_HITS: usize = 1000;
/// Snippet length, in characters.
const SNIPPET_CHARS: usize = 300;
/// Only this much of a page's text (in bytes) is scanned for its snippet.
const SNIPPET_SCAN_BYTES: usize = 200_000;
/// The writer's indexing memory (one thread).
const WRITER_MEMORY: usize = 32 * 1024 * 1024;

/// The owner term of shared pages (tenant ids never equal it).
const SHARED_OWNER: &str = "*";

/// A web page as the local index stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedPage {
    /// The page's address; unique per owner (adding a page with the same URL and owner
    /// replaces it).
    pub url: String,
    /// The tenant the page was read for, or `None` for a shared page (one the operator added
    /// with `parallax index add`). A tenant's page is visible to that tenant only: what one
    /// tenant reads, another cannot discover by searching.
    pub owner: Option<String>,
    /// The page's title.
    pub title: Option<String>,
    /// The page's text (already extracted from HTML/PDF).
    pub text: String,
    /// When the page was published, when known.
    pub published: Option<NaiveDate>,
    /// When the page was fetched or read; stored to the second.
    pub fetched_at: chrono::DateTime<Utc>,
}

/// The `local` search provider: a tantivy index of [`IndexedPage`]s in one directory.
///
/// Titles and bodies are analysed the same way (Unicode words, lower-cased, ASCII-folded,
/// English stemming). A search takes the query's words through that analyzer (English stop
/// words are dropped unless nothing else is left), and scores pages by BM25 over the title
/// (counted twice) and the body; no query syntax is ever parsed. Hits carry a
/// plain-text snippet of the body around the query's words.
///
/// **Durability.** Added pages are buffered by a writer that stays open between calls and
/// become searchable and durable together, at a commit: when [`LocalIndex::commit`] is
/// called, when [`COMMIT_EVERY_PAGES`] pages are pending, at the first `add_page` once the
/// oldest pending page is [`COMMIT_INTERVAL`] old, and, best effort, when the last handle is
/// dropped. A crash loses only the pages added since the last commit; tantivy commits
/// atomically, so the index itself is never left half-written.
///
/// **Concurrency.** A `LocalIndex` is a cheap handle ([`Clone`]) that is `Send + Sync`: any
/// number of concurrent searches and [`LocalIndex::get`]s, and writes from any thread
/// (serialised internally). Searches see the last commit (this handle's immediately, another
/// process's within about a second). Only one writer may exist per directory: open the
/// index once per process and share the handle. The writer (and its lock file) is taken at
/// the first `add_page`; another process adding to the same directory meanwhile gets
/// [`SearchError::IndexLocked`]. [`LocalIndex::release_writer`] gives the lock back.
///
/// `add_page`, `commit` and `get` block on disk I/O; from async code, call them through
/// `tokio::task::spawn_blocking` (the [`SearchProvider`] implementation does so itself).
#[derive(Clone)]
pub struct LocalIndex {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Query analyzer without stop words (same tokens as the index's analyzer).
    query_analyzer: TextAnalyzer,
    /// The fallback query analyzer, keeping stop words.
    plain_analyzer: TextAnalyzer,
    writer: Mutex<WriterState>,
}

#[derive(Default)]
struct WriterState {
    writer: Option<IndexWriter>,
    pending: usize,
    oldest_pending: Option<Instant>,
}

#[derive(Clone, Copy)]
struct Fields {
    url: Field,
    title: Field,
    body: Field,
    published: Field,
    fetched_at: Field,
    /// [`SHARED_OWNER`] or the tenant id.
    owner: Field,
    /// Owner and URL: the identity a page replaces.
    key: Field,
}

fn page_key(owner: &str, url: &str) -> String {
    format!("{owner}\u{1}{url}")
}

impl std::fmt::Debug for LocalIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalIndex")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

fn index_err(e: TantivyError) -> SearchError {
    SearchError::Index {
        message: e.to_string(),
    }
}

fn analyzer(drop_stop_words: bool) -> TextAnalyzer {
    let base = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter);
    match StopWordFilter::new(Language::English).filter(|_| drop_stop_words) {
        Some(stop) => base
            .filter(stop)
            .filter(Stemmer::new(Language::English))
            .build(),
        None => base.filter(Stemmer::new(Language::English)).build(),
    }
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        url: builder.add_text_field("url", STRING | STORED),
        title: builder.add_text_field("title", text.clone()),
        body: builder.add_text_field("body", text),
        published: builder.add_date_field(
            "published",
            DateOptions::default().set_stored().set_indexed(),
        ),
        fetched_at: builder.add_date_field("fetched_at", DateOptions::default().set_stored()),
        owner: builder.add_text_field("owner", STRING | STORED),
        key: builder.add_text_field("key", STRING),
    };
    (builder.build(), fields)
}

fn to_tantivy_date(dt: chrono::DateTime<Utc>) -> TantivyDateTime {
    TantivyDateTime::from_timestamp_secs(dt.timestamp())
}

fn from_tantivy_date(dt: TantivyDateTime) -> Option<chrono::DateTime<Utc>> {
    chrono::DateTime::from_timestamp(dt.into_timestamp_secs(), 0)
}

impl LocalIndex {
    /// Opens the index in `dir`, creating the directory and an empty index if needed; an
    /// existing index is reopened with its pages. Fails if `dir` holds an index with another
    /// schema.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, SearchError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| SearchError::Io {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        let directory = MmapDirectory::open(&dir).map_err(|e| SearchError::Index {
            message: format!("cannot open {}: {e}", dir.display()),
        })?;
        let (schema, fields) = schema();
        let index = Index::open_or_create(directory, schema).map_err(|e| match e {
            TantivyError::SchemaError(message) => SearchError::Index {
                message: format!(
                    "{} holds an index of another layout ({message}); use another directory or \
                     remove it to rebuild",
                    dir.display()
                ),
            },
            e => index_err(e),
        })?;
        index.tokenizers().register(TOKENIZER, analyzer(false));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()
            .map_err(index_err)?;
        Ok(LocalIndex {
            inner: Arc::new(Inner {
                dir,
                index,
                reader,
                fields,
                query_analyzer: analyzer(true),
                plain_analyzer: analyzer(false),
                writer: Mutex::new(WriterState::default()),
            }),
        })
    }

    /// The index's directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Adds `page`, replacing any page with the same URL. The page becomes searchable (and
    /// durable) at the next commit; see the type's documentation. Blocks on I/O when it
    /// commits.
    pub fn add_page(&self, page: IndexedPage) -> Result<(), SearchError> {
        let url = page.url.trim();
        if url.is_empty() {
            return Err(SearchError::Index {
                message: "a page needs a URL".to_string(),
            });
        }
        let f = self.inner.fields;
        let owner = page.owner.as_deref().unwrap_or(SHARED_OWNER);
        let key = page_key(owner, url);
        let mut doc = TantivyDocument::default();
        doc.add_text(f.url, url);
        doc.add_text(f.owner, owner);
        doc.add_text(f.key, &key);
        if let Some(title) = page.title.as_deref().filter(|t| !t.trim().is_empty()) {
            doc.add_text(f.title, title);
        }
        doc.add_text(f.body, &page.text);
        if let Some(published) = page.published {
            doc.add_date(
                f.published,
                to_tantivy_date(published.and_time(chrono::NaiveTime::MIN).and_utc()),
            );
        }
        doc.add_date(f.fetched_at, to_tantivy_date(page.fetched_at));

        let mut state = self.inner.lock_writer();
        let writer = match state.writer.take() {
            Some(writer) => writer,
            None => self.inner.open_writer()?,
        };
        writer.delete_term(Term::from_field_text(f.key, &key));
        if let Err(e) = writer.add_document(doc) {
            // A writer whose workers failed stays broken: drop it (and the pages it held)
            // and start afresh next time.
            state.pending = 0;
            state.oldest_pending = None;
            return Err(index_err(e));
        }
        state.writer = Some(writer);
        state.pending += 1;
        let oldest = *state.oldest_pending.get_or_insert_with(Instant::now);
        if state.pending >= COMMIT_EVERY_PAGES || oldest.elapsed() >= COMMIT_INTERVAL {
            self.inner.commit_locked(&mut state)?;
        }
        Ok(())
    }

    /// Commits the pending pages: they become durable and searchable. A no-op when nothing
    /// is pending. On failure the pending pages are lost (the index keeps its last commit).
    pub fn commit(&self) -> Result<(), SearchError> {
        let mut state = self.inner.lock_writer();
        self.inner.commit_locked(&mut state)
    }

    /// Commits, waits for background segment merges and closes the writer, releasing the
    /// directory's write lock so that another process may write. The next
    /// [`LocalIndex::add_page`] takes it again.
    pub fn release_writer(&self) -> Result<(), SearchError> {
        let mut state = self.inner.lock_writer();
        self.inner.commit_locked(&mut state)?;
        if let Some(writer) = state.writer.take() {
            writer.wait_merging_threads().map_err(index_err)?;
        }
        Ok(())
    }

    /// The committed shared page stored under `url`, with its full text, or `None` (also
    /// when the index cannot be read, which is logged).
    pub fn get(&self, url: &str) -> Option<IndexedPage> {
        self.get_visible(url, None)
    }

    /// The committed page under `url` that `tenant` may see: its own copy, else the shared
    /// one. `None` for `tenant` sees shared pages only.
    pub fn get_visible(&self, url: &str, tenant: Option<&str>) -> Option<IndexedPage> {
        let owners = tenant.into_iter().chain(std::iter::once(SHARED_OWNER));
        let found = owners
            .map(|owner| self.inner.get(&page_key(owner, url.trim())))
            .find(|r| !matches!(r, Ok(None)));
        match found.unwrap_or(Ok(None)) {
            Ok(page) => page,
            Err(error) => {
                tracing::warn!(%error, url, "cannot read a page from the local index");
                None
            }
        }
    }

    /// How many pages the last commit holds.
    pub fn len(&self) -> usize {
        usize::try_from(self.inner.reader.searcher().num_docs()).unwrap_or(usize::MAX)
    }

    /// Whether the last commit holds no page.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Searches on the calling thread (the [`SearchProvider`] implementation runs this on
    /// tokio's blocking pool).
    pub fn search_blocking(&self, query: &SearchQuery) -> Result<Vec<SearchHit>, SearchError> {
        self.inner.search(query)
    }
}

impl Inner {
    fn lock_writer(&self) -> MutexGuard<'_, WriterState> {
        // A panic while holding the lock leaves nothing half-done that matters here: the
        // tantivy writer keeps its own consistency.
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn open_writer(&self) -> Result<IndexWriter, SearchError> {
        self.index
            .writer_with_num_threads(1, WRITER_MEMORY)
            .map_err(|e| match e {
                TantivyError::LockFailure(LockError::LockBusy, _) => SearchError::IndexLocked {
                    dir: self.dir.display().to_string(),
                },
                e => index_err(e),
            })
    }

    fn commit_locked(&self, state: &mut WriterState) -> Result<(), SearchError> {
        if state.pending > 0 {
            if let Some(writer) = state.writer.as_mut() {
                let committed = writer.commit();
                state.pending = 0;
                state.oldest_pending = None;
                if let Err(e) = committed {
                    state.writer = None;
                    return Err(index_err(e));
                }
            }
        }
        self.reader.reload().map_err(index_err)
    }

    fn get(&self, key: &str) -> Result<Option<IndexedPage>, SearchError> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(
            Term::from_field_text(self.fields.key, key),
            IndexRecordOption::Basic,
        );
        let top = searcher
            .search(&query, &TopDocs::with_limit(1))
            .map_err(index_err)?;
        match top.first() {
            None => Ok(None),
            Some(&(_, address)) => {
                let doc: TantivyDocument = searcher.doc(address).map_err(index_err)?;
                Ok(Some(self.page_from_doc(&doc)))
            }
        }
    }

    fn page_from_doc(&self, doc: &TantivyDocument) -> IndexedPage {
        let f = self.fields;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_string))
        };
        let date = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_datetime())
                .and_then(from_tantivy_date)
        };
        IndexedPage {
            url: text(f.url).unwrap_or_default(),
            owner: text(f.owner).filter(|o| o != SHARED_OWNER),
            title: text(f.title),
            text: text(f.body).unwrap_or_default(),
            published: date(f.published).map(|d| d.date_naive()),
            fetched_at: date(f.fetched_at).unwrap_or_default(),
        }
    }

    /// The query's index terms: analysed like the index, deduplicated, stop words dropped
    /// unless nothing else is left.
    fn query_terms(&self, text: &str) -> Vec<String> {
        let collect = |analyzer: &TextAnalyzer| {
            let mut analyzer = analyzer.clone();
            let mut stream = analyzer.token_stream(text);
            let mut terms: Vec<String> = Vec::new();
            while stream.advance() {
                let term = &stream.token().text;
                if !terms.iter().any(|t| t == term) {
                    terms.push(term.clone());
                }
                if terms.len() >= MAX_QUERY_TERMS {
                    break;
                }
            }
            terms
        };
        let terms = collect(&self.query_analyzer);
        if terms.is_empty() {
            collect(&self.plain_analyzer)
        } else {
            terms
        }
    }

    fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>, SearchError> {
        let limit = query.max_results.min(MAX_HITS);
        let terms = self.query_terms(&query.text);
        if limit == 0 || terms.is_empty() {
            return Ok(Vec::new());
        }
        let f = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len() * 2);
        for term in &terms {
            let title = TermQuery::new(
                Term::from_field_text(f.title, term),
                IndexRecordOption::WithFreqs,
            );
            let body = TermQuery::new(
                Term::from_field_text(f.body, term),
                IndexRecordOption::WithFreqs,
            );
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(title), TITLE_BOOST)),
            ));
            clauses.push((Occur::Should, Box::new(body)));
        }
        let words: Box<dyn Query> = Box::new(BooleanQuery::new(clauses));
        // Only pages this query's tenant may see: shared ones and its own.
        let owners: Vec<(Occur, Box<dyn Query>)> = query
            .tenant
            .as_deref()
            .into_iter()
            .chain(std::iter::once(SHARED_OWNER))
            .map(|owner| {
                let term = TermQuery::new(
                    Term::from_field_text(f.owner, owner),
                    IndexRecordOption::Basic,
                );
                (Occur::Should, Box::new(term) as Box<dyn Query>)
            })
            .collect();
        // Scored zero: visibility must not move the ranking.
        let visible: Box<dyn Query> = Box::new(ConstScoreQuery::new(
            Box::new(BooleanQuery::new(owners)),
            0.0,
        ));
        let tantivy_query = BooleanQuery::new(vec![(Occur::Must, words), (Occur::Must, visible)]);

        let searcher = self.reader.searcher();
        let top = searcher
            .search(&tantivy_query, &TopDocs::with_limit(limit))
            .map_err(index_err)?;
        let snippets = if query.snippets {
            let mut generator =
                SnippetGenerator::create(&searcher, &tantivy_query, f.body).map_err(index_err)?;
            generator.set_max_num_chars(SNIPPET_CHARS);
            Some(generator)
        } else {
            None
        };

        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address).map_err(index_err)?;
            let page = self.page_from_doc(&doc);
            let snippet = snippets
                .as_ref()
                .and_then(|generator| snippet_of(generator, &page.text));
            hits.push(SearchHit {
                url: page.url,
                title: page.title,
                snippet,
                published: page.published,
                score,
                provider: NAME.to_string(),
            });
        }
        Ok(hits)
    }
}

/// The snippet of a page's text: the passage around the query's words, or the page's
/// beginning when only its title matched.
fn snippet_of(generator: &SnippetGenerator, text: &str) -> Option<String> {
    let mut cut = text.len().min(SNIPPET_SCAN_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let scanned = &text[..cut];
    let fragment = collapse_whitespace(generator.snippet(scanned).fragment());
    if fragment.is_empty() {
        non_empty(&truncate_chars(
            &collapse_whitespace(scanned),
            SNIPPET_CHARS,
        ))
    } else {
        Some(fragment)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let state = self
            .writer
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.pending > 0 {
            if let Some(writer) = state.writer.as_mut() {
                match writer.commit() {
                    Ok(_) => {
                        tracing::debug!(pages = state.pending, "local index committed on close")
                    }
                    Err(error) => tracing::warn!(
                        %error,
                        pages = state.pending,
                        "local index: pending pages lost on close"
                    ),
                }
            }
        }
    }
}

#[async_trait]
impl SearchProvider for LocalIndex {
    fn name(&self) -> &str {
        NAME
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>, SearchError> {
        let index = self.clone();
        let query = query.clone();
        tokio::task::spawn_blocking(move || index.search_blocking(&query))
            .await
            .map_err(|e| SearchError::Index {
                message: format!("the search task failed: {e}"),
            })?
    }
}
