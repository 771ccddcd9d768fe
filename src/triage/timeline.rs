//! The incident timeline in the shape of the guide's sample (session start, legitimate calls,
//! injection, first unauthorized attempt, iteration, what happened after, session end) and
//! the blast radius: what the allowlist let the agent reach, and what it touched after the
//! injection.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::drift::ManifestEvent;
use super::log::params_brief;
use super::session::{CallBrief, PivotKind, Session, KEEP_BEFORE};
use super::signals::{Signal, SignalId};
use super::time::{human_duration, offset, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    SessionStart,
    FirstEvent,
    ManifestUpdate,
    ManifestDrift,
    LegitimateCalls,
    InjectionIntroduced,
    FirstUnauthorizedAttempt,
    Iteration,
    Burst,
    SequenceDivergence,
    DurationExceeded,
    AfterInjection,
    SessionEnd,
    LogEnds,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// `T0`, `T1`, ... in time order, as in the guide's sample.
    pub label: String,
    /// Offset from the session start, `T+01:04`.
    pub t: String,
    pub ts: Timestamp,
    pub kind: EntryKind,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

fn call_text(tool: &str, params: Option<&Value>) -> String {
    format!("{tool}({})", params_brief(params, 120))
}

fn brief_json(c: &CallBrief, origin: Timestamp) -> Value {
    json!({
        "event_index": c.call.event_index,
        "line": c.call.line,
        "t": offset(origin, c.call.ts),
        "tool": c.call.tool,
        "params": c.params,
        "outcome": c.outcome,
    })
}

/// What the pivot is called in sentences: "the injection" or "the first alert".
fn pivot_name(s: &Session) -> &'static str {
    match s.pivot.as_ref().map(|p| p.kind) {
        Some(PivotKind::Injection) => "the injection",
        _ => "the first alert",
    }
}

pub(super) fn build(
    s: &Session,
    signals: &[Signal],
    drift: &[ManifestEvent],
    updates: &[ManifestEvent],
) -> Vec<TimelineEntry> {
    let origin = s.origin();
    let mut out: Vec<TimelineEntry> = Vec::new();
    let mut add = |ts: Timestamp,
                   kind: EntryKind,
                   summary: String,
                   at: Option<(u64, u64)>,
                   details: Value| {
        out.push(TimelineEntry {
            label: String::new(),
            t: offset(origin, ts),
            ts,
            kind,
            summary,
            event_index: at.map(|a| a.0),
            line: at.map(|a| a.1),
            details,
        })
    };

    match &s.start {
        Some(st) => {
            add(
                st.ts,
                EntryKind::SessionStart,
                format!(
                "Session {} started. Agent {}. Role: {}. Declared task: {}. Session allowlist: {}.",
                s.id,
                s.agent.as_deref().unwrap_or("(no agent_id)"),
                st.role.as_deref().unwrap_or("(none logged)"),
                st.task.as_deref().unwrap_or("(none logged)"),
                st.allowlist
                    .as_ref()
                    .map_or("(none logged)".to_string(), |a| format!("[{}]", a.join(", ")))
            ),
                Some((0, st.line)),
                Value::Null,
            )
        }
        None => add(
            s.first_ts,
            EntryKind::FirstEvent,
            format!("First event of session {} (no SESSION_START logged).", s.id),
            Some((0, s.first_line)),
            Value::Null,
        ),
    }

    for e in updates {
        add(
            e.ts,
            EntryKind::ManifestUpdate,
            format!("Manifest update: {}.", e.describe()),
            None,
            json!(e),
        );
    }
    for e in drift {
        add(
            e.ts,
            EntryKind::ManifestDrift,
            format!("MANIFEST DRIFT: {} → P1 alert.", e.describe()),
            None,
            json!(e),
        );
    }

    if let Some(first) = s.before.first() {
        let mut listed: Vec<String> = s
            .before
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    call_text(&c.call.tool, c.params.as_ref()),
                    c.outcome
                )
            })
            .collect();
        if s.before_count > KEEP_BEFORE as u64 {
            listed.push(format!("and {} more", s.before_count - KEEP_BEFORE as u64));
        }
        let what = match s.pivot {
            Some(_) => format!(" before {}", pivot_name(s)),
            None => String::new(),
        };
        add(
            first.call.ts,
            EntryKind::LegitimateCalls,
            format!(
                "{} tool call{}{what}: {}.",
                s.before_count,
                if s.before_count == 1 { "" } else { "s" },
                listed.join("; ")
            ),
            Some((first.call.event_index, first.call.line)),
            json!({"calls": s.before.iter().map(|c| brief_json(c, origin)).collect::<Vec<_>>(), "count": s.before_count}),
        );
    }

    if let Some(src) = &s.source {
        add(
            src.ts,
            EntryKind::InjectionIntroduced,
            format!(
                "INJECTION INTRODUCED (root cause): the response to {} carries {} {} ({}): \"{}\".",
                call_text(&src.tool, src.params.as_ref()),
                src.finding.rule_id,
                src.finding.rule_title,
                src.finding.severity,
                src.finding.excerpt
            ),
            Some((src.event_index, src.line)),
            Value::Null,
        );
    }

    let u = &s.unauth;
    if let Some((first, reason)) = &u.first {
        add(
            first.call.ts,
            EntryKind::FirstUnauthorizedAttempt,
            format!(
                "UNAUTHORIZED TOOL ATTEMPT → P1 alert: {}: {reason}.",
                call_text(&first.call.tool, first.params.as_ref())
            ),
            Some((first.call.event_index, first.call.line)),
            Value::Null,
        );
        if u.count > 1 {
            let first_denied = u64::from(first.outcome == "DENIED");
            let more_denied = u.denied - first_denied;
            let more = u.count - 1;
            let from = u.second.as_ref().map_or(first.call.ts, |c| c.ts);
            let last = u.last.as_ref().map_or(first.call.ts, |c| c.ts);
            let names: Vec<&str> = u.variants.iter().map(String::as_str).collect();
            let outcome = if more_denied == more {
                "all DENIED".to_string()
            } else {
                format!("{more_denied} DENIED, {} not denied", more - more_denied)
            };
            add(
                from,
                EntryKind::Iteration,
                format!(
                    "INJECTION ITERATION: {more} additional unauthorized attempt{} from {} to {} using {} tool name{}{} ({}): {outcome}.",
                    if more == 1 { "" } else { "s" },
                    offset(origin, from),
                    offset(origin, last),
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    if u.more_variants { " or more" } else { "" },
                    names.join(", ")
                ),
                None,
                json!({"attempts": more, "denied": more_denied, "tools": names, "from": from, "to": last}),
            );
        }
    }

    for sig in signals {
        match sig.id {
            SignalId::P2_BURST => {
                let (ts, at) = match &s.burst_first {
                    Some((c, _)) => (c.ts, Some((c.event_index, c.line))),
                    None => (
                        sig.evidence["window_last_call"]
                            .as_str()
                            .and_then(|t| Timestamp::parse(t).ok())
                            .unwrap_or(origin),
                        None,
                    ),
                };
                add(
                    ts,
                    EntryKind::Burst,
                    format!("BURST → P2 alert: {}.", sig.summary),
                    at,
                    Value::Null,
                );
            }
            SignalId::P2_SEQUENCE_ANOMALY => {
                if let Some((c, expected)) = &s.diverged {
                    add(
                        c.ts,
                        EntryKind::SequenceDivergence,
                        format!(
                            "ANOMALOUS SEQUENCE → P2 alert: {} leaves every known-good workflow of the task (expected {}).",
                            c.tool,
                            expected.join(" or ")
                        ),
                        Some((c.event_index, c.line)),
                        Value::Null,
                    );
                }
            }
            SignalId::P3_DURATION => {
                if let Some(c) = &s.duration_first {
                    add(
                        c.ts,
                        EntryKind::DurationExceeded,
                        format!("SESSION DURATION ANOMALY → P3 alert: {}.", sig.summary),
                        Some((c.event_index, c.line)),
                        Value::Null,
                    );
                }
            }
            _ => {}
        }
    }

    if let Some(p) = &s.pivot {
        let a = &s.after;
        let after = pivot_name(s);
        let total = a.allowed + a.denied + a.other;
        let summary = if total == 0 {
            format!("No tool calls after {after}.")
        } else if a.allowed + a.other == 0 {
            format!(
                "No exfiltration: all {} attempt{} after {after} {} denied.",
                a.denied,
                if a.denied == 1 { "" } else { "s" },
                if a.denied == 1 { "was" } else { "were" }
            )
        } else {
            let listed: Vec<String> = a
                .touched
                .iter()
                .take(10)
                .map(|((tool, res), n)| format!("{tool}({res}) ×{n}"))
                .collect();
            let more = a.touched.len().saturating_sub(10);
            format!(
                "{} call{} after {after} went through and must be reviewed: {}{}; {} denied.",
                a.allowed + a.other,
                if a.allowed + a.other == 1 { "" } else { "s" },
                listed.join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                },
                a.denied
            )
        };
        let ts = a.last.as_ref().map_or(p.call.ts, |c| c.ts);
        add(
            ts,
            EntryKind::AfterInjection,
            summary,
            None,
            json!({"allowed": a.allowed, "denied": a.denied, "other": a.other}),
        );
    }

    match s.end {
        Some((ts, line)) => add(
            ts,
            EntryKind::SessionEnd,
            format!(
                "Session ended after {}.",
                human_duration(ts.0 - origin.0)
            ),
            Some((s.events.saturating_sub(1), line)),
            Value::Null,
        ),
        None => add(
            s.last_ts,
            EntryKind::LogEnds,
            format!(
                "No SESSION_END: the log's last event for this session is at line {} (session still running, or log cut).",
                s.last_line
            ),
            None,
            Value::Null,
        ),
    }

    // Time order; at equal times, the order of the guide's story.
    out.sort_by_key(|e| (e.ts, e.kind));
    for (i, e) in out.iter_mut().enumerate() {
        e.label = format!("T{i}");
    }
    out
}

/// One tool and resource (its params) with how many calls went to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touch {
    pub tool: String,
    pub resource: String,
    pub calls: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlastRadius {
    /// What the session allowlist let the agent reach (the guide: scope is everything the
    /// agent could reach, not only what it demonstrably touched).
    pub allowlist: Option<Vec<String>>,
    /// From where "after" counts: `injection` or `first_alert`; `null` when neither happened.
    pub since: Option<String>,
    pub since_ts: Option<Timestamp>,
    pub allowed_after: u64,
    pub denied_after: u64,
    /// Calls with another outcome (an error) or none logged: treat as possibly done.
    pub other_after: u64,
    /// Resources reached by calls that were not denied, after the injection.
    pub touched: Vec<Touch>,
    /// Resources the agent tried and was denied.
    pub denied: Vec<Touch>,
    /// Tools outside the allowlist that the server let through (allowlist not enforced).
    pub outside_allowlist_allowed: u64,
    /// Distinct (tool, resource) pairs not listed (the lists are capped).
    pub not_listed: u64,
    pub summary: String,
}

pub(super) fn blast_radius(s: &Session) -> BlastRadius {
    let a = &s.after;
    let to_vec = |m: &std::collections::BTreeMap<(String, String), u64>| {
        m.iter()
            .map(|((tool, resource), calls)| Touch {
                tool: tool.clone(),
                resource: resource.clone(),
                calls: *calls,
            })
            .collect::<Vec<_>>()
    };
    let allowlist = s.allowlist().cloned();
    let reach = match &allowlist {
        Some(l) if l.is_empty() => "The allowlist is empty.".to_string(),
        Some(l) => format!("The allowlist let the agent reach: {}.", l.join(", ")),
        None => "No allowlist was logged: reach is whatever the server exposes.".to_string(),
    };
    let (since, since_ts, after) = match &s.pivot {
        Some(p) => (
            Some(match p.kind {
                PivotKind::Injection => "injection".to_string(),
                PivotKind::FirstAlert => "first_alert".to_string(),
            }),
            Some(p.call.ts),
            format!(
                " After {}: {} call{} went through, {} denied{}.",
                pivot_name(s),
                a.allowed + a.other,
                if a.allowed + a.other == 1 { "" } else { "s" },
                a.denied,
                if a.touched.is_empty() {
                    ", nothing touched".to_string()
                } else {
                    format!(
                        ", {} resource{} touched",
                        a.touched.len(),
                        if a.touched.len() == 1 { "" } else { "s" }
                    )
                }
            ),
        ),
        None => (
            None,
            None,
            " No injection and no anomalous action: nothing to scope.".into(),
        ),
    };
    let enforcement = if s.unauth.outside_allowed > 0 {
        format!(
            " The allowlist was NOT enforced for {} call{}.",
            s.unauth.outside_allowed,
            if s.unauth.outside_allowed == 1 {
                ""
            } else {
                "s"
            }
        )
    } else {
        String::new()
    };
    BlastRadius {
        allowlist,
        since,
        since_ts,
        allowed_after: a.allowed,
        denied_after: a.denied,
        other_after: a.other,
        touched: to_vec(&a.touched),
        denied: to_vec(&a.attempted),
        outside_allowlist_allowed: s.unauth.outside_allowed,
        not_listed: a.dropped,
        summary: format!("{reach}{after}{enforcement}"),
    }
}
