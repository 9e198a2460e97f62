//! The pull-request markdown: snapshot-tested as markdown and as the HTML a GitHub-flavoured
//! renderer makes of it, valid tables, rows in a useful order, medians that agree with the
//! Δ, and always under GitHub's comment size limit.

use std::collections::BTreeMap;
use std::path::Path;

use orac::regress::{
    CompareConfig, Comparison, Estimator, PairedOutcome, Side, SideBench, SideInfo, Verdict,
    add_skipped, compare_independent, compare_paired,
};
use orac::report::{
    CommentContext, MARKDOWN_LIMIT, MARKDOWN_MARKER, compare_markdown, compare_markdown_with,
};
use orac::stats::rng::SplitMix64;
use orac::store::{GpuInfo, Hardware, NoiseSource, Status};
use orac::suite::Family;

fn timings(center: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| {
            center * (1.0 + 0.004 * ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5))
        })
        .collect()
}

fn bench(family: Family, samples: Vec<f64>) -> SideBench {
    SideBench {
        family,
        status: Status::Ok,
        error: None,
        samples,
        noise: Some((0.004, NoiseSource::History)),
        throttled: false,
        contended: false,
        runs: None,
        counters: None,
        hotspots: Vec::new(),
    }
}

fn side(commit: &str, benches: BTreeMap<String, SideBench>) -> Side {
    Side {
        info: SideInfo {
            label: commit.into(),
            hardware_key: "example-hw".into(),
            commit: Some(commit.repeat(40 / commit.len())),
            dirty: Some(false),
            runs: 3,
            compiler: None,
            orac_version: None,
            gpu: Some(h100()),
        },
        hardware: Hardware::cpu("Test".into(), 1, None, None),
        benches,
        seed: None,
    }
}

fn h100() -> GpuInfo {
    GpuInfo {
        name: "NVIDIA H100 80GB HBM3".into(),
        uuid: String::new(),
        compute_capability: "9.0".into(),
        sms: 132,
        memory_bytes: 80 << 30,
        l2_bytes: 50 << 20,
        memory_clock_khz: 2_619_000,
        bus_width_bits: 5120,
        peak_bandwidth_bytes_per_s: 3.35e12,
        sm_clock_khz: 1_980_000,
        ecc: true,
        driver_api_version: 12080,
        nvrtc_version: None,
        host_link_bytes_per_s: None,
        driver_version: Some("570.86.15".into()),
    }
}

/// A comparison as the PR gate would make it: the fixture below, with skipped
/// benchmarks, host code changed next to the kernels, a workflow run and a counters section.
fn gate_comment() -> String {
    let mut c = comparison();
    add_skipped(
        &mut c.skipped,
        "kernel unchanged between base and head (--changed-only)",
        17,
    );
    add_skipped(
        &mut c.skipped,
        "skipped: written for sm_90a, this GPU is sm_80",
        1,
    );
    c.host_changes = vec!["build.rs".into(), "src/runner.rs".into()];
    let ctx = CommentContext {
        counters: Some("_Not collected: this gate does not run the emulator yet._".into()),
        ..CommentContext::from_vars(|k| {
            Some(
                match k {
                    "GITHUB_SERVER_URL" => "https://github.com",
                    "GITHUB_REPOSITORY" => "example/orac",
                    "GITHUB_RUN_ID" => "123456789",
                    _ => return None,
                }
                .to_string(),
            )
        })
    };
    compare_markdown_with(&c, &ctx)
}

/// GitHub-flavoured markdown as HTML (tables, strikethrough, task lists, autolinks as a
/// comment on github.com renders them).
fn gfm_html(md: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let mut out = String::new();
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM;
    html::push_html(&mut out, Parser::new_ext(md, options));
    out
}

/// Compares `text` with the snapshot `name` (UPDATE_SNAPSHOTS=1 rewrites it).
fn snapshot(name: &str, text: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .expect("snapshot missing: run with UPDATE_SNAPSHOTS=1 and review the file");
    assert_eq!(
        text, want,
        "{name} changed: rerun with UPDATE_SNAPSHOTS=1 and review the diff"
    );
}

/// The cells of each row of the table that starts at the line `header`.
fn table_rows<'a>(md: &'a str, header: &str) -> Vec<Vec<&'a str>> {
    md.lines()
        .skip_while(|l| *l != header)
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(str::trim)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// One of each interesting verdict, deterministic samples.
fn comparison() -> Comparison {
    let mut base = BTreeMap::new();
    let mut head = BTreeMap::new();
    let cases: [(&str, Family, f64, f64); 5] = [
        (
            "gemm/wmma/bf16/m4096n4096k4096",
            Family::Gemm,
            1.0e-3,
            1.08e-3,
        ),
        (
            "gemm/tiled/f32/m1024n1024k1024",
            Family::Gemm,
            2.0e-3,
            2.0e-3,
        ),
        (
            "attention/flash/bf16/b1h32sq4096sk4096d128-causal",
            Family::Attention,
            3.0e-3,
            2.7e-3,
        ),
        ("memcpy/dtod/u8/1024MiB", Family::Memcpy, 4.0e-4, 4.0e-4),
        ("memcpy/h2d/u8/64MiB", Family::Memcpy, 5.0e-3, 5.0e-3),
    ];
    for (i, (id, family, b, h)) in cases.into_iter().enumerate() {
        base.insert(id.to_string(), bench(family, timings(b, 40, i as u64)));
        head.insert(
            id.to_string(),
            bench(family, timings(h, 40, 100 + i as u64)),
        );
    }
    head.remove("memcpy/h2d/u8/64MiB");
    let mut failed = bench(Family::Attention, vec![]);
    failed.status = Status::VerificationFailed;
    failed.error = Some("verification FAIL: err 3.1e-2 > 1e-2 | 12 of 4096 checked".into());
    base.insert(
        "attention/naive/bf16/b1h8sq1024sk1024d64".into(),
        bench(Family::Attention, timings(1e-3, 40, 9)),
    );
    head.insert("attention/naive/bf16/b1h8sq1024sk1024d64".into(), failed);
    head.insert(
        "gemm/wgmma/bf16/m8192n8192k8192".into(),
        bench(Family::Gemm, timings(1.4e-3, 40, 10)),
    );
    compare_independent(
        &side("aaaa", base),
        &side("bbbb", head),
        &CompareConfig::default(),
        false,
    )
    .unwrap()
}

#[test]
fn pr_comment_matches_the_snapshot() {
    snapshot("pr-comment.md", &compare_markdown(&comparison()));
    snapshot("pr-comment-gate.md", &gate_comment());
}

#[test]
fn pr_comment_rendered_as_gfm_matches_the_snapshot() {
    // What a reviewer's browser gets: the HTML of a GitHub-flavoured renderer.
    snapshot("pr-comment-gate.html", &gfm_html(&gate_comment()));
}

#[test]
fn pr_comment_renders_as_gfm_tables() {
    let md = gate_comment();
    assert!(md.starts_with(MARKDOWN_MARKER));
    let out = gfm_html(&md);
    assert_eq!(out.matches("<table>").count(), 2, "{out}");
    // Notable: slower, failed, faster; folded: the other 4. A header row each.
    assert_eq!(out.matches("<tr>").count(), 3 + 1 + 4 + 1, "{out}");
    assert!(out.contains("<details>") && out.contains("<strong>slower</strong>"));
    // The pipe inside the note is escaped, not a column break.
    assert!(out.contains("&gt; 1e-2 | 12 of 4096"), "{out}");
    // The header: GPU, driver, clocks; the run and its artifacts.
    assert!(
        out.contains("<strong>NVIDIA H100 80GB HBM3</strong> · driver 570.86.15 (CUDA 12.8) · SM clock 1980 MHz · memory clock 2619 MHz"),
        "{out}"
    );
    assert!(
        out.contains(
            "<a href=\"https://github.com/example/orac/actions/runs/123456789\">workflow run</a>"
        ),
        "{out}"
    );
    assert!(out.contains("actions/runs/123456789#artifacts\">artifacts</a>"));
    // What was not measured, and why.
    assert!(out.contains("<strong>Skipped 18 benchmarks:</strong> 17 kernel unchanged between base and head (--changed-only); 1 written for sm_90a, this GPU is sm_80."), "{out}");
    assert!(out.contains("this change also touches 2 files outside <code>kernels/</code> (<code>build.rs</code>, <code>src/runner.rs</code>)"), "{out}");
    // The counters' section sits between the tables and the rule.
    let counters = out
        .find("<h4>Emulator counters</h4>")
        .expect("counters heading");
    assert!(counters > out.find("</details>").unwrap());
    assert!(counters < out.find("A change counts").unwrap());
}

#[test]
fn pr_comment_rows_sort_by_size_within_a_verdict_and_are_shown_once() {
    let mut base = BTreeMap::new();
    let mut head = BTreeMap::new();
    for (i, (b, h)) in [
        (1.0, 1.10),
        (1.0, 1.30),
        (1.0, 1.20),
        (1.0, 0.7),
        (1.0, 0.8),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("gemm/k{i}/f32/m1n1k1");
        base.insert(
            id.clone(),
            bench(Family::Gemm, timings(b * 1e-3, 40, i as u64)),
        );
        head.insert(
            id,
            bench(Family::Gemm, timings(h * 1e-3, 40, 50 + i as u64)),
        );
    }
    for i in 0..3 {
        let id = format!("memcpy/same{i}/u8/1MiB");
        base.insert(id.clone(), bench(Family::Memcpy, timings(1e-3, 40, 70 + i)));
        head.insert(id, bench(Family::Memcpy, timings(1e-3, 40, 80 + i)));
    }
    let c = compare_independent(
        &side("aaaa", base),
        &side("bbbb", head),
        &CompareConfig::default(),
        false,
    )
    .unwrap();
    let md = compare_markdown(&c);
    let notable = table_rows(&md, "| | benchmark | base | head | Δ time | 95% CI |");
    let ids: Vec<&str> = notable.iter().map(|r| r[1]).collect();
    assert_eq!(
        ids,
        [
            "`gemm/k1/f32/m1n1k1`",
            "`gemm/k2/f32/m1n1k1`",
            "`gemm/k0/f32/m1n1k1`",
            "`gemm/k3/f32/m1n1k1`",
            "`gemm/k4/f32/m1n1k1`"
        ],
        "{md}"
    );
    // No note in any notable row: no note column at all.
    assert!(notable.iter().all(|r| r.len() == 6), "{md}");
    assert!(!md.contains("| note |"), "{md}");
    // The folded table holds only the others: nothing notable twice.
    let folded = table_rows(&md, "| | benchmark | base | head | Δ time |");
    assert_eq!(folded.len(), 3, "{md}");
    assert!(folded.iter().all(|r| r[1].starts_with("`memcpy/same")));
    assert!(md.contains("<summary>3 other results</summary>"));
}

#[test]
fn pr_comment_folded_table_is_narrow() {
    let md = gate_comment();
    let folded = table_rows(&md, "| | benchmark | base | head | Δ time |");
    assert_eq!(folded.len(), 4, "{md}");
    for row in &folded {
        assert_eq!(row.len(), 5, "{row:?}");
        // Everything but the id is a few words at most: no cell wraps to three lines.
        for cell in &row[2..] {
            assert!(cell.chars().count() <= 12, "{cell:?} in {row:?}");
        }
        assert!(row[0].chars().count() <= 24, "{row:?}");
    }
}

/// Parses "+7.97%" (and "+0.05%†") into 7.97.
fn percent_of(cell: &str) -> f64 {
    cell.trim_end_matches('†')
        .trim_end_matches('%')
        .parse()
        .unwrap()
}

/// Parses "1.080 ms" into seconds.
fn seconds_of(cell: &str) -> f64 {
    let (v, unit) = cell.split_once(' ').unwrap();
    let scale = match unit {
        "s" => 1.0,
        "ms" => 1e-3,
        "µs" => 1e-6,
        "ns" => 1e-9,
        u => panic!("unit {u}"),
    };
    v.parse::<f64>().unwrap() * scale
}

#[test]
fn pr_comment_medians_and_delta_agree_or_name_the_estimator() {
    // Independent runs: the Δ is the ratio of the medians shown (to their rounding).
    let md = compare_markdown(&comparison());
    for row in table_rows(&md, "| | benchmark | base | head | Δ time |")
        .into_iter()
        .chain(table_rows(
            &md,
            "| | benchmark | base | head | Δ time | 95% CI | note |",
        ))
        .filter(|r| !r[4].is_empty())
    {
        let implied = (seconds_of(row[3]) / seconds_of(row[2]) - 1.0) * 100.0;
        assert!(
            (implied - percent_of(row[4])).abs() < 0.1,
            "{row:?}: medians imply {implied:.2}%"
        );
    }
    // Paired A/B with a benchmark whose speed moves between blocks (the decode case of
    // issue 16): pooled medians far apart, pairs equal. The Δ is the pairs', marked, and
    // the footer names the estimator.
    // Two speeds, A and B; in each block of ten pairs base sits at B more often than head,
    // so base's pooled median is B's time and head's is A's, while most pairs are equal.
    let (a, b) = (4.006e-3, 5.259e-3);
    let pattern = [
        (b, b),
        (b, b),
        (b, b),
        (a, a),
        (a, a),
        (a, a),
        (b, a),
        (b, a),
        (b, a),
        (a, b),
    ];
    let (mut base, mut head, mut blocks) = (Vec::new(), Vec::new(), Vec::new());
    for block in 0..8 {
        let factor = 1.0005 * (1.0 + 1e-5 * (block as f64 - 3.5));
        for (x, y) in pattern {
            base.push(x);
            head.push(y * factor);
            blocks.push(block);
        }
    }
    let info = |label: &str| SideInfo {
        label: label.into(),
        hardware_key: "example-hw".into(),
        commit: Some(label.repeat(10)),
        dirty: Some(false),
        runs: 1,
        compiler: None,
        orac_version: None,
        gpu: None,
    };
    let c = compare_paired(
        info("aaaa"),
        info("bbbb"),
        vec![(
            "attention/decode/bf16/b1h32sk4096d128".into(),
            Family::Attention,
            PairedOutcome::Measured {
                base,
                head,
                blocks,
                contended_blocks: 0,
                stop_reason: None,
            },
        )],
        &CompareConfig::default(),
    )
    .unwrap();
    let e = &c.entries[0];
    assert_eq!(e.estimator, Some(Estimator::PairedBlocks));
    assert!((e.ratio.unwrap() - 1.0005).abs() < 1e-3, "{e:?}");
    let md = compare_markdown(&c);
    assert!(md.contains("+0.05%†"), "{md}");
    assert!(
        md.contains(
            "† A/B Δ: the geometric mean over blocks of each block's median head/base ratio"
        ),
        "{md}"
    );
}

#[test]
fn pr_comment_of_host_code_only_says_so_plainly() {
    let info = |label: &str| SideInfo {
        label: label.into(),
        hardware_key: "example-hw".into(),
        commit: Some(label.repeat(10)),
        dirty: Some(false),
        runs: 1,
        compiler: None,
        orac_version: None,
        gpu: None,
    };
    let mut c = compare_paired(
        info("aaaa"),
        info("bbbb"),
        vec![],
        &CompareConfig::default(),
    )
    .unwrap();
    add_skipped(
        &mut c.skipped,
        "kernel unchanged between base and head (--changed-only)",
        24,
    );
    c.host_changes = vec!["src/runner.rs".into()];
    let md = compare_markdown(&c);
    assert!(
        md.contains("### ⚠️ orac: nothing measured, no kernel changed"),
        "{md}"
    );
    assert!(
        md.contains("**This change touches only host code, which this gate cannot measure.**"),
        "{md}"
    );
    assert!(
        md.contains("this check passing means nothing was measured"),
        "{md}"
    );
    assert!(md.contains("**Skipped 24 benchmarks:**"), "{md}");
    assert!(
        !md.contains("<table") && !md.contains("| benchmark"),
        "{md}"
    );
    assert_eq!(c.count(Verdict::Unchanged), 0);
}

#[test]
fn workflow_link_only_from_what_github_actions_sets() {
    let vars = |server: &'static str, repo: &'static str, run: &'static str| {
        move |k: &str| {
            let v = match k {
                "GITHUB_SERVER_URL" => server,
                "GITHUB_REPOSITORY" => repo,
                "GITHUB_RUN_ID" => run,
                _ => "",
            };
            (!v.is_empty()).then(|| v.to_string())
        }
    };
    let link = |s, r, id| CommentContext::from_vars(vars(s, r, id)).run_url;
    assert_eq!(
        link("https://github.com", "o/r", "42").as_deref(),
        Some("https://github.com/o/r/actions/runs/42")
    );
    assert_eq!(
        link("https://ghe.example.com/", "o/r", "42").as_deref(),
        Some("https://ghe.example.com/o/r/actions/runs/42")
    );
    // Outside Actions, or anything odd: no link rather than a broken or injected one.
    assert_eq!(link("", "o/r", "42"), None);
    assert_eq!(link("https://github.com", "", "42"), None);
    assert_eq!(link("https://github.com", "o/r", ""), None);
    assert_eq!(link("https://github.com", "o/r", "42) [x](y"), None);
    assert_eq!(link("https://github.com", "o/r/x", "42"), None);
    assert_eq!(link("javascript:alert(1)", "o/r", "42"), None);
    assert!(!compare_markdown(&comparison()).contains("workflow run"));
}

#[test]
fn huge_comparisons_stay_under_the_comment_limit() {
    let mut base = BTreeMap::new();
    let mut head = BTreeMap::new();
    for i in 0..1500 {
        let id = format!("gemm/k{i}/f32/m{i}n{i}k{i}");
        base.insert(id.clone(), bench(Family::Gemm, timings(1e-3, 12, i)));
        head.insert(id, bench(Family::Gemm, timings(1.2e-3, 12, 5000 + i)));
    }
    let c = compare_independent(
        &side("aaaa", base),
        &side("bbbb", head),
        &CompareConfig::default(),
        false,
    )
    .unwrap();
    let md = compare_markdown(&c);
    assert!(md.len() <= MARKDOWN_LIMIT, "{} bytes", md.len());
    assert!(md.contains("more rows omitted"));
    assert!(
        md.trim_end().ends_with("is slower."),
        "the footer survives truncation"
    );
}

#[test]
fn benchmarks_that_cannot_run_here_are_counted_not_called_missing() {
    let mut base = BTreeMap::new();
    let mut head = BTreeMap::new();
    let id = "gemm/wgmma/bf16/m8192n8192k8192".to_string();
    base.insert(id.clone(), bench(Family::Gemm, timings(1e-3, 20, 1)));
    let mut skipped = bench(Family::Gemm, vec![]);
    skipped.status = Status::Skipped;
    skipped.error = Some("skipped: written for sm_90a, this GPU is sm_80".into());
    head.insert(id, skipped);
    let c = compare_independent(
        &side("aaaa", base),
        &side("bbbb", head),
        &CompareConfig::default(),
        false,
    )
    .unwrap();
    assert!(c.entries.is_empty(), "{:?}", c.entries);
    assert_eq!(c.skipped.len(), 1);
    assert_eq!(c.skipped[0].reason, "written for sm_90a, this GPU is sm_80");
    let md = compare_markdown(&c);
    assert!(md.contains("### ⚠️ orac: nothing measured\n"), "{md}");
    assert!(!md.contains("no kernel changed"), "{md}");
    assert!(
        md.contains("**Skipped 1 benchmark:** 1 written for sm_90a, this GPU is sm_80."),
        "{md}"
    );
}
