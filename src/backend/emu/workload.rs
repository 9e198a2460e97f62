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

/// At most this many thread-instructions per launch: the emu shapes stay far below it
/// (docs/EMULATOR.md); a kernel that spins (a ticket never reset, a barrier it waits on
/// forever) stops with a clear fault instead of hanging CI.
const MAX_THREAD_INSTRUCTIONS: u64 = 2_000_000_000;

pub struct EmuWorkload<'a> {
    module: Arc<ptx_emu::Module>,
    plan: LaunchPlan,
    inputs: &'a Inputs,
    bench: String,
}

impl<'a> EmuWorkload<'a> {
    pub fn new(
        module: Arc<ptx_emu::Module>,
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
    /// Runs every step of the plan over the buffers at `addresses`.
    fn launch(&self, global: &mut ptx_emu::Global, addresses: &[u64]) -> Result<()> {
        let Work::Kernels(steps) = &self.plan.work else {
            unreachable!("vendor plans are refused in new()")
        };
        // Every check on (racecheck, initcheck, async hazards) and the adversarial schedule
        // with the emulator's fixed seed: results are reproducible, and a missing barrier
        // fails as a race.
        let options = ptx_emu::Options {
            max_thread_instructions: MAX_THREAD_INSTRUCTIONS,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ..Default::default()
        };
        for step in steps {
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
            ptx_emu::run(&self.module, &step.entry, &launch, &args, global, &options).map_err(
                |fault| Error::KernelFault {
                    kernel: self.bench.clone(),
                    // The table prints it after "ERROR:".
                    report: fault.to_string().trim_start_matches("error: ").to_string(),
                },
            )?;
        }
        Ok(())
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
    /// deterministic, so a correct kernel writes the same bits both times.
    fn run_checked(&mut self) -> Result<Output> {
        let mut global = ptx_emu::Global::new();
        let mut addresses = Vec::with_capacity(self.plan.buffers.len());
        for buffer in &self.plan.buffers {
            addresses.push(global.alloc(buffer.name, &initial_bytes(buffer, self.inputs)?));
        }
        self.launch(&mut global, &addresses)?;
        let first = self.read_output(&global, &addresses)?;
        for &out in &self.plan.outputs() {
            let poison = initial_bytes(&self.plan.buffers[out], self.inputs)?;
            global
                .write(addresses[out], &poison)
                .map_err(|e| Error::Usage(format!("re-poisoning the output: {e}")))?;
        }
        self.launch(&mut global, &addresses)?;
        let second = self.read_output(&global, &addresses)?;
        if !same_bits(&first, &second) {
            return Err(Error::KernelFault {
                kernel: self.bench.clone(),
                report: "a second launch over the same buffers wrote a different output: the kernel depends on state a launch leaves behind (workspace not reset?)".into(),
            });
        }
        Ok(first)
    }
}

impl Timed for EmuWorkload<'_> {
    fn time_batch(&mut self, _runs: u64) -> Result<f64> {
        Err(Error::Usage(
            "the emu backend does not time: emulated kernels have no meaningful duration".into(),
        ))
    }
}
