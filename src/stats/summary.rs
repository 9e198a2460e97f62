//! Summary statistics of a set of samples.

use serde::{Deserialize, Serialize};

use super::median_ci;

/// Tukey's fences: mild outliers lie beyond 1.5 IQR from the quartiles, severe ones
/// beyond 3 IQR (each severe outlier is also counted as mild).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Outliers {
    pub low_mild: usize,
    pub low_severe: usize,
    pub high_mild: usize,
    pub high_severe: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1 denominator); 0 for one sample.
    pub stddev: f64,
    pub min: f64,
    pub max: f64,
    pub median: f64,
    pub p10: f64,
    pub p90: f64,
    pub q1: f64,
    pub q3: f64,
    pub iqr: f64,
    /// Median absolute deviation from the median, unscaled.
    pub mad: f64,
    /// Confidence interval of the median (order statistics).
    pub ci_low: f64,
    pub ci_high: f64,
    pub ci_level: f64,
    /// Half-width of the median's CI relative to the median: the noise of this result.
    pub rel_ci: f64,
    pub outliers: Outliers,
}

/// The p-quantile of `sorted` (ascending, non-empty) by linear interpolation between order
/// statistics (Hyndman–Fan type 7, numpy's default). Time: O(1).
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    assert!(!sorted.is_empty(), "quantile of no samples");
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

impl Summary {
    /// Summarises `samples`; `None` when there are none, any is not finite, or the median
    /// is not positive (these are times: the relative CI would be meaningless).
    /// Time: O(n log n).
    pub fn from_samples(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || samples.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let stddev = if n > 1 {
            (sorted.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let median = quantile(&sorted, 0.5);
        if median <= 0.0 {
            return None;
        }
        let (q1, q3) = (quantile(&sorted, 0.25), quantile(&sorted, 0.75));
        let iqr = q3 - q1;
        let mut deviations: Vec<f64> = sorted.iter().map(|x| (x - median).abs()).collect();
        deviations.sort_by(f64::total_cmp);
        let ci = median_ci(&sorted, 0.95);
        let rel_ci = (ci.high - ci.low) / 2.0 / median;
        let mut outliers = Outliers::default();
        for &x in &sorted {
            outliers.low_mild += usize::from(x < q1 - 1.5 * iqr);
            outliers.low_severe += usize::from(x < q1 - 3.0 * iqr);
            outliers.high_mild += usize::from(x > q3 + 1.5 * iqr);
            outliers.high_severe += usize::from(x > q3 + 3.0 * iqr);
        }
        Some(Summary {
            n,
            mean,
            stddev,
            min: sorted[0],
            max: sorted[n - 1],
            median,
            p10: quantile(&sorted, 0.1),
            p90: quantile(&sorted, 0.9),
            q1,
            q3,
            iqr,
            mad: quantile(&deviations, 0.5),
            ci_low: ci.low,
            ci_high: ci.high,
            ci_level: ci.level,
            rel_ci,
            outliers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn one_to_ten_by_hand() {
        // Shuffled on purpose: the summary must not depend on order.
        let xs = [7., 1., 10., 4., 2., 9., 3., 6., 8., 5.];
        let s = Summary::from_samples(&xs).unwrap();
        assert_eq!(s.n, 10);
        assert!(close(s.mean, 5.5));
        assert!(close(s.median, 5.5));
        assert_eq!((s.min, s.max), (1.0, 10.0));
        // Type 7: h = 9p. p10 → h 0.9 → 1.9; p90 → h 8.1 → 9.1; q1 → h 2.25 → 3.25.
        assert!(close(s.p10, 1.9));
        assert!(close(s.p90, 9.1));
        assert!(close(s.q1, 3.25));
        assert!(close(s.q3, 7.75));
        assert!(close(s.iqr, 4.5));
        // |x − 5.5| = 0.5,0.5,1.5,1.5,…,4.5 → median 2.5.
        assert!(close(s.mad, 2.5));
        // Σ(x − 5.5)² = 82.5; / 9 → 9.1667.
        assert!(close(s.stddev, (82.5f64 / 9.0).sqrt()));
        assert_eq!((s.ci_low, s.ci_high), (2.0, 9.0));
        assert!(close(s.rel_ci, 3.5 / 5.5));
        assert_eq!(s.outliers, Outliers::default());
    }

    #[test]
    fn tukey_fences_count_outliers() {
        // q1 = 2, q3 = 4, IQR = 2: mild above 7, severe above 10.
        let s = Summary::from_samples(&[1., 2., 3., 4., 100.]).unwrap();
        assert_eq!(s.outliers.high_mild, 1);
        assert_eq!(s.outliers.high_severe, 1);
        assert_eq!(s.outliers.low_mild, 0);
        let s = Summary::from_samples(&[1., 2., 3., 4., 8.]).unwrap();
        assert_eq!((s.outliers.high_mild, s.outliers.high_severe), (1, 0));
    }

    #[test]
    fn empty_or_nan_has_no_summary() {
        assert!(Summary::from_samples(&[]).is_none());
        assert!(Summary::from_samples(&[1.0, f64::NAN]).is_none());
        assert!(Summary::from_samples(&[0.0, 0.0, 1.0]).is_none());
        let one = Summary::from_samples(&[2.0]).unwrap();
        assert_eq!((one.median, one.stddev, one.mad), (2.0, 0.0, 0.0));
    }

    #[test]
    fn quantile_interpolates() {
        assert!(close(quantile(&[0., 10.], 0.25), 2.5));
        assert_eq!(quantile(&[3.0], 0.9), 3.0);
    }
}
