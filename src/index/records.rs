//! Per-file records: what the index knows about each file it read (size, mtime, sha256), so a
//! re-run reads only new and changed files. Stored as documents of their own in the same
//! index, so they commit atomically with the text they describe.

use std::collections::HashMap;

use tantivy::{Searcher, TantivyDocument};

use super::Fields;

/// What happened to the file when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Indexed = 0,
    /// Binary or unsupported: nothing to index.
    Skipped = 1,
    /// Malformed or over a limit: nothing (or part) indexed; read again only if it changes.
    Failed = 2,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime: i64,
    /// sha256 of the content; empty when the file was not read whole (skipped).
    pub sha256: String,
    pub status: u64,
}

/// Every record of the searcher's commit, by path.
pub(crate) fn load(searcher: &Searcher) -> tantivy::Result<HashMap<String, Record>> {
    let mut out = HashMap::new();
    let mut buf = String::new();
    for seg in searcher.segment_readers() {
        let ff = seg.fast_fields();
        let sizes = ff.u64("file_size")?;
        let mtimes = ff.i64("file_mtime")?;
        let statuses = ff.u64("file_status")?;
        let (Some(ids), Some(shas)) = (ff.str("file_id")?, ff.str("file_sha256")?) else {
            continue;
        };
        for doc in seg.doc_ids_alive() {
            let Some(size) = sizes.first(doc) else {
                continue;
            };
            let Some(id_ord) = ids.term_ords(doc).next() else {
                continue;
            };
            buf.clear();
            ids.ord_to_str(id_ord, &mut buf)?;
            let path = buf.clone();
            let sha256 = match shas.term_ords(doc).next() {
                Some(o) => {
                    buf.clear();
                    shas.ord_to_str(o, &mut buf)?;
                    buf.clone()
                }
                None => String::new(),
            };
            out.insert(
                path,
                Record {
                    size,
                    mtime: mtimes.first(doc).unwrap_or_default(),
                    sha256,
                    status: statuses.first(doc).unwrap_or_default(),
                },
            );
        }
    }
    Ok(out)
}

/// The record document for `path`.
pub(crate) fn document(fields: &Fields, path: &str, r: &Record) -> TantivyDocument {
    let mut d = TantivyDocument::default();
    d.add_text(fields.kind, "file");
    d.add_text(fields.file_id, path);
    d.add_u64(fields.file_size, r.size);
    d.add_i64(fields.file_mtime, r.mtime);
    if !r.sha256.is_empty() {
        d.add_text(fields.file_sha256, &r.sha256);
    }
    d.add_u64(fields.file_status, r.status);
    d
}
