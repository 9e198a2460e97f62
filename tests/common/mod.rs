//! Helpers shared by the integration tests: run the real `orac` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where `kernels/` lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `orac args…` in `cwd`, with the kernel cache kept under the target directory.
pub fn orac(cwd: &Path, args: &[&str]) -> Output {
    orac_with_env(cwd, args, &[])
}

pub fn orac_with_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orac"));
    cmd.args(args)
        .current_dir(cwd)
        .env(
            "ORAC_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("kernel-cache"),
        )
        .env_remove("CC")
        // The tests run many orac processes at once on two cores: they contend by design,
        // and only the contention tests ask for the check.
        .env("ORAC_CONTENTION", "ignore");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run orac")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every `*.json` run file under `results`.
pub fn run_files(results: &Path) -> Vec<PathBuf> {
    orac::store::find_runs(results).expect("list runs")
}

/// A copy of the repository's `kernels/` directory to modify.
pub fn copy_kernels(to: &Path) -> PathBuf {
    let dest = to.join("kernels");
    copy_dir(&repo().join("kernels"), &dest);
    dest
}

/// Copies the directory `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Adds a GEMM kernel named `name` with C source `source` to a copied kernel tree.
pub fn add_gemm_kernel(kernels: &Path, name: &str, source: &str) {
    let file = format!("{}.c", name.replace('-', "_"));
    std::fs::write(kernels.join("cpu").join(&file), source).unwrap();
    let manifest = kernels.join("cpu/manifest.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(&format!(
        "\n[[kernel]]\nname = \"{name}\"\nop = \"gemm\"\ndtype = \"f32\"\nsource = \"{file}\"\nentry = \"orac_gemm_test\"\n"
    ));
    std::fs::write(manifest, text).unwrap();
}

/// Runs `git args…` in `repo` (with a committer identity), asserting success; its stdout.
pub fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=orac", "-c", "user.email=orac@example.com"])
        .args(args)
        .current_dir(repo)
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    stdout(&out).trim().to_string()
}

/// The row loop of `kernels/cpu/gemm_naive.c`, where the tests below edit it.
const NAIVE_GEMM_ROW_LOOP: &str = "    for (long i = 0; i < M; i++) {";

fn edit_naive_gemm(source: &str, with: &str) -> String {
    let edited = source.replacen(NAIVE_GEMM_ROW_LOOP, with, 1);
    assert_ne!(
        source, edited,
        "the kernel source changed shape: update tests/common"
    );
    edited
}

/// The naive GEMM recomputing its first M / `divisor` rows: same output, more work.
pub fn naive_gemm_doing_more_work(source: &str, divisor: u32) -> String {
    edit_naive_gemm(
        source,
        &format!(
            "    for (long r = 0; r < M + M / {divisor}; r++) {{\n        long i = r < M ? r : r - M;"
        ),
    )
}

/// The naive GEMM writing through a null pointer on entry.
pub fn naive_gemm_crashing(source: &str) -> String {
    edit_naive_gemm(
        source,
        &format!("    *(volatile int *)0 = 0;\n{NAIVE_GEMM_ROW_LOOP}"),
    )
}
