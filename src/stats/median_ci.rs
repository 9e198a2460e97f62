//! A distribution-free confidence interval for the median from order statistics.
//!
//! With n samples the number below the true median is Binomial(n, ½), so the interval
//! between the l-th smallest and l-th largest sample covers the median with probability
//! 1 − 2·P(B ≤ l − 1). We take the largest l that keeps the coverage at or above the level.
//! Deterministic (no resampling), exact, and valid for any distribution, which matters
//! for the skewed, heavy-tailed timing distributions benchmarks produce.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MedianCi {
    pub low: f64,
    pub high: f64,
    /// The coverage actually achieved (≥ the requested level unless n is tiny, below 6 for
    /// 95%, in which case the interval is [min, max] and the coverage is what it is).
    pub level: f64,
}

/// CI for the median of `sorted` (ascending, no NaN, at least one element) at `level`.
/// Time: O(n).
pub fn median_ci(sorted: &[f64], level: f64) -> MedianCi {
    let n = sorted.len();
    assert!(n > 0, "median_ci needs at least one sample");
    let alpha_half = (1.0 - level) / 2.0;
    // Invariant: below = P(B <= l - 1), so the coverage of [x(l), x(n-l+1)] is 1 - 2·below.
    // The pmf is stepped in log space so 0.5^n does not underflow for large n.
    let mut ln_pmf = n as f64 * 0.5f64.ln(); // ln P(B = 0)
    let mut below = ln_pmf.exp();
    let mut l = 1;
    while l < n.div_ceil(2) {
        ln_pmf += ((n - l + 1) as f64 / l as f64).ln(); // ln P(B = l)
        let next = below + ln_pmf.exp(); // P(B <= l)
        if next > alpha_half {
            break;
        }
        l += 1;
        below = next;
    }
    let coverage = (1.0 - 2.0 * below).max(0.0);
    MedianCi {
        low: sorted[l - 1],
        high: sorted[n - l],
        level: coverage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranks(n: usize) -> (f64, f64, f64) {
        let xs: Vec<f64> = (1..=n).map(|x| x as f64).collect();
        let ci = median_ci(&xs, 0.95);
        (ci.low, ci.high, ci.level)
    }

    #[test]
    fn ten_samples_give_second_and_ninth() {
        // P(B<=1) = 11/1024 = 0.01074 <= 0.025 < P(B<=2) = 56/1024.
        let (lo, hi, level) = ranks(10);
        assert_eq!((lo, hi), (2.0, 9.0));
        assert!((level - (1.0 - 2.0 * 11.0 / 1024.0)).abs() < 1e-12);
    }

    #[test]
    fn twenty_samples_give_sixth_and_fifteenth() {
        // P(B<=5) = 0.02069 <= 0.025 < P(B<=6) = 0.05766 for n = 20.
        let (lo, hi, level) = ranks(20);
        assert_eq!((lo, hi), (6.0, 15.0));
        assert!((level - 0.958611).abs() < 1e-5, "{level}");
    }

    #[test]
    fn tiny_samples_fall_back_to_the_range() {
        // n = 5: even [min, max] only covers 1 - 2/32 = 93.75%.
        let (lo, hi, level) = ranks(5);
        assert_eq!((lo, hi), (1.0, 5.0));
        assert!((level - 0.9375).abs() < 1e-12);
        assert_eq!(ranks(1), (1.0, 1.0, 0.0));
    }

    #[test]
    fn large_samples_do_not_underflow() {
        // n = 10_000: the normal approximation gives rank ≈ 5000 − 1.96·50 ≈ 4902.
        let (lo, hi, level) = ranks(10_000);
        assert!((4895.0..=4905.0).contains(&lo), "{lo}");
        assert_eq!(hi, 10_001.0 - lo);
        assert!((0.95..0.96).contains(&level));
    }
}
