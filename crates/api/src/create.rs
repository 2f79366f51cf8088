//! `POST /v1/tasks/runs`: parsing, validation and the document the input endpoint returns.
//!
//! The body is read once as an ordered list of raw fields ([`RawObject`]). Each known field
//! is validated on its own, and every failure is collected with a JSON pointer, so a client
//! learns all that is wrong in one answer. What the client sent is kept as text
//! ([`NewRun::input_doc`]): `GET …/input` returns those bytes and nothing else, so a
//! bare-string schema comes back as a string and a field never sent never appears.
//!
//! Whether a processor name exists is the engine's table, so the caller passes it in.

use crate::error::{ApiError, FieldError};
use crate::output_schema;
use crate::raw::{self, RawObject};
use crate::source_policy;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Fields of `TaskRunInput` (spec) and `RunInput` (SDK) that Parallax stores and echoes.
/// Anything else in a body is ignored, as the hosted API ignores unknown fields.
pub const KNOWN_FIELDS: [&str; 11] = [
    "processor",
    "input",
    "metadata",
    "source_policy",
    "task_spec",
    "previous_interaction_id",
    "webhook",
    "mcp_servers",
    "enable_events",
    "advanced_settings",
    "memory_scope_key",
];

/// Longest metadata key, in characters.
pub const METADATA_KEY_MAX: usize = 16;
/// Longest metadata string value, in characters.
pub const METADATA_VALUE_MAX: usize = 512;

/// A validated create request, ready to commit.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub processor: String,
    /// The known fields as sent, in the client's order, minified: the `/input` answer.
    pub input_doc: String,
    /// The metadata object as sent, when it was sent and not null.
    pub metadata: Option<Box<RawValue>>,
    /// `enable_events` as sent (`None` when absent or null: the processor's default applies).
    pub enable_events: Option<bool>,
    pub previous_interaction_id: Option<String>,
    /// Where `task_run.status` deliveries go (`webhook.url`), when a webhook was given.
    pub webhook_url: Option<String>,
    /// `Warning` objects the run carries from its creation on (the output schema's
    /// `spec_validation_warning`s).
    pub warnings: Vec<Value>,
    /// Whether `mcp_servers` names at least one server (they are used only under the
    /// `mcp-server-2025-07-17` beta: [`crate::beta`]).
    pub has_mcp_servers: bool,
}

/// Parses and validates a create-run body.
///
/// Order of refusals follows the hosted API: a body that does not parse or validate is 422
/// before an unknown processor is 403.
pub fn parse_create_run(
    body: &[u8],
    is_known_processor: impl Fn(&str) -> bool,
) -> Result<NewRun, ApiError> {
    let object: RawObject = parse_body(body)?;
    run_from_object(&object, SpecSource::Own, is_known_processor)
        .map_err(|refusal| refusal.into_error(""))
}

/// Where a run object's task spec comes from.
#[derive(Debug, Clone, Copy)]
pub enum SpecSource<'a> {
    /// Its own `task_spec` field (none when absent or null).
    Own,
    /// A task group's `default_task_spec`, already checked and copied into the object's
    /// `task_spec`; `None` when it was refused (its errors are reported once, at its own
    /// pointer, not once per input).
    Default(Option<&'a CheckedSpec>),
}

/// Why a run request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Fields that failed validation, with pointers relative to the run object.
    Invalid(Vec<FieldError>),
    /// Every field was valid but the processor does not exist (a 403, not a 422).
    UnknownProcessor(String),
}

impl Refusal {
    /// The error answer, with every pointer prefixed by `at` (the run object's own pointer
    /// inside a larger body, `""` for a body that is the run).
    pub fn into_error(self, at: &str) -> ApiError {
        match self {
            Refusal::Invalid(errors) => ApiError::validation(
                errors
                    .into_iter()
                    .map(|e| FieldError::new(format!("{at}{}", e.pointer), e.reason))
                    .collect(),
            ),
            Refusal::UnknownProcessor(name) => {
                ApiError::invalid_processor_at(&format!("{at}/processor"), &name)
            }
        }
    }
}

/// Validates one run object (a create body, or one input of a task group's add request).
pub fn run_from_object(
    object: &RawObject,
    spec_source: SpecSource<'_>,
    is_known_processor: impl Fn(&str) -> bool,
) -> Result<NewRun, Refusal> {
    let mut errors = Vec::new();
    let mut parsed: Vec<(&str, Value)> = Vec::new();
    for name in KNOWN_FIELDS {
        if let Some(raw) = object.get(name) {
            match serde_json::from_str::<Value>(raw.get()) {
                Ok(value) => parsed.push((name, value)),
                Err(e) => errors.push(FieldError::new(format!("/{name}"), e.to_string())),
            }
        }
    }
    let get = |name: &str| parsed.iter().find(|(n, _)| *n == name).map(|(_, v)| v);

    let processor = match get("processor") {
        Some(Value::String(p)) if !p.is_empty() => Some(p.clone()),
        Some(Value::String(_)) => {
            errors.push(FieldError::new("/processor", "must not be empty"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new("/processor", "must be a string"));
            None
        }
        None => {
            errors.push(FieldError::new("/processor", "is required"));
            None
        }
    };
    let input = get("input");
    match input {
        Some(Value::String(_)) | Some(Value::Object(_)) => {}
        Some(_) => errors.push(FieldError::new(
            "/input",
            "must be a string or a JSON object",
        )),
        None => errors.push(FieldError::new("/input", "is required")),
    }
    if let Some(metadata) = get("metadata") {
        check_metadata(metadata, &mut errors);
    }
    if let Some(policy) = get("source_policy") {
        source_policy::validate(policy, "/source_policy", &mut errors);
    }
    let own_spec;
    let spec = match spec_source {
        SpecSource::Own => {
            own_spec = match get("task_spec") {
                Some(spec) => check_task_spec(spec, "/task_spec", &mut errors),
                None => Some(CheckedSpec::default()),
            };
            own_spec.as_ref()
        }
        SpecSource::Default(spec) => spec,
    };
    if let (Some(spec), Some(input)) = (spec, input) {
        spec.check_input(input, &mut errors);
    }
    let previous_interaction_id = match get("previous_interaction_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => {
            errors.push(FieldError::new(
                "/previous_interaction_id",
                "must be a string or null",
            ));
            None
        }
    };
    let enable_events = match get("enable_events") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(FieldError::new(
                "/enable_events",
                "must be a boolean or null",
            ));
            None
        }
    };
    let mut webhook_url = None;
    if let Some(webhook) = get("webhook") {
        check_webhook(webhook, &mut errors);
        // `task_run.status` is the only event type, so any webhook subscribes to it.
        webhook_url = webhook
            .get("url")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    if let Some(servers) = get("mcp_servers") {
        check_mcp_servers(servers, &mut errors);
    }
    if let Some(settings) = get("advanced_settings") {
        check_advanced_settings(settings, &mut errors);
    }
    match get("memory_scope_key") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(_) => errors.push(FieldError::new(
            "/memory_scope_key",
            "must be a string or null",
        )),
    }

    if !errors.is_empty() {
        return Err(Refusal::Invalid(errors));
    }
    let processor = processor.expect("a missing processor is an error above");
    if !is_known_processor(&processor) {
        return Err(Refusal::UnknownProcessor(processor));
    }
    let metadata = match object.get("metadata") {
        Some(raw) if raw.get().trim() != "null" => {
            Some(RawValue::from_string(raw::minify(raw.get())).expect("minified JSON stays valid"))
        }
        _ => None,
    };
    let input_doc = raw::write_object(
        object
            .0
            .iter()
            .filter(|(k, _)| KNOWN_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), &**v)),
    );
    Ok(NewRun {
        processor,
        input_doc,
        metadata,
        enable_events,
        previous_interaction_id,
        webhook_url,
        warnings: spec.map(|s| s.warnings.clone()).unwrap_or_default(),
        has_mcp_servers: get("mcp_servers")
            .and_then(Value::as_array)
            .is_some_and(|servers| !servers.is_empty()),
    })
}

/// Reads a body as a JSON object, or answers 422 saying where it stopped making sense.
pub fn parse_body(body: &[u8]) -> Result<RawObject, ApiError> {
    serde_json::from_slice::<RawObject>(body).map_err(|e| {
        let reason = if e.is_data() {
            "the body must be a JSON object".to_string()
        } else {
            format!("the body is not valid JSON: {e}")
        };
        ApiError::validation(vec![FieldError::new("", reason)])
    })
}

/// Most levels of arrays and objects in one field of a request (the field's own value being
/// level 1). Each field is read on its own, within serde_json's limit of 128 levels, but a
/// stored [`crate::monitor::MonitorConfig`] holds it up to two levels further down (`settings` →
/// `output_schema` of a v1alpha create) and is read back whole within the same limit: a
/// field at that limit made a monitor whose configuration could not be read again.
pub const FIELD_DEPTH_MAX: usize = 64;

/// Levels of arrays and objects in a value: 0 for a scalar.
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Fields of a body, parsed one by one so that each bad one is named (and none nests deeper
/// than [`FIELD_DEPTH_MAX`]).
pub(crate) fn body_fields(
    body: &[u8],
    errors: &mut Vec<FieldError>,
) -> Result<Map<String, Value>, ApiError> {
    let object = parse_body(body)?;
    let mut fields = Map::new();
    for (key, raw) in &object.0 {
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(v) if depth(&v) > FIELD_DEPTH_MAX => errors.push(FieldError::new(
                format!("/{}", escape_pointer(key)),
                format!("nests arrays and objects more than {FIELD_DEPTH_MAX} levels deep"),
            )),
            Ok(v) => {
                fields.insert(key.clone(), v);
            }
            Err(e) => errors.push(FieldError::new(
                format!("/{}", escape_pointer(key)),
                e.to_string(),
            )),
        }
    }
    Ok(fields)
}

pub(crate) fn check_metadata(value: &Value, errors: &mut Vec<FieldError>) {
    check_metadata_values(value, false, errors);
}

/// Checks a `metadata` object: keys of at most [`METADATA_KEY_MAX`] characters, string values
/// of at most [`METADATA_VALUE_MAX`]; numbers and booleans too unless `strings_only` (the
/// monitors' metadata is `Dict[str, str]`).
pub(crate) fn check_metadata_values(
    value: &Value,
    strings_only: bool,
    errors: &mut Vec<FieldError>,
) {
    let Some(map) = value.as_object() else {
        if !value.is_null() {
            errors.push(FieldError::new("/metadata", "must be an object or null"));
        }
        return;
    };
    for (key, v) in map {
        let at = format!("/metadata/{}", escape_pointer(key));
        if key.chars().count() > METADATA_KEY_MAX {
            errors.push(FieldError::new(
                at.clone(),
                format!("metadata keys are at most {METADATA_KEY_MAX} characters"),
            ));
        }
        match v {
            Value::String(s) if s.chars().count() > METADATA_VALUE_MAX => {
                errors.push(FieldError::new(
                    at,
                    format!("metadata string values are at most {METADATA_VALUE_MAX} characters"),
                ))
            }
            Value::String(_) => {}
            Value::Number(_) | Value::Bool(_) if !strings_only => {}
            _ if strings_only => {
                errors.push(FieldError::new(at, "metadata values must be strings"))
            }
            _ => errors.push(FieldError::new(
                at,
                "metadata values must be strings, numbers or booleans",
            )),
        }
    }
}

/// Reads a `webhook` object (`url`, optional `event_types` from `allowed`): its URL and the
/// event types it names (`None` when it names none), or `None` with the reasons in `errors`.
pub(crate) fn webhook_parts(
    value: &Value,
    allowed: &[&str],
    errors: &mut Vec<FieldError>,
) -> Option<(String, Option<Vec<String>>)> {
    let map = match value {
        Value::Null => return None,
        Value::Object(map) => map,
        _ => {
            errors.push(FieldError::new("/webhook", "must be an object or null"));
            return None;
        }
    };
    let url = match map.get("url") {
        Some(Value::String(url)) if is_http_url(url) => Some(url.clone()),
        Some(_) => {
            errors.push(FieldError::new(
                "/webhook/url",
                "must be an http or https URL",
            ));
            None
        }
        None => {
            errors.push(FieldError::new("/webhook/url", "is required"));
            None
        }
    };
    let event_types = match map.get("event_types") {
        None | Some(Value::Null) => None,
        Some(Value::Array(types)) => {
            let mut out: Vec<String> = Vec::new();
            for (i, t) in types.iter().enumerate() {
                match t.as_str() {
                    Some(t) if allowed.contains(&t) => {
                        if !out.iter().any(|o| o == t) {
                            out.push(t.to_owned());
                        }
                    }
                    _ => errors.push(FieldError::new(
                        format!("/webhook/event_types/{i}"),
                        format!("must be one of {}", allowed.join(", ")),
                    )),
                }
            }
            Some(out)
        }
        Some(_) => {
            errors.push(FieldError::new("/webhook/event_types", "must be an array"));
            None
        }
    };
    url.map(|url| (url, event_types))
}

/// Which form of schema a task spec entry takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaForm {
    Json,
    Text,
    Auto,
    /// A bare string: a text schema whose description is the string.
    BareText,
}

/// Tells the form of a schema value, or why it is none (`allow_auto` for output schemas).
pub fn schema_form(value: &Value, allow_auto: bool) -> Result<SchemaForm, String> {
    match value {
        Value::String(_) => Ok(SchemaForm::BareText),
        Value::Object(map) => {
            // `type` may be left out (it defaults), but not null: the spec's schema objects
            // type it as a string constant, as the hosted API checks.
            let declared = match map.get("type") {
                None => None,
                Some(Value::String(t)) => Some(t.as_str()),
                Some(_) => return Err("\"type\" must be \"json\", \"text\" or \"auto\"".into()),
            };
            match (declared, map.contains_key("json_schema")) {
                (Some("json"), _) | (None, true) => Ok(SchemaForm::Json),
                (Some("text"), _) | (None, false) => Ok(SchemaForm::Text),
                (Some("auto"), _) if allow_auto => Ok(SchemaForm::Auto),
                (Some("auto"), _) => Err("an input schema cannot be \"auto\"".into()),
                (Some(other), _) => Err(format!(
                    "unknown schema type {other:?}; use \"json\", \"text\"{}",
                    if allow_auto { " or \"auto\"" } else { "" }
                )),
            }
        }
        _ => Err("must be a schema object or a string".into()),
    }
}

/// A task spec that passed validation: what each run using it needs. The default (no task
/// spec) asks nothing of the input and warns of nothing.
#[derive(Debug, Default)]
pub struct CheckedSpec {
    /// The JSON input schema, compiled.
    input_validator: Option<jsonschema::Validator>,
    /// The output schema's warnings, their pointers in the run's request
    /// (`/task_spec/output_schema/json_schema/…`).
    warnings: Vec<Value>,
    /// The spec's size, as [`output_schema::json_chars`] counts it (0 without a spec).
    chars: usize,
}

impl CheckedSpec {
    /// Checks a run's input against the spec: its input schema and the size limit of spec
    /// and input together. Pointers are relative to the run object (`/input/year`).
    fn check_input(&self, input: &Value, errors: &mut Vec<FieldError>) {
        if let Some(validator) = &self.input_validator {
            match input {
                Value::Object(_) => {
                    for e in validator.iter_errors(input) {
                        errors.push(FieldError::new(
                            format!("/input{}", e.instance_path),
                            format!("does not match task_spec.input_schema: {e}"),
                        ));
                    }
                }
                _ => errors.push(FieldError::new(
                    "/input",
                    "must be a JSON object, since task_spec.input_schema is a JSON schema",
                )),
            }
        }
        if self.chars > 0 {
            output_schema::check_sizes(
                self.chars,
                "/task_spec",
                Some(output_schema::json_chars(input)),
                "/input",
                errors,
            );
        }
    }
}

/// Checks a task spec on its own: its form, its schemas, Parallel's output-schema rules and
/// its size. `at` is its pointer in the body (`/task_spec`, `/default_task_spec`). Returns
/// `None` when it was refused (the reasons are in `errors`).
pub(crate) fn check_task_spec(
    spec: &Value,
    at: &str,
    errors: &mut Vec<FieldError>,
) -> Option<CheckedSpec> {
    let before = errors.len();
    let Some(map) = spec.as_object() else {
        if !spec.is_null() {
            errors.push(FieldError::new(at, "must be an object or null"));
            return None;
        }
        return Some(CheckedSpec::default());
    };
    let mut warnings = Vec::new();
    match map.get("output_schema") {
        None => errors.push(FieldError::new(
            format!("{at}/output_schema"),
            "is required",
        )),
        Some(schema) => {
            let schema_at = format!("{at}/output_schema/json_schema");
            if let Some((SchemaForm::Json, Some(json_schema))) =
                check_schema(schema, &format!("{at}/output_schema"), true, errors)
            {
                // Parallel's rules first: they name what to change. A schema they refuse
                // needs no second, vaguer reason from the compiler.
                let findings = output_schema::check(json_schema);
                if findings.errors.is_empty() {
                    compile(json_schema, &schema_at, errors);
                }
                errors.extend(
                    findings
                        .errors
                        .into_iter()
                        .map(|e| FieldError::new(format!("{schema_at}{}", e.pointer), e.reason)),
                );
                warnings = findings
                    .warnings
                    .iter()
                    .map(|w| w.to_json("/task_spec/output_schema/json_schema"))
                    .collect();
            }
        }
    }
    let input_validator = match map.get("input_schema") {
        None | Some(Value::Null) => None,
        Some(schema) => {
            let schema_at = format!("{at}/input_schema");
            match check_schema(schema, &schema_at, false, errors) {
                Some((SchemaForm::Json, Some(json_schema))) => {
                    let validator =
                        compile(json_schema, &format!("{schema_at}/json_schema"), errors);
                    if validator.is_some()
                        && json_schema.get("type") != Some(&Value::String("object".into()))
                    {
                        errors.push(FieldError::new(
                            format!("{schema_at}/json_schema/type"),
                            "a task's JSON input schema must be an object schema (\"type\": \"object\")",
                        ));
                    }
                    validator
                }
                _ => None,
            }
        }
    };
    let chars = output_schema::json_chars(spec);
    output_schema::check_sizes(chars, at, None, "", errors);
    (errors.len() == before).then_some(CheckedSpec {
        input_validator,
        warnings,
        chars,
    })
}

/// Checks one schema entry's form; returns it when the entry is well formed, with the JSON
/// Schema object of a JSON schema. What else that must be depends on whether it describes
/// the input or the output, which the caller checks.
fn check_schema<'a>(
    value: &'a Value,
    pointer: &str,
    allow_auto: bool,
    errors: &mut Vec<FieldError>,
) -> Option<(SchemaForm, Option<&'a Value>)> {
    let form = match schema_form(value, allow_auto) {
        Ok(form) => form,
        Err(reason) => {
            errors.push(FieldError::new(pointer, reason));
            return None;
        }
    };
    match form {
        SchemaForm::Json => {
            let at = format!("{pointer}/json_schema");
            match value.get("json_schema") {
                Some(schema @ Value::Object(_)) => return Some((form, Some(schema))),
                Some(_) => {
                    errors.push(FieldError::new(at, "must be a JSON Schema object"));
                    return None;
                }
                None => {
                    errors.push(FieldError::new(at, "is required for a \"json\" schema"));
                    return None;
                }
            }
        }
        SchemaForm::Text => match value.get("description") {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(_) => {
                errors.push(FieldError::new(
                    format!("{pointer}/description"),
                    "must be a string or null",
                ));
                return None;
            }
        },
        SchemaForm::Auto | SchemaForm::BareText => {}
    }
    Some((form, None))
}

/// The validator of a JSON Schema at `pointer`, or the reason it does not compile.
fn compile(
    schema: &Value,
    pointer: &str,
    errors: &mut Vec<FieldError>,
) -> Option<jsonschema::Validator> {
    jsonschema::validator_for(schema)
        .map_err(|e| {
            errors.push(FieldError::new(
                format!("{pointer}{}", e.instance_path),
                format!("the JSON schema does not compile: {e}"),
            ))
        })
        .ok()
}

fn check_webhook(value: &Value, errors: &mut Vec<FieldError>) {
    let Some(map) = value.as_object() else {
        if !value.is_null() {
            errors.push(FieldError::new("/webhook", "must be an object or null"));
        }
        return;
    };
    match map.get("url") {
        Some(Value::String(url)) if is_http_url(url) => {}
        Some(_) => errors.push(FieldError::new(
            "/webhook/url",
            "must be an http or https URL",
        )),
        None => errors.push(FieldError::new("/webhook/url", "is required")),
    }
    match map.get("event_types") {
        None | Some(Value::Null) => {}
        Some(Value::Array(types)) => {
            for (i, t) in types.iter().enumerate() {
                if t.as_str() != Some("task_run.status") {
                    errors.push(FieldError::new(
                        format!("/webhook/event_types/{i}"),
                        "the only event type is \"task_run.status\"",
                    ));
                }
            }
        }
        Some(_) => errors.push(FieldError::new("/webhook/event_types", "must be an array")),
    }
}

fn check_mcp_servers(value: &Value, errors: &mut Vec<FieldError>) {
    let Some(servers) = value.as_array() else {
        if !value.is_null() {
            errors.push(FieldError::new("/mcp_servers", "must be an array or null"));
        }
        return;
    };
    for (i, server) in servers.iter().enumerate() {
        let at = format!("/mcp_servers/{i}");
        let Some(map) = server.as_object() else {
            errors.push(FieldError::new(at, "must be an object"));
            continue;
        };
        match map.get("name") {
            Some(Value::String(_)) => {}
            Some(_) => errors.push(FieldError::new(format!("{at}/name"), "must be a string")),
            None => errors.push(FieldError::new(format!("{at}/name"), "is required")),
        }
        match map.get("url") {
            Some(Value::String(url)) if is_http_url(url) => {}
            Some(_) => errors.push(FieldError::new(
                format!("{at}/url"),
                "must be an http or https URL",
            )),
            None => errors.push(FieldError::new(format!("{at}/url"), "is required")),
        }
        match map.get("type") {
            None | Some(Value::Null) => {}
            Some(Value::String(t)) if t == "url" => {}
            Some(_) => errors.push(FieldError::new(format!("{at}/type"), "must be \"url\"")),
        }
        match map.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(h)) if h.values().all(Value::is_string) => {}
            Some(_) => errors.push(FieldError::new(
                format!("{at}/headers"),
                "must be an object of string values",
            )),
        }
        check_string_list(
            map.get("allowed_tools"),
            &format!("{at}/allowed_tools"),
            errors,
        );
    }
}

fn check_advanced_settings(value: &Value, errors: &mut Vec<FieldError>) {
    let Some(map) = value.as_object() else {
        if !value.is_null() {
            errors.push(FieldError::new(
                "/advanced_settings",
                "must be an object or null",
            ));
        }
        return;
    };
    match map.get("location") {
        None | Some(Value::Null) => {}
        Some(Value::String(code))
            if code.len() == 2 && code.chars().all(|c| c.is_ascii_alphabetic()) => {}
        Some(_) => errors.push(FieldError::new(
            "/advanced_settings/location",
            "must be an ISO 3166-1 alpha-2 country code such as \"us\"",
        )),
    }
    match map.get("data_sources") {
        None | Some(Value::Null) => {}
        Some(Value::Object(sources)) => {
            for list in ["free", "pay_per_use"] {
                check_string_list(
                    sources.get(list),
                    &format!("/advanced_settings/data_sources/{list}"),
                    errors,
                );
            }
        }
        Some(_) => errors.push(FieldError::new(
            "/advanced_settings/data_sources",
            "must be an object or null",
        )),
    }
}

fn check_string_list(value: Option<&Value>, pointer: &str, errors: &mut Vec<FieldError>) {
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
        Some(_) => errors.push(FieldError::new(
            pointer,
            "must be an array of strings or null",
        )),
    }
}

pub(crate) fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    matches!(rest, Some(r) if !r.is_empty() && !r.starts_with('/') && !r.chars().any(char::is_whitespace))
}

/// Escapes a key for use in a JSON pointer (RFC 6901).
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<NewRun, ApiError> {
        parse_create_run(body.as_bytes(), |p| p == "core" || p == "base")
    }

    fn pointers(err: ApiError) -> Vec<String> {
        assert_eq!(err.status, 422, "{err:?}");
        err.detail.unwrap()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pointer"].as_str().unwrap().to_string())
            .collect()
    }

    const SEED: &str = r#"{"processor":"core","metadata":{"my_key":"my_value"},"task_spec":{"output_schema":{"json_schema":{"type":"object","properties":{"gdp":{"type":"string","description":"GDP in USD for the year, formatted like '$3.1 trillion (2023)'"}},"required":["gdp"],"additionalProperties":false},"type":"json"},"input_schema":{"json_schema":{"type":"object","properties":{"country":{"type":"string"},"year":{"type":"integer"}},"required":["country","year"],"additionalProperties":false},"type":"json"}},"input":{"country":"France","year":2023}}"#;

    #[test]
    fn seed_example_round_trips_byte_for_byte() {
        let run = parse(SEED).unwrap();
        assert_eq!(run.input_doc, SEED);
        assert_eq!(run.metadata.unwrap().get(), r#"{"my_key":"my_value"}"#);
    }

    #[test]
    fn keeps_bare_strings_nulls_and_drops_unknown_fields() {
        let run = parse(
            r#"{"input": "q", "unknown": 1, "processor": "base", "task_spec": {"output_schema": "a short answer", "input_schema": null}, "metadata": null}"#,
        )
        .unwrap();
        assert_eq!(
            run.input_doc,
            r#"{"input":"q","processor":"base","task_spec":{"output_schema":"a short answer","input_schema":null},"metadata":null}"#
        );
        assert!(run.metadata.is_none());
    }

    #[test]
    fn requires_processor_and_input() {
        assert_eq!(pointers(parse("{}").unwrap_err()), ["/processor", "/input"]);
        assert_eq!(
            pointers(parse(r#"{"processor":"core","input":3}"#).unwrap_err()),
            ["/input"]
        );
    }

    #[test]
    fn unknown_processor_is_403_after_validation() {
        let err = parse(r#"{"processor":"nope","input":"x"}"#).unwrap_err();
        assert_eq!(err.status, 403);
        let err = parse(r#"{"processor":"nope"}"#).unwrap_err();
        assert_eq!(err.status, 422);
    }

    #[test]
    fn metadata_limits() {
        let body = format!(
            r#"{{"processor":"core","input":"x","metadata":{{"seventeen_chars_k":"v","ok":"{}","n":1.5,"b":true,"bad":[1]}}}}"#,
            "v".repeat(513)
        );
        assert_eq!(
            pointers(parse(&body).unwrap_err()),
            [
                "/metadata/seventeen_chars_k",
                "/metadata/ok",
                "/metadata/bad"
            ]
        );
    }

    #[test]
    fn schemas_must_be_object_schemas_that_compile() {
        let bad_type = r#"{"processor":"core","input":"x","task_spec":{"output_schema":{"type":"json","json_schema":{"type":"string"}}}}"#;
        assert_eq!(
            pointers(parse(bad_type).unwrap_err()),
            [
                "/task_spec/output_schema/json_schema/type",
                "/task_spec/output_schema/json_schema/properties"
            ]
        );
        let no_compile = r#"{"processor":"core","input":"x","task_spec":{"output_schema":{"json_schema":{"type":"object","properties":{"a":{"type":12}}}}}}"#;
        let p = pointers(parse(no_compile).unwrap_err());
        assert!(
            p[0].starts_with("/task_spec/output_schema/json_schema"),
            "{p:?}"
        );
        let auto_input = r#"{"processor":"core","input":"x","task_spec":{"output_schema":{"type":"auto"},"input_schema":{"type":"auto"}}}"#;
        assert_eq!(
            pointers(parse(auto_input).unwrap_err()),
            ["/task_spec/input_schema"]
        );
        let missing = r#"{"processor":"core","input":"x","task_spec":{}}"#;
        assert_eq!(
            pointers(parse(missing).unwrap_err()),
            ["/task_spec/output_schema"]
        );
        let null_type = r#"{"processor":"core","input":"x","task_spec":{"output_schema":"o","input_schema":{"description":"d","type":null}}}"#;
        assert_eq!(
            pointers(parse(null_type).unwrap_err()),
            ["/task_spec/input_schema"]
        );
        for ok in [
            r#"{"type":"auto"}"#,
            r#"{"type":"text","description":"d"}"#,
            r#"{}"#,
            r#""text""#,
        ] {
            let body = format!(
                r#"{{"processor":"core","input":"x","task_spec":{{"output_schema":{ok}}}}}"#
            );
            assert!(parse(&body).is_ok(), "{ok}");
        }
    }

    /// A create body whose output schema is `schema`.
    fn with_output_schema(schema: serde_json::Value) -> String {
        serde_json::json!({
            "processor": "core",
            "input": "x",
            "task_spec": {"output_schema": {"type": "json", "json_schema": schema}},
        })
        .to_string()
    }

    #[test]
    fn output_schema_rules_answer_422_with_pointers_into_the_schema() {
        let body = with_output_schema(serde_json::json!({
            "type": "object",
            "properties": {
                "price": {"type": "number", "minimum": 0},
                "note": {"type": "null"},
            },
            "required": ["price", "note"],
            "additionalProperties": false,
        }));
        let err = parse(&body).unwrap_err();
        assert!(err.message.contains("minimum"), "{}", err.message);
        assert_eq!(
            pointers(err),
            [
                "/task_spec/output_schema/json_schema/properties/price/minimum",
                "/task_spec/output_schema/json_schema/properties/note/type"
            ]
        );
        // A keyword refused by the rules is named as such, even where its value would not
        // compile either.
        let body = with_output_schema(serde_json::json!({
            "type": "object",
            "properties": {"day": {"type": "string", "format": 1}},
        }));
        let err = parse(&body).unwrap_err();
        assert!(
            err.message.contains("\"format\" is not supported"),
            "{}",
            err.message
        );
        assert_eq!(
            pointers(err),
            ["/task_spec/output_schema/json_schema/properties/day/format"]
        );
        // Input schemas are not output schemas: their keywords stay allowed.
        let body = SEED.replace(
            r#""year":{"type":"integer"}"#,
            r#""year":{"type":"integer","minimum":1900}"#,
        );
        assert!(parse(&body).is_ok());
    }

    #[test]
    fn output_schema_warnings_ride_on_the_new_run() {
        assert!(parse(SEED).unwrap().warnings.is_empty());
        let body = with_output_schema(serde_json::json!({
            "type": "object",
            "properties": {"gdp": {"type": "string"}, "year": {"type": "integer"}},
            "required": ["gdp"],
        }));
        let warnings = parse(&body).unwrap().warnings;
        let pointers: Vec<&str> = warnings
            .iter()
            .map(|w| w["detail"]["pointer"].as_str().unwrap())
            .collect();
        assert_eq!(
            pointers,
            [
                "/task_spec/output_schema/json_schema",
                "/task_spec/output_schema/json_schema/properties/year"
            ]
        );
        assert!(warnings
            .iter()
            .all(|w| w["type"] == "spec_validation_warning"));
        // Text and auto schemas have no such rules.
        let text = r#"{"processor":"core","input":"x","task_spec":{"output_schema":"a city"}}"#;
        assert!(parse(text).unwrap().warnings.is_empty());
    }

    /// A create body whose task spec is exactly `spec_chars` characters (as counted) and
    /// whose string input is `input_chars` characters.
    fn sized(spec_chars: usize, input_chars: usize) -> String {
        let spec = |description: &str| serde_json::json!({"output_schema": {"type": "text", "description": description}});
        let empty = crate::output_schema::json_chars(&spec(""));
        let spec = spec(&"d".repeat(spec_chars - empty));
        assert_eq!(crate::output_schema::json_chars(&spec), spec_chars);
        // Whitespace between tokens is not counted: the body is sent pretty-printed.
        serde_json::to_string_pretty(&serde_json::json!({
            "processor": "core",
            "input": "é".repeat(input_chars),
            "task_spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn task_spec_and_input_sizes_are_limited() {
        assert!(parse(&sized(15_000, 10_000)).is_ok());
        assert_eq!(
            pointers(parse(&sized(15_001, 10)).unwrap_err()),
            ["/task_spec"]
        );
        assert_eq!(
            pointers(parse(&sized(15_001, 9_999)).unwrap_err()),
            ["/task_spec"]
        );
        assert_eq!(
            pointers(parse(&sized(15_000, 10_001)).unwrap_err()),
            ["/input"]
        );
        assert!(parse(&sized(100, 24_900)).is_ok());
        assert_eq!(
            pointers(parse(&sized(100, 24_901)).unwrap_err()),
            ["/input"]
        );
        // Without a task spec, the input alone is not limited here.
        let body = format!(r#"{{"processor":"core","input":"{}"}}"#, "x".repeat(30_000));
        assert!(parse(&body).is_ok());
    }

    #[test]
    fn input_is_checked_against_json_input_schema() {
        let body = SEED.replace("2023}", "\"2023\"}");
        assert_eq!(pointers(parse(&body).unwrap_err()), ["/input/year"]);
        let body = SEED.replace(r#"{"country":"France","year":2023}"#, r#""France 2023""#);
        assert_eq!(pointers(parse(&body).unwrap_err()), ["/input"]);
    }

    #[test]
    fn body_must_be_a_json_object() {
        for body in ["", "not json", "[1,2]", "{\"processor\":"] {
            let err = parse(body).unwrap_err();
            assert_eq!(err.status, 422);
            assert_eq!(err.detail.unwrap()["pointer"], "");
        }
    }

    #[test]
    fn webhook_mcp_and_advanced_settings() {
        let body = r#"{"processor":"core","input":"x","webhook":{"url":"ftp://x","event_types":["nope"]},"mcp_servers":[{"url":"https://m.example.com"}],"advanced_settings":{"location":"usa"}}"#;
        assert_eq!(
            pointers(parse(body).unwrap_err()),
            [
                "/webhook/url",
                "/webhook/event_types/0",
                "/mcp_servers/0/name",
                "/advanced_settings/location"
            ]
        );
        let ok = r#"{"processor":"core","input":"x","webhook":{"url":"https://hooks.example.com/p","event_types":["task_run.status"]},"mcp_servers":[{"name":"m","url":"https://m.example.com","headers":{"a":"b"},"allowed_tools":["t"]}],"advanced_settings":{"location":"us"},"enable_events":true,"memory_scope_key":"k"}"#;
        let run = parse(ok).unwrap();
        assert_eq!(run.enable_events, Some(true));
        assert_eq!(run.input_doc, ok);
    }
}
