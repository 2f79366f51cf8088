//! The HTML pipeline: parse once, read metadata, remove boilerplate, let readability pick
//! the main content, check it against a structural fallback, convert to markdown.
//!
//! This module owns the order of the steps ([`extract`]) and the guards around them (pages
//! nested too deeply, pages whose text is only in `<noscript>`, the bare text of a page the
//! DOM pipeline cannot read); the steps themselves live in its submodules:
//! - [`names`]: the class and id vocabulary of boilerplate and content, and the attributes
//!   the walks read from an element;
//! - [`measure`]: text measures of nodes (characters, linked characters, words);
//! - [`boilerplate`]: boilerplate removal, before readability scores the tree;
//! - [`scan`]: the walk after it: the date the body states, the main `<h1>`, bylines,
//!   tables, and the structural candidate for the content;
//! - [`content`]: the structural candidate rendered, and the lead readability left out;
//! - [`links`]: the content's links, absolute and deduplicated.

use dom_smoothie::{Config, Readability};
use url::Url;

use super::markdown::{collapse_ws, drop_leading_dateline, html_to_markdown, markdown_to_text};
use super::meta;
use super::{authors, Extracted};

mod boilerplate;
mod content;
mod links;
mod measure;
mod names;
mod scan;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;

pub(super) use boilerplate::marks_main_content;
use boilerplate::remove_boilerplate;
use content::{leading_prose, render_fallback, Lead};
use links::{collect_links, markdown_destinations, normalize_url};
use measure::words_of;
use scan::post_scan;

/// Above this many elements readability is skipped (it is not linear on such pages) and the
/// structural fallback is used.
const MAX_READABILITY_ELEMENTS: usize = 40_000;

/// Above this element depth a page is treated as hostile: the recursive steps (readability's
/// scoring, the markdown converter) would take quadratic time or exhaust the stack, so only
/// the page's bare text is returned. Real pages stay far below it.
const MAX_DEPTH: usize = 256;

/// Above this nesting of container tags in the source (see [`estimated_depth`]) the page is
/// not even parsed.
const MAX_SOURCE_DEPTH: usize = 1000;

pub(super) fn extract(html: &str, url: &str) -> Extracted {
    let e = extract_parsed(html, url);
    // Pages whose text is only in `<noscript>` (scripts render it otherwise): the parser
    // keeps a noscript's content as raw text, so a page that yields almost nothing is read
    // again with its noscript tags dropped, their markup becoming part of the page.
    if words_of(&e.text) < NOSCRIPT_RETRY_WORDS {
        if let Some(unwrapped) = unwrap_noscript(html) {
            let again = extract_parsed(&unwrapped, url);
            // A real text, not a line or two of fallback notice.
            let w = words_of(&again.text);
            if w >= 3 * NOSCRIPT_RETRY_WORDS && w > words_of(&e.text) * 2 {
                return again;
            }
        }
    }
    e
}

/// Below this many words an extraction is retried with `<noscript>` content as markup.
const NOSCRIPT_RETRY_WORDS: usize = 50;

/// `html` without its `<noscript>` and `</noscript>` tags (their content kept), if the
/// noscript elements hold at least [`NOSCRIPT_MIN_CHARS`] of content.
fn unwrap_noscript(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut inside = 0usize;
    let mut last = 0;
    let mut opened_at = None;
    let mut pos = 0;
    while let Some(i) = lower[pos..].find("noscript").map(|i| i + pos) {
        pos = i + "noscript".len();
        let start = if lower[..i].ends_with("</") {
            i - 2
        } else if lower[..i].ends_with('<') {
            i - 1
        } else {
            continue;
        };
        let Some(end) = lower[pos..].find('>').map(|e| e + pos + 1) else {
            break;
        };
        if html.as_bytes()[start + 1] == b'/' {
            if let Some(o) = opened_at.take() {
                inside += start.saturating_sub(o);
            }
        } else {
            opened_at = Some(end);
        }
        out.push_str(&html[last..start]);
        last = end;
        pos = end;
    }
    if last == 0 || inside < NOSCRIPT_MIN_CHARS {
        return None;
    }
    out.push_str(&html[last..]);
    Some(out)
}

/// Content inside `<noscript>` worth reading as markup (a tracking pixel is not).
const NOSCRIPT_MIN_CHARS: usize = 1000;

fn extract_parsed(html: &str, url: &str) -> Extracted {
    let base = Url::parse(url).ok();
    let doc_url = base
        .as_ref()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.as_str().to_owned());

    if estimated_depth(html) > MAX_SOURCE_DEPTH {
        // Parsing itself is quadratic in the nesting depth: do not even build the tree.
        tracing::debug!(url, "page nested too deeply; returning its bare text");
        return bare_page(html, url);
    }
    let mut r = Readability::from(html);
    r.doc_url = doc_url;
    r.config = Config {
        // Classes carry code languages (`language-rust`) to the markdown.
        keep_classes: true,
        max_elements_to_parse: MAX_READABILITY_ELEMENTS,
        ..Config::default()
    };

    let head = meta::read_head(&r);
    // Before boilerplate removal: templates often state the author in a footer line.
    let authors = authors::read_authors(&r, &head, url);
    // Only looked for when the head states no date (the head's date always wins).
    // Looked for only when neither the head nor the URL states the date (they win).
    let url_date = meta::date_from_url(url);
    let undated = head.published.is_none() && url_date.is_none();
    let template_date = if undated {
        meta::date_near_heading(&r).or_else(|| meta::date_in_marked_element(&r))
    } else {
        None
    };
    let page_date = if undated && template_date.is_none() {
        meta::first_date_in_page(&r)
    } else {
        None
    };
    if tree_depth(&r) > MAX_DEPTH {
        tracing::debug!(url, "page nested too deeply; returning its bare text");
        let text = bare_text(html);
        return Extracted {
            title: meta::choose_title(&head, None, &[]),
            published: head.published.or_else(|| meta::date_from_url(url)),
            authors,
            markdown: text.clone(),
            text,
            links: Vec::new(),
        };
    }
    remove_boilerplate(&r);
    let scan = post_scan(&r);
    let fallback = &scan.fallback;

    // The copy the fallback is rendered from, if readability's answer is not kept.
    let backup = Readability {
        doc: r.doc.clone(),
        doc_url: None,
        config: Config::default(),
    };

    let article = match r.parse() {
        Ok(a) => Some(a),
        Err(e) => {
            tracing::debug!(error = %e, url, "readability found no article");
            None
        }
    };
    let readability_words = article.as_ref().map_or(0, |a| words_of(&a.text_content));
    // Whether a fallback of `fb` words should replace readability's answer.
    let prefer = |fb: usize| {
        article.is_none()
            || (readability_words < 25 && fb > readability_words * 2)
            || (fallback.semantic && readability_words * 2 < fb)
            || (!fallback.semantic && readability_words * 5 < fb && fb >= 150)
    };
    // The candidate's words decide whether to render it; what it keeps once rendered (its
    // link lists pruned) decides whether to use it, so that a page of menus around a short
    // article does not win by the text of its links.
    let rendered = if prefer(fallback.words) {
        let (html, links, words) = render_fallback(&backup, fallback, base.as_ref());
        prefer(words).then_some((html, links))
    } else {
        None
    };
    tracing::trace!(
        readability_words,
        fallback_words = fallback.words,
        use_fallback = rendered.is_some(),
        "main content chosen"
    );

    let (content_html, links) = if let Some(r) = rendered {
        r
    } else {
        let lead = article.as_ref().map_or_else(Lead::default, |a| {
            leading_prose(&backup, fallback, &a.text_content, base.as_ref())
        });
        let a = article
            .as_ref()
            .map(|a| format!("{}{}", lead.html, a.content))
            .unwrap_or_default();
        // The lead's links, then readability's (one list: a URL is listed once).
        let anchors = r.doc.select("#readability-page-1 a[href]");
        let links = collect_links(
            lead.anchors.into_iter().chain(
                anchors
                    .nodes()
                    .iter()
                    .map(|n| (n.attr("href").map(|h| h.to_string()), n.text().to_string())),
            ),
            base.as_ref(),
        );
        (a, links)
    };

    let markdown = html_to_markdown(&content_html);
    let text = markdown_to_text(&markdown);
    // Only the links the markdown kept (reference sections, for one, are dropped there).
    let kept = markdown_destinations(&markdown);
    let mut links = links;
    links.retain(|l| kept.contains(&normalize_url(&l.url)));
    let first_lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(12)
        .collect();
    let title = meta::choose_title(&head, scan.h1, &first_lines);
    let published = meta::head_or_url_date(&head, url_date)
        .or(scan.date)
        .or(template_date)
        .or_else(|| meta::date_from_lines(&first_lines))
        .or(page_date);
    // The dateline, once read, is not content.
    let (markdown, text) = match drop_leading_dateline(&markdown) {
        Some(md) => {
            let text = markdown_to_text(&md);
            (md, text)
        }
        None => (markdown, text),
    };
    Extracted {
        title,
        published,
        authors,
        markdown,
        text,
        links,
    }
}

/// An upper estimate of the nesting of container tags in the source, from a scan of its
/// tags (`div`, `span`, `section`, lists, tables, …; tags that close implicitly, like `p`
/// and `li`, are not counted; scripts and styles are skipped).
fn estimated_depth(html: &str) -> usize {
    const COUNTED: &[&[u8]] = &[
        b"div",
        b"span",
        b"section",
        b"article",
        b"main",
        b"aside",
        b"nav",
        b"ul",
        b"ol",
        b"dl",
        b"table",
        b"blockquote",
        b"header",
        b"footer",
        b"form",
        b"font",
        b"center",
        b"b",
        b"i",
        b"em",
        b"strong",
        b"a",
    ];
    let b = html.as_bytes();
    let lower = |c: u8| c.to_ascii_lowercase();
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut i = 0;
    while let Some(p) = b[i..].iter().position(|&c| c == b'<') {
        i += p + 1;
        let closing = b.get(i) == Some(&b'/');
        let start = if closing { i + 1 } else { i };
        let end = start
            + b[start..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
        if end == start {
            continue;
        }
        let name: Vec<u8> = b[start..end].iter().map(|&c| lower(c)).collect();
        if !closing && (name == b"script" || name == b"style" || name == b"textarea") {
            // Skip to the closing tag.
            let close = [b"</".as_slice(), &name].concat();
            let rest = &b[end..];
            match rest
                .windows(close.len())
                .position(|w| w.iter().map(|&c| lower(c)).eq(close.iter().copied()))
            {
                Some(q) => i = end + q + close.len(),
                None => break,
            }
            continue;
        }
        if !COUNTED.contains(&name.as_slice()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            let tag_end = b[end..]
                .iter()
                .position(|&c| c == b'>')
                .map_or(b.len(), |q| end + q);
            if tag_end > 0 && b.get(tag_end - 1) == Some(&b'/') {
                continue;
            }
            depth += 1;
            max = max.max(depth);
        }
        i = end;
    }
    max
}

/// The depth of the element tree, walked without recursion.
fn tree_depth(r: &Readability) -> usize {
    let root = r.doc.root();
    let mut max = 0;
    let mut depth = 1;
    let mut next = root.first_child();
    while let Some(n) = next {
        max = max.max(depth);
        if let Some(c) = n.first_child() {
            next = Some(c);
            depth += 1;
            continue;
        }
        let mut cur = n;
        next = None;
        loop {
            if let Some(s) = cur.next_sibling() {
                next = Some(s);
                break;
            }
            match cur.parent() {
                Some(p) if p.id != root.id => {
                    cur = p;
                    depth -= 1;
                }
                _ => break,
            }
        }
    }
    max
}

/// The text of a page with its tags stripped (scripts and styles dropped, a few entities
/// decoded, whitespace collapsed): the last resort when the DOM pipeline fails.
/// The page as its bare text, when it cannot be parsed (or safely walked): no title, no
/// authors, a date only from the URL.
pub(super) fn bare_page(html: &str, url: &str) -> Extracted {
    let text = bare_text(html);
    Extracted {
        title: None,
        published: meta::date_from_url(url),
        authors: Vec::new(),
        markdown: text.clone(),
        text,
        links: Vec::new(),
    }
}

pub(super) fn bare_text(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let b = html.as_bytes();
    let mut out = String::with_capacity(html.len() / 2);
    let mut i = 0;
    'outer: while i < b.len() {
        if b[i] == b'<' {
            for tag in ["script", "style", "noscript", "template", "head"] {
                if lower[i + 1..].starts_with(tag) {
                    match lower[i..].find(&format!("</{tag}")) {
                        Some(end) => i += end + 2,
                        None => break 'outer,
                    }
                    break;
                }
            }
            match html[i..].find('>') {
                Some(e) => {
                    i += e + 1;
                    out.push(' ');
                }
                None => break,
            }
        } else {
            let next = html[i..].find('<').map_or(b.len(), |p| i + p);
            out.push_str(&html[i..next]);
            i = next;
        }
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    collapse_ws(&decoded)
}
