//! Main-content extraction: from a fetched page (HTML, PDF or plain text) to its title, its
//! publish date, and its main content as clean markdown and as plain text, split into
//! passages for ranking.
//!
//! # What comes out
//!
//! Every entry point returns an [`Extracted`]:
//! - `title`: from the page's metadata and headings (see below);
//! - `published`: the date the page says it was published, when it says one;
//! - `authors`: the names of its authors, when it states them (see [`authors`]);
//! - `markdown`: the main content only, as markdown: headings (ATX, `#`), paragraphs, lists,
//!   block quotes, pipe tables, fenced code blocks (with their language when the page names
//!   it) and inline links `[text](absolute url)`. Navigation, site headers and footers,
//!   sidebars, ads, cookie banners, share bars, newsletter boxes, bylines, comment
//!   sections, citation markers (`[12]`) and reference sections (References, Further
//!   reading, External links, …) are left out, and so are images and media. Blocks are
//!   separated by exactly one blank line, table padding is removed, trailing spaces are
//!   trimmed and invisible characters (zero-width spaces, soft hyphens, BOMs) removed; no
//!   word is ever cut;
//! - `text`: the same content as plain text (markdown syntax, escapes and link targets
//!   removed, table cells separated by tabs, code kept verbatim), for ranking and indexing;
//! - `links`: the links of the main content, absolute and deduplicated.
//!
//! [`passages`] then splits `markdown` into passages at block boundaries, each carrying its
//! nearest heading, for the ranking module.
//!
//! # How HTML is handled ([`extract_html`])
//!
//! The page is parsed once (html5ever, through `dom_query`, the DOM of `dom_smoothie`), and
//! that one tree serves every step:
//! 1. **Head metadata**: the title candidates `og:title`/`twitter:title`, JSON-LD
//!    `headline` and the `<title>`; the publish date from JSON-LD `datePublished` (article
//!    types first, `@graph` followed) and then `<meta>` tags (`article:published_time`,
//!    `og:published_time`, `datePublished`, `pubdate`, `DC.date.issued`,
//!    `citation_publication_date`, `parsely-pub-date`, `date`, …).
//! 2. **Boilerplate removal**, in one walk over the tree and before any scoring: scripts,
//!    styles, form controls and dialogs always; `nav`, `aside`, `footer`, `form`, ARIA
//!    navigation/complementary/contentinfo landmarks and hidden elements, site `header`s
//!    (outside `article`/`main`), elements whose class or id names boilerplate (cookie,
//!    consent, comments, share/social, related, newsletter/subscribe, ads, sidebar,
//!    breadcrumbs, menus, image captions and credits, galleries, screen-reader-only text,
//!    …, matched as whole words or unambiguous substrings), `figcaption`s, short media
//!    player blocks (class words `video`, `player`, `audio`, `podcast`: titles, durations,
//!    credits), cookie banners recognised by their accept/reject buttons, and comment,
//!    share or "related stories" sections recognised by their heading in any of the
//!    languages of `vocab` ("Mehr zum Thema", "À lire aussi", "Komentarze"; the heading's
//!    parent goes only when the heading opens it) or by a short label outside headings
//!    ("Lesen Sie auch:", "War der Artikel nützlich?": the label, or the small box it
//!    opens), unless they hold the main
//!    content: an element is kept when it is `html`, `body`, `main` or `article`, contains
//!    one of them, an `<h1>` or an `itemprop="articleBody"`, or holds more than 40 % of the
//!    page's text or more than half of its prose (paragraphs not made mostly of links); a
//!    kept element loses its boilerplate class name, so that readability keeps it too. Headings that remain lose their class and id (unless it hides them), so
//!    that readability does not drop a sub-heading such as `<h2 class="subheader">`.
//! 3. **Body metadata**, in a second walk: the date from `itemprop="datePublished"`, then
//!    `<time datetime>` (one marked as the publication time first), then short date texts
//!    in elements named date/published/posted; the main `<h1>`; bylines (removed once read);
//!    and the **structural candidate** for the content: `[itemprop=articleBody]`, else the
//!    largest `<article>` (unless the page is a list of articles), else `<main>` or
//!    `[role=main]`, else a usual content id or class. When a semantic candidate holds at
//!    least 60 % of the page's words, the tree is confined to it, so that readability
//!    cannot wander into its siblings.
//! 4. **Readability** (`dom_smoothie`, a port of Mozilla's readability.js) picks the main
//!    content of the cleaned tree.
//! 5. **Fallback**: the structural candidate (or the body), with link-dense blocks (menus,
//!    link lists) pruned, is used instead when readability fails, finds almost nothing, or
//!    keeps less than half of a semantic candidate or less than a fifth of the body — the
//!    candidate's words counted after its link-dense blocks are pruned, so that a short
//!    article among menus and link lists is not traded for the whole page. So
//!    every page yields something sensible, including short pages and pages made only of
//!    `<div>`s. Words are counted so that these comparisons hold for scripts written
//!    without spaces too (Chinese, Japanese, Thai, Burmese, …: two characters per word).
//! 6. **Markdown**: `htmd` converts the chosen HTML, with images, media and form controls
//!    skipped, in-page and `javascript:` links reduced to their text, permalink symbols
//!    (`¶`) dropped and `<pre>` without `<code>` fenced; whitespace is normalised,
//!    reference sections dropped, and so are final blocks made mostly of links or bare web
//!    addresses (lists of other stories, "follow us" boxes), final copyright notices and
//!    the labels announcing them or prompting to share or comment, in any language of
//!    `vocab` ("Artikel teilen"); a dateline opening the content (a short line with a clock
//!    time that is not a sentence) is dropped once the date has been looked for in it. The title is then chosen: the main `<h1>` when the
//!    `<title>` or `og:title` contains it, else a part of the `<title>` that the content
//!    repeats as a line, else `og:title` (without the site name), JSON-LD `headline`, the
//!    `<title>` trimmed of the site name; a date stated in the first lines of the content
//!    ("Posted on 14 February 2022", or a line opening with the date before a separator:
//!    "25. Januar 2022 | Berlin – …") or in the URL's path (`/2024/03/15/`) is the last
//!    resort for `published`.
//!
//! The work is linear in the page size, except that the guards of step 2 visit the subtree
//! of each candidate for removal (bounded by the tree's depth, and skipped inside subtrees
//! already removed). A typical 100 KB article page takes about 3–4 ms in a release build on one
//! core (`bench/extract` measures it on real pages, beside trafilatura).
//! Should the HTML libraries ever panic, [`extract_html`] returns the page's bare text.
//!
//! # PDF and plain text
//!
//! [`extract_pdf`] reads the text in content order with `pdf-extract`, joins words
//! hyphenated across line ends, and takes the title from the document information
//! dictionary (unless it is a placeholder like "Untitled" or a file name) or else the first
//! non-empty line, and the date from its `CreationDate` (else the URL). `pdf-extract` may
//! panic on malformed files: that is caught and returned as an [`ExtractError`], as are
//! parse errors and encrypted files. [`extract_text`] treats plain text as already being
//! markdown-like text: whitespace normalised, title from the first line.

mod authors;
mod html;
pub(crate) mod markdown;
mod meta;
mod passage;
mod pdf;
mod vocab;

pub use markdown::{markdown_to_text, tables_as_text};
pub use meta::parse_date;
pub use passage::passages;

use chrono::NaiveDate;

/// What extraction found in one page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    /// The page's title, when it has one.
    pub title: Option<String>,
    /// The date the page states it was published, when it states one.
    pub published: Option<NaiveDate>,
    /// The names of the page's authors, as the page states them (JSON-LD, `<meta>`, or a
    /// byline), in order; empty when it names none.
    pub authors: Vec<String>,
    /// The main content as clean markdown.
    pub markdown: String,
    /// The main content as plain text (the markdown without its syntax), for ranking.
    pub text: String,
    /// The links of the main content, absolute where the page URL allows, deduplicated,
    /// in document order.
    pub links: Vec<Link>,
}

/// A link found in the main content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The target, made absolute against the page URL when possible.
    pub url: String,
    /// The link's text, whitespace normalised (may be empty).
    pub text: String,
}

/// A piece of a page's main content, as [`passages`] cuts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    /// The passage's markdown (one or more whole blocks, or a piece of a long block cut at a
    /// line, sentence or word boundary).
    pub text: String,
    /// The text of the nearest heading above the passage, as plain text.
    pub heading: Option<String>,
    /// Byte offset in [`Extracted::markdown`] where the passage starts.
    pub offset: usize,
}

/// Why a document could not be extracted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// The bytes are not a PDF that can be read.
    #[error("unreadable PDF: {0}")]
    Pdf(String),
    /// The PDF is encrypted with a password.
    #[error("the PDF is encrypted")]
    Encrypted,
    /// The PDF parser failed on the file (it panicked; the panic was contained).
    #[error("the PDF parser failed on this file: {0}")]
    Parser(String),
}

/// Extracts title, publish date and main content from an HTML page. `url` is the page's
/// address, used to make links absolute and as a last source of the publish date; it may
/// be empty. Never fails: a page with no recognisable content gives empty `markdown`, and
/// should the HTML libraries panic on some input, the page's bare text is returned. This is
/// CPU-bound work (milliseconds): async callers should run it on a blocking thread.
pub fn extract_html(html: &str, url: &str) -> Extracted {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| html::extract(html, url))) {
        Ok(e) => e,
        Err(_) => {
            tracing::warn!(
                url,
                "HTML extraction failed; falling back to the page's bare text"
            );
            html::bare_page(html, url)
        }
    }
}

/// Extracts the text of a PDF in reading order, its title and its creation date. Returns an
/// error (never panics) when the bytes are not a readable PDF. `url` is the document's
/// address (used for a date in its path when the PDF states none).
pub fn extract_pdf(bytes: &[u8], url: &str) -> Result<Extracted, ExtractError> {
    pdf::extract(bytes, url)
}

/// Wraps plain text as an [`Extracted`]: whitespace normalised, title from the first
/// non-empty line. `url` is the document's address (used for a date in its path).
///
/// Runs of tab-separated lines become markdown tables in `markdown`: they are table rows
/// (the local index holds [`markdown_to_text`]'s output, which writes rows that way), and
/// a reader needs to know which label a table cell belongs to ("Headquarters" → its row's
/// value), which a tab collapsed to a space would lose.
pub fn extract_text(text: &str, url: &str) -> Extracted {
    let body = markdown::normalize_plain(text);
    let title = markdown::first_line_title(&body);
    let markdown = if text.contains('\t') {
        markdown::normalize_plain(&markdown::tab_rows_as_tables(text))
    } else {
        body.clone()
    };
    Extracted {
        title,
        published: meta::date_from_url(url),
        authors: Vec::new(),
        text: body,
        markdown,
        links: Vec::new(),
    }
}
