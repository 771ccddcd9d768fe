//! Building and updating an index: walk, read new and changed files in parallel through the
//! scan pipeline, feed one writer through a bounded channel, commit every so often.
//!
//! Consistency: a file's old text and record are deleted before its new text is added, and its
//! new record comes after all its text. A commit therefore holds, for every file, either its
//! record and all its text, or no record (and possibly part of its text, which the next run
//! deletes and reads again). A crash leaves the last commit, which tantivy makes atomic.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tantivy::indexer::IndexWriterOptions;
use tantivy::{IndexWriter, TantivyDocument, Term};

use super::records::{self, Record, Status};
use super::{tokenize, CorpusIndex, Fields, IndexError, Result, PAYLOAD};
use crate::detect::{endpoints, Detector, ScannedText};
use crate::document::{Channel, Location};
use crate::finding::{EndpointKind, Finding};
use crate::scan::{self, ErrorKind, ErrorRecord, ScanOptions, Unit};
use crate::source::{self, FileEntry};

/// How to build an index.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// Walking, reading and extraction, as for a sweep; `scan.threads` workers read files.
    pub scan: ScanOptions,
    /// Heap for tantivy's in-memory segments, all indexing threads together.
    pub memory_budget: usize,
    /// Input bytes between commits: a crash loses at most this much work.
    pub commit_bytes: u64,
    /// tantivy indexing threads; 0 means half the workers (at least one).
    pub index_threads: usize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            scan: ScanOptions::default(),
            memory_budget: 256 << 20,
            commit_bytes: 1 << 30,
            index_threads: 0,
        }
    }
}

/// What a run did. Counts are of files unless said otherwise.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexReport {
    pub index: String,
    /// Files found under the inputs.
    pub files: u64,
    /// Files read and extracted: new ones plus changed ones.
    pub files_read: u64,
    pub files_new: u64,
    pub files_changed: u64,
    /// Size or mtime changed but the content did not: only the record was updated.
    pub files_touched: u64,
    /// Same size and mtime as recorded: not opened.
    pub files_unchanged: u64,
    /// Gone since the last run: their text left the index.
    pub files_removed: u64,
    /// Read but binary or unsupported: nothing indexed.
    pub files_skipped: u64,
    /// Index documents added (segments, store entries' fields, decoded payloads).
    pub pieces: u64,
    /// Bytes of the files read (and hashed).
    pub bytes_read: u64,
    pub commits: u64,
    pub elapsed_ms: u64,
    pub mb_per_s: f64,
    /// Size of the index folder after the run.
    pub index_bytes: u64,
    pub errors: Vec<ErrorRecord>,
}

/// What workers send to the writer. Messages of one file arrive in order.
enum Msg {
    /// Text of a file (one message per scanned unit).
    Docs {
        path: String,
        docs: Vec<TantivyDocument>,
        bytes: u64,
    },
    /// The file is done: its record (none when it could not be read: it is tried again next
    /// run).
    Done {
        path: String,
        record: Option<Record>,
    },
    /// Changed mtime, same content: only the record changes.
    Touch { path: String, record: Record },
}

/// Indexes `inputs` into `dir`, creating the index if needed, reading only files that are new
/// or changed since the last run and removing files that are gone. `on_file` is called after
/// each file with the bytes read, for progress display.
pub fn index_paths(
    detector: &Detector,
    inputs: &[PathBuf],
    dir: &Path,
    opts: &IndexOptions,
    on_file: &(dyn Fn(u64) + Sync),
) -> Result<IndexReport> {
    let started = Instant::now();
    // Absolute paths: the index outlives the working directory it was built from.
    let mut roots = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            return Err(IndexError::Usage(
                "standard input cannot be indexed; give files or folders".into(),
            ));
        }
        roots.push(std::fs::canonicalize(input).map_err(|e| IndexError::Io {
            path: input.clone(),
            source: e,
        })?);
    }
    let ci = CorpusIndex::open_or_create(dir)?;
    let fields = ci.fields;
    let workers = if opts.scan.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.scan.threads
    };
    let index_threads = match opts.index_threads {
        0 => workers.div_ceil(2),
        n => n,
    };
    let budget = opts
        .memory_budget
        .max(index_threads * super::MIN_THREAD_BUDGET);
    // Counts the text tantivy's indexing threads take in, for `Backlog`.
    let consumed = Arc::new(AtomicU64::new(0));
    ci.index.tokenizers().register(
        super::TEXT,
        tokenize::counting_normalized_words(Arc::clone(&consumed)),
    );
    // One merge thread: merges compete with extraction for the cores and hold memory.
    let options = IndexWriterOptions::builder()
        .num_worker_threads(index_threads)
        .memory_budget_per_thread(budget / index_threads)
        .num_merge_threads(1)
        .build();
    let mut writer: IndexWriter = ci
        .index
        .writer_with_options(options)
        .map_err(|e| IndexError::tantivy(dir, e))?;
    let (known, present) = {
        let reader = ci.reader()?;
        let searcher = reader.searcher();
        let known = records::load(&searcher).map_err(|e| IndexError::tantivy(dir, e))?;
        let present = indexed_paths(&searcher, &fields).map_err(|e| IndexError::tantivy(dir, e))?;
        (known, present)
    };
    // Deleting is needed only for a path the index holds something of (a record, or text
    // committed before a crash); on a fresh index, queuing a delete per file costs memory.
    let has_text = |p: &str| present.contains(p) || known.contains_key(p);

    let walked = source::walk(&roots, opts.scan.walk);
    let mut report = IndexReport {
        index: dir.display().to_string(),
        files: walked.files.len() as u64,
        errors: walked.errors,
        ..Default::default()
    };
    let seen: HashSet<&str> = walked.files.iter().map(|f| f.display.as_str()).collect();
    let removed: Vec<&String> = known
        .keys()
        .filter(|p| !seen.contains(p.as_str()) && is_gone(p, &roots))
        .collect();
    for p in &removed {
        delete_file(&writer, &fields, p);
    }
    report.files_removed = removed.len() as u64;

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .map_err(|e| IndexError::Usage(format!("cannot start worker threads: {e}")))?;
    let counters = Counters::default();
    let stop = AtomicBool::new(false);
    let (tx, rx) = sync_channel::<Msg>(workers * 4);
    let ctx = WorkerCtx {
        detector,
        fields: &fields,
        known: &known,
        opts: &opts.scan,
        counters: &counters,
        stop: &stop,
        on_file,
    };
    let files = &walked.files;
    let written = std::thread::scope(|s| {
        s.spawn(|| {
            pool.install(|| {
                files.par_iter().for_each_init(
                    || (tx.clone(), Vec::new()),
                    |(tx, buf), f| ctx.work(f, tx, buf),
                )
            });
            drop(tx);
        });
        let mut backlog = Backlog::new(consumed);
        let r = write_loop(
            &mut writer,
            &fields,
            rx,
            opts.commit_bytes,
            &has_text,
            &mut backlog,
        );
        if r.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        r
    });
    let written = written.map_err(|e| IndexError::tantivy(dir, e))?;
    commit(&mut writer).map_err(|e| IndexError::tantivy(dir, e))?;
    writer
        .wait_merging_threads()
        .map_err(|e| IndexError::tantivy(dir, e))?;

    report.commits = written.commits + 1;
    report.pieces = written.pieces;
    let c = counters;
    report.files_new = c.new.into_inner();
    report.files_changed = c.changed.into_inner();
    report.files_read = report.files_new + report.files_changed;
    report.files_touched = c.touched.into_inner();
    report.files_unchanged = c.unchanged.into_inner();
    report.files_skipped = c.skipped.into_inner();
    report.bytes_read = c.bytes.into_inner();
    report
        .errors
        .extend(c.errors.into_inner().unwrap_or_else(|e| e.into_inner()));
    report.errors.sort();
    let elapsed = started.elapsed();
    report.elapsed_ms = elapsed.as_millis() as u64;
    report.mb_per_s = if elapsed.as_secs_f64() > 0.0 {
        (report.bytes_read as f64 / 1e6 / elapsed.as_secs_f64() * 10.0).round() / 10.0
    } else {
        0.0
    };
    report.index_bytes = super::dir_size(dir);
    Ok(report)
}

/// A recorded file that was not walked this time is gone if it lies under an input (it was
/// deleted, or is no longer a regular file) or no longer exists at all.
fn is_gone(path: &str, roots: &[PathBuf]) -> bool {
    let p = Path::new(path);
    roots.iter().any(|r| p.starts_with(r)) || std::fs::symlink_metadata(p).is_err()
}

fn delete_file(writer: &IndexWriter, fields: &Fields, path: &str) {
    writer.delete_term(Term::from_field_text(fields.path_id, path));
    writer.delete_term(Term::from_field_text(fields.file_id, path));
}

fn commit(writer: &mut IndexWriter) -> tantivy::Result<()> {
    let mut prepared = writer.prepare_commit()?;
    prepared.set_payload(PAYLOAD);
    prepared.commit()?;
    crate::fault::step();
    Ok(())
}

#[derive(Default)]
struct Written {
    commits: u64,
    pieces: u64,
}

/// The one writer: applies messages in arrival order, commits every `commit_bytes`.
fn write_loop(
    writer: &mut IndexWriter,
    fields: &Fields,
    rx: Receiver<Msg>,
    commit_bytes: u64,
    has_text: &dyn Fn(&str) -> bool,
    backlog: &mut Backlog,
) -> tantivy::Result<Written> {
    let mut out = Written::default();
    // Files whose old text is already deleted in this run.
    let mut started: HashSet<String> = HashSet::new();
    let mut since_commit = 0u64;
    for msg in rx {
        match msg {
            Msg::Docs { path, docs, bytes } => {
                if started.insert(path.clone()) && has_text(&path) {
                    delete_file(writer, fields, &path);
                }
                out.pieces += docs.len() as u64;
                for d in docs {
                    backlog.add(text_len(&d, fields.text));
                    writer.add_document(d)?;
                }
                since_commit += bytes;
            }
            Msg::Done { path, record } => {
                if !started.remove(&path) && has_text(&path) {
                    delete_file(writer, fields, &path);
                }
                if let Some(r) = record {
                    writer.add_document(records::document(fields, &path, &r))?;
                }
            }
            Msg::Touch { path, record } => {
                writer.delete_term(Term::from_field_text(fields.file_id, &path));
                writer.add_document(records::document(fields, &path, &record))?;
            }
        }
        if since_commit >= commit_bytes {
            commit(writer)?;
            out.commits += 1;
            since_commit = 0;
        }
    }
    Ok(out)
}

/// Text waiting in tantivy's indexing queue, which is bounded in documents (10,000) but not
/// in bytes: with large documents it would hold gigabytes. The writer waits while more than
/// `MAX_BACKLOG` bytes of text are queued and not yet taken in by an indexing thread (the
/// text field's tokenizer counts what it is given).
struct Backlog {
    consumed: Arc<AtomicU64>,
    queued: u64,
}

const MAX_BACKLOG: u64 = 8 << 20;

impl Backlog {
    fn new(consumed: Arc<AtomicU64>) -> Self {
        Backlog {
            consumed,
            queued: 0,
        }
    }

    /// Waits for room, then counts `len` more bytes as queued.
    fn add(&mut self, len: u64) {
        let mut last = self.consumed.load(Ordering::Relaxed);
        let mut progress = Instant::now();
        while self.queued.saturating_sub(last) > MAX_BACKLOG {
            std::thread::sleep(std::time::Duration::from_millis(1));
            let now = self.consumed.load(Ordering::Relaxed);
            if now != last {
                last = now;
                progress = Instant::now();
            } else if progress.elapsed() > std::time::Duration::from_secs(5) {
                // Never wait forever on a miscount (a document whose text tantivy did not
                // tokenize): the queue stays bounded in documents anyway.
                self.queued = last;
                break;
            }
        }
        self.queued += len;
    }
}

/// Bytes of a piece's indexed text (0 for documents without one, like file records).
fn text_len(doc: &TantivyDocument, field: tantivy::schema::Field) -> u64 {
    use tantivy::schema::Value;
    doc.get_first(field)
        .and_then(|v| v.as_str())
        .map_or(0, |t| t.len() as u64)
}

/// Paths that have text in the index (including text committed before a crash, without a
/// record).
fn indexed_paths(
    searcher: &tantivy::Searcher,
    fields: &Fields,
) -> tantivy::Result<HashSet<String>> {
    let mut out = HashSet::new();
    for seg in searcher.segment_readers() {
        let inverted = seg.inverted_index(fields.path_id)?;
        let mut terms = inverted.terms().stream()?;
        while terms.advance() {
            out.insert(String::from_utf8_lossy(terms.key()).into_owned());
        }
    }
    Ok(out)
}

#[derive(Default)]
struct Counters {
    new: AtomicU64,
    changed: AtomicU64,
    touched: AtomicU64,
    unchanged: AtomicU64,
    skipped: AtomicU64,
    bytes: AtomicU64,
    errors: std::sync::Mutex<Vec<ErrorRecord>>,
}

impl Counters {
    fn error(&self, path: &str, kind: ErrorKind, reason: String) {
        if let Ok(mut e) = self.errors.lock() {
            e.push(ErrorRecord {
                path: path.to_string(),
                kind,
                reason,
            });
        }
    }
}

struct WorkerCtx<'a> {
    detector: &'a Detector,
    fields: &'a Fields,
    known: &'a HashMap<String, Record>,
    opts: &'a ScanOptions,
    counters: &'a Counters,
    stop: &'a AtomicBool,
    on_file: &'a (dyn Fn(u64) + Sync),
}

impl WorkerCtx<'_> {
    /// One file: compare with its record, hash or read it as needed, send what changed.
    fn work(&self, f: &FileEntry, tx: &SyncSender<Msg>, buf: &mut Vec<u8>) {
        if self.stop.load(Ordering::Relaxed) {
            return;
        }
        let c = self.counters;
        // Stat before reading: if the file changes while it is read, the next run sees a
        // newer mtime than the one recorded and reads it again.
        let (size, mtime) = match std::fs::metadata(&f.path) {
            Ok(m) => (m.len(), mtime_ns(&m)),
            Err(e) => {
                c.error(&f.display, ErrorKind::Unreadable, e.to_string());
                return;
            }
        };
        let old = self.known.get(&f.display);
        if let Some(r) = old {
            if r.size == size && r.mtime == mtime {
                c.unchanged.fetch_add(1, Ordering::Relaxed);
                (self.on_file)(0);
                return;
            }
            if !r.sha256.is_empty() {
                match hash_file(&f.path) {
                    Ok(sha) if sha == r.sha256 => {
                        c.touched.fetch_add(1, Ordering::Relaxed);
                        c.bytes.fetch_add(size, Ordering::Relaxed);
                        (self.on_file)(size);
                        let record = Record {
                            size,
                            mtime,
                            ..r.clone()
                        };
                        let _ = tx.send(Msg::Touch {
                            path: f.display.clone(),
                            record,
                        });
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        c.error(&f.display, ErrorKind::Unreadable, e.to_string());
                        return;
                    }
                }
            }
        }
        let file = FileCtx {
            path: &f.display,
            size,
            mtime,
        };
        let mut send_failed = false;
        let outcome = scan::read_file(
            self.detector,
            &f.path,
            &f.display,
            self.opts,
            buf,
            &mut |unit| {
                if send_failed {
                    return;
                }
                let docs = unit_documents(self.fields, &file, &unit);
                let bytes = unit.segments.iter().map(|s| s.text.len() as u64).sum();
                send_failed = tx
                    .send(Msg::Docs {
                        path: f.display.clone(),
                        docs,
                        bytes,
                    })
                    .is_err();
            },
        );
        if old.is_some() {
            c.changed.fetch_add(1, Ordering::Relaxed);
        } else {
            c.new.fetch_add(1, Ordering::Relaxed);
        }
        if outcome.skipped {
            c.skipped.fetch_add(1, Ordering::Relaxed);
        }
        c.bytes.fetch_add(outcome.bytes, Ordering::Relaxed);
        (self.on_file)(outcome.bytes);
        // An I/O failure is not recorded, so the file is tried again; a malformed file is,
        // so it is read again only when it changes.
        let io_failed = outcome
            .errors
            .iter()
            .any(|e| e.kind == ErrorKind::Unreadable);
        let status = if outcome.skipped {
            Status::Skipped
        } else if outcome.errors.iter().any(|e| e.is_unreadable()) {
            Status::Failed
        } else {
            Status::Indexed
        };
        if let Ok(mut errors) = c.errors.lock() {
            errors.extend(outcome.errors);
        }
        let record = (!io_failed).then(|| Record {
            size,
            mtime,
            sha256: outcome.sha256.unwrap_or_default(),
            status: status as u64,
        });
        let _ = tx.send(Msg::Done {
            path: f.display.clone(),
            record,
        });
    }
}

fn mtime_ns(m: &std::fs::Metadata) -> i64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64)
}

fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

/// The file a unit came from.
struct FileCtx<'a> {
    path: &'a str,
    size: u64,
    mtime: i64,
}

/// How offsets in a piece's stored text relate to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offsets {
    /// Only the piece's own line, column and byte range are known.
    None = 0,
    /// Line breaks in the text are the source's: counting them gives source lines.
    Lines = 1,
    /// The text is the source bytes from `byte_start`: offsets are file offsets.
    Verbatim = 2,
}

impl Offsets {
    pub(crate) fn from_u64(v: u64) -> Offsets {
        match v {
            2 => Offsets::Verbatim,
            1 => Offsets::Lines,
            _ => Offsets::None,
        }
    }
}

/// One index document before it becomes one: a text the detector read (a segment, or text
/// decoded out of one), borrowed from the scanned unit.
struct Piece<'a> {
    channel: Channel,
    /// The segment's fixed location fields (page, part, pointer, entry, attachment).
    location: &'a Location,
    line: Option<u32>,
    column: Option<u32>,
    byte_start: Option<u64>,
    byte_end: Option<u64>,
    offsets: Offsets,
    /// The text as extracted or decoded.
    original: &'a str,
    /// As the detector normalized it.
    normalized: &'a str,
    findings: Vec<usize>,
}

impl<'a> Piece<'a> {
    fn of(unit: &Unit<'a>, t: &'a ScannedText) -> Option<Piece<'a>> {
        let seg = unit.segments.get(t.segment)?;
        let original = t.decoded.as_deref().unwrap_or(&seg.text);
        if t.normalized.is_empty() {
            return None;
        }
        let sp = &t.span;
        // Decoded text has its own line breaks; only its start is a place in the file.
        let offsets = if t.depth > 0 {
            Offsets::None
        } else if sp.verbatim && sp.byte_start.is_some() {
            Offsets::Verbatim
        } else if sp.line.is_some() {
            Offsets::Lines
        } else {
            Offsets::None
        };
        Some(Piece {
            channel: t.channel,
            location: &seg.location,
            line: sp.line,
            column: sp.column,
            byte_start: sp.byte_start,
            byte_end: sp.byte_end,
            offsets,
            original,
            normalized: &t.normalized,
            findings: Vec::new(),
        })
    }
}

/// 0-based line and 0-based character column of byte `at` in `text`.
pub(crate) fn line_col(text: &str, at: usize) -> (u32, u32) {
    let at = at.min(text.len());
    let before = &text.as_bytes()[..at];
    let line = memchr::memchr_iter(b'\n', before).count();
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |p| p + 1);
    let col = text.get(line_start..at).map_or(0, |s| s.chars().count());
    (line as u32, col as u32)
}

/// The index documents of one scanned unit.
fn unit_documents(fields: &Fields, file: &FileCtx, unit: &Unit) -> Vec<TantivyDocument> {
    let mut pieces: Vec<Piece> = unit
        .texts
        .iter()
        .filter_map(|t| Piece::of(unit, t))
        .collect();
    assign_findings(&mut pieces, unit.findings);
    pieces
        .iter()
        .map(|p| piece_document(fields, file, unit, p))
        .collect()
}

/// Gives each finding to the piece it was found in: same channel, same segment location,
/// and the matched text in the piece's text; failing that, the first piece of the same
/// channel and location, or the first piece.
fn assign_findings(pieces: &mut [Piece], findings: &[Finding]) {
    if pieces.is_empty() {
        return;
    }
    for (i, f) in findings.iter().enumerate() {
        let base = Location {
            line: None,
            column: None,
            byte_start: None,
            byte_end: None,
            ..f.location.clone()
        };
        let same = |p: &Piece| p.channel == f.channel && *p.location == base;
        let matched = f.matched.as_str();
        let holds = |p: &Piece| p.normalized.contains(matched);
        let target = pieces
            .iter()
            .position(|p| {
                same(p) && (matched.is_empty() || holds(p) || p.original.contains(matched))
            })
            .or_else(|| pieces.iter().position(same))
            .unwrap_or(0);
        pieces[target].findings.push(i);
    }
}

fn piece_document(fields: &Fields, file: &FileCtx, unit: &Unit, p: &Piece) -> TantivyDocument {
    let mut d = TantivyDocument::default();
    d.add_text(fields.kind, "piece");
    d.add_text(fields.path, file.path);
    d.add_text(fields.path_id, file.path);
    d.add_text(fields.sha256, unit.file_sha256);
    if let Some((_, sha)) = unit.entry {
        d.add_text(fields.entry_sha256, sha);
    }
    d.add_text(fields.format, unit.format.as_str());
    d.add_text(fields.channel, p.channel.as_str());
    let loc = p.location;
    if let Some(v) = loc.page {
        d.add_u64(fields.page, v.into());
    }
    if let Some(v) = p.line {
        d.add_u64(fields.line, v.into());
    }
    if let Some(v) = p.column {
        d.add_u64(fields.column, v.into());
    }
    if let Some(v) = p.byte_start {
        d.add_u64(fields.byte_start, v);
    }
    if let Some(v) = p.byte_end {
        d.add_u64(fields.byte_end, v);
    }
    d.add_u64(fields.offsets, p.offsets as u64);
    if let Some(v) = &loc.json_pointer {
        d.add_text(fields.pointer, v);
    }
    if let Some(v) = &loc.entry {
        d.add_text(fields.entry, v);
    }
    if let Some(v) = &loc.attachment {
        d.add_text(fields.attachment, v);
    }
    if let Some(v) = &loc.part {
        d.add_text(fields.part, v);
    }
    // ASCII text normalizes to itself lowercased with whitespace runs collapsed, which
    // tokenizes the same.
    let indexed = if p.original.is_ascii() {
        p.original
    } else {
        p.normalized
    };
    d.add_text(fields.text, indexed);
    d.add_text(fields.original, p.original);
    add_endpoints(&mut d, fields, p.normalized);
    let mut stored = Vec::new();
    let mut rank = None;
    for &i in &p.findings {
        let f = &unit.findings[i];
        d.add_text(fields.rule, &f.rule_id);
        d.add_text(fields.category, &f.category);
        d.add_text(fields.severity, f.severity.as_str());
        d.add_text(fields.finding, &f.finding_id);
        rank = rank.max(Some(f.severity as u64));
        stored.push(super::HitFinding::of(f));
    }
    if let Some(r) = rank {
        d.add_u64(fields.severity_rank, r);
    }
    if !stored.is_empty() {
        d.add_text(
            fields.findings,
            serde_json::to_string(&stored).unwrap_or_default(),
        );
    }
    d.add_u64(fields.size, file.size);
    d.add_i64(fields.mtime, file.mtime);
    d
}

/// Endpoints of a piece. Only whitespace-separated words that can hold one go through the
/// endpoint regexes, in one batch: prose and code stay cheap.
/// No endpoint spans whitespace, so this finds what a pass over the whole text would.
fn add_endpoints(d: &mut TantivyDocument, fields: &Fields, text: &str) {
    let mut batch = String::new();
    let b = text.as_bytes();
    let mut word_end = 0;
    // Every endpoint holds a '.', '@' or ':'; look only at the words around those.
    for i in memchr::memchr3_iter(b'.', b'@', b':', b) {
        if i < word_end || (b[i] == b'.' && b.get(i + 1).is_none_or(u8::is_ascii_whitespace)) {
            continue;
        }
        let start = b[..i]
            .iter()
            .rposition(u8::is_ascii_whitespace)
            .map_or(0, |p| p + 1);
        word_end = b[i..]
            .iter()
            .position(u8::is_ascii_whitespace)
            .map_or(b.len(), |p| i + p);
        // ASCII whitespace is a char boundary.
        let word = &text[start..word_end];
        if endpoints::may_hold_endpoint(word) {
            batch.push_str(word);
            batch.push(' ');
        }
    }
    if batch.is_empty() {
        return;
    }
    let found = endpoints::extract(&batch);
    let mut domains: HashSet<String> = HashSet::new();
    let mut hosts: HashSet<String> = HashSet::new();
    for e in &found {
        match e.kind {
            EndpointKind::Url => {
                let v = e.value.to_lowercase();
                let bare = v
                    .split(['?', '#'])
                    .next()
                    .unwrap_or(&v)
                    .trim_end_matches('/');
                d.add_text(fields.url, &v);
                if bare != v {
                    d.add_text(fields.url, bare);
                }
            }
            EndpointKind::Email => d.add_text(fields.email, e.value.to_lowercase()),
            EndpointKind::Ipv4 | EndpointKind::Ipv6 => d.add_text(fields.ip, &e.host),
            EndpointKind::Domain => {}
        }
        let host = e.host.trim_end_matches('.');
        if host.parse::<std::net::IpAddr>().is_ok() {
            if e.kind == EndpointKind::Url {
                d.add_text(fields.ip, host);
            }
            continue;
        }
        if hosts.insert(host.to_string()) {
            d.add_text(fields.host, host);
        }
        // Every parent domain too, so `domain:attacker.io` finds its subdomains.
        let mut rest = host;
        while rest.contains('.') {
            domains.insert(rest.to_string());
            rest = rest.split_once('.').map_or("", |(_, r)| r);
        }
    }
    for dom in domains {
        d.add_text(fields.domain, dom);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_lines_and_characters() {
        assert_eq!(line_col("ab\ncdé f", 7), (1, 3));
        assert_eq!(line_col("abc", 2), (0, 2));
    }
}
