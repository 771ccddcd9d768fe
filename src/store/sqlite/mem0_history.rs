//! mem0's history database (`history.db`).
//!
//! `history` keeps every ADD, UPDATE and DELETE of a memory with the old and new text, so
//! the text of a memory deleted through mem0 is still here. `messages` keeps recent raw chat
//! messages (used when mem0 extracts facts itself). A memory is one entry; purging it removes
//! all its history rows and the messages that carry its text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::Connection;

use super::{
    esc, fetch_rows, table_exists, text_col, unknown_ids, write_err, Fields, Removal, RowClaims,
    Schema, SqlValue,
};
use crate::document::Limits;
use crate::store::{Entry, RemovedEntry, StoreError, StoreKind};

pub(crate) struct Mem0History;

/// A message is removed with a memory when it contains the memory's text; short texts
/// ("yes") must match the whole message, or they would take unrelated messages with them.
const MIN_CONTAINED_LEN: usize = 20;

enum Key {
    Memory(String),
    HistoryRow(String),
    Message(String),
}

fn index(db: &Connection) -> rusqlite::Result<Vec<(Entry, Key)>> {
    let mut by_memory: BTreeMap<String, Fields> = BTreeMap::new();
    let mut out = Vec::new();
    let mut stmt =
        db.prepare("SELECT id, memory_id, old_memory, new_memory FROM history ORDER BY rowid")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            text_col(r, 0)?,
            text_col(r, 1)?,
            text_col(r, 2)?,
            text_col(r, 3)?,
        ))
    })?;
    for row in rows {
        let (id, memory_id, old, new) = row?;
        let push = |f: &mut Fields| {
            if let Some(t) = &old {
                f.push("old_memory", t);
            }
            if let Some(t) = &new {
                f.push("new_memory", t);
            }
        };
        match (memory_id, id) {
            (Some(m), _) => push(by_memory.entry(m).or_default()),
            (None, Some(id)) => {
                let mut f = Fields::default();
                push(&mut f);
                out.push((
                    f.into_entry(format!("history:{}", esc(&id))),
                    Key::HistoryRow(id),
                ));
            }
            (None, None) => {}
        }
    }
    for (m, f) in by_memory {
        out.push((f.into_entry(format!("mem0:{}", esc(&m))), Key::Memory(m)));
    }
    if table_exists(db, "messages")? {
        let mut stmt = db.prepare("SELECT id, content FROM messages ORDER BY rowid")?;
        let rows = stmt.query_map([], |r| Ok((text_col(r, 0)?, text_col(r, 1)?)))?;
        for row in rows {
            let (Some(id), content) = row? else { continue };
            let mut f = Fields::default();
            if let Some(c) = &content {
                f.push("content", c);
            }
            out.push((
                f.into_entry(format!("messages:{}", esc(&id))),
                Key::Message(id),
            ));
        }
    }
    Ok(out)
}

fn carries(content: &str, texts: &[&str]) -> bool {
    texts
        .iter()
        .any(|t| content == *t || (t.chars().count() >= MIN_CONTAINED_LEN && content.contains(t)))
}

impl Schema for Mem0History {
    fn kind(&self) -> StoreKind {
        StoreKind::Mem0History
    }

    fn entries(
        &self,
        db: &Connection,
        _limits: &Limits,
        _warnings: &mut Vec<String>,
    ) -> rusqlite::Result<Vec<Entry>> {
        Ok(index(db)?.into_iter().map(|(e, _)| e).collect())
    }

    fn plan(
        &self,
        db: &Connection,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<RemovedEntry>, StoreError> {
        let all = index(db).map_err(write_err)?;
        let by_id: BTreeMap<&str, &(Entry, Key)> =
            all.iter().map(|x| (x.0.id.as_str(), x)).collect();
        unknown_ids(ids, |id| by_id.contains_key(id))?;
        let has_messages = table_exists(db, "messages").map_err(write_err)?;
        let mut claims = RowClaims::default();
        let mut out = Vec::new();
        for id in ids {
            let (entry, key) = by_id[id.as_str()];
            let rows = match key {
                Key::Memory(m) => {
                    let mut rows =
                        fetch_rows(db, "history", "memory_id = ?1", &[m]).map_err(write_err)?;
                    if has_messages {
                        let texts: Vec<&str> =
                            entry.fields.iter().map(|f| f.text.as_str()).collect();
                        let messages = fetch_rows(db, "messages", "content IS NOT NULL", &[])
                            .map_err(write_err)?;
                        rows.extend(messages.into_iter().filter(|r| {
                            matches!(r.get("content"), Some(SqlValue::Text(c)) if carries(c, &texts))
                        }));
                    }
                    rows
                }
                Key::HistoryRow(h) => {
                    fetch_rows(db, "history", "id = ?1", &[h]).map_err(write_err)?
                }
                Key::Message(m) => {
                    fetch_rows(db, "messages", "id = ?1", &[m]).map_err(write_err)?
                }
            };
            out.push(
                Removal {
                    rows: claims.claim(rows),
                    cuts: Vec::new(),
                }
                .into_entry(entry),
            );
        }
        Ok(out)
    }

    fn notes(&self, _path: &Path) -> Vec<String> {
        vec![
            "mem0 keeps each memory in its vector store too: purge the same mem0:<memory id> \
             entries there (Qdrant local mode: <qdrant path>/collection/<name>/storage.sqlite; \
             other backends with their own tools)."
                .to_string(),
            "Restart the application using this mem0 instance.".to_string(),
        ]
    }
}
