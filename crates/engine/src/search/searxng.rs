//! The `searxng` provider: a SearXNG instance's JSON API.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use url::Url;

use super::http::{self, DEFAULT_USER_AGENT};
use super::text::{non_empty, parse_loose_date};
use super::{SearchError, SearchHit, SearchProvider, SearchQuery, DEFAULT_TIMEOUT};

const NAME: &str = "searxng";

/// Searches a SearXNG instance: `GET {base_url}/search?q=…&format=json`, mapping
/// `results[].url/title/content/publishedDate/score` to hits.
///
/// SearXNG answers one page of results (typically 10 to 30); hits past `max_results` are
/// dropped, and results whose `url` is not an http(s) URL (torrent magnets, for instance) are
/// skipped. The instance must allow the JSON format (`search.formats: [html, json]` in its
/// `settings.yml`); a 403 says so. The base URL is the operator's (`--searxng-url`), so no
/// SSRF guard applies.
#[derive(Debug, Clone)]
pub struct SearxngProvider {
    base_url: Url,
    client: reqwest::Client,
    timeout: Duration,
}

impl SearxngProvider {
    /// A provider for the instance at `base_url` (such as `http://localhost:8888` or
    /// `https://host/searx/`), with [`DEFAULT_TIMEOUT`].
    pub fn new(base_url: &str) -> Result<Self, SearchError> {
        Ok(SearxngProvider {
            base_url: http::parse_base(NAME, base_url)?,
            client: http::client(NAME)?,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The same provider with another timeout for each whole request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The instance's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    fn search_url(&self, text: &str) -> Url {
        let mut url = self.base_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        let path = format!("{}/search", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url.query_pairs_mut()
            .append_pair("q", text)
            .append_pair("format", "json");
        url
    }
}

#[derive(Deserialize)]
struct Answer {
    results: Vec<AnswerResult>,
}

#[derive(Deserialize)]
struct AnswerResult {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default, rename = "publishedDate")]
    published_date: Option<String>,
    #[serde(default)]
    score: Option<f64>,
}

fn status_hint(status: u16) -> Option<&'static str> {
    match status {
        403 => Some(
            "the instance refuses the JSON format; add `json` to `search.formats` in its settings.yml",
        ),
        429 => Some("the instance is rate-limiting this server; check its limiter settings"),
        _ => None,
    }
}

#[async_trait]
impl SearchProvider for SearxngProvider {
    fn name(&self) -> &str {
        NAME
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>, SearchError> {
        let text = query.text.trim();
        if text.is_empty() || query.max_results == 0 {
            return Ok(Vec::new());
        }
        let answer: Answer = http::get_json(
            &self.client,
            NAME,
            self.search_url(text),
            self.timeout,
            DEFAULT_USER_AGENT,
            status_hint,
        )
        .await?;
        let hits = answer
            .results
            .into_iter()
            .filter_map(|r| {
                let url = r.url.as_deref()?.trim().to_string();
                let parsed = Url::parse(&url).ok()?;
                matches!(parsed.scheme(), "http" | "https").then_some((url, r))
            })
            .take(query.max_results)
            .enumerate()
            .map(|(rank, (url, r))| SearchHit {
                url,
                title: r.title.as_deref().and_then(non_empty),
                snippet: r.content.as_deref().and_then(non_empty),
                published: r.published_date.as_deref().and_then(parse_loose_date),
                score: match r.score {
                    Some(score) if score.is_finite() && score > 0.0 => score as f32,
                    _ => 1.0 / (rank as f32 + 1.0),
                },
                provider: NAME.to_string(),
            })
            .collect();
        Ok(hits)
    }
}
