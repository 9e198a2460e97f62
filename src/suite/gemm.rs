//! GEMM, C = A·B. FLOPs: 2·M·N·K (one multiply and one add per term). Bytes: the minimum
//! traffic, A and B read once and C written once: (M·K + K·N + M·N) · element size.

use super::{Dtype, Profile, Shape};

pub fn shapes(profile: Profile) -> Vec<Shape> {
    let dims: &[(u64, u64, u64)] = match profile {
        // The odd shape is not a multiple of any tile size: it catches edge handling.
        Profile::Quick => &[(128, 128, 128), (256, 256, 256), (200, 136, 72)],
        Profile::Full => &[
            (256, 256, 256),
            (512, 512, 512),
            (1024, 1024, 1024),
            (2048, 2048, 2048),
            (1000, 1000, 1000),
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
    }
}
