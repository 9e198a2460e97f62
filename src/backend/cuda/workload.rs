//! A CUDA kernel (or vendor call) bound to device buffers, timed with events recorded on
//! the launch stream.
//!
//! Status: compiled, not yet run on a GPU.

use std::sync::Arc;

use cudarc::cublas::CudaBlas;
use cudarc::cublas::sys::{cublasComputeType_t, cublasGemmAlgo_t, cublasOperation_t, cudaDataType};
use cudarc::driver::sys::{CUevent_flags, CUgraphInstantiate_flags, CUstreamCaptureMode};
use cudarc::driver::{
    CudaEvent, CudaFunction, CudaGraph, CudaSlice, CudaStream, DevicePtr, DevicePtrMut,
    LaunchConfig, PinnedHostSlice, PushKernelArg,
};

use crate::backend::Workload;
use crate::error::{Error, Result};
use crate::measure::Timed;
use crate::suite::{Dtype, Inputs, Output, Shape};

fn gpu_err(what: &'static str) -> impl Fn(cudarc::driver::DriverError) -> Error {
    move |e| Error::KernelUnavailable {
        kernel: what.into(),
        reason: format!("CUDA error during {what}: {e:?}"),
    }
}

/// What runs: a compiled kernel with its launch shape, or a library call.
pub enum Launch {
    Kernel {
        func: CudaFunction,
        cfg: LaunchConfig,
    },
    /// Several kernels in sequence on the stream (an attention pipeline), each given the
    /// op's arguments plus a device scratch buffer of `scratch_floats` f32.
    Pipeline {
        stages: Vec<(CudaFunction, LaunchConfig)>,
        scratch_floats: u64,
    },
    MemcpyDtoD,
    /// cuMemcpyHtoDAsync from pinned host memory.
    MemcpyHtoD,
    /// cuMemcpyDtoHAsync into pinned host memory.
    MemcpyDtoH,
    /// cuBLAS GEMM (`cublasGemmEx`, f32 compute, f32 C), in the benchmark's dtype: f32
    /// (strict FP32), tf32 (f32 storage, TF32 tensor cores), f16 or bf16.
    Cublas(Arc<CudaBlas>, Dtype),
}

enum Buffers {
    Copy {
        src: CudaSlice<u8>,
        dst: CudaSlice<u8>,
        host_src: Vec<u8>,
    },
    Gemm {
        a: CudaSlice<f32>,
        b: CudaSlice<f32>,
        c: CudaSlice<f32>,
    },
    /// Q, K, V as f32 or as bf16 bit patterns (`Half`), O always f32; the scratch of a
    /// pipeline (at least one float, unused by a single kernel).
    Attention {
        q: Tensor,
        k: Tensor,
        v: Tensor,
        o: CudaSlice<f32>,
        scratch: CudaSlice<f32>,
    },
    /// A host↔device transfer: `host` is page-locked (plain pinned, not write-combined, so
    /// the host reads the D2H result back at full speed); `host_ptr` is its address, taken
    /// once, so no launch asks cudarc to synchronise it (which a graph capture would refuse).
    Transfer {
        dev: CudaSlice<u8>,
        _host: PinnedHostSlice<u8>,
        host_ptr: *mut u8,
        len: usize,
        src: Vec<u8>,
    },
    /// The triad's f32 arrays: a = b + s·c.
    Triad {
        b: CudaSlice<f32>,
        c: CudaSlice<f32>,
        a: CudaSlice<f32>,
    },
    /// Decode attention: Q [B, H, D], K and V [B, Hkv, S, D], O [B, H, D] f32, and the
    /// kernel's workspace (see `workspace_floats`).
    Decode {
        q: Tensor,
        k: Tensor,
        v: Tensor,
        o: CudaSlice<f32>,
        work: CudaSlice<f32>,
    },
    /// bf16 or f16 inputs as their bit patterns (a kernel reads `__nv_bfloat16` or
    /// `__half`), f32 output.
    GemmBf16 {
        a: CudaSlice<u16>,
        b: CudaSlice<u16>,
        c: CudaSlice<f32>,
    },
}

/// A device input in the benchmark's dtype.
enum Tensor {
    F32(CudaSlice<f32>),
    Half(CudaSlice<u16>),
}

impl Tensor {
    fn upload(stream: &Arc<CudaStream>, values: &[f32], dtype: Dtype) -> Result<Tensor> {
        Ok(match dtype {
            Dtype::Bf16 | Dtype::F16 => Tensor::Half(
                stream
                    .clone_htod(&half_bits(values, dtype))
                    .map_err(gpu_err("upload"))?,
            ),
            _ => Tensor::F32(stream.clone_htod(values).map_err(gpu_err("upload"))?),
        })
    }
}

/// Floats of scratch a pipeline declares (`scratch` in the manifest): "scores" holds an
/// attention's B·H·Sq·Sk f32 scores (then probabilities).
pub fn scratch_floats(shape: &Shape, scratch: Option<&str>) -> u64 {
    match (shape, scratch) {
        (
            Shape::Attention {
                batch,
                heads,
                sq,
                sk,
                ..
            },
            Some("scores"),
        ) => batch * heads * sq * sk,
        _ => 0,
    }
}

/// Floats of workspace a launch needs: a pipeline's scratch; for a decode kernel, the decode op's contract
/// (kernels/cuda/manifest.toml): B·H·splits·(D+2) floats of per-split partials, then B·Hkv
/// 32-bit tickets that start at zero, where splits is the grid's x. Nothing for other ops.
pub fn workspace_floats(shape: &Shape, launch: &Launch) -> u64 {
    match (shape, launch) {
        (
            Shape::Decode {
                batch,
                heads,
                kv_heads,
                head_dim,
                ..
            },
            Launch::Kernel { cfg, .. },
        ) => {
            let splits = u64::from(cfg.grid_dim.0);
            batch * heads * splits * (head_dim + 2) + batch * kv_heads
        }
        (_, Launch::Pipeline { scratch_floats, .. }) => *scratch_floats,
        _ => 0,
    }
}

/// A dimension as the `int` the kernel signatures take; one that does not fit is refused
/// rather than wrapped.
fn int(x: u64) -> Result<i32> {
    i32::try_from(x).map_err(|_| Error::NotApplicable {
        kernel: String::new(),
        reason: format!("skipped: dimension {x} does not fit the kernels' 32-bit int"),
    })
}

/// One set of a benchmark's device buffers, inputs uploaded and outputs zeroed.
fn make_buffers(
    stream: &Arc<CudaStream>,
    launch: &Launch,
    shape: Shape,
    dtype: Dtype,
    inputs: &Inputs,
) -> Result<Buffers> {
    Ok(match (shape, inputs) {
        (Shape::Attention { .. }, Inputs::Attention { q, k, v }) => Buffers::Attention {
            q: Tensor::upload(stream, q, dtype)?,
            k: Tensor::upload(stream, k, dtype)?,
            v: Tensor::upload(stream, v, dtype)?,
            o: stream.alloc_zeros(q.len()).map_err(gpu_err("allocation"))?,
            scratch: stream
                .alloc_zeros(workspace_floats(&shape, launch).max(1) as usize)
                .map_err(gpu_err("allocation"))?,
        },
        (Shape::Decode { .. }, Inputs::Attention { q, k, v }) => Buffers::Decode {
            q: Tensor::upload(stream, q, dtype)?,
            k: Tensor::upload(stream, k, dtype)?,
            v: Tensor::upload(stream, v, dtype)?,
            o: stream.alloc_zeros(q.len()).map_err(gpu_err("allocation"))?,
            // Zeroed: the tickets must start at zero (the kernel leaves them so).
            work: stream
                .alloc_zeros(workspace_floats(&shape, launch).max(1) as usize)
                .map_err(gpu_err("allocation"))?,
        },
        (Shape::Gemm { m, n, .. }, Inputs::Gemm { a, b })
            if matches!(dtype, Dtype::Bf16 | Dtype::F16) =>
        {
            Buffers::GemmBf16 {
                a: stream
                    .clone_htod(&half_bits(a, dtype))
                    .map_err(gpu_err("upload"))?,
                b: stream
                    .clone_htod(&half_bits(b, dtype))
                    .map_err(gpu_err("upload"))?,
                c: stream
                    .alloc_zeros((m * n) as usize)
                    .map_err(gpu_err("allocation"))?,
            }
        }
        (Shape::Transfer { bytes }, Inputs::Copy { src }) => {
            let len = bytes as usize;
            // SAFETY: plain page-locked memory of `len` bytes; it is written below before
            // any transfer reads it.
            let mut host = unsafe { stream.context().alloc_pinned_with_flags::<u8>(len, 0) }
                .map_err(gpu_err("pinned host allocation"))?;
            let host_ptr = host
                .as_mut_slice()
                .map_err(gpu_err("pinned host allocation"))?
                .as_mut_ptr();
            let dev = if matches!(launch, Launch::MemcpyDtoH) {
                stream.clone_htod(src).map_err(gpu_err("upload"))?
            } else {
                stream.alloc_zeros(len).map_err(gpu_err("allocation"))?
            };
            // SAFETY: `host_ptr` points at `len` bytes owned by `host`, kept alive with it.
            unsafe { std::slice::from_raw_parts_mut(host_ptr, len) }.copy_from_slice(src);
            Buffers::Transfer {
                dev,
                _host: host,
                host_ptr,
                len,
                src: src.clone(),
            }
        }
        (Shape::Triad { .. }, Inputs::Triad { b, c }) => Buffers::Triad {
            b: stream.clone_htod(b).map_err(gpu_err("upload"))?,
            c: stream.clone_htod(c).map_err(gpu_err("upload"))?,
            a: stream.alloc_zeros(b.len()).map_err(gpu_err("allocation"))?,
        },
        (Shape::Copy { bytes }, Inputs::Copy { src }) => Buffers::Copy {
            src: stream.clone_htod(src).map_err(gpu_err("upload"))?,
            dst: stream
                .alloc_zeros(bytes as usize)
                .map_err(gpu_err("allocation"))?,
            host_src: src.clone(),
        },
        (Shape::Gemm { m, n, .. }, Inputs::Gemm { a, b }) => Buffers::Gemm {
            a: stream.clone_htod(a).map_err(gpu_err("upload"))?,
            b: stream.clone_htod(b).map_err(gpu_err("upload"))?,
            c: stream
                .alloc_zeros((m * n) as usize)
                .map_err(gpu_err("allocation"))?,
        },
        _ => {
            return Err(Error::Usage(
                "the CUDA backend has no kernels for this family yet".into(),
            ));
        }
    })
}

/// bf16 bit patterns of values that are already bf16-exact (inputs are rounded on the host).
fn bf16_bits(values: &[f32]) -> Vec<u16> {
    values
        .iter()
        .map(|&v| half::bf16::from_f32(v).to_bits())
        .collect()
}

/// bf16 or f16 bit patterns of values already exact in that type.
fn half_bits(values: &[f32], dtype: Dtype) -> Vec<u16> {
    match dtype {
        Dtype::F16 => values
            .iter()
            .map(|&v| half::f16::from_f32(v).to_bits())
            .collect(),
        _ => bf16_bits(values),
    }
}

pub struct CudaWorkload {
    stream: Arc<CudaStream>,
    /// Created once, timing enabled: creating events inside the timed window would put host
    /// work between the GPU's launches.
    start: CudaEvent,
    end: CudaEvent,
    launch: Launch,
    shape: Shape,
    /// Copies of the buffers, each launch taking the next (see `replicas`); the first is
    /// the one verified.
    bufs: Vec<Buffers>,
    next: usize,
    /// Written before each sample so every sample starts with a cold L2.
    l2_flush: Arc<std::sync::Mutex<super::l2::L2Flush>>,
    /// Batches replayed as CUDA graphs, by launches per graph; the reason where capture
    /// failed (e.g. a library call that cannot be captured): those batches launch one by one.
    graphs: std::collections::HashMap<u64, Result<CudaGraph, String>>,
}

/// Copies of the buffers a batch may rotate through at most.
const MAX_REPLICAS: u64 = 64;

/// Copies of a benchmark's buffers a batch rotates through, so that every launch of a
/// batch, not only the first, finds its data out of L2 (only the first follows the flush):
/// enough copies to span twice the L2 (replacement is not exact LRU), at most `MAX_REPLICAS`;
/// one copy where the buffers alone are that large.
pub fn replicas(working_set: u64, l2_bytes: u64) -> usize {
    let span = 2 * l2_bytes;
    if working_set == 0 || working_set >= span {
        return 1;
    }
    span.div_ceil(working_set).min(MAX_REPLICAS) as usize
}

/// Batches of at least this many runs are replayed as a CUDA graph, so the host's launch
/// overhead (a few µs per launch) does not become the time of a kernel that short.
const GRAPH_MIN_RUNS: u64 = 2;
/// Launches per graph at most; longer batches replay the graph several times.
const GRAPH_MAX_RUNS: u64 = 1024;

impl CudaWorkload {
    pub fn new(
        stream: Arc<CudaStream>,
        launch: Launch,
        shape: Shape,
        dtype: Dtype,
        inputs: &Inputs,
        l2_flush: Arc<std::sync::Mutex<super::l2::L2Flush>>,
        replicas: usize,
    ) -> Result<Self> {
        let bufs = (0..replicas.max(1))
            .map(|_| make_buffers(&stream, &launch, shape, dtype, inputs))
            .collect::<Result<Vec<_>>>()?;
        let timing = Some(CUevent_flags::CU_EVENT_DEFAULT);
        let ctx = stream.context().clone();
        let start = ctx.new_event(timing).map_err(gpu_err("event creation"))?;
        let end = ctx.new_event(timing).map_err(gpu_err("event creation"))?;
        Ok(CudaWorkload {
            stream,
            start,
            end,
            launch,
            shape,
            bufs,
            next: 0,
            l2_flush,
            graphs: std::collections::HashMap::new(),
        })
    }

    /// The graph of `runs` back-to-back launches, captured on first use.
    fn graph(&mut self, runs: u64) -> Option<&CudaGraph> {
        if !self.graphs.contains_key(&runs) {
            let captured = self.capture(runs);
            self.graphs.insert(runs, captured);
        }
        self.graphs.get(&runs).and_then(|g| g.as_ref().ok())
    }

    /// Captures `runs` launches into a graph; `Err` says why it could not (kept for the
    /// result's notes).
    fn capture(&mut self, runs: u64) -> Result<CudaGraph, String> {
        self.stream
            .begin_capture(CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
            .map_err(|e| format!("begin capture: {e:?}"))?;
        let mut launched = Ok(());
        for _ in 0..runs {
            launched = self.launch_once();
            if launched.is_err() {
                break;
            }
        }
        // Capture must always be ended, or the stream stays in capture mode.
        let graph = self.stream.end_capture(CUgraphInstantiate_flags(0));
        launched.map_err(|e| format!("launch during capture: {e}"))?;
        let graph = graph
            .map_err(|e| format!("end capture: {e:?}"))?
            .ok_or("the capture recorded no work")?;
        graph.upload().map_err(|e| format!("graph upload: {e:?}"))?;
        Ok(graph)
    }

    fn launch_once(&mut self) -> Result<()> {
        let index = self.next;
        self.next = (self.next + 1) % self.bufs.len();
        match (&self.launch, &mut self.bufs[index], self.shape) {
            (Launch::MemcpyDtoD, Buffers::Copy { src, dst, .. }, _) => self
                .stream
                .memcpy_dtod(src, dst)
                .map_err(gpu_err("cuMemcpyDtoDAsync")),
            (
                Launch::MemcpyHtoD,
                Buffers::Transfer {
                    dev, host_ptr, len, ..
                },
                _,
            ) => {
                let (dst, _guard) = dev.device_ptr_mut(&self.stream);
                // SAFETY: `host_ptr` holds `len` pinned bytes that live as long as `self`;
                // the device buffer holds `len` bytes.
                unsafe {
                    let src = std::slice::from_raw_parts(*host_ptr, *len);
                    cudarc::driver::result::memcpy_htod_async(dst, src, self.stream.cu_stream())
                }
                .map_err(gpu_err("cuMemcpyHtoDAsync"))
            }
            (
                Launch::MemcpyDtoH,
                Buffers::Transfer {
                    dev, host_ptr, len, ..
                },
                _,
            ) => {
                let (src, _guard) = dev.device_ptr(&self.stream);
                // SAFETY: as above; nothing reads the host buffer until the stream is synced.
                unsafe {
                    let dst = std::slice::from_raw_parts_mut(*host_ptr, *len);
                    cudarc::driver::result::memcpy_dtoh_async(dst, src, self.stream.cu_stream())
                }
                .map_err(gpu_err("cuMemcpyDtoHAsync"))
            }
            (
                Launch::Kernel { func, cfg },
                Buffers::Copy { src, dst, .. },
                Shape::Copy { bytes },
            ) => {
                let mut args = self.stream.launch_builder(func);
                args.arg(&*src).arg(dst).arg(&bytes);
                // SAFETY: the signature is the one the copy op declares; the buffers hold
                // `bytes` bytes each.
                unsafe { args.launch(*cfg) }
                    .map(|_| ())
                    .map_err(gpu_err("kernel launch"))
            }
            (Launch::Kernel { func, cfg }, Buffers::Triad { b, c, a }, _) => {
                let n = a.len() as u64;
                let mut args = self.stream.launch_builder(func);
                args.arg(&*b)
                    .arg(&*c)
                    .arg(a)
                    .arg(&crate::suite::TRIAD_SCALAR)
                    .arg(&n);
                // SAFETY: the triad op's signature (b, c, a, scalar, n); each array holds n
                // f32.
                unsafe { args.launch(*cfg) }
                    .map(|_| ())
                    .map_err(gpu_err("kernel launch"))
            }
            (Launch::Kernel { func, cfg }, Buffers::Gemm { a, b, c }, Shape::Gemm { m, n, k }) => {
                let (m, n, k) = (int(m)?, int(n)?, int(k)?);
                let mut args = self.stream.launch_builder(func);
                args.arg(&*a).arg(&*b).arg(c).arg(&m).arg(&n).arg(&k);
                // SAFETY: the signature is the one the gemm op declares; buffers are sized
                // for the shape.
                unsafe { args.launch(*cfg) }
                    .map(|_| ())
                    .map_err(gpu_err("kernel launch"))
            }
            (
                Launch::Kernel { func, cfg },
                Buffers::GemmBf16 { a, b, c },
                Shape::Gemm { m, n, k },
            ) => {
                let (m, n, k) = (int(m)?, int(n)?, int(k)?);
                let mut args = self.stream.launch_builder(func);
                args.arg(&*a).arg(&*b).arg(c).arg(&m).arg(&n).arg(&k);
                // SAFETY: the gemm op's bf16 signature (bf16 A and B, f32 C); u16 has the
                // size and alignment of __nv_bfloat16; buffers are sized for the shape.
                unsafe { args.launch(*cfg) }
                    .map(|_| ())
                    .map_err(gpu_err("kernel launch"))
            }
            (
                launch @ (Launch::Kernel { .. } | Launch::Pipeline { .. }),
                Buffers::Attention {
                    q,
                    k,
                    v,
                    o,
                    scratch,
                },
                Shape::Attention {
                    batch,
                    heads,
                    sq,
                    sk,
                    head_dim,
                    causal,
                },
            ) => {
                let dims = [int(batch)?, int(heads)?, int(sq)?, int(sk)?, int(head_dim)?];
                let causal = i32::from(causal);
                let scale = 1.0 / (head_dim as f32).sqrt();
                let stream = &self.stream;
                let mut run = |func: &CudaFunction, cfg: &LaunchConfig, with_scratch: bool| {
                    let mut args = stream.launch_builder(func);
                    for t in [&*q, &*k, &*v] {
                        match t {
                            Tensor::F32(x) => args.arg(x),
                            Tensor::Half(x) => args.arg(x),
                        };
                    }
                    args.arg(&mut *o);
                    for d in &dims {
                        args.arg(d);
                    }
                    args.arg(&causal).arg(&scale);
                    if with_scratch {
                        args.arg(&mut *scratch);
                    }
                    // SAFETY: the attention op's signature (Q, K, V in the dtype, f32 O, five
                    // ints, causal, scale), plus the scratch for a pipeline's stages; buffers
                    // hold B·H·S·D elements each and the scratch `scratch_floats`.
                    unsafe { args.launch(*cfg) }
                        .map(|_| ())
                        .map_err(gpu_err("kernel launch"))
                };
                match launch {
                    Launch::Kernel { func, cfg } => run(func, cfg, false)?,
                    Launch::Pipeline { stages, .. } => {
                        for (func, cfg) in stages {
                            run(func, cfg, true)?;
                        }
                    }
                    _ => unreachable!("matched above"),
                }
                Ok(())
            }
            (
                Launch::Kernel { func, cfg },
                Buffers::Decode { q, k, v, o, work },
                Shape::Decode {
                    batch,
                    heads,
                    kv_heads,
                    seq,
                    head_dim,
                },
            ) => {
                let dims = [
                    int(batch)?,
                    int(heads)?,
                    int(kv_heads)?,
                    int(seq)?,
                    int(head_dim)?,
                ];
                let scale = 1.0 / (head_dim as f32).sqrt();
                let mut args = self.stream.launch_builder(func);
                for t in [&*q, &*k, &*v] {
                    match t {
                        Tensor::F32(x) => args.arg(x),
                        Tensor::Half(x) => args.arg(x),
                    };
                }
                args.arg(o);
                for d in &dims {
                    args.arg(d);
                }
                args.arg(&scale).arg(work);
                // SAFETY: the decode op's signature (Q, K, V in the dtype, f32 O, five ints,
                // scale, workspace); buffers are sized for the shape and the workspace for
                // this launch's grid (`workspace_floats`).
                unsafe { args.launch(*cfg) }
                    .map(|_| ())
                    .map_err(gpu_err("kernel launch"))
            }
            (Launch::Cublas(blas, dtype), Buffers::Gemm { a, b, c }, Shape::Gemm { m, n, k }) => {
                let (pa, _ga) = a.device_ptr(&self.stream);
                let (pb, _gb) = b.device_ptr(&self.stream);
                let (pc, _gc) = c.device_ptr_mut(&self.stream);
                cublas_gemm(blas, *dtype, (pa, pb, pc), (m, n, k))
            }
            (
                Launch::Cublas(blas, dtype),
                Buffers::GemmBf16 { a, b, c },
                Shape::Gemm { m, n, k },
            ) => {
                let (pa, _ga) = a.device_ptr(&self.stream);
                let (pb, _gb) = b.device_ptr(&self.stream);
                let (pc, _gc) = c.device_ptr_mut(&self.stream);
                cublas_gemm(blas, *dtype, (pa, pb, pc), (m, n, k))
            }
            _ => Err(Error::Usage("kernel and buffers disagree".into())),
        }
    }
}

/// cuBLAS's input type and compute type for a GEMM of `dtype` (always f32 accumulation, f32
/// C): strict FP32 for f32 (no TF32 shortcut), TF32 tensor cores for tf32.
fn cublas_types(dtype: Dtype) -> Result<(cudaDataType, cublasComputeType_t)> {
    use cublasComputeType_t::{CUBLAS_COMPUTE_32F, CUBLAS_COMPUTE_32F_FAST_TF32};
    Ok(match dtype {
        Dtype::F32 => (cudaDataType::CUDA_R_32F, CUBLAS_COMPUTE_32F),
        Dtype::Tf32 => (cudaDataType::CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32),
        Dtype::F16 => (cudaDataType::CUDA_R_16F, CUBLAS_COMPUTE_32F),
        Dtype::Bf16 => (cudaDataType::CUDA_R_16BF, CUBLAS_COMPUTE_32F),
        Dtype::U8 => {
            return Err(Error::Usage("cuBLAS GEMM has no u8 variant here".into()));
        }
    })
}

/// Row-major C = A·B with cuBLAS, which is column-major: the same memory read column-major
/// is Cᵀ = Bᵀ·Aᵀ, so B goes first with leading dimension N, A second with K, and C gets N.
fn cublas_gemm(
    blas: &CudaBlas,
    dtype: Dtype,
    (a, b, c): (u64, u64, u64),
    (m, n, k): (u64, u64, u64),
) -> Result<()> {
    let (input_type, compute) = cublas_types(dtype)?;
    let (m, n, k) = (int(m)?, int(n)?, int(k)?);
    let (alpha, beta) = (1.0_f32, 0.0_f32);
    // SAFETY: the pointers are live device buffers sized for the shape (A m×k, B k×n of
    // `input_type`, C m×n f32); alpha and beta are host f32 as CUBLAS_COMPUTE_32F expects.
    unsafe {
        cudarc::cublas::result::gemm_ex(
            *blas.handle(),
            cublasOperation_t::CUBLAS_OP_N,
            cublasOperation_t::CUBLAS_OP_N,
            n,
            m,
            k,
            (&alpha as *const f32).cast(),
            b as *const std::ffi::c_void,
            input_type,
            n,
            a as *const std::ffi::c_void,
            input_type,
            k,
            (&beta as *const f32).cast(),
            c as *mut std::ffi::c_void,
            cudaDataType::CUDA_R_32F,
            n,
            compute,
            cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
        )
    }
    .map_err(|e| Error::KernelUnavailable {
        kernel: "cublas".into(),
        reason: format!("cublasGemmEx failed: {e:?}"),
    })
}

impl Timed for CudaWorkload {
    /// Flushes L2 (outside the timed region), then times `runs` back-to-back launches
    /// between two events recorded on the launch stream. Only the first launch of a batch
    /// starts cold. Batches exist for kernels too short to time alone; they are replayed as
    /// a CUDA graph so the host enqueueing launches one by one is not what gets timed.
    fn time_batch(&mut self, runs: u64) -> Result<f64> {
        if runs == 0 {
            return Ok(0.0);
        }
        self.l2_flush
            .lock()
            .expect("flush buffer lock")
            .run(&self.stream)?;
        // Captured before the start event: capturing records nothing on the stream.
        let per_graph = runs.min(GRAPH_MAX_RUNS);
        let rest = runs % per_graph;
        let use_graph = runs >= GRAPH_MIN_RUNS
            && self.graph(per_graph).is_some()
            && (rest < GRAPH_MIN_RUNS || self.graph(rest).is_some());
        self.start
            .record(&self.stream)
            .map_err(gpu_err("event record"))?;
        if use_graph {
            let graph = self.graphs[&per_graph].as_ref().expect("captured above");
            for _ in 0..runs / per_graph {
                graph.launch().map_err(gpu_err("graph launch"))?;
            }
            if rest >= GRAPH_MIN_RUNS {
                let tail = self.graphs[&rest].as_ref().expect("captured above");
                tail.launch().map_err(gpu_err("graph launch"))?;
            } else if rest == 1 {
                self.launch_once()?;
            }
        } else {
            for _ in 0..runs {
                self.launch_once()?;
            }
        }
        self.end
            .record(&self.stream)
            .map_err(gpu_err("event record"))?;
        self.end.synchronize().map_err(gpu_err("synchronize"))?;
        let ms = self
            .start
            .elapsed_ms(&self.end)
            .map_err(gpu_err("event timing"))?;
        Ok(f64::from(ms) / 1e3)
    }
}

impl Drop for CudaWorkload {
    /// Waits for the stream before the buffers go: pinned host memory is freed at once, not
    /// in stream order, and a failed batch may have left copies or graphs running.
    fn drop(&mut self) {
        let _ = self.stream.synchronize();
    }
}

impl Workload for CudaWorkload {
    fn timing_notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self
            .l2_flush
            .lock()
            .map(|f| f.note())
            .ok()
            .flatten()
            .into_iter()
            .collect();
        if self.bufs.len() > 1 {
            notes.push(format!(
                "buffers rotated over {} copies, so each launch of a batch starts with its data out of L2",
                self.bufs.len()
            ));
        }
        let mut failed: Vec<(u64, &String)> = self
            .graphs
            .iter()
            .filter_map(|(runs, g)| g.as_ref().err().map(|why| (*runs, why)))
            .collect();
        failed.sort_unstable();
        if let Some((_, why)) = failed.first() {
            let runs: Vec<u64> = failed.iter().map(|(r, _)| *r).collect();
            notes.push(format!(
                "CUDA graph capture failed for batches of {runs:?} runs ({why}): those were launched one by one, host launch overhead included"
            ));
        }
        notes
    }

    fn run_checked(&mut self) -> Result<Output> {
        // Every copy of the buffers is poisoned, so one a launch never writes cannot pass
        // the check after timing; the first is launched on and read back.
        for i in 0..self.bufs.len() {
            self.poison(i)?;
        }
        self.next = 0;
        self.launch_once()?;
        let out = self.read_output(0)?;
        self.stream.synchronize().map_err(gpu_err("synchronize"))?;
        Ok(out)
    }

    fn timed_outputs(&mut self) -> Result<Vec<Output>> {
        self.stream.synchronize().map_err(gpu_err("synchronize"))?;
        (0..self.bufs.len()).map(|i| self.read_output(i)).collect()
    }
}

impl CudaWorkload {
    /// Fills copy `i`'s output with what no correct launch leaves there: the complement of
    /// the source for copies, NaN otherwise.
    fn poison(&mut self, i: usize) -> Result<()> {
        match &mut self.bufs[i] {
            Buffers::Transfer {
                dev,
                host_ptr,
                len,
                src,
                ..
            } => {
                let poison: Vec<u8> = src.iter().map(|b| !b).collect();
                if matches!(self.launch, Launch::MemcpyDtoH) {
                    self.stream.synchronize().map_err(gpu_err("synchronize"))?;
                    // SAFETY: `len` pinned bytes owned by this workload; the stream is idle.
                    unsafe { std::slice::from_raw_parts_mut(*host_ptr, *len) }
                        .copy_from_slice(&poison);
                } else {
                    self.stream
                        .memcpy_htod(&poison, dev)
                        .map_err(gpu_err("poison"))?;
                }
            }
            Buffers::Copy { dst, host_src, .. } => {
                let poison: Vec<u8> = host_src.iter().map(|b| !b).collect();
                self.stream
                    .memcpy_htod(&poison, dst)
                    .map_err(gpu_err("poison"))?;
            }
            Buffers::Gemm { c, .. }
            | Buffers::GemmBf16 { c, .. }
            | Buffers::Attention { o: c, .. }
            | Buffers::Decode { o: c, .. }
            | Buffers::Triad { a: c, .. } => {
                let nan = vec![f32::NAN; c.len()];
                self.stream
                    .memcpy_htod(&nan, c)
                    .map_err(gpu_err("poison"))?;
            }
        }
        Ok(())
    }

    /// Copy `i`'s output, read back after the work queued on the stream.
    fn read_output(&self, i: usize) -> Result<Output> {
        Ok(match &self.bufs[i] {
            Buffers::Transfer {
                dev, host_ptr, len, ..
            } => {
                if matches!(self.launch, Launch::MemcpyDtoH) {
                    self.stream.synchronize().map_err(gpu_err("synchronize"))?;
                    // SAFETY: `len` pinned bytes owned by this workload; the transfers into
                    // it have completed.
                    Output::Bytes(unsafe { std::slice::from_raw_parts(*host_ptr, *len) }.to_vec())
                } else {
                    Output::Bytes(self.stream.clone_dtoh(dev).map_err(gpu_err("download"))?)
                }
            }
            Buffers::Copy { dst, .. } => {
                Output::Bytes(self.stream.clone_dtoh(dst).map_err(gpu_err("download"))?)
            }
            Buffers::Gemm { c, .. }
            | Buffers::GemmBf16 { c, .. }
            | Buffers::Attention { o: c, .. }
            | Buffers::Decode { o: c, .. }
            | Buffers::Triad { a: c, .. } => {
                Output::F32(self.stream.clone_dtoh(c).map_err(gpu_err("download"))?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_buffers_are_rotated_over_twice_the_l2() {
        let l2 = 50 << 20;
        // A 16 MiB copy (32 MiB of buffers) takes 4 copies to span 100 MiB.
        assert_eq!(replicas(32 << 20, l2), 4);
        // Buffers already twice the L2, or more: no copies.
        assert_eq!(replicas(100 << 20, l2), 1);
        assert_eq!(replicas(1 << 30, l2), 1);
        // Tiny buffers: capped.
        assert_eq!(replicas(4096, l2), MAX_REPLICAS as usize);
        assert_eq!(replicas(0, l2), 1);
    }

    #[test]
    fn bf16_bits_are_exact_for_bf16_inputs() {
        // Inputs are generated already rounded to bf16: the bits must round-trip exactly.
        let values = [0.0_f32, 1.0, -0.5, 0.333_984_38, -0.996_093_75];
        let bits = bf16_bits(&values);
        assert_eq!(bits[1], 0x3f80);
        assert_eq!(bits[2], 0xbf00);
        for (v, b) in values.iter().zip(&bits) {
            assert_eq!(half::bf16::from_bits(*b).to_f32(), *v);
        }
    }
}
