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

/// Help of `--results-dir`, the same on every command that reads or writes runs.
const RESULTS_DIR_HELP: &str = "Where runs are stored: a directory of run files per hardware key";
/// Help of `--baselines-dir`, the same on every command that reads or writes baselines.
const BASELINES_DIR_HELP: &str = "Where baselines are stored (<hardware key>.json each)";
/// Help of `--profile`.
const PROFILE_HELP: &str = "Problem sizes and timing: quick (small sizes, about a minute for the suite), full (for real hardware) or emu (a few tiny shapes per kernel, what --backend emu runs)";
/// Help of `--seed`.
const SEED_HELP: &str = "Seed of the random inputs";

/// `text`, then the default `--max-time` of each profile, as clap shows a default.
fn max_time_help(text: &str) -> String {
    let secs = |p| {
        crate::measure::Settings::for_profile(p)
            .max_time
            .as_secs_f64()
    };
    format!(
        "{text} [default: the profile's, quick {} s, full {} s]",
        secs(Profile::Quick),
        secs(Profile::Full)
    )
}

/// GPU kernel microbenchmarks: verified against a reference, timed with care, stored by
/// commit and hardware.
#[derive(Debug, Parser)]
#[command(name = "orac", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// The old spelling `orac --kernels DIR run`, before the subcommand: hidden, and moved
    /// onto the subcommand by [`Cli::normalized`].
    #[arg(long, hide = true, value_name = "DIR")]
    pub kernels: Option<PathBuf>,

    /// The old spelling `orac --device I run`: hidden, moved like `--kernels`.
    #[arg(long, hide = true, value_name = "I")]
    pub device: Option<usize>,

    #[command(subcommand)]
    pub command: Command,
}

/// `--kernels DIR`, on the commands that load kernels from the working tree.
#[derive(Debug, Default, Args)]
pub struct KernelsArg {
    /// Load kernel sources from DIR (laid out like kernels/) instead of the ones built in.
    #[arg(long, value_name = "DIR")]
    pub kernels: Option<PathBuf>,
}

/// `--device I`, on the commands that may open a GPU.
#[derive(Debug, Default, Args)]
pub struct DeviceArg {
    /// Use GPU number I (of those CUDA_VISIBLE_DEVICES shows, if set): one orac per GPU
    /// of a node, each with its own shard (`run --shard K/N`). Recorded with the run.
    #[arg(long, value_name = "I")]
    pub device: Option<usize>,
}

/// The subcommands that take the argument `id`, for messages.
fn takers(id: &str) -> String {
    use clap::CommandFactory;
    Cli::command()
        .get_subcommands()
        .filter(|c| c.get_arguments().any(|a| a.get_id() == id))
        .map(|c| c.get_name().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Cli {
    /// The parsed command line in its one spelling: the old top-level `--kernels` and
    /// `--device` moved onto the subcommand (with a warning where the subcommand has no use
    /// for them, as before they were ignored), and the old `--json` / `--markdown` folded
    /// into `--format`.
    pub fn normalized(mut self) -> crate::Result<Cli> {
        let usage = crate::Error::Usage;
        if let Some(dir) = self.kernels.take() {
            match self.command.kernels_mut() {
                Some(slot) if slot.kernels.is_some() => {
                    return Err(usage(
                        "--kernels given twice (before and after the subcommand)".into(),
                    ));
                }
                Some(slot) => slot.kernels = Some(dir),
                None => eprintln!(
                    "warning: --kernels means nothing to `orac {}` (it applies to {}): ignored",
                    self.command.name(),
                    takers("kernels")
                ),
            }
        }
        if let Some(index) = self.device.take() {
            match self.command.device_mut() {
                Some(slot) if slot.device.is_some() => {
                    return Err(usage(
                        "--device given twice (before and after the subcommand)".into(),
                    ));
                }
                Some(slot) => slot.device = Some(index),
                None => eprintln!(
                    "warning: --device means nothing to `orac {}` (it applies to {}): ignored",
                    self.command.name(),
                    takers("device")
                ),
            }
        }
        match &mut self.command {
            Command::History(a) if a.json => {
                a.json = false;
                a.format = HistoryFormat::Json;
            }
            Command::Show(a) if a.markdown => {
                a.markdown = false;
                a.format = ShowFormat::Markdown;
            }
            _ => {}
        }
        Ok(self)
    }
}

impl Command {
    /// The subcommand's name as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::List(_) => "list",
            Command::Info(_) => "info",
            Command::Run(_) => "run",
            Command::Show(_) => "show",
            Command::Runs(_) => "runs",
            Command::Compare(_) => "compare",
            Command::Ab(_) => "ab",
            Command::Baseline(_) => "baseline",
            Command::Kernels(_) => "kernels",
            Command::Verify(_) => "verify",
            Command::Counters(_) => "counters",
            Command::Merge(_) => "merge",
            Command::History(_) => "history",
            Command::Export(_) => "export",
            Command::Report(_) => "report",
            Command::Bisect(_) => "bisect",
            Command::Worker => "worker",
        }
    }

    /// Its `--kernels`, if it takes one.
    pub fn kernels_mut(&mut self) -> Option<&mut KernelsArg> {
        match self {
            Command::List(a) => Some(&mut a.kernels),
            Command::Info(a) => Some(&mut a.kernels),
            Command::Run(a) => Some(&mut a.kernels),
            Command::Kernels(a) => Some(&mut a.kernels),
            Command::Verify(a) => Some(&mut a.kernels),
            Command::Counters(a) => Some(&mut a.kernels),
            _ => None,
        }
    }

    /// Its `--device`, if it takes one.
    pub fn device_mut(&mut self) -> Option<&mut DeviceArg> {
        match self {
            Command::List(a) => Some(&mut a.device),
            Command::Info(a) => Some(&mut a.device),
            Command::Run(a) => Some(&mut a.device),
            Command::Verify(a) => Some(&mut a.device),
            Command::Ab(a) => Some(&mut a.device),
            Command::Bisect(a) => Some(&mut a.device),
            _ => None,
        }
    }
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
    /// Count what every CUDA kernel does in the PTX emulator (bank conflicts, sectors per
    /// request, SIMT efficiency, spills), check it against the reference, save the counts.
    Counters(CountersArgs),
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

/// What `compare` and `ab` print on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// A table for the terminal.
    Table,
    /// The JSON report.
    Json,
    /// The PR-comment markdown.
    Markdown,
}

/// What `history` prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    /// The table of series and the change points.
    Table,
    /// The whole history as JSON.
    Json,
}

/// What `show` prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    /// The run's file, header and table for the terminal.
    Table,
    /// The header and table as GitHub markdown (for docs/PERFORMANCE.md and PR comments).
    Markdown,
}

/// How a comparison decides and reports.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// Config file with a [compare] section (default: ./orac.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Smallest change that counts, as a fraction (0.03 = 3%).
    #[arg(long, value_name = "FRACTION", allow_negative_numbers = true)]
    pub min_threshold: Option<f64>,
    /// The threshold grows to K × the benchmark's noise.
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    pub noise_k: Option<f64>,
    /// Per-benchmark false-alarm level for slower/faster, whatever else is compared
    /// (default 0.05/300 ≈ 1.7e-4: one failed gate in twenty for a 300-benchmark suite of
    /// unchanged kernels).
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
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
    /// Markdown to show as the comment's emulator-counters section (what `orac ab --backend
    /// emu --markdown-out` wrote), so one comment holds both.
    #[arg(long, value_name = "FILE")]
    pub counters_section: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// A results file, a directory of runs, `baseline`, or a git revision.
    pub base: String,
    /// Same forms as BASE.
    pub head: String,
    #[arg(long, alias = "results", value_name = "DIR", default_value = "results", help = RESULTS_DIR_HELP)]
    pub results_dir: PathBuf,
    #[arg(long, alias = "baselines", value_name = "DIR", default_value = "baselines", help = BASELINES_DIR_HELP)]
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
    /// Where both sides run: the GPU if usable (`auto`), or `cpu` / `cuda` explicitly; `emu`
    /// counts instead of timing (the emulator's counters, compared exactly: fails on worse
    /// bank conflicts, sectors, spills or SIMT efficiency). Each side's kernels come from its
    /// revision's kernels/<backend>/.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    #[command(flatten)]
    pub device: DeviceArg,
    /// Head revision.
    #[arg(long)]
    pub head: String,
    /// Repository to read kernels from (default: the one containing the current directory).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Only benchmarks whose id matches this regular expression.
    #[arg(long, short)]
    pub filter: Option<String>,
    #[arg(long, value_enum, default_value_t = Profile::Quick, help = PROFILE_HELP)]
    pub profile: Profile,
    /// Skip benchmarks whose kernel (source and manifest entry) is the same in both.
    #[arg(long)]
    pub changed_only: bool,
    #[arg(long, value_name = "SECS", allow_negative_numbers = true,
          help = max_time_help("Cap each side's sampling at SECS per benchmark"))]
    pub max_time: Option<f64>,
    /// Measuring time per benchmark: undecided benchmarks get more blocks until the gate's
    /// rule decides them or this runs out (then `ambiguous`, with the smallest change this
    /// budget could detect). Default: 12 × the profile's max time (quick: 12 s).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub budget: Option<f64>,
    #[arg(long, default_value_t = 0, help = SEED_HELP)]
    pub seed: u64,
    /// Worker processes: a kernel that crashes or hangs fails its benchmark (verdict
    /// `failed`), and the gate still reports every other one.
    #[arg(long, value_enum, default_value_t = Isolation::Family)]
    pub isolation: Isolation,
    /// Kill a benchmark's A/B (and record it as failed) after SECS.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 600.0,
        allow_negative_numbers = true
    )]
    pub timeout: f64,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// auto: CUDA when a GPU is usable, else the CPU; emu: the CUDA kernels' PTX in the
    /// emulator (verify and list only).
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    #[command(flatten)]
    pub kernels: KernelsArg,
    #[command(flatten)]
    pub device: DeviceArg,
    /// Only benchmarks whose id matches this regular expression.
    #[arg(long, short)]
    pub filter: Option<String>,
    #[arg(long, value_enum, default_value_t = Profile::Quick, help = PROFILE_HELP)]
    pub profile: Profile,
    #[arg(long, default_value_t = 0, help = SEED_HELP)]
    pub seed: u64,
    #[command(flatten)]
    pub checks: CheckIsolation,
    /// Also write each benchmark's output to DIR (`<id>.f32` little-endian floats, `<id>.u8`
    /// bytes; never over an existing file), to compare two backends element by element.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// How `verify` and `counters` run their checks.
#[derive(Debug, Clone, Copy, Args)]
pub struct CheckIsolation {
    /// Worker processes: a kernel that crashes, hangs or poisons the GPU context fails its
    /// own check, and every other benchmark is still checked.
    #[arg(long, value_enum, default_value_t = Isolation::Family)]
    pub isolation: Isolation,
    /// Kill a benchmark's check (and record it as failed) after SECS.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 600.0,
        allow_negative_numbers = true
    )]
    pub timeout: f64,
}

#[derive(Debug, Args)]
pub struct CountersArgs {
    #[command(flatten)]
    pub kernels: KernelsArg,
    /// Only benchmarks whose id matches this regular expression.
    #[arg(long, short)]
    pub filter: Option<String>,
    #[arg(long, default_value_t = 0, help = SEED_HELP)]
    pub seed: u64,
    #[command(flatten)]
    pub checks: CheckIsolation,
    #[arg(long, alias = "results", value_name = "DIR", default_value = "results", help = RESULTS_DIR_HELP)]
    pub results_dir: PathBuf,
    /// Print the table, save nothing.
    #[arg(long)]
    pub no_save: bool,
    /// Also print every count of every benchmark.
    #[arg(long)]
    pub all: bool,
    /// Also print each benchmark's memory instructions that took more wavefronts or
    /// sectors than they needed (bank conflicts, uncoalesced accesses), worst first.
    #[arg(long)]
    pub hotspots: bool,
}

#[derive(Debug, Args)]
pub struct KernelsArgs {
    /// Architectures to compile for, comma-separated.
    #[arg(long, default_value = "sm_80,sm_90")]
    pub arch: String,
    #[command(flatten)]
    pub kernels: KernelsArg,
    /// Where the newest `orac counters` record is read from, for the counters beside
    /// registers and spills.
    #[arg(long, alias = "results", value_name = "DIR", default_value = "results", help = RESULTS_DIR_HELP)]
    pub results_dir: PathBuf,
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
    #[arg(long, alias = "baselines", value_name = "DIR", default_value = "baselines", help = BASELINES_DIR_HELP)]
    pub baselines_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct BaselineShowArgs {
    /// Hardware key (default: this machine's CPU key).
    #[arg(long)]
    pub hardware: Option<String>,
    #[arg(long, alias = "baselines", value_name = "DIR", default_value = "baselines", help = BASELINES_DIR_HELP)]
    pub baselines_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Whose kernels to list (no device is needed to list CUDA ones); `auto` lists the
    /// backend `orac run` would pick.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    #[command(flatten)]
    pub kernels: KernelsArg,
    #[command(flatten)]
    pub device: DeviceArg,
    /// Only ids matching this regular expression.
    #[arg(long, short)]
    pub filter: Option<String>,
    #[arg(long, value_enum, default_value_t = Profile::Quick, help = PROFILE_HELP)]
    pub profile: Profile,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The backend to open and describe (auto: CUDA when a GPU is usable, else the CPU).
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    #[command(flatten)]
    pub kernels: KernelsArg,
    #[command(flatten)]
    pub device: DeviceArg,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// auto: CUDA when a GPU is usable, else the CPU; emu: the CUDA kernels' PTX in the
    /// emulator (verify and list only).
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    #[command(flatten)]
    pub kernels: KernelsArg,
    #[command(flatten)]
    pub device: DeviceArg,
    /// Only benchmarks whose id matches this regular expression.
    #[arg(long, short)]
    pub filter: Option<String>,
    #[arg(long, value_enum, default_value_t = Profile::Quick, help = PROFILE_HELP)]
    pub profile: Profile,
    #[arg(long, alias = "results", value_name = "DIR", default_value = "results", help = RESULTS_DIR_HELP)]
    pub results_dir: PathBuf,
    /// Print the table but do not save the run.
    #[arg(long)]
    pub no_save: bool,
    #[arg(long, value_name = "SECS", allow_negative_numbers = true,
          help = max_time_help("Cap each benchmark's sampling at SECS (after warm-up)"))]
    pub max_time: Option<f64>,
    #[arg(long, default_value_t = 0, help = SEED_HELP)]
    pub seed: u64,
    /// Worker processes: a crash or hang ends one benchmark, not the run.
    #[arg(long, value_enum, default_value_t = Isolation::Family)]
    pub isolation: Isolation,
    /// Kill a benchmark (and record it as failed) after SECS.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 600.0,
        allow_negative_numbers = true
    )]
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
    #[arg(long, alias = "results", value_name = "DIR", default_value = "results", help = RESULTS_DIR_HELP)]
    pub results_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A run file; default: the newest run in --results-dir.
    pub run: Option<PathBuf>,
    #[arg(long, alias = "results", value_name = "DIR", default_value = "results", help = RESULTS_DIR_HELP)]
    pub results_dir: PathBuf,
    /// What to print.
    #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
    pub format: ShowFormat,
    /// The old spelling of `--format markdown`.
    #[arg(long, hide = true, conflicts_with = "format")]
    pub markdown: bool,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[arg(long, alias = "results", value_name = "DIR", default_value = "results", help = RESULTS_DIR_HELP)]
    pub results_dir: PathBuf,
}

/// Which history to load and how to search it (shared by `history` and `report`).
#[derive(Debug, Args)]
pub struct SeriesArgs {
    /// Only benchmarks whose id matches this regex.
    #[arg(long, short)]
    pub filter: Option<String>,
    /// Start at this commit date (YYYY-MM-DD) or git revision.
    #[arg(long, value_name = "DATE|REV")]
    pub since: Option<String>,
    /// The branch whose first-parent history orders the runs.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub branch: String,
    #[arg(long, alias = "results", value_name = "DIR", default_value = "results", help = RESULTS_DIR_HELP)]
    pub results_dir: PathBuf,
    /// Points per window of the change-point search.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub window: usize,
    /// Significance a change point needs (t-test, adjusted for the split's selection).
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.001,
        allow_negative_numbers = true
    )]
    pub max_p: f64,
    /// Smallest relative change reported as a change point (0.02 = 2%).
    #[arg(
        long,
        value_name = "FRACTION",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub min_change: f64,
    /// Drift over --creep-window commits that counts as slow creep.
    #[arg(
        long,
        value_name = "FRACTION",
        default_value_t = 0.05,
        allow_negative_numbers = true
    )]
    pub creep_threshold: f64,
    /// Commits over which drift is measured for slow creep (at least 4).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub creep_window: usize,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Hardware key (a directory under --results-dir); needed when there are several.
    #[arg(long, value_name = "KEY")]
    pub hardware: Option<String>,
    #[command(flatten)]
    pub series: SeriesArgs,
    /// Exit 1 when a slower change point (or creep) lies in the newest N commits of a series.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub fail_within: usize,
    /// What to print.
    #[arg(long, value_enum, default_value_t = HistoryFormat::Table)]
    pub format: HistoryFormat,
    /// The old spelling of `--format json`.
    #[arg(long, hide = true, conflicts_with = "format")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Only this hardware key (a directory under --results-dir); default: every key, each
    /// with its own pages.
    #[arg(long, value_name = "KEY")]
    pub hardware: Option<String>,
    #[command(flatten)]
    pub series: SeriesArgs,
    /// Directory to write the report to (created; an earlier orac report there is replaced).
    #[arg(long, alias = "out", value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Where baselines are read, for the newest run's verdicts.
    #[arg(
        long,
        alias = "baselines",
        value_name = "DIR",
        default_value = "baselines"
    )]
    pub baselines_dir: PathBuf,
    /// Where a chart's point links, `{commit}` standing for the full id (e.g.
    /// https://github.com/OWNER/REPO/commit/{commit}); "" for none. Default: from
    /// GITHUB_SERVER_URL and GITHUB_REPOSITORY, else from a GitHub, GitLab or Codeberg
    /// `origin` remote; without one a point links to its commit's row on the benchmark's page.
    #[arg(long, value_name = "URL")]
    pub commit_url: Option<String>,
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
    /// The format to write.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Run files or directories of runs; default: the newest run (every run for CSV)
    /// under --results-dir.
    pub runs: Vec<PathBuf>,
    #[arg(long, alias = "results", value_name = "DIR", default_value = "results", help = RESULTS_DIR_HELP)]
    pub results_dir: PathBuf,
    /// Without RUN paths: only this hardware key's runs (needed for the one-run formats
    /// when --results-dir holds several keys).
    #[arg(long, value_name = "KEY")]
    pub hardware: Option<String>,
    /// Write here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also export throttled and contended results to the trackers' JSON (bmf, gab-*); by
    /// default they are left out, and every result left out is named on stderr.
    #[arg(long)]
    pub include_throttled: bool,
}

#[derive(Debug, Args)]
pub struct BisectArgs {
    /// Where the probes run: the GPU if usable (`auto`), or `cpu` / `cuda` explicitly (`emu`
    /// does not time).
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    #[command(flatten)]
    pub device: DeviceArg,
    /// A revision where the benchmark was fast.
    #[arg(long, value_name = "REV")]
    pub good: String,
    /// A later revision (first-parent descendant of --good) where it is slow.
    #[arg(long, value_name = "REV")]
    pub bad: String,
    /// The one benchmark to bisect: its id as `orac list` prints it, or a regular expression
    /// that matches exactly one id.
    #[arg(long, short, alias = "bench", value_name = "ID|RE")]
    pub filter: String,
    /// Repository to read kernels from (default: the one containing the current directory).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Profile::Quick, help = PROFILE_HELP)]
    pub profile: Profile,
    #[arg(long, value_name = "SECS", allow_negative_numbers = true,
          help = max_time_help("Cap each side's sampling at SECS per probe"))]
    pub max_time: Option<f64>,
    #[arg(long, default_value_t = 0, help = SEED_HELP)]
    pub seed: u64,
    /// Config file with a [compare] section (default: ./orac.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Smallest slowdown that makes a commit bad, as a fraction (0.03 = 3%).
    #[arg(long, value_name = "FRACTION", allow_negative_numbers = true)]
    pub min_threshold: Option<f64>,
    /// Probes in worker processes (a probe whose kernel crashes or hangs is skipped), or
    /// `none` for all in this process.
    #[arg(long, value_enum, default_value_t = Isolation::Family)]
    pub isolation: Isolation,
    /// Kill a probe's A/B (the commit is skipped) after SECS.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 600.0,
        allow_negative_numbers = true
    )]
    pub timeout: f64,
}
