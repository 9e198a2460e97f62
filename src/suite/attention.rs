//! Attention forward, O = softmax(Q·Kᵀ·scale)·V with scale = 1/√head_dim.
//! FLOPs: 4·B·H·Sq·Sk·D (two matrix products of 2·Sq·Sk·D each). Causal masking with
//! Sq = Sk halves it (FlashAttention's convention, so numbers compare with published ones);
//! with Sq ≠ Sk it counts the visible (query, key) pairs exactly, since query i sees
//! min(Sk, max(0, i + Sk − Sq + 1)) keys — a decode-like shape sees almost everything.
//! The softmax is not counted. Bytes: Q, K and V read once and O written once.

use super::{Dtype, Profile, Shape, Sizes};

pub fn shapes(profile: Profile, sizes: Sizes) -> Vec<Shape> {
    let shape = |batch, heads, sq, sk, head_dim, causal| Shape::Attention {
        batch,
        heads,
        sq,
        sk,
        head_dim,
        causal,
    };
    match (sizes, profile) {
        // Per kernel, from its tiles: src/suite/emu.rs.
        (_, Profile::Emu) => Vec::new(),
        // LLM prefill shapes on a GPU: head_dim 64 and 128, causal and not, 32 heads of
        // sequences up to 8192 (FlashAttention-2 reports ~330–390 TFLOP/s on H100 at d = 128,
        // seq 8192), plus the edge cases of the host sets.
        (Sizes::Device, Profile::Quick) => vec![
            shape(4, 16, 1024, 1024, 64, false),
            shape(2, 16, 2048, 2048, 128, true),
            shape(1, 8, 1000, 1000, 128, true),
        ],
        (Sizes::Device, Profile::Full) => vec![
            shape(8, 16, 1024, 1024, 64, false),
            shape(8, 16, 1024, 1024, 64, true),
            shape(4, 32, 2048, 2048, 128, false),
            shape(4, 32, 2048, 2048, 128, true),
            shape(1, 32, 8192, 8192, 128, false),
            shape(1, 32, 8192, 8192, 128, true),
            shape(2, 16, 1000, 1000, 128, true),
            shape(2, 16, 512, 2048, 128, true),
            shape(2, 16, 2048, 512, 64, true),
        ],
        (Sizes::Host, Profile::Quick) => vec![
            shape(1, 4, 256, 256, 64, false),
            shape(1, 4, 256, 256, 64, true),
            // Not a multiple of any tile size, with causal masking: catches edge handling.
            shape(1, 2, 200, 200, 64, true),
            // Fewer queries than keys (the mask is offset by sk − sq, as in decoding)…
            shape(1, 2, 72, 200, 64, true),
            // …and more queries than keys (the first rows see no key and output zeros).
            shape(1, 2, 200, 72, 64, true),
        ],
        (Sizes::Host, Profile::Full) => vec![
            shape(1, 8, 512, 512, 64, false),
            shape(1, 8, 1024, 1024, 64, true),
            shape(1, 8, 1024, 1024, 128, false),
            shape(2, 8, 2048, 2048, 128, true),
            shape(1, 8, 1000, 1000, 128, true),
            // Decode-like: one query block over a long KV sequence.
            shape(4, 8, 16, 4096, 128, true),
        ],
    }
}

pub fn flops(shape: &Shape) -> u64 {
    match *shape {
        Shape::Attention {
            batch,
            heads,
            sq,
            sk,
            head_dim,
            causal,
        } => {
            let per_pair = 4 * batch * heads * head_dim;
            if !causal {
                per_pair * sq * sk
            } else if sq == sk {
                per_pair * sq * sk / 2
            } else {
                per_pair * visible_pairs(sq, sk)
            }
        }
        _ => unreachable!("attention::flops on a non-attention shape"),
    }
}

pub fn bytes(shape: &Shape, dtype: Dtype) -> u64 {
    match *shape {
        Shape::Attention {
            batch,
            heads,
            sq,
            sk,
            head_dim,
            ..
        } => batch * heads * head_dim * (2 * sq + 2 * sk) * dtype.size_bytes(),
        _ => unreachable!("attention::bytes on a non-attention shape"),
    }
}

/// (query, key) pairs left visible by the causal mask (query i sees key j ≤ i + sk − sq).
fn visible_pairs(sq: u64, sk: u64) -> u64 {
    (0..sq)
        .map(|i| (i + sk + 1).saturating_sub(sq).min(sk))
        .sum()
}

/// `b1h4sq256sk256d64`, with `-causal` appended for causal masking.
pub fn id_segment(shape: &Shape) -> String {
    match *shape {
        Shape::Attention {
            batch,
            heads,
            sq,
            sk,
            head_dim,
            causal,
        } => {
            let mask = if causal { "-causal" } else { "" };
            format!("b{batch}h{heads}sq{sq}sk{sk}d{head_dim}{mask}")
        }
        _ => unreachable!("attention::id_segment on a non-attention shape"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_and_id() {
        let s = Shape::Attention {
            batch: 2,
            heads: 3,
            sq: 4,
            sk: 5,
            head_dim: 8,
            causal: false,
        };
        assert_eq!(flops(&s), 4 * 2 * 3 * 4 * 5 * 8);
        assert_eq!(bytes(&s, Dtype::Bf16), 2 * 3 * 8 * (8 + 10) * 2);
        assert_eq!(id_segment(&s), "b2h3sq4sk5d8");
        let c = Shape::Attention {
            batch: 2,
            heads: 3,
            sq: 4,
            sk: 5,
            head_dim: 8,
            causal: true,
        };
        assert_eq!(id_segment(&c), "b2h3sq4sk5d8-causal");
        // sq 4, sk 5: queries see 2, 3, 4, 5 keys = 14 pairs.
        assert_eq!(visible_pairs(4, 5), 14);
        assert_eq!(flops(&c), 4 * 2 * 3 * 8 * 14);
        // sq 5, sk 2: queries see 0, 0, 0, 1, 2 keys.
        assert_eq!(visible_pairs(5, 2), 3);
        let square = Shape::Attention {
            batch: 1,
            heads: 1,
            sq: 4,
            sk: 4,
            head_dim: 8,
            causal: true,
        };
        assert_eq!(flops(&square), 4 * 4 * 4 * 8 / 2, "halved by convention");
    }
}
