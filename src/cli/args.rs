//! Flags as the user types them. Validation into library types happens in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::backend::BackendChoice;
use crate::suite::Profile;

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  a regression was found (comparison commands)
  2  bad arguments or input (unknown filter, corrupt results file, no GPU for --backend cuda)
  3  a benchmark failed verification, failed to compile or crashed (other results are saved)
  4  the environment cannot run it (no C compiler, unwritable results directory)";

/// GPU kernel microbenchmarks: verified against a reference, timed with care, stored by
/// commit and hardware.
#[derive(Debug, Parser)]
#[command(name = "orac", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Load kernel sources from DIR (laid out like kernels/) instead of the ones built in.
    #[arg(long, global = true, value_name = "DIR")]
    pub kernels: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List benchmark ids.
    List(ListArgs),
    /// Show the backend and the hardware fingerprint.
    Info(InfoArgs),
    /// Verify and time benchmarks, print a table and save the results.
    Run(RunArgs),
    /// Print a stored run as a table.
    Show(ShowArgs),
    /// List stored runs.
    Runs(RunsArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only ids matching this regular expression.
    #[arg(long, short)]
    pub filter: Option<String>,
    #[arg(long, value_enum, default_value_t = Profile::Quick)]
    pub profile: Profile,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// auto: CUDA when a GPU is usable, else the CPU.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Only benchmarks whose id matches this regular expression.
    #[arg(long, short)]
    pub filter: Option<String>,
    /// quick: small sizes, about a minute; full: for real hardware.
    #[arg(long, value_enum, default_value_t = Profile::Quick)]
    pub profile: Profile,
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results_dir: PathBuf,
    /// Print the table but do not save the run.
    #[arg(long)]
    pub no_save: bool,
    /// Cap each benchmark's sampling at SECS (after warm-up).
    #[arg(long, value_name = "SECS")]
    pub max_time: Option<f64>,
    /// Seed of the random inputs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A run file; default: the newest run in --results-dir.
    pub run: Option<PathBuf>,
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results_dir: PathBuf,
}
