//! The Search API's modes with a web search provider, end to end in the engine: a canned
//! SearXNG instance names pages that a loopback site serves, and the test counts what the
//! site is asked for. (The SDK suite covers Search on the local index only; this is the path
//! where pages are not held yet.)

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use parallax_api::web::{parse_extract, parse_search, ApiVersion, ExtractRequest, SearchRequest};
use parallax_engine::fetch::{FetchCache, Fetcher, FetcherConfig, DEFAULT_CACHE_BYTES};
use parallax_engine::pipeline::Providers;
use parallax_engine::search::{Indexer, LocalIndex, SearxngProvider};
use parallax_engine::web::page::ExtractedCache;
use parallax_engine::web::WebApi;
use serde_json::{json, Value};

const PAGES: &[(&str, &str, &str)] = &[
    (
        "gasworks",
        "The Brindle Gasworks",
        "The Brindle gasworks opened in 1862 and supplied coal gas to the old town. \
         It closed in 1958, when the valley switched to natural gas.",
    ),
    (
        "ferry",
        "The Brindle Ferry",
        "A rope ferry crossed the Brindle river until the stone bridge opened in 1871.",
    ),
];

struct Site {
    hits: HashMap<String, AtomicUsize>,
}

async fn page(State(site): State<Arc<Site>>, Path(name): Path<String>) -> impl IntoResponse {
    if let Some(counter) = site.hits.get(&name) {
        counter.fetch_add(1, Ordering::SeqCst);
    }
    let (_, title, text) = PAGES.iter().find(|(n, _, _)| *n == name).unwrap();
    Html(format!(
        "<html><head><title>{title}</title></head><body><nav>Home | About | Contact</nav>\
         <article><h1>{title}</h1><p>{text}</p></article><footer>© Brindle Society</footer></body></html>"
    ))
}

/// A long article (about 200 KB), so that extracting it takes a while: long enough that two
/// reads arriving together would both start extracting it if nothing made them share.
async fn long_page() -> Html<String> {
    let mut html = String::from(
        "<html><head><title>The Brindle Canal</title></head><body><nav>Home | About</nav>\
         <article><h1>The Brindle Canal</h1>",
    );
    for i in 0..1500 {
        html.push_str(&format!(
            "<p>Lock {i} of the Brindle canal lifted barges of coal towards the gasworks, \
             and its keeper logged every boat that passed in the ledger.</p>"
        ));
    }
    html.push_str("</article><footer>© Brindle Society</footer></body></html>");
    Html(html)
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

struct World {
    api: WebApi,
    extracted: ExtractedCache,
    index: LocalIndex,
    site: Arc<Site>,
    site_addr: SocketAddr,
    _dir: tempdir::Dir,
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn world(tag: &str) -> World {
    let site = Arc::new(Site {
        hits: PAGES
            .iter()
            .map(|(n, _, _)| (n.to_string(), AtomicUsize::new(0)))
            .collect(),
    });
    let site_addr = serve(
        Router::new()
            .route("/pages/{name}", get(page))
            .route("/long", get(long_page))
            .with_state(site.clone()),
    )
    .await;
    // SearXNG's JSON answer naming the site's pages, with snippets.
    let results: Vec<Value> = PAGES
        .iter()
        .map(|(name, title, text)| {
            json!({"url": format!("http://{site_addr}/pages/{name}"), "title": title,
                   "content": text.split(". ").next().unwrap(), "score": 1.0})
        })
        .collect();
    let answer = json!({"results": results});
    let searx = serve(Router::new().route(
        "/search",
        get(move || {
            let answer = answer.clone();
            async move { Json(answer) }
        }),
    ))
    .await;

    let dir = std::env::temp_dir().join(format!("px-web-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let index = LocalIndex::open(&dir).unwrap();
    let providers = Providers {
        search: vec![Arc::new(
            SearxngProvider::new(&format!("http://{searx}")).unwrap(),
        )],
        index: Some(Indexer::start(index.clone())),
        fetch: FetchCache::new(
            Fetcher::new(FetcherConfig {
                allow_private: true,
                ..FetcherConfig::default()
            }),
            DEFAULT_CACHE_BYTES,
        ),
        cache_max_age: Duration::from_secs(3600),
        extracted: ExtractedCache::default(),
        llm: None,
    };
    World {
        extracted: providers.extracted.clone(),
        index,
        api: WebApi::new(providers),
        site,
        site_addr,
        _dir: tempdir::Dir(dir),
    }
}

fn request(mode: &str) -> SearchRequest {
    let body = json!({
        "objective": "When did the Brindle gasworks close?",
        "search_queries": ["Brindle gasworks closed"],
        "mode": mode,
    });
    parse_search(body.to_string().as_bytes(), ApiVersion::V1).unwrap()
}

fn fetched(w: &World) -> usize {
    w.site.hits.values().map(|c| c.load(Ordering::SeqCst)).sum()
}

#[tokio::test]
async fn turbo_answers_snippets_without_fetching() {
    let w = world("turbo").await;
    let answer = w.api.search("tenant-a", &request("turbo")).await;
    assert_eq!(fetched(&w), 0, "turbo must not fetch");
    assert_eq!(answer.results.len(), 2);
    let gasworks = &answer.results[0];
    assert_eq!(
        gasworks.url,
        format!("http://{}/pages/gasworks", w.site_addr)
    );
    assert_eq!(
        gasworks.excerpts,
        vec!["The Brindle gasworks opened in 1862 and supplied coal gas to the old town"]
    );
    assert!(answer.search_id.starts_with("search_"));
}

#[tokio::test]
async fn basic_reads_pages_and_later_turbo_uses_the_tenants_copy_only() {
    let w = world("basic").await;
    let answer = w.api.search("tenant-a", &request("basic")).await;
    assert_eq!(fetched(&w), 2, "each candidate page fetched once");
    let gasworks = answer
        .results
        .iter()
        .find(|r| r.url.ends_with("/gasworks"))
        .unwrap();
    let text = gasworks.excerpts.join("\n");
    assert!(text.contains("It closed in 1958"), "{text}");
    assert!(
        !text.contains("Contact") && !text.contains("Brindle Society"),
        "{text}"
    );
    assert_eq!(gasworks.title.as_deref(), Some("The Brindle Gasworks"));

    // The pages reach tenant a's part of the index within moments; a turbo search then
    // answers from them (full text, not the snippet), still without fetching.
    let mut from_index = false;
    for _ in 0..200 {
        let turbo = w.api.search("tenant-a", &request("turbo")).await;
        let joined: String = turbo
            .results
            .iter()
            .flat_map(|r| r.excerpts.clone())
            .collect();
        if joined.contains("It closed in 1958") {
            from_index = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        from_index,
        "tenant a's turbo search never used its indexed copy"
    );
    assert_eq!(fetched(&w), 2);

    // Tenant b never read the pages: its turbo search has only the snippets.
    let other = w.api.search("tenant-b", &request("turbo")).await;
    let joined: String = other
        .results
        .iter()
        .flat_map(|r| r.excerpts.clone())
        .collect();
    assert!(!joined.contains("It closed in 1958"), "{joined}");
    assert_eq!(fetched(&w), 2);
}

fn extract_request(urls: &[String]) -> ExtractRequest {
    let body = json!({"urls": urls, "full_content": true});
    parse_extract(body.to_string().as_bytes()).unwrap()
}

#[tokio::test]
async fn two_requests_for_one_page_at_once_share_its_fetch_and_its_extraction() {
    let w = world("single-flight").await;
    let url = format!("http://{}/long", w.site_addr);
    let request = extract_request(std::slice::from_ref(&url));
    let (a, b) = tokio::join!(
        w.api.extract("tenant-a", &request),
        w.api.extract("tenant-b", &request)
    );
    for answer in [&a, &b] {
        assert!(answer.errors.is_empty(), "{:?}", answer.errors);
        let content = answer.results[0].full_content.as_deref().unwrap();
        assert!(content.contains("Lock 1499 of the Brindle canal"));
    }
    assert_eq!(
        w.extracted.extractions(),
        1,
        "the second read must wait for the first one's extraction, not start its own"
    );
    // Later reads are answered by the cache.
    w.api.extract("tenant-a", &request).await;
    assert_eq!(w.extracted.extractions(), 1);
}

#[tokio::test]
async fn every_extracted_page_reaches_the_tenants_index() {
    let w = world("extract-index").await;
    let urls: Vec<String> = ["gasworks", "ferry"]
        .iter()
        .map(|n| format!("http://{}/pages/{n}", w.site_addr))
        .collect();
    let answer = w.api.extract("tenant-a", &extract_request(&urls)).await;
    assert_eq!(answer.results.len(), 2);
    // The answer does not wait for the index; the pages arrive there within moments.
    let started = std::time::Instant::now();
    for url in &urls {
        loop {
            if let Some(page) = w.index.get_visible(url, Some("tenant-a")) {
                assert!(page.text.contains("Brindle"), "{}", page.text);
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{url} never reached tenant a's index"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    assert!(w.index.get_visible(&urls[0], Some("tenant-b")).is_none());
}
