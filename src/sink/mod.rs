//! Sinks: report formats written from a finished [`ScanReport`]. The scanner never prints.

mod human;
mod sarif;

use std::io::{self, Write};

use crate::finding::{Finding, Severity, Verdict};
use crate::rules::Rule;
use crate::scan::ScanReport;

pub use human::{describe_location, write_human};
pub use sarif::to_sarif;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Human,
    Json,
    Jsonl,
    Sarif,
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "human" | "text" => Ok(OutputFormat::Human),
            "json" => Ok(OutputFormat::Json),
            "jsonl" | "ndjson" => Ok(OutputFormat::Jsonl),
            "sarif" => Ok(OutputFormat::Sarif),
            other => Err(format!(
                "unknown format '{other}' (expected human, json, jsonl or sarif)"
            )),
        }
    }
}

/// The findings and documents at or above `min`.
pub fn filtered(report: &ScanReport, min: Severity) -> (Vec<&Finding>, Vec<&Verdict>) {
    let findings = report
        .findings
        .iter()
        .filter(|f| f.severity >= min)
        .collect();
    let documents = report
        .documents
        .iter()
        .filter(|d| d.severity.is_some_and(|s| s >= min))
        .collect();
    (findings, documents)
}

/// Writes `report` in `format`, showing findings at or above `min`.
pub fn write_report(
    w: &mut dyn Write,
    report: &ScanReport,
    format: OutputFormat,
    min: Severity,
    rules: &[Rule],
) -> io::Result<()> {
    match format {
        OutputFormat::Human => write_human(w, report, min),
        OutputFormat::Json => {
            let (findings, documents) = filtered(report, min);
            let doc = serde_json::json!({
                "findings": findings,
                "documents": documents,
                "errors": report.errors,
                "summary": report.summary,
            });
            serde_json::to_writer_pretty(&mut *w, &doc)?;
            writeln!(w)
        }
        OutputFormat::Jsonl => {
            for f in filtered(report, min).0 {
                serde_json::to_writer(&mut *w, f)?;
                writeln!(w)?;
            }
            Ok(())
        }
        OutputFormat::Sarif => {
            serde_json::to_writer_pretty(&mut *w, &to_sarif(report, min, rules))?;
            writeln!(w)
        }
    }
}
