//! `mcpsweep checklist` end to end on the guide's sample incident
//! (`tests/fixtures/checklist/sample-incident/`): the session log of analyst-agent-047, a corpus
//! with the vendor PDF and the e-mail that delivered it, a memory-server store with a poisoned
//! observation, the memory server's tool manifest pinned and as served, and a Claude Desktop
//! config with fake credentials. Every run works on a temporary copy with the real commands
//! (`index`, `quarantine`, `purge`).
//!
//! Refresh the snapshots under `tests/fixtures/checklist/expected/` after an intended change
//! with `UPDATE_SNAPSHOTS=1 cargo test --test checklist`, and read the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const INCIDENT: &str = "INC-2026-031";
const NOW: &str = "2026-03-02T12:00:00Z";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checklist/sample-incident")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A fresh copy of the fixture; paths in outputs are relative to it (the commands run in it)
/// except those the vault and the index record, which are absolute.
struct Case {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Case {
    fn new() -> Case {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("case");
        copy_dir(&fixture(), &root);
        Case { _tmp: tmp, root }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_mcpsweep"))
            .args(args)
            .current_dir(&self.root)
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed with the given exit code.
    fn must(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn index(&self) {
        self.must(&["index", "corpus", "--index", "index", "--no-progress"], 0);
    }

    /// The checklist with every input, in `format`, plus `extra` arguments.
    fn checklist(&self, format: &str, extra: &[&str], code: i32) -> String {
        let mut args = vec![
            "checklist",
            "--incident",
            INCIDENT,
            "--session",
            "session.jsonl",
            "--baseline",
            "baseline.json",
            "--corpus",
            "corpus",
            "--memory",
            "memory/memory.jsonl",
            "--manifest-baseline",
            "manifest/baseline.json",
            "--agent-config",
            "agent",
            "--vault",
            "vault",
            "--index",
            "index",
            "--now",
            NOW,
            "--format",
            format,
        ];
        if !extra.contains(&"--manifest") {
            args.extend(["--manifest", "manifest/current.json"]);
        }
        args.extend(extra);
        self.must(&args, code)
    }

    /// Temporary paths and wall-clock times (vault records) made stable.
    fn normalize(&self, text: &str) -> String {
        let root = self.root.display().to_string();
        let text = text.replace(&root, "<CASE>");
        let times = regex::Regex::new(
            r#"("source_quarantined_at": |Source quarantined: )"?\d{4}-\d\d-\d\dT[0-9:.]+Z"?"#,
        )
        .unwrap();
        let text = times.replace_all(&text, "${1}<TIME>");
        let secs = regex::Regex::new(
            r#"("first_alert_to_source_quarantined_s": |\()-?[0-9.]+( s after the first alert)?"#,
        )
        .unwrap();
        secs.replace_all(&text, |c: &regex::Captures| {
            if c[1].starts_with('"') {
                format!("{}<SECONDS>", &c[1])
            } else if c.get(2).is_some() {
                "(<SECONDS> s after the first alert".to_string()
            } else {
                c[0].to_string()
            }
        })
        .into_owned()
    }
}

fn snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/checklist/expected")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_SNAPSHOTS=1)", path.display()));
    assert_eq!(
        actual, expected,
        "{name}: rerun with UPDATE_SNAPSHOTS=1 after an intended change"
    );
}

fn statuses(json: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(json).unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap().to_string())
        .collect()
}

fn item(json: &str, n: usize) -> Value {
    let v: Value = serde_json::from_str(json).unwrap();
    v["items"][n - 1].clone()
}

fn evidence_has(item: &Value, needle: &str) -> bool {
    item["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e.as_str().unwrap().contains(needle))
}

/// The eradication the guide asks for, with the real commands: quarantine the source and the
/// e-mail that carries it, purge the memory store, deploy the rotated credentials.
fn eradicate(case: &Case) {
    case.must(
        &[
            "quarantine",
            "corpus/reports/vendor_analysis_external.pdf",
            "corpus/mail/vendor-delivery.eml",
            "--vault",
            "vault",
            "--incident",
            INCIDENT,
        ],
        0,
    );
    case.must(
        &[
            "purge",
            "memory/memory.jsonl",
            "--vault",
            "vault",
            "--incident",
            INCIDENT,
        ],
        0,
    );
    std::fs::copy(
        case.root.join("claude_desktop_config.after-rotation.json"),
        case.root.join("agent/claude_desktop_config.json"),
    )
    .unwrap();
}

#[test]
fn before_eradication_everything_is_todo() {
    let case = Case::new();
    case.index();
    let json = case.checklist("json", &[], 1);
    assert_eq!(
        statuses(&json),
        ["TODO", "TODO", "TODO", "DONE", "DONE", "TODO", "TODO"]
    );
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["schema"], "mcpsweep-checklist/1");
    assert_eq!(v["contained_at"], "2026-03-02T09:03:30Z");
    assert_eq!(v["redeploy_ready"], false);
    // Deadlines from containment; at 12:00 items 1 and 2 are overdue.
    let deadlines: Vec<Value> = (1..=7)
        .map(|n| item(&json, n)["deadline"].clone())
        .collect();
    assert_eq!(
        deadlines,
        [
            "2026-03-02T09:03:30Z",
            "2026-03-02T10:03:30Z",
            "2026-03-02T13:03:30Z",
            "2026-03-02T13:03:30Z",
            "2026-03-03T09:03:30Z",
            "2026-03-03T09:03:30Z"
        ]
        .iter()
        .map(|s| Value::from(*s))
        .chain([Value::Null])
        .collect::<Vec<_>>()
    );
    let overdue: Vec<Value> = (1..=7).map(|n| item(&json, n)["overdue"].clone()).collect();
    assert_eq!(
        overdue,
        [true, true, false, false, false, false]
            .iter()
            .map(|b| Value::from(*b))
            .chain([Value::Null])
            .collect::<Vec<_>>()
    );
    let one = item(&json, 1);
    assert!(evidence_has(
        &one,
        "corpus/reports/vendor_analysis_external.pdf"
    ));
    let json = case.normalize(&json);
    let six = item(&json, 6);
    assert!(evidence_has(
        &six,
        "carries the payload family, not quarantined: <CASE>/corpus/mail/vendor-delivery.eml"
    ));
    // The unrelated injection is listed but is not the payload family.
    assert!(evidence_has(
        &six,
        "other flagged document (a different payload; review separately): <CASE>/corpus/docs/freight_audit_summary_march.pdf"
    ));
    snapshot("before.json", &json);
    let md = case.checklist("markdown", &[], 1);
    snapshot("before.md", &case.normalize(&md));
}

#[test]
fn after_eradication_the_gate_is_ready() {
    let case = Case::new();
    case.index();
    eradicate(&case);
    let json = case.checklist("json", &["--rotated", "rotated.txt"], 0);
    assert_eq!(
        statuses(&json),
        ["DONE", "DONE", "DONE", "DONE", "DONE", "DONE", "DONE"],
        "{json}"
    );
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["redeploy_ready"], true);
    assert_eq!(v["review"]["containment"]["allowlist_contained"], true);
    assert!(v["review"]["time_to_identify"]["first_alert_to_source_quarantined_s"].is_number());
    snapshot("after.json", &case.normalize(&json));
    let md = case.checklist("markdown", &["--rotated", "rotated.txt"], 0);
    snapshot("after.md", &case.normalize(&md));

    // Without the confirmations the credentials stay TODO, and the gate closes.
    let json = case.checklist("json", &[], 1);
    assert_eq!(item(&json, 2)["status"], "TODO");
    assert_eq!(item(&json, 7)["status"], "TODO");
}

#[test]
fn contradicting_checks_fail() {
    let case = Case::new();
    case.index();
    eradicate(&case);
    // The poisoned observation comes back after the purge; the manifest served now drifted;
    // the old GitHub token, confirmed rotated, is deployed again.
    let store = case.root.join("memory/memory.jsonl");
    let original = std::fs::read(fixture().join("memory/memory.jsonl")).unwrap();
    std::fs::write(&store, original).unwrap();
    std::fs::copy(
        fixture().join("agent/claude_desktop_config.json"),
        case.root.join("agent/claude_desktop_config.json"),
    )
    .unwrap();
    let json = case.checklist(
        "json",
        &[
            "--rotated",
            "rotated.txt",
            "--manifest",
            "manifest/drifted.json",
        ],
        1,
    );
    assert_eq!(
        statuses(&json),
        ["DONE", "FAILED", "FAILED", "FAILED", "DONE", "DONE", "TODO"],
        "{json}"
    );
    assert!(evidence_has(
        &item(&json, 2),
        "28dd3b407f7a preview ghp_…8UyG in agent/claude_desktop_config.json:10: FAILED"
    ));
    assert!(evidence_has(
        &item(&json, 3),
        "a purge is recorded but residue remains"
    ));
    assert!(evidence_has(
        &item(&json, 4),
        "changed read_graph [description]"
    ));

    // The quarantined source put back at its path: item 1 fails.
    std::fs::copy(
        fixture().join("corpus/reports/vendor_analysis_external.pdf"),
        case.root
            .join("corpus/reports/vendor_analysis_external.pdf"),
    )
    .unwrap();
    let json = case.checklist("json", &["--rotated", "rotated.txt"], 1);
    let one = item(&json, 1);
    assert_eq!(one["status"], "FAILED", "{one}");
    assert!(evidence_has(
        &one,
        "is back at its original path with the quarantined bytes"
    ));
}

#[test]
fn missing_inputs_are_not_checked() {
    let case = Case::new();
    let out = case.must(
        &[
            "checklist",
            "--incident",
            INCIDENT,
            "--format",
            "json",
            "--now",
            NOW,
        ],
        1,
    );
    assert_eq!(statuses(&out), ["TODO"; 7]);
    for n in 1..=6 {
        assert!(evidence_has(&item(&out, n), "not checked: "), "item {n}");
    }
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["contained_at"], Value::Null);
    assert_eq!(item(&out, 1)["deadline"], Value::Null);
    assert_eq!(item(&out, 1)["overdue"], Value::Null);
}

#[test]
fn bad_inputs_land_in_their_item_and_usage_errors_exit_2() {
    let case = Case::new();
    // An unreadable session log and a missing vault: reported in the items, the rest runs.
    let out = case.must(
        &[
            "checklist",
            "--incident",
            INCIDENT,
            "--session",
            "no-such.jsonl",
            "--vault",
            "no-vault",
            "--memory",
            "memory/memory.jsonl",
            "--contained-at",
            "2026-03-02T09:03:30Z",
            "--now",
            NOW,
            "-f",
            "json",
        ],
        1,
    );
    let one = item(&out, 1);
    assert_eq!(one["status"], "TODO");
    assert!(evidence_has(&one, "no-such.jsonl"), "{one}");
    let three = item(&out, 3);
    assert!(evidence_has(&three, "entry observation:Alice/"), "{three}");
    assert_eq!(three["status"], "TODO");

    // Usage errors: a bad time, a missing incident, a manifest without its baseline.
    for args in [
        vec![
            "checklist",
            "--incident",
            "X",
            "--contained-at",
            "yesterday",
        ],
        vec!["checklist"],
        vec!["checklist", "--incident", "X", "--manifest", "m.json"],
    ] {
        let out = case.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }

    // -o writes the same bytes as stdout, atomically; an unwritable -o is exit 2.
    let stdout = case.must(&["checklist", "--incident", INCIDENT, "--now", NOW], 1);
    case.must(
        &[
            "checklist",
            "--incident",
            INCIDENT,
            "--now",
            NOW,
            "-o",
            "out.md",
        ],
        1,
    );
    assert_eq!(
        std::fs::read_to_string(case.root.join("out.md")).unwrap(),
        stdout
    );
    let out = case.run(&["checklist", "--incident", INCIDENT, "-o", "no-dir/out.md"]);
    assert_eq!(out.status.code(), Some(2));
}
