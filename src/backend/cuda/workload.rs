//! A benchmark's launch plan (`crate::launch`) bound to device buffers, launched on one
//! stream and timed with events recorded on it.
//!
//! Status: compiled, not yet run on a GPU.

use std::sync::Arc;

use cudarc::cublas::CudaBlas;
use cudarc::cublas::sys::{cublasComputeType_t, cublasGemmAlgo_t, cublasOperation_t, cudaDataType};
use cudarc::driver::sys::{CUevent_flags, CUgraphInstantiate_flags, CUstreamCaptureMode};
use cudarc::driver::{
    CudaEvent, CudaFunction, CudaGraph, CudaSlice, CudaStream, DevicePtr, DevicePtrMut,
    LaunchConfig, PinnedHostSlice, PushKernelArg, SyncOnDrop,
};

use crate::backend::Workload;
use crate::error::{Error, Result};
use crate::launch::{
    self, Arg, Elem, Init, LaunchPlan, Place, Poison, Scalar, Step, Values, VendorCall, Work,
};
use crate::measure::Timed;
use crate::suite::{Dtype, Inputs, Output};

fn gpu_err(what: &'static str) -> impl Fn(cudarc::driver::DriverError) -> Error {
    move |e| Error::KernelUnavailable {
        kernel: what.into(),
        reason: format!("CUDA error during {what}: {e:?}"),
    }
}

fn mismatch(what: &str) -> Error {
    Error::Usage(format!("launch plan and buffers disagree: {what}"))
}

/// One buffer of the plan, as allocated.
enum Buffer {
    U8(CudaSlice<u8>),
    /// bf16 or f16 bit patterns (a kernel reads `__nv_bfloat16` or `__half`).
    U16(CudaSlice<u16>),
    F32(CudaSlice<f32>),
    /// A transfer's host side: plain pinned memory (not write-combined, so the host reads a
    /// D2H result back at full speed); `ptr` is its address, taken once, so no launch asks
    /// cudarc to synchronise it (which a graph capture would refuse).
    Pinned {
        _host: PinnedHostSlice<u8>,
        ptr: *mut u8,
        len: usize,
    },
}

impl Buffer {
    /// The device address, for a library call.
    fn device_ptr<'a>(&'a self, stream: &'a CudaStream) -> Result<(u64, SyncOnDrop<'a>)> {
        Ok(match self {
            Buffer::U8(x) => x.device_ptr(stream),
            Buffer::U16(x) => x.device_ptr(stream),
            Buffer::F32(x) => x.device_ptr(stream),
            Buffer::Pinned { .. } => return Err(mismatch("a device pointer to host memory")),
        })
    }
}

/// Allocates `spec` and fills it: its input encoded in its element type, else zeros.
fn make_buffer(stream: &Arc<CudaStream>, spec: &launch::Buffer, inputs: &Inputs) -> Result<Buffer> {
    let count = spec.count as usize;
    let values = match spec.init {
        Init::Input(source) => {
            let values = source.values(inputs).ok_or_else(|| {
                mismatch(&format!("the benchmark has no input {}", source.name()))
            })?;
            let len = match values {
                Values::Bytes(b) => b.len(),
                Values::F32(x) => x.len(),
            };
            if len != count {
                return Err(mismatch(&format!(
                    "input {} has {len} elements, buffer {} {count}",
                    source.name(),
                    spec.name
                )));
            }
            Some(values)
        }
        Init::Zeroed | Init::Output(_) => None,
    };
    let upload = gpu_err("upload");
    let alloc = gpu_err("allocation");
    Ok(match (spec.place, spec.elem, values) {
        (Place::PinnedHost, Elem::U8, values) => {
            // SAFETY: plain page-locked memory of `count` bytes; it is written below before
            // any transfer reads it.
            let mut host = unsafe { stream.context().alloc_pinned_with_flags::<u8>(count, 0) }
                .map_err(gpu_err("pinned host allocation"))?;
            let ptr = host
                .as_mut_slice()
                .map_err(gpu_err("pinned host allocation"))?
                .as_mut_ptr();
            // SAFETY: `ptr` points at `count` bytes owned by `host`, kept alive with it.
            let bytes = unsafe { std::slice::from_raw_parts_mut(ptr, count) };
            match values {
                Some(Values::Bytes(src)) => bytes.copy_from_slice(src),
                _ => bytes.fill(0),
            }
            Buffer::Pinned {
                _host: host,
                ptr,
                len: count,
            }
        }
        (Place::Device, Elem::U8, Some(Values::Bytes(src))) => {
            Buffer::U8(stream.clone_htod(src).map_err(upload)?)
        }
        (Place::Device, Elem::F32, Some(Values::F32(x))) => {
            Buffer::F32(stream.clone_htod(x).map_err(upload)?)
        }
        (Place::Device, Elem::Bf16 | Elem::F16, Some(Values::F32(x))) => Buffer::U16(
            stream
                .clone_htod(&launch::half_bits(x, spec.elem))
                .map_err(upload)?,
        ),
        (Place::Device, Elem::U8, None) => Buffer::U8(stream.alloc_zeros(count).map_err(alloc)?),
        (Place::Device, Elem::F32, None) => Buffer::F32(stream.alloc_zeros(count).map_err(alloc)?),
        (Place::Device, Elem::Bf16 | Elem::F16, None) => {
            Buffer::U16(stream.alloc_zeros(count).map_err(alloc)?)
        }
        _ => {
            return Err(mismatch(&format!(
                "buffer {} ({} in {:?}) cannot hold its input",
                spec.name,
                spec.elem.name(),
                spec.place
            )));
        }
    })
}

pub struct CudaWorkload<'a> {
    stream: Arc<CudaStream>,
    /// Created once, timing enabled: creating events inside the timed window would put host
    /// work between the GPU's launches.
    start: CudaEvent,
    end: CudaEvent,
    plan: LaunchPlan,
    /// The compiled entry of each of the plan's steps (none for a library call).
    functions: Vec<CudaFunction>,
    /// The cuBLAS handle of a `cublas-gemm` plan.
    blas: Option<Arc<CudaBlas>>,
    /// What the buffers were filled from: a copy's poison is the complement of its source.
    inputs: &'a Inputs,
    /// The plan's output buffer, read back for verification.
    output: usize,
    /// Copies of the plan's buffers, each launch taking the next (see `replicas`); the
    /// first is the one verified.
    bufs: Vec<Vec<Buffer>>,
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

impl<'a> CudaWorkload<'a> {
    /// Allocates `replicas` copies of `plan`'s buffers from `inputs`; `functions` are the
    /// compiled entries of its steps, `blas` the handle a cuBLAS call needs.
    pub fn new(
        stream: Arc<CudaStream>,
        plan: LaunchPlan,
        functions: Vec<CudaFunction>,
        blas: Option<Arc<CudaBlas>>,
        inputs: &'a Inputs,
        l2_flush: Arc<std::sync::Mutex<super::l2::L2Flush>>,
        replicas: usize,
    ) -> Result<Self> {
        let &[output] = plan.outputs().as_slice() else {
            return Err(mismatch("a plan without exactly one output"));
        };
        match &plan.work {
            Work::Kernels(steps) if steps.len() != functions.len() => {
                return Err(mismatch("one compiled entry per step"));
            }
            Work::Vendor(VendorCall::CublasGemm { .. }) if blas.is_none() => {
                return Err(mismatch("a cuBLAS call without a handle"));
            }
            _ => {}
        }
        let bufs = (0..replicas.max(1))
            .map(|_| {
                plan.buffers
                    .iter()
                    .map(|b| make_buffer(&stream, b, inputs))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let timing = Some(CUevent_flags::CU_EVENT_DEFAULT);
        let ctx = stream.context().clone();
        let start = ctx.new_event(timing).map_err(gpu_err("event creation"))?;
        let end = ctx.new_event(timing).map_err(gpu_err("event creation"))?;
        Ok(CudaWorkload {
            stream,
            start,
            end,
            plan,
            functions,
            blas,
            inputs,
            output,
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

    /// One run of the plan on the next copy of the buffers.
    fn launch_once(&mut self) -> Result<()> {
        let index = self.next;
        self.next = (self.next + 1) % self.bufs.len();
        let bufs = &mut self.bufs[index];
        match &self.plan.work {
            Work::Kernels(steps) => {
                for (step, func) in steps.iter().zip(&self.functions) {
                    launch_step(&self.stream, func, step, bufs)?;
                }
                Ok(())
            }
            Work::Vendor(call) => {
                vendor_call(&self.stream, &self.plan, self.blas.as_deref(), *call, bufs)
            }
        }
    }
}

/// Launches one step with its arguments in plan order.
fn launch_step(
    stream: &Arc<CudaStream>,
    func: &CudaFunction,
    step: &Step,
    bufs: &[Buffer],
) -> Result<()> {
    let mut args = stream.launch_builder(func);
    for arg in &step.args {
        match arg {
            // Outputs too are passed as `&`: with event tracking off (device.rs) cudarc
            // pushes the same device pointer for `&` and `&mut`.
            Arg::Buffer(i) => match &bufs[*i] {
                Buffer::U8(x) => args.arg(x),
                Buffer::U16(x) => args.arg(x),
                Buffer::F32(x) => args.arg(x),
                Buffer::Pinned { .. } => {
                    return Err(mismatch("a kernel argument in host memory"));
                }
            },
            Arg::Scalar { value, .. } => match value {
                Scalar::I32(v) => args.arg(v),
                Scalar::U64(v) => args.arg(v),
                Scalar::F32(v) => args.arg(v),
            },
        };
    }
    let [gx, gy, gz] = step.grid;
    let [bx, by, bz] = step.block;
    let cfg = LaunchConfig {
        grid_dim: (gx, gy, gz),
        block_dim: (bx, by, bz),
        shared_mem_bytes: step.dynamic_shared_bytes,
    };
    // SAFETY: the plan's arguments are the op's signature in order (src/launch/ops.rs,
    // kernels/cuda/manifest.toml), each buffer sized by the plan for the shape; u16 has the
    // size and alignment of __nv_bfloat16 and __half.
    unsafe { args.launch(cfg) }
        .map(|_| ())
        .map_err(gpu_err("kernel launch"))
}

/// Runs a library call on the plan's buffers "src" and "dst", or "A", "B" and "C".
fn vendor_call(
    stream: &Arc<CudaStream>,
    plan: &LaunchPlan,
    blas: Option<&CudaBlas>,
    call: VendorCall,
    bufs: &mut [Buffer],
) -> Result<()> {
    let index = |name: &str| {
        plan.buffer(name)
            .ok_or_else(|| mismatch(&format!("no buffer {name}")))
    };
    match call {
        VendorCall::MemcpyDtoD => {
            let Ok([Buffer::U8(src), Buffer::U8(dst)]) =
                bufs.get_disjoint_mut([index("src")?, index("dst")?])
            else {
                return Err(mismatch("a device copy between device byte buffers"));
            };
            stream
                .memcpy_dtod(&*src, dst)
                .map_err(gpu_err("cuMemcpyDtoDAsync"))
        }
        VendorCall::MemcpyHtoD => {
            let Ok([Buffer::Pinned { ptr, len, .. }, Buffer::U8(dev)]) =
                bufs.get_disjoint_mut([index("src")?, index("dst")?])
            else {
                return Err(mismatch("a host-to-device copy from pinned memory"));
            };
            let (dst, _guard) = dev.device_ptr_mut(stream);
            // SAFETY: `ptr` holds `len` pinned bytes that live as long as the workload; the
            // device buffer holds as many (the plan sizes both by the shape).
            unsafe {
                let src = std::slice::from_raw_parts(*ptr, *len);
                cudarc::driver::result::memcpy_htod_async(dst, src, stream.cu_stream())
            }
            .map_err(gpu_err("cuMemcpyHtoDAsync"))
        }
        VendorCall::MemcpyDtoH => {
            let Ok([Buffer::U8(dev), Buffer::Pinned { ptr, len, .. }]) =
                bufs.get_disjoint_mut([index("src")?, index("dst")?])
            else {
                return Err(mismatch("a device-to-host copy into pinned memory"));
            };
            let (src, _guard) = dev.device_ptr(stream);
            // SAFETY: as above; nothing reads the host buffer until the stream is synced.
            unsafe {
                let dst = std::slice::from_raw_parts_mut(*ptr, *len);
                cudarc::driver::result::memcpy_dtoh_async(dst, src, stream.cu_stream())
            }
            .map_err(gpu_err("cuMemcpyDtoHAsync"))
        }
        VendorCall::CublasGemm { dtype, m, n, k } => {
            let blas = blas.ok_or_else(|| mismatch("a cuBLAS call without a handle"))?;
            // C through `device_ptr` too: with event tracking off it is the same pointer.
            let (a, b, c) = (index("A")?, index("B")?, index("C")?);
            let (pa, _ga) = bufs[a].device_ptr(stream)?;
            let (pb, _gb) = bufs[b].device_ptr(stream)?;
            let (pc, _gc) = bufs[c].device_ptr(stream)?;
            cublas_gemm(blas, dtype, (pa, pb, pc), (m, n, k))
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
    (m, n, k): (i32, i32, i32),
) -> Result<()> {
    let (input_type, compute) = cublas_types(dtype)?;
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

impl Timed for CudaWorkload<'_> {
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

impl Drop for CudaWorkload<'_> {
    /// Waits for the stream before the buffers go: pinned host memory is freed at once, not
    /// in stream order, and a failed batch may have left copies or graphs running.
    fn drop(&mut self) {
        let _ = self.stream.synchronize();
    }
}

impl Workload for CudaWorkload<'_> {
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

impl CudaWorkload<'_> {
    /// Fills copy `i`'s output with the plan's poison: what no correct launch leaves there.
    fn poison(&mut self, i: usize) -> Result<()> {
        let Init::Output(poison) = self.plan.buffers[self.output].init else {
            return Err(mismatch("an output without poison"));
        };
        let complement = match poison {
            Poison::Nan => None,
            Poison::ComplementOf(source) => match source.values(self.inputs) {
                Some(Values::Bytes(src)) => Some(src.iter().map(|b| !b).collect::<Vec<u8>>()),
                _ => return Err(mismatch("a complement of an input that is not bytes")),
            },
        };
        match (&mut self.bufs[i][self.output], complement) {
            (Buffer::F32(c), None) => {
                let nan = vec![f32::NAN; c.len()];
                self.stream
                    .memcpy_htod(&nan, c)
                    .map_err(gpu_err("poison"))?;
            }
            (Buffer::U8(dst), Some(bytes)) => {
                self.stream
                    .memcpy_htod(&bytes, dst)
                    .map_err(gpu_err("poison"))?;
            }
            (Buffer::Pinned { ptr, len, .. }, Some(bytes)) => {
                self.stream.synchronize().map_err(gpu_err("synchronize"))?;
                // SAFETY: `len` pinned bytes owned by this workload; the stream is idle.
                unsafe { std::slice::from_raw_parts_mut(*ptr, *len) }.copy_from_slice(&bytes);
            }
            _ => return Err(mismatch("a poison that does not fit the output")),
        }
        Ok(())
    }

    /// Copy `i`'s output, read back after the work queued on the stream.
    fn read_output(&self, i: usize) -> Result<Output> {
        Ok(match &self.bufs[i][self.output] {
            Buffer::Pinned { ptr, len, .. } => {
                self.stream.synchronize().map_err(gpu_err("synchronize"))?;
                // SAFETY: `len` pinned bytes owned by this workload; the transfers into it
                // have completed.
                Output::Bytes(unsafe { std::slice::from_raw_parts(*ptr, *len) }.to_vec())
            }
            Buffer::U8(x) => Output::Bytes(self.stream.clone_dtoh(x).map_err(gpu_err("download"))?),
            Buffer::F32(x) => Output::F32(self.stream.clone_dtoh(x).map_err(gpu_err("download"))?),
            Buffer::U16(_) => return Err(mismatch("a half-precision output")),
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
}
