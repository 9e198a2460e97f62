//! Kernel counters (`Options::counters`): what a launch did, counted instruction by
//! instruction, the way Nsight Compute's counters count it on a GPU. Shared-memory accesses
//! are served by the model of 32 banks of 4 bytes below, global accesses in 32-byte sectors.
//! Under `Schedule::Canonical` and one host thread the counts are a function of the PTX and
//! the inputs alone (docs/EMULATOR.md, "Counters").

use std::collections::BTreeMap;

use super::memory::{self, Generic};
use crate::inst::{Op, Space, Ty};
use crate::parse::{Kernel, Module};

/// Every count of one launch (or of several, added), by name. Names are stable: they are
/// stored with results and compared across commits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    values: BTreeMap<String, u64>,
    /// Memory instructions that moved more than their ideal, by (kernel, PTX line, kind).
    hot: BTreeMap<(String, u32, &'static str), Hotspot>,
}

/// One memory instruction that took more wavefronts (shared memory) or sectors (global)
/// than its accesses needed: where it is and by how much, over the launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hotspot {
    pub kernel: String,
    pub ptx_line: u32,
    /// The CUDA source file and line (`.loc`), when the PTX has them.
    pub source: Option<(String, u32)>,
    /// `shared.ld`, `shared.st`, `shared.ldmatrix`, `global.ld`, `global.st`,
    /// `global.atom` or `cp_async`.
    pub kind: &'static str,
    /// Warp-level requests it made.
    pub requests: u64,
    /// Wavefronts or sectors they took, and the fewest they could have taken.
    pub actual: u64,
    pub ideal: u64,
}

impl Counters {
    /// The count called `name`, 0 when nothing was counted under it.
    pub fn get(&self, name: &str) -> u64 {
        self.values.get(name).copied().unwrap_or(0)
    }

    /// Every non-zero count, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.values.iter().map(|(k, &v)| (k.as_str(), v))
    }

    /// Adds `other`'s counts (a launch of a pipeline's next stage); `max_ways` counts take
    /// the larger value.
    pub fn add(&mut self, other: &Counters) {
        for (k, v) in other.iter() {
            self.bump(k, v);
        }
        for (key, h) in &other.hot {
            self.add_hot(key.clone(), h);
        }
    }

    fn add_hot(&mut self, key: (String, u32, &'static str), h: &Hotspot) {
        match self.hot.get_mut(&key) {
            Some(mine) => {
                mine.requests += h.requests;
                mine.actual += h.actual;
                mine.ideal += h.ideal;
            }
            None => {
                self.hot.insert(key, h.clone());
            }
        }
    }

    /// The instructions that moved more than their ideal, the most excess first.
    pub fn hotspots(&self) -> Vec<&Hotspot> {
        let mut v: Vec<&Hotspot> = self.hot.values().collect();
        v.sort_by(|a, b| {
            (b.actual - b.ideal)
                .cmp(&(a.actual - a.ideal))
                .then_with(|| a.kernel.cmp(&b.kernel))
                .then(a.ptx_line.cmp(&b.ptx_line))
        });
        v
    }

    fn bump(&mut self, name: &str, v: u64) {
        if v == 0 {
            return;
        }
        let slot = self.values.entry(name.to_string()).or_insert(0);
        if name.ends_with(".max_ways") {
            *slot = (*slot).max(v);
        } else {
            *slot += v;
        }
    }

    /// The counts by name (the hotspots dropped).
    pub fn into_map(self) -> BTreeMap<String, u64> {
        self.values
    }
}

/// What each instruction was counted as, from its decoded operation.
pub(crate) fn class(op: &Op) -> String {
    let fp = |ty: Ty| match ty {
        Ty::F64 => "fp64",
        Ty::F16 | Ty::Bf16 => "fp16",
        _ => "fp32",
    };
    let space = |s: Space| s.name();
    match op {
        Op::IBin { .. }
        | Op::IUn { .. }
        | Op::Mad { .. }
        | Op::Bfe { .. }
        | Op::Bfi { .. }
        | Op::Prmt { .. }
        | Op::Lop3 { .. }
        | Op::Mul24 { .. }
        | Op::Selp { .. }
        | Op::Slct { .. }
        | Op::Pack { .. }
        | Op::Unpack { .. }
        | Op::Cvta { .. }
        | Op::Activemask { .. } => "integer".into(),
        Op::Setp { ty, .. } if ty.is_float() => fp(*ty).into(),
        Op::Setp { .. } => "integer".into(),
        Op::FBin { ty, .. } | Op::Fma { ty, .. } | Op::FUn { ty, .. } | Op::Testp { ty, .. } => {
            fp(*ty).into()
        }
        Op::Cvt { .. } | Op::CvtPack { .. } => "conversion".into(),
        Op::Ld { space: s, .. } => format!("ld.{}", space(*s)),
        Op::St { space: s, .. } => format!("st.{}", space(*s)),
        Op::Atom { space: s, .. } => format!("atom.{}", space(*s)),
        Op::Bra { .. } => "branch".into(),
        Op::Exit => "exit".into(),
        Op::Bar { .. } | Op::BarWarpSync { .. } | Op::Membar => "barrier".into(),
        Op::Shfl { .. } => "shuffle".into(),
        Op::Vote { .. } => "vote".into(),
        Op::CpAsync { .. } => "cp_async".into(),
        Op::CpAsyncCommit | Op::CpAsyncWait { .. } => "cp_async.sync".into(),
        Op::Ldmatrix { num, .. } => format!("ldmatrix.x{num}"),
        Op::Mma(m) => format!(
            "tensor.mma.m16n8k{}.{}",
            m.k,
            if m.f16 { "f16" } else { "bf16" }
        ),
        Op::WmmaLoad(_) => "wmma.load".into(),
        Op::WmmaStore(_) => "wmma.store".into(),
        Op::WmmaMma(m) => format!(
            "tensor.wmma.m16n16k16.{}",
            if m.f16 { "f16" } else { "bf16" }
        ),
        Op::Wgmma(w) => format!(
            "tensor.wgmma.m64n{}k16.{}",
            w.n,
            if w.f16 { "f16" } else { "bf16" }
        ),
        Op::WgmmaFence | Op::WgmmaCommit | Op::WgmmaWait { .. } => "wgmma.sync".into(),
        Op::Nop => "nop".into(),
    }
}

/// Per warp-instruction: issued, lanes active, lanes whose guard held, and (branches)
/// issued with the active lanes split.
#[derive(Clone, Copy, Default)]
pub(crate) struct PcCount {
    pub issued: u64,
    pub active: u64,
    pub pred_on: u64,
    pub divergent: u64,
}

/// One lane's access of one warp-level memory instruction: the address (a shared-memory
/// offset or a global address) and its size.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LaneAccess {
    pub lane: u8,
    pub addr: u64,
    pub bytes: u32,
}

/// A memory instruction's requests and what they took (wavefronts or sectors).
#[derive(Clone, Copy, Default)]
pub(crate) struct MemAt {
    pub kind: &'static str,
    pub requests: u64,
    pub actual: u64,
    pub ideal: u64,
}

/// What a host thread counted; merged into the launch's [`Counters`] when its blocks end.
#[derive(Default)]
pub(crate) struct Tally {
    pub per_pc: Vec<PcCount>,
    pub per_pc_mem: Vec<MemAt>,
    /// The instruction being counted.
    pub cur_pc: usize,
    /// Memory counts by name (requests, wavefronts, sectors, bytes).
    pub memory: BTreeMap<&'static str, u64>,
    /// The accesses of the instruction being counted (reused).
    pub scratch: Vec<LaneAccess>,
}

impl Tally {
    pub fn begin(&mut self, ninsts: usize) {
        self.per_pc.clear();
        self.per_pc.resize(ninsts, PcCount::default());
        self.per_pc_mem.clear();
        self.per_pc_mem.resize(ninsts, MemAt::default());
        self.memory.clear();
    }

    fn add(&mut self, name: &'static str, v: u64) {
        if name.ends_with(".max_ways") {
            let slot = self.memory.entry(name).or_insert(0);
            *slot = (*slot).max(v);
        } else {
            *self.memory.entry(name).or_insert(0) += v;
        }
    }

    /// A shared-memory request of `self.scratch` (lane order): requests, wavefronts, the
    /// ideal wavefronts, bytes and the worst phase's conflict ways, under `prefix`.
    /// `lanes_per_phase`: how many lanes' accesses one wavefront can serve at best (32 for
    /// accesses of up to 4 bytes, 16 for 8, 8 for 16; 8 rows of ldmatrix).
    pub fn shared_request(&mut self, prefix: SharedKind, lanes_per_phase: u32) {
        if self.scratch.is_empty() {
            return;
        }
        let b = bank_wavefronts(&self.scratch, lanes_per_phase);
        let bytes: u64 = self.scratch.iter().map(|a| a.bytes as u64).sum();
        let n = prefix.names();
        self.add(n[0], 1);
        self.add(n[1], b.wavefronts);
        self.add(n[2], b.ideal);
        self.add(n[3], bytes);
        self.add(n[4], b.max_ways);
        self.at(prefix.kind(), b.wavefronts, b.ideal);
    }

    fn at(&mut self, kind: &'static str, actual: u64, ideal: u64) {
        let m = &mut self.per_pc_mem[self.cur_pc];
        m.kind = kind;
        m.requests += 1;
        m.actual += actual;
        m.ideal += ideal;
    }

    /// A global-memory request of `self.scratch`: requests, sectors, the ideal sectors for
    /// the distinct bytes, bytes requested.
    pub fn global_request(&mut self, kind: GlobalKind) {
        if self.scratch.is_empty() {
            return;
        }
        let s = sectors(&self.scratch);
        let bytes: u64 = self.scratch.iter().map(|a| a.bytes as u64).sum();
        let n = kind.names();
        self.add(n[0], 1);
        self.add(n[1], s.sectors);
        self.add(n[2], s.ideal);
        self.add(n[3], bytes);
        self.at(kind.kind(), s.sectors, s.ideal);
    }

    pub fn count(&mut self, name: &'static str, v: u64) {
        self.add(name, v);
    }

    /// This thread's counts, added to `into`: the instruction classes read from `insts`,
    /// the hotspots located in `module`'s files.
    pub fn merge_into(&self, kernel: &Kernel, module: &Module, into: &mut Counters) {
        let ops: Vec<&Op> = kernel.insts.iter().map(|i| &i.op).collect();
        for (pc, m) in self.per_pc_mem.iter().enumerate() {
            if m.actual <= m.ideal {
                continue;
            }
            let inst = &kernel.insts[pc];
            let source = inst
                .loc
                .and_then(|(file, line)| Some((module.file(file)?.to_string(), line)));
            let h = Hotspot {
                kernel: kernel.name.clone(),
                ptx_line: inst.line,
                source,
                kind: m.kind,
                requests: m.requests,
                actual: m.actual,
                ideal: m.ideal,
            };
            into.add_hot((kernel.name.clone(), inst.line, m.kind), &h);
        }
        let mut classes: BTreeMap<String, u64> = BTreeMap::new();
        let (mut issued, mut active, mut pred_on, mut divergent) = (0, 0, 0, 0);
        for (pc, c) in self.per_pc.iter().enumerate() {
            if c.issued == 0 {
                continue;
            }
            issued += c.issued;
            active += c.active;
            pred_on += c.pred_on;
            divergent += c.divergent;
            *classes.entry(class(ops[pc])).or_insert(0) += c.issued;
        }
        into.bump("inst.executed", issued);
        into.bump("inst.thread_executed", active);
        into.bump("inst.thread_pred_on", pred_on);
        into.bump("branch.divergent", divergent);
        for (k, v) in classes {
            into.bump(&format!("inst.{k}"), v);
        }
        for (&k, &v) in &self.memory {
            into.bump(k, v);
        }
    }
}

/// Which shared-memory counters a request goes to.
#[derive(Clone, Copy)]
pub(crate) enum SharedKind {
    Load,
    Store,
    Ldmatrix,
}

impl SharedKind {
    fn kind(self) -> &'static str {
        match self {
            SharedKind::Load => "shared.ld",
            SharedKind::Store => "shared.st",
            SharedKind::Ldmatrix => "shared.ldmatrix",
        }
    }

    fn names(self) -> [&'static str; 5] {
        match self {
            SharedKind::Load => [
                "shared.ld.requests",
                "shared.ld.wavefronts",
                "shared.ld.ideal_wavefronts",
                "shared.ld.bytes",
                "shared.ld.max_ways",
            ],
            SharedKind::Store => [
                "shared.st.requests",
                "shared.st.wavefronts",
                "shared.st.ideal_wavefronts",
                "shared.st.bytes",
                "shared.st.max_ways",
            ],
            SharedKind::Ldmatrix => [
                "shared.ldmatrix.requests",
                "shared.ldmatrix.wavefronts",
                "shared.ldmatrix.ideal_wavefronts",
                "shared.ldmatrix.bytes",
                "shared.ldmatrix.max_ways",
            ],
        }
    }
}

/// Which global-memory counters a request goes to.
#[derive(Clone, Copy)]
pub(crate) enum GlobalKind {
    Load,
    Store,
    Atomic,
    /// the global source of `cp.async`
    CpAsync,
}

impl GlobalKind {
    fn kind(self) -> &'static str {
        match self {
            GlobalKind::Load => "global.ld",
            GlobalKind::Store => "global.st",
            GlobalKind::Atomic => "global.atom",
            GlobalKind::CpAsync => "cp_async",
        }
    }

    fn names(self) -> [&'static str; 4] {
        match self {
            GlobalKind::Load => [
                "global.ld.requests",
                "global.ld.sectors",
                "global.ld.ideal_sectors",
                "global.ld.bytes",
            ],
            GlobalKind::Store => [
                "global.st.requests",
                "global.st.sectors",
                "global.st.ideal_sectors",
                "global.st.bytes",
            ],
            GlobalKind::Atomic => [
                "global.atom.requests",
                "global.atom.sectors",
                "global.atom.ideal_sectors",
                "global.atom.bytes",
            ],
            GlobalKind::CpAsync => [
                "cp_async.requests",
                "cp_async.global_sectors",
                "cp_async.ideal_sectors",
                "cp_async.bytes",
            ],
        }
    }
}

/// How a generic address resolves: `None` for the global window (kept as is), or the
/// space and offset.
pub(crate) fn resolve(space: Space, addr: u64) -> (Space, u64) {
    match space {
        Space::Generic => match memory::classify(addr) {
            Generic::Global(a) => (Space::Global, a),
            Generic::Shared(a) => (Space::Shared, a),
            Generic::Local(a) => (Space::Local, a),
        },
        s => (s, addr),
    }
}

/// How many lanes one shared-memory wavefront serves at best for accesses of `bytes`
/// each: 128 bytes per wavefront, and never more than the warp.
pub(crate) fn lanes_per_phase(bytes: u32) -> u32 {
    (128 / bytes.max(4)).clamp(1, 32)
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Banks {
    pub wavefronts: u64,
    pub ideal: u64,
    pub max_ways: u64,
}

/// The bank model: lanes are served in phases of `lanes_per_phase` consecutive lanes; in a
/// phase each of the 32 banks (4-byte words, bank = word mod 32) delivers one distinct word
/// per wavefront, and lanes reading the same word share it (broadcast). A phase takes as
/// many wavefronts as its busiest bank has distinct words; its ideal is one.
pub(crate) fn bank_wavefronts(accesses: &[LaneAccess], lanes_per_phase: u32) -> Banks {
    let mut out = Banks {
        wavefronts: 0,
        ideal: 0,
        max_ways: 0,
    };
    // a phase touches at most 32 aligned words (128 bytes); 64 leaves room for accesses
    // that straddle words, and more than that is counted exactly, only slower
    let mut words = [0u64; 64];
    let mut spill: Vec<u64> = Vec::new();
    let mut i = 0;
    while i < accesses.len() {
        let phase = accesses[i].lane as u32 / lanes_per_phase;
        let mut n = 0;
        spill.clear();
        while i < accesses.len() && accesses[i].lane as u32 / lanes_per_phase == phase {
            let a = accesses[i];
            let (first, last) = (a.addr / 4, (a.addr + a.bytes.max(1) as u64 - 1) / 4);
            for w in first..=last {
                if n < words.len() {
                    words[n] = w;
                    n += 1;
                } else {
                    spill.push(w);
                }
            }
            i += 1;
        }
        let words: &mut [u64] = if spill.is_empty() {
            &mut words[..n]
        } else {
            spill.extend_from_slice(&words[..n]);
            &mut spill
        };
        words.sort_unstable();
        let mut per_bank = [0u64; 32];
        let mut last = None;
        for &w in words.iter() {
            if last != Some(w) {
                per_bank[(w % 32) as usize] += 1;
                last = Some(w);
            }
        }
        let ways = per_bank.iter().copied().max().unwrap_or(0).max(1);
        out.wavefronts += ways;
        out.ideal += 1;
        out.max_ways = out.max_ways.max(ways);
    }
    out
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Sectors {
    pub sectors: u64,
    pub ideal: u64,
}

/// The 32-byte sectors a global request touches, and the fewest that could hold its
/// distinct bytes.
pub(crate) fn sectors(accesses: &[LaneAccess]) -> Sectors {
    // one range per lane: at most 32
    let mut buf = [(0u64, 0u64); 32];
    let mut more: Vec<(u64, u64)> = Vec::new();
    for (k, a) in accesses.iter().enumerate() {
        let r = (a.addr, a.addr + a.bytes.max(1) as u64);
        if k < buf.len() {
            buf[k] = r;
        } else {
            more.push(r);
        }
    }
    let ranges: &mut [(u64, u64)] = if more.is_empty() {
        &mut buf[..accesses.len()]
    } else {
        more.extend_from_slice(&buf);
        &mut more
    };
    ranges.sort_unstable();
    let (mut sectors, mut distinct) = (0u64, 0u64);
    let mut last_sector: Option<u64> = None;
    let mut covered_to = 0u64;
    for &mut (lo, hi) in ranges {
        let lo_new = lo.max(covered_to);
        if hi > lo_new {
            distinct += hi - lo_new;
            covered_to = hi;
        }
        for s in lo / 32..=(hi - 1) / 32 {
            if last_sector.is_none_or(|l| s > l) {
                sectors += 1;
                last_sector = Some(s);
            }
        }
    }
    Sectors {
        sectors,
        ideal: distinct.div_ceil(32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes(addr: impl Fn(u64) -> u64, bytes: u32) -> Vec<LaneAccess> {
        (0..32)
            .map(|l| LaneAccess {
                lane: l as u8,
                addr: addr(l),
                bytes,
            })
            .collect()
    }

    #[test]
    fn four_byte_words_by_stride() {
        // stride 1 word: every bank once
        let b = bank_wavefronts(&lanes(|l| 4 * l, 4), 32);
        assert_eq!((b.wavefronts, b.ideal, b.max_ways), (1, 1, 1));
        // stride 2 words: banks 0, 2, .., 30 twice each
        let b = bank_wavefronts(&lanes(|l| 8 * l, 4), 32);
        assert_eq!((b.wavefronts, b.max_ways), (2, 2));
        // stride 4: 4-way; stride 32: all lanes in bank 0
        assert_eq!(bank_wavefronts(&lanes(|l| 16 * l, 4), 32).wavefronts, 4);
        assert_eq!(bank_wavefronts(&lanes(|l| 128 * l, 4), 32).wavefronts, 32);
        // odd stride (33 words, a padded column): conflict-free
        assert_eq!(bank_wavefronts(&lanes(|l| 132 * l, 4), 32).wavefronts, 1);
        // every lane the same word: a broadcast
        assert_eq!(bank_wavefronts(&lanes(|_| 64, 4), 32).wavefronts, 1);
    }

    #[test]
    fn sixteen_byte_accesses_in_quarter_warps() {
        // contiguous float4: 4 phases of 8 lanes, each 128 bytes, conflict-free
        let b = bank_wavefronts(&lanes(|l| 16 * l, 16), lanes_per_phase(16));
        assert_eq!((b.wavefronts, b.ideal, b.max_ways), (4, 4, 1));
        // gemm_regblock's B reads: lane l reads column (l % 16) * 8 + {0, 4}: the quarter
        // warp's starting banks are 0, 8, 16, 24, 0, ...: 2-way
        let b = bank_wavefronts(&lanes(|l| (l % 16) * 32, 16), lanes_per_phase(16));
        assert_eq!((b.wavefronts, b.ideal, b.max_ways), (8, 4, 2));
    }

    #[test]
    fn sectors_of_coalesced_strided_and_scattered_loads() {
        let s = sectors(&lanes(|l| 4096 + 4 * l, 4));
        assert_eq!((s.sectors, s.ideal), (4, 4));
        // stride 32 bytes: one sector per lane, 4 bytes used of each
        let s = sectors(&lanes(|l| 4096 + 32 * l, 4));
        assert_eq!((s.sectors, s.ideal), (32, 4));
        // misaligned by 4: one more sector
        assert_eq!(sectors(&lanes(|l| 4100 + 4 * l, 4)).sectors, 5);
        // a broadcast: one sector, one needed
        let s = sectors(&lanes(|_| 4096, 4));
        assert_eq!((s.sectors, s.ideal), (1, 1));
    }
}
