//! The scripts the CI workflows call, run locally with `gh` stubbed by a recorder.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// A `gh` that records its command line and answers the comment lookup with `existing`.
fn stub_gh(dir: &Path, existing: &str) {
    let script = format!(
        "#!/usr/bin/env bash\necho \"gh $*\" >> \"$GH_LOG\"\ncase \"$*\" in *--paginate*) [ -n \"{existing}\" ] && printf '%b\\n' '{existing}';; esac\nexit 0\n"
    );
    let path = dir.join("gh");
    std::fs::write(&path, script).unwrap();
    Command::new("chmod").arg("+x").arg(&path).status().unwrap();
}

fn post(existing: &str, body: &str) -> (std::process::Output, String) {
    let tmp = tempfile::tempdir().unwrap();
    stub_gh(tmp.path(), existing);
    let file = tmp.path().join("comment.md");
    std::fs::write(&file, body).unwrap();
    let log = tmp.path().join("gh.log");
    let out = Command::new(repo().join("ci/post-comment.sh"))
        .args(["octo/orac", "42", file.to_str().unwrap()])
        .env("GH_LOG", &log)
        .env(
            "PATH",
            format!(
                "{}:{}",
                tmp.path().display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .output()
        .unwrap();
    (out, std::fs::read_to_string(&log).unwrap_or_default())
}

#[test]
fn the_comment_is_posted_once_then_updated_in_place() {
    let body = "<!-- orac:compare -->\n### orac: 1 slower\n";
    let (out, log) = post("", body);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        log.contains("gh api --method POST repos/octo/orac/issues/42/comments -F body=@"),
        "{log}"
    );

    let (out, log) = post("987", body);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        log.contains("gh api --method PATCH repos/octo/orac/issues/comments/987 -F body=@"),
        "{log}"
    );
    assert!(
        !log.contains("POST"),
        "an existing comment is edited, never duplicated: {log}"
    );
}

#[test]
fn only_the_bots_own_comment_is_edited_the_first_of_several() {
    let body = "<!-- orac:compare -->\n### orac: 1 slower\n";
    // Two of the bot's comments carry the marker: the first is edited, and the lookup asks
    // for the bot's login, so a human quoting the marker is never matched.
    let (out, log) = post("987\\n654", body);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(log.contains("issues/comments/987 "), "{log}");
    assert!(!log.contains("654"), "{log}");
    assert!(
        log.contains(".user.login == \"github-actions[bot]\""),
        "{log}"
    );
}

#[test]
fn a_comment_without_the_marker_is_refused() {
    let (out, log) = post("", "### no marker\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not start with"));
    assert!(log.is_empty(), "nothing was sent: {log}");
}

#[test]
fn the_pull_request_rehearsal_flags_the_slower_kernel() {
    let out = Command::new(repo().join("ci/rehearse.sh"))
        .arg(env!("CARGO_BIN_EXE_orac"))
        .env(
            "ORAC_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("kernel-cache"),
        )
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the gate fails on slower:\n{text}\n{}",
        stderr(&out)
    );
    assert!(text.contains("<!-- orac:compare -->"), "{text}");
    assert!(text.contains("gemm/naive/f32/m128n128k128"), "{text}");
    assert!(text.contains("**slower**"), "{text}");
    assert!(
        text.contains("gh api --method POST repos/example/orac/issues/1/comments"),
        "{text}"
    );
}

/// A results store whose GEMM got 6% slower three commits ago: the nightly history step
/// raises one issue with the history in it and writes the HTML report; the next night, with
/// the issue open and naming that change, it stays quiet.
#[test]
fn the_nightly_history_step_raises_a_slowdown_once() {
    use orac::history::synthetic::{self, Track};
    let tmp = tempfile::tempdir().unwrap();
    let ids = synthetic::commit_chain(tmp.path(), 30).unwrap();
    let gemm = |i: usize| if i < 27 { 1e-3 } else { 1.06e-3 };
    let copy = |_: usize| 1e-4;
    let tracks = [
        Track {
            id: "gemm/t/f32/x".into(),
            family: orac::suite::Family::Gemm,
            level: &gemm,
        },
        Track {
            id: "memcpy/t/u8/x".into(),
            family: orac::suite::Family::Memcpy,
            level: &copy,
        },
    ];
    for (i, id) in ids.iter().enumerate() {
        let run = synthetic::run("cpu-synthetic-x2", id, i, 0, &tracks, 20);
        orac::store::save_run(&tmp.path().join("results"), &run).unwrap();
    }
    // A gh that knows issue $ISSUE (if set) whose text is the file $KNOWN.
    let stub = "#!/usr/bin/env bash\necho \"gh $*\" >> \"$GH_LOG\"\ncase \"$1 $2\" in\n  \"issue list\") [ -n \"$ISSUE\" ] && echo \"$ISSUE\" ;;\n  \"issue view\") cat \"$KNOWN\" 2>/dev/null ;;\nesac\nexit 0\n";
    std::fs::write(tmp.path().join("gh"), stub).unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(tmp.path().join("gh"))
        .status()
        .unwrap();
    let night_capped = |issue: &str, known: &Path, limit: &str| {
        let log = tmp.path().join("gh.log");
        let _ = std::fs::remove_file(&log);
        let out = Command::new(repo().join("ci/nightly-history.sh"))
            .args(["results", env!("CARGO_BIN_EXE_orac"), "octo/orac", "out"])
            .current_dir(tmp.path())
            .env("ORAC_BODY_LIMIT", limit)
            .env("GH_LOG", &log)
            .env("ISSUE", issue)
            .env("KNOWN", known)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    tmp.path().display(),
                    std::env::var("PATH").unwrap()
                ),
            )
            .output()
            .unwrap();
        (out, std::fs::read_to_string(&log).unwrap_or_default())
    };
    let night = |issue: &str, known: &Path| night_capped(issue, known, "60000");

    let (out, calls) = night("", Path::new("/nonexistent"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        calls.contains("gh issue create --repo octo/orac --title orac nightly: change points on cpu-synthetic-x2"),
        "{calls}"
    );
    let body_path = tmp.path().join("out/history-cpu-synthetic-x2.md");
    let body = std::fs::read_to_string(&body_path).unwrap();
    assert!(
        body.contains("gemm/t/f32/x slower at") && body.contains(&ids[27][..7]),
        "{body}"
    );
    assert!(tmp.path().join("out/report/index.html").is_file());
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("out/history-cpu-synthetic-x2.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["series"].as_array().unwrap().len(), 2);

    // Next night: issue #7 is open and already names the change: nothing new to say.
    let known = tmp.path().join("issue7.txt");
    std::fs::copy(&body_path, &known).unwrap();
    let (out, calls) = night("7", &known);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        !calls.contains("issue comment") && !calls.contains("issue create"),
        "{calls}"
    );
    assert!(stdout(&out).contains("already in issue #7"));

    // Had the issue been about something else, the change would be added to it.
    std::fs::write(&known, "gemm/other/f32/x slower at 1234567").unwrap();
    let (out, calls) = night("7", &known);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        calls.contains("gh issue comment 7 --repo octo/orac"),
        "{calls}"
    );

    // An issue body never outgrows GitHub's limit: the full history is cut, the news kept.
    let (_, _) = night_capped("", Path::new("/nonexistent"), "1500");
    let body = std::fs::read_to_string(&body_path).unwrap();
    assert!(body.len() <= 1500, "{} bytes", body.len());
    assert!(body.contains("gemm/t/f32/x slower at"), "{body}");
    assert!(body.trim_end().ends_with("artifacts._"), "{body}");
}

/// The peer script reads orac's own ids, so its shapes cannot drift from the suite's; its
/// plan (no PyTorch needed) covers every GEMM shape once per dtype and both SDPA backends.
#[test]
fn the_peer_script_plans_the_suites_shapes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ids = String::new();
    for backend in ["cuda", "cpu"] {
        let out = orac(
            &repo(),
            &["list", "--backend", backend, "--profile", "full"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        ids.push_str(&stdout(&out));
    }
    let file = tmp.path().join("ids.txt");
    std::fs::write(&file, &ids).unwrap();
    let out = Command::new("python3")
        .arg(repo().join("ci/peer/torch_peer.py"))
        .arg(&file)
        .arg("--dry-run")
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = stdout(&out);
    assert!(
        plan.contains("peer/torch-matmul/bf16/m8192n8192k8192 1099511627776"),
        "{plan}"
    );
    assert!(
        plan.contains("peer/torch-matmul/f32/m1024n1024k1001 "),
        "{plan}"
    );
    assert!(plan.contains("peer/torch-sdpa-flash/f32/"), "{plan}");
    assert!(plan.contains("peer/torch-sdpa-cudnn/f32/"), "{plan}");
    // Decode shapes (grouped-query heads) get SDPA with enable_gqa, with orac's FLOP count.
    assert!(
        plan.contains("peer/torch-sdpa-flash/bf16/b1h32kv8s32768d128 536870912"),
        "{plan}"
    );
    assert!(
        plan.contains("peer/torch-sdpa-efficient/bf16/b1h32kv8s32768d128 "),
        "{plan}"
    );
    // The memcpy family: torch's copy_ for device copies and pinned transfers, a triad.
    for case in [
        "peer/torch-copy/u8/1024MiB 0",
        "peer/torch-htod/u8/1MiB 0",
        "peer/torch-dtoh/u8/1024MiB 0",
        "peer/torch-triad/f32/256MiB 134217728",
    ] {
        assert!(plan.contains(case), "{case} not in {plan}");
    }
    // Causal attention with Sq != Sk is planned but skipped, with the reason.
    assert!(
        plan.lines()
            .any(|l| l.contains("-causal") && l.contains("skipped: PyTorch's is_causal")),
        "{plan}"
    );
    // One case per distinct GEMM shape and dtype, however many kernels run it.
    let matmuls = plan
        .lines()
        .filter(|l| l.starts_with("peer/torch-matmul/"))
        .count();
    let mut shapes: Vec<&str> = ids
        .lines()
        .filter(|l| l.starts_with("gemm/"))
        .map(|l| l.split_once('/').unwrap().1.split_once('/').unwrap().1)
        .collect();
    shapes.sort();
    shapes.dedup();
    assert_eq!(matmuls, shapes.len());
}

/// The peer check sets orac's results beside torch's, and goes red only when a vendor
/// reference disagrees with its torch counterpart by more than 3%.
#[test]
fn the_peer_check_flags_a_vendor_reference_off_its_peer() {
    let tmp = tempfile::tempdir().unwrap();
    let committed =
        repo().join("results/cpu-amd-epyc-family-25-model-1-x2/20261123T033552Z-6f54116.json");
    let mut run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(committed).unwrap()).unwrap();
    let benchmarks = run["benchmarks"].as_array_mut().unwrap();
    let naive = benchmarks
        .iter_mut()
        .find(|b| b["id"] == "gemm/naive/f32/m128n128k128")
        .unwrap();
    naive["reference"] = true.into();
    let median = naive["summary"]["median"].as_f64().unwrap();
    let run_file = tmp.path().join("run.json");
    std::fs::write(&run_file, run.to_string()).unwrap();
    let check = |peer_median: f64| {
        let peer = serde_json::json!({
            "device": "test", "torch": "0", "cuda": "0", "triton": false,
            "results": [
                {"id": "peer/torch-matmul/f32/m128n128k128", "median_s": peer_median, "samples": 10},
                {"id": "peer/torch-copy/u8/1MiB", "error": "skipped"},
            ]
        });
        let peer_file = tmp.path().join("peer.json");
        std::fs::write(&peer_file, peer.to_string()).unwrap();
        Command::new("python3")
            .arg(repo().join("ci/peer/check_peer.py"))
            .arg(&run_file)
            .arg(&peer_file)
            .output()
            .expect("python3")
    };
    let agree = check(median * 1.01);
    assert_eq!(agree.status.code(), Some(0), "{}", stderr(&agree));
    let table = stdout(&agree);
    assert!(
        table.contains("`gemm/naive/f32/m128n128k128` (ref)") && table.contains("| agrees |"),
        "{table}"
    );
    // The peer is 10% slower: orac's reference runs at 110% of it, and the check fails.
    let off = check(median * 1.10);
    assert_eq!(off.status.code(), Some(1), "{}", stdout(&off));
    let table = stdout(&off);
    assert!(
        table.contains("110.0%") && table.contains("CHECK"),
        "{table}"
    );
}

/// The verdict-accuracy benchmark's table comes from its state file alone: two hand-written
/// trials (an A/A with two false flags, a detected +10% plant) give their rows and numbers,
/// with nothing timed; `--help` works without a binary.
#[test]
fn the_verdict_benchmark_tabulates_its_state_file() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state.jsonl");
    let aa = serde_json::json!({
        "type": "trial", "key": "h|cpu-test-x2|aa|full suite|0|None", "orac_hash": "h",
        "hardware_key": "cpu-test-x2", "scenario": "aa", "variant": "full suite", "trial": 0,
        "minutes": 1.25, "exit_code": 1, "gate_failed": true, "comparisons": 24,
        "false_flags": 2, "verdicts": {"unchanged": 21, "ambiguous": 1, "slower": 1, "faster": 1},
        "load_before": 0.5, "load_after": 1.75, "nproc": 2,
        "argv": "python3 ci/verdicts.py --trials 1"
    });
    let lone = serde_json::json!({
        "type": "trial", "key": "h|cpu-test-x2|lone|+10% --filter|0|None", "orac_hash": "h",
        "hardware_key": "cpu-test-x2", "scenario": "lone", "variant": "+10% --filter",
        "trial": 0, "minutes": 0.5, "exit_code": 1, "gate_failed": true, "size": "+10%",
        "filter": true, "planted": "gemm/blocked/f32/m200n136k72", "expected": "slower",
        "planted_verdict": "slower", "planted_ratio": 1.094, "detected": true,
        "comparisons": 0, "false_flags": 0, "calibrated": {"ratio": 1.0987},
        "a_field_from_the_future": [1, 2]
    });
    std::fs::write(&state, format!("{aa}\n{lone}\n")).unwrap();
    let out = Command::new("python3")
        .arg(repo().join("ci/verdicts.py"))
        .args(["--table-only", "--state", state.to_str().unwrap()])
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains("### Verdict accuracy on `cpu-test-x2`"),
        "{table}"
    );
    assert!(
        table.contains("| aa | full suite | 1 | 2/24 (8.3%) | 1/1 | — |"),
        "{table}"
    );
    assert!(
        table.contains(
            "| lone | +10% --filter | 1 | 0/0 | 1/1 | 1/1 (100%) | slower 1 | +9.4% | gemm-blocked +9.9% | 0.50 | 0.50 |"
        ),
        "{table}"
    );
    assert!(table.contains("Total cost: 1.75 min"), "{table}");
    assert!(
        table.contains("python3 ci/verdicts.py --trials 1"),
        "{table}"
    );

    let help = Command::new("python3")
        .arg(repo().join("ci/verdicts.py"))
        .arg("--help")
        .output()
        .expect("python3");
    assert!(help.status.success(), "{}", stderr(&help));
    assert!(stdout(&help).contains("--table-only"));
    // A scenario that does not exist is a usage error.
    let bad = Command::new("python3")
        .arg(repo().join("ci/verdicts.py"))
        .args(["--table-only", "--scenarios", "nope", "--state"])
        .arg(&state)
        .output()
        .expect("python3");
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

#[test]
fn a_pull_request_that_changes_no_kernel_says_nothing_was_measured() {
    let tmp = tempfile::tempdir().unwrap();
    let repo_dir = tmp.path().join("repo");
    copy_kernels(&repo_dir);
    git(&repo_dir, &["init", "-q", "-b", "main"]);
    git(&repo_dir, &["add", "."]);
    git(&repo_dir, &["commit", "-q", "-m", "kernels"]);
    std::fs::write(repo_dir.join("host.rs"), "fn main() {}\n").unwrap();
    git(&repo_dir, &["add", "."]);
    git(&repo_dir, &["commit", "-q", "-m", "host code only"]);
    let out_dir = tmp.path().join("out");
    let out = Command::new(repo().join("ci/pr-ab.sh"))
        .args([
            "HEAD~1",
            "HEAD",
            out_dir.to_str().unwrap(),
            env!("CARGO_BIN_EXE_orac"),
        ])
        .current_dir(&repo_dir)
        .env(
            "ORAC_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("kernel-cache"),
        )
        .env("ORAC_CONTENTION", "ignore")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let comment = std::fs::read_to_string(out_dir.join("comment.md")).unwrap();
    assert!(comment.starts_with("<!-- orac:compare -->"), "{comment}");
    assert!(comment.contains("nothing measured"), "{comment}");
    assert!(
        comment.contains("touches only host code, which this gate cannot measure"),
        "{comment}"
    );
    assert!(
        comment.contains("It changes 1 file outside `kernels/` (`host.rs`)"),
        "{comment}"
    );
    assert!(comment.contains("**Skipped "), "{comment}");
    // The JSON report says the same, for tools.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("ab.json")).unwrap()).unwrap();
    assert_eq!(json["host_changes"][0], "host.rs");
    assert!(json["entries"].as_array().unwrap().is_empty());
}

/// A path with `dir` in front of the inherited PATH (for stubs).
fn path_with(dir: &Path) -> String {
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap())
}

#[test]
fn the_results_branch_is_created_the_first_night_then_appended_to() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("origin.git");
    git(
        tmp.path(),
        &["init", "-q", "--bare", "-b", "main", "origin.git"],
    );
    let work = tmp.path().join("work");
    git(
        tmp.path(),
        &["clone", "-q", origin.to_str().unwrap(), "work"],
    );
    std::fs::write(work.join("README"), "orac\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "main"]);
    git(&work, &["push", "-q", "origin", "HEAD:main"]);
    let artifacts = tmp.path().join("artifacts");
    let add_run = |gpu: &str, key: &str, name: &str| {
        let dir = artifacts.join(format!("orac-nightly-{gpu}/results/{key}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), "{}\n").unwrap();
    };
    let night = || {
        // Each night is a fresh checkout of the default branch, as the workflow's.
        let checkout = tempfile::tempdir_in(tmp.path()).unwrap();
        git(
            tmp.path(),
            &[
                "clone",
                "-q",
                origin.to_str().unwrap(),
                checkout.path().to_str().unwrap(),
            ],
        );
        let out = Command::new(repo().join("ci/nightly-store.sh"))
            .arg(&artifacts)
            .arg("results")
            .current_dir(checkout.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        stdout(&out)
    };
    let tree = || {
        git(
            &origin,
            &["ls-tree", "-r", "--name-only", "refs/heads/results"],
        )
    };

    add_run(
        "h100",
        "nvidia-h100-80gb-hbm3",
        "20270101T030000Z-aaaaaaa.json",
    );
    let said = night();
    assert!(said.contains("creating it"), "{said}");
    assert_eq!(
        tree(),
        "results/nvidia-h100-80gb-hbm3/20270101T030000Z-aaaaaaa.json",
        "an orphan branch with the results only"
    );

    add_run(
        "h100",
        "nvidia-h100-80gb-hbm3",
        "20270102T030000Z-bbbbbbb.json",
    );
    add_run("h200", "nvidia-h200-141gb", "20270102T030000Z-bbbbbbb.json");
    let said = night();
    assert!(!said.contains("creating"), "{said}");
    assert!(said.contains("pushed 2 runs"), "{said}");
    assert_eq!(tree().lines().count(), 3, "{}", tree());
    let log = git(&origin, &["log", "--format=%s", "refs/heads/results"]);
    assert_eq!(log.lines().count(), 2, "{log}");
    // Nothing new: no empty commit.
    assert!(night().contains("no new results"));
    assert_eq!(
        git(&origin, &["rev-list", "--count", "refs/heads/results"]),
        "2"
    );
}

/// Runs ci/nightly-compare.sh with `orac` and `gh` stubbed: the stub orac writes `md` as
/// the comparison and exits `rc`; gh knows open issue `issue` (empty: none).
fn nightly_compare(rc: i32, issue: &str, md: &str) -> (std::process::Output, String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path().join("out/results/nvidia-h100-80gb-hbm3");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(run_dir.join("20270101T030000Z-aaaaaaa.json"), "{}").unwrap();
    std::fs::write(tmp.path().join("md"), md).unwrap();
    let orac = tmp.path().join("orac");
    std::fs::write(
        &orac,
        "#!/usr/bin/env bash\nwhile [ $# -gt 0 ]; do [ \"$1\" = --markdown-out ] && cp \"$MD\" \"$2\"; shift; done\nexit \"$RC\"\n",
    )
    .unwrap();
    let gh = "#!/usr/bin/env bash\necho \"gh $*\" >> \"$GH_LOG\"\ncase \"$1 $2\" in\n  \"issue list\") [ -n \"$ISSUE\" ] && echo \"$ISSUE\" ;;\nesac\nexit 0\n";
    std::fs::write(tmp.path().join("gh"), gh).unwrap();
    for f in ["orac", "gh"] {
        Command::new("chmod")
            .arg("+x")
            .arg(tmp.path().join(f))
            .status()
            .unwrap();
    }
    let log = tmp.path().join("gh.log");
    let out = Command::new(repo().join("ci/nightly-compare.sh"))
        .args(["out", orac.to_str().unwrap(), "octo/orac", "h100"])
        .current_dir(tmp.path())
        .env("GH_LOG", &log)
        .env("ISSUE", issue)
        .env("RC", rc.to_string())
        .env("MD", tmp.path().join("md"))
        .env("PATH", path_with(tmp.path()))
        .output()
        .unwrap();
    let body = std::fs::read_to_string(tmp.path().join("out/nightly-issue.md")).unwrap_or_default();
    (out, std::fs::read_to_string(&log).unwrap_or_default(), body)
}

#[test]
fn a_nightly_regression_keeps_one_issue_per_hardware_key_current() {
    let md = "<!-- orac:compare -->\n### 🔴 orac: 1 slower\n";
    // The first night of a regression opens the key's issue.
    let (out, calls, body) = nightly_compare(1, "", md);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        calls.contains(
            "gh issue create --repo octo/orac --title orac nightly: regressions on nvidia-h100-80gb-hbm3 --body-file"
        ),
        "{calls}"
    );
    assert!(body.contains("### 🔴 orac: 1 slower") && body.contains("on runner `h100`"));
    // The lookup keeps only the exact title, not every title the search matches.
    assert!(
        calls.contains("select(.title == \"orac nightly: regressions on nvidia-h100-80gb-hbm3\")"),
        "{calls}"
    );
    // The next nights replace its body: no comment a night.
    let (out, calls, _) = nightly_compare(3, "12", md);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        calls.contains("gh issue edit 12 --repo octo/orac --body-file"),
        "{calls}"
    );
    assert!(
        !calls.contains("issue comment") && !calls.contains("issue create"),
        "{calls}"
    );
    // The first night without closes it, with one comment.
    let (out, calls, _) = nightly_compare(0, "12", md);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        calls.contains("gh issue close 12 --repo octo/orac --comment No regression"),
        "{calls}"
    );
    // Without a regression or an issue, nothing is written.
    let (out, calls, _) = nightly_compare(0, "", md);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(calls.lines().count(), 1, "only the lookup: {calls}");
    // A huge comparison is cut to fit an issue.
    let huge = format!(
        "{md}\n```\n{}",
        "gemm/x/f32/m1n1k1 1.000 ms → 1.100 ms µ\n".repeat(3000)
    );
    let (_, _, body) = nightly_compare(1, "", &huge);
    assert!(body.len() <= 60_000, "{} bytes", body.len());
    assert!(
        body.trim_end().ends_with("artifacts._"),
        "{}",
        &body[body.len() - 200..]
    );
}

#[test]
fn cap_body_cuts_at_a_line_and_closes_what_it_opened() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("body.md");
    let mut text = String::from("### title\n\n<details><summary>all</summary>\n\n```\n");
    for i in 0..2000 {
        text.push_str(&format!("line {i}: 1.000 µs → 2.000 µs\n"));
    }
    text.push_str("```\n</details>\n");
    std::fs::write(&file, &text).unwrap();
    let cap = |limit: &str| {
        let out = Command::new(repo().join("ci/cap-body.sh"))
            .arg(&file)
            .arg(limit)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    };
    cap("100000");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        text,
        "within the limit: untouched"
    );
    cap("5001");
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.len() <= 5001, "{}", bytes.len());
    let capped = String::from_utf8(bytes).expect("never cut inside a character");
    assert_eq!(capped.matches("```").count() % 2, 0, "the fence is closed");
    assert!(capped.contains("</details>"));
    assert!(
        capped
            .lines()
            .any(|l| l.starts_with("line ") && l.ends_with("2.000 µs"))
    );
    assert!(capped.trim_end().ends_with("artifacts._"));
}

/// The bring-up's `counters` section sets the emulator's counts beside ncu's raw CSV.
#[test]
fn ncu_compare_sets_the_emulators_counts_beside_nsight_computes() {
    let tmp = tempfile::tempdir().unwrap();
    let counters = tmp.path().join("counters.txt");
    std::fs::write(
        &counters,
        "counters on emu-sm_90a (NVRTC 13.5)\n\
         gemm/regblock/f32/m128n128k64\n  \
           inst.executed                        48000\n  \
           shared.ld.wavefronts                 12288\n  \
           shared.ld.ideal_wavefronts           8192\n  \
           global.ld.sectors                    8192\n",
    )
    .unwrap();
    let csv = tmp.path().join("ncu.csv");
    std::fs::write(
        &csv,
        "\"ID\",\"Kernel Name\",\"smsp__inst_executed.sum\",\"l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ld.sum\",\"l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum\",\"l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum\"\n\
         \"\",\"\",\"inst\",\"\",\"\",\"sector\"\n\
         \"0\",\"orac_gemm_regblock\",\"52,000\",\"12288\",\"4096\",\"8192\"\n",
    )
    .unwrap();
    let out = Command::new("python3")
        .arg(repo().join("ci/ncu_compare.py"))
        .args([&counters, &csv])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(
        text.contains("ncu launch 0: `orac_gemm_regblock`"),
        "{text}"
    );
    assert!(
        text.contains("| `shared.ld.wavefronts` | 12288 | `l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ld.sum` | 12288 | 1.000 |"),
        "{text}"
    );
    // conflicts are wavefronts beyond the ideal on both sides
    assert!(
        text.contains("| `shared.ld.wavefronts-shared.ld.ideal_wavefronts` | 4096 | `l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum` | 4096 | 1.000 |"),
        "{text}"
    );
    assert!(
        text.contains("| `inst.executed` | 48000 | `smsp__inst_executed.sum` | 52000 | 1.083 |"),
        "{text}"
    );
    // a benchmark without a launch is said, and nothing matched at all is exit 1
    std::fs::write(&counters, "gemm/tiled/f32/m32n32k64\n  inst.executed 5\n").unwrap();
    let out = Command::new("python3")
        .arg(repo().join("ci/ncu_compare.py"))
        .args([&counters, &csv])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("no ncu launch whose kernel name contains `tiled`"));
}
