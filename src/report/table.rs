//! Terminal tables (tabled) for one run and for the list of stored runs.

use std::path::PathBuf;

use tabled::settings::{Alignment, Style, object::Columns};
use tabled::{Table, Tabled};

use super::{format_bytes_per_s, format_flops, format_seconds};
use crate::measure::StopReason;
use crate::store::{BenchResult, RunRecord, Status};
use crate::suite::Family;

#[derive(Tabled)]
struct Row {
    benchmark: String,
    median: String,
    #[tabled(rename = "±CI")]
    ci: String,
    throughput: String,
    check: String,
    samples: String,
}

fn row(b: &BenchResult) -> Row {
    let dash = || "-".to_string();
    let check = match (b.status, &b.verification) {
        (Status::Skipped, _) => b.error.clone().unwrap_or_else(|| "skipped".into()),
        (Status::Error, _) => format!(
            "ERROR: {}",
            b.error
                .as_deref()
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("")
        ),
        (_, Some(v)) => v.summary(),
        (_, None) => dash(),
    };
    let Some(s) = &b.summary else {
        return Row {
            benchmark: b.id.clone(),
            median: dash(),
            ci: dash(),
            throughput: dash(),
            check,
            samples: dash(),
        };
    };
    let throughput = match (b.family, b.flop_per_s, b.bytes_per_s) {
        (Family::Memcpy, _, Some(bw)) | (_, None, Some(bw)) => format_bytes_per_s(bw),
        (_, Some(f), _) => format_flops(f),
        _ => dash(),
    };
    let samples = if b.runs_per_sample > 1 {
        format!("{}×{}", s.n, b.runs_per_sample)
    } else {
        s.n.to_string()
    };
    Row {
        benchmark: b.id.clone(),
        median: format_seconds(s.median),
        ci: format!("{:.2}%{}", s.rel_ci * 100.0, noisy_mark(b)),
        throughput,
        check,
        samples,
    }
}

/// `*` on a result whose sampling stopped before its noise target was met.
fn noisy_mark(b: &BenchResult) -> &'static str {
    match b.stop_reason {
        Some(StopReason::Converged) | None => "",
        Some(_) => "*",
    }
}

/// One line saying what, where and at which commit a run measured.
pub fn run_header(run: &RunRecord) -> String {
    let commit = match (&run.git.commit, run.git.dirty) {
        (Some(_), Some(true)) => format!("{} (dirty)", run.git.short()),
        (Some(_), _) => run.git.short(),
        (None, _) => "unknown commit".to_string(),
    };
    format!(
        "orac {} · {} backend · {} · {} · profile {} · {}",
        run.orac_version,
        run.backend,
        run.hardware.key,
        commit,
        run.profile.name(),
        run.started_at
    )
}

/// The results of one run: id, median, ±CI (relative half-width of the median's 95% CI),
/// throughput (GFLOP/s, or GB/s for copies), verification and samples (count × batch).
pub fn run_table(run: &RunRecord) -> String {
    let mut table = Table::new(run.benchmarks.iter().map(row));
    table
        .with(Style::rounded())
        .modify(Columns::new(1..4), Alignment::right());
    let mut text = table.to_string();
    if run.benchmarks.iter().any(|b| !noisy_mark(b).is_empty()) {
        text.push_str(&format!(
            "\n* noise target (±{}% on the median) not met before the time limit",
            run.settings.target_rel_ci * 100.0
        ));
    }
    text
}

#[derive(Tabled)]
struct RunRow {
    run: String,
    started: String,
    commit: String,
    backend: String,
    profile: String,
    benchmarks: usize,
    failed: usize,
}

/// Stored runs, one row each.
pub fn runs_table(runs: &[(PathBuf, RunRecord)]) -> String {
    let rows = runs.iter().map(|(path, r)| RunRow {
        run: path.display().to_string(),
        started: r.started_at.clone(),
        commit: r.git.short(),
        backend: r.backend.clone(),
        profile: r.profile.name().to_string(),
        benchmarks: r.benchmarks.len(),
        failed: r.failed(),
    });
    Table::new(rows).with(Style::rounded()).to_string()
}
