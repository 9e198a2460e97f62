//! Attention forward, O = softmax(Q·Kᵀ·scale)·V with scale = 1/√head_dim.
//! FLOPs: 4·B·H·Sq·Sk·D (two matrix products of 2·Sq·Sk·D each), halved for causal
//! masking (the common convention; exact for Sq = Sk up to the diagonal). The softmax is not
//! counted. Bytes: Q, K and V read once and O written once.

use super::{Dtype, Profile, Shape};

pub fn shapes(profile: Profile) -> Vec<Shape> {
    let shape = |batch, heads, sq, sk, head_dim, causal| Shape::Attention {
        batch,
        heads,
        sq,
        sk,
        head_dim,
        causal,
    };
    match profile {
        Profile::Quick => vec![
            shape(1, 4, 256, 256, 64, false),
            shape(1, 4, 256, 256, 64, true),
            // Not a multiple of any tile size, with causal masking: catches edge handling.
            shape(1, 2, 200, 200, 64, true),
        ],
        Profile::Full => vec![
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
            let full = 4 * batch * heads * sq * sk * head_dim;
            if causal { full / 2 } else { full }
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
        assert_eq!(flops(&c), flops(&s) / 2);
        assert_eq!(id_segment(&c), "b2h3sq4sk5d8-causal");
    }
}
