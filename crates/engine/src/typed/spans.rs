//! Where things stand in a passage: word and sentence spans, which words are forms of the
//! field's keywords, and how far a value stands from them (what makes a value plain).

/// Largest [`keyword_distance`] at which a value counts as plainly stated (about three
/// content words, same sentence).
pub(super) const PLAIN_DISTANCE: usize = 7;

/// How far the span stands from the nearest keyword occurrence, in content words between
/// them (function words do not count), doubled, plus one when the keyword comes after the
/// value: values usually follow what names them ("revenue was 3.1 trillion"). A sentence
/// end between them adds a sentence's worth. `usize::MAX / 2` if no keyword occurs.
/// `keyword_at` is [`keyword_spans`] of the passage.
pub(super) fn keyword_distance(
    passage: &str,
    start: usize,
    end: usize,
    keyword_at: &[(usize, usize)],
) -> usize {
    let mut best = usize::MAX / 2;
    for &(at, word_end) in keyword_at {
        let word = &passage[at..word_end];
        let (between, keyword_after) = if at >= end {
            (&passage[end..at], true)
        } else if at + word.len() <= start {
            (&passage[at + word.len()..start], false)
        } else {
            ("", false)
        };
        // Every word counts here: "4,600 students and 820 staff" puts "students" next to
        // 4,600 and one word away from 820.
        let words = between
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .count();
        let sentence_break = has_break(between);
        let distance =
            (words + if sentence_break { 10 } else { 0 }) * 2 + usize::from(keyword_after);
        best = best.min(distance);
    }
    best
}

/// Byte spans of the passage's words that are forms of one of `keys` (byte spans, not
/// counted offsets: separators such as "—" are several bytes long).
pub(super) fn keyword_spans(passage: &str, keys: &[String]) -> Vec<(usize, usize)> {
    if keys.is_empty() {
        return Vec::new();
    }
    let keys: Vec<Vec<char>> = keys.iter().map(|k| lower_chars(k)).collect();
    let mut word = Vec::new();
    word_spans(passage, char::is_alphanumeric)
        .into_iter()
        .filter(|&(at, end)| {
            word.clear();
            word.extend(passage[at..end].chars().flat_map(char::to_lowercase));
            keys.iter().any(|k| stem_eq_lower(k, &word))
        })
        .collect()
}

/// Whether `text` crosses a sentence or block boundary: a full stop, `!` or `?` before
/// whitespace, a blank line, or a new list item or heading. A single line break inside a
/// paragraph (hard-wrapped text) is not one.
pub(super) fn has_break(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.iter().enumerate().any(|(i, c)| {
        let next = chars.get(i + 1).copied();
        match c {
            '.' | '!' | '?' => next.is_none_or(char::is_whitespace) && i + 1 < chars.len(),
            '\n' => {
                let rest: String = chars[i + 1..].iter().collect();
                let line = rest.trim_start_matches([' ', '\t']);
                line.starts_with('\n') || line.starts_with(['-', '*', '#', '|'])
            }
            _ => false,
        }
    })
}

/// Whether two words are forms of one word, ignoring case: equal but for a plural `s`, or
/// sharing a long common beginning ("employees" and "employs", "founded" and "founding").
pub fn stem_eq(a: &str, b: &str) -> bool {
    stem_eq_lower(&lower_chars(a), &lower_chars(b))
}

/// A word's lower-cased characters.
pub(super) fn lower_chars(word: &str) -> Vec<char> {
    word.chars().flat_map(char::to_lowercase).collect()
}

/// [`stem_eq`] of words already lower-cased: [`keyword_spans`] compares every word of a
/// passage with every keyword, so each is lower-cased once, not once per comparison.
pub(super) fn stem_eq_lower(a: &[char], b: &[char]) -> bool {
    let stem = |w: &[char]| w.len() - w.iter().rev().take_while(|&&c| c == 's').count();
    let (stem_a, stem_b) = (stem(a), stem(b));
    if a[..stem_a] == b[..stem_b] {
        return true;
    }
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    common >= 5 && common * 4 >= a.len().min(b.len()) * 3
}

/// The sentence of `passage` that holds byte `at`.
pub fn sentence_at(passage: &str, at: usize) -> &str {
    sentences(passage)
        .into_iter()
        .find(|&(s, e)| s <= at && at < e)
        .map_or(passage, |(s, e)| &passage[s..e])
}

/// Whether any of `keys` is a form of one of `words`.
pub(super) fn has<S: AsRef<str>>(keys: &[S], words: &[&str]) -> bool {
    keys.iter()
        .any(|k| words.iter().any(|w| stem_eq(k.as_ref(), w)))
}

/// Byte spans of the runs of characters for which `part` holds.
pub(super) fn word_spans(text: &str, part: impl Fn(char) -> bool) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (part(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

/// Sentences of a passage, with their byte spans.
pub(super) fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (k, (i, c)) in chars.iter().enumerate() {
        let next_is_space = chars.get(k + 1).is_none_or(|(_, n)| n.is_whitespace());
        let ends = match c {
            '.' => next_is_space && !ends_abbreviation(&text[start..*i]),
            '!' | '?' => next_is_space,
            '\n' => {
                let rest = text[i + 1..].trim_start_matches([' ', '\t']);
                rest.starts_with('\n') || rest.starts_with(['-', '*', '#', '|'])
            }
            _ => false,
        };
        if ends {
            let end = i + c.len_utf8();
            if !text[start..end].trim().is_empty() {
                out.push((start, end));
            }
            start = end;
        }
    }
    if !text[start..].trim().is_empty() {
        out.push((start, text.len()));
    }
    out
}

/// Abbreviations a full stop follows inside a sentence ("Zorblax Robotics Ltd. was
/// founded", "Dr. Ysolde Farrand").
pub(super) const ABBREVIATIONS: &[&str] = &[
    "ltd", "inc", "co", "corp", "plc", "dr", "mr", "mrs", "ms", "prof", "st", "jr", "sr", "no",
    "vs", "etc", "approx", "dept", "univ", "gen", "col", "capt", "rev", "hon", "mt", "ft", "e.g",
    "i.e",
];

/// Whether `before` (the sentence so far) ends with an abbreviation or an initial, so that
/// the full stop after it does not end the sentence.
pub(super) fn ends_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    let initial = word.chars().count() == 1 && word.chars().all(char::is_uppercase);
    initial || ABBREVIATIONS.contains(&word.to_lowercase().as_str())
}
