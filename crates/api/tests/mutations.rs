//! Mutation tests of the request parsers: thousands of corrupted variants of real request
//! bodies must each be answered with a value or a 4xx error, never a panic. Every create body
//! that is accepted must echo as valid JSON holding only the fields that were sent; every
//! accepted search or extract request must hold only values within the documented limits.

use parallax_api::create::{parse_create_run, KNOWN_FIELDS};
use parallax_api::web::{
    parse_extract, parse_search, ApiVersion, FullContent, MAX_EXTRACT_URLS, MAX_SEARCH_RESULTS,
    MIN_CHAR_BUDGET, MIN_MAX_AGE_SECONDS,
};
use rand::{rngs::StdRng, Rng, SeedableRng};

const SEEDS: &[&str] = &[
    r#"{"processor":"core","metadata":{"my_key":"my_value"},"task_spec":{"output_schema":{"json_schema":{"type":"object","properties":{"gdp":{"type":"string"}},"required":["gdp"],"additionalProperties":false},"type":"json"},"input_schema":{"json_schema":{"type":"object","properties":{"country":{"type":"string"},"year":{"type":"integer"}},"required":["country","year"]},"type":"json"}},"input":{"country":"France","year":2023}}"#,
    r#"{"processor":"base","input":"What is the capital of France?","task_spec":{"output_schema":"a city"},"source_policy":{"include_domains":["wikipedia.org",".gov"],"after_date":"2024-01-01"}}"#,
    r#"{"processor":"pro","input":"x","webhook":{"url":"https://h.example.com"},"mcp_servers":[{"name":"m","url":"https://m.example.com"}],"enable_events":true,"previous_interaction_id":null}"#,
];

const PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "null",
    "true",
    "1e999",
    "-0",
    "\\u0000",
    "\\",
    "\u{1F600}",
    "{\"type\":\"object\"}",
    "\"json_schema\"",
    "\"$ref\"",
    "\"http://x\"",
    "9999999999999999999999",
    " ",
];

const WEB_SEEDS: &[&str] = &[
    r#"{"urls":["https://a.example/x","https://b.example/y"],"objective":"o","search_queries":["q1","q2"],"session_id":"s","max_chars_total":3000,"advanced_settings":{"excerpt_settings":{"max_chars_per_result":1500},"fetch_policy":{"max_age_seconds":600,"timeout_seconds":2.5,"disable_cache_fallback":true},"full_content":{"max_chars_per_result":100}}}"#,
    r#"{"urls":["https://a.example/"],"excerpts":{"max_chars_per_result":0,"max_chars_total":10},"full_content":true,"fetch_policy":{"max_age_seconds":86400}}"#,
    r#"{"objective":"o","search_queries":["a b c"],"mode":"fast","max_chars_total":5000,"advanced_settings":{"max_results":20,"location":"us","source_policy":{"include_domains":["example.com"],"after_date":"2024-01-01"},"excerpt_settings":{"max_chars_per_result":900},"fetch_policy":{"timeout_seconds":1}}}"#,
    r#"{"objective":"o","processor":"pro","max_results":5,"max_chars_per_result":2000,"excerpts":{"max_chars_total":4000},"source_policy":{"exclude_domains":[".gov"]}}"#,
];

fn mutate(rng: &mut StdRng, seed: &str) -> Vec<u8> {
    mutate_from(rng, seed, SEEDS)
}

fn mutate_from(rng: &mut StdRng, seed: &str, seeds: &[&str]) -> Vec<u8> {
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..rng.gen_range(1..4) {
        let at = rng.gen_range(0..=bytes.len());
        match rng.gen_range(0..4) {
            0 if !bytes.is_empty() => {
                let end = (at + rng.gen_range(1..8)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            1 => {
                let piece = PIECES[rng.gen_range(0..PIECES.len())];
                bytes.splice(at..at, piece.bytes());
            }
            2 if at < bytes.len() => bytes[at] = rng.gen(),
            _ => {
                let other = seeds[rng.gen_range(0..seeds.len())].as_bytes();
                let from = rng.gen_range(0..other.len());
                let to = (from + rng.gen_range(1..40)).min(other.len());
                bytes.splice(at..at, other[from..to].iter().copied());
            }
        }
    }
    bytes
}

#[test]
fn corrupted_bodies_never_panic_and_accepted_ones_echo_cleanly() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..20_000 {
        let body = mutate(&mut rng, SEEDS[i % SEEDS.len()]);
        match parse_create_run(&body, |p| ["core", "base", "pro"].contains(&p)) {
            Ok(run) => {
                accepted += 1;
                let echoed: serde_json::Value = serde_json::from_str(&run.input_doc)
                    .unwrap_or_else(|e| panic!("echo is not JSON ({e}): {}", run.input_doc));
                for key in echoed.as_object().unwrap().keys() {
                    assert!(KNOWN_FIELDS.contains(&key.as_str()), "{key} echoed");
                }
            }
            Err(e) => {
                refused += 1;
                assert!(
                    matches!(e.status, 403 | 422),
                    "status {} for {:?}",
                    e.status,
                    String::from_utf8_lossy(&body)
                );
            }
        }
    }
    assert!(
        accepted > 100 && refused > 100,
        "accepted {accepted}, refused {refused}"
    );
}

#[test]
fn corrupted_search_and_extract_bodies_never_panic_and_accepted_ones_are_in_bounds() {
    let mut rng = StdRng::seed_from_u64(0x0eb);
    let (mut accepted, mut refused) = (0, 0);
    let mut check_status = |e: parallax_api::ApiError, body: &[u8]| {
        refused += 1;
        assert_eq!(e.status, 422, "for {:?}", String::from_utf8_lossy(body));
        let detail = e.detail.expect("a 422 has a detail");
        assert!(detail["pointer"].is_string() && !detail["errors"].as_array().unwrap().is_empty());
    };
    for i in 0..20_000 {
        let body = mutate_from(&mut rng, WEB_SEEDS[i % WEB_SEEDS.len()], WEB_SEEDS);
        match parse_extract(&body) {
            Ok(r) => {
                accepted += 1;
                assert!((1..=MAX_EXTRACT_URLS).contains(&r.urls.len()));
                assert!(r.urls.iter().all(|u| !u.trim().is_empty()));
                assert!(r.excerpts.per_result.is_none_or(|n| n >= MIN_CHAR_BUDGET));
                assert!(r.excerpts.total.is_none_or(|n| n >= MIN_CHAR_BUDGET));
                assert!(r
                    .fetch_policy
                    .max_age
                    .is_none_or(|d| d.as_secs() >= MIN_MAX_AGE_SECONDS));
                if let FullContent::On { max_chars: Some(n) } = r.full_content {
                    assert!(n > 0);
                }
            }
            Err(e) => check_status(e, &body),
        }
        for version in [ApiVersion::V1, ApiVersion::V1Beta] {
            match parse_search(&body, version) {
                Ok(r) => {
                    accepted += 1;
                    assert!((1..=MAX_SEARCH_RESULTS).contains(&r.max_results));
                    assert!(!r.search_queries.is_empty() || version == ApiVersion::V1Beta);
                    assert!(!r.search_queries.is_empty() || r.objective.is_some());
                    assert!(r.location.as_ref().is_none_or(|l| l.len() == 2));
                }
                Err(e) => check_status(e, &body),
            }
        }
    }
    assert!(
        accepted > 1000 && refused > 1000,
        "accepted {accepted}, refused {refused}"
    );
}
