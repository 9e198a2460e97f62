//! `orac export`: the formats parse and say the same as the run.

mod common;

use common::*;
use orac::history::synthetic::{self, Track};
use orac::store::{Status, save_run};
use orac::suite::Family;

fn two_runs() -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let tmp = tempfile::tempdir().unwrap();
    let gemm = |_: usize| 2e-3;
    let copy = |_: usize| 1e-4;
    let tracks = [
        Track {
            id: "gemm/t/f32/x".into(),
            family: Family::Gemm,
            level: &gemm,
        },
        Track {
            id: "memcpy/t/u8/x".into(),
            family: Family::Memcpy,
            level: &copy,
        },
    ];
    let results = tmp.path().join("results");
    let first = save_run(
        &results,
        &synthetic::run("k", &"a".repeat(40), 0, 0, &tracks, 15),
    )
    .unwrap();
    let mut second = synthetic::run("k", &"b".repeat(40), 1, 0, &tracks, 15);
    second.benchmarks[1].status = Status::VerificationFailed;
    second.benchmarks[1].summary = None;
    let second = save_run(&results, &second).unwrap();
    (tmp, vec![first, second])
}

fn export(dir: &std::path::Path, args: &[&str]) -> String {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let out = orac(dir, &all);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn bencher_and_github_action_benchmark_json() {
    let (tmp, runs) = two_runs();
    let first = runs[0].to_str().unwrap();
    let bmf: serde_json::Value =
        serde_json::from_str(&export(tmp.path(), &["--format", "bmf", first])).unwrap();
    let latency = &bmf["gemm/t/f32/x"]["latency"];
    let (v, lo, hi) = (
        latency["value"].as_f64().unwrap(),
        latency["lower_value"].as_f64().unwrap(),
        latency["upper_value"].as_f64().unwrap(),
    );
    assert!(
        lo <= v && v <= hi && (v / 2e6 - 1.0).abs() < 0.05,
        "{latency}"
    );
    let flops = bmf["gemm/t/f32/x"]["flop-per-second"]["value"]
        .as_f64()
        .unwrap();
    assert!((flops * v * 1e-9 / (1u64 << 31) as f64 - 1.0).abs() < 1e-9);
    assert!(bmf["memcpy/t/u8/x"].get("flop-per-second").is_none());

    // The newest run by default: its failed benchmark is left out of the trackers' JSON.
    let gab: serde_json::Value =
        serde_json::from_str(&export(tmp.path(), &["--format", "gab-bigger"])).unwrap();
    let rows = gab.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "gemm/t/f32/x");
    assert_eq!(rows[0]["unit"], "GFLOP/s");
    let small: serde_json::Value =
        serde_json::from_str(&export(tmp.path(), &["--format", "gab-smaller", first])).unwrap();
    assert_eq!(small.as_array().unwrap().len(), 2);
    assert_eq!(small[0]["unit"], "ns");
}

#[test]
fn csv_has_every_benchmark_of_every_run_with_its_status() {
    let (tmp, _) = two_runs();
    let text = export(tmp.path(), &["--format", "csv"]);
    let lines: Vec<&str> = text.trim_end().lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("started_at,commit,"));
    assert!(lines[4].contains("memcpy/t/u8/x") && lines[4].contains("verification_failed"));
    let columns = lines[0].split(',').count();
    assert!(lines.iter().all(|l| l.split(',').count() == columns));

    // --out writes the same text to a file.
    let out = orac(
        tmp.path(),
        &["export", "--format", "csv", "--out", "all.csv"],
    );
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("all.csv")).unwrap(),
        text
    );
}

#[test]
fn one_run_formats_refuse_several_and_missing_input_is_a_usage_error() {
    let (tmp, _) = two_runs();
    let out = orac(tmp.path(), &["export", "--format", "bmf", "results"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--format bmf exports one run"),
        "{}",
        stderr(&out)
    );
    let out = orac(tmp.path(), &["export", "--format", "csv", "nope.json"]);
    assert_eq!(out.status.code(), Some(2));
    let empty = tempfile::tempdir().unwrap();
    let out = orac(empty.path(), &["export", "--format", "csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no stored runs"));
    std::fs::write(tmp.path().join("bad.json"), "[]").unwrap();
    let out = orac(tmp.path(), &["export", "--format", "bmf", "bad.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad.json"));
}

#[test]
fn one_run_formats_ask_which_machine_when_there_are_several() {
    let (tmp, _) = two_runs();
    let flat = |_: usize| 1e-3;
    let tracks = [Track {
        id: "gemm/t/f32/x".into(),
        family: Family::Gemm,
        level: &flat,
    }];
    save_run(
        &tmp.path().join("results"),
        &synthetic::run("other", &"c".repeat(40), 5, 0, &tracks, 15),
    )
    .unwrap();
    let out = orac(tmp.path(), &["export", "--format", "bmf"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("pass --hardware"), "{}", stderr(&out));
    let bmf: serde_json::Value =
        serde_json::from_str(&export(tmp.path(), &["--format", "bmf", "--hardware", "k"])).unwrap();
    assert!(bmf.get("gemm/t/f32/x").is_some());
    // CSV takes every run of every machine unless told otherwise.
    let csv = export(tmp.path(), &["--format", "csv"]);
    assert_eq!(csv.trim_end().lines().count(), 1 + 2 + 2 + 1);
    let csv = export(tmp.path(), &["--format", "csv", "--hardware", "other"]);
    assert_eq!(csv.trim_end().lines().count(), 2);
}

/// One run without a git commit: a verified gemm, a gemm whose verification failed, a
/// throttled copy and a skipped attention shape.
fn mixed_run() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let level = |_: usize| 1e-3;
    let track = |id: &str, family| Track {
        id: id.into(),
        family,
        level: &level,
    };
    let tracks = [
        track("gemm/ok/f32/x", Family::Gemm),
        track("gemm/bad/f32/x", Family::Gemm),
        track("memcpy/hot/u8/x", Family::Memcpy),
        track("attention/big/f32/x", Family::Attention),
    ];
    let mut run = synthetic::run("k", &"b".repeat(40), 0, 0, &tracks, 15);
    run.git.commit = None;
    run.git.dirty = None;
    run.benchmarks[1].status = Status::VerificationFailed;
    run.benchmarks[1].summary = None;
    run.benchmarks[2].throttled = true;
    run.benchmarks[3].status = Status::Skipped;
    run.benchmarks[3].summary = None;
    let path = save_run(&tmp.path().join("results"), &run).unwrap();
    (tmp, path)
}

fn export_with_stderr(dir: &std::path::Path, args: &[&str]) -> (serde_json::Value, String) {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let out = orac(dir, &all);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    (serde_json::from_str(&stdout(&out)).unwrap(), stderr(&out))
}

/// Bencher Metric Format as bencher.dev documents it: an object of benchmarks, each an
/// object of measures, each `{value, lower_value?, upper_value?}` with numbers.
fn assert_bmf(bmf: &serde_json::Value) {
    for (name, measures) in bmf.as_object().expect("BMF is an object") {
        let measures = measures
            .as_object()
            .expect("a benchmark is an object of measures");
        assert!(!measures.is_empty(), "{name}");
        for (measure, metric) in measures {
            assert!(
                ["latency", "flop-per-second", "byte-per-second"].contains(&measure.as_str()),
                "{measure}"
            );
            let m = metric.as_object().unwrap();
            assert!(
                m.keys()
                    .all(|k| ["value", "lower_value", "upper_value"].contains(&k.as_str())),
                "{metric}"
            );
            let get = |k: &str| m[k].as_f64().unwrap();
            assert!(get("value").is_finite() && get("value") > 0.0, "{metric}");
            assert!(
                get("lower_value") <= get("value") && get("value") <= get("upper_value"),
                "{metric}"
            );
        }
    }
}

/// github-action-benchmark's custom format: an array of `{name, unit, value, range?,
/// extra?}`, strings but for the numeric value; orac's `range` is `± x`.
fn assert_gab(gab: &serde_json::Value) {
    for row in gab.as_array().expect("an array") {
        let o = row.as_object().unwrap();
        assert!(
            o.keys()
                .all(|k| ["name", "unit", "value", "range", "extra"].contains(&k.as_str())),
            "{row}"
        );
        assert!(o["name"].is_string() && o["unit"].is_string(), "{row}");
        assert!(o["value"].as_f64().unwrap() > 0.0, "{row}");
        let range = o["range"].as_str().unwrap();
        let half: f64 = range
            .strip_prefix("± ")
            .unwrap_or_else(|| panic!("range {range:?} is not '± x'"))
            .parse()
            .unwrap();
        assert!(half >= 0.0 && half < o["value"].as_f64().unwrap(), "{row}");
        let extra = o["extra"].as_str().unwrap();
        assert!(!extra.contains("nogit"), "{extra:?}");
    }
}

#[test]
fn tracker_exports_follow_their_formats_and_name_what_they_leave_out() {
    let (tmp, path) = mixed_run();
    let run = path.to_str().unwrap();
    let (bmf, err) = export_with_stderr(tmp.path(), &["--format", "bmf", run]);
    assert_bmf(&bmf);
    assert_eq!(bmf.as_object().unwrap().len(), 1, "{bmf}");
    assert!(bmf.get("gemm/ok/f32/x").is_some());
    assert!(
        err.contains("warning: 3 of 4 benchmarks left out of the bmf export"),
        "{err}"
    );
    assert!(
        err.contains("1 failed (verification_failed) (gemm/bad/f32/x)"),
        "{err}"
    );
    assert!(err.contains("1 throttled (memcpy/hot/u8/x)"), "{err}");
    assert!(err.contains("1 skipped (attention/big/f32/x)"), "{err}");
    assert!(err.contains("--include-throttled"), "{err}");

    for format in ["gab-smaller", "gab-bigger"] {
        let (gab, err) = export_with_stderr(tmp.path(), &["--format", format, run]);
        assert_gab(&gab);
        assert_eq!(gab.as_array().unwrap().len(), 1, "{gab}");
        // No commit in the run: the tooltip says nothing of one (never "commit nogit").
        let extra = gab[0]["extra"].as_str().unwrap();
        assert_eq!(extra, "15 samples\nk", "{extra:?}");
        assert!(
            err.contains(&format!("left out of the {format} export")),
            "{err}"
        );
    }

    // Asked for, throttled results go in, marked in the tooltip; failed ones still cannot.
    let (gab, err) = export_with_stderr(
        tmp.path(),
        &["--format", "gab-smaller", "--include-throttled", run],
    );
    assert_gab(&gab);
    let hot = gab
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "memcpy/hot/u8/x")
        .expect("the throttled copy is exported");
    assert!(
        hot["extra"].as_str().unwrap().contains("throttled"),
        "{hot}"
    );
    assert!(err.contains("2 of 4 benchmarks left out"), "{err}");
    assert!(!err.contains("--include-throttled exports"), "{err}");
    let (bmf, _) = export_with_stderr(tmp.path(), &["--format", "bmf", "--include-throttled", run]);
    assert_bmf(&bmf);
    assert!(bmf.get("memcpy/hot/u8/x").is_some());
}

#[test]
fn gab_range_is_plus_minus_and_extra_names_the_commit() {
    let (tmp, runs) = two_runs();
    let (gab, err) = export_with_stderr(
        tmp.path(),
        &["--format", "gab-smaller", runs[0].to_str().unwrap()],
    );
    assert_gab(&gab);
    assert!(err.is_empty(), "nothing left out, nothing said: {err}");
    let row = &gab[0];
    assert_eq!(row["extra"], "15 samples\nk\ncommit aaaaaaa");
    assert!(row["range"].as_str().unwrap().starts_with("± "));
}

/// orac's hand-written RFC 4180 quoting, read back by the csv crate: fields with commas,
/// quotes and line breaks come back as they were, and every record has the header's width.
#[test]
fn csv_reads_back_with_a_real_csv_parser() {
    let level = |_: usize| 1e-3;
    let ids = [
        "gemm/plain/f32/x",
        "gemm/with,comma/f32/x",
        "gemm/with\"quote\"/f32/x",
        "gemm/with\nnewline/f32/x",
    ];
    let tracks: Vec<Track> = ids
        .iter()
        .map(|id| Track {
            id: (*id).into(),
            family: Family::Gemm,
            level: &level,
        })
        .collect();
    // Stored runs refuse such ids; the writer is checked on one in memory, and on the
    // backend and hardware key, which are free text.
    let mut run = synthetic::run("k", &"c".repeat(40), 0, 0, &tracks, 15);
    run.backend = "cpu, \"odd\"".into();
    let text = format!(
        "{}\n{}",
        orac::report::CSV_HEADER,
        orac::report::csv_rows(&run)
    );
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header.join(","), orac::report::CSV_HEADER);
    let id_col = header.iter().position(|h| h == "id").unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), ids.len());
    for (record, id) in records.iter().zip(ids) {
        assert_eq!(record.len(), header.len());
        assert_eq!(&record[id_col], id);
        assert_eq!(
            &record[header.iter().position(|h| h == "backend").unwrap()],
            run.backend
        );
        assert_eq!(
            &record[header.iter().position(|h| h == "status").unwrap()],
            "ok"
        );
    }
}
