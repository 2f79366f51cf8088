//! The HTML pipeline: parse once, read metadata, remove boilerplate, let readability pick
//! the main content, check it against a structural fallback, convert to markdown.
//!
//! The DOM types of `dom_query` are reached through [`Readability::doc`] (the crate is not
//! a direct dependency), so the tree walks below live in functions over a `Readability`
//! and in macros rather than in helpers over node types.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use dom_smoothie::{Config, Readability};
use url::Url;

use super::markdown::{collapse_ws, drop_leading_dateline, html_to_markdown, markdown_to_text};
use super::meta;
use super::vocab;
use super::{authors, Extracted, Link};

/// Above this many elements readability is skipped (it is not linear on such pages) and the
/// structural fallback is used.
const MAX_READABILITY_ELEMENTS: usize = 40_000;

/// Above this element depth a page is treated as hostile: the recursive steps (readability's
/// scoring, the markdown converter) would take quadratic time or exhaust the stack, so only
/// the page's bare text is returned. Real pages stay far below it.
const MAX_DEPTH: usize = 256;

/// Above this nesting of container tags in the source (see [`estimated_depth`]) the page is
/// not even parsed.
const MAX_SOURCE_DEPTH: usize = 1000;

/// Substrings of a lower-cased class or id token that name boilerplate unambiguously.
const BOILERPLATE_SUBSTRINGS: &[&str] = &[
    "cookie",
    "consent",
    "gdpr",
    "newsletter",
    "disqus",
    "outbrain",
    "taboola",
    "advert",
    "sponsored",
    "sharing",
    "sharebar",
    "share-bar",
    "sharedaddy",
    "socialshare",
    "social-share",
    "breadcrumb",
    "subscribe",
    "signup",
    "sign-up",
    "skip-link",
    "skiplink",
    "skip-to",
    "screen-reader",
    "sr-only",
    "visually-hidden",
    "visuallyhidden",
    "commentlist",
    "comment-list",
    "comments-area",
    "comment-respond",
    "commentform",
    "relatedpost",
    "related-post",
    "related-articles",
    "related-stories",
    "relatedarticles",
    "recirc",
    "mostpopular",
    "most-popular",
    "most-read",
    "trending",
    "paywall-prompt",
    "promo-box",
    "author-box",
    // Disclaimers and notices under a post ("The views expressed are the author's own").
    "disclaimer",
    "notice",
    // A post's footer line ("This entry was posted in …"), rating widgets.
    "entry-utility",
    "post-ratings",
    "postratings",
    "post-navigation",
    "postnav",
    // The teaser of the next story under this one.
    "next-post",
    "nextpost",
    "next-story",
    "nextstory",
    "next-article",
    "navbox",
    "catlinks",
    "printfooter",
    "editsection",
    "edit-section",
    "jump-link",
    // Image captions and credits go with the images, which are left out; text only for
    // screen readers.
    "caption",
    "offscreen",
    "off-screen",
];

/// Substrings of a class or id that name photo galleries. They go with the images, which
/// are left out, but the same names also wrap the running text of a photo story, so an
/// element that holds prose stays (its captions, named as such, still go).
const GALLERY_SUBSTRINGS: &[&str] = &["gallery", "slideshow"];

/// Whole words of class or id tokens that name navigation: links to elsewhere. An element
/// so named that holds prose (`id="toc-section-2"` on a section of the article) stays.
const NAVIGATION_WORDS: &[&str] = &[
    "breadcrumbs",
    "nav",
    "navbar",
    "navigation",
    "menu",
    "toolbar",
    "pagination",
    "pager",
    "toc",
];

/// Whole words (class/id tokens split at `-`, `_`, `:`) that name boilerplate.
const BOILERPLATE_WORDS: &[&str] = &[
    "comment",
    "comments",
    "respond",
    "replies",
    "share",
    "shares",
    "social",
    "related",
    "recommended",
    "recommendations",
    "promo",
    "promos",
    "promotion",
    "ad",
    "ads",
    "adv",
    "adslot",
    "advertisement",
    "sponsor",
    "sponsors",
    "sidebar",
    "footer",
    "popup",
    "modal",
    "overlay",
    "login",
    "subscription",
    "widget",
    "widgets",
    "masthead",
    // Captions by their other name (French "légende"); whole words, since German ids
    // made from headings hold "grundlegende".
    "legend",
    "legende",
];

/// Whole words of class or id tokens that name a media player: its title, duration and
/// credits go with the video, which is left out. Only short elements are removed.
const MEDIA_WORDS: &[&str] = &["video", "player", "audio", "podcast"];

/// The most non-whitespace characters of a media element's text that is removed.
const MEDIA_MAX_CHARS: usize = 300;

/// Class and id substrings of teasers: a headline, maybe a line of text, all one link to
/// another page. Only elements whose text is mostly link text are removed, since some
/// sites call an article's lead its teaser.
const TEASER_SUBSTRINGS: &[&str] = &[
    "teaser",
    "tile",
    "card",
    // WordPress's card of another post embedded in this one.
    "wp-embedded",
];

/// Class and id substrings of an image's container, whose text besides the image is its
/// caption or credit.
const PICTURE_SUBSTRINGS: &[&str] = &[
    "image", "img", "photo", "foto", "picture", "bild", "visual", "figure",
];

/// The most non-whitespace characters of an image container's text that is removed with
/// the image: a caption, not a paragraph set beside a picture.
const PICTURE_MAX_CHARS: usize = 400;

/// The most prose (a paragraph, or text set off by line breaks) an image container may hold
/// and still be taken for a caption.
const CAPTION_MAX_PROSE: usize = 150;

/// The most non-whitespace characters of a teaser: more is a section, not a link to one.
const TEASER_MAX_CHARS: usize = 1500;

/// The prose (see [`paragraph_prose!`]) that keeps an element whose name is only weak
/// evidence of boilerplate.
const WEAK_NAME_PROSE: usize = 300;

/// Whether a class or id value names a media player.
fn is_media_name(value: &str) -> bool {
    value.split_ascii_whitespace().any(|token| {
        token
            .to_ascii_lowercase()
            .split(['-', '_', ':'])
            .any(|w| MEDIA_WORDS.contains(&w))
    })
}

/// Texts of buttons and links that answer a cookie or consent banner.
const CONSENT_ANSWERS: &[&str] = &[
    "accept",
    "accept all",
    "accept cookies",
    "accept all cookies",
    "allow",
    "allow all",
    "allow cookies",
    "agree",
    "i agree",
    "i accept",
    "got it",
    "ok",
    "okay",
    "reject",
    "reject all",
    "decline",
    "deny",
    "manage cookies",
    "manage preferences",
    "cookie settings",
    "customize",
    "customise",
    "preferences",
    "settings",
    "close",
    // The same answers in the other languages of the web.
    "akzeptieren",
    "alle akzeptieren",
    "cookies akzeptieren",
    "zustimmen",
    "alle zustimmen",
    "einverstanden",
    "ich stimme zu",
    "verstanden",
    "ok, verstanden",
    "ablehnen",
    "alle ablehnen",
    "einstellungen",
    "schließen",
    "accepter",
    "tout accepter",
    "j'accepte",
    "refuser",
    "tout refuser",
    "aceptar",
    "acepto",
    "rechazar",
    "accetta",
    "accetto",
    "accetta tutti",
    "rifiuta",
    "accepteren",
    "akkoord",
    "weigeren",
    "akceptuję",
    "zgadzam się",
    "aceitar",
    "aceito",
];

/// Whether a class or id value names boilerplate. A BEM modifier (after `--`) says how a
/// thing looks or what it holds, not what it is (`TestReport__Section--Ads` is a section of
/// the report), so only the part before it counts.
fn is_boilerplate_name(value: &str) -> bool {
    name_strength(value).is_some()
}

/// How surely a class or id value names boilerplate: `Some(true)` for names that no
/// content wears, `Some(false)` for names of navigation or of the parts around pictures
/// (see [`GALLERY_SUBSTRINGS`], [`NAVIGATION_WORDS`]), `None` for other names.
fn name_strength(value: &str) -> Option<bool> {
    let mut weak = false;
    for token in value.split_ascii_whitespace() {
        let token = match token.find("--") {
            Some(0) | None => token,
            Some(i) => &token[..i],
        };
        let words = || token.split(['-', '_', ':']);
        if BOILERPLATE.is_match(token)
            || words().any(|w| BOILERPLATE_WORDS.iter().any(|b| b.eq_ignore_ascii_case(w)))
        {
            return Some(true);
        }
        weak = weak
            || GALLERIES.is_match(token)
            || words().any(|w| NAVIGATION_WORDS.iter().any(|b| b.eq_ignore_ascii_case(w)));
    }
    weak.then_some(false)
}

/// A list of class and id substrings, matched case-insensitively in one pass by an automaton
/// built on first use: every element's class and id are matched against several such lists,
/// and one pass is much cheaper than a search per substring.
struct Substrings {
    words: &'static [&'static str],
    automaton: OnceLock<AhoCorasick>,
}

impl Substrings {
    const fn new(words: &'static [&'static str]) -> Self {
        Substrings {
            words,
            automaton: OnceLock::new(),
        }
    }

    /// Whether `haystack` contains one of the words, ASCII case ignored.
    fn is_match(&self, haystack: &str) -> bool {
        self.automaton
            .get_or_init(|| {
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(self.words)
                    .expect("a small literal automaton builds")
            })
            .is_match(haystack)
    }
}

static BOILERPLATE: Substrings = Substrings::new(BOILERPLATE_SUBSTRINGS);
static GALLERIES: Substrings = Substrings::new(GALLERY_SUBSTRINGS);
static TEASERS: Substrings = Substrings::new(TEASER_SUBSTRINGS);
static PICTURES: Substrings = Substrings::new(PICTURE_SUBSTRINGS);
static DATES: Substrings = Substrings::new(DATE_HINTS);
static BYLINES: Substrings = Substrings::new(BYLINE_SUBSTRINGS);
static AUTHOR_BOXES: Substrings = Substrings::new(AUTHOR_BOX_SUBSTRINGS);
/// Names of the date of the last change, not of the publication.
static UPDATES: Substrings = Substrings::new(&["updat", "modif"]);
/// Names of the buttons of a consent banner.
static CONSENT_CONTROLS: Substrings =
    Substrings::new(&["accept", "consent", "cookie", "agree", "dismiss"]);

/// The attributes the scans look at, borrowed from one element.
#[derive(Default)]
struct Attrs<'a> {
    class: Option<&'a str>,
    id: Option<&'a str>,
    role: Option<&'a str>,
    itemprop: Option<&'a str>,
    style: Option<&'a str>,
    typ: Option<&'a str>,
    href: Option<&'a str>,
    rel: Option<&'a str>,
    datetime: Option<&'a str>,
    aria_hidden: bool,
    aria_modal: bool,
    hidden: bool,
    pubdate: bool,
}

impl<'a> Attrs<'a> {
    fn read(attrs: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut a = Attrs::default();
        for (name, value) in attrs {
            match name {
                "class" => a.class = Some(value),
                "id" => a.id = Some(value),
                "role" => a.role = Some(value),
                "itemprop" => a.itemprop = Some(value),
                "style" => a.style = Some(value),
                "type" => a.typ = Some(value),
                "href" => a.href = Some(value),
                "rel" => a.rel = Some(value),
                "datetime" => a.datetime = Some(value),
                "aria-hidden" => a.aria_hidden = value.trim().eq_ignore_ascii_case("true"),
                "aria-modal" => a.aria_modal = value.trim().eq_ignore_ascii_case("true"),
                "hidden" => a.hidden = true,
                "pubdate" => a.pubdate = true,
                _ => {}
            }
        }
        a
    }

    fn role_is(&self, roles: &[&str]) -> bool {
        self.role
            .is_some_and(|r| roles.iter().any(|x| r.trim().eq_ignore_ascii_case(x)))
    }

    fn class_or_id_contains(&self, needles: &Substrings) -> bool {
        [self.class, self.id]
            .into_iter()
            .flatten()
            .any(|v| needles.is_match(v))
    }

    fn invisible_style(&self) -> bool {
        self.style.is_some_and(|s| {
            let compact: String = s
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase();
            compact.contains("display:none") || compact.contains("visibility:hidden")
        })
    }
}

/// What the boilerplate scan makes of one element.
#[derive(Default, Clone, Copy)]
struct Pre {
    /// Never content: scripts, styles, controls, dialogs.
    always: bool,
    /// Boilerplate unless it holds the content: `nav`, `aside`, `footer`, `form`, landmarks,
    /// hidden elements.
    guarded: bool,
    /// A `header` or banner landmark.
    header: bool,
    /// A class or id that names boilerplate.
    named: bool,
    /// Only weakly (see [`name_strength`]).
    weak: bool,
    /// A control that may answer a consent banner.
    consent: bool,
    /// A heading that may introduce comments or story lists.
    heading: bool,
    /// An element that may be a label or prompt outside headings (kept for a look when it
    /// is a short paragraph or has no child elements).
    label: bool,
    /// A superscript, maybe a citation marker (`[12]`).
    sup: bool,
    /// A class or id that names a media player.
    media: bool,
    /// A class or id that names a teaser.
    teaser: bool,
    /// A `<figure>` or an element whose class or id names an image container.
    picture: bool,
}

fn classify_pre(tag: &str, a: &Attrs) -> Pre {
    let always = match tag {
        "script" => !a
            .typ
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json")),
        "style" | "noscript" | "template" | "svg" | "canvas" | "iframe" | "object" | "embed"
        | "button" | "input" | "select" | "textarea" | "label" | "dialog" | "link" => true,
        _ => a.aria_modal || a.role_is(&["dialog", "alertdialog", "search"]),
    };
    let guarded = matches!(tag, "nav" | "aside" | "footer" | "form")
        || a.role_is(&[
            "navigation",
            "complementary",
            "contentinfo",
            "menubar",
            "menu",
            // A row of tabs, but also (Bootstrap accordions) the panels of text under them:
            // kept when it holds the content.
            "tablist",
        ])
        || a.aria_hidden
        || a.hidden
        || a.invisible_style();
    let consent = match tag {
        "button" => true,
        "input" => a
            .typ
            .is_some_and(|t| t.eq_ignore_ascii_case("button") || t.eq_ignore_ascii_case("submit")),
        "a" => {
            a.role_is(&["button"])
                || a.href.is_none_or(|h| {
                    let h = h.trim();
                    h.is_empty()
                        || h.starts_with('#')
                        || h.to_ascii_lowercase().starts_with("javascript:")
                })
                || a.class_or_id_contains(&CONSENT_CONTROLS)
        }
        _ => a.role_is(&["button"]),
    };
    let strength = |v: Option<&str>| v.and_then(name_strength);
    let named = if tag == "figcaption" {
        Some(true)
    } else {
        match (strength(a.class), strength(a.id)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), _) | (_, Some(false)) => Some(false),
            _ => None,
        }
    };
    Pre {
        always,
        guarded,
        header: tag == "header" || a.role_is(&["banner"]),
        named: named.is_some(),
        weak: named == Some(false),
        consent,
        heading: matches!(tag, "h2" | "h3" | "h4" | "h5") || a.role_is(&["heading"]),
        label: matches!(tag, "p" | "strong" | "b" | "span" | "div" | "em" | "a"),
        sup: tag == "sup",
        media: a.class.is_some_and(is_media_name) || a.id.is_some_and(is_media_name),
        teaser: a.class_or_id_contains(&TEASERS),
        picture: tag == "figure" || a.class_or_id_contains(&PICTURES),
    }
}

/// Classes that content management systems give the body of a post, and nothing else.
const POST_BODY_CLASSES: &[&str] = &[
    "entry-content",
    "post-body",
    "post-content",
    "article-body",
    "article-content",
    "story-body",
];

/// Whether `n` is or contains what marks a page's main content: `html`, `body`, `main`,
/// `[role=main]`, `[itemprop=articleBody]`, a [`POST_BODY_CLASSES`] element, and when asked,
/// an `<h1>` or an `<article>` (weaker marks: a list of teasers may be made of
/// `<article>`s). Such a node is the content's column, whatever its class calls it.
pub(super) fn marks_main_content(n: &dom_query::NodeRef, h1: bool, article: bool) -> bool {
    if n.has_name("html") || n.has_name("body") || n.has_name("main") || n.has_name("article") {
        return true;
    }
    n.descendants_it().any(|d| {
        d.has_name("main")
            || (article && d.has_name("article"))
            || (h1 && d.has_name("h1"))
            || d.element_ref().is_some_and(|el| {
                el.attrs.iter().any(|at| {
                    (&*at.name.local == "itemprop" && at.value.eq_ignore_ascii_case("articleBody"))
                        || (&*at.name.local == "role" && at.value.eq_ignore_ascii_case("main"))
                        || (&*at.name.local == "class"
                            && at.value.split_ascii_whitespace().any(|t| {
                                POST_BODY_CLASSES.iter().any(|c| t.eq_ignore_ascii_case(c))
                            }))
                })
            })
    })
}

/// Whether a node must be kept because it holds the main content: its own tag, a
/// descendant that is or marks the content ([`marks_main_content`]), or a large share of
/// the page's text. `$h1` says whether containing an `<h1>` protects.
macro_rules! holds_content {
    ($node:expr, $page:expr, $h1:expr) => {{
        let n = &$node;
        if marks_main_content(n, $h1, true) {
            true
        } else {
            let chars = text_chars!(n);
            (chars > 400 && chars * 10 > $page.chars * 4)
                || (chars > 200 && {
                    // Most of the page's prose: a content column whose class happens to name
                    // a layout part (`l-sidebar-fixed l-article-body`, `elementor-widget`)
                    // among menus and footers that outweigh it in plain characters.
                    let prose = $page.prose_in.get(&n.id).copied().unwrap_or(0);
                    prose > 200 && prose * 2 > $page.prose
                })
        }
    }};
}

/// Non-whitespace characters of a paragraph (`<p>`), or 0 when it is mostly link text (a
/// teaser, a link list): a measure of running prose.
macro_rules! paragraph_prose {
    ($p:expr, $chars:expr) => {{
        let chars = $chars;
        if linked_chars(&$p) * 2 < chars {
            chars
        } else {
            0
        }
    }};
}

/// Non-whitespace characters of a long text node right in a block container (text set off
/// by `<br>`s in a `<div>`, as old blogs write it), or 0 for a short one, one in a
/// paragraph (counted by [`paragraph_prose!`]), a link, a table cell, a script or a style.
macro_rules! loose_prose {
    ($text:expr) => {{
        let chars = text_chars!($text);
        if chars >= 80
            && $text.parent().is_some_and(|p| {
                [
                    "div",
                    "section",
                    "article",
                    "main",
                    "blockquote",
                    "font",
                    "center",
                    "body",
                ]
                .iter()
                .any(|t| p.has_name(t))
            })
            && !$text.ancestors_it(None).any(|a| {
                [
                    "p", "a", "script", "style", "noscript", "template", "title", "head",
                ]
                .iter()
                .any(|t| a.has_name(t))
            })
        {
            chars
        } else {
            0
        }
    }};
}

/// The size of the page's text, against which a candidate for removal is weighed.
struct PageSize<K> {
    /// Non-whitespace characters of the body.
    chars: usize,
    /// The body's prose: [`paragraph_prose!`] of its paragraphs and [`loose_prose!`] of
    /// its other text.
    prose: usize,
    /// The prose inside each element that has any.
    prose_in: HashMap<K, usize>,
}

/// Non-whitespace characters of a node's text.
macro_rules! text_chars {
    ($node:expr) => {
        $node.text().chars().filter(|c| !c.is_whitespace()).count()
    };
}

/// Non-whitespace characters of a node's text inside its links (see [`text_chars!`]).
fn linked_chars(node: &dom_query::NodeRef) -> usize {
    node.descendants_it()
        .filter(|d| d.has_name("a"))
        .map(|a| text_chars!(a))
        .sum()
}

/// Non-whitespace characters of the siblings before a node.
macro_rules! text_before {
    ($node:expr) => {{
        let mut before = 0;
        let mut prev = $node.prev_sibling();
        while let Some(p) = prev {
            before += text_chars!(p);
            prev = p.prev_sibling();
        }
        before
    }};
}

/// Runs `$f(attrs)` on the attributes of an element node; `None` for other nodes.
macro_rules! with_attrs {
    ($node:expr, |$tag:ident, $a:ident| $body:expr) => {
        $node.element_ref().map(|el| {
            let $tag: &str = &el.name.local;
            let $a = Attrs::read(el.attrs.iter().map(|at| (&*at.name.local, &*at.value)));
            $body
        })
    };
}

/// The shortest image description a caption is recognised by: shorter ones ("Foto",
/// a name) are also the words of ordinary lines.
const CAPTION_MIN_ALT_CHARS: usize = 30;

/// The block right after an image (or after the container it is the only content of) that
/// repeats the image's `alt` or `title`, maybe followed by a credit: the image's caption,
/// written beside its container rather than in it.
fn caption_after<'a>(img: &dom_query::NodeRef<'a>) -> Option<dom_query::NodeRef<'a>> {
    let alt = ["alt", "title"]
        .iter()
        .filter_map(|a| img.attr(a))
        .map(|v| collapse_ws(&v))
        .find(|v| v.chars().filter(|c| !c.is_whitespace()).count() >= CAPTION_MIN_ALT_CHARS)?;
    let mut holder = *img;
    for _ in 0..4 {
        if let Some(next) = holder.next_element_sibling() {
            let text = collapse_ws(&next.text());
            // A heading that repeats it is the story's title, the image's description
            // taken from it.
            let heading = ["h1", "h2", "h3", "h4", "h5", "h6"]
                .iter()
                .any(|h| next.has_name(h) || next.descendants_it().any(|d| d.has_name(h)));
            let repeats = text.starts_with(alt.as_str())
                && text.len() <= alt.len() + 100
                && !heading
                && !next.descendants_it().any(|d| d.has_name("img"));
            return repeats.then_some(next);
        }
        // Up to the container, as long as the image is all it holds.
        holder = holder.parent()?;
        if !holder.text().trim().is_empty() {
            return None;
        }
    }
    None
}

/// Whether a short line is a related label, a colon and a link to another story, and
/// nothing else ("Czytaj też: <a>Wyścig zbrojeń ruszył</a>", "Lesen Sie auch: <a>…</a>").
fn is_related_link_line(node: &dom_query::NodeRef, text: &str) -> bool {
    let Some((label, rest)) = text.split_once(':') else {
        return false;
    };
    let rest_chars = rest.chars().filter(|c| !c.is_whitespace()).count();
    if rest_chars == 0 || !vocab::is_related_label(label) {
        return false;
    }
    linked_chars(node) >= rest_chars
}

/// Whether an element has no child elements but empty ones: icons (`<a><i class="fa
/// fa-angle-left"></i>Zurück zur Listenansicht</a>`), so that its text is its own label.
/// Only links and spans are looked into: their children are few.
fn only_icons_inside(node: &dom_query::NodeRef) -> bool {
    let Some(first) = node.first_element_child() else {
        return true;
    };
    (node.has_name("a") || node.has_name("span"))
        && first.text().trim().is_empty()
        && node
            .element_children()
            .iter()
            .all(|c| c.text().trim().is_empty())
}

/// Removes boilerplate from the tree before readability scores it. One walk over the tree
/// classifies the elements; the removals then go from the most specific evidence (consent
/// buttons, comment headings) to the broadest (class names), each guarded so that nothing
/// holding the main content goes.
fn remove_boilerplate(r: &Readability) {
    let doc = &r.doc;
    let mut page = PageSize {
        chars: text_chars!(doc.select_single("body")),
        prose: 0,
        prose_in: HashMap::new(),
    };

    let mut consent = Vec::new();
    let mut headings = Vec::new();
    let mut labels = Vec::new();
    let mut always = Vec::new();
    let mut guarded = Vec::new();
    let mut headers = Vec::new();
    let mut named = Vec::new();
    let mut sups = Vec::new();
    let mut all_headings = Vec::new();
    let mut media = Vec::new();
    let mut teasers = Vec::new();
    let mut pictures = Vec::new();
    let mut images = Vec::new();
    for node in doc.root().descendants_it() {
        // Short paragraphs may be labels (below); others are not worth reading again.
        let mut short = true;
        let prose = if node.has_name("p") {
            let chars = text_chars!(node);
            short = chars <= 120;
            paragraph_prose!(node, chars)
        } else if node.is_text() {
            loose_prose!(node)
        } else {
            0
        };
        if prose > 0 {
            page.prose += prose;
            for a in std::iter::once(node).chain(node.ancestors_it(None)) {
                *page.prose_in.entry(a.id).or_insert(0) += prose;
            }
        }
        let Some(p) = with_attrs!(node, |tag, a| classify_pre(tag, &a)) else {
            continue;
        };
        if p.consent {
            consent.push(node);
        }
        if p.heading {
            headings.push(node);
        } else if p.label && short && (node.has_name("p") || only_icons_inside(&node)) {
            labels.push(node);
        }
        if p.sup {
            sups.push(node);
        }
        if ["h1", "h2", "h3", "h4", "h5", "h6"]
            .iter()
            .any(|h| node.has_name(h))
        {
            all_headings.push(node);
        }
        if p.always {
            always.push(node);
        } else if p.guarded {
            guarded.push(node);
        } else if p.header {
            headers.push(node);
        } else if p.named {
            named.push((node, p.weak));
        } else if p.media {
            media.push(node);
        }
        if p.teaser {
            teasers.push(node);
        }
        if p.picture && !node.has_name("img") {
            pictures.push(node);
        }
        if node.has_name("img") {
            images.push(node);
        }
    }

    // Nodes removed so far, so that candidates inside them are skipped without work.
    let mut removed = HashSet::new();
    macro_rules! detached {
        ($node:expr) => {
            removed.contains(&$node.id) || $node.ancestors_it(None).any(|a| removed.contains(&a.id))
        };
    }
    macro_rules! remove {
        ($node:expr) => {{
            removed.insert($node.id);
            $node.remove_from_parent();
        }};
    }

    // Cookie and consent banners, found by their answer buttons (before buttons go).
    let mut examined = 0;
    for node in consent {
        let text = node.text();
        let label = if text.trim().is_empty() {
            node.attr("value")
                .map(|v| v.to_string())
                .unwrap_or_default()
        } else {
            text.to_string()
        };
        if label.len() > 40 {
            continue;
        }
        let label = collapse_ws(&label).to_lowercase();
        let label = label.trim_end_matches(['!', '.']);
        if !CONSENT_ANSWERS.contains(&label) || detached!(node) {
            continue;
        }
        // Bounded work per page and per button: a banner is small and near its buttons.
        examined += 1;
        if examined > 40 {
            break;
        }
        let mut target = None;
        for anc in node.ancestors_it(Some(6)) {
            if anc.has_name("body")
                || anc.has_name("html")
                || anc.has_name("main")
                || anc.has_name("article")
            {
                break;
            }
            if anc.descendants_it().take(400).count() >= 400 {
                break;
            }
            let text = anc.text();
            if text.len() > 3000 {
                break;
            }
            let lower = text.to_lowercase();
            if lower.contains("cookie") || lower.contains("consent") || lower.contains("gdpr") {
                target = Some(anc);
            }
        }
        if let Some(t) = target {
            if !holds_content!(t, page, true) {
                remove!(t);
            }
        }
    }

    // Comment sections and story lists, found by their headings.
    for node in headings {
        let text = node.text();
        if text.len() > 300 {
            continue;
        }
        let comments = vocab::is_comments_label(&text);
        let labelled = comments || vocab::is_related_label(&text) || vocab::is_prompt_label(&text);
        if !labelled && !vocab::is_read_more_label(&text) {
            continue;
        }
        if detached!(node) {
            continue;
        }
        let Some(parent) = node.parent() else {
            continue;
        };
        let links_after = link_blocks_after(&node);
        if !labelled && links_after.is_empty() {
            // "Mehr lesen:" with no links after it.
            continue;
        }
        // The section the heading opens is its parent, unless the parent has text before the
        // heading (a post ending in "Related articles" on a page of several posts).
        if labelled && text_before!(node) <= 100 && !holds_content!(parent, page, true) {
            remove!(parent);
        } else if comments {
            // The comments follow the heading inside the content container.
            let mut next = node.next_sibling();
            while let Some(n) = next {
                next = n.next_sibling();
                remove!(n);
            }
            remove!(node);
        } else {
            // A list of stories right after the heading, or its links one block each.
            if let Some(n) = node.next_element_sibling() {
                if n.has_name("ul") || n.has_name("ol") {
                    remove!(n);
                }
            }
            for n in link_blocks_after(&node) {
                remove!(n);
            }
            remove!(node);
        }
    }

    // The same prompts and labels outside headings ("Möchten Sie den Artikel teilen?" in a
    // `<p>`, "Lesen Sie auch:" in a `<strong>`): the small box a label opens goes, else the
    // label alone.
    for node in labels {
        if detached!(node) {
            continue;
        }
        // A link or emphasis inside a sentence ("the economist [comments] that …") is
        // prose, whatever its words.
        if (node.has_name("a") || node.has_name("em"))
            && [node.prev_sibling(), node.next_sibling()]
                .into_iter()
                .flatten()
                .any(|s| s.is_text() && !s.text().trim().is_empty())
        {
            continue;
        }
        let text = node.text();
        if vocab::is_credit_line(&text) {
            // A photo credit ("Foto: Agentur"): only the line goes.
            remove!(node);
            continue;
        }
        if text.len() > 120 {
            continue;
        }
        let related = vocab::is_related_label(&text) || is_related_link_line(&node, &text);
        let read_more = !related && vocab::is_read_more_label(&text);
        if !(related
            || read_more
            || vocab::is_comments_label(&text)
            || vocab::is_prompt_label(&text))
        {
            continue;
        }
        // The small box the label opens, else the label alone.
        let block = match node.parent() {
            Some(parent)
                if text_before!(node) <= 100
                    && text_chars!(parent) <= 600
                    && !holds_content!(parent, page, true) =>
            {
                parent
            }
            _ => node,
        };
        // A list of stories announced by the label, one link per block after it.
        let links_after = if related || read_more {
            link_blocks_after(&block)
        } else {
            Vec::new()
        };
        if read_more && links_after.is_empty() {
            continue;
        }
        for n in links_after {
            remove!(n);
        }
        remove!(block);
    }

    for node in always {
        // No guard and no need to skip: these are never content.
        node.remove_from_parent();
    }
    // Citation markers: `[12]`, `[a]`, `[citation needed]`.
    for node in sups {
        let text = node.text();
        let t = text.trim();
        let bracketed = t.starts_with('[') && t.ends_with(']') && t.len() <= 24;
        let cite = node.attr("class").is_some_and(|c| {
            c.contains("reference") || c.contains("footnote") || c.contains("noprint")
        });
        if bracketed || cite {
            node.remove_from_parent();
        }
    }
    for node in guarded {
        if !detached!(node) && !holds_content!(node, page, true) {
            remove!(node);
        }
    }
    // Site headers: those outside the article; an `<h1>` in them is usually the logo.
    for node in headers {
        if detached!(node) {
            continue;
        }
        let in_content = node.ancestors_it(None).any(|a| {
            a.has_name("article")
                || a.has_name("main")
                || a.attr("role")
                    .is_some_and(|v| v.eq_ignore_ascii_case("main"))
        });
        if !in_content && !holds_content!(node, page, false) {
            remove!(node);
        }
    }
    let content_names = content_class_tokens(&named, &page);
    for (node, weak) in named {
        if detached!(node) {
            continue;
        }
        let keep = holds_content!(node, page, true)
            || (weak && page.prose_in.get(&node.id).copied().unwrap_or(0) >= WEAK_NAME_PROSE)
            || node.attr("class").is_some_and(|c| {
                c.split_ascii_whitespace()
                    .any(|t| content_names.contains(&t.to_ascii_lowercase()))
            });
        if !keep {
            remove!(node);
        } else {
            // It holds the content: its name (`elementor-widget-container`) must not make
            // readability pass it over either.
            for attr in ["class", "id"] {
                if node.attr(attr).is_some_and(|v| is_boilerplate_name(&v)) {
                    node.remove_attr(attr);
                }
            }
        }
    }
    for node in media {
        if !detached!(node)
            && text_chars!(node) <= MEDIA_MAX_CHARS
            && !holds_content!(node, page, true)
        {
            remove!(node);
        }
    }
    // Teasers of other pages, inside the article as well as around it: the link is the
    // teaser's text, or wraps it.
    for node in teasers {
        if detached!(node) {
            continue;
        }
        let chars = text_chars!(node);
        if chars == 0 || chars > TEASER_MAX_CHARS {
            continue;
        }
        let linked = node.ancestors_it(Some(4)).any(|a| a.has_name("a"))
            || node.has_name("a")
            || links_to_one_page(&node)
            || 2 * linked_chars(&node) >= chars;
        if linked && !holds_content!(node, page, true) {
            remove!(node);
        }
    }
    // Captions that repeat the image's description, in a block after its container.
    for img in images {
        if let Some(caption) = caption_after(&img) {
            if !detached!(caption) && !holds_content!(caption, page, true) {
                remove!(caption);
            }
        }
    }
    // Captions and credits: the text of a small container of one image (the image itself
    // is left out of the markdown), unless it is a paragraph set beside the image.
    for node in pictures {
        if detached!(node) {
            continue;
        }
        let chars = text_chars!(node);
        if chars == 0 || chars > PICTURE_MAX_CHARS {
            continue;
        }
        let mut images = 0;
        let mut other = false;
        for d in node.descendants_it() {
            if d.has_name("img") {
                images += 1;
            } else if (d.has_name("p") && text_chars!(d) > CAPTION_MAX_PROSE)
                || [
                    "table",
                    "pre",
                    "blockquote",
                    "ul",
                    "ol",
                    "h1",
                    "h2",
                    "h3",
                    "article",
                    "main",
                ]
                .iter()
                .any(|t| d.has_name(t))
            {
                other = true;
            }
        }
        // Text set off by line breaks beside the picture is prose too (a photo story's
        // text per picture), not a caption.
        let prose = page.prose_in.get(&node.id).copied().unwrap_or(0);
        if images == 1 && !other && prose <= CAPTION_MAX_PROSE && !holds_content!(node, page, true)
        {
            remove!(node);
        }
    }
    // Headings that survived are content: their class and id no longer matter (and
    // readability would drop a `<h2 class="subheader">` for the "header" in it), unless they
    // hide the heading.
    for node in all_headings {
        if detached!(node) {
            continue;
        }
        let hides = node
            .attr("class")
            .is_some_and(|c| c.to_ascii_lowercase().contains("hidden"));
        if !hides {
            node.remove_attrs(&["class", "id"]);
        }
    }
}

/// Substrings of class tokens that name what a block is beside the article (reader comments,
/// lists of other posts, the side column), which can outweigh a short article in prose; no
/// builder names its content blocks so. See [`content_class_tokens`].
const GROUP_EXCLUDED: &[&str] = &["comment", "related", "sidebar"];

/// The class tokens named as boilerplate that the content itself wears: those whose elements
/// (the outermost of each, nested ones being counted in them) hold over a third of the page's
/// prose. A page builder makes every block of a post an `elementor-widget`, each too small to
/// hold the content alone; a sidebar's widgets do not outweigh the article they stand beside.
fn content_class_tokens(
    named: &[(dom_query::NodeRef, bool)],
    page: &PageSize<dom_query::NodeId>,
) -> HashSet<String> {
    let mut prose: HashMap<String, usize> = HashMap::new();
    // Per token, the elements already counted (an element inside one is not counted again).
    let mut counted: HashMap<String, HashSet<dom_query::NodeId>> = HashMap::new();
    for (node, weak) in named {
        let Some(class) = node.attr("class").filter(|_| !weak) else {
            continue;
        };
        for token in class.split_ascii_whitespace() {
            let token = token.to_ascii_lowercase();
            if name_strength(&token) != Some(true)
                || GROUP_EXCLUDED.iter().any(|x| token.contains(x))
            {
                continue;
            }
            let seen = counted.entry(token.clone()).or_default();
            if !node.ancestors_it(None).any(|a| seen.contains(&a.id)) {
                seen.insert(node.id);
                *prose.entry(token).or_insert(0) +=
                    page.prose_in.get(&node.id).copied().unwrap_or(0);
            }
        }
    }
    prose
        .into_iter()
        .filter(|(_, p)| *p >= WEAK_NAME_PROSE && *p * 3 > page.prose)
        .map(|(t, _)| t)
        .collect()
}

/// Whether all the links of an element go to one page, and there are several of them: a
/// teaser whose picture, headline and "more" link lead to the story it announces, whatever
/// share of its text its summary takes.
fn links_to_one_page(node: &dom_query::NodeRef) -> bool {
    let mut hrefs = node.descendants_it().filter(|d| d.has_name("a")).map(|a| {
        a.attr("href")
            .map(|h| h.trim().to_string())
            .unwrap_or_default()
    });
    let Some(first) = hrefs.next() else {
        return false;
    };
    let mut count = 1;
    for h in hrefs {
        if h != first {
            return false;
        }
        count += 1;
    }
    count >= 2 && !first.is_empty() && !first.starts_with('#')
}

/// The most non-whitespace characters of a block taken for one link of a list of stories
/// (see [`link_blocks_after`]): a headline, maybe with a line of text.
const LINK_BLOCK_MAX_CHARS: usize = 300;

/// The blocks right after a label that are each one link or a few, and nothing else
/// (`<p><a>Other story</a></p>`, one per story): the list of stories the label announces,
/// written as paragraphs instead of a list.
fn link_blocks_after<'a>(label: &dom_query::NodeRef<'a>) -> Vec<dom_query::NodeRef<'a>> {
    let mut out = Vec::new();
    let mut next = label.next_element_sibling();
    while let Some(n) = next {
        next = n.next_element_sibling();
        let chars = text_chars!(n);
        if chars == 0 || chars > LINK_BLOCK_MAX_CHARS || n.has_name("h1") {
            break;
        }
        if linked_chars(&n) * 10 < chars * 9 {
            break;
        }
        out.push(n);
    }
    out
}

/// Class and id substrings of bylines and post metadata lines (author, date, reading
/// time), removed once the date has been read from them.
const BYLINE_SUBSTRINGS: &[&str] = &[
    "byline",
    "dateline",
    "entry-meta",
    "post-meta",
    "postmeta",
    "article-meta",
    "article__meta",
    "story-meta",
    "posted-on",
    "reading-time",
    "read-time",
    // Author lists ("Authors: …"), Drupal's "Submitted by … on …" line, timestamps and the
    // info line under a headline (time, section, authors).
    "author",
    "submitted",
    "timestamp",
    "article-info",
    "article__info",
];

/// Whether a class or id value has the token `meta` alone (`id="meta"`): the line of date,
/// author and section under a headline. Compounds (`recipe-meta`, `meta-info-wrapper`)
/// also name recipe facts and whole article headers.
fn is_meta_name(value: &str) -> bool {
    value
        .split_ascii_whitespace()
        .any(|token| token.eq_ignore_ascii_case("meta"))
}

/// Class and id substrings of author boxes (a portrait and a paragraph about the author
/// under a post): removed in the byline step, whatever their length, since a byline named
/// `author-info` may state the date that is read there first.
const AUTHOR_BOX_SUBSTRINGS: &[&str] = &[
    "author-info",
    "authorinfo",
    "author-bio",
    "authorbio",
    "about-author",
    "about-the-author",
    "author-card",
    "author-description",
];

/// Class and id substrings of elements that may state the publish date in their text.
const DATE_HINTS: &[&str] = &[
    "date",
    "publish",
    "posted",
    "byline",
    "timestamp",
    "dateline",
];

/// A table cell: its inner HTML, whether it is a `<th>`, its column span.
type Cell = (String, bool, usize);

/// Ids of the usual content containers.
const CONTENT_IDS: &[&str] = &[
    "content",
    "main-content",
    "maincontent",
    "main",
    "article",
    "primary",
    "post",
];

/// Classes of the usual content containers.
const CONTENT_CLASSES: &[&str] = &[
    "post-content",
    "entry-content",
    "article-body",
    "article-content",
    "article-text",
    "story-body",
    "story-content",
    "post-body",
    "post-entry",
    "content",
    "main-content",
];

/// Attribute marking the structural candidate, so it can be found again in the copy.
const ROOT_MARK: &str = "data-parallax-root";

/// The structural candidate for the main content.
struct Fallback {
    /// Whether a candidate was marked (else the body is the candidate).
    marked: bool,
    /// Its words.
    words: usize,
    /// Whether it is a semantic container (`articleBody`, `article`, `main`).
    semantic: bool,
}

/// What the scan after boilerplate removal finds.
struct PostScan {
    date: Option<chrono::NaiveDate>,
    h1: Option<String>,
    fallback: Fallback,
}

/// Whether a character belongs to a script written without spaces between words (Chinese,
/// Japanese kana, Thai, Lao, Burmese, Khmer).
fn unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF
        | 0x1000..=0x109F
        | 0x1780..=0x17FF
        | 0x3040..=0x30FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xF900..=0xFAFF
        | 0x20000..=0x3134F)
}

/// The number of words of a text: whitespace-separated words, where a run of characters of
/// a script written without spaces counts as one word per two characters (a Chinese word is
/// one to two characters; readability's answer and the structural candidate are compared in
/// these units, so the exact ratio matters little, but one "word" per paragraph would make
/// every CJK or Thai article look empty).
fn words_of(s: &str) -> usize {
    s.split_whitespace()
        .map(|w| {
            let unspaced = w.chars().filter(|&c| unspaced_script(c)).count();
            if unspaced == 0 {
                1
            } else {
                unspaced.div_ceil(2) + usize::from(w.chars().count() > unspaced)
            }
        })
        .sum()
}

/// The words of a node's text outside its links (see [`words_of`]).
fn unlinked_words(node: &dom_query::NodeRef) -> usize {
    let linked: usize = node
        .descendants_it()
        .filter(|d| d.has_name("a"))
        .map(|a| words_of(&a.text()))
        .sum();
    words_of(&node.text()).saturating_sub(linked)
}

/// One walk over the cleaned tree: the publish date stated in the body, the main `<h1>`,
/// bylines (removed after the date is read) and the structural candidate for the content
/// (marked with [`ROOT_MARK`]; when it dominates the page, the tree is confined to it).
fn post_scan(r: &Readability) -> PostScan {
    let doc = &r.doc;
    let mut itemprop_dates = Vec::new();
    let mut times = Vec::new();
    let mut hinted = Vec::new();
    let mut bylines = Vec::new();
    let mut h1s = Vec::new();
    let mut bodies = Vec::new();
    let mut articles = Vec::new();
    let mut mains = Vec::new();
    let mut containers = Vec::new();
    let mut tables = Vec::new();
    for node in doc.root().descendants_it() {
        let Some(kinds) = with_attrs!(node, |tag, a| {
            let itemprop = a.itemprop.map(str::trim);
            let mut k = [false; 10];
            k[0] = itemprop.is_some_and(|p| p.eq_ignore_ascii_case("datePublished"));
            k[1] = tag == "time" && a.datetime.is_some();
            k[2] = a.class_or_id_contains(&DATES) && !a.class_or_id_contains(&UPDATES);
            k[3] = !matches!(tag, "article" | "main" | "body" | "html")
                && (a.class_or_id_contains(&BYLINES)
                    || [a.class, a.id].into_iter().flatten().any(is_meta_name)
                    || a.rel.is_some_and(|r| r.eq_ignore_ascii_case("author")));
            k[4] = tag == "h1";
            k[5] = itemprop.is_some_and(|p| p.eq_ignore_ascii_case("articleBody"));
            k[6] = tag == "article";
            k[7] = tag == "main" || a.role_is(&["main"]);
            k[8] =
                a.id.is_some_and(|id| CONTENT_IDS.iter().any(|c| id.eq_ignore_ascii_case(c)))
                    || a.class.is_some_and(|c| {
                        c.split_ascii_whitespace()
                            .any(|t| CONTENT_CLASSES.iter().any(|x| t.eq_ignore_ascii_case(x)))
                    });
            k[9] = tag == "table";
            k
        }) else {
            continue;
        };
        for (i, list) in [
            &mut itemprop_dates,
            &mut times,
            &mut hinted,
            &mut bylines,
            &mut h1s,
            &mut bodies,
            &mut articles,
            &mut mains,
            &mut containers,
            &mut tables,
        ]
        .into_iter()
        .enumerate()
        {
            if kinds[i] {
                list.push(node);
            }
        }
    }

    // The date: itemprop, then a marked <time>, then any <time>, then a date-like text.
    let mut date = None;
    for node in &itemprop_dates {
        let v = node
            .attr("datetime")
            .or_else(|| node.attr("content"))
            .map(|t| t.to_string())
            .unwrap_or_else(|| node.text().to_string());
        if let Some(d) = meta::parse_date(&v) {
            date = Some(d);
            break;
        }
    }
    if date.is_none() {
        let mut first = None;
        for node in &times {
            let Some(d) = node.attr("datetime").and_then(|v| meta::parse_date(&v)) else {
                continue;
            };
            let marked = node.has_attr("pubdate")
                || node
                    .ancestors_it(Some(4))
                    .chain(std::iter::once(*node))
                    .any(|a| {
                        a.attr("class").is_some_and(|c| {
                            let c = c.to_ascii_lowercase();
                            c.contains("publish")
                                || c.contains("posted")
                                || c.contains("byline")
                                || c.contains("pubdate")
                        })
                    });
            if marked {
                date = Some(d);
                break;
            }
            let modified = node.attr("class").is_some_and(|c| {
                let c = c.to_ascii_lowercase();
                c.contains("updat") || c.contains("modif")
            });
            if !modified {
                first = first.or(Some(d));
            }
        }
        date = date.or(first);
    }
    if date.is_none() {
        for node in &hinted {
            if node.parent().is_none() {
                continue;
            }
            let text = node.text();
            if text.len() > 120 || node.ancestors_it(None).any(|a| a.has_name("table")) {
                continue;
            }
            if let Some(d) = meta::parse_date(&text) {
                date = Some(d);
                break;
            }
        }
    }

    let mut h1 = None;
    for node in &h1s {
        let text = collapse_ws(&node.text());
        // Without permalink symbols (`¶`, `#`).
        let text = text
            .trim_end_matches(|c: char| {
                !c.is_alphanumeric() && !matches!(c, '?' | '!' | '.' | ')' | '"' | '\'' | '’' | '”')
            })
            .to_string();
        if text.is_empty() {
            continue;
        }
        if node
            .ancestors_it(None)
            .any(|a| a.has_name("article") || a.has_name("main"))
        {
            h1 = Some(text);
            break;
        }
        h1 = h1.or(Some(text));
    }

    for node in bylines {
        if node.parent().is_none() {
            continue;
        }
        let chars = text_chars!(node);
        let author_box = chars <= 1500
            && with_attrs!(node, |_tag, a| a.class_or_id_contains(&AUTHOR_BOXES)).unwrap_or(false);
        if (author_box || chars <= 200)
            && !node.descendants_it().any(|d| {
                d.has_name("h1") || (!author_box && d.has_name("p") && text_chars!(d) > 200)
            })
        {
            node.remove_from_parent();
        }
    }

    // Tables: data tables into the one shape the markdown converter renders well, layout
    // tables into plain blocks.
    for table in tables {
        if table.parent().is_none() {
            continue;
        }
        // The parts of this table, not of a table nested in it.
        macro_rules! own {
            ($d:expr) => {
                $d.ancestors_it(None)
                    .find(|a| a.has_name("table"))
                    .is_some_and(|t| t.id == table.id)
            };
        }
        let nested = table.descendants_it().any(|d| d.has_name("table"));
        let presentational = table.attr("role").is_some_and(|r| {
            r.eq_ignore_ascii_case("presentation") || r.eq_ignore_ascii_case("none")
        });
        // Rows of cells: (is a header row, cells as (inner HTML, is th, colspan)).
        let mut grid: Vec<(bool, Vec<Cell>)> = Vec::new();
        let mut any_th = false;
        let mut big_block_cell = false;
        if !nested && !presentational {
            for row in table.descendants_it().filter(|d| d.has_name("tr")) {
                if !own!(row) {
                    continue;
                }
                let in_thead = row.parent().is_some_and(|p| p.has_name("thead"));
                let mut cells = Vec::new();
                for cell in row.element_children() {
                    let th = cell.has_name("th");
                    if !th && !cell.has_name("td") {
                        continue;
                    }
                    any_th |= th;
                    let span = cell
                        .attr("colspan")
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(1)
                        .clamp(1, 20);
                    if text_chars!(cell) > 400
                        && cell.descendants_it().any(|d| {
                            [
                                "p",
                                "div",
                                "ul",
                                "ol",
                                "h1",
                                "h2",
                                "h3",
                                "h4",
                                "pre",
                                "blockquote",
                            ]
                            .iter()
                            .any(|t| d.has_name(t))
                        })
                    {
                        big_block_cell = true;
                    }
                    cells.push((cell.inner_html().to_string(), th, span));
                }
                grid.push((in_thead, cells));
            }
        }
        let cols = grid
            .iter()
            .map(|(_, cells)| cells.iter().map(|c| c.2).sum::<usize>())
            .max()
            .unwrap_or(0);
        let layout =
            nested || presentational || big_block_cell || cols <= 1 || grid.len() <= 1 && !any_th;
        if layout {
            for d in table.descendants_it().collect::<Vec<_>>() {
                if ["thead", "tbody", "tfoot", "tr", "td", "th", "caption"]
                    .iter()
                    .any(|t| d.has_name(t))
                    && own!(d)
                {
                    d.rename("div");
                }
            }
            table.rename("div");
            continue;
        }
        // The header: the `<thead>` row, else a first row of `<th>`, else the first row.
        let header_index = grid
            .iter()
            .position(|(in_thead, _)| *in_thead)
            .or_else(|| {
                grid.first()
                    .filter(|(_, cells)| cells.iter().all(|c| c.1))
                    .map(|_| 0)
            })
            .unwrap_or(0);
        let mut html = String::from("<table>");
        if let Some(caption) = table
            .element_children()
            .into_iter()
            .find(|c| c.has_name("caption"))
        {
            html.push_str("<caption>");
            html.push_str(&caption.inner_html());
            html.push_str("</caption>");
        }
        let push_row = |cells: &[Cell], tag: &str, html: &mut String| {
            html.push_str("<tr>");
            let mut n = 0;
            for (inner, _, span) in cells {
                for k in 0..*span {
                    html.push('<');
                    html.push_str(tag);
                    html.push('>');
                    if k == 0 {
                        html.push_str(inner);
                    }
                    html.push_str("</");
                    html.push_str(tag);
                    html.push('>');
                    n += 1;
                }
            }
            for _ in n..cols {
                html.push_str(&format!("<{tag}></{tag}>"));
            }
            html.push_str("</tr>");
        };
        html.push_str("<thead>");
        push_row(&grid[header_index].1, "th", &mut html);
        html.push_str("</thead><tbody>");
        for (i, (_, cells)) in grid.iter().enumerate() {
            if i != header_index {
                push_row(cells, "td", &mut html);
            }
        }
        html.push_str("</tbody></table>");
        table.replace_with_html(html);
    }

    // The structural candidate.
    let body_words = words_of(&doc.select_single("body").text());
    let min_words = 40;
    let mut chosen = None;
    for node in &bodies {
        let w = words_of(&node.text());
        if w >= min_words {
            chosen = Some((*node, w, true));
            break;
        }
    }
    if chosen.is_none() {
        let mut best = None;
        let mut total = 0;
        for node in &articles {
            // Weighed by the words outside links: an `<article>` of teaser links (a slider
            // of other stories) can outweigh the story in plain words.
            let w = unlinked_words(node);
            total += w;
            if best.is_none_or(|(_, bw, _)| w > bw) {
                best = Some((*node, w, words_of(&node.text())));
            }
        }
        if let Some((node, w, all)) = best {
            // One article, or one that dominates a page of teasers.
            if w >= min_words && w * 2 >= total {
                chosen = Some((node, all, true));
            }
        }
    }
    if chosen.is_none() {
        for node in &mains {
            let w = words_of(&node.text());
            if w >= min_words {
                chosen = Some((*node, w, true));
                break;
            }
        }
    }
    if chosen.is_none() {
        for node in &containers {
            let w = words_of(&node.text());
            if w >= min_words && w * 10 >= body_words * 3 {
                chosen = Some((*node, w, false));
                break;
            }
        }
    }
    let fallback = match chosen {
        Some((node, words, semantic)) => {
            node.set_attr(ROOT_MARK, "1");
            if semantic && words * 10 >= body_words * 6 {
                // Confine the tree to it, so readability cannot wander into its siblings
                // (site footers, teaser lists), and to the headline's article before it.
                let body_sel = doc.select_single("body");
                if let Some(body) = body_sel.nodes().first() {
                    let headline = headline_article(r, &node);
                    node.remove_from_parent();
                    if let Some(h) = &headline {
                        h.remove_from_parent();
                    }
                    body.remove_children();
                    if let Some(h) = &headline {
                        body.append_child(h);
                    }
                    body.append_child(&node);
                }
            }
            Fallback {
                marked: true,
                words,
                semantic,
            }
        }
        None => Fallback {
            marked: false,
            words: body_words,
            semantic: false,
        },
    };
    PostScan { date, h1, fallback }
}

/// Renders the structural candidate of the copy `b`: link-dense blocks pruned, links made
/// absolute. Returns its HTML, its links and its words.
fn render_fallback(
    b: &Readability,
    fallback: &Fallback,
    base: Option<&Url>,
) -> (String, Vec<Link>, usize) {
    let doc = &b.doc;
    let sel = if fallback.marked {
        doc.select(&format!("[{ROOT_MARK}]"))
    } else {
        doc.select_single("body")
    };
    let Some(root) = sel.nodes().first() else {
        return (String::new(), Vec::new(), 0);
    };
    // Prune blocks that are mostly links: menus, tag clouds, link lists.
    let blocks: Vec<_> = root
        .descendants_it()
        .filter(|n| {
            n.has_name("ul")
                || n.has_name("ol")
                || n.has_name("div")
                || n.has_name("section")
                || n.has_name("p")
                || n.has_name("dl")
        })
        .collect();
    for block in blocks {
        if block.parent().is_none() {
            continue;
        }
        let total = text_chars!(block);
        if total == 0 {
            if !block
                .descendants_it()
                .any(|d| d.has_name("pre") || d.has_name("table"))
            {
                block.remove_from_parent();
            }
            continue;
        }
        if total > 3000 {
            continue;
        }
        let mut links = 0usize;
        let mut link_chars = 0usize;
        for d in block.descendants_it() {
            if d.has_name("a") {
                links += 1;
                link_chars += text_chars!(d);
            }
        }
        if links >= 2 && link_chars * 10 > total * 6 {
            block.remove_from_parent();
        }
    }
    let anchors: Vec<_> = root.descendants_it().filter(|d| d.has_name("a")).collect();
    let links = collect_links(
        anchors
            .iter()
            .map(|a| (a.attr("href").map(|h| h.to_string()), a.text().to_string())),
        base,
    );
    // Make hrefs absolute in the tree so the markdown carries them.
    if let Some(base) = base {
        absolutize_hrefs(&anchors, base);
    }
    (root.html().to_string(), links, words_of(&root.text()))
}

/// Makes the `href` of each anchor absolute against `base`, in the tree (collect the
/// anchors first: the tree cannot change while it is walked).
fn absolutize_hrefs(anchors: &[dom_query::NodeRef], base: &Url) {
    for a in anchors {
        if let Some(abs) = a.attr("href").and_then(|h| absolutize(base, &h)) {
            a.set_attr("href", &abs);
        }
    }
}

/// The shortest block of prose [`leading_prose`] brings back, in non-whitespace characters.
const LEAD_MIN_CHARS: usize = 80;

/// At most this many leading blocks are brought back: a standfirst is one or two
/// paragraphs, and more would mean the kept content starts far down the container.
const LEAD_MAX_BLOCKS: usize = 3;

/// The fewest characters of a block that is not prose whose presence in readability's answer
/// ends the lead (see [`leading_prose`]): shorter texts match anywhere.
const LEAD_PROBE_MIN_CHARS: usize = 25;

/// The prose that opens the semantic container (`article`, `main`, `articleBody`) marked in
/// the copy `b` before the first block readability kept, as HTML to put before its answer;
/// the prose of the headline's own article above it (see [`headline_article`]) comes first.
///
/// Readability scores blocks, then keeps the best one and those of its siblings that score
/// well; a standfirst or lead paragraph in the article's `<header>` (or a heading module
/// beside the body) sits in a sibling that scores low and is lost, although it is the
/// first paragraph a reader reads. Only text blocks of sentence length and few links are
/// brought back (headlines, bylines, captions and teaser links are not), only when the
/// container holds readability's answer (its first kept block is found in it), and only those
/// before that block.
///
/// Its links are made absolute against `base`, as readability makes those of its answer.
fn leading_prose(
    b: &Readability,
    fallback: &Fallback,
    kept_text: &str,
    base: Option<&Url>,
) -> Lead {
    if !fallback.marked || !fallback.semantic {
        return Lead::default();
    }
    let sel = b.doc.select(&format!("[{ROOT_MARK}]"));
    let Some(root) = sel.nodes().first() else {
        return Lead::default();
    };
    let kept = collapse_ws(kept_text);
    let mut lead = Lead::default();
    let mut blocks_taken = 0;
    // Collected first: links are rewritten in the loop, and the tree cannot change while
    // it is walked. The headline's own article, if it stands apart, comes first.
    let headline = headline_article(b, root);
    let blocks: Vec<_> = headline
        .iter()
        .map(|h| (h, true))
        .chain(std::iter::once((root, false)))
        .flat_map(|(c, in_headline)| {
            c.descendants_it()
                .filter(|n| n.is_element() && (is_text_block(n) || is_label_table(n)))
                .map(move |n| (n, in_headline))
        })
        .collect();
    let mut table_taken = false;
    for (node, in_headline) in blocks {
        let text = collapse_ws(&node.text());
        if text.is_empty() {
            continue;
        }
        // A table of labels and values opening the article (an infobox, a fact box) is
        // part of it: "Headquarters | Brastmoor" is what a reader looks up first.
        if node.has_name("table") {
            let probe: String = text.chars().take(60).collect();
            if kept.contains(probe.as_str()) {
                return lead;
            }
            if !table_taken && is_label_table(&node) {
                table_taken = true;
                lead.html.push_str(&node.html());
            }
            continue;
        }
        let prose = is_lead_prose(&node, &text);
        // The first block readability kept ends the lead; a prefix is compared because
        // readability and the markdown may differ in what they keep of a block's end. A short
        // label (a kicker, "Kredit") is found anywhere in the answer, so it does not end the
        // lead; in the headline's article, nothing but prose does (the headline may be kept).
        let probe: String = text.chars().take(60).collect();
        let ends = prose || (!in_headline && probe.chars().count() >= LEAD_PROBE_MIN_CHARS);
        if ends && kept.contains(probe.as_str()) {
            return lead;
        }
        if blocks_taken < LEAD_MAX_BLOCKS && prose {
            blocks_taken += 1;
            let anchors: Vec<_> = node.descendants_it().filter(|d| d.has_name("a")).collect();
            if let Some(base) = base {
                absolutize_hrefs(&anchors, base);
            }
            lead.anchors.extend(
                anchors
                    .iter()
                    .map(|a| (a.attr("href").map(|h| h.to_string()), a.text().to_string())),
            );
            lead.html.push_str(&node.html());
        }
    }
    // Readability's answer is not in this container: nothing to add to it.
    Lead::default()
}

/// An `<article>` before `root` and outside it that holds an `<h1>`: CMS templates that set
/// the headline and its standfirst in an article of their own, above the body's. Its prose
/// opens the content as much as that at the top of `root` does.
fn headline_article<'a>(
    b: &'a Readability,
    root: &dom_query::NodeRef<'a>,
) -> Option<dom_query::NodeRef<'a>> {
    for n in b.doc.root().descendants_it() {
        if n.id == root.id {
            return None;
        }
        if n.has_name("article")
            && !root.ancestors_it(None).any(|a| a.id == n.id)
            && n.descendants_it().any(|d| d.has_name("h1"))
        {
            return Some(n);
        }
    }
    None
}

/// What [`leading_prose`] brings back: its HTML, and its anchors as `(href, text)`.
#[derive(Default)]
struct Lead {
    html: String,
    anchors: Vec<(Option<String>, String)>,
}

/// Whether an element is a block of text in its own right: a paragraph, a heading below
/// the headline, or a `div`/`span` with text and no block inside.
fn is_text_block(node: &dom_query::NodeRef) -> bool {
    const LEAVES: &[&str] = &["p", "h2", "h3", "h4", "h5", "h6"];
    const BLOCKS: &[&str] = &[
        "p",
        "div",
        "section",
        "ul",
        "ol",
        "table",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "figure",
        "blockquote",
        "header",
        "article",
    ];
    if LEAVES.iter().any(|t| node.has_name(t)) {
        return true;
    }
    (node.has_name("div") || node.has_name("span"))
        && !node
            .descendants_it()
            .any(|d| BLOCKS.iter().any(|t| d.has_name(t)))
}

/// Rows a table of labels needs (fewer is a layout fragment, not a fact box).
const LABEL_TABLE_MIN_ROWS: usize = 3;

/// Whether `node` is a table of labels and values: two columns, at least
/// [`LABEL_TABLE_MIN_ROWS`] rows, short cells, no links making up most of its text.
fn is_label_table(node: &dom_query::NodeRef) -> bool {
    if !node.has_name("table") {
        return false;
    }
    let rows: Vec<_> = node.descendants_it().filter(|d| d.has_name("tr")).collect();
    let two_columns = rows.iter().all(|r| {
        r.element_children()
            .iter()
            .filter(|c| c.has_name("td") || c.has_name("th"))
            .count()
            == 2
    });
    let text = node.text();
    let chars = text.chars().filter(|c| !c.is_whitespace()).count();
    rows.len() >= LABEL_TABLE_MIN_ROWS
        && two_columns
        && chars <= 1500
        && linked_chars(node) * 2 <= chars
}

/// Whether a text block reads as a lead: a sentence-length text outside captions, lists,
/// tables and forms, with few of its characters in links.
fn is_lead_prose(node: &dom_query::NodeRef, text: &str) -> bool {
    let chars = text.chars().filter(|c| !c.is_whitespace()).count();
    if chars < LEAD_MIN_CHARS {
        return false;
    }
    if linked_chars(node) * 4 > chars {
        return false;
    }
    // A heading or a bare `div` must read as a sentence (a standfirst does; a breadcrumb
    // trail ending in the headline, or a second headline, does not).
    let sentence = text
        .trim_end_matches(['"', '\'', '»', '«', '”', '“', ')', ' '])
        .ends_with(['.', '!', '?', '…', '。', '！', '？']);
    if !node.has_name("p") && !sentence {
        return false;
    }
    !node.ancestors_it(None).any(|a| {
        [
            "figure",
            "figcaption",
            "li",
            "td",
            "th",
            "form",
            "aside",
            "nav",
            "footer",
        ]
        .iter()
        .any(|t| a.has_name(t))
    })
}

fn absolutize(base: &Url, href: &str) -> Option<String> {
    let h = href.trim();
    if h.is_empty() || h.starts_with('#') || h.to_ascii_lowercase().starts_with("javascript:") {
        return None;
    }
    base.join(h).ok().map(|u| u.to_string())
}

/// Deduplicated content links from `(href, text)` pairs.
fn collect_links(
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

pub(super) fn extract(html: &str, url: &str) -> Extracted {
    let e = extract_parsed(html, url);
    // Pages whose text is only in `<noscript>` (scripts render it otherwise): the parser
    // keeps a noscript's content as raw text, so a page that yields almost nothing is read
    // again with its noscript tags dropped, their markup becoming part of the page.
    if words_of(&e.text) < NOSCRIPT_RETRY_WORDS {
        if let Some(unwrapped) = unwrap_noscript(html) {
            let again = extract_parsed(&unwrapped, url);
            // A real text, not a line or two of fallback notice.
            let w = words_of(&again.text);
            if w >= 3 * NOSCRIPT_RETRY_WORDS && w > words_of(&e.text) * 2 {
                return again;
            }
        }
    }
    e
}

/// Below this many words an extraction is retried with `<noscript>` content as markup.
const NOSCRIPT_RETRY_WORDS: usize = 50;

/// `html` without its `<noscript>` and `</noscript>` tags (their content kept), if the
/// noscript elements hold at least [`NOSCRIPT_MIN_CHARS`] of content.
fn unwrap_noscript(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut inside = 0usize;
    let mut last = 0;
    let mut opened_at = None;
    let mut pos = 0;
    while let Some(i) = lower[pos..].find("noscript").map(|i| i + pos) {
        pos = i + "noscript".len();
        let start = if lower[..i].ends_with("</") {
            i - 2
        } else if lower[..i].ends_with('<') {
            i - 1
        } else {
            continue;
        };
        let Some(end) = lower[pos..].find('>').map(|e| e + pos + 1) else {
            break;
        };
        if html.as_bytes()[start + 1] == b'/' {
            if let Some(o) = opened_at.take() {
                inside += start.saturating_sub(o);
            }
        } else {
            opened_at = Some(end);
        }
        out.push_str(&html[last..start]);
        last = end;
        pos = end;
    }
    if last == 0 || inside < NOSCRIPT_MIN_CHARS {
        return None;
    }
    out.push_str(&html[last..]);
    Some(out)
}

/// Content inside `<noscript>` worth reading as markup (a tracking pixel is not).
const NOSCRIPT_MIN_CHARS: usize = 1000;

fn extract_parsed(html: &str, url: &str) -> Extracted {
    let base = Url::parse(url).ok();
    let doc_url = base
        .as_ref()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.as_str().to_owned());

    if estimated_depth(html) > MAX_SOURCE_DEPTH {
        // Parsing itself is quadratic in the nesting depth: do not even build the tree.
        tracing::debug!(url, "page nested too deeply; returning its bare text");
        let text = bare_text(html);
        return Extracted {
            title: None,
            published: meta::date_from_url(url),
            authors: Vec::new(),
            markdown: text.clone(),
            text,
            links: Vec::new(),
        };
    }
    let mut r = Readability::from(html);
    r.doc_url = doc_url;
    r.config = Config {
        // Classes carry code languages (`language-rust`) to the markdown.
        keep_classes: true,
        max_elements_to_parse: MAX_READABILITY_ELEMENTS,
        ..Config::default()
    };

    let head = meta::read_head(&r);
    // Before boilerplate removal: templates often state the author in a footer line.
    let authors = authors::read_authors(&r, &head, url);
    // Only looked for when the head states no date (the head's date always wins).
    // Looked for only when neither the head nor the URL states the date (they win).
    let url_date = meta::date_from_url(url);
    let undated = head.published.is_none() && url_date.is_none();
    let template_date = if undated {
        meta::date_near_heading(&r).or_else(|| meta::date_in_marked_element(&r))
    } else {
        None
    };
    let page_date = if undated && template_date.is_none() {
        meta::first_date_in_page(&r)
    } else {
        None
    };
    if tree_depth(&r) > MAX_DEPTH {
        tracing::debug!(url, "page nested too deeply; returning its bare text");
        let text = bare_text(html);
        return Extracted {
            title: meta::choose_title(&head, None, &[]),
            published: head.published.or_else(|| meta::date_from_url(url)),
            authors,
            markdown: text.clone(),
            text,
            links: Vec::new(),
        };
    }
    remove_boilerplate(&r);
    let scan = post_scan(&r);
    let fallback = &scan.fallback;

    // The copy the fallback is rendered from, if readability's answer is not kept.
    let backup = Readability {
        doc: r.doc.clone(),
        doc_url: None,
        config: Config::default(),
    };

    let article = match r.parse() {
        Ok(a) => Some(a),
        Err(e) => {
            tracing::debug!(error = %e, url, "readability found no article");
            None
        }
    };
    let readability_words = article.as_ref().map_or(0, |a| words_of(&a.text_content));
    // Whether a fallback of `fb` words should replace readability's answer.
    let prefer = |fb: usize| {
        article.is_none()
            || (readability_words < 25 && fb > readability_words * 2)
            || (fallback.semantic && readability_words * 2 < fb)
            || (!fallback.semantic && readability_words * 5 < fb && fb >= 150)
    };
    // The candidate's words decide whether to render it; what it keeps once rendered (its
    // link lists pruned) decides whether to use it, so that a page of menus around a short
    // article does not win by the text of its links.
    let rendered = if prefer(fallback.words) {
        let (html, links, words) = render_fallback(&backup, fallback, base.as_ref());
        prefer(words).then_some((html, links))
    } else {
        None
    };
    tracing::trace!(
        readability_words,
        fallback_words = fallback.words,
        use_fallback = rendered.is_some(),
        "main content chosen"
    );

    let (content_html, links) = if let Some(r) = rendered {
        r
    } else {
        let lead = article.as_ref().map_or_else(Lead::default, |a| {
            leading_prose(&backup, fallback, &a.text_content, base.as_ref())
        });
        let a = article
            .as_ref()
            .map(|a| format!("{}{}", lead.html, a.content))
            .unwrap_or_default();
        // The lead's links, then readability's (one list: a URL is listed once).
        let anchors = r.doc.select("#readability-page-1 a[href]");
        let links = collect_links(
            lead.anchors.into_iter().chain(
                anchors
                    .nodes()
                    .iter()
                    .map(|n| (n.attr("href").map(|h| h.to_string()), n.text().to_string())),
            ),
            base.as_ref(),
        );
        (a, links)
    };

    let markdown = html_to_markdown(&content_html);
    let text = markdown_to_text(&markdown);
    // Only the links the markdown kept (reference sections, for one, are dropped there).
    let kept = markdown_destinations(&markdown);
    let mut links = links;
    links.retain(|l| kept.contains(&normalize_url(&l.url)));
    let first_lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(12)
        .collect();
    let title = meta::choose_title(&head, scan.h1, &first_lines);
    let published = meta::head_or_url_date(&head, url_date)
        .or(scan.date)
        .or(template_date)
        .or_else(|| meta::date_from_lines(&first_lines))
        .or(page_date);
    // The dateline, once read, is not content.
    let (markdown, text) = match drop_leading_dateline(&markdown) {
        Some(md) => {
            let text = markdown_to_text(&md);
            (md, text)
        }
        None => (markdown, text),
    };
    Extracted {
        title,
        published,
        authors,
        markdown,
        text,
        links,
    }
}

/// An upper estimate of the nesting of container tags in the source, from a scan of its
/// tags (`div`, `span`, `section`, lists, tables, …; tags that close implicitly, like `p`
/// and `li`, are not counted; scripts and styles are skipped).
fn estimated_depth(html: &str) -> usize {
    const COUNTED: &[&[u8]] = &[
        b"div",
        b"span",
        b"section",
        b"article",
        b"main",
        b"aside",
        b"nav",
        b"ul",
        b"ol",
        b"dl",
        b"table",
        b"blockquote",
        b"header",
        b"footer",
        b"form",
        b"font",
        b"center",
        b"b",
        b"i",
        b"em",
        b"strong",
        b"a",
    ];
    let b = html.as_bytes();
    let lower = |c: u8| c.to_ascii_lowercase();
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut i = 0;
    while let Some(p) = b[i..].iter().position(|&c| c == b'<') {
        i += p + 1;
        let closing = b.get(i) == Some(&b'/');
        let start = if closing { i + 1 } else { i };
        let end = start
            + b[start..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
        if end == start {
            continue;
        }
        let name: Vec<u8> = b[start..end].iter().map(|&c| lower(c)).collect();
        if !closing && (name == b"script" || name == b"style" || name == b"textarea") {
            // Skip to the closing tag.
            let close = [b"</".as_slice(), &name].concat();
            let rest = &b[end..];
            match rest
                .windows(close.len())
                .position(|w| w.iter().map(|&c| lower(c)).eq(close.iter().copied()))
            {
                Some(q) => i = end + q + close.len(),
                None => break,
            }
            continue;
        }
        if !COUNTED.contains(&name.as_slice()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            let tag_end = b[end..]
                .iter()
                .position(|&c| c == b'>')
                .map_or(b.len(), |q| end + q);
            if tag_end > 0 && b.get(tag_end - 1) == Some(&b'/') {
                continue;
            }
            depth += 1;
            max = max.max(depth);
        }
        i = end;
    }
    max
}

/// The depth of the element tree, walked without recursion.
fn tree_depth(r: &Readability) -> usize {
    let root = r.doc.root();
    let mut max = 0;
    let mut depth = 1;
    let mut next = root.first_child();
    while let Some(n) = next {
        max = max.max(depth);
        if let Some(c) = n.first_child() {
            next = Some(c);
            depth += 1;
            continue;
        }
        let mut cur = n;
        next = None;
        loop {
            if let Some(s) = cur.next_sibling() {
                next = Some(s);
                break;
            }
            match cur.parent() {
                Some(p) if p.id != root.id => {
                    cur = p;
                    depth -= 1;
                }
                _ => break,
            }
        }
    }
    max
}

/// A URL in the form the `url` crate writes it, or as given when it does not parse.
fn normalize_url(u: &str) -> String {
    Url::parse(u).map_or_else(|_| u.to_string(), |u| u.to_string())
}

/// The link destinations written in markdown (`[text](destination)`), normalised.
fn markdown_destinations(md: &str) -> HashSet<String> {
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

/// The text of a page with its tags stripped (scripts and styles dropped, a few entities
/// decoded, whitespace collapsed): the last resort when the DOM pipeline fails.
pub(super) fn bare_text(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let b = html.as_bytes();
    let mut out = String::with_capacity(html.len() / 2);
    let mut i = 0;
    'outer: while i < b.len() {
        if b[i] == b'<' {
            for tag in ["script", "style", "noscript", "template", "head"] {
                if lower[i + 1..].starts_with(tag) {
                    match lower[i..].find(&format!("</{tag}")) {
                        Some(end) => i += end + 2,
                        None => break 'outer,
                    }
                    break;
                }
            }
            match html[i..].find('>') {
                Some(e) => {
                    i += e + 1;
                    out.push(' ');
                }
                None => break,
            }
        } else {
            let next = html[i..].find('<').map_or(b.len(), |p| i + p);
            out.push_str(&html[i..next]);
            i = next;
        }
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    collapse_ws(&decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_depth() {
        assert_eq!(
            estimated_depth("<div><div><p>x</p><br/></div><div></div></div>"),
            2
        );
        assert_eq!(
            estimated_depth("<script>'<div><div><div>'</script><div/><span>a</span>"),
            1
        );
        assert_eq!(estimated_depth(&"<div>".repeat(5000)), 5000);
        assert_eq!(estimated_depth(&"<p>".repeat(5000)), 0);
        assert_eq!(estimated_depth("<DIV><Div></dIv></div> < 3 <"), 2);
    }

    #[test]
    fn bare_text_strips_tags() {
        let html = "<html><head><title>T</title><style>p{}</style></head><body><script>var x = '<p>';</script><p>A &amp; B</p><div>C&nbsp;D</div><p>unclosed";
        assert_eq!(bare_text(html), "A & B C D unclosed");
        assert_eq!(bare_text("<p>x</p><scr"), "x");
    }

    #[test]
    fn boilerplate_names() {
        assert!(is_boilerplate_name("cookie-banner"));
        assert!(is_boilerplate_name("site-footer dark"));
        assert!(is_boilerplate_name("comments-section"));
        assert!(is_boilerplate_name("ad"));
        assert!(is_boilerplate_name("cookieConsent"));
        assert!(!is_boilerplate_name("commentary"));
        assert!(!is_boilerplate_name("header article-body"));
        assert!(!is_boilerplate_name("load-more head"));
        assert!(!is_boilerplate_name("shadow"));
        assert!(!is_boilerplate_name(
            "TestReport__Section TestReport__Section--Ads"
        ));
        assert!(is_boilerplate_name("ad-slot--top"));
        assert!(is_boilerplate_name("next-post-thumbnails"));
        assert!(is_boilerplate_name("nextstory"));
        // Navigation and gallery names are weak evidence; a comment name is not.
        assert_eq!(name_strength("TOC_TITLE_2"), Some(false));
        assert_eq!(name_strength("photo-gallery__item"), Some(false));
        assert_eq!(name_strength("gallery__item comment-box"), Some(true));
        assert_eq!(name_strength("image-caption"), Some(true));
        assert_eq!(name_strength("article-body"), None);
    }

    /// A page of one article: a headline, `body` and four paragraphs of prose around it.
    fn article_page(body: &str) -> String {
        let para = "Der Gemeinderat hat am Dienstagabend lange über den neuen Radweg am \
                    Fluss beraten, der die beiden Ortsteile verbinden soll und seit Jahren \
                    gefordert wird.";
        format!(
            "<html><body><nav><a href=\"/\">Start</a></nav><article><h1>Radweg kommt</h1>\
             <p>{para}</p><p>{para} Die Kosten trägt das Land.</p>{body}\
             <p>{para} Im Frühjahr beginnen die Arbeiten.</p><p>{para} Ende.</p>\
             </article></body></html>"
        )
    }

    #[test]
    fn a_story_list_of_one_link_per_paragraph_goes_with_its_label() {
        let html = article_page(
            "<h3>Mehr lesen:</h3><p><a href=\"/a\">Brücke wird saniert</a></p>\
             <p><a href=\"/b\">Neue Buslinie ab Mai</a></p>\
             <p><em>Diese Artikel könnten dich ebenfalls interessieren:</em></p>\
             <p><a href=\"/c\">Marktplatz wird grün</a></p>\
             <p>Mehr lesen Sie in der <a href=\"/zeitung\">Samstagsausgabe</a> über den \
             Streit um die Finanzierung des Projekts.</p>",
        );
        let e = extract(&html, "https://example.org/radweg");
        for gone in [
            "Brücke wird saniert",
            "Neue Buslinie",
            "Marktplatz",
            "Mehr lesen:",
        ] {
            assert!(!e.text.contains(gone), "{gone}: {}", e.text);
        }
        assert!(e.text.contains("Samstagsausgabe"), "{}", e.text);
        assert!(e.text.contains("Im Frühjahr beginnen"), "{}", e.text);
        // "Mehr lesen" with no links after it is left alone.
        let html = article_page("<h3>Weiterlesen</h3><p>Ein Satz ohne Link danach.</p>");
        let e = extract(&html, "https://example.org/radweg");
        assert!(e.text.contains("Ein Satz ohne Link"), "{}", e.text);
    }

    #[test]
    fn legends_one_page_teasers_icon_links_and_meta_lines_go() {
        let html = article_page(
            "<div id=\"meta\"><p>Freitag | 14. Juni 2019 VON Eva Beispiel IN \
             <a href=\"/c/stadt\">Stadt</a> | 0 COMMENTS</p></div>\
             <div class=\"pic\"><img src=\"/a.jpg\"><div class=\"legend\">Der Fluss \
             bei Hochwasser im letzten Frühjahr. Foto © Eva Beispiel</div></div>\
             <div class=\"c-teaser\"><h3><a href=\"/bruecke\">Brücke wird saniert</a></h3>\
             <p>Die alte Brücke über den Fluss wird ab dem Sommer für ein halbes Jahr \
             gesperrt und von Grund auf saniert.</p><p><a href=\"/bruecke\">Mehr</a></p></div>\
             <a href=\"/presse\"><i class=\"fa fa-angle-left\"></i>zurück zur Listenansicht</a>",
        );
        let e = extract(&html, "https://example.org/radweg");
        for gone in [
            "Eva Beispiel",
            "bei Hochwasser",
            "Brücke",
            "halbes Jahr",
            "Listenansicht",
        ] {
            assert!(!e.text.contains(gone), "{gone}: {}", e.text);
        }
        assert!(e.text.contains("Im Frühjahr beginnen"), "{}", e.text);
        assert!(!is_meta_name("recipe-meta meta-info"));
        // A teaser whose links go to several pages, or to one page once, is left to the
        // share of its text in links.
        let one = "<p class=\"teaser\">Der Rat tagt <a href=\"/rat\">öffentlich</a> und \
                   lädt alle Bürger ein, die Sitzung im großen Saal des Rathauses zu \
                   verfolgen.</p>";
        let e = extract(&article_page(one), "https://example.org/radweg");
        assert!(e.text.contains("lädt alle Bürger ein"), "{}", e.text);
    }

    #[test]
    fn a_related_label_before_one_link_goes_and_one_before_prose_stays() {
        let html = article_page(
            "<p><em>Czytaj też: <a href=\"/x\">Wyścig zbrojeń ruszył z kopyta, a Europa wciąż się \
             zastanawia</a></em></p>\
             <p>Lesen Sie auch: was der Kreistag im Herbst zur \
             <a href=\"/kreistag\">Finanzierung</a> beschlossen hat, und warum.</p>\
             <p>Quelle: Landesverband Radverkehr, 2. Februar 2022</p>",
        );
        let e = extract(&html, "https://example.org/radweg");
        for gone in ["Wyścig", "Landesverband Radverkehr"] {
            assert!(!e.text.contains(gone), "{gone}: {}", e.text);
        }
        assert!(e.text.contains("was der Kreistag im Herbst"), "{}", e.text);
    }

    #[test]
    fn a_caption_beside_its_image_container_goes() {
        let alt = "Der Fluss bei Hochwasser im letzten Frühjahr, vom Steg aus gesehen";
        let html = article_page(&format!(
            "<figure><img src=\"/a.jpg\" alt=\"{alt}\"></figure>\
             <div><span>{alt}. Foto: Eva Beispiel</span></div>\
             <div><a href=\"/b\"><img src=\"/b.jpg\" alt=\"{alt} (2)\"></a></div>\
             <h2>{alt} (2)</h2>"
        ));
        let e = extract(&html, "https://example.org/radweg");
        assert!(!e.text.contains("Eva Beispiel"), "{}", e.text);
        // A heading that repeats an image's description is a title.
        assert!(e.text.contains("(2)"), "{}", e.text);
        assert!(e.text.contains("Im Frühjahr beginnen"), "{}", e.text);
    }

    #[test]
    fn embedded_post_cards_and_finnish_read_more_lists_go() {
        let html = article_page(
            "<blockquote class=\"wp-embedded-content\"><p><a href=\"/p/1\">Brücke wird \
             saniert</a></p></blockquote>\
             <p><strong>Lue aiheesta lisää:</strong></p>\
             <p><a href=\"/u/2\">Karhut heräsivät jo talviuniltaan</a></p>",
        );
        let e = extract(&html, "https://example.org/radweg");
        for gone in ["Brücke wird saniert", "Karhut", "Lue aiheesta"] {
            assert!(!e.text.contains(gone), "{gone}: {}", e.text);
        }
        assert!(e.text.contains("Im Frühjahr beginnen"), "{}", e.text);
    }

    #[test]
    fn headings() {
        assert!(vocab::is_comments_label("3 Comments"));
        assert!(vocab::is_comments_label("Comments (12)"));
        assert!(vocab::is_comments_label("Leave a Reply"));
        assert!(vocab::is_comments_label("5 thoughts on “Why we moved”"));
        assert!(!vocab::is_comments_label("Discussion"));
        assert!(!vocab::is_comments_label(
            "Comments on the proposal were mixed"
        ));
        assert!(vocab::is_related_label("Related stories"));
        assert!(vocab::is_related_label("More from Science"));
        assert!(vocab::is_related_label("Vorschau auf den nächsten Artikel"));
        assert!(vocab::is_related_label("Next post"));
        assert!(!vocab::is_related_label("Relativity explained"));
    }

    /// A paragraph of `n` words about one thing, so that pages below have prose to weigh.
    fn sentence(n: usize, word: &str) -> String {
        let mut s = vec![word; n].join(" ");
        s.push('.');
        s
    }

    #[test]
    fn an_article_of_teaser_links_does_not_outweigh_the_story() {
        let story: String = (0..3)
            .map(|i| format!("<p>{}</p>", sentence(28, &format!("bridge{i}"))))
            .collect();
        let teasers: String = (0..10)
            .map(|i| {
                format!(
                    "<div class=\"slide\"><a href=\"/s{i}\"><h3>Kicker</h3><p>{}</p></a></div>",
                    sentence(15, "elsewhere")
                )
            })
            .collect();
        let html = format!(
            "<html><body><div class=\"page\"><article class=\"story\"><h1>Harbour bridge \
             reopens</h1>{story}</article><article class=\"more\"><h3>Analysis, interviews\
             </h3>{teasers}</article></div></body></html>"
        );
        let e = extract(&html, "https://news.example/bridge");
        assert!(e.text.contains("bridge1 bridge1"), "{}", e.text);
        assert!(!e.text.contains("elsewhere"), "{}", e.text);
    }

    #[test]
    fn the_standfirst_in_the_headline_article_above_the_body_stays() {
        let body: String = (0..3)
            .map(|i| format!("<p>Credit {}</p>", sentence(40, &format!("body{i}"))))
            .collect();
        let html = format!(
            "<html><body><article class=\"stage\"><div>Credit</div><h1>Lease or buy?</h1>\
             <p>{}</p></article><div class=\"basis\"><article class=\"text\"><h2>Pros and \
             cons</h2>{body}</article></div></body></html>",
            sentence(30, "standfirst")
        );
        let e = extract(&html, "https://money.example/lease");
        assert!(e.text.contains("standfirst standfirst"), "{}", e.text);
        assert!(e.text.contains("body2 body2"), "{}", e.text);
    }

    #[test]
    fn a_kicker_found_in_the_body_does_not_end_the_lead() {
        let body: String = (0..6)
            .map(|i| format!("<p>Paragraph {}</p>", sentence(30, &format!("ferry{i}"))))
            .collect();
        let html = format!(
            "<html><body><nav><a href=\"/\">Home</a></nav><article><header>\
             <div>Paragraph</div><h1>Ferry timetable cut</h1><p>{}</p></header>\
             <div class=\"text\">{body}</div></article><footer>Contact</footer></body></html>",
            sentence(25, "intro")
        );
        let e = extract(&html, "https://news.example/ferry");
        assert!(e.text.contains("intro intro"), "{}", e.text);
        assert!(e.text.contains("ferry5 ferry5"), "{}", e.text);
    }

    #[test]
    fn blocks_of_a_page_builder_named_widget_stay() {
        let widget = |kind: &str, inner: &str| {
            format!("<div class=\"pb-widget pb-widget-{kind}\"><div>{inner}</div></div>")
        };
        let mut post = widget("heading", "<h1>Summer earrings</h1>");
        for i in 0..3 {
            post.push_str(&widget(
                "text",
                &format!("<p>{}</p>", sentence(30, &format!("ear{i}"))),
            ));
            post.push_str(&widget("image", "<img src=\"e.jpg\">"));
        }
        let excerpts: String = (0..2)
            .map(|i| format!("<li><p>{}</p></li>", sentence(40, &format!("other{i}"))))
            .collect();
        let html = format!(
            "<html><body><div class=\"entry\"><div class=\"pb\">{post}</div></div>\
             <ul class=\"more\">{excerpts}</ul></body></html>"
        );
        let e = extract(&html, "https://blog.example/earrings");
        for i in 0..3 {
            let w = format!("ear{i} ear{i}");
            assert!(e.text.contains(&w), "{}", e.text);
        }
    }
}

/// Fuzz targets of whole-page extraction (see `crate::fuzz`). They call the extractor
/// itself, not [`super::extract_html`], whose panic guard would hide a panic as a fallback.
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::extract::{markdown_to_text, passages};
    use crate::fuzz::{config, page_like};
    use proptest::prelude::*;

    proptest! {
        // A page costs milliseconds: the short run takes fewer of them.
        #![proptest_config(config(8))]

        #[test]
        fn extract_never_panics(page in page_like(), dated in any::<bool>()) {
            let url = if dated { "https://news.example/2024/03/05/story" } else { "" };
            let e = extract(&page, url);
            if let Some(date) = e.published {
                prop_assert!((1900..=2100).contains(&chrono::Datelike::year(&date)));
            }
            for max in [1, 40, 1200] {
                for p in passages(&e, max) {
                    prop_assert!(p.offset <= e.markdown.len());
                }
            }
            markdown_to_text(&e.markdown);
            bare_text(&page);
        }
    }
}
