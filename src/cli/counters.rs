//! `orac counters`, and the counters side of `orac compare` and `orac ab --backend emu`:
//! every CUDA kernel's PTX run in the emulator on the emu shapes (checked against the
//! reference, then counted under the canonical warp order), the counts stored like a run
//! and compared exactly (docs/EMULATOR.md, "Counters").

use std::collections::BTreeMap;

use super::args::{AbArgs, CountersArgs, GateArgs, ReportFormat, VerifyArgs};
use crate::backend::{self, BackendChoice};
use crate::error::{Error, Result};
use crate::kernels::{KernelSpec, KernelTree};
use crate::measure::Settings;
use crate::regress::Side;
use crate::regress::counters::{CountersComparison, Counts, compare, toolchain_mismatch};
use crate::report::{
    counters_comparison_markdown, counters_comparison_table, counters_listing, counters_table,
};
use crate::store::{self, BenchResult, Status};
use crate::suite::{Filter, Profile, build_suite};

fn failures(results: &[BenchResult]) -> usize {
    results
        .iter()
        .filter(|r| !matches!(r.status, Status::Ok | Status::Skipped))
        .count()
}

pub fn counters(tree: &KernelTree, args: CountersArgs) -> Result<()> {
    let verify = VerifyArgs {
        backend: BackendChoice::Emu,
        kernels: Default::default(),
        device: Default::default(),
        filter: args.filter.clone(),
        profile: Profile::Emu,
        seed: args.seed,
        checks: args.checks,
        out_dir: None,
    };
    let started_at = store::utc_now().rfc3339();
    let checked = super::verify::check_suite(tree, &verify)?;
    let results = checked.results;
    println!(
        "counters on {} ({})",
        checked.key,
        checked
            .hardware
            .compiler
            .as_deref()
            .unwrap_or("NVRTC not found")
    );
    println!("{}", counters_table(&results));
    if args.all {
        print!("{}", counters_listing(&results));
    }
    if args.hotspots {
        print!("{}", crate::report::hotspots_listing(&results));
    }
    for r in &results {
        if let Some(error) = r.error.as_deref().filter(|e| crate::report::cell_cut(e))
            && r.status != Status::Skipped
        {
            println!("\n{}:\n{error}", r.id);
        }
    }
    let counted = results.iter().filter(|r| r.counters.is_some()).count();
    if !args.no_save && counted > 0 {
        let mut record = super::run::new_record(
            tree,
            "emu",
            checked.hardware,
            checked.profile,
            Settings::for_profile(checked.profile),
            args.seed,
        );
        // begun before the emulation pass, finished after it
        record.started_at = started_at;
        record.finished_at = store::utc_now().rfc3339();
        record.benchmarks = results.clone();
        let path = store::save_run(&args.results_dir, &record)?;
        eprintln!("saved {}", path.display());
    }
    let failed = failures(&results);
    if failed > 0 {
        return Err(Error::BenchmarksFailed {
            failed,
            total: results.len(),
        });
    }
    println!(
        "{counted} benchmarks counted{}",
        match results.len() - counted {
            0 => String::new(),
            n => format!(" ({n} skipped: vendor calls or another architecture)"),
        }
    );
    Ok(())
}

/// Whether a side holds counters (an `orac counters` record) rather than timings.
pub(super) fn has_counters(side: &Side) -> bool {
    side.benches.values().any(|b| b.counters.is_some())
}

fn side_counts(side: &Side) -> BTreeMap<String, Counts> {
    side.benches
        .iter()
        .filter_map(|(id, b)| Some((id.clone(), b.counters.clone()?)))
        .collect()
}

/// `orac compare` of two counters records.
pub(super) fn compare_sides(base: &Side, head: &Side, gate: &GateArgs) -> Result<()> {
    if !has_counters(base) || !has_counters(head) {
        let (with, without) = if has_counters(base) {
            (&base.info.label, &head.info.label)
        } else {
            (&head.info.label, &base.info.label)
        };
        return Err(Error::Usage(format!(
            "{with} holds emulator counters and {without} timings: they are not comparable (compare counters with counters: `orac counters` records, under results/emu-sm_90a/)"
        )));
    }
    let (bc, hc) = (
        base.hardware.compiler.as_deref(),
        head.hardware.compiler.as_deref(),
    );
    if let Some(why) = toolchain_mismatch(bc, hc) {
        return Err(Error::Usage(why));
    }
    if let (Some(a), Some(b)) = (base.seed, head.seed)
        && a != b
    {
        return Err(Error::Usage(format!(
            "{} was counted with --seed {a} and {} with --seed {b}: counts of kernels that branch on their inputs depend on them, so they are not compared (count both with one seed)",
            base.info.label, head.info.label
        )));
    }
    let mut c = compare(
        &base.info.label,
        &head.info.label,
        head.hardware.compiler.clone(),
        &side_counts(base),
        &side_counts(head),
    );
    c.locate(|id| {
        head.benches
            .get(id)
            .map(|b| b.hotspots.clone())
            .unwrap_or_default()
    });
    finish(&c, gate, 0)
}

/// Prints and writes the comparison, then fails on a gated metric that got worse (or on
/// `failed` benchmarks of the head side).
fn finish(c: &CountersComparison, gate: &GateArgs, failed: usize) -> Result<()> {
    let json = || serde_json::to_string_pretty(c).expect("a comparison always serialises");
    match gate.format {
        ReportFormat::Table => print!("{}", counters_comparison_table(c)),
        ReportFormat::Json => println!("{}", json()),
        ReportFormat::Markdown => print!("{}", counters_comparison_markdown(c)),
    }
    for (path, text) in [
        (&gate.markdown_out, counters_comparison_markdown(c)),
        (&gate.json_out, json()),
    ] {
        if let Some(path) = path {
            std::fs::write(path, text).map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
            eprintln!("wrote {}", path.display());
        }
    }
    if failed > 0 {
        return Err(Error::BenchmarksFailed {
            failed,
            total: c.compared + c.only_head.len(),
        });
    }
    match c.worse() {
        0 => Ok(()),
        n => Err(Error::Regression(format!(
            "{n} gated counter(s) worse in {} benchmark(s)",
            c.changed.iter().filter(|b| b.worse() > 0).count()
        ))),
    }
}

/// `orac ab --backend emu`: both revisions' kernels counted in the emulator with this
/// binary's NVRTC, compared exactly. In this process: the kernels are emulated PTX, which
/// cannot run host code (NVRTC compiles them; the manifest's flags are allowlisted).
pub(super) fn ab_counters(args: AbArgs) -> Result<()> {
    for (flag, given) in [
        ("--max-time", args.max_time.is_some()),
        ("--budget", args.budget.is_some()),
    ] {
        if given {
            eprintln!(
                "warning: {flag} means nothing to `ab --backend emu`, which counts once per side instead of timing: ignored"
            );
        }
    }
    let filter = Filter::new(args.filter.as_deref())?;
    let super::compare::AbSides {
        mut base, mut head, ..
    } = super::compare::open_sides(&args)?;
    if head.hardware().compiler.is_none() {
        return Err(Error::ToolMissing(backend::emu::NVRTC_MISSING.into()));
    }
    let suite = |b: &dyn backend::Backend| build_suite(b.kernels(), Profile::Emu, &filter);
    let (base_suite, head_suite) = (suite(base.as_ref()), suite(head.as_ref()));
    let spec = |b: &dyn backend::Backend, bench: &crate::suite::Benchmark| {
        KernelSpec::find(b.kernels(), bench.family(), &bench.kernel).cloned()
    };
    // --changed-only: a kernel written the same in both trees compiles to the same PTX
    // with one NVRTC, so its counts cannot differ
    let unchanged: std::collections::BTreeSet<String> = if args.changed_only {
        head_suite
            .iter()
            .filter(|b| {
                base_suite.iter().any(|x| x.id == b.id)
                    && super::compare::same_kernel(
                        spec(base.as_ref(), b).as_ref(),
                        spec(head.as_ref(), b).as_ref(),
                    )
            })
            .map(|b| b.id.clone())
            .collect()
    } else {
        Default::default()
    };
    let mut counts: [BTreeMap<String, Counts>; 2] = Default::default();
    let mut head_hotspots: BTreeMap<String, Vec<store::Hotspot>> = BTreeMap::new();
    let mut failed = 0;
    let todo = |suite: &[crate::suite::Benchmark]| -> Vec<crate::suite::Benchmark> {
        suite
            .iter()
            .filter(|b| !unchanged.contains(&b.id))
            .cloned()
            .collect()
    };
    let (base_todo, head_todo) = (todo(&base_suite), todo(&head_suite));
    let total = base_todo.len() + head_todo.len();
    let mut done = 0;
    let mut bar = super::progress::LiveBar::new();
    for (side, (backend, suite)) in [(&mut base, &base_todo), (&mut head, &head_todo)]
        .into_iter()
        .enumerate()
    {
        let name = ["base", "head"][side];
        for bench in suite {
            bar.started(total, &format!("{name} {}", bench.id));
            let r = crate::runner::verify_one(backend.as_mut(), bench, args.seed, None);
            let outcome = match (&r.counters, r.status) {
                (Some(c), _) => {
                    counts[side].insert(r.id.clone(), c.clone());
                    if side == 1 {
                        head_hotspots.insert(r.id.clone(), r.hotspots.clone());
                    }
                    "counted".to_string()
                }
                (None, Status::Skipped) => crate::report::cell(r.error.as_deref().unwrap_or("")),
                (None, _) => {
                    // a base that fails is what the head may fix; a head that fails fails
                    if side == 1 {
                        failed += 1;
                    }
                    let why = r
                        .error
                        .clone()
                        .or_else(|| r.verification.as_ref().map(|v| v.summary()))
                        .unwrap_or_default();
                    format!("FAILED: {why}")
                }
            };
            bar.finished(
                done,
                total,
                format!("[{:>3}/{total}] {name} {} {outcome}", done + 1, bench.id),
            );
            done += 1;
        }
    }
    bar.finish();
    let compiler = head.hardware().compiler.clone();
    let [base_counts, head_counts] = counts;
    let mut c = compare(&args.base, &args.head, compiler, &base_counts, &head_counts);
    c.unchanged = unchanged.len();
    c.locate(|id| head_hotspots.get(id).cloned().unwrap_or_default());
    finish(&c, &args.gate, failed)
}
