//! `orac baseline set` and `orac baseline show`.

use std::path::PathBuf;

use tabled::settings::Style;
use tabled::{Table, Tabled};

use super::args::{BaselineSetArgs, BaselineShowArgs};
use crate::backend::cpu::host_hardware;
use crate::error::{Error, Result};
use crate::report::format_seconds;
use crate::store::{
    self, BASELINE_SCHEMA_VERSION, Baseline, RunRecord, baseline_path, entries_from_runs,
    load_baseline, save_baseline,
};
use crate::suite::Filter;

fn collect_runs(inputs: &[PathBuf]) -> Result<Vec<RunRecord>> {
    let mut runs = Vec::new();
    for input in inputs {
        let paths = if input.is_dir() {
            let found = store::find_runs(input)?;
            if found.is_empty() {
                // A directory of one hardware key holds the run files directly.
                let mut direct: Vec<PathBuf> = std::fs::read_dir(input)
                    .map_err(|source| Error::Read {
                        path: input.clone(),
                        source,
                    })?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect();
                direct.sort();
                direct
            } else {
                found
            }
        } else {
            vec![input.clone()]
        };
        for path in paths {
            runs.push(store::load_run(&path)?);
        }
    }
    if runs.is_empty() {
        return Err(Error::Usage("no run files found in the given paths".into()));
    }
    let mut keys: Vec<&str> = runs.iter().map(|r| r.hardware.key.as_str()).collect();
    keys.sort();
    keys.dedup();
    if keys.len() > 1 {
        return Err(Error::Usage(format!(
            "the runs come from several hardware keys ({}): a baseline is for one",
            keys.join(", ")
        )));
    }
    runs.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    Ok(runs)
}

pub fn set(args: BaselineSetArgs) -> Result<()> {
    let filter = Filter::new(args.filter.as_deref())?;
    let runs = collect_runs(&args.runs)?;
    let latest = runs.last().expect("at least one run");
    let key = latest.hardware.key.clone();
    let path = baseline_path(&args.baselines_dir, &key)?;
    let fresh = entries_from_runs(&runs, &|id| filter.matches(id));
    if fresh.is_empty()
        && runs
            .iter()
            .all(|r| r.benchmarks.iter().all(|b| b.summary.is_none()))
        && runs
            .iter()
            .any(|r| r.benchmarks.iter().any(|b| b.counters.is_some()))
    {
        return Err(Error::Usage(
            "those are `orac counters` records: counts, not timings, so nothing for a baseline; counts are compared exactly, record against record (`orac compare A B`)".into(),
        ));
    }
    if fresh.is_empty() {
        return Err(Error::Usage(
            "no successful benchmark in those runs matches: nothing to put in a baseline".into(),
        ));
    }
    // With a filter, the other benchmarks already in the baseline stay as they were; the
    // lock keeps a concurrent update from slipping in between read and write.
    let _lock = store::lock_baselines(&args.baselines_dir)?;
    let mut benchmarks = match (&args.filter, path.exists()) {
        (Some(_), true) => load_baseline(&path)?.benchmarks,
        _ => Default::default(),
    };
    let updated = fresh.len();
    benchmarks.extend(fresh);
    let baseline = Baseline {
        schema_version: BASELINE_SCHEMA_VERSION,
        hardware_key: key,
        hardware: latest.hardware.clone(),
        updated_at: store::utc_now().rfc3339(),
        benchmarks,
    };
    let written = save_baseline(&args.baselines_dir, &baseline)?;
    println!("{}", baseline_table(&baseline));
    eprintln!(
        "wrote {} ({updated} benchmarks from {} runs): review the diff and commit it",
        written.display(),
        runs.len()
    );
    Ok(())
}

#[derive(Tabled)]
struct Row {
    benchmark: String,
    median: String,
    #[tabled(rename = "95% CI")]
    ci: String,
    noise: String,
    runs: usize,
    samples: usize,
    commit: String,
    date: String,
}

fn baseline_table(b: &Baseline) -> String {
    let rows = b.benchmarks.iter().map(|(id, e)| Row {
        benchmark: id.clone(),
        median: format_seconds(e.median),
        ci: format!(
            "{} … {}",
            format_seconds(e.ci_low),
            format_seconds(e.ci_high)
        ),
        noise: format!(
            "{:.2}% ({})",
            e.noise * 100.0,
            match e.noise_source {
                store::NoiseSource::History => "history",
                store::NoiseSource::WithinRun => "within run",
                store::NoiseSource::Paired => "paired",
            }
        ),
        runs: e.runs,
        samples: e.samples,
        commit: e
            .commit
            .as_deref()
            .map(|c| c.chars().take(7).collect())
            .unwrap_or_else(|| "unknown".into()),
        date: e.date.clone(),
    });
    format!(
        "baseline {} · updated {}\n{}",
        b.hardware_key,
        b.updated_at,
        Table::new(rows).with(Style::rounded())
    )
}

pub fn show(args: BaselineShowArgs) -> Result<()> {
    let key = args.hardware.unwrap_or_else(|| host_hardware(None).key);
    let path = baseline_path(&args.baselines_dir, &key)?;
    if !path.exists() {
        return Err(Error::Usage(format!(
            "no baseline for hardware {key} at {} (create it with `orac baseline set RUN`)",
            path.display()
        )));
    }
    println!("{}", baseline_table(&load_baseline(&path)?));
    Ok(())
}
