//! Results on disk: the schema of a run record, git provenance, hardware keys, and
//! reading/writing `results/<hardware-key>/<timestamp>-<sha>.json`. Storage never prints;
//! what a user should hear comes back as warnings or errors.

mod baseline;
pub mod fault;
mod git;
mod hardware;
mod journal;
mod outputs;
mod reader;
mod schema;
mod time;
pub mod validate;
mod writer;

pub use baseline::{
    BASELINE_POINTS, BASELINE_SCHEMA_VERSION, Baseline, BaselineEntry, BaselineLock,
    MIN_HISTORY_RUNS, NoiseSource, baseline_path, entries_from_runs, load_baseline, lock_baselines,
    save_baseline,
};
pub use git::{GitInfo, kernels_match, provenance};
pub use hardware::{GpuInfo, Hardware, slug};
pub use journal::{JOURNAL_VERSION, Journal, JournalHeader, Resumed, find_journals};
pub use outputs::{output_path, write_output};
pub use reader::{MAX_FILE_BYTES, find_runs, load_run};
pub use schema::{BenchResult, Hotspot, RunRecord, SCHEMA_VERSION, Status, relevant_environment};
pub use time::{UtcTime, utc_now};
pub use writer::{record_stem, save_run};
