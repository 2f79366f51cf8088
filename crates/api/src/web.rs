//! The Search and Extract APIs on the wire: request parsing and validation, and the response
//! shapes.
//!
//! Two spellings of each request exist and both are accepted on `/v1/…` and `/v1beta/…`:
//! the SDK's (`advanced_settings.{excerpt_settings, fetch_policy, full_content, max_results,
//! source_policy, location}`, `max_chars_total`, `session_id`, `client_model`, `mode` in
//! `turbo|fast|basic|advanced`) and the public spec's beta one (`excerpts`, `full_content`,
//! `fetch_policy`, `max_results`, `max_chars_per_result`, `source_policy` at the top level,
//! `mode` in `one-shot|agentic|fast`, the deprecated `processor`). When a setting is given
//! both ways, `advanced_settings` wins. Unknown fields are ignored, as for task runs.
//!
//! The only difference between the paths: on `/v1/search` (the SDK's path)
//! `search_queries` must hold at least one query, as the SDK requires; on `/v1beta/search`
//! either an objective or a query is enough, as the spec says.
//!
//! Character budgets below [`MIN_CHAR_BUDGET`] (zero included) are raised to it, as the spec
//! documents for excerpt settings; negative budgets are refused.

use crate::error::{ApiError, FieldError};
use serde::Serialize;
use serde_json::{Map, Value};
use std::time::Duration;

/// Most URLs one extract request may name.
pub const MAX_EXTRACT_URLS: usize = 20;
/// Most results one search may ask for.
pub const MAX_SEARCH_RESULTS: usize = 100;
/// Results a search returns unless told otherwise.
pub const DEFAULT_SEARCH_RESULTS: usize = 10;
/// Smallest character budget; smaller ones are raised to this (the spec's rule).
pub const MIN_CHAR_BUDGET: usize = 1000;
/// Excerpt characters per extracted URL unless told otherwise.
pub const DEFAULT_EXTRACT_EXCERPT_CHARS: usize = 5000;
/// Smallest `max_age_seconds` (the SDK documents 600 as the minimum).
pub const MIN_MAX_AGE_SECONDS: u64 = 600;
/// Longest fetch timeout a request may ask for.
pub const MAX_TIMEOUT_SECONDS: f64 = 600.0;
/// Longest query, objective or session id accepted, in characters.
const MAX_TEXT_CHARS: usize = 10_000;
/// Most search queries in one request.
const MAX_QUERIES: usize = 20;
const MAX_SESSION_ID_CHARS: usize = 256;

/// Which path a request came in on; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    V1,
    V1Beta,
}

/// `fetch_policy`: when a cached copy may answer instead of a live fetch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchPolicy {
    /// A cached copy younger than this is used (`max_age_seconds`, at least 600); `None`
    /// leaves it to the server's default.
    pub max_age: Option<Duration>,
    /// Timeout of a live fetch (`timeout_seconds`); `None` is the server's.
    pub timeout: Option<Duration>,
    /// `disable_cache_fallback`: when a live fetch fails, answer the error rather than an
    /// older cached copy.
    pub disable_cache_fallback: bool,
}

/// Whether and how much full content to return.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FullContent {
    #[default]
    Off,
    /// The whole main content, or its first `max_chars` characters cut at a word boundary.
    On { max_chars: Option<usize> },
}

/// Excerpt budgets, already raised to [`MIN_CHAR_BUDGET`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExcerptBudget {
    /// Whether excerpts are returned at all (`excerpts: false` turns them off).
    pub enabled: bool,
    /// Characters per URL; `None` is the endpoint's default.
    pub per_result: Option<usize>,
    /// Characters across all URLs; `None` is no cap beyond the per-URL one.
    pub total: Option<usize>,
}

/// A validated `POST /v1/extract`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractRequest {
    /// The URLs as given, duplicates removed (first occurrence kept).
    pub urls: Vec<String>,
    pub objective: Option<String>,
    pub search_queries: Vec<String>,
    pub session_id: Option<String>,
    pub excerpts: ExcerptBudget,
    pub full_content: FullContent,
    pub fetch_policy: FetchPolicy,
}

/// Latency/quality presets of a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// Only what is already held (index, cache, provider snippets): no page fetched.
    Turbo,
    /// Pages read under a short fetch deadline, falling back to snippets.
    Fast,
    /// Pages read, excerpts ranked; results in search order.
    Basic,
    /// More candidates read and re-ranked by their passages; the default.
    Advanced,
}

impl SearchMode {
    fn parse(text: &str) -> Option<SearchMode> {
        Some(match text {
            "turbo" => SearchMode::Turbo,
            "fast" => SearchMode::Fast,
            "basic" | "agentic" | "base" => SearchMode::Basic,
            "advanced" | "one-shot" | "pro" => SearchMode::Advanced,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Turbo => "turbo",
            SearchMode::Fast => "fast",
            SearchMode::Basic => "basic",
            SearchMode::Advanced => "advanced",
        }
    }
}

/// A validated `POST /v1/search`.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    pub objective: Option<String>,
    pub search_queries: Vec<String>,
    pub mode: SearchMode,
    pub max_results: usize,
    pub session_id: Option<String>,
    pub excerpts: ExcerptBudget,
    pub fetch_policy: FetchPolicy,
    /// The `source_policy` object as sent (validated by [`crate::source_policy`]).
    pub source_policy: Option<Value>,
    /// ISO 3166-1 alpha-2 country code, lower-cased.
    pub location: Option<String>,
}

/// Reads a request body as a JSON object.
fn body_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::validation(vec![FieldError::new(
            "",
            "the body must be a JSON object",
        )])),
        Err(e) => Err(ApiError::validation(vec![FieldError::new(
            "",
            format!("the body is not valid JSON: {e}"),
        )])),
    }
}

/// Collects field errors while reading values out of a request.
struct Reader {
    errors: Vec<FieldError>,
}

impl Reader {
    fn fail(&mut self, pointer: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(FieldError::new(pointer, reason));
    }

    /// An optional object field; null counts as absent.
    fn object<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        key: &str,
        at: &str,
    ) -> Option<&'a Map<String, Value>> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Object(inner)) => Some(inner),
            Some(_) => {
                self.fail(format!("{at}/{key}"), "must be an object or null");
                None
            }
        }
    }

    /// An optional string field, trimmed; null counts as absent.
    fn text(&mut self, map: &Map<String, Value>, key: &str, at: &str) -> Option<String> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.chars().count() > MAX_TEXT_CHARS => {
                self.fail(
                    format!("{at}/{key}"),
                    format!("is longer than {MAX_TEXT_CHARS} characters"),
                );
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
            Some(_) => {
                self.fail(format!("{at}/{key}"), "must be a string or null");
                None
            }
        }
    }

    /// An optional positive integer field.
    fn count(&mut self, map: &Map<String, Value>, key: &str, at: &str) -> Option<u64> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if v > 0 => Some(v),
                _ => {
                    self.fail(format!("{at}/{key}"), "must be a positive integer");
                    None
                }
            },
            Some(_) => {
                self.fail(format!("{at}/{key}"), "must be a positive integer or null");
                None
            }
        }
    }

    /// A character budget: a non-negative integer, raised to [`MIN_CHAR_BUDGET`].
    fn budget(&mut self, map: &Map<String, Value>, key: &str, at: &str) -> Option<usize> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some() => {
                let v = n.as_u64().expect("checked");
                Some(
                    usize::try_from(v)
                        .unwrap_or(usize::MAX)
                        .max(MIN_CHAR_BUDGET),
                )
            }
            Some(_) => {
                self.fail(
                    format!("{at}/{key}"),
                    "must be a non-negative integer (values below 1000 count as 1000) or null",
                );
                None
            }
        }
    }

    /// `search_queries`: a list of strings (empty ones dropped) or null.
    fn queries(&mut self, map: &Map<String, Value>, at: &str) -> Vec<String> {
        let here = format!("{at}/search_queries");
        match map.get("search_queries") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                if items.len() > MAX_QUERIES {
                    self.fail(
                        here.clone(),
                        format!("holds more than {MAX_QUERIES} queries"),
                    );
                }
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.as_str() {
                        Some(s) if s.chars().count() > MAX_TEXT_CHARS => self.fail(
                            format!("{here}/{i}"),
                            format!("is longer than {MAX_TEXT_CHARS} characters"),
                        ),
                        Some(s) if !s.trim().is_empty() => out.push(s.trim().to_owned()),
                        Some(_) => {}
                        None => self.fail(format!("{here}/{i}"), "must be a string"),
                    }
                }
                out
            }
            Some(_) => {
                self.fail(here, "must be an array of strings or null");
                Vec::new()
            }
        }
    }

    fn session_id(&mut self, map: &Map<String, Value>) -> Option<String> {
        let id = self.text(map, "session_id", "")?;
        if id.chars().count() > MAX_SESSION_ID_CHARS {
            self.fail(
                "/session_id",
                format!("is longer than {MAX_SESSION_ID_CHARS} characters"),
            );
            return None;
        }
        Some(id)
    }

    fn fetch_policy(&mut self, map: &Map<String, Value>, at: &str) -> FetchPolicy {
        let mut policy = FetchPolicy::default();
        if let Some(max_age) = self.count(map, "max_age_seconds", at) {
            if max_age < MIN_MAX_AGE_SECONDS {
                self.fail(
                    format!("{at}/max_age_seconds"),
                    format!("must be at least {MIN_MAX_AGE_SECONDS} seconds"),
                );
            } else {
                policy.max_age = Some(Duration::from_secs(max_age));
            }
        }
        match map.get("timeout_seconds") {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) => match n.as_f64() {
                Some(t) if t > 0.0 && t <= MAX_TIMEOUT_SECONDS => {
                    policy.timeout = Some(Duration::from_secs_f64(t));
                }
                _ => self.fail(
                    format!("{at}/timeout_seconds"),
                    format!("must be more than 0 and at most {MAX_TIMEOUT_SECONDS} seconds"),
                ),
            },
            Some(_) => self.fail(
                format!("{at}/timeout_seconds"),
                "must be a number of seconds or null",
            ),
        }
        match map.get("disable_cache_fallback") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => policy.disable_cache_fallback = *b,
            Some(_) => self.fail(format!("{at}/disable_cache_fallback"), "must be a boolean"),
        }
        policy
    }

    /// `excerpt_settings` or the beta `excerpts` (a boolean or settings) at `at`.
    fn excerpts(&mut self, value: Option<&Value>, at: &str, budget: &mut ExcerptBudget) {
        match value {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => budget.enabled = *b,
            Some(Value::Object(map)) => {
                if let Some(n) = self.budget(map, "max_chars_per_result", at) {
                    budget.per_result = Some(n);
                }
                if let Some(n) = self.budget(map, "max_chars_total", at) {
                    budget.total = Some(n);
                }
            }
            Some(_) => self.fail(at, "must be a boolean or an object"),
        }
    }

    fn full_content(&mut self, value: Option<&Value>, at: &str, full: &mut FullContent) {
        match value {
            None | Some(Value::Null) => {}
            Some(Value::Bool(false)) => *full = FullContent::Off,
            Some(Value::Bool(true)) => *full = FullContent::On { max_chars: None },
            Some(Value::Object(map)) => {
                let max_chars = self
                    .count(map, "max_chars_per_result", at)
                    .map(|v| usize::try_from(v).unwrap_or(usize::MAX));
                *full = FullContent::On { max_chars };
            }
            Some(_) => self.fail(at, "must be a boolean or an object"),
        }
    }

    fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(ApiError::validation(self.errors))
        }
    }
}

/// Parses and validates an extract request body.
pub fn parse_extract(body: &[u8]) -> Result<ExtractRequest, ApiError> {
    let map = body_object(body)?;
    let mut r = Reader { errors: Vec::new() };
    let mut urls: Vec<String> = Vec::new();
    match map.get("urls") {
        None | Some(Value::Null) => r.fail("/urls", "is required: a list of 1 to 20 URLs"),
        Some(Value::Array(items)) => {
            if items.is_empty() {
                r.fail("/urls", "must name at least one URL");
            } else if items.len() > MAX_EXTRACT_URLS {
                r.fail(
                    "/urls",
                    format!(
                        "names {} URLs; at most {MAX_EXTRACT_URLS} are allowed per request",
                        items.len()
                    ),
                );
            }
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(url) if url.trim().is_empty() => {
                        r.fail(format!("/urls/{i}"), "must not be empty")
                    }
                    Some(url) => {
                        let url = url.trim().to_owned();
                        if !urls.contains(&url) {
                            urls.push(url);
                        }
                    }
                    None => r.fail(format!("/urls/{i}"), "must be a string"),
                }
            }
        }
        Some(_) => r.fail("/urls", "must be an array of URL strings"),
    }
    let objective = r.text(&map, "objective", "");
    let search_queries = r.queries(&map, "");
    let session_id = r.session_id(&map);
    let _ = r.text(&map, "client_model", "");
    let mut excerpts = ExcerptBudget {
        enabled: true,
        ..ExcerptBudget::default()
    };
    let mut full_content = FullContent::Off;
    let mut fetch_policy = FetchPolicy::default();
    // The beta spelling first, so that `advanced_settings` overrides it.
    r.excerpts(map.get("excerpts"), "/excerpts", &mut excerpts);
    r.full_content(map.get("full_content"), "/full_content", &mut full_content);
    if let Some(policy) = r.object(&map, "fetch_policy", "") {
        fetch_policy = r.fetch_policy(policy, "/fetch_policy");
    }
    if let Some(total) = r.budget(&map, "max_chars_total", "") {
        excerpts.total = Some(total);
    }
    if let Some(advanced) = r.object(&map, "advanced_settings", "") {
        let at = "/advanced_settings";
        r.excerpts(
            advanced.get("excerpt_settings"),
            &format!("{at}/excerpt_settings"),
            &mut excerpts,
        );
        r.full_content(
            advanced.get("full_content"),
            &format!("{at}/full_content"),
            &mut full_content,
        );
        if let Some(policy) = r.object(advanced, "fetch_policy", at) {
            fetch_policy = r.fetch_policy(policy, &format!("{at}/fetch_policy"));
        }
    }
    r.finish(ExtractRequest {
        urls,
        objective,
        search_queries,
        session_id,
        excerpts,
        full_content,
        fetch_policy,
    })
}

/// Parses and validates a search request body that came in on `version`'s path.
pub fn parse_search(body: &[u8], version: ApiVersion) -> Result<SearchRequest, ApiError> {
    let map = body_object(body)?;
    let mut r = Reader { errors: Vec::new() };
    let objective = r.text(&map, "objective", "");
    let search_queries = r.queries(&map, "");
    match version {
        ApiVersion::V1 if search_queries.is_empty() && r.errors.is_empty() => r.fail(
            "/search_queries",
            "is required: give at least one keyword query (an objective alone is not enough on /v1/search)",
        ),
        ApiVersion::V1Beta
            if search_queries.is_empty() && objective.is_none() && r.errors.is_empty() =>
        {
            r.fail(
                "/search_queries",
                "give at least one of objective or search_queries",
            )
        }
        _ => {}
    }
    let session_id = r.session_id(&map);
    let _ = r.text(&map, "client_model", "");
    let mut mode = SearchMode::Advanced;
    for key in ["processor", "mode"] {
        match map.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if SearchMode::parse(s).is_some() => {
                mode = SearchMode::parse(s).expect("checked");
            }
            Some(_) => r.fail(
                format!("/{key}"),
                if key == "mode" {
                    "must be one of turbo, fast, basic, advanced (or one-shot, agentic)"
                } else {
                    "must be base or pro (deprecated: use mode)"
                },
            ),
        }
    }
    let mut excerpts = ExcerptBudget {
        enabled: true,
        ..ExcerptBudget::default()
    };
    let mut fetch_policy = FetchPolicy::default();
    let mut max_results = DEFAULT_SEARCH_RESULTS;
    let mut source_policy = None;
    let mut location = None;

    let mut read_common = |r: &mut Reader, m: &Map<String, Value>, at: &str| {
        match m.get("max_results") {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_u64() {
                Some(n) if (1..=MAX_SEARCH_RESULTS as u64).contains(&n) => max_results = n as usize,
                _ => r.fail(
                    format!("{at}/max_results"),
                    format!("must be an integer from 1 to {MAX_SEARCH_RESULTS}"),
                ),
            },
        }
        if let Some(policy) = m.get("source_policy").filter(|v| !v.is_null()) {
            let before = r.errors.len();
            crate::source_policy::validate(policy, &format!("{at}/source_policy"), &mut r.errors);
            if r.errors.len() == before {
                source_policy = Some(policy.clone());
            }
        }
        if let Some(policy) = r.object(m, "fetch_policy", at) {
            fetch_policy = r.fetch_policy(policy, &format!("{at}/fetch_policy"));
        }
    };
    read_common(&mut r, &map, "");
    if let Some(n) = r.budget(&map, "max_chars_per_result", "") {
        excerpts.per_result = Some(n);
    }
    r.excerpts(map.get("excerpts"), "/excerpts", &mut excerpts);
    if let Some(total) = r.budget(&map, "max_chars_total", "") {
        excerpts.total = Some(total);
    }
    if let Some(advanced) = r.object(&map, "advanced_settings", "") {
        let at = "/advanced_settings";
        read_common(&mut r, advanced, at);
        r.excerpts(
            advanced.get("excerpt_settings"),
            &format!("{at}/excerpt_settings"),
            &mut excerpts,
        );
        match advanced.get("location") {
            None | Some(Value::Null) => {}
            Some(Value::String(code))
                if code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()) =>
            {
                location = Some(code.to_ascii_lowercase());
            }
            Some(_) => r.fail(
                format!("{at}/location"),
                "must be an ISO 3166-1 alpha-2 country code, such as \"us\" or \"de\"",
            ),
        }
    }
    r.finish(SearchRequest {
        objective,
        search_queries,
        mode,
        max_results,
        session_id,
        excerpts,
        fetch_policy,
        source_policy,
        location,
    })
}

/// `UsageItem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageItem {
    pub name: &'static str,
    pub count: u64,
}

/// Usage items with a zero count left out.
pub fn usage(items: &[(&'static str, u64)]) -> Vec<UsageItem> {
    items
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|&(name, count)| UsageItem { name, count })
        .collect()
}

/// `ExtractResult`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtractResult {
    pub url: String,
    pub title: Option<String>,
    /// `YYYY-MM-DD`.
    pub publish_date: Option<String>,
    pub excerpts: Vec<String>,
    pub full_content: Option<String>,
}

/// `ExtractError`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtractErrorEntry {
    pub url: String,
    pub error_type: String,
    pub http_status_code: Option<u16>,
    pub content: Option<String>,
}

/// `ExtractResponse`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtractResponse {
    pub extract_id: String,
    pub session_id: String,
    pub results: Vec<ExtractResult>,
    pub errors: Vec<ExtractErrorEntry>,
    pub warnings: Option<Vec<Value>>,
    pub usage: Vec<UsageItem>,
}

/// `WebSearchResult`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebSearchResult {
    pub url: String,
    pub title: Option<String>,
    /// `YYYY-MM-DD`.
    pub publish_date: Option<String>,
    pub excerpts: Vec<String>,
}

/// `SearchResult` (the SDK's name) / `SearchResponse` (the spec's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResponse {
    pub search_id: String,
    pub session_id: String,
    pub results: Vec<WebSearchResult>,
    pub warnings: Option<Vec<Value>>,
    pub usage: Vec<UsageItem>,
}

/// Prefix of extract request ids.
pub const EXTRACT_PREFIX: &str = "extract_";
/// Prefix of search request ids.
pub const SEARCH_PREFIX: &str = "search_";
/// Prefix of generated session ids.
pub const SESSION_PREFIX: &str = "session_";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn extract(body: Value) -> Result<ExtractRequest, ApiError> {
        parse_extract(body.to_string().as_bytes())
    }

    fn search(body: Value, version: ApiVersion) -> Result<SearchRequest, ApiError> {
        parse_search(body.to_string().as_bytes(), version)
    }

    fn pointers(e: ApiError) -> Vec<String> {
        assert_eq!(e.status, 422);
        e.detail.unwrap()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pointer"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn extract_defaults() {
        let r = extract(json!({"urls": ["https://a.example/x", "https://a.example/x "]})).unwrap();
        assert_eq!(r.urls, vec!["https://a.example/x"]);
        assert!(r.excerpts.enabled);
        assert_eq!(r.excerpts.per_result, None);
        assert_eq!(r.full_content, FullContent::Off);
        assert_eq!(r.fetch_policy, FetchPolicy::default());
    }

    #[test]
    fn extract_sdk_spelling() {
        let r = extract(json!({
            "urls": ["https://a.example/"],
            "objective": " founding ",
            "search_queries": ["a", "", "b"],
            "session_id": "s1",
            "max_chars_total": 300,
            "advanced_settings": {
                "excerpt_settings": {"max_chars_per_result": 2500},
                "fetch_policy": {"max_age_seconds": 600, "timeout_seconds": 2.5, "disable_cache_fallback": true},
                "full_content": {"max_chars_per_result": 40}
            }
        }))
        .unwrap();
        assert_eq!(r.objective.as_deref(), Some("founding"));
        assert_eq!(r.search_queries, vec!["a", "b"]);
        assert_eq!(r.session_id.as_deref(), Some("s1"));
        assert_eq!(r.excerpts.per_result, Some(2500));
        assert_eq!(r.excerpts.total, Some(MIN_CHAR_BUDGET));
        assert_eq!(
            r.full_content,
            FullContent::On {
                max_chars: Some(40)
            }
        );
        assert_eq!(r.fetch_policy.max_age, Some(Duration::from_secs(600)));
        assert_eq!(r.fetch_policy.timeout, Some(Duration::from_millis(2500)));
        assert!(r.fetch_policy.disable_cache_fallback);
    }

    #[test]
    fn extract_beta_spelling_and_precedence() {
        let r = extract(json!({
            "urls": ["https://a.example/"],
            "excerpts": false,
            "full_content": true,
            "fetch_policy": {"max_age_seconds": 7200},
            "advanced_settings": {"fetch_policy": {"max_age_seconds": 900}}
        }))
        .unwrap();
        assert!(!r.excerpts.enabled);
        assert_eq!(r.full_content, FullContent::On { max_chars: None });
        assert_eq!(r.fetch_policy.max_age, Some(Duration::from_secs(900)));
    }

    #[test]
    fn extract_refusals_name_each_field() {
        assert_eq!(pointers(extract(json!({})).unwrap_err()), vec!["/urls"]);
        assert_eq!(
            pointers(extract(json!({"urls": []})).unwrap_err()),
            vec!["/urls"]
        );
        let many: Vec<String> = (0..21).map(|i| format!("https://a.example/{i}")).collect();
        assert_eq!(
            pointers(extract(json!({"urls": many})).unwrap_err()),
            vec!["/urls"]
        );
        assert_eq!(
            pointers(
                extract(json!({
                    "urls": ["https://a.example/", 5],
                    "objective": 5,
                    "advanced_settings": {"fetch_policy": {"max_age_seconds": 599, "timeout_seconds": 0}},
                    "max_chars_total": -1
                }))
                .unwrap_err()
            ),
            vec![
                "/urls/1",
                "/objective",
                "/max_chars_total",
                "/advanced_settings/fetch_policy/max_age_seconds",
                "/advanced_settings/fetch_policy/timeout_seconds",
            ]
        );
        assert_eq!(pointers(parse_extract(b"[1]").unwrap_err()), vec![""]);
        let zero = extract(json!({"urls": ["https://a.example/"], "max_chars_total": 0})).unwrap();
        assert_eq!(zero.excerpts.total, Some(MIN_CHAR_BUDGET));
        assert_eq!(pointers(parse_extract(b"{").unwrap_err()), vec![""]);
    }

    #[test]
    fn search_versions_differ_only_in_what_is_required() {
        let objective_only = json!({"objective": "x"});
        assert_eq!(
            pointers(search(objective_only.clone(), ApiVersion::V1).unwrap_err()),
            vec!["/search_queries"]
        );
        assert!(search(objective_only, ApiVersion::V1Beta).is_ok());
        assert_eq!(
            pointers(search(json!({}), ApiVersion::V1Beta).unwrap_err()),
            vec!["/search_queries"]
        );
        let r = search(json!({"search_queries": ["q"]}), ApiVersion::V1).unwrap();
        assert_eq!(r.mode, SearchMode::Advanced);
        assert_eq!(r.max_results, DEFAULT_SEARCH_RESULTS);
    }

    #[test]
    fn search_settings() {
        let r = search(
            json!({
                "search_queries": ["q"],
                "mode": "turbo",
                "max_results": 3,
                "max_chars_per_result": 1500,
                "advanced_settings": {
                    "max_results": 7,
                    "location": "DE",
                    "source_policy": {"include_domains": ["example.com"]},
                    "excerpt_settings": {"max_chars_per_result": 2000}
                }
            }),
            ApiVersion::V1,
        )
        .unwrap();
        assert_eq!(r.mode, SearchMode::Turbo);
        assert_eq!(r.max_results, 7);
        assert_eq!(r.location.as_deref(), Some("de"));
        assert_eq!(r.excerpts.per_result, Some(2000));
        assert!(r.source_policy.is_some());
        let beta = search(
            json!({"objective": "x", "mode": "one-shot"}),
            ApiVersion::V1Beta,
        );
        assert_eq!(beta.unwrap().mode, SearchMode::Advanced);
    }

    #[test]
    fn search_refusals() {
        let bad = json!({
            "search_queries": ["q"],
            "mode": "slow",
            "advanced_settings": {
                "max_results": 101,
                "location": "usa",
                "source_policy": {"include_domains": ["https://x.example"]}
            }
        });
        assert_eq!(
            pointers(search(bad, ApiVersion::V1).unwrap_err()),
            vec![
                "/mode",
                "/advanced_settings/max_results",
                "/advanced_settings/source_policy/include_domains/0",
                "/advanced_settings/location",
            ]
        );
        assert_eq!(
            pointers(
                search(
                    json!({"search_queries": ["q"], "max_results": 0}),
                    ApiVersion::V1
                )
                .unwrap_err()
            ),
            vec!["/max_results"]
        );
    }
}
