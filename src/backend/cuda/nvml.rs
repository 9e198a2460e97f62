//! Reading the GPU's clocks, temperature, power and throttle reasons through NVML, loaded at
//! run time (libnvidia-ml ships with the driver). No NVML: no clock checks, said once.
//!
//! Status: compiled, not yet run on a GPU.

use nvml_wrapper::Nvml;
use nvml_wrapper::bitmasks::device::ThrottleReasons;
use nvml_wrapper::enum_wrappers::device::{Clock, PerformancePolicy, TemperatureSensor};

use crate::backend::clocks::{ClockProbe, ClockSample};

/// NVML's form of a UUID (`GPU-8-4-4-4-12`) from the driver API's 32 hex digits.
pub fn nvml_uuid(hex: &str) -> Option<String> {
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(format!(
        "GPU-{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// NVML bound to the device the backend uses (found by UUID, since CUDA and NVML may number
/// devices differently under CUDA_VISIBLE_DEVICES).
pub struct ClockReader {
    nvml: Nvml,
    uuid: String,
}

impl ClockReader {
    /// `Err` says why clocks cannot be read (no NVML, no permission, unknown device).
    pub fn open(cuda_uuid_hex: &str) -> Result<ClockReader, String> {
        let uuid = nvml_uuid(cuda_uuid_hex)
            .ok_or_else(|| format!("the device UUID '{cuda_uuid_hex}' is not 32 hex digits"))?;
        let nvml = Nvml::init().map_err(|e| format!("NVML unavailable ({e})"))?;
        nvml.device_by_uuid(uuid.as_str())
            .map_err(|e| format!("NVML does not know device {uuid} ({e})"))?;
        Ok(ClockReader { nvml, uuid })
    }

    fn sample(&self) -> Result<ClockSample, String> {
        let device = self
            .nvml
            .device_by_uuid(self.uuid.as_str())
            .map_err(|e| format!("NVML lost device {} ({e})", self.uuid))?;
        let reasons = device
            .current_throttle_reasons()
            .map(|r| {
                [
                    (ThrottleReasons::GPU_IDLE, "gpu_idle"),
                    (
                        ThrottleReasons::APPLICATIONS_CLOCKS_SETTING,
                        "applications_clocks_setting",
                    ),
                    (ThrottleReasons::SW_POWER_CAP, "sw_power_cap"),
                    (ThrottleReasons::HW_SLOWDOWN, "hw_slowdown"),
                    (ThrottleReasons::SYNC_BOOST, "sync_boost"),
                    (ThrottleReasons::SW_THERMAL_SLOWDOWN, "sw_thermal_slowdown"),
                    (ThrottleReasons::HW_THERMAL_SLOWDOWN, "hw_thermal_slowdown"),
                    (
                        ThrottleReasons::HW_POWER_BRAKE_SLOWDOWN,
                        "hw_power_brake_slowdown",
                    ),
                ]
                .into_iter()
                .filter(|(flag, _)| r.contains(*flag))
                .map(|(_, name)| name.to_string())
                .collect()
            })
            .unwrap_or_default();
        Ok(ClockSample {
            sm_mhz: device
                .clock_info(Clock::SM)
                .map_err(|e| format!("NVML cannot read the SM clock ({e})"))?,
            memory_mhz: device.clock_info(Clock::Memory).unwrap_or(0),
            temperature_c: device.temperature(TemperatureSensor::Gpu).unwrap_or(0),
            power_w: device
                .power_usage()
                .map(|mw| f64::from(mw) / 1e3)
                .unwrap_or(0.0),
            reasons,
            // Cumulative; a counter NVML lacks (virtualised GPUs) is simply absent.
            violations_ns: [
                ("power", PerformancePolicy::Power),
                ("thermal", PerformancePolicy::Thermal),
            ]
            .into_iter()
            .filter_map(|(name, policy)| {
                let v = device.violation_status(policy).ok()?;
                Some((name.to_string(), v.violation_time))
            })
            .collect(),
        })
    }
}

impl ClockReader {
    /// The kernel driver's version, e.g. "570.86.15".
    pub fn driver_version(&self) -> Option<String> {
        self.nvml.sys_driver_version().ok()
    }

    /// Peak bandwidth of the PCIe link to the host, per direction, from the link's maximum
    /// generation and width (NVML's view of what the GPU and the slot support together).
    ///
    /// `None` on a GPU attached to its host by NVLink-C2C (GH200, GB200): its transfers
    /// cross C2C, not PCIe, and NVML's C2C bandwidth field is not one orac has checked.
    pub fn host_link_bytes_per_s(&self) -> Option<f64> {
        use nvml_wrapper::enums::device::SampleValue;
        use nvml_wrapper::structs::device::FieldId;
        use nvml_wrapper::sys_exports::field_id::NVML_FI_DEV_C2C_LINK_COUNT;
        let device = self.nvml.device_by_uuid(self.uuid.as_str()).ok()?;
        let c2c_links = device
            .field_values_for(&[FieldId(NVML_FI_DEV_C2C_LINK_COUNT)])
            .ok()
            .and_then(|v| v.into_iter().next()?.ok()?.value.ok())
            .map_or(0.0, |v| match v {
                SampleValue::U32(n) => f64::from(n),
                SampleValue::U64(n) => n as f64,
                SampleValue::I64(n) => n as f64,
                SampleValue::F64(n) => n,
            });
        if c2c_links > 0.0 {
            return None;
        }
        pcie_bytes_per_s(
            device.max_pcie_link_gen().ok()?,
            device.max_pcie_link_width().ok()?,
        )
    }
}

/// PCIe bandwidth per direction: lanes × transfer rate × line-code efficiency. Gen 1–2 use
/// 8b/10b; gen 3–5 use 128b/130b; gen 6 (PAM4 and FLIT mode) is counted at 64 GT/s with its
/// 242/256 FLIT payload. `None` for a generation or width out of range.
pub fn pcie_bytes_per_s(generation: u32, lanes: u32) -> Option<f64> {
    let per_lane = match generation {
        1 => 2.5e9 * 8.0 / 10.0,
        2 => 5.0e9 * 8.0 / 10.0,
        3 => 8.0e9 * 128.0 / 130.0,
        4 => 16.0e9 * 128.0 / 130.0,
        5 => 32.0e9 * 128.0 / 130.0,
        6 => 64.0e9 * 242.0 / 256.0,
        _ => return None,
    } / 8.0;
    (1..=32)
        .contains(&lanes)
        .then(|| per_lane * f64::from(lanes))
}

impl ClockProbe for ClockReader {
    fn read(&self) -> Result<ClockSample, String> {
        self.sample()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_take_nvml_form() {
        assert_eq!(
            nvml_uuid("0123456789abcdef0123456789abcdef").as_deref(),
            Some("GPU-01234567-89ab-cdef-0123-456789abcdef")
        );
        assert_eq!(nvml_uuid("xyz"), None);
    }

    #[test]
    fn pcie_rates_match_the_published_ones() {
        // Gen 5 x16: ~63 GB/s per direction (the "64 GB/s" of data sheets, less encoding).
        let gen5 = pcie_bytes_per_s(5, 16).unwrap();
        assert!((gen5 / 1e9 - 63.0).abs() < 0.1, "{gen5}");
        // Gen 4 x16: ~31.5 GB/s; gen 3 x16: ~15.75 GB/s; gen 2 x8: 4 GB/s.
        assert!((pcie_bytes_per_s(4, 16).unwrap() / 1e9 - 31.5).abs() < 0.1);
        assert!((pcie_bytes_per_s(3, 16).unwrap() / 1e9 - 15.75).abs() < 0.05);
        assert_eq!(pcie_bytes_per_s(2, 8), Some(4e9));
        assert_eq!(pcie_bytes_per_s(0, 16), None);
        assert_eq!(pcie_bytes_per_s(5, 0), None);
    }
}
