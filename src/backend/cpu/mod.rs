//! The CPU backend, always available: kernels from `kernels/cpu/` compiled by the system C
//! compiler at run time. (The f64 references that verify every kernel are the suite's:
//! `suite::reference`.)

mod buffer;
mod compiler;
mod host;
mod library;
mod workload;

pub use buffer::AlignedBuf;
pub use compiler::{CCompiler, cache_dir, private_cache_dir};
pub use host::{available_memory, cpu_flags, host_hardware};

use std::collections::HashMap;
use std::sync::Arc;

use super::{Backend, Workload};
use crate::error::{Error, Result};
use crate::kernels::{self, KernelSpec, KernelTree};
use crate::store::Hardware;
use crate::suite::{Benchmark, Inputs};
use library::LoadedKernel;

pub struct CpuBackend {
    compiler: CCompiler,
    /// The private kernel cache ([`private_cache_dir`]).
    cache: std::path::PathBuf,
    /// CPU feature flags, part of the kernel cache key.
    cpu_flags: String,
    kernels: Vec<KernelSpec>,
    hardware: Hardware,
    /// Compiled kernels by name, or why they could not be built (compiled at most once).
    loaded: HashMap<String, Result<Arc<LoadedKernel>, String>>,
}

impl CpuBackend {
    /// Reads the CPU manifest of `tree` and finds the C compiler.
    pub fn new(tree: &KernelTree) -> Result<Self> {
        let kernels = kernels::load_manifest(tree, "cpu")?;
        let compiler = CCompiler::detect()?;
        let hardware = host_hardware(Some(compiler.identity()));
        // Fail early if compiled kernels cannot be cached, or not privately.
        let cache = private_cache_dir()?;
        Ok(CpuBackend {
            compiler,
            cache,
            cpu_flags: cpu_flags(),
            kernels,
            hardware,
            loaded: HashMap::new(),
        })
    }

    fn kernel(&mut self, bench: &Benchmark) -> Result<Arc<LoadedKernel>> {
        let spec = KernelSpec::find(&self.kernels, bench.family(), &bench.kernel)
            .ok_or_else(|| Error::Usage(format!("no CPU kernel for benchmark {}", bench.id)))?;
        let key = format!("{}/{}", bench.family().name(), spec.name);
        if !self.loaded.contains_key(&key) {
            let built = self.load(spec).map(Arc::new).map_err(|e| e.to_string());
            self.loaded.insert(key.clone(), built);
        }
        match &self.loaded[&key] {
            Ok(kernel) => Ok(Arc::clone(kernel)),
            Err(reason) => Err(Error::KernelUnavailable {
                kernel: key,
                reason: reason.clone(),
            }),
        }
    }
}

impl CpuBackend {
    /// Builds (or finds in the cache) and loads `spec`. A cached library that fails to load
    /// (a truncated file whose hash was recorded, say) is deleted and rebuilt once, so one
    /// bad cache entry never fails every later run.
    fn load(&self, spec: &KernelSpec) -> Result<LoadedKernel> {
        let lib = self.compiler.build(&self.cache, spec, &self.cpu_flags)?;
        let cached = lib.cached.then(|| lib.path.clone());
        match (LoadedKernel::load(lib, spec), cached) {
            (Ok(kernel), _) => Ok(kernel),
            (Err(e), Some(path)) if e.unloadable => {
                eprintln!(
                    "warning: cached kernel {} failed to load ({}): deleting it and rebuilding",
                    path.display(),
                    e.error
                );
                let lib = self.compiler.rebuild(&self.cache, spec, &self.cpu_flags)?;
                Ok(LoadedKernel::load(lib, spec)?)
            }
            // A missing entry is the kernel's own bug: rebuilding would not change it.
            (Err(e), _) => Err(e.error),
        }
    }

    /// Threads `bench`'s kernel runs: every CPU for OpenMP kernels, else one.
    fn threads(&self, bench: &Benchmark) -> usize {
        let openmp = KernelSpec::find(&self.kernels, bench.family(), &bench.kernel)
            .is_some_and(|k| k.openmp);
        if openmp {
            crate::measure::openmp_threads()
        } else {
            1
        }
    }
}

/// Both revisions' kernels of one benchmark on **one** set of buffers, for an A/B block:
/// the two sides then share their placement (cache sets, pages, TLB reach) exactly, and
/// the ratio of a block says nothing of where its buffers happened to land. Placement
/// still varies from block to block, so a kernel change that interacts with it is
/// averaged over placements rather than judged on one.
pub struct SharedPair {
    workload: std::cell::RefCell<workload::CpuWorkload>,
    kernels: [Arc<LoadedKernel>; 2],
    threads: [usize; 2],
}

/// One side (0 base, 1 head) of a [`SharedPair`].
pub struct SharedSide<'a> {
    pair: &'a SharedPair,
    side: usize,
}

impl SharedPair {
    /// The pair for `bench`, or `None` when the two kernels do not share a signature (a
    /// revision changed the op) and need buffers of their own.
    pub fn new(
        base: &mut CpuBackend,
        head: &mut CpuBackend,
        bench: &Benchmark,
        inputs: &Inputs,
    ) -> Result<Option<SharedPair>> {
        let kernels = [base.kernel(bench)?, head.kernel(bench)?];
        if std::mem::discriminant(&kernels[0].func) != std::mem::discriminant(&kernels[1].func) {
            return Ok(None);
        }
        let threads = [base.threads(bench), head.threads(bench)];
        let workload =
            workload::CpuWorkload::new(Arc::clone(&kernels[0]), bench, inputs, threads[0])?;
        Ok(Some(SharedPair {
            workload: std::cell::RefCell::new(workload),
            kernels,
            threads,
        }))
    }

    pub fn sides(&self) -> (SharedSide<'_>, SharedSide<'_>) {
        (
            SharedSide {
                pair: self,
                side: 0,
            },
            SharedSide {
                pair: self,
                side: 1,
            },
        )
    }
}

impl crate::measure::Timed for SharedSide<'_> {
    fn time_batch(&mut self, runs: u64) -> Result<f64> {
        let mut w = self.pair.workload.borrow_mut();
        w.use_kernel(
            Arc::clone(&self.pair.kernels[self.side]),
            self.pair.threads[self.side],
        );
        w.time_batch(runs)
    }

    fn host_threads(&self) -> Option<usize> {
        Some(self.pair.threads[self.side])
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn as_cpu(&mut self) -> Option<&mut CpuBackend> {
        Some(self)
    }

    fn hardware(&self) -> &Hardware {
        &self.hardware
    }

    fn kernels(&self) -> &[KernelSpec] {
        &self.kernels
    }

    fn prepare<'a>(
        &'a mut self,
        bench: &Benchmark,
        inputs: &'a Inputs,
    ) -> Result<Box<dyn Workload + 'a>> {
        let kernel = self.kernel(bench)?;
        let threads = self.threads(bench);
        Ok(Box::new(workload::CpuWorkload::new(
            kernel, bench, inputs, threads,
        )?))
    }
}
