//! PDF text in reading order, with the parser's panics contained.

use std::panic::{catch_unwind, AssertUnwindSafe};

use chrono::NaiveDate;
use pdf_extract::{Document, Object};

use super::markdown::{collapse_ws, first_line_title, normalize_plain};
use super::meta::{date_from_url, parse_date};
use super::{ExtractError, Extracted};

/// What the PDF yields before normalisation.
struct Raw {
    text: String,
    title: Option<String>,
    created: Option<NaiveDate>,
}

pub(super) fn extract(bytes: &[u8], url: &str) -> Result<Extracted, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::Pdf("empty file".into()));
    }
    let raw = match catch_unwind(AssertUnwindSafe(|| read(bytes))) {
        Ok(r) => r?,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown failure".into());
            tracing::debug!(url, error = %msg, "PDF parser panicked");
            return Err(ExtractError::Parser(msg));
        }
    };
    let body = normalize_plain(&raw.text);
    let title = raw.title.or_else(|| first_line_title(&body));
    Ok(Extracted {
        title,
        published: raw.created.or_else(|| date_from_url(url)),
        text: body.clone(),
        markdown: body,
        links: Vec::new(),
    })
}

fn read(bytes: &[u8]) -> Result<Raw, ExtractError> {
    let mut doc = Document::load_mem(bytes).map_err(|e| ExtractError::Pdf(e.to_string()))?;
    if doc.is_encrypted() && doc.decrypt("").is_err() {
        return Err(ExtractError::Encrypted);
    }
    let (title, created) = info(&doc);
    let mut text = String::new();
    {
        let mut out = pdf_extract::PlainTextOutput::new(&mut text);
        pdf_extract::output_doc(&doc, &mut out).map_err(|e| ExtractError::Pdf(e.to_string()))?;
    }
    Ok(Raw {
        text,
        title,
        created,
    })
}

/// The title and creation date of the document information dictionary.
fn info(doc: &Document) -> (Option<String>, Option<NaiveDate>) {
    let Ok(info) = doc.trailer.get(b"Info") else {
        return (None, None);
    };
    let dict = match info {
        Object::Reference(id) => match doc.get_dictionary(*id) {
            Ok(d) => d,
            Err(_) => return (None, None),
        },
        Object::Dictionary(d) => d,
        _ => return (None, None),
    };
    let string = |key: &[u8]| match dict.get(key) {
        Ok(Object::String(bytes, _)) => Some(decode_pdf_string(bytes)),
        _ => None,
    };
    let title = string(b"Title")
        .map(|t| collapse_ws(&t))
        .filter(|t| useful_title(t));
    let created = string(b"CreationDate").and_then(|d| parse_date(&d));
    (title, created)
}

/// PDF text strings are UTF-16BE with a BOM, or PDFDocEncoding (close enough to Latin-1).
fn decode_pdf_string(bytes: &[u8]) -> String {
    if bytes.len() >= 2 && bytes[0] == 0xFE && bytes[1] == 0xFF {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_string();
    }
    bytes.iter().map(|&b| b as char).collect()
}

/// Whether a metadata title is a real title rather than a placeholder or a file name.
fn useful_title(t: &str) -> bool {
    let lower = t.to_lowercase();
    if t.chars().count() < 3 || !t.chars().any(char::is_alphabetic) {
        return false;
    }
    let placeholders = [
        "untitled",
        "title",
        "document",
        "slide 1",
        "presentation",
        "no title",
    ];
    if placeholders.contains(&lower.as_str()) || lower.starts_with("microsoft word - ") {
        return false;
    }
    let file_ext = [
        ".doc", ".docx", ".pdf", ".indd", ".tex", ".dvi", ".ps", ".ppt", ".pptx", ".odt", ".rtf",
        ".qxd",
    ];
    !file_ext.iter().any(|e| lower.ends_with(e))
}
