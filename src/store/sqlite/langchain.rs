//! LangChain's `SQLChatMessageHistory`: `message_store(id, session_id, message)`, one row per
//! message, the message as JSON (`{"type": ..., "data": {"content": ...}}`). A row is the
//! whole copy: no index or full-text table repeats it.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use super::{
    fetch_rows, message_fields, quote_ident, table_columns_all, unknown_ids, write_err, Fields,
    Removal, Schema,
};
use crate::document::Limits;
use crate::store::{Entry, RemovedEntry, StoreError, StoreKind};

pub(crate) struct LangchainChat;

/// The chat table: `message_store`, or another table with the same columns (the table name
/// is a constructor argument).
pub(crate) fn chat_table(tables: &BTreeMap<String, Vec<String>>) -> Option<String> {
    let fits = |cols: &Vec<String>| {
        ["id", "session_id", "message"]
            .iter()
            .all(|c| cols.iter().any(|x| x == c))
    };
    if tables.get("message_store").is_some_and(fits) {
        return Some("message_store".to_string());
    }
    tables
        .iter()
        .find(|(_, cols)| cols.len() == 3 && fits(cols))
        .map(|(t, _)| t.clone())
}

fn index(db: &Connection, limits: &Limits) -> rusqlite::Result<(String, Vec<(Entry, i64)>)> {
    let table = chat_table(&table_columns_all(db)?).ok_or_else(|| {
        rusqlite::Error::InvalidParameterName("no message_store table".to_string())
    })?;
    let mut stmt = db.prepare(&format!(
        "SELECT _rowid_, id, message FROM {} ORDER BY _rowid_",
        quote_ident(&table)
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, rusqlite::types::Value>(1)?,
            super::text_col(r, 2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (rowid, id, message) = row?;
        let id = match id {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => super::esc(&t),
            _ => rowid.to_string(),
        };
        let mut fields = Fields::default();
        if let Some(m) = &message {
            match serde_json::from_str::<serde_json::Value>(m) {
                Ok(v) if v.get("data").is_some() => {
                    message_fields(&v["data"], "data", limits.max_nesting, &mut fields)
                }
                _ => fields.push("message", m),
            }
        }
        out.push((fields.into_entry(format!("{table}:{id}")), rowid));
    }
    Ok((table, out))
}

impl Schema for LangchainChat {
    fn kind(&self) -> StoreKind {
        StoreKind::LangchainChat
    }

    fn entries(
        &self,
        db: &Connection,
        limits: &Limits,
        _warnings: &mut Vec<String>,
    ) -> rusqlite::Result<Vec<Entry>> {
        Ok(index(db, limits)?.1.into_iter().map(|(e, _)| e).collect())
    }

    fn plan(
        &self,
        db: &Connection,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<RemovedEntry>, StoreError> {
        let (table, all) = index(db, &Limits::default()).map_err(write_err)?;
        let by_id: BTreeMap<&str, &(Entry, i64)> =
            all.iter().map(|x| (x.0.id.as_str(), x)).collect();
        unknown_ids(ids, |id| by_id.contains_key(id))?;
        let mut out = Vec::new();
        for id in ids {
            let (entry, rowid) = by_id[id.as_str()];
            let rows = fetch_rows(db, &table, "_rowid_ = ?1", &[rowid]).map_err(write_err)?;
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
