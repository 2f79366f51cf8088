//! Extractive synthesis: the answer without an LLM.
//!
//! Each output field is filled from the passages ranked best for it (the field's words and
//! the objective), reading a value of the field's type with [`crate::typed`]. A value found
//! next to the field's words is `medium` confidence, and `high` when another source states
//! the same value; a value found elsewhere in a passage is `low`. A field that no passage
//! supports is left `null`, never guessed; [`super::unknown`] then gives it the fallback its
//! description asks for, or warns of it. Text outputs are the best sentences of the best passages, each with a
//! numbered citation.
//!
//! This file owns the passages read (`Corpus`), the field words and citations; `json`
//! fills a JSON output field by field, `labels` reads values under labels (table cells,
//! `Label: value` lines), `entity` tells what the question is about, `text` writes a text
//! output.

use super::Source;
use crate::facts::{facts, Fact};
use crate::rank::{rank, stem, tokens};
use serde_json::{json, Map, Value};

mod entity;
#[cfg(test)]
mod fuzz;
mod json;
mod labels;
#[cfg(test)]
mod tests;
mod text;

pub use json::json_output;
use json::Subject;
pub use text::text_output;

/// Words of field names and descriptions that say nothing about which statement holds the
/// value.
const GENERIC_WORDS: &[&str] = &[
    "number",
    "count",
    "total",
    "amount",
    "name",
    "names",
    "value",
    "current",
    "main",
    "full",
    "company",
    "organisation",
    "organization",
    "many",
    "much",
    "type",
    "kind",
    "list",
];

/// Words of a field's name that qualify what it asks rather than name it: a passage need
/// not say "year" to state a founding year, nor "previous" to state last year's figure.
const QUALIFIER_WORDS: &[&str] = &[
    "year", "years", "date", "day", "month", "when", "per", "max", "min", "maximum", "minimum",
    "previous", "last", "latest", "first", "new", "old", "since", "on", "at", "in", "is", "has",
    "of", "the", "by", "yearly", "yyyy", "mm", "dd", "yy", "iso", "8601", "format",
];

/// Words pages write for what a field's words name: each entry's first word is the field's,
/// the rest its synonyms and forms a stem does not reach.
const SYNONYMS: &[&[&str]] = &[
    &["attendance", "spectators", "attended", "attendees"],
    &["deaths", "died", "dead", "killed"],
    &["died", "deaths", "dead"],
    &["length", "long"],
    &["height", "tall", "high"],
    &["width", "wide"],
    &["depth", "deep"],
    &["weight", "weighs", "heavy"],
    &["members", "member"],
    &["birthplace", "born"],
    &["birth", "born"],
    &["village", "address", "location"],
    &["town", "address", "location"],
    &["city", "address", "location"],
    &["ceo", "chief", "executive"],
    &["cfo", "chief", "financial"],
    &["cto", "chief", "technology"],
    &["coo", "chief", "operating"],
];

/// `keywords` with the synonyms of its words appended.
fn with_synonyms(keywords: &str) -> String {
    let words = tokens(keywords);
    let mut out = keywords.to_owned();
    for entry in SYNONYMS {
        if words.iter().any(|w| w == entry[0]) {
            for synonym in &entry[1..] {
                if !words.iter().any(|w| w == synonym) {
                    out.push(' ');
                    out.push_str(synonym);
                }
            }
        }
    }
    out
}

/// Words that open a question or a request rather than name its subject.
const QUESTION_WORDS: &[&str] = &[
    "what",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "which",
    "why",
    "how",
    "is",
    "are",
    "was",
    "were",
    "does",
    "do",
    "did",
    "can",
    "could",
    "has",
    "have",
    "list",
    "find",
    "give",
    "tell",
    "name",
    "show",
    "describe",
    "summarise",
    "summarize",
    "explain",
    "compare",
    "in",
    "on",
    "for",
    "the",
    "a",
    "an",
    "since",
    "until",
    "during",
    "after",
    "before",
    "about",
    "according",
    "under",
    "with",
    "from",
    "by",
    "of",
    "at",
    "to",
    "as",
    "if",
    "please",
    "between",
    "among",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "there",
    "their",
    "our",
    "my",
    "your",
];

/// Passages examined per field and synthesis round.
const PASSAGES_PER_ROUND: usize = 8;

/// A passage of a source, by position.
#[derive(Debug, Clone, Copy)]
struct At {
    source: usize,
    passage: usize,
}

/// All passages of all sources, with the text they are ranked by (title, heading, body).
struct Corpus<'a> {
    sources: &'a [Source],
    at: Vec<At>,
    ranked_text: Vec<String>,
    /// The stems of each passage's words, for document frequencies.
    stems: Vec<std::collections::HashSet<String>>,
    /// Each passage's label → value facts (per source, per passage), read when first asked
    /// for and then shared by every field.
    facts: Vec<Vec<std::cell::OnceCell<Vec<Fact>>>>,
}

impl<'a> Corpus<'a> {
    fn new(sources: &'a [Source]) -> Self {
        let mut at = Vec::new();
        let mut ranked_text = Vec::new();
        for (s, source) in sources.iter().enumerate() {
            for (p, passage) in source.passages.iter().enumerate() {
                at.push(At {
                    source: s,
                    passage: p,
                });
                ranked_text.push(format!(
                    "{} {} {}",
                    source.title.as_deref().unwrap_or(""),
                    passage.heading.as_deref().unwrap_or(""),
                    passage.text
                ));
            }
        }
        let stems = ranked_text
            .iter()
            .map(|t| tokens(t).iter().map(|w| stem(w)).collect())
            .collect();
        let facts = sources
            .iter()
            .map(|source| {
                source
                    .passages
                    .iter()
                    .map(|_| std::cell::OnceCell::new())
                    .collect()
            })
            .collect();
        Corpus {
            sources,
            at,
            ranked_text,
            stems,
            facts,
        }
    }

    /// The facts of the passage at `at` (see [`crate::facts`]).
    fn facts(&self, at: At) -> &[Fact] {
        self.facts[at.source][at.passage].get_or_init(|| facts(self.text(at)))
    }

    /// Ranks passages for `query`, those on pages about the subject first (see [`Subject`]):
    /// a fact about another town, on a page that ranks well for the field's words, is not
    /// the answer. Among them, a passage need not repeat the entity's name: a company's
    /// careers page says "we". A one-word name ("Quellmoor") is named in passing by pages
    /// about its neighbours, so there the pages whose title names it come first.
    fn rank_about(&self, query: &str, subject: &Subject) -> Vec<At> {
        let texts: Vec<&str> = self.ranked_text.iter().map(String::as_str).collect();
        // Per source, whether a one-word name is missing from its title.
        let untitled: Vec<bool> = self
            .sources
            .iter()
            .map(|source| match subject.words.as_slice() {
                [word] => !tokens(source.title.as_deref().unwrap_or(""))
                    .iter()
                    .any(|t| stem(t) == stem(word)),
                _ => false,
            })
            .collect();
        let mut scored: Vec<((bool, bool), usize, At)> = rank(query, &texts)
            .into_iter()
            .enumerate()
            .map(|(order, (i, _))| {
                let at = self.at[i];
                ((!subject.on_topic(at), untitled[at.source]), order, at)
            })
            .collect();
        scored.sort_by_key(|(key, order, _)| (*key, *order));
        scored.into_iter().map(|(_, _, at)| at).collect()
    }

    /// The words of `keywords` that single the field out: generic words ("number", "name")
    /// and the words naming the entity asked about (which every page read is about) tell
    /// nothing about where a value is stated. Values must stand near these to count as plainly stated.
    fn specific_keywords(&self, keywords: &str, entity: &[String]) -> String {
        let all = tokens(keywords);
        let asked: Vec<String> = entity.iter().map(|w| stem(w)).collect();
        let mut specific: Vec<&String> = all
            .iter()
            .filter(|w| {
                !GENERIC_WORDS.contains(&w.as_str()) && !w.chars().all(|c| c.is_ascii_digit())
            })
            .filter(|w| !asked.contains(&stem(w)))
            .collect();
        if specific.is_empty() {
            specific = all
                .iter()
                .filter(|w| !GENERIC_WORDS.contains(&w.as_str()))
                .collect();
        }
        if specific.is_empty() {
            specific = all.iter().collect();
        }
        let mut out: Vec<&str> = specific.iter().map(|w| w.as_str()).collect();
        // Words that tell the kind of value, not where it is stated, are kept for that.
        let raw: Vec<String> = keywords.split_whitespace().map(str::to_lowercase).collect();
        for kind in ["year", "who"] {
            if raw.iter().any(|w| w == kind) && !out.contains(&kind) {
                out.push(kind);
            }
        }
        out.join(" ")
    }

    /// Whether the passage at `at` (with its page title and heading) names what the field
    /// asks for: one of the words of its name or description, as a form of the word ("lamps"
    /// for `lamp_count`). "record_attendance" ("Highest attendance") is not answered by a
    /// passage that only gives a capacity.
    fn covers(&self, at: At, field_words: &str, entity: &[String]) -> bool {
        let asked: Vec<String> = entity.iter().map(|w| stem(w)).collect();
        let words: Vec<String> = tokens(field_words)
            .into_iter()
            .filter(|w| {
                w.len() > 1
                    && !GENERIC_WORDS.contains(&w.as_str())
                    && !QUALIFIER_WORDS.contains(&w.as_str())
                    && !crate::typed::is_unit_word(w)
                    && !w.chars().all(|c| c.is_ascii_digit())
                    && !asked.contains(&stem(w))
            })
            .collect();
        if words.is_empty() {
            return true;
        }
        let Some(i) = self
            .at
            .iter()
            .position(|a| a.source == at.source && a.passage == at.passage)
        else {
            return false;
        };
        let passage = tokens(&self.ranked_text[i]);
        words
            .iter()
            .any(|w| passage.iter().any(|p| crate::typed::stem_eq(p, w)))
    }

    /// How many of the entity's words page `source` names, in its title or passages.
    fn entity_words_named(&self, source: usize, entity: &[String]) -> usize {
        let title: Vec<String> = tokens(self.sources[source].title.as_deref().unwrap_or(""))
            .iter()
            .map(|w| stem(w))
            .collect();
        entity
            .iter()
            .filter(|w| {
                let w = stem(w);
                title.contains(&w)
                    || self
                        .at
                        .iter()
                        .zip(&self.stems)
                        .any(|(at, stems)| at.source == source && stems.contains(&w))
            })
            .count()
    }

    /// Whether `source` (its title or a passage) names `word`.
    fn source_names(&self, source: usize, word: &str) -> bool {
        self.entity_words_named(source, std::slice::from_ref(&word.to_owned())) > 0
    }

    /// Whether some page read writes `word` (lower case) in lower case.
    fn writes_lower_case(&self, word: &str) -> bool {
        self.sources.iter().any(|source| {
            source.passages.iter().any(|p| {
                p.text
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|t| t == word)
            })
        })
    }

    /// Whether a passage of `source` names a near namesake of `entity`: a name sharing some
    /// of its words and having words of its own ("Corrow Rovers FC"), or sharing two or more
    /// but not all ("Corrow Rovers" for "Corrow Royal Rovers").
    fn names_a_namesake(&self, source: usize, entity: &[String]) -> bool {
        entity.len() >= 2
            && self.sources[source].passages.iter().any(|p| {
                crate::typed::proper_names(&p.text).into_iter().any(|name| {
                    let words = tokens(name);
                    let shared = entity
                        .iter()
                        .filter(|e| words.iter().any(|w| crate::typed::stem_eq(w, e)))
                        .count();
                    let own = words.iter().any(|w| {
                        w.chars().all(char::is_alphabetic)
                            && !crate::typed::is_month(w)
                            && !entity.iter().any(|e| crate::typed::stem_eq(w, e))
                    });
                    shared > 0 && shared < entity.len() && (own || shared >= 2)
                })
            })
    }

    /// Whether the passage at `at`, or its page's title, names a word of `entity` (always
    /// true when the question names nothing).
    fn names(&self, at: At, entity: &[String]) -> bool {
        let i = self
            .at
            .iter()
            .position(|a| a.source == at.source && a.passage == at.passage);
        let title: Vec<String> = tokens(self.sources[at.source].title.as_deref().unwrap_or(""))
            .iter()
            .map(|w| stem(w))
            .collect();
        entity.is_empty()
            || entity.iter().any(|w| {
                let w = stem(w);
                title.contains(&w) || i.is_some_and(|i| self.stems[i].contains(&w))
            })
    }

    fn rank(&self, query: &str) -> Vec<At> {
        let texts: Vec<&str> = self.ranked_text.iter().map(String::as_str).collect();
        rank(query, &texts)
            .into_iter()
            .map(|(i, _)| self.at[i])
            .collect()
    }

    fn text(&self, at: At) -> &str {
        &self.sources[at.source].passages[at.passage].text
    }
}

/// The citation of `source` with one excerpt (its tables quoted as text, as the page shows
/// them).
pub(super) fn citation(source: &Source, excerpt: &str) -> Value {
    let mut citation = Map::new();
    citation.insert("url".into(), json!(source.url));
    if let Some(title) = &source.title {
        citation.insert("title".into(), json!(title));
    }
    citation.insert(
        "excerpts".into(),
        json!([crate::extract::tables_as_text(excerpt)]),
    );
    Value::Object(citation)
}

/// The sentence of `passage` that holds `evidence`, or the passage if it is short; in a
/// table, the row that holds it.
fn excerpt(passage: &str, evidence: &str) -> String {
    if let Some(row) = passage
        .lines()
        .find(|l| l.trim_start().starts_with('|') && !evidence.is_empty() && l.contains(evidence))
    {
        return row.trim().to_owned();
    }
    if passage.len() <= 320 {
        return passage.trim().to_owned();
    }
    let (at, after) = match passage.find(evidence) {
        Some(at) => (at, at + evidence.len()),
        None => (0, 0),
    };
    // A sentence ends at ". " (or "!", "?", a blank line), not at the point of "$6.5".
    let ends = [". ", "! ", "? ", ".\n", "\n\n"];
    let start = ends
        .iter()
        .filter_map(|e| passage[..at].rfind(e).map(|i| i + e.len()))
        .max()
        .unwrap_or(0);
    let end = ends
        .iter()
        .filter_map(|e| passage[after..].find(e))
        .min()
        .map_or(passage.len(), |i| after + i + 1);
    passage[start..end].trim().to_owned()
}
