//! The order in which the warps of a block run between barriers.
//!
//! [`Schedule::Canonical`] runs the warps round-robin in warp order, each until it reaches
//! a barrier or exits: deterministic and independent of the seed (what instruction counters
//! rely on). [`Schedule::Adversarial`] draws, from `Options::seed` and the block's index,
//! for every round a warp order (forward, reverse or a random permutation) and for every
//! turn of a warp a budget of warp-instructions after which it is preempted (or no limit),
//! so a kernel that relies on some interleaving without a barrier computes different
//! results for different seeds. Lanes within a warp always run lowest-PC first: choosing
//! among divergent paths needs the reconvergence points, or `.sync` collectives would see
//! partial masks. Blocks are seeded by their index, so the result does not depend on which
//! host thread runs a block.

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
