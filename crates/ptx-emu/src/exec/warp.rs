//! One warp: 32 lanes with their registers and PCs. The warp executes the instruction at the
//! lowest PC among its live lanes, with every lane at that PC active; lanes that branched
//! ahead wait, which reconverges structured control flow at the join point.

use std::sync::atomic::{Ordering, fence};

use super::memory::{self, Generic, LOCAL_WINDOW, SHARED_WINDOW};
use super::ops::{self, sext};
use super::wgmma::{self, Desc, InFlight, WgmmaState};
use super::{BlockState, LaunchCtx};
use crate::fault::{AllocNote, Fault, FaultKind};
use crate::inst::*;

pub(crate) enum Stop {
    Exited,
    Barrier,
    /// The scheduler's budget for this turn is spent.
    Yield,
}

#[derive(Default)]
pub(crate) struct Warp {
    pub id: u32,
    /// `regs[reg * 32 + lane]`
    regs: Vec<u64>,
    pc: [u32; 32],
    /// Lanes that exist and have not exited.
    pub live: u32,
    /// Waiting at barrier (id, expected thread count).
    pub wait: Option<(u32, Option<u32>)>,
    /// The barrier instruction waited at.
    pub wait_pc: u32,
    tid: [[u32; 3]; 32],
    ntid: [u32; 3],
    local: Vec<u8>,
    local_bytes: u32,
    /// Register initcheck (`Options::initcheck`): `written[reg]` has a bit per lane that
    /// wrote the register; a read without it is noted in `uninit` as (reg, lane).
    pub initcheck: bool,
    written: Vec<u32>,
    uninit: std::cell::Cell<Option<(u32, u32)>>,
    /// The instruction being executed (for the checks' reports).
    cur_pc: u32,
    /// In-flight `wgmma.mma_async` groups (PTX ISA 9.7.15.7).
    pub wgmma: WgmmaState,
    /// `cp.async` copies issued and not yet complete, in issue order.
    pending: Vec<Pending>,
    /// `cp.async.commit_group`s each lane has executed: the group its next copy joins.
    committed: [u32; 32],
}

/// One in-flight `cp.async` of one lane (PTX ISA 9.7.9.25, cp.async). The source bytes are read
/// (and bounds-checked) when it is issued; they reach shared memory only when a
/// `cp.async.wait_group`/`wait_all` of that lane retires its group.
struct Pending {
    lane: u8,
    len: u8,
    group: u32,
    /// shared-memory offset
    dst: u32,
    data: [u8; 16],
}

macro_rules! lanes {
    ($mask:expr, $l:ident, $body:block) => {{
        let mut mm: u32 = $mask;
        while mm != 0 {
            let $l = mm.trailing_zeros() as usize;
            mm &= mm - 1;
            $body
        }
    }};
}

mod count;
mod tensor;

/// A memory access for fault reports.
struct Access {
    what: &'static str,
    space: Space,
    addr: u64,
    size: u32,
}

impl Warp {
    pub fn reset(&mut self, id: u32, nthreads: u32, block: [u32; 3], nregs: u32, local_bytes: u32) {
        self.id = id;
        self.regs.clear();
        self.regs.resize(nregs as usize * 32, 0);
        self.written.clear();
        self.written.resize(nregs as usize, 0);
        self.uninit.set(None);
        self.pc = [0; 32];
        self.live = 0;
        self.wait = None;
        self.ntid = block;
        for l in 0..32 {
            let t = id * 32 + l;
            if t < nthreads {
                self.live |= 1 << l;
            }
            self.tid[l as usize] = [
                t % block[0],
                (t / block[0]) % block[1],
                t / (block[0] * block[1]),
            ];
        }
        self.local_bytes = local_bytes;
        self.wgmma.reset();
        self.pending.clear();
        self.committed = [0; 32];
        self.local.clear();
        self.local.resize(local_bytes as usize * 32, 0);
    }

    pub fn first_live(&self) -> usize {
        self.live.trailing_zeros() as usize
    }

    #[inline(always)]
    fn r(&self, reg: u32, l: usize) -> u64 {
        if self.initcheck
            && self.written[reg as usize] & (1 << l) == 0
            && self.uninit.get().is_none()
        {
            self.uninit.set(Some((reg, l as u32)));
        }
        self.regs[reg as usize * 32 + l]
    }

    #[inline(always)]
    fn w(&mut self, reg: u32, l: usize, v: u64) {
        self.written[reg as usize] |= 1 << l;
        self.regs[reg as usize * 32 + l] = v;
    }

    /// The fault for a hazard or uninitialised register noted during the last instruction.
    #[cold]
    fn check_fault(&self, ctx: &LaunchCtx, blk: &mut BlockState) -> Option<Fault> {
        if let Some((reg, lane)) = self.uninit.get() {
            return Some(crate::check::init::register_fault(
                ctx,
                blk,
                self.id,
                lane,
                reg,
                self.cur_pc,
            ));
        }
        let h = blk.check.pending.take()?;
        Some(crate::check::hazard_fault(ctx, blk, &h))
    }

    #[inline(always)]
    fn v(&self, s: &Src, l: usize, ctx: &LaunchCtx, blk: &BlockState) -> u64 {
        match *s {
            Src::Reg(r) => self.r(r, l),
            Src::Imm(v) => v,
            Src::Special(sr) => self.special(sr, l, ctx, blk),
        }
    }

    fn special(&self, sr: Sreg, l: usize, ctx: &LaunchCtx, blk: &BlockState) -> u64 {
        let lt = (1u64 << l) - 1;
        match sr {
            Sreg::Tid(c) => self.tid[l][c as usize] as u64,
            Sreg::Ntid(c) => self.ntid[c as usize] as u64,
            Sreg::Ctaid(c) => blk.ctaid[c as usize] as u64,
            Sreg::Nctaid(c) => ctx.launch.grid[c as usize] as u64,
            Sreg::LaneId => l as u64,
            Sreg::WarpId => self.id as u64,
            Sreg::NWarpId => 64,
            Sreg::SmId | Sreg::GridId => 0,
            Sreg::NSmId => 1,
            Sreg::Clock => blk.warp_insts & 0xffff_ffff,
            Sreg::Clock64 => blk.warp_insts,
            Sreg::LaneMaskEq => 1 << l,
            Sreg::LaneMaskLt => lt,
            Sreg::LaneMaskLe => lt | (1 << l),
            Sreg::LaneMaskGt => !(lt | (1 << l)) & 0xffff_ffff,
            Sreg::LaneMaskGe => !lt & 0xffff_ffff,
            Sreg::DynSmem => ctx.launch.dynamic_shared_bytes as u64,
            Sreg::TotalSmem => blk.shared.len() as u64,
        }
    }

    /// Fills the location fields of a fault.
    pub fn locate(
        &self,
        ctx: &LaunchCtx,
        blk: &BlockState,
        inst: &Inst,
        lane: usize,
        f: &mut Fault,
    ) {
        f.block = Some(blk.ctaid);
        f.thread = Some(self.tid[lane.min(31)]);
        f.ptx_line = Some(inst.line);
        f.source = inst
            .loc
            .and_then(|(file, line)| ctx.module.file(file).map(|p| (p.to_string(), line)));
    }

    fn fault(
        &self,
        ctx: &LaunchCtx,
        blk: &BlockState,
        inst: &Inst,
        lane: usize,
        kind: FaultKind,
        msg: String,
    ) -> Fault {
        let mut f = ctx.fault(kind, msg);
        self.locate(ctx, blk, inst, lane, &mut f);
        f
    }

    fn mem_fault(
        &self,
        ctx: &LaunchCtx,
        blk: &BlockState,
        inst: &Inst,
        lane: usize,
        a: Access,
        misaligned: bool,
    ) -> Fault {
        let (kind, msg) = if misaligned {
            (
                FaultKind::Misaligned,
                format!(
                    "misaligned {} {} of {} bytes at {:#x} (needs {}-byte alignment)",
                    a.space.name(),
                    a.what,
                    a.size,
                    a.addr,
                    a.size
                ),
            )
        } else {
            let kind = match a.space {
                Space::Shared => FaultKind::OutOfBoundsShared,
                Space::Local => FaultKind::OutOfBoundsLocal,
                Space::Param | Space::Const => FaultKind::OutOfBoundsParam,
                _ => FaultKind::OutOfBoundsGlobal,
            };
            (
                kind,
                format!(
                    "out-of-bounds {} {} of {} bytes at {:#x}",
                    a.space.name(),
                    a.what,
                    a.size,
                    a.addr
                ),
            )
        };
        let mut f = self.fault(ctx, blk, inst, lane, kind, msg);
        f.address = Some(a.addr);
        f.size = Some(a.size);
        if !misaligned {
            match a.space {
                Space::Global | Space::Generic => {
                    f.allocation = ctx
                        .global
                        .nearest(a.addr)
                        .map(|(name, start, end)| AllocNote { name, start, end });
                }
                Space::Shared => {
                    f.note = Some(format!(
                        "the block has {} bytes of shared memory",
                        blk.shared.len()
                    ));
                }
                Space::Local => {
                    f.note = Some(format!(
                        "each thread has {} bytes of local memory",
                        self.local_bytes
                    ));
                }
                _ => {}
            }
        }
        f
    }

    #[inline(always)]
    fn addr(&self, a: &Addr, l: usize) -> u64 {
        match a.base {
            Some(r) => self.r(r, l).wrapping_add(a.offset as u64),
            None => a.offset as u64,
        }
    }

    /// Loads `size` bytes at `addr` of `space` for lane `l`.
    #[inline(always)]
    fn load(
        &self,
        ctx: &LaunchCtx,
        blk: &mut BlockState,
        space: Space,
        addr: u64,
        size: u32,
        l: usize,
    ) -> Result<u64, Space> {
        match space {
            Space::Global => ctx.global.load(addr, size).ok_or(Space::Global),
            Space::Shared => blk
                .shared_load(addr, size, self.id * 32 + l as u32, self.cur_pc)
                .ok_or(Space::Shared),
            Space::Local => self.load_local(addr, size, l).ok_or(Space::Local),
            Space::Param => memory::load_bytes(&ctx.params, addr, size).ok_or(Space::Param),
            Space::Const => Err(Space::Const),
            Space::Generic => match memory::classify(addr) {
                Generic::Global(a) => ctx.global.load(a, size).ok_or(Space::Global),
                Generic::Shared(a) => blk
                    .shared_load(a, size, self.id * 32 + l as u32, self.cur_pc)
                    .ok_or(Space::Shared),
                Generic::Local(a) => self.load_local(a, size, l).ok_or(Space::Local),
            },
        }
    }

    fn load_local(&self, a: u64, size: u32, l: usize) -> Option<u64> {
        if a.checked_add(size as u64)? > self.local_bytes as u64 {
            return None;
        }
        memory::load_bytes(&self.local, l as u64 * self.local_bytes as u64 + a, size)
    }

    fn store_local(&mut self, a: u64, size: u32, l: usize, v: u64) -> Option<()> {
        if a.checked_add(size as u64)? > self.local_bytes as u64 {
            return None;
        }
        let lb = self.local_bytes as u64;
        memory::store_bytes(&mut self.local, l as u64 * lb + a, size, v)
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn store(
        &mut self,
        ctx: &LaunchCtx,
        blk: &mut BlockState,
        space: Space,
        addr: u64,
        size: u32,
        l: usize,
        v: u64,
    ) -> Result<(), Space> {
        match space {
            Space::Global => ctx.global.store(addr, size, v).ok_or(Space::Global),
            Space::Shared => blk
                .shared_store(addr, size, v, self.id * 32 + l as u32, self.cur_pc)
                .ok_or(Space::Shared),
            Space::Local => self.store_local(addr, size, l, v).ok_or(Space::Local),
            Space::Param | Space::Const => Err(space),
            Space::Generic => match memory::classify(addr) {
                Generic::Global(a) => ctx.global.store(a, size, v).ok_or(Space::Global),
                Generic::Shared(a) => blk
                    .shared_store(a, size, v, self.id * 32 + l as u32, self.cur_pc)
                    .ok_or(Space::Shared),
                Generic::Local(a) => self.store_local(a, size, l, v).ok_or(Space::Local),
            },
        }
    }

    /// Atomic read-modify-write; returns the old value.
    #[allow(clippy::too_many_arguments)]
    fn atom(
        &mut self,
        ctx: &LaunchCtx,
        blk: &mut BlockState,
        space: Space,
        addr: u64,
        op: AtomOp,
        ty: Ty,
        b: u64,
        c: u64,
        l: usize,
    ) -> Result<u64, Space> {
        let size = ty.bytes();
        let (space, addr) = match space {
            Space::Generic => match memory::classify(addr) {
                Generic::Global(a) => (Space::Global, a),
                Generic::Shared(a) => (Space::Shared, a),
                Generic::Local(a) => (Space::Local, a),
            },
            s => (s, addr),
        };
        if space == Space::Global {
            let g = ctx.global;
            return match (size, op, ty) {
                (4, AtomOp::Add, Ty::U32 | Ty::S32 | Ty::B32) => {
                    g.add32(addr, b as u32).map(u64::from)
                }
                (4, ..) => g
                    .rmw32(addr, |old| ops::atom_new(op, ty, old as u64, b, c) as u32)
                    .map(u64::from),
                _ => g.rmw64(addr, |old| ops::atom_new(op, ty, old, b, c)),
            }
            .ok_or(Space::Global);
        }
        if space == Space::Shared {
            let tid = self.id * 32 + l as u32;
            return blk
                .shared_atomic(addr, size, tid, self.cur_pc, |old| {
                    ops::atom_new(op, ty, old, b, c)
                })
                .ok_or(Space::Shared);
        }
        // local memory belongs to this thread, which one host thread runs
        let old = self.load(ctx, blk, space, addr, size, l)?;
        self.store(
            ctx,
            blk,
            space,
            addr,
            size,
            l,
            ops::atom_new(op, ty, old, b, c),
        )?;
        Ok(old)
    }

    /// Runs until the warp exits or reaches a barrier; `COUNT` (`Options::counters`) is a
    /// constant so that a run without counters carries none of their code.
    pub fn run<const COUNT: bool>(
        &mut self,
        ctx: &LaunchCtx,
        blk: &mut BlockState,
    ) -> Result<Stop, Fault> {
        let insts = &ctx.kernel.insts[..];
        loop {
            if (self.uninit.get().is_some() || blk.check.pending.is_some())
                && let Some(f) = self.check_fault(ctx, blk)
            {
                return Err(f);
            }
            let live = self.live;
            if live == 0 {
                return Ok(Stop::Exited);
            }
            if blk.budget == 0 {
                return Ok(Stop::Yield);
            }
            blk.budget -= 1;
            // the lowest PC among live lanes, and every lane there
            let mut pc = u32::MAX;
            let mut mask = 0u32;
            lanes!(live, l, {
                let p = self.pc[l];
                if p < pc {
                    pc = p;
                    mask = 1 << l;
                } else if p == pc {
                    mask |= 1 << l;
                }
            });
            if mask != live && blk.lane_rng != 0 {
                (pc, mask) = super::order::divergent_pick(
                    &self.pc,
                    live,
                    (pc, mask),
                    insts,
                    &mut blk.lane_rng,
                );
            }
            let inst = &insts[pc as usize];
            self.cur_pc = pc;
            let exec = match inst.guard {
                None => mask,
                Some((p, neg)) => {
                    let mut e = 0;
                    lanes!(mask, l, {
                        if ((self.r(p, l) & 1) != 0) != neg {
                            e |= 1 << l;
                        }
                    });
                    e
                }
            };
            blk.executed += mask.count_ones() as u64;
            blk.warp_insts += 1;
            if COUNT && let Some(t) = blk.tally.as_deref_mut() {
                let c = &mut t.per_pc[pc as usize];
                c.issued += 1;
                c.active += mask.count_ones() as u64;
                c.pred_on += exec.count_ones() as u64;
                // a branch that splits the lanes executing it
                if matches!(inst.op, Op::Bra { .. }) && exec != 0 && exec != mask {
                    c.divergent += 1;
                }
            }
            if blk.executed_before + blk.executed > ctx.limit {
                let mut f = self.fault(
                    ctx,
                    blk,
                    inst,
                    mask.trailing_zeros() as usize,
                    FaultKind::StepLimit,
                    format!(
                        "step limit: more than {} thread-instructions executed",
                        ctx.limit
                    ),
                );
                f.note = Some(
                    "raise Options::max_thread_instructions if the kernel is just long".into(),
                );
                return Err(f);
            }
            let next = pc + 1;
            match &inst.op {
                Op::Bra { target } => {
                    lanes!(mask, l, {
                        self.pc[l] = if exec & (1 << l) != 0 { *target } else { next };
                    });
                    continue;
                }
                Op::Exit => {
                    if exec != 0 && blk.exited == 0 {
                        blk.exit_line = inst.line;
                    }
                    blk.exited += exec.count_ones();
                    self.live &= !exec;
                    lanes!(mask & !exec, l, {
                        self.pc[l] = next;
                    });
                    continue;
                }
                Op::Bar { id, count } => {
                    lanes!(mask, l, {
                        self.pc[l] = next;
                    });
                    if exec == 0 {
                        continue;
                    }
                    let lane = exec.trailing_zeros() as usize;
                    if exec != live {
                        let missing = live & !exec;
                        let mut f = self.fault(
                            ctx,
                            blk,
                            inst,
                            lane,
                            FaultKind::BarrierDivergence,
                            "barrier reached by only part of a warp (divergent bar.sync)".into(),
                        );
                        let where_ =
                            insts[self.pc[missing.trailing_zeros() as usize] as usize].line;
                        f.note = Some(format!(
                            "lanes {:#010x} of warp {} are at the barrier, lanes {:#010x} are elsewhere (e.g. PTX line {where_}); bar.sync is .aligned: all threads of a warp must execute it together (PTX ISA 9.7.13.1)",
                            exec, self.id, missing
                        ));
                        return Err(f);
                    }
                    let id_v = self.v(id, lane, ctx, blk) as u32;
                    let cnt = count.as_ref().map(|c| self.v(c, lane, ctx, blk) as u32);
                    if cnt.is_none() && blk.exited > 0 {
                        let mut f = exited_fault(ctx, blk);
                        self.locate(ctx, blk, inst, lane, &mut f);
                        return Err(f);
                    }
                    if let Some(f) = self.check_fault(ctx, blk) {
                        return Err(f);
                    }
                    self.wait = Some((id_v, cnt));
                    self.wait_pc = pc;
                    return Ok(Stop::Barrier);
                }
                _ => {}
            }
            lanes!(mask, l, {
                self.pc[l] = next;
            });
            if exec == 0 {
                continue;
            }
            if COUNT {
                self.count_memory(blk, inst, exec);
            }
            self.exec(ctx, blk, inst, exec)?;
        }
    }

    #[inline(always)]
    fn exec(
        &mut self,
        ctx: &LaunchCtx,
        blk: &mut BlockState,
        inst: &Inst,
        exec: u32,
    ) -> Result<(), Fault> {
        match &inst.op {
            Op::IBin { op, ty, d, a, b } => {
                if matches!(op, IBinOp::Div | IBinOp::Rem) {
                    let mut bad = None;
                    lanes!(exec, l, {
                        let (x, y) = (self.v(a, l, ctx, blk), self.v(b, l, ctx, blk));
                        match ops::ibin(*op, *ty, x, y) {
                            Some(v) => self.w(*d, l, v),
                            None => bad = bad.or(Some(l)),
                        }
                    });
                    if let Some(l) = bad {
                        return Err(self.fault(
                            ctx,
                            blk,
                            inst,
                            l,
                            FaultKind::DivisionByZero,
                            "integer division by zero (undefined in PTX)".into(),
                        ));
                    }
                } else {
                    lanes!(exec, l, {
                        let (x, y) = (self.v(a, l, ctx, blk), self.v(b, l, ctx, blk));
                        let v = ops::ibin(*op, *ty, x, y).unwrap_or(0);
                        self.w(*d, l, v);
                    });
                }
            }
            Op::IUn { op, ty, d, a } => lanes!(exec, l, {
                let v = ops::iun(*op, *ty, self.v(a, l, ctx, blk));
                self.w(*d, l, v);
            }),
            Op::Mad {
                mode,
                ty,
                d,
                a,
                b,
                c,
            } => lanes!(exec, l, {
                let (x, y, z) = (
                    self.v(a, l, ctx, blk),
                    self.v(b, l, ctx, blk),
                    self.v(c, l, ctx, blk),
                );
                self.w(*d, l, ops::mad(*mode, *ty, x, y, z));
            }),
            Op::Bfe { ty, d, a, b, c } => lanes!(exec, l, {
                let v = ops::bfe(
                    *ty,
                    self.v(a, l, ctx, blk),
                    self.v(b, l, ctx, blk),
                    self.v(c, l, ctx, blk),
                );
                self.w(*d, l, v);
            }),
            Op::Bfi { ty, d, f, a, b, c } => lanes!(exec, l, {
                let v = ops::bfi(
                    *ty,
                    self.v(f, l, ctx, blk),
                    self.v(a, l, ctx, blk),
                    self.v(b, l, ctx, blk),
                    self.v(c, l, ctx, blk),
                );
                self.w(*d, l, v);
            }),
            Op::Prmt { d, a, b, c } => lanes!(exec, l, {
                let v = ops::prmt(
                    self.v(a, l, ctx, blk),
                    self.v(b, l, ctx, blk),
                    self.v(c, l, ctx, blk),
                );
                self.w(*d, l, v);
            }),
            Op::Lop3 { d, a, b, c, lut } => lanes!(exec, l, {
                let v = ops::lop3(
                    self.v(a, l, ctx, blk),
                    self.v(b, l, ctx, blk),
                    self.v(c, l, ctx, blk),
                    *lut,
                );
                self.w(*d, l, v);
            }),
            Op::FBin { op, ty, m, d, a, b } => {
                if *ty == Ty::F32 {
                    lanes!(exec, l, {
                        let x = f32::from_bits(self.v(a, l, ctx, blk) as u32);
                        let y = f32::from_bits(self.v(b, l, ctx, blk) as u32);
                        self.w(*d, l, ops::fbin32(*op, *m, x, y).to_bits() as u64);
                    })
                } else {
                    lanes!(exec, l, {
                        let x = f64::from_bits(self.v(a, l, ctx, blk));
                        let y = f64::from_bits(self.v(b, l, ctx, blk));
                        self.w(*d, l, ops::fbin64(*op, *m, x, y).to_bits());
                    })
                }
            }
            Op::Fma { ty, m, d, a, b, c } => {
                if *ty == Ty::F32 {
                    lanes!(exec, l, {
                        let x = f32::from_bits(self.v(a, l, ctx, blk) as u32);
                        let y = f32::from_bits(self.v(b, l, ctx, blk) as u32);
                        let z = f32::from_bits(self.v(c, l, ctx, blk) as u32);
                        self.w(*d, l, ops::fma32(*m, x, y, z).to_bits() as u64);
                    })
                } else {
                    lanes!(exec, l, {
                        let x = f64::from_bits(self.v(a, l, ctx, blk));
                        let y = f64::from_bits(self.v(b, l, ctx, blk));
                        let z = f64::from_bits(self.v(c, l, ctx, blk));
                        self.w(*d, l, ops::fma64(*m, x, y, z).to_bits());
                    })
                }
            }
            Op::FUn { op, ty, m, d, a } => {
                if *ty == Ty::F32 {
                    lanes!(exec, l, {
                        let x = f32::from_bits(self.v(a, l, ctx, blk) as u32);
                        self.w(*d, l, ops::fun32(*op, *m, x).to_bits() as u64);
                    })
                } else {
                    lanes!(exec, l, {
                        let x = f64::from_bits(self.v(a, l, ctx, blk));
                        self.w(*d, l, ops::fun64(*op, *m, x).to_bits());
                    })
                }
            }
            Op::Testp {
                nan,
                finite,
                infinite,
                number,
                normal,
                subnormal,
                ty,
                d,
                a,
            } => lanes!(exec, l, {
                let x = ops::float_val(*ty, self.v(a, l, ctx, blk));
                let sub = if *ty == Ty::F32 {
                    (x as f32).is_subnormal()
                } else {
                    x.is_subnormal()
                };
                let nrm = x.is_finite() && x != 0.0 && !sub;
                let r = (*nan && x.is_nan())
                    || (*finite && x.is_finite())
                    || (*infinite && x.is_infinite())
                    || (*number && !x.is_nan())
                    || (*normal && nrm)
                    || (*subnormal && sub);
                self.w(*d, l, r as u64);
            }),
            Op::Cvt {
                dty,
                sty,
                rnd,
                ftz,
                sat,
                dmask,
                d,
                a,
            } => lanes!(exec, l, {
                let v = ops::cvt(*dty, *sty, *rnd, *ftz, *sat, *dmask, self.v(a, l, ctx, blk));
                self.w(*d, l, v);
            }),
            Op::CvtPack { bf16, rz, d, a, b } => lanes!(exec, l, {
                let x = f32::from_bits(self.v(a, l, ctx, blk) as u32);
                let y = f32::from_bits(self.v(b, l, ctx, blk) as u32);
                self.w(*d, l, ops::cvt_pack(*bf16, *rz, x, y));
            }),
            Op::Mul24 {
                hi,
                signed,
                d,
                a,
                b,
                c,
            } => lanes!(exec, l, {
                let (x, y) = (self.v(a, l, ctx, blk), self.v(b, l, ctx, blk));
                let z = c.as_ref().map_or(0, |c| self.v(c, l, ctx, blk));
                self.w(*d, l, ops::mul24(*hi, *signed, x, y, z));
            }),
            Op::Setp {
                cmp,
                ty,
                comb,
                p,
                q,
                a,
                b,
            } => lanes!(exec, l, {
                let t = ops::setp(*cmp, *ty, self.v(a, l, ctx, blk), self.v(b, l, ctx, blk));
                let (pv, qv) = match comb {
                    None => (t, !t),
                    Some((op, c, neg)) => {
                        let c = ((self.v(c, l, ctx, blk) & 1) != 0) != *neg;
                        let f = |x: bool| match op {
                            BoolOp::And => x && c,
                            BoolOp::Or => x || c,
                            BoolOp::Xor => x ^ c,
                        };
                        (f(t), f(!t))
                    }
                };
                self.w(*p, l, pv as u64);
                if let Some(q) = q {
                    self.w(*q, l, qv as u64);
                }
            }),
            Op::Selp { ty, d, a, b, c } => lanes!(exec, l, {
                let v = if self.v(c, l, ctx, blk) & 1 != 0 {
                    self.v(a, l, ctx, blk)
                } else {
                    self.v(b, l, ctx, blk)
                };
                self.w(*d, l, v & ty.mask());
            }),
            Op::Slct {
                ty,
                cf32,
                d,
                a,
                b,
                c,
            } => lanes!(exec, l, {
                let cv = self.v(c, l, ctx, blk);
                let pick_a = if *cf32 {
                    f32::from_bits(cv as u32) >= 0.0
                } else {
                    sext(cv, 32) >= 0
                };
                let v = if pick_a {
                    self.v(a, l, ctx, blk)
                } else {
                    self.v(b, l, ctx, blk)
                };
                self.w(*d, l, v & ty.mask());
            }),
            Op::Pack {
                d,
                parts,
                part_bits,
            } => lanes!(exec, l, {
                let pm = if *part_bits >= 64 {
                    u64::MAX
                } else {
                    (1u64 << part_bits) - 1
                };
                let mut v = 0u64;
                for (i, p) in parts.iter().enumerate() {
                    v |= (self.v(p, l, ctx, blk) & pm) << (i as u32 * part_bits);
                }
                self.w(*d, l, v);
            }),
            Op::Unpack { ds, a, part_bits } => lanes!(exec, l, {
                let pm = if *part_bits >= 64 {
                    u64::MAX
                } else {
                    (1u64 << part_bits) - 1
                };
                let v = self.v(a, l, ctx, blk);
                for (i, r) in ds.iter().enumerate() {
                    if let Some(r) = r {
                        self.w(*r, l, (v >> (i as u32 * part_bits)) & pm);
                    }
                }
            }),
            Op::Ld {
                space,
                ty,
                d,
                n,
                dmask,
                addr,
            } => {
                let size = ty.bytes();
                let total = size * *n as u32;
                lanes!(exec, l, {
                    let base = self.addr(addr, l);
                    if !base.is_multiple_of(total as u64) {
                        return Err(self.mem_fault(
                            ctx,
                            blk,
                            inst,
                            l,
                            Access {
                                what: "load",
                                space: *space,
                                addr: base,
                                size: total,
                            },
                            true,
                        ));
                    }
                    for (k, dk) in d.iter().enumerate().take(*n as usize) {
                        let a = base.wrapping_add((k as u32 * size) as u64);
                        match self.load(ctx, blk, *space, a, size, l) {
                            Ok(v) => {
                                if let Some(r) = *dk {
                                    let v = if ty.is_signed() {
                                        sext(v, ty.bits()) as u64 & dmask
                                    } else {
                                        v
                                    };
                                    self.w(r, l, v);
                                }
                            }
                            Err(sp) => {
                                return Err(self.mem_fault(
                                    ctx,
                                    blk,
                                    inst,
                                    l,
                                    Access {
                                        what: "load",
                                        space: resolved(*space, sp),
                                        addr: a,
                                        size,
                                    },
                                    false,
                                ));
                            }
                        }
                    }
                });
            }
            Op::St {
                space,
                ty,
                a,
                n,
                addr,
            } => {
                let size = ty.bytes();
                let total = size * *n as u32;
                lanes!(exec, l, {
                    let base = self.addr(addr, l);
                    if !base.is_multiple_of(total as u64) {
                        return Err(self.mem_fault(
                            ctx,
                            blk,
                            inst,
                            l,
                            Access {
                                what: "store",
                                space: *space,
                                addr: base,
                                size: total,
                            },
                            true,
                        ));
                    }
                    for (k, ak) in a.iter().enumerate().take(*n as usize) {
                        let at = base.wrapping_add((k as u32 * size) as u64);
                        let v = self.v(ak, l, ctx, blk) & ty.mask();
                        if let Err(sp) = self.store(ctx, blk, *space, at, size, l, v) {
                            return Err(self.mem_fault(
                                ctx,
                                blk,
                                inst,
                                l,
                                Access {
                                    what: "store",
                                    space: resolved(*space, sp),
                                    addr: at,
                                    size,
                                },
                                false,
                            ));
                        }
                    }
                });
            }
            Op::Atom {
                space,
                op,
                ty,
                d,
                addr,
                b,
                c,
            } => {
                let size = ty.bytes();
                lanes!(exec, l, {
                    let at = self.addr(addr, l);
                    if !at.is_multiple_of(size as u64) {
                        return Err(self.mem_fault(
                            ctx,
                            blk,
                            inst,
                            l,
                            Access {
                                what: "atomic",
                                space: *space,
                                addr: at,
                                size,
                            },
                            true,
                        ));
                    }
                    let (bv, cv) = (self.v(b, l, ctx, blk), self.v(c, l, ctx, blk));
                    match self.atom(ctx, blk, *space, at, *op, *ty, bv, cv, l) {
                        Ok(old) => {
                            if let Some(d) = d {
                                self.w(*d, l, old);
                            }
                        }
                        Err(sp) => {
                            return Err(self.mem_fault(
                                ctx,
                                blk,
                                inst,
                                l,
                                Access {
                                    what: "atomic",
                                    space: resolved(*space, sp),
                                    addr: at,
                                    size,
                                },
                                false,
                            ));
                        }
                    }
                });
            }
            Op::Cvta {
                to,
                space,
                d,
                a,
                mask,
            } => lanes!(exec, l, {
                let x = self.v(a, l, ctx, blk);
                let window = match space {
                    Space::Shared => SHARED_WINDOW,
                    Space::Local => LOCAL_WINDOW,
                    _ => 0,
                };
                let v = if *to {
                    x.wrapping_sub(window)
                } else {
                    x.wrapping_add(window)
                };
                self.w(*d, l, v & mask);
            }),
            Op::Membar => fence(Ordering::SeqCst),
            Op::BarWarpSync { mask } => {
                let lane = exec.trailing_zeros() as usize;
                let m = self.v(mask, lane, ctx, blk) as u32;
                if m & !exec != 0 || exec & !m != 0 {
                    return Err(self.mask_fault(ctx, blk, inst, lane, "bar.warp.sync", m, exec));
                }
                blk.check.warp_sync(self.id, exec);
            }
            Op::Shfl {
                mode,
                d,
                p,
                a,
                b,
                c,
                mask,
            } => {
                // PTX ISA 9.7.8.6 shfl.sync: all lanes of membermask execute it together
                let mut src = [0u64; 32];
                let mut res = [(0u64, false); 32];
                lanes!(exec, l, {
                    src[l] = self.v(a, l, ctx, blk);
                });
                lanes!(exec, l, {
                    let m = self.v(mask, l, ctx, blk) as u32;
                    if m & !exec != 0 || m & (1 << l) == 0 {
                        return Err(self.mask_fault(ctx, blk, inst, l, "shfl.sync", m, exec));
                    }
                    let bv = (self.v(b, l, ctx, blk) & 31) as i32;
                    let cv = self.v(c, l, ctx, blk) as i32;
                    let clamp = cv & 31;
                    let seg = (cv >> 8) & 31;
                    let lane = l as i32;
                    let max_lane = (lane & seg) | (clamp & !seg);
                    let min_lane = lane & seg;
                    let (j, ok) = match mode {
                        ShflMode::Up => (lane - bv, lane - bv >= max_lane),
                        ShflMode::Down => (lane + bv, lane + bv <= max_lane),
                        ShflMode::Bfly => (lane ^ bv, (lane ^ bv) <= max_lane),
                        ShflMode::Idx => {
                            let j = min_lane | (bv & !seg);
                            (j, j <= max_lane)
                        }
                    };
                    let j = if ok { j as usize } else { l };
                    if exec & (1 << j) == 0 {
                        let mut f = self.fault(
                            ctx,
                            blk,
                            inst,
                            l,
                            FaultKind::ShuffleMaskMismatch,
                            format!("shfl.sync reads lane {j}, which is not executing it (undefined value)"),
                        );
                        f.note = Some(format!(
                            "executing lanes {exec:#010x}, membermask {m:#010x}"
                        ));
                        return Err(f);
                    }
                    res[l] = (src[j], ok);
                });
                blk.check.warp_sync(self.id, exec);
                lanes!(exec, l, {
                    self.w(*d, l, res[l].0 & 0xffff_ffff);
                    if let Some(p) = p {
                        self.w(*p, l, res[l].1 as u64);
                    }
                });
            }
            Op::Vote {
                mode,
                d,
                a,
                neg,
                mask,
            } => {
                let lane = exec.trailing_zeros() as usize;
                let m = self.v(mask, lane, ctx, blk) as u32;
                if m & !exec != 0 || exec & !m != 0 {
                    return Err(self.mask_fault(ctx, blk, inst, lane, "vote.sync", m, exec));
                }
                blk.check.warp_sync(self.id, exec);
                let mut ballot = 0u32;
                lanes!(exec, l, {
                    if ((self.v(a, l, ctx, blk) & 1) != 0) != *neg {
                        ballot |= 1 << l;
                    }
                });
                let v = match mode {
                    VoteMode::Ballot => ballot as u64,
                    VoteMode::All => (ballot == exec) as u64,
                    VoteMode::Any => (ballot != 0) as u64,
                    VoteMode::Uni => (ballot == 0 || ballot == exec) as u64,
                };
                lanes!(exec, l, {
                    self.w(*d, l, v);
                });
            }
            Op::Activemask { d } => lanes!(exec, l, {
                self.w(*d, l, exec as u64);
            }),
            Op::CpAsync {
                dst,
                src,
                cp_size,
                src_size,
            } => self.cp_async(ctx, blk, inst, exec, dst, src, *cp_size as u32, src_size)?,
            Op::CpAsyncCommit => lanes!(exec, l, {
                self.committed[l] = self.committed[l].wrapping_add(1);
            }),
            Op::CpAsyncWait { n, all } => {
                // 9.7.9.25, cp.async.wait_group: wait until at most `n` of the lane's most recent committed
                // groups are pending; `wait_all` commits the open group and waits for all
                if *all {
                    lanes!(exec, l, {
                        self.committed[l] = self.committed[l].wrapping_add(1);
                    });
                }
                let committed = self.committed;
                let n = *n;
                let mut pending = std::mem::take(&mut self.pending);
                pending.retain(|p| {
                    let l = p.lane as usize;
                    let done = exec & (1 << l) != 0 && p.group.saturating_add(n) < committed[l];
                    if done {
                        // bounds were checked at issue; shared memory does not change size
                        let tid = self.id * 32 + l as u32;
                        blk.async_land(tid, p.dst, &p.data[..p.len as usize]);
                    }
                    !done
                });
                self.pending = pending;
            }
            Op::Ldmatrix {
                num,
                trans,
                space,
                d,
                addr,
            } => self.ldmatrix(ctx, blk, inst, exec, *num, *trans, *space, d, addr)?,
            Op::Mma(op) => self.mma(ctx, blk, inst, exec, op)?,
            Op::WmmaLoad(op) => self.wmma_load(ctx, blk, inst, exec, op)?,
            Op::WmmaStore(op) => self.wmma_store(ctx, blk, inst, exec, op)?,
            Op::WmmaMma(op) => self.wmma_mma(ctx, blk, inst, exec, op)?,
            Op::Wgmma(w) => self.wgmma(ctx, blk, inst, exec, w)?,
            Op::WgmmaFence => self.warpgroup_check(ctx, blk, inst, exec, "wgmma.fence")?,
            Op::WgmmaCommit => {
                self.warpgroup_check(ctx, blk, inst, exec, "wgmma.commit_group")?;
                self.wgmma.commit();
            }
            Op::WgmmaWait { n } => {
                self.warpgroup_check(ctx, blk, inst, exec, "wgmma.wait_group")?;
                // the groups this wait retires no longer read their operands (async hazards)
                let tid = self.id * 32 + exec.trailing_zeros();
                let retire = self.wgmma.groups.len().saturating_sub(*n as usize);
                for rec in self.wgmma.groups.iter().take(retire).flatten() {
                    for &(lo, hi) in &rec.reads {
                        blk.async_done(tid, lo, hi - lo);
                    }
                }
                self.wgmma.wait(*n);
            }
            Op::Nop => {}
            Op::Bra { .. } | Op::Exit | Op::Bar { .. } => {
                unreachable!("control flow handled in run")
            }
        }
        Ok(())
    }

    /// Issues `cp.async` for the lanes of `exec` (PTX ISA 9.7.9.25, cp.async): checks both
    /// addresses (aligned to cp-size; the destination inside the block's shared memory; the
    /// `src-size` bytes read inside one global allocation; none read when src-size is 0) and
    /// queues the copy, zero-filled past src-size, in the lane's open group.
    #[allow(clippy::too_many_arguments)]
    fn cp_async(
        &mut self,
        ctx: &LaunchCtx,
        blk: &mut BlockState,
        inst: &Inst,
        exec: u32,
        dst: &Addr,
        src: &Addr,
        n: u32,
        src_size: &CpSrcSize,
    ) -> Result<(), Fault> {
        lanes!(exec, l, {
            let d = self.addr(dst, l);
            let s = self.addr(src, l);
            let ss = match src_size {
                CpSrcSize::Full => n as u64,
                CpSrcSize::Bytes(x) => self.v(x, l, ctx, blk) & 0xffff_ffff,
                CpSrcSize::Ignore(p, neg) => {
                    if ((self.r(*p, l) & 1) != 0) != *neg {
                        0
                    } else {
                        n as u64
                    }
                }
            };
            if ss > n as u64 {
                return Err(self.fault(
                    ctx,
                    blk,
                    inst,
                    l,
                    FaultKind::InvalidOperand,
                    format!("cp.async src-size {ss} is larger than cp-size {n} (undefined, PTX ISA 9.7.9.25, cp.async)"),
                ));
            }
            let ss = ss as u32;
            for (addr, space, what) in [
                (d, Space::Shared, "cp.async store"),
                (s, Space::Global, "cp.async load"),
            ] {
                if !addr.is_multiple_of(n as u64) {
                    return Err(self.mem_fault(
                        ctx,
                        blk,
                        inst,
                        l,
                        Access {
                            what,
                            space,
                            addr,
                            size: n,
                        },
                        true,
                    ));
                }
            }
            if d.checked_add(n as u64)
                .is_none_or(|e| e > blk.shared.len() as u64)
            {
                return Err(self.mem_fault(
                    ctx,
                    blk,
                    inst,
                    l,
                    Access {
                        what: "cp.async store",
                        space: Space::Shared,
                        addr: d,
                        size: n,
                    },
                    false,
                ));
            }
            let mut data = [0u8; 16];
            if ss > 0 {
                if ctx.global.find(s, ss as u64).is_none() {
                    return Err(self.mem_fault(
                        ctx,
                        blk,
                        inst,
                        l,
                        Access {
                            what: "cp.async load",
                            space: Space::Global,
                            addr: s,
                            size: ss,
                        },
                        false,
                    ));
                }
                let mut k = 0;
                while k < ss {
                    let w = if ss - k >= 4 { 4 } else { 1 };
                    let v = ctx.global.load(s + k as u64, w).unwrap_or(0);
                    data[k as usize..(k + w) as usize]
                        .copy_from_slice(&v.to_le_bytes()[..w as usize]);
                    k += w;
                }
            }
            // the copy is a write by this thread now (racecheck), in flight until it lands
            let tid = self.id * 32 + l as u32;
            blk.async_issue(d as u32, n, tid, self.cur_pc, true, "cp.async");
            let group = self.committed[l];
            self.pending.push(Pending {
                lane: l as u8,
                len: n as u8,
                group,
                dst: d as u32,
                data,
            });
        });
        Ok(())
    }

    /// The warpgroup instructions are `.sync.aligned` (PTX ISA 9.7.15.5.2, 9.7.15.7): all 128
    /// threads of the warpgroup (warps 4g..4g+3 of the block) execute them together. Here
    /// every lane of this warp must execute it and the block must have the whole warpgroup;
    /// that the other three warps execute the same `wgmma.mma_async`s is checked when the
    /// block ends (`check_warpgroups`).
    fn warpgroup_check(
        &self,
        ctx: &LaunchCtx,
        blk: &BlockState,
        inst: &Inst,
        exec: u32,
        what: &str,
    ) -> Result<(), Fault> {
        let nthreads: u32 = self.ntid.iter().product();
        let wg = self.id / 4;
        let complete = nthreads >= (wg + 1) * 128;
        if exec == u32::MAX && complete {
            return Ok(());
        }
        let lane = exec.trailing_zeros().min(31) as usize;
        let mut f = self.fault(
            ctx,
            blk,
            inst,
            lane,
            FaultKind::WarpgroupDivergence,
            format!("{what} executed by a partial warpgroup"),
        );
        f.note = Some(if complete {
            format!(
                "lanes {exec:#010x} of warp {} execute it, lanes {:#010x} do not; all 128 threads of a warpgroup must execute it together (.sync.aligned, PTX ISA 9.7.15.5.2)",
                self.id, !exec
            )
        } else {
            format!(
                "the block has {nthreads} threads, so warpgroup {wg} (threads {}..{}) has only {} of its 128; a warpgroup is 4 whole warps (PTX ISA 9.7.15.5.2)",
                wg * 128,
                wg * 128 + 127,
                nthreads - wg * 128
            )
        });
        Err(f)
    }

    /// A value every thread of the warp must give alike (descriptors, scale-d).
    fn uniform(
        &self,
        ctx: &LaunchCtx,
        blk: &BlockState,
        inst: &Inst,
        s: &Src,
        what: &str,
    ) -> Result<u64, Fault> {
        let v0 = self.v(s, 0, ctx, blk);
        for l in 1..32 {
            let v = self.v(s, l, ctx, blk);
            if v != v0 {
                let mut f = self.fault(
                    ctx,
                    blk,
                    inst,
                    l,
                    FaultKind::WarpgroupDivergence,
                    format!("wgmma.mma_async {what} differs between threads of the warpgroup"),
                );
                f.note = Some(format!(
                    "lane 0 has {v0:#x}, lane {l} has {v:#x}; it must be the same in every thread (PTX ISA 9.7.15.5.2)"
                ));
                return Err(f);
            }
        }
        Ok(v0)
    }

    /// `wgmma.mma_async` (PTX ISA 9.7.15.5.2) for this warp's 16 rows of D; see
    /// exec/wgmma.rs for the model.
    fn wgmma(
        &mut self,
        ctx: &LaunchCtx,
        blk: &mut BlockState,
        inst: &Inst,
        exec: u32,
        w: &Wgmma,
    ) -> Result<(), Fault> {
        self.warpgroup_check(ctx, blk, inst, exec, "wgmma.mma_async")?;
        let raw_b = self.uniform(ctx, blk, inst, &w.b, "b-desc")?;
        let accumulate = self.uniform(ctx, blk, inst, &w.scale_d, "scale-d")? & 1 != 0;
        let raw_a = match &w.a {
            WgmmaA::Desc(s) => Some(self.uniform(ctx, blk, inst, s, "a-desc")?),
            WgmmaA::Regs(_) => None,
        };
        let n = w.n as usize;
        let row0 = 16 * (self.id % 4) as u64;
        let mut st = std::mem::take(&mut self.wgmma);
        st.reads.clear();
        match (&w.a, raw_a) {
            (WgmmaA::Desc(_), Some(raw)) => {
                let da = Desc::decode(raw);
                let (a, reads) = (&mut st.a, &mut st.reads);
                wgmma::gather(
                    &blk.shared,
                    &da,
                    w.trans_a,
                    row0,
                    16,
                    w.f16,
                    w.neg_a,
                    a,
                    reads,
                )
                .map_err(|o| self.wgmma_oob(ctx, blk, inst, 'A', raw, w.trans_a, o))?;
            }
            (WgmmaA::Regs(r), _) => {
                st.a.clear();
                st.a.resize(256, 0.0);
                for l in 0..32 {
                    for (j, &reg) in r.iter().enumerate() {
                        let bits = self.r(reg, l);
                        let (row, col) = wgmma::a_reg_elem(l, j);
                        st.a[row * 16 + col] = wgmma::half_to_f32(bits as u16, w.f16, w.neg_a);
                        st.a[row * 16 + col + 1] =
                            wgmma::half_to_f32((bits >> 16) as u16, w.f16, w.neg_a);
                    }
                }
            }
            _ => unreachable!("descriptor read above"),
        }
        let db = Desc::decode(raw_b);
        let (b, reads) = (&mut st.b, &mut st.reads);
        wgmma::gather(
            &blk.shared,
            &db,
            w.trans_b,
            0,
            n as u64,
            w.f16,
            w.neg_b,
            b,
            reads,
        )
        .map_err(|o| self.wgmma_oob(ctx, blk, inst, 'B', raw_b, w.trans_b, o))?;
        st.d.clear();
        st.d.resize(16 * n, 0.0);
        if accumulate {
            for l in 0..32 {
                for (i, &reg) in w.d.iter().enumerate() {
                    let (row, col) = wgmma::d_elem(l, i);
                    st.d[row * n + col] = f32::from_bits(self.r(reg, l) as u32);
                }
            }
        }
        wgmma::mma(&mut st.d, &st.a, &st.b, n, accumulate);
        for l in 0..32 {
            for (i, &reg) in w.d.iter().enumerate() {
                let (row, col) = wgmma::d_elem(l, i);
                self.w(reg, l, st.d[row * n + col].to_bits() as u64);
            }
        }
        let record = InFlight::new(inst.line, &mut st.reads);
        // the operands are read now (racecheck, initcheck) and stay in flight until the
        // wgmma.wait_group that retires this group (async hazards)
        let tid = self.id * 32 + exec.trailing_zeros();
        for &(lo, hi) in &record.reads {
            blk.async_issue(lo, hi - lo, tid, self.cur_pc, false, "wgmma.mma_async");
        }
        st.open.push(record);
        if st.issued == 0 {
            st.first_line = inst.line;
        }
        st.issued += 1;
        st.sign(inst.line, raw_a.unwrap_or(0), raw_b);
        self.wgmma = st;
        Ok(())
    }

    /// A wgmma operand element outside the block's shared memory.
    #[allow(clippy::too_many_arguments)]
    fn wgmma_oob(
        &self,
        ctx: &LaunchCtx,
        blk: &BlockState,
        inst: &Inst,
        which: char,
        raw: u64,
        mn_major: bool,
        o: wgmma::Oob,
    ) -> Fault {
        let d = Desc::decode(raw);
        let mut f = self.fault(
            ctx,
            blk,
            inst,
            0,
            FaultKind::OutOfBoundsShared,
            format!(
                "out-of-bounds shared read of 16 bytes at {:#x} by wgmma.mma_async through the matrix {which} descriptor",
                o.addr
            ),
        );
        f.address = Some(o.addr);
        f.size = Some(16);
        let (mn, dim) = if which == 'A' { ('m', "M") } else { ('n', "N") };
        f.note = Some(format!(
            "{}-desc {raw:#018x}: start {:#x}, leading byte offset {}, stride byte offset {}, base offset {}, {}, {} (PTX ISA 9.7.15.5.1.2); element {mn} = {}, k = {}..; the block has {} bytes of shared memory",
            which.to_ascii_lowercase(),
            d.start,
            d.lbo,
            d.sbo,
            d.base_offset,
            d.swizzle.name(),
            if mn_major {
                format!("{dim}-major")
            } else {
                "K-major".to_string()
            },
            o.mn,
            o.k,
            blk.shared.len()
        ));
        f
    }

    #[allow(clippy::too_many_arguments)]
    fn mask_fault(
        &self,
        ctx: &LaunchCtx,
        blk: &BlockState,
        inst: &Inst,
        lane: usize,
        what: &str,
        m: u32,
        exec: u32,
    ) -> Fault {
        let mut f = self.fault(
            ctx,
            blk,
            inst,
            lane,
            FaultKind::ShuffleMaskMismatch,
            format!("{what} membermask {m:#010x} does not match the lanes executing it together ({exec:#010x})"),
        );
        f.note = Some("every lane named in membermask must execute the same instruction at the same time, and only those".into());
        f
    }
}

/// A block-wide barrier while some threads have exited. The PTX ISA (exit) releases barriers
/// for exited threads, but CUDA requires `__syncthreads()` to be reached by every thread of
/// the block, so a kernel relying on it is reported like a divergent barrier.
pub(crate) fn exited_fault(ctx: &LaunchCtx, blk: &BlockState) -> Fault {
    let mut f = ctx.fault(
        FaultKind::BarrierDivergence,
        format!(
            "barrier for the whole block after {} of its threads exited (first at PTX line {})",
            blk.exited, blk.exit_line
        ),
    );
    f.note = Some(
        "every thread of the block must reach bar.sync/__syncthreads(); give the barrier an explicit thread count or keep the threads alive".into(),
    );
    f
}

fn resolved(declared: Space, actual: Space) -> Space {
    if declared == Space::Generic {
        actual
    } else {
        declared
    }
}
