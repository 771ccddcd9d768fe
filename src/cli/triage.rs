//! `mcpsweep triage LOG` and `mcpsweep baseline learn LOG...`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use mcpsweep::detect::{Allowlist, DetectConfig, Detector};
use mcpsweep::finding::Severity;
use mcpsweep::triage::{
    self, Baseline, Learner, ManifestEvents, ReportFormat, RunInfo, RunSummary, Triage,
    TriageConfig,
};

use super::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};

#[derive(Args)]
pub struct TriageArgs {
    /// Session log, JSON Lines (`-` reads standard input).
    #[arg(value_name = "LOG")]
    log: PathBuf,
    /// Baseline learned from known-good sessions (`mcpsweep baseline learn`). Without it,
    /// burst, sequence, duration and agent identity cannot be evaluated.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Tool-manifest change events, JSON Lines (see docs). Without it, manifest drift and
    /// updates are not checked; an empty file says "no changes".
    #[arg(long, value_name = "FILE")]
    manifest_events: Option<PathBuf>,
    /// Output format: json or markdown.
    #[arg(long, short = 'f', default_value = "json")]
    format: ReportFormat,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// How long before a session a manifest change still concerns it (e.g. 24h, 90m, 3600s).
    #[arg(long, default_value = "24h", value_name = "DURATION", value_parser = parse_duration_ms)]
    manifest_window: i64,
    /// An agent first seen fewer days than this before the session counts as recently created.
    #[arg(long, default_value_t = 7.0, value_name = "DAYS")]
    new_agent_days: f64,
    /// Response findings at or above this severity count as injected instructions.
    #[arg(long, default_value = "medium", value_name = "SEVERITY")]
    min_severity: Severity,
    /// The organisation's own domain (and its subdomains); repeatable.
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    allow_domains: Vec<String>,
    /// Add rules from this directory (a rule with an embedded rule's id replaces it).
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Worker threads scanning responses (default: one per core).
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
}

#[derive(Subcommand)]
pub enum BaselineCommand {
    /// Learn role rates, task workflows and durations, and agent identities from logs of
    /// known-good sessions.
    Learn(LearnArgs),
}

#[derive(Args)]
pub struct LearnArgs {
    /// Session logs of known-good sessions (JSON Lines).
    #[arg(required = true, value_name = "LOG")]
    logs: Vec<PathBuf>,
    /// Write the baseline to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

/// `24h`, `90m`, `3600s`, `2d`, or plain seconds.
fn parse_duration_ms(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (e.g. 24h, 90m, 3600s)"))?;
    let mult = match unit {
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return Err(format!("unknown unit '{unit}' in '{s}' (ms, s, m, h, d)")),
    };
    Ok((n * mult).round() as i64)
}

pub fn run(args: TriageArgs) -> anyhow::Result<i32> {
    let baseline = args
        .baseline
        .as_deref()
        .map(Baseline::from_path)
        .transpose()?;
    let events = args
        .manifest_events
        .as_deref()
        .map(ManifestEvents::from_path)
        .transpose()?;
    let rules = super::load_rules(args.rules.as_deref(), false)?;
    let detector = Detector::new(
        rules,
        DetectConfig {
            allowlist: Allowlist::new(&args.allow_domains),
            ..DetectConfig::default()
        },
    )?;
    let config = TriageConfig {
        manifest_window_ms: args.manifest_window,
        new_agent_days: args.new_agent_days,
        injection_severity: args.min_severity,
        threads: args.threads,
        ..TriageConfig::default()
    };
    let mut triage = Triage::new(&detector, config);
    if let Some(b) = &baseline {
        triage = triage.with_baseline(b);
    }
    if let Some(e) = &events {
        triage = triage.with_manifest_events(e);
    }
    let info = RunInfo {
        log: args.log.display().to_string(),
        baseline: args.baseline.as_ref().map(|p| p.display().to_string()),
        manifest_events: args
            .manifest_events
            .as_ref()
            .map(|p| p.display().to_string()),
    };

    let summary = match &args.output {
        Some(path) => write_atomic_with(path, |w| report(&triage, &args, &info, w))?,
        None => {
            let stdout = std::io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            match report(&triage, &args, &info, &mut w) {
                Err(e) if is_broken_pipe(&e) => return Ok(EXIT_ERROR),
                r => r?,
            }
        }
    };

    for m in &summary.malformed_lines {
        eprintln!("mcpsweep: {}:{}: skipped: {}", info.log, m.line, m.reason);
    }
    if summary.malformed > summary.malformed_lines.len() as u64 {
        eprintln!(
            "mcpsweep: {} more malformed lines skipped",
            summary.malformed - summary.malformed_lines.len() as u64
        );
    }
    let counts: Vec<String> = summary
        .by_classification
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(c, n)| format!("{n} {c}"))
        .collect();
    eprintln!(
        "mcpsweep: {} sessions triaged{}{}",
        summary.sessions,
        if counts.is_empty() { "" } else { ": " },
        counts.join(", ")
    );
    if summary.sessions == 0 && summary.malformed > 0 {
        eprintln!("mcpsweep: nothing triaged: no line of the log is a valid event");
        return Ok(EXIT_ERROR);
    }
    Ok(if summary.has_alert() {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<triage::Error>(),
        Some(triage::Error::Output(io)) if io.kind() == std::io::ErrorKind::BrokenPipe
    )
}

fn report(
    triage: &Triage,
    args: &TriageArgs,
    info: &RunInfo,
    w: &mut dyn Write,
) -> anyhow::Result<RunSummary> {
    let mut out = triage::report::writer(args.format, w);
    out.begin(info).map_err(triage::Error::Output)?;
    let mut on_session = |r: triage::SessionReport| out.session(&r);
    let summary = if args.log.as_os_str() == "-" {
        triage.run("-", std::io::stdin().lock(), &mut on_session)?
    } else {
        triage.run_path(&args.log, &mut on_session)?
    };
    out.finish(&summary).map_err(triage::Error::Output)?;
    Ok(summary)
}

/// Streams output into a temporary file beside `path`, then fsync and rename: a failed or
/// interrupted run leaves any earlier file untouched.
fn write_atomic_with<T>(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("{}: cannot create a temporary file", dir.display()))?;
    let value = {
        let mut w = BufWriter::new(tmp.as_file());
        let v = f(&mut w)?;
        w.flush().with_context(|| format!("{}", path.display()))?;
        v
    };
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("{}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.error))?;
    Ok(value)
}

pub fn run_baseline(cmd: BaselineCommand) -> anyhow::Result<i32> {
    let BaselineCommand::Learn(args) = cmd;
    let mut learner = Learner::new();
    for log in &args.logs {
        learner.add_path(log)?;
    }
    let learned = learner.finish();
    for w in &learned.warnings {
        eprintln!("mcpsweep: {w}");
    }
    if learned.more_warnings > 0 {
        eprintln!("mcpsweep: {} more warnings", learned.more_warnings);
    }
    let b = &learned.baseline;
    if b.learned_from.sessions == 0 {
        eprintln!("mcpsweep: no known-good session to learn from");
        return Ok(EXIT_ERROR);
    }
    let json = b.to_json();
    match &args.output {
        Some(path) => super::write_atomic(path, json.as_bytes())?,
        None => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(json.as_bytes()).and_then(|_| out.flush()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e.into());
                }
            }
        }
    }
    eprintln!(
        "mcpsweep: learned from {} sessions ({} excluded): {} roles, {} tasks, {} agents",
        b.learned_from.sessions,
        b.learned_from.excluded_sessions,
        b.roles.len(),
        b.tasks.len(),
        b.agents.len()
    );
    Ok(EXIT_CLEAN)
}
