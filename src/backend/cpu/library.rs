//! Loading a compiled CPU kernel and binding its entry point to the C signature its op
//! declares.

use std::ffi::{c_int, c_long};
use std::mem::ManuallyDrop;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::compiler::VerifiedLibrary;

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

/// Why a kernel did not load.
pub struct LoadError {
    pub error: Error,
    /// The library itself could not be loaded (not just its entry found): a cached copy
    /// is worth rebuilding.
    pub unloadable: bool,
}

impl From<LoadError> for Error {
    fn from(e: LoadError) -> Self {
        e.error
    }
}

/// A loaded shared library and its entry point.
///
/// The library is never unloaded: an OpenMP kernel leaves libgomp worker threads parked
/// inside code that `dlopen` would unmap, which crashes the process at exit. Each kernel is
/// loaded once per process, so keeping it costs nothing.
pub struct LoadedKernel {
    pub func: KernelFn,
    _library: ManuallyDrop<libloading::Library>,
}

impl LoadedKernel {
    /// Loads the verified library through its open descriptor (`/proc/self/fd/N`), not by
    /// its path: the bytes mapped are the ones whose hash was checked, even if the cached
    /// file is replaced meanwhile.
    pub fn load(lib: VerifiedLibrary, spec: &KernelSpec) -> Result<Self, LoadError> {
        #[cfg(target_os = "linux")]
        let by_fd = format!("/proc/self/fd/{}", lib.file.as_raw_fd());
        #[cfg(not(target_os = "linux"))]
        let by_fd = format!("/dev/fd/{}", lib.file.as_raw_fd());
        // Named `<cache>/<file>`: the error goes into results and PR comments, where the
        // cache's host path (a home or CI temp directory) does not belong; the loader's own
        // message names the descriptor, which means nothing to a reader.
        let shown = Path::new("<cache>").join(lib.path.file_name().unwrap_or_default());
        let fail = |reason: String| Error::KernelLoad {
            path: shown.clone(),
            reason: reason.replace(&by_fd, &shown.display().to_string()),
        };
        let unloadable = |reason: String| LoadError {
            error: fail(reason),
            unloadable: true,
        };
        if lib.file.metadata().map_or(0, |m| m.len()) == 0 {
            return Err(unloadable("the file is empty".into()));
        }
        // SAFETY: the library's bytes are the ones orac compiled from a kernel source
        // (compiler.rs checked their hash); loading runs its initialisers, which plain C
        // kernels do not have beyond libc/libgomp's.
        let library =
            unsafe { libloading::Library::new(&by_fd) }.map_err(|e| unloadable(e.to_string()))?;
        // The descriptor stays open for the life of the process, like the library: the
        // dynamic loader knows the library by the name `/proc/self/fd/N`, and would hand
        // back this library to a later `dlopen` of that name, were N reused for another.
        std::mem::forget(lib.file);
        let missing = |e: libloading::Error| LoadError {
            error: fail(format!(
                "entry '{}' of kernel {} not found: {e}",
                spec.entry, spec.name
            )),
            unloadable: false,
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
                    return Err(LoadError {
                        error: fail(
                            "a transfer is a host-device driver call, not a CPU kernel".into(),
                        ),
                        unloadable: false,
                    });
                }
            }
        };
        Ok(LoadedKernel {
            func,
            _library: ManuallyDrop::new(library),
        })
    }
}
