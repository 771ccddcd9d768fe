//! Drift between a baseline and a current manifest: tools added, removed or changed, which
//! hashed fields changed, a line diff of changed text, and JSON-pointer differences of
//! schemas. Values are compared in canonical form, so key order, whitespace and number
//! spelling (`1` against `1.0`) never count; array order does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::canonical::canonicalize;
use super::{Manifest, Tool, HASHED_FIELDS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        }
    }
}

/// One difference at a JSON pointer (RFC 6901) inside a tool definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointerDiff {
    /// E.g. `/inputSchema/properties/path/description`.
    pub pointer: String,
    pub op: ChangeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

/// What happened to one tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolChange {
    /// The tool's key (its name; `name#2` for a repeated name).
    pub tool: String,
    pub change: ChangeKind,
    /// Hashed fields that differ; for an added or removed tool, the hashed fields it has.
    pub fields: Vec<String>,
    pub sha256_old: Option<String>,
    pub sha256_new: Option<String>,
    /// Line diffs of changed text fields (`description`, `title`): lines prefixed with
    /// `"  "` (kept), `"- "` (baseline only) or `"+ "` (current only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub text_diff: BTreeMap<String, Vec<String>>,
    /// Differences of the other changed fields (schemas, annotations) by JSON pointer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema_diff: Vec<PointerDiff>,
    /// For an added or removed tool, its whole definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<Value>,
}

/// Whether the server instructions changed. They are compared only when both sides recorded
/// an `initialize` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstructionsDrift {
    pub compared: bool,
    pub changed: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<String>,
}

/// The server's name or version differs (reported, not drift by itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerChange {
    pub old: String,
    pub new: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Sorted by tool key.
    pub changes: Vec<ToolChange>,
    pub unchanged: usize,
    pub instructions: InstructionsDrift,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerChange>,
}

impl Drift {
    /// Any tool added, removed or changed, or the instructions changed.
    pub fn has_drift(&self) -> bool {
        !self.changes.is_empty() || self.instructions.changed
    }

    pub fn count(&self, kind: ChangeKind) -> usize {
        self.changes.iter().filter(|c| c.change == kind).count()
    }
}

/// Compares `current` against `baseline`.
pub fn compare(baseline: &Manifest, current: &Manifest) -> Drift {
    let old: BTreeMap<&str, &Tool> = baseline.tools.iter().map(|t| (t.key.as_str(), t)).collect();
    let new: BTreeMap<&str, &Tool> = current.tools.iter().map(|t| (t.key.as_str(), t)).collect();
    let mut keys: Vec<&str> = old.keys().chain(new.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut changes = Vec::new();
    let mut unchanged = 0;
    for key in keys {
        match (old.get(key), new.get(key)) {
            (Some(o), None) => changes.push(whole(o, ChangeKind::Removed)),
            (None, Some(n)) => changes.push(whole(n, ChangeKind::Added)),
            (Some(o), Some(n)) if o.sha256 == n.sha256 => unchanged += 1,
            (Some(o), Some(n)) => changes.push(changed(o, n)),
            (None, None) => {}
        }
    }
    let instructions = match (&baseline.server, &current.server) {
        (Some(b), Some(c)) => {
            let (o, n) = (b.instructions.as_deref(), c.instructions.as_deref());
            InstructionsDrift {
                compared: true,
                changed: o != n,
                diff: if o != n {
                    line_diff(o.unwrap_or(""), n.unwrap_or(""))
                } else {
                    Vec::new()
                },
            }
        }
        _ => InstructionsDrift {
            compared: false,
            changed: false,
            diff: Vec::new(),
        },
    };
    let server = match (&baseline.server, &current.server) {
        (Some(b), Some(c)) if (&b.name, &b.version) != (&c.name, &c.version) => {
            Some(ServerChange {
                old: format!("{} {}", b.name, b.version),
                new: format!("{} {}", c.name, c.version),
            })
        }
        _ => None,
    };
    Drift {
        changes,
        unchanged,
        instructions,
        server,
    }
}

fn whole(t: &Tool, kind: ChangeKind) -> ToolChange {
    let (sha256_old, sha256_new) = match kind {
        ChangeKind::Removed => (Some(t.sha256.clone()), None),
        _ => (None, Some(t.sha256.clone())),
    };
    ToolChange {
        tool: t.key.clone(),
        change: kind,
        fields: HASHED_FIELDS
            .iter()
            .filter(|f| t.field(f).is_some())
            .map(|f| f.to_string())
            .collect(),
        sha256_old,
        sha256_new,
        text_diff: BTreeMap::new(),
        schema_diff: Vec::new(),
        definition: Some(t.definition.clone()),
    }
}

fn changed(o: &Tool, n: &Tool) -> ToolChange {
    let mut fields = Vec::new();
    let mut text_diff = BTreeMap::new();
    let mut schema_diff = Vec::new();
    for f in HASHED_FIELDS {
        let (a, b) = (o.field(f), n.field(f));
        if a.map(canonicalize) == b.map(canonicalize) {
            continue;
        }
        fields.push(f.to_string());
        match (a, b) {
            (Some(Value::String(x)), Some(Value::String(y))) => {
                text_diff.insert(f.to_string(), line_diff(x, y));
            }
            _ => value_diff(a, b, &format!("/{}", escape_pointer(f)), &mut schema_diff),
        }
    }
    ToolChange {
        tool: o.key.clone(),
        change: ChangeKind::Changed,
        fields,
        sha256_old: Some(o.sha256.clone()),
        sha256_new: Some(n.sha256.clone()),
        text_diff,
        schema_diff,
        definition: None,
    }
}

/// RFC 6901 escaping of one reference token.
pub fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Differences between two values by JSON pointer: objects key by key, arrays index by index,
/// anything else as one changed value.
pub fn value_diff(
    old: Option<&Value>,
    new: Option<&Value>,
    pointer: &str,
    out: &mut Vec<PointerDiff>,
) {
    match (old, new) {
        (None, None) => {}
        (Some(o), None) => out.push(PointerDiff {
            pointer: pointer.to_string(),
            op: ChangeKind::Removed,
            old: Some(o.clone()),
            new: None,
        }),
        (None, Some(n)) => out.push(PointerDiff {
            pointer: pointer.to_string(),
            op: ChangeKind::Added,
            old: None,
            new: Some(n.clone()),
        }),
        (Some(o), Some(n)) => {
            if canonicalize(o) == canonicalize(n) {
                return;
            }
            match (o, n) {
                (Value::Object(a), Value::Object(b)) => {
                    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                    keys.sort_unstable();
                    keys.dedup();
                    for k in keys {
                        let p = format!("{pointer}/{}", escape_pointer(k));
                        value_diff(a.get(k), b.get(k), &p, out);
                    }
                }
                (Value::Array(a), Value::Array(b)) => {
                    for i in 0..a.len().max(b.len()) {
                        value_diff(a.get(i), b.get(i), &format!("{pointer}/{i}"), out);
                    }
                }
                _ => out.push(PointerDiff {
                    pointer: pointer.to_string(),
                    op: ChangeKind::Changed,
                    old: Some(o.clone()),
                    new: Some(n.clone()),
                }),
            }
        }
    }
}

/// Most lines × lines cells the LCS table may use; beyond it the diff is all removed, then
/// all added (still correct, just less precise).
const MAX_DIFF_CELLS: usize = 4_000_000;

/// A line diff: `"  "` kept, `"- "` only in `old`, `"+ "` only in `new`.
pub fn line_diff(old: &str, new: &str) -> Vec<String> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out: Vec<String> = a[..prefix].iter().map(|l| format!("  {l}")).collect();
    if (ma.len() + 1) * (mb.len() + 1) > MAX_DIFF_CELLS {
        out.extend(ma.iter().map(|l| format!("- {l}")));
        out.extend(mb.iter().map(|l| format!("+ {l}")));
    } else {
        // lcs[i][j]: longest common subsequence of ma[i..] and mb[j..].
        let w = mb.len() + 1;
        let mut lcs = vec![0u32; (ma.len() + 1) * w];
        for i in (0..ma.len()).rev() {
            for j in (0..mb.len()).rev() {
                lcs[i * w + j] = if ma[i] == mb[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < ma.len() || j < mb.len() {
            if i < ma.len() && j < mb.len() && ma[i] == mb[j] {
                out.push(format!("  {}", ma[i]));
                i += 1;
                j += 1;
            } else if j == mb.len() || (i < ma.len() && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])
            {
                out.push(format!("- {}", ma[i]));
                i += 1;
            } else {
                out.push(format!("+ {}", mb[j]));
                j += 1;
            }
        }
    }
    out.extend(a[a.len() - suffix..].iter().map(|l| format!("  {l}")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn line_diff_keeps_common_lines() {
        assert_eq!(
            line_diff("a\nb\nc\nd", "a\nx\nc\nd\ne"),
            ["  a", "- b", "+ x", "  c", "  d", "+ e"]
        );
        assert_eq!(line_diff("same", "same"), ["  same"]);
        assert_eq!(line_diff("", "new"), ["+ new"]);
    }

    #[test]
    fn pointer_diff_ignores_key_order_and_number_spelling() {
        let mut out = Vec::new();
        let a = json!({"type":"object","properties":{"n":{"type":"number","default":1},"a/b":{"enum":["x","y"]}}});
        let b = json!({"properties":{"a/b":{"enum":["x"]},"n":{"default":1.0,"type":"number"}},"type":"object","required":["n"]});
        value_diff(Some(&a), Some(&b), "/inputSchema", &mut out);
        let got: Vec<(String, ChangeKind)> =
            out.iter().map(|d| (d.pointer.clone(), d.op)).collect();
        assert_eq!(
            got,
            [
                (
                    "/inputSchema/properties/a~1b/enum/1".to_string(),
                    ChangeKind::Removed
                ),
                ("/inputSchema/required".to_string(), ChangeKind::Added),
            ]
        );
    }
}
