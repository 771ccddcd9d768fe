//! `mcpsweep manifest pin|check`: MCP tool manifest baselines, drift and poisoning.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use mcpsweep::detect::{DetectConfig, Detector};
use mcpsweep::manifest::report::{self, CheckReport, PinReport};
use mcpsweep::manifest::{self, Baseline, Source};
use mcpsweep::mcp::{ClientOptions, ServerCommand};

#[derive(Subcommand)]
pub enum ManifestCommand {
    /// Record a baseline of a tool manifest (canonical hashes and every tool definition) and
    /// scan it for tool poisoning. Exit 1 if it is poisoned (the baseline is still written).
    Pin(PinArgs),
    /// Compare a tool manifest with a baseline and scan it for tool poisoning. Exit 0 clean,
    /// 1 drift or poisoning, 2 error.
    Check(CheckArgs),
}

#[derive(Args)]
pub struct SourceArgs {
    /// Manifest file: a JSON-RPC tools/list response, a {"tools": [...]} result, a tools
    /// array, or a baseline.
    #[arg(
        value_name = "SOURCE",
        required_unless_present = "server",
        conflicts_with = "server"
    )]
    source: Option<PathBuf>,
    /// Start the MCP server given after `--` (`--server -- CMD ARGS...`) over stdio instead.
    #[arg(long, requires = "command")]
    server: bool,
    #[arg(last = true, value_name = "CMD", requires = "server")]
    command: Vec<OsString>,
    /// Seconds to wait for each answer from the server.
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    timeout: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Args)]
pub struct PinArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Where to write the baseline (atomically).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: PathBuf,
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    format: Format,
}

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// The baseline written by `manifest pin` (any manifest file is accepted).
    #[arg(long, value_name = "FILE")]
    baseline: PathBuf,
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    format: Format,
}

pub fn run(cmd: ManifestCommand) -> anyhow::Result<i32> {
    match cmd {
        ManifestCommand::Pin(args) => pin(args),
        ManifestCommand::Check(args) => check(args),
    }
}

fn load(args: &SourceArgs) -> anyhow::Result<manifest::Manifest> {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        anyhow::bail!("--timeout must be a positive number of seconds");
    }
    let source = match (&args.source, args.server) {
        (Some(path), false) => Source::File(path.clone()),
        (None, true) => Source::Server(
            ServerCommand::from_argv(&args.command)
                .context("--server needs a command after `--`")?,
        ),
        _ => anyhow::bail!("give either SOURCE or --server -- CMD ARGS..."),
    };
    let options = ClientOptions {
        timeout: Duration::from_secs_f64(args.timeout),
        ..ClientOptions::default()
    };
    Ok(manifest::load(&source, &options)?)
}

fn detector() -> anyhow::Result<Detector> {
    Ok(manifest::poison::manifest_detector(DetectConfig::default())?)
}

fn print(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn pin(args: PinArgs) -> anyhow::Result<i32> {
    let manifest = load(&args.source)?;
    let ts = mcpsweep::timefmt::now_rfc3339();
    let bytes = Baseline::from_manifest(&manifest, ts.clone()).to_json();
    super::write_atomic(&args.output, &bytes)?;
    let report = PinReport::new(
        &detector()?,
        &manifest,
        &ts,
        &args.output.display().to_string(),
        &bytes,
    );
    let mut out = Vec::new();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            out.push(b'\n');
        }
        Format::Human => report::write_pin_human(&mut out, &report)?,
    }
    print(&out)?;
    Ok(report.exit_code())
}

fn check(args: CheckArgs) -> anyhow::Result<i32> {
    let baseline = manifest::from_file(&args.baseline)?;
    let current = load(&args.source)?;
    let ts = mcpsweep::timefmt::now_rfc3339();
    let report: CheckReport = report::check(&detector()?, &baseline, &current, &ts);
    let mut out = Vec::new();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            out.push(b'\n');
        }
        Format::Human => report::write_check_human(&mut out, &report)?,
    }
    print(&out)?;
    Ok(report.exit_code())
}
