//! `mcpsweep checklist --incident ID ...`

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use mcpsweep::checklist::{self, report, Inputs};
use mcpsweep::credentials::parse_time;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Markdown,
    Json,
}

#[derive(Args)]
pub struct ChecklistArgs {
    /// Incident id (used in the report and in the commands it suggests).
    #[arg(long, value_name = "ID")]
    incident: String,
    /// Session log of the compromised agent: injection source, downstream access, review.
    #[arg(long, value_name = "LOG")]
    session: Option<PathBuf>,
    /// Triage baseline (`mcpsweep baseline learn`).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Document corpus the agent reads from (repeatable).
    #[arg(long, value_name = "DIR")]
    corpus: Vec<PathBuf>,
    /// Memory store of the agent (repeatable).
    #[arg(long, value_name = "STORE")]
    memory: Vec<PathBuf>,
    /// Pinned tool manifest baseline.
    #[arg(long, value_name = "FILE", requires = "manifest")]
    manifest_baseline: Option<PathBuf>,
    /// The tool manifest served now (a tools/list answer saved to a file).
    #[arg(long, value_name = "SOURCE", requires = "manifest_baseline")]
    manifest: Option<PathBuf>,
    /// MCP client config, .env or folder holding the agent's credentials (repeatable).
    #[arg(long, value_name = "PATH")]
    agent_config: Vec<PathBuf>,
    /// Fingerprints confirmed rotated, one per line (`FINGERPRINT` or `FINGERPRINT new`).
    #[arg(long, value_name = "FILE")]
    rotated: Option<PathBuf>,
    /// Evidence vault.
    #[arg(long, value_name = "DIR")]
    vault: Option<PathBuf>,
    /// Corpus index (`mcpsweep index`) for `similar` and the endpoint sweep.
    #[arg(long, value_name = "DIR")]
    index: Option<PathBuf>,
    /// Containment time, RFC 3339 (default: the end of the triaged session).
    #[arg(long, value_name = "TIME")]
    contained_at: Option<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "markdown")]
    format: Format,
    /// Write the checklist to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// The time deadlines are judged against (for reproducible reports).
    #[arg(long, value_name = "TIME", hide = true)]
    now: Option<String>,
}

pub fn run(args: ChecklistArgs) -> anyhow::Result<i32> {
    let mut inputs = Inputs::new(&args.incident);
    inputs.session = args.session;
    inputs.baseline = args.baseline;
    inputs.corpus = args.corpus;
    inputs.memory = args.memory;
    inputs.manifest_baseline = args.manifest_baseline;
    inputs.manifest = args.manifest;
    inputs.agent_config = args.agent_config;
    inputs.rotated = args.rotated;
    inputs.vault = args.vault;
    inputs.index = args.index;
    if let Some(t) = &args.contained_at {
        inputs.contained_at = Some(parse_time(t)?);
    }
    if let Some(t) = &args.now {
        inputs.now = parse_time(t)?;
    }
    let list = checklist::run(&inputs)?;
    let out = match args.format {
        Format::Markdown => report::to_markdown(&list),
        Format::Json => report::to_json(&list),
    };
    match &args.output {
        Some(path) => super::write_atomic(path, out.as_bytes())?,
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            if let Err(e) = stdout
                .write_all(out.as_bytes())
                .and_then(|_| stdout.flush())
            {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e.into());
                }
            }
        }
    }
    Ok(list.exit_code())
}
