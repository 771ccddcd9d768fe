//! mem0's vectors in qdrant-client's local mode (`<path>/collection/<name>/storage.sqlite`).
//!
//! One table, `points(id TEXT, point BLOB)`: `id` is base64 of a pickled point id, `point` a
//! pickled `PointStruct` whose payload holds the memory text in `data` (and again in
//! `text_lemmatized` for mem0's BM25 vectors). The payload is read with the bounded pickle
//! reader in [`super::pickle`]; a point it cannot read is still scanned, as the UTF-8 runs
//! of its bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine;
use rusqlite::Connection;

use super::pickle::{self, Obj};
use super::{esc, fetch_rows, unknown_ids, write_err, Fields, Removal, Schema};
use crate::document::Limits;
use crate::store::{Entry, RemovedEntry, StoreError, StoreKind};

pub(crate) struct Mem0Qdrant;

/// Payload keys that are bookkeeping, not text anyone wrote.
const NOT_TEXT: &[&str] = &["hash", "created_at", "updated_at"];

struct Point {
    id: Option<String>,
    texts: Vec<(String, String)>,
}

fn point_id(p: &pickle::Pickle, id: usize) -> Option<String> {
    match p.get(id) {
        Obj::Str(s) => Some(s.clone()),
        Obj::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn read_point(blob: &[u8], depth: u32) -> Result<Point, String> {
    let p = pickle::load(blob)?;
    let attrs = p
        .attributes(p.root())
        .ok_or("the pickle is not a point object")?;
    let id = p.dict_get(attrs, "id").and_then(|i| point_id(&p, i));
    let mut texts = Vec::new();
    if let Some(payload) = p.dict_get(attrs, "payload") {
        if let Obj::Dict(pairs) = p.get(payload) {
            // `data` first: it is the memory; the rest in stored order.
            let mut pairs = pairs.clone();
            pairs.sort_by_key(|(k, _)| p.str(*k) != Some("data"));
            for (k, v) in pairs {
                let Some(key) = p.str(k) else { continue };
                if NOT_TEXT.contains(&key) {
                    continue;
                }
                let name = if key == "data" {
                    "data".to_string()
                } else {
                    format!("payload.{key}")
                };
                let mut found = Vec::new();
                p.strings(v, &name, depth, &mut found);
                texts.extend(found);
            }
        }
    }
    Ok(Point { id, texts })
}

/// The point id from the `id` column: base64 of a pickled str or int.
fn column_id(b64: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let p = pickle::load(&raw).ok()?;
    point_id(&p, p.root())
}

/// UTF-8 runs of at least 8 printable characters, for points the reader cannot decode.
fn utf8_runs(b: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(b)
        .split(|c: char| c.is_control() || c == '\u{fffd}')
        .filter(|s| s.chars().count() >= 8)
        .map(str::to_string)
        .collect()
}

fn index(
    db: &Connection,
    limits: &Limits,
    warnings: &mut Vec<String>,
) -> rusqlite::Result<Vec<(Entry, i64)>> {
    let mut out = Vec::new();
    let mut stmt = db.prepare("SELECT rowid, id, point FROM points ORDER BY rowid")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            super::text_col(r, 1)?,
            super::bytes_col(r, 2)?,
        ))
    })?;
    for row in rows {
        let (rowid, col_id, blob) = row?;
        let blob = blob.unwrap_or_default();
        let mut fields = Fields::default();
        let mut id = None;
        match read_point(&blob, limits.max_nesting) {
            Ok(point) => {
                id = point.id;
                for (name, text) in point.texts {
                    fields.push(name, &text);
                }
            }
            Err(e) => {
                warnings.push(format!("points rowid {rowid}: cannot read the pickled point ({e}); scanned as raw text"));
                for run in utf8_runs(&blob) {
                    fields.push("point", &run);
                }
            }
        }
        let id = id.or_else(|| col_id.as_deref().and_then(column_id));
        let entry_id = match id {
            Some(id) => format!("mem0:{}", esc(&id)),
            None => format!("points:{rowid}"),
        };
        out.push((fields.into_entry(entry_id), rowid));
    }
    Ok(out)
}

/// qdrant-client's lock file: `<path>/.lock`, three levels above `storage.sqlite`.
fn lock_file(storage: &Path) -> Option<PathBuf> {
    let root = storage.parent()?.parent()?.parent()?;
    Some(root.join(".lock"))
}

impl Schema for Mem0Qdrant {
    fn kind(&self) -> StoreKind {
        StoreKind::Mem0Qdrant
    }

    fn entries(
        &self,
        db: &Connection,
        limits: &Limits,
        warnings: &mut Vec<String>,
    ) -> rusqlite::Result<Vec<Entry>> {
        Ok(index(db, limits, warnings)?
            .into_iter()
            .map(|(e, _)| e)
            .collect())
    }

    fn plan(
        &self,
        db: &Connection,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<RemovedEntry>, StoreError> {
        let all = index(db, &Limits::default(), &mut Vec::new()).map_err(write_err)?;
        let by_id: BTreeMap<&str, &(Entry, i64)> =
            all.iter().map(|x| (x.0.id.as_str(), x)).collect();
        unknown_ids(ids, |id| by_id.contains_key(id))?;
        let mut out = Vec::new();
        for id in ids {
            let (entry, rowid) = by_id[id.as_str()];
            let rows = fetch_rows(db, "points", "_rowid_ = ?1", &[rowid]).map_err(write_err)?;
            out.push(
                Removal {
                    rows,
                    cuts: Vec::new(),
                }
                .into_entry(entry),
            );
        }
        Ok(out)
    }

    fn extra_in_use(&self, path: &Path) -> Option<String> {
        let lock = lock_file(path)?;
        lock.exists()
            .then(|| super::lock::lock_file_held(&lock))
            .flatten()
            .map(|why| format!("{why}: qdrant-client (mem0) is running on this storage; stop it before changing the store"))
    }

    fn notes(&self, _path: &Path) -> Vec<String> {
        vec![
            "qdrant-client's local mode loads every point into memory at start: restart the \
             application so it drops the removed points."
                .to_string(),
            "mem0 keeps each memory's history too: purge the same mem0:<memory id> entries in \
             mem0's history.db (by default ~/.mem0/history.db)."
                .to_string(),
        ]
    }
}
