//! Chroma's persistent store (`chroma.sqlite3`).
//!
//! A record's text lives in four places: `embedding_metadata` (the document is the row with
//! key `chroma:document`, other string metadata beside it), `embedding_metadata_array`, the
//! FTS5 table `embedding_fulltext_search` (content and trigram index), and the write-ahead
//! log `embeddings_queue` (every add and update, with the document in its metadata JSON),
//! which Chroma's own delete leaves behind. Entries are the union of records in the metadata
//! segment and in the queue, so a record "deleted" through Chroma is still found.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::Connection;

use super::{
    esc, fetch_rows, table_exists, text_col, unknown_ids, write_err, Fields, Removal, RowClaims,
    Schema,
};
use crate::document::Limits;
use crate::store::{Entry, RemovedEntry, StoreError, StoreKind};

pub(crate) struct Chroma;

const DOCUMENT_KEY: &str = "chroma:document";
const FTS: &str = "embedding_fulltext_search";

/// One record: a user id within one collection.
struct Record {
    collection_id: String,
    embedding_id: String,
    /// `embeddings.id` of its rows in the collection's metadata segment(s).
    row_ids: Vec<i64>,
    texts: Vec<(String, String)>,
}

/// Collection id → label.
type Labels = BTreeMap<String, String>;
/// (collection id, embedding id) → record.
type Records = BTreeMap<(String, String), Record>;

/// collection id → the label used in entry ids (its name, or `name@uuid` when two
/// databases have a collection of the same name, or the uuid when the collection is gone).
fn collection_labels(db: &Connection) -> rusqlite::Result<BTreeMap<String, String>> {
    let rows: Vec<(String, String)> = db
        .prepare("SELECT id, name FROM collections ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, name) in &rows {
        *count.entry(name).or_default() += 1;
    }
    Ok(rows
        .iter()
        .map(|(id, name)| {
            let label = if count[name.as_str()] > 1 {
                format!("{name}@{id}")
            } else {
                name.clone()
            };
            (id.clone(), label)
        })
        .collect())
}

fn field_name(key: &str) -> String {
    if key == DOCUMENT_KEY {
        "document".to_string()
    } else {
        format!("metadata.{key}")
    }
}

/// The collection a queue topic belongs to (`persistent://tenant/db/<collection uuid>`).
fn topic_collection(topic: &str) -> &str {
    topic.rsplit('/').next().unwrap_or(topic)
}

fn records(db: &Connection, warnings: &mut Vec<String>) -> rusqlite::Result<(Labels, Records)> {
    let labels = collection_labels(db)?;
    let segment_collection: BTreeMap<String, String> = db
        .prepare("SELECT id, collection FROM segments WHERE scope = 'METADATA'")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut recs: BTreeMap<(String, String), Record> = BTreeMap::new();
    let mut by_row: BTreeMap<i64, (String, String)> = BTreeMap::new();
    let mut stmt = db.prepare("SELECT id, segment_id, embedding_id FROM embeddings ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            text_col(r, 1)?.unwrap_or_default(),
            text_col(r, 2)?.unwrap_or_default(),
        ))
    })?;
    for row in rows {
        let (id, segment, embedding_id) = row?;
        let Some(collection) = segment_collection.get(&segment) else {
            warnings.push(format!(
                "embeddings row {id}: segment {segment} is not a metadata segment"
            ));
            continue;
        };
        let key = (collection.clone(), embedding_id.clone());
        recs.entry(key.clone())
            .or_insert_with(|| Record {
                collection_id: collection.clone(),
                embedding_id,
                row_ids: Vec::new(),
                texts: Vec::new(),
            })
            .row_ids
            .push(id);
        by_row.insert(id, key);
    }
    let mut stmt = db.prepare(
        "SELECT id, key, string_value FROM embedding_metadata \
         WHERE string_value IS NOT NULL ORDER BY id, key",
    )?;
    for row in stmt.query_map([], |r| {
        Ok((r.get::<_, i64>(0)?, text_col(r, 1)?, text_col(r, 2)?))
    })? {
        let (id, key, text) = row?;
        let (Some(key), Some(text)) = (key, text) else {
            continue;
        };
        if let Some(rec) = by_row.get(&id).and_then(|k| recs.get_mut(k)) {
            rec.texts.push((field_name(&key), text));
        }
    }
    if table_exists(db, "embedding_metadata_array")? {
        let mut stmt = db.prepare(
            "SELECT id, key, string_value FROM embedding_metadata_array \
             WHERE string_value IS NOT NULL ORDER BY id, key, rowid",
        )?;
        for row in stmt.query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, text_col(r, 1)?, text_col(r, 2)?))
        })? {
            let (id, key, text) = row?;
            let (Some(key), Some(text)) = (key, text) else {
                continue;
            };
            if let Some(rec) = by_row.get(&id).and_then(|k| recs.get_mut(k)) {
                rec.texts.push((format!("{}[]", field_name(&key)), text));
            }
        }
    }
    // The write-ahead log: operations not yet applied, and copies of applied ones.
    let mut stmt =
        db.prepare("SELECT seq_id, topic, id, metadata FROM embeddings_queue ORDER BY seq_id")?;
    for row in stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            text_col(r, 1)?.unwrap_or_default(),
            text_col(r, 2)?.unwrap_or_default(),
            text_col(r, 3)?,
        ))
    })? {
        let (seq, topic, embedding_id, metadata) = row?;
        let collection = topic_collection(&topic).to_string();
        let rec = recs
            .entry((collection.clone(), embedding_id.clone()))
            .or_insert_with(|| Record {
                collection_id: collection,
                embedding_id,
                row_ids: Vec::new(),
                texts: Vec::new(),
            });
        let Some(metadata) = metadata else { continue };
        match serde_json::from_str::<serde_json::Value>(&metadata) {
            Ok(serde_json::Value::Object(map)) => {
                for (k, v) in map {
                    match v {
                        serde_json::Value::String(s) => rec.texts.push((field_name(&k), s)),
                        serde_json::Value::Array(items) => {
                            for s in items.into_iter().filter_map(|i| match i {
                                serde_json::Value::String(s) => Some(s),
                                _ => None,
                            }) {
                                rec.texts.push((format!("{}[]", field_name(&k)), s));
                            }
                        }
                        _ => {}
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                warnings.push(format!(
                    "embeddings_queue seq_id {seq}: metadata is not JSON: {e}"
                ));
                rec.texts.push(("queue.metadata".to_string(), metadata));
            }
        }
    }
    Ok((labels, recs))
}

fn entry_id(labels: &BTreeMap<String, String>, rec: &Record) -> String {
    let label = labels
        .get(&rec.collection_id)
        .cloned()
        .unwrap_or_else(|| rec.collection_id.clone());
    format!("chroma:{}/{}", esc(&label), esc(&rec.embedding_id))
}

fn entry(labels: &BTreeMap<String, String>, rec: &Record) -> Entry {
    // The document first, then metadata by name, whichever table it was read from, so a
    // record has the same fields (and hash) whether it is in the segment or only the queue.
    let mut texts: Vec<&(String, String)> = rec.texts.iter().collect();
    texts.sort_by_key(|(name, _)| (name != "document", name.clone()));
    let mut fields = Fields::default();
    for (name, text) in texts {
        fields.push(name.clone(), text);
    }
    fields.into_entry(entry_id(labels, rec))
}

impl Schema for Chroma {
    fn kind(&self) -> StoreKind {
        StoreKind::Chroma
    }

    fn entries(
        &self,
        db: &Connection,
        _limits: &Limits,
        warnings: &mut Vec<String>,
    ) -> rusqlite::Result<Vec<Entry>> {
        let (labels, recs) = records(db, warnings)?;
        Ok(recs.values().map(|r| entry(&labels, r)).collect())
    }

    fn plan(
        &self,
        db: &Connection,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<RemovedEntry>, StoreError> {
        let mut warnings = Vec::new();
        let (labels, recs) = records(db, &mut warnings).map_err(write_err)?;
        let by_id: BTreeMap<String, &Record> =
            recs.values().map(|r| (entry_id(&labels, r), r)).collect();
        unknown_ids(ids, |id| by_id.contains_key(id))?;
        let has_fts = table_exists(db, FTS).map_err(write_err)?;
        let has_array = table_exists(db, "embedding_metadata_array").map_err(write_err)?;
        let mut claims = RowClaims::default();
        let mut out = Vec::new();
        for id in ids {
            let rec = by_id[id];
            let mut rows = Vec::new();
            for rid in &rec.row_ids {
                // Children first: deletion runs in this order, reinsertion in reverse.
                if has_fts {
                    rows.extend(fetch_rows(db, FTS, "_rowid_ = ?1", &[rid]).map_err(write_err)?);
                }
                rows.extend(
                    fetch_rows(db, "embedding_metadata", "id = ?1", &[rid]).map_err(write_err)?,
                );
                if has_array {
                    rows.extend(
                        fetch_rows(db, "embedding_metadata_array", "id = ?1", &[rid])
                            .map_err(write_err)?,
                    );
                }
                rows.extend(fetch_rows(db, "embeddings", "id = ?1", &[rid]).map_err(write_err)?);
            }
            let queue = fetch_rows(db, "embeddings_queue", "id = ?1", &[&rec.embedding_id])
                .map_err(write_err)?;
            rows.extend(queue.into_iter().filter(|row| {
                matches!(row.get("topic"), Some(super::SqlValue::Text(t))
                    if topic_collection(t) == rec.collection_id)
            }));
            let rows = claims.claim(rows);
            out.push(
                Removal {
                    rows,
                    cuts: Vec::new(),
                }
                .into_entry(&entry(&labels, rec)),
            );
        }
        Ok(out)
    }

    fn after_remove(&self, db: &Connection) -> Result<(), StoreError> {
        // A deleted document's trigrams stay in older FTS5 segments until they are merged;
        // 'optimize' merges everything into one segment without them.
        if table_exists(db, FTS).map_err(write_err)? {
            db.execute(&format!("INSERT INTO {FTS}({FTS}) VALUES('optimize')"), [])
                .map_err(write_err)?;
        }
        Ok(())
    }

    fn notes(&self, path: &Path) -> Vec<String> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let segments: Vec<String> = super::open_read(path)
            .ok()
            .and_then(|db| {
                db.conn
                    .prepare("SELECT id FROM segments WHERE scope = 'VECTOR' ORDER BY id")
                    .and_then(|mut s| {
                        s.query_map([], |r| r.get::<_, String>(0))?
                            .collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .ok()
            })
            .unwrap_or_default();
        let folders: Vec<String> = segments
            .iter()
            .map(|s| dir.join(s))
            .filter(|p| p.is_dir())
            .map(|p| p.display().to_string())
            .collect();
        let where_ = if folders.is_empty() {
            format!("the vector segment folders in {}", dir.display())
        } else {
            folders.join(", ")
        };
        vec![
            format!(
                "Chroma's HNSW vector index ({where_}) still holds the vectors of removed \
                 records: numbers and an integer label, no text. Chroma no longer returns them. \
                 To drop them too, re-create the collection (read the remaining records, delete \
                 the collection, add them again)."
            ),
            "Restart every process that had this Chroma store open: it caches records and \
             vectors in memory."
                .to_string(),
        ]
    }
}
