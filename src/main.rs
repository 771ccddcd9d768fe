//! The `mcpsweep` command: a thin layer of argument parsing and progress display over the
//! library.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
