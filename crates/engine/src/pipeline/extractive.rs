//! Extractive synthesis: the answer without an LLM.
//!
//! Each output field is filled from the passages ranked best for it (the field's words and
//! the objective), reading a value of the field's type with [`crate::typed`]. A value found
//! next to the field's words is `medium` confidence, and `high` when another source states
//! the same value; a value found elsewhere in a passage is `low`. A field that no passage
//! supports is left `null`, never guessed; [`super::unknown`] then gives it the fallback its
//! description asks for, or warns of it. Text outputs are the best sentences of the best passages, each with a
//! numbered citation.

use super::plan::{fields, Field};
use super::request::Request;
use super::{Source, Synthesis};
use crate::rank::{rank, stem, tokens};
use crate::typed::{best_sentence, find_value_avoiding, FieldType, Found};
use serde_json::{json, Map, Value};

/// Words of field names and descriptions that say nothing about which statement holds the
/// value.
const GENERIC_WORDS: &[&str] = &[
    "number",
    "count",
    "total",
    "amount",
    "name",
    "names",
    "value",
    "current",
    "main",
    "full",
    "company",
    "organisation",
    "organization",
    "many",
    "much",
    "type",
    "kind",
    "list",
];

/// Passages examined per field and synthesis round.
const PASSAGES_PER_ROUND: usize = 8;

/// A passage of a source, by position.
#[derive(Debug, Clone, Copy)]
struct At {
    source: usize,
    passage: usize,
}

/// All passages of all sources, with the text they are ranked by (title, heading, body).
struct Corpus<'a> {
    sources: &'a [Source],
    at: Vec<At>,
    ranked_text: Vec<String>,
    /// The stems of each passage's words, for document frequencies.
    stems: Vec<std::collections::HashSet<String>>,
}

impl<'a> Corpus<'a> {
    fn new(sources: &'a [Source]) -> Self {
        let mut at = Vec::new();
        let mut ranked_text = Vec::new();
        for (s, source) in sources.iter().enumerate() {
            for (p, passage) in source.passages.iter().enumerate() {
                at.push(At {
                    source: s,
                    passage: p,
                });
                ranked_text.push(format!(
                    "{} {} {}",
                    source.title.as_deref().unwrap_or(""),
                    passage.heading.as_deref().unwrap_or(""),
                    passage.text
                ));
            }
        }
        let stems = ranked_text
            .iter()
            .map(|t| tokens(t).iter().map(|w| stem(w)).collect())
            .collect();
        Corpus {
            sources,
            at,
            ranked_text,
            stems,
        }
    }

    /// Ranks passages for `query`, those on pages whose title names more of `entity` first,
    /// then those naming more of it: a fact about another town, on a page that ranks well for
    /// the field's words, is not the answer.
    fn rank_about(&self, query: &str, entity: &[String]) -> Vec<At> {
        let ranked: Vec<(usize, At)> = {
            let texts: Vec<&str> = self.ranked_text.iter().map(String::as_str).collect();
            rank(query, &texts)
                .into_iter()
                .map(|(i, _)| (i, self.at[i]))
                .collect()
        };
        if entity.is_empty() {
            return ranked.into_iter().map(|(_, at)| at).collect();
        }
        // A page whose title names the entity is about it; then passages that name it.
        let mut scored: Vec<((usize, usize), usize, At)> = ranked
            .into_iter()
            .enumerate()
            .map(|(order, (i, at))| {
                let title: Vec<String> =
                    tokens(self.sources[at.source].title.as_deref().unwrap_or(""))
                        .iter()
                        .map(|w| stem(w))
                        .collect();
                let in_title = entity.iter().filter(|w| title.contains(&stem(w))).count();
                let named = entity
                    .iter()
                    .filter(|w| self.stems[i].contains(&stem(w)))
                    .count();
                ((in_title, named), order, at)
            })
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.into_iter().map(|(_, _, at)| at).collect()
    }

    /// The words of `keywords` that single the field out: generic words ("number", "name")
    /// and the words naming the entity asked about (which every page read is about) tell
    /// nothing about where a value is stated. Values must stand near these to count as plainly stated.
    fn specific_keywords(&self, keywords: &str, entity: &[String]) -> String {
        let all = tokens(keywords);
        let asked: Vec<String> = entity.iter().map(|w| stem(w)).collect();
        let mut specific: Vec<&String> = all
            .iter()
            .filter(|w| {
                !GENERIC_WORDS.contains(&w.as_str()) && !w.chars().all(|c| c.is_ascii_digit())
            })
            .filter(|w| !asked.contains(&stem(w)))
            .collect();
        if specific.is_empty() {
            specific = all
                .iter()
                .filter(|w| !GENERIC_WORDS.contains(&w.as_str()))
                .collect();
        }
        if specific.is_empty() {
            specific = all.iter().collect();
        }
        let mut out: Vec<&str> = specific.iter().map(|w| w.as_str()).collect();
        // Words that tell the kind of value, not where it is stated, are kept for that.
        let raw: Vec<String> = keywords.split_whitespace().map(str::to_lowercase).collect();
        for kind in ["year", "who"] {
            if raw.iter().any(|w| w == kind) && !out.contains(&kind) {
                out.push(kind);
            }
        }
        out.join(" ")
    }

    fn rank(&self, query: &str) -> Vec<At> {
        let texts: Vec<&str> = self.ranked_text.iter().map(String::as_str).collect();
        rank(query, &texts)
            .into_iter()
            .map(|(i, _)| self.at[i])
            .collect()
    }

    fn text(&self, at: At) -> &str {
        &self.sources[at.source].passages[at.passage].text
    }
}

/// The citation of `source` with one excerpt.
pub(super) fn citation(source: &Source, excerpt: &str) -> Value {
    let mut citation = Map::new();
    citation.insert("url".into(), json!(source.url));
    if let Some(title) = &source.title {
        citation.insert("title".into(), json!(title));
    }
    citation.insert("excerpts".into(), json!([excerpt]));
    Value::Object(citation)
}

/// The sentence of `passage` that holds `evidence`, or the passage if it is short.
fn excerpt(passage: &str, evidence: &str) -> String {
    if passage.len() <= 320 {
        return passage.trim().to_owned();
    }
    let (at, after) = match passage.find(evidence) {
        Some(at) => (at, at + evidence.len()),
        None => (0, 0),
    };
    // A sentence ends at ". " (or "!", "?", a blank line), not at the point of "$6.5".
    let ends = [". ", "! ", "? ", ".\n", "\n\n"];
    let start = ends
        .iter()
        .filter_map(|e| passage[..at].rfind(e).map(|i| i + e.len()))
        .max()
        .unwrap_or(0);
    let end = ends
        .iter()
        .filter_map(|e| passage[after..].find(e))
        .min()
        .map_or(passage.len(), |i| after + i + 1);
    passage[start..end].trim().to_owned()
}

/// Fills a JSON output from the sources.
pub fn json_output(
    request: &Request,
    schema: &Value,
    sources: &[Source],
    rounds: u32,
) -> Synthesis {
    let corpus = Corpus::new(sources);
    let depth = PASSAGES_PER_ROUND * rounds.max(1) as usize;
    let mut content = Map::new();
    let mut basis = Vec::new();
    for field in fields(schema) {
        let filled = fill_field(&corpus, request, &field, depth);
        match filled {
            Some(fill) => {
                basis.push(json!({
                    "field": field.name,
                    "citations": fill.citations,
                    "reasoning": fill.reasoning,
                    "confidence": fill.confidence,
                }));
                if let Value::Array(items) = &fill.value {
                    for i in 0..items.len() {
                        basis.push(json!({
                            "field": format!("{}.{i}", field.name),
                            "citations": fill.citations,
                            "reasoning": format!("Element {i} of the list read for \"{}\".", field.name),
                            "confidence": fill.confidence,
                        }));
                    }
                }
                content.insert(field.name.clone(), fill.value);
            }
            None => {
                content.insert(field.name.clone(), Value::Null);
                basis.push(json!({
                    "field": field.name,
                    "citations": [],
                    "reasoning": format!(
                        "No source read in this run states a value for \"{}\", so it is left null rather than guessed (extractive synthesis, no LLM).",
                        field.name
                    ),
                    "confidence": "low",
                }));
            }
        }
    }
    Synthesis {
        content: Value::Object(content),
        basis,
        warnings: Vec::new(),
    }
}

struct Fill {
    value: Value,
    citations: Vec<Value>,
    reasoning: String,
    confidence: &'static str,
}

fn fill_field(corpus: &Corpus<'_>, request: &Request, field: &Field, depth: usize) -> Option<Fill> {
    let field_type = FieldType::of(&field.schema);
    let query = format!("{} {}", field.keywords, request.objective);
    let entity = entity_words(request);
    let ranked: Vec<At> = corpus
        .rank_about(&query, &entity)
        .into_iter()
        .take(depth)
        .collect();
    let specific = corpus.specific_keywords(&field.keywords, &entity);
    let found: Vec<(usize, At, Found)> = ranked
        .iter()
        .enumerate()
        .filter_map(|(rank, &at)| {
            find_value_avoiding(&field_type, corpus.text(at), &specific, &request.objective)
                .map(|f| (rank, at, f))
        })
        // A value far from the field's words counts only if its passage speaks of the field;
        // an enum's members are specific enough to count anywhere in a relevant passage.
        .filter(|(_, at, f)| {
            f.plain
                || matches!(field_type, FieldType::Enum(_))
                || mentions(corpus.text(*at), &specific)
        })
        .collect();
    // The best-ranked plain statement, else the best-ranked value.
    let (rank, at, chosen) = found
        .iter()
        .find(|(_, _, f)| f.plain)
        .or(found.first())
        .cloned()?;
    let source = &corpus.sources[at.source];
    let mut citations = vec![citation(
        source,
        &excerpt(corpus.text(at), &chosen.evidence),
    )];
    let corroborating: Vec<&(usize, At, Found)> = found
        .iter()
        .filter(|(_, other, f)| {
            f.value == chosen.value && corpus.sources[other.source].url != source.url
        })
        .collect();
    if let Some((_, other, f)) = corroborating.first() {
        citations.push(citation(
            &corpus.sources[other.source],
            &excerpt(corpus.text(*other), &f.evidence),
        ));
    }
    let confidence = match (chosen.plain, corroborating.is_empty()) {
        (true, false) => "high",
        (true, true) => "medium",
        (false, _) => "low",
    };
    let title = source.title.as_deref().unwrap_or(&source.url);
    let how = if chosen.plain {
        "which states it next to the field's words"
    } else {
        "though not next to the field's words, so it may belong to something else"
    };
    let agreement = if corroborating.is_empty() {
        String::new()
    } else {
        format!(
            " {} other source(s) state the same value.",
            corroborating.len()
        )
    };
    let reasoning = format!(
        "Extractive synthesis (no LLM): read \"{}\" from \"{title}\", the passage ranked {} for \"{}\", {how}.{agreement}",
        chosen.evidence,
        rank + 1,
        field.keywords,
    );
    Some(Fill {
        value: in_field_unit(chosen.value, &field.name, &field_type),
        citations,
        reasoning,
        confidence,
    })
}

/// A number in the unit the field's name asks for: `revenue_billion_usd` wants 3.2, not
/// 3,200,000,000 (the text said "$3.2 billion", which was read at full scale).
fn in_field_unit(value: Value, field_name: &str, field_type: &FieldType) -> Value {
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

/// The words that name what the question is about: the words of an object input's string
/// values, or the capitalised words of a text input after its first word.
fn entity_words(request: &Request) -> Vec<String> {
    let words: Vec<String> = match &request.input {
        Value::String(text) => text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .skip(1)
            .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
            .map(str::to_lowercase)
            .collect(),
        _ => tokens(&request.objective)
            .into_iter()
            .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
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

/// Whether `passage` contains one of the words of `keywords` (compared by their first six
/// letters, as ranking does).
fn mentions(passage: &str, keywords: &str) -> bool {
    let words: Vec<String> = tokens(passage).iter().map(|w| stem(w)).collect();
    tokens(keywords).iter().any(|k| words.contains(&stem(k)))
}

/// A markdown answer built from the best sentences, each cited.
pub fn text_output(
    request: &Request,
    description: Option<&str>,
    sources: &[Source],
    rounds: u32,
) -> Synthesis {
    let corpus = Corpus::new(sources);
    let query = format!("{} {}", request.objective, description.unwrap_or(""));
    let keywords = tokens(&query).join(" ");
    let wanted = 2 + rounds.max(1) as usize;
    let mut used_sources: Vec<usize> = Vec::new();
    let mut lines = Vec::new();
    let mut citations = Vec::new();
    for at in corpus.rank(&query) {
        if used_sources.contains(&at.source) {
            continue;
        }
        let Some(found) = best_sentence(corpus.text(at), &keywords) else {
            continue;
        };
        let Some(sentence) = found.value.as_str() else {
            continue;
        };
        used_sources.push(at.source);
        lines.push(format!("{sentence} [{}]", used_sources.len()));
        citations.push(citation(&corpus.sources[at.source], sentence));
        if used_sources.len() == wanted {
            break;
        }
    }
    if lines.is_empty() {
        return Synthesis {
            content: json!("No source read in this run answers this."),
            basis: vec![json!({
                "field": "output",
                "citations": [],
                "reasoning": "Extractive synthesis (no LLM) found no passage sharing words with the question.",
                "confidence": "low",
            })],
            warnings: vec![
                json!({"type": "warning", "message": "No source read in this run answers the question."}),
            ],
        };
    }
    let mut markdown = lines.join("\n\n");
    markdown.push_str("\n\n**Sources**\n");
    for (i, &s) in used_sources.iter().enumerate() {
        let source = &sources[s];
        markdown.push_str(&format!(
            "\n{}. [{}]({})",
            i + 1,
            source.title.as_deref().unwrap_or(&source.url),
            source.url
        ));
    }
    let confidence = if lines.len() > 1 { "medium" } else { "low" };
    Synthesis {
        content: json!(markdown),
        basis: vec![json!({
            "field": "output",
            "citations": citations,
            "reasoning": format!(
                "Extractive synthesis (no LLM): the best-ranked sentence of each of the {} best-ranked sources for the question, quoted with their citations.",
                lines.len()
            ),
            "confidence": confidence,
        })],
        warnings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::SourcePassage;

    fn source(url: &str, title: &str, passages: &[&str]) -> Source {
        Source {
            url: url.into(),
            title: Some(title.into()),
            published: None,
            passages: passages
                .iter()
                .map(|p| SourcePassage {
                    text: (*p).into(),
                    heading: None,
                })
                .collect(),
        }
    }

    fn request(input: Value) -> Request {
        Request::from_stored(&json!({"input": input}))
    }

    #[test]
    fn fills_typed_fields_with_basis_and_honest_confidence() {
        let sources = [
            source("http://a.example/about", "About Zorblax Robotics", &[
                "Zorblax Robotics was founded on 5 March 2011 in Quellmoor.",
                "Zorblax Robotics employs 12,400 people worldwide. It is a privately held company.",
            ]),
            source("http://b.example/news", "Zorblax grows", &["Zorblax Robotics now employs 12,400 people."]),
            source("http://c.example/cookies", "Cookies", &["We use 3 cookies. Call 555 0100."]),
        ];
        let schema = json!({"type": "object", "properties": {
            "employees": {"type": "integer", "description": "Number of employees"},
            "founded": {"type": "string", "description": "Founding date (YYYY-MM-DD)"},
            "ownership": {"type": "string", "enum": ["public", "private"]},
            "ceo": {"type": ["string", "null"], "description": "Chief executive's name"},
            "revenue": {"type": "number", "description": "Annual revenue"}
        }, "required": ["employees", "founded", "ownership", "ceo", "revenue"]});
        let s = json_output(
            &request(json!({"company": "Zorblax Robotics"})),
            &schema,
            &sources,
            1,
        );
        assert_eq!(s.content["employees"], json!(12400));
        assert_eq!(s.content["founded"], json!("2011-03-05"));
        assert_eq!(s.content["ownership"], json!("private"));
        assert_eq!(s.content["ceo"], Value::Null, "no source names a CEO");
        assert_eq!(s.content["revenue"], Value::Null);
        let fields: Vec<&str> = s
            .basis
            .iter()
            .map(|b| b["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            ["employees", "founded", "ownership", "ceo", "revenue"]
        );
        let employees = &s.basis[0];
        assert_eq!(
            employees["confidence"], "high",
            "two sources agree: {employees}"
        );
        assert_eq!(employees["citations"].as_array().unwrap().len(), 2);
        assert!(employees["citations"][0]["excerpts"][0]
            .as_str()
            .unwrap()
            .contains("12,400"));
        assert_eq!(s.basis[3]["confidence"], "low");
        assert!(s.basis[3]["citations"].as_array().unwrap().is_empty());
    }

    #[test]
    fn list_fields_get_element_basis() {
        let sources = [source(
            "http://a.example/",
            "Zorblax products",
            &["Zorblax product lines: Kestrel Arm, Moth Courier and Loom-7."],
        )];
        let schema = json!({"type": "object", "properties": {
            "product_lines": {"type": "array", "items": {"type": "string"}, "description": "Names of product lines"}
        }});
        let s = json_output(&request(json!("Zorblax")), &schema, &sources, 1);
        assert_eq!(
            s.content["product_lines"],
            json!(["Kestrel Arm", "Moth Courier", "Loom-7"])
        );
        let fields: Vec<&str> = s
            .basis
            .iter()
            .map(|b| b["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "product_lines",
                "product_lines.0",
                "product_lines.1",
                "product_lines.2"
            ]
        );
    }

    #[test]
    fn text_answers_cite_their_sentences() {
        let sources = [
            source(
                "http://a.example/",
                "Quellmoor",
                &["Quellmoor lies on the Velthane River. It has a bridge."],
            ),
            source(
                "http://b.example/",
                "Rivers",
                &["The Velthane River rises in the Corrach Hills."],
            ),
        ];
        let s = text_output(
            &request(json!("Which river is Quellmoor on?")),
            None,
            &sources,
            1,
        );
        let text = s.content.as_str().unwrap();
        assert!(
            text.starts_with("Quellmoor lies on the Velthane River. [1]"),
            "{text}"
        );
        assert!(text.contains("1. [Quellmoor](http://a.example/)"), "{text}");
        assert_eq!(s.basis[0]["field"], "output");
        assert_eq!(s.basis[0]["citations"][0]["url"], "http://a.example/");
        let none = text_output(&request(json!("zzz qqq")), None, &sources, 1);
        assert_eq!(none.basis[0]["confidence"], "low");
        assert_eq!(none.warnings.len(), 1);
    }

    #[test]
    fn numbers_in_the_fields_unit() {
        assert_eq!(
            in_field_unit(
                json!(3_200_000_000i64),
                "revenue_billion_usd",
                &FieldType::Number
            ),
            json!(3.2)
        );
        assert_eq!(
            in_field_unit(
                json!(185_000_000),
                "net_profit_million_usd",
                &FieldType::Integer
            ),
            json!(185)
        );
        assert_eq!(
            in_field_unit(json!(3.2), "revenue_billion_usd", &FieldType::Number),
            json!(3.2)
        );
        assert_eq!(
            in_field_unit(json!(12400), "employees", &FieldType::Integer),
            json!(12400)
        );
    }

    #[test]
    fn excerpts_do_not_stop_at_decimal_points() {
        let filler = "Other news of the week fills this paragraph. ".repeat(8);
        let passage = format!(
            "{filler}The round values the company at $6.5 billion, its backers said. {filler}"
        );
        assert_eq!(
            excerpt(&passage, "6.5 billion"),
            "The round values the company at $6.5 billion, its backers said."
        );
    }
}
