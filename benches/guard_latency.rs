//! Latency `mcpsweep guard` adds per tool response: the same `tools/call` (a 16 KiB text
//! result of ordinary text from `tests/fixtures/mcp/guard-test-server.js`) sent many times,
//! one at a time, to the server directly and through guard (without and with a session
//! log), timing each round trip from writing the request to reading the whole answer.
//!
//! ```sh
//! cargo bench --bench guard_latency                 # 2000 calls per configuration
//! GUARD_BENCH_CALLS=5000 GUARD_BENCH_BYTES=65536 cargo bench --bench guard_latency
//! ```
//!
//! Prints p50/p90/p99/max per configuration and guard's added latency (guard minus direct,
//! at the same percentile). Needs `node`. Not criterion: the question is the tail of a
//! distribution across processes, which criterion's mean-centred statistics do not report.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Round-trip times of `calls` sequential `lorem` calls, after a warm-up.
fn run(mut cmd: Command, calls: usize, bytes: usize) -> Vec<Duration> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("start");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::with_capacity(1 << 20, child.stdout.take().unwrap());
    let mut line = Vec::new();
    // `expect`: the answer must be a full, unblocked result of at least that many bytes.
    let mut roundtrip = |id: usize, msg: String, expect: usize| -> Duration {
        let start = Instant::now();
        stdin.write_all(msg.as_bytes()).unwrap();
        stdin.flush().unwrap();
        line.clear();
        stdout.read_until(b'\n', &mut line).unwrap();
        let took = start.elapsed();
        assert!(!line.is_empty(), "no answer to request {id}");
        assert!(
            line.len() > expect && !line.windows(7).any(|w| w == b"isError"),
            "unexpected answer: {}",
            String::from_utf8_lossy(&line[..line.len().min(300)])
        );
        took
    };
    roundtrip(
        0,
        format!(
            "{}\n",
            serde_json::json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}})
        ),
        0,
    );
    let call = |id: usize| {
        format!(
            "{}\n",
            serde_json::json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":"lorem","arguments":{"bytes":bytes}}})
        )
    };
    let warm = (calls / 10).max(50);
    for i in 0..warm {
        roundtrip(i + 1, call(i + 1), bytes);
    }
    let times = (0..calls)
        .map(|i| roundtrip(warm + i + 1, call(warm + i + 1), bytes))
        .collect();
    drop(stdin);
    let _ = child.wait();
    times
}

fn pct(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1e6
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run then too,
    // briefly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let calls = env_usize("GUARD_BENCH_CALLS", if quick { 50 } else { 2000 });
    let bytes = env_usize("GUARD_BENCH_BYTES", 16 << 10);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let server = root.join("tests/fixtures/mcp/guard-test-server.js");
    let bin = env!("CARGO_BIN_EXE_mcpsweep");
    let log_dir = std::env::temp_dir().join(format!("guard-bench-{}", std::process::id()));
    std::fs::create_dir_all(&log_dir).unwrap();
    let log = log_dir.join("session.jsonl");

    let direct = || {
        let mut c = Command::new("node");
        c.arg(&server);
        c
    };
    let guarded = |extra: &[&str]| {
        let mut c = Command::new(bin);
        c.arg("guard")
            .args(extra)
            .arg("--")
            .arg("node")
            .arg(&server);
        c
    };
    let configs: Vec<(&str, Command)> = vec![
        ("direct", direct()),
        ("guard", guarded(&[])),
        ("guard --log", guarded(&["--log", log.to_str().unwrap()])),
    ];
    println!("guard latency: {calls} sequential tools/call, {bytes}-byte text result each (microseconds per round trip)");
    println!(
        "{:<14} {:>9} {:>9} {:>9} {:>9}",
        "", "p50", "p90", "p99", "max"
    );
    let mut rows = Vec::new();
    for (name, cmd) in configs {
        let mut t = run(cmd, calls, bytes);
        t.sort();
        let row = (pct(&t, 0.5), pct(&t, 0.9), pct(&t, 0.99), pct(&t, 1.0));
        println!(
            "{name:<14} {:>9.0} {:>9.0} {:>9.0} {:>9.0}",
            row.0, row.1, row.2, row.3
        );
        rows.push((name, row));
    }
    let d = rows[0].1;
    for (name, r) in &rows[1..] {
        println!(
            "added by {name}: p50 {:+.0} µs, p90 {:+.0} µs, p99 {:+.0} µs",
            r.0 - d.0,
            r.1 - d.1,
            r.2 - d.2
        );
    }
    let _ = std::fs::remove_dir_all(&log_dir);
}
