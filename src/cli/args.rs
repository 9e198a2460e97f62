//! Flags as the user types them. Validation into library types happens in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::backend::BackendChoice;
use crate::isolate::Isolation;
use crate::suite::{Profile, ShardArg};

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  a regression was found (comparison commands)
  2  bad arguments or input (unknown filter, corrupt results file, no GPU for --backend cuda)
  3  a benchmark failed verification, failed to compile, crashed or timed out (others are saved)
  4  the environment cannot run it (no C compiler, unwritable results directory)
  130  interrupted (Ctrl-C); `orac run --resume` finishes the run";

/// GPU kernel microbenchmarks: verified against a reference, timed with care, stored by
/// commit and hardware.
#[derive(Debug, Parser)]
#[command(name = "orac", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Load kernel sources from DIR (laid out like kernels/) instead of the ones built in.
    #[arg(long, global = true, value_name = "DIR")]
    pub kernels: Option<PathBuf>,

    /// Use GPU number I (of those CUDA_VISIBLE_DEVICES shows, if set): one orac per GPU
    /// of a node, each with its own shard (`run --shard K/N`). Recorded with the run.
    #[arg(long, global = true, value_name = "I")]
    pub device: Option<usize>,

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
    /// Compare two sets of results: files, directories, `baseline` or git revisions.
    Compare(CompareArgs),
    /// A/B: measure the kernels of two git revisions interleaved in one process, then compare.
    Ab(AbArgs),
    /// Accepted performance per hardware key (baselines/<key>.json).
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Offline check of the CUDA kernels (no GPU needed): NVRTC compile and ptxas resources.
    Kernels(KernelsArgs),
    /// Check every benchmark's output against the reference once, without timing.
    Verify(VerifyArgs),
    /// Join the shard files of one run into one run record.
    Merge(MergeArgs),
    /// Performance along a branch's history: change points and slow creep per benchmark.
    History(HistoryArgs),
    /// Write stored runs for other tools: Bencher (BMF), github-action-benchmark, CSV.
    Export(ExportArgs),
    /// Write a static HTML report: history charts, change points, verdicts, roofline.
    Report(ReportArgs),
    /// Find the commit that made a benchmark slower: A/B each probed commit's kernels
    /// against the good revision's (interleaved, in a worker per probe), by binary search.
    Bisect(BisectArgs),
    /// Internal: run a job for `orac run` in an isolated process.
    #[command(hide = true)]
    Worker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Table,
    Json,
    Markdown,
}

/// How a comparison decides and reports.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// Config file with a [compare] section (default: ./orac.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Smallest change that counts, as a fraction (0.03 = 3%).
    #[arg(long, value_name = "FRACTION")]
    pub min_threshold: Option<f64>,
    /// The threshold grows to K × the benchmark's noise.
    #[arg(long, value_name = "K")]
    pub noise_k: Option<f64>,
    /// Per-benchmark false-alarm level for slower/faster, whatever else is compared
    /// (default 0.05/300 ≈ 1.7e-4: one failed gate in twenty for a 300-benchmark suite of
    /// unchanged kernels).
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Verdicts that fail the command (comma-separated; default slower,failed).
    #[arg(long, value_name = "VERDICTS")]
    pub fail_on: Option<String>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Also write the PR-comment markdown to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown_out: Option<PathBuf>,
    /// Also write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// A results file, a directory of runs, `baseline`, or a git revision.
    pub base: String,
    /// Same forms as BASE.
    pub head: String,
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results_dir: PathBuf,
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    pub baselines_dir: PathBuf,
    /// Compare runs from different hardware keys anyway.
    #[arg(long)]
    pub allow_cross_hardware: bool,
    /// Hardware key whose runs a git revision names (when results/ holds several machines).
    #[arg(long, value_name = "KEY")]
    pub hardware: Option<String>,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Debug, Args)]
pub struct AbArgs {
    /// Base revision (branch, tag, sha, HEAD~1…).
    #[arg(long)]
    pub base: String,
    /// Where both sides run: the GPU if usable (`auto`), or `cpu` / `cuda` explicitly. Each
    /// side's kernels come from its revision's kernels/<backend>/.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Head revision.
    #[arg(long)]
    pub head: String,
    /// Repository to read kernels from (default: the one containing the current directory).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    #[arg(long, short)]
    pub filter: Option<String>,
    #[arg(long, value_enum, default_value_t = Profile::Quick)]
    pub profile: Profile,
    /// Skip benchmarks whose kernel (source and manifest entry) is the same in both.
    #[arg(long)]
    pub changed_only: bool,
    /// Cap each side's sampling at SECS per benchmark.
    #[arg(long, value_name = "SECS")]
    pub max_time: Option<f64>,
    /// Measuring time per benchmark: undecided benchmarks get more blocks until the gate's
    /// rule decides them or this runs out (then `ambiguous`, with the smallest change this
    /// budget could detect). Default: 12 × the profile's max time (quick: 12 s).
    #[arg(long, value_name = "SECS")]
    pub budget: Option<f64>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker processes: a kernel that crashes or hangs fails its benchmark (verdict
    /// `failed`), and the gate still reports every other one.
    #[arg(long, value_enum, default_value_t = Isolation::Family)]
    pub isolation: Isolation,
    /// Kill a benchmark's A/B (and record it as failed) after SECS.
    #[arg(long, value_name = "SECS", default_value_t = 600.0)]
    pub timeout: f64,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    #[arg(long, short)]
    pub filter: Option<String>,
    #[arg(long, value_enum, default_value_t = Profile::Quick)]
    pub profile: Profile,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker processes: a kernel that crashes, hangs or poisons the GPU context fails its
    /// own check, and every other benchmark is still checked.
    #[arg(long, value_enum, default_value_t = Isolation::Family)]
    pub isolation: Isolation,
    /// Kill a benchmark's check (and record it as failed) after SECS.
    #[arg(long, value_name = "SECS", default_value_t = 600.0)]
    pub timeout: f64,
}

#[derive(Debug, Args)]
pub struct KernelsArgs {
    /// Architectures to compile for, comma-separated.
    #[arg(long, default_value = "sm_80,sm_90")]
    pub arch: String,
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Write baselines/<key>.json from runs (several runs give run-to-run noise).
    Set(BaselineSetArgs),
    /// Print a baseline.
    Show(BaselineShowArgs),
}

#[derive(Debug, Args)]
pub struct BaselineSetArgs {
    /// Run files or directories of runs, all of one hardware key.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Only benchmarks matching this regex (others already in the baseline are kept).
    #[arg(long, short)]
    pub filter: Option<String>,
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    pub baselines_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct BaselineShowArgs {
    /// Hardware key (default: this machine's CPU key).
    #[arg(long)]
    pub hardware: Option<String>,
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    pub baselines_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Whose kernels to list (no device is needed to list CUDA ones); `auto` lists the
    /// backend `orac run` would pick.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
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
    /// Worker processes: a crash or hang ends one benchmark, not the run.
    #[arg(long, value_enum, default_value_t = Isolation::Family)]
    pub isolation: Isolation,
    /// Kill a benchmark (and record it as failed) after SECS.
    #[arg(long, value_name = "SECS", default_value_t = 600.0)]
    pub timeout: f64,
    /// Finish the newest interrupted run of this machine in --results-dir (its journal), with
    /// the selection, profile, settings and kernels it started with.
    #[arg(long, conflicts_with_all = ["no_save", "filter", "shard", "profile", "max_time", "seed", "backend"])]
    pub resume: bool,
    /// Run only shard K of N (deterministic, balanced); `orac merge` joins the shards.
    /// `auto` (or `auto/N`) takes K/N from a Slurm job array, a Kubernetes Indexed Job or
    /// the CI's parallelism variables, and says which.
    #[arg(long, value_name = "K/N|auto")]
    pub shard: Option<ShardArg>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard run files (`orac run --shard K/N` outputs).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A run file; default: the newest run in --results-dir.
    pub run: Option<PathBuf>,
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results_dir: PathBuf,
    /// Print the table as GitHub markdown (for docs/PERFORMANCE.md and PR comments).
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results_dir: PathBuf,
}

/// Which history to load and how to search it (shared by `history` and `report`).
#[derive(Debug, Args)]
pub struct SeriesArgs {
    /// Hardware key (a directory under results/); `history` needs it when there are several.
    #[arg(long, value_name = "KEY")]
    pub hardware: Option<String>,
    /// Only benchmarks whose id matches this regex.
    #[arg(long, short)]
    pub filter: Option<String>,
    /// Start at this commit date (YYYY-MM-DD) or git revision.
    #[arg(long, value_name = "DATE|REV")]
    pub since: Option<String>,
    /// The branch whose first-parent history orders the runs.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub branch: String,
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results: PathBuf,
    /// Points per window of the change-point search.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub window: usize,
    /// Significance a change point needs (t-test, adjusted for the split's selection).
    #[arg(long, value_name = "P", default_value_t = 0.001)]
    pub max_p: f64,
    /// Smallest relative change reported as a change point (0.02 = 2%).
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    pub min_change: f64,
    /// Drift over --creep-window commits that counts as slow creep.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.05)]
    pub creep_threshold: f64,
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub creep_window: usize,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub series: SeriesArgs,
    /// Exit 1 when a slower change point (or creep) lies in the newest N commits of a series.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub fail_within: usize,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub series: SeriesArgs,
    /// Directory to write the report to (created; an earlier orac report there is replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Where baselines are read, for the newest run's verdicts.
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    pub baselines: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Bencher Metric Format JSON (latency in ns, FLOP/s, B/s); one run.
    Bmf,
    /// github-action-benchmark `customSmallerIsBetter` JSON (median time in ns); one run.
    GabSmaller,
    /// github-action-benchmark `customBiggerIsBetter` JSON (GFLOP/s or GB/s); one run.
    GabBigger,
    /// CSV, one row per benchmark of every run given.
    Csv,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Run files or directories of runs; default: the newest run (every run for CSV)
    /// under --results.
    pub runs: Vec<PathBuf>,
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results: PathBuf,
    /// Without RUN paths: only this hardware key's runs (needed for the one-run formats
    /// when --results holds several keys).
    #[arg(long, value_name = "KEY")]
    pub hardware: Option<String>,
    /// Write here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BisectArgs {
    /// Where the probes run: the GPU if usable (`auto`), or `cpu` / `cuda` explicitly.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// A revision where the benchmark was fast.
    #[arg(long, value_name = "REV")]
    pub good: String,
    /// A later revision (first-parent descendant of --good) where it is slow.
    #[arg(long, value_name = "REV")]
    pub bad: String,
    /// The benchmark id (exactly, as `orac list` prints it).
    #[arg(long, value_name = "ID")]
    pub bench: String,
    /// Repository to read kernels from (default: the one containing the current directory).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Profile::Quick)]
    pub profile: Profile,
    /// Cap each side's sampling at SECS per probe.
    #[arg(long, value_name = "SECS")]
    pub max_time: Option<f64>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Config file with a [compare] section (default: ./orac.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Smallest slowdown that makes a commit bad, as a fraction (0.03 = 3%).
    #[arg(long, value_name = "FRACTION")]
    pub min_threshold: Option<f64>,
    /// Probes in worker processes (a probe whose kernel crashes or hangs is skipped), or
    /// `none` for all in this process.
    #[arg(long, value_enum, default_value_t = Isolation::Family)]
    pub isolation: Isolation,
    /// Kill a probe's A/B (the commit is skipped) after SECS.
    #[arg(long, value_name = "SECS", default_value_t = 600.0)]
    pub timeout: f64,
}
