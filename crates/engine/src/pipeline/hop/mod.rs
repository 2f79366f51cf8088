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
//!
//! This file owns step 1 (the relations, the entity, the hop fields); `bridge` is step 2 and
//! `follow` step 3.

use super::plan::fields;
use super::request::{field_words, Request};
use crate::rank::{stem, tokens};
use serde_json::Value;
use std::collections::HashSet;

mod bridge;
mod follow;
#[cfg(test)]
mod tests;

pub use bridge::{choose_bridge, find_bridge, mentions, Bridge, Mention};
use bridge::{name_after, tokenize};
pub use follow::{follow, HopRun};

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
