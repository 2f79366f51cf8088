//! Mutation test of the create-body parser: thousands of corrupted variants of real request
//! bodies must each be answered with a value or a 4xx error, never a panic, and every body
//! that is accepted must echo as valid JSON holding only the fields that were sent.

use parallax_api::create::{parse_create_run, KNOWN_FIELDS};
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

fn mutate(rng: &mut StdRng, seed: &str) -> Vec<u8> {
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
                let other = SEEDS[rng.gen_range(0..SEEDS.len())].as_bytes();
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
