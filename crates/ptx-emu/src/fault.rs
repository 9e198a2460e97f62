//! Faults: what went wrong, where (kernel, block, thread, PTX line, CUDA source line) and,
//! for global memory, the nearest allocation — printed like a compiler diagnostic.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    OutOfBoundsGlobal,
    OutOfBoundsShared,
    OutOfBoundsLocal,
    OutOfBoundsParam,
    Misaligned,
    BarrierDivergence,
    ShuffleMaskMismatch,
    DivisionByZero,
    StepLimit,
    ArgMismatch,
    UnknownKernel,
    /// An instruction form the emulator decodes but cannot execute with these operands.
    Unsupported,
    /// A warpgroup instruction (`wgmma.*`, `.sync.aligned` over 128 threads) executed by
    /// part of a warpgroup, or with operands that must agree across it and do not.
    WarpgroupDivergence,
    /// An operand value the PTX ISA leaves undefined (e.g. `cp.async` src-size > cp-size).
    InvalidOperand,
    /// A warp-wide `.sync.aligned` instruction (`ldmatrix`, `mma`, `wmma`) executed by only
    /// part of the warp.
    WarpDivergence,
    /// Two threads of a block touch the same shared bytes, at least one writing, with no
    /// barrier (or, within a warp, no warp sync) between them (`Options::racecheck`).
    SharedRace,
    /// A read of shared memory never written since the block started (`Options::initcheck`).
    UninitializedShared,
    /// A read of a register no instruction of the thread wrote (`Options::initcheck`).
    UninitializedRegister,
    /// Shared memory touched while an in-flight asynchronous operation (`cp.async`,
    /// `wgmma`) still writes or reads it, before its `wait_group` (`Options::racecheck`).
    AsyncHazard,
}

/// The allocation nearest a faulting global address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocNote {
    pub name: String,
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    /// Headline, e.g. "out-of-bounds global load of 4 bytes at 0x10000410".
    pub message: String,
    pub kernel: String,
    pub block: Option<[u32; 3]>,
    pub thread: Option<[u32; 3]>,
    pub ptx_line: Option<u32>,
    /// CUDA source location from `.loc`/`.file`: (file name, line).
    pub source: Option<(String, u32)>,
    pub address: Option<u64>,
    /// Access size in bytes, for memory faults.
    pub size: Option<u32>,
    pub allocation: Option<AllocNote>,
    /// Extra explanation printed as `= note`.
    pub note: Option<String>,
}

impl Fault {
    pub(crate) fn new(kind: FaultKind, kernel: &str, message: String) -> Fault {
        Fault {
            kind,
            message,
            kernel: kernel.to_string(),
            block: None,
            thread: None,
            ptx_line: None,
            source: None,
            address: None,
            size: None,
            allocation: None,
            note: None,
        }
    }
}

impl std::error::Error for Fault {}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        write!(f, "  --> kernel {}", self.kernel)?;
        if let Some([x, y, z]) = self.block {
            write!(f, ", block ({x},{y},{z})")?;
        }
        if let Some([x, y, z]) = self.thread {
            write!(f, ", thread ({x},{y},{z})")?;
        }
        if let Some(l) = self.ptx_line {
            write!(f, ", PTX line {l}")?;
        }
        if let Some((file, line)) = &self.source {
            let base = file.rsplit('/').next().unwrap_or(file);
            write!(f, " ({base}:{line})")?;
        }
        if let (Some(a), Some(addr)) = (&self.allocation, self.address) {
            let size = self.size.unwrap_or(1) as u64;
            let range = format!("`{}` [{:#x}, {:#x})", a.name, a.start, a.end);
            if addr >= a.end {
                write!(
                    f,
                    "\n  = {} bytes past the end of allocation {range}",
                    addr - a.end
                )?;
            } else if addr.saturating_add(size) <= a.start {
                write!(
                    f,
                    "\n  = {} bytes before the start of allocation {range}",
                    a.start - addr
                )?;
            } else if addr < a.start {
                write!(
                    f,
                    "\n  = the access starts {} bytes before allocation {range}",
                    a.start - addr
                )?;
            } else {
                write!(
                    f,
                    "\n  = the access ends {} bytes past the end of allocation {range}",
                    addr.saturating_add(size) - a.end
                )?;
            }
        }
        if let Some(n) = &self.note {
            write!(f, "\n  = {n}")?;
        }
        Ok(())
    }
}
