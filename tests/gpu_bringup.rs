//! The GPU bring-up (ci/gpu-bringup.sh, ci/gpu_bringup.py) rehearsed without a GPU: with a
//! fake `orac` whose commands succeed, fail or hang on demand, and with the real binary on
//! the CPU backend. What a GPU session depends on: the bundle fits what comes back (at most 8
//! files, two folders deep), it is rewritten after every section so a kill still leaves data,
//! finished sections are not run again, budgets and the deadline hold, and a failure does not
//! stop what follows.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// A fake orac: `FAKE_<COMMAND>=ok|fail|hang` says what a command does (default ok); every
/// call is appended to `$FAKE_CALLS`. It prints a progress line per "benchmark", `run` saves
/// a results file under --results-dir, `verify --out-dir DIR` writes one output there.
const FAKE_ORAC: &str = r#"#!/usr/bin/env bash
cmd=$1
echo "$*" >> "${FAKE_CALLS:-/dev/null}"
[ "$cmd" = --version ] && { echo "orac 0.0.0-fake"; exit 0; }
var=FAKE_$(echo "$cmd" | tr 'a-z-' 'A-Z_')
what=${!var:-ok}
case $cmd in
  list) [ "$3" = emu ] && { echo "error: invalid value 'emu' for '--backend <BACKEND>'" >&2; exit 2; }
        echo gemm/naive/f32/m128n128k128 ;;
  show) printf '| benchmark | median |\n|---|---|\n| gemm/naive/f32/m128n128k128 | 1.000 ms |\n' ;;
  *) echo "fake orac $*"
     for i in 1 2 3; do echo "[  $i/3] fake/$cmd/$i ok 1.000 ms" >&2; done ;;
esac
if [ "$cmd" = verify ]; then
  dir=; while [ $# -gt 0 ]; do [ "$1" = --out-dir ] && dir=$2; shift; done
  [ -n "$dir" ] && mkdir -p "$dir" && printf 'orac' > "$dir/memcpy--fake--u8--4B.u8"
fi
if [ "$cmd" = run ]; then
  dir=results; while [ $# -gt 0 ]; do [ "$1" = --results-dir ] && dir=$2; shift; done
  mkdir -p "$dir/cpu-fake-x2" && echo '{"benchmarks": []}' > "$dir/cpu-fake-x2/20260101T000000Z-fake.json"
fi
case $what in
  hang) echo "fake: hanging" >&2; sleep 1000 ;;
  fail) echo "fake: failing" >&2; exit 3 ;;
esac
exit 0
"#;

fn fake_orac(dir: &Path) -> PathBuf {
    let path = dir.join("orac");
    std::fs::write(&path, FAKE_ORAC).unwrap();
    Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    path
}

/// `ci/gpu-bringup.sh --orac ORAC --out OUT --grace 1 ARGS…` with `env`.
fn bringup_cmd(orac: &Path, out: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(repo().join("ci/gpu-bringup.sh"));
    cmd.arg("--orac")
        .arg(orac)
        .arg("--out")
        .arg(out)
        .args(["--grace", "1"])
        .args(args)
        .env_remove("OUT")
        .env_remove("ORAC_BRINGUP_DEADLINE_S");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn bringup(orac: &Path, out: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    bringup_cmd(orac, out, args, env).output().unwrap()
}

fn status(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("status.json")).unwrap()).unwrap()
}

fn section<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no section {name} in {status:#}"))
}

fn bundle(out: &Path) -> Vec<String> {
    let list = Command::new("tar")
        .arg("tzf")
        .arg(out.join("bundle.tar.gz"))
        .output()
        .unwrap();
    assert!(list.status.success(), "{}", stderr(&list));
    stdout(&list).lines().map(str::to_string).collect()
}

/// What the device tool brings back: at most 8 files, 16 MiB each, no deeper than
/// OUT/a/b/file, names of letters, digits, '.', '_' and '-'.
fn assert_fits(out: &Path) {
    fn walk(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
                "{name}"
            );
            if path.is_dir() {
                assert!(depth < 2, "{} is too deep", path.display());
                walk(&path, depth + 1, files);
            } else {
                assert!(
                    path.metadata().unwrap().len() <= 16 << 20,
                    "{}",
                    path.display()
                );
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(out, 0, &mut files);
    assert!(files.len() <= 8, "{files:?}");
}

#[test]
fn a_failing_and_a_hanging_section_do_not_stop_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let orac = fake_orac(tmp.path());
    let out = tmp.path().join("out");
    let started = Instant::now();
    let run = bringup(
        &orac,
        &out,
        &[
            "--sections",
            "info,verify,run,emu,kernels",
            "--budget",
            "run=3",
        ],
        &[("FAKE_VERIFY", "fail"), ("FAKE_RUN", "hang")],
    );
    let text = stdout(&run);
    // The first failure's exit code: verify's.
    assert_eq!(run.status.code(), Some(3), "{text}{}", stderr(&run));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the hanging run was not stopped"
    );
    let s = status(&out);
    assert_eq!(s["state"], "finished");
    assert_eq!(section(&s, "preflight")["state"], "ok");
    assert_eq!(s["preflight"]["orac_version"], "orac 0.0.0-fake");
    assert_eq!(section(&s, "info")["state"], "ok");
    let verify = section(&s, "verify");
    assert_eq!(verify["state"], "failed");
    assert_eq!(verify["rc"], 3);
    let run_section = section(&s, "run");
    assert_eq!(run_section["state"], "timed_out", "{run_section:#}");
    assert_eq!(run_section["budget_s"], 3.0);
    // Killed at its budget, within a generous bound (the kill's grace period is 1 s).
    let took = run_section["elapsed_s"].as_f64().unwrap();
    assert!((2.5..30.0).contains(&took), "{took}");
    // The emulator cross-check: both backends' outputs compared (verify "fails" here, so
    // the section does too, but the comparison still ran).
    let emu = section(&s, "emu");
    assert_eq!(emu["state"], "failed", "{emu:#}");
    let argv: Vec<&str> = emu["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["argv"].as_str().unwrap())
        .collect();
    assert!(
        argv[0].contains("verify --backend emu --out-dir"),
        "{argv:?}"
    );
    assert!(
        argv[1].contains("verify --backend cuda --profile emu --out-dir"),
        "{argv:?}"
    );
    assert!(argv[2].contains("emu_compare.py"), "{argv:?}");
    assert_eq!(section(&s, "kernels")["state"], "ok");
    // Progress came through as it went, prefixed by the section.
    assert!(text.contains("[run] [  2/3] fake/run/2 ok"), "{text}");
    assert!(text.contains("budget of 3 s spent"), "{text}");
    // The timed-out run's results, and its table, are in the bundle.
    let files = bundle(&out);
    for f in [
        "info.txt",
        "verify.txt",
        "run.txt",
        "run.md",
        "kernels.txt",
        "console.log",
        "results/cpu-fake-x2/20260101T000000Z-fake.json",
        "emu/compare.txt",
    ] {
        assert!(files.iter().any(|x| x == f), "{f} not in {files:?}");
    }
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("| run | timed_out |"), "{summary}");
    assert!(
        summary.contains("| gemm/naive/f32/m128n128k128 | 1.000 ms |"),
        "{summary}"
    );
    assert_fits(&out);
}

/// A kill from outside mid-section (the device's own time limit, say) leaves the bundle of
/// the sections before it and a status naming the one that was running; the rerun does not
/// repeat what finished and its bundle still holds the earlier sections' files.
#[test]
fn a_kill_leaves_the_finished_sections_and_a_rerun_skips_them() {
    let tmp = tempfile::tempdir().unwrap();
    let orac = fake_orac(tmp.path());
    let out = tmp.path().join("out");
    let calls = tmp.path().join("calls.txt");
    let calls_s = calls.to_str().unwrap();
    let args = ["--sections", "info,verify,run,kernels"];
    let mut child = bringup_cmd(
        &orac,
        &out,
        &args,
        &[("FAKE_RUN", "hang"), ("FAKE_CALLS", calls_s)],
    )
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    let waited = Instant::now();
    let pgid = loop {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the run section never started"
        );
        std::thread::sleep(Duration::from_millis(100));
        let Ok(bytes) = std::fs::read(out.join("status.json")) else {
            continue;
        };
        let s: Value = serde_json::from_slice(&bytes).unwrap();
        let Some(run) = s["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "run")
        else {
            continue;
        };
        if let Some(pgid) = run["pgid"].as_i64() {
            break pgid;
        }
    };
    child.kill().unwrap();
    child.wait().unwrap();
    // The hanging section's group outlives a SIGKILLed bring-up: end it.
    Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status()
        .unwrap();

    let s = status(&out);
    assert_eq!(s["state"], "running");
    assert_eq!(section(&s, "info")["state"], "ok");
    assert_eq!(section(&s, "verify")["state"], "ok");
    assert_eq!(section(&s, "run")["state"], "running");
    let files = bundle(&out);
    assert!(files.iter().any(|f| f == "info.txt"), "{files:?}");
    assert!(files.iter().any(|f| f == "verify.txt"), "{files:?}");
    assert_fits(&out);

    std::fs::write(&calls, "").unwrap();
    let rerun = bringup(&orac, &out, &args, &[("FAKE_CALLS", calls_s)]);
    let text = stdout(&rerun);
    assert!(rerun.status.success(), "{text}{}", stderr(&rerun));
    assert!(text.contains("not running again info, verify"), "{text}");
    let called = std::fs::read_to_string(&calls).unwrap();
    assert!(
        !called.contains("info") && !called.contains("verify"),
        "{called}"
    );
    assert!(called.contains("run --backend cuda"), "{called}");
    let s = status(&out);
    assert_eq!(section(&s, "info")["earlier"], true);
    assert_eq!(section(&s, "run")["state"], "ok");
    assert_eq!(section(&s, "kernels")["state"], "ok");
    let files = bundle(&out);
    for f in ["info.txt", "verify.txt", "run.md", "kernels.txt"] {
        assert!(files.iter().any(|x| x == f), "{f} not in {files:?}");
    }
    assert_fits(&out);

    // --fresh runs everything again; so does another binary.
    std::fs::write(&calls, "").unwrap();
    let fresh = bringup(
        &orac,
        &out,
        &["--fresh", "--sections", "info"],
        &[("FAKE_CALLS", calls_s)],
    );
    assert!(fresh.status.success());
    assert!(std::fs::read_to_string(&calls).unwrap().contains("info"));
}

#[test]
fn the_deadline_skips_a_section_whose_budget_does_not_fit() {
    let tmp = tempfile::tempdir().unwrap();
    let orac = fake_orac(tmp.path());
    let out = tmp.path().join("out");
    // 20 s less the 5 s kept for the last bundle and the 1 s grace: 14 s for sections.
    let run = bringup(
        &orac,
        &out,
        &[
            "--deadline",
            "20",
            "--sections",
            "info,verify,run",
            "--budget",
            "info=2",
            "--budget",
            "verify=6",
            "--budget",
            "run=30",
        ],
        &[("FAKE_VERIFY", "hang")],
    );
    let text = stdout(&run);
    assert_eq!(run.status.code(), Some(124), "{text}{}", stderr(&run));
    let s = status(&out);
    assert_eq!(s["deadline_s"], 20.0);
    assert_eq!(section(&s, "info")["state"], "ok");
    assert_eq!(section(&s, "verify")["state"], "timed_out");
    let skipped = section(&s, "run");
    assert_eq!(skipped["state"], "skipped");
    let why = skipped["reason"].as_str().unwrap();
    assert!(why.contains("(30 s) does not fit"), "{why}");
    assert!(
        text.contains("run: skipped: its budget (30 s) does not fit"),
        "{text}"
    );
    // Everything, the last bundle included, inside the deadline.
    assert!(s["elapsed_s"].as_f64().unwrap() <= 20.0, "{s:#}");
    for r in s["sections"].as_array().unwrap() {
        let end = r["started_s"].as_f64().unwrap() + r["elapsed_s"].as_f64().unwrap_or(0.0);
        assert!(end <= 20.0, "{r:#}");
    }
    assert_fits(&out);
}

/// The nightly's ci/gpu-run.sh is the bring-up with no deadline and the raw files kept in
/// OUT, where ci/nightly-compare.sh reads the run.
#[test]
fn gpu_run_keeps_the_nightly_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let orac = fake_orac(tmp.path());
    let out = tmp.path().join("out");
    let run = Command::new(repo().join("ci/gpu-run.sh"))
        .arg(&out)
        .arg(&orac)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}{}", stdout(&run), stderr(&run));
    for f in [
        "info.txt",
        "kernels.txt",
        "verify.txt",
        "run.txt",
        "run.md",
        "results/cpu-fake-x2/20260101T000000Z-fake.json",
        "bundle/status.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let s = status(&out.join("bundle"));
    assert_eq!(s["deadline_s"], Value::Null);
    assert_eq!(s["config"]["profile"], "full");
    // The bundle does not hold itself.
    assert!(
        !bundle(&out.join("bundle"))
            .iter()
            .any(|f| f.starts_with("bundle"))
    );
}

#[test]
fn a_bad_budget_is_a_usage_error_and_list_runs_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let orac = fake_orac(tmp.path());
    let out = tmp.path().join("out");
    let bad = bringup(&orac, &out, &["--budget", "nope=3"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("SECTION=SECS"), "{}", stderr(&bad));
    let list = bringup(&orac, &out, &["--list"], &[]);
    assert!(list.status.success());
    let text = stdout(&list);
    let names: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "preflight",
            "info",
            "verify",
            "run",
            "peers",
            "verdicts",
            "emu",
            "counters",
            "kernels",
            "ab",
            "faults"
        ]
    );
    assert!(!out.join("status.json").exists());
}

/// The CPU rehearsal (`ci/rehearse.sh --bringup`) with the real binary: the same sections on
/// the CPU backend, GPU-only ones skipped with the reason, a line per benchmark as it goes.
#[test]
fn the_bringup_rehearses_on_the_cpu_with_the_real_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run = Command::new(repo().join("ci/rehearse.sh"))
        .arg("--bringup")
        .arg(env!("CARGO_BIN_EXE_orac"))
        .arg("--out")
        .arg(&out)
        .args([
            "--filter",
            "^gemm/naive/f32/m128n128k128$|^memcpy/copy-st/u8/1MiB$",
        ])
        .args(["--max-time", "0.05"])
        .env(
            "ORAC_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("kernel-cache"),
        )
        .env("ORAC_CONTENTION", "ignore")
        .env_remove("CC")
        .env_remove("OUT")
        .output()
        .unwrap();
    let text = stdout(&run);
    assert!(run.status.success(), "{text}{}", stderr(&run));
    let s = status(&out);
    assert_eq!(s["config"]["backend"], "cpu");
    assert_eq!(s["preflight"]["glibc_ok"], true, "{s:#}");
    assert!(
        s["preflight"]["orac_version"]
            .as_str()
            .unwrap()
            .starts_with("orac "),
        "{s:#}"
    );
    for name in ["preflight", "info", "verify", "run", "peers"] {
        assert_eq!(section(&s, name)["state"], "ok", "{name}: {s:#}");
    }
    for name in ["verdicts", "kernels", "ab", "faults"] {
        let r = section(&s, name);
        assert_eq!(r["state"], "skipped", "{name}");
        assert!(r["reason"].as_str().unwrap().contains("CUDA"), "{r:#}");
    }
    assert_eq!(section(&s, "emu")["state"], "skipped");
    // A line per benchmark, as each finishes, though stderr is not a terminal.
    for (section, id) in [
        ("verify", "gemm/naive/f32/m128n128k128 ok"),
        ("run", "memcpy/copy-st/u8/1MiB ok "),
    ] {
        let prefix = format!("[{section}] [  ");
        assert!(
            text.lines()
                .any(|l| l.starts_with(&prefix) && l.contains(id)),
            "{section} {id}: {text}"
        );
    }
    let files = bundle(&out);
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("results/") && f.ends_with(".json")),
        "{files:?}"
    );
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        summary.contains("| gemm/naive/f32/m128n128k128 "),
        "{summary}"
    );
    // Run from the checkout, so the run knows its commit.
    assert!(!summary.contains("unknown commit"), "{summary}");
    assert_fits(&out);
}

/// Without a terminal, `orac verify` prints a plain line per finished check (no carriage
/// returns), so a log shows progress as it goes.
#[test]
fn verify_prints_a_line_per_check_without_a_terminal() {
    let out = orac(
        &repo(),
        &[
            "verify",
            "--backend",
            "cpu",
            "--filter",
            "^gemm/naive/f32/m128n128k128$|^memcpy/copy-st/u8/1MiB$",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains('\r'), "{err:?}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("[  ")).collect();
    assert_eq!(lines.len(), 2, "{err}");
    for id in [
        "gemm/naive/f32/m128n128k128 ok",
        "memcpy/copy-st/u8/1MiB ok",
    ] {
        assert!(lines.iter().any(|l| l.contains(id)), "{id}: {err}");
    }
}

/// The real orac stopped by its section's budget (SIGINT) keeps its journal, and the summary
/// tabulates what finished.
#[test]
fn a_run_stopped_by_its_budget_leaves_its_journal_and_a_partial_table() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run = bringup_cmd(
        Path::new(env!("CARGO_BIN_EXE_orac")),
        &out,
        &["--rehearse", "--sections", "run", "--budget", "run=3"],
        &[
            (
                "ORAC_CACHE_DIR",
                Path::new(env!("CARGO_TARGET_TMPDIR"))
                    .join("kernel-cache")
                    .to_str()
                    .unwrap(),
            ),
            ("ORAC_CONTENTION", "ignore"),
        ],
    )
    .env_remove("CC")
    .output()
    .unwrap();
    assert_eq!(run.status.code(), Some(124), "{}", stdout(&run));
    let s = status(&out);
    let r = section(&s, "run");
    assert_eq!(r["state"], "timed_out", "{r:#}");
    assert!(
        r["journal"].as_str().unwrap().ends_with(".journal"),
        "{r:#}"
    );
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("Interrupted run: "), "{summary}");
    assert!(bundle(&out).iter().any(|f| f.ends_with(".journal")));
    assert_fits(&out);
}
