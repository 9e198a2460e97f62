//! The launch plan: everything a backend needs to run one benchmark's kernel exactly as the
//! GPU path does, decided once from the manifest entry, the benchmark and the device limits.

use super::buffers::{Buffer, Elem, Place};
use super::grid::grid_for;
use super::ops::{self, Signature};
use super::workspace::{decode_workspace_floats, scratch_floats};
use crate::error::{Error, Result};
use crate::kernels::KernelSpec;
use crate::suite::{Benchmark, Dtype, Shape};

/// What of the device a plan depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceLimits {
    /// Streaming multiprocessors (grid-stride grids and decode splits fill them).
    pub sms: u32,
    /// Shared memory one block may use once it opts in, static plus dynamic, in bytes
    /// (`u64::MAX` where unknown: nothing is checked).
    pub max_shared_per_block: u64,
}

impl DeviceLimits {
    /// H100 SXM and H200: 132 SMs, 227 KiB of shared memory per block.
    pub const H100_SXM: DeviceLimits = DeviceLimits {
        sms: 132,
        max_shared_per_block: 227 * 1024,
    };
    /// A100: 108 SMs, 163 KiB per block.
    pub const A100: DeviceLimits = DeviceLimits {
        sms: 108,
        max_shared_per_block: 163 * 1024,
    };
}

/// A scalar kernel argument, typed as the signature takes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// `int`: dimensions, `causal`.
    I32(i32),
    /// `unsigned long long`: byte and element counts.
    U64(u64),
    /// `float`: the softmax scale, the triad's scalar.
    F32(f32),
}

/// One kernel argument, in signature order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg {
    /// A pointer to `LaunchPlan::buffers[index]`.
    Buffer(usize),
    /// A value, named as the manifest's signatures name it ("M", "scale", "n_bytes", …).
    Scalar { name: &'static str, value: Scalar },
}

/// One kernel launch.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub entry: String,
    pub grid: [u32; 3],
    pub block: [u32; 3],
    pub dynamic_shared_bytes: u32,
    /// Above 48 KiB of dynamic shared memory an entry must opt in before it is launched
    /// (`CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES` = `dynamic_shared_bytes`).
    pub raise_dynamic_shared_limit: bool,
    pub args: Vec<Arg>,
}

/// A library call measured like a kernel (`vendor` in the manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VendorCall {
    /// cuMemcpyDtoDAsync from buffer "src" into "dst".
    MemcpyDtoD,
    /// cuMemcpyHtoDAsync from pinned "src" into "dst".
    MemcpyHtoD,
    /// cuMemcpyDtoHAsync from "src" into pinned "dst".
    MemcpyDtoH,
    /// cublasGemmEx, row-major "C" = "A"·"B" with f32 compute and f32 C, in `dtype`.
    CublasGemm {
        dtype: Dtype,
        m: i32,
        n: i32,
        k: i32,
    },
}

impl VendorCall {
    /// The manifest's name for it.
    pub fn name(&self) -> &'static str {
        match self {
            VendorCall::MemcpyDtoD => "memcpy-dtod",
            VendorCall::MemcpyHtoD => "memcpy-htod",
            VendorCall::MemcpyDtoH => "memcpy-dtoh",
            VendorCall::CublasGemm { .. } => "cublas-gemm",
        }
    }
}

/// What one run does.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// Kernel launches in order on one stream (several for a pipeline of stages).
    Kernels(Vec<Step>),
    /// A library call: a backend without the library skips the benchmark, naming it.
    Vendor(VendorCall),
}

/// How one benchmark is launched.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchPlan {
    pub buffers: Vec<Buffer>,
    pub work: Work,
}

impl LaunchPlan {
    /// The index of the buffer called `name`.
    pub fn buffer(&self, name: &str) -> Option<usize> {
        self.buffers.iter().position(|b| b.name == name)
    }

    /// The buffers read back for verification, in order (one for every op today).
    pub fn outputs(&self) -> Vec<usize> {
        (0..self.buffers.len())
            .filter(|&i| self.buffers[i].is_output())
            .collect()
    }

    /// Device memory the buffers take (a transfer's pinned host side is not device memory).
    pub fn device_bytes(&self) -> u64 {
        self.buffers
            .iter()
            .filter(|b| b.place == Place::Device)
            .map(Buffer::bytes)
            .sum()
    }
}

fn disagree(what: &str, bench: &Benchmark) -> Error {
    Error::Usage(format!(
        "{what} does not fit benchmark {} (shape {})",
        bench.id,
        bench.shape.id_segment()
    ))
}

/// The plan for `bench` run by `spec` on a device with `limits`. Errors: a grid rule that
/// does not fit the shape, a dimension over `int`, an unknown vendor call (as before the
/// plan existed); `NotApplicable` where a block needs more shared memory than the device
/// allows.
pub fn plan(spec: &KernelSpec, bench: &Benchmark, limits: &DeviceLimits) -> Result<LaunchPlan> {
    let elem = Elem::of(bench.dtype);
    if let Some(name) = spec.vendor.as_deref() {
        let (call, sig) = match (name, bench.shape) {
            ("memcpy-dtod", Shape::Copy { bytes }) => (VendorCall::MemcpyDtoD, ops::copy(bytes)),
            ("memcpy-htod", Shape::Transfer { bytes }) => {
                (VendorCall::MemcpyHtoD, ops::transfer(bytes, true))
            }
            ("memcpy-dtoh", Shape::Transfer { bytes }) => {
                (VendorCall::MemcpyDtoH, ops::transfer(bytes, false))
            }
            ("cublas-gemm", Shape::Gemm { m, n, k }) => {
                let call = VendorCall::CublasGemm {
                    dtype: bench.dtype,
                    m: ops::int(m)?,
                    n: ops::int(n)?,
                    k: ops::int(k)?,
                };
                (call, ops::gemm(m, n, k, elem)?)
            }
            ("memcpy-dtod" | "memcpy-htod" | "memcpy-dtoh" | "cublas-gemm", _) => {
                return Err(disagree(&format!("vendor call {name}"), bench));
            }
            (other, _) => {
                return Err(Error::Usage(format!(
                    "vendor call {other} is not implemented"
                )));
            }
        };
        return Ok(LaunchPlan {
            buffers: sig.buffers,
            work: Work::Vendor(call),
        });
    }
    let mut launches = Vec::new();
    for stage in &spec.stages {
        let grid = grid_for(&stage.grid, &bench.shape, stage.block, limits.sms)?;
        let dynamic = stage.dynamic_shared_bytes;
        let needs = u64::from(stage.shared_bytes) + u64::from(dynamic);
        if needs > limits.max_shared_per_block {
            return Err(Error::NotApplicable {
                kernel: bench.id.clone(),
                reason: format!(
                    "skipped: {} needs {needs} bytes of shared memory per block, this GPU allows {}",
                    stage.entry, limits.max_shared_per_block
                ),
            });
        }
        launches.push((stage, grid));
    }
    // A scratch buffer makes a pipeline even of one stage: its entry takes it.
    let pipeline = !(launches.len() == 1 && spec.scratch.is_none());
    let Signature { buffers, args } = match bench.shape {
        Shape::Attention { .. } => {
            // A pipeline without declared scratch still gets one float to point at.
            let scratch =
                pipeline.then(|| scratch_floats(&bench.shape, spec.scratch.as_deref()).max(1));
            ops::attention(&bench.shape, elem, scratch)?
        }
        _ if pipeline => {
            return Err(disagree(
                "a pipeline of stages (defined for attention only)",
                bench,
            ));
        }
        Shape::Copy { bytes } => ops::copy(bytes),
        Shape::Triad { bytes } => ops::triad(bytes),
        Shape::Gemm { m, n, k } => ops::gemm(m, n, k, elem)?,
        Shape::Decode { .. } => {
            let splits = launches[0].1[0];
            let work = decode_workspace_floats(&bench.shape, splits).max(1);
            ops::decode(&bench.shape, elem, work)?
        }
        Shape::Transfer { .. } => return Err(disagree("a kernel", bench)),
    };
    let steps = launches
        .into_iter()
        .map(|(stage, grid)| Step {
            entry: stage.entry.clone(),
            grid,
            block: stage.block,
            dynamic_shared_bytes: stage.dynamic_shared_bytes,
            raise_dynamic_shared_limit: stage.dynamic_shared_bytes > 48 * 1024,
            args: args.clone(),
        })
        .collect();
    Ok(LaunchPlan {
        buffers,
        work: Work::Kernels(steps),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{self, KernelTree};

    fn cuda_spec(family_kernel: (&str, &str)) -> KernelSpec {
        let specs = kernels::load_manifest(&KernelTree::Embedded, "cuda").unwrap();
        specs
            .into_iter()
            .find(|s| s.family().name() == family_kernel.0 && s.name == family_kernel.1)
            .unwrap()
    }

    #[test]
    fn device_memory_counts_f32_outputs_of_bf16_kernels() {
        let gemm = Benchmark::new("mma", Dtype::Bf16, Shape::Gemm { m: 2, n: 3, k: 4 });
        let p = plan(&cuda_spec(("gemm", "mma")), &gemm, &DeviceLimits::H100_SXM).unwrap();
        assert_eq!(p.device_bytes(), (8 + 12) * 2 + 6 * 4);
        assert_eq!(p.outputs(), [p.buffer("C").unwrap()]);
        let attention = Benchmark::new(
            "flash",
            Dtype::Bf16,
            Shape::Attention {
                batch: 1,
                heads: 2,
                sq: 3,
                sk: 5,
                head_dim: 8,
                causal: false,
            },
        );
        let p = plan(
            &cuda_spec(("attention", "flash")),
            &attention,
            &DeviceLimits::H100_SXM,
        )
        .unwrap();
        // Q (3 rows), K and V (5 rows each) in bf16, O (3 rows) in f32, per head of 8.
        assert_eq!(p.device_bytes(), 2 * 8 * ((3 + 10) * 2 + 3 * 4));
    }

    #[test]
    fn decode_memory_counts_cache_query_output_and_workspace() {
        let shape = Shape::Decode {
            batch: 2,
            heads: 8,
            kv_heads: 2,
            seq: 10,
            head_dim: 16,
        };
        let bench = Benchmark::new("decode", Dtype::Bf16, shape);
        let p = plan(
            &cuda_spec(("attention", "decode")),
            &bench,
            &DeviceLimits::H100_SXM,
        )
        .unwrap();
        let Work::Kernels(steps) = &p.work else {
            panic!("a kernel")
        };
        let splits = u64::from(steps[0].grid[0]);
        // Q (bf16) and O (f32) of 8 heads, K and V of 2 KV heads × 10 keys (bf16), then
        // the workspace of kernels/cuda/manifest.toml: B·H·splits·(D+2) + B·Hkv floats.
        assert_eq!(
            p.device_bytes(),
            2 * (8 * 16 * (2 + 4) + 2 * 2 * 10 * 16 * 2) + 4 * (2 * 8 * splits * 18 + 2 * 2)
        );
    }

    #[test]
    fn vendor_calls_are_their_own_kind_and_too_much_shared_memory_is_skipped() {
        let gemm = Benchmark::new("cublas", Dtype::F32, Shape::Gemm { m: 2, n: 3, k: 4 });
        let p = plan(&cuda_spec(("gemm", "cublas")), &gemm, &DeviceLimits::A100).unwrap();
        assert!(matches!(
            p.work,
            Work::Vendor(VendorCall::CublasGemm {
                m: 2,
                n: 3,
                k: 4,
                ..
            })
        ));
        let wgmma = Benchmark::new(
            "wgmma",
            Dtype::Bf16,
            Shape::Gemm {
                m: 256,
                n: 256,
                k: 64,
            },
        );
        let spec = cuda_spec(("gemm", "wgmma"));
        assert!(matches!(
            plan(&spec, &wgmma, &DeviceLimits::A100),
            Err(Error::NotApplicable { .. })
        ));
        let p = plan(&spec, &wgmma, &DeviceLimits::H100_SXM).unwrap();
        let Work::Kernels(steps) = &p.work else {
            panic!("a kernel")
        };
        assert!(steps[0].raise_dynamic_shared_limit);
    }
}
