//! Chain of custody for an evidence folder: `evidence_hashes.txt` in the format
//! `sha256sum -c` reads, written and checked by the same rules as GNU coreutils.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::vault::{hash_file, VaultError};

pub const HASH_FILE: &str = "evidence_hashes.txt";

/// One line of the hash file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HashLine {
    pub sha256: String,
    /// As written in the file: relative to the evidence folder (or absolute, in files made
    /// by the guide's `sha256sum "$DIR"/*`).
    pub path: String,
}

/// Every regular file below `dir` (links not followed, the hash file itself left out),
/// hashed, sorted by path.
pub fn hash_dir(dir: &Path) -> Result<Vec<HashLine>, VaultError> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    files
        .into_iter()
        .map(|rel| {
            let full = dir.join(&rel);
            let sha256 =
                hash_file(&full).map_err(|source| VaultError::Io { path: full, source })?;
            Ok(HashLine {
                sha256,
                path: rel.to_string_lossy().into_owned(),
            })
        })
        .collect()
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), VaultError> {
    let rd = fs::read_dir(dir).map_err(|source| VaultError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in rd {
        let entry = entry.map_err(|source| VaultError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let ft = entry.file_type().map_err(|source| VaultError::Io {
            path: path.clone(),
            source,
        })?;
        if ft.is_dir() {
            collect(root, &path, out)?;
        } else if ft.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            if rel != Path::new(HASH_FILE) {
                out.push(rel);
            }
        }
    }
    Ok(())
}

/// The file's text: `<sha256>  <path>` per line; names holding a backslash, newline or
/// carriage return are escaped and the line starts with `\`, as coreutils does.
pub fn render(lines: &[HashLine]) -> String {
    let mut s = String::new();
    for l in lines {
        let needs = l.path.contains(['\\', '\n', '\r']);
        if needs {
            s.push('\\');
        }
        s.push_str(&l.sha256);
        s.push_str("  ");
        if needs {
            for c in l.path.chars() {
                match c {
                    '\\' => s.push_str("\\\\"),
                    '\n' => s.push_str("\\n"),
                    '\r' => s.push_str("\\r"),
                    c => s.push(c),
                }
            }
        } else {
            s.push_str(&l.path);
        }
        s.push('\n');
    }
    s
}

/// Parses a hash file (ours or one `sha256sum` wrote, text or binary mode).
pub fn parse(path: &Path, text: &str) -> Result<Vec<HashLine>, VaultError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let bad = || {
            VaultError::Refused(format!(
                "{}: line {}: not a sha256sum line",
                path.display(),
                i + 1
            ))
        };
        let (escaped, line) = match raw.strip_prefix('\\') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let (hash, rest) = line.split_at_checked(64).ok_or_else(bad)?;
        if !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let name = rest
            .strip_prefix("  ")
            .or_else(|| rest.strip_prefix(" *"))
            .ok_or_else(bad)?;
        let name = if escaped {
            unescape(name).ok_or_else(bad)?
        } else {
            name.to_string()
        };
        out.push(HashLine {
            sha256: hash.to_ascii_lowercase(),
            path: name,
        });
    }
    Ok(out)
}

fn unescape(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next()? {
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Writes `DIR/evidence_hashes.txt` atomically; returns what it wrote.
pub fn write(dir: &Path) -> Result<Vec<HashLine>, VaultError> {
    let lines = hash_dir(dir)?;
    crate::atomic::write_file(&dir.join(HASH_FILE), render(&lines).as_bytes()).map_err(
        |source| VaultError::Io {
            path: dir.join(HASH_FILE),
            source,
        },
    )?;
    Ok(lines)
}

/// What `evidence verify` found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct EvidenceCheck {
    pub ok: Vec<String>,
    /// Listed files whose content changed: path → (listed, found).
    pub mismatched: BTreeMap<String, (String, String)>,
    /// Listed files that are gone.
    pub missing: Vec<String>,
    /// Files in the folder the hash file does not list.
    pub unlisted: Vec<String>,
}

impl EvidenceCheck {
    pub fn is_clean(&self) -> bool {
        self.mismatched.is_empty() && self.missing.is_empty() && self.unlisted.is_empty()
    }
}

/// Checks `DIR/evidence_hashes.txt` against the folder. Relative names are read from `dir`
/// (where `sha256sum -c` would be run); absolute ones as they are.
pub fn verify(dir: &Path) -> Result<EvidenceCheck, VaultError> {
    let list_path = dir.join(HASH_FILE);
    let text = fs::read_to_string(&list_path).map_err(|source| VaultError::Io {
        path: list_path.clone(),
        source,
    })?;
    let listed = parse(&list_path, &text)?;
    let mut check = EvidenceCheck::default();
    let mut seen = std::collections::BTreeSet::new();
    let abs_dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    for l in &listed {
        let p = Path::new(&l.path);
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            dir.join(p)
        };
        if let Ok(rel) = full
            .strip_prefix(dir)
            .or_else(|_| full.strip_prefix(&abs_dir))
        {
            seen.insert(rel.to_path_buf());
        }
        match hash_file(&full) {
            Ok(h) if h == l.sha256 => check.ok.push(l.path.clone()),
            Ok(h) => {
                check
                    .mismatched
                    .insert(l.path.clone(), (l.sha256.clone(), h));
            }
            Err(_) => check.missing.push(l.path.clone()),
        }
    }
    let mut present = Vec::new();
    collect(dir, dir, &mut present)?;
    present.sort();
    for rel in present {
        if !seen.contains(&rel) {
            check.unlisted.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(check)
}
