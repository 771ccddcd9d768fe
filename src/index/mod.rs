//! Corpus index: every extracted segment in a tantivy index, so a newly learned indicator (a
//! domain, a phrase, a sender) or a payload variant is found in milliseconds instead of by
//! re-reading the corpus.
//!
//! One index document per piece of text a model would read: a segment of a file or of a
//! memory-store entry, plus what is decoded out of it (base64, hex, percent-encoding,
//! character references, Unicode tag characters) as pieces of their own channel. The indexed
//! text is the detector's normalized text (taken from the detector, not computed again), so a
//! payload split by zero-width characters or spelled with look-alike letters indexes like the
//! plain one; queries are normalized the same way. The original text is stored for snippets. Beside the pieces, one small record per file (path, size, mtime, sha256) makes
//! re-runs incremental; records and pieces are committed together, so a crash leaves the last
//! commit whole.
//!
//! - [`build::index_paths`]: create or update an index (`mcpsweep index`).
//! - [`search::search`]: tantivy query syntax over the fields below (`mcpsweep search`).
//! - [`sweep::sweep`]: a list of indicators in one pass (`mcpsweep sweep`).
//! - [`similar::similar`]: documents carrying a payload reworded, translated in part or cut
//!   up (`mcpsweep similar`).

pub mod build;
mod hit;
mod records;
pub mod search;
pub mod similar;
pub mod sweep;
mod tokenize;

use std::path::{Path, PathBuf};

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST, STORED,
    STRING,
};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyError};

pub use hit::{Hit, HitFinding, Snippet};

/// Marks a commit as ours; a change of schema or meaning bumps it.
const PAYLOAD: &str = "mcpsweep-index/1";

/// tantivy's smallest heap per indexing thread (`MEMORY_BUDGET_NUM_BYTES_MIN`, not exported).
pub(crate) const MIN_THREAD_BUDGET: usize = 15_000_000;

/// Tokenizer names registered on every opened index.
const WORDS: &str = "mcps_words";
/// Words of the normalized text (see [`crate::normalize`]).
const TEXT: &str = "mcps_text";
const KEYWORD: &str = "mcps_keyword";

/// Why an index operation failed; every variant names the index folder or the input.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("{}: no index here (build one with `mcpsweep index PATH... --index {}`)", dir.display(), dir.display())]
    Missing { dir: PathBuf },
    #[error("{}: not an mcpsweep index ({reason})", dir.display())]
    NotAnIndex { dir: PathBuf, reason: String },
    #[error("{}: the index is damaged ({reason}); delete the folder and index again", dir.display())]
    Corrupt { dir: PathBuf, reason: String },
    #[error("{}: another `mcpsweep index` is writing this index", dir.display())]
    Locked { dir: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {reason}", dir.display())]
    Tantivy { dir: PathBuf, reason: String },
    #[error("invalid query: {0}")]
    Query(String),
    #[error("{}", format_ioc_errors(path, errors))]
    Iocs {
        path: PathBuf,
        errors: Vec<sweep::IocError>,
    },
    #[error("{0}")]
    Usage(String),
}

fn format_ioc_errors(path: &Path, errors: &[sweep::IocError]) -> String {
    let mut out = format!("{}: {} bad indicator line(s)", path.display(), errors.len());
    for e in errors {
        out.push_str(&format!("\n  line {}: {}", e.line, e.reason));
    }
    out
}

pub type Result<T, E = IndexError> = std::result::Result<T, E>;

impl IndexError {
    fn tantivy(dir: &Path, e: TantivyError) -> IndexError {
        match e {
            TantivyError::LockFailure(..) => IndexError::Locked {
                dir: dir.to_path_buf(),
            },
            TantivyError::DataCorruption(c) => IndexError::Corrupt {
                dir: dir.to_path_buf(),
                reason: format!("{c:?}"),
            },
            TantivyError::OpenReadError(r) => IndexError::Corrupt {
                dir: dir.to_path_buf(),
                reason: r.to_string(),
            },
            other => IndexError::Tantivy {
                dir: dir.to_path_buf(),
                reason: other.to_string(),
            },
        }
    }
}

/// Handles of every field. Field names are the names users type in queries.
#[derive(Clone, Copy)]
pub(crate) struct Fields {
    /// `piece` for indexed text, `file` for the per-file records.
    pub kind: Field,
    // Pieces.
    pub path: Field,
    pub path_id: Field,
    pub sha256: Field,
    pub entry_sha256: Field,
    pub format: Field,
    pub channel: Field,
    pub page: Field,
    pub line: Field,
    pub column: Field,
    pub byte_start: Field,
    pub byte_end: Field,
    /// How offsets in the stored text relate to the file (see `build::Offsets`).
    pub offsets: Field,
    pub pointer: Field,
    pub entry: Field,
    pub attachment: Field,
    pub part: Field,
    /// The normalized text, indexed (ASCII text as written: it tokenizes the same).
    pub text: Field,
    /// The text as written, stored for snippets.
    pub original: Field,
    pub domain: Field,
    pub url: Field,
    pub email: Field,
    pub ip: Field,
    pub host: Field,
    pub rule: Field,
    pub category: Field,
    pub severity: Field,
    pub severity_rank: Field,
    pub finding: Field,
    pub findings: Field,
    pub size: Field,
    pub mtime: Field,
    // File records (fast fields: read in bulk at the start of every run).
    pub file_id: Field,
    pub file_size: Field,
    pub file_mtime: Field,
    pub file_sha256: Field,
    pub file_status: Field,
}

impl Fields {
    fn schema() -> Schema {
        let mut b = Schema::builder();
        let keyword = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(KEYWORD)
                .set_index_option(IndexRecordOption::Basic)
                .set_fieldnorms(false),
        );
        let words = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(WORDS)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let stored_only = TextOptions::default().set_stored();
        let num_stored = NumericOptions::default().set_stored();
        b.add_text_field("kind", keyword.clone());
        b.add_text_field("path", words.clone().set_stored());
        b.add_text_field("path_id", STRING);
        b.add_text_field("sha256", keyword.clone().set_stored());
        b.add_text_field("entry_sha256", keyword.clone().set_stored());
        b.add_text_field("format", keyword.clone().set_stored());
        b.add_text_field("channel", keyword.clone().set_stored());
        b.add_u64_field("page", NumericOptions::default().set_stored().set_indexed());
        b.add_u64_field("line", num_stored.clone());
        b.add_u64_field("column", num_stored.clone());
        b.add_u64_field("byte_start", num_stored.clone());
        b.add_u64_field("byte_end", num_stored.clone());
        b.add_u64_field("offsets", num_stored.clone());
        b.add_text_field("pointer", keyword.clone().set_stored());
        b.add_text_field("entry", words.clone().set_stored());
        b.add_text_field("attachment", words.clone().set_stored());
        b.add_text_field("part", words.clone().set_stored());
        b.add_text_field(
            "text",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(TEXT)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            ),
        );
        b.add_text_field("original", stored_only.clone());
        b.add_text_field("domain", keyword.clone());
        b.add_text_field("url", keyword.clone().set_stored());
        b.add_text_field("email", keyword.clone().set_stored());
        b.add_text_field("ip", keyword.clone().set_stored());
        b.add_text_field("host", stored_only.clone());
        b.add_text_field("rule", keyword.clone().set_stored());
        b.add_text_field("category", keyword.clone());
        b.add_text_field("severity", keyword.clone());
        b.add_u64_field(
            "severity_rank",
            NumericOptions::default().set_indexed().set_stored(),
        );
        b.add_text_field("finding", keyword);
        b.add_text_field("findings", stored_only);
        b.add_u64_field("size", num_stored.clone());
        b.add_i64_field("mtime", num_stored);
        b.add_text_field("file_id", STRING | FAST);
        b.add_u64_field("file_size", FAST);
        b.add_i64_field("file_mtime", FAST);
        b.add_text_field("file_sha256", TextOptions::default().set_fast("raw"));
        b.add_u64_field("file_status", FAST | STORED);
        b.build()
    }

    fn new(schema: &Schema) -> std::result::Result<Fields, TantivyError> {
        let f = |name: &str| schema.get_field(name);
        Ok(Fields {
            kind: f("kind")?,
            path: f("path")?,
            path_id: f("path_id")?,
            sha256: f("sha256")?,
            entry_sha256: f("entry_sha256")?,
            format: f("format")?,
            channel: f("channel")?,
            page: f("page")?,
            line: f("line")?,
            column: f("column")?,
            byte_start: f("byte_start")?,
            byte_end: f("byte_end")?,
            offsets: f("offsets")?,
            pointer: f("pointer")?,
            entry: f("entry")?,
            attachment: f("attachment")?,
            part: f("part")?,
            text: f("text")?,
            original: f("original")?,
            domain: f("domain")?,
            url: f("url")?,
            email: f("email")?,
            ip: f("ip")?,
            host: f("host")?,
            rule: f("rule")?,
            category: f("category")?,
            severity: f("severity")?,
            severity_rank: f("severity_rank")?,
            finding: f("finding")?,
            findings: f("findings")?,
            size: f("size")?,
            mtime: f("mtime")?,
            file_id: f("file_id")?,
            file_size: f("file_size")?,
            file_mtime: f("file_mtime")?,
            file_sha256: f("file_sha256")?,
            file_status: f("file_status")?,
        })
    }
}

/// An opened index: the tantivy index, its fields and the folder it lives in.
pub struct CorpusIndex {
    pub(crate) index: Index,
    pub(crate) fields: Fields,
    pub(crate) dir: PathBuf,
}

impl CorpusIndex {
    /// Opens an existing index for reading; never takes the writer lock, so it works while
    /// `mcpsweep index` is updating the same folder.
    pub fn open(dir: &Path) -> Result<CorpusIndex> {
        if !dir.is_dir() {
            return Err(IndexError::Missing {
                dir: dir.to_path_buf(),
            });
        }
        if !dir.join("meta.json").is_file() {
            return Err(IndexError::NotAnIndex {
                dir: dir.to_path_buf(),
                reason: "no meta.json".into(),
            });
        }
        let index = Index::open_in_dir(dir).map_err(|e| IndexError::Corrupt {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::check(dir, index)
    }

    /// Opens the index in `dir`, or creates it when the folder is missing or empty.
    pub(crate) fn open_or_create(dir: &Path) -> Result<CorpusIndex> {
        let empty = match std::fs::read_dir(dir) {
            Ok(mut rd) => rd.next().is_none(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => {
                return Err(IndexError::Io {
                    path: dir.to_path_buf(),
                    source: e,
                })
            }
        };
        if !empty {
            return Self::open(dir);
        }
        std::fs::create_dir_all(dir).map_err(|e| IndexError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let index =
            Index::create_in_dir(dir, Fields::schema()).map_err(|e| IndexError::tantivy(dir, e))?;
        register_tokenizers(&index);
        // An empty first commit carries the marker, so even an index killed before its first
        // real commit opens as ours.
        let mut writer: tantivy::IndexWriter = index
            .writer_with_num_threads(1, MIN_THREAD_BUDGET)
            .map_err(|e| IndexError::tantivy(dir, e))?;
        let mut prepared = writer
            .prepare_commit()
            .map_err(|e| IndexError::tantivy(dir, e))?;
        prepared.set_payload(PAYLOAD);
        prepared.commit().map_err(|e| IndexError::tantivy(dir, e))?;
        drop(writer);
        Self::check(dir, index)
    }

    fn check(dir: &Path, index: Index) -> Result<CorpusIndex> {
        let not_ours = |reason: String| IndexError::NotAnIndex {
            dir: dir.to_path_buf(),
            reason,
        };
        let metas = index.load_metas().map_err(|e| IndexError::Corrupt {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        // No marker and no segments: created, then killed before the first commit.
        let fresh = metas.payload.is_none() && metas.segments.is_empty();
        if metas.payload.as_deref() != Some(PAYLOAD) && !fresh {
            return Err(not_ours(format!(
                "commit marker {:?}, expected {PAYLOAD:?}: built by another tool or another version of mcpsweep; delete the folder and index again",
                metas.payload.unwrap_or_default()
            )));
        }
        if index.schema() != Fields::schema() {
            return Err(not_ours(
                "different fields: built by another version of mcpsweep; delete the folder and index again".into(),
            ));
        }
        let fields = Fields::new(&index.schema()).map_err(|e| not_ours(e.to_string()))?;
        register_tokenizers(&index);
        Ok(CorpusIndex {
            index,
            fields,
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A reader on the last commit. A commit that lands while the reader opens can remove
    /// segment files it is about to read (merges); that is retried.
    pub(crate) fn reader(&self) -> Result<IndexReader> {
        let mut attempt = 0;
        loop {
            match self
                .index
                .reader_builder()
                .reload_policy(ReloadPolicy::Manual)
                .try_into()
            {
                Ok(r) => return Ok(r),
                Err(e) if attempt >= 4 => return Err(IndexError::tantivy(&self.dir, e)),
                Err(_) => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
            }
        }
    }

    /// Counts of what the last commit holds.
    pub fn stats(&self) -> Result<IndexStats> {
        let reader = self.reader()?;
        let searcher = reader.searcher();
        let records = records::load(&searcher).map_err(|e| IndexError::tantivy(&self.dir, e))?;
        Ok(IndexStats {
            files: records.len() as u64,
            pieces: searcher.num_docs() - records.len() as u64,
            bytes_on_disk: dir_size(&self.dir),
        })
    }
}

/// What an index holds.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct IndexStats {
    /// Files with a record (indexed, or read and skipped as binary or unsupported).
    pub files: u64,
    /// Indexed pieces of text.
    pub pieces: u64,
    pub bytes_on_disk: u64,
}

fn register_tokenizers(index: &Index) {
    index.tokenizers().register(WORDS, tokenize::words());
    index
        .tokenizers()
        .register(TEXT, tokenize::normalized_words());
    index.tokenizers().register(KEYWORD, tokenize::keyword());
}

/// Tokenizers for parsing queries: like the index's, but the text field's normalizes what
/// the user typed the way the indexed text was normalized.
pub(crate) fn query_tokenizers() -> tantivy::tokenizer::TokenizerManager {
    // A new manager: a clone would share (and change) the index's.
    let m = tantivy::tokenizer::TokenizerManager::default();
    m.register(WORDS, tokenize::words());
    m.register(KEYWORD, tokenize::keyword());
    m.register(TEXT, tokenize::normalized_words());
    m
}

/// Total size of the regular files in `dir` (not recursive: tantivy keeps a flat folder).
pub(crate) fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
