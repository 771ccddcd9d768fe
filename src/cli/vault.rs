//! `mcpsweep quarantine`, `restore` and `vault list|verify`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use mcpsweep::finding::Severity;
use mcpsweep::vault::files::{
    files_below, plan_file, select_from_findings, FilePlan, RestoreAction, WriteOptions,
};
use mcpsweep::vault::{Item, ItemKind, ItemState, Reason, Vault};

use super::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};

#[derive(Clone, Copy, ValueEnum, Default)]
pub enum Format {
    #[default]
    Human,
    Json,
}

#[derive(Args)]
pub struct QuarantineArgs {
    /// Files or folders to move into the vault.
    #[arg(value_name = "PATH", required_unless_present = "from")]
    paths: Vec<PathBuf>,
    /// Take the files from a findings file (`scan --format json` or `jsonl`).
    #[arg(long, value_name = "FINDINGS.json", conflicts_with = "paths")]
    from: Option<PathBuf>,
    /// With --from: only findings at or above this severity.
    #[arg(long, default_value = "medium", value_name = "SEVERITY")]
    min_severity: Severity,
    /// The evidence vault (created if missing).
    #[arg(long, value_name = "DIR")]
    vault: PathBuf,
    /// Incident id recorded with every item.
    #[arg(long, value_name = "ID")]
    incident: Option<String>,
    /// Copy into the vault and leave the original in place (read-only evidence collection).
    #[arg(long)]
    copy_only: bool,
    /// Print exactly what would move, and change nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long, short = 'f', value_enum, default_value_t)]
    format: Format,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// Item ids (see `vault list`) or original paths.
    #[arg(value_name = "ITEM", required_unless_present = "all")]
    items: Vec<String>,
    /// Restore every quarantined file.
    #[arg(long, conflicts_with = "items")]
    all: bool,
    #[arg(long, value_name = "DIR")]
    vault: PathBuf,
    /// Restore below this folder instead of the original location.
    #[arg(long, value_name = "DIR")]
    to: Option<PathBuf>,
    /// Overwrite a different file at the target (it is put in the vault first).
    #[arg(long)]
    force: bool,
    /// Print what would be restored, and change nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long, short = 'f', value_enum, default_value_t)]
    format: Format,
}

#[derive(Subcommand)]
pub enum VaultCommand {
    /// List the vault's items and where each stands.
    List {
        #[arg(long, value_name = "DIR")]
        vault: PathBuf,
        #[arg(long, short = 'f', value_enum, default_value_t)]
        format: Format,
    },
    /// Re-hash every item and check the manifest chain; exit 1 on any mismatch.
    Verify {
        #[arg(long, value_name = "DIR")]
        vault: PathBuf,
        #[arg(long, short = 'f', value_enum, default_value_t)]
        format: Format,
    },
}

pub fn command_line() -> String {
    std::env::args()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"\\$`".contains(c)) {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn run_quarantine(args: QuarantineArgs) -> anyhow::Result<i32> {
    let mut failures = Vec::new();
    // (file, root it is restored under, reason)
    let mut targets: Vec<(PathBuf, PathBuf, Reason)> = Vec::new();
    let by_hand = Reason {
        note: Some("quarantined by hand".into()),
        ..Default::default()
    };
    if let Some(from) = &args.from {
        let text = std::fs::read_to_string(from).with_context(|| from.display().to_string())?;
        let sel = select_from_findings(from, &text, args.min_severity)?;
        for s in sel.skipped {
            eprintln!("mcpsweep: skipped: {s}");
        }
        for (p, reason) in sel.files {
            let root = p.parent().map(Path::to_path_buf).unwrap_or_default();
            targets.push((p, root, reason));
        }
    }
    // Never quarantine the vault into itself.
    let vault_dir = std::path::absolute(&args.vault).unwrap_or_else(|_| args.vault.clone());
    for p in &args.paths {
        if p.is_dir() {
            let (files, notes) = files_below(p);
            failures.extend(notes);
            for f in files {
                let abs = std::path::absolute(&f).unwrap_or_else(|_| f.clone());
                if abs.starts_with(&vault_dir) {
                    continue;
                }
                targets.push((f, p.clone(), by_hand.clone()));
            }
        } else {
            let root = p.parent().map(Path::to_path_buf).unwrap_or_default();
            targets.push((p.clone(), root, by_hand.clone()));
        }
    }
    let mut plans: Vec<FilePlan> = Vec::new();
    for (p, root, reason) in targets {
        let root = if root.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            root
        };
        match plan_file(&p, &root, reason) {
            Ok(plan) => plans.push(plan),
            Err(e) => failures.push(e.to_string()),
        }
    }
    let mut out = Vec::new();
    if args.dry_run {
        for p in &plans {
            match args.format {
                Format::Human => println!(
                    "would {} {} ({} bytes, sha256 {}) into {}{}",
                    if args.copy_only { "copy" } else { "move" },
                    p.path.display(),
                    p.size,
                    p.sha256,
                    args.vault.display(),
                    reason_text(&p.reason)
                ),
                Format::Json => out.push(serde_json::json!({
                    "action": if args.copy_only { "copy" } else { "move" },
                    "path": p.path, "sha256": p.sha256, "size": p.size, "reason": p.reason,
                })),
            }
        }
    } else if !plans.is_empty() {
        let mut vault = Vault::open(&args.vault, true)?;
        let opts = WriteOptions {
            incident: args.incident.clone(),
            command: command_line(),
        };
        for p in &plans {
            match vault.quarantine_file(p, args.copy_only, &opts) {
                Ok(q) => match args.format {
                    Format::Human => println!(
                        "item {}: {} {} (sha256 {}){}",
                        q.item,
                        if q.original_removed {
                            "quarantined"
                        } else {
                            "copied"
                        },
                        q.path.display(),
                        p.sha256,
                        reason_text(&p.reason)
                    ),
                    Format::Json => out.push(serde_json::json!({
                        "item": q.item, "path": q.path, "sha256": p.sha256,
                        "original_removed": q.original_removed, "reason": p.reason,
                    })),
                },
                Err(e) => failures.push(e.to_string()),
            }
        }
    }
    finish(args.format, out, failures, args.dry_run)
}

fn reason_text(r: &Reason) -> String {
    let mut parts = r.rule_ids.clone();
    parts.extend(r.note.clone());
    if parts.is_empty() {
        String::new()
    } else {
        format!(" [{}]", parts.join("; "))
    }
}

fn finish(
    format: Format,
    items: Vec<serde_json::Value>,
    failures: Vec<String>,
    dry_run: bool,
) -> anyhow::Result<i32> {
    if let Format::Json = format {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "dry_run": dry_run, "items": items, "errors": failures,
            }))?
        );
    } else {
        for f in &failures {
            eprintln!("mcpsweep: {f}");
        }
    }
    Ok(if failures.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_ERROR
    })
}

pub fn run_restore(args: RestoreArgs) -> anyhow::Result<i32> {
    let mut vault = Vault::open(&args.vault, false)?;
    if !vault.manifest().is_intact() {
        for p in &vault.manifest().problems {
            eprintln!("mcpsweep: {p}");
        }
        anyhow::bail!(
            "{}: the manifest chain is broken; refusing to restore from a vault that may have been tampered with (run `mcpsweep vault verify`)",
            args.vault.display()
        );
    }
    let items: Vec<Item> = if args.all {
        vault
            .items()
            .into_iter()
            .filter(|i| i.state == ItemState::Quarantined)
            .collect()
    } else {
        vault.find_items(&args.items)?
    };
    let opts = WriteOptions {
        incident: None,
        command: command_line(),
    };
    let (entries, items): (Vec<Item>, Vec<Item>) = items
        .into_iter()
        .partition(|i| i.record.kind == Some(ItemKind::StoreEntry));
    let mut failures = Vec::new();
    let mut out = Vec::new();
    for item in items {
        let plan = match vault.plan_restore(&item, args.to.as_deref(), args.force) {
            Ok(p) => p,
            Err(e) => {
                failures.push(e.to_string());
                continue;
            }
        };
        let verb = match (plan.action, args.dry_run) {
            (RestoreAction::AlreadyInPlace, _) => "already in place:",
            (RestoreAction::Write, true) => "would restore",
            (RestoreAction::Overwrite, true) => "would overwrite (after saving it in the vault)",
            (RestoreAction::Write, false) => "restored",
            (RestoreAction::Overwrite, false) => "restored over (the old file is in the vault)",
        };
        if !args.dry_run {
            if let Err(e) = vault.restore(&item, &plan, &opts) {
                failures.push(e.to_string());
                continue;
            }
        }
        match args.format {
            Format::Human => println!(
                "item {}: {verb} {} (sha256 {})",
                plan.item,
                plan.target.display(),
                plan.sha256
            ),
            Format::Json => out.push(serde_json::json!({
                "item": plan.item, "path": plan.target, "sha256": plan.sha256, "action": plan.action,
            })),
        }
    }
    if !entries.is_empty() {
        match mcpsweep::purge::restore_entries(&mut vault, &entries, args.dry_run, &opts) {
            Ok(done) => {
                for (item, what) in done {
                    let verb = if args.dry_run {
                        "would put back"
                    } else {
                        "put back"
                    };
                    match args.format {
                        Format::Human => println!("item {item}: {verb} {what}"),
                        Format::Json => out.push(serde_json::json!({
                            "item": item, "entry": what, "action": "reinsert",
                        })),
                    }
                }
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    finish(args.format, out, failures, args.dry_run)
}

pub fn run_vault(cmd: VaultCommand) -> anyhow::Result<i32> {
    match cmd {
        VaultCommand::List { vault, format } => {
            let v = Vault::open(&vault, false)?;
            let items = v.items();
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&items)?),
                Format::Human => {
                    for it in &items {
                        let r = &it.record;
                        println!(
                            "{:>5}  {:<11}  {}  {}  {} bytes  {}{}{}",
                            it.id,
                            it.state.as_str(),
                            r.time,
                            r.sha256.as_deref().map_or("-", |s| &s[..s.len().min(12)]),
                            r.size.unwrap_or(0),
                            r.original_path.as_deref().unwrap_or("?"),
                            r.entry_id
                                .as_deref()
                                .map(|e| format!(" entry {e}"))
                                .unwrap_or_default(),
                            r.reason.as_ref().map(reason_text).unwrap_or_default(),
                        );
                    }
                    println!("{} items", items.len());
                }
            }
            Ok(EXIT_CLEAN)
        }
        VaultCommand::Verify { vault, format } => {
            let v = Vault::open(&vault, false)?;
            let report = v.verify();
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Human => {
                    for i in &report.interrupted {
                        println!("note: {i}");
                    }
                    for p in &report.problems {
                        println!("MISMATCH: {p}");
                    }
                    println!(
                        "{} items verified, {} problems",
                        report.verified,
                        report.problems.len()
                    );
                }
            }
            Ok(if report.problems.is_empty() {
                EXIT_CLEAN
            } else {
                EXIT_FINDINGS
            })
        }
    }
}
