//! A CPU kernel bound to a benchmark's buffers, timed with the monotonic clock.

use std::ffi::{c_int, c_long};
use std::sync::Arc;
use std::time::Instant;

use super::library::{KernelFn, LoadedKernel};
use crate::backend::Workload;
use crate::error::{Error, Result};
use crate::measure::Timed;
use crate::suite::{Benchmark, Inputs, Output, Shape};

enum OutputBuf {
    Bytes(Vec<u8>),
    F32(Vec<f32>),
}

pub struct CpuWorkload<'a> {
    kernel: Arc<LoadedKernel>,
    shape: Shape,
    inputs: &'a Inputs,
    out: OutputBuf,
}

impl<'a> CpuWorkload<'a> {
    pub fn new(kernel: Arc<LoadedKernel>, bench: &Benchmark, inputs: &'a Inputs) -> Result<Self> {
        let out = match (bench.shape, inputs, kernel.func) {
            (Shape::Copy { bytes }, Inputs::Copy { .. }, KernelFn::Copy(_)) => {
                OutputBuf::Bytes(vec![0; bytes as usize])
            }
            (Shape::Gemm { m, n, .. }, Inputs::Gemm { .. }, KernelFn::Gemm(_)) => {
                OutputBuf::F32(vec![0.0; (m * n) as usize])
            }
            (
                Shape::Attention {
                    batch,
                    heads,
                    sq,
                    head_dim,
                    ..
                },
                Inputs::Attention { .. },
                KernelFn::Attention(_),
            ) => OutputBuf::F32(vec![0.0; (batch * heads * sq * head_dim) as usize]),
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
            inputs,
            out,
        })
    }

    fn launch(&mut self) {
        // SAFETY: every buffer was allocated for exactly this shape in `new` (inputs by
        // `generate_inputs`), and the kernel's signature is the one its op declares.
        unsafe {
            match (self.kernel.func, self.inputs, &mut self.out, self.shape) {
                (KernelFn::Copy(f), Inputs::Copy { src }, OutputBuf::Bytes(dst), _) => {
                    f(src.as_ptr(), dst.as_mut_ptr(), src.len())
                }
                (
                    KernelFn::Gemm(f),
                    Inputs::Gemm { a, b },
                    OutputBuf::F32(c),
                    Shape::Gemm { m, n, k },
                ) => f(
                    a.as_ptr(),
                    b.as_ptr(),
                    c.as_mut_ptr(),
                    m as c_long,
                    n as c_long,
                    k as c_long,
                ),
                (
                    KernelFn::Attention(f),
                    Inputs::Attention { q, k, v },
                    OutputBuf::F32(o),
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
                _ => unreachable!("buffers were matched to the kernel in CpuWorkload::new"),
            }
        }
    }
}

impl Timed for CpuWorkload<'_> {
    fn time_batch(&mut self, runs: u64) -> Result<f64> {
        let start = Instant::now();
        for _ in 0..runs {
            self.launch();
        }
        Ok(start.elapsed().as_secs_f64())
    }
}

impl Workload for CpuWorkload<'_> {
    fn run_checked(&mut self) -> Result<Output> {
        match (&mut self.out, self.inputs) {
            // The complement of the source differs from it in every byte.
            (OutputBuf::Bytes(dst), Inputs::Copy { src }) => {
                for (d, s) in dst.iter_mut().zip(src) {
                    *d = !*s;
                }
            }
            (OutputBuf::F32(out), _) => out.fill(f32::NAN),
            _ => unreachable!("output buffer matches the inputs"),
        }
        self.launch();
        Ok(match &self.out {
            OutputBuf::Bytes(b) => Output::Bytes(b.clone()),
            OutputBuf::F32(v) => Output::F32(v.clone()),
        })
    }
}
