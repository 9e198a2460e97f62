//! `orac ab` on a real git repository: an A/A run flags nothing, a head kernel doing ~10%
//! more work is flagged slower.

mod common;

use std::path::Path;

use common::*;

/// A repository whose first commit holds the kernels and whose second makes the naive GEMM
/// recompute its first 10% of rows (same output, ~10% more work).
fn repo_with_slower_head() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_kernels(tmp.path());
    git(tmp.path(), &["init", "-q"]);
    git(tmp.path(), &["add", "."]);
    git(tmp.path(), &["commit", "-q", "-m", "base"]);
    git(tmp.path(), &["tag", "base"]);
    let path = tmp.path().join("kernels/cpu/gemm_naive.c");
    let source = std::fs::read_to_string(&path).unwrap();
    let slower = naive_gemm_doing_more_work(&source, 10);
    std::fs::write(&path, slower).unwrap();
    git(
        tmp.path(),
        &["commit", "-q", "-am", "naive gemm does 10% more work"],
    );
    tmp
}

fn ab(repo: &Path, base: &str, head: &str, extra: &[&str]) -> (std::process::Output, String) {
    let json = repo.join(format!("ab-{base}-{head}.json"));
    let mut args = vec![
        "ab",
        "--repo",
        repo.to_str().unwrap(),
        "--base",
        base,
        "--head",
        head,
        "--filter",
        "^gemm/naive/f32/m128n128k128$",
        "--json-out",
        json.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = orac(repo, &args);
    let report = std::fs::read_to_string(&json).unwrap_or_default();
    (out, report)
}

fn verdict(report: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(report).expect("JSON report");
    v["entries"][0]["verdict"].as_str().unwrap().to_string()
}

#[test]
fn a_a_flags_nothing() {
    let repo = repo_with_slower_head();
    let (out, report) = ab(repo.path(), "base", "base", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = verdict(&report);
    assert!(v == "unchanged" || v == "ambiguous", "A/A gave {v}");
}

#[test]
fn ten_percent_more_work_is_flagged_slower() {
    let repo = repo_with_slower_head();
    let (out, report) = ab(repo.path(), "base", "HEAD", &["--markdown-out", "pr.md"]);
    assert_eq!(out.status.code(), Some(1), "{}\n{report}", stderr(&out));
    assert_eq!(verdict(&report), "slower");
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    let ratio = v["entries"][0]["ratio"].as_f64().unwrap();
    assert!((1.04..1.25).contains(&ratio), "ratio {ratio}");
    assert!(stderr(&out).contains("regression: 1 slower"));
    let md = std::fs::read_to_string(repo.path().join("pr.md")).unwrap();
    assert!(md.starts_with("<!-- orac:compare -->"));
    assert!(md.contains("**slower**"));
}

#[test]
fn changed_only_skips_untouched_kernels() {
    let repo = repo_with_slower_head();
    let out = orac(
        repo.path(),
        &[
            "ab",
            "--base",
            "base",
            "--head",
            "HEAD",
            "--changed-only",
            "--filter",
            "^gemm/blocked/f32/m128n128k128$",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no kernel changed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_revision_is_a_usage_error() {
    let repo = repo_with_slower_head();
    let out = orac(repo.path(), &["ab", "--base", "nope", "--head", "HEAD"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown git revision 'nope'"));
}

/// A head whose naive GEMM dereferences null on entry: in worker processes the gate still
/// reports, with that benchmark `failed` (its reason named) and the untouched one measured.
#[test]
fn a_crashing_head_kernel_fails_its_benchmark_not_the_gate() {
    let tmp = tempfile::tempdir().unwrap();
    copy_kernels(tmp.path());
    git(tmp.path(), &["init", "-q"]);
    git(tmp.path(), &["add", "."]);
    git(tmp.path(), &["commit", "-q", "-m", "base"]);
    git(tmp.path(), &["tag", "base"]);
    let path = tmp.path().join("kernels/cpu/gemm_naive.c");
    let source = std::fs::read_to_string(&path).unwrap();
    let crashing = naive_gemm_crashing(&source);
    std::fs::write(&path, crashing).unwrap();
    git(tmp.path(), &["commit", "-q", "-am", "naive gemm crashes"]);

    let json = tmp.path().join("ab.json");
    let out = orac(
        tmp.path(),
        &[
            "ab",
            "--base",
            "base",
            "--head",
            "HEAD",
            "--filter",
            "^gemm/(naive|blocked)/f32/m128n128k128$",
            "--max-time",
            "0.05",
            "--json-out",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let entry = |id: &str| {
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing from {v}"))
            .clone()
    };
    let naive = entry("gemm/naive/f32/m128n128k128");
    assert_eq!(naive["verdict"], "failed");
    assert!(
        naive["note"].as_str().unwrap().contains("SIGSEGV"),
        "{naive}"
    );
    let blocked = entry("gemm/blocked/f32/m128n128k128");
    assert!(
        blocked["base_median"].as_f64().is_some(),
        "measured: {blocked}"
    );
    assert_ne!(blocked["verdict"], "failed");
}

/// The reverse: the base crashes and the pull request fixes it. The dead worker was running
/// the base kernel, so the PR is not blamed and the gate passes.
#[test]
fn a_crashing_base_kernel_does_not_fail_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    copy_kernels(tmp.path());
    let path = tmp.path().join("kernels/cpu/gemm_naive.c");
    let source = std::fs::read_to_string(&path).unwrap();
    let crashing = naive_gemm_crashing(&source);
    std::fs::write(&path, &crashing).unwrap();
    git(tmp.path(), &["init", "-q"]);
    git(tmp.path(), &["add", "."]);
    git(tmp.path(), &["commit", "-q", "-m", "naive gemm crashes"]);
    git(tmp.path(), &["tag", "base"]);
    std::fs::write(&path, &source).unwrap();
    git(tmp.path(), &["commit", "-q", "-am", "fix the crash"]);

    let json = tmp.path().join("ab.json");
    let out = orac(
        tmp.path(),
        &[
            "ab",
            "--base",
            "base",
            "--head",
            "HEAD",
            "--filter",
            "^gemm/naive/f32/m128n128k128$",
            "--max-time",
            "0.05",
            "--json-out",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let naive = &v["entries"][0];
    assert_ne!(naive["verdict"], "failed", "{naive}");
    assert!(
        naive["note"].as_str().unwrap_or("").contains("base kernel"),
        "{naive}"
    );
}
