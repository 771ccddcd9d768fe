//! A small MCP client over stdio: start a server, `initialize`, list its tools, stop it.
//!
//! [`transport`] frames newline-delimited JSON-RPC over a child process (or any reader and
//! writer); [`jsonrpc`] classifies messages; [`client`] holds the protocol logic (handshake,
//! requests with a timeout each, `tools/list` pagination, answering the server's own requests).
//!
//! ```no_run
//! use mcpsweep::mcp::{Client, ClientOptions, ServerCommand};
//!
//! let cmd = ServerCommand::new("node", ["server.js"]);
//! let mut client = Client::connect(&cmd, ClientOptions::default())?;
//! println!("{} {}", client.server().name, client.server().version);
//! let tools = client.list_tools()?;
//! println!("{} tools in {} pages", tools.tools.len(), tools.pages);
//! client.close();
//! # Ok::<(), mcpsweep::mcp::McpError>(())
//! ```

pub mod client;
pub mod jsonrpc;
pub mod transport;

use std::time::Duration;

pub use client::{Client, ClientOptions, ServerInfo, ToolList, PROTOCOL_VERSION};
pub use transport::{Frame, FrameReader, Recv, ServerCommand, StdioProcess};

/// Why talking to an MCP server failed. Every variant names the server command, and those
/// where the server misbehaved carry the end of its stderr, which usually says why.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("cannot start MCP server `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "MCP server `{command}` exited during {during} ({status}){}",
        stderr_note(stderr)
    )]
    Exited {
        command: String,
        during: String,
        /// "exit status: 1", "still running", ...
        status: String,
        stderr: String,
    },
    #[error("MCP server `{command}` printed something that is not JSON on stdout during {during} (line {line}): {detail}{}", stderr_note(stderr))]
    NotJson {
        command: String,
        during: String,
        line: u64,
        /// The line (escaped, shortened) and why it is not JSON.
        detail: String,
        stderr: String,
    },
    #[error(
        "MCP server `{command}` answered {method} with JSON-RPC error {code}: {}",
        printable(message)
    )]
    Rpc {
        command: String,
        method: String,
        code: i64,
        message: String,
        data: Option<Box<serde_json::Value>>,
    },
    #[error("MCP server `{command}` did not answer {method} within {} s{}", timeout.as_secs_f64(), stderr_note(stderr))]
    Timeout {
        command: String,
        method: String,
        timeout: Duration,
        stderr: String,
    },
    #[error(
        "MCP server `{command}` broke the protocol during {during}: {reason}{}",
        stderr_note(stderr)
    )]
    Protocol {
        command: String,
        during: String,
        reason: String,
        stderr: String,
    },
}

impl McpError {
    /// The captured tail of the server's stderr, when the error carries it.
    pub fn stderr(&self) -> Option<&str> {
        match self {
            McpError::Exited { stderr, .. }
            | McpError::NotJson { stderr, .. }
            | McpError::Timeout { stderr, .. }
            | McpError::Protocol { stderr, .. } => Some(stderr),
            _ => None,
        }
    }
}

fn stderr_note(stderr: &str) -> String {
    let s = stderr.trim_end();
    if s.is_empty() {
        "; it wrote nothing to stderr".to_string()
    } else {
        let indented: Vec<String> = s.lines().map(|l| format!("    {}", printable(l))).collect();
        format!("; its stderr ends with:\n{}", indented.join("\n"))
    }
}

/// Text from a server made safe to print on a terminal: control characters (terminal escape
/// sequences included) and invisible format characters (bidi controls, zero-width, Unicode
/// tags) shown as `\u{XXXX}`; spaces and tabs kept.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let invisible = matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{E0000}'..='\u{E007F}');
        if (c.is_control() && c != '\t') || invisible {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}
