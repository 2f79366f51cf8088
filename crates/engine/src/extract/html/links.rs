//! The content's links: made absolute against the page's URL, deduplicated, and kept only
//! when the markdown kept them.

use std::collections::HashSet;

use dom_query::NodeRef;
use url::Url;

use crate::extract::markdown::collapse_ws;
use crate::extract::Link;

/// Makes the `href` of each anchor absolute against `base`, in the tree (collect the
/// anchors first: the tree cannot change while it is walked).
pub(super) fn absolutize_hrefs(anchors: &[NodeRef], base: &Url) {
    for a in anchors {
        if let Some(abs) = a.attr("href").and_then(|h| absolutize(base, &h)) {
            a.set_attr("href", &abs);
        }
    }
}

fn absolutize(base: &Url, href: &str) -> Option<String> {
    let h = href.trim();
    if h.is_empty() || h.starts_with('#') || h.to_ascii_lowercase().starts_with("javascript:") {
        return None;
    }
    base.join(h).ok().map(|u| u.to_string())
}

/// Deduplicated content links from `(href, text)` pairs.
pub(super) fn collect_links(
    anchors: impl Iterator<Item = (Option<String>, String)>,
    base: Option<&Url>,
) -> Vec<Link> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (href, text) in anchors {
        let Some(href) = href else { continue };
        let h = href.trim();
        if h.is_empty() || h.starts_with('#') || h.to_ascii_lowercase().starts_with("javascript:") {
            continue;
        }
        let url = match base {
            Some(b) => match b.join(h) {
                Ok(u) => u.to_string(),
                Err(_) => continue,
            },
            None => h.to_string(),
        };
        if seen.insert(url.clone()) {
            out.push(Link {
                url,
                text: collapse_ws(&text),
            });
        }
    }
    out
}

/// A URL in the form the `url` crate writes it, or as given when it does not parse.
pub(super) fn normalize_url(u: &str) -> String {
    Url::parse(u).map_or_else(|_| u.to_string(), |u| u.to_string())
}

/// The link destinations written in markdown (`[text](destination)`), normalised.
pub(super) fn markdown_destinations(md: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut rest = md;
    while let Some(p) = rest.find("](") {
        let after = &rest[p + 2..];
        let bytes = after.as_bytes();
        let mut depth = 0usize;
        let mut end = None;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 1,
                b'(' => depth += 1,
                b')' if depth == 0 => {
                    end = Some(i);
                    break;
                }
                b')' => depth -= 1,
                b'\n' => break,
                _ => {}
            }
            i += 1;
        }
        match end {
            Some(e) => {
                let dest = after[..e].replace("\\(", "(").replace("\\)", ")");
                out.insert(normalize_url(&dest));
                rest = &after[e..];
            }
            None => rest = after,
        }
    }
    out
}
