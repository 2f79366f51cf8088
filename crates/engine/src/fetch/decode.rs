//! Content-type classification and charset decoding of fetched bodies.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252, X_USER_DEFINED};

use super::ContentKind;

/// How many leading bytes are searched for a `<meta charset>` (as the HTML standard's
/// prescan does).
const META_PRESCAN_BYTES: usize = 1024;

/// The media type without parameters, lowercased (`"text/html"`).
pub(crate) fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The `charset` parameter of a Content-Type value, if any.
pub(crate) fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("charset") {
            let value = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
            (!value.is_empty()).then(|| value.to_owned())
        } else {
            None
        }
    })
}

fn starts_with_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.len() >= needle.len() && haystack[..needle.len()].eq_ignore_ascii_case(needle)
}

fn looks_like_html(body: &[u8]) -> bool {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let mut head = &body[start..];
    if head.starts_with(b"\xEF\xBB\xBF") {
        head = &head[3..];
    }
    starts_with_ignore_case(head, b"<!doctype html") || starts_with_ignore_case(head, b"<html")
}

fn looks_like_text(body: &[u8]) -> bool {
    let head = &body[..body.len().min(1024)];
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        // A prefix may cut a multi-byte character in two; that still counts as text.
        Err(e) => e.error_len().is_none(),
    }
}

/// Classifies a body from its Content-Type (if any) and, where the header is missing or
/// generic, from its first bytes. A body that starts with the PDF magic `%PDF-` is a PDF
/// whatever the header says (servers often send PDFs as `application/octet-stream`).
pub(crate) fn classify(content_type: Option<&str>, body: &[u8]) -> ContentKind {
    if body.starts_with(b"%PDF-") {
        return ContentKind::Pdf;
    }
    let mime = content_type.map(essence).unwrap_or_default();
    match mime.as_str() {
        "text/html" | "application/xhtml+xml" => ContentKind::Html,
        "application/pdf" | "application/x-pdf" => ContentKind::Pdf,
        "application/json" | "application/xml" | "application/javascript" => ContentKind::Text,
        m if m.starts_with("text/") || m.ends_with("+xml") || m.ends_with("+json") => {
            ContentKind::Text
        }
        "" | "application/octet-stream" | "binary/octet-stream" | "application/unknown" => {
            if looks_like_html(body) {
                ContentKind::Html
            } else if mime.is_empty() && !body.is_empty() && looks_like_text(body) {
                ContentKind::Text
            } else if mime.is_empty() {
                ContentKind::Other("application/octet-stream".to_owned())
            } else {
                ContentKind::Other(mime)
            }
        }
        _ => ContentKind::Other(mime),
    }
}

/// The encoding declared by a `<meta charset=…>` or `<meta http-equiv="Content-Type"
/// content="…; charset=…">` in the first [`META_PRESCAN_BYTES`] bytes.
pub(crate) fn meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let head = body[..body.len().min(META_PRESCAN_BYTES)].to_ascii_lowercase();
    let mut rest = head.as_slice();
    while let Some(pos) = find(rest, b"<meta") {
        let tag_start = &rest[pos + 5..];
        let tag_end = tag_start
            .iter()
            .position(|&b| b == b'>')
            .unwrap_or(tag_start.len());
        let tag = &tag_start[..tag_end];
        if let Some(enc) = charset_in_tag(tag) {
            // The HTML standard: a meta-declared UTF-16 means UTF-8 (the prescan could read
            // it, so it is not UTF-16); x-user-defined means windows-1252.
            return Some(if enc == UTF_16BE || enc == UTF_16LE {
                UTF_8
            } else if enc == X_USER_DEFINED {
                WINDOWS_1252
            } else {
                enc
            });
        }
        rest = &tag_start[tag_end..];
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn charset_in_tag(tag: &[u8]) -> Option<&'static Encoding> {
    let mut rest = tag;
    while let Some(pos) = find(rest, b"charset") {
        let after = &rest[pos + 7..];
        let after = trim_start(after);
        if let Some(value) = after.strip_prefix(b"=") {
            let value = trim_start(value);
            let value = value
                .strip_prefix(b"\"")
                .or_else(|| value.strip_prefix(b"'"))
                .unwrap_or(value);
            let end = value
                .iter()
                .position(|&b| {
                    matches!(b, b'"' | b'\'' | b';' | b'/' | b'>') || b.is_ascii_whitespace()
                })
                .unwrap_or(value.len());
            if let Some(enc) = Encoding::for_label(&value[..end]) {
                return Some(enc);
            }
        }
        rest = after;
    }
    None
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// Decodes an HTML or text body. Precedence: a byte-order mark, then the Content-Type
/// charset, then (HTML only) a meta charset, then UTF-8 if the bytes are valid UTF-8, and
/// windows-1252 otherwise (the web's legacy default). Invalid sequences become U+FFFD.
/// Returns the text and the name of the encoding used.
pub(crate) fn decode_text(
    body: &[u8],
    header_charset: Option<&str>,
    html: bool,
) -> (String, &'static str) {
    let declared = header_charset
        .and_then(|label| Encoding::for_label(label.as_bytes()))
        .or_else(|| if html { meta_charset(body) } else { None });
    let encoding = declared.unwrap_or_else(|| {
        if std::str::from_utf8(body).is_ok() {
            UTF_8
        } else {
            WINDOWS_1252
        }
    });
    // `decode` sniffs a BOM first, which overrides the declared encoding.
    let (text, used, _had_errors) = encoding.decode(body);
    (text.into_owned(), used.name())
}
