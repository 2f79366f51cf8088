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
        authors: Vec::new(),
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

/// Fuzz targets of PDF reading (see `crate::fuzz`): well-formed documents whose
/// information dictionary and text hold odd strings (as UTF-8, PDFDocEncoding or UTF-16BE
/// with a byte-order mark), and the same documents with bytes overwritten.
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz::{config, date_like, text_like};
    use proptest::prelude::*;

    /// A PDF string of `text` in hex form (so any byte goes), in one of three encodings.
    fn pdf_string(text: &str, encoding: u8) -> String {
        let bytes: Vec<u8> = match encoding % 3 {
            0 => text.as_bytes().to_vec(),
            1 => [0xFE, 0xFF]
                .into_iter()
                .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
                .collect(),
            _ => text.chars().map(|c| c as u32 as u8).collect(),
        };
        let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
        format!("<{hex}>")
    }

    /// A one-page PDF with a correct cross-reference table.
    fn pdf(title: &str, date: &str, lines: &[String], encoding: u8) -> Vec<u8> {
        let mut content = String::from("BT\n/F1 12 Tf\n72 720 Td\n");
        for line in lines {
            content.push_str(&format!("{} Tj\n0 -18 Td\n", pdf_string(line, 2)));
        }
        content.push_str("ET");
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
             /Resources << /Font << /F1 5 0 R >> >> >>"
                .to_string(),
            format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len()
            ),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
            format!(
                "<< /Title {} /CreationDate {} >>",
                pdf_string(title, encoding),
                pdf_string(date, encoding)
            ),
        ];
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for o in offsets {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    fn document() -> impl Strategy<Value = (String, String, Vec<String>, u8)> {
        (
            text_like(),
            date_like(),
            proptest::collection::vec(text_like(), 0..4),
            any::<u8>(),
        )
    }

    proptest! {
        // A PDF costs about a millisecond: the short run takes fewer of them.
        #![proptest_config(config(4))]

        #[test]
        fn a_readable_pdf_with_any_metadata_is_extracted((title, date, lines, encoding) in document()) {
            let bytes = pdf(&title, &date, &lines, encoding);
            // Our own readers (the title, the date) must not fail the document: only the
            // PDF library may, and it reads these documents.
            let e = extract(&bytes, "https://x.example/doc.pdf");
            prop_assert!(e.is_ok(), "{:?}", e);
            if let Some(date) = e.unwrap().published {
                prop_assert!((1900..=2100).contains(&chrono::Datelike::year(&date)));
            }
        }

        #[test]
        fn a_damaged_pdf_never_panics(
            (title, date, lines, encoding) in document(),
            damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut bytes = pdf(&title, &date, &lines, encoding);
            for (at, byte) in damage {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            let _ = extract(&bytes, "https://x.example/doc.pdf");
        }
    }
}
