//! Opening a GPU and reading its fingerprint from the driver.
//!
//! Status: compiled, not yet run on a GPU.

use std::sync::Arc;

use cudarc::driver::sys::CUdevice_attribute as Attr;
use cudarc::driver::{CudaContext, CudaStream};

use crate::error::{Error, Result};
use crate::store::GpuInfo;

/// A context on one GPU and the stream every launch and event goes to.
pub struct Device {
    pub ctx: Arc<CudaContext>,
    pub stream: Arc<CudaStream>,
    pub info: GpuInfo,
    /// Shared memory one block may use once it opts in (static plus dynamic), in bytes.
    pub max_shared_per_block: u64,
}

fn cuda(what: &str) -> impl Fn(cudarc::driver::DriverError) -> Error + '_ {
    move |e| Error::CudaUnavailable(format!("{what}: {e:?}"))
}

impl Device {
    /// Opens GPU `ordinal`. `super::detect` must have found the driver first.
    pub fn open(ordinal: usize, nvrtc_version: Option<String>) -> Result<Self> {
        let driver_api_version = super::driver_version().unwrap_or(0);
        // orac binds the CUDA 12.2 driver API (cudarc's `cuda-12020` bindings): an older
        // driver lacks entry points cudarc would call, and panic on, mid-run.
        crate::toolchain::choose::driver_gate(driver_api_version)
            .map_err(Error::CudaUnavailable)?;
        let ctx = CudaContext::new(ordinal).map_err(cuda("cannot create a CUDA context"))?;
        // cudarc records an event per buffer per launch to order streams for us; orac uses
        // one stream, and those records would land inside the timed region.
        // SAFETY: every buffer is allocated, used and freed on `stream` only.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.new_stream().map_err(cuda("cannot create a stream"))?;
        let attr = |a: Attr| ctx.attribute(a).map(|v| v.max(0) as u64).unwrap_or(0);
        let (major, minor) = ctx
            .compute_capability()
            .map_err(cuda("cannot read the compute capability"))?;
        let uuid = ctx
            .uuid()
            .map(|u| {
                u.bytes
                    .iter()
                    .map(|b| format!("{:02x}", *b as u8))
                    .collect()
            })
            .unwrap_or_default();
        let memory_clock_khz = attr(Attr::CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
        let bus_width_bits = attr(Attr::CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH);
        let info = GpuInfo {
            name: ctx.name().map_err(cuda("cannot read the device name"))?,
            uuid,
            compute_capability: format!("{major}.{minor}"),
            sms: attr(Attr::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT) as u32,
            memory_bytes: ctx.total_mem().map(|m| m as u64).unwrap_or(0),
            l2_bytes: attr(Attr::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE),
            memory_clock_khz,
            bus_width_bits,
            peak_bandwidth_bytes_per_s: GpuInfo::peak_bandwidth(memory_clock_khz, bus_width_bits),
            sm_clock_khz: attr(Attr::CU_DEVICE_ATTRIBUTE_CLOCK_RATE),
            ecc: attr(Attr::CU_DEVICE_ATTRIBUTE_ECC_ENABLED) != 0,
            driver_api_version,
            nvrtc_version,
            // Filled in from NVML by the backend, where NVML is there.
            host_link_bytes_per_s: None,
            driver_version: None,
        };
        // Unreadable (0): no limit is checked here, and a launch over it fails on its own.
        let max_shared_per_block =
            match attr(Attr::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN) {
                0 => u64::MAX,
                limit => limit,
            };
        Ok(Device {
            ctx,
            stream,
            info,
            max_shared_per_block,
        })
    }

    /// The architecture NVRTC compiles for, e.g. `sm_90`.
    pub fn arch(&self) -> String {
        format!("sm_{}", self.info.compute_capability.replace('.', ""))
    }

    /// Free device memory in bytes, if the driver says.
    pub fn free_memory(&self) -> Option<u64> {
        self.ctx.mem_get_info().ok().map(|(free, _)| free as u64)
    }
}
