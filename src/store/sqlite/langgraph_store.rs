//! LangGraph's SQLite store (`SqliteStore`, long-term memory): `store(prefix, key, value)`
//! with the value as JSON text, and with a vector index `store_vectors(prefix, key,
//! field_name, embedding)`. LangGraph's own delete leaves the `store_vectors` rows (its
//! connection has foreign keys off, so the cascade never fires); the purge removes both.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use super::{
    esc, fetch_rows, json_strings, table_exists, text_col, unknown_ids, write_err, Fields, Removal,
    Schema,
};
use crate::document::Limits;
use crate::store::{Entry, RemovedEntry, StoreError, StoreKind};

pub(crate) struct LanggraphStore;

fn index(db: &Connection, limits: &Limits) -> rusqlite::Result<Vec<(Entry, (String, String))>> {
    let mut stmt = db.prepare("SELECT prefix, key, value FROM store ORDER BY prefix, key")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            text_col(r, 0)?.unwrap_or_default(),
            text_col(r, 1)?.unwrap_or_default(),
            text_col(r, 2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (prefix, key, value) = row?;
        let mut fields = Fields::default();
        if let Some(v) = &value {
            match serde_json::from_str::<serde_json::Value>(v) {
                Ok(json) => json_strings(&json, "value", &[], limits.max_nesting, &mut fields),
                Err(_) => fields.push("value", v),
            }
        }
        let id = format!("store:{}/{}", esc(&prefix), esc(&key));
        out.push((fields.into_entry(id), (prefix, key)));
    }
    Ok(out)
}

impl Schema for LanggraphStore {
    fn kind(&self) -> StoreKind {
        StoreKind::LanggraphStore
    }

    fn entries(
        &self,
        db: &Connection,
        limits: &Limits,
        _warnings: &mut Vec<String>,
    ) -> rusqlite::Result<Vec<Entry>> {
        Ok(index(db, limits)?.into_iter().map(|(e, _)| e).collect())
    }

    fn plan(
        &self,
        db: &Connection,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<RemovedEntry>, StoreError> {
        let all = index(db, &Limits::default()).map_err(write_err)?;
        let by_id: BTreeMap<&str, &(Entry, (String, String))> =
            all.iter().map(|x| (x.0.id.as_str(), x)).collect();
        unknown_ids(ids, |id| by_id.contains_key(id))?;
        let vectors = table_exists(db, "store_vectors").map_err(write_err)?;
        let mut out = Vec::new();
        for id in ids {
            let (entry, (prefix, key)) = by_id[id.as_str()];
            let mut rows = Vec::new();
            if vectors {
                rows.extend(
                    fetch_rows(
                        db,
                        "store_vectors",
                        "prefix = ?1 AND key = ?2",
                        &[prefix, key],
                    )
                    .map_err(write_err)?,
                );
            }
            rows.extend(
                fetch_rows(db, "store", "prefix = ?1 AND key = ?2", &[prefix, key])
                    .map_err(write_err)?,
            );
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
}
