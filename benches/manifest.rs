//! Cost of manifest integrity checks: reading and hashing a manifest (parse, RFC 8785
//! canonicalization, sha256 per tool and for the whole), comparing two manifests, and the
//! tool-poisoning scan.
//!
//! Inputs: the real `tools/list` results of the reference servers in
//! `tests/fixtures/manifest/samples/`, and a generated manifest of 500 tools built from them
//! (every sample tool repeated under new names with a numbered description), so the numbers
//! show how the cost grows with the size of a server's tool list.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mcpsweep::detect::DetectConfig;
use mcpsweep::manifest::{self, drift, poison};
use serde_json::Value;

fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/manifest/samples");
    [
        "everything-server-tools.json",
        "filesystem-server-tools.json",
        "memory-server-tools.json",
    ]
    .iter()
    .map(|n| {
        (
            n.trim_end_matches("-tools.json").to_string(),
            std::fs::read(dir.join(n)).unwrap(),
        )
    })
    .collect()
}

/// 500 tools: the sample tools, renamed and renumbered, round robin.
fn large(samples: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut all: Vec<Value> = Vec::new();
    for (_, bytes) in samples {
        let v: Value = serde_json::from_slice(bytes).unwrap();
        all.extend(v["tools"].as_array().unwrap().iter().cloned());
    }
    let tools: Vec<Value> = (0..500)
        .map(|i| {
            let mut t = all[i % all.len()].clone();
            t["name"] = Value::String(format!("{}-{i}", t["name"].as_str().unwrap()));
            let d = t["description"].as_str().unwrap_or("").to_string();
            t["description"] = Value::String(format!("{d} (variant {i})"));
            t
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "tools": tools })).unwrap()
}

fn bench(c: &mut Criterion) {
    let mut inputs = samples();
    let big = large(&inputs);
    inputs.push(("generated-500-tools".into(), big));
    let detector = poison::manifest_detector(DetectConfig::default()).unwrap();

    let mut g = c.benchmark_group("manifest");
    for (name, bytes) in &inputs {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("read_and_hash", name),
            bytes,
            |b, bytes| {
                b.iter(|| {
                    let m = manifest::from_bytes("bench.json", black_box(bytes)).unwrap();
                    black_box(m.manifest_sha256())
                })
            },
        );
        let m = manifest::from_bytes("bench.json", bytes).unwrap();
        // Compare against a copy with one description changed, the usual drift.
        let mut edited: Value = serde_json::from_slice(bytes).unwrap();
        edited["tools"][0]["description"] = Value::String("changed".into());
        let m2 =
            manifest::from_bytes("edited.json", &serde_json::to_vec(&edited).unwrap()).unwrap();
        g.bench_with_input(
            BenchmarkId::new("compare", name),
            &(&m, &m2),
            |b, (m, m2)| b.iter(|| black_box(drift::compare(m, m2))),
        );
        g.bench_with_input(BenchmarkId::new("poison_scan", name), &m, |b, m| {
            b.iter(|| black_box(poison::scan(&detector, m)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
