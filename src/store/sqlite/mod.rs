//! SQLite memory stores: Chroma, mem0 (history and local Qdrant), LangChain chat history,
//! LangGraph store and checkpointer, and a generic mode for any other SQLite database.
//!
//! Reading never changes the store: the database is opened read-only (or, when SQLite would
//! have to create or recover a sidecar to see everything, a private copy is read instead).
//! A purge runs in one write transaction that removes every copy the store keeps, then
//! rewrites the file with `VACUUM INTO` and renames it over the original, so no removed bytes
//! survive in free pages, the WAL or the journal, and rowids stay as they were.
//! See `docs/sqlite-stores.md` for entry ids and what each purge removes.

mod chroma;
mod generic;
mod langchain;
mod langgraph_checkpoints;
mod langgraph_store;
mod lock;
mod mem0_history;
mod mem0_qdrant;
mod msgpack;
mod pickle;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::StoreKind;
use super::{content_hash, Entry, Field, RemovedEntry, StoreContents, StoreError, StoreFormat};
use crate::document::Limits;
use crate::error::ExtractError;

pub use lock::sqlite_in_use;

/// The first 16 bytes of every SQLite 3 database file.
pub const HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The SQLite store formats, for [`crate::store::format_for`].
pub static CHROMA: &dyn StoreFormat = &SqliteFormat(chroma::Chroma);
pub static MEM0_HISTORY: &dyn StoreFormat = &SqliteFormat(mem0_history::Mem0History);
pub static MEM0_QDRANT: &dyn StoreFormat = &SqliteFormat(mem0_qdrant::Mem0Qdrant);
pub static LANGCHAIN_CHAT: &dyn StoreFormat = &SqliteFormat(langchain::LangchainChat);
pub static LANGGRAPH_STORE: &dyn StoreFormat = &SqliteFormat(langgraph_store::LanggraphStore);
pub static LANGGRAPH_CHECKPOINTS: &dyn StoreFormat =
    &SqliteFormat(langgraph_checkpoints::LanggraphCheckpoints);
pub static GENERIC: &dyn StoreFormat = &SqliteFormat(generic::Generic);

/// Which store a SQLite database is, from its tables. Databases that cannot be opened or
/// whose schema is not one of the known stores are [`StoreKind::Sqlite`] (the generic mode
/// reports why it cannot read them).
pub fn detect_kind(path: &Path) -> StoreKind {
    let Ok(db) = open_read(path) else {
        return StoreKind::Sqlite;
    };
    let Ok(tables) = table_columns_all(&db.conn) else {
        return StoreKind::Sqlite;
    };
    let has = |t: &str, cols: &[&str]| {
        tables
            .get(t)
            .is_some_and(|c| cols.iter().all(|x| c.iter().any(|y| y == x)))
    };
    if has("embeddings", &["id", "segment_id", "embedding_id"])
        && has("embedding_metadata", &["id", "key", "string_value"])
        && has("segments", &["id", "scope", "collection"])
        && has("collections", &["id", "name"])
    {
        StoreKind::Chroma
    } else if has(
        "checkpoints",
        &["thread_id", "checkpoint_ns", "checkpoint_id", "checkpoint"],
    ) && has("writes", &["thread_id", "channel", "value"])
    {
        StoreKind::LanggraphCheckpoints
    } else if has("store", &["prefix", "key", "value"]) {
        StoreKind::LanggraphStore
    } else if has(
        "history",
        &["memory_id", "old_memory", "new_memory", "event"],
    ) {
        StoreKind::Mem0History
    } else if tables.len() == 1 && has("points", &["id", "point"]) {
        StoreKind::Mem0Qdrant
    } else if langchain::chat_table(&tables).is_some() {
        StoreKind::LangchainChat
    } else {
        StoreKind::Sqlite
    }
}

/// The sidecar files SQLite may keep beside a database (`-wal`, `-shm`, `-journal`): a
/// raw-byte check of a store must cover them too.
pub fn sidecar_paths(db: &Path) -> [PathBuf; 3] {
    [
        sidecar(db, "-wal"),
        sidecar(db, "-shm"),
        sidecar(db, "-journal"),
    ]
}

fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

// ---------------------------------------------------------------------------------------
// The store format wrapper: open, transact, compact. Each schema only says what an entry is.

/// What one SQLite store schema provides; [`SqliteFormat`] turns it into a [`StoreFormat`].
pub(crate) trait Schema: Sync {
    fn kind(&self) -> StoreKind;

    /// Every entry with its text fields. Undecodable parts are pushed to `warnings`.
    fn entries(
        &self,
        db: &Connection,
        limits: &Limits,
        warnings: &mut Vec<String>,
    ) -> rusqlite::Result<Vec<Entry>>;

    /// What removing `ids` takes out (rows in deletion order, children first). Runs on a
    /// read-only connection for `plan_removal`, and again inside the write transaction of
    /// `apply_removal`, where it must give the same answer.
    fn plan(
        &self,
        db: &Connection,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<RemovedEntry>, StoreError>;

    /// Removes what `plan` listed. By default: delete each row, in order.
    fn remove(&self, db: &Connection, removed: &[RemovedEntry]) -> Result<(), StoreError> {
        for r in removed {
            for row in &Removal::from_entry(r)?.rows {
                delete_row(db, row)?;
            }
        }
        Ok(())
    }

    /// Runs after `remove` in the same transaction (rebuild full-text indexes).
    fn after_remove(&self, _db: &Connection) -> Result<(), StoreError> {
        Ok(())
    }

    /// Puts removed entries back. By default: insert each row, parents first.
    fn put_back(&self, db: &Connection, removed: &[RemovedEntry]) -> Result<(), StoreError> {
        for r in removed {
            for row in Removal::from_entry(r)?.rows.iter().rev() {
                insert_row(db, row)?;
            }
        }
        Ok(())
    }

    /// Lock evidence beyond the database's own (a lock file of the owning application).
    fn extra_in_use(&self, _path: &Path) -> Option<String> {
        None
    }

    fn notes(&self, _path: &Path) -> Vec<String> {
        Vec::new()
    }
}

/// A SQLite store schema as a [`StoreFormat`].
pub(crate) struct SqliteFormat<S>(pub S);

impl<S: Schema> StoreFormat for SqliteFormat<S> {
    fn kind(&self) -> StoreKind {
        self.0.kind()
    }

    fn read(&self, path: &Path, limits: &Limits) -> Result<StoreContents, ExtractError> {
        let db = open_read(path)?;
        let mut warnings = Vec::new();
        let mut entries = self
            .0
            .entries(&db.conn, limits, &mut warnings)
            .map_err(read_err)?;
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        let mut total = 0usize;
        let mut keep = entries.len();
        for (i, e) in entries.iter().enumerate() {
            total = total.saturating_add(e.fields.iter().map(|f| f.text.len()).sum::<usize>());
            if total > limits.max_text {
                keep = i;
                break;
            }
        }
        if keep < entries.len() {
            warnings.push(format!(
                "text limit of {} bytes reached: {} of {} entries read",
                limits.max_text,
                keep,
                entries.len()
            ));
            entries.truncate(keep);
        }
        Ok(StoreContents { entries, warnings })
    }

    fn in_use(&self, path: &Path) -> Option<String> {
        lock::sqlite_in_use(path).or_else(|| self.0.extra_in_use(path))
    }

    fn plan_removal(
        &self,
        path: &Path,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<RemovedEntry>, StoreError> {
        let db = open_read(path)?;
        self.0.plan(&db.conn, ids)
    }

    fn apply_removal(&self, path: &Path, removed: &[RemovedEntry]) -> Result<(), StoreError> {
        if removed.is_empty() {
            return Ok(());
        }
        let path = real_path(path)?;
        if let Some(why) = self.in_use(&path) {
            return Err(StoreError::InUse(why));
        }
        // The compaction writes a new file beside the store: find out before removing anything.
        let tmp = vacuum_tmp_path(&path)?;
        remove_if_exists(&tmp)?;
        fs::File::create_new(&tmp)
            .and_then(|_| fs::remove_file(&tmp))
            .map_err(|e| {
                StoreError::Invalid(format!(
                    "cannot write in the store's folder ({e}); the purge rewrites the file there"
                ))
            })?;
        let ids: BTreeSet<String> = removed.iter().map(|r| r.entry_id.clone()).collect();
        let mut conn = open_write(&path)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(write_err)?;
        let fresh = self.0.plan(&tx, &ids)?;
        same_plan(&fresh, removed)?;
        self.0.remove(&tx, removed)?;
        self.0.after_remove(&tx)?;
        tx.commit().map_err(write_err)?;
        crate::fault::step();
        compact(conn, &path).map_err(|e| {
            StoreError::Invalid(format!(
                "the entries were removed, but compacting the file failed ({e}); their bytes \
                 may remain in free pages: run `sqlite3 {} VACUUM` once nothing holds the store",
                path.display()
            ))
        })
    }

    fn reinsert(&self, path: &Path, removed: &[RemovedEntry]) -> Result<(), StoreError> {
        if removed.is_empty() {
            return Ok(());
        }
        let path = real_path(path)?;
        if let Some(why) = self.in_use(&path) {
            return Err(StoreError::InUse(why));
        }
        let mut conn = open_write(&path)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(write_err)?;
        self.0.put_back(&tx, removed)?;
        tx.commit().map_err(write_err)?;
        crate::fault::step();
        checkpoint_and_close(conn)
    }

    fn after_purge_notes(&self, path: &Path) -> Vec<String> {
        self.0.notes(path)
    }
}

/// The plan made inside the write transaction must be the one the caller recorded in the
/// vault: otherwise the store changed in between and the vault would not hold what we remove.
fn same_plan(fresh: &[RemovedEntry], given: &[RemovedEntry]) -> Result<(), StoreError> {
    let fresh: BTreeMap<&str, &RemovedEntry> =
        fresh.iter().map(|r| (r.entry_id.as_str(), r)).collect();
    for g in given {
        match fresh.get(g.entry_id.as_str()) {
            Some(f) if **f == *g => {}
            _ => {
                return Err(StoreError::Invalid(format!(
                    "entry {} changed since the removal was planned; plan again",
                    g.entry_id
                )))
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Opening.

/// A read-only connection, and the private copy it reads when it is not the store itself.
pub(crate) struct ReadDb {
    pub conn: Connection,
    _snapshot: Option<tempfile::TempDir>,
}

/// Opens a store for reading without changing it, and sees the content of its `-wal`.
///
/// A read-only SQLite connection still writes beside the database: it creates `-wal` and
/// `-shm` when they are missing, rebuilds or marks the `-shm` index, and cannot roll back a
/// hot journal. So:
/// - another process holds the WAL index (the application is running): read in place, as
///   one more reader (SQLite's locking keeps the read consistent; like every reader it
///   updates its read mark in `-shm`, never the database or `-wal`);
/// - WAL content or a `-journal` and nobody holding them (a stopped or crashed
///   application, copied evidence): read a private copy of the database and that sidecar,
///   where SQLite applies or rolls them back (this copies the database once);
/// - a WAL-mode database without WAL content: open it immutable (no sidecar created);
/// - otherwise a plain read-only open.
pub(crate) fn open_read(path: &Path) -> Result<ReadDb, ExtractError> {
    let header = read_header(path)?;
    let wal = sidecar(path, "-wal");
    let shm = sidecar(path, "-shm");
    let journal = sidecar(path, "-journal");
    let (conn, snapshot) = if file_len(&journal) > 0 {
        snapshot_open(path, &journal, "-journal")?
    } else if shm.exists() && lock::wal_index_held(&shm) {
        (open_ro(path, false)?, None)
    } else if file_len(&wal) > 0 {
        snapshot_open(path, &wal, "-wal")?
    } else {
        let wal_mode = header[18] == 2 || header[19] == 2;
        (open_ro(path, wal_mode)?, None)
    };
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(read_err)?;
    // Reading the schema is where a damaged file shows itself.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(read_err)?;
    Ok(ReadDb {
        conn,
        _snapshot: snapshot,
    })
}

fn read_header(path: &Path) -> Result<[u8; 100], ExtractError> {
    use std::io::Read;
    let mut f = fs::File::open(path)
        .map_err(|e| ExtractError::malformed("sqlite", format!("cannot open: {e}")))?;
    let mut header = [0u8; 100];
    let mut got = 0;
    while got < header.len() {
        match f.read(&mut header[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => {
                return Err(ExtractError::malformed(
                    "sqlite",
                    format!("cannot read: {e}"),
                ))
            }
        }
    }
    if got < 16 || &header[..16] != HEADER {
        return Err(ExtractError::malformed(
            "sqlite",
            "not a SQLite 3 database (the file does not start with \"SQLite format 3\")",
        ));
    }
    if got < header.len() {
        return Err(ExtractError::malformed(
            "sqlite",
            format!("truncated: {got} bytes, shorter than the 100-byte database header"),
        ));
    }
    Ok(header)
}

fn file_len(p: &Path) -> u64 {
    fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn open_ro(path: &Path, immutable: bool) -> Result<Connection, ExtractError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut uri = file_uri(path);
    uri.push_str(if immutable {
        "?mode=ro&immutable=1"
    } else {
        "?mode=ro"
    });
    Connection::open_with_flags(&uri, flags).map_err(read_err)
}

fn snapshot_open(
    path: &Path,
    side: &Path,
    suffix: &str,
) -> Result<(Connection, Option<tempfile::TempDir>), ExtractError> {
    let dir = tempfile::Builder::new()
        .prefix("mcpsweep-sqlite-")
        .tempdir()
        .map_err(|e| ExtractError::malformed("sqlite", format!("cannot make a snapshot: {e}")))?;
    let copy = dir.path().join("db");
    let copy_err = |e: std::io::Error| {
        ExtractError::malformed("sqlite", format!("cannot make a snapshot: {e}"))
    };
    fs::copy(path, &copy).map_err(copy_err)?;
    fs::copy(side, sidecar(&copy, suffix)).map_err(copy_err)?;
    let conn = Connection::open_with_flags(
        &copy,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(read_err)?;
    Ok((conn, Some(dir)))
}

/// `file:` URI for a path, percent-encoding everything but unreserved characters and `/`.
fn file_uri(path: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::from("file:");
    for &b in abs.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A read-write connection for purge and reinsert. Foreign keys are off (as in every
/// application here) so rows go and come back exactly as listed; secure_delete zeroes
/// freed content in case the compaction cannot finish.
fn open_write(path: &Path) -> Result<Connection, StoreError> {
    read_header(path)?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(write_err)?;
    conn.busy_timeout(Duration::from_secs(2))
        .map_err(write_err)?;
    conn.execute_batch(
        "PRAGMA foreign_keys=OFF; PRAGMA secure_delete=ON; PRAGMA trusted_schema=OFF;",
    )
    .map_err(write_err)?;
    Ok(conn)
}

fn real_path(path: &Path) -> Result<PathBuf, StoreError> {
    fs::canonicalize(path)
        .map_err(|e| StoreError::Invalid(format!("cannot resolve the store path: {e}")))
}

pub(crate) fn read_err(e: rusqlite::Error) -> ExtractError {
    ExtractError::malformed("sqlite", e.to_string())
}

pub(crate) fn write_err(e: rusqlite::Error) -> StoreError {
    StoreError::Invalid(format!("sqlite: {e}"))
}

// ---------------------------------------------------------------------------------------
// Compaction: no byte of a removed row may survive anywhere in the store's files.

/// Rewrites the database with `VACUUM INTO` a temporary file beside it, then renames that
/// over the original. Unlike `VACUUM`, `VACUUM INTO` keeps the rowids of tables without an
/// INTEGER PRIMARY KEY, so entry ids and recorded positions stay valid. A crash leaves the
/// committed (purged) database, possibly with a stale temporary file that the next purge
/// removes.
fn compact(conn: Connection, path: &Path) -> Result<(), StoreError> {
    let wal = journal_mode(&conn)? == "wal";
    if wal {
        truncate_wal(&conn)?;
    }
    let tmp = vacuum_tmp_path(path)?;
    remove_if_exists(&tmp)?;
    let tmp_str = tmp
        .to_str()
        .ok_or_else(|| StoreError::Invalid("the store path is not valid UTF-8".into()))?;
    conn.execute("VACUUM INTO ?1", [tmp_str])
        .map_err(write_err)?;
    conn.close().map_err(|(_, e)| write_err(e))?;
    // A WAL left beside the new file would be replayed into it on the next open.
    if file_len(&sidecar(path, "-wal")) > 0 {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::Invalid(
            "the write-ahead log could not be checkpointed".into(),
        ));
    }
    let finish = || -> Result<(), StoreError> {
        let fresh = Connection::open_with_flags(
            &tmp,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(write_err)?;
        if wal {
            fresh
                .query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))
                .map_err(write_err)?;
        }
        let check: String = fresh
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(write_err)?;
        if check != "ok" {
            return Err(StoreError::Invalid(format!(
                "the compacted copy failed its check: {check}"
            )));
        }
        fresh.close().map_err(|(_, e)| write_err(e))?;
        copy_owner_and_mode(path, &tmp);
        fs::File::open(&tmp)?.sync_all()?;
        crate::fault::step();
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    finish().inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

fn checkpoint_and_close(conn: Connection) -> Result<(), StoreError> {
    if journal_mode(&conn)? == "wal" {
        truncate_wal(&conn)?;
    }
    conn.close().map_err(|(_, e)| write_err(e))
}

fn journal_mode(conn: &Connection) -> Result<String, StoreError> {
    conn.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
        .map(|m| m.to_ascii_lowercase())
        .map_err(write_err)
}

fn truncate_wal(conn: &Connection) -> Result<(), StoreError> {
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .map_err(write_err)?;
    if busy != 0 {
        return Err(StoreError::InUse(
            "another connection kept the write-ahead log from being checkpointed".into(),
        ));
    }
    Ok(())
}

fn vacuum_tmp_path(path: &Path) -> Result<PathBuf, StoreError> {
    let name = path
        .file_name()
        .ok_or_else(|| StoreError::Invalid("the store path has no file name".into()))?;
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(".mcpsweep-vacuum");
    Ok(path.with_file_name(tmp))
}

fn remove_if_exists(p: &Path) -> Result<(), StoreError> {
    match fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// The rewritten file replaces the original, so it takes its mode and (where permitted)
/// its owner.
fn copy_owner_and_mode(from: &Path, to: &Path) {
    if let Ok(meta) = fs::metadata(from) {
        let _ = fs::set_permissions(to, meta.permissions());
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let _ = std::os::unix::fs::chown(to, Some(meta.uid()), Some(meta.gid()));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rows: what the vault holds, so `reinsert` can put each row back exactly.

/// One SQLite value, kept exactly: reals as their shortest round-tripping decimal text
/// (JSON numbers lose NaN and infinities), blobs and non-UTF-8 text as base64.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SqlValue {
    Null,
    Integer(i64),
    Real(#[serde(with = "real_text")] f64),
    Text(String),
    TextBytes(#[serde(with = "base64_bytes")] Vec<u8>),
    Blob(#[serde(with = "base64_bytes")] Vec<u8>),
}

impl SqlValue {
    pub(crate) fn from_ref(v: ValueRef<'_>) -> SqlValue {
        match v {
            ValueRef::Null => SqlValue::Null,
            ValueRef::Integer(i) => SqlValue::Integer(i),
            ValueRef::Real(f) => SqlValue::Real(f),
            ValueRef::Text(t) => match std::str::from_utf8(t) {
                Ok(s) => SqlValue::Text(s.to_owned()),
                Err(_) => SqlValue::TextBytes(t.to_vec()),
            },
            ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
        }
    }

    /// SQL placeholder for this value: non-UTF-8 text is bound as a blob and cast back.
    fn placeholder(&self, n: usize) -> String {
        match self {
            SqlValue::TextBytes(_) => format!("CAST(?{n} AS TEXT)"),
            _ => format!("?{n}"),
        }
    }
}

impl rusqlite::ToSql for SqlValue {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::ToSqlOutput::Borrowed;
        Ok(match self {
            SqlValue::Null => Borrowed(ValueRef::Null),
            SqlValue::Integer(i) => Borrowed(ValueRef::Integer(*i)),
            SqlValue::Real(f) => Borrowed(ValueRef::Real(*f)),
            SqlValue::Text(s) => Borrowed(ValueRef::Text(s.as_bytes())),
            SqlValue::TextBytes(b) | SqlValue::Blob(b) => Borrowed(ValueRef::Blob(b)),
        })
    }
}

mod real_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(f: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{f:?}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(serde::de::Error::custom)
    }
}

/// One table row, every column. `rowid` is absent for WITHOUT ROWID tables, whose rows are
/// found by their primary key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Row {
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rowid: Option<i64>,
    pub columns: Vec<String>,
    pub values: Vec<SqlValue>,
}

impl Row {
    pub(crate) fn get(&self, column: &str) -> Option<&SqlValue> {
        self.columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| self.values.get(i))
    }

    fn position(&self) -> serde_json::Value {
        match self.rowid {
            Some(rowid) => serde_json::json!({ "table": self.table, "rowid": rowid }),
            None => serde_json::json!({ "table": self.table, "primary_key": self.values }),
        }
    }
}

/// `RemovedEntry::content` of a SQLite entry: the rows removed, and for the checkpointer the
/// values cut out of blobs that stay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Removal {
    pub rows: Vec<Row>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cuts: Vec<msgpack::Cut>,
}

impl Removal {
    pub(crate) fn from_entry(r: &RemovedEntry) -> Result<Removal, StoreError> {
        serde_json::from_value(r.content.clone()).map_err(|e| {
            StoreError::Invalid(format!(
                "entry {}: unreadable removal record: {e}",
                r.entry_id
            ))
        })
    }

    pub(crate) fn into_entry(self, entry: &Entry) -> RemovedEntry {
        let mut position: Vec<serde_json::Value> = self.rows.iter().map(Row::position).collect();
        position.extend(self.cuts.iter().map(msgpack::Cut::position));
        RemovedEntry {
            entry_id: entry.id.clone(),
            sha256: entry.sha256.clone(),
            content: serde_json::to_value(&self).unwrap_or(serde_json::Value::Null),
            position: serde_json::Value::Array(position),
        }
    }
}

pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Table name → column names (declared order), for every ordinary and virtual table.
pub(crate) fn table_columns_all(
    db: &Connection,
) -> rusqlite::Result<BTreeMap<String, Vec<String>>> {
    let mut out = BTreeMap::new();
    let names: Vec<String> = db
        .prepare("SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for name in names {
        // A virtual table whose module this build lacks cannot list its columns.
        if let Ok(cols) = table_columns(db, &name) {
            out.insert(name, cols);
        }
    }
    Ok(out)
}

/// The columns an INSERT can name (generated and hidden columns left out).
pub(crate) fn table_columns(db: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    db.prepare(&format!("PRAGMA table_info({})", quote_ident(table)))?
        .query_map([], |r| r.get::<_, String>(1))?
        .collect()
}

pub(crate) fn table_exists(db: &Connection, table: &str) -> rusqlite::Result<bool> {
    db.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name=?1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

pub(crate) fn without_rowid(db: &Connection, table: &str) -> rusqlite::Result<bool> {
    let sql: Option<String> = db.query_row(
        "SELECT sql FROM sqlite_schema WHERE type='table' AND name=?1",
        [table],
        |r| r.get(0),
    )?;
    let Some(sql) = sql else { return Ok(false) };
    let tail = sql.rsplit(')').next().unwrap_or("").to_ascii_uppercase();
    Ok(tail
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w[0] == "WITHOUT" && w[1].trim_end_matches(',') == "ROWID"))
}

/// Primary-key columns in key order (empty when the table has none).
pub(crate) fn primary_key(db: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut cols: Vec<(i64, String)> = db
        .prepare(&format!("PRAGMA table_info({})", quote_ident(table)))?
        .query_map([], |r| Ok((r.get::<_, i64>(5)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .filter(|(pk, _)| *pk > 0)
        .collect();
    cols.sort();
    Ok(cols.into_iter().map(|(_, c)| c).collect())
}

/// Whether one column is an alias of the rowid (`INTEGER PRIMARY KEY`): then the rowid
/// travels in that column and must not be named twice in an INSERT.
fn rowid_alias(db: &Connection, table: &str) -> rusqlite::Result<bool> {
    let pk: Vec<(String, i64)> = db
        .prepare(&format!("PRAGMA table_info({})", quote_ident(table)))?
        .query_map([], |r| Ok((r.get::<_, String>(2)?, r.get::<_, i64>(5)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .filter(|(_, pk)| *pk > 0)
        .collect();
    Ok(pk.len() == 1 && pk[0].0.eq_ignore_ascii_case("INTEGER"))
}

/// Every row of `table` matching `filter` (an SQL expression over its columns, `_rowid_`
/// allowed for rowid tables), all columns, in rowid or primary-key order.
pub(crate) fn fetch_rows(
    db: &Connection,
    table: &str,
    filter: &str,
    params: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<Vec<Row>> {
    let columns = table_columns(db, table)?;
    let no_rowid = without_rowid(db, table)?;
    let list = columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let (select, order) = if no_rowid {
        let pk = primary_key(db, table)?;
        let order = pk
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        (format!("SELECT NULL, {list}"), order)
    } else {
        (format!("SELECT _rowid_, {list}"), "_rowid_".to_string())
    };
    let sql = format!(
        "{select} FROM {} WHERE {filter} ORDER BY {order}",
        quote_ident(table)
    );
    let mut stmt = db.prepare(&sql)?;
    let rows = stmt.query_map(params, |r| {
        let rowid: Option<i64> = r.get(0)?;
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(SqlValue::from_ref(r.get_ref(i + 1)?));
        }
        Ok(Row {
            table: table.to_string(),
            rowid,
            columns: columns.clone(),
            values,
        })
    })?;
    rows.collect()
}

/// Deletes one row, which must still be exactly as recorded.
pub(crate) fn delete_row(db: &Connection, row: &Row) -> Result<(), StoreError> {
    let current = match row.rowid {
        Some(rowid) => fetch_rows(db, &row.table, "_rowid_ = ?1", &[&rowid]),
        None => {
            let (filter, params) = key_filter(db, row)?;
            let params: Vec<&dyn rusqlite::ToSql> =
                params.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
            fetch_rows(db, &row.table, &filter, &params)
        }
    }
    .map_err(write_err)?;
    if current.len() != 1 || current[0] != *row {
        return Err(StoreError::Invalid(format!(
            "row {} of table {} is not as recorded; plan again",
            row_label(row),
            row.table
        )));
    }
    let n = match row.rowid {
        Some(rowid) => db.execute(
            &format!("DELETE FROM {} WHERE _rowid_ = ?1", quote_ident(&row.table)),
            [rowid],
        ),
        None => {
            let (filter, params) = key_filter(db, row)?;
            db.execute(
                &format!("DELETE FROM {} WHERE {filter}", quote_ident(&row.table)),
                rusqlite::params_from_iter(params.iter()),
            )
        }
    }
    .map_err(write_err)?;
    if n != 1 {
        return Err(StoreError::Invalid(format!(
            "row {} of table {}: {n} rows deleted instead of 1",
            row_label(row),
            row.table
        )));
    }
    Ok(())
}

fn key_filter(db: &Connection, row: &Row) -> Result<(String, Vec<SqlValue>), StoreError> {
    let pk = primary_key(db, &row.table).map_err(write_err)?;
    if pk.is_empty() {
        return Err(StoreError::Invalid(format!(
            "table {} has neither rowid nor primary key",
            row.table
        )));
    }
    let mut filter = Vec::new();
    let mut params = Vec::new();
    for (i, c) in pk.iter().enumerate() {
        let v = row.get(c).cloned().ok_or_else(|| {
            StoreError::Invalid(format!("recorded row of {} lacks column {c}", row.table))
        })?;
        filter.push(format!("{} IS {}", quote_ident(c), v.placeholder(i + 1)));
        params.push(v);
    }
    Ok((filter.join(" AND "), params))
}

fn row_label(row: &Row) -> String {
    match row.rowid {
        Some(r) => format!("rowid {r}"),
        None => "(by primary key)".to_string(),
    }
}

/// Inserts a recorded row back with its rowid, so it sits where it was.
pub(crate) fn insert_row(db: &Connection, row: &Row) -> Result<(), StoreError> {
    let mut names = Vec::new();
    let mut marks = Vec::new();
    let mut params: Vec<&dyn rusqlite::ToSql> = Vec::new();
    let rowid = row.rowid;
    let alias = rowid.is_some() && rowid_alias(db, &row.table).map_err(write_err)?;
    if let (Some(rowid), false) = (&rowid, alias) {
        names.push("_rowid_".to_string());
        marks.push("?1".to_string());
        params.push(rowid);
    }
    for (c, v) in row.columns.iter().zip(&row.values) {
        names.push(quote_ident(c));
        marks.push(v.placeholder(params.len() + 1));
        params.push(v);
    }
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        quote_ident(&row.table),
        names.join(", "),
        marks.join(", ")
    );
    db.execute(&sql, params.as_slice()).map_err(|e| {
        StoreError::Invalid(format!(
            "cannot put back row {} of table {}: {e}",
            row_label(row),
            row.table
        ))
    })?;
    Ok(())
}

/// Collects rows for several entries, each row going to the first entry that claims it
/// (a mem0 message matching two memories is removed, and recorded, once).
#[derive(Default)]
pub(crate) struct RowClaims {
    seen: HashSet<(String, Option<i64>, String)>,
}

impl RowClaims {
    pub(crate) fn claim(&mut self, rows: Vec<Row>) -> Vec<Row> {
        rows.into_iter()
            .filter(|r| {
                let key = (
                    r.table.clone(),
                    r.rowid,
                    serde_json::to_string(&r.values).unwrap_or_default(),
                );
                self.seen.insert(key)
            })
            .collect()
    }
}

pub(crate) fn unknown_ids<'a>(
    ids: &'a BTreeSet<String>,
    known: impl Fn(&str) -> bool,
) -> Result<(), StoreError> {
    let missing: Vec<&'a str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| !known(id))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "no such entry in the store: {}",
            missing.join(", ")
        )))
    }
}

// ---------------------------------------------------------------------------------------
// Entry ids and text fields.

/// Escapes `%` and `/` in one id component, so `/` can separate components.
pub(crate) fn esc(s: &str) -> String {
    s.replace('%', "%25").replace('/', "%2F")
}

/// The text fields of one entry: each distinct non-blank text once, under the name where it
/// was first seen (mem0 keeps the same text as `new_memory` and later `old_memory`).
#[derive(Default)]
pub(crate) struct Fields {
    fields: Vec<Field>,
    seen: HashSet<String>,
}

impl Fields {
    pub(crate) fn push(&mut self, name: impl Into<String>, text: &str) {
        if text.trim().is_empty() || self.seen.contains(text) {
            return;
        }
        self.seen.insert(text.to_string());
        self.fields.push(Field {
            name: name.into(),
            text: text.to_string(),
            ..Default::default()
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter()
    }

    pub(crate) fn into_entry(self, id: String) -> Entry {
        let sha256 = content_hash(self.fields.iter().map(|f| f.text.as_str()));
        Entry {
            id,
            fields: self.fields,
            sha256,
        }
    }
}

/// Every string leaf of a JSON value, named by its path (`value.text`, `content[1].text`).
/// Keys in `skip` are left out at every level; nesting stops at `depth`.
pub(crate) fn json_strings(
    v: &serde_json::Value,
    name: &str,
    skip: &[&str],
    depth: u32,
    out: &mut Fields,
) {
    if depth == 0 {
        return;
    }
    match v {
        serde_json::Value::String(s) => out.push(name, s),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                json_strings(item, &format!("{name}[{i}]"), skip, depth - 1, out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                if !skip.contains(&k.as_str()) {
                    let sub = if name.is_empty() {
                        k.clone()
                    } else {
                        format!("{name}.{k}")
                    };
                    json_strings(item, &sub, skip, depth - 1, out);
                }
            }
        }
        _ => {}
    }
}

/// The text of a LangChain message that a model reads back: its content (a string or a list
/// of content blocks) and the arguments of the tool calls it made.
pub(crate) fn message_fields(
    fields: &serde_json::Value,
    prefix: &str,
    depth: u32,
    out: &mut Fields,
) {
    let name = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    if let Some(content) = fields.get("content") {
        json_strings(content, &name("content"), &["type", "id"], depth, out);
    }
    if let Some(calls) = fields.get("tool_calls") {
        json_strings(calls, &name("tool_calls"), &["type", "id"], depth, out);
    }
}

/// A column read as text whatever its storage class: applications store JSON as TEXT or
/// as a BLOB of UTF-8 (LangGraph), and SQLite does not enforce declared types.
pub(crate) fn text_col(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    Ok(match r.get_ref(i)? {
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => text_like(b).map(str::to_string),
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Null => None,
    })
}

/// A column's bytes, TEXT or BLOB.
pub(crate) fn bytes_col(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<Vec<u8>>> {
    Ok(match r.get_ref(i)? {
        ValueRef::Text(b) | ValueRef::Blob(b) => Some(b.to_vec()),
        _ => None,
    })
}

/// Whether a blob holds text: valid UTF-8 with few control characters.
pub(crate) fn text_like(b: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(b).ok()?;
    let total = s.chars().count();
    if total == 0 {
        return None;
    }
    let control = s
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .count();
    (control * 10 <= total).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reals_round_trip_exactly() {
        for f in [0.1, 0.9, 1e-310, f64::MAX, f64::INFINITY, -0.0] {
            let v = SqlValue::Real(f);
            let back: SqlValue = serde_json::from_value(serde_json::to_value(&v).unwrap()).unwrap();
            match back {
                SqlValue::Real(g) => assert_eq!(g.to_bits(), f.to_bits()),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn uri_escapes_query_characters() {
        assert_eq!(
            file_uri(Path::new("/a b/c?d#e%f")),
            "file:/a%20b/c%3Fd%23e%25f"
        );
    }

    #[test]
    fn without_rowid_is_read_from_the_schema() {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch(
            "CREATE TABLE a(k TEXT PRIMARY KEY, v) WITHOUT ROWID; CREATE TABLE b(k, v);",
        )
        .unwrap();
        assert!(without_rowid(&db, "a").unwrap());
        assert!(!without_rowid(&db, "b").unwrap());
    }
}
