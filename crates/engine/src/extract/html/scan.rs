//! The walk over the cleaned tree, after boilerplate removal: the publish date the body
//! states, the main `<h1>`, bylines (removed once read), tables reshaped for the markdown
//! converter, and the structural candidate for the content ([`Fallback`]).

use dom_smoothie::Readability;

use super::content::headline_article;
use super::measure::{unlinked_words, words_of};
use super::names::{
    is_meta_name, Attrs, AUTHOR_BOXES, BYLINES, CONTENT_CLASSES, CONTENT_IDS, DATES, UPDATES,
};
use crate::extract::markdown::collapse_ws;
use crate::extract::meta;

/// A table cell: its inner HTML, whether it is a `<th>`, its column span.
pub(super) type Cell = (String, bool, usize);

/// Attribute marking the structural candidate, so it can be found again in the copy.
pub(super) const ROOT_MARK: &str = "data-parallax-root";

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
    pub(super) date: Option<chrono::NaiveDate>,
    pub(super) h1: Option<String>,
    pub(super) fallback: Fallback,
}

/// One walk over the cleaned tree: the publish date stated in the body, the main `<h1>`,
/// bylines (removed after the date is read) and the structural candidate for the content
/// (marked with [`ROOT_MARK`]; when it dominates the page, the tree is confined to it).
pub(super) fn post_scan(r: &Readability) -> PostScan {
    let doc = &r.doc;
    let mut itemprop_dates = Vec::new();
    let mut times = Vec::new();
    let mut hinted = Vec::new();
    let mut bylines = Vec::new();
    let mut h1s = Vec::new();
    let mut bodies = Vec::new();
    let mut articles = Vec::new();
    let mut mains = Vec::new();
    let mut containers = Vec::new();
    let mut tables = Vec::new();
    for node in doc.root().descendants_it() {
        let Some(kinds) = with_attrs!(node, |tag, a| {
            let itemprop = a.itemprop.map(str::trim);
            let mut k = [false; 10];
            k[0] = itemprop.is_some_and(|p| p.eq_ignore_ascii_case("datePublished"));
            k[1] = tag == "time" && a.datetime.is_some();
            k[2] = a.class_or_id_contains(&DATES) && !a.class_or_id_contains(&UPDATES);
            k[3] = !matches!(tag, "article" | "main" | "body" | "html")
                && (a.class_or_id_contains(&BYLINES)
                    || [a.class, a.id].into_iter().flatten().any(is_meta_name)
                    || a.rel.is_some_and(|r| r.eq_ignore_ascii_case("author")));
            k[4] = tag == "h1";
            k[5] = itemprop.is_some_and(|p| p.eq_ignore_ascii_case("articleBody"));
            k[6] = tag == "article";
            k[7] = tag == "main" || a.role_is(&["main"]);
            k[8] =
                a.id.is_some_and(|id| CONTENT_IDS.iter().any(|c| id.eq_ignore_ascii_case(c)))
                    || a.class.is_some_and(|c| {
                        c.split_ascii_whitespace()
                            .any(|t| CONTENT_CLASSES.iter().any(|x| t.eq_ignore_ascii_case(x)))
                    });
            k[9] = tag == "table";
            k
        }) else {
            continue;
        };
        for (i, list) in [
            &mut itemprop_dates,
            &mut times,
            &mut hinted,
            &mut bylines,
            &mut h1s,
            &mut bodies,
            &mut articles,
            &mut mains,
            &mut containers,
            &mut tables,
        ]
        .into_iter()
        .enumerate()
        {
            if kinds[i] {
                list.push(node);
            }
        }
    }

    // The date: itemprop, then a marked <time>, then any <time>, then a date-like text.
    let mut date = None;
    for node in &itemprop_dates {
        let v = node
            .attr("datetime")
            .or_else(|| node.attr("content"))
            .map(|t| t.to_string())
            .unwrap_or_else(|| node.text().to_string());
        if let Some(d) = meta::parse_date(&v) {
            date = Some(d);
            break;
        }
    }
    if date.is_none() {
        let mut first = None;
        for node in &times {
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
                date = Some(d);
                break;
            }
            let modified = node.attr("class").is_some_and(|c| {
                let c = c.to_ascii_lowercase();
                c.contains("updat") || c.contains("modif")
            });
            if !modified {
                first = first.or(Some(d));
            }
        }
        date = date.or(first);
    }
    if date.is_none() {
        for node in &hinted {
            if node.parent().is_none() {
                continue;
            }
            let text = node.text();
            if text.len() > 120 || node.ancestors_it(None).any(|a| a.has_name("table")) {
                continue;
            }
            if let Some(d) = meta::parse_date(&text) {
                date = Some(d);
                break;
            }
        }
    }

    let mut h1 = None;
    for node in &h1s {
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
            h1 = Some(text);
            break;
        }
        h1 = h1.or(Some(text));
    }

    for node in bylines {
        if node.parent().is_none() {
            continue;
        }
        let chars = text_chars!(node);
        let author_box = chars <= 1500
            && with_attrs!(node, |_tag, a| a.class_or_id_contains(&AUTHOR_BOXES)).unwrap_or(false);
        if (author_box || chars <= 200)
            && !node.descendants_it().any(|d| {
                d.has_name("h1") || (!author_box && d.has_name("p") && text_chars!(d) > 200)
            })
        {
            node.remove_from_parent();
        }
    }

    // Tables: data tables into the one shape the markdown converter renders well, layout
    // tables into plain blocks.
    for table in tables {
        if table.parent().is_none() {
            continue;
        }
        // The parts of this table, not of a table nested in it.
        macro_rules! own {
            ($d:expr) => {
                $d.ancestors_it(None)
                    .find(|a| a.has_name("table"))
                    .is_some_and(|t| t.id == table.id)
            };
        }
        let nested = table.descendants_it().any(|d| d.has_name("table"));
        let presentational = table.attr("role").is_some_and(|r| {
            r.eq_ignore_ascii_case("presentation") || r.eq_ignore_ascii_case("none")
        });
        // Rows of cells: (is a header row, cells as (inner HTML, is th, colspan)).
        let mut grid: Vec<(bool, Vec<Cell>)> = Vec::new();
        let mut any_th = false;
        let mut big_block_cell = false;
        if !nested && !presentational {
            for row in table.descendants_it().filter(|d| d.has_name("tr")) {
                if !own!(row) {
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
                    if text_chars!(cell) > 400
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
                    && own!(d)
                {
                    d.rename("div");
                }
            }
            table.rename("div");
            continue;
        }
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
        table.replace_with_html(html);
    }

    // The structural candidate.
    let body_words = words_of(&doc.select_single("body").text());
    let min_words = 40;
    let mut chosen = None;
    for node in &bodies {
        let w = words_of(&node.text());
        if w >= min_words {
            chosen = Some((*node, w, true));
            break;
        }
    }
    if chosen.is_none() {
        let mut best = None;
        let mut total = 0;
        for node in &articles {
            // Weighed by the words outside links: an `<article>` of teaser links (a slider
            // of other stories) can outweigh the story in plain words.
            let w = unlinked_words(node);
            total += w;
            if best.is_none_or(|(_, bw, _)| w > bw) {
                best = Some((*node, w, words_of(&node.text())));
            }
        }
        if let Some((node, w, all)) = best {
            // One article, or one that dominates a page of teasers.
            if w >= min_words && w * 2 >= total {
                chosen = Some((node, all, true));
            }
        }
    }
    if chosen.is_none() {
        for node in &mains {
            let w = words_of(&node.text());
            if w >= min_words {
                chosen = Some((*node, w, true));
                break;
            }
        }
    }
    if chosen.is_none() {
        for node in &containers {
            let w = words_of(&node.text());
            if w >= min_words && w * 10 >= body_words * 3 {
                chosen = Some((*node, w, false));
                break;
            }
        }
    }
    let fallback = match chosen {
        Some((node, words, semantic)) => {
            node.set_attr(ROOT_MARK, "1");
            if semantic && words * 10 >= body_words * 6 {
                // Confine the tree to it, so readability cannot wander into its siblings
                // (site footers, teaser lists), and to the headline's article before it.
                let body_sel = doc.select_single("body");
                if let Some(body) = body_sel.nodes().first() {
                    let headline = headline_article(r, &node);
                    node.remove_from_parent();
                    if let Some(h) = &headline {
                        h.remove_from_parent();
                    }
                    body.remove_children();
                    if let Some(h) = &headline {
                        body.append_child(h);
                    }
                    body.append_child(&node);
                }
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
    };
    PostScan { date, h1, fallback }
}
