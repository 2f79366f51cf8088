//! Reading typed values out of text, for extractive synthesis.
//!
//! Without an LLM, a field is filled from the best-ranked passage: this module decides what
//! type the output schema asks for ([`FieldType::of`]) and finds a value of that type in a
//! passage ([`find_value`]): numbers (with thousands separators, decimals, percentages and
//! scale words such as "3.1 trillion"), integers, booleans, dates (ISO, "5 March 2021",
//! "March 5, 2021"), enum members, lists and strings. When a passage holds several
//! candidates, the one nearest the field's keywords wins. Each value says whether the
//! passage states it plainly (a keyword close by), which the synthesis turns into its
//! confidence. Nothing is invented: no candidate in the passage means no value.
//!
//! This file owns the field types and the choice among candidates; each kind of value is
//! read in its own module: `numbers`, `dates` (dates and months), `choices` (booleans and enum
//! members), `names` (shaped strings and proper names), `sentences` (strings read as
//! sentences, and lists); `spans` holds where words, sentences and keywords stand.

use crate::rank::tokens;
use serde_json::Value;

mod choices;
mod dates;
/// Fuzz targets of the typed-value readers (see `crate::fuzz`): every field type, read from
/// passages of numbers, dates, words and odd characters, with keywords of the same kind.
#[cfg(test)]
mod fuzz;
mod names;
mod numbers;
mod sentences;
mod spans;
#[cfg(test)]
mod tests;

use choices::{booleans, enum_members, statements};
use dates::{dates, months};
pub use dates::{is_month, year_of};
use names::{
    after_by, name_candidates, string_kind, StringKind, END_WORDS, MAKER_WORDS, PERSON_WORDS,
};
pub use names::{
    asks_about_a_maker, asks_for_a_person, asks_for_an_end_of_a_range, could_be_a_person,
    is_organisation, is_role, proper_names, wants_name, EARLIER_WORDS,
};
pub use numbers::is_unit_word;
use numbers::{
    asks_for_a_year, drop_counts_of_more_than_the_field, drop_unasked_durations,
    drop_unasked_prices_shares_and_phones, drop_unasked_years, keep_the_fields_unit, number_words,
    numbers, ordinals, superseded_before, years,
};
pub use sentences::{best_sentence, sentences_naming};
use sentences::{list, sentence};
use spans::{has, keyword_distance, keyword_spans, sentences, PLAIN_DISTANCE};
pub use spans::{sentence_at, stem_eq};

/// The shape of value a schema property asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    String,
    Number,
    Integer,
    Boolean,
    /// A string whose description asks for a date as `YYYY-MM-DD` (see [`asks_for_a_date`]).
    Date,
    /// A string whose description asks for a month as `YYYY-MM` (see [`asks_for_a_month`]).
    Month,
    /// One of these strings.
    Enum(Vec<String>),
    /// A list of items of this type.
    Array(Box<FieldType>),
    /// Anything else (objects, mixed types): filled as a string.
    Other,
}

impl FieldType {
    /// Reads the type of a property schema; `anyOf`/`oneOf` with `null`, and `type` lists
    /// with `"null"`, count as their non-null member.
    pub fn of(schema: &Value) -> FieldType {
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            let strings: Vec<String> = values
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            if !strings.is_empty() {
                return FieldType::Enum(strings);
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(options) = schema.get(key).and_then(Value::as_array) {
                if let Some(first) = options
                    .iter()
                    .find(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                {
                    return FieldType::of(first);
                }
            }
        }
        let type_name = match schema.get("type") {
            Some(Value::String(t)) => Some(t.as_str()),
            Some(Value::Array(types)) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null"),
            _ => None,
        };
        match type_name {
            Some("string") if asks_for_a_date(schema) => FieldType::Date,
            Some("string") if asks_for_a_month(schema) => FieldType::Month,
            Some("string") => FieldType::String,
            Some("number") => FieldType::Number,
            Some("integer") => FieldType::Integer,
            Some("boolean") => FieldType::Boolean,
            Some("array") => FieldType::Array(Box::new(
                schema
                    .get("items")
                    .map(FieldType::of)
                    .unwrap_or(FieldType::String),
            )),
            _ => FieldType::Other,
        }
    }

    /// Whether `null` is a valid value for the schema.
    pub fn nullable(schema: &Value) -> bool {
        let null_type = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null");
        match schema.get("type") {
            Some(Value::Array(types)) if types.iter().any(|t| t == "null") => return true,
            _ => {}
        }
        ["anyOf", "oneOf"].iter().any(|k| {
            schema
                .get(*k)
                .and_then(Value::as_array)
                .is_some_and(|o| o.iter().any(null_type))
        })
    }
}

/// Whether a string schema asks for a calendar date written `YYYY-MM-DD`: its description
/// says so ("YYYY-MM-DD", "an ISO 8601 date", "ISO date"), as Parallel's guide tells users to
/// write it, since output schemas may not use `format`. A `"format": "date"` (in runs stored
/// before that rule) says so too.
pub fn asks_for_a_date(schema: &Value) -> bool {
    if schema.get("format").and_then(Value::as_str) == Some("date") {
        return true;
    }
    let Some(description) = schema.get("description").and_then(Value::as_str) else {
        return false;
    };
    let lower = description.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    // "ISO 8601" alone may be a time or an offset: a date only with the word date.
    let iso = words
        .windows(2)
        .any(|w| matches!(w[0], "iso" | "iso-8601" | "8601") && matches!(w[1], "date" | "8601"));
    words.contains(&"yyyy-mm-dd") || (iso && words.iter().any(|w| w.starts_with("date")))
}

/// Whether a string schema asks for a month written `YYYY-MM` ("Month the line was
/// introduced (YYYY-MM)").
pub fn asks_for_a_month(schema: &Value) -> bool {
    schema
        .get("description")
        .and_then(Value::as_str)
        .is_some_and(|d| {
            d.to_lowercase()
                .split(|c: char| !(c.is_alphanumeric() || c == '-'))
                .any(|w| w == "yyyy-mm")
        })
}

/// A value found in a passage.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub value: Value,
    /// The exact text the value was read from.
    pub evidence: String,
    /// Whether a keyword of the field stands close to the value (within a few words).
    pub plain: bool,
}

/// A candidate value with its place in the passage (byte offsets).
struct Candidate {
    value: Value,
    start: usize,
    end: usize,
}

/// Every value of `field_type` that `text` states, in order: numbers (with scale words,
/// and small counts written as words), dates or months. Other types give none.
pub fn find_all(field_type: &FieldType, text: &str) -> Vec<Value> {
    let candidates = match field_type {
        FieldType::Number | FieldType::Integer => {
            let mut all = numbers(text, false, true);
            all.extend(number_words(text));
            all
        }
        FieldType::Date => dates(text),
        FieldType::Month => months(text),
        _ => Vec::new(),
    };
    candidates.into_iter().map(|c| c.value).collect()
}

/// Finds a value of `field_type` in `passage`, preferring candidates near `keywords`
/// (the field's name and description words).
pub fn find_value(field_type: &FieldType, passage: &str, keywords: &str) -> Option<Found> {
    find_value_avoiding(field_type, passage, keywords, "")
}

/// [`find_value`], leaving out string candidates that `avoid` contains (the question's own
/// entity is not an answer about it).
pub fn find_value_avoiding(
    field_type: &FieldType,
    passage: &str,
    keywords: &str,
    avoid: &str,
) -> Option<Found> {
    find_value_where(field_type, passage, keywords, avoid, |_, _| true)
}

/// [`find_value_avoiding`] among the candidates whose byte span `accept` accepts (the
/// synthesis leaves out sentences about another entity).
///
/// The reading goes in steps, always in this order: the candidates of the field's type
/// ([`read_candidates`]); for a number, the figures the field does not ask for left out
/// ([`drop_unasked_years`], [`drop_unasked_durations`], [`keep_the_fields_unit`],
/// [`drop_unasked_prices_shares_and_phones`], [`drop_counts_of_more_than_the_field`]); the
/// candidate nearest the field's words ([`nearest`]); and whether it is plainly stated
/// ([`found_value`]).
pub fn find_value_where(
    field_type: &FieldType,
    passage: &str,
    keywords: &str,
    avoid: &str,
    accept: impl Fn(usize, usize) -> bool,
) -> Option<Found> {
    let keys = tokens(keywords);
    let avoid = avoid.to_lowercase();
    let wants_ordinal = wants_ordinal(field_type, &keys);
    let mut candidates =
        match read_candidates(field_type, passage, keywords, &keys, &avoid, wants_ordinal) {
            Reading::Candidates(candidates) => candidates,
            Reading::Whole(found) => return found,
        };
    if is_numeric(field_type) {
        drop_unasked_years(&mut candidates, &keys);
        drop_unasked_durations(&mut candidates, passage, &keys);
        keep_the_fields_unit(&mut candidates, passage, &keys);
        drop_unasked_prices_shares_and_phones(&mut candidates, passage, &keys);
        drop_counts_of_more_than_the_field(&mut candidates, passage, &keys);
    }
    let scoring = Scoring::new(
        field_type,
        passage,
        keywords,
        &keys,
        wants_ordinal,
        &candidates,
    );
    let (distance, candidate) = nearest(candidates, passage, &avoid, &accept, &scoring)?;
    found_value(field_type, passage, keywords, &avoid, distance, candidate)
}

/// Whether a field takes a number (an integer or any number).
fn is_numeric(field_type: &FieldType) -> bool {
    matches!(field_type, FieldType::Integer | FieldType::Number)
}

/// Whether an integer field asks for an edition or a rank, which pages write as an ordinal
/// ("The 51st Ardith Folk Festival").
fn wants_ordinal(field_type: &FieldType, keys: &[String]) -> bool {
    matches!(field_type, FieldType::Integer)
        && has(
            keys,
            &["edition", "rank", "ranking", "position", "anniversary"],
        )
}

/// What a passage gives a field: candidates to choose among, or, for a list or a string of
/// no recognisable shape, the value read from the passage as a whole.
enum Reading {
    Candidates(Vec<Candidate>),
    Whole(Option<Found>),
}

/// Step 1, the candidates: every value of the field's type that the passage states, read the
/// way the type needs (a year for a field about one, ordinals for an edition, the month where
/// a passage states no full date, a statement where it says neither yes nor no, names
/// without their titles).
fn read_candidates(
    field_type: &FieldType,
    passage: &str,
    keywords: &str,
    keys: &[String],
    avoid: &str,
    wants_ordinal: bool,
) -> Reading {
    Reading::Candidates(match field_type {
        FieldType::Number => numbers(passage, false, false),
        // A field about a year takes a four-digit year when the passage has one; without a
        // year, a count or a day is not the answer to "which year".
        FieldType::Integer if asks_for_a_year(keywords) => years(passage),
        FieldType::Integer => {
            let mut all = numbers(passage, true, false);
            all.extend(number_words(passage));
            // "The 51st Ardith Folk Festival": an edition or a rank is written as an ordinal.
            if wants_ordinal {
                all.extend(ordinals(passage));
            }
            all
        }
        // Where a passage states only the month, that is what it states: "2021-06", not a
        // made-up day.
        FieldType::Date => {
            let full = dates(passage);
            if full.is_empty() {
                months(passage)
            } else {
                full
            }
        }
        FieldType::Month => months(passage),
        // Explicit yes and no first; a statement answers where the passage has neither.
        FieldType::Boolean => {
            let explicit = booleans(passage);
            if explicit.is_empty() {
                statements(passage, keys)
            } else {
                explicit
            }
        }
        FieldType::Enum(options) => enum_members(passage, options),
        FieldType::Array(item) => {
            return Reading::Whole(list(passage, item, keywords, keys, avoid));
        }
        FieldType::String | FieldType::Other => match string_kind(keywords) {
            Some(StringKind::Name) => name_candidates(passage, keywords, keys, avoid),
            Some(kind) => kind.candidates(passage),
            None => return Reading::Whole(sentence(passage, keys)),
        },
    })
}

/// How near each candidate stands to the field's words, and what moves it nearer or
/// farther: what is found once per passage for the scoring of every candidate.
struct Scoring {
    /// Where the field's words occur ([`keyword_spans`]).
    keyword_at: Vec<(usize, usize)>,
    wants_ordinal: bool,
    /// The spans of ranges of dates, which state both ends.
    range_spans: Vec<(usize, usize)>,
    /// The field asks for a person, or for who made something.
    person_field: bool,
    /// The field asks for an earlier figure: `previous_record`, "Attendance the year before".
    asks_earlier: bool,
    /// The field asks for an end ("last day"): ties go to the last candidate.
    wants_end: bool,
}

impl Scoring {
    fn new(
        field_type: &FieldType,
        passage: &str,
        keywords: &str,
        keys: &[String],
        wants_ordinal: bool,
        candidates: &[Candidate],
    ) -> Scoring {
        // "from Friday 11 October to Sunday 13 October 2024" is the event's first and last
        // day whatever the field calls them: a range of dates states both ends.
        let range_spans = if asks_for_an_end_of_a_range(field_type, keywords) {
            candidates
                .iter()
                .filter(|c| {
                    candidates
                        .iter()
                        .any(|o| o.start == c.start && o.end == c.end && o.value != c.value)
                })
                .map(|c| (c.start, c.end))
                .collect()
        } else {
            Vec::new()
        };
        Scoring {
            keyword_at: keyword_spans(passage, keys),
            wants_ordinal,
            range_spans,
            person_field: has(keys, PERSON_WORDS) || has(keys, MAKER_WORDS),
            asks_earlier: is_numeric(field_type) && has(keys, EARLIER_WORDS),
            wants_end: matches!(field_type, FieldType::Date | FieldType::Month)
                && has(keys, END_WORDS),
        }
    }

    /// The candidate's [`keyword_distance`], adjusted for what the passage says around it.
    fn distance(&self, passage: &str, c: &Candidate) -> usize {
        let mut distance = keyword_distance(passage, c.start, c.end, &self.keyword_at);
        // An ordinal states an edition or a rank by itself: "the 51st festival".
        if self.wants_ordinal
            && passage[c.start..c.end].ends_with(|ch: char| ch.is_ascii_alphabetic())
        {
            distance = distance.min(PLAIN_DISTANCE);
        }
        if self.range_spans.contains(&(c.start, c.end)) {
            distance = distance.min(PLAIN_DISTANCE);
        }
        // A value in brackets is an aside or a conversion: "8 GB (16 GB recommended)",
        // "212 m (696 ft)". The value outside wins when both are as near.
        let before = &passage[..c.start];
        if before.matches('(').count() > before.matches(')').count() {
            distance += 4;
        }
        // "founded ... by Edda Harrow", "by the physicist Ilse Veltmark": the agent of
        // the field's act is the person.
        if self.person_field
            && matches!(c.value, Value::String(_))
            && after_by(before)
            && distance <= PLAIN_DISTANCE * 2
        {
            distance = distance.min(1);
        }
        // "up from about 31,000", "an earlier report put it at 240": a figure the
        // passage itself says is superseded is not the current one, and is the one a
        // field asking for the earlier figure wants.
        if superseded_before(before) {
            if self.asks_earlier {
                distance = distance.min(1);
            } else {
                distance += PLAIN_DISTANCE + 1;
            }
        } else if self.asks_earlier {
            distance += 2;
        }
        distance
    }
}

/// Whether the question itself states the candidate (its entity, its year): a value the
/// question gives is not the answer.
fn stated_by_the_question(passage: &str, c: &Candidate, avoid: &str) -> bool {
    let text = passage[c.start..c.end].to_lowercase();
    match c.value.as_str() {
        Some(v) => avoid.contains(&v.to_lowercase()),
        None => avoid
            .split(|ch: char| !(ch.is_alphanumeric() || ch == ',' || ch == '.'))
            .any(|w| w.trim_matches(['.', ',']) == text),
    }
}

/// Step 3, the choice: of the candidates `accept` accepts and the question does not state,
/// the one nearest the field's words, with its distance. Ties go to the first candidate,
/// or for a field about an end ("last day") to the last: of "11 to 13 October", 11 is the
/// first day and 13 the last.
fn nearest(
    candidates: Vec<Candidate>,
    passage: &str,
    avoid: &str,
    accept: &impl Fn(usize, usize) -> bool,
    scoring: &Scoring,
) -> Option<(usize, Candidate)> {
    candidates
        .into_iter()
        .filter(|c| accept(c.start, c.end))
        .filter(|c| avoid.is_empty() || !stated_by_the_question(passage, c, avoid))
        .map(|c| (scoring.distance(passage, &c), c))
        .fold(
            None,
            |best: Option<(usize, Candidate)>, (d, c)| match best {
                Some((bd, bc))
                    if bd < d || (bd == d && !(scoring.wants_end && c.start >= bc.start)) =>
                {
                    Some((bd, bc))
                }
                _ => Some((d, c)),
            },
        )
}

/// Step 4, the value: the chosen candidate with its evidence, plain when it stands near the
/// field's words; a name far from them is no value at all.
fn found_value(
    field_type: &FieldType,
    passage: &str,
    keywords: &str,
    avoid: &str,
    distance: usize,
    candidate: Candidate,
) -> Option<Found> {
    // Names are everywhere in a page: one counts only next to the field's words.
    let is_name = matches!(field_type, FieldType::String | FieldType::Other)
        && string_kind(keywords) == Some(StringKind::Name);
    if is_name && distance > PLAIN_DISTANCE {
        return None;
    }
    // An enum member in a sentence that names what was asked about states it plainly
    // ("Brannock Lumenworks is a public company"), whatever the field is called.
    let enum_about_entity = matches!(field_type, FieldType::Enum(_)) && {
        let sentence_span = sentences(passage)
            .into_iter()
            .find(|&(s, e)| s <= candidate.start && candidate.end <= e)
            .unwrap_or((0, passage.len()));
        let sentence = tokens(&passage[sentence_span.0..sentence_span.1]);
        tokens(avoid)
            .iter()
            .any(|w| w.len() >= 4 && sentence.contains(w))
    };
    Some(Found {
        value: candidate.value,
        evidence: passage[candidate.start..candidate.end].to_owned(),
        plain: distance <= PLAIN_DISTANCE || enum_about_entity,
    })
}
