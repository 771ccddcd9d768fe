//! The rotation list as a Markdown checklist: one row per credential, with a box to tick.

use std::fmt::Write;

use super::{CredentialReport, Location};

/// Renders the report as a Markdown rotation checklist.
pub fn to_markdown(report: &CredentialReport) -> String {
    let s = &report.summary;
    let mut out = String::new();
    out.push_str("# Credential rotation list\n\n");
    let _ = writeln!(
        out,
        "Contained at {}. Rotate every credential below by **{}** (the guide: within 1 hour of containment).\n",
        s.contained_at, s.deadline
    );
    let _ = writeln!(
        out,
        "{} credentials in {} places{}. Files read: {}, skipped: {}, unreadable: {}.\n",
        s.credentials,
        s.locations,
        if s.test_credentials > 0 {
            format!(" ({} test-mode)", s.test_credentials)
        } else {
            String::new()
        },
        s.files_scanned,
        s.files_skipped,
        s.unreadable
    );
    if report.credentials.is_empty() {
        out.push_str("No credentials found.\n");
    } else {
        out.push_str("| # | Done | Service | Type | Preview | Fingerprint | Where found | MCP server | Rotation action | Deadline |\n");
        out.push_str("|--:|:-:|---|---|---|---|---|---|---|---|\n");
        for (i, c) in report.credentials.iter().enumerate() {
            let kind = if c.test {
                format!("{} (test mode)", c.kind)
            } else {
                c.kind.clone()
            };
            let servers: Vec<&str> = {
                let mut v: Vec<&str> = c
                    .locations
                    .iter()
                    .filter_map(|l| l.mcp_server.as_deref())
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            let places: Vec<String> = c.locations.iter().map(place).collect();
            let _ = writeln!(
                out,
                "| {} | [ ] | {} | {} | {} | {} | {} | {} | {} | {} |",
                i + 1,
                cell(&c.service),
                code(&kind),
                c.preview
                    .as_deref()
                    .map_or("(not stored: prompted)".into(), code),
                c.fingerprint.as_deref().map_or("-".into(), code),
                places.join("<br>"),
                if servers.is_empty() {
                    "-".into()
                } else {
                    servers
                        .iter()
                        .map(|s| cell(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                cell(&c.rotation_action),
                c.deadline
            );
        }
    }
    if !report.errors.is_empty() {
        out.push_str("\n## Not read, or read in part\n\n");
        for e in &report.errors {
            let _ = writeln!(
                out,
                "- {} ({:?}): {}",
                code(&e.path),
                e.kind,
                cell(&e.reason)
            );
        }
    }
    out
}

fn place(l: &Location) -> String {
    let mut s = code(&l.path);
    if let Some(a) = &l.attachment {
        let _ = write!(s, " attachment {}", code(a));
    }
    if let Some(p) = l.page {
        let _ = write!(s, " page {p}");
    }
    if let Some(p) = &l.part {
        let _ = write!(s, " part {}", code(p));
    }
    if let Some(n) = l.line {
        let _ = write!(s, " line {n}");
    }
    if let Some(p) = &l.json_pointer {
        let _ = write!(s, " {}", code(p));
    }
    if let Some(b) = l.byte_offset {
        let _ = write!(s, " byte {b}");
    }
    if let Some(t) = &l.tool {
        let _ = write!(s, " tool {}", code(t));
    }
    if let Some(n) = &l.name {
        let _ = write!(s, " as {}", code(n));
    }
    if let Some(t) = &l.target {
        let _ = write!(s, " for {}", code(t));
    }
    s
}

/// Text safe inside a table cell: pipes escaped, line breaks flattened.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// A code span that survives backticks and pipes in its content.
fn code(s: &str) -> String {
    let s = cell(s);
    let ticks = if s.contains('`') { "``" } else { "`" };
    format!("{ticks}{s}{ticks}")
}
