//! JSON kept as the client wrote it.
//!
//! The input endpoint must give back what the client sent, field for field, with its key
//! order and number spelling (`1.0` stays `1.0`). So a request body is read as an ordered
//! list of `(key, raw text)` pairs, each value validated separately, and the stored document
//! is rebuilt from the raw texts with insignificant whitespace removed.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::fmt;

/// A JSON object as an ordered list of keys and raw values. A repeated key keeps its last
/// value, in the position of its first appearance, like most JSON parsers.
#[derive(Debug)]
pub struct RawObject(pub Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = RawObject;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject, A::Error> {
                let mut fields: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Box<RawValue>>()? {
                    match fields.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = value,
                        None => fields.push((key, value)),
                    }
                }
                Ok(RawObject(fields))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

impl RawObject {
    /// The raw value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| &**v)
    }
}

/// Removes whitespace outside strings from valid JSON text, leaving every token as written.
pub fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\n' | '\r' | '\t') {
            out.push(c);
        }
    }
    out
}

/// Writes `{"k":v,…}` from raw pairs, each value minified.
pub fn write_object<'a>(fields: impl IntoIterator<Item = (&'a str, &'a RawValue)>) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key).expect("a string always serialises"));
        out.push(':');
        out.push_str(&minify(value.get()));
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_number_spelling() {
        let obj: RawObject =
            serde_json::from_str(r#"{ "b": 1.0, "a" : {"x y": "p  q\"  r", "n": 1e2} }"#).unwrap();
        let doc = write_object(obj.0.iter().map(|(k, v)| (k.as_str(), &**v)));
        assert_eq!(doc, r#"{"b":1.0,"a":{"x y":"p  q\"  r","n":1e2}}"#);
    }

    #[test]
    fn repeated_key_keeps_last_value() {
        let obj: RawObject = serde_json::from_str(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(obj.0.len(), 2);
        assert_eq!(obj.get("a").unwrap().get(), "3");
    }

    #[test]
    fn refuses_non_objects() {
        assert!(serde_json::from_str::<RawObject>("[1]").is_err());
        assert!(serde_json::from_str::<RawObject>("\"x\"").is_err());
    }
}
