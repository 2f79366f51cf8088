//! Extractive synthesis: the answer without an LLM.
//!
//! Each output field is filled from the passages ranked best for it (the field's words and
//! the objective), reading a value of the field's type with [`crate::typed`]. A value found
//! next to the field's words is `medium` confidence, and `high` when another source states
//! the same value; a value found elsewhere in a passage is `low`. A field that no passage
//! supports is left `null`, never guessed; [`super::unknown`] then gives it the fallback its
//! description asks for, or warns of it. Text outputs are the best sentences of the best passages, each with a
//! numbered citation.

use super::plan::{fields, Field};
use super::request::Request;
use super::{Source, Synthesis};
use crate::facts::{facts, Fact};
use crate::rank::{rank, stem, tokens};
use crate::typed::{find_value_avoiding, find_value_where, wants_name, FieldType, Found};
use chrono::Datelike;
use serde_json::{json, Map, Value};

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

/// Fills a JSON output from the sources.
pub fn json_output(
    request: &Request,
    schema: &Value,
    sources: &[Source],
    rounds: u32,
) -> Synthesis {
    let corpus = Corpus::new(sources);
    let subject = Subject::of(&corpus, request);
    // More rounds read deeper into the ranking, and cross-check what they find.
    let depth = PASSAGES_PER_ROUND * rounds.max(1) as usize;
    let mut content = Map::new();
    let mut basis = Vec::new();
    for field in fields(schema) {
        let filled = fill_field(&corpus, request, &subject, &field, depth, rounds >= 2);
        match filled {
            Some(fill) => {
                basis.push(json!({
                    "field": field.name,
                    "citations": fill.citations,
                    "reasoning": fill.reasoning,
                    "confidence": fill.confidence,
                }));
                if let Value::Array(items) = &fill.value {
                    for i in 0..items.len() {
                        basis.push(json!({
                            "field": format!("{}.{i}", field.name),
                            "citations": fill.citations,
                            "reasoning": format!("Element {i} of the list read for \"{}\".", field.name),
                            "confidence": fill.confidence,
                        }));
                    }
                }
                content.insert(field.name.clone(), fill.value);
            }
            None => {
                content.insert(field.name.clone(), Value::Null);
                basis.push(json!({
                    "field": field.name,
                    "citations": [],
                    "reasoning": format!(
                        "No source read in this run states a value for \"{}\", so it is left null rather than guessed (extractive synthesis, no LLM).",
                        field.name
                    ),
                    "confidence": "low",
                }));
            }
        }
    }
    Synthesis {
        content: Value::Object(content),
        basis,
        warnings: Vec::new(),
    }
}

/// What the question is about: the entity's words, and the pages most about it (those
/// naming as many of its words as any page read, at least half of them; a page about
/// "Corrow Rovers FC" names two of the three words of "Corrow Royal Rovers"). Found once
/// per answer, for every field.
struct Subject {
    words: Vec<String>,
    /// Per source, how many of the words it names.
    named: Vec<usize>,
    /// The most any source names, when that is at least half of the words.
    most: Option<usize>,
    /// Per source, whether it names every word of the name that is not a common word, and
    /// no near namesake.
    about_by_proper_words: Vec<bool>,
}

impl Subject {
    fn of(corpus: &Corpus<'_>, request: &Request) -> Subject {
        let words = entity_words(request);
        let named: Vec<usize> = (0..corpus.sources.len())
            .map(|s| corpus.entity_words_named(s, &words))
            .collect();
        let most = named
            .iter()
            .copied()
            .max()
            .filter(|&m| m > 0 && m * 2 >= words.len());
        // Words of the name that pages also write in lower case ("robotics" of "Zorblax
        // Robotics", "a robotics company") are common words: a page may leave them out
        // and still be about the entity, unless it names a near namesake.
        let common: Vec<bool> = words.iter().map(|w| corpus.writes_lower_case(w)).collect();
        let about_by_proper_words = (0..corpus.sources.len())
            .map(|s| {
                most.is_some_and(|m| named[s] < m && named[s] > 0)
                    && words
                        .iter()
                        .zip(&common)
                        .all(|(w, &c)| c || corpus.source_names(s, w))
                    && !corpus.names_a_namesake(s, &words)
            })
            .collect();
        Subject {
            words,
            named,
            most,
            about_by_proper_words,
        }
    }

    /// Whether the passage at `at` is on a page most about the subject (any page, when no
    /// page read is about it).
    fn on_topic(&self, at: At) -> bool {
        self.most
            .is_none_or(|m| self.named[at.source] == m || self.about_by_proper_words[at.source])
    }
}

struct Fill {
    value: Value,
    citations: Vec<Value>,
    reasoning: String,
    confidence: &'static str,
}

/// `cross_check`: weigh every statement found rather than take the best-ranked one (see
/// [`cross_checked`]).
fn fill_field(
    corpus: &Corpus<'_>,
    request: &Request,
    subject: &Subject,
    field: &Field,
    depth: usize,
    cross_check: bool,
) -> Option<Fill> {
    let field_type = FieldType::of(&field.schema);
    // The words pages use for what the field's words name ("spectators" for attendance).
    let field = &Field {
        keywords: with_synonyms(&field.keywords),
        ..field.clone()
    };
    let query = format!("{} {}", field.keywords, request.objective);
    let entity = &subject.words;
    let all_ranked: Vec<At> = corpus.rank_about(&query, subject);
    let ranked: Vec<At> = all_ranked.iter().copied().take(depth).collect();
    if asks_publication_date(field, &field_type) {
        // Which page is meant is said by the field's description ("the press release on the
        // nine-month results"), more than by the entity every page read is about.
        let pages = corpus.rank(&format!("{0} {0} {1}", field.keywords, request.objective));
        return publication_date(corpus, &pages[..pages.len().min(depth)], field, &field_type);
    }
    let mut specific = corpus.specific_keywords(&field.keywords, entity);
    // A field whose only words are the entity's ("date" of "the Great Gale") is stated next
    // to the entity's name: "the Great Gale of 14 January 1881".
    if tokens(&specific)
        .iter()
        .all(|w| QUALIFIER_WORDS.contains(&w.as_str()) || GENERIC_WORDS.contains(&w.as_str()))
    {
        specific = format!("{specific} {}", entity.join(" "));
    }
    // Numbers are everywhere on a page: a passage must name one of the field's own words
    // to give one. A name or place is rarer, and its description's words suffice ("where
    // the river rises").
    // A founder or a chief executive named in a sentence that does not name the entity, on
    // a page whose title does not either, is someone else's: "The board's chief executive,
    // Rosalind Achterberg" in a hospital's news, asked about the scanner's maker.
    // (A field about a related entity, `maker_founder`, is about someone else by design.)
    let person_field = matches!(field_type, FieldType::String | FieldType::Other)
        && crate::typed::asks_for_a_person(&field.keywords)
        && !crate::typed::asks_about_a_maker(&field.keywords);
    let title_names_entity = |at: At| names_entity_word(source_title(corpus, at), entity);
    let asks_day_of_range = crate::typed::asks_for_an_end_of_a_range(&field_type, &field.keywords);
    let coverage_words = match field_type {
        FieldType::Integer | FieldType::Number | FieldType::Boolean => {
            with_synonyms(&super::request::field_words(&field.name))
        }
        _ => field.keywords.clone(),
    };
    // A value counts only where a passage states it for the field: in a table cell or
    // after a label that names the field, or next to the field's words in a sentence. A
    // value merely somewhere in a relevant passage is how wrong answers are made: the field
    // is left null instead.
    let from_facts = read_facts(
        corpus,
        &all_ranked,
        depth,
        &field_type,
        &specific,
        &field.keywords,
        entity,
        request,
    );
    let from_facts: Vec<(usize, At, Found)> = from_facts
        .into_iter()
        .filter(|(_, at, _)| corpus.covers(*at, &coverage_words, entity))
        .collect();
    let on_topic = |at: &At| subject.on_topic(*at);
    // What the field's description names must be what the statement is about.
    let described = |at: &At, f: &Found| states_what_is_described(corpus, *at, f, field, entity);
    let from_facts: Vec<(usize, At, Found)> = from_facts
        .into_iter()
        .filter(|(_, at, f)| on_topic(at) && described(at, f))
        .collect();
    // Label statements first (their label names the field), then sentences; all of them
    // count for agreement, disagreement and the cross-check.
    let label_statements = from_facts.len();
    let found: Vec<(usize, At, Found)> = from_facts
        .into_iter()
        .chain({
            ranked
                .iter()
                .enumerate()
                .filter_map(|(rank, &at)| {
                    let text = corpus.text(at);
                    find_value_where(
                        &field_type,
                        text,
                        &specific,
                        &request.objective,
                        |start, end| {
                            let sentence = crate::typed::sentence_at(text, start);
                            !names_another(sentence, entity, &text[start..end])
                                && !of_another(sentence, &specific, entity)
                                && !is_the_entity(&text[start..end], entity)
                                && !current_row_for_earlier(text, start, &field.keywords)
                                && (!person_field
                                    || title_names_entity(at)
                                    || names_entity_word(sentence, entity))
                        },
                    )
                    .map(|f| (rank, at, f))
                })
                // An enum's members are specific enough to count anywhere in a passage that
                // names what was asked about ("It is a privately held company").
                .filter(|(_, at, f)| {
                    f.plain || matches!(field_type, FieldType::Enum(_)) && corpus.names(*at, entity)
                })
                .filter(|(_, at, f)| {
                    // An enum's members name what it asks; its name need not be written.
                    // Nor does a range of dates for a first or last day: "from Friday 11
                    // October to Sunday 13 October 2024" states both.
                    matches!(field_type, FieldType::Enum(_))
                        || (asks_day_of_range
                            && crate::typed::find_all(&field_type, &f.evidence).len() >= 2)
                        || corpus.covers(*at, &coverage_words, entity)
                })
                .filter(|(_, at, f)| on_topic(at) && described(at, f))
                .collect::<Vec<_>>()
        })
        .collect();
    // A cross-check may prefer a later figure to the best-ranked one; only quantities are
    // superseded so (a name, a date or a list is not "as of" a year).
    let numeric = matches!(field_type, FieldType::Integer | FieldType::Number);
    let (rank, at, chosen) = if cross_check && numeric {
        cross_checked(&found, &field.keywords)?
    } else {
        found.first().cloned()?
    };
    let source = &corpus.sources[at.source];
    let mut citations = vec![citation(
        source,
        &excerpt(corpus.text(at), &chosen.evidence),
    )];
    let corroborating: Vec<&(usize, At, Found)> = found
        .iter()
        .filter(|(_, other, f)| {
            f.value == chosen.value && corpus.sources[other.source].url != source.url
        })
        .collect();
    if let Some((_, other, f)) = corroborating.first() {
        citations.push(citation(
            &corpus.sources[other.source],
            &excerpt(corpus.text(*other), &f.evidence),
        ));
    }
    // "high" needs the value under a label that names the field (a table cell, a
    // `Label: value` line), another page stating it too, and no page stating another. Two
    // pages agreeing on a sentence's value are right less often (measured on the dev part:
    // 8 of 8 label values, 11 of 14 sentence values).
    let contradicted = found.iter().any(|(_, _, f)| f.value != chosen.value);
    let under_label = found[..label_statements].iter().any(|(_, a, f)| {
        a.source == at.source && a.passage == at.passage && f.evidence == chosen.evidence
    });
    let confidence = if under_label && !corroborating.is_empty() && !contradicted {
        "high"
    } else {
        "medium"
    };
    let title = source.title.as_deref().unwrap_or(&source.url);
    let agreement = if corroborating.is_empty() {
        String::new()
    } else {
        let urls: Vec<&str> = corroborating
            .iter()
            .map(|(_, other, _)| corpus.sources[other.source].url.as_str())
            .collect();
        format!(" Also stated by: {}.", urls.join(", "))
    };
    let disagreement = if contradicted {
        " Other passages state a different value."
    } else {
        ""
    };
    let reasoning = format!(
        "Extractive synthesis (no LLM): read \"{}\" from \"{title}\", the passage ranked {} for \"{}\", which states it for the field's words.{agreement}{disagreement}",
        chosen.evidence,
        rank + 1,
        field.keywords,
    );
    Some(Fill {
        value: in_field_unit(chosen.value, &field.name, &field_type),
        citations,
        reasoning,
        confidence,
    })
}

/// Words of a field asking for a record rather than a figure: a passage giving the figure
/// must say it is one ("a record 61,000", "the highest").
const RECORD_WORDS: &[&str] = &["record", "highest", "all-time", "peak", "ever"];

/// Whether the statement `found` at `at` can state the field as its description puts it:
/// its passage names every name the description gives besides the entity's ("employees of
/// the subsidiary Veyloran Marine" is not answered by the parent company's workforce), and
/// for a field asking for a record ("All-time record attendance"), its own sentence or
/// table row speaks of one.
fn states_what_is_described(
    corpus: &Corpus<'_>,
    at: At,
    found: &Found,
    field: &Field,
    entity: &[String],
) -> bool {
    let description = field
        .schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("");
    let passage = corpus.text(at);
    let words = tokens(&format!("{} {passage}", source_title(corpus, at)));
    let says = |w: &str| words.iter().any(|p| crate::typed::stem_eq(p, w));
    // Names after the description's first word (which is capitalised as a sentence's);
    // "YYYY-MM-DD" and "ISO 8601" are layouts, not names.
    let rest = description
        .split_once(char::is_whitespace)
        .map_or("", |(_, rest)| rest);
    let names_ok = crate::typed::proper_names(rest)
        .into_iter()
        .filter(|name| name.chars().any(char::is_lowercase))
        .all(|name| {
            let name_words = tokens(name);
            name_words
                .iter()
                .all(|w| entity.iter().any(|e| crate::typed::stem_eq(e, w)))
                || name_words.iter().all(|w| says(w))
        });
    let asks_record = tokens(&format!("{} {description}", field.name.replace('_', " ")))
        .iter()
        .any(|w| RECORD_WORDS.contains(&w.as_str()))
        || description.to_lowercase().contains("all-time");
    let record_ok = !asks_record || {
        let at_value = passage.find(&found.evidence).unwrap_or(0);
        let line_start = passage[..at_value].rfind('\n').map_or(0, |i| i + 1);
        let line_end = passage[at_value..]
            .find('\n')
            .map_or(passage.len(), |i| at_value + i);
        let line = &passage[line_start..line_end];
        let context = if line.trim_start().starts_with('|') {
            line
        } else {
            crate::typed::sentence_at(passage, at_value)
        };
        let lower = context.to_lowercase();
        lower.contains("all-time")
            || tokens(context)
                .iter()
                .any(|w| RECORD_WORDS.contains(&w.as_str()))
    };
    names_ok && record_ok
}

/// Whether `text` names a word of `entity` (any, when the question names nothing).
fn names_entity_word(text: &str, entity: &[String]) -> bool {
    entity.is_empty() || {
        let words = tokens(text);
        entity
            .iter()
            .any(|e| words.iter().any(|w| crate::typed::stem_eq(w, e)))
    }
}

/// The title of the page holding the passage at `at` ("" when it has none).
fn source_title<'c>(corpus: &'c Corpus<'_>, at: At) -> &'c str {
    corpus.sources[at.source].title.as_deref().unwrap_or("")
}

/// The statement a cross-check keeps when the sources disagree: the best-ranked one,
/// unless another value is stated, in its own words, as of a later year than the year the
/// best-ranked one gives in its own words ("about 1,900 (2020)" against "2,350 (2024)").
/// Without such years on both sides the best-ranked stands: a year elsewhere in the
/// sentence, or the page's publication date, dates the page or another fact ("Founded in
/// 2011, … employs 12,400"), not the figure, and taking it for the figure's date chose the
/// wrong value ten times for each time it chose the right one on the eval's dev part. A
/// field that names a year (`population_2018`) or asks for an earlier value
/// (`previous_mayor`) is not a question of recency either.
fn cross_checked(found: &[(usize, At, Found)], field_words: &str) -> Option<(usize, At, Found)> {
    let first = found.first()?;
    let words = tokens(field_words);
    let timeless = words.iter().any(|w| {
        (w.len() == 4 && w.parse::<i32>().is_ok())
            || matches!(
                w.as_str(),
                "previous" | "former" | "first" | "original" | "founding" | "initial" | "old"
            )
    });
    if timeless {
        return Some(first.clone());
    }
    // The latest past year a statement's own text gives, other than the value itself (a
    // plan "by 2030" is not a date of the figure).
    let this_year = chrono::Utc::now().year();
    let year_of = |f: &Found| -> Option<i32> {
        tokens(&f.evidence)
            .iter()
            .filter(|w| is_year(w) && f.value.as_str() != Some(w.as_str()))
            .filter_map(|w| w.parse::<i32>().ok())
            .filter(|y| *y <= this_year && f.value.as_i64() != Some(i64::from(*y)))
            .max()
    };
    let Some(first_year) = year_of(&first.2) else {
        return Some(first.clone());
    };
    found
        .iter()
        .filter(|(_, _, f)| f.value != first.2.value && year_of(f).is_some_and(|y| y > first_year))
        .max_by_key(|(rank, _, f)| (year_of(f), std::cmp::Reverse(*rank)))
        .or(Some(first))
        .cloned()
}

/// Values stated under a label that names the field (table cells, `Label: value` lines)
/// in the ranked passages, best label match first, then by rank. A label is precise enough
/// to be read past the `depth` best passages (a leadership table ranked low for a question
/// worded around the company), but there it must write one of the field's words as such,
/// not only share a stem ("Office" is no `chief executive officer`).
#[allow(clippy::too_many_arguments)]
fn read_facts(
    corpus: &Corpus<'_>,
    ranked: &[At],
    depth: usize,
    field_type: &FieldType,
    specific: &str,
    field_keywords: &str,
    entity: &[String],
    request: &Request,
) -> Vec<(usize, At, Found)> {
    // The field's numbers count here: `revenue_2022` is the cell under "2022".
    let mut keys = tokens(specific);
    keys.extend(
        tokens(field_keywords)
            .into_iter()
            .filter(|w| w.chars().all(|c| c.is_ascii_digit())),
    );
    let field_years: Vec<String> = tokens(field_keywords)
        .into_iter()
        .filter(|w| is_year(w))
        .collect();
    let earlier_words = earlier_words(field_keywords);
    let mut out: Vec<((usize, usize), usize, At, Found)> = Vec::new();
    for (rank, &at) in ranked.iter().enumerate() {
        let text = corpus.text(at);
        for fact in corpus.facts(at) {
            // A comparison table's column, or a row of a table of several entities, is
            // chosen by the entity's name in its label.
            let hits = (fact.label_hits(&keys), fact.label_hits(entity));
            if hits.0 == 0 || (rank >= depth && !fact.label_writes(&keys)) {
                continue;
            }
            // A "Mayor" row gives the current mayor, not the `previous_mayor`.
            if earlier_words
                .iter()
                .any(|w| !tokens(&fact.label).contains(w))
            {
                continue;
            }
            // "Population (2023 census)" does not answer `population_2018`.
            let label_years: Vec<String> = tokens(&fact.label)
                .into_iter()
                .filter(|w| is_year(w))
                .collect();
            if !field_years.is_empty()
                && !label_years.is_empty()
                && !label_years.iter().any(|y| field_years.contains(y))
            {
                continue;
            }
            let cell = fact.value(text);
            if let Some(value) =
                read_cell(field_type, &fact.label, cell, specific, &request.objective)
            {
                out.push((
                    hits,
                    rank,
                    at,
                    Found {
                        value,
                        evidence: cell.to_owned(),
                        plain: true,
                    },
                ));
            }
        }
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    out.into_iter().map(|(_, r, at, f)| (r, at, f)).collect()
}

/// The words of a field asking for an earlier value than the one a page currently states
/// (`previous_mayor`, `former_name`).
fn earlier_words(field_keywords: &str) -> Vec<String> {
    tokens(field_keywords)
        .into_iter()
        .filter(|w| crate::typed::EARLIER_WORDS.contains(&w.as_str()))
        .collect()
}

/// Whether byte `at` of `passage` is in a table row that does not say it gives an earlier
/// value, for a field that asks for one: an infobox's "| Mayor | Idris Vane |" is the
/// current mayor, whoever the `previous_mayor` was.
fn current_row_for_earlier(passage: &str, at: usize, field_keywords: &str) -> bool {
    let earlier = earlier_words(field_keywords);
    if earlier.is_empty() {
        return false;
    }
    let start = passage[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = passage[at..].find('\n').map_or(passage.len(), |i| at + i);
    let line = &passage[start..end];
    line.trim_start().starts_with('|') && {
        let words = tokens(line);
        earlier.iter().any(|w| !words.contains(w))
    }
}

/// Whether a token is a year (four digits, 1000 to 2999).
fn is_year(word: &str) -> bool {
    crate::typed::year_of(word).is_some()
}

/// Words of string fields that ask for a place: from an address, the place, not the street.
const PLACE_WORDS: &[&str] = &[
    "city",
    "town",
    "village",
    "municipality",
    "place",
    "location",
];

/// Words of an address part that is not a town: "Quellside Business Park", "14 Mill Road"
/// (a street word may also end a word: "Sjögatan", "Hauptstraße").
const ADDRESS_WORDS: &[&str] = &[
    "road",
    "street",
    "st",
    "avenue",
    "lane",
    "way",
    "park",
    "quay",
    "square",
    "building",
    "floor",
    "suite",
    "unit",
    "box",
    "plaza",
    "estate",
    "centre",
    "center",
    "house",
    "boulevard",
    "route",
    // Street words of other languages: "3 chemin des Pierres", "Sjögatan 7", "Via Roma 1".
    "chemin",
    "rue",
    "allée",
    "allee",
    "impasse",
    "strasse",
    "straße",
    "gasse",
    "weg",
    "platz",
    "via",
    "viale",
    "piazza",
    "calle",
    "avenida",
    "plaza",
    "rua",
    "straat",
    "plein",
    "gatan",
    "gata",
    "vej",
    "katu",
];

/// Whether `word` (lower case) is a street word, alone or ending a compound.
fn is_address_word(word: &str) -> bool {
    ADDRESS_WORDS.contains(&word)
        || [
            "gatan", "straße", "strasse", "gasse", "straat", "platz", "katu",
        ]
        .iter()
        .any(|suffix| word.len() > suffix.len() + 2 && word.ends_with(suffix))
}

/// The value of a field's type in one cell: the whole cell is the statement, so the first
/// candidate of the type is it. A string field without a kind takes the cell's text when it
/// is short (a cell is not a sentence to quote).
fn read_cell(
    field_type: &FieldType,
    label: &str,
    cell: &str,
    keywords: &str,
    avoid: &str,
) -> Option<Value> {
    let plain = crate::extract::markdown_to_text(cell);
    let plain = plain.trim();
    if plain.is_empty() {
        return None;
    }
    // Under a label naming the field, a number is the answer even when the question's
    // words contain it: the "220 kV" of the "HV-220".
    let avoid = if matches!(field_type, FieldType::Integer | FieldType::Number) {
        ""
    } else {
        avoid
    };
    let words = tokens(keywords);
    if let FieldType::Array(item) = field_type {
        // A cell lists its items between commas, semicolons or "and".
        let items: Vec<Value> = plain
            .split([',', ';', '\n'])
            .flat_map(|p| p.split(" and "))
            .map(|p| p.trim().trim_end_matches('.'))
            .filter(|p| !p.is_empty())
            .filter_map(|p| match item.as_ref() {
                // A list of names or things is not a count: "Stages in fleet | 14".
                FieldType::String | FieldType::Other => {
                    p.chars().any(char::is_alphabetic).then(|| json!(p))
                }
                other => find_value_avoiding(other, p, "", "").map(|f| f.value),
            })
            .collect();
        return (!items.is_empty()).then_some(Value::Array(items));
    }
    if matches!(field_type, FieldType::String | FieldType::Other)
        && words.iter().any(|w| PLACE_WORDS.contains(&w.as_str()))
    {
        // "Quellside Business Park, Brastmoor": the part that is a place, not an address;
        // of a "Born" cell's "17 August 1979 Tarrowfield", the place after the date.
        let place = plain
            .split([',', ';'])
            .map(|part| without_leading_date(part.trim()))
            .find(|part| {
                !part.is_empty()
                    && !part.chars().any(|c| c.is_ascii_digit())
                    && !tokens(part).iter().any(|w| is_address_word(w))
            });
        return place.map(|p| json!(p));
    }
    // A name far from the field's words in a long cell still counts: the label names it.
    // So does a bare number under a label that gives its unit ("Revenue ($ million)").
    let unit_in_label = label.contains(['$', '€', '£', '%'])
        || tokens(label)
            .iter()
            .any(|w| crate::typed::is_unit_word(w) || w == "million" || w == "billion");
    let found = find_value_avoiding(field_type, plain, keywords, avoid).or_else(|| {
        (matches!(field_type, FieldType::String | FieldType::Other) || unit_in_label)
            .then(|| find_value_avoiding(field_type, plain, "", avoid))
            .flatten()
    });
    match (field_type, found) {
        (FieldType::String | FieldType::Other, Some(f))
            if f.value.as_str().is_some_and(|v| v.len() < plain.len() / 2) =>
        {
            Some(f.value)
        }
        // A field that wants a name takes one, never "1962" from a "Founded" row: a cell
        // that is or begins with a name ("Wenna Tull" in a row labelled by its role, "Odile
        // Prenn (Independent)") gives it.
        (FieldType::String | FieldType::Other, _) if wants_name(keywords) => {
            crate::typed::proper_names(plain)
                .into_iter()
                .find(|name| {
                    (plain.starts_with(name) || name.len() * 2 >= plain.len())
                        && !crate::typed::is_role(name)
                        && (!crate::typed::asks_for_a_person(keywords)
                            || crate::typed::could_be_a_person(name))
                })
                .map(|name| json!(name))
        }
        (FieldType::String | FieldType::Other, _) => (plain.chars().count() <= 80
            && !avoid.to_lowercase().contains(&plain.to_lowercase()))
        .then(|| json!(plain)),
        (_, found) => found.map(|f| f.value),
    }
}

/// `text` without the date it begins with: "17 August 1979 Tarrowfield" gives
/// "Tarrowfield"; a text that begins with no date is returned whole.
fn without_leading_date(text: &str) -> &str {
    let mut rest = text.trim_start();
    while let Some(word) = rest.split_whitespace().next() {
        let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
        let number = bare.trim_end_matches(|c: char| c.is_alphabetic());
        let date_word = !bare.is_empty()
            && (crate::typed::is_month(&bare.to_lowercase())
                || (!number.is_empty() && number.chars().all(|c| c.is_ascii_digit())));
        if !date_word {
            break;
        }
        rest = rest[word.len()..].trim_start();
    }
    rest
}

/// Whether the field asks when a page was published: a date or month field whose words say
/// "published" or "publication".
fn asks_publication_date(field: &Field, field_type: &FieldType) -> bool {
    matches!(field_type, FieldType::Date | FieldType::Month)
        && tokens(&field.keywords)
            .iter()
            .any(|w| w.starts_with("publish") || w.starts_with("publicat") || w == "posted")
}

/// A publication date is what the page's markup says (`article:published_time`, JSON-LD,
/// `<time>`), read at extraction: the first ranked page that has one.
fn publication_date(
    corpus: &Corpus<'_>,
    ranked: &[At],
    field: &Field,
    field_type: &FieldType,
) -> Option<Fill> {
    let (rank, at, date) = ranked
        .iter()
        .enumerate()
        .find_map(|(rank, at)| corpus.sources[at.source].published.map(|d| (rank, *at, d)))?;
    let source = &corpus.sources[at.source];
    let value = match field_type {
        FieldType::Month => date.format("%Y-%m").to_string(),
        _ => date.format("%Y-%m-%d").to_string(),
    };
    let title = source.title.as_deref().unwrap_or(&source.url);
    Some(Fill {
        value: json!(value),
        citations: vec![citation(source, corpus.text(at))],
        reasoning: format!(
            "Extractive synthesis (no LLM): \"{title}\", the page ranked {} for \"{}\", gives {value} as its publication date in its markup.",
            rank + 1,
            field.keywords
        ),
        confidence: "medium",
    })
}

/// A number in the unit the field's name asks for: `revenue_billion_usd` wants 3.2, not
/// 3,200,000,000 (the text said "$3.2 billion", which was read at full scale).
fn in_field_unit(value: Value, field_name: &str, field_type: &FieldType) -> Value {
    const UNITS: &[(&str, f64)] = &[
        ("thousand", 1e3),
        ("million", 1e6),
        ("billion", 1e9),
        ("trillion", 1e12),
    ];
    let Some(number) = value.as_f64() else {
        return value;
    };
    let name = field_name.to_lowercase();
    let Some((_, scale)) = UNITS.iter().find(|(word, _)| {
        name.split(|c: char| !c.is_alphanumeric())
            .any(|w| w == *word)
    }) else {
        return value;
    };
    if number.abs() < *scale {
        return value;
    }
    let scaled = number / scale;
    match field_type {
        FieldType::Integer if scaled.fract() == 0.0 => json!(scaled as i64),
        FieldType::Integer => value,
        _ => json!((scaled * 1e6).round() / 1e6),
    }
}

/// The words that name what the question is about: the words of an object input's string
/// values, or the capitalised words of a text input after its first word.
fn entity_words(request: &Request) -> Vec<String> {
    // The parts of a word such as "HV-220" or "Loom-7": the number tells two models apart.
    let parts = |word: &str| -> Vec<String> {
        tokens(word)
            .into_iter()
            .filter(|w| !w.chars().all(|c| c.is_ascii_digit()) || word.contains('-'))
            .collect()
    };
    let words: Vec<String> = match &request.input {
        // The first word is skipped when it asks ("What", "Who", "List"), not when it
        // names ("Zorblax Robotics Series C funding round").
        Value::String(text) => text
            .split_whitespace()
            .enumerate()
            .filter(|(i, w)| *i > 0 || !QUESTION_WORDS.contains(&w.to_lowercase().as_str()))
            .map(|(_, w)| w)
            .filter(|w| {
                w.chars()
                    .find(|c| c.is_alphanumeric())
                    .is_some_and(char::is_uppercase)
            })
            .flat_map(parts)
            .collect(),
        _ => request
            .objective
            .split_whitespace()
            .flat_map(parts)
            .collect(),
    };
    let mut unique: Vec<String> = Vec::new();
    for w in words {
        if !unique.contains(&w) {
            unique.push(w);
        }
    }
    unique
}

/// Whether `sentence` is about a near namesake of the entity asked about: it names
/// something that shares some of the entity's words but not all, and has words of its own
/// ("Corrow Rovers FC" when "Corrow Royal Rovers" was asked), and never the entity itself.
fn names_another(sentence: &str, entity: &[String], value: &str) -> bool {
    if entity.len() < 2 {
        return false;
    }
    let mut another = false;
    // The value itself is no namesake: "founded in 1979 by Ilse Veltmark", asked about
    // Veltmark Medical.
    for name in crate::typed::proper_names(sentence)
        .into_iter()
        .filter(|name| *name != value.trim())
    {
        let words = tokens(name);
        let shared = entity
            .iter()
            .filter(|e| words.iter().any(|w| crate::typed::stem_eq(w, e)))
            .count();
        if shared == entity.len() {
            return false;
        }
        // Its own words are words: a date after the name ("the Great Flood of 3 March
        // 1902") names no other entity.
        let own = words.iter().any(|w| {
            w.chars().all(char::is_alphabetic)
                && !crate::typed::is_month(w)
                && !entity.iter().any(|e| crate::typed::stem_eq(w, e))
        });
        another |= shared > 0 && own;
    }
    another
}

/// Whether `value` names the entity asked about (all of its words): "Velthane River" is
/// not where the Velthane rises.
fn is_the_entity(value: &str, entity: &[String]) -> bool {
    let words = tokens(value);
    !entity.is_empty()
        && !words.is_empty()
        && entity
            .iter()
            .all(|e| words.iter().any(|w| crate::typed::stem_eq(w, e)))
}

/// Whether `sentence` ties the field's words to another named entity: "founders of Zorblax
/// Robotics" does not name the founders of the institute asked about.
fn of_another(sentence: &str, keywords: &str, entity: &[String]) -> bool {
    let keys = tokens(keywords);
    let lower = sentence.to_lowercase();
    let mut at = 0;
    for word in sentence.split_inclusive(|c: char| !c.is_alphanumeric()) {
        let start = at;
        at += word.len();
        let bare = word.trim_end_matches(|c: char| !c.is_alphanumeric());
        if bare.is_empty() || !keys.iter().any(|k| crate::typed::stem_eq(k, bare)) {
            continue;
        }
        let rest = &sentence[start + bare.len()..];
        let Some(after) = ["of ", "at ", "for "]
            .iter()
            .find_map(|p| rest.trim_start().strip_prefix(p))
        else {
            continue;
        };
        let Some(name) = crate::typed::proper_names(after).into_iter().next() else {
            continue;
        };
        if !after.starts_with(name) && !after.trim_start_matches("the ").starts_with(name) {
            continue;
        }
        let words = tokens(name);
        let shares = entity
            .iter()
            .any(|e| words.iter().any(|w| crate::typed::stem_eq(w, e)));
        if !shares && lower.len() == sentence.len() {
            return true;
        }
    }
    false
}

/// Words of questions that ask for a count or an amount: the answer states a number.
const NUMBER_QUESTIONS: &[&str] = &["how many", "how much", "number of", "population", "how old"];

/// The statements of a passage with how many of `keywords` each names: its sentences, and
/// each table row with a value in every cell as one statement (its cells as the page shows
/// them).
fn statements_of(passage: &str, keywords: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut prose = String::new();
    for line in passage.lines() {
        let t = line.trim();
        if !t.starts_with('|') {
            prose.push_str(line);
            prose.push('\n');
            continue;
        }
        out.extend(prose_statements(&prose, keywords));
        prose.clear();
        let row = crate::extract::tables_as_text(t);
        let cells: Vec<&str> = row.split('\t').map(str::trim).collect();
        if row.trim().is_empty() || cells.iter().any(|c| c.is_empty()) {
            continue;
        }
        let text = cells.join(" ");
        let hits = crate::typed::sentences_naming(&text, keywords)
            .into_iter()
            .map(|(_, h)| h)
            .max()
            .unwrap_or(0);
        out.push((text, hits));
    }
    out.extend(prose_statements(&prose, keywords));
    out
}

/// The sentences of prose that read as statements: a heading or a title line ("Annual
/// Report 2023") states nothing.
fn prose_statements(prose: &str, keywords: &str) -> Vec<(String, usize)> {
    crate::typed::sentences_naming(prose, keywords)
        .into_iter()
        .filter(|(s, _)| {
            s.ends_with(['.', '!', '?', '"', '”', ')']) || s.split_whitespace().count() >= 8
        })
        .collect()
}

/// Whether `sentence` gives a count or an amount next to the question's words: a number
/// that is not a year, a percentage or a date.
fn states_a_count(sentence: &str, focus: &str) -> bool {
    crate::typed::find_value(&FieldType::Number, sentence, focus).is_some_and(|f| {
        let after = sentence
            .split_once(f.evidence.as_str())
            .map_or("", |(_, rest)| rest)
            .trim_start();
        let year =
            f.evidence.len() == 4 && f.value.as_i64().is_some_and(|y| (1800..=2100).contains(&y));
        f.plain && !year && !after.starts_with('%') && !after.starts_with("per cent")
    })
}

/// First words of questions that ask for an overview of their subject.
const OVERVIEW_WORDS: &[&str] = &[
    "describe",
    "summarise",
    "summarize",
    "overview",
    "tell",
    "explain",
    "outline",
    "report",
];

/// Most sentences quoted from one page in a report.
const REPORT_SENTENCES_PER_PAGE: usize = 3;

/// A sentence that answers: it names what the question asks (a word of it besides the
/// entity's), on a page or in a passage about the entity, with a number when a count is
/// asked.
struct Statement {
    source: usize,
    sentence: String,
}

/// The statements of the sources that answer the question, best-ranked first, at most
/// `per_page` from one page.
fn answering_statements(
    corpus: &Corpus<'_>,
    request: &Request,
    query: &str,
    per_page: usize,
) -> Vec<Statement> {
    let entity = entity_words(request);
    let asked: Vec<String> = entity.iter().map(|w| stem(w)).collect();
    let focus: Vec<String> = tokens(query)
        .into_iter()
        .filter(|w| {
            !asked.contains(&stem(w))
                && !QUESTION_WORDS.contains(&w.as_str())
                && !GENERIC_WORDS.contains(&w.as_str())
        })
        .collect();
    let lower = query.to_lowercase();
    // "Describe X", "Tell me about X": every sentence about X answers, when none names a
    // narrower topic of the question.
    let overview = lower
        .split_whitespace()
        .next()
        .is_some_and(|w| OVERVIEW_WORDS.contains(&w));
    let focus = if focus.is_empty() {
        entity.join(" ")
    } else {
        focus.join(" ")
    };
    let wants_number = NUMBER_QUESTIONS.iter().any(|q| lower.contains(q));
    let mut out: Vec<Statement> = Vec::new();
    // Half the entity's words, as forms of the words: "Tarrowfield" does not name
    // "Tarrowmoor Springs".
    let names_half = |text: &str| {
        let words = tokens(text);
        let named = entity
            .iter()
            .filter(|e| words.iter().any(|w| crate::typed::stem_eq(w, e)))
            .count();
        named * 2 >= entity.len()
    };
    for at in corpus.rank(query) {
        let title_names = entity.is_empty()
            || names_half(corpus.sources[at.source].title.as_deref().unwrap_or(""));
        for (sentence, hits) in statements_of(corpus.text(at), &focus) {
            let from_page = out.iter().filter(|s| s.source == at.source).count();
            if hits == 0
                || from_page >= per_page
                || !(title_names || names_half(&sentence))
                || (wants_number && !states_a_count(&sentence, &focus))
                || out.iter().any(|s| s.sentence == sentence)
            {
                continue;
            }
            out.push(Statement {
                source: at.source,
                sentence,
            });
        }
    }
    if out.is_empty() && overview && focus != entity.join(" ") {
        let mut broad = request.clone();
        broad.objective = entity.join(" ");
        return answering_statements(corpus, &broad, &entity.join(" "), per_page);
    }
    out
}

/// A markdown answer: the sentences of the sources that answer the question, the best
/// first, each with a numbered citation, and the pages listed. When no sentence answers,
/// the answer says so. From `pro` (three synthesis rounds) up, a report: the answer, then
/// the findings of each page under its title, every claim cited.
pub fn text_output(
    request: &Request,
    description: Option<&str>,
    sources: &[Source],
    rounds: u32,
) -> Synthesis {
    let corpus = Corpus::new(sources);
    let query = format!("{} {}", request.objective, description.unwrap_or(""));
    let report = rounds >= 3;
    let wanted_pages = 2 + rounds.max(1) as usize;
    let per_page = if report { REPORT_SENTENCES_PER_PAGE } else { 1 };
    let statements = answering_statements(&corpus, request, &query, per_page);
    // Pages in the order of their best statement, at most `wanted_pages`.
    let mut pages: Vec<usize> = Vec::new();
    for s in &statements {
        if !pages.contains(&s.source) && pages.len() < wanted_pages {
            pages.push(s.source);
        }
    }
    if pages.is_empty() {
        return Synthesis {
            content: json!(format!(
                "No source read in this run states an answer to this question ({}).",
                request.objective.trim()
            )),
            basis: vec![json!({
                "field": "output",
                "citations": [],
                "reasoning": "Extractive synthesis (no LLM): no sentence of the pages read names what the question asks about the subject it names, so nothing is quoted.",
                "confidence": "low",
            })],
            warnings: vec![
                json!({"type": "warning", "message": "No source read in this run answers the question."}),
            ],
        };
    }
    let number = |source: usize| pages.iter().position(|p| *p == source).map(|i| i + 1);
    let cited: Vec<&Statement> = statements
        .iter()
        .filter(|s| number(s.source).is_some())
        .collect();
    let mut markdown = String::new();
    if report {
        let first = cited[0];
        markdown.push_str(&format!(
            "## Answer\n\n{} [{}]\n\n## Findings\n",
            first.sentence,
            number(first.source).unwrap_or(1)
        ));
        for &page in &pages {
            let source = &sources[page];
            markdown.push_str(&format!(
                "\n### {}\n\n",
                source.title.as_deref().unwrap_or(&source.url)
            ));
            for s in cited.iter().filter(|s| s.source == page) {
                markdown.push_str(&format!(
                    "- {} [{}]\n",
                    s.sentence,
                    number(page).unwrap_or(1)
                ));
            }
        }
    } else {
        let lines: Vec<String> = pages
            .iter()
            .filter_map(|&page| cited.iter().find(|s| s.source == page))
            .map(|s| format!("{} [{}]", s.sentence, number(s.source).unwrap_or(1)))
            .collect();
        markdown.push_str(&lines.join("\n\n"));
        markdown.push('\n');
    }
    markdown.push_str("\n**Sources**\n");
    for (i, &page) in pages.iter().enumerate() {
        let source = &sources[page];
        markdown.push_str(&format!(
            "\n{}. [{}]({})",
            i + 1,
            source.title.as_deref().unwrap_or(&source.url),
            source.url
        ));
    }
    let citations: Vec<Value> = pages
        .iter()
        .map(|&page| {
            let quoted: Vec<&str> = cited
                .iter()
                .filter(|s| s.source == page)
                .map(|s| s.sentence.as_str())
                .collect();
            let mut c = citation(&sources[page], quoted[0]);
            c["excerpts"] = json!(quoted);
            c
        })
        .collect();
    let confidence = if pages.len() > 1 { "medium" } else { "low" };
    let how = if report {
        "a report: the best-ranked answering sentence, then each page's answering sentences under its title"
    } else {
        "the best-ranked answering sentence of each page"
    };
    Synthesis {
        content: json!(markdown),
        basis: vec![json!({
            "field": "output",
            "citations": citations,
            "reasoning": format!(
                "Extractive synthesis (no LLM): {how}, from {} page(s); a sentence answers when it names what the question asks, on a page about its subject. Each is cited.",
                pages.len()
            ),
            "confidence": confidence,
        })],
        warnings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(url: &str, title: &str, passages: &[&str]) -> Source {
        Source::of_passages(url, title, passages)
    }

    fn request(input: Value) -> Request {
        Request::from_stored(&json!({"input": input}))
    }

    /// A one-passage source published on `date` (year, month, day).
    fn dated(url: &str, title: &str, date: (i32, u32, u32), text: &str) -> Source {
        let mut s = source(url, title, &[text]);
        s.published = chrono::NaiveDate::from_ymd_opt(date.0, date.1, date.2);
        s
    }

    #[test]
    fn a_table_row_ranked_low_is_read_when_its_label_names_the_field() {
        // The company's own pages outrank its leadership page (whose title does not name
        // it) for every passage; the table's row still states the CFO, under a label that
        // writes the role.
        let news: Vec<String> = (0..12)
            .map(|i| format!("Harrowgate Mills reported financial results for quarter {i}."))
            .collect();
        let news: Vec<&str> = news.iter().map(String::as_str).collect();
        let sources = [
            source("http://a.example/news", "Harrowgate Mills", &news),
            source(
                "http://a.example/leadership",
                "Leadership",
                &[
                    "Harrowgate Mills is run by a small team.",
                    "| Name | Role | Since |\n| --- | --- | --- |\n| Odo Brisk | Chief Executive Officer | 2015 |\n| Wenna Tull | Chief Financial Officer | 2019 |",
                    "Office: Hall C, room 214, Tuesdays 14:00",
                ],
            ),
        ];
        let schema = json!({"type": "object", "properties": {
            "cfo": {"type": "string", "description": "Full name of the CFO"},
            "ceo": {"type": "string", "description": "Name of the chief executive officer"},
        }});
        let s = json_output(
            &request(json!(
                "Who is the chief financial officer of Harrowgate Mills?"
            )),
            &schema,
            &sources,
            1,
        );
        assert_eq!(s.content["cfo"], json!("Wenna Tull"), "{:?}", s.basis);
        // "Office" shares a stem with "officer", and its line is no answer.
        assert_eq!(s.content["ceo"], json!("Odo Brisk"), "{:?}", s.basis);
    }

    #[test]
    fn an_infobox_row_answers_for_its_own_page_and_the_current_value() {
        // The neighbour's page names the town too, is newer, and its infobox has a "Mayor"
        // row; the town's own row begins with the name; neither row says who was mayor
        // before: a sentence does.
        let mut neighbour = source(
            "http://wiki.example/Drellby",
            "Drellby",
            &[
                "Drellby is a market town on the Ouse, upstream of Harnwick.",
                "| Mayor | Pell Anstey |\n| --- | --- |\n| Area | 31 km2 |",
            ],
        );
        neighbour.published = chrono::NaiveDate::from_ymd_opt(2024, 5, 1);
        let mut town = source(
            "http://wiki.example/Harnwick",
            "Harnwick",
            &[
                "| Mayor | Idris Vane (Independent) |\n| --- | --- |\n| Area | 12 km2 |",
                "Harnwick is a town on the Ouse. Its council moved to the old mill in 2019.",
                "Idris Vane succeeded Tamsin Hale as mayor in 2021.",
            ],
        );
        town.published = chrono::NaiveDate::from_ymd_opt(2020, 1, 1);
        let sources = [neighbour, town];
        let schema = json!({"type": "object", "properties": {
            "mayor": {"type": "string", "description": "Name of the current mayor"},
            "previous_mayor": {"type": "string", "description": "Name of the previous mayor"},
        }});
        let s = json_output(
            &request(json!("Who is the mayor of Harnwick?")),
            &schema,
            &sources,
            2,
        );
        assert_eq!(s.content["mayor"], json!("Idris Vane"), "{:?}", s.basis);
        assert_eq!(
            s.content["previous_mayor"],
            json!("Tamsin Hale"),
            "{:?}",
            s.basis
        );
    }

    #[test]
    fn a_cell_that_begins_with_a_name_gives_the_name() {
        let mut neighbour = source(
            "http://wiki.example/Drellby",
            "Drellby",
            &[
                "| Mayor | Pell Anstey |\n| --- | --- |\n| Area | 31 km2 |",
                "Drellby is a market town on the Ouse, upstream of Harnwick.",
            ],
        );
        neighbour.published = chrono::NaiveDate::from_ymd_opt(2024, 5, 1);
        let mut town = source(
            "http://wiki.example/Harnwick",
            "Harnwick",
            &[
                "Harnwick is a town on the Ouse.",
                "| Mayor | Idris Vane (Independent) |\n| --- | --- |\n| Area | 12 km2 |",
            ],
        );
        town.published = chrono::NaiveDate::from_ymd_opt(2020, 1, 1);
        let schema = json!({"type": "object", "properties": {
            "mayor": {"type": "string", "description": "Name of the current mayor"},
        }});
        for rounds in [1, 2] {
            let s = json_output(
                &request(json!({"town": "Harnwick"})),
                &schema,
                &[neighbour.clone(), town.clone()],
                rounds,
            );
            assert_eq!(s.content["mayor"], json!("Idris Vane"), "{:?}", s.basis);
        }
    }

    #[test]
    fn a_born_row_gives_the_date_and_the_place_after_it() {
        let sources = [source(
            "http://wiki.example/Ilsa_Marrow",
            "Ilsa Marrow",
            &["| Born | 3 March 1961 Wendlebury, Orrshire |\n| --- | --- |\n| Occupation | Potter |"],
        )];
        let schema = json!({"type": "object", "properties": {
            "birth_date": {"type": "string", "description": "Date of birth (YYYY-MM-DD)"},
            "birthplace": {"type": "string", "description": "Town of birth"},
        }});
        let s = json_output(
            &request(json!({"person": "Ilsa Marrow"})),
            &schema,
            &sources,
            1,
        );
        assert_eq!(
            s.content["birth_date"],
            json!("1961-03-03"),
            "{:?}",
            s.basis
        );
        assert_eq!(
            s.content["birthplace"],
            json!("Wendlebury"),
            "{:?}",
            s.basis
        );
        assert_eq!(without_leading_date("Wendlebury"), "Wendlebury");
        assert_eq!(without_leading_date("17th May 1990 Oxley"), "Oxley");
    }

    #[test]
    fn the_entitys_own_pages_count_without_repeating_its_full_name() {
        // The encyclopaedia names "Harrowgate Mills" in every passage; the company's own
        // careers page says "Harrowgate" once and "we" after, and is where the figures are.
        // "mills" is a common word (written in lower case), so leaving it out does not make
        // the careers page about something else; a namesake's page still does not count.
        let wiki: Vec<String> = (0..12)
            .map(|i| format!("Harrowgate Mills, fact {i}: Harrowgate Mills runs three mills and has open days."))
            .collect();
        let wiki: Vec<&str> = wiki.iter().map(String::as_str).collect();
        let sources = [
            source(
                "http://wiki.example/Harrowgate_Mills",
                "Harrowgate Mills",
                &wiki,
            ),
            source(
                "http://harrowgate.example/careers",
                "Careers",
                &[
                    "Work at Harrowgate.",
                    "We currently have 86 open positions in weaving and sales.",
                ],
            ),
            source(
                "http://harrowgate-looms.example/jobs",
                "Jobs",
                &["Harrowgate Looms has 12 open positions."],
            ),
        ];
        let schema = json!({"type": "object", "properties": {
            "open_positions": {"type": "integer", "description": "Number of open positions"},
        }});
        let s = json_output(
            &request(json!({"company": "Harrowgate Mills"})),
            &schema,
            &sources,
            1,
        );
        assert_eq!(s.content["open_positions"], json!(86), "{:?}", s.basis);
    }

    #[test]
    fn a_one_word_name_is_answered_from_the_page_titled_with_it() {
        // The neighbour's page mentions Harnwick and ranks as well for "population".
        let sources = [
            source(
                "http://wiki.example/Drellby",
                "Drellby",
                &["Drellby, upstream of Harnwick, has a population of 9,100 by the population register."],
            ),
            source(
                "http://wiki.example/Harnwick",
                "Harnwick",
                &["Harnwick is a market town on the river Ouse with an old bridge, a church and a mill; it has a population of 14,800."],
            ),
        ];
        let schema = json!({"type": "object", "properties": {
            "population": {"type": "integer", "description": "Population"},
        }});
        let s = json_output(
            &request(json!("What is the population of Harnwick?")),
            &schema,
            &sources,
            2,
        );
        assert_eq!(s.content["population"], json!(14800), "{:?}", s.basis);
    }

    #[test]
    fn a_range_of_dates_gives_the_first_and_the_last_day() {
        let sources = [source(
            "http://kessel.example/fair",
            "Kessel Fair",
            &["The Kessel Fair returns to the harbour from Friday 4 April to Sunday 6 April 2025. Entry is free."],
        )];
        let schema = json!({"type": "object", "properties": {
            "start_date": {"type": "string", "description": "First day of the fair (YYYY-MM-DD)"},
            "end_date": {"type": "string", "description": "Last day of the fair (YYYY-MM-DD)"},
        }});
        let s = json_output(
            &request(json!({"event": "Kessel Fair 2025"})),
            &schema,
            &sources,
            1,
        );
        assert_eq!(
            s.content["start_date"],
            json!("2025-04-04"),
            "{:?}",
            s.basis
        );
        assert_eq!(s.content["end_date"], json!("2025-04-06"), "{:?}", s.basis);
    }

    #[test]
    fn a_field_described_as_a_record_or_of_another_name_needs_a_passage_saying_so() {
        let schema = json!({"type": "object", "properties": {
            "record_attendance": {"type": "integer", "description": "All-time record attendance at the ground"},
            "subsidiary_employees": {"type": "integer", "description": "Number of employees of the subsidiary Drell Marine"},
        }});
        let input = json!({"company": "Harrow Park"});
        let plain = [source(
            "http://a.example/harrow-park",
            "Harrow Park",
            &["Harrow Park reopened in May: 12,600 spectators attended the first match, and the club's 400 employees were there too."],
        )];
        let s = json_output(&request(input.clone()), &schema, &plain, 1);
        assert_eq!(s.content["record_attendance"], Value::Null, "{:?}", s.basis);
        assert_eq!(
            s.content["subsidiary_employees"],
            Value::Null,
            "{:?}",
            s.basis
        );
        let stated = [source(
            "http://a.example/harrow-park",
            "Harrow Park",
            &[
                "Harrow Park drew a record attendance of 14,000 spectators in 1961.",
                "Its subsidiary Drell Marine has 35 employees.",
            ],
        )];
        let s = json_output(&request(input.clone()), &schema, &stated, 1);
        assert_eq!(
            s.content["record_attendance"],
            json!(14000),
            "{:?}",
            s.basis
        );
        assert_eq!(
            s.content["subsidiary_employees"],
            json!(35),
            "{:?}",
            s.basis
        );
        // Rows that give an attendance but no record are passed over, and the statements
        // left are weighed without them (this panicked once: the rows were counted as
        // label statements after they had been dropped).
        let rows = [source(
            "http://a.example/harrow-park",
            "Harrow Park",
            &[
                "| Attendance (2023) | 9,000 |\n| --- | --- |\n| Attendance (2024) | 9,500 |",
                "Harrow Park drew a record attendance of 14,000 spectators in 1961.",
            ],
        )];
        let s = json_output(&request(input), &schema, &rows, 2);
        assert_eq!(
            s.content["record_attendance"],
            json!(14000),
            "{:?}",
            s.basis
        );
    }

    #[test]
    fn a_chief_executive_named_away_from_the_entity_is_someone_elses() {
        let schema = json!({"type": "object", "properties": {
            "ceo": {"type": "string", "description": "Name of the current chief executive"},
        }});
        let input = json!({"company": "Orrin Medical"});
        let news = source(
            "http://news.example/ward",
            "New ward opens at St Hild's",
            &[
                "The scanner was made by Orrin Medical.",
                "The board's chief executive, Ada Voss, opened the ward.",
            ],
        );
        let s = json_output(
            &request(input.clone()),
            &schema,
            std::slice::from_ref(&news),
            1,
        );
        assert_eq!(s.content["ceo"], Value::Null, "{:?}", s.basis);
        let own = source(
            "http://orrin.example/about",
            "About Orrin Medical",
            &["The company is led by chief executive Bram Olde."],
        );
        let s = json_output(&request(input), &schema, &[news, own], 1);
        assert_eq!(s.content["ceo"], json!("Bram Olde"), "{:?}", s.basis);
    }

    #[test]
    fn a_founder_who_gave_the_company_its_name_is_no_namesake() {
        let sources = [source(
            "http://veltmark.example/history",
            "History of Veltmark Medical",
            &[
                "Veltmark Medical makes scanners.",
                "The company was founded in 1979 by Ilse Veltmark, a physicist.",
            ],
        )];
        let schema = json!({"type": "object", "properties": {
            "founder": {"type": "string", "description": "Founder of the company"},
        }});
        let s = json_output(
            &request(json!({"company": "Veltmark Medical"})),
            &schema,
            &sources,
            1,
        );
        assert_eq!(
            s.content["founder"],
            json!("Ilse Veltmark"),
            "{:?}",
            s.basis
        );
    }

    #[test]
    fn a_village_is_read_from_an_address_row_without_its_street() {
        for (address, village) in [
            ("3 chemin des Pierres, Sarnac", "Sarnac"),
            ("Kvarngatan 7, Ostvik", "Ostvik"),
            ("14 Mill Road, Drellby", "Drellby"),
        ] {
            let row = format!("| Address | {address} |\n| --- | --- |\n| Founded | 1884 |");
            let sources = [source(
                "http://estate.example/",
                "Domaine Arlo",
                &[row.as_str()],
            )];
            let schema = json!({"type": "object", "properties": {
                "village": {"type": "string", "description": "Village where the estate is"},
            }});
            let s = json_output(
                &request(json!({"estate": "Domaine Arlo"})),
                &schema,
                &sources,
                1,
            );
            assert_eq!(
                s.content["village"],
                json!(village),
                "{address}: {:?}",
                s.basis
            );
        }
    }

    #[test]
    fn a_list_field_takes_no_bare_number_from_a_cell() {
        let sources = [source(
            "http://a.example/kessel-fair",
            "Kessel Fair 2025",
            &["| Stages in fleet | 14 |\n| --- | --- |\n| Opened | 1990 |"],
        )];
        let schema = json!({"type": "object", "properties": {
            "stages": {"type": "array", "items": {"type": "string"}, "description": "Names of the stages"},
        }});
        let s = json_output(
            &request(json!({"event": "Kessel Fair 2025"})),
            &schema,
            &sources,
            1,
        );
        assert_eq!(s.content["stages"], Value::Null, "{:?}", s.basis);
    }

    #[test]
    fn fills_typed_fields_with_basis_and_honest_confidence() {
        let sources = [
            source(
                "http://a.example/about",
                "About Zorblax Robotics",
                &[
                    "Zorblax Robotics was founded on 5 March 2011 in Quellmoor.",
                    "| Employees | 12,400 |\n| --- | --- |\n| Ownership | Private |",
                    "It is a privately held company.",
                ],
            ),
            source(
                "http://b.example/news",
                "Zorblax grows",
                &["Zorblax Robotics now employs 12,400 people."],
            ),
            source(
                "http://d.example/profile",
                "Zorblax Robotics profile",
                &["Zorblax Robotics has 12,400 employees."],
            ),
            source(
                "http://c.example/cookies",
                "Cookies",
                &["We use 3 cookies. Call 555 0100."],
            ),
        ];
        let schema = json!({"type": "object", "properties": {
            "employees": {"type": "integer", "description": "Number of employees"},
            "founded": {"type": "string", "description": "Founding date (YYYY-MM-DD)"},
            "ownership": {"type": "string", "enum": ["public", "private"]},
            "ceo": {"type": ["string", "null"], "description": "Chief executive's name"},
            "revenue": {"type": "number", "description": "Annual revenue"}
        }, "required": ["employees", "founded", "ownership", "ceo", "revenue"]});
        let s = json_output(
            &request(json!({"company": "Zorblax Robotics"})),
            &schema,
            &sources,
            1,
        );
        assert_eq!(s.content["employees"], json!(12400));
        assert_eq!(s.content["founded"], json!("2011-03-05"));
        assert_eq!(s.content["ownership"], json!("private"));
        assert_eq!(s.content["ceo"], Value::Null, "no source names a CEO");
        assert_eq!(s.content["revenue"], Value::Null);
        let fields: Vec<&str> = s
            .basis
            .iter()
            .map(|b| b["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            ["employees", "founded", "ownership", "ceo", "revenue"]
        );
        let employees = &s.basis[0];
        assert_eq!(
            employees["confidence"], "high",
            "a label states it and other sources agree: {employees}"
        );
        assert_eq!(employees["citations"].as_array().unwrap().len(), 2);
        // The basis names the pages that agree (the README promises it).
        let reasoning = employees["reasoning"].as_str().unwrap();
        assert!(
            reasoning.contains("Also stated by:")
                && reasoning.contains("http://b.example/news")
                && reasoning.contains("http://d.example/profile"),
            "{reasoning}"
        );
        assert!(employees["citations"][0]["excerpts"][0]
            .as_str()
            .unwrap()
            .contains("12,400"));
        assert_eq!(s.basis[3]["confidence"], "low");
        assert!(s.basis[3]["citations"].as_array().unwrap().is_empty());
    }

    #[test]
    fn fields_need_passages_that_name_them() {
        let sources = [source(
            "http://a.example/about",
            "Corvel Cableworks",
            &["Corvel Cableworks employs 1,900 people. The coopérative was founded in 1974."],
        )];
        let schema = json!({"type": "object", "properties": {
            "employees": {"type": "integer", "description": "Number of employees"},
            "record_attendance": {"type": "integer", "description": "Highest attendance"},
            "coopérative_founded": {"type": "integer", "description": "Year founded"}
        }});
        let s = json_output(
            &request(json!({"company": "Corvel Cableworks"})),
            &schema,
            &sources,
            1,
        );
        assert_eq!(s.content["employees"], json!(1900));
        assert_eq!(s.content["coopérative_founded"], json!(1974));
        assert_eq!(
            s.content["record_attendance"],
            Value::Null,
            "no passage states a record"
        );
    }

    #[test]
    fn a_near_namesake_does_not_answer() {
        let sources = [source(
            "http://a.example/clubs",
            "Clubs of Corrow",
            &["The semi-professional Corrow Rovers FC, founded in 1894, plays at Corrow Park. Corrow Royal Rovers was founded in 1911 by ironworkers."],
        )];
        let schema = json!({"type": "object", "properties": {
            "founded_year": {"type": "integer", "description": "Year the club was founded"}
        }});
        let s = json_output(
            &request(json!({"club": "Corrow Royal Rovers"})),
            &schema,
            &sources,
            1,
        );
        assert_eq!(s.content["founded_year"], json!(1911));
        let only_namesake = [source(
            "http://a.example/clubs",
            "Clubs of Corrow",
            &["The semi-professional Corrow Rovers FC, founded in 1894, plays at Corrow Park."],
        )];
        let s = json_output(
            &request(json!({"club": "Corrow Royal Rovers"})),
            &schema,
            &only_namesake,
            1,
        );
        assert_eq!(s.content["founded_year"], Value::Null);
    }

    #[test]
    fn a_cross_check_prefers_the_later_report() {
        // Each figure says its own year; the page dates are the other way round.
        let sources = [
            dated(
                "http://a.example/profile",
                "Harwick Looms",
                (2025, 3, 1),
                "| Employees | 240 (2021) |\n| --- | --- |\n| Founded | 1902 |",
            ),
            dated(
                "http://b.example/factsheet",
                "Harwick Looms",
                (2022, 5, 2),
                "| Employees | 310 (2024) |\n| --- | --- |\n| Mills | 2 |",
            ),
        ];
        let schema = json!({"type": "object", "properties": {
            "employees": {"type": "integer", "description": "Number of employees"}
        }});
        let input = json!({"company": "Harwick Looms"});
        // One reading takes the best-ranked statement; a cross-check the latest one.
        let once = json_output(&request(input.clone()), &schema, &sources, 1);
        assert_eq!(once.content["employees"], json!(240));
        let checked = json_output(&request(input), &schema, &sources, 2);
        assert_eq!(checked.content["employees"], json!(310));
        assert_eq!(
            checked.basis[0]["confidence"], "medium",
            "the sources disagree"
        );
    }

    #[test]
    fn a_page_date_or_another_facts_year_does_not_date_a_figure() {
        let sources = [
            dated(
                "http://a.example/about",
                "Harwick Looms",
                (2020, 3, 1),
                "Founded in 1902, Harwick Looms has 310 employees.",
            ),
            dated(
                "http://b.example/news",
                "Harwick Looms",
                (2024, 5, 2),
                "Harwick Looms, a weaver that employs 240 people at its mill, will open a shop in town next spring.",
            ),
        ];
        let schema = json!({"type": "object", "properties": {
            "employees": {"type": "integer", "description": "Number of employees"}
        }});
        let input = json!({"company": "Harwick Looms"});
        let once = json_output(&request(input.clone()), &schema, &sources, 1);
        let checked = json_output(&request(input), &schema, &sources, 2);
        assert_eq!(once.content["employees"], json!(310));
        assert_eq!(checked.content["employees"], json!(310));
    }

    #[test]
    fn statements_about_other_entities_do_not_answer() {
        let sources = [source(
            "http://a.example/inst",
            "Pellin Institute",
            &["Notable alumni: Ada Rusk and Bo Tarn, founders of Ketterly Motors. The Pellin Institute was founded by Corin Vale in 1898."],
        )];
        let schema = json!({"type": "object", "properties": {
            "founder": {"type": "string", "description": "Name of the founder"}
        }});
        let s = json_output(
            &request(json!({"institution": "Pellin Institute"})),
            &schema,
            &sources,
            1,
        );
        assert_eq!(s.content["founder"], json!("Corin Vale"));
        // The entity's own name is not a value of it.
        let sources = [source(
            "http://a.example/river",
            "Velmer River",
            &["Velmer River\n\nThe Velmer River rises in the Corrow Hills."],
        )];
        let schema = json!({"type": "object", "properties": {
            "source": {"type": "string", "description": "Where the river rises"}
        }});
        let s = json_output(&request(json!({"river": "Velmer"})), &schema, &sources, 1);
        assert_eq!(s.content["source"], json!("Corrow Hills"));
    }

    #[test]
    fn table_cells_are_read_under_their_label_and_quoted_as_text() {
        let sources = [source(
            "http://a.example/wiki",
            "Harrow Kettleworks",
            &["| Type | Private |\n| --- | --- |\n| Founded | 3 May 1911 |\n| Headquarters | Pell Yard Business Park, Brastmoor |\n| Employees | about 640 (2023) |"],
        )];
        let schema = json!({"type": "object", "properties": {
            "hq_city": {"type": "string", "description": "City of the headquarters"},
            "employees": {"type": "integer", "description": "Number of employees"},
            "founded_on": {"type": "string", "description": "Founding date (YYYY-MM-DD)"}
        }});
        let s = json_output(
            &request(json!({"company": "Harrow Kettleworks"})),
            &schema,
            &sources,
            1,
        );
        assert_eq!(s.content["hq_city"], json!("Brastmoor"));
        assert_eq!(s.content["employees"], json!(640));
        assert_eq!(s.content["founded_on"], json!("1911-05-03"));
        assert_eq!(
            s.basis[1]["citations"][0]["excerpts"][0],
            json!("Employees\tabout 640 (2023)")
        );
    }

    #[test]
    fn a_text_answer_says_when_no_source_answers() {
        let sources = [source(
            "http://a.example/",
            "Quellmarsh",
            &["Quellmarsh lies on the Velmer River. Its bridge has seven arches."],
        )];
        let s = text_output(
            &request(json!("What is the population of Quellmarsh?")),
            None,
            &sources,
            1,
        );
        let text = s.content.as_str().unwrap();
        assert!(
            text.starts_with("No source read in this run states"),
            "{text}"
        );
        assert!(s.basis[0]["citations"].as_array().unwrap().is_empty());
        assert_eq!(s.warnings.len(), 1);
        // A sentence about another town's population does not answer either.
        let other = [source(
            "http://b.example/",
            "Tarrowmead",
            &["Tarrowmead has a population of 21,700."],
        )];
        let s = text_output(
            &request(json!("What is the population of Quellmarsh?")),
            None,
            &other,
            1,
        );
        assert!(
            s.content.as_str().unwrap().starts_with("No source read"),
            "{}",
            s.content
        );
    }

    #[test]
    fn pro_writes_a_report_with_every_claim_cited() {
        let sources = [
            source(
                "http://a.example/",
                "Velmer River",
                &["The Velmer River rises in the Corrow Hills. The Velmer River is 212 km long. The Velmer River is navigable for 160 km."],
            ),
            source(
                "http://b.example/",
                "Rivers of Orrin",
                &["The Velmer River flows into Ossel Bay at Osselhaven."],
            ),
        ];
        let s = text_output(
            &request(json!("Describe the course of the Velmer River")),
            None,
            &sources,
            3,
        );
        let text = s.content.as_str().unwrap();
        assert!(text.starts_with("## Answer\n\n"), "{text}");
        assert!(text.contains("## Findings"), "{text}");
        assert!(text.contains("### Velmer River"), "{text}");
        assert!(text.contains("### Rivers of Orrin"), "{text}");
        assert!(
            text.contains("- The Velmer River flows into Ossel Bay at Osselhaven. [2]"),
            "{text}"
        );
        let cites = s.basis[0]["citations"].as_array().unwrap();
        assert_eq!(cites.len(), 2);
        assert!(
            cites[0]["excerpts"].as_array().unwrap().len() > 1,
            "{cites:?}"
        );
        // One round: the answer is the answering sentences, one per page, no sections.
        let s = text_output(
            &request(json!("Describe the course of the Velmer River")),
            None,
            &sources,
            1,
        );
        assert!(!s.content.as_str().unwrap().contains("## Findings"));
    }

    #[test]
    fn sentences_agreeing_are_medium_confidence() {
        let sources = [
            source(
                "http://a.example/",
                "Harwick Looms",
                &["Harwick Looms employs 640 people."],
            ),
            source(
                "http://b.example/",
                "Harwick Looms news",
                &["Harwick Looms now employs 640 people."],
            ),
        ];
        let schema = json!({"type": "object", "properties": {
            "employees": {"type": "integer", "description": "Number of employees"}
        }});
        let s = json_output(
            &request(json!({"company": "Harwick Looms"})),
            &schema,
            &sources,
            1,
        );
        assert_eq!(s.content["employees"], json!(640));
        assert_eq!(s.basis[0]["confidence"], "medium");
        assert_eq!(s.basis[0]["citations"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn a_field_named_only_by_its_kind_is_read_beside_the_entity() {
        let sources = [source(
            "http://a.example/museum",
            "Storm Wing opens",
            &["The first gallery tells the story of the Great Flood of 3 March 1902, in which the mill was lost."],
        )];
        let schema = json!({"type": "object", "properties": {
            "date": {"type": "string", "description": "Date of the flood (YYYY-MM-DD)"}
        }});
        let s = json_output(
            &request(json!({"event": "Great Flood of Harrow"})),
            &schema,
            &sources,
            1,
        );
        assert_eq!(s.content["date"], json!("1902-03-03"));
    }

    #[test]
    fn fields_are_read_under_the_words_pages_use() {
        let sources = [source(
            "http://a.example/fest",
            "Harrow Folk Festival",
            &["The Harrow Folk Festival ended with a record: 61,000 spectators over four days. In 1881, 37 fishermen died in the gale."],
        )];
        let schema = json!({"type": "object", "properties": {
            "attendance": {"type": "integer", "description": "Total attendance"},
            "deaths": {"type": "integer", "description": "Fishermen who died"}
        }});
        let s = json_output(
            &request(json!({"festival": "Harrow Folk Festival"})),
            &schema,
            &sources,
            1,
        );
        assert_eq!(s.content["attendance"], json!(61000));
        assert_eq!(s.content["deaths"], json!(37));
    }

    #[test]
    fn list_fields_get_element_basis() {
        let sources = [source(
            "http://a.example/",
            "Zorblax products",
            &["Zorblax product lines: Kestrel Arm, Moth Courier and Loom-7."],
        )];
        let schema = json!({"type": "object", "properties": {
            "product_lines": {"type": "array", "items": {"type": "string"}, "description": "Names of product lines"}
        }});
        let s = json_output(&request(json!("Zorblax")), &schema, &sources, 1);
        assert_eq!(
            s.content["product_lines"],
            json!(["Kestrel Arm", "Moth Courier", "Loom-7"])
        );
        let fields: Vec<&str> = s
            .basis
            .iter()
            .map(|b| b["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "product_lines",
                "product_lines.0",
                "product_lines.1",
                "product_lines.2"
            ]
        );
    }

    #[test]
    fn text_answers_cite_their_sentences() {
        let sources = [
            source(
                "http://a.example/",
                "Quellmoor",
                &["Quellmoor lies on the Velthane River. It has a bridge."],
            ),
            source(
                "http://b.example/",
                "Rivers",
                &["The Velthane River rises in the Corrach Hills."],
            ),
        ];
        let s = text_output(
            &request(json!("Which river is Quellmoor on?")),
            None,
            &sources,
            1,
        );
        let text = s.content.as_str().unwrap();
        assert!(
            text.starts_with("Quellmoor lies on the Velthane River. [1]"),
            "{text}"
        );
        assert!(text.contains("1. [Quellmoor](http://a.example/)"), "{text}");
        assert_eq!(s.basis[0]["field"], "output");
        assert_eq!(s.basis[0]["citations"][0]["url"], "http://a.example/");
        let none = text_output(&request(json!("zzz qqq")), None, &sources, 1);
        assert_eq!(none.basis[0]["confidence"], "low");
        assert_eq!(none.warnings.len(), 1);
    }

    #[test]
    fn numbers_in_the_fields_unit() {
        assert_eq!(
            in_field_unit(
                json!(3_200_000_000i64),
                "revenue_billion_usd",
                &FieldType::Number
            ),
            json!(3.2)
        );
        assert_eq!(
            in_field_unit(
                json!(185_000_000),
                "net_profit_million_usd",
                &FieldType::Integer
            ),
            json!(185)
        );
        assert_eq!(
            in_field_unit(json!(3.2), "revenue_billion_usd", &FieldType::Number),
            json!(3.2)
        );
        assert_eq!(
            in_field_unit(json!(12400), "employees", &FieldType::Integer),
            json!(12400)
        );
    }

    #[test]
    fn excerpts_do_not_stop_at_decimal_points() {
        let filler = "Other news of the week fills this paragraph. ".repeat(8);
        let passage = format!(
            "{filler}The round values the company at $6.5 billion, its backers said. {filler}"
        );
        assert_eq!(
            excerpt(&passage, "6.5 billion"),
            "The round values the company at $6.5 billion, its backers said."
        );
    }
}

#[cfg(test)]
mod fuzz {
    //! The extractive synthesis reads untrusted passages against clients' field names and
    //! descriptions: whatever they hold, every field gets a value or null, with a basis
    //! entry, and nothing panics (a rule that drops statements once indexed past the end of
    //! the list it had counted).
    use super::*;
    use crate::fuzz::{config, description_like, markdown_like, text_like};
    use crate::pipeline::SourcePassage;
    use proptest::prelude::*;

    /// Field names that switch the reader's rules on: records, earlier values, persons,
    /// places, addresses, editions, ranges of days, rates per year, years.
    const FIELD_NAMES: &[&str] = &[
        "record_attendance",
        "previous_mayor",
        "previous_year_attendance",
        "founder",
        "ceo",
        "cfo",
        "city",
        "headquarters_address",
        "edition",
        "start_date",
        "end_date",
        "scans_per_year",
        "founded_year",
        "employees",
        "revenue_eur",
        "owners",
        "is_public",
        "birthplace",
        "name",
        "x",
    ];

    fn field() -> impl Strategy<Value = (String, Value)> {
        let ty = proptest::sample::select(
            &["string", "integer", "number", "boolean", "array", "enum"][..],
        );
        (
            proptest::sample::select(FIELD_NAMES),
            ty,
            prop_oneof![description_like(), text_like(), Just("All-time record of the subsidiary Drell Marine".to_owned())],
        )
            .prop_map(|(name, ty, description)| {
                let schema = match ty {
                    "array" => json!({"type": "array", "items": {"type": "string"}, "description": description}),
                    "enum" => json!({"type": "string", "enum": ["public", "private"], "description": description}),
                    "string" if name.ends_with("date") => json!({"type": "string", "description": format!("{description} (YYYY-MM-DD)")}),
                    other => json!({"type": other, "description": description}),
                };
                (name.to_owned(), schema)
            })
    }

    fn passage() -> impl Strategy<Value = String> {
        prop_oneof![
            2 => markdown_like(),
            1 => text_like(),
            // Tables and label lines with the words the fields use.
            2 => proptest::collection::vec(
                (proptest::sample::select(FIELD_NAMES), text_like()),
                1..5,
            )
            .prop_map(|rows| {
                let mut table = String::new();
                for (i, (label, value)) in rows.iter().enumerate() {
                    let label = label.replace('_', " ");
                    table.push_str(&format!("| {label} | {} |\n", value.replace(['|', '\n'], " ")));
                    if i == 0 {
                        table.push_str("| --- | --- |\n");
                    }
                }
                table
            }),
            1 => (proptest::sample::select(FIELD_NAMES), text_like())
                .prop_map(|(label, value)| format!("{}: {value}", label.replace('_', " "))),
        ]
    }

    fn sources() -> impl Strategy<Value = Vec<Source>> {
        proptest::collection::vec(
            (text_like(), proptest::collection::vec(passage(), 1..5)),
            1..4,
        )
        .prop_map(|pages| {
            pages
                .into_iter()
                .enumerate()
                .map(|(i, (title, passages))| Source {
                    url: format!("http://page{i}.example/"),
                    title: Some(title),
                    published: None,
                    passages: passages
                        .into_iter()
                        .map(|text| SourcePassage {
                            text,
                            heading: None,
                        })
                        .collect(),
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(config(4))]

        #[test]
        fn every_field_is_answered_or_null_and_nothing_panics(
            fields in proptest::collection::vec(field(), 1..4),
            input in prop_oneof![text_like(), Just("Who founded the Kessel Fair?".to_owned())],
            pages in sources(),
            rounds in 1u32..3,
        ) {
            let properties: Map<String, Value> = fields.into_iter().collect();
            let schema = json!({"type": "object", "properties": properties});
            let request = Request::from_stored(&json!({"input": input}));
            let s = json_output(&request, &schema, &pages, rounds);
            for name in properties.keys() {
                prop_assert!(s.content.get(name).is_some(), "{name} missing");
                prop_assert!(
                    s.basis.iter().any(|b| b["field"] == json!(name)),
                    "{name} has no basis"
                );
            }
        }
    }
}
