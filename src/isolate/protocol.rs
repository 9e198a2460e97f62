//! What the supervisor and a worker say to each other: a job as one JSON document on the
//! worker's stdin, then one JSON line per event on its stdout.

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::backend::BackendChoice;
use crate::measure::Settings;
use crate::regress::PairedOutcome;
use crate::store::BenchResult;
use crate::suite::{Family, Profile};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// The backend the supervisor chose (`cpu` or `cuda`, never `auto`).
    pub backend: BackendChoice,
    /// `--kernels` directory; `None` for the kernels built into the binary.
    pub kernels_dir: Option<PathBuf>,
    pub profile: Profile,
    pub settings: Settings,
    pub seed: u64,
    /// Benchmarks to run, in order.
    pub ids: Vec<String>,
    /// Set for `orac ab`: measure each id on two revisions' kernels instead.
    #[serde(default)]
    pub ab: Option<AbJob>,
    /// Set for `orac verify`: check each id against the reference, time nothing.
    #[serde(default)]
    pub verify_only: bool,
    /// `orac verify --out-dir`: where each output is written.
    #[serde(default)]
    pub out_dir: Option<PathBuf>,
}

/// The two sides of an A/B job: kernels read from git objects of `repo`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AbJob {
    pub repo: PathBuf,
    pub base_commit: String,
    pub head_commit: String,
    /// The gate's stopping rule, thresholds and budget.
    #[serde(default)]
    pub plan: crate::regress::AbPlan,
}

/// What a worker reports per benchmark: a run's result, or an A/B pair's outcome.
pub trait Outcome: Serialize + DeserializeOwned {
    fn id(&self) -> &str;
}

impl Outcome for BenchResult {
    fn id(&self) -> &str {
        &self.id
    }
}

/// One benchmark of an A/B job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairResult {
    pub id: String,
    pub family: Family,
    pub outcome: PairedOutcome,
}

impl Outcome for PairResult {
    fn id(&self) -> &str {
        &self.id
    }
}

/// Exit status of a worker whose backend became unusable (a poisoned CUDA context) after
/// reporting its last result: the supervisor starts a fresh worker and blames no one.
pub const RESTART_EXIT: i32 = 75;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[serde(bound = "R: Outcome")]
pub enum Message<R> {
    Started {
        id: String,
    },
    /// Where inside a benchmark the worker is (A/B: which side's kernel runs), so a death
    /// is blamed on the right side.
    Phase {
        id: String,
        phase: String,
    },
    Finished {
        result: Box<R>,
    },
}
