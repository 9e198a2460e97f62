//! The shadow of a block's shared memory: racecheck and initcheck.
//!
//! One [`Cell`] per shared byte holds the last write (thread, time, PTX instruction, whether
//! atomic) and the two most recent reads by distinct threads not yet ordered before a later
//! access. Time is one counter per host worker (`now`), advanced by every synchronisation
//! event; an access is stamped with the current value. Nothing is cleared between barrier
//! intervals or between blocks: a record older than the block's start is "never written"
//! and one older than the last block-wide barrier is "ordered", so a barrier costs O(1).
//!
//! Two accesses by different threads to the same byte, at least one a plain write, race
//! unless a synchronisation that both threads took part in happened between them:
//! - a barrier (`bar.sync`, `barrier.sync`) released with both threads' warps: block-wide
//!   barriers set `full_bar`; a barrier with a thread count (or one released while some warps
//!   have exited) orders only the warps it released (`bar_pair`);
//! - for two lanes of one warp also a warp-level synchronisation taking in both lanes:
//!   `bar.warp.sync` (`__syncwarp`), `shfl.sync`, `vote.sync` (CUDA Programming Guide,
//!   "Independent Thread Scheduling": lanes of a warp are not lock-step on Volta and later,
//!   `__syncwarp()` is what orders their shared-memory accesses). A sync of every lane of
//!   the warp is O(1) (`warp_full`), a partial mask fills a 32×32 table for that warp.
//!
//! Happens-before is not closed transitively over partial syncs (lane a syncs with c, c
//! then with b, orders a before b on a GPU; here only a common sync of a and b does), and a
//! byte remembers two unordered readers, so a third one's race with a later write can be
//! missed. Atomics (`atom`, `red` on shared memory) do not race with each other; they race
//! with plain reads and writes like a write does.

use super::{Hazard, Kind};

/// One access: when (`t`), where (`pc`, an instruction index) and by whom (`tid`, the
/// linear thread index in the block).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct Rec {
    pub t: u32,
    pub pc: u32,
    pub tid: u16,
    pub atomic: bool,
}

#[derive(Clone, Copy, Default)]
struct Cell {
    w: Rec,
    r1: Rec,
    r2: Rec,
}

/// Shared memory that an asynchronous operation still writes or reads (the async-hazard
/// hook): `[lo, hi)` of the block's shared memory, issued by thread `tid` at `pc`;
/// `group` is `None` until the issuing thread commits it, then its commit number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Inflight {
    pub lo: u32,
    pub hi: u32,
    pub tid: u32,
    pub pc: u32,
    /// true: the operation writes the range (cp.async), false: reads it (wgmma operands).
    pub writes: bool,
    pub group: Option<u32>,
    pub what: &'static str,
}

/// Per-host-worker shadow state, reset per block by [`Shadow::begin_block`].
#[derive(Default)]
pub(crate) struct Shadow {
    pub race: bool,
    pub init: bool,
    cells: Vec<Cell>,
    now: u32,
    block_start: u32,
    /// Time of the last barrier every warp of the block was released from.
    full_bar: u32,
    nwarps: usize,
    /// `bar_pair[b * nwarps + a]`: the last barrier that released both warps a and b.
    bar_pair: Vec<u32>,
    /// Lanes that exist in each warp.
    warp_lanes: Vec<u32>,
    /// The last warp-level sync of all lanes of the warp.
    warp_full: Vec<u32>,
    /// Per warp, `[lane_b * 32 + lane_a]`: the last partial warp sync with both lanes.
    lane_pair: Vec<Option<Box<[u32; 1024]>>>,
    /// The first hazard found; the warp turns it into a fault after the instruction.
    pub pending: Option<Hazard>,
    /// In-flight asynchronous shared-memory ranges (see [`Inflight`]).
    pub inflight: Vec<Inflight>,
    /// Commit numbers handed out per thread for asynchronous groups.
    pub commits: Vec<u32>,
}

impl Shadow {
    /// Whether any shared-memory check runs.
    #[inline(always)]
    pub fn on(&self) -> bool {
        self.race || self.init
    }

    pub fn begin_block(&mut self, shared_len: usize, nthreads: u32, race: bool, init: bool) {
        self.race = race;
        self.init = init;
        self.pending = None;
        self.inflight.clear();
        if !self.on() {
            return;
        }
        if self.now > u32::MAX / 2 {
            self.cells.iter_mut().for_each(|c| *c = Cell::default());
            self.now = 0;
        }
        if self.cells.len() < shared_len {
            self.cells.resize(shared_len, Cell::default());
        }
        self.now += 1;
        self.block_start = self.now;
        self.full_bar = self.now;
        let nw = nthreads.div_ceil(32) as usize;
        self.nwarps = nw;
        self.bar_pair.clear();
        self.bar_pair.resize(nw * nw, 0);
        self.warp_full.clear();
        self.warp_full.resize(nw, 0);
        self.lane_pair.clear();
        self.lane_pair.resize_with(nw, || None);
        self.warp_lanes.clear();
        self.warp_lanes.extend((0..nw as u32).map(|w| {
            let n = nthreads.saturating_sub(w * 32).min(32);
            if n == 32 { u32::MAX } else { (1u32 << n) - 1 }
        }));
        self.commits.clear();
        self.commits.resize(nthreads as usize, 0);
    }

    /// A barrier released `warps`; `all`: every warp of the block.
    pub fn barrier(&mut self, warps: &[usize], all: bool) {
        if !self.race {
            return;
        }
        self.now += 1;
        if all {
            self.full_bar = self.now;
            return;
        }
        let nw = self.nwarps;
        for &a in warps {
            for &b in warps {
                if let Some(x) = self.bar_pair.get_mut(b * nw + a) {
                    *x = self.now;
                }
            }
        }
    }

    /// Lanes `mask` of warp `w` synchronised (bar.warp.sync, shfl.sync, vote.sync).
    pub fn warp_sync(&mut self, w: u32, mask: u32) {
        if !self.race {
            return;
        }
        let w = w as usize;
        let Some(&lanes) = self.warp_lanes.get(w) else {
            return;
        };
        self.now += 1;
        if mask & lanes == lanes {
            self.warp_full[w] = self.now;
            return;
        }
        let now = self.now;
        let p = self.lane_pair[w].get_or_insert_with(|| Box::new([0; 1024]));
        let mut ma = mask;
        while ma != 0 {
            let a = ma.trailing_zeros() as usize;
            ma &= ma - 1;
            let mut mb = mask;
            while mb != 0 {
                let b = mb.trailing_zeros() as usize;
                mb &= mb - 1;
                p[b * 32 + a] = now;
            }
        }
    }

    /// Whether `r` (by another thread, after the last block-wide barrier) is ordered before
    /// an access by thread `me` now.
    fn ordered(&self, r: Rec, me: u32) -> bool {
        let (wa, wb) = (r.tid as usize / 32, me as usize / 32);
        if self
            .bar_pair
            .get(wb * self.nwarps + wa)
            .is_some_and(|&t| t > r.t)
        {
            return true;
        }
        wa == wb
            && (self.warp_full[wa] > r.t
                || self.lane_pair[wa]
                    .as_ref()
                    .is_some_and(|p| p[(me as usize % 32) * 32 + r.tid as usize % 32] > r.t))
    }

    /// Whether `r` is a live record that conflicts with thread `me` now.
    #[inline(always)]
    fn concurrent(&self, r: Rec, me: u32) -> bool {
        r.t >= self.full_bar && r.tid as u32 != me && !self.ordered(r, me)
    }

    /// Records an access of `size` bytes at shared offset `off` (in bounds) by thread `tid`
    /// at instruction `pc`; the first hazard goes to `pending`.
    pub fn access(&mut self, off: usize, size: u32, kind: Kind, tid: u32, pc: u32) {
        if self.pending.is_some() {
            return;
        }
        if !self.inflight.is_empty() && self.async_conflict(off, size, kind, tid, pc) {
            return;
        }
        let me = Rec {
            t: self.now,
            pc,
            tid: tid as u16,
            atomic: kind == Kind::Atomic,
        };
        let end = off + size as usize;
        if end > self.cells.len() {
            return;
        }
        for i in off..end {
            let mut c = self.cells[i];
            if kind != Kind::Write && self.init && c.w.t < self.block_start {
                self.pending = Some(Hazard::Uninit {
                    at: i as u32,
                    start: off as u32,
                    size,
                    kind,
                    tid,
                    pc,
                });
                return;
            }
            if self.race {
                let race = |other: Rec, other_kind: Kind| Hazard::Race {
                    at: i as u32,
                    start: off as u32,
                    size,
                    kind,
                    tid,
                    pc,
                    other,
                    other_kind,
                };
                if !(kind == Kind::Atomic && c.w.atomic) && self.concurrent(c.w, tid) {
                    let ok = if c.w.atomic {
                        Kind::Atomic
                    } else {
                        Kind::Write
                    };
                    self.pending = Some(race(c.w, ok));
                    return;
                }
                if kind == Kind::Read {
                    let keep1 = self.concurrent(c.r1, tid);
                    let keep2 = self.concurrent(c.r2, tid);
                    c.r2 = if keep1 {
                        c.r1
                    } else if keep2 {
                        c.r2
                    } else {
                        Rec::default()
                    };
                    c.r1 = me;
                } else {
                    for r in [c.r1, c.r2] {
                        if self.concurrent(r, tid) {
                            self.pending = Some(race(r, Kind::Read));
                            return;
                        }
                    }
                    // every earlier reader is ordered before this write, so whatever is
                    // ordered after it is ordered after them too
                    c.r1 = Rec::default();
                    c.r2 = Rec::default();
                    c.w = me;
                }
            } else if kind != Kind::Read {
                c.w = me;
            }
            self.cells[i] = c;
        }
    }

    fn async_conflict(&mut self, off: usize, size: u32, kind: Kind, tid: u32, pc: u32) -> bool {
        let (lo, hi) = (off as u32, off as u32 + size);
        let hit = self
            .inflight
            .iter()
            .find(|f| f.lo < hi && lo < f.hi && (f.writes || kind != Kind::Read));
        if let Some(&f) = hit {
            self.pending = Some(Hazard::Async {
                at: lo.max(f.lo),
                start: lo,
                size,
                kind,
                tid,
                pc,
                op: f,
            });
            return true;
        }
        false
    }

    // The async hooks: cp.async and wgmma call these (see the crate README).
    #[allow(dead_code)]
    /// An asynchronous operation of thread `tid` at `pc` starts writing (or reading)
    /// `[lo, hi)`; it stays in flight until [`Shadow::async_wait`] retires its group.
    pub fn async_begin(
        &mut self,
        lo: u32,
        hi: u32,
        tid: u32,
        pc: u32,
        writes: bool,
        what: &'static str,
    ) {
        if lo >= hi || !self.on() {
            return;
        }
        if !self.race {
            // initcheck alone: the bytes count as written when the operation is issued
            if writes {
                let me = Rec {
                    t: self.now,
                    pc,
                    tid: tid as u16,
                    atomic: false,
                };
                let hi = (hi as usize).min(self.cells.len());
                for c in self.cells.get_mut(lo as usize..hi).into_iter().flatten() {
                    c.w = me;
                }
            }
            return;
        }
        self.inflight.push(Inflight {
            lo,
            hi,
            tid,
            pc,
            writes,
            group: None,
            what,
        });
    }

    #[allow(dead_code)]
    /// Thread `tid` commits its uncommitted operations as one group (`commit_group`).
    pub fn async_commit(&mut self, tid: u32) {
        if !self.race || self.inflight.is_empty() {
            return;
        }
        let Some(n) = self.commits.get_mut(tid as usize) else {
            return;
        };
        *n += 1;
        let g = *n;
        for f in self.inflight.iter_mut().filter(|f| f.tid == tid) {
            f.group.get_or_insert(g);
        }
    }

    #[allow(dead_code)]
    /// Thread `tid` waits until at most `pending` of its groups are in flight
    /// (`wait_group N`; `wait_all` is 0). Retired writes become ordinary writes by `tid`
    /// now, so other threads still need a barrier to read them.
    pub fn async_wait(&mut self, tid: u32, pending: u32) {
        if !self.race || self.inflight.is_empty() {
            return;
        }
        let newest = self.commits.get(tid as usize).copied().unwrap_or(0);
        let mut retired = Vec::new();
        self.inflight.retain(|f| {
            let done =
                f.tid == tid && (pending == 0 || f.group.is_some_and(|g| g + pending <= newest));
            if done {
                retired.push(*f);
            }
            !done
        });
        for f in retired.into_iter().filter(|f| f.writes) {
            let me = Rec {
                t: self.now,
                pc: f.pc,
                tid: tid as u16,
                atomic: false,
            };
            let hi = (f.hi as usize).min(self.cells.len());
            for c in self.cells.get_mut(f.lo as usize..hi).into_iter().flatten() {
                c.w = me;
                c.r1 = Rec::default();
                c.r2 = Rec::default();
            }
        }
    }
}
