//! Scale of `orac history` and `orac report`: 10,000 stored runs × 50 benchmarks (20 samples
//! each, ~100 KB per run file, about 1 GB in all), on 2,500 commits with four runs each. The fixture
//! is written once under target/ and reused; the figures are quoted in docs/PERFORMANCE.md.
//!
//!     cargo bench --features scale-bench --bench history
//!
//! `ORAC_BENCH_RUNS` changes the number of runs (e.g. 1000 for a quick look).

use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use orac::history::synthetic::{self, Track};
use orac::history::{HistoryOptions, build};
use orac::report::{KeyReport, ReportMeta, report_files};
use orac::stats::{ChangePointConfig, CreepConfig};
use orac::suite::{Family, Filter};

const BENCHMARKS: usize = 50;
const RUNS_PER_COMMIT: usize = 4;
const SAMPLES: usize = 20;

fn runs() -> usize {
    std::env::var("ORAC_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// The fixture directory, written on first use (a `.done` file marks it complete).
fn fixture(runs: usize) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("history-{runs}x{BENCHMARKS}"));
    if dir.join(".done").is_file() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let commits = runs.div_ceil(RUNS_PER_COMMIT);
    eprintln!(
        "writing {runs} runs over {commits} commits to {} …",
        dir.display()
    );
    let ids = synthetic::commit_chain(&dir, commits).unwrap();
    // Every fifth benchmark steps 5% at a third of the way.
    let levels: Vec<Box<dyn Fn(usize) -> f64>> = (0..BENCHMARKS)
        .map(|b| {
            let base = 1e-4 * (1 + b) as f64;
            let step_at = if b % 5 == 0 { commits / 3 } else { usize::MAX };
            Box::new(move |i: usize| if i >= step_at { base * 1.05 } else { base })
                as Box<dyn Fn(usize) -> f64>
        })
        .collect();
    let tracks: Vec<Track> = levels
        .iter()
        .enumerate()
        .map(|(b, level)| Track {
            id: format!("gemm/k{b:02}/f32/m{0}n{0}k{0}", 256 + b),
            family: Family::Gemm,
            level: level.as_ref(),
        })
        .collect();
    let key_dir = dir.join("results").join("cpu-synthetic-x2");
    std::fs::create_dir_all(&key_dir).unwrap();
    let mut written = 0;
    'outer: for (i, id) in ids.iter().enumerate() {
        for rep in 0..RUNS_PER_COMMIT {
            if written == runs {
                break 'outer;
            }
            let run = synthetic::run("cpu-synthetic-x2", id, i, rep, &tracks, SAMPLES);
            let name = format!(
                "{}-{}.json",
                run.started_at.replace([':', '-'], ""),
                &id[..7]
            );
            std::fs::write(key_dir.join(name), serde_json::to_vec_pretty(&run).unwrap()).unwrap();
            written += 1;
        }
    }
    std::fs::write(dir.join(".done"), "").unwrap();
    dir
}

fn options(dir: &Path) -> HistoryOptions {
    HistoryOptions {
        results_dir: dir.join("results"),
        repo_dir: dir.to_path_buf(),
        hardware: None,
        branch: "HEAD".into(),
        since: None,
        change_points: ChangePointConfig::default(),
        creep: CreepConfig::default(),
    }
}

fn scale(c: &mut Criterion) {
    let runs = runs();
    let dir = fixture(runs);
    let opts = options(&dir);
    let filter = Filter::default();
    let h = build(&opts, &filter).unwrap();
    assert_eq!(h.runs, runs);
    assert_eq!(h.series.len(), BENCHMARKS);
    let found = h
        .series
        .iter()
        .filter(|s| !s.change_points.is_empty())
        .count();
    eprintln!("{runs} runs: {found} of {BENCHMARKS} series have change points (10 have a step)");

    let mut group = c.benchmark_group("scale");
    group.sample_size(10);
    group.bench_function(format!("history/{runs}x{BENCHMARKS}"), |b| {
        b.iter(|| build(&opts, &filter).unwrap())
    });
    group.bench_function(format!("history+report/{runs}x{BENCHMARKS}"), |b| {
        b.iter(|| {
            let history = build(&opts, &filter).unwrap();
            let report = KeyReport {
                history,
                verdicts: None,
                verdicts_note: None,
                roofline: Vec::new(),
                bandwidth: None,
            };
            let meta = ReportMeta {
                generated_at: "now".into(),
                commit_url: None,
            };
            report_files(std::slice::from_ref(&report), &meta)
        })
    });
    group.finish();
}

criterion_group!(benches, scale);
criterion_main!(benches);
