//! `wgmma.mma_async` (PTX ISA 9.7.15): shared-memory matrix descriptors, their canonical
//! layouts and swizzles, the register fragments, the arithmetic, and the per-warp record of
//! in-flight wgmma-groups.
//!
//! Execution model. A warpgroup is four consecutive warps (128 threads, warp ids 4g..4g+3);
//! the emulator runs warps one at a time, so each warp, when it executes the instruction,
//! computes its own 16 rows of the 64 x N result: rows 16*(warp % 4).. of D are the only
//! ones its registers hold (Figure 149), and they need only rows 16*(warp % 4).. of A and all
//! of B. The operands are read from shared memory, and D is written, when the warp issues
//! the instruction. The ISA lets the hardware read the operands any time until the
//! `wgmma.wait_group` that retires the instruction's group and makes D defined only then
//! (9.7.15.7.3), so a program that can tell the difference either writes shared memory an
//! in-flight wgmma reads or reads D early, and both are undefined; each warp keeps its
//! in-flight groups with the shared byte ranges they read (`WgmmaState`) so that such
//! programs can be diagnosed.

use std::collections::VecDeque;

use super::float::{bf16_to_f32, f16_to_f32};

/// The swizzling mode of a matrix descriptor (bits 62-63, PTX ISA 9.7.15.5.1.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Swizzle {
    /// 0: no swizzle (the "interleaved" layouts of 9.7.15.5.1.2)
    None,
    /// 1
    B128,
    /// 2
    B64,
    /// 3
    B32,
}

impl Swizzle {
    /// Bytes of one row of the swizzle atom (Table 38: 8, 4, 2, 1 16-byte elements).
    fn row_bytes(self) -> u64 {
        match self {
            Swizzle::None => 16,
            Swizzle::B32 => 32,
            Swizzle::B64 => 64,
            Swizzle::B128 => 128,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Swizzle::None => "no swizzle",
            Swizzle::B32 => "32B swizzle",
            Swizzle::B64 => "64B swizzle",
            Swizzle::B128 => "128B swizzle",
        }
    }
}

/// A decoded shared-memory matrix descriptor (PTX ISA 9.7.15.5.1.2.2 Matrix Descriptor
/// Format). Bits 13-0, 29-16 and 45-32 hold matrix-descriptor-encode(x) = (x & 0x3FFFF) >> 4
/// of the start address, the leading dimension byte offset and the stride dimension byte
/// offset; bits 51-49 the base offset; bits 63-62 the swizzle mode. Other bits are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Desc {
    pub start: u64,
    pub lbo: u64,
    pub sbo: u64,
    pub base_offset: u64,
    pub swizzle: Swizzle,
}

impl Desc {
    pub(crate) fn decode(v: u64) -> Desc {
        let field = |lo: u32| ((v >> lo) & 0x3fff) << 4;
        Desc {
            start: field(0),
            lbo: field(16),
            sbo: field(32),
            base_offset: (v >> 49) & 7,
            swizzle: match v >> 62 {
                0 => Swizzle::None,
                1 => Swizzle::B128,
                2 => Swizzle::B64,
                _ => Swizzle::B32,
            },
        }
    }

    /// The shared-memory byte address of element (mn, k) of a 16-bit operand (A: mn = row m;
    /// B: mn = column n), K-major or MN-major (`imm-trans` = 1), from the canonical layouts
    /// of PTX ISA 9.7.15.5.1.2.1.3 with T = 8 (16-bit elements per 16 bytes), in bytes:
    ///
    /// ```text
    /// K-major,  none:     ((8,m),(T,2k)):((1T,SBO),(1,LBO))     LBO: next 8 k, SBO: next 8 mn
    /// K-major,  W-byte:   ((8,m),(T,2k)):((W/16 T,SBO),(1,T))   LBO unused ("assumed 1")
    /// MN-major, none:     ((T,1,m),(8,k)):((1,T,SBO),(1T,LBO))  SBO: next 8 mn, LBO: next 8 k
    /// MN-major, W-byte:   ((T,W/16,m),(8,k)):((1,T,LBO),(W/16 T,SBO))
    ///                                       LBO: next W/2 mn, SBO: next 8 k
    /// ```
    ///
    /// then the swizzle `Swizzle<B,4,3>` (B = 0, 1, 2, 3 for none, 32B, 64B, 128B) of the
    /// byte address: bits [4, 4+B) are XORed with bits [7, 7+B) (see `swizzle`).
    pub(crate) fn addr(&self, mn_major: bool, mn: u64, k: u64) -> u64 {
        let w = self.swizzle.row_bytes();
        let chunks = w / 16;
        // (contiguous index, strided index) and their outer strides
        let (c, s, pc, ps) = match (mn_major, self.swizzle) {
            (false, _) => (k, mn, self.lbo, self.sbo),
            (true, Swizzle::None) => (mn, k, self.sbo, self.lbo),
            (true, _) => (mn, k, self.lbo, self.sbo),
        };
        let off = (c % 8) * 2
            + ((c / 8) % chunks) * 16
            + (c / 8 / chunks) * pc
            + (s % 8) * w
            + (s / 8) * ps;
        self.swizzle_addr(self.start + off)
    }

    /// `Swizzle<B,4,3>` on a byte address: the 16-byte chunk index (bits 4..) XOR the row of
    /// the repeating pattern (bits 7..), B bits each. The pattern repeats every 256, 512 or
    /// 1024 bytes and is taken to start at a multiple of that unless the base offset says
    /// otherwise: base offset = (pattern start >> 7) & 7 (9.7.15.5.1.2.2), so the row within
    /// the pattern is ((addr >> 7) - base offset) mod 2^B. The ISA gives the base offset only
    /// by that formula; this reading of it is the emulator's.
    fn swizzle_addr(&self, a: u64) -> u64 {
        let bits = match self.swizzle {
            Swizzle::None => return a,
            Swizzle::B32 => 1,
            Swizzle::B64 => 2,
            Swizzle::B128 => 3,
        };
        let mask = (1u64 << bits) - 1;
        let row = (a >> 7).wrapping_sub(self.base_offset) & mask;
        a ^ (row << 4)
    }
}

/// A 16-bit operand element as f32 (`.f16` or `.bf16`), negated for `imm-scale` = -1.
#[inline]
pub(crate) fn half_to_f32(h: u16, f16: bool, neg: bool) -> f32 {
    let x = if f16 { f16_to_f32(h) } else { bf16_to_f32(h) };
    if neg { -x } else { x }
}

/// An operand read outside shared memory.
pub(crate) struct Oob {
    pub addr: u64,
    pub mn: u64,
    pub k: u64,
}

/// Reads `rows` x 16 elements (mn = `mn0`.., k = 0..16) of a 16-bit operand through its
/// descriptor into `out[(mn - mn0) * 16 + k]` as f32 (negated if `neg`), 16 bytes at a time
/// (8 consecutive elements of the contiguous dimension share one 16-byte chunk, which the
/// swizzle moves as a whole); the chunk addresses go to `reads`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gather(
    shared: &[u8],
    d: &Desc,
    mn_major: bool,
    mn0: u64,
    rows: u64,
    f16: bool,
    neg: bool,
    out: &mut Vec<f32>,
    reads: &mut Vec<u32>,
) -> Result<(), Oob> {
    out.clear();
    out.resize(rows as usize * 16, 0.0);
    let cvt = |h: u16| half_to_f32(h, f16, neg);
    let mut chunk = |mn: u64, k: u64, out: &mut Vec<f32>| -> Result<(), Oob> {
        let a = d.addr(mn_major, mn, k);
        let Some(bytes) = shared
            .get(a as usize..a as usize + 16)
            .filter(|_| a < 1 << 32)
        else {
            return Err(Oob { addr: a, mn, k });
        };
        reads.push(a as u32);
        for j in 0..8u64 {
            let h = u16::from_le_bytes([bytes[2 * j as usize], bytes[2 * j as usize + 1]]);
            let (m, kk) = if mn_major { (mn + j, k) } else { (mn, k + j) };
            out[((m - mn0) * 16 + kk) as usize] = cvt(h);
        }
        Ok(())
    };
    if mn_major {
        for k in 0..16 {
            for mn in (mn0..mn0 + rows).step_by(8) {
                chunk(mn, k, out)?;
            }
        }
    } else {
        for mn in mn0..mn0 + rows {
            chunk(mn, 0, out)?;
            chunk(mn, 8, out)?;
        }
    }
    Ok(())
}

/// Element `i` of a thread's m64nNk16 f32 accumulator fragment (PTX ISA 9.7.15.5.1.1.1,
/// Figure 149): (row within the warp's 16 rows, column). Warp w % 4 of the warpgroup holds
/// rows 16*(w % 4)..; within them, lane l holds row l/4 (d0, d1, d4, d5, ...) and row l/4 + 8
/// (d2, d3, d6, d7, ...), columns 8*(i/4) + 2*(l%4) + i%2.
#[inline]
pub(crate) fn d_elem(lane: usize, i: usize) -> (usize, usize) {
    (
        lane / 4 + 8 * ((i >> 1) & 1),
        8 * (i >> 2) + 2 * (lane % 4) + (i & 1),
    )
}

/// Register `j` (0..4) of a thread's A fragment in registers, m64nNk16 (PTX ISA
/// 9.7.15.5.1.1.1, Figure 148: per warp the layout of mma.m16n8k16's A, warp w % 4 holding
/// rows 16*(w % 4)..): its low half is element (row, col), its high half (row, col + 1).
#[inline]
pub(crate) fn a_reg_elem(lane: usize, j: usize) -> (usize, usize) {
    (lane / 4 + 8 * (j % 2), 2 * (lane % 4) + 8 * (j / 2))
}

/// D (16 x n of this warp, `d[row * n + col]`) = A (16 x 16, `a[row * 16 + k]`) * B
/// (`b[col * 16 + k]`) + D if `accumulate`. The ISA leaves the accumulation order and rounding
/// unspecified (9.7.15.5.2, "at least single precision"): here the 16 products, exact in f32
/// for bf16 and f16 inputs, are summed in k order in f32 and the sum added to D.
pub(crate) fn mma(d: &mut [f32], a: &[f32], b: &[f32], n: usize, accumulate: bool) {
    for r in 0..16 {
        let ar = &a[r * 16..r * 16 + 16];
        for c in 0..n {
            let bc = &b[c * 16..c * 16 + 16];
            let mut s = 0.0f32;
            for k in 0..16 {
                s += ar[k] * bc[k];
            }
            let x = &mut d[r * n + c];
            *x = if accumulate { *x + s } else { s };
        }
    }
}

/// One `wgmma.mma_async` issued by a warp and not yet retired by a `wgmma.wait_group`.
#[derive(Clone, Debug, Default)]
#[allow(dead_code)] // read by the async-hazard checks (milestone 4) and the unit tests
pub(crate) struct InFlight {
    /// PTX line of the instruction.
    pub line: u32,
    /// The shared-memory byte ranges [start, end) its operands read, sorted and disjoint.
    pub reads: Vec<(u32, u32)>,
}

impl InFlight {
    /// From the 16-byte chunk addresses read.
    pub(crate) fn new(line: u32, chunks: &mut [u32]) -> InFlight {
        chunks.sort_unstable();
        let mut reads: Vec<(u32, u32)> = Vec::new();
        for &c in chunks.iter() {
            match reads.last_mut() {
                Some(last) if c <= last.1 => last.1 = last.1.max(c + 16),
                _ => reads.push((c, c + 16)),
            }
        }
        InFlight { line, reads }
    }
}

/// A warp's wgmma-groups (PTX ISA 9.7.15.7): `wgmma.commit_group` closes the open group
/// (possibly empty) and `wgmma.wait_group N` retires all but the N most recent closed groups.
#[derive(Default)]
pub(crate) struct WgmmaState {
    /// `wgmma.mma_async`s issued since the last commit.
    pub open: Vec<InFlight>,
    /// Committed groups not yet retired, oldest first.
    pub groups: VecDeque<Vec<InFlight>>,
    /// `wgmma.mma_async` instructions this warp executed, and the line of the first (the
    /// four warps of a warpgroup must execute the same ones).
    pub issued: u32,
    pub first_line: u32,
    /// A hash of the descriptors and lines of those, in order: equal in the four warps of a
    /// warpgroup when they gave the same descriptors ("the contents of a matrix descriptor
    /// must be same across all the warps in the warpgroup", 9.7.15.5.2).
    pub signature: u64,
    /// Scratch for one instruction: A and B as f32, this warp's 16 rows of D, chunks read.
    pub a: Vec<f32>,
    pub b: Vec<f32>,
    pub d: Vec<f32>,
    pub reads: Vec<u32>,
}

impl WgmmaState {
    pub(crate) fn reset(&mut self) {
        self.open.clear();
        self.groups.clear();
        self.issued = 0;
        self.first_line = 0;
        self.signature = 0;
    }

    /// Records one `wgmma.mma_async` with its descriptors (A's 0 when in registers).
    pub(crate) fn sign(&mut self, line: u32, a: u64, b: u64) {
        for x in [line as u64, a, b] {
            self.signature = (self.signature ^ x).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub(crate) fn commit(&mut self) {
        self.groups.push_back(std::mem::take(&mut self.open));
    }

    pub(crate) fn wait(&mut self, n: u32) {
        while self.groups.len() > n as usize {
            self.groups.pop_front();
        }
    }

    /// Every wgmma not yet retired (milestone 4 checks shared-memory writes against these).
    #[allow(dead_code)]
    pub(crate) fn in_flight(&self) -> impl Iterator<Item = &InFlight> {
        self.groups.iter().flatten().chain(self.open.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(start: u64, lbo: u64, sbo: u64, base: u64, mode: u64) -> u64 {
        ((start & 0x3ffff) >> 4)
            | ((lbo & 0x3ffff) >> 4) << 16
            | ((sbo & 0x3ffff) >> 4) << 32
            | base << 49
            | mode << 62
    }

    #[test]
    fn descriptor_fields() {
        let d = Desc::decode(desc(0x1230, 8192, 1024, 5, 1) | 1 << 14 | 1 << 47);
        assert_eq!(
            d,
            Desc {
                start: 0x1230,
                lbo: 8192,
                sbo: 1024,
                base_offset: 5,
                swizzle: Swizzle::B128
            }
        );
        assert_eq!(Desc::decode(desc(0, 16, 16, 0, 2)).swizzle, Swizzle::B64);
        assert_eq!(Desc::decode(desc(0, 16, 16, 0, 3)).swizzle, Swizzle::B32);
        assert_eq!(Desc::decode(desc(0, 16, 16, 0, 0)).swizzle, Swizzle::None);
    }

    #[test]
    #[allow(clippy::identity_op)] // the chunk arithmetic written out
    fn canonical_layouts_match_the_isa_examples() {
        // 9.7.15.5.1.2.1.3 examples, in elements of 2 bytes (bf16):
        // MN-major, none: ((8,1,2),(8,2)):((1,8,64),(8,128)), LBO 256 B, SBO 128 B
        let d = Desc::decode(desc(0, 256, 128, 0, 0));
        for (mn, k, e) in [
            (1, 0, 1),
            (8, 0, 64),
            (0, 1, 8),
            (0, 8, 128),
            (9, 9, 1 + 64 + 8 + 128),
        ] {
            assert_eq!(d.addr(true, mn, k), 2 * e, "({mn},{k})");
        }
        // MN-major, 32B: ((8,2,2),(8,2)):((1,8,128),(16,256)), LBO 256 B, SBO 512 B, then
        // Swizzle<1,4,3>
        let d = Desc::decode(desc(0, 256, 512, 0, 3));
        for (mn, k, e) in [(8, 0, 8), (16, 0, 128), (0, 1, 16), (0, 8, 256)] {
            let a = 2 * e;
            assert_eq!(d.addr(true, mn, k), a ^ (((a >> 7) & 1) << 4), "({mn},{k})");
        }
        // MN-major, 64B: ((8,4,2),(8,2)):((1,8,256),(32,512)), LBO 512 B, SBO 1024 B
        let d = Desc::decode(desc(0, 512, 1024, 0, 2));
        for (mn, k, e) in [(24, 0, 24), (32, 0, 256), (0, 7, 224), (0, 8, 512)] {
            let a = 2 * e;
            assert_eq!(d.addr(true, mn, k), a ^ (((a >> 7) & 3) << 4), "({mn},{k})");
        }
        // K-major, 128B (the gemm_wgmma kernel's A): row r of 128 bytes, chunk c at c ^ r % 8
        let d = Desc::decode(desc(1024 + 32, 16, 1024, 0, 1));
        assert_eq!(d.addr(false, 3, 0), 1024 + 3 * 128 + ((2 ^ 3) << 4));
        assert_eq!(d.addr(false, 3, 9), 1024 + 3 * 128 + ((3 ^ 3) << 4) + 2);
        assert_eq!(d.addr(false, 9, 0), 1024 + 1024 + 128 + ((2 ^ 1) << 4));
        // 64B K-major: rows of 64 bytes, row r's chunks XOR (r / 2) % 4
        let d = Desc::decode(desc(0, 16, 512, 0, 2));
        assert_eq!(d.addr(false, 2, 8), 128 + ((1 ^ 1) << 4));
        assert_eq!(d.addr(false, 7, 0), 7 * 64 + (3 << 4));
        // base offset: a 128B pattern starting 3 rows into a 1024-byte block
        let d = Desc::decode(desc(384, 16, 1024, 3, 1));
        assert_eq!(d.addr(false, 0, 0), 384);
        assert_eq!(d.addr(false, 1, 0), 512 + 16);
    }

    #[test]
    fn fragments_cover_each_element_once() {
        let mut seen = vec![0u32; 16 * 256];
        for lane in 0..32 {
            for i in 0..128 {
                let (r, c) = d_elem(lane, i);
                seen[r * 256 + c] += 1;
            }
        }
        assert!(seen.iter().all(|&s| s == 1));
        let mut seen = vec![0u32; 16 * 16];
        for lane in 0..32 {
            for j in 0..4 {
                let (r, c) = a_reg_elem(lane, j);
                seen[r * 16 + c] += 1;
                seen[r * 16 + c + 1] += 1;
            }
        }
        assert!(seen.iter().all(|&s| s == 1));
    }

    #[test]
    fn groups_retire_oldest_first() {
        let mut s = WgmmaState::default();
        s.open.push(InFlight::new(1, &mut [32, 0, 16, 64]));
        assert_eq!(s.open[0].reads, vec![(0, 48), (64, 80)]);
        s.commit();
        s.commit();
        s.open.push(InFlight::new(2, &mut []));
        s.commit();
        assert_eq!(s.in_flight().count(), 2);
        s.wait(1);
        assert_eq!(s.groups.len(), 1);
        assert_eq!(s.in_flight().map(|f| f.line).collect::<Vec<_>>(), vec![2]);
        s.wait(0);
        assert_eq!(s.in_flight().count(), 0);
    }
}
