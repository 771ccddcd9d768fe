//! The MCP reference memory server's knowledge graph (`@modelcontextprotocol/server-memory`):
//! JSON Lines of entities (with observations) and relations, no trailing newline.
//!
//! Entries: an entity (`entity:NAME`), each of its observations
//! (`observation:NAME/<first 8 hex of the observation's sha256>`, since observations have no
//! ids and are unique within their entity), and each relation (`relation:FROM->TO:TYPE`).
//! The server silently drops unknown keys and fails every call on one malformed line, so a
//! rewrite keeps untouched lines byte for byte and writes only valid lines.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::{
    content_hash, Entry, Field, RemovedEntry, StoreContents, StoreError, StoreFormat, StoreKind,
};
use crate::document::{Limits, SourceSpan};
use crate::error::ExtractError;

pub struct McpMemory;

/// Recognises the graph by its first line: `{"type":"entity"|"relation", ...}`.
pub fn detect(path: &Path, head: &[u8]) -> Option<StoreKind> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(ext, "jsonl" | "json") {
        return None;
    }
    let text = std::str::from_utf8(&head[..head.len().min(4096)])
        .ok()
        .or_else(|| {
            // The head may cut a character in two.
            let cut = head.len().min(4096);
            (1..4).find_map(|k| std::str::from_utf8(&head[..cut.saturating_sub(k)]).ok())
        })?;
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    let v: Value = serde_json::from_str(first).ok()?;
    match v.get("type")?.as_str()? {
        "entity" if v.get("name").is_some_and(Value::is_string) => Some(StoreKind::McpMemory),
        "relation" if v.get("from").is_some_and(Value::is_string) => Some(StoreKind::McpMemory),
        _ => None,
    }
}

/// One line of the graph.
#[derive(Debug, Clone)]
enum Line {
    Entity {
        name: String,
        entity_type: String,
        observations: Vec<String>,
        /// Other keys, kept in case a future server version reads them.
        extra: Map<String, Value>,
        raw: String,
    },
    Relation {
        from: String,
        to: String,
        relation_type: String,
        raw: String,
    },
    /// Blank lines and lines the server ignores; kept as they are.
    Other { raw: String },
}

impl Line {
    fn raw(&self) -> &str {
        match self {
            Line::Entity { raw, .. } | Line::Relation { raw, .. } | Line::Other { raw } => raw,
        }
    }
}

fn observation_id(entity: &str, obs: &str) -> String {
    format!("observation:{entity}/{}", &content_hash([obs])[..8])
}

fn relation_id(from: &str, to: &str, rel: &str) -> String {
    format!("relation:{from}->{to}:{rel}")
}

fn str_field(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

/// Parses the file; a line that is not valid JSON is an error for a purge (the server itself
/// fails on it) and a warning for a scan.
fn parse(text: &str) -> (Vec<Line>, Vec<String>) {
    let mut lines = Vec::new();
    let mut warnings = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw).to_string();
        if raw.trim().is_empty() {
            lines.push(Line::Other { raw });
            continue;
        }
        let v: Value = match serde_json::from_str(&raw) {
            Ok(v) => v,
            Err(e) => {
                warnings.push(format!(
                    "line {}: not JSON ({e}); the memory server would fail on it",
                    i + 1
                ));
                lines.push(Line::Other { raw });
                continue;
            }
        };
        let line = match v.get("type").and_then(Value::as_str) {
            Some("entity") => match (str_field(&v, "name"), v.get("observations")) {
                (Some(name), obs) => {
                    let observations = obs
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|o| o.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    let mut extra = v.as_object().cloned().unwrap_or_default();
                    for k in ["type", "name", "entityType", "observations"] {
                        extra.remove(k);
                    }
                    Line::Entity {
                        entity_type: str_field(&v, "entityType").unwrap_or_default(),
                        name,
                        observations,
                        extra,
                        raw,
                    }
                }
                (None, _) => Line::Other { raw },
            },
            Some("relation") => match (str_field(&v, "from"), str_field(&v, "to")) {
                (Some(from), Some(to)) => Line::Relation {
                    relation_type: str_field(&v, "relationType").unwrap_or_default(),
                    from,
                    to,
                    raw,
                },
                _ => Line::Other { raw },
            },
            _ => {
                warnings.push(format!("line {}: neither an entity nor a relation; the server drops it on its next write", i + 1));
                Line::Other { raw }
            }
        };
        lines.push(line);
    }
    (lines, warnings)
}

/// An entity line in the server's own key order.
fn entity_line(
    name: &str,
    entity_type: &str,
    observations: &[String],
    extra: &Map<String, Value>,
) -> String {
    let mut s = format!(
        "{{\"type\":\"entity\",\"name\":{},\"entityType\":{},\"observations\":{}",
        json!(name),
        json!(entity_type),
        json!(observations)
    );
    for (k, v) in extra {
        s.push_str(&format!(",{}:{}", json!(k), v));
    }
    s.push('}');
    s
}

/// Joined as the server writes: `lines.join("\n")`, blank lines dropped.
fn render(lines: &[Line]) -> String {
    lines
        .iter()
        .map(Line::raw)
        .filter(|r| !r.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn read_text(path: &Path, limits: &Limits) -> Result<String, ExtractError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| ExtractError::malformed("mcp memory", e.to_string()))?;
    if meta.len() > limits.max_decompressed {
        return Err(ExtractError::Limit(format!(
            "{} bytes is more than the {} byte limit",
            meta.len(),
            limits.max_decompressed
        )));
    }
    let bytes =
        std::fs::read(path).map_err(|e| ExtractError::malformed("mcp memory", e.to_string()))?;
    String::from_utf8(bytes)
        .map_err(|e| ExtractError::malformed("mcp memory", format!("not UTF-8: {e}")))
}

impl StoreFormat for McpMemory {
    fn kind(&self) -> StoreKind {
        StoreKind::McpMemory
    }

    fn read(&self, path: &Path, limits: &Limits) -> Result<StoreContents, ExtractError> {
        let text = read_text(path, limits)?;
        let (lines, warnings) = parse(&text);
        // Exact places of every string (line, column, bytes), from the JSON Lines reader.
        let spans: std::collections::HashMap<(u32, String), SourceSpan> =
            crate::extract::json::extract_jsonl(&text, limits)
                .segments
                .into_iter()
                .filter_map(|s| Some(((s.span.line?, s.location.json_pointer?), s.span)))
                .collect();
        let mut entries = Vec::new();
        for (n, line) in lines.iter().enumerate() {
            let line_no = n as u32 + 1;
            let at = |name: &str, text: &str, pointer: String| Field {
                name: name.into(),
                text: text.into(),
                span: spans
                    .get(&(line_no, pointer.clone()))
                    .cloned()
                    .unwrap_or_else(|| SourceSpan {
                        line: Some(line_no),
                        ..Default::default()
                    }),
                json_pointer: Some(pointer),
            };
            match line {
                Line::Entity {
                    name,
                    entity_type,
                    observations,
                    ..
                } => {
                    entries.push(Entry {
                        id: format!("entity:{name}"),
                        fields: vec![
                            at("name", name, "/name".into()),
                            at("entityType", entity_type, "/entityType".into()),
                        ],
                        sha256: content_hash([name.as_str(), entity_type.as_str()]),
                    });
                    for (i, obs) in observations.iter().enumerate() {
                        entries.push(Entry {
                            id: observation_id(name, obs),
                            fields: vec![at("observation", obs, format!("/observations/{i}"))],
                            sha256: content_hash([obs.as_str()]),
                        });
                    }
                }
                Line::Relation {
                    from,
                    to,
                    relation_type,
                    ..
                } => entries.push(Entry {
                    id: relation_id(from, to, relation_type),
                    fields: vec![at("relationType", relation_type, "/relationType".into())],
                    sha256: content_hash([from.as_str(), to.as_str(), relation_type.as_str()]),
                }),
                Line::Other { .. } => {}
            }
        }
        Ok(StoreContents { entries, warnings })
    }

    fn in_use(&self, path: &Path) -> Option<String> {
        running_server_for(path)
    }

    fn plan_removal(
        &self,
        path: &Path,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<RemovedEntry>, StoreError> {
        let text = read_text(path, &Limits::default())?;
        let (lines, warnings) = parse(&text);
        if let Some(w) = warnings.iter().find(|w| w.contains("not JSON")) {
            return Err(StoreError::Invalid(format!(
                "{w}: the store is already unloadable; fix that line first"
            )));
        }
        let mut out = Vec::new();
        let mut found = BTreeSet::new();
        for (n, line) in lines.iter().enumerate() {
            match line {
                Line::Entity {
                    name,
                    entity_type,
                    observations,
                    raw,
                    ..
                } => {
                    let id = format!("entity:{name}");
                    if ids.contains(&id) {
                        // As the server's delete_entities: relations touching it go too.
                        let relations: Vec<Value> = lines
                            .iter()
                            .enumerate()
                            .filter_map(|(m, l)| match l {
                                Line::Relation { from, to, raw, .. }
                                    if from == name || to == name =>
                                {
                                    Some(json!({"line": m, "raw": raw}))
                                }
                                _ => None,
                            })
                            .collect();
                        out.push(RemovedEntry {
                            entry_id: id.clone(),
                            sha256: content_hash([name.as_str(), entity_type.as_str()]),
                            content: json!({"raw": raw, "relations": relations}),
                            position: json!({"line": n}),
                        });
                        found.insert(id);
                        continue;
                    }
                    for (i, obs) in observations.iter().enumerate() {
                        let oid = observation_id(name, obs);
                        if ids.contains(&oid) {
                            out.push(RemovedEntry {
                                entry_id: oid.clone(),
                                sha256: content_hash([obs.as_str()]),
                                content: json!({"entity": name, "observation": obs}),
                                position: json!({"line": n, "index": i}),
                            });
                            found.insert(oid);
                        }
                    }
                }
                Line::Relation {
                    from,
                    to,
                    relation_type,
                    raw,
                } => {
                    let id = relation_id(from, to, relation_type);
                    if ids.contains(&id) {
                        out.push(RemovedEntry {
                            entry_id: id.clone(),
                            sha256: content_hash([
                                from.as_str(),
                                to.as_str(),
                                relation_type.as_str(),
                            ]),
                            content: json!({"raw": raw}),
                            position: json!({"line": n}),
                        });
                        found.insert(id);
                    }
                }
                Line::Other { .. } => {}
            }
        }
        if let Some(missing) = ids.iter().find(|i| !found.contains(*i)) {
            return Err(StoreError::Invalid(format!(
                "no entry '{missing}' in this store"
            )));
        }
        Ok(out)
    }

    fn apply_removal(&self, path: &Path, removed: &[RemovedEntry]) -> Result<(), StoreError> {
        let text = read_text(path, &Limits::default())?;
        let (mut lines, _) = parse(&text);
        let mut drop_raw: BTreeSet<String> = BTreeSet::new();
        let mut drop_obs: BTreeSet<(String, String)> = BTreeSet::new();
        for r in removed {
            if let Some(obs) = r.content.get("observation").and_then(Value::as_str) {
                let ent = r
                    .content
                    .get("entity")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                drop_obs.insert((ent.to_string(), obs.to_string()));
            } else if let Some(raw) = r.content.get("raw").and_then(Value::as_str) {
                drop_raw.insert(raw.to_string());
                for rel in r
                    .content
                    .get("relations")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(raw) = rel.get("raw").and_then(Value::as_str) {
                        drop_raw.insert(raw.to_string());
                    }
                }
            }
        }
        let mut matched_obs = 0;
        let all_lines_present = {
            let present: BTreeSet<&str> = lines.iter().map(Line::raw).collect();
            drop_raw.iter().all(|r| present.contains(r.as_str()))
        };
        lines.retain(|l| !drop_raw.contains(l.raw()));
        for line in &mut lines {
            if let Line::Entity {
                name,
                entity_type,
                observations,
                extra,
                raw,
            } = line
            {
                let n = observations.len();
                observations.retain(|o| !drop_obs.contains(&(name.clone(), o.clone())));
                if observations.len() != n {
                    matched_obs += n - observations.len();
                    *raw = entity_line(name, entity_type, observations, extra);
                }
            }
        }
        if matched_obs != drop_obs.len() || !all_lines_present {
            return Err(StoreError::Invalid(
                "the store changed since the purge was planned; nothing was written".into(),
            ));
        }
        crate::atomic::write_file(path, render(&lines).as_bytes())?;
        Ok(())
    }

    fn reinsert(&self, path: &Path, removed: &[RemovedEntry]) -> Result<(), StoreError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e.into()),
        };
        let (mut lines, _) = parse(&text);
        lines.retain(|l| !l.raw().trim().is_empty());
        let present: BTreeSet<String> = lines.iter().map(|l| l.raw().to_string()).collect();
        // Whole lines first (entities with their relations, then lone relations), in their
        // original order, so observations find their entity.
        let mut whole: Vec<(u64, String)> = Vec::new();
        for r in removed {
            if r.content.get("observation").is_some() {
                continue;
            }
            if let Some(raw) = r.content.get("raw").and_then(Value::as_str) {
                whole.push((line_no(&r.position), raw.to_string()));
            }
            for rel in r
                .content
                .get("relations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(raw), Some(n)) = (
                    rel.get("raw").and_then(Value::as_str),
                    rel.get("line").and_then(Value::as_u64),
                ) {
                    whole.push((n, raw.to_string()));
                }
            }
        }
        whole.sort();
        whole.dedup();
        for (n, raw) in whole {
            if present.contains(&raw) {
                continue;
            }
            let (parsed, _) = parse(&raw);
            let at = (n as usize).min(lines.len());
            lines.insert(at, parsed.into_iter().next().unwrap_or(Line::Other { raw }));
        }
        for r in removed {
            let (Some(ent), Some(obs)) = (
                r.content.get("entity").and_then(Value::as_str),
                r.content.get("observation").and_then(Value::as_str),
            ) else {
                continue;
            };
            let index = r
                .position
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(u64::MAX) as usize;
            let target = lines.iter_mut().find_map(|l| match l {
                Line::Entity {
                    name,
                    entity_type,
                    observations,
                    extra,
                    raw,
                } if name == ent => Some((name, entity_type, observations, extra, raw)),
                _ => None,
            });
            match target {
                Some((name, entity_type, observations, extra, raw)) => {
                    if !observations.iter().any(|o| o == obs) {
                        observations.insert(index.min(observations.len()), obs.to_string());
                        *raw = entity_line(name, entity_type, observations, extra);
                    }
                }
                None => {
                    return Err(StoreError::Invalid(format!(
                        "entity '{ent}' is no longer in the store; cannot put observation back"
                    )))
                }
            }
        }
        crate::atomic::write_file(path, render(&lines).as_bytes())?;
        Ok(())
    }
}

fn line_no(pos: &Value) -> u64 {
    pos.get("line").and_then(Value::as_u64).unwrap_or(u64::MAX)
}

/// A running memory server whose MEMORY_FILE_PATH (or default location) is this file, from
/// /proc. The server keeps no lock and no open file, so this is the only evidence there is.
fn running_server_for(path: &Path) -> Option<String> {
    let target = std::fs::canonicalize(path).ok()?;
    let procs = std::fs::read_dir("/proc").ok()?;
    for p in procs.flatten() {
        let pid = p.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == std::process::id().to_string() {
            continue;
        }
        let Ok(cmdline) = std::fs::read(p.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let Some(script) = args.iter().find(|a| a.contains("server-memory")) else {
            continue;
        };
        let env = std::fs::read(p.path().join("environ")).unwrap_or_default();
        let file_var = env
            .split(|&b| b == 0)
            .find_map(|kv| kv.strip_prefix(b"MEMORY_FILE_PATH="))
            .map(|v| PathBuf::from(String::from_utf8_lossy(v).into_owned()));
        let cwd = std::fs::read_link(p.path().join("cwd")).unwrap_or_default();
        let dist = Path::new(script)
            .parent()
            .map(|d| cwd.join(d))
            .unwrap_or_default();
        let file = match file_var {
            Some(f) if f.is_absolute() => f,
            Some(f) => dist.join(f),
            None => dist.join("memory.jsonl"),
        };
        if std::fs::canonicalize(&file).ok().as_deref() == Some(target.as_path()) {
            return Some(format!(
                "process {pid} ({}) is a memory server using this file; stop it first",
                args.join(" ").trim()
            ));
        }
    }
    None
}
