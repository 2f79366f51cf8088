//! Judging a match condition from what pages state about a candidate, without an LLM.
//!
//! A condition's description is read into a [`Test`]: its key terms (content words, minus
//! words that only frame the condition), the proper nouns it names (a place, a certification),
//! and a comparison when it asks for one ("founded after 2015", "more than 50 employees").
//! A statement about the candidate *supports* the condition when it carries enough of the key
//! terms and every proper noun, and (for a comparison) gives a number that satisfies it; it
//! *contradicts* it when it carries the terms with a negation ("not accepting new patients"),
//! gives a number that fails the comparison, or places the candidate somewhere else. No
//! statement either way is unknown, which is not a match.

use super::text::{singular, Statement};
use crate::rank::{stem, tokens};

/// How a comparison compares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Greater,
    AtLeast,
    Less,
    AtMost,
}

/// A comparison a condition asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub op: Op,
    pub value: f64,
    /// Whether the number is a year (then only years in statements count).
    pub year: bool,
    /// The unit written after the number ("kg", "km"), when it is a unit of measure: then
    /// only numbers in that unit count.
    pub unit: Option<String>,
}

impl Comparison {
    fn holds(&self, n: f64) -> bool {
        match self.op {
            Op::Greater => n > self.value,
            Op::AtLeast => n >= self.value,
            Op::Less => n < self.value,
            Op::AtMost => n <= self.value,
        }
    }
}

/// A condition as the judge reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    /// Stems of the key terms.
    pub terms: Vec<String>,
    /// Proper nouns the condition names, lower case (all must appear).
    pub anchors: Vec<String>,
    pub comparison: Option<Comparison>,
    /// Whether the condition asks where the candidate is ("located in X").
    pub location: bool,
    /// Whether the condition itself is negative ("does not charge fees").
    pub negative: bool,
    /// Stems of alternatives the condition spells out in parentheses ("animal welfare
    /// (rescue or care of animals)"): any one of them stands for the key terms.
    pub alternatives: Vec<String>,
    /// Stems of the condition's own name ("no_audition", "bakes_sourdough"): the words its
    /// author chose for it. A statement carrying all of them states what it asks.
    pub name_terms: Vec<String>,
    /// A figure the condition names outside any comparison ("open 24 hours a day"): a
    /// statement must give the same figure.
    pub figure: Option<String>,
    /// Whether the condition asks for round-the-clock opening ("open 24 hours a day", "24/7").
    pub round_the_clock: bool,
    /// Terms joined by "or" in the condition ("a membership fee or subscription"): either
    /// side may stand for the other, so coverage counts the better side.
    pub or_sides: Option<(Vec<String>, Vec<String>)>,
    /// Stems of what the condition rules out ("independent, not a branch of a chain"): a
    /// statement carrying them, not negated, contradicts it.
    pub contrary: Vec<String>,
}

/// Words that frame a condition rather than say what it asks.
const FRAMING: &[&str] = &[
    "must",
    "should",
    "shall",
    "be",
    "been",
    "being",
    "entity",
    "candidate",
    "organisation",
    "organization",
    "has",
    "have",
    "had",
    "which",
    "any",
    "currently",
    "current",
    "evidence",
    "look",
    "consider",
    "considered",
    "requirement",
    "satisfied",
    "found",
    "mention",
    "mentions",
    "specifically",
    "explicitly",
    "clearly",
    "stated",
    "states",
    "state",
    "page",
    "website",
    "official",
    "source",
    "sources",
    "their",
    "they",
    "it",
    "its",
    "one",
    "least",
    "more",
    "than",
    "after",
    "before",
    "since",
    "over",
    "under",
    "fewer",
    "less",
    "greater",
    "at",
    "year",
    "years",
    "not",
    "no",
    "does",
    "do",
    "did",
    "located",
    "based",
    "situated",
    "headquartered",
    "headquarters",
    "town",
    "city",
    "village",
    "area",
    "region",
    "country",
    "also",
    "only",
    "either",
    "whether",
    "yes",
    "true",
    "must",
    "can",
    "could",
    "would",
    "will",
    "check",
    "condition",
    "criteria",
    "criterion",
    "qualifies",
    "qualify",
    "etc",
    "e",
    "g",
    "i",
    "if",
    "then",
    "so",
    "such",
    "some",
    "all",
    "each",
    "every",
    "there",
    "here",
    "about",
];

/// Terms that mean the same for the judge: a statement's word in a group counts as any
/// other of it.
const SYNONYMS: &[&[&str]] = &[
    &[
        "founde", "establ", "opened", "open", "launch", "starte", "incorp", "set", "begun",
        "began", "creat", "formed",
    ],
    &[
        "employ", "staff", "worker", "people", "team", "headco", "person",
    ],
    &["accept", "taking", "take", "welcom", "open"],
    &["patien", "client", "member", "custom"],
    &["certif", "accred", "certif", "regist", "licens"],
    &[
        "offer", "provid", "suppor", "featur", "includ", "sell", "make", "build", "produc",
        "manufa", "runs", "teach", "hold", "holds", "host", "hosts",
    ],
    &["revenu", "turnov", "sales"],
    &["locate", "based", "headqu", "situat"],
];

/// Stems of words that state the contrary of a key term without a negation ("closed on
/// Sundays" against "open on Sundays").
const ANTONYMS: &[(&str, &[&str])] = &[
    ("open", &["closed", "closes", "shut"]),
    ("opened", &["closed"]),
    ("accept", &["refuse", "declin"]),
    ("indepe", &["chain", "franch", "subsid"]),
    ("availa", &["unavai", "sold"]),
    ("member", &["former", "left"]),
];

const NEGATIONS: &[&str] = &[
    "not",
    "no",
    "never",
    "none",
    "without",
    "n't",
    "isn't",
    "aren't",
    "doesn't",
    "don't",
    "didn't",
    "wasn't",
    "weren't",
    "cannot",
    "can't",
    "unable",
    "stopped",
    "ceased",
    "closed",
    "paused",
    "suspended",
    "longer",
    "neither",
    "nor",
];

fn synonyms_of(term: &str) -> Vec<&'static str> {
    SYNONYMS
        .iter()
        .filter(|group| group.iter().any(|w| same_word(term, w)))
        .flat_map(|group| group.iter().copied())
        .collect()
}

/// The first sentence of a description: what it asks (the rest is usually advice on where
/// to look).
fn first_sentence(description: &str) -> &str {
    let d = description.trim();
    match d.find(". ") {
        Some(i) if i > 10 => &d[..i],
        _ => d,
    }
}

/// Units of measure: a number followed by one of these is a quantity in it.
const UNITS: &[&str] = &[
    "kg", "g", "t", "lb", "lbs", "km", "m", "cm", "mm", "mi", "miles", "wh", "kwh", "w", "kw",
    "mw", "mph", "l", "ml", "hp", "nm", "v", "mah", "gb", "tb", "mb", "%", "percent", "eur", "usd",
    "gbp", "hours", "h", "min", "minutes", "seats", "beds", "rooms", "floors", "storeys",
    "stories", "years", "km/h", "m2", "sq",
];

/// A number written in a text.
#[derive(Debug, Clone, PartialEq)]
struct Number {
    value: f64,
    /// Whether it is a plausible year (four digits, 1500–2100, no separators).
    year: bool,
    /// The unit of measure right after it, lower case.
    unit: Option<String>,
}

/// Numbers written in a text, in order.
fn numbers(text: &str) -> Vec<Number> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphanumeric()) {
            let mut j = i;
            let mut digits = String::new();
            let mut separated = false;
            while j < chars.len()
                && (chars[j].is_ascii_digit()
                    || (matches!(chars[j], ',' | '.')
                        && chars.get(j + 1).is_some_and(char::is_ascii_digit)))
            {
                if chars[j] == ',' {
                    separated = true;
                } else {
                    digits.push(chars[j]);
                }
                j += 1;
            }
            // The word after it (or a unit glued to it: "20kg"), for its unit.
            let mut k = j;
            while k < chars.len() && chars[k] == ' ' {
                k += 1;
            }
            let word: String = chars[k..]
                .iter()
                .take_while(|c| c.is_alphanumeric() || matches!(**c, '%' | '/'))
                .collect::<String>()
                .to_lowercase();
            let unit = UNITS.contains(&word.as_str()).then_some(word);
            if let Ok(value) = digits.parse::<f64>() {
                let year = !digits.contains('.')
                    && !separated
                    && digits.len() == 4
                    && (1500.0..=2100.0).contains(&value)
                    && unit.is_none();
                out.push(Number { value, year, unit });
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// Days and months: capitalised, but not the names of places or things a condition anchors on.
const CALENDAR: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
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
    "weekend",
    "weekday",
];

/// A condition and what it rules out: "independent, not a branch of a chain", "organic
/// rather than conventional".
fn split_contrast(main: &str) -> (String, Option<String>) {
    let lower = main.to_lowercase();
    for cue in [
        ", not ",
        "; not ",
        " rather than ",
        " but not ",
        " as opposed to ",
        " instead of ",
    ] {
        if let Some(at) = lower.find(cue) {
            return (
                main[..at].to_string(),
                Some(main[at + cue.len()..].to_string()),
            );
        }
    }
    (main.to_string(), None)
}

/// The main clause of a description and what it says in parentheses.
fn split_parentheses(sentence: &str) -> (String, Vec<String>) {
    let mut main = String::new();
    let mut inside = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in sentence.chars() {
        match c {
            '(' => {
                depth += 1;
                current.clear();
            }
            ')' if depth > 0 => {
                depth -= 1;
                inside.push(current.trim().to_string());
                current.clear();
            }
            _ if depth > 0 => current.push(c),
            _ => main.push(c),
        }
    }
    (main, inside)
}

/// Drops the condition's grammatical subject ("The clinic is …", "The bike's range …"):
/// it names the candidate, not what is asked of it.
fn without_subject(main: &str) -> String {
    let words: Vec<&str> = main.split_whitespace().collect();
    match words.first().map(|w| w.to_lowercase()) {
        Some(w)
            if ["the", "a", "an", "this", "its", "their"].contains(&w.as_str())
                && words.len() > 2 =>
        {
            words[2..].join(" ")
        }
        _ => main.to_string(),
    }
}

/// Reads a condition into a [`Test`]; `entity_words` are the entity type's words, which say
/// nothing about a condition.
pub fn read_condition(name: &str, description: &str, entity_words: &[String]) -> Test {
    let sentence = first_sentence(description);
    let (main, parentheses) = split_parentheses(sentence);
    let (main, ruled_out) = split_contrast(&main);
    let lower = main.to_lowercase();
    let comparison = date_comparison(&main).or_else(|| comparison(&lower));
    let negative = [
        "does not ",
        "do not ",
        "doesn't ",
        "don't ",
        "is not ",
        "are not ",
        "has no ",
        "have no ",
        "without ",
        "never ",
    ]
    .iter()
    .any(|p| lower.contains(p));
    // Proper nouns: capitalised words not at the sentence's start, and not framing words.
    let mut anchors = Vec::new();
    for (i, word) in main.split_whitespace().enumerate() {
        let w = word.trim_matches(|c: char| !c.is_alphanumeric());
        let capital = w.chars().next().is_some_and(char::is_uppercase);
        let lw = w.to_lowercase();
        if i > 0
            && capital
            && w.len() > 1
            && !FRAMING.contains(&lw.as_str())
            && !entity_words.contains(&singular(&lw))
            && !CALENDAR.contains(&singular(&lw).as_str())
        {
            anchors.push(singular(&lw));
        }
    }
    // Where the candidate is: "located in X", "based in X", or any "in X" naming a place.
    let location = [
        "located in",
        "based in",
        "headquartered in",
        "situated in",
        "within",
    ]
    .iter()
    .any(|p| lower.contains(p))
        || anchors.first().is_some_and(|a| {
            [
                " in ",
                " in the ",
                " in the town of ",
                " in the city of ",
                " in the village of ",
            ]
            .iter()
            .any(|p| lower.contains(&format!("{p}{a}")))
        });
    let content = |text: &str| -> Vec<String> {
        tokens(text)
            .into_iter()
            .filter(|t| {
                t.chars().count() > 1
                    && !FRAMING.contains(&t.as_str())
                    && !t.chars().all(|c| c.is_ascii_digit())
                    && !UNITS.contains(&t.as_str())
                    && !entity_words.contains(&singular(t))
                    && !anchors.contains(t)
            })
            .map(|t| stem(&t))
            .collect()
    };
    let mut terms = content(&without_subject(&main));
    if terms.is_empty() && anchors.is_empty() {
        // The description was all framing: the condition's name says what it asks.
        terms = tokens(&name.replace('_', " "))
            .into_iter()
            .filter(|t| !FRAMING.contains(&t.as_str()) && t != "check")
            .map(|t| stem(&t))
            .collect();
    }
    terms.sort();
    terms.dedup();
    // "(rescue or care of animals)": alternatives, unless the parentheses only clarify a
    // limit ("(2016 or later)") or say what does not count ("(not in a neighbouring village)").
    let mut alternatives: Vec<String> = parentheses
        .iter()
        .filter(|p| {
            let pl = p.to_lowercase();
            // A list of alternatives, or a short gloss ("open (staffed) in winter").
            let gloss = pl.split_whitespace().count() <= 3;
            (pl.contains(" or ") || gloss)
                && !pl.chars().any(|c| c.is_ascii_digit())
                && !["not ", "n't", "no ", "never", "except"]
                    .iter()
                    .any(|n| pl.contains(n))
        })
        .flat_map(|p| content(p))
        .collect();
    alternatives.sort();
    alternatives.dedup();
    let mut name_terms: Vec<String> = tokens(&name.replace(['_', '-'], " "))
        .into_iter()
        .filter(|t| {
            t.chars().count() > 1
                && !FRAMING.contains(&t.as_str())
                && !t.chars().all(|c| c.is_ascii_digit())
                && !UNITS.contains(&t.as_str())
                && !entity_words.contains(&singular(t))
                && !["is", "has", "have", "check", "in", "located", "based"].contains(&t.as_str())
                && !anchors.contains(&singular(t))
        })
        .map(|t| stem(&t))
        .collect();
    name_terms.sort();
    name_terms.dedup();
    let figure = match &comparison {
        Some(_) => None,
        None => numbers(&main)
            .into_iter()
            .find(|n| !n.year)
            .map(|n| format_number(n.value)),
    };
    // "a membership fee or subscription": the words just before "or" and just after it.
    let or_sides = lower.find(" or ").map(|at| {
        let before: Vec<String> = content(&main[..at]).into_iter().rev().take(2).collect();
        let after: Vec<String> = content(&main[at + 4..]).into_iter().take(2).collect();
        (before, after)
    });
    let mut contrary: Vec<String> = ruled_out
        .map(|r| content(&r))
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !terms.contains(t))
        .collect();
    contrary.sort();
    contrary.dedup();
    Test {
        terms,
        anchors,
        comparison,
        location,
        negative,
        alternatives,
        name_terms,
        figure,
        round_the_clock: sentence.contains("24/7") || sentence.to_lowercase().contains("24 hours"),
        or_sides,
        contrary,
    }
}

/// A date as a number that orders like the date (20240301).
fn date_number(iso: &str) -> Option<f64> {
    let digits: String = iso.chars().filter(char::is_ascii_digit).collect();
    (digits.len() == 8).then(|| digits.parse().ok()).flatten()
}

/// A comparison with a full date ("published after 1 March 2024"): unit `date`, the date as
/// [`date_number`].
fn date_comparison(main: &str) -> Option<Comparison> {
    let date = crate::dates::dates_in(main).into_iter().next()?;
    let value = date_number(&date.value)?;
    let before = main[..date.start].to_lowercase();
    let op = if ["after", "later than", "since", "from"]
        .iter()
        .any(|p| before.trim_end().ends_with(p))
    {
        Op::Greater
    } else if ["before", "earlier than", "prior to", "until"]
        .iter()
        .any(|p| before.trim_end().ends_with(p))
    {
        Op::Less
    } else if before.trim_end().ends_with("on or after") {
        Op::AtLeast
    } else if before.trim_end().ends_with("on or before") {
        Op::AtMost
    } else {
        return None;
    };
    Some(Comparison {
        op,
        value,
        year: false,
        unit: Some("date".into()),
    })
}

fn comparison(lower: &str) -> Option<Comparison> {
    let patterns: &[(&str, Op)] = &[
        ("more than", Op::Greater),
        ("greater than", Op::Greater),
        ("over", Op::Greater),
        ("above", Op::Greater),
        ("exceeding", Op::Greater),
        ("after", Op::Greater),
        ("later than", Op::Greater),
        ("at least", Op::AtLeast),
        ("or more", Op::AtLeast),
        ("no fewer than", Op::AtLeast),
        ("since", Op::AtLeast),
        ("in or after", Op::AtLeast),
        ("fewer than", Op::Less),
        ("less than", Op::Less),
        ("under", Op::Less),
        ("below", Op::Less),
        ("before", Op::Less),
        ("earlier than", Op::Less),
        ("prior to", Op::Less),
        ("at most", Op::AtMost),
        ("no more than", Op::AtMost),
        ("or fewer", Op::AtMost),
        ("or earlier", Op::AtMost),
        ("or later", Op::AtLeast),
    ];
    let nums = numbers(lower);
    let first = nums.first()?;
    let (value, year, unit) = (first.value, first.year, first.unit.clone());
    // The pattern closest before the number (or right after it: "50 or more").
    let number_at = lower.find(|c: char| c.is_ascii_digit())?;
    let mut best: Option<(usize, Op)> = None;
    for (pattern, op) in patterns {
        let mut from = 0;
        while let Some(found) = lower[from..].find(pattern) {
            let at = from + found;
            let before = at < number_at && number_at - (at + pattern.len()) <= 3;
            let after = at > number_at && at - number_at <= 12;
            if (before || after) && best.is_none_or(|(d, _)| at.abs_diff(number_at) < d) {
                best = Some((at.abs_diff(number_at), *op));
            }
            from = at + pattern.len();
        }
    }
    best.map(|(_, op)| Comparison {
        op,
        value,
        year,
        unit,
    })
}

/// How one statement bears on a condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bearing {
    Supports,
    Contradicts,
}

/// What a statement says about a condition, with how strongly (share of the key terms it
/// carries, 0–1).
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub bearing: Bearing,
    pub strength: f32,
    /// The value the statement gives: the number compared, or the statement itself.
    pub value: String,
}

fn word_stems(text: &str) -> Vec<String> {
    tokens(text).iter().map(|t| stem(t)).collect()
}

/// Whether two stems are one word's ("offer" and "offers", "open" and "opened"): equal, or
/// one the other's start when that start is at least four letters.
fn same_word(stem: &str, term: &str) -> bool {
    stem == term
        || (term.len() >= 4 && stem.starts_with(term))
        || (stem.len() >= 4 && term.starts_with(stem) && term.len() - stem.len() <= 2)
}

fn has_term(stems: &[String], term: &str) -> bool {
    if stems.iter().any(|s| same_word(s, term)) {
        return true;
    }
    synonyms_of(term)
        .iter()
        .any(|syn| stems.iter().any(|s| same_word(s, syn)))
}

/// Whether a negation bears on the condition's terms in `text`: a negating word among the
/// few words before a key term ("not accepting new patients", "no longer takes"), not one
/// elsewhere in the sentence ("accepting new patients; no referral is needed").
fn negated(text: &str, terms: &[String]) -> bool {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    let is_negation = |w: &str| NEGATIONS.contains(&w) || w.ends_with("n't");
    let positions: Vec<usize> = words
        .iter()
        .enumerate()
        .filter(|(_, w)| {
            let stems = [stem(w)];
            terms
                .iter()
                .any(|t| w.starts_with(t.as_str()) || has_term(&stems, t))
        })
        .map(|(i, _)| i)
        .collect();
    if positions.is_empty() {
        return words.iter().any(|w| is_negation(w));
    }
    positions
        .iter()
        .any(|&p| words[p.saturating_sub(4)..p].iter().any(|w| is_negation(w)))
}

/// The place a statement puts its subject in ("located in Nettlebury", "Town: Nettlebury").
fn stated_place(statement: &Statement) -> Option<String> {
    for (key, value) in &statement.cells {
        let k = key.to_lowercase();
        if [
            "town",
            "city",
            "location",
            "based in",
            "village",
            "municipality",
            "place",
            "headquarters",
            "area",
            "region",
            "range",
            "valley",
        ]
        .iter()
        .any(|p| k.contains(p))
        {
            return Some(value.to_lowercase());
        }
    }
    let lower = statement.text.to_lowercase();
    // "Orvane-based Verity Autonomics".
    if let Some(at) = lower.find("-based") {
        let place: String = lower[..at]
            .rsplit(|c: char| !c.is_alphanumeric() && c != '\'')
            .next()
            .unwrap_or("")
            .to_string();
        if !place.is_empty() {
            return Some(place);
        }
    }
    // "relocated to Fenby in 2021": where it is now.
    for cue in [
        "relocated to ",
        "moved to ",
        "now based in ",
        "now located in ",
    ] {
        if let Some(at) = lower.find(cue) {
            // A place's name follows ("moved to Fenby"), not a building ("moved to its
            // present building").
            if !statement.text[at + cue.len()..]
                .chars()
                .next()
                .is_some_and(char::is_uppercase)
            {
                continue;
            }
            let place: String = statement.text[at + cue.len()..]
                .split([',', '.', ';', '('])
                .next()
                .unwrap_or("")
                .split(" in ")
                .next()
                .unwrap_or("")
                .trim()
                .to_lowercase();
            if !place.is_empty() {
                return Some(place);
            }
        }
    }
    for cue in [
        "lies in ",
        "sits in ",
        "in the village of ",
        "in the town of ",
        "in the city of ",
        "located in ",
        "based in ",
        "headquartered in ",
        "situated in ",
        "town: ",
        "city: ",
        "location: ",
    ] {
        if let Some(at) = lower.find(cue) {
            let rest = &statement.text[at + cue.len()..];
            let place: String = rest
                .split([',', '.', ';', '('])
                .next()
                .unwrap_or("")
                .trim()
                .to_lowercase();
            if !place.is_empty() {
                return Some(place);
            }
        }
    }
    None
}

/// Whether every mention of a place in `lower` places something relative to it ("six miles
/// downstream from Pellow", "near Pellow"): that is not being in it.
fn anchors_only_relative(text: &str, anchors: &[String]) -> bool {
    const RELATIVE: &[&str] = &[
        "from", "near", "outside", "beyond", "towards", "toward", "past", "across",
    ];
    // ASCII lower case keeps byte offsets, so positions found here index `text` too.
    let lower = text.to_ascii_lowercase();
    anchors.iter().all(|anchor| {
        let mut found_free = false;
        let mut from = 0;
        while let Some(at) = lower[from..].find(anchor.as_str()) {
            let start = from + at;
            let end = start + anchor.len();
            let before: Vec<&str> = lower[..start]
                .split_whitespace()
                .rev()
                .take(3)
                .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
                .collect();
            // "near Pellow", "eight miles west of Brennock", "two miles south of Tessford".
            let relative = before.first().is_some_and(|w| RELATIVE.contains(w))
                || before.iter().any(|w| {
                    [
                        "miles",
                        "mile",
                        "km",
                        "kilometres",
                        "kilometers",
                        "north",
                        "south",
                        "east",
                        "west",
                    ]
                    .contains(w)
                });
            // "the Vallen Wine Guide": the place's name inside another name, not the place.
            let next_word = text[end..].trim_start();
            let inside_name = next_word.chars().next().is_some_and(char::is_uppercase)
                && !GEOGRAPHY
                    .iter()
                    .any(|g| next_word.to_ascii_lowercase().starts_with(g));
            if !relative && !inside_name {
                found_free = true;
            }
            from = end;
        }
        !found_free
    })
}

/// Words that continue a place's name as a place ("the Vallen Valley", "Port Elsey Harbour").
const GEOGRAPHY: &[&str] = &[
    "valley", "river", "hill", "mountain", "bay", "coast", "county", "district", "region", "city",
    "town", "village", "harbour", "harbor", "island", "lake", "forest", "range",
];

/// How `statement` (about the candidate) bears on `test`, if at all.
pub fn read_statement(test: &Test, statement: &Statement) -> Option<Reading> {
    let text = &statement.text;
    // A question asks; it states nothing ("Do you sell second-hand books?").
    if text.trim_end().ends_with('?') {
        return None;
    }
    let lower = text.to_lowercase();
    // The heading a statement stands under is part of what it says ("Opening hours" over
    // "Sunday 8:00–13:00").
    let stems = word_stems(&format!("{text} {}", statement.context));
    // A statement under a heading ("Members of the South Coast Marinas Association") carries
    // the heading's names.
    let context = format!("{lower} {}", statement.context.to_lowercase());
    // Every name the condition gives, or (for three and more, as "the Register of
    // Accredited Language Schools" written "RALS accredited") two thirds of them.
    let present = test
        .anchors
        .iter()
        .filter(|a| context.contains(a.as_str()))
        .count();
    let anchors_present = if test.anchors.len() <= 2 {
        present == test.anchors.len()
    } else {
        present * 3 >= test.anchors.len() * 2
    };
    let coverage_without = |left_out: &[String]| {
        let counted: Vec<&String> = test
            .terms
            .iter()
            .filter(|t| !left_out.contains(t))
            .collect();
        let hit = counted.iter().filter(|t| has_term(&stems, t)).count();
        (
            hit,
            if counted.is_empty() {
                1.0
            } else {
                hit as f32 / counted.len() as f32
            },
        )
    };
    // With "X or Y" in the condition, the statement need only carry one side.
    let (matched, mut coverage) = match &test.or_sides {
        Some((before, after)) => {
            let a = coverage_without(after);
            let b = coverage_without(before);
            if b.1 > a.1 {
                b
            } else {
                a
            }
        }
        None => coverage_without(&[]),
    };
    let alternative = test.alternatives.iter().any(|t| has_term(&stems, t));

    if let Some(cmp) = &test.comparison {
        return compare(test, cmp, statement, matched, coverage);
    }

    if test.location && !test.anchors.is_empty() {
        // An address holding the place ("40 Fore Street, Ashcombe") puts it there; one
        // without it ("4 Wharf Street") says nothing of the town.
        let address = statement
            .cells
            .iter()
            .find(|(k, _)| k.to_lowercase().contains("address"))
            .map(|(_, v)| v.to_lowercase());
        if let Some(address) =
            address.filter(|a| test.anchors.iter().all(|x| a.contains(x.as_str())))
        {
            return Some(Reading {
                bearing: if test.negative {
                    Bearing::Contradicts
                } else {
                    Bearing::Supports
                },
                strength: 1.0,
                value: address,
            });
        }
        if let Some(place) = stated_place(statement) {
            let here = test.anchors.iter().all(|a| place.contains(a.as_str()));
            return Some(Reading {
                bearing: if here {
                    Bearing::Supports
                } else {
                    Bearing::Contradicts
                },
                strength: 1.0,
                value: statement_value(text),
            });
        }
        if !anchors_present || anchors_only_relative(text, &test.anchors) {
            return None;
        }
        // The place named, but not as where the candidate is: weak support unless a negation
        // bears on it ("not in Pellow").
        return Some(Reading {
            bearing: if negated(text, &test.anchors) {
                Bearing::Contradicts
            } else {
                Bearing::Supports
            },
            strength: 0.5,
            value: statement_value(text),
        });
    }

    if !anchors_present || (test.terms.is_empty() && test.anchors.is_empty()) {
        return None;
    }
    // A table cell headed by the condition's own words answers it: "Sunday: 8:00–12:30",
    // "Sourdough: Yes", "Member since: 1994".
    if let Some(reading) = cell_reading(test, statement) {
        return Some(reading);
    }
    // What the condition rules out, stated: "one of the 48 branches of Chapters, the national
    // bookshop chain" against "independent, not a branch of a chain".
    if !test.contrary.is_empty() {
        let hits = test.contrary.iter().filter(|t| has_term(&stems, t)).count();
        if hits * 2 >= test.contrary.len().max(1) && hits > 0 && !negated(text, &test.contrary) {
            return Some(Reading {
                bearing: if test.negative {
                    Bearing::Supports
                } else {
                    Bearing::Contradicts
                },
                strength: 0.9,
                value: statement_value(text),
            });
        }
    }
    // "Membership is free" against "does not charge a fee".
    let about_paying = test.terms.iter().chain(test.name_terms.iter()).any(|t| {
        ["fee", "fees", "charge", "cost", "price", "subscr", "paymen"]
            .iter()
            .any(|p| same_word(t, p))
    });
    if test.negative && about_paying && own_words_say_free(text) {
        return Some(Reading {
            bearing: Bearing::Supports,
            strength: 0.8,
            value: statement_value(text),
        });
    }
    // A word stating the contrary of a key term: "closed on Sundays". Read in the statement
    // itself: a heading that asks "Open in winter?" does not make its answer say "open".
    let own_stems = word_stems(text);
    let antonym = test.terms.iter().any(|t| {
        ANTONYMS
            .iter()
            .filter(|(term, _)| term == t)
            .any(|(_, opposites)| opposites.iter().any(|o| own_stems.iter().any(|s| s == o)))
    });
    let others_present = test
        .terms
        .iter()
        .filter(|t| !ANTONYMS.iter().any(|(a, _)| a == t))
        .all(|t| has_term(&stems, t));
    if antonym && others_present && !test.terms.iter().all(|t| has_term(&own_stems, t)) {
        return Some(Reading {
            bearing: if test.negative {
                Bearing::Supports
            } else {
                Bearing::Contradicts
            },
            strength: 0.9,
            value: statement_value(text),
        });
    }
    // Round the clock, however written: "24/7", "24 hours a day", "around the clock".
    if test.round_the_clock {
        let lower_text = text.to_lowercase();
        if [
            "24/7",
            "24 hours",
            "24-hour",
            "round the clock",
            "around the clock",
        ]
        .iter()
        .any(|p| lower_text.contains(p))
        {
            return Some(Reading {
                bearing: if negated(text, &["24".to_string()]) == test.negative {
                    Bearing::Supports
                } else {
                    Bearing::Contradicts
                },
                strength: 0.9,
                value: statement_value(text),
            });
        }
    }
    // A figure the condition names must be the statement's too ("24 hours", not "7am to 10pm").
    if let Some(figure) = &test.figure {
        if !numbers(text)
            .iter()
            .any(|n| &format_number(n.value) == figure)
        {
            return None;
        }
    }
    let needed = if test.terms.len() <= 2 { 1.0 } else { 0.6 };
    let named = !test.name_terms.is_empty() && test.name_terms.iter().all(|t| has_term(&stems, t));
    if coverage < needed && named {
        // The words its author named the condition with.
        coverage = coverage.max(0.8);
    } else if coverage < needed && alternative {
        // The condition's own examples stand for its terms, with less certainty.
        coverage = 0.6;
    } else if coverage < needed || (matched == 0 && !test.terms.is_empty()) {
        return None;
    }
    // A table cell answering yes or no carries the answer without a negation word.
    let cell_answer = statement
        .cells
        .iter()
        .find(|(k, _)| {
            let ks = word_stems(k);
            test.terms.iter().filter(|t| has_term(&ks, t)).count() * 2 >= test.terms.len()
        })
        .map(|(_, v)| v.to_lowercase());
    let says_no = match cell_answer.as_deref() {
        Some(v) if v.starts_with("no") || v == "✗" || v == "-" || v == "n" => true,
        Some(v) if v.starts_with("yes") || v == "✓" || v == "y" => false,
        _ => negated(text, &test.terms),
    };
    let holds = says_no == test.negative;
    Some(Reading {
        bearing: if holds {
            Bearing::Supports
        } else {
            Bearing::Contradicts
        },
        strength: coverage,
        value: statement_value(text),
    })
}

/// A date comparison read from a statement: the first full date it writes, in a cell the
/// condition's words head or in a statement naming the quantity.
fn compare_dates(
    test: &Test,
    cmp: &Comparison,
    statement: &Statement,
    matched: usize,
    coverage: f32,
) -> Option<Reading> {
    let from_cell = statement.cells.iter().find_map(|(k, v)| {
        let ks = word_stems(k);
        test.terms
            .iter()
            .any(|t| has_term(&ks, t))
            .then(|| crate::dates::dates_in(v).into_iter().next())
            .flatten()
    });
    let (date, strength) = match from_cell {
        Some(d) => (d, 1.0),
        None => {
            if !(test.terms.is_empty() || matched > 0) {
                return None;
            }
            (
                crate::dates::dates_in(&statement.text).into_iter().next()?,
                coverage.max(0.5),
            )
        }
    };
    let n = date_number(&date.value)?;
    let holds = cmp.holds(n) != test.negative;
    Some(Reading {
        bearing: if holds {
            Bearing::Supports
        } else {
            Bearing::Contradicts
        },
        strength,
        value: date.value,
    })
}

/// Whether a statement says something costs nothing: "free", "free of charge", "no fee".
fn own_words_say_free(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w == "free")
        || lower.contains("no fee")
        || lower.contains("no charge")
}

/// The answer a table cell gives, when its header is made of the condition's words ("New
/// patients: Yes", "Sunday: 8:00–12:30", "Member since: 1994"): yes, a time, a year or any
/// other value supports it; no, none, closed or a dash contradicts it.
fn cell_reading(test: &Test, statement: &Statement) -> Option<Reading> {
    if test.terms.is_empty() {
        return None;
    }
    const GENERIC_KEYS: &[&str] = &[
        "since", "status", "date", "name", "type", "yes", "no", "hours",
    ];
    let (key, value) = statement.cells.iter().find(|(k, _)| {
        let ks = word_stems(k);
        let is_term = |s: &String| {
            test.terms
                .iter()
                .chain(test.name_terms.iter())
                .any(|t| has_term(std::slice::from_ref(s), t))
        };
        ks.iter().any(is_term)
            && ks
                .iter()
                .all(|s| is_term(s) || GENERIC_KEYS.contains(&s.as_str()))
    })?;
    let v = value.trim().to_lowercase();
    if v.is_empty() {
        return None;
    }
    let says_no = v.starts_with("no")
        || v.starts_with("none")
        || v.starts_with("closed")
        || v.starts_with("not ")
        || matches!(
            v.as_str(),
            "✗" | "✘" | "-" | "–" | "—" | "n" | "false" | "0"
        );
    let holds = says_no == test.negative;
    Some(Reading {
        bearing: if holds {
            Bearing::Supports
        } else {
            Bearing::Contradicts
        },
        strength: 0.9,
        value: format!("{key}: {value}"),
    })
}

/// A comparison read from a statement: the number it gives for the quantity (from the table
/// cell the quantity heads, or from the text, in the condition's unit when it has one).
fn compare(
    test: &Test,
    cmp: &Comparison,
    statement: &Statement,
    matched: usize,
    coverage: f32,
) -> Option<Reading> {
    if cmp.unit.as_deref() == Some("date") {
        return compare_dates(test, cmp, statement, matched, coverage);
    }
    let fits = |n: &Number| n.year == cmp.year && (cmp.unit.is_none() || n.unit == cmp.unit);
    let from_cell = statement.cells.iter().find_map(|(k, v)| {
        let ks = word_stems(k);
        if test.terms.iter().any(|t| has_term(&ks, t)) {
            numbers(v)
                .into_iter()
                .find(|n| fits(n) || (n.unit.is_none() && n.year == cmp.year))
        } else {
            None
        }
    });
    let (number, strength) = match from_cell {
        Some(n) => (n, 1.0),
        None => {
            // The quantity must be named in the statement (a founding year, a headcount),
            // unless the number carries the condition's unit ("weighs 19 kg").
            let named = test.terms.is_empty() || matched > 0;
            if !named && cmp.unit.is_none() {
                return None;
            }
            let n = numbers(&statement.text).into_iter().find(|n| fits(n))?;
            (n, if named { coverage.max(0.5) } else { 0.4 })
        }
    };
    let holds = cmp.holds(number.value) != test.negative;
    Some(Reading {
        bearing: if holds {
            Bearing::Supports
        } else {
            Bearing::Contradicts
        },
        strength,
        value: match &number.unit {
            Some(u) => format!("{} {u}", format_number(number.value)),
            None => format_number(number.value),
        },
    })
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn statement_value(text: &str) -> String {
    let t = text.trim();
    if t.chars().count() <= 240 {
        t.to_string()
    } else {
        let cut: String = t.chars().take(237).collect();
        format!("{cut}...")
    }
}

#[cfg(test)]
mod tests;
