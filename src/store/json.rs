//! Generic JSON and JSON Lines memory exports: entries are the elements of an array (or the
//! lines of a JSON Lines file), their id and text chosen by JSON pointer, with defaults that
//! fit the common exports (`id`/`memory_id`/`uuid`/`key`, every string in the record).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{json, Value};

use super::{
    content_hash, Entry, Field, RemovedEntry, StoreContents, StoreError, StoreFormat, StoreKind,
    StoreOptions,
};
use crate::document::{Limits, SourceSpan};
use crate::error::ExtractError;

/// Arrays looked for under these keys when the file is an object and no pointer is given.
const ARRAY_KEYS: &[&str] = &[
    "memories",
    "entries",
    "items",
    "results",
    "records",
    "data",
    "messages",
    "observations",
];
const ID_KEYS: &[&str] = &["/id", "/memory_id", "/uuid", "/key", "/_id", "/name"];

pub struct JsonStore {
    opts: StoreOptions,
}

impl JsonStore {
    pub fn new(opts: StoreOptions) -> JsonStore {
        JsonStore { opts }
    }
}

/// The file as records: each with its id, text fields and position.
struct Records {
    /// JSON Lines (`None`) or the pointer of the array in a JSON document.
    array: Option<String>,
    doc: Option<Value>,
    /// (line or index, record, raw line for JSON Lines)
    items: Vec<(usize, Value, Option<String>)>,
    pretty: bool,
    trailing_newline: bool,
    warnings: Vec<String>,
}

fn load(path: &Path, limits: &Limits, entries_ptr: Option<&str>) -> Result<Records, ExtractError> {
    let bytes = std::fs::read(path).map_err(|e| ExtractError::malformed("json", e.to_string()))?;
    if bytes.len() as u64 > limits.max_decompressed {
        return Err(ExtractError::Limit(format!(
            "{} bytes is more than the store limit",
            bytes.len()
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| ExtractError::malformed("json", format!("not UTF-8: {e}")))?;
    let trailing_newline = text.ends_with('\n');
    match serde_json::from_str::<Value>(&text) {
        Ok(doc) => {
            let pointer = match entries_ptr {
                Some(p) => p.to_string(),
                None if doc.is_array() => String::new(),
                None => ARRAY_KEYS
                    .iter()
                    .map(|k| format!("/{k}"))
                    .find(|p| doc.pointer(p).is_some_and(Value::is_array))
                    .ok_or_else(|| {
                        ExtractError::malformed(
                            "json",
                            "no array of entries found (give its JSON pointer with --json-entries)",
                        )
                    })?,
            };
            let arr = doc
                .pointer(&pointer)
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    ExtractError::malformed("json", format!("'{pointer}' is not an array"))
                })?;
            let items = arr
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, v)| (i, v, None))
                .collect();
            Ok(Records {
                array: Some(pointer),
                pretty: text.trim().contains('\n'),
                doc: Some(doc),
                items,
                trailing_newline,
                warnings: Vec::new(),
            })
        }
        Err(_) => {
            // JSON Lines: one record per non-blank line.
            let mut items = Vec::new();
            let mut warnings = Vec::new();
            for (n, line) in text.split('\n').enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(v) => items.push((n, v, Some(line.to_string()))),
                    Err(e) => warnings.push(format!("line {}: not JSON: {e}", n + 1)),
                }
            }
            if items.is_empty() {
                return Err(ExtractError::malformed(
                    "json",
                    "neither a JSON document nor JSON Lines",
                ));
            }
            Ok(Records {
                array: None,
                doc: None,
                items,
                pretty: false,
                trailing_newline,
                warnings,
            })
        }
    }
}

impl JsonStore {
    fn entry_id(&self, records: &Records, pos: usize, v: &Value) -> String {
        let by_ptr = |p: &str| match v.pointer(p) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let id = match &self.opts.json_id {
            Some(p) => by_ptr(p),
            None => ID_KEYS.iter().find_map(|p| by_ptr(p)),
        };
        match (id, &records.array) {
            (Some(id), _) => id,
            (None, Some(_)) => format!("#{pos}"),
            (None, None) => format!("line {}", pos + 1),
        }
    }

    fn fields(&self, v: &Value, line: Option<u32>) -> Vec<Field> {
        let mut out = Vec::new();
        if self.opts.json_text.is_empty() {
            collect_strings(v, &mut String::new(), &mut out, line);
        } else {
            for p in &self.opts.json_text {
                if let Some(t) = v.pointer(p) {
                    let mut prefix = p.clone();
                    collect_strings(t, &mut prefix, &mut out, line);
                }
            }
        }
        out
    }
}

fn collect_strings(v: &Value, pointer: &mut String, out: &mut Vec<Field>, line: Option<u32>) {
    match v {
        Value::String(s) => out.push(Field {
            name: pointer.trim_start_matches('/').to_string(),
            text: s.clone(),
            span: SourceSpan {
                line,
                ..Default::default()
            },
            json_pointer: Some(pointer.clone()),
        }),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                collect_strings(x, pointer, out, line);
                pointer.truncate(len);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                collect_strings(x, pointer, out, line);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

fn record_hash(v: &Value) -> String {
    content_hash([v.to_string().as_str()])
}

fn save(path: &Path, r: &Records) -> Result<(), StoreError> {
    let mut text = match (&r.array, &r.doc) {
        (Some(_), Some(doc)) if r.pretty => serde_json::to_string_pretty(doc),
        (Some(_), Some(doc)) => serde_json::to_string(doc),
        _ => Ok(r
            .items
            .iter()
            .filter_map(|(_, _, raw)| raw.clone())
            .collect::<Vec<_>>()
            .join("\n")),
    }
    .map_err(|e| StoreError::Invalid(e.to_string()))?;
    if r.trailing_newline && !text.is_empty() {
        text.push('\n');
    }
    crate::atomic::write_file(path, text.as_bytes())?;
    Ok(())
}

fn set_array(r: &mut Records) -> Result<(), StoreError> {
    if let (Some(ptr), Some(doc)) = (&r.array, r.doc.as_mut()) {
        let arr = doc
            .pointer_mut(ptr)
            .and_then(Value::as_array_mut)
            .ok_or_else(|| StoreError::Invalid(format!("'{ptr}' is not an array")))?;
        *arr = r.items.iter().map(|(_, v, _)| v.clone()).collect();
    }
    Ok(())
}

impl StoreFormat for JsonStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Json
    }

    fn read(&self, path: &Path, limits: &Limits) -> Result<StoreContents, ExtractError> {
        let r = load(path, limits, self.opts.json_entries.as_deref())?;
        let entries = r
            .items
            .iter()
            .map(|(pos, v, raw)| Entry {
                id: self.entry_id(&r, *pos, v),
                fields: self.fields(v, raw.as_ref().map(|_| *pos as u32 + 1)),
                sha256: record_hash(v),
            })
            .collect();
        Ok(StoreContents {
            entries,
            warnings: r.warnings,
        })
    }

    fn in_use(&self, _path: &Path) -> Option<String> {
        None
    }

    fn plan_removal(
        &self,
        path: &Path,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<RemovedEntry>, StoreError> {
        let r = load(path, &Limits::default(), self.opts.json_entries.as_deref())?;
        let mut out = Vec::new();
        for (ordinal, (pos, v, raw)) in r.items.iter().enumerate() {
            let id = self.entry_id(&r, *pos, v);
            if ids.contains(&id) {
                out.push(RemovedEntry {
                    entry_id: id,
                    sha256: record_hash(v),
                    content: json!({"record": v, "raw": raw}),
                    // The record's place among the records (line numbers shift).
                    position: json!({"array": r.array, "index": ordinal}),
                });
            }
        }
        if let Some(missing) = ids.iter().find(|i| !out.iter().any(|r| &r.entry_id == *i)) {
            return Err(StoreError::Invalid(format!(
                "no entry '{missing}' in this store"
            )));
        }
        Ok(out)
    }

    fn apply_removal(&self, path: &Path, removed: &[RemovedEntry]) -> Result<(), StoreError> {
        let mut r = load(path, &Limits::default(), self.opts.json_entries.as_deref())?;
        for rem in removed {
            let record = rem.content.get("record").cloned().unwrap_or(Value::Null);
            let at = r
                .items
                .iter()
                .position(|(_, v, _)| *v == record)
                .ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "entry {} changed since the purge was planned; nothing was written",
                        rem.entry_id
                    ))
                })?;
            r.items.remove(at);
        }
        set_array(&mut r)?;
        save(path, &r)
    }

    fn reinsert(&self, path: &Path, removed: &[RemovedEntry]) -> Result<(), StoreError> {
        let array = removed
            .first()
            .and_then(|r| r.position.get("array"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut r = load(
            path,
            &Limits::default(),
            array.as_deref().or(self.opts.json_entries.as_deref()),
        )?;
        let mut sorted: Vec<&RemovedEntry> = removed.iter().collect();
        let index = |x: &RemovedEntry| {
            x.position
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(u64::MAX) as usize
        };
        sorted.sort_by_key(|x| index(x));
        // In ascending original order, each at its original place among the records.
        for rem in sorted {
            let record = rem.content.get("record").cloned().unwrap_or(Value::Null);
            let raw = rem
                .content
                .get("raw")
                .and_then(Value::as_str)
                .map(str::to_string);
            let at = index(rem).min(r.items.len());
            r.items.insert(at, (at, record, raw));
        }
        set_array(&mut r)?;
        save(path, &r)
    }
}
