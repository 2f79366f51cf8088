//! Text measures of nodes: their non-whitespace characters (in all, inside links, in the
//! siblings before them) and their words, counted so that scripts written without spaces
//! weigh like the others.

use dom_query::NodeRef;

/// Non-whitespace characters of a text.
pub(super) fn chars_of(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// Non-whitespace characters of a node's text.
pub(super) fn text_chars(node: &NodeRef) -> usize {
    chars_of(&node.text())
}

/// Non-whitespace characters of a node's text inside its links (see [`text_chars`]).
pub(super) fn linked_chars(node: &NodeRef) -> usize {
    node.descendants_it()
        .filter(|d| d.has_name("a"))
        .map(|a| text_chars(&a))
        .sum()
}

/// Non-whitespace characters of the siblings before a node.
pub(super) fn text_before(node: &NodeRef) -> usize {
    let mut before = 0;
    let mut prev = node.prev_sibling();
    while let Some(p) = prev {
        before += text_chars(&p);
        prev = p.prev_sibling();
    }
    before
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
pub(super) fn words_of(s: &str) -> usize {
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
pub(super) fn unlinked_words(node: &NodeRef) -> usize {
    let linked: usize = node
        .descendants_it()
        .filter(|d| d.has_name("a"))
        .map(|a| words_of(&a.text()))
        .sum();
    words_of(&node.text()).saturating_sub(linked)
}
