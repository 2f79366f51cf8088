//! Tests of `parallax_engine::search`: the local tantivy index, file and sitemap ingestion,
//! the SearXNG and MediaWiki providers against loopback servers that answer in those
//! services' real JSON formats, and the merging of several providers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{NaiveDate, TimeZone, Utc};
use parallax_engine::search::{
    pages_from_path, parse_sitemap, urls_from_sitemap, IndexedPage, LocalIndex, MultiSearch,
    SearchError, SearchHit, SearchProvider, SearchQuery, SearxngProvider, WikipediaProvider,
};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A directory under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "parallax-search-{tag}-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, rel: &str, content: &[u8]) -> PathBuf {
        let path = self.0.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&path, content).expect("write file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn page(url: &str, title: &str, text: &str) -> IndexedPage {
    IndexedPage {
        url: url.to_string(),
        owner: None,
        title: Some(title.to_string()),
        text: text.to_string(),
        published: None,
        fetched_at: Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
    }
}

/// A small corpus about distinct subjects.
fn corpus() -> Vec<IndexedPage> {
    vec![
        page(
            "https://example.test/rust",
            "The Rust Programming Language",
            "Rust is a systems programming language focused on safety and speed. \
             Its borrow checker verifies at compile time that references never outlive \
             the data they point to, which removes whole classes of memory bugs.",
        ),
        page(
            "https://example.test/python",
            "Python",
            "Python is an interpreted language with dynamic typing and a large standard \
             library. It is popular for scripting, data analysis and teaching.",
        ),
        page(
            "https://example.test/tomatoes",
            "Growing tomatoes at home",
            "Tomatoes need six hours of sun, regular watering and a stake or cage. \
             Pinch the suckers to keep the plant productive through the summer.",
        ),
        page(
            "https://example.test/bread",
            "Sourdough bread",
            "A sourdough starter is flour and water fermented by wild yeast. Feed it daily \
             and bake when it doubles within a few hours.",
        ),
        page(
            "https://example.test/lighthouses",
            "Lighthouses of Brittany",
            "The coast of Brittany has dozens of lighthouses; the Phare d'Eckmühl is one of \
             the tallest. Keepers lived in them until automation.",
        ),
    ]
}

fn open_with_corpus(dir: &Path) -> LocalIndex {
    let index = LocalIndex::open(dir).expect("open index");
    for p in corpus() {
        index.add_page(p).expect("add page");
    }
    index.commit().expect("commit");
    index
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

type Seen = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// A server answering `body` with `status` on `path`, recording each request's query.
async fn canned(path: &str, status: StatusCode, body: Value) -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let recorder = seen.clone();
    let router = Router::new().route(
        path,
        get(move |Query(params): Query<HashMap<String, String>>| {
            let body = body.clone();
            let recorder = recorder.clone();
            async move {
                recorder.lock().unwrap().push(params);
                (status, Json(body))
            }
        }),
    );
    (serve(router).await, seen)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

// ---------------------------------------------------------------------------------------
// Local index
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn local_index_ranks_the_right_page_first_with_a_snippet() {
    let dir = TempDir::new("rank");
    let index = open_with_corpus(dir.path());
    assert_eq!(index.len(), 5);
    assert_eq!(index.name(), "local");

    let hits = index
        .search(&SearchQuery::new("how does the borrow checker work", 3))
        .await
        .expect("search");
    assert!(!hits.is_empty());
    let first = &hits[0];
    assert_eq!(first.url, "https://example.test/rust");
    assert_eq!(
        first.title.as_deref(),
        Some("The Rust Programming Language")
    );
    assert_eq!(first.provider, "local");
    assert!(first.score > 0.0);
    let snippet = first.snippet.as_deref().expect("a snippet");
    assert!(snippet.contains("borrow checker"), "snippet: {snippet}");
    assert!(!snippet.contains('<'), "snippets are plain text: {snippet}");
    // Scores come best first.
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));

    // Stemming: "tomato" finds "Tomatoes", and a title word outweighs nothing else.
    let hits = index
        .search(&SearchQuery::new("tomato sun", 5))
        .await
        .expect("search");
    assert_eq!(hits[0].url, "https://example.test/tomatoes");
    assert!(hits[0]
        .snippet
        .as_deref()
        .unwrap()
        .to_lowercase()
        .contains("tomatoes"));

    // Accents fold: "eckmuhl" finds "Eckmühl".
    let hits = index.search(&SearchQuery::new("eckmuhl", 5)).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].url, "https://example.test/lighthouses");

    // max_results is respected; zero asks for nothing.
    let hits = index
        .search(&SearchQuery::new("language", 1))
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    let hits = index
        .search(&SearchQuery::new("language", 0))
        .await
        .unwrap();
    assert!(hits.is_empty());

    // Unrelated words find nothing.
    let hits = index
        .search(&SearchQuery::new("quantum chromodynamics", 5))
        .await
        .unwrap();
    assert!(hits.is_empty(), "{hits:?}");
}

#[tokio::test]
async fn hits_without_snippets_are_the_same_hits() {
    let dir = TempDir::new("nosnippets");
    let index = open_with_corpus(dir.path());
    for text in ["how does the borrow checker work", "tomato sun", "language"] {
        let with = index.search(&SearchQuery::new(text, 5)).await.unwrap();
        let without = index
            .search(&SearchQuery::new(text, 5).without_snippets())
            .await
            .unwrap();
        assert!(!with.is_empty());
        assert!(with.iter().all(|h| h.snippet.is_some()), "{text}");
        assert!(without.iter().all(|h| h.snippet.is_none()), "{text}");
        let strip = |hits: Vec<parallax_engine::search::SearchHit>| {
            hits.into_iter()
                .map(|h| (h.url, h.title, h.score))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(with), strip(without), "{text}");
    }
}

#[tokio::test]
async fn title_matches_weigh_more_than_body_matches() {
    let dir = TempDir::new("boost");
    let index = LocalIndex::open(dir.path()).unwrap();
    index
        .add_page(page(
            "https://a.test/body",
            "Unrelated heading",
            "A note about zeppelins and other things.",
        ))
        .unwrap();
    index
        .add_page(page(
            "https://a.test/title",
            "Zeppelins",
            "A note about airships and other things.",
        ))
        .unwrap();
    index.commit().unwrap();
    let hits = index
        .search_blocking(&SearchQuery::new("zeppelins", 5))
        .unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].url, "https://a.test/title");
    // A title-only match still carries a snippet: the page's beginning.
    assert_eq!(
        hits[0].snippet.as_deref(),
        Some("A note about airships and other things.")
    );
}

#[tokio::test]
async fn a_tenants_pages_are_visible_to_that_tenant_only() {
    let dir = TempDir::new("tenants");
    let index = open_with_corpus(dir.path());
    let url = "https://intranet.example/plan";
    for (owner, text) in [
        ("tenant-a", "The zeppelin budget for next year is secret."),
        ("tenant-b", "Tenant b's own copy mentions zeppelin hangars."),
    ] {
        index
            .add_page(IndexedPage {
                owner: Some(owner.to_string()),
                ..page(url, "Plan", text)
            })
            .unwrap();
    }
    index.commit().unwrap();

    let search = |tenant: Option<&str>| {
        let mut query = SearchQuery::new("zeppelin", 10);
        if let Some(t) = tenant {
            query = query.for_tenant(t);
        }
        index.search_blocking(&query).unwrap()
    };
    let urls = |hits: Vec<parallax_engine::search::SearchHit>| -> Vec<String> {
        hits.into_iter().map(|h| h.url).collect()
    };
    // Shared pages only (the corpus has "zeppelins" in one shared page).
    assert!(!urls(search(None)).contains(&url.to_string()));
    assert!(!urls(search(Some("tenant-c"))).contains(&url.to_string()));
    let a = search(Some("tenant-a"));
    assert_eq!(a.iter().filter(|h| h.url == url).count(), 1, "{a:?}");
    assert!(a
        .iter()
        .find(|h| h.url == url)
        .unwrap()
        .snippet
        .as_deref()
        .unwrap()
        .contains("secret"));

    assert_eq!(index.get(url), None, "no shared copy");
    assert_eq!(index.get_visible(url, Some("tenant-c")), None);
    let b = index.get_visible(url, Some("tenant-b")).unwrap();
    assert!(b.text.contains("hangars"));
    assert_eq!(b.owner.as_deref(), Some("tenant-b"));

    // A shared copy is seen by everyone; a tenant's own copy wins for that tenant.
    index
        .add_page(page(url, "Plan", "The public zeppelin plan."))
        .unwrap();
    index.commit().unwrap();
    assert!(index
        .get_visible(url, Some("tenant-c"))
        .unwrap()
        .text
        .contains("public"));
    assert!(index
        .get_visible(url, Some("tenant-a"))
        .unwrap()
        .text
        .contains("secret"));
}

#[tokio::test]
async fn re_adding_a_url_replaces_the_page() {
    let dir = TempDir::new("replace");
    let index = open_with_corpus(dir.path());
    index
        .add_page(IndexedPage {
            published: Some(date(2024, 6, 1)),
            ..page(
                "https://example.test/rust",
                "Rust 2024",
                "The 2024 edition changes how closures capture variables.",
            )
        })
        .unwrap();
    index.commit().unwrap();

    assert_eq!(index.len(), 5, "still one document for the URL");
    let stored = index.get("https://example.test/rust").expect("stored page");
    assert_eq!(stored.title.as_deref(), Some("Rust 2024"));
    assert!(stored.text.contains("closures"));
    assert_eq!(stored.published, Some(date(2024, 6, 1)));

    let old = index
        .search(&SearchQuery::new("borrow checker", 5))
        .await
        .unwrap();
    assert!(
        old.iter().all(|h| h.url != "https://example.test/rust"),
        "{old:?}"
    );
    let new = index
        .search(&SearchQuery::new("closures edition", 5))
        .await
        .unwrap();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].url, "https://example.test/rust");
    assert_eq!(new[0].published, Some(date(2024, 6, 1)));

    // Twice in one batch: the last one wins.
    index
        .add_page(page("https://example.test/dup", "one", "first version"))
        .unwrap();
    index
        .add_page(page("https://example.test/dup", "two", "second version"))
        .unwrap();
    index.commit().unwrap();
    assert_eq!(index.len(), 6);
    assert_eq!(
        index
            .get("https://example.test/dup")
            .unwrap()
            .title
            .as_deref(),
        Some("two")
    );
}

#[tokio::test]
async fn get_returns_the_stored_page() {
    let dir = TempDir::new("get");
    let index = LocalIndex::open(dir.path()).unwrap();
    let original = IndexedPage {
        published: Some(date(2020, 2, 29)),
        ..page(
            "https://example.test/leap",
            "Leap day",
            "February 29th comes every four years.",
        )
    };
    index.add_page(original.clone()).unwrap();
    index
        .add_page(IndexedPage {
            title: None,
            ..page("https://example.test/untitled", "", "no title here")
        })
        .unwrap();
    index.commit().unwrap();
    assert_eq!(index.get("https://example.test/leap"), Some(original));
    assert_eq!(
        index.get("https://example.test/untitled").unwrap().title,
        None
    );
    assert_eq!(index.get("https://example.test/missing"), None);
    // The URL is matched exactly, not as words.
    assert_eq!(index.get("https://example.test"), None);
}

#[tokio::test]
async fn pages_are_searchable_at_commit_and_survive_reopening() {
    let dir = TempDir::new("reopen");
    {
        let index = LocalIndex::open(dir.path()).unwrap();
        index
            .add_page(page(
                "https://example.test/a",
                "Alpha",
                "committed explicitly",
            ))
            .unwrap();
        assert_eq!(index.len(), 0, "not visible before the commit");
        assert!(index.is_empty());
        assert_eq!(index.get("https://example.test/a"), None);
        index.commit().unwrap();
        assert_eq!(index.len(), 1);
        // Pending at drop: committed on close.
        index
            .add_page(page("https://example.test/b", "Beta", "committed on close"))
            .unwrap();
        assert_eq!(index.len(), 1);
    }
    let index = LocalIndex::open(dir.path()).expect("reopen");
    assert_eq!(index.len(), 2);
    assert_eq!(
        index
            .get("https://example.test/a")
            .unwrap()
            .title
            .as_deref(),
        Some("Alpha")
    );
    let hits = index.search(&SearchQuery::new("close", 5)).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].url, "https://example.test/b");
    // And it is writable again.
    index
        .add_page(page("https://example.test/c", "Gamma", "third"))
        .unwrap();
    index.commit().unwrap();
    assert_eq!(index.len(), 3);
}

#[tokio::test]
async fn free_text_never_fails_as_query_syntax() {
    let dir = TempDir::new("syntax");
    let index = open_with_corpus(dir.path());
    let nasty = [
        r#""rust" AND (python OR -java)"#,
        "title:rust",
        "url:https://example.test/rust",
        "((((",
        "))",
        r#""unterminated"#,
        "-rust",
        "rust^3 ~2 * ?",
        "NOT AND OR",
        "[1 TO 5]",
        "{a TO b}",
        r"\\ \ ",
        "a:b:c::",
        "+rust +-+",
        "IN [x y]",
        "🦀 rust",
        "",
        "   ",
        "!!!",
    ];
    for text in nasty {
        let result = index.search(&SearchQuery::new(text, 5)).await;
        assert!(result.is_ok(), "{text:?} failed: {result:?}");
    }
    // Operators are plain words or separators: these still find the Rust page first.
    for text in [
        "-rust",
        "title:rust",
        r#""rust" AND (safety OR -speed)"#,
        "rust^3",
    ] {
        let hits = index.search(&SearchQuery::new(text, 5)).await.unwrap();
        assert_eq!(
            hits.first().map(|h| h.url.as_str()),
            Some("https://example.test/rust"),
            "{text:?}"
        );
    }
    // Only syntax and whitespace: no hits, no error.
    assert!(index
        .search(&SearchQuery::new("((( )))", 5))
        .await
        .unwrap()
        .is_empty());
    // Only stop words still searches them rather than answering nothing.
    index
        .add_page(page(
            "https://example.test/the-the",
            "The The",
            "The The is a band.",
        ))
        .unwrap();
    index.commit().unwrap();
    let hits = index.search(&SearchQuery::new("The The", 5)).await.unwrap();
    assert_eq!(
        hits.first().map(|h| h.url.as_str()),
        Some("https://example.test/the-the")
    );
}

#[test]
fn concurrent_readers_with_one_writer() {
    let dir = TempDir::new("concurrent");
    let index = open_with_corpus(dir.path());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let index = index.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut searches = 0;
                while !stop.load(Ordering::SeqCst) || searches == 0 {
                    let hits = index
                        .search_blocking(&SearchQuery::new("borrow checker", 3))
                        .expect("search during writes");
                    assert_eq!(hits[0].url, "https://example.test/rust");
                    searches += 1;
                }
                searches
            })
        })
        .collect();
    let writer = {
        let index = index.clone();
        std::thread::spawn(move || {
            for i in 0..120 {
                index
                    .add_page(page(
                        &format!("https://example.test/gen/{i}"),
                        "generated",
                        "filler words about nothing",
                    ))
                    .expect("add during reads");
                if i % 40 == 39 {
                    index.commit().expect("commit during reads");
                }
            }
        })
    };
    writer.join().expect("writer thread");
    stop.store(true, Ordering::SeqCst);
    for reader in readers {
        assert!(reader.join().expect("reader thread") > 0);
    }
    assert_eq!(index.len(), 125);
}

#[test]
fn a_second_writer_on_the_same_directory_is_refused_clearly() {
    let dir = TempDir::new("lock");
    let first = LocalIndex::open(dir.path()).unwrap();
    first
        .add_page(page("https://example.test/1", "one", "first writer"))
        .unwrap();
    let second = LocalIndex::open(dir.path()).expect("readers may open a locked index");
    let err = second
        .add_page(page("https://example.test/2", "two", "second writer"))
        .expect_err("the lock is held");
    assert!(matches!(err, SearchError::IndexLocked { .. }), "{err:?}");
    assert!(err.to_string().contains("another process"), "{err}");

    first.release_writer().unwrap();
    second
        .add_page(page("https://example.test/2", "two", "second writer"))
        .expect("lock released");
    second.commit().unwrap();
    assert_eq!(second.len(), 2);
}

#[test]
fn open_refuses_an_index_of_another_layout() {
    let dir = TempDir::new("schema");
    // A tantivy index with another schema, written directly.
    {
        use tantivy::schema::{Schema, TEXT};
        let mut schema = Schema::builder();
        schema.add_text_field("something_else", TEXT);
        tantivy::Index::create_in_dir(dir.path(), schema.build()).unwrap();
    }
    let err = LocalIndex::open(dir.path()).expect_err("another layout");
    assert!(err.to_string().contains("another layout"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Ingestion
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn pages_from_a_folder_of_html_text_and_markdown() {
    let dir = TempDir::new("ingest");
    let root = dir.path().join("site");
    dir.write(
        "site/index.html",
        br#"<!doctype html><html><head><title> Acme   Widgets </title>
<meta property="article:published_time" content="2021-03-04T10:00:00Z">
<style>.x { color: red }</style><script>var leaked = "scripttext";</script></head>
<body><h1>Welcome</h1><p>Acme makes &amp; sells <b>widgets</b>.</p>
<noscript>noscripttext</noscript><ul><li>Gears</li><li>Sprockets</li></ul></body></html>"#,
    );
    dir.write(
        "site/about.htm",
        b"<html><body><h1>About Us</h1><p>Founded in 1999.</p></body></html>",
    );
    dir.write(
        "site/notes.txt",
        b"\n\n  Meeting notes  \nWe discussed gears and levers.\n",
    );
    dir.write(
        "site/docs/guide.md",
        b"---\ntitle: ignored\n---\n# Installation Guide\n\nRun the installer, then restart.\n",
    );
    dir.write("site/image.png", &[0x89, b'P', b'N', b'G', 0, 1, 2]);
    dir.write("site/.hidden/secret.txt", b"hidden text");
    dir.write("site/empty.txt", b"   \n");

    let pages = pages_from_path(&root).expect("read folder");
    let names: Vec<&str> = pages
        .iter()
        .map(|p| p.url.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(names, ["about.htm", "guide.md", "index.html", "notes.txt"]);

    let abs = std::fs::canonicalize(&root).unwrap();
    for p in &pages {
        assert!(p.url.starts_with("file:///"), "{}", p.url);
        let path = url::Url::parse(&p.url).unwrap().to_file_path().unwrap();
        assert!(
            path.starts_with(&abs),
            "{} not under {}",
            path.display(),
            abs.display()
        );
        assert!(path.is_file());
    }

    let about = &pages[0];
    assert_eq!(
        about.title.as_deref(),
        Some("About Us"),
        "first <h1> without <title>"
    );

    let guide = &pages[1];
    assert_eq!(guide.title.as_deref(), Some("Installation Guide"));
    assert!(guide.text.contains("Run the installer"));

    let html = &pages[2];
    assert_eq!(html.title.as_deref(), Some("Acme Widgets"));
    assert!(
        html.text.contains("Acme makes & sells widgets."),
        "{:?}",
        html.text
    );
    assert!(
        html.text.contains("Gears\nSprockets"),
        "blocks become lines: {:?}",
        html.text
    );
    for hidden in ["scripttext", "color", "noscripttext", "Acme   Widgets"] {
        assert!(
            !html.text.contains(hidden),
            "{hidden:?} leaked into {:?}",
            html.text
        );
    }
    assert_eq!(html.published, Some(date(2021, 3, 4)));

    let notes = &pages[3];
    assert_eq!(notes.title.as_deref(), Some("Meeting notes"));
    assert!(notes.text.contains("gears and levers"));
    assert_eq!(notes.published, None);

    // A single file.
    let single = pages_from_path(root.join("notes.txt")).unwrap();
    assert_eq!(single.len(), 1);
    assert_eq!(single[0].url, notes.url);
    // Unsupported and missing paths.
    let err = pages_from_path(root.join("image.png")).unwrap_err();
    assert!(matches!(err, SearchError::Unsupported { .. }), "{err:?}");
    let err = pages_from_path(root.join("nope")).unwrap_err();
    assert!(matches!(err, SearchError::Io { .. }), "{err:?}");

    // Into the index, and found.
    let index_dir = TempDir::new("ingest-index");
    let index = LocalIndex::open(index_dir.path()).unwrap();
    for p in pages {
        index.add_page(p).unwrap();
    }
    index.commit().unwrap();
    let hits = index
        .search(&SearchQuery::new("installer", 3))
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert!(hits[0].url.ends_with("/docs/guide.md"));
    assert!(index.get(&hits[0].url).unwrap().text.contains("restart"));
}

#[test]
fn sitemaps_and_sitemap_indexes() {
    let urlset = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <!-- <url><loc>https://commented.example/</loc></url> -->
  <url>
    <loc>https://www.example.com/</loc>
    <lastmod>2024-01-01</lastmod>
    <image:image><image:loc>https://www.example.com/logo.png</image:loc></image:image>
  </url>
  <url><loc>
      https://www.example.com/catalog?item=12&amp;desc=vacation_hawaii
  </loc><changefreq>weekly</changefreq></url>
  <url><loc><![CDATA[https://www.example.com/a&b]]></loc></url>
  <url><loc>https://www.example.com/</loc></url>
  <url><loc>ftp://www.example.com/file</loc></url>
  <url><loc>not a url</loc></url>
  <url><loc/></url>
</urlset>"#;
    let sitemap = parse_sitemap(urlset);
    assert_eq!(
        sitemap.pages,
        [
            "https://www.example.com/",
            "https://www.example.com/catalog?item=12&desc=vacation_hawaii",
            "https://www.example.com/a&b",
        ]
    );
    assert!(sitemap.sitemaps.is_empty());
    assert_eq!(urls_from_sitemap(urlset), sitemap.pages);

    let index = r#"<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://www.example.com/sitemap1.xml.gz</loc><lastmod>2004-10-01T18:23:17+00:00</lastmod></sitemap>
  <sitemap><loc>https://www.example.com/sitemap2.xml</loc></sitemap>
</sitemapindex>"#;
    let sitemap = parse_sitemap(index);
    assert!(sitemap.pages.is_empty());
    assert_eq!(
        sitemap.sitemaps,
        [
            "https://www.example.com/sitemap1.xml.gz",
            "https://www.example.com/sitemap2.xml"
        ]
    );
    assert_eq!(urls_from_sitemap(index), sitemap.sitemaps);

    // Namespace prefixes, and damage: what was readable is kept.
    let prefixed = r#"<sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9"><sm:url><sm:loc>https://p.example/x</sm:loc></sm:url><sm:url><sm:loc>https://p.example/y"#;
    assert_eq!(urls_from_sitemap(prefixed), ["https://p.example/x"]);
    assert!(urls_from_sitemap("").is_empty());
    assert!(
        urls_from_sitemap("<html><body><loc>https://x.example/</loc></body></html>").is_empty()
    );
}

// ---------------------------------------------------------------------------------------
// SearXNG
// ---------------------------------------------------------------------------------------

/// A SearXNG `format=json` answer, as its `webutils.get_json_response` writes it.
fn searxng_answer() -> Value {
    json!({
        "query": "rust borrow checker",
        "number_of_results": 0,
        "results": [
            {
                "url": "https://doc.rust-lang.org/book/ch04-02-references-and-borrowing.html",
                "title": "References and Borrowing - The Rust Programming Language",
                "content": "The borrow checker   ensures that\nreferences are always valid.",
                "engine": "duckduckgo",
                "parsed_url": ["https", "doc.rust-lang.org", "/book/ch04-02-references-and-borrowing.html", "", "", ""],
                "template": "default.html",
                "engines": ["duckduckgo", "brave"],
                "positions": [1, 2],
                "publishedDate": "2023-10-05T14:30:00",
                "thumbnail": "",
                "score": 3.0,
                "category": "general",
                "priority": ""
            },
            {
                "url": "https://blog.example.org/fighting-borrowck",
                "title": "Fighting the borrow checker",
                "content": "",
                "engine": "brave",
                "parsed_url": ["https", "blog.example.org", "/fighting-borrowck", "", "", ""],
                "template": "default.html",
                "engines": ["brave"],
                "positions": [2],
                "publishedDate": null,
                "score": 1.5,
                "category": "general"
            },
            {
                "url": "magnet:?xt=urn:btih:0123456789abcdef",
                "title": "rust-book.pdf",
                "content": "",
                "engine": "piratebay",
                "template": "torrent.html",
                "engines": ["piratebay"],
                "positions": [1],
                "score": 1.2,
                "category": "files"
            },
            {
                "url": "https://third.example/borrowing",
                "title": "Borrowing explained",
                "content": "Third result.",
                "engine": "qwant",
                "template": "default.html",
                "engines": ["qwant"],
                "positions": [4],
                "publishedDate": "2022-01-01 00:00:00+0000",
                "score": 0.5,
                "category": "general"
            }
        ],
        "answers": [],
        "corrections": [],
        "infoboxes": [],
        "suggestions": ["rust borrow checker error"],
        "unresponsive_engines": [["google", "timeout"]]
    })
}

#[tokio::test]
async fn searxng_maps_results_and_sends_the_query() {
    let (addr, seen) = canned("/searx/search", StatusCode::OK, searxng_answer()).await;
    let provider = SearxngProvider::new(&format!("http://{addr}/searx/")).unwrap();
    assert_eq!(provider.name(), "searxng");

    let hits = provider
        .search(&SearchQuery::new("rust borrow checker & \"lifetimes\"", 2))
        .await
        .expect("search");
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            seen[0].get("q").map(String::as_str),
            Some("rust borrow checker & \"lifetimes\"")
        );
        assert_eq!(seen[0].get("format").map(String::as_str), Some("json"));
    }
    assert_eq!(hits.len(), 2);
    assert_eq!(
        hits[0],
        SearchHit {
            url: "https://doc.rust-lang.org/book/ch04-02-references-and-borrowing.html".into(),
            title: Some("References and Borrowing - The Rust Programming Language".into()),
            snippet: Some("The borrow checker ensures that references are always valid.".into()),
            published: Some(date(2023, 10, 5)),
            score: 3.0,
            provider: "searxng".into(),
        }
    );
    assert_eq!(hits[1].url, "https://blog.example.org/fighting-borrowck");
    assert_eq!(hits[1].snippet, None, "empty content is no snippet");
    assert_eq!(hits[1].published, None);

    // Beyond max_results the non-http result is skipped, not counted.
    let hits = provider
        .search(&SearchQuery::new("rust", 10))
        .await
        .unwrap();
    let urls: Vec<&str> = hits.iter().map(|h| h.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://doc.rust-lang.org/book/ch04-02-references-and-borrowing.html",
            "https://blog.example.org/fighting-borrowck",
            "https://third.example/borrowing",
        ]
    );
    assert_eq!(hits[2].published, Some(date(2022, 1, 1)));

    // An empty query does not call the instance.
    assert!(provider
        .search(&SearchQuery::new("  ", 5))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn searxng_errors_are_clear() {
    // JSON disabled on the instance: 403.
    let (addr, _) = canned("/search", StatusCode::FORBIDDEN, json!("Forbidden")).await;
    let err = SearxngProvider::new(&format!("http://{addr}"))
        .unwrap()
        .search(&SearchQuery::new("x", 5))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SearchError::Status { status: 403, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("settings.yml"), "{err}");

    // Other statuses carry the start of the body.
    let (addr, _) = canned(
        "/search",
        StatusCode::BAD_GATEWAY,
        json!({"detail": "upstream down"}),
    )
    .await;
    let err = SearxngProvider::new(&format!("http://{addr}"))
        .unwrap()
        .search(&SearchQuery::new("x", 5))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SearchError::Status { status: 502, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("upstream down"), "{err}");

    // Not the JSON API (an HTML page).
    let router = Router::new().route("/search", get(|| async { "<html>results</html>" }));
    let addr = serve(router).await;
    let err = SearxngProvider::new(&format!("http://{addr}"))
        .unwrap()
        .search(&SearchQuery::new("x", 5))
        .await
        .unwrap_err();
    assert!(matches!(err, SearchError::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("<html>"), "{err}");

    // Too slow.
    let router = Router::new().route(
        "/search",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Json(searxng_answer())
        }),
    );
    let addr = serve(router).await;
    let started = std::time::Instant::now();
    let err = SearxngProvider::new(&format!("http://{addr}"))
        .unwrap()
        .with_timeout(Duration::from_millis(300))
        .search(&SearchQuery::new("x", 5))
        .await
        .unwrap_err();
    assert!(matches!(err, SearchError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(4));

    // Nobody listening.
    let err = SearxngProvider::new(&format!("http://{}", closed_port().await))
        .unwrap()
        .search(&SearchQuery::new("x", 5))
        .await
        .unwrap_err();
    assert!(matches!(err, SearchError::Request { .. }), "{err:?}");
    assert!(err.to_string().starts_with("searxng: "), "{err}");

    // Bad configuration.
    for bad in ["not a url", "ftp://host/", "file:///tmp"] {
        let err = SearxngProvider::new(bad).unwrap_err();
        assert!(matches!(err, SearchError::Config { .. }), "{bad}: {err:?}");
    }
}

/// An address where nothing listens.
async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

// ---------------------------------------------------------------------------------------
// Wikipedia (MediaWiki)
// ---------------------------------------------------------------------------------------

/// A MediaWiki `list=search` answer with `formatversion=2`.
fn mediawiki_answer() -> Value {
    json!({
        "batchcomplete": true,
        "continue": {"sroffset": 3, "continue": "-||"},
        "query": {
            "searchinfo": {"totalhits": 4213},
            "search": [
                {
                    "ns": 0,
                    "title": "Borrow checker",
                    "pageid": 61234,
                    "snippet": "The <span class=\"searchmatch\">borrow</span> <span class=\"searchmatch\">checker</span> is part of the &quot;Rust&quot; compiler &amp; more",
                    "timestamp": "2024-05-01T12:00:00Z"
                },
                {
                    "ns": 0,
                    "title": "What Is Rust?",
                    "pageid": 61235,
                    "snippet": "",
                    "timestamp": "2023-01-01T00:00:00Z"
                },
                {
                    "ns": 0,
                    "title": "Zürich 100% Rust",
                    "pageid": 61236,
                    "snippet": "A <span class=\"searchmatch\">city</span>",
                    "timestamp": "2023-01-01T00:00:00Z"
                }
            ]
        }
    })
}

#[tokio::test]
async fn wikipedia_maps_results_and_sends_the_query() {
    let (addr, seen) = canned("/w/api.php", StatusCode::OK, mediawiki_answer()).await;
    let provider = WikipediaProvider::new(&format!("http://{addr}/w/api.php")).unwrap();
    assert_eq!(provider.name(), "wikipedia");
    let hits = provider
        .search(&SearchQuery::new("borrow checker (rust)", 3))
        .await
        .expect("search");

    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        let params = &seen[0];
        assert_eq!(params.get("action").map(String::as_str), Some("query"));
        assert_eq!(params.get("list").map(String::as_str), Some("search"));
        assert_eq!(
            params.get("srsearch").map(String::as_str),
            Some("borrow checker (rust)")
        );
        assert_eq!(params.get("format").map(String::as_str), Some("json"));
        assert_eq!(params.get("srlimit").map(String::as_str), Some("3"));
    }

    assert_eq!(hits.len(), 3);
    assert_eq!(
        hits[0],
        SearchHit {
            url: format!("http://{addr}/wiki/Borrow_checker"),
            title: Some("Borrow checker".into()),
            snippet: Some("The borrow checker is part of the \"Rust\" compiler & more".into()),
            published: None,
            score: 1.0,
            provider: "wikipedia".into(),
        }
    );
    assert_eq!(hits[1].url, format!("http://{addr}/wiki/What_Is_Rust%3F"));
    assert_eq!(hits[1].snippet, None);
    assert_eq!(
        hits[2].url,
        format!("http://{addr}/wiki/Z%C3%BCrich_100%25_Rust")
    );
    assert!(hits[0].score > hits[1].score && hits[1].score > hits[2].score);

    // The real wiki's article URLs.
    let enwiki = WikipediaProvider::new("https://en.wikipedia.org/w/api.php").unwrap();
    assert_eq!(
        enwiki.article_url("Albert Einstein"),
        "https://en.wikipedia.org/wiki/Albert_Einstein"
    );
    assert_eq!(
        enwiki.article_url("AC/DC"),
        "https://en.wikipedia.org/wiki/AC/DC"
    );
    let other = enwiki
        .with_article_base("https://wiki.example.org/index.php")
        .unwrap();
    assert_eq!(
        other.article_url("Main Page"),
        "https://wiki.example.org/index.php/Main_Page"
    );

    // srlimit follows max_results, capped at MediaWiki's maximum.
    provider
        .search(&SearchQuery::new("x", 10_000))
        .await
        .unwrap();
    assert_eq!(
        seen.lock().unwrap()[1].get("srlimit").map(String::as_str),
        Some("500")
    );
}

#[tokio::test]
async fn wikipedia_api_errors_are_reported() {
    let (addr, _) = canned(
        "/w/api.php",
        StatusCode::OK,
        json!({
            "error": {
                "code": "srsearch-text-disabled",
                "info": "text search is disabled.",
                "docref": "See https://en.wikipedia.org/w/api.php for API usage."
            },
            "servedby": "mw1234"
        }),
    )
    .await;
    let err = WikipediaProvider::new(&format!("http://{addr}/w/api.php"))
        .unwrap()
        .search(&SearchQuery::new("x", 5))
        .await
        .unwrap_err();
    assert!(matches!(err, SearchError::Refused { .. }), "{err:?}");
    assert!(err.to_string().contains("srsearch-text-disabled"), "{err}");

    let (addr, _) = canned("/w/api.php", StatusCode::OK, json!({"batchcomplete": true})).await;
    let err = WikipediaProvider::new(&format!("http://{addr}/w/api.php"))
        .unwrap()
        .search(&SearchQuery::new("x", 5))
        .await
        .unwrap_err();
    assert!(matches!(err, SearchError::Decode { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------
// MultiSearch
// ---------------------------------------------------------------------------------------

struct Fixed {
    name: &'static str,
    hits: Vec<(&'static str, f32, Option<NaiveDate>)>,
}

#[async_trait]
impl SearchProvider for Fixed {
    fn name(&self) -> &str {
        self.name
    }
    async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>, SearchError> {
        Ok(self
            .hits
            .iter()
            .take(query.max_results)
            .map(|&(url, score, published)| SearchHit {
                url: url.to_string(),
                title: Some(format!("{} title", self.name)),
                snippet: None,
                published,
                score,
                provider: self.name.to_string(),
            })
            .collect())
    }
}

struct Failing(&'static str);

#[async_trait]
impl SearchProvider for Failing {
    fn name(&self) -> &str {
        self.0
    }
    async fn search(&self, _query: &SearchQuery) -> Result<Vec<SearchHit>, SearchError> {
        Err(SearchError::Request {
            provider: self.0.to_string(),
            message: "connection refused".to_string(),
        })
    }
}

#[tokio::test]
async fn multi_search_merges_by_url_and_tolerates_a_failure() {
    let multi = MultiSearch::new(vec![
        Arc::new(Fixed {
            name: "a",
            hits: vec![
                ("https://Example.com/page#section", 10.0, None),
                ("https://example.com/only-a", 5.0, None),
            ],
        }),
        Arc::new(Failing("broken")),
        Arc::new(Fixed {
            name: "b",
            hits: vec![
                ("https://example.com/only-b", 0.9, None),
                ("https://example.com/page", 0.3, Some(date(2020, 5, 6))),
            ],
        }),
    ]);
    assert_eq!(multi.provider_names(), ["a", "broken", "b"]);

    let result = multi
        .search_all(&SearchQuery::new("page", 10))
        .await
        .expect("partial success");
    assert_eq!(result.failures.len(), 1);
    assert_eq!(result.failures[0].provider, "broken");
    assert!(matches!(
        result.failures[0].error,
        SearchError::Request { .. }
    ));

    let urls: Vec<&str> = result.hits.iter().map(|m| m.hit.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://Example.com/page#section",
            "https://example.com/only-b",
            "https://example.com/only-a"
        ]
    );
    let page = &result.hits[0];
    assert_eq!(page.providers, ["a", "b"]);
    assert_eq!(
        page.hit.provider, "a",
        "a's hit scored best once normalised"
    );
    assert_eq!(page.hit.score, 1.0);
    assert_eq!(page.hit.title.as_deref(), Some("a title"));
    assert_eq!(
        page.hit.published,
        Some(date(2020, 5, 6)),
        "completed from b's hit"
    );
    assert_eq!(result.hits[1].providers, ["b"]);
    assert_eq!(result.hits[1].hit.score, 1.0);
    assert_eq!(result.hits[2].hit.score, 0.5);

    // max_results cuts the merged list.
    let result = multi
        .search_all(&SearchQuery::new("page", 1))
        .await
        .unwrap();
    assert_eq!(result.hits.len(), 1);

    // As a provider: hits name every provider that found them.
    let hits = multi.search(&SearchQuery::new("page", 10)).await.unwrap();
    assert_eq!(hits[0].provider, "a,b");
    assert_eq!(hits[1].provider, "b");
    assert_eq!(multi.name(), "multi");
}

#[tokio::test]
async fn multi_search_fails_only_when_every_provider_fails() {
    let multi = MultiSearch::new(vec![Arc::new(Failing("x")), Arc::new(Failing("y"))]);
    let err = multi
        .search_all(&SearchQuery::new("q", 5))
        .await
        .unwrap_err();
    match &err {
        SearchError::AllFailed { failures } => {
            let names: Vec<&str> = failures.iter().map(|f| f.provider.as_str()).collect();
            assert_eq!(names, ["x", "y"]);
        }
        other => panic!("expected AllFailed, got {other:?}"),
    }
    assert!(err.to_string().contains("x: request failed"), "{err}");
    assert!(multi.search(&SearchQuery::new("q", 5)).await.is_err());

    // No provider at all: no hits, no error.
    let none = MultiSearch::new(Vec::new());
    assert!(none
        .search(&SearchQuery::new("q", 5))
        .await
        .unwrap()
        .is_empty());
}

/// Two providers that each wait for the other: only a concurrent search completes.
struct Rendezvous(Arc<tokio::sync::Barrier>, &'static str);

#[async_trait]
impl SearchProvider for Rendezvous {
    fn name(&self) -> &str {
        self.1
    }
    async fn search(&self, _query: &SearchQuery) -> Result<Vec<SearchHit>, SearchError> {
        self.0.wait().await;
        Ok(vec![SearchHit {
            url: format!("https://{}.example/", self.1),
            title: None,
            snippet: None,
            published: None,
            score: 1.0,
            provider: self.1.to_string(),
        }])
    }
}

#[tokio::test]
async fn multi_search_queries_providers_concurrently() {
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let multi = MultiSearch::new(vec![
        Arc::new(Rendezvous(barrier.clone(), "one")),
        Arc::new(Rendezvous(barrier, "two")),
    ]);
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        multi.search_all(&SearchQuery::new("q", 5)),
    )
    .await
    .expect("providers ran one after the other");
    assert_eq!(result.unwrap().hits.len(), 2);
}

#[tokio::test]
async fn local_index_and_a_dead_searxng_together() {
    let dir = TempDir::new("multi-real");
    let index = open_with_corpus(dir.path());
    let (wiki_addr, _) = canned("/w/api.php", StatusCode::OK, mediawiki_answer()).await;
    let multi = MultiSearch::new(vec![
        Arc::new(index),
        Arc::new(SearxngProvider::new(&format!("http://{}", closed_port().await)).unwrap()),
        Arc::new(WikipediaProvider::new(&format!("http://{wiki_addr}/w/api.php")).unwrap()),
    ]);
    let result = multi
        .search_all(&SearchQuery::new("borrow checker", 10))
        .await
        .unwrap();
    assert_eq!(result.failures.len(), 1);
    assert_eq!(result.failures[0].provider, "searxng");
    let providers: Vec<&str> = result
        .hits
        .iter()
        .flat_map(|m| m.providers.iter().map(String::as_str))
        .collect();
    assert!(
        providers.contains(&"local") && providers.contains(&"wikipedia"),
        "{providers:?}"
    );
    assert!(result
        .hits
        .iter()
        .any(|m| m.hit.url == "https://example.test/rust"));
    assert!(result
        .hits
        .iter()
        .all(|m| m.hit.score > 0.0 && m.hit.score <= 1.0));
}
