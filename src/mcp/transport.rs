//! MCP stdio transport: newline-delimited JSON-RPC messages over a child process's standard
//! input and output, with its standard error captured (bounded) for error messages.
//!
//! Framing ([`FrameReader`], [`write_frame`]) works on any reader and writer, so a proxy can
//! use it on its own standard input and output too. [`StdioProcess`] owns a server process: a
//! thread reads its stdout into frames, another keeps the tail of its stderr, and dropping it
//! kills the process, so an error path never leaves a server running.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Longest message accepted, in bytes; a longer line ends the stream (protects memory against
/// a server that prints without newlines).
pub const MAX_FRAME_BYTES: usize = 64 << 20;

/// Bytes of the server's standard error kept for error messages (the last ones).
pub const STDERR_TAIL_BYTES: usize = 8 << 10;

/// One message line, without its line terminator, not yet parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// 1-based line number in the stream (blank lines count).
    pub line: u64,
    pub raw: Vec<u8>,
}

impl Frame {
    /// The line as JSON; the error says why it is not.
    pub fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.raw).map_err(|e| e.to_string())
    }

    /// The line for an error message: lossy UTF-8, invisible characters escaped, at most
    /// `max` characters.
    pub fn excerpt(&self, max: usize) -> String {
        let text = String::from_utf8_lossy(&self.raw);
        let mut out = String::new();
        crate::detect::escape_into(&mut out, &text.chars().take(max).collect::<String>());
        if text.chars().count() > max {
            out.push('…');
        }
        out
    }
}

/// Reads newline-delimited frames from any buffered reader. Blank lines are skipped and a
/// trailing `\r` is dropped.
pub struct FrameReader<R> {
    inner: R,
    line: u64,
    max: usize,
}

impl<R: BufRead> FrameReader<R> {
    pub fn new(inner: R) -> Self {
        FrameReader {
            inner,
            line: 0,
            max: MAX_FRAME_BYTES,
        }
    }

    pub fn with_max(inner: R, max: usize) -> Self {
        FrameReader {
            inner,
            line: 0,
            max,
        }
    }

    /// The next frame; `None` at end of stream. A line longer than the limit is an
    /// `InvalidData` error (the rest of the stream is not read).
    pub fn read_frame(&mut self) -> io::Result<Option<Frame>> {
        loop {
            let mut buf = Vec::new();
            let complete = self.read_line_bounded(&mut buf)?;
            if buf.is_empty() && !complete {
                return Ok(None);
            }
            self.line += 1;
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                if complete {
                    continue;
                }
                return Ok(None);
            }
            return Ok(Some(Frame {
                line: self.line,
                raw: buf,
            }));
        }
    }

    /// Reads up to and excluding the next `\n`; returns whether a newline ended the line.
    fn read_line_bounded(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(false);
            }
            let (take, done) = match memchr::memchr(b'\n', available) {
                Some(i) => (i, true),
                None => (available.len(), false),
            };
            if buf.len() + take > self.max {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "line {} is longer than {} bytes without a newline",
                        self.line + 1,
                        self.max
                    ),
                ));
            }
            buf.extend_from_slice(&available[..take]);
            self.inner.consume(if done { take + 1 } else { take });
            if done {
                return Ok(true);
            }
        }
    }
}

/// Writes one message as a single line and flushes. serde_json never emits a raw newline, so
/// the framing cannot be broken by message content.
pub fn write_frame<W: Write>(w: &mut W, msg: &Value) -> io::Result<()> {
    let mut bytes = serde_json::to_vec(msg).map_err(io::Error::other)?;
    bytes.push(b'\n');
    w.write_all(&bytes)?;
    w.flush()
}

/// Writes an already serialized message (e.g. one a proxy forwards unchanged). Refuses bytes
/// that contain a newline, which would split the message in two.
pub fn write_raw_frame<W: Write>(w: &mut W, raw: &[u8]) -> io::Result<()> {
    if memchr::memchr(b'\n', raw).is_some() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a message must not contain a newline",
        ));
    }
    w.write_all(raw)?;
    w.write_all(b"\n")?;
    w.flush()
}

/// How to start an MCP server: program, arguments, extra environment, working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCommand {
    pub program: OsString,
    pub args: Vec<OsString>,
    /// Variables added to (or overriding) the inherited environment.
    pub env: Vec<(OsString, OsString)>,
    pub cwd: Option<PathBuf>,
}

impl ServerCommand {
    pub fn new<I, S>(program: impl Into<OsString>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        ServerCommand {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            cwd: None,
        }
    }

    /// `argv[0]` is the program; `None` when `argv` is empty.
    pub fn from_argv<S: Into<OsString> + Clone>(argv: &[S]) -> Option<Self> {
        let (first, rest) = argv.split_first()?;
        Some(ServerCommand::new(first.clone(), rest.iter().cloned()))
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Program and arguments as strings (lossy), for records and messages.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }

    /// The command line for messages, arguments with spaces quoted.
    pub fn display(&self) -> String {
        self.argv()
            .iter()
            .map(|a| {
                if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '\'') {
                    format!("'{}'", a.replace('\'', "'\\''"))
                } else {
                    a.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What the stdout reader thread saw.
#[derive(Debug)]
enum ReadEvent {
    Frame(Frame),
    /// End of stream: the server closed stdout (usually it exited).
    Closed,
    /// Reading failed (an over-long line, an I/O error).
    Failed(String),
}

/// What [`StdioProcess::recv`] returns.
#[derive(Debug)]
pub enum Recv {
    Frame(Frame),
    /// Nothing arrived in time.
    Timeout,
    /// The server closed its stdout; `status` is its exit status if it has exited.
    Closed {
        status: Option<ExitStatus>,
    },
    /// Reading stdout failed.
    Failed(String),
}

/// The last bytes a process wrote to stderr.
#[derive(Debug, Default)]
struct Tail {
    bytes: VecDeque<u8>,
    total: u64,
}

/// A running MCP server speaking over stdio.
pub struct StdioProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    events: Receiver<ReadEvent>,
    stderr: Arc<Mutex<Tail>>,
    stderr_done: Receiver<()>,
    command: String,
    /// Set once the stdout stream has ended, so later receives say so at once.
    closed: bool,
}

impl StdioProcess {
    /// Starts the server with piped stdin, stdout and stderr.
    pub fn spawn(cmd: &ServerCommand) -> io::Result<StdioProcess> {
        StdioProcess::spawn_forwarding_stderr(cmd, None)
    }

    /// Like [`StdioProcess::spawn`], and everything the server writes to stderr is also
    /// copied to `forward` as it arrives (a proxy passes its server's log on to its host).
    pub fn spawn_forwarding_stderr(
        cmd: &ServerCommand,
        forward: Option<Box<dyn Write + Send>>,
    ) -> io::Result<StdioProcess> {
        let mut command = Command::new(&cmd.program);
        command
            .args(&cmd.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &cmd.env {
            command.env(k, v);
        }
        if let Some(dir) = &cmd.cwd {
            command.current_dir(dir);
        }
        let mut child = command.spawn()?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("child stdout was not piped"))?;
        let stderr_pipe = child
            .stderr
            .take()
            .ok_or_else(|| io::Error::other("child stderr was not piped"))?;

        let (tx, events) = mpsc::channel();
        thread::Builder::new()
            .name("mcp-stdout".into())
            .spawn(move || {
                let mut reader = FrameReader::new(BufReader::new(stdout));
                loop {
                    let event = match reader.read_frame() {
                        Ok(Some(f)) => ReadEvent::Frame(f),
                        Ok(None) => ReadEvent::Closed,
                        Err(e) => ReadEvent::Failed(e.to_string()),
                    };
                    let last = !matches!(event, ReadEvent::Frame(_));
                    if tx.send(event).is_err() || last {
                        return;
                    }
                }
            })?;

        let stderr = Arc::new(Mutex::new(Tail::default()));
        let sink = Arc::clone(&stderr);
        let (done_tx, stderr_done) = mpsc::channel();
        thread::Builder::new()
            .name("mcp-stderr".into())
            .spawn(move || {
                let mut pipe = stderr_pipe;
                let mut forward = forward;
                let mut chunk = [0u8; 4096];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => {
                            if let Some(w) = forward.as_mut() {
                                // A closed destination must not stop the draining.
                                if w.write_all(&chunk[..n]).and_then(|_| w.flush()).is_err() {
                                    forward = None;
                                }
                            }
                            if let Ok(mut t) = sink.lock() {
                                t.total += n as u64;
                                t.bytes.extend(&chunk[..n]);
                                let excess = t.bytes.len().saturating_sub(STDERR_TAIL_BYTES);
                                t.bytes.drain(..excess);
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    }
                }
                let _ = done_tx.send(());
            })?;

        Ok(StdioProcess {
            child,
            stdin,
            events,
            stderr,
            stderr_done,
            command: cmd.display(),
            closed: false,
        })
    }

    /// The command line it was started with (for messages).
    pub fn command(&self) -> &str {
        &self.command
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Takes the server's stdin, so that another thread can write to it while this one
    /// receives; [`StdioProcess::send`] fails afterwards. Dropping it closes the pipe.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.stdin.take()
    }

    /// Asks the server to stop (SIGTERM), if it is still running.
    pub fn terminate(&mut self) {
        if self.try_status().is_none() {
            // Not reaped yet, so the pid is still this child's.
            if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
            }
        }
    }

    /// Kills the server (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Sends one message.
    pub fn send(&mut self, msg: &Value) -> io::Result<()> {
        let stdin = self.stdin.as_mut().ok_or_else(closed_stdin)?;
        write_frame(stdin, msg)
    }

    /// Sends one already serialized message line (without its newline).
    pub fn send_raw(&mut self, raw: &[u8]) -> io::Result<()> {
        let stdin = self.stdin.as_mut().ok_or_else(closed_stdin)?;
        write_raw_frame(stdin, raw)
    }

    /// Waits up to `timeout` for the next frame from the server.
    pub fn recv(&mut self, timeout: Duration) -> Recv {
        if self.closed {
            return Recv::Closed {
                status: self.wait_exit(Duration::from_millis(500)),
            };
        }
        match self.events.recv_timeout(timeout) {
            Ok(ReadEvent::Frame(f)) => Recv::Frame(f),
            Ok(ReadEvent::Closed) | Err(RecvTimeoutError::Disconnected) => {
                self.closed = true;
                Recv::Closed {
                    status: self.wait_exit(Duration::from_millis(500)),
                }
            }
            Ok(ReadEvent::Failed(reason)) => {
                self.closed = true;
                Recv::Failed(reason)
            }
            Err(RecvTimeoutError::Timeout) => Recv::Timeout,
        }
    }

    /// The last [`STDERR_TAIL_BYTES`] the server wrote to stderr (lossy UTF-8), prefixed with
    /// `…` when earlier output was dropped.
    pub fn stderr_tail(&self) -> String {
        // Give the stderr thread a moment to drain what a crashing server just wrote.
        if self.closed {
            let _ = self.stderr_done.recv_timeout(Duration::from_millis(200));
        }
        let Ok(t) = self.stderr.lock() else {
            return String::new();
        };
        let bytes: Vec<u8> = t.bytes.iter().copied().collect();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if t.total > t.bytes.len() as u64 {
            format!("…{text}")
        } else {
            text
        }
    }

    /// The exit status if the process has exited.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `grace` for the process to exit on its own.
    pub fn wait_exit(&mut self, grace: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Clean shutdown as the MCP stdio transport describes it: close the server's stdin, wait
    /// up to `grace` for it to exit, then kill it. Returns its exit status (`None` if it had
    /// to be killed).
    pub fn shutdown(mut self, grace: Duration) -> Option<ExitStatus> {
        self.stdin = None; // closes the pipe
        let status = self.wait_exit(grace);
        if status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        status
    }
}

impl Drop for StdioProcess {
    fn drop(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn closed_stdin() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "server stdin already closed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_on_newlines_and_skip_blank_lines() {
        let input = b"{\"a\":1}\r\n\n  \n{\"b\":2}";
        let mut r = FrameReader::new(&input[..]);
        let f1 = r.read_frame().unwrap().unwrap();
        assert_eq!((f1.line, f1.raw.as_slice()), (1, &b"{\"a\":1}"[..]));
        let f2 = r.read_frame().unwrap().unwrap();
        assert_eq!((f2.line, f2.raw.as_slice()), (4, &b"{\"b\":2}"[..]));
        assert!(r.read_frame().unwrap().is_none());
    }

    #[test]
    fn overlong_line_is_an_error() {
        let input = [b'x'; 100];
        let mut r = FrameReader::with_max(&input[..], 10);
        let err = r.read_frame().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("longer than 10 bytes"), "{err}");
    }

    #[test]
    fn raw_frames_with_newlines_are_refused() {
        let mut out = Vec::new();
        assert!(write_raw_frame(&mut out, b"{}\n{}").is_err());
        write_raw_frame(&mut out, b"{}").unwrap();
        write_frame(&mut out, &serde_json::json!({"s": "a\nb"})).unwrap();
        assert_eq!(out, b"{}\n{\"s\":\"a\\nb\"}\n");
    }
}
