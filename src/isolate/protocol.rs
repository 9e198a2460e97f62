//! What the supervisor and a worker say to each other: a job as one JSON document on the
//! worker's stdin, then one JSON line per event on its stdout.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::backend::BackendChoice;
use crate::measure::Settings;
use crate::store::BenchResult;
use crate::suite::Profile;

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
}

/// Exit status of a worker whose backend became unusable (a poisoned CUDA context) after
/// reporting its last result: the supervisor starts a fresh worker and blames no one.
pub const RESTART_EXIT: i32 = 75;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Message {
    Started { id: String },
    Finished { result: Box<BenchResult> },
}
