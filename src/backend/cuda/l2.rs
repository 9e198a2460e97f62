//! Starting every sample with a cold *and clean* L2.
//!
//! Writing a buffer twice the L2's size evicts whatever the last sample left, but leaves
//! about one L2 of dirty lines behind, whose write-back the first launch of the next sample
//! pays for (1–3% on short read-mostly kernels: decode, GEMV shapes). So the write is
//! followed by a read of a second buffer, twice the L2 and never written after it was
//! zeroed: that pass takes the write-backs outside the timed region and leaves only clean
//! lines of data no benchmark uses.
//!
//! Status: compiled (the read kernel also by NVRTC offline), not yet run on a GPU.

use std::path::PathBuf;
use std::sync::Arc;

use cudarc::driver::{CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg};

use crate::error::{Error, Result};
use crate::toolchain::nvrtc;

/// The read pass: every thread XORs its strided words; the store never happens on a zeroed
/// buffer, but the compiler cannot know, so every load stays.
pub const READ_SOURCE: &str = r#"
extern "C" __global__ void orac_l2_read(const unsigned long long *__restrict__ p,
                                        unsigned long long n, unsigned long long *sink) {
    unsigned long long acc = 0;
    const unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
         i < n; i += stride)
        acc ^= p[i];
    if (acc == 0x9e3779b97f4a7c15ULL) *sink = acc;
}
"#;

const READ_ENTRY: &str = "orac_l2_read";
/// Enough blocks to fill any current GPU several times over; the loop strides the rest.
const READ_GRID: u32 = 2048;
const READ_BLOCK: u32 = 256;

struct ReadPass {
    func: CudaFunction,
    data: CudaSlice<u64>,
    sink: CudaSlice<u64>,
}

/// The flush the CUDA workloads run before each sample.
pub struct L2Flush {
    write: CudaSlice<u8>,
    /// `Err`: why the read pass is missing (no NVRTC), said in each result's timing notes.
    read: std::result::Result<ReadPass, String>,
}

impl L2Flush {
    /// Buffers of `bytes` each (at least twice the L2); the read kernel compiled for `arch`
    /// when NVRTC is there.
    pub fn new(
        stream: &Arc<CudaStream>,
        bytes: usize,
        arch: &str,
        includes: &[PathBuf],
        nvrtc_missing: Option<&str>,
    ) -> Result<L2Flush> {
        let alloc_err =
            |e| Error::CudaUnavailable(format!("cannot allocate the L2 flush buffers: {e:?}"));
        let write = stream.alloc_zeros::<u8>(bytes).map_err(alloc_err)?;
        let read = match nvrtc_missing {
            Some(why) => Err(why.to_string()),
            None => read_pass(stream, bytes, arch, includes).map_err(|e| e.to_string()),
        };
        Ok(L2Flush { write, read })
    }

    /// Evicts the L2 and leaves it clean (or only evicted, see `note`).
    pub fn run(&mut self, stream: &Arc<CudaStream>) -> Result<()> {
        let gpu = |what: &'static str| {
            move |e| Error::KernelLoad {
                path: PathBuf::from("<l2 flush>"),
                reason: format!("{what}: {e:?}"),
            }
        };
        stream
            .memset_zeros(&mut self.write)
            .map_err(gpu("L2 flush write"))?;
        if let Ok(pass) = &mut self.read {
            let n = pass.data.len() as u64;
            let cfg = LaunchConfig {
                grid_dim: (READ_GRID, 1, 1),
                block_dim: (READ_BLOCK, 1, 1),
                shared_mem_bytes: 0,
            };
            let mut args = stream.launch_builder(&pass.func);
            args.arg(&pass.data).arg(&n).arg(&mut pass.sink);
            // SAFETY: the signature is READ_SOURCE's; `data` holds `n` words.
            unsafe { args.launch(cfg) }.map_err(gpu("L2 flush read"))?;
        }
        Ok(())
    }

    /// Said with the timing method when the read pass is missing.
    pub fn note(&self) -> Option<String> {
        self.read.as_ref().err().map(|why| {
            format!("the L2 is evicted before each sample but left dirty (the read pass needs NVRTC: {why})")
        })
    }
}

fn read_pass(
    stream: &Arc<CudaStream>,
    bytes: usize,
    arch: &str,
    includes: &[PathBuf],
) -> Result<ReadPass> {
    let cubin = nvrtc::compile_cubin(READ_SOURCE, "<l2 flush>", READ_ENTRY, arch, includes, &[])?;
    let load_err = |e| Error::KernelLoad {
        path: PathBuf::from("<l2 flush>"),
        reason: format!("{e:?}"),
    };
    let module = stream
        .context()
        .load_module(cudarc::nvrtc::Ptx::from_binary(cubin))
        .map_err(load_err)?;
    let func = module.load_function(READ_ENTRY).map_err(load_err)?;
    let data = stream.alloc_zeros::<u64>(bytes / 8).map_err(load_err)?;
    let sink = stream.alloc_zeros::<u64>(1).map_err(load_err)?;
    Ok(ReadPass { func, data, sink })
}
