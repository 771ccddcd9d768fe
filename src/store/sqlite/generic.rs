//! Any SQLite database: every TEXT value, and every BLOB that holds text, of every table.
//!
//! An entry is one row: `<table>:<primary key>` (key columns joined by `/`), or
//! `<table>:<rowid>` for tables without a primary key. Full-text tables are read through
//! their virtual table, not their shadow tables (which repeat the same text in pieces), and
//! external-content full-text tables not at all (their content table is read). A purge
//! deletes the row and then merges every full-text index so no trigram of it survives.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::Connection;

use super::{
    esc, fetch_rows, primary_key, quote_ident, table_columns, text_like, unknown_ids,
    without_rowid, write_err, Fields, Removal, Schema, SqlValue,
};
use crate::document::Limits;
use crate::store::{Entry, RemovedEntry, StoreError, StoreKind};

pub(crate) struct Generic;

/// Shadow tables of FTS3/4/5 and R*Tree: `<virtual table>_<suffix>`.
const SHADOW_SUFFIXES: &[&str] = &[
    "content", "data", "idx", "docsize", "config", "segments", "segdir", "stat", "node", "parent",
    "rowid",
];

struct Table {
    name: String,
    columns: Vec<String>,
    pk: Vec<String>,
    no_rowid: bool,
}

/// Where a row is: the key used to fetch it again.
#[derive(Clone)]
enum RowKey {
    Rowid(i64),
    Pk(Vec<SqlValue>),
}

fn is_fts(sql: &str) -> bool {
    let s = sql.to_ascii_lowercase();
    ["using fts3", "using fts4", "using fts5"]
        .iter()
        .any(|m| s.contains(m))
}

/// `content=<table>` in an FTS declaration: its text is that table's.
fn external_content(sql: &str) -> bool {
    let s: String = sql.to_ascii_lowercase().split_whitespace().collect();
    s.split(['(', ',', ')'])
        .any(|arg| arg.starts_with("content=") && !matches!(arg, "content=''" | "content=\"\""))
}

/// Tables to read, and the names of full-text tables (to merge after a purge).
fn tables(
    db: &Connection,
    warnings: &mut Vec<String>,
) -> rusqlite::Result<(Vec<Table>, Vec<String>)> {
    let all: Vec<(String, Option<String>)> = db
        .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table' ORDER BY name")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let virtual_tables: Vec<(&str, &str)> = all
        .iter()
        .filter_map(|(n, sql)| {
            let sql = sql.as_deref()?;
            sql.to_ascii_uppercase()
                .trim_start()
                .starts_with("CREATE VIRTUAL TABLE")
                .then_some((n.as_str(), sql))
        })
        .collect();
    let shadows: HashSet<String> = virtual_tables
        .iter()
        .filter(|(_, sql)| {
            let s = sql.to_ascii_lowercase();
            is_fts(sql) || s.contains("using rtree")
        })
        .flat_map(|(v, _)| SHADOW_SUFFIXES.iter().map(move |s| format!("{v}_{s}")))
        .collect();
    let fts: Vec<String> = virtual_tables
        .iter()
        .filter(|(_, sql)| is_fts(sql))
        .map(|(n, _)| n.to_string())
        .collect();
    let mut out = Vec::new();
    for (name, sql) in &all {
        if name.starts_with("sqlite_") || shadows.contains(name) {
            continue;
        }
        let sql = sql.as_deref().unwrap_or("");
        if is_fts(sql) && external_content(sql) {
            continue;
        }
        let columns = match table_columns(db, name) {
            Ok(c) => c,
            Err(e) => {
                warnings.push(format!("table {name} not read: {e}"));
                continue;
            }
        };
        let no_rowid = without_rowid(db, name)?;
        let pk = primary_key(db, name)?;
        out.push(Table {
            name: name.clone(),
            columns,
            pk,
            no_rowid,
        });
    }
    Ok((out, fts))
}

/// An entry, its table and where its row is.
type Indexed = (Entry, String, RowKey);

fn key_text(v: &SqlValue) -> String {
    match v {
        SqlValue::Null => "null".to_string(),
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Real(f) => format!("{f:?}"),
        SqlValue::Text(s) => esc(s),
        SqlValue::TextBytes(b) | SqlValue::Blob(b) => hex::encode(b),
    }
}

fn index(
    db: &Connection,
    warnings: &mut Vec<String>,
) -> rusqlite::Result<(Vec<Indexed>, Vec<String>)> {
    let (tables, fts) = tables(db, warnings)?;
    let mut out = Vec::new();
    for t in &tables {
        let list = t
            .columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = if t.no_rowid {
            format!("SELECT NULL, {list} FROM {}", quote_ident(&t.name))
        } else {
            format!(
                "SELECT _rowid_, {list} FROM {} ORDER BY _rowid_",
                quote_ident(&t.name)
            )
        };
        let mut stmt = match db.prepare(&sql) {
            Ok(s) => s,
            Err(e) => {
                warnings.push(format!("table {} not read: {e}", t.name));
                continue;
            }
        };
        let pk_at: Vec<usize> =
            t.pk.iter()
                .filter_map(|k| t.columns.iter().position(|c| c == k))
                .collect();
        let mut seen = HashSet::new();
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let rowid: Option<i64> = r.get(0)?;
            let mut fields = Fields::default();
            let mut key_values = Vec::new();
            for (i, col) in t.columns.iter().enumerate() {
                let v = r.get_ref(i + 1)?;
                match v {
                    ValueRef::Text(b) => fields.push(col.as_str(), &String::from_utf8_lossy(b)),
                    ValueRef::Blob(b) => {
                        if let Some(s) = text_like(b) {
                            fields.push(col.as_str(), s);
                        }
                    }
                    _ => {}
                }
                if pk_at.contains(&i) {
                    key_values.push(SqlValue::from_ref(v));
                }
            }
            if fields.is_empty() {
                continue;
            }
            // `:` ends the table part of the id.
            let table = esc(&t.name).replace(':', "%3A");
            let (mut id, key) = match (rowid, key_values.is_empty()) {
                (_, false) => (
                    format!(
                        "{table}:{}",
                        key_values
                            .iter()
                            .map(key_text)
                            .collect::<Vec<_>>()
                            .join("/")
                    ),
                    if t.no_rowid {
                        RowKey::Pk(key_values)
                    } else {
                        RowKey::Rowid(rowid.unwrap_or_default())
                    },
                ),
                (Some(rowid), true) => (format!("{table}:{rowid}"), RowKey::Rowid(rowid)),
                (None, true) => continue,
            };
            // Primary keys of rowid tables may repeat NULLs (an old SQLite quirk).
            if !seen.insert(id.clone()) {
                if let Some(rowid) = rowid {
                    id = format!("{table}:#{rowid}");
                }
            }
            out.push((fields.into_entry(id), t.name.clone(), key));
        }
    }
    Ok((out, fts))
}

impl Schema for Generic {
    fn kind(&self) -> StoreKind {
        StoreKind::Sqlite
    }

    fn entries(
        &self,
        db: &Connection,
        _limits: &Limits,
        warnings: &mut Vec<String>,
    ) -> rusqlite::Result<Vec<Entry>> {
        Ok(index(db, warnings)?
            .0
            .into_iter()
            .map(|(e, _, _)| e)
            .collect())
    }

    fn plan(
        &self,
        db: &Connection,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<RemovedEntry>, StoreError> {
        let (all, _) = index(db, &mut Vec::new()).map_err(write_err)?;
        let by_id: BTreeMap<&str, &Indexed> = all.iter().map(|x| (x.0.id.as_str(), x)).collect();
        unknown_ids(ids, |id| by_id.contains_key(id))?;
        let mut out = Vec::new();
        for id in ids {
            let (entry, table, key) = by_id[id.as_str()];
            let rows = match key {
                RowKey::Rowid(rowid) => fetch_rows(db, table, "_rowid_ = ?1", &[rowid]),
                RowKey::Pk(values) => {
                    let pk = primary_key(db, table).map_err(write_err)?;
                    let filter = pk
                        .iter()
                        .zip(values)
                        .enumerate()
                        .map(|(i, (c, v))| {
                            format!("{} IS {}", quote_ident(c), v.placeholder(i + 1))
                        })
                        .collect::<Vec<_>>()
                        .join(" AND ");
                    let params: Vec<&dyn rusqlite::ToSql> =
                        values.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
                    fetch_rows(db, table, &filter, &params)
                }
            }
            .map_err(write_err)?;
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

    fn after_remove(&self, db: &Connection) -> Result<(), StoreError> {
        let (_, fts) = tables(db, &mut Vec::new()).map_err(write_err)?;
        for t in fts {
            let q = quote_ident(&t);
            db.execute(&format!("INSERT INTO {q}({q}) VALUES('optimize')"), [])
                .map_err(|e| {
                    StoreError::Invalid(format!("cannot merge the full-text index {t}: {e}"))
                })?;
        }
        Ok(())
    }

    fn notes(&self, _path: &Path) -> Vec<String> {
        vec![
            "Generic SQLite mode removes rows only: indexes kept outside this file (vector \
             stores, caches, other databases) are not known to mcpsweep; rebuild or check them."
                .to_string(),
        ]
    }
}
