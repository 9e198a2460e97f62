//! End-to-end tests of the `orac` binary on the CPU backend.

mod common;

use common::*;
use orac::store::{Status, load_run};

#[test]
fn list_covers_all_three_families_and_filters() {
    let out = orac(&repo(), &["list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ids = stdout(&out);
    for family in ["memcpy/", "gemm/", "attention/"] {
        assert!(
            ids.lines().any(|l| l.starts_with(family)),
            "{family}: {ids}"
        );
    }
    let out = orac(&repo(), &["list", "--filter", "gemm"]);
    let ids = stdout(&out);
    assert!(!ids.is_empty());
    assert!(ids.lines().all(|l| l.contains("gemm")), "{ids}");
}

#[test]
fn quick_suite_runs_end_to_end_and_saves_one_file() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let out = orac(
        &repo(),
        &[
            "run",
            "--results-dir",
            results.to_str().unwrap(),
            "--max-time",
            "0.02",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    for family in ["memcpy/", "gemm/", "attention/"] {
        assert!(table.contains(family), "{family} missing from:\n{table}");
    }
    let files = run_files(&results);
    assert_eq!(files.len(), 1, "{files:?}");
    let run = load_run(&files[0]).unwrap();
    assert_eq!(run.backend, "cpu");
    assert!(!run.benchmarks.is_empty());
    for b in &run.benchmarks {
        assert_eq!(b.status, Status::Ok, "{}: {:?}", b.id, b.error);
        assert!(b.verification.as_ref().unwrap().passed);
        let s = b.summary.as_ref().unwrap();
        assert!(b.samples.len() >= 3 && s.n == b.samples.len());
        assert!(s.median > 0.0 && s.ci_low <= s.median && s.median <= s.ci_high);
        assert!(b.bytes_per_s.unwrap() > 0.0);
        // Copies do no arithmetic; everything else, the triad included, does.
        assert_eq!(b.flop_per_s.is_some(), b.flops > 0);
        assert_eq!(b.flops == 0, b.id.starts_with("memcpy/copy-"), "{}", b.id);
        assert_eq!(b.kernel_source_hash.len(), 64);
        assert!(b.timing.as_deref().unwrap().contains("per sample"));
    }
    assert!(stderr(&out).contains("saved"));
}

#[test]
fn filter_runs_only_matching_benchmarks() {
    let out = orac(
        &repo(),
        &[
            "run",
            "--filter",
            "^gemm/blocked/.*m128n128",
            "--no-save",
            "--max-time",
            "0.02",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("gemm/blocked/f32/m128n128k128"));
    assert!(!table.contains("memcpy/") && !table.contains("attention/"));
    assert!(stderr(&out).contains("not saved"));
}

const WRONG_GEMM: &str = r#"
/* Off by 0.1%: far beyond the f32 tolerance. */
void orac_gemm_test(const float *A, const float *B, float *C, long M, long N, long K) {
    for (long i = 0; i < M; i++)
        for (long j = 0; j < N; j++) {
            float acc = 0.0f;
            for (long k = 0; k < K; k++) acc += A[i * K + k] * B[k * N + j];
            C[i * N + j] = acc * 1.001f;
        }
}
"#;

const LAZY_GEMM: &str = r#"
/* Never writes the last row: the NaN poison must catch it. */
void orac_gemm_test(const float *A, const float *B, float *C, long M, long N, long K) {
    for (long i = 0; i + 1 < M; i++)
        for (long j = 0; j < N; j++) {
            float acc = 0.0f;
            for (long k = 0; k < K; k++) acc += A[i * K + k] * B[k * N + j];
            C[i * N + j] = acc;
        }
}
"#;

#[test]
fn wrong_kernels_fail_verification_with_exit_3_and_the_rest_is_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    add_gemm_kernel(&kernels, "wrong", WRONG_GEMM);
    add_gemm_kernel(&kernels, "lazy", LAZY_GEMM);
    let results = tmp.path().join("results");
    let out = orac(
        &repo(),
        &[
            "--kernels",
            kernels.to_str().unwrap(),
            "run",
            "--filter",
            "^gemm/(wrong|lazy|blocked)/f32/m128n128",
            "--results-dir",
            results.to_str().unwrap(),
            "--max-time",
            "0.02",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stdout(&out).contains("FAIL"), "{}", stdout(&out));
    assert!(stderr(&out).contains("2 of 3 benchmarks failed"));

    let files = run_files(&results);
    assert_eq!(files.len(), 1, "the run is saved despite the failures");
    let run = load_run(&files[0]).unwrap();
    let get = |kernel: &str| run.benchmarks.iter().find(|b| b.kernel == kernel).unwrap();
    let (good, wrong, lazy) = (get("blocked"), get("wrong"), get("lazy"));
    assert_eq!(good.status, Status::Ok);
    assert!(!good.samples.is_empty());
    for bad in [wrong, lazy] {
        assert_eq!(bad.status, Status::VerificationFailed);
        assert!(bad.samples.is_empty(), "a wrong kernel is never timed");
        assert!(bad.summary.is_none());
    }
    let v = wrong.verification.as_ref().unwrap();
    assert!(
        v.max_rel_error.unwrap() > 1e-4 && v.nonfinite_count == 0,
        "{v:?}"
    );
    let v = lazy.verification.as_ref().unwrap();
    assert_eq!((v.nonfinite_count, v.max_rel_error), (128, None));
}

#[test]
fn kernel_that_does_not_compile_is_reported_with_the_compiler_log() {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    add_gemm_kernel(
        &kernels,
        "broken",
        "void orac_gemm_test( { this is not C }\n",
    );
    let out = orac(
        &repo(),
        &[
            "--kernels",
            kernels.to_str().unwrap(),
            "run",
            "--filter",
            "^gemm/(broken|blocked)/f32/m128n128",
            "--no-save",
            "--max-time",
            "0.02",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("failed to compile"), "{err}");
    assert!(
        err.contains("cpu/broken.c"),
        "the log names the source file: {err}"
    );
    assert!(
        err.contains("error"),
        "the compiler's own message is shown: {err}"
    );
    assert!(stdout(&out).contains("gemm/blocked/f32/m128n128k128"));
}

#[test]
fn corrupt_results_file_is_named_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let hw = results.join("cpu-test-x1");
    std::fs::create_dir_all(&hw).unwrap();
    let cases = [
        ("truncated.json", "{\"schema_version\": 1, \"orac_ver"),
        ("empty.json", ""),
        ("future.json", "{\"schema_version\": 99}"),
        ("not-a-run.json", "[1, 2, 3]"),
    ];
    for (name, text) in cases {
        let path = hw.join(name);
        std::fs::write(&path, text).unwrap();
        let out = orac(tmp.path(), &["show", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(name),
            "{name}: the message names the file: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        std::fs::remove_file(&path).unwrap();
    }
    std::fs::write(hw.join("bad.json"), [0xff, 0xfe, 0x00]).unwrap();
    let out = orac(
        tmp.path(),
        &["runs", "--results-dir", results.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad.json"), "{}", stderr(&out));
}

#[test]
fn running_outside_a_git_repository_works_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let out = orac_with_env(
        tmp.path(),
        &[
            "run",
            "--filter",
            "^memcpy/copy-st/u8/1MiB$",
            "--max-time",
            "0.02",
        ],
        &[(
            "GIT_CEILING_DIRECTORIES",
            tmp.path().parent().unwrap().to_str().unwrap(),
        )],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not in a git repository"),
        "{}",
        stderr(&out)
    );
    let files = run_files(&tmp.path().join("results"));
    assert_eq!(files.len(), 1);
    assert!(files[0].to_string_lossy().ends_with("-nogit.json"));
    let run = load_run(&files[0]).unwrap();
    assert!(run.git.commit.is_none());
    assert!(run.warnings.iter().any(|w| w.contains("git")));
}

#[test]
fn usage_errors_exit_2_with_a_clear_message() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["run", "--filter", "gemm[", "--no-save"],
            "invalid filter regex",
        ),
        (
            &["ab", "--base", "HEAD", "--head", "HEAD", "--alpha", "0"],
            "--alpha 0: must be above 0",
        ),
        (
            &["ab", "--base", "HEAD", "--head", "HEAD", "--budget=-1"],
            "--budget",
        ),
        (
            &["run", "--filter", "^nothing$", "--no-save"],
            "no benchmark matches",
        ),
        (
            &["run", "--backend", "cuda", "--no-save"],
            "CUDA backend unavailable",
        ),
        (&["show", "/nonexistent/run.json"], "/nonexistent/run.json"),
    ];
    for (args, message) in cases {
        let out = orac(&repo(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn missing_c_compiler_is_an_environment_error() {
    let out = orac_with_env(&repo(), &["run", "--no-save"], &[("CC", "/nonexistent/cc")]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("no C compiler"), "{}", stderr(&out));
}

#[test]
fn verify_checks_every_benchmark_without_timing() {
    let out = orac(
        &repo(),
        &["verify", "--filter", "gemm/blocked|memcpy/copy-mt"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("gemm/blocked/f32/m128n128k128"));
    assert!(table.contains("ok (exact)"));
    assert!(table.contains("match the reference"));
}

#[test]
#[ignore = "needs an NVIDIA GPU: run on the GPU machine (ci/gpu-run.sh does the same)"]
fn cuda_kernels_match_the_reference_on_a_gpu() {
    let out = orac(&repo(), &["verify", "--backend", "cuda"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let table = stdout(&out);
    // Every tier and every vendor reference, by id prefix.
    for kernel in [
        "memcpy/dtod/",
        "memcpy/copy-vec/",
        "gemm/cublas/",
        "gemm/cublas-bf16/",
        "gemm/naive/",
        "gemm/tiled/",
        "gemm/regblock/",
        "gemm/wmma/",
        "gemm/mma/",
        "attention/rowwise/",
        "attention/flash/",
    ] {
        assert!(table.contains(kernel), "{kernel} missing:\n{table}");
    }
}

#[test]
#[ignore = "needs an NVIDIA GPU: run on the GPU machine (ci/gpu-run.sh does the same)"]
fn a_gpu_run_records_references_clocks_and_graph_timing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = orac(
        tmp.path(),
        &[
            "run",
            "--backend",
            "cuda",
            "--filter",
            "^gemm/(cublas-bf16|mma)/bf16/m1024n1024k1024$",
            "--max-time",
            "0.3",
        ],
    );
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("vs ref"), "{}", stdout(&out));
    let run = load_run(&run_files(&tmp.path().join("results"))[0]).unwrap();
    let cublas = run
        .benchmarks
        .iter()
        .find(|b| b.kernel == "cublas-bf16")
        .unwrap();
    assert!(cublas.reference);
    for b in &run.benchmarks {
        assert!(
            b.clocks.is_some(),
            "{}: no NVML clocks ({:?})",
            b.id,
            b.warnings
        );
        assert!(b.timing.as_deref().unwrap_or("").contains("CUDA events"));
    }
}

#[test]
fn three_shards_cover_the_suite_once_and_merge_into_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let shards = tmp.path().join("shards");
    for k in 1..=3 {
        let out = orac(
            &repo(),
            &[
                "run",
                "--filter",
                "^gemm/",
                "--shard",
                &format!("{k}/3"),
                "--max-time",
                "0.02",
                "--results-dir",
                shards.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let files = run_files(&shards);
    assert_eq!(files.len(), 3);
    let mut ids: Vec<String> = files
        .iter()
        .flat_map(|f| load_run(f).unwrap().benchmarks.into_iter().map(|b| b.id))
        .collect();
    ids.sort();
    let listed = stdout(&orac(&repo(), &["list", "--filter", "^gemm/"]));
    let mut all: Vec<String> = listed.lines().map(str::to_string).collect();
    all.sort();
    assert_eq!(ids, all, "every benchmark exactly once across the shards");

    let merged_dir = tmp.path().join("merged");
    let mut args = vec!["merge", "--results-dir", merged_dir.to_str().unwrap()];
    let names: Vec<String> = files
        .iter()
        .map(|f| f.to_str().unwrap().to_string())
        .collect();
    args.extend(names.iter().map(String::as_str));
    let out = orac(&repo(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let merged = load_run(&run_files(&merged_dir)[0]).unwrap();
    let mut merged_ids: Vec<String> = merged.benchmarks.iter().map(|b| b.id.clone()).collect();
    merged_ids.sort();
    assert_eq!(merged_ids, all);
    assert!(merged.shard.is_none());

    // The same shard twice is not a run.
    let out = orac(
        &repo(),
        &[
            "merge",
            &names[0],
            &names[0],
            "--results-dir",
            merged_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("appears twice"));
}

#[test]
fn device_outside_the_visible_gpus_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = orac_with_env(
        tmp.path(),
        &["--device", "2", "list"],
        &[("CUDA_VISIBLE_DEVICES", "0,1")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--device 2: CUDA_VISIBLE_DEVICES=0,1 shows 2 GPU(s)"));
    let out = orac_with_env(
        tmp.path(),
        &["--device", "1", "list", "--backend", "cpu"],
        &[("CUDA_VISIBLE_DEVICES", "0,1")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn merging_shards_from_different_devices_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let shards = tmp.path().join("shards");
    for (k, device) in [(1, "0"), (2, "1")] {
        let out = orac_with_env(
            &repo(),
            &[
                "run",
                "--filter",
                "^gemm/blocked/f32/m(128|200)",
                "--shard",
                &format!("{k}/2"),
                "--max-time",
                "0.02",
                "--results-dir",
                shards.to_str().unwrap(),
            ],
            &[("CUDA_VISIBLE_DEVICES", device)],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let files = run_files(&shards);
    let merged = tmp.path().join("merged");
    let mut args = vec!["merge", "--results-dir", merged.to_str().unwrap()];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let out = orac(&repo(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = load_run(&run_files(&merged)[0]).unwrap();
    assert!(
        run.warnings
            .iter()
            .any(|w| w.contains("different devices (CUDA_VISIBLE_DEVICES 0, 1)")),
        "{:?}",
        run.warnings
    );
}

/// Every command of orac's clap definition (the root, then each subcommand, recursively),
/// with its path as typed: "orac", "orac run", "orac baseline set". clap's own `help`
/// subcommand and hidden commands (`worker`) are left out.
fn cli_commands() -> Vec<(String, clap::Command)> {
    fn walk(path: String, cmd: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
        out.push((path.clone(), cmd.clone()));
        for sub in cmd.get_subcommands() {
            if sub.is_hide_set() || sub.get_name() == "help" {
                continue;
            }
            walk(format!("{path} {}", sub.get_name()), sub, out);
        }
    }
    let mut cmd = <orac::cli::Cli as clap::CommandFactory>::command();
    cmd.build();
    let mut out = Vec::new();
    walk("orac".into(), &cmd, &mut out);
    out
}

/// `orac args…` as the binary parses it, in its one spelling (`Cli::normalized`).
fn parsed(args: &[&str]) -> String {
    let cli = <orac::cli::Cli as clap::Parser>::try_parse_from(
        std::iter::once("orac").chain(args.iter().copied()),
    )
    .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    format!("{:?}", cli.normalized().expect("normalizes"))
}

/// The whole CLI surface in one walk: one flag spelling per concept, on exactly the commands
/// that have the concept; help text on every visible command and argument; the old
/// spellings hidden but still parsed as the new ones; negative numbers reach orac's own
/// checks.
#[test]
fn cli_surface_has_one_spelling_per_concept_help_everywhere_and_hidden_aliases() {
    use std::collections::{BTreeMap, BTreeSet};
    let commands = cli_commands();
    assert!(commands.len() > 15, "{}", commands.len());
    // Old spellings that must not be visible anywhere: the concept has one name.
    const OLD: [&str; 5] = ["results", "baselines", "json", "markdown", "bench"];
    let mut takers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (path, cmd) in &commands {
        if path != "orac" && cmd.get_about().is_none() && cmd.get_long_about().is_none() {
            problems.push(format!("{path}: no help text"));
        }
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            let id = arg.get_id().as_str();
            let name = arg
                .get_long()
                .map_or_else(|| id.to_uppercase(), |l| format!("--{l}"));
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                problems.push(format!("{path} {name}: no help text"));
            }
            if arg.get_visible_aliases().is_some_and(|a| !a.is_empty()) {
                problems.push(format!(
                    "{path} {name}: a visible alias (one name per concept)"
                ));
            }
            let Some(long) = arg.get_long() else { continue };
            takers
                .entry(long.to_string())
                .or_default()
                .insert(path.trim_start_matches("orac ").to_string());
            let value = arg
                .get_value_names()
                .map(|v| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "));
            let mut expect = |ok: bool, what: &str| {
                if !ok {
                    problems.push(format!("{path} {name}: {what}"));
                }
            };
            expect(!OLD.contains(&long), "an old spelling, visible");
            if id.contains("results") {
                expect(
                    long == "results-dir",
                    "a results directory is --results-dir",
                );
            }
            if id.contains("baselines") {
                expect(
                    long == "baselines-dir",
                    "a baselines directory is --baselines-dir",
                );
            }
            if long == "out" || long.ends_with("-out") {
                expect(
                    value.as_deref() == Some("FILE"),
                    "--out and --*-out take a FILE",
                );
            }
            if long.ends_with("-dir") {
                expect(value.as_deref() == Some("DIR"), "--*-dir takes a DIR");
            }
            if id == "out_dir" {
                expect(long == "out-dir", "an output directory is --out-dir");
            }
            if id.contains("format") {
                expect(long == "format", "an output format is --format");
            }
            if id == "filter" {
                expect(
                    long == "filter" && arg.get_short() == Some('f'),
                    "selection is -f/--filter",
                );
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Each concept on exactly the commands where it means something.
    let on = |long: &str| -> Vec<&str> {
        takers
            .get(long)
            .map(|s| s.iter().map(String::as_str).collect())
            .unwrap_or_default()
    };
    let sorted = |mut v: Vec<&'static str>| {
        v.sort();
        v
    };
    assert_eq!(
        on("results-dir"),
        sorted(vec![
            "compare", "counters", "export", "history", "kernels", "merge", "report", "run",
            "runs", "show"
        ])
    );
    assert_eq!(
        on("baselines-dir"),
        sorted(vec!["baseline set", "baseline show", "compare", "report"])
    );
    assert_eq!(
        on("filter"),
        sorted(vec![
            "ab",
            "baseline set",
            "bisect",
            "counters",
            "history",
            "list",
            "report",
            "run",
            "verify"
        ])
    );
    assert_eq!(
        on("kernels"),
        sorted(vec!["counters", "info", "kernels", "list", "run", "verify"])
    );
    assert_eq!(
        on("device"),
        sorted(vec!["ab", "bisect", "info", "list", "run", "verify"])
    );
    assert_eq!(on("out"), vec!["export"]);
    assert_eq!(on("out-dir"), sorted(vec!["report", "verify"]));
    assert_eq!(
        on("format"),
        sorted(vec!["ab", "compare", "export", "history", "show"])
    );
    // The root takes nothing but --help and --version: everything else is per command.
    let root: Vec<&str> = commands[0]
        .1
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long())
        .collect();
    assert_eq!(root, ["help", "version"]);

    // Help that is specific to its command, and defaults shown.
    let arg = |path: &str, long: &str| {
        let (_, cmd) = commands.iter().find(|(p, _)| p == path).unwrap();
        cmd.get_arguments()
            .find(|a| a.get_long() == Some(long))
            .unwrap_or_else(|| panic!("{path} --{long}"))
            .clone()
    };
    let quick = orac::measure::Settings::for_profile(orac::suite::Profile::Quick).max_time;
    for path in ["orac run", "orac ab", "orac bisect"] {
        let help = arg(path, "max-time").get_help().unwrap().to_string();
        assert!(
            help.contains(&format!(
                "[default: the profile's, quick {} s",
                quick.as_secs_f64()
            )),
            "{path}: {help}"
        );
    }
    for path in ["orac run", "orac verify", "orac ab", "orac bisect"] {
        let isolation = arg(path, "isolation");
        for value in isolation.get_possible_values() {
            let help = value.get_help().map(|h| h.to_string()).unwrap_or_default();
            assert!(!help.contains("`orac run` process"), "{path} {help}");
        }
    }
    let report_hw = arg("orac report", "hardware")
        .get_help()
        .unwrap()
        .to_string();
    assert!(!report_hw.contains("history"), "{report_hw}");

    // The old spellings still parse, as the new ones.
    let same: [(&[&str], &[&str]); 9] = [
        (
            &["history", "--results", "x"],
            &["history", "--results-dir", "x"],
        ),
        (
            &["export", "--format", "csv", "--results", "x"],
            &["export", "--format", "csv", "--results-dir", "x"],
        ),
        (
            &[
                "report",
                "--results",
                "x",
                "--baselines",
                "b",
                "--out",
                "site",
            ],
            &[
                "report",
                "--results-dir",
                "x",
                "--baselines-dir",
                "b",
                "--out-dir",
                "site",
            ],
        ),
        (&["history", "--json"], &["history", "--format", "json"]),
        (&["show", "--markdown"], &["show", "--format", "markdown"]),
        (
            &["bisect", "--good", "a", "--bad", "b", "--bench", "gemm/x"],
            &["bisect", "--good", "a", "--bad", "b", "--filter", "gemm/x"],
        ),
        (&["--kernels", "k", "run"], &["run", "--kernels", "k"]),
        (&["--device", "1", "verify"], &["verify", "--device", "1"]),
        (
            &["--device", "1", "--kernels", "k", "list"],
            &["list", "--device", "1", "--kernels", "k"],
        ),
    ];
    for (old, new) in same {
        assert_eq!(parsed(old), parsed(new), "{old:?} vs {new:?}");
    }
    assert!(parsed(&["history", "--results-dir", "x"]).contains("results_dir: \"x\""));
    assert!(parsed(&["history", "--json"]).contains("format: Json"));
    // An old flag and its new spelling together are a contradiction, not a silent pick.
    for args in [
        &["orac", "history", "--json", "--format", "table"][..],
        &["orac", "show", "--markdown", "--format", "table"],
    ] {
        assert!(
            <orac::cli::Cli as clap::Parser>::try_parse_from(args).is_err(),
            "{args:?}"
        );
    }
    let twice = <orac::cli::Cli as clap::Parser>::try_parse_from([
        "orac", "--device", "1", "run", "--device", "2",
    ])
    .unwrap()
    .normalized();
    assert!(twice.is_err(), "{twice:?}");

    // A negative number is a value (for orac to refuse), not an unknown flag.
    for cmd in [
        &["run"][..],
        &["ab", "--base", "a", "--head", "b"],
        &["bisect", "--good", "a", "--bad", "b", "-f", "x"],
    ] {
        let mut args = cmd.to_vec();
        args.extend(["--max-time", "-1"]);
        assert!(parsed(&args).contains("max_time: Some(-1.0)"), "{args:?}");
    }
}

#[test]
fn a_negative_max_time_is_refused_by_name_and_meaningless_flags_are_ignored_aloud() {
    let tmp = tempfile::tempdir().unwrap();
    let out = orac(tmp.path(), &["run", "--no-save", "--max-time", "-1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--max-time -1: must be a positive number of seconds"),
        "{}",
        stderr(&out)
    );
    // `orac --device I runs` (the old global flag) still works, and says it meant nothing.
    let out = orac(tmp.path(), &["--device", "1", "runs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--device means nothing to `orac runs`"),
        "{}",
        stderr(&out)
    );
}

/// Failures are red on a terminal (or with `CLICOLOR_FORCE`), and never coloured where
/// colour is unwanted: `NO_COLOR`, or output to a pipe or a file (as here, and in CI logs).
#[test]
fn failures_are_coloured_only_where_colour_is_wanted() {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    add_gemm_kernel(&kernels, "wrong", WRONG_GEMM);
    let args = [
        "verify",
        "--backend",
        "cpu",
        "--kernels",
        kernels.to_str().unwrap(),
        "--filter",
        "^gemm/(wrong|blocked)/f32/m128n128k128$",
    ];
    let red = "\x1b[1m\x1b[31m";
    let forced = orac_with_env(tmp.path(), &args, &[("CLICOLOR_FORCE", "1")]);
    assert_eq!(forced.status.code(), Some(3), "{}", stderr(&forced));
    let table = stdout(&forced);
    let fail_row = table.lines().find(|l| l.contains("gemm/wrong/")).unwrap();
    assert!(fail_row.contains(&format!("{red}FAIL")), "{fail_row:?}");
    let ok_row = table.lines().find(|l| l.contains("gemm/blocked/")).unwrap();
    assert!(!ok_row.contains('\x1b'), "{ok_row:?}");
    assert!(
        stderr(&forced).contains(&format!("{red}error")),
        "{}",
        stderr(&forced)
    );
    for env in [&[][..], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]] {
        let out = orac_with_env(tmp.path(), &args, env);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(stdout(&out).contains("FAIL"), "{}", stdout(&out));
        assert!(!stdout(&out).contains('\x1b'), "{env:?}: {}", stdout(&out));
        assert!(!stderr(&out).contains('\x1b'), "{env:?}: {}", stderr(&out));
    }
}

#[test]
fn on_a_terminal_a_run_shows_a_progress_bar_with_an_eta_and_the_finished_lines() {
    // `script` (util-linux) gives orac a pseudo-terminal for stderr.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no `script` to make a terminal");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("tty.txt");
    let orac = env!("CARGO_BIN_EXE_orac");
    let out = std::process::Command::new("script")
        .args(["-qec"])
        .arg(format!(
            "{orac} run --no-save --max-time 0.05 --filter '^memcpy/copy-st/u8/1MiB$'"
        ))
        .arg(&log)
        .current_dir(repo())
        .env("ORAC_CONTENTION", "ignore")
        .env(
            "ORAC_CACHE_DIR",
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("kernel-cache"),
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("ETA"), "{text}");
    assert!(text.contains("[  1/1] memcpy/copy-st/u8/1MiB"), "{text}");
    // The bar is gone before the table is printed.
    let table = text.find("│ benchmark").unwrap();
    assert!(!text[table..].contains("ETA"), "{text}");
}
