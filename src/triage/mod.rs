//! Session-log triage: the field guide's five detection signals, its decision tree, the
//! injection source and the incident timeline, per session, streamed.
//!
//! ```text
//! session log ──► parse + scan responses (parallel, per batch of lines)
//!             ──► per-session state (bounded) ──► at SESSION_END: signals ──► decision tree
//!             ──► injection source, timeline, blast radius ──► report writer
//! ```
//!
//! ```
//! use mcpsweep::triage::{Triage, TriageConfig, Classification};
//! use mcpsweep::{DetectConfig, Detector, RuleSet};
//!
//! let log = br#"{"ts":"2026-03-02T09:00:00Z","event":"SESSION_START","session_id":"s1","agent_id":"a1","role":"analyst","task":"t","allowlist":["read_file"]}
//! {"ts":"2026-03-02T09:00:05Z","event":"TOOL_INVOKED","session_id":"s1","tool":"send_data","outcome":"DENIED"}
//! {"ts":"2026-03-02T09:00:09Z","event":"SESSION_END","session_id":"s1"}
//! "#;
//! let detector = Detector::new(RuleSet::embedded()?, DetectConfig::default())?;
//! let triage = Triage::new(&detector, TriageConfig::default());
//! let (sessions, summary) = triage.run_to_vec("log.jsonl", &log[..])?;
//! assert_eq!(sessions[0].classification, Classification::ConfirmedIncident);
//! assert!(summary.has_alert());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod baseline;
pub mod decide;
pub mod drift;
pub mod log;
pub mod report;
mod session;
pub mod signals;
pub mod source;
pub mod time;
pub mod timeline;

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use rayon::prelude::*;

use crate::detect::Detector;
use crate::document::Limits;
use crate::finding::Severity;

pub use baseline::{Baseline, Learned, Learner};
pub use decide::Classification;
pub use drift::{ManifestEvent, ManifestEvents};
pub use log::LineError;
pub use report::{ReportFormat, ReportWriter, RunInfo, RunSummary, SessionReport};
pub use signals::{Signal, SignalId};
pub use source::InjectionSource;

use log::{EventKind, Line, LogEvent};
use session::Session;
use source::ResponseScan;

/// Errors of triage and baseline learning; each names the file (and line) and the reason.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: invalid baseline: {reason}", path.display())]
    Baseline { path: PathBuf, reason: String },
    #[error("{}:{line}: {reason}", path.display())]
    ManifestEvents {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error("writing the report: {0}")]
    Output(#[source] std::io::Error),
    #[error("{0}")]
    Engine(#[from] crate::Error),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Thresholds and limits. The defaults are the guide's.
#[derive(Debug, Clone)]
pub struct TriageConfig {
    /// Burst: calls in a rolling 60 s window above this many times the role baseline.
    pub burst_factor: f64,
    /// Duration: more than this many standard deviations above the task mean.
    pub duration_sigmas: f64,
    /// A manifest change this long before the session start (or during it) concerns it.
    pub manifest_window_ms: i64,
    /// An agent first seen fewer days than this before the session is "recently created".
    pub new_agent_days: f64,
    /// Response findings at or above this severity count as injected instructions.
    pub injection_severity: Severity,
    /// Worker threads scanning responses; 0 means one per core.
    pub threads: usize,
    /// Longest log line read; longer ones are reported and skipped.
    pub max_line: usize,
    /// A session with no event for this long (in log time) while the log goes on is reported
    /// as unfinished and its state dropped, so lost SESSION_END lines cannot grow memory
    /// without bound. `None` keeps every open session until the end of the log.
    pub idle_timeout_ms: Option<i64>,
    pub limits: Limits,
}

impl Default for TriageConfig {
    fn default() -> Self {
        TriageConfig {
            burst_factor: 3.0,
            duration_sigmas: 2.0,
            manifest_window_ms: 24 * 3600 * 1000,
            new_agent_days: 7.0,
            injection_severity: Severity::Medium,
            threads: 0,
            max_line: log::DEFAULT_MAX_LINE,
            idle_timeout_ms: Some(24 * 3600 * 1000),
            limits: Limits::default(),
        }
    }
}

/// What per-session code reads from the run.
pub(crate) struct Ctx<'a> {
    pub baseline: Option<&'a Baseline>,
    pub manifest: Option<&'a ManifestEvents>,
    pub config: &'a TriageConfig,
}

/// Lines parsed and scanned together on the worker threads.
const BATCH_LINES: usize = 4096;
const BATCH_BYTES: usize = 8 << 20;
/// Malformed lines listed in the summary (all are counted).
const KEEP_MALFORMED: usize = 1000;

/// A triage run's inputs: the detector (built once), optional baseline and manifest events.
pub struct Triage<'a> {
    detector: &'a Detector,
    baseline: Option<&'a Baseline>,
    manifest: Option<&'a ManifestEvents>,
    config: TriageConfig,
}

impl<'a> Triage<'a> {
    pub fn new(detector: &'a Detector, config: TriageConfig) -> Self {
        Triage {
            detector,
            baseline: None,
            manifest: None,
            config,
        }
    }

    /// Without a baseline, burst, sequence, duration and identity are not evaluable.
    pub fn with_baseline(mut self, baseline: &'a Baseline) -> Self {
        self.baseline = Some(baseline);
        self
    }

    /// Without manifest events, drift and manifest updates are not checked.
    pub fn with_manifest_events(mut self, events: &'a ManifestEvents) -> Self {
        self.manifest = Some(events);
        self
    }

    /// Triages a log file.
    pub fn run_path(
        &self,
        path: &Path,
        on_session: &mut dyn FnMut(SessionReport) -> std::io::Result<()>,
    ) -> Result<RunSummary, Error> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        self.run(
            &path.display().to_string(),
            std::io::BufReader::with_capacity(1 << 20, file),
            on_session,
        )
    }

    /// Collects every session report (for tests and small logs; large logs should stream).
    pub fn run_to_vec<R: BufRead>(
        &self,
        name: &str,
        reader: R,
    ) -> Result<(Vec<SessionReport>, RunSummary), Error> {
        let mut out = Vec::new();
        let summary = self.run(name, reader, &mut |r| {
            out.push(r);
            Ok(())
        })?;
        Ok((out, summary))
    }

    /// Reads the log line by line; each session is reported (through `on_session`) when its
    /// SESSION_END arrives, and its state dropped; sessions still open at the end of the log
    /// are reported last, in order of their first line.
    pub fn run<R: BufRead>(
        &self,
        name: &str,
        reader: R,
        on_session: &mut dyn FnMut(SessionReport) -> std::io::Result<()>,
    ) -> Result<RunSummary, Error> {
        let started = Instant::now();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.config.threads)
            .build()
            .map_err(|e| {
                Error::Engine(crate::Error::Usage(format!(
                    "cannot start worker threads: {e}"
                )))
            })?;
        let ctx = Ctx {
            baseline: self.baseline,
            manifest: self.manifest,
            config: &self.config,
        };
        let mut run = Run {
            ctx: &ctx,
            open: HashMap::new(),
            latest: None,
            summary: RunSummary {
                log: name.to_string(),
                by_classification: Classification::ALL.iter().map(|c| (*c, 0)).collect(),
                ..RunSummary::default()
            },
            on_session,
        };
        let mut lines = log::Lines::new(reader, self.config.max_line);
        // Two stages overlap: this thread reads lines and applies parsed events in log order
        // (sessions, reports); a scanner thread meanwhile parses the next batch and scans its
        // responses on the worker pool.
        std::thread::scope(|scope| -> Result<(), Error> {
            let (to_scan, scan_rx) = mpsc::sync_channel::<Vec<RawLine>>(1);
            let (to_apply, apply_rx) = mpsc::sync_channel::<Vec<Parsed>>(1);
            let pool = &pool;
            scope.spawn(move || {
                for batch in scan_rx {
                    let parsed: Vec<Parsed> =
                        pool.install(|| batch.par_iter().map(|l| self.parse_line(l)).collect());
                    // The receiver is gone when the run stopped on an error.
                    if to_apply.send(parsed).is_err() {
                        break;
                    }
                }
            });
            let mut pending = 0usize;
            loop {
                let (batch, eof) = self.read_batch(&mut lines, name)?;
                if !batch.is_empty() {
                    if to_scan.send(batch).is_err() {
                        break; // the scanner panicked; the scope re-raises it
                    }
                    pending += 1;
                }
                // Apply the batch before while the one just sent is scanned.
                while pending > 1 || (eof && pending > 0) {
                    let Ok(parsed) = apply_rx.recv() else {
                        break;
                    };
                    pending -= 1;
                    for p in parsed {
                        match p {
                            Ok((ev, scan)) => run.apply(ev, scan)?,
                            Err(e) => run.malformed(e),
                        }
                    }
                    run.evict_idle()?;
                }
                if eof {
                    break;
                }
            }
            Ok(())
        })?;
        run.summary.lines = lines.line();
        run.summary.bytes = lines.bytes();
        run.finish()?;
        let mut summary = run.summary;
        let elapsed = started.elapsed();
        summary.elapsed_ms = elapsed.as_millis() as u64;
        if elapsed.as_secs_f64() > 0.0 {
            summary.mb_per_s =
                (summary.bytes as f64 / 1e6 / elapsed.as_secs_f64() * 10.0).round() / 10.0;
        }
        Ok(summary)
    }

    /// Reads up to a batch of lines; says whether the log ended.
    fn read_batch<R: BufRead>(
        &self,
        lines: &mut log::Lines<R>,
        name: &str,
    ) -> Result<(Vec<RawLine>, bool), Error> {
        let mut batch = Vec::new();
        let mut bytes = 0;
        while batch.len() < BATCH_LINES && bytes < BATCH_BYTES {
            let mut buf = Vec::new();
            match lines.next_into(&mut buf).map_err(|e| Error::io(name, e))? {
                None => return Ok((batch, true)),
                Some(Line::TooLong { line, len }) => batch.push(RawLine::TooLong { line, len }),
                Some(Line::Text(n)) => {
                    if !buf.iter().all(u8::is_ascii_whitespace) {
                        bytes += buf.len();
                        batch.push(RawLine::Text(n, buf));
                    }
                }
            }
        }
        Ok((batch, false))
    }

    fn parse_line(&self, line: &RawLine) -> Parsed {
        match line {
            RawLine::Text(n, bytes) => self.parse_and_scan(*n, bytes),
            RawLine::TooLong { line, len } => Err(LineError {
                line: *line,
                reason: format!(
                    "line of {len} bytes is longer than the {} byte limit",
                    self.config.max_line
                ),
            }),
        }
    }

    fn parse_and_scan(&self, n: u64, bytes: &[u8]) -> Parsed {
        let mut ev = log::parse_event(n, bytes)?;
        let scan = match &mut ev.kind {
            EventKind::Tool(call) => call.response.take().map(|r| {
                source::scan_response(
                    self.detector,
                    &r,
                    self.config.injection_severity,
                    &self.config.limits,
                )
            }),
            _ => None,
        };
        Ok((ev, scan))
    }
}

/// A line as read: its text, or only its length when it was too long to keep.
enum RawLine {
    Text(u64, Vec<u8>),
    TooLong { line: u64, len: u64 },
}

/// A line parsed, with its response (if any) already scanned.
type Parsed = Result<(LogEvent, Option<ResponseScan>), LineError>;

/// The sequential half of a run: events applied in log order to per-session state.
struct Run<'r, 'a> {
    ctx: &'r Ctx<'a>,
    open: HashMap<String, Session<'a>>,
    /// Latest event time seen in the log.
    latest: Option<time::Timestamp>,
    summary: RunSummary,
    on_session: &'r mut dyn FnMut(SessionReport) -> std::io::Result<()>,
}

impl<'a> Run<'_, 'a> {
    fn malformed(&mut self, e: LineError) {
        self.summary.malformed += 1;
        if self.summary.malformed_lines.len() < KEEP_MALFORMED {
            self.summary.malformed_lines.push(e);
        }
    }

    fn apply(&mut self, mut ev: LogEvent, scan: Option<ResponseScan>) -> Result<(), Error> {
        self.summary.events += 1;
        self.latest = Some(self.latest.map_or(ev.ts, |t| t.max(ev.ts)));
        if let Some(s) = &scan {
            self.summary.responses_scanned += 1;
            self.summary.responses_with_injection += u64::from(s.top.is_some());
        }
        let ctx = self.ctx;
        // The event's kind moves into the session; the rest of `ev` is read by reference.
        let kind = std::mem::replace(&mut ev.kind, EventKind::End);
        match kind {
            EventKind::Start(st) => {
                if self
                    .open
                    .get(&ev.session_id)
                    .is_some_and(Session::has_start)
                {
                    if let Some(mut old) = self.open.remove(&ev.session_id) {
                        old.note(format!(
                            "another SESSION_START for this session id at line {} began a new session",
                            ev.line
                        ));
                        self.emit(old)?;
                    }
                }
                self.open
                    .entry(ev.session_id.clone())
                    .or_insert_with(|| Session::new(ev.session_id.clone(), &ev))
                    .on_start(ctx, &ev, st);
            }
            EventKind::Tool(call) => match self.open.get_mut(&ev.session_id) {
                Some(s) => s.on_call(ctx, &ev, call, scan),
                None => {
                    let mut s = Session::new(ev.session_id.clone(), &ev);
                    s.on_call(ctx, &ev, call, scan);
                    self.open.insert(ev.session_id.clone(), s);
                }
            },
            EventKind::ManifestDrift(e) => self
                .open
                .entry(ev.session_id.clone())
                .or_insert_with(|| Session::new(ev.session_id.clone(), &ev))
                .on_manifest_event(&ev, e),
            EventKind::End => match self.open.remove(&ev.session_id) {
                Some(mut s) => {
                    s.on_end(&ev);
                    self.emit(s)?;
                }
                None => self.malformed(LineError {
                    line: ev.line,
                    reason: format!(
                        "SESSION_END for session {} which has no open events",
                        ev.session_id
                    ),
                }),
            },
        }
        Ok(())
    }

    fn emit(&mut self, s: Session<'a>) -> Result<(), Error> {
        let report = s.finish(self.ctx);
        self.summary.sessions += 1;
        *self
            .summary
            .by_classification
            .entry(report.classification)
            .or_default() += 1;
        (self.on_session)(report).map_err(Error::Output)
    }

    /// Reports and drops sessions that have been silent for the idle timeout.
    fn evict_idle(&mut self) -> Result<(), Error> {
        let (Some(idle), Some(latest)) = (self.ctx.config.idle_timeout_ms, self.latest) else {
            return Ok(());
        };
        let cutoff = latest.0 - idle;
        let stale: Vec<String> = self
            .open
            .iter()
            .filter(|(_, s)| s.last_ts.0 < cutoff)
            .map(|(id, _)| id.clone())
            .collect();
        let mut stale: Vec<Session<'a>> =
            stale.iter().filter_map(|id| self.open.remove(id)).collect();
        stale.sort_by_key(|s| s.first_line);
        for mut s in stale {
            s.note(format!(
                "no event for more than {} of log time after line {}: reported as unfinished",
                time::human_duration(idle),
                s.last_line
            ));
            self.emit(s)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Error> {
        let mut rest: Vec<Session<'a>> = self.open.drain().map(|(_, s)| s).collect();
        rest.sort_by_key(|s| s.first_line);
        for s in rest {
            self.emit(s)?;
        }
        Ok(())
    }
}
