//! One session's state while its events stream by. Everything here is bounded: counters,
//! hashes, the calls of the current 60-second window, and capped lists for the report;
//! responses are reduced to their strongest finding as soon as they are scanned.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::{json, Value};

use super::baseline::{Baseline, TaskBaseline};
use super::decide::{self, Facts, Identity, ManifestUpdate};
use super::drift::ManifestEvent;
use super::log::{params_brief, LogEvent, Outcome, SessionStart, ToolCall};
use super::report::{ResponseStats, SessionReport};
use super::signals::{
    Fingerprint, NotEvaluated, RollingWindow, Signal, SignalId, WorkflowMatcher, WINDOW_MS,
};
use super::source::{AlertRef, InjectionSource, ResponseScan};
use super::time::{human_duration, offset, Timestamp};
use super::{timeline, Ctx};

/// Calls listed individually before the injection (the rest are counted).
pub(super) const KEEP_BEFORE: usize = 20;
/// Distinct tool names remembered among unauthorized attempts.
const KEEP_VARIANTS: usize = 50;
/// Distinct (tool, resource) pairs remembered after the injection.
const KEEP_TOUCHED: usize = 500;
/// Tools of the collapsed sequence shown in evidence.
const KEEP_SEQUENCE: usize = 64;
const KEEP_NOTES: usize = 20;
/// Manifest changes kept from one session's own log lines.
const KEEP_LOGGED_MANIFEST_EVENTS: usize = 1000;
/// Why drift and manifest updates were not checked.
const NO_MANIFEST_EVENTS: &str =
    "no --manifest-events given and the log does not come from mcpsweep guard";
/// Characters of params shown as a resource.
pub(super) const RESOURCE_CHARS: usize = 200;

#[derive(Debug, Clone)]
pub(super) struct CallRef {
    pub event_index: u64,
    pub line: u64,
    pub ts: Timestamp,
    pub tool: String,
}

#[derive(Debug, Clone)]
pub(super) struct CallBrief {
    pub call: CallRef,
    pub params: Option<Value>,
    pub outcome: String,
}

pub(super) struct StartInfo {
    pub ts: Timestamp,
    pub line: u64,
    pub role: Option<String>,
    pub task: Option<String>,
    pub allowlist: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PivotKind {
    Injection,
    FirstAlert,
}

pub(super) struct Pivot {
    pub kind: PivotKind,
    pub call: CallRef,
}

#[derive(Default)]
pub(super) struct Unauthorized {
    pub count: u64,
    pub denied: u64,
    /// Calls to tools outside the allowlist that the server still let through.
    pub outside_allowed: u64,
    pub outside: u64,
    pub first: Option<(CallBrief, String)>,
    /// The second attempt: where the iteration begins.
    pub second: Option<CallRef>,
    pub last: Option<CallRef>,
    pub variants: BTreeSet<String>,
    pub more_variants: bool,
}

#[derive(Default)]
pub(super) struct After {
    pub allowed: u64,
    pub denied: u64,
    pub other: u64,
    /// (tool, resource) → calls, for allowed calls and for denied ones.
    pub touched: BTreeMap<(String, String), u64>,
    pub attempted: BTreeMap<(String, String), u64>,
    pub dropped: u64,
    pub last: Option<CallRef>,
}

pub(super) struct Session<'a> {
    pub id: String,
    pub agent: Option<String>,
    pub start: Option<StartInfo>,
    allow_set: Option<HashSet<String>>,
    pub first_line: u64,
    pub last_line: u64,
    pub first_ts: Timestamp,
    /// Latest time seen; events that go back in time are counted and clamped to it.
    pub last_ts: Timestamp,
    pub end: Option<(Timestamp, u64)>,
    pub events: u64,
    pub calls: u64,
    role_rate: Option<f64>,
    task_base: Option<&'a TaskBaseline>,
    duration_limit_ms: Option<i64>,
    window: RollingWindow,
    pub burst_first: Option<(CallRef, u64)>,
    fingerprint: Fingerprint,
    matcher: Option<WorkflowMatcher>,
    pub diverged: Option<(CallRef, Vec<String>)>,
    pub duration_first: Option<CallRef>,
    pub unauth: Unauthorized,
    pub first_alert: Option<AlertRef>,
    pub source: Option<InjectionSource>,
    /// First injected response that came after the first alert (so not its cause).
    pub late_injection: Option<CallRef>,
    pub injected_responses: u64,
    pub pivot: Option<Pivot>,
    pub before: Vec<CallBrief>,
    pub before_count: u64,
    pub after: After,
    pub responses_logged: u64,
    pub responses_missing: u64,
    drift_tools_called: BTreeSet<String>,
    /// Manifest changes the log itself records (guard's `MANIFEST_DRIFT` lines).
    logged_manifest: Vec<ManifestEvent>,
    /// The log's writer watched the manifest, so its silence means no drift.
    manifest_watched: bool,
    out_of_order: u64,
    notes: Vec<String>,
}

impl<'a> Session<'a> {
    pub fn new(id: String, first: &LogEvent) -> Self {
        Session {
            id,
            agent: first.agent_id.clone(),
            start: None,
            allow_set: None,
            first_line: first.line,
            last_line: first.line,
            first_ts: first.ts,
            last_ts: first.ts,
            end: None,
            events: 0,
            calls: 0,
            role_rate: None,
            task_base: None,
            duration_limit_ms: None,
            window: RollingWindow::new(WINDOW_MS),
            burst_first: None,
            fingerprint: Fingerprint::new(KEEP_SEQUENCE),
            matcher: None,
            diverged: None,
            duration_first: None,
            unauth: Unauthorized::default(),
            first_alert: None,
            source: None,
            late_injection: None,
            injected_responses: 0,
            pivot: None,
            before: Vec::new(),
            before_count: 0,
            after: After::default(),
            responses_logged: 0,
            responses_missing: 0,
            drift_tools_called: BTreeSet::new(),
            logged_manifest: Vec::new(),
            manifest_watched: false,
            out_of_order: 0,
            notes: Vec::new(),
        }
    }

    pub fn has_start(&self) -> bool {
        self.start.is_some()
    }

    pub fn note(&mut self, n: String) {
        if self.notes.len() < KEEP_NOTES {
            self.notes.push(n);
        }
    }

    /// Common bookkeeping for every event; returns its index and its (clamped) time.
    fn touch(&mut self, ev: &LogEvent) -> (u64, Timestamp) {
        let idx = self.events;
        self.events += 1;
        self.last_line = ev.line;
        if ev.ts < self.last_ts {
            self.out_of_order += 1;
        }
        self.last_ts = self.last_ts.max(ev.ts);
        match (&self.agent, &ev.agent_id) {
            (None, Some(a)) => self.agent = Some(a.clone()),
            (Some(a), Some(b)) if a != b => {
                let n = format!(
                    "agent_id changes within the session: {b} at line {} (session agent {a})",
                    ev.line
                );
                if !self.notes.contains(&n) {
                    self.note(n);
                }
            }
            _ => {}
        }
        (idx, self.last_ts)
    }

    pub fn on_start(&mut self, ctx: &Ctx<'a>, ev: &LogEvent, st: SessionStart) {
        self.touch(ev);
        if self.calls > 0 {
            self.note(format!(
                "SESSION_START (line {}) comes after {} of the session's calls: signals that need the role or task are computed from the whole session, without the point where they first fired",
                ev.line, self.calls
            ));
        }
        self.first_ts = self.first_ts.min(ev.ts);
        self.allow_set = st.allowlist.as_ref().map(|a| a.iter().cloned().collect());
        self.manifest_watched |= st.manifest_watched;
        if let Some(b) = ctx.baseline {
            self.resolve_baseline(ctx, b, &st);
        }
        self.start = Some(StartInfo {
            ts: ev.ts,
            line: ev.line,
            role: st.role,
            task: st.task,
            allowlist: st.allowlist,
        });
    }

    fn resolve_baseline(&mut self, ctx: &Ctx<'a>, b: &'a Baseline, st: &SessionStart) {
        self.role_rate = st
            .role
            .as_ref()
            .and_then(|r| b.roles.get(r))
            .map(|r| r.rate_per_60s);
        self.task_base = st.task.as_ref().and_then(|t| b.tasks.get(t));
        if let Some(t) = self.task_base {
            if !t.workflows.is_empty() && self.calls == 0 {
                self.matcher = Some(WorkflowMatcher::new(&t.workflows));
            }
            if let Some(d) = t.duration.as_ref().filter(|d| d.sessions >= 2) {
                let limit = d.mean_s + ctx.config.duration_sigmas * d.stddev_s;
                self.duration_limit_ms = Some((limit * 1000.0).round() as i64);
            }
        }
    }

    pub fn on_call(
        &mut self,
        ctx: &Ctx<'a>,
        ev: &LogEvent,
        call: ToolCall,
        scan: Option<ResponseScan>,
    ) {
        let (idx, ts) = self.touch(ev);
        self.calls += 1;
        let cref = CallRef {
            event_index: idx,
            line: ev.line,
            ts,
            tool: call.tool.clone(),
        };
        let mut fired = Vec::new();

        let denied = call.outcome == Outcome::Denied;
        let outside = self
            .allow_set
            .as_ref()
            .is_some_and(|a| !a.contains(&call.tool));
        if denied || outside {
            let u = &mut self.unauth;
            u.count += 1;
            u.denied += u64::from(denied);
            u.outside += u64::from(outside);
            u.outside_allowed += u64::from(outside && call.outcome == Outcome::Allowed);
            if u.variants.len() < KEEP_VARIANTS {
                u.variants.insert(call.tool.clone());
            } else if !u.variants.contains(&call.tool) {
                u.more_variants = true;
            }
            if u.first.is_some() && u.second.is_none() {
                u.second = Some(cref.clone());
            }
            u.last = Some(cref.clone());
            if u.first.is_none() {
                let reason = match (outside, denied) {
                    (true, true) => "not in the session allowlist; DENIED",
                    (true, false) => "not in the session allowlist, yet not denied",
                    _ => "DENIED by the server",
                };
                u.first = Some((
                    CallBrief {
                        call: cref.clone(),
                        params: call.params.clone(),
                        outcome: call.outcome.as_str().to_string(),
                    },
                    reason.to_string(),
                ));
                fired.push(SignalId::P1_UNAUTHORIZED_TOOL);
            }
        }

        let in_window = self.window.push(ts.0);
        if let Some(rate) = self.role_rate {
            if self.burst_first.is_none() && in_window as f64 > ctx.config.burst_factor * rate {
                self.burst_first = Some((cref.clone(), in_window));
                fired.push(SignalId::P2_BURST);
            }
        }

        if self.fingerprint.push(&call.tool) {
            if let (Some(m), Some(t)) = (self.matcher.as_mut(), self.task_base) {
                if let Some(expected) = m.step(&t.workflows, &call.tool) {
                    self.diverged = Some((cref.clone(), expected));
                    fired.push(SignalId::P2_SEQUENCE_ANOMALY);
                }
            }
        }

        // Passing the duration threshold is time going by, not something the agent did: it is
        // in the timeline but does not mark the first anomalous action (else a long session
        // would hide an injection read late in it).
        if let (Some(limit), Some(st)) = (self.duration_limit_ms, &self.start) {
            if self.duration_first.is_none() && ts.0 - st.ts.0 > limit {
                self.duration_first = Some(cref.clone());
            }
        }

        if ctx.manifest.is_some_and(|m| m.names_tool(&call.tool)) {
            self.drift_tools_called.insert(call.tool.clone());
        }

        let origin = self.origin();
        if !fired.is_empty() && self.first_alert.is_none() {
            self.first_alert = Some(AlertRef {
                event_index: idx,
                line: ev.line,
                ts,
                t: offset(origin, ts),
                tool: call.tool.clone(),
                signals: fired,
            });
            if self.pivot.is_none() {
                self.pivot = Some(Pivot {
                    kind: PivotKind::FirstAlert,
                    call: cref.clone(),
                });
            }
        }

        // The response was read after the call was made: an injection in the response of the
        // first anomalous call cannot be what caused it.
        let mut is_source = false;
        match scan {
            None if !denied => self.responses_missing += 1,
            None => {}
            Some(rs) => {
                self.responses_logged += 1;
                if let Some((finding, sha)) = rs.top {
                    self.injected_responses += 1;
                    if self.first_alert.is_none() && self.source.is_none() {
                        is_source = true;
                        self.source = Some(InjectionSource {
                            event_index: idx,
                            line: ev.line,
                            ts,
                            t: offset(origin, ts),
                            tool: call.tool.clone(),
                            params: call.params.clone(),
                            finding,
                            findings_in_response: rs.findings,
                            response_bytes: rs.bytes,
                            response_sha256: sha,
                            first_alert: None,
                            time_to_first_alert_s: None,
                        });
                        self.pivot = Some(Pivot {
                            kind: PivotKind::Injection,
                            call: cref.clone(),
                        });
                    } else if self.source.is_none() && self.late_injection.is_none() {
                        self.late_injection = Some(cref.clone());
                    }
                }
            }
        }

        if is_source {
            return;
        }
        if self.pivot.is_none() {
            self.before_count += 1;
            if self.before.len() < KEEP_BEFORE {
                self.before.push(CallBrief {
                    call: cref,
                    params: call.params,
                    outcome: call.outcome.as_str().to_string(),
                });
            }
            return;
        }
        let a = &mut self.after;
        let key = (
            call.tool,
            params_brief(call.params.as_ref(), RESOURCE_CHARS),
        );
        let map = match call.outcome {
            Outcome::Denied => {
                a.denied += 1;
                &mut a.attempted
            }
            Outcome::Allowed => {
                a.allowed += 1;
                &mut a.touched
            }
            _ => {
                a.other += 1;
                &mut a.touched
            }
        };
        if let Some(n) = map.get_mut(&key) {
            *n += 1;
        } else if a.touched.len() + a.attempted.len() < KEEP_TOUCHED {
            match call.outcome {
                Outcome::Denied => a.attempted.insert(key, 1),
                _ => a.touched.insert(key, 1),
            };
        } else {
            a.dropped += 1;
        }
        a.last = Some(cref);
    }

    /// A manifest change recorded in the session log itself; it concerns this session
    /// whatever tool it names (it is the session's own server).
    pub fn on_manifest_event(&mut self, ev: &LogEvent, mut e: ManifestEvent) {
        let (_, ts) = self.touch(ev);
        e.ts = ts;
        self.manifest_watched = true;
        if self.logged_manifest.len() < KEEP_LOGGED_MANIFEST_EVENTS {
            self.logged_manifest.push(e);
        }
    }

    /// Whether manifest changes were checked at all: `--manifest-events` given, or the log
    /// was written by something that watches the manifest.
    fn manifest_checked(&self, ctx: &Ctx<'a>) -> bool {
        ctx.manifest.is_some() || self.manifest_watched
    }

    pub fn on_end(&mut self, ev: &LogEvent) {
        let (_, ts) = self.touch(ev);
        self.end = Some((ts, ev.line));
    }

    /// Time zero of the timeline: the SESSION_START, else the first event.
    pub fn origin(&self) -> Timestamp {
        self.start.as_ref().map_or(self.first_ts, |s| s.ts)
    }

    pub fn allowlist(&self) -> Option<&Vec<String>> {
        self.start.as_ref().and_then(|s| s.allowlist.as_ref())
    }

    fn at(&self, ts: Timestamp) -> String {
        offset(self.origin(), ts)
    }

    /// Computes the signals, walks the decision tree and builds the report.
    pub fn finish(mut self, ctx: &Ctx<'a>) -> SessionReport {
        let last_ts = self.end.map_or(self.last_ts, |(t, _)| t);
        let mut signals = Vec::new();
        let mut not_evaluated = Vec::new();
        let mut push = |r: Result<Option<Signal>, NotEvaluated>| match r {
            Ok(Some(s)) => signals.push(s),
            Ok(None) => {}
            Err(n) => not_evaluated.push(n),
        };
        push(Ok(self.unauthorized_signal()));
        let (drift, updates) = self.manifest_events(ctx, last_ts);
        push(self.drift_signal(ctx, &drift, last_ts));
        push(self.burst_signal(ctx));
        let fp = std::mem::replace(&mut self.fingerprint, Fingerprint::new(0)).finish();
        push(self.sequence_signal(ctx, &fp));
        push(self.duration_signal(ctx, last_ts));

        if self.start.is_none() {
            self.note(format!(
                "no SESSION_START for this session: role, task and allowlist unknown (first event at line {})",
                self.first_line
            ));
        } else if self.allowlist().is_none() {
            self.note(
                "SESSION_START has no allowlist: only DENIED outcomes show unauthorized calls"
                    .into(),
            );
        }
        if self.end.is_none() {
            self.note(format!(
                "no SESSION_END: the session was still running, or the log is cut (last event at line {})",
                self.last_line
            ));
        }
        if self.out_of_order > 0 {
            self.note(format!(
                "{} events are earlier than an event before them; they were counted at the latest time seen",
                self.out_of_order
            ));
        }
        let allowed_calls = self.calls - self.unauth.denied.min(self.calls);
        if self.responses_missing > 0 {
            self.note(format!(
                "tool response content was not logged for {} of {} calls that were not denied: an injection through those responses cannot be identified (the guide's most commonly missed evidence)",
                self.responses_missing, allowed_calls
            ));
        }
        if let (None, Some(late)) = (&self.source, &self.late_injection) {
            let late = late.clone();
            self.note(format!(
                "a response carrying injected instructions first appears at line {} ({} at {}), after the first anomalous action: not its cause",
                late.line,
                late.tool,
                self.at(late.ts)
            ));
        }
        if self.source.is_none() && self.first_alert.is_some() && self.responses_missing > 0 {
            self.note("injection source unknown: no logged response before the first anomalous action carries injected instructions, and some responses were not logged".into());
        }

        if let (Some(src), Some(alert)) = (self.source.as_mut(), &self.first_alert) {
            src.first_alert = Some(alert.clone());
            src.time_to_first_alert_s = Some((alert.ts.0 - src.ts.0) as f64 / 1000.0);
        }

        let identity = self.identity(ctx);
        let manifest = match self.manifest_checked(ctx) {
            false => ManifestUpdate::NotChecked(NO_MANIFEST_EVENTS.into()),
            true if updates.is_empty() => ManifestUpdate::None,
            true => ManifestUpdate::Coinciding(
                updates
                    .iter()
                    .map(|e| format!("{} at {}", e.describe(), e.ts))
                    .collect(),
            ),
        };
        let injection = self.source.as_ref().map(|s| {
            format!(
                "the {} response at line {} carries {} ({})",
                s.tool, s.line, s.finding.rule_id, s.finding.severity
            )
        });
        let (classification, decision_path) = decide::decide(&Facts {
            signals: &signals,
            not_evaluated: &not_evaluated,
            identity: &identity,
            manifest: &manifest,
            injection: injection.as_deref(),
        });

        let timeline = timeline::build(&self, &signals, &drift, &updates);
        let blast_radius = timeline::blast_radius(&self);
        let duration_ms = self.start.as_ref().map(|s| last_ts.0 - s.ts.0);
        let start = self.start.as_ref();
        SessionReport {
            session_id: self.id.clone(),
            agent_id: self.agent.clone(),
            classification,
            decision_path,
            signals,
            injection_source: self.source.clone(),
            timeline,
            blast_radius,
            role: start.and_then(|s| s.role.clone()),
            task: start.and_then(|s| s.task.clone()),
            start: start.map(|s| s.ts),
            end: self.end.map(|(t, _)| t),
            duration_s: duration_ms.map(|d| d as f64 / 1000.0),
            first_line: self.first_line,
            last_line: self.last_line,
            calls: self.calls,
            signals_not_evaluated: not_evaluated,
            responses: ResponseStats {
                logged: self.responses_logged,
                missing: self.responses_missing,
                with_injection: self.injected_responses,
            },
            action: classification.action().to_string(),
            notes: std::mem::take(&mut self.notes),
        }
    }

    fn unauthorized_signal(&self) -> Option<Signal> {
        let u = &self.unauth;
        let (first, _) = u.first.as_ref()?;
        let mut tools: Vec<&String> = u.variants.iter().collect();
        tools.sort();
        let summary = format!(
            "{} unauthorized tool attempt{} ({} DENIED, {} to tools outside the allowlist, {} of those allowed); first {}({}) at {}",
            u.count,
            if u.count == 1 { "" } else { "s" },
            u.denied,
            u.outside,
            u.outside_allowed,
            first.call.tool,
            params_brief(first.params.as_ref(), 80),
            self.at(first.call.ts)
        );
        Some(Signal::new(
            SignalId::P1_UNAUTHORIZED_TOOL,
            summary,
            json!({
                "attempts": u.count,
                "denied": u.denied,
                "outside_allowlist": u.outside,
                "outside_allowlist_allowed": u.outside_allowed,
                "first": {
                    "event_index": first.call.event_index,
                    "line": first.call.line,
                    "ts": first.call.ts,
                    "tool": first.call.tool,
                    "params": first.params,
                    "outcome": first.outcome,
                },
                "tools": tools,
                "tools_truncated": u.more_variants,
                "allowlist": self.allowlist(),
            }),
        ))
    }

    /// Unapproved and approved manifest changes in the window around the session that
    /// concern it (a whole-manifest change, or a tool in its allowlist or called by it).
    fn manifest_events(
        &self,
        ctx: &Ctx<'a>,
        last_ts: Timestamp,
    ) -> (Vec<ManifestEvent>, Vec<ManifestEvent>) {
        let mut events = self.logged_manifest.clone();
        if let Some(m) = ctx.manifest {
            let from = Timestamp(self.origin().0 - ctx.config.manifest_window_ms);
            let concerns = |t: &str| {
                self.allow_set.as_ref().is_some_and(|a| a.contains(t))
                    || self.drift_tools_called.contains(t)
            };
            events.extend(m.during(from, last_ts, concerns).into_iter().cloned());
        }
        events.sort_by_key(|e| e.ts);
        events.into_iter().partition(ManifestEvent::is_drift)
    }

    fn drift_signal(
        &self,
        ctx: &Ctx<'a>,
        drift: &[ManifestEvent],
        last_ts: Timestamp,
    ) -> Result<Option<Signal>, NotEvaluated> {
        if !self.manifest_checked(ctx) {
            return Err(NotEvaluated {
                id: SignalId::P1_MANIFEST_DRIFT,
                reason: NO_MANIFEST_EVENTS.into(),
            });
        }
        if drift.is_empty() {
            return Ok(None);
        }
        let from = Timestamp(self.origin().0 - ctx.config.manifest_window_ms);
        let summary = format!(
            "{} unapproved manifest change{} between {} and the session end: {}",
            drift.len(),
            if drift.len() == 1 { "" } else { "s" },
            human_duration(ctx.config.manifest_window_ms) + " before the session",
            drift
                .iter()
                .take(5)
                .map(|e| format!("{} at {}", e.describe(), e.ts))
                .collect::<Vec<_>>()
                .join("; ")
        );
        Ok(Some(Signal::new(
            SignalId::P1_MANIFEST_DRIFT,
            summary,
            json!({
                "events": drift.iter().take(20).collect::<Vec<_>>(),
                "count": drift.len(),
                "window": {"from": from, "to": last_ts},
            }),
        )))
    }

    fn burst_signal(&self, ctx: &Ctx<'a>) -> Result<Option<Signal>, NotEvaluated> {
        let ne = |reason: String| NotEvaluated {
            id: SignalId::P2_BURST,
            reason,
        };
        let b = ctx.baseline.ok_or_else(|| ne("no baseline".into()))?;
        let role = self
            .start
            .as_ref()
            .and_then(|s| s.role.as_ref())
            .ok_or_else(|| ne("no role logged for the session".into()))?;
        let rb = b
            .roles
            .get(role)
            .ok_or_else(|| ne(format!("role {role} is not in the baseline")))?;
        let threshold = (ctx.config.burst_factor * rb.rate_per_60s * 1000.0).round() / 1000.0;
        let (peak, from, to) = self.window.peak();
        if peak as f64 <= ctx.config.burst_factor * rb.rate_per_60s {
            return Ok(None);
        }
        let first = self.burst_first.as_ref().map(|(c, n)| {
            json!({"event_index": c.event_index, "line": c.line, "ts": c.ts, "tool": c.tool, "calls_in_window": n})
        });
        let summary = format!(
            "{peak} calls within 60 s (from {} to {}); role {role} baseline {}/60 s, threshold {}",
            self.at(Timestamp(from)),
            self.at(Timestamp(to)),
            rb.rate_per_60s,
            threshold
        );
        Ok(Some(Signal::new(
            SignalId::P2_BURST,
            summary,
            json!({
                "peak_calls": peak,
                "window_s": WINDOW_MS / 1000,
                "window_first_call": Timestamp(from),
                "window_last_call": Timestamp(to),
                "role": role,
                "role_rate_per_60s": rb.rate_per_60s,
                "factor": ctx.config.burst_factor,
                "threshold": threshold,
                "first_exceeded": first,
            }),
        )))
    }

    fn sequence_signal(
        &self,
        ctx: &Ctx<'a>,
        fp: &super::signals::Fingerprinted,
    ) -> Result<Option<Signal>, NotEvaluated> {
        let ne = |reason: String| NotEvaluated {
            id: SignalId::P2_SEQUENCE_ANOMALY,
            reason,
        };
        ctx.baseline.ok_or_else(|| ne("no baseline".into()))?;
        let task = self
            .start
            .as_ref()
            .and_then(|s| s.task.as_ref())
            .ok_or_else(|| ne("no declared task logged for the session".into()))?;
        let tb = self
            .task_base
            .filter(|t| !t.workflows.is_empty())
            .ok_or_else(|| {
                ne(format!(
                    "no known-good workflow for task {task} in the baseline"
                ))
            })?;
        let matched = tb.workflows.iter().any(|w| {
            w.collapsed_sha256
                .eq_ignore_ascii_case(&fp.collapsed_sha256)
        });
        if matched {
            return Ok(None);
        }
        if self.end.is_none() && self.diverged.is_none() {
            return Err(ne(
                "no SESSION_END: the calls so far still follow a known workflow, and the session may not be complete".into(),
            ));
        }
        let exact = tb.workflows.iter().any(|w| {
            w.exact_sha256
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&fp.sha256))
        });
        let shown: Vec<&str> = fp.collapsed.iter().take(8).map(String::as_str).collect();
        let mut seq = shown.join(" → ");
        if fp.collapsed_len > shown.len() as u64 {
            seq.push_str(" → …");
        }
        let (why, diverged) = match &self.diverged {
            Some((c, expected)) => (
                format!(
                    "leaves every known workflow at {} ({}; expected {})",
                    c.tool,
                    self.at(c.ts),
                    expected.join(" or ")
                ),
                json!({"event_index": c.event_index, "line": c.line, "ts": c.ts, "tool": c.tool, "expected": expected}),
            ),
            None if self.matcher.is_some() => (
                "stops before completing any known workflow".to_string(),
                Value::Null,
            ),
            None => ("no workflow has this fingerprint".to_string(), Value::Null),
        };
        let summary = format!(
            "sequence {seq} matches none of the {} known-good workflow{} of task {task}: {why}",
            tb.workflows.len(),
            if tb.workflows.len() == 1 { "" } else { "s" },
        );
        Ok(Some(Signal::new(
            SignalId::P2_SEQUENCE_ANOMALY,
            summary,
            json!({
                "task": task,
                "calls": fp.calls,
                "sequence": fp.collapsed,
                "sequence_truncated": !fp.is_whole(),
                "sha256": fp.sha256,
                "collapsed_sha256": fp.collapsed_sha256,
                "exact_match": exact,
                "known_workflows": tb.workflows.len(),
                "diverged_at": diverged,
            }),
        )))
    }

    fn duration_signal(
        &self,
        ctx: &Ctx<'a>,
        last_ts: Timestamp,
    ) -> Result<Option<Signal>, NotEvaluated> {
        let ne = |reason: String| NotEvaluated {
            id: SignalId::P3_DURATION,
            reason,
        };
        ctx.baseline.ok_or_else(|| ne("no baseline".into()))?;
        let st = self
            .start
            .as_ref()
            .ok_or_else(|| ne("no SESSION_START: the session's duration is unknown".into()))?;
        let task = st
            .task
            .as_ref()
            .ok_or_else(|| ne("no declared task logged for the session".into()))?;
        let d = self
            .task_base
            .and_then(|t| t.duration.as_ref())
            .filter(|d| d.sessions >= 2)
            .ok_or_else(|| {
                ne(format!(
                    "the baseline has fewer than 2 known-good durations for task {task}"
                ))
            })?;
        let limit_ms = self.duration_limit_ms.unwrap_or(0);
        let dur_ms = last_ts.0 - st.ts.0;
        let lower_bound = self.end.is_none();
        if dur_ms <= limit_ms {
            return if lower_bound {
                Err(ne(format!(
                    "no SESSION_END: the session lasted at least {}, under the {} threshold so far",
                    human_duration(dur_ms),
                    human_duration(limit_ms)
                )))
            } else {
                Ok(None)
            };
        }
        let summary = format!(
            "session lasted {}{} against task {task} mean {:.1}s + {}σ ({:.1}s) = {:.1}s",
            if lower_bound { "at least " } else { "" },
            human_duration(dur_ms),
            d.mean_s,
            ctx.config.duration_sigmas,
            d.stddev_s,
            limit_ms as f64 / 1000.0
        );
        Ok(Some(Signal::new(
            SignalId::P3_DURATION,
            summary,
            json!({
                "duration_s": dur_ms as f64 / 1000.0,
                "lower_bound": lower_bound,
                "task": task,
                "mean_s": d.mean_s,
                "stddev_s": d.stddev_s,
                "sigmas": ctx.config.duration_sigmas,
                "threshold_s": limit_ms as f64 / 1000.0,
                "baseline_sessions": d.sessions,
            }),
        )))
    }

    fn identity(&self, ctx: &Ctx<'a>) -> Identity {
        let Some(b) = ctx.baseline else {
            return Identity::NotChecked("no baseline".into());
        };
        let Some(agent) = self.agent.clone() else {
            return Identity::NotChecked("no agent_id logged".into());
        };
        let Some(a) = b.agents.get(&agent) else {
            return Identity::Unrecognized { agent };
        };
        let days = (self.origin().0 - a.first_seen.0) as f64 / 86_400_000.0;
        if days >= 0.0 && days < ctx.config.new_agent_days {
            Identity::Recent {
                agent,
                first_seen: a.first_seen,
                days,
            }
        } else {
            Identity::Known {
                agent,
                first_seen: a.first_seen,
            }
        }
    }
}
