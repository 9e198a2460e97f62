//! Finding the CUDA toolkit pieces orac uses (libnvrtc, CUDA headers, ptxas) without a
//! system install: `$ORAC_CUDA_HOME`, `$CUDA_HOME`, `$CUDA_PATH`, `/usr/local/cuda`, or the `nvidia-cuda-nvrtc` /
//! `nvidia-cuda-nvcc` Python packages (`site-packages/nvidia/cu13/…`), which work on a
//! machine without a GPU.

use std::path::PathBuf;
use std::process::Command;

/// Directories under site-packages that hold a CUDA layout (include/, lib/, bin/).
const PYTHON_LAYOUTS: &[&str] = &[
    "nvidia/cu13",
    "nvidia/cuda_nvrtc",
    "nvidia/cuda_nvcc",
    "nvidia/cuda_runtime",
];

/// CUDA roots to look in, most explicit first (existing directories only).
pub fn candidate_roots(
    env: &dyn Fn(&str) -> Option<String>,
    python_paths: &[PathBuf],
) -> Vec<PathBuf> {
    // ORAC_CUDA_HOME first: it points orac (only) at a toolkit, without the rebuild that
    // changing CUDA_HOME triggers in cudarc's build script.
    let mut roots: Vec<PathBuf> = ["ORAC_CUDA_HOME", "CUDA_HOME", "CUDA_PATH"]
        .iter()
        .filter_map(|k| env(k))
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .collect();
    roots.push(PathBuf::from("/usr/local/cuda"));
    for site in python_paths {
        for layout in PYTHON_LAYOUTS {
            roots.push(site.join(layout));
        }
    }
    let mut seen = Vec::new();
    roots.retain(|r| {
        r.is_dir() && !seen.contains(r) && {
            seen.push(r.clone());
            true
        }
    });
    roots
}

/// `sys.path` of `python3` (and of an active virtualenv), where pip puts the packages.
pub fn python_paths() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Ok(out) = Command::new("python3")
        .args([
            "-c",
            "import sys; print('\\n'.join(p for p in sys.path if p))",
        ])
        .output()
        && out.status.success()
    {
        paths.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(PathBuf::from),
        );
    }
    paths
}

/// The roots on this machine.
pub fn discover() -> Vec<PathBuf> {
    candidate_roots(&|k| std::env::var(k).ok(), &python_paths())
}

/// `include/` directories of `roots` (NVRTC needs e.g. `cuda_bf16.h`, `mma.h` from them).
pub fn include_dirs(roots: &[PathBuf]) -> Vec<PathBuf> {
    roots
        .iter()
        .map(|r| r.join("include"))
        .filter(|d| d.is_dir())
        .collect()
}

fn first_file(roots: &[PathBuf], subdirs: &[&str], names: &[&str]) -> Option<PathBuf> {
    roots.iter().find_map(|r| {
        subdirs.iter().find_map(|s| {
            names
                .iter()
                .map(|n| r.join(s).join(n))
                .find(|p| p.is_file())
        })
    })
}

/// The NVRTC shared library, newest soname first.
pub fn nvrtc_library(roots: &[PathBuf]) -> Option<PathBuf> {
    first_file(
        roots,
        &["lib64", "lib", "lib/x64"],
        &["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"],
    )
}

/// `ptxas`, from the roots or else from `PATH`.
pub fn ptxas(roots: &[PathBuf]) -> Option<PathBuf> {
    tool(roots, "ptxas")
}

/// `nvdisasm` (SASS of a cubin), from the roots or else from `PATH`; pip ships it as
/// `nvidia-cuda-nvdisasm`.
pub fn nvdisasm(roots: &[PathBuf]) -> Option<PathBuf> {
    tool(roots, "nvdisasm")
}

fn tool(roots: &[PathBuf], name: &str) -> Option<PathBuf> {
    first_file(roots, &["bin"], &[name]).or_else(|| {
        std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
    })
}

/// For messages: where orac looked.
pub fn describe(roots: &[PathBuf]) -> String {
    if roots.is_empty() {
        "no CUDA root found ($CUDA_HOME, $CUDA_PATH, /usr/local/cuda, or pip's nvidia/cu13)".into()
    } else {
        roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_roots_come_first_then_python_packages() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("cuda");
        let site = tmp.path().join("site");
        let cu13 = site.join("nvidia/cu13");
        std::fs::create_dir_all(home.join("include")).unwrap();
        std::fs::create_dir_all(cu13.join("lib")).unwrap();
        std::fs::create_dir_all(cu13.join("bin")).unwrap();
        std::fs::create_dir_all(cu13.join("include")).unwrap();
        std::fs::write(cu13.join("lib/libnvrtc.so.13"), "").unwrap();
        std::fs::write(cu13.join("bin/ptxas"), "").unwrap();
        let home_s = home.display().to_string();
        let env = |k: &str| (k == "CUDA_HOME").then(|| home_s.clone());
        let roots = candidate_roots(&env, &[site.clone(), tmp.path().join("missing")]);
        assert_eq!(roots[0], home);
        assert!(roots.contains(&cu13));
        assert!(!roots.iter().any(|r| r.ends_with("missing")));
        assert_eq!(nvrtc_library(&roots), Some(cu13.join("lib/libnvrtc.so.13")));
        assert_eq!(ptxas(&roots), Some(cu13.join("bin/ptxas")));
        assert_eq!(
            include_dirs(&roots),
            vec![home.join("include"), cu13.join("include")]
        );
    }
}
