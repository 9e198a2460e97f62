//! The hardware a run was measured on, and its key: a readable slug of the stable fields
//! only (model and size, never measured speeds), so runs of one machine type group together.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hardware {
    /// e.g. `cpu-amd-epyc-7b13-x2` or `nvidia-h100-80gb-hbm3`.
    pub key: String,
    pub cpu_model: String,
    /// Logical CPUs this process may use.
    pub cpu_cores: u32,
    pub memory_bytes: Option<u64>,
    pub os: String,
    pub arch: String,
    /// The C compiler that built the CPU kernels (first line of `cc --version`).
    pub compiler: Option<String>,
    /// The GPU, when the CUDA backend measured.
    #[serde(default)]
    pub gpu: Option<GpuInfo>,
}

/// A GPU's fingerprint, read from the driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    pub name: String,
    pub uuid: String,
    /// e.g. "9.0".
    pub compute_capability: String,
    pub sms: u32,
    pub memory_bytes: u64,
    pub l2_bytes: u64,
    pub memory_clock_khz: u64,
    pub bus_width_bits: u64,
    /// Datasheet-style peak: 2 (double data rate) × memory clock × bus width / 8.
    pub peak_bandwidth_bytes_per_s: f64,
    /// Default SM clock.
    pub sm_clock_khz: u64,
    pub ecc: bool,
    /// CUDA driver API version, e.g. 13000.
    pub driver_api_version: i32,
    pub nvrtc_version: Option<String>,
    /// Peak bandwidth per direction of the link to the host (PCIe, from NVML), which bounds
    /// host↔device transfers; `None` where NVML could not tell.
    #[serde(default)]
    pub host_link_bytes_per_s: Option<f64>,
    /// The kernel driver's version as NVML reports it (e.g. "570.86.15"), where NVML is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_version: Option<String>,
}

impl GpuInfo {
    /// Peak DRAM bandwidth from the memory clock and bus width (bytes/s).
    pub fn peak_bandwidth(memory_clock_khz: u64, bus_width_bits: u64) -> f64 {
        2.0 * memory_clock_khz as f64 * 1e3 * bus_width_bits as f64 / 8.0
    }
}

impl Hardware {
    pub fn cpu(
        cpu_model: String,
        cpu_cores: u32,
        memory_bytes: Option<u64>,
        compiler: Option<String>,
    ) -> Self {
        Hardware {
            key: format!("cpu-{}-x{cpu_cores}", slug(&cpu_model)),
            cpu_model,
            cpu_cores,
            memory_bytes,
            os: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
            compiler,
            gpu: None,
        }
    }

    /// The host as `host` describes it, measured on `gpu`: the key is the GPU's name (which
    /// for data-centre parts includes the memory, e.g. `nvidia-h100-80gb-hbm3`), with the
    /// memory size appended when the name lacks it.
    pub fn with_gpu(host: Hardware, gpu: GpuInfo) -> Self {
        let mut key = slug(&gpu.name);
        if !key.contains("gb") {
            key = format!("{key}-{}gb", (gpu.memory_bytes + (1 << 29)) >> 30);
        }
        Hardware {
            key,
            gpu: Some(gpu),
            ..host
        }
    }
}

/// Lowercase ASCII letters and digits joined by single dashes, without trademark noise:
/// `Intel(R) Xeon(R) CPU @ 2.20GHz` → `intel-xeon-2-20ghz`.
pub fn slug(text: &str) -> String {
    let lower = text.to_lowercase().replace("(r)", " ").replace("(tm)", " ");
    let words: Vec<String> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && !matches!(*w, "cpu" | "processor"))
        .map(str::to_string)
        .collect();
    if words.is_empty() {
        "unknown".to_string()
    } else {
        words.join("-")
    }
}

#[cfg(test)]
impl GpuInfo {
    /// An H100 SXM as the driver would describe it (132 SMs, 1830 MHz), for tests.
    pub(crate) fn h100_for_tests() -> GpuInfo {
        GpuInfo {
            name: "NVIDIA H100 80GB HBM3".into(),
            uuid: String::new(),
            compute_capability: "9.0".into(),
            sms: 132,
            memory_bytes: 80 << 30,
            l2_bytes: 50 << 20,
            memory_clock_khz: 2_619_000,
            bus_width_bits: 5120,
            peak_bandwidth_bytes_per_s: 3.35e12,
            sm_clock_khz: 1_830_000,
            ecc: true,
            driver_api_version: 13000,
            nvrtc_version: None,
            host_link_bytes_per_s: Some(63.0e9),
            driver_version: Some("570.86.15".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_readable_and_stable() {
        assert_eq!(slug("AMD EPYC 7B13"), "amd-epyc-7b13");
        assert_eq!(slug("Intel(R) Xeon(R) CPU @ 2.20GHz"), "intel-xeon-2-20ghz");
        assert_eq!(slug("NVIDIA H100 80GB HBM3"), "nvidia-h100-80gb-hbm3");
        assert_eq!(slug("  ** "), "unknown");
        let hw = Hardware::cpu("AMD EPYC 7B13".into(), 2, None, None);
        assert_eq!(hw.key, "cpu-amd-epyc-7b13-x2");
        let gpu = |name: &str| GpuInfo {
            name: name.into(),
            ..GpuInfo::h100_for_tests()
        };
        let h100 = Hardware::with_gpu(hw.clone(), gpu("NVIDIA H100 80GB HBM3"));
        assert_eq!(h100.key, "nvidia-h100-80gb-hbm3");
        assert_eq!(
            Hardware::with_gpu(hw, gpu("NVIDIA H100")).key,
            "nvidia-h100-80gb"
        );
        // H100 SXM: 2 × 2.619 GHz × 5120 bit / 8 = 3.35 TB/s.
        let peak = GpuInfo::peak_bandwidth(2_619_000, 5120);
        assert!((peak / 1e12 - 3.352).abs() < 0.001, "{peak}");
    }
}
