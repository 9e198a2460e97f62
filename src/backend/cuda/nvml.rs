//! Reading the GPU's clocks, temperature, power and throttle reasons through NVML, loaded at
//! run time (libnvidia-ml ships with the driver). No NVML: no clock checks, said once.
//!
//! Status: compiled, not yet run on a GPU.

use nvml_wrapper::Nvml;
use nvml_wrapper::bitmasks::device::ThrottleReasons;
use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};

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
        })
    }
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
}
