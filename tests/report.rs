//! The pull-request markdown: snapshot-tested, valid GitHub-flavoured tables, and always
//! under GitHub's comment size limit.

use std::collections::BTreeMap;
use std::path::Path;

use orac::regress::{CompareConfig, Comparison, Side, SideBench, SideInfo, compare_independent};
use orac::report::{MARKDOWN_LIMIT, MARKDOWN_MARKER, compare_markdown};
use orac::stats::rng::SplitMix64;
use orac::store::{Hardware, NoiseSource, Status};
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
        },
        hardware: Hardware::cpu("Test".into(), 1, None, None),
        benches,
    }
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
    let md = compare_markdown(&comparison());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/pr-comment.md");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &md).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .expect("snapshot missing: run with UPDATE_SNAPSHOTS=1 and review the file");
    assert_eq!(
        md, want,
        "markdown changed: rerun with UPDATE_SNAPSHOTS=1 and review the diff"
    );
}

#[test]
fn pr_comment_renders_as_gfm_tables() {
    use pulldown_cmark::{Options, Parser, html};
    let md = compare_markdown(&comparison());
    assert!(md.starts_with(MARKDOWN_MARKER));
    let mut out = String::new();
    html::push_html(&mut out, Parser::new_ext(&md, Options::ENABLE_TABLES));
    assert_eq!(out.matches("<table>").count(), 2, "{out}");
    // Notable: slower, failed, faster. All: 7 rows. Plus a header row each.
    assert_eq!(out.matches("<tr>").count(), 3 + 1 + 7 + 1, "{out}");
    assert!(out.contains("<details>") && out.contains("<strong>slower</strong>"));
    // The pipe inside the note is escaped, not a column break.
    assert!(out.contains("&gt; 1e-2 | 12 of 4096"), "{out}");
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
