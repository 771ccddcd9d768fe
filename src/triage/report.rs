//! Per-session reports and their two renderings: JSON (one session per line inside
//! `{"sessions":[...]}`, written as sessions end, so output never waits for the whole log) and
//! a Markdown incident summary.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::decide::{Answer, Classification, Step};
use super::log::{params_brief, LineError};
use super::signals::{NotEvaluated, Signal};
use super::source::InjectionSource;
use super::time::{human_duration, Timestamp};
use super::timeline::{BlastRadius, TimelineEntry};

/// Everything triage says about one session. The first eight fields are the contract of
/// the JSON output; the rest add context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionReport {
    pub session_id: String,
    pub agent_id: Option<String>,
    pub classification: Classification,
    pub decision_path: Vec<Step>,
    /// Signals that fired.
    pub signals: Vec<Signal>,
    pub injection_source: Option<InjectionSource>,
    pub timeline: Vec<TimelineEntry>,
    pub blast_radius: BlastRadius,
    pub role: Option<String>,
    pub task: Option<String>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    /// From SESSION_START to SESSION_END (or to the last event when there is no end).
    pub duration_s: Option<f64>,
    pub first_line: u64,
    pub last_line: u64,
    pub calls: u64,
    pub signals_not_evaluated: Vec<NotEvaluated>,
    pub responses: ResponseStats,
    /// What the guide says to do next for this classification.
    pub action: String,
    /// Evidence gaps and oddities of the log (missing responses, no SESSION_END, ...).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseStats {
    /// Calls whose response content was logged (and scanned).
    pub logged: u64,
    /// Calls that were not denied but have no response logged.
    pub missing: u64,
    /// Responses with an injection finding.
    pub with_injection: u64,
}

/// Totals of one run over a log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub log: String,
    pub lines: u64,
    pub bytes: u64,
    pub events: u64,
    pub sessions: u64,
    /// Every classification present as a key.
    pub by_classification: BTreeMap<Classification, u64>,
    pub responses_scanned: u64,
    pub responses_with_injection: u64,
    /// Lines skipped: count, and the first 1000 with their reason.
    pub malformed: u64,
    pub malformed_lines: Vec<LineError>,
    pub elapsed_ms: u64,
    pub mb_per_s: f64,
}

impl RunSummary {
    /// Whether any session is CONFIRMED_INCIDENT or SUSPICIOUS (exit status 1).
    pub fn has_alert(&self) -> bool {
        self.by_classification
            .iter()
            .any(|(c, n)| c.is_alert() && *n > 0)
    }
}

/// What the run was given, for the report header.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub log: String,
    pub baseline: Option<String>,
    pub manifest_events: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Markdown,
}

impl std::str::FromStr for ReportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(ReportFormat::Json),
            "markdown" | "md" => Ok(ReportFormat::Markdown),
            _ => Err(format!("unknown format '{s}' (expected json or markdown)")),
        }
    }
}

/// A report written as the run goes: a header, each session as it ends, a footer.
pub trait ReportWriter {
    fn begin(&mut self, info: &RunInfo) -> io::Result<()>;
    fn session(&mut self, r: &SessionReport) -> io::Result<()>;
    fn finish(&mut self, s: &RunSummary) -> io::Result<()>;
}

pub fn writer<'w, W: Write + 'w>(format: ReportFormat, w: W) -> Box<dyn ReportWriter + 'w> {
    match format {
        ReportFormat::Json => Box::new(JsonReport {
            w,
            first: true,
            info: RunInfo::default(),
        }),
        ReportFormat::Markdown => Box::new(MarkdownReport {
            w,
            info: RunInfo::default(),
        }),
    }
}

pub struct JsonReport<W> {
    w: W,
    first: bool,
    info: RunInfo,
}

impl<W: Write> ReportWriter for JsonReport<W> {
    fn begin(&mut self, info: &RunInfo) -> io::Result<()> {
        self.info = info.clone();
        self.w.write_all(b"{\"sessions\":[")
    }

    fn session(&mut self, r: &SessionReport) -> io::Result<()> {
        self.w.write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer(&mut self.w, r).map_err(io::Error::other)
    }

    fn finish(&mut self, s: &RunSummary) -> io::Result<()> {
        self.w.write_all(b"\n],\n\"malformed_lines\":")?;
        serde_json::to_writer(&mut self.w, &s.malformed_lines).map_err(io::Error::other)?;
        self.w.write_all(b",\n\"summary\":")?;
        let mut summary = serde_json::to_value(s).map_err(io::Error::other)?;
        if let Some(o) = summary.as_object_mut() {
            o.remove("malformed_lines");
            o.insert("baseline".into(), self.info.baseline.clone().into());
            o.insert(
                "manifest_events".into(),
                self.info.manifest_events.clone().into(),
            );
        }
        serde_json::to_writer(&mut self.w, &summary).map_err(io::Error::other)?;
        self.w.write_all(b"}\n")?;
        self.w.flush()
    }
}

pub struct MarkdownReport<W> {
    w: W,
    info: RunInfo,
}

/// Text safe inside a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

impl<W: Write> ReportWriter for MarkdownReport<W> {
    fn begin(&mut self, info: &RunInfo) -> io::Result<()> {
        self.info = info.clone();
        let w = &mut self.w;
        writeln!(w, "# Triage of `{}`\n", info.log)?;
        match &info.baseline {
            Some(b) => writeln!(w, "- Baseline: `{b}`")?,
            None => writeln!(
                w,
                "- Baseline: **none**: burst, sequence, duration and agent identity cannot be evaluated, so sessions without a P1 signal are ESCALATE at best"
            )?,
        }
        match &info.manifest_events {
            Some(m) => writeln!(w, "- Manifest events: `{m}`")?,
            None => writeln!(
                w,
                "- Manifest events: **none given**: manifest drift and updates not checked"
            )?,
        }
        writeln!(w)
    }

    fn session(&mut self, r: &SessionReport) -> io::Result<()> {
        let w = &mut self.w;
        writeln!(w, "## Session `{}`: {}\n", r.session_id, r.classification)?;
        let mut facts = vec![format!(
            "Agent `{}`",
            r.agent_id.as_deref().unwrap_or("(none logged)")
        )];
        if let Some(role) = &r.role {
            facts.push(format!("role `{role}`"));
        }
        if let Some(task) = &r.task {
            facts.push(format!("task `{task}`"));
        }
        match (r.start, r.end) {
            (Some(s), Some(e)) => facts.push(format!("{s} to {e} ({})", human_duration(e.0 - s.0))),
            (Some(s), None) => facts.push(format!("started {s}, no SESSION_END")),
            _ => {}
        }
        facts.push(format!(
            "{} tool call{}",
            r.calls,
            if r.calls == 1 { "" } else { "s" }
        ));
        facts.push(format!("log lines {}–{}", r.first_line, r.last_line));
        writeln!(w, "{}\n", facts.join(" · "))?;
        if r.classification == Classification::NoSignal {
            // Clean sessions stay short: a big log is mostly these.
            let why = r.decision_path.first().map_or("", |s| s.detail.as_str());
            return writeln!(w, "No signal: {why}.\n");
        }
        writeln!(w, "**Next step:** {}\n", r.action)?;

        writeln!(w, "### Decision path\n")?;
        for (i, s) in r.decision_path.iter().enumerate() {
            let a = match s.answer {
                Answer::Yes => "yes",
                Answer::No => "no",
                Answer::Unknown => "unknown",
            };
            write!(w, "{}. {} **{a}**: {}", i + 1, s.question, s.detail)?;
            if let Some(o) = s.outcome {
                write!(w, " → **{o}**")?;
            }
            writeln!(w)?;
        }
        writeln!(w)?;

        writeln!(w, "### Signals\n")?;
        if r.signals.is_empty() {
            writeln!(w, "None fired.")?;
        }
        for s in &r.signals {
            writeln!(w, "- **{}** ({}): {}", s.id, s.severity, s.summary)?;
        }
        for n in &r.signals_not_evaluated {
            writeln!(w, "- {} not evaluated: {}", n.id, n.reason)?;
        }
        writeln!(w)?;

        writeln!(w, "### Injection source\n")?;
        match &r.injection_source {
            Some(src) => {
                writeln!(
                    w,
                    "Root cause: the response to `{}({})` at {} ({}, log line {}, event {}).\n",
                    src.tool,
                    params_brief(src.params.as_ref(), 200),
                    src.t,
                    src.ts,
                    src.line,
                    src.event_index
                )?;
                let f = &src.finding;
                writeln!(
                    w,
                    "- Finding: **{}** {} ({}, {}), finding id `{}`",
                    f.rule_id, f.rule_title, f.category, f.severity, f.finding_id
                )?;
                writeln!(w, "- Excerpt: \"{}\"", cell(&f.excerpt))?;
                if !f.endpoints.is_empty() {
                    let eps: Vec<&str> = f.endpoints.iter().map(|e| e.value.as_str()).collect();
                    writeln!(w, "- Endpoints: {}", eps.join(", "))?;
                }
                writeln!(
                    w,
                    "- Response: {} bytes, sha256 `{}`, {} finding(s) at or above the threshold",
                    src.response_bytes, src.response_sha256, src.findings_in_response
                )?;
                match (&src.first_alert, src.time_to_first_alert_s) {
                    (Some(a), Some(secs)) => writeln!(
                        w,
                        "- Time from injection to first alert: {secs:.1} s ({} at {}, {})",
                        a.tool,
                        a.t,
                        a.signals
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )?,
                    _ => writeln!(w, "- No anomalous action followed it.")?,
                }
            }
            None if r.responses.missing > 0 => writeln!(
                w,
                "Not found: {} responses were not logged, so the source may be among them.",
                r.responses.missing
            )?,
            None => writeln!(w, "None: no logged tool response carries injected instructions before the first anomalous action.")?,
        }
        writeln!(w)?;

        writeln!(w, "### Timeline\n")?;
        writeln!(w, "| | time | event |\n|---|---|---|")?;
        for e in &r.timeline {
            writeln!(w, "| {} | {} | {} |", e.label, e.t, cell(&e.summary))?;
        }
        writeln!(w)?;

        writeln!(w, "### Blast radius\n")?;
        writeln!(w, "{}\n", r.blast_radius.summary)?;
        let since = match r.blast_radius.since.as_deref() {
            Some("injection") => "after the injection",
            _ => "after the first alert",
        };
        for (title, list) in [
            (
                format!("Reached {since} (review these)"),
                &r.blast_radius.touched,
            ),
            (format!("Denied {since}"), &r.blast_radius.denied),
        ] {
            if list.is_empty() {
                continue;
            }
            writeln!(w, "{title}:\n\n| tool | resource | calls |\n|---|---|--:|")?;
            for t in list {
                writeln!(
                    w,
                    "| {} | `{}` | {} |",
                    cell(&t.tool),
                    cell(&t.resource),
                    t.calls
                )?;
            }
            writeln!(w)?;
        }
        if !r.notes.is_empty() {
            writeln!(w, "### Notes\n")?;
            for n in &r.notes {
                writeln!(w, "- {n}")?;
            }
            writeln!(w)?;
        }
        Ok(())
    }

    fn finish(&mut self, s: &RunSummary) -> io::Result<()> {
        let w = &mut self.w;
        writeln!(w, "## Summary\n")?;
        writeln!(
            w,
            "{} sessions, {} events, {} lines ({:.1} MB) in {} ms; {} responses scanned, {} with injected instructions.\n",
            s.sessions,
            s.events,
            s.lines,
            s.bytes as f64 / 1e6,
            s.elapsed_ms,
            s.responses_scanned,
            s.responses_with_injection
        )?;
        writeln!(w, "| classification | sessions |\n|---|--:|")?;
        for (c, n) in &s.by_classification {
            writeln!(w, "| {c} | {n} |")?;
        }
        writeln!(w)?;
        if s.malformed > 0 {
            writeln!(w, "{} malformed lines skipped:\n", s.malformed)?;
            for m in &s.malformed_lines {
                writeln!(w, "- line {}: {}", m.line, m.reason)?;
            }
            if s.malformed > s.malformed_lines.len() as u64 {
                writeln!(
                    w,
                    "- and {} more",
                    s.malformed - s.malformed_lines.len() as u64
                )?;
            }
            writeln!(w)?;
        }
        w.flush()
    }
}
