//! The content when readability's answer is not used, or not whole: the structural
//! candidate rendered with its link-dense blocks pruned, and the lead prose readability
//! left out of its answer.

use dom_query::NodeRef;
use dom_smoothie::Readability;
use url::Url;

use super::links::{absolutize_hrefs, collect_links};
use super::measure::{chars_of, linked_chars, text_chars, words_of};
use super::scan::{Fallback, ROOT_MARK};
use crate::extract::markdown::collapse_ws;
use crate::extract::Link;

/// Renders the structural candidate of the copy `b`: link-dense blocks pruned, links made
/// absolute. Returns its HTML, its links and its words.
pub(super) fn render_fallback(
    b: &Readability,
    fallback: &Fallback,
    base: Option<&Url>,
) -> (String, Vec<Link>, usize) {
    let doc = &b.doc;
    let sel = if fallback.marked {
        doc.select(&format!("[{ROOT_MARK}]"))
    } else {
        doc.select_single("body")
    };
    let Some(root) = sel.nodes().first() else {
        return (String::new(), Vec::new(), 0);
    };
    // Prune blocks that are mostly links: menus, tag clouds, link lists.
    let blocks: Vec<_> = root
        .descendants_it()
        .filter(|n| {
            n.has_name("ul")
                || n.has_name("ol")
                || n.has_name("div")
                || n.has_name("section")
                || n.has_name("p")
                || n.has_name("dl")
        })
        .collect();
    for block in blocks {
        if block.parent().is_none() {
            continue;
        }
        let total = text_chars(&block);
        if total == 0 {
            if !block
                .descendants_it()
                .any(|d| d.has_name("pre") || d.has_name("table"))
            {
                block.remove_from_parent();
            }
            continue;
        }
        if total > 3000 {
            continue;
        }
        let mut links = 0usize;
        let mut link_chars = 0usize;
        for d in block.descendants_it() {
            if d.has_name("a") {
                links += 1;
                link_chars += text_chars(&d);
            }
        }
        if links >= 2 && link_chars * 10 > total * 6 {
            block.remove_from_parent();
        }
    }
    let anchors: Vec<_> = root.descendants_it().filter(|d| d.has_name("a")).collect();
    let links = collect_links(
        anchors
            .iter()
            .map(|a| (a.attr("href").map(|h| h.to_string()), a.text().to_string())),
        base,
    );
    // Make hrefs absolute in the tree so the markdown carries them.
    if let Some(base) = base {
        absolutize_hrefs(&anchors, base);
    }
    (root.html().to_string(), links, words_of(&root.text()))
}

/// The shortest block of prose [`leading_prose`] brings back, in non-whitespace characters.
const LEAD_MIN_CHARS: usize = 80;

/// At most this many leading blocks are brought back: a standfirst is one or two
/// paragraphs, and more would mean the kept content starts far down the container.
const LEAD_MAX_BLOCKS: usize = 3;

/// The fewest characters of a block that is not prose whose presence in readability's answer
/// ends the lead (see [`leading_prose`]): shorter texts match anywhere.
const LEAD_PROBE_MIN_CHARS: usize = 25;

/// The prose that opens the semantic container (`article`, `main`, `articleBody`) marked in
/// the copy `b` before the first block readability kept, as HTML to put before its answer;
/// the prose of the headline's own article above it (see [`headline_article`]) comes first.
///
/// Readability scores blocks, then keeps the best one and those of its siblings that score
/// well; a standfirst or lead paragraph in the article's `<header>` (or a heading module
/// beside the body) sits in a sibling that scores low and is lost, although it is the
/// first paragraph a reader reads. Only text blocks of sentence length and few links are
/// brought back (headlines, bylines, captions and teaser links are not), only when the
/// container holds readability's answer (its first kept block is found in it), and only those
/// before that block.
///
/// Its links are made absolute against `base`, as readability makes those of its answer.
pub(super) fn leading_prose(
    b: &Readability,
    fallback: &Fallback,
    kept_text: &str,
    base: Option<&Url>,
) -> Lead {
    if !fallback.marked || !fallback.semantic {
        return Lead::default();
    }
    let sel = b.doc.select(&format!("[{ROOT_MARK}]"));
    let Some(root) = sel.nodes().first() else {
        return Lead::default();
    };
    let kept = collapse_ws(kept_text);
    let mut lead = Lead::default();
    let mut blocks_taken = 0;
    // Collected first: links are rewritten in the loop, and the tree cannot change while
    // it is walked. The headline's own article, if it stands apart, comes first.
    let headline = headline_article(b, root);
    let blocks: Vec<_> = headline
        .iter()
        .map(|h| (h, true))
        .chain(std::iter::once((root, false)))
        .flat_map(|(c, in_headline)| {
            c.descendants_it()
                .filter(|n| n.is_element() && (is_text_block(n) || is_label_table(n)))
                .map(move |n| (n, in_headline))
        })
        .collect();
    let mut table_taken = false;
    for (node, in_headline) in blocks {
        let text = collapse_ws(&node.text());
        if text.is_empty() {
            continue;
        }
        // A table of labels and values opening the article (an infobox, a fact box) is
        // part of it: "Headquarters | Brastmoor" is what a reader looks up first.
        if node.has_name("table") {
            let probe: String = text.chars().take(60).collect();
            if kept.contains(probe.as_str()) {
                return lead;
            }
            if !table_taken && is_label_table(&node) {
                table_taken = true;
                lead.html.push_str(&node.html());
            }
            continue;
        }
        let prose = is_lead_prose(&node, &text);
        // The first block readability kept ends the lead; a prefix is compared because
        // readability and the markdown may differ in what they keep of a block's end. A short
        // label (a kicker, "Kredit") is found anywhere in the answer, so it does not end the
        // lead; in the headline's article, nothing but prose does (the headline may be kept).
        let probe: String = text.chars().take(60).collect();
        let ends = prose || (!in_headline && probe.chars().count() >= LEAD_PROBE_MIN_CHARS);
        if ends && kept.contains(probe.as_str()) {
            return lead;
        }
        if blocks_taken < LEAD_MAX_BLOCKS && prose {
            blocks_taken += 1;
            let anchors: Vec<_> = node.descendants_it().filter(|d| d.has_name("a")).collect();
            if let Some(base) = base {
                absolutize_hrefs(&anchors, base);
            }
            lead.anchors.extend(
                anchors
                    .iter()
                    .map(|a| (a.attr("href").map(|h| h.to_string()), a.text().to_string())),
            );
            lead.html.push_str(&node.html());
        }
    }
    // Readability's answer is not in this container: nothing to add to it.
    Lead::default()
}

/// An `<article>` before `root` and outside it that holds an `<h1>`: CMS templates that set
/// the headline and its standfirst in an article of their own, above the body's. Its prose
/// opens the content as much as that at the top of `root` does.
pub(super) fn headline_article<'a>(b: &'a Readability, root: &NodeRef<'a>) -> Option<NodeRef<'a>> {
    for n in b.doc.root().descendants_it() {
        if n.id == root.id {
            return None;
        }
        if n.has_name("article")
            && !root.ancestors_it(None).any(|a| a.id == n.id)
            && n.descendants_it().any(|d| d.has_name("h1"))
        {
            return Some(n);
        }
    }
    None
}

/// What [`leading_prose`] brings back: its HTML, and its anchors as `(href, text)`.
#[derive(Default)]
pub(super) struct Lead {
    pub(super) html: String,
    pub(super) anchors: Vec<(Option<String>, String)>,
}

/// Whether an element is a block of text in its own right: a paragraph, a heading below
/// the headline, or a `div`/`span` with text and no block inside.
fn is_text_block(node: &NodeRef) -> bool {
    const LEAVES: &[&str] = &["p", "h2", "h3", "h4", "h5", "h6"];
    const BLOCKS: &[&str] = &[
        "p",
        "div",
        "section",
        "ul",
        "ol",
        "table",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "figure",
        "blockquote",
        "header",
        "article",
    ];
    if LEAVES.iter().any(|t| node.has_name(t)) {
        return true;
    }
    (node.has_name("div") || node.has_name("span"))
        && !node
            .descendants_it()
            .any(|d| BLOCKS.iter().any(|t| d.has_name(t)))
}

/// Rows a table of labels needs (fewer is a layout fragment, not a fact box).
const LABEL_TABLE_MIN_ROWS: usize = 3;

/// Whether `node` is a table of labels and values: two columns, at least
/// [`LABEL_TABLE_MIN_ROWS`] rows, short cells, no links making up most of its text.
fn is_label_table(node: &NodeRef) -> bool {
    if !node.has_name("table") {
        return false;
    }
    let rows: Vec<_> = node.descendants_it().filter(|d| d.has_name("tr")).collect();
    let two_columns = rows.iter().all(|r| {
        r.element_children()
            .iter()
            .filter(|c| c.has_name("td") || c.has_name("th"))
            .count()
            == 2
    });
    let text = node.text();
    let chars = chars_of(&text);
    rows.len() >= LABEL_TABLE_MIN_ROWS
        && two_columns
        && chars <= 1500
        && linked_chars(node) * 2 <= chars
}

/// Whether a text block reads as a lead: a sentence-length text outside captions, lists,
/// tables and forms, with few of its characters in links.
fn is_lead_prose(node: &NodeRef, text: &str) -> bool {
    let chars = chars_of(text);
    if chars < LEAD_MIN_CHARS {
        return false;
    }
    if linked_chars(node) * 4 > chars {
        return false;
    }
    // A heading or a bare `div` must read as a sentence (a standfirst does; a breadcrumb
    // trail ending in the headline, or a second headline, does not).
    let sentence = text
        .trim_end_matches(['"', '\'', '»', '«', '”', '“', ')', ' '])
        .ends_with(['.', '!', '?', '…', '。', '！', '？']);
    if !node.has_name("p") && !sentence {
        return false;
    }
    !node.ancestors_it(None).any(|a| {
        [
            "figure",
            "figcaption",
            "li",
            "td",
            "th",
            "form",
            "aside",
            "nav",
            "footer",
        ]
        .iter()
        .any(|t| a.has_name(t))
    })
}
