//! HTML to markdown (htmd, configured for clean content), markdown normalisation, and
//! markdown to plain text.

use std::sync::OnceLock;

use htmd::element_handler::{HandlerResult, Handlers};
use htmd::options::{BulletListMarker, Options};
use htmd::{Element, HtmlToMarkdown};

use super::vocab;

/// Tags whose content never belongs in the text.
const SKIPPED_TAGS: &[&str] = &[
    "img", "picture", "source", "svg", "video", "audio", "track", "iframe", "canvas", "object",
    "embed", "map", "script", "style", "noscript", "template", "button", "input", "select",
    "option", "textarea", "head", "title", "meta", "link",
];

fn converter() -> &'static HtmlToMarkdown {
    static CONVERTER: OnceLock<HtmlToMarkdown> = OnceLock::new();
    CONVERTER.get_or_init(|| {
        HtmlToMarkdown::builder()
            .options(Options {
                bullet_list_marker: BulletListMarker::Dash,
                ul_bullet_spacing: 1,
                ol_number_spacing: 1,
                ..Default::default()
            })
            .skip_tags(SKIPPED_TAGS.to_vec())
            .add_handler(vec!["a"], anchor_handler)
            .add_handler(vec!["pre"], pre_handler)
            .add_handler(vec!["em", "i", "strong", "b"], emphasis_handler)
            .build()
    })
}

/// Links render as `[text](url)` (no title: it mostly repeats the text); links that go
/// nowhere outside the page become their text; permalink symbols vanish.
fn anchor_handler(handlers: &dyn Handlers, element: Element) -> Option<HandlerResult> {
    let href = element
        .attrs
        .iter()
        .find(|a| &*a.name.local == "href")
        .map(|a| a.value.trim().to_string());
    let inner = handlers.walk_children(element.node);
    let content = inner.content.as_str();
    let trimmed = content.trim();
    if trimmed.is_empty() && content.chars().any(char::is_whitespace) {
        // An anchor around a space keeps the words on either side apart.
        return Some(" ".into());
    }
    if trimmed.is_empty()
        || (trimmed.chars().count() <= 2 && !trimmed.chars().any(char::is_alphanumeric))
    {
        // Empty anchors, and `¶`/`#`/`🔗` permalinks.
        return Some("".into());
    }
    let Some(href) = href.filter(|h| {
        !h.is_empty() && !h.starts_with('#') && !h.to_ascii_lowercase().starts_with("javascript:")
    }) else {
        return Some(inner);
    };
    if trimmed.contains("\n\n") || trimmed.starts_with("```") {
        // A link around whole blocks: keep the blocks, drop the link.
        return Some(inner);
    }
    let mut out = String::with_capacity(trimmed.len() + href.len() + 4);
    if content.starts_with(char::is_whitespace) {
        out.push(' ');
    }
    out.push('[');
    out.push_str(&collapse_ws(trimmed));
    out.push_str("](");
    for c in href.chars() {
        match c {
            '(' => out.push_str("\\("),
            ')' => out.push_str("\\)"),
            ' ' => out.push_str("%20"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out.push(')');
    if content.ends_with(char::is_whitespace) {
        out.push(' ');
    }
    Some(out.into())
}

/// Emphasis around nothing but whitespace (`misguided<em> </em>policy`) is the space it holds,
/// not nothing, so that the words on either side stay apart.
fn emphasis_handler(handlers: &dyn Handlers, element: Element) -> Option<HandlerResult> {
    let inner = handlers.walk_children(element.node);
    if inner.content.trim().is_empty() {
        let space = inner.content.chars().any(char::is_whitespace);
        return Some(if space { " ".into() } else { "".into() });
    }
    handlers.fallback(element)
}

/// `<pre>` without `<code>` still becomes a fenced block.
fn pre_handler(handlers: &dyn Handlers, element: Element) -> Option<HandlerResult> {
    let result = handlers.fallback(element)?;
    let body = result.content.trim_matches('\n');
    if body.trim().is_empty() {
        return Some("".into());
    }
    if body.starts_with("```") || body.starts_with("~~~") {
        return Some(result);
    }
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    Some(format!("\n\n{fence}\n{body}\n{fence}\n\n").into())
}

/// Converts an HTML fragment to normalised markdown.
pub(super) fn html_to_markdown(html: &str) -> String {
    match converter().convert(html) {
        Ok(md) => drop_trailing_link_blocks(drop_reference_sections(&normalize_markdown(&md))),
        Err(e) => {
            tracing::debug!(error = %e, "markdown conversion failed");
            String::new()
        }
    }
}

/// Drops short final blocks that only announce something that is no longer there ("Read
/// next:", "Related:", "阅读下一篇：", "Mehr zum Thema", "Artikel teilen"): what they
/// introduced (links, widgets, comments) was removed.
fn drop_dangling_labels(mut md: String) -> String {
    loop {
        let start = md.rfind("\n\n").map_or(0, |i| i + 2);
        let last = md[start..]
            .trim()
            .trim_start_matches(['#', ' '])
            .trim_matches(['*', '_']);
        let label = !last.is_empty()
            && !last.contains('\n')
            && last.chars().count() <= 40
            && !last.starts_with("```")
            && (last.ends_with(':')
                || last.ends_with('：')
                // "Mehr zum Thema", "Artikel teilen", "Kommentare": in any language.
                || vocab::is_related_label(last)
                || vocab::is_comments_label(last)
                || vocab::is_prompt_label(last));
        if !label {
            return md;
        }
        md.truncate(start.saturating_sub(2));
    }
}

/// Whether a markdown block is made mostly of links and bare web addresses or handles
/// (`https://…`, `www.…`, `@name`): a list of other stories, a "follow us" box.
fn is_link_block(block: &str) -> bool {
    let block = block.trim();
    if block.starts_with("```") || block.starts_with('|') || block.starts_with('#') {
        return false;
    }
    let mut all = String::new();
    strip_inline(block, &mut all);
    // The block without its links, then without its bare addresses.
    let mut rest = String::new();
    let mut links = 0usize;
    let mut tail = block;
    while let Some(open) = tail.find('[') {
        let Some(close) = tail[open..].find("](").map(|k| open + k) else {
            break;
        };
        let Some(end) = tail[close..].find(')').map(|k| close + k) else {
            break;
        };
        rest.push_str(&tail[..open]);
        rest.push(' ');
        links += 1;
        tail = &tail[end + 1..];
    }
    rest.push_str(tail);
    let mut plain = String::new();
    strip_inline(&rest, &mut plain);
    // List markers and quote marks count for neither side.
    let marker = |w: &str| {
        matches!(w, "-" | "*" | "+" | ">")
            || w.strip_suffix('.')
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    let mut own = 0usize;
    for word in plain.split_whitespace().filter(|w| !marker(w)) {
        let w = word.to_ascii_lowercase();
        if w.starts_with("http://")
            || w.starts_with("https://")
            || w.starts_with("www.")
            || (w.starts_with('@') && w.len() > 1)
        {
            links += 1;
        } else {
            own += word.chars().count();
        }
    }
    let total: usize = all
        .split_whitespace()
        .filter(|w| !marker(w))
        .map(|w| w.chars().count())
        .sum();
    links >= 2 && total > 0 && own * 2 < total
}

/// Whether a markdown block is a short copyright notice ("© 2013 Cable News Network, Inc.
/// All rights reserved.").
fn is_copyright_block(block: &str) -> bool {
    let block = block.trim();
    if block.chars().count() > 300 || block.starts_with("```") || block.starts_with('|') {
        return false;
    }
    let lower = block.to_lowercase();
    block.contains('©')
        || lower.contains("(c) 19")
        || lower.contains("(c) 20")
        || lower.starts_with("copyright ")
        || lower.contains("all rights reserved")
}

/// Drops final blocks made mostly of links or bare addresses (lists of other stories,
/// "follow us" boxes), final copyright notices, and the short labels left announcing them,
/// keeping at least one block.
fn drop_trailing_link_blocks(md: String) -> String {
    let mut md = drop_dangling_labels(md);
    loop {
        let Some(start) = md.rfind("\n\n") else {
            return md;
        };
        let last = &md[start + 2..];
        if !is_link_block(last) && !is_copyright_block(last) {
            return md;
        }
        md.truncate(start);
        md = drop_dangling_labels(md);
    }
}

/// Whether a text holds a clock time (`14:00`, `9:05`).
fn has_clock_time(s: &str) -> bool {
    let b = s.as_bytes();
    (1..b.len().saturating_sub(2)).any(|i| {
        b[i] == b':'
            && b[i - 1].is_ascii_digit()
            && b[i + 1].is_ascii_digit()
            && b[i + 2].is_ascii_digit()
            && b.get(i + 3).is_none_or(|c| !c.is_ascii_digit())
            && (i < 3 || !b[i - 3].is_ascii_digit() || !b[i - 2].is_ascii_digit())
    })
}

/// Drops a dateline that opens the content, after any headings: a short single line with a
/// clock time that is not a sentence ("Wednesday, 28 August 2013, last updated 14:00
/// (GMT+0400)", "2018年6月18日 10:01 発信地：…"). The content must go on after it.
pub(super) fn drop_leading_dateline(md: &str) -> Option<String> {
    let mut offset = 0;
    for block in md.split("\n\n") {
        let start = offset;
        offset += block.len() + 2;
        if block.starts_with('#') {
            continue;
        }
        let line = block.trim();
        let sentence = line.ends_with(['.', '!', '?', '。', '！', '？', '"', '”']);
        if line.contains('\n')
            || line.chars().count() > 100
            || sentence
            || line.starts_with("```")
            || line.starts_with('|')
            || !has_clock_time(line)
            || offset >= md.len()
        {
            return None;
        }
        let mut out = md[..start].to_string();
        out.push_str(&md[offset..]);
        return Some(out);
    }
    None
}

/// Headings of sections that hold citations and link lists rather than content.
const REFERENCE_HEADINGS: &[&str] = &[
    "references",
    "notes and references",
    "references and notes",
    "footnotes",
    "citations",
    "works cited",
    "further reading",
    "external links",
    "bibliography",
    "sources",
];

/// The level and plain text of an ATX heading line.
fn heading_of(line: &str) -> Option<(usize, String)> {
    let level = line.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&level) || !line[level..].starts_with(' ') {
        return None;
    }
    let mut text = String::new();
    strip_inline(line[level..].trim(), &mut text);
    Some((level, collapse_ws(&text)))
}

/// Removes reference sections (citations, further reading, external links), from their
/// heading to the next heading of the same or a higher level; a section headed "Notes" only
/// when it is mostly a list.
fn drop_reference_sections(md: &str) -> String {
    let lines: Vec<&str> = md.split('\n').collect();
    let mut keep = vec![true; lines.len()];
    let mut fence: Option<(char, usize)> = None;
    let mut i = 0;
    let mut dropped = false;
    while i < lines.len() {
        let line = lines[i];
        if let Some(f) = fence {
            if closes_fence(line, f) {
                fence = None;
            }
            i += 1;
            continue;
        }
        if let Some(f) = fence_of(line) {
            fence = Some(f);
            i += 1;
            continue;
        }
        let Some((level, text)) = heading_of(line) else {
            i += 1;
            continue;
        };
        let lower = text.to_lowercase();
        let strong = REFERENCE_HEADINGS.contains(&lower.as_str());
        let notes = lower == "notes";
        if !strong && !notes {
            i += 1;
            continue;
        }
        // The section's extent.
        let mut end = i + 1;
        let mut inner_fence: Option<(char, usize)> = None;
        while end < lines.len() {
            let l = lines[end];
            if let Some(f) = inner_fence {
                if closes_fence(l, f) {
                    inner_fence = None;
                }
            } else if let Some(f) = fence_of(l) {
                inner_fence = Some(f);
            } else if heading_of(l).is_some_and(|(lv, _)| lv <= level) {
                break;
            }
            end += 1;
        }
        let body: Vec<&str> = lines[i + 1..end]
            .iter()
            .copied()
            .filter(|l| !l.trim().is_empty())
            .collect();
        let listy = body
            .iter()
            .filter(|l| {
                let t = l.trim_start();
                t.starts_with("- ")
                    || t.starts_with("* ")
                    || t.split_once(". ")
                        .is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
            })
            .count();
        if strong || listy * 10 >= body.len() * 6 {
            for k in keep.iter_mut().take(end).skip(i) {
                *k = false;
            }
            dropped = true;
        }
        i = end;
    }
    if !dropped {
        return md.to_string();
    }
    let kept: Vec<&str> = lines
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(l, _)| *l)
        .collect();
    normalize_markdown(&kept.join("\n"))
}

/// A fence opening line: returns the fence character and its length.
pub(super) fn fence_of(line: &str) -> Option<(char, usize)> {
    let t = line.trim_start();
    if line.len() - t.len() > 3 {
        return None;
    }
    let c = t.chars().next()?;
    if c != '`' && c != '~' {
        return None;
    }
    let n = t.chars().take_while(|&x| x == c).count();
    (n >= 3).then_some((c, n))
}

/// Whether `line` closes a fence opened with `fence`.
pub(super) fn closes_fence(line: &str, fence: (char, usize)) -> bool {
    let t = line.trim();
    t.len() >= fence.1 && t.chars().all(|c| c == fence.0)
}

fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}'
    )
}

/// Cleans one line of prose: invisible characters out, no-break and other odd spaces to
/// plain spaces, trailing whitespace trimmed.
fn clean_line(line: &str, out: &mut String) {
    let start = out.len();
    for c in line.chars() {
        if is_invisible(c) || c == '\r' {
            continue;
        }
        if c == '\u{a0}' || c == '\t' || (c.is_whitespace() && c != ' ' && c != '\n') {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    let kept = out[start..].trim_end().len();
    out.truncate(start + kept);
}

/// Whether a (cleaned) markdown line is an artifact with no content: an empty link or
/// emphasis, or a lone list marker.
fn is_empty_artifact(line: &str) -> bool {
    let t = line.trim();
    if t.is_empty() {
        return true;
    }
    if matches!(t, "-" | "*" | "+" | "**" | "__" | "_" | ">") {
        return true;
    }
    if let Some(rest) = t.strip_prefix("[](") {
        return rest.ends_with(')') && !rest.contains(' ');
    }
    is_php_error(t)
}

/// Whether a line is an error message PHP printed into the page ("**Warning**: Creating
/// default object from empty value in **/www/…/classes.php** on line **407**").
fn is_php_error(line: &str) -> bool {
    const KINDS: &[&str] = &[
        "warning:",
        "deprecated:",
        "notice:",
        "fatal error:",
        "parse error:",
        "strict standards:",
    ];
    let t: String = line.chars().filter(|&c| c != '*').collect();
    let lower = t.to_ascii_lowercase();
    let Some((_, line_no)) = lower.rsplit_once(" on line ") else {
        return false;
    };
    KINDS.iter().any(|k| lower.starts_with(k))
        && !line_no.is_empty()
        && line_no.chars().all(|c| c.is_ascii_digit())
}

/// Normalises converter output: blocks separated by exactly one blank line, prose lines
/// cleaned, code blocks kept verbatim, empty artifacts dropped.
pub(super) fn normalize_markdown(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let mut fence: Option<(char, usize)> = None;
    let mut pending_blank = false;
    for line in md.split('\n') {
        if let Some(f) = fence {
            out.push_str(line.trim_end_matches('\r'));
            out.push('\n');
            if closes_fence(line, f) {
                fence = None;
            }
            continue;
        }
        let start = out.len();
        if let Some(f) = fence_of(line) {
            if pending_blank && start > 0 {
                out.push('\n');
            }
            pending_blank = false;
            out.push_str(line.trim_end());
            out.push('\n');
            fence = Some(f);
            continue;
        }
        let mut cleaned = String::with_capacity(line.len());
        clean_line(line, &mut cleaned);
        if cleaned.trim_start().starts_with('|') {
            cleaned = compact_table_row(&cleaned);
            // A row of empty cells says nothing, unless it is a table's header row.
            let previous_is_table = !pending_blank
                && out[..start]
                    .trim_end()
                    .rsplit('\n')
                    .next()
                    .is_some_and(|l| l.starts_with('|'));
            if previous_is_table
                && split_table_row(&cleaned)
                    .iter()
                    .all(|c| c.trim().is_empty())
            {
                continue;
            }
        }
        if is_empty_artifact(&cleaned) {
            pending_blank = true;
            continue;
        }
        if pending_blank && start > 0 {
            out.push('\n');
        }
        pending_blank = false;
        out.push_str(&cleaned);
        out.push('\n');
    }
    if fence.is_some() {
        // An unclosed fence (cut input): close it so the markdown stays well formed.
        let f = fence.unwrap_or(('`', 3));
        out.push_str(&f.0.to_string().repeat(f.1));
        out.push('\n');
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// A table row without the converter's alignment padding: `| a | b |`, and delimiter rows
/// as `| --- | --- |`.
fn compact_table_row(line: &str) -> String {
    let t = line.trim();
    if is_table_delimiter(t) {
        let cols = split_table_row(t).len().max(1);
        let mut out = String::with_capacity(cols * 6 + 1);
        out.push('|');
        for _ in 0..cols {
            out.push_str(" --- |");
        }
        return out;
    }
    // The converter writes a pipe inside a cell as an HTML entity; markdown has an escape.
    collapse_plain_spaces(&t.replace("&#124;", "\\|"))
}

/// Plain text with each run of tab-separated lines written as a markdown table: the first
/// row of a run is its header, rows are padded to the widest, and pipes in cells are
/// escaped. Other lines pass through unchanged.
pub(super) fn tab_rows_as_tables(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].contains('\t') {
            out.push_str(lines[i]);
            out.push('\n');
            i += 1;
            continue;
        }
        let run_end = (i..lines.len())
            .find(|&j| !lines[j].contains('\t'))
            .unwrap_or(lines.len());
        let rows: Vec<Vec<String>> = lines[i..run_end]
            .iter()
            .map(|l| {
                l.split('\t')
                    .map(|cell| cell.trim().replace('|', "\\|"))
                    .collect()
            })
            .collect();
        let cols = rows.iter().map(Vec::len).max().unwrap_or(1);
        // A table is a block of its own: a blank line keeps it apart from a paragraph.
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        for (n, row) in rows.iter().enumerate() {
            out.push('|');
            for c in 0..cols {
                out.push(' ');
                out.push_str(row.get(c).map_or("", String::as_str));
                out.push_str(" |");
            }
            out.push('\n');
            if n == 0 {
                out.push('|');
                out.push_str(&" --- |".repeat(cols));
                out.push('\n');
            }
        }
        out.push('\n');
        i = run_end;
    }
    out
}

/// Normalises plain text (PDF output, `text/plain`): lines cleaned, runs of spaces
/// collapsed, words hyphenated across line ends joined, paragraphs separated by exactly one
/// blank line.
pub(super) fn normalize_plain(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let mut cleaned = String::with_capacity(raw.len());
        clean_line(raw, &mut cleaned);
        let collapsed = collapse_plain_spaces(&cleaned);
        lines.push(collapsed);
    }
    let mut out = String::with_capacity(text.len());
    let mut pending_blank = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim().to_string();
        if line.is_empty() || line == "\u{c}" {
            pending_blank = true;
            i += 1;
            continue;
        }
        if pending_blank && !out.is_empty() {
            out.push_str("\n\n");
        } else if !out.is_empty() {
            // A soft line break; join a word hyphenated across it.
            if out.ends_with('-')
                && out[..out.len() - 1].ends_with(|c: char| c.is_lowercase())
                && line.starts_with(|c: char| c.is_lowercase())
            {
                out.pop();
            } else {
                out.push('\n');
            }
        }
        pending_blank = false;
        out.push_str(&line);
        i += 1;
    }
    out
}

/// Collapses each run of plain spaces (U+0020) to one, keeping every other character: line
/// ends, tabs and the spaces at either end stay (unlike [`collapse_whitespace`]), for text
/// whose lines and table cells must keep their shape.
fn collapse_plain_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = false;
    for c in s.chars() {
        if c == ' ' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out
}

/// Collapses every run of whitespace to one space and trims the ends: the engine's one
/// whitespace collapser (search snippets and titles, typed values, grounding, LLM error
/// excerpts; page text through [`collapse_ws`]).
pub(crate) fn collapse_whitespace(s: &str) -> String {
    collapse_runs(s, char::is_whitespace)
}

/// [`collapse_whitespace`] for page text: the invisible characters pages hold between words
/// (zero-width spaces and joiners, word joiners, byte-order marks, soft hyphens) count as
/// whitespace too.
pub(super) fn collapse_ws(s: &str) -> String {
    collapse_runs(s, |c| c.is_whitespace() || is_invisible(c))
}

/// The non-empty runs of `s` between characters for which `is_space` holds, joined by one
/// space.
fn collapse_runs(s: &str, is_space: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split(is_space) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The first non-empty line as a title, when it is short enough to be one.
pub(super) fn first_line_title(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = line.trim_start_matches('#').trim();
    let line = collapse_ws(line);
    let n = line.chars().count();
    (n > 0 && n <= 200 && line.chars().any(char::is_alphanumeric)).then_some(line)
}

/// Whether a line is a table delimiter row (`| --- | :-: |`).
pub(crate) fn is_table_delimiter(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('|') && t.contains('-') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

/// Whether a line is a thematic break (`* * *`, `---`).
fn is_thematic_break(line: &str) -> bool {
    let t: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    t.len() >= 3
        && (t.chars().all(|c| c == '*')
            || t.chars().all(|c| c == '-')
            || t.chars().all(|c| c == '_'))
}

/// Removes a leading list marker (`- `, `* `, `+ `), keeping ordered numbers.
fn strip_list_marker(line: &str) -> &str {
    for m in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(m) {
            return rest.trim_start();
        }
    }
    line
}

/// Turns markdown (as produced here) into plain text: syntax, escapes, link targets and
/// emphasis removed; headings, list items and paragraphs kept as lines; table rows as
/// tab-separated cells; code blocks verbatim.
pub fn markdown_to_text(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let mut fence: Option<(char, usize)> = None;
    let mut pending_blank = false;
    for line in md.split('\n') {
        if let Some(f) = fence {
            if closes_fence(line, f) {
                fence = None;
            } else {
                if pending_blank && !out.is_empty() {
                    out.push('\n');
                }
                pending_blank = false;
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        if let Some(f) = fence_of(line) {
            fence = Some(f);
            pending_blank = true;
            continue;
        }
        let t = line.trim();
        if t.is_empty() {
            pending_blank = true;
            continue;
        }
        if is_table_delimiter(t) || is_thematic_break(t) {
            continue;
        }
        let start = out.len();
        if pending_blank && !out.is_empty() {
            out.push('\n');
        }
        let body_start = out.len();
        if t.starts_with('|') {
            let mut first = true;
            for cell in split_table_row(t) {
                if !first {
                    out.push('\t');
                }
                first = false;
                strip_inline(cell.trim(), &mut out);
            }
        } else {
            let mut t = t;
            while let Some(rest) = t.strip_prefix('>') {
                t = rest.trim_start();
            }
            // A heading, possibly opening a list item (`- ## Feature`).
            let item = strip_list_marker(t);
            let h = if item.len() < t.len() && item.starts_with('#') {
                item
            } else {
                t
            };
            let hashes = h.chars().take_while(|&c| c == '#').count();
            if (1..=6).contains(&hashes) && h[hashes..].starts_with(' ') {
                t = h[hashes..].trim().trim_end_matches('#').trim_end();
            }
            strip_inline(strip_list_marker(t), &mut out);
        }
        if out[body_start..].trim().is_empty() {
            out.truncate(start);
            continue;
        }
        pending_blank = false;
        out.push('\n');
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// `md` with its table rows as tab-separated cells and its delimiter rows dropped, the rest
/// unchanged: a quotation of a table as the page shows it, not as markdown writes it.
pub fn tables_as_text(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    for line in md.split('\n') {
        let t = line.trim();
        if t.starts_with('|') {
            if is_table_delimiter(t) {
                continue;
            }
            let cells: Vec<String> = split_table_row(t)
                .iter()
                .map(|c| c.trim().replace("\\|", "|"))
                .collect();
            out.push_str(&cells.join("\t"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out.truncate(out.trim_end_matches('\n').len());
    out
}

/// Splits a table row at unescaped pipes, without the outer ones.
fn split_table_row(row: &str) -> Vec<&str> {
    let inner = row.trim();
    let inner = inner.strip_prefix('|').unwrap_or(inner);
    let inner = inner
        .strip_suffix('|')
        .filter(|s| !s.ends_with('\\'))
        .unwrap_or(inner);
    let mut cells = Vec::new();
    let bytes = inner.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'|' => {
                cells.push(&inner[start..i]);
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    cells.push(&inner[start.min(inner.len())..]);
    cells
}

/// Inline markdown to text: escapes resolved, code spans verbatim, link and image targets
/// dropped, emphasis markers dropped.
pub(super) fn strip_inline(s: &str, out: &mut String) {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() && chars[i + 1].is_ascii_punctuation() => {
                out.push(chars[i + 1]);
                i += 2;
            }
            '`' => {
                let n = chars[i..].iter().take_while(|&&x| x == '`').count();
                // Find a closing run of exactly n backticks.
                let mut j = i + n;
                let mut close = None;
                while j < chars.len() {
                    if chars[j] == '`' {
                        let m = chars[j..].iter().take_while(|&&x| x == '`').count();
                        if m == n {
                            close = Some(j);
                            break;
                        }
                        j += m;
                    } else {
                        j += 1;
                    }
                }
                match close {
                    Some(j) => {
                        let inner: String = chars[i + n..j].iter().collect();
                        let inner =
                            if inner.len() >= 2 && inner.starts_with(' ') && inner.ends_with(' ') {
                                &inner[1..inner.len() - 1]
                            } else {
                                &inner[..]
                            };
                        out.push_str(inner);
                        i = j + n;
                    }
                    None => {
                        for _ in 0..n {
                            out.push('`');
                        }
                        i += n;
                    }
                }
            }
            '!' if chars.get(i + 1) == Some(&'[') => i += 1,
            '[' => i += 1,
            ']' if chars.get(i + 1) == Some(&'(') => {
                // Skip the link target, parentheses balanced.
                let mut depth = 0usize;
                let mut j = i + 1;
                while j < chars.len() {
                    match chars[j] {
                        '\\' => j += 1,
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                i = j + 1;
            }
            ']' => i += 1,
            '*' | '_' => i += 1,
            '~' if chars.get(i + 1) == Some(&'~') => i += 2,
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_errors_printed_into_the_page_go() {
        let md = html_to_markdown(
            "<p>Erster Absatz.</p><br /><b>Warning</b>: Creating default object from empty \
             value in <b>/www/htdocs/wp-includes/classes.php</b> on line <b>407</b><br />\
             <p>Ein Satz über die Warning: sie kam on line 5 der Liste, schrieb er.</p>",
        );
        assert!(!md.contains("classes.php"), "{md}");
        assert!(
            md.contains("Erster Absatz.") && md.contains("Ein Satz über"),
            "{md}"
        );
    }

    #[test]
    fn text_from_markdown() {
        let md = "# Title\n\nSome **bold** and _em_ text with a [link](https://x.org/a_(b)) and `a_b*c`.\n\n- one\n- two\n\n| A | B |\n| --- | --- |\n| 1 | x\\|y |\n\n```rust\nlet a_b = 1;\n```\n\n1\\. not a list \\*star\\*";
        let text = markdown_to_text(md);
        assert_eq!(
            text,
            "Title\n\nSome bold and em text with a link and a_b*c.\n\none\ntwo\n\nA\tB\n1\tx|y\n\nlet a_b = 1;\n\n1. not a list *star*"
        );
    }

    #[test]
    fn whitespace_only_inline_elements_keep_words_apart() {
        let md = html_to_markdown(
            "<p>“misguided<em> </em>policy advocacy” and <strong>bold</strong> and<a href=\"https://x.org/\"> </a>more<i></i>text</p>",
        );
        assert_eq!(md, "“misguided policy advocacy” and **bold** and moretext");
    }

    #[test]
    fn headings_inside_list_items_lose_their_marks() {
        assert_eq!(
            markdown_to_text("- ## WebIDE\n\n  Develop apps.\n- ## Valence"),
            "WebIDE\n\nDevelop apps.\nValence"
        );
    }

    #[test]
    fn final_copyright_notices_go() {
        let md = "The story.\n\nThe CNN Wire ™ & © 2013 Cable News Network, Inc., a Time Warner Company. All rights reserved.";
        assert_eq!(drop_trailing_link_blocks(md.into()), "The story.");
        let md = "The story.\n\nCopyright 2024 The Herald. All Rights Reserved.";
        assert_eq!(drop_trailing_link_blocks(md.into()), "The story.");
        // Not the only block, not a paragraph that mentions copyright.
        let md = "The story.\n\nThe band said it would sue for copyright infringement.";
        assert_eq!(drop_trailing_link_blocks(md.into()), md);
        assert_eq!(
            drop_trailing_link_blocks("© 2024 The Herald".into()),
            "© 2024 The Herald"
        );
        let long = format!(
            "The story.\n\nThe court ruled on copyright. {}",
            "It said more. ".repeat(30)
        );
        assert_eq!(drop_trailing_link_blocks(long.clone()), long);
    }

    #[test]
    fn leading_datelines_go() {
        let md =
            "# Title\n\nWednesday, 28 August 2013, last updated 14:00 (GMT+0400)\n\nThe story.";
        assert_eq!(
            drop_leading_dateline(md).as_deref(),
            Some("# Title\n\nThe story.")
        );
        let md = "2018年6月18日 10:01 発信地：カノ\n\n【6月18日 AFP】本文。";
        assert_eq!(
            drop_leading_dateline(md).as_deref(),
            Some("【6月18日 AFP】本文。")
        );
        // A sentence, a line without a time, a dateline with nothing after it, a ratio.
        assert_eq!(
            drop_leading_dateline("At 10:30 on Monday the quake struck.\n\nMore."),
            None
        );
        assert_eq!(
            drop_leading_dateline("Wednesday, 28 August 2013\n\nThe story."),
            None
        );
        assert_eq!(drop_leading_dateline("Today, 17:40"), None);
        assert_eq!(
            drop_leading_dateline("Scores 2:1 and 1:0 in extra time\n\nMore."),
            None
        );
        assert_eq!(
            drop_leading_dateline("The story.\n\nToday, 17:40\n\nMore."),
            None
        );
    }

    #[test]
    fn link_blocks() {
        assert!(is_link_block(
            "**Related**\n[One story](https://a.example/1)\n[Another story](https://a.example/2)"
        ));
        assert!(is_link_block(
            "Follow us:\nFacebook https://fb.me/x\nTwitter https://twitter.com/x\nLINE @x"
        ));
        assert!(!is_link_block("The council, which [subsidises the route](https://a.example/c), said it would review the increase; the [union](https://a.example/u) agreed."));
        assert!(!is_link_block("See [the report](https://a.example/r)."));
        assert!(!is_link_block(
            "| [a](https://a.example/1) | [b](https://a.example/2) |"
        ));
        assert_eq!(
            drop_trailing_link_blocks(
                "Text.\n\nSee also:\n\n- [a](https://a.example/1)\n- [b](https://a.example/2)"
                    .into()
            ),
            "Text."
        );
        assert_eq!(
            drop_trailing_link_blocks("[a](https://a.example/1) [b](https://a.example/2)".into()),
            "[a](https://a.example/1) [b](https://a.example/2)"
        );
    }

    #[test]
    fn dangling_final_labels_go() {
        let md = html_to_markdown("<p>The story.</p><p>Read next:</p><p><b>阅读下一篇：</b></p>");
        assert_eq!(md, "The story.");
        let md = html_to_markdown("<p>Ingredients:</p><ul><li>flour</li></ul>");
        assert_eq!(md, "Ingredients:\n\n- flour");
    }

    #[test]
    fn normalisation() {
        let md =
            "A\u{a0}line  \n\n\n\nB\u{200b}\n[](https://x)\n\n```\ncode  \n\n\nmore\n```\n\n\n";
        assert_eq!(
            normalize_markdown(md),
            "A line\n\nB\n\n```\ncode  \n\n\nmore\n```"
        );
        let table = "| a    | b |\n| ---- | - |\n| long | x |";
        assert_eq!(
            normalize_markdown(table),
            "| a | b |\n| --- | --- |\n| long | x |"
        );
    }

    #[test]
    fn plain_text() {
        let t = "Title\n\n\n\nA para-\ngraph  with   spaces\nand a line.\n\n\u{c}\nNext";
        assert_eq!(
            normalize_plain(t),
            "Title\n\nA paragraph with spaces\nand a line.\n\nNext"
        );
    }
}

/// Fuzz targets of the markdown writers and readers (see `crate::fuzz`).
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz::{config, markdown_like, text_like};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(config(1))]

        #[test]
        fn markdown_readers_never_panic(md in markdown_like()) {
            let normal = normalize_markdown(&md);
            markdown_to_text(&normal);
            markdown_to_text(&md);
            drop_leading_dateline(&md);
            normalize_plain(&md);
            first_line_title(&md);
            let mut out = String::new();
            strip_inline(&md, &mut out);
            for line in md.lines() {
                is_table_delimiter(line);
                if let Some(fence) = fence_of(line) {
                    closes_fence(line, fence);
                }
            }
        }

        #[test]
        fn html_to_markdown_never_panics(text in text_like(), md in markdown_like()) {
            html_to_markdown(&format!("<p>{text}</p><pre>{md}</pre><ul><li>{text}</li></ul>"));
            html_to_markdown(&md);
        }
    }
}
