//! `orac history` over a synthetic stored history in a temporary git repository.

mod common;

use std::path::Path;

use common::*;
use orac::history::synthetic::{self, Track};
use orac::store::save_run;
use orac::suite::Family;

const KEY: &str = "cpu-synthetic-x2";

/// 40 commits; `gemm/step` gets 5% slower at commit 25, `memcpy/flat` stays put. Commits
/// 10..13 have two runs each. Plus a dirty run, a run of a commit off the branch, and a
/// corrupt file.
fn fixture() -> (tempfile::TempDir, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let ids = synthetic::commit_chain(tmp.path(), 40).unwrap();
    let step = |i: usize| if i < 25 { 1e-3 } else { 1.05e-3 };
    let flat = |_: usize| 2e-4;
    let tracks = [
        Track {
            id: "gemm/step/f32/x".into(),
            family: Family::Gemm,
            level: &step,
        },
        Track {
            id: "memcpy/flat/u8/x".into(),
            family: Family::Memcpy,
            level: &flat,
        },
    ];
    let results = tmp.path().join("results");
    for (i, id) in ids.iter().enumerate() {
        let reps = if (10..13).contains(&i) { 2 } else { 1 };
        for rep in 0..reps {
            save_run(&results, &synthetic::run(KEY, id, i, rep, &tracks, 20)).unwrap();
        }
    }
    let mut dirty = synthetic::run(KEY, &ids[5], 5, 9, &tracks, 20);
    dirty.git.dirty = Some(true);
    save_run(&results, &dirty).unwrap();
    let off = synthetic::run(KEY, &"ab".repeat(20), 7, 9, &tracks, 20);
    save_run(&results, &off).unwrap();
    std::fs::write(
        results.join(KEY).join("20260301T000000Z-broken.json"),
        "{\"schema_v",
    )
    .unwrap();
    (tmp, ids)
}

fn history_json(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["history", "--json"];
    args.extend_from_slice(extra);
    let out = orac(dir, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn series<'a>(h: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    h["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap()
}

#[test]
fn finds_the_step_at_its_commit_and_sets_aside_what_does_not_belong() {
    let (tmp, ids) = fixture();
    let h = history_json(tmp.path(), &[]);
    assert_eq!(h["hardware_key"], KEY);
    assert_eq!(h["commits"].as_array().unwrap().len(), 40);
    assert_eq!(h["runs"], 43);

    let step = series(&h, "gemm/step/f32/x");
    assert_eq!(step["points"].as_array().unwrap().len(), 40);
    assert_eq!(step["points"][11]["runs"], 2);
    let cps = step["change_points"].as_array().unwrap();
    assert_eq!(cps.len(), 1, "{cps:?}");
    assert_eq!(cps[0]["commit"], ids[25].as_str());
    assert_eq!(cps[0]["subject"], "commit 25");
    assert_eq!(cps[0]["direction"], "slower");
    let change = cps[0]["change"].as_f64().unwrap();
    assert!((change - 0.05).abs() < 0.01, "{change}");
    assert!(
        series(&h, "memcpy/flat/u8/x")["change_points"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let aside = h["set_aside"].as_array().unwrap();
    assert_eq!(aside.len(), 2);
    assert!(
        aside
            .iter()
            .any(|a| a["reason"].as_str().unwrap().contains("dirty"))
    );
    assert!(
        aside
            .iter()
            .any(|a| a["reason"].as_str().unwrap().contains("not on the branch"))
    );
    let unreadable = h["unreadable"].as_array().unwrap();
    assert_eq!(unreadable.len(), 1);
    assert!(unreadable[0].as_str().unwrap().contains("broken.json"));

    // The table says the same.
    let out = orac(tmp.path(), &["history"]);
    let text = stdout(&out);
    assert!(text.contains("+5."), "{text}");
    assert!(text.contains(&ids[25][..7]), "{text}");
    assert!(text.contains("2 runs set aside"), "{text}");
}

#[test]
fn fail_within_turns_a_recent_slowdown_into_exit_1() {
    let (tmp, _) = fixture();
    let out = orac(tmp.path(), &["history", "--fail-within", "20"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("gemm/step/f32/x"));
    let out = orac(tmp.path(), &["history", "--fail-within", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn since_a_revision_or_a_date_cuts_the_series() {
    let (tmp, ids) = fixture();
    let h = history_json(tmp.path(), &["--since", &ids[30]]);
    let step = series(&h, "gemm/step/f32/x");
    assert_eq!(step["points"].as_array().unwrap().len(), 10);
    assert!(step["change_points"].as_array().unwrap().is_empty());
    // Commit i is dated 2026-01-01 + i days.
    let h = history_json(tmp.path(), &["--since", "2026-02-05", "--filter", "step"]);
    assert_eq!(h["series"].as_array().unwrap().len(), 1);
    assert_eq!(
        series(&h, "gemm/step/f32/x")["points"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn bad_requests_are_usage_errors() {
    let (tmp, _) = fixture();
    for args in [
        &["history", "--hardware", "nope"][..],
        &["history", "--filter", "^nothing$"],
        &["history", "--filter", "("],
        &["history", "--since", "not-a-rev"],
        &["history", "--branch", "nope"],
        &["history", "--window", "2"],
        &["history", "--min-change", "2"],
    ] {
        let out = orac(tmp.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).starts_with("error: "), "{args:?}");
    }
    // Outside a git repository: the runs cannot be ordered.
    let elsewhere = tempfile::tempdir().unwrap();
    copy_dir(
        &tmp.path().join("results"),
        &elsewhere.path().join("results"),
    );
    let out = orac(elsewhere.path(), &["history"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not inside a git repository"),
        "{}",
        stderr(&out)
    );
}

/// No runs for commits 20..25 and a step at 22: the change is reported as the range
/// 19..25, not blamed on commit 25.
#[test]
fn a_change_between_commits_without_runs_is_given_as_a_range() {
    let tmp = tempfile::tempdir().unwrap();
    let ids = synthetic::commit_chain(tmp.path(), 40).unwrap();
    let step = |i: usize| if i < 22 { 1e-3 } else { 1.05e-3 };
    let tracks = [Track {
        id: "gemm/step/f32/x".into(),
        family: Family::Gemm,
        level: &step,
    }];
    for (i, id) in ids
        .iter()
        .enumerate()
        .filter(|(i, _)| !(20..25).contains(i))
    {
        save_run(
            &tmp.path().join("results"),
            &synthetic::run(KEY, id, i, 0, &tracks, 20),
        )
        .unwrap();
    }
    let h = history_json(tmp.path(), &[]);
    let cp = &series(&h, "gemm/step/f32/x")["change_points"][0];
    assert_eq!(cp["commit"], ids[25].as_str());
    assert_eq!(cp["last_before"], ids[19].as_str());
    assert_eq!(cp["commits_in_range"], 6);
    let text = stdout(&orac(tmp.path(), &["history"]));
    assert!(
        text.contains(&format!("between {}..{}", &ids[19][..7], &ids[25][..7])),
        "{text}"
    );
    assert!(text.contains("orac bisect --good"), "{text}");
}
