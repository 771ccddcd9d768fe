//! The injection source: every tool response goes through the detection engine; a session
//! keeps only the strongest finding of each response, never the response itself.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::detect::Detector;
use crate::document::{Channel, Limits, Location};
use crate::finding::{Endpoint, Finding, Severity};
use crate::scan::scan_bytes;

use super::time::Timestamp;

/// The finding that marks a response as carrying injected instructions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectionFinding {
    pub rule_id: String,
    pub rule_title: String,
    pub category: String,
    pub severity: Severity,
    /// Stable id: the same response bytes give the same id (see `mcpsweep scan`).
    pub finding_id: String,
    /// Where in the response: line and column of a string response, JSON pointer of a
    /// structured one, page of a PDF.
    pub location: Location,
    pub channel: Channel,
    pub excerpt: String,
    pub matched: String,
    pub endpoints: Vec<Endpoint>,
}

impl From<Finding> for InjectionFinding {
    fn from(f: Finding) -> Self {
        InjectionFinding {
            rule_id: f.rule_id,
            rule_title: f.rule_title,
            category: f.category,
            severity: f.severity,
            finding_id: f.finding_id,
            location: f.location,
            channel: f.channel,
            excerpt: f.excerpt,
            matched: f.matched,
            endpoints: f.endpoints,
        }
    }
}

/// What scanning one response left behind.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseScan {
    /// Bytes scanned: the string's UTF-8, or a structured response serialized as JSON.
    pub bytes: u64,
    /// Findings at or above the injection threshold.
    pub findings: u32,
    /// The most severe (then earliest) of them, with the sha256 of the scanned bytes.
    pub top: Option<(InjectionFinding, String)>,
}

/// Scans one response. A string is scanned as a document (its format sniffed: text, HTML,
/// e-mail...); any other JSON value as JSON, so every string inside it is read (MCP's
/// `{"content":[{"type":"text","text":...}]}` included).
pub fn scan_response(
    detector: &Detector,
    response: &Value,
    min: Severity,
    limits: &Limits,
) -> ResponseScan {
    let owned;
    let (name, bytes): (&str, &[u8]) = match response {
        Value::String(s) => ("response", s.as_bytes()),
        v => {
            owned = serde_json::to_vec(v).unwrap_or_default();
            ("response.json", &owned)
        }
    };
    let report = scan_bytes(detector, name, bytes, limits);
    let mut hits: Vec<Finding> = report
        .findings
        .into_iter()
        .filter(|f| f.severity >= min)
        .collect();
    let findings = hits.len() as u32;
    hits.sort_by_key(|f| {
        (
            std::cmp::Reverse(f.severity),
            f.location.page,
            f.location.byte_start,
            f.location.line,
        )
    });
    let top = hits.into_iter().next().map(|f| {
        let sha = f.doc_sha256.clone();
        (InjectionFinding::from(f), sha)
    });
    ResponseScan {
        bytes: bytes.len() as u64,
        findings,
        top,
    }
}

/// The earliest response with an injection finding before the session's first anomalous
/// action: the root cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectionSource {
    /// Position among the session's events (its SESSION_START is 0).
    pub event_index: u64,
    /// Line of the session log.
    pub line: u64,
    pub ts: Timestamp,
    /// Offset from the session start, `T+01:04`.
    pub t: String,
    pub tool: String,
    /// The call's parameters (e.g. the file path).
    pub params: Option<Value>,
    pub finding: InjectionFinding,
    /// Findings at or above the threshold in this response.
    pub findings_in_response: u32,
    pub response_bytes: u64,
    /// sha256 of the scanned response bytes (for a structured response: of its compact JSON).
    pub response_sha256: String,
    /// The first anomalous action after it, if any.
    pub first_alert: Option<AlertRef>,
    /// Seconds from the injection to the first alert.
    pub time_to_first_alert_s: Option<f64>,
}

/// Where a signal first showed in the session's actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRef {
    pub event_index: u64,
    pub line: u64,
    pub ts: Timestamp,
    pub t: String,
    pub tool: String,
    /// The signals this action raised first (usually one).
    pub signals: Vec<super::signals::SignalId>,
}
