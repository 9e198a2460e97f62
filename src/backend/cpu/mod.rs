//! The CPU backend, always available: kernels from `kernels/cpu/` compiled by the system C
//! compiler at run time, and the f64 references that verify every kernel (GPU ones too).

mod buffer;
mod compiler;
mod host;
mod library;
pub mod reference;
mod workload;

pub use buffer::AlignedBuf;
pub use compiler::{CCompiler, cache_dir};
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
        // Fail early, as an environment problem, if compiled kernels cannot be cached.
        let cache = cache_dir();
        std::fs::create_dir_all(&cache).map_err(|source| Error::Write {
            path: cache,
            source,
        })?;
        Ok(CpuBackend {
            compiler,
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
            let built = self
                .compiler
                .build(spec, &self.cpu_flags)
                .and_then(|path| LoadedKernel::load(&path, spec))
                .map(Arc::new)
                .map_err(|e| e.to_string());
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

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
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
        let openmp = KernelSpec::find(&self.kernels, bench.family(), &bench.kernel)
            .is_some_and(|k| k.openmp);
        let threads = if openmp {
            crate::measure::openmp_threads()
        } else {
            1
        };
        Ok(Box::new(workload::CpuWorkload::new(
            kernel, bench, inputs, threads,
        )?))
    }
}
