//! Performance over time: the stored runs of one hardware key, placed along a branch's
//! first-parent history, several runs of one commit pooled, and each benchmark's series
//! searched for change points and slow creep.

pub mod bisect;
mod digest;
mod order;
pub mod synthetic;

pub use digest::{BenchDigest, Ceilings, RunDigest, load_digest, load_digests};
pub use order::{BranchCommit, BranchLine};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::stats::{ChangePointConfig, CreepConfig, change_points, creeps, quantile};
use crate::store::find_runs;
use crate::suite::{Family, Filter};

/// What to load and how to search it.
#[derive(Debug, Clone)]
pub struct HistoryOptions {
    pub results_dir: PathBuf,
    pub repo_dir: PathBuf,
    /// Hardware key; may be left out when the results hold only one.
    pub hardware: Option<String>,
    /// The branch (any revision) whose first-parent history orders the runs.
    pub branch: String,
    /// Keep commits from this date (`YYYY-MM-DD`, by commit date) or revision on.
    pub since: Option<String>,
    pub change_points: ChangePointConfig,
    pub creep: CreepConfig,
}

/// One commit's pooled result for one benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// Position on the branch (index into `History::commits`).
    pub position: usize,
    pub commit: String,
    pub date: String,
    /// Median of the runs' medians (seconds per run).
    pub median: f64,
    /// Widest CI of the median over the runs.
    pub ci_low: f64,
    pub ci_high: f64,
    pub runs: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeReport {
    /// First commit with a point at the new level.
    pub commit: String,
    /// The commit of the last point before it: the change lies in `last_before..commit`.
    pub last_before: String,
    /// Commits in that range (1: `commit` itself is the culprit; more: commits without a
    /// usable point lie between, and `orac bisect` can tell which).
    pub commits_in_range: usize,
    pub date: String,
    pub subject: String,
    /// Index into the series' points.
    pub point: usize,
    pub before: f64,
    pub after: f64,
    /// (after − before) / before, of time: positive is slower.
    pub change: f64,
    pub p_value: f64,
    pub direction: Direction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Slower,
    Faster,
}

impl Direction {
    fn of_time_change(change: f64) -> Direction {
        if change > 0.0 {
            Direction::Slower
        } else {
            Direction::Faster
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CreepReport {
    pub from_commit: String,
    pub to_commit: String,
    /// Points (commits) the drift spans.
    pub points: usize,
    /// Drift across the stretch, of time: positive is slower.
    pub drift: f64,
    pub p_value: f64,
    pub direction: Direction,
}

#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub id: String,
    pub family: Family,
    pub flops: u64,
    pub bytes: u64,
    /// Its figure of merit is bandwidth (copies, decode), as in the run table.
    #[serde(skip)]
    pub reports_bandwidth: bool,
    pub points: Vec<Point>,
    /// Commits where this benchmark ran but produced no usable time (failed, throttled).
    pub unusable: usize,
    pub change_points: Vec<ChangeReport>,
    pub creep: Vec<CreepReport>,
}

impl Series {
    /// Latest point minus the first, relative, of time.
    pub fn overall_change(&self) -> Option<f64> {
        let (first, last) = (self.points.first()?, self.points.last()?);
        Some(last.median / first.median - 1.0)
    }

    /// A slower change point or creep among the last `n` points.
    pub fn slower_within(&self, n: usize) -> bool {
        let from = self.points.len().saturating_sub(n);
        self.change_points
            .iter()
            .any(|c| c.direction == Direction::Slower && c.point >= from)
            || self.creep.iter().any(|c| {
                c.direction == Direction::Slower
                    && self.points.last().is_some_and(|p| p.commit == c.to_commit)
                    && n > 0
            })
    }
}

/// A run that is not part of the series, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SetAside {
    /// The file, for people (lossy where the path is not UTF-8, so JSON output never fails).
    pub path: String,
    pub commit: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct History {
    pub hardware_key: String,
    pub branch: String,
    /// The branch commits that have runs, oldest first.
    pub commits: Vec<BranchCommit>,
    /// Runs used.
    pub runs: usize,
    pub series: Vec<Series>,
    pub set_aside: Vec<SetAside>,
    /// Files that could not be read, with the reason (the rest of the history still loads).
    pub unreadable: Vec<String>,
    /// Ceilings from the newest run, for the roofline.
    #[serde(skip)]
    pub ceilings: Ceilings,
}

/// Lists the hardware keys that have stored runs.
pub fn hardware_keys(results_dir: &Path) -> Result<Vec<String>> {
    let mut keys: Vec<String> = find_runs(results_dir)?
        .iter()
        .filter_map(|p| p.parent()?.file_name()?.to_str().map(str::to_string))
        .collect();
    keys.sort();
    keys.dedup();
    Ok(keys)
}

/// Picks the hardware key: the one asked for, or the only one there is.
pub fn choose_hardware(results_dir: &Path, asked: Option<&str>) -> Result<String> {
    let keys = hardware_keys(results_dir)?;
    match asked {
        Some(k) if keys.iter().any(|x| x == k) => Ok(k.to_string()),
        Some(k) => Err(Error::Usage(format!(
            "no stored runs for hardware key '{k}' under {} (keys there: {})",
            results_dir.display(),
            if keys.is_empty() {
                "none".to_string()
            } else {
                keys.join(", ")
            }
        ))),
        None => match keys.as_slice() {
            [] => Err(Error::Usage(format!(
                "no stored runs under {}: `orac run` stores one",
                results_dir.display()
            ))),
            [one] => Ok(one.clone()),
            many => Err(Error::Usage(format!(
                "{} holds runs of several hardware keys: pass --hardware with one of {}",
                results_dir.display(),
                many.join(", ")
            ))),
        },
    }
}

/// Loads, orders, pools and analyses the history (see the module comment).
pub fn build(opts: &HistoryOptions, filter: &Filter) -> Result<History> {
    let key = choose_hardware(&opts.results_dir, opts.hardware.as_deref())?;
    let line = BranchLine::read(&opts.repo_dir, &opts.branch)?;
    let first_kept = first_kept_position(&line, opts.since.as_deref(), &opts.repo_dir)?;
    let paths: Vec<PathBuf> = std::fs::read_dir(opts.results_dir.join(&key))
        .map_err(|source| Error::Read {
            path: opts.results_dir.join(&key),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".json") && !n.starts_with('.'))
        })
        .collect();

    let mut unreadable = Vec::new();
    let mut set_aside = Vec::new();
    let mut by_position: BTreeMap<usize, Vec<RunDigest>> = BTreeMap::new();
    for result in load_digests(&paths) {
        let run = match result {
            Ok(run) => run,
            Err(e) => {
                unreadable.push(e.to_string());
                continue;
            }
        };
        let aside = |reason: &str| SetAside {
            path: run.path.display().to_string(),
            commit: run.git.commit.clone(),
            reason: reason.to_string(),
        };
        let Some(commit) = run.git.commit.as_deref() else {
            set_aside.push(aside("no git commit recorded"));
            continue;
        };
        if run.git.dirty == Some(true) {
            set_aside.push(aside(
                "dirty working tree: the commit does not describe the code",
            ));
            continue;
        }
        match line.position(commit) {
            None => set_aside.push(aside("commit not on the branch's first-parent history")),
            Some(pos) if pos < first_kept => {}
            Some(pos) => by_position.entry(pos).or_default().push(run),
        }
    }
    unreadable.sort();
    set_aside.sort_by(|a, b| a.path.cmp(&b.path));

    let ceilings = by_position
        .values()
        .last()
        .and_then(|runs| runs.iter().max_by(|a, b| a.started_at.cmp(&b.started_at)))
        .map(|r| r.peak)
        .unwrap_or_default();
    let runs = by_position.values().map(Vec::len).sum();
    let commits: Vec<BranchCommit> = by_position
        .keys()
        .map(|&p| line.commits[p].clone())
        .collect();
    let series = pool(&by_position, &line, filter)
        .into_iter()
        .map(|s| analyse(s, &line, opts))
        .collect();
    Ok(History {
        hardware_key: key,
        branch: opts.branch.clone(),
        commits,
        runs,
        series,
        set_aside,
        unreadable,
        ceilings,
    })
}

/// The first branch position `--since` keeps.
fn first_kept_position(line: &BranchLine, since: Option<&str>, repo_dir: &Path) -> Result<usize> {
    let Some(since) = since else { return Ok(0) };
    let is_date = since.len() == 10
        && since.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if is_date {
        return Ok(line
            .commits
            .iter()
            .position(|c| c.date.as_str() >= since)
            .unwrap_or(line.commits.len()));
    }
    let (_, id) = crate::kernels::resolve_revision(repo_dir, since)?;
    line.position(&id).ok_or_else(|| {
        Error::Usage(format!(
            "--since {since}: that commit is not on the branch's first-parent history"
        ))
    })
}

/// Per benchmark, one point per commit: the pooled runs.
fn pool(
    by_position: &BTreeMap<usize, Vec<RunDigest>>,
    line: &BranchLine,
    filter: &Filter,
) -> Vec<Series> {
    let mut series: BTreeMap<String, Series> = BTreeMap::new();
    for (&pos, runs) in by_position {
        let mut at_commit: BTreeMap<&str, (Vec<f64>, f64, f64, &BenchDigest)> = BTreeMap::new();
        for b in runs.iter().flat_map(|r| &r.benchmarks) {
            // Skipped is "this machine cannot hold it", not a failure: no point, no blame.
            if !filter.matches(&b.id) || b.status == crate::store::Status::Skipped {
                continue;
            }
            let entry =
                at_commit
                    .entry(&b.id)
                    .or_insert((Vec::new(), f64::INFINITY, f64::NEG_INFINITY, b));
            if let (Some(m), Some(s)) = (b.usable_median(), &b.summary) {
                entry.0.push(m);
                entry.1 = entry.1.min(s.ci_low);
                entry.2 = entry.2.max(s.ci_high);
            }
        }
        for (id, (mut medians, lo, hi, b)) in at_commit {
            let s = series.entry(id.to_string()).or_insert_with(|| Series {
                id: id.to_string(),
                family: b.family,
                flops: b.flops,
                bytes: b.bytes,
                reports_bandwidth: b.reports_bandwidth(),
                points: Vec::new(),
                unusable: 0,
                change_points: Vec::new(),
                creep: Vec::new(),
            });
            if medians.is_empty() {
                s.unusable += 1;
                continue;
            }
            medians.sort_by(f64::total_cmp);
            let n = medians.len();
            let median = quantile(&medians, 0.5);
            s.points.push(Point {
                position: pos,
                commit: line.commits[pos].id.clone(),
                date: line.commits[pos].date.clone(),
                median,
                ci_low: lo,
                ci_high: hi,
                runs: n,
            });
        }
    }
    series.into_values().collect()
}

fn analyse(mut s: Series, line: &BranchLine, opts: &HistoryOptions) -> Series {
    let values: Vec<f64> = s.points.iter().map(|p| p.median).collect();
    let steps = change_points(&values, &opts.change_points);
    s.creep = creeps(&values, &steps, &opts.creep)
        .into_iter()
        .map(|c| CreepReport {
            from_commit: s.points[c.start].commit.clone(),
            to_commit: s.points[c.end - 1].commit.clone(),
            points: c.end - c.start,
            drift: c.drift,
            p_value: c.p_value,
            direction: Direction::of_time_change(c.drift),
        })
        .collect();
    s.change_points = steps
        .iter()
        .map(|cp| {
            let p = &s.points[cp.index];
            let before = &s.points[cp.index - 1];
            ChangeReport {
                commit: p.commit.clone(),
                last_before: before.commit.clone(),
                commits_in_range: p.position - before.position,
                date: p.date.clone(),
                subject: line.commits[p.position].subject.clone(),
                point: cp.index,
                before: cp.mean_before,
                after: cp.mean_after,
                change: cp.relative_change(),
                p_value: cp.p_value,
                direction: Direction::of_time_change(cp.relative_change()),
            }
        })
        .collect();
    s
}
