//! Excerpts: the passages of a set of pages that best answer an objective and queries,
//! within per-page and overall character budgets.
//!
//! Every page is cut into passages ([`extract::passages`]: whole blocks, long blocks split at
//! line, sentence or word ends, so no excerpt ends mid-word), and all passages of all pages
//! are ranked together by BM25 against the objective and the queries, so scores are
//! comparable across pages. Each page then takes its best passages while they fit its
//! budget (a passage that does not fit is skipped for a smaller one); a passage whose text
//! an earlier pick already holds, on this page or another, is skipped, so no text repeats
//! across results. The overall budget is then spent on the best-scoring picks of all pages.
//! Picks are returned in page order, so excerpts read as the page does.
//!
//! With no objective or query, or for a page none of whose passages shares a word with
//! them, a page's leading passages are its excerpts (ranked after every matching passage
//! when the overall budget is short).

use crate::extract::{self, Extracted};
use crate::pipeline::read::PASSAGE_CHARS;
use crate::rank;
use std::collections::HashSet;

/// One page's excerpts and how well its best passage matched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageExcerpts {
    pub excerpts: Vec<String>,
    /// The best BM25 score among the page's passages (0 when none matched).
    pub best_score: f32,
}

struct Pick {
    page: usize,
    order: usize,
    score: f32,
    chars: usize,
}

/// Chooses excerpts for `pages`; see the module documentation. `per_page` and `total` are
/// character budgets (`total` `None` for no overall cap).
pub fn select(
    pages: &[&Extracted],
    query: &str,
    per_page: usize,
    total: Option<usize>,
) -> Vec<PageExcerpts> {
    let passages: Vec<Vec<String>> = pages
        .iter()
        .map(|e| {
            extract::passages(e, PASSAGE_CHARS)
                .iter()
                .flat_map(|p| blocks(&p.text))
                .collect()
        })
        .collect();
    let flat: Vec<(usize, usize)> = passages
        .iter()
        .enumerate()
        .flat_map(|(page, list)| (0..list.len()).map(move |i| (page, i)))
        .collect();
    let texts: Vec<&str> = flat
        .iter()
        .map(|&(page, i)| passages[page][i].as_str())
        .collect();
    let mut scores: Vec<Vec<(usize, f32)>> = vec![Vec::new(); pages.len()];
    for (flat_index, score) in rank::rank(query, &texts) {
        let (page, i) = flat[flat_index];
        scores[page].push((i, score));
    }

    let mut seen: HashSet<String> = HashSet::new();
    let mut picks: Vec<Pick> = Vec::new();
    let mut best = vec![0.0f32; pages.len()];
    for (page, list) in passages.iter().enumerate() {
        // Matching passages best first, else the page from its start. Leading passages
        // score below any match, earlier ones higher.
        let order: Vec<(usize, f32)> = if scores[page].is_empty() {
            (0..list.len()).map(|i| (i, -(i as f32) - 1.0)).collect()
        } else {
            best[page] = scores[page][0].1;
            scores[page].clone()
        };
        let mut used = 0;
        for (i, score) in order {
            let text = &list[i];
            let chars = text.chars().count();
            if used + chars > per_page {
                continue;
            }
            if !seen.insert(dedup_key(text)) {
                continue;
            }
            used += chars;
            picks.push(Pick {
                page,
                order: i,
                score,
                chars,
            });
        }
    }

    if let Some(total) = total {
        picks.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut spent = 0;
        picks.retain(|p| {
            if spent + p.chars <= total {
                spent += p.chars;
                true
            } else {
                false
            }
        });
    }
    picks.sort_by_key(|p| (p.page, p.order));
    let mut out: Vec<PageExcerpts> = best
        .into_iter()
        .map(|best_score| PageExcerpts {
            excerpts: Vec::new(),
            best_score,
        })
        .collect();
    for pick in picks {
        out[pick.page]
            .excerpts
            .push(passages[pick.page][pick.order].clone());
    }
    out
}

/// The blocks of a passage: [`extract::passages`] merges short neighbouring blocks, which
/// suits ranking for synthesis, but an excerpt should be only the paragraphs that answer.
/// Blocks are separated by blank lines outside fenced code.
fn blocks(passage: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_code = false;
    for line in passage.split('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code = !in_code;
        }
        if line.trim().is_empty() && !in_code {
            if !current.trim().is_empty() {
                out.push(std::mem::take(&mut current));
            }
            current.clear();
            continue;
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(line);
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// Text compared for duplicates: words only, lower-cased.
fn dedup_key(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first `max_chars` characters of `text`, cut back to the last whitespace when the cut
/// would fall inside a word (a single word longer than `max_chars` is cut at a character
/// boundary, so the limit always holds), trailing whitespace trimmed.
pub fn cut_at_word(text: &str, max_chars: usize) -> &str {
    let Some((end, _)) = text.char_indices().nth(max_chars) else {
        return text;
    };
    let next_is_space = text[end..].starts_with(char::is_whitespace);
    let head = &text[..end];
    if next_is_space {
        return head.trim_end();
    }
    match head.rfind(char::is_whitespace) {
        Some(space) if !head[..space].trim().is_empty() => head[..space].trim_end(),
        _ => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(md: &str) -> Extracted {
        Extracted {
            title: None,
            published: None,
            authors: Vec::new(),
            markdown: md.to_owned(),
            text: md.to_owned(),
            links: Vec::new(),
        }
    }

    #[test]
    fn best_passages_in_page_order_within_budget() {
        let filler = "Nothing to see in this paragraph about weather and roads. ".repeat(8);
        let md = format!(
            "{filler}\n\nThe lighthouse was built in 1851 by the harbour board.\n\n{filler}x\n\nThe lighthouse keeper retired in 1902.\n\n{filler}y"
        );
        let e = page(&md);
        let got = select(&[&e], "when was the lighthouse built", 1000, None);
        assert_eq!(
            got[0].excerpts,
            vec![
                "The lighthouse was built in 1851 by the harbour board.",
                "The lighthouse keeper retired in 1902."
            ]
        );
        assert!(got[0].best_score > 0.0);
    }

    #[test]
    fn no_text_repeats_across_pages_and_total_cap_keeps_the_best() {
        let a =
            page("Shared boilerplate sentence about quokkas.\n\nQuokkas live on Rottnest Island.");
        let b = page(
            "Shared boilerplate sentence about quokkas.\n\nA quokka weighs about three kilograms.",
        );
        let got = select(&[&a, &b], "quokka island weight", 1000, None);
        let all: Vec<&String> = got.iter().flat_map(|p| &p.excerpts).collect();
        let unique: HashSet<&String> = all.iter().copied().collect();
        assert_eq!(all.len(), unique.len());
        assert_eq!(all.len(), 3);

        let capped = select(&[&a, &b], "rottnest island", 1000, Some(40));
        let kept: Vec<&String> = capped.iter().flat_map(|p| &p.excerpts).collect();
        assert_eq!(kept, vec!["Quokkas live on Rottnest Island."]);
    }

    #[test]
    fn without_a_query_the_page_start_is_the_excerpt() {
        let e = page("First paragraph.\n\nSecond paragraph.\n\nThird paragraph.");
        let got = select(&[&e], "", 1000, None);
        assert_eq!(
            got[0].excerpts,
            vec!["First paragraph.", "Second paragraph.", "Third paragraph."]
        );
        let got = select(&[&e], "", 35, None);
        assert_eq!(
            got[0].excerpts,
            vec!["First paragraph.", "Second paragraph."]
        );
    }

    #[test]
    fn cuts_fall_between_words() {
        assert_eq!(cut_at_word("alpha beta gamma", 100), "alpha beta gamma");
        assert_eq!(cut_at_word("alpha beta gamma", 10), "alpha beta");
        assert_eq!(cut_at_word("alpha beta gamma", 12), "alpha beta");
        assert_eq!(cut_at_word("alpha beta gamma", 11), "alpha beta");
        assert_eq!(cut_at_word("supercalifragilistic", 5), "super");
        assert_eq!(cut_at_word("été à Paris", 4), "été");
    }
}
