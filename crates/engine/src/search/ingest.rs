//! Turning local files and sitemaps into pages for the local index (`parallax index add`).

use std::fs;
use std::path::{Path, PathBuf};

use chrono::Utc;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::text::{
    collapse_whitespace, decode_entities, non_empty, parse_loose_date, truncate_chars,
};
use super::{IndexedPage, SearchError};

/// Longest title kept for a text file (its first line), in characters.
const MAX_TITLE_CHARS: usize = 200;

/// Reads the pages under `path`: the file itself, or every indexable file of a folder and its
/// subfolders, in path order.
///
/// - `.html`/`.htm`: title from `<title>` (else the first `<h1>`), text = the body's text
///   without scripts, styles and similar, one line per block; the publish date from
///   `article:published_time`/`date`/`DC.date`/`datePublished` meta tags when present. (A
///   deliberately simple extraction; the pipeline's main-content extraction is
///   `crate::extract`.)
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
        Kind::Html => html_page(&content),
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

/// Title, text and publish date of an HTML document.
fn html_page(html: &str) -> (Option<String>, String, Option<chrono::NaiveDate>) {
    let doc = Html::parse_document(html);
    let first_text = |selector: &str| {
        let selector = Selector::parse(selector).ok()?;
        doc.select(&selector)
            .map(|e| collapse_whitespace(&e.text().collect::<String>()))
            .find(|t| !t.is_empty())
    };
    let title = first_text("title")
        .or_else(|| first_text("h1"))
        .map(|t| truncate_chars(&t, MAX_TITLE_CHARS));
    let published = Selector::parse(
        "meta[property='article:published_time'], meta[name='date'], meta[name='DC.date'], \
         meta[name='dc.date'], meta[itemprop='datePublished'], meta[name='pubdate']",
    )
    .ok()
    .and_then(|selector| {
        doc.select(&selector)
            .filter_map(|m| m.value().attr("content"))
            .find_map(parse_loose_date)
    });
    let mut text = String::new();
    let root = Selector::parse("body")
        .ok()
        .and_then(|body| doc.select(&body).next())
        .unwrap_or_else(|| doc.root_element());
    append_text(root, &mut text);
    let text = text
        .lines()
        .map(collapse_whitespace)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    (title, text, published)
}

/// Elements whose content is not text a reader sees.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "head", "svg", "iframe", "object", "canvas",
];

/// Elements after which a new line starts.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "blockquote",
    "pre",
    "dt",
    "dd",
    "dl",
    "figure",
    "figcaption",
    "hr",
    "address",
    "form",
    "fieldset",
    "details",
    "summary",
];

fn append_text(element: ElementRef<'_>, out: &mut String) {
    for child in element.children() {
        if let Some(text) = child.value().as_text() {
            out.push_str(text);
        } else if let Some(child) = ElementRef::wrap(child) {
            let name = child.value().name();
            if SKIPPED.contains(&name) {
                continue;
            }
            let block = BLOCKS.contains(&name);
            // Inline elements add nothing: `a<b>b</b>` reads "ab", as a browser shows it.
            if block {
                out.push('\n');
            }
            append_text(child, out);
            if block {
                out.push('\n');
            } else if matches!(name, "td" | "th") {
                out.push(' ');
            }
        }
    }
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
