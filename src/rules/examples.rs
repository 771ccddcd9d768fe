//! Runs every rule's examples: each must-match example must yield a finding of its rule, and
//! no must-not-match example may.

use crate::detect::{Detector, DocMeta};
use crate::document::{Channel, Format, Location, Segment, SourceSpan};

/// One example that did not behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    pub rule_id: String,
    pub source: String,
    /// True for a must-match example that did not match.
    pub should_match: bool,
    pub example: String,
}

impl std::fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.should_match {
            "missed example"
        } else {
            "matched negative example"
        };
        write!(
            f,
            "{} ({}): {what}: {:?}",
            self.rule_id, self.source, self.example
        )
    }
}

/// Whether scanning `text` as visible text yields a finding of `rule_id`.
pub fn matches(detector: &Detector, rule_id: &str, text: &str) -> bool {
    let seg = Segment::new(
        text.to_string(),
        Channel::Visible,
        Location::default(),
        SourceSpan::verbatim(0, text.len() as u64, 1, 1),
    );
    let meta = DocMeta {
        path: "(example)".into(),
        format: Format::Text,
    };
    detector
        .scan_segments(&meta, &[seg])
        .0
        .iter()
        .any(|f| f.rule_id == rule_id)
}

/// Checks every example of every rule the detector holds.
pub fn run_examples(detector: &Detector) -> (usize, Vec<ExampleFailure>) {
    let mut checked = 0;
    let mut failures = Vec::new();
    for rule in detector.rules() {
        let cases = rule
            .examples
            .iter()
            .map(|e| (true, e))
            .chain(rule.negative_examples.iter().map(|e| (false, e)));
        for (should_match, example) in cases {
            checked += 1;
            if matches(detector, &rule.id, example) != should_match {
                failures.push(ExampleFailure {
                    rule_id: rule.id.clone(),
                    source: rule.source.clone(),
                    should_match,
                    example: example.clone(),
                });
            }
        }
    }
    (checked, failures)
}
