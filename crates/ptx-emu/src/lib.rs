//! A functional emulator for the PTX that NVRTC emits for CUDA kernels (sm_90a: the scalar
//! ISA, `cp.async`, `ldmatrix`, `mma.sync`, `wmma`, `wgmma`): parse a module, run a kernel
//! over a grid against emulated global memory, and get either the result or a Miri-like fault
//! report (out-of-bounds, misaligned, divergent barriers and warp-wide instructions, shuffle
//! masks, division by zero, and the checks [`Options`] turns on by default: shared-memory
//! races, uninitialised shared memory and registers, async hazards, with warps scheduled in a
//! seeded adversarial order).
//!
//! ```
//! use ptx_emu::{Arg, Global, Launch, Module, Options, run};
//! let ptx = ".version 9.5\n.target sm_90a\n.address_size 64\n\
//!   .visible .entry k(.param .u64 p)\n{\n.reg .b32 %r<2>;\n.reg .b64 %rd<4>;\n\
//!   ld.param.u64 %rd1, [p];\ncvta.to.global.u64 %rd2, %rd1;\nmov.u32 %r1, %tid.x;\n\
//!   mul.wide.u32 %rd3, %r1, 4;\nadd.s64 %rd2, %rd2, %rd3;\nst.global.u32 [%rd2], %r1;\nret;\n}\n";
//! let m = Module::parse(ptx).unwrap();
//! let mut g = Global::new();
//! let out = g.alloc_zeroed("out", 4 * 32);
//! let launch = Launch { grid: [1, 1, 1], block: [32, 1, 1], dynamic_shared_bytes: 0 };
//! run(&m, "k", &launch, &[Arg::Ptr(out)], &mut g, &Options::default()).unwrap();
//! assert_eq!(g.read_u32(out, 32).unwrap()[5], 5);
//! ```

// A `Fault` carries the whole diagnostic (about 200 bytes); it is returned once per failed
// run, and the hot paths that can fail are inlined, so boxing it would buy nothing.
#![allow(clippy::result_large_err)]

mod check;
mod decode;
pub mod exec;
pub mod fault;
pub mod inst;
pub mod parse;

pub use exec::counters::{Counters, Hotspot};
pub use exec::memory::{GLOBAL_BASE, Global, MemError};
pub use exec::{Arg, DEFAULT_SEED, Launch, Options, Report, Schedule, run};
pub use fault::{AllocNote, Fault, FaultKind};
pub use parse::{Kernel, Module, Param, ParseError};
