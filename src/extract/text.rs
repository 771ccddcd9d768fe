//! Plain text, source code, logs and Markdown; decoding of byte order marks and legacy
//! encodings.

use std::borrow::Cow;

use crate::document::{Channel, Extracted, Location, Segment, SourceSpan};

/// Text decoded from bytes, and how its offsets relate to the bytes.
pub struct DecodedText<'a> {
    pub text: Cow<'a, str>,
    /// Byte offset of `text` in the input (a UTF-8 byte order mark is skipped).
    pub offset: usize,
    /// `text` is the input bytes unchanged, so text offsets + `offset` are file offsets.
    pub verbatim: bool,
    pub warning: Option<String>,
}

impl DecodedText<'_> {
    /// Makes spans produced over `text` point at the file: shifted when verbatim, reduced to
    /// line numbers when the text was transcoded.
    pub fn fix_spans(&self, ex: &mut Extracted) {
        shift_spans(ex, self.offset, self.verbatim, self.warning.as_deref());
    }
}

fn shift_spans(ex: &mut Extracted, offset: usize, verbatim: bool, warning: Option<&str>) {
    for seg in &mut ex.segments {
        if verbatim {
            seg.span.byte_start = seg.span.byte_start.map(|b| b + offset as u64);
            seg.span.byte_end = seg.span.byte_end.map(|b| b + offset as u64);
        } else {
            seg.span.byte_start = None;
            seg.span.byte_end = None;
            seg.span.verbatim = false;
        }
    }
    if let Some(w) = warning {
        ex.warnings.insert(0, w.to_string());
    }
}

/// UTF-8 (with or without BOM) as is; UTF-16 by its BOM; anything else as Windows-1252,
/// which maps every byte to a character so nothing is dropped.
pub fn decode_text(bytes: &[u8]) -> DecodedText<'_> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        if let Ok(s) = std::str::from_utf8(rest) {
            return DecodedText {
                text: Cow::Borrowed(s),
                offset: 3,
                verbatim: true,
                warning: None,
            };
        }
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return DecodedText {
            text: Cow::Borrowed(s),
            offset: 0,
            verbatim: true,
            warning: None,
        };
    }
    if let Some((enc, _)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _, had_errors) = enc.decode(bytes);
        return DecodedText {
            text: Cow::Owned(text.into_owned()),
            offset: 0,
            verbatim: false,
            warning: had_errors.then(|| format!("invalid {} sequences replaced", enc.name())),
        };
    }
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
    DecodedText {
        text: Cow::Owned(text.into_owned()),
        offset: 0,
        verbatim: false,
        warning: Some("not valid UTF-8; read as Windows-1252".into()),
    }
}

/// One segment for the text (or, in Markdown, visible text and comments apart).
/// `base_offset` and `base_line` place a chunk of a large file.
pub fn extract_text(bytes: &[u8], base_offset: u64, base_line: u32, markdown: bool) -> Extracted {
    let decoded = decode_text(bytes);
    let text: &str = &decoded.text;
    let mut ex = Extracted::default();
    if markdown {
        let mut pos = 0;
        let mut line = base_line;
        let push = |ex: &mut Extracted,
                    s: usize,
                    e: usize,
                    channel: Channel,
                    part: Option<&str>,
                    line: u32,
                    col: u32| {
            if e > s && !text[s..e].trim().is_empty() {
                ex.segments.push(Segment::new(
                    text[s..e].to_string(),
                    channel,
                    Location {
                        part: part.map(str::to_string),
                        ..Default::default()
                    },
                    SourceSpan::verbatim(base_offset + s as u64, base_offset + e as u64, line, col),
                ));
            }
        };
        for (s, e) in markdown_hidden_regions(text) {
            push(
                &mut ex,
                pos,
                s,
                Channel::Visible,
                None,
                line,
                column_of(text, pos),
            );
            line += count_lines(&text[pos..s]);
            push(
                &mut ex,
                s,
                e,
                Channel::Comment,
                Some("comment"),
                line,
                column_of(text, s),
            );
            line += count_lines(&text[s..e]);
            pos = e;
        }
        push(
            &mut ex,
            pos,
            text.len(),
            Channel::Visible,
            None,
            line,
            column_of(text, pos),
        );
    } else if !text.is_empty() {
        ex.segments.push(Segment::new(
            text.to_string(),
            Channel::Visible,
            Location::default(),
            SourceSpan::verbatim(base_offset, base_offset + text.len() as u64, base_line, 1),
        ));
    }
    shift_spans(
        &mut ex,
        decoded.offset,
        decoded.verbatim,
        decoded.warning.as_deref(),
    );
    ex
}

fn count_lines(s: &str) -> u32 {
    memchr::memchr_iter(b'\n', s.as_bytes()).count() as u32
}

fn column_of(text: &str, at: usize) -> u32 {
    let line_start = text[..at].rfind('\n').map_or(0, |p| p + 1);
    text[line_start..at].chars().count() as u32 + 1
}

/// HTML comments and link-reference "comments" (`[//]: # (text)`), which Markdown renderers
/// do not show but models read.
fn markdown_hidden_regions(text: &str) -> Vec<(usize, usize)> {
    let mut regions = Vec::new();
    let mut i = 0;
    while let Some(p) = text[i..].find("<!--") {
        let s = i + p;
        let e = text[s + 4..]
            .find("-->")
            .map_or(text.len(), |q| s + 4 + q + 3);
        regions.push((s, e));
        i = e;
    }
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if (t.starts_with("[//]:") || t.starts_with("[comment]:") || t.starts_with("[_]:"))
            && !regions.iter().any(|&(s, e)| offset >= s && offset < e)
        {
            regions.push((offset, offset + line.trim_end_matches(['\n', '\r']).len()));
        }
        offset += line.len();
    }
    regions.sort_unstable();
    regions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_comments_are_their_own_channel() {
        let md = "# Title\n\nSome text.\n<!-- hidden\nnote -->\nMore.\n[//]: # (secret line)\n";
        let ex = extract_text(md.as_bytes(), 0, 1, true);
        let got: Vec<(Channel, &str, Option<u32>)> = ex
            .segments
            .iter()
            .map(|s| (s.channel, s.text.as_str(), s.span.line))
            .collect();
        assert_eq!(
            got,
            vec![
                (Channel::Visible, "# Title\n\nSome text.\n", Some(1)),
                (Channel::Comment, "<!-- hidden\nnote -->", Some(4)),
                (Channel::Visible, "\nMore.\n", Some(5)),
                (Channel::Comment, "[//]: # (secret line)", Some(7)),
            ]
        );
    }

    #[test]
    fn legacy_encodings_are_decoded_not_dropped() {
        let ex = extract_text(b"caf\xe9 ignore", 0, 1, false);
        assert_eq!(ex.segments[0].text, "café ignore");
        assert_eq!(
            ex.warnings,
            vec!["not valid UTF-8; read as Windows-1252".to_string()]
        );
        assert_eq!(ex.segments[0].span.byte_start, None);
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("hi there".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(
            extract_text(&utf16, 0, 1, false).segments[0].text,
            "hi there"
        );
    }
}
