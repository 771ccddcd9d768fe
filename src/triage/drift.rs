//! Tool-manifest change events (`--manifest-events`): JSON Lines, one change per line, as a
//! manifest integrity monitor reports them, or the JSON report of `mcpsweep manifest check`
//! (its `events` array).
//!
//! A change with a `change_record` went through change management: it is a manifest
//! *update*, which the decision tree asks about ("does the session coincide with a recent
//! tool manifest update?"). A change without one is *drift*, the P1 signal.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::log::{Line, Lines};
use super::time::Timestamp;
use super::Error;

/// One change to one tool (or, without `tool`, to the manifest as a whole: server
/// instructions, or a change the monitor could not attribute).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEvent {
    /// When the change was made or first detected.
    pub ts: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// `added`, `removed` or `changed` (other words are kept as written).
    pub change: String,
    /// For `changed`: which fields (`description`, `inputSchema`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// The change-management record that approved it; absent means unapproved drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_record: Option<String>,
    /// Line of the events file, for the report.
    #[serde(skip_deserializing)]
    pub line: u64,
}

impl ManifestEvent {
    pub fn is_drift(&self) -> bool {
        self.change_record
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
    }

    /// One line for reports: `changed tool send_email (description) on server mail`.
    pub fn describe(&self) -> String {
        let mut s = self.change.clone();
        match &self.tool {
            Some(t) => s.push_str(&format!(" tool {t}")),
            None => s.push_str(" manifest"),
        }
        if !self.fields.is_empty() {
            s.push_str(&format!(" ({})", self.fields.join(", ")));
        }
        if let Some(srv) = &self.server {
            s.push_str(&format!(" on server {srv}"));
        }
        match &self.change_record {
            Some(r) if !self.is_drift() => s.push_str(&format!(", change record {r}")),
            _ => s.push_str(", no change record"),
        }
        s
    }
}

/// All events of a file, sorted by time.
#[derive(Debug, Clone, Default)]
pub struct ManifestEvents {
    events: Vec<ManifestEvent>,
    tools: HashSet<String>,
}

impl ManifestEvents {
    pub fn new(mut events: Vec<ManifestEvent>) -> Self {
        events.sort_by_key(|e| (e.ts, e.line));
        let tools = events.iter().filter_map(|e| e.tool.clone()).collect();
        ManifestEvents { events, tools }
    }

    /// Reads a file. Unlike a session log, a bad line is an error: skipping it could hide the
    /// one drift event that makes a session a confirmed incident.
    pub fn from_path(path: &Path) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        // The JSON report of `mcpsweep manifest check --format json` carries its drift events
        // in `events`; anything else is read as JSON Lines.
        if let Ok(serde_json::Value::Object(report)) = serde_json::from_slice(&bytes) {
            if let Some(serde_json::Value::Array(list)) = report.get("events") {
                let mut events = Vec::new();
                for (i, v) in list.iter().enumerate() {
                    let mut e: ManifestEvent =
                        serde_json::from_value(v.clone()).map_err(|e| Error::ManifestEvents {
                            path: path.to_path_buf(),
                            line: 0,
                            reason: format!("events[{i}]: not a manifest event: {e}"),
                        })?;
                    e.line = i as u64 + 1;
                    events.push(e);
                }
                return Ok(ManifestEvents::new(events));
            }
        }
        Self::parse(&bytes[..], path)
    }

    pub fn parse<R: BufRead>(reader: R, path: &Path) -> Result<Self, Error> {
        let bad = |line: u64, reason: String| Error::ManifestEvents {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let mut lines = Lines::new(reader, 1 << 20);
        let mut buf = Vec::new();
        let mut events = Vec::new();
        while let Some(l) = lines.next_into(&mut buf).map_err(|e| Error::io(path, e))? {
            let n = match l {
                Line::Text(n) => n,
                Line::TooLong { line, .. } => return Err(bad(line, "line over 1 MiB".into())),
            };
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let mut e: ManifestEvent = serde_json::from_slice(&buf)
                .map_err(|e| bad(n, format!("not a manifest event: {e}")))?;
            if e.change.trim().is_empty() {
                return Err(bad(n, "empty \"change\"".into()));
            }
            e.line = n;
            events.push(e);
        }
        Ok(ManifestEvents::new(events))
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Whether some event names this tool (so a session's calls to it must be remembered).
    pub fn names_tool(&self, tool: &str) -> bool {
        self.tools.contains(tool)
    }

    /// Events from `from` to `to` (inclusive) that concern a session: those about the whole
    /// manifest, and those about a tool `concerns` accepts (in its allowlist or called).
    pub fn during(
        &self,
        from: Timestamp,
        to: Timestamp,
        concerns: impl Fn(&str) -> bool,
    ) -> Vec<&ManifestEvent> {
        let lo = self.events.partition_point(|e| e.ts < from);
        self.events[lo..]
            .iter()
            .take_while(|e| e.ts <= to)
            .filter(|e| e.tool.as_deref().is_none_or(&concerns))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape `mcpsweep manifest check --format json` writes (see README, `events[]`).
    #[test]
    fn reads_the_events_of_a_manifest_check_report() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("check.json");
        std::fs::write(
            &p,
            r#"{"drift": true, "events": [
  {"ts": "2026-03-02T08:59:00Z", "server": "mail", "tool": "send_email", "change": "changed",
   "fields": ["description"], "sha256_old": "aa", "sha256_new": "bb"},
  {"ts": "2026-03-02T08:58:00Z", "server": "mail", "tool": null, "change": "changed",
   "fields": ["instructions"], "sha256_old": "cc", "sha256_new": "dd"}
]}"#,
        )
        .unwrap();
        let ev = ManifestEvents::from_path(&p).unwrap();
        assert_eq!(ev.len(), 2);
        assert!(ev.names_tool("send_email"));
        let all: Vec<&ManifestEvent> = ev.events.iter().collect();
        // Sorted by time: the instructions change came first.
        assert_eq!(all[0].tool, None);
        assert_eq!(all[0].fields, vec!["instructions".to_string()]);
        assert!(all[1].is_drift());
        assert_eq!(
            all[1].describe(),
            "changed tool send_email (description) on server mail, no change record"
        );
    }
}
