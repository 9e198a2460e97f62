//! Results on disk: the schema of a run record, git provenance, hardware keys, and
//! reading/writing `results/<hardware-key>/<timestamp>-<sha>.json`. Storage never prints;
//! what a user should hear comes back as warnings or errors.

mod git;
mod hardware;
mod reader;
mod schema;
mod time;
mod writer;

pub use git::{GitInfo, provenance};
pub use hardware::{Hardware, slug};
pub use reader::{find_runs, load_run};
pub use schema::{BenchResult, RunRecord, SCHEMA_VERSION, Status, relevant_environment};
pub use time::{UtcTime, utc_now};
pub use writer::save_run;
