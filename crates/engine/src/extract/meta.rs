//! Page metadata: the title and the publish date, read from the parsed page, and the date
//! parser they share with PDFs and URLs.

use chrono::{DateTime, NaiveDate};
use dom_smoothie::Readability;
use serde_json::Value;

use super::markdown::collapse_ws;

/// `<meta>` names and properties that carry the publish date, best first.
const DATE_META_KEYS: &[&str] = &[
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "datepublished",
    "published_time",
    "article.published",
    "article_date_original",
    "publication_date",
    "publish_date",
    "publish-date",
    "publishdate",
    "pubdate",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "citation_publication_date",
    "citation_date",
    "citation_online_date",
    "prism.publicationdate",
    "dc.date",
    "dcterms.date",
    "date",
];

/// `<meta>` names and properties that carry the title, best first.
const TITLE_META_KEYS: &[&str] = &["og:title", "twitter:title", "citation_title", "dc.title"];

/// What the `<head>` and JSON-LD say, read before the tree is cleaned.
#[derive(Debug, Default)]
pub(super) struct HeadMeta {
    pub meta_title: Option<String>,
    pub jsonld_headline: Option<String>,
    pub title_tag: Option<String>,
    /// The `<title>` trimmed of its site name, readability's way.
    pub clean_title_tag: Option<String>,
    /// `og:site_name` or `application-name`.
    pub site_name: Option<String>,
    pub published: Option<NaiveDate>,
}

/// Reads titles and the publish date from `<meta>`, `<title>` and JSON-LD.
pub(super) fn read_head(r: &Readability) -> HeadMeta {
    let mut out = HeadMeta::default();
    let doc = &r.doc;

    // JSON-LD first: it is the most deliberate statement of the date.
    let mut ld_date: Option<(u8, NaiveDate)> = None;
    for node in doc.select("script[type='application/ld+json']").nodes() {
        let text = node.text();
        let raw = text.trim();
        let raw = raw
            .strip_prefix("<![CDATA[")
            .and_then(|s| s.strip_suffix("]]>"))
            .unwrap_or(raw);
        let Ok(value) = serde_json::from_str::<Value>(raw) else {
            continue;
        };
        walk_jsonld(&value, 0, &mut |obj, article| {
            if let Some(d) = obj
                .get("datePublished")
                .or_else(|| obj.get("dateCreated"))
                .and_then(Value::as_str)
                .and_then(parse_date)
            {
                let rank = if article { 0 } else { 1 };
                if ld_date.is_none_or(|(r, _)| rank < r) {
                    ld_date = Some((rank, d));
                }
            }
            if article && out.jsonld_headline.is_none() {
                if let Some(h) = obj.get("headline").and_then(Value::as_str) {
                    let h = collapse_ws(h);
                    if !h.is_empty() {
                        out.jsonld_headline = Some(h);
                    }
                }
            }
        });
    }

    let mut meta_date: Option<(usize, NaiveDate)> = None;
    let mut meta_title: Option<(usize, String)> = None;
    for node in doc.select("meta[content]").nodes() {
        let Some(content) = node.attr("content") else {
            continue;
        };
        for key_attr in ["property", "name", "itemprop"] {
            let Some(key) = node.attr(key_attr) else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            if let Some(rank) = DATE_META_KEYS.iter().position(|k| *k == key) {
                if meta_date.as_ref().is_none_or(|(r, _)| rank < *r) {
                    if let Some(d) = parse_date(&content) {
                        meta_date = Some((rank, d));
                    }
                }
            }
            if (key == "og:site_name" || key == "application-name") && out.site_name.is_none() {
                let t = collapse_ws(&content);
                out.site_name = (!t.is_empty()).then_some(t);
            }
            if let Some(rank) = TITLE_META_KEYS.iter().position(|k| *k == key) {
                let t = collapse_ws(&content);
                if !t.is_empty() && meta_title.as_ref().is_none_or(|(r, _)| rank < *r) {
                    meta_title = Some((rank, t));
                }
            }
        }
    }
    out.meta_title = meta_title.map(|(_, t)| t);
    out.published = ld_date.map(|(_, d)| d).or(meta_date.map(|(_, d)| d));

    let title = collapse_ws(&doc.select_single("title").text());
    if !title.is_empty() {
        let clean = collapse_ws(&r.get_article_title());
        out.clean_title_tag = (!clean.is_empty()).then_some(clean);
        out.title_tag = Some(title);
    }
    out
}

/// Calls `f` on every JSON object of a JSON-LD value (following `@graph` and arrays), with
/// whether its `@type` is an article-like type.
fn walk_jsonld(v: &Value, depth: usize, f: &mut dyn FnMut(&serde_json::Map<String, Value>, bool)) {
    if depth > 6 {
        return;
    }
    match v {
        Value::Array(items) => {
            for item in items {
                walk_jsonld(item, depth + 1, f);
            }
        }
        Value::Object(obj) => {
            let article = match obj.get("@type") {
                Some(Value::String(t)) => is_article_type(t),
                Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(is_article_type),
                _ => false,
            };
            f(obj, article);
            if let Some(g) = obj.get("@graph") {
                walk_jsonld(g, depth + 1, f);
            }
            if let Some(main) = obj.get("mainEntity") {
                walk_jsonld(main, depth + 1, f);
            }
        }
        _ => {}
    }
}

fn is_article_type(t: &str) -> bool {
    [
        "Article",
        "Posting",
        "Report",
        "Review",
        "Recipe",
        "ScholarlyArticle",
        "Blog",
    ]
    .iter()
    .any(|k| t.contains(k))
}

/// Separators between a page's title and its site's name.
const TITLE_SEPARATORS: &[&str] = &[
    " | ", " - ", " – ", " — ", " :: ", " · ", " » ", " / ", " • ",
];

/// The parts of a title split at the first kind of separator it contains.
fn title_parts(title: &str) -> Vec<&str> {
    for sep in TITLE_SEPARATORS {
        if title.contains(sep) {
            return title
                .split(sep)
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
        }
    }
    vec![title.trim()]
}

/// `title` without a part that is the site's name.
fn strip_site_name(title: &str, site: Option<&str>) -> String {
    let Some(site) = site else {
        return title.to_string();
    };
    let parts = title_parts(title);
    if parts.len() < 2 {
        return title.to_string();
    }
    let kept: Vec<&str> = parts
        .iter()
        .copied()
        .filter(|p| !p.eq_ignore_ascii_case(site))
        .collect();
    if kept.is_empty() || kept.len() == parts.len() {
        return title.to_string();
    }
    let sep = TITLE_SEPARATORS
        .iter()
        .find(|s| title.contains(**s))
        .copied()
        .unwrap_or(" ");
    kept.join(sep)
}

/// Chooses the title from what the page offers. `h1` is the main `<h1>` (after
/// boilerplate removal); `lines` are the first lines of the extracted content.
pub(super) fn choose_title(head: &HeadMeta, h1: Option<String>, lines: &[&str]) -> Option<String> {
    let h1 = h1.filter(|h| h.chars().count() >= 3 && h.chars().count() <= 300);
    if let Some(h) = &h1 {
        let lower = h.to_lowercase();
        let contained = |t: &Option<String>| {
            t.as_ref()
                .is_some_and(|t| t.to_lowercase().contains(&lower))
        };
        if contained(&head.title_tag)
            || contained(&head.meta_title)
            || contained(&head.jsonld_headline)
        {
            return h1;
        }
    }
    // A part of the title that the content repeats as a line (a heading in a page
    // without `<h1>`).
    for t in [&head.meta_title, &head.title_tag].into_iter().flatten() {
        let parts = title_parts(t);
        if parts.len() < 2 {
            continue;
        }
        for part in parts {
            if part.split_whitespace().count() >= 2
                && lines.iter().any(|l| l.trim().eq_ignore_ascii_case(part))
            {
                return Some(part.to_string());
            }
        }
    }
    let site = head.site_name.as_deref();
    head.meta_title
        .as_deref()
        .map(|t| strip_site_name(t, site))
        .or_else(|| head.jsonld_headline.clone())
        .or_else(|| {
            head.title_tag
                .as_deref()
                .map(|t| strip_site_name(t, site))
                .filter(|t| Some(t.as_str()) != head.title_tag.as_deref())
        })
        .or_else(|| head.clean_title_tag.clone())
        .or(h1)
        .or_else(|| head.title_tag.clone())
}

/// A publish date stated in the first lines of the content ("Posted on 5 March 2024",
/// "Published: 2024-03-05", or a line that is only a date).
pub(super) fn date_from_lines(lines: &[&str]) -> Option<NaiveDate> {
    for line in lines {
        let l = line.trim();
        if l.len() > 100 {
            continue;
        }
        let lower = l.to_lowercase();
        let stated = ["posted", "published", "date:", "dated", "on "]
            .iter()
            .any(|p| lower.starts_with(p));
        let only_date = l.split_whitespace().count() <= 5;
        if stated || only_date {
            if let Some(d) = parse_date(l) {
                return Some(d);
            }
        }
    }
    None
}

const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("february", 2),
    ("march", 3),
    ("april", 4),
    ("may", 5),
    ("june", 6),
    ("july", 7),
    ("august", 8),
    ("september", 9),
    ("october", 10),
    ("november", 11),
    ("december", 12),
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("sept", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
];

fn valid(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    if !(1900..=2100).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

fn num(s: &str) -> Option<u32> {
    digits(s.as_bytes())
}

/// The value of one to four ASCII digits. Works on bytes, so that a reader may take any
/// fixed-width field of a string without slicing it inside a multibyte character.
fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 4 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

/// Parses a date as pages write them: ISO 8601 / RFC 3339 (the date as written, whatever
/// the time zone), `YYYY/MM/DD`, `YYYYMMDD`, PDF dates (`D:YYYYMMDD…`), RFC 2822, and
/// texts like "March 5, 2024", "5 March 2024", "Published on Tue, 5 Mar 2024 10:00"; an
/// unambiguous `DD/MM/YYYY` or `MM/DD/YYYY`. Years outside 1900–2100 are refused.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.is_empty() || s.len() > 200 {
        return None;
    }
    let s = s.strip_prefix("D:").unwrap_or(s);
    let b = s.as_bytes();
    // ISO-like: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD at the start.
    if b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && matches!(b[4], b'-' | b'/' | b'.')
        && b[7] == b[4]
    {
        // Fields are read as bytes: the string may hold multibyte characters at these
        // offsets ("2024-01-0é"), which a `str` slice would panic on.
        let y = digits(&b[..4])? as i32;
        let m = digits(&b[5..7])?;
        let d = digits(&b[8..10])?;
        if b.len() == 10 || !b[10].is_ascii_digit() {
            return valid(y, m, d);
        }
    }
    // Compact: YYYYMMDD, possibly followed by a time (PDF dates, `20240315T1000`).
    if b.len() >= 8
        && b[..8].iter().all(u8::is_ascii_digit)
        && (b.len() == 8 || !b[8].is_ascii_digit() || b.len() >= 14)
    {
        let y = digits(&b[..4])? as i32;
        if let Some(d) = valid(y, digits(&b[4..6])?, digits(&b[6..8])?) {
            return Some(d);
        }
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Some(dt.date_naive());
    }
    parse_text_date(s)
}

/// Dates written with a month name, or numerically with slashes or dots.
fn parse_text_date(s: &str) -> Option<NaiveDate> {
    let tokens: Vec<&str> = s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .take(24)
        .collect();
    // Month-name forms.
    for (i, tok) in tokens.iter().enumerate() {
        let lower = tok.to_ascii_lowercase();
        let Some(&(_, month)) = MONTHS.iter().find(|(name, _)| *name == lower) else {
            continue;
        };
        let day_of = |t: &str| {
            let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let suffix = &t[digits.len()..];
            if !suffix.is_empty()
                && !matches!(
                    suffix.to_ascii_lowercase().as_str(),
                    "st" | "nd" | "rd" | "th"
                )
            {
                return None;
            }
            num(digits).filter(|d| digits.len() <= 2 && (1..=31).contains(d))
        };
        let year_of = |t: &str| num(t).filter(|_| t.len() == 4).map(|y| y as i32);
        // "March 5, 2024" / "March 5 2024"
        if let (Some(d), Some(y)) = (
            tokens.get(i + 1).and_then(|t| day_of(t)),
            tokens.get(i + 2).and_then(|t| year_of(t)),
        ) {
            return valid(y, month, d);
        }
        // "5 March 2024"
        if i > 0 {
            if let (Some(d), Some(y)) = (
                day_of(tokens[i - 1]),
                tokens.get(i + 1).and_then(|t| year_of(t)),
            ) {
                return valid(y, month, d);
            }
        }
        // "2024 March 5"
        if i > 0 {
            if let (Some(y), Some(d)) = (
                year_of(tokens[i - 1]),
                tokens.get(i + 1).and_then(|t| day_of(t)),
            ) {
                return valid(y, month, d);
            }
        }
    }
    // Numeric forms with a four-digit year last: DD/MM/YYYY or MM/DD/YYYY when unambiguous.
    for w in tokens.windows(3) {
        let (Some(a), Some(b), Some(y)) = (num(w[0]), num(w[1]), num(w[2])) else {
            continue;
        };
        if w[0].len() > 2 || w[1].len() > 2 || w[2].len() != 4 {
            continue;
        }
        let y = y as i32;
        return match (a > 12, b > 12) {
            (true, false) => valid(y, b, a),
            (false, true) => valid(y, a, b),
            _ if a == b => valid(y, a, b),
            _ => None,
        };
    }
    None
}

/// A date in a URL's path, as news sites write it: `/2024/03/15/`, `/2024-03-15-…`,
/// `/20240315/`.
pub(super) fn date_from_url(url: &str) -> Option<NaiveDate> {
    let path = match url::Url::parse(url) {
        Ok(u) => u.path().to_owned(),
        Err(_) => return None,
    };
    let b = path.as_bytes();
    let mut i = 0;
    while i + 8 <= b.len() {
        let at_boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if at_boundary && b[i..i + 4].iter().all(u8::is_ascii_digit) {
            let y = digits(&b[i..i + 4]).map_or(0, |y| y as i32);
            if (1990..=2100).contains(&y) {
                // YYYY/MM/DD or YYYY-MM-DD
                if i + 10 <= b.len()
                    && matches!(b[i + 4], b'/' | b'-' | b'_')
                    && b[i + 7] == b[i + 4]
                    && (i + 10 == b.len() || !b[i + 10].is_ascii_digit())
                {
                    if let (Some(m), Some(d)) =
                        (digits(&b[i + 5..i + 7]), digits(&b[i + 8..i + 10]))
                    {
                        if let Some(date) = valid(y, m, d) {
                            return Some(date);
                        }
                    }
                }
                // YYYYMMDD as a whole segment
                if (i + 8 == b.len() || !b[i + 8].is_ascii_alphanumeric())
                    && b[i + 4..i + 8].iter().all(u8::is_ascii_digit)
                {
                    if let (Some(m), Some(d)) = (digits(&b[i + 4..i + 6]), digits(&b[i + 6..i + 8]))
                    {
                        if let Some(date) = valid(y, m, d) {
                            return Some(date);
                        }
                    }
                }
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2024-03-15T23:30:00-05:00"), d(2024, 3, 15));
        assert_eq!(parse_date("2024-03-15"), d(2024, 3, 15));
        assert_eq!(parse_date("2024/03/15 10:00"), d(2024, 3, 15));
        assert_eq!(parse_date("D:20240315120000Z"), d(2024, 3, 15));
        assert_eq!(parse_date("20240315"), d(2024, 3, 15));
        assert_eq!(
            parse_date("Fri, 15 Mar 2024 10:00:00 +0000"),
            d(2024, 3, 15)
        );
        assert_eq!(parse_date("March 15, 2024"), d(2024, 3, 15));
        assert_eq!(parse_date("Posted on 14th February 2022"), d(2022, 2, 14));
        assert_eq!(parse_date("Updated: Sept. 3, 2021 at 10:45"), d(2021, 9, 3));
        assert_eq!(parse_date("31/12/2020"), d(2020, 12, 31));
        assert_eq!(parse_date("05/06/2020"), None);
        assert_eq!(parse_date("© 2024 Example Corp"), None);
        assert_eq!(parse_date("0001-01-01"), None);
        assert_eq!(parse_date("may be"), None);
    }

    #[test]
    fn multibyte_characters_inside_date_fields() {
        // Each panicked: a `str` slice ended inside the multibyte character.
        assert_eq!(parse_date("2024-01-0é"), None);
        assert_eq!(parse_date("2024-0é-01"), None);
        assert_eq!(parse_date("2024-é-01"), None);
        assert_eq!(parse_date("2024-01-1日"), None);
        assert_eq!(parse_date("D:2024-03-1€"), None);
        assert_eq!(date_from_lines(&["Posted 2024-01-0é"]), None);
        assert_eq!(date_from_lines(&["2024-01-0é"]), None);
        // A date followed by a multibyte character is still read.
        assert_eq!(parse_date("2024-01-05é"), d(2024, 1, 5));
        assert_eq!(parse_date("2024/03/15日"), d(2024, 3, 15));
    }

    #[test]
    fn url_dates() {
        assert_eq!(
            date_from_url("https://x.org/news/2023/11/05/a-story"),
            d(2023, 11, 5)
        );
        assert_eq!(
            date_from_url("https://x.org/2023-11-05-a-story"),
            d(2023, 11, 5)
        );
        assert_eq!(date_from_url("https://x.org/p/20231105/"), d(2023, 11, 5));
        assert_eq!(date_from_url("https://x.org/item/123456789"), None);
        assert_eq!(date_from_url("https://x.org/2023/"), None);
    }
}

/// Fuzz targets of the date and title readers (see `crate::fuzz`).
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz::{config, date_like};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(config(1))]

        #[test]
        fn parse_date_never_panics(s in date_like()) {
            if let Some(date) = parse_date(&s) {
                prop_assert!((1900..=2100).contains(&chrono::Datelike::year(&date)));
            }
        }

        #[test]
        fn date_from_lines_never_panics(lines in proptest::collection::vec(date_like(), 0..6)) {
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            date_from_lines(&lines);
        }

        #[test]
        fn date_from_url_never_panics(path in date_like(), host in "[a-z]{1,8}") {
            date_from_url(&format!("https://{host}.org/{path}"));
            date_from_url(&path);
        }

        #[test]
        fn choose_title_never_panics(
            title in date_like(),
            meta in proptest::option::of(date_like()),
            site in proptest::option::of(date_like()),
            h1 in proptest::option::of(date_like()),
            lines in proptest::collection::vec(date_like(), 0..4),
        ) {
            let head = HeadMeta {
                meta_title: meta,
                jsonld_headline: None,
                title_tag: Some(title.clone()),
                clean_title_tag: Some(title),
                site_name: site,
                published: None,
            };
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            choose_title(&head, h1, &lines);
        }
    }
}
