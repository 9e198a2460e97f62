//! The warp-wide matrix instructions (PTX ISA 9.7.14, "Warp Level Matrix Multiply-Accumulate
//! Instructions"): `ldmatrix`, `mma.sync` and `wmma`. Each is `.sync.aligned`: it runs once
//! for the whole warp, reading every lane's operands before writing any result, and faults
//! (`WarpDivergence`) unless all 32 lanes execute it together.

use super::memory::{self, Generic};
use super::*;
use crate::exec::float::{bf16_to_f32, f16_to_f32};

const ALL: u32 = u32::MAX;

/// The wmma fragment layout this emulator chooses (PTX ISA 9.7.14, wmma, leaves it to the
/// implementation): lane `l` holds `per` consecutive elements of the 16x16 matrix in row-major order (element `e` is row `e / 16`, column `e % 16`),
/// starting at element `l * per`. With 8 per lane (bf16 a/b, f32 c/d) the warp holds each
/// element once; f16 a/b fragments have 16 per lane (8 `.f16x2` registers), so lanes
/// `l` and `l + 16` hold the same elements.
#[inline]
fn wmma_elem(lane: usize, per: usize, i: usize) -> usize {
    (lane * per + i) % 256
}

impl Warp {
    fn whole_warp(
        &self,
        ctx: &LaunchCtx,
        blk: &BlockState,
        inst: &Inst,
        exec: u32,
        what: &str,
    ) -> Result<(), Fault> {
        if exec == ALL {
            return Ok(());
        }
        let missing = !exec;
        let mut f = self.fault(
            ctx,
            blk,
            inst,
            exec.trailing_zeros() as usize,
            FaultKind::WarpDivergence,
            format!("{what} executed by only part of a warp (lanes {exec:#010x})"),
        );
        let elsewhere = missing & self.live;
        let place = if elsewhere != 0 {
            let l = elsewhere.trailing_zeros() as usize;
            format!(
                "; lane {l} is at PTX line {}",
                ctx.kernel.insts[self.pc[l] as usize].line
            )
        } else {
            String::new()
        };
        f.note = Some(format!(
            "lanes {missing:#010x} of warp {} do not execute it{place}; {what} is .sync.aligned: all 32 threads of the warp must execute it together (PTX ISA 9.7.14)",
            self.id
        ));
        Err(f)
    }

    /// `ldmatrix.sync.aligned.m8n8.{x1,x2,x4}{.trans}.shared.b16` (PTX ISA 9.7.14,
    /// ldmatrix): lanes `8i..8i+8` give the addresses of rows 0..7 of matrix `i` (16 bytes
    /// each, 16-byte aligned); lane `t` receives in register `i` row `t / 4`, columns
    /// `2 (t % 4)` (low half) and `2 (t % 4) + 1` (high half) of matrix `i`, or with
    /// `.trans` the same positions of its transpose: column `t / 4`, rows `2 (t % 4)` and
    /// `2 (t % 4) + 1`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn ldmatrix(
        &mut self,
        ctx: &LaunchCtx,
        blk: &mut BlockState,
        inst: &Inst,
        exec: u32,
        num: u8,
        trans: bool,
        space: Space,
        d: &[u32; 4],
        addr: &Addr,
    ) -> Result<(), Fault> {
        self.whole_warp(ctx, blk, inst, exec, "ldmatrix")?;
        let num = num as usize;
        // rows[8 * matrix + row][column]
        let mut rows = [[0u16; 8]; 32];
        for (t, row) in rows.iter_mut().enumerate().take(num * 8) {
            let a = self.addr(addr, t);
            let access = |a: u64| Access {
                what: "ldmatrix row load",
                space: Space::Shared,
                addr: a,
                size: 16,
            };
            if !a.is_multiple_of(16) {
                return Err(self.mem_fault(ctx, blk, inst, t, access(a), true));
            }
            let off = match space {
                Space::Generic => match memory::classify(a) {
                    Generic::Shared(o) => Some(o),
                    _ => None,
                },
                _ => Some(a),
            };
            let words = off.and_then(|o| {
                Some([
                    blk.shared_load(o, 8, self.id * 32 + t as u32, self.cur_pc)?,
                    blk.shared_load(o.checked_add(8)?, 8, self.id * 32 + t as u32, self.cur_pc)?,
                ])
            });
            let Some(words) = words else {
                return Err(self.mem_fault(ctx, blk, inst, t, access(a), false));
            };
            for (c, v) in row.iter_mut().enumerate() {
                *v = (words[c / 4] >> ((c % 4) * 16)) as u16;
            }
        }
        for l in 0..32 {
            let (g, c) = (l / 4, (l % 4) * 2);
            for (i, &reg) in d.iter().enumerate().take(num) {
                let m = &rows[i * 8..i * 8 + 8];
                let (lo, hi) = if trans {
                    (m[c][g], m[c + 1][g])
                } else {
                    (m[g][c], m[g][c + 1])
                };
                self.w(reg, l, lo as u64 | ((hi as u64) << 16));
            }
        }
        Ok(())
    }

    /// `mma.sync.aligned.m16n8k{16,8}.row.col.f32.{bf16,f16}.{bf16,f16}.f32`: D = A B + C
    /// with the fragment layouts of PTX ISA 9.7.14, mma ("Matrix Fragments for
    /// mma.m16n8k16 with floating point type"; m16n8k8 likewise), with
    /// `groupID = lane >> 2`, `threadID_in_group = lane % 4`, element `i` of a register
    /// vector in register `i / 2`, half `i % 2` (low first):
    /// - A (16 x k): row `groupID` for `i % 4 < 2`, else `groupID + 8`; column
    ///   `threadID_in_group * 2 + (i & 1)`, plus 8 for `i >= 4`;
    /// - B (k x 8): row `threadID_in_group * 2 + (i & 1)`, plus 8 for `i >= 2`; column
    ///   `groupID`;
    /// - C, D (16 x 8, one f32 per register): row `groupID` for `i < 2`, else
    ///   `groupID + 8`; column `threadID_in_group * 2 + (i & 1)`.
    ///
    /// Products of bf16/f16 are exact in f32; they are added to C in k order, each sum
    /// rounded to nearest f32 (the ISA does not specify the order or internal precision).
    pub(super) fn mma(
        &mut self,
        ctx: &LaunchCtx,
        blk: &BlockState,
        inst: &Inst,
        exec: u32,
        op: &MmaOp,
    ) -> Result<(), Fault> {
        self.whole_warp(ctx, blk, inst, exec, "mma.sync")?;
        let cvt = if op.f16 { f16_to_f32 } else { bf16_to_f32 };
        let k = op.k as usize;
        let mut a = [[0f32; 16]; 16];
        let mut b = [[0f32; 8]; 16];
        let mut c = [[0f32; 8]; 16];
        for l in 0..32 {
            let (g, t) = (l >> 2, l & 3);
            for i in 0..k / 2 {
                let h = (self.r(op.a[i / 2], l) >> ((i & 1) * 16)) as u16;
                let row = if i % 4 < 2 { g } else { g + 8 };
                let col = t * 2 + (i & 1) + if i >= 4 { 8 } else { 0 };
                a[row][col] = cvt(h);
            }
            for i in 0..k / 4 {
                let h = (self.r(op.b[i / 2], l) >> ((i & 1) * 16)) as u16;
                let row = t * 2 + (i & 1) + if i >= 2 { 8 } else { 0 };
                b[row][g] = cvt(h);
            }
            for i in 0..4 {
                let row = if i < 2 { g } else { g + 8 };
                c[row][t * 2 + (i & 1)] = f32::from_bits(self.r(op.c[i], l) as u32);
            }
        }
        for (m, crow) in c.iter_mut().enumerate() {
            for (n, acc) in crow.iter_mut().enumerate() {
                for (kk, brow) in b.iter().enumerate().take(k) {
                    *acc += a[m][kk] * brow[n];
                }
            }
        }
        for l in 0..32 {
            let (g, t) = (l >> 2, l & 3);
            for i in 0..4 {
                let row = if i < 2 { g } else { g + 8 };
                let v = c[row][t * 2 + (i & 1)];
                self.w(op.d[i], l, v.to_bits() as u64);
            }
        }
        Ok(())
    }

    /// The address of element `e` (row `e / 16`, column `e % 16`) of a wmma matrix.
    fn wmma_at(&self, op: &WmmaLoadOp, base: u64, stride: u64, e: usize) -> u64 {
        let (r, c) = ((e / 16) as u64, (e % 16) as u64);
        let off = if op.col {
            c * stride + r
        } else {
            r * stride + c
        };
        base.wrapping_add(off.wrapping_mul(op.ty.bytes() as u64))
    }

    /// Checks the whole warp runs a wmma load/store and that its matrix starts 256-bit
    /// aligned (as CUDA's load_matrix_sync/store_matrix_sync require); returns the base and
    /// stride (lane 0's: the ISA requires the same for all lanes).
    fn wmma_base(
        &self,
        ctx: &LaunchCtx,
        blk: &BlockState,
        inst: &Inst,
        exec: u32,
        op: &WmmaLoadOp,
        what: &'static str,
    ) -> Result<(u64, u64), Fault> {
        self.whole_warp(ctx, blk, inst, exec, what)?;
        let base = self.addr(&op.addr, 0);
        if !base.is_multiple_of(32) {
            return Err(self.mem_fault(
                ctx,
                blk,
                inst,
                0,
                Access {
                    what,
                    space: op.space,
                    addr: base,
                    size: 32,
                },
                true,
            ));
        }
        let stride = self.v(&op.stride, 0, ctx, blk) & 0xffff_ffff;
        // the ISA leaves wmma.load/store undefined unless every lane gives the same p and stride
        for l in 1..32 {
            let (a, st) = (
                self.addr(&op.addr, l),
                self.v(&op.stride, l, ctx, blk) & 0xffff_ffff,
            );
            if a != base || st != stride {
                return Err(self.fault(
                    ctx,
                    blk,
                    inst,
                    l,
                    FaultKind::InvalidOperand,
                    format!(
                        "{what}: lane {l} gives address {a:#x} and stride {st}, lane 0 {base:#x} and {stride}; every lane must give the same (PTX ISA 9.7.14, wmma)"
                    ),
                ));
            }
        }
        Ok((base, stride))
    }

    /// `wmma.load.{a,b,c}.sync.aligned.{row,col}.m16n16k16{.space}.type`: element (r, c) of
    /// the matrix at `addr + (r * stride + c) * size` (`.row`) or `addr + (c * stride + r) *
    /// size` (`.col`), into the fragment layout of [`wmma_elem`].
    pub(super) fn wmma_load(
        &mut self,
        ctx: &LaunchCtx,
        blk: &mut BlockState,
        inst: &Inst,
        exec: u32,
        op: &WmmaLoadOp,
    ) -> Result<(), Fault> {
        let (base, stride) = self.wmma_base(ctx, blk, inst, exec, op, "wmma.load")?;
        let size = op.ty.bytes();
        let half = size == 2;
        let per = if half {
            op.regs.len() * 2
        } else {
            op.regs.len()
        };
        let mut vals = [[0u64; 8]; 32];
        for (l, lv) in vals.iter_mut().enumerate() {
            for i in 0..per {
                let at = self.wmma_at(op, base, stride, wmma_elem(l, per, i));
                let v = self.load(ctx, blk, op.space, at, size, l).map_err(|sp| {
                    self.mem_fault(
                        ctx,
                        blk,
                        inst,
                        l,
                        Access {
                            what: "wmma.load",
                            space: resolved(op.space, sp),
                            addr: at,
                            size,
                        },
                        false,
                    )
                })?;
                if half {
                    lv[i / 2] |= v << ((i % 2) * 16);
                } else {
                    lv[i] = v;
                }
            }
        }
        for (l, lv) in vals.iter().enumerate() {
            for (j, &r) in op.regs.iter().enumerate() {
                self.w(r, l, lv[j]);
            }
        }
        Ok(())
    }

    /// `wmma.store.d.sync.aligned.{row,col}.m16n16k16{.space}.f32`: the inverse of
    /// [`Warp::wmma_load`] for the accumulator fragment.
    pub(super) fn wmma_store(
        &mut self,
        ctx: &LaunchCtx,
        blk: &mut BlockState,
        inst: &Inst,
        exec: u32,
        op: &WmmaLoadOp,
    ) -> Result<(), Fault> {
        let (base, stride) = self.wmma_base(ctx, blk, inst, exec, op, "wmma.store")?;
        let per = op.regs.len();
        for l in 0..32 {
            for (i, &r) in op.regs.iter().enumerate() {
                let at = self.wmma_at(op, base, stride, wmma_elem(l, per, i));
                let v = self.r(r, l) & 0xffff_ffff;
                if let Err(sp) = self.store(ctx, blk, op.space, at, 4, l, v) {
                    return Err(self.mem_fault(
                        ctx,
                        blk,
                        inst,
                        l,
                        Access {
                            what: "wmma.store",
                            space: resolved(op.space, sp),
                            addr: at,
                            size: 4,
                        },
                        false,
                    ));
                }
            }
        }
        Ok(())
    }

    /// `wmma.mma.sync.aligned.{row,col}.{row,col}.m16n16k16.f32...f32`: D = A B + C on the
    /// 16x16 matrices the fragments hold (the loads already applied the memory layouts, so
    /// the layout qualifiers have nothing left to select); arithmetic as [`Warp::mma`].
    pub(super) fn wmma_mma(
        &mut self,
        ctx: &LaunchCtx,
        blk: &BlockState,
        inst: &Inst,
        exec: u32,
        op: &WmmaMmaOp,
    ) -> Result<(), Fault> {
        self.whole_warp(ctx, blk, inst, exec, "wmma.mma")?;
        let cvt = if op.f16 { f16_to_f32 } else { bf16_to_f32 };
        let per = op.a.len() * 2;
        let half = |regs: &[u32], e: usize| -> f32 {
            let (l, i) = (e / per, e % per);
            cvt((self.r(regs[i / 2], l) >> ((i % 2) * 16)) as u16)
        };
        let mut a = [[0f32; 16]; 16];
        let mut b = [[0f32; 16]; 16];
        let mut c = [[0f32; 16]; 16];
        for e in 0..256 {
            a[e / 16][e % 16] = half(&op.a, e);
            b[e / 16][e % 16] = half(&op.b, e);
            c[e / 16][e % 16] = f32::from_bits(self.r(op.c[e % 8], e / 8) as u32);
        }
        for (m, crow) in c.iter_mut().enumerate() {
            for (n, acc) in crow.iter_mut().enumerate() {
                for (kk, brow) in b.iter().enumerate() {
                    *acc += a[m][kk] * brow[n];
                }
            }
        }
        for e in 0..256 {
            self.w(op.d[e % 8], e / 8, c[e / 16][e % 16].to_bits() as u64);
        }
        Ok(())
    }
}
