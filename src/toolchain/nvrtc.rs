//! Compiling CUDA C++ to PTX or a CUBIN with the NVRTC `toolkit::Toolkit` chose for the
//! driver (loaded by path in `nvrtc_lib`).

use std::path::PathBuf;

use super::nvrtc_lib::{self, Failure, Output};
use super::toolkit::Toolkit;
use crate::error::{Error, Result};

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

/// Loads the NVRTC `toolkit` chose; returns its version as `major.minor`.
pub fn ensure_loaded(toolkit: &Toolkit) -> Result<String> {
    let chosen = toolkit.nvrtc.chosen.as_ref().ok_or_else(|| {
        Error::ToolMissing(format!(
            "{} (looked in: {})",
            toolkit.nvrtc.reason,
            toolkit.describe_roots()
        ))
    })?;
    let nvrtc = nvrtc_lib::load(&chosen.path).map_err(Error::ToolMissing)?;
    Ok(format!("{}.{}", nvrtc.version.0, nvrtc.version.1))
}

fn compile(
    source: &str,
    file: &str,
    kernel: &str,
    arch: &str,
    include_dirs: &[PathBuf],
    flags: &[String],
    output: Output,
) -> Result<Vec<u8>> {
    let fail = |log: String| Error::Compile {
        kernel: kernel.to_string(),
        file: file.to_string(),
        log: format!("[{arch}] {}", redact(&log, include_dirs)),
    };
    let nvrtc = nvrtc_lib::loaded()
        .ok_or_else(|| fail("NVRTC is not loaded (nvrtc::ensure_loaded first)".into()))?;
    let mut options = nvrtc_options(arch, include_dirs);
    options.extend(flags.iter().cloned());
    nvrtc
        .compile(source, file, &options, output)
        .map_err(|f| match f {
            Failure::Log(log) | Failure::Call(log) => fail(log),
        })
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
    let ptx = compile(source, file, kernel, arch, include_dirs, flags, Output::Ptx)?;
    Ok(String::from_utf8_lossy(&ptx).into_owned())
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
    compile(
        source,
        file,
        kernel,
        arch,
        include_dirs,
        flags,
        Output::Cubin,
    )
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
