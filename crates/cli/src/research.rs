//! The research side of the binary: which search providers, fetcher and LLM the pipeline
//! uses (`serve` flags), and `parallax index add`, which fills the local index.

use crate::bounds;
use anyhow::{bail, Context};
use clap::Args;
use futures::StreamExt;
use parallax_engine::fetch::{
    ContentKind, FetchCache, Fetcher, FetcherConfig, DEFAULT_CACHE_BYTES,
};
use parallax_engine::llm::{LlmClient, LlmConfig};
use parallax_engine::pipeline::Providers;
use parallax_engine::search::{
    pages_from_path, parse_sitemap, IndexedPage, Indexer, LocalIndex, PageIndex, SearchProvider,
    SearchQuery, SearxngProvider, WikipediaProvider,
};
use parallax_engine::web::page::{extract_page, ExtractedCache, ReadError};
use parallax_store::pages::PgPages;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Pages fetched at once by `index add`.
const INDEX_FETCH_CONCURRENCY: usize = 8;

/// Search, fetch and LLM settings of `parallax serve`.
#[derive(Args, Clone, Debug)]
pub struct ResearchArgs {
    /// Search providers to query, comma-separated: local (the index in the data directory),
    /// searxng (needs --searxng-url), wikipedia. Wikipedia is on by default so that a fresh
    /// install answers its first question; a provider that cannot be reached is a warning on
    /// each run, never a failure (`--search local` keeps a server off the network).
    #[arg(
        long,
        env = "PARALLAX_SEARCH",
        value_delimiter = ',',
        default_value = "local,wikipedia"
    )]
    pub search: Vec<String>,
    /// Base URL of a SearXNG instance with the JSON format enabled.
    #[arg(long, env = "PARALLAX_SEARXNG_URL")]
    pub searxng_url: Option<String>,
    /// MediaWiki API of the wiki the `wikipedia` provider searches.
    #[arg(
        long,
        env = "PARALLAX_WIKIPEDIA_API",
        default_value = "https://en.wikipedia.org/w/api.php"
    )]
    pub wikipedia_api: String,
    /// Base URL of an OpenAI-compatible chat-completions API (Ollama: http://localhost:11434/v1).
    /// Without it, answers are extracted from the sources.
    #[arg(long, env = "PARALLAX_LLM_BASE_URL")]
    pub llm_base_url: Option<String>,
    /// Model name for the LLM API.
    #[arg(long, env = "PARALLAX_LLM_MODEL")]
    pub llm_model: Option<String>,
    /// API key for the LLM API, if it needs one.
    #[arg(long, env = "PARALLAX_LLM_API_KEY", hide_env_values = true)]
    pub llm_api_key: Option<String>,
    /// Seconds to wait for one LLM answer (1 to 3600).
    #[arg(long, env = "PARALLAX_LLM_TIMEOUT_SECONDS", default_value_t = 120,
          value_parser = bounds::whole::<u64>(1, 3600, "seconds"), allow_hyphen_values = true)]
    pub llm_timeout_seconds: u64,
    #[command(flatten)]
    pub fetch: FetchArgs,
    /// How old a cached page may be and still be used, in seconds (0, always fetch, to
    /// 31536000, a year).
    #[arg(long, env = "PARALLAX_CACHE_MAX_AGE_SECONDS", default_value_t = 3600,
          value_parser = bounds::whole::<u64>(0, 31_536_000, "seconds"), allow_hyphen_values = true)]
    pub cache_max_age_seconds: u64,
}

/// Fetch settings, shared by `serve` and `index add`.
#[derive(Args, Clone, Debug)]
pub struct FetchArgs {
    /// Allow fetching private, loopback and link-local addresses (refused by default, so
    /// that user-given URLs cannot reach the server's own network).
    #[arg(long, env = "PARALLAX_ALLOW_PRIVATE_FETCH")]
    pub allow_private_fetch: bool,
    /// Seconds to wait for one page (1 to 600).
    #[arg(long, env = "PARALLAX_FETCH_TIMEOUT_SECONDS", default_value_t = 15,
          value_parser = bounds::whole::<u64>(1, 600, "seconds"), allow_hyphen_values = true)]
    pub fetch_timeout_seconds: u64,
    /// Fetches of one host at once (1 to 256), for politeness; more wait their turn.
    #[arg(long, env = "PARALLAX_FETCH_PER_HOST", default_value_t = parallax_engine::fetch::DEFAULT_MAX_PER_HOST,
          value_parser = bounds::whole::<usize>(1, 256, "fetches"), allow_hyphen_values = true)]
    pub fetch_per_host: usize,
}

impl FetchArgs {
    pub fn fetcher(&self) -> anyhow::Result<Fetcher> {
        Fetcher::try_new(FetcherConfig {
            allow_private: self.allow_private_fetch,
            timeout: Duration::from_secs(self.fetch_timeout_seconds),
            max_per_host: self.fetch_per_host,
            ..FetcherConfig::default()
        })
        .context("could not set up the HTTP client")
    }
}

/// Where the local index lives in a data directory.
pub fn index_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("index")
}

/// With `--database-url` the pages searched are PostgreSQL's, so pages added to the data
/// directory's tantivy index before (by `parallax index add` without `--database-url`, or by
/// an earlier SQLite server) are not searched: says so at start rather than let them vanish
/// silently. Opening the index read-only is cheap and takes no write lock.
fn warn_of_unused_local_index(data_dir: &Path) {
    let dir = index_dir(data_dir);
    if !dir.join("meta.json").exists() {
        return;
    }
    if let Ok(index) = LocalIndex::open(&dir) {
        let pages = index.len();
        if pages > 0 {
            tracing::warn!(
                "{pages} page(s) in the local index at {} are not searched: with --database-url \
                 the pages searched are PostgreSQL's; add them there with `parallax index add \
                 --database-url …`",
                dir.display()
            );
        }
    }
}

/// The pipeline's providers for `serve`. The index of pages read is PostgreSQL's when
/// `pages` is given (`--database-url`: shared by every node), else tantivy's in `data_dir`.
pub fn providers(
    args: &ResearchArgs,
    data_dir: &Path,
    pages: Option<PgPages>,
) -> anyhow::Result<Providers> {
    let index: Arc<dyn PageIndex> = match pages {
        Some(pages) => {
            warn_of_unused_local_index(data_dir);
            Arc::new(crate::pg_pages::PgPageIndex::new(pages))
        }
        None => Arc::new(LocalIndex::open(index_dir(data_dir)).with_context(|| {
            format!(
                "could not open the local index in {}",
                index_dir(data_dir).display()
            )
        })?),
    };
    let mut search: Vec<Arc<dyn SearchProvider>> = Vec::new();
    for name in args
        .search
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        match name {
            "local" => search.push(index.clone().as_provider()),
            "searxng" => {
                let Some(url) = &args.searxng_url else {
                    bail!("--search includes searxng but --searxng-url is not set");
                };
                search.push(Arc::new(SearxngProvider::new(url)?));
            }
            "wikipedia" => search.push(Arc::new(WikipediaProvider::new(&args.wikipedia_api)?)),
            other => bail!("unknown search provider {other:?}; use local, searxng or wikipedia"),
        }
    }
    let llm = match (&args.llm_base_url, &args.llm_model) {
        (Some(base_url), Some(model)) => {
            let mut config = LlmConfig::new(base_url.clone(), model.clone());
            config.api_key = args.llm_api_key.clone();
            config.timeout = Duration::from_secs(args.llm_timeout_seconds);
            Some(Arc::new(
                LlmClient::new(config).context("the LLM settings cannot work")?,
            ))
        }
        (None, None) => None,
        _ => bail!("set both --llm-base-url and --llm-model to use an LLM"),
    };
    Ok(Providers {
        search,
        index: Some(Indexer::start_shared(index)),
        fetch: FetchCache::new(args.fetch.fetcher()?, DEFAULT_CACHE_BYTES),
        cache_max_age: Duration::from_secs(args.cache_max_age_seconds),
        extracted: ExtractedCache::default(),
        llm,
    })
}

/// Arguments of `parallax index add`.
#[derive(Args, Debug)]
pub struct IndexAddArgs {
    /// Files, folders (recursively: .html, .htm, .txt, .md), sitemap files, page URLs or
    /// sitemap URLs.
    #[arg(required = true)]
    pub sources: Vec<String>,
    #[command(flatten)]
    pub fetch: FetchArgs,
}

/// Where `index add` puts pages: the tantivy index of a data directory, or PostgreSQL's
/// shared one.
pub enum IndexTarget {
    Local(LocalIndex),
    Postgres(PgPages),
}

impl IndexTarget {
    async fn add(&self, page: IndexedPage) -> anyhow::Result<()> {
        match self {
            IndexTarget::Local(index) => add(index, page),
            IndexTarget::Postgres(pages) => pages
                .upsert(&[crate::pg_pages::stored(page)])
                .await
                .context("could not add a page to the PostgreSQL index"),
        }
    }

    /// Makes what was added durable and searchable; answers how many pages the index holds.
    async fn finish(&self) -> anyhow::Result<usize> {
        match self {
            IndexTarget::Local(index) => {
                index.commit().context("could not commit the local index")?;
                Ok(index.len())
            }
            IndexTarget::Postgres(pages) => pages
                .count()
                .await
                .context("could not count the pages of the PostgreSQL index"),
        }
    }
}

/// Adds files, folders, pages and sitemaps to the local index in `data_dir`, or to the
/// PostgreSQL index given by `pages` (as shared pages, visible to every tenant).
pub async fn index_add(
    args: IndexAddArgs,
    data_dir: &Path,
    pages: Option<PgPages>,
) -> anyhow::Result<()> {
    let index = match pages {
        Some(pages) => IndexTarget::Postgres(pages),
        None => IndexTarget::Local(LocalIndex::open(index_dir(data_dir)).with_context(|| {
            format!(
                "could not open the local index in {}",
                index_dir(data_dir).display()
            )
        })?),
    };
    let cache = FetchCache::new(args.fetch.fetcher()?, DEFAULT_CACHE_BYTES);
    let mut urls: Vec<String> = Vec::new();
    let mut added = 0usize;
    for source in &args.sources {
        if source.starts_with("http://") || source.starts_with("https://") {
            urls.push(source.clone());
            continue;
        }
        let path = Path::new(source);
        if !path.exists() {
            bail!("{source} is neither a URL nor an existing file or folder");
        }
        if path.is_file() && path.extension().is_some_and(|e| e == "xml") {
            let xml = std::fs::read_to_string(path)
                .with_context(|| format!("could not read {source}"))?;
            urls.extend(parse_sitemap(&xml).pages);
            continue;
        }
        for page in pages_from_path(path)? {
            index.add(page).await?;
            added += 1;
        }
    }
    let mut failed = 0usize;
    let mut pending = urls;
    let mut seen = std::collections::HashSet::new();
    while !pending.is_empty() {
        let batch: Vec<String> = pending
            .drain(..)
            .filter(|u| seen.insert(u.clone()))
            .collect();
        let mut fetched = futures::stream::iter(batch.into_iter().map(|url| {
            let cache = cache.clone();
            async move { (cache.fetch_cached(&url, Duration::ZERO).await, url) }
        }))
        .buffer_unordered(INDEX_FETCH_CONCURRENCY);
        while let Some((result, url)) = fetched.next().await {
            let page = match result {
                Ok(page) => page,
                Err(e) if e.error_type() == "ssrf_refused" => {
                    eprintln!(
                        "parallax: skipped {url}: {e} (for `index add`, pass --allow-private-fetch to index pages on private addresses)"
                    );
                    failed += 1;
                    continue;
                }
                Err(e) => {
                    eprintln!("parallax: skipped {url}: {e}");
                    failed += 1;
                    continue;
                }
            };
            // A sitemap (plain text holding one, or an XML type) lists more pages to read.
            let text = page.text.as_deref().unwrap_or_default();
            let sitemap = match &page.content_type {
                ContentKind::Text => text.contains("<urlset") || text.contains("<sitemapindex"),
                ContentKind::Other(mime) => mime.contains("xml"),
                ContentKind::Html | ContentKind::Pdf => false,
            };
            if sitemap {
                let sitemap = parse_sitemap(text);
                pending.extend(sitemap.pages);
                pending.extend(sitemap.sitemaps);
                continue;
            }
            let extracted = match extract_page(&page) {
                Ok(extracted) => extracted,
                Err(ReadError::Unsupported { mime }) => {
                    eprintln!("parallax: skipped {url}: cannot index {mime}");
                    failed += 1;
                    continue;
                }
                Err(ReadError::Unreadable(why)) => {
                    eprintln!("parallax: skipped {url}: {why}");
                    failed += 1;
                    continue;
                }
                Err(e) => {
                    eprintln!("parallax: skipped {url}: {e}");
                    failed += 1;
                    continue;
                }
            };
            index
                .add(IndexedPage {
                    url: page.url.clone(),
                    // Pages the operator adds are shared by every tenant.
                    owner: None,
                    title: extracted.title,
                    text: extracted.text,
                    published: extracted.published,
                    fetched_at: chrono::Utc::now(),
                })
                .await?;
            added += 1;
        }
    }
    let held = index.finish().await?;
    println!("parallax: indexed {added} page(s); {failed} skipped; the index holds {held} page(s)");
    if added == 0 && failed > 0 {
        bail!("nothing could be indexed ({failed} source(s) skipped; see above)");
    }
    Ok(())
}

fn add(index: &LocalIndex, page: IndexedPage) -> anyhow::Result<()> {
    index.add_page(page).map_err(|e| match e {
        parallax_engine::search::SearchError::IndexLocked { .. } => anyhow::anyhow!(
            "{e}: a running parallax server is writing to this index; stop it, add the pages, and start it again"
        ),
        other => anyhow::Error::new(other).context("could not add a page to the local index"),
    })
}

/// Logs which search providers runs use: the local index with its page count, each web
/// provider by name. Then, in the background, asks each web provider one query and logs
/// whether it answered, so that an operator sees at start whether the web is reachable
/// (runs do not wait for this: an unreachable provider is a warning on each run). Logged,
/// not printed: stdout holds only the lines scripts read (the listening address, a key).
pub async fn announce_providers(providers: &Providers) -> tokio::task::JoinHandle<()> {
    let local_pages = match providers.index.as_ref() {
        Some(indexer) => match indexer.index().count().await {
            Ok(n) => Some(n),
            Err(error) => {
                tracing::warn!(%error, "cannot count the pages of the index");
                None
            }
        },
        None => None,
    };
    let mut named = Vec::new();
    let mut web = Vec::new();
    for provider in &providers.search {
        match (provider.name(), local_pages) {
            ("local", Some(0)) => {
                named.push("local (empty: add pages with `parallax index add`)".to_string())
            }
            ("local", Some(n)) => named.push(format!("local ({n} pages)")),
            (name, _) => {
                named.push(name.to_string());
                web.push(provider.clone());
            }
        }
    }
    if named.is_empty() {
        tracing::warn!("no search provider is configured; runs read only the URLs they are given");
    } else {
        tracing::info!("search providers: {}", named.join(", "));
    }
    if web.is_empty() && local_pages == Some(0) {
        tracing::warn!(
            "the only search provider is an empty local index, so runs will find no sources; \
             add pages with `parallax index add` or use --search local,wikipedia"
        );
    }
    tokio::spawn(async move {
        let probes = web.into_iter().map(|provider| async move {
            let started = std::time::Instant::now();
            let answer = provider.search(&SearchQuery::new("encyclopedia", 1)).await;
            (provider.name().to_string(), started.elapsed(), answer)
        });
        for (name, took, answer) in futures::future::join_all(probes).await {
            match answer {
                Ok(_) => tracing::info!(
                    "search provider {name} is live (answered in {} ms)",
                    took.as_millis()
                ),
                Err(e) => tracing::warn!(
                    "search provider {name} is unreachable ({e}); runs go on without it, each \
                     with a warning"
                ),
            }
        }
    })
}
