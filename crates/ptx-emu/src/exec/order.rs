//! The order in which the warps of a block run between barriers.
//!
//! [`Schedule::Canonical`] runs the warps round-robin in warp order, each until it reaches
//! a barrier or exits: deterministic and independent of the seed (what instruction counters
//! rely on). [`Schedule::Adversarial`] draws, from `Options::seed` and the block's index,
//! for every round a warp order (forward, reverse or a random permutation) and for every
//! turn of a warp a budget of warp-instructions after which it is preempted (or no limit),
//! so a kernel that relies on some interleaving without a barrier computes different
//! results for different seeds. Within a warp, when its lanes are at different PCs
//! (divergence), the adversarial schedule runs a seeded choice among the groups of lanes
//! instead of always the lowest PC, except that a group waiting at an instruction the whole
//! warp (or warpgroup) must execute together ([`converges`]: barriers, `.sync` collectives,
//! tensor-core instructions) is not run while another group can run: the others catch up
//! to it (lowest PC first once every group waits), so lanes still meet at every collective,
//! while between collectives one path of a branch may run ahead past the join point, as
//! independent thread scheduling allows. Blocks are seeded by their index, so the result
//! does not depend on which host thread runs a block.

use crate::inst::{Inst, Op};

/// How the warps of a block are scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Round-robin in warp order, each warp until its next barrier or exit.
    Canonical,
    /// Seeded orders and preemption (see the module documentation).
    Adversarial,
}

/// The per-block scheduler state.
pub(crate) struct Order {
    adversarial: bool,
    rng: u64,
    pub idx: Vec<usize>,
}

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Order {
    pub fn new(schedule: Schedule, seed: u64, block: u64) -> Order {
        let mut rng = seed ^ block.wrapping_mul(0xd129_0f4f_a53f_0c6b);
        splitmix(&mut rng);
        Order {
            adversarial: schedule == Schedule::Adversarial,
            rng,
            idx: Vec::new(),
        }
    }

    fn next(&mut self) -> u64 {
        splitmix(&mut self.rng)
    }

    /// Fills `idx` with the order of the next round over `n` warps.
    pub fn round(&mut self, n: usize) {
        self.idx.clear();
        self.idx.extend(0..n);
        if !self.adversarial || n < 2 {
            return;
        }
        match self.next() % 4 {
            0 => {}
            1 => self.idx.reverse(),
            _ => {
                for i in (1..n).rev() {
                    let j = (self.next() % (i as u64 + 1)) as usize;
                    self.idx.swap(i, j);
                }
            }
        }
    }

    /// The seed of the choice among divergent paths within warps (0: lowest PC first).
    pub fn lane_seed(&mut self) -> u64 {
        if self.adversarial { self.next() | 1 } else { 0 }
    }

    /// Warp-instructions the next warp may run before it is preempted.
    pub fn budget(&mut self) -> u64 {
        if !self.adversarial {
            return u64::MAX;
        }
        match self.next() % 4 {
            0 => u64::MAX,
            _ => 1 + self.next() % 256,
        }
    }
}

/// Whether every lane of the warp (or warpgroup) must execute `op` together: the divergent
/// path choice never runs a group of lanes into one of these ahead of the others. (Add new
/// `.sync`/`.aligned` instructions here.) `exit` too: lanes that leave early change nothing
/// but which diagnostic a divergent barrier gets.
pub(crate) fn converges(op: &Op) -> bool {
    matches!(
        op,
        Op::Bar { .. }
            | Op::Exit
            | Op::BarWarpSync { .. }
            | Op::Shfl { .. }
            | Op::Vote { .. }
            | Op::Activemask { .. }
            | Op::Ldmatrix { .. }
            | Op::Mma(_)
            | Op::WmmaLoad(_)
            | Op::WmmaStore(_)
            | Op::WmmaMma(_)
            | Op::Wgmma(_)
            | Op::WgmmaFence
            | Op::WgmmaCommit
            | Op::WgmmaWait { .. }
    )
}

/// Among the live lanes' PCs of a divergent warp, a seeded choice of the group to run next:
/// a group not waiting at a [`converges`] instruction (the furthest ahead half the time,
/// else any), or the lowest one (`low`: its PC and lanes) if all wait. Returns the PC and
/// its lanes.
pub(crate) fn divergent_pick(
    pcs: &[u32; 32],
    live: u32,
    low: (u32, u32),
    insts: &[Inst],
    rng: &mut u64,
) -> (u32, u32) {
    let mut cand = [0u32; 32];
    let mut n = 0;
    let mut seen = 0u32;
    let mut m = live;
    while m != 0 {
        let l = m.trailing_zeros() as usize;
        m &= m - 1;
        if seen & (1 << l) != 0 {
            continue;
        }
        let pc = pcs[l];
        let mut group = 0u32;
        let mut k = live;
        while k != 0 {
            let j = k.trailing_zeros() as usize;
            k &= k - 1;
            if pcs[j] == pc {
                group |= 1 << j;
            }
        }
        seen |= group;
        if insts.get(pc as usize).is_some_and(|i| !converges(&i.op)) {
            cand[n] = pc;
            n += 1;
        }
    }
    if n == 0 {
        return low;
    }
    // half the time the path furthest ahead (a leader running on past the join point is
    // what code assuming lock-step lanes gets wrong), else any
    let r = splitmix(rng);
    let pc = if r & 1 == 0 {
        cand[..n].iter().copied().max().unwrap_or(low.0)
    } else {
        cand[((r >> 1) % n as u64) as usize]
    };
    let mut mask = 0u32;
    let mut k = live;
    while k != 0 {
        let j = k.trailing_zeros() as usize;
        k &= k - 1;
        if pcs[j] == pc {
            mask |= 1 << j;
        }
    }
    (pc, mask)
}
