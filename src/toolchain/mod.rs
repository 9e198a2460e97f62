//! The CUDA toolchain, used without a GPU: finding the toolkit (`toolkit`: NVRTC, headers,
//! ptxas, cuBLAS; `choose`: which of them go with the driver), compiling with NVRTC
//! (`nvrtc`, loading libnvrtc by path in `nvrtc_lib`) and assembling with ptxas (`ptxas`).
//! Shared by the CUDA backend (CUBINs for its GPU), `orac kernels` (the offline check) and
//! anything that needs a kernel's PTX without a device (`offline::compile_kernel_ptx`).

pub mod choose;
pub mod nvrtc;
mod nvrtc_lib;
pub mod offline;
pub mod ptxas;
pub mod toolkit;

pub use offline::compile_kernel_ptx;
