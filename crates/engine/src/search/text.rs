//! Small text helpers shared by the providers: entity decoding, tag stripping, whitespace,
//! truncation and lenient date parsing.

use crate::dates::{read_date, Strictness};
use chrono::NaiveDate;

/// Decodes the character references of HTML/XML text: the common named ones and every
/// numeric one. Unknown references are kept as written.
pub(crate) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        // A reference is short; look for its ';' nearby only.
        let semi = after
            .char_indices()
            .take(12)
            .find(|&(_, c)| c == ';')
            .map(|(i, _)| i);
        let decoded = semi.and_then(|semi| decode_reference(&after[..semi]).map(|c| (c, semi)));
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_reference(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "copy" => '©',
        "reg" => '®',
        "deg" => '°',
        "eacute" => 'é',
        _ => return None,
    })
}

/// Removes `<…>` tags (keeping their text) and decodes entities: for snippets that carry
/// highlight markup, such as MediaWiki's `<span class="searchmatch">`.
pub(crate) fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match (in_tag, c) {
            (false, '<') => in_tag = true,
            (true, '>') => in_tag = false,
            (false, c) => out.push(c),
            (true, _) => {}
        }
    }
    decode_entities(&out)
}

pub(crate) use crate::extract::markdown::collapse_whitespace;

/// The first `max` characters of `s` (whole characters, never a split code point), with an
/// ellipsis when something was cut.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((cut, _)) => {
            let mut out = s[..cut].trim_end().to_string();
            out.push('…');
            out
        }
    }
}

/// `Some(trimmed)` unless the text is empty after collapsing whitespace.
pub(crate) fn non_empty(s: &str) -> Option<String> {
    let s = collapse_whitespace(s);
    (!s.is_empty()).then_some(s)
}

/// Reads a date from the forms search engines and pages use: ISO 8601 dates and date-times
/// (with or without a zone, `T` or space separated) and RFC 2822. `None` when unreadable.
/// The engine's one date reader at [`Strictness::Stamp`].
pub(crate) fn parse_loose_date(s: &str) -> Option<NaiveDate> {
    read_date(s, Strictness::Stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_and_tags() {
        assert_eq!(
            decode_entities("a &amp; b &lt;c&gt; &#39;d&#x27; &bogus; & e"),
            "a & b <c> 'd' &bogus; & e"
        );
        assert_eq!(
            strip_tags("<span class=\"searchmatch\">Rust</span> is &quot;fast&quot;"),
            "Rust is \"fast\""
        );
    }

    #[test]
    fn truncation_keeps_whole_chars() {
        assert_eq!(truncate_chars("héllo wörld", 5), "héllo…");
        assert_eq!(truncate_chars("short", 10), "short");
    }

    #[test]
    fn loose_dates() {
        let d = NaiveDate::from_ymd_opt(2023, 10, 5);
        assert_eq!(parse_loose_date("2023-10-05T14:30:00"), d);
        assert_eq!(parse_loose_date("2023-10-05 14:30:00+0000"), d);
        assert_eq!(parse_loose_date("2023-10-05"), d);
        assert_eq!(parse_loose_date("Thu, 05 Oct 2023 14:30:00 +0000"), d);
        assert_eq!(parse_loose_date("3 hour(s) ago"), None);
        assert_eq!(parse_loose_date("2023-10-0512"), None);
        assert_eq!(parse_loose_date(""), None);
    }
}
