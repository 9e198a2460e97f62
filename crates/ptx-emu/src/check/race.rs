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
//! Both tables are vector clocks: a synchronisation joins what its participants knew, so
//! happens-before is transitive across barriers with counts (warp a with b, then b with c,
//! orders a before c) and across partial warp syncs. A byte remembers two unordered
//! readers, so a third one's race with a later write can be missed. Atomics (`atom`, `red` on shared memory) do not race with each other; they race
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
/// hook): `[lo, hi)` of the block's shared memory, issued by thread `tid` at `pc`. The
/// operation's own group bookkeeping (commit_group, wait_group) decides when it retires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Inflight {
    pub lo: u32,
    pub hi: u32,
    pub tid: u32,
    pub pc: u32,
    /// true: the operation writes the range (cp.async), false: reads it (wgmma operands).
    pub writes: bool,
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
    /// `bar_pair[b * nwarps + a]`: accesses of warp a stamped before this are ordered before
    /// warp b's from now on (a vector clock per warp, advanced by barriers with counts).
    bar_pair: Vec<u32>,
    /// Lanes that exist in each warp.
    warp_lanes: Vec<u32>,
    /// The last warp-level sync of all lanes of the warp.
    warp_full: Vec<u32>,
    /// Per warp, `[lane_b * 32 + lane_a]`: the same between lanes, for partial warp syncs.
    lane_pair: Vec<Option<Box<[u32; 1024]>>>,
    /// The first hazard found; the warp turns it into a fault after the instruction.
    pub pending: Option<Hazard>,
    /// In-flight asynchronous shared-memory ranges (see [`Inflight`]).
    inflight: Vec<Inflight>,
    /// Per shared byte: in-flight operations writing it (low 16 bits) and reading it (high).
    busy: Vec<u32>,
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
        if !self.inflight.is_empty() {
            // a block that never waited for its asynchronous operations
            self.inflight.clear();
            self.busy.iter_mut().for_each(|b| *b = 0);
        }
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
        // vector-clock join: each released warp learns what any of them knew (so hand-offs
        // through several barriers with counts are ordered transitively), then that every
        // released warp's accesses so far precede it
        let nw = self.nwarps;
        let mut joined = [0u32; 32];
        for &w in warps.iter().filter(|&&w| w < nw) {
            for (j, &t) in joined.iter_mut().zip(&self.bar_pair[w * nw..(w + 1) * nw]) {
                *j = (*j).max(t);
            }
        }
        for &w in warps.iter().filter(|&&w| w < nw) {
            joined[w] = self.now;
        }
        for &w in warps.iter().filter(|&&w| w < nw) {
            self.bar_pair[w * nw..(w + 1) * nw].copy_from_slice(&joined[..nw]);
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
        // the same join as for barriers, over the lanes of the mask
        let now = self.now;
        let p = self.lane_pair[w].get_or_insert_with(|| Box::new([0; 1024]));
        let mut joined = [0u32; 32];
        let mut m = mask;
        while m != 0 {
            let b = m.trailing_zeros() as usize;
            m &= m - 1;
            for (j, &t) in joined.iter_mut().zip(&p[b * 32..b * 32 + 32]) {
                *j = (*j).max(t);
            }
        }
        let mut m = mask;
        while m != 0 {
            let a = m.trailing_zeros() as usize;
            m &= m - 1;
            joined[a] = now;
        }
        let mut m = mask;
        while m != 0 {
            let b = m.trailing_zeros() as usize;
            m &= m - 1;
            p[b * 32..b * 32 + 32].copy_from_slice(&joined);
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

    /// Whether `[off, off + size)` overlaps an in-flight asynchronous operation that
    /// conflicts with this access (a write in flight, or a write to bytes in flight).
    fn async_conflict(&mut self, off: usize, size: u32, kind: Kind, tid: u32, pc: u32) -> bool {
        let end = (off + size as usize).min(self.busy.len());
        let mask = if kind == Kind::Read { 0xffff } else { u32::MAX };
        if self
            .busy
            .get(off..end)
            .is_none_or(|b| b.iter().all(|&x| x & mask == 0))
        {
            return false;
        }
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

    /// The async hooks: an asynchronous operation of thread `tid` at `pc` starts writing
    /// (`cp.async`: `writes`) or reading (`wgmma.mma_async` operands) `[lo, hi)`; it stays
    /// in flight until [`Shadow::async_retire`]. The caller first records the access itself
    /// (a write or read by `tid` now, against earlier unordered accesses).
    pub fn async_begin(
        &mut self,
        lo: u32,
        hi: u32,
        tid: u32,
        pc: u32,
        writes: bool,
        what: &'static str,
    ) {
        if !self.race || lo >= hi || hi as usize > self.cells.len() {
            return;
        }
        if self.busy.len() < self.cells.len() {
            self.busy.resize(self.cells.len(), 0);
        }
        let unit = if writes { 1 } else { 1 << 16 };
        for b in &mut self.busy[lo as usize..hi as usize] {
            *b = b.saturating_add(unit);
        }
        self.inflight.push(Inflight {
            lo,
            hi,
            tid,
            pc,
            writes,
            what,
        });
    }

    /// The operation of `tid` on `[lo, hi)` is complete (its `wait_group` retired it): a
    /// write lands now, as a write by `tid`, so other threads still need a barrier.
    pub fn async_retire(&mut self, tid: u32, lo: u32, hi: u32) {
        let Some(i) = self
            .inflight
            .iter()
            .rposition(|f| f.tid == tid && f.lo == lo && f.hi == hi)
        else {
            return;
        };
        let f = self.inflight.swap_remove(i);
        let unit = if f.writes { 1 } else { 1 << 16 };
        for b in &mut self.busy[lo as usize..hi as usize] {
            *b = b.saturating_sub(unit);
        }
        if f.writes {
            let me = Rec {
                t: self.now,
                pc: f.pc,
                tid: tid as u16,
                atomic: false,
            };
            for c in &mut self.cells[lo as usize..hi as usize] {
                c.w = me;
                c.r1 = Rec::default();
                c.r2 = Rec::default();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shadow() -> Shadow {
        let mut s = Shadow::default();
        s.begin_block(64, 64, true, true);
        s
    }

    #[test]
    fn barriers_and_warp_syncs_order_accesses() {
        let mut s = shadow();
        s.access(0, 4, Kind::Write, 0, 1);
        s.barrier(&[0, 1], true);
        s.access(0, 4, Kind::Read, 33, 2);
        assert_eq!(s.pending, None);
        // lanes 1 and 2 of warp 0: a partial warp sync orders only its lanes
        s.access(8, 4, Kind::Write, 1, 3);
        s.warp_sync(0, 0b0110);
        s.access(8, 4, Kind::Read, 2, 4);
        assert_eq!(s.pending, None);
        s.access(8, 4, Kind::Read, 3, 5);
        assert!(matches!(s.pending, Some(Hazard::Race { tid: 3, .. })));
    }

    #[test]
    fn a_barrier_with_a_count_orders_only_the_warps_it_released() {
        let mut s = Shadow::default();
        s.begin_block(64, 96, true, true);
        s.access(0, 4, Kind::Write, 0, 1);
        s.barrier(&[0, 1], false);
        s.access(0, 4, Kind::Read, 32, 2);
        assert_eq!(s.pending, None);
        s.access(0, 4, Kind::Read, 64, 3);
        assert!(matches!(s.pending, Some(Hazard::Race { tid: 64, .. })));
    }

    #[test]
    fn ordering_is_transitive_across_barriers_with_counts_and_partial_warp_syncs() {
        let mut s = Shadow::default();
        s.begin_block(64, 96, true, true);
        s.access(0, 4, Kind::Write, 0, 1);
        s.barrier(&[0, 1], false);
        s.barrier(&[1, 2], false);
        s.access(0, 4, Kind::Read, 64, 2);
        assert_eq!(s.pending, None);
        // lane 0 -> lane 1 -> lane 2 by two partial syncs
        s.access(8, 4, Kind::Write, 0, 3);
        s.warp_sync(0, 0b011);
        s.warp_sync(0, 0b110);
        s.access(8, 4, Kind::Read, 2, 4);
        assert_eq!(s.pending, None);
        s.access(8, 4, Kind::Read, 3, 5);
        assert!(matches!(s.pending, Some(Hazard::Race { tid: 3, .. })));
    }

    #[test]
    fn in_flight_async_ranges_are_hazards_until_retired() {
        let mut s = shadow();
        // thread 5 issues a cp.async of 16 bytes to [16, 32)
        s.access(16, 16, Kind::Write, 5, 1);
        s.async_begin(16, 32, 5, 1, true, "cp.async");
        s.access(0, 16, Kind::Write, 6, 2);
        assert_eq!(s.pending, None);
        s.access(28, 4, Kind::Read, 5, 3);
        assert!(matches!(s.pending, Some(Hazard::Async { tid: 5, .. })));
        s.pending = None;
        s.async_retire(5, 16, 32);
        s.access(28, 4, Kind::Read, 5, 4);
        assert_eq!(s.pending, None);
        // another thread still needs a barrier after the wait
        s.access(28, 4, Kind::Read, 40, 5);
        assert!(matches!(s.pending, Some(Hazard::Race { tid: 40, .. })));
        s.pending = None;
        // an operand read in flight (wgmma): reads are fine, writes are hazards
        s.barrier(&[0, 1], true);
        s.async_begin(0, 16, 0, 6, false, "wgmma.mma_async");
        s.access(0, 4, Kind::Read, 9, 7);
        assert_eq!(s.pending, None);
        s.access(4, 4, Kind::Write, 9, 8);
        assert!(matches!(s.pending, Some(Hazard::Async { tid: 9, .. })));
    }

    #[test]
    fn uninitialised_bytes_and_later_blocks() {
        let mut s = shadow();
        s.access(0, 2, Kind::Write, 0, 1);
        s.access(0, 4, Kind::Read, 0, 2);
        assert!(matches!(s.pending, Some(Hazard::Uninit { at: 2, .. })));
        // a new block: nothing is written, nothing races with the last block
        s.begin_block(64, 64, true, true);
        s.access(0, 4, Kind::Write, 7, 1);
        assert_eq!(s.pending, None);
        s.access(0, 4, Kind::Atomic, 8, 2);
        assert!(matches!(s.pending, Some(Hazard::Race { tid: 8, .. })));
    }
}
