//! Quarantine and restore of whole files.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use super::{
    hash_file, io_err, sync_dir, Event, Item, ItemKind, ItemState, Reason, Record, Vault,
    VaultError,
};
use crate::{fault, timefmt};

/// A file to quarantine, as measured before anything moves.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FilePlan {
    /// Absolute path of the file.
    pub path: PathBuf,
    /// The folder a restore writes under, and the path below it.
    pub root: PathBuf,
    pub relative: PathBuf,
    pub sha256: String,
    pub size: u64,
    pub mode: u32,
    pub mtime_ns: i64,
    pub uid: u32,
    pub gid: u32,
    pub reason: Reason,
}

/// Measures `path` (a regular file, not followed if a link) for quarantine under `root`.
pub fn plan_file(path: &Path, root: &Path, reason: Reason) -> Result<FilePlan, VaultError> {
    let meta = fs::symlink_metadata(path).map_err(io_err(path))?;
    if meta.file_type().is_symlink() {
        return Err(VaultError::Refused(format!(
            "{}: is a symbolic link; quarantine its target instead",
            path.display()
        )));
    }
    if !meta.is_file() {
        return Err(VaultError::Refused(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    let path = absolute(path)?;
    let root = absolute(root)?;
    let relative = path
        .strip_prefix(&root)
        .map_err(|_| {
            VaultError::Refused(format!("{}: not under {}", path.display(), root.display()))
        })?
        .to_path_buf();
    check_relative(&relative)?;
    let sha256 = hash_file(&path).map_err(io_err(&path))?;
    Ok(FilePlan {
        sha256,
        size: meta.len(),
        mode: meta.mode(),
        mtime_ns: mtime_ns(&meta),
        uid: meta.uid(),
        gid: meta.gid(),
        path,
        root,
        relative,
        reason,
    })
}

/// Options shared by every command that writes to the vault.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub incident: Option<String>,
    /// The command line, recorded with every record.
    pub command: String,
}

/// The outcome of one quarantine.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Quarantined {
    pub item: u64,
    pub path: PathBuf,
    pub object: PathBuf,
    pub original_removed: bool,
}

impl Vault {
    /// Record, copy, fsync, verify, and only then remove the original (unless `copy_only`).
    pub fn quarantine_file(
        &mut self,
        plan: &FilePlan,
        copy_only: bool,
        opts: &WriteOptions,
    ) -> Result<Quarantined, VaultError> {
        let mut rec = Record::new(
            Event::Quarantine,
            0,
            &opts.command,
            opts.incident.as_deref(),
        );
        rec.item = self.next_seq();
        rec.kind = Some(ItemKind::File);
        rec.original_path = Some(plan.path.display().to_string());
        rec.root = Some(plan.root.display().to_string());
        rec.relative = Some(plan.relative.display().to_string());
        rec.sha256 = Some(plan.sha256.clone());
        rec.size = Some(plan.size);
        rec.mode = Some(plan.mode);
        rec.mtime_ns = Some(plan.mtime_ns);
        rec.mtime = timefmt::from_unix_nanos(plan.mtime_ns as i128).map(timefmt::rfc3339);
        rec.uid = Some(plan.uid);
        rec.gid = Some(plan.gid);
        rec.reason = Some(plan.reason.clone());
        let rec = self.append(rec)?;
        let object = self.put_file(&plan.path, &plan.sha256)?;
        if !copy_only {
            // The copy was taken from these bytes; refuse to delete if the file moved on.
            let meta = fs::symlink_metadata(&plan.path).map_err(io_err(&plan.path))?;
            if meta.len() != plan.size || mtime_ns(&meta) != plan.mtime_ns {
                return Err(VaultError::Refused(format!(
                    "{}: changed while being quarantined; the vault holds the earlier copy \
                     (item {}) and the file was left in place",
                    plan.path.display(),
                    rec.seq
                )));
            }
            fs::remove_file(&plan.path).map_err(io_err(&plan.path))?;
            if let Some(parent) = plan.path.parent() {
                sync_dir(parent)?;
            }
            fault::step();
        }
        let mut done = Record::new(
            Event::QuarantineDone,
            rec.seq,
            &opts.command,
            opts.incident.as_deref(),
        );
        done.original_removed = Some(!copy_only);
        self.append(done)?;
        Ok(Quarantined {
            item: rec.seq,
            path: plan.path.clone(),
            object,
            original_removed: !copy_only,
        })
    }

    /// Finds items by id (`7`) or by original path.
    pub fn find_items(&self, selectors: &[String]) -> Result<Vec<Item>, VaultError> {
        let items = self.items();
        let mut out = Vec::new();
        for s in selectors {
            let found: Vec<&Item> = match s.parse::<u64>() {
                Ok(id) => items.iter().filter(|i| i.id == id).collect(),
                Err(_) => {
                    let abs = absolute(Path::new(s))
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|_| s.clone());
                    items
                        .iter()
                        .filter(|i| i.record.original_path.as_deref() == Some(abs.as_str()))
                        .collect()
                }
            };
            // For a path quarantined several times, the latest item is the one meant.
            match found.last() {
                Some(it) => out.push((*it).clone()),
                None => {
                    return Err(VaultError::NotFound(format!(
                        "{}: no item '{s}' in this vault",
                        self.dir().display()
                    )))
                }
            }
        }
        Ok(out)
    }

    /// Works out where `item` would be restored and whether that is allowed, changing nothing.
    pub fn plan_restore(
        &self,
        item: &Item,
        to: Option<&Path>,
        force: bool,
    ) -> Result<RestorePlan, VaultError> {
        let rec = &item.record;
        let id = item.id;
        if rec.kind != Some(ItemKind::File) {
            return Err(VaultError::Refused(format!(
                "item {id}: a memory-store entry; it goes back into its store (purge::restore_entries), not to a path"
            )));
        }
        if item.state == ItemState::Interrupted {
            return Err(VaultError::Refused(format!(
                "item {id}: its quarantine was interrupted before the copy was verified, so the \
                 original was never removed; nothing to restore"
            )));
        }
        let (Some(sha), Some(root), Some(relative)) = (
            rec.sha256.as_deref(),
            rec.root.as_deref(),
            rec.relative.as_deref(),
        ) else {
            return Err(VaultError::Tampered(format!(
                "item {id}: record lacks sha256, root or relative path"
            )));
        };
        let relative = PathBuf::from(relative);
        check_relative(&relative)
            .map_err(|e| VaultError::Refused(format!("item {id}: refused: {e}")))?;
        if let Some(orig) = rec.original_path.as_deref() {
            if Path::new(root).join(&relative) != Path::new(orig) {
                return Err(VaultError::Tampered(format!(
                    "item {id}: original path {orig} is not root {root} joined with {}; refused",
                    relative.display()
                )));
            }
        }
        let base = match to {
            Some(d) => absolute(d)?,
            None => PathBuf::from(root),
        };
        if !base.is_absolute() {
            return Err(VaultError::Tampered(format!(
                "item {id}: root {} is not absolute; refused",
                base.display()
            )));
        }
        let target = base.join(&relative);
        check_no_links_below(&base, &relative)?;
        let object = self.object_path(sha);
        let existing = match fs::symlink_metadata(&target) {
            Ok(m) if m.is_file() => Some(hash_file(&target).map_err(io_err(&target))?),
            Ok(_) => {
                return Err(VaultError::Refused(format!(
                    "{}: exists and is not a regular file; refused",
                    target.display()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&target)(e)),
        };
        let action = match existing {
            None => RestoreAction::Write,
            Some(h) if h == sha => RestoreAction::AlreadyInPlace,
            Some(_) if force => RestoreAction::Overwrite,
            Some(_) => {
                return Err(VaultError::Refused(format!(
                    "{}: exists with different content; not overwritten (use --force: the \
                     file there is put in the vault first)",
                    target.display()
                )))
            }
        };
        Ok(RestorePlan {
            item: id,
            target,
            base,
            object,
            sha256: sha.to_string(),
            action,
        })
    }

    /// Puts an item back: temporary file beside the target, mode and mtime set, hash
    /// verified, renamed into place. The vault keeps its copy (it is evidence).
    pub fn restore(
        &mut self,
        item: &Item,
        plan: &RestorePlan,
        opts: &WriteOptions,
    ) -> Result<(), VaultError> {
        if plan.action == RestoreAction::AlreadyInPlace {
            return Ok(());
        }
        let rec = item.record.clone();
        let found = super::hash_file(&plan.object).map_err(io_err(&plan.object))?;
        if found != plan.sha256 {
            return Err(VaultError::Tampered(format!(
                "{}: vault copy of item {} has sha256 {found}, expected {}; not restored",
                plan.object.display(),
                plan.item,
                plan.sha256
            )));
        }
        if plan.action == RestoreAction::Overwrite {
            // Nothing is lost: whatever is there goes into the vault first.
            let reason = Reason {
                note: Some(format!("overwritten by the restore of item {}", plan.item)),
                ..Default::default()
            };
            let parent = plan.target.parent().unwrap_or(&plan.base);
            let over = plan_file(&plan.target, parent, reason)?;
            self.quarantine_file(&over, true, opts)?;
        }
        let parent = plan
            .target
            .parent()
            .ok_or_else(|| VaultError::Refused(format!("{}: no parent", plan.target.display())))?;
        fs::create_dir_all(parent).map_err(io_err(parent))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".mcpsweep-restore-")
            .tempfile_in(parent)
            .map_err(io_err(parent))?;
        {
            let mut src = File::open(&plan.object).map_err(io_err(&plan.object))?;
            std::io::copy(&mut src, tmp.as_file_mut()).map_err(io_err(tmp.path()))?;
            tmp.as_file_mut().flush().map_err(io_err(tmp.path()))?;
        }
        if let Some(mode) = rec.mode {
            fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode & 0o7777))
                .map_err(io_err(tmp.path()))?;
        }
        if let Some(t) = rec
            .mtime_ns
            .and_then(|ns| timefmt::from_unix_nanos(ns as i128))
        {
            tmp.as_file().set_modified(t).map_err(io_err(tmp.path()))?;
        }
        if let (Some(uid), Some(gid)) = (rec.uid, rec.gid) {
            // Only root can give a file away; anyone else gets their own file back.
            let _ = std::os::unix::fs::chown(tmp.path(), Some(uid), Some(gid));
        }
        tmp.as_file().sync_all().map_err(io_err(tmp.path()))?;
        let back = hash_file(tmp.path()).map_err(io_err(tmp.path()))?;
        if back != plan.sha256 {
            return Err(VaultError::Tampered(format!(
                "{}: restored copy has sha256 {back}, expected {}",
                plan.target.display(),
                plan.sha256
            )));
        }
        fault::step();
        if plan.action == RestoreAction::Write && fs::symlink_metadata(&plan.target).is_ok() {
            return Err(VaultError::Refused(format!(
                "{}: appeared while restoring; not overwritten",
                plan.target.display()
            )));
        }
        tmp.persist(&plan.target)
            .map_err(|e| io_err(&plan.target)(e.error))?;
        sync_dir(parent)?;
        fault::step();
        let mut done = Record::new(
            Event::Restore,
            plan.item,
            &opts.command,
            opts.incident.as_deref(),
        );
        done.restored_to = Some(plan.target.display().to_string());
        done.sha256 = Some(plan.sha256.clone());
        self.append(done)?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestoreAction {
    Write,
    Overwrite,
    AlreadyInPlace,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RestorePlan {
    pub item: u64,
    pub target: PathBuf,
    /// The folder the restore must stay inside.
    pub base: PathBuf,
    pub object: PathBuf,
    pub sha256: String,
    pub action: RestoreAction,
}

fn mtime_ns(meta: &fs::Metadata) -> i64 {
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}

/// An absolute path without resolving links (a link named on the command line stays a link).
pub fn absolute(p: &Path) -> Result<PathBuf, VaultError> {
    std::path::absolute(p).map_err(io_err(p))
}

/// A relative path that stays below its root: plain names only, no `..`, no root.
fn check_relative(rel: &Path) -> Result<(), VaultError> {
    let ok = rel.components().next().is_some()
        && rel.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(())
    } else {
        Err(VaultError::Refused(format!(
            "path '{}' would escape its root",
            rel.display()
        )))
    }
}

/// Refuses when a folder between `base` and the target is a symbolic link, which could send
/// the write outside `base`.
fn check_no_links_below(base: &Path, rel: &Path) -> Result<(), VaultError> {
    let mut cur = base.to_path_buf();
    let comps: Vec<_> = rel.components().collect();
    for c in &comps[..comps.len().saturating_sub(1)] {
        cur.push(c);
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(VaultError::Refused(format!(
                    "{}: is a symbolic link; a restore below it could escape {}; refused",
                    cur.display(),
                    base.display()
                )))
            }
            Ok(m) if !m.is_dir() => {
                return Err(VaultError::Refused(format!(
                    "{}: exists and is not a folder",
                    cur.display()
                )))
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

/// What `quarantine --from FINDINGS` selects: files to move, and findings it cannot act on.
#[derive(Debug, Default)]
pub struct Selection {
    /// Path (as in the findings) and the reason: the ids of its findings at or above the bar.
    pub files: Vec<(PathBuf, Reason)>,
    /// Findings left alone, with why (memory-store entries are for `purge`; stdin has no file).
    pub skipped: Vec<String>,
}

/// Reads a findings file (`scan --format json` or `--format jsonl`) and groups the findings
/// at or above `min` by file.
pub fn select_from_findings(
    path: &Path,
    text: &str,
    min: crate::finding::Severity,
) -> Result<Selection, VaultError> {
    use std::collections::BTreeMap;
    let bad = |e: String| VaultError::Refused(format!("{}: {e}", path.display()));
    let findings: Vec<serde_json::Value> = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(mut o)) => match o.remove("findings") {
            Some(serde_json::Value::Array(a)) => a,
            _ => {
                return Err(bad(
                    "no \"findings\" array (expected `scan --format json` output)".into(),
                ))
            }
        },
        Ok(serde_json::Value::Array(a)) => a,
        _ => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| serde_json::from_str(l).map_err(|e| bad(format!("line {}: {e}", i + 1))))
            .collect::<Result<_, _>>()?,
    };
    let mut by_path: BTreeMap<String, Reason> = BTreeMap::new();
    let mut out = Selection::default();
    for (i, f) in findings.iter().enumerate() {
        let field = |k: &str| f.get(k).and_then(|v| v.as_str());
        let (Some(p), Some(sev), Some(id), Some(rule)) = (
            field("path"),
            field("severity"),
            field("finding_id"),
            field("rule_id"),
        ) else {
            return Err(bad(format!(
                "finding {} lacks path, severity, finding_id or rule_id",
                i + 1
            )));
        };
        let sev = crate::finding::Severity::parse(sev)
            .ok_or_else(|| bad(format!("finding {id}: unknown severity '{sev}'")))?;
        if sev < min {
            continue;
        }
        if let Some(entry) = f.pointer("/location/entry").and_then(|v| v.as_str()) {
            out.skipped.push(format!(
                "{p}: finding {id} is in memory-store entry '{entry}': use `mcpsweep purge`"
            ));
            continue;
        }
        if p == "-" || p == "<stdin>" {
            out.skipped.push(format!(
                "finding {id}: read from standard input, no file to move"
            ));
            continue;
        }
        let r = by_path.entry(p.to_string()).or_default();
        r.finding_ids.push(id.to_string());
        if !r.rule_ids.iter().any(|x| x == rule) {
            r.rule_ids.push(rule.to_string());
        }
    }
    out.files = by_path
        .into_iter()
        .map(|(p, r)| (PathBuf::from(p), r))
        .collect();
    Ok(out)
}

/// Regular files below `dir` (links are reported, not followed), sorted.
pub fn files_below(dir: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut notes = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = match fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) => {
                notes.push(format!("{}: {e}", d.display()));
                continue;
            }
        };
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() => files.push(p),
                Ok(t) if t.is_symlink() => {
                    notes.push(format!("{}: symbolic link, not followed", p.display()))
                }
                Ok(_) => notes.push(format!("{}: not a regular file, left alone", p.display())),
                Err(e) => notes.push(format!("{}: {e}", p.display())),
            }
        }
    }
    files.sort();
    (files, notes)
}
