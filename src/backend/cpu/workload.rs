//! A CPU kernel bound to page-aligned copies of a benchmark's buffers, timed with the
//! monotonic clock.

use std::ffi::{c_int, c_long};
use std::sync::Arc;
use std::time::Instant;

use super::buffer::AlignedBuf;
use super::library::{KernelFn, LoadedKernel};
use crate::backend::Workload;
use crate::error::{Error, Result};
use crate::measure::Timed;
use crate::suite::{Benchmark, Inputs, Output, Shape};

/// The kernel's buffers, page-aligned copies of the inputs plus the output.
enum Buffers {
    Copy {
        src: AlignedBuf<u8>,
        dst: AlignedBuf<u8>,
    },
    Gemm {
        a: AlignedBuf<f32>,
        b: AlignedBuf<f32>,
        c: AlignedBuf<f32>,
    },
    /// The triad's arrays: a = b + s·c.
    Triad {
        b: AlignedBuf<f32>,
        c: AlignedBuf<f32>,
        a: AlignedBuf<f32>,
    },
    /// Prefill and decode attention alike (their shapes say how to read them).
    Attention {
        q: AlignedBuf<f32>,
        k: AlignedBuf<f32>,
        v: AlignedBuf<f32>,
        o: AlignedBuf<f32>,
    },
}

pub struct CpuWorkload {
    kernel: Arc<LoadedKernel>,
    shape: Shape,
    bufs: Buffers,
    /// Threads each launch runs (OpenMP kernels use every CPU), for the contention check.
    threads: usize,
}

impl CpuWorkload {
    pub fn new(
        kernel: Arc<LoadedKernel>,
        bench: &Benchmark,
        inputs: &Inputs,
        threads: usize,
    ) -> Result<Self> {
        let bufs = match (bench.shape, inputs, kernel.func) {
            (Shape::Copy { bytes }, Inputs::Copy { src }, KernelFn::Copy(_)) => Buffers::Copy {
                src: AlignedBuf::from_slice(src),
                dst: AlignedBuf::zeroed(bytes as usize),
            },
            (Shape::Triad { .. }, Inputs::Triad { b, c }, KernelFn::Triad(_)) => Buffers::Triad {
                b: AlignedBuf::from_slice(b),
                c: AlignedBuf::from_slice(c),
                a: AlignedBuf::zeroed(b.len()),
            },
            (Shape::Gemm { m, n, .. }, Inputs::Gemm { a, b }, KernelFn::Gemm(_)) => Buffers::Gemm {
                a: AlignedBuf::from_slice(a),
                b: AlignedBuf::from_slice(b),
                c: AlignedBuf::zeroed((m * n) as usize),
            },
            // Prefill and decode alike: the output is as long as Q.
            (
                Shape::Attention { .. } | Shape::Decode { .. },
                Inputs::Attention { q, k, v },
                func @ (KernelFn::Attention(_) | KernelFn::Decode(_)),
            ) if matches!(bench.shape, Shape::Decode { .. })
                == matches!(func, KernelFn::Decode(_)) =>
            {
                Buffers::Attention {
                    q: AlignedBuf::from_slice(q),
                    k: AlignedBuf::from_slice(k),
                    v: AlignedBuf::from_slice(v),
                    o: AlignedBuf::zeroed(q.len()),
                }
            }
            _ => {
                return Err(Error::Usage(format!(
                    "kernel of {} does not implement this benchmark's operation",
                    bench.id
                )));
            }
        };
        Ok(CpuWorkload {
            kernel,
            shape: bench.shape,
            bufs,
            threads,
        })
    }

    /// Runs `kernel` (same op, another revision) on these buffers from now on.
    pub fn use_kernel(&mut self, kernel: Arc<LoadedKernel>, threads: usize) {
        self.kernel = kernel;
        self.threads = threads;
    }

    fn launch(&mut self) {
        // SAFETY: every buffer was allocated for exactly this shape in `new`, and the
        // kernel's signature is the one its op declares.
        unsafe {
            match (self.kernel.func, &mut self.bufs, self.shape) {
                (KernelFn::Copy(f), Buffers::Copy { src, dst }, _) => {
                    f(src.as_ptr(), dst.as_mut_ptr(), src.len())
                }
                (KernelFn::Triad(f), Buffers::Triad { b, c, a }, _) => f(
                    b.as_ptr(),
                    c.as_ptr(),
                    a.as_mut_ptr(),
                    crate::suite::TRIAD_SCALAR,
                    a.len(),
                ),
                (KernelFn::Gemm(f), Buffers::Gemm { a, b, c }, Shape::Gemm { m, n, k }) => f(
                    a.as_ptr(),
                    b.as_ptr(),
                    c.as_mut_ptr(),
                    m as c_long,
                    n as c_long,
                    k as c_long,
                ),
                (
                    KernelFn::Attention(f),
                    Buffers::Attention { q, k, v, o },
                    Shape::Attention {
                        batch,
                        heads,
                        sq,
                        sk,
                        head_dim,
                        causal,
                    },
                ) => f(
                    q.as_ptr(),
                    k.as_ptr(),
                    v.as_ptr(),
                    o.as_mut_ptr(),
                    batch as c_long,
                    heads as c_long,
                    sq as c_long,
                    sk as c_long,
                    head_dim as c_long,
                    c_int::from(causal),
                    1.0 / (head_dim as f32).sqrt(),
                ),
                (
                    KernelFn::Decode(f),
                    Buffers::Attention { q, k, v, o },
                    Shape::Decode {
                        batch,
                        heads,
                        kv_heads,
                        seq,
                        head_dim,
                    },
                ) => f(
                    q.as_ptr(),
                    k.as_ptr(),
                    v.as_ptr(),
                    o.as_mut_ptr(),
                    batch as c_long,
                    heads as c_long,
                    kv_heads as c_long,
                    seq as c_long,
                    head_dim as c_long,
                    1.0 / (head_dim as f32).sqrt(),
                ),
                _ => unreachable!("buffers were matched to the kernel in CpuWorkload::new"),
            }
        }
    }
}

impl Timed for CpuWorkload {
    fn time_batch(&mut self, runs: u64) -> Result<f64> {
        let start = Instant::now();
        for _ in 0..runs {
            self.launch();
        }
        Ok(start.elapsed().as_secs_f64())
    }

    fn host_threads(&self) -> Option<usize> {
        Some(self.threads)
    }
}

impl Workload for CpuWorkload {
    fn run_checked(&mut self) -> Result<Output> {
        match &mut self.bufs {
            // The complement of the source differs from it in every byte.
            Buffers::Copy { src, dst } => {
                for (d, s) in dst.as_mut_slice().iter_mut().zip(src.as_slice()) {
                    *d = !*s;
                }
            }
            Buffers::Gemm { c: out, .. }
            | Buffers::Attention { o: out, .. }
            | Buffers::Triad { a: out, .. } => out.as_mut_slice().fill(f32::NAN),
        }
        self.launch();
        Ok(self.output())
    }

    fn timed_outputs(&mut self) -> Result<Vec<Output>> {
        Ok(vec![self.output()])
    }
}

impl CpuWorkload {
    fn output(&self) -> Output {
        match &self.bufs {
            Buffers::Copy { dst, .. } => Output::Bytes(dst.as_slice().to_vec()),
            Buffers::Gemm { c: out, .. }
            | Buffers::Attention { o: out, .. }
            | Buffers::Triad { a: out, .. } => Output::F32(out.as_slice().to_vec()),
        }
    }
}
