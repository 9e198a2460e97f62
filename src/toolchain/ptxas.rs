//! Assembling PTX with `ptxas -v` to see what the hardware will run: registers, spills and
//! shared memory per kernel and architecture, without a GPU.

use std::path::Path;
use std::process::Command;

use regex::Regex;
use serde::Serialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PtxasInfo {
    pub registers: u32,
    pub spill_stores: u64,
    pub spill_loads: u64,
    pub stack_bytes: u64,
    pub shared_bytes: u64,
    /// Tensor-core instructions in the SASS (HMMA, HGMMA, …), when nvdisasm was at hand.
    pub tensor_ops: Option<u64>,
    /// Why the SASS could not be read (nvdisasm missing or failing).
    pub sass_unavailable: Option<String>,
}

/// Parses `ptxas -v` output for a module of one or more kernels (a pipeline's stages): the
/// worst of them, i.e. the most registers, stack and shared memory, and all spills summed.
pub fn parse(output: &str) -> Option<PtxasInfo> {
    let all = |re: &str| -> Vec<u64> {
        Regex::new(re)
            .expect("valid regex")
            .captures_iter(output)
            .filter_map(|c| c[1].parse().ok())
            .collect()
    };
    let max = |re: &str| all(re).into_iter().max().unwrap_or(0);
    let sum = |re: &str| all(re).into_iter().sum::<u64>();
    Some(PtxasInfo {
        registers: all(r"Used (\d+) registers").into_iter().max()? as u32,
        spill_stores: sum(r"(\d+) bytes spill stores"),
        spill_loads: sum(r"(\d+) bytes spill loads"),
        stack_bytes: max(r"(\d+) bytes stack frame"),
        shared_bytes: max(r"(\d+) bytes smem"),
        tensor_ops: None,
        sass_unavailable: None,
    })
}

/// Tensor-core instruction mnemonics in SASS: HMMA (mma.sync / WMMA, Volta–Hopper), HGMMA
/// (wgmma, Hopper), IMMA / QMMA / OMMA (integer and FP8/FP4 variants).
const TENSOR_OPS: &[&str] = &["HMMA", "HGMMA", "IMMA", "IGMMA", "QMMA", "QGMMA", "OMMA"];

/// Counts tensor-core instructions in `nvdisasm` (or `cuobjdump -sass`) output.
pub fn count_tensor_ops(sass: &str) -> u64 {
    sass.lines()
        .filter(|line| {
            // An instruction line: `/*0450*/   HMMA.16816.F32.BF16 R4, R8, R12, R4 ;`
            line.split_whitespace()
                .find(|w| !w.starts_with("/*") && !w.starts_with('@'))
                .is_some_and(|op| TENSOR_OPS.iter().any(|t| op.split('.').next() == Some(t)))
        })
        .count() as u64
}

/// Runs `ptxas -v` on `ptx` for `arch`; with `nvdisasm`, also counts the tensor-core
/// instructions of the resulting SASS (a disassembler failure leaves them uncounted, with
/// the reason, rather than failing the kernel).
pub fn assemble(
    ptxas: &Path,
    nvdisasm: Option<&Path>,
    ptx: &str,
    arch: &str,
    kernel: &str,
    file: &str,
) -> Result<PtxasInfo> {
    let dir = tempfile_dir()?;
    let input = dir.join(format!("{kernel}-{arch}.ptx"));
    let cubin = dir.join(format!("{kernel}-{arch}.cubin"));
    std::fs::write(&input, ptx).map_err(|source| Error::Write {
        path: input.clone(),
        source,
    })?;
    let out = Command::new(ptxas)
        .args(["-v", "--gpu-name", arch, "-o"])
        .arg(&cubin)
        .arg(&input)
        .output()
        .map_err(|e| Error::ToolMissing(format!("cannot run {}: {e}", ptxas.display())));
    let _ = std::fs::remove_file(&input);
    let sass: Option<std::result::Result<String, String>> = match (&out, nvdisasm) {
        (Ok(o), Some(tool)) if o.status.success() => Some(
            Command::new(tool)
                .arg("--print-code")
                .arg(&cubin)
                .output()
                .map_err(|e| format!("cannot run {}: {e}", tool.display()))
                .and_then(|o| {
                    if o.status.success() {
                        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
                    } else {
                        Err(format!(
                            "{} failed: {}",
                            tool.display(),
                            String::from_utf8_lossy(&o.stderr).trim_end()
                        ))
                    }
                }),
        ),
        _ => None,
    };
    let _ = std::fs::remove_dir_all(&dir);
    let out = out?;
    // ptxas names its input by the scratch path; the log goes into results and PR comments.
    let text = (String::from_utf8_lossy(&out.stderr).into_owned()
        + &String::from_utf8_lossy(&out.stdout))
        .replace(&dir.display().to_string(), "<tmp>");
    if !out.status.success() {
        return Err(Error::Compile {
            kernel: kernel.to_string(),
            file: file.to_string(),
            log: format!("[{arch}] ptxas: {}", text.trim_end()),
        });
    }
    let mut info = parse(&text).ok_or_else(|| Error::Compile {
        kernel: kernel.to_string(),
        file: file.to_string(),
        log: format!("[{arch}] unexpected ptxas output: {}", text.trim_end()),
    })?;
    match sass {
        Some(Ok(text)) => info.tensor_ops = Some(count_tensor_ops(&text)),
        Some(Err(why)) => info.sass_unavailable = Some(why),
        None => info.sass_unavailable = Some("no nvdisasm".into()),
    }
    Ok(info)
}

/// A fresh scratch directory of our own in the shared temp directory: created (never
/// reused) with mode 0700, so nobody else can plant or swap the files ptxas reads and writes.
fn tempfile_dir() -> Result<std::path::PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    static DIRS: AtomicU64 = AtomicU64::new(0);
    loop {
        let dir = std::env::temp_dir().join(format!(
            "orac-ptxas-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::Relaxed)
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(Error::Write { path: dir, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ptxas_verbose_output() {
        // Recorded from ptxas 13.5 (nvidia-cuda-nvcc 13.5.37) on kernels/cuda/gemm_tiled.cu.
        let out = "ptxas info    : 0 bytes gmem\nptxas info    : Compiling entry function 'orac_gemm_tiled' for 'sm_80'\nptxas info    : Function properties for orac_gemm_tiled\n    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\nptxas info    : Used 32 registers, used 1 barriers, 8192 bytes smem, 388 bytes cmem[0]\n";
        let info = parse(out).unwrap();
        assert_eq!(info.registers, 32);
        assert_eq!(info.shared_bytes, 8192);
        assert_eq!((info.spill_stores, info.spill_loads), (0, 0));
        let spilling = "    16 bytes stack frame, 24 bytes spill stores, 8 bytes spill loads\nptxas info    : Used 255 registers\n";
        let info = parse(spilling).unwrap();
        assert_eq!(
            (
                info.registers,
                info.spill_stores,
                info.spill_loads,
                info.shared_bytes
            ),
            (255, 24, 8, 0)
        );
        assert!(parse("garbage").is_none());
    }

    #[test]
    fn counts_tensor_core_instructions_in_sass() {
        // Shaped like `nvdisasm --print-code` of an sm_90 cubin.
        let sass = "        code for sm_90\n                Function : orac_gemm_wmma\n\
            /*0400*/                   LDSM.16.M88.4 R8, [R2] ;                  /* 0x000000000208783b */\n\
            /*0410*/                   HMMA.16816.F32.BF16 R12, R8, R16, R12 ;   /* 0x000000100c0c723c */\n\
            /*0420*/               @P0 HMMA.16816.F32.BF16 R20, R8, R18, R20 ;   /* 0x00000012081c723c */\n\
            /*0430*/                   HGMMA.64x128x16.F32.BF16 R24, gdesc[UR4], R24 ;\n\
            /*0440*/                   FFMA R1, R2, R3, R1 ;  // HMMA in a comment does not count\n";
        assert_eq!(count_tensor_ops(sass), 3);
        assert_eq!(count_tensor_ops("FFMA R1, R2, R3, R1 ;"), 0);
    }

    #[test]
    fn a_module_of_several_kernels_reports_the_worst() {
        let out = "ptxas info    : Function properties for a\n    8 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads\nptxas info    : Used 40 registers, 1024 bytes smem, 388 bytes cmem[0]\nptxas info    : Function properties for b\n    0 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads\nptxas info    : Used 96 registers, 512 bytes smem, 388 bytes cmem[0]\n";
        let info = parse(out).unwrap();
        assert_eq!(info.registers, 96);
        assert_eq!((info.spill_stores, info.spill_loads), (12, 16));
        assert_eq!((info.stack_bytes, info.shared_bytes), (8, 1024));
    }
}
