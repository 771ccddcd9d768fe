//! The report a responder reads in a terminal: grouped by file, most severe first within it.

use std::io::{self, Write};

use crate::document::Location;
use crate::finding::Severity;
use crate::scan::ScanReport;

/// Human-readable place: "page 3, line 12, col 4, bytes 100-180, /a/0, entry X, attachment Y".
pub fn describe_location(l: &Location) -> String {
    let mut parts = Vec::new();
    if let Some(a) = &l.attachment {
        parts.push(format!("attachment {a}"));
    }
    if let Some(e) = &l.entry {
        parts.push(format!("entry {e}"));
    }
    if let Some(p) = &l.part {
        parts.push(p.clone());
    }
    if let Some(p) = l.page {
        parts.push(format!("page {p}"));
    }
    if let Some(p) = &l.json_pointer {
        parts.push(format!("json {}", if p.is_empty() { "/" } else { p }));
    }
    match (l.line, l.column) {
        (Some(line), Some(col)) => parts.push(format!("line {line}:{col}")),
        (Some(line), None) => parts.push(format!("line {line}")),
        _ => {}
    }
    if let (Some(s), Some(e)) = (l.byte_start, l.byte_end) {
        parts.push(format!("bytes {s}-{e}"));
    }
    parts.join(", ")
}

pub fn write_human(w: &mut dyn Write, report: &ScanReport, min: Severity) -> io::Result<()> {
    let (findings, documents) = super::filtered(report, min);
    let mut by_path: std::collections::HashMap<&str, Vec<&crate::finding::Finding>> =
        std::collections::HashMap::new();
    for f in &findings {
        by_path.entry(f.path.as_str()).or_default().push(f);
    }
    for doc in &documents {
        let sev = doc.severity.map_or("none", |s| s.as_str());
        writeln!(
            w,
            "{}  [{}]  {}  sha256:{}",
            doc.path,
            sev.to_uppercase(),
            doc.format.as_str(),
            &doc.doc_sha256[..doc.doc_sha256.len().min(16)]
        )?;
        let mut mine = by_path.remove(doc.path.as_str()).unwrap_or_default();
        mine.sort_by_key(|f| std::cmp::Reverse(f.severity));
        for f in mine {
            writeln!(
                w,
                "  {:<8} {}  {}  ({}; {})",
                f.severity.as_str(),
                f.rule_id,
                f.rule_title,
                describe_location(&f.location),
                f.channel.as_str()
            )?;
            writeln!(w, "           {}", f.excerpt)?;
            if !f.endpoints.is_empty() {
                let eps: Vec<&str> = f.endpoints.iter().map(|e| e.value.as_str()).collect();
                writeln!(w, "           endpoints: {}", eps.join(", "))?;
            }
            if !f.adjustments.is_empty() {
                writeln!(w, "           why: {}", f.adjustments.join("; "))?;
            }
            writeln!(w, "           id: {}", f.finding_id)?;
        }
        writeln!(w)?;
    }
    if !report.errors.is_empty() {
        writeln!(w, "Not fully read:")?;
        for e in &report.errors {
            let kind = serde_json::to_value(e.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            writeln!(w, "  {}: {} ({kind})", e.path, e.reason)?;
        }
        writeln!(w)?;
    }
    let s = &report.summary;
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .map(|sev| {
            format!(
                "{} {}",
                s.findings_by_severity
                    .get(sev.as_str())
                    .copied()
                    .unwrap_or(0),
                sev.as_str()
            )
        })
        .collect();
    writeln!(
        w,
        "Scanned {} documents ({:.1} MB) in {:.2} s ({} MB/s): {} with findings; findings: {}; {} skipped, {} unreadable, {} warnings.",
        s.documents,
        s.bytes as f64 / 1e6,
        s.elapsed_ms as f64 / 1000.0,
        s.mb_per_s,
        s.documents_with_findings,
        counts.join(", "),
        s.skipped,
        s.unreadable,
        s.warnings
    )
}
