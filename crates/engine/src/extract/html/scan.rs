//! The walk over the cleaned tree, after boilerplate removal: the publish date the body
//! states, the main `<h1>`, bylines (removed once read), tables reshaped for the markdown
//! converter, and the structural candidate for the content ([`Fallback`]).

use chrono::NaiveDate;
use dom_query::NodeRef;
use dom_smoothie::Readability;

use super::content::headline_article;
use super::measure::{text_chars, unlinked_words, words_of};
use super::names::{
    is_meta_name, with_attrs, Attrs, AUTHOR_BOXES, BYLINES, CONTENT_CLASSES, CONTENT_IDS, DATES,
    UPDATES,
};
use crate::extract::markdown::collapse_ws;
use crate::extract::meta;

/// A table cell: its inner HTML, whether it is a `<th>`, its column span.
type Cell = (String, bool, usize);

/// Attribute marking the structural candidate, so it can be found again in the copy.
pub(super) const ROOT_MARK: &str = "data-parallax-root";

/// The fewest words of a structural candidate.
const CANDIDATE_MIN_WORDS: usize = 40;

/// The structural candidate for the main content.
pub(super) struct Fallback {
    /// Whether a candidate was marked (else the body is the candidate).
    pub(super) marked: bool,
    /// Its words.
    pub(super) words: usize,
    /// Whether it is a semantic container (`articleBody`, `article`, `main`).
    pub(super) semantic: bool,
}

/// What the scan after boilerplate removal finds.
pub(super) struct PostScan {
    pub(super) date: Option<NaiveDate>,
    pub(super) h1: Option<String>,
    pub(super) fallback: Fallback,
}

/// The elements of the cleaned tree each step of [`post_scan`] looks at, in document order
/// (an element may be in several lists).
#[derive(Default)]
struct BodyNodes<'a> {
    /// `[itemprop=datePublished]`: the publish date, stated for machines.
    itemprop_dates: Vec<NodeRef<'a>>,
    /// `<time datetime>`.
    times: Vec<NodeRef<'a>>,
    /// Elements whose class or id names a date (and not the date of an update), whose short
    /// text may state it.
    date_hinted: Vec<NodeRef<'a>>,
    /// Bylines and post metadata lines (author, date, reading time) and author boxes.
    bylines: Vec<NodeRef<'a>>,
    /// `<h1>`s.
    h1s: Vec<NodeRef<'a>>,
    /// `[itemprop=articleBody]`.
    article_bodies: Vec<NodeRef<'a>>,
    /// `<article>`s.
    articles: Vec<NodeRef<'a>>,
    /// `<main>` and `[role=main]`.
    mains: Vec<NodeRef<'a>>,
    /// Elements with a usual content id or class ([`CONTENT_IDS`], [`CONTENT_CLASSES`]).
    containers: Vec<NodeRef<'a>>,
    /// `<table>`s.
    tables: Vec<NodeRef<'a>>,
}

impl<'a> BodyNodes<'a> {
    /// Puts an element in the lists it belongs to, from its tag and attributes.
    fn sort(&mut self, node: NodeRef<'a>, tag: &str, a: &Attrs) {
        let itemprop = a.itemprop.map(str::trim);
        if itemprop.is_some_and(|p| p.eq_ignore_ascii_case("datePublished")) {
            self.itemprop_dates.push(node);
        }
        if tag == "time" && a.datetime.is_some() {
            self.times.push(node);
        }
        if a.class_or_id_contains(&DATES) && !a.class_or_id_contains(&UPDATES) {
            self.date_hinted.push(node);
        }
        if !matches!(tag, "article" | "main" | "body" | "html")
            && (a.class_or_id_contains(&BYLINES)
                || [a.class, a.id].into_iter().flatten().any(is_meta_name)
                || a.rel.is_some_and(|r| r.eq_ignore_ascii_case("author")))
        {
            self.bylines.push(node);
        }
        if tag == "h1" {
            self.h1s.push(node);
        }
        if itemprop.is_some_and(|p| p.eq_ignore_ascii_case("articleBody")) {
            self.article_bodies.push(node);
        }
        if tag == "article" {
            self.articles.push(node);
        }
        if tag == "main" || a.role_is(&["main"]) {
            self.mains.push(node);
        }
        if a.id
            .is_some_and(|id| CONTENT_IDS.iter().any(|c| id.eq_ignore_ascii_case(c)))
            || a.class.is_some_and(|c| {
                c.split_ascii_whitespace()
                    .any(|t| CONTENT_CLASSES.iter().any(|x| t.eq_ignore_ascii_case(x)))
            })
        {
            self.containers.push(node);
        }
        if tag == "table" {
            self.tables.push(node);
        }
    }
}

/// One walk over the cleaned tree: the publish date stated in the body, the main `<h1>`,
/// bylines (removed after the date is read) and the structural candidate for the content
/// (marked with [`ROOT_MARK`]; when it dominates the page, the tree is confined to it).
///
/// The steps run in this order because each changes what the next sees: the date and the
/// headline are read before bylines (which may state the date) go, and the candidate is
/// weighed once bylines are gone and tables are reshaped.
pub(super) fn post_scan(r: &Readability) -> PostScan {
    let mut nodes = BodyNodes::default();
    for node in r.doc.root().descendants_it() {
        with_attrs(&node, |tag, a| nodes.sort(node, tag, a));
    }
    let date = body_date(&nodes);
    let h1 = main_heading(&nodes.h1s);
    remove_bylines(&nodes.bylines);
    for table in &nodes.tables {
        reshape_table(table);
    }
    let fallback = structural_candidate(r, &nodes);
    PostScan { date, h1, fallback }
}

/// The publish date the body states: `itemprop="datePublished"`, then a `<time>` marked as
/// the publication time, then any `<time>` that is not of an update, then a short date text
/// in an element named for dates.
fn body_date(nodes: &BodyNodes) -> Option<NaiveDate> {
    itemprop_date(&nodes.itemprop_dates)
        .or_else(|| time_date(&nodes.times))
        .or_else(|| hinted_date(&nodes.date_hinted))
}

/// The first `itemprop="datePublished"` that parses: its `datetime`, else its `content`,
/// else its text.
fn itemprop_date(nodes: &[NodeRef]) -> Option<NaiveDate> {
    nodes.iter().find_map(|node| {
        let v = node
            .attr("datetime")
            .or_else(|| node.attr("content"))
            .map(|t| t.to_string())
            .unwrap_or_else(|| node.text().to_string());
        meta::parse_date(&v)
    })
}

/// The date of the first `<time datetime>` marked as the publication time (`pubdate`, or a
/// class naming publication on it or near above it), else of the first one not named as
/// the time of an update.
fn time_date(times: &[NodeRef]) -> Option<NaiveDate> {
    let mut first = None;
    for node in times {
        let Some(d) = node.attr("datetime").and_then(|v| meta::parse_date(&v)) else {
            continue;
        };
        let marked = node.has_attr("pubdate")
            || node
                .ancestors_it(Some(4))
                .chain(std::iter::once(*node))
                .any(|a| {
                    a.attr("class").is_some_and(|c| {
                        let c = c.to_ascii_lowercase();
                        c.contains("publish")
                            || c.contains("posted")
                            || c.contains("byline")
                            || c.contains("pubdate")
                    })
                });
        if marked {
            return Some(d);
        }
        let modified = node.attr("class").is_some_and(|c| {
            let c = c.to_ascii_lowercase();
            c.contains("updat") || c.contains("modif")
        });
        if !modified {
            first = first.or(Some(d));
        }
    }
    first
}

/// The first date stated as the short text (at most 120 bytes, outside tables) of an
/// element named for dates.
fn hinted_date(hinted: &[NodeRef]) -> Option<NaiveDate> {
    for node in hinted {
        if node.parent().is_none() {
            continue;
        }
        let text = node.text();
        if text.len() > 120 || node.ancestors_it(None).any(|a| a.has_name("table")) {
            continue;
        }
        if let Some(d) = meta::parse_date(&text) {
            return Some(d);
        }
    }
    None
}

/// The main `<h1>`'s text, without permalink symbols: the first inside an `article` or
/// `main`, else the first with text. The title is chosen against it.
fn main_heading(h1s: &[NodeRef]) -> Option<String> {
    let mut h1 = None;
    for node in h1s {
        let text = collapse_ws(&node.text());
        // Without permalink symbols (`¶`, `#`).
        let text = text
            .trim_end_matches(|c: char| {
                !c.is_alphanumeric() && !matches!(c, '?' | '!' | '.' | ')' | '"' | '\'' | '’' | '”')
            })
            .to_string();
        if text.is_empty() {
            continue;
        }
        if node
            .ancestors_it(None)
            .any(|a| a.has_name("article") || a.has_name("main"))
        {
            return Some(text);
        }
        h1 = h1.or(Some(text));
    }
    h1
}

/// Removes bylines and post metadata lines once the date has been read from them: short
/// ones (at most 200 characters), and author boxes (at most 1500), unless they hold the
/// headline or (bylines) a paragraph of prose.
fn remove_bylines(bylines: &[NodeRef]) {
    for node in bylines {
        if node.parent().is_none() {
            continue;
        }
        let chars = text_chars(node);
        let author_box = chars <= 1500
            && with_attrs(node, |_tag, a| a.class_or_id_contains(&AUTHOR_BOXES)).unwrap_or(false);
        if (author_box || chars <= 200)
            && !node.descendants_it().any(|d| {
                d.has_name("h1") || (!author_box && d.has_name("p") && text_chars(&d) > 200)
            })
        {
            node.remove_from_parent();
        }
    }
}

/// Reshapes a table for the markdown converter: a data table into the one shape it renders
/// well (a header row, then rows all as wide as the widest, a column span written as empty
/// cells), a layout table (nested tables, `role="presentation"`, a cell of long block
/// content, one column, or one row without `<th>`) into plain blocks.
fn reshape_table(table: &NodeRef) {
    if table.parent().is_none() {
        return;
    }
    let nested = table.descendants_it().any(|d| d.has_name("table"));
    let presentational = table
        .attr("role")
        .is_some_and(|r| r.eq_ignore_ascii_case("presentation") || r.eq_ignore_ascii_case("none"));
    // Rows of cells: (is a header row, cells as (inner HTML, is th, colspan)).
    let mut grid: Vec<(bool, Vec<Cell>)> = Vec::new();
    let mut any_th = false;
    let mut big_block_cell = false;
    if !nested && !presentational {
        for row in table.descendants_it().filter(|d| d.has_name("tr")) {
            if !part_of(&row, table) {
                continue;
            }
            let in_thead = row.parent().is_some_and(|p| p.has_name("thead"));
            let mut cells = Vec::new();
            for cell in row.element_children() {
                let th = cell.has_name("th");
                if !th && !cell.has_name("td") {
                    continue;
                }
                any_th |= th;
                let span = cell
                    .attr("colspan")
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(1)
                    .clamp(1, 20);
                if text_chars(&cell) > 400
                    && cell.descendants_it().any(|d| {
                        [
                            "p",
                            "div",
                            "ul",
                            "ol",
                            "h1",
                            "h2",
                            "h3",
                            "h4",
                            "pre",
                            "blockquote",
                        ]
                        .iter()
                        .any(|t| d.has_name(t))
                    })
                {
                    big_block_cell = true;
                }
                cells.push((cell.inner_html().to_string(), th, span));
            }
            grid.push((in_thead, cells));
        }
    }
    let cols = grid
        .iter()
        .map(|(_, cells)| cells.iter().map(|c| c.2).sum::<usize>())
        .max()
        .unwrap_or(0);
    let layout =
        nested || presentational || big_block_cell || cols <= 1 || grid.len() <= 1 && !any_th;
    if layout {
        for d in table.descendants_it().collect::<Vec<_>>() {
            if ["thead", "tbody", "tfoot", "tr", "td", "th", "caption"]
                .iter()
                .any(|t| d.has_name(t))
                && part_of(&d, table)
            {
                d.rename("div");
            }
        }
        table.rename("div");
        return;
    }
    table.replace_with_html(data_table_html(table, &grid, cols));
}

/// Whether `d` is a part of `table` itself, not of a table nested in it.
fn part_of(d: &NodeRef, table: &NodeRef) -> bool {
    d.ancestors_it(None)
        .find(|a| a.has_name("table"))
        .is_some_and(|t| t.id == table.id)
}

/// The HTML of a data table in the shape [`reshape_table`] gives it: its caption, its
/// header row (the `<thead>` row, else a first row of `<th>`, else the first row) as
/// `<th>`s, then the other rows, each `cols` cells wide.
fn data_table_html(table: &NodeRef, grid: &[(bool, Vec<Cell>)], cols: usize) -> String {
    // The header: the `<thead>` row, else a first row of `<th>`, else the first row.
    let header_index = grid
        .iter()
        .position(|(in_thead, _)| *in_thead)
        .or_else(|| {
            grid.first()
                .filter(|(_, cells)| cells.iter().all(|c| c.1))
                .map(|_| 0)
        })
        .unwrap_or(0);
    let mut html = String::from("<table>");
    if let Some(caption) = table
        .element_children()
        .into_iter()
        .find(|c| c.has_name("caption"))
    {
        html.push_str("<caption>");
        html.push_str(&caption.inner_html());
        html.push_str("</caption>");
    }
    let push_row = |cells: &[Cell], tag: &str, html: &mut String| {
        html.push_str("<tr>");
        let mut n = 0;
        for (inner, _, span) in cells {
            for k in 0..*span {
                html.push('<');
                html.push_str(tag);
                html.push('>');
                if k == 0 {
                    html.push_str(inner);
                }
                html.push_str("</");
                html.push_str(tag);
                html.push('>');
                n += 1;
            }
        }
        for _ in n..cols {
            html.push_str(&format!("<{tag}></{tag}>"));
        }
        html.push_str("</tr>");
    };
    html.push_str("<thead>");
    push_row(&grid[header_index].1, "th", &mut html);
    html.push_str("</thead><tbody>");
    for (i, (_, cells)) in grid.iter().enumerate() {
        if i != header_index {
            push_row(cells, "td", &mut html);
        }
    }
    html.push_str("</tbody></table>");
    html
}

/// Finds and marks (with [`ROOT_MARK`]) the structural candidate for the content:
/// `[itemprop=articleBody]`, else the largest `<article>` (unless the page is a list of
/// articles), else `<main>` or `[role=main]`, else a usual content container holding at least
/// 30 % of the body's words. A semantic candidate (the first three) holding at least 60 % of
/// them confines the tree ([`confine_to`]). Without a candidate, the body is the fallback.
fn structural_candidate(r: &Readability, nodes: &BodyNodes) -> Fallback {
    let body_words = words_of(&r.doc.select_single("body").text());
    let chosen = first_with_words(&nodes.article_bodies)
        .map(|(node, w)| (node, w, true))
        .or_else(|| dominant_article(&nodes.articles).map(|(node, w)| (node, w, true)))
        .or_else(|| first_with_words(&nodes.mains).map(|(node, w)| (node, w, true)))
        .or_else(|| {
            nodes.containers.iter().find_map(|node| {
                let w = words_of(&node.text());
                (w >= CANDIDATE_MIN_WORDS && w * 10 >= body_words * 3).then_some((*node, w, false))
            })
        });
    match chosen {
        Some((node, words, semantic)) => {
            node.set_attr(ROOT_MARK, "1");
            if semantic && words * 10 >= body_words * 6 {
                confine_to(r, &node);
            }
            Fallback {
                marked: true,
                words,
                semantic,
            }
        }
        None => Fallback {
            marked: false,
            words: body_words,
            semantic: false,
        },
    }
}

/// The first node of at least [`CANDIDATE_MIN_WORDS`] words, with its words.
fn first_with_words<'a>(nodes: &[NodeRef<'a>]) -> Option<(NodeRef<'a>, usize)> {
    nodes.iter().find_map(|node| {
        let w = words_of(&node.text());
        (w >= CANDIDATE_MIN_WORDS).then_some((*node, w))
    })
}

/// The `<article>` with the most words outside links, with its words, when it has at least
/// [`CANDIDATE_MIN_WORDS`] of them and at least half of all the articles' together: one
/// article, or one that dominates a page of teasers.
fn dominant_article<'a>(articles: &[NodeRef<'a>]) -> Option<(NodeRef<'a>, usize)> {
    let mut best = None;
    let mut total = 0;
    for node in articles {
        // Weighed by the words outside links: an `<article>` of teaser links (a slider
        // of other stories) can outweigh the story in plain words.
        let w = unlinked_words(node);
        total += w;
        if best.is_none_or(|(_, bw, _)| w > bw) {
            best = Some((*node, w, words_of(&node.text())));
        }
    }
    let (node, w, all) = best?;
    (w >= CANDIDATE_MIN_WORDS && w * 2 >= total).then_some((node, all))
}

/// Confines the tree to the candidate `node`, so readability cannot wander into its
/// siblings (site footers, teaser lists), and to the headline's article before it (see
/// [`headline_article`]): the body keeps only those.
fn confine_to(r: &Readability, node: &NodeRef) {
    let body_sel = r.doc.select_single("body");
    if let Some(body) = body_sel.nodes().first() {
        let headline = headline_article(r, node);
        node.remove_from_parent();
        if let Some(h) = &headline {
            h.remove_from_parent();
        }
        body.remove_children();
        if let Some(h) = &headline {
            body.append_child(h);
        }
        body.append_child(node);
    }
}
