//! `orac run`: plan the run, journal every finished benchmark, run them in supervised
//! workers, then assemble and save the record. `--resume` finishes an interrupted run from
//! its journal.

use std::path::PathBuf;
use std::time::Duration;

use super::args::RunArgs;
use super::progress::Progress;
use crate::backend::{self, Backend, BackendChoice};
use crate::error::{Error, Result};
use crate::isolate::{Isolation, Job, install_interrupt_handler, interrupted, run_isolated};
use crate::kernels::{KernelSpec, KernelTree};
use crate::measure::Settings;
use crate::report;
use crate::runner::{self, Event};
use crate::store::{
    self, BenchResult, JOURNAL_VERSION, Journal, JournalHeader, RunRecord, SCHEMA_VERSION,
    find_journals,
};
use crate::suite::{Benchmark, Filter, build_suite, shard_suite};

/// The backend a record names, for workers and resumes (which must not re-decide `auto`).
fn backend_choice(name: &str) -> BackendChoice {
    backend::by_name(name)
}

/// Parses a positive number of seconds given to `flag`.
pub(super) fn seconds(flag: &str, secs: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Error::Usage(format!(
                "{flag} {secs}: must be a positive number of seconds"
            ))
        })
}

pub fn run(tree: &KernelTree, args: RunArgs) -> Result<()> {
    install_interrupt_handler();
    let timeout = seconds("--timeout", args.timeout)?;
    if args.resume {
        if !matches!(tree, KernelTree::Embedded) {
            return Err(Error::Usage(
                "--resume uses the kernels the run started with (its journal names them): drop --kernels".into(),
            ));
        }
        return resume(args, timeout);
    }
    backend::refuse_untimed(args.backend, "run")?;
    let filter = Filter::new(args.filter.as_deref())?;
    let mut settings = Settings::for_profile(args.profile);
    if let Some(secs) = args.max_time {
        settings = settings.with_max_time(seconds("--max-time", secs)?);
    }
    let (backend, notes) = backend::open(args.backend, tree)?;
    for note in notes {
        eprintln!("note: {note}");
    }
    let mut suite = build_suite(backend.kernels(), args.profile, &filter);
    if suite.is_empty() {
        return Err(Error::NoMatch(filter.as_str().unwrap_or("").to_string()));
    }
    let shard = args
        .shard
        .map(|a| a.resolve(&|k| std::env::var(k).ok()))
        .transpose()
        .map_err(Error::Usage)?;
    if let Some((shard, source)) = &shard
        && source != "--shard"
    {
        eprintln!("shard {}/{} from the {source}", shard.index, shard.count);
    }
    let shard = shard.map(|(s, _)| s);
    if let Some(shard) = shard {
        let all = suite.len();
        suite = shard_suite(&suite, shard);
        if suite.is_empty() {
            return Err(Error::Usage(format!(
                "shard {}/{} of these {all} benchmarks is empty: use fewer shards",
                shard.index, shard.count
            )));
        }
    }
    let mut record = new_record(
        tree,
        backend.name(),
        backend.hardware().clone(),
        args.profile,
        settings,
        args.seed,
    );
    record.shard = shard;
    let header = JournalHeader {
        journal_version: JOURNAL_VERSION,
        record,
        planned: suite.iter().map(|b| b.id.clone()).collect(),
        seed: args.seed,
        // Absolute, so that a resume from another directory finds the same tree.
        kernels_dir: match tree {
            KernelTree::Dir(dir) => Some(std::path::absolute(dir).unwrap_or_else(|_| dir.clone())),
            _ => None,
        },
    };
    let journal = if args.no_save {
        None
    } else {
        Some(Journal::create(&args.results_dir, &header)?)
    };
    let isolation = clap::ValueEnum::to_possible_value(&args.isolation)
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    eprintln!(
        "running {} benchmark{} on {} ({} profile, isolation: {isolation})",
        suite.len(),
        if suite.len() == 1 { "" } else { "s" },
        header.record.hardware.key,
        args.profile.name(),
    );
    execute(header, Vec::new(), journal, backend, suite, &args, timeout)
}

fn resume(args: RunArgs, timeout: Duration) -> Result<()> {
    // Journals of every hardware key (a GPU run's key is not the host's); newest last.
    let mut journals = Vec::new();
    if let Ok(dirs) = std::fs::read_dir(&args.results_dir) {
        for dir in dirs.flatten().filter(|d| d.path().is_dir()) {
            journals.extend(find_journals(
                &args.results_dir,
                &dir.file_name().to_string_lossy(),
            )?);
        }
    }
    journals.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    let path = journals.pop().ok_or_else(|| {
        Error::Usage(format!(
            "no interrupted run to resume in {} (looked for {}/*/*.journal)",
            args.results_dir.display(),
            args.results_dir.display()
        ))
    })?;
    let store::Resumed {
        journal,
        header,
        results: done,
        warnings,
    } = Journal::resume(&path)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if let Some(saved) = already_saved(&args.results_dir, &header.record)? {
        // The run was saved and orac stopped before it removed the journal.
        journal.remove()?;
        eprintln!(
            "{} was already saved as {}: removed the journal",
            path.display(),
            saved.display()
        );
        return Ok(());
    }
    let tree = match &header.kernels_dir {
        Some(dir) => KernelTree::Dir(dir.clone()),
        None => KernelTree::Embedded,
    };
    let (backend, _) = backend::open(backend_choice(&header.record.backend), &tree)?;
    if backend.hardware().key != header.record.hardware.key {
        return Err(Error::Usage(format!(
            "{} was started on {}, this machine is {}: resume it there",
            path.display(),
            header.record.hardware.key,
            backend.hardware().key
        )));
    }
    let all = build_suite(backend.kernels(), header.record.profile, &Filter::default());
    let mut suite = Vec::new();
    for id in &header.planned {
        match all.iter().find(|b| &b.id == id) {
            Some(b) => suite.push(b.clone()),
            None if done.iter().any(|r| &r.id == id) => {}
            None => {
                return Err(Error::Usage(format!(
                    "cannot resume {}: benchmark {id} is no longer in the kernels",
                    path.display()
                )));
            }
        }
    }
    for r in &done {
        let now = KernelSpec::find(backend.kernels(), r.family, &r.kernel);
        if now.is_some_and(|k| k.source_hash != r.kernel_source_hash) {
            eprintln!(
                "warning: the kernel of {} changed since it was measured; its result is kept as measured",
                r.id
            );
        }
    }
    eprintln!(
        "resuming {}: {} of {} benchmarks already done",
        path.display(),
        done.len(),
        header.planned.len()
    );
    execute(header, done, Some(journal), backend, suite, &args, timeout)
}

/// The commit whose kernels this run measures: a `--kernels` directory's repository; for
/// the built-in kernels, the checkout's commit only when its `kernels/` is what the binary
/// carries, else the binary's build commit when that one matches, else unknown.
fn kernel_provenance(tree: &KernelTree, cwd: &std::path::Path) -> (store::GitInfo, Vec<String>) {
    let (mut git, warning) = match tree {
        KernelTree::Dir(dir) => store::provenance(dir),
        _ => store::provenance(cwd),
    };
    let mut warnings: Vec<String> = warning.into_iter().collect();
    let (KernelTree::Embedded, Some(checkout)) = (tree, git.commit.clone()) else {
        return (git, warnings);
    };
    let built_in = KernelTree::embedded();
    if store::kernels_match(cwd, &checkout, built_in) != Some(false) {
        return (git, warnings);
    }
    let short = |c: &str| c.chars().take(7).collect::<String>();
    match option_env!("ORAC_BUILD_COMMIT") {
        Some(build) if store::kernels_match(cwd, build, built_in) == Some(true) => {
            warnings.push(format!(
                "the built-in kernels are those of commit {} (this orac's build), not of the checkout's {}: the run is filed under {} (rebuild orac here, or pass --kernels kernels)",
                short(build),
                short(&checkout),
                short(build)
            ));
            git = store::GitInfo {
                commit: Some(build.to_string()),
                branch: None,
                dirty: Some(false),
            };
        }
        _ => {
            warnings.push(format!(
                "the built-in kernels differ from those of the checkout's commit {}: the run is recorded with commit unknown (rebuild orac here, or pass --kernels kernels)",
                short(&checkout)
            ));
            git = store::GitInfo::unknown();
        }
    }
    (git, warnings)
}

/// A fresh id for a run: its start, this process and some randomness.
/// A new run's record, begun now: what it says about its origin (orac's version, the
/// command line, the start time, the environment, the kernels' provenance, whose warnings
/// are printed, a fresh run id) and what runs it; no benchmarks yet, not finished.
pub(super) fn new_record(
    tree: &KernelTree,
    backend: &str,
    hardware: store::Hardware,
    profile: crate::suite::Profile,
    settings: Settings,
    seed: u64,
) -> RunRecord {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let (git, warnings) = kernel_provenance(tree, &cwd);
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    RunRecord {
        schema_version: SCHEMA_VERSION,
        orac_version: env!("CARGO_PKG_VERSION").to_string(),
        command_line: std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        started_at: store::utc_now().rfc3339(),
        finished_at: String::new(),
        backend: backend.to_string(),
        profile,
        kernels: tree.describe(),
        settings,
        git,
        hardware,
        environment: store::relevant_environment(),
        benchmarks: Vec::new(),
        warnings,
        shard: None,
        run_id: Some(new_run_id()),
        seed: Some(seed),
    }
}

fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut rng = crate::stats::rng::SplitMix64::new(nanos as u64 ^ u64::from(std::process::id()));
    format!("{nanos:x}-{:x}-{:016x}", std::process::id(), rng.next_u64())
}

/// The saved record of the run `planned` describes, if there is one (same run id).
fn already_saved(results_dir: &std::path::Path, planned: &RunRecord) -> Result<Option<PathBuf>> {
    let Some(id) = &planned.run_id else {
        return Ok(None);
    };
    let stem = store::record_stem(planned);
    let dir = results_dir.join(&planned.hardware.key);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(None);
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&stem)
            && name.ends_with(".json")
            && let Ok(r) = store::load_run(&entry.path())
            && r.run_id.as_ref() == Some(id)
        {
            return Ok(Some(entry.path()));
        }
    }
    Ok(None)
}

fn execute(
    header: JournalHeader,
    done: Vec<BenchResult>,
    mut journal: Option<Journal>,
    mut backend: Box<dyn Backend>,
    suite: Vec<Benchmark>,
    args: &RunArgs,
    timeout: Duration,
) -> Result<()> {
    let total = header.planned.len();
    let remaining: Vec<Benchmark> = suite
        .into_iter()
        .filter(|b| !done.iter().any(|r| r.id == b.id))
        .collect();
    // Results the journal holds; the others are only in memory.
    let mut journaled: Vec<bool> = vec![true; done.len()];
    let mut results = done;
    let mut journal_error: Option<Error> = None;
    let mut progress = Progress::new();
    let mut on_event = |event: Event| {
        if let Event::Finished { result, .. } = &event {
            let mut held = true;
            if let Some(j) = journal.as_mut()
                && let Err(e) = j.append(result)
            {
                held = false;
                journal_error.get_or_insert(e);
            }
            journaled.push(held);
            results.push((*result).clone());
        }
        progress.on_event(event);
    };
    let hashes: Vec<(String, String)> = remaining
        .iter()
        .map(|b| {
            let hash = KernelSpec::find(backend.kernels(), b.family(), &b.kernel)
                .map(|k| k.source_hash.clone())
                .unwrap_or_default();
            (b.id.clone(), hash)
        })
        .collect();
    let hash_of = |b: &Benchmark| {
        hashes
            .iter()
            .find(|(id, _)| id == &b.id)
            .map(|(_, h)| h.clone())
            .unwrap_or_default()
    };
    let settings = header.record.settings;
    let completed = match args.isolation {
        Isolation::None => {
            let mut completed = true;
            let offset = total - remaining.len();
            for (i, bench) in remaining.iter().enumerate() {
                if interrupted() {
                    completed = false;
                    break;
                }
                on_event(Event::Started {
                    index: offset + i,
                    total,
                    bench,
                });
                let result = runner::run_one(backend.as_mut(), bench, &settings, header.seed);
                on_event(Event::Finished {
                    index: offset + i,
                    total,
                    result: &result,
                });
            }
            completed
        }
        isolation => {
            // Workers open their own backend: this process lets go of its GPU context (an
            // exclusive-process GPU admits one) and its memory first.
            drop(backend);
            let exe = std::env::current_exe()
                .map_err(|e| Error::Usage(format!("cannot find the orac executable: {e}")))?;
            let job = Job {
                backend: backend_choice(&header.record.backend),
                kernels_dir: header.kernels_dir.clone(),
                profile: header.record.profile,
                settings,
                seed: header.seed,
                ids: Vec::new(),
                ab: None,
                verify_only: false,
                out_dir: None,
            };
            let failed = |bench: &Benchmark, reason: String, _phase: Option<&str>| {
                let mut r = runner::unmeasured(bench, hash_of(bench));
                r.error = Some(reason);
                r
            };
            run_isolated(
                &exe,
                &job,
                &remaining,
                isolation,
                timeout,
                &failed,
                &mut on_event,
                (total - remaining.len(), total),
            )?
        }
    };
    // The bar goes before anything else is printed under it.
    progress.finish();
    // A journal that could not be written loses the resume safety net, not the results:
    // they are still in memory, and saved below.
    let journal_warning = journal_error.map(|e| {
        let w = format!(
            "the journal could not be written ({e}); the results are in memory and saved with the record"
        );
        eprintln!("warning: {w}");
        w
    });
    if !completed {
        eprintln!();
        return Err(Error::Interrupted {
            done: results.len(),
            total,
            journal: journal
                .as_ref()
                .map(|j| j.path().display().to_string())
                .unwrap_or_else(|| "nothing (--no-save)".into()),
        });
    }
    // Planned order, whatever order the results arrived in.
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by_key(|&i| header.planned.iter().position(|id| id == &results[i].id));
    let journaled: Vec<bool> = order.iter().map(|&i| journaled[i]).collect();
    let mut results: Vec<BenchResult> = order.iter().map(|&i| results[i].clone()).collect();
    let mut record = header.record;
    record.warnings.extend(journal_warning);
    record.finished_at = store::utc_now().rfc3339();
    record.benchmarks = std::mem::take(&mut results);
    println!("{}", report::run_header(&record));
    println!(
        "{}",
        super::style::Paint::stdout().checks(&report::run_table(&record))
    );
    for b in &record.benchmarks {
        match (&b.error, b.status == store::Status::Skipped) {
            (Some(e), false) => eprintln!("\n{} failed:\n{e}", b.id),
            // A reason the table cut short, in full.
            (Some(e), true) if report::cell_cut(e) => eprintln!("\n{} skipped:\n{e}", b.id),
            _ => {}
        }
    }
    match journal {
        None => eprintln!("not saved (--no-save)"),
        Some(mut journal) => {
            let path = match store::save_run(&args.results_dir, &record) {
                Ok(path) => path,
                Err(Error::Write { source, .. }) => {
                    return Err(keep_in_journal(
                        &mut journal,
                        &record,
                        &journaled,
                        source,
                        args,
                    ));
                }
                Err(e) => return Err(e),
            };
            store::fault::crash("after-save");
            journal.remove()?;
            eprintln!("saved {}", path.display());
        }
    }
    match record.failed() {
        0 => Ok(()),
        failed => Err(Error::BenchmarksFailed {
            failed,
            total: record.benchmarks.len(),
        }),
    }
}

/// The record could not be written: the journal becomes the run. Results it missed (its own
/// appends failed) are written to it again, and the error says how to finish.
fn keep_in_journal(
    journal: &mut Journal,
    record: &RunRecord,
    journaled: &[bool],
    source: std::io::Error,
    args: &RunArgs,
) -> Error {
    let mut lost = 0;
    for (r, held) in record.benchmarks.iter().zip(journaled) {
        if !held && journal.append(r).is_err() {
            lost += 1;
        }
    }
    let resume = format!(
        "free some space, then `orac run --resume --results-dir {}` saves it",
        args.results_dir.display()
    );
    let kept = if lost == 0 {
        format!(
            "all {} results are kept in {}: {resume}",
            record.benchmarks.len(),
            journal.path().display()
        )
    } else {
        format!(
            "{} of {} results are kept in {} ({lost} could not be written anywhere and run again): {resume}",
            record.benchmarks.len() - lost,
            record.benchmarks.len(),
            journal.path().display()
        )
    };
    Error::NotSaved {
        dir: args.results_dir.join(&record.hardware.key),
        source,
        kept,
    }
}
