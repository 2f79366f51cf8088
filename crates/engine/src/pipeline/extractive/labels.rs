//! Values stated under a label that names the field: table cells and `Label: value` lines
//! (the passages' facts), with the readings particular fields need (an earlier figure's row,
//! a place or an address, a publication date, a value in the field's unit).

use super::json::Fill;
use super::{citation, At, Corpus};
use crate::pipeline::plan::Field;
use crate::pipeline::request::Request;
use crate::rank::tokens;
use crate::typed::{find_value_avoiding, wants_name, FieldType, Found};
use serde_json::{json, Value};

/// Values stated under a label that names the field (table cells, `Label: value` lines)
/// in the ranked passages, best label match first, then by rank. A label is precise enough
/// to be read past the `depth` best passages (a leadership table ranked low for a question
/// worded around the company), but there it must write one of the field's words as such,
/// not only share a stem ("Office" is no `chief executive officer`).
#[allow(clippy::too_many_arguments)]
pub(super) fn read_facts(
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
pub(super) fn earlier_words(field_keywords: &str) -> Vec<String> {
    tokens(field_keywords)
        .into_iter()
        .filter(|w| crate::typed::EARLIER_WORDS.contains(&w.as_str()))
        .collect()
}

/// Whether byte `at` of `passage` is in a table row that does not say it gives an earlier
/// value, for a field that asks for one: an infobox's "| Mayor | Idris Vane |" is the
/// current mayor, whoever the `previous_mayor` was.
pub(super) fn current_row_for_earlier(passage: &str, at: usize, field_keywords: &str) -> bool {
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
pub(super) fn is_year(word: &str) -> bool {
    crate::typed::year_of(word).is_some()
}

/// Words of string fields that ask for a place: from an address, the place, not the street.
pub(super) const PLACE_WORDS: &[&str] = &[
    "city",
    "town",
    "village",
    "municipality",
    "place",
    "location",
];

/// Words of an address part that is not a town: "Quellside Business Park", "14 Mill Road"
/// (a street word may also end a word: "Sjögatan", "Hauptstraße").
pub(super) const ADDRESS_WORDS: &[&str] = &[
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
pub(super) fn is_address_word(word: &str) -> bool {
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
pub(super) fn read_cell(
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
pub(super) fn without_leading_date(text: &str) -> &str {
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
pub(super) fn asks_publication_date(field: &Field, field_type: &FieldType) -> bool {
    matches!(field_type, FieldType::Date | FieldType::Month)
        && tokens(&field.keywords)
            .iter()
            .any(|w| w.starts_with("publish") || w.starts_with("publicat") || w == "posted")
}

/// A publication date is what the page's markup says (`article:published_time`, JSON-LD,
/// `<time>`), read at extraction: the first ranked page that has one.
pub(super) fn publication_date(
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
pub(super) fn in_field_unit(value: Value, field_name: &str, field_type: &FieldType) -> Value {
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
