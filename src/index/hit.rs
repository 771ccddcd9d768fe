//! A matching piece as commands report it: where it is, a highlighted snippet of the original
//! text, and the findings in it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tantivy::schema::{Field, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Score, TantivyDocument};

use super::build::{line_col, Offsets};
use super::{tokenize, Fields};
use crate::detect::escape_into;
use crate::document::Location;
use crate::finding::{Finding, Severity};
use crate::normalize;

/// One matching piece of text.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub path: String,
    pub format: String,
    pub channel: String,
    /// Where the best match is: the piece's page, part, pointer, entry or attachment, plus
    /// line, column and byte range of the first highlighted word where the text allows.
    pub location: Location,
    pub score: f32,
    pub snippet: Snippet,
    /// Highest severity of the findings in this piece.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<HitFinding>,
    /// sha256 of the file.
    pub sha256: String,
    /// sha256 of the memory-store entry, for store entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_sha256: Option<String>,
}

/// Original text around the best match, invisible characters escaped, line breaks as spaces.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snippet {
    pub text: String,
    /// Byte ranges of the matching words in `text`.
    pub highlights: Vec<[usize; 2]>,
}

/// A finding as stored with its piece.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HitFinding {
    pub finding_id: String,
    pub rule_id: String,
    pub severity: Severity,
    pub category: String,
    pub location: Location,
    /// The normalized text the rule matched.
    pub matched: String,
    pub excerpt: String,
}

impl HitFinding {
    pub(crate) fn of(f: &Finding) -> HitFinding {
        HitFinding {
            finding_id: f.finding_id.clone(),
            rule_id: f.rule_id.clone(),
            severity: f.severity,
            category: f.category.clone(),
            location: f.location.clone(),
            matched: f.matched.clone(),
            excerpt: f.excerpt.clone(),
        }
    }
}

/// Characters of original text in a snippet.
pub(crate) const SNIPPET_CHARS: usize = 200;

pub(crate) fn str_of(doc: &TantivyDocument, field: Field) -> Option<String> {
    doc.get_first(field)
        .and_then(|v| v.as_str().map(str::to_string))
}

fn u64_of(doc: &TantivyDocument, field: Field) -> Option<u64> {
    doc.get_first(field).and_then(|v| v.as_u64())
}

fn u32_of(doc: &TantivyDocument, field: Field) -> Option<u32> {
    u64_of(doc, field).and_then(|v| u32::try_from(v).ok())
}

/// A piece's text as written.
pub(crate) fn original_of(doc: &TantivyDocument, fields: &Fields) -> String {
    str_of(doc, fields.original).unwrap_or_default()
}

/// The findings stored with a piece.
pub(crate) fn findings_of(doc: &TantivyDocument, fields: &Fields) -> Vec<HitFinding> {
    str_of(doc, fields.findings)
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

impl Hit {
    /// A hit for a stored piece; `terms` (word tokens) are highlighted in the snippet.
    pub(crate) fn build(
        fields: &Fields,
        doc: &TantivyDocument,
        score: Score,
        terms: &BTreeMap<String, Score>,
    ) -> Hit {
        let original = original_of(doc, fields);
        let findings = findings_of(doc, fields);
        let (mut snippet, mut first) = make_snippet(fields.text, &original, terms);
        if first.is_none() && !findings.is_empty() {
            // Nothing of the query is in the text (a `rule:` or `severity:` search): show
            // what the findings matched.
            let matched: BTreeMap<String, Score> = findings
                .iter()
                .flat_map(|f| tokenize::word_tokens(&f.matched))
                .map(|w| (w, 1.0))
                .collect();
            (snippet, first) = make_snippet(fields.text, &original, &matched);
        }
        let mut location = Location {
            page: u32_of(doc, fields.page),
            line: u32_of(doc, fields.line),
            column: u32_of(doc, fields.column),
            byte_start: u64_of(doc, fields.byte_start),
            byte_end: u64_of(doc, fields.byte_end),
            json_pointer: str_of(doc, fields.pointer),
            entry: str_of(doc, fields.entry),
            attachment: str_of(doc, fields.attachment),
            part: str_of(doc, fields.part),
        };
        let offsets = Offsets::from_u64(u64_of(doc, fields.offsets).unwrap_or(0));
        if let Some((s, e)) = first {
            if offsets != Offsets::None {
                if let Some(base) = location.line {
                    let (dl, col) = line_col(&original, s);
                    let base_col = if dl == 0 {
                        location.column.unwrap_or(1)
                    } else {
                        1
                    };
                    location.line = Some(base + dl);
                    location.column = Some(base_col + col);
                }
            }
            if offsets == Offsets::Verbatim {
                if let Some(b) = location.byte_start {
                    location.byte_start = Some(b + s as u64);
                    location.byte_end = Some(b + e as u64);
                }
            }
        }
        Hit {
            path: str_of(doc, fields.path).unwrap_or_default(),
            format: str_of(doc, fields.format).unwrap_or_default(),
            channel: str_of(doc, fields.channel).unwrap_or_default(),
            location,
            score,
            snippet,
            severity: findings.iter().map(|f| f.severity).max(),
            findings,
            sha256: str_of(doc, fields.sha256).unwrap_or_default(),
            entry_sha256: str_of(doc, fields.entry_sha256),
        }
    }
}

/// The best fragment of `original` for `terms`, and the source range of its first match.
/// Matching runs on the normalized text (what was indexed); the fragment and highlights are
/// mapped back to the original text.
pub(crate) fn make_snippet(
    field: Field,
    original: &str,
    terms: &BTreeMap<String, Score>,
) -> (Snippet, Option<(usize, usize)>) {
    if !terms.is_empty() {
        let norm = normalize::normalize(original);
        let generator =
            SnippetGenerator::new(terms.clone(), tokenize::words(), field, SNIPPET_CHARS);
        let s = generator.snippet(&norm.text);
        if !s.highlighted().is_empty() {
            let fr = s.fragment_range();
            let (src_s, src_e) = norm.map.source_range(original, fr.start, fr.end);
            let mut marks: Vec<(usize, usize)> = s
                .highlighted()
                .iter()
                .map(|h| {
                    let (a, b) =
                        norm.map
                            .source_range(original, fr.start + h.start, fr.start + h.end);
                    (a.clamp(src_s, src_e), b.clamp(src_s, src_e))
                })
                .collect();
            marks.sort_unstable();
            let first = marks.first().copied();
            return (render(original, src_s, src_e, &marks), first);
        }
    }
    let end = original
        .char_indices()
        .nth(SNIPPET_CHARS)
        .map_or(original.len(), |(i, _)| i);
    (render(original, 0, end, &[]), None)
}

fn render(original: &str, s: usize, e: usize, marks: &[(usize, usize)]) -> Snippet {
    let mut out = Snippet::default();
    if s > 0 {
        out.text.push('…');
    }
    let mut pos = s;
    for &(a, b) in marks {
        if a < pos || b <= a {
            continue;
        }
        escape_into(&mut out.text, &original[pos..a]);
        let start = out.text.len();
        escape_into(&mut out.text, &original[a..b]);
        out.highlights.push([start, out.text.len()]);
        pos = b;
    }
    escape_into(&mut out.text, &original[pos..e]);
    if e < original.len() {
        out.text.push('…');
    }
    out
}
