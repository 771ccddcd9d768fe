//! `mcpsweep check`: screen one piece of content before it reaches a model; verdict JSON on
//! stdout, exit 0 allow, 1 block, 2 error.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use mcpsweep::finding::Severity;
use mcpsweep::screen::{Scanner, ScannerConfig, ScreenVerdict};
use serde::Serialize;

use super::{EXIT_CLEAN, EXIT_FINDINGS};

/// Largest input read.
const MAX_INPUT: u64 = 256 << 20;

#[derive(Args)]
pub struct CheckArgs {
    /// The file to screen; `-` (the default) reads standard input. Its format (HTML,
    /// Markdown, PDF, DOCX, e-mail, JSON, text) is recognised as `scan` does.
    #[arg(value_name = "FILE", conflicts_with = "text")]
    file: Option<PathBuf>,
    /// Screen this text instead of a file.
    #[arg(long, value_name = "TEXT")]
    text: Option<String>,
    /// The input is a JSON-RPC response to `tools/call` (or `resources/read`, `prompts/get`),
    /// or its bare `result` object: every text content item, embedded resource (text, and
    /// blobs that decode to text) and `structuredContent` string is screened, and findings
    /// carry the item's JSON pointer.
    #[arg(long)]
    json_rpc: bool,
    /// Block (exit 1) when a finding is at or above this severity.
    #[arg(long, default_value = "medium", value_name = "SEVERITY")]
    block_at: Severity,
    /// The organisation's own domain (and its subdomains); repeatable.
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    allow_domains: Vec<String>,
    /// Add rules from this directory (a rule with an embedded rule's id replaces it).
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Use only the rules in --rules DIR, not the embedded ones.
    #[arg(long)]
    rules_only: bool,
    /// Indent the JSON.
    #[arg(long)]
    pretty: bool,
}

/// What is printed: the verdict with the name of what was screened.
#[derive(Serialize)]
struct Output<'a> {
    input: &'a str,
    #[serde(flatten)]
    verdict: &'a ScreenVerdict,
}

pub fn run(args: CheckArgs) -> anyhow::Result<i32> {
    let scanner = Scanner::new(
        super::load_rules(args.rules.as_deref(), args.rules_only)?,
        ScannerConfig {
            block_at: args.block_at,
            allow_domains: args.allow_domains.clone(),
            ..ScannerConfig::default()
        },
    )?;
    let (name, verdict) = match (&args.text, &args.file) {
        (Some(text), _) if args.json_rpc => (
            "--text".to_string(),
            json_rpc(&scanner, "--text", text.as_bytes())?,
        ),
        (Some(text), _) => ("--text".to_string(), scanner.scan_text(text)),
        (None, file) => {
            let path = file.clone().unwrap_or_else(|| PathBuf::from("-"));
            let name = path.display().to_string();
            let bytes = read_input(&path)?;
            let v = if args.json_rpc {
                json_rpc(&scanner, &name, &bytes)?
            } else {
                scanner.scan_bytes(&name, &bytes)?
            };
            (name, v)
        }
    };
    let out = Output {
        input: &name,
        verdict: &verdict,
    };
    let mut bytes = if args.pretty {
        serde_json::to_vec_pretty(&out)?
    } else {
        serde_json::to_vec(&out)?
    };
    bytes.push(b'\n');
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&bytes).and_then(|_| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(if verdict.is_blocked() {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

fn json_rpc(scanner: &Scanner, name: &str, bytes: &[u8]) -> anyhow::Result<ScreenVerdict> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).with_context(|| format!("{name}: not valid JSON"))?;
    scanner
        .scan_json_rpc(&value)
        .with_context(|| format!("{name}: not a JSON-RPC result"))
}

fn read_input(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let name = path.display();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_INPUT + 1)
            .read_to_end(&mut bytes)
            .context("standard input")?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_INPUT + 1).read_to_end(&mut bytes))
            .with_context(|| format!("{name}"))?;
    }
    if bytes.len() as u64 > MAX_INPUT {
        anyhow::bail!("{name}: larger than {MAX_INPUT} bytes");
    }
    Ok(bytes)
}
