//! Turning two sets of measurements into verdicts a CI job can trust: thresholds that
//! adapt to each benchmark's noise, rank tests with false-alarm control across the whole
//! comparison, and exit codes that fail on regressions only.

mod compare;
mod config;
mod side;
mod verdict;

pub use compare::{
    Comparison, Entry, Mode, PairedOutcome, SideInfo, compare_independent, compare_paired,
};
pub use config::{CompareConfig, Override, Thresholds, parse_fail_on};
pub use side::{Side, SideBench, SideContext, resolve_side};
pub use verdict::{Verdict, decide, outcome};
