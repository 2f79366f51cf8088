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
use serde_json::{json, Value};

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
    after_by, after_place_word, string_kind, trim_leading_keywords, StringKind, END_WORDS,
    MAKER_WORDS, PERSON_WORDS, ROLE_WORDS,
};
pub use names::{
    asks_about_a_maker, asks_for_a_person, asks_for_an_end_of_a_range, could_be_a_person,
    is_organisation, is_role, proper_names, wants_name, EARLIER_WORDS,
};
pub use numbers::is_unit_word;
use numbers::{
    asks_for_a_year, counts_more_than, has_unit, is_duration, number_words, numbers, ordinals,
    phone_spans, superseded_before, unit_spellings, DURATIONS, MONEY_WORDS, SHARE_WORDS,
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
pub fn find_value_where(
    field_type: &FieldType,
    passage: &str,
    keywords: &str,
    avoid: &str,
    accept: impl Fn(usize, usize) -> bool,
) -> Option<Found> {
    let keys = tokens(keywords);
    let avoid = avoid.to_lowercase();
    let wants_ordinal = matches!(field_type, FieldType::Integer)
        && has(
            &keys,
            &["edition", "rank", "ranking", "position", "anniversary"],
        );
    let candidates = match field_type {
        FieldType::Number => numbers(passage, false, false),
        FieldType::Integer if asks_for_a_year(keywords) => {
            // A field about a year takes a four-digit year when the passage has one.
            let all = numbers(passage, true, true);
            let years: Vec<Candidate> = all
                .iter()
                .filter(|c| {
                    c.value.as_i64().is_some_and(|y| (1000..=2999).contains(&y))
                        && c.end - c.start == 4
                })
                .map(|c| Candidate {
                    value: c.value.clone(),
                    start: c.start,
                    end: c.end,
                })
                .collect();
            // Without a year, a count or a day is not the answer to "which year".
            years
        }
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
                statements(passage, &keys)
            } else {
                explicit
            }
        }
        FieldType::Enum(options) => enum_members(passage, options),
        FieldType::Array(item) => return list(passage, item, keywords, &keys, &avoid),
        FieldType::String | FieldType::Other => match string_kind(keywords) {
            Some(kind) => {
                let mut found = kind.candidates(passage);
                if kind == StringKind::Name {
                    // "Mayor Ludo Ferrish": the title that names the field is not the name.
                    for c in &mut found {
                        trim_leading_keywords(passage, c, &keys);
                        // "Odile Prenn of Quellmoor", asked about Quellmoor: the name ends at "of".
                        let text = &passage[c.start..c.end];
                        if let Some(at) = text.rfind(" of ") {
                            if !avoid.is_empty() && avoid.contains(&text[at + 4..].to_lowercase()) {
                                c.end = c.start + at;
                                c.value = json!(&passage[c.start..c.end]);
                            }
                        }
                    }
                    found.retain(|c| c.end > c.start);
                    // "Chief Scientist Ada Rusk": the title is not part of the name.
                    for c in &mut found {
                        loop {
                            let text = &passage[c.start..c.end];
                            let Some((first, rest)) = text.split_once(' ') else {
                                break;
                            };
                            if !ROLE_WORDS.contains(&first.to_lowercase().as_str()) || is_role(rest)
                            {
                                break;
                            }
                            c.start = c.end - rest.len();
                            c.value = json!(rest);
                        }
                    }
                    // "Professor of Soft Robotics", "Chief Scientist": a role, not a name.
                    found.retain(|c| !is_role(&passage[c.start..c.end]));
                    // A founder, a chief executive or a mayor is a person, not "Veltmark
                    // Medical" or "Domaine Vardel".
                    if asks_for_a_person(keywords) {
                        found.retain(|c| could_be_a_person(&passage[c.start..c.end]));
                    }
                    // A town or a village is not a firm: "Domaine Vardel" is no village.
                    if has(&keys, &["city", "town", "village", "municipality", "place"]) {
                        found.retain(|c| !is_organisation(&passage[c.start..c.end]));
                    }
                    // A person is not the place before which "in" or "at" stands: "founded in
                    // Sondhaven in 1979 by Ilse Veltmark".
                    if has(&keys, PERSON_WORDS) || has(&keys, MAKER_WORDS) {
                        found.retain(|c| !after_place_word(&passage[..c.start]));
                    }
                    // An address keeps its house number: "14 Lanternwharf Road".
                    if has(&keys, &["address", "street"]) {
                        for c in &mut found {
                            let before = passage[..c.start].trim_end_matches(' ');
                            let digits = before.len()
                                - before
                                    .trim_end_matches(|ch: char| ch.is_ascii_digit())
                                    .len();
                            if digits > 0 && before.len() < c.start {
                                c.start = before.len() - digits;
                                c.value = json!(&passage[c.start..c.end]);
                            }
                        }
                    }
                }
                found
            }
            None => return sentence(passage, &keys),
        },
    };
    // A year is rarely the count or amount asked for: "Population (2023 census) 48,250".
    const YEAR_WORDS: &[&str] = &[
        "year",
        "years",
        "founded",
        "established",
        "born",
        "since",
        "built",
        "opened",
        "launched",
        "incorporated",
        "introduced",
        "released",
        "founding",
    ];
    let wants_year = keys.iter().any(|k| YEAR_WORDS.contains(&k.as_str()));
    let looks_like_year = |c: &Candidate| {
        c.end - c.start == 4 && c.value.as_i64().is_some_and(|y| (1800..=2100).contains(&y))
    };
    let mut candidates = candidates;
    if matches!(field_type, FieldType::Integer | FieldType::Number)
        && !wants_year
        && candidates.iter().any(|c| !looks_like_year(c))
    {
        candidates.retain(|c| !looks_like_year(c));
    }
    // "took six days", "an 18-month programme": a duration answers only a field about one.
    if matches!(field_type, FieldType::Integer | FieldType::Number) {
        let about_time = has(&keys, DURATIONS)
            || has(&keys, &["duration", "long", "time", "length", "age", "old"]);
        if !about_time {
            candidates.retain(|c| !is_duration(passage, c));
        } else if !keys.iter().any(|k| k == "year" || k == "years") {
            // A duration in months or days is not a year: "2023" in a menu.
            candidates.retain(|c| !looks_like_year(c));
        }
    }
    // A field that names its unit ("voltage_kv", "area_ha", "price_eur") takes a number
    // written with that unit when the passage has one: "220 kV", not the "19" of a
    // neighbouring figure.
    if matches!(field_type, FieldType::Integer | FieldType::Number) {
        let units = unit_spellings(&keys);
        // An amount of money is written with its currency: a bare "2024" beside it is a year.
        let money = units.iter().any(|(_, before)| !before.is_empty());
        if money || (!units.is_empty() && candidates.iter().any(|c| has_unit(passage, c, &units))) {
            candidates.retain(|c| has_unit(passage, c, &units));
        }
        // And the other way: "£28.00" is not a count of visitors, nor "14.5%" a number of
        // bottles, unless the field is about money or a share.
        let about_money = money || has(&keys, MONEY_WORDS);
        let about_share = has(&keys, SHARE_WORDS);
        // "+99 41 555 0150" is a telephone number, all of it.
        let phones = phone_spans(passage);
        candidates.retain(|c| {
            let before = passage[..c.start].trim_end();
            let after = passage[c.end..].trim_start();
            let priced = before.ends_with(['$', '€', '£', '¥']);
            let percent = after.starts_with('%') || after.starts_with("per cent");
            let phone = phones.iter().any(|&(s, e)| s <= c.start && c.end <= e);
            (about_money || !priced) && (about_share || !percent) && !phone
        });
        // "160 nurses and doctors" counts both: it is not the number of nurses.
        candidates.retain(|c| !counts_more_than(&passage[c.end..], &keys));
    }
    // A field asking for an earlier figure: `previous_record`, "Attendance the year before".
    let asks_earlier =
        matches!(field_type, FieldType::Integer | FieldType::Number) && has(&keys, EARLIER_WORDS);
    // Where the field's words occur, found once per passage rather than once per candidate.
    let keyword_at = keyword_spans(passage, &keys);
    let person_field = has(&keys, PERSON_WORDS) || has(&keys, MAKER_WORDS);
    let wants_end =
        matches!(field_type, FieldType::Date | FieldType::Month) && has(&keys, END_WORDS);
    // "from Friday 11 October to Sunday 13 October 2024" is the event's first and last day
    // whatever the field calls them: a range of dates states both ends.
    let range_spans: Vec<(usize, usize)> = if asks_for_an_end_of_a_range(field_type, keywords) {
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
    let best = candidates
        .into_iter()
        .filter(|c| accept(c.start, c.end))
        .filter(|c| {
            // A value the question itself states (its entity, its year) is not the answer.
            let text = passage[c.start..c.end].to_lowercase();
            let stated = match c.value.as_str() {
                Some(v) => avoid.contains(&v.to_lowercase()),
                None => avoid
                    .split(|ch: char| !(ch.is_alphanumeric() || ch == ',' || ch == '.'))
                    .any(|w| w.trim_matches(['.', ',']) == text),
            };
            avoid.is_empty() || !stated
        })
        .map(|c| {
            let mut distance = keyword_distance(passage, c.start, c.end, &keyword_at);
            // An ordinal states an edition or a rank by itself: "the 51st festival".
            if wants_ordinal
                && passage[c.start..c.end].ends_with(|ch: char| ch.is_ascii_alphabetic())
            {
                distance = distance.min(PLAIN_DISTANCE);
            }
            if range_spans.contains(&(c.start, c.end)) {
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
            if person_field
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
                if asks_earlier {
                    distance = distance.min(1);
                } else {
                    distance += PLAIN_DISTANCE + 1;
                }
            } else if asks_earlier {
                distance += 2;
            }
            (distance, c)
        })
        // Ties go to the first candidate, or for a field about an end ("last day") to the
        // last: of "11 to 13 October", 11 is the first day and 13 the last.
        .fold(
            None,
            |best: Option<(usize, Candidate)>, (d, c)| match best {
                Some((bd, bc)) if bd < d || (bd == d && !(wants_end && c.start >= bc.start)) => {
                    Some((bd, bc))
                }
                _ => Some((d, c)),
            },
        )?;
    let (distance, candidate) = best;
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
        tokens(&avoid)
            .iter()
            .any(|w| w.len() >= 4 && sentence.contains(w))
    };
    Some(Found {
        value: candidate.value,
        evidence: passage[candidate.start..candidate.end].to_owned(),
        plain: distance <= PLAIN_DISTANCE || enum_about_entity,
    })
}
