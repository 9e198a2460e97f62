//! `orac report --out-dir DIR` over a synthetic history: every page is written, every link
//! resolves, every chart has its points and their tooltips, the numbers on the page are the
//! history's (decode in GB/s), hostile strings are escaped, and the output directory is
//! handled safely. (ci/check-report.sh renders the same report in headless Chromium.)

mod common;

use std::path::Path;

use common::*;
use orac::history::synthetic::{self, Track};
use orac::store::save_run;
use orac::suite::Family;

const KEY: &str = "cpu-synthetic-x2";
const STEP: &str = "gemm/step+x=1/f32/x";
const DECODE: &str = "attention/decode/bf16/x";

fn fixture() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let ids = synthetic::commit_chain(tmp.path(), 30).unwrap();
    let step = |i: usize| if i < 15 { 1e-3 } else { 1.06e-3 };
    let copy = |_: usize| 1e-4;
    let tracks = [
        Track {
            id: STEP.into(),
            family: Family::Gemm,
            level: &step,
        },
        Track {
            id: DECODE.into(),
            family: Family::Attention,
            level: &copy,
        },
        Track {
            id: "memcpy/flat/u8/x".into(),
            family: Family::Memcpy,
            level: &copy,
        },
    ];
    for (i, id) in ids.iter().enumerate() {
        let mut run = synthetic::run(KEY, id, i, 0, &tracks, 20);
        // Decode is memory-bound, as the suite marks it: its figure of merit is bandwidth.
        for b in run.benchmarks.iter_mut().filter(|b| b.id == DECODE) {
            b.params.insert("bound".into(), "memory".into());
        }
        save_run(&tmp.path().join("results"), &run).unwrap();
    }
    tmp
}

/// Local targets of `src="…"` and `href="…"` in an HTML page.
fn local_refs(html: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let target = &part[..part.find('"').unwrap()];
            let file = target.split('#').next().unwrap();
            if !file.is_empty() && !target.contains(':') {
                refs.push(file.replace("&amp;", "&"));
            }
        }
    }
    refs
}

/// Every `.html` file under `dir`, as (path relative to `dir`, contents).
fn pages(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "html") {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The inline charts of a page, each `<svg class="chart" …>…</svg>`.
fn charts(html: &str) -> Vec<&str> {
    html.split("<svg class=\"chart\"")
        .skip(1)
        .map(|c| &c[..c.find("</svg>").unwrap()])
        .collect()
}

/// The tooltips (`<title>` of each `.pt`) of a chart.
fn tooltips(chart: &str) -> Vec<&str> {
    chart
        .split("class=\"pt")
        .skip(1)
        .map(|p| {
            let t = &p[p.find("<title>").unwrap() + 7..];
            &t[..t.find("</title>").unwrap()]
        })
        .collect()
}

fn report(tmp: &Path, extra: &[&str]) -> std::path::PathBuf {
    let mut args = vec!["report", "--out-dir", "site"];
    args.extend(extra);
    let out = orac(tmp, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    tmp.join("site")
}

#[test]
fn writes_linked_pages_and_charts_with_the_history_in_them() {
    let tmp = fixture();
    let site = report(tmp.path(), &["--commit-url", ""]);
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(index.contains(KEY));
    assert!(
        index.contains("<span class=\"slower\">1 slower</span>"),
        "{index}"
    );
    // Grouped by family, with a filter box over the rows.
    assert!(index.contains("<input id=\"filter\""), "{index}");
    for family in ["attention", "gemm", "memcpy"] {
        assert!(
            index.contains(&format!("<tr class=\"fam\"><th colspan=\"7\">{family} ")),
            "{family}: {index}"
        );
    }
    assert_eq!(index.matches("<tbody class=\"family\">").count(), 3);
    assert!(
        index.contains(&format!("<tr data-id=\"{STEP}\">")),
        "{index}"
    );

    let page = std::fs::read_to_string(site.join(format!("{KEY}.html"))).unwrap();
    // (Markup cannot reach the page through an id: a record whose id is not in the safe
    // charset is refused on read, see tests/hardening.rs.)
    assert!(page.contains(STEP), "{page}");
    assert!(page.contains("<span class=\"slower\">+6."), "{page}");
    assert!(page.contains("no baseline for"));
    // A roofline and one chart per benchmark, inline, each with its points.
    let key_charts = charts(&page);
    assert_eq!(key_charts.len(), 4, "roofline and one chart per benchmark");
    for c in &key_charts {
        assert!(!tooltips(c).is_empty(), "a chart without points: {c}");
    }
    assert!(
        key_charts.iter().any(|c| c.contains("+6.")),
        "the change point is labelled on the chart"
    );
    // The roofline's points are numbered and listed.
    assert!(page.contains("<ol class=\"legend\">"), "{page}");

    // Every local link of every page resolves, relative to the page's own directory.
    let all = pages(&site);
    assert_eq!(all.len(), 2 + 3, "index, key page and a page per benchmark");
    for (rel, html) in &all {
        let dir = site.join(rel).parent().unwrap().to_path_buf();
        for target in local_refs(html) {
            assert!(
                dir.join(&target).is_file(),
                "{rel}: {target} is linked but missing"
            );
        }
        assert!(!html.contains('`'), "{rel}: a markdown backtick leaks");
        assert!(
            !html.contains(" src=\"http") && !html.contains(" href=\"http"),
            "{rel}: no network"
        );
    }
}

#[test]
fn a_page_per_benchmark_links_back_and_every_point_has_its_tooltip() {
    let tmp = fixture();
    let site = report(tmp.path(), &["--commit-url", ""]);
    let page = std::fs::read_to_string(site.join(KEY).join("gemm_step_x_1_f32_x.html")).unwrap();
    assert!(page.contains("href=\"../index.html\""), "{page}");
    assert!(page.contains(&format!("href=\"../{KEY}.html\"")), "{page}");
    assert!(page.contains(&format!("<h1>{STEP}</h1>")), "{page}");
    let key_page = std::fs::read_to_string(site.join(format!("{KEY}.html"))).unwrap();
    assert!(key_page.contains(&format!("href=\"{KEY}/gemm_step_x_1_f32_x.html\"")));

    let chart = charts(&page);
    assert_eq!(chart.len(), 1);
    let tips = tooltips(chart[0]);
    assert_eq!(tips.len(), 30, "a point per commit");
    let history = orac::history::build(
        &orac::history::HistoryOptions {
            results_dir: tmp.path().join("results"),
            repo_dir: tmp.path().to_path_buf(),
            hardware: None,
            branch: "HEAD".into(),
            since: None,
            change_points: Default::default(),
            creep: Default::default(),
        },
        &orac::suite::Filter::new(Some("step")).unwrap(),
    )
    .unwrap();
    let series = &history.series[0];
    for (tip, p) in tips.iter().zip(&series.points) {
        let median = orac::report::format_seconds(p.median);
        let lo = orac::report::format_seconds(p.ci_low);
        assert!(tip.contains(&p.commit[..7]), "commit: {tip}");
        assert!(tip.contains(&p.date), "date: {tip}");
        assert!(
            tip.contains(&format!("median {median} (CI {lo} – ")),
            "{tip}"
        );
        assert!(tip.contains("FLOP/s"), "{tip}");
    }
    // Without a forge to link to, a point leads to its commit's row on this page.
    let newest = &series.points.last().unwrap().commit;
    assert!(page.contains(&format!("href=\"gemm_step_x_1_f32_x.html#c-{newest}\"")));
    assert!(page.contains(&format!("<tr id=\"c-{newest}\">")));
    // The step's change point, with the commit's date and subject.
    assert!(page.contains("<h2>Change points</h2>"), "{page}");

    // With a commit URL, the points and commits link there.
    let site = report(
        tmp.path(),
        &["--commit-url", "https://example.org/r/commit/{commit}"],
    );
    let page = std::fs::read_to_string(site.join(KEY).join("gemm_step_x_1_f32_x.html")).unwrap();
    assert!(page.contains(&format!("href=\"https://example.org/r/commit/{newest}\"")));
    let out = orac(
        tmp.path(),
        &[
            "report",
            "--out-dir",
            "site",
            "--commit-url",
            "javascript:{commit}",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn decode_is_shown_in_bytes_per_second_as_in_the_run_table() {
    let tmp = fixture();
    let site = report(tmp.path(), &["--commit-url", ""]);
    let page = std::fs::read_to_string(site.join(format!("{KEY}.html"))).unwrap();
    let row = page
        .split(&format!("<tr data-id=\"{DECODE}\">"))
        .nth(1)
        .unwrap();
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("B/s") && !row.contains("FLOP/s"), "{row}");
    let gemm = page
        .split(&format!("<tr data-id=\"{STEP}\">"))
        .nth(1)
        .unwrap();
    assert!(gemm[..gemm.find("</tr>").unwrap()].contains("FLOP/s"));
    let decode_page =
        std::fs::read_to_string(site.join(KEY).join("attention_decode_bf16_x.html")).unwrap();
    for tip in tooltips(charts(&decode_page)[0]) {
        assert!(tip.contains("B/s") && !tip.contains("FLOP/s"), "{tip}");
    }
}

#[test]
fn no_change_is_not_painted_as_an_alarm() {
    let tmp = fixture();
    let site = report(tmp.path(), &["--filter", "memcpy"]);
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(
        index.contains("<span class=\"muted\">0 slower</span>"),
        "{index}"
    );
    assert!(!index.contains("class=\"slower\""), "{index}");
}

#[test]
fn hostile_ids_commits_and_subjects_are_escaped_everywhere() {
    use orac::history::BranchCommit;
    use orac::history::{Ceilings, ChangeReport, Direction, History, Point, Series};
    let evil = "<script>alert(1)</script>\"'&";
    let commit = "\"><img src=x onerror=alert(2)>";
    let point = |i: usize, m: f64| Point {
        position: i,
        commit: format!("{commit}{i}"),
        date: format!("2026-01-0{i}<b>"),
        median: m,
        ci_low: m * 0.99,
        ci_high: m * 1.01,
        runs: 1,
    };
    let points: Vec<Point> = (0..6)
        .map(|i| point(i, if i < 3 { 1e-3 } else { 2e-3 }))
        .collect();
    let series = Series {
        id: format!("gemm/{evil}/f32/x"),
        family: Family::Gemm,
        flops: 1 << 30,
        bytes: 1 << 20,
        reports_bandwidth: false,
        change_points: vec![ChangeReport {
            commit: points[3].commit.clone(),
            last_before: points[2].commit.clone(),
            commits_in_range: 1,
            date: points[3].date.clone(),
            subject: evil.into(),
            point: 3,
            before: 1e-3,
            after: 2e-3,
            change: 1.0,
            p_value: 1e-6,
            direction: Direction::Slower,
        }],
        points,
        unusable: 0,
        creep: Vec::new(),
    };
    let key = orac::report::KeyReport {
        history: History {
            hardware_key: format!("key{evil}"),
            branch: evil.into(),
            commits: series
                .points
                .iter()
                .map(|p| BranchCommit {
                    id: p.commit.clone(),
                    date: p.date.clone(),
                    subject: evil.into(),
                })
                .collect(),
            runs: 6,
            series: vec![series],
            set_aside: Vec::new(),
            unreadable: vec![format!("`{evil}`")],
            ceilings: Ceilings::default(),
        },
        verdicts: None,
        verdicts_note: Some(evil.into()),
        roofline: vec![orac::chart::RooflinePoint {
            id: evil.into(),
            intensity: 2.0,
            flop_per_s: 1e9,
            href: None,
        }],
        bandwidth: None,
    };
    let meta = orac::report::ReportMeta {
        generated_at: evil.into(),
        commit_url: None,
    };
    let files = orac::report::report_files(&[key], &meta);
    assert_eq!(files.len(), 3);
    for f in &files {
        let html = &f.contents;
        assert!(!f.path.contains(['<', '>', '"', '\'', '&']), "{}", f.path);
        assert_eq!(html.matches("<script").count(), 1, "{}: only ours", f.path);
        assert!(!html.contains("<img"), "{}", f.path);
        assert!(!html.contains("<b>"), "{}", f.path);
        assert!(html.contains("&lt;script&gt;alert(1)"), "{}", f.path);
    }
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
    assert!(
        page.contains("<span class=\"slower\">slower</span>"),
        "{page}"
    );
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
    let stale = tmp.path().join("site").join(KEY).join("gone.html");
    std::fs::write(&stale, "<p>gone</p>").unwrap();
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
