//! What a field that no source states becomes: the fallback its description asks for, when
//! that fallback fits the field's schema, else `null` with a warning naming the field. Never
//! a guess.
//!
//! Synthesis (extractive or LLM) leaves such a field `null`; [`settle`] then runs once over
//! the whole answer, whichever synthesis made it, so both follow the same rule. A fallback
//! is read from the field's `description` ([`super::fallback`]) and kept only if the answer
//! with it still validates at that field: "Unknown" fills a string field, never an integer
//! or an enum that lacks it; `0` fills a number field. Nested objects and the objects of
//! lists are settled field by field; their paths are written `company.ceo` and
//! `products.0.price`, as basis entries name list elements.

use super::fallback::{stated_fallback, Fallback};
use crate::typed::FieldType;
use serde_json::{json, Value};

/// Settles every null field of `content` (the answer to the JSON `schema`): fills the
/// fallbacks that fit, updates the basis entries of the fields filled, and warns of the
/// others.
pub fn settle(schema: &Value, content: &mut Value, basis: &mut [Value], warnings: &mut Vec<Value>) {
    let validator = jsonschema::validator_for(schema).ok();
    let mut pending = Vec::new();
    collect_nulls(schema, schema, content, "", &mut pending);
    for (path, pointer, field_schema) in pending {
        let description = field_schema
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("");
        let fallback = stated_fallback(description);
        let filled = fallback.as_ref().and_then(|fallback| {
            let candidate = fallback.candidates().into_iter().find(|candidate| {
                fits(
                    validator.as_ref(),
                    content,
                    &pointer,
                    candidate,
                    &field_schema,
                )
            })?;
            *content.pointer_mut(&pointer)? = candidate.clone();
            Some((fallback, candidate))
        });
        match filled {
            Some((fallback, value)) => {
                if let Some(entry) = basis.iter_mut().find(|b| b["field"] == path.as_str()) {
                    entry["citations"] = json!([]);
                    entry["confidence"] = json!("low");
                    entry["reasoning"] = json!(format!(
                        "No source read in this run states \"{path}\"; its description asks for {} in that case, so {value} is returned.",
                        fallback.describe()
                    ));
                }
            }
            None => {
                if let Some(slot) = content.pointer_mut(&pointer) {
                    *slot = Value::Null;
                }
                warnings.push(unknown_warning(&path, &field_schema, fallback.as_ref()));
            }
        }
    }
}

/// The warning for a field left null.
fn unknown_warning(path: &str, schema: &Value, fallback: Option<&Fallback>) -> Value {
    let mut message = format!("No source read in this run states \"{path}\"; it is null");
    if fallback == Some(&Fallback::Null) {
        message.push_str(" as its description asks");
    }
    if !FieldType::nullable(schema) {
        message.push_str(" although the schema does not allow null");
    }
    match fallback {
        Some(Fallback::Null) => message.push('.'),
        Some(other) => message.push_str(&format!(
            ", since the fallback its description gives ({}) does not fit the field's type.",
            other.describe()
        )),
        None => message.push_str(
            ". To get another value in that case, say so in its description, such as \"If unavailable, return 'Unknown'\".",
        ),
    }
    json!({"type": "warning", "message": message, "detail": {"field": path}})
}

/// Whether `candidate` may stand at `pointer`: the answer validates there with it. Without
/// a validator (a schema that does not compile), by the field's type alone.
fn fits(
    validator: Option<&jsonschema::Validator>,
    content: &Value,
    pointer: &str,
    candidate: &Value,
    field_schema: &Value,
) -> bool {
    let Some(validator) = validator else {
        return jsonschema::validator_for(field_schema).is_ok_and(|v| v.is_valid(candidate));
    };
    let mut trial = content.clone();
    match trial.pointer_mut(pointer) {
        Some(slot) => *slot = candidate.clone(),
        None => return false,
    }
    let broken = validator
        .iter_errors(&trial)
        .any(|e| e.instance_path.to_string().starts_with(pointer));
    !broken
}

/// The null fields under `content`, as (path, pointer, schema), in schema order. A field
/// missing from an object counts as null and is added as one.
fn collect_nulls(
    root: &Value,
    schema: &Value,
    content: &mut Value,
    path: &str,
    out: &mut Vec<(String, String, Value)>,
) {
    let schema = resolve(root, schema);
    let Some(properties) = object_properties(root, schema) else {
        return;
    };
    let Some(object) = content.as_object_mut() else {
        return;
    };
    for (name, field_schema) in properties {
        let field_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        let value = object.entry(name.clone()).or_insert(Value::Null);
        let field_schema = resolve(root, field_schema);
        match value {
            Value::Null => {
                let pointer = format!("/{}", field_path.replace('~', "~0").replace('/', "~1"));
                out.push((field_path, pointer.replace('.', "/"), field_schema.clone()));
            }
            Value::Object(_) => collect_nulls(root, field_schema, value, &field_path, out),
            Value::Array(items) => {
                if let Some(item_schema) = items_schema(root, field_schema) {
                    for (i, item) in items.iter_mut().enumerate() {
                        collect_nulls(root, item_schema, item, &format!("{field_path}.{i}"), out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The properties of an object schema, looking through `anyOf`/`oneOf` for the object
/// branch.
fn object_properties<'a>(
    root: &'a Value,
    schema: &'a Value,
) -> Option<&'a serde_json::Map<String, Value>> {
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        return Some(properties);
    }
    ["anyOf", "oneOf"].iter().find_map(|key| {
        schema
            .get(*key)?
            .as_array()?
            .iter()
            .find_map(|branch| object_properties(root, resolve(root, branch)))
    })
}

/// The items schema of an array schema, looking through `anyOf`/`oneOf`.
fn items_schema<'a>(root: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    if let Some(items) = schema.get("items").filter(|i| i.is_object()) {
        return Some(resolve(root, items));
    }
    ["anyOf", "oneOf"].iter().find_map(|key| {
        schema
            .get(*key)?
            .as_array()?
            .iter()
            .find_map(|branch| items_schema(root, resolve(root, branch)))
    })
}

/// The schema a local `$ref` names, or `schema` itself.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut schema = schema;
    // A chain of references, but not a cycle.
    for _ in 0..8 {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => match reference.strip_prefix('#').and_then(|p| root.pointer(p)) {
                Some(target) => schema = target,
                None => break,
            },
            None => break,
        }
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basis_for(content: &Value) -> Vec<Value> {
        content
            .as_object()
            .unwrap()
            .keys()
            .map(|k| json!({"field": k, "citations": [], "reasoning": "none", "confidence": "low"}))
            .collect()
    }

    #[test]
    fn fallbacks_fill_the_fields_they_fit_and_the_rest_are_warned() {
        let schema = json!({"type": "object", "properties": {
            "ceo": {"type": "string", "description": "CEO's name. If no data found, return 'Unknown'"},
            "employees": {"type": "integer", "description": "Head count; if unavailable, return 'Unknown'"},
            "revenue": {"type": "number", "description": "Revenue in USD, or 0 if not reported"},
            "hq": {"type": ["string", "null"], "description": "City of the head office. If unknown, return null."},
            "ticker": {"type": "string", "description": "Stock ticker"},
            "stage": {"type": "string", "enum": ["seed", "growth"], "description": "Stage; 'Unknown' if not stated"},
            "found": {"type": "string", "description": "If unavailable, return 'n/a'"},
        }});
        let mut content = json!({"ceo": null, "employees": null, "revenue": null, "hq": null, "ticker": null, "stage": null, "found": "Quellmoor"});
        let mut basis = basis_for(&content);
        let mut warnings = Vec::new();
        settle(&schema, &mut content, &mut basis, &mut warnings);
        assert_eq!(
            content,
            json!({"ceo": "Unknown", "employees": null, "revenue": 0, "hq": null, "ticker": null, "stage": null, "found": "Quellmoor"})
        );
        assert!(
            basis[0]["reasoning"]
                .as_str()
                .unwrap()
                .contains("\"Unknown\""),
            "{}",
            basis[0]
        );
        let warned: Vec<&str> = warnings
            .iter()
            .map(|w| w["detail"]["field"].as_str().unwrap())
            .collect();
        // hq asked for null and may be null: it got what it asked for, without a warning.
        assert_eq!(warned, ["employees", "ticker", "stage"]);
        assert!(
            basis[3]["reasoning"]
                .as_str()
                .unwrap()
                .contains("asks for null"),
            "{}",
            basis[3]
        );
        let message = |i: usize| warnings[i]["message"].as_str().unwrap().to_owned();
        assert!(
            message(0).contains("does not fit") && message(0).contains("does not allow null"),
            "{}",
            message(0)
        );
        assert!(
            message(1).contains("If unavailable, return"),
            "{}",
            message(1)
        );
        // Null asked for where the schema does not allow it: null, and said so.
        let schema = json!({"type": "object", "properties": {"ceo": {"type": "string", "description": "If unknown, return null"}}});
        let mut content = json!({"ceo": null});
        let mut warnings = Vec::new();
        settle(&schema, &mut content, &mut [], &mut warnings);
        assert_eq!(content, json!({"ceo": null}));
        let message = warnings[0]["message"].as_str().unwrap();
        assert!(
            message.contains("as its description asks although the schema does not allow null"),
            "{message}"
        );
    }

    #[test]
    fn nested_objects_lists_and_refs_are_settled_field_by_field() {
        let schema = json!({
            "type": "object",
            "properties": {
                "company": {"type": "object", "properties": {
                    "ceo": {"type": "string", "description": "If not found, use \"Unknown\""},
                    "age": {"type": ["integer", "null"]},
                }},
                "products": {"type": "array", "items": {"$ref": "#/$defs/product"}},
            },
            "$defs": {"product": {"type": "object", "properties": {
                "price": {"type": "number", "description": "Price; use -1 when no price is listed"},
            }}},
        });
        let mut content =
            json!({"company": {"ceo": null}, "products": [{"price": 3.5}, {"price": null}]});
        let mut warnings = Vec::new();
        settle(&schema, &mut content, &mut [], &mut warnings);
        assert_eq!(
            content,
            json!({"company": {"ceo": "Unknown", "age": null}, "products": [{"price": 3.5}, {"price": -1}]})
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0]["detail"]["field"], "company.age");
    }
}
