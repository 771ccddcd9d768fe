//! The credential-rotation list: every credential a compromised agent held or saw, where it
//! was, and how to rotate it within the guide's deadline (one hour from containment).
//!
//! Sources are MCP client configs (Claude Desktop, Cursor, VS Code, Claude Code, any
//! `mcpServers` file), `.env` files, session logs (JSON Lines), memory stores and any other
//! file the extractors read (PDF, e-mail, DOCX, HTML, JSON, text). The same secret found in
//! several places is one entry with all its locations. No secret value leaves this module:
//! entries carry a fingerprint and a redacted preview.
//!
//! ```
//! use mcpsweep::credentials::{collect_bytes, Options};
//!
//! let opts = Options::at("2026-03-02T09:03:30Z")?;
//! let env = b"SLACK_BOT_TOKEN=xoxb-120934857612-774512098341-Zq7Lm2Xc9Vb4Nn8Kk1Jj6Hh3\n";
//! let report = collect_bytes(".env", env, &opts);
//! let c = &report.credentials[0];
//! assert_eq!((c.kind.as_str(), c.service.as_str()), ("slack_bot_token", "Slack"));
//! assert_eq!(c.preview.as_deref(), Some("xoxb-…6Hh3"));
//! assert_eq!(c.deadline, "2026-03-02T10:03:30Z");
//! assert_eq!(c.locations[0].line, Some(1));
//! # Ok::<(), mcpsweep::Error>(())
//! ```

mod markdown;
mod sources;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::document::Limits;
use crate::error::{Error, Result};
use crate::scan::ErrorRecord;
use crate::secrets::{self, Kind, Secret};
use crate::source::{self, WalkOptions};

pub use markdown::to_markdown;

/// The guide: rotate all credentials the agent held within one hour of containment.
pub const ROTATION_WINDOW: chrono::Duration = chrono::Duration::hours(1);

#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads; 0 lets rayon choose (one per core).
    pub threads: usize,
    pub walk: WalkOptions,
    pub limits: Limits,
    /// Largest file read whole; larger text and JSON Lines files are read in pieces, larger
    /// others are reported and not read.
    pub max_file_size: u64,
    /// When the incident was contained: deadlines are one hour later.
    pub contained_at: DateTime<FixedOffset>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threads: 0,
            walk: WalkOptions::default(),
            limits: Limits::default(),
            max_file_size: 256 << 20,
            contained_at: now(),
        }
    }
}

impl Options {
    /// Default options with the containment time given in RFC 3339.
    pub fn at(contained_at: &str) -> Result<Self> {
        Ok(Options {
            contained_at: parse_time(contained_at)?,
            ..Options::default()
        })
    }
}

/// The current time in UTC, to the second: the default containment time.
pub fn now() -> DateTime<FixedOffset> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(0).fixed_offset()
}

/// Parses an RFC 3339 time (`2026-03-02T09:03:30Z`, `2026-03-02T10:03:30+01:00`).
pub fn parse_time(s: &str) -> Result<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s.trim()).map_err(|e| {
        Error::Usage(format!(
            "{s:?} is not an RFC 3339 time such as 2026-03-02T09:03:30Z: {e}"
        ))
    })
}

fn format_time(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// One credential to rotate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    /// The credential type (`github_personal_access_token`, `aws_secret_access_key`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    pub service: String,
    /// First 12 hex digits of the secret's sha256; None for a prompted secret whose value is
    /// not in any file.
    pub fingerprint: Option<String>,
    /// The type's fixed prefix and at most the last 4 characters (`ghp_…a1B2`).
    pub preview: Option<String>,
    pub rotation_action: String,
    /// RFC 3339: containment time plus one hour.
    pub deadline: String,
    /// A test-mode credential (Stripe `sk_test_`): listed, but it opens no production data.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
    pub locations: Vec<Location>,
}

/// Where a credential was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    pub path: String,
    /// 1-based line (within the page for PDF, paragraph for DOCX).
    pub line: Option<u32>,
    /// RFC 6901 pointer to the JSON value (within the line, for JSON Lines).
    pub json_pointer: Option<String>,
    /// The MCP server whose configuration holds the credential.
    pub mcp_server: Option<String>,
    /// What the file is: `claude_desktop_config`, `cursor_mcp_config`, `vscode_mcp_config`,
    /// `vscode_settings`, `claude_code_config`, `mcp_config`, `dotenv`, `session_log`, `file`.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// Byte offset, for binary files (memory-store databases) read as printable runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_offset: Option<u64>,
    /// The session-log tool call whose params or response carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The variable, key or flag the value was assigned to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it opens, when known and not secret: `postgres://app@db.internal:5432`, a JWT
    /// issuer, an Azure account, a VS Code input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub credentials: u64,
    pub locations: u64,
    /// Test-mode credentials among them.
    pub test_credentials: u64,
    /// Credentials per service.
    pub by_service: BTreeMap<String, u64>,
    pub files_scanned: u64,
    /// Binary or unsupported files passed over, and links not followed.
    pub files_skipped: u64,
    /// Files that could not be read (see `errors`).
    pub unreadable: u64,
    pub warnings: u64,
    pub contained_at: String,
    pub deadline: String,
}

/// The rotation list, sorted so output never depends on thread timing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CredentialReport {
    pub credentials: Vec<Credential>,
    pub errors: Vec<ErrorRecord>,
    pub summary: Summary,
}

/// One finding of one credential in one place, before de-duplication. Holds the secret, so
/// it never leaves this module.
pub(crate) struct Sighting {
    pub kind: &'static Kind,
    pub service: &'static str,
    pub rotation: &'static str,
    /// None for a prompted secret: `key` identifies it instead.
    pub secret: Option<Secret>,
    pub key: String,
    pub location: Location,
}

/// What reading one file produced.
#[derive(Default)]
pub(crate) struct FileResult {
    pub sightings: Vec<Sighting>,
    pub errors: Vec<ErrorRecord>,
    pub scanned: bool,
    pub skipped: bool,
}

/// Lists the credentials in `inputs` (files, folders walked recursively with hidden files
/// and dot-folders, or `-` for standard input).
pub fn collect(inputs: &[PathBuf], opts: &Options) -> Result<CredentialReport> {
    let walked = source::walk(inputs, opts.walk);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start worker threads: {e}")))?;
    let results: Vec<FileResult> = pool.install(|| {
        walked
            .files
            .par_iter()
            .map(|f| sources::read_file(&f.path, &f.display, opts))
            .collect()
    });
    let mut summary = Summary {
        files_skipped: walked.skipped,
        ..Summary::default()
    };
    let mut errors = walked.errors;
    let mut sightings = Vec::new();
    for r in results {
        summary.files_scanned += u64::from(r.scanned);
        summary.files_skipped += u64::from(r.skipped);
        errors.extend(r.errors);
        sightings.extend(r.sightings);
    }
    Ok(build(sightings, errors, summary, opts))
}

/// Lists the credentials in one document held in memory; `name` decides the format and the
/// source kind as a path would (`.env`, `claude_desktop_config.json`, `x.jsonl`).
pub fn collect_bytes(name: &str, bytes: &[u8], opts: &Options) -> CredentialReport {
    let r = sources::read_bytes(name, bytes, opts);
    let summary = Summary {
        files_scanned: u64::from(r.scanned),
        files_skipped: u64::from(r.skipped),
        ..Summary::default()
    };
    build(r.sightings, r.errors, summary, opts)
}

struct Entry {
    kind: &'static Kind,
    service: &'static str,
    rotation: &'static str,
    secret: Option<Secret>,
    locations: Vec<Location>,
}

/// De-duplicates sightings by secret, keeps the most specific type, redacts, sorts.
fn build(
    sightings: Vec<Sighting>,
    mut errors: Vec<ErrorRecord>,
    mut summary: Summary,
    opts: &Options,
) -> CredentialReport {
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for s in sightings {
        match entries.get_mut(&s.key) {
            None => {
                entries.insert(
                    s.key,
                    Entry {
                        kind: s.kind,
                        service: s.service,
                        rotation: s.rotation,
                        secret: s.secret,
                        locations: vec![s.location],
                    },
                );
            }
            Some(e) => {
                let better = s.kind.rank > e.kind.rank
                    || (s.kind.rank == e.kind.rank
                        && e.service == "unknown"
                        && s.service != "unknown");
                if better {
                    e.kind = s.kind;
                    e.service = s.service;
                    e.rotation = s.rotation;
                }
                e.locations.push(s.location);
            }
        }
    }
    // Every secret value, longest first, to scrub from anything that is printed.
    let mut values: Vec<String> = entries
        .values()
        .filter_map(|e| e.secret.as_ref())
        .map(|s| s.expose().to_string())
        .filter(|v| v.len() >= 8)
        .collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let scrub = |s: &mut String| {
        for v in &values {
            if s.contains(v.as_str()) {
                *s = s.replace(v.as_str(), "[REDACTED]");
            }
        }
    };
    let scrub_opt = |s: &mut Option<String>| {
        if let Some(s) = s {
            scrub(s);
        }
    };

    let deadline = format_time(opts.contained_at + ROTATION_WINDOW);
    let mut credentials: Vec<Credential> = entries
        .into_values()
        .map(|mut e| {
            for l in &mut e.locations {
                scrub(&mut l.path);
                scrub_opt(&mut l.json_pointer);
                scrub_opt(&mut l.mcp_server);
                scrub_opt(&mut l.attachment);
                scrub_opt(&mut l.part);
                scrub_opt(&mut l.entry);
                scrub_opt(&mut l.tool);
                scrub_opt(&mut l.name);
                scrub_opt(&mut l.target);
            }
            e.locations.sort();
            e.locations.dedup();
            Credential {
                kind: e.kind.id.to_string(),
                service: e.service.to_string(),
                fingerprint: e.secret.as_ref().map(Secret::fingerprint),
                preview: e.secret.as_ref().map(|s| secrets::preview(e.kind, s)),
                rotation_action: e.rotation.to_string(),
                deadline: deadline.clone(),
                test: e.kind.test,
                locations: e.locations,
            }
        })
        .collect();
    credentials.sort_by(|a, b| {
        (&a.service, &a.kind, &a.locations, &a.fingerprint).cmp(&(
            &b.service,
            &b.kind,
            &b.locations,
            &b.fingerprint,
        ))
    });
    for e in &mut errors {
        scrub(&mut e.path);
        scrub(&mut e.reason);
    }
    errors.sort();

    summary.credentials = credentials.len() as u64;
    summary.locations = credentials.iter().map(|c| c.locations.len() as u64).sum();
    summary.test_credentials = credentials.iter().filter(|c| c.test).count() as u64;
    for c in &credentials {
        *summary.by_service.entry(c.service.clone()).or_default() += 1;
    }
    summary.unreadable = errors.iter().filter(|e| e.is_unreadable()).count() as u64;
    summary.warnings = errors.len() as u64 - summary.unreadable;
    summary.contained_at = format_time(opts.contained_at);
    summary.deadline = deadline;
    CredentialReport {
        credentials,
        errors,
        summary,
    }
}
