//! `mcpsweep scan PATH...`

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mcpsweep::detect::{Allowlist, DetectConfig, Detector};
use mcpsweep::finding::Severity;
use mcpsweep::scan::{scan_paths, ScanOptions};
use mcpsweep::sink::{write_report, OutputFormat};
use mcpsweep::source::WalkOptions;
use serde::Deserialize;

use super::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};

#[derive(Args)]
pub struct ScanArgs {
    /// Files or folders to sweep; `-` reads standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output format: human, json, jsonl or sarif.
    #[arg(long, short = 'f', default_value = "human")]
    format: OutputFormat,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Report findings at or above this severity.
    #[arg(long, default_value = "low", value_name = "SEVERITY")]
    min_severity: Severity,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, default_value = "medium", value_name = "SEVERITY")]
    fail_on: Severity,
    /// The organisation's own domain (and its subdomains); repeatable.
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    allow_domains: Vec<String>,
    /// TOML config file (`allow_domains = [...]`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Add rules from this directory (a rule with an embedded rule's id replaces it).
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Use only the rules in --rules DIR, not the embedded ones.
    #[arg(long)]
    rules_only: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
    /// Exit 2 if any file could not be read.
    #[arg(long)]
    strict: bool,
    /// Honour .gitignore and .ignore files (by default every file is swept).
    #[arg(long)]
    gitignore: bool,
    /// Follow symbolic links (loops are detected and reported).
    #[arg(long = "follow")]
    follow_links: bool,
    /// Largest file read whole, in bytes (larger plain text is read in chunks).
    #[arg(long, default_value_t = 256 << 20, value_name = "BYTES")]
    max_file_size: u64,
    /// Never show the progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Scan memory stores as plain files (no entry ids).
    #[arg(long)]
    no_stores: bool,
    #[command(flatten)]
    store_args: super::purge::StoreArgs,
}

/// `--config` file contents.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    allow_domains: Vec<String>,
}

pub fn run(args: ScanArgs) -> anyhow::Result<i32> {
    let mut domains = args.allow_domains.clone();
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
        let cfg: ConfigFile =
            toml::from_str(&text).with_context(|| format!("{}: invalid config", path.display()))?;
        domains.extend(cfg.allow_domains);
    }
    let rules = super::load_rules(args.rules.as_deref(), args.rules_only)?;
    let config = DetectConfig {
        allowlist: Allowlist::new(&domains),
        ..DetectConfig::default()
    };
    let detector = Detector::new(rules, config)?;
    let opts = ScanOptions {
        threads: args.threads,
        max_file_size: args.max_file_size,
        walk: WalkOptions {
            gitignore: args.gitignore,
            follow_links: args.follow_links,
        },
        store_type: args.store_args.store_type,
        detect_stores: !args.no_stores,
        store_options: args.store_args.options(),
        ..ScanOptions::default()
    };

    let progress = (!args.no_progress && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} files, {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let bytes = std::sync::atomic::AtomicU64::new(0);
    let on_file = |n: u64| {
        if let Some(bar) = &progress {
            let total = bytes.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
            bar.inc(1);
            bar.set_message(format!("{:.1} MB", total as f64 / 1e6));
        }
    };
    let report = scan_paths(&detector, &args.paths, &opts, &on_file)?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }

    let mut out = Vec::new();
    write_report(
        &mut out,
        &report,
        args.format,
        args.min_severity,
        detector.rules(),
    )?;
    match &args.output {
        Some(path) => super::write_atomic(path, &out)?,
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            if let Err(e) = stdout.write_all(&out).and_then(|_| stdout.flush()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e.into());
                }
            }
        }
    }
    if args.format != OutputFormat::Human
        && (report.summary.unreadable > 0 || args.output.is_some())
    {
        // Machine formats keep stdout clean; still tell the person at the terminal.
        eprintln!(
            "mcpsweep: {} documents scanned, {} findings, {} unreadable",
            report.summary.documents,
            report.findings.len(),
            report.summary.unreadable
        );
    }

    let s = &report.summary;
    if s.documents == 0 && s.unreadable > 0 {
        eprintln!("mcpsweep: nothing readable among the given paths");
        return Ok(EXIT_ERROR);
    }
    if args.strict && s.unreadable > 0 {
        eprintln!(
            "mcpsweep: {} files could not be read (--strict)",
            s.unreadable
        );
        return Ok(EXIT_ERROR);
    }
    Ok(
        if report.findings.iter().any(|f| f.severity >= args.fail_on) {
            EXIT_FINDINGS
        } else {
            EXIT_CLEAN
        },
    )
}
