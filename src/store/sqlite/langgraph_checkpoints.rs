//! LangGraph's SQLite checkpointer (`SqliteSaver`): `checkpoints` and `writes`, msgpack blobs.
//!
//! Every step of a thread writes a new checkpoint with the whole state, and `writes` holds
//! each task's updates, so one message sits in every later checkpoint of its thread and in
//! the write that added it. An entry is one thing the state holds, across all those copies:
//! - a LangChain message (msgpack ext type 5), by its id: `checkpoint:<thread>/<message id>`;
//! - an item of a list channel that is not such a message (`notes: ["..."]`), numbered in
//!   order of first appearance: `checkpoint:<thread>/<channel>[<n>]` (the same item is the
//!   same bytes everywhere);
//! - any other channel value, all its versions: `checkpoint:<thread>/<channel>`.
//!
//! With a non-empty `checkpoint_ns` (subgraphs) the namespace follows the thread id.
//! Purging cuts the entry out of every blob of the thread (and its `__start__` input) and
//! deletes `writes` rows whose whole value it is; all other bytes of each blob stay as they
//! were, ext types included (see [`super::msgpack`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::Connection;

use super::msgpack::{self, Cut, Kind};
use super::{
    bytes_col, delete_row, esc, fetch_rows, insert_row, json_strings, message_fields, text_col,
    unknown_ids, write_err, Fields, Removal, Schema,
};
use crate::document::Limits;
use crate::store::{Entry, RemovedEntry, StoreError, StoreKind};

pub(crate) struct LanggraphCheckpoints;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Message(String),
    Item(String, usize),
    Scalar(String),
}

/// Where one copy of an entry is.
#[derive(Debug, Clone)]
enum Loc {
    /// An element of an array, or a pair of a map, inside a blob that stays.
    Cut { path: Vec<String>, index: usize },
    /// The whole value of a `writes` row.
    Row,
}

struct Sighting {
    source: usize,
    key: Key,
    loc: Loc,
    bytes: Vec<u8>,
    texts: Fields,
}

struct Source {
    table: &'static str,
    rowid: i64,
    column: &'static str,
}

/// Everything read from one thread (and namespace).
#[derive(Default)]
struct Thread {
    sources: Vec<Source>,
    sightings: Vec<Sighting>,
    /// (channel, item bytes) → item number.
    items: BTreeMap<(String, Vec<u8>), usize>,
    next_item: BTreeMap<String, usize>,
}

/// Who holds a value: a map (at `path`, pair `index` starting at byte `pair_start`) or a
/// whole `writes` row.
enum Holder<'a> {
    Pair {
        path: &'a [String],
        index: usize,
        pair_start: usize,
    },
    Row,
}

impl Thread {
    fn item_number(&mut self, channel: &str, bytes: &[u8]) -> usize {
        let key = (channel.to_string(), bytes.to_vec());
        if let Some(n) = self.items.get(&key) {
            return *n;
        }
        let next = self.next_item.entry(channel.to_string()).or_default();
        let n = *next;
        *next += 1;
        self.items.insert(key, n);
        n
    }

    /// One channel's value at `buf[value]`.
    fn visit(
        &mut self,
        source: usize,
        channel: &str,
        buf: &[u8],
        value: std::ops::Range<usize>,
        holder: Holder<'_>,
        depth: u32,
    ) -> Result<(), String> {
        let (start, end) = (value.start, value.end);
        if let Some(c) = msgpack::children(buf, start)?.filter(|c| c.kind == Kind::Array) {
            let path: Vec<String> = match &holder {
                Holder::Pair { path, .. } => {
                    path.iter().cloned().chain([channel.to_string()]).collect()
                }
                Holder::Row => Vec::new(),
            };
            for (i, child) in c.items.iter().enumerate() {
                let bytes = &buf[child.start..child.end];
                let (key, texts) = match msgpack::message(bytes, depth) {
                    Some(fields) if message_id(&fields).is_some() => {
                        let mut texts = Fields::default();
                        message_fields(&fields, "", depth, &mut texts);
                        (Key::Message(message_id(&fields).unwrap_or_default()), texts)
                    }
                    _ => (
                        Key::Item(channel.to_string(), self.item_number(channel, bytes)),
                        value_texts(bytes, depth),
                    ),
                };
                self.sightings.push(Sighting {
                    source,
                    key,
                    loc: Loc::Cut {
                        path: path.clone(),
                        index: i,
                    },
                    bytes: bytes.to_vec(),
                    texts,
                });
            }
            return Ok(());
        }
        let value = &buf[start..end];
        let (key, texts) = match msgpack::message(value, depth) {
            Some(fields) if message_id(&fields).is_some() => {
                let mut texts = Fields::default();
                message_fields(&fields, "", depth, &mut texts);
                (Key::Message(message_id(&fields).unwrap_or_default()), texts)
            }
            _ => (Key::Scalar(channel.to_string()), value_texts(value, depth)),
        };
        let (loc, bytes) = match holder {
            Holder::Pair {
                path,
                index,
                pair_start,
            } => (
                Loc::Cut {
                    path: path.to_vec(),
                    index,
                },
                buf[pair_start..end].to_vec(),
            ),
            Holder::Row => (Loc::Row, value.to_vec()),
        };
        self.sightings.push(Sighting {
            source,
            key,
            loc,
            bytes,
            texts,
        });
        Ok(())
    }

    /// The pairs of the map at `path`: each channel, with `__start__` (the input) opened.
    fn visit_map(
        &mut self,
        source: usize,
        buf: &[u8],
        pos: usize,
        path: &[String],
        depth: u32,
    ) -> Result<(), String> {
        let Some(c) = msgpack::children(buf, pos)?.filter(|c| c.kind == Kind::Map) else {
            return Ok(());
        };
        for (i, pair) in c.items.iter().enumerate() {
            let Some(channel) = msgpack::str_at(buf, pair.start) else {
                continue;
            };
            if channel.starts_with("branch:") {
                continue;
            }
            let is_map = msgpack::children(buf, pair.value)?.is_some_and(|c| c.kind == Kind::Map);
            if channel == "__start__" && is_map {
                let inner: Vec<String> = path
                    .iter()
                    .cloned()
                    .chain(["__start__".to_string()])
                    .collect();
                self.visit_map(source, buf, pair.value, &inner, depth)?;
            } else {
                let holder = Holder::Pair {
                    path,
                    index: i,
                    pair_start: pair.start,
                };
                self.visit(source, channel, buf, pair.value..pair.end, holder, depth)?;
            }
        }
        Ok(())
    }
}

fn message_id(fields: &serde_json::Value) -> Option<String> {
    fields
        .get("id")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn value_texts(bytes: &[u8], depth: u32) -> Fields {
    let mut f = Fields::default();
    if let Some(v) = msgpack::decode(bytes, depth) {
        json_strings(&msgpack::to_json(&v, depth), "value", &[], depth, &mut f);
    }
    f
}

fn threads(db: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    db.prepare(
        "SELECT thread_id, checkpoint_ns FROM checkpoints \
         UNION SELECT thread_id, checkpoint_ns FROM writes ORDER BY 1, 2",
    )?
    .query_map([], |r| {
        Ok((
            text_col(r, 0)?.unwrap_or_default(),
            text_col(r, 1)?.unwrap_or_default(),
        ))
    })?
    .collect()
}

fn scan_thread(
    db: &Connection,
    thread_id: &str,
    ns: &str,
    depth: u32,
    warnings: &mut Vec<String>,
) -> rusqlite::Result<Thread> {
    let mut t = Thread::default();
    let mut stmt = db.prepare(
        "SELECT _rowid_, type, checkpoint FROM checkpoints \
         WHERE thread_id = ?1 AND checkpoint_ns IS ?2 ORDER BY checkpoint_id",
    )?;
    let rows = stmt.query_map([thread_id, ns], |r| {
        Ok((r.get::<_, i64>(0)?, text_col(r, 1)?, bytes_col(r, 2)?))
    })?;
    for row in rows {
        let (rowid, ty, blob) = row?;
        let Some(blob) = blob else { continue };
        if ty.as_deref() != Some("msgpack") {
            warnings.push(format!(
                "checkpoints rowid {rowid}: serializer {ty:?} not read"
            ));
            continue;
        }
        t.sources.push(Source {
            table: "checkpoints",
            rowid,
            column: "checkpoint",
        });
        let source = t.sources.len() - 1;
        let path = vec!["channel_values".to_string()];
        let walked = msgpack::find(&blob, &path).and_then(|pos| match pos {
            Some(pos) => t.visit_map(source, &blob, pos, &path, depth),
            None => Ok(()),
        });
        if let Err(e) = walked {
            warnings.push(format!("checkpoints rowid {rowid}: {e}"));
        }
    }
    let mut stmt = db.prepare(
        "SELECT _rowid_, channel, type, value FROM writes \
         WHERE thread_id = ?1 AND checkpoint_ns IS ?2 ORDER BY checkpoint_id, task_id, idx",
    )?;
    let rows = stmt.query_map([thread_id, ns], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            text_col(r, 1)?.unwrap_or_default(),
            text_col(r, 2)?,
            bytes_col(r, 3)?,
        ))
    })?;
    for row in rows {
        let (rowid, channel, ty, blob) = row?;
        let Some(blob) = blob.filter(|b| !b.is_empty()) else {
            continue;
        };
        if channel.starts_with("branch:") || ty.as_deref() == Some("null") {
            continue;
        }
        if ty.as_deref() != Some("msgpack") {
            warnings.push(format!("writes rowid {rowid}: serializer {ty:?} not read"));
            continue;
        }
        t.sources.push(Source {
            table: "writes",
            rowid,
            column: "value",
        });
        let source = t.sources.len() - 1;
        let walked = (|| -> Result<(), String> {
            if msgpack::value_end(&blob, 0)? != blob.len() {
                return Err("trailing bytes after the value".into());
            }
            let is_map = msgpack::children(&blob, 0)?.is_some_and(|c| c.kind == Kind::Map);
            if channel == "__start__" && is_map {
                t.visit_map(source, &blob, 0, &[], depth)
            } else {
                t.visit(source, &channel, &blob, 0..blob.len(), Holder::Row, depth)
            }
        })();
        if let Err(e) = walked {
            warnings.push(format!("writes rowid {rowid}: {e}"));
        }
    }
    Ok(t)
}

fn entry_id(thread_id: &str, ns: &str, key: &Key) -> String {
    let mut id = format!("checkpoint:{}/", esc(thread_id));
    if !ns.is_empty() {
        id.push_str(&esc(ns));
        id.push('/');
    }
    match key {
        Key::Message(m) => id.push_str(&esc(m)),
        Key::Item(ch, n) => id.push_str(&format!("{}[{n}]", esc(ch))),
        Key::Scalar(ch) => id.push_str(&esc(ch)),
    }
    id
}

/// The entries of one thread, with their keys; entries without text are left out.
fn thread_entries(thread_id: &str, ns: &str, t: &Thread) -> Vec<(Entry, Key)> {
    let mut by_key: BTreeMap<&Key, Fields> = BTreeMap::new();
    let mut order: Vec<&Key> = Vec::new();
    for s in &t.sightings {
        let f = by_key.entry(&s.key).or_insert_with(|| {
            order.push(&s.key);
            Fields::default()
        });
        for field in s.texts.iter() {
            f.push(field.name.clone(), &field.text);
        }
    }
    let mut out = Vec::new();
    let mut used = BTreeSet::new();
    for key in order {
        let Some(fields) = by_key.remove(key) else {
            continue;
        };
        if fields.is_empty() {
            continue;
        }
        let mut id = entry_id(thread_id, ns, key);
        // A message id that happens to spell a channel name must not share its id.
        while !used.insert(id.clone()) {
            id.push('~');
        }
        out.push((fields.into_entry(id), key.clone()));
    }
    out
}

/// The thread part of an entry id, to scan only the threads a plan needs.
fn id_thread(id: &str) -> Option<&str> {
    id.strip_prefix("checkpoint:")?.split('/').next()
}

impl Schema for LanggraphCheckpoints {
    fn kind(&self) -> StoreKind {
        StoreKind::LanggraphCheckpoints
    }

    fn entries(
        &self,
        db: &Connection,
        limits: &Limits,
        warnings: &mut Vec<String>,
    ) -> rusqlite::Result<Vec<Entry>> {
        let mut out = Vec::new();
        for (thread_id, ns) in threads(db)? {
            let t = scan_thread(db, &thread_id, &ns, limits.max_nesting, warnings)?;
            out.extend(
                thread_entries(&thread_id, &ns, &t)
                    .into_iter()
                    .map(|(e, _)| e),
            );
        }
        Ok(out)
    }

    fn plan(
        &self,
        db: &Connection,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<RemovedEntry>, StoreError> {
        let wanted: BTreeSet<&str> = ids.iter().filter_map(|id| id_thread(id)).collect();
        let depth = Limits::default().max_nesting;
        let mut found: BTreeMap<String, RemovedEntry> = BTreeMap::new();
        for (thread_id, ns) in threads(db).map_err(write_err)? {
            if !wanted.contains(esc(&thread_id).as_str()) {
                continue;
            }
            let t = scan_thread(db, &thread_id, &ns, depth, &mut Vec::new()).map_err(write_err)?;
            let entries: Vec<(Entry, Key)> = thread_entries(&thread_id, &ns, &t)
                .into_iter()
                .filter(|(e, _)| ids.contains(&e.id))
                .collect();
            let keys: Vec<&Key> = entries.iter().map(|(_, k)| k).collect();
            // Every index this purge takes out of each container of each blob.
            let mut taken: BTreeMap<(usize, Vec<String>), Vec<usize>> = BTreeMap::new();
            for s in t.sightings.iter().filter(|s| keys.contains(&&s.key)) {
                if let Loc::Cut { path, index } = &s.loc {
                    taken
                        .entry((s.source, path.clone()))
                        .or_default()
                        .push(*index);
                }
            }
            for (entry, key) in &entries {
                let mut removal = Removal {
                    rows: Vec::new(),
                    cuts: Vec::new(),
                };
                for s in t.sightings.iter().filter(|s| &s.key == key) {
                    let src = &t.sources[s.source];
                    match &s.loc {
                        Loc::Cut { path, index } => removal.cuts.push(Cut {
                            table: src.table.to_string(),
                            rowid: src.rowid,
                            column: src.column.to_string(),
                            path: path.clone(),
                            index: *index,
                            taken: taken
                                .get(&(s.source, path.clone()))
                                .cloned()
                                .unwrap_or_default(),
                            bytes: s.bytes.clone(),
                        }),
                        Loc::Row => removal.rows.extend(
                            fetch_rows(db, src.table, "_rowid_ = ?1", &[&src.rowid])
                                .map_err(write_err)?,
                        ),
                    }
                }
                found.insert(entry.id.clone(), removal.into_entry(entry));
            }
        }
        unknown_ids(ids, |id| found.contains_key(id))?;
        Ok(found.into_values().collect())
    }

    fn remove(&self, db: &Connection, removed: &[RemovedEntry]) -> Result<(), StoreError> {
        let (rows, cuts) = group(removed)?;
        for ((table, rowid, column), by_path) in cuts {
            let mut blob = load_blob(db, &table, rowid, &column)?;
            for (path, cs) in by_path {
                let items: Vec<(usize, &[u8])> =
                    cs.iter().map(|c| (c.index, c.bytes.as_slice())).collect();
                blob = msgpack::cut(&blob, &path, &items)
                    .map_err(|e| blob_err(&table, rowid, &path, &e))?;
            }
            store_blob(db, &table, rowid, &column, &blob)?;
        }
        for row in &rows {
            delete_row(db, row)?;
        }
        Ok(())
    }

    fn put_back(&self, db: &Connection, removed: &[RemovedEntry]) -> Result<(), StoreError> {
        let (rows, cuts) = group(removed)?;
        for row in rows.iter().rev() {
            insert_row(db, row)?;
        }
        for ((table, rowid, column), by_path) in cuts {
            let mut blob = load_blob(db, &table, rowid, &column)?;
            for (path, mut cs) in by_path {
                cs.sort_by_key(|c| c.index);
                let back: BTreeSet<usize> = cs.iter().map(|c| c.index).collect();
                let taken: BTreeSet<usize> =
                    cs.iter().flat_map(|c| c.taken.iter().copied()).collect();
                // Each goes back at its old index, less the ones before it still out.
                let items: Vec<(usize, &[u8])> = cs
                    .iter()
                    .map(|c| {
                        let still_out = taken
                            .iter()
                            .filter(|j| **j < c.index && !back.contains(j))
                            .count();
                        (c.index - still_out, c.bytes.as_slice())
                    })
                    .collect();
                blob = msgpack::paste(&blob, &path, &items)
                    .map_err(|e| blob_err(&table, rowid, &path, &e))?;
            }
            store_blob(db, &table, rowid, &column, &blob)?;
        }
        Ok(())
    }

    fn notes(&self, _path: &Path) -> Vec<String> {
        vec![
            "Restart any graph that had these threads loaded: a running LangGraph app keeps \
             the state of active threads in memory and would write it back."
                .to_string(),
            "Checkpoint metadata (JSON) was not changed; it holds step numbers and sources, \
             not messages, in current LangGraph versions."
                .to_string(),
        ]
    }
}

/// Cuts by blob (table, rowid, column), then by container path.
type CutsByBlob = BTreeMap<(String, i64, String), BTreeMap<Vec<String>, Vec<Cut>>>;

/// The whole rows and the cuts of several removed entries, cuts grouped by blob and
/// container so each blob is rewritten once.
fn group(removed: &[RemovedEntry]) -> Result<(Vec<super::Row>, CutsByBlob), StoreError> {
    let mut cuts = CutsByBlob::new();
    let mut rows = Vec::new();
    for r in removed {
        let removal = Removal::from_entry(r)?;
        rows.extend(removal.rows);
        for c in removal.cuts {
            cuts.entry((c.table.clone(), c.rowid, c.column.clone()))
                .or_default()
                .entry(c.path.clone())
                .or_default()
                .push(c);
        }
    }
    Ok((rows, cuts))
}

fn blob_err(table: &str, rowid: i64, path: &[String], e: &str) -> StoreError {
    StoreError::Invalid(format!(
        "{table} rowid {rowid}, at {}: {e}; plan again",
        if path.is_empty() {
            "the root".to_string()
        } else {
            path.join(".")
        }
    ))
}

fn load_blob(
    db: &Connection,
    table: &str,
    rowid: i64,
    column: &str,
) -> Result<Vec<u8>, StoreError> {
    db.query_row(
        &format!(
            "SELECT {} FROM {} WHERE _rowid_ = ?1",
            super::quote_ident(column),
            super::quote_ident(table)
        ),
        [rowid],
        |r| r.get::<_, Vec<u8>>(0),
    )
    .map_err(|e| StoreError::Invalid(format!("{table} rowid {rowid}: {e}")))
}

fn store_blob(
    db: &Connection,
    table: &str,
    rowid: i64,
    column: &str,
    blob: &[u8],
) -> Result<(), StoreError> {
    let n = db
        .execute(
            &format!(
                "UPDATE {} SET {} = ?1 WHERE _rowid_ = ?2",
                super::quote_ident(table),
                super::quote_ident(column)
            ),
            rusqlite::params![blob, rowid],
        )
        .map_err(write_err)?;
    if n != 1 {
        return Err(StoreError::Invalid(format!(
            "{table} rowid {rowid} is gone; plan again"
        )));
    }
    Ok(())
}
