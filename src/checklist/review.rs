//! The guide's post-incident review (Phase 5), pre-filled from the evidence the checklist
//! gathered; what only people can answer is left as questions.

use serde::Serialize;

use super::items::{source_ref, vault_items_for};
use super::{Ctx, Item, Status};
use crate::triage::time::Timestamp;
use crate::vault::ItemState;

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub session: Option<String>,
    pub classification: Option<String>,
    pub detection: Detection,
    pub containment: Containment,
    pub evidence_quality: EvidenceQuality,
    pub prevention_gaps: Vec<String>,
    pub time_to_identify: TimeToIdentify,
    /// Playbook and training questions for the people in the review.
    pub questions: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignalLine {
    pub id: String,
    pub severity: Option<String>,
    /// What fired, or why it could not be evaluated.
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    pub signals_fired: Vec<SignalLine>,
    pub signals_not_evaluated: Vec<SignalLine>,
    pub assessment: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Containment {
    /// The session allowlist, `null` when the log has none.
    pub allowlist: Option<Vec<String>>,
    pub denied_after_injection: Option<u64>,
    pub allowed_after_injection: Option<u64>,
    /// Calls outside the allowlist that were not denied (allowlist not enforced).
    pub outside_allowlist_not_denied: Option<u64>,
    /// The allowlist stopped every unauthorized attempt and nothing else went through.
    pub allowlist_contained: Option<bool>,
    pub assessment: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvidenceQuality {
    pub responses_logged: Option<u64>,
    pub responses_missing: Option<u64>,
    pub tool_response_content_logged: Option<bool>,
    pub assessment: String,
}

/// Mean time to identify the injection source, for this incident.
#[derive(Debug, Clone, Serialize)]
pub struct TimeToIdentify {
    pub definition: &'static str,
    pub injection_at: Option<String>,
    pub first_alert_at: Option<String>,
    pub injection_to_first_alert_s: Option<f64>,
    /// When the source went into the vault (its quarantine record).
    pub source_quarantined_at: Option<String>,
    pub first_alert_to_source_quarantined_s: Option<f64>,
}

const DEFINITION: &str = "from the first alert (the first anomalous action triage found) to the \
     quarantine of the injection source in the vault, the guide's detection-to-identification \
     interval; injection to first alert is the detection delay";

pub fn review(ctx: &Ctx, items: &[Item]) -> Review {
    let s = ctx.session();
    let signals_fired = s
        .map(|s| {
            s.signals
                .iter()
                .map(|g| SignalLine {
                    id: g.id.as_str().to_string(),
                    severity: Some(g.severity.as_str().to_string()),
                    detail: g.summary.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut signals_not_evaluated: Vec<SignalLine> = s
        .map(|s| {
            s.signals_not_evaluated
                .iter()
                .map(|n| SignalLine {
                    id: n.id.as_str().to_string(),
                    severity: None,
                    detail: n.reason.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    for n in signals_not_evaluated.iter_mut() {
        if n.id == "P1_MANIFEST_DRIFT" {
            match items[3].status {
                Status::Done => n
                    .detail
                    .push_str(" (item 4 checked the manifest now: no drift)"),
                Status::Failed => n
                    .detail
                    .push_str(" (item 4 checked the manifest now: DRIFT or poisoning)"),
                _ => {}
            }
        }
    }
    let detection_assessment = match s {
        None => "not assessed: no session log".to_string(),
        Some(s) if s.signals.iter().any(|g| g.id.is_p1()) => format!(
            "detected by a P1 signal: the behavioural detection worked; {} signal(s) could not be evaluated and are instrumentation gaps to close",
            signals_not_evaluated.len()
        ),
        Some(s) if !s.signals.is_empty() => {
            "detected by P2/P3 signals only: no P1 signal fired".to_string()
        }
        Some(_) => "no signal fired in the session log: detected by other means (user report, chance): a fundamental instrumentation gap".to_string(),
    };

    let containment = match s {
        None => Containment {
            allowlist: None,
            denied_after_injection: None,
            allowed_after_injection: None,
            outside_allowlist_not_denied: None,
            allowlist_contained: None,
            assessment: "not assessed: no session log".into(),
        },
        Some(s) => {
            let b = &s.blast_radius;
            let contained = b.allowlist.is_some()
                && b.outside_allowlist_allowed == 0
                && b.allowed_after == 0
                && b.other_after == 0;
            let assessment = if b.allowlist.is_none() {
                "no session allowlist in the log: nothing stopped unauthorized calls".to_string()
            } else if contained {
                format!(
                    "the session allowlist stopped the attack: all {} attempts after the injection were DENIED, nothing went through (report this control to the CISO and board)",
                    b.denied_after
                )
            } else if b.outside_allowlist_allowed > 0 {
                format!(
                    "{} call(s) outside the allowlist went through: the allowlist was not enforced",
                    b.outside_allowlist_allowed
                )
            } else {
                format!(
                    "{} call(s) within the allowlist went through after the injection: which control would have blocked them? (see item 5)",
                    b.allowed_after + b.other_after
                )
            };
            Containment {
                allowlist: b.allowlist.clone(),
                denied_after_injection: Some(b.denied_after),
                allowed_after_injection: Some(b.allowed_after),
                outside_allowlist_not_denied: Some(b.outside_allowlist_allowed),
                allowlist_contained: Some(contained),
                assessment,
            }
        }
    };

    let evidence_quality = match s {
        None => EvidenceQuality {
            responses_logged: None,
            responses_missing: None,
            tool_response_content_logged: None,
            assessment: "not assessed: no session log".into(),
        },
        Some(s) => {
            let r = &s.responses;
            let all = r.missing == 0;
            EvidenceQuality {
                responses_logged: Some(r.logged),
                responses_missing: Some(r.missing),
                tool_response_content_logged: Some(all),
                assessment: format!(
                    "tool response content logged for {} of {} calls that returned one{}; context window content is not part of the session log: confirm it was captured before termination",
                    r.logged,
                    r.logged + r.missing,
                    if all {
                        ", enough to name the injection source"
                    } else {
                        ": an injection through the others cannot be identified (add response logging)"
                    }
                ),
            }
        }
    };

    let src = s.and_then(|s| s.injection_source.as_ref());
    let mut prevention_gaps = Vec::new();
    if let Some(src) = src {
        prevention_gaps.push(format!(
            "injection through content returned by {}: pre-context screening (`mcpsweep guard` in front of the server, or `mcpsweep check` in the pipeline) blocks a response with a {} finding such as {}",
            src.tool,
            src.finding.severity.as_str(),
            src.finding.rule_id
        ));
    }
    if items[3].status == Status::Failed {
        prevention_gaps.push(
            "tool manifest drift or poisoning: pin the manifest (`mcpsweep manifest pin`) and check it on every start (`mcpsweep manifest check`, `mcpsweep guard`)"
                .into(),
        );
    } else if items[3].status == Status::Todo {
        prevention_gaps.push(
            "manifest integrity was not checked: without a pinned baseline, tool poisoning goes unnoticed"
                .into(),
        );
    }
    if items[2].evidence.iter().any(|e| e.contains("carries")) {
        prevention_gaps.push(
            "memory poisoning: screen what the agent writes to memory before it persists".into(),
        );
    }
    if containment.allowlist.is_none() && s.is_some() {
        prevention_gaps.push("no per-session tool allowlist".into());
    }

    let injection_at = src.map(|x| x.ts);
    let alert_at = src.and_then(|x| x.first_alert.as_ref().map(|a| a.ts));
    let quarantined_at: Option<Timestamp> =
        src.and_then(source_ref)
            .zip(ctx.vault())
            .and_then(|(rel, v)| {
                let items = v.items();
                vault_items_for(&items, &rel)
                    .into_iter()
                    .find(|it| it.state == ItemState::Quarantined)
                    .and_then(|it| Timestamp::parse(&it.record.time).ok())
            });
    let secs = |a: Timestamp, b: Timestamp| (b.millis() - a.millis()) as f64 / 1000.0;
    let time_to_identify = TimeToIdentify {
        definition: DEFINITION,
        injection_at: injection_at.map(|t| t.to_rfc3339()),
        first_alert_at: alert_at.map(|t| t.to_rfc3339()),
        injection_to_first_alert_s: injection_at.zip(alert_at).map(|(a, b)| secs(a, b)),
        source_quarantined_at: quarantined_at.map(|t| t.to_rfc3339()),
        first_alert_to_source_quarantined_s: alert_at.zip(quarantined_at).map(|(a, b)| secs(a, b)),
    };

    let questions = vec![
        "Playbook: which actions did responders improvise? Add each as a decision point to the triage tree or a step of the containment script.".to_string(),
        "Playbook: was the session snapshot (log, context window, manifest) taken before the session was terminated?".to_string(),
        "Training: which steps (context window forensics, injection source identification, memory store audit) needed skills the team did not have?".to_string(),
        format!(
            "Detection: for each signal not evaluated ({}), who instruments it, and by when?",
            if signals_not_evaluated.is_empty() {
                "none".to_string()
            } else {
                signals_not_evaluated
                    .iter()
                    .map(|n| n.id.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
    ];

    Review {
        session: s.map(|s| s.session_id.clone()),
        classification: s.map(|s| s.classification.as_str().to_string()),
        detection: Detection {
            signals_fired,
            signals_not_evaluated,
            assessment: detection_assessment,
        },
        containment,
        evidence_quality,
        prevention_gaps,
        time_to_identify,
        questions,
    }
}
