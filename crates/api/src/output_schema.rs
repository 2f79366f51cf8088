//! Parallel's rules for JSON output schemas and task spec sizes: what is refused (a 422 with
//! a pointer to each offending place) and what is accepted with a `spec_validation_warning`
//! on the run. Every endpoint that takes an output schema checks it here, through
//! [`check`] and [`check_sizes`], so the rules live in this file only.
//!
//! The rules are those of Parallel's Task Spec guide. Where the guide leaves the counting
//! open, this module decides, and the decisions are part of the API:
//!
//! - **A schema position** is a place where JSON Schema expects a schema: the root, each
//!   value of `properties`, `$defs`, `definitions` and `dependentSchemas`, `items` (a schema
//!   or a list of them), `prefixItems`, `additionalItems`, an `additionalProperties` that is
//!   an object, each branch of `anyOf`/`oneOf`/`allOf`, `not`, `if`, `then` and `else`.
//!   Keywords count only there: a property *named* `format` is a name, and the values of
//!   `enum`, `const`, `default` and `examples` are data, never walked.
//! - **Depth** counts the objects and arrays on the way from the root down to a schema, the
//!   root object being level 1: a root with scalar fields is 1 level deep, a root holding a
//!   list of objects is 3. A schema is an object or an array when its `type` is (or lists)
//!   `"object"`/`"array"`, or, without `type`, when it has `properties` or `items`. `anyOf`
//!   branches and `$ref`s add no level of their own; what they lead to does. A `$ref` back
//!   into a schema already on the way (a recursive schema) adds nothing more. Schemas under
//!   `$defs`/`definitions` count where they are referenced, not where they are written.
//!   At most [`MAX_DEPTH`] levels.
//! - **Properties** are the keys of every `properties` object in the schema, wherever it is
//!   (definitions included, each counted once where written): at most [`MAX_PROPERTIES`].
//! - **Enum values** are the members of every `enum` array, at most [`MAX_ENUM_VALUES`] in
//!   all; one `enum` of more than [`LARGE_ENUM_VALUES`] members may hold at most
//!   [`LARGE_ENUM_CHARS`] characters of strings.
//! - **Lengths** are counted in characters (Unicode scalar values), by [`json_chars`]: a
//!   string input is its text; anything else (the task spec, an object input) is its compact
//!   JSON, as `serde_json` writes it: no whitespace, keys in the client's order, non-ASCII
//!   characters as themselves, and only `"`, `\` and control characters escaped. So the
//!   whitespace and the escapes a client chose do not count. The task spec is the whole
//!   `task_spec` object; at most [`MAX_SPEC_CHARS`], and at most
//!   [`MAX_SPEC_AND_INPUT_CHARS`] with the input.
//!
//! Warnings name the field by its pointer into the run's request (`/task_spec/output_schema/
//! json_schema/properties/price`) and by its path (`price`, `items[].name`).

use crate::create::escape_pointer;
use crate::error::FieldError;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Most levels of objects and arrays, the root object being level 1.
pub const MAX_DEPTH: usize = 5;
/// Most properties in all `properties` objects together.
pub const MAX_PROPERTIES: usize = 100;
/// Most members of all `enum` arrays together.
pub const MAX_ENUM_VALUES: usize = 500;
/// Above this many members, an `enum` is large and its strings are limited.
pub const LARGE_ENUM_VALUES: usize = 250;
/// Most characters of strings in one large `enum`.
pub const LARGE_ENUM_CHARS: usize = 7_500;
/// Longest task spec, in characters (see [`json_chars`]).
pub const MAX_SPEC_CHARS: usize = 15_000;
/// Longest task spec and input together, in characters.
pub const MAX_SPEC_AND_INPUT_CHARS: usize = 25_000;

/// The JSON Schema keywords Parallel's output schemas do not support.
pub const UNSUPPORTED_KEYWORDS: [&str; 19] = [
    "contains",
    "format",
    "maxContains",
    "maxItems",
    "maxLength",
    "maxProperties",
    "maximum",
    "minContains",
    "minItems",
    "minLength",
    "minimum",
    "minProperties",
    "multipleOf",
    "pattern",
    "patternProperties",
    "propertyNames",
    "uniqueItems",
    "unevaluatedItems",
    "unevaluatedProperties",
];

/// The `type` of the warnings this module gives (the spec's `Warning.type`).
pub const WARNING_TYPE: &str = "spec_validation_warning";

/// What the rules found in one output schema; pointers are relative to the schema's root
/// (`""` is the root, `/properties/price` a field).
#[derive(Debug, Default)]
pub struct Findings {
    pub errors: Vec<FieldError>,
    pub warnings: Vec<SpecWarning>,
}

/// A rule the schema breaks without being refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecWarning {
    /// Pointer to the schema concerned, relative to the schema's root.
    pub pointer: String,
    /// The field's path (`price`, `company.ceo`, `products[].name`), `""` for the root.
    pub field: String,
    pub kind: WarningKind,
}

/// The two warnings of Parallel's guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningKind {
    /// A property missing from its object's `required` list.
    NotRequired,
    /// An object schema without `additionalProperties: false`.
    OpenObject,
}

impl SpecWarning {
    /// The `Warning` object of the spec, its pointer prefixed by `at` (the schema's own
    /// pointer in the run's request).
    pub fn to_json(&self, at: &str) -> Value {
        let pointer = format!("{at}{}", self.pointer);
        let message = match self.kind {
            WarningKind::NotRequired => format!(
                "Output field \"{}\" ({pointer}) is not listed in \"required\". Parallel's output schemas expect every field to be required; to let it be empty, keep it required and make its type nullable, such as [\"string\", \"null\"].",
                self.field
            ),
            WarningKind::OpenObject => format!(
                "The object {} ({pointer}) does not set \"additionalProperties\": false. Parallel's output schemas expect every object to; add it.",
                if self.field.is_empty() {
                    "at the root of the output schema".to_owned()
                } else {
                    format!("of output field \"{}\"", self.field)
                }
            ),
        };
        json!({
            "type": WARNING_TYPE,
            "message": message,
            "detail": {"pointer": pointer, "field": self.field},
        })
    }
}

/// Checks a JSON output schema (the value of `json_schema`) against Parallel's rules.
pub fn check(schema: &Value) -> Findings {
    let mut walk = Walk {
        root: schema,
        findings: Findings::default(),
        properties: 0,
        enum_values: 0,
        ref_depths: HashMap::new(),
    };
    let Some(map) = schema.as_object() else {
        walk.error("", "must be a JSON Schema object");
        return walk.findings;
    };
    if map.get("type") != Some(&Value::String("object".into())) {
        walk.error(
            "/type",
            "the root of an output schema must be an object schema (\"type\": \"object\"); put the answer in a property",
        );
    }
    if map.contains_key("anyOf") {
        walk.error(
            "/anyOf",
            "the root of an output schema cannot use anyOf; make the root an object and put the alternatives in one of its properties",
        );
    }
    if !map.get("properties").is_some_and(Value::is_object) {
        walk.error(
            "/properties",
            "the root of an output schema must list its fields in \"properties\" (an object)",
        );
    }
    walk.schema(schema, "", "", Position::Root, Some(0));
    walk.findings
}

/// Characters a value counts for the size limits: a string's text, anything else its
/// compact JSON (see the module documentation).
pub fn json_chars(value: &Value) -> usize {
    match value {
        Value::String(s) => s.chars().count(),
        other => other.to_string().chars().count(),
    }
}

/// Refuses a task spec of `spec_chars` characters over [`MAX_SPEC_CHARS`] (`spec_at` is its
/// pointer), and a spec and input together over [`MAX_SPEC_AND_INPUT_CHARS`] (`input_at`).
pub fn check_sizes(
    spec_chars: usize,
    spec_at: &str,
    input_chars: Option<usize>,
    input_at: &str,
    errors: &mut Vec<FieldError>,
) {
    if spec_chars > MAX_SPEC_CHARS {
        errors.push(FieldError::new(
            spec_at,
            format!(
                "the task spec is {spec_chars} characters long (as compact JSON); at most {MAX_SPEC_CHARS} are allowed. Shorten the descriptions or split the task"
            ),
        ));
    }
    if let Some(input_chars) = input_chars {
        let total = spec_chars + input_chars;
        if total > MAX_SPEC_AND_INPUT_CHARS {
            errors.push(FieldError::new(
                input_at,
                format!(
                    "the task spec ({spec_chars} characters) and the input ({input_chars} characters) are {total} characters together; at most {MAX_SPEC_AND_INPUT_CHARS} are allowed. Shorten the input or the task spec"
                ),
            ));
        }
    }
}

/// Where a schema stands, for the rules that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    Root,
    /// A branch of an `anyOf`: the one place besides a `type` list where `null` may stand.
    AnyOfBranch,
    Other,
}

struct Walk<'a> {
    root: &'a Value,
    findings: Findings,
    /// Properties and enum members counted so far, in walking order.
    properties: usize,
    enum_values: usize,
    /// How deep each `$ref` target reaches, once computed.
    ref_depths: HashMap<String, usize>,
}

impl Walk<'_> {
    fn error(&mut self, pointer: &str, reason: impl Into<String>) {
        self.findings
            .errors
            .push(FieldError::new(pointer.to_owned(), reason));
    }

    fn warn(&mut self, pointer: &str, field: &str, kind: WarningKind) {
        self.findings.warnings.push(SpecWarning {
            pointer: pointer.to_owned(),
            field: field.to_owned(),
            kind,
        });
    }

    /// Checks the schema at `at` (the field path `field`) and everything under it. `level` is
    /// the depth of the schema's parent, or `None` under definitions, whose depth counts
    /// where they are referenced.
    fn schema(
        &mut self,
        schema: &Value,
        at: &str,
        field: &str,
        position: Position,
        level: Option<usize>,
    ) {
        let Some(map) = schema.as_object() else {
            // `true`/`false` schemas and malformed values: nothing to check here (a value
            // that is no schema at all fails to compile, which the caller reports).
            return;
        };
        for key in map.keys() {
            if UNSUPPORTED_KEYWORDS.contains(&key.as_str()) {
                self.error(
                    &format!("{at}/{key}"),
                    format!(
                        "\"{key}\" is not supported in output schemas; state the constraint in the field's \"description\" instead"
                    ),
                );
            }
        }
        if position != Position::AnyOfBranch && is_null_only(map.get("type")) {
            self.error(
                &format!("{at}/type"),
                "a standalone \"null\" type is not allowed; null may only be one member of a type union such as [\"string\", \"null\"], or a branch of anyOf",
            );
        }
        let container = is_container(map);
        let level = level.map(|l| l + usize::from(container));
        if container && level == Some(MAX_DEPTH + 1) {
            self.error(
                at,
                format!(
                    "the output schema nests objects and arrays {} levels deep here; at most {MAX_DEPTH} are allowed (the root object is level 1). Flatten the schema",
                    MAX_DEPTH + 1
                ),
            );
        }
        if let (Some(level), Some(Value::String(reference))) = (level, map.get("$ref")) {
            let reached = level + self.ref_depth(reference, &mut Vec::new());
            if level <= MAX_DEPTH && reached > MAX_DEPTH {
                self.error(
                    &format!("{at}/$ref"),
                    format!(
                        "through this $ref the output schema nests objects and arrays {reached} levels deep; at most {MAX_DEPTH} are allowed (the root object is level 1). Flatten the schema"
                    ),
                );
            }
        }
        if is_object_schema(map) && map.get("additionalProperties") != Some(&Value::Bool(false)) {
            self.warn(at, field, WarningKind::OpenObject);
        }
        if let Some(Value::Array(members)) = map.get("enum") {
            self.count_enum(members, &format!("{at}/enum"));
        }
        if let Some(Value::Object(properties)) = map.get("properties") {
            let required: Vec<&str> = map
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for name in properties.keys() {
                self.properties += 1;
                let pointer = format!("{at}/properties/{}", escape_pointer(name));
                if self.properties == MAX_PROPERTIES + 1 {
                    self.error(
                        &pointer,
                        format!(
                            "the output schema has more than {MAX_PROPERTIES} properties in all (this is property {}); remove some, or split the task",
                            MAX_PROPERTIES + 1
                        ),
                    );
                }
                if !required.contains(&name.as_str()) {
                    self.warn(
                        &pointer,
                        &child_field(field, name),
                        WarningKind::NotRequired,
                    );
                }
            }
        }
        for child in children(map) {
            let pointer = format!("{at}{}", child.suffix);
            let path = match &child.name {
                ChildName::Property(name) => child_field(field, name),
                ChildName::Item => format!("{field}[]"),
                ChildName::Same => field.to_owned(),
            };
            let level = if child.definition { None } else { level };
            self.schema(child.schema, &pointer, &path, child.position, level);
        }
    }

    fn count_enum(&mut self, members: &[Value], at: &str) {
        let before = self.enum_values;
        self.enum_values += members.len();
        if before <= MAX_ENUM_VALUES && self.enum_values > MAX_ENUM_VALUES {
            self.error(
                at,
                format!(
                    "the output schema's enums have more than {MAX_ENUM_VALUES} values in all ({} so far); shorten them, or use a string field described in words",
                    self.enum_values
                ),
            );
        }
        if members.len() > LARGE_ENUM_VALUES {
            let chars: usize = members
                .iter()
                .filter_map(Value::as_str)
                .map(|s| s.chars().count())
                .sum();
            if chars > LARGE_ENUM_CHARS {
                self.error(
                    at,
                    format!(
                        "an enum of more than {LARGE_ENUM_VALUES} values may hold at most {LARGE_ENUM_CHARS} characters of strings; this one holds {chars}"
                    ),
                );
            }
        }
    }

    /// Levels of objects and arrays the target of `reference` reaches, counting 0 for a
    /// target already on `stack` (a recursive schema) and for one that does not resolve.
    fn ref_depth(&mut self, reference: &str, stack: &mut Vec<String>) -> usize {
        if let Some(depth) = self.ref_depths.get(reference) {
            return *depth;
        }
        if stack.iter().any(|r| r == reference) {
            return 0;
        }
        let Some(target) = resolve(self.root, reference) else {
            return 0;
        };
        stack.push(reference.to_owned());
        let depth = self.depth(target, stack);
        stack.pop();
        self.ref_depths.insert(reference.to_owned(), depth);
        depth
    }

    /// Levels of objects and arrays `schema` reaches, itself included.
    fn depth(&mut self, schema: &Value, stack: &mut Vec<String>) -> usize {
        let Some(map) = schema.as_object() else {
            return 0;
        };
        let mut below = match map.get("$ref") {
            Some(Value::String(reference)) => self.ref_depth(reference, stack),
            _ => 0,
        };
        for child in children(map) {
            if !child.definition {
                below = below.max(self.depth(child.schema, stack));
            }
        }
        usize::from(is_container(map)) + below
    }
}

/// How a child schema is named in a field path.
enum ChildName {
    /// A property: `parent.name`.
    Property(String),
    /// An array's items: `parent[]`.
    Item,
    /// Another view of the same value (a branch, a definition): the parent's path.
    Same,
}

/// A schema position under another schema.
struct Child<'a> {
    schema: &'a Value,
    /// Pointer from the parent.
    suffix: String,
    name: ChildName,
    position: Position,
    /// Under `$defs`/`definitions`: counted where referenced.
    definition: bool,
}

/// Every schema position directly under `map`, in a fixed order (see the module
/// documentation for the list). This is the one place that knows where schemas stand.
fn children(map: &Map<String, Value>) -> Vec<Child<'_>> {
    let mut out = Vec::new();
    for (key, property_like, definition) in [
        ("properties", true, false),
        ("dependentSchemas", false, false),
        ("$defs", false, true),
        ("definitions", false, true),
    ] {
        if let Some(Value::Object(entries)) = map.get(key) {
            for (name, schema) in entries {
                out.push(Child {
                    schema,
                    suffix: format!("/{key}/{}", escape_pointer(name)),
                    name: if property_like {
                        ChildName::Property(name.clone())
                    } else {
                        ChildName::Same
                    },
                    position: Position::Other,
                    definition,
                });
            }
        }
    }
    for key in ["items", "prefixItems"] {
        match map.get(key) {
            Some(schema @ Value::Object(_)) => out.push(Child {
                schema,
                suffix: format!("/{key}"),
                name: ChildName::Item,
                position: Position::Other,
                definition: false,
            }),
            Some(Value::Array(list)) => {
                for (i, schema) in list.iter().enumerate() {
                    out.push(Child {
                        schema,
                        suffix: format!("/{key}/{i}"),
                        name: ChildName::Item,
                        position: Position::Other,
                        definition: false,
                    });
                }
            }
            _ => {}
        }
    }
    for (key, name) in [
        ("additionalItems", ChildName::Item),
        ("additionalProperties", ChildName::Property("*".into())),
        ("not", ChildName::Same),
        ("if", ChildName::Same),
        ("then", ChildName::Same),
        ("else", ChildName::Same),
    ] {
        if let Some(schema @ Value::Object(_)) = map.get(key) {
            out.push(Child {
                schema,
                suffix: format!("/{key}"),
                name,
                position: Position::Other,
                definition: false,
            });
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(branches)) = map.get(key) {
            for (i, schema) in branches.iter().enumerate() {
                out.push(Child {
                    schema,
                    suffix: format!("/{key}/{i}"),
                    name: ChildName::Same,
                    position: if key == "anyOf" {
                        Position::AnyOfBranch
                    } else {
                        Position::Other
                    },
                    definition: false,
                });
            }
        }
    }
    out
}

/// The path of property `name` under the field `parent`.
fn child_field(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// Whether a `type` is `"null"` alone.
fn is_null_only(declared: Option<&Value>) -> bool {
    match declared {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(types)) => !types.is_empty() && types.iter().all(|t| t == "null"),
        _ => false,
    }
}

/// Whether a `type` is, or lists, `name`.
fn declares(map: &Map<String, Value>, name: &str) -> bool {
    match map.get("type") {
        Some(Value::String(t)) => t == name,
        Some(Value::Array(types)) => types.iter().any(|t| t == name),
        _ => false,
    }
}

/// An object schema: typed `object`, or untyped with `properties`.
fn is_object_schema(map: &Map<String, Value>) -> bool {
    declares(map, "object") || (!map.contains_key("type") && map.contains_key("properties"))
}

/// An object or array schema: one level of nesting.
fn is_container(map: &Map<String, Value>) -> bool {
    is_object_schema(map)
        || declares(map, "array")
        || (!map.contains_key("type") && map.contains_key("items"))
}

/// The schema a local `$ref` (`#`, `#/$defs/name`, …) names in `root`.
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pointers of the errors `schema` gets.
    fn errors(schema: Value) -> Vec<String> {
        check(&schema)
            .errors
            .into_iter()
            .map(|e| e.pointer)
            .collect()
    }

    /// A compliant root schema with these properties, all required.
    fn root(properties: Value) -> Value {
        let required: Vec<String> = properties.as_object().unwrap().keys().cloned().collect();
        json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
    }

    /// A compliant object schema holding `inner` as its one property `p`.
    fn object_around(inner: Value) -> Value {
        json!({"type": "object", "properties": {"p": inner}, "required": ["p"], "additionalProperties": false})
    }

    #[test]
    fn a_compliant_schema_has_no_findings() {
        let schema = root(json!({
            "name": {"type": "string", "description": "Name; if unknown, return null"},
            "price": {"type": ["number", "null"]},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
            "ceo": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "hq": object_around(json!({"type": "string"})),
        }));
        let findings = check(&schema);
        assert!(findings.errors.is_empty(), "{:?}", findings.errors);
        assert!(findings.warnings.is_empty(), "{:?}", findings.warnings);
    }

    #[test]
    fn the_root_must_be_an_object_with_properties_and_no_any_of() {
        assert_eq!(
            errors(json!({"type": "array", "items": {"type": "string"}})),
            ["/type", "/properties"]
        );
        assert_eq!(errors(json!({"type": "object"})), ["/properties"]);
        assert_eq!(
            errors(json!({"type": "object", "properties": []})),
            ["/properties"]
        );
        assert_eq!(
            errors(json!({"type": "object", "properties": {}, "anyOf": [{"required": ["a"]}]})),
            ["/anyOf"]
        );
        assert_eq!(errors(json!("object")), [""]);
        // Empty properties are properties: a run may ask for no field at all.
        assert!(errors(json!({"type": "object", "properties": {}})).is_empty());
    }

    #[test]
    fn null_stands_only_in_a_union_or_an_any_of_branch() {
        assert_eq!(
            errors(root(
                json!({"a": {"type": "null"}, "b": {"type": ["null"]}})
            )),
            ["/properties/a/type", "/properties/b/type"]
        );
        assert_eq!(
            errors(root(
                json!({"a": {"oneOf": [{"type": "string"}, {"type": "null"}]}})
            )),
            ["/properties/a/oneOf/1/type"]
        );
        assert_eq!(
            errors(root(
                json!({"a": {"type": "array", "items": {"type": "null"}}})
            )),
            ["/properties/a/items/type"]
        );
        assert!(errors(root(json!({
            "a": {"type": ["string", "null"]},
            "b": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        })))
        .is_empty());
    }

    #[test]
    fn every_unsupported_keyword_is_refused_where_it_stands() {
        for keyword in UNSUPPORTED_KEYWORDS {
            let schema = root(json!({"price": {"type": "number", keyword: 1}}));
            assert_eq!(
                errors(schema),
                [format!("/properties/price/{keyword}")],
                "{keyword}"
            );
        }
    }

    #[test]
    fn keywords_count_only_where_a_schema_is_expected() {
        // Properties and definitions named like keywords, and keyword-like keys in data.
        let schema = json!({
            "type": "object",
            "properties": {
                "format": {"type": "string", "description": "The file format"},
                "pattern": {"type": "string", "default": {"pattern": "x"}, "examples": [{"minimum": 1}]},
                "minimum": {"type": "object", "properties": {"maximum": {"type": "number"}}, "required": ["maximum"], "additionalProperties": false},
                "choice": {"type": "string", "enum": ["format", "minLength"]},
                "fixed": {"const": {"maxItems": 3}},
                "uses": {"$ref": "#/$defs/minItems"},
            },
            "required": ["format", "pattern", "minimum", "choice", "fixed", "uses"],
            "additionalProperties": false,
            "$defs": {"minItems": {"type": "string"}},
        });
        assert!(errors(schema).is_empty());
        // And every place that holds a schema is walked.
        let schema = json!({
            "type": "object",
            "properties": {
                "list": {"type": "array", "items": {"type": "string", "maxLength": 5}},
                "tuple": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer", "minimum": 0}]},
                "either": {"anyOf": [{"type": "string", "pattern": "^a"}, {"type": "null"}]},
                "all": {"allOf": [{"type": "string", "format": "date"}]},
                "map": {"type": "object", "additionalProperties": {"type": "number", "multipleOf": 2}},
                "not": {"not": {"type": "string", "minLength": 1}},
                "cond": {"if": {"minProperties": 1}, "then": {"maxProperties": 2}, "else": {"type": "string"}},
                "ref": {"$ref": "#/definitions/d"},
            },
            "$defs": {"money": {"type": "number", "exclusiveMinimum": 0, "maximum": 10}},
            "definitions": {"d": {"type": "array", "items": {"type": "string"}, "uniqueItems": true}},
        });
        assert_eq!(
            errors(schema),
            [
                "/properties/list/items/maxLength",
                "/properties/tuple/prefixItems/1/minimum",
                "/properties/either/anyOf/0/pattern",
                "/properties/all/allOf/0/format",
                "/properties/map/additionalProperties/multipleOf",
                "/properties/not/not/minLength",
                "/properties/cond/if/minProperties",
                "/properties/cond/then/maxProperties",
                "/$defs/money/maximum",
                "/definitions/d/uniqueItems",
            ]
        );
    }

    /// A schema `levels` levels deep: the root, then objects nested in property `p`.
    fn nested_objects(levels: usize) -> Value {
        let mut schema = json!({"type": "string"});
        for _ in 0..levels {
            schema = object_around(schema);
        }
        schema
    }

    #[test]
    fn at_most_five_levels_of_objects_and_arrays() {
        assert!(errors(nested_objects(5)).is_empty());
        assert_eq!(
            errors(nested_objects(6)),
            ["/properties/p/properties/p/properties/p/properties/p/properties/p"]
        );
        // A seventh level is under the sixth: reported once, where the limit is crossed.
        assert_eq!(errors(nested_objects(7)).len(), 1);
        // Arrays are levels too: root (1) > list (2) > object (3) > list (4) > object (5).
        let item = json!({"type": "array", "items": object_around(json!({"type": "string"}))});
        let five = root(json!({"list": {"type": "array", "items": object_around(item.clone())}}));
        assert!(errors(five).is_empty());
        let six =
            root(json!({"list": {"type": "array", "items": object_around(object_around(item))}}));
        assert_eq!(
            errors(six),
            ["/properties/list/items/properties/p/properties/p/items"]
        );
        // anyOf adds no level; an untyped schema with properties or items is one.
        let untyped = root(
            json!({"a": {"anyOf": [{"properties": {"b": {"items": {"items": {"items": {"items": {"type": "string"}}}}}}}, {"type": "null"}]}}),
        );
        assert_eq!(
            errors(untyped),
            ["/properties/a/anyOf/0/properties/b/items/items/items"]
        );
    }

    #[test]
    fn depth_counts_definitions_where_they_are_used() {
        let deep = nested_objects(4);
        // Written under $defs the definition is 4 deep; used at level 2 it reaches 5.
        let ok = json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/deep"}}, "$defs": {"deep": deep}});
        assert!(errors(ok).is_empty());
        let too_deep = json!({"type": "object", "properties": {"a": object_around(json!({"$ref": "#/$defs/deep"}))}, "$defs": {"deep": deep}});
        assert_eq!(errors(too_deep), ["/properties/a/properties/p/$ref"]);
        // A recursive schema is not followed forever.
        let recursive = root(json!({"node": {"$ref": "#/$defs/node"}}));
        let mut recursive = recursive;
        recursive["$defs"] = json!({"node": {"type": "object", "properties": {"child": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}}, "required": ["child"], "additionalProperties": false}});
        assert!(errors(recursive).is_empty());
        let whole = json!({"type": "object", "properties": {"again": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}}});
        assert!(errors(whole).is_empty());
    }

    #[test]
    fn at_most_one_hundred_properties_in_all() {
        let fields = |n: usize| -> Map<String, Value> {
            (0..n)
                .map(|i| (format!("f{i}"), json!({"type": "string"})))
                .collect()
        };
        // 60 at the root and 40 in a nested object: 100 with the nested object's own name
        // makes 101, so the root has 59.
        let schema = |root_fields: usize, nested: usize| {
            let mut properties = fields(root_fields);
            properties.insert(
                "nested".into(),
                json!({"type": "object", "properties": fields(nested)}),
            );
            json!({"type": "object", "properties": properties})
        };
        assert!(errors(schema(59, 40)).is_empty());
        assert_eq!(
            errors(schema(59, 41)),
            ["/properties/nested/properties/f40"]
        );
        assert_eq!(
            errors(schema(60, 40)),
            ["/properties/nested/properties/f39"]
        );
    }

    #[test]
    fn at_most_five_hundred_enum_values_in_all() {
        let members = |n: usize| -> Vec<String> { (0..n).map(|i| format!("v{i}")).collect() };
        let schema = |a: usize, b: usize| {
            root(json!({
                "a": {"type": "string", "enum": members(a)},
                "b": {"type": "array", "items": {"type": "string", "enum": members(b)}},
            }))
        };
        assert!(errors(schema(250, 250)).is_empty());
        assert_eq!(errors(schema(250, 251)), ["/properties/b/items/enum"]);
        assert_eq!(errors(schema(501, 0)), ["/properties/a/enum"]);
    }

    #[test]
    fn a_large_enum_holds_at_most_7500_characters() {
        // 300 members of 25 characters: 7,500 is allowed, one more is not.
        let members: Vec<String> = (0..300).map(|i| format!("{i:0>25}")).collect();
        assert!(errors(root(
            json!({"a": {"type": "string", "enum": members.clone()}})
        ))
        .is_empty());
        let mut longer = members;
        longer[0].push('x');
        assert_eq!(
            errors(root(json!({"a": {"type": "string", "enum": longer}}))),
            ["/properties/a/enum"]
        );
        // 250 members are not a large enum, whatever their length.
        let long: Vec<String> = (0..250).map(|i| format!("{i:0>100}")).collect();
        assert!(errors(root(json!({"a": {"type": "string", "enum": long}}))).is_empty());
    }

    #[test]
    fn every_failure_is_collected() {
        let schema = json!({
            "type": "object",
            "anyOf": [],
            "properties": {
                "a": {"type": "null"},
                "b": {"type": "string", "format": "email", "maxLength": 3},
            },
        });
        assert_eq!(
            errors(schema),
            [
                "/anyOf",
                "/properties/a/type",
                "/properties/b/format",
                "/properties/b/maxLength"
            ]
        );
    }

    #[test]
    fn warnings_name_each_field_not_required_and_each_open_object() {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "price": {"type": "number"},
                "hq": {"type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": false},
                "products": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]}},
            },
            "required": ["name", "hq", "products"],
        });
        let findings = check(&schema);
        assert!(findings.errors.is_empty());
        let got: Vec<(&str, &str, WarningKind)> = findings
            .warnings
            .iter()
            .map(|w| (w.pointer.as_str(), w.field.as_str(), w.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("", "", WarningKind::OpenObject),
                ("/properties/price", "price", WarningKind::NotRequired),
                (
                    "/properties/hq/properties/city",
                    "hq.city",
                    WarningKind::NotRequired
                ),
                (
                    "/properties/products/items",
                    "products[]",
                    WarningKind::OpenObject
                ),
            ]
        );
        let price = findings.warnings[1].to_json("/task_spec/output_schema/json_schema");
        assert_eq!(price["type"], "spec_validation_warning");
        assert_eq!(
            price["detail"],
            json!({"pointer": "/task_spec/output_schema/json_schema/properties/price", "field": "price"})
        );
        let message = price["message"].as_str().unwrap();
        assert!(
            message.contains("\"price\"") && message.contains("required"),
            "{message}"
        );
        let open = findings.warnings[3].to_json("/task_spec/output_schema/json_schema");
        assert!(
            open["message"].as_str().unwrap().contains("products[]"),
            "{open}"
        );
    }

    #[test]
    fn lengths_count_characters_of_compact_json() {
        assert_eq!(json_chars(&json!("héllo")), 5);
        assert_eq!(json_chars(&json!({"a": [1, 2]})), r#"{"a":[1,2]}"#.len());
        // A string inside JSON counts with its quotes and the escapes JSON needs.
        assert_eq!(
            json_chars(&json!({"q": "a\"b\n"})),
            r#"{"q":"a\"b\n"}"#.len()
        );
        // The client's escapes do not count: "\u00e9" is read as é, one character.
        let parsed: Value = serde_json::from_str(r#"{"d":"\u00e9"}"#).unwrap();
        assert_eq!(json_chars(&parsed), r#"{"d":"é"}"#.chars().count());
        let mut errors = Vec::new();
        check_sizes(
            MAX_SPEC_CHARS,
            "/task_spec",
            Some(10_000),
            "/input",
            &mut errors,
        );
        assert!(errors.is_empty());
        check_sizes(
            MAX_SPEC_CHARS + 1,
            "/task_spec",
            Some(9_999),
            "/input",
            &mut errors,
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].pointer, "/task_spec");
        check_sizes(100, "/task_spec", Some(24_901), "/input", &mut errors);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[1].pointer, "/input");
    }
}
