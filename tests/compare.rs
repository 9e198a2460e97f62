//! `orac compare` and `orac baseline` end to end on stored CPU runs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const BENCH: &str = "^gemm/blocked/f32/m128n128k128$";

/// A git repository (so runs carry a commit) holding `n` quick runs of one benchmark.
fn repo_with_runs(n: usize) -> (tempfile::TempDir, Vec<PathBuf>) {
    let tmp = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=orac", "-c", "user.email=orac@example.com"])
            .args(args)
            .current_dir(tmp.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    };
    std::fs::write(tmp.path().join("README"), "x").unwrap();
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "first"]);
    for _ in 0..n {
        let out = orac(
            tmp.path(),
            &["run", "--filter", BENCH, "--max-time", "0.05"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let runs = run_files(&tmp.path().join("results"));
    assert_eq!(runs.len(), n);
    (tmp, runs)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn compare_two_runs_writes_all_three_reports() {
    let (tmp, runs) = repo_with_runs(2);
    let md = tmp.path().join("c.md");
    let out = orac(
        tmp.path(),
        &[
            "compare",
            s(&runs[0]),
            s(&runs[1]),
            "--fail-on",
            "failed",
            "--format",
            "json",
            "--markdown-out",
            s(&md),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mode"], "independent");
    let entry = &v["entries"][0];
    assert_eq!(entry["id"], "gemm/blocked/f32/m128n128k128");
    assert_eq!(entry["noise_source"], "within_run");
    assert!(entry["ci_low"].as_f64().unwrap() <= entry["ci_high"].as_f64().unwrap());
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("no run-to-run history")
    );
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .starts_with("<!-- orac:compare -->")
    );
}

#[test]
fn a_git_revision_names_the_runs_of_that_commit() {
    let (tmp, runs) = repo_with_runs(1);
    let out = orac(tmp.path(), &["compare", "HEAD", s(&runs[0])]);
    // The same run on both sides: a ratio of exactly one, never a regression.
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("+0.00%"), "{}", stdout(&out));
    let out = orac(tmp.path(), &["compare", "no-such-thing", s(&runs[0])]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a results file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn baseline_from_five_runs_has_history_noise_and_gates_a_run() {
    let (tmp, runs) = repo_with_runs(5);
    let out = orac(tmp.path(), &["baseline", "set", "results"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("history"), "{}", stdout(&out));
    let file = std::fs::read_dir(tmp.path().join("baselines"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let entry = &b["benchmarks"]["gemm/blocked/f32/m128n128k128"];
    assert_eq!(entry["noise_source"], "history");
    assert_eq!(entry["runs"], 5);
    assert!(entry["points"].as_array().unwrap().len() <= 50);

    let out = orac(
        tmp.path(),
        &["compare", "baseline", s(&runs[4]), "--fail-on", "failed"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("gemm/blocked/f32/m128n128k128"));

    let key = file.file_stem().unwrap().to_str().unwrap().to_string();
    let out = orac(tmp.path(), &["baseline", "show", "--hardware", &key]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn missing_or_corrupt_baseline_is_a_usage_error_naming_it() {
    let (tmp, runs) = repo_with_runs(1);
    let out = orac(tmp.path(), &["compare", "baseline", s(&runs[0])]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("baseline set"), "{}", stderr(&out));

    let key = runs[0]
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    std::fs::create_dir_all(tmp.path().join("baselines")).unwrap();
    let path = tmp.path().join("baselines").join(format!("{key}.json"));
    std::fs::write(&path, "{\"schema_version\": 1, \"hardware_key\"").unwrap();
    let out = orac(tmp.path(), &["compare", "baseline", s(&runs[0])]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("{key}.json")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn runs_from_different_hardware_are_refused_unless_allowed() {
    let (tmp, runs) = repo_with_runs(1);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&runs[0]).unwrap()).unwrap();
    v["hardware"]["key"] = "cpu-other-x64".into();
    let other = tmp.path().join("other.json");
    std::fs::write(&other, v.to_string()).unwrap();
    let out = orac(tmp.path(), &["compare", s(&runs[0]), s(&other)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--allow-cross-hardware"));
    let out = orac(
        tmp.path(),
        &["compare", s(&runs[0]), s(&other), "--allow-cross-hardware"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("compared across hardware"));
}

#[test]
fn bad_gate_flags_are_usage_errors() {
    let (tmp, runs) = repo_with_runs(1);
    for (flag, value, message) in [
        ("--fail-on", "sloer", "unknown verdict 'sloer'"),
        ("--alpha", "2", "--alpha 2"),
    ] {
        let out = orac(
            tmp.path(),
            &["compare", s(&runs[0]), s(&runs[0]), flag, value],
        );
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(stderr(&out).contains(message), "{}", stderr(&out));
    }
}
