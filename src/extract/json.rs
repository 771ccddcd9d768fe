//! JSON and JSON Lines: every string value becomes a segment located by its JSON pointer.
//!
//! A small parser of our own, because the location of each string literal (byte offset,
//! line) is the evidence a responder needs, and serde_json does not report it.

use crate::document::{Channel, Extracted, Limits, Location, Segment, SourceSpan};
use crate::error::ExtractError;

/// Strings shorter than this cannot hold an instruction; skipping them keeps big JSON cheap.
const MIN_STRING: usize = 4;

pub fn extract_json(text: &str, limits: &Limits) -> Result<Extracted, ExtractError> {
    let mut p = Parser::new(text, 0, 1, limits);
    p.skip_ws();
    let mut pointer = String::new();
    p.value(&mut pointer, 0)?;
    p.skip_ws();
    if p.pos < p.bytes.len() {
        return Err(p.error("trailing characters after the JSON value"));
    }
    Ok(Extracted {
        segments: p.segments,
        warnings: Vec::new(),
    })
}

/// One JSON document per line. Invalid lines are scanned as plain text, with a warning.
pub fn extract_jsonl(text: &str, limits: &Limits) -> Extracted {
    let mut out = Extracted::default();
    let mut offset = 0usize;
    for (idx, raw_line) in text.split_inclusive('\n').enumerate() {
        let line_no = idx as u32 + 1;
        let line = raw_line.trim_end_matches(['\n', '\r']);
        let start = offset;
        offset += raw_line.len();
        if line.trim().is_empty() {
            continue;
        }
        let mut p = Parser::new(line, start, line_no, limits);
        p.skip_ws();
        let mut pointer = String::new();
        let parsed = p.value(&mut pointer, 0).and_then(|_| {
            p.skip_ws();
            if p.pos < p.bytes.len() {
                Err(p.error("trailing characters after the JSON value"))
            } else {
                Ok(())
            }
        });
        match parsed {
            Ok(()) => out.segments.append(&mut p.segments),
            Err(e) => {
                out.warnings
                    .push(format!("line {line_no}: {e}; scanned as text"));
                out.segments.push(Segment::new(
                    line.to_string(),
                    Channel::Visible,
                    Location::default(),
                    SourceSpan::verbatim(start as u64, (start + line.len()) as u64, line_no, 1),
                ));
            }
        }
    }
    out
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Offset of `text` in the file.
    base: usize,
    line: u32,
    line_start: usize,
    limits: &'a Limits,
    segments: Vec<Segment>,
    text_total: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, base: usize, line: u32, limits: &'a Limits) -> Self {
        Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            base,
            line,
            line_start: 0,
            limits,
            segments: Vec::new(),
            text_total: 0,
        }
    }

    fn error(&self, reason: &str) -> ExtractError {
        ExtractError::malformed(
            "json",
            format!(
                "{reason} at line {}, column {}",
                self.line,
                self.pos - self.line_start + 1
            ),
        )
    }

    fn skip_ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                    self.line_start = self.pos;
                }
                b' ' | b'\t' | b'\r' => self.pos += 1,
                _ => break,
            }
        }
    }

    fn value(&mut self, pointer: &mut String, depth: u32) -> Result<(), ExtractError> {
        if depth > self.limits.max_nesting {
            return Err(ExtractError::Limit(format!(
                "JSON nested deeper than {} levels",
                self.limits.max_nesting
            )));
        }
        match self.bytes.get(self.pos) {
            Some(b'{') => self.object(pointer, depth),
            Some(b'[') => self.array(pointer, depth),
            Some(b'"') => {
                let (line, col, start) = (self.line, self.pos - self.line_start + 1, self.pos);
                let (s, verbatim) = self.string()?;
                self.emit(s, verbatim, pointer, start, line, col as u32);
                Ok(())
            }
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => {
                while matches!(
                    self.bytes.get(self.pos),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.pos += 1;
                }
                Ok(())
            }
            Some(_) => Err(self.error("unexpected character")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), ExtractError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("invalid literal"))
        }
    }

    fn object(&mut self, pointer: &mut String, depth: u32) -> Result<(), ExtractError> {
        self.pos += 1;
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.error("expected a string key"));
            }
            let (key, _) = self.string()?;
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.error("expected ':'"));
            }
            self.pos += 1;
            self.skip_ws();
            let len = pointer.len();
            pointer.push('/');
            pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            self.value(pointer, depth + 1)?;
            pointer.truncate(len);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, pointer: &mut String, depth: u32) -> Result<(), ExtractError> {
        self.pos += 1;
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut index = 0usize;
        loop {
            self.skip_ws();
            let len = pointer.len();
            pointer.push('/');
            pointer.push_str(&index.to_string());
            self.value(pointer, depth + 1)?;
            pointer.truncate(len);
            index += 1;
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    /// Parses a string literal at `pos`; returns its value and whether it had no escapes.
    fn string(&mut self) -> Result<(String, bool), ExtractError> {
        let start = self.pos + 1;
        let mut i = start;
        // Fast path: no escapes.
        while let Some(&b) = self.bytes.get(i) {
            match b {
                b'"' => {
                    self.pos = i + 1;
                    return Ok((self.text[start..i].to_string(), true));
                }
                b'\\' => break,
                b'\n' => return Err(self.error("newline inside a string")),
                _ => i += 1,
            }
        }
        let mut out = String::from(&self.text[start..i]);
        loop {
            let Some(&b) = self.bytes.get(i) else {
                self.pos = i;
                return Err(self.error("unterminated string"));
            };
            match b {
                b'"' => {
                    self.pos = i + 1;
                    return Ok((out, false));
                }
                b'\\' => {
                    let esc = self.bytes.get(i + 1).copied();
                    i += 2;
                    match esc {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let hi = self.hex4(i)?;
                            i += 4;
                            let c = if (0xD800..0xDC00).contains(&hi)
                                && self.bytes.get(i) == Some(&b'\\')
                                && self.bytes.get(i + 1) == Some(&b'u')
                            {
                                let lo = self.hex4(i + 2)?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    i += 6;
                                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                                } else {
                                    None
                                }
                            } else {
                                char::from_u32(hi)
                            };
                            out.push(c.unwrap_or('\u{FFFD}'));
                        }
                        _ => {
                            self.pos = i;
                            return Err(self.error("invalid escape"));
                        }
                    }
                }
                b'\n' => {
                    self.pos = i;
                    return Err(self.error("newline inside a string"));
                }
                _ => {
                    // Copy the run up to the next quote or backslash at once.
                    let run_end = memchr::memchr2(b'"', b'\\', &self.bytes[i..])
                        .map_or(self.bytes.len(), |p| i + p);
                    out.push_str(&self.text[i..run_end]);
                    i = run_end;
                }
            }
        }
    }

    fn hex4(&self, at: usize) -> Result<u32, ExtractError> {
        self.text
            .get(at..at + 4)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.error("invalid \\u escape"))
    }

    fn emit(
        &mut self,
        s: String,
        verbatim: bool,
        pointer: &str,
        start: usize,
        line: u32,
        col: u32,
    ) {
        if s.len() < MIN_STRING || self.text_total > self.limits.max_text {
            return;
        }
        self.text_total += s.len();
        let (file_start, file_end) = ((self.base + start) as u64, (self.base + self.pos) as u64);
        let span = if verbatim {
            SourceSpan::verbatim(file_start + 1, file_end - 1, line, col + 1)
        } else {
            SourceSpan {
                line: Some(line),
                column: Some(col),
                ..SourceSpan::region(file_start, file_end)
            }
        };
        let location = Location {
            json_pointer: Some(pointer.to_string()),
            ..Default::default()
        };
        self.segments
            .push(Segment::new(s, Channel::Visible, location, span));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_get_pointers_and_offsets() {
        let text = "{\n  \"a\": [\"skip\", \"Ignore previous\"],\n  \"b/c\": {\"d~e\": \"esc\\u0061ped text\"}\n}";
        let ex = extract_json(text, &Limits::default()).unwrap();
        let got: Vec<(&str, &str, Option<u32>)> = ex
            .segments
            .iter()
            .map(|s| {
                (
                    s.text.as_str(),
                    s.location.json_pointer.as_deref().unwrap(),
                    s.span.line,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("skip", "/a/0", Some(2)),
                ("Ignore previous", "/a/1", Some(2)),
                ("escaped text", "/b~1c/d~0e", Some(3)),
            ]
        );
        let s = &ex.segments[1];
        assert!(s.span.verbatim);
        let (a, b) = (
            s.span.byte_start.unwrap() as usize,
            s.span.byte_end.unwrap() as usize,
        );
        assert_eq!(&text[a..b], "Ignore previous");
    }

    #[test]
    fn malformed_and_deep_json_are_errors() {
        let err = extract_json("{\"a\": [1, 2", &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("malformed json"), "{err}");
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let err = extract_json(&deep, &Limits::default()).unwrap_err();
        assert!(matches!(err, ExtractError::Limit(_)), "{err}");
    }

    #[test]
    fn jsonl_lines_and_bad_lines() {
        let text =
            "{\"m\":\"first memory entry\"}\nnot json at all\n{\"m\":\"third entry here\"}\n";
        let ex = extract_jsonl(text, &Limits::default());
        assert_eq!(ex.segments.len(), 3);
        assert_eq!(ex.segments[2].span.line, Some(3));
        assert_eq!(ex.segments[2].location.json_pointer.as_deref(), Some("/m"));
        assert_eq!(ex.warnings.len(), 1);
        assert!(ex.warnings[0].starts_with("line 2:"));
    }
}
