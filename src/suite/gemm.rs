//! GEMM, C = A·B. FLOPs: 2·M·N·K (one multiply and one add per term). Bytes: the minimum
//! traffic, A and B read once and C written once: (M·K + K·N + M·N) · element size.

use super::{Dtype, Profile, Shape, Sizes};

pub fn shapes(profile: Profile, sizes: Sizes) -> Vec<Shape> {
    let dims: &[(u64, u64, u64)] = match (sizes, profile) {
        // Per kernel, from its tiles: src/suite/emu.rs.
        (_, Profile::Emu) => &[],
        // The odd shapes are not a multiple of any tile size: they catch edge handling.
        (Sizes::Host, Profile::Quick) => &[(128, 128, 128), (256, 256, 256), (200, 136, 72)],
        (Sizes::Host, Profile::Full) => &[
            (256, 256, 256),
            (512, 512, 512),
            (1024, 1024, 1024),
            (2048, 2048, 2048),
            (1000, 1000, 1000),
        ],
        (Sizes::Device, Profile::Quick) => {
            &[(1024, 1024, 1024), (4096, 4096, 4096), (1000, 1000, 1000)]
        }
        // Squares, then Llama-3-8B projections (hidden 4096, MLP 14336: N×K of 4096×4096,
        // 14336×4096 and 4096×14336) for M = 1 and 16 tokens (decode: a GEMV and a thin
        // GEMM, memory-bound), 128, 2048 and 8192 (prefill), then an odd shape and one with
        // K not a multiple of 8.
        (Sizes::Device, Profile::Full) => &[
            (1024, 1024, 1024),
            (2048, 2048, 2048),
            (4096, 4096, 4096),
            (8192, 8192, 8192),
            (1, 4096, 4096),
            (1, 14336, 4096),
            (1, 4096, 14336),
            (16, 4096, 4096),
            (16, 14336, 4096),
            (16, 4096, 14336),
            (128, 4096, 4096),
            (128, 14336, 4096),
            (128, 4096, 14336),
            (2048, 4096, 4096),
            (2048, 14336, 4096),
            (2048, 4096, 14336),
            (8192, 4096, 4096),
            (8192, 14336, 4096),
            (8192, 4096, 14336),
            (1000, 1000, 1000),
            (1024, 1024, 1001),
        ],
    };
    dims.iter()
        .map(|&(m, n, k)| Shape::Gemm { m, n, k })
        .collect()
}

pub fn flops(shape: &Shape) -> u64 {
    match *shape {
        Shape::Gemm { m, n, k } => 2 * m * n * k,
        _ => unreachable!("gemm::flops on a non-GEMM shape"),
    }
}

pub fn bytes(shape: &Shape, dtype: Dtype) -> u64 {
    match *shape {
        Shape::Gemm { m, n, k } => (m * k + k * n + m * n) * dtype.size_bytes(),
        _ => unreachable!("gemm::bytes on a non-GEMM shape"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas() {
        let s = Shape::Gemm { m: 2, n: 3, k: 4 };
        assert_eq!(flops(&s), 48);
        assert_eq!(bytes(&s, Dtype::F32), (8 + 12 + 6) * 4);
        assert_eq!(bytes(&s, Dtype::Bf16), (8 + 12 + 6) * 2);
    }

    #[test]
    fn every_size_set_has_an_edge_shape() {
        for sizes in [Sizes::Host, Sizes::Device] {
            for profile in [Profile::Quick, Profile::Full] {
                let odd = shapes(profile, sizes).iter().any(|s| {
                    matches!(*s, Shape::Gemm { m, n, k } if m % 16 != 0 || n % 16 != 0 || k % 16 != 0)
                });
                assert!(odd, "{sizes:?} {profile:?} has no shape off the tile grid");
            }
        }
    }
}
