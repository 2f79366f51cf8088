//! Shared pieces of the property tests that fuzz the engine's readers of untrusted text:
//! the number of cases, and strategies that build the inputs pages really hold (dates,
//! numbers, words and markup mixed with multibyte characters), beside arbitrary Unicode.
//!
//! The targets sit beside the parsers they fuzz, each in a `fuzz` test module:
//! `extract::meta` (dates of pages, PDFs and URLs), `extract::html` (whole pages with odd
//! `<meta>`, JSON-LD and `<time>` values), `extract::markdown` and `extract::passage`
//! (markdown normalisation and passages), `extract::pdf` (PDF documents and their
//! information dictionary) and `typed` (typed values read from passages).
//!
//! `cargo test -p parallax-engine fuzz` runs a short pass ([`DEFAULT_CASES`] cases per
//! target, a few seconds); `PARALLAX_FUZZ_CASES=100000 cargo test --release -p
//! parallax-engine fuzz` (what `bench/fuzz/run` does) is the long run. A failure prints the
//! smallest input proptest found; it then becomes a regression test beside the parser.

use proptest::prelude::*;
use proptest::test_runner::Config;

/// Cases per target when `PARALLAX_FUZZ_CASES` is not set: enough to catch a regression in
/// CI within seconds.
pub const DEFAULT_CASES: u32 = 256;

/// The proptest configuration of every fuzz target: `PARALLAX_FUZZ_CASES` cases (or
/// [`DEFAULT_CASES`]), divided by `cost` for targets whose cases are expensive (whole pages,
/// PDFs). Failures are not persisted in the source tree: they are turned into named
/// regression tests instead.
pub fn config(cost: u32) -> Config {
    let cases = std::env::var("PARALLAX_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases: (cases / cost.max(1)).max(1),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Characters that break byte-indexed parsing: multibyte letters and digits, combining
/// marks, zero-width and right-to-left marks, full-width forms, and letters whose case
/// changes length (`İ`, `ẞ`).
const ODD: &[&str] = &[
    "é", "€", "日", "本", "𝟙", "٣", "१", "Ⅻ", "\u{301}", "\u{200b}", "\u{200f}", "\u{feff}",
    "\u{ad}", "２", "：", "／", "－", "İ", "ẞ", "ﬁ", "😀", "\u{0}", "\t", "\n", "\r\n", " ",
    "\u{a0}", "\u{2028}", "ı", "Ω", "Å",
];

/// Pieces that dates and numbers are written with.
const DATE_PIECES: &[&str] = &[
    "2024",
    "1999",
    "0001",
    "9999",
    "20240315",
    "-",
    "/",
    ".",
    ":",
    "T",
    "Z",
    "+",
    "D:",
    "01",
    "1",
    "12",
    "31",
    "00",
    "13",
    "0",
    "March",
    "mar",
    "Sept.",
    "May",
    "décembre",
    "th",
    "st",
    ",",
    " ",
    "at",
    "on",
    "Posted",
    "Published:",
    "Fri,",
    "GMT",
    "+0000",
    "-05:00",
    "10:00",
    "am",
    "(",
    ")",
    "[",
    "]",
];

const NUMBER_PIECES: &[&str] = &[
    "0", "1", "42", "3.1", "1,234", ".", ",", "-", "%", "k", "m", "M", "bn", " million",
    " trillion", "thousand", "1e308", "999999999999999999999", "99999999999999999999999999999",
    // Past f64's range: 310 digits.
    "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999",
    "$", "€", "£", " ", "x", "-word", "no", "yes", "true", "not", "two", "twenty", "year",
    "founded", "(", ")", "v", "1.2.3", "@", "http://", "A", "Mr", "Of", "of",
];

/// What stands between two pieces: mostly a space, sometimes nothing, punctuation, a
/// line or paragraph break, or an odd character.
const SEPARATORS: &[&str] = &[
    " ", " ", " ", "", ", ", ". ", "\n", "\n\n", "\n- ", "(", ") ",
];

/// A string made of `pieces` and odd characters, in any order, with separators between.
pub fn pieces(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => proptest::sample::select(pieces).prop_map(str::to_owned),
        1 => proptest::sample::select(ODD).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ];
    let separator = prop_oneof![
        3 => proptest::sample::select(SEPARATORS),
        1 => proptest::sample::select(ODD),
    ];
    proptest::collection::vec((piece, separator), 0..24).prop_map(|parts| {
        parts
            .into_iter()
            .flat_map(|(piece, separator)| [piece, separator.to_owned()])
            .collect()
    })
}

/// Date-like strings: what a page's date field might hold, right or broken.
pub fn date_like() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => pieces(DATE_PIECES),
        1 => any::<String>(),
        // A valid ISO date with one character replaced or inserted somewhere.
        2 => ("[0-9]{4}-[0-9]{2}-[0-9]{2}", 0usize..10, proptest::sample::select(ODD))
            .prop_map(|(date, at, odd)| {
                let mut chars: Vec<String> = date.chars().map(String::from).collect();
                let at = at.min(chars.len() - 1);
                chars[at] = odd.to_owned();
                chars.concat()
            }),
    ]
}

/// Number-like and word-like text, as passages hold it.
pub fn text_like() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => pieces(NUMBER_PIECES),
        2 => pieces(DATE_PIECES),
        1 => any::<String>(),
    ]
}
