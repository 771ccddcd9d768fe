//! The vault's append-only manifest: one JSON record per line, each carrying the sha256 of
//! the line before it, so an edited or deleted line breaks the chain and `vault verify` says
//! where.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a record says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// About to copy an item into the vault (written before anything moves).
    Quarantine,
    /// The copy is verified; the original was removed unless `original_removed` is false.
    QuarantineDone,
    /// An item was put back.
    Restore,
}

/// What kind of thing an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A whole file.
    File,
    /// One entry taken out of a memory store by `purge`.
    StoreEntry,
    /// The whole store file as it was just before a purge.
    StoreSnapshot,
}

/// Why an item was quarantined.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    #[serde(default)]
    pub finding_ids: Vec<String>,
    #[serde(default)]
    pub rule_ids: Vec<String>,
    /// Free text for items quarantined by hand or as a side effect (a restore overwrite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One manifest line. Fields that do not apply to an event are left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// 1-based position in the manifest.
    pub seq: u64,
    pub event: Event,
    /// The item this record is about: the `seq` of its `quarantine` record.
    pub item: u64,
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    /// The command line that wrote the record.
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ItemKind>,
    /// Absolute path the item was taken from (for entries and snapshots: the store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_path: Option<String>,
    /// The folder restores write under, and the path below it; a restore never writes
    /// outside `root` (or the `--to` folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<String>,
    /// sha256 of the entry's content (`store::Entry::sha256`), to find it under another id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_sha256: Option<String>,
    /// Where the entry sat in its store, so a restore puts it back there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<serde_json::Value>,
    /// sha256 of the bytes kept in the vault (`objects/<2 hex>/<sha256>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Unix permission bits and file type (`st_mode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<String>,
    /// Modification time in nanoseconds since the epoch, exact for restores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime_ns: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_removed: Option<bool>,
    /// Where a restore wrote the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_to: Option<String>,
    /// sha256 of the previous manifest line (64 zeros for the first).
    pub prev: String,
}

impl Record {
    /// A record for `event` about `item`, to be filled in and appended.
    pub fn new(event: Event, item: u64, command: &str, incident: Option<&str>) -> Record {
        Record {
            seq: 0,
            event,
            item,
            time: crate::timefmt::now_rfc3339(),
            incident: incident.map(str::to_string),
            command: command.to_string(),
            kind: None,
            original_path: None,
            root: None,
            relative: None,
            store_kind: None,
            entry_id: None,
            entry_sha256: None,
            position: None,
            sha256: None,
            size: None,
            mode: None,
            mtime: None,
            mtime_ns: None,
            uid: None,
            gid: None,
            reason: None,
            original_removed: None,
            restored_to: None,
            prev: String::new(),
        }
    }
}

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The manifest as read: the records that parse, and what is wrong with the rest.
#[derive(Debug, Default)]
pub struct ManifestRead {
    pub records: Vec<Record>,
    /// Problems with line numbers: torn lines (a crash mid-append), lines that do not parse,
    /// broken chain links, out-of-order sequence numbers.
    pub problems: Vec<String>,
    /// sha256 of the last line, the `prev` of the next record.
    pub last_hash: String,
    /// Whether the file ends in the middle of a line (a torn append).
    pub torn_tail: bool,
    /// Bytes of complete lines, i.e. where a torn tail starts.
    pub complete_len: usize,
}

impl ManifestRead {
    /// The chain is intact and every line parsed. A torn last line from a crash is not
    /// tampering, but it is reported.
    pub fn is_intact(&self) -> bool {
        self.problems.iter().all(|p| p.contains("torn"))
    }
}

pub fn line_hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// Reads and checks a manifest's bytes. `path` is only used in messages.
pub fn parse(path: &Path, bytes: &[u8]) -> ManifestRead {
    let mut out = ManifestRead {
        last_hash: GENESIS.to_string(),
        ..Default::default()
    };
    if bytes.is_empty() {
        return out;
    }
    out.complete_len = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    out.torn_tail = bytes.last() != Some(&b'\n');
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let mut lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    if out.torn_tail {
        // A crash during an append: the record was never committed (the operation it
        // announced had not started), so it is reported and left out of the chain.
        lines.pop();
        out.problems.push(format!(
            "{}: line {}: torn record (a crash during an append), ignored",
            path.display(),
            lines.len() + 1
        ));
    }
    for (i, line) in lines.into_iter().enumerate() {
        let n = i + 1;
        let expected_prev = std::mem::replace(&mut out.last_hash, line_hash(line));
        match serde_json::from_slice::<Record>(line) {
            Ok(rec) => {
                if rec.prev != expected_prev {
                    out.problems.push(format!(
                        "{}: line {n}: chain broken (the line before it was changed or removed)",
                        path.display()
                    ));
                }
                if rec.seq != n as u64 {
                    out.problems.push(format!(
                        "{}: line {n}: sequence number {} out of place",
                        path.display(),
                        rec.seq
                    ));
                }
                out.records.push(rec);
            }
            Err(e) => out.problems.push(format!(
                "{}: line {n}: not a manifest record: {e}",
                path.display()
            )),
        }
    }
    out
}
