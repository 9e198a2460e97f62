//! Change points in a performance history: E-divisive means (Matteson & James 2014) as
//! MongoDB's CI and Apache Otava use it, with Otava's deterministic significance test (a
//! pooled t-test between the segments on either side) instead of a permutation test.
//!
//! 1. Candidates: the series is cut into overlapping windows (`window` points, stride half a
//!    window) so the cost stays O(n · window). In each window, binary segmentation picks the
//!    split that maximises the energy statistic Q̂ and keeps it when the t-test between its two
//!    sides passes the *lenient* `candidate_p`, then recurses into both sides. Lenient, because
//!    a window that holds two steps tests the first against a side that mixes both levels:
//!    the other step's variance can hide a real step there.
//! 2. Pruning, where `max_p` applies: with all candidates in place, each is re-tested against
//!    its neighbouring candidates only (the segments up to them, at most `window` points each
//!    side); the weakest insignificant (or too small) one is dropped, its neighbours are
//!    re-tested against the wider segments, and so on until every survivor passes.

use super::student::pooled_t_test;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePointConfig {
    /// Points per window of the candidate search (Otava: 50).
    pub window: usize,
    /// A change point needs a t-test p-value below this (Otava: 0.001).
    pub max_p: f64,
    /// …and a relative change of the segment means at least this large (0 = any).
    pub min_magnitude: f64,
    /// Fewest points on each side of a change point: a step in the last nights is only
    /// reported once this many points confirm it.
    pub min_segment: usize,
    /// The lenient level of the candidate search (never below `max_p`). A step whose window
    /// also holds another one can fail `max_p` there, the other step's variance hiding it;
    /// the candidates are only proposals, and each has to pass `max_p` against its
    /// neighbouring change points in the pruning.
    pub candidate_p: f64,
}

impl Default for ChangePointConfig {
    fn default() -> Self {
        ChangePointConfig {
            window: 50,
            max_p: 0.001,
            min_magnitude: 0.0,
            min_segment: 3,
            candidate_p: 0.05,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePoint {
    /// First index of the new regime.
    pub index: usize,
    /// pooled t-test between the segments before and after (each at most a window long),
    /// Bonferroni-adjusted for the positions the split could have taken.
    pub p_value: f64,
    pub mean_before: f64,
    pub mean_after: f64,
}

impl ChangePoint {
    /// (after − before) / before.
    pub fn relative_change(&self) -> f64 {
        (self.mean_after - self.mean_before) / self.mean_before
    }
}

/// Change points of `series` (in order), as configured.
pub fn change_points(series: &[f64], cfg: &ChangePointConfig) -> Vec<ChangePoint> {
    let min_seg = cfg.min_segment.max(2);
    let window = cfg.window.max(2 * min_seg);
    if series.len() < 2 * min_seg || series.iter().any(|v| !v.is_finite()) {
        return Vec::new();
    }
    let candidate_p = cfg.candidate_p.max(cfg.max_p);
    let mut candidates = Vec::new();
    let stride = (window / 2).max(1);
    let mut start = 0;
    loop {
        let end = (start + window).min(series.len());
        split(series, start, end, min_seg, candidate_p, &mut candidates);
        if end == series.len() {
            break;
        }
        start += stride;
    }
    candidates.sort_unstable();
    candidates.dedup();
    prune(series, candidates, window, min_seg, cfg)
}

/// Binary segmentation of `series[start..end]`, pushing significant splits (absolute indices).
fn split(
    series: &[f64],
    start: usize,
    end: usize,
    min_seg: usize,
    max_p: f64,
    out: &mut Vec<usize>,
) {
    let Some(tau) = best_split(&series[start..end], min_seg) else {
        return;
    };
    let at = start + tau;
    let positions = end - start + 1 - 2 * min_seg;
    if selection_adjusted(
        pooled_t_test(&series[start..at], &series[at..end]),
        positions,
    ) < max_p
    {
        out.push(at);
        split(series, start, at, min_seg, max_p, out);
        split(series, at, end, min_seg, max_p, out);
    }
}

/// The split τ (both sides ≥ `min_seg` points) maximising the E-divisive statistic
/// Q̂(τ) = m·n/(m+n) · [2/(mn)·Σ|a−b| − Σ|a−a'|/C(m,2) − Σ|b−b'|/C(n,2)], computed for all τ in
/// O(L²) by moving one point at a time from the right side to the left.
fn best_split(x: &[f64], min_seg: usize) -> Option<usize> {
    let len = x.len();
    if len < 2 * min_seg {
        return None;
    }
    let total: f64 = (0..len)
        .map(|i| (i + 1..len).map(|j| (x[i] - x[j]).abs()).sum::<f64>())
        .sum();
    // τ = 0: everything on the right.
    let (mut within_left, mut cross) = (0.0_f64, 0.0_f64);
    let mut best: Option<(usize, f64)> = None;
    for tau in 1..=len - min_seg {
        // Move point τ−1 from the right side to the left.
        let p = tau - 1;
        let to_left: f64 = x[..p].iter().map(|v| (v - x[p]).abs()).sum();
        let to_right: f64 = x[p + 1..].iter().map(|v| (v - x[p]).abs()).sum();
        within_left += to_left;
        cross += to_right - to_left;
        if tau < min_seg {
            continue;
        }
        let within_right = total - within_left - cross;
        let (m, n) = (tau as f64, (len - tau) as f64);
        let energy = 2.0 * cross / (m * n)
            - 2.0 * within_left / (m * (m - 1.0))
            - 2.0 * within_right / (n * (n - 1.0));
        let q = m * n / (m + n) * energy;
        if best.is_none_or(|(_, b)| q > b) {
            best = Some((tau, q));
        }
    }
    best.map(|(tau, _)| tau)
}

/// Drops the weakest candidate until every remaining one is significant and large enough
/// against its neighbours.
fn prune(
    series: &[f64],
    mut cps: Vec<usize>,
    window: usize,
    min_seg: usize,
    cfg: &ChangePointConfig,
) -> Vec<ChangePoint> {
    loop {
        let tested: Vec<ChangePoint> = (0..cps.len())
            .map(|i| {
                let lo = if i == 0 { 0 } else { cps[i - 1] };
                let hi = cps.get(i + 1).copied().unwrap_or(series.len());
                let lo = lo.max(cps[i].saturating_sub(window));
                let hi = hi.min(cps[i] + window);
                test_at(series, lo, cps[i], hi, min_seg)
            })
            .collect();
        let passes = |cp: &ChangePoint| {
            cp.p_value < cfg.max_p && cp.relative_change().abs() >= cfg.min_magnitude
        };
        let weakest = tested
            .iter()
            .enumerate()
            .filter(|(_, cp)| !passes(cp))
            .max_by(|a, b| a.1.p_value.total_cmp(&b.1.p_value));
        match weakest {
            Some((i, _)) => {
                cps.remove(i);
            }
            None => return tested,
        }
    }
}

/// The split was chosen as the most extreme of `positions` possible ones, so its raw
/// p-value is optimistic: Bonferroni over the positions (conservative, as the tests overlap)
/// keeps noise from producing change points.
fn selection_adjusted(p: f64, positions: usize) -> f64 {
    (p * positions.max(1) as f64).min(1.0)
}

/// The t-test of `series[lo..at]` against `series[at..hi]`; a side shorter than `min_seg`
/// gets an infinite p-value, so it never passes.
fn test_at(series: &[f64], lo: usize, at: usize, hi: usize, min_seg: usize) -> ChangePoint {
    let (before, after) = (&series[lo..at], &series[at..hi]);
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len().max(1) as f64;
    ChangePoint {
        index: at,
        p_value: if before.len() < min_seg || after.len() < min_seg {
            f64::INFINITY
        } else {
            selection_adjusted(pooled_t_test(before, after), hi - lo + 1 - 2 * min_seg)
        },
        mean_before: mean(before),
        mean_after: mean(after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::rng::SplitMix64;

    /// Benchmark-like noise: 1% Gaussian around `level`.
    fn noisy(rng: &mut SplitMix64, level: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| level * (1.0 + 0.01 * rng.normal()))
            .collect()
    }

    /// With 1% noise a 5% step is 5σ: now and then the first point after it looks like the
    /// old level (or the last before it like the new one), so the index is exact in almost
    /// every series and never off by more than one.
    #[test]
    fn a_clean_five_percent_step_is_found_where_it_is() {
        let mut exact = 0;
        for seed in 0..100 {
            let mut rng = SplitMix64::new(seed);
            let mut s = noisy(&mut rng, 1.0, 40);
            s.extend(noisy(&mut rng, 1.05, 30));
            let cps = change_points(&s, &ChangePointConfig::default());
            assert_eq!(cps.len(), 1, "seed {seed}: {cps:?}");
            assert!(cps[0].index.abs_diff(40) <= 1, "seed {seed}: {cps:?}");
            exact += usize::from(cps[0].index == 40);
            let change = cps[0].relative_change();
            assert!((change - 0.05).abs() < 0.01, "seed {seed}: {change}");
        }
        assert!(exact >= 95, "exact index in {exact} of 100");
    }

    #[test]
    fn two_steps_are_both_found() {
        for seed in 0..50 {
            let mut rng = SplitMix64::new(seed);
            let mut s = noisy(&mut rng, 1.0, 30);
            s.extend(noisy(&mut rng, 1.06, 25));
            s.extend(noisy(&mut rng, 0.97, 30));
            let cps = change_points(&s, &ChangePointConfig::default());
            assert_eq!(cps.len(), 2, "seed {seed}: {cps:?}");
            assert!(cps[0].index.abs_diff(30) <= 1 && cps[1].index.abs_diff(55) <= 1);
            assert!(cps[0].relative_change() > 0.0 && cps[1].relative_change() < 0.0);
        }
    }

    #[test]
    fn steps_in_a_long_series_are_found_across_windows() {
        let mut rng = SplitMix64::new(7);
        let mut s = noisy(&mut rng, 1.0, 120);
        s.extend(noisy(&mut rng, 1.04, 200));
        s.extend(noisy(&mut rng, 1.00, 80));
        let at: Vec<usize> = change_points(&s, &ChangePointConfig::default())
            .iter()
            .map(|c| c.index)
            .collect();
        assert_eq!(at, vec![120, 320]);
    }

    /// The false-positive rate on pure noise, stated in docs/HISTORY.md. Run with
    /// `cargo test --release false_positive_rate -- --nocapture` to see the figure.
    #[test]
    fn false_positive_rate_on_pure_noise_is_low() {
        let (series, len) = (1000, 100);
        let mut with_any = 0;
        let mut total = 0;
        for seed in 0..series {
            let mut rng = SplitMix64::new(10_000 + seed);
            let s = noisy(&mut rng, 1.0, len);
            let n = change_points(&s, &ChangePointConfig::default()).len();
            with_any += usize::from(n > 0);
            total += n;
        }
        let rate = with_any as f64 / series as f64;
        eprintln!(
            "pure noise: {with_any} of {series} series of {len} points had a change point \
             ({:.1}%), {total} change points in all",
            100.0 * rate
        );
        assert!(rate <= 0.02, "false-positive rate {rate}");
    }

    #[test]
    fn heavy_tailed_noise_with_outliers_is_not_a_step() {
        // One wild outlier (a noisy neighbour) must not split a flat series.
        for seed in 0..50 {
            let mut rng = SplitMix64::new(seed);
            let mut s = noisy(&mut rng, 1.0, 60);
            s[30] = 1.5;
            assert!(
                change_points(&s, &ChangePointConfig::default()).is_empty(),
                "seed {seed}"
            );
        }
    }

    #[test]
    fn min_magnitude_drops_tiny_but_significant_steps() {
        let mut rng = SplitMix64::new(3);
        let mut s: Vec<f64> = (0..40).map(|_| 1.0 + 0.0001 * rng.normal()).collect();
        s.extend((0..40).map(|_| 1.005 + 0.0001 * rng.normal()));
        assert_eq!(change_points(&s, &ChangePointConfig::default()).len(), 1);
        let cfg = ChangePointConfig {
            min_magnitude: 0.01,
            ..ChangePointConfig::default()
        };
        assert!(change_points(&s, &cfg).is_empty());
    }

    #[test]
    fn short_flat_or_odd_series_are_quiet() {
        let cfg = ChangePointConfig::default();
        assert!(change_points(&[], &cfg).is_empty());
        assert!(change_points(&[1.0; 5], &cfg).is_empty());
        assert!(change_points(&[1.0; 100], &cfg).is_empty());
        assert!(change_points(&[1.0, f64::NAN, 1.0, 1.0, 1.0, 1.0, 1.0], &cfg).is_empty());
    }

    #[test]
    fn a_step_in_the_last_nights_is_confirmed_by_min_segment_points() {
        let cfg = ChangePointConfig::default();
        for seed in 0..20 {
            let mut rng = SplitMix64::new(seed);
            let mut s = noisy(&mut rng, 1.0, 30);
            // One night after the step could be an outlier: nothing yet…
            s.extend(noisy(&mut rng, 1.05, 1));
            assert!(change_points(&s, &cfg).is_empty(), "seed {seed}");
            // …three confirm it, at the right place.
            s.extend(noisy(&mut rng, 1.05, 2));
            let cps = change_points(&s, &cfg);
            assert_eq!(cps.len(), 1, "seed {seed}: {cps:?}");
            assert_eq!(cps[0].index, 30, "seed {seed}: {cps:?}");
        }
    }

    /// +4% at 20, then −6% (of the new level) at 45, in 60 points: the first step sits in
    /// one candidate window together with the second, whose variance hides it there.
    /// Returns (steps found, steps in all) over `seeds` series.
    fn two_close_steps_recall(seeds: u64) -> (usize, usize, usize) {
        let (mut found, mut missed_first) = (0, 0);
        for seed in 0..seeds {
            let mut rng = SplitMix64::new(50_000 + seed);
            let mut s = noisy(&mut rng, 1.0, 20);
            s.extend(noisy(&mut rng, 1.04, 25));
            s.extend(noisy(&mut rng, 1.04 * 0.94, 15));
            let cps = change_points(&s, &ChangePointConfig::default());
            let hit = |at: usize, up: bool| {
                cps.iter()
                    .any(|c| c.index.abs_diff(at) <= 2 && (c.relative_change() > 0.0) == up)
            };
            let (first, second) = (hit(20, true), hit(45, false));
            found += usize::from(first) + usize::from(second);
            missed_first += usize::from(!first);
        }
        (found, 2 * seeds as usize, missed_first)
    }

    #[test]
    fn a_step_next_to_another_is_not_missed() {
        let (found, all, missed_first) = two_close_steps_recall(100);
        eprintln!("two close steps: {found} of {all} found; the +4% missed in {missed_first}");
        assert!(found * 100 >= all * 98, "{found} of {all} steps found");
    }

    /// No change point at all in 50 noise-only series of 60 points.
    #[test]
    fn short_noise_only_series_have_no_change_points() {
        let mut cps = 0;
        for seed in 0..50 {
            let mut rng = SplitMix64::new(60_000 + seed);
            cps += change_points(&noisy(&mut rng, 1.0, 60), &ChangePointConfig::default()).len();
        }
        assert_eq!(cps, 0, "{cps} change points in 50 noise-only series");
    }

    #[test]
    fn a_three_percent_step_in_one_percent_noise_is_found() {
        let mut found = 0;
        for seed in 0..100 {
            let mut rng = SplitMix64::new(seed);
            let mut s = noisy(&mut rng, 1.0, 30);
            s.extend(noisy(&mut rng, 1.03, 30));
            found += usize::from(
                change_points(&s, &ChangePointConfig::default())
                    .iter()
                    .any(|c| c.index.abs_diff(30) <= 2),
            );
        }
        assert!(found >= 95, "found in {found} of 100");
    }
}
