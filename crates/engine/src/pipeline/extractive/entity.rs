//! The entity a question is about, as words: what names it, and whether a sentence or a
//! value is about another one.

use super::QUESTION_WORDS;
use crate::pipeline::request::Request;
use crate::rank::tokens;
use serde_json::Value;

/// The words that name what the question is about: the words of an object input's string
/// values, or the capitalised words of a text input after its first word.
pub(super) fn entity_words(request: &Request) -> Vec<String> {
    // The parts of a word such as "HV-220" or "Loom-7": the number tells two models apart.
    let parts = |word: &str| -> Vec<String> {
        tokens(word)
            .into_iter()
            .filter(|w| !w.chars().all(|c| c.is_ascii_digit()) || word.contains('-'))
            .collect()
    };
    let words: Vec<String> = match &request.input {
        // The first word is skipped when it asks ("What", "Who", "List"), not when it
        // names ("Zorblax Robotics Series C funding round").
        Value::String(text) => text
            .split_whitespace()
            .enumerate()
            .filter(|(i, w)| *i > 0 || !QUESTION_WORDS.contains(&w.to_lowercase().as_str()))
            .map(|(_, w)| w)
            .filter(|w| {
                w.chars()
                    .find(|c| c.is_alphanumeric())
                    .is_some_and(char::is_uppercase)
            })
            .flat_map(parts)
            .collect(),
        _ => request
            .objective
            .split_whitespace()
            .flat_map(parts)
            .collect(),
    };
    let mut unique: Vec<String> = Vec::new();
    for w in words {
        if !unique.contains(&w) {
            unique.push(w);
        }
    }
    unique
}

/// Whether `sentence` is about a near namesake of the entity asked about: it names
/// something that shares some of the entity's words but not all, and has words of its own
/// ("Corrow Rovers FC" when "Corrow Royal Rovers" was asked), and never the entity itself.
pub(super) fn names_another(sentence: &str, entity: &[String], value: &str) -> bool {
    if entity.len() < 2 {
        return false;
    }
    let mut another = false;
    // The value itself is no namesake: "founded in 1979 by Ilse Veltmark", asked about
    // Veltmark Medical.
    for name in crate::typed::proper_names(sentence)
        .into_iter()
        .filter(|name| *name != value.trim())
    {
        let words = tokens(name);
        let shared = entity
            .iter()
            .filter(|e| words.iter().any(|w| crate::typed::stem_eq(w, e)))
            .count();
        if shared == entity.len() {
            return false;
        }
        // Its own words are words: a date after the name ("the Great Flood of 3 March
        // 1902") names no other entity.
        let own = words.iter().any(|w| {
            w.chars().all(char::is_alphabetic)
                && !crate::typed::is_month(w)
                && !entity.iter().any(|e| crate::typed::stem_eq(w, e))
        });
        another |= shared > 0 && own;
    }
    another
}

/// Whether `value` names the entity asked about (all of its words): "Velthane River" is
/// not where the Velthane rises.
pub(super) fn is_the_entity(value: &str, entity: &[String]) -> bool {
    let words = tokens(value);
    !entity.is_empty()
        && !words.is_empty()
        && entity
            .iter()
            .all(|e| words.iter().any(|w| crate::typed::stem_eq(w, e)))
}

/// Whether `sentence` ties the field's words to another named entity: "founders of Zorblax
/// Robotics" does not name the founders of the institute asked about.
pub(super) fn of_another(sentence: &str, keywords: &str, entity: &[String]) -> bool {
    let keys = tokens(keywords);
    let lower = sentence.to_lowercase();
    let mut at = 0;
    for word in sentence.split_inclusive(|c: char| !c.is_alphanumeric()) {
        let start = at;
        at += word.len();
        let bare = word.trim_end_matches(|c: char| !c.is_alphanumeric());
        if bare.is_empty() || !keys.iter().any(|k| crate::typed::stem_eq(k, bare)) {
            continue;
        }
        let rest = &sentence[start + bare.len()..];
        let Some(after) = ["of ", "at ", "for "]
            .iter()
            .find_map(|p| rest.trim_start().strip_prefix(p))
        else {
            continue;
        };
        let Some(name) = crate::typed::proper_names(after).into_iter().next() else {
            continue;
        };
        if !after.starts_with(name) && !after.trim_start_matches("the ").starts_with(name) {
            continue;
        }
        let words = tokens(name);
        let shares = entity
            .iter()
            .any(|e| words.iter().any(|w| crate::typed::stem_eq(w, e)));
        if !shares && lower.len() == sentence.len() {
            return true;
        }
    }
    false
}
