//! `mcpsweep credentials PATH...`

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use mcpsweep::credentials::{self, Options};
use mcpsweep::source::WalkOptions;

use super::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Json,
    Markdown,
}

#[derive(Args)]
pub struct CredentialsArgs {
    /// Files or folders to sweep (hidden files and dot-folders included); `-` reads standard
    /// input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output format: a Markdown rotation checklist, or JSON.
    #[arg(long, short = 'f', value_enum, default_value = "markdown")]
    format: Format,
    /// Write the list to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// When the incident was contained (RFC 3339); deadlines are one hour later.
    #[arg(long, value_name = "TIME", default_value = "now")]
    contained_at: String,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
    /// Exit 2 if any file could not be read.
    #[arg(long)]
    strict: bool,
    /// Honour .gitignore and .ignore files (by default every file is read).
    #[arg(long)]
    gitignore: bool,
    /// Follow symbolic links (loops are detected and reported).
    #[arg(long = "follow")]
    follow_links: bool,
    /// Largest file read whole, in bytes (larger text and JSON Lines are read in pieces).
    #[arg(long, default_value_t = 256 << 20, value_name = "BYTES")]
    max_file_size: u64,
}

pub fn run(args: CredentialsArgs) -> anyhow::Result<i32> {
    let contained_at = if args.contained_at == "now" {
        credentials::now()
    } else {
        credentials::parse_time(&args.contained_at)?
    };
    let opts = Options {
        threads: args.threads,
        walk: WalkOptions {
            gitignore: args.gitignore,
            follow_links: args.follow_links,
        },
        max_file_size: args.max_file_size,
        contained_at,
        ..Options::default()
    };
    let report = credentials::collect(&args.paths, &opts)?;
    let mut out = match args.format {
        Format::Json => serde_json::to_vec_pretty(&report)?,
        Format::Markdown => credentials::to_markdown(&report).into_bytes(),
    };
    if args.format == Format::Json {
        out.push(b'\n');
    }
    match &args.output {
        Some(path) => super::write_atomic(path, &out)?,
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            if let Err(e) = stdout.write_all(&out).and_then(|_| stdout.flush()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e.into());
                }
            }
        }
    }
    let s = &report.summary;
    if args.output.is_some() || s.unreadable > 0 {
        eprintln!(
            "mcpsweep: {} credentials to rotate by {}, {} files read, {} unreadable",
            s.credentials, s.deadline, s.files_scanned, s.unreadable
        );
    }
    if s.files_scanned == 0 && s.unreadable > 0 {
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
    Ok(if report.credentials.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}
