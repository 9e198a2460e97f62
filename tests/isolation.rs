//! Worker processes and what their kernels start: a kernel that forks must not hide its
//! crash behind a child holding the worker's pipe, nor leave that child running.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use orac::store::{Status, load_run};

/// A GEMM kernel that forks a child sleeping far past `--timeout` (it inherits the
/// worker's protocol pipe), writes the child's pid to `pid_file`, then segfaults.
fn fork_then_crash(pid_file: &Path) -> String {
    fork_then(pid_file, "*(volatile int *)0 = 0;")
}

/// A GEMM kernel that forks a long sleeper, writes its pid to `pid_file`, then runs `then`.
fn fork_then(pid_file: &Path, then: &str) -> String {
    format!(
        r#"#include <stdio.h>
#include <unistd.h>
void orac_gemm_test(const float *A, const float *B, float *C, long M, long N, long K) {{
    pid_t child = fork();
    if (child == 0) {{
        sleep(120);
        _exit(0);
    }}
    FILE *f = fopen("{}", "w");
    if (f) {{
        fprintf(f, "%d\n", (int)child);
        fclose(f);
    }}
    {then}
}}
"#,
        pid_file.display()
    )
}

/// Whether `pid` is a live process (a zombie awaiting its reaper counts as gone).
fn alive(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } != 0 {
        return false;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the parenthesised command name.
    let state = stat.rsplit(')').next().unwrap_or("").trim_start();
    !state.is_empty() && !state.starts_with('Z') && !state.starts_with('X')
}

/// The child whose pid the kernel wrote to `pid_file` is gone (within a short grace: the
/// supervisor kills it before returning, but its reaper may take a moment).
fn assert_no_orphan(pid_file: &Path) {
    let pid: libc::pid_t = std::fs::read_to_string(pid_file)
        .expect("the kernel wrote its child's pid")
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let orphan_alive = alive(pid);
    if orphan_alive {
        // SAFETY: best-effort cleanup of the test's own grandchild.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    assert!(
        !orphan_alive,
        "the kernel's forked child {pid} outlived its worker"
    );
}

#[test]
fn a_kernel_that_forks_and_crashes_is_a_crash_and_leaves_no_orphan() {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    let pid_file = tmp.path().join("child.pid");
    add_gemm_kernel(&kernels, "forkcrash", &fork_then_crash(&pid_file));
    let results = tmp.path().join("results");
    let timeout = Duration::from_secs(30);
    let started = Instant::now();
    let out = orac(
        &repo(),
        &[
            "--kernels",
            kernels.to_str().unwrap(),
            "run",
            "--filter",
            "^gemm/(blocked|forkcrash)/f32/m128n128",
            "--results-dir",
            results.to_str().unwrap(),
            "--max-time",
            "0.05",
            "--timeout",
            "30",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let files = run_files(&results);
    assert_eq!(files.len(), 1, "{}", stderr(&out));
    let run = load_run(&files[0]).unwrap();
    let get = |k: &str| run.benchmarks.iter().find(|b| b.kernel == k).unwrap();
    assert_eq!(get("blocked").status, Status::Ok);
    let crash = get("forkcrash").error.clone().unwrap();
    assert!(crash.contains("SIGSEGV"), "a crash, not a timeout: {crash}");
    // Generous: only a supervisor waiting for the child's end of the pipe takes this long.
    assert!(started.elapsed() < timeout, "{:?}", started.elapsed());

    assert_no_orphan(&pid_file);
}

/// `orac verify` runs its checks in the same workers: the same crash is reported as one.
#[test]
fn verify_reports_a_forking_kernels_crash_not_a_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    let pid_file = tmp.path().join("child.pid");
    add_gemm_kernel(&kernels, "forkcrash", &fork_then_crash(&pid_file));
    let out = orac(
        &repo(),
        &[
            "--kernels",
            kernels.to_str().unwrap(),
            "verify",
            "--filter",
            "^gemm/forkcrash/f32/m128n128",
            "--timeout",
            "30",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("SIGSEGV"), "{table}");
    assert!(!table.contains("timed out"), "{table}");
    assert_no_orphan(&pid_file);
}

/// orac cannot know who sent a SIGKILL it did not send: the OOM killer is one candidate,
/// not the verdict.
#[test]
fn an_outside_sigkill_is_not_called_out_of_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    add_gemm_kernel(
        &kernels,
        "killed",
        "#include <signal.h>\n#include <unistd.h>\nvoid orac_gemm_test(const float *A, const float *B, float *C, long M, long N, long K) {\n    kill(getpid(), SIGKILL);\n}\n",
    );
    let out = orac(
        &repo(),
        &[
            "--kernels",
            kernels.to_str().unwrap(),
            "verify",
            "--filter",
            "^gemm/killed/f32/m128n128",
            "--timeout",
            "30",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("SIGKILL"), "{table}");
    assert!(table.contains("OOM killer or another process"), "{table}");
    assert!(!table.contains("out of memory"), "{table}");
}

/// Starts `orac run` of one kernel that forks a sleeper (its pid in `pid_file`) and then
/// spins, in a process group of its own, with `extra` arguments; returns once the kernel
/// runs.
fn spinning_run(tmp: &Path, pid_file: &Path, extra: &[&str]) -> std::process::Child {
    let kernels = copy_kernels(tmp);
    let spin = "volatile int spin = 1;\n    while (spin) {}";
    add_gemm_kernel(&kernels, "forkhang", &fork_then(pid_file, spin));
    let log = std::fs::File::create(tmp.join("orac.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_orac"))
        .args(["--kernels", kernels.to_str().unwrap(), "run"])
        .args(["--filter", "^gemm/forkhang/f32/m128n128", "--timeout", "60"])
        .args(extra)
        .arg("--results-dir")
        .arg(tmp.join("results"))
        .current_dir(repo())
        .env(
            "ORAC_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("kernel-cache"),
        )
        .env_remove("CC")
        .env("ORAC_CONTENTION", "ignore")
        // A group of its own stands in for the terminal's foreground group, so a signal to
        // the group reaches orac and whatever shares its group, not the test harness.
        .process_group(0)
        .stdout(Stdio::null())
        // A file, not a pipe: a surviving grandchild holding a pipe would hang the test.
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(pid_file).map_or(true, |s| !s.ends_with('\n')) {
        assert!(Instant::now() < deadline, "the kernel never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Waits at most 30 s for `child` to end.
fn wait_for(child: &mut std::process::Child, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("orac did not stop on {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ctrl-C in a terminal signals orac's whole process group, which no longer holds the
/// worker: the supervisor must stop the worker, and what it started, itself.
#[test]
fn ctrl_c_to_the_terminals_group_stops_the_worker_and_its_children() {
    let tmp = tempfile::tempdir().unwrap();
    let pid_file = tmp.path().join("child.pid");
    let mut child = spinning_run(tmp.path(), &pid_file, &[]);
    // SAFETY: signals the test's own child's process group.
    assert_eq!(
        unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGINT) },
        0
    );
    let status = wait_for(&mut child, "Ctrl-C");
    let log = std::fs::read_to_string(tmp.path().join("orac.log")).unwrap();
    assert_eq!(status.code(), Some(130), "{log}");
    assert_no_orphan(&pid_file);
}

/// A cancelled CI job, `scancel` or `docker stop` sends SIGTERM to orac alone: it stops like
/// on Ctrl-C (the worker and its children killed, exit 130), instead of dying with its
/// worker's children left running.
#[test]
fn sigterm_stops_the_run_like_ctrl_c() {
    let tmp = tempfile::tempdir().unwrap();
    let pid_file = tmp.path().join("child.pid");
    let mut child = spinning_run(tmp.path(), &pid_file, &[]);
    // SAFETY: signals the test's own child.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let status = wait_for(&mut child, "SIGTERM");
    let log = std::fs::read_to_string(tmp.path().join("orac.log")).unwrap();
    assert_eq!(status.code(), Some(130), "{log}");
    assert!(log.contains("interrupted"), "{log}");
    assert_no_orphan(&pid_file);
}

/// GitHub Actions cancels with SIGINT, then SIGTERM a few seconds later: a benchmark stuck
/// in orac's own process (`--isolation none`) cannot see the flag, so the second signal
/// ends orac at once, by that signal.
#[test]
fn a_second_signal_ends_orac_at_once() {
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    let pid_file = tmp.path().join("child.pid");
    let mut child = spinning_run(tmp.path(), &pid_file, &["--isolation", "none"]);
    let pid = child.id() as libc::pid_t;
    // SAFETY: signals the test's own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "one signal only sets the flag"
    );
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = wait_for(&mut child, "a second signal");
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    // The sleeper was orac's own child here (no worker group): the test cleans it up.
    let sleeper: libc::pid_t = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: the test's own grandchild.
    unsafe { libc::kill(sleeper, libc::SIGKILL) };
}
