//! Seeded random inputs (never zeros: a kernel that ignores an input must not pass by
//! luck) and the output buffers handed back for verification.

use half::{bf16, f16};

use super::{Benchmark, Dtype, Shape};
use crate::stats::rng::{SplitMix64, seed_from};

/// Host-side inputs of one benchmark. Floating-point values lie in [-1, 1) and are already
/// rounded to the benchmark's dtype, so the reference sees exactly what the kernel sees.
#[derive(Debug, Clone)]
pub enum Inputs {
    Copy {
        src: Vec<u8>,
    },
    Gemm {
        a: Vec<f32>,
        b: Vec<f32>,
    },
    /// The triad's two input arrays (a = b + s·c).
    Triad {
        b: Vec<f32>,
        c: Vec<f32>,
    },
    /// Prefill ([B, H, S, D] each) and decode (Q [B, H, D], K and V [B, Hkv, S, D]).
    Attention {
        q: Vec<f32>,
        k: Vec<f32>,
        v: Vec<f32>,
    },
}

/// What a kernel produced, copied back to the host.
#[derive(Debug, Clone)]
pub enum Output {
    Bytes(Vec<u8>),
    F32(Vec<f32>),
}

/// Uniform in [-1, 1), from the top 24 bits so every value is exact in f32.
fn next_signed_unit(rng: &mut SplitMix64) -> f32 {
    let bits = (rng.next_u64() >> 40) as u32; // 24 bits
    (bits as f32 / (1u32 << 23) as f32) - 1.0
}

/// `x` rounded to TF32 (10 explicit mantissa bits), to nearest, ties to even.
fn round_to_tf32(x: f32) -> f32 {
    let bits = x.to_bits();
    let dropped = 13;
    let half = 1u32 << (dropped - 1);
    let odd = (bits >> dropped) & 1;
    f32::from_bits((bits + half - 1 + odd) & !((1u32 << dropped) - 1))
}

fn random_tensor(rng: &mut SplitMix64, len: u64, dtype: Dtype) -> Vec<f32> {
    (0..len)
        .map(|_| {
            let x = next_signed_unit(rng);
            match dtype {
                Dtype::Bf16 => bf16::from_f32(x).to_f32(),
                Dtype::F16 => f16::from_f32(x).to_f32(),
                Dtype::Tf32 => round_to_tf32(x),
                Dtype::F32 | Dtype::U8 => x,
            }
        })
        .collect()
}

/// Generates the inputs of `bench` from `seed` (the same seed gives the same inputs).
pub fn generate_inputs(bench: &Benchmark, seed: u64) -> Inputs {
    let mut rng = SplitMix64::new(seed_from(&bench.id, seed));
    match bench.shape {
        Shape::Copy { bytes } | Shape::Transfer { bytes } => {
            let mut src = Vec::with_capacity(bytes as usize);
            while (src.len() as u64) < bytes {
                let word = rng.next_u64().to_le_bytes();
                let take = (bytes as usize - src.len()).min(8);
                src.extend_from_slice(&word[..take]);
            }
            Inputs::Copy { src }
        }
        Shape::Triad { bytes } => Inputs::Triad {
            b: random_tensor(&mut rng, bytes / 4, bench.dtype),
            c: random_tensor(&mut rng, bytes / 4, bench.dtype),
        },
        Shape::Gemm { m, n, k } => Inputs::Gemm {
            a: random_tensor(&mut rng, m * k, bench.dtype),
            b: random_tensor(&mut rng, k * n, bench.dtype),
        },
        Shape::Attention {
            batch,
            heads,
            sq,
            sk,
            head_dim,
            ..
        } => {
            let bh = batch * heads;
            Inputs::Attention {
                q: random_tensor(&mut rng, bh * sq * head_dim, bench.dtype),
                k: random_tensor(&mut rng, bh * sk * head_dim, bench.dtype),
                v: random_tensor(&mut rng, bh * sk * head_dim, bench.dtype),
            }
        }
        Shape::Decode {
            batch,
            heads,
            kv_heads,
            seq,
            head_dim,
        } => {
            let cache = batch * kv_heads * seq * head_dim;
            Inputs::Attention {
                q: random_tensor(&mut rng, batch * heads * head_dim, bench.dtype),
                k: random_tensor(&mut rng, cache, bench.dtype),
                v: random_tensor(&mut rng, cache, bench.dtype),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gemm(dtype: Dtype) -> Benchmark {
        Benchmark::new("t", dtype, Shape::Gemm { m: 8, n: 8, k: 8 })
    }

    #[test]
    fn inputs_are_seeded_random_and_in_range() {
        let Inputs::Gemm { a, b } = generate_inputs(&gemm(Dtype::F32), 1) else {
            panic!()
        };
        let Inputs::Gemm { a: a2, .. } = generate_inputs(&gemm(Dtype::F32), 1) else {
            panic!()
        };
        assert_eq!(a, a2, "same seed, same inputs");
        assert_ne!(a, b, "different tensors differ");
        assert!(a.iter().all(|x| (-1.0..1.0).contains(x)));
        assert!(a.iter().filter(|x| **x == 0.0).count() < 2, "not zeros");
        let Inputs::Gemm { a: a3, .. } = generate_inputs(&gemm(Dtype::F32), 2) else {
            panic!()
        };
        assert_ne!(a, a3, "another seed, other inputs");
    }

    #[test]
    fn bf16_inputs_are_exactly_representable() {
        let Inputs::Gemm { a, .. } = generate_inputs(&gemm(Dtype::Bf16), 1) else {
            panic!()
        };
        assert!(a.iter().all(|&x| bf16::from_f32(x).to_f32() == x));
    }

    #[test]
    fn tf32_inputs_have_ten_mantissa_bits() {
        let Inputs::Gemm { a, .. } = generate_inputs(&gemm(Dtype::Tf32), 1) else {
            panic!()
        };
        assert!(a.iter().all(|x| x.to_bits() & 0x1fff == 0));
        assert!(a.iter().filter(|x| **x == 0.0).count() < 2, "not zeros");
        // Nearest, ties to even: 1 + 2^-11 is halfway between 1 and 1 + 2^-10.
        assert_eq!(round_to_tf32(1.0 + 2f32.powi(-11)), 1.0);
        assert_eq!(
            round_to_tf32(1.0 + 3.0 * 2f32.powi(-11)),
            1.0 + 2f32.powi(-9)
        );
        assert_eq!(round_to_tf32(1.0 + 2f32.powi(-10)), 1.0 + 2f32.powi(-10));
        assert_eq!(round_to_tf32(-0.75), -0.75);
    }

    #[test]
    fn copy_source_has_exact_length() {
        let bench = Benchmark::new("t", Dtype::U8, Shape::Copy { bytes: 13 });
        let Inputs::Copy { src } = generate_inputs(&bench, 0) else {
            panic!()
        };
        assert_eq!(src.len(), 13);
    }
}
