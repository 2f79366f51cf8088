//! FindAll in the store, on both backends: the log of a run from creation to its end, each
//! candidate added once and decided once, extensions and enrichments that queue an ended run
//! again, cancellation that stops the worker, leases that hand a dead worker's run to another
//! with nothing lost, and tenant isolation.

use parallax_api::findall::{
    parse_create_findall, FindAllEventKind, FindAllStatus, MatchStatus, TerminationReason,
};
use parallax_api::{ids, time::now_micros};
use parallax_store::findall::{
    ChangeOutcome, ChangeRefusal, ClaimedFindAll, FindAllChange, FindAllToCreate, FindAllWork,
    NewCandidate,
};
use parallax_store::{Lease, Page, Store};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

mod backends;

async fn tenant(store: &dyn Store) -> String {
    let mut hash = [0u8; 32];
    hash[..16].copy_from_slice(&uuid::Uuid::new_v4().into_bytes());
    store.create_tenant_with_key(hash, "test").await.unwrap()
}

async fn create(store: &dyn Store, tenant: &str, limit: i64, webhook: bool) -> String {
    let mut body = json!({
        "objective": "Find all dental clinics in Quillmere",
        "entity_type": "dental clinics",
        "match_conditions": [{"name": "in_town", "description": "Located in Quillmere"}],
        "generator": "base",
        "match_limit": limit,
        "metadata": {"team": "ops"},
    });
    if webhook {
        body["webhook"] = json!({"url": "https://hooks.example.com/f"});
    }
    let new = parse_create_findall(body.to_string().as_bytes()).unwrap();
    let id = ids::new_id("findall_");
    let run = store
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
    assert_eq!(run.status, FindAllStatus::Queued);
    id
}

async fn claim(store: &dyn Store, worker: &str, ttl: Duration) -> ClaimedFindAll {
    let mut claimed = store
        .claim_findall(Lease::new(worker, ttl), 4)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "exactly one queued run");
    claimed.remove(0)
}

fn candidates(names: &[&str]) -> FindAllWork {
    FindAllWork::AddCandidates(
        names
            .iter()
            .map(|n| NewCandidate {
                key: n.to_lowercase(),
                name: n.to_string(),
                url: format!("https://{}.example/", n.to_lowercase()),
                description: None,
            })
            .collect(),
    )
}

fn decide(id: &str, status: MatchStatus) -> FindAllWork {
    FindAllWork::Decide {
        candidate_id: id.into(),
        status,
        output: json!({"in_town": {"value": "yes", "type": "match_condition", "is_matched": status == MatchStatus::Matched}}).to_string(),
        basis: json!([{"field": "in_town", "citations": [], "reasoning": "r", "confidence": "high"}]).to_string(),
    }
}

async fn kinds(store: &dyn Store, tenant: &str, id: &str) -> Vec<FindAllEventKind> {
    let page = Page {
        of: id,
        after: 0,
        limit: 1000,
    };
    let events = store
        .findall_events_after(tenant, page)
        .await
        .unwrap()
        .unwrap();
    let seqs: Vec<i64> = events.events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "ids are 1, 2, 3…"
    );
    assert_eq!(events.last_event_id, seqs.len() as i64);
    events.events.iter().map(|e| e.kind).collect()
}

pub async fn a_run_from_creation_to_its_end(store: Arc<dyn Store>) {
    let (t, other) = (tenant(&*store).await, tenant(&*store).await);
    let id = create(&*store, &t, 5, true).await;
    assert!(store.get_findall(&other, &id).await.unwrap().is_none());
    assert!(store
        .findall_candidates(&other, &id)
        .await
        .unwrap()
        .is_none());
    let page = Page {
        of: &id,
        after: 0,
        limit: 10,
    };
    assert!(store
        .findall_events_after(&other, page)
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        store
            .change_findall(&other, &id, FindAllChange::Cancel)
            .await
            .unwrap(),
        ChangeOutcome::NotFound
    ));

    let run = claim(&*store, "w1", Duration::from_secs(30)).await;
    assert_eq!(run.findall_id, id);
    assert_eq!((run.tenant.as_str(), run.attempt), (t.as_str(), 1));
    assert!(!run.generation_done && run.candidates.is_empty());

    let ack = store
        .findall_work("w1", &id, candidates(&["Oak", "Elm", "Oak"]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ack.added.len(), 2, "a key already added is skipped");
    let again = store
        .findall_work("w1", &id, candidates(&["Elm", "Ash"]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.added.len(), 1);
    let (oak, elm, ash) = (
        ack.added[0].candidate.candidate_id.clone(),
        ack.added[1].candidate.candidate_id.clone(),
        again.added[0].candidate.candidate_id.clone(),
    );
    assert!(oak.starts_with("candidate_"));
    store
        .findall_work("w1", &id, FindAllWork::GenerationDone)
        .await
        .unwrap()
        .unwrap();

    let first = store
        .findall_work("w1", &id, decide(&oak, MatchStatus::Matched))
        .await
        .unwrap()
        .unwrap();
    assert!(first.applied);
    assert_eq!(first.matched, 1);
    let twice = store
        .findall_work("w1", &id, decide(&oak, MatchStatus::Unmatched))
        .await
        .unwrap()
        .unwrap();
    assert!(!twice.applied, "a candidate is decided once");
    assert_eq!(twice.matched, 1);
    for (c, s) in [
        (&elm, MatchStatus::Unmatched),
        (&ash, MatchStatus::Discarded),
    ] {
        store
            .findall_work("w1", &id, decide(c, s))
            .await
            .unwrap()
            .unwrap();
    }
    // Ending at the limit with fewer matches than the limit is refused: the worker goes on.
    let early = store
        .findall_work(
            "w1",
            &id,
            FindAllWork::Finish {
                reason: TerminationReason::MatchLimitMet,
                enrichments: 0,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(!early.applied);
    let end = store
        .findall_work(
            "w1",
            &id,
            FindAllWork::Finish {
                reason: TerminationReason::CandidatesExhausted,
                enrichments: 0,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(end.applied);

    let view = store.get_findall(&t, &id).await.unwrap().unwrap();
    assert_eq!(view.run.status, FindAllStatus::Completed);
    assert_eq!(
        view.run.termination_reason,
        Some(TerminationReason::CandidatesExhausted)
    );
    assert_eq!((view.run.generated, view.run.matched), (3, 1));
    assert_eq!(view.run.metadata.as_deref(), Some(r#"{"team":"ops"}"#));
    let listed = store.findall_candidates(&t, &id).await.unwrap().unwrap();
    let statuses: Vec<(&str, MatchStatus)> = listed
        .iter()
        .map(|c| (c.name.as_str(), c.match_status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("Oak", MatchStatus::Matched),
            ("Elm", MatchStatus::Unmatched),
            ("Ash", MatchStatus::Discarded)
        ]
    );
    assert!(listed[0]
        .output
        .as_deref()
        .unwrap()
        .contains("\"is_matched\":true"));
    use FindAllEventKind::*;
    assert_eq!(
        kinds(&*store, &t, &id).await,
        [
            SchemaUpdated,
            Status,
            Status,
            CandidateGenerated,
            CandidateGenerated,
            CandidateGenerated,
            CandidateMatched,
            CandidateUnmatched,
            CandidateDiscarded,
            Status
        ]
    );
    // The worker no longer holds it, and an ended run cannot be cancelled.
    assert!(store
        .findall_work("w1", &id, FindAllWork::GenerationDone)
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        store
            .change_findall(&t, &id, FindAllChange::Cancel)
            .await
            .unwrap(),
        ChangeOutcome::Refused(ChangeRefusal::Ended { .. })
    ));
    // The webhook gets the run's end (and only that: no candidate types were asked for).
    let deliveries = store
        .claim_deliveries(Lease::new("d", Duration::from_secs(30)), 10)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    let body: serde_json::Value = serde_json::from_str(&deliveries[0].body).unwrap();
    assert_eq!(body["type"], "findall.status");
    assert_eq!(body["data"]["status"]["status"], "completed");
    assert_eq!(body["event_id"], "10");
}

pub async fn extensions_and_enrichments_queue_an_ended_run_again(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let id = create(&*store, &t, 5, false).await;
    claim(&*store, "w1", Duration::from_secs(30)).await;
    let names = ["A", "B", "C", "D", "E", "F", "G"];
    let ack = store
        .findall_work("w1", &id, candidates(&names))
        .await
        .unwrap()
        .unwrap();
    store
        .findall_work("w1", &id, FindAllWork::GenerationDone)
        .await
        .unwrap();
    for c in &ack.added[..5] {
        store
            .findall_work(
                "w1",
                &id,
                decide(&c.candidate.candidate_id, MatchStatus::Matched),
            )
            .await
            .unwrap();
    }
    let done = store
        .findall_work(
            "w1",
            &id,
            FindAllWork::Finish {
                reason: TerminationReason::MatchLimitMet,
                enrichments: 0,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(done.applied);

    assert!(matches!(
        store
            .change_findall(&t, &id, FindAllChange::Extend(996))
            .await
            .unwrap(),
        ChangeOutcome::Refused(ChangeRefusal::LimitTooHigh { limit: 1001 })
    ));
    let ChangeOutcome::Changed(view) = store
        .change_findall(&t, &id, FindAllChange::Extend(2))
        .await
        .unwrap()
    else {
        panic!("extend refused")
    };
    assert_eq!(view.schema.match_limit, Some(7));
    assert_eq!(view.run.status, FindAllStatus::Queued);
    assert_eq!(view.run.termination_reason, None);

    // The next claim resumes with every candidate as decided, generation done.
    let run = claim(&*store, "w2", Duration::from_secs(30)).await;
    assert_eq!((run.match_limit, run.attempt), (7, 2));
    assert!(run.generation_done);
    assert_eq!(run.previous_reason, None);
    let decided: Vec<MatchStatus> = run
        .candidates
        .iter()
        .map(|c| c.candidate.match_status)
        .collect();
    assert_eq!(
        decided,
        [
            MatchStatus::Matched,
            MatchStatus::Matched,
            MatchStatus::Matched,
            MatchStatus::Matched,
            MatchStatus::Matched,
            MatchStatus::Generated,
            MatchStatus::Generated
        ]
    );

    // An enrichment added while it runs: ending without it is refused.
    let enrichment = json!({"processor": "lite", "output_schema": {"type": "json", "json_schema": {"type": "object", "properties": {"ceo": {"type": "string"}}}}});
    let ChangeOutcome::Changed(view) = store
        .change_findall(&t, &id, FindAllChange::Enrich(enrichment.clone()))
        .await
        .unwrap()
    else {
        panic!("enrich refused")
    };
    assert_eq!(view.run.status, FindAllStatus::Running);
    assert_eq!(view.schema.enrichments.as_ref().map(Vec::len), Some(1));
    for c in &run.candidates[5..] {
        store
            .findall_work(
                "w2",
                &id,
                decide(&c.candidate.candidate_id, MatchStatus::Unmatched),
            )
            .await
            .unwrap();
    }
    let stale = store
        .findall_work(
            "w2",
            &id,
            FindAllWork::Finish {
                reason: TerminationReason::CandidatesExhausted,
                enrichments: 0,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(!stale.applied, "an enrichment it did not know of");
    let first = &run.candidates[0].candidate.candidate_id;
    let enriched = store
        .findall_work(
            "w2",
            &id,
            FindAllWork::Enriched {
                candidate_id: first.clone(),
                output: r#"{"ceo":{"value":"Ada","type":"enrichment"}}"#.into(),
                basis: "[]".into(),
                enriched: 1,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(enriched.applied);
    assert!(
        store
            .findall_work(
                "w2",
                &id,
                FindAllWork::Finish {
                    reason: TerminationReason::CandidatesExhausted,
                    enrichments: 1,
                },
            )
            .await
            .unwrap()
            .unwrap()
            .applied
    );

    // Enriching the completed run queues it again, keeping its reason for the next end.
    let ChangeOutcome::Changed(view) = store
        .change_findall(&t, &id, FindAllChange::Enrich(enrichment))
        .await
        .unwrap()
    else {
        panic!("enrich refused")
    };
    assert_eq!(view.run.status, FindAllStatus::Queued);
    assert_eq!(
        view.run.termination_reason, None,
        "an active run shows none"
    );
    let run = claim(&*store, "w3", Duration::from_secs(30)).await;
    assert_eq!(
        run.previous_reason,
        Some(TerminationReason::CandidatesExhausted)
    );
    assert_eq!(run.candidates[0].enriched, 1);

    // A cancelled run takes neither.
    assert!(matches!(
        store
            .change_findall(&t, &id, FindAllChange::Cancel)
            .await
            .unwrap(),
        ChangeOutcome::Changed(_)
    ));
    for change in [
        FindAllChange::Extend(1),
        FindAllChange::Enrich(json!({})),
        FindAllChange::Cancel,
    ] {
        assert!(matches!(
            store.change_findall(&t, &id, change).await.unwrap(),
            ChangeOutcome::Refused(ChangeRefusal::Ended { .. })
        ));
    }
    let kinds = kinds(&*store, &t, &id).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == FindAllEventKind::CandidateEnriched)
            .count(),
        1
    );
}

pub async fn a_dead_workers_run_is_resumed_and_a_cancel_stops_the_worker(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let id = create(&*store, &t, 10, false).await;
    claim(&*store, "dead", Duration::from_millis(1)).await;
    let ack = store
        .findall_work("dead", &id, candidates(&["A", "B"]))
        .await
        .unwrap()
        .unwrap();
    let a = ack.added[0].candidate.candidate_id.clone();
    store
        .findall_work("dead", &id, decide(&a, MatchStatus::Matched))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.requeue_expired_findall().await.unwrap(), 1);
    assert_eq!(
        store
            .get_findall(&t, &id)
            .await
            .unwrap()
            .unwrap()
            .run
            .status,
        FindAllStatus::Queued
    );
    // The dead worker's late writes change nothing.
    assert!(store
        .findall_work("dead", &id, candidates(&["C"]))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .heartbeat_findall(
                Lease::new("dead", Duration::from_secs(30)),
                std::slice::from_ref(&id)
            )
            .await
            .unwrap(),
        vec![id.clone()]
    );

    let run = claim(&*store, "live", Duration::from_secs(30)).await;
    assert_eq!(run.attempt, 2);
    assert!(!run.generation_done, "generation had not finished");
    assert_eq!(run.candidates.len(), 2);
    assert_eq!(
        run.candidates[0].candidate.match_status,
        MatchStatus::Matched
    );
    assert!(store
        .heartbeat_findall(
            Lease::new("live", Duration::from_secs(30)),
            std::slice::from_ref(&id)
        )
        .await
        .unwrap()
        .is_empty());

    // A client cancels: matches are kept, the worker's next write finds the run gone.
    let ChangeOutcome::Changed(view) = store
        .change_findall(&t, &id, FindAllChange::Cancel)
        .await
        .unwrap()
    else {
        panic!("cancel refused")
    };
    assert_eq!(view.run.status, FindAllStatus::Cancelled);
    assert_eq!(
        view.run.termination_reason,
        Some(TerminationReason::UserCancelled)
    );
    assert_eq!(view.run.matched, 1);
    assert!(store
        .findall_work("live", &id, candidates(&["D"]))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .heartbeat_findall(
                Lease::new("live", Duration::from_secs(30)),
                std::slice::from_ref(&id)
            )
            .await
            .unwrap(),
        vec![id.clone()]
    );
    // Releasing a run that is not running changes nothing.
    assert_eq!(
        store
            .release_findall("live", std::slice::from_ref(&id))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .findall_candidates(&t, &id)
            .await
            .unwrap()
            .unwrap()
            .len(),
        2
    );
}

pub async fn a_release_queues_the_run_for_another_worker(store: Arc<dyn Store>) {
    let t = tenant(&*store).await;
    let id = create(&*store, &t, 10, false).await;
    claim(&*store, "w1", Duration::from_secs(30)).await;
    assert!(store
        .claim_findall(Lease::new("w2", Duration::from_secs(30)), 4)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .release_findall("w1", std::slice::from_ref(&id))
            .await
            .unwrap(),
        1
    );
    let run = claim(&*store, "w2", Duration::from_secs(30)).await;
    assert_eq!(run.findall_id, id);
}

macro_rules! suite {
    ($module:ident, $backend:ident) => {
        mod $module {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_run_from_creation_to_its_end() {
                super::a_run_from_creation_to_its_end(backends::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn extensions_and_enrichments_queue_an_ended_run_again() {
                super::extensions_and_enrichments_queue_an_ended_run_again(
                    backends::$backend().await,
                )
                .await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_dead_workers_run_is_resumed_and_a_cancel_stops_the_worker() {
                super::a_dead_workers_run_is_resumed_and_a_cancel_stops_the_worker(
                    backends::$backend().await,
                )
                .await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_release_queues_the_run_for_another_worker() {
                super::a_release_queues_the_run_for_another_worker(backends::$backend().await).await
            }
        }
    };
}

suite!(sqlite, sqlite);
suite!(needs_postgres, postgres);
