//! Snapshot monitors: what changed between two outputs of the same task.
//!
//! Values are compared as a reader would: strings without case, punctuation at their ends
//! and runs of whitespace; numbers by value (`1,000`, `1000` and `1000.0` are one number,
//! written as a number or in a string); lists as collections (a reordering changes nothing);
//! `null` and a missing field alike. A text output is compared by its sentences, without
//! citation markers, links' targets or its list of sources. Basis entries (citations,
//! reasoning, confidence) are never compared: the same answer read from other pages is no
//! change.

use serde_json::{Map, Value};

/// The fields of `current` (a task-run output object, text or json) that differ from
/// `previous`, as a partial output of the same type with only the changed fields and their
/// basis entries; `None` when nothing material changed. A text output that changed is
/// returned whole (its one field is `output`). When `previous` is not an output of the same
/// type, every non-null field of `current` is a change.
pub fn snapshot_change(previous: &Value, current: &Value) -> Option<Value> {
    let same_type = previous.get("type") == current.get("type");
    let before = if same_type {
        previous.get("content").unwrap_or(&Value::Null)
    } else {
        &Value::Null
    };
    let after = current.get("content").unwrap_or(&Value::Null);
    let basis = current
        .get("basis")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut partial = current.as_object().cloned().unwrap_or_default();
    match after {
        Value::Object(fields) => {
            let empty = Map::new();
            let old = before.as_object().unwrap_or(&empty);
            let changed: Map<String, Value> = fields
                .iter()
                .filter(|(name, value)| {
                    let was = old.get(*name).unwrap_or(&Value::Null);
                    canonical(was) != canonical(value)
                })
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            if changed.is_empty() {
                return None;
            }
            let basis: Vec<Value> = basis
                .into_iter()
                .filter(|entry| {
                    let field = entry.get("field").and_then(Value::as_str).unwrap_or("");
                    changed.keys().any(|name| {
                        field == name
                            || field
                                .strip_prefix(name.as_str())
                                .is_some_and(|rest| rest.starts_with('.'))
                    })
                })
                .collect();
            partial.insert("content".into(), Value::Object(changed));
            partial.insert("basis".into(), Value::Array(basis));
            Some(Value::Object(partial))
        }
        Value::String(text) => {
            let old = before.as_str().unwrap_or("");
            if text_sentences(old) == text_sentences(text) {
                return None;
            }
            if text_sentences(text).is_empty() && !same_type {
                return None;
            }
            partial.insert("basis".into(), Value::Array(basis));
            Some(Value::Object(partial))
        }
        Value::Null => None,
        other => {
            if same_type && canonical(before) == canonical(other) {
                return None;
            }
            Some(Value::Object(partial))
        }
    }
}

/// A value in its compared form: see the module documentation.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Null => Value::Null,
        Value::Bool(b) => Value::Bool(*b),
        Value::Number(n) => Value::String(number_text(n.as_f64().unwrap_or(f64::NAN))),
        Value::String(s) => {
            let s = normalise_string(s);
            if s.is_empty() {
                Value::Null
            } else {
                Value::String(s)
            }
        }
        Value::Array(items) => {
            let mut items: Vec<String> = items.iter().map(|v| canonical(v).to_string()).collect();
            items.sort();
            if items.is_empty() {
                Value::Null
            } else {
                Value::Array(items.into_iter().map(Value::String).collect())
            }
        }
        Value::Object(map) => {
            let kept: Map<String, Value> = map
                .iter()
                .map(|(k, v)| (k.clone(), canonical(v)))
                .filter(|(_, v)| !v.is_null())
                .collect();
            if kept.is_empty() {
                Value::Null
            } else {
                Value::Object(kept)
            }
        }
    }
}

/// A number as one spelling: integers without a fraction, others with the shortest digits.
fn number_text(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A string in its compared form: lower-cased, whitespace collapsed, punctuation trimmed from
/// each word's ends, and every word that is a number (`1,000`, `3.50`, `$12`) written as
/// [`number_text`] writes it.
fn normalise_string(s: &str) -> String {
    s.split_whitespace()
        .filter_map(|word| {
            let trimmed = word.trim_matches(|c: char| !c.is_alphanumeric());
            if trimmed.is_empty() {
                return None;
            }
            let digits: String = trimmed.chars().filter(|c| *c != ',').collect();
            let is_number = digits.chars().any(|c| c.is_ascii_digit())
                && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
                && digits.matches('.').count() <= 1;
            Some(match digits.parse::<f64>() {
                Ok(x) if is_number => number_text(x),
                _ => trimmed.to_lowercase(),
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The sentences a text output states, each normalised, without citation markers (`[1]`),
/// links' targets and the sources list the extractive reader ends with; as a sorted set.
fn text_sentences(text: &str) -> Vec<String> {
    let body = text.split("**Sources**").next().unwrap_or("");
    let mut plain = String::with_capacity(body.len());
    let mut rest = body;
    // Markdown links keep their text, lose their target; citation markers go.
    while let Some(open) = rest.find('[') {
        plain.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else {
            plain.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let inner = &after[..close];
        let tail = &after[close + 1..];
        if inner
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == ' ')
        {
            rest = tail;
        } else if let Some(target) = tail.strip_prefix('(') {
            plain.push_str(inner);
            rest = target.find(')').map_or("", |end| &target[end + 1..]);
        } else {
            plain.push_str(inner);
            rest = tail;
        }
    }
    plain.push_str(rest);
    // A sentence ends at a full stop, `!` or `?` before whitespace (not inside "3.50"), or
    // at a line end.
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut chars = plain.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next_blank = chars.peek().is_none_or(|(_, n)| n.is_whitespace());
        if c == '\n' || (matches!(c, '.' | '!' | '?') && next_blank) {
            pieces.push(&plain[start..i]);
            start = i + c.len_utf8();
        }
    }
    pieces.push(&plain[start..]);
    let mut sentences: Vec<String> = pieces
        .into_iter()
        .map(normalise_string)
        .filter(|s| !s.is_empty())
        .collect();
    sentences.sort();
    sentences.dedup();
    sentences
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn basis(field: &str, url: &str) -> Value {
        json!({"field": field, "citations": [{"url": url, "excerpts": ["x"]}], "reasoning": "r", "confidence": "medium"})
    }

    fn output(price: Value, ceo: &str, url: &str) -> Value {
        json!({
            "type": "json",
            "content": {"price": price, "ceo": ceo, "products": ["a", "b"]},
            "basis": [basis("price", url), basis("ceo", url), basis("products", url), basis("products.0", url)],
        })
    }

    #[test]
    fn a_changed_field_is_reported_with_its_basis_only() {
        let before = output(json!(19.99), "Dana Reyes", "https://a.example");
        let after = output(json!(24.5), "Dana Reyes", "https://a.example");
        let change = snapshot_change(&before, &after).expect("the price changed");
        assert_eq!(change["type"], "json");
        assert_eq!(change["content"], json!({"price": 24.5}));
        assert_eq!(
            change["basis"],
            json!([basis("price", "https://a.example")])
        );
    }

    #[test]
    fn list_element_basis_follows_its_list() {
        let mut before = output(json!(1), "x", "u");
        before["content"]["products"] = json!(["a"]);
        let after = output(json!(1), "x", "u");
        let change = snapshot_change(&before, &after).unwrap();
        assert_eq!(change["content"], json!({"products": ["a", "b"]}));
        let fields: Vec<&str> = change["basis"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["products", "products.0"]);
    }

    #[test]
    fn rewording_whitespace_case_numbers_and_basis_are_no_change() {
        let before = output(json!("1,000"), "Dana  Reyes.", "https://a.example");
        let mut after = output(json!(1000.0), "dana reyes", "https://b.example");
        after["content"]["products"] = json!(["b", "a"]);
        after["basis"][0]["confidence"] = json!("high");
        assert_eq!(snapshot_change(&before, &after), None);
        // A missing field and a null one are alike.
        let mut with_null = after.clone();
        with_null["content"]["extra"] = Value::Null;
        assert_eq!(snapshot_change(&after, &with_null), None);
    }

    #[test]
    fn text_outputs_compare_their_sentences() {
        let before = json!({"type": "text", "content": "The canal reopens on 12 June. [1]\n\n**Sources**\n\n1. [A](https://a.example)", "basis": [basis("output", "https://a.example")]});
        let same = json!({"type": "text", "content": "the canal  reopens on 12 June [2]\n\n**Sources**\n\n1. [B](https://b.example)\n2. [A](https://a.example)", "basis": [basis("output", "https://b.example")]});
        assert_eq!(snapshot_change(&before, &same), None);
        let prices = json!({"type": "text", "content": "Tickets cost $3.50. The canal reopens on 12 June.", "basis": []});
        let prices_again = json!({"type": "text", "content": "The canal reopens on 12 June! Tickets cost 3.5", "basis": []});
        assert_eq!(snapshot_change(&prices, &prices_again), None);
        let changed = json!({"type": "text", "content": "The canal reopens on 19 June. [1]", "basis": [basis("output", "https://a.example")]});
        let change = snapshot_change(&before, &changed).unwrap();
        assert_eq!(change["content"], changed["content"]);
        assert_eq!(change["basis"], changed["basis"]);
    }

    #[test]
    fn a_change_of_type_or_a_missing_previous_output_is_all_new() {
        let current = output(json!(1), "x", "u");
        let change = snapshot_change(&Value::Null, &current).unwrap();
        assert_eq!(change["content"], current["content"]);
        let text = json!({"type": "text", "content": "Hello.", "basis": []});
        assert!(snapshot_change(&current, &text).is_some());
        assert_eq!(snapshot_change(&json!(7), &json!("garbage")), None);
        assert_eq!(snapshot_change(&Value::Null, &Value::Null), None);
    }
}
