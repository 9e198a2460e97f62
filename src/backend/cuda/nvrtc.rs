//! Compiling CUDA C++ to PTX with NVRTC, through cudarc with dynamic loading. cudarc panics
//! when libnvrtc cannot be loaded, so the library is located (and, from a pip package,
//! preloaded by absolute path so its soname resolves) before any call into it.

use std::path::PathBuf;

use super::toolkit;
use crate::error::{Error, Result};

/// The pinned package CI installs; named in messages so users can do the same.
pub const NVRTC_PACKAGE: &str = "nvidia-cuda-nvrtc==13.5.37 nvidia-cuda-nvcc==13.5.37";

/// NVRTC options for one architecture (e.g. `sm_90`, `sm_90a`).
pub fn nvrtc_options(arch: &str, include_dirs: &[PathBuf]) -> Vec<String> {
    let mut options = vec![
        format!("--gpu-architecture={arch}"),
        "--std=c++17".to_string(),
        // Line info costs nothing at run time and lets profilers map SASS to source.
        "--generate-line-info".to_string(),
    ];
    options.extend(
        include_dirs
            .iter()
            .map(|d| format!("--include-path={}", d.display())),
    );
    options
}

/// NVRTC's log with the toolkit's include directories written `<cuda-include>`: the log goes
/// into results and PR comments, and the kernel itself is named as the kernel tree names it
/// (the program name is `spec.source_path`), so no host path is left.
fn redact(log: &str, include_dirs: &[PathBuf]) -> String {
    include_dirs.iter().fold(log.to_string(), |log, dir| {
        log.replace(&dir.display().to_string(), "<cuda-include>")
    })
}

/// Makes libnvrtc loadable; returns its version as `major.minor`.
pub fn ensure_loaded(roots: &[PathBuf]) -> Result<String> {
    // SAFETY: only tries to dlopen the library by its usual names.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        let path = toolkit::nvrtc_library(roots).ok_or_else(|| {
            Error::ToolMissing(format!(
                "libnvrtc not found (looked in: {}); install it with `pip install {NVRTC_PACKAGE}` or set CUDA_HOME",
                toolkit::describe(roots)
            ))
        })?;
        // SAFETY: loading NVRTC runs only its own initialisers. The handle is leaked on
        // purpose: once loaded by path, the soname lookup cudarc does finds it.
        let lib = unsafe { libloading::Library::new(&path) }
            .map_err(|e| Error::ToolMissing(format!("cannot load {}: {e}", path.display())))?;
        std::mem::forget(lib);
        // SAFETY: as above.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Err(Error::ToolMissing(format!(
                "{} loaded, but not under a name this orac (CUDA 13) expects",
                path.display()
            )));
        }
    }
    let (mut major, mut minor) = (0, 0);
    // SAFETY: libnvrtc is present (checked above); the pointers are valid for the call.
    unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
    Ok(format!("{major}.{minor}"))
}

/// Compiles `source` (named `file` in messages) for `arch`, with the kernel's own extra
/// `flags` from its manifest; a compile error carries NVRTC's log. `ensure_loaded` must have
/// succeeded first.
pub fn compile_ptx(
    source: &str,
    file: &str,
    kernel: &str,
    arch: &str,
    include_dirs: &[PathBuf],
    flags: &[String],
) -> Result<String> {
    use cudarc::nvrtc::{CompileError, CompileOptions, compile_ptx_with_opts};
    let mut options = nvrtc_options(arch, include_dirs);
    options.extend(flags.iter().cloned());
    let opts = CompileOptions {
        options,
        name: Some(file.to_string()),
        ..Default::default()
    };
    compile_ptx_with_opts(source, opts)
        .map(|ptx| ptx.to_src())
        .map_err(|e| Error::Compile {
            kernel: kernel.to_string(),
            file: file.to_string(),
            log: match e {
                CompileError::CompileError { log, .. } => {
                    format!(
                        "[{arch}] {}",
                        redact(log.to_string_lossy().trim_end(), include_dirs)
                    )
                }
                other => format!("[{arch}] {other:?}"),
            },
        })
}

/// Compiles `source` to a CUBIN for the real architecture `arch` (e.g. `sm_90`), which is
/// what the CUDA backend loads: a driver refuses PTX of a newer ISA than it knows (an NVRTC
/// newer than the driver), but runs machine code for its GPU. A compile error carries
/// NVRTC's log, like [`compile_ptx`].
pub fn compile_cubin(
    source: &str,
    file: &str,
    kernel: &str,
    arch: &str,
    include_dirs: &[PathBuf],
    flags: &[String],
) -> Result<Vec<u8>> {
    use cudarc::nvrtc::{result, sys};
    use std::ffi::CString;
    let fail = |log: String| Error::Compile {
        kernel: kernel.to_string(),
        file: file.to_string(),
        log: format!("[{arch}] {}", redact(&log, include_dirs)),
    };
    let src = CString::new(source).map_err(|_| fail("the source contains a NUL byte".into()))?;
    let name = CString::new(file).map_err(|_| fail("the file name contains a NUL byte".into()))?;
    let mut options = nvrtc_options(arch, include_dirs);
    options.extend(flags.iter().cloned());
    let prog = result::create_program(&src, Some(&name)).map_err(|e| fail(format!("{e:?}")))?;
    // SAFETY: `prog` comes from create_program and is destroyed exactly once below; `src`
    // and `name` outlive it; the buffers passed to NVRTC are sized as NVRTC reports.
    let built = unsafe {
        match result::compile_program(prog, &options) {
            Err(e) => {
                let log = result::get_program_log(prog)
                    .map(|chars| {
                        let bytes: Vec<u8> = chars.iter().map(|&c| c as u8).collect();
                        String::from_utf8_lossy(&bytes)
                            .trim_end_matches('\0')
                            .trim_end()
                            .to_string()
                    })
                    .unwrap_or_else(|_| format!("{e:?}"));
                Err(fail(log))
            }
            Ok(()) => {
                let mut size = 0usize;
                let sized = sys::nvrtcGetCUBINSize(prog, &mut size);
                if sized != sys::nvrtcResult::NVRTC_SUCCESS || size == 0 {
                    Err(fail(format!(
                        "no CUBIN for {arch} (is it a real architecture such as sm_90, not compute_90?): {sized:?}"
                    )))
                } else {
                    let mut cubin = vec![0u8; size];
                    let got = sys::nvrtcGetCUBIN(prog, cubin.as_mut_ptr().cast());
                    if got == sys::nvrtcResult::NVRTC_SUCCESS {
                        Ok(cubin)
                    } else {
                        Err(fail(format!("nvrtcGetCUBIN failed: {got:?}")))
                    }
                }
            }
        }
    };
    // SAFETY: created above, not destroyed before.
    let _ = unsafe { result::destroy_program(prog) };
    built
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_name_include_dirs_without_host_paths() {
        let dirs = [PathBuf::from("/opt/cuda-13/include")];
        assert_eq!(
            redact(
                "/opt/cuda-13/include/cuda_fp16.h(12): error: x\ncuda/gemm.cu(3): error: y",
                &dirs
            ),
            "<cuda-include>/cuda_fp16.h(12): error: x\ncuda/gemm.cu(3): error: y"
        );
    }

    #[test]
    fn options_name_the_arch_and_every_include_dir() {
        let o = nvrtc_options(
            "sm_90a",
            &[PathBuf::from("/a/include"), PathBuf::from("/b/include")],
        );
        assert_eq!(o[0], "--gpu-architecture=sm_90a");
        assert!(o.contains(&"--std=c++17".to_string()));
        assert!(o.contains(&"--include-path=/a/include".to_string()));
        assert!(o.contains(&"--include-path=/b/include".to_string()));
    }
}
