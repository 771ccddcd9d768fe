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
        RulesCommand::Test { dir } => {
            let set = mcpsweep::RuleSet::from_dir(&dir)?;
            let detector = Detector::new(set, DetectConfig::default())?;
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
