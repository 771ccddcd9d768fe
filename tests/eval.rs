//! Detection quality on the labelled set in `tests/eval/`: every payload is wrapped in every
//! carrier a real attack uses (visible, hidden HTML, comments, base64, Unicode tags,
//! zero-width splitting, look-alike letters, JSON tool output) and must be flagged medium or
//! above; benign texts (including security writing that quotes payloads) must not be.
//!
//! Prints recall per carrier and the false-positive rate; `cargo test --release --test eval
//! -- --nocapture` shows the table.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use mcpsweep::detect::{DetectConfig, Detector};
use mcpsweep::document::Limits;
use mcpsweep::finding::Severity;
use mcpsweep::rules::RuleSet;
use serde::Deserialize;

#[derive(Deserialize)]
struct Labelled {
    id: String,
    text: String,
    #[serde(default)]
    lang: String,
}

fn load(name: &str) -> Vec<Labelled> {
    load_path(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/eval")
            .join(name),
    )
}

fn load_path(path: &Path) -> Vec<Labelled> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{name} line {}: {e}", i + 1))
        })
        .collect()
}

const LEAD: &str =
    "Quarterly operations summary. Volumes rose 4% on the Midwest lanes and claims fell. ";
const TAIL: &str = " The next review is scheduled for the first week of the month.";

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn tags(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .map(|c| char::from_u32(0xE0000 + c as u32).unwrap())
        .collect()
}

fn zero_width(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        out.push(c);
        if c.is_alphabetic() && i % 3 == 1 {
            out.push('\u{200B}');
        }
    }
    out
}

fn homoglyphs(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a' => 'а',
            'e' => 'е',
            'o' => 'о',
            'p' => 'р',
            'c' => 'с',
            'i' => 'і',
            _ => c,
        })
        .collect()
}

/// (carrier name, file name, bytes); None when the carrier does not apply to this text.
type Carrier = fn(&str) -> Option<(&'static str, Vec<u8>)>;

fn carriers() -> Vec<(&'static str, Carrier)> {
    vec![
        ("plain text", |p| {
            Some(("doc.txt", format!("{LEAD}{p}{TAIL}").into_bytes()))
        }),
        ("html display:none", |p| {
            Some(("page.html", format!("<html><body><p>{LEAD}</p><div style=\"display:none\">{}</div><p>{TAIL}</p></body></html>", html_escape(p)).into_bytes()))
        }),
        ("html white text", |p| {
            Some(("page.html", format!("<html><body><p>{LEAD}<span style=\"color:#ffffff\">{}</span>{TAIL}</p></body></html>", html_escape(p)).into_bytes()))
        }),
        ("html comment", |p| {
            Some((
                "page.html",
                format!(
                    "<html><body><p>{LEAD}</p><!-- {} --><p>{TAIL}</p></body></html>",
                    p.replace("--", "- -")
                )
                .into_bytes(),
            ))
        }),
        ("markdown comment", |p| {
            Some((
                "notes.md",
                format!(
                    "# Notes\n\n{LEAD}\n\n<!-- {} -->\n\n{TAIL}\n",
                    p.replace("--", "- -")
                )
                .into_bytes(),
            ))
        }),
        ("base64 blob", |p| {
            let b64 = base64::engine::general_purpose::STANDARD.encode(p);
            Some((
                "ticket.txt",
                format!("{LEAD}\nattachment-data: {b64}\n{TAIL}").into_bytes(),
            ))
        }),
        ("unicode tags", |p| {
            p.is_ascii()
                .then(|| ("chat.txt", format!("{LEAD}{}{TAIL}", tags(p)).into_bytes()))
        }),
        ("zero-width split", |p| {
            p.chars().any(|c| c.is_ascii_alphabetic()).then(|| {
                (
                    "sop.txt",
                    format!("{LEAD}{}{TAIL}", zero_width(p)).into_bytes(),
                )
            })
        }),
        ("look-alike letters", |p| {
            p.is_ascii().then(|| {
                (
                    "faq.txt",
                    format!("{LEAD}{}{TAIL}", homoglyphs(p)).into_bytes(),
                )
            })
        }),
        ("json tool result", |p| {
            let v = serde_json::json!({"result": {"items": [{"title": "Search result", "snippet": format!("{LEAD}{p}")}]}});
            Some(("result.json", serde_json::to_vec_pretty(&v).unwrap()))
        }),
    ]
}

fn flagged(detector: &Detector, name: &str, bytes: &[u8]) -> bool {
    let report = mcpsweep::scan_bytes(detector, name, bytes, &Limits::default());
    report.summary.max_severity >= Some(Severity::Medium)
}

#[test]
fn recall_and_false_positive_rate_on_the_labelled_set() {
    let payloads = load("payloads.jsonl");
    let benign = load("benign.jsonl");
    assert!(payloads.len() >= 400 && benign.len() >= 400);
    let (recall, fpr, per_carrier) = measure(&payloads, &benign, 40);
    assert!(recall >= 0.95, "recall {:.3} below 0.95", recall);
    for (name, (h, t)) in &per_carrier {
        assert!(
            *h as f64 / *t as f64 >= 0.90,
            "carrier {name}: recall {h}/{t} below 0.90"
        );
    }
    assert!(fpr <= 0.01, "false-positive rate {:.4} above 0.01", fpr);
}

/// Measures a batch kept outside `tests/eval/` (a fresh held-out set, before it joins the
/// labelled set): `EVAL_PAYLOADS=a.jsonl EVAL_BENIGN=b.jsonl cargo test --release --test eval
/// -- --ignored --nocapture held_out`.
#[test]
#[ignore]
fn held_out_batch() {
    let payloads = std::env::var("EVAL_PAYLOADS").expect("EVAL_PAYLOADS names a jsonl file");
    let benign = std::env::var("EVAL_BENIGN").expect("EVAL_BENIGN names a jsonl file");
    measure(
        &load_path(Path::new(&payloads)),
        &load_path(Path::new(&benign)),
        usize::MAX,
    );
}

/// Recall over every (payload, carrier) pair, false-positive rate over benign texts as plain
/// text and as HTML, and recall per carrier; prints the table, plain-text misses and false
/// positives (at most `show` of each).
fn measure(
    payloads: &[Labelled],
    benign: &[Labelled],
    show: usize,
) -> (f64, f64, BTreeMap<&'static str, (usize, usize)>) {
    let detector = Detector::new(RuleSet::embedded().unwrap(), DetectConfig::default()).unwrap();

    let mut per_carrier: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut missed_plain = Vec::new();
    let (mut hit, mut total) = (0usize, 0usize);
    for p in payloads {
        for (name, carrier) in carriers() {
            let Some((file, bytes)) = carrier(&p.text) else {
                continue;
            };
            let ok = flagged(&detector, file, &bytes);
            let e = per_carrier.entry(name).or_default();
            e.1 += 1;
            total += 1;
            if ok {
                e.0 += 1;
                hit += 1;
            } else if name == "plain text" {
                missed_plain.push(format!(
                    "{} [{}] {}",
                    p.id,
                    p.lang,
                    p.text.chars().take(160).collect::<String>()
                ));
            }
        }
    }
    let mut false_positives = Vec::new();
    let mut benign_total = 0usize;
    for b in benign {
        for (file, bytes) in [
            ("doc.txt", b.text.clone().into_bytes()),
            (
                "page.html",
                format!("<html><body><p>{}</p></body></html>", html_escape(&b.text)).into_bytes(),
            ),
        ] {
            benign_total += 1;
            if flagged(&detector, file, &bytes) {
                false_positives.push(format!(
                    "{} ({file}) {}",
                    b.id,
                    b.text.chars().take(160).collect::<String>()
                ));
            }
        }
    }

    let recall = hit as f64 / total as f64;
    let fpr = false_positives.len() as f64 / benign_total as f64;
    println!("carrier                 recall");
    for (name, (h, t)) in &per_carrier {
        println!(
            "{name:<22} {:>6.2}%  ({h}/{t})",
            100.0 * *h as f64 / *t as f64
        );
    }
    println!(
        "overall recall {:.2}% ({hit}/{total}) over {} payloads",
        100.0 * recall,
        payloads.len()
    );
    println!(
        "false positives {:.2}% ({}/{benign_total}) over {} benign texts",
        100.0 * fpr,
        false_positives.len(),
        benign.len()
    );
    let plain = per_carrier.get("plain text").copied().unwrap_or_default();
    println!(
        "documents flagged: plain text {}/{}; benign {}/{benign_total}",
        plain.0,
        plain.1,
        false_positives.len()
    );
    for m in missed_plain.iter().take(show) {
        println!("MISSED {m}");
    }
    for f in false_positives.iter().take(show) {
        println!("FALSE POSITIVE {f}");
    }
    (recall, fpr, per_carrier)
}
