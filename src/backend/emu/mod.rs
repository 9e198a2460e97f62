//! The `emu` backend: each CUDA kernel's PTX, compiled by NVRTC for sm_90a, run in the PTX
//! emulator (crates/ptx-emu) on the launch plan the `cuda` backend uses, and its output
//! checked against the f64 reference like a GPU's. It verifies; it never times.
//!
//! A pass here means "verified in emulation": the emulator follows the PTX ISA, not a GPU
//! (docs/EMULATOR.md says what it approximates).

mod workload;

pub use workload::{BUDGET, EmuWorkload};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::{Backend, Workload};
use crate::error::{Error, Result};
use crate::kernels::{self, KernelSpec, KernelTree};
use crate::store::Hardware;
use crate::suite::{Benchmark, Inputs};
use crate::toolchain::{nvrtc, ptxas, toolkit};

/// The architecture every kernel is compiled for: the emulator implements sm_90a's PTX
/// (wgmma included), the GPU orac targets first.
pub const ARCH: &str = "sm_90a";

/// The hardware key results of this backend are stored under.
pub const HARDWARE_KEY: &str = "emu-sm_90a";

/// What to do when there is no NVRTC: the emu backend cannot compile anything without it.
pub const NVRTC_MISSING: &str = "NVRTC not found: the emu backend compiles the kernels to PTX with it (pip install nvidia-cuda-nvrtc==13.5.37, then ORAC_CUDA_HOME=<site-packages>/nvidia/cu13, or a CUDA toolkit in ORAC_CUDA_HOME)";

pub struct EmuBackend {
    kernels: Vec<KernelSpec>,
    hardware: Hardware,
    includes: Vec<PathBuf>,
    /// Why NVRTC cannot be used, when it cannot.
    nvrtc_missing: Option<String>,
    /// Parsed PTX by kernel key, or why it is not there (compile or parse error).
    modules: HashMap<String, std::result::Result<Arc<ptx_emu::Module>, String>>,
    /// `ptxas`, when the toolkit has one that reads this NVRTC's PTX: registers and spills
    /// go with the counters.
    ptxas: Option<PathBuf>,
    /// `ptxas -v` of each kernel's PTX for sm_90a (None where ptxas is missing or failed).
    resources: HashMap<String, Option<ptxas::PtxasInfo>>,
}

impl EmuBackend {
    /// Reads the CUDA manifest from `tree` and loads NVRTC (no GPU or driver needed).
    pub fn new(tree: &KernelTree) -> Result<Self> {
        let kernels = kernels::load_manifest(tree, "cuda")?;
        let toolkit = toolkit::Toolkit::discover(None);
        let includes = toolkit.include_dirs();
        let (nvrtc_version, nvrtc_missing) = match nvrtc::ensure_loaded(&toolkit) {
            Ok(version) => (Some(version), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let mut hardware = crate::backend::cpu::host_hardware(None);
        hardware.key = HARDWARE_KEY.to_string();
        // What built the code that ran: recorded with every result, like a CPU's compiler.
        hardware.compiler = nvrtc_version.map(|v| {
            let isa = probe_isa(&includes)
                .map(|(major, minor)| format!(", PTX ISA {major}.{minor}"))
                .unwrap_or_default();
            format!("NVRTC {v} for {ARCH}{isa}, run by ptx-emu")
        });
        let ptxas = toolkit.ptxas().chosen.map(|f| f.path);
        Ok(EmuBackend {
            kernels,
            hardware,
            includes,
            nvrtc_missing,
            modules: HashMap::new(),
            ptxas,
            resources: HashMap::new(),
        })
    }

    /// The parsed PTX of `spec` and its `ptxas -v` (when ptxas ran), compiled once per
    /// kernel.
    fn module(
        &mut self,
        spec: &KernelSpec,
    ) -> Result<(Arc<ptx_emu::Module>, Option<ptxas::PtxasInfo>)> {
        let key = format!("{}/{}", spec.family().name(), spec.name);
        if let Some(why) = &self.nvrtc_missing {
            return Err(Error::KernelUnavailable {
                kernel: key,
                reason: why.clone(),
            });
        }
        if !self.modules.contains_key(&key) {
            let built = nvrtc::compile_ptx(
                &spec.source,
                &spec.source_path,
                &spec.name,
                ARCH,
                &self.includes,
                &spec.flags,
            )
            .map_err(|e| e.to_string())
            .and_then(|ptx| {
                let resources = self.ptxas.as_ref().and_then(|tool| {
                    ptxas::assemble(tool, None, &ptx, ARCH, &spec.name, &spec.source_path).ok()
                });
                self.resources.insert(key.clone(), resources);
                ptx_emu::Module::parse(&ptx)
                    .map(Arc::new)
                    .map_err(|e| format!("{}: {e}", spec.source_path))
            });
            self.modules.insert(key.clone(), built);
        }
        let resources = self.resources.get(&key).cloned().flatten();
        self.modules[&key]
            .clone()
            .map(|module| (module, resources))
            .map_err(|reason| Error::KernelUnavailable {
                kernel: key,
                reason,
            })
    }
}

impl EmuBackend {
    /// [`Backend::prepare`], typed: the workload also tells what the run cost.
    pub fn prepare_emu<'a>(
        &'a mut self,
        bench: &Benchmark,
        inputs: &'a Inputs,
    ) -> Result<EmuWorkload<'a>> {
        let spec = KernelSpec::find(&self.kernels, bench.family(), &bench.kernel)
            .cloned()
            .ok_or_else(|| Error::Usage(format!("no CUDA kernel for benchmark {}", bench.id)))?;
        if let Some(vendor) = &spec.vendor {
            return Err(Error::NotApplicable {
                kernel: bench.id.clone(),
                reason: format!("skipped: {vendor} is a vendor call, not PTX"),
            });
        }
        if spec.arch_for(ARCH).is_none() {
            return Err(Error::NotApplicable {
                kernel: bench.id.clone(),
                reason: format!(
                    "skipped: written for {}, the emulator runs {ARCH}",
                    spec.arch.as_deref().unwrap_or("?")
                ),
            });
        }
        let (module, resources) = self.module(&spec)?;
        EmuWorkload::new(module, resources, &spec, bench, inputs)
    }
}

/// The PTX ISA version NVRTC emits, from an empty kernel.
fn probe_isa(includes: &[PathBuf]) -> Option<(u32, u32)> {
    let ptx = nvrtc::compile_ptx(
        "extern \"C\" __global__ void orac_probe() {}",
        "probe.cu",
        "probe",
        ARCH,
        includes,
        &[],
    )
    .ok()?;
    ptx_emu::Module::parse(&ptx).ok().map(|m| m.ptx_version())
}

impl Backend for EmuBackend {
    fn name(&self) -> &'static str {
        "emu"
    }

    fn hardware(&self) -> &Hardware {
        &self.hardware
    }

    fn kernels(&self) -> &[KernelSpec] {
        &self.kernels
    }

    fn timing_method(&self) -> &'static str {
        "not timed: PTX run in the emulator (crates/ptx-emu)"
    }

    fn prepare<'a>(
        &'a mut self,
        bench: &Benchmark,
        inputs: &'a Inputs,
    ) -> Result<Box<dyn Workload + 'a>> {
        Ok(Box::new(self.prepare_emu(bench, inputs)?))
    }
}
