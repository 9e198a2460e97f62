//! The Wilcoxon signed-rank test for paired differences: is their distribution centred on
//! zero? Used on log(head/base) of interleaved A/B pairs.

use super::mann_whitney::RankTest;
use super::normal::normal_sf;
use super::rank::ranks_with_ties;

/// Largest count of non-zero differences for which the exact distribution is used.
const EXACT_MAX_N: usize = 50;

/// Two-sided test of `differences` (no NaN). Zeros are dropped first (Wilcoxon's
/// convention). Exact without ties for up to 50 differences; otherwise the normal
/// approximation with tie correction and no continuity correction. The statistic is
/// min(W+, W−). Matches `scipy.stats.wilcoxon(d, zero_method="wilcox", correction=False,
/// method="exact"|"approx")`. With no non-zero difference the p-value is 1.
pub fn wilcoxon_signed_rank(differences: &[f64]) -> RankTest {
    let nonzero: Vec<f64> = differences.iter().copied().filter(|&d| d != 0.0).collect();
    let n = nonzero.len();
    if n == 0 {
        return RankTest {
            statistic: 0.0,
            p_value: 1.0,
            exact: true,
        };
    }
    let magnitudes: Vec<f64> = nonzero.iter().map(|d| d.abs()).collect();
    let (ranks, tie_term) = ranks_with_ties(&magnitudes);
    let w_plus: f64 = nonzero
        .iter()
        .zip(&ranks)
        .filter(|(d, _)| **d > 0.0)
        .map(|(_, r)| r)
        .sum();
    let total = (n * (n + 1)) as f64 / 2.0;
    let statistic = w_plus.min(total - w_plus);
    if tie_term == 0.0 && n <= EXACT_MAX_N {
        // Ranks are 1..=n: P(W+ = s) by including each rank with probability ½.
        let max = n * (n + 1) / 2;
        let mut dist = vec![0.0f64; max + 1];
        dist[0] = 1.0;
        for r in 1..=n {
            for s in (r..=max).rev() {
                dist[s] = 0.5 * dist[s] + 0.5 * dist[s - r];
            }
            for d in dist.iter_mut().take(r) {
                *d *= 0.5;
            }
        }
        let w_max = (total - statistic) as usize;
        let tail: f64 = dist[w_max..].iter().sum();
        return RankTest {
            statistic,
            p_value: (2.0 * tail).min(1.0),
            exact: true,
        };
    }
    let nf = n as f64;
    let variance = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term / 48.0;
    let z = if variance > 0.0 {
        (w_plus - total / 2.0).abs() / variance.sqrt()
    } else {
        0.0
    };
    RankTest {
        statistic,
        p_value: (2.0 * normal_sf(z)).min(1.0),
        exact: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    // Fixtures recorded from scipy 1.17.1:
    //   scipy.stats.wilcoxon(d, method=…, correction=False, zero_method="wilcox")

    #[test]
    fn small_exact() {
        let d = [0.5, -0.2, 1.3, 0.8, -0.1, 0.9, 1.7, 0.4, 2.2, -0.6];
        let t = wilcoxon_signed_rank(&d);
        assert!(t.exact);
        assert_eq!(t.statistic, 8.0);
        assert!(close(t.p_value, 0.048_828_125, 1e-12), "{}", t.p_value);
    }

    #[test]
    fn ties_and_zeros_use_the_normal_approximation() {
        let d: Vec<f64> = (0..40).map(|i| ((i * 37) % 23 - 7) as f64 / 10.0).collect();
        assert_eq!(d.iter().filter(|&&x| x == 0.0).count(), 2);
        let t = wilcoxon_signed_rank(&d);
        assert!(!t.exact);
        assert_eq!(t.statistic, 159.0);
        assert!(
            close(t.p_value, 0.002_145_394_720_235_809, 1e-6),
            "{}",
            t.p_value
        );
    }

    #[test]
    fn all_positive_is_highly_significant() {
        let d: Vec<f64> = (0..60)
            .map(|i| 0.01 * ((i * 13) % 17) as f64 + 0.02)
            .collect();
        let t = wilcoxon_signed_rank(&d);
        assert_eq!(t.statistic, 0.0);
        assert!(
            close(t.p_value, 1.598_628_890_316_968_6e-11, 1e-5),
            "{}",
            t.p_value
        );
    }

    #[test]
    fn all_zero_differences_are_not_significant() {
        assert_eq!(wilcoxon_signed_rank(&[0.0; 5]).p_value, 1.0);
    }
}
