//! The items of the pages a monitor reads: each paragraph, list item or table row of a page's
//! passages, with whether it is about the monitor's query.
//!
//! Passages ([`crate::extract::passages`]) merge short paragraphs to fill a ranking window; a
//! monitor compares smaller pieces, because a news item added to a page must be new on its
//! own, not make the paragraph it was merged with new too.

use crate::pipeline::Source;
use crate::rank::{stem, tokens};
use std::collections::BTreeSet;

/// Fewest words of an item: shorter text (a heading, a "Visitors: 1,204" counter, a date
/// line, a button) states no finding.
pub const MIN_WORDS: usize = 8;

/// Words that say what kind of thing a monitor wants ("latest news about …"), not what it is
/// about: an item does not have to state them to be relevant.
const MONITOR_WORDS: &[&str] = &[
    "latest",
    "news",
    "new",
    "recent",
    "recently",
    "update",
    "updates",
    "updated",
    "announcement",
    "announcements",
    "announced",
    "today",
    "current",
    "currently",
    "about",
    "any",
    "information",
    "info",
    "developments",
    "development",
    "changes",
    "report",
    "reports",
];

/// One item of a page.
#[derive(Debug, Clone)]
pub struct Item {
    /// Index of its page among the sources read.
    pub source: usize,
    /// The item as the page writes it (markdown, a list marker dropped), trimmed.
    pub text: String,
    /// The heading it stands under.
    pub heading: Option<String>,
}

/// The items of a passage: its paragraphs; for a list or a table, each item or row.
pub fn split(passage: &str) -> Vec<String> {
    let mut out = Vec::new();
    for block in passage.split("\n\n") {
        let lines: Vec<&str> = block
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if lines.is_empty() {
            continue;
        }
        if lines.len() > 1 && lines.iter().all(|l| list_item(l).is_some()) {
            out.extend(lines.iter().filter_map(|l| list_item(l)).map(str::to_owned));
        } else if lines.len() > 1 && lines.iter().all(|l| l.starts_with('|')) {
            // Rows without the header and the delimiter row: each row is one record.
            out.extend(
                lines
                    .iter()
                    .skip(1)
                    .filter(|l| !l.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ')))
                    .map(|l| (*l).to_owned()),
            );
        } else {
            out.push(lines.join(" "));
        }
    }
    out
}

/// The text of a markdown list item without its marker, or `None` if `line` is none.
fn list_item(line: &str) -> Option<&str> {
    for marker in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(marker) {
            return Some(rest.trim());
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits < 4 {
        let rest = &line[digits..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(rest.trim());
        }
    }
    None
}

/// Every item of the sources, in page order.
pub fn items(sources: &[Source]) -> Vec<Item> {
    let mut out = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        for passage in &source.passages {
            for text in split(&passage.text) {
                out.push(Item {
                    source: i,
                    text,
                    heading: passage.heading.clone(),
                });
            }
        }
    }
    out
}

/// What a query asks an item to name: the stems of its words, without the words that say
/// what kind of thing is wanted ("latest", "news", …) unless that leaves nothing.
pub fn query_terms(query: &str) -> BTreeSet<String> {
    let all: Vec<String> = tokens(query);
    let topical: BTreeSet<String> = all
        .iter()
        .filter(|t| !MONITOR_WORDS.contains(&t.as_str()))
        .map(|t| stem(t))
        .collect();
    if topical.is_empty() {
        all.iter().map(|t| stem(t)).collect()
    } else {
        topical
    }
}

/// Whether an item is about the query (`terms`, from [`query_terms`]) and could state a
/// finding: at least [`MIN_WORDS`] words, not mostly links (a navigation list), and naming
/// half the query's terms, but never more than two of them.
///
/// Ranking scores (BM25) are relative to the passages read together, so they cannot say
/// alone whether one item is relevant: the same paragraph would pass on one day and fail the
/// next as other pages come and go. Counting the query's terms it names is absolute. Half of
/// them keeps a short query's subject ("Acme Corp": one of two suffices, since a story names
/// "Acme" alone); at most two keeps a long query's items (a story rarely repeats all of a
/// seven-word question) while one shared word ("canal" in a page about another canal) is not
/// enough once the query names two things.
pub fn relevant(terms: &BTreeSet<String>, text: &str) -> bool {
    let plain = crate::extract::markdown_to_text(text);
    let words = plain.split_whitespace().count();
    if words < MIN_WORDS {
        return false;
    }
    let links = text.matches("](").count();
    if links * 4 > words {
        return false;
    }
    if terms.is_empty() {
        return false;
    }
    let stems: BTreeSet<String> = tokens(&plain).iter().map(|t| stem(t)).collect();
    let named = terms.iter().filter(|t| stems.contains(*t)).count();
    let needed = terms.len().div_ceil(2).min(2);
    named >= needed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_list_items_and_rows_are_items() {
        let passage = "First paragraph here.\n\nSecond one\nwraps a line.\n\n- item one\n- item two\n\n| a | b |\n| --- | --- |\n| 1 | 2 |";
        assert_eq!(
            split(passage),
            [
                "First paragraph here.",
                "Second one wraps a line.",
                "item one",
                "item two",
                "| 1 | 2 |"
            ]
        );
        assert!(split("").is_empty());
        assert!(split("\n\n\n").is_empty());
        assert_eq!(split("1. first\n2) second"), ["first", "second"]);
        assert_eq!(
            split("2024 was a year\nof change"),
            ["2024 was a year of change"]
        );
    }

    #[test]
    fn relevance_needs_the_subject_and_a_real_sentence() {
        let terms = query_terms("Latest news about the Brindle canal restoration");
        assert_eq!(
            terms.iter().cloned().collect::<Vec<_>>(),
            ["brindl", "canal", "restor"]
        );
        assert!(relevant(
            &terms,
            "The Brindle canal will reopen to boats on 12 June after the lock repairs."
        ));
        // The query's subject, but too short to state anything.
        assert!(!relevant(&terms, "Brindle canal news"));
        // Long enough, but about something else.
        assert!(!relevant(
            &terms,
            "The Ouse canal will reopen to boats on 12 June after the lock repairs."
        ));
        // A navigation list.
        assert!(!relevant(
            &terms,
            "[Brindle canal](/a) [restoration](/b) [news](/c) [events](/d) [shop](/e) [about](/f) [join](/g) [contact](/h)"
        ));
        let acme = query_terms("Acme Corp");
        assert!(relevant(
            &acme,
            "Acme unveiled a new line of rocket skates at its annual show in Berlin."
        ));
        assert!(!relevant(&query_terms("news"), "short"));
        assert!(!relevant(
            &BTreeSet::new(),
            "a sentence of more than eight words about nothing at all"
        ));
    }
}
