//! One benchmark's launch plan run in the emulator: the plan's buffers become allocations
//! of emulated global memory (named as the plan names them, so a fault says which buffer
//! it missed), each step a launch, the output read back for the reference check.

use std::sync::Arc;

use crate::backend::Workload;
use crate::error::{Error, Result};
use crate::kernels::KernelSpec;
use crate::launch::{
    self, Arg, Buffer, DeviceLimits, Elem, Init, LaunchPlan, Poison, Scalar, Values, Work,
};
use crate::measure::Timed;
use crate::suite::{Benchmark, Inputs, Output};

/// The device the plan is made for: an H100 SXM's SM count and shared memory, so grids
/// (grid-stride caps, decode splits) are the ones the GPU path launches on the GPU orac
/// targets first.
pub const LIMITS: DeviceLimits = DeviceLimits::H100_SXM;

/// At most this many thread-instructions per run of a benchmark's plan (all its steps): the
/// emu shapes are chosen to fit (docs/EMULATOR.md), which keeps CI's emulator step short,
/// and a kernel that spins (waiting on a ticket never reset) stops with a clear fault
/// instead of hanging.
pub const BUDGET: u64 = 100_000_000;

/// Hotspots kept per benchmark and kind (shared loads, global stores, …).
pub const HOTSPOTS: usize = 3;

pub struct EmuWorkload<'a> {
    module: Arc<ptx_emu::Module>,
    plan: LaunchPlan,
    inputs: &'a Inputs,
    bench: String,
    /// Thread-instructions the last run of the plan executed.
    thread_instructions: u64,
    /// `ptxas -v` of the module for sm_90a, when ptxas was at hand.
    resources: Option<crate::toolchain::ptxas::PtxasInfo>,
    /// The counted run's counts, all steps added.
    counters: Option<ptx_emu::Counters>,
}

impl<'a> EmuWorkload<'a> {
    pub fn new(
        module: Arc<ptx_emu::Module>,
        resources: Option<crate::toolchain::ptxas::PtxasInfo>,
        spec: &KernelSpec,
        bench: &Benchmark,
        inputs: &'a Inputs,
    ) -> Result<Self> {
        let plan = launch::plan(spec, bench, &LIMITS)?;
        if let Work::Vendor(call) = &plan.work {
            return Err(Error::NotApplicable {
                kernel: bench.id.clone(),
                reason: format!("skipped: {} is a vendor call, not PTX", call.name()),
            });
        }
        Ok(EmuWorkload {
            module,
            plan,
            inputs,
            bench: bench.id.clone(),
            thread_instructions: 0,
            resources,
            counters: None,
        })
    }
}

/// A buffer's bytes at allocation, as the CUDA backend uploads them: inputs encoded in the
/// buffer's element type, outputs poisoned (so an element never written cannot pass).
fn initial_bytes(buffer: &Buffer, inputs: &Inputs) -> Result<Vec<u8>> {
    let input = |source: launch::Source| {
        source.values(inputs).ok_or_else(|| {
            Error::Usage(format!(
                "the launch plan wants input `{}`, which this benchmark has none of",
                source.name()
            ))
        })
    };
    let bytes = match buffer.init {
        Init::Zeroed => vec![0; buffer.bytes() as usize],
        // f32 outputs (the only ones poisoned with NaN).
        Init::Output(Poison::Nan) => f32::NAN.to_le_bytes().repeat(buffer.count as usize),
        Init::Output(Poison::ComplementOf(source)) => match input(source)? {
            Values::Bytes(b) => b.iter().map(|x| !x).collect(),
            Values::F32(v) => v
                .iter()
                .flat_map(|x| (!x.to_bits()).to_le_bytes())
                .collect(),
        },
        Init::Input(source) => match (input(source)?, buffer.elem) {
            (Values::Bytes(b), _) => b.to_vec(),
            (Values::F32(v), Elem::Bf16 | Elem::F16) => launch::half_bits(v, buffer.elem)
                .iter()
                .flat_map(|h| h.to_le_bytes())
                .collect(),
            (Values::F32(v), _) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        },
    };
    if bytes.len() as u64 != buffer.bytes() {
        return Err(Error::Usage(format!(
            "buffer {} holds {} bytes, the plan says {}",
            buffer.name,
            bytes.len(),
            buffer.bytes()
        )));
    }
    Ok(bytes)
}

impl EmuWorkload<'_> {
    /// Thread-instructions the last run of the plan executed (0 before the first).
    pub fn thread_instructions(&self) -> u64 {
        self.thread_instructions
    }

    /// Runs every step of the plan over the buffers at `addresses`, within [`BUDGET`];
    /// returns the thread-instructions executed, and the counts when `counted`.
    fn launch(
        &self,
        global: &mut ptx_emu::Global,
        addresses: &[u64],
        counted: bool,
    ) -> Result<(u64, Option<ptx_emu::Counters>)> {
        let Work::Kernels(steps) = &self.plan.work else {
            unreachable!("vendor plans are refused in new()")
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut executed = 0;
        let mut counters = counted.then(ptx_emu::Counters::default);
        for step in steps {
            // Every check on (racecheck, initcheck, async hazards). The checked run takes
            // the adversarial schedule with the emulator's fixed seed, on every core: results
            // are reproducible, and a missing barrier fails as a race. The counted run takes
            // the canonical schedule on one host thread, so no count depends on a seed, on
            // how long a spin loop waited or on which block reached a ticket first.
            let options = if counted {
                ptx_emu::Options {
                    max_thread_instructions: BUDGET - executed,
                    threads: 1,
                    schedule: ptx_emu::Schedule::Canonical,
                    counters: true,
                    ..Default::default()
                }
            } else {
                ptx_emu::Options {
                    max_thread_instructions: BUDGET - executed,
                    threads,
                    ..Default::default()
                }
            };
            let args: Vec<ptx_emu::Arg> = step
                .args
                .iter()
                .map(|arg| match *arg {
                    Arg::Buffer(index) => ptx_emu::Arg::Ptr(addresses[index]),
                    Arg::Scalar { value, .. } => match value {
                        Scalar::I32(v) => ptx_emu::Arg::S32(v),
                        Scalar::U64(v) => ptx_emu::Arg::U64(v),
                        Scalar::F32(v) => ptx_emu::Arg::F32(v),
                    },
                })
                .collect();
            let launch = ptx_emu::Launch {
                grid: step.grid,
                block: step.block,
                dynamic_shared_bytes: step.dynamic_shared_bytes,
            };
            let report = ptx_emu::run(&self.module, &step.entry, &launch, &args, global, &options)
                .map_err(|fault| {
                    // The table prints it after "ERROR:".
                    let mut report = fault.to_string().trim_start_matches("error: ").to_string();
                    if fault.kind == ptx_emu::FaultKind::StepLimit {
                        report.push_str(&format!(
                            "\n  = the emu backend allows {BUDGET} thread-instructions per benchmark (docs/EMULATOR.md): a kernel that spins, or an emu shape too large"
                        ));
                    }
                    Error::KernelFault {
                        kernel: self.bench.clone(),
                        report,
                    }
                })?;
            executed += report.thread_instructions;
            if let (Some(all), Some(step)) = (counters.as_mut(), &report.counters) {
                all.add(step);
            }
        }
        Ok((executed, counters))
    }

    /// The output buffer's contents.
    fn read_output(&self, global: &ptx_emu::Global, addresses: &[u64]) -> Result<Output> {
        let out = *self
            .plan
            .outputs()
            .first()
            .ok_or_else(|| Error::Usage(format!("the plan of {} has no output", self.bench)))?;
        let buffer = &self.plan.buffers[out];
        let bytes = global
            .read(addresses[out], buffer.bytes() as usize)
            .map_err(|e| Error::Usage(format!("reading back {}: {e}", buffer.name)))?;
        Ok(match buffer.elem {
            Elem::U8 => Output::Bytes(bytes),
            _ => Output::F32(
                bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
        })
    }
}

/// Whether two outputs are the same bits (NaNs included).
fn same_bits(a: &Output, b: &Output) -> bool {
    match (a, b) {
        (Output::Bytes(a), Output::Bytes(b)) => a == b,
        (Output::F32(a), Output::F32(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
        }
        _ => false,
    }
}

impl Workload for EmuWorkload<'_> {
    /// Runs the plan twice over the same buffers, the output poisoned again in between, as
    /// the GPU's timed launches do: a kernel whose result depends on state an earlier
    /// launch left (a ticket never reset) fails here instead of on a GPU. The emulator is
    /// deterministic, so a correct kernel writes the same bits both times, whichever order
    /// its warps ran in. The second run is the counted one (`orac counters`).
    fn run_checked(&mut self) -> Result<Output> {
        let mut global = ptx_emu::Global::new();
        let mut addresses = Vec::with_capacity(self.plan.buffers.len());
        for buffer in &self.plan.buffers {
            addresses.push(global.alloc(buffer.name, &initial_bytes(buffer, self.inputs)?));
        }
        self.thread_instructions = self.launch(&mut global, &addresses, false)?.0;
        let first = self.read_output(&global, &addresses)?;
        for &out in &self.plan.outputs() {
            let poison = initial_bytes(&self.plan.buffers[out], self.inputs)?;
            global
                .write(addresses[out], &poison)
                .map_err(|e| Error::Usage(format!("re-poisoning the output: {e}")))?;
        }
        let (executed, counters) = self.launch(&mut global, &addresses, true)?;
        self.thread_instructions = executed;
        let second = self.read_output(&global, &addresses)?;
        if !same_bits(&first, &second) {
            return Err(Error::KernelFault {
                kernel: self.bench.clone(),
                report: "the kernel depends on state a launch leaves behind or on the order warps run: a second launch over the same buffers, in the canonical warp order, wrote a different output (workspace not reset?)".into(),
            });
        }
        self.counters = counters;
        Ok(first)
    }

    /// The counted run's worst memory instructions ([`HOTSPOTS`] of each kind), shared
    /// memory first.
    fn hotspots(&self) -> Vec<crate::store::Hotspot> {
        let Some(c) = &self.counters else {
            return Vec::new();
        };
        // the worst few of each kind: wavefronts and sectors are not one unit
        let mut per_kind: std::collections::HashMap<&str, usize> = Default::default();
        let mut hot = c.hotspots();
        hot.sort_by_key(|h| !h.kind.starts_with("shared"));
        hot.into_iter()
            .filter(|h| {
                let n = per_kind.entry(h.kind).or_insert(0);
                *n += 1;
                *n <= HOTSPOTS
            })
            .map(|h| crate::store::Hotspot {
                entry: h.kernel.clone(),
                ptx_line: h.ptx_line,
                source: h.source.as_ref().map(|(file, line)| {
                    // NVRTC names the file as orac gave it: keep the name, not a host path
                    let name = std::path::Path::new(file)
                        .file_name()
                        .map_or(file.clone(), |n| n.to_string_lossy().into_owned());
                    format!("{name}:{line}")
                }),
                kind: h.kind.to_string(),
                requests: h.requests,
                actual: h.actual,
                ideal: h.ideal,
            })
            .collect()
    }

    /// The counted run's counts, and `ptxas -v`'s registers and spills for sm_90a.
    fn counters(&self) -> Option<std::collections::BTreeMap<String, u64>> {
        let mut map = self.counters.clone()?.into_map();
        if let Some(r) = &self.resources {
            map.insert("ptxas.registers".into(), r.registers as u64);
            map.insert("ptxas.spill_stores".into(), r.spill_stores);
            map.insert("ptxas.spill_loads".into(), r.spill_loads);
            map.insert("ptxas.stack_bytes".into(), r.stack_bytes);
        }
        Some(map)
    }
}

impl Timed for EmuWorkload<'_> {
    fn time_batch(&mut self, _runs: u64) -> Result<f64> {
        Err(Error::Usage(
            "the emu backend does not time: emulated kernels have no meaningful duration".into(),
        ))
    }
}
