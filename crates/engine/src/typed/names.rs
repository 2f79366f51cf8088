//! Strings of a known shape and proper names: which kind of string a field asks for, the
//! candidates of each kind, and the word lists that tell a person from an organisation, a
//! role or a place.

use super::spans::{has, stem_eq, word_spans};
use super::{Candidate, FieldType};
use crate::dates::ENGLISH_MONTHS;
use crate::rank::tokens;
use serde_json::json;

/// Strings of a recognisable shape, chosen from the field's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StringKind {
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
pub(super) const PHRASE_WORDS: &[&str] = &[
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
pub(super) const NAME_WORDS: &[&str] = &[
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
pub(super) const PROSE_WORDS: &[&str] = &[
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

/// Words of fields that ask for a person.
pub(super) const PERSON_WORDS: &[&str] = &[
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
pub(super) const START_WORDS: &[&str] = &["start", "first", "begin", "begins", "starts", "opening"];

/// Words of a date field asking for the last day of something.
pub(super) const END_WORDS: &[&str] =
    &["end", "last", "until", "closing", "finish", "ends", "final"];

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
pub(super) const STRICT_PERSON_WORDS: &[&str] = &[
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
pub(super) const ORGANISATION_WORDS: &[&str] = &[
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
pub(super) const MAKER_WORDS: &[&str] = &[
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
pub(super) const ROLE_WORDS: &[&str] = &[
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
pub(super) fn after_by(before: &str) -> bool {
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

pub(super) fn after_place_word(before: &str) -> bool {
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

pub(super) fn string_kind(keywords: &str) -> Option<StringKind> {
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
pub(super) const NOT_NAMES: &[&str] = &[
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
    pub(super) fn candidates(self, text: &str) -> Vec<Candidate> {
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
                        && ENGLISH_MONTHS.contains(&first.to_lowercase().as_str());
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
pub(super) fn opens_at(text: &str, at: usize) -> bool {
    text[..at]
        .trim_end_matches([' ', '"', '“', '\''])
        .chars()
        .next_back()
        .is_none_or(|c| matches!(c, '.' | '!' | '?' | '\n' | '\t' | '|' | ':'))
}

/// Drops the leading words of a name candidate that are the field's own words.
pub(super) fn trim_leading_keywords(passage: &str, candidate: &mut Candidate, keys: &[String]) {
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

/// The name candidates of a passage for a field asking for a name, cleaned step by step:
/// the field's own words and titles taken off, roles left out, and only what can be the
/// name the field asks for kept.
pub(super) fn name_candidates(
    passage: &str,
    keywords: &str,
    keys: &[String],
    avoid: &str,
) -> Vec<Candidate> {
    let mut found = StringKind::Name.candidates(passage);
    drop_field_words_before_names(passage, &mut found, keys, avoid);
    found.retain(|c| c.end > c.start);
    drop_titles_before_names(passage, &mut found);
    keep_what_can_be_the_name(passage, &mut found, keywords, keys);
    keep_house_numbers(passage, &mut found, keys);
    found
}

/// "Mayor Ludo Ferrish": the title that names the field is not the name. And "Odile Prenn of
/// Quellmoor", asked about Quellmoor: the name ends at "of".
fn drop_field_words_before_names(
    passage: &str,
    found: &mut [Candidate],
    keys: &[String],
    avoid: &str,
) {
    for c in found {
        trim_leading_keywords(passage, c, keys);
        let text = &passage[c.start..c.end];
        if let Some(at) = text.rfind(" of ") {
            if !avoid.is_empty() && avoid.contains(&text[at + 4..].to_lowercase()) {
                c.end = c.start + at;
                c.value = json!(&passage[c.start..c.end]);
            }
        }
    }
}

/// "Chief Scientist Ada Rusk": the title is not part of the name.
fn drop_titles_before_names(passage: &str, found: &mut [Candidate]) {
    for c in found {
        loop {
            let text = &passage[c.start..c.end];
            let Some((first, rest)) = text.split_once(' ') else {
                break;
            };
            if !ROLE_WORDS.contains(&first.to_lowercase().as_str()) || is_role(rest) {
                break;
            }
            c.start = c.end - rest.len();
            c.value = json!(rest);
        }
    }
}

/// Leaves out the names that cannot be the one asked for: a role ("Professor of Soft
/// Robotics"); for a person, a firm ("Veltmark Medical", "Domaine Vardel") or the place
/// before which "in" or "at" stands ("founded in Sondhaven in 1979 by Ilse Veltmark"); for a
/// town or a village, a firm.
fn keep_what_can_be_the_name(
    passage: &str,
    found: &mut Vec<Candidate>,
    keywords: &str,
    keys: &[String],
) {
    found.retain(|c| !is_role(&passage[c.start..c.end]));
    if asks_for_a_person(keywords) {
        found.retain(|c| could_be_a_person(&passage[c.start..c.end]));
    }
    if has(keys, &["city", "town", "village", "municipality", "place"]) {
        found.retain(|c| !is_organisation(&passage[c.start..c.end]));
    }
    if has(keys, PERSON_WORDS) || has(keys, MAKER_WORDS) {
        found.retain(|c| !after_place_word(&passage[..c.start]));
    }
}

/// An address keeps its house number: "14 Lanternwharf Road".
fn keep_house_numbers(passage: &str, found: &mut [Candidate], keys: &[String]) {
    if !has(keys, &["address", "street"]) {
        return;
    }
    for c in found {
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
