//! Splitting extracted markdown into passages for ranking.

use super::markdown::{closes_fence, collapse_ws, fence_of, is_table_delimiter, strip_inline};
use super::{Extracted, Passage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Heading,
    Code,
    Table,
    Text,
}

/// A block of the markdown: `md[start..end]`, without its trailing newline.
#[derive(Debug, Clone, Copy)]
struct Block {
    start: usize,
    end: usize,
    kind: Kind,
}

fn is_heading(line: &str) -> bool {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    (1..=6).contains(&hashes)
        && line[hashes..].starts_with(' ')
        && !line[hashes..].trim().is_empty()
}

/// Cuts markdown into blocks: runs of non-blank lines, fenced code blocks (blank lines
/// included), headings, and tables (split from adjacent text).
fn blocks(md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut cur: Option<Block> = None;
    let mut fence: Option<(char, usize)> = None;
    let mut offset = 0;
    let flush = |cur: &mut Option<Block>, out: &mut Vec<Block>| {
        if let Some(b) = cur.take() {
            out.push(b);
        }
    };
    for raw in md.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let end = start + line.len();
        if let Some(f) = fence {
            if let Some(b) = cur.as_mut() {
                b.end = end;
            }
            if closes_fence(line, f) {
                fence = None;
                flush(&mut cur, &mut out);
            }
            continue;
        }
        if let Some(f) = fence_of(line) {
            flush(&mut cur, &mut out);
            fence = Some(f);
            cur = Some(Block {
                start,
                end,
                kind: Kind::Code,
            });
            continue;
        }
        if line.trim().is_empty() {
            flush(&mut cur, &mut out);
            continue;
        }
        if is_heading(line) {
            flush(&mut cur, &mut out);
            out.push(Block {
                start,
                end,
                kind: Kind::Heading,
            });
            continue;
        }
        let kind = if line.trim_start().starts_with('|') {
            Kind::Table
        } else {
            Kind::Text
        };
        match cur.as_mut() {
            Some(b) if b.kind == kind => b.end = end,
            _ => {
                flush(&mut cur, &mut out);
                cur = Some(Block { start, end, kind });
            }
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// The plain text of a heading line.
fn heading_text(line: &str) -> String {
    let t = line
        .trim_start_matches('#')
        .trim()
        .trim_end_matches('#')
        .trim_end();
    let mut out = String::new();
    strip_inline(t, &mut out);
    collapse_ws(&out)
}

/// One passage being built.
struct Current {
    text: String,
    chars: usize,
    offset: usize,
}

/// Splits the markdown of `extracted` into passages of at most `max_chars` characters (a
/// `max_chars` of 0 counts as 1).
///
/// Blocks (paragraphs, lists, tables, code blocks) are kept whole and consecutive short
/// blocks under the same heading are merged, separated by a blank line, while they fit. A
/// block longer than `max_chars` is cut: lists and text at line ends first, then at
/// sentence ends, then between words; tables between rows with the header row repeated in
/// each piece; code between lines with the fence repeated. A passage never spans a heading
/// and carries the nearest heading above it (the page title for text before the first
/// heading). No word is cut, except a single "word" longer than `max_chars` (a long URL
/// or identifier), which is cut at a character boundary so the limit always holds.
/// `offset` is where the passage's first block (or piece) starts in the markdown.
pub fn passages(extracted: &Extracted, max_chars: usize) -> Vec<Passage> {
    let max = max_chars.max(1);
    let md = extracted.markdown.as_str();
    let mut out = Vec::new();
    let mut heading = extracted.title.clone();
    let mut cur: Option<Current> = None;

    let flush = |cur: &mut Option<Current>, out: &mut Vec<Passage>, heading: &Option<String>| {
        if let Some(c) = cur.take() {
            if !c.text.trim().is_empty() {
                out.push(Passage {
                    text: c.text,
                    heading: heading.clone(),
                    offset: c.offset,
                });
            }
        }
    };

    for block in blocks(md) {
        let text = &md[block.start..block.end];
        if block.kind == Kind::Heading {
            flush(&mut cur, &mut out, &heading);
            heading = Some(heading_text(text)).filter(|h| !h.is_empty());
            continue;
        }
        let chars = text.chars().count();
        if chars <= max {
            match cur.as_mut() {
                Some(c) if c.chars + 2 + chars <= max => {
                    c.text.push_str("\n\n");
                    c.text.push_str(text);
                    c.chars += 2 + chars;
                }
                _ => {
                    flush(&mut cur, &mut out, &heading);
                    cur = Some(Current {
                        text: text.to_string(),
                        chars,
                        offset: block.start,
                    });
                }
            }
            continue;
        }
        flush(&mut cur, &mut out, &heading);
        let pieces = match block.kind {
            Kind::Table => split_table(text, max),
            Kind::Code => split_code(text, max),
            _ => None,
        }
        .unwrap_or_else(|| {
            split_long(text, max)
                .into_iter()
                .map(|(s, e)| (text[s..e].to_string(), s))
                .collect()
        });
        let n = pieces.len();
        for (i, (piece, rel)) in pieces.into_iter().enumerate() {
            let c = Current {
                chars: piece.chars().count(),
                text: piece,
                offset: block.start + rel,
            };
            if i + 1 == n {
                // The last piece may take short blocks that follow.
                cur = Some(c);
            } else {
                cur = Some(c);
                flush(&mut cur, &mut out, &heading);
            }
        }
    }
    flush(&mut cur, &mut out, &heading);
    out
}

/// Table pieces: rows packed under a repeated header. `None` when the header and one row
/// do not fit.
fn split_table(text: &str, max: usize) -> Option<Vec<(String, usize)>> {
    let mut lines = Vec::new();
    let mut off = 0;
    for l in text.split('\n') {
        lines.push((l, off));
        off += l.len() + 1;
    }
    if lines.len() < 3 || !is_table_delimiter(lines[1].0) {
        return None;
    }
    let header = format!("{}\n{}", lines[0].0, lines[1].0);
    let header_chars = header.chars().count();
    let mut out = Vec::new();
    let mut chunk = String::new();
    let mut chunk_chars = 0;
    let mut chunk_off = 0;
    for &(row, row_off) in &lines[2..] {
        let row_chars = row.chars().count();
        if header_chars + 1 + row_chars > max {
            return None;
        }
        if chunk.is_empty() {
            chunk = header.clone();
            chunk_chars = header_chars;
            chunk_off = if out.is_empty() { 0 } else { row_off };
        } else if chunk_chars + 1 + row_chars > max {
            out.push((std::mem::take(&mut chunk), chunk_off));
            chunk = header.clone();
            chunk_chars = header_chars;
            chunk_off = row_off;
        }
        chunk.push('\n');
        chunk.push_str(row);
        chunk_chars += 1 + row_chars;
    }
    if !chunk.is_empty() {
        out.push((chunk, chunk_off));
    }
    Some(out)
}

/// Code pieces: lines packed inside repeated fences. `None` when a fence and one line do
/// not fit.
fn split_code(text: &str, max: usize) -> Option<Vec<(String, usize)>> {
    let mut lines = Vec::new();
    let mut off = 0;
    for l in text.split('\n') {
        lines.push((l, off));
        off += l.len() + 1;
    }
    if lines.len() < 2 {
        return None;
    }
    let open = lines[0].0;
    let fence = fence_of(open)?;
    let closed = closes_fence(lines[lines.len() - 1].0, fence) && lines.len() >= 2;
    let close: String = fence.0.to_string().repeat(fence.1);
    let inner = if closed {
        &lines[1..lines.len() - 1]
    } else {
        &lines[1..]
    };
    let overhead = open.chars().count() + 1 + 1 + close.chars().count();
    let mut out = Vec::new();
    let mut chunk: Vec<&str> = Vec::new();
    let mut chunk_chars = overhead;
    let mut chunk_off = 0;
    let emit = |chunk: &mut Vec<&str>, out: &mut Vec<(String, usize)>, off: usize| {
        let body = chunk.join("\n");
        out.push((format!("{open}\n{body}\n{close}"), off));
        chunk.clear();
    };
    for &(line, line_off) in inner {
        let n = line.chars().count();
        if overhead + n > max {
            return None;
        }
        if !chunk.is_empty() && chunk_chars + n + 1 > max {
            emit(&mut chunk, &mut out, chunk_off);
            chunk_chars = overhead;
        }
        if chunk.is_empty() {
            chunk_off = if out.is_empty() { 0 } else { line_off };
            chunk_chars = overhead + n;
        } else {
            chunk_chars += n + 1;
        }
        chunk.push(line);
    }
    if !chunk.is_empty() {
        emit(&mut chunk, &mut out, chunk_off);
    }
    Some(out)
}

/// Words that end with a period without ending a sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "inc", "ltd", "co", "corp", "vs",
    "etc", "e.g", "i.e", "cf", "fig", "figs", "no", "nos", "vol", "pp", "p", "approx", "est",
    "dept", "gen", "gov", "sen", "rep", "rev", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "a.m", "p.m",
];

/// Whether `text[..=i]` ends a sentence (`i` is the byte index of a terminator).
fn ends_sentence(text: &str, i: usize, c: char) -> bool {
    let after = &text[i + c.len_utf8()..];
    if matches!(c, '。' | '！' | '？') {
        return true;
    }
    // Closing quotes or brackets may follow the terminator.
    let rest = after.trim_start_matches(['"', '\'', '’', '”', ')', ']', '*', '_']);
    if !rest.starts_with(char::is_whitespace) {
        return false;
    }
    if rest.trim_start().starts_with(char::is_lowercase) {
        return false;
    }
    if c == '.' {
        // The last word before the period; the space before it may be several bytes long
        // (a no-break space), so the word is split off, not sliced at the space plus one.
        let word = text[..i]
            .rsplit(|ch: char| ch.is_whitespace() || ch == '(')
            .next()
            .unwrap_or_default()
            .to_lowercase();
        if word.chars().count() == 1 && word.chars().all(char::is_alphabetic) {
            return false; // an initial
        }
        if ABBREVIATIONS.contains(&word.as_str()) {
            return false;
        }
    }
    true
}

/// Byte ranges of `text`, each at most `max` characters once trimmed, cut at the best
/// boundary in the last two thirds of each window: a line end, a sentence end, a space;
/// a character boundary only when a single word exceeds `max`.
fn split_long(text: &str, max: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let len = text.len();
    let mut pos = 0;
    loop {
        // Skip leading whitespace.
        pos += text[pos..].len() - text[pos..].trim_start().len();
        if pos >= len {
            break;
        }
        // The byte index after `max` characters.
        let limit = text[pos..]
            .char_indices()
            .nth(max)
            .map_or(len, |(i, _)| pos + i);
        if limit >= len {
            let end = pos + text[pos..].trim_end().len();
            out.push((pos, end));
            break;
        }
        let window = &text[pos..limit];
        let min_cut = window.len() / 3;
        let mut cut = None;
        if text[limit..].starts_with(char::is_whitespace)
            && window.rfind('\n').is_none_or(|p| p < min_cut)
        {
            // The window ends exactly at a word boundary; prefer a sentence end inside it.
            cut = last_sentence_end(window, min_cut).or(Some(window.len()));
        }
        if cut.is_none() {
            cut = window.rfind('\n').filter(|&p| p >= min_cut).map(|p| p + 1);
        }
        if cut.is_none() {
            cut = last_sentence_end(window, min_cut);
        }
        if cut.is_none() {
            cut = window
                .char_indices()
                .rev()
                .find(|&(i, c)| i > 0 && c.is_whitespace())
                .map(|(i, _)| i);
        }
        let cut = pos + cut.unwrap_or(window.len());
        let end = pos + text[pos..cut].trim_end().len();
        if end > pos {
            out.push((pos, end));
        }
        pos = cut.max(pos + 1);
        while !text.is_char_boundary(pos) {
            pos += 1;
        }
    }
    out
}

/// The byte index just after the last sentence end of `window` at or after `min`.
fn last_sentence_end(window: &str, min: usize) -> Option<usize> {
    // `ends_sentence` looks past the window, which is fine: the window is a prefix of the
    // text, and the caller's text continues after it. Here only the window is known, so a
    // terminator at its very end counts only when followed by whitespace inside it.
    window
        .char_indices()
        .rev()
        .take_while(|&(i, _)| i >= min)
        .find(|&(i, c)| {
            matches!(c, '.' | '!' | '?' | '。' | '！' | '？') && ends_sentence(window, i, c)
        })
        .map(|(i, c)| {
            let mut end = i + c.len_utf8();
            // Keep closing quotes and brackets with their sentence.
            for ch in window[end..].chars() {
                if matches!(ch, '"' | '\'' | '’' | '”' | ')' | ']' | '*' | '_') {
                    end += ch.len_utf8();
                } else {
                    break;
                }
            }
            end
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentence_ends_after_a_no_break_space() {
        // Panicked: the word before the period was sliced one byte after the (two-byte)
        // no-break space.
        let text = "-word 42 3.1 0 0 0 $ -word 0 \u{a0}0. 0 ";
        let md = Extracted {
            markdown: text.repeat(4),
            ..Extracted::default()
        };
        for max in [1, 10, 40] {
            let pieces = passages(&md, max);
            assert!(
                pieces.iter().all(|p| p.text.chars().count() <= max),
                "{pieces:?}"
            );
        }
        assert!(
            !ends_sentence("in\u{a0}Jan. 2024", 7, '.'),
            "an abbreviation after a no-break space"
        );
    }

    #[test]
    fn long_text_cuts() {
        let text = "One two three. Four five six. Seven eight nine.";
        let parts: Vec<&str> = split_long(text, 20)
            .into_iter()
            .map(|(s, e)| &text[s..e])
            .collect();
        assert_eq!(
            parts,
            vec!["One two three.", "Four five six.", "Seven eight nine."]
        );
        let word = "abcdefghij";
        let parts: Vec<&str> = split_long(word, 4)
            .into_iter()
            .map(|(s, e)| &word[s..e])
            .collect();
        assert_eq!(parts, vec!["abcd", "efgh", "ij"]);
        let abbrev = "Dr. Smith met Mr. Jones at noon today. They talked.";
        let parts: Vec<&str> = split_long(abbrev, 45)
            .into_iter()
            .map(|(s, e)| &abbrev[s..e])
            .collect();
        assert_eq!(
            parts,
            vec!["Dr. Smith met Mr. Jones at noon today.", "They talked."]
        );
    }

    #[test]
    fn block_kinds() {
        let md = "# H\n\npara\nline\n| a |\n| --- |\n\n```\nx\n\ny\n```\n## H2";
        let kinds: Vec<Kind> = blocks(md).iter().map(|b| b.kind).collect();
        assert_eq!(
            kinds,
            vec![
                Kind::Heading,
                Kind::Text,
                Kind::Table,
                Kind::Code,
                Kind::Heading
            ]
        );
    }
}

/// Fuzz targets of passage splitting (see `crate::fuzz`).
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz::{config, markdown_like};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(config(1))]

        #[test]
        fn passages_never_panic_and_keep_their_limit(
            md in markdown_like(),
            title in proptest::option::of(markdown_like()),
            max in 0usize..200,
        ) {
            let extracted = Extracted { title, markdown: md, ..Extracted::default() };
            for p in passages(&extracted, max) {
                prop_assert!(p.offset <= extracted.markdown.len());
                prop_assert!(!p.text.trim().is_empty());
            }
        }
    }
}
