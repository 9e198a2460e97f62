//! The run record: one JSON file per run. Bump `SCHEMA_VERSION` on any change a reader of
//! an older version would misread; readers refuse versions they do not know.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{GitInfo, Hardware};
use crate::backend::clocks::ClockCheck;
use crate::measure::{Settings, StopReason};
use crate::stats::Summary;
use crate::suite::{Dtype, Family, Profile, Shard, Verification};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema_version: u32,
    pub orac_version: String,
    pub command_line: Vec<String>,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: String,
    pub backend: String,
    pub profile: Profile,
    /// `built-in`, or the directory given with `--kernels`.
    pub kernels: String,
    pub settings: Settings,
    pub git: GitInfo,
    pub hardware: Hardware,
    /// Environment variables that change what is measured (OpenMP threads and binding,
    /// the C compiler, visible GPUs), as they were set for this run.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    pub benchmarks: Vec<BenchResult>,
    /// Run-level warnings (no git repository, dirty tree, …).
    pub warnings: Vec<String>,
    /// Set when this run is one shard of a suite (`orac run --shard K/N`).
    #[serde(default)]
    pub shard: Option<Shard>,
    /// Unique per run, kept in the journal too, so a resume can tell that the record was
    /// already saved (a crash between saving it and removing the journal). Absent in files
    /// written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The seed of the random inputs (`--seed`). Absent in files written before it was
    /// recorded. Counts depend on the inputs where a kernel branches on data, so counters of
    /// two seeds are not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Verified, then timed.
    Ok,
    /// The output did not match the reference: not timed.
    VerificationFailed,
    /// Compile, load or run error: not timed.
    Error,
    /// Not run: the machine cannot hold it (the reason is in `error`). Not a failure.
    Skipped,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResult {
    pub id: String,
    pub family: Family,
    pub kernel: String,
    pub dtype: Dtype,
    pub params: BTreeMap<String, serde_json::Value>,
    /// SHA-256 of the kernel source that produced this result.
    pub kernel_source_hash: String,
    pub flops: u64,
    pub bytes: u64,
    pub status: Status,
    pub error: Option<String>,
    pub verification: Option<Verification>,
    /// How the samples were taken (timer, cache state, runs per sample).
    #[serde(default)]
    pub timing: Option<String>,
    /// Seconds per run, every sample kept.
    pub samples: Vec<f64>,
    pub runs_per_sample: u64,
    pub warmup_runs: u64,
    pub stop_reason: Option<StopReason>,
    pub summary: Option<Summary>,
    /// FLOPs / median time; `None` for copies or without a timing.
    pub flop_per_s: Option<f64>,
    /// Bytes / median time.
    pub bytes_per_s: Option<f64>,
    /// Measured below the clocks it should have run at (set by the CUDA backend's clock
    /// checks); a throttled result is never compared as a regression.
    #[serde(default)]
    pub throttled: bool,
    /// Measured while another process took the CPUs the kernel ran on, even after a retry
    /// (the CPU backend's getrusage check): like `throttled`, never compared as a
    /// regression. Absent (false) in files written before the check existed.
    #[serde(default)]
    pub contended: bool,
    /// A vendor library call (cuBLAS, cuMemcpy): the yardstick for the hand-written kernels
    /// measured on the same shape and dtype in the same run.
    #[serde(default)]
    pub reference: bool,
    /// Clocks, temperature, power and throttle reasons just before and after the samples
    /// (GPUs with NVML).
    #[serde(default)]
    pub clocks: Option<ClockCheck>,
    /// Exact counts of what the kernel did, from the PTX emulator (`orac counters`):
    /// instruction classes, SIMT, shared-memory wavefronts, global sectors, ptxas spills.
    /// Never timing samples: no statistic reads them. Absent in timed runs and in files
    /// written before counters existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counters: Option<BTreeMap<String, u64>>,
    /// With `counters`: the memory instructions that moved most beyond their ideal (bank
    /// conflicts, uncoalesced sectors), worst first. Shown, never compared (lines move
    /// with every edit).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hotspots: Vec<Hotspot>,
    pub warnings: Vec<String>,
}

/// A memory instruction that took more shared-memory wavefronts or global sectors than
/// its accesses needed, over one benchmark's counted run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hotspot {
    /// The kernel entry (a pipeline's stage).
    pub entry: String,
    pub ptx_line: u32,
    /// `file:line` of the CUDA source, when NVRTC emitted line info.
    #[serde(default)]
    pub source: Option<String>,
    /// `shared.ld`, `shared.st`, `shared.ldmatrix`, `global.ld`, `global.st`, `global.atom`
    /// or `cp_async`.
    pub kind: String,
    pub requests: u64,
    /// Wavefronts (shared) or sectors (global) taken, and the fewest possible.
    pub actual: u64,
    pub ideal: u64,
}

impl Hotspot {
    /// `file:line (PTX n)`, or the PTX line alone.
    pub fn place(&self) -> String {
        match &self.source {
            Some(s) => format!("{s} (PTX line {})", self.ptx_line),
            None => format!("{} PTX line {}", self.entry, self.ptx_line),
        }
    }

    /// `3.00× the ideal wavefronts over 2048 requests`.
    pub fn describe(&self) -> String {
        let unit = if self.kind.starts_with("shared") {
            "wavefronts"
        } else {
            "sectors"
        };
        format!(
            "{}: {:.2}× the ideal {unit} over {} requests",
            self.kind,
            self.actual as f64 / self.ideal.max(1) as f64,
            self.requests
        )
    }
}

impl BenchResult {
    /// Whether this result's figure of merit is bandwidth rather than FLOP/s: copies, and
    /// shapes the suite marks memory-bound (`"bound": "memory"` in the params, as decode
    /// attention is). Decided by the benchmark, never by the hardware, so one id keeps one
    /// unit across machines and over its history.
    pub fn reports_bandwidth(&self) -> bool {
        self.family == Family::Memcpy
            || self.params.get("bound").and_then(|v| v.as_str()) == Some("memory")
    }
}

/// Variables worth recording with a run: `OMP_*`, `GOMP_*`, `CC`, `CUDA_VISIBLE_DEVICES`.
pub fn relevant_environment() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.to_string_lossy().into_owned())))
        .filter(|(k, _)| {
            k.starts_with("OMP_")
                || k.starts_with("GOMP_")
                || k == "CC"
                || k == "CUDA_VISIBLE_DEVICES"
        })
        .collect()
}

impl RunRecord {
    pub fn failed(&self) -> usize {
        self.benchmarks
            .iter()
            .filter(|b| !matches!(b.status, Status::Ok | Status::Skipped))
            .count()
    }
}
