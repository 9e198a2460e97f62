//! Kernel sources and their metadata: where they come from (built into the binary, or a
//! directory; later a git revision) and what each kernel's manifest declares.

pub mod flags;
mod manifest;
mod tree;

pub use manifest::{KernelSpec, Op, arch_number, hex, load as load_manifest};
pub use tree::{KernelTree, host_changes, resolve_revision};
