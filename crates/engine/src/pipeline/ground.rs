//! Whether a value is stated by the passages an answer cites: the check that keeps an LLM's
//! answer from carrying a value no source read in the run gives.
//!
//! A model writes "12,400" as `12400`, "$3.2 billion" as `3.2` in a field in billions, and
//! "5 March 2011" as `2011-03-05`, so the check compares values as values: numbers read
//! from the passages (with their scale words) against the number, dates read from them
//! against the date, and strings as case-folded text with whitespace collapsed. Booleans
//! and enum members are judgements rather than quotations and are not checked.

use crate::extract::markdown::collapse_whitespace;
use crate::typed::{find_all, FieldType};
use serde_json::Value;

/// Relative tolerance when comparing a number with the numbers the passages state.
const NUMBER_TOLERANCE: f64 = 0.005;

/// Whether `value` (of a field of type `field_type`) is stated in one of `texts`. For a
/// list, whether each element is; see [`stated_elements`] to keep those that are.
pub fn is_stated(value: &Value, field_type: &FieldType, texts: &[&str]) -> bool {
    match (value, field_type) {
        (Value::Null, _) => true,
        (Value::Bool(_), _) | (_, FieldType::Boolean | FieldType::Enum(_)) => true,
        (Value::Array(items), FieldType::Array(item)) => {
            items.iter().all(|v| is_stated(v, item, texts))
        }
        (Value::Number(n), _) => n.as_f64().is_some_and(|n| number_stated(n, texts)),
        (Value::String(s), FieldType::Date | FieldType::Month) => {
            let kind = if s.len() == 7 {
                FieldType::Month
            } else {
                FieldType::Date
            };
            texts
                .iter()
                .any(|t| find_all(&kind, t).iter().any(|v| v.as_str() == Some(s)))
                || text_stated(s, texts)
        }
        (Value::String(s), _) => text_stated(s, texts),
        // Objects and other shapes are not quotations of one passage.
        _ => true,
    }
}

/// The elements of a list that the passages state.
pub fn stated_elements(items: &[Value], item: &FieldType, texts: &[&str]) -> Vec<Value> {
    items
        .iter()
        .filter(|v| is_stated(v, item, texts))
        .cloned()
        .collect()
}

fn normalise(s: &str) -> String {
    collapse_whitespace(s).to_lowercase()
}

fn text_stated(s: &str, texts: &[&str]) -> bool {
    let wanted = normalise(s);
    !wanted.is_empty() && texts.iter().any(|t| normalise(t).contains(&wanted))
}

/// A number is stated when a passage gives it, or gives it at a scale a field's unit
/// removes ("$3.2 billion" for a field in billions is 3.2).
fn number_stated(n: f64, texts: &[&str]) -> bool {
    const SCALES: [f64; 4] = [1.0, 1e3, 1e6, 1e9];
    let close = |a: f64, b: f64| (a - b).abs() <= NUMBER_TOLERANCE * a.abs().max(b.abs());
    texts.iter().any(|t| {
        find_all(&FieldType::Number, t)
            .iter()
            .filter_map(Value::as_f64)
            .any(|stated| {
                SCALES
                    .iter()
                    .any(|s| close(stated, n * s) || close(stated / s, n))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PASSAGES: [&str; 2] = [
        "Harrow Kettleworks was founded on 3 May 1911 in Brastmoor. It employs 12,400 people.",
        "Revenue reached $3.2 billion in 2023. Products: Copperline, Tinbell.",
    ];

    #[test]
    fn values_the_passages_state() {
        let t = &PASSAGES;
        assert!(is_stated(&json!(12400), &FieldType::Integer, t));
        assert!(is_stated(&json!(3.2), &FieldType::Number, t), "billions");
        assert!(is_stated(&json!(3_200_000_000i64), &FieldType::Number, t));
        assert!(is_stated(&json!("1911-05-03"), &FieldType::Date, t));
        assert!(is_stated(&json!("1911-05"), &FieldType::Month, t));
        assert!(is_stated(&json!("brastmoor"), &FieldType::String, t));
        assert!(is_stated(&json!(true), &FieldType::Boolean, t));
    }

    #[test]
    fn values_no_passage_states() {
        let t = &PASSAGES;
        assert!(!is_stated(&json!(15000), &FieldType::Integer, t));
        assert!(!is_stated(&json!("1912-05-03"), &FieldType::Date, t));
        assert!(!is_stated(&json!("Edda Harrow"), &FieldType::String, t));
        let list = FieldType::Array(Box::new(FieldType::String));
        let items = [json!("Copperline"), json!("Silverpan")];
        assert!(!is_stated(&json!(items), &list, t));
        assert_eq!(
            stated_elements(&items, &FieldType::String, t),
            [json!("Copperline")]
        );
    }
}
