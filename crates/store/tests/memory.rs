//! Memory in the store, on both backends: entries recorded by the events that make them
//! (a task run completing, a FindAll run created and matching, a monitor created, executed
//! and cancelled), scopes and tenants kept apart, eviction and clearing with tombstones that
//! later updates leave alone, and the kind, since and limit filters.

use parallax_api::findall::{parse_create_findall, MatchStatus};
use parallax_api::memory::MemoryKind;
use parallax_api::monitor::{parse_create, MonitorConfig, MONITOR_PREFIX};
use parallax_api::{ids, time::now_micros};
use parallax_store::findall::{FindAllToCreate, FindAllWork, NewCandidate};
use parallax_store::memory::{MemoryEntry, MemoryQuery};
use parallax_store::monitor::{Execution, MonitorToCreate};
use parallax_store::{CreateOutcome, Lease, RunOutcome, RunToCreate, Store};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

mod backends;

const TTL: Duration = Duration::from_secs(30);

async fn tenant(store: &dyn Store) -> String {
    let mut hash = [0u8; 32];
    hash[..16].copy_from_slice(&uuid::Uuid::new_v4().into_bytes());
    store.create_tenant_with_key(hash, "test").await.unwrap()
}

fn everything() -> MemoryQuery {
    MemoryQuery {
        kind: None,
        since: None,
        limit: 100,
    }
}

async fn entries(store: &dyn Store, tenant: &str, scope: &str) -> Vec<MemoryEntry> {
    store
        .retrieve_memory(tenant, scope, everything())
        .await
        .unwrap()
}

fn ids_of(entries: &[MemoryEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

/// Creates a run with `request` as its body, claims it and ends it with `outcome`.
async fn run_to_end(
    store: &dyn Store,
    tenant: &str,
    request: Value,
    outcome: RunOutcome,
) -> String {
    let run_id = ids::new_run_id();
    let created = store
        .create_run(
            tenant,
            RunToCreate {
                run_id: run_id.clone(),
                processor: "lite".into(),
                input_doc: request.to_string(),
                metadata: None,
                enable_events: false,
                previous_interaction_id: None,
                created_at: now_micros(),
                webhook_url: None,
                warnings: None,
                idempotency: None,
                betas: None,
            },
        )
        .await
        .unwrap();
    assert!(matches!(created, CreateOutcome::Created(_)));
    let mut held = false;
    for _ in 0..50 {
        let claimed = store.claim_runs(Lease::new("w", TTL), 16).await.unwrap();
        if claimed.iter().any(|c| c.run_id == run_id) {
            held = true;
            break;
        }
    }
    assert!(held, "the run was claimed");
    assert!(store.finish_run("w", &run_id, outcome).await.unwrap());
    run_id
}

fn completed(content: Value, urls: &[&str]) -> RunOutcome {
    let citations: Vec<Value> = urls.iter().map(|u| json!({"url": u})).collect();
    RunOutcome::Completed {
        output: json!({"type": "text", "content": content, "basis": [
            {"field": "output", "citations": citations, "reasoning": "r", "confidence": "high"}
        ]})
        .to_string(),
        warnings: None,
    }
}

fn monitor_config(query: &str, scope: Option<&str>) -> MonitorConfig {
    let mut body = json!({
        "type": "event_stream",
        "frequency": "1d",
        "settings": {"query": query},
    });
    if let Some(scope) = scope {
        body["memory_scope_key"] = json!(scope);
    }
    parse_create(body.to_string().as_bytes()).unwrap().config
}

async fn create_monitor(
    store: &dyn Store,
    tenant: &str,
    query: &str,
    scope: Option<&str>,
) -> String {
    let monitor_id = ids::new_id(MONITOR_PREFIX);
    store
        .create_monitor(
            tenant,
            MonitorToCreate {
                monitor_id: monitor_id.clone(),
                config: monitor_config(query, scope),
                created_at: now_micros(),
                snapshot: None,
            },
        )
        .await
        .unwrap();
    monitor_id
}

async fn create_findall(store: &dyn Store, tenant: &str, scope: Option<&str>) -> String {
    let mut body = json!({
        "objective": "Find all dental clinics in Quillmere",
        "entity_type": "dental clinics",
        "match_conditions": [{"name": "in_town", "description": "Located in Quillmere"}],
        "generator": "base",
        "match_limit": 5,
    });
    if let Some(scope) = scope {
        body["memory_scope_key"] = json!(scope);
    }
    let new = parse_create_findall(body.to_string().as_bytes()).unwrap();
    let id = ids::new_id("findall_");
    store
        .create_findall(
            tenant,
            FindAllToCreate {
                findall_id: id.clone(),
                new,
                created_at: now_micros(),
            },
        )
        .await
        .unwrap();
    id
}

/// Claims the FindAll run, adds `names` as candidates and matches each.
async fn match_candidates(store: &dyn Store, tenant: &str, id: &str, names: &[&str]) {
    let claimed = store.claim_findall(Lease::new("fw", TTL), 4).await.unwrap();
    assert!(claimed.iter().any(|c| c.findall_id == id) || claimed.is_empty());
    let work = FindAllWork::AddCandidates(
        names
            .iter()
            .map(|n| NewCandidate {
                key: n.to_lowercase(),
                name: n.to_string(),
                url: format!("https://{}.example/", n.to_lowercase()),
                description: None,
            })
            .collect(),
    );
    store.findall_work("fw", id, work).await.unwrap().unwrap();
    let candidates = store.findall_candidates(tenant, id).await.unwrap().unwrap();
    for c in candidates
        .iter()
        .filter(|c| names.contains(&c.name.as_str()))
    {
        let decide = FindAllWork::Decide {
            candidate_id: c.candidate_id.clone(),
            status: MatchStatus::Matched,
            output: json!({"in_town": {"value": "yes", "type": "match_condition", "is_matched": true}}).to_string(),
            basis: json!([{"field": "in_town", "citations": [], "reasoning": "r", "confidence": "high"}]).to_string(),
        };
        store.findall_work("fw", id, decide).await.unwrap().unwrap();
    }
}

pub async fn a_completed_run_is_remembered_in_its_scope(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let scoped = run_to_end(
        &*store,
        &t,
        json!({"processor": "lite", "input": "When was the Quellmoor charter granted?", "memory_scope_key": "town"}),
        completed(json!("In 1347, by Countess Aldreda."), &["https://a.example/charter", "https://b.example/x", "https://a.example/charter"]),
    )
    .await;
    let personal = run_to_end(
        &*store,
        &t,
        json!({"processor": "lite", "input": {"company": "Acme"}, "memory_scope_key": null}),
        RunOutcome::Completed {
            output: json!({"type": "json", "content": {"ceo": "Ada"}, "basis": []}).to_string(),
            warnings: None,
        },
    )
    .await;
    let failed = run_to_end(
        &*store,
        &t,
        json!({"processor": "lite", "input": "never answered", "memory_scope_key": "town"}),
        RunOutcome::Failed {
            error: parallax_api::error::ErrorObject {
                ref_id: "r".into(),
                message: "m".into(),
                detail: None,
            },
        },
    )
    .await;

    let town = entries(&*store, &t, "town").await;
    assert_eq!(
        ids_of(&town),
        vec![scoped.as_str()],
        "failed runs are not remembered"
    );
    let entry = &town[0];
    assert_eq!(entry.kind, MemoryKind::Task);
    assert_eq!(entry.input, "When was the Quellmoor charter granted?");
    assert_eq!(entry.output, "In 1347, by Countess Aldreda.");
    assert_eq!(
        entry.sources,
        vec!["https://a.example/charter", "https://b.example/x"]
    );
    let run = store.get_run(&t, &scoped).await.unwrap().unwrap();
    assert_eq!(
        entry.updated_at, run.modified_at,
        "updated when it completed"
    );

    let mine = entries(&*store, &t, "").await;
    assert_eq!(ids_of(&mine), vec![personal.as_str()]);
    assert_eq!(mine[0].input, r#"{"company":"Acme"}"#);
    assert_eq!(mine[0].output, r#"{"ceo":"Ada"}"#);
    assert!(store.get_run(&t, &failed).await.unwrap().is_some());
}

pub async fn scopes_and_tenants_are_apart(store: Arc<dyn Store>) {
    let (a, b) = (tenant(&*store).await, tenant(&*store).await);
    let in_a = run_to_end(
        &*store,
        &a,
        json!({"input": "a question", "memory_scope_key": "shared"}),
        completed(json!("a answer"), &[]),
    )
    .await;
    let in_b = run_to_end(
        &*store,
        &b,
        json!({"input": "b question", "memory_scope_key": "shared"}),
        completed(json!("b answer"), &[]),
    )
    .await;
    assert_eq!(
        ids_of(&entries(&*store, &a, "shared").await),
        vec![in_a.as_str()]
    );
    assert_eq!(
        ids_of(&entries(&*store, &b, "shared").await),
        vec![in_b.as_str()]
    );
    assert!(entries(&*store, &a, "").await.is_empty());
    assert!(entries(&*store, &a, "other").await.is_empty());
    // Another tenant cannot evict or clear what is not theirs.
    assert!(!store
        .evict_memory(&b, "shared", MemoryKind::Task, &in_a)
        .await
        .unwrap());
    assert_eq!(store.clear_memory(&b, "shared").await.unwrap(), 1);
    assert_eq!(
        ids_of(&entries(&*store, &a, "shared").await),
        vec![in_a.as_str()]
    );
    assert!(entries(&*store, &b, "shared").await.is_empty());
}

pub async fn evict_and_clear_leave_tombstones(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let monitor = create_monitor(&*store, &t, "Quillmere clinics", Some("k")).await;
    let findall = create_findall(&*store, &t, Some("k")).await;
    let run = run_to_end(
        &*store,
        &t,
        json!({"input": "q", "memory_scope_key": "k"}),
        completed(json!("a"), &[]),
    )
    .await;
    let kept = run_to_end(
        &*store,
        &t,
        json!({"input": "q", "memory_scope_key": "other"}),
        completed(json!("a"), &[]),
    )
    .await;
    assert_eq!(entries(&*store, &t, "k").await.len(), 3);

    // Wrong kind, wrong scope: not there.
    assert!(!store
        .evict_memory(&t, "k", MemoryKind::Monitor, &run)
        .await
        .unwrap());
    assert!(!store
        .evict_memory(&t, "", MemoryKind::Task, &run)
        .await
        .unwrap());
    assert!(store
        .evict_memory(&t, "k", MemoryKind::Monitor, &monitor)
        .await
        .unwrap());
    assert!(!store
        .evict_memory(&t, "k", MemoryKind::Monitor, &monitor)
        .await
        .unwrap());
    let left = entries(&*store, &t, "k").await;
    assert!(!ids_of(&left).contains(&monitor.as_str()));
    assert_eq!(left.len(), 2);

    // The monitor runs again, is cancelled: it stays out.
    let claimed = store
        .claim_monitors(Lease::new("mw", TTL), now_micros(), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let event = json!({"event_date": null, "source_urls": [], "output": {"type": "text", "content": "A clinic opened", "basis": []}, "summary": "A clinic opened"});
    assert!(store
        .finish_monitor(
            "mw",
            &monitor,
            Execution::Ran {
                events: vec![event],
                observed: vec![],
                snapshot: None
            },
            now_micros()
        )
        .await
        .unwrap());
    store.cancel_monitor(&t, &monitor).await.unwrap().unwrap();
    assert!(!ids_of(&entries(&*store, &t, "k").await).contains(&monitor.as_str()));
    assert!(
        store.get_monitor(&t, &monitor).await.unwrap().is_some(),
        "the monitor itself stays"
    );

    // Clear: the scope empties, later matches of its FindAll run stay out, other scopes stay.
    assert_eq!(store.clear_memory(&t, "k").await.unwrap(), 2);
    assert!(entries(&*store, &t, "k").await.is_empty());
    match_candidates(&*store, &t, &findall, &["Alpha"]).await;
    assert!(entries(&*store, &t, "k").await.is_empty());
    assert!(store.get_findall(&t, &findall).await.unwrap().is_some());
    assert!(store.get_run(&t, &run).await.unwrap().is_some());
    assert_eq!(
        ids_of(&entries(&*store, &t, "other").await),
        vec![kept.as_str()]
    );

    // A new run in the cleared scope is remembered.
    let after = run_to_end(
        &*store,
        &t,
        json!({"input": "again", "memory_scope_key": "k"}),
        completed(json!("a"), &[]),
    )
    .await;
    assert_eq!(
        ids_of(&entries(&*store, &t, "k").await),
        vec![after.as_str()]
    );
}

pub async fn monitors_and_findall_runs_are_kept_up_to_date(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let monitor = create_monitor(&*store, &t, "Quillmere clinics", None).await;
    let findall = create_findall(&*store, &t, None).await;
    let got = entries(&*store, &t, "").await;
    assert_eq!(got.len(), 2);
    let m = got.iter().find(|e| e.id == monitor).unwrap();
    assert_eq!(m.kind, MemoryKind::Monitor);
    assert_eq!(
        (m.input.as_str(), m.status.as_deref()),
        ("Quillmere clinics", Some("active"))
    );
    assert!(m.events.is_empty());
    let f = got.iter().find(|e| e.id == findall).unwrap();
    assert_eq!(f.kind, MemoryKind::FindAll);
    assert_eq!(f.input, "Find all dental clinics in Quillmere");
    assert_eq!(f.matched_count, Some(0));

    match_candidates(&*store, &t, &findall, &["Alpha", "Beta"]).await;
    let f = entries(&*store, &t, "")
        .await
        .into_iter()
        .find(|e| e.id == findall)
        .unwrap();
    assert_eq!(f.matched_count, Some(2));

    let ran_at = now_micros() + 5_000_000;
    store
        .claim_monitors(Lease::new("mw", TTL), ran_at, 10)
        .await
        .unwrap();
    let event = json!({"event_date": null, "source_urls": [], "output": {"type": "text", "content": "A clinic opened", "basis": []}, "summary": "A clinic opened on Mill Street"});
    assert!(store
        .finish_monitor(
            "mw",
            &monitor,
            Execution::Ran {
                events: vec![event],
                observed: vec![],
                snapshot: None
            },
            ran_at
        )
        .await
        .unwrap());
    let m = entries(&*store, &t, "")
        .await
        .into_iter()
        .find(|e| e.id == monitor)
        .unwrap();
    assert_eq!(m.updated_at, ran_at);
    assert_eq!(m.events.len(), 1);
    assert_eq!(
        m.events[0].document["summary"],
        "A clinic opened on Mill Street"
    );
    store.cancel_monitor(&t, &monitor).await.unwrap().unwrap();
    let m = entries(&*store, &t, "")
        .await
        .into_iter()
        .find(|e| e.id == monitor)
        .unwrap();
    assert_eq!(
        (m.status.as_deref(), m.updated_at),
        (Some("cancelled"), ran_at)
    );
}

pub async fn kind_since_and_limit(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let first = run_to_end(
        &*store,
        &t,
        json!({"input": "one"}),
        completed(json!("1"), &[]),
    )
    .await;
    let monitor = create_monitor(&*store, &t, "two", None).await;
    let between = now_micros();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let third = run_to_end(
        &*store,
        &t,
        json!({"input": "three"}),
        completed(json!("3"), &[]),
    )
    .await;
    let all = entries(&*store, &t, "").await;
    assert_eq!(
        ids_of(&all),
        vec![third.as_str(), monitor.as_str(), first.as_str()],
        "newest first"
    );
    let query = |kind, since, limit| MemoryQuery { kind, since, limit };
    let tasks = store
        .retrieve_memory(&t, "", query(Some(MemoryKind::Task), None, 100))
        .await
        .unwrap();
    assert_eq!(ids_of(&tasks), vec![third.as_str(), first.as_str()]);
    let monitors = store
        .retrieve_memory(&t, "", query(Some(MemoryKind::Monitor), None, 100))
        .await
        .unwrap();
    assert_eq!(ids_of(&monitors), vec![monitor.as_str()]);
    let none = store
        .retrieve_memory(&t, "", query(Some(MemoryKind::FindAll), None, 100))
        .await
        .unwrap();
    assert!(none.is_empty());
    let recent = store
        .retrieve_memory(&t, "", query(None, Some(between), 100))
        .await
        .unwrap();
    assert_eq!(ids_of(&recent), vec![third.as_str()]);
    let one = store
        .retrieve_memory(&t, "", query(None, None, 1))
        .await
        .unwrap();
    assert_eq!(ids_of(&one), vec![third.as_str()]);
}

/// NUL, which PostgreSQL's text cannot hold, in a scope key, a query, an input and an output:
/// the entries are kept (NUL read as U+FFFD) and found by the same key; evicting an id with
/// one finds nothing instead of failing.
async fn nul_characters_are_kept_without_failing(store: Arc<dyn Store>) {
    let tenant = tenant(&*store).await;
    let scope = "scope\0key";
    let run = run_to_end(
        &*store,
        &tenant,
        json!({"processor": "lite", "input": "nul\0input", "memory_scope_key": scope}),
        completed(json!("nul\0output"), &["https://example.com/a"]),
    )
    .await;
    let monitor = create_monitor(&*store, &tenant, "nul\0query", Some(scope)).await;
    let kept = entries(&*store, &tenant, scope).await;
    let mut ids = ids_of(&kept);
    ids.sort();
    let mut expected = vec![run.as_str(), monitor.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(kept
        .iter()
        .all(|e| !e.input.contains('\0') && !e.output.contains('\0')));
    assert!(kept.iter().any(|e| e.input.contains("nul\u{fffd}input")));
    assert!(!store
        .evict_memory(&tenant, scope, MemoryKind::Task, "trun_\0")
        .await
        .unwrap());
    assert!(store
        .evict_memory(&tenant, scope, MemoryKind::Task, &run)
        .await
        .unwrap());
    assert_eq!(store.clear_memory(&tenant, scope).await.unwrap(), 1);
}

macro_rules! suite {
    ($module:ident, $backend:ident) => {
        mod $module {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_completed_run_is_remembered_in_its_scope() {
                super::a_completed_run_is_remembered_in_its_scope(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn scopes_and_tenants_are_apart() {
                super::scopes_and_tenants_are_apart(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn evict_and_clear_leave_tombstones() {
                super::evict_and_clear_leave_tombstones(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn monitors_and_findall_runs_are_kept_up_to_date() {
                super::monitors_and_findall_runs_are_kept_up_to_date(backends::$backend().await)
                    .await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn nul_characters_are_kept_without_failing() {
                super::nul_characters_are_kept_without_failing(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn kind_since_and_limit() {
                super::kind_since_and_limit(backends::$backend().await).await
            }
        }
    };
}

suite!(sqlite, sqlite);
suite!(needs_postgres, postgres);
