//! How orac compiles and loads kernel code: a private cache, libraries loaded only if their
//! bytes are the ones orac built, broken cache entries rebuilt, manifest flags allowlisted,
//! compile logs free of host paths.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use sha2::{Digest, Sha256};

const FILTER: &str = "^gemm/naive/f32/m128n128k128$";

/// `orac verify` of one small GEMM with the kernel cache in `cache`.
fn verify_with_cache(cache: &Path) -> Output {
    orac_with_env(
        &repo(),
        &["verify", "--backend", "cpu", "--filter", FILTER],
        &[("ORAC_CACHE_DIR", cache.to_str().unwrap())],
    )
}

/// The one cached library of the naive GEMM in `cache`.
fn naive_library(cache: &Path) -> PathBuf {
    let libs: Vec<PathBuf> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("gemm-naive-") && name.ends_with(".so")
        })
        .collect();
    assert_eq!(libs.len(), 1, "{libs:?}");
    libs.into_iter().next().unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn assert_verified(out: &Output) {
    assert!(out.status.success(), "{}\n{}", stdout(out), stderr(out));
    assert!(stdout(out).contains("gemm/naive/f32/m128n128k128"));
}

/// The library and its recorded hash agree: what orac built, not what was planted.
fn assert_rebuilt(lib: &Path) {
    let bytes = std::fs::read(lib).unwrap();
    let recorded = std::fs::read_to_string(format!("{}.sha256", lib.display())).unwrap();
    assert_eq!(sha256_hex(&bytes), recorded.trim());
}

#[test]
fn a_cache_directory_others_can_write_is_refused_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = verify_with_cache(&cache);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(cache.to_str().unwrap()),
        "names the dir: {err}"
    );
    assert!(
        err.contains("chmod 700") && err.contains("ORAC_CACHE_DIR"),
        "says how to fix it: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    // A fresh cache is created private, parents included.
    let fresh = tmp.path().join("new/kernels");
    assert_verified(&verify_with_cache(&fresh));
    for dir in [tmp.path().join("new"), fresh.clone()] {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
    }
}

#[test]
fn a_planted_or_tampered_cached_kernel_is_rebuilt_not_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    assert_verified(&verify_with_cache(&cache));
    let lib = naive_library(&cache);
    assert_rebuilt(&lib);

    // Someone swaps in a library whose constructor leaves a mark: it must never run.
    let marker = tmp.path().join("constructor-ran");
    let planted_src = tmp.path().join("planted.c");
    std::fs::write(
        &planted_src,
        format!(
            "#include <stdio.h>\n\
             __attribute__((constructor)) static void planted(void) {{\n\
                 FILE *f = fopen(\"{}\", \"w\"); if (f) fclose(f);\n\
             }}\n\
             void orac_gemm_naive(const float *a, const float *b, float *c, long m, long n, long k) {{}}\n",
            marker.display()
        ),
    )
    .unwrap();
    let cc = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&planted_src)
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let planted = std::fs::read(&lib).unwrap();
    let out = verify_with_cache(&cache);
    assert_verified(&out);
    assert!(!marker.exists(), "the planted library was loaded");
    assert!(
        stderr(&out).contains("does not match the hash"),
        "says why it rebuilt: {}",
        stderr(&out)
    );
    assert_ne!(std::fs::read(&lib).unwrap(), planted);
    assert_rebuilt(&lib);

    // Bytes changed in place, as by a disk error or a half-finished edit.
    let mut bytes = std::fs::read(&lib).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&lib, &bytes).unwrap();
    assert_verified(&verify_with_cache(&cache));
    assert_rebuilt(&lib);
}

#[test]
fn a_zero_byte_cached_kernel_is_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    assert_verified(&verify_with_cache(&cache));
    let lib = naive_library(&cache);

    // Truncated by a crash (or left by an orac that did not fsync): its hash no longer
    // matches.
    std::fs::write(&lib, b"").unwrap();
    assert_verified(&verify_with_cache(&cache));
    assert_rebuilt(&lib);
    assert!(std::fs::metadata(&lib).unwrap().len() > 0);

    // Empty, with a hash that matches: loading fails, so it is deleted and rebuilt once.
    std::fs::write(&lib, b"").unwrap();
    std::fs::write(format!("{}.sha256", lib.display()), sha256_hex(b"")).unwrap();
    let out = verify_with_cache(&cache);
    assert_verified(&out);
    assert!(
        stderr(&out).contains("failed to load") && stderr(&out).contains("rebuilding"),
        "says it rebuilt: {}",
        stderr(&out)
    );
    assert_rebuilt(&lib);
    assert!(std::fs::metadata(&lib).unwrap().len() > 0);
}

#[test]
fn a_manifest_flag_that_runs_commands_is_refused_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    add_gemm_kernel(&kernels, "wrapped", "void orac_gemm_test(void) {}\n");
    let manifest = kernels.join("cpu/manifest.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    // Appended to the kernel add_gemm_kernel just declared.
    text.push_str("flags = [\"-O2\", \"-wrapper\", \"/bin/sh,-c,touch /tmp/pwned\"]\n");
    std::fs::write(&manifest, text).unwrap();
    let out = orac(
        &repo(),
        &[
            "--kernels",
            kernels.to_str().unwrap(),
            "verify",
            "--backend",
            "cpu",
            "--filter",
            "^gemm/wrapped/",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("'-wrapper'") && err.contains("cpu/manifest.toml"),
        "names the flag and the manifest: {err}"
    );
    assert!(err.contains("kernel 'wrapped'"), "{err}");
}

#[test]
fn compile_errors_carry_no_host_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    add_gemm_kernel(
        &kernels,
        "broken",
        "void orac_gemm_test( { this is not C }\n",
    );
    // Compiles, but lacks its entry: the load error used to name the cache's host path.
    add_gemm_kernel(&kernels, "no-entry", "void orac_gemm_other(void) {}\n");
    let cache = tmp.path().join("cache");
    let results = tmp.path().join("results");
    let out = orac_with_env(
        &repo(),
        &[
            "--kernels",
            kernels.to_str().unwrap(),
            "run",
            "--backend",
            "cpu",
            "--filter",
            "^gemm/(broken|no-entry)/f32/m128n128k128$",
            "--results-dir",
            results.to_str().unwrap(),
            "--max-time",
            "0.02",
        ],
        &[("ORAC_CACHE_DIR", cache.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let runs = run_files(&results);
    assert_eq!(runs.len(), 1, "{}", stderr(&out));
    let record = orac::store::load_run(&runs[0]).unwrap();
    let error = |id: &str| {
        let result = record.benchmarks.iter().find(|b| b.id.starts_with(id));
        result.and_then(|b| b.error.clone()).expect("an error text")
    };
    let broken = error("gemm/broken/");
    assert!(broken.contains("failed to compile"), "{broken}");
    assert!(
        broken.contains("cpu/broken.c:"),
        "the compiler names the file as the tree does: {broken}"
    );
    let no_entry = error("gemm/no-entry/");
    assert!(
        no_entry.contains("<cache>/gemm-no-entry-") && no_entry.contains("orac_gemm_test"),
        "{no_entry}"
    );
    let err = stderr(&out);
    let host_paths = [
        tmp.path().to_path_buf(),
        tmp.path().canonicalize().unwrap(),
        cache.clone(),
    ];
    for path in &host_paths {
        let path = path.to_str().unwrap();
        for text in [&broken, &no_entry] {
            assert!(!text.contains(path), "host path {path} in:\n{text}");
        }
        // The compile error as printed; other lines may name the results directory, and the
        // run's provenance warning the --kernels directory the user gave.
        for line in err
            .lines()
            .filter(|l| !l.contains(results.to_str().unwrap()))
            .filter(|l| !l.contains("is not in a git repository"))
        {
            assert!(!line.contains(path), "host path {path} on stderr:\n{err}");
        }
    }
}
