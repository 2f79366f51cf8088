//! Values chosen from a fixed set: yes or no (stated outright, or as a statement the
//! passage makes) and members of an enum.

use super::spans::{sentences, stem_eq, word_spans};
use super::Candidate;
use serde_json::json;

pub(super) fn booleans(text: &str) -> Vec<Candidate> {
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
pub(super) const QUESTION_FILLER: &[&str] = &[
    "whether", "is", "are", "does", "do", "has", "have", "can", "it", "its",
];

/// Words that turn a statement into its denial.
pub(super) const NEGATIONS: &[&str] = &[
    "not", "no", "never", "without", "none", "cannot", "nor", "isn't", "aren't", "doesn't",
    "don't", "wasn't", "weren't", "won't",
];

/// Pairs of words where a statement of one answers a question about the other with "no".
pub(super) const ANTONYMS: &[(&str, &str)] = &[
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
pub(super) fn statements(text: &str, keys: &[String]) -> Vec<Candidate> {
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

pub(super) fn enum_members(text: &str, options: &[String]) -> Vec<Candidate> {
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
pub(super) fn lower_with_origins(text: &str) -> (String, Vec<usize>) {
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
