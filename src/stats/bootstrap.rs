//! Percentile-bootstrap confidence intervals for a change between two sets of timings,
//! with a fixed seed so the same data always gives the same interval.

use super::quantile;
use super::rng::SplitMix64;

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

/// CI of median(head) / median(base) for independent samples (each non-empty, positive).
/// Time: O(RESAMPLES · (m + n)).
pub fn ratio_of_medians(base: &[f64], head: &[f64], level: f64, seed: u64) -> RatioCi {
    let mut rng = SplitMix64::new(seed);
    let (mut rb, mut rh) = (vec![0.0; base.len()], vec![0.0; head.len()]);
    let stats = (0..RESAMPLES)
        .map(|_| {
            rb.iter_mut().for_each(|x| *x = base[rng.below(base.len())]);
            rh.iter_mut().for_each(|x| *x = head[rng.below(head.len())]);
            median_in_place(&mut rh) / median_in_place(&mut rb)
        })
        .collect();
    let (low, high) = interval(stats, level);
    RatioCi {
        ratio: median(head) / median(base),
        low,
        high,
    }
}

/// Two-sided 95% quantiles of Student's t for 1..=30 degrees of freedom (standard tables).
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// 95% t-interval of the mean of `logs` (log ratios), returned as ratios:
/// exp(mean ± t·s/√n). Used for the block means of an A/B run, where the blocks — not the
/// pairs inside one — are the independent replications. Needs at least 2 values.
pub fn ratio_from_log_means(logs: &[f64]) -> RatioCi {
    let n = logs.len();
    assert!(n >= 2, "a t-interval needs at least two values");
    let mean = logs.iter().sum::<f64>() / n as f64;
    let var = logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = T_975.get(n - 2).copied().unwrap_or(1.96);
    let half = t * (var / n as f64).sqrt();
    RatioCi {
        ratio: mean.exp(),
        low: (mean - half).exp(),
        high: (mean + half).exp(),
    }
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

    #[test]
    fn t_interval_by_hand() {
        // logs 0.1, 0.2, 0.3: mean 0.2, s = 0.1, t(2) = 4.303 → ±0.2484.
        let ci = ratio_from_log_means(&[0.1, 0.2, 0.3]);
        assert!((ci.ratio - 0.2f64.exp()).abs() < 1e-12);
        assert!((ci.low.ln() - (0.2 - 4.303 * 0.1 / 3f64.sqrt())).abs() < 1e-12);
        assert!((ci.high.ln() - (0.2 + 4.303 * 0.1 / 3f64.sqrt())).abs() < 1e-12);
    }
}
