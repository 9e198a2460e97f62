//! Terminal tables (tabled) for one run and for the list of stored runs.

use std::path::PathBuf;

use tabled::settings::location::ByColumnName;
use tabled::settings::{Alignment, Remove, Style, object::Columns};
use tabled::{Table, Tabled};

use super::{format_bytes_per_s, format_flops, format_seconds};
use super::{fraction_of_peak, fraction_of_reference};
use crate::measure::StopReason;
use crate::store::{BenchResult, RunRecord, Status};

#[derive(Tabled)]
struct Row {
    benchmark: String,
    median: String,
    #[tabled(rename = "±CI")]
    ci: String,
    throughput: String,
    #[tabled(rename = "vs ref")]
    vs_ref: String,
    #[tabled(rename = "of peak")]
    of_peak: String,
    check: String,
    samples: String,
}

fn percent(x: Option<f64>) -> String {
    x.map_or(String::new(), |f| format!("{:.1}%", 100.0 * f))
}

/// The widest a message may make a table's cell, in characters.
pub const CELL_CHARS: usize = 80;

/// The first line of `text`, cut to [`CELL_CHARS`] with "…": a long error (NVRTC's log,
/// an install hint) must not widen a table to hundreds of columns; callers print the whole
/// text below the table when [`cell_cut`] says it was cut.
pub fn cell(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() <= CELL_CHARS {
        return line.to_string();
    }
    let mut cut: String = line.chars().take(CELL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Whether [`cell`] shows less than all of `text`.
pub fn cell_cut(text: &str) -> bool {
    text.contains('\n') || text.chars().count() > CELL_CHARS
}

fn row(run: &RunRecord, b: &BenchResult) -> Row {
    let dash = || "-".to_string();
    let check = match (b.status, &b.verification) {
        (Status::Skipped, _) => cell(b.error.as_deref().unwrap_or("skipped")),
        (Status::Error, _) => cell(&format!("ERROR: {}", b.error.as_deref().unwrap_or(""))),
        (_, Some(v)) => v.summary(),
        (_, None) => dash(),
    };
    let Some(s) = &b.summary else {
        return Row {
            benchmark: b.id.clone(),
            median: dash(),
            ci: dash(),
            throughput: dash(),
            vs_ref: String::new(),
            of_peak: String::new(),
            check,
            samples: dash(),
        };
    };
    let throughput = match (b.reports_bandwidth(), b.flop_per_s, b.bytes_per_s) {
        (true, _, Some(bw)) | (_, None, Some(bw)) => format_bytes_per_s(bw),
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
        vs_ref: if b.reference {
            "(ref)".into()
        } else {
            percent(fraction_of_reference(run, b))
        },
        of_peak: percent(fraction_of_peak(run, b)),
        check,
        samples,
    }
}

/// `*` on a result whose sampling stopped before its noise target was met, `!` on one
/// measured under CPU contention.
fn noisy_mark(b: &BenchResult) -> &'static str {
    if b.contended {
        return "!";
    }
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
    styled_run_table(run, false)
}

/// The same table as GitHub markdown.
pub fn run_table_markdown(run: &RunRecord) -> String {
    styled_run_table(run, true)
}

fn styled_run_table(run: &RunRecord, markdown: bool) -> String {
    let rows: Vec<Row> = run.benchmarks.iter().map(|b| row(run, b)).collect();
    let any_ref = rows
        .iter()
        .any(|r| !r.vs_ref.is_empty() && r.vs_ref != "(ref)");
    let any_peak = rows.iter().any(|r| !r.of_peak.is_empty());
    let mut table = Table::new(rows);
    if markdown {
        table.with(Style::markdown());
    } else {
        table.with(Style::rounded());
    }
    // Columns with nothing to say (a CPU run has no vendor reference and no known peak).
    if !any_peak {
        table.with(Remove::column(ByColumnName::new("of peak")));
    }
    if !any_ref {
        table.with(Remove::column(ByColumnName::new("vs ref")));
    }
    let numeric = 4 + usize::from(any_ref) + usize::from(any_peak);
    table.modify(Columns::new(1..numeric), Alignment::right());
    let mut text = table.to_string();
    if run.benchmarks.iter().any(|b| noisy_mark(b) == "*") {
        text.push_str(&format!(
            "\n* noise target (±{}% on the median) not met before the time limit",
            run.settings.target_rel_ci * 100.0
        ));
    }
    if run.benchmarks.iter().any(|b| b.contended) {
        text.push_str(
            "\n! contended: another process took the CPUs while it ran, even after a retry; not this kernel's speed, never compared",
        );
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

#[cfg(test)]
mod tests {

    #[test]
    fn a_long_message_is_cut_to_one_narrow_cell_and_says_so() {
        let long = "no libnvrtc found; ".repeat(20);
        let c = cell(&long);
        assert_eq!(c.chars().count(), CELL_CHARS);
        assert!(c.ends_with('…') && long.starts_with(c.trim_end_matches('…')));
        assert!(cell_cut(&long));
        assert_eq!(cell("first\nsecond"), "first");
        assert!(cell_cut("first\nsecond"));
        assert_eq!(cell("short"), "short");
        assert!(!cell_cut("short"));
    }

    use super::*;
    use crate::history::synthetic::{Track, run};
    use crate::store::GpuInfo;
    use crate::suite::{Dtype, Family};

    /// A GPU run: cuBLAS as the reference, a hand-written kernel at 80% of its speed.
    #[test]
    fn gpu_runs_show_share_of_reference_and_of_peak() {
        let (vendor, mine) = (|_: usize| 1.0e-3, |_: usize| 1.25e-3);
        let tracks = [
            Track {
                id: "gemm/cublas-bf16/bf16/m4096n4096k4096".into(),
                family: Family::Gemm,
                level: &vendor,
            },
            Track {
                id: "gemm/mma/bf16/m4096n4096k4096".into(),
                family: Family::Gemm,
                level: &mine,
            },
        ];
        let mut r = run("nvidia-h100", &"c".repeat(40), 0, 0, &tracks, 15);
        for b in &mut r.benchmarks {
            b.dtype = Dtype::Bf16;
            let s = b.summary.as_mut().unwrap();
            // Exact medians, so the percentages are known.
            s.median = if b.id.contains("cublas") {
                1.0e-3
            } else {
                1.25e-3
            };
            b.flop_per_s = Some(b.flops as f64 / s.median);
            // A GEMM's intensity (1000 FLOP per byte): compute-bound, held to the tensor cores.
            b.bytes_per_s = Some(b.flops as f64 / 1000.0 / s.median);
        }
        r.benchmarks[0].reference = true;
        r.hardware.gpu = Some(GpuInfo::h100_for_tests());
        let text = run_table(&r);
        assert!(
            text.contains("vs ref") && text.contains("of peak"),
            "{text}"
        );
        let mine_line = text.lines().find(|l| l.contains("gemm/mma/")).unwrap();
        assert!(mine_line.contains("80.0%"), "{mine_line}");
        let reference_line = text.lines().find(|l| l.contains("cublas")).unwrap();
        assert!(reference_line.contains("(ref)"), "{reference_line}");
        // 2^31 FLOP in 1 ms = 2.147 TFLOP/s of a 989 TFLOP/s peak.
        assert!(reference_line.contains("0.2%"), "{reference_line}");

        // Without a GPU and a reference, neither column appears.
        r.hardware.gpu = None;
        r.benchmarks[0].reference = false;
        let text = run_table(&r);
        assert!(
            !text.contains("vs ref") && !text.contains("of peak"),
            "{text}"
        );
    }
}
