//! Shared pieces of the property tests that fuzz the engine's readers of untrusted text:
//! the number of cases, and strategies that build the inputs pages really hold (dates,
//! numbers, words and markup mixed with multibyte characters), beside arbitrary Unicode.
//!
//! The targets sit beside the parsers they fuzz, each in a `fuzz` test module:
//! `extract::meta` (dates of pages, PDFs and URLs), `extract::html` (whole pages with odd
//! `<meta>`, JSON-LD and `<time>` values), `extract::markdown` and `extract::passage`
//! (markdown normalisation and passages), `extract::pdf` (PDF documents and their
//! information dictionary), `typed` (typed values read from passages) and
//! `pipeline::extractive` (whole answers: passages, tables and label lines read against
//! field names and descriptions) and `monitor` (a monitor's items, keys and snapshot
//! comparisons).
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

/// The proptest configuration of every fuzz target: `PARALLAX_FUZZ_CASES` cases when set
/// (the long run: every target that many), else [`DEFAULT_CASES`] divided by `cost` for
/// targets whose cases are expensive (whole pages, PDFs). Failures are not persisted in the
/// source tree: they are turned into named regression tests instead.
pub fn config(cost: u32) -> Config {
    let cases = std::env::var("PARALLAX_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(DEFAULT_CASES / cost.max(1));
    Config {
        cases: cases.max(1),
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

/// Field descriptions as clients write them, with the quotes and apostrophes that the
/// fallback reader parses.
pub fn description_like() -> impl Strategy<Value = String> {
    const DESCRIPTION_PIECES: &[&str] = &[
        "If",
        "unavailable",
        "return",
        "null",
        "'Unknown'",
        "\"N/A\"",
        "use",
        "0",
        "when",
        "not",
        "found",
        "members'",
        "s'",
        "'",
        "’",
        "‘",
        "“",
        "”",
        "`",
        "«",
        "»",
        "don't",
        "company's",
        "(YYYY-MM-DD)",
        "otherwise",
        "leave",
        "empty",
        ":",
        ";",
        "N/A",
        "-",
    ];
    prop_oneof![
        4 => pieces(DESCRIPTION_PIECES),
        1 => any::<String>(),
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

/// Markdown as extraction writes it and as pages might break it: headings, lists, tables,
/// fences, links, emphasis and escapes, around text of numbers, dates and odd characters.
pub fn markdown_like() -> impl Strategy<Value = String> {
    const SYNTAX: &[&str] = &[
        "# ",
        "## ",
        "###### ",
        "#",
        "- ",
        "* ",
        "1. ",
        "> ",
        "| a | b |",
        "|---|---|",
        "| ",
        " |",
        "```",
        "```rust",
        "~~~",
        "[",
        "](",
        ")",
        "](http://x.org/a)",
        "**",
        "*",
        "_",
        "`",
        "\\",
        "\\*",
        "![",
        "<",
        ">",
        "&amp;",
        "---",
        "\n",
        "\n\n",
        "    ",
        "\t",
    ];
    let part = prop_oneof![
        2 => proptest::sample::select(SYNTAX).prop_map(str::to_owned),
        3 => text_like(),
    ];
    proptest::collection::vec(part, 0..16).prop_map(|parts| parts.concat())
}

/// Escapes text for HTML, or (sometimes) leaves it raw: pages do both.
fn html_text() -> impl Strategy<Value = String> {
    (text_like(), any::<bool>()).prop_map(|(text, escape)| {
        if escape {
            text.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('"', "&quot;")
        } else {
            text
        }
    })
}

/// Whole pages: a head with `<title>`, `<meta>` tags of the keys the metadata reader
/// knows and JSON-LD (valid or broken) holding odd values, and a body of headings,
/// paragraphs, `<time>` elements, dated spans, lists, tables, code, links, boilerplate
/// and unclosed tags.
pub fn page_like() -> impl Strategy<Value = String> {
    const META_KEYS: &[&str] = &[
        "article:published_time",
        "og:published_time",
        "datePublished",
        "pubdate",
        "DC.date.issued",
        "citation_publication_date",
        "date",
        "og:title",
        "twitter:title",
        "og:site_name",
        "application-name",
        "description",
    ];
    const ATTRS: &[&str] = &["property", "name", "itemprop"];
    let meta = (
        proptest::sample::select(ATTRS),
        proptest::sample::select(META_KEYS),
        html_text(),
    )
        .prop_map(|(attr, key, value)| format!("<meta {attr}=\"{key}\" content=\"{value}\">"));
    let jsonld = (date_like(), text_like(), any::<bool>(), any::<bool>()).prop_map(
        |(date, headline, graph, broken)| {
            let article = serde_json::json!({
                "@type": ["NewsArticle", "Thing"],
                "datePublished": date,
                "dateCreated": date,
                "headline": headline,
                "mainEntity": {"@type": "Article", "headline": headline},
            });
            let value = if graph {
                serde_json::json!({"@graph": [article, {"@type": "Blog", "datePublished": date}]})
            } else {
                article
            };
            let mut text = value.to_string();
            if broken {
                let cut = (0..=text.len() / 2)
                    .rev()
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(0);
                text.truncate(cut);
            }
            format!("<script type=\"application/ld+json\">{text}</script>")
        },
    );
    let head = (
        html_text(),
        proptest::collection::vec(meta, 0..6),
        proptest::option::of(jsonld),
    )
        .prop_map(|(title, metas, jsonld)| {
            format!(
                "<head><title>{title}</title>{}{}</head>",
                metas.concat(),
                jsonld.unwrap_or_default()
            )
        });
    let block = prop_oneof![
        html_text().prop_map(|t| format!("<h1>{t}</h1>")),
        html_text().prop_map(|t| format!("<h2 class=\"subheader\">{t}</h2>")),
        html_text().prop_map(|t| format!("<p>{t}</p>")),
        (date_like(), html_text())
            .prop_map(|(d, t)| format!("<time datetime=\"{d}\" pubdate>{t}</time>")),
        date_like().prop_map(|d| format!("<span class=\"date published\">{d}</span>")),
        date_like().prop_map(|d| format!("<meta itemprop=\"datePublished\" content=\"{d}\">")),
        html_text().prop_map(|t| format!("<div class=\"byline\">By {t}</div>")),
        proptest::collection::vec(html_text(), 0..4)
            .prop_map(|items| format!("<ul><li>{}</li></ul>", items.join("</li><li>"))),
        (html_text(), html_text()).prop_map(|(a, b)| {
            format!(
                "<table><tr><th>{a}</th><th>{b}</th></tr><tr><td>{b}</td><td>{a}</td></tr></table>"
            )
        }),
        html_text().prop_map(|t| format!("<pre><code class=\"language-x\">{t}</code></pre>")),
        (text_like(), html_text()).prop_map(|(href, t)| format!("<a href=\"{href}\">{t}</a>")),
        html_text().prop_map(|t| format!("<nav><a href=\"/\">{t}</a></nav><footer>{t}</footer>")),
        html_text().prop_map(|t| format!("<article><p>{t}")),
        html_text()
            .prop_map(|t| format!("<div id=\"cookie-banner\"><button>Accept</button>{t}</div>")),
        text_like(),
    ];
    let body = proptest::collection::vec(block, 0..12).prop_map(|blocks| blocks.concat());
    prop_oneof![
        8 => (head, body).prop_map(|(head, body)| format!("<!DOCTYPE html><html>{head}<body>{body}</body></html>")),
        1 => any::<String>(),
        1 => markdown_like(),
    ]
}
