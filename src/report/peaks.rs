//! Where a result stands: against the vendor reference measured on the same shape in the
//! same run, and against the device's datasheet-style peak.

use crate::store::{BenchResult, GpuInfo, RunRecord, Status};
use crate::suite::{Dtype, Family};

/// Dense FLOP per clock per SM, by compute capability and dtype: FP32 on the CUDA cores,
/// TF32 and bf16/f16 on the tensor cores (f32 accumulate; TF32 at half the 16-bit rate). A100 (8.0): 64 FP32 FMA and 1024 tensor
/// FMA per clock per SM; H100 (9.0): 128 and 2048.
fn flop_per_clock_per_sm(compute_capability: &str, dtype: Dtype) -> Option<f64> {
    match (compute_capability, dtype) {
        ("8.0", Dtype::F32) => Some(128.0),
        ("8.0", Dtype::Tf32) => Some(1024.0),
        ("8.0", Dtype::Bf16 | Dtype::F16) => Some(2048.0),
        ("9.0", Dtype::F32) => Some(256.0),
        ("9.0", Dtype::Tf32) => Some(2048.0),
        ("9.0", Dtype::Bf16 | Dtype::F16) => Some(4096.0),
        _ => None,
    }
}

/// SMs × SM clock (as the driver reports it) × FLOP per clock per SM; `None` for
/// architectures not in the table above.
pub fn compute_peak(gpu: &GpuInfo, dtype: Dtype) -> Option<f64> {
    let per_sm = flop_per_clock_per_sm(&gpu.compute_capability, dtype)?;
    Some(f64::from(gpu.sms) * gpu.sm_clock_khz as f64 * 1e3 * per_sm)
}

/// This result's share of the roofline bound on its device: host↔device transfers against
/// the host link's bandwidth; copies against the memory bandwidth; anything else against min(compute peak, intensity × bandwidth), with the
/// intensity (FLOP per byte) its own counts give. So a memory-bound kernel such as decode
/// attention is held to the bandwidth, and a GEMM to the tensor or CUDA cores.
pub fn fraction_of_peak(run: &RunRecord, b: &BenchResult) -> Option<f64> {
    let gpu = run.hardware.gpu.as_ref()?;
    if b.status != Status::Ok {
        return None;
    }
    let bandwidth = gpu.peak_bandwidth_bytes_per_s;
    if b.params.get("bound").and_then(|v| v.as_str()) == Some("link") {
        // Host↔device transfers: held to the host link, not to the device memory.
        return Some(b.bytes_per_s? / gpu.host_link_bytes_per_s.filter(|&l| l > 0.0)?);
    }
    match b.family {
        Family::Memcpy => {
            let bytes_per_s = b.bytes_per_s?;
            (bandwidth > 0.0).then(|| bytes_per_s / bandwidth)
        }
        _ => {
            let flop_per_s = b.flop_per_s?;
            let compute = compute_peak(gpu, b.dtype)?;
            let bound = match b.bytes_per_s {
                Some(bytes_per_s) if bandwidth > 0.0 && bytes_per_s > 0.0 => {
                    compute.min(flop_per_s / bytes_per_s * bandwidth)
                }
                _ => compute,
            };
            Some(flop_per_s / bound)
        }
    }
}

/// `family/kernel/dtype/shape` → (family, dtype, shape): what a reference must share.
fn comparable(id: &str) -> Option<(&str, &str, &str)> {
    let mut parts = id.splitn(4, '/');
    let family = parts.next()?;
    let _kernel = parts.next()?;
    Some((family, parts.next()?, parts.next()?))
}

/// The vendor reference for `b` in the same run: same family, dtype and shape.
pub fn reference_for<'a>(run: &'a RunRecord, b: &BenchResult) -> Option<&'a BenchResult> {
    if b.reference {
        return None;
    }
    let key = comparable(&b.id)?;
    run.benchmarks
        .iter()
        .find(|r| r.reference && r.status == Status::Ok && comparable(&r.id) == Some(key))
}

/// Reference time / this time: 0.8 means this kernel reaches 80% of the vendor's speed.
pub fn fraction_of_reference(run: &RunRecord, b: &BenchResult) -> Option<f64> {
    if b.status != Status::Ok {
        return None;
    }
    let own = b.summary.as_ref()?.median;
    let reference = reference_for(run, b)?.summary.as_ref()?.median;
    (own > 0.0).then(|| reference / own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h100_peaks_match_the_datasheet() {
        // H100 SXM: 132 SMs; at 1830 MHz the dense bf16 peak is the quoted 989 TFLOP/s.
        let gpu = GpuInfo::h100_for_tests();
        let bf16 = compute_peak(&gpu, Dtype::Bf16).unwrap();
        assert!((bf16 / 1e12 - 989.4).abs() < 1.0, "{bf16}");
        let f32 = compute_peak(&gpu, Dtype::F32).unwrap();
        assert!((f32 / 1e12 - 61.8).abs() < 0.5, "{f32}");
        let unknown = GpuInfo {
            compute_capability: "7.5".into(),
            ..gpu
        };
        assert!(compute_peak(&unknown, Dtype::F32).is_none());
    }

    #[test]
    fn comparable_ids_share_family_dtype_and_shape() {
        assert_eq!(
            comparable("gemm/mma/bf16/m1024n1024k1024"),
            comparable("gemm/cublas-bf16/bf16/m1024n1024k1024")
        );
        assert_ne!(
            comparable("gemm/regblock/f32/m1024n1024k1024"),
            comparable("gemm/cublas-bf16/bf16/m1024n1024k1024")
        );
    }

    #[test]
    fn memory_bound_kernels_are_held_to_the_bandwidth() {
        use crate::history::synthetic::{Track, run};
        let level = |_: usize| 1e-3;
        let tracks = [Track {
            id: "attention/decode/bf16/b1h32kv8s32768d128".into(),
            family: Family::Attention,
            level: &level,
        }];
        let mut r = run("nvidia-h100", &"c".repeat(40), 0, 0, &tracks, 5);
        let gpu = GpuInfo::h100_for_tests();
        let bandwidth = gpu.peak_bandwidth_bytes_per_s;
        let compute = compute_peak(&gpu, Dtype::Bf16).unwrap();
        r.hardware.gpu = Some(gpu);
        let mut b = r.benchmarks[0].clone();
        b.dtype = Dtype::Bf16;
        // 4 FLOP per byte at half the bandwidth: decode-like, far below the ridge point.
        b.bytes_per_s = Some(0.5 * bandwidth);
        b.flop_per_s = Some(2.0 * bandwidth);
        let f = fraction_of_peak(&r, &b).unwrap();
        assert!((f - 0.5).abs() < 1e-12, "{f}");
        // 1000 FLOP per byte: compute-bound, held to the tensor cores.
        b.flop_per_s = Some(0.25 * compute);
        b.bytes_per_s = Some(0.25 * compute / 1000.0);
        let f = fraction_of_peak(&r, &b).unwrap();
        assert!((f - 0.25).abs() < 1e-12, "{f}");
    }

    #[test]
    fn transfers_are_held_to_the_host_link() {
        use crate::history::synthetic::{Track, run};
        let level = |_: usize| 1e-3;
        let tracks = [Track {
            id: "memcpy/htod/u8/256MiB".into(),
            family: Family::Memcpy,
            level: &level,
        }];
        let mut r = run("nvidia-h100", &"c".repeat(40), 0, 0, &tracks, 5);
        let gpu = GpuInfo::h100_for_tests();
        let link = gpu.host_link_bytes_per_s.unwrap();
        r.hardware.gpu = Some(gpu);
        let mut b = r.benchmarks[0].clone();
        b.params.insert("bound".into(), "link".into());
        b.bytes_per_s = Some(0.9 * link);
        let f = fraction_of_peak(&r, &b).unwrap();
        assert!((f - 0.9).abs() < 1e-12, "{f}");
        // No link speed known: no share rather than one against the wrong peak.
        r.hardware.gpu.as_mut().unwrap().host_link_bytes_per_s = None;
        assert_eq!(fraction_of_peak(&r, &b), None);
    }
}
