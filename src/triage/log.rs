//! Session logs: JSON Lines events (`SESSION_START`, `TOOL_INVOKED`, `SESSION_END`, and the
//! `MANIFEST_DRIFT` lines `mcpsweep guard` writes), read one line at a time so a log of any
//! size needs only one line in memory.

use std::io::{self, BufRead};

use serde::Deserialize;
use serde_json::Value;

use super::drift::ManifestEvent;
use super::time::Timestamp;

/// Longest line read; a longer one is reported as malformed and skipped (without being held
/// in memory).
pub const DEFAULT_MAX_LINE: usize = 64 << 20;

/// Largest `params` kept per call (serialized); larger ones are kept as a preview.
const MAX_PARAMS: usize = 1024;

/// A line that could not be used, by its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineError {
    pub line: u64,
    pub reason: String,
}

/// Reads lines with their numbers, never holding more than `max` bytes of one line.
pub struct Lines<R> {
    reader: R,
    line: u64,
    max: usize,
    bytes: u64,
}

/// What [`Lines::next_into`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// Line `n` is in the buffer (without its line ending).
    Text(u64),
    /// Line `n` had `len` bytes, more than the limit; the buffer is empty.
    TooLong { line: u64, len: u64 },
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R, max: usize) -> Self {
        Lines {
            reader,
            line: 0,
            max,
            bytes: 0,
        }
    }

    /// Lines read so far.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Bytes consumed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<Line>> {
        buf.clear();
        let mut len = 0u64;
        let mut too_long = false;
        let mut any = false;
        loop {
            let avail = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match memchr::memchr(b'\n', avail) {
                Some(i) => (i, true),
                None => (avail.len(), false),
            };
            len += take as u64;
            if !too_long {
                if buf.len() + take > self.max {
                    too_long = true;
                    *buf = Vec::new();
                } else {
                    buf.extend_from_slice(&avail[..take]);
                }
            }
            let used = take + usize::from(done);
            self.reader.consume(used);
            self.bytes += used as u64;
            if done {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.line += 1;
        if too_long {
            return Ok(Some(Line::TooLong {
                line: self.line,
                len,
            }));
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(Some(Line::Text(self.line)))
    }
}

/// `ALLOWED`, `DENIED`, anything else the server wrote, or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Denied,
    Other(String),
    Missing,
}

impl Outcome {
    fn parse(s: Option<&str>) -> Outcome {
        match s {
            None => Outcome::Missing,
            Some(s) if s.eq_ignore_ascii_case("ALLOWED") => Outcome::Allowed,
            Some(s) if s.eq_ignore_ascii_case("DENIED") => Outcome::Denied,
            Some(s) => Outcome::Other(s.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Outcome::Allowed => "ALLOWED",
            Outcome::Denied => "DENIED",
            Outcome::Other(s) => s,
            Outcome::Missing => "(no outcome)",
        }
    }
}

/// One parsed event.
#[derive(Debug, Clone)]
pub struct LogEvent {
    pub line: u64,
    pub ts: Timestamp,
    pub session_id: String,
    pub agent_id: Option<String>,
    pub kind: EventKind,
}

#[derive(Debug, Clone)]
pub enum EventKind {
    Start(SessionStart),
    Tool(ToolCall),
    /// A change to the server's tool manifest seen during the session (guard's
    /// `MANIFEST_DRIFT`): the same fields as a `--manifest-events` line.
    ManifestDrift(ManifestEvent),
    End,
}

#[derive(Debug, Clone, Default)]
pub struct SessionStart {
    pub role: Option<String>,
    pub task: Option<String>,
    /// `None` when the log does not record one (as opposed to an empty allowlist).
    pub allowlist: Option<Vec<String>>,
    /// The session ran behind `mcpsweep guard` (a `guard` object in `SESSION_START`), which
    /// pins the tool manifest and logs every drift: no `MANIFEST_DRIFT` line means none.
    pub manifest_watched: bool,
}

#[derive(Debug, Clone)]
pub struct ToolCall {
    pub tool: String,
    /// The call's parameters; over 1 KiB serialized, a string preview of them.
    pub params: Option<Value>,
    pub outcome: Outcome,
    /// The tool's response content (a string or any JSON value). `None` when not logged.
    pub response: Option<Value>,
}

#[derive(Deserialize)]
struct RawEvent {
    ts: Option<String>,
    event: Option<String>,
    session_id: Option<String>,
    agent_id: Option<String>,
    role: Option<String>,
    task: Option<String>,
    allowlist: Option<Vec<String>>,
    tool: Option<String>,
    params: Option<Value>,
    outcome: Option<String>,
    response: Option<Value>,
    guard: Option<Value>,
    server: Option<String>,
    change: Option<String>,
    #[serde(default)]
    fields: Vec<String>,
    change_record: Option<String>,
}

/// Parses one line of a session log.
pub fn parse_event(line: u64, bytes: &[u8]) -> Result<LogEvent, LineError> {
    let err = |reason: String| LineError { line, reason };
    let raw: RawEvent =
        serde_json::from_slice(bytes).map_err(|e| err(format!("not a JSON event: {e}")))?;
    let event = raw.event.ok_or_else(|| err("no \"event\" field".into()))?;
    let ts = raw.ts.ok_or_else(|| err("no \"ts\" field".into()))?;
    let ts = Timestamp::parse(&ts).map_err(err)?;
    let session_id = raw
        .session_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| err("no \"session_id\" field".into()))?;
    let kind = if event.eq_ignore_ascii_case("SESSION_START") {
        EventKind::Start(SessionStart {
            role: raw.role,
            task: raw.task,
            allowlist: raw.allowlist,
            manifest_watched: matches!(raw.guard, Some(Value::Object(_))),
        })
    } else if event.eq_ignore_ascii_case("TOOL_INVOKED") {
        let tool = raw
            .tool
            .filter(|t| !t.is_empty())
            .ok_or_else(|| err("TOOL_INVOKED without a \"tool\" field".into()))?;
        EventKind::Tool(ToolCall {
            tool,
            params: raw.params.map(shorten_params),
            outcome: Outcome::parse(raw.outcome.as_deref()),
            response: raw.response.filter(|r| !r.is_null()),
        })
    } else if event.eq_ignore_ascii_case("SESSION_END") {
        EventKind::End
    } else if event.eq_ignore_ascii_case("MANIFEST_DRIFT") {
        let change = raw
            .change
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| err("MANIFEST_DRIFT without a \"change\" field".into()))?;
        EventKind::ManifestDrift(ManifestEvent {
            ts,
            server: raw.server,
            tool: raw.tool.filter(|t| !t.is_empty()),
            change,
            fields: raw.fields,
            change_record: raw.change_record,
            line,
        })
    } else {
        return Err(err(format!(
            "unknown event \"{event}\" (expected SESSION_START, TOOL_INVOKED, MANIFEST_DRIFT or SESSION_END)"
        )));
    };
    Ok(LogEvent {
        line,
        ts,
        session_id,
        agent_id: raw.agent_id.filter(|a| !a.is_empty()),
        kind,
    })
}

/// Large parameters (a file body passed to write_file) are kept as a preview: the timeline
/// needs the path, not the payload. Long values are cut one by one, so small fields such as
/// the path survive beside a big body.
fn shorten_params(p: Value) -> Value {
    if p.to_string().len() <= MAX_PARAMS {
        return p;
    }
    let p = match p {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let text = match &v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    if text.len() > 200 {
                        (k, Value::String(preview(&text, 100)))
                    } else {
                        (k, v)
                    }
                })
                .collect(),
        ),
        other => other,
    };
    let text = p.to_string();
    if text.len() <= MAX_PARAMS {
        p
    } else {
        Value::String(preview(&text, 200))
    }
}

/// The first `keep` bytes (on a character boundary) and the full length.
fn preview(text: &str, keep: usize) -> String {
    let mut cut = keep.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes)", &text[..cut], text.len())
}

/// The params as one short line for reports: compact JSON, at most `max` characters.
pub fn params_brief(params: Option<&Value>, max: usize) -> String {
    let text = match params {
        None => return String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    if text.chars().count() <= max {
        return text;
    }
    let mut s: String = text.chars().take(max).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<(Line, Vec<u8>)> {
        let mut r = Lines::new(input, max);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(l) = r.next_into(&mut buf).unwrap() {
            out.push((l, buf.clone()));
        }
        out
    }

    #[test]
    fn numbers_lines_and_skips_long_ones() {
        let out = lines(b"a\r\n0123456789\n\nlast", 5);
        assert_eq!(out[0], (Line::Text(1), b"a".to_vec()));
        assert_eq!(out[1], (Line::TooLong { line: 2, len: 10 }, vec![]));
        assert_eq!(out[2], (Line::Text(3), vec![]));
        assert_eq!(out[3], (Line::Text(4), b"last".to_vec()));
        assert_eq!(out.len(), 4);
    }

    #[test]
    fn long_lines_across_buffer_refills() {
        let data = format!("{}\nok\n", "x".repeat(20_000));
        let r = std::io::BufReader::with_capacity(64, data.as_bytes());
        let mut l = Lines::new(r, 1000);
        let mut buf = Vec::new();
        assert_eq!(
            l.next_into(&mut buf).unwrap(),
            Some(Line::TooLong {
                line: 1,
                len: 20_000
            })
        );
        assert_eq!(l.next_into(&mut buf).unwrap(), Some(Line::Text(2)));
        assert_eq!(buf, b"ok");
        assert_eq!(l.next_into(&mut buf).unwrap(), None);
        assert_eq!(l.bytes(), 20_004);
    }

    #[test]
    fn parses_events_and_names_what_is_missing() {
        let e = parse_event(
            7,
            br#"{"ts":"2026-03-02T09:01:07Z","event":"TOOL_INVOKED","session_id":"s1","tool":"send_data","params":{"endpoint":"x"},"outcome":"DENIED","response":null}"#,
        )
        .unwrap();
        match e.kind {
            EventKind::Tool(c) => {
                assert_eq!(c.outcome, Outcome::Denied);
                assert!(c.response.is_none());
            }
            _ => panic!("not a tool call"),
        }
        let bad = parse_event(3, br#"{"event":"SESSION_END","session_id":"s1"}"#).unwrap_err();
        assert_eq!(bad.line, 3);
        assert_eq!(bad.reason, "no \"ts\" field");
        let bad =
            parse_event(4, br#"{"ts":"x","event":"SESSION_END","session_id":"s1"}"#).unwrap_err();
        assert!(bad.reason.contains("invalid RFC 3339"), "{}", bad.reason);
        let bad = parse_event(
            5,
            br#"{"ts":"2026-03-02T09:01:07Z","event":"PING","session_id":"s1"}"#,
        )
        .unwrap_err();
        assert!(bad.reason.starts_with("unknown event \"PING\""));
    }

    #[test]
    fn reads_guard_manifest_drift_and_start_lines() {
        let e = parse_event(
            2,
            br#"{"ts":"2026-03-02T09:01:07Z","event":"MANIFEST_DRIFT","session_id":"s1","server":"mail","tool":"send_email","change":"changed","fields":["description"],"sha256_old":"a","sha256_new":"b","baseline":"first tools/list of the session"}"#,
        )
        .unwrap();
        match e.kind {
            EventKind::ManifestDrift(m) => {
                assert!(m.is_drift());
                assert_eq!(m.line, 2);
                assert_eq!(
                    m.describe(),
                    "changed tool send_email (description) on server mail, no change record"
                );
            }
            _ => panic!("not a drift event"),
        }
        let bad = parse_event(
            3,
            br#"{"ts":"2026-03-02T09:01:07Z","event":"MANIFEST_DRIFT","session_id":"s1"}"#,
        )
        .unwrap_err();
        assert_eq!(bad.reason, "MANIFEST_DRIFT without a \"change\" field");
        let start = |line: &[u8]| match parse_event(1, line).unwrap().kind {
            EventKind::Start(st) => st.manifest_watched,
            _ => panic!("not a start"),
        };
        assert!(start(
            br#"{"ts":"2026-03-02T09:00:00Z","event":"SESSION_START","session_id":"s1","guard":{"block_at":"medium"}}"#
        ));
        assert!(!start(
            br#"{"ts":"2026-03-02T09:00:00Z","event":"SESSION_START","session_id":"s1"}"#
        ));
    }

    #[test]
    fn big_params_become_a_preview() {
        let body = "y".repeat(5000);
        let line = format!(
            r#"{{"ts":"2026-03-02T09:01:07Z","event":"TOOL_INVOKED","session_id":"s","tool":"write_file","params":{{"path":"a.txt","content":"{body}"}}}}"#
        );
        let e = parse_event(1, line.as_bytes()).unwrap();
        let EventKind::Tool(c) = e.kind else { panic!() };
        let p = c.params.unwrap();
        assert_eq!(p["path"], "a.txt");
        assert_eq!(p["content"], format!("{}… (5000 bytes)", "y".repeat(100)));
    }
}
