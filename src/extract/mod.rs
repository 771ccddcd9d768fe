//! Extraction: one file per format turns bytes into text segments with locations and channels.
//!
//! The format is sniffed from the content first and the file name second, so a PDF named
//! `.txt` is still read as a PDF.

pub mod docx;
pub mod email;
pub mod html;
pub mod json;
pub mod pdf;
mod text;

use crate::document::{Extracted, Format, Limits};
use crate::error::ExtractError;

pub use text::{decode_text, DecodedText};

/// What sniffing decided about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed {
    Format(Format),
    /// Not text and not a supported container; the reason says what it looked like.
    Skip(String),
}

fn extension(name: &str) -> String {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// Decides a format from the file name and the first bytes (8 KiB are plenty).
pub fn sniff(name: &str, head: &[u8]) -> Sniffed {
    let ext = extension(name);
    let lead = trim_leading(head);
    if head.len() >= 5 && memchr::memmem::find(&head[..head.len().min(1024)], b"%PDF-").is_some() {
        return Sniffed::Format(Format::Pdf);
    }
    if head.starts_with(b"PK\x03\x04") {
        let is_docx = matches!(ext.as_str(), "docx" | "docm" | "dotx" | "dotm")
            || memchr::memmem::find(head, b"word/").is_some();
        return if is_docx {
            Sniffed::Format(Format::Docx)
        } else {
            Sniffed::Skip("ZIP archive (only DOCX is read)".into())
        };
    }
    let utf16 = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
    if !utf16 && looks_binary(head) {
        return Sniffed::Skip("binary content".into());
    }
    let by_ext = match ext.as_str() {
        "eml" => Some(Format::Email),
        "mbox" | "mbx" => Some(Format::Mbox),
        "html" | "htm" | "xhtml" | "shtml" => Some(Format::Html),
        "xml" | "svg" | "rss" | "atom" | "xsd" | "xsl" | "plist" => Some(Format::Xml),
        "json" | "geojson" | "ipynb" => Some(Format::Json),
        "jsonl" | "ndjson" => Some(Format::Jsonl),
        "md" | "markdown" | "mdx" => Some(Format::Markdown),
        _ => None,
    };
    if let Some(f) = by_ext {
        return Sniffed::Format(f);
    }
    if lead.starts_with(b"From ") && looks_like_headers(after_first_line(lead)) {
        return Sniffed::Format(Format::Mbox);
    }
    if looks_like_headers(lead) {
        return Sniffed::Format(Format::Email);
    }
    let lower: Vec<u8> = lead.iter().take(512).map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"<!doctype html")
        || lower.starts_with(b"<html")
        || memchr::memmem::find(&lower, b"<body").is_some()
    {
        return Sniffed::Format(Format::Html);
    }
    if lower.starts_with(b"<?xml") || lower.starts_with(b"<svg") {
        return Sniffed::Format(Format::Xml);
    }
    Sniffed::Format(Format::Text)
}

fn trim_leading(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    &b[start..]
}

fn after_first_line(b: &[u8]) -> &[u8] {
    memchr::memchr(b'\n', b).map_or(&[][..], |p| &b[p + 1..])
}

/// NUL bytes or many control characters in the first block mean binary.
fn looks_binary(head: &[u8]) -> bool {
    let sample = &head[..head.len().min(8192)];
    if memchr::memchr(0, sample).is_some() {
        return true;
    }
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c | 0x1b))
        .count();
    controls * 20 > sample.len().max(1)
}

/// An RFC 5322 header block: the first lines are `Name: value` and include a typical header.
fn looks_like_headers(b: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&b[..b.len().min(4096)]);
    let mut headers = 0;
    let mut known = false;
    for line in text.lines().take(40) {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((name, _)) = line.split_once(':') else {
            return false;
        };
        if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
            return false;
        }
        headers += 1;
        known |= matches!(
            name.to_ascii_lowercase().as_str(),
            "received"
                | "from"
                | "subject"
                | "message-id"
                | "mime-version"
                | "return-path"
                | "delivered-to"
                | "date"
        );
    }
    headers >= 2 && known
}

/// Sniffs and extracts a document held in memory (also used for attachments).
pub fn extract_bytes(
    name: &str,
    bytes: &[u8],
    limits: &Limits,
    depth: u32,
) -> Result<(Format, Extracted), ExtractError> {
    let format = match sniff(name, &bytes[..bytes.len().min(8192)]) {
        Sniffed::Format(f) => f,
        Sniffed::Skip(reason) => return Err(ExtractError::Skipped(reason)),
    };
    extract_as(format, bytes, limits, depth).map(|e| (format, e))
}

/// Extracts `bytes` as `format`. Offsets in the result are offsets in `bytes`.
pub fn extract_as(
    format: Format,
    bytes: &[u8],
    limits: &Limits,
    depth: u32,
) -> Result<Extracted, ExtractError> {
    let result = extract_strictly(format, bytes, limits, depth);
    match result {
        Err(err @ ExtractError::Malformed { .. }) if guessed_from_text(format, bytes) => {
            Ok(fallback_to_text(bytes, err))
        }
        other => other,
    }
}

/// A format guessed from text that merely looks like it (a git log starting with `Date:`
/// headers, prose that mentions `%PDF-`) is still text when it fails to parse.
fn guessed_from_text(format: Format, bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    let text_like = !looks_binary(head);
    match format {
        Format::Email | Format::Mbox => text_like,
        Format::Pdf => text_like && !trim_leading(head).starts_with(b"%PDF-"),
        _ => false,
    }
}

fn extract_strictly(
    format: Format,
    bytes: &[u8],
    limits: &Limits,
    depth: u32,
) -> Result<Extracted, ExtractError> {
    match format {
        Format::Pdf => pdf::extract_pdf(bytes, limits),
        Format::Docx => docx::extract_docx(bytes, limits),
        Format::Email => email::extract_email(bytes, limits, depth),
        Format::Mbox => email::extract_mbox(bytes, limits, depth),
        Format::MemoryStore => Err(ExtractError::Skipped(
            "memory stores are read entry by entry (store::StoreFormat::read)".into(),
        )),
        Format::Text | Format::Markdown => {
            Ok(text::extract_text(bytes, 0, 1, format == Format::Markdown))
        }
        Format::Html | Format::Xml | Format::Json | Format::Jsonl => {
            let decoded = decode_text(bytes);
            let mut ex = match format {
                Format::Html => html::extract_html(&decoded.text, limits),
                Format::Xml => match html::extract_xml(&decoded.text, limits) {
                    Ok(ex) => ex,
                    Err(e) => fallback_to_text(bytes, e),
                },
                Format::Json => match json::extract_json(&decoded.text, limits) {
                    Ok(ex) => ex,
                    Err(e) => fallback_to_text(bytes, e),
                },
                _ => json::extract_jsonl(&decoded.text, limits),
            };
            decoded.fix_spans(&mut ex);
            Ok(ex)
        }
    }
}

/// Extracts one chunk of a large plain-text file placed at `offset` and `line`.
pub fn extract_text_chunk(bytes: &[u8], offset: u64, line: u32, markdown: bool) -> Extracted {
    text::extract_text(bytes, offset, line, markdown)
}

/// A structured file that does not parse is still text a model may read: scan it as text.
fn fallback_to_text(bytes: &[u8], err: ExtractError) -> Extracted {
    let mut ex = text::extract_text(bytes, 0, 1, false);
    ex.warnings
        .insert(0, format!("{err}; scanned as plain text"));
    ex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_prefers_content_over_name() {
        assert_eq!(
            sniff("a.txt", b"%PDF-1.7\n..."),
            Sniffed::Format(Format::Pdf)
        );
        assert_eq!(
            sniff("notes.txt", b"hello world"),
            Sniffed::Format(Format::Text)
        );
        assert_eq!(
            sniff("x", b"<!DOCTYPE html><html>"),
            Sniffed::Format(Format::Html)
        );
        assert_eq!(
            sniff(
                "mail",
                b"Received: by x\r\nFrom: a@b.c\r\nSubject: hi\r\n\r\nbody"
            ),
            Sniffed::Format(Format::Email)
        );
        assert_eq!(
            sniff(
                "box",
                b"From a@b.c Mon Jan  1 00:00:00 2024\nFrom: a@b.c\nSubject: x\n\nbody"
            ),
            Sniffed::Format(Format::Mbox)
        );
        assert_eq!(
            sniff("x.bin", b"\x7fELF\x02\x01\x01\x00\x00"),
            Sniffed::Skip("binary content".into())
        );
        assert_eq!(
            sniff("a.zip", b"PK\x03\x04rest"),
            Sniffed::Skip("ZIP archive (only DOCX is read)".into())
        );
        assert_eq!(
            sniff("Subject line: not mail", b"Subject line: not mail\nsecond"),
            Sniffed::Format(Format::Text)
        );
    }

    #[test]
    fn text_that_only_looks_like_mail_or_pdf_is_scanned_as_text() {
        let gitlog = b"\nDate: Mon Jan 1 2024\nFrom: dev\nSubject: fix\n\n    fix the parser\n";
        let (_, ex) = extract_bytes("log.txt", gitlog, &Limits::default(), 0).unwrap();
        assert!(ex.segments[0].text.contains("fix the parser"));
        let prose = b"Notes on the format: a file starts with %PDF-1.7 and then objects.";
        let (format, ex) = extract_bytes("notes.txt", prose, &Limits::default(), 0).unwrap();
        assert_eq!(format, Format::Pdf);
        assert!(
            ex.warnings[0].contains("scanned as plain text"),
            "{:?}",
            ex.warnings
        );
        assert!(extract_bytes("x.pdf", b"%PDF-1.7\ngarbage", &Limits::default(), 0).is_err());
    }

    #[test]
    fn invalid_json_falls_back_to_text_with_a_warning() {
        let (format, ex) =
            extract_bytes("a.json", b"{\"a\": ignore previous", &Limits::default(), 0).unwrap();
        assert_eq!(format, Format::Json);
        assert_eq!(ex.segments.len(), 1);
        assert!(
            ex.warnings[0].contains("scanned as plain text"),
            "{:?}",
            ex.warnings
        );
    }
}
