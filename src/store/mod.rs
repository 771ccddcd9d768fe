//! Agent memory stores read as stores: one entry per remembered thing, so a finding names the
//! entry (`location.entry`) and a purge can remove exactly that entry and nothing else.
//!
//! Each store format is one module implementing [`StoreFormat`]: read entries, plan the removal
//! of some of them (changing nothing), apply a plan atomically, and put removed entries back.
//! The vault sits between plan and apply: every removed entry is recorded there first.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::document::Limits;
use crate::error::ExtractError;

// Store formats (one module each) are declared here.
pub mod json;
pub mod markdown;
pub mod mcp_memory;
pub mod sqlite;

/// The kinds of memory store mcpsweep understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// `@modelcontextprotocol/server-memory` knowledge graph (JSON Lines).
    McpMemory,
    /// Generic JSON or JSON Lines memory export.
    Json,
    /// CLAUDE.md / AGENTS.md style memory files: entry = section or list item.
    Markdown,
    /// Chroma persistent store (`chroma.sqlite3`).
    Chroma,
    /// mem0 history database (`history.db`).
    Mem0History,
    /// mem0's local Qdrant storage (`collection/<name>/storage.sqlite`).
    Mem0Qdrant,
    /// LangChain `SQLChatMessageHistory` (`message_store` table).
    LangchainChat,
    /// LangGraph SQLite store (`store` and `store_vectors`).
    LanggraphStore,
    /// LangGraph SQLite checkpointer (`checkpoints` and `writes`, msgpack blobs).
    LanggraphCheckpoints,
    /// Any SQLite database: every text or blob column of every table.
    Sqlite,
}

impl StoreKind {
    pub const ALL: &'static [StoreKind] = &[
        StoreKind::McpMemory,
        StoreKind::Json,
        StoreKind::Markdown,
        StoreKind::Chroma,
        StoreKind::Mem0History,
        StoreKind::Mem0Qdrant,
        StoreKind::LangchainChat,
        StoreKind::LanggraphStore,
        StoreKind::LanggraphCheckpoints,
        StoreKind::Sqlite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::McpMemory => "mcp_memory",
            StoreKind::Json => "json",
            StoreKind::Markdown => "markdown",
            StoreKind::Chroma => "chroma",
            StoreKind::Mem0History => "mem0_history",
            StoreKind::Mem0Qdrant => "mem0_qdrant",
            StoreKind::LangchainChat => "langchain_chat",
            StoreKind::LanggraphStore => "langgraph_store",
            StoreKind::LanggraphCheckpoints => "langgraph_checkpoints",
            StoreKind::Sqlite => "sqlite",
        }
    }

    pub fn parse(s: &str) -> Option<StoreKind> {
        StoreKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// One remembered thing: what a model would read back from the store, and its stable id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Stable and unique within the store; shown as a finding's `location.entry`.
    pub id: String,
    /// The text fields of the entry, each with a short name saying where it lives
    /// (`observation`, `data.content`, `string_value`).
    pub fields: Vec<Field>,
    /// sha256 (hex) of the entry's content, so verification can find a purged entry that
    /// came back under another id.
    pub sha256: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub text: String,
    /// Where the text sits in the store file, for text stores (line, column, bytes).
    pub span: crate::document::SourceSpan,
    /// RFC 6901 pointer to the string within its JSON record, for JSON stores.
    pub json_pointer: Option<String>,
}

/// Everything read from a store.
#[derive(Debug, Clone, Default)]
pub struct StoreContents {
    pub entries: Vec<Entry>,
    /// Parts that could not be read (a bad line, an undecodable blob); the rest was read.
    pub warnings: Vec<String>,
}

/// One entry taken out of a store, with what is needed to put it back where it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemovedEntry {
    pub entry_id: String,
    /// sha256 of the entry's content (the same as [`Entry::sha256`]).
    pub sha256: String,
    /// The stored form of the entry (lines, rows with column values), format-specific.
    pub content: serde_json::Value,
    /// Where it was (line number, array index, table and rowid), format-specific.
    pub position: serde_json::Value,
}

/// Why a store operation failed. The caller adds the store path.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Read(#[from] ExtractError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The owning application appears to hold the store; purging now could lose its writes.
    #[error("store is in use: {0}")]
    InUse(String),
    #[error("{0}")]
    Invalid(String),
}

/// What each store format provides.
pub trait StoreFormat: Sync {
    fn kind(&self) -> StoreKind;

    /// Reads every entry. Bad parts become warnings; only an unreadable store is an error.
    fn read(&self, path: &Path, limits: &Limits) -> Result<StoreContents, ExtractError>;

    /// Whether the owning application holds the store right now (lock file, WAL, a running
    /// process pointing at it), with the evidence.
    fn in_use(&self, path: &Path) -> Option<String>;

    /// What removing `ids` would take out, changing nothing. Unknown ids are an error.
    fn plan_removal(
        &self,
        path: &Path,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<RemovedEntry>, StoreError>;

    /// Removes exactly the planned entries, atomically: after a crash the store is either
    /// the old or the new version. Removes every copy the store keeps and leaves no bytes
    /// of them in free space.
    fn apply_removal(&self, path: &Path, removed: &[RemovedEntry]) -> Result<(), StoreError>;

    /// Puts removed entries back where they were, atomically.
    fn reinsert(&self, path: &Path, removed: &[RemovedEntry]) -> Result<(), StoreError>;

    /// What the user must rebuild or clean by hand after a purge (derived vector indexes).
    fn after_purge_notes(&self, _path: &Path) -> Vec<String> {
        Vec::new()
    }
}

/// Settings for stores whose layout varies (generic JSON exports).
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// JSON pointer of the array of entries (default: the top-level array, or the first of
    /// `memories`, `entries`, `items`, `results`, ...); JSON Lines files use one line each.
    pub json_entries: Option<String>,
    /// Pointer, within an entry, of its id (default: `id`, `memory_id`, `uuid`, `key`, ...).
    pub json_id: Option<String>,
    /// Pointers, within an entry, of the text a model reads (default: every string).
    pub json_text: Vec<String>,
}

/// A format held by reference is a format too, so static ones can be boxed with configured ones.
impl<T: StoreFormat + ?Sized> StoreFormat for &T {
    fn kind(&self) -> StoreKind {
        (**self).kind()
    }
    fn read(&self, path: &Path, limits: &Limits) -> Result<StoreContents, ExtractError> {
        (**self).read(path, limits)
    }
    fn in_use(&self, path: &Path) -> Option<String> {
        (**self).in_use(path)
    }
    fn plan_removal(
        &self,
        path: &Path,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<RemovedEntry>, StoreError> {
        (**self).plan_removal(path, ids)
    }
    fn apply_removal(&self, path: &Path, removed: &[RemovedEntry]) -> Result<(), StoreError> {
        (**self).apply_removal(path, removed)
    }
    fn reinsert(&self, path: &Path, removed: &[RemovedEntry]) -> Result<(), StoreError> {
        (**self).reinsert(path, removed)
    }
    fn after_purge_notes(&self, path: &Path) -> Vec<String> {
        (**self).after_purge_notes(path)
    }
}

/// The implementation for a kind, configured with `opts` where the kind takes settings.
pub fn open(kind: StoreKind, opts: &StoreOptions) -> Option<Box<dyn StoreFormat>> {
    match kind {
        StoreKind::Json => Some(Box::new(json::JsonStore::new(opts.clone()))),
        _ => format_for(kind).map(|f| Box::new(f) as Box<dyn StoreFormat>),
    }
}

/// Every store format this build implements that needs no settings; add new ones here.
static FORMATS: &[&dyn StoreFormat] = &[
    &mcp_memory::McpMemory,
    &markdown::MarkdownMemory,
    sqlite::CHROMA,
    sqlite::MEM0_HISTORY,
    sqlite::MEM0_QDRANT,
    sqlite::LANGCHAIN_CHAT,
    sqlite::LANGGRAPH_STORE,
    sqlite::LANGGRAPH_CHECKPOINTS,
    sqlite::GENERIC,
];

/// The implementation for a kind, when this build has one.
pub fn format_for(kind: StoreKind) -> Option<&'static dyn StoreFormat> {
    FORMATS.iter().copied().find(|f| f.kind() == kind)
}

/// Recognises a memory store from its name and first bytes. Ordinary documents return `None`
/// and are scanned as documents.
pub fn detect(path: &Path, head: &[u8]) -> Option<StoreKind> {
    if head.starts_with(sqlite::HEADER) {
        return Some(sqlite::detect_kind(path));
    }
    mcp_memory::detect(path, head).or_else(|| markdown::detect(path))
}

/// sha256 hex of an entry's content: its text fields joined by newlines. Location is left
/// out on purpose, so the same text stored again elsewhere has the same hash.
pub fn content_hash<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (i, t) in texts.into_iter().enumerate() {
        if i > 0 {
            h.update(b"\n");
        }
        h.update(t.as_bytes());
    }
    hex::encode(h.finalize())
}
