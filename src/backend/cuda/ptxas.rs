//! Assembling PTX with `ptxas -v` to see what the hardware will run: registers, spills and
//! shared memory per kernel and architecture, without a GPU.

use std::path::Path;
use std::process::Command;

use regex::Regex;
use serde::Serialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PtxasInfo {
    pub registers: u32,
    pub spill_stores: u64,
    pub spill_loads: u64,
    pub stack_bytes: u64,
    pub shared_bytes: u64,
}

/// Parses `ptxas -v` output for a module with one kernel.
pub fn parse(output: &str) -> Option<PtxasInfo> {
    let num = |re: &str| -> Option<u64> {
        Regex::new(re)
            .expect("valid regex")
            .captures(output)
            .and_then(|c| c[1].parse().ok())
    };
    Some(PtxasInfo {
        registers: num(r"Used (\d+) registers")? as u32,
        spill_stores: num(r"(\d+) bytes spill stores").unwrap_or(0),
        spill_loads: num(r"(\d+) bytes spill loads").unwrap_or(0),
        stack_bytes: num(r"(\d+) bytes stack frame").unwrap_or(0),
        shared_bytes: num(r"(\d+) bytes smem").unwrap_or(0),
    })
}

/// Runs `ptxas -v` on `ptx` for `arch`.
pub fn assemble(
    ptxas: &Path,
    ptx: &str,
    arch: &str,
    kernel: &str,
    file: &str,
) -> Result<PtxasInfo> {
    let dir = tempfile_dir()?;
    let input = dir.join(format!("{kernel}-{arch}.ptx"));
    std::fs::write(&input, ptx).map_err(|source| Error::Write {
        path: input.clone(),
        source,
    })?;
    let out = Command::new(ptxas)
        .args(["-v", "--gpu-name", arch, "-o", "/dev/null"])
        .arg(&input)
        .output()
        .map_err(|e| Error::ToolMissing(format!("cannot run {}: {e}", ptxas.display())));
    let _ = std::fs::remove_file(&input);
    let out = out?;
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(Error::Compile {
            kernel: kernel.to_string(),
            file: file.to_string(),
            log: format!("[{arch}] ptxas: {}", text.trim_end()),
        });
    }
    parse(&text).ok_or_else(|| Error::Compile {
        kernel: kernel.to_string(),
        file: file.to_string(),
        log: format!("[{arch}] unexpected ptxas output: {}", text.trim_end()),
    })
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("orac-ptxas-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
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
}
