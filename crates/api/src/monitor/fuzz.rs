//! Property tests of the monitor parsers, in both contracts: whatever bytes or JSON a client
//! sends, they never panic and refuse with one 422 naming what is wrong; the query-parameter
//! readers never panic and what they accept is in range; and every configuration they accept,
//! updated by any update they accept, can be stored and read back.

use super::*;
use crate::create::{METADATA_KEY_MAX, METADATA_VALUE_MAX};
use crate::fuzz::{config, deep, object, text, value, Field};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Every name the monitor requests use, at any level, and values they take: what keys and
/// strings of the generated requests are made of.
const WORDS: &[&str] = &[
    "type",
    "frequency",
    "processor",
    "settings",
    "metadata",
    "webhook",
    "memory_scope_key",
    "query",
    "cadence",
    "output_schema",
    "include_backfill",
    "advanced_settings",
    "task_run_id",
    "location",
    "source_policy",
    "include_domains",
    "exclude_domains",
    "after_date",
    "url",
    "event_types",
    "json_schema",
    "status",
    "event_stream",
    "snapshot",
    "lite",
    "base",
    "pro",
    "hourly",
    "daily",
    "weekly",
    "every_two_weeks",
    "monthly",
    "1h",
    "1d",
    "2w",
    "30d",
    "31d",
    "us",
    "GB",
    "example.com",
    "https://example.com/hook",
    EVENT_DETECTED,
    EXECUTION_COMPLETED,
    EXECUTION_FAILED,
    "2024-01-01",
    "",
    " ",
];

/// What frequencies (and lookbacks, cursors, limits) are written with, for odd text.
const FREQUENCY_PIECES: &[&str] = &[
    "0", "1", "2", "4", "5", "6", "24", "30", "31", "720", "721", "000001", "999999", "9999999",
    "h", "d", "w", "m", "H", "D", " ", "-", "+", ".", "e",
];

fn any_value() -> BoxedStrategy<Value> {
    value(WORDS).boxed()
}

/// Mostly one of `valid`, else one of `invalid`, or odd text made of either.
fn choice(
    valid: &'static [&'static str],
    invalid: &'static [&'static str],
) -> BoxedStrategy<Value> {
    prop_oneof![
        16 => proptest::sample::select(valid).prop_map(str::to_owned),
        1 => proptest::sample::select(invalid).prop_map(str::to_owned),
        1 => text(valid),
    ]
    .prop_map(Value::String)
    .boxed()
}

/// `right` mostly, else null or any value at all.
fn mostly(right: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![
        20 => right,
        1 => Just(Value::Null),
        1 => any_value(),
    ]
    .boxed()
}

fn extra() -> BoxedStrategy<(String, Value)> {
    (text(WORDS), any_value()).boxed()
}

/// Frequencies: mostly `<n><unit>` in range, else just out of it, any number, or odd text.
fn frequency_text() -> impl Strategy<Value = String> {
    let unit = |n: std::ops::RangeInclusive<u32>, unit: &'static str| {
        n.prop_map(move |n| format!("{n}{unit}"))
    };
    prop_oneof![
        4 => unit(1..=720, "h"),
        4 => unit(1..=30, "d"),
        2 => unit(1..=4, "w"),
        1 => proptest::sample::select(&["0h", "721h", "0d", "31d", "5w", "0w", "000001h", "1000000h"][..])
            .prop_map(str::to_owned),
        1 => (any::<u32>(), proptest::sample::select(&["h", "d", "w"][..]))
            .prop_map(|(n, unit)| format!("{n}{unit}")),
        1 => text(FREQUENCY_PIECES),
    ]
}

fn frequency() -> BoxedStrategy<Value> {
    mostly(frequency_text().prop_map(Value::String).boxed())
}

fn processor() -> BoxedStrategy<Value> {
    mostly(choice(&["lite", "base"], &["pro", "Lite", ""]))
}

fn cadence() -> BoxedStrategy<Value> {
    mostly(choice(
        &["hourly", "daily", "weekly", "every_two_weeks"],
        &["monthly", "Daily", "1d"],
    ))
}

/// Queries: words, anything, or about as long as a query may be.
fn query() -> BoxedStrategy<Value> {
    let long = (
        QUERY_MAX - 2..QUERY_MAX + 2,
        proptest::sample::select(&["q", "é", " "][..]),
    )
        .prop_map(|(n, c)| c.repeat(n));
    mostly(
        prop_oneof![8 => text(WORDS), 1 => long]
            .prop_map(Value::String)
            .boxed(),
    )
}

fn metadata() -> BoxedStrategy<Value> {
    let key = prop_oneof![
        6 => proptest::sample::select(&["team", "owner", "é", "k"][..]).prop_map(str::to_owned),
        2 => text(WORDS),
        1 => (METADATA_KEY_MAX..METADATA_KEY_MAX + 2).prop_map(|n| "k".repeat(n)),
    ];
    let entry = prop_oneof![
        8 => text(WORDS).prop_map(Value::String),
        1 => (METADATA_VALUE_MAX..METADATA_VALUE_MAX + 2).prop_map(|n| Value::String("é".repeat(n))),
        1 => any_value(),
    ];
    mostly(
        proptest::collection::vec((key, entry), 0..4)
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
            .boxed(),
    )
}

fn webhook() -> BoxedStrategy<Value> {
    let url = mostly(choice(
        &["https://example.com/hook", "http://127.0.0.1:9/h"],
        &["ftp://example.com", "example.com", ""],
    ));
    let types = mostly(
        proptest::collection::vec(
            mostly(choice(
                &[EVENT_DETECTED, EXECUTION_COMPLETED, EXECUTION_FAILED],
                &["task_run.status", "monitor.event"],
            )),
            0..4,
        )
        .prop_map(Value::Array)
        .boxed(),
    );
    mostly(
        object(
            vec![("url", 0.95, url), ("event_types", 0.5, types)],
            extra(),
        )
        .boxed(),
    )
}

fn source_policy() -> BoxedStrategy<Value> {
    let domains = || {
        mostly(
            proptest::collection::vec(
                mostly(choice(
                    &["example.com", ".gov", "a.example/path", "日本.jp"],
                    &["gov", "https://x.com", "a b.com", "-a.com"],
                )),
                0..3,
            )
            .prop_map(Value::Array)
            .boxed(),
        )
    };
    let date = mostly(choice(
        &["2024-01-01", "1999-12-31"],
        &["2024-02-30", "2024-1-1"],
    ));
    // A key it does not know is not refused: whatever it holds is kept, at any depth.
    let unknown = (text(WORDS), deep(any_value())).boxed();
    mostly(
        object(
            vec![
                ("include_domains", 0.5, domains()),
                ("exclude_domains", 0.3, domains()),
                ("after_date", 0.3, date),
            ],
            prop_oneof![unknown, extra()].boxed(),
        )
        .boxed(),
    )
}

fn advanced_settings() -> BoxedStrategy<Value> {
    let location = mostly(choice(&["us", "GB", "de"], &["usa", "é1", "u"]));
    mostly(
        object(
            vec![
                ("location", 0.6, location),
                ("source_policy", 0.6, source_policy()),
            ],
            extra(),
        )
        .boxed(),
    )
}

/// Output schemas: Parallel-compliant JSON schemas (whose `default` may hold anything, kept
/// as data, at any depth), text schemas, and anything else.
fn output_schema() -> BoxedStrategy<Value> {
    let name = prop_oneof![
        4 => proptest::sample::select(&["company", "date", "é", "a b"][..]).prop_map(str::to_owned),
        1 => text(WORDS),
    ];
    let field = (
        proptest::sample::select(&["string", "number", "integer", "boolean", "object"][..]),
        proptest::option::weighted(0.3, deep(any_value())),
    )
        .prop_map(|(t, default)| {
            let mut field = if t == "object" {
                json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false})
            } else {
                json!({"type": t, "description": "what it is"})
            };
            if let Some(d) = default {
                field["default"] = d;
            }
            field
        });
    let json_schema = proptest::collection::vec((name, field), 1..4).prop_map(|fields| {
        let properties: Map<String, Value> = fields.into_iter().collect();
        let names: Vec<&String> = properties.keys().collect();
        json!({
            "type": "json",
            "json_schema": {
                "type": "object",
                "properties": properties,
                "required": names,
                "additionalProperties": false,
            },
        })
    });
    mostly(prop_oneof![6 => json_schema, 1 => Just(json!({"type": "text"}))].boxed())
}

/// The type, mostly `kind`, and `settings` of that type.
fn typed(kind: &'static str, settings: BoxedStrategy<Value>) -> [Field; 2] {
    let (valid, invalid): (&'static [&'static str], &'static [&'static str]) = match kind {
        "snapshot" => (&["snapshot"], &["event_stream", "Snapshot", ""]),
        _ => (&["event_stream"], &["snapshot", "events", ""]),
    };
    [
        ("type", 0.95, mostly(choice(valid, invalid))),
        ("settings", 0.95, settings),
    ]
}

fn event_stream_settings() -> BoxedStrategy<Value> {
    let backfill = mostly(any::<bool>().prop_map(Value::Bool).boxed());
    mostly(
        object(
            vec![
                ("query", 0.95, query()),
                ("output_schema", 0.3, output_schema()),
                ("include_backfill", 0.3, backfill),
                ("advanced_settings", 0.5, advanced_settings()),
            ],
            extra(),
        )
        .boxed(),
    )
}

fn snapshot_settings() -> BoxedStrategy<Value> {
    let run_id = mostly(choice(&["trun_0123"], &[""]));
    mostly(object(vec![("task_run_id", 0.95, run_id)], extra()).boxed())
}

fn update_settings() -> BoxedStrategy<Value> {
    mostly(
        object(
            vec![
                ("query", 0.5, query()),
                ("advanced_settings", 0.5, advanced_settings()),
            ],
            extra(),
        )
        .boxed(),
    )
}

/// `POST /v1/monitors` bodies: the type and settings of one kind, and the other fields.
fn create_body() -> impl Strategy<Value = Value> {
    let of = |[kind, settings]: [Field; 2]| {
        let fields: Vec<Field> = vec![
            kind,
            settings,
            ("frequency", 0.95, frequency()),
            ("processor", 0.5, processor()),
            ("metadata", 0.3, metadata()),
            ("webhook", 0.3, webhook()),
            (
                "memory_scope_key",
                0.2,
                mostly(text(WORDS).prop_map(Value::String).boxed()),
            ),
        ];
        object(fields, extra())
    };
    prop_oneof![
        3 => of(typed("event_stream", event_stream_settings())),
        1 => of(typed("snapshot", snapshot_settings())),
    ]
}

/// `POST /v1/monitors/{id}/update` bodies.
fn update_body() -> impl Strategy<Value = Value> {
    let [kind, settings] = typed("event_stream", update_settings());
    let fields: Vec<Field> = vec![
        (kind.0, 0.3, kind.2),
        (settings.0, 0.3, settings.2),
        ("frequency", 0.3, frequency()),
        ("processor", 0.3, processor()),
        ("metadata", 0.3, metadata()),
        ("webhook", 0.3, webhook()),
    ];
    object(fields, extra())
}

/// `POST /v1alpha/monitors` bodies.
fn alpha_create_body() -> impl Strategy<Value = Value> {
    let fields: Vec<Field> = vec![
        ("query", 0.95, query()),
        ("cadence", 0.95, cadence()),
        ("metadata", 0.3, metadata()),
        ("webhook", 0.3, webhook()),
        ("output_schema", 0.3, output_schema()),
    ];
    object(fields, extra())
}

/// `POST /v1alpha/monitors/{id}` bodies.
fn alpha_update_body() -> impl Strategy<Value = Value> {
    let fields: Vec<Field> = vec![
        ("query", 0.4, query()),
        ("cadence", 0.4, cadence()),
        ("metadata", 0.3, metadata()),
        ("webhook", 0.3, webhook()),
    ];
    object(fields, extra())
}

/// Bytes: anything, or a request's JSON with a few bytes overwritten or cut short.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let damaged = (
        prop_oneof![create_body(), update_body(), alpha_create_body()],
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        proptest::option::weighted(0.3, any::<prop::sample::Index>()),
    )
        .prop_map(|(body, changes, cut)| {
            let mut bytes = body.to_string().into_bytes();
            for (at, byte) in changes {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            bytes
        });
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..64),
        3 => damaged,
    ]
}

/// A refusal is one 422 that names at least one field.
fn refused(error: &ApiError) -> Result<(), TestCaseError> {
    prop_assert_eq!(error.status, 422, "{:?}", error);
    let errors = error
        .detail
        .as_ref()
        .and_then(|d| d.get("errors"))
        .and_then(Value::as_array);
    prop_assert!(errors.is_some_and(|e| !e.is_empty()), "{:?}", error);
    Ok(())
}

/// What every stored configuration keeps: a frequency in range that reads back as its period,
/// a monitor processor, and a stored form that reads back as the same configuration.
fn sound(config: &MonitorConfig) -> Result<(), TestCaseError> {
    prop_assert!((FREQUENCY_MIN_SECS..=FREQUENCY_MAX_SECS).contains(&config.period_secs));
    prop_assert_eq!(
        parse_frequency(&config.frequency).map(|f| f.secs),
        Ok(config.period_secs)
    );
    prop_assert!(config.processor == "lite" || config.processor == "base");
    let stored = config.to_json();
    let read = MonitorConfig::from_json(&stored);
    prop_assert_eq!(read.as_ref(), Ok(config), "{}", stored);
    Ok(())
}

fn created(new: Result<NewMonitor, ApiError>) -> Result<Option<MonitorConfig>, TestCaseError> {
    match new {
        Ok(new) => {
            sound(&new.config)?;
            prop_assert_eq!(
                new.snapshot_of.is_some(),
                new.config.kind == MonitorKind::Snapshot
            );
            Ok(Some(new.config))
        }
        Err(error) => refused(&error).map(|()| None),
    }
}

fn updated(patch: Result<MonitorPatch, ApiError>) -> Result<Option<MonitorPatch>, TestCaseError> {
    match patch {
        Ok(patch) => Ok(Some(patch)),
        Err(error) => refused(&error).map(|()| None),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn request_parsers_never_panic_on_bytes(body in bytes()) {
        created(parse_create(&body))?;
        created(parse_alpha_create(&body))?;
        updated(parse_update(&body))?;
        updated(parse_alpha_update(&body))?;
    }

    #[test]
    fn request_parsers_refuse_with_a_422_or_accept_what_can_be_stored(
        create in create_body(),
        alpha_create in alpha_create_body(),
        update in update_body(),
        alpha_update in alpha_update_body(),
    ) {
        // Each body also goes to the other parsers: a field of one contract sent to the other.
        for body in [&create, &alpha_create, &update, &alpha_update] {
            let body = body.to_string();
            created(parse_create(body.as_bytes()))?;
            created(parse_alpha_create(body.as_bytes()))?;
            updated(parse_update(body.as_bytes()))?;
            updated(parse_alpha_update(body.as_bytes()))?;
        }
    }

    #[test]
    fn any_accepted_update_of_any_accepted_config_can_be_stored(
        create in create_body(),
        alpha_create in alpha_create_body(),
        update in update_body(),
        alpha_update in alpha_update_body(),
    ) {
        let configs = [
            created(parse_create(create.to_string().as_bytes()))?,
            created(parse_alpha_create(alpha_create.to_string().as_bytes()))?,
        ];
        let patches = [
            updated(parse_update(update.to_string().as_bytes()))?,
            updated(parse_alpha_update(alpha_update.to_string().as_bytes()))?,
        ];
        for config in configs.iter().flatten() {
            for patch in patches.iter().flatten() {
                sound(&patch.apply(config))?;
            }
        }
    }

    #[test]
    fn query_parameter_readers_never_panic(
        text in prop_oneof![text(FREQUENCY_PIECES), frequency_text(), any::<String>()],
        max in 1i64..20_000,
    ) {
        if let Ok(f) = parse_frequency(&text) {
            prop_assert!((FREQUENCY_MIN_SECS..=FREQUENCY_MAX_SECS).contains(&f.secs), "{:?}", f);
            prop_assert_eq!(parse_frequency(&f.text), Ok(f.clone()));
        }
        match parse_lookback(Some(&text)) {
            Ok(micros) => prop_assert!(micros >= 86_400_000_000, "{}", micros),
            Err(error) => refused(&error)?,
        }
        match parse_cursor(Some(&text), "/cursor") {
            Ok(cursor) => prop_assert!(cursor.is_none_or(|c| c > 0), "{:?}", cursor),
            Err(error) => refused(&error)?,
        }
        match parse_limit(Some(&text), 1, max) {
            Ok(limit) => prop_assert!((1..=max).contains(&limit), "{}", limit),
            Err(error) => refused(&error)?,
        }
    }
}
