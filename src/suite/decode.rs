//! Decode attention: one new query token per (batch, query head) attends to a KV cache of
//! `seq` keys. Grouped-query heads: `heads` query heads share `kv_heads` KV heads (query head
//! h reads KV head h / (heads / kv_heads)); kv_heads = heads is plain multi-head attention.
//! Layout: Q and O [batch, heads, head_dim]; K and V [batch, kv_heads, seq, head_dim].
//!
//! FLOPs: 4·B·H·S·D, as for attention with one query row. Bytes: K and V read once (that is
//! what bounds decoding), plus Q read in the dtype and O written in f32. With G = H / Hkv,
//! that is about G FLOP per byte for bf16: far below any GPU's ridge point, so decode is
//! reported as bandwidth.

use super::{Dtype, Profile, Shape, Sizes};

pub fn shapes(profile: Profile, sizes: Sizes) -> Vec<Shape> {
    let shape = |batch, heads, kv_heads, seq, head_dim| Shape::Decode {
        batch,
        heads,
        kv_heads,
        seq,
        head_dim,
    };
    match (sizes, profile) {
        // Per kernel, from its tiles: src/suite/emu.rs.
        (_, Profile::Emu) => Vec::new(),
        // Llama-3-8B-style heads (32 query heads over 8 KV heads, head_dim 128): one
        // sequence with a long cache, a batch of medium ones, and an odd length.
        (Sizes::Device, Profile::Quick) => vec![
            shape(1, 32, 8, 32768, 128),
            shape(16, 32, 8, 4096, 128),
            shape(4, 32, 8, 1000, 64),
        ],
        // Batch 1–64 over caches of 1k–32k, GQA groups of 1 (MHA), 4 and 8.
        (Sizes::Device, Profile::Full) => vec![
            shape(1, 32, 8, 1024, 128),
            shape(1, 32, 8, 8192, 128),
            shape(1, 32, 8, 32768, 128),
            shape(8, 32, 8, 4096, 128),
            shape(8, 32, 8, 16384, 128),
            shape(64, 32, 8, 1024, 128),
            shape(64, 32, 8, 4096, 128),
            shape(16, 32, 32, 2048, 128),
            shape(4, 64, 8, 8192, 128),
            shape(4, 32, 8, 1000, 64),
        ],
        (Sizes::Host, Profile::Quick) => vec![
            shape(2, 8, 2, 1024, 64),
            // Not a multiple of any split or tile, and plain multi-head attention.
            shape(1, 4, 4, 1000, 64),
        ],
        (Sizes::Host, Profile::Full) => vec![
            shape(4, 32, 8, 4096, 128),
            shape(1, 32, 8, 16384, 128),
            shape(16, 8, 8, 1024, 64),
            shape(2, 16, 2, 1000, 128),
        ],
    }
}

pub fn flops(shape: &Shape) -> u64 {
    match *shape {
        Shape::Decode {
            batch,
            heads,
            seq,
            head_dim,
            ..
        } => 4 * batch * heads * seq * head_dim,
        _ => unreachable!("decode::flops on a non-decode shape"),
    }
}

pub fn bytes(shape: &Shape, dtype: Dtype) -> u64 {
    match *shape {
        Shape::Decode {
            batch,
            heads,
            kv_heads,
            seq,
            head_dim,
        } => {
            let cache = 2 * batch * kv_heads * seq * head_dim * dtype.size_bytes();
            let query = batch * heads * head_dim * dtype.size_bytes();
            let output = batch * heads * head_dim * 4;
            cache + query + output
        }
        _ => unreachable!("decode::bytes on a non-decode shape"),
    }
}

/// `b8h32kv8s4096d128`.
pub fn id_segment(shape: &Shape) -> String {
    match *shape {
        Shape::Decode {
            batch,
            heads,
            kv_heads,
            seq,
            head_dim,
        } => format!("b{batch}h{heads}kv{kv_heads}s{seq}d{head_dim}"),
        _ => unreachable!("decode::id_segment on a non-decode shape"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_and_id() {
        let s = Shape::Decode {
            batch: 2,
            heads: 8,
            kv_heads: 2,
            seq: 100,
            head_dim: 16,
        };
        assert_eq!(id_segment(&s), "b2h8kv2s100d16");
        assert_eq!(flops(&s), 4 * 2 * 8 * 100 * 16);
        // K and V of 2 KV heads (bf16), Q of 8 heads (bf16), O of 8 heads (f32).
        assert_eq!(
            bytes(&s, Dtype::Bf16),
            2 * 2 * 2 * 100 * 16 * 2 + 2 * 8 * 16 * 2 + 2 * 8 * 16 * 4
        );
    }

    #[test]
    fn every_shape_groups_query_heads_evenly() {
        for sizes in [Sizes::Host, Sizes::Device] {
            for profile in [Profile::Quick, Profile::Full] {
                for s in shapes(profile, sizes) {
                    let Shape::Decode {
                        heads, kv_heads, ..
                    } = s
                    else {
                        panic!("{s:?}")
                    };
                    assert_eq!(heads % kv_heads, 0, "{s:?}");
                }
            }
        }
    }

    #[test]
    fn decode_is_far_below_an_h100_ridge_point() {
        // H100 SXM bf16: ~989 TFLOP/s over ~3.35 TB/s is ~295 FLOP per byte.
        for s in shapes(Profile::Full, Sizes::Device) {
            let intensity = flops(&s) as f64 / bytes(&s, Dtype::Bf16) as f64;
            assert!(intensity < 10.0, "{s:?}: {intensity}");
        }
    }
}
