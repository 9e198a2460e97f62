//! Device memory a launch needs beyond the op's own arrays.

use crate::suite::Shape;

/// Floats of scratch a pipeline declares (`scratch` in the manifest): "scores" holds an
/// attention's B·H·Sq·Sk f32 scores (then probabilities).
pub fn scratch_floats(shape: &Shape, scratch: Option<&str>) -> u64 {
    match (shape, scratch) {
        (
            Shape::Attention {
                batch,
                heads,
                sq,
                sk,
                ..
            },
            Some("scores"),
        ) => batch * heads * sq * sk,
        _ => 0,
    }
}

/// Floats of a decode kernel's workspace, the decode op's contract
/// (kernels/cuda/manifest.toml): B·H·splits·(D+2) floats of per-split partials, then B·Hkv
/// 32-bit tickets that start at zero, where `splits` is the grid's x. 0 for other shapes.
pub fn decode_workspace_floats(shape: &Shape, splits: u32) -> u64 {
    match *shape {
        Shape::Decode {
            batch,
            heads,
            kv_heads,
            head_dim,
            ..
        } => batch * heads * u64::from(splits) * (head_dim + 2) + batch * kv_heads,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_follows_the_contracts() {
        let decode = Shape::Decode {
            batch: 2,
            heads: 8,
            kv_heads: 2,
            seq: 10,
            head_dim: 16,
        };
        assert_eq!(decode_workspace_floats(&decode, 3), 2 * 8 * 3 * 18 + 2 * 2);
        let attention = Shape::Attention {
            batch: 2,
            heads: 4,
            sq: 5,
            sk: 7,
            head_dim: 8,
            causal: false,
        };
        assert_eq!(scratch_floats(&attention, Some("scores")), 2 * 4 * 5 * 7);
        assert_eq!(scratch_floats(&attention, None), 0);
        assert_eq!(decode_workspace_floats(&attention, 3), 0);
    }
}
