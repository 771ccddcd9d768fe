//! Real MCP servers for tests: npm packages installed at pinned versions into
//! `target/test-deps/<name>`, each into a temporary folder first and renamed into place, so
//! tests running in parallel never see half an install.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Installs `package@version` (once) and returns the package's folder.
pub fn install(package: &str, version: &str) -> PathBuf {
    let deps = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-deps");
    let name = format!(
        "{}-{version}",
        package.trim_start_matches('@').replace('/', "-")
    );
    let prefix = deps.join(&name);
    let pkg_dir = prefix.join("node_modules").join(package);
    if pkg_dir.join("package.json").exists() {
        return pkg_dir;
    }
    std::fs::create_dir_all(&deps).unwrap();
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}-"))
        .tempdir_in(&deps)
        .unwrap();
    let status = Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--prefix",
        ])
        .arg(tmp.path())
        .arg(format!("{package}@{version}"))
        .status()
        .expect("npm is needed to install the MCP servers the tests run");
    assert!(status.success(), "npm install {package}@{version} failed");
    // Another test may have won the race; either install is complete.
    let tmp = tmp.keep();
    if std::fs::rename(&tmp, &prefix).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    assert!(pkg_dir.join("package.json").exists());
    pkg_dir
}
