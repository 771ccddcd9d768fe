//! MCP client logic over a [`StdioProcess`]: the `initialize` handshake, requests with a
//! timeout each, `tools/list` with pagination, and answers to the server's own requests.

use std::process::ExitStatus;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::jsonrpc::{Message, RpcError, METHOD_NOT_FOUND};
use super::transport::{Recv, ServerCommand, StdioProcess};
use super::McpError;

/// The protocol version this client asks for; the server may answer with another one, which
/// is accepted and recorded (`tools/list` has the same shape in every published version).
pub const PROTOCOL_VERSION: &str = "2025-06-18";

/// Protocol versions published so far; another answer is accepted with a warning.
pub const KNOWN_PROTOCOL_VERSIONS: &[&str] =
    &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// Unsolicited notifications kept (a chatty server cannot fill memory).
pub const MAX_NOTIFICATIONS: usize = 1000;

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Longest wait for the answer to any one request (and for the server to start).
    pub timeout: Duration,
    pub protocol_version: String,
    pub client_name: String,
    pub client_version: String,
    /// Capabilities declared in `initialize`. Some servers list more tools to clients that
    /// declare roots, sampling or elicitation; the default declares none.
    pub capabilities: Value,
    /// Most `tools/list` pages followed before giving up (a server that never stops paging).
    pub max_pages: usize,
    /// How long a server may take to exit after its stdin is closed before it is killed.
    pub shutdown_grace: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            protocol_version: PROTOCOL_VERSION.to_string(),
            client_name: "mcpsweep".to_string(),
            client_version: env!("CARGO_PKG_VERSION").to_string(),
            capabilities: json!({}),
            max_pages: 1000,
            shutdown_grace: Duration::from_secs(2),
        }
    }
}

/// What the server said about itself in its `initialize` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The protocol version the server chose.
    pub protocol_version: String,
    /// Text the server asks clients to give the model (it reaches the model like a tool
    /// description does, so it is hashed and scanned too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    #[serde(default)]
    pub capabilities: Value,
}

/// Every tool of a `tools/list`, all pages joined.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolList {
    /// Tool objects exactly as the server sent them.
    pub tools: Vec<Value>,
    /// How many `tools/list` requests it took.
    pub pages: usize,
}

/// A connected, initialized MCP client session with one server process.
pub struct Client {
    process: StdioProcess,
    options: ClientOptions,
    next_id: i64,
    server: ServerInfo,
    /// Notifications the server sent that nobody asked for (e.g. `notifications/message`).
    notifications: Vec<Value>,
}

impl Client {
    /// Starts the server, runs the `initialize` handshake and sends
    /// `notifications/initialized`.
    pub fn connect(cmd: &ServerCommand, options: ClientOptions) -> Result<Client, McpError> {
        let process = StdioProcess::spawn(cmd).map_err(|source| McpError::Spawn {
            command: cmd.display(),
            source,
        })?;
        let mut client = Client {
            process,
            options,
            next_id: 1,
            server: ServerInfo {
                name: String::new(),
                version: String::new(),
                title: None,
                protocol_version: String::new(),
                instructions: None,
                capabilities: Value::Null,
            },
            notifications: Vec::new(),
        };
        let params = json!({
            "protocolVersion": client.options.protocol_version,
            "capabilities": client.options.capabilities,
            "clientInfo": {"name": client.options.client_name, "version": client.options.client_version},
        });
        let result = client.request("initialize", params)?;
        client.server = client.read_initialize(&result)?;
        client.notify("notifications/initialized", None)?;
        Ok(client)
    }

    pub fn server(&self) -> &ServerInfo {
        &self.server
    }

    pub fn command(&self) -> &str {
        self.process.command()
    }

    /// Notifications received so far (the first [`MAX_NOTIFICATIONS`]).
    pub fn notifications(&self) -> &[Value] {
        &self.notifications
    }

    /// The captured end of the server's stderr.
    pub fn stderr_tail(&self) -> String {
        self.process.stderr_tail()
    }

    /// Whether the protocol version the server chose is one this client knows.
    pub fn protocol_version_known(&self) -> bool {
        KNOWN_PROTOCOL_VERSIONS.contains(&self.server.protocol_version.as_str())
    }

    fn read_initialize(&self, result: &Value) -> Result<ServerInfo, McpError> {
        let protocol = |reason: String| self.protocol_error("initialize", reason);
        let version = result
            .get("protocolVersion")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| protocol("initialize result has no \"protocolVersion\"".into()))?;
        let info = result.get("serverInfo");
        let field = |k: &str| {
            info.and_then(|i| i.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Ok(ServerInfo {
            name: field("name").unwrap_or_default(),
            version: field("version").unwrap_or_default(),
            title: field("title"),
            protocol_version: version.to_string(),
            instructions: result
                .get("instructions")
                .and_then(Value::as_str)
                .map(str::to_string),
            capabilities: result.get("capabilities").cloned().unwrap_or(Value::Null),
        })
    }

    /// Sends a request and waits (up to the timeout) for its answer, answering the server's
    /// own requests in the meantime.
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, McpError> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = Message::Request {
            id: json!(id),
            method: method.to_string(),
            params: Some(params),
        };
        self.send(&msg.to_value(), method)?;
        let deadline = Instant::now() + self.options.timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = match self.process.recv(left) {
                Recv::Frame(f) => f,
                Recv::Timeout => {
                    return Err(McpError::Timeout {
                        command: self.command().to_string(),
                        method: method.to_string(),
                        timeout: self.options.timeout,
                        stderr: self.process.stderr_tail(),
                    })
                }
                Recv::Closed { status } => return Err(self.exited(method, status)),
                Recv::Failed(reason) => {
                    return Err(self.protocol_error(method, format!("reading stdout: {reason}")))
                }
            };
            let value = frame.json().map_err(|reason| McpError::NotJson {
                command: self.command().to_string(),
                during: method.to_string(),
                line: frame.line,
                detail: format!("{} ({reason})", frame.excerpt(200)),
                stderr: self.process.stderr_tail(),
            })?;
            // JSON-RPC batches (allowed before 2025-06-18) are taken apart.
            let messages = match value {
                Value::Array(items) => items,
                v => vec![v],
            };
            for v in messages {
                let msg = Message::from_value(&v).map_err(|reason| {
                    self.protocol_error(method, format!("line {}: {reason}", frame.line))
                })?;
                match msg {
                    Message::Response { id: rid, result } if rid == json!(id) => {
                        return result.map_err(|e: RpcError| McpError::Rpc {
                            command: self.command().to_string(),
                            method: method.to_string(),
                            code: e.code,
                            message: e.message,
                            data: e.data.map(Box::new),
                        });
                    }
                    // An answer to an earlier request that timed out: stale, dropped.
                    Message::Response { .. } => {}
                    Message::Request { id, method: m, .. } => self.answer(id, &m, method)?,
                    Message::Notification { .. } => {
                        if self.notifications.len() < MAX_NOTIFICATIONS {
                            self.notifications.push(v);
                        }
                    }
                }
            }
        }
    }

    /// Sends a notification (no answer expected).
    pub fn notify(&mut self, method: &str, params: Option<Value>) -> Result<(), McpError> {
        let msg = Message::Notification {
            method: method.to_string(),
            params,
        };
        self.send(&msg.to_value(), method)
    }

    /// Every tool, following `nextCursor` until the server stops returning one.
    pub fn list_tools(&mut self) -> Result<ToolList, McpError> {
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        let mut pages = 0;
        loop {
            let params = match &cursor {
                Some(c) => json!({ "cursor": c }),
                None => json!({}),
            };
            let result = self.request("tools/list", params)?;
            pages += 1;
            let page = result
                .get("tools")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    self.protocol_error("tools/list", "result has no \"tools\" array".into())
                })?;
            tools.extend(page.iter().cloned());
            cursor = match result.get("nextCursor") {
                None | Some(Value::Null) => None,
                Some(Value::String(c)) if !c.is_empty() => Some(c.clone()),
                Some(Value::String(_)) => None,
                Some(other) => {
                    return Err(self.protocol_error(
                        "tools/list",
                        format!(
                            "\"nextCursor\" is a {}, not a string",
                            super::jsonrpc::kind(other)
                        ),
                    ))
                }
            };
            let Some(c) = &cursor else {
                return Ok(ToolList { tools, pages });
            };
            if !seen.insert(c.clone()) {
                return Err(self.protocol_error(
                    "tools/list",
                    format!("cursor {c:?} came back a second time (pagination loop)"),
                ));
            }
            if pages >= self.options.max_pages {
                return Err(
                    self.protocol_error("tools/list", format!("still paging after {pages} pages"))
                );
            }
        }
    }

    /// Ends the session: closes the server's stdin, waits briefly, then kills it. Returns
    /// the exit status if it exited by itself.
    pub fn close(self) -> Option<ExitStatus> {
        self.process.shutdown(self.options.shutdown_grace)
    }

    /// The server asked us something: `ping` is answered, anything else is "method not
    /// found" (this client offers no roots, sampling or elicitation).
    fn answer(&mut self, id: Value, method: &str, during: &str) -> Result<(), McpError> {
        let result = if method == "ping" {
            Ok(json!({}))
        } else {
            Err(RpcError {
                code: METHOD_NOT_FOUND,
                message: format!("method not supported by this client: {method}"),
                data: None,
            })
        };
        self.send(&Message::Response { id, result }.to_value(), during)
    }

    fn send(&mut self, msg: &Value, during: &str) -> Result<(), McpError> {
        match self.process.send(msg) {
            Ok(()) => Ok(()),
            // A closed pipe means the server is gone; say so with its exit status.
            Err(_) => {
                let status = self.process.wait_exit(Duration::from_millis(500));
                Err(self.exited(during, status))
            }
        }
    }

    fn exited(&self, during: &str, status: Option<ExitStatus>) -> McpError {
        McpError::Exited {
            command: self.command().to_string(),
            during: during.to_string(),
            status: match status {
                Some(s) => s.to_string(),
                None => "closed its stdout, still running".to_string(),
            },
            stderr: self.process.stderr_tail(),
        }
    }

    fn protocol_error(&self, during: &str, reason: String) -> McpError {
        McpError::Protocol {
            command: self.command().to_string(),
            during: during.to_string(),
            reason,
            stderr: self.process.stderr_tail(),
        }
    }
}

/// Connects, lists every tool and disconnects: what `manifest pin --server` needs.
pub fn fetch_tools(
    cmd: &ServerCommand,
    options: ClientOptions,
) -> Result<(ServerInfo, ToolList), McpError> {
    let mut client = Client::connect(cmd, options)?;
    let tools = client.list_tools()?;
    let info = client.server().clone();
    client.close();
    Ok((info, tools))
}
