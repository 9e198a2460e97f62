//! What is measured: the benchmark model (ids, axes, FLOP and byte counts), the shapes of
//! each family per profile, seeded random inputs, the f64 references that define each
//! benchmark's correct answer, and the check of an output against them.

mod attention;
mod decode;
mod emu;
mod gemm;
mod inputs;
mod memcpy;
mod model;
pub mod reference;
mod registry;
mod shard;
mod verify;

pub use inputs::{Inputs, Output, generate_inputs};
pub use memcpy::TRIAD_SCALAR;
pub use model::{Benchmark, Dtype, Family, Profile, Shape, Sizes};
pub use registry::{Filter, build_suite};
pub use shard::{Shard, ShardArg, shard as shard_suite};
pub use verify::{Verification, Worst, verify};
