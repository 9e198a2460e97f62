//! A kernel's PTX without a GPU or a driver: NVRTC only.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::{nvrtc, toolkit::Toolkit};
use crate::error::{Error, Result};
use crate::kernels::KernelSpec;

/// The toolkit an offline compile uses, its NVRTC loaded.
struct Offline {
    include_dirs: Vec<PathBuf>,
}

static OFFLINE: OnceLock<std::result::Result<Offline, String>> = OnceLock::new();

/// Discovers the toolkit once per process, choosing as for no driver (the newest NVRTC
/// found, its headers), and loads that NVRTC.
fn offline() -> Result<&'static Offline> {
    OFFLINE
        .get_or_init(|| {
            let toolkit = Toolkit::discover(None);
            nvrtc::ensure_loaded(&toolkit).map_err(|e| e.to_string())?;
            Ok(Offline {
                include_dirs: toolkit.include_dirs(),
            })
        })
        .as_ref()
        .map_err(|why| Error::ToolMissing(why.clone()))
}

/// Compiles `spec`'s source to PTX for `arch` (e.g. "sm_90a"), with the NVRTC options the
/// CUDA backend uses and the kernel's own manifest flags. Needs no GPU or driver. Errors:
/// `ToolMissing` without NVRTC, `Compile` with NVRTC's log (host paths redacted).
///
/// NVRTC is loaded once per process: where the CUDA backend loaded the driver's choice
/// first, that NVRTC compiles (the include directories are still this discovery's).
pub fn compile_kernel_ptx(spec: &KernelSpec, arch: &str) -> Result<String> {
    let offline = offline()?;
    nvrtc::compile_ptx(
        &spec.source,
        &spec.source_path,
        &spec.name,
        arch,
        &offline.include_dirs,
        &spec.flags,
    )
}
