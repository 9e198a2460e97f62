//! Student-t intervals at any level, for the mean of log ratios: the blocks of an A/B run
//! or the run medians of a cross-run comparison. The levels the gate needs (a per-benchmark
//! false-alarm rate of 0.05/300, split over several looks) are far beyond a printed table.

use super::student_t_two_sided;

/// The t with P(|T| ≥ t) = `p` for Student's t with `df` degrees of freedom (bisection on the
/// exact tail; `p` in (0, 1)).
pub fn t_quantile_two_sided(p: f64, df: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0 && df > 0.0, "p = {p}, df = {df}");
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while student_t_two_sided(hi, df) > p {
        hi *= 2.0;
        if hi > 1e12 {
            return hi;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_two_sided(mid, df) > p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// The mean of `values` with a two-sided interval at level 1 − `alpha`, its half-width, and
/// the two-sided p-value of "the mean is zero".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanInterval {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
    pub half_width: f64,
    pub p_value: f64,
}

/// Mean and standard error with `df` degrees of freedom, as an interval at 1 − `alpha`.
pub fn interval_from(mean: f64, se: f64, df: f64, alpha: f64) -> MeanInterval {
    let half = if se > 0.0 {
        t_quantile_two_sided(alpha, df) * se
    } else {
        0.0
    };
    let p_value = if se > 0.0 {
        student_t_two_sided(mean / se, df)
    } else if mean == 0.0 {
        1.0
    } else {
        0.0
    };
    MeanInterval {
        mean,
        low: mean - half,
        high: mean + half,
        half_width: half,
        p_value,
    }
}

/// One-sample t-interval of the mean of `values` (at least two) at level 1 − `alpha`.
pub fn mean_interval(values: &[f64], alpha: f64) -> MeanInterval {
    let n = values.len();
    assert!(n >= 2, "a t-interval needs at least two values");
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    interval_from(mean, (var / n as f64).sqrt(), (n - 1) as f64, alpha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_the_tables() {
        // Standard tables: t(0.975; 1) = 12.706, t(0.975; 7) = 2.365, t(0.995; 30) = 2.750.
        assert!((t_quantile_two_sided(0.05, 1.0) - 12.706).abs() < 1e-3);
        assert!((t_quantile_two_sided(0.05, 7.0) - 2.365).abs() < 1e-3);
        assert!((t_quantile_two_sided(0.01, 30.0) - 2.750).abs() < 1e-3);
        // Far tails: with many degrees of freedom t approaches the normal's 3.891 at 1e-4.
        assert!((t_quantile_two_sided(1e-4, 1e6) - 3.891).abs() < 2e-3);
    }

    #[test]
    fn the_interval_by_hand() {
        // 0.1, 0.2, 0.3: mean 0.2, s = 0.1, se = 0.0577, t(0.975; 2) = 4.303.
        let ci = mean_interval(&[0.1, 0.2, 0.3], 0.05);
        assert!((ci.mean - 0.2).abs() < 1e-12);
        assert!((ci.half_width - 4.303 * 0.1 / 3f64.sqrt()).abs() < 1e-3);
        // t = 3.46 on 2 df: p = 0.074, inside the 95% interval as it must be.
        assert!(ci.p_value > 0.05 && ci.p_value < 0.1, "{ci:?}");
        assert!(ci.low < 0.0);
        let flat = mean_interval(&[0.0, 0.0], 0.05);
        assert_eq!((flat.half_width, flat.p_value), (0.0, 1.0));
    }
}
