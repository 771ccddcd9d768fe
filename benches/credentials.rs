//! Throughput of credential detection (`secrets::scan_text`) on generated text: prose with no
//! credential, and configuration-like text (env files, YAML, code) with a credential about
//! every 4 KB, so the keyword prefilter, the format regexes and the name checks all run.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// Seeded xorshift, so inputs are the same on every run.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    fn chars(&mut self, n: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| A[(self.next() % 62) as usize] as char)
            .collect()
    }
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "report",
    "quarterly",
    "customer",
    "account",
    "server",
    "key",
    "token",
    "password",
    "policy",
    "release",
    "support",
    "service",
    "update",
    "the",
    "data",
    "file",
    "user",
    "send",
    "notes",
    "summary",
    "review",
    "budget",
    "secret",
    "access",
];

const CONFIG_LINES: &[&str] = &[
    "LOG_LEVEL=info",
    "PORT=8080",
    "cache_key = \"users:list:v2\"",
    "api_key = os.environ[\"API_KEY\"]",
    "token_type: bearer",
    "request_id: 123e4567-e89b-42d3-a456-426614174000",
    "  \"integrity\": \"sha512-Zq7Lm2Xc9Vb4Nn8Kk1Jj6Hh3Gg5Ff0Zq7Lm2Xc9Vb4Nn8Kk1Jj6Hh3Gg5Ff0\",",
    "if (password == null) { return; }",
    "DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app",
    "self.token = token",
];

fn prose(size: usize) -> String {
    let mut g = Gen(0x2545_f491_4f6c_dd1d);
    let mut s = String::with_capacity(size + 64);
    while s.len() < size {
        s.push_str(g.pick(WORDS));
        s.push(if g.next().is_multiple_of(12) {
            '\n'
        } else {
            ' '
        });
    }
    s
}

fn config(size: usize) -> String {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let mut s = String::with_capacity(size + 128);
    let mut next_secret = 4096;
    while s.len() < size {
        if s.len() >= next_secret {
            s.push_str(&format!("SERVICE_API_KEY={}\n", g.chars(32)));
            next_secret += 4096;
        } else {
            s.push_str(g.pick(CONFIG_LINES));
            s.push('\n');
        }
    }
    s
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("credentials");
    group.measurement_time(Duration::from_secs(5));
    for (name, text) in [("prose_1m", prose(1 << 20)), ("config_1m", config(1 << 20))] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("scan_text", name), &text, |b, t| {
            b.iter(|| black_box(mcpsweep::secrets::scan_text(black_box(t))).len())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
