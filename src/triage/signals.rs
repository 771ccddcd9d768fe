//! The guide's five detection signals, and the small online trackers they are computed with
//! while a session streams by (a rolling window, a sequence fingerprint, a workflow matcher).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::finding::Severity;

use super::baseline::Workflow;

/// The guide's rolling window for burst detection.
pub const WINDOW_MS: i64 = 60_000;

#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SignalId {
    P1_UNAUTHORIZED_TOOL,
    P1_MANIFEST_DRIFT,
    P2_BURST,
    P2_SEQUENCE_ANOMALY,
    P3_DURATION,
}

impl SignalId {
    pub const ALL: [SignalId; 5] = [
        SignalId::P1_UNAUTHORIZED_TOOL,
        SignalId::P1_MANIFEST_DRIFT,
        SignalId::P2_BURST,
        SignalId::P2_SEQUENCE_ANOMALY,
        SignalId::P3_DURATION,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SignalId::P1_UNAUTHORIZED_TOOL => "P1_UNAUTHORIZED_TOOL",
            SignalId::P1_MANIFEST_DRIFT => "P1_MANIFEST_DRIFT",
            SignalId::P2_BURST => "P2_BURST",
            SignalId::P2_SEQUENCE_ANOMALY => "P2_SEQUENCE_ANOMALY",
            SignalId::P3_DURATION => "P3_DURATION",
        }
    }

    /// The guide's priority: P1 critical, P2 high, P3 medium.
    pub fn severity(self) -> Severity {
        match self {
            SignalId::P1_UNAUTHORIZED_TOOL | SignalId::P1_MANIFEST_DRIFT => Severity::Critical,
            SignalId::P2_BURST | SignalId::P2_SEQUENCE_ANOMALY => Severity::High,
            SignalId::P3_DURATION => Severity::Medium,
        }
    }

    pub fn is_p1(self) -> bool {
        self.severity() == Severity::Critical
    }
}

impl std::fmt::Display for SignalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signal that fired, with what made it fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub id: SignalId,
    pub severity: Severity,
    /// Counts, windows, hashes and values behind the signal.
    pub evidence: Value,
    /// The evidence in one sentence.
    pub summary: String,
}

impl Signal {
    pub fn new(id: SignalId, summary: String, evidence: Value) -> Signal {
        Signal {
            id,
            severity: id.severity(),
            evidence,
            summary,
        }
    }
}

/// A signal that could not be computed, and why (no baseline, no role, no session end...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotEvaluated {
    pub id: SignalId,
    pub reason: String,
}

/// Calls in the busiest rolling window: a call at `t` shares a window with every call in
/// `(t - 60 s, t]`. Timestamps must not go backwards (the caller clamps them).
#[derive(Debug, Clone)]
pub struct RollingWindow {
    window_ms: i64,
    times: VecDeque<i64>,
    peak: u64,
    peak_from: i64,
    peak_to: i64,
}

impl RollingWindow {
    pub fn new(window_ms: i64) -> Self {
        RollingWindow {
            window_ms,
            times: VecDeque::new(),
            peak: 0,
            peak_from: 0,
            peak_to: 0,
        }
    }

    /// Adds a call; returns how many calls the window ending at it holds.
    pub fn push(&mut self, t: i64) -> u64 {
        while self.times.front().is_some_and(|&f| t - f >= self.window_ms) {
            self.times.pop_front();
        }
        self.times.push_back(t);
        let n = self.times.len() as u64;
        if n > self.peak {
            self.peak = n;
            self.peak_from = self.times.front().copied().unwrap_or(t);
            self.peak_to = t;
        }
        n
    }

    /// The most calls in one window, and the first and last call of that window.
    pub fn peak(&self) -> (u64, i64, i64) {
        (self.peak, self.peak_from, self.peak_to)
    }
}

/// The sequence fingerprint, computed as calls stream by. `sha256` is the guide's (tool names
/// joined by "."); `collapsed_sha256` is the same over the sequence with consecutive repeats
/// collapsed, so that reading three files instead of two is not a new workflow.
#[derive(Debug, Clone)]
pub struct Fingerprint {
    exact: Sha256,
    collapsed: Sha256,
    calls: u64,
    last: Option<String>,
    collapsed_len: u64,
    kept: Vec<String>,
    keep: usize,
}

/// A finished fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprinted {
    pub sha256: String,
    pub collapsed_sha256: String,
    pub calls: u64,
    pub collapsed_len: u64,
    /// The collapsed sequence, or its first `keep` tools when longer.
    pub collapsed: Vec<String>,
}

impl Fingerprinted {
    pub fn is_whole(&self) -> bool {
        self.collapsed.len() as u64 == self.collapsed_len
    }
}

impl Fingerprint {
    /// `keep`: how many tools of the collapsed sequence to remember (for display or learning).
    pub fn new(keep: usize) -> Self {
        Fingerprint {
            exact: Sha256::new(),
            collapsed: Sha256::new(),
            calls: 0,
            last: None,
            collapsed_len: 0,
            kept: Vec::new(),
            keep,
        }
    }

    /// Adds a call; returns whether it extended the collapsed sequence (a new tool, not a
    /// repeat of the previous one).
    pub fn push(&mut self, tool: &str) -> bool {
        if self.calls > 0 {
            self.exact.update(b".");
        }
        self.exact.update(tool.as_bytes());
        self.calls += 1;
        if self.last.as_deref() == Some(tool) {
            return false;
        }
        if self.collapsed_len > 0 {
            self.collapsed.update(b".");
        }
        self.collapsed.update(tool.as_bytes());
        self.collapsed_len += 1;
        if self.kept.len() < self.keep {
            self.kept.push(tool.to_string());
        }
        self.last = Some(tool.to_string());
        true
    }

    pub fn finish(self) -> Fingerprinted {
        Fingerprinted {
            sha256: hex::encode(self.exact.finalize()),
            collapsed_sha256: hex::encode(self.collapsed.finalize()),
            calls: self.calls,
            collapsed_len: self.collapsed_len,
            collapsed: self.kept,
        }
    }
}

/// sha256 of tool names joined by "." (the guide's fingerprint).
pub fn sequence_sha256<S: AsRef<str>>(tools: &[S]) -> String {
    let joined: Vec<&str> = tools.iter().map(AsRef::as_ref).collect();
    hex::encode(Sha256::digest(joined.join(".").as_bytes()))
}

/// Consecutive repeats collapsed: `a a b a` becomes `a b a`.
pub fn collapse<S: AsRef<str>>(tools: &[S]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tools {
        if out.last().map(String::as_str) != Some(t.as_ref()) {
            out.push(t.as_ref().to_string());
        }
    }
    out
}

/// Follows the collapsed sequence through a task's known-good workflows and says at which
/// call it left the last of them.
#[derive(Debug, Clone)]
pub struct WorkflowMatcher {
    alive: Vec<usize>,
    pos: usize,
}

impl WorkflowMatcher {
    pub fn new(workflows: &[Workflow]) -> Self {
        WorkflowMatcher {
            alive: (0..workflows.len()).collect(),
            pos: 0,
        }
    }

    /// Feeds the next tool of the collapsed sequence. When this tool leaves every known
    /// workflow, returns what the workflows alive until now expected instead
    /// (`(end of workflow)` for one that ends here).
    pub fn step(&mut self, workflows: &[Workflow], tool: &str) -> Option<Vec<String>> {
        if self.alive.is_empty() {
            self.pos += 1;
            return None;
        }
        let pos = self.pos;
        let mut expected: Vec<String> = self
            .alive
            .iter()
            .map(|&i| {
                workflows[i]
                    .collapsed
                    .get(pos)
                    .cloned()
                    .unwrap_or_else(|| "(end of workflow)".into())
            })
            .collect();
        self.alive
            .retain(|&i| workflows[i].collapsed.get(pos).map(String::as_str) == Some(tool));
        self.pos += 1;
        if self.alive.is_empty() {
            expected.sort();
            expected.dedup();
            Some(expected)
        } else {
            None
        }
    }

    /// Indexes of the workflows the whole sequence equals.
    pub fn matched(&self, workflows: &[Workflow]) -> Vec<usize> {
        self.alive
            .iter()
            .copied()
            .filter(|&i| workflows[i].collapsed.len() == self.pos)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_half_open() {
        let mut w = RollingWindow::new(60_000);
        assert_eq!(w.push(0), 1);
        assert_eq!(w.push(59_999), 2);
        assert_eq!(w.push(60_000), 2); // the call at 0 has left
        assert_eq!(w.peak(), (2, 0, 59_999));
    }

    #[test]
    fn fingerprint_matches_the_guide() {
        let mut f = Fingerprint::new(10);
        for t in ["read_file", "read_file", "generate_summary"] {
            f.push(t);
        }
        let r = f.finish();
        assert_eq!(
            r.sha256,
            sequence_sha256(&["read_file", "read_file", "generate_summary"])
        );
        assert_eq!(
            r.collapsed_sha256,
            sequence_sha256(&["read_file", "generate_summary"])
        );
        assert_eq!(r.collapsed, vec!["read_file", "generate_summary"]);
        assert_eq!((r.calls, r.collapsed_len), (3, 2));
        assert_eq!(collapse(&["a", "a", "b", "a"]), vec!["a", "b", "a"]);
    }
}
