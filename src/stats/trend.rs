//! Slow creep: a drift that no single step explains. The series is cut into windows from the
//! newest point backwards; a window creeps when Mann–Kendall finds a monotonic trend, the
//! Theil–Sen slope puts the drift across it beyond the threshold, and no single change point
//! inside it makes up most of that drift (a clean step is a change point, not creep; a ramp
//! that the change-point search cut into smaller steps is creep, and shows as both). Both statistics are rank-based, so an
//! outlier night neither makes nor hides a trend.

use super::{ChangePoint, normal_sf, quantile};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CreepConfig {
    /// Points per tested stretch (e.g. 20 commits).
    pub window: usize,
    /// Drift over the stretch, relative to its median, that counts as creep (e.g. 5%).
    pub threshold: f64,
    /// Mann–Kendall p-value below which the trend is real.
    pub max_p: f64,
}

impl Default for CreepConfig {
    fn default() -> Self {
        CreepConfig {
            window: 20,
            threshold: 0.05,
            max_p: 0.01,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Creep {
    /// The stretch `start..end` (indices into the series).
    pub start: usize,
    pub end: usize,
    /// Theil–Sen slope × (points − 1) / median: the drift across the stretch.
    pub drift: f64,
    pub p_value: f64,
}

/// A change point at least this large a share of a window's drift explains it.
const STEP_SHARE: f64 = 0.8;

/// Creep in `series`, given its change points (see the module comment).
pub fn creeps(series: &[f64], steps: &[ChangePoint], cfg: &CreepConfig) -> Vec<Creep> {
    let window = cfg.window.max(4);
    let mut found = Vec::new();
    // Full windows from the newest point backwards: recent creep matters most.
    let mut end = series.len();
    while end >= window {
        let start = end - window;
        if let Some(c) = creep_in(&series[start..end], cfg) {
            let explained_by_a_step = steps.iter().any(|cp| {
                cp.index > start
                    && cp.index < end
                    && cp.relative_change().signum() == c.drift.signum()
                    && cp.relative_change().abs() >= STEP_SHARE * c.drift.abs()
            });
            if !explained_by_a_step {
                found.push(Creep { start, end, ..c });
            }
        }
        end = start;
    }
    found.reverse();
    found
}

fn creep_in(x: &[f64], cfg: &CreepConfig) -> Option<Creep> {
    if x.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let p_value = mann_kendall(x);
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let drift = theil_sen(x) * (x.len() - 1) as f64 / median;
    (p_value < cfg.max_p && drift.abs() >= cfg.threshold).then_some(Creep {
        start: 0,
        end: x.len(),
        drift,
        p_value,
    })
}

/// Median of the pairwise slopes.
pub fn theil_sen(x: &[f64]) -> f64 {
    let mut slopes = Vec::with_capacity(x.len() * x.len() / 2);
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            slopes.push((x[j] - x[i]) / (j - i) as f64);
        }
    }
    if slopes.is_empty() {
        return 0.0;
    }
    slopes.sort_by(f64::total_cmp);
    quantile(&slopes, 0.5)
}

/// Two-sided Mann–Kendall trend test (normal approximation with continuity correction;
/// ties only shrink S, which keeps the test conservative).
pub fn mann_kendall(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 4 {
        return 1.0;
    }
    let mut s: i64 = 0;
    for i in 0..n {
        for j in i + 1..n {
            s += match x[j].partial_cmp(&x[i]) {
                Some(std::cmp::Ordering::Greater) => 1,
                Some(std::cmp::Ordering::Less) => -1,
                _ => 0,
            };
        }
    }
    let nf = n as f64;
    let var = nf * (nf - 1.0) * (2.0 * nf + 5.0) / 18.0;
    let z = (s.abs() as f64 - 1.0).max(0.0) / var.sqrt();
    (2.0 * normal_sf(z)).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::rng::SplitMix64;
    use crate::stats::{ChangePointConfig, change_points};

    fn noisy(rng: &mut SplitMix64, level: f64) -> f64 {
        level * (1.0 + 0.01 * rng.normal())
    }

    #[test]
    fn slow_creep_without_a_step_is_flagged() {
        let mut flagged = 0;
        for seed in 0..100 {
            let mut rng = SplitMix64::new(seed);
            // Flat for 30 commits, then +0.4% per commit for 20 (8% in all), in 1% noise.
            let mut s: Vec<f64> = (0..30).map(|_| noisy(&mut rng, 1.0)).collect();
            s.extend((1..=20).map(|i| noisy(&mut rng, 1.0 + 0.004 * f64::from(i))));
            let steps = change_points(&s, &ChangePointConfig::default());
            let found = creeps(&s, &steps, &CreepConfig::default());
            flagged += usize::from(found.iter().any(|c| c.end == s.len() && c.drift > 0.05));
        }
        // The ramp is also partly found as change points; in a few series one of them is
        // most of the ramp and takes the credit.
        assert!(flagged >= 90, "creep flagged in {flagged} of 100");
    }

    #[test]
    fn flat_noise_and_a_clean_step_are_not_creep() {
        let mut false_alarms = 0;
        for seed in 0..200 {
            let mut rng = SplitMix64::new(1000 + seed);
            let s: Vec<f64> = (0..100).map(|_| noisy(&mut rng, 1.0)).collect();
            false_alarms += creeps(&s, &[], &CreepConfig::default()).len();
        }
        for seed in 0..200 {
            let mut rng = SplitMix64::new(seed);
            let mut s: Vec<f64> = (0..40).map(|_| noisy(&mut rng, 1.0)).collect();
            s.extend((0..40).map(|_| noisy(&mut rng, 1.08)));
            let steps = change_points(&s, &ChangePointConfig::default());
            assert_eq!(steps.len(), 1, "seed {seed}");
            false_alarms += creeps(&s, &steps, &CreepConfig::default()).len();
        }
        assert_eq!(false_alarms, 0);
    }

    #[test]
    fn theil_sen_and_mann_kendall_basics() {
        let line: Vec<f64> = (0..10).map(|i| 2.0 + 0.5 * f64::from(i)).collect();
        assert!((theil_sen(&line) - 0.5).abs() < 1e-12);
        assert!(mann_kendall(&line) < 0.001);
        assert_eq!(mann_kendall(&[1.0; 10]), 1.0);
        // An outlier moves neither much.
        let mut bumped = line.clone();
        bumped[5] = 100.0;
        assert!((theil_sen(&bumped) - 0.5).abs() < 1e-12);
    }
}
