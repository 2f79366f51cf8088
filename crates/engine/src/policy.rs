//! Source policy matching: which pages a run may use.
//!
//! The syntax of entries is checked when a run is created (`parallax_api::source_policy`);
//! this module applies a valid policy to URLs and publish dates, with the semantics the SDK
//! documents:
//! - a plain domain (`example.com`) matches that host and its subdomains, case-insensitively;
//! - a domain/path entry (`docs.python.org/3`) matches that host (and subdomains) when the
//!   URL's path starts with the entry's path at a segment boundary: case-sensitive, trailing
//!   slashes ignored, `.`/`..` segments normalised, other percent-encoding kept as written;
//! - a bare extension (`.gov`, `.co.uk`) matches hosts ending in it at a label boundary;
//! - a non-empty `include_domains` is the complete allowlist and `exclude_domains` is then
//!   ignored;
//! - `after_date` keeps pages published on or after it. A page with no known publish date is
//!   kept: nothing says it is older, and dropping every undated page would empty most runs.

use chrono::NaiveDate;
use serde_json::Value;
use url::Url;

/// One entry of `include_domains` or `exclude_domains`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// `example.com`: the host and its subdomains.
    Domain(String),
    /// `example.com/a/b`: the host (and subdomains) under a path prefix.
    DomainPath(String, Vec<String>),
    /// `.gov`: every host ending in this suffix.
    Extension(String),
}

impl Rule {
    fn parse(entry: &str) -> Option<Rule> {
        let entry = entry.trim();
        if let Some(suffix) = entry.strip_prefix('.') {
            return (!suffix.is_empty())
                .then(|| Rule::Extension(format!(".{}", suffix.to_ascii_lowercase())));
        }
        match entry.split_once('/') {
            None => Some(Rule::Domain(entry.to_ascii_lowercase())),
            Some((host, path)) => {
                let segments = normalise_segments(path.split('/'));
                if segments.is_empty() {
                    Some(Rule::Domain(host.to_ascii_lowercase()))
                } else {
                    Some(Rule::DomainPath(host.to_ascii_lowercase(), segments))
                }
            }
        }
    }

    fn matches(&self, host: &str, path: &[String]) -> bool {
        let under = |domain: &str| {
            host == domain
                || host
                    .strip_suffix(domain)
                    .is_some_and(|rest| rest.ends_with('.'))
        };
        match self {
            Rule::Domain(domain) => under(domain),
            Rule::Extension(suffix) => host.ends_with(suffix.as_str()) && host.len() > suffix.len(),
            Rule::DomainPath(domain, prefix) => under(domain) && path.starts_with(prefix),
        }
    }
}

/// Path segments with `.` and `..` resolved and empty segments (from repeated or trailing
/// slashes) dropped.
fn normalise_segments<'a>(segments: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for segment in segments {
        match segment {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other.to_owned()),
        }
    }
    out
}

/// A validated `source_policy`, ready to apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourcePolicy {
    include: Vec<Rule>,
    exclude: Vec<Rule>,
    after_date: Option<NaiveDate>,
}

impl SourcePolicy {
    /// Reads the `source_policy` of a stored request. Entries that do not parse are ignored:
    /// the request was validated when it was accepted.
    pub fn from_json(value: &Value) -> SourcePolicy {
        let rules = |key: &str| -> Vec<Rule> {
            value
                .get(key)
                .and_then(Value::as_array)
                .map(|entries| {
                    entries
                        .iter()
                        .filter_map(Value::as_str)
                        .filter_map(Rule::parse)
                        .collect()
                })
                .unwrap_or_default()
        };
        SourcePolicy {
            include: rules("include_domains"),
            exclude: rules("exclude_domains"),
            after_date: value
                .get("after_date")
                .and_then(Value::as_str)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        }
    }

    /// Whether the policy restricts anything.
    pub fn is_open(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty() && self.after_date.is_none()
    }

    /// Whether a page at `url` may be used.
    pub fn allows_url(&self, url: &str) -> bool {
        let Ok(parsed) = Url::parse(url) else {
            return false;
        };
        let host = parsed
            .host_str()
            .unwrap_or("")
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let path = normalise_segments(parsed.path().split('/'));
        if !self.include.is_empty() {
            return self.include.iter().any(|rule| rule.matches(&host, &path));
        }
        !self.exclude.iter().any(|rule| rule.matches(&host, &path))
    }

    /// Whether a page published on `published` (if known) may be used.
    pub fn allows_date(&self, published: Option<NaiveDate>) -> bool {
        match (self.after_date, published) {
            (Some(after), Some(date)) => date >= after,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(v: Value) -> SourcePolicy {
        SourcePolicy::from_json(&v)
    }

    #[test]
    fn plain_domains_match_subdomains_only_at_label_boundaries() {
        let p = policy(json!({"include_domains": ["example.com"]}));
        assert!(p.allows_url("https://example.com/a"));
        assert!(p.allows_url("https://docs.EXAMPLE.com/a"));
        assert!(p.allows_url("http://example.com.:8080/x"));
        assert!(!p.allows_url("https://badexample.com/"));
        assert!(!p.allows_url("https://example.com.evil.org/"));
        assert!(!p.allows_url("not a url"));
    }

    #[test]
    fn domain_paths_match_at_segment_boundaries_case_sensitively() {
        let p =
            policy(json!({"include_domains": ["docs.python.org/3/", "youtube.com/./shorts/x/.."]}));
        assert!(p.allows_url("https://docs.python.org/3"));
        assert!(p.allows_url("https://docs.python.org/3/library/os.html"));
        assert!(!p.allows_url("https://docs.python.org/30/"));
        assert!(!p.allows_url("https://docs.python.org/2/"));
        assert!(p.allows_url("https://www.youtube.com/shorts/abc"));
        assert!(!p.allows_url("https://youtube.com/Shorts/abc"));
        assert!(!p.allows_url("https://youtube.com/watch?v=1"));
        // Percent-encoding is kept as written: %7E is not ~.
        let p = policy(json!({"include_domains": ["a.com/%7Euser"]}));
        assert!(p.allows_url("https://a.com/%7Euser/page"));
        assert!(!p.allows_url("https://a.com/~user/page"));
    }

    #[test]
    fn extensions_and_exclusions() {
        let p = policy(json!({"exclude_domains": [".gov", "reddit.com", "co.uk/news"]}));
        assert!(!p.allows_url("https://www.nasa.gov/x"));
        assert!(p.allows_url("https://gov.example.com/x"));
        assert!(!p.allows_url("https://old.reddit.com/r/rust"));
        assert!(!p.allows_url("https://bbc.co.uk/news/1"));
        assert!(p.allows_url("https://bbc.co.uk/sport/1"));
        let p = policy(json!({"include_domains": [".co.uk"]}));
        assert!(p.allows_url("https://bbc.co.uk/"));
        assert!(!p.allows_url("https://example.uk/"));
    }

    #[test]
    fn include_wins_over_exclude() {
        let p =
            policy(json!({"include_domains": ["example.com"], "exclude_domains": ["example.com"]}));
        assert!(p.allows_url("https://example.com/"));
        assert!(!p.allows_url("https://other.org/"));
    }

    #[test]
    fn after_date_keeps_undated_pages() {
        let p = policy(json!({"after_date": "2024-03-01"}));
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        assert!(p.allows_date(d("2024-03-01")));
        assert!(!p.allows_date(d("2024-02-29")));
        assert!(p.allows_date(None));
        assert!(!p.is_open());
        assert!(policy(json!({})).is_open());
    }
}
