//! Command-line interface: clap and indicatif live here only.

mod rules;
mod scan;
mod triage;

use clap::{Parser, Subcommand};

/// Exit codes shared by every command.
pub const EXIT_CLEAN: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

#[derive(Parser)]
#[command(name = "mcpsweep", version, about = "Find instructions injected into what AI agents read, and the endpoints they exfiltrate to.", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sweep files, folders (recursively) or standard input (`-`) for injected instructions.
    Scan(scan::ScanArgs),
    /// List rules or run their examples.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Triage a session log: the five signals, the decision tree, the injection source, the
    /// timeline.
    Triage(triage::TriageArgs),
    /// Build the baseline triage needs from known-good sessions.
    #[command(subcommand)]
    Baseline(triage::BaselineCommand),
}

pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_CLEAN
            };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Rules(cmd) => rules::run(cmd),
        Command::Triage(args) => triage::run(args),
        Command::Baseline(cmd) => triage::run_baseline(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mcpsweep: {e:#}");
            EXIT_ERROR
        }
    }
}

/// Loads the rule set the flags ask for: embedded, embedded plus a directory, or only a
/// directory.
pub fn load_rules(
    dir: Option<&std::path::Path>,
    only_dir: bool,
) -> anyhow::Result<mcpsweep::RuleSet> {
    Ok(match (dir, only_dir) {
        (Some(d), true) => mcpsweep::RuleSet::from_dir(d)?,
        (Some(d), false) => mcpsweep::RuleSet::embedded_with_dir(d)?,
        (None, true) => anyhow::bail!("--rules-only needs --rules DIR"),
        (None, false) => mcpsweep::RuleSet::embedded()?,
    })
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot create a temporary file: {e}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.error))?;
    Ok(())
}
