//! The one shared result type: findings with stable ids, and the per-document verdict.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::document::{Channel, Format, Location};

/// Severity, ordered from weakest to strongest so `max` gives the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Moves `steps` levels up (positive) or down (negative), clamped to the scale.
    pub fn shifted(self, steps: i32) -> Severity {
        let idx = (self as i32 + steps).clamp(0, 4) as usize;
        Severity::ALL[idx]
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::parse(s).ok_or_else(|| {
            format!("unknown severity '{s}' (expected critical, high, medium, low or info)")
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// Kind of network endpoint found near a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointKind {
    Url,
    Domain,
    Email,
    Ipv4,
    Ipv6,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    pub kind: EndpointKind,
    /// The endpoint as written (URLs keep their query string: it is the evidence).
    pub value: String,
    /// Lowercased host (domain or IP) the endpoint points at.
    pub host: String,
}

/// One rule hit in one place.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id: hash of the document sha256, the location and the rule id.
    pub finding_id: String,
    pub rule_id: String,
    pub rule_title: String,
    pub category: String,
    pub severity: Severity,
    pub confidence: Confidence,
    /// Path as given on the command line joined with the relative path below it.
    pub path: String,
    pub format: Format,
    pub doc_sha256: String,
    pub location: Location,
    pub channel: Channel,
    /// A short excerpt of the original text around the match, invisible characters escaped.
    pub excerpt: String,
    /// The normalized text the rule matched.
    pub matched: String,
    pub endpoints: Vec<Endpoint>,
    /// Why the severity differs from the rule's (hidden channel, combination, quotation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adjustments: Vec<String>,
}

impl Finding {
    /// Fills in the document hash and the stable id derived from it.
    pub fn assign_id(&mut self, doc_sha256: &str) {
        self.doc_sha256 = doc_sha256.to_string();
        self.finding_id =
            Finding::stable_id(doc_sha256, &self.location, self.channel, &self.rule_id);
    }

    /// Same document bytes, same place, same rule: same id, on any machine.
    pub fn stable_id(
        doc_sha256: &str,
        location: &Location,
        channel: Channel,
        rule_id: &str,
    ) -> String {
        let mut h = Sha256::new();
        h.update(doc_sha256.as_bytes());
        // serde_json of a struct is deterministic (field order is declaration order).
        h.update(serde_json::to_vec(location).unwrap_or_default());
        h.update(channel.as_str().as_bytes());
        h.update(rule_id.as_bytes());
        let digest = h.finalize();
        format!("F{}", &hex::encode(digest)[..16])
    }
}

/// The combined judgment on one document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verdict {
    pub path: String,
    pub format: Format,
    pub doc_sha256: String,
    pub size: u64,
    /// The memory-store entry this verdict is about (one document per entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// Highest severity among the document's findings; `None` when nothing was found.
    pub severity: Option<Severity>,
    /// Sum of finding weights; orders documents of equal severity.
    pub score: u32,
    pub reasons: Vec<String>,
}
