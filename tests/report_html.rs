//! `orac report --out DIR` over a synthetic history: every page and chart is written, every
//! link resolves, the numbers on the page are the history's, and the output directory is
//! handled safely. (ci/check-report.sh renders the same report in headless Chromium.)

mod common;

use std::path::Path;

use common::*;
use orac::history::synthetic::{self, Track};
use orac::store::save_run;
use orac::suite::Family;

const KEY: &str = "cpu-synthetic-x2";

fn fixture() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let ids = synthetic::commit_chain(tmp.path(), 30).unwrap();
    let step = |i: usize| if i < 15 { 1e-3 } else { 1.06e-3 };
    let copy = |_: usize| 1e-4;
    let tracks = [
        Track {
            id: "gemm/step+x=1/f32/x".into(),
            family: Family::Gemm,
            level: &step,
        },
        Track {
            id: "memcpy/flat/u8/x".into(),
            family: Family::Memcpy,
            level: &copy,
        },
    ];
    for (i, id) in ids.iter().enumerate() {
        save_run(
            &tmp.path().join("results"),
            &synthetic::run(KEY, id, i, 0, &tracks, 20),
        )
        .unwrap();
    }
    tmp
}

/// Local targets of `src="…"` and `href="…"` in an HTML page.
fn local_refs(html: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let target = &part[..part.find('"').unwrap()];
            if !target.starts_with('#') && !target.contains(':') {
                refs.push(target.replace("&amp;", "&"));
            }
        }
    }
    refs
}

#[test]
fn writes_linked_pages_and_charts_with_the_history_in_them() {
    let tmp = fixture();
    let out = orac(tmp.path(), &["report", "--out", "site"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let site = tmp.path().join("site");
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(index.contains(KEY));
    assert!(index.contains("1 slower"), "{index}");

    let page = std::fs::read_to_string(site.join(format!("{KEY}.html"))).unwrap();
    // (Markup cannot reach the page through an id: a record whose id is not in the safe
    // charset is refused on read, see tests/hardening.rs.)
    assert!(page.contains("gemm/step+x=1/f32/x"), "{page}");
    assert!(page.contains("class=slower>+6."), "{page}");
    assert!(page.contains("no baseline for"));

    let mut charts = 0;
    for html in [&index, &page] {
        for target in local_refs(html) {
            let path = site.join(&target);
            assert!(path.is_file(), "{target} is linked but missing");
            if target.ends_with(".svg") {
                let svg = std::fs::read_to_string(&path).unwrap();
                assert!(
                    svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
                    "{target}"
                );
                charts += 1;
            }
        }
    }
    assert_eq!(charts, 3, "roofline and one chart per benchmark");
    let step_chart = std::fs::read_dir(site.join("charts").join(KEY))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("step"))
        .unwrap();
    let svg = std::fs::read_to_string(step_chart).unwrap();
    assert!(
        svg.contains("+6."),
        "the change point is labelled on the chart"
    );
}

#[test]
fn verdicts_against_the_baseline_appear_when_there_is_one() {
    let tmp = fixture();
    let runs = run_files(&tmp.path().join("results"));
    let first: Vec<&str> = runs[..5].iter().map(|p| p.to_str().unwrap()).collect();
    let mut args = vec!["baseline", "set"];
    args.extend(first);
    let out = orac(tmp.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = orac(tmp.path(), &["report", "--out", "site"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page =
        std::fs::read_to_string(tmp.path().join("site").join(format!("{KEY}.html"))).unwrap();
    assert!(page.contains("against baselines/"), "{page}");
    assert!(page.contains("<span class=slower>slower</span>"), "{page}");
}

#[test]
fn the_output_directory_is_replaced_only_when_it_holds_an_earlier_report() {
    let tmp = fixture();
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "precious").unwrap();
    let out = orac(tmp.path(), &["report", "--out", "mine"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not an orac report"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(mine.join("notes.txt")).unwrap(),
        "precious"
    );
    assert!(!mine.join("index.html").exists());

    // An earlier report is replaced, stale charts included.
    assert!(
        orac(tmp.path(), &["report", "--out", "site"])
            .status
            .success()
    );
    let stale = tmp
        .path()
        .join("site/charts")
        .join(KEY)
        .join("9999-gone.svg");
    std::fs::write(&stale, "<svg/>").unwrap();
    let out = orac(
        tmp.path(),
        &["report", "--out", "site", "--filter", "memcpy"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stale.exists());
    let page =
        std::fs::read_to_string(tmp.path().join("site").join(format!("{KEY}.html"))).unwrap();
    assert!(!page.contains("step"));
    assert!(Path::new(&tmp.path().join("site/index.html")).is_file());

    let empty = tempfile::tempdir().unwrap();
    let out = orac(empty.path(), &["report", "--out", "site"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no stored runs"), "{}", stderr(&out));
}
