//! What history needs from a run record, read fast: the per-benchmark summaries without the
//! raw samples (serde skips them unparsed), many files at once on all cores. A file that fails
//! the fast path is read again with the strict reader, so its error is the usual precise one.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::stats::Summary;
use crate::store::{GitInfo, MAX_FILE_BYTES, SCHEMA_VERSION, Status, load_run};
use crate::suite::Family;

#[derive(Debug, Clone)]
pub struct RunDigest {
    pub path: PathBuf,
    pub started_at: String,
    pub git: GitInfo,
    pub hardware_key: String,
    pub backend: String,
    pub peak: Ceilings,
    pub benchmarks: Vec<BenchDigest>,
}

/// The device's ceilings for a roofline, when the run knows them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ceilings {
    /// Bytes per second.
    pub bandwidth: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BenchDigest {
    pub id: String,
    pub family: Family,
    pub status: Status,
    pub flops: u64,
    pub bytes: u64,
    pub summary: Option<Summary>,
    pub flop_per_s: Option<f64>,
    pub bytes_per_s: Option<f64>,
    #[serde(default)]
    pub throttled: bool,
    #[serde(default)]
    pub contended: bool,
    /// Only what the history needs of the parameters: whether the shape is memory-bound.
    #[serde(default)]
    pub params: DigestParams,
}

/// The parameters the history reads; the rest are skipped unparsed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DigestParams {
    /// `"memory"` for shapes whose figure of merit is bandwidth (decode attention). Any JSON
    /// value is accepted here, so a strange one is not mistaken for a corrupt file.
    #[serde(default)]
    pub bound: Option<serde_json::Value>,
}

impl BenchDigest {
    /// Whether its figure of merit is bandwidth, as `BenchResult::reports_bandwidth` decides.
    pub fn reports_bandwidth(&self) -> bool {
        self.family == Family::Memcpy
            || self.params.bound.as_ref().and_then(|v| v.as_str()) == Some("memory")
    }

    /// Median seconds per run of a verified, unthrottled, uncontended result.
    pub fn usable_median(&self) -> Option<f64> {
        match (self.status, &self.summary, self.throttled || self.contended) {
            (Status::Ok, Some(s), false) => Some(s.median),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct RawRun {
    schema_version: u32,
    started_at: String,
    backend: String,
    git: GitInfo,
    hardware: RawHardware,
    benchmarks: Vec<BenchDigest>,
}

#[derive(Deserialize)]
struct RawHardware {
    key: String,
    #[serde(default)]
    gpu: Option<RawGpu>,
}

#[derive(Deserialize)]
struct RawGpu {
    #[serde(default)]
    peak_bandwidth_bytes_per_s: Option<f64>,
}

/// Reads one run's digest.
pub fn load_digest(path: &Path) -> Result<RunDigest> {
    let fast = std::fs::metadata(path)
        .ok()
        .filter(|m| m.len() <= MAX_FILE_BYTES)
        .and_then(|_| std::fs::read(path).ok())
        .and_then(|bytes| serde_json::from_slice::<RawRun>(&bytes).ok())
        .filter(|raw| raw.schema_version == SCHEMA_VERSION);
    let raw = match fast {
        Some(raw) => raw,
        None => {
            // The strict reader says exactly what is wrong; if it accepts the file after
            // all, the digest shape is missing something the schema allows.
            load_run(path)?;
            return Err(Error::CorruptFile {
                path: path.to_path_buf(),
                reason: "readable as a run record but not as a history digest (an orac bug: please report it)".into(),
            });
        }
    };
    Ok(RunDigest {
        path: path.to_path_buf(),
        started_at: raw.started_at,
        git: raw.git,
        hardware_key: raw.hardware.key,
        backend: raw.backend,
        peak: Ceilings {
            // A driver that could not read the memory clock leaves 0: no ceiling, not zero.
            bandwidth: raw
                .hardware
                .gpu
                .and_then(|g| g.peak_bandwidth_bytes_per_s)
                .filter(|b| b.is_finite() && *b > 0.0),
        },
        benchmarks: raw.benchmarks,
    })
}

/// Digests of `paths` in the same order, read in parallel; each failure stays with its file.
pub fn load_digests(paths: &[PathBuf]) -> Vec<Result<RunDigest>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(paths.len().max(1));
    let chunk = paths.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().map(|p| load_digest(p)).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("digest reader panicked"))
            .collect()
    })
}
