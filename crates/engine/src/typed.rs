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

use crate::rank::tokens;
use chrono::NaiveDate;
use serde_json::{json, Value};

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

/// Whether the words after a number count the field's thing together with another: "160
/// nurses and doctors" (but not "160 nurses and 40 doctors", nor "nurses and midwives"
/// when both are the field's words).
fn counts_more_than(after: &str, keys: &[String]) -> bool {
    let words: Vec<&str> = after
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .take(4)
        .collect();
    let is_key = |w: &str| {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        keys.iter().any(|k| stem_eq(k, w))
    };
    const DETERMINERS: &[&str] = &["a", "an", "the", "their", "its", "his", "her", "all"];
    match words.as_slice() {
        [noun, joint, other, rest @ ..] => {
            let bare = other.trim_end_matches(|c: char| !c.is_alphanumeric());
            // "seven arches and reinforced the piers": a verb after "and" starts a clause.
            let clause = bare.ends_with("ed")
                || DETERMINERS.contains(&bare)
                || rest.first().is_some_and(|w| DETERMINERS.contains(w));
            is_key(noun)
                && matches!(*joint, "and" | "or" | "&")
                && bare.chars().next().is_some_and(char::is_alphabetic)
                && !is_key(bare)
                && !clause
        }
        _ => false,
    }
}

/// Ordinal numbers written with digits ("51st", "2nd", "103rd", "4th").
fn ordinals(text: &str) -> Vec<Candidate> {
    word_spans(text, char::is_alphanumeric)
        .into_iter()
        .filter_map(|(start, end)| {
            let word = &text[start..end];
            let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let suffix = word[digits.len()..].to_ascii_lowercase();
            let n: i64 = digits.parse().ok()?;
            let right = match (n % 100, n % 10) {
                (11..=13, _) => "th",
                (_, 1) => "st",
                (_, 2) => "nd",
                (_, 3) => "rd",
                _ => "th",
            };
            (suffix == right && !next_to_month(text, start, end)).then(|| Candidate {
                value: json!(n),
                start,
                end,
            })
        })
        .collect()
}

/// Whether a field's words ask for a year ("founded year", "Year the hospital opened"),
/// not for a rate per year ("scans per year", "Attendances per year it is designed for") nor
/// for a figure of another year ("previous year attendance", "Attendance the year before").
fn asks_for_a_year(keywords: &str) -> bool {
    let words: Vec<String> = keywords
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        w == "year"
            && !(i > 0
                && matches!(
                    words[i - 1].as_str(),
                    "per"
                        | "a"
                        | "each"
                        | "every"
                        | "an"
                        | "the"
                        | "previous"
                        | "last"
                        | "next"
                        | "this"
                        | "that"
                        | "same"
                        | "prior"
                ))
            && !words
                .get(i + 1)
                .is_some_and(|next| matches!(next.as_str(), "before" | "earlier" | "ago"))
    })
}

/// Units a field's words may name, with the ways pages write them after (or, for
/// currencies, before) a number.
const UNITS: &[(&[&str], &[&str], &[&str])] = &[
    // (field words, written after the number, written before it)
    (&["kv"], &["kv"], &[]),
    (
        &["km"],
        &["km", "kilometre", "kilometres", "kilometer", "kilometers"],
        &[],
    ),
    (
        &["m", "metres", "meters"],
        &["m", "metre", "metres", "meter", "meters"],
        &[],
    ),
    (&["cm"], &["cm"], &[]),
    (&["mm"], &["mm"], &[]),
    (&["ha", "hectares"], &["ha", "hectare", "hectares"], &[]),
    (
        &["kg"],
        &["kg", "kilogram", "kilograms", "kilo", "kilos"],
        &[],
    ),
    (&["tesla", "teslas"], &["t", "tesla"], &[]),
    (&["kmh", "kph"], &["km/h", "kmh", "kph"], &[]),
    (&["mw"], &["mw", "megawatt", "megawatts"], &[]),
    (&["mwh"], &["mwh"], &[]),
    (
        &["percent", "pct", "percentage"],
        &["%", "percent", "per cent"],
        &[],
    ),
    (
        &["minute", "minutes"],
        &["minute", "minutes", "min", "'"],
        &[],
    ),
    (
        &["eur", "euro", "euros"],
        &["eur", "euro", "euros"],
        &["€", "eur"],
    ),
    (&["gbp", "pounds"], &["gbp", "pounds"], &["£", "gbp"]),
    (
        &["usd", "dollars"],
        &["usd", "dollars"],
        &["$", "us$", "usd"],
    ),
];

/// Whether `word` (lower-case) names a unit of measure or a currency ("kv", "eur").
pub fn is_unit_word(word: &str) -> bool {
    UNITS.iter().any(|(words, _, _)| words.contains(&word))
}

/// The spellings (after, before) of the units the field's words name.
fn unit_spellings(keys: &[String]) -> Vec<(&'static [&'static str], &'static [&'static str])> {
    UNITS
        .iter()
        .filter(|(words, _, _)| keys.iter().any(|k| words.contains(&k.as_str())))
        .map(|(_, after, before)| (*after, *before))
        .collect()
}

/// Whether candidate `c` is written with one of `units`: "220 kV", "3 T", "€12.50",
/// "14.5%", "18-hectare" ("3,600 seats" has no unit word here: counts are found by keywords).
fn has_unit(
    passage: &str,
    c: &Candidate,
    units: &[(&'static [&'static str], &'static [&'static str])],
) -> bool {
    let after = passage[c.end..]
        .trim_start_matches([' ', '-', '\u{a0}'])
        .to_lowercase();
    let before = passage[..c.start].trim_end().to_lowercase();
    units.iter().any(|(after_forms, before_forms)| {
        after_forms.iter().any(|u| {
            after.starts_with(u) && !after[u.len()..].starts_with(|ch: char| ch.is_alphabetic())
        }) || before_forms.iter().any(|u| before.ends_with(u))
    })
}

/// Words of fields about money: their numbers may carry a currency sign.
const MONEY_WORDS: &[&str] = &[
    "price",
    "cost",
    "revenue",
    "fee",
    "fare",
    "value",
    "valuation",
    "salary",
    "budget",
    "sales",
    "funding",
    "raised",
    "amount",
    "income",
    "profit",
    "spending",
    "deposit",
    "ticket",
    "wage",
    "pay",
    "rent",
    "turnover",
    "capital",
    "debt",
    "investment",
    "grant",
    "money",
    "dollars",
    "euros",
    "pounds",
    "usd",
    "eur",
    "gbp",
    "worth",
    "impact",
    "earnings",
    "dividend",
    "loss",
    "fine",
    "donation",
    "prize",
    "tax",
    "subsidy",
    "premium",
];

/// Words of fields about a share or a rate: their numbers may be percentages.
const SHARE_WORDS: &[&str] = &[
    "percent",
    "percentage",
    "pct",
    "share",
    "rate",
    "ratio",
    "margin",
    "growth",
    "increase",
    "decrease",
    "change",
    "discount",
    "alcohol",
    "abv",
    "turnout",
    "proportion",
    "fraction",
    "yield",
    "interest",
    "inflation",
    "efficiency",
    "stake",
    "vote",
    "votes",
    "humidity",
    "occupancy",
    "lost",
    "loss",
    "drop",
    "rise",
    "fall",
    "cut",
    "return",
];

/// Byte spans of telephone numbers: a `+` and then at least seven digits in groups
/// separated by spaces, dashes, dots or brackets.
fn phone_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for (start, _) in text.match_indices('+') {
        let mut end = start + 1;
        let mut digits = 0;
        while end < bytes.len() {
            let b = bytes[end];
            if b.is_ascii_digit() {
                digits += 1;
            } else if !matches!(b, b' ' | b'-' | b'.' | b'(' | b')')
                || !bytes
                    .get(end + 1)
                    .is_some_and(|n| n.is_ascii_digit() || *n == b'(')
            {
                break;
            }
            end += 1;
        }
        if digits >= 7 {
            out.push((start, end));
        }
    }
    out
}

/// Units of time.
const DURATIONS: &[&str] = &[
    "second", "minute", "hour", "day", "week", "month", "year", "decade",
];

/// Whether candidate `c` counts units of time ("six days", "18-month", "12 years").
fn is_duration(passage: &str, c: &Candidate) -> bool {
    let after = passage[c.end..]
        .trim_start_matches([' ', '-', '\u{a0}'])
        .to_lowercase();
    let word: String = after.chars().take_while(|ch| ch.is_alphabetic()).collect();
    let singular = word.strip_suffix('s').unwrap_or(&word);
    DURATIONS.contains(&singular)
}

/// Whether the words just before a value say it is an old figure ("up from", "earlier",
/// "previously", "formerly").
fn superseded_before(before: &str) -> bool {
    const CUES: &[&str] = &[
        "up from",
        "down from",
        "compared with",
        "earlier",
        "previously",
        "formerly",
        "used to",
        "originally",
        "at first",
        "initially",
    ];
    let start = before.char_indices().rev().nth(40).map_or(0, |(i, _)| i);
    let near = before[start..].to_lowercase();
    // The cue must be in the value's own sentence.
    let near = near.rsplit(['.', '!', '?', '\n']).next().unwrap_or("");
    CUES.iter().any(|cue| near.contains(cue))
}

/// Largest [`keyword_distance`] at which a value counts as plainly stated (about three
/// content words, same sentence).
const PLAIN_DISTANCE: usize = 7;

/// How far the span stands from the nearest keyword occurrence, in content words between
/// them (function words do not count), doubled, plus one when the keyword comes after the
/// value: values usually follow what names them ("revenue was 3.1 trillion"). A sentence
/// end between them adds a sentence's worth. `usize::MAX / 2` if no keyword occurs.
/// `keyword_at` is [`keyword_spans`] of the passage.
fn keyword_distance(
    passage: &str,
    start: usize,
    end: usize,
    keyword_at: &[(usize, usize)],
) -> usize {
    let mut best = usize::MAX / 2;
    for &(at, word_end) in keyword_at {
        let word = &passage[at..word_end];
        let (between, keyword_after) = if at >= end {
            (&passage[end..at], true)
        } else if at + word.len() <= start {
            (&passage[at + word.len()..start], false)
        } else {
            ("", false)
        };
        // Every word counts here: "4,600 students and 820 staff" puts "students" next to
        // 4,600 and one word away from 820.
        let words = between
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .count();
        let sentence_break = has_break(between);
        let distance =
            (words + if sentence_break { 10 } else { 0 }) * 2 + usize::from(keyword_after);
        best = best.min(distance);
    }
    best
}

/// Byte spans of the passage's words that are forms of one of `keys` (byte spans, not
/// counted offsets: separators such as "—" are several bytes long).
fn keyword_spans(passage: &str, keys: &[String]) -> Vec<(usize, usize)> {
    if keys.is_empty() {
        return Vec::new();
    }
    let keys: Vec<Vec<char>> = keys.iter().map(|k| lower_chars(k)).collect();
    let mut word = Vec::new();
    word_spans(passage, char::is_alphanumeric)
        .into_iter()
        .filter(|&(at, end)| {
            word.clear();
            word.extend(passage[at..end].chars().flat_map(char::to_lowercase));
            keys.iter().any(|k| stem_eq_lower(k, &word))
        })
        .collect()
}

/// Whether `text` crosses a sentence or block boundary: a full stop, `!` or `?` before
/// whitespace, a blank line, or a new list item or heading. A single line break inside a
/// paragraph (hard-wrapped text) is not one.
fn has_break(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.iter().enumerate().any(|(i, c)| {
        let next = chars.get(i + 1).copied();
        match c {
            '.' | '!' | '?' => next.is_none_or(char::is_whitespace) && i + 1 < chars.len(),
            '\n' => {
                let rest: String = chars[i + 1..].iter().collect();
                let line = rest.trim_start_matches([' ', '\t']);
                line.starts_with('\n') || line.starts_with(['-', '*', '#', '|'])
            }
            _ => false,
        }
    })
}

/// Whether two words are forms of one word, ignoring case: equal but for a plural `s`, or
/// sharing a long common beginning ("employees" and "employs", "founded" and "founding").
pub fn stem_eq(a: &str, b: &str) -> bool {
    stem_eq_lower(&lower_chars(a), &lower_chars(b))
}

/// A word's lower-cased characters.
fn lower_chars(word: &str) -> Vec<char> {
    word.chars().flat_map(char::to_lowercase).collect()
}

/// [`stem_eq`] of words already lower-cased: [`keyword_spans`] compares every word of a
/// passage with every keyword, so each is lower-cased once, not once per comparison.
fn stem_eq_lower(a: &[char], b: &[char]) -> bool {
    let stem = |w: &[char]| w.len() - w.iter().rev().take_while(|&&c| c == 's').count();
    let (stem_a, stem_b) = (stem(a), stem(b));
    if a[..stem_a] == b[..stem_b] {
        return true;
    }
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    common >= 5 && common * 4 >= a.len().min(b.len()) * 3
}

const SCALES: &[(&str, f64)] = &[
    ("thousand", 1e3),
    ("million", 1e6),
    ("billion", 1e9),
    ("trillion", 1e12),
    ("bn", 1e9),
    ("m", 1e6),
    ("k", 1e3),
];

/// Small counts written as words: "seven arches", "three factories". ("one" is left out: it
/// is far more often a pronoun than a count.)
fn number_words(text: &str) -> Vec<Candidate> {
    const WORDS: [&str; 19] = [
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    word_spans(text, char::is_alphanumeric)
        .into_iter()
        .filter_map(|(start, end)| {
            let word = text[start..end].to_lowercase();
            WORDS.iter().position(|w| *w == word).map(|i| Candidate {
                value: json!(i as i64 + 2),
                start,
                end,
            })
        })
        .collect()
}

/// Whether the word just before `start` or just after `end` names a month.
fn next_to_month(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start]
        .trim_end()
        .rsplit(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("");
    let after = text[end..]
        .trim_start()
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("");
    month_number(before).is_some() || month_number(after).is_some()
}

/// Numbers written in the text: `1,234.5`, `3.1 trillion`, `42%` (as 42), `-7`.
fn numbers(text: &str, integers_only: bool, keep_date_parts: bool) -> Vec<Candidate> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_number = bytes[i].is_ascii_digit()
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.'));
        if !starts_number {
            i += 1;
            continue;
        }
        // "-7" is negative; "Loom-7" and "HV-220" are names, "2019-2021" a range.
        let after_hyphen = i > 0 && bytes[i - 1] == b'-';
        let glued_before = after_hyphen && i >= 2 && bytes[i - 2].is_ascii_alphabetic();
        let start = if after_hyphen && !(i >= 2 && bytes[i - 2].is_ascii_alphanumeric()) {
            i - 1
        } else {
            i
        };
        let mut end = i;
        while end < bytes.len()
            && (bytes[end].is_ascii_digit()
                || ((bytes[end] == b',' || bytes[end] == b'.')
                    && end + 1 < bytes.len()
                    && bytes[end + 1].is_ascii_digit()))
        {
            end += 1;
        }
        let digits: String = text[start..end].chars().filter(|c| *c != ',').collect();
        i = end;
        // Digits followed by "-word" or a letter are a name or a code ("02-charter", "4x4"),
        // except a measure written as one adjective: "18-month", "2,200-capacity",
        // "48-megapixel".
        let measure = bytes.get(end + 1).is_some_and(u8::is_ascii_lowercase) && bytes[i] != b'0';
        let glued = match bytes.get(end) {
            Some(b'-') => bytes.get(end + 1).is_some_and(|b| b.is_ascii_alphabetic()) && !measure,
            Some(b) => {
                b.is_ascii_alphabetic()
                    && !matches!(text[end..].chars().next(), Some('k' | 'm' | 'K' | 'M'))
            }
            None => false,
        };
        if glued || glued_before {
            continue;
        }
        let Ok(mut number) = digits.parse::<f64>() else {
            continue;
        };
        // A scale word right after multiplies: "3.1 trillion", "5m".
        let rest = &text[end..];
        let trimmed = rest.trim_start();
        let mut span_end = end;
        for (word, factor) in SCALES {
            if let Some(after) = trimmed.get(..word.len()) {
                let next = trimmed[word.len()..].chars().next();
                let whole_word = next.is_none_or(|c| !c.is_alphanumeric());
                if after.eq_ignore_ascii_case(word)
                    && whole_word
                    && (word.len() > 1 || rest.len() == trimmed.len())
                {
                    number *= factor;
                    span_end = end + (rest.len() - trimmed.len()) + word.len();
                    break;
                }
            }
        }
        // Past f64's range (310 digits, or a scale word on a huge number) there is no value
        // to give: JSON has no infinity, and serde would write `null`.
        if !number.is_finite() || (integers_only && number.fract() != 0.0) {
            continue;
        }
        // The day or year of a written date ("5 March 2011") is not a count or an amount.
        if !keep_date_parts && next_to_month(text, start, span_end) {
            continue;
        }
        let value = if number.fract() == 0.0 && number.abs() < 9.0e15 {
            json!(number as i64)
        } else {
            json!(number)
        };
        out.push(Candidate {
            value,
            start,
            end: span_end,
        });
    }
    out
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Whether `word` names a month ("March", "mar").
pub fn is_month(word: &str) -> bool {
    month_number(word).is_some()
}

fn month_number(word: &str) -> Option<u32> {
    let w = word.to_lowercase();
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(&w) && (w.len() == 3 || *m == w))
        .map(|i| i as u32 + 1)
}

/// Words of `text` (letters, digits and `-`) with their byte spans.
fn date_words(text: &str) -> Vec<(usize, usize, &str)> {
    let mut words: Vec<(usize, usize, &str)> = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let part = c.is_alphanumeric() || c == '-';
        match (part, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s, i, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, text.len(), &text[s..]));
    }
    words
}

/// A day of the month as pages write it: `5`, `05`, `5th`, `21st`.
fn day_of_month(word: &str) -> Option<u32> {
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suffix| word.strip_suffix(suffix))
        .unwrap_or(word);
    (digits.len() <= 2 && !digits.is_empty())
        .then(|| digits.parse::<u32>().ok())
        .flatten()
        .filter(|d| (1..=31).contains(d))
}

/// A four-digit year (1000 to 2999).
pub fn year_of(word: &str) -> Option<i32> {
    word.parse::<i32>()
        .ok()
        .filter(|y| (1000..=2999).contains(y) && word.len() == 4)
}

/// Dates: `2021-03-05`, `5 March 2021`, `5th of March 2021`, `March 5, 2021`, `Mar 5 2021`,
/// and day-first numeric dates `5.3.2021` and `5/3/2021` (month-first `3/25/2021` when the
/// day-first reading is impossible).
fn dates(text: &str) -> Vec<Candidate> {
    let mut out = date_ranges(text);
    let words = date_words(text);
    let mut i = 0;
    while i < words.len() {
        let (s, e, w) = words[i];
        if let Ok(date) = NaiveDate::parse_from_str(w, "%Y-%m-%d") {
            out.push(Candidate {
                value: json!(date.to_string()),
                start: s,
                end: e,
            });
            i += 1;
            continue;
        }
        // "13th of April 2024": the "of" is skipped.
        let of = usize::from(
            i + 3 < words.len()
                && day_of_month(w).is_some()
                && words[i + 1].2.eq_ignore_ascii_case("of"),
        );
        if i + 2 + of < words.len() {
            let (a, b, c) = (words[i].2, words[i + 1 + of].2, words[i + 2 + of].2);
            let dmy = day_of_month(a)
                .zip(month_number(b))
                .zip(year_of(c))
                .map(|((d, m), y)| (y, m, d));
            let mdy = month_number(a)
                .zip(day_of_month(b))
                .zip(year_of(c))
                .map(|((m, d), y)| (y, m, d));
            // 13.4.2024 or 13/04/2024: numbers joined by one separator, no spaces.
            let numeric = || {
                let sep1 = &text[words[i].1..words[i + 1].0];
                let sep2 = &text[words[i + 1].1..words[i + 2].0];
                if of == 1 || sep1 != sep2 || !(sep1 == "." || sep1 == "/") {
                    return None;
                }
                // "version 1.2.2024" is a version number.
                let after_version = i > 0
                    && matches!(
                        words[i - 1].2.to_lowercase().as_str(),
                        "version" | "v" | "ver" | "release"
                    );
                if after_version {
                    return None;
                }
                let (x, y) = (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?);
                if a.len() > 2 || b.len() > 2 {
                    return None;
                }
                let year = year_of(c)?;
                NaiveDate::from_ymd_opt(year, y, x).or_else(|| {
                    (sep1 == "/")
                        .then(|| NaiveDate::from_ymd_opt(year, x, y))
                        .flatten()
                })
            };
            let date = dmy
                .or(mdy)
                .and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
                .or_else(numeric);
            if let Some(date) = date {
                out.push(Candidate {
                    value: json!(date.to_string()),
                    start: s,
                    end: words[i + 2 + of].1,
                });
                i += 3 + of;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// Both ends of a range of days written with one month or year: "11 to 13 October 2024",
/// "11–13 October 2024", "Thursday 24 July to Sunday 27 July 2025". Each end spans the
/// whole range (they are as near the field's words), the first day first.
fn date_ranges(text: &str) -> Vec<Candidate> {
    const WEEKDAYS: &[&str] = &[
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let words: Vec<(usize, usize, &str)> = date_words(text)
        .into_iter()
        .filter(|(_, _, w)| {
            let w = w.to_lowercase();
            !WEEKDAYS.contains(&w.as_str()) && !matches!(w.as_str(), "to" | "until" | "through")
        })
        .collect();
    // The weekdays and connectives were left out of `words`: "Thursday 24 July to Sunday
    // 27 July" joins "July" and "27" by "to".
    let joins = |a: usize, b: usize| {
        let between: Vec<String> = text[words[a].1..words[b].0]
            .to_lowercase()
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty() && !WEEKDAYS.contains(w))
            .map(str::to_owned)
            .collect();
        matches!(
            between
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
            ["to"] | ["–"] | ["—"] | ["-"] | ["until"] | ["through"] | ["and"]
        )
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i + 3 < words.len() {
        let d1 = day_of_month(words[i].2);
        // "11 to 13 October 2024"
        if let (Some(d1), true, Some(d2), Some(m), Some(y)) = (
            d1,
            joins(i, i + 1),
            day_of_month(words[i + 1].2),
            month_number(words[i + 2].2),
            year_of(words[i + 3].2),
        ) {
            if let (Some(a), Some(b)) = (
                NaiveDate::from_ymd_opt(y, m, d1),
                NaiveDate::from_ymd_opt(y, m, d2),
            ) {
                let span = (words[i].0, words[i + 3].1);
                for date in [a, b] {
                    out.push(Candidate {
                        value: json!(date.to_string()),
                        start: span.0,
                        end: span.1,
                    });
                }
                i += 4;
                continue;
            }
        }
        // "24 July to 27 July 2025"
        if i + 4 < words.len() {
            if let (Some(d1), Some(m1), true, Some(d2), Some(m2), Some(y)) = (
                d1,
                month_number(words[i + 1].2),
                joins(i + 1, i + 2),
                day_of_month(words[i + 2].2),
                month_number(words[i + 3].2),
                year_of(words[i + 4].2),
            ) {
                if let (Some(a), Some(b)) = (
                    NaiveDate::from_ymd_opt(y, m1, d1),
                    NaiveDate::from_ymd_opt(y, m2, d2),
                ) {
                    let span = (words[i].0, words[i + 4].1);
                    for date in [a, b] {
                        out.push(Candidate {
                            value: json!(date.to_string()),
                            start: span.0,
                            end: span.1,
                        });
                    }
                    i += 5;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// Months of a year, as `YYYY-MM`: the month of every full date, `April 2016`, `2016-04`.
fn months(text: &str) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = dates(text)
        .into_iter()
        .map(|c| Candidate {
            value: json!(c.value.as_str().map_or("", |d| &d[..7])),
            start: c.start,
            end: c.end,
        })
        .collect();
    let inside_a_date =
        |at: usize, out: &[Candidate]| out.iter().any(|c| c.start <= at && at < c.end);
    let words = date_words(text);
    for (k, &(s, e, w)) in words.iter().enumerate() {
        if inside_a_date(s, &out) {
            continue;
        }
        let iso = w.len() == 7
            && w.as_bytes()[4] == b'-'
            && year_of(&w[..4]).is_some()
            && w[5..].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m));
        if iso {
            out.push(Candidate {
                value: json!(w),
                start: s,
                end: e,
            });
            continue;
        }
        let Some((m, (_, year_end, y))) = month_number(w).zip(words.get(k + 1)) else {
            continue;
        };
        // "April 2016"; "31 February 2020" is a day that does not exist, not a month.
        let after_a_day = k > 0 && day_of_month(words[k - 1].2).is_some();
        if let Some(year) = year_of(y).filter(|_| !after_a_day) {
            out.push(Candidate {
                value: json!(format!("{year:04}-{m:02}")),
                start: s,
                end: *year_end,
            });
        }
    }
    out.sort_by_key(|c| c.start);
    out
}

fn booleans(text: &str) -> Vec<Candidate> {
    // Byte spans of the words themselves: counting one byte per separator put every word
    // after a multibyte one ("0€no") at the wrong offset, inside a character.
    word_spans(text, char::is_alphanumeric)
        .into_iter()
        .filter_map(|(start, end)| {
            let value = match text[start..end].to_lowercase().as_str() {
                "yes" | "true" => true,
                "no" | "false" | "not" | "never" => false,
                _ => return None,
            };
            Some(Candidate {
                value: json!(value),
                start,
                end,
            })
        })
        .collect()
}

/// Words of a yes/no question that say nothing of what is asked.
const QUESTION_FILLER: &[&str] = &[
    "whether", "is", "are", "does", "do", "has", "have", "can", "it", "its",
];

/// Words that turn a statement into its denial.
const NEGATIONS: &[&str] = &[
    "not", "no", "never", "without", "none", "cannot", "nor", "isn't", "aren't", "doesn't",
    "don't", "wasn't", "weren't", "won't",
];

/// Pairs of words where a statement of one answers a question about the other with "no".
const ANTONYMS: &[(&str, &str)] = &[
    ("required", "optional"),
    ("open", "closed"),
    ("free", "paid"),
    ("allowed", "forbidden"),
    ("allowed", "prohibited"),
    ("available", "unavailable"),
    ("public", "private"),
    ("included", "excluded"),
];

/// Yes/no answers stated as statements: a sentence that names the question's words states
/// it ("Entry is free" for `free_entry`: yes; "not listed on any stock exchange" for
/// `is_publicly_listed`: no; "GPU: optional" for `gpu_required`: no). At least two of the
/// question's words (one when it has one) must be named; the candidate stands on the first.
fn statements(text: &str, keys: &[String]) -> Vec<Candidate> {
    let keys: Vec<&String> = keys
        .iter()
        .filter(|k| !QUESTION_FILLER.contains(&k.as_str()))
        .collect();
    if keys.is_empty() {
        return Vec::new();
    }
    let needed = if keys.len() == 1 { 1 } else { 2 };
    let mut out = Vec::new();
    for (s, e) in sentences(text) {
        let sentence = &text[s..e];
        let spans = word_spans(sentence, |c| c.is_alphanumeric() || c == '\'');
        let words: Vec<(usize, String)> = spans
            .iter()
            .map(|&(a, b)| (a, sentence[a..b].to_lowercase()))
            .collect();
        let named: Vec<&(usize, String)> = words
            .iter()
            .filter(|(_, w)| keys.iter().any(|k| stem_eq(w, k)))
            .collect();
        let distinct = keys
            .iter()
            .filter(|k| words.iter().any(|(_, w)| stem_eq(w, k)))
            .count();
        let antonym = words.iter().find(|(_, w)| {
            ANTONYMS.iter().any(|(a, b)| {
                keys.iter().any(|k| stem_eq(k, a)) && w == b
                    || keys.iter().any(|k| stem_eq(k, b)) && w == a
            })
        });
        let Some(&(at, _)) = named.first().copied().or(antonym) else {
            continue;
        };
        if distinct + usize::from(antonym.is_some()) < needed {
            continue;
        }
        let negated = words
            .iter()
            .any(|(_, w)| NEGATIONS.contains(&w.as_str()) || w.ends_with("n't"));
        let start = s + at;
        let end = start
            + sentence[at..]
                .find(|c: char| !c.is_alphanumeric())
                .unwrap_or(sentence.len() - at);
        out.push(Candidate {
            value: json!(!negated && antonym.is_none()),
            start,
            end,
        });
    }
    out
}

fn enum_members(text: &str, options: &[String]) -> Vec<Candidate> {
    let (lower, origin) = lower_with_origins(text);
    // Whether a byte offset of `lower` falls between the lower-cased forms of two characters
    // of `text` (a character may lower-case to several: "İ" to "i̇").
    let at_char = |k: usize| k == 0 || k == lower.len() || origin[k] != origin[k - 1];
    let mut out = Vec::new();
    for option in options {
        let needle = option.to_lowercase();
        if needle.is_empty() {
            continue;
        }
        let mut from = 0;
        while let Some(at) = lower[from..].find(&needle) {
            let start = from + at;
            let end = start + needle.len();
            let bounded = lower[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric())
                && ["", "ly", "s", "ed"].iter().any(|suffix| {
                    // "privately held" states "private"; "publicly traded", "public".
                    lower[end..].starts_with(suffix)
                        && lower[end + suffix.len()..]
                            .chars()
                            .next()
                            .is_none_or(|c| !c.is_alphanumeric())
                });
            if bounded && at_char(start) && at_char(end) {
                // Offsets in `text`, not in `lower`: lower-casing may change byte lengths.
                out.push(Candidate {
                    value: json!(option),
                    start: origin[start],
                    end: origin[end],
                });
            }
            from = end;
        }
    }
    out
}

/// `text` lower-cased, with, for each byte of the result and for its end, the byte offset in
/// `text` of the character it comes from.
fn lower_with_origins(text: &str) -> (String, Vec<usize>) {
    let mut lower = String::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len() + 1);
    for (i, c) in text.char_indices() {
        for l in c.to_lowercase() {
            lower.push(l);
            origin.extend(std::iter::repeat_n(i, l.len_utf8()));
        }
    }
    origin.push(text.len());
    (lower, origin)
}

/// Strings of a recognisable shape, chosen from the field's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StringKind {
    Email,
    Version,
    Ticker,
    Url,
    /// A proper name: a person, place, organisation or product.
    Name,
    /// A short phrase (a category, a role, opening days), read only from a table cell or a
    /// `Label: value` line: in a sentence, where such a phrase starts and ends is not known.
    Phrase,
}

/// Words that say a string field wants a short phrase rather than a name.
const PHRASE_WORDS: &[&str] = &[
    "category",
    "kind",
    "type",
    "genre",
    "role",
    "position",
    "status",
    "material",
    "format",
    "style",
    "days",
    "hours",
    "sector",
    "industry",
    "specialty",
    "speciality",
    "colour",
    "color",
    "cuisine",
    "job",
    "title",
    "occupation",
    "profession",
    "product",
    "service",
    "grape",
    "variety",
];

/// Words that say a field holds a name.
const NAME_WORDS: &[&str] = &[
    "name",
    "who",
    "ceo",
    "chairman",
    "chair",
    "cfo",
    "cto",
    "founder",
    "mayor",
    "director",
    "predecessor",
    "successor",
    "investor",
    "manufacturer",
    "maker",
    "organiser",
    "organizer",
    "institution",
    "university",
    "town",
    "city",
    "village",
    "river",
    "country",
    "headquarters",
    "birthplace",
    "exchange",
    "company",
    "person",
    "president",
    "author",
    "owner",
    "leader",
    "chief",
    "executive",
    "capital",
    "region",
    "province",
    "partner",
    "customer",
    "supplier",
    "ground",
    "venue",
    "stadium",
    "location",
    "place",
    "architect",
    "firm",
    "contractor",
    "builder",
    "designer",
    "family",
    "doctor",
    "manager",
    "coach",
    "operator",
    "club",
    "team",
    "winner",
    "host",
    "sponsor",
    "headliner",
    "consultant",
    "surgeon",
    "head",
];

/// Words that say a string field wants prose (a description, a reason), which is quoted as
/// a sentence; any other string field without a kind wants a name.
const PROSE_WORDS: &[&str] = &[
    "description",
    "describe",
    "summary",
    "summarise",
    "summarize",
    "overview",
    "explanation",
    "explain",
    "why",
    "how",
    "reason",
    "purpose",
    "mission",
    "motto",
    "slogan",
    "quote",
    "details",
    "notes",
    "text",
    "sentence",
    "answer",
];

/// The proper names of `text` (runs of capitalised words, with the joiners of names).
pub fn proper_names(text: &str) -> Vec<&str> {
    StringKind::Name
        .candidates(text)
        .into_iter()
        .map(|c| &text[c.start..c.end])
        .collect()
}

/// The sentence of `passage` that holds byte `at`.
pub fn sentence_at(passage: &str, at: usize) -> &str {
    sentences(passage)
        .into_iter()
        .find(|&(s, e)| s <= at && at < e)
        .map_or(passage, |(s, e)| &passage[s..e])
}

/// Words of fields that ask for a person.
const PERSON_WORDS: &[&str] = &[
    "founder",
    "founders",
    "ceo",
    "chairman",
    "chair",
    "cfo",
    "cto",
    "director",
    "manager",
    "doctor",
    "architect",
    "predecessor",
    "successor",
    "president",
    "author",
    "leader",
    "chief",
    "executive",
    "mayor",
    "coach",
    "person",
    "who",
    "consultant",
    "surgeon",
    "lead",
    "owner",
    "owners",
    "head",
    "principal",
    "curator",
    "captain",
    "editor",
    "dean",
];

/// Words of a field asking for an earlier value than the one a page states now
/// (`previous_mayor`, `former_name`, "Attendance the year before").
pub const EARLIER_WORDS: &[&str] = &[
    "previous", "former", "prior", "earlier", "original", "before",
];

/// Words of a date field asking for the first day of something.
const START_WORDS: &[&str] = &["start", "first", "begin", "begins", "starts", "opening"];

/// Words of a date field asking for the last day of something.
const END_WORDS: &[&str] = &["end", "last", "until", "closing", "finish", "ends", "final"];

/// Whether a date field asks for the first or the last day of something (`start_date`,
/// "Last day of the festival"): a range of dates states both.
pub fn asks_for_an_end_of_a_range(field_type: &FieldType, keywords: &str) -> bool {
    let keys = tokens(keywords);
    matches!(field_type, FieldType::Date | FieldType::Month)
        && (has(&keys, START_WORDS) || has(&keys, END_WORDS))
}

/// Whether a field always asks for a person, never for an organisation (a founder, a chief
/// executive, a mayor; an owner or an architect may be a firm).
pub fn asks_for_a_person(keywords: &str) -> bool {
    has(&tokens(keywords), STRICT_PERSON_WORDS)
}

/// Whether a field asks about a related entity that makes, builds or runs the one asked
/// about (`maker_founder`, `operator_city`).
pub fn asks_about_a_maker(keywords: &str) -> bool {
    has(&tokens(keywords), MAKER_WORDS)
}

/// Words of fields that ask for a person and never for an organisation.
const STRICT_PERSON_WORDS: &[&str] = &[
    "founder",
    "founders",
    "ceo",
    "chairman",
    "chairwoman",
    "cfo",
    "cto",
    "mayor",
    "coach",
    "doctor",
    "surgeon",
    "curator",
    "captain",
    "dean",
    "president",
    "predecessor",
    "successor",
];

/// Words that make a name an organisation's: its legal form or what it is.
const ORGANISATION_WORDS: &[&str] = &[
    "ltd",
    "limited",
    "inc",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "sarl",
    "plc",
    "llc",
    "bv",
    "nv",
    "co",
    "company",
    "corporation",
    "corp",
    "group",
    "holdings",
    "medical",
    "domaine",
    "château",
    "chateau",
    "museum",
    "hospital",
    "university",
    "institute",
    "college",
    "school",
    "festival",
    "club",
    "fc",
    "arena",
    "stadium",
    "bank",
    "capital",
    "partners",
    "architects",
    "studio",
    "studios",
    "records",
    "foundation",
    "trust",
    "council",
    "society",
    "association",
    "cooperative",
    "coopérative",
    "winery",
    "vineyards",
    "brewery",
    "works",
    "industries",
    "systems",
    "technologies",
    "robotics",
    "press",
    "media",
    "gazette",
    "times",
    "news",
];

/// Whether `name` can be a person's full name: two or more words, none an organisation's
/// word, none a lone letter without a full stop ("Series C", "Fringe" and "Veltmark
/// Medical" are not; "Anselm Rooke" and "J. R. Hale" are).
pub fn could_be_a_person(name: &str) -> bool {
    let words: Vec<&str> = name.split_whitespace().collect();
    words.len() >= 2
        && !is_organisation(name)
        && !words
            .iter()
            .any(|w| w.chars().count() == 1 && w.chars().all(char::is_alphabetic))
}

/// Whether `name` names an organisation ("Veltmark Medical", "Oddny Vale Architects").
pub fn is_organisation(name: &str) -> bool {
    name.split(|c: char| !c.is_alphanumeric())
        .any(|w| ORGANISATION_WORDS.contains(&w.to_lowercase().as_str()))
}

/// Words of fields that ask who made, built or runs something: "made by X", not "in X".
const MAKER_WORDS: &[&str] = &[
    "manufacturer",
    "maker",
    "builder",
    "designer",
    "developer",
    "publisher",
    "operator",
    "organiser",
    "organizer",
    "contractor",
    "producer",
    "supplier",
    "architect",
    "creator",
];

/// Words of job titles: a capitalised run made only of them, or of one of them followed by
/// "of", is a role.
const ROLE_WORDS: &[&str] = &[
    "professor",
    "director",
    "chief",
    "scientist",
    "officer",
    "executive",
    "head",
    "president",
    "chairman",
    "chairwoman",
    "chair",
    "manager",
    "engineer",
    "co-founder",
    "founder",
    "member",
    "editor",
    "dean",
    "lecturer",
    "researcher",
    "fellow",
    "secretary",
    "treasurer",
    "consultant",
    "vice",
    "deputy",
    "senior",
    "junior",
    "assistant",
    "associate",
    "managing",
    "general",
    "technical",
    "financial",
    "operating",
    "minister",
    "mayor",
    "doctor",
];

/// Whether any of `keys` is a form of one of `words`.
fn has<S: AsRef<str>>(keys: &[S], words: &[&str]) -> bool {
    keys.iter()
        .any(|k| words.iter().any(|w| stem_eq(k.as_ref(), w)))
}

/// Whether a capitalised run is a role ("Chief Scientist", "Professor of Soft Robotics",
/// "Chief Technology Officer").
pub fn is_role(name: &str) -> bool {
    let words: Vec<String> = name.split_whitespace().map(|w| w.to_lowercase()).collect();
    let role = |w: &String| ROLE_WORDS.contains(&w.as_str());
    // "Chief Technology Officer": a title begins and ends with role words.
    let first_and_last = words.len() >= 2 && role(&words[0]) && role(&words[words.len() - 1]);
    !words.is_empty()
        && (words.iter().all(role)
            || first_and_last
            || (role(&words[0]) && words.get(1).is_some_and(|w| w == "of")))
}

/// Whether the text before a name ends with a word that puts a place after it.
/// Whether `before` ends with "by", or with "by" and up to three lower-case words ("by the
/// physicist", "by a local engineer"): what follows is the agent.
fn after_by(before: &str) -> bool {
    let words: Vec<&str> = before.split_whitespace().rev().take(4).collect();
    words
        .iter()
        .position(|w| w.eq_ignore_ascii_case("by"))
        .is_some_and(|at| {
            words[..at]
                .iter()
                .all(|w| w.chars().all(|c| c.is_lowercase()))
        })
}

fn after_place_word(before: &str) -> bool {
    let last = before
        .trim_end()
        .rsplit(|c: char| !c.is_alphabetic())
        .next()
        .unwrap_or("")
        .to_lowercase();
    matches!(
        last.as_str(),
        "in" | "at" | "near" | "from" | "into" | "across" | "outside"
    )
}

/// Whether a string field with these words (name and description) wants a proper name.
pub fn wants_name(keywords: &str) -> bool {
    string_kind(keywords) == Some(StringKind::Name)
}

fn string_kind(keywords: &str) -> Option<StringKind> {
    // Every word counts here, function words included: "who" says a name is wanted.
    let keys: Vec<&str> = keywords
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if has(&keys, &["email", "mail"]) {
        Some(StringKind::Email)
    } else if has(&keys, &["version"]) {
        Some(StringKind::Version)
    } else if has(&keys, &["ticker", "symbol"]) {
        Some(StringKind::Ticker)
    } else if has(&keys, &["url", "website", "homepage", "link"]) {
        Some(StringKind::Url)
    } else if has(&keys, PROSE_WORDS) {
        None
    } else if has(&keys, PHRASE_WORDS) && !has(&keys, NAME_WORDS) {
        Some(StringKind::Phrase)
    } else {
        Some(StringKind::Name)
    }
}

/// Capitalised words that begin sentences or clauses rather than names.
const NOT_NAMES: &[&str] = &[
    "The",
    "A",
    "An",
    "It",
    "Its",
    "In",
    "On",
    "At",
    "By",
    "For",
    "From",
    "This",
    "That",
    "These",
    "Those",
    "They",
    "He",
    "She",
    "His",
    "Her",
    "Their",
    "We",
    "Our",
    "As",
    "After",
    "Before",
    "When",
    "While",
    "Since",
    "Until",
    "With",
    "Today",
    "Yesterday",
    "Mr",
    "Mrs",
    "Ms",
    "Dr",
    "Prof",
    "Sir",
    "Read",
    "See",
    "Also",
    "But",
    "And",
    "Or",
    "If",
    "Of",
    "To",
    "Is",
    "Was",
];

impl StringKind {
    fn candidates(self, text: &str) -> Vec<Candidate> {
        let words = word_spans(text, |c| c.is_alphanumeric() || "@._-+/:%".contains(c));
        let trim = |w: &str| w.trim_end_matches(['.', ',', ':', ';']).len();
        let mut out = Vec::new();
        match self {
            StringKind::Email | StringKind::Version | StringKind::Ticker | StringKind::Url => {
                for (start, end) in words {
                    let word = &text[start..start + trim(&text[start..end])];
                    let fits = match self {
                        StringKind::Email => word
                            .split_once('@')
                            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.')),
                        StringKind::Version => {
                            let bare = word.trim_start_matches(['v', 'V']);
                            bare.contains('.')
                                && bare
                                    .split('.')
                                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
                        }
                        StringKind::Ticker => {
                            (2..=5).contains(&word.len())
                                && word.chars().all(|c| c.is_ascii_uppercase())
                                && !NOT_NAMES.iter().any(|n| n.eq_ignore_ascii_case(word))
                        }
                        _ => word.starts_with("http://") || word.starts_with("https://"),
                    };
                    if fits {
                        out.push(Candidate {
                            value: json!(word),
                            start,
                            end: start + word.len(),
                        });
                    }
                }
            }
            StringKind::Name => {
                let words = word_spans(text, |c| c.is_alphanumeric() || c == '-' || c == '\'');
                let mut i = 0;
                while i < words.len() {
                    let (start, end) = words[i];
                    let first = &text[start..end];
                    let capital = first.chars().next().is_some_and(char::is_uppercase);
                    // "The" inside a sentence, before a capitalised word, belongs to the
                    // name: "headliners are The Marrow Sisters".
                    let the_name = first == "The"
                        && !opens_at(text, start)
                        && words.get(i + 1).is_some_and(|&(s, e)| {
                            text[s..e].chars().next().is_some_and(char::is_uppercase)
                                && text[end..s].chars().all(|c| c == ' ')
                        });
                    if !capital || (NOT_NAMES.contains(&first) && !the_name) {
                        i += 1;
                        continue;
                    }
                    // Extend over capitalised words and the joiners of names ("of", "de").
                    let mut last = i;
                    let mut j = i + 1;
                    while j < words.len() {
                        let (s, e) = words[j];
                        let gap = &text[words[j - 1].1..s];
                        // A name stays on one line and is not cut by punctuation.
                        if gap.chars().any(|c| !c.is_whitespace() || c == '\n') {
                            break;
                        }
                        let word = &text[s..e];
                        if word.chars().next().is_some_and(char::is_uppercase)
                            || word.chars().all(|c| c.is_ascii_digit())
                        {
                            last = j;
                        } else if !matches!(
                            word,
                            "of" | "de" | "van" | "von" | "la" | "le" | "der" | "du"
                        ) {
                            break;
                        }
                        j += 1;
                    }
                    let span_end = words[last].1;
                    // "Quellmoor's largest employer": a possessive qualifies another noun.
                    let possessive = ["'s", "’s"].iter().any(|p| text[..span_end].ends_with(p))
                        || text[span_end..].starts_with("’s");
                    // "November 2022" is a date, not a name.
                    let span = &text[start..span_end];
                    let dated = span.chars().any(|c| c.is_ascii_digit())
                        && MONTHS.contains(&first.to_lowercase().as_str());
                    // "Four days, five stages": a lone capitalised word opening a sentence,
                    // a line or a cell is a name only if the text capitalises it elsewhere.
                    let common_word = last == i
                        && opens_at(text, start)
                        && !text
                            .match_indices(first)
                            .any(|(at, _)| at != start && !opens_at(text, at));
                    if !possessive && !dated && !common_word {
                        out.push(Candidate {
                            value: json!(&text[start..span_end]),
                            start,
                            end: span_end,
                        });
                    }
                    i = last + 1;
                }
            }
            StringKind::Phrase => {}
        }
        out
    }
}

/// Whether byte `at` of `text` opens a sentence, a line or a cell.
fn opens_at(text: &str, at: usize) -> bool {
    text[..at]
        .trim_end_matches([' ', '"', '“', '\''])
        .chars()
        .next_back()
        .is_none_or(|c| matches!(c, '.' | '!' | '?' | '\n' | '\t' | '|' | ':'))
}

/// Drops the leading words of a name candidate that are the field's own words.
fn trim_leading_keywords(passage: &str, candidate: &mut Candidate, keys: &[String]) {
    loop {
        let text = &passage[candidate.start..candidate.end];
        let first_end = text.find(char::is_whitespace).unwrap_or(text.len());
        let first = &text[..first_end];
        if !keys.iter().any(|k| stem_eq(k, first)) {
            break;
        }
        let rest = text[first_end..].trim_start();
        candidate.start = candidate.end - rest.len();
        candidate.value = json!(rest);
        if rest.is_empty() {
            break;
        }
    }
}

/// Byte spans of the runs of characters for which `part` holds.
fn word_spans(text: &str, part: impl Fn(char) -> bool) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (part(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

/// Sentences of a passage, with their byte spans.
fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (k, (i, c)) in chars.iter().enumerate() {
        let next_is_space = chars.get(k + 1).is_none_or(|(_, n)| n.is_whitespace());
        let ends = match c {
            '.' => next_is_space && !ends_abbreviation(&text[start..*i]),
            '!' | '?' => next_is_space,
            '\n' => {
                let rest = text[i + 1..].trim_start_matches([' ', '\t']);
                rest.starts_with('\n') || rest.starts_with(['-', '*', '#', '|'])
            }
            _ => false,
        };
        if ends {
            let end = i + c.len_utf8();
            if !text[start..end].trim().is_empty() {
                out.push((start, end));
            }
            start = end;
        }
    }
    if !text[start..].trim().is_empty() {
        out.push((start, text.len()));
    }
    out
}

/// Abbreviations a full stop follows inside a sentence ("Zorblax Robotics Ltd. was
/// founded", "Dr. Ysolde Farrand").
const ABBREVIATIONS: &[&str] = &[
    "ltd", "inc", "co", "corp", "plc", "dr", "mr", "mrs", "ms", "prof", "st", "jr", "sr", "no",
    "vs", "etc", "approx", "dept", "univ", "gen", "col", "capt", "rev", "hon", "mt", "ft", "e.g",
    "i.e",
];

/// Whether `before` (the sentence so far) ends with an abbreviation or an initial, so that
/// the full stop after it does not end the sentence.
fn ends_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    let initial = word.chars().count() == 1 && word.chars().all(char::is_uppercase);
    initial || ABBREVIATIONS.contains(&word.to_lowercase().as_str())
}

/// The sentences of `passage` with how many of `keywords` each names (compared as forms
/// of one word), in order; list markers and hard line wraps removed.
pub fn sentences_naming(passage: &str, keywords: &str) -> Vec<(String, usize)> {
    let keys = tokens(keywords);
    sentences(passage)
        .into_iter()
        .map(|(s, e)| {
            let text = passage[s..e]
                .trim()
                .trim_start_matches(['-', '*', '#', ' '])
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let words = tokens(&text);
            let hits = keys
                .iter()
                .filter(|k| words.iter().any(|w| stem_eq(w, k)))
                .count();
            (text, hits)
        })
        .filter(|(t, _)| !t.is_empty())
        .collect()
}

/// The sentence of `passage` that shares most words with `keywords` (the first one if none
/// does), as a value with its evidence.
pub fn best_sentence(passage: &str, keywords: &str) -> Option<Found> {
    sentence(passage, &tokens(keywords))
}

/// The sentence sharing most keywords (the first one if none shares any).
fn sentence(passage: &str, keys: &[String]) -> Option<Found> {
    let spans = sentences(passage);
    let (start, end, hits) = spans
        .iter()
        .map(|&(s, e)| {
            let words = tokens(&passage[s..e]);
            let hits = keys
                .iter()
                .filter(|k| words.iter().any(|w| stem_eq(w, k)))
                .count();
            (s, e, hits)
        })
        .max_by_key(|&(s, _, hits)| (hits, std::cmp::Reverse(s)))?;
    let text = passage[start..end]
        .trim()
        .trim_start_matches(['-', '*', '#', ' '])
        .trim();
    // Hard-wrapped lines read as one sentence.
    let value = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then(|| Found {
        value: json!(value),
        evidence: text.to_owned(),
        plain: hits > 0,
    })
}

/// A list: markdown list items if the passage has them, else the parts of the best sentence
/// separated by commas and "and"; each item typed as `item`.
fn list(
    passage: &str,
    item: &FieldType,
    keywords: &str,
    keys: &[String],
    avoid: &str,
) -> Option<Found> {
    let bullets: Vec<&str> = passage
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("- ").or_else(|| l.strip_prefix("* ")))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let (parts, evidence, plain): (Vec<String>, String, bool) = if bullets.len() >= 2 {
        (
            bullets.iter().map(|b| b.to_string()).collect(),
            bullets.join("\n"),
            true,
        )
    } else {
        let best = sentence(passage, keys)?;
        if !best.plain {
            return None;
        }
        let wants_names = matches!(item, FieldType::String | FieldType::Other)
            && string_kind(keywords) == Some(StringKind::Name);
        let names: Vec<String> = if wants_names {
            let avoid = avoid.to_lowercase();
            StringKind::Name
                .candidates(&best.evidence)
                .into_iter()
                .filter_map(|c| c.value.as_str().map(str::to_owned))
                .filter(|n| !avoid.contains(&n.to_lowercase()))
                .collect()
        } else {
            Vec::new()
        };
        if !names.is_empty() {
            (names, best.evidence, true)
        } else {
            let text = best.evidence.trim_end_matches(['.', '!', '?']).to_owned();
            let body = text
                .split_once(':')
                .map(|(_, after)| after.to_owned())
                .unwrap_or(text.clone());
            let parts: Vec<String> = body
                .split(',')
                .flat_map(|p| p.split(" and "))
                .map(|p| p.trim().trim_start_matches("and ").trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect();
            // Items of a list are short; long parts are clauses of a sentence, not items.
            if parts.len() < 2 || parts.iter().any(|p| p.split_whitespace().count() > 5) {
                return None;
            }
            (parts, best.evidence, best.plain)
        }
    };
    let items: Vec<Value> = parts
        .iter()
        .filter_map(|part| match item {
            FieldType::String | FieldType::Other => Some(json!(part)),
            other => find_value(other, part, "").map(|f| f.value),
        })
        .collect();
    (!items.is_empty()).then(|| Found {
        value: Value::Array(items),
        evidence,
        plain,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_founder_is_a_person_not_a_firm() {
        let string = super::FieldType::String;
        let founder = |passage: &str| {
            super::find_value(&string, passage, "founder founder company").map(|f| f.value)
        };
        assert_eq!(
            founder("The scanner's founder company Orrin Medical was set up in 1979."),
            None
        );
        assert_eq!(
            founder("Orrin Medical's founder Ilse Marr set it up in 1979."),
            Some(serde_json::json!("Ilse Marr"))
        );
        // The agent after "by" and a word or two of what they were.
        assert_eq!(
            founder("The firm was founded in Sondhaven in 1979 by the physicist Ilse Marr."),
            Some(serde_json::json!("Ilse Marr"))
        );
        // Nor a funding round or a single word.
        assert_eq!(
            founder("Its founder company raised a Series C round."),
            None,
            "\"Series C\" is no person"
        );
        assert!(super::could_be_a_person("J. R. Hale"));
        assert!(!super::could_be_a_person("Fringe"));
        // An owner may be a firm.
        let owner = super::find_value(&string, "Its owner is Orrin Medical.", "owner");
        assert_eq!(
            owner.map(|f| f.value),
            Some(serde_json::json!("Orrin Medical"))
        );
    }

    #[test]
    fn a_rate_per_year_is_a_count_not_a_year() {
        let integer = super::FieldType::Integer;
        let found = super::find_value(
            &integer,
            "Opened in 2019, the scanner carries out about 6,500 scans a year.",
            "scans per year scans per year",
        );
        assert_eq!(found.map(|f| f.value), Some(serde_json::json!(6500)));
        let opened = super::find_value(
            &integer,
            "Opened in 2019, the scanner carries out about 6,500 scans a year.",
            "opened year year scanner opened",
        );
        assert_eq!(opened.map(|f| f.value), Some(serde_json::json!(2019)));
    }

    #[test]
    fn an_earlier_figure_and_an_edition() {
        let integer = super::FieldType::Integer;
        let text = "The fair drew 61,000 spectators, up from 55,000 last year.";
        let value = |keys: &str| super::find_value(&integer, text, keys).map(|f| f.value);
        assert_eq!(
            value("attendance spectators"),
            Some(serde_json::json!(61000))
        );
        assert_eq!(
            value("previous year attendance attendance year before spectators"),
            Some(serde_json::json!(55000)),
            "the year before is asked for, not a year"
        );
        let edition = super::find_value(
            &integer,
            "The 51st Kessel Fair opens on the 3rd of May.",
            "edition edition number",
        );
        assert_eq!(edition.map(|f| f.value), Some(serde_json::json!(51)));
    }

    #[test]
    fn titles_are_roles_not_names() {
        for role in [
            "Chief Technology Officer",
            "Chief Scientist",
            "Head of Research",
        ] {
            assert!(super::is_role(role), "{role}");
        }
        for name in ["Anselm Rooke", "Chief Rooke Smith"] {
            assert!(!super::is_role(name), "{name}");
        }
    }

    #[test]
    fn a_count_of_two_kinds_is_not_a_count_of_one() {
        let integer = super::FieldType::Integer;
        let value = |passage: &str| {
            super::find_value(&integer, passage, "nurses number nurses").map(|f| f.value)
        };
        assert_eq!(
            value("The ward employs 160 nurses and doctors."),
            None,
            "160 is nurses and doctors together"
        );
        assert_eq!(
            value("The ward employs 160 nurses and 40 doctors."),
            Some(serde_json::json!(160))
        );
        assert_eq!(
            value("The ward employs 160 nurses and the board wants more."),
            Some(serde_json::json!(160))
        );
        // A verb after "and" starts another clause: the count stands.
        let arches = super::find_value(
            &integer,
            "Crews repointed all 7 arches and reinforced the piers.",
            "arches number arches",
        );
        assert_eq!(arches.map(|f| f.value), Some(serde_json::json!(7)));
    }

    #[test]
    fn booleans_after_multibyte_characters() {
        // Each panicked: the word's offset counted the separator as one byte.
        let found =
            super::find_value(&super::FieldType::Boolean, "0😀no ", "year founded").unwrap();
        assert_eq!(
            (found.value, found.evidence.as_str()),
            (serde_json::json!(false), "no")
        );
        let found =
            super::find_value(&super::FieldType::Boolean, "Public — yes.", "public").unwrap();
        assert_eq!(
            (found.value, found.evidence.as_str()),
            (serde_json::json!(true), "yes")
        );
    }

    #[test]
    fn enum_members_where_lower_casing_changes_lengths() {
        // "İ" lower-cases to three bytes, not two: offsets in the lower-cased text used to
        // point past the member in the passage, at the wrong words.
        let options = vec!["public".to_string(), "private".to_string()];
        let passage = "İİİİ İstanbul Holding is PUBLIC.";
        let found = super::find_value(&super::FieldType::Enum(options), passage, "status").unwrap();
        assert_eq!(
            (found.value, found.evidence.as_str()),
            (serde_json::json!("public"), "PUBLIC")
        );
    }

    #[test]
    fn numbers_past_the_range_of_f64_are_not_values() {
        let huge = "9".repeat(310);
        for passage in [
            format!("Revenue was {huge}."),
            format!("Revenue was {huge} trillion."),
        ] {
            let found = super::find_value(&super::FieldType::Number, &passage, "revenue");
            assert_eq!(found, None, "{passage}");
        }
        let found =
            super::find_value(&super::FieldType::Number, &format!("{huge} or 42"), "").unwrap();
        assert_eq!(found.value, serde_json::json!(42));
    }

    #[test]
    fn stem_eq_matches_the_lower_casing_definition() {
        // The definition, with allocations, that the streaming version must agree with.
        fn reference(a: &str, b: &str) -> bool {
            let (a, b) = (a.to_lowercase(), b.to_lowercase());
            if a.trim_end_matches('s') == b.trim_end_matches('s') {
                return true;
            }
            let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
            common >= 5 && common * 4 >= a.chars().count().min(b.chars().count()) * 3
        }
        let words = [
            "",
            "s",
            "ss",
            "S",
            "employees",
            "Employs",
            "employ",
            "founded",
            "Founding",
            "revenue",
            "Revenues",
            "REVENUE",
            "staff",
            "Staffs",
            "İstanbul",
            "istanbul",
            "Straße",
            "STRASSE",
            "año",
            "Años",
            "population",
            "populations",
            "popular",
            "bus",
            "buses",
            "ÉCOLE",
            "écoles",
            "x",
            "xs",
        ];
        for a in words {
            for b in words {
                assert_eq!(super::stem_eq(a, b), reference(a, b), "{a:?} vs {b:?}");
            }
        }
        // keyword_spans finds exactly the words the definition accepts.
        let passage = words.join(" — ");
        for key in words.iter().filter(|w| !w.is_empty()) {
            let found: Vec<&str> = super::keyword_spans(&passage, &[key.to_string()])
                .into_iter()
                .map(|(at, end)| &passage[at..end])
                .collect();
            let expected: Vec<&str> = words
                .iter()
                .copied()
                .filter(|w| !w.is_empty() && reference(key, w))
                .collect();
            assert_eq!(found, expected, "key {key:?}");
        }
        assert!(super::stem_eq("Revenues", "revenue"));
        assert!(super::stem_eq("employees", "Employs"));
        assert!(!super::stem_eq("staff", "revenue"));
    }

    use super::*;

    #[test]
    fn reads_types_from_schemas() {
        assert_eq!(
            FieldType::of(&json!({"type": "integer"})),
            FieldType::Integer
        );
        assert_eq!(
            FieldType::of(&json!({"type": ["number", "null"]})),
            FieldType::Number
        );
        assert_eq!(
            FieldType::of(&json!({"anyOf": [{"type": "null"}, {"type": "boolean"}]})),
            FieldType::Boolean
        );
        assert_eq!(
            FieldType::of(&json!({"type": "string", "format": "date"})),
            FieldType::Date
        );
        for description in [
            "Date the company was founded (YYYY-MM-DD)",
            "founding date, formatted yyyy-mm-dd",
            "The date of the election as an ISO 8601 date",
            "Release date in ISO-8601 date format",
            "Release date, ISO date",
        ] {
            assert_eq!(
                FieldType::of(&json!({"type": ["string", "null"], "description": description})),
                FieldType::Date,
                "{description}"
            );
        }
        for description in [
            "Date the company was founded",
            "ISO 3166 country code",
            "Time zone as an ISO 8601 offset",
        ] {
            assert_eq!(
                FieldType::of(&json!({"type": "string", "description": description})),
                FieldType::String,
                "{description}"
            );
        }
        assert_eq!(
            FieldType::of(&json!({"type": "string", "enum": ["a", "b"]})),
            FieldType::Enum(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            FieldType::of(&json!({"type": "array", "items": {"type": "integer"}})),
            FieldType::Array(Box::new(FieldType::Integer))
        );
        assert_eq!(FieldType::of(&json!({"type": "object"})), FieldType::Other);
        assert!(FieldType::nullable(&json!({"type": ["string", "null"]})));
        assert!(FieldType::nullable(
            &json!({"anyOf": [{"type": "string"}, {"type": "null"}]})
        ));
        assert!(!FieldType::nullable(&json!({"type": "string"})));
    }

    #[test]
    fn numbers_with_scales_and_keywords() {
        let passage = "Founded in 1998, Zorblax employs 12,400 people. Its revenue was $3.1 trillion in 2023.";
        let found = find_value(&FieldType::Number, passage, "revenue").unwrap();
        assert_eq!(found.value, json!(3_100_000_000_000i64));
        assert_eq!(found.evidence, "3.1 trillion");
        assert!(found.plain);
        let staff = find_value(&FieldType::Integer, passage, "number of employees people").unwrap();
        assert_eq!(staff.value, json!(12400));
        let year = find_value(&FieldType::Integer, passage, "founded").unwrap();
        assert_eq!(year.value, json!(1998));
        assert_eq!(find_value(&FieldType::Number, "no digits here", "x"), None);
        assert_eq!(
            find_value(&FieldType::Number, "rate fell to 4.25% in May", "rate")
                .unwrap()
                .value,
            json!(4.25)
        );
        assert_eq!(
            find_value(&FieldType::Integer, "about 7.5 km", "distance"),
            None
        );
        assert_eq!(
            find_value(&FieldType::Number, "model X5 ships", "model"),
            None,
            "digits inside words are not numbers"
        );
    }

    #[test]
    fn dates_in_three_spellings() {
        let p = "The company was founded on 5 March 2011 and listed on 2019-07-01. A merger followed on Aug 3, 2021.";
        assert_eq!(
            find_value(&FieldType::Date, p, "founded").unwrap().value,
            json!("2011-03-05")
        );
        assert_eq!(
            find_value(&FieldType::Date, p, "listed").unwrap().value,
            json!("2019-07-01")
        );
        assert_eq!(
            find_value(&FieldType::Date, p, "merger").unwrap().value,
            json!("2021-08-03")
        );
        assert_eq!(
            find_value(&FieldType::Date, "on 31 February 2020", "x"),
            None
        );
        assert_eq!(find_value(&FieldType::Date, "May we go?", "x"), None);
    }

    #[test]
    fn dates_in_prose_and_numeric_spellings() {
        let date = |p: &str, k: &str| find_value(&FieldType::Date, p, k).map(|f| f.value);
        assert_eq!(
            date(
                "The quay reopened on the 13th of April 2024 after repairs.",
                "reopened"
            ),
            Some(json!("2024-04-13"))
        );
        assert_eq!(
            date("Opened: 13.4.2024", "opened"),
            Some(json!("2024-04-13"))
        );
        assert_eq!(
            date("Opened 03/11/2022", "opened"),
            Some(json!("2022-11-03"))
        );
        assert_eq!(
            date("Opened 12/25/2022", "opened"),
            Some(json!("2022-12-25"))
        );
        assert_eq!(date("Version 1.2.2024 ships", "version"), None);
        // Only the month is stated: the month, not an invented day.
        assert_eq!(
            date("The line was introduced in June 2021.", "introduced"),
            Some(json!("2021-06"))
        );
    }

    #[test]
    fn codes_ranges_and_durations_are_not_counts() {
        let int = |p: &str, k: &str| find_value(&FieldType::Integer, p, k).map(|f| f.value);
        // The "7" of a product name is not a count, and never a negative one.
        assert_eq!(
            int("Products: Kestrel Arm, Loom-7 and HV-220.", "products"),
            None
        );
        assert_eq!(
            int("The range fell by -7 points.", "points"),
            Some(json!(-7))
        );
        assert_eq!(int("Staff 2019-2021: 40", "staff"), Some(json!(40)));
        // A duration answers only a field about time.
        assert_eq!(
            int("The stage took six days to build.", "stage employees"),
            None
        );
        assert_eq!(
            int(
                "An 18-month programme with three placements.",
                "programme months"
            ),
            Some(json!(18))
        );
    }

    #[test]
    fn amounts_of_money_need_their_currency() {
        let num = |p: &str, k: &str| find_value(&FieldType::Number, p, k).map(|f| f.value);
        assert_eq!(num("Renovated: 2024", "renovation cost eur"), None);
        assert_eq!(
            num(
                "Renovated in 2024 for €46.5 million.",
                "renovation cost eur"
            ),
            Some(json!(46_500_000))
        );
        assert_eq!(
            num("Adult £12.50, child £6", "adult ticket gbp"),
            Some(json!(12.5))
        );
    }

    #[test]
    fn a_capitalised_word_opening_a_sentence_is_not_a_name() {
        let name = |p: &str| find_value(&FieldType::String, p, "founder").map(|f| f.value);
        assert_eq!(name("Four days of music, and the founder is proud."), None);
        assert_eq!(
            name("Four days of music. Its founder is Declan Torvane."),
            Some(json!("Declan Torvane"))
        );
        // Capitalised elsewhere too: a one-word name at a sentence start is still one (an
        // organiser may be a town; a founder is a person with a full name).
        let organiser = |p: &str| find_value(&FieldType::String, p, "organiser").map(|f| f.value);
        assert_eq!(
            organiser("Organiser of the fair: Halbury. Visitors came from Halbury and beyond."),
            Some(json!("Halbury"))
        );
    }

    #[test]
    fn sentences_do_not_end_at_abbreviations() {
        let p =
            "Harrow Kettleworks Ltd. was founded by Dr. Edda Harrow and J. Pell in 1911. It grew.";
        let found: Vec<String> = sentences_naming(p, "founded")
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(
            found,
            [
                "Harrow Kettleworks Ltd. was founded by Dr. Edda Harrow and J. Pell in 1911.",
                "It grew."
            ]
        );
    }

    #[test]
    fn prices_and_percentages_answer_only_fields_about_them() {
        let int = |p: &str, k: &str| find_value(&FieldType::Number, p, k).map(|f| f.value);
        assert_eq!(int("Annual pass: £28.00", "annual visitors"), None);
        assert_eq!(
            int("Annual pass: £28.00", "annual pass price"),
            Some(json!(28))
        );
        assert_eq!(
            int("Bottles: 6,200 (14.5% alcohol)", "bottles"),
            Some(json!(6200))
        );
        assert_eq!(int("Alcohol: 14.5%", "alcohol percent"), Some(json!(14.5)));
    }

    #[test]
    fn the_inside_a_sentence_belongs_to_a_name() {
        let names = |p: &str| {
            StringKind::Name
                .candidates(p)
                .into_iter()
                .map(|c| p[c.start..c.end].to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names("The headliners are The Marrow Sisters and Callum Dray."),
            ["The Marrow Sisters", "Callum Dray"]
        );
        assert_eq!(names("The Marrow Sisters played."), ["Marrow Sisters"]);
    }

    #[test]
    fn persons_roles_places_and_addresses() {
        let name = |p: &str, k: &str| find_value(&FieldType::String, p, k).map(|f| f.value);
        assert_eq!(
            name(
                "Kettle Co was founded in 1911 in Brastmoor by Edda Harrow.",
                "founder"
            ),
            Some(json!("Edda Harrow"))
        );
        assert_eq!(
            name(
                "Director of the Institute; Professor of Soft Robotics",
                "predecessor"
            ),
            None
        );
        assert_eq!(
            name("Its director, Chief Scientist Ada Rusk, spoke.", "director"),
            Some(json!("Ada Rusk"))
        );
        assert_eq!(
            name(
                "Our headquarters are at 14 Lanternwharf Road, Quellmoor.",
                "headquarters address"
            ),
            Some(json!("14 Lanternwharf Road"))
        );
        let int = |p: &str, k: &str| find_value(&FieldType::Integer, p, k).map(|f| f.value);
        assert_eq!(
            int("Customers: call +99 41 555 0150", "customer countries"),
            None
        );
        assert_eq!(
            int(
                "News 2023 | Graduate programme",
                "graduate programme months"
            ),
            None
        );
    }

    #[test]
    fn yes_and_no_stated_as_statements() {
        let yes_no = |p: &str, k: &str| find_value(&FieldType::Boolean, p, k).map(|f| f.value);
        assert_eq!(
            yes_no(
                "Entry is free on Sundays.",
                "free entry whether entry free charge"
            ),
            Some(json!(true))
        );
        assert_eq!(
            yes_no(
                "It is not listed on any stock exchange.",
                "publicly listed stock exchange"
            ),
            Some(json!(false))
        );
        assert_eq!(
            yes_no("GPU: optional. RAM: 8 GB.", "gpu required"),
            Some(json!(false))
        );
        assert_eq!(
            yes_no(
                "The mill is still owned by the Harrow family.",
                "family owned"
            ),
            Some(json!(true))
        );
        assert_eq!(yes_no("The weather was fine.", "family owned"), None);
    }

    #[test]
    fn ranges_of_days_give_their_first_and_last_day() {
        let date = |p: &str, k: &str| find_value(&FieldType::Date, p, k).map(|f| f.value);
        let p = "The fair runs from 11 to 13 October 2024 on the quay.";
        assert_eq!(date(p, "first day fair"), Some(json!("2024-10-11")));
        assert_eq!(date(p, "last day fair"), Some(json!("2024-10-13")));
        let p = "It takes place from Thursday 24 July to Sunday 27 July 2025.";
        assert_eq!(date(p, "start date"), Some(json!("2025-07-24")));
        assert_eq!(date(p, "end date"), Some(json!("2025-07-27")));
        assert_eq!(
            date("Held 11–13 October 2024.", "last day"),
            Some(json!("2024-10-13"))
        );
    }

    #[test]
    fn month_fields_take_months() {
        let schema = json!({"type": "string", "description": "Month it opened (YYYY-MM)"});
        assert_eq!(FieldType::of(&schema), FieldType::Month);
        let month = |p: &str| find_value(&FieldType::Month, p, "opened").map(|f| f.value);
        assert_eq!(
            month("It opened in September 2024."),
            Some(json!("2024-09"))
        );
        assert_eq!(
            month("It opened on 3 September 2024."),
            Some(json!("2024-09"))
        );
        assert_eq!(month("Opened: 2024-09"), Some(json!("2024-09")));
        assert_eq!(month("It may open soon, in 2024 perhaps."), None);
    }

    #[test]
    fn enums_booleans_and_plainness() {
        let options = FieldType::Enum(vec!["public".into(), "private".into()]);
        let found = find_value(
            &options,
            "Zorblax is a private company based in Lyon.",
            "ownership company",
        )
        .unwrap();
        assert_eq!(found.value, json!("private"));
        assert_eq!(
            find_value(&options, "It is a publicly traded firm.", "ownership")
                .unwrap()
                .value,
            json!("public"),
            "an adverb states its adjective"
        );
        assert_eq!(
            find_value(&options, "The publication is privileged.", "ownership"),
            None,
            "whole words only"
        );
        let b = find_value(
            &FieldType::Boolean,
            "Is it open source? Yes, since 2020.",
            "open source",
        )
        .unwrap();
        assert_eq!(b.value, json!(true));
        let far = find_value(
            &FieldType::Number,
            "Revenue is reported yearly by the finance team of the group and was 12 last year",
            "revenue",
        )
        .unwrap();
        assert!(!far.plain);
    }

    #[test]
    fn strings_and_lists() {
        let p = "Zorblax is based in Lyon. Its chief executive is Mara Vell. The weather is mild.";
        let s = find_value(&FieldType::String, p, "chief executive CEO").unwrap();
        assert_eq!(s.value, json!("Mara Vell"));
        let s = find_value(&FieldType::String, p, "weather description").unwrap();
        assert_eq!(s.value, json!("The weather is mild."));
        // A string field that asks for neither prose nor a known kind wants a name: no
        // sentence stands in for one.
        assert_eq!(find_value(&FieldType::String, p, "weather"), None);
        assert!(s.plain);
        let list_type = FieldType::Array(Box::new(FieldType::String));
        let l = find_value(
            &list_type,
            "Its products: Alpha, Beta and Gamma.",
            "products",
        )
        .unwrap();
        assert_eq!(l.value, json!(["Alpha", "Beta", "Gamma"]));
        let bullets =
            find_value(&list_type, "Founders\n- Ada Quell\n- Bo Rinn\n", "founders").unwrap();
        assert_eq!(bullets.value, json!(["Ada Quell", "Bo Rinn"]));
        let numbers = find_value(
            &FieldType::Array(Box::new(FieldType::Integer)),
            "Offices opened in 2001, 2005 and 2010.",
            "offices",
        )
        .unwrap();
        assert_eq!(numbers.value, json!([2001, 2005, 2010]));
    }

    #[test]
    fn names_codes_and_wrapped_lines() {
        let p = "See `02-charter-and-the-wool-trade.md`. They got it in 1347, when\nCountess Aldreda granted the town charter.";
        assert_eq!(
            find_value(&FieldType::Integer, p, "charter year")
                .unwrap()
                .value,
            json!(1347)
        );
        assert_eq!(
            find_value(&FieldType::Integer, "The Loom-7 ships 4,870 units", "units")
                .unwrap()
                .value,
            json!(4870)
        );
        assert_eq!(
            find_value(
                &FieldType::Integer,
                "temperatures fell by -7 degrees",
                "fell"
            )
            .unwrap()
            .value,
            json!(-7)
        );
        let s = find_value(
            &FieldType::String,
            "Its mayor is\nOdile Prenn. The river is wide.",
            "mayor",
        )
        .unwrap();
        assert_eq!(s.value, json!("Odile Prenn"));
        let list = find_value(
            &FieldType::String,
            "Intro.\n- first item\n- weather mild",
            "weather summary",
        )
        .unwrap();
        assert_eq!(list.value, json!("weather mild"));
    }

    #[test]
    fn shaped_strings_and_names() {
        let p = "Press enquiries: press@zorblax.example or call 555-0100. Version 4.2.0 shipped.";
        assert_eq!(
            find_value(&FieldType::String, p, "press email")
                .unwrap()
                .value,
            json!("press@zorblax.example")
        );
        assert_eq!(
            find_value(&FieldType::String, p, "version number")
                .unwrap()
                .value,
            json!("4.2.0")
        );
        let t = "Brannock trades on the Orrindale Stock Exchange under the ticker BLMW.";
        assert_eq!(
            find_value(&FieldType::String, t, "stock ticker symbol")
                .unwrap()
                .value,
            json!("BLMW")
        );
        assert_eq!(
            find_value(&FieldType::String, t, "name of the stock exchange")
                .unwrap()
                .value,
            json!("Orrindale Stock Exchange")
        );
        let m = "In the election, the mayor Odile Prenn succeeded Bastian Greel.";
        assert_eq!(
            find_value(&FieldType::String, m, "current mayor name")
                .unwrap()
                .value,
            json!("Odile Prenn")
        );
        assert_eq!(
            find_value(
                &FieldType::String,
                "It was granted by Countess Aldreda of Orrindale in 1347.",
                "who granted"
            )
            .unwrap()
            .value,
            json!("Countess Aldreda of Orrindale")
        );
        // No name in the passage: no value. A sentence is not a mayor.
        assert_eq!(
            find_value(
                &FieldType::String,
                "the mayor is elected every four years.",
                "mayor"
            ),
            None
        );
        // A possessive is not the name asked for: "Quellmoor's largest employer".
        assert_eq!(
            find_value(
                &FieldType::String,
                "Investors value Quellmoor's largest employer highly.",
                "investor"
            ),
            None
        );
        // A phrase field (a category, a role) takes no sentence either.
        assert_eq!(
            find_value(
                &FieldType::String,
                "The Loom-7 sorts parcels in warehouses.",
                "category kind product"
            ),
            None
        );
    }

    #[test]
    fn values_the_question_states_are_not_answers() {
        let p = "Quellmoor's population has reached 45,900, according to the 2018 census.";
        let q = "According to the 2018 census, what was the population of Quellmoor?";
        let found = find_value_avoiding(&FieldType::Integer, p, "population 2018", q).unwrap();
        assert_eq!(found.value, json!(45900));
        assert_eq!(
            find_value(
                &FieldType::Integer,
                "In 2023 it drew 2023 visitors",
                "visitors"
            )
            .unwrap()
            .value,
            json!(2023)
        );
        let names = find_value_avoiding(
            &FieldType::String,
            "Mayor Odile Prenn of Quellmoor",
            "mayor",
            "Quellmoor",
        )
        .unwrap();
        assert_eq!(names.value, json!("Odile Prenn"));
    }

    #[test]
    fn multibyte_separators_and_years_that_are_not_counts() {
        let p = "Dr. Ysolde Farrand — co-founder and Chief Scientist until 2020; today director — of the institute’s 4,600 students.";
        assert_eq!(
            find_value(&FieldType::Integer, p, "students")
                .unwrap()
                .value,
            json!(4600)
        );
        let census = "Population (2023 census) 48,250";
        assert_eq!(
            find_value(&FieldType::Integer, census, "population")
                .unwrap()
                .value,
            json!(48250)
        );
        assert_eq!(
            find_value(
                &FieldType::Integer,
                "In 2017 it had 3 factories.",
                "factories count"
            )
            .unwrap()
            .value,
            json!(3)
        );
        assert_eq!(
            find_value(&FieldType::Integer, "It opened in 2017.", "opening year")
                .unwrap()
                .value,
            json!(2017)
        );
    }

    #[test]
    fn number_words_and_bracketed_asides() {
        assert_eq!(
            find_value(
                &FieldType::Integer,
                "The bridge has seven arches.",
                "arches"
            )
            .unwrap()
            .value,
            json!(7)
        );
        assert_eq!(
            find_value(
                &FieldType::Integer,
                "Requires 8 GB of RAM (16 GB recommended).",
                "minimum ram gb"
            )
            .unwrap()
            .value,
            json!(8)
        );
        assert_eq!(
            find_value(&FieldType::Number, "Area 37.4 km2 (14.4 sq mi)", "area km2")
                .unwrap()
                .value,
            json!(37.4)
        );
    }
}

/// Fuzz targets of the typed-value readers (see `crate::fuzz`): every field type, read from
/// passages of numbers, dates, words and odd characters, with keywords of the same kind.
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz::{config, text_like};
    use proptest::prelude::*;

    fn field_type() -> impl Strategy<Value = FieldType> {
        let leaf = prop_oneof![
            Just(FieldType::String),
            Just(FieldType::Number),
            Just(FieldType::Integer),
            Just(FieldType::Boolean),
            Just(FieldType::Date),
            Just(FieldType::Month),
            Just(FieldType::Other),
            proptest::collection::vec(text_like(), 0..4).prop_map(FieldType::Enum),
        ];
        leaf.prop_recursive(2, 4, 1, |inner| {
            inner.prop_map(|t| FieldType::Array(Box::new(t)))
        })
    }

    /// Keywords that switch the readers' special cases on (years, names, emails, versions…).
    fn keywords() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::sample::select(
                &[
                    "year founded",
                    "revenue",
                    "ceo name",
                    "who",
                    "email",
                    "version",
                    "ticker symbol",
                    "website url",
                    "population",
                    "date",
                    "is public",
                    "employees",
                    "city",
                ][..]
            )
            .prop_map(str::to_owned),
            text_like(),
        ]
    }

    proptest! {
        #![proptest_config(config(1))]

        #[test]
        fn find_value_never_panics(
            field in field_type(),
            passage in text_like(),
            keys in keywords(),
            avoid in text_like(),
        ) {
            if let Some(found) = find_value_avoiding(&field, &passage, &keys, &avoid) {
                // Values come from the passage: its evidence is never longer than it.
                prop_assert!(found.evidence.len() <= passage.len());
                // A number is a JSON number, never `null` from an infinite product.
                if matches!(field, FieldType::Number | FieldType::Integer) {
                    prop_assert!(found.value.is_number(), "{:?}", found);
                }
                // An enum member's evidence is the member as the passage writes it.
                if let (FieldType::Enum(_), Some(member)) = (&field, found.value.as_str()) {
                    prop_assert_eq!(found.evidence.to_lowercase(), member.to_lowercase());
                }
            }
            find_value(&field, &passage, &keys);
            best_sentence(&passage, &keys);
        }
    }
}
