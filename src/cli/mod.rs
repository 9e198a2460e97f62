//! The command line: clap parses, the commands call the library, and errors become exit
//! codes in exactly one place.

mod args;
mod baseline;
mod bisect;
mod commands;
mod compare;
mod export;
mod history;
mod kernels;
mod merge;
mod progress;
mod report;
mod run;
mod verify;

pub use args::Cli;

use clap::Parser;

/// Runs orac with the process arguments and returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match commands::dispatch(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code() as i32
        }
    }
}
