//! The buffers a launch plan allocates: what each holds, in which element type, and where
//! its first contents come from.

use half::{bf16, f16};

use crate::suite::{Dtype, Inputs};

/// A buffer's element type as the kernel reads it; half types are stored as their u16 bit
/// patterns (`__nv_bfloat16`, `__half`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    U8,
    F32,
    Bf16,
    F16,
}

impl Elem {
    /// How a benchmark's dtype is stored: tf32 is f32 storage (only the multiply differs).
    pub fn of(dtype: Dtype) -> Elem {
        match dtype {
            Dtype::U8 => Elem::U8,
            Dtype::F32 | Dtype::Tf32 => Elem::F32,
            Dtype::Bf16 => Elem::Bf16,
            Dtype::F16 => Elem::F16,
        }
    }

    pub fn size_bytes(self) -> u64 {
        match self {
            Elem::U8 => 1,
            Elem::Bf16 | Elem::F16 => 2,
            Elem::F32 => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Elem::U8 => "u8",
            Elem::F32 => "f32",
            Elem::Bf16 => "bf16",
            Elem::F16 => "f16",
        }
    }
}

/// Where a buffer lives: device memory, or page-locked host memory (a transfer's host side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Device,
    PinnedHost,
}

/// One of the benchmark's inputs: the field of that name in [`Inputs`] (`b` is the GEMM's
/// B or the triad's b, whichever the benchmark has).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Src,
    A,
    B,
    C,
    Q,
    K,
    V,
}

/// An input's host values: bytes of a copy, f32 values (already rounded to the dtype) of
/// anything else.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    Bytes(&'a [u8]),
    F32(&'a [f32]),
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Src => "src",
            Source::A => "a",
            Source::B => "b",
            Source::C => "c",
            Source::Q => "q",
            Source::K => "k",
            Source::V => "v",
        }
    }

    /// The values of this input in `inputs`; `None` where `inputs` has no such field.
    pub fn values(self, inputs: &Inputs) -> Option<Values<'_>> {
        Some(match (self, inputs) {
            (Source::Src, Inputs::Copy { src }) => Values::Bytes(src),
            (Source::A, Inputs::Gemm { a, .. }) => Values::F32(a),
            (Source::B, Inputs::Gemm { b, .. }) | (Source::B, Inputs::Triad { b, .. }) => {
                Values::F32(b)
            }
            (Source::C, Inputs::Triad { c, .. }) => Values::F32(c),
            (Source::Q, Inputs::Attention { q, .. }) => Values::F32(q),
            (Source::K, Inputs::Attention { k, .. }) => Values::F32(k),
            (Source::V, Inputs::Attention { v, .. }) => Values::F32(v),
            _ => return None,
        })
    }
}

/// What an output is filled with before the checked run: what no correct launch leaves
/// there, so an element a kernel never writes cannot pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poison {
    /// f32 NaN in every element.
    Nan,
    /// The bitwise complement of an input's bytes (copies: a correct copy is the input).
    ComplementOf(Source),
}

/// A buffer's contents when it is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// A benchmark input, encoded in the buffer's element type.
    Input(Source),
    /// Zeros: workspace (a decode kernel's tickets must start at zero) and scratch.
    Zeroed,
    /// An output read back for verification: zeros, poisoned before the checked run.
    Output(Poison),
}

/// One buffer of a launch, referred to by the steps' arguments by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buffer {
    /// Stable name: "A", "B", "C", "Q", "K", "V", "O", "src", "dst", "a", "b", "c",
    /// "scratch", "work".
    pub name: &'static str,
    pub elem: Elem,
    /// Elements (not bytes).
    pub count: u64,
    pub place: Place,
    pub init: Init,
}

impl Buffer {
    pub fn bytes(&self) -> u64 {
        self.count * self.elem.size_bytes()
    }

    pub fn is_output(&self) -> bool {
        matches!(self.init, Init::Output(_))
    }
}

/// bf16 (or, for [`Elem::F16`], f16) bit patterns of values already exact in that type:
/// inputs are rounded on the host, so the encoding loses nothing.
pub fn half_bits(values: &[f32], elem: Elem) -> Vec<u16> {
    match elem {
        Elem::F16 => values.iter().map(|&v| f16::from_f32(v).to_bits()).collect(),
        _ => values
            .iter()
            .map(|&v| bf16::from_f32(v).to_bits())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_bits_are_exact_for_half_inputs() {
        // Inputs are generated already rounded to bf16: the bits must round-trip exactly.
        let values = [0.0_f32, 1.0, -0.5, 0.333_984_38, -0.996_093_75];
        let bits = half_bits(&values, Elem::Bf16);
        assert_eq!(bits[1], 0x3f80);
        assert_eq!(bits[2], 0xbf00);
        for (v, b) in values.iter().zip(&bits) {
            assert_eq!(bf16::from_bits(*b).to_f32(), *v);
        }
        assert_eq!(half_bits(&[1.0], Elem::F16), [0x3c00]);
    }

    #[test]
    fn sources_name_the_fields_of_the_inputs() {
        let triad = Inputs::Triad {
            b: vec![1.0],
            c: vec![2.0],
        };
        assert!(matches!(Source::C.values(&triad), Some(Values::F32([2.0]))));
        assert!(Source::A.values(&triad).is_none());
    }
}
