//! Pure arithmetic of the instructions, on register bits (PTX ISA 9.7.1 integer, 9.7.3
//! floating point, 9.7.9.21 cvt).

use super::float::*;
use crate::inst::*;

#[inline(always)]
pub fn sext(v: u64, bits: u32) -> i64 {
    if bits >= 64 {
        v as i64
    } else {
        ((v << (64 - bits)) as i64) >> (64 - bits)
    }
}

#[inline(always)]
fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1 << bits) - 1
    }
}

/// Integer binary operation; `None` for a division by zero.
#[inline(always)]
pub fn ibin(op: IBinOp, ty: Ty, a: u64, b: u64) -> Option<u64> {
    let bits = ty.bits();
    let m = ty.mask();
    let s = ty.is_signed();
    let (a, b) = (a & m, b);
    Some(match op {
        IBinOp::Add => a.wrapping_add(b) & m,
        IBinOp::Sub => a.wrapping_sub(b) & m,
        IBinOp::MulLo => a.wrapping_mul(b) & m,
        IBinOp::MulHi => {
            let p = if s {
                (sext(a, bits) as i128 * sext(b & m, bits) as i128) as u128
            } else {
                a as u128 * (b & m) as u128
            };
            ((p >> bits) as u64) & m
        }
        // PTX ISA 9.7.1.3 mul.wide: the full 2n-bit product of n-bit operands
        IBinOp::MulWide => {
            let p = if s {
                sext(a, bits).wrapping_mul(sext(b & m, bits)) as u64
            } else {
                a.wrapping_mul(b & m)
            };
            p & mask(bits * 2)
        }
        IBinOp::Div | IBinOp::Rem => {
            let b = b & m;
            if b == 0 {
                return None;
            }
            let r = if s {
                let (x, y) = (sext(a, bits), sext(b, bits));
                if op == IBinOp::Div {
                    x.wrapping_div(y) as u64
                } else {
                    x.wrapping_rem(y) as u64
                }
            } else if op == IBinOp::Div {
                a / b
            } else {
                a % b
            };
            r & m
        }
        IBinOp::Min | IBinOp::Max => {
            let b = b & m;
            let less = if s {
                sext(a, bits) < sext(b, bits)
            } else {
                a < b
            };
            if (op == IBinOp::Min) == less { a } else { b }
        }
        IBinOp::And => a & b & m,
        IBinOp::Or => (a | b) & m,
        IBinOp::Xor => (a ^ b) & m,
        // PTX ISA 9.7.8.x shl/shr: shift amounts greater than the width are clamped to it
        IBinOp::Shl => {
            let n = b & 0xffff_ffff;
            if n >= bits as u64 { 0 } else { (a << n) & m }
        }
        IBinOp::Shr => {
            let n = b & 0xffff_ffff;
            if s {
                (sext(a, bits) >> n.min(bits as u64 - 1)) as u64 & m
            } else if n >= bits as u64 {
                0
            } else {
                a >> n
            }
        }
        IBinOp::AddSat | IBinOp::SubSat => {
            let (x, y) = (sext(a, bits), sext(b & m, bits));
            let r = if op == IBinOp::AddSat { x + y } else { x - y };
            let (lo, hi) = (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
            r.clamp(lo, hi) as u64 & m
        }
    })
}

#[inline(always)]
pub fn iun(op: IUnOp, ty: Ty, a: u64) -> u64 {
    let bits = ty.bits();
    let m = ty.mask();
    let a = a & m;
    match op {
        IUnOp::Mov => a,
        IUnOp::Neg => a.wrapping_neg() & m,
        IUnOp::Abs => (sext(a, bits).wrapping_abs() as u64) & m,
        IUnOp::Not => !a & m,
        IUnOp::Cnot => (a == 0) as u64,
        IUnOp::Popc => a.count_ones() as u64,
        IUnOp::Clz => (a.leading_zeros() - (64 - bits)) as u64,
        IUnOp::Brev => a.reverse_bits() >> (64 - bits),
    }
}

#[inline(always)]
pub fn mad(mode: MadMode, ty: Ty, a: u64, b: u64, c: u64) -> u64 {
    match mode {
        MadMode::Lo => ibin(IBinOp::MulLo, ty, a, b).unwrap_or(0).wrapping_add(c) & ty.mask(),
        MadMode::Hi => ibin(IBinOp::MulHi, ty, a, b).unwrap_or(0).wrapping_add(c) & ty.mask(),
        MadMode::Wide => {
            ibin(IBinOp::MulWide, ty, a, b).unwrap_or(0).wrapping_add(c) & mask(ty.bits() * 2)
        }
    }
}

/// mul24/mad24: the 48-bit product of the low 24 bits (sign-extended for .s32); `.lo` keeps
/// bits 31..0, `.hi` bits 47..16.
pub fn mul24(hi: bool, signed: bool, a: u64, b: u64, c: u64) -> u64 {
    let (x, y) = if signed {
        (sext(a & 0xff_ffff, 24), sext(b & 0xff_ffff, 24))
    } else {
        ((a & 0xff_ffff) as i64, (b & 0xff_ffff) as i64)
    };
    let p = x.wrapping_mul(y) as u64;
    let r = if hi { p >> 16 } else { p };
    r.wrapping_add(c) & 0xffff_ffff
}

/// cvt.{f16x2,bf16x2}.f32: `a` into bits 31..16, `b` into bits 15..0.
pub fn cvt_pack(bf16: bool, rz: bool, a: f32, b: f32) -> u64 {
    let conv = |x: f32| -> u64 {
        (match (bf16, rz) {
            (true, false) => f32_to_bf16(x),
            (true, true) => f32_to_bf16_rz(x),
            (false, false) => f32_to_f16(x),
            (false, true) => f32_to_f16_rz(x),
        }) as u64
    };
    (conv(a) << 16) | conv(b)
}

/// PTX ISA 9.7.1.x bfe: extract `len` bits from `pos`, sign-extended for signed types.
pub fn bfe(ty: Ty, a: u64, pos: u64, len: u64) -> u64 {
    let bits = ty.bits() as u64;
    let (pos, len) = (pos & 0xff, len & 0xff);
    let a = a & ty.mask();
    let sbit = if ty.is_signed() && len > 0 {
        let i = (pos + len - 1).min(bits - 1);
        (a >> i) & 1
    } else {
        0
    };
    let mut d = 0u64;
    for i in 0..bits {
        let bit = if i < len && pos + i < bits {
            (a >> (pos + i)) & 1
        } else {
            sbit
        };
        d |= bit << i;
    }
    d & ty.mask()
}

/// PTX ISA bfi: insert the low `len` bits of `f` into `b` at `pos`.
pub fn bfi(ty: Ty, f: u64, b: u64, pos: u64, len: u64) -> u64 {
    let bits = ty.bits() as u64;
    let (pos, len) = (pos & 0xff, len & 0xff);
    let mut d = b & ty.mask();
    for i in 0..len {
        if pos + i >= bits {
            break;
        }
        d = (d & !(1 << (pos + i))) | (((f >> i) & 1) << (pos + i));
    }
    d
}

/// PTX ISA prmt (default mode): each result byte selected from the 8 bytes of {b, a}.
pub fn prmt(a: u64, b: u64, c: u64) -> u64 {
    let bytes = ((b & 0xffff_ffff) << 32) | (a & 0xffff_ffff);
    let mut d = 0u64;
    for i in 0..4 {
        let sel = (c >> (4 * i)) & 0xf;
        let byte = (bytes >> ((sel & 7) * 8)) & 0xff;
        let byte = if sel & 8 != 0 {
            if byte & 0x80 != 0 { 0xff } else { 0 }
        } else {
            byte
        };
        d |= byte << (8 * i);
    }
    d
}

pub fn lop3(a: u64, b: u64, c: u64, lut: u8) -> u64 {
    let mut d = 0u64;
    for i in 0..32 {
        let idx = (((a >> i) & 1) << 2) | (((b >> i) & 1) << 1) | ((c >> i) & 1);
        d |= (((lut as u64) >> idx) & 1) << i;
    }
    d
}

/// minNum semantics (PTX ISA 9.7.3 min/max: a NaN operand yields the other one), with
/// -0.0 ordered below +0.0.
macro_rules! minmax {
    ($name:ident, $t:ty) => {
        #[inline(always)]
        pub fn $name(a: $t, b: $t, max: bool, nan_propagates: bool) -> $t {
            if a.is_nan() || b.is_nan() {
                if nan_propagates || (a.is_nan() && b.is_nan()) {
                    return <$t>::from_bits(<$t>::NAN.to_bits() | (<$t>::NAN.to_bits() - 1));
                }
                return if a.is_nan() { b } else { a };
            }
            if a == b {
                // signed zeros
                let a_neg = a.is_sign_negative();
                return if a_neg != max { a } else { b };
            }
            if (a < b) != max { a } else { b }
        }
    };
}
minmax!(minmax32, f32);
minmax!(minmax64, f64);

#[inline(always)]
pub fn fbin32(op: FBinOp, m: FMods, a: f32, b: f32) -> f32 {
    let (a, b) = if m.ftz { (ftz32(a), ftz32(b)) } else { (a, b) };
    let fin = a.is_finite() && b.is_finite();
    let r = match op {
        FBinOp::Add | FBinOp::Sub => {
            let b = if op == FBinOp::Sub { -b } else { b };
            let r = a + b;
            if matches!(m.rnd, Rnd::Rn | Rnd::Approx) {
                r
            } else {
                directed(r, overflow_err(r, two_sum32(a, b, r), fin), m.rnd)
            }
        }
        FBinOp::Mul => {
            let r = a * b;
            if matches!(m.rnd, Rnd::Rn | Rnd::Approx) {
                r
            } else {
                directed(r, overflow_err(r, a.mul_add(b, -r), fin), m.rnd)
            }
        }
        FBinOp::Div => {
            let r = a / b;
            if matches!(m.rnd, Rnd::Rn | Rnd::Approx) {
                r
            } else {
                let rem = (-r).mul_add(b, a);
                let err = if rem == 0.0 || rem.is_nan() {
                    0.0
                } else if (rem > 0.0) == (b > 0.0) {
                    1.0
                } else {
                    -1.0
                };
                directed(r, overflow_err(r, err, fin && b != 0.0), m.rnd)
            }
        }
        FBinOp::Min => minmax32(a, b, false, false),
        FBinOp::Max => minmax32(a, b, true, false),
        FBinOp::MinNan => minmax32(a, b, false, true),
        FBinOp::MaxNan => minmax32(a, b, true, true),
        // PTX ISA copysign: the value of b with the sign of a
        FBinOp::Copysign => b.copysign(a),
    };
    post32(r, m)
}

#[inline(always)]
fn post32(r: f32, m: FMods) -> f32 {
    // NaN results are the canonical NaN 0x7fffffff (PTX ISA 9.7.3)
    if r.is_nan() {
        return if m.sat {
            0.0
        } else {
            f32::from_bits(0x7fff_ffff)
        };
    }
    let r = if m.ftz { ftz32(r) } else { r };
    if m.sat { sat32(r) } else { r }
}

pub fn fbin64(op: FBinOp, m: FMods, a: f64, b: f64) -> f64 {
    let fin = a.is_finite() && b.is_finite();
    let r = match op {
        FBinOp::Add | FBinOp::Sub => {
            let b = if op == FBinOp::Sub { -b } else { b };
            let r = a + b;
            directed(r, overflow_err(r, two_sum64(a, b, r), fin), m.rnd)
        }
        FBinOp::Mul => {
            let r = a * b;
            directed(r, overflow_err(r, a.mul_add(b, -r), fin), m.rnd)
        }
        FBinOp::Div => {
            let r = a / b;
            let rem = (-r).mul_add(b, a);
            let err = if rem == 0.0 || rem.is_nan() {
                0.0
            } else if (rem > 0.0) == (b > 0.0) {
                1.0
            } else {
                -1.0
            };
            directed(r, overflow_err(r, err, fin && b != 0.0), m.rnd)
        }
        FBinOp::Min => minmax64(a, b, false, false),
        FBinOp::Max => minmax64(a, b, true, false),
        FBinOp::MinNan => minmax64(a, b, false, true),
        FBinOp::MaxNan => minmax64(a, b, true, true),
        FBinOp::Copysign => b.copysign(a),
    };
    if m.sat { sat64(r) } else { r }
}

#[inline(always)]
pub fn fma32(m: FMods, a: f32, b: f32, c: f32) -> f32 {
    let (a, b, c) = if m.ftz {
        (ftz32(a), ftz32(b), ftz32(c))
    } else {
        (a, b, c)
    };
    let r = a.mul_add(b, c);
    let r = if matches!(m.rnd, Rnd::Rn | Rnd::Approx) {
        r
    } else {
        // a*b is exact in f64; TwoSum gives p + c exactly as s + e
        let p = a as f64 * b as f64;
        let s = p + c as f64;
        let e = two_sum64(p, c as f64, s);
        let err = (s - r as f64) + e;
        let fin = a.is_finite() && b.is_finite() && c.is_finite();
        directed(r, overflow_err(r, err as f32, fin), m.rnd)
    };
    post32(r, m)
}

pub fn fma64(m: FMods, a: f64, b: f64, c: f64) -> f64 {
    // directed rounding of f64 fma is not modelled (round to nearest; see README)
    let r = a.mul_add(b, c);
    if m.sat { sat64(r) } else { r }
}

pub fn fun32(op: FUnOp, m: FMods, a: f32) -> f32 {
    let a = if m.ftz { ftz32(a) } else { a };
    let exact = matches!(m.rnd, Rnd::Rn | Rnd::Approx);
    let r = match op {
        FUnOp::Mov => a,
        FUnOp::Neg => -a,
        FUnOp::Abs => a.abs(),
        FUnOp::Rcp => {
            let r = 1.0 / a;
            if exact {
                r
            } else {
                let rem = (-r).mul_add(a, 1.0);
                let err = if rem == 0.0 || rem.is_nan() {
                    0.0
                } else if (rem > 0.0) == (a > 0.0) {
                    1.0
                } else {
                    -1.0
                };
                directed(r, err, m.rnd)
            }
        }
        FUnOp::Sqrt => {
            let r = a.sqrt();
            if exact {
                r
            } else {
                directed(r, (-r).mul_add(r, a), m.rnd)
            }
        }
        // .approx functions: computed in f64 and rounded once (see README for the GPU's bounds)
        FUnOp::Rsqrt => (1.0 / (a as f64).sqrt()) as f32,
        FUnOp::Ex2 => (a as f64).exp2() as f32,
        FUnOp::Lg2 => (a as f64).log2() as f32,
        FUnOp::Sin => (a as f64).sin() as f32,
        FUnOp::Cos => (a as f64).cos() as f32,
        FUnOp::Tanh => (a as f64).tanh() as f32,
    };
    post32(r, m)
}

pub fn fun64(op: FUnOp, m: FMods, a: f64) -> f64 {
    let exact = matches!(m.rnd, Rnd::Rn | Rnd::Approx);
    let r = match op {
        FUnOp::Mov => a,
        FUnOp::Neg => -a,
        FUnOp::Abs => a.abs(),
        FUnOp::Rcp => 1.0 / a,
        FUnOp::Sqrt => {
            let r = a.sqrt();
            if exact {
                r
            } else {
                directed(r, (-r).mul_add(r, a), m.rnd)
            }
        }
        FUnOp::Rsqrt => 1.0 / a.sqrt(),
        FUnOp::Ex2 => a.exp2(),
        FUnOp::Lg2 => a.log2(),
        FUnOp::Sin => a.sin(),
        FUnOp::Cos => a.cos(),
        FUnOp::Tanh => a.tanh(),
    };
    if m.sat { sat64(r) } else { r }
}

/// A register's bits as f64 when it holds a float of type `ty` (exact for all of them).
#[inline(always)]
pub fn float_val(ty: Ty, v: u64) -> f64 {
    match ty {
        Ty::F64 => f64::from_bits(v),
        Ty::F32 => f32::from_bits(v as u32) as f64,
        Ty::F16 => f16_to_f32(v as u16) as f64,
        _ => bf16_to_f32(v as u16) as f64,
    }
}

#[inline(always)]
pub fn setp(cmp: Cmp, ty: Ty, a: u64, b: u64) -> bool {
    if ty.is_float() {
        let (x, y) = (float_val(ty, a), float_val(ty, b));
        let nan = x.is_nan() || y.is_nan();
        return match cmp {
            Cmp::Eq => x == y,
            Cmp::Ne => !nan && x != y,
            Cmp::Lt => x < y,
            Cmp::Le => x <= y,
            Cmp::Gt => x > y,
            Cmp::Ge => x >= y,
            Cmp::Equ => nan || x == y,
            Cmp::Neu => x != y,
            Cmp::Ltu => nan || x < y,
            Cmp::Leu => nan || x <= y,
            Cmp::Gtu => nan || x > y,
            Cmp::Geu => nan || x >= y,
            Cmp::Num => !nan,
            Cmp::Nan => nan,
        };
    }
    let bits = ty.bits();
    let ord = if ty.is_signed() {
        sext(a, bits).cmp(&sext(b, bits))
    } else {
        (a & ty.mask()).cmp(&(b & ty.mask()))
    };
    use std::cmp::Ordering::*;
    match cmp {
        Cmp::Eq => ord == Equal,
        Cmp::Ne => ord != Equal,
        Cmp::Lt => ord == Less,
        Cmp::Le => ord != Greater,
        Cmp::Gt => ord == Greater,
        Cmp::Ge => ord != Less,
        _ => false,
    }
}

fn int_range(ty: Ty) -> (i128, i128) {
    let bits = ty.bits();
    if ty.is_signed() {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

/// PTX ISA 9.7.9.21 cvt. `dmask`: width of the destination register.
pub fn cvt(dty: Ty, sty: Ty, rnd: CvtRnd, ftz: bool, sat: bool, dmask: u64, a: u64) -> u64 {
    let a = a & sty.mask();
    let write_int = |v: i128| -> u64 {
        // narrow to the destination type, then extend to the register per its signedness
        let t = (v as u64) & dty.mask();
        let t = if dty.is_signed() {
            sext(t, dty.bits()) as u64
        } else {
            t
        };
        t & dmask
    };
    match (sty.is_float(), dty.is_float()) {
        (false, false) => {
            let v: i128 = if sty.is_signed() {
                sext(a, sty.bits()) as i128
            } else {
                a as i128
            };
            let v = if sat {
                let (lo, hi) = int_range(dty);
                v.clamp(lo, hi)
            } else {
                v
            };
            write_int(v)
        }
        (true, false) => {
            let mut x = float_val(sty, a);
            if ftz && sty == Ty::F32 && (x as f32).is_subnormal() {
                x = 0.0;
            }
            let r = match rnd {
                CvtRnd::Rni | CvtRnd::Rn | CvtRnd::None => x.round_ties_even(),
                CvtRnd::Rzi | CvtRnd::Rz => x.trunc(),
                CvtRnd::Rmi | CvtRnd::Rm => x.floor(),
                CvtRnd::Rpi | CvtRnd::Rp => x.ceil(),
            };
            // float to integer saturates always; NaN gives 0
            let (lo, hi) = int_range(dty);
            let v = if r.is_nan() {
                0
            } else {
                (r as i128).clamp(lo, hi)
            };
            write_int(v)
        }
        (false, true) => {
            let v: i128 = if sty.is_signed() {
                sext(a, sty.bits()) as i128
            } else {
                a as i128
            };
            let rn = match rnd {
                CvtRnd::Rz => Rnd::Rz,
                CvtRnd::Rm => Rnd::Rm,
                CvtRnd::Rp => Rnd::Rp,
                _ => Rnd::Rn,
            };
            let bits = match dty {
                Ty::F64 => {
                    let r = v as f64;
                    let err = (v - r as i128).signum() as f64;
                    directed(r, err, rn).to_bits()
                }
                _ => {
                    let r = v as f32;
                    let err = (v - r as i128).signum() as f32;
                    let r = directed(r, err, rn);
                    let r = if sat { sat32(r) } else { r };
                    return from_f32(dty, r, rnd) & dmask.max(dty.mask());
                }
            };
            if sat {
                sat64(f64::from_bits(bits)).to_bits()
            } else {
                bits
            }
        }
        (true, true) => {
            let x = float_val(sty, a);
            let x = if ftz && sty == Ty::F32 && (x as f32).is_subnormal() {
                0.0f64.copysign(x)
            } else {
                x
            };
            // same-size conversion rounds to an integral value (.rni etc.)
            let x = match rnd {
                CvtRnd::Rni => x.round_ties_even(),
                CvtRnd::Rzi => x.trunc(),
                CvtRnd::Rmi => x.floor(),
                CvtRnd::Rpi => x.ceil(),
                _ => x,
            };
            let x = if x.is_nan() && dty == Ty::F32 {
                f64::from_bits(0x7fff_ffff_e000_0000)
            } else {
                x
            };
            let r = match dty {
                Ty::F64 => {
                    let r = if sat { sat64(x) } else { x };
                    return r.to_bits();
                }
                _ => {
                    let r = x as f32;
                    let rn = match rnd {
                        CvtRnd::Rz => Rnd::Rz,
                        CvtRnd::Rm => Rnd::Rm,
                        CvtRnd::Rp => Rnd::Rp,
                        _ => Rnd::Rn,
                    };
                    let r = if dty == Ty::F32 && sty == Ty::F64 {
                        let err = overflow_err(r, (x - r as f64) as f32, x.is_finite());
                        directed(r, err, rn)
                    } else {
                        r
                    };
                    let r = if ftz && dty == Ty::F32 { ftz32(r) } else { r };
                    if sat { sat32(r) } else { r }
                }
            };
            from_f32(dty, r, rnd)
        }
    }
}

fn from_f32(dty: Ty, r: f32, rnd: CvtRnd) -> u64 {
    match (dty, rnd) {
        (Ty::F32, _) => r.to_bits() as u64,
        (Ty::F16, CvtRnd::Rz) => f32_to_f16_rz(r) as u64,
        (Ty::F16, _) => f32_to_f16(r) as u64,
        (_, CvtRnd::Rz) => f32_to_bf16_rz(r) as u64,
        _ => f32_to_bf16(r) as u64,
    }
}

/// `atom`/`red` update: the new value from the old one (PTX ISA 9.7.13.5 atom).
pub fn atom_new(op: AtomOp, ty: Ty, old: u64, b: u64, c: u64) -> u64 {
    let m = ty.mask();
    match op {
        AtomOp::Add => match ty {
            // atom.add.f32 rounds to nearest even and flushes subnormals (PTX ISA atom)
            Ty::F32 => {
                let r = ftz32(ftz32(f32::from_bits(old as u32)) + ftz32(f32::from_bits(b as u32)));
                r.to_bits() as u64
            }
            Ty::F64 => (f64::from_bits(old) + f64::from_bits(b)).to_bits(),
            _ => old.wrapping_add(b) & m,
        },
        AtomOp::Min | AtomOp::Max => match ty {
            Ty::F32 => minmax32(
                f32::from_bits(old as u32),
                f32::from_bits(b as u32),
                op == AtomOp::Max,
                false,
            )
            .to_bits() as u64,
            Ty::F64 => minmax64(
                f64::from_bits(old),
                f64::from_bits(b),
                op == AtomOp::Max,
                false,
            )
            .to_bits(),
            _ => ibin(
                if op == AtomOp::Min {
                    IBinOp::Min
                } else {
                    IBinOp::Max
                },
                ty,
                old,
                b,
            )
            .unwrap_or(old),
        },
        AtomOp::Inc => {
            if (old & m) >= (b & m) {
                0
            } else {
                (old + 1) & m
            }
        }
        AtomOp::Dec => {
            if (old & m) == 0 || (old & m) > (b & m) {
                b & m
            } else {
                (old - 1) & m
            }
        }
        AtomOp::And => old & b & m,
        AtomOp::Or => (old | b) & m,
        AtomOp::Xor => (old ^ b) & m,
        AtomOp::Exch => b & m,
        AtomOp::Cas => {
            if (old & m) == (b & m) {
                c & m
            } else {
                old & m
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul24_and_packed_cvt() {
        assert_eq!(mul24(false, false, 0x1ff_ffff, 2, 0), 0x1ff_fffe);
        assert_eq!(
            mul24(true, false, 0xff_ffff, 0xff_ffff, 0),
            0xffff_fe00_0001_u64 >> 16
        );
        assert_eq!(mul24(false, true, 0xff_ffff, 3, 10), 7); // -1 * 3 + 10
        assert_eq!(cvt_pack(true, false, 1.0, -2.0), 0x3f80_c000);
        assert_eq!(cvt_pack(false, false, 1.0, 0.5), 0x3c00_3800);
    }

    #[test]
    fn shifts_clamp() {
        assert_eq!(ibin(IBinOp::Shl, Ty::B32, 1, 32), Some(0));
        assert_eq!(ibin(IBinOp::Shr, Ty::U32, 0x8000_0000, 40), Some(0));
        assert_eq!(
            ibin(IBinOp::Shr, Ty::S32, 0x8000_0000, 40),
            Some(0xffff_ffff)
        );
        assert_eq!(
            ibin(IBinOp::Shr, Ty::S32, 0x8000_0000, 31),
            Some(0xffff_ffff)
        );
        assert_eq!(ibin(IBinOp::Shr, Ty::S32, 0x4000_0000, 30), Some(1));
    }

    #[test]
    fn signed_division() {
        let m7 = (-7i32) as u32 as u64;
        assert_eq!(
            ibin(IBinOp::Div, Ty::S32, m7, 2),
            Some((-3i32) as u32 as u64)
        );
        assert_eq!(
            ibin(IBinOp::Rem, Ty::S32, m7, 2),
            Some((-1i32) as u32 as u64)
        );
        assert_eq!(ibin(IBinOp::Div, Ty::U32, 7, 0), None);
    }

    #[test]
    fn cvt_float_to_int_saturates() {
        let big = 3e9f32.to_bits() as u64;
        assert_eq!(
            cvt(
                Ty::S32,
                Ty::F32,
                CvtRnd::Rzi,
                false,
                false,
                0xffff_ffff,
                big
            ),
            0x7fff_ffff
        );
        let nan = f32::NAN.to_bits() as u64;
        assert_eq!(
            cvt(
                Ty::S32,
                Ty::F32,
                CvtRnd::Rni,
                false,
                false,
                0xffff_ffff,
                nan
            ),
            0
        );
        let h = 2.5f32.to_bits() as u64;
        assert_eq!(
            cvt(Ty::S32, Ty::F32, CvtRnd::Rni, false, false, 0xffff_ffff, h),
            2
        );
    }
}
