//! Synthesis with an LLM: the model answers from numbered sources only, and says, per field,
//! which sources support it, why, and how confident it is.
//!
//! The sources shown are the passages ranked best for the objective and the output's fields,
//! grouped by page and numbered `[1]`, `[2]`, …. For a JSON output the model fills a wrapper
//! object `{"output": <the task's schema>, "basis": [...]}`, validated with the client's
//! repair loop (one repair per synthesis round of the processor). Citations are built here
//! from the source numbers the model gives, so every cited URL is a page read in this run,
//! with the excerpts that were shown to the model. The model is told to give a field the
//! sources do not state the fallback its description asks for, or null; the pipeline then
//! enforces that rule on the answer ([`super::unknown`]).

use super::extractive::citation;
use super::plan::fields;
use super::request::Request;
use super::{ground, Source, Synthesis};
use crate::llm::{LlmClient, LlmError, Message, ResponseFormat};
use crate::rank::rank;
use crate::typed::FieldType;
use serde_json::{json, Map, Value};

/// Most characters of source text shown to the model.
const CONTEXT_CHARS: usize = 12_000;

/// The sources as shown to the model: numbered pages with the passages chosen from them.
struct Shown<'a> {
    pages: Vec<(&'a Source, Vec<&'a str>)>,
}

impl<'a> Shown<'a> {
    fn choose(sources: &'a [Source], query: &str) -> Shown<'a> {
        let mut all: Vec<(usize, &'a str)> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        for (s, source) in sources.iter().enumerate() {
            for passage in &source.passages {
                all.push((s, passage.text.as_str()));
                texts.push(format!(
                    "{} {} {}",
                    source.title.as_deref().unwrap_or(""),
                    passage.heading.as_deref().unwrap_or(""),
                    passage.text
                ));
            }
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mut order: Vec<usize> = rank(query, &refs).into_iter().map(|(i, _)| i).collect();
        // Passages sharing no word with the query still give context when room is left.
        let ranked: std::collections::HashSet<usize> = order.iter().copied().collect();
        order.extend((0..all.len()).filter(|i| !ranked.contains(i)));
        let mut pages: Vec<(&'a Source, Vec<&'a str>)> = Vec::new();
        let mut used = 0;
        for i in order {
            let (s, text) = all[i];
            if used + text.len() > CONTEXT_CHARS {
                continue;
            }
            used += text.len();
            match pages
                .iter_mut()
                .find(|(source, _)| std::ptr::eq(*source, &sources[s]))
            {
                Some((_, passages)) => passages.push(text),
                None => pages.push((&sources[s], vec![text])),
            }
        }
        Shown { pages }
    }

    fn prompt(&self) -> String {
        let mut out = String::new();
        for (n, (source, passages)) in self.pages.iter().enumerate() {
            out.push_str(&format!(
                "[{}] {} ({})\n{}\n\n",
                n + 1,
                source.title.as_deref().unwrap_or("untitled"),
                source.url,
                crate::extract::tables_as_text(&passages.join("\n…\n"))
            ));
        }
        out
    }

    /// Citations of the sources numbered in `ids` (1-based), ignoring numbers that name none.
    fn citations(&self, ids: &[u64]) -> Vec<Value> {
        let mut seen = Vec::new();
        ids.iter()
            .filter_map(|&id| usize::try_from(id).ok()?.checked_sub(1))
            .filter(|i| {
                *i < self.pages.len() && !seen.contains(i) && {
                    seen.push(*i);
                    true
                }
            })
            .map(|i| {
                let (source, passages) = &self.pages[i];
                let mut c = citation(source, passages[0]);
                c["excerpts"] = json!(excerpt_blocks(passages));
                c
            })
            .collect()
    }
}

/// The excerpts of a citation: the paragraphs of the passages shown, each whole. A passage
/// can join blocks that the page separates (a heading, an infobox between two paragraphs);
/// paragraph by paragraph, every excerpt is text the page states as written. Headings alone
/// are left out.
fn excerpt_blocks(passages: &[&str]) -> Vec<String> {
    passages
        .iter()
        .flat_map(|p| p.split("\n\n"))
        .map(str::trim)
        .filter(|block| block.split_whitespace().count() > 4)
        .map(crate::extract::tables_as_text)
        .collect()
}

const SYSTEM: &str = "You are a careful research assistant. Answer only from the numbered sources given. \
If the sources do not state something, say so (use null where the schema allows it) instead of guessing. \
Cite sources by their numbers.";

/// What the model is told of fields the sources do not state. [`super::unknown::settle`]
/// enforces it on the answer, whatever the model did.
const UNSTATED_RULE: &str = "When the sources do not state a field, do not guess: give the fallback its description asks for in that case (for example \"If unavailable, return 'Unknown'\" means the string Unknown), or null if its description asks for none.";

fn basis_schema() -> Value {
    json!({
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "field": {"type": "string"},
                "sources": {"type": "array", "items": {"type": "integer"}},
                "reasoning": {"type": "string"},
                "confidence": {"type": "string", "enum": ["low", "medium", "high"]}
            },
            "required": ["field", "sources", "reasoning", "confidence"],
            "additionalProperties": false
        }
    })
}

fn question(request: &Request) -> String {
    let asked = match &request.input {
        Value::String(s) => s.clone(),
        other => format!("Input: {other}"),
    };
    match &request.context {
        Some(context) => format!("{context}\n\nNow: {asked}"),
        None => asked,
    }
}

/// Turns the model's basis entries into the API's, adding an entry for every field the model
/// left out and one per list element.
fn build_basis(
    shown: &Shown<'_>,
    model_basis: &Value,
    content: &Value,
    field_names: &[String],
) -> Vec<Value> {
    let mut by_field: Map<String, Value> = Map::new();
    for entry in model_basis.as_array().into_iter().flatten() {
        let Some(field) = entry.get("field").and_then(Value::as_str) else {
            continue;
        };
        let ids: Vec<u64> = entry
            .get("sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect();
        by_field.insert(
            field.to_owned(),
            json!({
                "field": field,
                "citations": shown.citations(&ids),
                "reasoning": entry.get("reasoning").and_then(Value::as_str).unwrap_or(""),
                "confidence": entry.get("confidence").and_then(Value::as_str).unwrap_or("low"),
            }),
        );
    }
    let mut basis = Vec::new();
    for name in field_names {
        let entry = by_field.get(name).cloned().unwrap_or_else(|| {
            json!({"field": name, "citations": [], "reasoning": "The model gave no basis for this field.", "confidence": "low"})
        });
        basis.push(entry.clone());
        if let Some(items) = content.get(name).and_then(Value::as_array) {
            for i in 0..items.len() {
                let key = format!("{name}.{i}");
                basis.push(by_field.get(&key).cloned().unwrap_or_else(|| {
                    let mut element = entry.clone();
                    element["field"] = json!(key);
                    element
                }));
            }
        }
    }
    basis
}

/// A JSON output from the model.
pub async fn json_output(
    llm: &LlmClient,
    request: &Request,
    schema: &Value,
    sources: &[Source],
    rounds: u32,
) -> Result<Synthesis, LlmError> {
    let field_list = fields(schema);
    let keywords: Vec<&str> = field_list.iter().map(|f| f.keywords.as_str()).collect();
    let shown = Shown::choose(
        sources,
        &format!("{} {}", request.objective, keywords.join(" ")),
    );
    let wrapper = json!({
        "type": "object",
        "properties": {"output": schema, "basis": basis_schema()},
        "required": ["output", "basis"],
        "additionalProperties": false
    });
    let messages = [
        Message::system(SYSTEM),
        Message::user(format!(
            "{}\n\nSources:\n\n{}Fill `output` following this JSON schema (its descriptions say what each field means):\n{}\n\n{UNSTATED_RULE}\n\nIn `basis`, give one entry per top-level field of `output`: the numbers of the sources that support it, your reasoning, and your confidence (low, medium or high).",
            question(request),
            shown.prompt(),
            schema
        )),
    ];
    let (answer, usage) = llm.chat_json(&messages, &wrapper, rounds.max(1)).await?;
    tracing::debug!(
        prompt_tokens = usage.prompt_tokens,
        completion_tokens = usage.completion_tokens,
        "LLM synthesis"
    );
    let mut content = answer.get("output").cloned().unwrap_or(Value::Null);
    let names: Vec<String> = field_list.iter().map(|f| f.name.clone()).collect();
    let mut basis = build_basis(
        &shown,
        answer.get("basis").unwrap_or(&Value::Null),
        &content,
        &names,
    );
    let warnings = ground_answer(&shown, &field_list, &mut content, &mut basis);
    Ok(Synthesis {
        content,
        basis,
        warnings,
    })
}

/// Drops what the model answered but no passage it cites states: a field whose value is
/// not in the passages shown from its cited pages becomes null (left to
/// [`super::unknown`]), a list keeps the elements that are. Returns a warning per field
/// changed.
fn ground_answer(
    shown: &Shown<'_>,
    fields: &[super::plan::Field],
    content: &mut Value,
    basis: &mut Vec<Value>,
) -> Vec<Value> {
    let mut warnings = Vec::new();
    for field in fields {
        let Some(value) = content.get(&field.name).cloned() else {
            continue;
        };
        let field_type = FieldType::of(&field.schema);
        let Some(entry) = basis.iter_mut().find(|b| b["field"] == field.name.as_str()) else {
            continue;
        };
        let cited: Vec<&str> = entry["citations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["url"].as_str())
            .collect();
        let texts: Vec<&str> = shown
            .pages
            .iter()
            .filter(|(source, _)| cited.contains(&source.url.as_str()))
            .flat_map(|(_, passages)| passages.iter().copied())
            .collect();
        if ground::is_stated(&value, &field_type, &texts) {
            continue;
        }
        let kept = match (&value, &field_type) {
            (Value::Array(items), FieldType::Array(item)) => {
                Some(ground::stated_elements(items, item, &texts)).filter(|k| !k.is_empty())
            }
            _ => None,
        };
        warnings.push(json!({
            "type": "warning",
            "message": format!(
                "The LLM's answer for \"{}\" ({value}) is not stated by the sources it cites; {}.",
                field.name,
                if kept.is_some() { "only the elements they state are kept" } else { "it is left null rather than reported" }
            ),
            "detail": {"field": field.name},
        }));
        match kept {
            Some(items) => {
                // The element entries follow the elements kept.
                let parent = entry.clone();
                let prefix = format!("{}.", field.name);
                basis.retain(|b| !b["field"].as_str().is_some_and(|f| f.starts_with(&prefix)));
                let at = basis
                    .iter()
                    .position(|b| b["field"] == field.name.as_str())
                    .map_or(basis.len(), |i| i + 1);
                for i in (0..items.len()).rev() {
                    let mut element = parent.clone();
                    element["field"] = json!(format!("{}.{i}", field.name));
                    basis.insert(at, element);
                }
                content[&field.name] = Value::Array(items);
            }
            None => {
                content[&field.name] = Value::Null;
                entry["citations"] = json!([]);
                entry["confidence"] = json!("low");
                entry["reasoning"] = json!(format!(
                    "The model answered {value}, but no passage it cites states that value, so the field is left null."
                ));
            }
        }
    }
    warnings
}

/// An auto-schema output: the model answers with a JSON object and the schema it follows.
pub async fn auto_output(
    llm: &LlmClient,
    request: &Request,
    sources: &[Source],
    rounds: u32,
) -> Result<(Synthesis, Value), LlmError> {
    let shown = Shown::choose(sources, &request.objective);
    let wrapper = json!({
        "type": "object",
        "properties": {
            "output_schema": {"type": "object"},
            "output": {"type": "object"},
            "basis": basis_schema()
        },
        "required": ["output_schema", "output", "basis"],
        "additionalProperties": false
    });
    let messages = [
        Message::system(SYSTEM),
        Message::user(format!(
            "{}\n\nSources:\n\n{}Choose the JSON object that best answers this, write its JSON Schema in `output_schema` (type object, a description for each property) and the object in `output`. In `basis`, one entry per top-level field with the supporting source numbers, reasoning and confidence.",
            question(request),
            shown.prompt()
        )),
    ];
    let (answer, usage) = llm.chat_json(&messages, &wrapper, rounds.max(1)).await?;
    let schema = answer
        .get("output_schema")
        .cloned()
        .unwrap_or(json!({"type": "object"}));
    let content = answer.get("output").cloned().unwrap_or(json!({}));
    let problem = match jsonschema::validator_for(&schema) {
        Err(e) => Some(format!(
            "/output_schema: the inferred schema does not compile: {e}"
        )),
        Ok(v) => v
            .iter_errors(&content)
            .next()
            .map(|e| format!("/output{}: {e}", e.instance_path)),
    };
    if let Some(problem) = problem {
        return Err(LlmError::InvalidOutput {
            errors: vec![problem],
            attempts: 1,
            last_answer: answer.to_string(),
            usage,
        });
    }
    let names: Vec<String> = content
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let basis = build_basis(
        &shown,
        answer.get("basis").unwrap_or(&Value::Null),
        &content,
        &names,
    );
    Ok((
        Synthesis {
            content,
            basis,
            warnings: Vec::new(),
        },
        schema,
    ))
}

/// A markdown answer citing sources as `[n]`, streamed to `progress` as it is written when
/// the sink wants the text ([`crate::ProgressSink::wants_content`]).
pub async fn text_output(
    llm: &LlmClient,
    request: &Request,
    description: Option<&str>,
    sources: &[Source],
    progress: &dyn crate::ProgressSink,
) -> Result<Synthesis, LlmError> {
    let shown = Shown::choose(
        sources,
        &format!("{} {}", request.objective, description.unwrap_or("")),
    );
    let messages = [
        Message::system(SYSTEM),
        Message::user(format!(
            "{}\n\n{}Sources:\n\n{}Answer in markdown. Cite the sources you use as [n] right after what they support.",
            question(request),
            description.map(|d| format!("The answer should be: {d}\n\n")).unwrap_or_default(),
            shown.prompt()
        )),
    ];
    let completion = if progress.wants_content() {
        llm.chat_streamed(&messages, &|delta| progress.content(delta))
            .await?
    } else {
        llm.chat(&messages, ResponseFormat::Text).await?
    };
    let ids = cited_numbers(&completion.content);
    let citations = shown.citations(&ids);
    let confidence = if citations.is_empty() {
        "low"
    } else {
        "medium"
    };
    Ok(Synthesis {
        basis: vec![json!({
            "field": "output",
            "citations": citations,
            "reasoning": format!("Written by the LLM from {} numbered sources read in this run; it cited {:?}.", shown.pages.len(), ids),
            "confidence": confidence,
        })],
        content: json!(completion.content),
        warnings: Vec::new(),
    })
}

/// The numbers cited as `[n]` in a text, in order of first citation.
fn cited_numbers(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for part in text.split('[').skip(1) {
        if let Some((number, _)) = part.split_once(']') {
            if let Ok(n) = number.trim().parse::<u64>() {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cited_numbers() {
        assert_eq!(
            cited_numbers("A [2] and B [1][2], not [x] or [ 3 ]."),
            [2, 1, 3]
        );
    }

    #[test]
    fn excerpts_are_whole_paragraphs() {
        let passages = ["Zorblax makes robot arms in Quellmoor.\n\nHistory\n\nIt was founded in 2011 by three engineers.", "Short."];
        assert_eq!(
            excerpt_blocks(&passages),
            [
                "Zorblax makes robot arms in Quellmoor.",
                "It was founded in 2011 by three engineers."
            ]
        );
    }
}
