//! The CUDA backend: kernels from `kernels/cuda/` compiled by NVRTC for the device's own
//! architecture (modules cached per kernel for the process), launch shapes from the
//! manifest, vendor calls beside them.
//!
//! Status: compiled, not yet run on a GPU. Every result it produces is still verified
//! against the CPU f64 reference before it is timed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cudarc::cublas::CudaBlas;
use cudarc::driver::{CudaFunction, CudaSlice, LaunchConfig};
use cudarc::nvrtc::Ptx;

use super::choose::Choice;
use super::device::Device;
use super::nvml::ClockReader;
use super::workload::{CudaWorkload, Launch, replicas, scratch_floats, workspace_floats};
use super::{nvrtc, toolkit};
use crate::backend::{Backend, Workload};
use crate::error::{Error, Result};
use crate::kernels::{self, KernelSpec, KernelTree};
use crate::store::Hardware;
use crate::suite::{Benchmark, Inputs, Shape};

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

/// Splits a decode grid may have at most (the combine keeps a weight per split in shared
/// memory: kernels/cuda/attention_decode.cu).
const MAX_DECODE_SPLITS: u64 = 4096;

/// The largest grid y (and z) dimension CUDA accepts.
const MAX_GRID_Y: u64 = 65535;

/// Splits per (batch, KV head) of a decode grid, with `slots` blocks resident at once: the
/// count whose `pairs × splits` blocks fill their last wave best (a block alone in a last
/// wave streams at a fraction of the bandwidth), and of those within 5% of the best the
/// smallest (fewer partials to combine). Splits are at least `len` keys long.
fn decode_splits(pairs: u64, seq: u64, len: u64, slots: u64) -> u64 {
    let most = (seq / len).clamp(1, MAX_DECODE_SPLITS);
    let slots = slots.max(1);
    let efficiency = |splits: u64| {
        let blocks = pairs * splits;
        blocks as f64 / (blocks.div_ceil(slots) * slots) as f64
    };
    let best = (1..=most).map(efficiency).fold(0.0, f64::max);
    (1..=most)
        .find(|&s| efficiency(s) >= 0.95 * best)
        .unwrap_or(1)
}

/// Grid for `rule` (see kernels/cuda/manifest.toml) over `shape` with `block` threads.
pub fn grid_for(rule: &str, shape: &Shape, block: [u32; 3], sms: u32) -> Result<(u32, u32, u32)> {
    let bad = || Error::Manifest {
        path: "cuda/manifest.toml".into(),
        reason: format!(
            "grid rule '{rule}' does not fit shape {}",
            shape.id_segment()
        ),
    };
    let threads = u64::from(block[0]) * u64::from(block[1]) * u64::from(block[2]);
    if let Some(per) = rule.strip_prefix("elements:") {
        let per: u64 = per.parse().map_err(|_| bad())?;
        // Elements: bytes of a copy, f32 values of a triad.
        let elements = match *shape {
            Shape::Copy { bytes } => bytes,
            Shape::Triad { bytes } => bytes / 4,
            _ => return Err(bad()),
        };
        let blocks = elements.div_ceil(per.max(1)).div_ceil(threads.max(1));
        // Grid-stride kernels: enough blocks to fill every SM (8 × 256 threads = 2048, an
        // H100 SM's maximum), no more.
        let cap = u64::from(sms.max(1)) * 8;
        return Ok((blocks.clamp(1, cap.max(1)) as u32, 1, 1));
    }
    if let Some(per) = rule.strip_prefix("threads:") {
        // One thread per `per` bytes over the whole buffer: no grid-stride loop.
        let per: u64 = per.parse().map_err(|_| bad())?;
        let Shape::Copy { bytes } = *shape else {
            return Err(bad());
        };
        if per == 0 {
            return Err(bad());
        }
        let blocks = bytes.div_ceil(per).div_ceil(threads.max(1)).max(1);
        return u32::try_from(blocks)
            .ok()
            .filter(|&b| b < i32::MAX as u32)
            .map(|b| (b, 1, 1))
            .ok_or_else(bad);
    }
    if let Some(rows) = rule.strip_prefix("rows:") {
        // Attention: one block per `rows` query rows of one (batch, head).
        let rows: u64 = rows.parse().map_err(|_| bad())?;
        let Shape::Attention {
            batch, heads, sq, ..
        } = *shape
        else {
            return Err(bad());
        };
        if rows == 0 || batch * heads > MAX_GRID_Y {
            return Err(bad());
        }
        return Ok((sq.div_ceil(rows) as u32, (batch * heads) as u32, 1));
    }
    if let Some(len) = rule.strip_prefix("splits-fill:") {
        // Decode: split each (batch, KV head)'s keys so the blocks fill whole waves of three
        // per SM (see `decode_splits`), each split at least `len` keys long.
        let len: u64 = len.parse().map_err(|_| bad())?;
        let Shape::Decode {
            batch,
            kv_heads,
            seq,
            ..
        } = *shape
        else {
            return Err(bad());
        };
        if len == 0 {
            return Err(bad());
        }
        let pairs = (batch * kv_heads).max(1);
        if pairs > MAX_GRID_Y {
            return Err(bad());
        }
        let splits = decode_splits(pairs, seq, len, 3 * u64::from(sms.max(1)));
        return Ok((splits as u32, pairs as u32, 1));
    }
    let tile = |spec: &str| -> Result<(u64, u64)> {
        let (tm, tn) = spec.split_once('x').ok_or_else(bad)?;
        let (tm, tn): (u64, u64) = (
            tm.parse().map_err(|_| bad())?,
            tn.parse().map_err(|_| bad())?,
        );
        if tm == 0 || tn == 0 {
            return Err(bad());
        }
        Ok((tm, tn))
    };
    if let Some(tiles) = rule.strip_prefix("tiles:") {
        let (tm, tn) = tile(tiles)?;
        let Shape::Gemm { m, n, .. } = *shape else {
            return Err(bad());
        };
        return Ok((n.div_ceil(tn) as u32, m.div_ceil(tm) as u32, 1));
    }
    // Attention pipelines: tiles of the Sq × Sk scores, or of the Sq × D output, per
    // (batch, head) in z.
    let scores = rule.strip_prefix("score-tiles:");
    let output = rule.strip_prefix("out-tiles:");
    if let Some(tiles) = scores.or(output) {
        let (tm, tn) = tile(tiles)?;
        let Shape::Attention {
            batch,
            heads,
            sq,
            sk,
            head_dim,
            ..
        } = *shape
        else {
            return Err(bad());
        };
        let cols = if scores.is_some() { sk } else { head_dim };
        if batch * heads > MAX_GRID_Y || sq.div_ceil(tm) > MAX_GRID_Y {
            return Err(bad());
        }
        return Ok((
            cols.div_ceil(tn) as u32,
            sq.div_ceil(tm) as u32,
            (batch * heads) as u32,
        ));
    }
    Err(bad())
}

/// Device memory a benchmark's buffers take: inputs in its dtype, outputs in f32 (GEMM and
/// attention accumulate and write f32 whatever the input type).
pub(super) fn device_bytes(bench: &Benchmark) -> u64 {
    let e = bench.dtype.size_bytes();
    match bench.shape {
        Shape::Copy { bytes } => 2 * bytes,
        Shape::Triad { bytes } => 3 * bytes,
        // The host side is pinned host memory, not device memory.
        Shape::Transfer { bytes } => bytes,
        Shape::Gemm { m, n, k } => (m * k + k * n) * e + m * n * 4,
        Shape::Attention {
            batch,
            heads,
            sq,
            sk,
            head_dim,
            ..
        } => batch * heads * head_dim * ((sq + 2 * sk) * e + sq * 4),
        Shape::Decode {
            batch,
            heads,
            kv_heads,
            seq,
            head_dim,
        } => batch * (heads * head_dim * (e + 4) + 2 * kv_heads * seq * head_dim * e),
    }
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
    if major != super::choose::CUBLAS_MAJOR as i32 {
        return Err(format!(
            "the libcublas cudarc loaded is cuBLAS {major}, this orac needs {} ({})",
            super::choose::CUBLAS_MAJOR,
            choice.reason
        ));
    }
    super::blas::handle_with_workspace(&device.stream)
}

impl CudaBackend {
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
        let launch = match spec.vendor.as_deref() {
            Some("memcpy-dtod") => Launch::MemcpyDtoD,
            Some("memcpy-htod") => Launch::MemcpyHtoD,
            Some("memcpy-dtoh") => Launch::MemcpyDtoH,
            Some("cublas-gemm") => Launch::Cublas(self.cublas(&bench.id)?, bench.dtype),
            Some(other) => {
                return Err(Error::Usage(format!(
                    "vendor call {other} is not implemented"
                )));
            }
            None => {
                let functions = self.functions(&spec)?;
                let mut stages = Vec::new();
                for (stage, func) in spec.stages.iter().zip(functions) {
                    let grid =
                        grid_for(&stage.grid, &bench.shape, stage.block, self.device.info.sms)?;
                    let dynamic = stage.dynamic_shared_bytes;
                    let needs = u64::from(stage.shared_bytes) + u64::from(dynamic);
                    if needs > self.device.max_shared_per_block {
                        return Err(Error::NotApplicable {
                            kernel: bench.id.clone(),
                            reason: format!(
                                "skipped: {} needs {needs} bytes of shared memory per block, this GPU allows {}",
                                stage.entry, self.device.max_shared_per_block
                            ),
                        });
                    }
                    if dynamic > 48 * 1024 {
                        // Above 48 KiB a kernel must opt in to more dynamic shared memory.
                        func.set_attribute(
                            cudarc::driver::sys::CUfunction_attribute_enum::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                            dynamic as i32,
                        )
                        .map_err(|e| Error::KernelUnavailable {
                            kernel: bench.id.clone(),
                            reason: format!(
                                "{dynamic} bytes of dynamic shared memory refused for {}: {e:?}",
                                stage.entry
                            ),
                        })?;
                    }
                    let block = stage.block;
                    let cfg = LaunchConfig {
                        grid_dim: grid,
                        block_dim: (block[0], block[1], block[2]),
                        shared_mem_bytes: dynamic,
                    };
                    stages.push((func, cfg));
                }
                // A scratch buffer makes a pipeline even of one stage: its entry takes it.
                if stages.len() == 1 && spec.scratch.is_none() {
                    let (func, cfg) = stages.pop().expect("one stage");
                    Launch::Kernel { func, cfg }
                } else {
                    Launch::Pipeline {
                        stages,
                        scratch_floats: scratch_floats(&bench.shape, spec.scratch.as_deref()),
                    }
                }
            }
        };
        // The L2 flush buffer is already allocated: only the benchmark's own buffers count,
        // as many times as a batch rotates through copies of them (not transfers: their
        // host side is pinned memory, and the link, not L2, bounds them).
        let working_set = device_bytes(bench) + 4 * workspace_floats(&bench.shape, &launch);
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
            launch,
            bench.shape,
            bench.dtype,
            inputs,
            self.l2_flush.clone(),
            copies,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_memory_counts_f32_outputs_of_bf16_kernels() {
        use crate::suite::Dtype;
        let gemm = Benchmark::new("mma", Dtype::Bf16, Shape::Gemm { m: 2, n: 3, k: 4 });
        assert_eq!(device_bytes(&gemm), (8 + 12) * 2 + 6 * 4);
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
        // Q (3 rows), K and V (5 rows each) in bf16, O (3 rows) in f32, per head of 8.
        assert_eq!(device_bytes(&attention), 2 * 8 * ((3 + 10) * 2 + 3 * 4));
    }

    #[test]
    fn grid_rules_follow_the_manifest() {
        let copy = Shape::Copy { bytes: 1 << 20 };
        // 1 MiB / 16 B per thread / 256 threads = 256 blocks, under the 4-per-SM cap.
        assert_eq!(
            grid_for("elements:16", &copy, [256, 1, 1], 132).unwrap(),
            (256, 1, 1)
        );
        let big = Shape::Copy { bytes: 1 << 32 };
        assert_eq!(
            grid_for("elements:16", &big, [256, 1, 1], 132).unwrap(),
            (1056, 1, 1)
        );
        // 4 GiB + 3 bytes, one thread per 4 bytes: 2^30 + 1 words over 256 threads.
        let odd = Shape::Copy {
            bytes: (1 << 32) + 3,
        };
        assert_eq!(
            grid_for("threads:4", &odd, [256, 1, 1], 132).unwrap(),
            ((1 << 22) + 1, 1, 1)
        );
        assert!(grid_for("threads:0", &odd, [256, 1, 1], 132).is_err());
        let gemm = Shape::Gemm {
            m: 200,
            n: 136,
            k: 72,
        };
        assert_eq!(
            grid_for("tiles:32x32", &gemm, [32, 32, 1], 132).unwrap(),
            (5, 7, 1)
        );
        assert!(grid_for("tiles:32x32", &copy, [32, 32, 1], 132).is_err());
        assert!(grid_for("rows", &gemm, [32, 1, 1], 132).is_err());
        assert!(grid_for("rows:64", &gemm, [128, 1, 1], 132).is_err());
        let attention = Shape::Attention {
            batch: 2,
            heads: 16,
            sq: 1000,
            sk: 1000,
            head_dim: 128,
            causal: true,
        };
        assert_eq!(
            grid_for("rows:64", &attention, [128, 1, 1], 132).unwrap(),
            (16, 32, 1)
        );
        assert!(grid_for("rows:0", &attention, [128, 1, 1], 132).is_err());
        // Pipelines: 1000 × 1000 scores in 16 × 32 tiles, then 1000 × 128 outputs in
        // 16 × 16 tiles, for 32 (batch, head) pairs.
        assert_eq!(
            grid_for("score-tiles:16x32", &attention, [256, 1, 1], 132).unwrap(),
            (32, 63, 32)
        );
        assert_eq!(
            grid_for("out-tiles:16x16", &attention, [256, 1, 1], 132).unwrap(),
            (8, 63, 32)
        );
        assert!(grid_for("score-tiles:0x16", &attention, [256, 1, 1], 132).is_err());
        assert!(grid_for("out-tiles:16x16", &gemm, [256, 1, 1], 132).is_err());
        let decode = Shape::Decode {
            batch: 4,
            heads: 32,
            kv_heads: 8,
            seq: 1000,
            head_dim: 64,
        };
        assert!(grid_for("splits-fill:0", &decode, [128, 1, 1], 132).is_err());
        // 132 SMs three deep are 396 slots; 1000 keys in splits of at least 256 allow 3.
        assert_eq!(
            grid_for("splits-fill:256", &decode, [128, 1, 1], 132).unwrap(),
            (3, 32, 1)
        );
        let long = Shape::Decode {
            batch: 1,
            heads: 32,
            kv_heads: 8,
            seq: 32768,
            head_dim: 128,
        };
        // One sequence, 8 KV heads: 48 splits make 384 blocks, 97% of one wave (49 would be
        // 99%, but 48 is within 5% of the best and has fewer partials); 50 would spill 4
        // blocks into a second wave.
        assert_eq!(
            grid_for("splits-fill:256", &long, [128, 1, 1], 132).unwrap(),
            (48, 8, 1)
        );
        let wide = Shape::Decode {
            batch: 64,
            heads: 32,
            kv_heads: 8,
            seq: 32768,
            head_dim: 128,
        };
        // 512 pairs are 1.3 waves unsplit (65% of the last full); 3 splits make 1536
        // blocks, 97% of four waves.
        assert_eq!(
            grid_for("splits-fill:256", &wide, [128, 1, 1], 132).unwrap(),
            (3, 512, 1)
        );
        assert_eq!(
            decode_splits(8, 1024, 256, 396),
            4,
            "short: as many as allowed"
        );
        assert_eq!(decode_splits(8, 100, 256, 396), 1, "shorter than one split");
        assert!(grid_for("rows:64", &decode, [128, 1, 1], 132).is_err());
        assert!(grid_for("splits-fill:256", &attention, [128, 1, 1], 132).is_err());
    }

    #[test]
    fn decode_memory_counts_cache_query_output_and_workspace() {
        use super::super::workload::workspace_floats;
        use crate::suite::Dtype;
        let shape = Shape::Decode {
            batch: 2,
            heads: 8,
            kv_heads: 2,
            seq: 10,
            head_dim: 16,
        };
        let bench = Benchmark::new("decode", Dtype::Bf16, shape);
        // Q (bf16) and O (f32) of 8 heads, K and V of 2 KV heads × 10 keys (bf16).
        assert_eq!(
            device_bytes(&bench),
            2 * (8 * 16 * (2 + 4) + 2 * 2 * 10 * 16 * 2)
        );
        // The contract in kernels/cuda/manifest.toml: B·H·splits·(D+2) + B·Hkv.
        assert_eq!(workspace_floats(&shape, &Launch::MemcpyDtoD), 0);
    }
}
