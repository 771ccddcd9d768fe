//! The evidence vault: quarantined files and purged memory entries, kept content-addressed by
//! sha256 under `objects/`, with an append-only, hash-chained `manifest.jsonl` saying where
//! each came from, why, and what happened to it since.
//!
//! The order of work is what makes a crash at any instant safe: a record is appended (and
//! fsynced) before anything moves, the copy is fsynced and its hash verified by reading it
//! back, and only then is the original removed. Restores write a temporary file beside the
//! target, verify it and rename it into place.

pub mod files;
pub mod manifest;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::fault;
pub use manifest::{Event, ItemKind, ManifestRead, Reason, Record};

/// Why a vault operation failed. Messages name the path and the reason.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another mcpsweep process holds the vault.
    #[error("{}: the vault is in use by another mcpsweep process", .0.display())]
    Busy(PathBuf),
    /// The vault's content does not match its manifest.
    #[error("{0}")]
    Tampered(String),
    /// The operation would lose or overwrite something, or escape its root.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    NotFound(String),
}

pub fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> VaultError + '_ {
    move |source| VaultError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub const MANIFEST: &str = "manifest.jsonl";
const OBJECTS: &str = "objects";
const TMP: &str = "objects/.tmp";

/// An open vault. Holding one holds the vault's lock: one writer at a time.
pub struct Vault {
    dir: PathBuf,
    _lock: File,
    manifest: ManifestRead,
}

impl Vault {
    /// Opens the vault at `dir`, creating it when `create` is set, and takes its lock.
    pub fn open(dir: &Path, create: bool) -> Result<Vault, VaultError> {
        if create {
            fs::create_dir_all(dir.join(TMP)).map_err(io_err(dir))?;
        } else if !dir.join(MANIFEST).is_file() {
            return Err(VaultError::NotFound(format!(
                "{}: not a vault (no {MANIFEST})",
                dir.display()
            )));
        }
        let lock_path = dir.join(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(VaultError::Busy(dir.to_path_buf())),
            Err(fs::TryLockError::Error(e)) => return Err(io_err(&lock_path)(e)),
        }
        let manifest_path = dir.join(MANIFEST);
        let bytes = match fs::read(&manifest_path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(&manifest_path)(e)),
        };
        let manifest = manifest::parse(&manifest_path, &bytes);
        let mut vault = Vault {
            dir: dir.to_path_buf(),
            _lock: lock,
            manifest,
        };
        if create {
            vault.repair_torn_tail()?;
            vault.clear_stale_temporaries();
            if !manifest_path.exists() {
                File::create(&manifest_path).map_err(io_err(&manifest_path))?;
                sync_dir(dir)?;
            }
        }
        Ok(vault)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &ManifestRead {
        &self.manifest
    }

    pub fn records(&self) -> &[Record] {
        &self.manifest.records
    }

    /// A torn last line is a record whose operation never started (appends are fsynced
    /// before anything moves). It is moved to `manifest.torn` so the chain continues cleanly.
    fn repair_torn_tail(&mut self) -> Result<(), VaultError> {
        if !self.manifest.torn_tail {
            return Ok(());
        }
        let path = self.dir.join(MANIFEST);
        let bytes = fs::read(&path).map_err(io_err(&path))?;
        let torn_path = self.dir.join("manifest.torn");
        let mut torn = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&torn_path)
            .map_err(io_err(&torn_path))?;
        let tail = bytes.get(self.manifest.complete_len..).unwrap_or_default();
        torn.write_all(tail)
            .and_then(|_| torn.write_all(b"\n"))
            .and_then(|_| torn.sync_all())
            .map_err(io_err(&torn_path))?;
        let f = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        f.set_len(self.manifest.complete_len as u64)
            .and_then(|_| f.sync_all())
            .map_err(io_err(&path))?;
        self.manifest.torn_tail = false;
        self.manifest
            .problems
            .retain(|p| !p.contains("torn record"));
        Ok(())
    }

    /// Temporaries are only ever left by a crash: with the lock held, nobody is writing them.
    fn clear_stale_temporaries(&self) {
        if let Ok(rd) = fs::read_dir(self.dir.join(TMP)) {
            for e in rd.flatten() {
                let _ = fs::remove_file(e.path());
            }
        }
    }

    /// The seq the next appended record will get.
    pub fn next_seq(&self) -> u64 {
        self.manifest.records.last().map_or(0, |r| r.seq) + 1
    }

    /// Appends `rec` (its `seq` and `prev` are filled in) and fsyncs the manifest.
    pub fn append(&mut self, mut rec: Record) -> Result<Record, VaultError> {
        self.repair_torn_tail()?;
        rec.seq = self.next_seq();
        rec.prev = self.manifest.last_hash.clone();
        let line = serde_json::to_vec(&rec)
            .map_err(|e| VaultError::Refused(format!("cannot encode a manifest record: {e}")))?;
        let path = self.dir.join(MANIFEST);
        let mut f = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut buf = line.clone();
        buf.push(b'\n');
        f.write_all(&buf)
            .and_then(|_| f.sync_all())
            .map_err(io_err(&path))?;
        fault::step();
        self.manifest.last_hash = manifest::line_hash(&line);
        self.manifest.records.push(rec.clone());
        Ok(rec)
    }

    pub fn object_path(&self, sha256: &str) -> PathBuf {
        let prefix = sha256.get(..2).unwrap_or("00");
        self.dir.join(OBJECTS).join(prefix).join(sha256)
    }

    /// Copies `src` into the vault as the object `expected` (its sha256), fsyncs it and
    /// verifies it by reading it back. Fails if `src` no longer has that hash.
    pub fn put_file(&self, src: &Path, expected: &str) -> Result<PathBuf, VaultError> {
        let dest = self.object_path(expected);
        if dest.exists() && hash_file(&dest).ok().as_deref() == Some(expected) {
            return Ok(dest);
        }
        let mut input = File::open(src).map_err(io_err(src))?;
        self.put_with(expected, |out| {
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = input.read(&mut buf).map_err(io_err(src))?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
                out.write_all(&buf[..n]).map_err(io_err(&dest))?;
            }
            Ok(hex::encode(h.finalize()))
        })
        .map_err(|e| match e {
            VaultError::Tampered(_) => VaultError::Refused(format!(
                "{}: changed while being copied into the vault; left in place",
                src.display()
            )),
            other => other,
        })
    }

    /// Stores `bytes` as an object and returns its sha256.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<String, VaultError> {
        let sha = hex::encode(Sha256::digest(bytes));
        let dest = self.object_path(&sha);
        if dest.exists() && hash_file(&dest).ok().as_deref() == Some(sha.as_str()) {
            return Ok(sha);
        }
        self.put_with(&sha, |out| {
            out.write_all(bytes).map_err(io_err(&dest))?;
            Ok(sha.clone())
        })?;
        Ok(sha)
    }

    fn put_with(
        &self,
        expected: &str,
        fill: impl FnOnce(&mut File) -> Result<String, VaultError>,
    ) -> Result<PathBuf, VaultError> {
        let dest = self.object_path(expected);
        let tmp_dir = self.dir.join(TMP);
        fs::create_dir_all(&tmp_dir).map_err(io_err(&tmp_dir))?;
        let mut tmp = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(io_err(&tmp_dir))?;
        let got = fill(tmp.as_file_mut())?;
        if got != expected {
            return Err(VaultError::Tampered(format!(
                "{}: content hash {got} is not the expected {expected}",
                dest.display()
            )));
        }
        tmp.as_file().sync_all().map_err(io_err(tmp.path()))?;
        fault::step();
        let parent = dest.parent().unwrap_or(&self.dir);
        fs::create_dir_all(parent).map_err(io_err(parent))?;
        tmp.persist(&dest).map_err(|e| io_err(&dest)(e.error))?;
        set_read_only(&dest);
        sync_dir(parent)?;
        fault::step();
        let back = hash_file(&dest).map_err(io_err(&dest))?;
        if back != expected {
            return Err(VaultError::Tampered(format!(
                "{}: read back with hash {back}, expected {expected}",
                dest.display()
            )));
        }
        Ok(dest)
    }

    /// The current state of every item, in manifest order.
    pub fn items(&self) -> Vec<Item> {
        let mut items: BTreeMap<u64, Item> = BTreeMap::new();
        for rec in &self.manifest.records {
            match rec.event {
                Event::Quarantine => {
                    items.insert(
                        rec.seq,
                        Item {
                            id: rec.seq,
                            state: ItemState::Interrupted,
                            record: rec.clone(),
                            restored_to: None,
                        },
                    );
                }
                Event::QuarantineDone => {
                    if let Some(it) = items.get_mut(&rec.item) {
                        it.state = if rec.original_removed == Some(false) {
                            ItemState::Collected
                        } else {
                            ItemState::Quarantined
                        };
                    }
                }
                Event::Restore => {
                    if let Some(it) = items.get_mut(&rec.item) {
                        it.state = ItemState::Restored;
                        it.restored_to = rec.restored_to.clone();
                    }
                }
            }
        }
        items.into_values().collect()
    }

    /// Re-hashes every object and checks it against the manifest.
    pub fn verify(&self) -> VerifyReport {
        let mut report = VerifyReport::default();
        for p in &self.manifest.problems {
            // A torn last line is a crash during an append, before its operation started.
            if p.contains("torn record") {
                report.interrupted.push(format!("manifest: {p}"));
            } else {
                report.problems.push(format!("manifest: {p}"));
            }
        }
        for item in self.items() {
            let Some(sha) = item.record.sha256.as_deref() else {
                report
                    .problems
                    .push(format!("item {}: record has no sha256", item.id));
                continue;
            };
            let path = self.object_path(sha);
            match hash_file(&path) {
                Ok(h) if h == sha => report.verified += 1,
                Ok(h) => report.problems.push(format!(
                    "item {}: {} has sha256 {h}, the manifest says {sha}",
                    item.id,
                    path.display()
                )),
                Err(_) if item.state == ItemState::Interrupted => {
                    let at = item.record.original_path.as_deref().unwrap_or("?");
                    let present = Path::new(at).exists();
                    report.interrupted.push(format!(
                        "item {}: quarantine of {at} was interrupted before its copy was \
                         verified; the original is {}",
                        item.id,
                        if present { "still in place" } else { "MISSING" }
                    ));
                    if !present {
                        report.problems.push(format!(
                            "item {}: {at} is neither in place nor in the vault",
                            item.id
                        ));
                    }
                }
                Err(e) => report.problems.push(format!(
                    "item {}: {}: {e} (the manifest says it holds {})",
                    item.id,
                    path.display(),
                    item.record.original_path.as_deref().unwrap_or("?")
                )),
            }
        }
        report
    }
}

/// Where an item stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// In the vault, original removed.
    Quarantined,
    /// In the vault, original kept (`--copy-only`, or a purged store entry's snapshot).
    Collected,
    /// Put back.
    Restored,
    /// The process stopped before the copy was verified; the original was not touched.
    Interrupted,
}

impl ItemState {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Quarantined => "quarantined",
            ItemState::Collected => "collected",
            ItemState::Restored => "restored",
            ItemState::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Item {
    pub id: u64,
    pub state: ItemState,
    /// The `quarantine` record that created the item.
    pub record: Record,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored_to: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct VerifyReport {
    /// Objects whose hash matched.
    pub verified: u64,
    /// Interrupted quarantines (not a fault: the original was left in place).
    pub interrupted: Vec<String>,
    /// Mismatches, missing objects, a broken chain.
    pub problems: Vec<String>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

/// fsync a directory so a rename or unlink in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), VaultError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

fn set_read_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o444));
}
