//! Slow creep: a drift that no single step explains. The series is cut into windows from the
//! newest point backwards; a window shows a drift when Mann–Kendall finds a monotonic trend
//! and the Theil–Sen slope puts the drift across it beyond the threshold. Change points inside
//! the window decide whether that drift is creep:
//!
//! - none in the drift's direction: creep;
//! - one: a step, not creep, unless the trend goes on *between* the change points
//!   (Mann–Kendall within the segments they cut the window into, S summed over them).
//!   Theil–Sen over a window that straddles a step overstates the drift, up to twice the
//!   step when it sits mid-window, so comparing the step with that drift cannot tell;
//! - two or more: a staircase, which is how the change-point search cuts a ramp: creep,
//!   and it shows as both.
//!
//! Both statistics are rank-based, so an outlier night neither makes nor hides a trend.

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

/// Creep in `series`, given its change points (see the module comment).
pub fn creeps(series: &[f64], steps: &[ChangePoint], cfg: &CreepConfig) -> Vec<Creep> {
    let window = cfg.window.max(4);
    let mut found = Vec::new();
    // Full windows from the newest point backwards: recent creep matters most.
    let mut end = series.len();
    while end >= window {
        let start = end - window;
        let x = &series[start..end];
        if let Some(c) = creep_in(x, cfg) {
            let inside: Vec<&ChangePoint> = steps
                .iter()
                .filter(|cp| cp.index > start && cp.index < end)
                .collect();
            let with_the_drift = inside
                .iter()
                .filter(|cp| cp.relative_change().signum() == c.drift.signum())
                .count();
            // One step the drift's way explains it unless the trend goes on between the
            // change points; two or more are a staircase, which is creep.
            let explained_by_a_step = with_the_drift == 1 && {
                let cuts: Vec<usize> = inside.iter().map(|cp| cp.index - start).collect();
                let (s, p) = within_segments(x, &cuts);
                p >= cfg.max_p || (s > 0) != (c.drift > 0.0)
            };
            if !explained_by_a_step {
                found.push(Creep { start, end, ..c });
            }
        }
        end = start;
    }
    found.reverse();
    found
}

/// Mann–Kendall within the segments of `x` between `cuts` (Hirsch's seasonal Kendall test,
/// the segments as seasons): S and its variance summed over the segments, so a step between
/// them adds nothing. Returns S and the two-sided p-value.
fn within_segments(x: &[f64], cuts: &[usize]) -> (i64, f64) {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(x.len());
    let (mut s, mut var) = (0_i64, 0.0);
    for b in bounds.windows(2) {
        let (seg_s, seg_var) = kendall_s(&x[b[0]..b[1]]);
        s += seg_s;
        var += seg_var;
    }
    (s, kendall_p(s, var))
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
    if x.len() < 4 {
        return 1.0;
    }
    let (s, var) = kendall_s(x);
    kendall_p(s, var)
}

/// Kendall's S (concordant minus discordant pairs in time order) and its variance under no
/// trend, n(n − 1)(2n + 5)/18.
fn kendall_s(x: &[f64]) -> (i64, f64) {
    let mut s: i64 = 0;
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            s += match x[j].partial_cmp(&x[i]) {
                Some(std::cmp::Ordering::Greater) => 1,
                Some(std::cmp::Ordering::Less) => -1,
                _ => 0,
            };
        }
    }
    let n = x.len() as f64;
    (s, n * (n - 1.0) * (2.0 * n + 5.0) / 18.0)
}

/// Two-sided p-value of S (normal approximation with continuity correction).
fn kendall_p(s: i64, var: f64) -> f64 {
    if var <= 0.0 {
        return 1.0;
    }
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

    /// Series of 60 points with one clean 5% step somewhere inside a creep window (never on
    /// a window edge: the windows of 20 end at 60, 40 and 20), in 1% noise; how many of
    /// `seeds` report creep at the given threshold.
    fn creep_on_steps_inside_windows(seeds: u64, threshold: f64) -> usize {
        let positions: Vec<usize> = (23..=37).chain(43..=56).collect();
        let cfg = CreepConfig {
            threshold,
            ..CreepConfig::default()
        };
        let mut with_creep = 0;
        for seed in 0..seeds {
            let at = positions[seed as usize % positions.len()];
            let mut rng = SplitMix64::new(70_000 + seed);
            let mut s: Vec<f64> = (0..at).map(|_| noisy(&mut rng, 1.0)).collect();
            s.extend((at..60).map(|_| noisy(&mut rng, 1.05)));
            let steps = change_points(&s, &ChangePointConfig::default());
            with_creep += usize::from(!creeps(&s, &steps, &cfg).is_empty());
        }
        with_creep
    }

    #[test]
    fn a_clean_step_inside_a_window_is_not_creep() {
        let at_5 = creep_on_steps_inside_windows(50, 0.05);
        let at_8 = creep_on_steps_inside_windows(50, 0.08);
        eprintln!("5% steps inside windows: creep in {at_5} of 50 (threshold 5%), {at_8} (8%)");
        assert_eq!((at_5, at_8), (0, 0));
    }

    /// A genuine ramp: +10% spread evenly over 40 commits after 20 flat ones, in 1% noise.
    /// The change-point search cuts it into steps (in every seed here); a staircase is still
    /// creep. Windows of 40 see the whole 10%; windows of 20 would see 5% each, just at the
    /// threshold.
    #[test]
    fn a_ramp_is_creep_even_when_cut_into_steps() {
        let cfg = CreepConfig {
            window: 40,
            ..CreepConfig::default()
        };
        let (mut flagged, mut cut) = (0, 0);
        for seed in 0..50 {
            let mut rng = SplitMix64::new(80_000 + seed);
            let mut s: Vec<f64> = (0..20).map(|_| noisy(&mut rng, 1.0)).collect();
            s.extend((1..=40).map(|i| noisy(&mut rng, 1.0 + 0.0025 * f64::from(i))));
            let steps = change_points(&s, &ChangePointConfig::default());
            cut += usize::from(!steps.is_empty());
            let found = creeps(&s, &steps, &cfg);
            flagged += usize::from(
                found
                    .iter()
                    .any(|c| c.end == 60 && c.drift > 0.07 && c.drift < 0.13),
            );
        }
        eprintln!("10% ramp over 40: creep in {flagged} of 50; change points in {cut}");
        assert!(flagged >= 48, "creep flagged in {flagged} of 50");
    }

    /// One change point given in the middle of a steep ramp (12% over 20 points) does not
    /// explain it: the trend goes on on both sides. The same change point on a clean step
    /// does.
    #[test]
    fn one_step_explains_a_window_only_when_flat_around_it() {
        let step = ChangePoint {
            index: 10,
            p_value: 0.0,
            mean_before: 1.0,
            mean_after: 1.06,
        };
        let (mut ramp_creeps, mut step_creeps) = (0, 0);
        for seed in 0..50 {
            let mut rng = SplitMix64::new(90_000 + seed);
            let ramp: Vec<f64> = (0..20)
                .map(|i| noisy(&mut rng, 1.0 + 0.006 * f64::from(i)))
                .collect();
            ramp_creeps += creeps(&ramp, &[step], &CreepConfig::default()).len();
            let clean: Vec<f64> = (0..20)
                .map(|i| noisy(&mut rng, if i < 10 { 1.0 } else { 1.06 }))
                .collect();
            step_creeps += creeps(&clean, &[step], &CreepConfig::default()).len();
        }
        eprintln!(
            "one given step: ramp creeps in {ramp_creeps} of 50, clean step in {step_creeps}"
        );
        assert!(ramp_creeps >= 45, "ramp creeps in {ramp_creeps} of 50");
        assert_eq!(step_creeps, 0);
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
