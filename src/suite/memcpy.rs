//! Memory copies. Bytes are counted as bytes read plus bytes written (BabelStream's
//! convention), so a copy of n bytes moves 2n; copies do no floating-point work.
//!
//! STREAM's triad a = b + s·c streams three f32 arrays of n bytes each: 3n bytes (two read,
//! one written) and 2 FLOPs per element; it is reported in GB/s like the copies.
//!
//! Host↔device transfers are the exception: they count n, the bytes that cross the host link
//! (PCIe or NVLink-C2C), as nvbandwidth and bandwidthTest do, and are held to that link's
//! bandwidth. Counting 2n would report twice what the link carries.

use super::{Profile, Shape, Sizes};

const MIB: u64 = 1 << 20;

pub fn shapes(profile: Profile, scale: Sizes) -> Vec<Shape> {
    let sizes: &[u64] = match (scale, profile) {
        // 1 MiB stays in a core's L2 on most CPUs; 64 MiB spills every cache.
        // Per kernel, from its tiles: src/suite/emu.rs.
        (_, Profile::Emu) => &[],
        (Sizes::Host, Profile::Quick) => &[MIB, 64 * MIB],
        (Sizes::Host, Profile::Full) => &[MIB, 16 * MIB, 256 * MIB, 1024 * MIB],
        // An H100's L2 is 50 MiB: 16 MiB fits, 256 MiB and more measure HBM.
        (Sizes::Device, Profile::Quick) => &[16 * MIB, 256 * MIB],
        (Sizes::Device, Profile::Full) => &[16 * MIB, 64 * MIB, 256 * MIB, 1024 * MIB, 4096 * MIB],
    };
    sizes.iter().map(|&bytes| Shape::Copy { bytes }).collect()
}

/// Transfer sizes: from 1 MiB, where per-transfer latency still shows, to 1 GiB.
pub fn transfer_shapes(profile: Profile) -> Vec<Shape> {
    let sizes: &[u64] = match profile {
        Profile::Quick => &[16 * MIB, 256 * MIB],
        Profile::Full => &[MIB, 16 * MIB, 256 * MIB, 1024 * MIB],
        Profile::Emu => &[],
    };
    sizes
        .iter()
        .map(|&bytes| Shape::Transfer { bytes })
        .collect()
}

/// Triad sizes: each of the three arrays is as large as a copy's buffer.
pub fn triad_shapes(profile: Profile, scale: Sizes) -> Vec<Shape> {
    shapes(profile, scale)
        .into_iter()
        .map(|s| match s {
            Shape::Copy { bytes } => Shape::Triad { bytes },
            other => other,
        })
        .collect()
}

/// The triad's scalar s in a = b + s·c (STREAM's value).
pub const TRIAD_SCALAR: f32 = 3.0;

pub fn triad_flops(shape: &Shape) -> u64 {
    match *shape {
        Shape::Triad { bytes } => 2 * (bytes / 4),
        _ => unreachable!("memcpy::triad_flops on a non-triad shape"),
    }
}

pub fn bytes(shape: &Shape) -> u64 {
    match *shape {
        Shape::Copy { bytes } => 2 * bytes,
        Shape::Triad { bytes } => 3 * bytes,
        Shape::Transfer { bytes } => bytes,
        _ => unreachable!("memcpy::bytes on a non-copy shape"),
    }
}

/// `64MiB` when the size is a whole number of MiB, `1000B` otherwise.
pub fn id_segment(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{}MiB", bytes / MIB)
    } else {
        format!("{bytes}B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_counts_read_plus_write() {
        assert_eq!(bytes(&Shape::Copy { bytes: 100 }), 200);
        assert_eq!(
            bytes(&Shape::Transfer { bytes: 100 }),
            100,
            "what crosses the link"
        );
        assert_eq!(
            bytes(&Shape::Triad { bytes: 100 }),
            300,
            "two arrays read, one written"
        );
        assert_eq!(
            triad_flops(&Shape::Triad { bytes: 100 }),
            50,
            "25 elements, 2 each"
        );
        assert_eq!(id_segment(64 * MIB), "64MiB");
        assert_eq!(id_segment(1000), "1000B");
    }
}
