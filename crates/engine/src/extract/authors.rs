//! Authors: the names of the people (or the organisation) a page says wrote it.
//!
//! Sources, most deliberate first, the first that yields a name wins:
//! 1. the `author` of the page's article-like JSON-LD object;
//! 2. an author `<meta>` tag (`author`, `article:author`, `DC.creator`, `citation_author`, …);
//! 3. the body, read before boilerplate is removed (site templates often put the author in
//!    a footer line that the content extraction drops): `itemprop="author"`, then links with
//!    `rel="author"`, then elements whose class names an author or a byline (`author`,
//!    `byline`, the vCard `fn`), in document order, outside comments, sidebars, widgets and
//!    related-post lists.
//!
//! Every candidate is cleaned ([`clean_name`]): a leading "By", "Von", "Posted by",
//! "Author:" and the like is dropped, and so is what follows the name on the same line (a
//! date, a separator); what remains must look like a name, not a sentence, an address or a
//! date, or it is not used.

use dom_smoothie::Readability;

use super::markdown::collapse_ws;
use super::meta::{in_foreign_container, HeadMeta, FOREIGN_CONTAINERS};

/// At most this many names are returned.
const MAX_AUTHORS: usize = 10;

/// Words that announce a name ("By Jane Doe", "Von Max Muster", "Posted by …", "Autor:
/// …"), lower case, in the languages the web writes most; dropped from the start of a
/// candidate, repeatedly.
const LEAD_WORDS: &[&str] = &[
    "by",
    "posted",
    "written",
    "published",
    "words",
    "story",
    "text",
    "von",
    "geschrieben",
    "verfasst",
    "veröffentlicht",
    "erstellt",
    "eingestellt",
    "autor",
    "autorin",
    "autoren",
    "author",
    "authors",
    "par",
    "publié",
    "écrit",
    "auteur",
    "auteure",
    "por",
    "publicado",
    "escrito",
    "di",
    "scritto",
    "autore",
    "pubblicato",
    "door",
    "geschreven",
    "av",
    "af",
    "przez",
    "autorka",
    "napisał",
    "napisała",
    "автор",
    "от",
];

/// The lead words that are prepositions ("by", "von"): inside a candidate, after words
/// that are not a name ("View all posts by Jane Doe"), the name follows them.
const BY_WORDS: &[&str] = &[
    "by", "von", "par", "por", "di", "door", "av", "af", "przez", "от",
];

/// Words that, inside a candidate, cut it: what follows is a date or a place, not a name
/// ("Jane Doe on 5 March", "Max Muster am 5. März", "Stand: 05.02.2020").
const CUT_WORDS: &[&str] = &[
    "on",
    "at",
    "in",
    "am",
    "um",
    "le",
    "el",
    "il",
    "op",
    "dnia",
    "stand",
    "updated",
    "aktualisiert",
    "|",
    "•",
    "·",
    "-",
    "–",
    "—",
    "/",
];

/// The page's authors: see the module documentation. `r` is the page as parsed, before
/// boilerplate removal.
/// Names that are the site's own (`og:site_name`, the host) are publishers, not authors,
/// and are passed over.
pub(super) fn read_authors(r: &Readability, head: &HeadMeta, url: &str) -> Vec<String> {
    let host = url::Url::parse(url).ok().and_then(|u| {
        u.host_str()
            .map(|h| h.trim_start_matches("www.").to_string())
    });
    let site: Vec<&str> = [head.site_name.as_deref(), host.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    for stated in [&head.jsonld_authors, &head.meta_authors] {
        let names = clean_all(stated.iter().map(String::as_str), &site);
        if !names.is_empty() {
            return names;
        }
    }
    body_authors(r, &site)
}

/// Cleans each candidate and keeps the distinct names that are not the site's, in order.
fn clean_all<'a>(candidates: impl IntoIterator<Item = &'a str>, site: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in candidates {
        if let Some(name) = clean_name(c) {
            let sitewide = site.iter().any(|s| {
                s.eq_ignore_ascii_case(&name)
                    || s.to_lowercase().replace([' ', '-', '.'], "")
                        == name.to_lowercase().replace([' ', '-', '.'], "")
            });
            if sitewide {
                continue;
            }
            if !out.iter().any(|n| n.eq_ignore_ascii_case(&name)) && out.len() < MAX_AUTHORS {
                out.push(name);
            }
        }
    }
    out
}

/// Which kind of author evidence an element is, strongest first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Evidence {
    Itemprop,
    RelAuthor,
    ClassName,
}

fn body_authors(r: &Readability, site: &[&str]) -> Vec<String> {
    // The candidates of the strongest kind present, in document order, as (kind, text).
    let mut best: Option<Evidence> = None;
    let mut texts: Vec<String> = Vec::new();
    for node in r.doc.root().descendants_it() {
        let Some(el) = node.element_ref() else {
            continue;
        };
        let mut itemprop = false;
        let mut rel_author = false;
        let mut class_author = false;
        for at in el.attrs.iter() {
            let value = &*at.value;
            match &*at.name.local {
                "itemprop" => {
                    itemprop = value
                        .split_ascii_whitespace()
                        .any(|t| t.eq_ignore_ascii_case("author"));
                }
                "rel" => {
                    rel_author = value
                        .split_ascii_whitespace()
                        .any(|t| t.eq_ignore_ascii_case("author"));
                }
                "class" => {
                    class_author = value.split_ascii_whitespace().any(|t| {
                        let t = t.to_ascii_lowercase();
                        (t.contains("author") || t.contains("byline") || t == "fn")
                            && !FOREIGN_CONTAINERS.iter().any(|f| t.contains(f))
                            && !["avatar", "bio", "image", "photo", "img", "desc", "about"]
                                .iter()
                                .any(|f| t.contains(f))
                    });
                }
                _ => {}
            }
        }
        let kind = if itemprop {
            Evidence::Itemprop
        } else if rel_author && &*el.name.local == "a" {
            Evidence::RelAuthor
        } else if class_author {
            Evidence::ClassName
        } else {
            continue;
        };
        if best.is_some_and(|b| b < kind) {
            continue;
        }
        let foreign = in_foreign_container(&node);
        if foreign {
            continue;
        }
        // A Person with its own name property says which text is the name.
        let text = if kind == Evidence::Itemprop {
            node.descendants_it()
                .find(|d| {
                    d.attr("itemprop")
                        .is_some_and(|p| p.trim().eq_ignore_ascii_case("name"))
                })
                .map(|d| {
                    d.attr("content")
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| d.text().to_string())
                })
                .or_else(|| node.attr("content").map(|c| c.to_string()))
                .unwrap_or_else(|| node.text().to_string())
        } else {
            node.text().to_string()
        };
        if clean_name(&text).is_none() {
            continue;
        }
        if best != Some(kind) {
            best = Some(kind);
            texts.clear();
        }
        texts.push(text);
    }
    match best {
        // Several itemprop or rel=author names are co-authors; class names repeat one
        // byline in nested elements and in several places, so only the first is taken.
        Some(Evidence::ClassName) => clean_all(texts.iter().take(1).map(String::as_str), site),
        Some(_) => clean_all(texts.iter().map(String::as_str), site),
        None => Vec::new(),
    }
}

/// The name in an author candidate, or `None` when what remains once the lead words and
/// what follows the name are dropped does not look like a name (see the module doc).
pub(super) fn clean_name(raw: &str) -> Option<String> {
    let text = collapse_ws(raw);
    let mut words: Vec<&str> = text
        .split(char::is_whitespace)
        .filter(|w| !w.is_empty())
        .collect();
    // Drop lead words (and a trailing colon on them): "Posted by", "Autor:".
    while let Some(first) = words.first() {
        let bare = first.trim_end_matches(':').to_lowercase();
        if LEAD_WORDS.contains(&bare.as_str()) || bare.is_empty() {
            words.remove(0);
        } else {
            break;
        }
    }
    // "View all posts by Jane Doe": the name follows a preposition that follows words which
    // are not a name (one of them lower case). "Ursula von der Leyen" stays whole.
    // "Artikel von: Jane Doe": a preposition with a colon is a label, whatever precedes it.
    if let Some(at) = words
        .iter()
        .position(|w| BY_WORDS.contains(&w.trim_end_matches(':').to_lowercase().as_str()))
    {
        let before = &words[..at];
        let label = words[at].ends_with(':');
        if label || before.len() >= 2 && before.iter().any(|w| w.starts_with(char::is_lowercase)) {
            words.drain(..=at);
        }
    }
    // Cut at the first word that starts a date, a place or another field.
    let cut = words
        .iter()
        .position(|w| {
            let bare = w.trim_end_matches([':', ',']).to_lowercase();
            bare.is_empty()
                || CUT_WORDS.contains(&bare.as_str())
                || w.chars().any(|c| c.is_ascii_digit())
        })
        .unwrap_or(words.len());
    words.truncate(cut);
    let name = words
        .join(" ")
        .trim_matches(|c: char| !c.is_alphanumeric() && c != '.' && c != ')')
        .to_string();
    let looks_like_a_name = !name.is_empty()
        && name.chars().count() <= 80
        && name.split(' ').count() <= 8
        && name.chars().any(char::is_alphabetic)
        && !name.contains('@')
        && !name.contains("://")
        && !name.starts_with("www.")
        && !name.ends_with(':')
        && !name.contains(['?', '!', '"', '“', '”', '«', '»'])
        && !is_label(&name);
    looks_like_a_name.then_some(name)
}

/// Words of the labels and buttons that sit where a name would ("About the author",
/// "Follow", "View profile", "Datum"), lower case: a candidate made only of them is no name.
const LABEL_WORDS: &[&str] = &[
    "about",
    "the",
    "author",
    "authors",
    "a",
    "note",
    "from",
    "follow",
    "view",
    "profile",
    "share",
    "datum",
    "date",
    "admin",
    "administrator",
    "beitrag",
    "beitragvon",
    "über",
    "den",
    "autor",
    "autorin",
    "à",
    "propos",
    "de",
    "l'auteur",
    "sobre",
    "el",
    "autore",
    "posted",
    "by",
    "read",
    "more",
    "contact",
    "kontakt",
    "email",
    "e-mail",
    "редакция",
];

/// Whether every word of `name` is a label word.
fn is_label(name: &str) -> bool {
    name.split(char::is_whitespace).all(|w| {
        LABEL_WORDS.contains(
            &w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
                .as_str(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authors(html: &str) -> Vec<String> {
        crate::extract::extract_html(html, "https://example.org/post").authors
    }

    #[test]
    fn cleaning_drops_lead_words_and_what_follows_the_name() {
        assert_eq!(clean_name("By Jane Doe").as_deref(), Some("Jane Doe"));
        assert_eq!(
            clean_name("Posted by: Jane Doe on 5 March 2019").as_deref(),
            Some("Jane Doe")
        );
        assert_eq!(
            clean_name("Von Max Muster und Erika Muster").as_deref(),
            Some("Max Muster und Erika Muster")
        );
        assert_eq!(
            clean_name("Autor: Max Muster | 12.03.2019").as_deref(),
            Some("Max Muster")
        );
        assert_eq!(
            clean_name("  Jean-Luc Ménard, ").as_deref(),
            Some("Jean-Luc Ménard")
        );
        assert_eq!(clean_name("https://example.org/author/jane"), None);
        assert_eq!(clean_name("jane@example.org"), None);
        assert_eq!(clean_name("5 March 2019"), None);
        assert_eq!(clean_name("By"), None);
        assert_eq!(
            clean_name("View all posts by Jane Doe").as_deref(),
            Some("Jane Doe")
        );
        assert_eq!(
            clean_name("Artikel von: Jane\u{a0}Doe").as_deref(),
            Some("Jane Doe")
        );
        assert_eq!(clean_name("Jane Doe , Datum"), Some("Jane Doe".into()));
        assert_eq!(clean_name("About the Author"), None);
        assert_eq!(clean_name("View Profile Follow"), None);
        assert_eq!(
            clean_name("Ursula von der Leyen").as_deref(),
            Some("Ursula von der Leyen")
        );
        assert_eq!(
            clean_name("Sara Beispiel Stand: 05.02.2020").as_deref(),
            Some("Sara Beispiel")
        );
        assert_eq!(
            clean_name(
                "This long text about the author is a sentence and not a name at all really"
            ),
            None
        );
    }

    #[test]
    fn jsonld_author_comes_first() {
        let html = r#"<html><head>
            <script type="application/ld+json">{"@type":"BlogPosting","headline":"A post",
              "author":[{"@type":"Person","name":"Ada Lovelace"},{"@type":"Person","name":"Charles Babbage"}]}</script>
            <meta name="author" content="Site Owner"></head>
            <body><article><h1>A post</h1><p>Text of the post, long enough to be content.</p></article></body></html>"#;
        assert_eq!(authors(html), ["Ada Lovelace", "Charles Babbage"]);
    }

    #[test]
    fn jsonld_author_by_reference_and_publishers_passed_over() {
        let html = r#"<html><head><meta property="og:site_name" content="Example Press">
            <script type="application/ld+json">{"@context":"https://schema.org","@graph":[
              {"@type":"Person","@id":"https://example.org/#me","name":"Ada Lovelace"},
              {"@type":"Article","headline":"A post","author":{"@id":"https://example.org/#me"}}]}</script>
            </head><body><article><h1>A post</h1><p>Text of the post, long enough to be content.</p></article></body></html>"#;
        assert_eq!(authors(html), ["Ada Lovelace"]);
        let html = r#"<html><head><meta property="og:site_name" content="Example Press">
            <meta name="author" content="Example Press"></head>
            <body><article><h1>A post</h1><p class="byline">By Jane Doe</p>
            <p>Text of the post, long enough to be content.</p></article></body></html>"#;
        assert_eq!(authors(html), ["Jane Doe"]);
    }

    #[test]
    fn meta_author_when_no_jsonld() {
        let html = r#"<html><head><meta name="author" content="Grace Hopper">
            <meta property="article:author" content="https://social.example/grace"></head>
            <body><article><h1>Compilers</h1><p>Text of the post about compilers.</p></article></body></html>"#;
        assert_eq!(authors(html), ["Grace Hopper"]);
    }

    #[test]
    fn byline_in_a_footer_line_is_read_and_comment_authors_are_not() {
        let html = r#"<html><body><article><h1>Winter running</h1>
            <p>The post itself, about running in the winter, long enough to be the content.</p>
            <footer class="entry-meta">Posted on <time>2020-01-05</time> by
              <span class="author vcard"><a class="url fn n" href="/author/heike">Heike Beispiel</a></span></footer>
            </article>
            <div id="comments"><ol class="commentlist"><li><div class="comment-author vcard">
              <cite class="fn">Someone Else</cite></div><p>Nice post!</p></li></ol></div></body></html>"#;
        assert_eq!(authors(html), ["Heike Beispiel"]);
    }

    #[test]
    fn comment_authors_alone_give_no_author() {
        let html = r#"<html><body><article><h1>Title</h1><p>The post itself, long enough.</p></article>
            <section class="comments"><div class="author">Someone Else</div><p>Nice post!</p></section>
            </body></html>"#;
        assert!(authors(html).is_empty());
    }

    #[test]
    fn itemprop_author_name_and_rel_author() {
        let html = r#"<html><body><article><h1>Title</h1>
            <div itemprop="author" itemscope><span itemprop="name">Alan Turing</span>, Bletchley</div>
            <p>The post itself, long enough to be content for the test.</p></article></body></html>"#;
        assert_eq!(authors(html), ["Alan Turing"]);
        let html = r#"<html><body><article><h1>Title</h1>
            <p class="byline">Von <a rel="author" href="/a/1">Max Muster</a> und <a rel="author" href="/a/2">Erika Muster</a></p>
            <p>The post itself, long enough to be content for the test.</p></article></body></html>"#;
        assert_eq!(authors(html), ["Max Muster", "Erika Muster"]);
    }

    #[test]
    fn a_byline_text_without_markup_for_the_name() {
        let html = r#"<html><body><article><h1>Title</h1><div class="byline">By Jane Doe · 5 min read</div>
            <p>The post itself, long enough to be content for the test.</p></article></body></html>"#;
        assert_eq!(authors(html), ["Jane Doe"]);
    }
}
