//! A stdio MCP proxy that screens what the server sends before it reaches the client's model,
//! enforces a tool allowlist, watches the tool manifest, and records the session as evidence.
//!
//! [`run`] starts the server and relays newline-delimited JSON-RPC both ways between the
//! client (any reader and writer, normally guard's own stdin and stdout) and the server:
//!
//! - a thread reads the client: `tools/call` requests outside the allowlist are answered with
//!   a JSON-RPC error and never forwarded; everything else goes to the server's stdin as it
//!   came (the requests whose answers guard must look at are remembered by id first);
//! - the calling thread reads the server (through [`StdioProcess`]'s reader thread): answers to
//!   `tools/call`, `resources/read` and `prompts/get` are screened with the [`Scanner`] and
//!   logged before they are passed on, blocked or redacted; `tools/list` answers are compared
//!   with the pinned manifest; all other messages pass untouched, byte for byte;
//! - a thread writes to the client, so neither direction ever waits for the other: a client
//!   that sends a large request while a large answer is on its way cannot deadlock the relay;
//! - the server's stderr is copied to `notices` as it arrives.
//!
//! Guard decides nothing about messages it does not change: it never re-serializes them, and
//! it keeps their order. The session log format is in [`log`].

pub mod log;
pub mod pin;

use std::collections::{HashMap, HashSet};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::manifest::Manifest;
use crate::mcp::transport::{write_raw_frame, Frame, FrameReader, Recv, StdioProcess};
use crate::mcp::ServerCommand;
use crate::screen::{Scanner, ScreenVerdict};
use log::{Counts, Outcome, ScreenRecord, SessionInfo, SessionLog, ToolInvoked};
use pin::{PageOutcome, ToolPin};

/// JSON-RPC error code of a `resources/read` or `prompts/get` answer that guard blocked.
pub const BLOCKED_CODE: i64 = -32050;
/// JSON-RPC error code of a `tools/call` outside the allowlist.
pub const DENIED_CODE: i64 = -32051;

/// How long the relay waits between looks at the stop flag and the client's state.
const POLL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// Tools the client may call; `None`: every tool.
    pub allow_tools: Option<Vec<String>>,
    /// Deliver blocked results with the offending sentences replaced instead of blocking.
    pub redact: bool,
    /// Session log to append to.
    pub log: Option<PathBuf>,
    /// Identity written into the session log (its `allowlist` is taken from `allow_tools`).
    pub session: SessionInfo,
    /// Manifest to compare every `tools/list` with, and its label (the file path); `None`:
    /// pin the first complete `tools/list` of the session.
    pub manifest_baseline: Option<(Manifest, String)>,
    /// After the client has gone, how long the server may take to exit before SIGTERM, and
    /// again before SIGKILL.
    pub shutdown_grace: Duration,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            allow_tools: None,
            redact: false,
            log: None,
            session: SessionInfo {
                session_id: log::new_session_id(),
                ..SessionInfo::default()
            },
            manifest_baseline: None,
            shutdown_grace: Duration::from_secs(2),
        }
    }
}

/// How the session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The server exited (or closed its stdout) while the client was still there; `status`
    /// is `None` when it had to be killed after closing its stdout.
    ServerExited { status: Option<ExitStatus> },
    /// The client closed guard's input (or stopped reading its output); the server was then
    /// stopped. `forced`: it did not exit within the grace period and was signalled.
    ClientClosed {
        status: Option<ExitStatus>,
        forced: bool,
    },
    /// Guard was asked to stop (the signal number the caller stored in `stop`).
    Signal(i32),
    /// The server's output could not be read (a line over 64 MiB, an I/O error).
    ServerFailed(String),
}

impl Ended {
    pub fn reason(&self) -> &'static str {
        match self {
            Ended::ServerExited { .. } => "server_exited",
            Ended::ClientClosed { .. } => "client_closed",
            Ended::Signal(_) => "signal",
            Ended::ServerFailed(_) => "server_failed",
        }
    }
}

/// What a session did.
#[derive(Debug, Clone)]
pub struct Report {
    pub session_id: String,
    pub ended: Ended,
    pub counts: Counts,
}

impl Report {
    /// The server's exit status when it exited by itself (128 + signal when a signal ended
    /// it); 0 when the client closed the session; 128 + signal when guard was signalled; 2
    /// when the server's output broke or it had to be killed.
    pub fn exit_code(&self) -> i32 {
        match &self.ended {
            Ended::ServerExited { status: Some(s) } => status_code(s),
            Ended::ServerExited { status: None } | Ended::ServerFailed(_) => 2,
            Ended::ClientClosed { .. } => 0,
            Ended::Signal(sig) => 128 + sig,
        }
    }
}

fn status_code(s: &ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
}

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("cannot start MCP server `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("session log {}: {source}", path.display())]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A request whose answer guard looks at.
struct Pending {
    kind: Kind,
    ts: SystemTime,
    started: Instant,
    id: Value,
}

enum Kind {
    ToolCall {
        tool: String,
        params: Value,
    },
    /// `resources/read` or `prompts/get`.
    Read {
        method: &'static str,
        what: String,
    },
    ToolsList {
        first_page: bool,
    },
    Initialize,
}

/// The members of a message guard needs to route it; the rest is skipped, not built.
#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<String>,
}

/// State both relay directions share.
struct Shared {
    pending: Mutex<HashMap<String, Pending>>,
    log: Option<Mutex<SessionLog>>,
    log_failed: AtomicBool,
    notices: Notices,
    counts: Mutex<Counts>,
    allow: Option<HashSet<String>>,
    allow_list: Vec<String>,
    /// When the client closed guard's input.
    client_eof: Mutex<Option<Instant>>,
    /// Writing to the client failed: it is gone.
    client_gone: AtomicBool,
}

/// Guard's own messages and the server's stderr, one writer, whole lines.
#[derive(Clone)]
struct Notices(Arc<Mutex<Box<dyn Write + Send>>>);

impl Write for Notices {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        w.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

impl Shared {
    fn notice(&self, msg: &str) {
        let line = format!("mcpsweep guard: {}\n", crate::mcp::printable(msg));
        let mut n = self.notices.clone();
        let _ = n.write_all(line.as_bytes()).and_then(|_| n.flush());
    }

    fn log(&self, f: impl FnOnce(&mut SessionLog) -> std::io::Result<()>) {
        let Some(log) = &self.log else { return };
        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = f(&mut log) {
            if !self.log_failed.swap(true, Ordering::Relaxed) {
                let path = log.path().display().to_string();
                drop(log);
                self.notice(&format!(
                    "cannot write the session log {path}: {e}; the relay goes on, evidence is being lost"
                ));
            }
        }
    }

    fn count(&self, f: impl FnOnce(&mut Counts)) {
        f(&mut self.counts.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// Runs one session: starts `server`, relays between `client_in`/`client_out` and it until
/// one side ends or `stop` holds a non-zero signal number (a signal handler stores it; it is
/// looked at every 50 ms), then stops the server. Guard's notices and the server's stderr go
/// to `notices`. The threads reading the client and writing to it are detached: the reader
/// ends at the client's end of input, the writer as soon as its queue is delivered.
pub fn run<R, W>(
    scanner: Arc<Scanner>,
    server: &ServerCommand,
    config: GuardConfig,
    client_in: R,
    client_out: W,
    notices: Box<dyn Write + Send>,
    stop: &AtomicI32,
) -> Result<Report, GuardError>
where
    R: Read + Send + 'static,
    W: Write + Send + 'static,
{
    // Compile every rule now, while the server starts, rather than on the first responses
    // (detached: a session shorter than the warm-up does not wait for it).
    let warm = Arc::clone(&scanner);
    let _ = thread::Builder::new()
        .name("guard-warm-up".into())
        .spawn(move || warm.warm_up());
    let scanner: &Scanner = &scanner;
    let notices = Notices(Arc::new(Mutex::new(notices)));
    let mut session = config.session.clone();
    session.allowlist = config.allow_tools.clone();
    let log = match &config.log {
        Some(path) => {
            Some(
                SessionLog::open(path, session.clone()).map_err(|source| GuardError::Log {
                    path: path.clone(),
                    source,
                })?,
            )
        }
        None => None,
    };
    let mut process =
        StdioProcess::spawn_forwarding_stderr(server, Some(Box::new(notices.clone()))).map_err(
            |source| GuardError::Spawn {
                command: server.display(),
                source,
            },
        )?;
    let Some(server_stdin) = process.take_stdin() else {
        return Err(GuardError::Spawn {
            command: server.display(),
            source: std::io::Error::other("the server's stdin was not piped"),
        });
    };
    let shared = Arc::new(Shared {
        pending: Mutex::new(HashMap::new()),
        log: log.map(Mutex::new),
        log_failed: AtomicBool::new(false),
        notices,
        counts: Mutex::new(Counts::default()),
        allow: config
            .allow_tools
            .as_ref()
            .map(|a| a.iter().cloned().collect()),
        allow_list: config.allow_tools.clone().unwrap_or_default(),
        client_eof: Mutex::new(None),
        client_gone: AtomicBool::new(false),
    });
    let baseline_label = config.manifest_baseline.as_ref().map(|(_, l)| l.clone());
    shared.log(|l| {
        l.start(
            SystemTime::now(),
            &server.argv(),
            json!({
                "version": format!("mcpsweep {}", env!("CARGO_PKG_VERSION")),
                "block_at": scanner.block_at(),
                "redact": config.redact,
                "manifest_baseline": baseline_label,
            }),
        )
    });

    let (out_tx, out_rx) = mpsc::channel::<Vec<u8>>();
    let (written_tx, written_rx) = mpsc::channel::<()>();
    {
        let sh = Arc::clone(&shared);
        thread::Builder::new()
            .name("guard-to-client".into())
            .spawn(move || write_client(client_out, out_rx, &sh, written_tx))
            .map_err(|source| GuardError::Spawn {
                command: server.display(),
                source,
            })?;
    }
    {
        let sh = Arc::clone(&shared);
        let out = out_tx.clone();
        thread::Builder::new()
            .name("guard-from-client".into())
            .spawn(move || read_client(client_in, server_stdin, &sh, &out))
            .map_err(|source| GuardError::Spawn {
                command: server.display(),
                source,
            })?;
    }

    let mut relay = Relay {
        scanner,
        shared: Arc::clone(&shared),
        pin: ToolPin::new(config.manifest_baseline.clone(), server.argv()),
        redact: config.redact,
    };
    let grace = config.shutdown_grace;
    let ended = loop {
        let sig = stop.load(Ordering::Relaxed);
        if sig != 0 {
            shared.notice(&format!("signal {sig}: stopping the server"));
            process.terminate();
            if process.wait_exit(grace).is_none() {
                process.kill();
            }
            break Ended::Signal(sig);
        }
        let eof = *shared.client_eof.lock().unwrap_or_else(|e| e.into_inner());
        let gone = shared.client_gone.load(Ordering::Relaxed);
        if gone || eof.is_some_and(|t| t.elapsed() >= grace) {
            // The client is gone and the server has not exited on its own.
            let status = if gone {
                process.wait_exit(grace)
            } else {
                process.try_status()
            };
            if status.is_some() {
                break Ended::ClientClosed {
                    status,
                    forced: false,
                };
            }
            shared.notice("the server did not exit after its input closed: SIGTERM");
            process.terminate();
            if process.wait_exit(grace).is_none() {
                shared.notice("the server ignored SIGTERM: SIGKILL");
                process.kill();
            }
            break Ended::ClientClosed {
                status: None,
                forced: true,
            };
        }
        match process.recv(POLL) {
            Recv::Frame(frame) => {
                let bytes = relay.relay_from_server(frame);
                let _ = out_tx.send(bytes);
            }
            Recv::Timeout => {}
            Recv::Closed { status } => {
                let client_closed = shared
                    .client_eof
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_some();
                let status = match status {
                    Some(s) => Some(s),
                    None => {
                        process.terminate();
                        let s = process.wait_exit(grace);
                        if s.is_none() {
                            process.kill();
                        }
                        s
                    }
                };
                if client_closed {
                    break Ended::ClientClosed {
                        status,
                        forced: false,
                    };
                }
                let what = status.map_or("closed its output".to_string(), |s| s.to_string());
                shared.notice(&format!("the MCP server exited ({what})"));
                break Ended::ServerExited { status };
            }
            Recv::Failed(reason) => {
                shared.notice(&format!("reading the server failed: {reason}; stopping it"));
                process.kill();
                break Ended::ServerFailed(reason);
            }
        }
    };

    relay.unanswered();
    let counts = shared
        .counts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let server_exit = match &ended {
        Ended::ServerExited { status } | Ended::ClientClosed { status, .. } => {
            status.map(|s| s.to_string())
        }
        _ => None,
    };
    shared.log(|l| l.end(SystemTime::now(), ended.reason(), server_exit, &counts));
    // An empty message tells the writer to flush and stop; give it the grace period to
    // deliver what is queued (a client that stopped reading does not hold guard up).
    let _ = out_tx.send(Vec::new());
    let _ = written_rx.recv_timeout(grace);
    Ok(Report {
        session_id: session.session_id,
        ended,
        counts,
    })
}

/// Copies queued messages to the client, one per line, flushing when the queue is empty.
fn write_client<W: Write>(w: W, rx: Receiver<Vec<u8>>, sh: &Shared, done: Sender<()>) {
    let mut w = BufWriter::with_capacity(64 << 10, w);
    let write = |w: &mut BufWriter<W>, m: &[u8]| w.write_all(m).and_then(|_| w.write_all(b"\n"));
    'outer: while let Ok(mut msg) = rx.recv() {
        loop {
            if msg.is_empty() {
                let _ = w.flush();
                break 'outer;
            }
            if write(&mut w, &msg).is_err() {
                sh.client_gone.store(true, Ordering::Relaxed);
                break 'outer;
            }
            match rx.try_recv() {
                Ok(m) => msg = m,
                Err(_) => break,
            }
        }
        if w.flush().is_err() {
            sh.client_gone.store(true, Ordering::Relaxed);
            break;
        }
    }
    let _ = done.send(());
}

/// Reads the client's messages and forwards them to the server, answering denied calls.
fn read_client<R: Read>(
    input: R,
    mut server_stdin: std::process::ChildStdin,
    sh: &Shared,
    out: &Sender<Vec<u8>>,
) {
    let mut reader = FrameReader::new(BufReader::with_capacity(64 << 10, input));
    loop {
        let frame = match reader.read_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                sh.notice(&format!(
                    "reading the client failed: {e}; closing the session"
                ));
                break;
            }
        };
        if let Forward::Nothing = from_client(sh, &frame, out) {
            continue;
        }
        if write_raw_frame(&mut server_stdin, &frame.raw).is_err() {
            // The server is gone; the relay thread sees it exit and ends the session.
            return;
        }
    }
    // Recorded before the pipe closes, so that a server exiting at once is seen as the
    // client's doing.
    *sh.client_eof.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    drop(server_stdin);
}

enum Forward {
    Raw,
    Nothing,
}

fn id_key(id: &Value) -> String {
    serde_json::to_string(id).unwrap_or_default()
}

fn is_batch(raw: &[u8]) -> bool {
    raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// One client message: remember the requests whose answers matter, deny calls outside the
/// allowlist.
fn from_client(sh: &Shared, frame: &Frame, out: &Sender<Vec<u8>>) -> Forward {
    if is_batch(&frame.raw) {
        return batch_from_client(sh, frame, out);
    }
    let Ok(head) = serde_json::from_slice::<Head>(&frame.raw) else {
        return Forward::Raw;
    };
    let Some(method) = head.method.as_deref() else {
        return Forward::Raw;
    };
    if !matches!(
        method,
        "tools/call" | "resources/read" | "prompts/get" | "tools/list" | "initialize"
    ) {
        return Forward::Raw;
    }
    let Ok(msg) = serde_json::from_slice::<Value>(&frame.raw) else {
        return Forward::Raw;
    };
    match request(sh, &msg) {
        Ok(()) => Forward::Raw,
        Err(answer) => {
            if let Some(a) = answer {
                let _ = out.send(serde_json::to_vec(&a).unwrap_or_default());
            }
            Forward::Nothing
        }
    }
}

/// Records a request guard must follow; `Err(answer)` when it is denied (`answer` is the
/// error response, `None` for a notification).
fn request(sh: &Shared, msg: &Value) -> Result<(), Option<Value>> {
    let method = msg.get("method").and_then(Value::as_str).unwrap_or("");
    let id = msg.get("id").cloned();
    let params = msg.get("params");
    let kind = match method {
        "tools/call" => {
            let tool = params
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let args = params
                .and_then(|p| p.get("arguments"))
                .cloned()
                .unwrap_or(Value::Null);
            if let Some(allow) = &sh.allow {
                if !allow.contains(&tool) {
                    return Err(deny(sh, id.as_ref(), &tool, &args));
                }
            }
            sh.count(|c| c.tool_calls += 1);
            Kind::ToolCall { tool, params: args }
        }
        "resources/read" | "prompts/get" => {
            let key = if method == "resources/read" {
                "uri"
            } else {
                "name"
            };
            let what = params
                .and_then(|p| p.get(key))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let method = if method == "resources/read" {
                "resources/read"
            } else {
                "prompts/get"
            };
            Kind::Read { method, what }
        }
        "tools/list" => Kind::ToolsList {
            first_page: params
                .and_then(|p| p.get("cursor"))
                .is_none_or(Value::is_null),
        },
        "initialize" => Kind::Initialize,
        _ => return Ok(()),
    };
    if let Some(id) = id {
        let p = Pending {
            kind,
            ts: SystemTime::now(),
            started: Instant::now(),
            id: id.clone(),
        };
        sh.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id_key(&id), p);
    }
    Ok(())
}

/// Answers (and logs) a call outside the allowlist.
fn deny(sh: &Shared, id: Option<&Value>, tool: &str, args: &Value) -> Option<Value> {
    sh.count(|c| c.denied += 1);
    let error = json!({
        "code": DENIED_CODE,
        "message": format!("mcpsweep guard: tool {tool:?} is not in this session's allowlist; the call was not forwarded"),
        "data": {"tool": tool, "allowlist": sh.allow_list},
    });
    let null = Value::Null;
    sh.log(|l| {
        l.tool(
            SystemTime::now(),
            &ToolInvoked {
                tool,
                params: args,
                outcome: Outcome::Denied,
                request_id: id.unwrap_or(&null),
                response: None,
                error: Some(&error),
                response_ts: None,
                duration_ms: None,
                screen: None,
                note: None,
            },
        )
    });
    sh.notice(&format!(
        "denied tools/call {tool:?} (not in the allowlist)"
    ));
    id.map(|id| json!({"jsonrpc": "2.0", "id": id, "error": error}))
}

/// A JSON-RPC batch from the client (allowed before protocol 2025-06-18). If a call in it is
/// outside the allowlist, the whole batch is refused (nothing is forwarded) and every
/// request in it is answered with an error, in one batch.
fn batch_from_client(sh: &Shared, frame: &Frame, out: &Sender<Vec<u8>>) -> Forward {
    let Ok(items) = serde_json::from_slice::<Vec<Value>>(&frame.raw) else {
        return Forward::Raw;
    };
    let denied: Vec<bool> = items
        .iter()
        .map(|m| {
            let tool = m
                .pointer("/params/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            m.get("method").and_then(Value::as_str) == Some("tools/call")
                && sh.allow.as_ref().is_some_and(|a| !a.contains(tool))
        })
        .collect();
    if !denied.contains(&true) {
        for m in &items {
            let _ = request(sh, m);
        }
        return Forward::Raw;
    }
    let mut answers = Vec::new();
    for (m, d) in items.iter().zip(denied) {
        if d {
            if let Err(Some(a)) = request(sh, m) {
                answers.push(a);
            }
        } else if let Some(id) = m.get("id").filter(|_| m.get("method").is_some()) {
            answers.push(json!({"jsonrpc": "2.0", "id": id, "error": {
                "code": DENIED_CODE,
                "message": "mcpsweep guard: refused with the rest of its batch, which holds a tool call outside the allowlist",
            }}));
        }
    }
    if !answers.is_empty() {
        let _ = out.send(serde_json::to_vec(&answers).unwrap_or_default());
    }
    Forward::Nothing
}

/// The server-to-client direction: screening, logging, manifest pinning.
struct Relay<'a> {
    scanner: &'a Scanner,
    shared: Arc<Shared>,
    pin: ToolPin,
    redact: bool,
}

impl Relay<'_> {
    /// The bytes to send the client for one server message: the message itself unless
    /// guard changed it.
    fn relay_from_server(&mut self, frame: Frame) -> Vec<u8> {
        if is_batch(&frame.raw) {
            let Ok(mut items) = serde_json::from_slice::<Vec<Value>>(&frame.raw) else {
                return frame.raw;
            };
            let mut changed = false;
            for m in &mut items {
                let pending = match (m.get("id"), m.get("method")) {
                    (Some(id), None) => self.take_pending(id),
                    _ => None,
                };
                if let Some(p) = pending {
                    changed |= self.answer(p, m);
                }
            }
            return if changed {
                serde_json::to_vec(&items).unwrap_or(frame.raw)
            } else {
                frame.raw
            };
        }
        let Ok(head) = serde_json::from_slice::<Head>(&frame.raw) else {
            return frame.raw;
        };
        match (&head.id, head.method.as_deref()) {
            (_, Some("notifications/tools/list_changed")) => {
                self.shared.notice(
                    "the server says its tool list changed; the next tools/list the client asks for is compared with the pin",
                );
                frame.raw
            }
            (Some(id), None) => {
                let Some(p) = self.take_pending(id) else {
                    return frame.raw;
                };
                let Ok(mut msg) = serde_json::from_slice::<Value>(&frame.raw) else {
                    return frame.raw;
                };
                if self.answer(p, &mut msg) {
                    serde_json::to_vec(&msg).unwrap_or(frame.raw)
                } else {
                    frame.raw
                }
            }
            _ => frame.raw,
        }
    }

    fn take_pending(&self, id: &Value) -> Option<Pending> {
        self.shared
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id_key(id))
    }

    /// Handles the answer to a followed request; returns whether `msg` was changed.
    fn answer(&mut self, p: Pending, msg: &mut Value) -> bool {
        match &p.kind {
            Kind::ToolCall { tool, params } => self.tool_answer(&p, tool, params, msg),
            Kind::Read { method, what } => self.read_answer(method, what, msg),
            Kind::ToolsList { first_page } => {
                if let Some(result) = msg.get("result") {
                    self.tools_list(*first_page, result);
                }
                false
            }
            Kind::Initialize => {
                if let Some(result) = msg.get("result") {
                    self.pin.set_server(result);
                }
                false
            }
        }
    }

    fn tool_answer(&mut self, p: &Pending, tool: &str, params: &Value, msg: &mut Value) -> bool {
        let now = SystemTime::now();
        let duration_ms = (p.started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        let Some(result) = msg.get("result") else {
            let error = msg.get("error");
            self.shared.log(|l| {
                l.tool(
                    p.ts,
                    &ToolInvoked {
                        tool,
                        params,
                        outcome: Outcome::Allowed,
                        request_id: &p.id,
                        response: None,
                        error,
                        response_ts: Some(log::log_ts(now)),
                        duration_ms: Some(duration_ms),
                        screen: None,
                        note: None,
                    },
                )
            });
            return false;
        };
        let verdict = self.scanner.scan_result(result);
        let (record, replacement) = self.decide(&verdict, result, &format!("tools/call {tool:?}"));
        self.shared.log(|l| {
            l.tool(
                p.ts,
                &ToolInvoked {
                    tool,
                    params,
                    outcome: Outcome::Allowed,
                    request_id: &p.id,
                    response: Some(result),
                    error: None,
                    response_ts: Some(log::log_ts(now)),
                    duration_ms: Some(duration_ms),
                    screen: Some(&record),
                    note: None,
                },
            )
        });
        match replacement {
            Some(Replacement::Redacted(r)) => {
                msg["result"] = r;
                true
            }
            Some(Replacement::Blocked) => {
                let text = format!(
                    "Blocked by mcpsweep guard: the result of tool {tool:?} contains text that reads as injected instructions (rules {}; severity {}). Its content was withheld and recorded for review.",
                    record.rule_ids.join(", "),
                    verdict.max_severity.map_or("none", |s| s.as_str()),
                );
                msg["result"] =
                    json!({"content": [{"type": "text", "text": text}], "isError": true});
                true
            }
            None => false,
        }
    }

    /// `resources/read` and `prompts/get`: a blocked answer becomes a JSON-RPC error (these
    /// results have no error flag a client would honour), a redacted one passes.
    fn read_answer(&mut self, method: &str, what: &str, msg: &mut Value) -> bool {
        let Some(result) = msg.get("result") else {
            return false;
        };
        let verdict = self.scanner.scan_result(result);
        let (record, replacement) = self.decide(&verdict, result, &format!("{method} {what:?}"));
        match replacement {
            Some(Replacement::Redacted(r)) => {
                msg["result"] = r;
                true
            }
            Some(Replacement::Blocked) => {
                let id = msg.get("id").cloned().unwrap_or(Value::Null);
                *msg = json!({"jsonrpc": "2.0", "id": id, "error": {
                    "code": BLOCKED_CODE,
                    "message": format!(
                        "mcpsweep guard blocked this {method} result: it contains text that reads as injected instructions (rules {})",
                        record.rule_ids.join(", ")
                    ),
                    "data": {"rule_ids": record.rule_ids, "max_severity": verdict.max_severity},
                }});
                true
            }
            None => false,
        }
    }

    /// Allow, redact or block, with the record for the log (and a notice when not allowed).
    fn decide(
        &self,
        verdict: &ScreenVerdict,
        result: &Value,
        what: &str,
    ) -> (ScreenRecord, Option<Replacement>) {
        if !verdict.is_blocked() {
            return (ScreenRecord::new("allow", verdict, Vec::new()), None);
        }
        let mut note = None;
        if self.redact {
            let mut copy = result.clone();
            match self.scanner.redact_result(&mut copy, verdict) {
                Ok(r) => {
                    self.shared.count(|c| c.redacted += 1);
                    self.shared.notice(&format!(
                        "redacted {} span(s) of the {what} result ({})",
                        r.spans,
                        r.rule_ids.join(", ")
                    ));
                    let rec = ScreenRecord::new("redact", verdict, r.rule_ids);
                    return (rec, Some(Replacement::Redacted(copy)));
                }
                Err(why) => note = Some(format!("could not redact: {why}")),
            }
        }
        self.shared.count(|c| c.blocked += 1);
        self.shared.notice(&format!(
            "blocked the {what} result ({}; {})",
            verdict.rule_ids.join(", "),
            verdict.max_severity.map_or("none", |s| s.as_str())
        ));
        let mut rec = ScreenRecord::new("block", verdict, verdict.rule_ids.clone());
        rec.note = note;
        (rec, Some(Replacement::Blocked))
    }

    fn tools_list(&mut self, first_page: bool, result: &Value) {
        let ts = log::log_ts(SystemTime::now());
        match self.pin.page(first_page, result, &ts) {
            PageOutcome::Compared { events } => {
                let label = self.pin.label().to_string();
                for e in &events {
                    self.shared.count(|c| c.drift_events += 1);
                    self.shared.log(|l| l.drift(e, &label));
                    let against = if label == pin::FIRST_LIST {
                        format!("the {label}")
                    } else {
                        format!("baseline {label}")
                    };
                    self.shared.notice(&format!(
                        "tool manifest drift against {against}: {} {} ({})",
                        e.change.as_str(),
                        e.tool.as_deref().unwrap_or("server instructions"),
                        e.fields.join(", ")
                    ));
                }
            }
            PageOutcome::Invalid(why) => self
                .shared
                .notice(&format!("tools/list answer not compared: {why}")),
            PageOutcome::Pinned { .. } | PageOutcome::Incomplete => {}
        }
    }

    /// Tool calls still waiting when the session ends are logged without a response.
    fn unanswered(&mut self) {
        let left: Vec<Pending> = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, p)| p)
            .collect();
        let mut calls: Vec<&Pending> = left
            .iter()
            .filter(|p| matches!(p.kind, Kind::ToolCall { .. }))
            .collect();
        calls.sort_by_key(|p| p.ts);
        for p in calls {
            if let Kind::ToolCall { tool, params } = &p.kind {
                self.shared.log(|l| {
                    l.tool(
                        p.ts,
                        &ToolInvoked {
                            tool,
                            params,
                            outcome: Outcome::Allowed,
                            request_id: &p.id,
                            response: None,
                            error: None,
                            response_ts: None,
                            duration_ms: None,
                            screen: None,
                            note: Some("no answer before the session ended"),
                        },
                    )
                });
            }
        }
    }
}

enum Replacement {
    Redacted(Value),
    Blocked,
}
