//! Markdown for people, JSON (`mcpsweep-checklist/1`) for tools.

use std::fmt::Write;

use super::Checklist;

/// Pretty JSON with a final newline.
pub fn to_json(c: &Checklist) -> String {
    let mut s = serde_json::to_string_pretty(c).unwrap_or_default();
    s.push('\n');
    s
}

/// Table cells must not break the table.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "not supplied".into())
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "not supplied".into()
    } else {
        v.join(", ")
    }
}

pub fn to_markdown(c: &Checklist) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Eradication checklist: {}\n", c.incident);
    let _ = writeln!(
        o,
        "- Contained at: {} ({})",
        c.contained_at.as_deref().unwrap_or("unknown"),
        c.contained_at_source
    );
    let _ = writeln!(o, "- Checked at: {}", c.generated_at);
    let _ = writeln!(
        o,
        "- Re-deploy gate: **{}**",
        if c.redeploy_ready {
            "READY"
        } else {
            "NOT READY"
        }
    );
    let i = &c.inputs;
    let _ = writeln!(o, "- Session log: {}", opt(&i.session));
    let _ = writeln!(o, "- Triage baseline: {}", opt(&i.baseline));
    let _ = writeln!(o, "- Corpus: {}", list(&i.corpus));
    let _ = writeln!(o, "- Memory stores: {}", list(&i.memory));
    let _ = writeln!(
        o,
        "- Manifest: baseline {}, current {}",
        opt(&i.manifest_baseline),
        opt(&i.manifest)
    );
    let _ = writeln!(o, "- Agent configs: {}", list(&i.agent_config));
    let _ = writeln!(o, "- Rotation confirmations: {}", opt(&i.rotated));
    let _ = writeln!(o, "- Vault: {}", opt(&i.vault));
    let _ = writeln!(o, "- Index: {}\n", opt(&i.index));

    let _ = writeln!(o, "| # | Item | Status | Due | Deadline | Passed |");
    let _ = writeln!(o, "|--:|---|---|---|---|---|");
    for it in &c.items {
        let _ = writeln!(
            o,
            "| {} | {} | **{}** | {} | {} | {} |",
            it.number,
            it.title,
            it.status.as_str(),
            it.due,
            it.deadline.as_deref().unwrap_or("-"),
            match it.overdue {
                Some(true) => "OVERDUE",
                Some(false) => "no",
                None => "-",
            }
        );
    }
    for it in &c.items {
        let _ = writeln!(
            o,
            "\n## {}. {}: {}\n",
            it.number,
            it.title,
            it.status.as_str()
        );
        for e in &it.evidence {
            let _ = writeln!(o, "- {e}");
        }
        if !it.actions.is_empty() {
            let _ = writeln!(o, "\nTo do:\n");
            for a in &it.actions {
                let _ = writeln!(o, "- [ ] {a}");
            }
        }
    }

    let r = &c.review;
    let _ = writeln!(o, "\n# Post-incident review\n");
    if let (Some(s), Some(cl)) = (&r.session, &r.classification) {
        let _ = writeln!(o, "Session {s}, triaged {cl}.\n");
    }
    let _ = writeln!(o, "## Detection gap analysis\n");
    let _ = writeln!(o, "{}\n", r.detection.assessment);
    if !r.detection.signals_fired.is_empty() || !r.detection.signals_not_evaluated.is_empty() {
        let _ = writeln!(o, "| Signal | Fired | Detail |");
        let _ = writeln!(o, "|---|---|---|");
        for s in &r.detection.signals_fired {
            let _ = writeln!(o, "| {} | yes | {} |", s.id, cell(&s.detail));
        }
        for s in &r.detection.signals_not_evaluated {
            let _ = writeln!(o, "| {} | not evaluated | {} |", s.id, cell(&s.detail));
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "## Containment effectiveness\n");
    let ct = &r.containment;
    if let Some(a) = &ct.allowlist {
        let _ = writeln!(o, "- Session allowlist: {}", a.join(", "));
    }
    if let (Some(d), Some(a), Some(x)) = (
        ct.denied_after_injection,
        ct.allowed_after_injection,
        ct.outside_allowlist_not_denied,
    ) {
        let _ = writeln!(
            o,
            "- After the injection: {d} denied, {a} allowed, {x} outside the allowlist not denied"
        );
    }
    let _ = writeln!(o, "- {}\n", ct.assessment);
    let _ = writeln!(o, "## Evidence quality\n");
    let _ = writeln!(o, "{}\n", r.evidence_quality.assessment);
    let _ = writeln!(o, "## Prevention control gaps\n");
    if r.prevention_gaps.is_empty() {
        let _ = writeln!(o, "- none identified from the evidence");
    }
    for g in &r.prevention_gaps {
        let _ = writeln!(o, "- {g}");
    }
    let t = &r.time_to_identify;
    let _ = writeln!(o, "\n## Time to identify the injection source\n");
    let _ = writeln!(o, "Measured {}.\n", t.definition);
    let _ = writeln!(
        o,
        "- Injection: {}",
        t.injection_at.as_deref().unwrap_or("unknown")
    );
    let _ = writeln!(
        o,
        "- First alert: {}{}",
        t.first_alert_at.as_deref().unwrap_or("unknown"),
        t.injection_to_first_alert_s
            .map(|s| format!(" ({s} s after the injection)"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        o,
        "- Source quarantined: {}{}",
        t.source_quarantined_at
            .as_deref()
            .unwrap_or("not yet (no quarantine record for the source in the vault)"),
        t.first_alert_to_source_quarantined_s
            .map(|s| format!(" ({s} s after the first alert)"))
            .unwrap_or_default()
    );
    let _ = writeln!(o, "\n## Questions for the review\n");
    for q in &r.questions {
        let _ = writeln!(o, "- [ ] {q}");
    }
    o
}
