//! Turning local files and sitemaps into pages for the local index (`parallax index add`).

use std::fs;
use std::path::{Path, PathBuf};

use chrono::Utc;
use url::Url;

use super::text::{decode_entities, non_empty, truncate_chars};
use super::{IndexedPage, SearchError};

/// Longest title kept for a text file (its first line), in characters.
const MAX_TITLE_CHARS: usize = 200;

/// Reads the pages under `path`: the file itself, or every indexable file of a folder and its
/// subfolders, in path order.
///
/// - `.html`/`.htm`: read as the Extract API reads a fetched page, by
///   [`crate::extract::extract_html`]: text = the main content as plain text (navigation,
///   headers, footers, sidebars and other boilerplate left out), title = the one the
///   extractor chooses (cut to 200 characters), publish date = the one the page states (head
///   metadata, body, or a date in the file's path).
/// - `.txt`/`.md`: title = the first non-empty line (for Markdown without `#` marks, after
///   any front matter), text = the whole file.
///
/// Each page's URL is `file:///absolute/path` (symbolic links resolved) and its
/// `fetched_at` is now. Inside folders, hidden entries (name starting with `.`), other kinds
/// of files, symbolic links to folders and files without text are skipped; a file given
/// directly must be of a supported kind ([`SearchError::Unsupported`]). Invalid UTF-8 is
/// replaced, not refused.
pub fn pages_from_path(path: impl AsRef<Path>) -> Result<Vec<IndexedPage>, SearchError> {
    let path = path.as_ref();
    let io_err = |p: &Path, e: std::io::Error| SearchError::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    let meta = fs::metadata(path).map_err(|e| io_err(path, e))?;
    if meta.is_file() {
        let kind = Kind::of(path).ok_or_else(|| SearchError::Unsupported {
            path: path.display().to_string(),
        })?;
        return Ok(read_page(path, kind)?.into_iter().collect());
    }
    let mut files = Vec::new();
    collect_files(path, &mut files)?;
    files.sort();
    let mut pages = Vec::with_capacity(files.len());
    for (file, kind) in files {
        pages.extend(read_page(&file, kind)?);
    }
    Ok(pages)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Html,
    Text,
    Markdown,
}

impl Kind {
    fn of(path: &Path) -> Option<Kind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "html" | "htm" => Some(Kind::Html),
            "txt" => Some(Kind::Text),
            "md" | "markdown" => Some(Kind::Markdown),
            _ => None,
        }
    }
}

fn collect_files(dir: &Path, out: &mut Vec<(PathBuf, Kind)>) -> Result<(), SearchError> {
    let io_err = |p: &Path, e: std::io::Error| SearchError::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    for entry in fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let file_type = entry.file_type().map_err(|e| io_err(&path, e))?;
        if file_type.is_dir() {
            collect_files(&path, out)?;
        } else if file_type.is_file() || (file_type.is_symlink() && path.is_file()) {
            if let Some(kind) = Kind::of(&path) {
                out.push((path, kind));
            }
        }
    }
    Ok(())
}

fn read_page(path: &Path, kind: Kind) -> Result<Option<IndexedPage>, SearchError> {
    let io_err = |e: std::io::Error| SearchError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let absolute = fs::canonicalize(path).map_err(io_err)?;
    let url = Url::from_file_path(&absolute)
        .map_err(|()| SearchError::Io {
            path: absolute.display().to_string(),
            message: "cannot be written as a file:// URL".to_string(),
        })?
        .to_string();
    let bytes = fs::read(path).map_err(io_err)?;
    let content = String::from_utf8_lossy(&bytes);
    let (title, text, published) = match kind {
        Kind::Html => html_page(&content, &url),
        Kind::Text => (first_line_title(&content), content.trim().to_string(), None),
        Kind::Markdown => (
            first_line_title(skip_front_matter(&content)),
            content.trim().to_string(),
            None,
        ),
    };
    if text.trim().is_empty() {
        tracing::debug!(path = %path.display(), "skipping a file without text");
        return Ok(None);
    }
    Ok(Some(IndexedPage {
        owner: None,
        url,
        title,
        text,
        published,
        fetched_at: Utc::now(),
    }))
}

fn first_line_title(content: &str) -> Option<String> {
    let line = content.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = line.trim_start_matches('#').trim();
    non_empty(&truncate_chars(line, MAX_TITLE_CHARS))
}

/// Markdown without its YAML (`---`) or TOML (`+++`) front matter.
fn skip_front_matter(content: &str) -> &str {
    let trimmed = content.trim_start_matches('\u{feff}');
    for fence in ["---", "+++"] {
        if let Some(rest) = trimmed.strip_prefix(fence) {
            if rest.starts_with('\n') || rest.starts_with("\r\n") {
                let closing = format!("\n{fence}");
                if let Some(end) = rest.find(&closing) {
                    return &rest[end + closing.len()..];
                }
            }
        }
    }
    trimmed
}

/// Title, text and publish date of an HTML document at `url`, by the one extractor (the
/// Extract API's): its main content only, as plain text.
fn html_page(html: &str, url: &str) -> (Option<String>, String, Option<chrono::NaiveDate>) {
    let extracted = crate::extract::extract_html(html, url);
    let title = extracted.title.map(|t| truncate_chars(&t, MAX_TITLE_CHARS));
    (title, extracted.text, extracted.published)
}

/// The URLs a sitemap lists, split by what they point to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sitemap {
    /// Pages (`<urlset><url><loc>`).
    pub pages: Vec<String>,
    /// Other sitemaps (`<sitemapindex><sitemap><loc>`), to fetch and read in turn.
    pub sitemaps: Vec<String>,
}

/// Every `<loc>` URL of a sitemap (`<urlset>`) or a sitemap index (`<sitemapindex>`): the
/// pages first, then the child sitemaps. See [`parse_sitemap`].
pub fn urls_from_sitemap(xml: &str) -> Vec<String> {
    let sitemap = parse_sitemap(xml);
    let mut urls = sitemap.pages;
    urls.extend(sitemap.sitemaps);
    urls
}

/// Reads a sitemap or a sitemap index (sitemaps.org protocol). Only `<loc>` elements directly
/// inside `<url>` or `<sitemap>` count (so the `<image:loc>` of image sitemaps does not);
/// namespace prefixes, CDATA sections, comments and character references are understood;
/// only absolute http(s) URLs are kept, each once, in document order. A malformed document
/// yields what could be read before the damage, never an error.
pub fn parse_sitemap(xml: &str) -> Sitemap {
    let mut out = Sitemap::default();
    let mut stack: Vec<String> = Vec::new();
    let mut pos = 0;
    while let Some(found) = xml[pos..].find('<') {
        let start = pos + found;
        let rest = &xml[start..];
        // Comments, CDATA outside <loc>, declarations and processing instructions.
        let skip_to =
            |terminator: &str| rest.find(terminator).map(|i| start + i + terminator.len());
        if rest.starts_with("<!--") {
            match skip_to("-->") {
                Some(next) => pos = next,
                None => break,
            }
            continue;
        }
        if rest.starts_with("<![CDATA[") {
            match skip_to("]]>") {
                Some(next) => pos = next,
                None => break,
            }
            continue;
        }
        let Some(end) = rest.find('>').map(|i| start + i) else {
            break;
        };
        let tag = &xml[start + 1..end];
        pos = end + 1;
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        let closing = tag.starts_with('/');
        let self_closing = tag.ends_with('/');
        let name = local_name(tag.trim_start_matches('/'));
        if closing {
            if let Some(open) = stack.iter().rposition(|n| *n == name) {
                stack.truncate(open);
            }
            continue;
        }
        if self_closing {
            continue;
        }
        if name == "loc" {
            let parent = stack.last().map(String::as_str);
            let Some(close) = xml[pos..].find("</").map(|i| pos + i) else {
                break;
            };
            let raw = &xml[pos..close];
            pos = close;
            let list = match parent {
                Some("url") => &mut out.pages,
                Some("sitemap") => &mut out.sitemaps,
                _ => continue,
            };
            if let Some(url) = loc_url(raw) {
                if !list.contains(&url) {
                    list.push(url);
                }
            }
            // The closing `</loc>` is handled (and ignored) by the next turn.
            stack.push(name);
            continue;
        }
        stack.push(name);
    }
    out
}

/// A tag's element name without attributes or namespace prefix, lower-cased.
fn local_name(tag: &str) -> String {
    let name = tag
        .split(|c: char| c.is_whitespace() || c == '/')
        .next()
        .unwrap_or_default();
    let local = name.rsplit(':').next().unwrap_or(name);
    local.to_ascii_lowercase()
}

fn loc_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let text = match raw
        .strip_prefix("<![CDATA[")
        .and_then(|r| r.strip_suffix("]]>"))
    {
        Some(inner) => inner.to_string(),
        None => decode_entities(raw),
    };
    let text = text.trim();
    let url = Url::parse(text).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of the usual shape: a site menu, an article, a footer.
    const PAGE: &str = r#"<!doctype html><html><head>
<title>New tide tables for Brastmoor | Harbour News</title>
<meta property="article:published_time" content="2023-05-06T08:00:00Z"></head>
<body>
<nav><ul><li><a href="/">Front page</a></li><li><a href="/sport">Sport results</a></li>
<li><a href="/weather">Weather today</a></li></ul></nav>
<article><h1>New tide tables for Brastmoor</h1>
<p>The harbour master of Brastmoor published the new tide tables on Saturday, with the
spring tides expected to reach four metres at the north quay.</p>
<p>Fishing boats are asked to leave the inner basin two hours before high water, since the
lock gates will close early during the highest tides of the year.</p>
<p>The tables are posted at the harbour office and at the lifeboat station, and copies can
be collected free of charge from the town library.</p>
</article>
<footer><p>Copyright 2023 Harbour News. All rights reserved.</p>
<p><a href="/privacy">Privacy policy</a> | <a href="/contact">Contact the newsroom</a></p>
</footer>
</body></html>"#;

    #[test]
    fn an_html_file_is_read_by_the_extractor() {
        let dir = std::env::temp_dir().join(format!("parallax-ingest-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tides.html");
        fs::write(&file, PAGE).unwrap();
        let pages = pages_from_path(&file);
        fs::remove_dir_all(&dir).unwrap();
        let pages = pages.unwrap();
        let page = &pages[0];
        // The article's text stays, the menu and the footer go.
        for kept in [
            "spring tides expected to reach four metres",
            "lock gates will close early",
            "collected free of charge from the town library",
        ] {
            assert!(page.text.contains(kept), "{kept:?} lost: {:?}", page.text);
        }
        for dropped in [
            "Front page",
            "Sport results",
            "Weather today",
            "All rights reserved",
            "Privacy policy",
            "Contact the newsroom",
        ] {
            assert!(
                !page.text.contains(dropped),
                "{dropped:?} kept: {:?}",
                page.text
            );
        }
        // Exactly what the Extract API makes of the page.
        let extracted = crate::extract::extract_html(PAGE, &page.url);
        assert_eq!(page.text, extracted.text);
        assert_eq!(page.title, extracted.title);
        assert_eq!(page.title.as_deref(), Some("New tide tables for Brastmoor"));
        assert_eq!(page.published, chrono::NaiveDate::from_ymd_opt(2023, 5, 6));
    }
}
