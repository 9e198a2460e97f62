//! Picking the backend: `auto` takes CUDA when a GPU is usable and the CPU otherwise;
//! asking for `cuda` without one is a clear error.

use super::{Backend, cpu::CpuBackend, cuda};
use crate::error::{Error, Result};
use crate::kernels::KernelTree;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    Auto,
    Cpu,
    Cuda,
}

/// Opens the backend for `choice`; the strings are notes for the user (why a backend was
/// chosen).
pub fn open(choice: BackendChoice, tree: &KernelTree) -> Result<(Box<dyn Backend>, Vec<String>)> {
    let mut notes = Vec::new();
    match choice {
        BackendChoice::Cpu => {}
        BackendChoice::Cuda => {
            return Err(Error::CudaUnavailable(match cuda::detect() {
                cuda::CudaStatus::Unavailable(why) => format!("{why}; use --backend cpu"),
                cuda::CudaStatus::Available { devices } => format!(
                    "{devices} CUDA device(s) found, but this orac has no CUDA backend yet; use --backend cpu"
                ),
            }));
        }
        BackendChoice::Auto => match cuda::detect() {
            cuda::CudaStatus::Unavailable(why) => {
                notes.push(format!("no usable GPU ({why}): running the CPU backend"));
            }
            cuda::CudaStatus::Available { devices } => notes.push(format!(
                "{devices} CUDA device(s) found, but the CUDA backend is not built yet: running the CPU backend"
            )),
        },
    }
    Ok((Box::new(CpuBackend::new(tree)?), notes))
}
