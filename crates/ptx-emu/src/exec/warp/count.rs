//! The memory side of `Options::counters`: each warp-level memory instruction's lane
//! addresses, before it executes (it may overwrite its own address register), handed to the
//! bank and sector models of exec/counters.rs.

use super::Warp;
use crate::exec::BlockState;
use crate::exec::counters::{GlobalKind, LaneAccess, SharedKind, Tally, lanes_per_phase, resolve};
use crate::inst::{Addr, Inst, Op, Space, WgmmaA};

impl Warp {
    /// Counts the memory traffic of `inst` for the lanes of `exec`.
    pub(super) fn count_memory(&self, blk: &mut BlockState, inst: &Inst, exec: u32) {
        let Some(mut t) = blk.tally.take() else {
            return;
        };
        t.cur_pc = self.cur_pc as usize;
        match &inst.op {
            Op::Ld {
                space, ty, n, addr, ..
            } => self.count_access(
                &mut t,
                *space,
                addr,
                ty.bytes() * *n as u32,
                exec,
                Dir::Load,
            ),
            Op::St {
                space, ty, n, addr, ..
            } => self.count_access(
                &mut t,
                *space,
                addr,
                ty.bytes() * *n as u32,
                exec,
                Dir::Store,
            ),
            Op::Atom {
                space, ty, addr, ..
            } => self.count_access(&mut t, *space, addr, ty.bytes(), exec, Dir::Atomic),
            Op::CpAsync {
                src, cp_size, dst, ..
            } => {
                // the whole cp-size is counted, also where src-size zero-fills part of it
                let size = *cp_size as u32;
                self.gather(&mut t, Space::Global, Space::Global, src, size, exec);
                t.global_request(GlobalKind::CpAsync);
                self.gather(&mut t, Space::Shared, Space::Shared, dst, size, exec);
                t.count(
                    "cp_async.shared_bytes",
                    t.scratch.iter().map(|a| a.bytes as u64).sum(),
                );
            }
            Op::Ldmatrix {
                num, space, addr, ..
            } => {
                // lanes 8i..8i+7 give the rows of matrix i; a wavefront serves one matrix
                let rows = (*num as u32) * 8;
                let mask = if rows >= 32 {
                    u32::MAX
                } else {
                    (1 << rows) - 1
                };
                self.gather(&mut t, *space, Space::Shared, addr, 16, mask);
                t.shared_request(SharedKind::Ldmatrix, 8);
            }
            Op::WmmaLoad(w) | Op::WmmaStore(w) => {
                // 256 elements per fragment; which lane reads which is the emulator's own
                // layout, so only requests and bytes are counted (docs/EMULATOR.md)
                let load = matches!(inst.op, Op::WmmaLoad(_));
                let bytes = 256 * w.ty.bytes() as u64;
                let (r, b) = if load {
                    ("wmma.ld.requests", "wmma.ld.bytes")
                } else {
                    ("wmma.st.requests", "wmma.st.bytes")
                };
                t.count(r, 1);
                t.count(b, bytes);
            }
            // a warpgroup's operands, counted once (by its first warp): A's 64x16 and
            // B's Nx16 halves when read through descriptors
            Op::Wgmma(w) if self.id.is_multiple_of(4) => {
                let a = match w.a {
                    WgmmaA::Desc(_) => 64 * 16 * 2,
                    WgmmaA::Regs(_) => 0,
                };
                t.count("wgmma.shared_bytes", a + w.n as u64 * 16 * 2);
                t.count("wgmma.requests", 1);
            }
            _ => {}
        }
        blk.tally = Some(t);
    }

    /// Into `t.scratch` (lane order): the accesses of the lanes of `exec` whose address,
    /// in the `declared` space, resolves to `want`, as shared-memory offsets or global
    /// addresses.
    #[allow(clippy::too_many_arguments)]
    fn gather(
        &self,
        t: &mut Tally,
        declared: Space,
        want: Space,
        addr: &Addr,
        bytes: u32,
        exec: u32,
    ) {
        t.scratch.clear();
        lanes!(exec, l, {
            let (space, a) = resolve(declared, self.addr(addr, l));
            if space == want {
                t.scratch.push(LaneAccess {
                    lane: l as u8,
                    addr: a,
                    bytes,
                });
            }
        });
    }

    fn count_access(
        &self,
        t: &mut Tally,
        space: Space,
        addr: &Addr,
        bytes: u32,
        exec: u32,
        dir: Dir,
    ) {
        // a generic instruction's lanes may resolve to different spaces: one request each
        let spaces: &[Space] = match space {
            Space::Generic => &[Space::Global, Space::Shared, Space::Local],
            Space::Global => &[Space::Global],
            Space::Shared => &[Space::Shared],
            Space::Local => &[Space::Local],
            Space::Param | Space::Const => return,
        };
        for &want in spaces {
            self.gather(t, space, want, addr, bytes, exec);
            if t.scratch.is_empty() {
                continue;
            }
            match (want, dir) {
                (Space::Global, Dir::Load) => t.global_request(GlobalKind::Load),
                (Space::Global, Dir::Store) => t.global_request(GlobalKind::Store),
                (Space::Global, Dir::Atomic) => t.global_request(GlobalKind::Atomic),
                (Space::Shared, Dir::Load) => {
                    t.shared_request(SharedKind::Load, lanes_per_phase(bytes))
                }
                (Space::Shared, Dir::Store) => {
                    t.shared_request(SharedKind::Store, lanes_per_phase(bytes))
                }
                (Space::Shared, Dir::Atomic) => t.count("shared.atom.requests", 1),
                (_, Dir::Load) => {
                    t.count("local.ld.requests", 1);
                    t.count("local.ld.bytes", bytes as u64 * t.scratch.len() as u64);
                }
                (_, Dir::Store) | (_, Dir::Atomic) => {
                    t.count("local.st.requests", 1);
                    t.count("local.st.bytes", bytes as u64 * t.scratch.len() as u64);
                }
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Dir {
    Load,
    Store,
    Atomic,
}
