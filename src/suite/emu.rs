//! The `emu` profile: shapes small enough to run a CUDA kernel's PTX in the emulator, chosen
//! per kernel from its launch rule so that every code path of its tiling runs: one shape of
//! exactly one tile, one off the tile grid in every dimension, and for attention causal
//! masks with Sq ≠ Sk both ways (a query that sees no key at all included).
//!
//! Each shape must stay under 10⁸ emulated thread-instructions (docs/EMULATOR.md).

use super::Shape;
use crate::kernels::{KernelSpec, Op};

/// The tile a kernel's first launch covers per block, from its grid rule
/// (kernels/cuda/manifest.toml): elements per block for copies and the triad, output rows x
/// columns for GEMM and attention tiles, query rows for `rows:R`.
fn tile(spec: &KernelSpec) -> Option<(u64, u64)> {
    let stage = spec.stages.first()?;
    let threads: u64 = stage.block.iter().map(|&d| u64::from(d)).product();
    let (rule, arg) = stage.grid.split_once(':')?;
    let pair = || {
        let (a, b) = arg.split_once('x')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    };
    match rule {
        "elements" | "threads" => Some((threads * arg.parse::<u64>().ok()?, 1)),
        "tiles" | "score-tiles" | "out-tiles" => pair(),
        "rows" => Some((arg.parse().ok()?, 1)),
        _ => None,
    }
}

/// The emu shapes of `spec`'s kernel.
pub fn shapes(spec: &KernelSpec) -> Vec<Shape> {
    let tile = tile(spec);
    match spec.op {
        Op::Copy | Op::Transfer => {
            // Bytes: one block's worth, then 2½ blocks and an odd tail (the byte loop).
            let per_block = tile.map_or(4096, |(elements, _)| elements);
            let shape = |bytes| match spec.op {
                Op::Transfer => Shape::Transfer { bytes },
                _ => Shape::Copy { bytes },
            };
            vec![shape(per_block), shape(per_block * 5 / 2 + 13)]
        }
        Op::Triad => {
            let per_block = tile.map_or(1024, |(elements, _)| elements);
            vec![
                Shape::Triad {
                    bytes: per_block * 4,
                },
                // A float count that is not a multiple of the float4 width.
                Shape::Triad {
                    bytes: (per_block * 5 / 2 + 3) * 4,
                },
            ]
        }
        Op::Gemm => {
            let (tm, tn) = tile.unwrap_or((32, 32));
            vec![
                // K = 64: a whole number of every kernel's K step (8 to 64).
                Shape::Gemm {
                    m: tm,
                    n: tn,
                    k: 64,
                },
                // Off every tile edge; N and K multiples of 8 (16-byte rows of bf16): the
                // kernels' vector/cp.async path with zero-filled chunks past the edges.
                Shape::Gemm {
                    m: tm * 3 / 2 + 1,
                    n: tn * 3 / 2 + 8,
                    k: 104,
                },
                // Odd N and K: rows are not 16-byte aligned, the guarded scalar path.
                Shape::Gemm {
                    m: tm / 2 + 3,
                    n: tn / 2 + 5,
                    k: 37,
                },
            ]
        }
        Op::Attention => {
            let rows = tile.map_or(32, |(rows, _)| rows);
            let head_dim = |d: u64| spec.max_head_dim.map_or(d, |max| d.min(max));
            vec![
                Shape::Attention {
                    batch: 1,
                    heads: 1,
                    sq: rows,
                    sk: rows,
                    head_dim: head_dim(64),
                    causal: false,
                },
                // Off the grid everywhere (D = 48: a multiple of 16, not of 32 or 64),
                // causal with more keys than queries...
                Shape::Attention {
                    batch: 2,
                    heads: 2,
                    sq: rows * 3 / 2 + 1,
                    sk: rows * 2 + 5,
                    head_dim: head_dim(48),
                    causal: true,
                },
                // ...and with more queries than keys: the first queries see no key.
                Shape::Attention {
                    batch: 1,
                    heads: 1,
                    sq: rows * 2 + 5,
                    sk: rows + 3,
                    head_dim: head_dim(32),
                    causal: true,
                },
            ]
        }
        Op::Decode => {
            // The decode kernel's splits are at least `L` keys (`splits-fill:L`).
            let split = spec
                .stages
                .first()
                .and_then(|s| s.grid.strip_prefix("splits-fill:"))
                .and_then(|l| l.parse().ok())
                .unwrap_or(256u64);
            vec![
                // One split: the kernel writes O directly.
                Shape::Decode {
                    batch: 1,
                    heads: 8,
                    kv_heads: 1,
                    seq: split,
                    head_dim: 128,
                },
                // Three splits with a partial last one, groups of 3 query heads: the
                // last-block combine and its ticket.
                Shape::Decode {
                    batch: 2,
                    heads: 6,
                    kv_heads: 2,
                    seq: split * 3 + 37,
                    head_dim: 64,
                },
                // A group of 16 query heads: two passes over the keys.
                Shape::Decode {
                    batch: 1,
                    heads: 16,
                    kv_heads: 1,
                    seq: split * 2 + 88,
                    head_dim: 32,
                },
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{self, KernelTree};

    fn cuda() -> Vec<KernelSpec> {
        kernels::load_manifest(&KernelTree::Embedded, "cuda").unwrap()
    }

    #[test]
    fn gemm_shapes_are_one_tile_then_off_the_grid() {
        let specs = cuda();
        let regblock = specs.iter().find(|k| k.name == "regblock").unwrap();
        let shapes = shapes(regblock);
        assert_eq!(
            shapes[0],
            Shape::Gemm {
                m: 128,
                n: 128,
                k: 64
            }
        );
        let Shape::Gemm { m, n, k } = shapes[1] else {
            panic!("{shapes:?}")
        };
        assert!(m % 128 != 0 && n % 128 != 0 && k % 64 != 0, "{shapes:?}");
    }

    #[test]
    fn copy_shapes_follow_the_block_size_and_leave_a_byte_tail() {
        let specs = cuda();
        let vec = specs.iter().find(|k| k.name == "copy-vec").unwrap();
        // 256 threads x 16 bytes.
        assert_eq!(shapes(vec)[0], Shape::Copy { bytes: 4096 });
        let Shape::Copy { bytes } = shapes(vec)[1] else {
            panic!()
        };
        assert_ne!(bytes % 16, 0);
    }

    #[test]
    fn attention_shapes_mask_with_sq_unequal_sk_both_ways() {
        let specs = cuda();
        for spec in specs.iter().filter(|k| k.op == Op::Attention) {
            let causal: Vec<_> = shapes(spec)
                .into_iter()
                .filter_map(|s| match s {
                    Shape::Attention {
                        sq,
                        sk,
                        causal: true,
                        ..
                    } => Some((sq, sk)),
                    _ => None,
                })
                .collect();
            assert!(causal.iter().any(|(sq, sk)| sq < sk), "{}", spec.name);
            assert!(causal.iter().any(|(sq, sk)| sq > sk), "{}", spec.name);
        }
    }
}
