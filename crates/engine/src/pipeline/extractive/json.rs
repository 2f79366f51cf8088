//! A JSON output, field by field: what the question is about ([`Subject`]), the passages
//! ranked for each field, the value read from them with its confidence, and the checks that
//! the passage states the field as described (a record, another name) and that another
//! source agrees.

use super::entity::{entity_words, is_the_entity, names_another, of_another};
use super::labels::{
    asks_publication_date, current_row_for_earlier, in_field_unit, is_year, publication_date,
    read_facts,
};
use super::{
    citation, excerpt, with_synonyms, At, Corpus, GENERIC_WORDS, PASSAGES_PER_ROUND,
    QUALIFIER_WORDS,
};
use crate::pipeline::plan::{fields, Field};
use crate::pipeline::request::Request;
use crate::pipeline::{Source, Synthesis};
use crate::rank::tokens;
use crate::typed::{find_value_where, FieldType, Found};
use chrono::Datelike;
use serde_json::{json, Map, Value};

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
pub(super) struct Subject {
    pub(super) words: Vec<String>,
    /// Per source, how many of the words it names.
    named: Vec<usize>,
    /// The most any source names, when that is at least half of the words.
    most: Option<usize>,
    /// Per source, whether it names every word of the name that is not a common word, and
    /// no near namesake.
    about_by_proper_words: Vec<bool>,
}

impl Subject {
    pub(super) fn of(corpus: &Corpus<'_>, request: &Request) -> Subject {
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
    pub(super) fn on_topic(&self, at: At) -> bool {
        self.most
            .is_none_or(|m| self.named[at.source] == m || self.about_by_proper_words[at.source])
    }
}

pub(super) struct Fill {
    pub(super) value: Value,
    pub(super) citations: Vec<Value>,
    pub(super) reasoning: String,
    pub(super) confidence: &'static str,
}

/// `cross_check`: weigh every statement found rather than take the best-ranked one (see
/// [`cross_checked`]).
pub(super) fn fill_field(
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
            with_synonyms(&crate::pipeline::request::field_words(&field.name))
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
pub(super) const RECORD_WORDS: &[&str] = &["record", "highest", "all-time", "peak", "ever"];

/// Whether the statement `found` at `at` can state the field as its description puts it:
/// its passage names every name the description gives besides the entity's ("employees of
/// the subsidiary Veyloran Marine" is not answered by the parent company's workforce), and
/// for a field asking for a record ("All-time record attendance"), its own sentence or
/// table row speaks of one.
pub(super) fn states_what_is_described(
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
pub(super) fn names_entity_word(text: &str, entity: &[String]) -> bool {
    entity.is_empty() || {
        let words = tokens(text);
        entity
            .iter()
            .any(|e| words.iter().any(|w| crate::typed::stem_eq(w, e)))
    }
}

/// The title of the page holding the passage at `at` ("" when it has none).
pub(super) fn source_title<'c>(corpus: &'c Corpus<'_>, at: At) -> &'c str {
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
pub(super) fn cross_checked(
    found: &[(usize, At, Found)],
    field_words: &str,
) -> Option<(usize, At, Found)> {
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
