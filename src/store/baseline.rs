//! Baselines: the accepted performance of each benchmark on one hardware key, in
//! `baselines/<hardware-key>.json`. Small on purpose — an update is a reviewed diff.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{BenchResult, Hardware, RunRecord, Status};
use crate::error::{Error, Result};
use crate::stats::{quantile, robust_cv};
use crate::suite::Family;

pub const BASELINE_SCHEMA_VERSION: u32 = 1;

/// Order statistics kept per benchmark: enough for rank tests and bootstrap intervals,
/// few enough that the file stays small.
pub const BASELINE_POINTS: usize = 50;

/// Runs needed before run-to-run variability is estimated from history. With 3 runs the
/// MAD-based estimate falls below half the true spread almost half the time; 5 is the
/// least that keeps that rare enough to trust.
pub const MIN_HISTORY_RUNS: usize = 5;

/// Where a noise estimate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseSource {
    /// Robust CV of the medians of several runs: real run-to-run variability.
    History,
    /// Robust CV of the samples of one run: a lower bound on run-to-run variability.
    WithinRun,
    /// Interleaved A/B in one process: run-to-run drift cancels out.
    Paired,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub family: Family,
    /// Seconds per run.
    pub median: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Relative noise (robust CV), see `noise_source`.
    pub noise: f64,
    pub noise_source: NoiseSource,
    /// Samples in the run the median comes from.
    pub samples: usize,
    /// Runs that contributed (more than one: the noise is from history).
    pub runs: usize,
    pub commit: Option<String>,
    pub date: String,
    /// Up to `BASELINE_POINTS` evenly spaced order statistics of that run's samples.
    pub points: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    pub schema_version: u32,
    pub hardware_key: String,
    pub hardware: Hardware,
    pub updated_at: String,
    pub benchmarks: BTreeMap<String, BaselineEntry>,
}

/// `baselines_dir/<key>.json`, for a key that is a safe file name.
pub fn baseline_path(baselines_dir: &Path, key: &str) -> Result<PathBuf> {
    super::validate::path_component("hardware key", key).map_err(Error::Usage)?;
    Ok(baselines_dir.join(format!("{key}.json")))
}

/// `n` evenly spaced order statistics of `samples` (all of them if there are fewer).
fn points(samples: &[f64], n: usize) -> Vec<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.len() <= n {
        return sorted;
    }
    (0..n)
        .map(|i| quantile(&sorted, i as f64 / (n - 1) as f64))
        .collect()
}

/// Builds baseline entries from `runs` (oldest first, one hardware key) for the ids that
/// `keep` accepts. The newest successful result of each benchmark gives its median and
/// points; with `MIN_HISTORY_RUNS` or more successful runs the noise is the robust CV of
/// their medians, else the within-run robust CV.
pub fn entries_from_runs(
    runs: &[RunRecord],
    keep: &dyn Fn(&str) -> bool,
) -> BTreeMap<String, BaselineEntry> {
    // Per benchmark, its successful results in run order.
    let mut history: BTreeMap<&str, Vec<(&RunRecord, &BenchResult)>> = BTreeMap::new();
    for run in runs {
        for b in &run.benchmarks {
            if b.status == Status::Ok
                && b.summary.is_some()
                && !b.throttled
                && !b.contended
                && keep(&b.id)
            {
                history.entry(&b.id).or_default().push((run, b));
            }
        }
    }
    history
        .into_iter()
        .map(|(id, hist)| {
            let &(run, b) = hist.last().expect("non-empty history");
            let s = b.summary.as_ref().expect("filtered on summary");
            let medians: Vec<f64> = hist
                .iter()
                .filter_map(|(_, b)| b.summary.as_ref().map(|s| s.median))
                .collect();
            let (noise, noise_source) = match robust_cv(&medians) {
                Some(cv) if hist.len() >= MIN_HISTORY_RUNS => (cv, NoiseSource::History),
                _ => (robust_cv(&b.samples).unwrap_or(0.0), NoiseSource::WithinRun),
            };
            // With history, centre on the median of the run medians so one lucky or unlucky
            // newest run does not move the baseline; the newest run's shape is kept.
            let scale = if noise_source == NoiseSource::History {
                let mut sorted = medians.clone();
                sorted.sort_by(f64::total_cmp);
                quantile(&sorted, 0.5) / s.median
            } else {
                1.0
            };
            let entry = BaselineEntry {
                family: b.family,
                median: s.median * scale,
                ci_low: s.ci_low * scale,
                ci_high: s.ci_high * scale,
                noise,
                noise_source,
                samples: s.n,
                runs: hist.len(),
                commit: run.git.commit.clone(),
                date: run.started_at.clone(),
                points: points(&b.samples, BASELINE_POINTS)
                    .into_iter()
                    .map(|p| p * scale)
                    .collect(),
            };
            (id.to_string(), entry)
        })
        .collect()
}

/// Loads a baseline, checking its schema version first.
pub fn load_baseline(path: &Path) -> Result<Baseline> {
    let bytes = super::reader::read_bounded(path)?;
    let corrupt = |reason: String| Error::CorruptFile {
        path: path.to_path_buf(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("invalid JSON: {e}")))?;
    match value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(BASELINE_SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(corrupt(format!(
                "baseline schema version {v}, but this orac reads version {BASELINE_SCHEMA_VERSION}"
            )));
        }
        None => return Err(corrupt("no schema_version: not an orac baseline".into())),
    }
    let baseline: Baseline = serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
    super::validate::baseline(&baseline).map_err(corrupt)?;
    Ok(baseline)
}

/// An exclusive lock on `baselines_dir/.lock`, held while a baseline is read, merged and
/// rewritten, so two updates never interleave. Released when dropped.
pub struct BaselineLock(#[allow(dead_code)] fs::File);

pub fn lock_baselines(baselines_dir: &Path) -> Result<BaselineLock> {
    use std::os::fd::AsRawFd;
    fs::create_dir_all(baselines_dir).map_err(|source| Error::Write {
        path: baselines_dir.to_path_buf(),
        source,
    })?;
    let path = baselines_dir.join(".lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
    // SAFETY: flock on a descriptor we own; blocks until the other update finishes.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(Error::Write {
            path,
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(BaselineLock(file))
}

/// Writes `baseline` to `baselines_dir/<key>.json`, replacing the previous one atomically
/// (temp file, fsync, rename): a baseline is meant to be updated, through review.
pub fn save_baseline(baselines_dir: &Path, baseline: &Baseline) -> Result<PathBuf> {
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Write { path, source }
    };
    fs::create_dir_all(baselines_dir).map_err(err(baselines_dir))?;
    super::validate::baseline(baseline).map_err(Error::Usage)?;
    let path = baseline_path(baselines_dir, &baseline.hardware_key)?;
    let temp = baselines_dir.join(format!(
        ".{}.{}.tmp",
        baseline.hardware_key,
        std::process::id()
    ));
    let mut json = serde_json::to_vec_pretty(baseline).expect("a baseline always serialises");
    json.push(b'\n');
    let written = fs::File::create(&temp)
        .and_then(|mut f| f.write_all(&json).and_then(|_| f.sync_all()))
        .map_err(err(&temp));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    fs::rename(&temp, &path).map_err(err(&path))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_evenly_spaced_order_statistics() {
        let samples: Vec<f64> = (0..101).rev().map(|i| i as f64).collect();
        let p = points(&samples, 5);
        assert_eq!(p, vec![0.0, 25.0, 50.0, 75.0, 100.0]);
        assert_eq!(points(&[3.0, 1.0], 5), vec![1.0, 3.0]);
    }
}
