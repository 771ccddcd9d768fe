//! `mcpsweep evidence hash|verify DIR`: the guide's chain-of-custody step.

use std::path::PathBuf;

use clap::Subcommand;
use mcpsweep::evidence;

use super::vault::Format;
use super::{EXIT_CLEAN, EXIT_FINDINGS};

#[derive(Subcommand)]
pub enum EvidenceCommand {
    /// Hash every file below DIR into DIR/evidence_hashes.txt (`sha256sum -c` reads it).
    Hash { dir: PathBuf },
    /// Check DIR/evidence_hashes.txt; exit 1 if a file changed, vanished or was added.
    Verify {
        dir: PathBuf,
        #[arg(long, short = 'f', value_enum, default_value_t)]
        format: Format,
    },
}

pub fn run(cmd: EvidenceCommand) -> anyhow::Result<i32> {
    match cmd {
        EvidenceCommand::Hash { dir } => {
            let lines = evidence::write(&dir)?;
            println!(
                "{} files hashed into {}",
                lines.len(),
                dir.join(evidence::HASH_FILE).display()
            );
            Ok(EXIT_CLEAN)
        }
        EvidenceCommand::Verify { dir, format } => {
            let check = evidence::verify(&dir)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&check)?),
                Format::Human => {
                    for (p, (listed, found)) in &check.mismatched {
                        println!("{p}: FAILED (listed {listed}, found {found})");
                    }
                    for p in &check.missing {
                        println!("{p}: MISSING");
                    }
                    for p in &check.unlisted {
                        println!("{p}: NOT LISTED");
                    }
                    println!(
                        "{} OK, {} changed, {} missing, {} not listed",
                        check.ok.len(),
                        check.mismatched.len(),
                        check.missing.len(),
                        check.unlisted.len()
                    );
                }
            }
            Ok(if check.is_clean() {
                EXIT_CLEAN
            } else {
                EXIT_FINDINGS
            })
        }
    }
}
