//! `mcpsweep purge STORE` and `mcpsweep verify STORE`.

use std::path::PathBuf;

use clap::Args;
use mcpsweep::detect::{DetectConfig, Detector};
use mcpsweep::finding::Severity;
use mcpsweep::purge::{self, Selector};
use mcpsweep::store::{StoreKind, StoreOptions};
use mcpsweep::vault::files::WriteOptions;
use mcpsweep::vault::Vault;

use super::vault::{command_line, Format};
use super::{EXIT_CLEAN, EXIT_FINDINGS};

pub fn parse_kind(s: &str) -> Result<StoreKind, String> {
    StoreKind::parse(s).ok_or_else(|| {
        let all: Vec<&str> = StoreKind::ALL.iter().map(|k| k.as_str()).collect();
        format!(
            "unknown store type '{s}' (expected one of: {})",
            all.join(", ")
        )
    })
}

/// How to read memory stores; shared by `scan`, `purge` and `verify`.
#[derive(Args, Clone, Default)]
pub struct StoreArgs {
    /// Read the input as this type of memory store instead of recognising it
    /// (mcp_memory, json, markdown, chroma, mem0_history, mem0_qdrant, langchain_chat,
    /// langgraph_store, langgraph_checkpoints, sqlite).
    #[arg(long, value_name = "TYPE", value_parser = parse_kind)]
    pub store_type: Option<StoreKind>,
    /// JSON stores: pointer of the array of entries (e.g. `/memories`).
    #[arg(long, value_name = "POINTER")]
    pub json_entries: Option<String>,
    /// JSON stores: pointer, within an entry, of its id (e.g. `/id`).
    #[arg(long, value_name = "POINTER")]
    pub json_id: Option<String>,
    /// JSON stores: pointer, within an entry, of text to scan; repeatable (default: every string).
    #[arg(long, value_name = "POINTER")]
    pub json_text: Vec<String>,
}

impl StoreArgs {
    pub fn options(&self) -> StoreOptions {
        StoreOptions {
            json_entries: self.json_entries.clone(),
            json_id: self.json_id.clone(),
            json_text: self.json_text.clone(),
        }
    }
}

#[derive(Args)]
pub struct PurgeArgs {
    /// The memory store file.
    store: PathBuf,
    /// The evidence vault every removed entry is written to first.
    #[arg(long, value_name = "DIR")]
    vault: PathBuf,
    /// Purge entries with a finding at or above this severity.
    #[arg(
        long,
        default_value = "medium",
        value_name = "SEVERITY",
        conflicts_with = "finding"
    )]
    min_severity: Severity,
    /// Purge exactly the entries carrying these finding ids (from `scan`).
    #[arg(long, value_name = "ID")]
    finding: Vec<String>,
    #[command(flatten)]
    store_args: StoreArgs,
    #[arg(long, value_name = "ID")]
    incident: Option<String>,
    /// Print each entry that would go, with the finding that condemns it; change nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long, short = 'f', value_enum, default_value_t)]
    format: Format,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The memory store file.
    store: PathBuf,
    /// Also check that no entry purged into this vault remains (by id, content hash, bytes).
    #[arg(long, value_name = "DIR")]
    vault: Option<PathBuf>,
    /// Residue threshold: any finding at or above it fails verification.
    #[arg(long, default_value = "medium", value_name = "SEVERITY")]
    min_severity: Severity,
    #[command(flatten)]
    store_args: StoreArgs,
    #[arg(long, short = 'f', value_enum, default_value_t)]
    format: Format,
}

fn detector() -> anyhow::Result<Detector> {
    Ok(Detector::new(
        super::load_rules(None, false)?,
        DetectConfig::default(),
    )?)
}

pub fn run_purge(args: PurgeArgs) -> anyhow::Result<i32> {
    let detector = detector()?;
    let selector = if args.finding.is_empty() {
        Selector::MinSeverity(args.min_severity)
    } else {
        Selector::Findings(args.finding.clone())
    };
    let plan = purge::plan(
        &detector,
        &args.store,
        args.store_args.store_type,
        &args.store_args.options(),
        &selector,
    )?;
    let verb = if args.dry_run {
        "would purge"
    } else {
        "purged"
    };
    let mut items = Vec::new();
    // With an existing vault, a purge with nothing left to remove still completes the records
    // of an earlier purge that was killed half way.
    let vault_exists = args.vault.join(mcpsweep::vault::MANIFEST).is_file();
    if !args.dry_run && (!plan.entries.is_empty() || vault_exists) {
        let mut vault = Vault::open(&args.vault, true)?;
        let opts = WriteOptions {
            incident: args.incident.clone(),
            command: command_line(),
        };
        items = purge::execute(&mut vault, &plan, &opts)?;
    }
    match args.format {
        Format::Json => {
            let entries: Vec<serde_json::Value> = plan
                .entries
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    serde_json::json!({
                        "entry": c.removed.entry_id,
                        "item": items.get(i),
                        "findings": c.findings.iter().map(|f| serde_json::json!({
                            "finding_id": f.finding_id, "rule_id": f.rule_id,
                            "severity": f.severity, "excerpt": f.excerpt,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "store": plan.store, "store_type": plan.kind, "dry_run": args.dry_run,
                    "entries": entries,
                }))?
            );
        }
        Format::Human => {
            for (i, c) in plan.entries.iter().enumerate() {
                let item = items
                    .get(i)
                    .map(|n| format!(" (vault item {n})"))
                    .unwrap_or_default();
                println!(
                    "{verb} {} entry {}{item}",
                    plan.store.display(),
                    c.removed.entry_id
                );
                for f in &c.findings {
                    println!(
                        "    {} {} {}: {}",
                        f.severity.as_str(),
                        f.rule_id,
                        f.finding_id,
                        f.excerpt
                    );
                }
            }
            println!(
                "{} entries {verb} from {} ({})",
                plan.entries.len(),
                plan.store.display(),
                plan.kind.as_str()
            );
        }
    }
    if !args.dry_run && !plan.entries.is_empty() {
        if let Some(format) = mcpsweep::store::open(plan.kind, &plan.store_options) {
            for note in format.after_purge_notes(&args.store) {
                eprintln!("mcpsweep: note: {note}");
            }
        }
        eprintln!(
            "mcpsweep: prove it with: mcpsweep verify {} --vault {}",
            args.store.display(),
            args.vault.display()
        );
    }
    Ok(EXIT_CLEAN)
}

pub fn run_verify(args: VerifyArgs) -> anyhow::Result<i32> {
    let detector = detector()?;
    let vault = match &args.vault {
        Some(v) => Some(Vault::open(v, false)?),
        None => None,
    };
    let report = purge::verify(
        &detector,
        &args.store,
        args.store_args.store_type,
        &args.store_args.options(),
        args.min_severity,
        vault.as_ref(),
    )?;
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "store": report.store, "store_type": report.kind, "clean": report.is_clean(),
                "entries": report.entries, "purged_checked": report.purged_checked,
                "files_checked": report.files_checked, "residue": report.residue,
                "findings": report.findings,
            }))?
        ),
        Format::Human => {
            for f in &report.findings {
                println!(
                    "RESIDUE: entry {} still carries {} ({}): {}",
                    f.location.entry.as_deref().unwrap_or("?"),
                    f.rule_id,
                    f.severity.as_str(),
                    f.excerpt
                );
            }
            for r in &report.residue {
                println!("RESIDUE: {r}");
            }
            println!(
                "{}: {} entries parsed, {} purged entries checked, {} files checked: {}",
                report.store.display(),
                report.entries,
                report.purged_checked,
                report.files_checked.len(),
                if report.is_clean() {
                    "clean"
                } else {
                    "RESIDUE FOUND"
                }
            );
        }
    }
    Ok(if report.is_clean() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}
