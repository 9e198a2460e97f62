//! Picking the backend: `auto` takes CUDA when a GPU is usable and the CPU otherwise;
//! asking for `cuda` without one is a clear error. `emu` (the PTX emulator) is only ever
//! chosen by name.

use super::{Backend, cpu::CpuBackend, cuda, emu};
use crate::error::{Error, Result};
use crate::kernels::KernelTree;
use crate::suite::Profile;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    Auto,
    Cpu,
    Cuda,
    /// The CUDA kernels' PTX in the emulator (crates/ptx-emu): verifies, never times.
    Emu,
}

/// The profile a suite on `choice` runs: the emu backend runs only the emu profile's
/// small shapes (its default, where `--profile` was left at `quick`); device shapes would
/// take hours in the emulator.
pub fn suite_profile(choice: BackendChoice, profile: Profile) -> Result<Profile> {
    match (choice, profile) {
        (BackendChoice::Emu, Profile::Quick | Profile::Emu) => Ok(Profile::Emu),
        (BackendChoice::Emu, other) => Err(Error::Usage(format!(
            "--profile {}: the emu backend runs only the emu profile's small shapes (drop --profile)",
            other.name()
        ))),
        (_, profile) => Ok(profile),
    }
}

/// Refuses `command` on the emu backend, which runs kernels but cannot time them.
pub fn refuse_untimed(choice: BackendChoice, command: &str) -> Result<()> {
    if choice == BackendChoice::Emu {
        return Err(Error::Usage(format!(
            "the emu backend runs the CUDA kernels' PTX in an emulator and does not time them, so `orac {command}` has nothing to measure: use `orac verify --backend emu` to check them, `orac counters` (or `orac ab --backend emu`) to count what they do"
        )));
    }
    Ok(())
}

/// The explicit choice that reopens the same kind of backend as `backend` (what `auto`
/// resolved to), for a second side or a worker process.
pub fn resolved(backend: &dyn Backend) -> BackendChoice {
    by_name(backend.name())
}

/// The choice that reopens the backend a record names (`cpu`, `cuda`, `emu`).
pub fn by_name(name: &str) -> BackendChoice {
    match name {
        "cuda" => BackendChoice::Cuda,
        "emu" => BackendChoice::Emu,
        _ => BackendChoice::Cpu,
    }
}

/// The `--device` index given on the command line, if any (`usize::MAX`: none).
static REQUESTED_DEVICE: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(usize::MAX);

/// Notes that `--device index` was given: a backend that cannot honour it refuses to open.
pub fn request_device(index: usize) {
    REQUESTED_DEVICE.store(index, std::sync::atomic::Ordering::Relaxed);
}

/// `--device` names a GPU: running the CPU backend instead would ignore it silently.
fn refuse_cpu_for_device(why: &str) -> Result<()> {
    match REQUESTED_DEVICE.load(std::sync::atomic::Ordering::Relaxed) {
        usize::MAX => Ok(()),
        index => Err(Error::Usage(format!(
            "--device {index} names a GPU, but {why}: drop --device to run on the CPU"
        ))),
    }
}

/// Opens the backend for `choice`; the strings are notes for the user (why a backend was
/// chosen).
pub fn open(choice: BackendChoice, tree: &KernelTree) -> Result<(Box<dyn Backend>, Vec<String>)> {
    let mut notes = Vec::new();
    match choice {
        BackendChoice::Cpu => refuse_cpu_for_device("--backend cpu runs no GPU")?,
        BackendChoice::Emu => {
            refuse_cpu_for_device("--backend emu runs no GPU")?;
            notes.push(EMU_STATUS.to_string());
            return Ok((Box::new(emu::EmuBackend::new(tree)?), notes));
        }
        BackendChoice::Cuda => {
            return match cuda::detect() {
                cuda::CudaStatus::Unavailable(why) => {
                    Err(Error::CudaUnavailable(format!("{why}; use --backend cpu")))
                }
                cuda::CudaStatus::Available { .. } => {
                    notes.push(CUDA_STATUS.to_string());
                    Ok((Box::new(cuda::CudaBackend::new(tree)?), notes))
                }
            };
        }
        BackendChoice::Auto => match cuda::detect() {
            cuda::CudaStatus::Unavailable(why) => {
                refuse_cpu_for_device(&format!("there is no usable GPU ({why})"))?;
                notes.push(format!("no usable GPU ({why}): running the CPU backend"));
            }
            cuda::CudaStatus::Available { devices } => match cuda::CudaBackend::new(tree) {
                Ok(backend) => {
                    notes.push(format!(
                        "{devices} CUDA device(s): running the CUDA backend"
                    ));
                    notes.push(CUDA_STATUS.to_string());
                    return Ok((Box::new(backend), notes));
                }
                Err(e) => {
                    refuse_cpu_for_device(&format!("the CUDA backend failed to start ({e})"))?;
                    notes.push(format!(
                        "{devices} CUDA device(s) found, but the CUDA backend failed to start ({e}): running the CPU backend"
                    ))
                }
            },
        },
    }
    Ok((Box::new(CpuBackend::new(tree)?), notes))
}

/// Said whenever the emu backend runs: what passing it proves.
const EMU_STATUS: &str = "the emu backend runs each CUDA kernel's PTX (NVRTC, sm_90a) in an emulator: a pass is verified in emulation, not on a GPU";

/// Said whenever the CUDA backend runs, until a GPU session has proven it.
const CUDA_STATUS: &str = "the CUDA backend is compiled but not yet verified on a GPU: results are checked against the CPU reference, treat timings with care";
