//! Command-line interface: clap and indicatif live here only.

mod check;
mod checklist;
mod credentials;
mod evidence;
mod guard;
mod index;
mod manifest;
mod purge;
mod rules;
mod scan;
mod triage;
mod vault;

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
    /// Move files into the evidence vault: record, copy, verify, then remove the original.
    Quarantine(vault::QuarantineArgs),
    /// Put quarantined files back, hash verified, never outside their root.
    Restore(vault::RestoreArgs),
    /// Remove poisoned entries from a memory store, each written to the vault first.
    Purge(purge::PurgeArgs),
    /// Prove a purge: re-scan the store and its raw bytes; exit 1 on residue.
    Verify(purge::VerifyArgs),
    /// Inspect the evidence vault.
    #[command(subcommand)]
    Vault(vault::VaultCommand),
    /// Chain of custody: sha256 of every evidence file, compatible with `sha256sum -c`.
    #[command(subcommand)]
    Evidence(evidence::EvidenceCommand),
    /// Pin an MCP tool manifest as a baseline, or check one against a baseline (drift and
    /// tool poisoning).
    #[command(subcommand)]
    Manifest(manifest::ManifestCommand),
    /// List every credential in MCP client configs, .env files, session logs and documents,
    /// with where it was found and how to rotate it.
    Credentials(credentials::CredentialsArgs),
    /// Triage a session log: the five signals, the decision tree, the injection source, the
    /// timeline.
    Triage(triage::TriageArgs),
    /// Build the baseline triage needs from known-good sessions.
    #[command(subcommand)]
    Baseline(triage::BaselineCommand),
    /// Screen one piece of content (text, a file, or a JSON-RPC tool result) before it reaches
    /// a model: verdict JSON on stdout, exit 0 allow, 1 block, 2 error.
    Check(check::CheckArgs),
    /// Run an MCP server (stdio) behind a proxy that screens its responses, enforces a tool
    /// allowlist, watches its tool manifest and writes the session log.
    Guard(guard::GuardArgs),
    /// Index files and folders (text, findings, endpoints) for `search`, `sweep` and
    /// `similar`; re-runs read only new and changed files.
    Index(index::IndexArgs),
    /// Search the index (tantivy query syntax; domain:, email:, rule:, severity:, channel:...).
    Search(index::SearchArgs),
    /// Look a list of indicators up in the index; exit 1 on any hit.
    Sweep(index::SweepArgs),
    /// Find documents carrying a payload reworded, translated in part or cut up.
    Similar(index::SimilarArgs),
    /// Fill the guide's eradication checklist from real checks, with deadlines from
    /// containment and the post-incident review skeleton.
    Checklist(checklist::ChecklistArgs),
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
        Command::Quarantine(args) => vault::run_quarantine(args),
        Command::Restore(args) => vault::run_restore(args),
        Command::Vault(cmd) => vault::run_vault(cmd),
        Command::Purge(args) => purge::run_purge(args),
        Command::Verify(args) => purge::run_verify(args),
        Command::Evidence(cmd) => evidence::run(cmd),
        Command::Manifest(cmd) => manifest::run(cmd),
        Command::Credentials(args) => credentials::run(args),
        Command::Triage(args) => triage::run(args),
        Command::Baseline(cmd) => triage::run_baseline(cmd),
        Command::Check(args) => check::run(args),
        Command::Guard(args) => guard::run(args),
        Command::Index(args) => index::run_index(args),
        Command::Search(args) => index::run_search(args),
        Command::Sweep(args) => index::run_sweep(args),
        Command::Similar(args) => index::run_similar(args),
        Command::Checklist(args) => checklist::run(args),
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
    mcpsweep::atomic::write_file(path, bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
