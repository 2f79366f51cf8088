//! The `wikipedia` provider: the MediaWiki search API of any wiki.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use url::Url;

use super::http::{self, DEFAULT_USER_AGENT};
use super::text::{non_empty, strip_tags};
use super::{SearchError, SearchHit, SearchProvider, SearchQuery, DEFAULT_TIMEOUT};

const NAME: &str = "wikipedia";

/// MediaWiki's largest `srlimit` for ordinary clients.
const MAX_LIMIT: usize = 500;

/// Searches a MediaWiki wiki through its API:
/// `{api_base}?action=query&list=search&srsearch=…&format=json&formatversion=2&srlimit=N&srprop=snippet|timestamp`.
///
/// A hit's URL is the article's, `{scheme}://{host}/wiki/{Title_with_underscores}`, built
/// from the API address's scheme and host (the article path can be changed with
/// [`WikipediaProvider::with_article_base`] for wikis that do not use `/wiki/`); its
/// snippet is MediaWiki's with the highlight markup removed. Hits carry no publish date: the
/// API only knows the last edit. Scores are rank-based (`1/(rank+1)`), MediaWiki's order
/// being its relevance. The API address is the operator's, so no SSRF guard applies.
#[derive(Debug, Clone)]
pub struct WikipediaProvider {
    api_base: Url,
    article_base: Url,
    client: reqwest::Client,
    timeout: Duration,
    user_agent: String,
}

impl WikipediaProvider {
    /// A provider for the API at `api_base`, such as `https://en.wikipedia.org/w/api.php`,
    /// with [`DEFAULT_TIMEOUT`].
    pub fn new(api_base: &str) -> Result<Self, SearchError> {
        let mut api_base = http::parse_base(NAME, api_base)?;
        api_base.set_query(None);
        api_base.set_fragment(None);
        let mut article_base = api_base.clone();
        article_base.set_path("/wiki/");
        Ok(WikipediaProvider {
            api_base,
            article_base,
            client: http::client(NAME)?,
            timeout: DEFAULT_TIMEOUT,
            user_agent: DEFAULT_USER_AGENT.to_string(),
        })
    }

    /// The same provider with another timeout for each whole request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same provider sending another `User-Agent` (Wikimedia asks for one that names the
    /// operator and a contact).
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The same provider building article URLs under `article_base` (such as
    /// `https://wiki.example.org/index.php/`) instead of `{scheme}://{host}/wiki/`.
    pub fn with_article_base(mut self, article_base: &str) -> Result<Self, SearchError> {
        let mut base = http::parse_base(NAME, article_base)?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        self.article_base = base;
        Ok(self)
    }

    /// The API address.
    pub fn api_base(&self) -> &Url {
        &self.api_base
    }

    /// The URL of the article titled `title`.
    pub fn article_url(&self, title: &str) -> String {
        let mut url = self.article_base.clone();
        // `set_path` percent-encodes what a path cannot hold (spaces, `?`, `#`, non-ASCII)
        // but takes `%` as already encoded, so encode it first.
        let title = title.trim().replace(' ', "_").replace('%', "%25");
        let path = format!("{}{}", self.article_base.path(), title);
        url.set_path(&path);
        url.to_string()
    }

    fn search_url(&self, text: &str, limit: usize) -> Url {
        let mut url = self.api_base.clone();
        url.query_pairs_mut()
            .append_pair("action", "query")
            .append_pair("list", "search")
            .append_pair("srsearch", text)
            .append_pair("format", "json")
            .append_pair("formatversion", "2")
            .append_pair("srlimit", &limit.to_string())
            .append_pair("srprop", "snippet|timestamp");
        url
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    query: Option<AnswerQuery>,
    #[serde(default)]
    error: Option<AnswerError>,
}

#[derive(Deserialize)]
struct AnswerQuery {
    #[serde(default)]
    search: Vec<AnswerHit>,
}

#[derive(Deserialize)]
struct AnswerHit {
    title: String,
    #[serde(default)]
    snippet: Option<String>,
}

#[derive(Deserialize)]
struct AnswerError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    info: String,
}

fn status_hint(status: u16) -> Option<&'static str> {
    match status {
        403 => {
            Some("the wiki refused the request; Wikimedia wikis require a descriptive User-Agent")
        }
        429 => Some("the wiki is rate-limiting this server"),
        _ => None,
    }
}

#[async_trait]
impl SearchProvider for WikipediaProvider {
    fn name(&self) -> &str {
        NAME
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>, SearchError> {
        let text = query.text.trim();
        if text.is_empty() || query.max_results == 0 {
            return Ok(Vec::new());
        }
        let limit = query.max_results.min(MAX_LIMIT);
        let answer: Answer = http::get_json(
            &self.client,
            NAME,
            self.search_url(text, limit),
            self.timeout,
            &self.user_agent,
            status_hint,
        )
        .await?;
        if let Some(error) = answer.error {
            return Err(SearchError::Refused {
                provider: NAME.to_string(),
                message: format!("{}: {}", error.code, error.info),
            });
        }
        let Some(found) = answer.query else {
            return Err(SearchError::Decode {
                provider: NAME.to_string(),
                message: "the answer has neither `query` nor `error`".to_string(),
            });
        };
        Ok(found
            .search
            .into_iter()
            .filter(|hit| !hit.title.trim().is_empty())
            .take(limit)
            .enumerate()
            .map(|(rank, hit)| SearchHit {
                url: self.article_url(&hit.title),
                snippet: hit
                    .snippet
                    .as_deref()
                    .map(strip_tags)
                    .as_deref()
                    .and_then(non_empty),
                title: non_empty(&hit.title),
                published: None,
                score: 1.0 / (rank as f32 + 1.0),
                provider: NAME.to_string(),
            })
            .collect())
    }
}
