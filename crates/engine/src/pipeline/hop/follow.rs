//! Following the hop: searching for the bridge with the field's words, reading the new
//! pages, and filling the hop fields again about the bridge, citing both pages.

use super::bridge::{choose_bridge, mentions, name_key, Bridge};
use super::{hop_fields, is_noun, Entity, HopField, MAX_BRIDGES, RELATIONS};
use crate::budget::Budget;
use crate::pipeline::extractive::{self, citation};
use crate::pipeline::read;
use crate::pipeline::request::{OutputSpec, Request};
use crate::pipeline::{Providers, Source, Synthesis};
use crate::{MessageKind, ProgressSink};
use serde_json::{json, Value};
use std::collections::HashSet;

/// What a run lends the hop: its providers, tenant, budget, progress and how it reads pages.
pub struct HopRun<'a> {
    pub providers: &'a Providers,
    pub tenant: &'a str,
    pub budget: Budget,
    pub progress: &'a dyn ProgressSink,
    /// How the run reads pages: the hop's pages are read the same way as the first ones.
    pub freshness: read::Freshness,
}

/// The schema of the bridge's facts: each hop field under its fact's name, its description
/// without the entity asked about and the relation's words (so that ranking looks for the
/// fact about the bridge, not about the first entity).
pub(super) fn fact_schema(schema: &Value, hops: &[&HopField], entity: &Entity) -> Value {
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
pub(super) fn level(confidence: &str) -> u8 {
    match confidence {
        "high" => 2,
        "medium" => 1,
        _ => 0,
    }
}

/// A value as the basis quotes it.
pub(super) fn shown(value: &Value) -> String {
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
            let pages = read::read_sources_with(
                run.providers,
                run.tenant,
                new,
                request,
                allowance,
                run.freshness,
            )
            .await;
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
            context: None,
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
pub(super) fn apply(
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
