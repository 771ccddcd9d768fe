//! Reading one file for credentials: what kind of file it is (an MCP client config, a `.env`
//! file, a session log, anything else), how to cut it into values with locations, and which
//! MCP server's configuration each value belongs to.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::{FileResult, Location, Options, Sighting};
use crate::document::{Format, Segment};
use crate::error::ExtractError;
use crate::extract::{self, json, Sniffed};
use crate::scan::{ErrorKind, ErrorRecord};
use crate::secrets::{self, kind, Field, Hit, VENDORS};

/// What a file is, which decides how values are named and attributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    ClaudeDesktop,
    Cursor,
    Vscode,
    VscodeSettings,
    ClaudeCode,
    McpConfig,
    Dotenv,
    Netrc,
    SessionLog,
    File,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::ClaudeDesktop => "claude_desktop_config",
            Source::Cursor => "cursor_mcp_config",
            Source::Vscode => "vscode_mcp_config",
            Source::VscodeSettings => "vscode_settings",
            Source::ClaudeCode => "claude_code_config",
            Source::McpConfig => "mcp_config",
            Source::Dotenv => "dotenv",
            Source::Netrc => "netrc",
            Source::SessionLog => "session_log",
            Source::File => "file",
        }
    }

    /// By path alone; session logs and other MCP configs are recognised by content later.
    fn of_path(path: &str) -> Source {
        let p = path.replace('\\', "/");
        let name = p.rsplit('/').next().unwrap_or(&p);
        let in_dir = |d: &str| p.contains(&format!("/{d}/")) || p.starts_with(&format!("{d}/"));
        match name {
            "claude_desktop_config.json" => Source::ClaudeDesktop,
            "mcp.json" if in_dir(".cursor") => Source::Cursor,
            "mcp.json" if in_dir(".vscode") || in_dir("Code/User") => Source::Vscode,
            "settings.json" if in_dir(".vscode") || in_dir("Code/User") => Source::VscodeSettings,
            ".mcp.json" | ".claude.json" => Source::ClaudeCode,
            "mcp.json" | "mcp_config.json" | "cline_mcp_settings.json" => Source::McpConfig,
            ".netrc" | "_netrc" => Source::Netrc,
            _ if name == ".env"
                || name.starts_with(".env.")
                || name.ends_with(".env")
                || name == ".envrc" =>
            {
                Source::Dotenv
            }
            _ => Source::File,
        }
    }
}

/// Per-file context threaded through the value handlers.
struct Ctx<'a> {
    display: &'a str,
    source: Source,
    out: FileResult,
}

impl Ctx<'_> {
    fn warn(&mut self, reason: String) {
        self.out.errors.push(ErrorRecord {
            path: self.display.to_string(),
            kind: ErrorKind::Warning,
            reason,
        });
    }

    fn location(&self) -> Location {
        Location {
            path: self.display.to_string(),
            line: None,
            json_pointer: None,
            mcp_server: None,
            source: self.source.as_str().to_string(),
            page: None,
            attachment: None,
            part: None,
            entry: None,
            byte_offset: None,
            tool: None,
            name: None,
            target: None,
        }
    }

    fn push(&mut self, hit: Hit, mut location: Location) {
        location.name = location.name.or(hit.name);
        location.target = location.target.or(hit.target);
        self.out.sightings.push(Sighting {
            kind: hit.kind,
            service: hit.service,
            rotation: hit.rotation,
            key: hit.secret.sha256(),
            secret: Some(hit.secret),
            location,
        });
    }
}

fn failure(display: &str, kind: ErrorKind, reason: impl Into<String>) -> FileResult {
    FileResult {
        errors: vec![ErrorRecord {
            path: display.to_string(),
            kind,
            reason: reason.into(),
        }],
        ..FileResult::default()
    }
}

/// Reads one file (or `-`, standard input) for credentials.
pub(crate) fn read_file(path: &Path, display: &str, opts: &Options) -> FileResult {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        return match std::io::stdin()
            .lock()
            .take(opts.max_file_size + 1)
            .read_to_end(&mut bytes)
        {
            Err(e) => failure(display, ErrorKind::Unreadable, e.to_string()),
            Ok(n) if n as u64 > opts.max_file_size => failure(
                display,
                ErrorKind::Limit,
                format!("standard input larger than {} bytes", opts.max_file_size),
            ),
            Ok(_) => read_bytes(display, &bytes, opts),
        };
    }
    let unreadable = |e: std::io::Error| failure(display, ErrorKind::Unreadable, e.to_string());
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return unreadable(e),
    };
    let size = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return unreadable(e),
    };
    let mut head = Vec::new();
    if let Err(e) = (&mut file).take(8192).read_to_end(&mut head) {
        return unreadable(e);
    }
    let name = path.to_string_lossy();
    let mut ctx = Ctx {
        display,
        source: Source::of_path(&name),
        out: FileResult::default(),
    };
    let (format, binary) = match extract::sniff(&name, &head) {
        Sniffed::Format(f) => (f, false),
        // Archives other than DOCX, and binaries too large to read whole, are passed over.
        Sniffed::Skip(_) if head.starts_with(b"PK\x03\x04") || size > opts.max_file_size => {
            ctx.out.skipped = true;
            return ctx.out;
        }
        // Other binaries (memory-store databases, caches) are read as printable runs.
        Sniffed::Skip(_) => (Format::Text, true),
    };
    let session_log = !binary && first_line_is_session_event(&head);
    if session_log {
        ctx.source = Source::SessionLog;
    }
    let streamed_jsonl = !binary && (format == Format::Jsonl || session_log);
    let streamed_text =
        !binary && matches!(format, Format::Text | Format::Markdown) && size > opts.max_file_size;
    if streamed_jsonl || streamed_text {
        let reader = BufReader::new(std::io::Cursor::new(head).chain(file));
        let result = if streamed_jsonl {
            jsonl_stream(reader, &mut ctx, opts)
        } else {
            text_stream(reader, &mut ctx, opts.max_file_size)
        };
        if let Err(e) = result {
            ctx.out.errors.push(ErrorRecord {
                path: display.to_string(),
                kind: ErrorKind::Unreadable,
                reason: e.to_string(),
            });
        }
        ctx.out.scanned = true;
        return ctx.out;
    }
    if size > opts.max_file_size {
        return failure(
            display,
            ErrorKind::Limit,
            format!(
                "{size} bytes is larger than the {} byte limit for {} files",
                opts.max_file_size,
                if binary { "binary" } else { format.as_str() }
            ),
        );
    }
    let mut bytes = head;
    if let Err(e) = file.read_to_end(&mut bytes) {
        return unreadable(e);
    }
    if binary {
        binary_document(&bytes, &mut ctx);
    } else {
        document(format, &bytes, &mut ctx, opts);
    }
    ctx.out.scanned = true;
    ctx.out
}

/// Reads one document held in memory; `name` stands for its path.
pub(crate) fn read_bytes(name: &str, bytes: &[u8], opts: &Options) -> FileResult {
    let mut ctx = Ctx {
        display: name,
        source: Source::of_path(name),
        out: FileResult::default(),
    };
    let head = &bytes[..bytes.len().min(8192)];
    match extract::sniff(name, head) {
        Sniffed::Skip(_) if bytes.starts_with(b"PK\x03\x04") => ctx.out.skipped = true,
        Sniffed::Skip(_) => {
            binary_document(bytes, &mut ctx);
            ctx.out.scanned = true;
        }
        Sniffed::Format(format) => {
            if first_line_is_session_event(head) {
                ctx.source = Source::SessionLog;
                jsonl_lines(bytes, &mut ctx, opts);
            } else if format == Format::Jsonl {
                jsonl_lines(bytes, &mut ctx, opts);
            } else {
                document(format, bytes, &mut ctx, opts);
            }
            ctx.out.scanned = true;
        }
    }
    ctx.out
}

/// A session log (issue 5's format) starts with a `SESSION_START`, `TOOL_INVOKED` or
/// `SESSION_END` event line, whatever the file is called.
fn first_line_is_session_event(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return false;
    };
    if !first.starts_with('{') {
        return false;
    }
    // The first line may be cut by the 8 KiB head; its start is enough to see the event.
    let event = serde_json::from_str::<serde_json::Value>(first)
        .ok()
        .and_then(|v| v.get("event").and_then(|e| e.as_str()).map(str::to_string))
        .or_else(|| {
            let at = first.find("\"event\"")?;
            let rest = &first[at + 7..];
            let rest = rest
                .trim_start()
                .strip_prefix(':')?
                .trim_start()
                .strip_prefix('"')?;
            Some(rest.split('"').next()?.to_string())
        });
    matches!(
        event.as_deref(),
        Some("SESSION_START" | "TOOL_INVOKED" | "SESSION_END")
    )
}

fn document(format: Format, bytes: &[u8], ctx: &mut Ctx<'_>, opts: &Options) {
    if ctx.source == Source::Netrc {
        netrc_document(bytes, ctx);
    }
    match format {
        Format::Json => json_document(bytes, ctx, opts),
        Format::Jsonl => jsonl_lines(bytes, ctx, opts),
        _ => match extract::extract_as(format, bytes, &opts.limits, 0) {
            Ok(ex) => {
                for w in ex.warnings {
                    ctx.warn(w);
                }
                for seg in &ex.segments {
                    text_segment(seg, ctx, 0);
                }
            }
            Err(ExtractError::Skipped(_)) => ctx.out.skipped = true,
            Err(e) => {
                let kind = match e {
                    ExtractError::Limit(_) => ErrorKind::Limit,
                    _ => ErrorKind::Malformed,
                };
                ctx.out.errors.push(ErrorRecord {
                    path: ctx.display.to_string(),
                    kind,
                    reason: e.to_string(),
                });
            }
        },
    }
}

/// Free text of a segment; `line_shift` moves its lines (for pieces of a large file).
fn text_segment(seg: &Segment, ctx: &mut Ctx<'_>, line_shift: u32) {
    for hit in secrets::scan_text(&seg.text) {
        let mut loc = ctx.location();
        loc.line = seg
            .span
            .line
            .map(|l| l + line_shift + newlines(&seg.text[..hit.start]));
        loc.page = seg.location.page;
        loc.attachment.clone_from(&seg.location.attachment);
        loc.part.clone_from(&seg.location.part);
        loc.entry.clone_from(&seg.location.entry);
        loc.json_pointer.clone_from(&seg.location.json_pointer);
        ctx.push(hit, loc);
    }
}

/// `.netrc`: `machine HOST login USER password SECRET`, separated by any whitespace. Its
/// passwords have no `=` before them, so free-text scanning misses them.
fn netrc_document(bytes: &[u8], ctx: &mut Ctx<'_>) {
    let decoded = extract::decode_text(bytes);
    let text: &str = &decoded.text;
    let mut words = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for w in line.split_whitespace() {
            words.push((u32::try_from(n + 1).unwrap_or(u32::MAX), w));
        }
    }
    let (mut machine, mut login) = ("", "");
    for pair in words.windows(2) {
        let ((_, key), (line, value)) = (pair[0], pair[1]);
        match key {
            "machine" => (machine, login) = (value, ""),
            "login" => login = value,
            "password" => {
                let field = Field {
                    name: Some("password"),
                    value,
                };
                // Known formats (a GitHub token as the password) are found by the text scan.
                for (_, mut hit) in secrets::scan_fields(&[field]) {
                    if hit.kind.id != "password" {
                        continue;
                    }
                    hit.target = Some(format!(
                        "machine {} login {}",
                        secrets::shown_user(machine),
                        secrets::shown_user(login)
                    ));
                    let mut loc = ctx.location();
                    loc.line = Some(line);
                    ctx.push(hit, loc);
                }
            }
            _ => {}
        }
    }
}

fn newlines(s: &str) -> u32 {
    u32::try_from(memchr::memchr_iter(b'\n', s.as_bytes()).count()).unwrap_or(u32::MAX)
}

fn binary_document(bytes: &[u8], ctx: &mut Ctx<'_>) {
    for hit in secrets::scan_binary(bytes) {
        let mut loc = ctx.location();
        loc.byte_offset = Some(hit.start as u64);
        ctx.push(hit, loc);
    }
}

// ---------------------------------------------------------------------------------------
// JSON: MCP client configs and every other JSON document

/// JSON (or JSON with comments and trailing commas, as VS Code and Cursor accept): values are
/// grouped by the object they are members of, named by their key, and attributed to the MCP
/// server whose entry holds them. Comments are scanned as text.
fn json_document(bytes: &[u8], ctx: &mut Ctx<'_>, opts: &Options) {
    let decoded = extract::decode_text(bytes);
    let text: &str = &decoded.text;
    if let Some(w) = &decoded.warning {
        ctx.warn(w.clone());
    }
    let (segments, tree) = match json::extract_json(text, &opts.limits) {
        Ok(ex) => (ex.segments, inputs_tree(text)),
        Err(strict_err) => {
            let (stripped, comments) = strip_jsonc(text);
            match json::extract_json(&stripped, &opts.limits) {
                Ok(ex) => {
                    for c in comments {
                        let seg = Segment::new(
                            text[c.clone()].to_string(),
                            crate::document::Channel::Comment,
                            crate::document::Location::default(),
                            crate::document::SourceSpan {
                                line: Some(1 + newlines(&text[..c.start])),
                                ..Default::default()
                            },
                        );
                        text_segment(&seg, ctx, 0);
                    }
                    (ex.segments, inputs_tree(&stripped))
                }
                Err(_) if looks_like_jsonl(text) => {
                    jsonl_lines(text.as_bytes(), ctx, opts);
                    return;
                }
                Err(_) => {
                    ctx.warn(format!("{strict_err}; scanned as plain text"));
                    document(Format::Text, bytes, ctx, opts);
                    return;
                }
            }
        }
    };
    if ctx.source == Source::File && segments.iter().any(|s| pointer_has(s, "mcpServers")) {
        ctx.source = Source::McpConfig;
    }
    json_segments(&segments, ctx, 0, None);
    if let Some(tree) = tree {
        prompted_inputs(&tree, &segments, ctx);
    }
}

/// The parsed document, only when it may declare VS Code `inputs`.
fn inputs_tree(text: &str) -> Option<serde_json::Value> {
    text.contains("\"inputs\"")
        .then(|| serde_json::from_str(text).ok())
        .flatten()
}

fn pointer_has(seg: &Segment, token: &str) -> bool {
    seg.location
        .json_pointer
        .as_deref()
        .is_some_and(|p| p.split('/').any(|t| t == token))
}

/// Several JSON values, one per line, in a file not named `.jsonl`.
fn looks_like_jsonl(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .is_some_and(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
}

fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The MCP server whose entry holds the value at `tokens`: `mcpServers.<name>` (Claude
/// Desktop, Cursor, Claude Code, Windsurf, Cline), `servers.<name>` (VS Code `mcp.json`),
/// `mcp.servers.<name>` (VS Code settings), `context_servers.<name>` (Zed).
fn mcp_server(tokens: &[String], source: Source) -> Option<String> {
    for i in 0..tokens.len().saturating_sub(1) {
        let t = tokens[i].as_str();
        let here = match t {
            "mcpServers" | "context_servers" => true,
            "servers" => {
                (i == 0 && matches!(source, Source::Vscode | Source::McpConfig))
                    || (i > 0 && tokens[i - 1] == "mcp")
            }
            _ => false,
        };
        if here {
            return Some(tokens[i + 1].clone());
        }
    }
    None
}

/// Scans JSON string segments grouped by their parent object. `line_base` shifts lines (for
/// JSON Lines), `tool` names the session-log tool call of the line.
fn json_segments(segments: &[Segment], ctx: &mut Ctx<'_>, line_base: u32, tool: Option<&str>) {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let by_pointer: BTreeMap<&str, &Segment> = segments
        .iter()
        .filter_map(|s| Some((s.location.json_pointer.as_deref()?, s)))
        .collect();
    for (i, s) in segments.iter().enumerate() {
        let p = s.location.json_pointer.as_deref().unwrap_or("");
        let parent = p.rfind('/').map_or("", |at| &p[..at]);
        groups.entry(parent.to_string()).or_default().push(i);
    }
    for (parent, members) in groups {
        let names: Vec<Option<String>> = members
            .iter()
            .map(|&i| field_name(&segments[i], &parent, &by_pointer))
            .collect();
        // Docker's `auths.<registry>.auth` is base64 `user:password`, as in a Basic header.
        let docker = |i: usize| {
            let p = segments[i].location.json_pointer.as_deref().unwrap_or("");
            let t = tokens(p);
            t.len() >= 3 && t[t.len() - 3] == "auths" && t[t.len() - 1] == "auth"
        };
        let values: Vec<std::borrow::Cow<'_, str>> = members
            .iter()
            .map(|&i| {
                if docker(i) {
                    format!("Basic {}", segments[i].text).into()
                } else {
                    segments[i].text.as_str().into()
                }
            })
            .collect();
        let fields: Vec<Field<'_>> = members
            .iter()
            .zip(&names)
            .zip(&values)
            .map(|((&i, n), v)| Field {
                name: if docker(i) {
                    Some("Authorization")
                } else {
                    n.as_deref()
                },
                value: v,
            })
            .collect();
        for (f, hit) in secrets::scan_fields(&fields) {
            let seg = &segments[members[f]];
            let pointer = seg.location.json_pointer.clone().unwrap_or_default();
            let mut loc = ctx.location();
            // A JSON string is on one line of the file, whatever its escaped `\n`s decode to.
            loc.line = seg.span.line.map(|l| l + line_base);
            loc.mcp_server = mcp_server(&tokens(&pointer), ctx.source);
            loc.json_pointer = Some(pointer);
            loc.tool = tool.map(str::to_string);
            ctx.push(hit, loc);
        }
    }
}

/// The name a JSON value is assigned to: its key, or for an array element the flag before it
/// (`["--api-key", "..."]`).
fn field_name(
    seg: &Segment,
    parent: &str,
    by_pointer: &BTreeMap<&str, &Segment>,
) -> Option<String> {
    let p = seg.location.json_pointer.as_deref()?;
    let last = tokens(p).pop()?;
    match last.parse::<usize>() {
        Ok(0) => None,
        Ok(i) => {
            let prev = by_pointer.get(format!("{parent}/{}", i - 1).as_str())?;
            let t = prev.text.trim();
            (t.starts_with('-') && !t.contains('=') && t.len() <= 64)
                .then(|| t.trim_start_matches('-').to_string())
        }
        Err(_) => Some(last),
    }
}

/// VS Code `inputs` with `password: true`: a secret typed in at a prompt, held by the MCP
/// servers whose config references `${input:<id>}`, but never stored in the file.
fn prompted_inputs(tree: &serde_json::Value, segments: &[Segment], ctx: &mut Ctx<'_>) {
    let (inputs, base) = match (tree.get("inputs"), tree.pointer("/mcp/inputs")) {
        (Some(i), _) => (i, "/inputs"),
        (None, Some(i)) => (i, "/mcp/inputs"),
        _ => return,
    };
    let Some(inputs) = inputs.as_array() else {
        return;
    };
    for (n, input) in inputs.iter().enumerate() {
        if input.get("password").and_then(|p| p.as_bool()) != Some(true) {
            continue;
        }
        let Some(id) = input.get("id").and_then(|v| v.as_str()) else {
            continue;
        };
        let description: String = input
            .get("description")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .chars()
            .take(120)
            .collect();
        let reference = format!("${{input:{id}}}");
        let mut places: Vec<(Location, Option<String>)> = Vec::new();
        for seg in segments.iter().filter(|s| s.text.contains(&reference)) {
            let pointer = seg.location.json_pointer.clone().unwrap_or_default();
            let toks = tokens(&pointer);
            let mut loc = ctx.location();
            loc.line = seg.span.line;
            loc.mcp_server = mcp_server(&toks, ctx.source);
            loc.name = toks.last().filter(|t| t.parse::<usize>().is_err()).cloned();
            loc.json_pointer = Some(pointer);
            places.push((loc.clone(), loc.name));
        }
        if places.is_empty() {
            let pointer = format!("{base}/{n}");
            let mut loc = ctx.location();
            loc.line = segments
                .iter()
                .find(|s| s.location.json_pointer.as_deref() == Some(&format!("{pointer}/id")))
                .and_then(|s| s.span.line);
            loc.json_pointer = Some(pointer);
            places.push((loc, None));
        }
        // The service: from the variable it feeds, its id or its description.
        let words: Vec<String> = places
            .iter()
            .filter_map(|(_, n)| n.as_deref())
            .chain([id, description.as_str()])
            .flat_map(secrets::names::words)
            .collect();
        let vendor = VENDORS
            .iter()
            .find(|v| v.words.iter().any(|w| words.iter().any(|x| x == w)))
            .map(|v| kind(v.kind));
        let prompted = kind("prompted_secret");
        let target = if description.is_empty() {
            format!("VS Code input {id}")
        } else {
            format!("VS Code input {id}: {description}")
        };
        for (mut loc, _) in places {
            loc.target = Some(target.clone());
            ctx.out.sightings.push(Sighting {
                kind: prompted,
                service: vendor.map_or(prompted.service, |k| k.service),
                rotation: vendor.map_or(prompted.rotation, |k| k.rotation),
                secret: None,
                key: format!("prompt:{}#{id}", ctx.display),
                location: loc,
            });
        }
    }
}

/// Blanks out `//` and `/* */` comments and trailing commas, keeping every offset and line;
/// returns the text and the comments' byte ranges (comments can hold old secrets too).
fn strip_jsonc(text: &str) -> (String, Vec<std::ops::Range<usize>>) {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut comments = Vec::new();
    let mut i = 0;
    let mut in_string = false;
    while i < b.len() {
        let c = b[i];
        if in_string {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |p| i + p);
                comments.push(i..end);
                out[i..end].fill(b' ');
                i = end;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end =
                    memchr::memmem::find(&b[i + 2..], b"*/").map_or(b.len(), |p| i + 2 + p + 2);
                comments.push(i..end);
                for x in &mut out[i..end] {
                    if *x != b'\n' {
                        *x = b' ';
                    }
                }
                i = end;
                continue;
            }
            b',' => {
                let next = out[i + 1..].iter().find(|x| !x.is_ascii_whitespace());
                if matches!(next, Some(b'}' | b']')) {
                    out[i] = b' ';
                }
            }
            _ => {}
        }
        i += 1;
    }
    // Only ASCII bytes were replaced by spaces, whole comments at a time.
    (String::from_utf8_lossy(&out).into_owned(), comments)
}

// ---------------------------------------------------------------------------------------
// JSON Lines: session logs and memory stores, one line at a time in bounded memory

fn jsonl_lines(bytes: &[u8], ctx: &mut Ctx<'_>, opts: &Options) {
    let decoded = extract::decode_text(bytes);
    for (i, line) in decoded.text.split('\n').enumerate() {
        jsonl_line(u32::try_from(i + 1).unwrap_or(u32::MAX), line, ctx, opts);
    }
}

fn jsonl_stream(
    mut reader: impl BufRead,
    ctx: &mut Ctx<'_>,
    opts: &Options,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut line_no: u32 = 0;
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(opts.max_file_size + 1)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        line_no = line_no.saturating_add(1);
        if buf.len() as u64 > opts.max_file_size && buf.last() != Some(&b'\n') {
            ctx.out.errors.push(ErrorRecord {
                path: ctx.display.to_string(),
                kind: ErrorKind::Warning,
                reason: format!(
                    "line {line_no} is longer than {} bytes; not read",
                    opts.max_file_size
                ),
            });
            // Skip the rest of the line.
            loop {
                buf.clear();
                let n = (&mut reader).take(1 << 20).read_until(b'\n', &mut buf)?;
                if n == 0 || buf.last() == Some(&b'\n') {
                    break;
                }
            }
            continue;
        }
        let text = String::from_utf8_lossy(&buf);
        jsonl_line(line_no, &text, ctx, opts);
    }
}

fn jsonl_line(line_no: u32, line: &str, ctx: &mut Ctx<'_>, opts: &Options) {
    let line = line.trim_end_matches(['\n', '\r']);
    if line.trim().is_empty() {
        return;
    }
    let ex = json::extract_jsonl(line, &opts.limits);
    if !ex.warnings.is_empty() {
        ctx.warn(format!("line {line_no}: not valid JSON; scanned as text"));
        for seg in &ex.segments {
            text_segment(seg, ctx, line_no - 1);
        }
        return;
    }
    let tool = if ctx.source == Source::SessionLog {
        serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("tool").and_then(|t| t.as_str()).map(str::to_string))
    } else {
        None
    };
    json_segments(&ex.segments, ctx, line_no - 1, tool.as_deref());
}

// ---------------------------------------------------------------------------------------
// Large text files, in overlapping pieces

/// Pieces of a large text file are at most 8 MiB (or `--max-file-size`, if smaller) and
/// overlap by an eighth, so a PEM block or a key id and its secret cut by a piece boundary
/// are still seen together.
fn text_stream(mut reader: impl Read, ctx: &mut Ctx<'_>, max: u64) -> std::io::Result<()> {
    let piece = usize::try_from(max)
        .unwrap_or(usize::MAX)
        .clamp(4096, 8 << 20);
    let overlap = piece / 8;
    let mut buf: Vec<u8> = Vec::new();
    let mut line: u32 = 1;
    let mut eof = false;
    let mut seen = std::collections::HashSet::new();
    loop {
        if !eof {
            let want = piece.saturating_sub(buf.len()) as u64;
            let n = (&mut reader).take(want).read_to_end(&mut buf)?;
            eof = (n as u64) < want;
        }
        let cut = if eof {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(p) if p > buf.len() / 2 => p + 1,
                _ => utf8_floor(&buf, buf.len()),
            }
        };
        let ex = extract::extract_text_chunk(&buf[..cut], 0, line, false);
        let before = ctx.out.sightings.len();
        for seg in &ex.segments {
            text_segment(seg, ctx, 0);
        }
        // Sightings in the overlap were seen in the previous piece too.
        let fresh: Vec<Sighting> = ctx
            .out
            .sightings
            .drain(before..)
            .filter(|s| seen.insert((s.key.clone(), s.location.line)))
            .collect();
        ctx.out.sightings.extend(fresh);
        if eof && cut == buf.len() {
            return Ok(());
        }
        let keep_from = utf8_floor(&buf, cut.saturating_sub(overlap));
        line += u32::try_from(memchr::memchr_iter(b'\n', &buf[..keep_from]).count())
            .unwrap_or(u32::MAX);
        buf.drain(..keep_from);
    }
}

fn utf8_floor(b: &[u8], mut i: usize) -> usize {
    i = i.min(b.len());
    while i > 0 && i < b.len() && (b[i] & 0xC0) == 0x80 {
        i -= 1;
    }
    i
}
