//! Loading a compiled CPU kernel and binding its entry point to the C signature its op
//! declares.

use std::ffi::{c_int, c_long};
use std::mem::ManuallyDrop;
use std::path::Path;

use crate::error::{Error, Result};
use crate::kernels::{KernelSpec, Op};

pub type CopyFn = unsafe extern "C" fn(*const u8, *mut u8, usize);
pub type GemmFn = unsafe extern "C" fn(*const f32, *const f32, *mut f32, c_long, c_long, c_long);
pub type AttentionFn = unsafe extern "C" fn(
    *const f32,
    *const f32,
    *const f32,
    *mut f32,
    c_long,
    c_long,
    c_long,
    c_long,
    c_long,
    c_int,
    f32,
);

pub type TriadFn = unsafe extern "C" fn(*const f32, *const f32, *mut f32, f32, usize);
pub type DecodeFn = unsafe extern "C" fn(
    *const f32,
    *const f32,
    *const f32,
    *mut f32,
    c_long,
    c_long,
    c_long,
    c_long,
    c_long,
    f32,
);

#[derive(Clone, Copy)]
pub enum KernelFn {
    Copy(CopyFn),
    Gemm(GemmFn),
    Attention(AttentionFn),
    Decode(DecodeFn),
    Triad(TriadFn),
}

/// A loaded shared library and its entry point.
///
/// The library is never unloaded: an OpenMP kernel leaves libgomp worker threads parked
/// inside code that `dlclose` would unmap, which crashes the process at exit. Each kernel is
/// loaded once per process, so keeping it costs nothing.
pub struct LoadedKernel {
    pub func: KernelFn,
    _library: ManuallyDrop<libloading::Library>,
}

impl LoadedKernel {
    pub fn load(path: &Path, spec: &KernelSpec) -> Result<Self> {
        let fail = |reason: String| Error::KernelLoad {
            path: path.to_path_buf(),
            reason,
        };
        // SAFETY: the library is one orac just compiled from a kernel source; loading runs
        // its initialisers, which plain C kernels do not have beyond libc/libgomp's.
        let library = unsafe { libloading::Library::new(path) }.map_err(|e| fail(e.to_string()))?;
        let missing = |e: libloading::Error| {
            fail(format!(
                "entry '{}' of kernel {} not found: {e}",
                spec.entry, spec.name
            ))
        };
        let name = spec.entry.as_bytes();
        // SAFETY: the manifest's `op` declares the entry's C signature; a kernel whose
        // source disagrees with its manifest is a bug in that kernel (CONTRIBUTING.md).
        let func = unsafe {
            match spec.op {
                Op::Copy => KernelFn::Copy(*library.get::<CopyFn>(name).map_err(missing)?),
                Op::Gemm => KernelFn::Gemm(*library.get::<GemmFn>(name).map_err(missing)?),
                Op::Attention => {
                    KernelFn::Attention(*library.get::<AttentionFn>(name).map_err(missing)?)
                }
                Op::Decode => KernelFn::Decode(*library.get::<DecodeFn>(name).map_err(missing)?),
                Op::Triad => KernelFn::Triad(*library.get::<TriadFn>(name).map_err(missing)?),
                // The manifest only accepts transfers as driver calls, never as sources.
                Op::Transfer => {
                    return Err(fail(
                        "a transfer is a host-device driver call, not a CPU kernel".into(),
                    ));
                }
            }
        };
        Ok(LoadedKernel {
            func,
            _library: ManuallyDrop::new(library),
        })
    }
}
