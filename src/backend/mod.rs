//! Where benchmarks run. A backend compiles and loads kernels, uploads a benchmark's inputs
//! and hands back a [`Workload`] the harness can time; it also describes its hardware.

pub mod clock_sampler;
pub mod clocks;
pub mod cpu;
pub mod cuda;
pub mod emu;
mod select;

pub use select::{
    BackendChoice, by_name, open, refuse_untimed, request_device, resolved, suite_profile,
};

use crate::error::Result;
use crate::kernels::KernelSpec;
use crate::measure::Timed;
use crate::store::Hardware;
use crate::suite::{Benchmark, Inputs, Output};

pub trait Backend {
    /// `cpu`, `cuda` or `emu`, as recorded in results.
    fn name(&self) -> &'static str;
    fn hardware(&self) -> &Hardware;
    /// The kernels this backend can run, from its manifest.
    fn kernels(&self) -> &[KernelSpec];
    /// How this backend times a sample, recorded with every result.
    fn timing_method(&self) -> &'static str {
        "host monotonic clock around each batch of back-to-back runs; caches warm"
    }

    /// Clock checks around each measurement (GPUs); `None` where there are none (CPUs).
    fn clocks(&self) -> clocks::Clocks {
        None
    }

    /// Whether the backend can still run anything. A GPU fault (illegal address) poisons a
    /// CUDA context for good; the worker then exits so a fresh process takes over.
    fn check_health(&self) -> Result<()> {
        Ok(())
    }

    /// Compiles (or takes from the cache) the kernel of `bench` and binds it to `inputs`.
    /// The CPU backend itself, for what only it can do (an A/B block on shared buffers).
    fn as_cpu(&mut self) -> Option<&mut cpu::CpuBackend> {
        None
    }

    fn prepare<'a>(
        &'a mut self,
        bench: &Benchmark,
        inputs: &'a Inputs,
    ) -> Result<Box<dyn Workload + 'a>>;
}

/// A kernel bound to its inputs and output buffer, ready to run.
pub trait Workload: Timed {
    /// Poisons the output (NaN, or the complement of the source for copies), runs the
    /// kernel once and returns what it wrote.
    fn run_checked(&mut self) -> Result<Output>;

    /// Anything about how the samples were actually taken that the backend's timing method
    /// does not say (e.g. a CUDA graph that could not be captured).
    fn timing_notes(&self) -> Vec<String> {
        Vec::new()
    }

    /// What the timed launches left in the output, read back without running anything:
    /// every copy of the buffers the batches rotated through. Checked against the reference
    /// after timing, so state a launch leaves behind (a counter never reset, a copy never
    /// written) fails verification instead of being timed. Empty where it cannot be read.
    fn timed_outputs(&mut self) -> Result<Vec<Output>> {
        Ok(Vec::new())
    }

    /// Exact counts of what the checked run did (the emulator's counters), where the
    /// backend counts.
    fn counters(&self) -> Option<std::collections::BTreeMap<String, u64>> {
        None
    }

    /// With `counters`: the memory instructions that moved most beyond their ideal.
    fn hotspots(&self) -> Vec<crate::store::Hotspot> {
        Vec::new()
    }
}
