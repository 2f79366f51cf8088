//! Numbers in a passage: figures with separators, decimals and scale words, small counts
//! written as words, ordinals, and the rules that tell a field's figure from a year, a price,
//! a share, a duration or a telephone number beside it.

use super::spans::{has, stem_eq, word_spans};
use super::Candidate;
use crate::dates::{month_number, Languages};
use serde_json::json;

/// Whether the words after a number count the field's thing together with another: "160
/// nurses and doctors" (but not "160 nurses and 40 doctors", nor "nurses and midwives"
/// when both are the field's words).
pub(super) fn counts_more_than(after: &str, keys: &[String]) -> bool {
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
pub(super) fn ordinals(text: &str) -> Vec<Candidate> {
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
pub(super) fn asks_for_a_year(keywords: &str) -> bool {
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
pub(super) const UNITS: &[(&[&str], &[&str], &[&str])] = &[
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
pub(super) fn unit_spellings(
    keys: &[String],
) -> Vec<(&'static [&'static str], &'static [&'static str])> {
    UNITS
        .iter()
        .filter(|(words, _, _)| keys.iter().any(|k| words.contains(&k.as_str())))
        .map(|(_, after, before)| (*after, *before))
        .collect()
}

/// Whether candidate `c` is written with one of `units`: "220 kV", "3 T", "€12.50",
/// "14.5%", "18-hectare" ("3,600 seats" has no unit word here: counts are found by keywords).
pub(super) fn has_unit(
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
pub(super) const MONEY_WORDS: &[&str] = &[
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
pub(super) const SHARE_WORDS: &[&str] = &[
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
pub(super) fn phone_spans(text: &str) -> Vec<(usize, usize)> {
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
pub(super) const DURATIONS: &[&str] = &[
    "second", "minute", "hour", "day", "week", "month", "year", "decade",
];

/// Whether candidate `c` counts units of time ("six days", "18-month", "12 years").
pub(super) fn is_duration(passage: &str, c: &Candidate) -> bool {
    let after = passage[c.end..]
        .trim_start_matches([' ', '-', '\u{a0}'])
        .to_lowercase();
    let word: String = after.chars().take_while(|ch| ch.is_alphabetic()).collect();
    let singular = word.strip_suffix('s').unwrap_or(&word);
    DURATIONS.contains(&singular)
}

/// Whether the words just before a value say it is an old figure ("up from", "earlier",
/// "previously", "formerly").
pub(super) fn superseded_before(before: &str) -> bool {
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

pub(super) const SCALES: &[(&str, f64)] = &[
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
pub(super) fn number_words(text: &str) -> Vec<Candidate> {
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
pub(super) fn next_to_month(text: &str, start: usize, end: usize) -> bool {
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
    month_number(before, Languages::English).is_some()
        || month_number(after, Languages::English).is_some()
}

/// Numbers written in the text: `1,234.5`, `3.1 trillion`, `42%` (as 42), `-7`.
pub(super) fn numbers(text: &str, integers_only: bool, keep_date_parts: bool) -> Vec<Candidate> {
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

/// The four-digit years (1000 to 2999) of a passage: what a field about a year takes.
pub(super) fn years(passage: &str) -> Vec<Candidate> {
    numbers(passage, true, true)
        .iter()
        .filter(|c| {
            c.value.as_i64().is_some_and(|y| (1000..=2999).contains(&y)) && c.end - c.start == 4
        })
        .map(|c| Candidate {
            value: c.value.clone(),
            start: c.start,
            end: c.end,
        })
        .collect()
}

/// Words of fields that ask about a year (a founding, an opening, a release).
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

/// Whether a candidate looks like a year: four digits, 1800 to 2100.
fn looks_like_year(c: &Candidate) -> bool {
    c.end - c.start == 4 && c.value.as_i64().is_some_and(|y| (1800..=2100).contains(&y))
}

/// A year is rarely the count or amount asked for ("Population (2023 census) 48,250"): years
/// go, unless the field asks about a year or the passage has no other figure.
pub(super) fn drop_unasked_years(candidates: &mut Vec<Candidate>, keys: &[String]) {
    let wants_year = keys.iter().any(|k| YEAR_WORDS.contains(&k.as_str()));
    if !wants_year && candidates.iter().any(|c| !looks_like_year(c)) {
        candidates.retain(|c| !looks_like_year(c));
    }
}

/// "took six days", "an 18-month programme": a duration answers only a field about one, and
/// a field about a duration in months or days takes no year ("2023" in a menu).
pub(super) fn drop_unasked_durations(
    candidates: &mut Vec<Candidate>,
    passage: &str,
    keys: &[String],
) {
    let about_time =
        has(keys, DURATIONS) || has(keys, &["duration", "long", "time", "length", "age", "old"]);
    if !about_time {
        candidates.retain(|c| !is_duration(passage, c));
    } else if !keys.iter().any(|k| k == "year" || k == "years") {
        candidates.retain(|c| !looks_like_year(c));
    }
}

/// Whether one of the units a field names is a currency written before the amount: an
/// amount of money is written with it.
fn names_a_currency(units: &[(&[&str], &[&str])]) -> bool {
    units.iter().any(|(_, before)| !before.is_empty())
}

/// A field that names its unit ("voltage_kv", "area_ha", "price_eur") takes a number written
/// with that unit when the passage has one: "220 kV", not the "19" of a neighbouring figure.
/// An amount of money always takes its currency: a bare "2024" beside it is a year.
pub(super) fn keep_the_fields_unit(
    candidates: &mut Vec<Candidate>,
    passage: &str,
    keys: &[String],
) {
    let units = unit_spellings(keys);
    let money = names_a_currency(&units);
    if money || (!units.is_empty() && candidates.iter().any(|c| has_unit(passage, c, &units))) {
        candidates.retain(|c| has_unit(passage, c, &units));
    }
}

/// "£28.00" is not a count of visitors, nor "14.5%" a number of bottles, unless the field is
/// about money or a share; and "+99 41 555 0150" is a telephone number, all of it.
pub(super) fn drop_unasked_prices_shares_and_phones(
    candidates: &mut Vec<Candidate>,
    passage: &str,
    keys: &[String],
) {
    let about_money = names_a_currency(&unit_spellings(keys)) || has(keys, MONEY_WORDS);
    let about_share = has(keys, SHARE_WORDS);
    let phones = phone_spans(passage);
    candidates.retain(|c| {
        let before = passage[..c.start].trim_end();
        let after = passage[c.end..].trim_start();
        let priced = before.ends_with(['$', '€', '£', '¥']);
        let percent = after.starts_with('%') || after.starts_with("per cent");
        let phone = phones.iter().any(|&(s, e)| s <= c.start && c.end <= e);
        (about_money || !priced) && (about_share || !percent) && !phone
    });
}

/// "160 nurses and doctors" counts both: it is not the number of nurses.
pub(super) fn drop_counts_of_more_than_the_field(
    candidates: &mut Vec<Candidate>,
    passage: &str,
    keys: &[String],
) {
    candidates.retain(|c| !counts_more_than(&passage[c.end..], keys));
}
