//! Monitors end to end in the engine: a loopback site about a canal's restoration, found by
//! a canned SearXNG instance, changes between executions the way news pages do (a story is
//! added; a counter and a footer date change on every view), and the watcher must report
//! each new story once, and nothing else. The providers hold a fetch cache (an hour) and a
//! local index, as a server's do: a monitor must read past both.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use parallax_engine::budget::lookup;
use parallax_engine::fetch::{FetchCache, Fetcher, FetcherConfig, DEFAULT_CACHE_BYTES};
use parallax_engine::monitor::{fresh_processor, snapshot_change, Detection, Seen, Watch, Watcher};
use parallax_engine::pipeline::{Providers, ResearchProcessor};
use parallax_engine::search::{Indexer, LocalIndex, SearxngProvider};
use parallax_engine::web::page::ExtractedCache;
use parallax_engine::{MessageKind, Processor, ProgressSink, SourceStats, Task};
use serde_json::{json, Value};

const QUERY: &str = "Brindle canal restoration news";

const MILLFORD: &str = "The Brindle Canal Trust announced that the restored Millford lock \
    will reopen to boats on 12 June 2025, after two years of repairs to its gates.";
/// The same story as another page tells it.
const MILLFORD_REWORDED: &str = "Boats can pass the Millford lock on the Brindle canal again \
    from June 12, 2025, when the Trust reopens it after two years of repairs to the gates.";

/// The site: pages by name, each a title and its paragraphs, and a view counter that every
/// request moves (as the counter and "generated at" footer of a real page would).
struct Site {
    pages: Mutex<BTreeMap<String, (String, Vec<String>)>>,
    views: AtomicUsize,
}

impl Site {
    fn new() -> Site {
        let page = |title: &str, paragraphs: &[&str]| {
            (
                title.to_owned(),
                paragraphs.iter().map(|p| (*p).to_owned()).collect(),
            )
        };
        let mut pages = BTreeMap::new();
        pages.insert(
            "news".to_owned(),
            page(
                "Brindle Canal Restoration News",
                &[
                    "The Brindle Canal Trust began draining the upper pound in January so that \
                     engineers could survey the damaged lock gates.",
                    "Volunteers planted 400 trees along the Brindle canal towpath this winter, \
                     completing the first phase of the restoration.",
                ],
            ),
        );
        pages.insert(
            "history".to_owned(),
            page(
                "History of the Brindle Canal",
                &[
                    "The Brindle canal opened in 1794 and carried coal from the valley pits \
                     until the railway took its trade in 1890.",
                    "The first restoration of the Brindle canal was proposed in 1968 by a group \
                     of local boaters who cleared the silted basin by hand.",
                ],
            ),
        );
        pages.insert(
            "society".to_owned(),
            page(
                "The Brindle Canal Society",
                &[
                    "The Brindle Canal Society raises money for the restoration through its \
                   annual boat festival, held every August at the town basin.",
                ],
            ),
        );
        Site {
            pages: Mutex::new(pages),
            views: AtomicUsize::new(0),
        }
    }

    fn add(&self, page: &str, paragraph: &str) {
        let mut pages = self.pages.lock().unwrap();
        pages.get_mut(page).unwrap().1.push(paragraph.to_owned());
    }
}

async fn page(State(site): State<Arc<Site>>, Path(name): Path<String>) -> impl IntoResponse {
    let views = site.views.fetch_add(1, Ordering::SeqCst) + 1;
    let (title, paragraphs) = site.pages.lock().unwrap().get(&name).cloned().unwrap();
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect();
    Html(format!(
        "<html><head><title>{title}</title></head><body>\
         <nav><a href=\"/\">Home</a> | <a href=\"/news\">News</a> | <a href=\"/join\">Join</a></nav>\
         <article><h1>{title}</h1>{body}<p>Page views: {views}</p></article>\
         <footer>Generated on 2025-05-{:02} at 10:{:02} by the Brindle Canal Society website</footer>\
         </body></html>",
        views % 28 + 1,
        views % 60
    ))
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

struct Dir(std::path::PathBuf);
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct World {
    site: Arc<Site>,
    site_addr: SocketAddr,
    providers: Providers,
    _dir: Dir,
}

impl World {
    fn url(&self, page: &str) -> String {
        format!("http://{}/pages/{page}", self.site_addr)
    }

    fn watch(&self, processor: &str, output_schema: Option<Value>) -> Watch {
        Watch {
            tenant: "t".into(),
            monitor_id: "monitor_test".into(),
            query: QUERY.into(),
            output_schema,
            source_policy: None,
            location: None,
            budget: lookup(processor).unwrap(),
        }
    }
}

async fn world(tag: &str) -> World {
    let site = Arc::new(Site::new());
    let site_addr = serve(
        Router::new()
            .route("/pages/{name}", get(page))
            .with_state(site.clone()),
    )
    .await;
    // SearXNG names the three pages for every query.
    let results: Vec<Value> = ["news", "history", "society"]
        .iter()
        .map(|name| {
            json!({"url": format!("http://{site_addr}/pages/{name}"), "title": name,
                   "content": "Brindle canal", "score": 1.0})
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
    let dir = std::env::temp_dir().join(format!("px-monitor-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let index = LocalIndex::open(&dir).unwrap();
    let providers = Providers {
        search: vec![Arc::new(
            SearxngProvider::new(&format!("http://{searx}")).unwrap(),
        )],
        index: Some(Indexer::start(index)),
        fetch: FetchCache::new(
            Fetcher::new(FetcherConfig {
                allow_private: true,
                ..FetcherConfig::default()
            }),
            DEFAULT_CACHE_BYTES,
        ),
        // An hour: a task run would read the same copy all through the test.
        cache_max_age: Duration::from_secs(3600),
        extracted: ExtractedCache::default(),
        llm: None,
    };
    World {
        site,
        site_addr,
        providers,
        _dir: Dir(dir),
    }
}

/// Remembers what a detection observed, as the store does.
fn remember(seen: &mut Seen, detection: &Detection) {
    for key in &detection.observed {
        if !seen.keys.contains(key) {
            seen.keys.push(key.clone());
        }
    }
}

fn texts(detection: &Detection) -> Vec<String> {
    detection
        .findings
        .iter()
        .map(|f| f.output["content"].to_string())
        .collect()
}

#[tokio::test]
async fn each_new_story_is_reported_once() {
    let w = world("stream").await;
    let watcher = Watcher::new(w.providers.clone());
    let watch = w.watch("lite", None);
    let mut seen = Seen::default();

    // 1. The first execution without backfill: everything is observed, nothing reported.
    let first = watcher.detect(&watch, &seen, false).await.unwrap();
    assert!(first.findings.is_empty());
    // The five relevant paragraphs; not the counter, the navigation or the footer.
    assert_eq!(first.observed.len(), 5, "{:?}", first.observed);
    remember(&mut seen, &first);

    // 2. Nothing changed but the counters and footer dates: nothing new.
    let second = watcher.detect(&watch, &seen, true).await.unwrap();
    assert!(second.findings.is_empty(), "{:?}", texts(&second));
    remember(&mut seen, &second);
    assert_eq!(seen.keys.len(), 5);
    let before_the_story = seen.clone();

    // 3. The news page adds a story: exactly that story, citing that page.
    w.site.add("news", MILLFORD);
    let third = watcher.detect(&watch, &seen, true).await.unwrap();
    assert_eq!(third.findings.len(), 1, "{:?}", texts(&third));
    let finding = &third.findings[0];
    assert_eq!(finding.source_urls, [w.url("news")]);
    assert_eq!(finding.event_date.as_deref(), Some("2025-06-12"));
    assert_eq!(finding.output["type"], "text");
    let content = finding.output["content"].as_str().unwrap();
    assert!(content.contains("Millford lock"), "{content}");
    assert!(
        !content.contains("draining"),
        "only the new story: {content}"
    );
    let basis = &finding.output["basis"][0];
    assert_eq!(basis["field"], "output");
    assert_eq!(basis["confidence"], "medium");
    assert_eq!(basis["citations"][0]["url"], w.url("news"));
    assert!(basis["citations"][0]["excerpts"][0]
        .as_str()
        .unwrap()
        .contains("Millford"));
    assert!(
        finding.summary.contains("Millford lock"),
        "{}",
        finding.summary
    );
    assert!(!finding.summary.contains('\n'));
    remember(&mut seen, &third);

    // 4. Unchanged again: nothing new.
    let fourth = watcher.detect(&watch, &seen, true).await.unwrap();
    assert!(fourth.findings.is_empty(), "{:?}", texts(&fourth));
    remember(&mut seen, &fourth);

    // 5. Another page tells the same story in its own words: not new.
    w.site.add("society", MILLFORD_REWORDED);
    let fifth = watcher.detect(&watch, &seen, true).await.unwrap();
    assert!(fifth.findings.is_empty(), "{:?}", texts(&fifth));
    remember(&mut seen, &fifth);

    // 6. A JSON monitor that had seen the site before the story reports it in its schema,
    // from the story's two pages only.
    let schema = json!({"type": "json", "json_schema": {"type": "object", "properties": {
        "lock": {"type": "string", "description": "The name of the lock"},
        "reopening_date": {"type": "string", "description": "The date the lock reopens, YYYY-MM-DD"},
    }}});
    let json_watch = w.watch("lite", Some(schema));
    let json = watcher
        .detect(&json_watch, &before_the_story, true)
        .await
        .unwrap();
    assert_eq!(json.findings.len(), 1, "{:?}", texts(&json));
    let finding = &json.findings[0];
    let mut urls = finding.source_urls.clone();
    urls.sort();
    assert_eq!(urls, [w.url("news"), w.url("society")]);
    assert_eq!(finding.output["type"], "json");
    let content = finding.output["content"].as_object().unwrap();
    assert!(content.contains_key("lock") && content.contains_key("reopening_date"));
    assert_eq!(content["reopening_date"], "2025-06-12", "{content:?}");
    for entry in finding.output["basis"].as_array().unwrap() {
        for citation in entry["citations"].as_array().unwrap() {
            let url = citation["url"].as_str().unwrap();
            assert!(urls.iter().any(|u| u == url), "{url} is not the story's");
        }
    }
}

#[tokio::test]
async fn backfill_reports_what_is_there_merging_one_story_from_two_pages() {
    let w = world("backfill").await;
    w.site.add("news", MILLFORD);
    w.site.add("society", MILLFORD_REWORDED);
    let watcher = Watcher::new(w.providers.clone());

    // Six stories, one of them on two pages.
    let base = watcher
        .detect(&w.watch("base", None), &Seen::default(), true)
        .await
        .unwrap();
    assert_eq!(base.findings.len(), 6, "{:?}", texts(&base));
    assert_eq!(base.observed.len(), 7);
    let merged: Vec<_> = base
        .findings
        .iter()
        .filter(|f| f.source_urls.len() > 1)
        .collect();
    assert_eq!(merged.len(), 1, "{:?}", texts(&base));
    let mut urls = merged[0].source_urls.clone();
    urls.sort();
    assert_eq!(urls, [w.url("news"), w.url("society")]);
    let basis = &merged[0].output["basis"][0];
    assert_eq!(basis["confidence"], "high");
    assert_eq!(basis["citations"].as_array().unwrap().len(), 2);
    assert!(base
        .findings
        .iter()
        .filter(|f| f.source_urls.len() == 1)
        .all(|f| f.output["basis"][0]["confidence"] == "medium"));

    // `lite` reports at most five.
    let lite = watcher
        .detect(&w.watch("lite", None), &Seen::default(), true)
        .await
        .unwrap();
    assert_eq!(lite.findings.len(), 5, "{:?}", texts(&lite));
    assert_eq!(lite.observed.len(), 7, "what is not reported is remembered");
}

#[tokio::test]
async fn a_failed_search_is_a_failure_not_nothing_new() {
    let mut w = world("failed").await;
    // A search provider that answers nothing but errors.
    let dead = serve(Router::new()).await;
    w.providers.search = vec![Arc::new(
        SearxngProvider::new(&format!("http://{dead}")).unwrap(),
    )];
    let watcher = Watcher::new(w.providers.clone());
    let failure = watcher
        .detect(&w.watch("lite", None), &Seen::default(), true)
        .await
        .unwrap_err();
    assert!(failure.message.contains("No search"), "{}", failure.message);
}

struct Quiet;
#[async_trait]
impl ProgressSink for Quiet {
    async fn message(&self, _: MessageKind, _: &str) {}
    async fn stats(&self, _: &SourceStats, _: f64) {}
}

#[tokio::test]
async fn snapshot_reexecutions_read_pages_fresh() {
    let w = world("snapshot").await;
    let task = Task {
        run_id: "trun_snapshot".into(),
        tenant: "t".into(),
        budget: lookup("lite").unwrap(),
        request: json!({"input": "When will the Millford lock reopen to boats?",
                         "task_spec": {"output_schema": {"type": "text"}}}),
        previous_interaction_id: None,
        instructions: None,
        previous: None,
        memory_sources: Vec::new(),
        mcp_servers: Vec::new(),
    };
    let fresh = fresh_processor(w.providers.clone());
    let cached = ResearchProcessor::new(w.providers.clone());
    let before = fresh.run(task.clone(), &Quiet).await.unwrap().output;
    assert!(!before.to_string().contains("Millford lock will"));
    w.site.add("news", MILLFORD);
    // A task run's reading takes the hour-old copy: it cannot see the story.
    let stale = cached.run(task.clone(), &Quiet).await.unwrap().output;
    assert!(!stale.to_string().contains("12 June 2025"), "{stale}");
    let after = fresh.run(task, &Quiet).await.unwrap().output;
    assert!(
        after["content"].as_str().unwrap().contains("12 June 2025"),
        "{after}"
    );
    let change = snapshot_change(&before, &after).expect("the answer changed");
    assert_eq!(change["type"], "text");
    assert_eq!(snapshot_change(&after, &after), None);
}
