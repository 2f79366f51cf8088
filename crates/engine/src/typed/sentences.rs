//! Strings read as whole sentences (a field with no recognisable shape), and lists.

use super::names::{string_kind, StringKind};
use super::spans::{sentences, stem_eq};
use super::{find_value, FieldType, Found};
use crate::extract::markdown::collapse_whitespace;
use crate::rank::tokens;
use serde_json::{json, Value};

/// The sentences of `passage` with how many of `keywords` each names (compared as forms
/// of one word), in order; list markers and hard line wraps removed.
pub fn sentences_naming(passage: &str, keywords: &str) -> Vec<(String, usize)> {
    let keys = tokens(keywords);
    sentences(passage)
        .into_iter()
        .map(|(s, e)| {
            let text = collapse_whitespace(
                passage[s..e]
                    .trim()
                    .trim_start_matches(['-', '*', '#', ' ']),
            );
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
pub(super) fn sentence(passage: &str, keys: &[String]) -> Option<Found> {
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
    let value = collapse_whitespace(text);
    (!text.is_empty()).then(|| Found {
        value: json!(value),
        evidence: text.to_owned(),
        plain: hits > 0,
    })
}

/// A list: markdown list items if the passage has them, else the parts of the best sentence
/// separated by commas and "and"; each item typed as `item`.
pub(super) fn list(
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
