//! SARIF 2.1.0, for code-scanning dashboards and SIEMs that ingest it.

use serde_json::{json, Map, Value};

use crate::finding::Severity;
use crate::rules::Rule;
use crate::scan::ScanReport;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// SARIF `security-severity` (0.0-10.0), which GitHub code scanning maps to its own levels.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// A relative path becomes a relative URI reference; an absolute one a `file://` URI.
fn artifact_uri(path: &str) -> String {
    let p = std::path::Path::new(path);
    if p.is_absolute() {
        if let Ok(u) = url::Url::from_file_path(p) {
            return u.to_string();
        }
    }
    let mut out = String::new();
    for (i, seg) in path.split(['/', '\\']).enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.extend(
            url::form_urlencoded::byte_serialize(seg.as_bytes()).map(|s| s.replace('+', "%20")),
        );
    }
    out
}

pub fn to_sarif(report: &ScanReport, min: Severity, rules: &[Rule]) -> Value {
    let (findings, _) = super::filtered(report, min);
    let sarif_rules: Vec<Value> = rules
        .iter()
        .map(|r| {
            let mut rule = json!({
                "id": r.id,
                "name": r.title,
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": r.description},
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {
                    "category": r.category,
                    "severity": r.severity.as_str(),
                    "security-severity": security_severity(r.severity),
                    "tags": ["security", "prompt-injection", r.category],
                },
            });
            if let Some(uri) = r.references.first() {
                rule["helpUri"] = json!(uri);
            }
            rule
        })
        .collect();
    let index: std::collections::HashMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let l = &f.location;
            let mut region = Map::new();
            if let Some(line) = l.line {
                region.insert("startLine".into(), json!(line));
                if let Some(col) = l.column {
                    region.insert("startColumn".into(), json!(col));
                }
            }
            if let (Some(s), Some(e)) = (l.byte_start, l.byte_end) {
                region.insert("byteOffset".into(), json!(s));
                region.insert("byteLength".into(), json!(e.saturating_sub(s)));
            }
            region.insert("snippet".into(), json!({"text": f.excerpt}));
            let mut physical = json!({"artifactLocation": {"uri": artifact_uri(&f.path)}});
            physical["region"] = Value::Object(region);
            let mut result = json!({
                "ruleId": f.rule_id,
                "level": level(f.severity),
                "message": {"text": format!("{} ({}, {} channel): {}", f.rule_title, f.severity, f.channel.as_str(), f.excerpt)},
                "locations": [{"physicalLocation": physical}],
                "partialFingerprints": {"mcpsweepFindingId/v1": f.finding_id},
                "properties": {
                    "severity": f.severity.as_str(),
                    "category": f.category,
                    "channel": f.channel.as_str(),
                    "location": f.location,
                    "endpoints": f.endpoints,
                    "docSha256": f.doc_sha256,
                    "adjustments": f.adjustments,
                },
            });
            if let Some(&i) = index.get(f.rule_id.as_str()) {
                result["ruleIndex"] = json!(i);
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": if e.is_unreadable() { "error" } else { "warning" },
                "message": {"text": format!("{}: {}", e.path, e.reason)},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(&e.path)}}}],
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "mcpsweep",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/mcpsweep/mcpsweep",
                "rules": sarif_rules,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}
