//! Faults that must cost one benchmark, not the run: crashing and hanging kernels, a
//! killed or interrupted run finished with --resume, concurrent runs in one directory.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use orac::store::{Status, load_run};

const CRASH: &str = "void orac_gemm_test(const float *A, const float *B, float *C, long M, long N, long K) {\n    *(volatile int *)0 = 1;\n}\n";
const HANG: &str = "void orac_gemm_test(const float *A, const float *B, float *C, long M, long N, long K) {\n    volatile int spin = 1;\n    while (spin) {}\n}\n";

#[test]
fn crashing_and_hanging_kernels_fail_alone_and_the_rest_is_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    add_gemm_kernel(&kernels, "crash", CRASH);
    add_gemm_kernel(&kernels, "hang", HANG);
    let results = tmp.path().join("results");
    let started = Instant::now();
    let out = orac(
        &repo(),
        &[
            "--kernels",
            kernels.to_str().unwrap(),
            "run",
            "--filter",
            "^gemm/(blocked|crash|hang)/f32/m128n128",
            "--results-dir",
            results.to_str().unwrap(),
            "--max-time",
            "0.05",
            "--timeout",
            "2",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(60));
    let files = run_files(&results);
    assert_eq!(files.len(), 1, "saved despite a crash and a hang");
    let run = load_run(&files[0]).unwrap();
    let get = |k: &str| run.benchmarks.iter().find(|b| b.kernel == k).unwrap();
    assert_eq!(get("blocked").status, Status::Ok);
    assert!(!get("blocked").samples.is_empty());
    let crash = get("crash").error.clone().unwrap();
    assert!(crash.contains("SIGSEGV"), "{crash}");
    let hang = get("hang").error.clone().unwrap();
    assert!(hang.contains("timed out after 2 s"), "{hang}");
}

/// `orac verify` checks in worker processes too: a crash and a hang fail their own checks,
/// and the others are still checked and reported.
#[test]
fn verify_survives_crashing_and_hanging_kernels() {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    add_gemm_kernel(&kernels, "crash", CRASH);
    add_gemm_kernel(&kernels, "hang", HANG);
    let out = orac(
        &repo(),
        &[
            "--kernels",
            kernels.to_str().unwrap(),
            "verify",
            "--filter",
            "^gemm/(blocked|crash|hang)/f32/m128n128",
            "--timeout",
            "2",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let table = stdout(&out);
    let line = |k: &str| {
        table
            .lines()
            .find(|l| l.contains(&format!("gemm/{k}/")))
            .unwrap_or_else(|| panic!("{k} missing from:\n{table}"))
            .to_string()
    };
    assert!(line("blocked").contains("ok (err"), "{table}");
    assert!(line("crash").contains("SIGSEGV"), "{table}");
    assert!(line("hang").contains("timed out after 2 s"), "{table}");
}

fn spawn_run(cwd: &Path, results: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_orac"))
        .args(["run", "--results-dir", results.to_str().unwrap()])
        .args(extra)
        .current_dir(cwd)
        .env(
            "ORAC_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("kernel-cache"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The journal of the run in progress, once it holds `results` finished benchmarks.
fn wait_for_journal(results: &Path, results_wanted: usize) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no journal progress");
        for dir in std::fs::read_dir(results).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(dir.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let path = f.path();
                if path.to_string_lossy().ends_with(".journal") {
                    let lines = std::fs::read_to_string(&path).unwrap_or_default();
                    if lines.lines().count() > results_wanted {
                        return path;
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

const SLOW_SET: [&str; 6] = [
    "--filter",
    "^gemm/naive/",
    "--max-time",
    "0.3",
    "--isolation",
    "benchmark",
];

fn resume_and_check(tmp: &Path, results: &Path, journal: &Path) {
    let journaled: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(journal)
            .unwrap()
            .lines()
            .nth(1)
            .unwrap(),
    )
    .unwrap();
    let out = orac(
        tmp,
        &[
            "run",
            "--resume",
            "--results-dir",
            results.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("already done"), "{}", stderr(&out));
    assert!(
        !journal.exists(),
        "the journal is removed once the run is saved"
    );
    let files = run_files(results);
    assert_eq!(files.len(), 1);
    let run = load_run(&files[0]).unwrap();
    let ids: Vec<&str> = run.benchmarks.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "gemm/naive/f32/m128n128k128",
            "gemm/naive/f32/m256n256k256",
            "gemm/naive/f32/m200n136k72"
        ]
    );
    assert!(run.benchmarks.iter().all(|b| b.status == Status::Ok));
    // The benchmark finished before the interruption was kept, not measured again.
    let first = run
        .benchmarks
        .iter()
        .find(|b| b.id == journaled["id"])
        .unwrap();
    assert_eq!(
        serde_json::to_value(&first.samples).unwrap(),
        journaled["samples"]
    );
}

#[test]
fn a_killed_run_resumes_without_rerunning_finished_benchmarks() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let mut child = spawn_run(tmp.path(), &results, &SLOW_SET);
    let journal = wait_for_journal(&results, 1);
    child.kill().unwrap(); // SIGKILL: no cleanup at all, like an OOM kill
    child.wait().unwrap();
    assert!(run_files(&results).is_empty(), "no final record yet");
    resume_and_check(tmp.path(), &results, &journal);
}

#[test]
fn ctrl_c_stops_cleanly_and_keeps_what_was_measured() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let child = spawn_run(tmp.path(), &results, &SLOW_SET);
    let journal = wait_for_journal(&results, 1);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("--resume"), "{}", stderr(&out));
    assert!(journal.exists());
    resume_and_check(tmp.path(), &results, &journal);
}

#[test]
fn two_concurrent_runs_in_one_directory_both_land_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let args = [
        "--filter",
        "^gemm/blocked/f32/m128n128",
        "--max-time",
        "0.1",
    ];
    let a = spawn_run(tmp.path(), &results, &args);
    let b = spawn_run(tmp.path(), &results, &args);
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let files = run_files(&results);
    assert_eq!(files.len(), 2, "{files:?}");
    for f in files {
        let run = load_run(&f).unwrap();
        assert_eq!(run.benchmarks.len(), 1);
        assert_eq!(run.benchmarks[0].status, Status::Ok);
    }
}

#[test]
fn resume_without_an_interrupted_run_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = orac(tmp.path(), &["run", "--resume"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no interrupted run"),
        "{}",
        stderr(&out)
    );
}
