//! `mcpsweep index`, `search`, `sweep` and `similar`: the corpus index.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use mcpsweep::detect::{Allowlist, DetectConfig, Detector};
use mcpsweep::index::build::{index_paths, IndexOptions, IndexReport};
use mcpsweep::index::search::{search, SearchResult};
use mcpsweep::index::similar::{similar, Payload, SimilarOptions, SimilarReport};
use mcpsweep::index::sweep::{read_iocs, sweep, SweepReport};
use mcpsweep::index::{CorpusIndex, Hit};
use mcpsweep::scan::ScanOptions;
use mcpsweep::sink::describe_location;
use mcpsweep::source::WalkOptions;
use serde::Serialize;

use super::{EXIT_CLEAN, EXIT_FINDINGS};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Args)]
pub struct IndexArgs {
    /// Files or folders to index (paths are stored absolute).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The index folder (created if missing or empty).
    #[arg(long, value_name = "DIR")]
    index: PathBuf,
    /// Worker threads reading files (default: one per core); tantivy indexes with half as
    /// many.
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
    /// Memory for tantivy's in-memory segments, in MB.
    #[arg(long, default_value_t = 256, value_name = "MB")]
    memory: usize,
    /// Commit after this many MB of text: a crash loses at most this much work.
    #[arg(long, default_value_t = 1024, value_name = "MB")]
    commit_every: u64,
    #[arg(long, short = 'f', default_value = "human")]
    format: Format,
    /// The organisation's own domain (findings toward it are not raised); repeatable.
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    allow_domains: Vec<String>,
    /// Add rules from this directory.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Use only the rules in --rules DIR.
    #[arg(long)]
    rules_only: bool,
    /// Honour .gitignore and .ignore files.
    #[arg(long)]
    gitignore: bool,
    /// Follow symbolic links.
    #[arg(long = "follow")]
    follow_links: bool,
    /// Largest file read whole, in bytes (larger plain text is read in chunks).
    #[arg(long, default_value_t = 256 << 20, value_name = "BYTES")]
    max_file_size: u64,
    /// Index memory stores as plain files (no entry ids).
    #[arg(long)]
    no_stores: bool,
    /// Never show the progress bar.
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    store_args: super::purge::StoreArgs,
}

#[derive(Args)]
pub struct SearchArgs {
    /// tantivy query syntax; fields: path, format, channel, page, entry, attachment, part,
    /// pointer, domain, url, email, ip, rule, category, severity (also severity:>=high),
    /// finding, sha256. Words are ANDed; quote phrases.
    #[arg(value_name = "QUERY")]
    query: String,
    #[arg(long, value_name = "DIR")]
    index: PathBuf,
    #[arg(long, short = 'f', default_value = "human")]
    format: Format,
    /// Most hits shown.
    #[arg(long, short = 'n', default_value_t = 20)]
    limit: usize,
}

#[derive(Args)]
pub struct SweepArgs {
    /// Indicators, one per line: domains, URLs, e-mail addresses, IPs, phrases, sha256 of
    /// files; `#` comments; `kind:value` forces a kind.
    #[arg(long, value_name = "FILE")]
    iocs: PathBuf,
    #[arg(long, value_name = "DIR")]
    index: PathBuf,
    #[arg(long, short = 'f', default_value = "human")]
    format: Format,
    /// Most hits kept per indicator.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    max_hits: usize,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("payload").required(true).args(["text", "finding", "file"])))]
pub struct SimilarArgs {
    /// The payload text.
    #[arg(long, value_name = "PAYLOAD")]
    text: Option<String>,
    /// A finding id from the index: its sentences are the payload.
    #[arg(long, value_name = "ID")]
    finding: Option<String>,
    /// A file holding the payload (any format mcpsweep reads).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    #[arg(long, value_name = "DIR")]
    index: PathBuf,
    #[arg(long, short = 'f', default_value = "human")]
    format: Format,
    /// Most documents shown.
    #[arg(long, short = 'n', default_value_t = 20)]
    limit: usize,
    /// Lowest score shown (0 to 1).
    #[arg(long, default_value_t = 0.2, value_name = "SCORE")]
    min_score: f32,
}

fn print_json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    write_stdout(s.as_bytes())
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

pub fn run_index(args: IndexArgs) -> anyhow::Result<i32> {
    let rules = super::load_rules(args.rules.as_deref(), args.rules_only)?;
    let detector = Detector::new(
        rules,
        DetectConfig {
            allowlist: Allowlist::new(&args.allow_domains),
            ..DetectConfig::default()
        },
    )?;
    let opts = IndexOptions {
        scan: ScanOptions {
            threads: args.threads,
            max_file_size: args.max_file_size,
            walk: WalkOptions {
                gitignore: args.gitignore,
                follow_links: args.follow_links,
            },
            store_type: args.store_args.store_type,
            detect_stores: !args.no_stores,
            store_options: args.store_args.options(),
            ..ScanOptions::default()
        },
        memory_budget: args.memory << 20,
        commit_bytes: args.commit_every.max(1) << 20,
        index_threads: 0,
    };
    let progress = (!args.no_progress && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} files, {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let bytes = std::sync::atomic::AtomicU64::new(0);
    let on_file = |n: u64| {
        if let Some(bar) = &progress {
            let total = bytes.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
            bar.inc(1);
            bar.set_message(format!("{:.1} MB read", total as f64 / 1e6));
        }
    };
    let report = index_paths(&detector, &args.paths, &args.index, &opts, &on_file)?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Human => write_stdout(human_index(&report).as_bytes())?,
    }
    Ok(EXIT_CLEAN)
}

fn human_index(r: &IndexReport) -> String {
    let mut s = String::new();
    for e in &r.errors {
        s.push_str(&format!("  {}: {}\n", e.path, e.reason));
    }
    s.push_str(&format!(
        "Indexed into {}: {} files: {} read ({} new, {} changed), {} unchanged, {} touched (same content), {} removed, {} skipped; {} pieces, {:.1} MB in {:.2} s ({} MB/s), {} commit(s); index {:.1} MB; {} problem(s).\n",
        r.index,
        r.files,
        r.files_read,
        r.files_new,
        r.files_changed,
        r.files_unchanged,
        r.files_touched,
        r.files_removed,
        r.files_skipped,
        r.pieces,
        r.bytes_read as f64 / 1e6,
        r.elapsed_ms as f64 / 1e3,
        r.mb_per_s,
        r.commits,
        r.index_bytes as f64 / 1e6,
        r.errors.len()
    ));
    s
}

/// Highlights as bold on a terminal, `**word**` elsewhere.
fn render_snippet(hit: &Hit, tty: bool) -> String {
    let (open, close) = if tty {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("**", "**")
    };
    let t = &hit.snippet.text;
    let mut out = String::new();
    let mut pos = 0;
    for &[a, b] in &hit.snippet.highlights {
        if a < pos || b > t.len() {
            continue;
        }
        out.push_str(&t[pos..a]);
        out.push_str(open);
        out.push_str(&t[a..b]);
        out.push_str(close);
        pos = b;
    }
    out.push_str(&t[pos..]);
    out
}

fn human_hit(out: &mut String, hit: &Hit, prefix: &str, tty: bool) {
    let loc = describe_location(&hit.location);
    let mut head = format!("{prefix}{}", hit.path);
    if !loc.is_empty() {
        head.push_str(&format!("  ({loc})"));
    }
    head.push_str(&format!("  [{}]", hit.channel));
    if let Some(sev) = hit.severity {
        let rules: Vec<&str> = hit.findings.iter().map(|f| f.rule_id.as_str()).collect();
        head.push_str(&format!(
            "  {} {}",
            sev.as_str().to_uppercase(),
            rules.join(",")
        ));
    }
    out.push_str(&head);
    out.push('\n');
    out.push_str(&format!("    {}\n", render_snippet(hit, tty)));
}

pub fn run_search(args: SearchArgs) -> anyhow::Result<i32> {
    let index = CorpusIndex::open(&args.index)?;
    let result = search(&index, &args.query, args.limit)?;
    match args.format {
        Format::Json => print_json(&result)?,
        Format::Human => write_stdout(human_search(&result).as_bytes())?,
    }
    Ok(if result.total > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

fn human_search(r: &SearchResult) -> String {
    let tty = std::io::stdout().is_terminal();
    let mut s = String::new();
    for h in &r.hits {
        human_hit(&mut s, h, &format!("{:>7.2}  ", h.score), tty);
    }
    s.push_str(&format!(
        "{} of {} matching pieces ({:.1} ms).\n",
        r.hits.len(),
        r.total,
        r.elapsed_ms
    ));
    s
}

pub fn run_sweep(args: SweepArgs) -> anyhow::Result<i32> {
    let iocs = read_iocs(&args.iocs)?;
    let index = CorpusIndex::open(&args.index)?;
    let report = sweep(&index, &iocs, args.max_hits.max(1))?;
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Human => write_stdout(human_sweep(&report).as_bytes())?,
    }
    Ok(if report.hits.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}

fn human_sweep(r: &SweepReport) -> String {
    let tty = std::io::stdout().is_terminal();
    let mut s = String::new();
    let mut last = None;
    for h in &r.hits {
        if last != Some(h.ioc.line) {
            s.push_str(&format!(
                "line {}: {} {}\n",
                h.ioc.line,
                h.ioc.kind.as_str(),
                h.ioc.value
            ));
            last = Some(h.ioc.line);
        }
        human_hit(&mut s, &h.hit, "  ", tty);
    }
    for line in &r.truncated {
        s.push_str(&format!("line {line}: more hits than --max-hits; cut\n"));
    }
    s.push_str(&format!(
        "{} of {} indicators hit, {} hits in {} files ({:.1} ms).\n",
        r.iocs_with_hits,
        r.iocs,
        r.hits.len(),
        r.files_with_hits,
        r.elapsed_ms
    ));
    s
}

pub fn run_similar(args: SimilarArgs) -> anyhow::Result<i32> {
    let payload = match (args.text, args.finding, args.file) {
        (Some(t), _, _) => Payload::Text(t),
        (_, Some(id), _) => Payload::Finding(id),
        (_, _, Some(p)) => Payload::File(p),
        _ => anyhow::bail!("give --text, --finding or --file"),
    };
    let index = CorpusIndex::open(&args.index)?;
    let opts = SimilarOptions {
        limit: args.limit,
        min_score: args.min_score,
        ..SimilarOptions::default()
    };
    let report = similar(&index, &payload, &opts)?;
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Human => write_stdout(human_similar(&report).as_bytes())?,
    }
    Ok(if report.documents.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}

fn human_similar(r: &SimilarReport) -> String {
    let tty = std::io::stdout().is_terminal();
    let mut s = String::new();
    for d in &r.documents {
        s.push_str(&format!(
            "{:.3}  (shingles {:.2}, words {:.2})  ",
            d.score, d.shingle_overlap, d.term_overlap
        ));
        human_hit(&mut s, &d.passage, "", tty);
    }
    s.push_str(&format!(
        "{} similar document(s) for a payload of {} words ({:.1} ms).\n",
        r.documents.len(),
        r.payload_words,
        r.elapsed_ms
    ));
    s
}
