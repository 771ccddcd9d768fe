//! Orchestration of a sweep: walk, then per document (in parallel) read → extract → detect.
//! One bad file becomes an error record; the sweep goes on.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::detect::{Detector, DocMeta, ScannedText};
use crate::document::{Channel, Format, Limits, Location, Segment};
use crate::error::{Error, ExtractError, Result};
use crate::extract::{self, Sniffed};
use crate::finding::{Finding, Severity, Verdict};
use crate::source::{self, WalkOptions};
use crate::store::{self, StoreKind};

#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Worker threads; 0 lets rayon choose (one per core).
    pub threads: usize,
    pub limits: Limits,
    /// Largest file read whole (containers, JSON, HTML); larger plain-text files are read in
    /// chunks, larger others are reported and skipped.
    pub max_file_size: u64,
    /// Plain-text files above this size are scanned in chunks to bound memory.
    pub chunk_size: usize,
    pub walk: WalkOptions,
    /// Read every input as this kind of memory store instead of recognising stores.
    pub store_type: Option<StoreKind>,
    /// Recognise memory stores (by name and content) and read them entry by entry.
    pub detect_stores: bool,
    pub store_options: store::StoreOptions,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            threads: 0,
            limits: Limits::default(),
            max_file_size: 256 << 20,
            chunk_size: 8 << 20,
            walk: WalkOptions::default(),
            store_type: None,
            detect_stores: true,
            store_options: store::StoreOptions::default(),
        }
    }
}

/// Why a file (or part of one) was not fully read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Could not be opened or read, or is not a regular file: nothing was scanned.
    Unreadable,
    /// Not a valid instance of its format: nothing was scanned.
    Malformed,
    /// A size, nesting or decompression bound was hit: nothing (or only part) was scanned.
    Limit,
    /// The file was scanned, but something inside it was not (an attachment, a bad line).
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ErrorRecord {
    pub path: String,
    pub kind: ErrorKind,
    pub reason: String,
}

impl ErrorRecord {
    /// Whether the file went unscanned (as opposed to a warning about a part of it).
    pub fn is_unreadable(&self) -> bool {
        self.kind != ErrorKind::Warning
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Documents read and scanned.
    pub documents: u64,
    /// Documents with at least one finding (of any severity).
    pub documents_with_findings: u64,
    /// Files passed over as binary or unsupported, and links not followed.
    pub skipped: u64,
    /// Files that could not be scanned (see `errors`).
    pub unreadable: u64,
    pub warnings: u64,
    pub bytes: u64,
    pub elapsed_ms: u64,
    pub mb_per_s: f64,
    /// Finding counts by severity, all severities present as keys.
    pub findings_by_severity: BTreeMap<String, u64>,
    /// Highest severity found in any document, if any.
    pub max_severity: Option<Severity>,
}

/// Everything a sweep produced, sorted by path so output never depends on thread timing.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScanReport {
    pub findings: Vec<Finding>,
    /// Verdicts of documents that have findings.
    pub documents: Vec<Verdict>,
    pub errors: Vec<ErrorRecord>,
    pub summary: Summary,
}

/// Result of one document.
#[derive(Default)]
struct DocResult {
    findings: Vec<Finding>,
    /// Verdicts of documents with findings (one per store entry for a store).
    verdicts: Vec<Verdict>,
    errors: Vec<ErrorRecord>,
    bytes: u64,
    /// Documents scanned: 1 for a file, the entry count for a store.
    documents: u64,
    skipped: bool,
    /// sha256 of the whole file, when units were asked for (see [`read_file`]).
    sha256: Option<String>,
}

/// One scanned document as [`read_file`] hands it over: a file, one memory-store entry, or
/// one chunk of a large text file, with its segments and its findings (ids assigned).
pub struct Unit<'a> {
    pub format: Format,
    /// sha256 of the whole file.
    pub file_sha256: &'a str,
    /// The memory-store entry this unit is, as (id, sha256 of its content): one unit per
    /// entry, and finding ids derive from the entry's hash.
    pub entry: Option<(&'a str, &'a str)>,
    pub segments: &'a [Segment],
    pub findings: &'a [Finding],
    /// Every text the detector read in the segments (decoded ones included), normalized.
    pub texts: &'a [ScannedText],
}

/// Receives the units of a file as they are scanned.
type Units<'a, 'b> = Option<&'a mut (dyn FnMut(Unit<'_>) + 'b)>;

/// What [`read_file`] found besides the units it handed over.
#[derive(Debug, Clone, Default)]
pub struct FileOutcome {
    /// Bytes read (0 for a skipped file).
    pub bytes: u64,
    /// Documents scanned: 1 for a file, the entry count for a store.
    pub documents: u64,
    /// Passed over as binary or unsupported.
    pub skipped: bool,
    pub errors: Vec<ErrorRecord>,
    /// sha256 of the whole file; `None` when it was not read whole (skipped, too large,
    /// unreadable).
    pub sha256: Option<String>,
}

/// Reads, extracts and scans one file exactly as [`scan_paths`] does, handing every scanned
/// unit (with its segments) to `on_unit`: for callers that keep the text, like the index.
/// Unlike a sweep it hashes every file it reads.
pub fn read_file(
    detector: &Detector,
    path: &Path,
    display: &str,
    opts: &ScanOptions,
    buf: &mut Vec<u8>,
    on_unit: &mut dyn FnMut(Unit<'_>),
) -> FileOutcome {
    let r = scan_file(detector, path, display, opts, buf, Some(on_unit));
    FileOutcome {
        bytes: r.bytes,
        documents: r.documents,
        skipped: r.skipped,
        errors: r.errors,
        sha256: r.sha256,
    }
}

/// Sweeps `inputs` (files, folders, or `-` for standard input). `on_file` is called after
/// each file with its size, for progress display.
pub fn scan_paths(
    detector: &Detector,
    inputs: &[PathBuf],
    opts: &ScanOptions,
    on_file: &(dyn Fn(u64) + Sync),
) -> Result<ScanReport> {
    let started = Instant::now();
    let walked = source::walk(inputs, opts.walk);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start worker threads: {e}")))?;
    let results: Vec<DocResult> = pool.install(|| {
        walked
            .files
            .par_iter()
            .map_init(Vec::new, |buf, f| {
                let r = scan_file(detector, &f.path, &f.display, opts, buf, None);
                on_file(r.bytes);
                r
            })
            .collect()
    });
    let mut report = ScanReport {
        errors: walked.errors,
        ..Default::default()
    };
    report.summary.skipped = walked.skipped;
    for r in results {
        report.summary.bytes += r.bytes;
        report.summary.documents += r.documents;
        report.summary.skipped += r.skipped as u64;
        report.findings.extend(r.findings);
        report.documents.extend(r.verdicts);
        report.errors.extend(r.errors);
    }
    finish_report(&mut report, started);
    Ok(report)
}

/// Scans one in-memory document (e.g. standard input or a tool result).
pub fn scan_bytes(detector: &Detector, name: &str, bytes: &[u8], limits: &Limits) -> ScanReport {
    let started = Instant::now();
    let r = scan_document(detector, name, name, bytes, limits, None);
    let mut report = ScanReport {
        findings: r.findings,
        documents: r.verdicts,
        errors: r.errors,
        ..Default::default()
    };
    report.summary.bytes = bytes.len() as u64;
    report.summary.documents = r.documents;
    report.summary.skipped = r.skipped as u64;
    finish_report(&mut report, started);
    report
}

fn finish_report(report: &mut ScanReport, started: Instant) {
    report.findings.sort_by(|a, b| a.path.cmp(&b.path));
    report.documents.sort_by(|a, b| a.path.cmp(&b.path));
    report.errors.sort();
    let s = &mut report.summary;
    s.unreadable = report.errors.iter().filter(|e| e.is_unreadable()).count() as u64;
    s.warnings = report.errors.len() as u64 - s.unreadable;
    s.documents_with_findings = report.documents.len() as u64;
    for sev in Severity::ALL {
        s.findings_by_severity.insert(sev.as_str().into(), 0);
    }
    for f in &report.findings {
        *s.findings_by_severity
            .entry(f.severity.as_str().into())
            .or_default() += 1;
    }
    s.max_severity = report.findings.iter().map(|f| f.severity).max();
    let elapsed = started.elapsed();
    s.elapsed_ms = elapsed.as_millis() as u64;
    s.mb_per_s = if elapsed.as_secs_f64() > 0.0 {
        (s.bytes as f64 / 1e6 / elapsed.as_secs_f64() * 10.0).round() / 10.0
    } else {
        0.0
    };
}

fn error(path: &str, kind: ErrorKind, reason: impl Into<String>) -> ErrorRecord {
    ErrorRecord {
        path: path.to_string(),
        kind,
        reason: reason.into(),
    }
}

fn extract_error(path: &str, e: ExtractError) -> ErrorRecord {
    let kind = match e {
        ExtractError::Limit(_) => ErrorKind::Limit,
        _ => ErrorKind::Malformed,
    };
    error(path, kind, e.to_string())
}

fn scan_file(
    detector: &Detector,
    path: &Path,
    display: &str,
    opts: &ScanOptions,
    buf: &mut Vec<u8>,
    units: Units,
) -> DocResult {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        let read = std::io::stdin()
            .lock()
            .take(opts.max_file_size + 1)
            .read_to_end(&mut bytes);
        return match read {
            Err(e) => DocResult {
                errors: vec![error(display, ErrorKind::Unreadable, e.to_string())],
                ..Default::default()
            },
            Ok(n) if n as u64 > opts.max_file_size => DocResult {
                errors: vec![error(
                    display,
                    ErrorKind::Limit,
                    format!("standard input larger than {} bytes", opts.max_file_size),
                )],
                ..Default::default()
            },
            Ok(_) => scan_document(detector, display, "-", &bytes, &opts.limits, units),
        };
    }
    let fail = |e: std::io::Error| DocResult {
        errors: vec![error(display, ErrorKind::Unreadable, e.to_string())],
        ..Default::default()
    };
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let size = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return fail(e),
    };
    buf.clear();
    // Sniff from the first block before deciding how to read the rest.
    if let Err(e) = (&mut file).take(8192).read_to_end(buf) {
        return fail(e);
    }
    let name = path.to_string_lossy();
    let store_kind = opts.store_type.or_else(|| {
        opts.detect_stores
            .then(|| store::detect(path, buf))
            .flatten()
    });
    if let Some(kind) = store_kind {
        return scan_store(detector, path, display, kind, opts, size, units);
    }
    let format = match extract::sniff(&name, buf) {
        Sniffed::Format(f) => f,
        Sniffed::Skip(_) => {
            return DocResult {
                skipped: true,
                bytes: 0,
                ..Default::default()
            }
        }
    };
    let text_like = matches!(format, Format::Text | Format::Markdown);
    if text_like && size > opts.chunk_size as u64 {
        return scan_chunked(detector, file, path, display, format, opts, buf, units);
    }
    if size > opts.max_file_size {
        return DocResult {
            errors: vec![error(
                display,
                ErrorKind::Limit,
                format!(
                    "{size} bytes is larger than the {} byte limit for {} files",
                    opts.max_file_size,
                    format.as_str()
                ),
            )],
            ..Default::default()
        };
    }
    if let Err(e) = (&mut file)
        .take(opts.max_file_size.saturating_sub(buf.len() as u64))
        .read_to_end(buf)
    {
        return fail(e);
    }
    let mut r = scan_document_as(detector, display, format, buf, &opts.limits, units);
    r.bytes = buf.len() as u64;
    // Big buffers are not kept between files.
    if buf.capacity() > 4 * opts.chunk_size {
        *buf = Vec::new();
    }
    r
}

fn scan_document(
    detector: &Detector,
    display: &str,
    name: &str,
    bytes: &[u8],
    limits: &Limits,
    units: Units,
) -> DocResult {
    match extract::sniff(name, &bytes[..bytes.len().min(8192)]) {
        Sniffed::Format(f) => {
            let mut r = scan_document_as(detector, display, f, bytes, limits, units);
            r.bytes = bytes.len() as u64;
            r
        }
        Sniffed::Skip(_) => DocResult {
            skipped: true,
            ..Default::default()
        },
    }
}

fn scan_document_as(
    detector: &Detector,
    display: &str,
    format: Format,
    bytes: &[u8],
    limits: &Limits,
    units: Units,
) -> DocResult {
    let units_wanted = units.is_some();
    let extracted = match extract::extract_as(format, bytes, limits, 0) {
        Ok(ex) => ex,
        Err(ExtractError::Skipped(_)) => {
            return DocResult {
                skipped: true,
                ..Default::default()
            }
        }
        Err(e) => {
            return DocResult {
                errors: vec![extract_error(display, e)],
                ..Default::default()
            }
        }
    };
    let meta = DocMeta {
        path: display.to_string(),
        format,
    };
    let (mut findings, mut verdict, texts) =
        scan_segments(detector, &meta, &extracted.segments, units_wanted);
    let errors = extracted
        .warnings
        .into_iter()
        .map(|w| error(display, ErrorKind::Warning, w))
        .collect();
    // A sweep hashes only documents with findings; units always carry the hash.
    let sha = (!findings.is_empty() || units.is_some()).then(|| hex::encode(Sha256::digest(bytes)));
    if let Some(sha) = &sha {
        for f in &mut findings {
            f.assign_id(sha);
        }
    }
    if let (Some(on_unit), Some(sha)) = (units, &sha) {
        on_unit(Unit {
            format,
            file_sha256: sha,
            entry: None,
            segments: &extracted.segments,
            findings: &findings,
            texts: &texts,
        });
    }
    let verdicts = match &sha {
        Some(sha) if !findings.is_empty() => {
            verdict.doc_sha256 = sha.clone();
            verdict.size = bytes.len() as u64;
            vec![verdict]
        }
        _ => Vec::new(),
    };
    DocResult {
        findings,
        verdicts,
        errors,
        documents: 1,
        sha256: sha.filter(|_| units_wanted),
        ..Default::default()
    }
}

/// A memory store: one document per entry, the entry id in every finding's location.
fn scan_store(
    detector: &Detector,
    path: &Path,
    display: &str,
    kind: StoreKind,
    opts: &ScanOptions,
    size: u64,
    mut units: Units,
) -> DocResult {
    let Some(format) = store::open(kind, &opts.store_options) else {
        return DocResult {
            errors: vec![error(
                display,
                ErrorKind::Unreadable,
                format!("{} stores are not supported by this build", kind.as_str()),
            )],
            ..Default::default()
        };
    };
    let contents = match format.read(path, &opts.limits) {
        Ok(c) => c,
        Err(e) => {
            return DocResult {
                errors: vec![extract_error(display, e)],
                ..Default::default()
            }
        }
    };
    let meta = DocMeta {
        path: display.to_string(),
        format: Format::MemoryStore,
    };
    let mut result = DocResult {
        bytes: size,
        errors: contents
            .warnings
            .into_iter()
            .map(|w| error(display, ErrorKind::Warning, w))
            .collect(),
        ..Default::default()
    };
    if units.is_some() {
        match hash_file(path) {
            Ok(sha) => result.sha256 = Some(sha),
            Err(e) => result.errors.push(error(
                display,
                ErrorKind::Unreadable,
                format!("re-reading to hash: {e}"),
            )),
        }
    }
    let file_sha256 = result.sha256.clone().unwrap_or_default();
    for entry in contents.entries {
        let segments: Vec<Segment> = entry
            .fields
            .into_iter()
            .map(|f| {
                let location = Location {
                    entry: Some(entry.id.clone()),
                    part: Some(f.name),
                    json_pointer: f.json_pointer,
                    ..Default::default()
                };
                Segment::new(f.text, Channel::Visible, location, f.span)
            })
            .collect();
        let (mut findings, mut verdict, texts) =
            scan_segments(detector, &meta, &segments, units.is_some());
        result.documents += 1;
        for f in &mut findings {
            f.assign_id(&entry.sha256);
        }
        if let Some(on_unit) = units.as_deref_mut() {
            on_unit(Unit {
                format: Format::MemoryStore,
                file_sha256: &file_sha256,
                entry: Some((&entry.id, &entry.sha256)),
                segments: &segments,
                findings: &findings,
                texts: &texts,
            });
        }
        if findings.is_empty() {
            continue;
        }
        verdict.doc_sha256 = entry.sha256;
        verdict.entry = Some(entry.id);
        result.findings.extend(findings);
        result.verdicts.push(verdict);
    }
    result
}

/// Overlap between chunks, so a phrase cut by a chunk boundary is still seen whole.
const CHUNK_OVERLAP: usize = 8192;

/// Large text files are read in chunks that overlap, so memory stays bounded whatever the
/// file size (a 1 GB single line included).
#[allow(clippy::too_many_arguments)]
fn scan_chunked(
    detector: &Detector,
    mut file: File,
    path: &Path,
    display: &str,
    format: Format,
    opts: &ScanOptions,
    buf: &mut Vec<u8>,
    mut units: Units,
) -> DocResult {
    let meta = DocMeta {
        path: display.to_string(),
        format,
    };
    let mut result = DocResult {
        documents: 1,
        ..Default::default()
    };
    // Units need finding ids chunk by chunk, so the file is hashed first.
    if units.is_some() {
        match hash_file(path) {
            Ok(sha) => result.sha256 = Some(sha),
            Err(e) => {
                result
                    .errors
                    .push(error(display, ErrorKind::Unreadable, e.to_string()));
                return result;
            }
        }
    }
    // `buf` holds the sniffed head; it is the start of the first chunk.
    let mut chunk_start: u64 = 0;
    let mut line: u32 = 1;
    let mut eof = false;
    loop {
        if !eof {
            let want = opts.chunk_size.saturating_sub(buf.len()) as u64;
            match (&mut file).take(want).read_to_end(buf) {
                Ok(n) => eof = (n as u64) < want,
                Err(e) => {
                    result.errors.push(error(
                        display,
                        ErrorKind::Unreadable,
                        format!(
                            "read failed at byte {}: {e}",
                            chunk_start + buf.len() as u64
                        ),
                    ));
                    break;
                }
            }
        }
        // Cut after the last newline, or at a character boundary, so no character is split.
        let cut = if eof {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', buf) {
                Some(p) if p > buf.len() / 2 => p + 1,
                _ => char_boundary_before(buf, buf.len()),
            }
        };
        let ex =
            extract::extract_text_chunk(&buf[..cut], chunk_start, line, format == Format::Markdown);
        let (findings, _, texts) = scan_segments(detector, &meta, &ex.segments, units.is_some());
        if let (Some(on_unit), Some(sha)) = (units.as_deref_mut(), &result.sha256) {
            let mut with_ids = findings.clone();
            for f in &mut with_ids {
                f.assign_id(sha);
            }
            on_unit(Unit {
                format,
                file_sha256: sha,
                entry: None,
                segments: &ex.segments,
                findings: &with_ids,
                texts: &texts,
            });
        }
        result.findings.extend(findings);
        result.errors.extend(
            ex.warnings
                .into_iter()
                .map(|w| error(display, ErrorKind::Warning, w)),
        );
        if eof && cut == buf.len() {
            break;
        }
        // Keep an overlap tail so phrases across the cut are matched in the next chunk.
        let keep_from = char_boundary_before(buf, cut.saturating_sub(CHUNK_OVERLAP));
        line += memchr::memchr_iter(b'\n', &buf[..keep_from]).count() as u32;
        chunk_start += keep_from as u64;
        buf.drain(..keep_from);
    }
    result.bytes = chunk_start + buf.len() as u64;
    // Findings in the overlap were seen twice.
    result.findings.sort_by(|a, b| {
        (a.location.byte_start, &a.rule_id, a.channel).cmp(&(
            b.location.byte_start,
            &b.rule_id,
            b.channel,
        ))
    });
    result.findings.dedup_by(|a, b| {
        a.rule_id == b.rule_id && a.location == b.location && a.channel == b.channel
    });
    if !result.findings.is_empty() {
        let hashed = match &result.sha256 {
            Some(sha) => Ok(sha.clone()),
            None => hash_file(path),
        };
        match hashed {
            Ok(sha) => {
                for f in &mut result.findings {
                    f.assign_id(&sha);
                }
                let mut v = crate::detect::verdict_of(&meta, &result.findings);
                v.doc_sha256 = sha;
                v.size = result.bytes;
                result.verdicts = vec![v];
            }
            Err(e) => result.errors.push(error(
                display,
                ErrorKind::Unreadable,
                format!("re-reading to hash: {e}"),
            )),
        }
    }
    *buf = Vec::new();
    result
}

/// The detector's scan, keeping the texts it read only when units want them.
fn scan_segments(
    detector: &Detector,
    meta: &DocMeta,
    segments: &[Segment],
    keep_texts: bool,
) -> (Vec<Finding>, Verdict, Vec<ScannedText>) {
    if keep_texts {
        detector.scan_segments_keeping_texts(meta, segments)
    } else {
        let (findings, verdict) = detector.scan_segments(meta, segments);
        (findings, verdict, Vec::new())
    }
}

fn char_boundary_before(b: &[u8], mut i: usize) -> usize {
    i = i.min(b.len());
    // Step back over UTF-8 continuation bytes (at most 3).
    let mut steps = 0;
    while i > 0 && i < b.len() && (b[i] & 0xC0) == 0x80 && steps < 3 {
        i -= 1;
        steps += 1;
    }
    i
}

fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}
