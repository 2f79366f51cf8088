//! FindAll on the wire: the requests (`FindAllRunInput`, `FindAllExtendInput`,
//! `FindAllEnrichInput`, `IngestInput`, the SDK's entity search), their validation, and every
//! body and event FindAll answers with (`FindAllRun`, `FindAllSchema`, `FindAllCandidate`,
//! `FindAllRunResult`, the `findall.*` events).
//!
//! A FindAll run's event log is numbered 1, 2, 3…; an event's `event_id` is its number as a
//! string, and `last_event_id` resumes after it. The status heartbeats a quiet stream sends
//! are not in the log: their id is `<last number>-hb-<k>`, which resumes like `<last number>`.

use crate::create::{check_metadata, check_task_spec, parse_body, webhook_parts};
use crate::error::{ApiError, FieldError};
use crate::raw;
use crate::time::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// Prefix of FindAll run ids.
pub const FINDALL_PREFIX: &str = "findall_";
/// Prefix of candidate ids (followed by a UUID).
pub const CANDIDATE_PREFIX: &str = "candidate_";
/// Prefix of entity-search result sets.
pub const ENTITY_SET_PREFIX: &str = "entity_set_";
/// Smallest and largest `match_limit` (also the largest after extensions).
pub const MATCH_LIMIT_MIN: i64 = 5;
pub const MATCH_LIMIT_MAX: i64 = 1000;
/// Most `exclude_list` entries.
pub const EXCLUDE_MAX: usize = 10_000;
/// Most match conditions of one run.
pub const CONDITIONS_MAX: usize = 20;
/// Longest objective, entity type or condition description, in characters.
pub const TEXT_MAX: usize = 10_000;

/// How broadly a run looks for candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Generator {
    Preview,
    Base,
    Core,
    Pro,
}

impl Generator {
    pub fn as_str(self) -> &'static str {
        match self {
            Generator::Preview => "preview",
            Generator::Base => "base",
            Generator::Core => "core",
            Generator::Pro => "pro",
        }
    }

    pub fn parse(text: &str) -> Option<Generator> {
        Some(match text {
            "preview" => Generator::Preview,
            "base" => Generator::Base,
            "core" => Generator::Core,
            "pro" => Generator::Pro,
            _ => return None,
        })
    }
}

/// One condition a candidate must meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchCondition {
    pub name: String,
    pub description: String,
}

/// What a run looks for (`FindAllSchema`): also what `GET …/schema` answers and what
/// `findall.schema.updated` carries. Enrichments are kept as the validated
/// `FindAllEnrichInput` objects, with their processor filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindAllSchema {
    pub objective: String,
    pub entity_type: String,
    pub match_conditions: Vec<MatchCondition>,
    pub enrichments: Option<Vec<Value>>,
    pub generator: Option<Generator>,
    pub match_limit: Option<i64>,
}

impl FindAllSchema {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a schema always serialises")
    }

    /// Reads a stored schema document.
    pub fn from_json(text: &str) -> Result<FindAllSchema, String> {
        serde_json::from_str(text).map_err(|e| format!("FindAll schema: {e}"))
    }
}

/// An entity never to return, by name or by URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excluded {
    pub name: String,
    pub url: String,
}

/// Event types a FindAll webhook may subscribe to.
pub const WEBHOOK_EVENT_TYPES: [&str; 6] = [
    "findall.status",
    "findall.candidate.generated",
    "findall.candidate.matched",
    "findall.candidate.unmatched",
    "findall.candidate.discarded",
    "findall.candidate.enriched",
];

/// A validated `POST /v1beta/findall/runs`.
#[derive(Debug, Clone)]
pub struct NewFindAll {
    pub schema: FindAllSchema,
    pub generator: Generator,
    pub match_limit: i64,
    pub exclude: Vec<Excluded>,
    /// The metadata object as sent (minified), when sent and not null.
    pub metadata: Option<String>,
    pub webhook_url: Option<String>,
    /// The event types the webhook asked for; empty means the run's end only.
    pub webhook_events: Vec<String>,
    /// The memory scope the run is remembered in (`None`: the tenant's personal memory).
    pub memory_scope_key: Option<String>,
}

fn text_field(
    value: Option<&Value>,
    at: &str,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match value {
        None | Some(Value::Null) if required => {
            errors.push(FieldError::new(at, "is required"));
            None
        }
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => {
            errors.push(FieldError::new(at, "must not be empty"));
            None
        }
        Some(Value::String(s)) if s.chars().count() > TEXT_MAX => {
            errors.push(FieldError::new(
                at,
                format!("must be at most {TEXT_MAX} characters"),
            ));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(FieldError::new(at, "must be a string"));
            None
        }
    }
}

fn limit_field(value: Option<&Value>, at: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    match value {
        None | Some(Value::Null) => {
            errors.push(FieldError::new(at, "is required"));
            None
        }
        Some(v) => match v.as_i64() {
            Some(n) if (MATCH_LIMIT_MIN..=MATCH_LIMIT_MAX).contains(&n) => Some(n),
            Some(_) => {
                errors.push(FieldError::new(
                    at,
                    format!("must be between {MATCH_LIMIT_MIN} and {MATCH_LIMIT_MAX} (inclusive)"),
                ));
                None
            }
            None => {
                errors.push(FieldError::new(at, "must be an integer"));
                None
            }
        },
    }
}

fn conditions_field(value: Option<&Value>, errors: &mut Vec<FieldError>) -> Vec<MatchCondition> {
    let at = "/match_conditions";
    let Some(value) = value.filter(|v| !v.is_null()) else {
        errors.push(FieldError::new(at, "is required"));
        return Vec::new();
    };
    let Some(items) = value.as_array() else {
        errors.push(FieldError::new(at, "must be an array"));
        return Vec::new();
    };
    if items.is_empty() {
        errors.push(FieldError::new(at, "must hold at least one condition"));
    }
    if items.len() > CONDITIONS_MAX {
        errors.push(FieldError::new(
            at,
            format!("must hold at most {CONDITIONS_MAX} conditions"),
        ));
    }
    let mut conditions: Vec<MatchCondition> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{at}/{i}");
        if !item.is_object() {
            errors.push(FieldError::new(at, "must be an object"));
            continue;
        }
        let name = text_field(item.get("name"), &format!("{at}/name"), true, errors);
        let description = text_field(
            item.get("description"),
            &format!("{at}/description"),
            true,
            errors,
        );
        if let (Some(name), Some(description)) = (name, description) {
            if conditions.iter().any(|c| c.name == name) {
                errors.push(FieldError::new(
                    format!("{at}/name"),
                    format!("repeats the name {name:?}: each condition needs its own name"),
                ));
            } else {
                conditions.push(MatchCondition { name, description });
            }
        }
    }
    conditions
}

fn exclude_field(value: Option<&Value>, errors: &mut Vec<FieldError>) -> Vec<Excluded> {
    let at = "/exclude_list";
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let Some(items) = value.as_array() else {
        errors.push(FieldError::new(at, "must be an array or null"));
        return Vec::new();
    };
    if items.len() > EXCLUDE_MAX {
        errors.push(FieldError::new(
            at,
            format!("must hold at most {EXCLUDE_MAX} entries"),
        ));
        return Vec::new();
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match serde_json::from_value::<Excluded>(item.clone()) {
            Ok(e) => out.push(e),
            Err(_) => errors.push(FieldError::new(
                format!("{at}/{i}"),
                "must be an object with string fields name and url",
            )),
        }
    }
    out
}

fn webhook_field(
    value: Option<&Value>,
    errors: &mut Vec<FieldError>,
) -> (Option<String>, Vec<String>) {
    match value.and_then(|v| webhook_parts(v, &WEBHOOK_EVENT_TYPES, errors)) {
        Some((url, events)) => (Some(url), events.unwrap_or_default()),
        None => (None, Vec::new()),
    }
}

/// Parses and validates `POST /v1beta/findall/runs`. Every failure is a 422 naming each
/// field that is wrong.
pub fn parse_create_findall(body: &[u8]) -> Result<NewFindAll, ApiError> {
    let object = parse_body(body)?;
    let mut errors = Vec::new();
    let mut fields = serde_json::Map::new();
    for (key, raw) in &object.0 {
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(v) => {
                fields.insert(key.clone(), v);
            }
            Err(e) => errors.push(FieldError::new(format!("/{key}"), e.to_string())),
        }
    }
    let objective = text_field(fields.get("objective"), "/objective", true, &mut errors);
    let entity_type = text_field(fields.get("entity_type"), "/entity_type", true, &mut errors);
    let match_conditions = conditions_field(fields.get("match_conditions"), &mut errors);
    let generator = match fields.get("generator") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new("/generator", "is required"));
            None
        }
        Some(v) => {
            let parsed = v.as_str().and_then(Generator::parse);
            if parsed.is_none() {
                errors.push(FieldError::new(
                    "/generator",
                    "must be one of preview, base, core, pro",
                ));
            }
            parsed
        }
    };
    let match_limit = limit_field(fields.get("match_limit"), "/match_limit", &mut errors);
    let exclude = exclude_field(fields.get("exclude_list"), &mut errors);
    if let Some(metadata) = fields.get("metadata") {
        check_metadata(metadata, &mut errors);
    }
    let (webhook_url, webhook_events) = webhook_field(fields.get("webhook"), &mut errors);
    let memory_scope_key = match fields.get("memory_scope_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) => Some(key.clone()),
        Some(_) => {
            errors.push(FieldError::new(
                "/memory_scope_key",
                "must be a string or null",
            ));
            None
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (Some(objective), Some(entity_type), Some(generator), Some(match_limit)) =
        (objective, entity_type, generator, match_limit)
    else {
        unreachable!("a missing required field is an error above")
    };
    let metadata = object
        .get("metadata")
        .filter(|raw| raw.get().trim() != "null")
        .map(|raw| raw::minify(raw.get()));
    Ok(NewFindAll {
        schema: FindAllSchema {
            objective,
            entity_type,
            match_conditions,
            enrichments: None,
            generator: Some(generator),
            match_limit: Some(match_limit),
        },
        generator,
        match_limit,
        exclude,
        metadata,
        webhook_url,
        webhook_events,
        memory_scope_key,
    })
}

/// Parses `POST …/extend`: the additional match limit, at least 1.
pub fn parse_extend(body: &[u8]) -> Result<i64, ApiError> {
    let object = parse_body(body)?;
    let value = object
        .get("additional_match_limit")
        .map(|raw| serde_json::from_str::<Value>(raw.get()).unwrap_or(Value::Null));
    match value.as_ref().map(|v| (v, v.as_i64())) {
        None | Some((Value::Null, _)) => Err(ApiError::validation(vec![FieldError::new(
            "/additional_match_limit",
            "is required",
        )])),
        Some((_, Some(n))) if n > 0 => Ok(n),
        Some((_, Some(_))) => Err(ApiError::new(
            422,
            "Additional match limit must be greater than 0",
        )
        .with_detail(
            json!({"pointer": "/additional_match_limit", "reason": "must be greater than 0"}),
        )),
        Some(_) => Err(ApiError::validation(vec![FieldError::new(
            "/additional_match_limit",
            "must be an integer",
        )])),
    }
}

/// Processor of an enrichment that does not name one (the spec's default).
pub const ENRICH_DEFAULT_PROCESSOR: &str = "core";

/// Parses `POST …/enrich`: the enrichment as it is kept in the schema (`output_schema`,
/// `processor` filled in, `mcp_servers` when sent). Unknown processors are 422 here (the
/// enrichment runs later, where a 403 could not be answered).
pub fn parse_enrich(
    body: &[u8],
    is_known_processor: impl Fn(&str) -> bool,
) -> Result<Value, ApiError> {
    let object = parse_body(body)?;
    let mut errors = Vec::new();
    let get = |key: &str| {
        object
            .get(key)
            .map(|raw| serde_json::from_str::<Value>(raw.get()).unwrap_or(Value::Null))
    };
    let output_schema = get("output_schema").unwrap_or(Value::Null);
    check_task_spec(&json!({ "output_schema": output_schema }), "", &mut errors);
    if output_schema.get("type").and_then(Value::as_str) != Some("json") && errors.is_empty() {
        errors.push(FieldError::new(
            "/output_schema",
            "must be a JSON schema ({\"type\": \"json\", \"json_schema\": {…}}): enrichments add fields to each candidate",
        ));
    }
    let processor = match get("processor") {
        None | Some(Value::Null) => ENRICH_DEFAULT_PROCESSOR.to_owned(),
        Some(Value::String(p)) if is_known_processor(&p) => p,
        Some(Value::String(p)) => {
            errors.push(FieldError::new(
                "/processor",
                format!("unknown processor {p:?}"),
            ));
            p
        }
        Some(_) => {
            errors.push(FieldError::new("/processor", "must be a string"));
            String::new()
        }
    };
    let mcp_servers = get("mcp_servers").filter(|v| !v.is_null());
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut enrichment = json!({ "processor": processor, "output_schema": output_schema });
    if let Some(servers) = mcp_servers {
        enrichment["mcp_servers"] = servers;
    }
    Ok(enrichment)
}

/// Parses `POST /v1beta/findall/ingest`: the objective.
pub fn parse_ingest(body: &[u8]) -> Result<String, ApiError> {
    let object = parse_body(body)?;
    let mut errors = Vec::new();
    let value = object
        .get("objective")
        .map(|raw| serde_json::from_str::<Value>(raw.get()).unwrap_or(Value::Null));
    let objective = text_field(value.as_ref(), "/objective", true, &mut errors);
    match objective {
        Some(o) if errors.is_empty() => Ok(o),
        _ => Err(ApiError::validation(errors)),
    }
}

/// The kinds of entity the entity search knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    People,
    Companies,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::People => "people",
            EntityKind::Companies => "companies",
        }
    }
}

/// A validated `POST /v1beta/findall/entity-search`.
#[derive(Debug, Clone)]
pub struct EntitySearch {
    pub entity_type: EntityKind,
    pub objective: String,
    pub match_limit: i64,
}

/// Default `match_limit` of an entity search.
pub const ENTITY_SEARCH_DEFAULT_LIMIT: i64 = 100;

/// Parses `POST /v1beta/findall/entity-search`.
pub fn parse_entity_search(body: &[u8]) -> Result<EntitySearch, ApiError> {
    let object = parse_body(body)?;
    let mut errors = Vec::new();
    let get = |key: &str| {
        object
            .get(key)
            .map(|raw| serde_json::from_str::<Value>(raw.get()).unwrap_or(Value::Null))
    };
    let entity_type = match get("entity_type") {
        Some(Value::String(t)) if t == "people" => Some(EntityKind::People),
        Some(Value::String(t)) if t == "companies" => Some(EntityKind::Companies),
        None | Some(Value::Null) => {
            errors.push(FieldError::new("/entity_type", "is required"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(
                "/entity_type",
                "must be one of people, companies",
            ));
            None
        }
    };
    let objective = text_field(get("objective").as_ref(), "/objective", true, &mut errors);
    let match_limit = match get("match_limit") {
        None | Some(Value::Null) => Some(ENTITY_SEARCH_DEFAULT_LIMIT),
        Some(v) => limit_field(Some(&v), "/match_limit", &mut errors),
    };
    match (entity_type, objective, match_limit) {
        (Some(entity_type), Some(objective), Some(match_limit)) if errors.is_empty() => {
            Ok(EntitySearch {
                entity_type,
                objective,
                match_limit,
            })
        }
        _ => Err(ApiError::validation(errors)),
    }
}

/// Where a FindAll run stands (`FindAllRunStatus.status`). Parallax never asks for action
/// and cancels at once, so `action_required` and `cancelling` never occur.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindAllStatus {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl FindAllStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FindAllStatus::Queued => "queued",
            FindAllStatus::Running => "running",
            FindAllStatus::Completed => "completed",
            FindAllStatus::Failed => "failed",
            FindAllStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<FindAllStatus> {
        Some(match text {
            "queued" => FindAllStatus::Queued,
            "running" => FindAllStatus::Running,
            "completed" => FindAllStatus::Completed,
            "failed" => FindAllStatus::Failed,
            "cancelled" => FindAllStatus::Cancelled,
            _ => return None,
        })
    }

    pub fn is_active(self) -> bool {
        matches!(self, FindAllStatus::Queued | FindAllStatus::Running)
    }
}

/// Why a run ended (`termination_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminationReason {
    MatchLimitMet,
    CandidatesExhausted,
    LowMatchRate,
    UserCancelled,
    ErrorOccurred,
    Timeout,
}

impl TerminationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            TerminationReason::MatchLimitMet => "match_limit_met",
            TerminationReason::CandidatesExhausted => "candidates_exhausted",
            TerminationReason::LowMatchRate => "low_match_rate",
            TerminationReason::UserCancelled => "user_cancelled",
            TerminationReason::ErrorOccurred => "error_occurred",
            TerminationReason::Timeout => "timeout",
        }
    }

    pub fn parse(text: &str) -> Option<TerminationReason> {
        Some(match text {
            "match_limit_met" => TerminationReason::MatchLimitMet,
            "candidates_exhausted" => TerminationReason::CandidatesExhausted,
            "low_match_rate" => TerminationReason::LowMatchRate,
            "user_cancelled" => TerminationReason::UserCancelled,
            "error_occurred" => TerminationReason::ErrorOccurred,
            "timeout" => TerminationReason::Timeout,
            _ => return None,
        })
    }
}

/// A FindAll run as `GET …/runs/{id}` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FindAllRun {
    pub findall_id: String,
    pub status: FindAllStatus,
    pub generator: Generator,
    /// The metadata object as sent, or `None`.
    pub metadata: Option<String>,
    pub generated: i64,
    pub matched: i64,
    pub termination_reason: Option<TerminationReason>,
    pub created_at: i64,
    pub modified_at: i64,
}

impl FindAllRun {
    /// The `FindAllRun` object.
    pub fn to_json(&self) -> String {
        let metadata: Option<&RawValue> = self
            .metadata
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok());
        json!({
            "findall_id": self.findall_id,
            "status": {
                "status": self.status.as_str(),
                "is_active": self.status.is_active(),
                "metrics": {
                    "generated_candidates_count": self.generated,
                    "matched_candidates_count": self.matched,
                },
                "termination_reason": self.termination_reason.map(TerminationReason::as_str),
            },
            "generator": self.generator.as_str(),
            "metadata": metadata,
            "created_at": rfc3339(self.created_at),
            "modified_at": rfc3339(self.modified_at),
        })
        .to_string()
    }
}

/// Where a candidate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchStatus {
    Generated,
    Matched,
    Unmatched,
    Discarded,
}

impl MatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchStatus::Generated => "generated",
            MatchStatus::Matched => "matched",
            MatchStatus::Unmatched => "unmatched",
            MatchStatus::Discarded => "discarded",
        }
    }

    pub fn parse(text: &str) -> Option<MatchStatus> {
        Some(match text {
            "generated" => MatchStatus::Generated,
            "matched" => MatchStatus::Matched,
            "unmatched" => MatchStatus::Unmatched,
            "discarded" => MatchStatus::Discarded,
            _ => return None,
        })
    }

    /// The event that announces a candidate reaching this status.
    pub fn event_kind(self) -> FindAllEventKind {
        match self {
            MatchStatus::Generated => FindAllEventKind::CandidateGenerated,
            MatchStatus::Matched => FindAllEventKind::CandidateMatched,
            MatchStatus::Unmatched => FindAllEventKind::CandidateUnmatched,
            MatchStatus::Discarded => FindAllEventKind::CandidateDiscarded,
        }
    }
}

/// A candidate (`FindAllCandidate`). `output` and `basis` are JSON texts once evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub candidate_id: String,
    pub name: String,
    pub url: String,
    pub description: Option<String>,
    pub match_status: MatchStatus,
    /// The output object: condition name → `{value, type: "match_condition", is_matched}`,
    /// enrichment field → `{value, type: "enrichment"}`.
    pub output: Option<String>,
    /// The `FieldBasis` array.
    pub basis: Option<String>,
}

impl Candidate {
    /// A new candidate id.
    pub fn new_id() -> String {
        format!("{CANDIDATE_PREFIX}{}", uuid::Uuid::new_v4())
    }

    /// The `FindAllCandidate` object.
    pub fn to_json(&self) -> String {
        let raw = |text: &Option<String>| -> Option<Box<RawValue>> {
            text.as_deref()
                .and_then(|t| RawValue::from_string(t.to_owned()).ok())
        };
        json!({
            "candidate_id": self.candidate_id,
            "name": self.name,
            "url": self.url,
            "description": self.description,
            "match_status": self.match_status.as_str(),
            "output": raw(&self.output),
            "basis": raw(&self.basis),
        })
        .to_string()
    }
}

/// What an event of a FindAll log is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindAllEventKind {
    SchemaUpdated,
    Status,
    CandidateGenerated,
    CandidateMatched,
    CandidateUnmatched,
    CandidateDiscarded,
    CandidateEnriched,
}

impl FindAllEventKind {
    /// The event's `type` (and SSE `event:`), also how the log stores the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            FindAllEventKind::SchemaUpdated => "findall.schema.updated",
            FindAllEventKind::Status => "findall.status",
            FindAllEventKind::CandidateGenerated => "findall.candidate.generated",
            FindAllEventKind::CandidateMatched => "findall.candidate.matched",
            FindAllEventKind::CandidateUnmatched => "findall.candidate.unmatched",
            FindAllEventKind::CandidateDiscarded => "findall.candidate.discarded",
            FindAllEventKind::CandidateEnriched => "findall.candidate.enriched",
        }
    }

    pub fn parse(text: &str) -> Option<FindAllEventKind> {
        [
            FindAllEventKind::SchemaUpdated,
            FindAllEventKind::Status,
            FindAllEventKind::CandidateGenerated,
            FindAllEventKind::CandidateMatched,
            FindAllEventKind::CandidateUnmatched,
            FindAllEventKind::CandidateDiscarded,
            FindAllEventKind::CandidateEnriched,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// A FindAll event as streamed and delivered: `{type, timestamp, event_id, data}`, where
/// `data` is the document the log recorded (a schema, a run or a candidate).
pub fn findall_event_json(
    event_id: &str,
    kind: FindAllEventKind,
    at_micros: i64,
    document: &str,
) -> String {
    let data = RawValue::from_string(document.to_owned())
        .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON"));
    json!({
        "type": kind.as_str(),
        "timestamp": rfc3339(at_micros),
        "event_id": event_id,
        "data": data,
    })
    .to_string()
}

/// The id of a status heartbeat sent after event `last` (see the module documentation).
pub fn heartbeat_event_id(last: i64, beat: u64) -> String {
    format!("{last}-hb-{beat}")
}

/// Reads a FindAll `last_event_id`: absent or empty is 0 (from the start); a heartbeat's id
/// resumes like the event before it.
pub fn parse_event_cursor(text: Option<&str>) -> Result<i64, ApiError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let (number, beat) = match text.split_once("-hb-") {
        Some((n, beat)) => (n, Some(beat)),
        None => (text, None),
    };
    let beat_ok = beat.is_none_or(|b| !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()));
    match number.parse::<i64>() {
        Ok(n) if n >= 0 && beat_ok => Ok(n),
        _ => Err(ApiError::validation(vec![FieldError::new(
            "/query/last_event_id",
            "must be an event id this stream sent",
        )])),
    }
}

/// `GET …/result`: `{run, candidates, last_event_id}` from rendered parts.
pub fn findall_result_json(run: &FindAllRun, candidates: &[Candidate], last_event: i64) -> String {
    let mut out = String::with_capacity(256 + candidates.len() * 512);
    out.push_str("{\"run\":");
    out.push_str(&run.to_json());
    out.push_str(",\"candidates\":[");
    for (i, c) in candidates.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&c.to_json());
    }
    out.push_str("],\"last_event_id\":");
    if last_event > 0 {
        out.push_str(&serde_json::to_string(&last_event.to_string()).expect("a string"));
    } else {
        out.push_str("null");
    }
    out.push('}');
    out
}

/// The `{entities, entity_set_id}` answer of an entity search.
pub fn entity_search_json(set_id: &str, entities: &[(String, String, String)]) -> String {
    json!({
        "entities": entities
            .iter()
            .map(|(name, url, description)| json!({"name": name, "url": url, "description": description}))
            .collect::<Vec<_>>(),
        "entity_set_id": set_id,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(body: Value) -> Result<NewFindAll, ApiError> {
        parse_create_findall(body.to_string().as_bytes())
    }

    fn valid() -> Value {
        json!({
            "objective": "Find all dental clinics in Harrowfield",
            "entity_type": "dental clinics",
            "match_conditions": [{"name": "in_town", "description": "Located in Harrowfield"}],
            "generator": "core",
            "match_limit": 10,
        })
    }

    #[test]
    fn a_valid_run_keeps_what_was_sent() {
        let mut body = valid();
        body["metadata"] = json!({"team": "ops"});
        body["exclude_list"] = json!([{"name": "A", "url": "https://a.example/"}]);
        let run = create(body).unwrap();
        assert_eq!(run.generator, Generator::Core);
        assert_eq!(run.match_limit, 10);
        assert_eq!(run.metadata.as_deref(), Some(r#"{"team":"ops"}"#));
        assert_eq!(run.exclude.len(), 1);
        assert_eq!(run.schema.match_conditions[0].name, "in_town");
    }

    #[test]
    fn each_bad_field_is_a_422_naming_it() {
        for (field, value, pointer) in [
            ("match_limit", json!(4), "/match_limit"),
            ("match_limit", json!(1001), "/match_limit"),
            ("match_limit", json!("ten"), "/match_limit"),
            ("match_conditions", json!([]), "/match_conditions"),
            ("generator", json!("ultra"), "/generator"),
            ("objective", json!(""), "/objective"),
            ("exclude_list", json!([{"name": "x"}]), "/exclude_list/0"),
            ("webhook", json!({"url": "ftp://x"}), "/webhook/url"),
        ] {
            let mut body = valid();
            body[field] = value;
            let err = create(body).unwrap_err();
            assert_eq!(err.status, 422, "{field}");
            assert_eq!(err.detail.as_ref().unwrap()["pointer"], pointer, "{field}");
        }
        let mut body = valid();
        body["match_conditions"] = json!([
            {"name": "a", "description": "x"},
            {"name": "a", "description": "y"}
        ]);
        assert_eq!(create(body).unwrap_err().status, 422);
        let mut body = valid();
        body.as_object_mut().unwrap().remove("objective");
        assert_eq!(create(body).unwrap_err().status, 422);
    }

    #[test]
    fn extend_wants_a_positive_integer() {
        assert_eq!(
            parse_extend(br#"{"additional_match_limit": 5}"#).unwrap(),
            5
        );
        for body in [
            &br#"{"additional_match_limit": 0}"#[..],
            br#"{"additional_match_limit": -2}"#,
            br#"{"additional_match_limit": "5"}"#,
            br#"{}"#,
        ] {
            assert_eq!(parse_extend(body).unwrap_err().status, 422);
        }
    }

    #[test]
    fn cursors_resume_after_heartbeats_like_after_their_event() {
        assert_eq!(parse_event_cursor(None).unwrap(), 0);
        assert_eq!(parse_event_cursor(Some("12")).unwrap(), 12);
        assert_eq!(
            parse_event_cursor(Some(&heartbeat_event_id(12, 3))).unwrap(),
            12
        );
        assert_eq!(parse_event_cursor(Some("x")).unwrap_err().status, 422);
        assert_eq!(parse_event_cursor(Some("-1")).unwrap_err().status, 422);
        assert_eq!(parse_event_cursor(Some("3-hb-")).unwrap_err().status, 422);
        assert_eq!(parse_event_cursor(Some("3-hb-x")).unwrap_err().status, 422);
    }

    #[test]
    fn run_and_event_bodies_have_the_spec_shape() {
        let run = FindAllRun {
            findall_id: "findall_x".into(),
            status: FindAllStatus::Completed,
            generator: Generator::Base,
            metadata: Some(r#"{"a":1}"#.into()),
            generated: 3,
            matched: 1,
            termination_reason: Some(TerminationReason::CandidatesExhausted),
            created_at: 1_745_439_708_037_943,
            modified_at: 1_745_439_708_037_943,
        };
        let v: Value = serde_json::from_str(&run.to_json()).unwrap();
        assert_eq!(v["status"]["is_active"], false);
        assert_eq!(v["status"]["termination_reason"], "candidates_exhausted");
        assert_eq!(v["status"]["metrics"]["matched_candidates_count"], 1);
        assert_eq!(v["metadata"]["a"], 1);
        let e: Value = serde_json::from_str(&findall_event_json(
            "7",
            FindAllEventKind::Status,
            1_745_439_708_037_943,
            &run.to_json(),
        ))
        .unwrap();
        assert_eq!(e["type"], "findall.status");
        assert_eq!(e["event_id"], "7");
        assert_eq!(e["data"]["findall_id"], "findall_x");
        let result: Value = serde_json::from_str(&findall_result_json(&run, &[], 0)).unwrap();
        assert!(result["last_event_id"].is_null());
    }

    #[test]
    fn enrich_needs_a_json_schema_and_a_known_processor() {
        let body = json!({"output_schema": {"type": "json", "json_schema": {
            "type": "object", "properties": {"ceo": {"type": "string", "description": "CEO"}}}}});
        let e = parse_enrich(body.to_string().as_bytes(), |p| p == "core").unwrap();
        assert_eq!(e["processor"], "core");
        let text = json!({"output_schema": {"type": "text"}});
        assert_eq!(
            parse_enrich(text.to_string().as_bytes(), |_| true)
                .unwrap_err()
                .status,
            422
        );
        let mut bad = body.clone();
        bad["processor"] = json!("nope");
        assert_eq!(
            parse_enrich(bad.to_string().as_bytes(), |p| p == "core")
                .unwrap_err()
                .status,
            422
        );
    }
}
