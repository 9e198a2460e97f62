//! The decoded instruction stream: every operand is resolved (register slots, immediates,
//! label targets as instruction indices, symbol addresses), so execution does no text work.

/// A PTX fundamental type as it appears in an instruction's type suffix (PTX ISA 5.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    B8,
    U8,
    S8,
    B16,
    U16,
    S16,
    B32,
    U32,
    S32,
    B64,
    U64,
    S64,
    F16,
    Bf16,
    F32,
    F64,
    Pred,
}

impl Ty {
    pub fn parse(s: &str) -> Option<Ty> {
        Some(match s {
            "b8" => Ty::B8,
            "u8" => Ty::U8,
            "s8" => Ty::S8,
            "b16" => Ty::B16,
            "u16" => Ty::U16,
            "s16" => Ty::S16,
            "b32" => Ty::B32,
            "u32" => Ty::U32,
            "s32" => Ty::S32,
            "b64" => Ty::B64,
            "u64" => Ty::U64,
            "s64" => Ty::S64,
            "f16" => Ty::F16,
            "bf16" => Ty::Bf16,
            "f32" => Ty::F32,
            "f64" => Ty::F64,
            "pred" => Ty::Pred,
            _ => return None,
        })
    }

    /// Size in bits (a predicate counts as 1).
    pub fn bits(self) -> u32 {
        match self {
            Ty::B8 | Ty::U8 | Ty::S8 => 8,
            Ty::B16 | Ty::U16 | Ty::S16 | Ty::F16 | Ty::Bf16 => 16,
            Ty::B32 | Ty::U32 | Ty::S32 | Ty::F32 => 32,
            Ty::B64 | Ty::U64 | Ty::S64 | Ty::F64 => 64,
            Ty::Pred => 1,
        }
    }

    pub fn bytes(self) -> u32 {
        self.bits().div_ceil(8)
    }

    pub fn is_signed(self) -> bool {
        matches!(self, Ty::S8 | Ty::S16 | Ty::S32 | Ty::S64)
    }

    pub fn is_float(self) -> bool {
        matches!(self, Ty::F16 | Ty::Bf16 | Ty::F32 | Ty::F64)
    }

    /// Mask of the low `bits()` bits.
    pub fn mask(self) -> u64 {
        match self.bits() {
            64 => u64::MAX,
            b => (1u64 << b) - 1,
        }
    }
}

/// A source operand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Src {
    /// Register slot in the per-thread register file.
    Reg(u32),
    /// Immediate bits (already converted to the instruction's type).
    Imm(u64),
    /// A special register (%tid.x, ...).
    Special(Sreg),
}

/// Special registers (PTX ISA chapter 10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sreg {
    Tid(u8),
    Ntid(u8),
    Ctaid(u8),
    Nctaid(u8),
    LaneId,
    WarpId,
    NWarpId,
    SmId,
    NSmId,
    GridId,
    Clock,
    Clock64,
    LaneMaskEq,
    LaneMaskLt,
    LaneMaskLe,
    LaneMaskGt,
    LaneMaskGe,
    /// `%dynamic_smem_size`
    DynSmem,
    /// `%total_smem_size`
    TotalSmem,
}

/// State spaces (PTX ISA 5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    Generic,
    Global,
    Shared,
    Local,
    Param,
    Const,
}

impl Space {
    pub fn name(self) -> &'static str {
        match self {
            Space::Generic => "generic",
            Space::Global => "global",
            Space::Shared => "shared",
            Space::Local => "local",
            Space::Param => "param",
            Space::Const => "const",
        }
    }
}

/// `[base+offset]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Addr {
    pub base: Option<u32>,
    /// Symbol address plus immediate offset.
    pub offset: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IBinOp {
    Add,
    Sub,
    MulLo,
    MulHi,
    MulWide,
    Div,
    Rem,
    Min,
    Max,
    And,
    Or,
    Xor,
    Shl,
    Shr,
    /// `add.cc`-less saturating add (`add.sat.s32`).
    AddSat,
    SubSat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IUnOp {
    Neg,
    Abs,
    Not,
    Cnot,
    Popc,
    Clz,
    Brev,
    Mov,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MadMode {
    Lo,
    Hi,
    Wide,
}

/// IEEE rounding of float instructions (PTX ISA 9.7.3 rounding modifiers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rnd {
    /// `.rn` or none
    Rn,
    Rz,
    Rm,
    Rp,
    /// `.approx` (computed exactly rounded here; see README)
    Approx,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FBinOp {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
    /// `min.NaN`
    MinNan,
    MaxNan,
    Copysign,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FUnOp {
    Neg,
    Abs,
    Rcp,
    Sqrt,
    Rsqrt,
    Ex2,
    Lg2,
    Sin,
    Cos,
    Tanh,
    Mov,
}

/// Float modifiers shared by float instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FMods {
    pub rnd: Rnd,
    pub ftz: bool,
    pub sat: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Equ,
    Neu,
    Ltu,
    Leu,
    Gtu,
    Geu,
    Num,
    Nan,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoolOp {
    And,
    Or,
    Xor,
}

/// Rounding of `cvt` (PTX ISA 9.7.9.21): float rounding or integer rounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CvtRnd {
    None,
    Rn,
    Rz,
    Rm,
    Rp,
    Rni,
    Rzi,
    Rmi,
    Rpi,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtomOp {
    Add,
    Min,
    Max,
    Inc,
    Dec,
    And,
    Or,
    Xor,
    Exch,
    Cas,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShflMode {
    Up,
    Down,
    Bfly,
    Idx,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteMode {
    All,
    Any,
    Uni,
    Ballot,
}

/// One decoded operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    IBin {
        op: IBinOp,
        ty: Ty,
        d: u32,
        a: Src,
        b: Src,
    },
    IUn {
        op: IUnOp,
        ty: Ty,
        d: u32,
        a: Src,
    },
    Mad {
        mode: MadMode,
        ty: Ty,
        d: u32,
        a: Src,
        b: Src,
        c: Src,
    },
    /// `bfe` (PTX ISA 9.7.1.x bfe)
    Bfe {
        ty: Ty,
        d: u32,
        a: Src,
        b: Src,
        c: Src,
    },
    /// `bfi`
    Bfi {
        ty: Ty,
        d: u32,
        f: Src,
        a: Src,
        b: Src,
        c: Src,
    },
    Prmt {
        d: u32,
        a: Src,
        b: Src,
        c: Src,
    },
    Lop3 {
        d: u32,
        a: Src,
        b: Src,
        c: Src,
        lut: u8,
    },
    FBin {
        op: FBinOp,
        ty: Ty,
        m: FMods,
        d: u32,
        a: Src,
        b: Src,
    },
    Fma {
        ty: Ty,
        m: FMods,
        d: u32,
        a: Src,
        b: Src,
        c: Src,
    },
    FUn {
        op: FUnOp,
        ty: Ty,
        m: FMods,
        d: u32,
        a: Src,
    },
    Testp {
        nan: bool,
        finite: bool,
        infinite: bool,
        number: bool,
        normal: bool,
        subnormal: bool,
        ty: Ty,
        d: u32,
        a: Src,
    },
    Cvt {
        dty: Ty,
        sty: Ty,
        rnd: CvtRnd,
        ftz: bool,
        sat: bool,
        /// dest mask: the declared width of the destination register
        dmask: u64,
        d: u32,
        a: Src,
    },
    /// `cvt.rn.{f16x2,bf16x2}.f32 d, a, b`: a converted into the upper half, b the lower
    /// (PTX ISA 9.7.9.21 cvt)
    CvtPack {
        bf16: bool,
        rz: bool,
        d: u32,
        a: Src,
        b: Src,
    },
    /// `mul24`/`mad24` (PTX ISA 9.7.1.x): product of the low 24 bits, low 32 or bits 47..16
    Mul24 {
        hi: bool,
        signed: bool,
        d: u32,
        a: Src,
        b: Src,
        c: Option<Src>,
    },
    Setp {
        cmp: Cmp,
        ty: Ty,
        comb: Option<(BoolOp, Src, bool)>,
        p: u32,
        q: Option<u32>,
        a: Src,
        b: Src,
    },
    /// `selp d, a, b, c` and `slct` (c is a predicate for selp)
    Selp {
        ty: Ty,
        d: u32,
        a: Src,
        b: Src,
        c: Src,
    },
    /// `slct.dtype.s32/f32 d, a, b, c`: d = c >= 0 ? a : b
    Slct {
        ty: Ty,
        cf32: bool,
        d: u32,
        a: Src,
        b: Src,
        c: Src,
    },
    /// `mov.b64 %rd, {%r1,%r2}`: pack parts (lowest first), `part_bits` each
    Pack {
        d: u32,
        parts: Vec<Src>,
        part_bits: u32,
    },
    /// `mov.b64 {%r1,%r2}, %rd`: unpack (lowest first); `None` is the sink `_`
    Unpack {
        ds: Vec<Option<u32>>,
        a: Src,
        part_bits: u32,
    },
    Ld {
        space: Space,
        ty: Ty,
        /// destination registers (vector: up to 4; None for `_`)
        d: [Option<u32>; 4],
        n: u8,
        /// mask of the destination register width
        dmask: u64,
        addr: Addr,
    },
    St {
        space: Space,
        ty: Ty,
        a: [Src; 4],
        n: u8,
        addr: Addr,
    },
    Atom {
        space: Space,
        op: AtomOp,
        ty: Ty,
        d: Option<u32>,
        addr: Addr,
        b: Src,
        c: Src,
    },
    /// `cvta` (to = true: generic -> space; false: space -> generic)
    Cvta {
        to: bool,
        space: Space,
        d: u32,
        a: Src,
        mask: u64,
    },
    Bra {
        target: u32,
    },
    Bar {
        id: Src,
        count: Option<Src>,
    },
    BarWarpSync {
        mask: Src,
    },
    Membar,
    Exit,
    Shfl {
        mode: ShflMode,
        d: u32,
        p: Option<u32>,
        a: Src,
        b: Src,
        c: Src,
        mask: Src,
    },
    Vote {
        mode: VoteMode,
        d: u32,
        a: Src,
        neg: bool,
        mask: Src,
    },
    Activemask {
        d: u32,
    },
    /// `wgmma.mma_async.sync.aligned.m64nNk16.f32.{bf16,f16}.{bf16,f16}` (PTX ISA 9.7.15.5.2)
    Wgmma(Box<Wgmma>),
    /// `wgmma.fence.sync.aligned` (PTX ISA 9.7.15.7.1)
    WgmmaFence,
    /// `wgmma.commit_group.sync.aligned` (PTX ISA 9.7.15.7.2)
    WgmmaCommit,
    /// `wgmma.wait_group.sync.aligned n` (PTX ISA 9.7.15.7.3)
    WgmmaWait {
        n: u32,
    },
    /// `cp.async.{ca,cg}.shared{::cta}.global [dst], [src], cp-size{, src-size | ignore-src}`
    /// (PTX ISA 9.7.9.25, cp.async): copies `cp_size` bytes, the first `src-size` read from global
    /// and the rest zero; complete at the `cp.async.wait_group` that retires its group.
    CpAsync {
        dst: Addr,
        src: Addr,
        cp_size: u8,
        src_size: CpSrcSize,
    },
    /// `cp.async.commit_group` (PTX ISA 9.7.9.25, cp.async.commit_group)
    CpAsyncCommit,
    /// `cp.async.wait_group n` (9.7.9.25, cp.async.wait_group); `wait_all` is a commit followed by `wait 0`.
    CpAsyncWait {
        n: u32,
        all: bool,
    },
    /// `ldmatrix.sync.aligned.m8n8.{x1,x2,x4}{.trans}.shared{::cta}.b16 d, [addr]`
    /// (PTX ISA 9.7.14, ldmatrix): `num` 8x8 matrices of b16, one register each
    Ldmatrix {
        num: u8,
        trans: bool,
        space: Space,
        d: [u32; 4],
        addr: Addr,
    },
    /// `mma.sync.aligned.m16n8k{8,16}.row.col.f32.{bf16,f16}.{bf16,f16}.f32`
    /// (PTX ISA 9.7.14, mma)
    Mma(Box<MmaOp>),
    /// `wmma.load.{a,b,c}.sync.aligned.{row,col}.m16n16k16{.space}.type d, [addr]{, stride}`
    WmmaLoad(Box<WmmaLoadOp>),
    /// `wmma.mma.sync.aligned.{row,col}.{row,col}.m16n16k16.f32...f32 d, a, b, c`
    WmmaMma(Box<WmmaMmaOp>),
    /// `wmma.store.d.sync.aligned.{row,col}.m16n16k16{.space}.f32 [addr], d{, stride}`
    WmmaStore(Box<WmmaLoadOp>),
    Nop,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MmaOp {
    /// 8 or 16
    pub k: u8,
    /// f16 inputs (else bf16)
    pub f16: bool,
    pub d: [u32; 4],
    /// 4 registers for k16, 2 for k8 (the rest unused)
    pub a: [u32; 4],
    /// 2 registers for k16, 1 for k8
    pub b: [u32; 2],
    pub c: [u32; 4],
}

/// Which wmma fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frag {
    A,
    B,
    /// the accumulator (`c` of load, `d` of store)
    C,
}

/// `wmma.load` and `wmma.store`: `regs` are the fragment's registers (destinations of a
/// load, sources of a store).
#[derive(Clone, Debug, PartialEq)]
pub struct WmmaLoadOp {
    pub frag: Frag,
    /// `.col` layout in memory (else `.row`)
    pub col: bool,
    pub space: Space,
    /// element type: Bf16, F16 or F32
    pub ty: Ty,
    pub regs: Vec<u32>,
    pub addr: Addr,
    /// elements between consecutive rows (`.row`) or columns (`.col`); 16 when omitted
    pub stride: Src,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WmmaMmaOp {
    /// f16 inputs (else bf16)
    pub f16: bool,
    pub d: [u32; 8],
    pub a: Vec<u32>,
    pub b: Vec<u32>,
    pub c: [u32; 8],
}

/// How many bytes of a `cp.async` are read from global memory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CpSrcSize {
    /// No fourth operand: all `cp-size` bytes.
    Full,
    /// `src-size` (a register or immediate, in bytes; must not exceed `cp-size`).
    Bytes(Src),
    /// `ignore-src` predicate: when true, no bytes are read and all are zero.
    Ignore(u32, bool),
}

/// Multiplicand A of a `wgmma.mma_async`.
#[derive(Clone, Debug, PartialEq)]
pub enum WgmmaA {
    /// A 64-bit shared-memory matrix descriptor (PTX ISA 9.7.15.5.1.2.2).
    Desc(Src),
    /// Four `.b32` registers, each two 16-bit elements (PTX ISA 9.7.15.5.1.1.1, Figure 148).
    Regs([u32; 4]),
}

/// The operands of one `wgmma.mma_async` (PTX ISA 9.7.15.5.2): D (64 x `n`, f32) =
/// A (64 x 16) * B (16 x `n`) + D, or without the `+ D` when `scale_d` is false.
#[derive(Clone, Debug, PartialEq)]
pub struct Wgmma {
    /// N of `.m64nNk16`: 8 to 256 in steps of 8.
    pub n: u32,
    /// `.f16` inputs (else `.bf16`).
    pub f16: bool,
    /// The `n / 2` f32 accumulator registers, `{d0, ..., d(n/2-1)}`.
    pub d: Vec<u32>,
    pub a: WgmmaA,
    /// B's matrix descriptor.
    pub b: Src,
    /// `scale-d`: a predicate register or an immediate (0: D = A*B; else D = A*B + D).
    pub scale_d: Src,
    /// `imm-scale-a`/`imm-scale-b` = -1: the operand's elements are negated.
    pub neg_a: bool,
    pub neg_b: bool,
    /// `imm-trans-a`/`imm-trans-b` = 1: the operand is MN-major in shared memory (else
    /// K-major, PTX ISA 9.7.15.5.1.2).
    pub trans_a: bool,
    pub trans_b: bool,
}

/// One instruction of the stream, with its guard and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Inst {
    pub op: Op,
    /// `@%p` / `@!%p`: predicate slot and negation.
    pub guard: Option<(u32, bool)>,
    /// PTX line number (1-based).
    pub line: u32,
    /// CUDA source location from the last `.loc` (file index, line), if any.
    pub loc: Option<(u32, u32)>,
}
