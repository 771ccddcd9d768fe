//! The baseline file `manifest pin` writes: every tool definition as received with its hash,
//! the server's self-description and instructions, and the manifest hash.
//!
//! Versioned by its `format` field; a reader refuses versions it does not know. The stored
//! definitions are what `check` compares; the recorded hashes are re-computed on reading,
//! and any that no longer match (the file was edited after pinning) are reported.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Manifest, ManifestError, Origin, Pinned, HASHED_FIELDS};
use crate::mcp::ServerInfo;

/// The `format` value of the baseline files this version reads and writes.
pub const BASELINE_FORMAT: &str = "mcpsweep-manifest-baseline/1";
pub(crate) const FORMAT_PREFIX: &str = "mcpsweep-manifest-baseline/";

/// A baseline file, field for field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Always [`BASELINE_FORMAT`].
    pub format: String,
    /// RFC 3339 UTC time of the pin.
    pub created: String,
    /// The program that wrote it, e.g. `mcpsweep 0.1.0`.
    pub generator: String,
    /// How hashes are computed: `RFC 8785 JCS, sha256`.
    pub canonicalization: String,
    /// The tool fields each tool hash covers.
    pub hashed_fields: Vec<String>,
    /// What was pinned: a file (path, its sha256, its shape) or a server command.
    pub source: Origin,
    /// The server's `initialize` answer (name, version, protocol version, instructions,
    /// capabilities); `null` when the source was a file without it.
    pub server: Option<ServerInfo>,
    pub manifest_sha256: String,
    pub instructions_sha256: Option<String>,
    /// In the order the server listed them.
    pub tools: Vec<BaselineTool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineTool {
    pub name: String,
    pub sha256: String,
    /// The tool object as received, all fields.
    pub definition: Value,
}

impl Baseline {
    /// A baseline of `manifest`, pinned at `created` (RFC 3339).
    pub fn from_manifest(manifest: &Manifest, created: String) -> Baseline {
        Baseline {
            format: BASELINE_FORMAT.to_string(),
            created,
            generator: format!("mcpsweep {}", env!("CARGO_PKG_VERSION")),
            canonicalization: "RFC 8785 JCS, sha256".to_string(),
            hashed_fields: HASHED_FIELDS.iter().map(|s| s.to_string()).collect(),
            source: manifest.origin.clone(),
            server: manifest.server.clone(),
            manifest_sha256: manifest.manifest_sha256(),
            instructions_sha256: manifest.instructions_sha256(),
            tools: manifest
                .tools
                .iter()
                .map(|t| BaselineTool {
                    name: t.name.clone(),
                    sha256: t.sha256.clone(),
                    definition: t.definition.clone(),
                })
                .collect(),
        }
    }

    /// Pretty-printed JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// Reads a parsed baseline into a manifest, checking its recorded hashes.
pub(crate) fn manifest_from_value(
    label: &str,
    value: &Value,
    origin: Origin,
) -> Result<Manifest, ManifestError> {
    let invalid = |reason: String| ManifestError::Invalid {
        path: label.to_string(),
        reason,
    };
    let format = value.get("format").and_then(Value::as_str).unwrap_or("");
    if format != BASELINE_FORMAT {
        return Err(invalid(format!(
            "baseline format {format:?} is not supported (this mcpsweep reads {BASELINE_FORMAT:?})"
        )));
    }
    let b: Baseline = serde_json::from_value(value.clone())
        .map_err(|e| invalid(format!("malformed baseline: {e}")))?;
    for (i, t) in b.tools.iter().enumerate() {
        let name = t.definition.get("name").and_then(Value::as_str);
        if name != Some(t.name.as_str()) {
            return Err(invalid(format!(
                "baseline tool #{} is recorded as {:?} but its definition is named {:?}",
                i + 1,
                t.name,
                name.unwrap_or("")
            )));
        }
    }
    let mut m = Manifest::new(
        origin,
        b.server.clone(),
        b.tools.iter().map(|t| t.definition.clone()).collect(),
        label,
    )?;
    for (t, rec) in m.tools.iter().zip(&b.tools) {
        if t.sha256 != rec.sha256 {
            m.integrity_mismatches.push(format!(
                "tool {:?}: recorded sha256 {} but its stored definition hashes to {}",
                t.key, rec.sha256, t.sha256
            ));
        }
    }
    let manifest_sha = m.manifest_sha256();
    if manifest_sha != b.manifest_sha256 {
        m.integrity_mismatches.push(format!(
            "manifest: recorded sha256 {} but the stored tools and instructions hash to {manifest_sha}",
            b.manifest_sha256
        ));
    }
    if m.instructions_sha256() != b.instructions_sha256 {
        m.integrity_mismatches.push(format!(
            "instructions: recorded sha256 {} but the stored instructions hash to {}",
            b.instructions_sha256.as_deref().unwrap_or("null"),
            m.instructions_sha256().as_deref().unwrap_or("null"),
        ));
    }
    m.pinned = Some(Pinned {
        created: b.created,
        source: b.source,
        manifest_sha256: b.manifest_sha256,
    });
    Ok(m)
}
