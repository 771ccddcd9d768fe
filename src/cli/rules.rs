//! `mcpsweep rules list` and `mcpsweep rules test DIR`.

use std::path::PathBuf;

use clap::Subcommand;
use mcpsweep::detect::{DetectConfig, Detector};
use mcpsweep::rules::examples::run_examples;

use super::{EXIT_CLEAN, EXIT_FINDINGS};

#[derive(Subcommand)]
pub enum RulesCommand {
    /// List the rules in force (embedded, plus --rules DIR).
    List {
        /// Add rules from this directory (same id replaces an embedded rule).
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// Use only the rules in --rules DIR.
        #[arg(long)]
        rules_only: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Validate the rule packs in DIR and run every rule's examples. Exit 1 if any fails.
    Test {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Sweep PATH... and show what each rule costs: anchor hits, regex windows and matches per
    /// MB. Anchors that fire often on benign text make every sweep slower.
    Stats {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        #[arg(long)]
        rules_only: bool,
        /// How many rules to list, most windows first.
        #[arg(long, default_value_t = 30)]
        top: usize,
    },
}

pub fn run(cmd: RulesCommand) -> anyhow::Result<i32> {
    match cmd {
        RulesCommand::List {
            rules,
            rules_only,
            json,
        } => {
            let set = super::load_rules(rules.as_deref(), rules_only)?;
            if json {
                println!("{}", serde_json::to_string_pretty(set.rules())?);
            } else {
                for r in set.rules() {
                    println!(
                        "{:<14} {:<8} {:<24} {}",
                        r.id,
                        r.severity.as_str(),
                        r.category,
                        r.title
                    );
                }
                println!("{} rules", set.len());
            }
            Ok(EXIT_CLEAN)
        }
        RulesCommand::Stats {
            paths,
            rules,
            rules_only,
            top,
        } => {
            let set = super::load_rules(rules.as_deref(), rules_only)?;
            let config = DetectConfig {
                collect_stats: true,
                ..DetectConfig::default()
            };
            let detector = Detector::new(set, config)?;
            let report = mcpsweep::scan_paths(
                &detector,
                &paths,
                &mcpsweep::ScanOptions::default(),
                &|_| {},
            )?;
            let mb = (report.summary.bytes as f64 / 1e6).max(1e-9);
            let mut stats = detector.rule_stats();
            stats.sort_by(|a, b| {
                b.windows
                    .cmp(&a.windows)
                    .then_with(|| a.rule_id.cmp(&b.rule_id))
            });
            let windows: u64 = stats.iter().map(|s| s.windows).sum();
            let anchors: u64 = stats.iter().map(|s| s.anchor_hits).sum();
            println!(
                "{:<14} {:>12} {:>10} {:>9} {:>11}",
                "rule", "anchor hits", "windows", "matches", "windows/MB"
            );
            for s in stats.iter().take(top) {
                println!(
                    "{:<14} {:>12} {:>10} {:>9} {:>11.1}",
                    s.rule_id,
                    s.anchor_hits,
                    s.windows,
                    s.matches,
                    s.windows as f64 / mb
                );
            }
            println!(
                "{:.1} MB in {} documents: {anchors} anchor hits, {windows} regex windows ({:.1} per MB)",
                mb,
                report.summary.documents,
                windows as f64 / mb
            );
            Ok(EXIT_CLEAN)
        }
        RulesCommand::Test { dir } => {
            let set = mcpsweep::RuleSet::from_dir(&dir)?;
            let detector = Detector::new(set, DetectConfig::default())?;
            detector.compile_all()?;
            let (checked, failures) = run_examples(&detector);
            for f in &failures {
                println!("FAIL {f}");
            }
            println!(
                "{} rules, {checked} examples: {} passed, {} failed",
                detector.rules().len(),
                checked - failures.len(),
                failures.len()
            );
            Ok(if failures.is_empty() {
                EXIT_CLEAN
            } else {
                EXIT_FINDINGS
            })
        }
    }
}
