//! The results store: atomic, never overwriting, and strict about what it reads back.

use std::collections::BTreeMap;

use orac::measure::Settings;
use orac::store::{
    BenchResult, GitInfo, Hardware, RunRecord, SCHEMA_VERSION, Status, load_run, save_run,
};
use orac::suite::{Dtype, Family, Profile};

fn record() -> RunRecord {
    RunRecord {
        schema_version: SCHEMA_VERSION,
        orac_version: "test".into(),
        command_line: vec!["orac".into(), "run".into()],
        started_at: "2026-11-23T01:02:03Z".into(),
        finished_at: "2026-11-23T01:03:03Z".into(),
        backend: "cpu".into(),
        profile: Profile::Quick,
        kernels: "built-in".into(),
        settings: Settings::for_profile(Profile::Quick),
        git: GitInfo {
            commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            branch: Some("main".into()),
            dirty: Some(false),
        },
        hardware: Hardware::cpu("Test CPU".into(), 1, Some(1 << 30), None),
        environment: BTreeMap::new(),
        benchmarks: vec![BenchResult {
            id: "gemm/t/f32/m1n1k1".into(),
            family: Family::Gemm,
            kernel: "t".into(),
            dtype: Dtype::F32,
            params: BTreeMap::new(),
            kernel_source_hash: "ab".repeat(32),
            flops: 2,
            bytes: 12,
            status: Status::Ok,
            error: None,
            verification: None,
            timing: None,
            samples: vec![1e-6, 2e-6, 3e-6],
            runs_per_sample: 1,
            warmup_runs: 3,
            stop_reason: None,
            summary: orac::stats::Summary::from_samples(&[1e-6, 2e-6, 3e-6]),
            flop_per_s: Some(1e6),
            bytes_per_s: Some(6e6),
            throttled: false,
            contended: false,
            reference: false,
            clocks: None,
            counters: None,
            hotspots: Vec::new(),
            warnings: vec![],
        }],
        warnings: vec![],
        shard: None,
        run_id: None,
        seed: None,
    }
}

#[test]
fn saved_runs_round_trip_under_the_hardware_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = save_run(dir.path(), &record()).unwrap();
    assert_eq!(
        path,
        dir.path()
            .join("cpu-test-x1")
            .join("20261123T010203Z-0123456.json")
    );
    let back = load_run(&path).unwrap();
    assert_eq!(back.benchmarks[0].samples, vec![1e-6, 2e-6, 3e-6]);
    assert_eq!(back.git, record().git);
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn results_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let first = save_run(dir.path(), &record()).unwrap();
    let first_bytes = std::fs::read(&first).unwrap();
    // Same start time and commit: a second name, the first file untouched.
    let mut other = record();
    other.backend = "second".into();
    let second = save_run(dir.path(), &other).unwrap();
    assert_ne!(first, second);
    assert!(second.to_string_lossy().ends_with("-0123456-1.json"));
    assert_eq!(std::fs::read(&first).unwrap(), first_bytes);
    assert_eq!(load_run(&second).unwrap().backend, "second");

    // A foreign file already at the next name is kept too.
    let squatter = first.with_file_name("20261123T010203Z-0123456-2.json");
    std::fs::write(&squatter, "precious").unwrap();
    let third = save_run(dir.path(), &record()).unwrap();
    assert!(third.to_string_lossy().ends_with("-3.json"));
    assert_eq!(std::fs::read_to_string(&squatter).unwrap(), "precious");
}

#[test]
fn unwritable_results_directory_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("results");
    std::fs::write(&blocker, "a file, not a directory").unwrap();
    let err = save_run(&blocker, &record()).unwrap_err();
    assert!(err.to_string().contains("results"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&blocker).unwrap(),
        "a file, not a directory"
    );
}

#[test]
fn wrong_schema_shapes_are_rejected_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let mut value = serde_json::to_value(record()).unwrap();
    value["benchmarks"][0]["samples"] = serde_json::json!("not a list");
    std::fs::write(&path, value.to_string()).unwrap();
    let err = load_run(&path).unwrap_err();
    assert_eq!(err.exit_code(), orac::ExitCode::Usage);
    let msg = err.to_string();
    assert!(
        msg.contains("r.json") && msg.contains("invalid type"),
        "{msg}"
    );
}

#[test]
fn every_committed_run_still_loads() {
    // Schema v1 grew optional fields during development; committed history must stay
    // readable (a change that breaks this needs a schema version bump and a migration).
    let results = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    let runs = orac::store::find_runs(&results).unwrap();
    assert!(
        !runs.is_empty(),
        "results/ holds at least one committed run"
    );
    for path in runs {
        let run = load_run(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!run.benchmarks.is_empty(), "{}", path.display());
        // Written before the contention check: absent means not contended, and such a
        // run still counts in baselines and comparisons.
        assert!(run.benchmarks.iter().all(|b| !b.contended));
        let entries = orac::store::entries_from_runs(std::slice::from_ref(&run), &|_| true);
        if run.backend == "emu" {
            // an `orac counters` record: counts, never samples, so nothing a baseline takes
            assert!(
                run.benchmarks.iter().any(|b| b.counters.is_some()),
                "{}",
                path.display()
            );
            assert!(run.benchmarks.iter().all(|b| b.samples.is_empty()));
            assert!(entries.is_empty(), "{}", path.display());
        } else {
            assert!(!entries.is_empty(), "{}", path.display());
        }
    }
}
