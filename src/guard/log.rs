//! The session log guard writes: JSON Lines in the format `mcpsweep triage` reads
//! (`SESSION_START`, `TOOL_INVOKED`, `SESSION_END`), plus `MANIFEST_DRIFT` lines whose fields
//! are those of a triage `--manifest-events` line.
//!
//! The file is opened for appending and every line goes out in one `write(2)` and is flushed
//! before the message it records is passed on, so several guards can share one file, and a
//! crash loses at most the line being written.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

use crate::finding::Severity;
use crate::manifest::report::DriftEvent;
use crate::screen::ScreenVerdict;

/// Who is in the session, as `SESSION_START` records it.
#[derive(Debug, Clone, Default)]
pub struct SessionInfo {
    pub session_id: String,
    pub agent_id: Option<String>,
    pub role: Option<String>,
    pub task: Option<String>,
    /// The tool allowlist; `None` when none is enforced (the line then has no `allowlist`,
    /// which triage reads as "unknown").
    pub allowlist: Option<Vec<String>>,
}

/// `ALLOWED` (passed to the server) or `DENIED` (answered by guard, never forwarded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    Allowed,
    Denied,
}

/// What screening did to a response, as logged in `screen`.
#[derive(Debug, Clone, Serialize)]
pub struct ScreenRecord {
    /// `allow`, `block` (replaced by an error result) or `redact` (delivered redacted).
    pub action: &'static str,
    pub max_severity: Option<Severity>,
    /// Rules at or above the threshold (the ones that blocked or were redacted).
    pub rule_ids: Vec<String>,
    /// Every finding, compact: rule, severity, JSON pointer inside `response`, excerpt, id.
    pub findings: Vec<Value>,
    pub elapsed_us: u64,
    /// Why a redaction was not possible, when `--redact` fell back to blocking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ScreenRecord {
    pub fn new(action: &'static str, v: &ScreenVerdict, rule_ids: Vec<String>) -> ScreenRecord {
        ScreenRecord {
            action,
            max_severity: v.max_severity,
            rule_ids,
            findings: v
                .findings
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "rule_id": f.rule_id,
                        "severity": f.severity,
                        "json_pointer": f.location.json_pointer,
                        "excerpt": f.excerpt,
                        "finding_id": f.finding_id,
                    })
                })
                .collect(),
            elapsed_us: v.timings.total_us,
            note: None,
        }
    }
}

/// One `TOOL_INVOKED` line.
/// The line's `ts` is when the call arrived from the client; lines are written when the
/// answer arrives, so a slow call's line can follow a later call's.
#[derive(Debug, Serialize)]
pub struct ToolInvoked<'a> {
    pub tool: &'a str,
    /// The call's `arguments` (`null` when it had none).
    pub params: &'a Value,
    pub outcome: Outcome,
    /// The JSON-RPC id of the client's request.
    pub request_id: &'a Value,
    /// The `result` of the server's answer exactly as the server sent it, also when guard
    /// blocked or redacted it (it is the evidence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<&'a Value>,
    /// The server's JSON-RPC `error`, or for `DENIED` the error guard answered with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a Value>,
    /// When the answer arrived, and how long the call took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_ts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screen: Option<&'a ScreenRecord>,
    /// E.g. "the server exited before answering".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
}

/// How a session ended, as `SESSION_END` records it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub tool_calls: u64,
    pub denied: u64,
    pub blocked: u64,
    pub redacted: u64,
    pub drift_events: u64,
}

/// An open session log.
pub struct SessionLog {
    file: File,
    path: PathBuf,
    info: SessionInfo,
}

impl SessionLog {
    /// Opens (creating if needed) `path` for appending.
    pub fn open(path: &Path, info: SessionInfo) -> std::io::Result<SessionLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(SessionLog {
            file,
            path: path.to_path_buf(),
            info,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `SESSION_START`, with what guard enforces in `guard` and the server command.
    pub fn start(
        &mut self,
        ts: SystemTime,
        server_command: &[String],
        guard: Value,
    ) -> std::io::Result<()> {
        let mut m = self.head(ts, "SESSION_START");
        if let Some(r) = &self.info.role {
            m.insert("role".into(), r.clone().into());
        }
        if let Some(t) = &self.info.task {
            m.insert("task".into(), t.clone().into());
        }
        if let Some(a) = &self.info.allowlist {
            m.insert("allowlist".into(), serde_json::json!(a));
        }
        m.insert("server_command".into(), serde_json::json!(server_command));
        m.insert("guard".into(), guard);
        self.write(&Value::Object(m))
    }

    pub fn tool(&mut self, ts: SystemTime, t: &ToolInvoked) -> std::io::Result<()> {
        // Streamed, not built as a Value: a response can be megabytes.
        #[derive(Serialize)]
        struct Line<'a> {
            ts: &'a str,
            event: &'static str,
            session_id: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            agent_id: Option<&'a str>,
            #[serde(flatten)]
            body: &'a ToolInvoked<'a>,
        }
        let line = Line {
            ts: &log_ts(ts),
            event: "TOOL_INVOKED",
            session_id: &self.info.session_id,
            agent_id: self.info.agent_id.as_deref(),
            body: t,
        };
        write_line(&mut self.file, &line)
    }

    /// One `MANIFEST_DRIFT` line per drift event; `baseline` says what it was compared with.
    pub fn drift(&mut self, e: &DriftEvent, baseline: &str) -> std::io::Result<()> {
        let mut m = self.head_str(&e.ts, "MANIFEST_DRIFT");
        if let Value::Object(rest) = serde_json::to_value(e).map_err(std::io::Error::other)? {
            for (k, v) in rest {
                if k != "ts" {
                    m.insert(k, v);
                }
            }
        }
        m.insert("baseline".into(), baseline.into());
        self.write(&Value::Object(m))
    }

    pub fn end(
        &mut self,
        ts: SystemTime,
        reason: &str,
        server_exit: Option<String>,
        counts: &Counts,
    ) -> std::io::Result<()> {
        let mut m = self.head(ts, "SESSION_END");
        m.insert("reason".into(), reason.into());
        m.insert(
            "server_exit".into(),
            server_exit.map_or(Value::Null, Value::String),
        );
        m.insert(
            "counts".into(),
            serde_json::to_value(counts).map_err(std::io::Error::other)?,
        );
        self.write(&Value::Object(m))
    }

    fn head(&self, ts: SystemTime, event: &str) -> serde_json::Map<String, Value> {
        self.head_str(&log_ts(ts), event)
    }

    fn head_str(&self, ts: &str, event: &str) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("ts".into(), ts.into());
        m.insert("event".into(), event.into());
        m.insert("session_id".into(), self.info.session_id.clone().into());
        if let Some(a) = &self.info.agent_id {
            m.insert("agent_id".into(), a.clone().into());
        }
        m
    }

    fn write<T: Serialize>(&mut self, v: &T) -> std::io::Result<()> {
        write_line(&mut self.file, v)
    }
}

/// One JSON line in one `write(2)` (the file is in append mode), flushed.
fn write_line<T: Serialize>(file: &mut File, v: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(v).map_err(std::io::Error::other)?;
    line.push(b'\n');
    file.write_all(&line)?;
    file.flush()
}

/// RFC 3339 UTC to the millisecond (`2026-03-02T09:00:23.120Z`), what triage keeps.
pub fn log_ts(t: SystemTime) -> String {
    let ms = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let whole = UNIX_EPOCH + Duration::from_millis(ms - ms % 1000);
    let s = crate::timefmt::rfc3339(whole);
    format!("{}.{:03}Z", s.trim_end_matches('Z'), ms % 1000)
}

/// A session id unique enough for one machine: `guard-<UTC time>-<pid>`.
pub fn new_session_id() -> String {
    let t = crate::timefmt::now_rfc3339().replace(['-', ':'], "");
    format!("guard-{t}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds() {
        let t = UNIX_EPOCH + Duration::new(1_772_442_023, 5_600_000);
        assert_eq!(log_ts(t), "2026-03-02T09:00:23.005Z");
        assert_eq!(log_ts(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert!(new_session_id().starts_with("guard-"));
    }
}
