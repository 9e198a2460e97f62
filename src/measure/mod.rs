//! How a workload is timed: warm-up, batching of short runs, and a stopping rule driven by
//! the noise of the samples themselves.

mod contention;
mod harness;
mod paired;
mod settings;

pub use contention::{SampleUsage, contended, openmp_threads, with_usage};
pub use harness::{Measurement, StopReason, measure, measure_with};
pub use paired::{PairedMeasurement, measure_pair};
pub use settings::Settings;

use crate::error::Result;

/// The one thing the harness needs from a backend: run a workload `runs` times back to
/// back and say how long it took, in seconds. The CPU backend uses the monotonic clock;
/// the CUDA backend will use events recorded on the launch stream.
pub trait Timed {
    fn time_batch(&mut self, runs: u64) -> Result<f64>;

    /// Threads of this process that run the work, when the host runs it (the CPU
    /// backend): the samples are then checked for contention. `None` for a device.
    fn host_threads(&self) -> Option<usize> {
        None
    }
}

/// One sample of `w`, with what it cost the process when `w` runs on the host.
fn sample(w: &mut dyn Timed, runs: u64) -> Result<(f64, Option<SampleUsage>)> {
    if w.host_threads().is_none() || !contention::check_enabled() {
        return Ok((w.time_batch(runs)?, None));
    }
    let (seconds, usage) = with_usage(|| w.time_batch(runs));
    Ok((seconds?, usage))
}
