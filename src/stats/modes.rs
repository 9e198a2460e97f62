//! Telling a timing sample with two separate modes (say a kernel that runs at one of two
//! clock states) from a unimodal noisy one, and how many independent draws of the mode a
//! time series holds.
//!
//! The test is a gap test on the sorted sample: a split between two neighbouring order
//! statistics counts as a second mode when both sides hold a meaningful share of the
//! samples and the empty gap between them is several times wider than the spread (IQR)
//! inside either cluster. A smooth unimodal density never leaves such a gap away from its
//! extremes: its spacings are of order 1/(n·f), far below the IQR of any 10% of the sample,
//! while outliers are too few to form a cluster. Overlapping modes without an empty gap are
//! not reported; for them the density at the median stays positive and the usual intervals
//! of a median remain honest.

use super::quantile;

/// Each cluster must hold at least this share of the samples…
pub const MIN_SHARE: f64 = 0.10;
/// …and at least this many samples, so a cluster's IQR means something.
pub const MIN_CLUSTER: usize = 8;
/// The gap must exceed this many times the larger of the two clusters' IQRs. Over 1000
/// seeds of normal, lognormal (σ = 0.5), uniform, outlier-ridden and timer-quantised noise
/// no split of a unimodal sample of 20 reached 3.0, nor one of 50 or more 1.9, while two
/// modes 16% apart with 1% jitter and shares of 30–70% gave at least 3.8 from n = 50 on.
pub const SEPARATION: f64 = 3.5;

/// Two modes found in a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Modes {
    /// The middle of the gap between the clusters.
    pub cut: f64,
    /// Share of the samples below `cut`.
    pub low_share: f64,
    /// The gap divided by the larger cluster IQR (> [`SEPARATION`]; infinite when both
    /// clusters are ties).
    pub separation: f64,
}

/// The best-separated pair of modes in `sorted` (ascending, finite), or `None` for a sample
/// without an empty gap as described in the module docs. With more than two modes the
/// widest-separated split is reported. Time: O(n).
pub fn two_modes(sorted: &[f64]) -> Option<Modes> {
    let n = sorted.len();
    let min_cluster = MIN_CLUSTER.max((MIN_SHARE * n as f64).ceil() as usize);
    if n < 2 * min_cluster {
        return None;
    }
    let iqr = |s: &[f64]| quantile(s, 0.75) - quantile(s, 0.25);
    let mut best: Option<Modes> = None;
    // Split i: the low cluster is sorted[..i], the high one sorted[i..].
    for i in min_cluster..=n - min_cluster {
        let gap = sorted[i] - sorted[i - 1];
        if gap <= 0.0 {
            continue;
        }
        let scale = iqr(&sorted[..i]).max(iqr(&sorted[i..]));
        let separation = if scale > 0.0 {
            gap / scale
        } else {
            f64::INFINITY
        };
        if separation > SEPARATION && best.is_none_or(|b| separation > b.separation) {
            best = Some(Modes {
                cut: (sorted[i] + sorted[i - 1]) / 2.0,
                low_share: i as f64 / n as f64,
                separation,
            });
        }
    }
    best
}

/// How many independent draws of the mode `samples` (in time order) amount to, given the
/// `cut` between the modes. A mode that persists over stretches of the run (a clock state
/// that lasts) carries less information about the mixing share than n independent draws.
/// Treating the mode as a stationary two-state Markov chain with lag-1 autocorrelation ρ,
/// the share's variance is p(1−p)/n · (1+ρ)/(1−ρ), so n_eff = n(1−ρ)/(1+ρ); ρ is estimated
/// from the number of switches S, whose mean is (n−1)·2p(1−p)·(1−ρ). Never more than n
/// (alternating faster than chance does not count as extra information). Time: O(n).
pub fn effective_draws(samples: &[f64], cut: f64) -> f64 {
    let n = samples.len();
    if n < 2 {
        return n as f64;
    }
    let high = samples.iter().filter(|&&x| x > cut).count();
    let p = high as f64 / n as f64;
    let chance = (n - 1) as f64 * 2.0 * p * (1.0 - p);
    if chance <= 0.0 {
        return n as f64;
    }
    let switches = samples
        .windows(2)
        .filter(|w| (w[0] > cut) != (w[1] > cut))
        .count();
    let rho = (1.0 - switches as f64 / chance).clamp(0.0, 1.0);
    n as f64 * (1.0 - rho) / (1.0 + rho)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::rng::SplitMix64;

    fn sorted(mut v: Vec<f64>) -> Vec<f64> {
        v.sort_by(f64::total_cmp);
        v
    }

    /// Modes at 93 and 109 with 1% jitter, `p_low` of the samples in the lower one.
    fn mixture(rng: &mut SplitMix64, n: usize, p_low: f64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let mode = if rng.next_f64() < p_low { 93.0 } else { 109.0 };
                mode * (1.0 + 0.01 * rng.normal())
            })
            .collect()
    }

    #[test]
    fn by_hand() {
        // Clusters 1..=8 and 30..=37: gap 22, IQRs 6.25 − 2.75 = 3.5 → separation 22/3.5.
        let xs: Vec<f64> = (1..=8).chain(30..=37).map(f64::from).collect();
        let m = two_modes(&xs).expect("two modes");
        assert_eq!((m.cut, m.low_share, m.separation), (19.0, 0.5, 22.0 / 3.5));
        // Gap 12 < 3.5 · 3.5: not separated enough.
        let close: Vec<f64> = (1..=8).chain(20..=27).map(f64::from).collect();
        assert_eq!(two_modes(&close), None);
        // Too few samples for two clusters of eight.
        assert_eq!(two_modes(&xs[1..]), None);
    }

    #[test]
    fn a_small_cluster_of_outliers_is_not_a_mode() {
        // 95 samples on a ±1% grid and 5 far outliers: under 10% on one side.
        let mut xs: Vec<f64> = (0..95).map(|i| 100.0 + (i % 19) as f64 / 9.0).collect();
        xs.extend([150.0, 151.0, 152.0, 153.0, 154.0]);
        assert_eq!(two_modes(&sorted(xs.clone())), None);
        // Fifteen of them do make a mode.
        xs.extend((0..10).map(|i| 150.0 + i as f64 / 2.0));
        let m = two_modes(&sorted(xs)).expect("two modes");
        assert!((m.low_share - 95.0 / 110.0).abs() < 1e-12 && m.cut > 102.0 && m.cut < 150.0);
    }

    #[test]
    fn finds_the_mixture_of_the_measured_case() {
        for seed in 0..200 {
            let mut rng = SplitMix64::new(seed);
            let n = 100 + (seed as usize % 101);
            let p = 0.3 + 0.4 * rng.next_f64();
            let m = two_modes(&sorted(mixture(&mut rng, n, p)))
                .unwrap_or_else(|| panic!("seed {seed}: no modes"));
            assert!(m.cut > 97.0 && m.cut < 105.0, "seed {seed}: {m:?}");
        }
    }

    #[test]
    fn never_fires_on_unimodal_noise() {
        for seed in 0..200u64 {
            let mut rng = SplitMix64::new(seed);
            for &n in &[10, 20, 50, 200, 1000] {
                let normal: Vec<f64> = (0..n).map(|_| 100.0 + 2.0 * rng.normal()).collect();
                let lognormal: Vec<f64> =
                    (0..n).map(|_| 100.0 * (0.5 * rng.normal()).exp()).collect();
                let uniform: Vec<f64> = (0..n).map(|_| 99.0 + 2.0 * rng.next_f64()).collect();
                // Normal noise with 3% of the samples 1.5–3× slower (preemption, etc.).
                let outliers: Vec<f64> = (0..n)
                    .map(|_| {
                        let x = 100.0 * (1.0 + 0.01 * rng.normal());
                        if rng.next_f64() < 0.03 {
                            x * (1.5 + 1.5 * rng.next_f64())
                        } else {
                            x
                        }
                    })
                    .collect();
                // Quantised to a timer tick of a quarter of the spread.
                let ticks: Vec<f64> = (0..n)
                    .map(|_| (4.0 * (100.0 + rng.normal())).round() / 4.0)
                    .collect();
                for sample in [normal, lognormal, uniform, outliers, ticks] {
                    let s = sorted(sample);
                    assert_eq!(two_modes(&s), None, "seed {seed}, n {n}: {s:?}");
                }
            }
        }
    }

    #[test]
    fn effective_draws_by_hand_and_for_persistent_modes() {
        // Alternating every sample: more switches than chance → n.
        let alt: Vec<f64> = (0..10)
            .map(|i| if i % 2 == 0 { 1.0 } else { 3.0 })
            .collect();
        assert_eq!(effective_draws(&alt, 2.0), 10.0);
        // Two halves: 1 switch where chance expects 9 · 0.5 = 4.5 → ρ = 7/9, n_eff = 1.25.
        let halves: Vec<f64> = (0..10).map(|i| if i < 5 { 1.0 } else { 3.0 }).collect();
        assert!((effective_draws(&halves, 2.0) - 10.0 * (2.0 / 9.0) / (16.0 / 9.0)).abs() < 1e-12);
        // One mode only: nothing to estimate.
        assert_eq!(effective_draws(&[1.0, 1.0, 1.0], 2.0), 3.0);
        // An i.i.d. mixture keeps most of its n.
        let mut rng = SplitMix64::new(3);
        let iid = mixture(&mut rng, 400, 0.5);
        let n_eff = effective_draws(&iid, 101.0);
        assert!(n_eff > 250.0 && n_eff <= 400.0, "{n_eff}");
    }
}
