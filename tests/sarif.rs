//! SARIF output validates against the published SARIF 2.1.0 schema.
//!
//! The schema comes from the npm package `@microsoft/jest-sarif` (Microsoft's SARIF tooling
//! ships the OASIS schema); the test installs it into `target/test-deps` when missing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn schema_path() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-deps");
    let schema = root.join("node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json");
    if !schema.exists() {
        std::fs::create_dir_all(&root).unwrap();
        let status = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--prefix",
            ])
            .arg(&root)
            .arg("@microsoft/jest-sarif@1.0.0-beta.0")
            .status()
            .expect("npm is needed to fetch the SARIF schema");
        assert!(
            status.success(),
            "npm install of the SARIF schema package failed"
        );
    }
    schema
}

fn fix_language_patterns(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "pattern"
                    && child.as_str() == Some("^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$")
                {
                    *child = serde_json::json!("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
                } else {
                    fix_language_patterns(child);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(fix_language_patterns),
        _ => {}
    }
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let mut schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(schema_path()).unwrap()).unwrap();
    // The published schema's `language` patterns have a stray `]` that strict meta-schema
    // checking rejects; mcpsweep never writes those properties, so the patterns are repaired.
    fix_language_patterns(&mut schema);
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");

    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-corpus");
    let out = Command::new(env!("CARGO_BIN_EXE_mcpsweep"))
        .args(["scan", "--format", "sarif", "--no-progress"])
        .arg(&corpus)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema violations:\n{}",
        errors.join("\n")
    );

    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        assert!(r["partialFingerprints"]["mcpsweepFindingId/v1"]
            .as_str()
            .unwrap()
            .starts_with('F'));
    }
}
