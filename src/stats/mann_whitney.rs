//! The Mann–Whitney U test (Wilcoxon rank-sum): do two independent samples come from the
//! same distribution? Distribution-free, so timing outliers and skew do not fool it.

use super::normal::normal_sf;
use super::rank::ranks_with_ties;

/// Largest m·n for which the exact null distribution is computed (O(m·n·m·n) work).
const EXACT_MAX_CELLS: usize = 2_500;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankTest {
    /// U of the first sample (the number of (a, b) pairs with a > b, ties counting ½).
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Whether the exact null distribution was used (no ties, small samples).
    pub exact: bool,
}

/// Two-sided test of `a` against `b` (each non-empty, no NaN). Exact when there are no ties
/// and m·n ≤ 2500; otherwise the normal approximation with tie correction and continuity
/// correction. Matches `scipy.stats.mannwhitneyu(a, b, method="exact"|"asymptotic")`.
pub fn mann_whitney_u(a: &[f64], b: &[f64]) -> RankTest {
    let (m, n) = (a.len(), b.len());
    assert!(m > 0 && n > 0, "mann_whitney_u needs two non-empty samples");
    let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
    let (ranks, tie_term) = ranks_with_ties(&pooled);
    let rank_sum_a: f64 = ranks[..m].iter().sum();
    let u1 = rank_sum_a - (m * (m + 1)) as f64 / 2.0;
    let u2 = (m * n) as f64 - u1;
    let u_max = u1.max(u2);
    if tie_term == 0.0 && m * n <= EXACT_MAX_CELLS {
        let dist = exact_u_distribution(m, n);
        // P(U >= u_max), doubled for two sides.
        let tail: f64 = dist[u_max as usize..].iter().sum();
        return RankTest {
            statistic: u1,
            p_value: (2.0 * tail).min(1.0),
            exact: true,
        };
    }
    let total = (m + n) as f64;
    let mean = (m * n) as f64 / 2.0;
    let variance = (m * n) as f64 / 12.0 * ((total + 1.0) - tie_term / (total * (total - 1.0)));
    let z = if variance > 0.0 {
        (u_max - mean - 0.5) / variance.sqrt()
    } else {
        0.0
    };
    RankTest {
        statistic: u1,
        p_value: (2.0 * normal_sf(z)).min(1.0),
        exact: false,
    }
}

/// P(U = u) for u in 0..=m·n under the null, by the recurrence on the largest element:
/// it belongs to the first sample with probability m/(m+n), adding n to U.
fn exact_u_distribution(m: usize, n: usize) -> Vec<f64> {
    // table[i][j] = distribution for sizes (i, j); only the previous row is kept.
    let mut prev: Vec<Vec<f64>> = (0..=n).map(|_| vec![1.0]).collect(); // i = 0: U = 0
    for i in 1..=m {
        let mut row: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
        row.push(vec![1.0]); // j = 0: U = 0
        for j in 1..=n {
            let p_first = i as f64 / (i + j) as f64;
            let mut dist = vec![0.0; i * j + 1];
            for (u, &p) in prev[j].iter().enumerate() {
                dist[u + j] += p_first * p;
            }
            for (u, &p) in row[j - 1].iter().enumerate() {
                dist[u] += (1.0 - p_first) * p;
            }
            row.push(dist);
        }
        prev = row;
    }
    prev.swap_remove(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    // Fixtures recorded from scipy 1.17.1:
    //   scipy.stats.mannwhitneyu(a, b, alternative="two-sided", method=…, use_continuity=True)

    #[test]
    fn small_samples_exact() {
        let a = [1.1, 2.3, 3.0, 4.2, 5.5];
        let b = [2.0, 3.5, 6.1, 7.0, 8.4, 9.9];
        let t = mann_whitney_u(&a, &b);
        assert!(t.exact);
        assert_eq!(t.statistic, 6.0);
        assert!(
            close(t.p_value, 0.125_541_125_541_125_54, 1e-12),
            "{}",
            t.p_value
        );
    }

    #[test]
    fn ties_use_the_corrected_normal_approximation() {
        let a = [1., 2., 2., 3., 3., 3., 4., 5., 6., 7., 8., 9., 10.];
        let b = [3., 4., 4., 5., 6., 7., 8., 9., 10., 11., 12., 13., 14., 15.];
        let t = mann_whitney_u(&a, &b);
        assert!(!t.exact);
        assert_eq!(t.statistic, 39.5);
        assert!(
            close(t.p_value, 0.013_035_257_302_628, 1e-6),
            "{}",
            t.p_value
        );
    }

    #[test]
    fn medium_samples_with_ties() {
        let a: Vec<f64> = (0..30).map(|i| ((i * 7919) % 101) as f64 / 10.0).collect();
        let b: Vec<f64> = (0..25)
            .map(|i| ((i * 7907) % 103) as f64 / 10.0 + 0.8)
            .collect();
        let t = mann_whitney_u(&a, &b);
        assert_eq!(t.statistic, 313.0);
        assert!(
            close(t.p_value, 0.298_501_489_710_098_93, 1e-6),
            "{}",
            t.p_value
        );
    }

    #[test]
    fn identical_samples_are_not_significant() {
        let a: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let t = mann_whitney_u(&a, &a);
        assert!(t.p_value > 0.9, "{t:?}");
    }

    #[test]
    fn exact_distribution_sums_to_one() {
        let d = exact_u_distribution(7, 9);
        assert_eq!(d.len(), 64);
        assert!((d.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Symmetric around m·n/2.
        assert!((d[10] - d[53]).abs() < 1e-15);
    }
}
