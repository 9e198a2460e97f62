//! Untrusted results files, full disks and crashes at bad moments (docs/RELIABILITY.md):
//! nothing written outside its directory, nothing lost, nothing saved twice.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{orac, orac_with_env, run_files, stderr};
use orac::store::load_run;

/// One small benchmark, quickly.
const QUICK: [&str; 6] = [
    "--backend",
    "cpu",
    "--filter",
    "^memcpy/copy-st/u8/1MiB$|^memcpy/triad/f32/1MiB$",
    "--max-time",
    "0.05",
];

/// A committed run record, as JSON to mutate.
fn committed_run() -> serde_json::Value {
    let path = orac::store::find_runs(&common::repo().join("results"))
        .unwrap()
        .into_iter()
        .next()
        .expect("a committed run in results/");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write_json(path: &Path, v: &serde_json::Value) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
    path.to_path_buf()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_hardware_key_that_climbs_out_of_its_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    let mut run = committed_run();
    let key = format!(
        "./{}{}",
        "../".repeat(12),
        s(&victim).trim_start_matches('/')
    );
    run["hardware"]["key"] = key.clone().into();
    let hostile = write_json(&tmp.path().join("hostile.json"), &run);

    let baselines = tmp.path().join("baselines");
    let out = orac(
        tmp.path(),
        &[
            "baseline",
            "set",
            s(&hostile),
            "--baselines-dir",
            s(&baselines),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("hostile.json"), "{}", stderr(&out));
    assert!(stderr(&out).contains("not a safe name"), "{}", stderr(&out));

    let results = tmp.path().join("results");
    let out = orac(
        tmp.path(),
        &[
            "merge",
            s(&hostile),
            s(&hostile),
            "--results-dir",
            s(&results),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(&victim).unwrap().count(),
        0,
        "nothing written outside"
    );

    // A commit that is not a commit names files too.
    let mut run = committed_run();
    run["git"]["commit"] = "../../x".into();
    let hostile = write_json(&tmp.path().join("commit.json"), &run);
    let out = orac(tmp.path(), &["show", s(&hostile)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not a hex commit"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn zero_times_and_duplicate_ids_are_refused_naming_the_benchmark() {
    let tmp = tempfile::tempdir().unwrap();
    let mut run = committed_run();
    let id = run["benchmarks"][0]["id"].as_str().unwrap().to_string();
    run["benchmarks"][0]["samples"][0] = 0.0.into();
    let zero = write_json(&tmp.path().join("zero.json"), &run);
    let out = orac(tmp.path(), &["show", s(&zero)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(&id), "{}", stderr(&out));

    let mut run = committed_run();
    let first = run["benchmarks"][0].clone();
    run["benchmarks"].as_array_mut().unwrap().push(first);
    let twice = write_json(&tmp.path().join("twice.json"), &run);
    let out = orac(tmp.path(), &["show", s(&twice)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("appears twice"), "{}", stderr(&out));
}

/// Runs orac with a deadline; a hang fails the test instead of stalling CI.
fn orac_within(cwd: &Path, args: &[&str], secs: u64) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_orac"))
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("orac {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn fifos_devices_and_symlinked_directories_neither_hang_nor_count_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let key_dir = results.join("cpu-test-x2");
    let run = committed_run();
    let mut run = run;
    run["hardware"]["key"] = "cpu-test-x2".into();
    write_json(&key_dir.join("20260101T000000Z-abcdef0.json"), &run);
    let fifo = key_dir.join("20260102T000000Z-fifo.json");
    let c = std::ffi::CString::new(s(&fifo)).unwrap();
    // SAFETY: mkfifo on a path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    std::os::unix::fs::symlink("/dev/zero", key_dir.join("20260103T000000Z-zero.json")).unwrap();
    std::os::unix::fs::symlink(&key_dir, results.join("cpu-test-x2-link")).unwrap();

    assert_eq!(run_files(&results).len(), 1, "one regular run, listed once");
    let out = orac_within(tmp.path(), &["runs", "--results-dir", s(&results)], 30);
    assert!(out.status.success(), "{}", stderr(&out));
    for named in [&fifo, &key_dir.join("20260103T000000Z-zero.json")] {
        let out = orac_within(tmp.path(), &["show", s(named)], 30);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("not a regular file"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn samples_round_trip_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let out = orac(
        tmp.path(),
        &[&["run", "--results-dir", s(&results)], &QUICK[..]].concat(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let file = &run_files(&results)[0];
    let text = std::fs::read_to_string(file).unwrap();
    let run = load_run(file).unwrap();
    // Re-serialising what was read gives the same numbers: nothing was rounded on the way.
    let again: serde_json::Value = serde_json::to_value(&run).unwrap();
    let first: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(again["benchmarks"], first["benchmarks"]);
    // And the awkward values too.
    let awkward: [f64; 5] = [
        0.1 + 0.2,
        1.0 / 3.0,
        5e-324,
        1.7976931348623157e308,
        2.2250738585072014e-308,
    ];
    for x in awkward {
        let back: f64 = serde_json::from_str(&serde_json::to_string(&x).unwrap()).unwrap();
        assert_eq!(back.to_bits(), x.to_bits(), "{x:e}");
    }
}

fn journal_of(results: &Path) -> Option<PathBuf> {
    walk(results)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".journal"))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn a_full_disk_keeps_the_run_in_its_journal_and_resume_saves_it_once() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    // The second journal append fails half-written, then the record cannot be written.
    let out = orac_with_env(
        tmp.path(),
        &[&["run", "--results-dir", s(&results)], &QUICK[..]].concat(),
        &[("ORAC_FAULT", "enospc:journal-append@2,enospc:save-run")],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("all 2 results are kept in"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    assert!(run_files(&results).is_empty());
    let journal = journal_of(&results).expect("the journal is kept");
    let text = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(
        text.lines().count(),
        3,
        "header and both results, no torn line"
    );
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );

    let out = orac(
        tmp.path(),
        &["run", "--resume", "--results-dir", s(&results)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2 of 2 benchmarks already done"),
        "{}",
        stderr(&out)
    );
    let files = run_files(&results);
    assert_eq!(files.len(), 1);
    assert_eq!(load_run(&files[0]).unwrap().benchmarks.len(), 2);
    assert!(journal_of(&results).is_none());
}

#[test]
fn a_crash_between_saving_and_removing_the_journal_does_not_duplicate_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let out = orac_with_env(
        tmp.path(),
        &[&["run", "--results-dir", s(&results)], &QUICK[..]].concat(),
        &[("ORAC_FAULT", "abort:after-save")],
    );
    assert!(!out.status.success());
    assert_eq!(run_files(&results).len(), 1);
    assert!(journal_of(&results).is_some());

    let out = orac(
        tmp.path(),
        &["run", "--resume", "--results-dir", s(&results)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("already saved"), "{}", stderr(&out));
    assert_eq!(run_files(&results).len(), 1, "not saved twice");
    assert!(journal_of(&results).is_none());
}

#[test]
fn a_bad_line_in_the_journal_costs_one_benchmark_not_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let out = orac_with_env(
        tmp.path(),
        &[&["run", "--results-dir", s(&results)], &QUICK[..]].concat(),
        &[("ORAC_FAULT", "enospc:save-run")],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let journal = journal_of(&results).unwrap();
    let text = std::fs::read_to_string(&journal).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1] = "{\"id\": \"garbage\"}";
    std::fs::write(&journal, lines.join("\n") + "\n{\"torn").unwrap();

    let out = orac(
        tmp.path(),
        &["run", "--resume", "--results-dir", s(&results)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("line 2: dropped"), "{err}");
    assert!(err.contains("torn last line"), "{err}");
    assert!(err.contains("1 of 2 benchmarks already done"), "{err}");
    assert_eq!(
        load_run(&run_files(&results)[0]).unwrap().benchmarks.len(),
        2
    );
}

#[test]
fn resume_refuses_flags_it_would_ignore_and_an_empty_fail_on_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    for extra in [
        &["--filter", "x"][..],
        &["--no-save"],
        &["--shard", "1/2"],
        &["--profile", "full"],
        &["--kernels", "kernels"],
    ] {
        let out = orac(tmp.path(), &[&["run", "--resume"], extra].concat());
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
    }
    let out = orac(
        tmp.path(),
        &["compare", "a.json", "b.json", "--fail-on", ""],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("fail-on is empty"),
        "{}",
        stderr(&out)
    );
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn history_in_a_shallow_clone_is_an_error_not_a_silent_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("origin");
    std::fs::create_dir_all(&origin).unwrap();
    git(&origin, &["init", "-q", "-b", "main"]);
    for i in 0..3 {
        std::fs::write(origin.join("f"), format!("{i}")).unwrap();
        git(&origin, &["add", "f"]);
        git(&origin, &["commit", "-q", "-m", &format!("c{i}")]);
    }
    let url = format!("file://{}", s(&origin));
    git(
        tmp.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let run = committed_run();
    let key = run["hardware"]["key"].as_str().unwrap().to_string();
    write_json(
        &tmp.path().join(format!(
            "shallow/results/{key}/20260101T000000Z-abcdef0.json"
        )),
        &run,
    );
    let out = orac(
        &tmp.path().join("shallow"),
        &["history", "--fail-within", "5"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("shallow"), "{}", stderr(&out));
}

#[test]
fn built_in_kernels_are_not_filed_under_a_checkout_that_does_not_hold_them() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("old");
    std::fs::create_dir_all(repo.join("kernels")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("kernels/README.md"), "other kernels").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "old"]);
    let results = tmp.path().join("results");
    let out = orac(
        &repo,
        &[&["run", "--results-dir", s(&results)], &QUICK[..]].concat(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("built-in kernels"),
        "{}",
        stderr(&out)
    );
    let run = load_run(&run_files(&results)[0]).unwrap();
    let head = String::from_utf8(
        Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(&repo)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_ne!(
        run.git.commit.as_deref(),
        Some(head.trim()),
        "filed under the wrong commit"
    );
}

#[test]
fn a_device_that_is_not_there_is_an_error_not_a_silent_cpu_run() {
    let tmp = tempfile::tempdir().unwrap();
    for backend in ["auto", "cpu"] {
        let out = orac(
            tmp.path(),
            &[
                "--device",
                "99",
                "run",
                "--no-save",
                "--backend",
                backend,
                "--filter",
                "^memcpy/copy-st/u8/1MiB$",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{backend}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("--device 99 names a GPU"),
            "{}",
            stderr(&out)
        );
    }
}

/// Right on its first call (the check before timing), then it accumulates into C: the
/// state a counter that is never reset leaves.
const DRIFTING_GEMM: &str = r#"
void orac_gemm_test(const float *A, const float *B, float *C, long M, long N, long K) {
    static int calls = 0;
    calls++;
    for (long i = 0; i < M; i++)
        for (long j = 0; j < N; j++) {
            float acc = 0.0f;
            for (long k = 0; k < K; k++) acc += A[i * K + k] * B[k * N + j];
            C[i * N + j] = calls == 1 ? acc : C[i * N + j] + acc;
        }
}
"#;

#[test]
fn output_left_by_the_timed_runs_is_verified_too() {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = common::copy_kernels(tmp.path());
    common::add_gemm_kernel(&kernels, "drifting", DRIFTING_GEMM);
    let results = tmp.path().join("results");
    let out = orac(
        tmp.path(),
        &[
            "--kernels",
            s(&kernels),
            "run",
            "--backend",
            "cpu",
            "--filter",
            "^gemm/(drifting|blocked)/f32/m128n128k128$",
            "--max-time",
            "0.05",
            "--results-dir",
            s(&results),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let run = load_run(&run_files(&results)[0]).unwrap();
    let drifting = run
        .benchmarks
        .iter()
        .find(|b| b.id.contains("drifting"))
        .unwrap();
    assert_eq!(drifting.status, orac::store::Status::VerificationFailed);
    assert!(
        drifting.error.as_deref().unwrap().contains("after timing"),
        "{:?}",
        drifting.error
    );
    assert!(drifting.summary.is_none(), "a wrong kernel is never timed");
    let blocked = run
        .benchmarks
        .iter()
        .find(|b| b.id.contains("blocked"))
        .unwrap();
    assert_eq!(blocked.status, orac::store::Status::Ok);
}

#[test]
fn a_merged_run_supersedes_its_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    for k in ["1/2", "2/2"] {
        let out = orac(
            tmp.path(),
            &[
                &["run", "--results-dir", s(&results), "--shard", k],
                &QUICK[..],
            ]
            .concat(),
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let shards = run_files(&results);
    assert_eq!(shards.len(), 2);
    let mut args = vec!["merge", "--results-dir", s(&results)];
    args.extend(shards.iter().map(|p| s(p)));
    let out = orac(tmp.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let runs = run_files(&results);
    assert_eq!(runs.len(), 1, "only the merged run is listed: {runs:?}");
    assert_eq!(load_run(&runs[0]).unwrap().benchmarks.len(), 2);
    // The shards are kept, set aside.
    let aside = runs[0].parent().unwrap().join(".merged");
    assert_eq!(std::fs::read_dir(aside).unwrap().count(), 2);
}

#[test]
fn shard_auto_reads_the_slurm_array_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let out = orac_with_env(
        tmp.path(),
        &[&["run", "--no-save", "--shard", "auto"], &QUICK[..]].concat(),
        &[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "2"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("shard 2/2 from the Slurm job array"),
        "{}",
        stderr(&out)
    );
    let out = orac(
        tmp.path(),
        &[&["run", "--no-save", "--shard", "auto"], &QUICK[..]].concat(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
