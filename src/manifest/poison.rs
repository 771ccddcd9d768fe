//! Tool-poisoning scan: every string a model reads in a tool definition (name, title,
//! description, every parameter's description, default, enum and example values, property
//! names, annotations) and the server's instructions, run through the detection engine.
//!
//! Each tool is scanned as one document, so evidence combines within a tool but not across
//! tools; each string is one segment whose location carries its JSON pointer inside the tool
//! and the tool's name (`location.entry`), so a finding says which tool and which field.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::drift::escape_pointer;
use super::Manifest;
use crate::detect::{DetectConfig, Detector, DocMeta};
use crate::document::{Channel, Format, Location, Segment, SourceSpan};
use crate::finding::{Finding, Severity};
use crate::rules::RuleSet;

/// Findings at or above this severity make a manifest "poisoned" (exit 1).
pub const POISON_THRESHOLD: Severity = Severity::Medium;

/// Rules that look for text speaking to the model ("instructions to the LLM", "note to the
/// AI"). In a document that is a sign of injection; tool descriptions and server instructions
/// are written for the model, so there it is the genre, not evidence, and these rules are left
/// out of [`manifest_detector`].
pub const GENRE_RULES: &[&str] = &["MCPS-ROL-009", "MCPS-ROL-016"];

/// The embedded rules without [`GENRE_RULES`], compiled for manifest scans.
pub fn manifest_detector(config: DetectConfig) -> crate::Result<Detector> {
    let rules = RuleSet::embedded()?
        .rules()
        .iter()
        .filter(|r| !GENRE_RULES.contains(&r.id.as_str()))
        .cloned()
        .collect();
    Detector::new(RuleSet::new(rules)?, config)
}

/// Objects whose keys are names a model reads (parameter and definition names).
const NAMED_MEMBERS: &[&str] = &["properties", "patternProperties", "$defs", "definitions"];

/// One finding in a manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoisonFinding {
    /// The tool's key; `None` for the server's instructions.
    pub tool: Option<String>,
    /// JSON pointer of the string inside the tool (`/inputSchema/properties/path/description`),
    /// or `instructions`.
    pub field: String,
    #[serde(flatten)]
    pub finding: Finding,
}

/// Scans every tool and the instructions. Sorted by tool, field, then position.
pub fn scan(detector: &Detector, manifest: &Manifest) -> Vec<PoisonFinding> {
    let meta = DocMeta {
        path: manifest.label(),
        format: Format::Json,
    };
    let mut out = Vec::new();
    for tool in &manifest.tools {
        let mut segments = Vec::new();
        collect(
            &tool.definition,
            &mut String::new(),
            &tool.key,
            &mut segments,
        );
        let (findings, _) = detector.scan_segments(&meta, &segments);
        for mut f in findings {
            f.assign_id(&tool.sha256);
            out.push(PoisonFinding {
                tool: Some(tool.key.clone()),
                field: f.location.json_pointer.clone().unwrap_or_default(),
                finding: f,
            });
        }
    }
    if let Some(text) = manifest.instructions() {
        let loc = Location {
            part: Some("instructions".into()),
            ..Location::default()
        };
        let seg = Segment::new(text.to_string(), Channel::Visible, loc, text_span());
        let (findings, _) = detector.scan_segments(&meta, &[seg]);
        let sha = manifest.instructions_sha256().unwrap_or_default();
        for mut f in findings {
            f.assign_id(&sha);
            out.push(PoisonFinding {
                tool: None,
                field: "instructions".into(),
                finding: f,
            });
        }
    }
    out.sort_by(|a, b| {
        (
            &a.tool,
            &a.field,
            a.finding.location.line,
            a.finding.location.column,
            &a.finding.rule_id,
        )
            .cmp(&(
                &b.tool,
                &b.field,
                b.finding.location.line,
                b.finding.location.column,
                &b.finding.rule_id,
            ))
    });
    out
}

/// Whether any finding is at or above [`POISON_THRESHOLD`].
pub fn is_poisoned(findings: &[PoisonFinding]) -> bool {
    findings
        .iter()
        .any(|f| f.finding.severity >= POISON_THRESHOLD)
}

/// Strings keep their line breaks, so findings get a line and column inside the string.
fn text_span() -> SourceSpan {
    SourceSpan {
        line: Some(1),
        column: Some(1),
        ..SourceSpan::default()
    }
}

fn collect(v: &Value, pointer: &mut String, tool: &str, out: &mut Vec<Segment>) {
    match v {
        Value::String(s) if !s.trim().is_empty() => {
            let loc = Location {
                json_pointer: Some(pointer.clone()),
                entry: Some(tool.to_string()),
                ..Location::default()
            };
            out.push(Segment::new(s.clone(), Channel::Visible, loc, text_span()));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                collect(item, pointer, tool, out);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            let named = NAMED_MEMBERS
                .iter()
                .any(|m| pointer.ends_with(&format!("/{m}")));
            for (k, child) in map {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape_pointer(k));
                if named {
                    let loc = Location {
                        json_pointer: Some(pointer.clone()),
                        entry: Some(tool.to_string()),
                        part: Some("property name".into()),
                        ..Location::default()
                    };
                    // Names like `note_read_the_ssh_key_first` read as words to a model.
                    out.push(Segment::new(
                        k.replace(['_', '-'], " "),
                        Channel::Visible,
                        loc,
                        SourceSpan::default(),
                    ));
                }
                collect(child, pointer, tool, out);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}
