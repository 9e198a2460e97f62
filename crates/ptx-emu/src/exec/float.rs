//! Float helpers: f16/bf16 conversions (round to nearest even on the bits), directed
//! rounding from a round-to-nearest result and the sign of its error, flush-to-zero.

use crate::inst::Rnd;

/// The canonical NaN of f16 and bf16 results (PTX ISA 9.7.9.21 cvt: NaN results are canonical).
pub const CANONICAL_NAN16: u16 = 0x7fff;

/// Shifts `m` right by `shift` bits rounding to nearest, ties to even.
fn round_shift(m: u32, shift: u32) -> u32 {
    if shift == 0 {
        return m;
    }
    if shift >= 32 {
        return 0;
    }
    let r = m >> shift;
    let rem = m & ((1 << shift) - 1);
    let half = 1 << (shift - 1);
    if rem > half || (rem == half && r & 1 == 1) {
        r + 1
    } else {
        r
    }
}

/// f32 to IEEE binary16, round to nearest even; overflow gives infinity.
pub fn f32_to_f16(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32;
    let man = b & 0x7f_ffff;
    if exp == 0xff {
        return if man != 0 {
            CANONICAL_NAN16
        } else {
            sign | 0x7c00
        };
    }
    let e = exp - 127 + 15;
    if e >= 31 {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if exp == 0 {
            return sign; // f32 subnormals are far below the f16 range
        }
        let m = man | 0x80_0000;
        let shift = (14 - e) as u32;
        return sign | round_shift(m, shift.min(31)) as u16;
    }
    let h = ((e as u32) << 10) + round_shift(man, 13);
    if h >= 0x7c00 {
        sign | 0x7c00
    } else {
        sign | h as u16
    }
}

/// f32 to f16 rounding toward zero (overflow gives the largest finite value).
pub fn f32_to_f16_rz(x: f32) -> u16 {
    let r = f32_to_f16(x);
    if x.is_nan() || x.is_infinite() {
        return r;
    }
    let back = f16_to_f32(r);
    if back.abs() > x.abs() { r - 1 } else { r }
}

pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = match exp {
        0 if man == 0 => sign,
        0 => {
            // subnormal: man * 2^-24
            let v = man as f32 * f32::from_bits(0x3380_0000);
            return if sign != 0 { -v } else { v };
        }
        31 => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 112) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

/// f32 to bfloat16, round to nearest even.
pub fn f32_to_bf16(x: f32) -> u16 {
    if x.is_nan() {
        return CANONICAL_NAN16;
    }
    let b = x.to_bits();
    let sign = (b >> 16) & 0x8000;
    (sign | round_shift(b & 0x7fff_ffff, 16)) as u16
}

/// f32 to bfloat16 rounding toward zero.
pub fn f32_to_bf16_rz(x: f32) -> u16 {
    if x.is_nan() {
        return CANONICAL_NAN16;
    }
    let r = (x.to_bits() >> 16) as u16;
    // truncation of an infinity stays infinite; of a finite value stays finite
    r
}

pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

pub fn ftz32(x: f32) -> f32 {
    if x.is_subnormal() {
        0.0f32.copysign(x)
    } else {
        x
    }
}

pub fn sat32(x: f32) -> f32 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

pub fn sat64(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

/// Float operations both widths share.
pub trait Float: Copy + PartialOrd + std::ops::Neg<Output = Self> {
    const ZERO: Self;
    fn next_up_(self) -> Self;
    fn next_down_(self) -> Self;
    fn is_inf(self) -> bool;
}

impl Float for f32 {
    const ZERO: f32 = 0.0;
    fn next_up_(self) -> f32 {
        self.next_up()
    }
    fn next_down_(self) -> f32 {
        self.next_down()
    }
    fn is_inf(self) -> bool {
        self.is_infinite()
    }
}

impl Float for f64 {
    const ZERO: f64 = 0.0;
    fn next_up_(self) -> f64 {
        self.next_up()
    }
    fn next_down_(self) -> f64 {
        self.next_down()
    }
    fn is_inf(self) -> bool {
        self.is_infinite()
    }
}

/// The result of rounding mode `rnd` given `r`, the round-to-nearest result, and the sign of
/// `exact - r` (`err`). Exact because the RN result is within half an ulp: the directed
/// result is `r` or its neighbour. An overflow to infinity has `err` of the opposite sign.
pub fn directed<F: Float>(r: F, err: F, rnd: Rnd) -> F {
    let z = F::ZERO;
    match rnd {
        Rnd::Rn | Rnd::Approx => r,
        Rnd::Rz if r > z && err < z => r.next_down_(),
        Rnd::Rz if r < z && err > z => r.next_up_(),
        Rnd::Rm if err < z => r.next_down_(),
        Rnd::Rp if err > z => r.next_up_(),
        _ => r,
    }
}

/// `err` for an RN result that overflowed to infinity from finite inputs.
pub fn overflow_err<F: Float>(r: F, err: F, inputs_finite: bool) -> F {
    if r.is_inf() && inputs_finite { -r } else { err }
}

/// Exact error of `a + b` rounded to `s` (Knuth's TwoSum), f32.
pub fn two_sum32(a: f32, b: f32, s: f32) -> f32 {
    let bb = s - a;
    (a - (s - bb)) + (b - bb)
}

pub fn two_sum64(a: f64, b: f64, s: f64) -> f64 {
    let bb = s - a;
    (a - (s - bb)) + (b - bb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_rounding_ties_to_even() {
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1.0)
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
        // 1 + 3*2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9: rounds up to even
        assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        assert_eq!(f32_to_f16(65504.0), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00); // halfway to 2^16 rounds to infinity
        assert_eq!(f32_to_f16(2f32.powi(-24)), 0x0001);
        assert_eq!(f32_to_f16(2f32.powi(-25)), 0x0000); // tie to even: zero
        assert_eq!(f32_to_f16(-0.0), 0x8000);
        assert_eq!(f32_to_f16(f32::NAN), CANONICAL_NAN16);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0xc000), -2.0);
    }

    #[test]
    fn bf16_rounding_ties_to_even() {
        assert_eq!(f32_to_bf16(1.0), 0x3f80);
        assert_eq!(f32_to_bf16(f32::from_bits(0x3f80_8000)), 0x3f80); // tie, even
        assert_eq!(f32_to_bf16(f32::from_bits(0x3f81_8000)), 0x3f82); // tie, to even
        assert_eq!(f32_to_bf16(f32::from_bits(0x3f80_8001)), 0x3f81);
        assert_eq!(f32_to_bf16(f32::MAX), 0x7f80);
        assert_eq!(bf16_to_f32(0xbf80), -1.0);
    }

    #[test]
    fn directed_rounding_of_a_sum() {
        let (a, b) = (1.0f32, 2f32.powi(-30));
        let r = a + b;
        let e = two_sum32(a, b, r);
        assert_eq!(directed(r, e, Rnd::Rn), 1.0);
        assert_eq!(directed(r, e, Rnd::Rz), 1.0);
        assert_eq!(directed(r, e, Rnd::Rp), 1.0f32.next_up());
        assert_eq!(directed(r, e, Rnd::Rm), 1.0);
    }
}
