//! Synthetic stored history for tests, the scale benchmark and demonstrations: a git
//! repository with a chain of empty commits, and run records whose medians follow a chosen
//! level per commit (1% noise between runs, 0.5% within). Never used by a real run.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::measure::Settings;
use crate::stats::Summary;
use crate::stats::rng::SplitMix64;
use crate::store::{BenchResult, GitInfo, Hardware, RunRecord, SCHEMA_VERSION, Status, UtcTime};
use crate::suite::{Dtype, Family, Profile};

/// A repository at `dir` with `n` empty commits on `main` (checked out): their ids, oldest
/// first, committed one day apart from 2026-01-01.
pub fn commit_chain(dir: &Path, n: usize) -> Result<Vec<String>, git2::Error> {
    let repo = git2::Repository::init(dir)?;
    let tree_id = repo.treebuilder(None)?.write()?;
    let tree = repo.find_tree(tree_id)?;
    let mut ids: Vec<String> = Vec::with_capacity(n);
    let mut parent: Option<git2::Oid> = None;
    for i in 0..n {
        let when = git2::Time::new(1_767_225_600 + 86_400 * i as i64, 0);
        let sig = git2::Signature::new("orac", "orac@example.com", &when)?;
        let parents: Vec<git2::Commit> = parent
            .iter()
            .map(|p| repo.find_commit(*p))
            .collect::<Result<_, _>>()?;
        let parent_refs: Vec<&git2::Commit> = parents.iter().collect();
        let id = repo.commit(
            None,
            &sig,
            &sig,
            &format!("commit {i}"),
            &tree,
            &parent_refs,
        )?;
        ids.push(id.to_string());
        parent = Some(id);
    }
    if let Some(tip) = parent {
        repo.reference("refs/heads/main", tip, true, "synthetic history")?;
        repo.set_head("refs/heads/main")?;
    }
    Ok(ids)
}

/// A synthetic benchmark: id, family, and its median time at each commit index.
pub struct Track<'a> {
    pub id: String,
    pub family: Family,
    pub level: &'a dyn Fn(usize) -> f64,
}

/// One run of `commit` (number `index` on the branch, run `rep` of it) on hardware `key`.
pub fn run(
    key: &str,
    commit: &str,
    index: usize,
    rep: usize,
    tracks: &[Track],
    samples: usize,
) -> RunRecord {
    let mut rng = SplitMix64::new((index as u64) << 20 | rep as u64);
    let started = UtcTime::from_unix(1_767_225_600 + 86_400 * index as i64 + 60 * rep as i64);
    let benchmarks = tracks
        .iter()
        .map(|t| {
            let run_level = (t.level)(index) * (1.0 + 0.01 * rng.normal());
            let values: Vec<f64> = (0..samples.max(1))
                .map(|_| run_level * (1.0 + 0.005 * rng.normal()))
                .collect();
            let summary = Summary::from_samples(&values);
            let median = summary.map_or(run_level, |s| s.median);
            let (flops, bytes) = match t.family {
                Family::Memcpy => (0, 1 << 27),
                _ => (1 << 31, 1 << 24),
            };
            BenchResult {
                id: t.id.clone(),
                family: t.family,
                kernel: t.id.split('/').nth(1).unwrap_or("k").to_string(),
                dtype: Dtype::F32,
                params: BTreeMap::new(),
                kernel_source_hash: "synthetic".into(),
                flops,
                bytes,
                status: Status::Ok,
                error: None,
                verification: None,
                timing: Some("synthetic".into()),
                samples: values,
                runs_per_sample: 1,
                warmup_runs: 3,
                stop_reason: None,
                summary,
                flop_per_s: (flops > 0).then(|| flops as f64 / median),
                bytes_per_s: Some(bytes as f64 / median),
                throttled: false,
                contended: false,
                reference: false,
                clocks: None,
                counters: None,
                hotspots: Vec::new(),
                warnings: Vec::new(),
            }
        })
        .collect();
    let mut hardware = Hardware::cpu("Synthetic CPU".into(), 2, None, None);
    hardware.key = key.to_string();
    RunRecord {
        schema_version: SCHEMA_VERSION,
        orac_version: env!("CARGO_PKG_VERSION").into(),
        command_line: vec!["synthetic".into()],
        started_at: started.rfc3339(),
        finished_at: started.rfc3339(),
        backend: "cpu".into(),
        profile: Profile::Quick,
        kernels: "built-in".into(),
        settings: Settings::for_profile(Profile::Quick).with_max_time(Duration::from_secs(1)),
        git: GitInfo {
            commit: Some(commit.to_string()),
            branch: Some("main".into()),
            dirty: Some(false),
        },
        hardware,
        environment: BTreeMap::new(),
        benchmarks,
        warnings: Vec::new(),
        shard: None,
        run_id: None,
        seed: None,
    }
}
