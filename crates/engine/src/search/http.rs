//! The HTTP plumbing of the web providers: one client, a JSON GET with a timeout and a size
//! cap, and errors that name the provider and say what went wrong.

use std::error::Error as _;
use std::time::Duration;

use reqwest::header::{ACCEPT, USER_AGENT};
use serde::de::DeserializeOwned;
use url::Url;

use super::text::{collapse_whitespace, truncate_chars};
use super::SearchError;

/// The most bytes read from a provider's answer; search answers are a few tens of KiB.
pub(crate) const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// The `User-Agent` the providers send unless told otherwise.
pub(crate) const DEFAULT_USER_AGENT: &str = concat!(
    "Parallax/",
    env!("CARGO_PKG_VERSION"),
    " (self-hosted Parallel API server; search provider)"
);

/// A client for one provider. Timeouts are set per request, so they can change without
/// rebuilding the client.
pub(crate) fn client(provider: &str) -> Result<reqwest::Client, SearchError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .map_err(|e| SearchError::Config {
            provider: provider.to_string(),
            message: format!("cannot build an HTTP client: {}", chain(&e)),
        })
}

/// A parsed absolute http(s) base URL, or a configuration error naming `provider`.
pub(crate) fn parse_base(provider: &str, base: &str) -> Result<Url, SearchError> {
    let url = Url::parse(base.trim()).map_err(|e| SearchError::Config {
        provider: provider.to_string(),
        message: format!("{base:?} is not a URL: {e}"),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(SearchError::Config {
            provider: provider.to_string(),
            message: format!("{base:?} is not an http(s) URL with a host"),
        });
    }
    Ok(url)
}

/// GETs `url` and decodes its JSON body. `status_hint` may explain an HTTP error status.
pub(crate) async fn get_json<T: DeserializeOwned>(
    client: &reqwest::Client,
    provider: &str,
    url: Url,
    timeout: Duration,
    user_agent: &str,
    status_hint: fn(u16) -> Option<&'static str>,
) -> Result<T, SearchError> {
    let request_error = |e: reqwest::Error| {
        if e.is_timeout() {
            SearchError::Timeout {
                provider: provider.to_string(),
                after: timeout,
            }
        } else {
            SearchError::Request {
                provider: provider.to_string(),
                message: chain(&e),
            }
        }
    };
    let mut response = client
        .get(url)
        .timeout(timeout)
        .header(ACCEPT, "application/json")
        .header(USER_AGENT, user_agent)
        .send()
        .await
        .map_err(request_error)?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(request_error)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(SearchError::Decode {
                provider: provider.to_string(),
                message: format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        let hint = match status_hint(status.as_u16()) {
            Some(hint) => hint.to_string(),
            None => truncate_chars(&collapse_whitespace(&String::from_utf8_lossy(&body)), 200),
        };
        return Err(SearchError::Status {
            provider: provider.to_string(),
            status: status.as_u16(),
            hint,
        });
    }
    serde_json::from_slice(&body).map_err(|e| SearchError::Decode {
        provider: provider.to_string(),
        message: format!(
            "{e} (the answer starts with {:?})",
            truncate_chars(&String::from_utf8_lossy(&body), 80)
        ),
    })
}

/// An error and its causes, `outer: inner: innermost`.
pub(crate) fn chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
