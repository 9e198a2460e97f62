//! `orac merge`: the shards of one run (`orac run --shard K/N` on several runners or GPUs)
//! into one run record, checked for completeness and consistency.

use std::path::PathBuf;

use super::args::MergeArgs;
use crate::error::{Error, Result};
use crate::report;
use crate::store::{self, RunRecord};

pub fn merge(args: MergeArgs) -> Result<()> {
    let mut runs: Vec<(PathBuf, RunRecord)> = args
        .runs
        .iter()
        .map(|p| store::load_run(p).map(|r| (p.clone(), r)))
        .collect::<Result<_>>()?;
    if runs.len() < 2 {
        return Err(Error::Usage("merge needs at least two run files".into()));
    }
    runs.sort_by_key(|(_, r)| r.shard.map(|s| s.index));
    let (first_path, first) = &runs[0];
    let mut warnings = Vec::new();
    for (path, r) in &runs[1..] {
        if r.hardware.key != first.hardware.key {
            return Err(Error::Usage(format!(
                "{} ran on {}, {} on {}: shards of one run share the hardware",
                first_path.display(),
                first.hardware.key,
                path.display(),
                r.hardware.key
            )));
        }
        if r.git.commit != first.git.commit
            || r.profile != first.profile
            || r.backend != first.backend
        {
            warnings.push(format!(
                "{} differs from {} in commit, profile or backend",
                path.display(),
                first_path.display()
            ));
        }
    }
    let count = first.shard.map(|s| s.count);
    let mut seen: Vec<usize> = runs
        .iter()
        .filter_map(|(_, r)| r.shard.map(|s| s.index))
        .collect();
    seen.dedup();
    if let Some(n) = count {
        let missing: Vec<String> = (1..=n)
            .filter(|k| !seen.contains(k))
            .map(|k| format!("{k}/{n}"))
            .collect();
        if !missing.is_empty() {
            warnings.push(format!("shards missing: {}", missing.join(", ")));
        }
    }
    let mut merged = first.clone();
    merged.benchmarks.clear();
    merged.shard = None;
    for (path, r) in &runs {
        for b in &r.benchmarks {
            if merged.benchmarks.iter().any(|m| m.id == b.id) {
                return Err(Error::Usage(format!(
                    "{} appears twice (again in {}): these are not shards of one run",
                    b.id,
                    path.display()
                )));
            }
            merged.benchmarks.push(b.clone());
        }
        merged.started_at = merged.started_at.clone().min(r.started_at.clone());
        merged.finished_at = merged.finished_at.clone().max(r.finished_at.clone());
    }
    // Shards of one node's GPUs (`--device`): the record keeps the first shard's GPU, so
    // say which devices ran the rest.
    let mut devices: Vec<String> = runs
        .iter()
        .filter_map(|(_, r)| r.environment.get("CUDA_VISIBLE_DEVICES").cloned())
        .collect();
    devices.sort();
    devices.dedup();
    if devices.len() > 1 {
        warnings.push(format!(
            "shards ran on different devices (CUDA_VISIBLE_DEVICES {}); hardware and environment are the first shard's",
            devices.join(", ")
        ));
    }
    merged.warnings.extend(warnings.iter().cloned());
    merged.warnings.push(format!(
        "merged from {} shard files: {}",
        runs.len(),
        runs.iter()
            .map(|(p, _)| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    println!("{}", report::run_header(&merged));
    println!("{}", report::run_table(&merged));
    let path = store::save_run(&args.results_dir, &merged)?;
    eprintln!("saved {}", path.display());
    // The merged run supersedes its shards: left beside it, `runs` would list them too,
    // `history` would count them twice and `show` could pick one.
    for (shard, _) in &runs {
        if let Some(moved) = set_aside(shard, &args.results_dir)? {
            eprintln!("moved shard {} to {}", shard.display(), moved.display());
        }
    }
    Ok(())
}

/// Moves `shard` into `.merged/` beside it when it lies in `results_dir` (where readers
/// would find it); a shard file elsewhere (a CI artifact) is left alone. Never overwrites.
fn set_aside(shard: &std::path::Path, results_dir: &std::path::Path) -> Result<Option<PathBuf>> {
    let (Ok(file), Ok(root)) = (shard.canonicalize(), results_dir.canonicalize()) else {
        return Ok(None);
    };
    let Some(dir) = file.parent().filter(|d| d.parent() == Some(root.as_path())) else {
        return Ok(None);
    };
    let aside = dir.join(".merged");
    std::fs::create_dir_all(&aside).map_err(|source| Error::Write {
        path: aside.clone(),
        source,
    })?;
    let name = file
        .file_name()
        .expect("a file")
        .to_string_lossy()
        .into_owned();
    for attempt in 0..1000 {
        let target = aside.join(if attempt == 0 {
            name.clone()
        } else {
            format!("{attempt}-{name}")
        });
        // A hard link fails where the target exists: nothing set aside earlier is replaced.
        match std::fs::hard_link(&file, &target) {
            Ok(()) => {
                std::fs::remove_file(&file).map_err(|source| Error::Write {
                    path: file.clone(),
                    source,
                })?;
                return Ok(Some(target));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(Error::Write {
                    path: target,
                    source,
                });
            }
        }
    }
    Ok(None)
}
