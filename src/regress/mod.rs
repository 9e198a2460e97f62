//! Turning two sets of measurements into verdicts a CI job can trust: thresholds that
//! adapt to each benchmark's noise, a false-alarm level per benchmark that does not depend
//! on what else is compared, a sequential rule that measures undecided A/B benchmarks
//! more, and exit codes that fail on regressions only.

mod compare;
mod config;
pub mod counters;
pub mod sequential;
mod side;
mod verdict;

pub use compare::{
    Comparison, Entry, Estimator, Mode, PairedOutcome, SideInfo, Skipped, UNCHANGED_KERNEL,
    add_skipped, block_log_ratio, compare_independent, compare_paired,
};
pub use config::{CompareConfig, Override, Thresholds, parse_fail_on};
pub use sequential::{AbPlan, StoppingRule};
pub use side::{RunSpread, Side, SideBench, SideContext, resolve_side};
pub use verdict::{Verdict, decide, outcome};
