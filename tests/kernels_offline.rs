//! `orac kernels`, the offline CUDA check. These need libnvrtc and ptxas, which `.ci/run`
//! installs from the `nvidia-cuda-nvrtc` / `nvidia-cuda-nvcc` Python packages and then runs
//! with `--ignored`; no GPU is needed.

mod common;

use std::path::Path;

use common::*;

const NEEDS: &str = "needs libnvrtc and ptxas (pip install nvidia-cuda-nvrtc nvidia-cuda-nvcc); .ci/run installs them and runs these";

/// `orac kernels` (with `args`, e.g. `--arch sm_90`) over the built-in kernels plus one CUDA
/// GEMM kernel `name` (see [`add_cuda_kernel`]).
fn check_with_kernel(name: &str, source: &str, extra: &str, args: &[&str]) -> std::process::Output {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    add_cuda_kernel(&kernels, name, source, extra);
    let mut all = vec!["--kernels", kernels.to_str().unwrap(), "kernels"];
    all.extend_from_slice(args);
    orac(&repo(), &all)
}

/// Adds a CUDA GEMM kernel to a copied tree.
fn add_cuda_kernel(kernels: &Path, name: &str, source: &str, extra: &str) {
    let file = format!("{}.cu", name.replace('-', "_"));
    std::fs::write(kernels.join("cuda").join(&file), source).unwrap();
    let manifest = kernels.join("cuda/manifest.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(&format!(
        "\n[[kernel]]\nname = \"{name}\"\nop = \"gemm\"\ndtype = \"f32\"\nsource = \"{file}\"\nentry = \"orac_test\"\nblock = [32, 1, 1]\ngrid = \"tiles:32x1\"\n{extra}\n"
    ));
    std::fs::write(manifest, text).unwrap();
}

#[test]
#[ignore = "needs libnvrtc and ptxas (pip install nvidia-cuda-nvrtc nvidia-cuda-nvcc); .ci/run installs them and runs these"]
fn every_builtin_kernel_compiles_for_sm80_and_sm90() {
    let _ = NEEDS;
    let out = orac(&repo(), &["kernels"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    for kernel in [
        "memcpy/copy-vec",
        "memcpy/copy-vec-flat",
        "memcpy/copy-scalar",
        "memcpy/triad",
        "gemm/naive",
        "gemm/tiled",
        "gemm/regblock",
        "gemm/wmma",
        "gemm/mma",
        "attention/unfused",
        "attention/rowwise",
        "attention/flash",
        "attention/decode",
    ] {
        for arch in ["sm_80", "sm_90"] {
            assert!(
                table
                    .lines()
                    .any(|l| l.contains(kernel) && l.contains(arch) && l.contains("compiled")),
                "{kernel} {arch}:\n{table}"
            );
        }
    }
    assert!(table.contains("not yet verified or timed on a GPU"));
    // The sm_90a kernel: built as sm_90a where sm_90 was asked for, not built for sm_80.
    assert!(
        table
            .lines()
            .any(|l| l.contains("gemm/wgmma") && l.contains("sm_90a") && l.contains("compiled")),
        "{table}"
    );
    assert!(
        table.lines().any(|l| l.contains("gemm/wgmma")
            && l.contains("sm_80")
            && l.contains("not built: written for sm_90a")),
        "{table}"
    );
    // The tensor-core tiers really use tensor cores: HMMA in their SASS, counted per row.
    for kernel in ["gemm/wmma", "gemm/mma", "gemm/wgmma", "attention/flash"] {
        // rows of the compile table (an arch column), not of the counters table below it
        for line in table
            .lines()
            .filter(|l| l.contains(kernel) && l.contains("│ sm_") && !l.contains("not built"))
        {
            let last = line
                .trim_end_matches('│')
                .trim()
                .rsplit('│')
                .next()
                .unwrap()
                .trim();
            let count: u64 = last
                .parse()
                .unwrap_or_else(|_| panic!("tensor ops of {line}"));
            assert!(count > 0, "{line}");
        }
    }
}

#[test]
#[ignore = "needs libnvrtc, ptxas and nvdisasm (pip install nvidia-cuda-nvrtc nvidia-cuda-nvcc nvidia-cuda-nvdisasm); .ci/run installs them and runs these"]
fn a_kernel_declared_tensor_cores_without_them_fails_the_check() {
    let source = r#"
extern "C" __global__ void orac_test(const float *A, const float *B, float *C, int M, int N, int K) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < M * N) C[i] = A[i] * B[i];
}
"#;
    let out = check_with_kernel(
        "plain",
        source,
        "expect = [\"tensor-cores\"]",
        &["--arch", "sm_90"],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("expected tensor-core instructions"),
        "{}",
        stderr(&out)
    );
}

#[test]
#[ignore = "needs libnvrtc and ptxas (pip install nvidia-cuda-nvrtc nvidia-cuda-nvcc); .ci/run installs them and runs these"]
fn shared_memory_beyond_the_architectures_limit_fails_the_check() {
    let source = r#"
extern "C" __global__ void orac_test(const float *A, const float *B, float *C, int M, int N, int K) {
    extern __shared__ float tile[];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    tile[threadIdx.x] = A[i];
    __syncthreads();
    if (i < M * N) C[i] = tile[threadIdx.x] * B[i];
}
"#;
    // 200 KiB: fits an H100's 227 KiB, not an A100's 163 KiB.
    let out = check_with_kernel("greedy", source, "dynamic_shared_bytes = 204800", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("gemm/greedy [sm_80]") && err.contains("the architecture allows 166912"),
        "{err}"
    );
    assert!(!err.contains("gemm/greedy [sm_90]"), "{err}");
}

#[test]
#[ignore = "needs libnvrtc and ptxas (pip install nvidia-cuda-nvrtc nvidia-cuda-nvcc); .ci/run installs them and runs these"]
fn a_kernel_that_does_not_compile_fails_with_nvrtc_log() {
    let out = check_with_kernel(
        "broken",
        "extern \"C\" __global__ void orac_test(float *C) { C[0] = undeclared_name; }\n",
        "",
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("cuda/broken.cu"), "{err}");
    assert!(
        err.contains("undeclared_name"),
        "NVRTC's own message: {err}"
    );
    assert!(stdout(&out).contains("COMPILE ERROR"));
}

#[test]
#[ignore = "needs libnvrtc and ptxas (pip install nvidia-cuda-nvrtc nvidia-cuda-nvcc); .ci/run installs them and runs these"]
fn a_broken_expectation_fails_the_check() {
    // 64 live accumulators under a 32-register cap (1024 threads, 2 blocks per SM): ptxas
    // must spill. Register caps belong in the source, where the PTX keeps them.
    let source = r#"
extern "C" __global__ void __launch_bounds__(1024, 2) orac_test(const float *A, float *C, int n) {
    float acc[64];
#pragma unroll
    for (int j = 0; j < 64; ++j) acc[j] = A[threadIdx.x + j];
    for (int i = 0; i < n; ++i) {
#pragma unroll
        for (int j = 0; j < 64; ++j) acc[j] = acc[j] * A[i] + acc[(j + 1) % 64];
    }
    float s = 0.0f;
#pragma unroll
    for (int j = 0; j < 64; ++j) s += acc[j];
    C[threadIdx.x] = s;
}
"#;
    let out = check_with_kernel(
        "spills",
        source,
        "expect = [\"no-spills\"]",
        &["--arch", "sm_90"],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("expected no spills"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("EXPECTATION FAILED"));
}

#[test]
fn without_nvrtc_the_check_says_how_to_install_it() {
    // Only meaningful where no toolkit is reachable; elsewhere it checks nothing.
    let empty = tempfile::tempdir().unwrap();
    let out = orac_with_env(
        &repo(),
        &["kernels"],
        &[
            ("ORAC_CUDA_HOME", empty.path().to_str().unwrap()),
            ("CUDA_HOME", empty.path().to_str().unwrap()),
            ("PATH", "/usr/bin:/bin"),
        ],
    );
    if out.status.code() == Some(4) {
        assert!(
            stderr(&out).contains("pip install nvidia-cuda-nvrtc"),
            "{}",
            stderr(&out)
        );
    }
}

/// What the CUDA backend loads on a GPU: a CUBIN for the device's own architecture (the
/// driver would refuse PTX from an NVRTC newer than itself). Every kernel must produce one.
#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn every_builtin_kernel_compiles_to_a_cubin_for_sm90() {
    use orac::kernels::{KernelTree, load_manifest};
    use orac::toolchain::{nvrtc, toolkit};
    let toolkit = toolkit::Toolkit::discover(None);
    nvrtc::ensure_loaded(&toolkit).expect("libnvrtc");
    let includes = toolkit.include_dirs();
    let specs = load_manifest(&KernelTree::Embedded, "cuda").unwrap();
    let mut compiled = 0;
    for spec in specs.iter().filter(|s| s.vendor.is_none()) {
        // An sm_90a kernel builds for sm_90a on an sm_90 device.
        let arch = spec.arch_for("sm_90").expect("every kernel runs on sm_90");
        let cubin = nvrtc::compile_cubin(
            &spec.source,
            &spec.source_path,
            &spec.name,
            &arch,
            &includes,
            &spec.flags,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        assert_eq!(&cubin[..4], b"\x7fELF", "{} is not an ELF cubin", spec.name);
        compiled += 1;
    }
    assert!(compiled >= 8);
    // A compile error still carries NVRTC's log.
    let err = nvrtc::compile_cubin(
        "extern \"C\" __global__ void f() { nope; }",
        "cuda/bad.cu",
        "bad",
        "sm_90",
        &includes,
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("nope") && err.contains("cuda/bad.cu"), "{err}");
}

/// What a PTX emulator loads: every built-in kernel's PTX for sm_90a, from NVRTC alone,
/// with every entry its launch plans call.
#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn every_builtin_kernel_compiles_to_ptx_for_sm90a_without_a_gpu() {
    use orac::kernels::{KernelTree, load_manifest};
    let specs = load_manifest(&KernelTree::Embedded, "cuda").unwrap();
    for spec in specs.iter().filter(|s| s.vendor.is_none()) {
        let ptx = orac::toolchain::compile_kernel_ptx(spec, "sm_90a")
            .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        assert!(ptx.contains(".target sm_90a"), "{}", spec.name);
        for stage in &spec.stages {
            assert!(
                ptx.contains(&format!(".entry {}(", stage.entry)),
                "{}: no entry {}",
                spec.name,
                stage.entry
            );
        }
    }
}

/// The GPU experiments' fixtures (ci/gpu-experiments.sh): the slowed copy kernel of the A/B
/// repository and the faulting and spinning kernels compile, so a GPU session's time goes
/// to the experiments, not to fixing their inputs.
#[test]
#[ignore = "needs libnvrtc and ptxas (pip install nvidia-cuda-nvrtc nvidia-cuda-nvcc); .ci/run installs them and runs these"]
fn the_gpu_experiment_fixtures_compile() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let prepared = std::process::Command::new("bash")
        .arg(repo().join("ci/gpu-experiments.sh"))
        .arg(&out)
        .arg(env!("CARGO_BIN_EXE_orac"))
        .env("ORAC_EXPERIMENTS_PREPARE_ONLY", "1")
        .output()
        .unwrap();
    assert!(prepared.status.success(), "{}", stderr(&prepared));
    // The head commit changes exactly the copy kernel.
    let changed = git(
        &out.join("ab-repo"),
        &["diff", "--name-only", "base", "HEAD"],
    );
    assert_eq!(changed.trim(), "kernels/cuda/copy_vec.cu");
    // The verdict section's +3% plants: the copy and the tiled GEMM, nothing else.
    let planted = git(
        &out.join("ab-repo"),
        &["diff", "--name-only", "base", "plant3"],
    );
    assert_eq!(
        planted.trim(),
        "kernels/cuda/copy_vec.cu\nkernels/cuda/gemm_tiled.cu"
    );
    let plants = tmp.path().join("plants");
    git(
        &out.join("ab-repo"),
        &["worktree", "add", "-q", plants.to_str().unwrap(), "plant3"],
    );
    for (dir, kernels) in [
        (out.join("ab-repo/kernels"), vec!["memcpy/copy-vec"]),
        (
            plants.join("kernels"),
            vec!["memcpy/copy-vec", "gemm/tiled"],
        ),
        (
            out.join("fault-kernels"),
            vec!["memcpy/fault-oob", "memcpy/fault-spin"],
        ),
    ] {
        let built = orac(
            &repo(),
            &[
                "--kernels",
                dir.to_str().unwrap(),
                "kernels",
                "--arch",
                "sm_90",
            ],
        );
        assert!(built.status.success(), "{}", stderr(&built));
        let table = stdout(&built);
        for k in kernels {
            assert!(
                table
                    .lines()
                    .any(|l| l.contains(k) && l.contains("compiled")),
                "{k}: {table}"
            );
        }
    }
}

/// The L2 read pass the CUDA backend runs before each sample compiles for every
/// architecture orac targets (checked as a kernel of a copied tree: only the compile counts).
#[test]
#[ignore = "needs libnvrtc and ptxas (pip install nvidia-cuda-nvrtc nvidia-cuda-nvcc); .ci/run installs them and runs these"]
fn the_l2_read_pass_compiles() {
    let source = orac::backend::cuda::l2::READ_SOURCE.replace("orac_l2_read", "orac_test");
    let out = check_with_kernel("l2-read", &source, "", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("gemm/l2-read"), "{}", stdout(&out));
}
