//! One side of a comparison, from whatever the user named: a results file, a directory of
//! runs, `baseline`, or a git revision (the stored runs of that commit).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::SideInfo;
use crate::error::{Error, Result};
use crate::stats::robust_cv;
use crate::store::{
    self, Hardware, MIN_HISTORY_RUNS, NoiseSource, RunRecord, Status, baseline_path, load_baseline,
};
use crate::suite::Family;

/// What one side knows about one benchmark.
#[derive(Debug, Clone)]
pub struct SideBench {
    pub family: Family,
    pub status: Status,
    pub error: Option<String>,
    /// Seconds per run (for a baseline: its stored order statistics).
    pub samples: Vec<f64>,
    /// Run-to-run noise when this side knows it (several runs, or a baseline).
    pub noise: Option<(f64, NoiseSource)>,
    pub throttled: bool,
    pub contended: bool,
    /// The spread of this benchmark's run medians, the replications a comparison between
    /// runs rests on; `None` when nothing is known beyond the newest run.
    pub runs: Option<RunSpread>,
    /// The emulator's counts (an `orac counters` record), newest run's.
    pub counters: Option<BTreeMap<String, u64>>,
    /// With them, the worst memory instructions.
    pub hotspots: Vec<store::Hotspot>,
}

/// Run medians of one benchmark on one side, in log space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunSpread {
    /// Runs that contributed.
    pub n: usize,
    /// Mean of ln(run median).
    pub mean_log: f64,
    /// Standard deviation of ln(run median), when there are two or more runs (for a
    /// baseline: its run-to-run noise).
    pub sd_log: Option<f64>,
}

impl RunSpread {
    /// The spread of `medians` (positive, at least one).
    pub fn of(medians: &[f64]) -> Option<RunSpread> {
        let logs: Vec<f64> = medians
            .iter()
            .filter(|m| m.is_finite() && **m > 0.0)
            .map(|m| m.ln())
            .collect();
        let n = logs.len();
        if n == 0 {
            return None;
        }
        let mean_log = logs.iter().sum::<f64>() / n as f64;
        let sd_log = (n >= 2).then(|| {
            (logs.iter().map(|x| (x - mean_log).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        });
        Some(RunSpread {
            n,
            mean_log,
            sd_log,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Side {
    pub info: SideInfo,
    pub hardware: Hardware,
    pub benches: BTreeMap<String, SideBench>,
    /// The input seed of the newest run, where it was recorded.
    pub seed: Option<u64>,
}

/// Where sides are looked up.
pub struct SideContext<'a> {
    pub results_dir: &'a Path,
    pub baselines_dir: &'a Path,
    /// Where git revisions are resolved.
    pub repo_dir: &'a Path,
    /// The other side's hardware key, to pick the baseline and the runs of a commit.
    pub hardware_hint: Option<&'a str>,
}

impl Side {
    /// A side from runs of one hardware key (oldest first): the newest result of each
    /// benchmark, with run-to-run noise when `MIN_HISTORY_RUNS` runs succeeded.
    pub fn from_runs(label: String, runs: &[(PathBuf, RunRecord)]) -> Result<Side> {
        let (_, latest) = runs
            .last()
            .ok_or_else(|| Error::Usage(format!("{label}: no runs")))?;
        let mut keys: Vec<&str> = runs.iter().map(|(_, r)| r.hardware.key.as_str()).collect();
        keys.sort();
        keys.dedup();
        if keys.len() > 1 {
            return Err(Error::Usage(format!(
                "{label} holds runs of several hardware keys ({}): pass --hardware KEY or one key's directory",
                keys.join(", ")
            )));
        }
        let mut benches: BTreeMap<String, SideBench> = BTreeMap::new();
        let mut medians: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for (_, run) in runs {
            for b in &run.benchmarks {
                if let (Status::Ok, Some(s), false, false) =
                    (b.status, &b.summary, b.throttled, b.contended)
                {
                    medians.entry(&b.id).or_default().push(s.median);
                }
                benches.insert(
                    b.id.clone(),
                    SideBench {
                        family: b.family,
                        status: b.status,
                        error: b.error.clone().or_else(|| {
                            b.verification
                                .as_ref()
                                .filter(|v| !v.passed)
                                .map(|v| v.summary())
                        }),
                        samples: b.samples.clone(),
                        noise: None,
                        throttled: b.throttled,
                        contended: b.contended,
                        runs: None,
                        counters: b.counters.clone(),
                        hotspots: b.hotspots.clone(),
                    },
                );
            }
        }
        for (id, m) in medians {
            if let Some(bench) = benches.get_mut(id) {
                bench.runs = RunSpread::of(&m);
            }
            if m.len() >= MIN_HISTORY_RUNS
                && let (Some(cv), Some(bench)) = (robust_cv(&m), benches.get_mut(id))
            {
                bench.noise = Some((cv, NoiseSource::History));
            }
        }
        Ok(Side {
            info: SideInfo {
                label,
                hardware_key: latest.hardware.key.clone(),
                commit: latest.git.commit.clone(),
                dirty: latest.git.dirty,
                runs: runs.len(),
                compiler: latest.hardware.compiler.clone(),
                orac_version: Some(latest.orac_version.clone()),
                gpu: latest.hardware.gpu.clone(),
            },
            hardware: latest.hardware.clone(),
            benches,
            seed: latest.seed,
        })
    }
}

fn load_all(paths: Vec<PathBuf>) -> Result<Vec<(PathBuf, RunRecord)>> {
    paths
        .into_iter()
        .map(|p| store::load_run(&p).map(|r| (p, r)))
        .collect()
}

/// Run files in `dir`: `*.json` directly inside, or else `<key>/*.json` below it.
fn runs_in_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let direct: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| Error::Read {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension().is_some_and(|x| x == "json")
                && !p.file_name().unwrap().to_string_lossy().starts_with('.')
        })
        .collect();
    if direct.is_empty() {
        return store::find_runs(dir);
    }
    let mut direct = direct;
    direct.sort();
    Ok(direct)
}

fn from_baseline(ctx: &SideContext) -> Result<Side> {
    let key = ctx.hardware_hint.ok_or_else(|| {
        Error::Usage(
            "`baseline` needs the other side to name a run (its hardware picks the baseline)"
                .into(),
        )
    })?;
    let path = baseline_path(ctx.baselines_dir, key)?;
    if !path.exists() {
        return Err(Error::Usage(format!(
            "no baseline for hardware {key}: {} does not exist (create it with `orac baseline set RUN`)",
            path.display()
        )));
    }
    let baseline = load_baseline(&path)?;
    let benches = baseline
        .benchmarks
        .iter()
        .map(|(id, e)| {
            let bench = SideBench {
                family: e.family,
                status: Status::Ok,
                error: None,
                samples: e.points.clone(),
                noise: Some((e.noise, e.noise_source)),
                throttled: false,
                contended: false,
                runs: Some(RunSpread {
                    n: e.runs.max(1),
                    mean_log: e.median.ln(),
                    sd_log: (e.noise_source == NoiseSource::History).then_some(e.noise),
                }),
                counters: None,
                hotspots: Vec::new(),
            };
            (id.clone(), bench)
        })
        .collect();
    Ok(Side {
        info: SideInfo {
            label: format!("baseline {}", path.display()),
            hardware_key: baseline.hardware_key.clone(),
            commit: None,
            dirty: None,
            runs: 0,
            compiler: baseline.hardware.compiler.clone(),
            orac_version: None,
            gpu: baseline.hardware.gpu.clone(),
        },
        hardware: baseline.hardware,
        benches,
        seed: None,
    })
}

fn from_revision(spec: &str, ctx: &SideContext) -> Result<Option<Side>> {
    let Ok(repo) = git2::Repository::discover(ctx.repo_dir) else {
        return Ok(None);
    };
    let Ok(commit) = repo.revparse_single(spec).and_then(|o| o.peel_to_commit()) else {
        return Ok(None);
    };
    let id = commit.id().to_string();
    let runs: Vec<(PathBuf, RunRecord)> = load_all(store::find_runs(ctx.results_dir)?)?
        .into_iter()
        .filter(|(_, r)| r.git.commit.as_deref() == Some(id.as_str()))
        .filter(|(_, r)| ctx.hardware_hint.is_none_or(|k| r.hardware.key == k))
        .collect();
    if runs.is_empty() {
        return Err(Error::Usage(format!(
            "no stored run of commit {} ({spec}) in {}{} (run `orac run` at that commit)",
            &id[..7],
            ctx.results_dir.display(),
            ctx.hardware_hint
                .map(|k| format!(" for hardware {k}"))
                .unwrap_or_default()
        )));
    }
    // All runs of the commit count: several give a run-to-run noise estimate.
    Side::from_runs(spec.to_string(), &runs).map(Some)
}

/// Resolves `spec` into a side (see the module docs).
pub fn resolve_side(spec: &str, ctx: &SideContext) -> Result<Side> {
    if spec == "baseline" {
        return from_baseline(ctx);
    }
    let path = Path::new(spec);
    if path.is_file() {
        let run = store::load_run(path)?;
        return Side::from_runs(spec.to_string(), &[(path.to_path_buf(), run)]);
    }
    if path.is_dir() {
        let runs = load_all(runs_in_dir(path)?)?;
        if runs.is_empty() {
            return Err(Error::Usage(format!(
                "{spec}: no run files in this directory"
            )));
        }
        return Side::from_runs(spec.to_string(), &runs);
    }
    if let Some(side) = from_revision(spec, ctx)? {
        return Ok(side);
    }
    Err(Error::Usage(format!(
        "'{spec}' is not a results file, a directory of runs, `baseline`, or a git revision"
    )))
}
