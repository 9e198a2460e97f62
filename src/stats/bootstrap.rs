//! Percentile-bootstrap confidence intervals for a change between two sets of timings,
//! with a fixed seed so the same data always gives the same interval.

use super::rng::SplitMix64;
use super::{effective_draws, median_ci, normal_sf, quantile, two_modes};

/// Resamples per interval: enough for a stable 95% percentile interval.
pub const RESAMPLES: usize = 1000;

/// Ratio estimate `head / base` with its CI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioCi {
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
}

fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    let mid = n / 2;
    let (_, &mut upper, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    if n % 2 == 1 {
        upper
    } else {
        let lower = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower + upper) / 2.0
    }
}

fn median(v: &[f64]) -> f64 {
    median_in_place(&mut v.to_vec())
}

fn interval(mut stats: Vec<f64>, level: f64) -> (f64, f64) {
    stats.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    (quantile(&stats, tail), quantile(&stats, 1.0 - tail))
}

/// z with P(|Z| ≤ z) = `level` for a standard normal Z (bisection on the tail).
fn two_sided_z(level: f64) -> f64 {
    let tail = (1.0 - level) / 2.0;
    let (mut lo, mut hi) = (0.0, 40.0);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if normal_sf(mid) > tail {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// A `level` CI of the median of one side that stays honest when the side has two modes:
/// the exact order-statistic interval, widened when the modes persist in time to the
/// quantiles 0.5 ± z/(2√n_eff), n_eff the independent draws of the mode
/// ([`effective_draws`]). `samples` in time order, `sorted` the same ascending.
fn median_range(samples: &[f64], sorted: &[f64], cut: Option<f64>, level: f64) -> (f64, f64) {
    let exact = median_ci(sorted, level);
    let (mut low, mut high) = (exact.low, exact.high);
    if let Some(cut) = cut {
        let n_eff = effective_draws(samples, cut);
        if n_eff < samples.len() as f64 {
            let half = two_sided_z(level) / (2.0 * n_eff.max(f64::MIN_POSITIVE).sqrt());
            low = low.min(quantile(sorted, 0.5 - half));
            high = high.max(quantile(sorted, 0.5 + half));
        }
    }
    (low, high)
}

/// CI of median(head) / median(base) for independent samples (each non-empty, positive,
/// in time order).
///
/// Normally the percentile bootstrap, resampling each side i.i.d. That interval is only
/// trustworthy while the density at the median is positive. When a side has two separate
/// modes ([`two_modes`]) and the mixing share is near one half, the sample median sits at
/// the edge of whichever mode happens to hold the majority, and its bootstrap, centred on
/// the observed share and redrawing it as if every sample drew its mode afresh, stays
/// inside that mode whenever the mode persists over stretches of the run (a clock state
/// that lasts): the interval is narrow around a ratio the next run would not repeat. So
/// when either side has two modes the interval is widened to cover a distribution-free one
/// too: the order-statistic CI of each median at level
/// √`level` covers both true medians at once with probability ≥ `level` (the sides are
/// independent), hence the ratio lies in [low_head / high_base, high_head / low_base]. It
/// spans the gap exactly when the share is close enough to one half for either mode to hold
/// the median, and stays inside one mode otherwise. Modes that persist over stretches of
/// the run widen it further (fewer effective draws of the mode; [`median_range`]).
/// Unimodal samples get the bootstrap interval alone, as before.
///
/// Time: O(RESAMPLES · (m + n) + m log m + n log n).
pub fn ratio_of_medians(base: &[f64], head: &[f64], level: f64, seed: u64) -> RatioCi {
    let (mut low, mut high) = percentile_ratio(base, head, level, seed);
    let sorted = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s
    };
    let (sb, sh) = (sorted(base), sorted(head));
    let (mb, mh) = (two_modes(&sb), two_modes(&sh));
    if mb.is_some() || mh.is_some() {
        let side = level.sqrt();
        let (bl, bh) = median_range(base, &sb, mb.map(|m| m.cut), side);
        let (hl, hh) = median_range(head, &sh, mh.map(|m| m.cut), side);
        low = low.min(hl / bh);
        high = high.max(hh / bl);
    }
    RatioCi {
        ratio: median(head) / median(base),
        low,
        high,
    }
}

/// The plain percentile-bootstrap interval of median(head) / median(base), resampling each
/// side i.i.d. Time: O(RESAMPLES · (m + n)).
fn percentile_ratio(base: &[f64], head: &[f64], level: f64, seed: u64) -> (f64, f64) {
    let mut rng = SplitMix64::new(seed);
    let (mut rb, mut rh) = (vec![0.0; base.len()], vec![0.0; head.len()]);
    let stats = (0..RESAMPLES)
        .map(|_| {
            rb.iter_mut().for_each(|x| *x = base[rng.below(base.len())]);
            rh.iter_mut().for_each(|x| *x = head[rng.below(head.len())]);
            median_in_place(&mut rh) / median_in_place(&mut rb)
        })
        .collect();
    interval(stats, level)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(center: f64, n: usize) -> Vec<f64> {
        // Deterministic ±1% spread around center.
        (0..n)
            .map(|i| center * (1.0 + 0.01 * ((i * 7919 % 101) as f64 / 50.0 - 1.0)))
            .collect()
    }

    #[test]
    fn median_handles_even_and_odd() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn a_five_percent_shift_is_bracketed() {
        let ci = ratio_of_medians(&spread(1.0, 100), &spread(1.05, 100), 0.95, 1);
        assert!((ci.ratio - 1.05).abs() < 0.005, "{ci:?}");
        assert!(ci.low > 1.03 && ci.high < 1.07 && ci.low < ci.ratio && ci.ratio < ci.high);
    }

    #[test]
    fn same_data_gives_an_interval_around_one_and_is_deterministic() {
        let a = spread(1.0, 60);
        let ci = ratio_of_medians(&a, &a, 0.95, 7);
        assert!(ci.low <= 1.0 && ci.high >= 1.0, "{ci:?}");
        assert_eq!(ci, ratio_of_medians(&a, &a, 0.95, 7));
    }
}

#[cfg(test)]
mod bimodal_tests {
    use super::*;

    /// `n` timings in µs, each from the 93 µs mode with probability `p_low` else from the
    /// 109 µs mode, with 1% normal jitter; all times `scale`. With `stay` > 0 the mode
    /// persists: each sample keeps the previous one's mode with probability `stay` and
    /// draws afresh otherwise (the stationary share stays `p_low`).
    fn mixture(rng: &mut SplitMix64, n: usize, p_low: f64, scale: f64, stay: f64) -> Vec<f64> {
        let mut low = rng.next_f64() < p_low;
        (0..n)
            .map(|_| {
                if rng.next_f64() >= stay {
                    low = rng.next_f64() < p_low;
                }
                let mode = if low { 93.0 } else { 109.0 };
                scale * mode * (1.0 + 0.01 * rng.normal())
            })
            .collect()
    }

    fn contains(ci: (f64, f64), x: f64) -> bool {
        ci.0 <= x && x <= ci.1
    }

    /// 100 seeded pairs of sides of 100–200 samples, base from the mixture with share
    /// `p_low` (jittered by ±2.5 points per seed) and head the same mixture times `scale`:
    /// how many intervals contain `x`, from `ratio_of_medians` and from the plain bootstrap.
    fn coverage(p_low: f64, stay: f64, scale: f64, x: f64) -> (usize, usize) {
        let (mut after, mut before) = (0, 0);
        for seed in 0..100u64 {
            let mut rng = SplitMix64::new(seed);
            let n = 100 + (seed as usize % 101);
            let p = p_low + 0.05 * (rng.next_f64() - 0.5);
            let base = mixture(&mut rng, n, p, 1.0, stay);
            let head = mixture(&mut rng, n, p, scale, stay);
            let ci = ratio_of_medians(&base, &head, 0.95, seed);
            after += contains((ci.low, ci.high), x) as usize;
            before += contains(percentile_ratio(&base, &head, 0.95, seed), x) as usize;
        }
        (after, before)
    }

    #[test]
    fn the_same_bimodal_mixture_on_both_sides_covers_one() {
        // Independent draws: the plain bootstrap already covers 1 in 96–100 of 100 seeds
        // (shares 45–55%); persistent modes (a sample keeps its predecessor's mode with
        // probability 0.9) leave it covering 1 in only 40–43.
        let (after, before) = coverage(0.5, 0.0, 1.0, 1.0);
        assert!(after >= 99 && after >= before, "{after} vs {before}");
        let (after, before) = coverage(0.5, 0.9, 1.0, 1.0);
        assert!(after >= 95, "{after}");
        assert!(before <= 60, "the plain bootstrap got honest: {before}");
    }

    #[test]
    fn a_ten_percent_shift_of_a_bimodal_sample_is_bracketed() {
        for stay in [0.0, 0.9] {
            let (after, _) = coverage(0.5, stay, 1.1, 1.1);
            assert!(after >= 95, "stay {stay}: {after}");
        }
        // With a lopsided share the median stays in its mode: still a tight interval
        // around 1.1 that excludes 1.
        let (brackets, _) = coverage(0.8, 0.0, 1.1, 1.1);
        let (includes_one, _) = coverage(0.8, 0.0, 1.1, 1.0);
        assert!(
            brackets >= 95 && includes_one == 0,
            "{brackets}, {includes_one}"
        );
    }

    #[test]
    fn unimodal_samples_get_the_plain_bootstrap_interval() {
        let mut brackets = 0;
        for seed in 0..200u64 {
            let mut rng = SplitMix64::new(seed);
            let n = 50 + (seed as usize % 101);
            let noise = |rng: &mut SplitMix64| {
                if seed % 2 == 0 {
                    1.0 + 0.01 * rng.normal()
                } else {
                    (0.01 * rng.normal()).exp()
                }
            };
            let base: Vec<f64> = (0..n).map(|_| 100.0 * noise(&mut rng)).collect();
            let head: Vec<f64> = (0..n).map(|_| 105.0 * noise(&mut rng)).collect();
            let ci = ratio_of_medians(&base, &head, 0.95, seed);
            assert_eq!(
                (ci.low, ci.high),
                percentile_ratio(&base, &head, 0.95, seed)
            );
            assert!((ci.high / ci.low).ln() < 0.03, "seed {seed}: {ci:?}");
            brackets += contains((ci.low, ci.high), 1.05) as usize;
        }
        assert!(brackets >= 180, "{brackets}");
    }

    #[test]
    fn bimodal_intervals_are_deterministic() {
        let mut rng = SplitMix64::new(11);
        let base = mixture(&mut rng, 150, 0.5, 1.0, 0.9);
        let head = mixture(&mut rng, 150, 0.5, 1.0, 0.9);
        let ci = ratio_of_medians(&base, &head, 0.95, 5);
        assert_eq!(ci, ratio_of_medians(&base, &head, 0.95, 5));
        assert!(ci.low < 0.9 && ci.high > 1.1, "{ci:?}");
    }

    #[test]
    fn two_sided_z_by_hand() {
        assert!((two_sided_z(0.95) - 1.959_964).abs() < 1e-5);
        assert!((two_sided_z(0.95f64.sqrt()) - 2.236_477).abs() < 1e-4);
    }
}
