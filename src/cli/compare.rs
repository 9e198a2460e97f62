//! `orac compare` and `orac ab`: build a comparison, print it, write the reports, and turn
//! the verdicts into an exit code.

use std::path::{Path, PathBuf};

use super::args::{AbArgs, CompareArgs, GateArgs, ReportFormat};
use crate::backend::{self, Backend, BackendChoice};
use crate::error::{Error, Result};
use crate::isolate::{
    AbJob, Isolation, Job, PairResult, install_interrupt_handler, interrupted, run_isolated,
};
use crate::kernels::{KernelSpec, KernelTree, host_changes, resolve_revision};
use crate::measure::Settings;
use crate::regress::{AbPlan, PairedOutcome};
use crate::regress::{
    CompareConfig, Comparison, SideContext, SideInfo, compare_independent, compare_paired, outcome,
    parse_fail_on, resolve_side,
};
use crate::report::{CommentContext, compare_markdown_with, compare_table};
use crate::runner::{AbCase, AbRun, Event, ab_phase, outcome_status, run_ab};
use crate::suite::{Benchmark, Family, Filter, build_suite};

/// Defaults, then the config file, then flags.
fn config(gate: &GateArgs) -> Result<CompareConfig> {
    let mut c = match &gate.config {
        Some(path) => CompareConfig::load(path)?,
        None if Path::new("orac.toml").is_file() => CompareConfig::load(Path::new("orac.toml"))?,
        None => CompareConfig::default(),
    };
    let check = |name: &str, v: f64, max: f64| {
        if v.is_finite() && (0.0..=max).contains(&v) {
            Ok(v)
        } else {
            Err(Error::Usage(format!(
                "--{name} {v}: must be between 0 and {max}"
            )))
        }
    };
    if let Some(v) = gate.min_threshold {
        c.defaults.min_threshold = check("min-threshold", v, 10.0)?;
    }
    if let Some(v) = gate.noise_k {
        c.defaults.noise_k = check("noise-k", v, 100.0)?;
    }
    if let Some(v) = gate.alpha {
        c.defaults.alpha = check("alpha", v, 1.0)?;
        if !(v > 0.0 && v < 1.0) {
            return Err(Error::Usage(format!(
                "--alpha {v}: must be above 0 and below 1 (the default is 0.05/300 = {:.2e})",
                crate::regress::sequential::DEFAULT_ALPHA
            )));
        }
    }
    if let Some(list) = &gate.fail_on {
        c.fail_on = parse_fail_on(std::slice::from_ref(list))?;
    }
    Ok(c)
}

fn write_report(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Prints and writes the reports, then maps the verdicts to the exit code.
fn finish(c: &Comparison, gate: &GateArgs, fail_on: &[crate::regress::Verdict]) -> Result<()> {
    let json = || serde_json::to_string_pretty(c).expect("a comparison always serialises");
    let mut context = CommentContext::from_env();
    if let Some(path) = &gate.counters_section {
        match std::fs::read_to_string(path) {
            Ok(text) if !text.trim().is_empty() => context.counters = Some(text),
            Ok(_) => {}
            Err(e) => eprintln!(
                "warning: --counters-section {}: {e}; the comment leaves the counters out",
                path.display()
            ),
        }
    }
    let markdown = || compare_markdown_with(c, &context);
    match gate.format {
        ReportFormat::Table => println!(
            "{}",
            super::style::Paint::stdout().verdicts(&compare_table(c))
        ),
        ReportFormat::Json => println!("{}", json()),
        ReportFormat::Markdown => print!("{}", markdown()),
    }
    // A report that cannot be written must not hide the verdict's exit code.
    let verdict = outcome(&c.verdicts(), fail_on);
    let mut write_error = None;
    for (path, text) in [(&gate.markdown_out, markdown()), (&gate.json_out, json())] {
        if let Some(path) = path {
            match write_report(path, &text) {
                Ok(()) => eprintln!("wrote {}", path.display()),
                Err(e) if verdict.is_err() => eprintln!("error: {e}"),
                Err(e) => write_error = write_error.or(Some(e)),
            }
        }
    }
    verdict?;
    write_error.map_or(Ok(()), Err)
}

pub fn compare(args: CompareArgs) -> Result<()> {
    let config = config(&args.gate)?;
    if args.base == "baseline" && args.head == "baseline" {
        return Err(Error::Usage(
            "BASE and HEAD cannot both be `baseline`".into(),
        ));
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let ctx = |hint| SideContext {
        results_dir: &args.results_dir,
        baselines_dir: &args.baselines_dir,
        repo_dir: &cwd,
        hardware_hint: hint,
    };
    // Resolve the concrete side first: its hardware picks the baseline and the runs.
    let hint = args.hardware.as_deref();
    let (base, head) = if args.base == "baseline" {
        let head = resolve_side(&args.head, &ctx(hint))?;
        let base = resolve_side(&args.base, &ctx(Some(&head.info.hardware_key)))?;
        (base, head)
    } else {
        let base = resolve_side(&args.base, &ctx(hint))?;
        let head = resolve_side(&args.head, &ctx(Some(&base.info.hardware_key)))?;
        (base, head)
    };
    if super::counters::has_counters(&base) || super::counters::has_counters(&head) {
        return super::counters::compare_sides(&base, &head, &args.gate);
    }
    let c = compare_independent(&base, &head, &config, args.allow_cross_hardware)?;
    finish(&c, &args.gate, &config.fail_on)
}

/// True when the kernel behind `id` is declared and written identically in both trees.
pub(super) fn same_kernel(a: Option<&KernelSpec>, b: Option<&KernelSpec>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            a.source_hash == b.source_hash
                && a.entry == b.entry
                && a.flags == b.flags
                && a.openmp == b.openmp
                && a.dtype == b.dtype
        }
        _ => false,
    }
}

pub(super) fn side_info(
    label: &str,
    commit: &str,
    hardware_key: &str,
    compiler: Option<String>,
) -> SideInfo {
    SideInfo {
        label: label.to_string(),
        hardware_key: hardware_key.to_string(),
        commit: Some(commit.to_string()),
        dirty: Some(false),
        runs: 1,
        compiler,
        orac_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        gpu: None,
    }
}

/// The A/B cases in supervised worker processes: a kernel that crashes or hangs becomes a
/// `failed` verdict for its benchmark instead of ending the gate without a report.
/// How isolated A/B cases run: the suite's profile and seed, the per-case timeout, the
/// worker grouping, and whether each finished case is printed.
#[derive(Clone)]
pub(super) struct AbWorkers {
    /// The backend both sides run on, resolved (never `auto`).
    pub backend: BackendChoice,
    pub profile: crate::suite::Profile,
    pub seed: u64,
    pub timeout: std::time::Duration,
    pub isolation: Isolation,
    pub progress: bool,
    /// The gate's stopping rule, thresholds and per-benchmark budget.
    pub gate: crate::regress::AbPlan,
}

pub(super) fn ab_isolated(
    plan: &AbWorkers,
    repo: &Path,
    (base_commit, head_commit): (&str, &str),
    cases: &[AbCase],
    settings: Settings,
) -> Result<Vec<(String, Family, PairedOutcome)>> {
    let isolation = plan.isolation;
    let exe = std::env::current_exe()
        .map_err(|e| Error::Usage(format!("cannot find the orac executable: {e}")))?;
    let job = Job {
        backend: plan.backend,
        kernels_dir: None,
        profile: plan.profile,
        settings,
        seed: plan.seed,
        ids: Vec::new(),
        ab: Some(AbJob {
            repo: repo.to_path_buf(),
            base_commit: base_commit.to_string(),
            head_commit: head_commit.to_string(),
            plan: plan.gate.clone(),
        }),
        verify_only: false,
        out_dir: None,
    };
    let benches: Vec<Benchmark> = cases.iter().map(|c| c.bench.clone()).collect();
    // Blame follows the side whose kernel was running; while both run interleaved the
    // gate fails (a crash needs a look) and says it could be either.
    let failed = |bench: &Benchmark, why: String, phase: Option<&str>| PairResult {
        id: bench.id.clone(),
        family: bench.family(),
        outcome: match phase {
            Some(ab_phase::BASE) => {
                PairedOutcome::BaseFailed(format!("the base kernel killed the A/B worker: {why}"))
            }
            Some(ab_phase::HEAD) => {
                PairedOutcome::HeadFailed(format!("the head kernel killed the A/B worker: {why}"))
            }
            _ => PairedOutcome::HeadFailed(format!(
                "the A/B worker died while base and head ran interleaved (either kernel): {why}"
            )),
        },
    };
    let mut results: Vec<PairResult> = Vec::new();
    let mut bar = super::progress::LiveBar::new();
    let mut on_event = |event: Event<PairResult>| match event {
        Event::Started { total, bench, .. } => {
            if plan.progress {
                bar.started(total, &bench.id);
            }
        }
        Event::Finished {
            index,
            total,
            result,
        } => {
            if plan.progress {
                let line = format!(
                    "[{:>3}/{total}] {} {}",
                    index + 1,
                    result.id,
                    outcome_status(&result.outcome)
                );
                bar.finished(index, total, line);
            }
            results.push(result.clone());
        }
    };
    install_interrupt_handler();
    let completed = run_isolated(
        &exe,
        &job,
        &benches,
        isolation,
        plan.timeout,
        &failed,
        &mut on_event,
        (0, benches.len()),
    )?;
    // The bar goes before the report is printed under it.
    bar.finish();
    if !completed || interrupted() {
        return Err(Error::AbInterrupted {
            done: results.len(),
            total: benches.len(),
        });
    }
    // Report in the planned order, whatever order the workers finished in.
    Ok(cases
        .iter()
        .filter_map(|c| results.iter().find(|r| r.id == c.bench.id))
        .map(|r| (r.id.clone(), r.family, r.outcome.clone()))
        .collect())
}

/// An A/B benchmark's default measuring budget, in multiples of the profile's `max_time`:
/// about what the rule's most blocks take (each block samples for a quarter of it).
pub(super) const BUDGET_PER_MAX_TIME: u32 = 12;

/// The two sides of an A/B: both revisions resolved in `--repo` (else here), and a
/// backend opened on each one's kernels, read from git.
pub(super) struct AbSides {
    pub repo: PathBuf,
    pub base_commit: String,
    pub head_commit: String,
    pub base: Box<dyn Backend>,
    pub head: Box<dyn Backend>,
}

/// Opens `args.backend` on the base's kernels (printing its notes), then the backend that
/// resolved to on the head's, so `auto` picks one kind for both.
pub(super) fn open_sides(args: &AbArgs) -> Result<AbSides> {
    let dir = match &args.repo {
        Some(d) => d.clone(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    let (repo, base_commit) = resolve_revision(&dir, &args.base)?;
    let (_, head_commit) = resolve_revision(&dir, &args.head)?;
    let tree = |commit: &str| KernelTree::Git {
        repo: repo.clone(),
        commit: commit.to_string(),
    };
    let (base, notes) = backend::open(args.backend, &tree(&base_commit))?;
    for note in notes {
        eprintln!("note: {note}");
    }
    let (head, _) = backend::open(backend::resolved(base.as_ref()), &tree(&head_commit))?;
    Ok(AbSides {
        repo,
        base_commit,
        head_commit,
        base,
        head,
    })
}

pub fn ab(args: AbArgs) -> Result<()> {
    if args.backend == BackendChoice::Emu {
        return super::counters::ab_counters(args);
    }
    let config = config(&args.gate)?;
    let filter = Filter::new(args.filter.as_deref())?;
    super::run::seconds("--timeout", args.timeout)?; // checked before any work starts
    let AbSides {
        repo,
        base_commit,
        head_commit,
        mut base,
        mut head,
    } = open_sides(&args)?;
    let choice = backend::resolved(base.as_ref());

    let head_suite = build_suite(head.kernels(), args.profile, &filter);
    let base_suite = build_suite(base.kernels(), args.profile, &filter);
    let spec = |b: &dyn Backend, bench: &crate::suite::Benchmark| {
        KernelSpec::find(b.kernels(), bench.family(), &bench.kernel).cloned()
    };
    let mut cases: Vec<AbCase> = Vec::new();
    let mut unchanged = 0;
    for bench in &head_suite {
        let in_base = base_suite.iter().any(|b| b.id == bench.id);
        if args.changed_only
            && in_base
            && same_kernel(
                spec(base.as_ref(), bench).as_ref(),
                spec(head.as_ref(), bench).as_ref(),
            )
        {
            unchanged += 1;
            continue;
        }
        cases.push(AbCase {
            bench: bench.clone(),
            in_base,
            in_head: true,
        });
    }
    for bench in base_suite
        .iter()
        .filter(|b| !head_suite.iter().any(|h| h.id == b.id))
    {
        cases.push(AbCase {
            bench: bench.clone(),
            in_base: true,
            in_head: false,
        });
    }
    let key = head.hardware().key.clone();
    let compiler = head.hardware().compiler.clone();
    let gpu = head.hardware().gpu.clone();
    // Say what the gate cannot see: host code changes, and benchmarks left out.
    let sides = |outcomes| -> Result<crate::regress::Comparison> {
        let mut head_info = side_info(&args.head, &head_commit, &key, compiler.clone());
        head_info.gpu = gpu.clone();
        let mut c = compare_paired(
            side_info(&args.base, &base_commit, &key, compiler.clone()),
            head_info,
            outcomes,
            &config,
        )?;
        if unchanged > 0 {
            let why = crate::regress::UNCHANGED_KERNEL;
            crate::regress::add_skipped(&mut c.skipped, why, unchanged);
        }
        c.host_changes = host_changes(&repo, &base_commit, &head_commit).unwrap_or_default();
        Ok(c)
    };
    if cases.is_empty() {
        if unchanged > 0 {
            eprintln!(
                "no kernel changed between {} and {}: nothing to compare ({unchanged} benchmarks skipped)",
                args.base, args.head
            );
            return finish(&sides(Vec::new())?, &args.gate, &config.fail_on);
        }
        return Err(Error::NoMatch(filter.as_str().unwrap_or("").to_string()));
    }
    if unchanged > 0 {
        eprintln!("--changed-only: skipping {unchanged} benchmarks whose kernels did not change");
    }
    let mut settings = Settings::for_profile(args.profile);
    if let Some(secs) = args.max_time {
        settings = settings.with_max_time(super::run::seconds("--max-time", secs)?);
    }
    let budget = match args.budget {
        Some(secs) => super::run::seconds("--budget", secs)?,
        None => settings.max_time * BUDGET_PER_MAX_TIME,
    };
    if args.isolation != Isolation::None && budget.as_secs_f64() >= args.timeout * 0.8 {
        return Err(Error::Usage(format!(
            "--budget {:.0} s leaves no room under --timeout {:.0} s (a worker is killed at the timeout): raise --timeout or lower --budget",
            budget.as_secs_f64(),
            args.timeout
        )));
    }
    let gate = AbPlan::new(&config, cases.iter().map(|c| c.bench.id.as_str()), budget);
    eprintln!(
        "A/B {} ({}) vs {} ({}): {} benchmarks, interleaved on {}",
        args.base,
        &base_commit[..7],
        args.head,
        &head_commit[..7],
        cases.len(),
        head.hardware().key
    );
    let outcomes = match args.isolation {
        Isolation::None => run_ab(
            base.as_mut(),
            head.as_mut(),
            &cases,
            AbRun {
                settings: &settings,
                plan: &gate,
                seed: args.seed,
            },
            &mut |i, n, id, status| {
                eprintln!("[{:>3}/{n}] {id} {status}", i + 1);
            },
        ),
        isolation => {
            drop((base, head));
            let plan = AbWorkers {
                backend: choice,
                profile: args.profile,
                seed: args.seed,
                timeout: super::run::seconds("--timeout", args.timeout)?,
                isolation,
                progress: true,
                gate,
            };
            ab_isolated(&plan, &repo, (&base_commit, &head_commit), &cases, settings)?
        }
    };
    finish(&sides(outcomes)?, &args.gate, &config.fail_on)
}
