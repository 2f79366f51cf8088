//! Query planning: which searches a run makes.
//!
//! The first query is the objective itself. Then, for a JSON output, one query per field:
//! the objective with the field's name and the content words of its description (not its
//! fallback instruction nor a date layout such as "YYYY-MM-DD"), so a
//! field that no page states next to the objective's words is still searched for. A text
//! output's description makes one more query, and a previous interaction adds its objective
//! joined with this one (a follow-up such as "and its revenue?" names nothing by itself).
//! Duplicates are dropped and the list is cut to the processor's query budget. When that
//! budget cannot hold one query per field (`lite` makes one search), a query naming every
//! field comes first.

use super::fallback::without_fallback;
use super::request::{field_words, objective_text, OutputSpec, Request};
use crate::rank::tokens;
use crate::PreviousInteraction;
use serde_json::Value;

/// Most description words added to a field's query.
const DESCRIPTION_WORDS: usize = 8;

/// One output field to fill: its name, schema, and the words that describe it.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub schema: Value,
    /// The name's words and the description's content words.
    pub keywords: String,
}

/// The top-level fields of a JSON output schema, in schema order.
pub fn fields(schema: &Value) -> Vec<Field> {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, prop)| {
            // What the field is, without what to give when it is not found.
            let description = without_fallback(
                prop.get("description")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            );
            let description = description.as_str();
            let mut described: Vec<String> = tokens(description)
                .into_iter()
                .filter(|w| !is_layout(w))
                .take(DESCRIPTION_WORDS)
                .collect();
            // "who" is a function word to ranking, but it says the answer is a name.
            if description
                .split_whitespace()
                .any(|w| w.eq_ignore_ascii_case("who") || w.eq_ignore_ascii_case("whom"))
            {
                described.push("who".into());
            }
            Field {
                name: name.clone(),
                schema: prop.clone(),
                keywords: format!("{} {}", field_words(name), described.join(" "))
                    .trim()
                    .to_owned(),
            }
        })
        .collect()
}

/// Whether a word spells a date or time layout ("yyyy", "mm", "dd" of "YYYY-MM-DD"): it
/// says how to write the value, not what to look for.
fn is_layout(word: &str) -> bool {
    word.len() >= 2
        && word
            .chars()
            .all(|c| matches!(c, 'y' | 'm' | 'd' | 'h' | 's'))
}

/// The searches for a run, at most `budget` of them.
pub fn queries(
    request: &Request,
    previous: Option<&PreviousInteraction>,
    budget: usize,
) -> Vec<String> {
    let mut out = vec![request.objective.clone()];
    if let Some(previous) = previous {
        let earlier = previous
            .request
            .get("input")
            .map(objective_text)
            .unwrap_or_default();
        if !earlier.is_empty() {
            // First: a follow-up is often incomplete on its own ("and its revenue?"), and a
            // budget of one query must still search for what it refers to.
            out.insert(0, format!("{earlier} {}", request.objective));
        }
    }
    match &request.output {
        OutputSpec::Json(schema) => {
            let fields = fields(schema);
            // Too few searches for one per field: the first names every field, so that a
            // single search finds the page that states them (a museum's visit page for its
            // prices and opening days), not only the pages most about the entity, which the
            // next search still looks for.
            if out.len() + fields.len() > budget.max(1) && fields.len() > 1 {
                let names: Vec<String> = fields.iter().map(|f| field_words(&f.name)).collect();
                out.insert(0, format!("{} {}", request.objective, names.join(" ")));
            }
            for field in fields {
                out.push(format!("{} {}", request.objective, field.keywords));
            }
        }
        OutputSpec::Text(Some(description)) => {
            out.push(format!("{} {description}", request.objective))
        }
        OutputSpec::Text(None) | OutputSpec::Auto => {}
    }
    let mut seen = Vec::new();
    out.retain(|q| {
        let key = tokens(q);
        if key.is_empty() || seen.contains(&key) {
            return false;
        }
        seen.push(key);
        true
    });
    out.truncate(budget.max(1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(v: Value) -> Request {
        Request::from_stored(&v)
    }

    #[test]
    fn one_query_per_field_after_the_objective() {
        let r = request(json!({
            "input": {"company": "Zorblax Robotics"},
            "task_spec": {"output_schema": {"json_schema": {"type": "object", "properties": {
                "employees": {"type": "integer", "description": "Number of people employed by the company"},
                "ceo_name": {"type": "string"}
            }}}}
        }));
        let q = queries(&r, None, 10);
        assert_eq!(q[0], "Zorblax Robotics");
        assert_eq!(
            q[1],
            "Zorblax Robotics employees number people employed company"
        );
        assert_eq!(q[2], "Zorblax Robotics ceo name");
        assert_eq!(queries(&r, None, 2).len(), 2);
        assert_eq!(queries(&r, None, 0).len(), 1, "at least the objective");
    }

    #[test]
    fn with_fewer_searches_than_fields_the_first_names_every_field() {
        let r = request(json!({
            "input": {"museum": "Carne Maritime Museum"},
            "task_spec": {"output_schema": {"json_schema": {"type": "object", "properties": {
                "adult_ticket_gbp": {"type": "number", "description": "Adult admission price"},
                "dogs_allowed": {"type": "boolean"},
                "winter_opening_days": {"type": "string"}
            }}}}
        }));
        assert_eq!(
            queries(&r, None, 1),
            ["Carne Maritime Museum adult ticket gbp dogs allowed winter opening days"]
        );
        assert_eq!(
            queries(&r, None, 2)[1],
            "Carne Maritime Museum",
            "the entity alone is still searched for"
        );
        // With a search per field, each field has its own.
        let all = queries(&r, None, 4);
        assert_eq!(all[0], "Carne Maritime Museum");
        assert_eq!(all.len(), 4);
    }

    #[test]
    fn fallbacks_and_date_layouts_are_not_searched_for() {
        let r = request(json!({
            "input": {"company": "Zorblax Robotics"},
            "task_spec": {"output_schema": {"json_schema": {"type": "object", "properties": {
                "hq": {"type": "string", "description": "City of the head office. If no data found, return 'Unknown'"},
                "founded_on": {"type": "string", "description": "Date the company was founded (YYYY-MM-DD)"}
            }}}}
        }));
        let q = queries(&r, None, 10);
        assert_eq!(q[1], "Zorblax Robotics hq city head office");
        assert_eq!(q[2], "Zorblax Robotics founded on date company founded");
    }

    #[test]
    fn previous_interaction_gives_context() {
        let r = request(json!({"input": "and its revenue?"}));
        let previous = PreviousInteraction {
            request: json!({"input": "Zorblax Robotics headquarters"}),
            output: None,
        };
        let q = queries(&r, Some(&previous), 5);
        assert_eq!(
            q,
            [
                "Zorblax Robotics headquarters and its revenue?",
                "and its revenue?"
            ]
        );
        assert_eq!(
            queries(&r, Some(&previous), 1),
            ["Zorblax Robotics headquarters and its revenue?"],
            "one query searches with the context"
        );
    }

    #[test]
    fn duplicates_and_empty_queries_are_dropped() {
        let r = request(json!({"input": "the", "task_spec": {"output_schema": "The"}}));
        assert!(queries(&r, None, 5).is_empty());
    }
}
