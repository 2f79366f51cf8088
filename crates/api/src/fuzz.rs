//! Shared pieces of the property tests that fuzz this crate's request parsers: the number of
//! cases and strategies for the JSON values clients send, right, wrong or odd.
//!
//! The targets sit beside the parsers they fuzz, each in a `fuzz` test module: `monitor`
//! (both contracts' monitor requests and the query parameters of the monitor routes) and
//! `chat` (chat-completion requests).
//!
//! `cargo test -p parallax-api fuzz` runs a short pass ([`DEFAULT_CASES`] cases per target);
//! `PARALLAX_FUZZ_CASES=100000 cargo test --release -p parallax-api fuzz` (what
//! `bench/fuzz/run` does) is the long run. A failure prints the smallest input proptest found;
//! it then becomes a regression test beside the parser.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value};

/// Cases per target when `PARALLAX_FUZZ_CASES` is not set: enough to catch a regression in
/// CI within seconds.
pub const DEFAULT_CASES: u32 = 256;

/// The proptest configuration of every fuzz target: `PARALLAX_FUZZ_CASES` cases when set,
/// else [`DEFAULT_CASES`]. Failures are not persisted in the source tree: they are turned
/// into named regression tests instead.
pub fn config() -> Config {
    let cases = std::env::var("PARALLAX_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases: cases.max(1),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Characters that break byte-indexed parsing: multibyte letters and digits, combining
/// marks, zero-width and right-to-left marks, full-width forms, letters whose case changes
/// length, and controls.
pub const ODD: &[&str] = &[
    "é", "€", "日", "𝟙", "٣", "१", "\u{301}", "\u{200b}", "\u{200f}", "\u{feff}", "２", "İ", "ẞ",
    "😀", "\u{0}", "\t", "\n", " ", "\u{a0}", "\u{2028}", "\"", "\\", "/", "~",
];

/// A string made of `pieces`, odd characters and arbitrary characters, in any order.
pub fn pieces(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(pieces).prop_map(str::to_owned),
        1 => proptest::sample::select(ODD).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|parts| parts.concat())
}

/// Strings: one of `words` as it is, or words and odd characters run together, or anything.
pub fn text(words: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(words).prop_map(str::to_owned),
        2 => pieces(words),
        1 => any::<String>(),
    ]
}

/// A JSON number as a client may write one: small and large integers, and finite floats.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-3i64..3).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from), // NaN and infinities become null
    ]
}

/// Any JSON value: scalars, and arrays and objects of a few levels whose keys are
/// `words` or anything, and now and then a value nested around serde_json's recursion limit
/// (128 levels), where one level more or less decides whether it can be read back.
pub fn value(words: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text(words).prop_map(Value::String),
    ];
    let nested = leaf.clone().prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((text(words), inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    });
    prop_oneof![
        12 => nested,
        1 => deep(leaf),
    ]
}

/// `leaf` inside a few levels, or inside about as many as serde_json reads (128).
pub fn deep(leaf: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    let levels = prop_oneof![1usize..8, 118usize..140];
    (leaf, levels, any::<u64>()).prop_map(|(leaf, levels, shape)| {
        let mut out = leaf;
        for level in 0..levels {
            out = if shape >> (level % 64) & 1 == 0 {
                Value::Array(vec![out])
            } else {
                let mut map = Map::new();
                map.insert("k".into(), out);
                Value::Object(map)
            };
        }
        out
    })
}

/// A field of an [`object`]: its name, how often it is there (0 to 1), and its values.
pub type Field = (&'static str, f64, BoxedStrategy<Value>);

/// An object of `fields`, each there or not, and now and then an `extra` key.
pub fn object(
    fields: Vec<Field>,
    extra: BoxedStrategy<(String, Value)>,
) -> impl Strategy<Value = Value> {
    let present = fields
        .into_iter()
        .map(|(name, odds, value)| {
            proptest::option::weighted(odds, value.prop_map(move |v| (name, v)))
        })
        .collect::<Vec<_>>();
    (present, proptest::option::weighted(0.05, extra)).prop_map(|(present, extra)| {
        let mut map: Map<String, Value> = present
            .into_iter()
            .flatten()
            .map(|(name, v)| (name.to_owned(), v))
            .collect();
        if let Some((key, v)) = extra {
            map.insert(key, v);
        }
        Value::Object(map)
    })
}
