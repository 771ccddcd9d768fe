//! Baselines learned from known-good sessions (`mcpsweep baseline learn`), and the
//! `baseline.json` file that holds them.
//!
//! Per role: the busiest rolling 60-second window of each session, averaged (the burst
//! signal compares a session's busiest window with 3x this). Per declared task: the
//! known-good workflows (the guide's sequence fingerprint plus the collapsed form) and the
//! session duration's mean and standard deviation. Per agent identity: when it was first seen.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::log::{self, EventKind, Line, Lines, Outcome, SessionStart};
use super::signals::{sequence_sha256, Fingerprint, RollingWindow, WINDOW_MS};
use super::time::Timestamp;
use super::Error;

pub const FORMAT: &str = "mcpsweep-baseline";
pub const VERSION: u32 = 1;

/// Longest collapsed workflow learned; longer sessions still count for rate and duration.
const MAX_WORKFLOW: usize = 10_000;
/// Distinct exact fingerprints remembered per workflow.
const MAX_EXACT: usize = 100;
const MAX_WARNINGS: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Always `mcpsweep-baseline`.
    pub format: String,
    pub version: u32,
    /// Width of the burst window in seconds (60, the guide's).
    pub window_s: u32,
    pub learned_from: LearnedFrom,
    /// By role (`SESSION_START.role`).
    pub roles: BTreeMap<String, RoleBaseline>,
    /// By declared task (`SESSION_START.task`).
    pub tasks: BTreeMap<String, TaskBaseline>,
    /// By agent identity (`agent_id`).
    pub agents: BTreeMap<String, AgentBaseline>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LearnedFrom {
    pub logs: Vec<String>,
    /// Sessions used.
    pub sessions: u64,
    /// Sessions left out (DENIED or out-of-allowlist calls, no SESSION_START).
    pub excluded_sessions: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleBaseline {
    /// Mean over sessions of the most calls in one rolling 60-second window.
    pub rate_per_60s: f64,
    /// The largest such window seen.
    pub peak_max: u64,
    pub sessions: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskBaseline {
    #[serde(default)]
    pub workflows: Vec<Workflow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<DurationStats>,
}

/// One known-good workflow: a collapsed tool sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    /// Tool names in call order, consecutive repeats collapsed.
    pub collapsed: Vec<String>,
    /// sha256 of `collapsed` joined by "."; checked on load.
    pub collapsed_sha256: String,
    /// The guide's fingerprints (sha256 of the uncollapsed names joined by ".") seen for it.
    #[serde(default)]
    pub exact_sha256: Vec<String>,
    #[serde(default)]
    pub sessions: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DurationStats {
    pub mean_s: f64,
    /// Sample standard deviation (n - 1).
    pub stddev_s: f64,
    pub sessions: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentBaseline {
    pub first_seen: Timestamp,
    #[serde(default)]
    pub sessions: u64,
}

impl Baseline {
    pub fn empty() -> Baseline {
        Baseline {
            format: FORMAT.into(),
            version: VERSION,
            window_s: (WINDOW_MS / 1000) as u32,
            learned_from: LearnedFrom::default(),
            roles: BTreeMap::new(),
            tasks: BTreeMap::new(),
            agents: BTreeMap::new(),
        }
    }

    pub fn from_path(path: &Path) -> Result<Baseline, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Baseline::from_slice(&bytes).map_err(|reason| Error::Baseline {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses and checks a baseline: format and version, numbers in range, and every
    /// workflow's hash against its tool list (a hand edit must not silently break matching).
    pub fn from_slice(bytes: &[u8]) -> Result<Baseline, String> {
        let b: Baseline =
            serde_json::from_slice(bytes).map_err(|e| format!("not a baseline file: {e}"))?;
        if b.format != FORMAT {
            return Err(format!("format is \"{}\", expected \"{FORMAT}\"", b.format));
        }
        if b.version != VERSION {
            return Err(format!(
                "version {} is not supported (this mcpsweep reads version {VERSION})",
                b.version
            ));
        }
        if i64::from(b.window_s) * 1000 != WINDOW_MS {
            return Err(format!(
                "window_s is {}; the burst signal is defined over 60 seconds",
                b.window_s
            ));
        }
        for (role, r) in &b.roles {
            if !(r.rate_per_60s.is_finite() && r.rate_per_60s > 0.0) {
                return Err(format!(
                    "roles.{role}.rate_per_60s must be a positive number"
                ));
            }
        }
        for (task, t) in &b.tasks {
            for (i, w) in t.workflows.iter().enumerate() {
                let at = format!("tasks.{task}.workflows[{i}]");
                if w.collapsed.windows(2).any(|p| p[0] == p[1]) {
                    return Err(format!("{at}.collapsed repeats a tool consecutively"));
                }
                let sha = sequence_sha256(&w.collapsed);
                if !w.collapsed_sha256.eq_ignore_ascii_case(&sha) {
                    return Err(format!(
                        "{at}.collapsed_sha256 is {} but the tools hash to {sha}",
                        w.collapsed_sha256
                    ));
                }
            }
            if let Some(d) = &t.duration {
                if !(d.mean_s.is_finite() && d.stddev_s.is_finite() && d.stddev_s >= 0.0) {
                    return Err(format!(
                        "tasks.{task}.duration needs a finite mean_s and a stddev_s >= 0"
                    ));
                }
            }
        }
        Ok(b)
    }

    /// Pretty JSON with a final newline; maps are sorted, so the same input gives the same
    /// bytes.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// What one known-good session contributes while it streams by.
struct LearnSession {
    first_line: u64,
    start: Option<(Timestamp, SessionStart)>,
    agent: Option<String>,
    last_ts: Timestamp,
    end: Option<Timestamp>,
    window: RollingWindow,
    fingerprint: Fingerprint,
    calls: u64,
    /// Why the session cannot count as known-good.
    tainted: Option<String>,
}

#[derive(Default)]
struct RoleAcc {
    peaks: u64,
    peak_max: u64,
    sessions: u64,
}

#[derive(Default)]
struct TaskAcc {
    /// By collapsed sha256.
    workflows: BTreeMap<String, (Vec<String>, BTreeSet<String>, u64)>,
    /// Welford's running mean and sum of squares.
    n: u64,
    mean: f64,
    m2: f64,
}

/// Builds a [`Baseline`] from logs of known-good sessions.
#[derive(Default)]
pub struct Learner {
    open: HashMap<String, LearnSession>,
    roles: BTreeMap<String, RoleAcc>,
    tasks: BTreeMap<String, TaskAcc>,
    agents: BTreeMap<String, AgentBaseline>,
    from: LearnedFrom,
    warnings: Vec<String>,
    more_warnings: u64,
}

/// A learned baseline and what was left out on the way.
#[derive(Debug, Clone)]
pub struct Learned {
    pub baseline: Baseline,
    /// Malformed lines and excluded sessions, with file and line (the first 100).
    pub warnings: Vec<String>,
    /// Warnings beyond the first 100.
    pub more_warnings: u64,
}

impl Learner {
    pub fn new() -> Self {
        Learner::default()
    }

    pub fn add_path(&mut self, path: &Path) -> Result<(), Error> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        self.add_log(
            &path.display().to_string(),
            std::io::BufReader::with_capacity(1 << 20, file),
        )
    }

    /// Learns every session of one log. Sessions still open at its end count for rate and
    /// identity, but not for workflows or duration (they may have been cut short).
    pub fn add_log<R: BufRead>(&mut self, name: &str, reader: R) -> Result<(), Error> {
        self.from.logs.push(name.to_string());
        let mut lines = Lines::new(reader, log::DEFAULT_MAX_LINE);
        let mut buf = Vec::new();
        while let Some(l) = lines.next_into(&mut buf).map_err(|e| Error::io(name, e))? {
            let n = match l {
                Line::Text(n) => n,
                Line::TooLong { line, len } => {
                    self.warn(format!("{name}:{line}: skipped: line of {len} bytes"));
                    continue;
                }
            };
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match log::parse_event(n, &buf) {
                Ok(ev) => self.apply(name, ev),
                Err(e) => self.warn(format!("{name}:{}: skipped: {}", e.line, e.reason)),
            }
        }
        let mut rest: Vec<(String, LearnSession)> = self.open.drain().collect();
        rest.sort_by_key(|(_, s)| s.first_line);
        for (id, s) in rest {
            self.close(name, &id, s, false);
        }
        Ok(())
    }

    fn warn(&mut self, w: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(w);
        } else {
            self.more_warnings += 1;
        }
    }

    fn apply(&mut self, name: &str, ev: log::LogEvent) {
        let from = &mut self.from;
        from.first_ts = Some(from.first_ts.map_or(ev.ts, |t| t.min(ev.ts)));
        from.last_ts = Some(from.last_ts.map_or(ev.ts, |t| t.max(ev.ts)));
        // A second SESSION_START for an open id begins a new session; one that arrives after
        // the session's first calls fills in the session it belongs to.
        if matches!(ev.kind, EventKind::Start(_))
            && self
                .open
                .get(&ev.session_id)
                .is_some_and(|s| s.start.is_some())
        {
            if let Some(old) = self.open.remove(&ev.session_id) {
                self.close(name, &ev.session_id, old, false);
            }
        }
        let s = self
            .open
            .entry(ev.session_id.clone())
            .or_insert_with(|| LearnSession {
                first_line: ev.line,
                start: None,
                agent: None,
                last_ts: ev.ts,
                end: None,
                window: RollingWindow::new(WINDOW_MS),
                fingerprint: Fingerprint::new(MAX_WORKFLOW),
                calls: 0,
                tainted: None,
            });
        if s.agent.is_none() {
            s.agent = ev.agent_id.clone();
        }
        let ts = ev.ts.max(s.last_ts);
        s.last_ts = ts;
        match ev.kind {
            EventKind::Start(st) => s.start = Some((ev.ts, st)),
            EventKind::Tool(call) => {
                s.calls += 1;
                s.window.push(ts.0);
                s.fingerprint.push(&call.tool);
                let outside = s
                    .start
                    .as_ref()
                    .and_then(|(_, st)| st.allowlist.as_ref())
                    .is_some_and(|a| !a.contains(&call.tool));
                if s.tainted.is_none() && (call.outcome == Outcome::Denied || outside) {
                    let what = match (call.outcome == Outcome::Denied, outside) {
                        (true, true) => "DENIED out-of-allowlist",
                        (true, false) => "DENIED",
                        _ => "out-of-allowlist",
                    };
                    s.tainted = Some(format!("{what} call to {} at line {}", call.tool, ev.line));
                }
            }
            EventKind::ManifestDrift(e) => {
                if s.tainted.is_none() {
                    s.tainted = Some(format!(
                        "manifest drift ({}) at line {}",
                        e.describe(),
                        ev.line
                    ));
                }
            }
            EventKind::End => s.end = Some(ts),
        }
        if s.end.is_some() {
            if let Some(s) = self.open.remove(&ev.session_id) {
                self.close(name, &ev.session_id, s, true);
            }
        }
    }

    fn close(&mut self, name: &str, id: &str, s: LearnSession, ended: bool) {
        let Some((start_ts, start)) = s.start else {
            self.from.excluded_sessions += 1;
            self.warn(format!(
                "{name}:{}: session {id} excluded: no SESSION_START",
                s.first_line
            ));
            return;
        };
        if let Some(why) = s.tainted {
            self.from.excluded_sessions += 1;
            self.warn(format!(
                "{name}:{}: session {id} excluded, not known-good: {why}",
                s.first_line
            ));
            return;
        }
        self.from.sessions += 1;
        if let Some(agent) = s.agent {
            let a = self.agents.entry(agent).or_insert(AgentBaseline {
                first_seen: start_ts,
                sessions: 0,
            });
            a.first_seen = a.first_seen.min(start_ts);
            a.sessions += 1;
        }
        if let (Some(role), true) = (start.role, s.calls > 0) {
            let r = self.roles.entry(role).or_default();
            let (peak, _, _) = s.window.peak();
            r.peaks += peak;
            r.peak_max = r.peak_max.max(peak);
            r.sessions += 1;
        }
        let (Some(task), Some(end), true) = (start.task, s.end, ended) else {
            return;
        };
        let fp = s.fingerprint.finish();
        let t = self.tasks.entry(task).or_default();
        if fp.is_whole() {
            let w = t
                .workflows
                .entry(fp.collapsed_sha256)
                .or_insert_with(|| (fp.collapsed, BTreeSet::new(), 0));
            if w.1.len() < MAX_EXACT {
                w.1.insert(fp.sha256);
            }
            w.2 += 1;
        }
        let d = (end.0 - start_ts.0) as f64 / 1000.0;
        t.n += 1;
        let delta = d - t.mean;
        t.mean += delta / t.n as f64;
        t.m2 += delta * (d - t.mean);
    }

    pub fn finish(self) -> Learned {
        let mut b = Baseline::empty();
        b.learned_from = self.from;
        b.roles = self
            .roles
            .into_iter()
            .map(|(k, r)| {
                let rate = r.peaks as f64 / r.sessions as f64;
                (
                    k,
                    RoleBaseline {
                        rate_per_60s: (rate * 1000.0).round() / 1000.0,
                        peak_max: r.peak_max,
                        sessions: r.sessions,
                    },
                )
            })
            .collect();
        b.tasks = self
            .tasks
            .into_iter()
            .map(|(k, t)| {
                let mut workflows: Vec<Workflow> = t
                    .workflows
                    .into_iter()
                    .map(|(sha, (collapsed, exact, sessions))| Workflow {
                        collapsed,
                        collapsed_sha256: sha,
                        exact_sha256: exact.into_iter().collect(),
                        sessions,
                    })
                    .collect();
                workflows.sort_by(|a, b| {
                    (b.sessions, &a.collapsed_sha256).cmp(&(a.sessions, &b.collapsed_sha256))
                });
                let duration = (t.n > 0).then(|| DurationStats {
                    mean_s: round3(t.mean),
                    stddev_s: if t.n > 1 {
                        round3((t.m2 / (t.n - 1) as f64).sqrt())
                    } else {
                        0.0
                    },
                    sessions: t.n,
                });
                (
                    k,
                    TaskBaseline {
                        workflows,
                        duration,
                    },
                )
            })
            .collect();
        b.agents = self.agents;
        Learned {
            baseline: b,
            warnings: self.warnings,
            more_warnings: self.more_warnings,
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
