//! Robust measures of relative spread, used as a benchmark's noise level.

use super::quantile;

/// Robust coefficient of variation: 1.4826 · MAD / median, which estimates σ/μ for normal
/// data but ignores outliers. `None` for fewer than 2 values or a non-positive median.
/// Time: O(n log n).
pub fn robust_cv(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = quantile(&sorted, 0.5);
    if median <= 0.0 || !median.is_finite() {
        return None;
    }
    let mut dev: Vec<f64> = sorted.iter().map(|x| (x - median).abs()).collect();
    dev.sort_by(f64::total_cmp);
    Some(1.4826 * quantile(&dev, 0.5) / median)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        // median 11, deviations 2,1,0,1,9 → MAD 1 → 1.4826 / 11 (the outlier 20 is ignored).
        let cv = robust_cv(&[9.0, 10.0, 11.0, 12.0, 20.0]).unwrap();
        assert!((cv - 1.4826 / 11.0).abs() < 1e-12, "{cv}");
        assert_eq!(robust_cv(&[1.0]), None);
        assert_eq!(robust_cv(&[3.0, 3.0, 3.0]), Some(0.0));
    }
}
