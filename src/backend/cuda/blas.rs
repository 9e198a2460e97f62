//! The cuBLAS handle orac times vendor GEMMs with.
//!
//! Status: compiled, not yet run on a GPU.

use std::sync::Arc;

use cudarc::cublas::CudaBlas;
use cudarc::driver::{CudaSlice, CudaStream, DevicePtrMut};

/// The workspace cuBLAS gets: NVIDIA's guidance for Hopper is 32 MiB. An explicit one makes
/// graph capture safe by construction (cuBLAS must not allocate while a stream captures) and
/// keeps the algorithm choice from depending on what the default pool has left.
pub const WORKSPACE_BYTES: usize = 32 << 20;

/// A handle on `stream` with its own workspace, which must outlive the handle's use.
pub fn handle_with_workspace(
    stream: &Arc<CudaStream>,
) -> Result<(Arc<CudaBlas>, CudaSlice<u8>), String> {
    let blas = CudaBlas::new(stream.clone())
        .map_err(|e| format!("cannot create a cuBLAS handle: {e:?}"))?;
    let mut workspace = stream
        .alloc_zeros::<u8>(WORKSPACE_BYTES)
        .map_err(|e| format!("cannot allocate the cuBLAS workspace: {e:?}"))?;
    {
        let (ptr, _guard) = workspace.device_ptr_mut(stream);
        // SAFETY: the handle and the buffer live on the same stream and context; the buffer
        // is kept with the handle for as long as the backend uses it.
        let status = unsafe {
            cudarc::cublas::sys::cublasSetWorkspace_v2(
                *blas.handle(),
                ptr as *mut std::ffi::c_void,
                WORKSPACE_BYTES,
            )
        };
        if status != cudarc::cublas::sys::cublasStatus_t::CUBLAS_STATUS_SUCCESS {
            return Err(format!("cublasSetWorkspace failed: {status:?}"));
        }
    }
    Ok((Arc::new(blas), workspace))
}
