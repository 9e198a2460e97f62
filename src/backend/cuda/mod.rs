//! The CUDA backend: driver detection (cudarc loads libcuda dynamically and panics when it
//! is missing, so presence is checked before any call into it), the device and its
//! fingerprint, and kernels compiled by NVRTC (`crate::toolchain`), launched as their
//! `crate::launch` plan says and timed with events on the launch stream.
//!
//! Status: compiled, not yet run on a GPU.

mod backend;
mod blas;
mod device;
pub mod l2;
mod nvml;
mod workload;

pub use backend::CudaBackend;

pub enum CudaStatus {
    Available { devices: i32 },
    Unavailable(String),
}

/// Looks for the CUDA driver library and a device, without panicking when there is none.
pub fn detect() -> CudaStatus {
    // SAFETY: only tries to dlopen the driver library by its usual names.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return CudaStatus::Unavailable("no CUDA driver library (libcuda) found".into());
    }
    if let Err(e) = cudarc::driver::result::init() {
        return CudaStatus::Unavailable(format!("cuInit failed: {e:?}"));
    }
    match cudarc::driver::result::device::get_count() {
        Ok(0) => CudaStatus::Unavailable("the CUDA driver sees no device".into()),
        Ok(devices) => CudaStatus::Available { devices },
        Err(e) => CudaStatus::Unavailable(format!("cuDeviceGetCount failed: {e:?}")),
    }
}

/// The driver's CUDA API version (e.g. 12040), if a driver library is there; needs no
/// `cuInit`.
pub fn driver_version() -> Option<i32> {
    // SAFETY: only tries to dlopen the driver library by its usual names.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return None;
    }
    let mut version = 0;
    // SAFETY: the library is present; the pointer is valid for the call.
    let status = unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut version) };
    (status == cudarc::driver::sys::CUresult::CUDA_SUCCESS).then_some(version)
}
