//! The guide's eradication checklist (Phase 4) filled in from real checks, and its
//! post-incident review (Phase 5) pre-filled from the same evidence.
//!
//! ```text
//! session log ─► triage ─┐
//! vault ─► items, verify ─┤
//! corpus ─► scan ─────────┼─► seven items (status, evidence, actions, deadline) ─► review
//! memory, manifest,       │
//! agent configs, index ───┘
//! ```
//!
//! Every status comes from a check that ran now: DONE needs positive evidence, an input that
//! was not supplied leaves its item TODO ("not checked"), and an input that cannot be read is
//! reported in the item it affects while the rest still runs.

mod items;
pub mod report;
mod review;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat};
use serde::Serialize;

use crate::detect::Detector;
use crate::scan::{scan_paths, ScanOptions, ScanReport};
use crate::triage::{self, Baseline, Classification, SessionReport, TriageConfig};
use crate::vault::{self, Vault};
use crate::{DetectConfig, RuleSet};

pub use review::Review;

/// The JSON schema name and version.
pub const SCHEMA: &str = "mcpsweep-checklist/1";

/// What the checklist is filled from. Every input is optional except the incident id; what is
/// missing leaves the items that need it TODO ("not checked").
#[derive(Debug, Clone)]
pub struct Inputs {
    pub incident: String,
    /// The session log of the compromised agent (triage's format).
    pub session: Option<PathBuf>,
    /// Triage baseline (`baseline learn`): without it only the P1 signals are evaluated.
    pub baseline: Option<PathBuf>,
    /// Folders and files the agent could retrieve documents from.
    pub corpus: Vec<PathBuf>,
    /// Memory stores of the agent.
    pub memory: Vec<PathBuf>,
    pub manifest_baseline: Option<PathBuf>,
    /// The manifest as served now (a file: `tools/list` answer, tools array or baseline).
    pub manifest: Option<PathBuf>,
    /// MCP client configs, `.env` files... that the agent's credentials are deployed in.
    pub agent_config: Vec<PathBuf>,
    /// One line per credential the responder confirms: `FINGERPRINT` rotated (the old value
    /// revoked), or `FINGERPRINT new` (a replacement issued after containment).
    pub rotated: Option<PathBuf>,
    pub vault: Option<PathBuf>,
    /// A corpus index (`mcpsweep index`) for `similar` and the endpoint sweep.
    pub index: Option<PathBuf>,
    /// Containment time; without it, the end of the triaged session.
    pub contained_at: Option<DateTime<FixedOffset>>,
    /// The time deadlines are compared with (injectable for stable output).
    pub now: DateTime<FixedOffset>,
}

impl Inputs {
    pub fn new(incident: &str) -> Inputs {
        Inputs {
            incident: incident.to_string(),
            session: None,
            baseline: None,
            corpus: Vec::new(),
            memory: Vec::new(),
            manifest_baseline: None,
            manifest: None,
            agent_config: Vec::new(),
            rotated: None,
            vault: None,
            index: None,
            contained_at: None,
            now: crate::credentials::now(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Engine(#[from] crate::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Done,
    NotApplicable,
    Todo,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Done => "DONE",
            Status::NotApplicable => "NOT_APPLICABLE",
            Status::Todo => "TODO",
            Status::Failed => "FAILED",
        }
    }

    /// DONE or NOT_APPLICABLE: nothing left to do.
    pub fn is_complete(self) -> bool {
        matches!(self, Status::Done | Status::NotApplicable)
    }
}

/// One line of the checklist.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub number: u8,
    pub id: &'static str,
    pub title: &'static str,
    pub status: Status,
    /// RFC 3339; `null` when the containment time is unknown or for the re-deploy gate.
    pub deadline: Option<String>,
    /// The deadline has passed and the item is not complete; `null` without a deadline.
    pub overdue: Option<bool>,
    /// The guide's deadline rule (`IMMEDIATE`, `WITHIN 1H`, ...).
    pub due: &'static str,
    /// What the checks found: counts, ids, hashes, paths.
    pub evidence: Vec<String>,
    /// What remains to do, with the commands to run.
    pub actions: Vec<String>,
}

impl Item {
    fn new(number: u8, status: Status) -> Item {
        let (id, title, due) = ITEMS[usize::from(number) - 1];
        Item {
            number,
            id,
            title,
            status,
            deadline: None,
            overdue: None,
            due,
            evidence: Vec::new(),
            actions: Vec::new(),
        }
    }
}

/// Ids, titles and deadlines of the guide's seven items.
const ITEMS: [(&str, &str, &str); 7] = [
    (
        "quarantine_source",
        "Quarantine injection source",
        "IMMEDIATE",
    ),
    ("rotate_credentials", "Rotate ALL credentials", "WITHIN 1H"),
    ("audit_memory", "Audit agent memory store", "WITHIN 4H"),
    ("verify_manifest", "Verify manifest integrity", "WITHIN 4H"),
    (
        "review_downstream_access",
        "Review downstream access in the incident window",
        "WITHIN 24H",
    ),
    (
        "scan_corpus",
        "Scan corpus for similar injection patterns",
        "WITHIN 24H",
    ),
    (
        "redeploy",
        "Re-deploy from clean verified build",
        "AFTER ALL ABOVE",
    ),
];

/// Hours after containment, per item (the gate has none).
const DEADLINE_HOURS: [Option<i64>; 7] =
    [Some(0), Some(1), Some(4), Some(4), Some(24), Some(24), None];

/// The filled checklist.
#[derive(Debug, Clone, Serialize)]
pub struct Checklist {
    pub schema: &'static str,
    pub incident: String,
    /// "Now", against which deadlines are judged.
    pub generated_at: String,
    pub contained_at: Option<String>,
    /// Where the containment time came from.
    pub contained_at_source: String,
    pub inputs: InputsSummary,
    pub items: Vec<Item>,
    pub redeploy_ready: bool,
    pub review: Review,
}

impl Checklist {
    /// 0 when the re-deploy gate is ready, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.redeploy_ready {
            0
        } else {
            1
        }
    }
}

/// The inputs as given, for the report header.
#[derive(Debug, Clone, Serialize)]
pub struct InputsSummary {
    pub session: Option<String>,
    pub baseline: Option<String>,
    pub corpus: Vec<String>,
    pub memory: Vec<String>,
    pub manifest_baseline: Option<String>,
    pub manifest: Option<String>,
    pub agent_config: Vec<String>,
    pub rotated: Option<String>,
    pub vault: Option<String>,
    pub index: Option<String>,
}

fn show(p: &Path) -> String {
    p.display().to_string()
}

/// The triaged session the checklist is about.
pub(crate) struct TriageView {
    pub log: String,
    pub session: SessionReport,
    pub sessions: usize,
}

/// What every item may read, gathered once.
pub(crate) struct Ctx<'a> {
    pub inputs: &'a Inputs,
    pub detector: Detector,
    /// `None`: no `--session`; `Some(Err)`: it could not be triaged.
    pub triage: Option<Result<TriageView, String>>,
    pub vault: Option<Result<Vault, String>>,
    pub vault_verify: Option<vault::VerifyReport>,
    pub corpus: Option<Result<ScanReport, String>>,
}

impl Ctx<'_> {
    pub fn session(&self) -> Option<&SessionReport> {
        match &self.triage {
            Some(Ok(v)) => Some(&v.session),
            _ => None,
        }
    }

    pub fn vault(&self) -> Option<&Vault> {
        match &self.vault {
            Some(Ok(v)) => Some(v),
            _ => None,
        }
    }

    /// The vault flag as given, for commands in actions.
    pub fn vault_arg(&self) -> String {
        self.inputs
            .vault
            .as_deref()
            .map(show)
            .unwrap_or_else(|| "VAULT".to_string())
    }
}

/// Fills the checklist. Errors only on what makes the run impossible (the rules fail to
/// compile); every unreadable input lands in the item it affects.
pub fn run(inputs: &Inputs) -> Result<Checklist, Error> {
    let detector = Detector::new(RuleSet::embedded()?, DetectConfig::default())?;
    let triage = inputs
        .session
        .as_deref()
        .map(|log| triage_session(&detector, log, inputs.baseline.as_deref()));
    let vault = inputs
        .vault
        .as_deref()
        .map(|dir| Vault::open(dir, false).map_err(|e| e.to_string()));
    let vault_verify = match &vault {
        Some(Ok(v)) => Some(v.verify()),
        _ => None,
    };
    let corpus = if inputs.corpus.is_empty() {
        None
    } else {
        let opts = ScanOptions::default();
        Some(
            scan_paths(&detector, &inputs.corpus, &opts, &|_| {})
                .map_err(|e| format!("corpus scan: {e}")),
        )
    };
    let ctx = Ctx {
        inputs,
        detector,
        triage,
        vault,
        vault_verify,
        corpus,
    };

    let (contained_at, contained_at_source) = containment_time(&ctx);
    let mut list = vec![
        items::quarantine_source(&ctx),
        items::rotate_credentials(&ctx, contained_at),
        items::audit_memory(&ctx),
        items::verify_manifest(&ctx),
        items::review_downstream_access(&ctx),
        items::scan_corpus(&ctx),
    ];
    list.push(items::redeploy_gate(&list));
    for (item, hours) in list.iter_mut().zip(DEADLINE_HOURS) {
        if let (Some(at), Some(h)) = (contained_at, hours) {
            let deadline = at + Duration::hours(h);
            item.deadline = Some(rfc3339(deadline));
            item.overdue = Some(!item.status.is_complete() && inputs.now > deadline);
        }
    }
    let redeploy_ready = list[6].status == Status::Done;
    let review = review::review(&ctx, &list);
    Ok(Checklist {
        schema: SCHEMA,
        incident: inputs.incident.clone(),
        generated_at: rfc3339(inputs.now),
        contained_at: contained_at.map(rfc3339),
        contained_at_source,
        inputs: InputsSummary {
            session: inputs.session.as_deref().map(show),
            baseline: inputs.baseline.as_deref().map(show),
            corpus: inputs.corpus.iter().map(|p| show(p)).collect(),
            memory: inputs.memory.iter().map(|p| show(p)).collect(),
            manifest_baseline: inputs.manifest_baseline.as_deref().map(show),
            manifest: inputs.manifest.as_deref().map(show),
            agent_config: inputs.agent_config.iter().map(|p| show(p)).collect(),
            rotated: inputs.rotated.as_deref().map(show),
            vault: inputs.vault.as_deref().map(show),
            index: inputs.index.as_deref().map(show),
        },
        items: list,
        redeploy_ready,
        review,
    })
}

pub(crate) fn rfc3339(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `--contained-at`, else the end of the triaged session (the guide's containment script
/// terminates the session), else its last timeline event.
fn containment_time(ctx: &Ctx) -> (Option<DateTime<FixedOffset>>, String) {
    if let Some(t) = ctx.inputs.contained_at {
        return (Some(t), "--contained-at".to_string());
    }
    let Some(Ok(view)) = &ctx.triage else {
        return (
            None,
            "unknown: pass --contained-at TIME (or --session LOG to take the session end)"
                .to_string(),
        );
    };
    let s = &view.session;
    let (ts, what) = match (s.end, s.timeline.last()) {
        (Some(end), _) => (end, format!("SESSION_END of session {}", s.session_id)),
        (None, Some(last)) => (
            last.ts,
            format!("last event of session {} (no SESSION_END)", s.session_id),
        ),
        (None, None) => return (None, "unknown: pass --contained-at TIME".to_string()),
    };
    let parsed = DateTime::parse_from_rfc3339(&ts.to_rfc3339()).ok();
    (
        parsed,
        format!("{what} in {} (line {})", view.log, s.last_line),
    )
}

/// Triages the log and picks the session the checklist is about: the first with an injection
/// source, else the first alert, else the first session.
fn triage_session(
    detector: &Detector,
    log: &Path,
    baseline: Option<&Path>,
) -> Result<TriageView, String> {
    let loaded = match baseline {
        Some(p) => Some(Baseline::from_path(p).map_err(|e| format!("baseline: {e}"))?),
        None => None,
    };
    let mut t = triage::Triage::new(
        detector,
        TriageConfig {
            threads: 1,
            ..TriageConfig::default()
        },
    );
    if let Some(b) = &loaded {
        t = t.with_baseline(b);
    }
    let mut sessions = Vec::new();
    t.run_path(log, &mut |r| {
        sessions.push(r);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    let count = sessions.len();
    let pick = sessions
        .iter()
        .position(|s| s.injection_source.is_some())
        .or_else(|| sessions.iter().position(|s| s.classification.is_alert()))
        .or(if count > 0 { Some(0) } else { None });
    let Some(i) = pick else {
        return Err(format!("{}: no session in the log", log.display()));
    };
    Ok(TriageView {
        log: show(log),
        session: sessions.swap_remove(i),
        sessions: count,
    })
}

/// Triage cleared the session and no response carried injected instructions.
pub(crate) fn provably_benign(s: &SessionReport) -> bool {
    matches!(
        s.classification,
        Classification::NoSignal | Classification::ProbableFalsePositive
    ) && s.injection_source.is_none()
        && s.responses.with_injection == 0
        && s.responses.missing == 0
}
