//! The PostgreSQL index of pages (`parallax_store::pages`): what one tenant read another never
//! finds or gets, shared pages are everyone's, a page is replaced by owner and URL, free text
//! never fails as query syntax, a title match outranks a body match, and two stores on one
//! schema (two nodes) see the same pages.

use chrono::{NaiveDate, Utc};
use parallax_store::pages::{PgPages, StoredPage};
use parallax_store::postgres::PgStore;

#[path = "backends/test_database.rs"]
mod test_database;

async fn pages_on(schema: &str) -> (PgStore, PgPages) {
    let (url, _client) = test_database::connect().await;
    let store = PgStore::connect_with_schema(&url, schema)
        .await
        .unwrap_or_else(|e| panic!("connect on schema {schema}: {e}"));
    let pages = store.pages();
    (store, pages)
}

fn page(owner: Option<&str>, url: &str, title: &str, text: &str) -> StoredPage {
    StoredPage {
        url: url.to_string(),
        owner: owner.map(str::to_owned),
        title: Some(title.to_string()),
        text: text.to_string(),
        published: None,
        fetched_at: Utc::now(),
    }
}

fn urls(hits: &[parallax_store::pages::PageHit]) -> Vec<&str> {
    hits.iter().map(|h| h.url.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_a_tenant_sees_its_pages_and_shared_ones_only() {
    let schema = test_database::fresh_schema();
    let (_store, pages) = pages_on(&schema).await;
    pages
        .upsert(&[
            page(
                Some("tenant_a"),
                "https://a.example/quokka",
                "Quokka census",
                "The quokka census of Rottnest Island counted marsupials.",
            ),
            page(
                Some("tenant_b"),
                "https://b.example/quokka",
                "Quokka secrets",
                "Tenant B's private notes on the quokka population.",
            ),
            page(
                None,
                "https://shared.example/quokka",
                "Shared quokka facts",
                "Everyone may read about the quokka.",
            ),
        ])
        .await
        .unwrap();

    let a = pages
        .search("quokka", Some("tenant_a"), 10, true)
        .await
        .unwrap();
    let mut found = urls(&a);
    found.sort();
    assert_eq!(
        found,
        vec!["https://a.example/quokka", "https://shared.example/quokka"]
    );
    assert!(a.iter().all(|h| h.snippet.is_some()), "{a:?}");
    let b = pages
        .search("quokka", Some("tenant_b"), 10, false)
        .await
        .unwrap();
    assert!(!urls(&b).contains(&"https://a.example/quokka"), "{b:?}");
    assert!(b.iter().all(|h| h.snippet.is_none()));
    let anonymous = pages.search("quokka", None, 10, true).await.unwrap();
    assert_eq!(urls(&anonymous), vec!["https://shared.example/quokka"]);

    // Getting by URL: B never gets A's page, A gets its own, everyone the shared one.
    assert!(pages
        .get_visible("https://a.example/quokka", Some("tenant_b"))
        .await
        .unwrap()
        .is_none());
    let own = pages
        .get_visible("https://a.example/quokka", Some("tenant_a"))
        .await
        .unwrap()
        .expect("A's own page");
    assert_eq!(own.owner.as_deref(), Some("tenant_a"));
    assert!(own.text.contains("Rottnest"));
    let shared = pages
        .get_visible("https://shared.example/quokka", Some("tenant_b"))
        .await
        .unwrap()
        .expect("the shared page");
    assert_eq!(shared.owner, None);
    assert_eq!(pages.count().await.unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_a_page_is_replaced_by_owner_and_url_and_own_copy_wins() {
    let schema = test_database::fresh_schema();
    let (_store, pages) = pages_on(&schema).await;
    let url = "https://news.example/story";
    pages
        .upsert(&[page(None, url, "Old story", "The old wombat text.")])
        .await
        .unwrap();
    let mut newer = page(
        None,
        url,
        "New story",
        "The new platypus text.\0 with a NUL",
    );
    newer.published = Some(NaiveDate::from_ymd_opt(2024, 5, 1).unwrap());
    // Two versions of one page in one batch: the later wins.
    pages
        .upsert(&[
            page(None, url, "Middle story", "The middle echidna text."),
            newer,
        ])
        .await
        .unwrap();
    assert_eq!(pages.count().await.unwrap(), 1);
    assert!(pages
        .search("wombat", None, 10, false)
        .await
        .unwrap()
        .is_empty());
    assert!(pages
        .search("echidna", None, 10, false)
        .await
        .unwrap()
        .is_empty());
    let hits = pages.search("platypus", None, 10, true).await.unwrap();
    assert_eq!(urls(&hits), vec![url]);
    assert_eq!(hits[0].title.as_deref(), Some("New story"));
    assert_eq!(hits[0].published, NaiveDate::from_ymd_opt(2024, 5, 1));

    // A tenant's own copy of a URL is another row; it is the one the tenant gets, once.
    pages
        .upsert(&[page(
            Some("tenant_a"),
            url,
            "A's story",
            "A's platypus text.",
        )])
        .await
        .unwrap();
    assert_eq!(pages.count().await.unwrap(), 2);
    let got = pages
        .get_visible(url, Some("tenant_a"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.title.as_deref(), Some("A's story"));
    let hits = pages
        .search("platypus", Some("tenant_a"), 10, false)
        .await
        .unwrap();
    assert_eq!(urls(&hits), vec![url]);
    assert_eq!(hits[0].title.as_deref(), Some("A's story"));
    let other = pages
        .get_visible(url, Some("tenant_b"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.title.as_deref(), Some("New story"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_free_text_never_fails_as_syntax_and_titles_rank_first() {
    let schema = test_database::fresh_schema();
    let (_store, pages) = pages_on(&schema).await;
    pages
        .upsert(&[
            page(
                None,
                "https://x.example/body",
                "A page about animals",
                "Somewhere in this long body the word tardigrade appears once among many other \
                 words about animals of every kind.",
            ),
            page(
                None,
                "https://x.example/title",
                "Tardigrades",
                "Microscopic animals that survive almost anything.",
            ),
        ])
        .await
        .unwrap();
    for query in [
        "\"tardigrade",
        "tardigrade: AND OR NOT",
        "-tardigrade",
        "tardigrade & | ! ( ) <-> :* \\ '",
        "NOT tardigrade",
        "' OR 1=1 --",
        "",
        "   ",
        "the and of",
        "ünïcödé 数据 tardigrade",
    ] {
        pages
            .search(query, Some("tenant_a"), 10, true)
            .await
            .unwrap_or_else(|e| panic!("{query:?} failed: {e}"));
    }
    let hits = pages
        .search("tardigrade: \"survive\"", Some("tenant_a"), 10, true)
        .await
        .unwrap();
    assert_eq!(
        urls(&hits),
        vec!["https://x.example/title", "https://x.example/body"]
    );
    assert!(hits[0].score > hits[1].score);
    // English stemming: "tardigrades" in the title matches "tardigrade".
    let hits = pages.search("tardigrade", None, 10, true).await.unwrap();
    assert_eq!(urls(&hits)[0], "https://x.example/title");
    let snippet = hits[1].snippet.as_deref().unwrap();
    assert!(snippet.contains("tardigrade"), "{snippet}");
    assert!(!snippet.contains('<'), "plain text: {snippet}");
    assert_eq!(
        pages
            .search("tardigrade", None, 1, false)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(pages
        .search("tardigrade", None, 0, false)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_postgres_two_stores_on_one_schema_share_pages() {
    let schema = test_database::fresh_schema();
    let (_first, node_a) = pages_on(&schema).await;
    let (_second, node_b) = pages_on(&schema).await;
    node_a
        .upsert(&[page(
            Some("tenant_t"),
            "https://t.example/narwhal",
            "Narwhal tusks",
            "The narwhal tusk is a tooth.",
        )])
        .await
        .unwrap();
    let hits = node_b
        .search("narwhal", Some("tenant_t"), 10, false)
        .await
        .unwrap();
    assert_eq!(urls(&hits), vec!["https://t.example/narwhal"]);
    assert!(node_b
        .search("narwhal", Some("tenant_u"), 10, false)
        .await
        .unwrap()
        .is_empty());
}
