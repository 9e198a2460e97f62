//! How a workload is timed: warm-up, batching of short runs, and a stopping rule driven by
//! the noise of the samples themselves.

mod harness;
mod paired;
mod settings;

pub use harness::{Measurement, StopReason, measure, measure_with};
pub use paired::{PairedMeasurement, measure_pair};
pub use settings::Settings;

use crate::error::Result;

/// The one thing the harness needs from a backend: run a workload `runs` times back to
/// back and say how long it took, in seconds. The CPU backend uses the monotonic clock;
/// the CUDA backend will use events recorded on the launch stream.
pub trait Timed {
    fn time_batch(&mut self, runs: u64) -> Result<f64>;
}
