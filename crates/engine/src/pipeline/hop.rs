//! The second hop (processors from `core` up): a field whose answer needs two pages.
//!
//! "When was the maker of the Tamsel K4 founded?" is answered on two pages: page A names the
//! maker of the product ("made by Corvane Appliances", or a table row "Manufacturer |
//! Corvane Appliances"), page B states when Corvane Appliances was founded. After the first
//! synthesis of a JSON output, each field that asks about an entity related to the one asked
//! about is followed. Such a field is read again even when the first synthesis filled it: that
//! reading was about the entity asked about, not the related one, so a value the hop reads
//! replaces it unless the first was read with more confidence (and when the hop reads none,
//! the first reading, or the null, stays).
//!
//! 1. **Which relation** ([`hop_fields`]): the field's own words say it. A name that starts
//!    with a relation noun (`maker_founded_year`, `architect_staff`, `owner_family`,
//!    `parent_company_city`; `firm_…` follows any relation), or a description that speaks of
//!    one ("the city of the firm that designed the tower"; a description that only mentions
//!    one, "the year the manufacturer was founded", is followed when the field came back
//!    null). When the question itself is about the related entity ("When was the company that
//!    makes the Tamsel K4 founded?"), every other field is followed too, but filled only when
//!    the first reading found nothing: it may be about the thing asked. A field that asks for the
//!    related entity itself (`manufacturer`, `maker_name`) is not a hop.
//! 2. **The bridge** ([`find_bridge`]): proper names that the sources read state in that
//!    relation to the entity asked about: in prose ("made by X", "X manufactures the …",
//!    "X, the architect of the …", "its owner, X", "a subsidiary of X", "built by local firm
//!    X") and in tables (a row "Manufacturer | X", or a column headed "Manufacturer" in the row
//!    naming the entity). A name that is the entity asked about, or not a proper name, is no
//!    bridge, nor one stated only on a page neither titled after the entity nor naming it in
//!    the sentence. The name most sources agree on wins, then the one stated most plainly
//!    about the entity; the basis records which sources agreed, and names a source that
//!    disagreed (the answer's confidence is then low).
//! 3. **The second page**: the bridge's name and the field's words are searched with the same
//!    providers and source policy (progress message "Second hop: searching for X (fields)"),
//!    up to [`Budget::hop_sources`] new pages are read, and the fields are filled again by the
//!    extractive reader with the bridge as the subject, from the new pages and the old (but
//!    not the pages whose title names the entity asked about and not the bridge: what they
//!    state is about that entity). A field filled so cites both page A (the excerpt naming the
//!    bridge) and page B; one still unstated stays null, never guessed, and its basis says
//!    the hop was tried.
//!
//! The hop runs after either synthesis. With an LLM it still reads with the extractive
//! reader (no second LLM turn): an LLM value gives way only to a hop reading at least as
//! confident.

use super::extractive::{self, citation};
use super::plan::fields;
use super::read;
use super::request::{field_words, OutputSpec, Request};
use super::{Providers, Source, Synthesis};
use crate::budget::Budget;
use crate::rank::{stem, tokens};
use crate::{MessageKind, ProgressSink};
use serde_json::{json, Value};
use std::collections::HashSet;

/// Most bridges followed in one run.
const MAX_BRIDGES: usize = 3;
/// Words after an active verb ("X makes the …") within which the entity must be named.
const NEAR_WORDS: usize = 10;
/// Most words of a bridge name.
const MAX_NAME_WORDS: usize = 7;

/// A relation between the entity asked about and another entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Maker,
    Builder,
    Designer,
    Developer,
    Operator,
    Owner,
    Supplier,
    Founder,
}

const RELATIONS: [Relation; 8] = [
    Relation::Maker,
    Relation::Builder,
    Relation::Designer,
    Relation::Developer,
    Relation::Operator,
    Relation::Owner,
    Relation::Supplier,
    Relation::Founder,
];

impl Relation {
    /// The nouns naming the related entity (a plural `s` is accepted on the last word).
    fn nouns(self) -> &'static [&'static str] {
        match self {
            Relation::Maker => &["maker", "manufacturer", "producer"],
            Relation::Builder => &["builder", "contractor", "shipbuilder", "constructor"],
            Relation::Designer => &["architect", "designer", "architecture firm"],
            Relation::Developer => &["developer"],
            Relation::Operator => &["operator"],
            Relation::Owner => &["owner", "parent company", "parent", "holding company"],
            Relation::Supplier => &["supplier", "vendor"],
            Relation::Founder => &["founder"],
        }
    }

    /// Participles read before "by" ("made by X").
    fn passive(self) -> &'static [&'static str] {
        match self {
            Relation::Maker => &["made", "manufactured", "produced"],
            Relation::Builder => &["built", "constructed"],
            Relation::Designer => &["designed"],
            Relation::Developer => &["developed"],
            Relation::Operator => &["operated", "run", "managed"],
            Relation::Owner => &["owned"],
            Relation::Supplier => &["supplied"],
            Relation::Founder => &["founded", "established"],
        }
    }

    /// Verbs read after the related entity ("X makes the …"), and after "company that".
    fn active(self) -> &'static [&'static str] {
        match self {
            Relation::Maker => &[
                "makes",
                "make",
                "made",
                "manufactures",
                "manufactured",
                "produces",
                "produced",
            ],
            Relation::Builder => &["builds", "built", "constructs", "constructed"],
            Relation::Designer => &["designs", "designed"],
            Relation::Developer => &["develops", "developed"],
            Relation::Operator => &["operates", "operated", "runs", "ran"],
            Relation::Owner => &["owns", "owned"],
            Relation::Supplier => &["supplies", "supplied"],
            Relation::Founder => &["founded"],
        }
    }

    /// The noun used in the basis ("named as the maker of …").
    pub fn noun(self) -> &'static str {
        self.nouns()[0]
    }
}

/// Nouns that name an entity by its role without saying which relation ("the firm that
/// designed it"; a field `firm_city` follows whichever relation the sources state).
const ROLE_NOUNS: &[&str] = &[
    "company",
    "firm",
    "business",
    "organisation",
    "organization",
    "studio",
    "practice",
    "group",
    "maker",
];

/// Words of a field name that say nothing about which fact it asks for.
const GENERIC_FIELD_WORDS: &[&str] = &[
    "name", "names", "the", "of", "s", "full", "official", "count", "number", "total",
];

/// Capitalised words that start sentences, not names.
#[rustfmt::skip]
const NOT_NAMES: &[&str] = &[
    "the", "a", "an", "in", "on", "at", "by", "for", "from", "since", "today", "now", "its", "it",
    "this", "that", "these", "those", "their", "our", "we", "he", "she", "they", "when", "after",
    "before", "during", "until", "then", "also", "however", "meanwhile", "later", "earlier", "and",
    "but", "or", "so", "yet", "both", "each", "every", "many", "most", "some", "while", "although",
    "though", "as", "with", "under", "over", "according", "his", "her", "there", "here", "what",
    "which", "who", "where", "how", "why", "if", "all", "not", "no", "only", "including",
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "company", "firm", "group", "ltd", "inc", "co",
];

/// Lower-case words that may stand inside a name between capitalised ones.
const CONNECTORS: &[&str] = &[
    "of", "and", "&", "de", "van", "von", "der", "du", "la", "le",
];

/// Auxiliaries and adverbs between a name and its verb ("X also makes", "X has built").
const BETWEEN: &[&str] = &["also", "now", "still", "has", "have", "had", "currently"];

/// The entity a run asks about.
#[derive(Debug, Clone)]
pub struct Entity {
    /// How the basis names it.
    pub display: String,
    /// Its distinctive words, lower case: a passage names the entity when it holds one.
    pub words: Vec<String>,
    /// Every word of it, lower case: a bridge made only of these is the entity itself.
    pub all: Vec<String>,
}

impl Entity {
    /// The entity of `request`: the values of an object input; the capitalised words of a
    /// text input after its first word.
    pub fn of(request: &Request) -> Entity {
        let (text, skip_first) = match &request.input {
            Value::String(text) => (text.clone(), true),
            _ => (request.objective.clone(), false),
        };
        let raw: Vec<&str> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let capitalised: Vec<String> = raw
            .iter()
            .skip(usize::from(skip_first))
            .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
            .map(|w| w.to_lowercase())
            .filter(|w| !NOT_NAMES.contains(&w.as_str()))
            .collect();
        let all: Vec<String> = if skip_first {
            capitalised.clone()
        } else {
            tokens(&text)
        };
        let words = if capitalised.is_empty() {
            all.clone()
        } else {
            capitalised
        };
        Entity {
            display: display_name(&text, skip_first).unwrap_or_else(|| request.objective.clone()),
            words,
            all,
        }
    }

    /// How many of the entity's words `text` holds (compared by stem).
    fn named_in(&self, text: &str) -> usize {
        let stems: HashSet<String> = tokens(text).iter().map(|w| stem(w)).collect();
        self.words
            .iter()
            .filter(|w| stems.contains(&stem(w)))
            .count()
    }
}

/// The longest run of capitalised words (and the numbers among them) of `text`.
fn display_name(text: &str, skip_first: bool) -> Option<String> {
    let toks = tokenize(text);
    let mut best: Option<(usize, usize)> = None;
    let mut i = usize::from(skip_first);
    while i < toks.len() {
        if let Some((a, b)) = name_after(&toks, i, false) {
            if best.is_none_or(|(x, y)| b - a > y - x) {
                best = Some((a, b));
            }
            i = b + 1;
        } else {
            i += 1;
        }
    }
    best.map(|(a, b)| text[toks[a].start..toks[b].end].to_owned())
}

/// A field to follow through a relation.
#[derive(Debug, Clone, PartialEq)]
pub struct HopField {
    pub name: String,
    /// The relation it follows; `None`: whichever the sources state.
    pub relation: Option<Relation>,
    /// The noun the basis names the relation by ("architect").
    pub noun: String,
    /// The field's words without the relation ("founded year").
    pub fact: String,
    /// The name of the field as the bridge's fact ("founded_year").
    pub fact_name: String,
    /// Followed only when the first synthesis left it null: its description merely mentions
    /// a related entity ("the year the manufacturer was founded"), or the question asks
    /// through a relation that the description does not name, which is weaker evidence than
    /// a field name, or than a question and a description naming the same relation.
    pub only_if_null: bool,
}

/// The fields of the JSON `schema` to follow through a relation: see the module
/// documentation.
pub fn hop_fields(request: &Request, schema: &Value) -> Vec<HopField> {
    let asked = match &request.input {
        Value::String(text) => relation_in_text(text, true),
        _ => None,
    };
    let mut out: Vec<HopField> = Vec::new();
    for field in fields(schema) {
        let words: Vec<String> = field_words(&field.name)
            .to_lowercase()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let description = field
            .schema
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("");
        if asks_for_the_bridge(&words) {
            // `founder` described as "Founder of the stage builder" asks for the builder's
            // founder: a relation of the related entity, read on its pages.
            let others: String = description
                .split_whitespace()
                .filter(|w| {
                    let w = w.to_lowercase();
                    !words.iter().any(|own| is_noun(&w, own) || is_noun(own, &w))
                })
                .collect::<Vec<_>>()
                .join(" ");
            if let Some((relation, noun)) = relation_in_text(&others, false).filter(|(r, _)| {
                !words
                    .iter()
                    .any(|w| r.nouns().iter().any(|n| is_noun(w, n)))
            }) {
                let fact = words.join(" ");
                out.push(HopField {
                    name: field.name.clone(),
                    relation: Some(relation),
                    noun,
                    fact_name: fact.replace(' ', "_"),
                    fact,
                    only_if_null: false,
                });
            }
            continue;
        }
        let by_name = relation_in_name(&words);
        let hop = match by_name {
            Some((relation, noun, fact)) => Some((relation, noun, fact, false)),
            None => {
                let fact = words.join(" ");
                // A field whose own description asks through a relation is followed; one
                // followed only because the question is about a related entity may be about
                // the thing asked itself (the length of "the cable the company made"), so
                // the hop fills it only when the first reading found nothing.
                match relation_in_text(description, true) {
                    Some((relation, noun)) => Some((Some(relation), noun, fact, false)),
                    None => match asked.clone() {
                        // The question asks through a relation and the description names
                        // it too ("Founding year of the stage builder"): the field is about
                        // the related entity, whatever the first reading found.
                        Some((relation, noun))
                            if relation_in_text(description, false)
                                .is_some_and(|(r, _)| r == relation) =>
                        {
                            Some((Some(relation), noun, fact, false))
                        }
                        Some((relation, noun)) => Some((Some(relation), noun, fact, true)),
                        None => relation_in_text(description, false)
                            .map(|(relation, noun)| (Some(relation), noun, fact, true)),
                    },
                }
            }
        };
        let Some((relation, noun, fact, only_if_null)) = hop else {
            continue;
        };
        let mut fact_name = fact.replace(' ', "_");
        if out.iter().any(|h| h.fact_name == fact_name) {
            fact_name = field.name.clone();
        }
        out.push(HopField {
            name: field.name.clone(),
            relation,
            noun,
            fact,
            fact_name,
            only_if_null,
        });
    }
    out
}

/// Whether a field's words ask for the related entity itself (`manufacturer`, `maker_name`,
/// `made_by`): the first synthesis reads that; no hop. A name with two relations
/// (`maker_founder`) asks for the second through the first.
fn asks_for_the_bridge(words: &[String]) -> bool {
    let rest: Vec<&String> = words
        .iter()
        .filter(|w| !GENERIC_FIELD_WORDS.contains(&w.as_str()) && w.as_str() != "by")
        .collect();
    // `maker_founder` names two relations: the founder of the maker, read through it.
    let relations = RELATIONS
        .iter()
        .filter(|r| {
            rest.iter().any(|w| {
                r.nouns()
                    .iter()
                    .flat_map(|n| n.split(' '))
                    .any(|n| is_noun(w, n))
            })
        })
        .count();
    relations < 2
        && !rest.is_empty()
        && rest.iter().all(|w| {
            RELATIONS.iter().any(|r| {
                r.nouns()
                    .iter()
                    .flat_map(|n| n.split(' '))
                    .any(|n| is_noun(w, n))
                    || r.passive().contains(&w.as_str())
            }) || ROLE_NOUNS.contains(&w.as_str())
        })
}

/// `word` is `noun` or its plural.
fn is_noun(word: &str, noun: &str) -> bool {
    word == noun || word.strip_suffix('s') == Some(noun)
}

/// The relation noun at `words[at..]`, if one starts there: its relation and length.
fn noun_at(words: &[String], at: usize) -> Option<(Relation, usize)> {
    for relation in RELATIONS {
        for noun in relation.nouns() {
            let parts: Vec<&str> = noun.split(' ').collect();
            if at + parts.len() > words.len() {
                continue;
            }
            let last = parts.len() - 1;
            let matches = parts.iter().enumerate().all(|(k, p)| {
                let w = words[at + k].as_str();
                if k == last {
                    is_noun(w, p)
                } else {
                    w == *p
                }
            });
            if matches {
                return Some((relation, parts.len()));
            }
        }
    }
    None
}

/// A relation named by a field's words: a relation noun first (`maker_founded_year`), or
/// last after "of" (`founded_year_of_maker`); `firm` first follows any relation. Gives the
/// relation, its noun and the fact's words, when a fact remains.
fn relation_in_name(words: &[String]) -> Option<(Option<Relation>, String, String)> {
    let fact_of = |rest: &[String]| -> Option<String> {
        let fact: Vec<&str> = rest
            .iter()
            .map(String::as_str)
            .filter(|w| !GENERIC_FIELD_WORDS.contains(w))
            .collect();
        (!fact.is_empty()).then(|| fact.join(" "))
    };
    if let Some((relation, len)) = noun_at(words, 0) {
        let noun = words[..len].join(" ");
        return fact_of(&words[len..]).map(|fact| (Some(relation), noun, fact));
    }
    if words.first().is_some_and(|w| w == "firm") {
        return fact_of(&words[1..]).map(|fact| (None, "firm".to_owned(), fact));
    }
    let of = words.iter().rposition(|w| w == "of")?;
    let (relation, len) = noun_at(words, of + 1)?;
    if of + 1 + len != words.len() {
        return None;
    }
    let noun = words[of + 1..].join(" ");
    fact_of(&words[..of]).map(|fact| (Some(relation), noun, fact))
}

/// A relation a text speaks of: "the company that makes …", "the firm which designed …",
/// "the maker of …", "… 's manufacturer"; with `strict` off, any relation noun ("the year the
/// manufacturer was founded").
fn relation_in_text(text: &str, strict: bool) -> Option<(Relation, String)> {
    let words: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '&'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    for (i, w) in words.iter().enumerate() {
        // "<company> that makes"
        let role = ROLE_NOUNS.contains(&w.as_str()) || noun_at(&words, i).is_some();
        if role
            && words
                .get(i + 1)
                .is_some_and(|r| matches!(r.as_str(), "that" | "which" | "who"))
        {
            if let Some(verb) = words.get(i + 2) {
                if let Some(relation) = RELATIONS
                    .iter()
                    .find(|r| r.active().contains(&verb.as_str()))
                {
                    return Some((*relation, relation.noun().to_owned()));
                }
            }
        }
        if let Some((relation, len)) = noun_at(&words, i) {
            let noun = words[i..i + len].join(" ");
            let followed_by_of = words.get(i + len).is_some_and(|w| w == "of");
            let before = |n: usize| i.checked_sub(n).map(|at| words[at].as_str());
            let possessive = before(1) == Some("s");
            // "the builder", and "the stage builder" (one word between).
            let determined = matches!(before(1), Some("the" | "its" | "their" | "s"))
                || matches!(before(2), Some("the" | "its" | "their"));
            let negated = [before(1), before(2)]
                .iter()
                .any(|w| matches!(w, Some("not" | "no" | "nor")));
            if !negated && (followed_by_of || possessive || (!strict && determined)) {
                return Some((relation, noun));
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// Finding bridges in the sources.

/// A token of a passage: a word (letters, digits, inner `-`, `'`, `.`; or `&`) or one
/// punctuation character, with its byte range.
#[derive(Debug, Clone, Copy)]
struct Tok<'a> {
    text: &'a str,
    start: usize,
    end: usize,
    word: bool,
}

impl Tok<'_> {
    fn lower(&self) -> String {
        self.text.to_lowercase()
    }

    fn capitalised(&self) -> bool {
        self.word && self.text.chars().next().is_some_and(char::is_uppercase)
    }

    fn number(&self) -> bool {
        self.word && self.text.chars().next().is_some_and(|c| c.is_ascii_digit())
    }
}

fn tokenize(text: &str) -> Vec<Tok<'_>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_alphanumeric() {
            let mut j = i + 1;
            while j < chars.len() {
                let d = chars[j].1;
                let inner = matches!(d, '-' | '\'' | '’' | '.')
                    && chars.get(j + 1).is_some_and(|n| n.1.is_alphanumeric());
                if d.is_alphanumeric() || inner {
                    j += 1;
                } else {
                    break;
                }
            }
            let end = chars.get(j).map_or(text.len(), |n| n.0);
            out.push(Tok {
                text: &text[start..end],
                start,
                end,
                word: true,
            });
            i = j;
            continue;
        }
        let end = start + c.len_utf8();
        out.push(Tok {
            text: &text[start..end],
            start,
            end,
            word: c == '&',
        });
        i += 1;
    }
    out
}

/// The name starting at token `i` (after an optional "the"), as a token range: capitalised
/// words, numbers after the first word, and connectors between capitalised words.
fn name_after(toks: &[Tok<'_>], mut i: usize, skip_the: bool) -> Option<(usize, usize)> {
    if skip_the && toks.get(i).is_some_and(|t| t.lower() == "the") {
        i += 1;
    }
    let mut end: Option<usize> = None;
    let mut j = i;
    while j < toks.len() && j - i < MAX_NAME_WORDS + 2 {
        let t = toks[j];
        if !t.word {
            break;
        }
        if t.capitalised() || (end.is_some() && t.number()) {
            end = Some(j);
            j += 1;
            // A possessive ends the name: "Corvane's Drellford lab".
            if t.text.ends_with("'s") || t.text.ends_with("’s") {
                break;
            }
            continue;
        }
        if end.is_some()
            && CONNECTORS.contains(&t.lower().as_str())
            && toks.get(j + 1).is_some_and(|n| n.capitalised())
        {
            j += 1;
            continue;
        }
        break;
    }
    let end = end?;
    // Leading words that start sentences are not part of the name.
    let mut start = i;
    while start <= end
        && (NOT_NAMES.contains(&toks[start].lower().as_str()) || toks[start].number())
    {
        start += 1;
    }
    (start <= end).then_some((start, end))
}

/// Lower-case words that describe a related entity before its name ("by local firm X", "by
/// the architecture practice X", "by a company called X").
const ROLE_WORDS: &[&str] = &[
    "firm",
    "company",
    "studio",
    "practice",
    "group",
    "partnership",
    "architect",
    "architects",
    "contractor",
    "contractors",
    "manufacturer",
    "maker",
    "builder",
    "builders",
    "designer",
    "developer",
    "engineer",
    "engineers",
    "shipyard",
    "agency",
    "collective",
];

/// The name at token `i`, after an optional description of what it is ("local firm X",
/// "the architecture practice X", "a company called X"): a name right after a lower-case
/// role word within the next few words wins; else the name at `i`.
fn name_after_role(toks: &[Tok<'_>], lower: &[String], i: usize) -> Option<(usize, usize)> {
    for j in i..(i + 5).min(toks.len()) {
        if !toks[j].word {
            break;
        }
        if ROLE_WORDS.contains(&lower[j].as_str()) && !toks[j].capitalised() {
            let mut after = j + 1;
            if lower
                .get(after)
                .is_some_and(|w| matches!(w.as_str(), "called" | "named"))
            {
                after += 1;
            }
            if let Some(found) = name_after(toks, after, true) {
                return Some(found);
            }
        }
    }
    name_after(toks, i, true)
}

/// The name ending just before token `i`, as a token range.
fn name_before(toks: &[Tok<'_>], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    while j > 0 && BETWEEN.contains(&toks[j - 1].lower().as_str()) {
        j -= 1;
    }
    if j == 0 || !(toks[j - 1].capitalised() || toks[j - 1].number()) {
        return None;
    }
    let end = j - 1;
    let mut start = end;
    while start > 0 && end - start < MAX_NAME_WORDS + 2 {
        let t = toks[start - 1];
        // A connector counts only between capitalised words ("Rusk & Ode").
        let connects =
            CONNECTORS.contains(&t.lower().as_str()) && start >= 2 && toks[start - 2].capitalised();
        if !(t.capitalised() || t.number() || connects) {
            break;
        }
        start -= 1;
    }
    // Leading words that start sentences, and numbers, are not part of the name.
    while start <= end
        && (NOT_NAMES.contains(&toks[start].lower().as_str())
            || toks[start].number()
            || CONNECTORS.contains(&toks[start].lower().as_str()))
    {
        start += 1;
    }
    (start <= end && toks[start].capitalised()).then_some((start, end))
}

/// The name of a token range, cleaned: no possessive `'s`, at most [`MAX_NAME_WORDS`] words,
/// and at least one word that is a name.
fn clean_name(text: &str) -> Option<String> {
    let text = text.trim();
    let text = text
        .strip_suffix("'s")
        .or_else(|| text.strip_suffix("’s"))
        .unwrap_or(text)
        .trim();
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() || words.len() > MAX_NAME_WORDS {
        return None;
    }
    let is_label = |w: &str| {
        let lower = w.to_lowercase();
        NOT_NAMES.contains(&lower.as_str())
            || RELATIONS
                .iter()
                .any(|r| r.nouns().iter().any(|n| is_noun(&lower, n)))
    };
    let named = words.iter().any(|w| {
        w.chars().next().is_some_and(char::is_uppercase)
            && w.chars().filter(|c| c.is_alphabetic()).count() >= 2
            && !is_label(w)
    });
    named.then(|| text.to_owned())
}

/// A source naming a bridge.
#[derive(Debug, Clone)]
pub struct Mention {
    pub name: String,
    pub relation: Relation,
    /// Index of the source in the sources searched.
    pub source: usize,
    /// The sentence or table row naming it.
    pub excerpt: String,
    /// 3: the sentence or table row names the entity in full; 2: in part; 1: the page's
    /// title or the passage's heading names it; 0: only the passage does.
    pub strength: u8,
}

/// The related entity chosen for a relation.
#[derive(Debug, Clone)]
pub struct Bridge {
    pub name: String,
    pub relation: Relation,
    /// The first mention of each source naming it, best first.
    pub mentions: Vec<Mention>,
    /// Other names the sources state in the same relation, in a sentence or row naming the
    /// entity: sources that disagree.
    pub others: Vec<String>,
}

/// Every statement of a relation in `text` (one passage): the name, its relation, and where
/// the statement starts (for its sentence).
fn prose_mentions(text: &str, entity: &Entity) -> Vec<(String, Relation, usize)> {
    let toks = tokenize(text);
    let lower: Vec<String> = toks.iter().map(Tok::lower).collect();
    let span = |a: usize, b: usize| clean_name(&text[toks[a].start..toks[b].end]);
    // The entity named within the next few words of the same sentence.
    let entity_after = |from: usize| {
        let mut to = from;
        while to < toks.len()
            && to < from + NEAR_WORDS
            && !matches!(toks[to].text, "." | "!" | "?" | ";")
        {
            to += 1;
        }
        from < to && entity.named_in(&text[toks[from].start..toks[to - 1].end]) > 0
    };
    let mut out = Vec::new();
    for k in 0..toks.len() {
        let w = lower[k].as_str();
        for relation in RELATIONS {
            // "made by X"
            if relation.passive().contains(&w) && lower.get(k + 1).is_some_and(|b| b == "by") {
                if let Some((a, b)) = name_after_role(&toks, &lower, k + 2) {
                    if let Some(name) = span(a, b) {
                        out.push((name, relation, toks[k].start));
                    }
                }
            }
            // "X makes the Tamsel K4"
            if relation.active().contains(&w) && entity_after(k + 1) {
                if let Some((a, b)) = name_before(&toks, k) {
                    if let Some(name) = span(a, b) {
                        out.push((name, relation, toks[a].start));
                    }
                }
            }
        }
        if let Some((relation, len)) = noun_at(&lower, k) {
            let after = k + len;
            // "the manufacturer, X" / "Manufacturer: X" / "its architects were X"
            let mut p = after;
            if toks.get(p).is_some_and(|t| {
                matches!(t.text, ":" | "," | "-" | "–" | "—")
                    || matches!(lower[p].as_str(), "is" | "was" | "were" | "are")
            }) {
                p += 1;
            }
            if let Some((a, b)) = name_after(&toks, p, true) {
                if let Some(name) = span(a, b) {
                    out.push((name, relation, toks[k].start));
                }
            }
            // "X, the manufacturer of the Tamsel K4"
            if lower.get(after).is_some_and(|w| w == "of")
                && k > 0
                && matches!(lower[k - 1].as_str(), "the" | "its" | "a")
                && entity_after(after + 1)
            {
                let mut q = k - 1;
                while q > 0 && matches!(lower[q - 1].as_str(), "is" | "was" | "," | "remains") {
                    q -= 1;
                }
                if let Some((a, b)) = name_before(&toks, q) {
                    if let Some(name) = span(a, b) {
                        out.push((name, relation, toks[a].start));
                    }
                }
            }
        }
        // "a subsidiary of X"
        if matches!(w, "subsidiary" | "division") && lower.get(k + 1).is_some_and(|o| o == "of") {
            if let Some((a, b)) = name_after_role(&toks, &lower, k + 2) {
                if let Some(name) = span(a, b) {
                    out.push((name, Relation::Owner, toks[k].start));
                }
            }
        }
    }
    out
}

/// A table cell's relation, when it is a label such as "Manufacturer", "Architect(s)" or
/// "Made by".
fn label_relation(cell: &str) -> Option<Relation> {
    let cleaned = cell.replace("(s)", "s");
    let words: Vec<String> = cleaned
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if let Some((relation, len)) = noun_at(&words, 0) {
        if len == words.len() {
            return Some(relation);
        }
    }
    if words.len() == 2 && words[1] == "by" {
        return RELATIONS
            .iter()
            .find(|r| r.passive().contains(&words[0].as_str()))
            .copied();
    }
    None
}

/// The name in a table cell: up to a comma, parenthesis or semicolon ("Corvane Appliances
/// (since 2011)").
fn cell_name(cell: &str) -> &str {
    cell.split([',', '(', ';', '[']).next().unwrap_or(cell)
}

/// Relations stated in the markdown tables of `text`: a two-cell row "Manufacturer | X", or
/// a column headed "Manufacturer" (in a table of three or more columns) in a row naming the
/// entity. Gives the name, relation and row (with its header for a column).
fn table_mentions(text: &str, entity: &Entity) -> Vec<(String, Relation, String)> {
    let mut out = Vec::new();
    let mut block: Vec<(&str, Vec<String>)> = Vec::new();
    let lines: Vec<&str> = text.lines().chain(std::iter::once("")).collect();
    for line in lines {
        if let Some(row) = crate::facts::row_cells(line) {
            if !crate::extract::markdown::is_table_delimiter(line.trim()) {
                block.push((line.trim(), row));
            }
            continue;
        }
        if block.is_empty() {
            continue;
        }
        for (line, row) in &block {
            let filled: Vec<&String> = row.iter().filter(|c| !c.is_empty()).collect();
            if filled.len() == 2 {
                if let (Some(relation), Some(name)) =
                    (label_relation(filled[0]), clean_name(cell_name(filled[1])))
                {
                    out.push((name, relation, (*line).to_owned()));
                }
            }
        }
        let (header_line, header) = &block[0];
        if header.len() >= 3 {
            for (col, label) in header.iter().enumerate() {
                let Some(relation) = label_relation(label) else {
                    continue;
                };
                for (line, row) in &block[1..] {
                    if entity.named_in(line) == 0 {
                        continue;
                    }
                    if let Some(name) = row.get(col).and_then(|c| clean_name(cell_name(c))) {
                        out.push((name, relation, format!("{header_line}\n{line}")));
                    }
                }
            }
        }
        block.clear();
    }
    out
}

/// Whether `name` is the entity asked about (all its words are the entity's).
fn is_the_entity(name: &str, entity: &Entity) -> bool {
    let words = tokens(name);
    !words.is_empty() && words.iter().all(|w| entity.all.contains(w))
}

/// Every statement in `sources` of an entity in a relation to `entity`.
pub fn mentions(sources: &[Source], entity: &Entity) -> Vec<Mention> {
    let mut out = Vec::new();
    for (s, source) in sources.iter().enumerate() {
        let title = source.title.as_deref().unwrap_or("");
        for passage in &source.passages {
            let heading = passage.heading.as_deref().unwrap_or("");
            let about = entity.named_in(&format!("{title} {heading}")) > 0;
            let in_passage = entity.named_in(&passage.text) > 0;
            if !about && !in_passage {
                continue;
            }
            // How plainly a statement is about the entity: see [`Mention::strength`].
            let strength = |statement: &str, name: &str| {
                let named = entity.named_in(&statement.replace(name, " "));
                if named > 0 && named >= entity.words.len() {
                    3
                } else if named > 0 {
                    2
                } else if about {
                    1
                } else {
                    0
                }
            };
            for (name, relation, start) in prose_mentions(&passage.text, entity) {
                let excerpt = crate::typed::sentence_at(&passage.text, start)
                    .trim()
                    .to_owned();
                out.push(Mention {
                    strength: strength(&excerpt, &name),
                    name,
                    relation,
                    source: s,
                    excerpt,
                });
            }
            for (name, relation, row) in table_mentions(&passage.text, entity) {
                out.push(Mention {
                    strength: strength(&row, &name),
                    name,
                    relation,
                    source: s,
                    excerpt: row,
                });
            }
        }
    }
    out.retain(|m| !is_the_entity(&m.name, entity));
    out
}

/// The words of a name, lower case, for comparing names.
fn name_key(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The bridge for `relation` (any relation when `None`) in `sources`: see [`choose_bridge`].
pub fn find_bridge(
    sources: &[Source],
    entity: &Entity,
    relation: Option<Relation>,
) -> Option<Bridge> {
    choose_bridge(&mentions(sources, entity), relation)
}

/// The bridge for `relation` (any relation when `None`) among `mentions`: the name most
/// sources about the entity agree on, then the one stated most plainly about it, then the
/// first found.
pub fn choose_bridge(mentions: &[Mention], relation: Option<Relation>) -> Option<Bridge> {
    let found: Vec<Mention> = mentions
        .iter()
        .filter(|m| relation.is_none_or(|r| m.relation == r))
        .cloned()
        .collect();
    // A statement counts only on a page about the entity or in a sentence naming it: "the
    // Brisk 2 is made by X" on a page comparing kettles is not about the one asked about.
    if found.iter().all(|m| m.strength == 0) {
        return None;
    }
    // Names grouped: one name's words starting another's ("Corvane" and "Corvane
    // Appliances") are the same name.
    let mut groups: Vec<(Vec<String>, Vec<Mention>)> = Vec::new();
    for m in found {
        let key = name_key(&m.name);
        let same = |other: &Vec<String>| {
            let n = key.len().min(other.len());
            n > 0 && key[..n] == other[..n]
        };
        match groups.iter_mut().find(|(k, _)| same(k)) {
            Some((k, ms)) => {
                if key.len() > k.len() {
                    *k = key;
                }
                ms.push(m);
            }
            None => groups.push((key, vec![m])),
        }
    }
    let score = |ms: &Vec<Mention>| {
        let count = |min: u8| {
            let mut sources: Vec<usize> = ms
                .iter()
                .filter(|m| m.strength >= min)
                .map(|m| m.source)
                .collect();
            sources.sort_unstable();
            sources.dedup();
            sources.len()
        };
        let best = ms.iter().map(|m| m.strength).max().unwrap_or(0);
        (count(1), best, count(0))
    };
    let best = (0..groups.len()).max_by(|&a, &b| {
        score(&groups[a].1)
            .cmp(&score(&groups[b].1))
            // Ties go to the name found first.
            .then(b.cmp(&a))
    })?;
    let (key, mut chosen) = groups.swap_remove(best);
    chosen.sort_by(|a, b| b.strength.cmp(&a.strength).then(a.source.cmp(&b.source)));
    let mut seen = HashSet::new();
    chosen.retain(|m| seen.insert(m.source));
    // The fullest spelling of the name.
    let name = chosen
        .iter()
        .map(|m| m.name.clone())
        .find(|n| name_key(n) == key)
        .unwrap_or_else(|| chosen[0].name.clone());
    let mut others: Vec<String> = groups
        .into_iter()
        // Another name stated in a sentence (or row) that names the entity: a disagreement.
        .filter(|(_, ms)| ms.iter().any(|m| m.strength >= 2))
        .map(|(_, ms)| ms[0].name.clone())
        .collect();
    others.dedup();
    Some(Bridge {
        name,
        relation: chosen[0].relation,
        mentions: chosen,
        others,
    })
}

// ---------------------------------------------------------------------------------------
// Following the hop.

/// What a run lends the hop: its providers, tenant, budget and progress.
pub struct HopRun<'a> {
    pub providers: &'a Providers,
    pub tenant: &'a str,
    pub budget: Budget,
    pub progress: &'a dyn ProgressSink,
}

/// The schema of the bridge's facts: each hop field under its fact's name, its description
/// without the entity asked about and the relation's words (so that ranking looks for the
/// fact about the bridge, not about the first entity).
fn fact_schema(schema: &Value, hops: &[&HopField], entity: &Entity) -> Value {
    let mut properties = serde_json::Map::new();
    for hop in hops {
        let mut property = schema
            .pointer(&format!(
                "/properties/{}",
                hop.name.replace('~', "~0").replace('/', "~1")
            ))
            .cloned()
            .unwrap_or_else(|| json!({}));
        if let Some(description) = property.get("description").and_then(Value::as_str) {
            let kept: Vec<&str> = description
                .split_whitespace()
                .filter(|w| {
                    let bare: String = w
                        .chars()
                        .filter(|c| c.is_alphanumeric())
                        .collect::<String>()
                        .to_lowercase();
                    bare.is_empty()
                        || !(entity.all.contains(&bare)
                            || entity.words.contains(&bare)
                            || RELATIONS.iter().any(|r| {
                                r.nouns().iter().any(|n| is_noun(&bare, n))
                                    || r.active().contains(&bare.as_str())
                                    || r.passive().contains(&bare.as_str())
                            }))
                })
                .collect();
            property["description"] = json!(kept.join(" "));
        }
        properties.insert(hop.fact_name.clone(), property);
    }
    json!({"type": "object", "properties": properties})
}

/// The order of confidence levels.
fn level(confidence: &str) -> u8 {
    match confidence {
        "high" => 2,
        "medium" => 1,
        _ => 0,
    }
}

/// A value as the basis quotes it.
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

/// Follows the second hop for the fields of `synthesis` (the answer to `schema`, read from
/// `sources`) that ask about a related entity: see the module documentation. Returns the URLs of the pages it read.
pub async fn follow(
    run: &HopRun<'_>,
    request: &Request,
    schema: &Value,
    synthesis: &mut Synthesis,
    sources: &[Source],
) -> Vec<String> {
    let mut read_urls: Vec<String> = Vec::new();
    if !run.budget.second_hop {
        return read_urls;
    }
    let hops = hop_fields(request, schema);
    if hops.is_empty() {
        return read_urls;
    }
    let entity = Entity::of(request);
    let stated = mentions(sources, &entity);
    // Fields grouped by the bridge they follow.
    let mut plans: Vec<(Bridge, Vec<&HopField>)> = Vec::new();
    for hop in &hops {
        let first = synthesis.content.get(&hop.name).unwrap_or(&Value::Null);
        if hop.only_if_null && !first.is_null() {
            continue;
        }
        let Some(bridge) = choose_bridge(&stated, hop.relation) else {
            continue;
        };
        if let Some((_, fields)) = plans.iter_mut().find(|(b, _)| b.name == bridge.name) {
            fields.push(hop);
        } else if plans.len() < MAX_BRIDGES {
            plans.push((bridge, vec![hop]));
        }
    }
    let mut known: HashSet<String> = sources.iter().map(|s| s.url.clone()).collect();
    let mut extra: Vec<Source> = Vec::new();
    let mut allowance = run.budget.hop_sources() as usize;
    for (bridge, fields_of) in plans {
        let names: Vec<&str> = fields_of.iter().map(|h| h.name.as_str()).collect();
        run.progress
            .message(
                MessageKind::Search,
                &format!(
                    "Second hop: searching for {} ({})",
                    bridge.name,
                    names.join(", ")
                ),
            )
            .await;
        if allowance > 0 {
            let mut queries = vec![bridge.name.clone()];
            for hop in &fields_of {
                let query = format!("{} {}", bridge.name, hop.fact);
                if !queries.contains(&query) {
                    queries.push(query);
                }
            }
            queries.truncate(run.budget.queries.max(1) as usize);
            let candidates = read::search(
                run.providers,
                run.tenant,
                &queries,
                &request.policy,
                (allowance * 2).max(10),
                false,
            )
            .await;
            for warning in candidates.warnings {
                if !synthesis.warnings.contains(&warning) {
                    synthesis.warnings.push(warning);
                }
            }
            let new: Vec<read::Candidate> = candidates
                .urls
                .into_iter()
                .filter(|c| !known.contains(&c.url))
                .collect();
            let pages =
                read::read_sources(run.providers, run.tenant, new, request, allowance).await;
            allowance = allowance.saturating_sub(pages.sources.len());
            for page in pages.sources {
                if known.insert(page.url.clone()) {
                    read_urls.push(page.url.clone());
                    extra.push(page);
                }
            }
        }
        // The bridge's facts are read from the new pages and the old ones, except pages about
        // the entity asked about (their facts are its own, not the bridge's).
        let bridge_entity = Entity {
            display: bridge.name.clone(),
            words: name_key(&bridge.name),
            all: name_key(&bridge.name),
        };
        let all: Vec<Source> = extra
            .iter()
            .chain(sources.iter().filter(|s| {
                let title = s.title.as_deref().unwrap_or("");
                entity.named_in(title) == 0 || bridge_entity.named_in(title) > 0
            }))
            .cloned()
            .collect();
        let sub_request = Request {
            input: json!({ "entity": bridge.name }),
            objective: bridge.name.clone(),
            output: OutputSpec::Json(fact_schema(schema, &fields_of, &entity)),
            policy: request.policy.clone(),
        };
        let OutputSpec::Json(sub_schema) = &sub_request.output else {
            continue;
        };
        let facts =
            extractive::json_output(&sub_request, sub_schema, &all, run.budget.synthesis_rounds);
        for hop in &fields_of {
            apply(synthesis, hop, &bridge, &entity, &facts, sources);
        }
    }
    read_urls
}

/// Puts the hop's reading of `hop` into `synthesis`, when it found a value.
fn apply(
    synthesis: &mut Synthesis,
    hop: &HopField,
    bridge: &Bridge,
    entity: &Entity,
    facts: &Synthesis,
    first: &[Source],
) {
    let value = facts
        .content
        .get(&hop.fact_name)
        .cloned()
        .unwrap_or(Value::Null);
    if value.is_null() {
        // Say that the hop was tried, on a field still without a value.
        let still_null = synthesis.content.get(&hop.name).is_none_or(Value::is_null);
        if let Some(entry) = synthesis
            .basis
            .iter_mut()
            .find(|b| b["field"] == hop.name.as_str())
            .filter(|_| still_null)
        {
            let said = entry["reasoning"].as_str().unwrap_or("").to_owned();
            entry["reasoning"] = json!(format!(
                "{said} Second hop: {} is named as the {} of {} on {}, but no page read states its {}.",
                bridge.name, hop.noun, entity.display, first[bridge.mentions[0].source].url, hop.fact
            ).trim_start());
        }
        return;
    }
    let Some(read) = facts
        .basis
        .iter()
        .find(|b| b["field"] == hop.fact_name.as_str())
    else {
        return;
    };
    let a = &bridge.mentions[0];
    let page_a = &first[a.source];
    let mut citations = vec![citation(page_a, &a.excerpt)];
    for c in read["citations"].as_array().into_iter().flatten() {
        match citations.iter_mut().find(|x| x["url"] == c["url"]) {
            Some(existing) => {
                if let (Some(have), Some(more)) = (
                    existing["excerpts"].as_array_mut(),
                    c["excerpts"].as_array(),
                ) {
                    for e in more {
                        if !have.contains(e) {
                            have.push(e.clone());
                        }
                    }
                }
            }
            None => citations.push(c.clone()),
        }
    }
    let url_b = read["citations"][0]["url"]
        .as_str()
        .unwrap_or("the pages read")
        .to_owned();
    let mut reasoning = format!(
        "Second hop: {} is named as the {} of {} on {}; its {} ({}) read from {}.",
        bridge.name,
        hop.noun,
        entity.display,
        page_a.url,
        hop.fact,
        shown(&value),
        url_b
    );
    if bridge.mentions.len() > 1 {
        let urls: Vec<&str> = bridge
            .mentions
            .iter()
            .map(|m| first[m.source].url.as_str())
            .collect();
        reasoning.push_str(&format!(
            " Sources agreeing that {} is the {}: {}.",
            bridge.name,
            hop.noun,
            urls.join(", ")
        ));
    }
    if !bridge.others.is_empty() {
        reasoning.push_str(&format!(
            " Other passages name {} instead.",
            bridge.others.join(", ")
        ));
    }
    if let Some(how) = read["reasoning"].as_str() {
        reasoning.push(' ');
        reasoning.push_str(how);
    }
    let confidence = match read["confidence"].as_str().unwrap_or("low") {
        _ if !bridge.others.is_empty() => "low",
        "high" if bridge.mentions.len() < 2 => "medium",
        other => match other {
            "high" => "high",
            "medium" => "medium",
            _ => "low",
        },
    };
    // A value the first synthesis read (about the entity asked about) gives way to the hop's
    // reading, unless that reading is less sure.
    let before = synthesis
        .content
        .get(&hop.name)
        .cloned()
        .unwrap_or(Value::Null);
    if !before.is_null() {
        let before_confidence = synthesis
            .basis
            .iter()
            .find(|b| b["field"] == hop.name.as_str())
            .and_then(|b| b["confidence"].as_str())
            .unwrap_or("low");
        if before == value {
            reasoning.push_str(" The first reading gave the same value.");
        } else if level(confidence) < level(before_confidence) {
            return;
        } else {
            reasoning.push_str(&format!(
                " It replaces {}, which the first reading took from pages about {}.",
                shown(&before),
                entity.display
            ));
        }
    }
    let entry = json!({
        "field": hop.name,
        "citations": citations,
        "reasoning": reasoning,
        "confidence": confidence,
    });
    // The first reading's entries for the field (and its list elements) give way.
    let element = format!("{}.", hop.name);
    let at = synthesis
        .basis
        .iter()
        .position(|b| b["field"] == hop.name.as_str());
    synthesis.basis.retain(|b| {
        b["field"]
            .as_str()
            .is_none_or(|f| f != hop.name && !f.starts_with(&element))
    });
    let mut entries = vec![entry.clone()];
    if let Value::Array(items) = &value {
        for i in 0..items.len() {
            entries.push(json!({
                "field": format!("{}.{i}", hop.name),
                "citations": entry["citations"],
                "reasoning": format!("Element {i} of the list read for \"{}\" in the second hop.", hop.name),
                "confidence": confidence,
            }));
        }
    }
    let at = at
        .unwrap_or(synthesis.basis.len())
        .min(synthesis.basis.len());
    synthesis.basis.splice(at..at, entries);
    if let Value::Object(content) = &mut synthesis.content {
        content.insert(hop.name.clone(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::{FetchCache, Fetcher, FetcherConfig, DEFAULT_CACHE_BYTES};
    use crate::pipeline::ResearchProcessor;
    use crate::search::{IndexedPage, Indexer, LocalIndex};
    use crate::web::page::ExtractedCache;
    use crate::{budget, Processor, SourceStats, Task};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    // Every name here is invented for these tests.

    fn source(url: &str, title: &str, passages: &[&str]) -> Source {
        Source::of_passages(url, title, passages)
    }

    fn request(input: Value, schema: Value) -> Request {
        Request::from_stored(&json!({
            "input": input,
            "task_spec": {"output_schema": {"type": "json", "json_schema": schema}},
        }))
    }

    fn kettle() -> Entity {
        Entity::of(&request(json!({"product": "Tamsel K4 kettle"}), json!({})))
    }

    fn bridge_in(passages: &[&str], relation: Option<Relation>) -> Option<String> {
        let sources = [source("http://a.example/k4", "Tamsel K4 review", passages)];
        find_bridge(&sources, &kettle(), relation).map(|b| b.name)
    }

    #[test]
    fn bridges_are_read_from_prose() {
        let maker = Some(Relation::Maker);
        for passage in [
            "The Tamsel K4 kettle is made by Corvane Appliances, a firm from Drellford.",
            "Corvane Appliances makes the Tamsel K4 in its Drellford plant.",
            "Corvane Appliances, the manufacturer of the Tamsel K4, was bought last year.",
            "The Tamsel K4 is sold everywhere. Its manufacturer, Corvane Appliances, says so.",
            "Manufacturer: Corvane Appliances. The Tamsel K4 boils a litre in ninety seconds.",
        ] {
            assert_eq!(
                bridge_in(&[passage], maker).as_deref(),
                Some("Corvane Appliances"),
                "{passage}"
            );
        }
        assert_eq!(
            bridge_in(
                &["The Tamsel K4 was designed by Rusk & Ode Studio in 2018."],
                Some(Relation::Designer)
            )
            .as_deref(),
            Some("Rusk & Ode Studio")
        );
        for (passage, relation, name) in [
            (
                "The Tamsel K4 was designed by the architecture practice Rusk & Ode.",
                Relation::Designer,
                "Rusk & Ode",
            ),
            (
                "The Tamsel K4 is built by local firm Dunmore Brothers.",
                Relation::Builder,
                "Dunmore Brothers",
            ),
            (
                "The Tamsel K4 is made by a company called Pell Housewares.",
                Relation::Maker,
                "Pell Housewares",
            ),
        ] {
            assert_eq!(
                bridge_in(&[passage], Some(relation)).as_deref(),
                Some(name),
                "{passage}"
            );
        }
        assert_eq!(
            bridge_in(
                &["Tamsel is a subsidiary of the Brannock Group, which owns six brands."],
                Some(Relation::Owner)
            )
            .as_deref(),
            Some("Brannock Group")
        );
        assert_eq!(
            bridge_in(
                &["The Tamsel K4 was developed by Corvane's Drellford lab."],
                Some(Relation::Developer)
            )
            .as_deref(),
            Some("Corvane")
        );
        // Another relation is not this one.
        assert_eq!(
            bridge_in(
                &["The Tamsel K4 is made by Corvane Appliances."],
                Some(Relation::Owner)
            ),
            None
        );
    }

    #[test]
    fn bridges_are_read_from_table_rows() {
        let maker = Some(Relation::Maker);
        let infobox = "| Model | Tamsel K4 |\n| --- | --- |\n| Manufacturer | Corvane Appliances (since 2016) |\n| Capacity | 1.7 litres |";
        assert_eq!(
            bridge_in(&[infobox], maker).as_deref(),
            Some("Corvane Appliances")
        );
        let made_by = "| Colour | Slate |\n| --- | --- |\n| Made by | Orrin Works |";
        assert_eq!(bridge_in(&[made_by], maker).as_deref(), Some("Orrin Works"));
        // A column headed "Manufacturer": the row naming the entity, not its neighbours.
        let compared = "| Kettle | Manufacturer | Capacity |\n| --- | --- | --- |\n| Brisk 2 | Ostry Metalworks | 1.5 l |\n| Tamsel K4 | Corvane Appliances | 1.7 l |";
        let sources = [source(
            "http://a.example/kettles",
            "Kettles compared",
            &[compared],
        )];
        let bridge = find_bridge(&sources, &kettle(), maker).unwrap();
        assert_eq!(bridge.name, "Corvane Appliances");
        assert!(bridge.mentions[0]
            .excerpt
            .contains("| Tamsel K4 | Corvane Appliances |"));
        let architects = "| Architect(s) | Halloran Pike |\n| --- | --- |\n| Opened | 1998 |";
        assert_eq!(
            bridge_in(&[architects], Some(Relation::Designer)).as_deref(),
            Some("Halloran Pike")
        );
    }

    #[test]
    fn the_entity_itself_and_common_words_are_no_bridge() {
        let maker = Some(Relation::Maker);
        for passage in [
            "The Tamsel K4 is made by Tamsel.",
            "The Tamsel K4 kettle is made by hand in small batches.",
            "The Tamsel K4 is made by the same people who make toasters.",
            "| Manufacturer | — |",
            // The entity named in the next sentence is not what X makes.
            "Corvane Appliances also makes the Brisk 2. The Tamsel K4 is red.",
        ] {
            assert_eq!(bridge_in(&[passage], maker), None, "{passage}");
        }
        // A page that never names the entity names no bridge for it.
        let sources = [source(
            "http://a.example/brisk",
            "Brisk 2",
            &["The Brisk 2 is made by Ostry Metalworks."],
        )];
        assert!(find_bridge(&sources, &kettle(), maker).is_none());
        // Nor does a page about several, in a sentence about another.
        let sources = [source(
            "http://a.example/compared",
            "Kettles compared",
            &["The Tamsel K4 boils fast. The Brisk 2 is made by Ostry Metalworks."],
        )];
        assert!(find_bridge(&sources, &kettle(), maker).is_none());
    }

    #[test]
    fn sources_that_agree_win_and_are_recorded() {
        let sources = [
            source(
                "http://a.example/k4",
                "Tamsel K4",
                &["The Tamsel K4 is made by Pell Housewares, one shop says."],
            ),
            source(
                "http://b.example/k4",
                "Tamsel K4 review",
                &["The Tamsel K4 is made by Corvane Appliances."],
            ),
            source(
                "http://c.example/k4",
                "Tamsel K4 guide",
                &["| Manufacturer | Corvane Appliances Ltd |"],
            ),
        ];
        let bridge = find_bridge(&sources, &kettle(), Some(Relation::Maker)).unwrap();
        assert_eq!(bridge.name, "Corvane Appliances Ltd");
        let agreeing: Vec<usize> = bridge.mentions.iter().map(|m| m.source).collect();
        assert_eq!(agreeing, [1, 2]);
        assert_eq!(bridge.others, ["Pell Housewares"]);
    }

    #[test]
    fn the_fields_words_choose_the_relation() {
        let schema = json!({"type": "object", "properties": {
            "maker_founded_year": {"type": "integer"},
            "architect_staff": {"type": "integer"},
            "owner_family": {"type": "string"},
            "parent_company_city": {"type": "string"},
            "firm_city": {"type": "string"},
            "headquarters": {"type": "string", "description": "City of the firm that designed the tower"},
            "founding_year": {"type": "integer", "description": "Year the manufacturer was founded (YYYY)"},
            "height_m": {"type": "number", "description": "Height of the tower in metres"},
            "manufacturer": {"type": "string"},
            "maker_name": {"type": "string"},
            "made_by": {"type": "string"},
            "employees_of_developer": {"type": "integer"},
            "ceo": {"type": "string", "description": "Chief executive, not the founder"}
        }});
        let hops = hop_fields(
            &request(json!({"tower": "Hollin Spire"}), schema.clone()),
            &schema,
        );
        let got: Vec<(&str, Option<Relation>, &str, &str)> = hops
            .iter()
            .map(|h| {
                (
                    h.name.as_str(),
                    h.relation,
                    h.noun.as_str(),
                    h.fact.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "maker_founded_year",
                    Some(Relation::Maker),
                    "maker",
                    "founded year"
                ),
                (
                    "architect_staff",
                    Some(Relation::Designer),
                    "architect",
                    "staff"
                ),
                ("owner_family", Some(Relation::Owner), "owner", "family"),
                (
                    "parent_company_city",
                    Some(Relation::Owner),
                    "parent company",
                    "city"
                ),
                ("firm_city", None, "firm", "city"),
                (
                    "headquarters",
                    Some(Relation::Designer),
                    "architect",
                    "headquarters"
                ),
                (
                    "founding_year",
                    Some(Relation::Maker),
                    "manufacturer",
                    "founding year"
                ),
                (
                    "employees_of_developer",
                    Some(Relation::Developer),
                    "developer",
                    "employees"
                ),
            ]
        );
        assert_eq!(hops[0].fact_name, "founded_year");
        // A description that merely mentions a related entity is followed only when the
        // first reading found nothing; a field name or "the firm that designed" always.
        let only_if_null: Vec<&str> = hops
            .iter()
            .filter(|h| h.only_if_null)
            .map(|h| h.name.as_str())
            .collect();
        assert_eq!(only_if_null, ["founding_year"]);
    }

    #[test]
    fn a_question_about_the_related_entity_follows_every_field() {
        let schema = json!({"type": "object", "properties": {
            "founded_year": {"type": "integer"},
            "city": {"type": "string"}
        }});
        let asked = request(
            json!("When was the company that makes the Tamsel K4 founded, and where is it?"),
            schema.clone(),
        );
        let hops = hop_fields(&asked, &schema);
        assert_eq!(hops.len(), 2);
        assert!(hops.iter().all(|h| h.relation == Some(Relation::Maker)));
        assert_eq!(Entity::of(&asked).display, "Tamsel K4");
        // A question about the entity itself follows nothing.
        let plain = request(json!("When was the Tamsel K4 launched?"), schema.clone());
        assert!(hop_fields(&plain, &schema).is_empty());
    }

    #[test]
    fn descriptions_naming_the_related_entity_are_followed_whatever_was_read_first() {
        // The question asks through the builder, and each description names it ("the
        // stage builder"): the fields are the builder's, even where the first reading found
        // a value (a founding year of the festival itself). "Founder of the stage builder"
        // asks for the builder's founder, not for the bridge.
        let schema = json!({"type": "object", "properties": {
            "founded_year": {"type": "integer", "description": "Founding year of the stage builder"},
            "founder": {"type": "string", "description": "Founder of the stage builder"},
            "crew": {"type": "integer", "description": "Crew on site"}
        }});
        let asked = request(
            json!("In what year was the company that built the Kessel Fair's main stage founded, and who founded it?"),
            schema.clone(),
        );
        let hops = hop_fields(&asked, &schema);
        let followed: Vec<(&str, bool)> = hops
            .iter()
            .map(|h| (h.name.as_str(), h.only_if_null))
            .collect();
        assert_eq!(
            followed,
            [("founded_year", false), ("founder", false), ("crew", true)]
        );
        assert!(hops.iter().all(|h| h.relation == Some(Relation::Builder)));
    }

    #[test]
    fn a_name_with_two_relations_asks_for_the_second_through_the_first() {
        let schema = json!({"type": "object", "properties": {
            "maker_founder": {"type": "string", "description": "Founder of the maker"},
            "manufacturer": {"type": "string"}
        }});
        let asked = request(json!({"product": "Orrin 3T"}), schema.clone());
        let hops = hop_fields(&asked, &schema);
        assert_eq!(
            hops.len(),
            1,
            "the manufacturer itself is read without a hop"
        );
        assert_eq!(hops[0].name, "maker_founder");
        assert_eq!(hops[0].relation, Some(Relation::Maker));
        assert_eq!(hops[0].fact, "founder");
    }

    // --- the hop with a search provider: a local index in a temporary directory ---

    #[derive(Default)]
    struct Recorded(Mutex<Vec<String>>);

    #[async_trait::async_trait]
    impl ProgressSink for Recorded {
        async fn message(&self, _: MessageKind, text: &str) {
            self.0.lock().unwrap().push(text.to_owned());
        }
        async fn stats(&self, _: &SourceStats, _: f64) {}
    }

    struct World {
        providers: Providers,
        dir: std::path::PathBuf,
    }

    impl World {
        /// A hop over this world's providers with `processor`'s budget.
        fn run<'a>(&'a self, processor: &str, progress: &'a Recorded) -> HopRun<'a> {
            HopRun {
                providers: &self.providers,
                tenant: "t",
                budget: budget::lookup(processor).unwrap(),
                progress,
            }
        }
    }

    impl Drop for World {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    const PRODUCT_URL: &str = "https://kettles.example/tamsel-k4";
    const MAKER_URL: &str = "https://corvane.example/about";

    fn world(tag: &str, pages: &[(&str, &str, &str)]) -> World {
        let dir = std::env::temp_dir().join(format!("px-hop-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let index = LocalIndex::open(&dir).unwrap();
        for (url, title, text) in pages {
            index
                .add_page(IndexedPage {
                    url: (*url).into(),
                    owner: None,
                    title: Some((*title).into()),
                    text: (*text).into(),
                    published: None,
                    fetched_at: chrono::Utc::now(),
                })
                .unwrap();
        }
        index.commit().unwrap();
        World {
            providers: Providers {
                search: vec![Arc::new(index.clone())],
                index: Some(Indexer::start(index)),
                fetch: FetchCache::new(Fetcher::new(FetcherConfig::default()), DEFAULT_CACHE_BYTES),
                cache_max_age: Duration::from_secs(3600),
                extracted: ExtractedCache::default(),
                llm: None,
            },
            dir,
        }
    }

    const PRODUCT_TEXT: &str = "The Tamsel K4 is an electric kettle with a slate finish. It is made by Corvane Appliances. It holds 1.7 litres.";
    const MAKER_TEXT: &str = "Corvane Appliances was founded in 1931 in Drellford. Corvane Appliances employs 640 people.";

    fn product_source() -> Source {
        source(PRODUCT_URL, "Tamsel K4", &[PRODUCT_TEXT])
    }

    fn maker_schema() -> Value {
        json!({"type": "object", "properties": {
            "maker_founded_year": {"type": ["integer", "null"], "description": "Year the maker was founded"},
            "capacity_litres": {"type": ["number", "null"]}
        }})
    }

    fn first_reading(founded: Value) -> Synthesis {
        Synthesis {
            content: json!({"maker_founded_year": founded, "capacity_litres": 1.7}),
            basis: vec![
                json!({"field": "maker_founded_year", "citations": [], "reasoning": "not stated", "confidence": "low"}),
                json!({"field": "capacity_litres", "citations": [], "reasoning": "read", "confidence": "medium"}),
            ],
            warnings: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_hop_fills_a_field_and_cites_both_pages() {
        let w = world(
            "fill",
            &[(MAKER_URL, "About Corvane Appliances", MAKER_TEXT)],
        );
        let progress = Recorded::default();
        let run = w.run("core", &progress);
        let req = request(json!({"product": "Tamsel K4"}), maker_schema());
        let mut synthesis = first_reading(Value::Null);
        let read = follow(
            &run,
            &req,
            &maker_schema(),
            &mut synthesis,
            &[product_source()],
        )
        .await;
        assert_eq!(read, [MAKER_URL]);
        assert_eq!(synthesis.content["maker_founded_year"], json!(1931));
        assert_eq!(synthesis.content["capacity_litres"], json!(1.7));
        assert_eq!(synthesis.basis.len(), 2);
        let basis = &synthesis.basis[0];
        assert_eq!(basis["field"], "maker_founded_year");
        let urls: Vec<&str> = basis["citations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["url"].as_str().unwrap())
            .collect();
        assert_eq!(urls, [PRODUCT_URL, MAKER_URL]);
        assert_eq!(
            basis["citations"][0]["excerpts"][0],
            "It is made by Corvane Appliances."
        );
        let reasoning = basis["reasoning"].as_str().unwrap();
        assert!(
            reasoning.starts_with(&format!(
                "Second hop: Corvane Appliances is named as the maker of Tamsel K4 on {PRODUCT_URL}; its founded year (1931) read from {MAKER_URL}."
            )),
            "{reasoning}"
        );
        // One page names the maker: the answer is no more than medium.
        assert_ne!(basis["confidence"], "high");
        assert_eq!(
            progress.0.lock().unwrap().as_slice(),
            ["Second hop: searching for Corvane Appliances (maker_founded_year)"]
        );
    }

    #[tokio::test]
    async fn a_first_reading_about_the_wrong_entity_gives_way() {
        // The first synthesis read a year about the kettle for the maker's founding year.
        let w = world(
            "replace",
            &[(MAKER_URL, "About Corvane Appliances", MAKER_TEXT)],
        );
        let progress = Recorded::default();
        let run = w.run("pro", &progress);
        let req = request(json!({"product": "Tamsel K4"}), maker_schema());
        let mut synthesis = first_reading(json!(2019));
        follow(
            &run,
            &req,
            &maker_schema(),
            &mut synthesis,
            &[product_source()],
        )
        .await;
        assert_eq!(synthesis.content["maker_founded_year"], json!(1931));
        let entries: Vec<&Value> = synthesis
            .basis
            .iter()
            .filter(|b| b["field"] == "maker_founded_year")
            .collect();
        assert_eq!(entries.len(), 1, "{:?}", synthesis.basis);
        assert!(entries[0]["reasoning"]
            .as_str()
            .unwrap()
            .starts_with("Second hop"));
    }

    #[tokio::test]
    async fn no_bridge_or_no_relation_means_no_hop() {
        let w = world(
            "none",
            &[(MAKER_URL, "About Corvane Appliances", MAKER_TEXT)],
        );
        let progress = Recorded::default();
        let run = w.run("core", &progress);
        // The first page names no maker: the field stays null.
        let req = request(json!({"product": "Tamsel K4"}), maker_schema());
        let mut synthesis = first_reading(Value::Null);
        let anonymous = source(
            PRODUCT_URL,
            "Tamsel K4",
            &["The Tamsel K4 holds 1.7 litres."],
        );
        assert!(
            follow(&run, &req, &maker_schema(), &mut synthesis, &[anonymous])
                .await
                .is_empty()
        );
        assert_eq!(synthesis.content["maker_founded_year"], Value::Null);
        // A field not asked through a relation is not followed, though a maker is named.
        let schema = json!({"type": "object", "properties": {
            "founded_year": {"type": ["integer", "null"], "description": "Year the product was launched"}
        }});
        let req = request(json!({"product": "Tamsel K4"}), schema.clone());
        let mut synthesis = Synthesis {
            content: json!({"founded_year": null}),
            basis: Vec::new(),
            warnings: Vec::new(),
        };
        follow(&run, &req, &schema, &mut synthesis, &[product_source()]).await;
        assert_eq!(synthesis.content["founded_year"], Value::Null);
        assert!(progress.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_bridge_without_its_fact_leaves_the_field_null() {
        let w = world(
            "unstated",
            &[(
                MAKER_URL,
                "About Corvane Appliances",
                "Corvane Appliances sells kettles.",
            )],
        );
        let progress = Recorded::default();
        let run = w.run("core", &progress);
        let req = request(json!({"product": "Tamsel K4"}), maker_schema());
        let mut synthesis = first_reading(Value::Null);
        follow(
            &run,
            &req,
            &maker_schema(),
            &mut synthesis,
            &[product_source()],
        )
        .await;
        assert_eq!(synthesis.content["maker_founded_year"], Value::Null);
        let reasoning = synthesis.basis[0]["reasoning"].as_str().unwrap();
        assert!(
            reasoning.ends_with("Second hop: Corvane Appliances is named as the maker of Tamsel K4 on https://kettles.example/tamsel-k4, but no page read states its founded year."),
            "{reasoning}"
        );
        assert_eq!(synthesis.basis[0]["citations"], json!([]));
    }

    #[tokio::test]
    async fn a_question_about_the_maker_is_answered_about_the_maker() {
        let w = world(
            "asked",
            &[(MAKER_URL, "About Corvane Appliances", MAKER_TEXT)],
        );
        let progress = Recorded::default();
        let run = w.run("core-fast", &progress);
        let schema = json!({"type": "object", "properties": {
            "founded_year": {"type": ["integer", "null"], "description": "Year founded"}
        }});
        let req = request(
            json!("When was the company that makes the Tamsel K4 founded?"),
            schema.clone(),
        );
        let mut synthesis = Synthesis {
            content: json!({"founded_year": null}),
            basis: vec![
                json!({"field": "founded_year", "citations": [], "reasoning": "", "confidence": "low"}),
            ],
            warnings: Vec::new(),
        };
        follow(&run, &req, &schema, &mut synthesis, &[product_source()]).await;
        assert_eq!(synthesis.content["founded_year"], json!(1931));
        assert_eq!(synthesis.basis[0]["citations"][0]["url"], PRODUCT_URL);
        assert_eq!(synthesis.basis[0]["citations"][1]["url"], MAKER_URL);
    }

    #[tokio::test]
    async fn lite_does_not_hop() {
        let w = world(
            "lite",
            &[(MAKER_URL, "About Corvane Appliances", MAKER_TEXT)],
        );
        let progress = Recorded::default();
        let run = w.run("lite", &progress);
        let req = request(json!({"product": "Tamsel K4"}), maker_schema());
        let mut synthesis = first_reading(Value::Null);
        assert!(follow(
            &run,
            &req,
            &maker_schema(),
            &mut synthesis,
            &[product_source()]
        )
        .await
        .is_empty());
        assert_eq!(synthesis.content["maker_founded_year"], Value::Null);
        assert!(progress.0.lock().unwrap().is_empty());
    }

    /// Whole runs: `core` answers the maker's founding year through the second hop, `lite`
    /// leaves it null.
    #[tokio::test]
    async fn core_runs_follow_the_hop_and_lite_runs_do_not() {
        let w = world(
            "runs",
            &[
                (PRODUCT_URL, "Tamsel K4", PRODUCT_TEXT),
                (MAKER_URL, "About Corvane Appliances", MAKER_TEXT),
            ],
        );
        let mut answers = Vec::new();
        for processor in ["lite", "core"] {
            let task = Task {
                run_id: "trun_hop".into(),
                tenant: "t".into(),
                budget: budget::lookup(processor).unwrap(),
                request: json!({
                    "input": {"product": "Tamsel K4"},
                    "processor": processor,
                    "task_spec": {"output_schema": {"type": "json", "json_schema": maker_schema()}},
                }),
                previous_interaction_id: None,
                previous: None,
            };
            let progress = Recorded::default();
            let output = ResearchProcessor::new(w.providers.clone())
                .run(task, &progress)
                .await
                .expect("the run completes");
            answers.push((output, progress.0.into_inner().unwrap()));
        }
        let (lite, lite_messages) = &answers[0];
        let (core, core_messages) = &answers[1];
        let founded = |o: &crate::Output| o.output["content"]["maker_founded_year"].clone();
        let hopped = |o: &crate::Output| {
            o.output["basis"].as_array().unwrap().iter().any(|b| {
                b["reasoning"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("Second hop")
            })
        };
        assert!(!hopped(lite), "{}", lite.output);
        assert!(!lite_messages.iter().any(|m| m.starts_with("Second hop")));
        assert_eq!(founded(core), json!(1931), "{}", core.output);
        assert!(hopped(core), "{}", core.output);
        assert!(core_messages
            .iter()
            .any(|m| m.starts_with("Second hop: searching for Corvane Appliances")));
    }
}
