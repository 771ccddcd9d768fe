//! Manifest files: which of the accepted shapes a file is, and the tools in it.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{baseline, Manifest, ManifestError, Origin, Shape};

/// Parses a manifest file's bytes: a JSON-RPC `tools/list` response, a `{"tools": [...]}`
/// result, a bare tools array, or a baseline. `label` names the file in errors.
pub fn from_bytes(label: &str, bytes: &[u8]) -> Result<Manifest, ManifestError> {
    let invalid = |reason: String| ManifestError::Invalid {
        path: label.to_string(),
        reason,
    };
    let raw_sha256 = hex::encode(Sha256::digest(bytes));
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value =
        serde_json::from_slice(text).map_err(|e| invalid(format!("not valid JSON: {e}")))?;
    let origin = |shape| Origin::File {
        path: label.to_string(),
        raw_sha256: raw_sha256.clone(),
        shape,
    };

    let (shape, result) = match &value {
        Value::Array(tools) => {
            return Manifest::new(origin(Shape::ToolsArray), None, tools.clone(), label);
        }
        Value::Object(obj) => {
            if let Some(format) = obj.get("format").and_then(Value::as_str) {
                if format.starts_with(baseline::FORMAT_PREFIX) {
                    return baseline::manifest_from_value(label, &value, origin(Shape::Baseline));
                }
            }
            if obj.contains_key("jsonrpc") || (obj.contains_key("id") && !obj.contains_key("tools"))
            {
                if let Some(err) = obj.get("error") {
                    let e = crate::mcp::jsonrpc::parse_error(err).map_err(invalid)?;
                    return Err(invalid(format!(
                        "the file holds a JSON-RPC error response, not a tools list: {} {}",
                        e.code, e.message
                    )));
                }
                let result = obj
                    .get("result")
                    .ok_or_else(|| invalid("JSON-RPC message without a \"result\"".into()))?;
                (Shape::JsonRpcResponse, result)
            } else {
                (Shape::ToolsResult, &value)
            }
        }
        other => {
            return Err(invalid(format!(
                "a JSON {} is not a tool manifest",
                crate::mcp::jsonrpc::kind(other)
            )))
        }
    };

    let tools = result.get("tools").and_then(Value::as_array).ok_or_else(|| {
        let keys: Vec<&str> = result
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        invalid(format!(
            "no \"tools\" array (expected a tools/list response, a {{\"tools\": [...]}} result, a tools array or an mcpsweep baseline; top-level keys: {})",
            if keys.is_empty() { "none".to_string() } else { keys.join(", ") }
        ))
    })?;
    let mut m = Manifest::new(origin(shape), None, tools.clone(), label)?;
    if let Some(cursor) = result.get("nextCursor").filter(|c| !c.is_null()) {
        m.warnings.push(format!(
            "the file holds one page of a paginated tools/list (nextCursor {cursor}); tools on other pages are missing"
        ));
    }
    Ok(m)
}
