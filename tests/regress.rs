//! Verdicts on synthetic samples: the statistics a CI gate depends on.

use std::collections::BTreeMap;

use orac::ExitCode;
use orac::regress::{
    CompareConfig, RunSpread, Side, SideBench, SideInfo, Verdict, compare_independent, outcome,
};
use orac::stats::rng::SplitMix64;
use orac::store::{Hardware, NoiseSource, Status};
use orac::suite::Family;

/// `n` timings around `center` with relative spread `cv` (sum of uniforms: roughly normal).
fn timings(center: f64, cv: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| {
            let u: f64 = (0..4)
                .map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
                .sum();
            center * (1.0 + cv * u * 1.73)
        })
        .collect()
}

fn bench(samples: Vec<f64>) -> SideBench {
    SideBench {
        family: Family::Gemm,
        status: Status::Ok,
        error: None,
        samples,
        noise: None,
        throttled: false,
        contended: false,
        runs: None,
        counters: None,
        hotspots: Vec::new(),
    }
}

fn side(key: &str, benches: Vec<(&str, SideBench)>) -> Side {
    Side {
        info: SideInfo {
            label: key.into(),
            hardware_key: key.into(),
            commit: None,
            dirty: None,
            runs: 1,
            compiler: None,
            orac_version: None,
            gpu: None,
        },
        hardware: Hardware::cpu("Test".into(), 1, None, None),
        benches: benches
            .into_iter()
            .map(|(id, b)| (id.to_string(), b))
            .collect::<BTreeMap<_, _>>(),
        seed: None,
    }
}

fn verdict_of(base: SideBench, head: SideBench) -> Verdict {
    let c = compare_independent(
        &side("hw", vec![("gemm/k/f32/x", base)]),
        &side("hw", vec![("gemm/k/f32/x", head)]),
        &CompareConfig::default(),
        false,
    )
    .unwrap();
    c.entries[0].verdict
}

#[test]
fn identical_distributions_raise_no_alarm_across_many_benchmarks() {
    let ids: Vec<String> = (0..200).map(|i| format!("gemm/k/f32/s{i}")).collect();
    let base: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), bench(timings(1.0, 0.02, 40, i as u64))))
        .collect();
    let head: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), bench(timings(1.0, 0.02, 40, 1000 + i as u64))))
        .collect();
    let c = compare_independent(
        &side("hw", base),
        &side("hw", head),
        &CompareConfig::default(),
        false,
    )
    .unwrap();
    assert_eq!(c.count(Verdict::Slower), 0);
    assert_eq!(c.count(Verdict::Faster), 0);
    assert!(outcome(&c.verdicts(), &CompareConfig::default().fail_on).is_ok());
}

/// `b` as if it came from `n` runs whose medians spread by `sd` (log units) around its own.
fn with_runs(mut b: SideBench, n: usize, sd: f64) -> SideBench {
    let mut s = b.samples.clone();
    s.sort_by(f64::total_cmp);
    b.runs = Some(RunSpread {
        n,
        mean_log: s[s.len() / 2].ln(),
        sd_log: Some(sd),
    });
    b
}

#[test]
fn five_percent_shift_with_low_run_to_run_noise_is_slower() {
    let v = verdict_of(
        with_runs(bench(timings(1.0, 0.005, 50, 1)), 5, 0.003),
        with_runs(bench(timings(1.05, 0.005, 50, 2)), 3, 0.003),
    );
    assert_eq!(v, Verdict::Slower);
}

#[test]
fn one_run_per_side_cannot_tell_a_change_from_run_to_run_noise() {
    // Tight within-run spread, 5% apart: that is all one run per side can say, and two runs
    // of the same code often differ by more (A/A compares failed 5 of 7 gates).
    let c = compare_independent(
        &side(
            "hw",
            vec![("gemm/k/f32/x", bench(timings(1.0, 0.005, 50, 1)))],
        ),
        &side(
            "hw",
            vec![("gemm/k/f32/x", bench(timings(1.05, 0.005, 50, 2)))],
        ),
        &CompareConfig::default(),
        false,
    )
    .unwrap();
    let e = &c.entries[0];
    assert_eq!(e.verdict, Verdict::Ambiguous);
    assert!(e.note.as_deref().unwrap().contains("inconclusive"), "{e:?}");
    // The same shift against runs whose medians wander by 3%: not enough to flag either.
    let v = verdict_of(
        with_runs(bench(timings(1.0, 0.005, 50, 1)), 5, 0.03),
        with_runs(bench(timings(1.05, 0.005, 50, 2)), 3, 0.03),
    );
    assert_ne!(v, Verdict::Slower);
}

#[test]
fn five_percent_shift_under_ten_percent_run_to_run_noise_is_not_slower() {
    let mut base = bench(timings(1.0, 0.005, 50, 1));
    base.noise = Some((0.10, NoiseSource::History));
    let v = verdict_of(base, bench(timings(1.05, 0.005, 50, 2)));
    assert_ne!(v, Verdict::Slower);
}

#[test]
fn noisy_runs_widen_the_threshold_from_their_own_spread() {
    // 10% within-run spread, no history: threshold 3 × 10% = 30%; a 5% shift is not slower.
    let v = verdict_of(
        bench(timings(1.0, 0.10, 50, 1)),
        bench(timings(1.05, 0.10, 50, 2)),
    );
    assert_ne!(v, Verdict::Slower);
}

#[test]
fn a_speedup_is_faster_and_passes_the_gate() {
    let v = verdict_of(
        with_runs(bench(timings(1.0, 0.005, 50, 1)), 5, 0.003),
        with_runs(bench(timings(0.9, 0.005, 50, 2)), 3, 0.003),
    );
    assert_eq!(v, Verdict::Faster);
    assert!(outcome(&[v], &CompareConfig::default().fail_on).is_ok());
}

#[test]
fn new_missing_failed_and_throttled() {
    let mut failed = bench(vec![]);
    failed.status = Status::VerificationFailed;
    failed.error = Some("FAIL: err 1e-3".into());
    let mut throttled = bench(timings(1.0, 0.005, 20, 5));
    throttled.throttled = true;
    let base = side(
        "hw",
        vec![
            ("a/gone", bench(timings(1.0, 0.01, 20, 1))),
            ("a/broken", bench(timings(1.0, 0.01, 20, 2))),
            ("a/hot", bench(timings(1.0, 0.01, 20, 3))),
        ],
    );
    let head = side(
        "hw",
        vec![
            ("a/fresh", bench(timings(1.0, 0.01, 20, 4))),
            ("a/broken", failed),
            ("a/hot", throttled),
        ],
    );
    let c = compare_independent(&base, &head, &CompareConfig::default(), false).unwrap();
    let v = |id: &str| c.entries.iter().find(|e| e.id == id).unwrap().verdict;
    assert_eq!(v("a/gone"), Verdict::Missing);
    assert_eq!(v("a/fresh"), Verdict::New);
    assert_eq!(v("a/broken"), Verdict::Failed);
    assert_eq!(v("a/hot"), Verdict::Throttled);
    let e = outcome(&c.verdicts(), &CompareConfig::default().fail_on).unwrap_err();
    assert_eq!(e.exit_code(), ExitCode::BenchmarkFailed);
}

#[test]
fn different_hardware_is_refused_unless_allowed() {
    let a = side("cpu-a-x2", vec![("g", bench(timings(1.0, 0.01, 20, 1)))]);
    let b = side("cpu-b-x2", vec![("g", bench(timings(1.0, 0.01, 20, 2)))]);
    let err = compare_independent(&a, &b, &CompareConfig::default(), false).unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Usage);
    assert!(err.to_string().contains("--allow-cross-hardware"));
    let c = compare_independent(&a, &b, &CompareConfig::default(), true).unwrap();
    assert!(c.warnings[0].contains("across hardware"));
}
