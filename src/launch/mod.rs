//! How a benchmark's kernel is launched, decided once for every backend that runs the CUDA
//! kernels (the `cuda` backend on a GPU; a PTX emulator on the host): its buffers and their
//! contents, and each launch's entry, grid, block, dynamic shared memory and arguments, from
//! the manifest entry, the benchmark and the device limits. Backend-neutral: nothing here
//! touches a driver, so two backends given one plan launch the same thing.

mod buffers;
mod grid;
mod ops;
mod plan;
mod render;
mod workspace;

pub use buffers::{Buffer, Elem, Init, Place, Poison, Source, Values, half_bits};
pub use grid::grid_for;
pub use plan::{Arg, DeviceLimits, LaunchPlan, Scalar, Step, VendorCall, Work, plan};
pub use workspace::{decode_workspace_floats, scratch_floats};
