//! Grids from the manifest's rules (kernels/cuda/manifest.toml, `grid`): how many blocks a
//! launch has for a shape, given the device's SM count.

use crate::error::{Error, Result};
use crate::suite::Shape;

/// Splits a decode grid may have at most (the combine keeps a weight per split in shared
/// memory: kernels/cuda/attention_decode.cu).
const MAX_DECODE_SPLITS: u64 = 4096;

/// The largest grid y (and z) dimension CUDA accepts.
const MAX_GRID_Y: u64 = 65535;

/// Splits per (batch, KV head) of a decode grid, with `slots` blocks resident at once: the
/// count whose `pairs × splits` blocks fill their last wave best (a block alone in a last
/// wave streams at a fraction of the bandwidth), and of those within 5% of the best the
/// smallest (fewer partials to combine). Splits are at least `len` keys long.
fn decode_splits(pairs: u64, seq: u64, len: u64, slots: u64) -> u64 {
    let most = (seq / len).clamp(1, MAX_DECODE_SPLITS);
    let slots = slots.max(1);
    let efficiency = |splits: u64| {
        let blocks = pairs * splits;
        blocks as f64 / (blocks.div_ceil(slots) * slots) as f64
    };
    let best = (1..=most).map(efficiency).fold(0.0, f64::max);
    (1..=most)
        .find(|&s| efficiency(s) >= 0.95 * best)
        .unwrap_or(1)
}

/// Grid for `rule` (see kernels/cuda/manifest.toml) over `shape` with `block` threads.
pub fn grid_for(rule: &str, shape: &Shape, block: [u32; 3], sms: u32) -> Result<[u32; 3]> {
    let bad = || Error::Manifest {
        path: "cuda/manifest.toml".into(),
        reason: format!(
            "grid rule '{rule}' does not fit shape {}",
            shape.id_segment()
        ),
    };
    let threads = u64::from(block[0]) * u64::from(block[1]) * u64::from(block[2]);
    if let Some(per) = rule.strip_prefix("elements:") {
        let per: u64 = per.parse().map_err(|_| bad())?;
        // Elements: bytes of a copy, f32 values of a triad.
        let elements = match *shape {
            Shape::Copy { bytes } => bytes,
            Shape::Triad { bytes } => bytes / 4,
            _ => return Err(bad()),
        };
        let blocks = elements.div_ceil(per.max(1)).div_ceil(threads.max(1));
        // Grid-stride kernels: enough blocks to fill every SM (8 × 256 threads = 2048, an
        // H100 SM's maximum), no more.
        let cap = u64::from(sms.max(1)) * 8;
        return Ok([blocks.clamp(1, cap.max(1)) as u32, 1, 1]);
    }
    if let Some(per) = rule.strip_prefix("threads:") {
        // One thread per `per` bytes over the whole buffer: no grid-stride loop.
        let per: u64 = per.parse().map_err(|_| bad())?;
        let Shape::Copy { bytes } = *shape else {
            return Err(bad());
        };
        if per == 0 {
            return Err(bad());
        }
        let blocks = bytes.div_ceil(per).div_ceil(threads.max(1)).max(1);
        return u32::try_from(blocks)
            .ok()
            .filter(|&b| b < i32::MAX as u32)
            .map(|b| [b, 1, 1])
            .ok_or_else(bad);
    }
    if let Some(rows) = rule.strip_prefix("rows:") {
        // Attention: one block per `rows` query rows of one (batch, head).
        let rows: u64 = rows.parse().map_err(|_| bad())?;
        let Shape::Attention {
            batch, heads, sq, ..
        } = *shape
        else {
            return Err(bad());
        };
        if rows == 0 || batch * heads > MAX_GRID_Y {
            return Err(bad());
        }
        return Ok([sq.div_ceil(rows) as u32, (batch * heads) as u32, 1]);
    }
    if let Some(len) = rule.strip_prefix("splits-fill:") {
        // Decode: split each (batch, KV head)'s keys so the blocks fill whole waves of three
        // per SM (see `decode_splits`), each split at least `len` keys long.
        let len: u64 = len.parse().map_err(|_| bad())?;
        let Shape::Decode {
            batch,
            kv_heads,
            seq,
            ..
        } = *shape
        else {
            return Err(bad());
        };
        if len == 0 {
            return Err(bad());
        }
        let pairs = (batch * kv_heads).max(1);
        if pairs > MAX_GRID_Y {
            return Err(bad());
        }
        let splits = decode_splits(pairs, seq, len, 3 * u64::from(sms.max(1)));
        return Ok([splits as u32, pairs as u32, 1]);
    }
    let tile = |spec: &str| -> Result<(u64, u64)> {
        let (tm, tn) = spec.split_once('x').ok_or_else(bad)?;
        let (tm, tn): (u64, u64) = (
            tm.parse().map_err(|_| bad())?,
            tn.parse().map_err(|_| bad())?,
        );
        if tm == 0 || tn == 0 {
            return Err(bad());
        }
        Ok((tm, tn))
    };
    if let Some(tiles) = rule.strip_prefix("tiles:") {
        let (tm, tn) = tile(tiles)?;
        let Shape::Gemm { m, n, .. } = *shape else {
            return Err(bad());
        };
        return Ok([n.div_ceil(tn) as u32, m.div_ceil(tm) as u32, 1]);
    }
    // Attention pipelines: tiles of the Sq × Sk scores, or of the Sq × D output, per
    // (batch, head) in z.
    let scores = rule.strip_prefix("score-tiles:");
    let output = rule.strip_prefix("out-tiles:");
    if let Some(tiles) = scores.or(output) {
        let (tm, tn) = tile(tiles)?;
        let Shape::Attention {
            batch,
            heads,
            sq,
            sk,
            head_dim,
            ..
        } = *shape
        else {
            return Err(bad());
        };
        let cols = if scores.is_some() { sk } else { head_dim };
        if batch * heads > MAX_GRID_Y || sq.div_ceil(tm) > MAX_GRID_Y {
            return Err(bad());
        }
        return Ok([
            cols.div_ceil(tn) as u32,
            sq.div_ceil(tm) as u32,
            (batch * heads) as u32,
        ]);
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_rules_follow_the_manifest() {
        let copy = Shape::Copy { bytes: 1 << 20 };
        // 1 MiB / 16 B per thread / 256 threads = 256 blocks, under the 4-per-SM cap.
        assert_eq!(
            grid_for("elements:16", &copy, [256, 1, 1], 132).unwrap(),
            [256, 1, 1]
        );
        let big = Shape::Copy { bytes: 1 << 32 };
        assert_eq!(
            grid_for("elements:16", &big, [256, 1, 1], 132).unwrap(),
            [1056, 1, 1]
        );
        // 4 GiB + 3 bytes, one thread per 4 bytes: 2^30 + 1 words over 256 threads.
        let odd = Shape::Copy {
            bytes: (1 << 32) + 3,
        };
        assert_eq!(
            grid_for("threads:4", &odd, [256, 1, 1], 132).unwrap(),
            [(1 << 22) + 1, 1, 1]
        );
        assert!(grid_for("threads:0", &odd, [256, 1, 1], 132).is_err());
        let gemm = Shape::Gemm {
            m: 200,
            n: 136,
            k: 72,
        };
        assert_eq!(
            grid_for("tiles:32x32", &gemm, [32, 32, 1], 132).unwrap(),
            [5, 7, 1]
        );
        assert!(grid_for("tiles:32x32", &copy, [32, 32, 1], 132).is_err());
        assert!(grid_for("rows", &gemm, [32, 1, 1], 132).is_err());
        assert!(grid_for("rows:64", &gemm, [128, 1, 1], 132).is_err());
        let attention = Shape::Attention {
            batch: 2,
            heads: 16,
            sq: 1000,
            sk: 1000,
            head_dim: 128,
            causal: true,
        };
        assert_eq!(
            grid_for("rows:64", &attention, [128, 1, 1], 132).unwrap(),
            [16, 32, 1]
        );
        assert!(grid_for("rows:0", &attention, [128, 1, 1], 132).is_err());
        // Pipelines: 1000 × 1000 scores in 16 × 32 tiles, then 1000 × 128 outputs in
        // 16 × 16 tiles, for 32 (batch, head) pairs.
        assert_eq!(
            grid_for("score-tiles:16x32", &attention, [256, 1, 1], 132).unwrap(),
            [32, 63, 32]
        );
        assert_eq!(
            grid_for("out-tiles:16x16", &attention, [256, 1, 1], 132).unwrap(),
            [8, 63, 32]
        );
        assert!(grid_for("score-tiles:0x16", &attention, [256, 1, 1], 132).is_err());
        assert!(grid_for("out-tiles:16x16", &gemm, [256, 1, 1], 132).is_err());
        let decode = Shape::Decode {
            batch: 4,
            heads: 32,
            kv_heads: 8,
            seq: 1000,
            head_dim: 64,
        };
        assert!(grid_for("splits-fill:0", &decode, [128, 1, 1], 132).is_err());
        // 132 SMs three deep are 396 slots; 1000 keys in splits of at least 256 allow 3.
        assert_eq!(
            grid_for("splits-fill:256", &decode, [128, 1, 1], 132).unwrap(),
            [3, 32, 1]
        );
        let long = Shape::Decode {
            batch: 1,
            heads: 32,
            kv_heads: 8,
            seq: 32768,
            head_dim: 128,
        };
        // One sequence, 8 KV heads: 48 splits make 384 blocks, 97% of one wave (49 would be
        // 99%, but 48 is within 5% of the best and has fewer partials); 50 would spill 4
        // blocks into a second wave.
        assert_eq!(
            grid_for("splits-fill:256", &long, [128, 1, 1], 132).unwrap(),
            [48, 8, 1]
        );
        let wide = Shape::Decode {
            batch: 64,
            heads: 32,
            kv_heads: 8,
            seq: 32768,
            head_dim: 128,
        };
        // 512 pairs are 1.3 waves unsplit (65% of the last full); 3 splits make 1536
        // blocks, 97% of four waves.
        assert_eq!(
            grid_for("splits-fill:256", &wide, [128, 1, 1], 132).unwrap(),
            [3, 512, 1]
        );
        assert_eq!(
            decode_splits(8, 1024, 256, 396),
            4,
            "short: as many as allowed"
        );
        assert_eq!(decode_splits(8, 100, 256, 396), 1, "shorter than one split");
        assert!(grid_for("rows:64", &decode, [128, 1, 1], 132).is_err());
        assert!(grid_for("splits-fill:256", &attention, [128, 1, 1], 132).is_err());
    }
}
