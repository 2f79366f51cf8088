use super::*;
use crate::budget::lookup;

const QUERY: &str = "Brindle canal restoration news";

fn page(url: &str, passages: &[&str]) -> Source {
    Source::of_passages(url, "Brindle canal", passages)
}

fn keys(observed: &[Observed]) -> Seen {
    Seen {
        keys: distinct_keys(observed),
    }
}

fn fresh<'a>(observed: &'a [Observed], seen: &Seen) -> Vec<&'a Observed> {
    observed.iter().filter(|o| !is_old(o, seen)).collect()
}

const REOPEN: &str =
    "The Brindle canal will reopen to boats on 12 June 2025 after a two-year restoration of its locks.";
const REOPEN_REWORDED: &str =
    "After a two-year restoration of the locks, boats can return to the Brindle canal from 12 June 2025.";
const CHAIR: &str =
    "The Brindle canal society elected Mary Holt as chair of the restoration committee at its annual meeting.";

#[test]
fn only_relevant_items_are_observed_and_each_text_once() {
    let sources = [
        page(
            "https://a.example/news",
            &[
                "Visitors: 1,204",
                &format!("{REOPEN}\n\n{CHAIR}"),
                "The weather in the valley was mild for most of the spring this year.",
            ],
        ),
        page("https://b.example/", &[CHAIR]),
    ];
    let observed = observe(QUERY, &sources);
    let texts: Vec<&str> = observed.iter().map(|o| o.item.text.as_str()).collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(texts.contains(&REOPEN) && texts.contains(&CHAIR));
    let kept = distinct_keys(&observed);
    assert_eq!(kept.len(), 2, "the shared paragraph is one key");
    assert!(kept
        .iter()
        .all(|k| k.signature.len() == sketch::SKETCH_WORDS));
    // Small enough to keep thousands.
    let json = serde_json::to_string(&kept[0]).unwrap();
    assert!(json.len() < 200, "{json}");
    let back: SeenKey = serde_json::from_str(&json).unwrap();
    assert_eq!(back, kept[0]);
}

#[test]
fn seen_text_reworded_text_and_moved_text_are_old() {
    let before = observe(QUERY, &[page("https://a.example/news", &[REOPEN])]);
    let seen = keys(&before);
    // The same text, same page: old.
    let again = observe(QUERY, &[page("https://a.example/news/", &[REOPEN])]);
    assert!(fresh(&again, &seen).is_empty());
    // The same text on another site: old.
    let moved = observe(QUERY, &[page("https://c.example/story", &[REOPEN])]);
    assert!(fresh(&moved, &seen).is_empty());
    // Reworded: old.
    let reworded = observe(
        QUERY,
        &[page("https://c.example/story", &[REOPEN_REWORDED])],
    );
    assert_eq!(reworded.len(), 1);
    assert!(fresh(&reworded, &seen).is_empty());
    // Another story about the same canal: new.
    let other = observe(QUERY, &[page("https://a.example/news", &[REOPEN, CHAIR])]);
    let new = fresh(&other, &seen);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].item.text, CHAIR);
}

#[test]
fn one_story_from_two_pages_is_one_finding() {
    let sources = [
        page("https://a.example/news", &[REOPEN, CHAIR]),
        page("https://b.example/blog", &[REOPEN_REWORDED]),
    ];
    let observed = observe(QUERY, &sources);
    let all: Vec<&Observed> = observed.iter().collect();
    let groups = merge(&all);
    assert_eq!(groups.len(), 2);
    let reopen = groups
        .iter()
        .find(|g| g.len() == 2)
        .expect("the reopening, from both pages");
    let merged = finding_sources(&sources, reopen);
    let urls: BTreeSet<&str> = merged.iter().map(|s| s.url.as_str()).collect();
    assert_eq!(
        urls,
        ["https://a.example/news", "https://b.example/blog"]
            .into_iter()
            .collect()
    );
    let output = text_output(&merged, &reopen[0].item.text);
    assert_eq!(output["type"], "text");
    assert_eq!(output["basis"][0]["field"], "output");
    assert_eq!(output["basis"][0]["confidence"], "high");
    assert_eq!(output["basis"][0]["citations"].as_array().unwrap().len(), 2);
    assert_eq!(event_date(reopen, &sources).as_deref(), Some("2025-06-12"));
    let single = groups.iter().find(|g| g.len() == 1).unwrap();
    let output = text_output(&finding_sources(&sources, single), CHAIR);
    assert_eq!(output["content"], CHAIR);
    assert_eq!(output["basis"][0]["confidence"], "medium");
    assert_eq!(
        output["basis"][0]["citations"][0]["excerpts"],
        json!([CHAIR])
    );
}

#[test]
fn an_undated_item_takes_its_pages_date() {
    let mut source = page("https://a.example/news", &[CHAIR]);
    source.published = chrono::NaiveDate::from_ymd_opt(2025, 3, 1);
    let sources = [source];
    let observed = observe(QUERY, &sources);
    let group: Vec<&Observed> = observed.iter().collect();
    assert_eq!(event_date(&group, &sources).as_deref(), Some("2025-03-01"));
    let undated = [page("https://a.example/news", &[CHAIR])];
    let observed = observe(QUERY, &undated);
    let group: Vec<&Observed> = observed.iter().collect();
    assert_eq!(event_date(&group, &undated), None);
}

#[test]
fn summaries_and_clips_are_one_short_line() {
    assert_eq!(
        summary("The canal reopens on 12 June. Boats may\nmoor at the basin."),
        "The canal reopens on 12 June."
    );
    // An early full stop ("St.") does not end the summary.
    assert_eq!(
        summary("St. Mary's lock reopens"),
        "St. Mary's lock reopens"
    );
    let long = "word ".repeat(100);
    let clipped = clip(long.trim(), 50);
    assert!(
        clipped.chars().count() <= 50 && clipped.ends_with('…'),
        "{clipped}"
    );
    let sentences = "One sentence that is long enough. Another one follows it here and runs on.";
    assert_eq!(clip(sentences, 50), "One sentence that is long enough.");
    assert_eq!(clip("", 10), "");
    assert_eq!(summary(""), "");
    // Multi-byte text never splits a character.
    let accents = "é".repeat(300);
    assert!(clip(&accents, 20).chars().count() <= 20);
}

#[test]
fn the_budget_bounds_findings() {
    assert_eq!(max_findings(lookup("lite").unwrap()), 5);
    assert_eq!(max_findings(lookup("base").unwrap()), 10);
}

#[test]
fn a_watch_reads_as_a_task_run_request() {
    let watch = Watch {
        tenant: "t".into(),
        monitor_id: "monitor_1".into(),
        query: QUERY.into(),
        output_schema: Some(
            json!({"type": "json", "json_schema": {"type": "object", "properties": {"event": {"type": "string"}}}}),
        ),
        source_policy: Some(json!({"include_domains": ["a.example"]})),
        location: Some("GB".into()),
        budget: lookup("lite").unwrap(),
    };
    let request = watch.request();
    assert_eq!(request.objective, QUERY);
    assert!(matches!(request.output, OutputSpec::Json(_)));
    assert!(request.policy.allows_url("https://a.example/x"));
    assert!(!request.policy.allows_url("https://b.example/x"));
    let text = Watch {
        output_schema: None,
        source_policy: None,
        ..watch
    };
    assert_eq!(text.request().output, OutputSpec::Auto);
}
