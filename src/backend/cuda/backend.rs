//! The CUDA backend: kernels from `kernels/cuda/` compiled by NVRTC for the device's own
//! architecture (modules cached per kernel for the process), launched as the
//! backend-neutral plan (`crate::launch`) says, vendor calls beside them.
//!
//! Status: compiled, not yet run on a GPU. Every result it produces is still verified
//! against the CPU f64 reference before it is timed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cudarc::cublas::CudaBlas;
use cudarc::driver::{CudaFunction, CudaSlice};
use cudarc::nvrtc::Ptx;

use super::device::Device;
use super::nvml::ClockReader;
use super::workload::{CudaWorkload, replicas};
use crate::backend::{Backend, Workload};
use crate::error::{Error, Result};
use crate::kernels::{self, KernelSpec, KernelTree};
use crate::launch::{self, DeviceLimits, Work};
use crate::store::Hardware;
use crate::suite::{Benchmark, Inputs, Shape};
use crate::toolchain::choose::{self, Choice};
use crate::toolchain::{nvrtc, toolkit};

pub struct CudaBackend {
    device: Device,
    kernels: Vec<KernelSpec>,
    hardware: Hardware,
    includes: Vec<PathBuf>,
    /// Why NVRTC cannot be used, if it cannot (vendor calls still work).
    nvrtc_missing: Option<String>,
    /// Each kernel's entries, one per stage, compiled once per process.
    functions: HashMap<String, Result<Vec<CudaFunction>, String>>,
    /// NVML on this device, or why not.
    clock_reader: Result<Arc<ClockReader>, String>,
    /// cuBLAS on the launch stream, created on first use (or why it cannot be).
    cublas: Option<Result<Arc<CudaBlas>, String>>,
    /// The workspace the cuBLAS handle was given (see `blas::WORKSPACE_BYTES`).
    _cublas_workspace: Option<CudaSlice<u8>>,
    /// Which libcublas to preload, and why.
    cublas_choice: Choice,
    l2_flush: Arc<Mutex<super::l2::L2Flush>>,
}

/// cuBLAS on the launch stream: the chosen libcublas preloaded by path (with its cublasLt
/// beside it), so cudarc's soname lookup (`libcublas.so.12`) finds that one.
/// The chosen cuBLAS, checked, with its own workspace (`blas::handle_with_workspace`).
fn open_cublas(
    choice: &Choice,
    device: &Device,
) -> std::result::Result<(Arc<CudaBlas>, CudaSlice<u8>), String> {
    if let Some(lib) = &choice.chosen {
        for path in [
            lib.path.with_file_name("libcublasLt.so.12"),
            lib.path.clone(),
        ] {
            if path.is_file() {
                // SAFETY: loading cuBLAS runs only its initialisers; leaked on purpose, so
                // the soname stays resolvable for cudarc.
                match unsafe { libloading::Library::new(&path) } {
                    Ok(l) => std::mem::forget(l),
                    Err(e) => return Err(format!("cannot load {}: {e}", path.display())),
                }
            }
        }
    }
    // cudarc panics calling into a library that is not there: look first.
    // SAFETY: only probes whether the shared library can be loaded.
    if !unsafe { cudarc::cublas::sys::is_culib_present() } {
        return Err(choice.reason.clone());
    }
    // A `libcublas.so` on the library path is cudarc's first pick: make sure it is a 12.
    let mut major = 0;
    // SAFETY: the library is present; the pointer is valid for the call.
    unsafe {
        cudarc::cublas::sys::cublasGetProperty(
            cudarc::cublas::sys::libraryPropertyType::MAJOR_VERSION,
            &mut major,
        )
    };
    if major != choose::CUBLAS_MAJOR as i32 {
        return Err(format!(
            "the libcublas cudarc loaded is cuBLAS {major}, this orac needs {} ({})",
            choose::CUBLAS_MAJOR,
            choice.reason
        ));
    }
    super::blas::handle_with_workspace(&device.stream)
}

impl CudaBackend {
    /// What launch plans depend on of this GPU.
    fn limits(&self) -> DeviceLimits {
        DeviceLimits {
            sms: self.device.info.sms,
            max_shared_per_block: self.device.max_shared_per_block,
        }
    }

    /// Opens GPU 0 and reads `kernels/cuda/manifest.toml` from `tree`.
    pub fn new(tree: &KernelTree) -> Result<Self> {
        let kernels = kernels::load_manifest(tree, "cuda")?;
        // The driver decides which NVRTC (its CUBINs must load) and cuBLAS to use.
        let toolkit = toolkit::Toolkit::discover(super::driver_version());
        let nvrtc = nvrtc::ensure_loaded(&toolkit);
        let nvrtc_missing = nvrtc.as_ref().err().map(|e| e.to_string());
        let device = Device::open(0, nvrtc.ok())?;
        let host = crate::backend::cpu::host_hardware(None);
        let device_uuid = device.info.uuid.clone();
        let clock_reader = ClockReader::open(&device_uuid).map(Arc::new);
        let mut info = device.info.clone();
        info.host_link_bytes_per_s = clock_reader
            .as_ref()
            .ok()
            .and_then(|r| r.host_link_bytes_per_s());
        info.driver_version = clock_reader.as_ref().ok().and_then(|r| r.driver_version());
        let hardware = Hardware::with_gpu(host, info);
        let flush_bytes = (device.info.l2_bytes * 2).max(64 << 20) as usize;
        let includes = toolkit.include_dirs();
        let l2_flush = super::l2::L2Flush::new(
            &device.stream,
            flush_bytes,
            &device.arch(),
            &includes,
            nvrtc_missing.as_deref(),
        )?;
        Ok(CudaBackend {
            device,
            kernels,
            hardware,
            includes,
            cublas_choice: toolkit.cublas,
            nvrtc_missing,
            functions: HashMap::new(),
            cublas: None,
            _cublas_workspace: None,
            clock_reader,
            l2_flush: Arc::new(Mutex::new(l2_flush)),
        })
    }

    /// The cuBLAS handle, bound to the launch stream so events time it like a kernel.
    fn cublas(&mut self, bench: &str) -> Result<Arc<CudaBlas>> {
        if self.cublas.is_none() {
            self.cublas = Some(open_cublas(&self.cublas_choice, &self.device).map(
                |(blas, workspace)| {
                    self._cublas_workspace = Some(workspace);
                    blas
                },
            ));
        }
        match self.cublas.as_ref().expect("set above") {
            Ok(blas) => Ok(blas.clone()),
            Err(reason) => Err(Error::KernelUnavailable {
                kernel: bench.to_string(),
                reason: reason.clone(),
            }),
        }
    }

    /// The entry of every stage of `spec`, from one compiled module.
    fn functions(&mut self, spec: &KernelSpec) -> Result<Vec<CudaFunction>> {
        let key = format!("{}/{}", spec.family().name(), spec.name);
        // Written for another architecture: skipped, whether or not NVRTC is here.
        let device_arch = self.device.arch();
        let Some(arch) = spec.arch_for(&device_arch) else {
            return Err(Error::NotApplicable {
                kernel: key,
                reason: format!(
                    "skipped: written for {}, this GPU is {device_arch}",
                    spec.arch.as_deref().unwrap_or("?")
                ),
            });
        };
        if let Some(why) = &self.nvrtc_missing {
            // cudarc would panic calling into a missing libnvrtc.
            return Err(Error::KernelUnavailable {
                kernel: key,
                reason: why.clone(),
            });
        }
        if !self.functions.contains_key(&key) {
            // Machine code for this GPU, not PTX: the driver would refuse PTX from an NVRTC
            // newer than itself.
            let built = nvrtc::compile_cubin(
                &spec.source,
                &spec.source_path,
                &spec.name,
                &arch,
                &self.includes,
                &spec.flags,
            )
            .and_then(|cubin| {
                let module = self
                    .device
                    .ctx
                    .load_module(Ptx::from_binary(cubin))
                    .map_err(|e| Error::KernelUnavailable {
                        kernel: key.clone(),
                        reason: format!("cannot load {}: {e:?}", spec.source_path),
                    })?;
                spec.stages
                    .iter()
                    .map(|stage| {
                        module
                            .load_function(&stage.entry)
                            .map_err(|e| Error::KernelUnavailable {
                                kernel: key.clone(),
                                reason: format!(
                                    "cannot load {} from {}: {e:?}",
                                    stage.entry, spec.source_path
                                ),
                            })
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .map_err(|e| e.to_string());
            self.functions.insert(key.clone(), built);
        }
        self.functions[&key]
            .clone()
            .map_err(|reason| Error::KernelUnavailable {
                kernel: key,
                reason,
            })
    }
}

impl Backend for CudaBackend {
    fn name(&self) -> &'static str {
        "cuda"
    }

    fn hardware(&self) -> &Hardware {
        &self.hardware
    }

    fn kernels(&self) -> &[KernelSpec] {
        &self.kernels
    }

    fn timing_method(&self) -> &'static str {
        "CUDA events on the launch stream around each batch (batches of 2+ runs replayed as a CUDA graph); L2 flushed (written, then a read pass so it holds no dirty lines) before each sample, and buffers under twice the L2 rotated over copies, so every launch of a batch is cold"
    }

    fn clocks(&self) -> crate::backend::clocks::Clocks {
        Some(
            self.clock_reader
                .clone()
                .map(|r| r as Arc<dyn crate::backend::clocks::ClockProbe>),
        )
    }

    fn check_health(&self) -> Result<()> {
        self.device
            .stream
            .synchronize()
            .map_err(|e| Error::CudaUnavailable(format!("the CUDA context is unusable: {e:?}")))
    }

    fn prepare<'a>(
        &'a mut self,
        bench: &Benchmark,
        inputs: &'a Inputs,
    ) -> Result<Box<dyn Workload + 'a>> {
        let spec = KernelSpec::find(&self.kernels, bench.family(), &bench.kernel)
            .cloned()
            .ok_or_else(|| Error::Usage(format!("no CUDA kernel for benchmark {}", bench.id)))?;
        // The library handle and the compiled entries first: a kernel written for another
        // architecture is skipped for that, whatever else it would need.
        let blas = match spec.vendor.as_deref() {
            Some("cublas-gemm") => Some(self.cublas(&bench.id)?),
            _ => None,
        };
        let functions = match spec.vendor {
            None => self.functions(&spec)?,
            Some(_) => Vec::new(),
        };
        let plan = launch::plan(&spec, bench, &self.limits())?;
        if let Work::Kernels(steps) = &plan.work {
            for (step, func) in steps.iter().zip(&functions) {
                if step.raise_dynamic_shared_limit {
                    let dynamic = step.dynamic_shared_bytes;
                    func.set_attribute(
                        cudarc::driver::sys::CUfunction_attribute_enum::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                        dynamic as i32,
                    )
                    .map_err(|e| Error::KernelUnavailable {
                        kernel: bench.id.clone(),
                        reason: format!(
                            "{dynamic} bytes of dynamic shared memory refused for {}: {e:?}",
                            step.entry
                        ),
                    })?;
                }
            }
        }
        // The L2 flush buffer is already allocated: only the benchmark's own buffers count,
        // as many times as a batch rotates through copies of them (not transfers: their
        // host side is pinned memory, and the link, not L2, bounds them).
        let working_set = plan.device_bytes();
        let copies = match bench.shape {
            Shape::Transfer { .. } => 1,
            _ => replicas(working_set, self.device.info.l2_bytes),
        };
        let needed = working_set * copies as u64;
        // Freed buffers return to the driver's pool only at a synchronisation: without one,
        // the previous benchmark's memory would still count as used.
        let _ = self.device.stream.synchronize();
        if let Some(free) = self.device.free_memory()
            && needed > free
        {
            let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
            return Err(Error::NotApplicable {
                kernel: bench.id.clone(),
                reason: format!(
                    "skipped: needs {:.2} GiB of device memory, {:.2} GiB free",
                    gib(needed),
                    gib(free)
                ),
            });
        }
        Ok(Box::new(CudaWorkload::new(
            self.device.stream.clone(),
            plan,
            functions,
            blas,
            inputs,
            self.l2_flush.clone(),
            copies,
        )?))
    }
}
