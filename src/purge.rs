//! Purging poisoned entries from memory stores, putting them back, and proving a purge.
//!
//! A purge scans the store, picks the condemned entries, records each in the vault (with a
//! snapshot of the whole store first), and only then asks the store format to remove them
//! atomically. Verification re-reads the store and its raw bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::detect::Detector;
use crate::finding::{Finding, Severity};
use crate::scan::{scan_paths, ScanOptions};
use crate::store::{self, Field, RemovedEntry, StoreFormat, StoreKind, StoreOptions};
use crate::vault::files::{plan_file, WriteOptions};
use crate::vault::{Event, ItemKind, ItemState, Reason, Record, Vault, VaultError};

#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error("{}: {reason}", path.display())]
    Store { path: PathBuf, reason: String },
    #[error(transparent)]
    Vault(#[from] VaultError),
}

fn store_err(path: &Path, reason: impl std::fmt::Display) -> PurgeError {
    PurgeError::Store {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// The store at `path`, by `forced` kind or recognised from its name and content.
pub fn open_store(
    path: &Path,
    forced: Option<StoreKind>,
    opts: &StoreOptions,
) -> Result<(StoreKind, Box<dyn StoreFormat>), PurgeError> {
    let kind = match forced {
        Some(k) => k,
        None => {
            let mut head = Vec::new();
            use std::io::Read;
            std::fs::File::open(path)
                .and_then(|f| f.take(8192).read_to_end(&mut head))
                .map_err(|e| store_err(path, e))?;
            store::detect(path, &head).ok_or_else(|| {
                store_err(
                    path,
                    "not a memory store mcpsweep recognises (use --store-type)",
                )
            })?
        }
    };
    let format = store::open(kind, opts).ok_or_else(|| {
        store_err(
            path,
            format!("{} stores are not supported by this build", kind.as_str()),
        )
    })?;
    Ok((kind, format))
}

/// One entry to be purged, with the findings that condemn it.
#[derive(Debug, Clone, Serialize)]
pub struct Condemned {
    pub removed: RemovedEntry,
    pub fields: Vec<FieldText>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldText {
    pub name: String,
    pub text: String,
}

impl From<Field> for FieldText {
    fn from(f: Field) -> Self {
        FieldText {
            name: f.name,
            text: f.text,
        }
    }
}

/// What a purge will do.
#[derive(Debug, Clone, Serialize)]
pub struct PurgePlan {
    pub store: PathBuf,
    pub kind: StoreKind,
    #[serde(skip)]
    pub store_options: StoreOptions,
    pub entries: Vec<Condemned>,
}

/// Which entries to purge: those with a finding at or above `min_severity`, or exactly those
/// carrying the given finding ids.
#[derive(Debug, Clone)]
pub enum Selector {
    MinSeverity(Severity),
    Findings(Vec<String>),
}

/// Scans the store and works out what a purge would remove. Changes nothing.
pub fn plan(
    detector: &Detector,
    path: &Path,
    forced: Option<StoreKind>,
    store_opts: &StoreOptions,
    selector: &Selector,
) -> Result<PurgePlan, PurgeError> {
    let (kind, format) = open_store(path, forced, store_opts)?;
    let opts = ScanOptions {
        threads: 1,
        store_type: Some(kind),
        store_options: store_opts.clone(),
        ..Default::default()
    };
    let report = scan_paths(detector, &[path.to_path_buf()], &opts, &|_| {})
        .map_err(|e| store_err(path, e))?;
    if let Some(e) = report.errors.iter().find(|e| e.is_unreadable()) {
        return Err(store_err(path, &e.reason));
    }
    let mut by_entry: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    let wanted: Option<BTreeSet<&str>> = match selector {
        Selector::Findings(ids) => Some(ids.iter().map(String::as_str).collect()),
        Selector::MinSeverity(_) => None,
    };
    for f in report.findings {
        let keep = match (selector, &wanted) {
            (Selector::MinSeverity(min), _) => f.severity >= *min,
            (_, Some(ids)) => ids.contains(f.finding_id.as_str()),
            _ => false,
        };
        if let (true, Some(entry)) = (keep, f.location.entry.clone()) {
            by_entry.entry(entry).or_default().push(f);
        }
    }
    if let Some(ids) = &wanted {
        let found: BTreeSet<&str> = by_entry
            .values()
            .flatten()
            .map(|f| f.finding_id.as_str())
            .collect();
        if let Some(missing) = ids.iter().find(|i| !found.contains(*i)) {
            return Err(store_err(
                path,
                format!("no finding {missing} in this store (scan it again for current ids)"),
            ));
        }
    }
    let ids: BTreeSet<String> = by_entry.keys().cloned().collect();
    let removed = if ids.is_empty() {
        Vec::new()
    } else {
        format
            .plan_removal(path, &ids)
            .map_err(|e| store_err(path, e))?
    };
    let contents = format
        .read(path, &Default::default())
        .map_err(|e| store_err(path, e))?;
    let mut fields: BTreeMap<String, Vec<FieldText>> = contents
        .entries
        .into_iter()
        .filter(|e| ids.contains(&e.id))
        .map(|e| (e.id, e.fields.into_iter().map(FieldText::from).collect()))
        .collect();
    let entries = removed
        .into_iter()
        .map(|r| Condemned {
            fields: fields.remove(&r.entry_id).unwrap_or_default(),
            findings: by_entry.remove(&r.entry_id).unwrap_or_default(),
            removed: r,
        })
        .collect();
    Ok(PurgePlan {
        store: path.to_path_buf(),
        kind,
        store_options: store_opts.clone(),
        entries,
    })
}

/// What the vault keeps for each purged entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VaultedEntry {
    pub store_kind: StoreKind,
    pub removed: RemovedEntry,
    /// The entry's text, for the raw-byte check in `verify`.
    pub fields: Vec<FieldText>,
}

/// Sidecar files a store keeps beside its main file (SQLite journals).
pub fn sidecars(path: &Path) -> Vec<PathBuf> {
    ["-wal", "-journal", "-shm"]
        .iter()
        .map(|s| {
            let mut p = path.as_os_str().to_owned();
            p.push(s);
            PathBuf::from(p)
        })
        .filter(|p| p.is_file())
        .collect()
}

/// Carries out a plan: refuses while the owning application holds the store, snapshots the
/// store into the vault, records every entry, then removes them.
pub fn execute(
    vault: &mut Vault,
    plan: &PurgePlan,
    opts: &WriteOptions,
) -> Result<Vec<u64>, PurgeError> {
    let (_, format) = open_store(&plan.store, Some(plan.kind), &plan.store_options)?;
    if let Some(why) = format.in_use(&plan.store) {
        return Err(store_err(&plan.store, format!("refused: {why}")));
    }
    let store_abs = crate::vault::files::absolute(&plan.store)?;
    complete_interrupted(vault, &store_abs, format.as_ref(), opts)?;
    if plan.entries.is_empty() {
        return Ok(Vec::new());
    }
    // The whole store as it was, first: the surest way back.
    let mut snapshot_files = vec![store_abs.clone()];
    snapshot_files.extend(sidecars(&store_abs));
    for f in &snapshot_files {
        let parent = f.parent().unwrap_or(Path::new("/"));
        let reason = Reason {
            note: Some(format!(
                "snapshot of the {} store before purging {} entries",
                plan.kind.as_str(),
                plan.entries.len()
            )),
            ..Default::default()
        };
        let p = plan_file(f, parent, reason)?;
        vault.quarantine_file(&p, true, opts)?;
    }
    let mut items = Vec::new();
    for c in &plan.entries {
        let kept = VaultedEntry {
            store_kind: plan.kind,
            removed: c.removed.clone(),
            fields: c.fields.clone(),
        };
        let bytes = serde_json::to_vec(&kept)
            .map_err(|e| store_err(&plan.store, format!("cannot encode entry: {e}")))?;
        let sha = vault.put_bytes(&bytes)?;
        let mut rec = Record::new(
            Event::Quarantine,
            0,
            &opts.command,
            opts.incident.as_deref(),
        );
        rec.item = vault.next_seq();
        rec.kind = Some(ItemKind::StoreEntry);
        rec.original_path = Some(store_abs.display().to_string());
        rec.store_kind = Some(plan.kind.as_str().to_string());
        rec.entry_id = Some(c.removed.entry_id.clone());
        rec.entry_sha256 = Some(c.removed.sha256.clone());
        rec.position = Some(c.removed.position.clone());
        rec.sha256 = Some(sha);
        rec.size = Some(bytes.len() as u64);
        rec.reason = Some(Reason {
            finding_ids: c.findings.iter().map(|f| f.finding_id.clone()).collect(),
            rule_ids: {
                let mut r: Vec<String> = c.findings.iter().map(|f| f.rule_id.clone()).collect();
                r.dedup();
                r
            },
            note: None,
        });
        items.push(vault.append(rec)?.seq);
    }
    let removed: Vec<RemovedEntry> = plan.entries.iter().map(|c| c.removed.clone()).collect();
    format
        .apply_removal(&plan.store, &removed)
        .map_err(|e| store_err(&plan.store, e))?;
    crate::fault::step();
    for &item in &items {
        let mut done = Record::new(
            Event::QuarantineDone,
            item,
            &opts.command,
            opts.incident.as_deref(),
        );
        done.original_removed = Some(true);
        vault.append(done)?;
    }
    Ok(items)
}

/// A purge killed after its entries were recorded leaves them `interrupted`. Those no longer
/// in the store were removed: record that, so the vault says what happened.
fn complete_interrupted(
    vault: &mut Vault,
    store_abs: &Path,
    format: &dyn StoreFormat,
    opts: &WriteOptions,
) -> Result<(), PurgeError> {
    let abs = store_abs.display().to_string();
    let pending: Vec<(u64, String)> = vault
        .items()
        .into_iter()
        .filter(|i| {
            i.state == ItemState::Interrupted
                && i.record.kind == Some(ItemKind::StoreEntry)
                && i.record.original_path.as_deref() == Some(abs.as_str())
        })
        .filter_map(|i| Some((i.id, i.record.entry_id.clone()?)))
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let present: BTreeSet<String> = format
        .read(store_abs, &Default::default())
        .map_err(|e| store_err(store_abs, e))?
        .entries
        .into_iter()
        .map(|e| e.id)
        .collect();
    for (item, entry) in pending {
        if !present.contains(&entry) {
            let mut done = Record::new(
                Event::QuarantineDone,
                item,
                &opts.command,
                opts.incident.as_deref(),
            );
            done.original_removed = Some(true);
            vault.append(done)?;
        }
    }
    Ok(())
}

/// Puts purged entries back into their store, from the vault.
pub fn restore_entries(
    vault: &mut Vault,
    items: &[crate::vault::Item],
    dry_run: bool,
    opts: &WriteOptions,
) -> Result<Vec<(u64, String)>, PurgeError> {
    // Group by store, so each store is rewritten once.
    let mut by_store: BTreeMap<String, Vec<(u64, VaultedEntry)>> = BTreeMap::new();
    for it in items {
        let rec = &it.record;
        let (Some(store), Some(sha)) = (rec.original_path.clone(), rec.sha256.as_deref()) else {
            return Err(VaultError::Tampered(format!(
                "item {}: record lacks store or sha256",
                it.id
            ))
            .into());
        };
        let object = vault.object_path(sha);
        let bytes = std::fs::read(&object).map_err(crate::vault::io_err(&object))?;
        if crate::vault::sha256_hex(&bytes) != sha {
            return Err(VaultError::Tampered(format!(
                "{}: vault copy of item {} does not match its hash; not restored",
                object.display(),
                it.id
            ))
            .into());
        }
        let kept: VaultedEntry = serde_json::from_slice(&bytes)
            .map_err(|e| VaultError::Tampered(format!("item {}: {e}", it.id)))?;
        by_store.entry(store).or_default().push((it.id, kept));
    }
    let mut done = Vec::new();
    for (store, entries) in by_store {
        let path = PathBuf::from(&store);
        let kind = entries[0].1.store_kind;
        let (_, format) = open_store(&path, Some(kind), &StoreOptions::default())?;
        if let Some(why) = format.in_use(&path) {
            return Err(store_err(&path, format!("refused: {why}")));
        }
        let removed: Vec<RemovedEntry> = entries.iter().map(|(_, e)| e.removed.clone()).collect();
        if !dry_run {
            format
                .reinsert(&path, &removed)
                .map_err(|e| store_err(&path, e))?;
            crate::fault::step();
        }
        for (id, e) in &entries {
            if !dry_run {
                let mut rec =
                    Record::new(Event::Restore, *id, &opts.command, opts.incident.as_deref());
                rec.restored_to = Some(store.clone());
                vault.append(rec)?;
            }
            done.push((*id, format!("{} entry {}", store, e.removed.entry_id)));
        }
    }
    Ok(done)
}

/// What `verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub store: PathBuf,
    pub kind: Option<StoreKind>,
    pub entries: u64,
    /// Findings at or above the threshold still in the store.
    pub findings: Vec<Finding>,
    /// Purged entries found again: by id, by content hash, or as raw bytes in a file.
    pub residue: Vec<String>,
    /// Purged entries checked (with a vault).
    pub purged_checked: u64,
    pub files_checked: Vec<PathBuf>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty() && self.residue.is_empty()
    }
}

/// Shortest text searched for in raw bytes: shorter ones ("person") match by chance.
const MIN_RAW_NEEDLE: usize = 16;

/// Re-scans the store and its raw bytes. Errors if the store no longer parses.
pub fn verify(
    detector: &Detector,
    path: &Path,
    forced: Option<StoreKind>,
    store_opts: &StoreOptions,
    min: Severity,
    vault: Option<&Vault>,
) -> Result<VerifyReport, PurgeError> {
    let (kind, format) = open_store(path, forced, store_opts)?;
    let contents = format
        .read(path, &Default::default())
        .map_err(|e| store_err(path, format!("no longer parses: {e}")))?;
    let mut report = VerifyReport {
        store: path.to_path_buf(),
        kind: Some(kind),
        entries: contents.entries.len() as u64,
        ..Default::default()
    };
    let opts = ScanOptions {
        threads: 1,
        store_type: Some(kind),
        store_options: store_opts.clone(),
        ..Default::default()
    };
    let scanned = scan_paths(detector, &[path.to_path_buf()], &opts, &|_| {})
        .map_err(|e| store_err(path, e))?;
    report.findings = scanned
        .findings
        .into_iter()
        .filter(|f| f.severity >= min)
        .collect();
    let mut files = vec![path.to_path_buf()];
    files.extend(sidecars(path));
    // The raw bytes of the store and its sidecars: findings a parser could miss.
    for f in &files {
        let raw_opts = ScanOptions {
            threads: 1,
            detect_stores: false,
            ..Default::default()
        };
        if let Ok(raw) = scan_paths(detector, std::slice::from_ref(f), &raw_opts, &|_| {}) {
            for finding in raw.findings.iter().filter(|x| x.severity >= min) {
                report.residue.push(format!(
                    "{}: raw bytes still carry {} ({}): {}",
                    f.display(),
                    finding.rule_id,
                    finding.severity.as_str(),
                    finding.excerpt
                ));
            }
        }
    }
    report.files_checked = files.clone();
    let Some(vault) = vault else {
        return Ok(report);
    };
    let abs = crate::vault::files::absolute(path)?.display().to_string();
    let ids: BTreeSet<&str> = contents.entries.iter().map(|e| e.id.as_str()).collect();
    let hashes: BTreeSet<&str> = contents.entries.iter().map(|e| e.sha256.as_str()).collect();
    let raw: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .filter_map(|f| std::fs::read(f).ok().map(|b| (f.clone(), b)))
        .collect();
    for item in vault.items() {
        let rec = &item.record;
        // Interrupted entries too: a purge killed after removing them never said so.
        if rec.kind != Some(ItemKind::StoreEntry)
            || rec.original_path.as_deref() != Some(abs.as_str())
            || !matches!(item.state, ItemState::Quarantined | ItemState::Interrupted)
        {
            continue;
        }
        report.purged_checked += 1;
        let id = rec.entry_id.as_deref().unwrap_or("?");
        if ids.contains(id) {
            report.residue.push(format!(
                "item {}: entry {id} is in the store again",
                item.id
            ));
        }
        if let Some(h) = rec.entry_sha256.as_deref() {
            if hashes.contains(h) && !ids.contains(id) {
                report.residue.push(format!(
                    "item {}: the content of purged entry {id} is back under another id",
                    item.id
                ));
            }
        }
        let kept: Option<VaultedEntry> = rec
            .sha256
            .as_deref()
            .and_then(|s| std::fs::read(vault.object_path(s)).ok())
            .and_then(|b| serde_json::from_slice(&b).ok());
        for field in kept.iter().flat_map(|k| &k.fields) {
            if field.text.len() < MIN_RAW_NEEDLE {
                continue;
            }
            for (f, bytes) in &raw {
                if memchr::memmem::find(bytes, field.text.as_bytes()).is_some() {
                    report.residue.push(format!(
                        "item {}: {}: the text of purged entry {id} ({}) is still in the raw bytes",
                        item.id,
                        f.display(),
                        field.name
                    ));
                }
            }
        }
    }
    Ok(report)
}
