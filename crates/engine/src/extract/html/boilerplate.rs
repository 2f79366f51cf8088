//! Boilerplate removal, before readability scores the tree: one walk classifies the
//! elements and measures the page's prose; the removals then go from the most specific
//! evidence (consent buttons, comment headings) to the broadest (class names), each guarded
//! so that nothing holding the main content goes.

use std::collections::{HashMap, HashSet};

use dom_query::{NodeId, NodeRef};
use dom_smoothie::Readability;

use super::measure::{chars_of, linked_chars, text_before, text_chars};
use super::names::{
    is_boilerplate_name, is_media_name, name_strength, with_attrs, Attrs, CONSENT_CONTROLS,
    PICTURES, POST_BODY_CLASSES, TEASERS,
};
use crate::extract::markdown::collapse_ws;
use crate::extract::vocab;

/// The most non-whitespace characters of a media element's text that is removed.
const MEDIA_MAX_CHARS: usize = 300;

/// The most non-whitespace characters of an image container's text that is removed with
/// the image: a caption, not a paragraph set beside a picture.
const PICTURE_MAX_CHARS: usize = 400;

/// The most prose (a paragraph, or text set off by line breaks) an image container may hold
/// and still be taken for a caption.
const CAPTION_MAX_PROSE: usize = 150;

/// The most non-whitespace characters of a teaser: more is a section, not a link to one.
const TEASER_MAX_CHARS: usize = 1500;

/// The prose (see [`paragraph_prose`]) that keeps an element whose name is only weak
/// evidence of boilerplate.
const WEAK_NAME_PROSE: usize = 300;

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

/// Whether `n` is or contains what marks a page's main content: `html`, `body`, `main`,
/// `[role=main]`, `[itemprop=articleBody]`, a [`POST_BODY_CLASSES`] element, and when asked,
/// an `<h1>` or an `<article>` (weaker marks: a list of teasers may be made of
/// `<article>`s). Such a node is the content's column, whatever its class calls it.
pub(in crate::extract) fn marks_main_content(
    n: &dom_query::NodeRef,
    h1: bool,
    article: bool,
) -> bool {
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
/// the page's text. `h1` says whether containing an `<h1>` protects.
fn holds_content(n: &NodeRef, page: &PageSize, h1: bool) -> bool {
    if marks_main_content(n, h1, true) {
        return true;
    }
    let chars = text_chars(n);
    (chars > 400 && chars * 10 > page.chars * 4)
        || (chars > 200 && {
            // Most of the page's prose: a content column whose class happens to name
            // a layout part (`l-sidebar-fixed l-article-body`, `elementor-widget`)
            // among menus and footers that outweigh it in plain characters.
            let prose = page.prose_of(n);
            prose > 200 && prose * 2 > page.prose
        })
}

/// Non-whitespace characters of a paragraph (`<p>`) of `chars` of them, or 0 when it is
/// mostly link text (a teaser, a link list): a measure of running prose.
fn paragraph_prose(p: &NodeRef, chars: usize) -> usize {
    if linked_chars(p) * 2 < chars {
        chars
    } else {
        0
    }
}

/// Non-whitespace characters of a long text node right in a block container (text set off
/// by `<br>`s in a `<div>`, as old blogs write it), or 0 for a short one, one in a
/// paragraph (counted by [`paragraph_prose`]), a link, a table cell, a script or a style.
fn loose_prose(text: &NodeRef) -> usize {
    let chars = text_chars(text);
    if chars >= 80
        && text.parent().is_some_and(|p| {
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
        && !text.ancestors_it(None).any(|a| {
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
}

/// The size of the page's text, against which a candidate for removal is weighed.
struct PageSize {
    /// Non-whitespace characters of the body.
    chars: usize,
    /// The body's prose: [`paragraph_prose`] of its paragraphs and [`loose_prose`] of
    /// its other text.
    prose: usize,
    /// The prose inside each element that has any.
    prose_in: HashMap<NodeId, usize>,
}

impl PageSize {
    /// The prose inside `node` (0 when it has none).
    fn prose_of(&self, node: &NodeRef) -> usize {
        self.prose_in.get(&node.id).copied().unwrap_or(0)
    }

    /// Counts `prose` characters found in `node`: in the page, in the node and in each of
    /// its ancestors.
    fn add_prose(&mut self, node: &NodeRef, prose: usize) {
        if prose > 0 {
            self.prose += prose;
            for a in std::iter::once(*node).chain(node.ancestors_it(None)) {
                *self.prose_in.entry(a.id).or_insert(0) += prose;
            }
        }
    }
}

/// The nodes removed so far, so that candidates inside them are skipped without work.
#[derive(Default)]
struct Removed(HashSet<NodeId>);

impl Removed {
    /// Whether `node` is gone: removed itself, or inside a removed node.
    fn holds(&self, node: &NodeRef) -> bool {
        self.0.contains(&node.id) || node.ancestors_it(None).any(|a| self.0.contains(&a.id))
    }

    /// Detaches `node` from the tree and notes it.
    fn remove(&mut self, node: &NodeRef) {
        self.0.insert(node.id);
        node.remove_from_parent();
    }
}

/// The shortest image description a caption is recognised by: shorter ones ("Foto",
/// a name) are also the words of ordinary lines.
const CAPTION_MIN_ALT_CHARS: usize = 30;

/// The block right after an image (or after the container it is the only content of) that
/// repeats the image's `alt` or `title`, maybe followed by a credit: the image's caption,
/// written beside its container rather than in it.
fn caption_after<'a>(img: &NodeRef<'a>) -> Option<NodeRef<'a>> {
    let alt = ["alt", "title"]
        .iter()
        .filter_map(|a| img.attr(a))
        .map(|v| collapse_ws(&v))
        .find(|v| chars_of(v) >= CAPTION_MIN_ALT_CHARS)?;
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
fn is_related_link_line(node: &NodeRef, text: &str) -> bool {
    let Some((label, rest)) = text.split_once(':') else {
        return false;
    };
    let rest_chars = chars_of(rest);
    if rest_chars == 0 || !vocab::is_related_label(label) {
        return false;
    }
    linked_chars(node) >= rest_chars
}

/// Whether an element has no child elements but empty ones: icons (`<a><i class="fa
/// fa-angle-left"></i>Zurück zur Listenansicht</a>`), so that its text is its own label.
/// Only links and spans are looked into: their children are few.
fn only_icons_inside(node: &NodeRef) -> bool {
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

/// The candidates for removal the walk of [`remove_boilerplate`] finds, per step, in
/// document order (an element may be in several lists).
#[derive(Default)]
struct Candidates<'a> {
    /// Controls that may answer a consent banner ([`Pre::consent`]).
    consent: Vec<NodeRef<'a>>,
    /// Headings that may open a comment section or a list of stories.
    headings: Vec<NodeRef<'a>>,
    /// Short paragraphs, and elements with nothing but their text (or icons), that may be
    /// labels or prompts outside headings.
    labels: Vec<NodeRef<'a>>,
    /// Elements that are never content ([`Pre::always`]).
    always: Vec<NodeRef<'a>>,
    /// Boilerplate unless it holds the content ([`Pre::guarded`]).
    guarded: Vec<NodeRef<'a>>,
    /// `header`s and banner landmarks.
    headers: Vec<NodeRef<'a>>,
    /// Elements whose class or id names boilerplate, and whether only weakly.
    named: Vec<(NodeRef<'a>, bool)>,
    /// Superscripts, maybe citation markers.
    sups: Vec<NodeRef<'a>>,
    /// Every `<h1>` to `<h6>`.
    all_headings: Vec<NodeRef<'a>>,
    /// Elements named for a media player.
    media: Vec<NodeRef<'a>>,
    /// Elements named for a teaser.
    teasers: Vec<NodeRef<'a>>,
    /// Image containers (not images themselves).
    pictures: Vec<NodeRef<'a>>,
    /// `<img>`s.
    images: Vec<NodeRef<'a>>,
}

impl<'a> Candidates<'a> {
    /// Puts an element in the lists it belongs to, from its classification; `short` says
    /// whether it is not a long paragraph (those are no labels).
    fn sort(&mut self, node: NodeRef<'a>, p: Pre, short: bool) {
        if p.consent {
            self.consent.push(node);
        }
        if p.heading {
            self.headings.push(node);
        } else if p.label && short && (node.has_name("p") || only_icons_inside(&node)) {
            self.labels.push(node);
        }
        if p.sup {
            self.sups.push(node);
        }
        if ["h1", "h2", "h3", "h4", "h5", "h6"]
            .iter()
            .any(|h| node.has_name(h))
        {
            self.all_headings.push(node);
        }
        if p.always {
            self.always.push(node);
        } else if p.guarded {
            self.guarded.push(node);
        } else if p.header {
            self.headers.push(node);
        } else if p.named {
            self.named.push((node, p.weak));
        } else if p.media {
            self.media.push(node);
        }
        if p.teaser {
            self.teasers.push(node);
        }
        if p.picture && !node.has_name("img") {
            self.pictures.push(node);
        }
        if node.has_name("img") {
            self.images.push(node);
        }
    }
}

/// Removes boilerplate from the tree before readability scores it. One walk over the tree
/// classifies the elements; the removals then go from the most specific evidence (consent
/// buttons, comment headings) to the broadest (class names), each guarded so that nothing
/// holding the main content goes.
pub(super) fn remove_boilerplate(r: &Readability) {
    let (page, found) = survey(r);
    let mut removed = Removed::default();
    remove_consent_banners(found.consent, &page, &mut removed);
    remove_labelled_sections(found.headings, &page, &mut removed);
    remove_labels(found.labels, &page, &mut removed);
    for node in found.always {
        // No guard and no need to skip: these are never content.
        node.remove_from_parent();
    }
    remove_citation_markers(found.sups);
    for node in found.guarded {
        if !removed.holds(&node) && !holds_content(&node, &page, true) {
            removed.remove(&node);
        }
    }
    remove_site_headers(found.headers, &page, &mut removed);
    remove_named(found.named, &page, &mut removed);
    for node in found.media {
        if !removed.holds(&node)
            && text_chars(&node) <= MEDIA_MAX_CHARS
            && !holds_content(&node, &page, true)
        {
            removed.remove(&node);
        }
    }
    remove_teasers(found.teasers, &page, &mut removed);
    // Captions that repeat the image's description, in a block after its container.
    for img in found.images {
        if let Some(caption) = caption_after(&img) {
            if !removed.holds(&caption) && !holds_content(&caption, &page, true) {
                removed.remove(&caption);
            }
        }
    }
    remove_picture_captions(found.pictures, &page, &mut removed);
    unname_headings(found.all_headings, &removed);
}

/// The one walk of [`remove_boilerplate`]: the page's size and prose, and the candidates for
/// each removal.
fn survey(r: &Readability) -> (PageSize, Candidates<'_>) {
    let doc = &r.doc;
    let mut page = PageSize {
        chars: chars_of(&doc.select_single("body").text()),
        prose: 0,
        prose_in: HashMap::new(),
    };
    let mut found = Candidates::default();
    for node in doc.root().descendants_it() {
        // Short paragraphs may be labels (below); others are not worth reading again.
        let mut short = true;
        let prose = if node.has_name("p") {
            let chars = text_chars(&node);
            short = chars <= 120;
            paragraph_prose(&node, chars)
        } else if node.is_text() {
            loose_prose(&node)
        } else {
            0
        };
        page.add_prose(&node, prose);
        if let Some(p) = with_attrs(&node, classify_pre) {
            found.sort(node, p, short);
        }
    }
    (page, found)
}

/// Cookie and consent banners, found by their answer buttons (before buttons go): the
/// largest small ancestor of an answer ("Accept all", "Ablehnen") that speaks of cookies or
/// consent.
fn remove_consent_banners(consent: Vec<NodeRef>, page: &PageSize, removed: &mut Removed) {
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
        if !CONSENT_ANSWERS.contains(&label) || removed.holds(&node) {
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
            if !holds_content(&t, page, true) {
                removed.remove(&t);
            }
        }
    }
}

/// Comment sections and story lists, found by their headings ("Comments", "Mehr zum
/// Thema", "Read more" before links): the section the heading opens, or what follows it.
fn remove_labelled_sections(headings: Vec<NodeRef>, page: &PageSize, removed: &mut Removed) {
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
        if removed.holds(&node) {
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
        if labelled && text_before(&node) <= 100 && !holds_content(&parent, page, true) {
            removed.remove(&parent);
        } else if comments {
            // The comments follow the heading inside the content container.
            let mut next = node.next_sibling();
            while let Some(n) = next {
                next = n.next_sibling();
                removed.remove(&n);
            }
            removed.remove(&node);
        } else {
            // A list of stories right after the heading, or its links one block each.
            if let Some(n) = node.next_element_sibling() {
                if n.has_name("ul") || n.has_name("ol") {
                    removed.remove(&n);
                }
            }
            for n in link_blocks_after(&node) {
                removed.remove(&n);
            }
            removed.remove(&node);
        }
    }
}

/// The same prompts and labels outside headings ("Möchten Sie den Artikel teilen?" in a
/// `<p>`, "Lesen Sie auch:" in a `<strong>`): the small box a label opens goes, else the
/// label alone; photo credits go alone.
fn remove_labels(labels: Vec<NodeRef>, page: &PageSize, removed: &mut Removed) {
    for node in labels {
        if removed.holds(&node) {
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
            removed.remove(&node);
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
                if text_before(&node) <= 100
                    && text_chars(&parent) <= 600
                    && !holds_content(&parent, page, true) =>
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
            removed.remove(&n);
        }
        removed.remove(&block);
    }
}

/// Citation markers: `[12]`, `[a]`, `[citation needed]`, and superscripts whose class
/// names a reference or a footnote.
fn remove_citation_markers(sups: Vec<NodeRef>) {
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
}

/// Site headers: those outside the article (`article`, `main`, `[role=main]`); an `<h1>`
/// in them is usually the logo, so it does not protect them.
fn remove_site_headers(headers: Vec<NodeRef>, page: &PageSize, removed: &mut Removed) {
    for node in headers {
        if removed.holds(&node) {
            continue;
        }
        let in_content = node.ancestors_it(None).any(|a| {
            a.has_name("article")
                || a.has_name("main")
                || a.attr("role")
                    .is_some_and(|v| v.eq_ignore_ascii_case("main"))
        });
        if !in_content && !holds_content(&node, page, false) {
            removed.remove(&node);
        }
    }
}

/// Elements whose class or id names boilerplate, unless they hold the content, hold
/// enough prose for a weak name, or wear a name the content itself wears (see
/// [`content_class_tokens`]); those kept lose the boilerplate name.
fn remove_named(named: Vec<(NodeRef, bool)>, page: &PageSize, removed: &mut Removed) {
    let content_names = content_class_tokens(&named, page);
    for (node, weak) in named {
        if removed.holds(&node) {
            continue;
        }
        let keep = holds_content(&node, page, true)
            || (weak && page.prose_of(&node) >= WEAK_NAME_PROSE)
            || node.attr("class").is_some_and(|c| {
                c.split_ascii_whitespace()
                    .any(|t| content_names.contains(&t.to_ascii_lowercase()))
            });
        if !keep {
            removed.remove(&node);
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
}

/// Teasers of other pages, inside the article as well as around it: the link is the
/// teaser's text, or wraps it.
fn remove_teasers(teasers: Vec<NodeRef>, page: &PageSize, removed: &mut Removed) {
    for node in teasers {
        if removed.holds(&node) {
            continue;
        }
        let chars = text_chars(&node);
        if chars == 0 || chars > TEASER_MAX_CHARS {
            continue;
        }
        let linked = node.ancestors_it(Some(4)).any(|a| a.has_name("a"))
            || node.has_name("a")
            || links_to_one_page(&node)
            || 2 * linked_chars(&node) >= chars;
        if linked && !holds_content(&node, page, true) {
            removed.remove(&node);
        }
    }
}

/// Captions and credits: the text of a small container of one image (the image itself
/// is left out of the markdown), unless it is a paragraph set beside the image.
fn remove_picture_captions(pictures: Vec<NodeRef>, page: &PageSize, removed: &mut Removed) {
    for node in pictures {
        if removed.holds(&node) {
            continue;
        }
        let chars = text_chars(&node);
        if chars == 0 || chars > PICTURE_MAX_CHARS {
            continue;
        }
        let mut images = 0;
        let mut other = false;
        for d in node.descendants_it() {
            if d.has_name("img") {
                images += 1;
            } else if (d.has_name("p") && text_chars(&d) > CAPTION_MAX_PROSE)
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
        let prose = page.prose_of(&node);
        if images == 1 && !other && prose <= CAPTION_MAX_PROSE && !holds_content(&node, page, true)
        {
            removed.remove(&node);
        }
    }
}

/// Headings that survived are content: their class and id no longer matter (and
/// readability would drop a `<h2 class="subheader">` for the "header" in it), unless they
/// hide the heading.
fn unname_headings(all_headings: Vec<NodeRef>, removed: &Removed) {
    for node in all_headings {
        if removed.holds(&node) {
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
fn content_class_tokens(named: &[(NodeRef, bool)], page: &PageSize) -> HashSet<String> {
    let mut prose: HashMap<String, usize> = HashMap::new();
    // Per token, the elements already counted (an element inside one is not counted again).
    let mut counted: HashMap<String, HashSet<NodeId>> = HashMap::new();
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
                *prose.entry(token).or_insert(0) += page.prose_of(node);
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
fn links_to_one_page(node: &NodeRef) -> bool {
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
fn link_blocks_after<'a>(label: &NodeRef<'a>) -> Vec<NodeRef<'a>> {
    let mut out = Vec::new();
    let mut next = label.next_element_sibling();
    while let Some(n) = next {
        next = n.next_element_sibling();
        let chars = text_chars(&n);
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
