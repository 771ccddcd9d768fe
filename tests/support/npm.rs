//! Real MCP reference servers for tests: installed from the lockfiles in
//! `tests/fixtures/npm/<package>/` into `target/test-deps/<package>` with `npm ci` (into a
//! temporary folder beside it, then renamed into place, so tests running in parallel never see
//! half an install), and started with `node <entry script>`: no network at run time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

static INSTALL: Mutex<()> = Mutex::new(());

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Installs `@modelcontextprotocol/<name>` (once per checkout) and returns its entry script.
pub fn reference_server(name: &str) -> PathBuf {
    let dir_name = format!("modelcontextprotocol-{name}");
    let deps = root().join("target/test-deps");
    let dest = deps.join(&dir_name);
    let entry = dest.join(format!(
        "node_modules/@modelcontextprotocol/{name}/dist/index.js"
    ));
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if entry.exists() {
        return entry;
    }
    std::fs::create_dir_all(&deps).unwrap();
    let tmp = deps.join(format!(".{dir_name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    for f in ["package.json", "package-lock.json"] {
        let src = root().join("tests/fixtures/npm").join(&dir_name).join(f);
        std::fs::copy(&src, tmp.join(f)).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    }
    let status = Command::new("npm")
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--prefix",
        ])
        .arg(&tmp)
        .status()
        .expect("npm is needed to install the reference MCP servers");
    assert!(
        status.success(),
        "npm ci of @modelcontextprotocol/{name} failed"
    );
    if std::fs::rename(&tmp, &dest).is_err() {
        // Another test process finished first; its copy is as good as ours.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    assert!(entry.exists(), "{} missing after install", entry.display());
    entry
}
