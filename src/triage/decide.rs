//! The guide's triage decision tree, recording the path taken: each question, the answer
//! (yes, no, or unknown when the data to answer it is missing) and why.

use serde::{Deserialize, Serialize};

use super::signals::{NotEvaluated, Signal, SignalId};
use super::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Classification {
    ConfirmedIncident,
    Suspicious,
    ProbableFalsePositive,
    Escalate,
    NoSignal,
}

impl Classification {
    pub const ALL: [Classification; 5] = [
        Classification::ConfirmedIncident,
        Classification::Suspicious,
        Classification::ProbableFalsePositive,
        Classification::Escalate,
        Classification::NoSignal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Classification::ConfirmedIncident => "CONFIRMED_INCIDENT",
            Classification::Suspicious => "SUSPICIOUS",
            Classification::ProbableFalsePositive => "PROBABLE_FALSE_POSITIVE",
            Classification::Escalate => "ESCALATE",
            Classification::NoSignal => "NO_SIGNAL",
        }
    }

    /// What the guide says to do next.
    pub fn action(self) -> &'static str {
        match self {
            Classification::ConfirmedIncident => {
                "skip triage: capture evidence, then contain (snapshot before terminate)"
            }
            Classification::Suspicious => {
                "suspend the session; investigate identity provenance or the manifest diff"
            }
            Classification::ProbableFalsePositive => {
                "log, monitor for recurrence, review the baseline"
            }
            Classification::Escalate => "escalate: insufficient data to rule out an incident",
            Classification::NoSignal => "none",
        }
    }

    /// Whether this classification makes `mcpsweep triage` exit 1.
    pub fn is_alert(self) -> bool {
        matches!(
            self,
            Classification::ConfirmedIncident | Classification::Suspicious
        )
    }
}

impl std::fmt::Display for Classification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    Yes,
    No,
    /// The data needed to answer is missing.
    Unknown,
}

/// One question of the tree as it was answered for this session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Stable id of the question: `signals`, `injection_content`, `p1_signal`,
    /// `multiple_signals`, `agent_identity`, `manifest_update`, `single_uncorroborated`.
    pub step: String,
    pub question: String,
    pub answer: Answer,
    pub detail: String,
    /// Set on the step that ends the walk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Classification>,
}

/// What is known about the agent identity.
#[derive(Debug, Clone, PartialEq)]
pub enum Identity {
    Known {
        agent: String,
        first_seen: Timestamp,
    },
    /// First seen less than the configured number of days before the session.
    Recent {
        agent: String,
        first_seen: Timestamp,
        days: f64,
    },
    Unrecognized {
        agent: String,
    },
    NotChecked(String),
}

/// Approved manifest changes (with a change record) around the session.
#[derive(Debug, Clone, PartialEq)]
pub enum ManifestUpdate {
    Coinciding(Vec<String>),
    None,
    NotChecked(String),
}

/// Everything the tree looks at.
pub struct Facts<'a> {
    pub signals: &'a [Signal],
    pub not_evaluated: &'a [NotEvaluated],
    pub identity: &'a Identity,
    pub manifest: &'a ManifestUpdate,
    /// An injection found in a tool response before the first anomalous action, described.
    pub injection: Option<&'a str>,
}

const Q_SIGNALS: &str = "Was any detection signal raised? (alert received)";
const Q_INJECTION: &str = "Did a tool response carry injected instructions?";
const Q_P1: &str = "Is this a P1 signal? (unauthorized tool attempt or manifest drift)";
const Q_MULTI: &str = "Are two or more signals present in the same session?";
const Q_IDENTITY: &str = "Is the triggering agent identity new, recently created, or unrecognized?";
const Q_MANIFEST: &str = "Does the session coincide with a recent tool manifest update?";
const Q_SINGLE: &str =
    "Single P2/P3 signal, known agent, no manifest change, no corroborating signals?";

fn step(id: &str, q: &str, answer: Answer, detail: String) -> Step {
    Step {
        step: id.into(),
        question: q.into(),
        answer,
        detail,
        outcome: None,
    }
}

fn ended(mut path: Vec<Step>, c: Classification) -> (Classification, Vec<Step>) {
    if let Some(last) = path.last_mut() {
        last.outcome = Some(c);
    }
    (c, path)
}

fn not_evaluated_text(ne: &[&NotEvaluated]) -> String {
    ne.iter()
        .map(|n| format!("{} ({})", n.id, n.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Walks the tree. The guide enters it on an alert; with no signal at all the walk is one
/// step, which is NO_SIGNAL only when every baseline signal could be evaluated.
pub fn decide(f: &Facts) -> (Classification, Vec<Step>) {
    use Classification::*;
    let mut path = Vec::new();
    if f.signals.is_empty() {
        // Manifest drift comes from a separate monitor; without its events the session
        // can still be cleared on behaviour (the report lists the drift check as not run).
        let blind: Vec<&NotEvaluated> = f
            .not_evaluated
            .iter()
            .filter(|n| n.id != SignalId::P1_MANIFEST_DRIFT)
            .collect();
        if !blind.is_empty() {
            let mut detail = format!(
                "no signal fired, but these could not be evaluated: {}",
                not_evaluated_text(&blind)
            );
            if let Some(inj) = f.injection {
                detail.push_str(&format!("; and {inj}"));
            }
            path.push(step("signals", Q_SIGNALS, Answer::Unknown, detail));
            return ended(path, Escalate);
        }
        let mut detail = "none of the five signals fired".to_string();
        if let Some(n) = f
            .not_evaluated
            .iter()
            .find(|n| n.id == SignalId::P1_MANIFEST_DRIFT)
        {
            detail.push_str(&format!(" (manifest drift not checked: {})", n.reason));
        }
        path.push(step("signals", Q_SIGNALS, Answer::No, detail));
        return match f.injection {
            Some(inj) => {
                path.push(step(
                    "injection_content",
                    Q_INJECTION,
                    Answer::Yes,
                    format!("{inj}; the agent read injected instructions: confirm it did not act on them"),
                ));
                ended(path, Escalate)
            }
            None => ended(path, NoSignal),
        };
    }

    let ids: Vec<&str> = f.signals.iter().map(|s| s.id.as_str()).collect();
    let p1: Vec<&Signal> = f.signals.iter().filter(|s| s.id.is_p1()).collect();
    if !p1.is_empty() {
        let detail = p1
            .iter()
            .map(|s| format!("{}: {}", s.id, s.summary))
            .collect::<Vec<_>>()
            .join("; ");
        path.push(step("p1_signal", Q_P1, Answer::Yes, detail));
        return ended(path, ConfirmedIncident);
    }
    path.push(step(
        "p1_signal",
        Q_P1,
        Answer::No,
        "no unauthorized tool attempt, no manifest drift".into(),
    ));

    if f.signals.len() >= 2 {
        path.push(step(
            "multiple_signals",
            Q_MULTI,
            Answer::Yes,
            ids.join(", "),
        ));
        return ended(path, ConfirmedIncident);
    }
    let only = &f.signals[0];
    path.push(step(
        "multiple_signals",
        Q_MULTI,
        Answer::No,
        format!("only {}: {}", only.id, only.summary),
    ));

    let mut gaps: Vec<String> = Vec::new();
    match f.identity {
        Identity::Unrecognized { agent } => {
            path.push(step(
                "agent_identity",
                Q_IDENTITY,
                Answer::Yes,
                format!("agent {agent} is not among the baseline's known identities"),
            ));
            return ended(path, Suspicious);
        }
        Identity::Recent {
            agent,
            first_seen,
            days,
        } => {
            path.push(step(
                "agent_identity",
                Q_IDENTITY,
                Answer::Yes,
                format!(
                    "agent {agent} was first seen {first_seen}, {days:.1} days before the session"
                ),
            ));
            return ended(path, Suspicious);
        }
        Identity::Known { agent, first_seen } => path.push(step(
            "agent_identity",
            Q_IDENTITY,
            Answer::No,
            format!("agent {agent} known since {first_seen}"),
        )),
        Identity::NotChecked(why) => {
            gaps.push(format!("agent identity not checked ({why})"));
            path.push(step(
                "agent_identity",
                Q_IDENTITY,
                Answer::Unknown,
                why.clone(),
            ));
        }
    }

    match f.manifest {
        ManifestUpdate::Coinciding(changes) => {
            path.push(step(
                "manifest_update",
                Q_MANIFEST,
                Answer::Yes,
                changes.join("; "),
            ));
            return ended(path, Suspicious);
        }
        ManifestUpdate::None => path.push(step(
            "manifest_update",
            Q_MANIFEST,
            Answer::No,
            "no manifest change around the session".into(),
        )),
        ManifestUpdate::NotChecked(why) => {
            gaps.push(format!("manifest changes not checked ({why})"));
            path.push(step(
                "manifest_update",
                Q_MANIFEST,
                Answer::Unknown,
                why.clone(),
            ));
        }
    }

    let blind: Vec<&NotEvaluated> = f
        .not_evaluated
        .iter()
        .filter(|n| {
            !(n.id == SignalId::P1_MANIFEST_DRIFT
                && matches!(f.manifest, ManifestUpdate::NotChecked(_)))
        })
        .collect();
    if !blind.is_empty() {
        gaps.push(format!(
            "other signals could not be evaluated: {}",
            not_evaluated_text(&blind)
        ));
    }
    if let Some(inj) = f.injection {
        gaps.push(format!("corroborated by injected content: {inj}"));
    }
    if gaps.is_empty() {
        path.push(step(
            "single_uncorroborated",
            Q_SINGLE,
            Answer::Yes,
            format!(
                "single {} from a known agent, no manifest change, nothing corroborating",
                only.id
            ),
        ));
        ended(path, ProbableFalsePositive)
    } else {
        path.push(step(
            "single_uncorroborated",
            Q_SINGLE,
            Answer::No,
            gaps.join("; "),
        ));
        ended(path, Escalate)
    }
}
