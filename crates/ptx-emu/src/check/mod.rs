//! Checks a GPU would not give you, reported like Miri reports undefined behaviour:
//! shared-memory races and reads of uninitialised shared memory ([`race`]), reads of
//! registers never written ([`init`]), and shared memory touched while an asynchronous
//! operation still writes or reads it (the async-hazard hook in [`race::Inflight`]).
//!
//! The executor calls in at one place per kind of event: every shared-memory read, write
//! and atomic goes through [`BlockState::shared_load`], [`BlockState::shared_store`] and
//! [`BlockState::shared_atomic`] (ld/st/atom, generic addresses, `ldmatrix`, `wmma`
//! loads and stores), asynchronous operations through [`BlockState::async_issue`] and
//! [`BlockState::async_land`]/[`BlockState::async_done`] (`cp.async`, `wgmma`); barriers and warp-level syncs through
//! [`race::Shadow::barrier`] and [`race::Shadow::warp_sync`]; register reads through
//! `Warp::r`. A hazard found during an instruction is kept in `Shadow::pending` and turned
//! into a [`Fault`] by the warp once the instruction is done.

pub(crate) mod init;
pub(crate) mod race;

use crate::exec::memory;
use crate::exec::{BlockState, LaunchCtx};
use crate::fault::{Fault, FaultKind};
use race::{Inflight, Rec};

/// How an instruction touches shared memory.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Read,
    Write,
    Atomic,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
            Kind::Atomic => "atomic update",
        }
    }

    fn verb(self, past: bool) -> &'static str {
        match (self, past) {
            (Kind::Read, false) => "reads",
            (Kind::Write, false) => "writes",
            (Kind::Atomic, false) => "atomically updates",
            (Kind::Read, true) => "read",
            (Kind::Write, true) => "wrote",
            (Kind::Atomic, true) => "atomically updated",
        }
    }
}

/// A hazard found at shared byte `at` during the access `[start, start + size)` by thread
/// `tid` (linear in the block) at instruction `pc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hazard {
    Race {
        at: u32,
        start: u32,
        size: u32,
        kind: Kind,
        tid: u32,
        pc: u32,
        other: Rec,
        other_kind: Kind,
    },
    Uninit {
        at: u32,
        start: u32,
        size: u32,
        kind: Kind,
        tid: u32,
        pc: u32,
    },
    Async {
        at: u32,
        start: u32,
        size: u32,
        kind: Kind,
        tid: u32,
        pc: u32,
        op: Inflight,
    },
}

impl BlockState {
    /// Loads `size` bytes of shared memory at `off` for thread `tid` at instruction `pc`.
    #[inline(always)]
    pub(crate) fn shared_load(&mut self, off: u64, size: u32, tid: u32, pc: u32) -> Option<u64> {
        let v = memory::load_bytes(&self.shared, off, size)?;
        if self.check.on() {
            self.check.access(off as usize, size, Kind::Read, tid, pc);
        }
        Some(v)
    }

    /// Stores `size` bytes of `v` to shared memory at `off`.
    #[inline(always)]
    pub(crate) fn shared_store(
        &mut self,
        off: u64,
        size: u32,
        v: u64,
        tid: u32,
        pc: u32,
    ) -> Option<()> {
        memory::store_bytes(&mut self.shared, off, size, v)?;
        if self.check.on() {
            self.check.access(off as usize, size, Kind::Write, tid, pc);
        }
        Some(())
    }

    /// Atomic read-modify-write of shared memory; returns the old value.
    pub(crate) fn shared_atomic(
        &mut self,
        off: u64,
        size: u32,
        tid: u32,
        pc: u32,
        f: impl FnOnce(u64) -> u64,
    ) -> Option<u64> {
        let old = memory::load_bytes(&self.shared, off, size)?;
        memory::store_bytes(&mut self.shared, off, size, f(old))?;
        if self.check.on() {
            self.check.access(off as usize, size, Kind::Atomic, tid, pc);
        }
        Some(old)
    }
}

impl BlockState {
    /// An asynchronous operation of thread `tid` at `pc` starts writing (`writes`:
    /// `cp.async`) or reading (`wgmma` operands) `len` bytes of shared memory at `off`
    /// (bounds already checked): recorded as that access now, then in flight until
    /// [`BlockState::async_land`] or [`BlockState::async_done`].
    pub(crate) fn async_issue(
        &mut self,
        off: u32,
        len: u32,
        tid: u32,
        pc: u32,
        writes: bool,
        what: &'static str,
    ) {
        if self.check.on() {
            let kind = if writes { Kind::Write } else { Kind::Read };
            self.check.access(off as usize, len, kind, tid, pc);
            self.check
                .async_begin(off, off + len, tid, pc, writes, what);
        }
    }

    /// The asynchronous write of thread `tid` to `off` completes with `bytes` (the
    /// `wait_group` that retires it).
    pub(crate) fn async_land(&mut self, tid: u32, off: u32, bytes: &[u8]) {
        let o = off as usize;
        if let Some(dst) = self.shared.get_mut(o..o + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        self.async_done(tid, off, bytes.len() as u32);
    }

    /// The asynchronous operation of thread `tid` on `len` bytes at `off` is retired.
    pub(crate) fn async_done(&mut self, tid: u32, off: u32, len: u32) {
        if self.check.on() {
            self.check.async_retire(tid, off, off + len);
        }
    }
}

/// Thread coordinates of linear thread `tid` of a block of shape `block`.
pub(crate) fn coords(block: [u32; 3], tid: u32) -> [u32; 3] {
    let [x, y, _] = block;
    [tid % x, (tid / x) % y, tid / (x * y)]
}

/// Fills the location of a fault at instruction `pc` of thread `tid`.
pub(crate) fn locate(ctx: &LaunchCtx, blk: &BlockState, tid: u32, pc: u32, f: &mut Fault) {
    f.block = Some(blk.ctaid);
    f.thread = Some(coords(ctx.launch.block, tid));
    if let Some(inst) = ctx.kernel.insts.get(pc as usize) {
        f.ptx_line = Some(inst.line);
        f.source = inst
            .loc
            .and_then(|(file, line)| ctx.module.file(file).map(|p| (p.to_string(), line)));
    }
}

/// "PTX line 40 (gemm_tiled.cu:57)" for instruction `pc`.
pub(crate) fn where_(ctx: &LaunchCtx, pc: u32) -> String {
    let Some(inst) = ctx.kernel.insts.get(pc as usize) else {
        return format!("instruction {pc}");
    };
    let src = inst
        .loc
        .and_then(|(file, line)| ctx.module.file(file).map(|p| (p.to_string(), line)))
        .map(|(file, line)| {
            let base = file.rsplit('/').next().unwrap_or(&file).to_string();
            format!(" ({base}:{line})")
        })
        .unwrap_or_default();
    format!("PTX line {}{src}", inst.line)
}

/// "shared offset 0x40 (`As` + 64)": the byte and the shared variable holding it.
pub(crate) fn describe(ctx: &LaunchCtx, off: u32) -> String {
    let var = ctx
        .kernel
        .shared_vars
        .iter()
        .filter(|(_, start, size)| off >= *start && (off - start) < *size)
        .max_by_key(|(_, start, _)| *start);
    match var {
        Some((name, start, _)) => format!(
            "shared offset {off:#x} (`{}` + {})",
            source_name(name),
            off - start
        ),
        None => format!("shared offset {off:#x}"),
    }
}

/// The CUDA name of a function-local `__shared__` variable: NVRTC emits it mangled as
/// `_ZZ<function encoding>E<length><name>[_<discriminator>]` (Itanium C++ ABI, local names).
pub(crate) fn source_name(mangled: &str) -> &str {
    if !mangled.starts_with("_ZZ") {
        return mangled;
    }
    for (i, _) in mangled
        .match_indices('E')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        let rest = &mangled[i + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(n) = rest[..digits].parse::<usize>() else {
            continue;
        };
        let after = &rest[digits..];
        if after.len() < n || !after.is_char_boundary(n) {
            continue;
        }
        let tail = &after[n..];
        let discriminator = tail
            .strip_prefix('_')
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
        if n > 0 && (tail.is_empty() || discriminator) {
            return &after[..n];
        }
    }
    mangled
}

fn thread(ctx: &LaunchCtx, tid: u32) -> String {
    let [x, y, z] = coords(ctx.launch.block, tid);
    format!("thread ({x},{y},{z})")
}

/// The fault for a hazard the shadow found.
pub(crate) fn hazard_fault(ctx: &LaunchCtx, blk: &BlockState, h: &Hazard) -> Fault {
    match *h {
        Hazard::Race {
            at,
            start,
            size,
            kind,
            tid,
            pc,
            other,
            other_kind,
        } => {
            let otid = other.tid as u32;
            let mut f = ctx.fault(
                FaultKind::SharedRace,
                format!(
                    "data race on shared memory: {} {} {size} bytes at {}, which {} {} at {} with no barrier in between",
                    thread(ctx, tid),
                    kind.verb(false),
                    describe(ctx, start),
                    thread(ctx, otid),
                    other_kind.verb(true),
                    where_(ctx, other.pc),
                ),
            );
            locate(ctx, blk, tid, pc, &mut f);
            f.address = Some(at as u64);
            f.size = Some(size);
            let same_warp = tid / 32 == otid / 32;
            f.note = Some(format!(
                "{} by {} (warp {}) at {}, then {} by {} (warp {}) at {}; byte {}\n  = {}",
                other_kind.noun(),
                thread(ctx, otid),
                otid / 32,
                where_(ctx, other.pc),
                kind.noun(),
                thread(ctx, tid),
                tid / 32,
                where_(ctx, pc),
                describe(ctx, at),
                if same_warp {
                    "lanes of one warp are not lock-step (independent thread scheduling, Volta and later): order them with __syncwarp() (bar.warp.sync) or __syncthreads()"
                } else {
                    "threads of different warps are ordered only by a barrier both take part in: __syncthreads() (bar.sync)"
                }
            ));
            f
        }
        Hazard::Uninit {
            at,
            start,
            size,
            kind,
            tid,
            pc,
        } => {
            let mut f = ctx.fault(
                FaultKind::UninitializedShared,
                format!(
                    "{} of uninitialised shared memory: {size} bytes at {}; byte {} was never written since the block started",
                    if kind == Kind::Atomic { "atomic update" } else { "read" },
                    describe(ctx, start),
                    describe(ctx, at),
                ),
            );
            locate(ctx, blk, tid, pc, &mut f);
            f.address = Some(at as u64);
            f.size = Some(size);
            f.note = Some(
                "shared memory is not zeroed at block start on a GPU: write every byte before reading it".into(),
            );
            f
        }
        Hazard::Async {
            at,
            start,
            size,
            kind,
            tid,
            pc,
            op,
        } => {
            let mut f = ctx.fault(
                FaultKind::AsyncHazard,
                format!(
                    "{} {} {size} bytes at {} while an in-flight {} of {} (issued at {}) still {} them",
                    thread(ctx, tid),
                    kind.verb(false),
                    describe(ctx, start),
                    op.what,
                    thread(ctx, op.tid),
                    where_(ctx, op.pc),
                    if op.writes { "writes" } else { "reads" },
                ),
            );
            locate(ctx, blk, tid, pc, &mut f);
            f.address = Some(at as u64);
            f.size = Some(size);
            f.note = Some(format!(
                "byte {} is in flight until the issuing thread's wait_group retires its group",
                describe(ctx, at)
            ));
            f
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_shared_names_are_demangled() {
        use super::source_name;
        assert_eq!(source_name("_ZZ15orac_gemm_tiledE2As"), "As");
        assert_eq!(source_name("_ZZ4mainE3buf_0"), "buf");
        assert_eq!(
            source_name("_ZZ11attend_passILi8ELi2EEvPK13__nv_bfloat16E2sm"),
            "sm"
        );
        assert_eq!(source_name("s"), "s");
        assert_eq!(source_name("_ZZE"), "_ZZE");
    }
}
