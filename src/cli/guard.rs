//! `mcpsweep guard -- CMD ARGS...`: run an MCP server behind the screening proxy.

use std::ffi::OsString;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use mcpsweep::finding::Severity;
use mcpsweep::guard::log::{new_session_id, SessionInfo};
use mcpsweep::guard::{self, Ended, GuardConfig};
use mcpsweep::mcp::ServerCommand;
use mcpsweep::screen::{Scanner, ScannerConfig};

#[derive(Args)]
pub struct GuardArgs {
    /// Block a response when a finding is at or above this severity.
    #[arg(long, default_value = "medium", value_name = "SEVERITY")]
    block_at: Severity,
    /// Tools the client may call (repeatable, or comma-separated); a call to any other tool
    /// is answered with a JSON-RPC error and never reaches the server. Default: all.
    #[arg(long = "allow-tool", value_name = "NAME", value_delimiter = ',', num_args = 1..)]
    allow_tools: Vec<String>,
    /// Append the session log (JSON Lines, the format `mcpsweep triage` reads) to FILE.
    #[arg(long, value_name = "SESSION.jsonl")]
    log: Option<PathBuf>,
    /// Compare every tools/list with this baseline (from `manifest pin`, or any manifest
    /// file) instead of pinning the first tools/list of the session.
    #[arg(long, value_name = "FILE")]
    manifest_baseline: Option<PathBuf>,
    /// Deliver blocked results with each offending sentence replaced by
    /// `[REDACTED by mcpsweep: RULE]` instead of withholding them.
    #[arg(long)]
    redact: bool,
    /// Agent identity for the session log.
    #[arg(long, value_name = "ID")]
    agent_id: Option<String>,
    /// Agent role for the session log.
    #[arg(long, value_name = "ROLE")]
    role: Option<String>,
    /// Declared task for the session log.
    #[arg(long, value_name = "TASK")]
    task: Option<String>,
    /// Session id for the log (default: `guard-<UTC time>-<pid>`).
    #[arg(long, value_name = "ID")]
    session_id: Option<String>,
    /// The organisation's own domain (and its subdomains); repeatable.
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    allow_domains: Vec<String>,
    /// Add rules from this directory (a rule with an embedded rule's id replaces it).
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Use only the rules in --rules DIR, not the embedded ones.
    #[arg(long)]
    rules_only: bool,
    /// Seconds the server gets to exit after the client leaves, before SIGTERM and again
    /// before SIGKILL.
    #[arg(long, default_value_t = 2.0, value_name = "SECS")]
    grace: f64,
    /// The MCP server command, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<OsString>,
}

/// The signal that asked guard to stop (0: none).
static STOP: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    STOP.store(sig, Ordering::Relaxed);
}

/// SIGINT, SIGTERM and SIGHUP set [`STOP`]; the relay sees it within 50 ms and stops the
/// server cleanly, writing `SESSION_END`.
fn install_signal_handlers() -> anyhow::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction is valid; the handler only stores to an atomic.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = libc::SA_RESTART;
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            anyhow::bail!(
                "cannot install a handler for signal {sig}: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    Ok(())
}

pub fn run(args: GuardArgs) -> anyhow::Result<i32> {
    if !(args.grace.is_finite() && args.grace >= 0.0) {
        anyhow::bail!("--grace must be a number of seconds, 0 or more");
    }
    let server =
        ServerCommand::from_argv(&args.command).context("guard needs a command after `--`")?;
    let scanner = Scanner::new(
        super::load_rules(args.rules.as_deref(), args.rules_only)?,
        ScannerConfig {
            block_at: args.block_at,
            allow_domains: args.allow_domains.clone(),
            ..ScannerConfig::default()
        },
    )?;
    let manifest_baseline = match &args.manifest_baseline {
        Some(path) => {
            let m = mcpsweep::manifest::from_file(path)?;
            for w in &m.integrity_mismatches {
                eprintln!(
                    "mcpsweep guard: warning: baseline {} altered: {w}",
                    path.display()
                );
            }
            Some((m, path.display().to_string()))
        }
        None => None,
    };
    let config = GuardConfig {
        allow_tools: (!args.allow_tools.is_empty()).then(|| args.allow_tools.clone()),
        redact: args.redact,
        log: args.log.clone(),
        session: SessionInfo {
            session_id: args.session_id.clone().unwrap_or_else(new_session_id),
            agent_id: args.agent_id.clone(),
            role: args.role.clone(),
            task: args.task.clone(),
            allowlist: None,
        },
        manifest_baseline,
        shutdown_grace: Duration::from_secs_f64(args.grace),
    };
    install_signal_handlers()?;
    // Our own descriptors, unbuffered (std's stdout would line-buffer multi-megabyte lines).
    let stdin = std::fs::File::from(std::io::stdin().as_fd().try_clone_to_owned()?);
    let stdout = std::fs::File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    let report = guard::run(
        std::sync::Arc::new(scanner),
        &server,
        config,
        stdin,
        stdout,
        Box::new(std::io::stderr()),
        &STOP,
    )?;
    let c = &report.counts;
    let how = match &report.ended {
        Ended::ServerExited { status } => format!(
            "the server exited ({})",
            status.map_or("killed after closing its output".into(), |s| s.to_string())
        ),
        Ended::ClientClosed { forced: true, .. } => {
            "the client closed; the server had to be stopped".into()
        }
        Ended::ClientClosed { .. } => "the client closed".into(),
        Ended::Signal(s) => format!("signal {s}"),
        Ended::ServerFailed(r) => format!("the server's output broke: {r}"),
    };
    eprintln!(
        "mcpsweep guard: session {} ended ({how}): {} tool calls, {} denied, {} blocked, {} redacted, {} manifest drift events",
        report.session_id, c.tool_calls, c.denied, c.blocked, c.redacted, c.drift_events
    );
    Ok(report.exit_code())
}
