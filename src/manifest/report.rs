//! The results of `manifest pin` and `manifest check` as data (JSON) and as text for a
//! responder, and the flat drift events a triage timeline ingests.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::drift::{self, ChangeKind, Drift, PointerDiff};
use super::poison::{self, PoisonFinding, POISON_THRESHOLD};
use super::{Manifest, Origin, Pinned};
use crate::detect::Detector;
use crate::finding::Severity;
use crate::mcp::{printable, ServerInfo};

/// `format` of the JSON `manifest check` prints.
pub const CHECK_FORMAT: &str = "mcpsweep-manifest-check/1";
/// `format` of the JSON `manifest pin` prints.
pub const PIN_FORMAT: &str = "mcpsweep-manifest-pin/1";

/// One manifest as a report shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestSummary {
    pub origin: Origin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerSummary>,
    pub tools: usize,
    pub manifest_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions_sha256: Option<String>,
    /// For a baseline: when and from what it was pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<Pinned>,
}

/// The server as it described itself (capabilities and instructions left out: the
/// instructions are hashed and diffed instead).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerSummary {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub protocol_version: String,
}

impl ManifestSummary {
    pub fn of(m: &Manifest) -> ManifestSummary {
        ManifestSummary {
            origin: m.origin.clone(),
            server: m.server.as_ref().map(server_summary),
            tools: m.tools.len(),
            manifest_sha256: m.manifest_sha256(),
            instructions_sha256: m.instructions_sha256(),
            pinned: m.pinned.clone(),
        }
    }
}

fn server_summary(s: &ServerInfo) -> ServerSummary {
    ServerSummary {
        name: s.name.clone(),
        version: s.version.clone(),
        title: s.title.clone(),
        protocol_version: s.protocol_version.clone(),
    }
}

/// One drift, flat, for a timeline ("manifest events").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftEvent {
    /// RFC 3339 time of the check.
    pub ts: String,
    /// The server's name from the current manifest, else from the baseline; `null` when
    /// neither recorded one.
    pub server: Option<String>,
    /// The tool's key; `null` for a change of the server's instructions.
    pub tool: Option<String>,
    pub change: ChangeKind,
    pub fields: Vec<String>,
    pub sha256_old: Option<String>,
    pub sha256_new: Option<String>,
}

/// Finding counts of a poisoning scan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Poisoning {
    /// At least one finding at or above `medium`.
    pub poisoned: bool,
    pub max_severity: Option<Severity>,
    /// Findings at or above `medium`.
    pub flagged: usize,
    /// Every finding, weak ones included, sorted by tool and field.
    pub findings: Vec<PoisonFinding>,
}

impl Poisoning {
    pub fn of(findings: Vec<PoisonFinding>) -> Poisoning {
        Poisoning {
            poisoned: poison::is_poisoned(&findings),
            max_severity: findings.iter().map(|f| f.finding.severity).max(),
            flagged: findings
                .iter()
                .filter(|f| f.finding.severity >= POISON_THRESHOLD)
                .count(),
            findings,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Counts {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub unchanged: usize,
}

/// Everything `manifest check` found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckReport {
    /// Always [`CHECK_FORMAT`].
    pub format: String,
    /// RFC 3339 time of the check.
    pub ts: String,
    pub baseline: ManifestSummary,
    pub current: ManifestSummary,
    /// Tools added, removed or changed, or instructions changed.
    pub drift: bool,
    /// A poisoning finding at or above `medium` in the current manifest.
    pub poisoned: bool,
    /// The baseline's recorded hashes do not match its contents (edited after pinning).
    pub baseline_altered: bool,
    pub counts: Counts,
    pub changes: Vec<drift::ToolChange>,
    pub instructions: drift::InstructionsDrift,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_change: Option<drift::ServerChange>,
    pub events: Vec<DriftEvent>,
    pub poisoning: Poisoning,
    pub baseline_integrity: Vec<String>,
    pub warnings: Vec<String>,
}

impl CheckReport {
    /// Exit status: 1 on drift, poisoning or an altered baseline, else 0.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.drift || self.poisoned || self.baseline_altered)
    }
}

/// Compares `current` with `baseline` and scans `current` for poisoning.
pub fn check(
    detector: &Detector,
    baseline: &Manifest,
    current: &Manifest,
    ts: &str,
) -> CheckReport {
    let d: Drift = drift::compare(baseline, current);
    let poisoning = Poisoning::of(poison::scan(detector, current));
    let events = drift_events(&d, baseline, current, ts);
    let mut warnings: Vec<String> = baseline
        .warnings
        .iter()
        .map(|w| format!("baseline: {w}"))
        .collect();
    warnings.extend(current.warnings.iter().map(|w| format!("current: {w}")));
    if !d.instructions.compared {
        warnings.push(
            "server instructions not compared: only one side recorded the server's initialize answer (a tools-only file has none)".into(),
        );
    }
    CheckReport {
        format: CHECK_FORMAT.to_string(),
        ts: ts.to_string(),
        baseline: ManifestSummary::of(baseline),
        current: ManifestSummary::of(current),
        drift: d.has_drift(),
        poisoned: poisoning.poisoned,
        baseline_altered: !baseline.integrity_mismatches.is_empty(),
        counts: Counts {
            added: d.count(ChangeKind::Added),
            removed: d.count(ChangeKind::Removed),
            changed: d.count(ChangeKind::Changed),
            unchanged: d.unchanged,
        },
        changes: d.changes,
        instructions: d.instructions,
        server_change: d.server,
        events,
        poisoning,
        baseline_integrity: baseline.integrity_mismatches.clone(),
        warnings,
    }
}

/// The flat drift events of a comparison, one per tool change (and one for changed server
/// instructions), stamped `ts`: what `check` reports in `events` and `guard` logs.
pub fn drift_events(
    d: &Drift,
    baseline: &Manifest,
    current: &Manifest,
    ts: &str,
) -> Vec<DriftEvent> {
    let server = current
        .server_name()
        .or_else(|| baseline.server_name())
        .map(str::to_string);
    let mut events: Vec<DriftEvent> = d
        .changes
        .iter()
        .map(|c| DriftEvent {
            ts: ts.to_string(),
            server: server.clone(),
            tool: Some(c.tool.clone()),
            change: c.change,
            fields: c.fields.clone(),
            sha256_old: c.sha256_old.clone(),
            sha256_new: c.sha256_new.clone(),
        })
        .collect();
    if d.instructions.changed {
        events.push(DriftEvent {
            ts: ts.to_string(),
            server: server.clone(),
            tool: None,
            change: ChangeKind::Changed,
            fields: vec!["instructions".into()],
            sha256_old: baseline.instructions_sha256(),
            sha256_new: current.instructions_sha256(),
        });
    }
    events
}

/// What `manifest pin` did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PinReport {
    /// Always [`PIN_FORMAT`].
    pub format: String,
    pub ts: String,
    pub pinned: ManifestSummary,
    /// Where the baseline was written and the sha256 of its bytes (record it out of band:
    /// it is what proves the baseline was not edited later).
    pub baseline_path: String,
    pub baseline_sha256: String,
    pub poisoning: Poisoning,
    pub warnings: Vec<String>,
}

impl PinReport {
    /// Scans `manifest` and describes the baseline written from it (`baseline_bytes` at
    /// `baseline_path`).
    pub fn new(
        detector: &Detector,
        manifest: &Manifest,
        ts: &str,
        baseline_path: &str,
        baseline_bytes: &[u8],
    ) -> PinReport {
        use sha2::{Digest, Sha256};
        PinReport {
            format: PIN_FORMAT.to_string(),
            ts: ts.to_string(),
            pinned: ManifestSummary::of(manifest),
            baseline_path: baseline_path.to_string(),
            baseline_sha256: hex::encode(Sha256::digest(baseline_bytes)),
            poisoning: Poisoning::of(poison::scan(detector, manifest)),
            warnings: manifest.warnings.clone(),
        }
    }

    /// Exit status: 1 when the pinned manifest is poisoned (the baseline is still written:
    /// it is evidence of what the server served), else 0.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.poisoning.poisoned)
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(16)]
}

fn origin_line(o: &Origin) -> String {
    match o {
        Origin::File {
            path,
            raw_sha256,
            shape,
        } => {
            format!(
                "file {} ({}, file sha256 {})",
                printable(path),
                shape_name(*shape),
                short(raw_sha256)
            )
        }
        Origin::Server { command, pages } => format!(
            "server `{}` ({pages} tools/list page{})",
            printable(&command.join(" ")),
            if *pages == 1 { "" } else { "s" }
        ),
    }
}

fn shape_name(s: super::Shape) -> &'static str {
    match s {
        super::Shape::JsonRpcResponse => "JSON-RPC tools/list response",
        super::Shape::ToolsResult => "tools/list result",
        super::Shape::ToolsArray => "tools array",
        super::Shape::Baseline => "mcpsweep baseline",
    }
}

fn server_line(s: &Option<ServerSummary>) -> String {
    match s {
        Some(s) => format!(
            "{} {} (protocol {})",
            if s.name.is_empty() {
                "(unnamed server)".to_string()
            } else {
                printable(&s.name)
            },
            printable(&s.version),
            printable(&s.protocol_version)
        ),
        None => "server not recorded".to_string(),
    }
}

fn value_text(v: &Option<serde_json::Value>) -> String {
    let s = printable(&v.as_ref().map(|v| v.to_string()).unwrap_or_default());
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}

fn write_pointer_diff(w: &mut dyn Write, d: &PointerDiff) -> io::Result<()> {
    match d.op {
        ChangeKind::Added => writeln!(
            w,
            "      + {}  {}",
            printable(&d.pointer),
            value_text(&d.new)
        ),
        ChangeKind::Removed => writeln!(
            w,
            "      - {}  {}",
            printable(&d.pointer),
            value_text(&d.old)
        ),
        ChangeKind::Changed => writeln!(
            w,
            "      ~ {}  {} → {}",
            printable(&d.pointer),
            value_text(&d.old),
            value_text(&d.new)
        ),
    }
}

fn write_findings(w: &mut dyn Write, p: &Poisoning) -> io::Result<()> {
    let weak = p.findings.len() - p.flagged;
    if p.flagged == 0 {
        write!(w, "Poisoning: none at or above medium")?;
    } else {
        write!(
            w,
            "POISONING: {} finding{} at or above medium (highest {})",
            p.flagged,
            if p.flagged == 1 { "" } else { "s" },
            p.max_severity.map(|s| s.as_str()).unwrap_or("")
        )?;
    }
    if weak > 0 {
        write!(
            w,
            "; {weak} weak signal{} below medium (listed in --format json)",
            if weak == 1 { "" } else { "s" }
        )?;
    }
    writeln!(w)?;
    for f in p
        .findings
        .iter()
        .filter(|f| f.finding.severity >= POISON_THRESHOLD)
    {
        let where_ = match &f.tool {
            Some(t) => format!("tool {}  {}", printable(t), printable(&f.field)),
            None => "server instructions".to_string(),
        };
        let part = match f.finding.location.part.as_deref() {
            Some(p) if p != "instructions" => format!(" ({p})"),
            _ => String::new(),
        };
        writeln!(
            w,
            "  {:<8} {}  {}{part}  {}",
            f.finding.severity.as_str(),
            f.finding.rule_id,
            where_,
            f.finding.rule_title
        )?;
        writeln!(w, "           {}", f.finding.excerpt)?;
    }
    Ok(())
}

/// The check as text for a responder.
pub fn write_check_human(w: &mut dyn Write, r: &CheckReport) -> io::Result<()> {
    writeln!(w, "Manifest check at {}", r.ts)?;
    writeln!(w, "  baseline: {}", origin_line(&r.baseline.origin))?;
    if let Some(p) = &r.baseline.pinned {
        writeln!(
            w,
            "            pinned {} from {}",
            p.created,
            origin_line(&p.source)
        )?;
    }
    writeln!(
        w,
        "            {}, {} tools, manifest sha256 {}",
        server_line(&r.baseline.server),
        r.baseline.tools,
        short(&r.baseline.manifest_sha256)
    )?;
    writeln!(w, "  current:  {}", origin_line(&r.current.origin))?;
    writeln!(
        w,
        "            {}, {} tools, manifest sha256 {}",
        server_line(&r.current.server),
        r.current.tools,
        short(&r.current.manifest_sha256)
    )?;
    writeln!(w)?;
    if !r.baseline_integrity.is_empty() {
        writeln!(
            w,
            "BASELINE ALTERED: its recorded hashes do not match its contents"
        )?;
        for m in &r.baseline_integrity {
            writeln!(w, "  {}", printable(m))?;
        }
        writeln!(w)?;
    }
    let c = &r.counts;
    if r.drift {
        writeln!(
            w,
            "DRIFT: {} changed, {} added, {} removed, {} unchanged{}",
            c.changed,
            c.added,
            c.removed,
            c.unchanged,
            if r.instructions.changed {
                "; server instructions changed"
            } else {
                ""
            }
        )?;
    } else {
        writeln!(w, "No drift: {} tools unchanged", c.unchanged)?;
    }
    for ch in &r.changes {
        let sign = match ch.change {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Changed => '~',
        };
        let shas = match (&ch.sha256_old, &ch.sha256_new) {
            (Some(o), Some(n)) => format!("sha256 {} → {}", short(o), short(n)),
            (Some(o), None) => format!("sha256 {}", short(o)),
            (None, Some(n)) => format!("sha256 {}", short(n)),
            (None, None) => String::new(),
        };
        writeln!(
            w,
            "{sign} {:<8} {}  [{}]  {shas}",
            ch.change.as_str(),
            printable(&ch.tool),
            ch.fields.join(", ")
        )?;
        for (field, lines) in &ch.text_diff {
            writeln!(w, "    {field}:")?;
            for l in lines {
                writeln!(w, "      {}", printable(l))?;
            }
        }
        if !ch.schema_diff.is_empty() {
            writeln!(w, "    values by JSON pointer:")?;
            for d in &ch.schema_diff {
                write_pointer_diff(w, d)?;
            }
        }
    }
    if r.instructions.changed {
        writeln!(w, "~ server instructions:")?;
        for l in &r.instructions.diff {
            writeln!(w, "      {}", printable(l))?;
        }
    }
    if let Some(s) = &r.server_change {
        writeln!(
            w,
            "  server changed: {} → {} (not drift by itself)",
            printable(&s.old),
            printable(&s.new)
        )?;
    }
    writeln!(w)?;
    write_findings(w, &r.poisoning)?;
    for warning in &r.warnings {
        writeln!(w, "warning: {}", printable(warning))?;
    }
    writeln!(w)?;
    let verdict = match (r.drift, r.poisoned, r.baseline_altered) {
        (false, false, false) => "clean".to_string(),
        _ => {
            let mut parts = Vec::new();
            if r.drift {
                parts.push("drift");
            }
            if r.poisoned {
                parts.push("poisoning");
            }
            if r.baseline_altered {
                parts.push("altered baseline");
            }
            parts.join(" + ")
        }
    };
    writeln!(w, "Result: {verdict} (exit {})", r.exit_code())
}

/// The pin as text.
pub fn write_pin_human(w: &mut dyn Write, r: &PinReport) -> io::Result<()> {
    writeln!(
        w,
        "Pinned {} tools from {}",
        r.pinned.tools,
        origin_line(&r.pinned.origin)
    )?;
    writeln!(w, "  {}", server_line(&r.pinned.server))?;
    writeln!(w, "  manifest sha256 {}", r.pinned.manifest_sha256)?;
    writeln!(
        w,
        "  baseline {} (file sha256 {})",
        printable(&r.baseline_path),
        r.baseline_sha256
    )?;
    writeln!(w)?;
    write_findings(w, &r.poisoning)?;
    if r.poisoning.poisoned {
        writeln!(
            w,
            "The baseline was written as evidence of what was served; do not use it as a known-good baseline."
        )?;
    }
    for warning in &r.warnings {
        writeln!(w, "warning: {}", printable(warning))?;
    }
    Ok(())
}
