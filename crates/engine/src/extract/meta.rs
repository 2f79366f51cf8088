//! Page metadata: the title, the publish date and the authors' names that the `<head>` and
//! JSON-LD state, read from the parsed page, and the dates of URLs. Dates are read from text by
//! the engine's one date reader (`crate::dates`, here [`parse_date`]). Authors stated only in
//! the body are read by [`super::authors`].

use chrono::NaiveDate;
use dom_query::NodeRef;
use dom_smoothie::Readability;
use serde_json::Value;

use super::markdown::collapse_ws;
use crate::dates::{digits, read_date, valid, Strictness};

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

/// `<meta>` names and properties that carry an author's name, best first. (`article:author`
/// is often a profile URL; those are skipped by [`super::authors::clean_name`].)
const AUTHOR_META_KEYS: &[&str] = &[
    "author",
    "article:author",
    "og:article:author",
    "dc.creator",
    "dcterms.creator",
    "citation_author",
    "parsely-author",
    "sailthru.author",
    "byl",
];

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
    /// Whether `published` was read from a timestamp in UTC (`…T23:11:59Z`, `+00:00`),
    /// whose day may be the next or the previous one where the page was written.
    pub published_in_utc: bool,
    /// The `author` names of the page's article-like JSON-LD objects, as written.
    pub jsonld_authors: Vec<String>,
    /// The names the best-ranked author `<meta>` key gives (all its occurrences, for
    /// `citation_author`), as written.
    pub meta_authors: Vec<String>,
}

/// Reads titles and the publish date from `<meta>`, `<title>` and JSON-LD.
pub(super) fn read_head(r: &Readability) -> HeadMeta {
    let mut out = HeadMeta::default();
    let doc = &r.doc;

    // JSON-LD first: it is the most deliberate statement of the date.
    let mut ld_date: Option<(u8, (NaiveDate, bool))> = None;
    // Names of the graph's nodes, for authors given as `{"@id": …}` references.
    let mut ld_names: Vec<(String, String)> = Vec::new();
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
            if let (Some(id), Some(name)) = (
                obj.get("@id").and_then(Value::as_str),
                obj.get("name").and_then(Value::as_str),
            ) {
                ld_names.push((id.to_string(), collapse_ws(name)));
            }
            if let Some(d) = obj
                .get("datePublished")
                .or_else(|| obj.get("dateCreated"))
                .and_then(Value::as_str)
                .and_then(|v| Some((parse_date(v)?, is_utc_timestamp(v))))
            {
                let rank = if article { 0 } else { 1 };
                if ld_date.is_none_or(|(r, _)| rank < r) {
                    ld_date = Some((rank, d));
                }
            }
            if article && out.jsonld_authors.is_empty() {
                if let Some(a) = obj.get("author").or_else(|| obj.get("creator")) {
                    jsonld_names(a, 0, &mut out.jsonld_authors);
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

    out.jsonld_authors = std::mem::take(&mut out.jsonld_authors)
        .into_iter()
        .filter_map(|a| match a.strip_prefix(JSONLD_REF) {
            Some(id) => ld_names
                .iter()
                .find(|(i, _)| i == id)
                .map(|(_, n)| n.clone()),
            None => Some(a),
        })
        .collect();

    let mut meta_date: Option<(usize, (NaiveDate, bool))> = None;
    let mut meta_title: Option<(usize, String)> = None;
    let mut meta_authors: Option<(usize, Vec<String>)> = None;
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
                        meta_date = Some((rank, (d, is_utc_timestamp(&content))));
                    }
                }
            }
            if (key == "og:site_name" || key == "application-name") && out.site_name.is_none() {
                let t = collapse_ws(&content);
                out.site_name = (!t.is_empty()).then_some(t);
            }
            if let Some(rank) = AUTHOR_META_KEYS.iter().position(|k| *k == key) {
                let name = collapse_ws(&content);
                match &mut meta_authors {
                    Some((r, names)) if *r == rank => names.push(name),
                    Some((r, _)) if *r < rank => {}
                    _ => meta_authors = Some((rank, vec![name])),
                }
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
    out.meta_authors = meta_authors.map(|(_, a)| a).unwrap_or_default();
    // The ranks chose within each source; JSON-LD wins over the tags.
    let stated = ld_date.map(|(_, d)| d).or(meta_date.map(|(_, d)| d));
    out.published = stated.map(|(d, _)| d);
    out.published_in_utc = stated.is_some_and(|(_, utc)| utc);

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

/// The names in a JSON-LD `author` value: a string, a `Person` (or `Organization`) with a
/// `name`, or an array of those.
fn jsonld_names(v: &Value, depth: usize, out: &mut Vec<String>) {
    if depth > 3 {
        return;
    }
    match v {
        Value::String(s) => out.push(collapse_ws(s)),
        Value::Array(items) => {
            for item in items {
                jsonld_names(item, depth + 1, out);
            }
        }
        Value::Object(obj) => {
            if let Some(name) = obj.get("name") {
                jsonld_names(name, depth + 1, out);
            } else if let Some(id) = obj.get("@id").and_then(Value::as_str) {
                // A reference to a node of the `@graph`: resolved once the walk is over.
                out.push(format!("{JSONLD_REF}{id}"));
            }
        }
        _ => {}
    }
}

/// Marks an unresolved JSON-LD `{"@id": …}` author reference in [`HeadMeta::jsonld_authors`]
/// while the graph is walked.
const JSONLD_REF: &str = "\u{0}@id:";

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

/// A date stated in a short element just before or after the page's first `<h1>` (or after
/// the element wrapping it), read before boilerplate removal: templates often print the
/// date under the headline in an element named as a caption or a kicker, which the cleaning
/// drops ("21. Januar 2022 | Mobilität").
pub(super) fn date_near_heading(r: &Readability) -> Option<NaiveDate> {
    let h1 = r.doc.select_single("h1");
    let heading = *h1.nodes().first()?;
    let mut near = Vec::new();
    let mut next = heading.next_element_sibling();
    for _ in 0..3 {
        let Some(n) = next else { break };
        next = n.next_element_sibling();
        near.push(n);
    }
    if let Some(prev) = heading.prev_element_sibling() {
        near.push(prev);
    }
    if let Some(wrapper) = heading.parent().filter(|p| p.text().chars().count() < 400) {
        let mut next = wrapper.next_element_sibling();
        for _ in 0..2 {
            let Some(n) = next else { break };
            next = n.next_element_sibling();
            near.push(n);
        }
    }
    near.iter()
        .map(|n| collapse_ws(&n.text()))
        .filter(|t| t.chars().count() <= 120)
        .find_map(|t| parse_date(&t))
}

/// The first date stated in a short element whose class or id names a date (`date`,
/// `posted`, `published`), outside comments, sidebars, widgets and lists
/// of other posts, read before boilerplate removal (which drops many such elements with
/// the header or footer line that holds them). The last resort before the URL.
pub(super) fn date_in_marked_element(r: &Readability) -> Option<NaiveDate> {
    let marked = r
        .doc
        .select("[class*=date],[id*=date],[class*=posted],[class*=publish]");
    for node in marked.nodes() {
        // A container of many elements is no date line; its text is not even gathered.
        if node.descendants_it().take(25).count() >= 25 {
            continue;
        }
        let Some(date) = element_date(node, 120) else {
            continue;
        };
        if !in_foreign_container(node) {
            return Some(date);
        }
    }
    None
}

/// The date an element states: its `datetime`, an `<abbr>`'s `title` (Blogger's
/// `<abbr class="published" title="2017-09-09T10:52:00+02:00">`), else its text when that is
/// at most `max_chars` long.
fn element_date(node: &NodeRef, max_chars: usize) -> Option<NaiveDate> {
    let stated = node
        .attr("datetime")
        .or_else(|| node.has_name("abbr").then(|| node.attr("title")).flatten());
    if let Some(d) = stated.and_then(|v| parse_date(&v)) {
        return Some(d);
    }
    // Templates indent a date line with as much whitespace as it has text.
    let text = collapse_ws(&node.text());
    if text.chars().count() > max_chars {
        // A meta line that opens with the date ("3. August 2015 · Filed under …").
        return leading_date(&text);
    }
    parse_date(&text)
}

/// Characters that end the first part of a meta line or a lead sentence: "25. Januar 2022 |
/// Berlin – …", "01.02.2022 „Der …".
const LEAD_SEPARATORS: &[char] = &['|', '·', '•', '–', '—', '„', '“', '"', '('];

/// Words a line may open with before its date ("Pressemitteilung vom 25. Januar 2022").
const LEADING_DATE_MAX_WORDS: usize = 6;

/// The date a line opens with: the text before its first [`LEAD_SEPARATORS`] (at most
/// [`LEADING_DATE_MAX_WORDS`] words) read as a date. A date later in the line is an event
/// the text reports, not the day it was written, and is not read.
fn leading_date(line: &str) -> Option<NaiveDate> {
    let head = line.split(LEAD_SEPARATORS).next()?;
    if head.split_whitespace().count() > LEADING_DATE_MAX_WORDS {
        return None;
    }
    parse_date(head)
}

/// Class and id parts of comment sections, sidebars, widgets, lists of other posts and
/// reference lists, whose dates and author names are not the page's.
pub(super) const FOREIGN_CONTAINERS: &[&str] = &[
    "comment",
    "sidebar",
    "widget",
    "related",
    "respond",
    "discussion",
    "reply",
    "reference",
    "citation",
    "footnote",
];

/// Whether `node` sits in (or is) a comment section, a sidebar, a widget, a list of
/// related posts or references, an `<aside>` or a `<nav>` ([`FOREIGN_CONTAINERS`]). The
/// page's own wrappers (`html`, `body`, `article`, `main`) are not looked at: templates name
/// them after features ("comments-open"). Nor is a named container that holds the main
/// content ([`super::html::marks_main_content`]): that is the content's column, whatever it
/// is called (Blogger puts the posts in a `widget Blog`, themes wrap content and sidebar in
/// a `content-sidebar-wrap`).
pub(super) fn in_foreign_container(node: &NodeRef) -> bool {
    node.ancestors_it(None)
        .chain(std::iter::once(*node))
        .any(|a| {
            if a.has_name("aside") || a.has_name("nav") {
                return true;
            }
            let own = ["html", "body", "article", "main"]
                .iter()
                .any(|t| a.has_name(t));
            let named = !own
                && ["class", "id"].iter().any(|k| {
                    a.attr(k).is_some_and(|v| {
                        let v = v.to_ascii_lowercase();
                        FOREIGN_CONTAINERS.iter().any(|f| v.contains(f))
                    })
                });
            named && !super::html::marks_main_content(&a, true, false)
        })
}

/// The first date stated in any short element of the page, outside comments, sidebars,
/// widgets, navigation and lists of other posts: the last resort, when neither the head, the
/// URL, a marked element nor the first lines of the content state one. `<time>`s and
/// `<abbr>`s give their `datetime` or `title`.
pub(super) fn first_date_in_page(r: &Readability) -> Option<NaiveDate> {
    const TAGS: &[&str] = &[
        "p", "span", "div", "li", "td", "small", "time", "em", "strong", "b", "i", "a", "abbr",
        "font", "dd", "dt", "h2", "h3", "h4", "h5", "h6",
    ];
    let mut last_parent = None;
    for node in r.doc.root().descendants_it() {
        // A date has a digit somewhere: only text with one makes its element a candidate,
        // so the text of most elements is never gathered.
        let element = if node.is_text() {
            let text = node.text();
            // Longer than a date line: the element's own text is longer still.
            if text.len() > 240 || !text.bytes().any(|b| b.is_ascii_digit()) {
                continue;
            }
            match node.parent() {
                Some(p) => p,
                None => continue,
            }
        } else if node.has_name("time") || node.has_name("abbr") {
            node
        } else {
            continue;
        };
        if last_parent == Some(element.id) || !TAGS.iter().any(|t| element.has_name(t)) {
            continue;
        }
        last_parent = Some(element.id);
        if element.descendants_it().take(24).count() >= 24 {
            continue;
        }
        let Some(date) = element_date(&element, 80) else {
            continue;
        };
        // Nor the site's footer ("This page was last edited on …").
        let in_footer = element.ancestors_it(None).any(|a| {
            a.has_name("footer")
                || a.attr("role")
                    .is_some_and(|r| r.eq_ignore_ascii_case("contentinfo"))
                || a.attr("id")
                    .is_some_and(|v| v.to_ascii_lowercase().contains("footer"))
        });
        if !in_footer && !in_foreign_container(&element) {
            return Some(date);
        }
    }
    None
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
    // Then a line that opens with the date ("01.02.2022 „Der Arbeitsmarkt …").
    lines.iter().find_map(|l| leading_date(l.trim()))
}

/// Parses a date as pages write them: ISO 8601 / RFC 3339 (the date as written, whatever
/// the time zone), `YYYY/MM/DD`, `YYYYMMDD`, PDF dates (`D:YYYYMMDD…`), RFC 2822, and
/// texts like "March 5, 2024", "5 March 2024", "Published on Tue, 5 Mar 2024 10:00"; an
/// unambiguous `DD/MM/YYYY` or `MM/DD/YYYY`. Years outside 1900–2100 are refused. The
/// engine's one date reader (`crate::dates`) at `Strictness::Page`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    read_date(s, Strictness::Page)
}

/// The page's date from its head and its URL: the head's, unless it is a UTC timestamp a
/// day off the URL's. Sites write the URL's date in their own time zone, while head
/// timestamps are often converted to UTC ("2018-12-31T23:11:59+00:00" for a post of
/// 1 January under `/2019/01/01/`): that day's difference is the conversion, and the URL
/// has the local day.
pub(super) fn head_or_url_date(head: &HeadMeta, url: Option<NaiveDate>) -> Option<NaiveDate> {
    match (head.published, url) {
        (Some(h), Some(u)) if head.published_in_utc && (h - u).num_days().abs() == 1 => Some(u),
        (h, u) => h.or(u),
    }
}

/// Whether a date string is a timestamp stated in UTC: a clock time, then `Z`, `+00:00`,
/// `+0000`, `GMT` or `UTC` at the end (ISO 8601 and RFC 2822 forms alike).
fn is_utc_timestamp(s: &str) -> bool {
    let s = s.trim();
    s.contains(':')
        && ["Z", "+00:00", "+0000", " GMT", " UTC"]
            .iter()
            .any(|z| s.ends_with(z))
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
    fn month_names_beyond_english() {
        assert_eq!(parse_date("Donnerstag, 2. August 2018"), d(2018, 8, 2));
        assert_eq!(parse_date("21. MÄRZ 2022"), d(2022, 3, 21));
        assert_eq!(parse_date("1er février 2021"), d(2021, 2, 1));
        assert_eq!(parse_date("5 de marzo de 2020"), d(2020, 3, 5));
        assert_eq!(parse_date("12 settembre 2019"), d(2019, 9, 12));
        assert_eq!(parse_date("3 maart 2017"), d(2017, 3, 3));
        assert_eq!(parse_date("7 października 2015"), d(2015, 10, 7));
        assert_eq!(parse_date("19 марта 2019"), d(2019, 3, 19));
        assert_eq!(parse_date("19. helmikuuta 2019"), d(2019, 2, 19));
    }

    #[test]
    fn dotted_dates_are_day_first() {
        assert_eq!(parse_date("10.11.2021"), d(2021, 11, 10));
        assert_eq!(parse_date("Thema des Tages // 02.11.2021"), d(2021, 11, 2));
        assert_eq!(parse_date("23.09.22"), d(2022, 9, 23));
        assert_eq!(parse_date("Stand: 1.2.2020, 10:00"), d(2020, 2, 1));
        assert_eq!(parse_date("version 1.2.3.4"), None);
        assert_eq!(parse_date("Version 1.2.33"), None);
        assert_eq!(parse_date("10/11/2021"), None);
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
    fn date_under_the_headline_in_a_caption_line() {
        let html = r#"<html><body><main><h1>Bridges before new roads</h1>
            <p class="caption">21. Januar 2022 | Verkehr</p>
            <p>The article's text, long enough to be the content of the page for the test.</p>
            </main></body></html>"#;
        let e = crate::extract::extract_html(html, "https://example.org/roads");
        assert_eq!(e.published, d(2022, 1, 21));
    }

    #[test]
    fn date_anywhere_in_the_page_as_a_last_resort() {
        let html = r#"<html><body><div id="sidebar"><p>Archive: 1 May 2018</p></div>
            <div class="content"><h2>Meeting notes</h2><p>The notes themselves, long enough to be
            the content of the page for this test, and more.</p>
            <p>Diese Seite wurde zuletzt am 29. Januar 2020 geändert.</p></div></body></html>"#;
        let e = crate::extract::extract_html(html, "https://example.org/notes");
        assert_eq!(e.published, d(2020, 1, 29));
        let html = r#"<html><body><div class="post"><h3>Tach</h3><div class="post-footer">
            <abbr class="published" title="2020-04-28T21:11:00+02:00">21:11</abbr></div>
            <p>The post itself, long enough to be the content of the page for the test.</p></div></body></html>"#;
        let e = crate::extract::extract_html(html, "https://example.org/tach");
        assert_eq!(e.published, d(2020, 4, 28));
    }

    #[test]
    fn date_in_a_marked_element_outside_comments() {
        let html = r#"<html><body><div class="comment-list"><span class="comment-date">3 March 2019</span></div>
            <header><span class="post-date">5 April 2020</span></header>
            <article><h2>A post</h2><p>The post's text, long enough to be the content of the page.</p></article>
            </body></html>"#;
        let e = crate::extract::extract_html(html, "https://example.org/post");
        assert_eq!(e.published, d(2020, 4, 5));
    }

    #[test]
    fn an_indented_date_element_is_read() {
        let pad = " ".repeat(200);
        let html = format!(
            r#"<html><body><header><div class="date-wrapper"><p>{pad}02.12.2022{pad}</p></div>
            <h1>Endlich Klarheit</h1></header><section><p>The statement itself, long enough
            to be the content of the page for this test, and more words.</p></section></body></html>"#
        );
        let e = crate::extract::extract_html(&html, "https://example.org/statement");
        assert_eq!(e.published, d(2022, 12, 2));
    }

    #[test]
    fn a_meta_line_or_first_line_opening_with_the_date() {
        let html = r#"<html><body><div class="post"><h2>Nummer zwei</h2>
            <p class="postmeta">3. August 2015 · Filed under Katzen, Familie · 12 Kommentare und
            noch ein paar Wörter mehr</p>
            <p>The post itself, long enough to be the content of the page for the test.</p></div></body></html>"#;
        let e = crate::extract::extract_html(html, "https://example.org/leo");
        assert_eq!(e.published, d(2015, 8, 3));
        assert_eq!(
            date_from_lines(&["Pressemitteilung vom 25. Januar 2022 | Berlin – Die Ministerin traf heute den Chef des Programms."]),
            d(2022, 1, 25)
        );
        assert_eq!(
            date_from_lines(&[
                "01.02.2022 „Der Arbeitsmarkt ist gut in das neue Jahr gestartet“, sagte sie."
            ]),
            d(2022, 2, 1)
        );
        // A date the sentence reports is not the day it was written.
        assert_eq!(
            date_from_lines(&[
                "Der Bundestag hat am 5. März 2020 beschlossen, dass die Regel gilt."
            ]),
            None
        );
    }

    #[test]
    fn a_widget_holding_the_posts_is_the_main_column() {
        let post = "The post itself, with enough words to be the content of the page. ".repeat(3);
        let archive = "<li><a href='/2011/05/'>Mai 2011</a> (12)</li>".repeat(40);
        let html = format!(
            r#"<html><body><div class="sidebar"><ul>{archive}</ul></div>
            <div class="widget Blog" id="Blog1"><div class="post"><h3>Privacy</h3>
            <abbr class="published" title="2018-06-05T08:00:00-07:00">08:00</abbr>
            <div class="post-body entry-content"><p>{post}</p></div></div></div>
            <div class="widget"><span class="date">1 May 2011</span></div></body></html>"#
        );
        let e = crate::extract::extract_html(&html, "https://example.org/privacy");
        assert_eq!(e.published, d(2018, 6, 5));
    }

    #[test]
    fn utc_timestamps() {
        assert!(is_utc_timestamp("2018-12-31T23:11:59+00:00"));
        assert!(is_utc_timestamp("2020-02-25T02:25:54Z"));
        assert!(is_utc_timestamp("Mon, 31 Dec 2018 23:11:59 +0000"));
        assert!(is_utc_timestamp("Mon, 31 Dec 2018 23:11:59 GMT"));
        assert!(!is_utc_timestamp("2018-12-31T13:43:46-05:00"));
        assert!(!is_utc_timestamp("2018-12-31"));
        // A weekday's "T" is no time: this one is local.
        assert!(!is_utc_timestamp("Tue, 01 Jan 2019 00:11:59 +0100"));
    }

    #[test]
    fn a_utc_timestamp_a_day_off_the_url_gives_way_to_it() {
        let page = |stamp: &str| {
            format!(
                r#"<html><head><meta property="article:published_time" content="{stamp}"></head>
                <body><article><h1>Ins neue Jahr</h1><p>The post itself, long enough to be the
                content of the page for this test, and more.</p></article></body></html>"#
            )
        };
        let url = "https://example.org/2019/01/01/ins-neue-jahr/";
        let e = crate::extract::extract_html(&page("2018-12-31T23:11:59+00:00"), url);
        assert_eq!(e.published, d(2019, 1, 1));
        // A local timestamp is the page's own day, whatever the URL says.
        let e = crate::extract::extract_html(&page("2018-12-31T13:43:46-05:00"), url);
        assert_eq!(e.published, d(2018, 12, 31));
        // Further apart, the head wins: the URL holds another date (a first version).
        let e = crate::extract::extract_html(&page("2018-12-29T10:00:00Z"), url);
        assert_eq!(e.published, d(2018, 12, 29));
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
                ..HeadMeta::default()
            };
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            choose_title(&head, h1, &lines);
        }
    }
}
