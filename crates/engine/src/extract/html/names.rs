//! The vocabulary the walks match class and id names against (boilerplate, galleries,
//! navigation, media players, teasers, pictures, bylines, dates, content containers), the
//! one-pass matcher of substring lists ([`Substrings`]), and [`Attrs`], the attributes the
//! walks read from an element.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use dom_query::NodeRef;

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

/// Whether a class or id value names a media player.
pub(super) fn is_media_name(value: &str) -> bool {
    value.split_ascii_whitespace().any(|token| {
        token
            .to_ascii_lowercase()
            .split(['-', '_', ':'])
            .any(|w| MEDIA_WORDS.contains(&w))
    })
}

/// Whether a class or id value names boilerplate. A BEM modifier (after `--`) says how a
/// thing looks or what it holds, not what it is (`TestReport__Section--Ads` is a section of
/// the report), so only the part before it counts.
pub(super) fn is_boilerplate_name(value: &str) -> bool {
    name_strength(value).is_some()
}

/// How surely a class or id value names boilerplate: `Some(true)` for names that no
/// content wears, `Some(false)` for names of navigation or of the parts around pictures
/// (see [`GALLERY_SUBSTRINGS`], [`NAVIGATION_WORDS`]), `None` for other names.
pub(super) fn name_strength(value: &str) -> Option<bool> {
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
pub(super) struct Substrings {
    words: &'static [&'static str],
    automaton: OnceLock<AhoCorasick>,
}

impl Substrings {
    pub(super) const fn new(words: &'static [&'static str]) -> Self {
        Substrings {
            words,
            automaton: OnceLock::new(),
        }
    }

    /// Whether `haystack` contains one of the words, ASCII case ignored.
    pub(super) fn is_match(&self, haystack: &str) -> bool {
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
pub(super) static TEASERS: Substrings = Substrings::new(TEASER_SUBSTRINGS);
pub(super) static PICTURES: Substrings = Substrings::new(PICTURE_SUBSTRINGS);
pub(super) static DATES: Substrings = Substrings::new(DATE_HINTS);
pub(super) static BYLINES: Substrings = Substrings::new(BYLINE_SUBSTRINGS);
pub(super) static AUTHOR_BOXES: Substrings = Substrings::new(AUTHOR_BOX_SUBSTRINGS);
/// Names of the date of the last change, not of the publication.
pub(super) static UPDATES: Substrings = Substrings::new(&["updat", "modif"]);
/// Names of the buttons of a consent banner.
pub(super) static CONSENT_CONTROLS: Substrings =
    Substrings::new(&["accept", "consent", "cookie", "agree", "dismiss"]);

/// Classes that content management systems give the body of a post, and nothing else.
pub(super) const POST_BODY_CLASSES: &[&str] = &[
    "entry-content",
    "post-body",
    "post-content",
    "article-body",
    "article-content",
    "story-body",
];

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
pub(super) fn is_meta_name(value: &str) -> bool {
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

/// Ids of the usual content containers.
pub(super) const CONTENT_IDS: &[&str] = &[
    "content",
    "main-content",
    "maincontent",
    "main",
    "article",
    "primary",
    "post",
];

/// Classes of the usual content containers.
pub(super) const CONTENT_CLASSES: &[&str] = &[
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

/// The attributes the scans look at, borrowed from one element.
#[derive(Default)]
pub(super) struct Attrs<'a> {
    pub(super) class: Option<&'a str>,
    pub(super) id: Option<&'a str>,
    pub(super) role: Option<&'a str>,
    pub(super) itemprop: Option<&'a str>,
    pub(super) style: Option<&'a str>,
    pub(super) typ: Option<&'a str>,
    pub(super) href: Option<&'a str>,
    pub(super) rel: Option<&'a str>,
    pub(super) datetime: Option<&'a str>,
    pub(super) aria_hidden: bool,
    pub(super) aria_modal: bool,
    pub(super) hidden: bool,
    pub(super) pubdate: bool,
}

impl<'a> Attrs<'a> {
    pub(super) fn read(attrs: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
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

    pub(super) fn role_is(&self, roles: &[&str]) -> bool {
        self.role
            .is_some_and(|r| roles.iter().any(|x| r.trim().eq_ignore_ascii_case(x)))
    }

    pub(super) fn class_or_id_contains(&self, needles: &Substrings) -> bool {
        [self.class, self.id]
            .into_iter()
            .flatten()
            .any(|v| needles.is_match(v))
    }

    pub(super) fn invisible_style(&self) -> bool {
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

/// Runs `f` on the tag name and the attributes of an element node; `None` for other nodes.
/// (The attributes borrow from the element, which is borrowed only for the call.)
pub(super) fn with_attrs<T>(node: &NodeRef, f: impl FnOnce(&str, &Attrs) -> T) -> Option<T> {
    node.element_ref().map(|el| {
        let a = Attrs::read(el.attrs.iter().map(|at| (&*at.name.local, &*at.value)));
        f(&el.name.local, &a)
    })
}
