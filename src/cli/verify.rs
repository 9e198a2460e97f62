//! `orac verify`: every benchmark's correctness check, once, no timing — the first command
//! to run on a new machine, and the one that proves GPU kernels. Checks run in worker
//! processes like `orac run`'s, so a kernel that faults (and poisons its CUDA context) or
//! hangs fails its own check and no other.

use std::io::IsTerminal;

use tabled::settings::Style;
use tabled::{Table, Tabled};

use super::args::VerifyArgs;
use crate::backend;
use crate::error::{Error, Result};
use crate::isolate::{Isolation, Job, install_interrupt_handler, run_isolated};
use crate::kernels::KernelTree;
use crate::measure::Settings;
use crate::runner::{self, Event};
use crate::store::{BenchResult, Status};
use crate::suite::{Benchmark, Filter, build_suite};

#[derive(Tabled)]
struct Row {
    benchmark: String,
    check: String,
}

/// The check column: the verification's summary, or why there is none.
fn check_text(r: &BenchResult) -> String {
    let error = r.error.as_deref().unwrap_or("");
    match (r.status, &r.verification) {
        (Status::Skipped, _) => crate::report::cell(error),
        (_, Some(v)) => v.summary(),
        (_, None) => crate::report::cell(&format!("ERROR: {error}")),
    }
}

/// Every benchmark's check (no timing), in worker processes unless `--isolation none`.
pub(super) fn check_suite(tree: &KernelTree, args: &VerifyArgs) -> Result<Checked> {
    let filter = Filter::new(args.filter.as_deref())?;
    let (mut backend, notes) = backend::open(args.backend, tree)?;
    for note in notes {
        eprintln!("note: {note}");
    }
    let profile = backend::suite_profile(backend::resolved(backend.as_ref()), args.profile)?;
    let suite = build_suite(backend.kernels(), profile, &filter);
    if suite.is_empty() {
        return Err(Error::NoMatch(filter.as_str().unwrap_or("").to_string()));
    }
    // Without NVRTC the emulator has nothing to run: say so once, not once per benchmark.
    if backend.name() == "emu" && backend.hardware().compiler.is_none() {
        return Err(Error::ToolMissing(backend::emu::NVRTC_MISSING.into()));
    }
    let key = backend.hardware().key.clone();
    let hardware = backend.hardware().clone();
    let total = suite.len();
    let mut results: Vec<BenchResult> = Vec::with_capacity(total);
    // On a terminal one live line; in a log (CI, a GPU session's bring-up) a plain line per
    // finished check, so progress shows as it goes.
    let tty = std::io::stderr().is_terminal();
    let paint = super::style::Paint::stderr();
    let mut on_event = |event: Event| match event {
        Event::Started { index, bench, .. } => {
            if tty {
                eprint!("\r\x1b[K[{:>3}/{total}] {}", index + 1, bench.id);
            }
        }
        Event::Finished { index, result, .. } => {
            if !tty {
                let check = check_text(result);
                let check = match super::style::check_style(&check) {
                    Some(style) => paint.paint(style, &check),
                    None => check,
                };
                eprintln!("[{:>3}/{total}] {} {check}", index + 1, result.id);
            }
            results.push(result.clone());
        }
    };
    match args.checks.isolation {
        Isolation::None => {
            for (index, bench) in suite.iter().enumerate() {
                on_event(Event::Started {
                    index,
                    total,
                    bench,
                });
                let result =
                    runner::verify_one(backend.as_mut(), bench, args.seed, args.out_dir.as_deref());
                on_event(Event::Finished {
                    index,
                    total,
                    result: &result,
                });
            }
        }
        isolation => {
            install_interrupt_handler();
            let job = Job {
                backend: backend::resolved(backend.as_ref()),
                kernels_dir: match tree {
                    KernelTree::Dir(dir) => Some(dir.clone()),
                    _ => None,
                },
                profile,
                settings: Settings::for_profile(profile),
                seed: args.seed,
                ids: Vec::new(),
                ab: None,
                verify_only: true,
                out_dir: args.out_dir.clone(),
            };
            // Workers open their own backend: let go of this one's GPU context first.
            drop(backend);
            let exe = std::env::current_exe()
                .map_err(|e| Error::Usage(format!("cannot find the orac executable: {e}")))?;
            let failed = |bench: &Benchmark, reason: String, _phase: Option<&str>| {
                let mut r = runner::unmeasured(bench, String::new());
                r.error = Some(reason);
                r
            };
            let completed = run_isolated(
                &exe,
                &job,
                &suite,
                isolation,
                super::run::seconds("--timeout", args.checks.timeout)?,
                &failed,
                &mut on_event,
                (0, total),
            )?;
            if !completed {
                if tty {
                    eprintln!();
                }
                return Err(Error::Usage(format!(
                    "interrupted after {} of {total} checks",
                    results.len()
                )));
            }
        }
    }
    if tty {
        eprintln!();
    }
    // Planned order, whatever order the results arrived in.
    let results = suite
        .iter()
        .filter_map(|b| results.iter().find(|r| r.id == b.id))
        .cloned()
        .collect();
    Ok(Checked {
        key,
        hardware,
        profile,
        results,
    })
}
/// What `check_suite` checked: the hardware key and each benchmark's result, in the
/// planned order.
pub(super) struct Checked {
    pub key: String,
    pub hardware: crate::store::Hardware,
    pub profile: crate::suite::Profile,
    pub results: Vec<BenchResult>,
}

pub fn verify(tree: &KernelTree, args: VerifyArgs) -> Result<()> {
    let checked = check_suite(tree, &args)?;
    let (key, results) = (checked.key, checked.results);
    let rows: Vec<Row> = results
        .iter()
        .map(|r| Row {
            benchmark: r.id.clone(),
            check: check_text(r),
        })
        .collect();
    let failed = results
        .iter()
        .filter(|r| !matches!(r.status, Status::Ok | Status::Skipped))
        .count();
    let skipped = results
        .iter()
        .filter(|r| r.status == Status::Skipped)
        .count();
    println!("verify on {key}");
    let table = Table::new(&rows).with(Style::rounded()).to_string();
    println!("{}", super::style::Paint::stdout().checks(&table));
    // The table shows the start of each error; one with more to say (the emulator's
    // diagnostic: block, thread, PTX line, buffer; NVRTC's log) follows in full.
    for r in &results {
        if let Some(error) = r.error.as_deref().filter(|e| crate::report::cell_cut(e))
            && r.status != Status::Skipped
        {
            println!("\n{}:\n{error}", r.id);
        }
    }
    if failed == 0 {
        let skipped_note = match skipped {
            0 => String::new(),
            // the emulator skips vendor calls and other architectures, not what a device lacks
            n if key == backend::emu::HARDWARE_KEY => {
                format!(
                    " ({n} skipped: vendor calls or another architecture, not PTX the emulator runs)"
                )
            }
            n => format!(" ({n} skipped: they cannot run on this device)"),
        };
        println!(
            "all {} benchmarks match the reference{skipped_note}",
            rows.len() - skipped
        );
        Ok(())
    } else {
        Err(Error::BenchmarksFailed {
            failed,
            total: rows.len(),
        })
    }
}
